// The entries list: newest first, virtualized (only the rows in view are in the DOM), older pages
// loaded as the reader scrolls down, Live rows streamed in (shown as "N new" while the reader is
// further down), a CLUSTER column when more than one cluster answers, a "+" on each cell that adds `field == value` to the filter (Alt: `!=`), and an
// empty state that says why it is empty.

import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from "@tanstack/virtual-core";

import { api, ApiError, type Coverage, type Row } from "./api";
import { say, sayFailures } from "./banner";
import { el, endpointLabel, formatBytes, formatCount, formatMs, formatTime, ipPort, statusClass } from "./format";
import { cellClause } from "./filters";
import { refreshHistogram } from "./histogram";
import { setFilter, typedFilter } from "./kflbar";
import { store, windowOf } from "./state";
import { knownNodes, refreshNodes, wrap } from "./topbar";

const ROW_HEIGHT = 30;
const PAGE = 200;
/** Most rows kept in memory: paging further back drops the newest (the "newest" button brings them
 * back); Live arrivals past it drop the oldest (paged in again on scrolling down). */
const MAX_ROWS = 10_000;

let section: HTMLElement;
let scroller: HTMLDivElement;
let spacer: HTMLDivElement;
let emptyState: HTMLElement;
let countLabel: HTMLElement;
let newPill: HTMLButtonElement;
let virtualizer: Virtualizer<HTMLDivElement, HTMLDivElement>;
let rows: Row[] = [];
let keys = new Set<string>();
let pending: Row[] = [];
let cursor: string | null = null;
/** Whether the newest rows were dropped to page further back. */
let droppedNewer = false;
let newestButton: HTMLButtonElement;
let loading = false;
let generation = 0;
const rendered = new Map<string, HTMLElement>();
let follow: AbortController | null = null;
let followRetry = 0;

export function mountEntries(parent: HTMLElement) {
  countLabel = el("span", "count");
  newPill = el("button", "new-pill");
  newPill.hidden = true;
  newPill.onclick = () => {
    mergePending();
    scroller.scrollTop = 0;
  };
  const exportButton = el("button", "btn", "⬇ Export PCAP");
  exportButton.title = "Download the packets of every matching exchange in the window";
  exportButton.onclick = () => exportWindow(exportButton);
  newestButton = el("button", "new-pill", "▲ Back to the newest");
  newestButton.hidden = true;
  newestButton.onclick = () => reloadEntries();
  const toolbar = el("div", "list-toolbar", countLabel, newPill, newestButton, el("span", "grow"), exportButton);
  const header = el(
    "div",
    "list-header row-grid",
    ...[
      ["c-time", "Time"],
      ["c-cluster", "Cluster"],
      ["c-proto", "Proto"],
      ["c-method", "Method"],
      ["c-path", "Path / summary"],
      ["c-status", "Status"],
      ["c-route", "Source → Destination"],
      ["c-node", "Node"],
      ["c-elapsed", "Elapsed"],
      ["c-size", "Size"],
    ].map(([cls, h]) => el("div", `cell ${cls}`, h)),
  );
  spacer = el("div", "list-spacer");
  scroller = el("div", "list-scroll", spacer);
  emptyState = el("div", "empty");
  emptyState.hidden = true;
  section = el("section", "entries", toolbar, header, el("div", "list-body", scroller, emptyState));
  parent.append(section);

  virtualizer = new Virtualizer<HTMLDivElement, HTMLDivElement>({
    count: 0,
    getScrollElement: () => scroller,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
    scrollToFn: elementScroll,
    observeElementRect,
    observeElementOffset,
    onChange: () => render(),
  });
  virtualizer._didMount();
  virtualizer._willUpdate();
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < ROW_HEIGHT && pending.length && !droppedNewer) mergePending();
  });
  scroller.addEventListener("click", onClick);
}

/** Lists the current filter and window from the newest entry. */
export async function reloadEntries() {
  const mine = ++generation;
  stopFollow();
  loading = true;
  countLabel.textContent = "Loading…";
  refreshHistogram();
  try {
    const answer = await api.entries(windowOf(store.state), null, PAGE);
    if (mine !== generation) return;
    say("entries", null);
    sayFailures("answer", answer.failures);
    section.classList.toggle("with-clusters", Boolean(answer.labelled));
    rows = [];
    keys = new Set();
    pending = [];
    droppedNewer = false;
    rendered.forEach((r) => r.remove());
    rendered.clear();
    append(answer.rows);
    cursor = answer.cursor;
    scroller.scrollTop = 0;
    showEmpty(answer.coverage);
  } catch (e) {
    if (mine !== generation) return;
    // A refused filter or window never clears what is shown.
    say("entries", `Cannot list entries: ${(e as Error).message}`);
    countLabel.textContent = rows.length ? `${formatCount(rows.length)} rows (not updated)` : "";
  } finally {
    if (mine === generation) loading = false;
  }
  if (mine === generation && store.state.live) startFollow();
  update();
}

async function loadMore() {
  if (loading || !cursor) return;
  const mine = generation;
  loading = true;
  try {
    const answer = await api.entries(windowOf(store.state), cursor, PAGE);
    if (mine !== generation) return;
    say("entries", null);
    append(answer.rows);
    cursor = answer.cursor;
    dropNewest();
  } catch (e) {
    if (mine === generation) say("entries", `Cannot load older entries: ${(e as Error).message}`);
  } finally {
    if (mine === generation) loading = false;
  }
  update();
}

function append(more: Row[]) {
  for (const r of more) {
    const key = rowKey(r);
    if (keys.has(key)) continue;
    keys.add(key);
    rows.push(r);
  }
}

/** Paging back past MAX_ROWS: drops the newest rows, keeping the reader's place. */
function dropNewest() {
  const drop = rows.length - MAX_ROWS;
  if (drop <= 0) return;
  for (const r of rows.splice(0, drop)) keys.delete(rowKey(r));
  droppedNewer = true;
  virtualizer.setOptions({ ...virtualizer.options, count: rows.length });
  virtualizer._willUpdate();
  scroller.scrollTop = Math.max(0, scroller.scrollTop - drop * ROW_HEIGHT);
}

/** Live past MAX_ROWS: drops the oldest; scrolling down pages them in again. */
function trim() {
  if (rows.length <= MAX_ROWS) return;
  for (const r of rows.splice(MAX_ROWS)) keys.delete(rowKey(r));
  cursor = rows[rows.length - 1].cursor;
}

/** `[CLUSTER/]NODE/ID`: the entry named in the URL (a node name holds no `/`). */
function rowKey(r: Row): string {
  return r.cluster ? `${r.cluster}/${r.node.name}/${r.id}` : `${r.node.name}/${r.id}`;
}

function update() {
  virtualizer.setOptions({ ...virtualizer.options, count: rows.length });
  virtualizer._willUpdate();
  render();
  const live = store.state.live ? " · live" : "";
  countLabel.textContent = rows.length
    ? `${formatCount(rows.length)}${cursor ? "+" : ""} entries, newest first${live}`
    : store.state.live ? "Waiting for entries…" : "0 entries";
  newPill.hidden = pending.length === 0 || droppedNewer;
  newestButton.hidden = !droppedNewer;
  newPill.textContent = `▲ ${formatCount(pending.length)} new`;
}

function render() {
  const items = virtualizer.getVirtualItems();
  spacer.style.height = `${virtualizer.getTotalSize()}px`;
  const wanted = new Set<string>();
  for (const item of items) {
    const row = rows[item.index];
    if (!row) continue;
    const key = rowKey(row);
    wanted.add(key);
    let node = rendered.get(key);
    if (!node) {
      node = drawRow(row);
      rendered.set(key, node);
      spacer.append(node);
    }
    node.style.transform = `translateY(${item.start}px)`;
    node.classList.toggle("selected", store.state.entry === key);
  }
  for (const [key, node] of rendered) {
    if (!wanted.has(key)) {
      node.remove();
      rendered.delete(key);
    }
  }
  const last = items[items.length - 1];
  if (last && last.index >= rows.length - 40) loadMore();
}

/** Marks the open entry's row. */
export function markSelected() {
  for (const [key, node] of rendered) node.classList.toggle("selected", store.state.entry === key);
}

function drawRow(r: Row): HTMLElement {
  const zone = store.state.zone;
  const plus = (column: string) => {
    if (!cellClause(r, column, false)) return null;
    const b = el("button", "plus", "+");
    b.dataset.column = column;
    b.title = "Add to the filter (Alt: exclude)";
    return b;
  };
  const cell = (cls: string, column: string | null, content: Node | string, title?: string) => {
    const c = el("div", `cell ${cls}`, content, column ? plus(column) : null);
    if (title) c.title = title;
    return c;
  };
  const proto = r.protocol.version ? `${r.protocol.name}/${r.protocol.version}` : r.protocol.name;
  const size = `${formatBytes(Number(r.request.size ?? 0))} / ${formatBytes(Number(r.response.size ?? 0))}`;
  const status = r.cells.STATUS || (r.error ? "error" : "–");
  const node = el(
    "div",
    `row row-grid ${statusClass(r)}`,
    cell("c-time", null, formatTime(r.timestamp, zone), r.timestamp),
    cell("c-cluster", "cluster", r.cluster ?? "", r.cluster),
    cell("c-proto", "proto", el("span", `proto proto-${r.protocol.name}`, proto)),
    cell("c-method", "method", r.cells.METHOD ?? ""),
    cell("c-path", "path", r.cells.PATH ?? "", r.cells.PATH),
    cell("c-status", "status", el("span", "status", status), r.error ?? status),
    el(
      "div",
      "cell c-route",
      el("span", "side src", el("span", "ep", endpointLabel(r.src)), plus("src")),
      el("span", "arrow", "→"),
      el("span", "side dst", el("span", "ep", endpointLabel(r.dst)), plus("dst")),
    ),
    cell("c-node", "node", r.node.name),
    cell("c-elapsed", null, formatMs(r.elapsedTime)),
    cell("c-size", null, size, "request / response bytes on the wire"),
  );
  const routeCell = node.querySelector(".c-route") as HTMLElement;
  routeCell.title = `${ipPort(r.src)} → ${ipPort(r.dst)}`;
  node.dataset.key = rowKey(r);
  node.style.height = `${ROW_HEIGHT}px`;
  return node;
}

function onClick(e: MouseEvent) {
  const target = e.target as HTMLElement;
  const rowNode = target.closest<HTMLElement>(".row");
  if (!rowNode?.dataset.key) return;
  const row = rows.find((r) => rowKey(r) === rowNode.dataset.key);
  if (!row) return;
  const plusButton = target.closest<HTMLElement>(".plus");
  if (plusButton?.dataset.column) {
    e.stopPropagation();
    const clause = cellClause(row, plusButton.dataset.column, e.altKey);
    if (!clause) return;
    const current = typedFilter().trim();
    setFilter(current ? `${wrap(current)} and ${clause}` : clause);
    return;
  }
  store.set({ entry: rowKey(row) });
}

function showEmpty(coverage: Coverage | undefined) {
  if (rows.length || store.state.live) {
    emptyState.hidden = true;
    return;
  }
  emptyState.hidden = false;
  const zone = store.state.zone;
  if (coverage && !coverage.oldest) {
    emptyState.replaceChildren(el("h3", "", "The store holds no entries yet"), el("p", "", "Capture or import traffic, then come back (or turn on Live)."));
    return;
  }
  const kept = coverage?.oldest && coverage.newest
    ? `${formatTime(coverage.oldest, zone)} → ${formatTime(coverage.newest, zone)}`
    : "unknown";
  const outside = coverage ? outsideCoverage(coverage) : false;
  emptyState.replaceChildren(
    el("h3", "", outside ? "Nothing is kept in this window" : "No entry matches"),
    el(
      "p",
      "",
      outside
        ? "The window lies outside what the store keeps."
        : store.state.kfl
          ? "No entry in this window matches the filter."
          : "No entry was stored in this window.",
    ),
    el("p", "coverage", `Kept: ${kept}`),
    ...(coverage?.nodes ?? []).map((n) =>
      el("p", "coverage-node", `${n.node}: ${n.oldest && n.newest ? `${formatTime(n.oldest, zone)} → ${formatTime(n.newest, zone)}` : "nothing kept"} (${formatCount(n.entries)} entries)`),
    ),
  );
}

/** Whether the window asked for ends before the oldest entry kept or starts after the newest. */
function outsideCoverage(c: Coverage): boolean {
  const s = store.state;
  const parse = (t: string) => (t ? Date.parse(t) : NaN);
  const [from, to] = [parse(s.from), parse(s.to)];
  const [oldest, newest] = [Date.parse(c.oldest ?? ""), Date.parse(c.newest ?? "")];
  const relativeFrom = /^-/.test(s.from.trim());
  return (!Number.isNaN(to) && to <= oldest) || (!Number.isNaN(from) && from > newest) || (relativeFrom && Date.now() - 1 > newest && !s.to && isRelativeAfter(s.from, newest));
}

/** Whether `now + relative` (e.g. `-5m`) is after `ms`. */
function isRelativeAfter(relative: string, ms: number): boolean {
  const m = /^-(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(relative.trim());
  if (!m) return false;
  const unit = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as "ms" | "s" | "m" | "h" | "d"];
  return Date.now() - Number(m[1]) * unit > ms;
}

async function exportWindow(button: HTMLButtonElement) {
  button.disabled = true;
  const label = button.textContent;
  button.textContent = "Exporting…";
  try {
    const { blob, name } = await api.export(windowOf(store.state));
    const a = el("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    say("export", null);
  } catch (e) {
    say("export", `Export failed: ${(e as Error).message}`);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

// Live: the stored entries since the newest one shown, then each new one as it is indexed.

function startFollow() {
  stopFollow();
  const controller = new AbortController();
  follow = controller;
  const newest = rows[0]?.timestamp ?? "";
  const from = newest || store.state.from;
  const url = api.followUrl(windowOf(store.state), from, "");
  (async () => {
    try {
      const response = await fetch(url, { signal: controller.signal, credentials: "same-origin" });
      if (!response.ok || !response.body) throw new ApiError(await response.text(), response.status, null);
      followRetry = 0;
      say("live", null);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let at: number;
        const fresh: Row[] = [];
        while ((at = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, at);
          buffer = buffer.slice(at + 1);
          if (!line.trim()) continue;
          const parsed = JSON.parse(line);
          if (parsed.streamError) throw new Error(parsed.streamError);
          // In a cluster: a node's connection broke, or it is followed again.
          if (parsed.notice) {
            say("live-node", parsed.notice, parsed.notice.endsWith("following again") ? "info" : "warn");
            continue;
          }
          fresh.push(parsed as Row);
        }
        if (fresh.length) arrive(fresh);
      }
      throw new Error("the server ended the stream");
    } catch (e) {
      if (controller.signal.aborted) return;
      followRetry++;
      const wait = Math.min(10, followRetry * 2);
      say("live", `Live connection lost (${(e as Error).message}); retrying in ${wait} s…`, "warn");
      setTimeout(() => {
        if (follow === controller && store.state.live) startFollow();
      }, wait * 1000);
    }
  })();
}

function stopFollow() {
  follow?.abort();
  follow = null;
}

/** New rows from Live: on top when the reader is at the top, else counted as "N new". */
function arrive(fresh: Row[]) {
  const waiting = new Set(pending.map(rowKey));
  const unseen = fresh.filter((r) => !keys.has(rowKey(r)) && !waiting.has(rowKey(r)));
  if (!unseen.length) return;
  pending.push(...unseen);
  if (scroller.scrollTop < ROW_HEIGHT && !droppedNewer) mergePending();
  else update();
}

/** Newest first by (timestamp, node, id), as the server pages them (RFC3339 with nanoseconds
 * sorts as text). */
function newestFirst(a: Row, b: Row): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? 1 : -1;
  if (a.node.name !== b.node.name) return a.node.name < b.node.name ? 1 : -1;
  return b.id - a.id;
}

/** Two lists each newest first, as one: linear, where sorting all again would take a long task
 * each time Live brings a few rows to thousands. */
function mergeSorted(a: Row[], b: Row[]): Row[] {
  const out: Row[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = newestFirst(a[i], b[j]) <= 0 ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

function mergePending() {
  if (!pending.length) return;
  const fresh = pending;
  pending = [];
  for (const r of fresh) keys.add(rowKey(r));
  rows = mergeSorted(fresh.sort(newestFirst), rows);
  if (fresh.some((r) => !knownNodes().some((n) => n.node === r.node.name))) refreshNodes();
  throttledHistogram();
  trim();
  emptyState.hidden = rows.length > 0;
  update();
}

let histogramTimer = 0;

/** Redraws the histogram at most every 5 s while Live brings rows in. */
function throttledHistogram() {
  if (histogramTimer) return;
  histogramTimer = window.setTimeout(() => {
    histogramTimer = 0;
    refreshHistogram();
  }, 5000);
}

/** Live turned on or off without another change: follow or stop following. */
export function setLive(on: boolean) {
  if (on) startFollow();
  else stopFollow();
  update();
}

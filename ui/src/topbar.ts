// The top bar: the views, cluster chips when several clusters answer and node chips (window kept
// and drops; a click scopes the filter to the cluster or node), window presets, from/to in the CLI's time syntax, Live, and UTC or local time.

import { api, type ClusterStatus, type NodeStatus } from "./api";
import { say } from "./banner";
import { el, formatCount, formatTime } from "./format";
import { setFilter, typedFilter } from "./kflbar";
import { store, type View } from "./state";

const PRESETS: [string, string][] = [
  ["5m", "-5m"],
  ["1h", "-1h"],
  ["24h", "-24h"],
  ["All kept", ""],
];

let chips: HTMLElement;
let fromInput: HTMLInputElement;
let toInput: HTMLInputElement;
let nodes: NodeStatus[] = [];
let clusters: ClusterStatus[] = [];

export function mountTopBar(parent: HTMLElement) {
  const tabs = el("nav", "tabs");
  for (const [view, label] of [["entries", "Entries"], ["map", "Service map"], ["status", "Status"]] as [View, string][]) {
    const b = el("button", "tab", label);
    b.dataset.view = view;
    b.onclick = () => store.set({ view });
    tabs.append(b);
  }
  chips = el("div", "chips");
  const presets = el("div", "presets");
  for (const [label, from] of PRESETS) {
    const b = el("button", "preset", label);
    b.dataset.from = from;
    b.onclick = () => store.set({ from, to: "" });
    presets.append(b);
  }
  fromInput = el("input", "time-input");
  fromInput.placeholder = "from (-15m, 14:02, RFC3339)";
  fromInput.setAttribute("aria-label", "from");
  toInput = el("input", "time-input");
  toInput.placeholder = "to (now)";
  toInput.setAttribute("aria-label", "to");
  const go = el("button", "btn", "Set");
  const setWindow = () => store.set({ from: fromInput.value.trim(), to: toInput.value.trim(), live: toInput.value.trim() ? false : store.state.live });
  go.onclick = setWindow;
  for (const i of [fromInput, toInput]) i.addEventListener("keydown", (e) => e.key === "Enter" && setWindow());
  const live = el("button", "live", el("span", "live-dot"), "Live");
  live.title = "The window ends now and new entries stream in";
  live.onclick = () => store.set({ live: !store.state.live, to: "" });
  const zone = el("button", "zone");
  zone.title = "Show times in UTC or local time";
  zone.onclick = () => store.set({ zone: store.state.zone === "utc" ? "local" : "utc" }, true);
  const brand = el("div", "brand", el("span", "brand-fin", "◢"), el("span", "", "kubectl shark"));
  const row1 = el("div", "topbar-row", brand, tabs, chips);
  const row2 = el("div", "topbar-row window", presets, el("span", "sep"), fromInput, el("span", "arrow", "→"), toInput, go, live, zone);
  parent.append(el("header", "topbar", row1, row2));

  const sync = () => {
    const s = store.state;
    for (const b of tabs.querySelectorAll<HTMLButtonElement>(".tab")) b.classList.toggle("active", b.dataset.view === s.view);
    for (const b of presets.querySelectorAll<HTMLButtonElement>(".preset"))
      b.classList.toggle("active", b.dataset.from === s.from && !s.to);
    if (document.activeElement !== fromInput) fromInput.value = s.from;
    if (document.activeElement !== toInput) toInput.value = s.live ? "" : s.to;
    toInput.disabled = s.live;
    live.classList.toggle("on", s.live);
    zone.textContent = s.zone === "utc" ? "UTC" : "Local";
    drawChips();
  };
  store.subscribe(sync);
  sync();
  refreshNodes();
  window.setInterval(refreshNodes, 10_000);
}

/** The nodes' status, for the chips (and the coverage other views show). */
export async function refreshNodes() {
  try {
    const s = await api.status();
    nodes = s.nodes;
    clusters = s.clusters ?? [];
    say("status", null);
    drawChips();
  } catch (e) {
    say("status", `Cannot read the nodes' status: ${(e as Error).message}`);
  }
}

/** Toggles `field == value` at the head of the filter, replacing another value of `field`. */
function scopeTo(field: string, value: string, scoped: string | undefined) {
  const clause = `${field} == ${JSON.stringify(value)}`;
  const escaped = field.replace(/\./g, "\\.");
  const current = typedFilter()
    .trim()
    .replace(new RegExp(`(^|\\s+and\\s+)${escaped} == "[^"]*"`), "")
    .replace(/^\s*and\s+/, "")
    .trim();
  setFilter(scoped === value ? current : current ? `${clause} and ${wrap(current)}` : clause);
}

/** Chips of the named clusters, when more than one is asked: entries kept, or why unreachable. */
function clusterChips(): HTMLElement[] {
  if (clusters.length < 2) return [];
  const scoped = /(?:^|[^.\w])cluster == "([^"]*)"/.exec(store.state.kfl)?.[1];
  return clusters.map((c) => {
    const chip = el(
      "button",
      `chip chip-cluster${scoped === c.name ? " active" : ""}${c.reason ? " chip-error" : ""}`,
      el("span", "chip-dot"),
      el("span", "chip-name", c.name),
      el("span", "chip-count", c.reason ? "unreachable" : formatCount(c.entries)),
    );
    chip.dataset.cluster = c.name;
    chip.title = c.reason
      ? `cluster ${c.name} unreachable: ${c.reason}`
      : `cluster ${c.name}: ${c.nodes} nodes, ${formatCount(c.entries)} entries\nClick to show only this cluster`;
    chip.onclick = () => scopeTo("cluster", c.name, scoped);
    return chip;
  });
}

function drawChips() {
  const scoped = /node\.name == "([^"]*)"/.exec(store.state.kfl)?.[1];
  const several = clusters.length > 1;
  chips.replaceChildren(
    ...clusterChips(),
    ...nodes.map((n) => {
      const name = several && n.cluster ? `${n.cluster}/${n.node}` : n.node;
      const kept = n.oldest && n.newest
        ? `${formatTime(n.oldest, store.state.zone)} → ${formatTime(n.newest, store.state.zone)}`
        : "nothing kept yet";
      const chip = el(
        "button",
        `chip${scoped === n.node ? " active" : ""}${n.dropped ? " chip-drops" : ""}${n.lastError ? " chip-error" : ""}`,
        el("span", "chip-dot"),
        el("span", "chip-name", name),
        el("span", "chip-count", formatCount(n.entries)),
        n.dropped ? el("span", "chip-drop", `${formatCount(n.dropped)} drops`) : null,
      );
      chip.title = `${name}: kept ${kept}; ${formatCount(n.entries)} entries; ${formatCount(n.dropped)} packets dropped${n.lastError ? `; last error: ${n.lastError}` : ""}\nClick to show only this node`;
      chip.onclick = () => scopeTo("node.name", n.node, scoped);
      return chip;
    }),
  );
}

/** Parenthesises a filter that has an `or` at its top level before it is and-ed with more. */
export function wrap(kfl: string): string {
  return /\bor\b|\|\|/.test(kfl) && !/^\(.*\)$/.test(kfl) ? `(${kfl})` : kfl;
}

/** The status of every node, as last read. */
export function knownNodes(): NodeStatus[] {
  return nodes;
}

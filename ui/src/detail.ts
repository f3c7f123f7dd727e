// Entry detail: both identities; Request and Response tabs (headers, query parameters, body
// pretty-printed, the protocol's own fields); a raw JSON tab; PCAP of the exchange or of its
// connection; copy as curl (HTTP) and copy JSON.

import { api, type Endpoint, type Entry } from "./api";
import { say } from "./banner";
import { el, endpointLabel, formatBytes, formatMs, formatTime, ipPort, statusClass } from "./format";
import { markSelected } from "./entries";
import { store } from "./state";

type Tab = "request" | "response" | "json";

let panel: HTMLElement;
let body: HTMLElement;
let current: Entry | null = null;
let tab: Tab = "request";
let seq = 0;

/** Fields of a message shown in their own sections rather than among the protocol's fields. */
const OWN_SECTIONS = new Set(["headers", "body", "query", "trailers", "bodyEncoding", "bodyTruncated", "bodyDecodeError", "size"]);

export function mountDetail(parent: HTMLElement) {
  body = el("div", "detail-body");
  panel = el("aside", "detail", body);
  panel.hidden = true;
  parent.append(panel);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && store.state.entry && !(e.target instanceof HTMLInputElement)) store.set({ entry: "" });
  });
}

/** Shows the entry named in the state (`[CLUSTER/]NODE/ID`), or hides the panel. */
export async function showEntry() {
  const key = store.state.entry;
  markSelected();
  panel.parentElement?.classList.toggle("with-detail", Boolean(key));
  if (!key) {
    panel.hidden = true;
    current = null;
    return;
  }
  // A node name holds no `/`; a cluster's name (an EKS ARN) may.
  const parts = key.split("/");
  const id = Number(parts.pop());
  const node = parts.pop() ?? "";
  const cluster = parts.join("/");
  const mine = ++seq;
  panel.hidden = false;
  body.replaceChildren(el("div", "detail-loading", "Loading entry…"));
  try {
    const entry = await api.entry(cluster, node, id);
    if (mine !== seq) return;
    current = entry;
    say("detail", null);
    draw();
  } catch (e) {
    if (mine !== seq) return;
    body.replaceChildren(el("div", "detail-error", `Cannot open entry ${key}: ${(e as Error).message}`));
  }
}

function draw() {
  const e = current;
  if (!e) return;
  const zone = store.state.zone;
  const close = el("button", "icon-btn", "✕");
  close.title = "Close (Esc)";
  close.onclick = () => store.set({ entry: "" });
  const proto = e.protocol.version ? `${e.protocol.name}/${e.protocol.version}` : e.protocol.name;
  const status = e.response.status !== undefined ? String(e.response.status) : e.error ? "error" : "–";
  const title = el(
    "div",
    "detail-title",
    el("span", `proto proto-${e.protocol.name}`, proto),
    el("span", "detail-method", String(e.request.method ?? e.request.command ?? e.request.qtype ?? e.request.type ?? e.request.apiName ?? "")),
    el("span", "detail-path", String(e.request.path ?? e.request.key ?? (e.request.questions as string[] | undefined)?.join(", ") ?? e.request.topic ?? e.request.sni ?? e.request.query ?? "")),
    el("span", `status-badge ${statusClass(e)}`, `${status}${e.response.statusText ? ` ${e.response.statusText}` : ""}`),
    el("span", "grow"),
    close,
  );
  const meta = el(
    "div",
    "detail-meta",
    el("span", "", formatTime(e.timestamp, zone)),
    el("span", "", `elapsed ${formatMs(e.elapsedTime)}`),
    e.cluster ? el("span", "detail-cluster", `cluster ${e.cluster}`) : null,
    el("span", "", `node ${e.node.name}`),
    el("span", "", `entry ${e.id} · stream ${e.stream}`),
  );
  const error = e.error ? el("div", "detail-errorline", `error: ${e.error}`) : null;
  const buttons = el("div", "detail-actions");
  const pcap = el("a", "btn", "⬇ PCAP of exchange");
  pcap.href = api.pcapUrl(e.cluster ?? "", e.node.name, e.id, false);
  pcap.download = `entry-${e.id}.pcap`;
  const flow = el("a", "btn", "⬇ PCAP of connection");
  flow.href = api.pcapUrl(e.cluster ?? "", e.node.name, e.id, true);
  flow.download = `entry-${e.id}-flow.pcap`;
  buttons.append(pcap, flow);
  if (e.protocol.name === "http") buttons.append(copyButton("Copy as curl", () => curl(e)));
  buttons.append(copyButton("Copy JSON", () => JSON.stringify(e, null, 2)));
  const identities = el("div", "identities", identity("Source", e.src, e.cluster), el("div", "id-arrow", "→"), identity("Destination", e.dst, e.cluster));
  const tabs = el("div", "detail-tabs");
  for (const [t, label] of [["request", "Request"], ["response", "Response"], ["json", "Raw JSON"]] as [Tab, string][]) {
    const b = el("button", `dtab${t === tab ? " active" : ""}`, label);
    b.dataset.tab = t;
    b.onclick = () => {
      tab = t;
      draw();
    };
    tabs.append(b);
  }
  const content = el("div", "detail-content");
  if (tab === "json") content.append(el("pre", "code json", JSON.stringify(e, null, 2)));
  else content.append(...message(tab === "request" ? e.request : e.response, e));
  body.replaceChildren(el("div", "detail-head", title, meta, error, buttons), identities, tabs, content);
}

/** One side's identity; `cluster` is the entry's (a side another cluster named says which). */
function identity(label: string, ep: Endpoint, cluster: string | undefined): HTMLElement {
  const rows: [string, string][] = [
    ["cluster", ep.cluster ?? cluster ?? ""],
    ["name", ep.name],
    ["kind", ep.kind],
    ["namespace", ep.namespace],
    ["pod", ep.pod],
    ["service", ep.service],
    ["workload", ep.workload],
    ["node", ep.node],
    ["address", ipPort(ep)],
  ];
  const labels = Object.entries(ep.labels ?? {});
  return el(
    "div",
    "identity",
    el("div", "identity-label", label),
    el("div", "identity-name", endpointLabel(ep)),
    table(rows.filter(([, v]) => v)),
    labels.length ? el("div", "labels", ...labels.map(([k, v]) => el("span", "label-chip", `${k}=${v}`))) : null,
  );
}

function table(rows: [string, string][]): HTMLElement {
  return el("table", "kv", ...rows.map(([k, v]) => el("tr", "", el("th", "", k), el("td", "", v))));
}

function message(m: Record<string, unknown>, e: Entry): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (!Object.keys(m).length) return [el("div", "muted", e.error ? `No response: ${e.error}` : "Nothing was captured.")];
  const own = Object.entries(m).filter(([k]) => !OWN_SECTIONS.has(k));
  if (own.length) out.push(section(`${e.protocol.name} fields`, table(own.map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v, null, 1)]))));
  const headers = m.headers as Record<string, unknown> | undefined;
  if (headers && Object.keys(headers).length)
    out.push(section("Headers", table(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v)]))));
  const query = m.query as Record<string, unknown> | undefined;
  if (query && Object.keys(query).length)
    out.push(section("Query parameters", table(Object.entries(query).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v)]))));
  const trailers = m.trailers as Record<string, unknown> | undefined;
  if (trailers && Object.keys(trailers).length)
    out.push(section("Trailers", table(Object.entries(trailers).map(([k, v]) => [k, String(v)]))));
  if (m.body !== undefined || m.size !== undefined) out.push(section(bodyTitle(m), bodyView(m, headers)));
  return out;
}

function bodyTitle(m: Record<string, unknown>): string {
  const notes = [`${formatBytes(Number(m.size ?? 0))} on the wire`];
  if (m.bodyTruncated) notes.push("cut: only the first bytes were kept");
  if (m.bodyEncoding) notes.push(String(m.bodyEncoding));
  return `Body (${notes.join(", ")})`;
}

function bodyView(m: Record<string, unknown>, headers: Record<string, unknown> | undefined): HTMLElement {
  const wrapper = el("div", "body-view");
  if (m.bodyDecodeError) wrapper.append(el("div", "detail-errorline", `bodyDecodeError: ${String(m.bodyDecodeError)}`));
  const raw = m.body;
  if (raw === undefined || raw === "") {
    wrapper.append(el("div", "muted", "(empty)"));
    return wrapper;
  }
  const text = String(raw);
  if (m.bodyEncoding === "base64") {
    wrapper.append(el("pre", "code hex", hexDump(text)));
    return wrapper;
  }
  const type = String(Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === "content-type")?.[1] ?? "");
  wrapper.append(el("pre", "code", pretty(text, type)));
  return wrapper;
}

/** JSON and XML indented; anything else as it is. */
export function pretty(text: string, type: string): string {
  const t = text.trim();
  if (/json/i.test(type) || /^[{[]/.test(t)) {
    try {
      return JSON.stringify(JSON.parse(t), null, 2);
    } catch {
      // not whole JSON (cut, or another format): shown as is
    }
  }
  if (/xml|html/i.test(type) || /^<\?xml|^<[A-Za-z]/.test(t)) return indentXml(t);
  return text;
}

function indentXml(xml: string): string {
  const tokens = xml.replace(/>\s*</g, "><").split(/(?=<)|(?<=>)/);
  let depth = 0;
  const lines: string[] = [];
  for (const token of tokens) {
    if (!token.trim()) continue;
    if (/^<\//.test(token)) depth = Math.max(0, depth - 1);
    lines.push("  ".repeat(depth) + token);
    if (/^<[^!?/][^>]*[^/]>$/.test(token) || /^<[A-Za-z][^>]*>$/.test(token) && !/\/>$/.test(token)) depth++;
  }
  return lines.join("\n");
}

function hexDump(base64: string): string {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  } catch {
    return base64;
  }
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const chunk = Array.from(bytes.slice(i, i + 16));
    const hex = chunk.map((b) => b.toString(16).padStart(2, "0")).join(" ").padEnd(48);
    const ascii = chunk.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${i.toString(16).padStart(8, "0")}  ${hex}  ${ascii}`);
  }
  return lines.join("\n");
}

function section(title: string, content: HTMLElement): HTMLElement {
  return el("section", "dsection", el("h4", "", title), content);
}

function copyButton(label: string, text: () => string): HTMLButtonElement {
  const b = el("button", "btn", label);
  b.onclick = async () => {
    try {
      await navigator.clipboard.writeText(text());
      b.textContent = "Copied ✓";
    } catch {
      b.textContent = "Copy failed";
    }
    setTimeout(() => (b.textContent = label), 1500);
  };
  return b;
}

/** The request as a curl command line. */
function curl(e: Entry): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const r = e.request;
  const host = String(r.host ?? `${e.dst.ip}:${e.dst.port}`);
  const url = String(r.url ?? `http://${host}${r.path ?? "/"}`);
  const parts = ["curl", "-X", String(r.method ?? "GET"), q(url)];
  for (const [k, v] of Object.entries((r.headers as Record<string, unknown>) ?? {})) {
    if (/^(host|content-length)$/i.test(k)) continue;
    parts.push("-H", q(`${k}: ${Array.isArray(v) ? v.join(", ") : String(v)}`));
  }
  if (r.body && r.bodyEncoding !== "base64") parts.push("--data-binary", q(String(r.body)));
  return parts.join(" ");
}

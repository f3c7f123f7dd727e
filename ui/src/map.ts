// The service map of `map` for the same filter and window: boxes grouped by pod, workload,
// service, namespace or node, coloured by namespace (the legend hides and shows them), external
// peers drawn apart, one edge per protocol (width by requests, red by error ratio), a tooltip with
// requests, errors, p50/p95/p99 and bytes. A click on a box or an edge filters the entries to it.
// Live redraws in place, keeping positions.

import cytoscape, { type Core, type ElementDefinition } from "cytoscape";

import { api, type MapAnswer, type MapEdge, type Peer } from "./api";
import { say, sayFailures } from "./banner";
import { el, formatBytes, formatCount, formatMs, kflString } from "./format";
import { setFilter } from "./kflbar";
import { store, windowOf } from "./state";

const PALETTE = ["#3b82f6", "#10b981", "#f59e0b", "#8b5cf6", "#ec4899", "#14b8a6", "#f97316", "#6366f1", "#84cc16", "#06b6d4", "#a855f7", "#ef4444"];
const EXTERNAL = "#94a3b8";

let container: HTMLElement;
let canvas: HTMLElement;
let legend: HTMLElement;
let tip: HTMLElement;
let summary: HTMLElement;
let cy: Core | null = null;
let last: MapAnswer | null = null;
const hidden = new Set<string>();
let seq = 0;

export function mountMap(parent: HTMLElement) {
  const by = el("select", "by-select");
  for (const g of ["pod", "workload", "service", "namespace", "node", "cluster"]) {
    const o = el("option", "", g);
    o.value = g;
    by.append(o);
  }
  by.onchange = () => store.set({ by: by.value });
  store.subscribe((s) => (by.value = s.by));
  by.value = store.state.by;
  summary = el("span", "map-summary");
  const relayout = el("button", "btn", "Re-arrange");
  relayout.onclick = () => layout(true);
  const fit = el("button", "btn", "Fit");
  fit.onclick = () => cy?.fit(undefined, 40);
  legend = el("div", "legend");
  canvas = el("div", "map-canvas");
  tip = el("div", "map-tip");
  tip.hidden = true;
  container = el(
    "section",
    "map-view",
    el("div", "map-toolbar", el("label", "", "Group by ", by), summary, el("span", "grow"), relayout, fit),
    el("div", "map-body", canvas, legend, tip),
  );
  parent.append(container);
}

/** Reads the map again; with `keep`, nodes already drawn stay where they are. */
export async function refreshMap(keep = false) {
  const mine = ++seq;
  try {
    const answer = await api.map(windowOf(store.state), store.state.by);
    if (mine !== seq) return;
    say("map", null);
    sayFailures("map", answer.failures);
    last = answer;
    draw(keep && cy !== null);
  } catch (e) {
    if (mine === seq) say("map", `Cannot draw the map: ${(e as Error).message}`);
  }
}

function peerId(p: Peer): string {
  return `${p.kind}|${p.cluster ?? ""}|${p.namespace}|${p.name}`;
}

function peerLabel(p: Peer): string {
  // Across clusters a peer says which is its own (`CLUSTER:namespace/name`, as `map` prints it).
  const own = p.cluster && p.kind !== "Cluster" ? `${p.cluster}:` : "";
  return own + (p.namespace ? `${p.namespace}/${p.name}` : p.name);
}

function colour(namespaces: string[], p: Peer): string {
  if (p.kind === "External") return EXTERNAL;
  const i = namespaces.indexOf(p.namespace);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
}

function namespaceOf(p: Peer): string {
  return p.kind === "External" ? "(external)" : p.namespace || "(no namespace)";
}

function draw(keep: boolean) {
  if (!last) return;
  const edges = last.edges.filter((e) => !hidden.has(namespaceOf(e.src)) && !hidden.has(namespaceOf(e.dst)));
  const namespaces = [...new Set(last.edges.flatMap((e) => [e.src, e.dst]).filter((p) => p.kind !== "External").map((p) => p.namespace))].sort();
  const peers = new Map<string, Peer>();
  for (const e of edges) for (const p of [e.src, e.dst]) peers.set(peerId(p), p);
  const maxRequests = Math.max(1, ...edges.map((e) => e.requests));
  const elements: ElementDefinition[] = [];
  for (const [id, p] of peers) {
    elements.push({
      group: "nodes",
      data: { id, label: peerLabel(p), color: colour(namespaces, p), external: p.kind === "External" ? 1 : 0, peer: p },
    });
  }
  edges.forEach((e, i) => {
    const ratio = e.requests ? e.errors / e.requests : 0;
    elements.push({
      group: "edges",
      data: {
        id: `e${i}|${peerId(e.src)}|${peerId(e.dst)}|${e.protocol}`,
        source: peerId(e.src),
        target: peerId(e.dst),
        label: `${e.protocol} ${formatCount(e.requests)}`,
        width: 1.5 + 6 * Math.log1p(e.requests) / Math.log1p(maxRequests),
        color: ratio > 0 ? mix(ratio) : "#94a3b8",
        edge: e,
      },
    });
  });
  const totalRequests = edges.reduce((n, e) => n + e.requests, 0);
  summary.textContent = `${formatCount(peers.size)} boxes · ${formatCount(edges.length)} edges · ${formatCount(totalRequests)} requests`;
  drawLegend(namespaces, last.edges.some((e) => e.src.kind === "External" || e.dst.kind === "External"));
  const large = peers.size > LARGE_MAP;
  if (cy && large !== drawnLarge) {
    // Drawn for the other size: the viewport options are set when the graph is made.
    cy.destroy();
    cy = null;
  }
  drawnLarge = large;
  if (!cy) {
    cy = cytoscape({
      container: canvas,
      elements,
      style: (large ? [...STYLE, ...LARGE_STYLE] : STYLE) as never,
      wheelSensitivity: 0.3,
      minZoom: 0.05,
      maxZoom: 3,
      // A large map pans and zooms as a picture of itself, redrawn when the gesture ends.
      textureOnViewport: large,
      // Boxes are placed by layout() below: cytoscape's own grid first would cost a second pass.
      layout: { name: "preset", fit: false },
    });
    cy.on("tap", "node", (ev) => filterTo(ev.target.data("peer") as Peer, null));
    cy.on("tap", "edge", (ev) => filterTo(null, ev.target.data("edge") as MapEdge));
    cy.on("mouseover", "node, edge", (ev) => showTip(ev.target, ev.originalEvent as MouseEvent));
    cy.on("mouseout", "node, edge", () => (tip.hidden = true));
    layout(true);
    return;
  }
  const positions = new Map<string, cytoscape.Position>();
  if (keep) cy.nodes().forEach((n) => void positions.set(n.id(), { ...n.position() }));
  const graph = cy;
  graph.batch(() => {
    graph.elements().remove();
    graph.add(elements);
    graph.nodes().forEach((n) => {
      const p = positions.get(n.id());
      if (p) n.position(p);
    });
  });
  const fresh = cy.nodes().filter((n) => !positions.has(n.id()));
  if (!keep || fresh.length === cy.nodes().length) layout(true);
  else if (fresh.length) fresh.layout({ name: "circle", boundingBox: { x1: 0, y1: 0, w: 200, h: 200 } } as never).run();
}

/** Boxes past which the map is drawn for its size: the force-directed layout (quadratic per
 * iteration: 13 s for 500 boxes) gives way to a grid per namespace placed at once, and edges are
 * straight, without arrows' curves, labelled only once zoomed in (a profile of 500 boxes and 2,000
 * edges in Chromium: most of the time went to drawing 2,000 curved, labelled edges). */
const LARGE_MAP = 200;
let drawnLarge = false;

function layout(fit: boolean) {
  if (!cy) return;
  const graph = cy;
  const n = graph.nodes().length;
  if (n > LARGE_MAP) {
    const at = gridByNamespace(graph);
    graph.batch(() => graph.nodes().forEach((node) => void node.position(at.get(node.id()) ?? { x: 0, y: 0 })));
    // Fitting the boxes alone: the edges lie between them, and measuring 2,000 of them is slow.
    if (fit) graph.fit(graph.nodes(), 40);
    return;
  }
  cy.layout({
    name: "cose",
    animate: false,
    fit,
    padding: 40,
    nodeRepulsion: () => 14000,
    nodeOverlap: 24,
    idealEdgeLength: () => 110,
    componentSpacing: 60,
    gravity: 1,
    numIter: 1000,
    randomize: true,
  } as never).run();
}

/** Cell of one box in the grid, and the gap around a namespace's block. */
const CELL = { w: 240, h: 70 };
const BLOCK_GAP = 120;

/** Positions of a large map's boxes: each namespace (external peers last) a block of boxes, busiest
 * first, in rows about as wide as the canvas is for its height; blocks laid left to right in
 * shelves. */
function gridByNamespace(graph: Core): Map<string, cytoscape.Position> {
  const groups = new Map<string, cytoscape.NodeSingular[]>();
  graph.nodes().forEach((node) => {
    const key = namespaceOf(node.data("peer") as Peer);
    const list = groups.get(key) ?? [];
    list.push(node);
    groups.set(key, list);
  });
  const order = [...groups.keys()].sort((a, b) => Number(a === "(external)") - Number(b === "(external)") || a.localeCompare(b));
  const aspect = Math.max(0.5, canvas.clientWidth / Math.max(1, canvas.clientHeight));
  const total = graph.nodes().length * CELL.w * CELL.h;
  const shelfWidth = Math.sqrt(total * aspect) * 1.15;
  const at = new Map<string, cytoscape.Position>();
  let x = 0;
  let y = 0;
  let shelfHeight = 0;
  for (const key of order) {
    const nodes = (groups.get(key) ?? []).sort((a, b) => b.degree(false) - a.degree(false));
    const cols = Math.ceil(Math.sqrt((nodes.length * CELL.h * aspect) / CELL.w));
    const width = cols * CELL.w;
    const height = Math.ceil(nodes.length / cols) * CELL.h;
    if (x > 0 && x + width > shelfWidth) {
      x = 0;
      y += shelfHeight + BLOCK_GAP;
      shelfHeight = 0;
    }
    nodes.forEach((node, i) => at.set(node.id(), { x: x + (i % cols) * CELL.w, y: y + Math.floor(i / cols) * CELL.h }));
    x += width + BLOCK_GAP;
    shelfHeight = Math.max(shelfHeight, height);
  }
  return at;
}

/** Red of a strength that grows with the error ratio. */
function mix(ratio: number): string {
  const r = Math.min(1, 0.35 + ratio);
  return `rgba(229, 72, 77, ${r.toFixed(2)})`;
}

function drawLegend(namespaces: string[], external: boolean) {
  const items = [...namespaces.map((ns) => [ns || "(no namespace)", colour(namespaces, { namespace: ns, name: "", kind: "" })]), ...(external ? [["(external)", EXTERNAL]] : [])];
  legend.replaceChildren(
    el("div", "legend-title", "Namespaces (click to hide)"),
    ...items.map(([name, color]) => {
      const item = el("button", `legend-item${hidden.has(name) ? " off" : ""}`, el("span", "swatch"), name);
      (item.firstChild as HTMLElement).style.background = color;
      item.title = hidden.has(name) ? "Show" : "Hide";
      item.onclick = () => {
        if (hidden.has(name)) hidden.delete(name);
        else hidden.add(name);
        draw(true);
      };
      return item;
    }),
    el("div", "legend-note", "Dashed ellipses are peers outside the cluster. Edge width grows with requests; red shows the share that failed. Click a box or an edge to list its entries."),
  );
}

function showTip(target: cytoscape.SingularElementArgument, ev: MouseEvent) {
  const lines: string[] = [];
  if (target.isEdge()) {
    const e = target.data("edge") as MapEdge;
    lines.push(`${peerLabel(e.src)} → ${peerLabel(e.dst)}  (${e.protocol})`);
    lines.push(`${formatCount(e.requests)} requests, ${formatCount(e.errors)} errors (${e.requests ? ((100 * e.errors) / e.requests).toFixed(1) : 0}%)`);
    lines.push(`p50 ${formatMs(e.p50)} · p95 ${formatMs(e.p95)} · p99 ${formatMs(e.p99)}`);
    lines.push(`${formatBytes(e.requestBytes)} sent · ${formatBytes(e.responseBytes)} received`);
  } else {
    const p = target.data("peer") as Peer;
    const out = (last?.edges ?? []).filter((e) => peerId(e.src) === peerId(p));
    const inc = (last?.edges ?? []).filter((e) => peerId(e.dst) === peerId(p));
    const sum = (list: MapEdge[], f: (e: MapEdge) => number) => list.reduce((n, e) => n + f(e), 0);
    lines.push(`${peerLabel(p)}  (${p.kind})`);
    lines.push(`answered ${formatCount(sum(inc, (e) => e.requests))} requests (${formatCount(sum(inc, (e) => e.errors))} failed)`);
    lines.push(`sent ${formatCount(sum(out, (e) => e.requests))} requests (${formatCount(sum(out, (e) => e.errors))} failed)`);
  }
  tip.replaceChildren(...lines.map((l, i) => el("div", i === 0 ? "tip-head" : "", l)));
  const box = canvas.getBoundingClientRect();
  tip.style.left = `${Math.min(ev.clientX - box.left + 14, box.width - 320)}px`;
  tip.style.top = `${ev.clientY - box.top + 14}px`;
  tip.hidden = false;
}

/** KFL for one side's box, by how the map groups. */
function peerClause(side: "src" | "dst", p: Peer, by: string): string {
  const ns = p.namespace ? ` and ${side}.namespace == ${kflString(p.namespace)}` : "";
  const name = kflString(p.name);
  switch (p.kind) {
    case "External":
      return `(${side}.name == ${name} or ${side}.ip == ${name})`;
    case "Namespace":
      return `${side}.namespace == ${name}`;
    case "Cluster":
      return `cluster == ${name}`;
    case "Node":
      return `${side}.node == ${name}`;
    case "Workload":
      return `${side}.workload == ${name}${ns}`;
    case "Pod":
      return by === "pod" ? `${side}.pod == ${name}${ns}` : `${side}.name == ${name}${ns}`;
    case "Service":
      return by === "service" ? `(${side}.service == ${name} or ${side}.workload == ${name})${ns}` : `${side}.name == ${name}${ns}`;
    default:
      return `${side}.name == ${name}${ns}`;
  }
}

function filterTo(peer: Peer | null, edge: MapEdge | null) {
  const by = store.state.by;
  let clause: string;
  if (edge) clause = `${peerClause("src", edge.src, by)} and ${peerClause("dst", edge.dst, by)} and protocol.name == ${kflString(edge.protocol)}`;
  else if (peer) clause = `(${peerClause("src", peer, by)}) or (${peerClause("dst", peer, by)})`;
  else return;
  const current = store.state.kfl.trim();
  setFilter(current ? `(${current}) and (${clause})` : clause);
  store.set({ view: "entries" });
}

/** The graph as drawn, for tests: boxes (and where each is) and edges. */
export function drawnGraph() {
  if (!cy) return null;
  return {
    nodes: cy.nodes().map((n) => n.data("label") as string),
    positions: cy.nodes().map((n) => ({ label: n.data("label") as string, namespace: (n.data("peer") as Peer).namespace, ...n.position() })),
    edges: cy.edges().map((e) => ({ src: e.source().data("label"), dst: e.target().data("label"), protocol: (e.data("edge") as MapEdge).protocol, requests: (e.data("edge") as MapEdge).requests })),
  };
}

/** Where on the page the edge between two boxes (by label) is drawn, for tests to click it. */
export function edgePoint(src: string, dst: string) {
  const edge = cy?.edges().filter((e) => e.source().data("label") === src && e.target().data("label") === dst).first() as cytoscape.EdgeSingular | undefined;
  if (!edge || edge.empty()) return null;
  const box = canvas.getBoundingClientRect();
  const mid = edge.renderedMidpoint();
  return { x: box.left + mid.x, y: box.top + mid.y };
}

/** Redraws after the map view became visible (cytoscape needs its size). */
export function resizeMap() {
  cy?.resize();
}

const STYLE = [
  {
    selector: "node",
    style: {
      shape: "round-rectangle",
      "background-color": "data(color)",
      "background-opacity": 0.14,
      "border-color": "data(color)",
      "border-width": 2,
      label: "data(label)",
      "text-valign": "center",
      "text-halign": "center",
      "font-size": 13,
      "font-family": "Inter, system-ui, sans-serif",
      color: "#0f172a",
      width: "label",
      height: 30,
      padding: "10px",
      "text-wrap": "ellipsis",
      "text-max-width": "220px",
    },
  },
  { selector: "node[external = 1]", style: { "border-style": "dashed", shape: "ellipse", color: "#475569" } },
  {
    selector: "edge",
    style: {
      width: "data(width)",
      "line-color": "data(color)",
      "target-arrow-color": "data(color)",
      "target-arrow-shape": "triangle",
      "curve-style": "bezier",
      label: "data(label)",
      "font-size": 10,
      color: "#475569",
      "text-background-color": "#ffffff",
      "text-background-opacity": 0.85,
      "text-background-padding": "2px",
      "text-rotation": "autorotate",
    },
  },
  { selector: "node:active, edge:active", style: { "overlay-opacity": 0.08 } },
];

/** What a large map draws differently: straight edges, and labels only where they can be read. */
const LARGE_STYLE = [
  { selector: "node", style: { "min-zoomed-font-size": 7 } },
  {
    selector: "edge",
    style: {
      "curve-style": "haystack",
      "haystack-radius": 0,
      "target-arrow-shape": "none",
      "mid-target-arrow-shape": "triangle",
      "mid-target-arrow-color": "data(color)",
      "min-zoomed-font-size": 9,
      opacity: 0.6,
    },
  },
];

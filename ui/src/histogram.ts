// The strip above the list: entries and failures over the window; dragging across it sets the
// window to the part dragged over.

import { api, type HistogramAnswer } from "./api";
import { el, formatCount, formatTime } from "./format";
import { store, windowOf } from "./state";

let canvas: HTMLCanvasElement;
let tip: HTMLElement;
let data: HistogramAnswer | null = null;
let seq = 0;
let drag: { x0: number; x1: number } | null = null;

export function mountHistogram(parent: HTMLElement) {
  canvas = el("canvas", "histogram");
  canvas.height = 56;
  tip = el("div", "histogram-tip");
  tip.hidden = true;
  const wrap = el("div", "histogram-wrap", canvas, tip);
  wrap.title = "Entries (grey) and failures (red) over the window; drag to zoom in";
  parent.append(wrap);
  new ResizeObserver(() => draw()).observe(wrap);
  canvas.addEventListener("mousedown", (e) => {
    drag = { x0: e.offsetX, x1: e.offsetX };
  });
  canvas.addEventListener("mousemove", (e) => {
    if (drag) {
      drag.x1 = e.offsetX;
      draw();
    }
    hover(e.offsetX);
  });
  canvas.addEventListener("mouseleave", () => (tip.hidden = true));
  window.addEventListener("mouseup", () => {
    if (!drag || !data?.from || !data.to) {
      drag = null;
      return;
    }
    const [a, b] = [Math.min(drag.x0, drag.x1), Math.max(drag.x0, drag.x1)];
    drag = null;
    if (b - a < 4) {
      draw();
      return;
    }
    const from = Date.parse(data.from);
    const span = Date.parse(data.to) - from;
    const w = canvas.clientWidth || 1;
    const iso = (ms: number) => new Date(ms).toISOString();
    store.set({ from: iso(from + (a / w) * span), to: iso(from + (b / w) * span), live: false });
  });
}

/** Reads the histogram of the current filter and window again. */
export async function refreshHistogram() {
  const mine = ++seq;
  const buckets = Math.max(20, Math.min(400, Math.floor((canvas.clientWidth || 800) / 5)));
  try {
    const answer = await api.histogram(windowOf(store.state), buckets);
    if (mine !== seq) return;
    data = answer;
  } catch {
    if (mine !== seq) return;
    data = null; // the list says what went wrong
  }
  draw();
}

function draw() {
  const w = canvas.clientWidth;
  const h = canvas.clientHeight || 56;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.floor(w * ratio));
  canvas.height = Math.floor(h * ratio);
  const g = canvas.getContext("2d");
  if (!g) return;
  g.scale(ratio, ratio);
  g.clearRect(0, 0, w, h);
  if (!data || !data.entries.length) return;
  const n = data.entries.length;
  const max = Math.max(1, ...data.entries);
  const bw = w / n;
  for (let i = 0; i < n; i++) {
    const eh = data.entries[i] ? Math.max(2, (data.entries[i] / max) * (h - 6)) : 0;
    const rh = data.errors[i] ? Math.max(2, (data.errors[i] / max) * (h - 6)) : 0;
    g.fillStyle = "#9fb3c8";
    g.fillRect(i * bw + 0.5, h - eh, Math.max(1, bw - 1), eh);
    g.fillStyle = "#e5484d";
    g.fillRect(i * bw + 0.5, h - rh, Math.max(1, bw - 1), rh);
  }
  if (drag) {
    g.fillStyle = "rgba(56, 132, 255, 0.2)";
    g.fillRect(Math.min(drag.x0, drag.x1), 0, Math.abs(drag.x1 - drag.x0), h);
  }
}

function hover(x: number) {
  if (!data?.from || !data.widthMs || !data.entries.length) return;
  const i = Math.min(data.entries.length - 1, Math.floor((x / (canvas.clientWidth || 1)) * data.entries.length));
  const start = Date.parse(data.from) + i * data.widthMs;
  const iso = new Date(start).toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
  tip.textContent = `${formatTime(iso, store.state.zone)} · ${formatCount(data.entries[i])} entries · ${formatCount(data.errors[i])} failed`;
  tip.style.left = `${Math.min(x + 12, (canvas.clientWidth || 0) - 260)}px`;
  tip.hidden = false;
}

// The page's state (view, filter, window, live, open entry, map grouping, time zone) lives in the
// URL, so a link reproduces what someone saw; every change is pushed to the history and to the
// listeners.

import type { Zone } from "./format";

export type View = "entries" | "map" | "status";

export interface State {
  view: View;
  kfl: string;
  from: string;
  to: string;
  live: boolean;
  entry: string; // "NODE/ID" or ""
  by: string;
  zone: Zone;
}

const DEFAULTS: State = { view: "entries", kfl: "", from: "", to: "", live: false, entry: "", by: "workload", zone: "utc" };

function read(): State {
  const q = new URLSearchParams(location.search);
  const view = q.get("view");
  return {
    view: view === "map" || view === "status" ? view : "entries",
    kfl: q.get("kfl") ?? "",
    from: q.get("from") ?? "",
    to: q.get("to") ?? "",
    live: q.get("live") === "1",
    entry: q.get("entry") ?? "",
    by: q.get("by") ?? DEFAULTS.by,
    zone: q.get("tz") === "local" ? "local" : "utc",
  };
}

function write(s: State): string {
  const q = new URLSearchParams();
  if (s.view !== DEFAULTS.view) q.set("view", s.view);
  if (s.kfl) q.set("kfl", s.kfl);
  if (s.from) q.set("from", s.from);
  if (s.to && !s.live) q.set("to", s.to);
  if (s.live) q.set("live", "1");
  if (s.entry) q.set("entry", s.entry);
  if (s.by !== DEFAULTS.by) q.set("by", s.by);
  if (s.zone !== DEFAULTS.zone) q.set("tz", s.zone);
  const text = q.toString();
  return text ? `?${text}` : location.pathname;
}

type Listener = (s: State, changed: Set<keyof State>) => void;

class Store {
  state: State = read();
  private listeners: Listener[] = [];

  constructor() {
    window.addEventListener("popstate", () => {
      const next = read();
      const changed = new Set((Object.keys(next) as (keyof State)[]).filter((k) => next[k] !== this.state[k]));
      this.state = next;
      this.emit(changed);
    });
  }

  subscribe(l: Listener) {
    this.listeners.push(l);
  }

  /** Applies `patch`, records it in the URL (a new history entry unless `replace`) and notifies. */
  set(patch: Partial<State>, replace = false) {
    const next = { ...this.state, ...patch };
    const changed = new Set((Object.keys(patch) as (keyof State)[]).filter((k) => next[k] !== this.state[k]));
    if (changed.size === 0) return;
    this.state = next;
    const url = write(next);
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    this.emit(changed);
  }

  private emit(changed: Set<keyof State>) {
    for (const l of this.listeners) l(this.state, changed);
  }
}

export const store = new Store();

/** The filter and window the server is asked for. */
export function windowOf(s: State) {
  return { kfl: s.kfl, from: s.from, to: s.live ? "" : s.to };
}

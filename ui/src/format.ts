// How values are written on the page: times (UTC or local, to the microsecond), durations, sizes,
// status classes, endpoints.

import type { Endpoint, Row } from "./api";

export type Zone = "utc" | "local";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** `2026-11-26 14:02:01.123456` from an RFC3339 string with nanoseconds. */
export function formatTime(rfc3339: string, zone: Zone, withDate = true): string {
  const match = /\.(\d+)Z$/.exec(rfc3339);
  const micros = (match ? match[1] : "").padEnd(6, "0").slice(0, 6);
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  const parts =
    zone === "utc"
      ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
      : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  const date = `${parts[0]}-${pad(parts[1])}-${pad(parts[2])}`;
  const time = `${pad(parts[3])}:${pad(parts[4])}:${pad(parts[5])}.${micros}`;
  return withDate ? `${date} ${time}` : time;
}

/** A duration in ms, in the unit that reads best. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Bytes as B, KiB, MiB, GiB. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** A count with thousands separators. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** The colour class of a row's status: ok, redirect, client error, server error or failed. */
export function statusClass(row: Pick<Row, "failed" | "protocol" | "response" | "error">): string {
  if (row.error) return "st-error";
  const status = Number(row.response?.status);
  if (row.protocol.name === "http" && Number.isFinite(status)) {
    if (status >= 500) return "st-5xx";
    if (status >= 400) return "st-4xx";
    if (status >= 300) return "st-3xx";
    return "st-2xx";
  }
  return row.failed ? "st-5xx" : "st-2xx";
}

/** `namespace/name`, else the name, else `ip:port`. */
export function endpointLabel(e: Endpoint): string {
  if (!e.name) return ipPort(e);
  // Named by another cluster than the entry's: `CLUSTER:namespace/name`, as `query` prints it.
  const other = e.cluster ? `${e.cluster}:` : "";
  return other + (e.namespace ? `${e.namespace}/${e.name}` : e.name);
}

export function ipPort(e: Endpoint): string {
  return e.ip.includes(":") ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/** A KFL string literal. */
export function kflString(s: string): string {
  return JSON.stringify(s);
}

/** Element helper: a tag with a class, text and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

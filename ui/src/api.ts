// The dashboard's calls to its server (`kubectl shark ui`): JSON in and out, errors thrown as
// ApiError with the server's message so the page can show them (never swallow them).

export interface Endpoint {
  ip: string;
  port: number;
  name: string;
  namespace: string;
  kind: string;
  pod: string;
  service: string;
  workload: string;
  node: string;
  labels?: Record<string, string>;
  /** The other cluster that named this side, when its own could not. */
  cluster?: string;
}

export interface Row {
  id: number;
  /** The cluster it was captured in, when the dashboard reads named clusters. */
  cluster?: string;
  timestamp: string;
  elapsedTime: number;
  node: { name: string; ip: string };
  src: Endpoint;
  dst: Endpoint;
  protocol: { name: string; version: string };
  request: Record<string, unknown>;
  response: Record<string, unknown>;
  error?: string;
  stream: number;
  failed: boolean;
  cursor: string;
  cells: Record<string, string>;
}

export type Entry = Omit<Row, "cells" | "cursor">;

/** A cluster that could not be reached (or none of whose nodes answered), or a node that did not answer. */
export interface Failure {
  cluster?: string;
  node?: string;
  reason: string;
}

export interface Coverage {
  oldest: string | null;
  newest: string | null;
  nodes: { node: string; oldest: string | null; newest: string | null; entries: number }[];
}

export interface EntriesAnswer {
  rows: Row[];
  cursor: string | null;
  failures: Failure[];
  coverage?: Coverage;
  /** More than one cluster answers: rows say which is theirs. */
  labelled?: boolean;
}

export interface Diagnostic {
  code: string;
  message: string;
  label: string | null;
  help: string | null;
  start: number;
  end: number;
}

export interface CheckAnswer {
  ok: boolean;
  plan?: string;
  /** How KFL2 names were read, when the filter used any. */
  readAs?: string | null;
  /** Warnings on a filter that runs (a word another dialect reads differently). */
  warnings?: Diagnostic[];
  error?: string;
  diagnostics?: Diagnostic[];
}

export interface NodeStatus {
  node: string;
  cluster?: string;
  oldest: string | null;
  newest: string | null;
  segments: number;
  pcapBytes: number;
  entries: number;
  indexBytes: number;
  captured: number;
  dropped: number;
  lastError: string | null;
}

/** A named cluster: its nodes and entries, or why it could not be reached. */
export interface ClusterStatus {
  name: string;
  nodes: number;
  entries: number;
  reason: string | null;
}

export interface StatusAnswer {
  mode: string;
  source: string;
  nodes: NodeStatus[];
  clusters: ClusterStatus[];
  failures: Failure[];
}

export interface Peer {
  /** Its cluster, when the map merges several. */
  cluster?: string;
  namespace: string;
  name: string;
  kind: string;
}

export interface MapEdge {
  src: Peer;
  dst: Peer;
  protocol: string;
  requests: number;
  errors: number;
  requestBytes: number;
  responseBytes: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface MapAnswer {
  by: string;
  edges: MapEdge[];
  failures: Failure[];
}

export interface HistogramAnswer {
  from: string | null;
  to: string | null;
  widthMs: number | null;
  entries: number[];
  errors: number[];
}

export interface FieldsAnswer {
  fields: { path: string; type: string }[];
  /** KFL2's names for the fields, with what each means. */
  aliases: { name: string; type: string; means: string }[];
  protocols: string[];
  functions: string[];
  methods: string[];
}

export interface Window {
  kfl: string;
  from: string;
  to: string;
}

/** A call the server refused or could not answer; `body` is its JSON answer when it sent one. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: Record<string, unknown> | null,
  ) {
    super(message);
  }
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { credentials: "same-origin", ...init });
  } catch (e) {
    throw new ApiError(`cannot reach the dashboard's server (${String(e)}): is kubectl shark ui still running?`, 0, null);
  }
  const text = await response.text();
  let body: Record<string, unknown> | null = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = (body && typeof body.error === "string" && body.error) || text || response.statusText;
    throw new ApiError(message, response.status, body);
  }
  return body as T;
}

function post<T>(path: string, payload: unknown): Promise<T> {
  return call<T>(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
}

/** `/api/entry/[CLUSTER/]NODE/ID`. */
function entryPath(cluster: string, node: string, id: number): string {
  const where = cluster ? `${encodeURIComponent(cluster)}/` : "";
  return `/api/entry/${where}${encodeURIComponent(node)}/${id}`;
}

function params(values: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) {
    if (v !== undefined && v !== "") search.set(k, String(v));
  }
  return search.toString();
}

export const api = {
  status: () => call<StatusAnswer>("/api/status"),
  fields: () => call<FieldsAnswer>("/api/fields"),
  check: (kfl: string) => post<CheckAnswer>("/api/check", { kfl }),
  entries: (w: Window, cursor: string | null, limit = 200) =>
    post<EntriesAnswer>("/api/entries", { ...w, order: "newest", limit, cursor }),
  entry: (cluster: string, node: string, id: number) => call<Entry>(entryPath(cluster, node, id)),
  pcapUrl: (cluster: string, node: string, id: number, wholeFlow: boolean) =>
    `${entryPath(cluster, node, id)}/pcap${wholeFlow ? "?wholeFlow=true" : ""}`,
  map: (w: Window, by: string) => post<MapAnswer>(`/api/map?${params({ by })}`, w),
  histogram: (w: Window, buckets: number) =>
    call<HistogramAnswer>(`/api/histogram?${params({ ...w, buckets })}`),
  /** The window's packets, and the file name the server gives them (pcapng across clusters). */
  export: async (w: Window): Promise<{ blob: Blob; name: string }> => {
    const response = await fetch("/api/export", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(w),
    });
    if (!response.ok) throw new ApiError(await response.text(), response.status, null);
    const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "")?.[1] ?? "shark-export.pcap";
    return { blob: await response.blob(), name };
  },
  followUrl: (w: Window, from: string, after: string) =>
    `/api/follow?${params({ kfl: w.kfl, from, after })}`,
};

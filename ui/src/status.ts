// Status: `status` per node (window kept, segments, entries, bytes, packets captured, drops) and
// the last error from each; with several clusters, each node's cluster and a row per cluster that
// could not be reached, with why.

import { api } from "./api";
import { say, sayFailures } from "./banner";
import { el, formatBytes, formatCount, formatTime } from "./format";
import { store } from "./state";

let root: HTMLElement;

export function mountStatus(parent: HTMLElement) {
  root = el("section", "status-view");
  parent.append(root);
}

export async function refreshStatus() {
  try {
    const s = await api.status();
    say("status-view", null);
    sayFailures("status", s.failures);
    const zone = store.state.zone;
    const several = (s.clusters ?? []).length > 1;
    const down = several ? s.clusters.filter((c) => c.reason && !s.nodes.some((n) => n.cluster === c.name)) : [];
    const head = [...(several ? ["Cluster"] : []), "Node", "Oldest kept", "Newest kept", "Segments", "PCAP", "Entries", "Index", "Captured", "Drops", "Last error"];
    const table = el(
      "table",
      "status-table",
      el("thead", "", el("tr", "", ...head.map((h) => el("th", "", h)))),
      el(
        "tbody",
        "",
        ...s.nodes.map((n) =>
          el(
            "tr",
            n.dropped ? "has-drops" : "",
            several ? el("td", "cluster-name", n.cluster ?? "") : null,
            el("td", "node-name", n.node),
            el("td", "", n.oldest ? formatTime(n.oldest, zone) : "–"),
            el("td", "", n.newest ? formatTime(n.newest, zone) : "–"),
            el("td", "num", formatCount(n.segments)),
            el("td", "num", formatBytes(n.pcapBytes)),
            el("td", "num", formatCount(n.entries)),
            el("td", "num", formatBytes(n.indexBytes)),
            el("td", "num", formatCount(n.captured)),
            el("td", `num${n.dropped ? " drops" : ""}`, formatCount(n.dropped)),
            el("td", n.lastError ? "error-cell" : "muted", n.lastError ?? "none"),
          ),
        ),
        ...down.map((c) => {
          const why = el("td", "error-cell", `unreachable: ${c.reason}`) as HTMLTableCellElement;
          why.colSpan = head.length - 2;
          return el("tr", "cluster-down", el("td", "cluster-name", c.name), el("td", "muted", "–"), why);
        }),
      ),
    );
    root.replaceChildren(el("div", "status-source", `Reading ${s.mode === "local" ? "the store at" : ""} ${s.source}`), table);
  } catch (e) {
    say("status-view", `Cannot read status: ${(e as Error).message}`);
  }
}

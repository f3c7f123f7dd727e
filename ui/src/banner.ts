// The banner under the bars: clusters and nodes that failed to answer (the answer is then partial), a lost
// connection being retried, and any API error, each until it no longer holds.

import type { Failure } from "./api";
import { el } from "./format";

const slots = new Map<string, HTMLElement>();
let root: HTMLElement;

export function mountBanner(parent: HTMLElement) {
  root = el("div", "banners");
  root.setAttribute("role", "status");
  parent.append(root);
}

/** Shows `text` in slot `key` (replacing what it showed), or clears the slot when `text` is null. */
export function say(key: string, text: string | null, kind: "error" | "warn" | "info" = "error") {
  slots.get(key)?.remove();
  slots.delete(key);
  if (!text) return;
  const close = el("button", "banner-close", "×");
  close.title = "Dismiss";
  const node = el("div", `banner banner-${kind}`, el("span", "banner-text", text), close);
  node.dataset.key = key;
  close.onclick = () => say(key, null);
  slots.set(key, node);
  root.append(node);
}

/** Names the clusters and nodes that did not answer `what`, or clears the banner when all did. */
export function sayFailures(what: string, failures: Failure[]) {
  const one = (f: Failure) =>
    f.cluster !== undefined ? `cluster ${f.cluster} unreachable (${f.reason})` : `node ${f.node} did not answer (${f.reason})`;
  const text = failures.length ? `Partial ${what}: ${failures.map(one).join("; ")}` : null;
  say(`failures-${what}`, text, "warn");
}

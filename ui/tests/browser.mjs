// Browser tests of `kubectl shark ui`, driving Debian's Chromium headless through playwright-core
// at 1440×900. The Rust test `tests/ui.rs` builds the store, starts the dashboard and runs this
// with:
//   SHARK_UI_URL      the URL the dashboard printed (with its token)
//   SHARK_BIN         the kubectl-shark binary (for the CLI's answers to compare with)
//   SHARK_STORE       the store the dashboard reads
//   SHARK_SHOTS       where screenshots go
//   SHARK_CAPTURE     a capture to import as another node while Live is on (test 8)
//   SHARK_BIG_STORE / SHARK_BIG_URL   a store of 10,000 entries and its dashboard (test 9)
//   SHARK_CLUSTERS_URL / SHARK_KUBECONFIG   a dashboard on contexts admin@east, admin@west and
//                     admin@gone (refusing the credentials) of that kubeconfig (test 7c)
//   CHROMIUM          the browser (default /usr/bin/chromium)
// Prints one line per test and exits non-zero when any fails.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const URL_WITH_TOKEN = env("SHARK_UI_URL");
const BASE = URL_WITH_TOKEN.replace(/\/\?token=.*$/, "");
const BIN = env("SHARK_BIN");
const STORE = env("SHARK_STORE");
const SHOTS = env("SHARK_SHOTS");
const only = (process.env.SHARK_ONLY ?? "").split(",").filter(Boolean);

// playwright-core starts Chromium with a fresh profile directory of its own (it refuses
// --user-data-dir here) and removes it on close.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

let failed = 0;
const results = [];

async function test(name, body) {
  if (only.length && !only.some((o) => name.startsWith(o))) return;
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const started = Date.now();
  try {
    await body(page, context);
    if (errors.length) throw new Error(`errors in the page: ${errors.join("; ")}`);
    results.push(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed++;
    results.push(`FAIL ${name}: ${e.stack ?? e}`);
    await page.screenshot({ path: path.join(SHOTS, `FAILED-${name.split(" ")[0]}.png`) }).catch(() => undefined);
  } finally {
    console.log(results[results.length - 1]);
    await context.close();
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function assertEqual(actual, expected, message) {
  const [a, b] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== b) throw new Error(`${message}\n  got:      ${a}\n  expected: ${b}`);
}

/** The CLI's answer: `query -o json` keys, newest first (the CLI lists oldest first). */
function cliKeys(store, kfl) {
  const out = execFileSync(BIN, ["query", "--store", store, "-o", "json", ...(kfl ? [kfl] : [])], { encoding: "utf8", maxBuffer: 1 << 28 });
  return out
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .map((e) => `${e.node.name}/${e.id}`)
    .reverse();
}

async function open(page, url = URL_WITH_TOKEN) {
  await page.goto(url);
  await waitForList(page);
}

async function waitForList(page) {
  await page.waitForFunction(() => {
    const c = document.querySelector(".count")?.textContent ?? "";
    return !c.startsWith("Loading") && (document.querySelectorAll(".row").length > 0 || !document.querySelector(".empty")?.hidden || c !== "");
  });
}

/** `row`, once scrolling the virtual list down has rendered it. */
async function scrollTo(page, row) {
  for (let i = 0; i < 100 && (await row.count()) === 0; i++) {
    await page.evaluate(() => {
      const scroller = document.querySelector(".list-scroll");
      scroller.scrollTop += scroller.clientHeight / 2;
    });
    await page.waitForTimeout(50);
  }
  return row;
}

/** Every row of the list in order, as `NODE/ID`, scrolling through the virtual list. */
async function listKeys(page) {
  return page.evaluate(async () => {
    const scroller = document.querySelector(".list-scroll");
    // Keys in the order met scrolling down: past 10,000 rows the list drops its newest rows
    // (and shifts), so positions are not stable but the order of what comes into view is.
    const order = [];
    const seen = new Set();
    scroller.scrollTop = 0;
    for (let i = 0; i < 20_000; i++) {
      await new Promise((r) => requestAnimationFrame(r));
      const visible = [...document.querySelectorAll(".row")]
        .map((row) => [Number(/translateY\(([\d.]+)px\)/.exec(row.style.transform)?.[1] ?? NaN), row.dataset.key])
        .sort((a, b) => a[0] - b[0]);
      for (const [, key] of visible) {
        if (!seen.has(key)) {
          seen.add(key);
          order.push(key);
        }
      }
      const before = scroller.scrollTop;
      scroller.scrollTop += scroller.clientHeight * 0.9;
      await new Promise((r) => setTimeout(r, 5));
      if (scroller.scrollTop === before) {
        const count = document.querySelector(".count")?.textContent ?? "";
        if (!count.includes("+")) break; // no older page to load
        await new Promise((r) => setTimeout(r, 150));
      }
    }
    scroller.scrollTop = 0;
    return order;
  });
}

async function applyFilter(page, kfl) {
  const input = page.locator(".kfl-input");
  await input.fill(kfl);
  await page.waitForFunction(() => !document.querySelector(".kfl-apply").disabled);
  await input.press("Control+Enter");
  await page.waitForFunction((k) => new URLSearchParams(location.search).get("kfl") === k, kfl);
  await waitForList(page);
  await page.waitForTimeout(200);
}

await test("1 rows equal query -o json, newest first", async (page) => {
  await open(page);
  assertEqual(await listKeys(page), cliKeys(STORE, ""), "no filter");
  await page.screenshot({ path: path.join(SHOTS, "1-entries.png") });
  for (const kfl of ["http and response.status >= 400", "dns or redis"]) {
    await applyFilter(page, kfl);
    assertEqual(await listKeys(page), cliKeys(STORE, kfl), kfl);
  }
  await page.screenshot({ path: path.join(SHOTS, "1-entries-filtered.png") });
});

await test("2 a misspelt field shows E101 and keeps the rows", async (page) => {
  await open(page);
  const before = await listKeys(page);
  const input = page.locator(".kfl-input");
  await input.click();
  await input.pressSequentially("http and respnse.status == 200", { delay: 15 });
  await page.waitForSelector(".kfl-diag-item");
  const text = await page.locator(".kfl-diag").innerText();
  assert(text.includes("E101"), `no E101 in ${text}`);
  assert(text.includes("did you mean `response`?"), `no suggestion in ${text}`);
  assertEqual(await page.locator(".kfl-mark").innerText(), "respnse", "the marked span");
  // The caret line puts ^ under `respnse` (columns 9 to 15 of the source).
  const caret = await page.locator(".kfl-caret").textContent();
  assertEqual([caret.indexOf("^"), caret.length], [9, 16], "caret columns");
  assert(await page.locator(".kfl-apply").isDisabled(), "Apply is enabled");
  await input.press("Control+Enter");
  await page.waitForTimeout(400);
  assertEqual(new URL(page.url()).searchParams.get("kfl"), null, "the bad filter was applied");
  assertEqual(await listKeys(page), before, "rows changed");
  await page.screenshot({ path: path.join(SHOTS, "2-kfl-error.png") });
});

await test("2b a warning keeps Apply; KFL2 names complete and run like their fields", async (page) => {
  await open(page);
  const input = page.locator(".kfl-input");
  await input.click();
  await input.pressSequentially("status_co", { delay: 15 });
  await page.waitForFunction(() => [...document.querySelectorAll(".kfl-menu li")].some((li) => li.textContent === "status_code"));
  await input.fill("");
  await input.pressSequentially("tls", { delay: 15 });
  await page.waitForSelector(".kfl-warn");
  const text = await page.locator(".kfl-diag").innerText();
  assert(text.includes("W001") && text.includes("tlsx"), `no W001 naming tlsx in ${text}`);
  assert(!(await page.locator(".kfl-apply").isDisabled()), "Apply is disabled by a warning");
  await page.screenshot({ path: path.join(SHOTS, "2b-kfl-warning.png") });
  await applyFilter(page, "status_code >= 400");
  assertEqual(await listKeys(page), cliKeys(STORE, "response.status >= 400"), "rows of a KFL2 name");
});

await test("3 an HTTP entry shows method, path, Host and status; its PCAP has the URI", async (page, context) => {
  await open(page);
  await applyFilter(page, 'http and request.path == "/createOrder"');
  await page.locator(".row .c-time").first().click();
  await page.waitForSelector(".detail-title");
  const head = await page.locator(".detail-title").innerText();
  assert(head.includes("POST") && head.includes("/createOrder") && head.includes("200"), `title: ${head}`);
  const headers = await page.locator(".dsection", { hasText: "Headers" }).innerText();
  assert(/\bHost\b/i.test(headers), `no Host header in ${headers}`);
  await page.screenshot({ path: path.join(SHOTS, "3-detail-request.png") });
  await page.locator(".dtab", { hasText: "Response" }).click();
  await page.waitForSelector(".dsection");
  await page.screenshot({ path: path.join(SHOTS, "3-detail-response.png") });
  const href = await page.locator(".detail-actions a", { hasText: "PCAP of exchange" }).getAttribute("href");
  const response = await context.request.get(BASE + href);
  assertEqual(response.status(), 200, "PCAP download");
  const dir = mkdtempSync(path.join(os.tmpdir(), "shark-pcap-"));
  const file = path.join(dir, "entry.pcap");
  writeFileSync(file, await response.body());
  const uris = execFileSync("tshark", ["-r", file, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  rmSync(dir, { recursive: true });
  assertEqual(uris, ["/createOrder"], "tshark's URIs");
});

await test("4 + on a source name filters to it", async (page) => {
  await open(page);
  // Its rows sit below the connection records of later connections: scroll down to them.
  const row = await scrollTo(page, page.locator(".row", { hasText: "checkout-7d9f" }).first());
  await row.hover();
  await row.locator(".side.src .plus").click();
  await page.waitForFunction(() => new URLSearchParams(location.search).get("kfl") === 'src.name == "checkout-7d9f"');
  await waitForList(page);
  assertEqual(await page.locator(".kfl-input").inputValue(), 'src.name == "checkout-7d9f"', "the bar");
  const keys = await listKeys(page);
  assertEqual(keys, cliKeys(STORE, 'src.name == "checkout-7d9f"'), "rows");
  const sources = await page.locator(".row .side.src .ep").allInnerTexts();
  assert(sources.length > 0 && sources.every((s) => s === "shop/checkout-7d9f"), `sources: ${sources}`);
  await page.screenshot({ path: path.join(SHOTS, "4-plus-filter.png") });
});

await test("4b + on a gRPC method cell filters to that RPC, not to every POST", async (page) => {
  await open(page);
  const row = page.locator(".row", { hasText: "/agent.Synchronizer/Sync" }).first();
  await row.hover();
  await row.locator(".c-method .plus").click();
  const kfl = 'request.grpcMethod == "Sync"';
  await page.waitForFunction((want) => new URLSearchParams(location.search).get("kfl") === want, kfl);
  await waitForList(page);
  const keys = await listKeys(page);
  assert(keys.length > 0, "the RPC's rows are listed");
  assertEqual(keys, cliKeys(STORE, kfl), "rows");
});

await test("4c + on a connection record's STATUS filters to how connections ended", async (page) => {
  await open(page);
  const row = page.locator(".row", { hasText: "FIN " }).first();
  await row.hover();
  await row.locator(".c-status .plus").click();
  const kfl = 'response.state == "fin"';
  await page.waitForFunction((want) => new URLSearchParams(location.search).get("kfl") === want, kfl);
  await waitForList(page);
  const keys = await listKeys(page);
  assert(keys.length > 0, "the closed connections are listed");
  assertEqual(keys, cliKeys(STORE, kfl), "rows");
});

await test("5 the map equals map -o json; a click on an edge filters the list", async (page) => {
  await page.goto(`${URL_WITH_TOKEN}&view=map&by=workload`);
  await page.waitForFunction(() => window.sharkDebug?.map()?.edges.length > 0);
  await page.waitForTimeout(300);
  const drawn = await page.evaluate(() => window.sharkDebug.map());
  const cli = JSON.parse(execFileSync(BIN, ["map", "--store", STORE, "--by", "workload", "-o", "json"], { encoding: "utf8" }));
  const label = (p) => (p.namespace ? `${p.namespace}/${p.name}` : p.name);
  const expectEdges = cli.edges.map((e) => `${label(e.src)} -> ${label(e.dst)} ${e.protocol} ${e.requests}`).sort();
  assertEqual(drawn.edges.map((e) => `${e.src} -> ${e.dst} ${e.protocol} ${e.requests}`).sort(), expectEdges, "edges");
  const expectNodes = [...new Set(cli.edges.flatMap((e) => [label(e.src), label(e.dst)]))].sort();
  assertEqual([...drawn.nodes].sort(), expectNodes, "boxes");
  await page.screenshot({ path: path.join(SHOTS, "5-map.png") });
  const target = await page.evaluate(() => window.sharkDebug.edgePoint("shop/checkout", "shop/orders"));
  assert(target, "no checkout → orders edge");
  await page.mouse.click(target.x, target.y);
  await page.waitForFunction(() => new URLSearchParams(location.search).get("view") === null);
  await waitForList(page);
  const kfl = new URL(page.url()).searchParams.get("kfl");
  assertEqual(await listKeys(page), cliKeys(STORE, kfl), `rows of ${kfl}`);
  const routes = await page.locator(".row .c-route").allInnerTexts();
  assert(routes.length === 3 && routes.every((r) => r.includes("checkout-7d9f") && r.includes("orders-5c8b")), `routes: ${routes}`);
  await page.screenshot({ path: path.join(SHOTS, "5-map-edge-filter.png") });
});

await test("5c a map of 500 boxes is laid out at once, a block per namespace", async (page) => {
  // The dashboard's answer replaced by a map of 500 workloads in 12 namespaces and 2,000 edges.
  const peer = (i) => ({ namespace: `ns-${i % 12}`, name: `workload-${i}`, kind: "Pod" });
  const edges = [];
  for (let n = 0; edges.length < 2000; n++) {
    const [s, d] = [n % 500, (n * 7 + 1 + Math.floor(n / 500)) % 500];
    if (s !== d) edges.push({ src: peer(s), dst: peer(d), protocol: "http", requests: 1 + (n % 97), errors: n % 13 === 0 ? 1 : 0,
      requestBytes: 100, responseBytes: 200, p50: 1, p95: 2, p99: 3 });
  }
  await page.route("**/api/map*", (route) => route.fulfill({ contentType: "application/json", body: JSON.stringify({ by: "workload", edges, failures: [] }) }));
  await page.goto(`${URL_WITH_TOKEN}&view=map&by=workload`);
  await page.waitForFunction(() => window.sharkDebug?.map()?.edges.length === 2000);
  const drawn = await page.evaluate(() => window.sharkDebug.map());
  assertEqual(drawn.nodes.length, 500, "boxes");
  assertEqual(new Set(drawn.positions.map((p) => `${p.x},${p.y}`)).size, 500, "boxes at distinct places");
  // Each namespace a block of its own: no box inside another namespace's bounds.
  const bounds = new Map();
  for (const p of drawn.positions) {
    const b = bounds.get(p.namespace) ?? { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity };
    bounds.set(p.namespace, { x1: Math.min(b.x1, p.x), y1: Math.min(b.y1, p.y), x2: Math.max(b.x2, p.x), y2: Math.max(b.y2, p.y) });
  }
  const strays = drawn.positions.filter((p) => [...bounds].some(([ns, b]) => ns !== p.namespace && p.x >= b.x1 && p.x <= b.x2 && p.y >= b.y1 && p.y <= b.y2));
  assertEqual(strays.length, 0, "boxes inside another namespace's block");
  await page.screenshot({ path: path.join(SHOTS, "5c-large-map.png") });
});

await test("6 a window before the oldest data shows the kept coverage", async (page) => {
  await open(page, `${URL_WITH_TOKEN}&from=2019-01-01T00:00:00Z&to=2019-02-01T00:00:00Z`);
  await page.waitForSelector(".empty:not([hidden])");
  const text = await page.locator(".empty").innerText();
  assert(text.includes("Nothing is kept in this window"), text);
  assert(text.includes("Kept: 2020-05-28 02:29:02.971698 → 2026-01-19"), text);
  await page.screenshot({ path: path.join(SHOTS, "6-empty-coverage.png") });
});

if (process.env.SHARK_CLUSTER_URL) {
  await test("7 two agents, one stopped: the banner names it and the other's rows are shown", async (page) => {
    await open(page, env("SHARK_CLUSTER_URL"));
    const stopped = env("SHARK_STOPPED");
    await page.waitForSelector(".banner-warn");
    const banner = await page.locator(".banners").innerText();
    assert(banner.includes(`node ${stopped} did not answer`), `banner: ${banner}`);
    assertEqual(await listKeys(page), cliKeys(env("SHARK_CLUSTER_STORE"), ""), "the answering node's rows");
    await page.screenshot({ path: path.join(SHOTS, "7-cluster-partial.png") });
    await page.locator(".tab", { hasText: "Status" }).click();
    await page.waitForSelector(".status-table");
    const table = await page.locator(".status-table").innerText();
    assert(table.includes(stopped) && table.includes("node-a"), `status: ${table}`);
    await page.screenshot({ path: path.join(SHOTS, "7-cluster-status.png") });
  });

  await test("7b in a cluster the detail and the map come through the agents", async (page, context) => {
    const clusterUrl = env("SHARK_CLUSTER_URL");
    const clusterStore = env("SHARK_CLUSTER_STORE");
    await open(page, clusterUrl);
    await applyFilter(page, 'http and request.path == "/createOrder"');
    await page.locator(".row .c-time").first().click();
    await page.waitForSelector(".detail-title");
    const head = await page.locator(".detail-title").innerText();
    assert(head.includes("POST") && head.includes("/createOrder") && head.includes("200"), `title: ${head}`);
    const body = await page.locator(".dsection", { has: page.locator("h4", { hasText: /^Body \(/ }) }).first().innerText();
    assert(body.includes("{") && !body.includes("cut:"), `the body, whole, from the agent: ${body}`);
    const href = await page.locator(".detail-actions a", { hasText: "PCAP of exchange" }).getAttribute("href");
    const response = await context.request.get(new URL(href, clusterUrl).href);
    assertEqual(response.status(), 200, "PCAP download through the agent");
    await page.screenshot({ path: path.join(SHOTS, "7b-cluster-detail.png") });
    const mapUrl = new URL(clusterUrl);
    mapUrl.searchParams.set("view", "map");
    mapUrl.searchParams.set("by", "workload");
    await page.goto(mapUrl.href);
    await page.waitForFunction(() => window.sharkDebug?.map()?.edges.length > 0);
    await page.waitForTimeout(300);
    const drawn = await page.evaluate(() => window.sharkDebug.map());
    const cli = JSON.parse(execFileSync(BIN, ["map", "--store", clusterStore, "--by", "workload", "-o", "json"], { encoding: "utf8" }));
    const label = (p) => (p.namespace ? `${p.namespace}/${p.name}` : p.name);
    const expectEdges = cli.edges.map((e) => `${label(e.src)} -> ${label(e.dst)} ${e.protocol} ${e.requests}`).sort();
    assertEqual(drawn.edges.map((e) => `${e.src} -> ${e.dst} ${e.protocol} ${e.requests}`).sort(), expectEdges, "edges of the answering node");
    const banner = await page.locator(".banners").innerText();
    assert(banner.includes(`node ${env("SHARK_STOPPED")} did not answer`), `map banner: ${banner}`);
    await page.screenshot({ path: path.join(SHOTS, "7b-cluster-map.png") });
  });
}

if (process.env.SHARK_CLUSTERS_URL) {
  await test("7c several clusters: a CLUSTER column, cluster chips that scope, the cluster in the detail, the one down named", async (page, context) => {
    const url = env("SHARK_CLUSTERS_URL");
    await open(page, url);
    await page.waitForSelector(".banner-warn");
    const banner = await page.locator(".banners").innerText();
    assert(banner.includes("cluster gone unreachable") && banner.includes("Unauthorized"), `banner: ${banner}`);
    assert(await page.locator(".list-header .c-cluster").isVisible(), "a Cluster column");
    // Not SHARK_STORE: the CLI would read that store instead of the clusters.
    const { SHARK_STORE: _, ...clusterEnv } = process.env;
    const cli = execFileSync(BIN, ["query", "--kubeconfig", env("SHARK_KUBECONFIG"), "--context", "admin@east,admin@west", "-o", "json"], { encoding: "utf8", env: clusterEnv })
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .map((e) => [e.timestamp, e.cluster, e.node.name, e.id])
      .sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] !== b[1] ? (a[1] < b[1] ? -1 : 1) : a[2] !== b[2] ? (a[2] < b[2] ? -1 : 1) : a[3] - b[3]))
      .reverse()
      .map(([, cluster, node, id]) => `${cluster}/${node}/${id}`);
    assertEqual(await listKeys(page), cli, "both clusters' rows, newest first");
    const routes = await page.locator(".row .c-route").allInnerTexts();
    assert(routes.some((r) => r.includes("west:shop/payments-0")), `east's peer named as west's pod: ${routes}`);
    const cells = await page.locator(".row .c-cluster").allInnerTexts();
    assert(cells.length > 0 && cells.every((c) => c === "east" || c === "west"), `cluster cells: ${cells}`);
    const chips = await page.locator(".chip-cluster").allInnerTexts();
    assertEqual(chips.map((c) => c.split("\n")[0].trim()), ["east", "west", "gone"], "a chip per cluster");
    assert(await page.locator('.chip-cluster[data-cluster="gone"].chip-error').count() === 1, "the one down in red");
    await page.screenshot({ path: path.join(SHOTS, "7c-clusters.png") });
    await page.locator('.chip-cluster[data-cluster="west"]').click();
    await page.waitForFunction(() => new URLSearchParams(location.search).get("kfl") === 'cluster == "west"');
    await waitForList(page);
    await page.waitForTimeout(200);
    const west = await listKeys(page);
    assertEqual(west, cli.filter((k) => k.startsWith("west/")), "the chip scopes to its cluster");
    assert(!(await page.locator(".banners").innerText()).includes("gone"), "the cluster left out is not asked");
    await page.locator(".row .c-time").first().click();
    await page.waitForSelector(".detail-title");
    const meta = await page.locator(".detail-meta").innerText();
    assert(meta.includes("cluster west"), `meta: ${meta}`);
    const identities = await page.locator(".identities").innerText();
    assert(/cluster\s+west/.test(identities), `identities: ${identities}`);
    const href = await page.locator(".detail-actions a", { hasText: "PCAP of exchange" }).getAttribute("href");
    assert(href.startsWith("/api/entry/west/"), `PCAP from its cluster: ${href}`);
    const pcap = await context.request.get(new URL(href, url).href);
    assertEqual(pcap.status(), 200, "PCAP of the second cluster's entry");
    assert((await pcap.body()).length > 24, "packets in it");
    await page.screenshot({ path: path.join(SHOTS, "7c-cluster-detail.png") });
    // The map by cluster, as `map --by cluster` merges it (these captures' peers are all external).
    const mapUrl = new URL(url);
    mapUrl.searchParams.set("view", "map");
    mapUrl.searchParams.set("by", "cluster");
    await page.goto(mapUrl.href);
    await page.waitForFunction(() => window.sharkDebug?.map()?.edges.length > 0);
    const drawn = await page.evaluate(() => window.sharkDebug.map());
    const map = JSON.parse(execFileSync(BIN, ["map", "--by", "cluster", "-o", "json", "--kubeconfig", env("SHARK_KUBECONFIG"), "--context", "admin@east,admin@west"], { encoding: "utf8", env: clusterEnv }));
    const label = (p) => (p.cluster && p.kind !== "Cluster" ? `${p.cluster}:` : "") + (p.namespace ? `${p.namespace}/${p.name}` : p.name);
    const expectEdges = map.edges.map((e) => `${label(e.src)} -> ${label(e.dst)} ${e.protocol} ${e.requests}`).sort();
    assertEqual(drawn.edges.map((e) => `${e.src} -> ${e.dst} ${e.protocol} ${e.requests}`).sort(), expectEdges, "edges by cluster");
    await page.screenshot({ path: path.join(SHOTS, "7c-cluster-map.png") });
    // Status: each node with its cluster, and the cluster that could not be reached with why.
    const statusUrl = new URL(url);
    statusUrl.searchParams.set("view", "status");
    await page.goto(statusUrl.href);
    await page.waitForSelector(".status-table");
    const rows = await page.locator(".status-table tr").allInnerTexts();
    assert(rows[0].toLowerCase().startsWith("cluster\tnode"), `header: ${rows[0]}`);
    assert(rows.some((r) => r.startsWith("east\tnode-a")) && rows.some((r) => r.startsWith("west\tnode-b")), `nodes: ${rows.join(" | ")}`);
    assert(rows.some((r) => r.startsWith("gone") && r.includes("unreachable") && r.includes("Unauthorized")), `down: ${rows.join(" | ")}`);
    await page.screenshot({ path: path.join(SHOTS, "7c-cluster-status.png") });
  });
}

if (process.env.SHARK_CAPTURE) {
  await test("8 live: a capture imported as another node shows within 5 s", async (page) => {
    await open(page, `${URL_WITH_TOKEN}&live=1`);
    await page.waitForSelector(".live.on");
    await page.waitForTimeout(700);
    const before = await page.evaluate(() => location.href);
    execFileSync(BIN, ["import", env("SHARK_CAPTURE"), "--store", STORE, "--node", "late-node"], { stdio: "ignore" });
    const started = Date.now();
    await page.waitForFunction(() => [...document.querySelectorAll(".row")].some((r) => r.dataset.key?.startsWith("late-node/")), null, { timeout: 5000 });
    assert(Date.now() - started < 5000, "too slow");
    assertEqual(await page.evaluate(() => location.href), before, "the page reloaded");
    await page.screenshot({ path: path.join(SHOTS, "8-live.png") });
  });
}

if (process.env.SHARK_BIG_URL) {
  await test("9 paging through 10,000 entries gives each once, in order, with few row elements", async (page) => {
    await page.goto(env("SHARK_BIG_URL"));
    await waitForList(page);
    const maxRows = await page.evaluate(() => {
      window.__maxRows = 0;
      new MutationObserver(() => (window.__maxRows = Math.max(window.__maxRows, document.querySelectorAll(".row").length))).observe(document.querySelector(".list-spacer"), { childList: true });
      return document.querySelectorAll(".row").length;
    });
    const keys = await listKeys(page);
    const expected = cliKeys(env("SHARK_BIG_STORE"), "");
    assertEqual(keys.length, expected.length, "row count");
    assert(new Set(keys).size === keys.length, "a row came twice");
    assertEqual(keys, expected, "order");
    const most = Math.max(maxRows, await page.evaluate(() => window.__maxRows));
    assert(most <= 150, `${most} row elements in the DOM`);
    console.log(`     at most ${most} row elements for ${keys.length} rows`);
    await page.screenshot({ path: path.join(SHOTS, "9-paging.png") });
  });
}

await test("10 no cookie is 401, a foreign Host is 403, nothing listens beyond loopback", async (page) => {
  const plain = await page.request.get(`${BASE}/api/status`);
  assertEqual(plain.status(), 401, "without the cookie");
  const port = Number(new URL(BASE).port);
  const status = await new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/api/status", headers: { Host: "evil.example" } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", reject);
  });
  assertEqual(status, 403, "a foreign Host");
  const external = Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && a.family === "IPv4")
    .map((a) => a.address);
  for (const address of external) {
    const outcome = await new Promise((resolve) => {
      const req = http.get({ host: address, port, path: "/", timeout: 2000 }, (res) => {
        res.resume();
        resolve(`answered ${res.statusCode}`);
      });
      req.on("error", (e) => resolve(e.code));
      req.on("timeout", () => {
        req.destroy();
        resolve("timeout");
      });
    });
    assert(outcome !== undefined && !String(outcome).startsWith("answered"), `${address}:${port} ${outcome}`);
  }
  await page.goto(URL_WITH_TOKEN);
  assert(!page.url().includes("token="), "the token stays in the address bar");
  const cookies = await page.context().cookies();
  const cookie = cookies.find((c) => c.name === "shark_ui");
  assert(cookie?.httpOnly && cookie.sameSite === "Strict", `cookie: ${JSON.stringify(cookie)}`);
  const signedIn = await page.request.get(`${BASE}/api/status`);
  assertEqual(signedIn.status(), 200, "with the cookie");
  await page.goto(`${URL_WITH_TOKEN}&view=status`);
  await page.waitForSelector(".status-table");
  await page.screenshot({ path: path.join(SHOTS, "10-status.png") });
});

await browser.close();
console.log(failed ? `${failed} browser test(s) failed` : "all browser tests passed");
process.exit(failed ? 1 : 0);

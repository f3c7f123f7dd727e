// Browser figures of `kubectl shark ui` (tests/bench/ui.sh runs it): how long the map of 500
// boxes and 2,000 edges takes to lay out, and whether Live at 1,000 entries/s keeps every task of
// the page under 100 ms. A small proxy stands in front of the dashboard: it passes everything on,
// but answers /api/map with a synthetic map of that size and /api/follow with a stream of rows
// (cloned from the store's newest) at the rate asked. Environment:
//   SHARK_UI_URL   the URL the dashboard printed (with its token)
//   CHROMIUM       the browser (default /usr/bin/chromium)
//   LIVE_RATE      rows per second in Live (default 1000), LIVE_SECONDS (default 10)
// Prints one JSON object of figures.

import http from "node:http";
import { chromium } from "playwright-core";

const target = new URL(process.env.SHARK_UI_URL);
const token = target.searchParams.get("token");
const RATE = Number(process.env.LIVE_RATE ?? 1000);
const SECONDS = Number(process.env.LIVE_SECONDS ?? 10);

function upstream(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: target.hostname, port: target.port, method, path, headers: { host: target.host, cookie: `shark_ui=${token}`, "content-type": "application/json" } },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// A map of `boxes` workloads in 12 namespaces and `edges` edges between them.
function syntheticMap(boxes, edges) {
  const peer = (i) => ({ namespace: `ns-${i % 12}`, name: `workload-${i}`, kind: "Pod" });
  const out = [];
  const seen = new Set();
  let n = 0;
  while (out.length < edges) {
    const s = n % boxes;
    const d = (n * 7 + 1 + Math.floor(n / boxes)) % boxes;
    n++;
    if (s === d || seen.has(`${s}>${d}`)) continue;
    seen.add(`${s}>${d}`);
    out.push({ src: peer(s), dst: peer(d), protocol: ["http", "grpc", "redis", "dns"][n % 4], requests: 1 + (n % 97),
      errors: n % 13 === 0 ? 1 : 0, requestBytes: 100 * n, responseBytes: 200 * n, p50: 1.5, p95: 9.1, p99: 20.2 });
  }
  return { by: "workload", edges: out, failures: [] };
}

const newest = JSON.parse((await upstream("POST", "/api/entries", JSON.stringify({ limit: 1 }))).body.toString()).rows[0];
let liveId = 1_000_000_000;

const proxy = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  if (req.url.startsWith("/api/map")) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(syntheticMap(500, 2000)));
    return;
  }
  if (req.url.startsWith("/api/follow")) {
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    // Every 50 ms, RATE / 20 rows newer than the last.
    const perTick = Math.max(1, Math.round(RATE / 20));
    const started = Date.now();
    const timer = setInterval(() => {
      if (Date.now() - started > (SECONDS + 5) * 1000) { clearInterval(timer); res.end(); return; }
      let lines = "";
      for (let i = 0; i < perTick; i++) {
        liveId++;
        const ts = new Date().toISOString().replace("Z", "000000Z").replace(/\.(\d{3})000000Z$/, `.$1${String(liveId % 1_000_000).padStart(6, "0")}Z`);
        lines += JSON.stringify({ ...newest, id: liveId, timestamp: ts }) + "\n";
      }
      res.write(lines);
    }, 50);
    req.on("close", () => clearInterval(timer));
    return;
  }
  const answer = await upstream(req.method, req.url, Buffer.concat(chunks));
  const headers = { ...answer.headers };
  delete headers["transfer-encoding"];
  res.writeHead(answer.status, headers);
  res.end(answer.body);
});
await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${proxy.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
await context.addCookies([{ name: "shark_ui", value: token, url: base }]);
const page = await context.newPage();
const figures = {};

// The map: from asking to laid out and drawn.
await page.goto(`${base}/?view=map&by=workload`);
const started = Date.now();
await page.waitForFunction(() => window.sharkDebug?.map()?.edges.length >= 2000, null, { timeout: 60000 });
// Drawn: cytoscape paints on the next animation frame.
await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
figures.mapLayoutMs = Date.now() - started;
figures.mapBoxes = (await page.evaluate(() => window.sharkDebug.map().nodes.length));

// Live: every task longer than 50 ms while rows arrive at RATE per second for SECONDS.
await page.goto(`${base}/?live=1`);
await page.waitForSelector(".live.on");
await page.evaluate(() => {
  window.__tasks = [];
  new PerformanceObserver((list) => list.getEntries().forEach((e) => window.__tasks.push(e.duration))).observe({ type: "longtask", buffered: false });
});
await page.waitForTimeout(SECONDS * 1000);
const tasks = await page.evaluate(() => window.__tasks);
figures.liveRate = RATE;
figures.liveSeconds = SECONDS;
figures.liveLongTasks = tasks.length;
figures.liveLongestTaskMs = Math.round(Math.max(0, ...tasks));
figures.liveRowElements = await page.evaluate(() => document.querySelectorAll(".row").length);
figures.liveCount = await page.locator(".count").innerText();
await browser.close();
proxy.close();
console.log(JSON.stringify(figures));

#!/usr/bin/env bash
# Dashboard figures (issue 12), release build: a store of ENTRIES (default 1,000,000) synthetic
# entries on 3 nodes over one hour (built by shark-store's bench_query example, packets kept for
# minute 30), `kubectl shark ui` over it, and:
#   - first 200 rows newest first, no filter and `http and response.status >= 500`; the next page;
#   - one entry whose body is read back from the packets; /api/check; the server's peak RSS;
#   - in Chromium (ui/tests/bench.mjs): a map of 500 boxes / 2,000 edges laid out, and Live at
#     1,000 entries/s with the page's long tasks counted.
# Each HTTP figure is the median of RUNS (default 7) calls with curl's time_total.
#
#   bash tests/bench/ui.sh [ENTRIES]        W=DIR keeps the store (default target/bench-ui)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
entries=${1:-1000000}
W=${W:-$root/target/bench-ui}
RUNS=${RUNS:-7}
mkdir -p "$W"
log() { printf '[ui bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

log "release build"
cargo build --release --manifest-path "$root/Cargo.toml" -p kubectl-shark --bin kubectl-shark >&2
cargo build --release --manifest-path "$root/Cargo.toml" -p shark-store --example bench_query >&2
KS=$root/target/release/kubectl-shark
log "store of $entries entries in $W/store (kept between runs)"
SHARK_BENCH_STORE=$W/store "$root/target/release/examples/bench_query" "$entries" >"$W/bench_query.txt"

"$KS" ui --store "$W/store" --port 0 >"$W/ui.out" 2>"$W/ui.err" &
ui_pid=$!
trap 'kill $ui_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^dashboard: ' "$W/ui.out" && break; sleep 0.1; done
url=$(sed -n 's/^dashboard: //p' "$W/ui.out" | head -1)
base=${url%%/\?token=*}
token=${url##*token=}
log "dashboard at $base"

# call PATH [BODY]: the answer's body (POST when BODY is given).
call() {
  if [ $# -gt 1 ]; then
    curl -sf -H "Cookie: shark_ui=$token" -H 'Content-Type: application/json' -d "$2" "$base$1"
  else
    curl -sf -H "Cookie: shark_ui=$token" "$base$1"
  fi
}
# ms PATH [BODY]: the median of RUNS calls' total time, in ms.
ms() {
  local i times=()
  for i in $(seq "$RUNS"); do
    if [ $# -gt 1 ]; then
      times+=("$(curl -sf -o /dev/null -w '%{time_total}' -H "Cookie: shark_ui=$token" -H 'Content-Type: application/json' -d "$2" "$base$1")")
    else
      times+=("$(curl -sf -o /dev/null -w '%{time_total}' -H "Cookie: shark_ui=$token" "$base$1")")
    fi
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { printf "%.0f", v[int((NR + 1) / 2)] * 1000 }'
}

stored=$(call /api/status | jq '[.nodes[].entries] | add')
first=$(ms /api/entries '{"limit": 200}')
errors=$(ms /api/entries '{"kfl": "http and response.status >= 500", "limit": 200}')
cursor=$(call /api/entries '{"limit": 200}' | jq -r .cursor)
next=$(ms /api/entries "{\"limit\": 200, \"cursor\": \"$cursor\"}")
cursor5=$(call /api/entries '{"kfl": "http and response.status >= 500", "limit": 200}' | jq -r .cursor)
next5=$(ms /api/entries "{\"kfl\": \"http and response.status >= 500\", \"limit\": 200, \"cursor\": \"$cursor5\"}")
histogram=$(ms '/api/histogram?buckets=120')
# A body read back from the packets: the synthetic store's packets do not rebuild its exchanges
# (bench_query writes index rows and packets separately), so this one is an import of the demo
# capture keeping 16 bytes of each body in the index; the read-back's cost is per entry.
rm -rf "$W/demo-store"
"$KS" import "$root/tests/data/demo.pcap" --store "$W/demo-store" --node demo --index-body 16 2>/dev/null
"$KS" ui --store "$W/demo-store" --port 0 >"$W/ui-demo.out" 2>"$W/ui-demo.err" &
demo_pid=$!
trap 'kill $ui_pid $demo_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^dashboard: ' "$W/ui-demo.out" && break; sleep 0.1; done
demo_url=$(sed -n 's/^dashboard: //p' "$W/ui-demo.out" | head -1)
demo() { base=${demo_url%%/\?token=*} token=${demo_url##*token=} "$@"; }
# A POST whose request body (350 bytes) the index cut at 16.
post_id=$(demo call /api/entries '{"kfl": "http and request.method == \"POST\"", "limit": 1}' | jq -r '.rows[0].id')
body_ms=$(demo ms "/api/entry/demo/$post_id")
read_back=$(demo call "/api/entry/demo/$post_id" |
  jq -r '"\(.request.method) \(.request.path): request body \(.request.body | length) of \(.request.bodySize) bytes, cut: \(.request.bodyTruncated // false)"')
kill $demo_pid 2>/dev/null || true
check=$(ms /api/check '{"kfl": "http and response.status >= 500 and dst.namespace == \"shop\""}')
rss=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$ui_pid/status")

log "browser: map and Live"
browser=$(cd "$root/ui" && SHARK_UI_URL=$url node tests/bench.mjs)
rss_after=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$ui_pid/status")
rss_split=$(awk '/RssAnon|RssFile/ { printf "%s %.0f MiB ", $1, $2 / 1024 }' "/proc/$ui_pid/status")

cat <<REPORT
store: $stored entries on 3 nodes ($(head -1 "$W/bench_query.txt"))
first 200 rows, newest first, no filter:             $first ms   (target < 300)
first 200 rows, \`http and response.status >= 500\`:  $errors ms   (target < 300)
next page, no filter:                                $next ms   (target < 150)
next page, \`http and response.status >= 500\`:       $next5 ms   (target < 150)
entry demo/$post_id with its body read back ($read_back): $body_ms ms   (target < 300)
/api/check:                                          $check ms   (target < 20)
/api/histogram (120 slices of all kept):             $histogram ms
UI server peak RSS: $rss MiB after the HTTP figures, $rss_after MiB after the browser's (target < 150); now $rss_split
browser: $browser
REPORT

#!/usr/bin/env bash
# Regenerates the benchmark corpus and every table of BENCHMARKS.md (issue 9): kubectl-shark measured side by
# side with tshark and tcpdump on the same input, in one run.
#
#   tests/bench/run.sh [small|full]
#     small  minutes: a 64 MB synthetic mix, 16 MB per-protocol corpora, 100k open connections, ~50 MB of
#            real traffic, 3 runs per figure. Needs no CI.
#     full   hours: 5 GB synthetic, 256 MB per protocol, 1M open connections, ~2 GB real traffic, 5 runs.
#
# Needs root (network namespaces for the real-traffic corpus and the live-capture veth pair) and
#   apt-get install -y tshark tcpdump hyperfine tcpreplay jq wrk apache2-utils nginx nghttp2-client
# Env: SHARK_BENCH_WORK work directory: corpus, stores, raw timings (default /tmp/shark-bench-SIZE)
#      SHARK_BENCH_OUT  the report (default BENCHMARKS.md at the repository root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
size=${1:-small}

case $size in
  small)
    RUNS=3 MICRO_TIMEOUT=600 SPAN=1h MIX_SIZE=64MB PER_MIX_SIZE=100MB FLOWS_OPEN=100000 FLOWS_SIZE=200MB LIVE_SIZE=400MB
    LIVE_RATES="50 100 300 1000 top" QUERY_NARROW_S=60
    REAL_HTTP=20000 REAL_REDIS=20000 REAL_PG=1000 REAL_DNS=2000
    MICRO_ARGS=(bench_ingest=200000 bench_query=1000000)
    BODIES_HTTP_SIZE=200MB BODIES_OTHER_SIZE=40MB HTTP2_REQUESTS=20000 ;;
  full)
    RUNS=5 MICRO_TIMEOUT=7200 SPAN=24h MIX_SIZE=5GB PER_MIX_SIZE=256MB FLOWS_OPEN=1000000 FLOWS_SIZE=3GB LIVE_SIZE=500MB
    LIVE_RATES="10 20 50 100 200 400 700 1000 1500 2000 3000 top" QUERY_NARROW_S=300
    REAL_HTTP=2000000 REAL_REDIS=1000000 REAL_PG=50000 REAL_DNS=50000
    MICRO_ARGS=()
    BODIES_HTTP_SIZE=800MB BODIES_OTHER_SIZE=120MB HTTP2_REQUESTS=200000 ;;
  *) echo "usage: tests/bench/run.sh [small|full]" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "run.sh needs root: network namespaces for real traffic and live capture" >&2; exit 1; }
for tool in tshark tcpdump hyperfine tcpreplay jq capinfos ab redis-benchmark pgbench dig; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y tshark tcpdump hyperfine tcpreplay jq apache2-utils redis-tools postgresql-client dnsutils" >&2; exit 1; }
done

W=${SHARK_BENCH_WORK:-/tmp/shark-bench-$size}
OUT=${SHARK_BENCH_OUT:-$root/BENCHMARKS.md}
KS="$root/target/release/kubectl-shark"
GEN="$root/target/release/shark-bench-gen"
. "$here/lib.sh"
. "$here/corpus.sh"
. "$here/import.sh"
. "$here/query.sh"
. "$here/index.sh"
. "$here/memory.sh"
. "$here/live.sh"
. "$here/micro.sh"
. "$here/bodies.sh"

rm -rf "$W" && mkdir -p "$W/corpus" "$W/stores" "$W/hyperfine" "$W/live" "$W/sections"
: >"$W/commands.md"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

log "building (release)"
(cd "$root" && cargo build --release -q -p shark-bench-gen) >&2
(cd "$root" && cargo build --release -q -p kubectl-shark) >&2 || log "kubectl-shark did not build; its figures will say so"
note "build" "cargo build --release -p shark-bench-gen -p kubectl-shark"

# http2_section: tests/bench/http2_slice.sh (nginx over h2c under h2load) in a work directory of its own.
http2_section() {
  echo "## HTTP/2 (h2c)"
  echo
  echo "nginx over h2c under \`h2load\` in a network namespace (\`tests/bench/http2_slice.sh\`): import next to"
  echo "tshark and tcpdump, then the whole store as JSON."
  echo
  if command -v h2load >/dev/null && command -v nginx >/dev/null; then
    SHARK_BENCH_WORK="$W/http2" KS="$KS" RUNS="$RUNS" "$here/http2_slice.sh" "$HTTP2_REQUESTS" 2>>"$W/http2.log" ||
      missing "the HTTP/2 slice failed (see $W/http2.log)"
    cat "$W/http2/commands.md" >>"$W/commands.md" 2>/dev/null || true
  else
    missing "h2load or nginx is not installed (apt-get install nghttp2-client nginx)"
  fi
  echo
}

machine_section() {
  echo "## Machine"
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| date | $started (run took $(( ($(date +%s) - $(date -d "$started" +%s)) / 60 )) min) |"
  echo "| CPU | $(lscpu | awk -F': *' '/Model name/ { print $2; exit }'), $(nproc) cores |"
  echo "| memory | $(free -g | awk '/Mem:/ { print $2 }') GiB |"
  echo "| kernel, OS | $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME") |"
  local base
  base=$(git -C "$root" merge-base HEAD main 2>/dev/null || git -C "$root" rev-parse HEAD)
  echo "| commit | main at $(git -C "$root" rev-parse --short "$base") ($(git -C "$root" log -1 --format=%s "$base" | cut -c1-70)) |"
  echo "| tools | $(tshark --version | head -1 | cut -d' ' -f1-3), tcpdump $(tcpdump --version 2>&1 | head -1 | awk '{ print $3 }'), $(hyperfine --version), tcpreplay $(tcpreplay --version 2>&1 | head -1 | awk '{ print $3 }'), $(rustc --version | cut -d' ' -f1-2) |"
  echo "| size | \`$size\`: medians of $RUNS runs |"
  echo
  echo "**This machine is shared**: other engineers' cargo builds ran on the same 2 cores during the run, so"
  echo "every figure here is noisy (expect ±30 %); compare ratios from one run rather than absolute figures across runs."
  echo
}

log "corpus"
{
  echo "## Corpus"
  echo
  echo "Synthetic files come from \`shark-bench-gen\` (tests/bench/gen): seeded, every frame valid (checksums,"
  echo "sequence numbers, handshakes, FINs); its test suite checks tshark's counts against the generator's summary."
  echo "Generator speed is the MB/s column (writing to the work directory's disk)."
  echo
  echo "| corpus | what | MB | packets | exchanges | span | generator |"
  echo "|---|---|---|---|---|---|---|"
  synth mixed "$MIX_SIZE" 1000 "http=60,dns=15,redis=15,postgres=10"
  for mix in http dns redis postgres; do synth "only-$mix" "$PER_MIX_SIZE" 1000 "$mix"; done
  synth open-flows "$FLOWS_SIZE" "$FLOWS_OPEN" "http=1,redis=2,postgres=1"
  synth replay "$LIVE_SIZE" 1000 "http=60,dns=15,redis=15,postgres=10"
  real_traffic
  echo
} >"$W/sections/corpus.md"

real=()
[ -f "$W/corpus/real.pcap" ] && real=(real)
import_section mixed "${real[@]}" open-flows >"$W/sections/import.md"
query_section mixed >"$W/sections/query.md"
index_section only-http only-dns only-redis only-postgres mixed "${real[@]}" >"$W/sections/index.md"
memory_section mixed "${real[@]}" open-flows >"$W/sections/memory.md"
live_section replay >"$W/sections/live.md"
micro_section >"$W/sections/micro.md"
bodies_section >"$W/sections/bodies.md"
http2_section >"$W/sections/http2.md"
machine_section >"$W/sections/machine.md"

# Sections measured outside this script (after the marker line) are carried over as they are.
kept=$(sed -n '/^<!-- Everything below is measured outside/,$p' "$OUT" 2>/dev/null || true)
{
  echo "# Benchmarks"
  echo
  echo "kubectl-shark next to the tools users would pick instead (tshark, tcpdump), on the same input, in one run."
  echo "Regenerate everything here with \`tests/bench/run.sh $size\` (as root; \`full\` for the hours-long version)."
  echo "A figure that cannot be produced yet says so instead of showing a number."
  echo
  cat "$W/sections/machine.md" "$W/sections/corpus.md" "$W/sections/import.md" "$W/sections/query.md" \
    "$W/sections/index.md" "$W/sections/memory.md" "$W/sections/live.md" "$W/sections/micro.md" \
    "$W/sections/bodies.md" "$W/sections/http2.md"
  echo "## Commands"
  echo
  echo "Exactly what ran (paths from this run's work directory \`$W\`)."
  echo
  cat "$W/commands.md"
  [ -z "$kept" ] || printf '\n%s\n' "$kept"
} >"$OUT"
log "wrote $OUT"

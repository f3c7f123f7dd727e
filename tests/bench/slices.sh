#!/usr/bin/env bash
# Import on real-traffic slices (issue 13 item 2): the namespace cluster's real servers under load (nginx
# under ab keep-alive POSTs, redis-benchmark, pgbench -S) captured once, cut into one slice of 1 M packets per
# protocol, and each slice (and the whole capture) imported next to `tshark -T fields` and `tcpdump -r`:
# wall and CPU seconds (user + system), MB/s, peak RSS. Run alone, as root:
#
#   tests/bench/slices.sh [corpus|import|live]   corpus: only capture and cut; import (default): the
#                                                import table; live: the HTTP slice replayed with
#                                                tcpreplay into a veth pair at $LIVE_RATES Mbit/s
#                                                (default "1000 2000") to `capture --local` and tcpdump
#
# Env: SHARK_BENCH_WORK  corpus and stores (default target/bench-slices); a capture already there is reused.
#      SLICE_RUNS        runs per figure (default 3; the median is printed)
#      KS                the kubectl-shark binary (default target/release/kubectl-shark)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
what=${1:-import}
W=${SHARK_BENCH_WORK:-$root/target/bench-slices}
KS=${KS:-$root/target/release/kubectl-shark}
RUNS=${SLICE_RUNS:-3}
. "$here/lib.sh"
. "$here/corpus.sh"
. "$here/import.sh"
. "$here/live.sh"
mkdir -p "$W/corpus" "$W/stores" "$W/hyperfine"
: >>"$W/commands.md"

# Enough load for 1 M packets of each protocol (HTTP: request with body, response, ACKs).
REAL_HTTP=${REAL_HTTP:-520000} REAL_HTTP_BODY=${REAL_HTTP_BODY:-900}
REAL_REDIS=${REAL_REDIS:-150000} REAL_PG=${REAL_PG:-130000} REAL_DNS=${REAL_DNS:-2000}

# slice NAME FILTER: the first 1 M packets of the capture matching a tcpdump FILTER.
slice() {
  [ -f "$W/corpus/$1.pcap" ] && return 0
  log "slice $1 ($2)"
  note "slice $1" "$(q tcpdump -r "$W/corpus/real.pcap" -c 1000000 -w "$W/corpus/$1.pcap" "$2")"
  tcpdump -r "$W/corpus/real.pcap" -c 1000000 -w "$W/corpus/$1.pcap" "$2" 2>/dev/null
}

if [ ! -f "$W/corpus/real.pcap" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "slices.sh needs root to capture real traffic in namespaces" >&2; exit 1; }
  real_traffic >"$W/corpus/real.row"
fi
slice http 'tcp port 80'
slice redis 'tcp port 6379'
slice postgres 'tcp port 5432'
[ "$what" = corpus ] && exit 0

if [ "$what" = live ]; then
  mkdir -p "$W/live"
  live_up "$W/corpus/http.pcap"
  echo "| asked rate (Mbit/s) | achieved (Mbit/s) | tool | captured/sent, dropped, CPU s/GB |"
  echo "|---|---|---|---|"
  for rate in ${LIVE_RATES:-1000 2000}; do
    for tool in tcpdump ours; do
      log "live: $tool at $rate Mbit/s"
      set -- $(live_run "$tool" "$rate" "$W/corpus/http.pcap")
      echo "| $rate | $3 | $tool | $(live_cell "$@") |"
    done
  done
  live_down
  exit 0
fi

echo "| slice | MB | packets | kubectl-shark import: wall, CPU, RSS | MB/s | tshark -T fields: wall, CPU | ratio (wall) | tcpdump -r: wall |"
echo "|---|---|---|---|---|---|---|---|"
for name in http redis postgres real; do
  pcap="$W/corpus/$name.pcap"
  bytes=$(bytes_of "$pcap")
  packets=$(capinfos -c -M "$pcap" | awk -F': *' '/Number of packets/ { print $2 }')
  log "import $name"
  read -r ours ours_cpu ours_rss < <(run_cpu "import-$name" "$(q "$KS" import "$pcap" --store "$W/stores/tmp")")
  read -r shark shark_cpu _ < <(RUNS=1 run_cpu "tshark-$name" \
    "$(q tshark -n -r "$pcap" -T fields "${TSHARK_FIELDS[@]}" -Y "$TSHARK_MESSAGES")")
  read -r dump _ _ < <(run_cpu "tcpdump-$name" "$(q tcpdump -r "$pcap" -w /dev/null)")
  printf '| %s | %s | %s | %s s, %s s, %s MiB | %s | %s s, %s s | %s | %s s |\n' "$name" \
    "$(calc '%.0f' "$bytes / 1e6")" "$packets" "$ours" "$ours_cpu" "$ours_rss" "$(mbs "$bytes" "$ours")" \
    "$shark" "$shark_cpu" "$(times "$shark" "$ours")" "$dump"
done

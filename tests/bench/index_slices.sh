#!/usr/bin/env bash
# Index size on real traffic, one protocol per slice (issue 13 item 3): brings up the namespace cluster
# (tests/cluster/up.sh), captures on its bridge one PCAP per load (ab -k against nginx, redis-benchmark,
# pgbench -S), imports each with every kubectl-shark binary given, and prints bytes per entry, the index
# share of the PCAP and where the bytes go (SQLite's dbstat, per table and index). Needs root.
#
#   tests/bench/index_slices.sh KS…     one or more kubectl-shark binaries (before, after)
#
# Work directory: $SHARK_BENCH_WORK (default target/bench-index); captures are kept there and reused.
# Loads: $INDEX_HTTP requests (default 250000), $INDEX_REDIS requests per command (default 100000, 4
# commands), $INDEX_PG transactions per client (default 50000, 4 clients).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
W=${SHARK_BENCH_WORK:-$root/target/bench-index}
p=${SHARK_CLUSTER:-sidx}
mkdir -p "$W/corpus" "$W/stores"
[ "$#" -gt 0 ] || { echo "usage: index_slices.sh KS…" >&2; exit 2; }
. "$here/lib.sh"
need_load_tools index_slices

# capture NAME COMMAND…: runs COMMAND in the client pod while tcpdump records br0 into NAME.pcap.
capture() {
  local name=$1 out="$W/corpus/$1.pcap"
  shift
  ip netns exec "$p-node" tcpdump -i br0 -n -s 0 -B 65536 -w "$out" 2>"$W/$name-tcpdump.log" &
  local dump=$!
  sleep 1
  echo "- capture $name: \`$*\`" >>"$W/commands.md"
  ip netns exec "$p-client" "$@" >"$W/$name-load.log" 2>&1 || true
  sleep 1
  kill -INT "$dump"
  wait "$dump" || true
}

if [ ! -f "$W/corpus/http.pcap" ] || [ ! -f "$W/corpus/redis.pcap" ] || [ ! -f "$W/corpus/postgres.pcap" ]; then
  : >"$W/commands.md"
  SHARK_CLUSTER=$p "$root/tests/cluster/down.sh" >/dev/null 2>&1 || true
  rm -rf "$W/cluster"
  SHARK_CLUSTER=$p "$root/tests/cluster/up.sh" "$W/cluster" >"$W/cluster.log" 2>&1
  trap 'SHARK_CLUSTER=$p "$root/tests/cluster/down.sh" >/dev/null 2>&1' EXIT
  capture http timeout 600 ab -q -k -n "${INDEX_HTTP:-250000}" -c 8 http://10.244.0.10/api/orders
  capture redis timeout 600 redis-benchmark -h 10.244.0.11 -n "${INDEX_REDIS:-100000}" -c 8 -t set,get,incr,lpush -q
  ip netns exec "$p-client" pgbench -h 10.244.0.12 -U postgres -i -s 1 postgres >"$W/pgbench-init.log" 2>&1
  capture postgres timeout 600 pgbench -h 10.244.0.12 -U postgres -c 4 -j 1 -t "${INDEX_PG:-50000}" -S postgres
fi

echo "| binary | slice | packets | PCAP bytes | entries | index bytes | bytes / entry | index / PCAP | import s (CPU s) |"
echo "|---|---|---|---|---|---|---|---|---|"
breakdown=""
for ks in "$@"; do
  for name in http redis postgres; do
    store="$W/stores/$name-$(basename "$ks")"
    rm -rf "$store"
    /usr/bin/time -f '%e %U %S' -o "$W/time" "$ks" import "$W/corpus/$name.pcap" --store "$store" >/dev/null 2>"$W/import.log"
    read -r wall user sys <"$W/time"
    index=$(find "$store" -name 'index.sqlite*' -printf '%s\n' | awk '{ s += $1 } END { print s }')
    pcap=$(stat -c %s "$W/corpus/$name.pcap")
    entries=$(grep -o '[0-9]* entries' "$W/import.log" | head -1 | cut -d' ' -f1)
    packets=$(grep -o '[0-9]* packets' "$W/import.log" | head -1 | cut -d' ' -f1)
    awk -v ks="$(basename "$ks")" -v n="$name" -v pk="$packets" -v pc="$pcap" -v e="$entries" -v i="$index" \
      -v w="$wall" -v c="$(awk "BEGIN { print $user + $sys }")" \
      'BEGIN { printf "| %s | %s | %s | %d | %d | %d | **%.1f** | %.3f | %.2f (%.2f) |\n", ks, n, pk, pc, e, i, i / e, i / pc, w, c }'
    db=$(find "$store" -name index.sqlite | head -1)
    breakdown+="$(basename "$ks") $name: $(sqlite3 "$db" "select name || ' ' || printf('%.1f', sum(pgsize) * 1.0 / $entries) from dbstat group by name order by sum(pgsize) desc" | paste -sd, | sed 's/,/, /g')"$'\n'
  done
done
echo
echo "Bytes per entry by table and index (\`select name, sum(pgsize) from dbstat group by name\`):"
echo
echo '```'
printf '%s' "$breakdown"
echo '```'

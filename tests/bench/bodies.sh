# Bodies read back and keep-alive slices (issue 13): per protocol, a slice of 8 keep-alive connections
# (HTTP with bodies of a few hundred bytes, longer than the index keeps; Redis; PostgreSQL) imported next to
# tshark -T fields and tcpdump -r; body read-back in entries/s; `query -o json` of a busy window next to
# `tshark -Y '<same window and filter>' -T ek`; the whole store as JSON next to its import; index bytes per
# entry; peak memory. Sourced by run.sh (bodies_section), or run alone:
#
#   tests/bench/bodies.sh [SIZE]    SIZE of the HTTP slice (default 800MB: about 1 M packets); prints the section
#
# Alone it keeps its corpus in $SHARK_BENCH_WORK (default target/bench-bodies) and reuses it when there.

# keepalive_slice NAME SIZE MIX: 8 connections, keep-alive.
keepalive_slice() {
  local name=$1 size=$2 mix=$3 pcap="$W/corpus/$1.pcap"
  [ -f "$pcap" ] && return 0
  local cmd
  cmd=$(q "$GEN" -o "$pcap" --size "$size" --flows 8 --exchanges 1000000 --mix "$mix" --duration 6s --seed 1 \
    --summary "$W/corpus/$name.json")
  note "corpus $name" "$cmd"
  log "generating $name ($size)"
  eval "$cmd" 2>>"$W/gen.log"
}

# timed NAME COMMAND: runs a shell command line once under /usr/bin/time -v (output to /dev/null); prints
# its wall seconds; leaves NAME.time for max_rss_mib.
timed() {
  local name=$1 cmd=$2
  note "$name" "$cmd"
  /usr/bin/time -v -o "$W/$name.time" bash -c "$cmd >/dev/null 2>>'$W/$name.log'" || log "failed: $cmd"
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' \
    "$W/$name.time"
}

# cpu_s NAME: user + system seconds of the run `timed NAME` made (what a shared machine does not inflate).
cpu_s() { awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$W/$1.time"; }

# bodies_section: the section, as markdown.
bodies_section() {
  keepalive_slice keepalive-http "$BODIES_HTTP_SIZE" http
  keepalive_slice keepalive-redis "$BODIES_OTHER_SIZE" redis
  keepalive_slice keepalive-postgres "$BODIES_OTHER_SIZE" postgres
  echo "## Bodies read back, keep-alive slices (issue 13)"
  echo
  echo "Slices of 8 keep-alive connections from \`shark-bench-gen\` (\`--duration 6s\`: about 900 exchanges a second). The index keeps 32 bytes"
  echo "of each body (the default \`--index-body\`), so every HTTP body shown or filtered on is read back from the"
  echo "packets. One run of each command (these are long); ratio = peer time / our time."
  echo
  echo "| slice | packets | kubectl-shark import | tshark -T fields | ratio | tcpdump -r -w /dev/null | ratio |"
  echo "|---|---|---|---|---|---|---|"
  local name
  for name in keepalive-http keepalive-redis keepalive-postgres; do
    log "bodies: import $name"
    import_once "$name"
    local bytes ours tshark tcpdump
    bytes=$(bytes_of "$W/corpus/$name.pcap")
    ours=$(timed "import-$name" "$(q "$KS" import "$W/corpus/$name.pcap" --store "$W/stores/$name-timed")")
    rm -rf "$W/stores/$name-timed"
    tshark=$(timed "tshark-fields-$name" "$(q tshark -n -r "$W/corpus/$name.pcap" -T fields "${TSHARK_FIELDS[@]}" \
      -Y "$TSHARK_MESSAGES")")
    tcpdump=$(timed "tcpdump-$name" "$(q tcpdump -r "$W/corpus/$name.pcap" -w /dev/null)")
    printf '| %s | %s | %s s (%s MB/s, %s entries, %s MiB RSS) | %s s | %s | %s s | %s |\n' "$name" \
      "$(imported packets "$name")" "$(calc '%.2f' "$ours")" "$(mbs "$bytes" "$ours")" "$(imported entries "$name")" \
      "$(max_rss_mib "$W/$name.import.time")" "$(calc '%.2f' "$tshark")" "$(times "$tshark" "$ours")" \
      "$(calc '%.2f' "$tcpdump")" "$(times "$tcpdump" "$ours")"
  done
  echo
  local store="$W/stores/keepalive-http" pcap="$W/corpus/keepalive-http.pcap" entries
  entries=$(imported entries keepalive-http)
  # A window of ~40 k exchanges (the issue's busy half-second), wherever the generator spread them.
  local first last from to
  first=$(jq '.first_ns / 1e9 | floor' "$W/corpus/keepalive-http.json")
  last=$(jq '.last_ns / 1e9 | ceil' "$W/corpus/keepalive-http.json")
  from=$((first + 10)) to=$((first + 10 + (last - first) * 40000 / entries + 1))
  log "bodies: read-back"
  local filter json whole window window_rows tshark_window tshark_rows
  filter=$(timed bodies-filter "$(q "$KS" query --store "$store" 'response.body.contains("zzz")')")
  whole=$(timed bodies-json-all "$(q "$KS" query --store "$store" -o json --limit 100000000 http)")
  window_rows=$("$KS" query --store "$store" --from "@$from" --to "@$to" -o json --limit 100000000 http | wc -l)
  window=$(timed bodies-json-window "$(q "$KS" query --store "$store" --from "@$from" --to "@$to" -o json \
    --limit 100000000 http)")
  tshark_rows=$(tshark -n -r "$pcap" -Y "frame.time_epoch >= $from && frame.time_epoch < $to && http.response" \
    -T fields -e frame.number 2>/dev/null | wc -l)
  tshark_window=$(timed bodies-tshark-window "$(q tshark -n -r "$pcap" -Y \
    "frame.time_epoch >= $from && frame.time_epoch < $to && http.response" -T ek)")
  echo "| work (HTTP slice, $entries exchanges) | kubectl-shark | peer |"
  echo "|---|---|---|"
  echo "| body read-back: \`query 'response.body.contains(\"zzz\")'\` over the whole store (no match: every body read back) | $(calc '%.2f' "$filter") s, **$(per_s "$entries" "$filter") entries/s** ($(cpu_s bodies-filter) s CPU: $(per_s "$entries" "$(cpu_s bodies-filter)") entries/s), $(max_rss_mib "$W/bodies-filter.time") MiB RSS | — |"
  echo "| \`query -o json http\` over the whole store | $(calc '%.2f' "$whole") s ($(per_s "$entries" "$whole") entries/s; $(cpu_s bodies-json-all) s CPU), $(max_rss_mib "$W/bodies-json-all.time") MiB RSS | its import: $(calc '%.2f' "$(timed import-again "$(q "$KS" import "$pcap" --store "$W/stores/again")")") s |"
  rm -rf "$W/stores/again"
  echo "| \`query -o json\` of a busy window (@$from–@$to, $window_rows exchanges) | **$(calc '%.3f' "$window") s** ($(cpu_s bodies-json-window) s CPU) | \`tshark -Y 'frame.time_epoch >= $from && frame.time_epoch < $to && http.response' -T ek\` ($tshark_rows responses): $(calc '%.2f' "$tshark_window") s ($(times "$tshark_window" "$window")) |"
  echo
  echo "| slice | index bytes | entries | index bytes / entry | index / PCAP |"
  echo "|---|---|---|---|---|"
  for name in keepalive-http keepalive-redis keepalive-postgres; do
    local index segments n
    index=$(bytes_of $(find "$W/stores/$name" -name 'index.sqlite*'))
    segments=$(bytes_of $(find "$W/stores/$name" -name '*.pcap' -o -name '*.pcap.part'))
    n=$(imported entries "$name")
    echo "| $name | $index | $n | **$(calc '%.0f' "$index / $n")** | $(calc '%.3f' "$index / $segments") |"
  done
  echo
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  here=$(cd "$(dirname "$0")" && pwd)
  root=$(cd "$here/../.." && pwd)
  W=${SHARK_BENCH_WORK:-$root/target/bench-bodies}
  KS="$root/target/release/kubectl-shark"
  GEN="$root/target/release/shark-bench-gen"
  BODIES_HTTP_SIZE=${1:-800MB} BODIES_OTHER_SIZE=${BODIES_OTHER_SIZE:-120MB}
  mkdir -p "$W/corpus" "$W/stores" "$W/hyperfine"
  : >"$W/commands.md"
  . "$here/lib.sh"
  . "$here/import.sh"
  bodies_section
  echo "Commands:"
  echo
  cat "$W/commands.md"
fi

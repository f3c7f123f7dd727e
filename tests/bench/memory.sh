# Peak memory (max RSS from /usr/bin/time -v) of import, including a corpus with 100k (full: 1M) TCP
# connections open at once, next to tshark on the same file. Sourced by run.sh after the import section.

# memory_row NAME: one row from the time reports import_once and tshark_once left.
memory_row() {
  local name=$1 summary="$W/corpus/$1.json" open="—"
  [ -f "$summary" ] && open=$(jq .peak_open_connections "$summary")
  local ours="" tshark
  if ks_has import; then
    [ -f "$W/$name.import.time" ] || import_once "$name"
    ours=$(max_rss_mib "$W/$name.import.time")
  fi
  [ -f "$W/$name.tshark.time" ] || tshark_once "$name"
  tshark=$(max_rss_mib "$W/$name.tshark.time")
  printf '| %s | %s MB | %s | %s | %s MiB | %s |\n' "$name" "$(calc '%.0f' "$(bytes_of "$W/corpus/$name.pcap") / 1e6")" \
    "$open" "${ours:+$ours MiB}" "${tshark:-n/a}" "$(times "$tshark" "$ours")"
}

# memory_section NAME…: the peak memory table.
memory_section() {
  echo "## Peak memory"
  echo
  echo "Maximum resident set size (\`/usr/bin/time -v\`) of one import, and of tshark printing the import fields."
  echo "Ratio = tshark / ours."
  echo
  if ! ks_has import; then missing "kubectl-shark import is not built on this branch yet"; echo; fi
  echo "| corpus | size | TCP connections open at once | kubectl-shark import | tshark -T fields | ratio |"
  echo "|---|---|---|---|---|---|"
  local name
  for name in "$@"; do memory_row "$name"; done
  echo
}

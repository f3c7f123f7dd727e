# Import: kubectl-shark import (decode, reassembly, dissection, segment write, index) next to tshark
# printing the same fields and tcpdump copying the file (the read limit). Sourced by run.sh.

# The fields tshark prints: what an entry holds for each protocol of the corpus.
TSHARK_FIELDS=(-e frame.time_epoch -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport
  -e http.request.method -e http.request.uri -e http.host -e http.authorization -e http.response.code
  -e dns.qry.name -e dns.qry.type -e dns.flags.rcode -e resp.bulk_string.value -e pgsql.query -e pgsql.type)
TSHARK_MESSAGES='http.request or http.response or dns or resp or pgsql'

# import_once NAME: one import of corpus NAME into $W/stores/NAME under /usr/bin/time -v, kept for the
# query and memory sections. Leaves NAME.import.log (our summary line) and NAME.import.time.
import_once() {
  local name=$1 store="$W/stores/$1"
  rm -rf "$store"
  note "import $name (memory, entries)" "$(q /usr/bin/time -v "$KS" import "$W/corpus/$name.pcap" --store "$store")"
  /usr/bin/time -v -o "$W/$name.import.time" "$KS" import "$W/corpus/$name.pcap" --store "$store" \
    >/dev/null 2>"$W/$name.import.log" || log "import of $name failed: $(tail -1 "$W/$name.import.log")"
}

# tshark_once NAME: the tshark field run once under /usr/bin/time -v; leaves NAME.tshark.rows and .time.
tshark_once() {
  local name=$1
  /usr/bin/time -v -o "$W/$name.tshark.time" tshark -n -r "$W/corpus/$name.pcap" -T fields "${TSHARK_FIELDS[@]}" \
    -Y "$TSHARK_MESSAGES" 2>/dev/null | wc -l >"$W/$name.tshark.rows"
}

# imported FIELD NAME: packets or entries from our import summary line.
imported() { grep -o "[0-9]* $1" "$W/$2.import.log" | head -1 | cut -d' ' -f1; }

# import_row NAME: one table row for corpus NAME.
import_row() {
  local name=$1 pcap="$W/corpus/$1.pcap" bytes
  bytes=$(bytes_of "$pcap")
  [ -f "$pcap" ] || return 0
  log "import: $name"
  local ours="" entries="" packets=""
  if ks_has import; then
    import_once "$name"
    entries=$(imported entries "$name")
    packets=$(imported packets "$name")
    ours=$(median "import-$name" "$(q "$KS" import "$pcap" --store "$W/stores/bench-tmp")" "rm -rf $W/stores/bench-tmp")
  fi
  tshark_once "$name"
  local tshark tcpdump
  tshark=$(median "tshark-fields-$name" "$(q tshark -n -r "$pcap" -T fields "${TSHARK_FIELDS[@]}" -Y "$TSHARK_MESSAGES")")
  tcpdump=$(median "tcpdump-$name" "$(q tcpdump -r "$pcap" -w /dev/null)")
  local ours_cell="_kubectl-shark import not built yet_"
  if [ -n "$ours" ]; then
    ours_cell="$(mbs "$bytes" "$ours") MB/s, $(per_s "$entries" "$ours") entries/s ($entries entries, $(calc '%.2f' "$ours") s)"
  elif ks_has import; then
    ours_cell="_import failed, see $W/$name.import.log_"
  fi
  printf '| %s | %s MB | %s | %s MB/s (%s rows, %s s) | %s | %s MB/s | %s |\n' "$name" \
    "$(calc '%.0f' "$bytes / 1e6")" "$ours_cell" \
    "$(mbs "$bytes" "$tshark")" "$(cat "$W/$name.tshark.rows")" "$(calc '%.2f' "$tshark")" "$(times "$tshark" "$ours")" \
    "$(mbs "$bytes" "$tcpdump")" "$(times "$tcpdump" "$ours")"
}

# import_section NAME…: the import table.
import_section() {
  echo "## Import"
  echo
  echo "Median wall time of $RUNS runs; a fresh store each run. Ratio = peer time / our time (above 1: we are faster)."
  echo "tshark prints the fields an entry holds (\`-T fields\`, $((${#TSHARK_FIELDS[@]} / 2)) fields, display filter \`$TSHARK_MESSAGES\`;"
  echo "rows are frames, not exchanges); tcpdump only copies the records (\`-r FILE -w /dev/null\`), the read limit."
  echo
  echo "| corpus | size | kubectl-shark import | tshark -T fields | ratio | tcpdump -r -w /dev/null | ratio |"
  echo "|---|---|---|---|---|---|---|"
  local name
  for name in "$@"; do import_row "$name"; done
  echo
}

# Query: kubectl-shark query over an imported store next to tshark -Y over the same PCAP, same rows.
# Sourced by run.sh; uses the store import_once left for the corpus.

# query_row LABEL NAME FROM TO KFL TSHARK_FILTER: times both, counts both, says whether the rows agree.
query_row() {
  local label=$1 name=$2 from=$3 to=$4 kfl=$5 filter=$6 store="$W/stores/$2" pcap="$W/corpus/$2.pcap"
  local window=() tshark_window=""
  if [ -n "$from" ]; then
    window=(--from "@$from" --to "@$to")
    tshark_window="frame.time_epoch >= $from && frame.time_epoch < $to && "
  fi
  local ours_cmd tshark_cmd
  ours_cmd=$(q "$KS" query --store "$store" "${window[@]}" -o json --limit 100000000 "$kfl")
  tshark_cmd=$(q tshark -n -r "$pcap" -Y "$tshark_window$filter")
  log "query: $label"
  local ours="" ours_rows="n/a"
  if ks_has query && [ -d "$store" ]; then
    ours_rows=$(eval "$ours_cmd" 2>"$W/query-$label.log" | wc -l) || true
    ours=$(median "query-$label" "$ours_cmd")
  fi
  local tshark tshark_rows agree
  tshark_rows=$(eval "$tshark_cmd" 2>/dev/null | wc -l)
  tshark=$(median "tshark-query-$label" "$tshark_cmd")
  if [ "$ours_rows" = "$tshark_rows" ]; then agree="yes"; else agree="**no** ($ours_rows vs $tshark_rows)"; fi
  [ "$ours_rows" = "n/a" ] && agree="n/a"
  printf '| %s | `%s`%s | %s | %s | `%s` | %s | %s | %s | %s |\n' "$label" "$kfl" \
    "${from:+ (window @$from–@$to)}" "$(secs '%.3f' "$ours")" "$ours_rows" "$tshark_window$filter" \
    "$(secs '%.2f' "$tshark")" "$tshark_rows" "$agree" "$(times "$tshark" "$ours")"
}

# query_section NAME: the query table over corpus NAME (a synthetic one: its summary gives the time span).
query_section() {
  local name=$1 summary="$W/corpus/$1.json"
  echo "## Query"
  echo
  echo "Corpus \`$name\`, imported once; median of $RUNS runs after one warm-up. Rows: NDJSON lines from"
  echo "\`query -o json\`, frames from \`tshark -Y\`. Ratio = tshark time / our time."
  echo
  if ! ks_has query; then missing "kubectl-shark query is not built on this branch yet"; echo; fi
  echo "| query | KFL | ours | rows | tshark -Y | tshark | rows | same rows | ratio |"
  echo "|---|---|---|---|---|---|---|---|---|"
  local first last mid
  first=$(jq '.first_ns / 1e9 | floor' "$summary")
  last=$(jq '.last_ns / 1e9 | ceil' "$summary")
  mid=$(( (first + last) / 2 ))
  query_row narrow "$name" "$mid" "$((mid + QUERY_NARROW_S))" 'http and request.method == "DELETE"' \
    'http.request.method == "DELETE"'
  query_row wide "$name" "" "" 'http and response.status >= 500' 'http.response.code >= 500'
  query_row header-regex "$name" "" "" 'request.headers["Authorization"] == r"Token 0[0-9a-f]*"' \
    'http.authorization matches "^Token 0[0-9a-f]*$"'
  echo
}

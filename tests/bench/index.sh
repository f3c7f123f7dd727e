# Index size: SQLite index bytes per stored PCAP byte, per protocol mix. Sourced by run.sh.

# index_row NAME: imports corpus NAME and measures what the store holds.
index_row() {
  local name=$1 store="$W/stores/$1" pcap="$W/corpus/$1.pcap"
  [ -f "$W/$name.import.log" ] || import_once "$name"
  local index segments entries
  index=$(bytes_of $(find "$store" -name 'index.sqlite*' 2>/dev/null))
  segments=$(bytes_of $(find "$store" -name '*.pcap' -o -name '*.pcap.part' 2>/dev/null))
  entries=$(imported entries "$name")
  printf '| %s | %s | %s | %s | %s | %s | **%s** | %s |\n' "$name" "$(jq -r .mix "$W/corpus/$name.json" 2>/dev/null || echo captured)" \
    "$(bytes_of "$pcap")" "$segments" "$index" "${entries:-n/a}" "$(calc '%.3f' "($index) / ($segments)")" \
    "$(calc '%.0f' "($index) / ($entries)")"
}

# index_section NAME…: the index size table.
index_section() {
  echo "## Index size"
  echo
  echo "Bytes on disk after \`import\`: PCAP segments and the SQLite index (\`index.sqlite\` with its WAL)."
  echo "The index keeps the first \`--index-body\` bytes of each body (default 32; the rest is read back from the"
  echo "packets when shown or filtered on). Synthetic headers and bodies are random tokens that barely compress, so"
  echo "their rows are an upper bound per entry; the \`real\` row is many tiny exchanges (about 270 PCAP bytes each),"
  echo "where the per-entry metadata, not the payload, sets the ratio."
  echo
  if ! ks_has import; then missing "kubectl-shark import is not built on this branch yet"; echo; return; fi
  echo "| corpus | mix | input PCAP bytes | segment bytes | index bytes | entries | index / PCAP | index bytes / entry |"
  echo "|---|---|---|---|---|---|---|---|"
  local name
  for name in "$@"; do index_row "$name"; done
  echo
}

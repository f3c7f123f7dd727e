# Micro-benchmarks the crates ship as examples (examples/bench_*.rs), run as their authors documented,
# their printed figures kept verbatim. Sourced by run.sh.

# package:folder:example of every micro-benchmark the issues name; absent ones are reported as such.
MICRO=(kfl:kfl:bench_eval shark-store:store:bench_ingest shark-store:store:bench_query
  shark-agent:capture-agent:bench_pipeline shark-agent:capture-agent:bench_http2 shark-agent:capture-agent:bench_dissectors)

# micro_section: one subsection per example.
micro_section() {
  echo "## Crate micro-benchmarks"
  echo
  echo "Figures printed by each crate's own example (single core unless the example says otherwise);"
  echo "KFL evaluation rate (entries/s/core) comes from \`kfl\`'s \`bench_eval\`."
  echo
  local entry package folder example
  for entry in "${MICRO[@]}"; do
    IFS=: read -r package folder example <<<"$entry"
    local cmd="cargo run --release -q -p $package --example $example"
    echo "### \`$cmd\`"
    echo
    if [ ! -f "$root/$folder/examples/$example.rs" ]; then
      missing "$folder/examples/$example.rs does not exist on this branch yet"
      echo
      continue
    fi
    log "micro: $package $example"
    note "micro $example" "$cmd"
    echo '```'
    if ! (cd "$root" && timeout 1800 $cmd 2>"$W/micro-$example.log"); then
      echo "(failed; last lines of its output:)"
      tail -5 "$W/micro-$example.log"
    fi
    echo '```'
    echo
  done
}

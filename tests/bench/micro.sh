# Micro-benchmarks the crates ship as examples (examples/bench_*.rs), run as their authors documented
# (MICRO_ARGS: smaller counts for `small`), their printed figures kept verbatim. Sourced by run.sh.

# package:folder:example[:arguments] of every micro-benchmark the issues name; absent ones are reported as
# such. @CORPUS@ is this run's corpus directory (bench_pipeline measures a capture file: ours).
MICRO=(kfl:kfl:bench_eval shark-store:store:bench_ingest shark-store:store:bench_query
  "shark-pipeline:capture-agent/pipeline:bench_pipeline:run @CORPUS@/mixed.pcap"
  "shark-pipeline:capture-agent/pipeline:bench_pipeline:run @CORPUS@/open-flows.pcap"
  shark-pipeline:capture-agent/pipeline:bench_http2 shark-pipeline:capture-agent/pipeline:bench_dissectors)

# micro_section: one subsection per example.
micro_section() {
  echo "## Crate micro-benchmarks"
  echo
  echo "Figures printed by each crate's own example (single core unless the example says otherwise);"
  echo "KFL evaluation rate (entries/s/core) comes from \`kfl\`'s \`bench_eval\`."
  echo
  local entry package folder example fixed
  for entry in "${MICRO[@]}"; do
    IFS=: read -r package folder example fixed <<<"$entry"
    local cmd="cargo run --release -q -p $package --example $example" arg
    [ -n "$fixed" ] && cmd="$cmd -- ${fixed//@CORPUS@/$W/corpus}"
    for arg in "${MICRO_ARGS[@]}"; do [ "${arg%%=*}" = "$example" ] && cmd="$cmd ${arg#*=}"; done
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
    # Their own SHARK_BENCH_* variables keep stores in (and empty) a directory: never let them inherit one.
    if ! (cd "$root" && timeout "$MICRO_TIMEOUT" env -u SHARK_BENCH_DIR -u SHARK_BENCH_STORE $cmd 2>"$W/micro-$example.log"); then
      echo "(failed; last lines of its output:)"
      tail -5 "$W/micro-$example.log"
    fi
    echo '```'
    echo
  done
}

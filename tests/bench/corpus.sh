# The corpus: synthetic PCAPs from shark-bench-gen, and real traffic captured in the namespace cluster.
# Sourced by run.sh. Each function leaves its files in $W/corpus and prints a markdown table row.

# synth NAME SIZE FLOWS MIX [EXCHANGES]: writes $W/corpus/NAME.pcap and NAME.json (what it holds).
synth() {
  local name=$1 size=$2 flows=$3 mix=$4 exchanges=${5:-8}
  local cmd
  cmd=$(q "$GEN" -o "$W/corpus/$name.pcap" --size "$size" --flows "$flows" --mix "$mix" --exchanges "$exchanges" \
    --duration "$SPAN" --seed 1 --summary "$W/corpus/$name.json")
  note "corpus $name" "$cmd"
  log "generating $name ($size, $flows flows, $mix)"
  local started ended
  started=$(date +%s.%N)
  eval "$cmd" 2>>"$W/gen.log"
  ended=$(date +%s.%N)
  local s="$W/corpus/$name.json"
  printf '| %s | synthetic: %s; %s TCP connections open at once | %s | %s | %s | %s h | %s MB/s |\n' "$name" "$mix" \
    "$(jq .peak_open_connections "$s")" "$(calc '%.0f' "$(jq .bytes "$s") / 1e6")" "$(jq .packets "$s")" \
    "$(jq '.http.requests + .dns.queries + .redis.commands + .postgres.queries' "$s")" \
    "$(calc '%.1f' "($(jq '.last_ns - .first_ns' "$s")) / 3.6e12")" \
    "$(mbs "$(jq .bytes "$s")" "$ended - $started")"
}

# real_traffic: brings up tests/cluster, drives ab, redis-benchmark, pgbench and a dig loop against it while
# tcpdump captures br0 inside the node namespace into $W/corpus/real.pcap. Prints a row, or why not.
real_traffic() {
  need_load_tools "real traffic"
  local cluster="$root/tests/cluster" p=${SHARK_BENCH_CLUSTER:-sbench} out="$W/corpus/real.pcap"
  if [ ! -x "$cluster/up.sh" ]; then
    echo "| real | _not captured: tests/cluster/up.sh is not on this branch yet_ | | | | | |"
    return
  fi
  log "real traffic: cluster up"
  SHARK_CLUSTER=$p "$cluster/down.sh" >/dev/null 2>&1 || true
  rm -rf "$W/cluster"
  if ! SHARK_CLUSTER=$p "$cluster/up.sh" "$W/cluster" >"$W/cluster.log" 2>&1; then
    SHARK_CLUSTER=$p "$cluster/down.sh" >/dev/null 2>&1 || true
    echo "| real | _not captured: the cluster did not come up (see $W/cluster.log)_ | | | | | |"
    return
  fi
  ip netns exec "$p-node" tcpdump -i br0 -n -s 0 -B 65536 -w "$out" 2>"$W/real-tcpdump.log" &
  local dump=$!
  sleep 1
  local in_client=(ip netns exec "$p-client")
  local started ended
  started=$(date +%s.%N)
  # REAL_HTTP_BODY=N: each request POSTs a JSON body of N bytes (keep-alive HTTP with bodies), else GETs.
  local post=()
  if [ -n "${REAL_HTTP_BODY:-}" ]; then
    printf '{"items":"%s"}' "$(head -c "$REAL_HTTP_BODY" /dev/zero | tr '\0' x)" >"$W/real-body.json"
    post=(-p "$W/real-body.json" -T application/json)
  fi
  note "real: HTTP load" "$(q timeout 600 ab -q -k -n "$REAL_HTTP" -c 8 "${post[@]}" http://10.244.0.10/api/orders)"
  timeout 600 "${in_client[@]}" ab -q -k -n "$REAL_HTTP" -c 8 "${post[@]}" http://10.244.0.10/api/orders \
    >"$W/real-ab.log" 2>&1 || true
  note "real: Redis load" "$(q timeout 600 redis-benchmark -h 10.244.0.11 -n "$REAL_REDIS" -c 8 -t set,get,incr,lpush -q)"
  timeout 600 "${in_client[@]}" redis-benchmark -h 10.244.0.11 -n "$REAL_REDIS" -c 8 -t set,get,incr,lpush -q \
    >"$W/real-redis.log" 2>&1 || true
  note "real: PostgreSQL load" "$(q pgbench -h 10.244.0.12 -U postgres -i -s 1 postgres) then $(q timeout 600 pgbench -h 10.244.0.12 -U postgres -c 4 -j 1 -t "$REAL_PG" -S postgres)"
  "${in_client[@]}" pgbench -h 10.244.0.12 -U postgres -i -s 1 postgres >"$W/real-pgbench.log" 2>&1 || true
  timeout 600 "${in_client[@]}" pgbench -h 10.244.0.12 -U postgres -c 4 -j 1 -t "$REAL_PG" -S postgres \
    >>"$W/real-pgbench.log" 2>&1 || true
  local names="$W/dig-queries.txt" i
  for i in $(seq "$REAL_DNS"); do
    case $((i % 4)) in
      0) echo "web.shop.svc.cluster.local A" ;; 1) echo "db.shop.svc.cluster.local A" ;;
      2) echo "redis.shop.svc.cluster.local AAAA" ;; 3) echo "nosuch-$i.shop.svc.cluster.local A" ;;
    esac
  done >"$names"
  note "real: DNS loop" "$(q timeout 600 dig @10.244.0.13 +time=1 +tries=1 -f "$names")"
  timeout 600 "${in_client[@]}" dig @10.244.0.13 +time=1 +tries=1 -f "$names" >"$W/real-dig.log" 2>&1 || true
  ended=$(date +%s.%N)
  sleep 1
  kill -INT "$dump" 2>/dev/null || true
  wait "$dump" 2>/dev/null || true
  SHARK_CLUSTER=$p "$cluster/down.sh" >/dev/null 2>&1 || true
  note "real: capture" "$(q ip netns exec "$p-node" tcpdump -i br0 -n -s 0 -B 65536 -w "$out")"
  local packets
  packets=$(capinfos -c -M "$out" 2>/dev/null | awk -F': *' '/Number of packets/ { print $2 }')
  printf '| real | captured on br0: ab -k (%s requests), redis-benchmark (%s × 4 commands), pgbench -S (4 × %s), dig (%s); %s | %s | %s | — | %s s | (capture) |\n' \
    "$REAL_HTTP" "$REAL_REDIS" "$REAL_PG" "$REAL_DNS" "$(grep -o '[0-9]* packets dropped by kernel' "$W/real-tcpdump.log" || echo 'drops unknown')" \
    "$(calc '%.0f' "$(bytes_of "$out") / 1e6")" "$packets" "$(calc '%.0f' "$ended - $started")"
}

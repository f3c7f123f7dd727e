#!/usr/bin/env bash
# The main job on an embedded default. As root: build kubectl-shark, create a little cluster of
# network namespaces with real servers (nginx, redis, postgres, dnsmasq, gRPC), generate traffic,
# capture it live on the node's bridge, and answer it with query tables, the service map and status. Without root
# (no network namespaces): say so, and import the bundled real capture instead. Either way it ends
# by printing the dashboard's URL on the demo store (`kubectl shark ui`): in the foreground on a
# terminal (Ctrl-C stops it), else in the background with the command that stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p kubectl-shark
shark=$PWD/target/debug/kubectl-shark
store=$(mktemp -d /tmp/shark-demo.XXXXXX)

source tests/show.sh

dashboard() {
  echo
  echo "\$ kubectl shark ui --store $store"
  if [ -t 0 ] && [ -t 1 ]; then
    exec "$shark" ui --store "$store"
  fi
  local log="$store.ui.log"
  setsid "$shark" ui --store "$store" --port 0 >"$log" 2>&1 < /dev/null &
  local pid=$!
  for _ in $(seq 50); do
    grep -q '^dashboard: ' "$log" && break
    sleep 0.1
  done
  grep '^dashboard: ' "$log" || { cat "$log" >&2; exit 1; }
  echo "(running in the background as pid $pid; stop it with: kill $pid)"
}

if [ "$(id -u)" -ne 0 ] || ! ip netns list >/dev/null 2>&1; then
  echo "not root: cannot create the demo cluster (network namespaces); importing the bundled capture instead"
  "$shark" import tests/data/demo.pcap --store "$store" --node demo-node
  show query --store "$store"
  show query --store "$store" 'http and response.status >= 200'
  show map --store "$store"
  show status --store "$store"
  dashboard
  exit 0
fi

export SHARK_CLUSTER=sharkdemo
cluster=$(mktemp -d /tmp/shark-demo-cluster.XXXXXX)
trap 'bash tests/cluster/down.sh; rm -rf "$cluster"' EXIT
bash tests/cluster/down.sh
bash tests/cluster/up.sh "$cluster"
ip netns exec "$SHARK_CLUSTER-node" "$shark" capture --local -i br0 --node node-1 --store "$store" \
  --identities "$cluster/identities.yaml" --duration 120s &
capture=$!
sleep 1
echo "traffic from the checkout pod:"
bash tests/cluster/traffic.sh | sed 's/^/  /'
sleep 1
kill -TERM "$capture"
wait "$capture"
show query --store "$store"
show query --store "$store" 'http and response.status >= 400'
show query --store "$store" 'dst.namespace == "shop" and (redis or postgres)' -o json --limit 1
show map --store "$store" --by workload
show status --store "$store"
echo
echo "store kept at $store (try: $shark query --store $store 'dns')"
trap - EXIT
bash tests/cluster/down.sh
rm -rf "$cluster"
dashboard

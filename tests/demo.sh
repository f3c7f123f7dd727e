#!/usr/bin/env bash
# The main job on an embedded default: build kubectl-shark, import a bundled real capture
# (HTTP/1, gRPC, DNS, Redis, PostgreSQL, Kafka and TLS traffic) into a fresh store, then
# answer it with a query table and the store's status.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p kubectl-shark
shark=target/debug/kubectl-shark
store=$(mktemp -d /tmp/shark-demo.XXXXXX)
"$shark" import tests/data/demo.pcap --store "$store" --node demo-node
echo
echo "\$ kubectl shark query --store $store"
"$shark" query --store "$store"
echo
echo "\$ kubectl shark query --store $store 'http and response.status >= 200'"
"$shark" query --store "$store" 'http and response.status >= 200'
echo
echo "\$ kubectl shark status --store $store"
"$shark" status --store "$store"
echo
echo "store kept at $store (try: $shark query --store $store -o json 'dns')"

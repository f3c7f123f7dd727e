#!/usr/bin/env bash
# HTTP/2 (h2c) import next to tshark and tcpdump: nginx serving a 611-byte JSON file over HTTP/2 without TLS in a
# network namespace, loaded by h2load (4 connections, 8 streams each), captured by tcpdump on the veth pair; then
# imported (median of $RUNS runs), read by `tshark -d tcp.port==80,http2 -T fields` and `tcpdump -r`, and the store
# written back out whole as JSON. Prints a markdown table. Run alone, as root:
#
#   tests/bench/http2_slice.sh [REQUESTS]     REQUESTS: h2load -n (default 200000: about 720 k packets)
#
# Needs: apt-get install -y nginx nghttp2-client tshark tcpdump
# Env: SHARK_BENCH_WORK  corpus and stores (default target/bench-http2); a capture already there is reused.
#      KS                the kubectl-shark binary (default target/release/kubectl-shark)
#      RUNS              import runs (default 3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
W=${SHARK_BENCH_WORK:-$root/target/bench-http2}
KS=${KS:-$root/target/release/kubectl-shark}
RUNS=${RUNS:-3}
REQUESTS=${1:-200000}
NS=sbench-h2
. "$here/lib.sh"
mkdir -p "$W/corpus" "$W/stores" "$W/www"
: >>"$W/commands.md"
pcap="$W/corpus/h2.pcap"

for tool in nginx h2load tshark tcpdump; do
  command -v "$tool" >/dev/null || { echo "http2_slice.sh: $tool is missing (apt-get install nginx nghttp2-client tshark tcpdump)" >&2; exit 1; }
done

capture() {
  [ "$(id -u)" -eq 0 ] || { echo "http2_slice.sh needs root for its network namespace" >&2; exit 1; }
  ip netns del "$NS" 2>/dev/null || true
  ip netns add "$NS"
  trap 'ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null; ip netns del "$NS" 2>/dev/null || true' EXIT
  ip link add sbh2a type veth peer name sbh2b netns "$NS"
  ip addr add 10.98.0.1/24 dev sbh2a && ip link set sbh2a up
  ip -n "$NS" addr add 10.98.0.2/24 dev sbh2b && ip -n "$NS" link set sbh2b up && ip -n "$NS" link set lo up
  printf '{"data":"%s"}' "$(head -c 600 /dev/zero | tr '\0' x)" >"$W/www/item.json"
  cat >"$W/nginx.conf" <<EOF
worker_processes 1;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server { listen 10.98.0.2:80 http2; root $W/www; keepalive_requests 1000000; }
}
EOF
  ip netns exec "$NS" nginx -c "$W/nginx.conf"
  tcpdump -i sbh2a -n -s 0 -B 65536 -w "$pcap" tcp port 80 2>"$W/tcpdump.log" &
  local dump=$!
  sleep 1
  note "http2: load" "$(q h2load -n "$REQUESTS" -c 4 -m 8 http://10.98.0.2/item.json)"
  h2load -n "$REQUESTS" -c 4 -m 8 http://10.98.0.2/item.json >"$W/h2load.log" 2>&1
  sleep 1
  kill -INT "$dump" && wait "$dump" || true
}

[ -f "$pcap" ] || { log "http2: capturing"; capture; }

log "http2: import"
read -r ours ours_cpu ours_rss < <(run_cpu "import-h2" "$(q "$KS" import "$pcap" --store "$W/stores/tmp")")
# The last import's store, kept where run_cpu does not remove it.
rm -rf "$W/stores/h2" && mv "$W/stores/tmp" "$W/stores/h2"
entries=$("$KS" query --store "$W/stores/h2" -o json --limit 100000000 http | wc -l)
log "http2: tshark, tcpdump, JSON"
read -r shark shark_cpu _ < <(RUNS=1 run_cpu "tshark-h2" "$(q tshark -n -r "$pcap" -d tcp.port==80,http2 -T fields \
  -e frame.time_epoch -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport -e http2.headers.method \
  -e http2.headers.path -e http2.headers.status -Y http2.type==1)")
read -r dump _ _ < <(RUNS=1 run_cpu "tcpdump-h2" "$(q tcpdump -r "$pcap" -w /dev/null)")
read -r json json_cpu json_rss < <(RUNS=1 run_cpu "json-h2" "$(q "$KS" query --store "$W/stores/h2" -o json \
  --limit 100000000 http)")
bytes=$(bytes_of "$pcap")
packets=$(capinfos -c -M "$pcap" | awk -F': *' '/Number of packets/ { print $2 }')
echo "| h2c slice | MB | packets | entries | kubectl-shark import: wall, CPU, RSS | MB/s | tshark -T fields: wall, CPU | ratio (wall) | tcpdump -r | \`query -o json\` of the whole store: wall, CPU, RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '| h2load -n %s -c 4 -m 8 | %s | %s | %s | %s s, %s s, %s MiB | %s | %s s, %s s | %s | %s s | %s s, %s s, %s MiB |\n' \
  "$REQUESTS" "$(calc '%.0f' "$bytes / 1e6")" "$packets" "$entries" "$ours" "$ours_cpu" "$ours_rss" \
  "$(mbs "$bytes" "$ours")" "$shark" "$shark_cpu" "$(times "$shark" "$ours")" "$dump" "$json" "$json_cpu" "$json_rss"

#!/usr/bin/env bash
# Soak: the node agent captures the cluster bridge for MINUTES (default 10) while a client sends
# RATE HTTP requests per second (default 50) over keep-alive connections. Every 10 s it samples
# the agent's resident memory and its /v1/status; at the end it checks that every request sent
# is an entry in the store and that nothing was dropped, and prints a Markdown summary.
#   tests/cluster/soak.sh [MINUTES] [RATE]      (as root; builds nothing: run `cargo build --bins` first)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
minutes=${1:-10}
rate=${2:-50}
export SHARK_CLUSTER=${SHARK_CLUSTER:-sksoak}
work=$(mktemp -d /tmp/shark-soak.XXXXXX)
chmod 755 "$work"
trap 'bash "$here/down.sh"' EXIT
bash "$here/down.sh"
bash "$here/up.sh" "$work/cluster" >/dev/null
token=soak-token-0123456789abcdef
SHARK_TOKEN=$token ip netns exec "$SHARK_CLUSTER-node" "$top/target/debug/shark-agent" --store "$work/store" \
  --node node-1 --interface br0 --listen 127.0.0.1:8898 --identities "$work/cluster/identities.yaml" \
  2>"$work/agent.log" &
agent=$!
sleep 2
status() { ip netns exec "$SHARK_CLUSTER-node" curl -s -H "Authorization: Bearer $token" http://127.0.0.1:8898/v1/status; }
seconds=$((minutes * 60))
ip netns exec "$SHARK_CLUSTER-client" python3 - "$rate" "$seconds" > "$work/sent" <<'PY' &
import http.client, sys, time
rate, seconds = float(sys.argv[1]), float(sys.argv[2])
start, sent, conn = time.monotonic(), 0, None
while time.monotonic() - start < seconds:
    if conn is None or sent % 100 == 0:  # a new connection every 100 requests
        if conn: conn.close()
        conn = http.client.HTTPConnection("10.244.0.10", 80, timeout=5)
    conn.request("GET", "/health"); conn.getresponse().read(); sent += 1
    time.sleep(max(0.0, start + sent / rate - time.monotonic()))
conn.close()
print(sent)
PY
client=$!
echo "| t (s) | agent RSS (MiB) | entries | captured | dropped |" > "$work/samples.md"
echo "|---|---|---|---|---|" >> "$work/samples.md"
for ((t = 10; t <= seconds; t += 10)); do
  sleep 10
  rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$agent/status")
  s=$(status)
  entries=$(echo "$s" | python3 -c 'import json,sys; print(sum(n["entries"] for n in json.load(sys.stdin)["store"]))')
  captured=$(echo "$s" | python3 -c 'import json,sys; print(json.load(sys.stdin)["capture"]["received"])')
  dropped=$(echo "$s" | python3 -c 'import json,sys; print(json.load(sys.stdin)["capture"]["dropped"])')
  echo "| $t | $rss | $entries | $captured | $dropped |" >> "$work/samples.md"
done
wait "$client"
sent=$(cat "$work/sent")
sleep 3
kill -TERM "$agent"; wait "$agent"
stored=$("$top/target/debug/kubectl-shark" query --store "$work/store" -o json 'http and request.path == "/health" and response.status == 200' | wc -l)
dropped=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["queueDropped"]+json.load(open(sys.argv[1]))["kernelDropped"]+json.load(open(sys.argv[1]))["interfaceDropped"])' "$work/store/node-1/capture.json")
echo "## Soak: ${minutes} min at ${rate} HTTP requests/s"
echo
echo "Command: \`bash tests/cluster/soak.sh $minutes $rate\` ($(date -u +%Y-%m-%d), $(nproc) cores)."
echo "Requests sent: $sent; entries stored for them: $stored; drops: $dropped."
echo
cat "$work/samples.md"
[ "$sent" -eq "$stored" ] && [ "$dropped" -eq 0 ]

#!/usr/bin/env bash
# The agent under 100k concurrent flows: a release shark-agent captures one end of a veth pair (its own
# namespace) while tcpreplay sends a synthetic corpus that opens 100000 TCP connections before any
# closes. Prints the BENCHMARKS.md table row: packets sent, captured, entries, drops, the agent's peak
# resident memory (VmHWM) after the replay.
#
#   bash tests/bench/agent_flows.sh [FLOWS] [MBPS]     (as root; FLOWS 100000, MBPS 30 by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
flows=${1:-100000}
mbps=${2:-30}
W=${SHARK_BENCH_WORK:-/tmp/shark-bench-agent-flows}
NS=sbench-flows
AGENT="$root/target/release/shark-agent"
GEN="$root/target/release/shark-bench-gen"
. "$here/lib.sh"

(cd "$root" && cargo build --release -q -p shark-agent -p shark-bench-gen)
mkdir -p "$W"
pcap="$W/open-flows-$flows.pcap"
if [ ! -f "$pcap" ]; then
  log "generating $flows open flows"
  "$GEN" -o "$pcap" --size 222MB --flows "$flows" --mix http=1,redis=2,postgres=1 --duration 1h --seed 1 >/dev/null
fi

cleanup() { [ -n "${agent:-}" ] && kill "$agent" 2>/dev/null; ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
# No IPv6 on the pair: neighbour discovery would add frames the replay did not send.
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" link add lv0 type veth peer name lv1
ip -n "$NS" link set lv0 up
ip -n "$NS" link set lv1 up
ip -n "$NS" link set lo up

rm -rf "$W/store"
export SHARK_TOKEN=bench-token-0123456789
ip netns exec "$NS" "$AGENT" -i lv1 --store "$W/store" --node bench --listen 127.0.0.1:8898 \
  2>"$W/agent.err" &
agent=$!
for _ in $(seq 100); do grep -q 'capturing on' "$W/agent.err" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
log "replaying at $mbps Mbit/s"
ip netns exec "$NS" tcpreplay -i lv0 --mbps="$mbps" "$pcap" >"$W/replay.log" 2>&1
sleep 2
# `ip netns exec` execs the agent, so $agent is the agent's own pid.
hwm_kib=$(awk '/VmHWM/ { print $2 }' "/proc/$agent/status")
kill -TERM "$agent"
wait "$agent" || true
agent=
sent=$(awk '/Actual:/ { print $2; exit }' "$W/replay.log")
secs=$(awk '/Actual:/ { for (i = 1; i <= NF; i++) if ($i == "in") { print $(i+1); exit } }' "$W/replay.log")
rate=$(awk '/Rated:/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^Mbps/) { print $i; exit } }' "$W/replay.log" | tr -d ,)
read -r captured entries dropped < <(sed -n 's/^stopped: \([0-9]*\) packets, \([0-9]*\) entries, \([0-9]*\) dropped$/\1 \2 \3/p' "$W/agent.err")
echo "| sent | agent captured | entries | dropped | agent peak RSS |"
echo "|---|---|---|---|---|"
echo "| $sent packets in $secs s ($rate Mbit/s) | $captured | $entries | $dropped | **$(calc '%.0f' "$hwm_kib / 1024") MiB** |"

#!/usr/bin/env bash
# Captures real ICMP and ICMPv6: a client, a router and a server in three network namespaces
# (10.246.1.0/24 and fd00:1::/64 on the client's side, 10.246.2.0/24 and fd00:2::/64 on the
# server's), tcpdump on the client's side. The traffic: `ping` and `ping -6` answered (echo),
# `ping -t 1` (time exceeded from the router), and a UDP datagram to a closed port (port
# unreachable from the server). Needs root.
#
#   tests/protocols/icmp.sh OUT.pcap
# Namespace names start with $SHARK_CLUSTER (default `shark`), so parallel runs can pick others.
set -euo pipefail
out=${1:?usage: icmp.sh OUT.pcap}
p=${SHARK_CLUSTER:-shark}
[ "$(id -u)" -eq 0 ] || { echo "the ICMP capture needs root (network namespaces)" >&2; exit 1; }
cli=$p-iccli rtr=$p-icrtr srv=$p-icsrv
dir=$(mktemp -d)
cleanup() {
  [ -f "$dir/tcpdump.pid" ] && kill "$(cat "$dir/tcpdump.pid")" 2>/dev/null || true
  sleep 0.3
  for ns in "$cli" "$rtr" "$srv"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
for ns in "$cli" "$rtr" "$srv"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # Errors are not rate limited, so each probe gets its answer.
  ip netns exec "$ns" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
done
ip link add "ic${p}a" type veth peer name eth0 netns "$cli"
ip link set "ic${p}a" netns "$rtr"
ip -n "$rtr" link set "ic${p}a" name left
ip link add "ic${p}b" type veth peer name eth0 netns "$srv"
ip link set "ic${p}b" netns "$rtr"
ip -n "$rtr" link set "ic${p}b" name right
ip netns exec "$rtr" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n "$cli" addr add 10.246.1.2/24 dev eth0
ip -n "$cli" addr add fd00:1::2/64 dev eth0 nodad
ip -n "$rtr" addr add 10.246.1.1/24 dev left
ip -n "$rtr" addr add fd00:1::1/64 dev left nodad
ip -n "$rtr" addr add 10.246.2.1/24 dev right
ip -n "$rtr" addr add fd00:2::1/64 dev right nodad
ip -n "$srv" addr add 10.246.2.2/24 dev eth0
ip -n "$srv" addr add fd00:2::2/64 dev eth0 nodad
for link in "$cli eth0" "$rtr left" "$rtr right" "$srv eth0"; do
  set -- $link
  ip -n "$1" link set "$2" up
done
ip -n "$cli" route add default via 10.246.1.1
ip -n "$cli" -6 route add default via fd00:1::1
ip -n "$srv" route add default via 10.246.2.1
ip -n "$srv" -6 route add default via fd00:2::1
in_cli() { ip netns exec "$cli" "$@"; }
# Neighbours resolved before the capture, so it holds the probes alone.
for _ in $(seq 50); do
  in_cli ping -c 1 -W 1 10.246.2.2 >/dev/null 2>&1 && in_cli ping -6 -c 1 -W 1 fd00:2::2 >/dev/null 2>&1 && break
  sleep 0.1
done

in_cli tcpdump -i eth0 -n -s 0 -U -w "$out" 'icmp or icmp6 or udp' 2>"$dir/tcpdump.log" &
echo $! > "$dir/tcpdump.pid"
for _ in $(seq 50); do grep -q listening "$dir/tcpdump.log" 2>/dev/null && break; sleep 0.1; done

in_cli ping -c 3 -i 0.2 10.246.2.2 >/dev/null
in_cli ping -6 -c 3 -i 0.2 fd00:2::2 >/dev/null
in_cli ping -c 2 -i 0.2 -W 1 -t 1 10.246.2.2 >/dev/null || true
# Three datagrams (three sockets): the kernel's host-wide ICMP budget may drop an error while other
# tests send their own, so one of them at least is answered.
for _ in 1 2 3; do in_cli bash -c 'echo hello > /dev/udp/10.246.2.2/9999'; sleep 0.1; done
sleep 0.5

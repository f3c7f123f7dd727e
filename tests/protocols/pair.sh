#!/usr/bin/env bash
# Two network namespaces joined by a veth pair, for one protocol's real server and client:
# $P-srv at 10.246.0.1 and $P-cli at 10.246.0.2 (P from $SHARK_PAIR, default `shpair`).
#   pair.sh up | pair.sh down
set -euo pipefail
p=${SHARK_PAIR:-shpair}
case ${1:?usage: pair.sh up|down} in
  up)
    [ "$(id -u)" -eq 0 ] || { echo "the pair needs root (network namespaces)" >&2; exit 1; }
    ip netns add "$p-srv"
    ip netns add "$p-cli"
    ip link add "s$p" type veth peer name "c$p"
    ip link set "s$p" netns "$p-srv" name eth0
    ip link set "c$p" netns "$p-cli" name eth0
    ip -n "$p-srv" addr add 10.246.0.1/24 dev eth0
    ip -n "$p-cli" addr add 10.246.0.2/24 dev eth0
    for ns in "$p-srv" "$p-cli"; do
      ip -n "$ns" link set eth0 up
      ip -n "$ns" link set lo up
    done
    ;;
  down)
    for ns in "$p-srv" "$p-cli"; do
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    done
    sleep 0.5
    for ns in "$p-srv" "$p-cli"; do
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    done
    ;;
esac

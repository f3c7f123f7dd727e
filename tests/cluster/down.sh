#!/usr/bin/env bash
# Tears down the cluster of up.sh: stops every process in its namespaces and deletes them.
set -u
p=${SHARK_CLUSTER:-shark}
for ns in $(ip netns list | awk '{print $1}' | grep "^$p-"); do
  pids=$(ip netns pids "$ns" 2>/dev/null)
  [ -n "$pids" ] && kill $pids 2>/dev/null
done
sleep 0.3
for ns in $(ip netns list | awk '{print $1}' | grep "^$p-"); do
  pids=$(ip netns pids "$ns" 2>/dev/null)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null
  ip netns del "$ns"
done
exit 0

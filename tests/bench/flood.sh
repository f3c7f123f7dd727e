#!/usr/bin/env bash
# The pipeline's memory bound under floods: imports COUNT SYNs (or unanswered DNS queries, or UDP
# conversations), each from its own address, merged with real answered traffic, and prints the
# peak RSS, the flows evicted and whether the answered traffic was still indexed.
#
#   bash tests/bench/flood.sh [COUNT] [KIND…]     (default: 3000000 syn dns udp)
#
# Needs a release build (cargo build --release -p kubectl-shark; SHARK=PATH picks another binary),
# mergecap and capinfos (wireshark-common, installed with tshark) and GNU time. Writes under
# target/bench-flood.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
count=${1:-3000000}
shift || true
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(syn dns udp)
shark="${SHARK:-$root/target/release/kubectl-shark}"
[ -x "$shark" ] || { echo "flood.sh: build it first: cargo build --release -p kubectl-shark" >&2; exit 1; }
work="$root/target/bench-flood"
mkdir -p "$work"
legit="$root/tests/data/demo.pcap"
# The flood spans the legitimate capture's first minute, so both interleave.
start=$(tshark -r "$legit" -c 1 -T fields -e frame.time_epoch)
# answered STORE: the entries without an error that are not the flood's (its targets are 10.96.0.10,
# .20 and .53, which the legitimate capture does not use; a UDP flow may be read either way round).
answered() {
  "$shark" query --store "$1" -o json --limit 1000000 \
    'not (src.ip.startsWith("10.96.0.") or dst.ip.startsWith("10.96.0."))' |
    grep -vc '"error"' || true
}
rm -rf "$work/legit-only"
"$shark" import "$legit" --store "$work/legit-only" --node n 2>/dev/null
legit_entries=$(answered "$work/legit-only")
echo "| flood | packets | peak RSS | flows evicted | answered entries indexed (of the capture alone) | wall |"
echo "|---|---|---|---|---|---|"
for kind in "${kinds[@]}"; do
  python3 "$root/tests/bench/flood.py" "$kind" "$count" "$work/$kind.pcap" --start "$start" --seconds 60
  mergecap -F pcap -w "$work/$kind-mixed.pcap" "$work/$kind.pcap" "$legit"
  rm -rf "$work/store-$kind"
  /usr/bin/time -f '%M %e' -o "$work/time-$kind" \
    "$shark" import "$work/$kind-mixed.pcap" --store "$work/store-$kind" --node n 2>/dev/null
  read -r rss_kb wall <"$work/time-$kind"
  evicted=$("$shark" query --store "$work/store-$kind" -o json --limit 100000000 \
    'error == "evicted (memory limit)"' | wc -l)
  echo "| $count $kind | $(capinfos -c -M "$work/$kind-mixed.pcap" | awk '/Number of packets/ {print $NF}') | $((rss_kb / 1024)) MiB | $evicted | $(answered "$work/store-$kind") ($legit_entries) | ${wall} s |"
done

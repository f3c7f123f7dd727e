#!/bin/sh
# Extracts each direction's TCP/UDP payload from a capture, in order, as one line per segment:
#   <frame number> <stream index> <c|s> <timestamp ns> <payload hex>
# c = to the server (destination port SERVER_PORT), s = to the client. Lines starting with # are comments.
# Usage: extract.sh CAPTURE SERVER_PORT tcp|udp > OUT.seg   (run from the repository root; tshark required)
set -eu
cap=$1 port=$2 proto=$3
echo "# source: tests/fixtures/public/${cap#*fixtures/public/} (see its README for origin and license)"
echo "# extracted by tests/data/extract.sh (tshark: payload per frame, retransmissions left out)"
filter="$proto.port==$port and $proto.payload"
[ "$proto" = tcp ] && filter="$filter and not tcp.analysis.retransmission"
tshark -r "$cap" -Y "$filter" -T fields \
    -e frame.number -e "$proto.stream" -e "$proto.dstport" -e frame.time_epoch -e "$proto.payload" 2>/dev/null |
while read -r frame stream dport epoch hex; do
    if [ "$dport" = "$port" ]; then dir=c; else dir=s; fi
    ns=$(echo "$epoch" | awk -F. '{ printf "%s%-9s\n", $1, $2 }' | tr ' ' 0)
    echo "$frame $stream $dir $ns $hex"
done

# Live capture: a veth pair in its own namespace; tcpreplay sends a synthetic corpus into one end at
# increasing rates while kubectl-shark capture --local (or tcpdump -w, the peer) listens on the other.
# A rate is zero-drop when every frame sent was captured and the tool reports no drops. Sourced by run.sh.

LIVE_NS=${LIVE_NS:-sbench-live}

live_up() {
  command -v tcpreplay >/dev/null || { echo "live: tcpreplay is not installed (apt-get install tcpreplay)" >&2; exit 1; }
  live_down
  ip netns add "$LIVE_NS"
  # No IPv6 on the pair: neighbour discovery would add frames the replay did not send.
  ip netns exec "$LIVE_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$LIVE_NS" link add lv0 type veth peer name lv1
  ip -n "$LIVE_NS" link set lv0 up
  ip -n "$LIVE_NS" link set lv1 up
  editcap -r "$1" "$W/live/nudge.pcap" 1
}

live_down() { ip netns del "$LIVE_NS" 2>/dev/null || true; }

# live_run TOOL RATE PCAP: captures one replay; prints "sent_packets sent_bytes mbps captured dropped cpu_s".
live_run() {
  local tool=$1 rate=$2 pcap=$3 dir="$W/live/$1-$2"
  rm -rf "$dir" && mkdir -p "$dir"
  local cmd
  if [ "$tool" = ours ]; then
    cmd=("$KS" capture --local -i lv1 --promiscuous --store "$dir/store")
  else
    cmd=(tcpdump -i lv1 -n -s 0 -B 32768 -w "$dir/out.pcap")
  fi
  ip netns exec "$LIVE_NS" /usr/bin/time -f '%U %S %M' -o "$dir/time" "${cmd[@]}" >"$dir/out.log" 2>"$dir/err.log" &
  local timer=$!
  for _ in $(seq 100); do
    grep -qE 'capturing on|listening on' "$dir/err.log" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.5
  local speed=(--mbps="$rate")
  [ "$rate" = top ] && speed=(--topspeed)
  ip netns exec "$LIVE_NS" tcpreplay -i lv0 "${speed[@]}" "$pcap" >"$dir/replay.log" 2>&1 || true
  sleep 1
  # Stop the capture the way a user does (Ctrl-C). A capture blocked waiting for a frame may only notice
  # the signal when the next one arrives, so send single frames (counted as sent) until it exits.
  local nudges=0
  pkill -INT -P "$timer" 2>/dev/null || true
  for _ in 1 2 3 4 5; do
    sleep 1
    kill -0 "$timer" 2>/dev/null || break
    ip netns exec "$LIVE_NS" tcpreplay -i lv0 "$W/live/nudge.pcap" >/dev/null 2>&1 && nudges=$((nudges + 1))
  done
  kill -0 "$timer" 2>/dev/null && { log "live: $tool did not stop on Ctrl-C; killed"; pkill -KILL -P "$timer" || true; }
  wait "$timer" 2>/dev/null || true
  echo "$nudges" >"$dir/nudges"
  local sent_packets sent_bytes mbps captured dropped cpu
  sent_packets=$(( $(awk '/Actual:/ { print $2; exit }' "$dir/replay.log") + nudges ))
  sent_bytes=$(awk '/Actual:/ { gsub(/\(/, "", $4); print $4; exit }' "$dir/replay.log")
  mbps=$(awk '/Rated:/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^Mbps/) { print $i; exit } }' "$dir/replay.log" | tr -d ,)
  if [ "$tool" = ours ]; then
    captured=$(grep -o 'captured [0-9]* packets' "$dir/err.log" | grep -o '[0-9]*')
    dropped=$(grep -o 'dropped [0-9]*' "$dir/err.log" | head -1 | grep -o '[0-9]*')
  else
    captured=$(grep -o '^[0-9]* packets captured' "$dir/err.log" | grep -o '^[0-9]*')
    dropped=$(grep -o '^[0-9]* packets dropped by kernel' "$dir/err.log" | grep -o '^[0-9]*')
  fi
  cpu=$(awk '{ print $1 + $2 }' "$dir/time" 2>/dev/null | tail -1)
  echo "${sent_packets:-0} ${sent_bytes:-0} ${mbps:-n/a} ${captured:-n/a} ${dropped:-n/a} ${cpu:-n/a}"
}

# live_cell SENT_PACKETS SENT_BYTES MBPS CAPTURED DROPPED CPU: "captured/sent, drops, CPU s/GB" and a zero-drop mark.
live_cell() {
  local mark=""
  [ "$1" != 0 ] && [ "$4" = "$1" ] && [ "$5" = 0 ] && mark=" ✔"
  printf '%s/%s, %s dropped, %s CPU s/GB%s' "$4" "$1" "$5" "$(calc '%.1f' "($6) / (($2) / 1e9)")" "$mark"
}

# higher A B: the larger of two rates ("none" counts as lower than any rate).
higher() { if [ "$1" = none ] || awk "BEGIN { exit !($2 > $1) }"; then echo "$2"; else echo "$1"; fi; }

# live_section NAME: replays corpus NAME at each of $LIVE_RATES through both tools.
live_section() {
  local pcap="$W/corpus/$1.pcap"
  echo "## Live capture"
  echo
  echo "Corpus \`$1\` ($(calc '%.0f' "$(bytes_of "$pcap") / 1e6") MB) replayed with \`tcpreplay -i lv0 --mbps=R\` into a veth pair"
  echo "(namespace \`$LIVE_NS\`); the tool listens on \`lv1\` until Ctrl-C one second after the replay ends (a capture"
  echo "that does not exit on Ctrl-C while idle gets single extra frames until it does; they count as sent)."
  echo "✔ = every frame sent was captured and no drops were reported. CPU = user + system seconds of the tool"
  echo "(\`/usr/bin/time\`) per GB sent. tcpdump gets the same 32 MiB kernel buffer (\`-B 32768\`) as ours. Ours runs the"
  echo "whole pipeline (decode, reassembly, dissection, segments, index) where tcpdump only writes the frames."
  echo "kubectl-shark can hold up to 32 MiB in the kernel ring and 64 MiB in its queue to the pipeline: a corpus"
  echo "smaller than that shows how a burst is absorbed rather than the rate held for good."
  echo
  if ! ks_has capture; then missing "kubectl-shark capture --local is not built on this branch yet"; echo; fi
  note "live: ours" "$(q ip netns exec "$LIVE_NS" "$KS" capture --local -i lv1 --promiscuous --store DIR)"
  note "live: tcpdump" "$(q ip netns exec "$LIVE_NS" tcpdump -i lv1 -n -s 0 -B 32768 -w FILE)"
  note "live: replay" "$(q ip netns exec "$LIVE_NS" tcpreplay -i lv0 --mbps=RATE "$pcap")"
  echo "| asked rate (Mbit/s) | achieved (Mbit/s) | kubectl-shark capture --local | tcpdump -w |"
  echo "|---|---|---|---|"
  live_up "$pcap"
  local rate best_ours="none" best_peer="none" r_ours r_peer
  for rate in $LIVE_RATES; do
    log "live: $rate Mbit/s"
    r_peer=$(live_run tcpdump "$rate" "$pcap")
    r_ours="n/a"
    ks_has capture && r_ours=$(live_run ours "$rate" "$pcap")
    set -- $r_peer
    local peer_cell achieved=$3
    peer_cell=$(live_cell "$@")
    [ "$4" = "$1" ] && [ "$5" = 0 ] && best_peer=$(higher "$best_peer" "$achieved")
    local ours_cell="_not measured_"
    if [ "$r_ours" != "n/a" ]; then
      set -- $r_ours
      ours_cell=$(live_cell "$@")
      [ "$4" = "$1" ] && [ "$5" = 0 ] && best_ours=$(higher "$best_ours" "$3")
    fi
    echo "| $rate | $achieved | $ours_cell | $peer_cell |"
  done
  live_down
  echo
  ks_has capture || best_ours="not measured"
  echo "Highest zero-drop rate reached: kubectl-shark **$best_ours** Mbit/s, tcpdump **$best_peer** Mbit/s"
  echo "(the replay itself tops out where \"achieved\" stops growing; both tools share the 2 cores with it)."
  echo
}

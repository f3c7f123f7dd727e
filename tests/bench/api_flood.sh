#!/usr/bin/env bash
# The agent API under a flood: a release shark-agent (serving a small store, no capture) gets 1000
# followers (/v1/follow, streaming) and 3000 connections from another loopback address (half silent,
# half slowloris: part of a request head), then /v1/status is timed 20 times and the probe run. Then a
# 64 KiB filter of regexes is sent to /v1/query and timed. Prints the figures for BENCHMARKS.md:
# connections the agent holds, followers, status latency (median, max), probe result, the agent's
# threads, resident memory (VmRSS, VmHWM).
#
#   bash tests/bench/api_flood.sh [FOLLOWERS] [FLOOD]     (1000 and 3000 by default)
#   SHARK_BENCH_PROFILE=debug bash tests/bench/api_flood.sh   (the debug build the tests use)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
followers=${1:-1000}
flood=${2:-3000}
W=${SHARK_BENCH_WORK:-/tmp/shark-bench-api-flood}
profile=${SHARK_BENCH_PROFILE:-release}
AGENT="$root/target/$profile/shark-agent"
SHARK="$root/target/$profile/kubectl-shark"
if [ "$profile" = release ]; then build=(--release); else build=(); fi
(cd "$root" && cargo build "${build[@]}" -q -p shark-agent -p kubectl-shark)
rm -rf "$W" && mkdir -p "$W"
"$SHARK" import "$root/tests/fixtures/public/deepflow/http.pcap" --store "$W/store" --node node-a >/dev/null
export SHARK_TOKEN=bench-token-0123456789
printf %s "$SHARK_TOKEN" >"$W/token"
ulimit -n 16384
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$AGENT" --store "$W/store" --node node-a --no-capture --listen "127.0.0.1:$port" 2>"$W/agent.log" &
agent=$!
trap 'kill $agent 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "listening" "$W/agent.log" && break; sleep 0.1; done
python3 - "$port" "$followers" "$flood" "$agent" "$AGENT" "$W/token" <<'PY'
import socket, subprocess, sys, time, statistics, json
port, followers, flood, pid, agent_bin, token_file = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
token = open(token_file).read()
def request(path, src=None):
    s = socket.socket()
    if src: s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    return s
def proc(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"): return line.split()[1]
t0 = time.time()
follows = [request("/v1/follow") for _ in range(followers)]
ok = sum(1 for s in follows if s.recv(12).startswith(b"HTTP/1.1 200"))
t_follow = time.time() - t0
held = []
for n in range(flood):
    s = socket.socket(); s.bind(("127.0.0.2", 0)); s.connect(("127.0.0.1", port))
    if n % 2: s.sendall(b"GET /v1/status HTTP/1.1\r\nX-Slow: ")
    held.append(s)
t_flood = time.time() - t0 - t_follow
times = []
for _ in range(20):
    a = time.time(); s = request("/v1/status"); s.settimeout(5)
    head = s.recv(12); times.append(time.time() - a); s.close()
    assert head.startswith(b"HTTP/1.1 200"), head
probe = subprocess.run([agent_bin, "probe", "--addr", f"127.0.0.1:{port}", "--token-file", token_file]).returncode
import os
fds = len(os.listdir(f"/proc/{pid}/fd"))
kfl = " or ".join([r'request.path == r"\w{100}\w{100}"'] * (64 * 1024 // 37))
a = time.time()
s = socket.socket(); s.connect(("127.0.0.1", port))
body = json.dumps({"kfl": kfl}).encode()
s.sendall(f"POST /v1/query HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
answer = s.recv(4096); t_regex = time.time() - a
print(f"followers streaming: {ok}/{followers} (opened in {t_follow:.1f} s); flood connections opened: {len(held)} in {t_flood:.1f} s")
print(f"agent descriptors open: {fds}; threads: {proc('Threads')}; VmRSS {proc('VmRSS')} kB; VmHWM {proc('VmHWM')} kB")
print(f"/v1/status x20 under load: median {statistics.median(times)*1000:.1f} ms, max {max(times)*1000:.1f} ms; probe exit {probe}")
print(f"64 KiB filter of {64*1024//37} regexes: {answer.split(b' ')[1].decode()} in {t_regex*1000:.1f} ms")
PY

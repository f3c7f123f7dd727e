#!/usr/bin/env bash
# Installs everything kubectl-shark's build and tests need on a fresh Debian machine (run as root).
# Idempotent: packages already present are left as they are.
set -euo pipefail

packages=(
  libpcap-dev   # the pcap crate links libpcap
  tshark        # test oracle: every segment and export must open in it
  tcpdump       # benchmark peer and test captures
  iproute2      # network namespaces for the end-to-end cluster
  nginx-light redis-server redis-tools postgresql dnsmasq-base dnsutils curl  # real servers and clients
  mariadb-server mariadb-client libdbd-mariadb-perl  # MySQL protocol: server, CLI client, server-side prepared statements
  iputils-ping  # ICMP echo, time exceeded (ping -t), over IPv4 and IPv6
  graphviz      # renders the service map's DOT output
  sqlite3       # inspecting the index by hand
  bsdutils      # `script`: runs the CLI on a pseudo-terminal to test its colours
  podman runc debootstrap  # the agent image: built from Debian's packages (capture-agent/image.sh) and run as the DaemonSet runs it
  openssl python3-yaml     # the container test's stand-in Kubernetes API server (TLS, the cluster's pods)
  rabbitmq-server python3-pika  # AMQP: a real broker and client (tests/amqp.rs; /usr/bin/python3)
  python3-websockets            # WebSocket: a real server and client (tests/websocket.rs)
  python3-graphql-core          # GraphQL: a real server (tests/graphql.rs)
  python3-pymongo python3-zstandard python3-snappy  # MongoDB: a real driver (zlib-, zstd- and snappy-compressed too) against a stand-in server (tests/mongo.rs; no mongod in Debian)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v kubectl >/dev/null || missing+=(kubernetes-client)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages (${missing[*]}); run this script as root to install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# run-tests.sh checks formatting and lints first: the toolchain's rustfmt and clippy.
if command -v rustup >/dev/null; then
  for component in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
  done
fi
# The end-to-end cluster's gRPC server and client (grpcio, from PyPI).
python3 -c 'import grpc' 2>/dev/null || python3 -m pip install -q --root-user-action=ignore grpcio
# Offline validation of the deployed manifests against the Kubernetes schemas.
command -v kubernetes-validate >/dev/null || python3 -m pip install -q --root-user-action=ignore kubernetes-validate
# The distribution's services are not wanted running: tests start their own instances.
for svc in nginx redis-server postgresql mariadb rabbitmq-server; do
  (service "$svc" stop >/dev/null 2>&1 || true)
done
echo "setup: system packages present"

# The dashboard (`kubectl shark ui`): Node and npm build ui/ and drive its browser tests, which
# run in Debian's Chromium (headless). The built assets are committed, so only the tests need them.
ui_missing=()
command -v node >/dev/null || ui_missing+=(nodejs npm)
[ -x /usr/bin/chromium ] || ui_missing+=(chromium)
if [ ${#ui_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages (${ui_missing[*]}); run this script as root to install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${ui_missing[@]}" >/dev/null
fi
(cd "$(dirname "$0")/../ui" && npm ci --no-audit --no-fund --loglevel=error)
echo "setup: dashboard build and browser-test tools present"

#!/usr/bin/env bash
# Builds a little "cluster" on this machine: a node (a network namespace with a bridge) and six
# pods (namespaces on the bridge) running real servers: nginx (HTTP/1.1 and h2c), redis-server,
# postgres, dnsmasq and a gRPC server; plus a client pod with curl, redis-cli, psql, dig and a gRPC
# client. All traffic stays inside these namespaces. Needs root.
#
#   tests/cluster/up.sh DIR     DIR receives logs, configs, pid files and identities.yaml
# Namespace names start with $SHARK_CLUSTER (default `shark`), so parallel runs can pick others.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: up.sh DIR}
mkdir -p "$dir"
chmod 755 "$dir"  # postgres runs as its own user and must reach its data dir
p=${SHARK_CLUSTER:-shark}
[ "$(id -u)" -eq 0 ] || { echo "the cluster needs root (network namespaces)" >&2; exit 1; }

node=$p-node
ip netns add "$node"
ip -n "$node" link set lo up
ip -n "$node" link add br0 type bridge
# Not promiscuous: frames br0 forwards between pods reach a capture on br0 only when the capture
# makes it so (kubectl-shark's default, as tcpdump's), as on a real node.
ip -n "$node" link set br0 up

# pod NAME LAST-OCTET: a namespace with eth0 on the node's bridge at 10.244.0.OCTET.
pod() {
  local ns=$p-$1 addr=10.244.0.$2
  ip netns add "$ns"
  ip link add "v$p$2" type veth peer name eth0 netns "$ns"
  ip link set "v$p$2" netns "$node"
  ip -n "$node" link set "v$p$2" master br0 up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
}
pod web 10; pod redis 11; pod pg 12; pod dns 13; pod grpc 14; pod client 20

# nginx: HTTP/1.1 on 80, HTTP/2 cleartext (prior knowledge) on 8080.
mkdir -p "$dir/nginx"
cat > "$dir/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 64; }
http {
  access_log $dir/nginx/access.log;
  client_body_temp_path $dir/nginx;
  server {
    listen 10.244.0.10:80;
    listen 10.244.0.10:8080 http2;
    location = /health { return 200 "ok\n"; }
    location = /api/orders { return 201 '{"id":42}\n'; }
    location = /boom { return 503 "down\n"; }
    location / { return 404 "no such page\n"; }
  }
}
CONF
ip netns exec "$p-web" nginx -c "$dir/nginx/nginx.conf" -g 'daemon on;'

ip netns exec "$p-redis" redis-server --bind 10.244.0.11 --port 6379 --save '' --appendonly no --protected-mode no \
  --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"

mkdir -p "$dir/pg" && chown postgres "$dir/pg"
su postgres -s /bin/sh -c "$(ls -d /usr/lib/postgresql/*/bin | tail -1)/initdb -D $dir/pg/data --auth=trust -U postgres" >"$dir/pg/initdb.log" 2>&1
echo "host all all 10.244.0.0/24 trust" >> "$dir/pg/data/pg_hba.conf"
ip netns exec "$p-pg" su postgres -s /bin/sh -c "$(ls -d /usr/lib/postgresql/*/bin | tail -1)/pg_ctl -D $dir/pg/data -l $dir/pg/server.log -o '-c listen_addresses=10.244.0.12 -k $dir/pg' -w start" >/dev/null

ip netns exec "$p-dns" dnsmasq --no-resolv --no-hosts --bind-interfaces --listen-address=10.244.0.13 \
  --pid-file="$dir/dnsmasq.pid" --user=root --log-facility="$dir/dnsmasq.log" \
  --address=/web.shop.svc.cluster.local/10.244.0.10 --address=/redis.shop.svc.cluster.local/10.244.0.11 \
  --address=/db.shop.svc.cluster.local/10.244.0.12

ip netns exec "$p-grpc" python3 "$here/grpc_server.py" 10.244.0.14:50051 >"$dir/grpc.log" 2>&1 &
echo $! > "$dir/grpc.pid"

# The pods say which node they run on (two, though one namespace carries all of them), as the
# Kubernetes source would from each pod's spec.nodeName.
cat > "$dir/identities.yaml" <<IDS
- {ip: 10.244.0.10, name: web-6d4cf56db6-x7k2p, namespace: shop, kind: Pod, node: worker-1, workload: web, service: web, labels: {app: web}}
- {ip: 10.244.0.11, name: redis-0, namespace: shop, kind: Pod, node: worker-1, workload: redis, service: redis, labels: {app: redis}}
- {ip: 10.244.0.12, name: postgres-0, namespace: shop, kind: Pod, node: worker-1, workload: postgres, service: db, labels: {app: postgres}}
- {ip: 10.244.0.13, name: coredns-5d78c9869d-abcde, namespace: kube-system, kind: Pod, node: worker-2, workload: coredns, service: kube-dns, labels: {k8s-app: kube-dns}}
- {ip: 10.244.0.14, name: greeter-7f9b8-qwert, namespace: shop, kind: Pod, node: worker-2, workload: greeter, labels: {app: greeter}}
- {ip: 10.244.0.20, name: checkout-5c8d7-zz9yx, namespace: shop, kind: Pod, node: worker-2, workload: checkout, labels: {app: checkout}}
IDS

# Wait until every server answers.
for _ in $(seq 50); do
  if ip netns exec "$p-client" sh -c 'curl -sf http://10.244.0.10/health >/dev/null &&
      redis-cli -h 10.244.0.11 ping >/dev/null &&
      psql -h 10.244.0.12 -U postgres -Atc "select 1" >/dev/null 2>&1 &&
      dig +time=1 +tries=1 @10.244.0.13 web.shop.svc.cluster.local >/dev/null &&
      python3 -c "import socket; socket.create_connection((\"10.244.0.14\", 50051), 1)"' 2>/dev/null; then
    echo "cluster $p is up in $dir"
    exit 0
  fi
  sleep 0.2
done
echo "cluster $p did not come up; logs in $dir" >&2
exit 1

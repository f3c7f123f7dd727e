#!/usr/bin/env bash
# Servers for the connection-record tests, in the pair's server namespace ($SHARK_PAIR-srv at
# 10.246.0.1): nginx on port 80 (nothing listens on 81, so a connection there is reset) and
# dnsmasq answering web.shark.test on 53. State (config, pid files, logs) in $1.
#   connections.sh STATE_DIR
set -euo pipefail
p=${SHARK_PAIR:-shpair}
dir=${1:?usage: connections.sh STATE_DIR}
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
    listen 10.246.0.1:80;
    location / { return 200 "hello from nginx, a body long enough to count\n"; }
  }
}
CONF
ip netns exec "$p-srv" nginx -c "$dir/nginx/nginx.conf" -g 'daemon on;'
ip netns exec "$p-srv" dnsmasq --no-resolv --no-hosts --bind-interfaces --listen-address=10.246.0.1 \
  --pid-file="$dir/dnsmasq.pid" --user=root --log-facility="$dir/dnsmasq.log" \
  --address=/web.shark.test/10.246.0.1
# Both answer before the test sends anything.
for _ in $(seq 50); do
  ip netns exec "$p-srv" bash -c 'exec 3<>/dev/tcp/10.246.0.1/80' 2>/dev/null && break
  sleep 0.1
done

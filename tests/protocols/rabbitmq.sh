#!/usr/bin/env bash
# Starts Debian's rabbitmq-server in the pair's server namespace (see pair.sh), its state in DIR,
# and waits until it listens on 10.246.0.1:5672 (it takes about 20 s).
#   rabbitmq.sh DIR
set -euo pipefail
p=${SHARK_PAIR:-shpair}
dir=${1:?usage: rabbitmq.sh DIR}
mkdir -p "$dir/rabbit"
cat > "$dir/rabbit/rabbitmq.conf" <<CONF
listeners.tcp.default = 10.246.0.1:5672
loopback_users.guest = false
CONF
export HOME=$dir/rabbit RABBITMQ_MNESIA_BASE=$dir/rabbit/mnesia RABBITMQ_LOG_BASE=$dir/rabbit/log \
  RABBITMQ_PID_FILE=$dir/rabbit/pid RABBITMQ_CONFIG_FILE=$dir/rabbit/rabbitmq.conf \
  RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_ENABLED_PLUGINS_FILE=$dir/rabbit/plugins
echo "[]." > "$dir/rabbit/plugins"
# With a terminal on stdin it would open an Erlang shell and exit at once.
ip netns exec "$p-srv" /usr/lib/rabbitmq/bin/rabbitmq-server </dev/null >"$dir/rabbit/server.log" 2>&1 &
for _ in $(seq 240); do
  if ip netns exec "$p-cli" python3 -c 'import socket; socket.create_connection(("10.246.0.1", 5672), 1)' 2>/dev/null; then
    exit 0
  fi
  sleep 0.25
done
echo "rabbitmq-server did not listen within 60 s; its log:" >&2
tail -20 "$dir/rabbit/server.log" >&2
exit 1

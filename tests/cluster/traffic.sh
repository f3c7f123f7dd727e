#!/usr/bin/env bash
# Drives real clients in the client pod against every server of the cluster (see up.sh).
# Prints what it sent, one line per request, so tests know what to expect.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
p=${SHARK_CLUSTER:-shark}
in_client() { ip netns exec "$p-client" "$@"; }

in_client curl -s -o /dev/null http://10.244.0.10/health;                                  echo "http GET /health 200"
in_client curl -s -o /dev/null -X POST -d '{"item":"book"}' -H 'Content-Type: application/json' \
  -H 'Authorization: Token abc123' http://10.244.0.10/api/orders;                           echo "http POST /api/orders 201"
in_client curl -s -o /dev/null http://10.244.0.10/missing;                                 echo "http GET /missing 404"
in_client curl -s -o /dev/null http://10.244.0.10/boom;                                    echo "http GET /boom 503"
in_client curl -s -o /dev/null --http2-prior-knowledge http://10.244.0.10:8080/health;     echo "http2 GET /health 200"
in_client redis-cli -h 10.244.0.11 SET cart:42 book >/dev/null;                           echo "redis SET cart:42"
in_client redis-cli -h 10.244.0.11 GET cart:42 >/dev/null;                                echo "redis GET cart:42"
in_client psql -h 10.244.0.12 -U postgres -Atc "SELECT 42" >/dev/null;                     echo "postgres SELECT 42"
in_client dig +short @10.244.0.13 db.shop.svc.cluster.local >/dev/null;                    echo "dns A db.shop.svc.cluster.local"
in_client python3 "$here/grpc_client.py" 10.244.0.14:50051 >/dev/null;                     echo "grpc helloworld.Greeter/SayHello 0"

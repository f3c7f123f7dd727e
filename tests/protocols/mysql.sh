#!/usr/bin/env bash
# Captures real MySQL-protocol traffic: MariaDB's server and clients in two network namespaces (a
# veth pair, 10.245.0.1 the server on 3306, 10.245.0.2 the client), tcpdump on the client's side.
# The clients: the `mariadb` command-line client (handshakes with and without a database, COM_QUERY
# with result sets, OK and ERR, COM_INIT_DB, TLS requested) and Perl's DBD::MariaDB with server-side
# prepared statements (COM_STMT_PREPARE / EXECUTE / CLOSE). Needs root.
#
#   tests/protocols/mysql.sh OUT.pcap
# Namespace names start with $SHARK_CLUSTER (default `shark`), so parallel runs can pick others.
set -euo pipefail
out=${1:?usage: mysql.sh OUT.pcap}
p=${SHARK_CLUSTER:-shark}
[ "$(id -u)" -eq 0 ] || { echo "the MySQL capture needs root (network namespaces)" >&2; exit 1; }
dir=$(mktemp -d)
chmod 755 "$dir"
srv=$p-mysrv cli=$p-mycli
cleanup() {
  [ -f "$dir/tcpdump.pid" ] && kill "$(cat "$dir/tcpdump.pid")" 2>/dev/null || true
  [ -f "$dir/run/mariadb.pid" ] && kill "$(cat "$dir/run/mariadb.pid")" 2>/dev/null || true
  sleep 0.5
  ip netns del "$srv" 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

ip netns add "$srv"
ip netns add "$cli"
ip link add "my$p" type veth peer name eth0 netns "$srv"
ip link set "my$p" netns "$cli"
ip -n "$cli" link set "my$p" name eth0
ip -n "$srv" addr add 10.245.0.1/24 dev eth0
ip -n "$cli" addr add 10.245.0.2/24 dev eth0
for ns in "$srv" "$cli"; do ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up; done

# The server: an empty data directory, no grant tables (any user gets in), TLS offered with a
# throwaway self-signed certificate so a client can ask for it.
mkdir -p "$dir/data" "$dir/run"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=mysql -keyout "$dir/run/key.pem" -out "$dir/run/cert.pem" 2>/dev/null
chown -R mysql "$dir/data" "$dir/run"
ip netns exec "$srv" mariadbd --no-defaults --user=mysql --datadir="$dir/data" --socket="$dir/run/mariadb.sock" \
  --pid-file="$dir/run/mariadb.pid" --skip-grant-tables --bind-address=10.245.0.1 --port=3306 \
  --ssl-cert="$dir/run/cert.pem" --ssl-key="$dir/run/key.pem" >"$dir/server.log" 2>&1 &
in_cli() { ip netns exec "$cli" "$@"; }
for _ in $(seq 100); do
  in_cli mariadb -h 10.245.0.1 -u probe --skip-ssl -e 'select 1' >/dev/null 2>&1 && break
  sleep 0.2
done

in_cli tcpdump -i eth0 -n -s 0 -U -w "$out" 'tcp port 3306' 2>"$dir/tcpdump.log" &
echo $! > "$dir/tcpdump.pid"
for _ in $(seq 50); do grep -q listening "$dir/tcpdump.log" 2>/dev/null && break; sleep 0.1; done

sql() { in_cli mariadb -h 10.245.0.1 --skip-ssl "$@"; }
# Schema and rows; an error mid-session ends the client (--force carries on).
sql -u admin --force -e "CREATE DATABASE shop; USE shop; CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(20), qty INT);
INSERT INTO orders VALUES (1, 'book', 2), (2, 'pen', 10), (3, 'lamp', 1);
SELECT id, item, qty FROM orders ORDER BY id; SELEC broken; SELECT * FROM missing_table;" >/dev/null 2>&1 || true
sql -u admin -D shop -e "SELECT * FROM missing_table" >/dev/null 2>&1 || true
# A handshake naming the database, an UPDATE's affected rows, an empty result.
sql -u checkout -D shop -e "UPDATE orders SET qty = qty + 1 WHERE id < 3; SELECT item FROM orders WHERE qty > 100;" >/dev/null
# Server-side prepared statements.
in_cli perl -MDBI -e '
  my $db = DBI->connect("DBI:MariaDB:database=shop;host=10.245.0.1;port=3306;mariadb_server_prepare=1", "billing", "", {RaiseError => 1, PrintError => 0});
  my $sel = $db->prepare("SELECT item, qty FROM orders WHERE id >= ?");
  $sel->execute(2); while ($sel->fetchrow_arrayref) {}
  $sel->execute(3); while ($sel->fetchrow_arrayref) {}
  $sel->finish; undef $sel;
  my $ins = $db->prepare("INSERT INTO orders VALUES (?, ?, ?)");
  $ins->execute(4, "cup", 5);
  eval { $ins->execute(4, "cup", 5) };
  undef $ins;
  $db->disconnect;'
# TLS requested: the rest of that connection is encrypted.
sql -u secure --ssl -e "SELECT 1" >/dev/null
sleep 0.5

#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster, for shell/Python tests and for trying the gateway with
# `store.backend: postgres` by hand (the C++ tests use tests/support/pg_cluster.h, which does the same).
#   bash scripts/pg-test-cluster.sh start DIR   # initdb into DIR (new or empty), start the server on a
#                                               # free loopback port (never 5432), print its DSN
#   bash scripts/pg-test-cluster.sh dsn DIR     # print the DSN again (add dbname=... for another database)
#   bash scripts/pg-test-cluster.sh stop DIR    # stop the server (immediate: a crash) and remove DIR
# Trust authentication, superuser `portcullis`, socket in DIR, fsync and synchronous_commit on, server
# log in DIR/server.log. As root, the server runs as user `postgres` (who must be able to reach DIR: keep
# it under /tmp; its path must be short, for the socket). Binaries: $PORTCULLIS_PG_BIN or
# /usr/lib/postgresql/15/bin.
set -euo pipefail

BIN=${PORTCULLIS_PG_BIN:-/usr/lib/postgresql/15/bin}
MARK=.portcullis-pg-test-cluster

die() { echo "pg-test-cluster: $*" >&2; exit 1; }
usage() { echo "usage: $0 start DIR | dsn DIR | stop DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
cmd=$1
mkdir_abs() { mkdir -p "$1" && (cd "$1" && pwd); }
as_pg() {  # runs a PostgreSQL binary as the server's user
  local prog=$BIN/$1
  shift
  if [ "$(id -u)" = 0 ]; then (cd "$DIR" && runuser -u postgres -- "$prog" "$@"); else (cd "$DIR" && "$prog" "$@"); fi
}
dsn() { echo "host=127.0.0.1 port=$(cat "$DIR/port") user=portcullis dbname=postgres"; }
free_port() {
  local p
  while :; do
    p=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    [ "$p" != 5432 ] && { echo "$p"; return; }
  done
}

case $cmd in
  start)
    [ -x "$BIN/initdb" ] || die "PostgreSQL is not installed: no $BIN/initdb (apt-get install postgresql; scripts/setup.sh does)"
    if [ -e "$2" ] && [ -n "$(ls -A "$2")" ]; then die "$2 exists and is not empty"; fi
    DIR=$(mkdir_abs "$2")
    [ ${#DIR} -le 80 ] || die "$DIR is too long for the server's unix socket path (80 characters at most)"
    touch "$DIR/$MARK"
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$DIR"
      runuser -u postgres -- test -w "$DIR" || die "user postgres cannot write $DIR (every folder above it must be searchable by others; use /tmp)"
    fi
    out=$(as_pg initdb -D "$DIR/data" -A trust -U portcullis -E UTF8 --locale=C --no-sync 2>&1) ||
      die "initdb failed:"$'\n'"$out"
    cat >> "$DIR/data/postgresql.conf" <<EOF

# scripts/pg-test-cluster.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
fsync = on
synchronous_commit = on
recovery_init_sync_method = syncfs
EOF
    for attempt in 1 2 3 4 5; do
      port=$(free_port)
      before=$( [ -f "$DIR/server.log" ] && wc -c < "$DIR/server.log" || echo 0)
      if out=$(as_pg pg_ctl -D "$DIR/data" -l "$DIR/server.log" -w -t 60 -o "-p $port" start 2>&1); then
        echo "$port" > "$DIR/port"
        dsn
        exit 0
      fi
      as_pg pg_ctl -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
      log=$(tail -c +"$((before + 1))" "$DIR/server.log" 2>/dev/null || true)
      case $log in
        *"could not bind"*|*"already in use"*) echo "pg-test-cluster: port $port was taken, trying another" >&2 ;;
        *) die "pg_ctl start on 127.0.0.1:$port failed:"$'\n'"$out"$'\n'"server log $DIR/server.log:"$'\n'"$log" ;;
      esac
    done
    die "no free port after 5 attempts"
    ;;
  dsn)
    DIR=$(cd "$2" && pwd) || die "no $2"
    [ -f "$DIR/port" ] || die "$DIR is not a running pg-test-cluster (no $DIR/port)"
    dsn
    ;;
  stop)
    [ -d "$2" ] || die "no $2"
    DIR=$(cd "$2" && pwd)
    [ -f "$DIR/$MARK" ] || die "$DIR was not made by this script (no $MARK): not removing it"
    if [ -f "$DIR/data/postmaster.pid" ]; then
      out=$(as_pg pg_ctl -D "$DIR/data" -m immediate -w -t 60 stop 2>&1) || die "pg_ctl stop failed:"$'\n'"$out"
    fi
    cd /
    rm -rf "$DIR"
    ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# scripts/pg-test-cluster.sh: start prints a DSN that psql reaches; dsn prints it again; stop takes the
# server away and removes the folder; a non-empty folder, or one it did not make, is refused.
set -euo pipefail
ROOT=$1
SCRIPT=$ROOT/scripts/pg-test-cluster.sh
PSQL=${PORTCULLIS_PG_BIN:-/usr/lib/postgresql/15/bin}/psql
D=$(mktemp -u /tmp/portcullis-pgsh-XXXXXX)
OTHER=$(mktemp -d)
cleanup() { [ -d "$D" ] && bash "$SCRIPT" stop "$D" >/dev/null 2>&1; rm -rf "$OTHER"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

dsn=$(bash "$SCRIPT" start "$D") || fail "start failed"
case $dsn in "host=127.0.0.1 port="*" user=portcullis dbname=postgres") ;; *) fail "start printed: $dsn" ;; esac
port=$(echo "$dsn" | sed 's/.*port=\([0-9]*\).*/\1/')
[ "$port" != 5432 ] || fail "port 5432"
[ "$(bash "$SCRIPT" dsn "$D")" = "$dsn" ] || fail "dsn differs"
[ "$("$PSQL" "$dsn" -tAc 'SELECT 40 + 2')" = 42 ] || fail "SELECT through the DSN"
[ "$("$PSQL" "$dsn" -tAc 'SHOW fsync')" = on ] || fail "fsync not on"
[ -S "$D/.s.PGSQL.$port" ] || fail "no socket in $D"

echo x > "$OTHER/file"
if bash "$SCRIPT" start "$OTHER" 2>"$OTHER/err"; then fail "started in a non-empty folder"; fi
grep -q "not empty" "$OTHER/err" || fail "non-empty refusal: $(cat "$OTHER/err")"
if bash "$SCRIPT" stop "$OTHER" 2>"$OTHER/err"; then fail "stopped a folder it did not make"; fi
[ -f "$OTHER/file" ] || fail "removed a folder it did not make"

bash "$SCRIPT" stop "$D" || fail "stop failed"
[ ! -e "$D" ] || fail "$D still there"
if "$PSQL" "$dsn" -tAc 'SELECT 1' >/dev/null 2>&1; then fail "server still answers after stop"; fi
echo "pg_test_cluster: ok"

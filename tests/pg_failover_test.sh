#!/usr/bin/env bash
# PostgreSQL in high availability, as docs/cluster.md tells operators to run it: a primary with a
# synchronous streaming standby, and a gateway whose DSN names both servers (target_session_attrs=read-write).
# Messages are submitted; the primary crashes (pg_ctl stop -m immediate) and the standby is promoted. Then:
# every message the gateway gave a receipt for is on the new primary (nothing acknowledged was lost), the
# gateway found the new primary by itself (no restart) and accepts again, and the audit log verifies through it.
set -euo pipefail
[ $# = 6 ] || { echo "usage: $0 GATEWAY SUBMIT AUDIT DEVTOKEN PKI SOURCE_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
unset PORTCULLIS_TEST_PG_DIR   # This test runs its own two servers, never the shared cluster.
source "$HERE/support/cli_test_lib.sh"  # $T, $pids, step, fail, expect_*, free_port, wait_for.
GATEWAY=$(abs "$1"); SUBMIT=$(abs "$2"); AUDIT=$(abs "$3"); DEVTOKEN=$(abs "$4"); PKI=$(abs "$5"); SRC=$(abs "$6")
BIN=${PORTCULLIS_PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$BIN/pg_basebackup" ] || fail "PostgreSQL 15 is installed" "$BIN/pg_basebackup" "missing"

# The servers run as `postgres` (PostgreSQL refuses root) in a short path under /tmp (socket path limit).
PG=$(mktemp -d /tmp/pgha.XXXXXX)
remove_on_exit+=("$PG")
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_servers() {
  for d in primary standby; do
    [ -f "$PG/$d/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$PG/$d" -m immediate -w stop >/dev/null 2>&1 || true
  done
}
trap 'stop_servers; cleanup' EXIT
[ "$(id -u)" = 0 ] && chown postgres: "$PG"
P1=$(free_port); P2=$(free_port)
while [ "$P2" = "$P1" ]; do P2=$(free_port); done
psql_at() { local port=$1; shift; "$BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$port user=portcullis dbname=${DB:-postgres}" "$@"; }

step "a primary with a synchronous standby (streaming replication)"
as_pg "$BIN/initdb" -D "$PG/primary" -A trust -U portcullis -E UTF8 --locale=C --no-sync >/dev/null
cat >> "$PG/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG'
fsync = on
wal_level = replica
synchronous_commit = on
synchronous_standby_names = 'FIRST 1 (standby1)'
EOF
as_pg "$BIN/pg_ctl" -D "$PG/primary" -l "$PG/primary.log" -w -o "-p $P1" start >/dev/null
as_pg "$BIN/pg_basebackup" -d "host=127.0.0.1 port=$P1 user=portcullis application_name=standby1" \
  -D "$PG/standby" -R -X stream >/dev/null
# Once promoted, the standby is a primary without a standby of its own: with the primary's
# synchronous_standby_names it would wait at every COMMIT for a standby that does not exist (and the gateway
# would acknowledge nothing: correct, but the end of this test). An orchestrator clears it or attaches a new
# standby; here it is cleared in advance (docs/cluster.md, "PostgreSQL in high availability").
echo "synchronous_standby_names = ''" | as_pg tee -a "$PG/standby/postgresql.auto.conf" >/dev/null
as_pg "$BIN/pg_ctl" -D "$PG/standby" -l "$PG/standby.log" -w -o "-p $P2" start >/dev/null
for _ in $(seq 100); do
  [ "$(psql_at "$P1" -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")" = sync ] && break
  sleep 0.1
done
expect_eq "the standby's replication state" sync \
  "$(psql_at "$P1" -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")"
psql_at "$P1" -c "CREATE DATABASE portcullis"
DB=portcullis

step "a gateway whose DSN names both servers"
mkdir -p "$T/state/witness"
export PORTCULLIS_PKI=$PKI PORTCULLIS_STATE=$T/state PORTCULLIS_STORE_BACKEND=postgres PORTCULLIS_REPLICA_ID=gw-ha
export PORTCULLIS_STORE_DSN="host=127.0.0.1,127.0.0.1 port=$P1,$P2 user=portcullis dbname=portcullis target_session_attrs=read-write connect_timeout=2"
gateway_config "$T/gateway.yaml" "$(free_port)"
start_gateway "$T/gateway.out"
TOKEN=(--assertion-command "$DEVTOKEN --key '$PKI/idp/uk-border-force/dev-1.key' --issuer uk/border-force --officer BF-LO-4471")
submit() {  # submit ID: one referral; the receipt's message id on stdout when accepted
  "$SUBMIT" --gateway "$GW" --as uk-border-force --pki "$PKI" --envelope "$SRC/adapters/examples/border-force-referral.json" \
    --created-now --message-id "$1" "${TOKEN[@]}" > "$T/submit.out" 2> "$T/submit.err"
}
receipted=()
for i in $(seq 1 20); do
  submit "HA-BEFORE-$i" || { cat "$T/submit.err" >&2; fail "submit before the failover" "a receipt" "refused"; }
  receipted+=("HA-BEFORE-$i")
done

step "the primary crashes; the standby is promoted"
as_pg "$BIN/pg_ctl" -D "$PG/primary" -m immediate -w stop >/dev/null
as_pg "$BIN/pg_ctl" -D "$PG/standby" -w promote >/dev/null
expect_eq "the promoted server is out of recovery" f "$(psql_at "$P2" -c "SELECT pg_is_in_recovery()")"

step "the gateway finds the new primary by itself and accepts again"
accepted_after=0
for i in $(seq 1 30); do
  if submit "HA-AFTER-$i"; then receipted+=("HA-AFTER-$i"); accepted_after=$((accepted_after + 1)); fi
  [ "$accepted_after" -ge 10 ] && break
  sleep 0.1
done
[ "$accepted_after" -ge 10 ] || { cat "$T/gateway.out" >&2; fail "submissions after the promotion" "10 receipts" "$accepted_after"; }
kill -0 "$GW_PID" || fail "the gateway keeps running across the promotion" "running" "exited"
expect_in "$T/gateway.out" "reconnected to the database"

step "every receipt's message is on the new primary, once, with its acceptance record"
for id in "${receipted[@]}"; do
  got=$(psql_at "$P2" -c "SELECT count(*) FROM messages m JOIN audit_records a ON a.idx = m.audit_index WHERE m.message_id = '$id' AND a.line LIKE '%\"action\":\"submit\"%'")
  expect_eq "rows and acceptance record of $id" 1 "$got"
done

step "the audit log verifies through the gateway"
AUDITOR=(--gateway "$GW" --as audit-ico --pki "$PKI" --assertion-command
         "$DEVTOKEN --key '$PKI/idp/audit-ico/dev-1.key' --issuer audit/ico --officer ICO-AUD-0117")
expect_rc 0 "$AUDIT" verify "${AUDITOR[@]}" --public-key "$PKI/audit/signing.pub"
expect_in "$T/out" "hash chain intact"
echo "PASS: ${#receipted[@]} receipts (20 before the promotion, $accepted_after after), none lost; $checks checks"

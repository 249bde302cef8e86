#!/usr/bin/env bash
# Clients reach any replica (issue 15, docs/cluster.md "Clients reach any replica"), with real processes:
# three portcullis-gateway replicas (the shipped config, each its own replica id and state folder) on one
# PostgreSQL database (a fresh one on the shared test cluster, fixture pg_shared).
#  1. The tools take several replicas: --gateway repeated and/or HOST:PORT,HOST:PORT (portcullis-admin,
#     portcullis-submit); a replica that is down is skipped, whichever position it has; an entry that is
#     not HOST:PORT is a usage error (exit 2) naming it; a name that does not resolve is skipped with a
#     warning naming it, and only a list where none resolves fails (exit 3, unreachable).
#  2. Debian's HAProxy (TCP mode) from deploy/haproxy/portcullis.cfg (ports substituted) in front of the
#     three: submissions through it succeed with the mTLS identity intact (the replica records the
#     certificate's party; the client checked the gateway's identity through it), land on more than one
#     replica, and keep succeeding after one replica is stopped. Its TCP health checks cause no refused
#     handshake records. A missing haproxy binary fails the test.
#
#   replica_clients_cli_test.sh ADMIN GATEWAY SUBMIT PKI SOURCE_DIR
set -euo pipefail
[ $# = 5 ] || { echo "usage: $0 ADMIN GATEWAY SUBMIT PKI SOURCE_DIR" >&2; exit 2; }
[ -n "${PORTCULLIS_TEST_PG_DIR:-}" ] || {
  echo "FAIL: needs PostgreSQL: PORTCULLIS_TEST_PG_DIR (ctest fixture pg_shared) is not set" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/support/cli_test_lib.sh"  # $T, $pids, step, fail, expect_*, free_port, wait_for; a fresh database.
ADMIN=$(abs "$1"); GATEWAY=$(abs "$2"); SUBMIT=$(abs "$3"); PKI=$(abs "$4"); SRC=$(abs "$5")
HAPROXY=${PORTCULLIS_HAPROXY:-$(command -v haproxy || true)}
[ -n "$HAPROXY" ] && [ -x "$HAPROXY" ] || {
  echo "FAIL: the haproxy binary is missing (Debian package haproxy; scripts/setup.sh installs it)" >&2; exit 1; }
[ "${PORTCULLIS_STORE_BACKEND:-}" = postgres ] || fail "the replicas share a PostgreSQL database" postgres \
  "${PORTCULLIS_STORE_BACKEND:-sqlite}"

step "three replicas on one PostgreSQL database"
export PORTCULLIS_PKI=$PKI
EP_PORT=$(free_port)  # Europol's endpoint stays down: its deliveries wait, nobody minds.
declare -a ADDR REPLICA_PID
# Each replica's id: the shipped config's ${PORTCULLIS_REPLICA_ID} (cluster.replica_id) or, in a config
# from before it, its commented audit.replica_id line.
for i in 1 2 3; do
  mkdir -p "$T/state-$i/witness"
  if grep -qF 'PORTCULLIS_REPLICA_ID' "$SRC/config/portcullis.yaml"; then
    OFFICER_ASSERTIONS=optional gateway_config "$T/gateway-$i.yaml" "$EP_PORT"
  else
    OFFICER_ASSERTIONS=optional gateway_config "$T/gateway-$i.yaml" "$EP_PORT" \
      '# replica_id: gw-london-1' "replica_id: gw-$i"
  fi
  PORTCULLIS_REPLICA_ID=gw-$i PORTCULLIS_STATE=$T/state-$i start_gateway "$T/gateway-$i.out" "$T/gateway-$i.yaml"
  ADDR[$i]=$GW
  REPLICA_PID[$i]=$GW_PID
done
OPS=(--as ops-operator --pki "$PKI")
DEAD=127.0.0.1:$(free_port)  # Nothing listens there.

step "usage: every --gateway entry must be HOST:PORT, and the error names it"
expect_rc 2 "$ADMIN" stats --gateway "${ADDR[1]}" --gateway gw2 "${OPS[@]}"
expect_in "$T/err" 'gateway address "gw2" is not HOST:PORT'
expect_rc 2 "$ADMIN" stats --gateway "${ADDR[1]},127.0.0.1:70000" "${OPS[@]}"
expect_in "$T/err" 'gateway address "127.0.0.1:70000" has a bad port'
expect_rc 2 "$SUBMIT" --gateway "${ADDR[1]}" --gateway '::1:8443' --as uk-border-force --envelope x.json
expect_in "$T/err" 'an IPv6 literal goes in brackets'
expect_rc 0 "$ADMIN" stats --help
expect_in "$T/out" "repeat --gateway"

step "two --gateway: a replica that is down is skipped, in either position"
for order in "$DEAD ${ADDR[1]}" "${ADDR[2]} $DEAD"; do
  set -- $order
  for _ in 1 2 3; do
    expect_rc 0 "$ADMIN" stats --gateway "$1" --gateway "$2" "${OPS[@]}"
    expect_rc 0 "$ADMIN" stats --gateway "$1,$2" "${OPS[@]}"
  done
done
step "a name that does not resolve (a retired replica's DNS entry) is skipped with a warning; none resolving fails"
expect_rc 0 "$ADMIN" stats --gateway no-such-replica.invalid:8443 --gateway "${ADDR[1]}" "${OPS[@]}"
expect_in "$T/err" 'warning: cannot resolve gateway address "no-such-replica.invalid:8443"'
expect_rc 3 "$ADMIN" stats --gateway no-such-replica.invalid:8443,gone.invalid:8443 "${OPS[@]}"
expect_in "$T/err" 'no gateway address resolves'
n=0
for gws in "--gateway $DEAD --gateway ${ADDR[3]}" "--gateway ${ADDR[1]},$DEAD,${ADDR[2]}"; do
  n=$((n + 1))
  # shellcheck disable=SC2086  # $gws is the flags, split on purpose.
  expect_rc 0 "$SUBMIT" $gws --as uk-border-force --pki "$PKI" \
    --envelope "$SRC/adapters/examples/border-force-referral.json" --message-id "BF-CLI-RR-$n" --created-now
done

step "HAProxy (TCP mode) from deploy/haproxy/portcullis.cfg in front of the three"
HP_PORT=$(free_port)
python3 - "$SRC/deploy/haproxy/portcullis.cfg" "$T/haproxy.cfg" \
  'log /dev/log local0' 'log stderr format raw local0' \
  'bind 0.0.0.0:8443' "bind 127.0.0.1:$HP_PORT" \
  'server gw-1 10.0.0.11:8443' "server gw-1 ${ADDR[1]}" \
  'server gw-2 10.0.0.12:8443' "server gw-2 ${ADDR[2]}" \
  'server gw-3 10.0.0.13:8443' "server gw-3 ${ADDR[3]}" <<'PY'
import sys
src, dst, *pairs = sys.argv[1:]
text = open(src).read()
for old, new in zip(pairs[::2], pairs[1::2]):
    if text.count(old) != 1:
        sys.exit("deploy/haproxy/portcullis.cfg: expected exactly one '%s'" % old)
    text = text.replace(old, new)
open(dst, 'w').write(text)
PY
expect_rc 0 "$HAPROXY" -c -f "$T/haproxy.cfg"
"$HAPROXY" -db -f "$T/haproxy.cfg" > "$T/haproxy.out" 2>&1 & HP_PID=$!
pids+=("$HP_PID")
HP=127.0.0.1:$HP_PORT
for _ in $(seq 100); do
  "$ADMIN" stats --gateway "$HP" "${OPS[@]}" > /dev/null 2>&1 && break
  kill -0 "$HP_PID" 2>/dev/null || fail "haproxy runs" "running" "$(cat "$T/haproxy.out")"
  sleep 0.1
done
submit_via_haproxy() {  # submit_via_haproxy PREFIX COUNT: each a new process, so a new TCP connection.
  local k
  for k in $(seq "$2"); do
    expect_rc 0 "$SUBMIT" --gateway "$HP" --as uk-border-force --pki "$PKI" \
      --envelope "$SRC/adapters/examples/border-force-referral.json" --message-id "$1-$k" --created-now
    expect_in "$T/out" "$1-$k"
  done
}
submit_via_haproxy BF-HAPROXY 9

step "one replica stopped: submissions through HAProxy keep succeeding, on the other two"
kill -TERM "${REPLICA_PID[2]}"
wait "${REPLICA_PID[2]}" || true
submit_via_haproxy BF-HAPROXY-AFTER 9
expect_rc 0 "$ADMIN" stats --gateway "$HP" "${OPS[@]}"

step "the audit records: replicas, identities, no refused handshakes from the health checks"
for i in 1 3; do kill -TERM "${REPLICA_PID[$i]}"; wait "${REPLICA_PID[$i]}" || true; done  # Flush handshake counts.
audit_records "$T/records"
python3 - "$T/records" <<'EOF' || fail "audit records of the calls through HAProxy and round robin" "see above" "mismatch"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
subs = {r["message_id"]: r for r in recs if r.get("action") == "submit" and r.get("outcome") == "accepted"}
def replicas(prefix):
    return [subs[m].get("replica_id") for m in sorted(subs) if m.rsplit("-", 1)[0] == prefix]
before, after = replicas("BF-HAPROXY"), replicas("BF-HAPROXY-AFTER")
print("through HAProxy, before the stop:", before, "after:", after)
assert len(before) == 9 and len(after) == 9, (before, after)
assert len(set(before)) > 1, "every connection through HAProxy went to one replica: %s" % before
assert "gw-2" not in after, after
assert set(after) == {"gw-1", "gw-3"}, after
for m, r in subs.items():
    assert r.get("actor_party") == "uk/border-force", r   # The client certificate, through HAProxy.
    assert r.get("replica_id") in ("gw-1", "gw-2", "gw-3"), r
assert subs["BF-CLI-RR-1"]["replica_id"] == "gw-3", subs["BF-CLI-RR-1"]
assert subs["BF-CLI-RR-2"]["replica_id"] in ("gw-1", "gw-2"), subs["BF-CLI-RR-2"]
hs = [r for r in recs if r.get("action") == "handshake"]
assert not hs, "refused handshakes recorded: %s" % hs
stats = [r for r in recs if r.get("action") == "delivery_stats"]
assert {r.get("replica_id") for r in stats} >= {"gw-1", "gw-2"}, "stats with a dead replica listed"
EOF
echo "OK: $checks checks"

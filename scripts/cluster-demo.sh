#!/usr/bin/env bash
# Three gateway replicas on one PostgreSQL database (docs/cluster.md): a referral survives the kill of the
# replica that accepted it. Border Force's officer sends a referral to replica gw-1 while Europol's endpoint
# is down, so it waits in the database; gw-1 is SIGKILLed; Europol's endpoint comes up and another replica
# delivers the referral; Border Force tracks it through gw-2, an auditor reads its story through gw-3 (which
# replica accepted it, which delivered it), gw-1 rejoins, and the log verifies through it.
#   bash scripts/cluster-demo.sh          a throw-away PostgreSQL (scripts/pg-test-cluster.sh)
#   PORTCULLIS_STORE_DSN=... bash scripts/cluster-demo.sh    an empty database of your own
# Needs the build (the README's first command). Ports: replicas 8443-8445, Europol's endpoint 9443.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
RUN=cluster-run
rm -rf "$RUN"; mkdir -p "$RUN/witness" "$RUN/europol"
bash certs/gen-dev-pki.sh "$B/pki" --force >/dev/null
export PORTCULLIS_PKI="$PWD/$B/pki" PORTCULLIS_WITNESS="$PWD/$RUN/witness" PORTCULLIS_STORE_BACKEND=postgres
export PATH="$PWD/$B/tools:$PATH"   # portcullis-devtoken: the configs' assertion_command (dev stand-in IdP)
declare -A pid
PG=""
cleanup() {
  for p in "${pid[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  [ -z "$PG" ] || bash scripts/pg-test-cluster.sh stop "$PG" >/dev/null || true
}
trap cleanup EXIT
if [ -z "${PORTCULLIS_STORE_DSN:-}" ]; then
  PG=$(mktemp -d /tmp/portcullis-cluster-pg.XXXXXX); rmdir "$PG"
  echo "== starting a throw-away PostgreSQL: the one database the three replicas share"
  PORTCULLIS_STORE_DSN=$(bash scripts/pg-test-cluster.sh start "$PG"); export PORTCULLIS_STORE_DSN
fi
port() { echo $((8442 + $1)); }
start_replica() {  # start_replica N: replica gw-N on 127.0.0.1:844(2+N), its own state folder
  local n=$1 log="$RUN/gw-$1.log" before
  mkdir -p "$RUN/gw-$n"
  before=$(grep -c listening "$log" 2>/dev/null || true)
  PORTCULLIS_REPLICA_ID="gw-$n" PORTCULLIS_LISTEN="127.0.0.1:$(port "$n")" PORTCULLIS_STATE="$PWD/$RUN/gw-$n" \
    "$B/gateway/service/portcullis-gateway" --config config/portcullis.yaml >> "$log" 2>&1 &
  pid[$n]=$!
  for _ in $(seq 100); do [ "$(grep -c listening "$log")" -gt "${before:-0}" ] && return 0; sleep 0.1; done
  echo "replica gw-$n did not start:"; cat "$log"; return 1
}
echo "== starting replicas gw-1, gw-2, gw-3 on ports 8443, 8444, 8445"
for n in 1 2 3; do start_replica "$n"; grep listening "$RUN/gw-$n.log"; done
L="$B/tools/liaison"
BF=(--config adapters/config/border-force.yaml)   # officer BF-LO-4471 and a justification come from the file
MSG=BF-REF-2026-004512-01
echo "== Europol's endpoint is down. Border Force's officer sends the referral to gw-1"
PORTCULLIS_GATEWAY=127.0.0.1:8443 "$L" send adapters/border_force/examples/gravelines-rib-2026-004512.json "${BF[@]}"
PORTCULLIS_GATEWAY=127.0.0.1:8443 "$L" track "$MSG" "${BF[@]}"
echo "== gw-1, the replica that accepted it, is killed (SIGKILL: no goodbye, its leases simply expire)"
kill -KILL "${pid[1]}"; wait "${pid[1]}" 2>/dev/null || true; unset 'pid[1]'
echo "== Europol's endpoint comes up; a surviving replica takes over the destination and delivers"
PORTCULLIS_STATE="$PWD/$RUN/europol" "$B/adapters/portcullis-adapter" --config adapters/config/europol.yaml run \
  > "$RUN/europol.log" 2>&1 & pid[europol]=$!
INBOX="$RUN/europol/inboxes/europol/native"
for _ in $(seq 300); do [ -n "$(ls "$INBOX" 2>/dev/null)" ] && break; sleep 0.1; done
[ -n "$(ls "$INBOX" 2>/dev/null)" ] || { echo "the referral did not reach Europol's inbox"; cat "$RUN"/*.log; exit 1; }
ls "$INBOX"
echo "== Border Force's officer tracks the referral through gw-2"
PORTCULLIS_GATEWAY=127.0.0.1:8444 "$L" track "$MSG" "${BF[@]}"
AUDIT="$B/tools/portcullis-audit"
ICO=(--as audit-ico --pki "$PORTCULLIS_PKI"
     --assertion-command 'portcullis-devtoken --key "$PORTCULLIS_PKI/idp/audit-ico/dev-1.key" --issuer audit/ico --officer ICO-AUD-0117')
echo "== an auditor reads the referral's story through gw-3: which replica accepted it, which delivered it"
"$AUDIT" show "$MSG" --gateway 127.0.0.1:8445 "${ICO[@]}" --reason "demo: cluster failover review"
echo "== gw-1 restarts with an empty state folder and rejoins; the auditor verifies the whole log through it"
rm -rf "${RUN:?}/gw-1"; start_replica 1
"$AUDIT" verify --gateway 127.0.0.1:8443 "${ICO[@]}" --public-key "$PORTCULLIS_PKI/audit/signing.pub" \
  --witness "$PORTCULLIS_WITNESS/checkpoints.log"
# Who accepted it and who delivered it, from the records' replica_id (the same story, as JSON).
"$AUDIT" show "$MSG" --gateway 127.0.0.1:8444 "${ICO[@]}" --reason "demo: cluster failover check" --json > "$RUN/story.json"
read -r ACCEPTED_BY DELIVERED_BY < <(python3 -c '
import json, sys
events = json.load(open(sys.argv[1]))["events"]
def by(action, outcome):
    return next((e.get("replica_id", "?") for e in events if e["action"] == action and e["outcome"] == outcome), "-")
print(by("submit", "accepted"), by("deliver", "delivered"))' "$RUN/story.json")
if [ "$ACCEPTED_BY" = gw-1 ] && [ "$DELIVERED_BY" != - ] && [ "$DELIVERED_BY" != gw-1 ]; then
  echo "OK: the referral accepted by gw-1 was delivered by $DELIVERED_BY after gw-1 was killed"
else
  echo "unexpected story: accepted by '${ACCEPTED_BY}', delivered by '${DELIVERED_BY}'"; exit 1
fi

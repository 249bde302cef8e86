#!/usr/bin/env bash
# Demo on embedded defaults: dev PKI, the gateway, Europol's adapter (push) and
# Border Force's adapter (pull); Border Force's liaison officer sends a referral
# from the Border Force example, Europol's officer accepts it and replies, the
# reply arrives in Border Force's inbox, both are tracked; then an auditor's view.
# Every officer is vouched for by its agency: each call carries an assertion that
# the party's identity provider signed (here the development stand-in,
# portcullis-devtoken, with the dev PKI's per-party key; docs/officer-identity.md).
#   bash scripts/demo.sh                                      SQLite + the file audit log (embedded default)
#   PORTCULLIS_STORE_BACKEND=postgres bash scripts/demo.sh    the same on PostgreSQL: a throw-away cluster
#     (scripts/pg-test-cluster.sh) unless PORTCULLIS_STORE_DSN names a database (docs/storage.md)
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
RUN=demo-run
rm -rf "$RUN"; mkdir -p "$RUN/state" "$RUN/witness"   # witness: checkpoint copies another party keeps
bash certs/gen-dev-pki.sh "$B/pki" --force >/dev/null
export PORTCULLIS_PKI="$PWD/$B/pki" PORTCULLIS_STATE="$PWD/$RUN/state" PORTCULLIS_WITNESS="$PWD/$RUN/witness"
export PATH="$PWD/$B/tools:$PATH"   # portcullis-devtoken: the party configs' assertion_command (dev stand-in IdP)
pids=()
PG=""
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  [ -z "$PG" ] || bash scripts/pg-test-cluster.sh stop "$PG" >/dev/null || true
}
trap cleanup EXIT
if [ "${PORTCULLIS_STORE_BACKEND:-sqlite}" = postgres ] && [ -z "${PORTCULLIS_STORE_DSN:-}" ]; then
  PG=$(mktemp -d /tmp/portcullis-demo-pg.XXXXXX); rmdir "$PG"
  echo "== starting a throw-away PostgreSQL for the store and the audit trail"
  PORTCULLIS_STORE_DSN=$(bash scripts/pg-test-cluster.sh start "$PG"); export PORTCULLIS_STORE_DSN
fi
echo "== checking configuration"
"$B/gateway/service/portcullis-gateway" --config config/portcullis.yaml --check-config
echo "== starting gateway"
"$B/gateway/service/portcullis-gateway" --config config/portcullis.yaml > "$RUN/gateway.log" 2>&1 & pids+=($!)
GW=127.0.0.1:8443
for i in $(seq 50); do grep -q listening "$RUN/gateway.log" && break; sleep 0.1; done
cat "$RUN/gateway.log"
echo "== starting Europol's adapter: push endpoint on 9443, inbox in Europol's own record format"
"$B/adapters/portcullis-adapter" --config adapters/config/europol.yaml run > "$RUN/europol.log" 2>&1 & pids+=($!)
echo "== starting Border Force's adapter: pull stream from the gateway, inbox in Border Force's format"
"$B/adapters/portcullis-adapter" --config adapters/config/border-force.yaml run > "$RUN/border-force.log" 2>&1 & pids+=($!)
for i in $(seq 50); do grep -q receiving "$RUN/europol.log" && grep -q receiving "$RUN/border-force.log" && break; sleep 0.1; done
cat "$RUN/europol.log" "$RUN/border-force.log"
L="$B/tools/liaison"
BF=(--config adapters/config/border-force.yaml)   # officer BF-LO-4471 and a justification come from the file
EU=(--config adapters/config/europol.yaml)        # officer EUROPOL-UKLB-07
MSG=BF-REF-2026-004512-01
echo "== Border Force's liaison officer sends the referral from the Border Force example"
"$L" send adapters/border_force/examples/gravelines-rib-2026-004512.json "${BF[@]}" | tee "$RUN/send.out"
INDEX=$(sed -n 's/.* audit index \([0-9]*\) .*/\1/p' "$RUN/send.out")
for i in $(seq 100); do [ -n "$(ls "$PORTCULLIS_STATE/inboxes/europol/native" 2>/dev/null)" ] && break; sleep 0.1; done
echo "== Europol's officer lists the inbox and reads the referral (rendered in Europol's format)"
"$L" inbox "${EU[@]}"
"$L" inbox show "$MSG" "${EU[@]}" | sed -n 1,30p; echo "   ..."
echo "== Europol's officer accepts it and replies"
"$L" ack "$MSG" "${EU[@]}"
"$L" reply "$MSG" --message-id EUR-UKLB-2026-001311 "${EU[@]}" \
  --answer "Europol holds three reports linking 'Kaka Shwan' to engine purchases in Germany; AP Migrant Smuggling will open a cross-match. Please send the GPS unit's extraction."
echo "== Border Force's officer sees the reply arrive in the inbox (rendered in Border Force's format)"
"$L" inbox --follow --timeout 3 "${BF[@]}"
"$L" inbox show EUR-UKLB-2026-001311 "${BF[@]}"
echo "== Border Force's officer tracks both messages and the whole case"
"$L" track "$MSG" "${BF[@]}"
"$L" track EUR-UKLB-2026-001311 --from eu/europol "${BF[@]}"
"$L" case BF-2026-004512 "${BF[@]}"
AUDIT="$B/tools/portcullis-audit"
# The auditor's and Border Force's officers, vouched for by their agencies' (dev) identity providers.
ICO=(--gateway "$GW" --as audit-ico --pki "$PORTCULLIS_PKI"
     --assertion-command 'portcullis-devtoken --key "$PORTCULLIS_PKI/idp/audit-ico/dev-1.key" --issuer audit/ico --officer ICO-AUD-0117')
BFO=(--gateway "$GW" --as uk-border-force --pki "$PORTCULLIS_PKI"
     --assertion-command 'portcullis-devtoken --key "$PORTCULLIS_PKI/idp/uk-border-force/dev-1.key" --issuer uk/border-force --officer BF-LO-4471')
echo "== calls naming an officer their agency did not vouch for are refused (and recorded): none, then another officer's"
SUBMIT=("$B/adapters/portcullis-submit" --gateway "$GW" --as uk-border-force --pki "$PORTCULLIS_PKI"
        --envelope adapters/examples/border-force-referral.json --created-now)   # originating officer BF-LO-4471
"${SUBMIT[@]}" --message-id BF-REF-DEMO-UNVOUCHED || true
"${SUBMIT[@]}" --message-id BF-REF-DEMO-OTHER-OFFICER --assertion-command \
  'portcullis-devtoken --key "$PORTCULLIS_PKI/idp/uk-border-force/dev-1.key" --issuer uk/border-force --officer BF-LO-0001' || true
echo "== an auditor (ICO) asks the gateway for the exchange's whole story (the query is itself recorded)"
"$AUDIT" show "$MSG" "${ICO[@]}" --reason "demo: s.62 log review"
echo "== the auditor proves the log is complete and unaltered through the gateway (signed checkpoint + consistency)"
"$AUDIT" verify "${ICO[@]}" --public-key "$PORTCULLIS_PKI/audit/signing.pub" \
  --witness "$PORTCULLIS_WITNESS/checkpoints.log"
echo "== Border Force proves its receipt's record (audit index $INDEX) is in the signed log"
"$AUDIT" prove "$INDEX" "${BFO[@]}" --public-key "$PORTCULLIS_PKI/audit/signing.pub"
echo "== stopping the gateway (it signs a final checkpoint), then verifying the records offline"
LOG="$PORTCULLIS_STATE/audit.log"
WITNESS=(--witness "$PORTCULLIS_WITNESS/checkpoints.log")
if [ "${PORTCULLIS_STORE_BACKEND:-sqlite}" = postgres ]; then
  # The trail is in the database: the auditor exports it through the gateway first (every record as
  # stored, with a signed checkpoint covering them). The witness was checked online above; its later
  # checkpoints (the gateway signs one more at shutdown) cover records the export was taken before.
  LOG="$RUN/audit-export.log"; WITNESS=()
  "$AUDIT" export "${ICO[@]}" --format jsonl --out "$LOG" --reason "demo: export for offline verification"
fi
kill -TERM "${pids[0]}"; wait "${pids[0]}" || true
"$AUDIT" verify --log "$LOG" --public-key "$PORTCULLIS_PKI/audit/signing.pub" "${WITNESS[@]}"
echo "== the audit log itself: $LOG (one hash-chained JSON line per action)"
head -c 600 "$LOG"; echo " ..."

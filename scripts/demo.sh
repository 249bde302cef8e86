#!/usr/bin/env bash
# Demo on embedded defaults: dev PKI, the gateway, the Europol endpoint (push),
# and Border Force submitting a case referral that is delivered and acknowledged.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
RUN=demo-run
rm -rf "$RUN"; mkdir -p "$RUN/state" "$RUN/europol-inbox"
bash certs/gen-dev-pki.sh "$B/pki" --force >/dev/null
export PORTCULLIS_PKI="$PWD/$B/pki" PORTCULLIS_STATE="$PWD/$RUN/state"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
echo "== checking configuration"
"$B/gateway/service/portcullis-gateway" --config config/portcullis.yaml --check-config
echo "== starting gateway"
"$B/gateway/service/portcullis-gateway" --config config/portcullis.yaml > "$RUN/gateway.log" 2>&1 & pids+=($!)
GW=127.0.0.1:8443
for i in $(seq 50); do grep -q listening "$RUN/gateway.log" && break; sleep 0.1; done
cat "$RUN/gateway.log"
echo "== starting Europol partner endpoint (push mode)"
"$B/adapters/portcullis-partner-endpoint" --listen 127.0.0.1:9443 --pki "$PORTCULLIS_PKI" --party eu-europol \
  --inbox "$RUN/europol-inbox" --gateway "$GW" --officer EUROPOL-LO-17 > "$RUN/europol.log" 2>&1 & pids+=($!)
sleep 0.5
echo "== Border Force submits a case referral to Europol"
"$B/adapters/portcullis-submit" --gateway "$GW" --pki "$PORTCULLIS_PKI" --party uk-border-force \
  --envelope adapters/examples/border-force-referral.json --created-now --wait 15
echo "== Europol endpoint output"
cat "$RUN/europol.log"
echo "== inbox: $(ls "$RUN/europol-inbox")"
AUDIT="$B/tools/portcullis-audit"
MSG=BF-REF-2026-004512-01
echo "== an auditor (ICO) asks the gateway for the exchange's whole story (the query is itself recorded)"
"$AUDIT" show "$MSG" --gateway "$GW" --as audit-ico --pki "$PORTCULLIS_PKI" --reason "demo: s.62 log review"
echo "== the auditor proves the log is complete and unaltered through the gateway (signed checkpoint + consistency)"
"$AUDIT" verify --gateway "$GW" --as audit-ico --pki "$PORTCULLIS_PKI" --public-key "$PORTCULLIS_PKI/audit/signing.pub"
echo "== Border Force proves its receipt's record (audit index 0) is in the signed log"
"$AUDIT" prove 0 --gateway "$GW" --as uk-border-force --pki "$PORTCULLIS_PKI" --public-key "$PORTCULLIS_PKI/audit/signing.pub"
echo "== stopping the gateway (it signs a final checkpoint), then verifying the files offline"
kill -TERM "${pids[0]}"; wait "${pids[0]}" || true
"$AUDIT" verify --log "$PORTCULLIS_STATE/audit.log" --public-key "$PORTCULLIS_PKI/audit/signing.pub"
echo "== the audit log itself: $PORTCULLIS_STATE/audit.log (one hash-chained JSON line per action)"
head -c 600 "$PORTCULLIS_STATE/audit.log"; echo " ..."

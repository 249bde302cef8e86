#!/usr/bin/env bash
# Issue 13 item 5, end to end: clients obtain and send officer assertions. A real gateway (shipped config,
# port 0) where uk/border-force, uk/nca, eu/europol and ops/operator are `officer_assertions: required`, their
# dev identity providers' keys from the dev PKI (idp/<stem>/dev-1.key signs, officer-keys/<stem>/ verifies),
# portcullis-devtoken as the agency's token command:
#   portcullis-submit: no assertion -> ASSERTION_REQUIRED (1); --assertion-file, PORTCULLIS_ASSERTION and
#     --assertion-command (PORTCULLIS_OFFICER/PARTY/AUDIENCE) accepted; precedence file > command >
#     environment; a missing file and a failing command say so (1); a token for another officer ->
#     OFFICER_MISMATCH (1);
#   portcullis-submit --wait: the command runs for the Submit and each Track (jti tokens are single use);
#   portcullis-admin retry: --officer required only without an assertion;
#   portcullis-adapter submit: two records, one officer, jti tokens from the command: fetched per call, both
#     accepted (a reused jti would be ASSERTION_REPLAYED);
#   portcullis-adapter run (pull + outbox, assertion_command): while the command fails the outbox file waits
#     (the error named) and the daemon still receives and confirms; then records of two officers are both
#     accepted, the command ran once per officer with PORTCULLIS_OFFICER/PARTY/AUDIENCE, the audit log says
#     officer_verified; receiving and confirming one more delivery runs the command not at all;
#     a delivery NCA's format cannot render is rejected with the assertion of system:adapter;
#   the adapter config's bad assertion keys are located errors (exit 1, file:line:col: key: rule);
#   portcullis-adapter run (push, auto_accept): acknowledgements carry system:auto-accept's assertion;
#   portcullis-partner-endpoint: its acknowledgements carry --assertion-command's / --assertion-file's token;
#   liaison: --assertion-file and the config's assertion_command; without one ASSERTION_REQUIRED.
#
#   assertion_cli_test.sh SUBMIT GATEWAY ADAPTER LIAISON DEVTOKEN ADMIN AUDIT ENDPOINT PKI SOURCE_DIR
set -euo pipefail
[ $# = 10 ] || { echo "usage: $0 SUBMIT GATEWAY ADAPTER LIAISON DEVTOKEN ADMIN AUDIT ENDPOINT PKI SOURCE_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/support/cli_test_lib.sh"  # $T, $pids, $checks, step, fail, expect_*, free_port, wait_for.
SUBMIT=$(abs "$1"); GATEWAY=$(abs "$2"); ADAPTER=$(abs "$3"); LIAISON=$(abs "$4"); DEVTOKEN=$(abs "$5")
ADMIN=$(abs "$6"); AUDIT=$(abs "$7"); ENDPOINT=$(abs "$8"); PKI=$(abs "$9"); SRC=$(abs "${10}")
unset PORTCULLIS_CONFIG PORTCULLIS_OFFICER PORTCULLIS_JUSTIFICATION PORTCULLIS_GATEWAY PORTCULLIS_ASSERTION PORTCULLIS_PARTY
AUD=spiffe://exchange.gov.uk/gateway

step "--help documents the assertion flags"
for cmd in "$SUBMIT" "$ADMIN stats" "$AUDIT search"; do
  read -r -a words <<< "$cmd"
  expect_rc 0 "${words[@]}" --help
  expect_in "$T/out" "--assertion-file"
  expect_in "$T/out" "--assertion-command"
  expect_in "$T/out" "PORTCULLIS_ASSERTION"
done
expect_rc 0 "$LIAISON" --help
expect_in "$T/out" "--assertion-file"

step "gateway: the shipped config (every party requires officer assertions, keys from the test PKI)"
mkdir -p "$T/state/witness"
export PORTCULLIS_PKI=$PKI PORTCULLIS_STATE=$T/state
EP_PORT=$(free_port)
gateway_config "$T/gateway.yaml" "$EP_PORT"
start_gateway "$T/gateway.out"

# mint PARTY STEM OFFICER [devtoken flags...]: a token of PARTY's dev identity provider.
mint() {
  local party=$1 stem=$2 officer=$3
  shift 3
  "$DEVTOKEN" --key "$PKI/idp/$stem/dev-1.key" --kid dev-1 --issuer "$party" --audience "$AUD" --officer "$officer" "$@"
}
# Europol's push endpoint, acknowledging as its officer with an assertion command that fails.
EP=(--listen "127.0.0.1:$EP_PORT" --gateway "$GW" --pki "$PKI" --as eu-europol --inbox "$T/europol"
    --officer EUROPOL-UKLB-07)
"$ENDPOINT" "${EP[@]}" --assertion-command 'echo "europol idp down" >&2; exit 6' > "$T/ep1.out" 2>&1 & EP_PID=$!
pids+=("$EP_PID")
wait_for "$T/ep1.out" "listening on" "$EP_PID" || fail "partner endpoint starts" "listening on" "$(cat "$T/ep1.out")"
BF=(--gateway "$GW" --pki "$PKI" --as uk-border-force --envelope "$SRC/adapters/examples/border-force-referral.json"
    --created-now)  # originating_officer BF-LO-4471, to eu/europol

step "portcullis-submit: without an assertion, ASSERTION_REQUIRED"
expect_rc 1 "$SUBMIT" "${BF[@]}" --message-id AS-NONE-1
expect_in "$T/err" "ASSERTION_REQUIRED"
expect_rc 1 "$SUBMIT" "${BF[@]}" --message-id AS-NONE-2 --json
expect_in "$T/out" '"reason":"ASSERTION_REQUIRED"'

step "portcullis-submit --assertion-file (read at each call; a jti-less token)"
mint uk/border-force uk-border-force BF-LO-4471 --no-jti > "$T/bf.jws"
expect_rc 0 "$SUBMIT" "${BF[@]}" --message-id AS-FILE-1 --assertion-file "$T/bf.jws"
expect_in "$T/out" "accepted: AS-FILE-1"
expect_rc 1 "$SUBMIT" "${BF[@]}" --message-id AS-FILE-2 --assertion-file "$T/no-such.jws"
expect_in "$T/err" "$T/no-such.jws"
: > "$T/empty.jws"
expect_rc 1 "$SUBMIT" "${BF[@]}" --message-id AS-FILE-3 --assertion-file "$T/empty.jws"
expect_in "$T/err" "assertion file $T/empty.jws gave no officer assertion"

step "PORTCULLIS_ASSERTION (the token itself); flags come first"
PORTCULLIS_ASSERTION=$(mint uk/border-force uk-border-force BF-LO-4471) \
  expect_rc 0 "$SUBMIT" "${BF[@]}" --message-id AS-ENV-1
expect_in "$T/out" "accepted: AS-ENV-1"
PORTCULLIS_ASSERTION=not.a.token expect_rc 0 "$SUBMIT" "${BF[@]}" --message-id AS-ENV-2 --assertion-file "$T/bf.jws"
PORTCULLIS_ASSERTION=not.a.token expect_rc 1 "$SUBMIT" "${BF[@]}" --message-id AS-ENV-3
expect_in "$T/err" "ASSERTION_MALFORMED"

step "portcullis-submit --assertion-command (PORTCULLIS_OFFICER, PORTCULLIS_PARTY, PORTCULLIS_AUDIENCE in its environment)"
# The agency's hook: here the dev identity provider; officer, party and audience only from the environment.
BF_CMD="echo \"\$PORTCULLIS_OFFICER \$PORTCULLIS_PARTY \$PORTCULLIS_AUDIENCE\" >> '$T/bf-runs'; '$DEVTOKEN' --key '$PKI/idp/uk-border-force/dev-1.key' --kid dev-1 --issuer uk/border-force --audience \"\$PORTCULLIS_AUDIENCE\" --officer \"\$PORTCULLIS_OFFICER\""
# PORTCULLIS_PARTY is the envelope's sender (the gateway refuses any other); without one it is not guessed.
python3 - "$SRC/adapters/examples/border-force-referral.json" "$T/bf-with-sender.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
e["sender"] = "uk/border-force"
json.dump(e, open(sys.argv[2], "w"))
PY
PORTCULLIS_ASSERTION=not.a.token expect_rc 0 "$SUBMIT" "${BF[@]}" --envelope "$T/bf-with-sender.json" \
  --message-id AS-CMD-1 --assertion-command "$BF_CMD"
expect_in "$T/out" "accepted: AS-CMD-1"
expect_eq "the command's environment" "BF-LO-4471 uk/border-force $AUD" "$(cat "$T/bf-runs")"
: > "$T/bf-runs"
expect_rc 0 "$SUBMIT" "${BF[@]}" --message-id AS-CMD-3 --assertion-command "$BF_CMD"
expect_eq "the command's environment (no sender in the envelope)" "BF-LO-4471  $AUD" "$(cat "$T/bf-runs")"
# The file comes before the command.
expect_rc 1 "$SUBMIT" "${BF[@]}" --message-id AS-CMD-2 --assertion-file "$T/empty.jws" --assertion-command "$BF_CMD"
expect_in "$T/err" "$T/empty.jws"

step "portcullis-partner-endpoint: acknowledgements carry its officer's assertion"
wait_for "$T/ep1.out" "could not acknowledge" "$EP_PID" || fail "the endpoint's acknowledgement fails" \
  "could not acknowledge" "$(cat "$T/ep1.out")"
expect_re "$T/ep1.out" "could not acknowledge AS-[A-Z]+-1: UNAVAILABLE: officer assertion: the assertion command exited 6: europol idp down"
kill -TERM "$EP_PID"; wait "$EP_PID" || true
mint eu/europol eu-europol EUROPOL-UKLB-07 --no-jti > "$T/europol.jws"
"$ENDPOINT" "${EP[@]}" --assertion-file "$T/europol.jws" > "$T/ep2.out" 2>&1 & EP_PID=$!
pids+=("$EP_PID")
wait_for "$T/ep2.out" "listening on" "$EP_PID" || fail "partner endpoint starts" "listening on" "$(cat "$T/ep2.out")"
expect_rc 0 "$SUBMIT" "${BF[@]}" --message-id AS-EP-1 --assertion-file "$T/bf.jws"
wait_for "$T/ep2.out" "acknowledged AS-EP-1" "$EP_PID" || fail "Europol acknowledges with its assertion" \
  "acknowledged AS-EP-1 (ACCEPT) as officer EUROPOL-UKLB-07" "$(cat "$T/ep2.out")"

step "portcullis-submit --wait: Submit and every Track carry a fresh jti token from the command"
: > "$T/bf-runs"
expect_rc 0 "$SUBMIT" "${BF[@]}" --message-id AS-WAIT-1 --assertion-command "$BF_CMD" --wait 20
expect_in "$T/out" "acknowledged by every recipient"
runs=$(grep -c . "$T/bf-runs")
checks=$((checks + 1))
[ "$runs" -ge 2 ] || fail "the command ran for the Submit and for each Track" ">= 2 runs" "$runs"

step "a failing command: its exit status and the first line of its stderr"
expect_rc 1 "$SUBMIT" "${BF[@]}" --message-id AS-FAIL-1 --assertion-command 'echo "idp unreachable: 10.0.0.9" >&2; echo more >&2; exit 4'
expect_in "$T/err" "officer assertion: the assertion command exited 4: idp unreachable: 10.0.0.9"
expect_not_in "$T/err" "Getting metadata from plugin"
expect_not_in "$T/err" "more"

step "a token for another officer: OFFICER_MISMATCH"
mint uk/border-force uk-border-force BF-LO-9999 --no-jti > "$T/other.jws"
expect_rc 1 "$SUBMIT" "${BF[@]}" --message-id AS-MISMATCH-1 --assertion-file "$T/other.jws"
expect_in "$T/err" "OFFICER_MISMATCH"

step "portcullis-admin: with an assertion, --officer may be left to the gateway (its verified officer)"
ADM=(retry NO-SUCH-DELIVERY --reason "assertion test" --gateway "$GW" --pki "$PKI" --as ops-operator)
expect_rc 2 "$ADMIN" "${ADM[@]}"
expect_in "$T/err" "--officer is required"
mint ops/operator ops-operator OPS-0042 --no-jti > "$T/ops.jws"
expect_rc 1 "$ADMIN" "${ADM[@]}" --assertion-file "$T/ops.jws"   # Reaches the gateway, which answers.
expect_not_in "$T/err" "--officer is required"

# NCA's adapter config; $1 = extra lines.
nca_config() {
  cat > "$T/nca.yaml" <<YAML
party: uk/nca
format: nca
gateway: $GW
tls: { pki: $PKI, stem: uk-nca }
inbox: $T/nca-inbox
outbox: $T/nca-outbox
receive: { mode: pull }
officer: NCA-10482
justification: "Liaison duty: organised immigration crime"
$1
YAML
}
# The agency's hook as a script: fails while $T/idp-down exists; logs each run's environment.
cat > "$T/idp.sh" <<SH
#!/bin/sh
echo "\$PORTCULLIS_OFFICER \$PORTCULLIS_PARTY \$PORTCULLIS_AUDIENCE" >> "$T/nca-runs"
if [ -e "$T/idp-down" ]; then echo "identity provider down" >&2; exit 5; fi
exec "$DEVTOKEN" --key "$PKI/idp/uk-nca/dev-1.key" --kid dev-1 --issuer "\$PORTCULLIS_PARTY" \
  --audience "\$PORTCULLIS_AUDIENCE" --officer "\$PORTCULLIS_OFFICER"
SH
chmod +x "$T/idp.sh"
# wait_confirmed MESSAGE_ID: the gateway's audit log records NCA's Confirm through the delivery of MESSAGE_ID
# that the daemon reported stored (10 s).
wait_confirmed() {
  local id _
  id=$(sed -n "s/.*stored delivery \([^:]*\): .* $1 .*/\1/p" "$T/run.out" | head -1)
  [ -n "$id" ] || fail "the delivery id of $1" "stored delivery ID: ... $1" "$(cat "$T/run.out")"
  for _ in $(seq 200); do
    audit_records "$T/records"
    grep -F "\"through $id: " "$T/records" | grep -qF '"action":"confirm"' && { checks=$((checks + 1)); return 0; }
    sleep 0.05
  done
  fail "NCA confirms $1 (delivery $id)" "an audit record: confirm through $id" "$(cat "$T/run.out")"
}
# nca_record FILE MESSAGE_URN OFFICER: an NCA referral to uk/border-force.
nca_record() {
  python3 - "$SRC/adapters/nca/examples/referral-immigration-enforcement-2026-000009.json" "$1" "$2" "$3" <<'PY'
import json, sys
src, dst, urn, officer = sys.argv[1:]
r = json.load(open(src))
r["urn"], r["officer_no"], r["disseminate_to"] = urn, officer, ["uk/border-force"]
json.dump(r, open(dst, "w"))
PY
}

step "the adapter config's assertion keys: located errors"
nca_config "assertion_command: \"$T/idp.sh\"
assertion_file: $T/bf.jws"
expect_rc 1 "$ADAPTER" --config "$T/nca.yaml" check "$SRC/adapters/examples/border-force-referral.json"
expect_re "$T/err" "nca.yaml:[0-9]+:[0-9]+: assertion_file: give assertion_command or assertion_file, not both"
nca_config 'assertion_command: ""'
expect_rc 1 "$ADAPTER" --config "$T/nca.yaml" check x.json
expect_re "$T/err" "nca.yaml:[0-9]+:[0-9]+: assertion_command: must not be empty"
nca_config 'assertion_file: [a, b]'
expect_rc 1 "$ADAPTER" --config "$T/nca.yaml" check x.json
expect_re "$T/err" "nca.yaml:[0-9]+:[0-9]+: assertion_file: must be a single value"

step "portcullis-adapter submit: one officer, two records, jti tokens fetched per call"
nca_config "assertion_command: \"$T/idp.sh\""
mkdir -p "$T/batch"
nca_record "$T/batch/a.json" NCA-REF-2026-100001 NCA-10482
nca_record "$T/batch/b.json" NCA-REF-2026-100002 NCA-10482
expect_rc 0 "$ADAPTER" --config "$T/nca.yaml" submit "$T/batch/a.json" "$T/batch/b.json"
expect_eq "accepted records" 2 "$(grep -c '^accepted: ' "$T/out")"
expect_eq "command runs (one per call: a jti is single use)" 2 "$(grep -c . "$T/nca-runs")"
expect_eq "the command's environment" "NCA-10482 uk/nca $AUD" "$(head -1 "$T/nca-runs")"
rm "$T/nca-runs"

step "portcullis-adapter run: a failing command holds the outbox file; receiving goes on"
touch "$T/idp-down"
mkdir -p "$T/nca-outbox"
nca_record "$T/nca-outbox/01.json" NCA-REF-2026-200001 NCA-10482
"$ADAPTER" --config "$T/nca.yaml" run > "$T/run.out" 2>&1 & RUN_PID=$!
pids+=("$RUN_PID")
wait_for "$T/run.out" "identity provider down" "$RUN_PID" || fail "the outbox names the failing command" \
  "identity provider down" "$(cat "$T/run.out")"
expect_in "$T/run.out" "01.json: not submitted yet (UNAVAILABLE: officer assertion: the assertion command exited 5: identity provider down); will retry"
# Border Force sends NCA a message: the pull stream, which never carries an assertion, still delivers it.
python3 - "$SRC/adapters/examples/border-force-referral.json" "$T/to-nca.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
e["recipients"] = ["uk/nca"]
json.dump(e, open(sys.argv[2], "w"))
PY
expect_rc 0 "$SUBMIT" --gateway "$GW" --pki "$PKI" --as uk-border-force --envelope "$T/to-nca.json" \
  --message-id AS-TO-NCA-1 --created-now --assertion-file "$T/bf.jws"
wait_for "$T/run.out" "stored delivery .* AS-TO-NCA-1" "$RUN_PID" || fail "NCA receives while its command fails" \
  "stored delivery ... AS-TO-NCA-1" "$(cat "$T/run.out")"
# ...and confirms it: a Confirm that ran the (failing) command would never reach the gateway.
wait_confirmed AS-TO-NCA-1
expect_not_in "$T/run.out" "confirm of"
[ -e "$T/nca-outbox/01.json" ] || fail "the outbox file waits" "$T/nca-outbox/01.json" "$(ls -R "$T/nca-outbox")"

step "portcullis-adapter run: records of two officers, each with its own assertion"
rm "$T/idp-down"
wait_for "$T/run.out" "01.json" "$RUN_PID"
for _ in $(seq 200); do [ -e "$T/nca-outbox/sent/01.json" ] && break; sleep 0.05; done
[ -e "$T/nca-outbox/sent/01.json" ] || fail "01.json sent" "sent/01.json" "$(ls -R "$T/nca-outbox"; cat "$T/run.out")"
nca_record "$T/nca-outbox/.02.tmp" NCA-REF-2026-200002 NCA-20977
mv "$T/nca-outbox/.02.tmp" "$T/nca-outbox/02.json"
for _ in $(seq 200); do [ -e "$T/nca-outbox/sent/02.json" ] && break; sleep 0.05; done
[ -e "$T/nca-outbox/sent/02.json" ] || fail "02.json sent" "sent/02.json" "$(ls -R "$T/nca-outbox"; cat "$T/run.out")"
expect_in "$T/nca-runs" "NCA-10482 uk/nca $AUD"
expect_in "$T/nca-runs" "NCA-20977 uk/nca $AUD"
expect_not_in "$T/nca-runs" "system:"

step "portcullis-adapter run: Receive and Confirm never run the command (for no officer)"
# The command works now and its tokens carry a jti (never cached): any call that carried one would run it.
runs_before=$(grep -c . "$T/nca-runs")
expect_rc 0 "$SUBMIT" --gateway "$GW" --pki "$PKI" --as uk-border-force --envelope "$T/to-nca.json" \
  --message-id AS-TO-NCA-2 --created-now --assertion-file "$T/bf.jws"
wait_for "$T/run.out" "stored delivery .* AS-TO-NCA-2" "$RUN_PID" || fail "NCA receives" \
  "stored delivery ... AS-TO-NCA-2" "$(cat "$T/run.out")"
wait_confirmed AS-TO-NCA-2
expect_eq "command runs for receiving and confirming AS-TO-NCA-2" "$runs_before" "$(grep -c . "$T/nca-runs")"
checks=$((checks + 1))
audit_records "$T/records"
python3 - "$T/records" <<'PY' || fail "audit: both officers verified" "officer_verified true" "see above"
import json, sys
want = {"NCA-REF-2026-200001": "NCA-10482", "NCA-REF-2026-200002": "NCA-20977"}
seen = {}
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("action") == "submit" and r.get("message_id") in want:  # sent/ holds its receipt: accepted.
        seen[r["message_id"]] = (r.get("actor_officer"), r.get("officer_verified"))
for m, officer in want.items():
    if seen.get(m) != (officer, True):
        sys.exit("audit record of %s: %r, expected (%s, True)" % (m, seen.get(m), officer))
PY

step "portcullis-adapter run: rejecting what NCA's format cannot render carries system:adapter's assertion"
python3 - "$T/to-nca.json" "$T/unrenderable.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
e["case_referral"]["crossing"]["vessel"]["length_metres"] = 900  # NCA's records allow at most 500 m.
json.dump(e, open(sys.argv[2], "w"))
PY
expect_rc 0 "$SUBMIT" --gateway "$GW" --pki "$PKI" --as uk-border-force --envelope "$T/unrenderable.json" \
  --message-id AS-UNRENDERABLE-1 --created-now --assertion-file "$T/bf.jws"
wait_for "$T/run.out" "): rejected" "$RUN_PID" || fail "NCA rejects the unrenderable message" \
  "cannot be rendered (...): rejected" "$(cat "$T/run.out")"
expect_in "$T/nca-runs" "system:adapter uk/nca $AUD"

step "liaison: --assertion-file, the config's assertion_command, none"
LI=(--config "$T/nca.yaml" send --type referral --to uk/border-force --case NCA-OP-2026-0417 --marking OFFICIAL
    --priority ROUTINE --legal-basis "DPA 2018 s.35" --summary "Pilot matches an OCG member"
    --requested-action "Flag the case")
expect_rc 0 "$LIAISON" "${LI[@]}" --message-id AS-LIAISON-1
expect_in "$T/nca-runs" "NCA-10482 uk/nca"
mint uk/nca uk-nca NCA-10482 --no-jti > "$T/nca.jws"
: > "$T/nca-runs"
expect_rc 0 "$LIAISON" "${LI[@]}" --message-id AS-LIAISON-2 --assertion-file "$T/nca.jws"
expect_eq "the file comes before the config's command" "" "$(cat "$T/nca-runs")"
nca_config ""
expect_rc 1 "$LIAISON" "${LI[@]}" --message-id AS-LIAISON-3
expect_in "$T/err" "ASSERTION_REQUIRED"
PORTCULLIS_ASSERTION=$(cat "$T/nca.jws") expect_rc 0 "$LIAISON" "${LI[@]}" --message-id AS-LIAISON-4
# Track and case show the sender's officer as its agency vouched for it.
expect_rc 0 "$LIAISON" --config "$T/nca.yaml" track AS-LIAISON-2 --assertion-file "$T/nca.jws"
expect_in "$T/out" "by NCA-10482 (verified)"
expect_rc 0 "$LIAISON" --config "$T/nca.yaml" case NCA-OP-2026-0417 --assertion-file "$T/nca.jws"
expect_in "$T/out" "NCA-10482 (verified)"

step "portcullis-adapter run (push, auto_accept): the acknowledgements carry system:auto-accept's assertion"
kill -TERM "$EP_PID"; wait "$EP_PID" || true
cat > "$T/europol-idp.sh" <<SH
#!/bin/sh
echo "\$PORTCULLIS_OFFICER \$PORTCULLIS_PARTY \$PORTCULLIS_AUDIENCE" >> "$T/europol-runs"
exec "$DEVTOKEN" --key "$PKI/idp/eu-europol/dev-1.key" --kid dev-1 --issuer "\$PORTCULLIS_PARTY" \
  --audience "\$PORTCULLIS_AUDIENCE" --officer "\$PORTCULLIS_OFFICER"
SH
chmod +x "$T/europol-idp.sh"
cat > "$T/europol.yaml" <<YAML
party: eu/europol
format: europol
gateway: $GW
tls: { pki: $PKI, stem: eu-europol }
inbox: $T/europol-inbox
receive: { mode: push, listen: "127.0.0.1:$EP_PORT", auto_accept: true }
assertion_command: "$T/europol-idp.sh"
YAML
"$ADAPTER" --config "$T/europol.yaml" run > "$T/europol-run.out" 2>&1 & EU_PID=$!
pids+=("$EU_PID")
wait_for "$T/europol-run.out" "receiving by push" "$EU_PID" || fail "Europol's adapter starts" "receiving by push" \
  "$(cat "$T/europol-run.out")"
expect_rc 0 "$SUBMIT" "${BF[@]}" --message-id AS-PUSH-1 --assertion-file "$T/bf.jws"
wait_for "$T/europol-run.out" "acknowledged AS-PUSH-1 as system:auto-accept" "$EU_PID" ||
  fail "Europol's adapter acknowledges" "acknowledged AS-PUSH-1 as system:auto-accept" "$(cat "$T/europol-run.out")"
expect_in "$T/europol-runs" "system:auto-accept eu/europol $AUD"

echo "PASS: $checks checks"

#!/usr/bin/env bash
# End to end, the liaison officer's client `liaison` against a real gateway
# (shipped config, port 0) and Europol's adapter (`portcullis-adapter run`,
# push, no auto-accept) filling the inbox layout (deliveries/, native/; the
# test's Europol reads the europol format): usage errors and a missing officer
# (2); a bad native record submits nothing (3; track then NOT_FOUND); --partial;
# send from flags; a refusal (1, reason printed); --json parsed; the Europol
# officer lists, shows, follows, accepts, rejects (decisions/ written) and
# replies; track shows the states; case lists the case.
#
#   liaison_cli_test.sh LIAISON GATEWAY ADAPTER PKI SOURCE_DIR
set -euo pipefail
[ $# = 5 ] || { echo "usage: $0 LIAISON GATEWAY ADAPTER PKI SOURCE_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/support/cli_test_lib.sh"  # $T, $pids, $checks, step, fail, expect_*, free_port, wait_for.
LIAISON=$(abs "$1"); GATEWAY=$(abs "$2"); ADAPTER=$(abs "$3"); PKI=$(abs "$4"); SRC=$(abs "$5")
unset PORTCULLIS_CONFIG PORTCULLIS_OFFICER PORTCULLIS_JUSTIFICATION PORTCULLIS_GATEWAY

# python3 assertions over stdout: py 'CODE' (lines = stdout's JSON lines, doc = the first;
# a pretty-printed document is one line of its own).
py() {
  checks=$((checks + 1))
  python3 - "$T/out" "$1" <<'EOF' || fail "JSON check: $1" "true" "$(head -c 800 "$T/out")"
import json, sys
text = open(sys.argv[1]).read()
try:
    lines = [json.loads(text)]
except ValueError:
    lines = [json.loads(l) for l in text.splitlines() if l.strip()]
doc = lines[0] if lines else None
exec(sys.argv[2])
EOF
}
# Waits until the Europol inbox holds $1 deliveries.
wait_inbox() {
  local _
  for _ in $(seq 200); do
    [ "$(ls "$T/europol/deliveries" 2>/dev/null | grep -c '\.json$')" -ge "$1" ] && return 0
    sleep 0.05
  done
  fail "Europol inbox holds $1 deliveries" "$1" "$(ls "$T/europol/deliveries")"
}

step "gateway and Europol's adapter (push) on loopback"
mkdir -p "$T/state/witness"   # The shipped config keeps a witness folder.
export PORTCULLIS_PKI=$PKI PORTCULLIS_STATE=$T/state
EP_PORT=$(free_port)
OFFICER_ASSERTIONS=optional gateway_config "$T/gateway.yaml" "$EP_PORT"
start_gateway "$T/gateway.out"

# One adapter config per party, as an officer's ~/.config/portcullis/liaison.yaml would be.
party_config() {  # FILE PARTY STEM INBOX [officer justification]
  {
    echo "party: $2"
    case "$2" in eu/europol) echo "format: europol" ;; uk/nca) echo "format: nca" ;; *) echo "format: border_force" ;; esac
    echo "gateway: $GW"
    echo "tls: { pki: $PKI, stem: $3 }"
    echo "inbox: $4"
    [ $# -ge 6 ] && echo "officer: $5" && echo "justification: \"$6\""
    [ "$2" = eu/europol ] && echo "receive: { mode: push, listen: \"127.0.0.1:$EP_PORT\", auto_accept: false }"
    true
  } > "$1"
}
party_config "$T/bf.yaml" uk/border-force uk-border-force "$T/bf" BF-LO-4471 "Op KESTREL: small-boat network"
party_config "$T/bf-bare.yaml" uk/border-force uk-border-force "$T/bf"
party_config "$T/europol.yaml" eu/europol eu-europol "$T/europol" EUROPOL-LO-17 "AP Migrant Smuggling: UK referral"
party_config "$T/nca.yaml" uk/nca uk-nca "$T/nca" NCA-OIC-221 "Op KESTREL: NCA intelligence"
"$ADAPTER" --config "$T/europol.yaml" run > "$T/europol.out" 2>&1 & EP_PID=$!
pids+=("$EP_PID")
wait_for "$T/europol.out" "receiving by push" "$EP_PID" || fail "Europol adapter starts" "receiving" "$(cat "$T/europol.out")"
BF=(--config "$T/bf.yaml")
EU=(--config "$T/europol.yaml")

# Native records: the Border Force example with its own ids, and a bad one.
python3 - "$SRC/adapters/border_force/examples/gravelines-rib-2026-004512.json" "$T" <<'EOF'
import json, sys
src, out = sys.argv[1:]
rec = json.load(open(src))
for i in range(1, 5):
    r = dict(rec, referral_ref="BF-REF-LIAISON-%02d" % i)
    r.pop("created", None)
    json.dump(r, open("%s/good%d.json" % (out, i), "w"), indent=2)
# A follow-up of a Europol message that never went through this gateway.
followup = dict(rec, referral_ref="BF-REF-LIAISON-FU", in_reply_to="EUR-UKLB-2026-000871")
followup.pop("created", None)
json.dump(followup, open(out + "/followup.json", "w"), indent=2)
bad = dict(rec, referral_ref="BF-REF-LIAISON-BAD", protective_marking="RESTRICTED")
del bad["case_ref"]
open(out + "/bad.json", "w").write(json.dumps(bad, indent=2))
EOF

step "usage errors exit 2"
expect_rc 2 "$LIAISON"
expect_in "$T/err" "no command given"
expect_rc 2 "$LIAISON" frobnicate "${BF[@]}"
expect_in "$T/err" "unknown command 'frobnicate'"
expect_rc 2 "$LIAISON" send "${BF[@]}"
expect_in "$T/err" "send needs FILE..."
expect_rc 2 "$LIAISON" send --type referral --to eu/europol "${BF[@]}"
expect_in "$T/err" "send --type referral is missing --case, --marking, --priority, --legal-basis, --summary, --requested-action"
expect_rc 2 "$LIAISON" send --type intelligence --to eu/europol --case C-1 --marking OFFICIAL --priority ROUTINE \
  --legal-basis L --summary S "${BF[@]}"
expect_in "$T/err" "missing --uk-grading or --europol-grading"
expect_rc 2 "$LIAISON" send --type rfi --to eu/europol --case C-1 --marking PROTECTED --priority ROUTINE \
  --legal-basis L --question Q "${BF[@]}"
expect_in "$T/err" "--marking must be OFFICIAL, OFFICIAL-SENSITIVE or SECRET, not 'PROTECTED'"
expect_rc 2 "$LIAISON" send --type rfi --to eu/europol --case C-1 --marking OFFICIAL --priority ROUTINE \
  --legal-basis L --question Q --answer A "${BF[@]}"
expect_in "$T/err" "--answer does not belong to --type rfi"
expect_rc 2 "$LIAISON" send --type intelligence --to eu/europol --case C-1 --marking OFFICIAL --priority ROUTINE \
  --legal-basis L --summary S --europol-grading B/2 --handling H1 --restrictions R "${BF[@]}"
expect_in "$T/err" "--restrictions is only for handling code H3"
# One value per flag: a stray word after --to X is an argument (send --type takes none), not a second recipient.
expect_rc 2 "$LIAISON" send --type rfi --to eu/europol eu/fr-dnpaf --case C-1 --marking OFFICIAL \
  --priority ROUTINE --legal-basis L --question Q "${BF[@]}"
expect_in "$T/err" "send takes FILE... or --type and flags, not both"
expect_rc 2 "$LIAISON" send --type rfi --case C-1 C-2 --to eu/europol --marking OFFICIAL \
  --priority ROUTINE --legal-basis L --question Q "${BF[@]}"
expect_in "$T/err" "send takes FILE... or --type and flags, not both"
expect_rc 2 "$LIAISON" reject SOME-ID "${EU[@]}"
expect_in "$T/err" "reject needs --reason"
expect_rc 2 "$LIAISON" track "${BF[@]}" --reason x
expect_in "$T/err" "track does not take --reason"
expect_rc 2 "$LIAISON" inbox show "${EU[@]}"
expect_in "$T/err" "inbox show needs one ID"
expect_rc 2 "$LIAISON" track X --officer
expect_in "$T/err" "--officer needs a value"
expect_rc 0 "$LIAISON" --help
expect_in "$T/out" "exit codes:"
expect_in "$T/out" "send --type TYPE"
expect_cli_conventions "$LIAISON" send inbox ack reject reply track case
expect_rc 0 "$LIAISON" send --help
expect_in "$T/out" "--requested-action"
step "portcullis-adapter: the same conventions"
expect_cli_conventions "$ADAPTER" run submit check render
expect_rc 2 "$ADAPTER" check --partial x.json
expect_in "$T/err" "check does not take --partial"

step "no officer or justification: exit 2, naming how to set them"
expect_rc 2 "$LIAISON" track BF-REF-LIAISON-01 --config "$T/bf-bare.yaml"
expect_in "$T/err" "no officer"
expect_in "$T/err" "--officer ID, set PORTCULLIS_OFFICER, or add \`officer: ID\` to $T/bf-bare.yaml"
expect_rc 2 "$LIAISON" inbox --config "$T/bf-bare.yaml" --officer BF-LO-4471
expect_in "$T/err" "no justification"
expect_in "$T/err" "PORTCULLIS_JUSTIFICATION"
expect_rc 2 "$LIAISON" track X --config "$T/bf-bare.yaml" --officer "BF LO"
expect_in "$T/err" "officer 'BF LO' must be 1 to 128 characters"
# The environment supplies them (the config file has neither).
PORTCULLIS_OFFICER=BF-LO-4471 PORTCULLIS_JUSTIFICATION="Op KESTREL" PORTCULLIS_CONFIG="$T/bf-bare.yaml" \
  expect_rc 1 "$LIAISON" track BF-NOT-SENT
expect_in "$T/err" "NOT_FOUND"

step "config problems: exit 1, located"
expect_rc 1 "$LIAISON" track X --config "$T/missing.yaml"
expect_in "$T/err" "missing.yaml: cannot open the adapter config (give --config FILE, or set PORTCULLIS_CONFIG)"
printf 'party: uk/border-force\nformat: border_farce\ngateway: %s\ntls: { pki: %s, stem: uk-border-force }\ninbox: x\n' \
  "$GW" "$PKI" > "$T/typo.yaml"
expect_rc 1 "$LIAISON" track X --config "$T/typo.yaml" --officer O --justification J
expect_in "$T/err" "typo.yaml:2:9: format: unknown format \"border_farce\""

step "a bad native record: nothing submitted (exit 3)"
expect_rc 3 "$LIAISON" send "$T/good1.json" "$T/bad.json" "$T/good2.json" "${BF[@]}"
expect_in "$T/out" "nothing submitted: 1 of 3 records has problems"
expect_in "$T/out" "invalid    $T/bad.json"
expect_in "$T/out" "$T/bad.json:1:1: case_ref: required"
expect_in "$T/out" "protective_marking"
expect_in "$T/out" "not sent   $T/good1.json  BF-REF-LIAISON-01  (held back: the batch has problems)"
expect_in "$T/err" "nothing submitted"
expect_rc 1 "$LIAISON" track BF-REF-LIAISON-01 "${BF[@]}"
expect_in "$T/err" "NOT_FOUND"
expect_rc 3 "$LIAISON" send "$T/nonexistent.json" "${BF[@]}"
expect_in "$T/out" "nonexistent.json"

step "--partial submits the good records (exit 3: one was not)"
expect_rc 3 "$LIAISON" send --partial "$T/good1.json" "$T/bad.json" "${BF[@]}"
expect_in "$T/out" "sent       $T/good1.json  BF-REF-LIAISON-01  to eu/europol  audit index"
expect_in "$T/out" "1 of 2 records submitted; 1 with problems not submitted"
expect_rc 0 "$LIAISON" track BF-REF-LIAISON-01 "${BF[@]}"
expect_in "$T/out" "eu/europol"

step "send --json: one object per record, then the summary"
expect_rc 0 "$LIAISON" send --json "$T/good2.json" "$T/good3.json" "${BF[@]}"
py '
assert len(lines) == 3, lines
assert [l["outcome"] for l in lines[:2]] == ["submitted", "submitted"], lines
assert lines[0]["message_id"] == "BF-REF-LIAISON-02" and lines[0]["recipients"] == ["eu/europol"]
assert int(lines[1]["receipt"].get("audit_index", 0)) > int(lines[0]["receipt"].get("audit_index", 0))
assert lines[2]["summary"]["submitted"] == 2 and lines[2]["summary"]["with_problems"] == 0
'
expect_rc 3 "$LIAISON" send --json "$T/bad.json" "${BF[@]}"
py '
assert lines[0]["outcome"] == "invalid" and any("case_ref: required" in p for p in lines[0]["problems"]), lines
assert lines[-1]["summary"]["submitted"] == 0
'

step "send from flags; a refusal (exit 1, reason printed)"
expect_rc 0 "$LIAISON" send --type rfi --to eu/europol --case BF-2026-004512 --marking OFFICIAL --priority URGENT \
  --legal-basis "DPA 2018 s.35; TCA Art. LAW.EUROPOL.51" --question "Known numbers for 'Kaka Shwan'?" \
  --message-id BF-RFI-LIAISON-01 "${BF[@]}"
expect_in "$T/out" "sent       (flags)  BF-RFI-LIAISON-01  to eu/europol  audit index"
expect_rc 0 "$LIAISON" send --type referral --to eu/europol --case BF-2026-004512 --marking OFFICIAL-SENSITIVE \
  --priority ROUTINE --legal-basis "DPA 2018 s.35" --summary "Second RIB" --requested-action "Check holdings" \
  --uk-grading 2/B/C --conditions "UK consent for onward sharing" --json "${BF[@]}"
py '
assert doc["outcome"] == "submitted", doc
assert doc["message_id"].startswith("uk-border-force-"), doc
'
GEN_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["message_id"])' "$T/out")
expect_rc 1 "$LIAISON" send --type rfi --to eu/nowhere --case BF-2026-004512 --marking OFFICIAL --priority ROUTINE \
  --legal-basis L --question Q "${BF[@]}"
expect_in "$T/err" "refused: INVALID_ARGUMENT (UNKNOWN_RECIPIENT) envelope.recipients[0]"
# A repeated --to collects: the second recipient is recipients[1] (refused, so nothing is sent).
expect_rc 1 "$LIAISON" send --type rfi --to eu/europol --to eu/nowhere --case BF-2026-004512 --marking OFFICIAL \
  --priority ROUTINE --legal-basis L --question Q "${BF[@]}"
expect_in "$T/err" "refused: INVALID_ARGUMENT (UNKNOWN_RECIPIENT) envelope.recipients[1]"
expect_rc 1 "$LIAISON" send --type rfi --to eu/europol --case BF-2026-004512 --marking SECRET --priority ROUTINE \
  --legal-basis L --question Q --json "${BF[@]}"
py '
assert doc["outcome"] == "refused", doc
assert doc["error"]["code"] == "PERMISSION_DENIED" and doc["error"]["reason"], doc
'
expect_rc 1 "$LIAISON" send "$T/followup.json" "${BF[@]}"
expect_in "$T/out" "refused    $T/followup.json  BF-REF-LIAISON-FU"
expect_in "$T/out" "CORRELATION_UNKNOWN"
expect_rc 1 "$LIAISON" send "$T/good1.json" "${BF[@]}"
expect_in "$T/out" "refused    $T/good1.json  BF-REF-LIAISON-01"
expect_in "$T/out" "MESSAGE_ID_REUSED"

step "the Europol officer's inbox"
wait_inbox 5
expect_rc 0 "$LIAISON" inbox "${EU[@]}"
expect_in "$T/out" "RECEIVED"
expect_in "$T/out" "DECISION"
expect_in "$T/out" "uk/border-force  referral"
expect_in "$T/out" "BF-REF-LIAISON-02"
expect_re "$T/out" "rfi +BF-2026-004512 +BF-RFI-LIAISON-01 +OFFICIAL +URGENT +-$"
expect_in "$T/out" "5 message(s)"
expect_rc 0 "$LIAISON" inbox list --json "${EU[@]}"
py '
assert len(lines) == 5, lines
ids = [l["message_id"] for l in lines]
assert set(ids) >= {"BF-REF-LIAISON-01", "BF-REF-LIAISON-02", "BF-REF-LIAISON-03", "BF-RFI-LIAISON-01"}, ids
assert [l["accepted_at"] for l in lines] == sorted(l["accepted_at"] for l in lines), lines
rfi = [l for l in lines if l["message_id"] == "BF-RFI-LIAISON-01"][0]
assert rfi == dict(rfi, kind="rfi", marking="OFFICIAL", priority="URGENT", case="BF-2026-004512"), rfi
first = [l for l in lines if l["message_id"] == "BF-REF-LIAISON-01"][0]
assert first["accepted_at"].endswith("Z") and not first.get("correlation_id"), first
assert all(l["from"] == "uk/border-force" and len(l["delivery_id"]) > 8 and "decision" not in l for l in lines)
'
expect_rc 0 "$LIAISON" inbox --from uk/nca "${EU[@]}"
expect_in "$T/out" "no messages in $T/europol matching --case/--from"
expect_rc 0 "$LIAISON" inbox show BF-REF-LIAISON-02 "${EU[@]}"
expect_in "$T/out" "from:"
expect_in "$T/out" "uk/border-force, officer BF-LO-4471 (claimed)"
expect_in "$T/out" "UK grading:"
expect_in "$T/out" "2/B/C (conditions: Not to be shared with third countries without Border Force consent.)"
expect_in "$T/out" "marking:      OFFICIAL-SENSITIVE"
expect_in "$T/out" "legal basis:  DPA 2018 s.35; TCA Art. LAW.EUROPOL.51"
expect_in "$T/out" "europol record ($T/europol/native/"
expect_in "$T/out" '"message_reference": "BF-REF-LIAISON-02"'
expect_in "$T/out" '"family_name": "Testkarim"'
expect_rc 0 "$LIAISON" inbox show BF-RFI-LIAISON-01 --json "${EU[@]}"
py '
d = doc
assert text.startswith("{\n") and len(lines) == 1
assert d["envelope"]["request_for_information"]["question"].startswith("Known numbers"), d
assert d["envelope"]["sender"] == "uk/border-force" and d["delivery_id"], d
'
RFI_DELIVERY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["delivery_id"])' "$T/out")
expect_rc 0 "$LIAISON" inbox show "$RFI_DELIVERY" "${EU[@]}"
expect_in "$T/out" "europol record ($T/europol/native/$RFI_DELIVERY.json):"
expect_not_in "$T/out" "question:"
# Without a native rendering (the adapter stopped between storing and
# rendering, or wrote why it could not): the reason, then the body in words.
for _ in $(seq 100); do [ -f "$T/europol/native/$RFI_DELIVERY.json" ] && break; sleep 0.05; done
rm "$T/europol/native/$RFI_DELIVERY.json"
expect_rc 0 "$LIAISON" inbox show "$RFI_DELIVERY" "${EU[@]}"
expect_in "$T/out" "(no europol rendering in $T/europol/native)"
expect_in "$T/out" "question:             Known numbers for 'Kaka Shwan'?"
expect_in "$T/out" "directly accessible:  no"
echo "delivery $RFI_DELIVERY: cannot render: example reason" > "$T/europol/native/$RFI_DELIVERY.error.txt"
expect_rc 0 "$LIAISON" inbox show "$RFI_DELIVERY" "${EU[@]}"
expect_in "$T/out" "(delivery $RFI_DELIVERY: cannot render: example reason)"
expect_in "$T/out" "question:             Known numbers for 'Kaka Shwan'?"
expect_rc 1 "$LIAISON" inbox show NO-SUCH-MESSAGE "${EU[@]}"
expect_in "$T/err" "no delivery or message 'NO-SUCH-MESSAGE' in the inbox $T/europol"

step "an ambiguous message id lists the candidates (exit 2)"
expect_rc 0 "$LIAISON" send --type intelligence --to eu/europol --case NCA-2026-77 --marking OFFICIAL --priority ROUTINE \
  --legal-basis "DPA 2018 s.35" --summary "Hawala payments for crossings" --europol-grading B/2 --handling H0,H3 \
  --restrictions "Not for use in court without NCA consent" --message-id BF-REF-LIAISON-03 --config "$T/nca.yaml"
wait_inbox 6
expect_rc 2 "$LIAISON" inbox show BF-REF-LIAISON-03 "${EU[@]}"
expect_in "$T/err" "message id 'BF-REF-LIAISON-03' is ambiguous: 2 deliveries carry it; give the delivery id:"
expect_in "$T/err" "from uk/nca, case NCA-2026-77"
expect_in "$T/err" "from uk/border-force, case BF-2026-004512"
NCA_DELIVERY=$(sed -n 's/^  \([0-9a-f]*\)  from uk\/nca.*/\1/p' "$T/err")
expect_rc 0 "$LIAISON" inbox show "$NCA_DELIVERY" "${EU[@]}"
expect_in "$T/out" "kind:         intelligence report"
expect_in "$T/out" "Europol:      B/2 H0,H3 (restrictions: Not for use in court without NCA consent)"
expect_in "$T/out" "\"summary\": \"Hawala payments for crossings\""

step "ack and reject: the gateway's state and decisions/ (durable)"
expect_rc 0 "$LIAISON" ack BF-REF-LIAISON-01 "${EU[@]}"
expect_in "$T/out" "accepted BF-REF-LIAISON-01 from uk/border-force (case BF-2026-004512)"
expect_in "$T/out" "eu/europol: ACKNOWLEDGED by officer EUROPOL-LO-17"
expect_rc 0 "$LIAISON" reject BF-RFI-LIAISON-01 --reason "Not a Europol holding; ask FR-DNPAF" --json "${EU[@]}"
py '
assert doc["decision"] == "REJECT" and doc["status"]["state"] == "REJECTED", doc
assert doc["status"]["officer"] == "EUROPOL-LO-17", doc
'
python3 - "$T/europol/decisions/$RFI_DELIVERY.json" <<'EOF' || fail "decision file of the rejection" "REJECT by EUROPOL-LO-17" "$(cat "$T/europol/decisions/$RFI_DELIVERY.json" 2>&1)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["decision"] == "REJECT" and d["officer"] == "EUROPOL-LO-17", d
assert d["reason"] == "Not a Europol holding; ask FR-DNPAF" and d["message_id"] == "BF-RFI-LIAISON-01", d
assert d["justification"] == "AP Migrant Smuggling: UK referral" and d["time"].endswith("Z"), d
EOF
checks=$((checks + 1))
expect_rc 0 "$LIAISON" inbox "${EU[@]}"
expect_in "$T/out" "accepted by EUROPOL-LO-17"
expect_in "$T/out" "rejected by EUROPOL-LO-17"
expect_rc 1 "$LIAISON" ack BF-RFI-LIAISON-01 "${EU[@]}"
expect_in "$T/err" "ALREADY_DECIDED"
expect_rc 0 "$LIAISON" inbox show BF-RFI-LIAISON-01 "${EU[@]}"
expect_in "$T/out" "rejected by EUROPOL-LO-17 at"

step "track from the sender's side shows the decisions"
expect_rc 0 "$LIAISON" track BF-REF-LIAISON-01 "${BF[@]}"
expect_in "$T/out" "BF-REF-LIAISON-01  case BF-2026-004512  from uk/border-force"
expect_in "$T/out" "RECIPIENT   STATE"
expect_in "$T/out" "ACKNOWLEDGED"
expect_in "$T/out" "EUROPOL-LO-17"
expect_rc 0 "$LIAISON" track BF-RFI-LIAISON-01 --json "${BF[@]}"
py '
r = doc["recipients"][0]
assert r["party"] == "eu/europol" and r["state"] == "REJECTED", doc
assert r["reason"] == "Not a Europol holding; ask FR-DNPAF" and r["officer"] == "EUROPOL-LO-17", doc
'
expect_rc 1 "$LIAISON" track BF-REF-LIAISON-01 "${EU[@]}"
expect_in "$T/err" "NOT_FOUND"
expect_rc 0 "$LIAISON" track BF-REF-LIAISON-01 --from uk/border-force "${EU[@]}"
expect_in "$T/out" "ACKNOWLEDGED"

step "reply: a correlated response to the sender"
expect_rc 0 "$LIAISON" reply BF-REF-LIAISON-01 --answer "Two numbers match EMPACT holdings; details follow." \
  --message-id EUR-REPLY-LIAISON-01 "${EU[@]}"
expect_in "$T/out" "sent       (reply to BF-REF-LIAISON-01)  EUR-REPLY-LIAISON-01  to uk/border-force  audit index"
expect_rc 0 "$LIAISON" track EUR-REPLY-LIAISON-01 --from eu/europol --json "${BF[@]}"
py '
assert doc["case_reference"] == "BF-2026-004512" and doc["sender"] == "eu/europol", doc
assert doc["recipients"][0]["party"] == "uk/border-force", doc
'
expect_rc 1 "$LIAISON" reply BF-REF-LIAISON-02 --answer A --marking SECRET "${EU[@]}"
expect_in "$T/err" "refused: PERMISSION_DENIED"

step "inbox --follow: the list, then each new arrival; ends at the timeout or on SIGTERM (exit 0)"
"$LIAISON" inbox --follow --timeout 20 --json "${EU[@]}" > "$T/follow.out" 2> "$T/follow.err" & F_PID=$!
for _ in $(seq 100); do [ "$(wc -l < "$T/follow.out")" -ge 6 ] && break; sleep 0.05; done
expect_rc 0 "$LIAISON" send --type rfi --to eu/europol --case BF-2026-004512 --marking OFFICIAL --priority ROUTINE \
  --legal-basis L --question "Follow-up" --message-id BF-RFI-LIAISON-02 --in-reply-to EUR-REPLY-LIAISON-01 "${BF[@]}"
for _ in $(seq 100); do grep -q BF-RFI-LIAISON-02 "$T/follow.out" && break; sleep 0.05; done
kill -TERM "$F_PID"
rc=0; wait "$F_PID" || rc=$?
checks=$((checks + 1))
[ "$rc" = 0 ] || fail "inbox --follow exits 0 on SIGTERM" 0 "$rc"
cp "$T/follow.out" "$T/out"
py '
assert len(lines) == 7, lines
assert lines[-1]["message_id"] == "BF-RFI-LIAISON-02" and lines[-1]["kind"] == "rfi", lines[-1]
'
expect_rc 0 "$LIAISON" inbox --follow --timeout 0.5 "${EU[@]}"
expect_in "$T/out" "7 message(s)"
expect_in "$T/out" "following $T/europol"
expect_rc 0 "$LIAISON" inbox show BF-RFI-LIAISON-02 "${EU[@]}"
expect_in "$T/out" "in reply to:  EUR-REPLY-LIAISON-01"

step "case: every message of the case"
rc=0; "$LIAISON" case BF-2026-004512 "${BF[@]}" > "$T/out" 2> "$T/err" || rc=$?
checks=$((checks + 1))
[ "$rc" = 0 ] || fail "exit code of case" 0 "$rc"
expect_in "$T/out" "case BF-2026-004512"
expect_in "$T/out" "ACCEPTED"
expect_in "$T/out" "BF-REF-LIAISON-01"
expect_in "$T/out" "eu/europol ACKNOWLEDGED"
expect_in "$T/out" "EUR-REPLY-LIAISON-01"
expect_in "$T/out" "CORRELATION"
expect_re "$T/out" "EUR-REPLY-LIAISON-01 +BF-REF-LIAISON-01 "
expect_not_in "$T/out" "NCA-2026-77"
expect_rc 0 "$LIAISON" case BF-2026-004512 --json "${BF[@]}"
py '
ids = [m["message_id"] for m in doc["messages"]]
assert ids.index("BF-REF-LIAISON-01") < ids.index("EUR-REPLY-LIAISON-01"), ids
reply = [m for m in doc["messages"] if m["message_id"] == "EUR-REPLY-LIAISON-01"][0]
assert reply["correlation_id"] == "BF-REF-LIAISON-01" and reply["body_type"] == "response", reply
assert "next_page_token" not in doc, doc
'
# The consultations name the officer and the justification in the audit log (DPA 2018 s.62).
  checks=$((checks + 1))
  audit_records "$T/records"
  python3 - "$T/records" <<'EOF' || fail "audit records of liaison's consultations" "officer and justification" "see above"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
def n(**kv): return sum(all(r.get(k) == v for k, v in kv.items()) for r in recs)
assert n(action="list_case", actor_party="uk/border-force", actor_officer="BF-LO-4471",
         justification="Op KESTREL: small-boat network", case_reference="BF-2026-004512", outcome="ok") >= 2, "list_case"
assert n(action="track", actor_officer="EUROPOL-LO-17", justification="AP Migrant Smuggling: UK referral",
         message_id="BF-REF-LIAISON-01", outcome="ok") == 1, "track"
EOF

step "the inbox readings are logged on the party's side (who, why, which messages; no contents)"
checks=$((checks + 1))
python3 - "$T/europol/consultations.log" <<'EOF' || fail "consultation log" "inbox_list/inbox_show lines" "$(cat "$T/europol/consultations.log")"
import json, sys
text = open(sys.argv[1]).read()
recs = [json.loads(l) for l in text.splitlines()]
shows = [r for r in recs if r["action"] == "inbox_show" and "uk/border-force/BF-REF-LIAISON-02" in r["messages"]]
assert shows and all(r["officer"] == "EUROPOL-LO-17" and r["party"] == "eu/europol" for r in shows), recs
assert shows[0]["justification"] == "AP Migrant Smuggling: UK referral", shows[0]
assert any(r["action"] == "inbox_list" for r in recs) and any(r["action"] == "inbox_follow" for r in recs), recs
assert "Testkarim" not in text and "Kaka Shwan" not in text, "contents leaked into the consultation log"
EOF
chmod 0400 "$T/europol/consultations.log"
if [ "$(id -u)" != 0 ]; then  # root writes through 0400; the check needs an ordinary user
  expect_rc 1 "$LIAISON" inbox "${EU[@]}"
  expect_in "$T/err" "cannot record the consultation"
fi
chmod 0600 "$T/europol/consultations.log"

step "a party's hostile text is shown escaped: inbox show, decision, track (no raw CR, C1, bidi override)"
# no_raw FILE WHAT: none of ESC, CR, C1 CSI (U+009B) nor U+202E in FILE.
no_raw() {
  checks=$((checks + 1))
  python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); bad=[c for c in (b"\x1b",b"\r","\u009b".encode(),"\u202e".encode()) if c in d]; sys.exit(1 if bad else 0)' "$1" ||
    fail "$2: no raw control characters" "none of ESC CR U+009B U+202E" "$(od -c "$1" | head -20)"
}
HOSTILE_SUMMARY=$(printf 'Hawala\r\xe2\x80\xaeFORGED\xc2\x9b31m')
expect_rc 0 "$LIAISON" send --type intelligence --to eu/europol --case NCA-2026-78 --marking OFFICIAL --priority ROUTINE \
  --legal-basis "DPA 2018 s.35" --summary "$HOSTILE_SUMMARY" --europol-grading B/2 --handling H0 \
  --message-id NCA-HOSTILE-01 --config "$T/nca.yaml"
wait_inbox 8
expect_rc 0 "$LIAISON" inbox show NCA-HOSTILE-01 "${EU[@]}"
no_raw "$T/out" "inbox show"
expect_in "$T/out" '"summary": "Hawala\r\u202eFORGED\u009b31m"'
expect_rc 0 "$LIAISON" reject NCA-HOSTILE-01 --reason "$(printf 'Declined \xe2\x80\xae DETPECCA \xc2\x9b2K')" "${EU[@]}"
no_raw "$T/out" "reject"
expect_in "$T/out" 'Declined \u202e DETPECCA \u009b2K'
expect_rc 0 "$LIAISON" track NCA-HOSTILE-01 --config "$T/nca.yaml"
no_raw "$T/out" "track"
expect_in "$T/out" 'Declined \u202e DETPECCA \u009b2K'

step "the gateway unreachable: exit 1"
sed "s/^gateway: .*/gateway: 127.0.0.1:$(free_port)/" "$T/bf.yaml" > "$T/down.yaml"
expect_rc 1 "$LIAISON" track BF-REF-LIAISON-01 --config "$T/down.yaml"
expect_in "$T/err" "UNAVAILABLE"

echo "PASS ($checks checks)"

#!/usr/bin/env bash
# End to end, the auditor's tool portcullis-audit against a real gateway's log:
# a real gateway (mTLS on loopback, checkpoints every 3 records, a witness
# folder), the reference Europol push endpoint and portcullis-submit produce
# the log; then verify / search / show / export on the files, tampering found
# through the tool (kind and index), usage and unreadable-input exit codes,
# and the same tool through the gateway's Audit service as an auditor, including
# a gateway rolled back to an earlier copy of its log (caught via the witness).
# Unsigned is not verified: a log with records after its last checkpoint fails
# as unsigned_tail (unless --allow-unsigned-tail); a hostile record appended
# while the gateway is stopped is adopted at restart (adopt_unsigned, listed by
# verify) and every tool output shows its text escaped (no raw ESC/CR/NUL,
# CSV cells safe against formula injection).
#
# This file builds the log and checks verify/search/show/export on the files; then
# audit_cli/tamper_and_usage.sh (tampering, usage errors, each command's --help) and
# audit_cli/hostile_and_gateway.sh (a hostile record, the Audit service, prove, a rolled-back
# gateway) run in the same shell, on the same log.
#
#   audit_cli_test.sh AUDIT GATEWAY PARTNER_ENDPOINT SUBMIT PKI SOURCE_DIR
set -euo pipefail
[ $# = 6 ] || { echo "usage: $0 AUDIT GATEWAY PARTNER_ENDPOINT SUBMIT PKI SOURCE_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/support/cli_test_lib.sh"  # $T, $pids, step, fail, expect_*, free_port, wait_for.
AUDIT=$(abs "$1"); GATEWAY=$(abs "$2"); ENDPOINT=$(abs "$3"); SUBMIT=$(abs "$4"); PKI=$(abs "$5"); SRC=$(abs "$6")
for f in "$AUDIT" "$GATEWAY" "$ENDPOINT" "$SUBMIT" "$PKI/audit/signing.pub" "$PKI/parties/audit-ico.pem" \
         "$SRC/config/portcullis.yaml" "$SRC/adapters/examples/border-force-referral.json"; do
  [ -e "$f" ] || { echo "FAIL: missing $f" >&2; exit 1; }
done


# ---------------------------------------------------------------------------
# Helpers of this test.
# stop PID: SIGTERM, expect exit 0; forgets the process.
stop() {
  local rc=0 p keep=()
  kill -TERM "$1"
  wait "$1" || rc=$?
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
  expect_eq "exit code of process $1 after SIGTERM" 0 "$rc"
}

# Python oracle over the log: reads the JSON lines itself (not through the tool).
py() { python3 - "$@"; }

A() { "$AUDIT" "$@"; }
PUB=$PKI/audit/signing.pub

# ---------------------------------------------------------------------------
step "a v1 log (tests/data/audit-v1, written by the v1 writer) reads and verifies"
V1=$SRC/tests/data/audit-v1
expect_rc 0 A verify --log "$V1/audit.log" --public-key "$V1/signing.pub" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] and d["records"] == 7 and d["signed_size"] == 7 and d["format_versions"] == {"v1": 7, "v2": 0} and d["adopted"] == [], d' "$T/out" ||
  fail "verify a v1 log" "ok, 7 records signed, format v1" "$(cat "$T/out")"
expect_rc 0 A search --log "$V1/audit.log" --case BF-2026-004512
expect_in "$T/out" "5 record(s)"
expect_rc 0 A show BF-REF-2026-004512-01 --log "$V1/audit.log"
expect_in "$T/out" "basis     DPA 2018 s.35 | \"Gravelines\" RIB, caf"
expect_in "$T/out" "acknowledge -> eu/europol"
expect_rc 0 A export --log "$V1/audit.log" --format csv
python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 7 and all(r["format"] == "1" and r["correlation_id"] == "" and r["count"] == "0" for r in rows), rows
' "$T/out" || fail "export a v1 log as CSV" "7 rows of format 1" "$(head -c 600 "$T/out")"

# ---------------------------------------------------------------------------
step "gateway and Europol endpoint on loopback"

mkdir -p "$T/state" "$T/witness" "$T/inbox"
export PORTCULLIS_PKI=$PKI PORTCULLIS_STATE=$T/state
LOG=$T/state/audit.log
WIT=$T/witness/checkpoints.log
CASE_A=BF-2026-004512 CASE_B=BF-2026-009999
MSG1=BF-REF-CLI-01 MSG2=BF-REF-CLI-02 MSG3=BF-REF-CLI-03

# The shipped config with: port 0 for the gateway, Europol at $1, a checkpoint
# every 3 records, a witness folder. Every substitution must take.
write_config() {
  OFFICER_ASSERTIONS=optional gateway_config "$T/gateway.yaml" "$1" 'checkpoint_every_records: 1000' 'checkpoint_every_records: 3' \
    'witness_dir: ${PORTCULLIS_WITNESS:-${PORTCULLIS_STATE:-../build/state}/witness}' "witness_dir: $T/witness"
}

started=""
for attempt in 1 2 3 4 5; do
  EP_PORT=$(free_port)
  write_config "$EP_PORT"
  "$GATEWAY" --config "$T/gateway.yaml" --check-config > "$T/out" 2>&1 || fail "generated config is valid" "valid" "$(cat "$T/out")"
  start_gateway "$T/gateway.out"
  "$ENDPOINT" --listen "127.0.0.1:$EP_PORT" --pki "$PKI" --party eu-europol --inbox "$T/inbox" \
    --gateway "$GW" --officer EUROPOL-LO-17 > "$T/europol.out" 2>&1 & EP_PID=$!
  pids+=("$EP_PID")
  if wait_for "$T/europol.out" "listening on" "$EP_PID"; then started=yes; break; fi
  echo "endpoint could not listen on $EP_PORT (attempt $attempt): $(cat "$T/europol.out")"
  stop "$GW_PID"; wait "$EP_PID" 2>/dev/null || true
  rm -rf "$T/state" "$T/witness"; mkdir -p "$T/state" "$T/witness"
done
[ -n "$started" ] || fail "Europol endpoint starts" "listening" "5 failed attempts"

step "Border Force submits three referrals (two cases), Europol acknowledges"
py "$SRC/adapters/examples/border-force-referral.json" "$T/referral-b.json" "$CASE_B" <<'EOF'
import json, sys
e = json.load(open(sys.argv[1]))
e["case_reference"] = sys.argv[3]
json.dump(e, open(sys.argv[2], "w"))
EOF
for m in "$MSG1:$SRC/adapters/examples/border-force-referral.json" "$MSG2:$SRC/adapters/examples/border-force-referral.json" \
         "$MSG3:$T/referral-b.json"; do
  expect_rc 0 "$SUBMIT" --gateway "$GW" --pki "$PKI" --party uk-border-force --envelope "${m#*:}" \
    --message-id "${m%%:*}" --created-now --wait 15
  expect_in "$T/out" "acknowledged by every recipient"
done
expect_eq "referrals in the Europol inbox" 3 "$(ls "$T/inbox" | wc -l | tr -d ' ')"

step "SIGTERM: the gateway stops cleanly and signs a final checkpoint"
stop "$GW_PID"
stop "$EP_PID"
expect_in "$T/gateway.out" "stopped cleanly"
[ -s "$LOG.checkpoints" ] || fail "local checkpoints written" "$LOG.checkpoints non-empty" "missing or empty"
[ -s "$WIT" ] || fail "witness copy written" "$WIT non-empty" "missing or empty"

# Facts about the log, from the files themselves.
N=$(wc -l < "$LOG" | tr -d ' ')
[ "$N" -ge 9 ] || fail "records in the log" ">= 9 (3 x submit, deliver, acknowledge)" "$N"
LAST_CP=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["size"])' "$LOG.checkpoints")
expect_eq "the final checkpoint covers the whole log" "$N" "$LAST_CP"
cp "$LOG" "$T/log-at-rest"   # The log as it was before any auditor call.

# count_log QUERY...: for each QUERY ("key=value;key=value", keys case, message,
# action, outcome, party, from, to), the number of records of the log that
# match, by a python oracle reading the JSON lines itself (same semantics as
# the tool: party = actor, sender or a recipient; from <= time < to).
# Prints the counts on one line. One interpreter for many queries: it is slow to start.
count_log() {
  py "${OLOG:-$LOG}" "$@" <<'EOF'
import json, sys
from datetime import datetime, timezone
def t(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
recs = [json.loads(line) for line in open(sys.argv[1])]
def match(r, q):
    for k, v in q.items():
        if k == "case" and r["case_reference"] != v: return False
        if k == "message" and r["message_id"] != v: return False
        if k in ("action", "outcome") and r[k] != v: return False
        if k == "party" and v not in [r["actor_party"], r["sender"]] + r["recipients"]: return False
        if k == "from" and t(r["time"]) < t(v): return False
        if k == "to" and t(r["time"]) >= t(v): return False
    return True
out = []
for arg in sys.argv[2:]:
    q = dict(kv.split("=", 1) for kv in arg.split(";") if kv)
    unknown = set(q) - {"case", "message", "action", "outcome", "party", "from", "to"}
    assert not unknown, unknown
    out.append(str(sum(match(r, q) for r in recs)))
print(" ".join(out))
EOF
}

# ---------------------------------------------------------------------------
step "verify the untouched log: OK, with signatures and the witness"
expect_rc 0 A verify --log "$LOG" --public-key "$PUB" --witness "$WIT"
expect_in "$T/out" "OK: $N records"
expect_in "$T/out" "hash chain intact"
expect_in "$T/out" "with valid signatures"
expect_in "$T/out" "signed through record $((N - 1))"
CPS=$(wc -l < "$LOG.checkpoints" | tr -d ' ')
expect_in "$T/out" "$CPS witness checkpoint(s) agree"

expect_rc 0 A verify --log "$LOG" --public-key "$PUB" --witness "$WIT" --json
py "$T/out" "$N" <<'EOF' || fail "verify --json on the untouched log" "ok, records=N, no problem" "$(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert d["ok"] is True and "problem" not in d, d
assert d["records"] == n and d["records"] > 0, d
assert d["signed_size"] == n and d["signatures_checked"] is True, d
assert d["checkpoints"] >= 3 and d["witness_checkpoints"] == d["checkpoints"], d
assert len(d["signed_root"]) == 64 and d["warnings"] == [], d
EOF

expect_rc 0 A verify --log "$LOG"
expect_in "$T/out" "signatures NOT checked"
expect_in "$T/out" "note: no public key given"

# ---------------------------------------------------------------------------
step "search: --case, --json, --limit, no match"
counts=$(count_log "case=$CASE_A" "case=$CASE_B")
read -r CNT_A CNT_B <<< "$counts"
expect_eq "records of both cases add up to the log" "$N" "$((CNT_A + CNT_B))"

expect_rc 0 A search --log "$LOG" --case "$CASE_B"
expect_in "$T/out" "$CNT_B record(s)"
expect_in "$T/out" "INDEX"
[ "$(grep -c "$MSG3" "$T/out")" = "$CNT_B" ] || fail "search --case $CASE_B rows name $MSG3" "$CNT_B rows" "$(grep -c "$MSG3" "$T/out")"
grep -q "$MSG1\|$MSG2\|$CASE_A" "$T/out" && fail "search --case $CASE_B lists only that case" "no $CASE_A row" "$(cat "$T/out")"

expect_rc 0 A search --log "$LOG" --case "$CASE_A" --json
py "$T/out" "$CNT_A" "$CASE_A" <<'EOF' || fail "search --case --json" "valid JSON with the case's records" "$(head -c 800 "$T/out")"
import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert d["count"] == n == len(d["records"]) and d["truncated"] is False, (d["count"], n)
assert all(r["case_reference"] == sys.argv[3] for r in d["records"])
idx = [r["index"] for r in d["records"]]
assert idx == sorted(idx) and len(set(idx)) == len(idx), idx
assert {r["message_id"] for r in d["records"]} == {"BF-REF-CLI-01", "BF-REF-CLI-02"}
EOF

expect_rc 0 A search --log "$LOG" --limit 2 --json
py "$T/out" <<'EOF' || fail "search --limit 2 --json" "2 records, truncated" "$(head -c 400 "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["count"] == 2 and d["truncated"] is True and [r["index"] for r in d["records"]] == [0, 1], d
EOF
expect_rc 0 A search --log "$LOG" --limit 2
expect_in "$T/out" "2 record(s), more not shown (raise --limit)"

expect_rc 0 A search --log "$LOG" --case NO-SUCH-CASE
expect_in "$T/out" "no record matches (case_reference=NO-SUCH-CASE)"

# ---------------------------------------------------------------------------
step "filters narrow: --action, --party, --outcome, --message-id, --officer, --from/--to"
# search_count EXPECTED FLAGS...: the tool's --json count equals EXPECTED.
search_count() {
  local want=$1
  shift
  expect_rc 0 A search --log "$LOG" --json --limit 100000 "$@"
  local got  # (The JSON itself is checked with python above; here only the count.)
  got=$(sed -n 's/.*\],"count":\([0-9]*\),"truncated":\(true\|false\)}$/\1/p' "$T/out")
  [ -n "$got" ] || fail "search $* --json ends with count and truncated" '...],"count":N,"truncated":false}' "$(tail -c 200 "$T/out")"
  expect_eq "search $* count" "$want" "$got"
}
search_count 3 --action submit
search_count 3 --action acknowledge
# Times of record 1 and of the last record: --from is inclusive, --to exclusive.
times=$(python3 -c 'import json,sys; L=open(sys.argv[1]).read().splitlines(); print(json.loads(L[1])["time"], json.loads(L[-1])["time"])' "$LOG")
read -r T1 TLAST <<< "$times"
counts=$(count_log "action=deliver;outcome=delivered" "action=deliver;party=gateway" "party=gateway" "party=eu/europol" \
  "action=track;outcome=ok" "action=track" "from=$T1;to=$TLAST" "from=$T1" "to=$TLAST" "message=$MSG2")
read -r C_DELIVERED C_DELIVER_GW C_GW C_EU C_TRACK_OK C_TRACK C_WINDOW C_FROM C_TO C_MSG2 <<< "$counts"
expect_eq "deliveries in the log" 3 "$C_DELIVERED"
[ "$C_TRACK" -ge 3 ] || fail "every submit --wait polled Track" ">= 3 track records" "$C_TRACK"
[ "$C_WINDOW" -lt "$C_FROM" ] && [ "$C_FROM" -lt "$N" ] || fail "the time window narrows" "$C_WINDOW < $C_FROM < $N" "no"

search_count 3 --action submit
search_count 3 --action acknowledge
search_count 3 --outcome delivered
search_count "$C_DELIVER_GW" --action deliver --party gateway
search_count 2 --action submit --case "$CASE_A"
search_count 1 --action acknowledge --message-id "$MSG2"
search_count 3 --officer EUROPOL-LO-17
search_count "$C_GW" --party gateway
search_count "$C_EU" --party eu/europol
search_count "$C_TRACK_OK" --action track --outcome ok
search_count 0 --party uk/nca
search_count 0 --action submit --outcome refused
search_count "$C_WINDOW" --from "$T1" --to "$TLAST"
search_count "$C_FROM" --from "$T1"
search_count "$C_TO" --to "$TLAST"
search_count "$N" --from 2000-01-01T00:00:00Z --to 2999-01-01T00:00:00Z
search_count 0 --from 2999-01-01T00:00:00Z
search_count 0 --to 2000-01-01T00:00:00Z

# ---------------------------------------------------------------------------
step "show: one exchange's timeline, submit -> deliver -> acknowledge"
expect_rc 0 A show "$MSG2" --log "$LOG"
expect_in "$T/out" "message   $MSG2"
expect_in "$T/out" "case      $CASE_A"
expect_in "$T/out" "sender    uk/border-force"
expect_in "$T/out" "to        eu/europol"
grep -q "$MSG1\|$MSG3" "$T/out" && fail "show $MSG2 shows only that message" "no $MSG1/$MSG3" "$(cat "$T/out")"
# The push's "deliver" record is written when the push call returns; Europol's
# acknowledgement (sent from its Deliver handler) may be logged just before it.
# The timeline is the log's order, so both orders are right; submit comes first.
order=$(awk '/^TIME \(UTC\)/ {t=1; next} t && NF {print $3}' "$T/out" | grep -v '^track$' | tr '\n' ' ')
case "$order" in
  "submit deliver acknowledge "|"submit acknowledge deliver ") ;;
  *) fail "show $MSG2: actions in order (track polls aside)" "submit deliver acknowledge" "$order" ;;
esac
expect_in "$T/out" "acknowledge -> eu/europol"
expect_in "$T/out" "eu/europol / EUROPOL-LO-17"
rows=$(awk '/^TIME \(UTC\)/ {t=1; next} t && NF' "$T/out" | wc -l | tr -d ' ')
expect_eq "show $MSG2 rows" "$C_MSG2" "$rows"

expect_rc 0 A show "$MSG3" --log "$LOG" --json
py "$T/out" "$MSG3" <<'EOF' || fail "show --json" "events of the message in order" "$(head -c 600 "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["message_id"] == sys.argv[2]
ev = d["events"]
assert all(e["message_id"] == sys.argv[2] for e in ev)
assert [e["index"] for e in ev] == sorted(e["index"] for e in ev)
acts = [e["action"] for e in ev if e["action"] != "track"]
assert acts in (["submit", "deliver", "acknowledge"], ["submit", "acknowledge", "deliver"]), acts
assert ev[0]["action"] == "submit" and ev[0]["outcome"] == "accepted"
EOF

expect_rc 0 A show NO-SUCH-MESSAGE --log "$LOG"
expect_in "$T/out" "no record of message 'NO-SUCH-MESSAGE'"

# ---------------------------------------------------------------------------
step "export: JSON Lines and CSV"
expect_rc 0 A export --log "$LOG" --format jsonl --out "$T/all.jsonl"
expect_in "$T/err" "exported $N record(s) to $T/all.jsonl"
cmp -s "$LOG" "$T/all.jsonl" || fail "export --format jsonl of everything" "byte-identical to the log" "differs"
expect_rc 0 A export --log "$LOG" --format jsonl --case "$CASE_B"
py "$T/out" "$CNT_B" "$CASE_B" <<'EOF' || fail "export jsonl --case to stdout" "$CNT_B JSON lines of the case" "$(head -c 400 "$T/out")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == int(sys.argv[2]), len(lines)
assert all(json.loads(l)["case_reference"] == sys.argv[3] for l in lines)
EOF

expect_rc 0 A export --log "$LOG" --format csv --out "$T/all.csv"
expect_in "$T/err" "exported $N record(s)"
py "$T/all.csv" "$LOG" <<'EOF' || fail "export --format csv" "a header and one valid row per record" "$(head -c 600 "$T/all.csv")"
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
recs = [json.loads(l) for l in open(sys.argv[2])]
head = rows[0]
# The 17 v1 columns first, then the record's format and the v2 fields.
assert head[:3] == ["index", "time", "action"] and len(head) == 25, head
assert head[17:] == ["format", "correlation_id", "officer_verified", "request_id", "replica_id", "count",
                     "range_first", "range_last"], head
assert len(rows) - 1 == len(recs), (len(rows), len(recs))
for row, r in zip(rows[1:], recs):
    assert len(row) == 25, row
    d = dict(zip(head, row))
    assert int(d["index"]) == r["index"]
    for k in ["time", "action", "actor_party", "message_id", "case_reference", "outcome", "payload_sha256", "justification",
              "correlation_id", "request_id", "replica_id"]:
        assert d[k] == r[k], (k, d[k], r[k])
    assert d["recipients"] == ";".join(r["recipients"])
    assert d["format"] == "2" and r["v"] == 2, (d["format"], r)
    assert d["officer_verified"] == ("true" if r["officer_verified"] else "false")
    for k in ["count", "range_first", "range_last"]:
        assert int(d[k]) == r[k], (k, d[k], r[k])
EOF
expect_rc 0 A export --log "$LOG" --format csv --action acknowledge --out "$T/ack.csv"
py "$T/ack.csv" <<'EOF' || fail "export csv --action acknowledge" "header + 3 rows" "$(cat "$T/ack.csv")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 3 and all(r["action"] == "acknowledge" for r in rows), rows
EOF


source "$HERE/audit_cli/tamper_and_usage.sh"
source "$HERE/audit_cli/hostile_and_gateway.sh"

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
#   audit_cli_test.sh AUDIT GATEWAY PARTNER_ENDPOINT SUBMIT PKI SOURCE_DIR
set -euo pipefail
[ $# = 6 ] || { echo "usage: $0 AUDIT GATEWAY PARTNER_ENDPOINT SUBMIT PKI SOURCE_DIR" >&2; exit 2; }
abs() { (cd "$(dirname "$1")" && echo "$PWD/$(basename "$1")"); }
AUDIT=$(abs "$1"); GATEWAY=$(abs "$2"); ENDPOINT=$(abs "$3"); SUBMIT=$(abs "$4"); PKI=$(abs "$5"); SRC=$(abs "$6")
for f in "$AUDIT" "$GATEWAY" "$ENDPOINT" "$SUBMIT" "$PKI/audit/signing.pub" "$PKI/parties/audit-ico.pem" \
         "$SRC/config/portcullis.yaml" "$SRC/adapters/examples/border-force-referral.json"; do
  [ -e "$f" ] || { echo "FAIL: missing $f" >&2; exit 1; }
done

T=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
# Helpers.

step() { echo "== $*"; }

fail() {  # fail WHAT EXPECTED GOT
  echo "FAIL: $1" >&2
  echo "  expected: $2" >&2
  echo "  got:      $3" >&2
  for f in out err; do
    if [ -s "$T/$f" ]; then echo "  --- last command's std$f:" >&2; sed 's/^/    /' "$T/$f" | head -40 >&2; fi
  done
  exit 1
}

# expect_rc WANT CMD...: runs CMD with stdout in $T/out and stderr in $T/err.
expect_rc() {
  local want=$1 rc=0
  shift
  "$@" > "$T/out" 2> "$T/err" || rc=$?
  [ "$rc" = "$want" ] || fail "exit code of: ${*##*/}" "$want" "$rc"
}

# expect_in FILE TEXT: FILE contains TEXT (fixed string).
expect_in() {
  grep -qF -- "$2" "$1" || fail "$(basename "$1") contains '$2'" "'$2'" "$(head -c 600 "$1")"
}

expect_eq() {  # expect_eq WHAT EXPECTED GOT
  [ "$2" = "$3" ] || fail "$1" "$2" "$3"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for FILE PATTERN PID: until FILE has PATTERN (10 s), or the process died.
wait_for() {
  local _
  for _ in $(seq 200); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

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
  py "$SRC/config/portcullis.yaml" "$T/gateway.yaml" "$1" "$T/witness" <<'EOF'
import sys
src, dst, europol_port, witness = sys.argv[1:]
text = open(src).read()
for old, new in [('address: "${PORTCULLIS_LISTEN:-127.0.0.1:8443}"', 'address: "127.0.0.1:0"'),
                 ('address: "127.0.0.1:9443"', 'address: "127.0.0.1:%s"' % europol_port),
                 ('checkpoint_every_records: 1000', 'checkpoint_every_records: 3'),
                 ('witness_dir: ${PORTCULLIS_WITNESS:-${PORTCULLIS_STATE:-../build/state}/witness}',
                  'witness_dir: %s' % witness)]:
    if text.count(old) != 1:
        sys.exit("config/portcullis.yaml: expected exactly one '%s'" % old)
    text = text.replace(old, new)
open(dst, 'w').write(text)
EOF
}

# start_gateway OUT [CONFIG]: starts it, sets GW_PID and GW (address).
start_gateway() {
  "$GATEWAY" --config "${2:-$T/gateway.yaml}" > "$1" 2>&1 & GW_PID=$!
  pids+=("$GW_PID")
  wait_for "$1" "listening on port" "$GW_PID" || { cat "$1" >&2; fail "gateway starts" "listening on port N" "see above"; }
  GW=127.0.0.1:$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$1")
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

# ---------------------------------------------------------------------------
step "tampering, found through the tool"
MID=$((N / 2))
# tampered NAME: a fresh copy of the log and its checkpoints under $T/NAME/.
tampered() { rm -rf "${T:?}/$1"; mkdir "$T/$1"; cp "$LOG" "$LOG.checkpoints" "$T/$1/"; echo "$T/$1/audit.log"; }

# expect_problem LOG KIND INDEX [extra verify flags]: text and --json agree.
expect_problem() {
  local log=$1 kind=$2 index=$3
  shift 3
  expect_rc 1 A verify --log "$log" --public-key "$PUB" "$@"
  expect_in "$T/out" "FAILED: $kind at record $index"
  expect_rc 1 A verify --log "$log" --public-key "$PUB" --json "$@"
  py "$T/out" "$kind" "$index" <<'EOF' || fail "verify --json names the problem" "kind=$kind index=$index" "$(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is False, d
assert d["problem"]["kind"] == sys.argv[2] and d["problem"]["index"] == int(sys.argv[3]), d["problem"]
assert d["problem"]["message"], d
EOF
}

# One byte of record MID flipped (a letter's case in its outcome).
L=$(tampered flip)
py "$L" "$MID" <<'EOF'
import sys
path, mid = sys.argv[1], int(sys.argv[2])
lines = open(path, "rb").read().split(b"\n")
at = lines[mid].index(b'"outcome":"') + len(b'"outcome":"')
b = bytearray(lines[mid]); b[at] ^= 0x20; lines[mid] = bytes(b)
open(path, "wb").write(b"\n".join(lines))
EOF
expect_problem "$L" modified "$MID" --witness "$WIT"
expect_in "$T/out" "record $MID: record bytes do not match its hash"

# Record MID changed and its own hash recomputed: the next record's prev gives it away.
rehash() {  # rehash LOG MID all|one
  py "$@" <<'EOF'
import hashlib, json, sys
path, mid, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(path).read().splitlines()
def seal(line, prev):
    body = line[:line.index(',"prev":"')] + ',"prev":"' + prev + '"'
    return body + ',"hash":"' + hashlib.sha256(body.encode()).hexdigest() + '"}'
lines[mid] = lines[mid].replace('"detail":"', '"detail":"nothing to see', 1)
prev = json.loads(lines[mid - 1])["hash"]
for i in range(mid, len(lines) if mode == "all" else mid + 1):
    lines[i] = seal(lines[i], prev)
    prev = json.loads(lines[i])["hash"]
open(path, "w").write("\n".join(lines) + "\n")
EOF
}
L=$(tampered rehash-one)
rehash "$L" "$MID" one
expect_problem "$L" modified "$MID"
expect_in "$T/out" "record $MID was changed and its hash recomputed"

# The whole chain recomputed from MID on: only the signed checkpoints catch it,
# at the last checkpoint size at or before MID (even with the local checkpoints gone, via the witness).
GOOD=$(python3 -c 'import json,sys; print(max([0]+[json.loads(l)["size"] for l in open(sys.argv[1]) if json.loads(l)["size"] <= int(sys.argv[2])]))' "$WIT" "$MID")
L=$(tampered rewrite)
rehash "$L" "$MID" all
expect_problem "$L" rewritten "$GOOD" --witness "$WIT"
expect_in "$T/out" "the chain was recomputed without the signing key"
rm "$L.checkpoints"
expect_problem "$L" rewritten "$GOOD" --witness "$WIT"

# Line MID deleted.
L=$(tampered delete)
sed -i "$((MID + 1))d" "$L"
expect_problem "$L" deleted "$MID" --witness "$WIT"
expect_in "$T/out" "1 record(s) missing: $MID (the next record present is $((MID + 1)))"

# Two lines swapped.
L=$(tampered swap)
sed -i "$((MID + 1)){h;d};$((MID + 2)){G}" "$L"
expect_problem "$L" reordered "$MID"

# Tail dropped, checkpoints kept: truncated at the log's new length.
L=$(tampered truncate)
head -n $((N - 2)) "$LOG" > "$L"
expect_problem "$L" truncated "$((N - 2))" --witness "$WIT"
expect_in "$T/out" "the log holds $((N - 2)) records but a checkpoint signed at"
# ... and the local checkpoints trimmed to match: the witness still holds the line.
head -n 1 "$LOG.checkpoints" > "$L.checkpoints"
expect_problem "$L" truncated "$((N - 2))" --witness "$WIT"

# A checkpoint signature altered.
L=$(tampered badsig)
py "$L.checkpoints" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
k = lines[0].index('"signature":"') + len('"signature":"')
lines[0] = lines[0][:k] + ("0" if lines[0][k] != "0" else "1") + lines[0][k + 1:]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
EOF
CP0=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["size"])' "$LOG.checkpoints")
expect_problem "$L" checkpoint_invalid "$CP0"

# The gateway stopped before its last checkpoint (crash): what follows the
# previous checkpoint is an unsigned tail, a failure unless deliberately allowed.
L=$(tampered unsigned)
head -n -1 "$LOG.checkpoints" > "$L.checkpoints"
PREV_CP=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["size"])' "$L.checkpoints")
[ "$PREV_CP" -lt "$N" ] || fail "an earlier checkpoint" "size below $N" "$PREV_CP"
expect_problem "$L" unsigned_tail "$PREV_CP"
expect_in "$T/out" "records $PREV_CP to $((N - 1))"
expect_in "$T/out" "not covered by any signed checkpoint"
expect_rc 0 A verify --log "$L" --public-key "$PUB" --allow-unsigned-tail
expect_in "$T/out" "note: records $PREV_CP to $((N - 1))"
expect_in "$T/out" "not yet signed, not verified"
expect_in "$T/out" "note: no witness copy was given: truncating the log and its checkpoints file together cannot be detected"

# The untouched log still verifies (the copies did not share anything with it).
expect_rc 0 A verify --log "$LOG" --public-key "$PUB" --witness "$WIT"

# A tampered log through search: a record that no longer parses is reported, exit 3.
L=$(tampered garbled)
sed -i "$((MID + 1))s/^{\"index\"/{\"indexx\"/" "$L"
expect_rc 3 A search --log "$L"
expect_in "$T/err" "$L:$((MID + 1)):"
expect_in "$T/err" "run \`portcullis-audit verify\`"

# ---------------------------------------------------------------------------
step "usage errors exit 2 with words; unreadable input exits 3 naming it"
expect_rc 0 A --help
expect_in "$T/out" "exit codes: 0 fine, 1 verification found a problem, 2 usage error, 3 input could not be read"
expect_rc 2 A
expect_in "$T/err" "no command given"
expect_rc 2 A frobnicate --log "$LOG"
expect_in "$T/err" "unknown command 'frobnicate'"
expect_rc 2 A search --log "$LOG" --bogus value
expect_in "$T/err" "unknown option '--bogus'"
expect_in "$T/err" "portcullis-audit --help"
expect_rc 2 A search --log "$LOG" --bogus
expect_in "$T/err" "--bogus"
expect_rc 2 A verify
expect_in "$T/err" "give exactly one of --log FILE or --gateway HOST:PORT"
expect_rc 2 A search --case "$CASE_A"
expect_in "$T/err" "give exactly one of --log FILE or --gateway HOST:PORT"
expect_rc 2 A search --log "$LOG" --gateway 127.0.0.1:1
expect_in "$T/err" "give exactly one of"
expect_rc 2 A search --log
expect_in "$T/err" "--log needs a value"
expect_rc 2 A show --log "$LOG"
expect_in "$T/err" "show needs a MESSAGE_ID"
expect_rc 2 A search --log "$LOG" stray
expect_in "$T/err" "unexpected argument 'stray'"
expect_rc 2 A export --log "$LOG" --format xml
expect_in "$T/err" "--format must be jsonl or csv, not 'xml'"
expect_rc 2 A search --log "$LOG" --from yesterday
expect_in "$T/err" "--from 'yesterday' is not an RFC 3339 time"
expect_rc 2 A search --log "$LOG" --limit 0
expect_in "$T/err" "--limit must be a positive number"
expect_rc 2 A search --gateway 127.0.0.1:1 --reason why
expect_in "$T/err" "--gateway needs your auditor certificate"
expect_rc 2 A verify --gateway 127.0.0.1:1 --as audit-ico --pki "$PKI"
expect_in "$T/err" "verify --gateway needs --public-key"

expect_rc 3 A verify --log "$T/no-such.log"
expect_in "$T/err" "cannot read audit log $T/no-such.log"
expect_rc 3 A search --log "$T/no-such.log"
expect_in "$T/err" "cannot read $T/no-such.log"
expect_rc 3 A show "$MSG1" --log "$T/no-such.log"
expect_in "$T/err" "$T/no-such.log"
expect_rc 3 A export --log "$T/no-such.log" --format csv
expect_in "$T/err" "$T/no-such.log"
expect_rc 3 A verify --log "$LOG" --witness "$T/no-such-witness.log"
expect_in "$T/err" "witness file not found: $T/no-such-witness.log"
expect_rc 3 A verify --log "$LOG" --public-key "$T/no-such.pub"
expect_in "$T/err" "no-such.pub"
expect_rc 3 A export --log "$LOG" --format csv --out "$T/no-such-dir/x.csv"
expect_in "$T/err" "cannot write $T/no-such-dir/x.csv"

# ---------------------------------------------------------------------------
step "a hostile record appended while the gateway is stopped: unsigned, shown escaped, adopted at restart"
# A correctly chained v2 line, as anyone who can write the disk could append:
# terminal escapes, CR, NUL, BEL, a bidi override and spreadsheet formulas.
py "$LOG" <<'EOF'
import hashlib, json, sys
path = sys.argv[1]
lines = open(path).read().splitlines()
d = lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"))
fields = [("time", "2026-11-28T18:00:00.000000Z"), ("action", "track"), ("actor_party", "uk/nca"),
          ("actor_officer", "NCA-\x1b[2J\x1b[31mFORGED\rOK"), ("officer_verified", False),
          ("message_id", "FORGED-\u202egnp.exe"), ("correlation_id", "=HYPERLINK(\"http://evil\")"),
          ("case_reference", "+CASE"), ("sender", "uk/nca"), ("recipients", ["-1+1"]), ("classification", ""),
          ("handling", ""), ("justification", "@SUM(A1)\x00hidden"), ("outcome", "ok"), ("reason", ""),
          ("detail", "\x1b]0;pwned\x07 done"), ("payload_sha256", ""), ("peer", ""), ("request_id", ""),
          ("replica_id", ""), ("count", 0), ("range_first", 0), ("range_last", 0)]
body = '{"index":%d,"v":2,' % len(lines) + ",".join(d(k) + ":" + d(v) for k, v in fields)
body += ',"prev":"' + json.loads(lines[-1])["hash"] + '"'
lines.append(body + ',"hash":"' + hashlib.sha256(body.encode()).hexdigest() + '"}')
open(path, "w").write("\n".join(lines) + "\n")
EOF
# no_raw FILE WHAT: none of NUL, BEL, ESC, CR, nor a raw U+202E, in FILE.
no_raw() {
  python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); bad=[c for c in (b"\0",b"\a",b"\x1b",b"\r","\u202e".encode()) if c in d]; sys.exit(1 if bad else 0)' "$1" ||
    fail "$2: no raw control bytes" "none of NUL BEL ESC CR U+202E" "$(od -c "$1" | head -20)"
}
expect_problem "$LOG" unsigned_tail "$N" --witness "$WIT"
expect_in "$T/out" "records $N to $N (1 record(s)) are not covered"
expect_rc 0 A verify --log "$LOG" --public-key "$PUB" --witness "$WIT" --allow-unsigned-tail
expect_in "$T/out" "note: records $N to $N (1) are after the last checkpoint"

expect_rc 0 A search --log "$LOG" --party uk/nca
no_raw "$T/out" "search"
expect_in "$T/out" 'NCA-\x1b[2J\x1b[31mFORGED\rOK  '   # The officer id whole: the table never cuts an id.
expect_in "$T/out" 'FORGED-\u202egnp.exe'
expect_in "$T/out" 'answers =HYPERLINK("http://evil")'
F_MSG=$(python3 -c 'print("FORGED-\u202egnp.exe")')
expect_rc 0 A show "$F_MSG" --log "$LOG"
no_raw "$T/out" "show"
expect_in "$T/out" 'message   FORGED-\u202egnp.exe'
expect_in "$T/out" 'answers   =HYPERLINK("http://evil")'
expect_in "$T/out" 'basis     @SUM(A1)\x00hidden'
expect_in "$T/out" 'uk/nca / NCA-\x1b[2J\x1b[31mFORGED\rOK'
expect_in "$T/out" '\x1b]0;pwned\x07 done'
expect_rc 0 A export --log "$LOG" --format csv --party uk/nca
no_raw "$T/out" "export csv"
expect_in "$T/out" '"NCA-\x1b[2J\x1b[31mFORGED\rOK"'
expect_in "$T/out" "\"'+CASE\""
expect_in "$T/out" "\"'-1+1\""
expect_in "$T/out" "\"'@SUM(A1)\\x00hidden\""
expect_in "$T/out" "\"'=HYPERLINK(\"\"http://evil\"\")\""
expect_eq "export csv: header and one row" 2 "$(wc -l < "$T/out" | tr -d ' ')"

step "through the gateway's Audit service (restarted on the same state)"
start_gateway "$T/gateway2.out"
expect_in "$T/gateway2.out" "adopting unsigned records $N to $N"
REASON="ICO complaint 2026/117: check handling of $CASE_A"

expect_rc 0 A search --gateway "$GW" --as audit-ico --pki "$PKI" --reason "$REASON" --case "$CASE_A" --json
py "$T/out" "$CNT_A" "$CASE_A" <<'EOF' || fail "search --gateway --case --json" "the same $CNT_A records as the file" "$(head -c 600 "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["count"] == int(sys.argv[2]) and d["truncated"] is False, d["count"]
assert all(r["case_reference"] == sys.argv[3] for r in d["records"])
EOF
A search --log "$T/log-at-rest" --case "$CASE_A" --json > "$T/file-search.json"
python3 -c 'import json,sys; a,b=(json.load(open(p))["records"] for p in sys.argv[1:]); assert a==b' \
  "$T/out" "$T/file-search.json" || fail "gateway and file search agree" "identical records" "differ"

expect_rc 0 A search --gateway "$GW" --as audit-ico --pki "$PKI" --reason "$REASON" --action acknowledge
expect_in "$T/out" "3 record(s)"
expect_in "$T/out" "EUROPOL-LO-17"

expect_rc 0 A show "$MSG3" --gateway "$GW" --as audit-ico --pki "$PKI" --reason "$REASON"
expect_in "$T/out" "message   $MSG3"
expect_in "$T/out" "acknowledge -> eu/europol"

expect_rc 0 A export --gateway "$GW" --as audit-ico --pki "$PKI" --reason "$REASON" --format jsonl --message-id "$MSG1"
# (Against the log as it was: the gateway records each query under the message id it asked about.)
expect_eq "export --gateway --message-id lines" "$(OLOG=$T/log-at-rest count_log "message=$MSG1")" "$(wc -l < "$T/out" | tr -d ' ')"

expect_rc 2 A search --gateway "$GW" --as audit-ico --pki "$PKI" --case "$CASE_A"
expect_in "$T/err" "--reason is required through the gateway"

expect_rc 3 A search --gateway "$GW" --as uk-border-force --pki "$PKI" --reason "curious"
expect_in "$T/err" "PERMISSION_DENIED"
expect_in "$T/err" "'uk/border-force' is not an auditor"

expect_rc 0 A verify --gateway "$GW" --as audit-ico --pki "$PKI" --public-key "$PUB" --witness "$WIT"
expect_in "$T/out" "OK: "
got=$(sed -n 's/.* \([0-9][0-9]*\) witness checkpoint(s).*/\1/p' "$T/out")
[ -n "$got" ] && [ "$got" -ge "$CPS" ] || fail "verify --gateway checks the witness" ">= $CPS witness checkpoints" "'$got'"
expect_rc 0 A verify --gateway "$GW" --as audit-ico --pki "$PKI" --public-key "$PUB" --json
py "$T/out" "$N" <<'EOF' || fail "verify --gateway --json" "ok, covering at least the N records" "$(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is True and "problem" not in d, d
assert max(d.get("tree_size", 0), d.get("records", 0)) >= int(sys.argv[2]), d
# It waited for a checkpoint covering every record it read: no unsigned tail.
assert d["signed_size"] == d["records"], d
EOF

expect_rc 3 A verify --gateway "$GW" --as uk-border-force --pki "$PKI" --public-key "$PUB"
expect_in "$T/err" "PERMISSION_DENIED"
expect_rc 3 A search --gateway "127.0.0.1:$(free_port)" --as audit-ico --pki "$PKI" --reason "$REASON"
expect_in "$T/err" "UNAVAILABLE"

# prove: the sender proves its receipt's record; others may not; auditors may.
expect_rc 0 A prove 0 --gateway "$GW" --as uk-border-force --pki "$PKI" --public-key "$PUB"
expect_in "$T/out" "PROVED: record 0 (submit $MSG1"
expect_rc 0 A prove 0 --gateway "$GW" --as audit-ico --pki "$PKI" --public-key "$PUB" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["proved"] is True and d["index"] == 0 and d["record"]["message_id"] == sys.argv[2], d' "$T/out" "$MSG1" ||
  fail "prove --json" "proved, index 0, the record of $MSG1" "$(cat "$T/out")"
expect_rc 3 A prove 0 --gateway "$GW" --as eu-fr-dnpaf --pki "$PKI" --public-key "$PUB"
expect_in "$T/err" "PERMISSION_DENIED"
expect_rc 2 A prove 0 --gateway "$GW" --as uk-border-force --pki "$PKI"
expect_in "$T/err" "prove needs --public-key"
expect_rc 2 A prove first --log "$LOG" --public-key "$PUB"
expect_in "$T/err" "prove needs the record's INDEX"

stop "$GW_PID"

step "prove from the files, and on an altered copy"
expect_rc 0 A prove 1 --log "$LOG" --public-key "$PUB"
expect_in "$T/out" "PROVED: record 1"
mkdir "$T/altered"
cp "$LOG.checkpoints" "$T/altered/audit.log.checkpoints"
sed '2s/"outcome":"ok"/"outcome":"OK"/; 2s/"outcome":"delivered"/"outcome":"DELIVERED"/; 2s/"outcome":"accepted"/"outcome":"ACCEPTED"/' "$LOG" > "$T/altered/audit.log"
cmp -s "$LOG" "$T/altered/audit.log" && fail "the copy was altered" "record 1 changed" "unchanged"
expect_rc 1 A prove 1 --log "$T/altered/audit.log" --public-key "$PUB"
expect_in "$T/out" "NOT PROVED"

step "a gateway rolled back to an earlier copy of its log: the witness gives it away"
# The state as it was at the first checkpoint (the gateway rebuilds its .leaves
# file from the log); no witness folder in its config, so it starts.
mkdir "$T/rollback"
K=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["size"])' "$LOG.checkpoints")
head -n "$K" "$LOG" > "$T/rollback/audit.log"
head -n 1 "$LOG.checkpoints" > "$T/rollback/audit.log.checkpoints"
grep -v '^  witness_dir:' "$T/gateway.yaml" > "$T/rollback.yaml"
PORTCULLIS_STATE=$T/rollback start_gateway "$T/gateway3.out" "$T/rollback.yaml"
expect_rc 1 A verify --gateway "$GW" --as audit-ico --pki "$PKI" --public-key "$PUB" --witness "$WIT"
grep -qE "^FAILED: (truncated|witness_mismatch|rewritten) at record" "$T/out" ||
  fail "verify --gateway on a rolled-back gateway" "FAILED: truncated|witness_mismatch|rewritten at record ..." "$(cat "$T/out")"
expect_rc 1 A verify --gateway "$GW" --as audit-ico --pki "$PKI" --public-key "$PUB" --witness "$WIT" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is False and d["problem"]["kind"] in ("truncated","witness_mismatch","rewritten"), d' "$T/out" ||
  fail "verify --gateway --json on a rolled-back gateway" "ok=false, problem truncated|witness_mismatch|rewritten" "$(cat "$T/out")"
expect_rc 0 A verify --gateway "$GW" --as audit-ico --pki "$PKI" --public-key "$PUB"   # Without the witness it cannot know.
stop "$GW_PID"

step "the auditors' own calls are in the log, which still verifies and lists the adopted record"
expect_rc 0 A verify --log "$LOG" --public-key "$PUB" --witness "$WIT"
expect_in "$T/out" "hash chain intact"
expect_in "$T/out" "adopted unsigned: records $N to $N (record $((N + 1)),"
expect_rc 0 A verify --log "$LOG" --public-key "$PUB" --witness "$WIT" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); n=int(sys.argv[2]); a=d["adopted"]; assert d["ok"] and len(a)==1 and a[0]["first"]==n and a[0]["last"]==n and a[0]["record"]==n+1, d' "$T/out" "$N" ||
  fail "verify --json lists the adopted range" "adopted [{first: $N, last: $N, record: $((N + 1))}]" "$(cat "$T/out")"
expect_rc 0 A search --log "$LOG" --action adopt_unsigned
expect_in "$T/out" "records $N-$N; count 1"
N2=$(wc -l < "$LOG" | tr -d ' ')
[ "$N2" -gt "$N" ] || fail "auditor calls were recorded" "more than $N records" "$N2"
head -n "$N" "$LOG" | cmp -s - "$T/log-at-rest" || fail "the restart kept the log" "the first $N records unchanged" "changed"
expect_rc 0 A search --log "$LOG" --action audit_query --party audit/ico --json
py "$T/out" "$REASON" <<'EOF' || fail "audit_query records carry the reason" "4 queries with the reason, none without one" "$(head -c 800 "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
recs = d["records"]
assert all(r["actor_party"] == "audit/ico" and r["outcome"] == "ok" and r["justification"] for r in recs), recs
# search, search, show, export with --reason (verify --gateway may add its own).
assert sum(r["justification"] == sys.argv[2] for r in recs) >= 4, [r["justification"] for r in recs]
EOF
search_count 1 --action audit_query --party uk/border-force --outcome refused
search_count 1 --action audit_checkpoint --party uk/border-force --outcome refused

echo "ok: audit_cli"

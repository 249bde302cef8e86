# Part of audit_cli_test.sh (sourced, same shell and log): a hostile record appended while the
# gateway is stopped (unsigned, shown escaped, adopted at restart); the same tool through the
# gateway's Audit service; prove; a gateway rolled back to an earlier copy of its log; the
# auditors' own calls in the log.
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


# Part of audit_cli_test.sh (sourced, same shell and log): tampering found through the tool by
# kind and index; usage errors (exit 2, with words), each command's --help; unreadable input (3).
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
expect_cli_conventions "$AUDIT" verify search show export prove
expect_rc 0 A search --help
expect_in "$T/out" "--message-id"
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
expect_rc 2 A search --log --json
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


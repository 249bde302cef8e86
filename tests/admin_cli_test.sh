#!/usr/bin/env bash
# End to end, the operator's tool portcullis-admin: a real gateway (shipped
# config, max_attempts 1) whose Europol endpoint is down turns a referral into
# a FAILED dead letter; the operator lists it (table and --json), sees it in
# stats, retries it once Europol is up (delivered once), and the calls are in
# the audit log. Also: usage errors (2), a non-operator refused (1), and an
# endpoint's hostile error text shown escaped (Python endpoint, real mTLS).
#
#   admin_cli_test.sh ADMIN GATEWAY PARTNER_ENDPOINT SUBMIT PKI SOURCE_DIR
set -euo pipefail
[ $# = 6 ] || { echo "usage: $0 ADMIN GATEWAY PARTNER_ENDPOINT SUBMIT PKI SOURCE_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/support/cli_test_lib.sh"  # $T, $pids, step, fail, expect_*, free_port, wait_for.
ADMIN=$(abs "$1"); GATEWAY=$(abs "$2"); ENDPOINT=$(abs "$3"); SUBMIT=$(abs "$4"); PKI=$(abs "$5"); SRC=$(abs "$6")

step "gateway on loopback, Europol down"
mkdir -p "$T/state/witness" "$T/inbox"   # The shipped config keeps a witness folder.
export PORTCULLIS_PKI=$PKI PORTCULLIS_STATE=$T/state
EP_PORT=$(free_port)
OFFICER_ASSERTIONS=optional gateway_config "$T/gateway.yaml" "$EP_PORT" 'max_attempts: 0 ' 'max_attempts: 1 '
start_gateway "$T/gateway.out"
OPS=(--gateway "$GW" --as ops-operator --pki "$PKI")

step "usage errors exit 2"
expect_rc 2 "$ADMIN"
expect_rc 2 "$ADMIN" dead-letters "${OPS[@]}"
expect_in "$T/err" "--reason is required"
expect_rc 2 "$ADMIN" retry "${OPS[@]}" --reason r --officer o
expect_in "$T/err" "retry needs a DELIVERY_ID"
expect_rc 2 "$ADMIN" cancel abc "${OPS[@]}" --reason r
expect_in "$T/err" "--officer is required"
expect_rc 0 "$ADMIN" --help
expect_in "$T/out" "dead-letters"
expect_cli_conventions "$ADMIN" dead-letters retry cancel stats
expect_rc 2 "$ADMIN" stats "${OPS[@]}" --destination eu/europol
expect_in "$T/err" "stats does not take --destination"
step "portcullis-submit and portcullis-partner-endpoint: the same conventions, one set of TLS flags"
expect_cli_conventions "$SUBMIT"
expect_cli_conventions "$ENDPOINT"
expect_rc 0 "$SUBMIT" --help
expect_in "$T/out" "--as,--party STEM"
expect_rc 2 "$SUBMIT" --gateway "$GW" --envelope x.json --pki "$PKI"
expect_in "$T/err" "TLS files incomplete"
# Explicit --cert/--key without --as: --ca and --crl-dir come only from the command line (or an explicit
# --pki), never silently from $PORTCULLIS_PKI or build/pki.
BF_FILES=(--cert "$PKI/parties/uk-border-force.pem" --key "$PKI/parties/uk-border-force.key")
expect_rc 2 "$SUBMIT" --gateway "$GW" --envelope x.json "${BF_FILES[@]}"
expect_in "$T/err" "TLS files incomplete: give --as STEM (or --party), or --ca"
expect_rc 2 "$SUBMIT" --gateway "$GW" --envelope x.json "${BF_FILES[@]}" --ca "$PKI/ca/bundle.pem"
expect_in "$T/err" "TLS files incomplete: give --as STEM (or --party), or --crl-dir"
expect_rc 2 "$ENDPOINT" --inbox "$T/inbox" --no-ack "${BF_FILES[@]}" --crl-dir "$PKI/crl"
expect_in "$T/err" "TLS files incomplete: give --as STEM (or --party), or --ca"
# Complete: all four files, --cert/--key with an explicit --pki, or --as with the default PKI (an unreadable
# envelope is then a runtime failure, 1, not a usage error).
expect_rc 1 "$SUBMIT" --gateway "$GW" --envelope "$T/none.json" "${BF_FILES[@]}" --ca "$PKI/ca/bundle.pem" \
  --crl-dir "$PKI/crl"
expect_rc 1 "$SUBMIT" --gateway "$GW" --envelope "$T/none.json" "${BF_FILES[@]}" --pki "$PKI"
expect_rc 1 "$SUBMIT" --gateway "$GW" --envelope "$T/none.json" --as uk-border-force

step "a referral to Europol becomes a dead letter"
expect_rc 0 "$SUBMIT" --gateway "$GW" --pki "$PKI" --party uk-border-force \
  --envelope "$SRC/adapters/examples/border-force-referral.json" --message-id BF-REF-ADMIN-01 --created-now
ID=""
for _ in $(seq 100); do
  "$ADMIN" dead-letters "${OPS[@]}" --reason "INC-42 Europol outage" --json > "$T/out" 2> "$T/err" || true
  ID=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])).get("dead_letters",[]); print(d[0]["delivery_id"] if d else "")' "$T/out" 2>/dev/null || true)
  [ -n "$ID" ] && break
  sleep 0.1
done
[ -n "$ID" ] || fail "a dead letter is listed" "one FAILED delivery" "$(cat "$T/out")"
expect_in "$T/out" '"state":"FAILED"'
expect_in "$T/out" '"message_id":"BF-REF-ADMIN-01"'
expect_rc 0 "$ADMIN" dead-letters "${OPS[@]}" --destination eu/europol --reason "INC-42"
expect_in "$T/out" "DELIVERY_ID"
expect_in "$T/out" "$ID"
expect_in "$T/out" "1 dead letter(s)"
expect_rc 0 "$ADMIN" stats "${OPS[@]}"
expect_in "$T/out" "eu/europol"
expect_rc 0 "$ADMIN" stats "${OPS[@]}" --json
python3 - "$T/out" <<'EOF' || fail "stats --json for eu/europol" "dead_letters_failed 1" "$(cat "$T/out")"
import json, sys
d = {x["destination"]: x for x in json.load(open(sys.argv[1]))["destinations"]}
e = d["eu/europol"]
assert e["dead_letters_failed"] == "1", e
assert e["dead_lettered"] == "1", e
EOF

step "a non-operator is refused (exit 1)"
expect_rc 1 "$ADMIN" stats --gateway "$GW" --as uk-nca --pki "$PKI"
expect_in "$T/err" "NOT_AN_OPERATOR"

step "unknown id (exit 1)"
expect_rc 1 "$ADMIN" cancel 0123456789abcdef0123456789abcdef "${OPS[@]}" --reason r --officer OPS-7
expect_in "$T/err" "DELIVERY_NOT_FOUND"

step "Europol is back: retry delivers it"
"$ENDPOINT" --listen "127.0.0.1:$EP_PORT" --pki "$PKI" --party eu-europol --inbox "$T/inbox" \
  --gateway "$GW" --officer EUROPOL-LO-17 > "$T/europol.out" 2>&1 & EP_PID=$!
pids+=("$EP_PID")
wait_for "$T/europol.out" "listening on" "$EP_PID" || fail "Europol endpoint starts" "listening" "$(cat "$T/europol.out")"
expect_rc 0 "$ADMIN" retry "$ID" "${OPS[@]}" --reason "Europol endpoint restored" --officer OPS-7
expect_in "$T/out" "is now ACCEPTED"
# max_attempts 1: a retry gets one attempt, which fails at once while the
# gateway's channel to Europol is still in its reconnect backoff (up to 5 s);
# the delivery is then a dead letter again and the operator retries again.
for _ in $(seq 15); do
  for _ in $(seq 20); do [ "$(ls "$T/inbox" | wc -l)" -ge 1 ] && break; sleep 0.1; done
  [ "$(ls "$T/inbox" | wc -l)" -ge 1 ] && break
  "$ADMIN" retry "$ID" "${OPS[@]}" --reason "Europol endpoint restored" --officer OPS-7 > /dev/null 2>&1 || true
done
[ "$(ls "$T/inbox" | wc -l | tr -d ' ')" = 1 ] || fail "referral in the Europol inbox" 1 "$(ls "$T/inbox")"
expect_rc 1 "$ADMIN" retry "$ID" "${OPS[@]}" --reason again --officer OPS-7
expect_in "$T/err" "NOT_A_DEAD_LETTER"

step "every call is in the audit log"
audit_records "$T/records"
python3 - "$T/records" <<'EOF' || fail "audit records of the operator's calls" "see above" "missing"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
def n(**kv): return sum(all(r.get(k) == v for k, v in kv.items()) for r in recs)
assert n(action="dead_letter_list", actor_party="ops/operator", outcome="ok") >= 2
assert n(action="dead_letter_retry", actor_officer="OPS-7", justification="Europol endpoint restored", outcome="ok",
         message_id="BF-REF-ADMIN-01") >= 1
assert n(action="dead_letter_retry", outcome="refused", reason="NOT_A_DEAD_LETTER", justification="again") == 1
assert n(action="dead_letter_cancel", outcome="refused", reason="DELIVERY_NOT_FOUND") == 1
assert n(action="delivery_stats", actor_party="uk/nca", outcome="refused", reason="NOT_AN_OPERATOR") == 1
assert n(action="deliver", message_id="BF-REF-ADMIN-01", outcome="delivered") == 1
EOF

step "an endpoint's hostile error text is shown escaped in the dead-letter list (no raw ESC, CR, U+202E)"
# Europol's endpoint replaced by one (Python, real mTLS with Europol's
# certificate) that refuses every delivery with terminal escapes in its words.
kill -TERM "$EP_PID"; wait "$EP_PID" 2>/dev/null || true
mkdir -p "$T/py"
/usr/bin/python3 -m grpc_tools.protoc -I "$SRC/protos" -I /usr/share/gocode/src/github.com/gogo/googleapis \
  --python_out="$T/py" --grpc_python_out="$T/py" "$SRC/protos/portcullis/v1/exchange.proto" \
  /usr/share/gocode/src/github.com/gogo/googleapis/google/rpc/status.proto || fail "python stubs" "generated" "protoc failed"
/usr/bin/python3 - "$T/py" "$EP_PORT" "$PKI" > "$T/hostile.out" 2>&1 <<'EOF' & H_PID=$!
import sys, time
from concurrent import futures
sys.path.insert(0, sys.argv[1])
import grpc
from google.rpc import status_pb2
from portcullis.v1 import exchange_pb2, exchange_pb2_grpc
class Hostile(exchange_pb2_grpc.PartnerEndpointServicer):
    # Its own refusal (the words a party reads back; transport text never is).
    def Deliver(self, request, context):
        words = "\rFORGED\u202e\x1b[2J!"
        status = status_pb2.Status(code=grpc.StatusCode.INVALID_ARGUMENT.value[0], message="HOSTILE: " + words)
        status.details.add().Pack(exchange_pb2.Refusal(reason="HOSTILE", message=words))
        context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "HOSTILE: " + words)
pki = sys.argv[3]
read = lambda p: open(p, "rb").read()
creds = grpc.ssl_server_credentials([(read(pki + "/parties/eu-europol.key"), read(pki + "/parties/eu-europol.pem"))],
                                    root_certificates=read(pki + "/ca/bundle.pem"), require_client_auth=True)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
exchange_pb2_grpc.add_PartnerEndpointServicer_to_server(Hostile(), server)
server.add_secure_port("127.0.0.1:" + sys.argv[2], creds)
server.start()
print("listening", flush=True)
server.wait_for_termination()
EOF
pids+=("$H_PID")
wait_for "$T/hostile.out" "listening" "$H_PID" || fail "hostile endpoint starts" "listening" "$(cat "$T/hostile.out")"
expect_rc 0 "$SUBMIT" --gateway "$GW" --pki "$PKI" --party uk-border-force \
  --envelope "$SRC/adapters/examples/border-force-referral.json" --message-id BF-REF-ADMIN-02 --created-now
for _ in $(seq 100); do
  "$ADMIN" dead-letters "${OPS[@]}" --reason "INC-43" --json > "$T/out" 2> "$T/err" || true
  grep -q 'FORGED' "$T/out" && break
  sleep 0.1
done
expect_in "$T/out" 'BF-REF-ADMIN-02'
expect_in "$T/out" 'FORGED'
expect_rc 0 "$ADMIN" dead-letters "${OPS[@]}" --destination eu/europol --reason "INC-43"
python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); bad=[c for c in (b"\x1b",b"\r","\u202e".encode()) if c in d]; sys.exit(1 if bad else 0)' "$T/out" ||
  fail "dead-letters table: no raw control characters" "none of ESC CR U+202E" "$(od -c "$T/out" | head -20)"
expect_in "$T/out" 'BF-REF-ADMIN-02'
expect_in "$T/out" 'HOSTILE: \rFORGED\u202e\x1b[2J!'
echo "PASS"

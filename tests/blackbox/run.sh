#!/usr/bin/env bash
# Black-box probes of the gateway (tests/blackbox/README.md).
#
#   tests/blackbox/run.sh GATEWAY_BIN AUDIT_BIN SOURCE_DIR [unittest args, e.g. -k revocation]
#
# Makes a fresh dev PKI and state folder, generates Python stubs from protos/
# (and google/rpc/*.proto from Debian's golang-github-gogo-googleapis-dev) into
# a temporary folder, starts the gateway with the shipped config on a free port,
# runs the probes (Python unittest, Debian's /usr/bin/python3), stops the
# gateway and verifies its log offline. Anything missing fails the run; nothing
# is skipped.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 GATEWAY_BIN AUDIT_BIN SOURCE_DIR [unittest args]" >&2; exit 2; }
abs() { (cd "$(dirname "$1")" && echo "$PWD/$(basename "$1")"); }
GATEWAY_BIN=$(abs "$1"); AUDIT_BIN=$(abs "$2"); SRC=$(abs "$3"); shift 3
PY=${PROBE_PYTHON:-/usr/bin/python3}
GOOGLEAPIS=${GOOGLEAPIS_PROTO_DIR:-/usr/share/gocode/src/github.com/gogo/googleapis}
# The stand-in identity provider (officer assertions), built beside portcullis-audit.
DEVTOKEN_BIN=${PROBE_DEVTOKEN_BIN:-$(dirname "$AUDIT_BIN")/portcullis-devtoken}
HERE="$SRC/tests/blackbox"

die() { echo "blackbox: FAIL: $*" >&2; exit 1; }
for f in "$GATEWAY_BIN" "$AUDIT_BIN" "$DEVTOKEN_BIN" "$SRC/config/portcullis.yaml" "$SRC/certs/gen-dev-pki.sh" \
         "$GOOGLEAPIS/google/rpc/status.proto" "$GOOGLEAPIS/google/rpc/error_details.proto"; do
  [ -e "$f" ] || die "missing $f"
done
[ -x "$PY" ] || die "missing $PY (Debian's python3)"
"$PY" -c 'import grpc, grpc_tools.protoc' || die "$PY lacks grpc or grpc_tools (apt-get install python3-grpcio python3-grpc-tools)"
command -v openssl >/dev/null || die "openssl not found"

T=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-blackbox.XXXXXX")
gw=""
cleanup() {
  [ -n "$gw" ] && kill -KILL "$gw" 2>/dev/null || true
  # Kill what the probes may have left running (their own gateways), by pid.
  for p in "$T"/*/gateway.pid; do [ -e "$p" ] && kill -KILL "$(cat "$p")" 2>/dev/null || true; done
  if [ "${PROBE_KEEP:-0}" = 1 ]; then echo "blackbox: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

echo "== fresh dev PKI"
bash "$SRC/certs/gen-dev-pki.sh" "$T/pki" >/dev/null || die "certs/gen-dev-pki.sh failed"

echo "== Python stubs from protos/ (generated, never committed)"
mkdir -p "$T/gen"
GRPC_TOOLS_PROTO=$("$PY" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')
(cd "$SRC/protos" && "$PY" -m grpc_tools.protoc -I . -I "$GOOGLEAPIS" -I "$GRPC_TOOLS_PROTO" \
    --python_out="$T/gen" --grpc_python_out="$T/gen" \
    portcullis/v1/exchange.proto portcullis/v1/audit.proto portcullis/v1/admin.proto \
    google/rpc/status.proto google/rpc/error_details.proto) || die "stub generation failed"

echo "== the gateway, shipped config, fresh state, free port"
mkdir -p "$T/shared/state" "$T/shared/witness"   # witness: the checkpoint copies another party keeps
export PORTCULLIS_PKI="$T/pki" PORTCULLIS_STATE="$T/shared/state" PORTCULLIS_WITNESS="$T/shared/witness" \
  PORTCULLIS_LISTEN="127.0.0.1:0"
(cd "$T" && exec "$GATEWAY_BIN" --config "$SRC/config/portcullis.yaml") > "$T/shared/gateway.log" 2>&1 &
gw=$!
port=""
for _ in $(seq 400); do
  port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$T/shared/gateway.log")
  [ -n "$port" ] && break
  kill -0 "$gw" 2>/dev/null || break
  sleep 0.05
done
[ -n "$port" ] || { cat "$T/shared/gateway.log" >&2; die "the gateway did not start"; }
[ "$port" != 8443 ] || die "the gateway ignored PORTCULLIS_LISTEN (config/portcullis.yaml listener.address)"
echo "gateway pid $gw on 127.0.0.1:$port"

echo "== probes"
set +e
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$T/gen:$HERE" \
PROBE_SOURCE_DIR="$SRC" PROBE_GATEWAY_BIN="$GATEWAY_BIN" PROBE_AUDIT_BIN="$AUDIT_BIN" PROBE_DEVTOKEN_BIN="$DEVTOKEN_BIN" \
PROBE_PKI="$T/pki" PROBE_STATE="$T/shared/state" PROBE_GATEWAY="127.0.0.1:$port" PROBE_WORK="$T" \
  "$PY" -m unittest discover -s "$HERE" -t "$HERE" -p 'test_*.py' -v "$@" 2>&1 | tee "$T/probes.out"
rc=${PIPESTATUS[0]}
set -e
grep -q '^Ran [1-9]' "$T/probes.out" || { [ "$rc" != 0 ] || rc=1; echo "blackbox: no probe ran" >&2; }

echo "== stopping the gateway"
kill -TERM "$gw"
grc=0; wait "$gw" || grc=$?
gw=""
[ "$grc" = 0 ] || { tail -n 40 "$T/shared/gateway.log" >&2; die "the gateway exited $grc after SIGTERM"; }

echo "== the shared gateway's log still verifies offline after everything the probes sent"
witness=()
[ -s "$T/shared/witness/checkpoints.log" ] && witness=(--witness "$T/shared/witness/checkpoints.log")
vrc=0
"$AUDIT_BIN" verify --log "$T/shared/state/audit.log" --public-key "$T/pki/audit/signing.pub" "${witness[@]}" || vrc=$?
[ "$vrc" = 0 ] || die "portcullis-audit verify exited $vrc on the shared log"

[ "$rc" = 0 ] || die "probes failed (see above)"
echo "blackbox: all probes passed"

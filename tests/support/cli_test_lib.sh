# The shell tests' shared set-up (admin_cli, audit_cli, liaison_cli, gateway_cli): sourced after
# `set -euo pipefail`. Gives a scratch folder $T (removed on exit, with every process in $pids
# stopped first), the checks (expect_rc, expect_in, expect_re, expect_not_in, expect_eq; each
# failure names what was expected, what came, and the last command's stdout/stderr), helpers
# (abs, free_port, wait_for) and the command-line conventions every binary keeps
# (expect_cli_conventions).

abs() { (cd "$(dirname "$1")" && echo "$PWD/$(basename "$1")"); }

T=$(mktemp -d)
pids=()
remove_on_exit=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T" "${remove_on_exit[@]}"
}
trap cleanup EXIT

checks=0
step() { echo "== $*"; }

# Storage (docs/storage.md, "Tests"): SQLite + the file audit log in $PORTCULLIS_STATE by default; with
# PORTCULLIS_TEST_PG_DIR (the "postgres:" runs, ctest fixture pg_shared) a fresh database on that shared
# cluster, which the shipped config's store section takes from PORTCULLIS_STORE_BACKEND/_DSN.
PG_BIN=${PORTCULLIS_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ -n "${PORTCULLIS_TEST_PG_DIR:-}" ]; then
  [ -s "$PORTCULLIS_TEST_PG_DIR/port" ] || {
    echo "FAIL: PORTCULLIS_TEST_PG_DIR=$PORTCULLIS_TEST_PG_DIR has no running test cluster (pg_shared fixture?)" >&2; exit 1; }
  _pg_db=t$$_$RANDOM
  _pg_base="host=127.0.0.1 port=$(cat "$PORTCULLIS_TEST_PG_DIR/port") user=portcullis"
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$_pg_base dbname=postgres" -c "CREATE DATABASE $_pg_db" ||
    { echo "FAIL: cannot create a test database on the shared cluster" >&2; exit 1; }
  export PORTCULLIS_STORE_BACKEND=postgres PORTCULLIS_STORE_DSN="$_pg_base dbname=$_pg_db"
fi

# audit_records OUT: the gateway's audit record lines, in index order, into OUT: the file log in
# $PORTCULLIS_STATE, or the database's audit_records on PostgreSQL.
audit_records() {
  if [ -n "${PORTCULLIS_TEST_PG_DIR:-}" ]; then
    "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$PORTCULLIS_STORE_DSN" \
      -c "SELECT line FROM audit_records ORDER BY idx" > "$1"
  else
    cp "$PORTCULLIS_STATE/audit.log" "$1"
  fi
}

fail() {  # fail WHAT EXPECTED GOT
  echo "FAIL: $1" >&2
  echo "  expected: $2" >&2
  echo "  got:      $3" >&2
  local f
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
  checks=$((checks + 1))
  [ "$rc" = "$want" ] || fail "exit code of: ${*##*/}" "$want" "$rc"
}

# expect_in FILE TEXT: FILE contains TEXT (fixed string).
expect_in() {
  checks=$((checks + 1))
  grep -qF -- "$2" "$1" || fail "$(basename "$1") contains '$2'" "'$2'" "$(head -c 600 "$1")"
}

# expect_re FILE REGEX: FILE matches the extended REGEX.
expect_re() {
  checks=$((checks + 1))
  grep -qE -- "$2" "$1" || fail "$(basename "$1") matches /$2/" "/$2/" "$(head -c 600 "$1")"
}

# expect_not_in FILE TEXT: FILE does not contain TEXT.
expect_not_in() {
  checks=$((checks + 1))
  ! grep -qF -- "$2" "$1" || fail "$(basename "$1") does not contain '$2'" "no '$2'" "$(head -c 600 "$1")"
}

expect_eq() {  # expect_eq WHAT EXPECTED GOT
  checks=$((checks + 1))
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

# expect_cli_conventions BIN [COMMAND...]: the binary and each COMMAND answer --help with exit 0
# and a usage line; an unknown flag (to the binary, and to each command) is a usage error (exit 2)
# naming the flag (docs/tools.md, "Command lines").
expect_cli_conventions() {
  local bin=$1 cmd
  shift
  expect_rc 0 "$bin" --help
  expect_in "$T/out" "Usage: $(basename "$bin")"
  expect_rc 2 "$bin" --no-such-flag
  expect_in "$T/err" "unknown option '--no-such-flag'"
  for cmd in "$@"; do
    expect_rc 0 "$bin" "$cmd" --help
    expect_in "$T/out" "Usage: $(basename "$bin") $cmd"
    expect_rc 2 "$bin" "$cmd" --no-such-flag
    expect_in "$T/err" "unknown option '--no-such-flag'"
  done
}

# gateway_config OUT EUROPOL_PORT [OLD NEW]...: the shipped $SRC/config/portcullis.yaml with the
# listener on port 0, Europol's push endpoint on EUROPOL_PORT, and each further OLD (found exactly
# once) replaced by NEW. With OFFICER_ASSERTIONS=optional every party's officer assertions are
# optional (the shipped config requires them): for tests of the tools' own behaviour, whose officers
# are then recorded as claimed; assertion_cli, examples_sent, readme_commands, the demo and the
# black-box probes run with them required.
gateway_config() {
  local out=$1 port=$2
  shift 2
  python3 - "$SRC/config/portcullis.yaml" "$out" "${OFFICER_ASSERTIONS:-required}" \
    'address: "${PORTCULLIS_LISTEN:-127.0.0.1:8443}"' 'address: "127.0.0.1:0"' \
    'address: "127.0.0.1:9443"' "address: \"127.0.0.1:$port\"" "$@" <<'PY'
import sys
src, dst, mode, *pairs = sys.argv[1:]
text = open(src).read()
if text.count("officer_assertions: required") == 0:
    sys.exit("config/portcullis.yaml: no party requires officer assertions")
text = text.replace("officer_assertions: required", "officer_assertions: " + mode)
for old, new in zip(pairs[::2], pairs[1::2]):
    if text.count(old) != 1:
        sys.exit("config/portcullis.yaml: expected exactly one '%s'" % old)
    text = text.replace(old, new)
open(dst, 'w').write(text)
PY
}

# start_gateway OUT [CONFIG]: starts $GATEWAY on CONFIG (default $T/gateway.yaml), output in OUT,
# and waits until it listens; sets GW_PID (in $pids) and GW (127.0.0.1:PORT).
start_gateway() {
  "$GATEWAY" --config "${2:-$T/gateway.yaml}" > "$1" 2>&1 & GW_PID=$!
  pids+=("$GW_PID")
  wait_for "$1" "listening on port" "$GW_PID" || { cat "$1" >&2; fail "gateway starts" "listening on port N" "see above"; }
  GW=127.0.0.1:$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$1")
}

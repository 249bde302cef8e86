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

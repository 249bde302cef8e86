#!/usr/bin/env bash
# The gateway binary: --check-config exit codes and messages; the command-line conventions
# (--help exits 0, an unknown flag is a usage error naming it); SIGTERM drains and exits 0.
set -euo pipefail
BIN=$1; PKI=$2; SRC=$3
source "$(dirname "$0")/support/cli_test_lib.sh"  # $T (removed on exit), expect_*.
export PORTCULLIS_PKI=$PKI PORTCULLIS_STATE=$T
mkdir -p "$T/witness"   # The shipped config keeps a witness folder.
expect_cli_conventions "$BIN"
expect_in "$T/err" "(run \`portcullis-gateway --help\` for usage)"
expect_rc 0 "$BIN" --help
expect_in "$T/out" "--check-config"
"$BIN" --config "$SRC/config/portcullis.yaml" --check-config | grep -q "is valid"
printf 'listener: { address: "127.0.0.1:0" }\nparties: []\nbogus: 1\n' > "$T/bad.yaml"
if "$BIN" --config "$T/bad.yaml" --check-config 2> "$T/err"; then echo "bad config accepted"; exit 1; fi
grep -q "bad.yaml:3:1: bogus" "$T/err" || { cat "$T/err"; echo "error lacks location"; exit 1; }
sed 's/"${PORTCULLIS_LISTEN:-127.0.0.1:8443}"/"127.0.0.1:0"/' "$SRC/config/portcullis.yaml" > "$T/run.yaml"
# Relative paths in the shipped config resolve against its directory: keep it beside the original.
cp "$T/run.yaml" "$SRC/config/.cli-test-$$.yaml"; remove_on_exit+=("$SRC/config/.cli-test-$$.yaml")
"$BIN" --config "$SRC/config/.cli-test-$$.yaml" > "$T/out" 2>&1 & pid=$!
for i in $(seq 100); do grep -q listening "$T/out" && break; sleep 0.05; done
grep -q listening "$T/out" || { cat "$T/out"; exit 1; }
kill -TERM $pid
wait $pid; rc=$?
[ $rc = 0 ] || { echo "exit code $rc"; exit 1; }
grep -q "stopped cleanly" "$T/out"
echo ok

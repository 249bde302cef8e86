#!/usr/bin/env bash
# The configure-time link check of portcullis-audit and portcullis-admin (tools/link_check.cmake): a tool that
# links, even through another library, portcullis_adapter, portcullis_adapter_base, portcullis_native_formats or
# a portcullis_format_<name> fails configuring, naming the library; one that links only the client library
# configures. Usage: link_check_test.sh SOURCE_DIR
set -u
src=${1:?usage: link_check_test.sh SOURCE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
configure() {  # configure LINKED: cmake's output in $tmp/out, its exit code returned.
  rm -rf "$tmp/b"
  cmake -S "$src/tests/link_check" -B "$tmp/b" -DPORTCULLIS_SOURCE_DIR="$src" -DLINKED="$1" > "$tmp/out" 2>&1
}
for lib in portcullis_adapter portcullis_adapter_base portcullis_native_formats portcullis_format_europol \
    portcullis_format_new_one; do
  if configure "$lib"; then
    echo "FAIL: a tool linking $lib configured" >&2
    fail=1
  elif ! grep -q "portcullis-tool links $lib" "$tmp/out"; then
    echo "FAIL: the error for $lib does not name it:" >&2
    cat "$tmp/out" >&2
    fail=1
  fi
done
if ! configure portcullis_mtls; then
  echo "FAIL: a tool linking only allowed libraries did not configure:" >&2
  cat "$tmp/out" >&2
  fail=1
fi
[ "$fail" = 0 ] && echo "link check: ok"
exit "$fail"

#!/usr/bin/env bash
# The adapters' library layers (docs/architecture.md, "Adapters"): the base (adapters/common/, the format
# interface and shared helpers) includes no format and not the registry; a format includes no other format
# and not the registry; no adapter library source (adapters/common/, adapters/<format>/, adapters/registry/: every
# file below a subfolder of adapters/) includes tools/ or gateway/ (only the binaries' mains, adapters/*_main.cc,
# may use the tools' command-line library). Usage: adapter_layers_test.sh SOURCE_DIR
set -u
src=${1:?usage: adapter_layers_test.sh SOURCE_DIR}
formats="border_force europol fr_dnpaf hoie nca"
fail=0
pattern="adapters/(registry|$(echo "$formats" | tr ' ' '|'))/"
# party_config sits above the registry (a party's config names its format): the only common/ file allowed to.
for f in "$src"/adapters/common/*.h "$src"/adapters/common/*.cc; do
  case "$(basename "$f")" in party_config.*) continue ;; esac
  if grep -En "^#include \"$pattern" "$f"; then
    echo "FAIL: $f (base layer) includes a format or the registry" >&2
    fail=1
  fi
done
for fmt in $formats; do
  others=$(echo "$formats" | tr ' ' '\n' | grep -vx "$fmt" | paste -sd'|')
  if grep -En "^#include \"adapters/(registry|$others)/" "$src"/adapters/"$fmt"/*.h "$src"/adapters/"$fmt"/*.cc; then
    echo "FAIL: format $fmt includes another format or the registry" >&2
    fail=1
  fi
done
libs=$(find "$src"/adapters -mindepth 2 -type f \( -name '*.h' -o -name '*.cc' \))
[ -n "$libs" ] || { echo "FAIL: no adapter library sources under $src/adapters" >&2; fail=1; }
for f in $libs; do
  if grep -En "^#include [\"<](tools|gateway)/" "$f"; then
    echo "FAIL: $f (adapter library) includes tools/ or gateway/" >&2
    fail=1
  fi
done
[ "$fail" = 0 ] && echo "adapter layers: ok"
exit "$fail"

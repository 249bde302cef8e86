#!/usr/bin/env bash
# Builds (if needed) and runs every test. SANITIZE=1 uses an ASan+UBSan build in build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP_DEMO=1 bash scripts/setup.sh
dir=build
if [ "${SANITIZE:-0}" = 1 ]; then
  dir=build-asan
  cmake -S . -B $dir -DCMAKE_BUILD_TYPE=Debug -DPORTCULLIS_SANITIZE=ON >/dev/null
  cmake --build $dir -j2
fi
ctest --test-dir $dir --output-on-failure -j2

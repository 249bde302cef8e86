#!/usr/bin/env bash
# Installs Debian packages, builds Portcullis, and runs the demo.
#   bash scripts/setup.sh            install + build + demo
#   SKIP_DEMO=1 bash scripts/setup.sh  install + build only
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="build-essential cmake ccache pkg-config openssl python3 libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev libssl-dev libyaml-cpp-dev libgtest-dev libgmock-dev libsqlite3-dev postgresql libpq-dev libcli11-dev nlohmann-json3-dev libbenchmark-dev python3-grpcio python3-grpc-tools python3-pkg-resources python3-protobuf golang-github-gogo-googleapis-dev haproxy"
missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
[ "${SKIP_DEMO:-0}" = 1 ] || bash scripts/demo.sh

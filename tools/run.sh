#!/bin/sh
# Sets up ehrbridge on a fresh Debian 12 machine and runs it on the embedded default (SQLite):
# installs the build dependencies, builds build/ehrbridge, then serves on 0.0.0.0:8080 with
# sqlite:ehrbridge.db. Extra arguments are passed to `ehrbridge serve` (e.g. --public-url URL).
set -eu
cd "$(dirname "$0")/.."
tools/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
exec build/ehrbridge serve "$@"

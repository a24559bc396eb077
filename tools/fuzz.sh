#!/bin/sh
# Builds the libFuzzer harness (clang, ASan + UBSan) and fuzzes the request path
# (ingest -> bind -> map -> validate) for a bounded time, seeded with the request fixtures.
# Usage: tools/fuzz.sh [SECONDS] (default 60). A crash leaves its input in build-fuzz/crashes/
# and fails; add it to tests/fuzz/corpus/ once fixed.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
CC=clang cmake -S . -B build-fuzz -DEB_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_push
corpus=build-fuzz/corpus
mkdir -p "$corpus" build-fuzz/crashes
cp tests/fixtures/shapes/*.xml tests/fuzz/corpus/* "$corpus"/ 2>/dev/null || true
build-fuzz/tests/fuzz_push -max_total_time="$secs" -rss_limit_mb=2048 -max_len=131072 \
  -timeout=10 -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/ "$corpus"

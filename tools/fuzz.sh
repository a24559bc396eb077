#!/bin/sh
# Builds the libFuzzer harnesses (clang, ASan + UBSan) and runs each for a bounded time, one per
# parser of attacker input: push (ingest -> bind -> map -> validate, XML in any encoding), http
# (request framing, chunked bodies, pipelining), json (REST bodies and interview events),
# decrypt (the data field), auth (sign, Authorization, X-Forwarded-For, allow lists, times),
# mapping (the mapping file), oneparse (the direct path of typed requests against the canonical
# path: the same result, or the direct path declining).
# Usage: tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 30 s each, every target)
# Seeds: tests/fuzz/corpus/<target>/ (push and oneparse also take the request fixtures). A crash
# leaves its input in build-fuzz/crashes/<target>/ and the script fails; once the defect is
# fixed, add the input to tests/fuzz/corpus/<target>/ so that every later run replays it.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-30}
[ $# -gt 0 ] && shift
targets=${*:-push http json decrypt auth mapping oneparse}
CC=clang cmake -S . -B build-fuzz -DEB_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
for t in $targets; do
    cmake --build build-fuzz -j"$(nproc)" --target "fuzz_$t" >/dev/null
done
failed=
for t in $targets; do
    corpus=build-fuzz/corpus/$t
    mkdir -p "$corpus" "build-fuzz/crashes/$t"
    cp tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
    case $t in push | oneparse) cp tests/fixtures/shapes/*.xml "$corpus"/ ;; esac
    echo "fuzz_$t: ${secs} s"
    if ! build-fuzz/tests/"fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=131072 \
        -timeout=10 -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$t/" "$corpus" \
        >"build-fuzz/fuzz_$t.log" 2>&1; then
        tail -n 40 "build-fuzz/fuzz_$t.log"
        failed="$failed $t"
    fi
    grep -E '^stat::number_of_executed_units|^#.*DONE' "build-fuzz/fuzz_$t.log" | tail -n 1 || true
done
if [ -n "$failed" ]; then
    echo "fuzz: crashes in:$failed (inputs in build-fuzz/crashes/)" >&2
    exit 1
fi

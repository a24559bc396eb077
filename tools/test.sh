#!/bin/sh
# Sets up and runs every test of ehrbridge on a fresh Debian 12 machine: installs the build and
# test dependencies, builds twice (optimized, and with AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs the whole ctest suite (unit tests, generated-code freshness, integration tests with zeep
# and npm soap against the real binary) on both builds, on SQLite and on a throwaway PostgreSQL
# cluster (tools/pg.sh; stopped and deleted at the end, also on failure) unless EB_PG_URL already
# names a database to use, and on a throwaway MariaDB server through ODBC (tools/mariadb.sh, the
# same way, unless EB_MARIADB_ODBC is set). Then the manual page, valgrind, the container, the benchmark's (from a
# fresh clone with nothing beside it) and the profiles' smoke runs and fuzzing; first of all, the
# layout of the C sources. docs/testing.md lists the steps and says how long they take.
set -eu
cd "$(dirname "$0")/.."
tools/deps.sh test
EB_PG_DIR= EB_MARIADB_DIR=
stop_servers() {
  [ -z "$EB_PG_DIR" ] || tools/pg.sh stop "$EB_PG_DIR" >/dev/null 2>&1 || true
  [ -z "$EB_MARIADB_DIR" ] || tools/mariadb.sh stop "$EB_MARIADB_DIR" >/dev/null 2>&1 || true
}
trap stop_servers EXIT
trap 'exit 130' INT TERM
if [ -z "${EB_PG_URL:-}" ]; then
  pg_env=$(tools/pg.sh start)
  EB_PG_DIR=$(printf '%s\n' "$pg_env" | sed -n 's/^EB_PG_DIR=//p')
  EB_PG_URL=$(printf '%s\n' "$pg_env" | sed -n 's/^EB_PG_URL=//p')
  export EB_PG_URL
fi
# MariaDB through Debian's odbc-mariadb: the conformance suite's and the integration suite's
# odbc-mariadb runs (about 7 s to start)
if [ -z "${EB_MARIADB_ODBC:-}" ]; then
  maria_env=$(tools/mariadb.sh start)
  EB_MARIADB_DIR=$(printf '%s\n' "$maria_env" | sed -n 's/^EB_MARIADB_DIR=//p')
  EB_MARIADB_ODBC=$(printf '%s\n' "$maria_env" | sed -n "s/^EB_MARIADB_ODBC='\\(.*\\)'\$/\\1/p")
  export EB_MARIADB_ODBC EB_MARIADB_DIR
fi
jobs=$(nproc)
# house style: src/ and tests/ laid out as .clang-format says (Debian 12's clang-format 14)
find src tests -name '*.[ch]' -exec clang-format --dry-run --Werror {} +
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
# the manual page: groff reads it without a warning and it describes every option of --help
tools/check-man.sh build/ehrbridge
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DEB_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j"$jobs")
# valgrind memcheck over the integration path (the binary under valgrind must exit 0: no errors,
# no definite leaks)
EHRBRIDGE_BIN="$PWD/tools/valgrind-ehrbridge" EB_REAL_BIN="$PWD/build/ehrbridge" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/test_vendor_record.py \
  tests/integration/test_push_semantics.py tests/integration/test_faults.py
# the container image: docker/Dockerfile built with podman as docs/container.md ("Building without
# a Docker engine") says, run, pushed to over loopback, health-checked, non-root (about 3 minutes
# from nothing)
tools/container-test.sh
tools/compose-test.sh # docker/compose.yaml up with podman-compose: PostgreSQL, 2 replicas (about 1 minute)
# the benchmark against the node-soap and Spyne peers of bench/peers/, in its smoke mode (about a
# minute, plus 2-4 minutes of npm ci for the node-soap peer, which compiles better-sqlite3: it
# runs and every server stores exactly what it answered `true` for; no timing is asserted), run
# from a fresh clone of the committed tree in a folder with nothing beside it: the repository
# needs no file outside itself; then, in the same clone (its peers are installed), the PostgreSQL
# profile's smoke mode (200 pushes each of ehrbridge and node-soap + pg, ~30 s: the report is made)
repo=$PWD clone_dir=$(mktemp -d)
git clone -q . "$clone_dir/ehrbridge"
(cd "$clone_dir/ehrbridge" && bench/run.sh --smoke --bin "$repo/build/ehrbridge" &&
  bench/pg-profile.sh --smoke --bin "$repo/build/ehrbridge") ||
  { rm -rf "$clone_dir"; exit 1; }
rm -rf "$clone_dir"
# the profiles behind bench/RESULTS.md, in their smoke mode (callgrind over 200 small pushes with
# SQLite and with noop:, ~15 s: every push answered `true` and the report written; no figure is
# asserted)
bench/profile.sh --smoke --bin "$PWD/build/ehrbridge"
# fuzzing for a bounded time
tools/fuzz.sh "${EB_FUZZ_SECONDS:-30}"

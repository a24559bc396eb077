# shellcheck shell=bash
# Shared by bench/run.sh and bench/profile.sh, which source it after setting ME (their name,
# for error messages) and LOG_TAG (the prefix of their progress lines); build_ehrbridge uses REPO,
# BENCH_DIR and BIN.

die() { echo "$ME: $*" >&2; exit 2; }
log() { echo "[$LOG_TAG $(date +%H:%M:%S)] $*" >&2; }

# build_ehrbridge: when BIN is empty, builds ehrbridge (Release) from REPO in BENCH_DIR and sets
# BIN to it; then makes BIN an absolute path. Dies when there is no binary.
build_ehrbridge() {
  if [ -z "$BIN" ]; then
    log "building ehrbridge (Release) in $BENCH_DIR"
    cmake -S "$REPO" -B "$BENCH_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null || die "cmake failed"
    cmake --build "$BENCH_DIR" -j"$(nproc)" --target ehrbridge >/dev/null || die "build failed"
    BIN=$BENCH_DIR/ehrbridge
  fi
  [ -x "$BIN" ] || die "no ehrbridge binary at $BIN"
  BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
}

# answering URL PID TRIES: waits (0.2 s a try) until GET URL?wsdl answers 200; fails when PID
# ends first or after TRIES tries.
answering() {
  for _ in $(seq 1 "$3"); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1?wsdl")" = 200 ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# free_port: moves PORT up to the first port that nothing on this machine listens on.
free_port() {
  while ss -ltn | grep -q ":$PORT "; do PORT=$((PORT + 1)); done
}

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

# ---- throwaway PostgreSQL clusters (tools/pg.sh) -------------------------------------------

# pg_cluster_start DURABLE [CONF...]: starts a cluster with tools/pg.sh and prints
# "DIR URL" (the URL names the database postgres). DURABLE=1: fsync, full_page_writes and
# synchronous_commit on, as production runs it; 0: tools/pg.sh's own fsync = off,
# full_page_writes = off (synchronous_commit on). Each CONF line is appended to
# postgresql.conf (e.g. "shared_preload_libraries = 'pg_stat_statements'") before a restart.
pg_cluster_start() {
  local durable=$1 env dir url conf
  shift
  env=$("$REPO/tools/pg.sh" start) || return 1
  dir=$(sed -n 's/^EB_PG_DIR=//p' <<<"$env"); url=$(sed -n 's/^EB_PG_URL=//p' <<<"$env")
  conf=$dir/data/postgresql.conf
  {
    echo "# bench/common.sh"
    echo "synchronous_commit = on"
    if [ "$durable" = 1 ]; then echo "fsync = on"; echo "full_page_writes = on"; fi
    for line in "$@"; do echo "$line"; done
  } >> "$conf"
  "$REPO/tools/pg.sh" restart "$dir" >/dev/null || { "$REPO/tools/pg.sh" stop "$dir"; return 1; }
  echo "$dir $url"
}

# pg_cluster_stop DIR: stops the cluster and deletes DIR (nothing when DIR is empty).
pg_cluster_stop() {
  [ -n "${1:-}" ] && "$REPO/tools/pg.sh" stop "$1" >/dev/null 2>&1
  return 0
}

# pg_db_url URL NAME: URL with its database replaced by NAME.
pg_db_url() {
  sed "s|/[^/?]*\(?.*\)\{0,1\}\$|/$2\1|" <<<"$1"
}

# pg_url_with URL OPTS: URL with the query options OPTS (a=1&b=2) added; URL when OPTS is empty.
pg_url_with() {
  case "$1" in
    *\?*) echo "$1${2:+&$2}" ;;
    *) echo "$1${2:+?$2}" ;;
  esac
}

# pg_sql URL SQL: runs SQL with psql, one row a line, columns separated by spaces.
pg_sql() {
  psql -X -q -At -F' ' -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# pg_cpu DIR: CPU ticks (user + system) of the cluster's server processes so far: the postmaster,
# its live children (backends, checkpointer, WAL writer, autovacuum...) and, through the
# postmaster's cutime/cstime, the children that have ended.
pg_cpu() {
  local pm t=0 c
  pm=$(head -1 "$1/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
  t=$(awk '{print $14+$15+$16+$17}' "/proc/$pm/stat" 2>/dev/null || echo 0)
  for c in $(cat "/proc/$pm/task/$pm/children" 2>/dev/null); do
    t=$((t + $(awk '{print $14+$15}' "/proc/$c/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

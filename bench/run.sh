#!/bin/bash
# ehrbridge side by side with the pushCandidate peers of bench/peers (node-soap, Spyne) on
# loopback, loaded with wrk through bench/peers/requests/load.lua, counted exactly with
# bench/peers/requests/exact.py, on the bodies of bench/peers/requests/bodies.py. Writes
# results.tsv, curve.tsv and report.md into the output folder.
#
#   bench/run.sh [--smoke] [--out DIR] [--bin PATH]
#
# --smoke   a short run (a few seconds per measurement, one run, no large body with repeated ids,
#           two curve points; about a minute, plus npm ci the first time) that checks
#           that every server starts, answers and stores exactly what it answered `true` for;
#           exit status 1 when a row check fails. No timing is ever asserted.
# --out DIR output folder (default BENCH_DIR/results/<timestamp>, smoke: BENCH_DIR/smoke)
# --bin P   use this ehrbridge binary instead of building one (Release) in BENCH_DIR
#
# What is measured, per run, body (small 2.4 KB, large 105 KB) and id mode (unique, repeat),
# each on a fresh database, in one interleaved sequence so that ratios come from the same run:
#   eb-normal   ehrbridge, sqlite ?synchronous=normal: the peers' durability (WAL + NORMAL)
#   eb-full     ehrbridge, sqlite default synchronous=full: fsync-durable commits
#   eb-noop     ehrbridge, noop: adapter (stores nothing): the ceiling of parsing + mapping
#   node-soap   npm soap + better-sqlite3 (WAL + NORMAL)
#   spyne       Debian python3-spyne + sqlite3 (WAL + NORMAL)
#   eb-pg       ehrbridge, postgresql: on a throwaway cluster run as production runs it (fsync,
#               full_page_writes and synchronous_commit on)
#   eb-pg-nofsync  ehrbridge, postgresql: on a cluster with fsync = off, full_page_writes = off
#   node-soap-pg   npm soap + npm pg (a pg.Pool), on the durable cluster of eb-pg
# The PostgreSQL targets share two clusters started by tools/pg.sh for the run (stopped and
# deleted at its end); each measurement gets a database of its own. Their rows also report the
# database's CPU: the cluster's server processes (postmaster and children, ended ones
# included) over the wrk run, per push answered true.
# Each measurement: start the server, warm up with exact.py (exactly N requests, every one
# answered: rows must equal N, or the number of distinct ids in repeat mode), wait for a quiet
# machine (it is shared), wrk for DURATION, then peak RSS (VmHWM), server CPU, wrk CPU, the CPU
# of everything else, and the row deltas (never fewer rows than `true` answers, never more than
# true + requests in flight when wrk stopped, children = rows x items per body).
# Then the cost-per-KB curve: ehrbridge (synchronous=normal and noop) on generated bodies of
# CURVE_KB kilobytes.
#
# Environment (defaults in brackets):
#   BENCH_DIR [repo/build-bench-rel]   build folder, the copy of the peers (npm ci writes
#                                      node_modules there, not in the source tree), results
#   PEERS_DIR [repo/bench/peers]
#   TARGETS ["eb-normal eb-full eb-noop node-soap spyne eb-pg eb-pg-nofsync node-soap-pg"]  BODIES ["small large"]
#   MODES ["unique repeat"]  RUNS [2]  DURATION [10s]  THREADS [2]  CONNS [32]  REPEAT_N [100]
#   WARM_SMALL [500]  WARM_LARGE [100]  TIMEOUT [30s]  PORT_BASE [19100]
#   QUIET_PCT [15]  QUIET_MAX [60]: before each wrk run wait up to QUIET_MAX s for the machine's
#                                   CPU use over 3 s to drop below QUIET_PCT %
#   EB_ARGS [""]  extra `ehrbridge serve` flags for every ehrbridge target (e.g. --workers 16)
#   EB_PG_OPTS [""]  options added to the eb-pg targets' database URL (e.g. writers=1)
#   CURVE_KB ["2 8 32 128 512 1024"; none: no curve]  CURVE_TARGETS ["eb-normal eb-noop"]
#   CURVE_DURATION [6s]
#   CURVE_CONNS [8]
#   KEEP_DB [0]  1: keep every measurement's database in OUT/db (by default each one is removed
#                once its rows are counted)
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
HERE=$REPO/bench
SMOKE=0 OUT='' BIN=''
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --out) OUT=${2:?--out DIR}; shift ;;
    --bin) BIN=${2:?--bin PATH}; shift ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//; /^set -u/d'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
BENCH_DIR=${BENCH_DIR:-$REPO/build-bench-rel}
PEERS_DIR=${PEERS_DIR:-$HERE/peers}
if [ "$SMOKE" = 1 ]; then
  RUNS=${RUNS:-1}; DURATION=${DURATION:-1s}; WARM_SMALL=${WARM_SMALL:-100}
  WARM_LARGE=${WARM_LARGE:-20}; QUIET_MAX=${QUIET_MAX:-0}; CURVE_KB=${CURVE_KB:-"2 64"}
  CURVE_DURATION=${CURVE_DURATION:-1s}
  if [ -z "$OUT" ]; then
    OUT=$BENCH_DIR/smoke
    rm -rf "$OUT" # only the default folder: a folder given with --out is never removed
  fi
fi
TARGETS=${TARGETS:-eb-normal eb-full eb-noop node-soap spyne eb-pg eb-pg-nofsync node-soap-pg}
BODIES=${BODIES:-small large}; MODES=${MODES:-unique repeat}
RUNS=${RUNS:-2}; DURATION=${DURATION:-10s}; THREADS=${THREADS:-2}; CONNS=${CONNS:-32}
REPEAT_N=${REPEAT_N:-100}; WARM_SMALL=${WARM_SMALL:-500}; WARM_LARGE=${WARM_LARGE:-100}
TIMEOUT=${TIMEOUT:-30s}; PORT=${PORT_BASE:-19100}; QUIET_PCT=${QUIET_PCT:-15}
QUIET_MAX=${QUIET_MAX:-60}; EB_ARGS=${EB_ARGS:-}; KEEP_DB=${KEEP_DB:-0}; EB_PG_OPTS=${EB_PG_OPTS:-}
CURVE_KB=${CURVE_KB:-2 8 32 128 512 1024}; CURVE_TARGETS=${CURVE_TARGETS:-eb-normal eb-noop}
CURVE_DURATION=${CURVE_DURATION:-6s}; CURVE_CONNS=${CURVE_CONNS:-8}
[ "$CURVE_KB" = none ] && CURVE_KB=
OUT=${OUT:-$BENCH_DIR/results/$(date +%Y%m%d-%H%M%S)}

ME=bench/run.sh LOG_TAG=bench
# shellcheck source=bench/common.sh
. "$HERE/common.sh"

# ---- prerequisites -------------------------------------------------------------------------
[ -f "$PEERS_DIR/run-peer.sh" ] || die "no peers at $PEERS_DIR (set PEERS_DIR)"
for t in wrk node npm sqlite3 curl ss /usr/bin/python3 /usr/bin/time; do
  command -v "$t" >/dev/null 2>&1 || die "missing $t (tools/deps.sh test installs it)"
done
case " $TARGETS " in *" eb-pg "*|*" eb-pg-nofsync "*|*" node-soap-pg "*)
  command -v psql >/dev/null 2>&1 || die "missing psql (tools/deps.sh test installs postgresql)" ;;
esac
mkdir -p "$OUT" "$BENCH_DIR" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

build_ehrbridge

# npm ci writes node_modules: it runs in a copy of the peers in BENCH_DIR (refreshed when a file
# of bench/peers changes), so that the source tree stays as it was checked out.
PEERS=$BENCH_DIR/peers
stamp=$(cd "$PEERS_DIR" && find . -path ./node-soap/node_modules -prune -o -type f -print0 |
        sort -z | xargs -0 cat | md5sum | cut -d' ' -f1)
if [ ! -f "$PEERS/.stamp" ] || [ "$(cat "$PEERS/.stamp")" != "$stamp" ]; then
  log "copying the peers to $PEERS"
  rm -rf "$PEERS" && cp -r "$PEERS_DIR" "$PEERS" && chmod -R u+w "$PEERS" || die "copy failed"
  echo "$stamp" > "$PEERS/.stamp"
fi
case " $TARGETS " in *" node-soap "*|*" node-soap-pg "*)
  if [ ! -d "$PEERS/node-soap/node_modules/soap" ] || [ ! -d "$PEERS/node-soap/node_modules/better-sqlite3" ] ||
     [ ! -d "$PEERS/node-soap/node_modules/pg" ]; then
    log "npm ci for node-soap and node-soap-pg (compiles better-sqlite3)"
    (cd "$PEERS/node-soap" && npm_config_build_from_source=true npm ci --no-audit --no-fund >"$OUT/npm-ci.log" 2>&1) ||
      die "npm ci failed, see $OUT/npm-ci.log"
  fi ;;
esac
case " $TARGETS " in *" spyne "*)
  /usr/bin/python3 -c 'import spyne, lxml, twisted' 2>/dev/null ||
    die "missing python3-spyne python3-lxml python3-twisted (tools/deps.sh test installs them)" ;;
esac

BODYDIR=$OUT/bodies
/usr/bin/python3 "$PEERS/requests/bodies.py" "$BODYDIR" $CURVE_KB > "$OUT/bodies.txt" || die "bodies.py failed"
WRK_LUA=$PEERS/requests/load.lua
EXACT_PY=$PEERS/requests/exact.py

# ---- machine -------------------------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "cores: $(nproc)"
  echo "memory: $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -sr)"
  echo "os: $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}")"
  echo "load_at_start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "ehrbridge: $("$BIN" --version 2>&1 | head -1) ($BIN)"
  echo "sqlite: $(sqlite3 --version | cut -d' ' -f1)"
  echo "node: $(node --version), soap $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$PEERS/node-soap/node_modules/soap/package.json" 2>/dev/null | head -1), better-sqlite3 $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$PEERS/node-soap/node_modules/better-sqlite3/package.json" 2>/dev/null | head -1)"
  echo "spyne: $(/usr/bin/python3 -c 'import spyne; print(spyne.__version__)' 2>/dev/null), python $(/usr/bin/python3 -c 'import platform; print(platform.python_version())')"
  echo "wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "postgresql: $(psql --version 2>/dev/null | cut -d' ' -f3), npm pg $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$PEERS/node-soap/node_modules/pg/package.json" 2>/dev/null | head -1)"
  echo "settings: runs=$RUNS duration=$DURATION threads=$THREADS conns=$CONNS repeat_n=$REPEAT_N warm_small=$WARM_SMALL warm_large=$WARM_LARGE eb_args=${EB_ARGS:-none} smoke=$SMOKE"
} > "$OUT/machine.txt"

# ---- helpers -------------------------------------------------------------------------------
SRV_PID='' PG_DURABLE_DIR='' PG_DURABLE_URL='' PG_FAST_DIR='' PG_FAST_URL='' PG_N=0
cleanup() {
  [ -n "$SRV_PID" ] && kill -TERM "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  pg_cluster_stop "$PG_DURABLE_DIR"
  pg_cluster_stop "$PG_FAST_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
proc_cpu() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
kv() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<" $1" | head -1; }
HZ=$(getconf CLK_TCK)

wait_quiet() { # prints seconds waited / CPU % of the last 3 s
  local t0=$SECONDS a b pct=0
  [ "$QUIET_MAX" -gt 0 ] || { echo "0s/-"; return; }
  while :; do
    a=$(busy); sleep 3; b=$(busy)
    pct=$(( (b - a) * 100 / (3 * HZ * $(nproc)) ))
    [ "$pct" -lt "$QUIET_PCT" ] && break
    [ $((SECONDS - t0)) -ge "$QUIET_MAX" ] && break
  done
  echo "$((SECONDS - t0))s/${pct}%"
}

next_port() {
  PORT=$((PORT + 1))
  free_port
}

# pg_target NAME: 1 when NAME stores into PostgreSQL
pg_target() { case "$1" in eb-pg|eb-pg-nofsync|node-soap-pg) return 0 ;; esac; return 1; }

# pg_new_db NAME: creates a database of its own for one measurement in NAME's cluster; sets
# PG_DIR (the cluster) and PG_URL (the database)
pg_new_db() {
  local base
  if [ "$1" = eb-pg-nofsync ]; then PG_DIR=$PG_FAST_DIR base=$PG_FAST_URL
  else PG_DIR=$PG_DURABLE_DIR base=$PG_DURABLE_URL; fi
  PG_N=$((PG_N + 1)); PG_DB=bench$PG_N
  pg_sql "$base" "CREATE DATABASE $PG_DB" || return 1
  PG_URL=$(pg_db_url "$base" "$PG_DB")
}

# pg_drop_db: drops the measurement's database once its rows are counted, unless KEEP_DB=1
pg_drop_db() {
  [ "$KEEP_DB" = 1 ] || pg_sql "$(pg_db_url "$PG_URL" postgres)" "DROP DATABASE $PG_DB" >/dev/null
}

# start_target NAME DBFILE LOG: starts the server on $PORT, sets SRV_PID, waits until it answers
# (DBFILE is the database's URL for the PostgreSQL targets)
start_target() {
  local name=$1 db=$2 logf=$3
  case "$name" in
    eb-pg|eb-pg-nofsync)
      "$BIN" serve --listen "127.0.0.1:$PORT" --db "$(pg_url_with "$db" "$EB_PG_OPTS")" $EB_ARGS >"$logf" 2>&1 & ;;
    node-soap-pg) "$PEERS/run-peer.sh" "$name" "$PORT" "$db" >"$logf" 2>&1 & ;;
    eb-normal) "$BIN" serve --listen "127.0.0.1:$PORT" --db "sqlite:$db?synchronous=normal" $EB_ARGS >"$logf" 2>&1 & ;;
    eb-full)   "$BIN" serve --listen "127.0.0.1:$PORT" --db "sqlite:$db" $EB_ARGS >"$logf" 2>&1 & ;;
    eb-noop)   "$BIN" serve --listen "127.0.0.1:$PORT" --db "noop:" $EB_ARGS >"$logf" 2>&1 & ;;
    node-soap|spyne) "$PEERS/run-peer.sh" "$name" "$PORT" "$db" >"$logf" 2>&1 & ;;
    *) die "unknown target $name" ;;
  esac
  SRV_PID=$!
  answering "http://127.0.0.1:$PORT/pushCandidate" "$SRV_PID" 150 && return 0
  echo "bench/run.sh: $name did not start, see $logf" >&2
  return 1
}

# drop_db DBFILE: a measurement's database, once its rows are counted (a full run would keep
# several GB of them), unless KEEP_DB=1
drop_db() {
  [ "$KEEP_DB" = 1 ] || rm -f "$1" "$1-wal" "$1-shm"
}

stop_target() {
  [ -n "$SRV_PID" ] || return 0
  kill -TERM "$SRV_PID" 2>/dev/null
  wait "$SRV_PID" 2>/dev/null
  SRV_PID=
}

# rows NAME DBFILE -> "pushes candidates education experience distinct_ids"
rows() {
  local stored="(select count(*) from push_log where outcome='stored'),(select count(*) from candidate),(select count(*) from candidate_education),(select count(*) from candidate_experience),(select count(distinct push_id) from push_log where outcome='stored')"
  case "$1" in
    eb-noop) echo "0 0 0 0 0" ;;
    eb-pg|eb-pg-nofsync) pg_sql "$2" "select $stored" ;;
    node-soap-pg) pg_sql "$2" "select (select count(*) from push_log),(select count(*) from candidate),(select count(*) from candidate_education),(select count(*) from candidate_experience),(select count(distinct push_id) from push_log)" ;;
    eb-*) sqlite3 "$2" "select (select count(*) from push_log where outcome='stored'),(select count(*) from candidate),(select count(*) from candidate_education),(select count(*) from candidate_experience),(select count(distinct push_id) from push_log where outcome='stored')" | tr '|' ' ' ;;
    *) sqlite3 "$2" "select (select count(*) from push_log),(select count(*) from candidate),(select count(*) from candidate_education),(select count(*) from candidate_experience),(select count(distinct push_id) from push_log)" | tr '|' ' ' ;;
  esac
}

FAILED=0
TSV=$OUT/results.tsv
printf 'target\tbody\tmode\trun\trps\tp50_ms\tp99_ms\tsent\tcompleted\ttrue\tfalse\tnon200\tsock_err\tinflight_end\td_pushes\td_cand\td_edu\td_exp\trows_check\tpeak_rss_mb\tsrv_cpu_s\tsrv_cpu_us_per_req\twrk_cpu_s\tother_cpu_s\tload1_before\tquiet_wait\twarm_exact\tdb_cpu_s\tdb_cpu_us_per_true\n' > "$TSV"

# measure TARGET BODYFILE BODYTAG MODE RUN DURATION CONNS WARM -> one line in TSV
measure() {
  local target=$1 bfile=$2 body=$3 mode=$4 run=$5 dur=$6 conns=$7 wn=$8
  local name=$target-$body-$mode-$run tag db url edu exp ex e0 c0 ed0 ex0 dist0 want warm quiet
  local cpu0 cpu1 sys0 sys1 load r sent tr fl n2 comp rps serr p50 p99 hwm e1 c1 ed1 ex1 dist1
  local de dc ded dex infl chk srv wcpu other per dbc0 dbc1 dbcpu='' dbper=''
  local PG_DIR='' PG_URL='' PG_DB=''
  next_port
  tag=$(( $(date +%s) % 100000 * 10 + run ))
  db=$OUT/db/$name.db; mkdir -p "$OUT/db" "$OUT/log"; rm -f "$db" "$db-wal" "$db-shm"
  if pg_target "$target"; then
    if ! pg_new_db "$target"; then
      FAILED=1
      printf '%s\t%s\t%s\t%s\tDB-FAILED\n' "$target" "$body" "$mode" "$run" >> "$TSV"
      return
    fi
    db=$PG_URL
  fi
  url=http://127.0.0.1:$PORT/pushCandidate
  edu=$(grep -o '<p:school>' "$bfile" | wc -l); exp=$(grep -o '<p:company>' "$bfile" | wc -l)
  log "$name (port $PORT)"
  if ! start_target "$target" "$db" "$OUT/log/$name.server.log"; then
    stop_target; FAILED=1
    if pg_target "$target"; then pg_drop_db; else drop_db "$db"; fi
    printf '%s\t%s\t%s\t%s\tSTART-FAILED\n' "$target" "$body" "$mode" "$run" >> "$TSV"
    return
  fi
  # warm-up + exact count: every request answered before the rows are counted
  ex=$(/usr/bin/python3 "$EXACT_PY" "$url" "$bfile" "$wn" "$conns" "$mode" "$REPEAT_N" "$((tag + 5))")
  echo "$ex" > "$OUT/log/$name.exact.txt"
  read -r e0 c0 ed0 ex0 dist0 <<<"$(rows "$target" "$db")"
  want=$([ "$mode" = repeat ] && echo $((wn < REPEAT_N ? wn : REPEAT_N)) || echo "$wn")
  if [ "$target" = eb-noop ]; then
    [ "$(kv "$ex" true)" = "$wn" ] && warm="ok:$wn-true(noop)" || warm="BAD:$ex"
  elif [ "$(kv "$ex" true)" = "$wn" ] && [ "$e0" = "$want" ] && [ "$dist0" = "$e0" ] &&
       [ "$c0" = "$want" ] && [ "$ed0" = $((want * edu)) ] && [ "$ex0" = $((want * exp)) ]; then
    warm="ok:$wn->$e0"
  else
    warm="BAD:$(kv "$ex" true)true,rows=$e0/$c0/$ed0/$ex0,want=$want"
  fi
  quiet=$(wait_quiet)
  [ -n "$PG_DIR" ] && dbc0=$(pg_cpu "$PG_DIR")
  cpu0=$(proc_cpu "$SRV_PID"); sys0=$(busy); load=$(cut -d' ' -f1 /proc/loadavg)
  BODY=$bfile ID_MODE=$mode REPEAT_N=$REPEAT_N RUN_TAG=$tag \
    /usr/bin/time -f 'WRKCPU %U %S' -o "$OUT/log/$name.wrkcpu.txt" \
    wrk -t"$THREADS" -c"$conns" -d"$dur" --timeout "$TIMEOUT" --latency -s "$WRK_LUA" "$url" \
    > "$OUT/log/$name.wrk.txt" 2>&1
  sleep 1 # requests wrk left in flight finish
  cpu1=$(proc_cpu "$SRV_PID"); sys1=$(busy)
  [ -n "$PG_DIR" ] && dbc1=$(pg_cpu "$PG_DIR")
  hwm=$(awk '/VmHWM/{printf "%.1f", $2/1024}' "/proc/$SRV_PID/status" 2>/dev/null)
  stop_target
  read -r e1 c1 ed1 ex1 dist1 <<<"$(rows "$target" "$db")"
  if pg_target "$target"; then pg_drop_db; else drop_db "$db"; fi
  r=$(grep '^RESULT' "$OUT/log/$name.wrk.txt")
  sent=$(kv "$r" sent); tr=$(kv "$r" true); fl=$(kv "$r" false); n2=$(kv "$r" non200)
  comp=$(kv "$r" completed); rps=$(kv "$r" rps)
  if [ -z "$r" ] || [ -z "$rps" ]; then
    FAILED=1
    printf '%s\t%s\t%s\t%s\tWRK-FAILED\n' "$target" "$body" "$mode" "$run" >> "$TSV"
    return
  fi
  serr=$(( $(kv "$r" err_connect) + $(kv "$r" err_read) + $(kv "$r" err_write) + $(kv "$r" err_timeout) ))
  p50=$(awk -v u="$(kv "$r" p50_us)" 'BEGIN{printf "%.2f", u/1000}')
  p99=$(awk -v u="$(kv "$r" p99_us)" 'BEGIN{printf "%.2f", u/1000}')
  de=$((e1 - e0)); dc=$((c1 - c0)); ded=$((ed1 - ed0)); dex=$((ex1 - ex0)); infl=$((sent - comp))
  if [ "$target" = eb-noop ]; then
    [ "$tr" = "$comp" ] && [ "$fl" = 0 ] && chk="ok(noop:all-true)" || chk="BAD(noop)"
  elif [ "$mode" = repeat ]; then
    # wrk's ids differ from the warm-up's by tag and cycle over REPEAT_N values per thread: at
    # most min(sent, REPEAT_N) new rows, never a duplicate; once every thread has gone round
    # the pool twice, exactly REPEAT_N (the exact count is the warm-up's)
    want=$((sent < REPEAT_N ? sent : REPEAT_N))
    if { [ "$tr" = 0 ] || [ "$de" -ge 1 ]; } && [ "$de" -le "$want" ] && [ "$dist1" = "$e1" ] && [ "$dc" = "$de" ] &&
       [ "$ded" = $((de * edu)) ] && [ "$dex" = $((de * exp)) ] && [ "$fl" = 0 ] &&
       { [ "$comp" -lt $((2 * THREADS * REPEAT_N)) ] || [ "$de" = "$REPEAT_N" ]; }; then
      chk="ok($de-ids)"; else chk="BAD(want<=$want)"; fi
  else
    # wrk stops with requests in flight: the server may have committed up to inflight more
    # rows than wrk saw answered; never fewer, never duplicates
    if [ "$de" -ge "$tr" ] && [ $((de - tr)) -le "$infl" ] && [ "$dist1" = "$e1" ] &&
       [ "$dc" = "$de" ] && [ "$ded" = $((de * edu)) ] && [ "$dex" = $((de * exp)) ] && [ "$fl" = 0 ]; then
      chk="ok(+$((de - tr)))"; else chk="BAD"; fi
  fi
  srv=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$HZ" 'BEGIN{printf "%.2f", (b-a)/hz}')
  per=$(awk -v s="$srv" -v n="$comp" 'BEGIN{printf "%.1f", (n > 0 ? s * 1e6 / n : 0)}')
  wcpu=$(awk '/WRKCPU/{printf "%.2f", $2+$3}' "$OUT/log/$name.wrkcpu.txt")
  if [ -n "$PG_DIR" ]; then
    # the database's CPU over the wrk run, per push answered true
    dbcpu=$(awk -v a="$dbc0" -v b="$dbc1" -v hz="$HZ" 'BEGIN{printf "%.2f", (b-a)/hz}')
    dbper=$(awk -v a="$dbc0" -v b="$dbc1" -v hz="$HZ" -v n="$tr" 'BEGIN{printf "%.1f", (n > 0 ? (b-a)/hz * 1e6 / n : 0)}')
  fi
  other=$(awk -v a="$sys0" -v b="$sys1" -v hz="$HZ" -v s="$srv" -v w="$wcpu" -v d="${dbcpu:-0}" 'BEGIN{printf "%.2f", (b-a)/hz-s-w-d}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$target" "$body" "$mode" "$run" "$rps" "$p50" "$p99" "$sent" "$comp" "$tr" "$fl" "$n2" "$serr" \
    "$infl" "$de" "$dc" "$ded" "$dex" "$chk" "$hwm" "$srv" "$per" "$wcpu" "$other" "$load" "$quiet" "$warm" \
    "${dbcpu:--}" "${dbper:--}" >> "$TSV"
  log "  rps=$rps p50=${p50}ms p99=${p99}ms rss=${hwm}MB cpu/req=${per}us${dbper:+ db-cpu/true=${dbper}us} rows:$chk warm:$warm"
  case "$chk$warm" in *BAD*) FAILED=1; log "  ROW CHECK FAILED" ;; esac
  [ "$n2" = 0 ] || { FAILED=1; log "  $n2 answers were not HTTP 200"; }
}

# ---- PostgreSQL clusters -------------------------------------------------------------------
case " $TARGETS " in *" eb-pg "*|*" node-soap-pg "*)
  log "starting a durable PostgreSQL cluster (fsync, full_page_writes, synchronous_commit on)"
  read -r PG_DURABLE_DIR PG_DURABLE_URL <<<"$(pg_cluster_start 1)"
  [ -n "$PG_DURABLE_URL" ] || die "the durable PostgreSQL cluster did not start" ;;
esac
case " $TARGETS " in *" eb-pg-nofsync "*)
  log "starting a PostgreSQL cluster with fsync = off"
  read -r PG_FAST_DIR PG_FAST_URL <<<"$(pg_cluster_start 0)"
  [ -n "$PG_FAST_URL" ] || die "the fsync = off PostgreSQL cluster did not start" ;;
esac
{
  [ -n "$PG_DURABLE_DIR" ] && echo "pg durable cluster: $(pg_sql "$PG_DURABLE_URL" "select string_agg(name || '=' || setting, ' ' order by name) from pg_settings where name in ('fsync','full_page_writes','synchronous_commit','wal_level','shared_buffers','max_wal_size')")"
  [ -n "$PG_FAST_DIR" ] && echo "pg fsync-off cluster: $(pg_sql "$PG_FAST_URL" "select string_agg(name || '=' || setting, ' ' order by name) from pg_settings where name in ('fsync','full_page_writes','synchronous_commit','wal_level','shared_buffers','max_wal_size')")"
} >> "$OUT/machine.txt"

# ---- side by side --------------------------------------------------------------------------
log "output: $OUT"
for run in $(seq 1 "$RUNS"); do
  order=$TARGETS
  # even runs go through the servers in the opposite order: no server always goes first
  [ $((run % 2)) = 0 ] && order=$(echo "$TARGETS" | tr ' ' '\n' | tac | tr '\n' ' ')
  for body in $BODIES; do for mode in $MODES; do for target in $order; do
    [ "$SMOKE" = 1 ] && [ "$body" = large ] && [ "$mode" = repeat ] && continue
    wn=$([ "$body" = large ] && echo "$WARM_LARGE" || echo "$WARM_SMALL")
    measure "$target" "$BODYDIR/$body.xml" "$body" "$mode" "$run" "$DURATION" "$CONNS" "$wn"
  done; done; done
done

# ---- cost per KB ---------------------------------------------------------------------------
for kb in $CURVE_KB; do for target in $CURVE_TARGETS; do
  bfile=$BODYDIR/curve-$kb.xml
  bytes=$(stat -c %s "$bfile")
  wn=$(( bytes > 200000 ? 10 : 50 ))
  measure "$target" "$bfile" "curve-$kb" unique 1 "$CURVE_DURATION" "$CURVE_CONNS" "$wn"
done; done

echo "load_at_end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
/usr/bin/python3 "$HERE/report.py" "$OUT" > "$OUT/report.md" || { echo "report.py failed" >&2; FAILED=1; }
log "report: $OUT/report.md"
if [ "$FAILED" != 0 ]; then
  log "FAILED: a server did not start, a row check failed or a request was refused (see $TSV)"
  exit 1
fi
log "all row checks passed"
exit 0

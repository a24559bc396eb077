#!/bin/bash
# Where PostgreSQL's CPU per push goes, reproducibly: the figures behind "The PostgreSQL path" in
# bench/RESULTS.md. On a throwaway cluster (tools/pg.sh, durable as production runs it: fsync,
# full_page_writes and synchronous_commit on) with pg_stat_statements loaded, for each target:
#
#   bench/pg-profile.sh [--target eb-pg|node-soap-pg|both] [--pushes N] [--body small|large]
#                       [--fsync on|off] [--perf] [--out DIR] [--bin PATH] [--smoke]
#
#  1. starts the server on a database of its own and sends WARM pushes (exact.py, unique ids:
#     every push a new candidate), then stops it (its backends end and report their counters);
#  2. starts it again, sends 2 x CONNS pushes (connections opened, statements prepared, plans
#     cached), then resets pg_stat_statements, notes the WAL position and the CPU of the
#     cluster's server processes, and sends exactly N pushes (every one answered true);
#  3. prints, per push answered true: the database's CPU (and the server's), statements and
#     their calls, planning (plans per push, ms), execution (ms), buffers touched, rows, and the
#     WAL each statement wrote (pg_stat_statements); the WAL between the two positions by record
#     type (pg_waldump --stats=record: commits, heap and B-tree inserts, full-page images); the
#     transactions, WAL writes and syncs of the window (pg_stat_database, pg_stat_wal);
#  4. sends NB more pushes under strace -f -c on every server process of the cluster: sendto
#     calls per push are the round trips (a backend flushes its output once per Sync, when the
#     client waits for answers), fdatasync per push the WAL flushes;
#  5. with --perf, samples the cluster's processes with perf during another N pushes and prints
#     the symbols that take their CPU (Debian's linux-perf, not installed by tools/deps.sh).
#
# --target   eb-pg (ehrbridge, default), node-soap-pg (the node-soap + pg peer), both
# --pushes N pushes measured (default 2000; smoke 200)
# --body     small (2.3 KB, default) or large (105 KB): bench/peers/requests/bodies.py's bodies
# --fsync    on (default) or off: tools/pg.sh's fsync = off, full_page_writes = off cluster
# --perf     also the perf profile of step 5
# --out DIR  where the outputs go (default BENCH_DIR/pg-profile/<body>-fsync-<on|off>); the
#            report is DIR/report.txt, also printed
# --bin PATH this ehrbridge binary instead of building one (Release) in BENCH_DIR
# --smoke    200 pushes, both targets: checks that the report is made; no figure is asserted
#
# Environment: BENCH_DIR [repo/build-bench-rel], PEERS_DIR [repo/bench/peers], WARM [500],
#   NB [200], CONNS [16], PORT [19290], EB_ARGS [""] (extra `ehrbridge serve` flags),
#   EB_PG_OPTS [""] (options added to ehrbridge's database URL, e.g. writers=1),
#   AFTER_WARM_SQL [""]: SQL run on the target's database after the warm-up (its tables exist
#   then), to measure a change of the schema before it is made in the code, e.g.
#   "ALTER TABLE push_log SET (toast_tuple_target = 128)"
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
HERE=$REPO/bench
TARGET=eb-pg N='' BODY=small FSYNC=on PERF=0 OUT='' BIN='' SMOKE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --target) TARGET=${2:?--target eb-pg|node-soap-pg|both}; shift ;;
    --pushes) N=${2:?--pushes N}; shift ;;
    --body) BODY=${2:?--body small|large}; shift ;;
    --fsync) FSYNC=${2:?--fsync on|off}; shift ;;
    --perf) PERF=1 ;;
    --out) OUT=${2:?--out DIR}; shift ;;
    --bin) BIN=${2:?--bin PATH}; shift ;;
    --smoke) SMOKE=1 ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//; /^set -u/d'; exit 0 ;;
    *) echo "bench/pg-profile.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
ME=bench/pg-profile.sh LOG_TAG=pg-profile
# shellcheck source=bench/common.sh
. "$HERE/common.sh"

case "$TARGET" in eb-pg|node-soap-pg) TARGETS=$TARGET ;; both) TARGETS="eb-pg node-soap-pg" ;;
  *) die "--target is eb-pg, node-soap-pg or both" ;; esac
case "$BODY" in small|large) ;; *) die "--body is small or large" ;; esac
case "$FSYNC" in on|off) ;; *) die "--fsync is on or off" ;; esac
if [ "$SMOKE" = 1 ]; then
  N=${N:-200} TARGETS="eb-pg node-soap-pg" WARM=${WARM:-100} NB=${NB:-50}
fi
N=${N:-2000} WARM=${WARM:-500} NB=${NB:-200} CONNS=${CONNS:-16} PORT=${PORT:-19290}
EB_ARGS=${EB_ARGS:-}
EB_PG_OPTS=${EB_PG_OPTS:-}
BENCH_DIR=${BENCH_DIR:-$REPO/build-bench-rel}
PEERS_DIR=${PEERS_DIR:-$HERE/peers}
OUT=${OUT:-$BENCH_DIR/pg-profile/$BODY-fsync-$FSYNC$([ "$SMOKE" = 1 ] && echo -smoke)}
for t in psql curl ss strace /usr/bin/python3; do
  command -v "$t" >/dev/null 2>&1 || die "missing $t"
done
[ "$PERF" = 1 ] && { command -v perf >/dev/null 2>&1 || die "--perf needs perf (linux-perf)"; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/pg_waldump" ] || die "no pg_waldump in /usr/lib/postgresql/*/bin"
mkdir -p "$OUT" "$BENCH_DIR" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
build_ehrbridge

# the peers as bench/run.sh prepares them (a copy in BENCH_DIR with node_modules)
PEERS=$BENCH_DIR/peers
case " $TARGETS " in *" node-soap-pg "*)
  if [ ! -d "$PEERS/node-soap/node_modules/pg" ] || [ ! -d "$PEERS/node-soap/node_modules/soap" ]; then
    log "copying the peers to $PEERS and running npm ci there"
    rm -rf "$PEERS" && cp -r "$PEERS_DIR" "$PEERS" && chmod -R u+w "$PEERS" || die "copy failed"
    (cd "$PEERS/node-soap" && npm_config_build_from_source=true npm ci --no-audit --no-fund \
      >"$OUT/npm-ci.log" 2>&1) || die "npm ci failed, see $OUT/npm-ci.log"
  fi ;;
esac
/usr/bin/python3 "$PEERS_DIR/requests/bodies.py" "$OUT/bodies" >/dev/null || die "bodies.py failed"
BFILE=$OUT/bodies/$BODY.xml
EXACT_PY=$PEERS_DIR/requests/exact.py

SRV_PID='' PG_DIR='' STRACE_PID='' PERF_PID=''
cleanup() {
  [ -n "$STRACE_PID" ] && kill -INT "$STRACE_PID" 2>/dev/null && wait "$STRACE_PID" 2>/dev/null
  [ -n "$PERF_PID" ] && kill -INT "$PERF_PID" 2>/dev/null && wait "$PERF_PID" 2>/dev/null
  [ -n "$SRV_PID" ] && kill -TERM "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  pg_cluster_stop "$PG_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
HZ=$(getconf CLK_TCK)
proc_cpu() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
kv() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<" $1" | head -1; }

log "starting a PostgreSQL cluster (fsync $FSYNC) with pg_stat_statements"
read -r PG_DIR PG_BASE <<<"$(pg_cluster_start "$([ "$FSYNC" = on ] && echo 1 || echo 0)" \
  "shared_preload_libraries = 'pg_stat_statements'" "pg_stat_statements.track = all" \
  "pg_stat_statements.track_utility = on" "pg_stat_statements.track_planning = on" \
  "track_wal_io_timing = on")"
[ -n "$PG_BASE" ] || die "the cluster did not start"
pg_sql "$PG_BASE" "CREATE EXTENSION pg_stat_statements" >/dev/null || die "no pg_stat_statements"

start_server() { # TARGET URL LOG
  PORT=$((PORT + 1)); free_port
  case "$1" in
    eb-pg) "$BIN" serve --listen "127.0.0.1:$PORT" --db "$(pg_url_with "$2" "$EB_PG_OPTS")" $EB_ARGS >>"$3" 2>&1 & ;;
    node-soap-pg) "$PEERS/run-peer.sh" node-soap-pg "$PORT" "$2" >>"$3" 2>&1 & ;;
  esac
  SRV_PID=$!
  URL=http://127.0.0.1:$PORT/pushCandidate
  answering "$URL" "$SRV_PID" 150 || die "$1 did not start, see $3"
}
stop_server() { kill -TERM "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=; }
# send N TAG: exactly N pushes, unique ids; dies unless every one is answered true
send() {
  local ex
  ex=$(/usr/bin/python3 "$EXACT_PY" "$URL" "$BFILE" "$1" "$CONNS" unique 100 "$2")
  [ "$(kv "$ex" true)" = "$1" ] || die "not every push answered true: $ex"
  echo "$ex"
}
cluster_pids() { # the postmaster and its children
  local pm
  pm=$(head -1 "$PG_DIR/data/postmaster.pid")
  echo "$pm $(cat "/proc/$pm/task/$pm/children")"
}
# by_process: "type ticks" per server process of the cluster (backend_type of
# pg_stat_activity, client backends by database), "postmaster" and "ended" (the children that
# have ended: the postmaster's cutime + cstime)
by_process() {
  local pm pid t
  pm=$(head -1 "$PG_DIR/data/postmaster.pid")
  awk '{print "postmaster", $14+$15; print "ended", $16+$17}' "/proc/$pm/stat"
  pg_sql "$PG_BASE" "select pid, case when backend_type = 'client backend' then
      'backend:' || coalesce(datname, '-') else replace(backend_type, ' ', '_') end
      from pg_stat_activity where pid <> pg_backend_pid()" |
  while read -r pid t; do
    echo "$t $(awk '{print $14+$15}' "/proc/$pid/stat" 2>/dev/null || echo 0)"
  done
}
# stats DB -> "xact_commit xact_rollback wal_records wal_fpi wal_bytes wal_write wal_sync"
stats() {
  pg_sql "$PG_BASE" "select d.xact_commit, d.xact_rollback, w.wal_records, w.wal_fpi, w.wal_bytes,
    w.wal_write, w.wal_sync from pg_stat_database d, pg_stat_wal w where d.datname = '$1'"
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  cores: $(nproc)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "postgresql: $(pg_sql "$PG_BASE" 'show server_version'), cluster: $(pg_sql "$PG_BASE" "select string_agg(name || '=' || setting, ' ' order by name) from pg_settings where name in ('fsync','full_page_writes','synchronous_commit','wal_level','shared_buffers')")"
  echo "ehrbridge: $("$BIN" --version 2>&1 | head -1)  body: $BODY ($(stat -c %s "$BFILE") bytes, $(grep -o '<p:school>' "$BFILE" | wc -l) education, $(grep -o '<p:company>' "$BFILE" | wc -l) experience)"
  echo "pushes measured: $N (unique ids: every push a new candidate), $CONNS connections"
} > "$OUT/report.txt"

n=0
for target in $TARGETS; do
  n=$((n + 1)); db=prof_${target//-/_}; tag=$(( $(date +%s) % 100000 * 10 ))
  pg_sql "$PG_BASE" "DROP DATABASE IF EXISTS $db" >/dev/null
  pg_sql "$PG_BASE" "CREATE DATABASE $db" >/dev/null || die "cannot create $db"
  url=$(pg_db_url "$PG_BASE" "$db")
  slog=$OUT/$target.server.log; : > "$slog"
  log "$target: warm-up ($WARM pushes)"
  start_server "$target" "$url" "$slog"
  send "$WARM" "$((tag + 1))" >/dev/null
  stop_server
  if [ -n "${AFTER_WARM_SQL:-}" ]; then
    pg_sql "$url" "$AFTER_WARM_SQL" >/dev/null || die "AFTER_WARM_SQL failed"
    echo "AFTER_WARM_SQL ($target): $AFTER_WARM_SQL" >> "$OUT/report.txt"
  fi
  sleep 1
  read -r xc0 xr0 wr0 wf0 wb0 ww0 ws0 <<<"$(stats "$db")"
  start_server "$target" "$url" "$slog"
  send $((2 * CONNS)) "$((tag + 2))" >/dev/null
  log "$target: $N pushes measured"
  pg_sql "$PG_BASE" "select pg_stat_statements_reset()" >/dev/null
  lsn0=$(pg_sql "$PG_BASE" "select pg_current_wal_lsn()")
  by_process > "$OUT/$target.procs0.txt"
  dbc0=$(pg_cpu "$PG_DIR"); sc0=$(proc_cpu "$SRV_PID")
  ex=$(send "$N" "$((tag + 3))")
  dbc1=$(pg_cpu "$PG_DIR"); sc1=$(proc_cpu "$SRV_PID")
  by_process > "$OUT/$target.procs1.txt"
  lsn1=$(pg_sql "$PG_BASE" "select pg_current_wal_lsn()")
  pg_sql "$PG_BASE" "select s.calls, s.rows, s.plans, s.total_plan_time, s.total_exec_time,
      s.shared_blks_hit + s.shared_blks_read, s.shared_blks_dirtied, s.wal_records, s.wal_fpi,
      s.wal_bytes, regexp_replace(s.query, '\s+', ' ', 'g')
    from pg_stat_statements s join pg_database d on d.oid = s.dbid
    where d.datname = '$db' order by s.total_exec_time + s.total_plan_time desc" \
    > "$OUT/$target.statements.txt"
  # the round trips and WAL flushes: strace over every server process of the cluster
  attach=()
  for pid in $(cluster_pids); do attach+=(-p "$pid"); done
  strace -f -c -U calls,name -e trace=sendto,recvfrom,fdatasync,fsync,pwrite64 \
    -o "$OUT/$target.strace.txt" "${attach[@]}" 2>/dev/null &
  STRACE_PID=$!
  sleep 1
  send "$NB" "$((tag + 4))" >/dev/null
  kill -INT "$STRACE_PID" 2>/dev/null; wait "$STRACE_PID" 2>/dev/null; STRACE_PID=
  if [ "$PERF" = 1 ]; then
    log "$target: perf over $N pushes"
    perf record -q -g -F 1999 -o "$OUT/$target.perf.data" \
      -p "$(cluster_pids | tr -s ' \n' ',' | sed 's/^,//; s/,$//')" >/dev/null 2>&1 &
    PERF_PID=$!
    sleep 1
    send "$N" "$((tag + 5))" >/dev/null
    kill -INT "$PERF_PID" 2>/dev/null; wait "$PERF_PID" 2>/dev/null; PERF_PID=
  fi
  stop_server
  sleep 1
  read -r xc1 xr1 wr1 wf1 wb1 ww1 ws1 <<<"$(stats "$db")"
  window=$((2 * CONNS + N + NB))
  [ "$PERF" = 1 ] && window=$((window + N))
  "$PGBIN/pg_waldump" --stats=record -p "$PG_DIR/data/pg_wal" -s "$lsn0" -e "$lsn1" \
    > "$OUT/$target.waldump.txt" 2>&1 || echo "(pg_waldump failed: see the file)" >> "$OUT/$target.waldump.txt"

  /usr/bin/python3 - "$target" "$N" "$window" "$HZ" "$((dbc1 - dbc0))" "$((sc1 - sc0))" \
    "$(kv "$ex" seconds)" "$lsn0" "$lsn1" "$xc0 $xr0 $wr0 $wf0 $wb0 $ww0 $ws0" \
    "$xc1 $xr1 $wr1 $wf1 $wb1 $ww1 $ws1" "$NB" "$OUT" "$PERF" >> "$OUT/report.txt" <<'PY'
import os, re, subprocess, sys
(target, n, window, hz, dbt, srvt, secs, lsn0, lsn1, s0, s1, nb, out, perf) = sys.argv[1:]
n, window, hz, nb = int(n), int(window), int(hz), int(nb)
def lsn(v):
    hi, lo = v.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)
s0 = [float(x) for x in s0.split()]; s1 = [float(x) for x in s1.split()]
d = [b - a for a, b in zip(s0, s1)]
print(f"\n== {target} ==")
print("(pg_stat_statements' times are wall-clock: on a loaded machine they include waiting for a "
      "core; the CPU figures are from /proc)")
print(f"{n} pushes in {float(secs):.2f} s ({n / float(secs):.0f}/s under this client)")
print(f"CPU per push: database {int(dbt) / hz * 1e6 / n:.0f} µs, server ({target}) "
      f"{int(srvt) / hz * 1e6 / n:.0f} µs")
def procs(name):
    t = {}
    with open(os.path.join(out, name), encoding="utf-8") as f:
        for line in f:
            k, v = line.split()
            t[k] = t.get(k, 0) + int(v)
    return t
p0, p1 = procs(f"{target}.procs0.txt"), procs(f"{target}.procs1.txt")
print("  the database's CPU per push by process: " + ", ".join(
    f"{k} {(p1.get(k, 0) - p0.get(k, 0)) / hz * 1e6 / n:.0f} µs"
    for k in sorted(set(p0) | set(p1), key=lambda k: -(p1.get(k, 0) - p0.get(k, 0)))
    if p1.get(k, 0) - p0.get(k, 0) > 0))
print(f"WAL per push: {(lsn(lsn1) - lsn(lsn0)) / n:.0f} bytes (pg_current_wal_lsn before/after)")
print(f"over the window of {window} pushes (pg_stat_database, pg_stat_wal): "
      f"{d[0] / window:.2f} commits, {d[1] / window:.2f} rollbacks, {d[2] / window:.1f} WAL records, "
      f"{d[3] / window:.2f} full-page images, {d[4] / window:.0f} WAL bytes, "
      f"{d[5] / window:.2f} WAL writes, {d[6] / window:.2f} WAL syncs per push")
rows = []
with open(os.path.join(out, f"{target}.statements.txt"), encoding="utf-8") as f:
    for line in f:
        p = line.rstrip("\n").split(" ", 10)
        if len(p) == 11:
            rows.append(p)
tot = {"calls": 0, "plan": 0.0, "exec": 0.0, "wal": 0}
print("\nstatements (pg_stat_statements), per push: calls, plans, planning µs, execution µs; "
      "per call: rows, buffers hit, WAL bytes")
print(f"{'calls':>6} {'plans':>6} {'plan µs':>8} {'exec µs':>8} {'rows':>6} {'bufs':>6} {'WAL B':>7}  statement")
for c, r, pl, pt, et, bh, bd, wr, wf, wb, q in rows:
    c, r, pl, pt, et, bh, wb = int(c), int(r), int(pl), float(pt), float(et), int(bh), int(wb)
    if not c:
        continue
    tot["calls"] += c; tot["plan"] += pt; tot["exec"] += et; tot["wal"] += wb
    print(f"{c / n:6.2f} {pl / n:6.2f} {pt * 1000 / n:8.1f} {et * 1000 / n:8.1f} {r / c:6.2f} "
          f"{bh / c:6.1f} {wb / c:7.0f}  {q[:150]}")
print(f"{tot['calls'] / n:6.2f} {'':6} {tot['plan'] * 1000 / n:8.1f} {tot['exec'] * 1000 / n:8.1f} "
      f"{'':6} {'':6} {'':7}  total per push: statements, planning µs, execution µs; "
      f"WAL of statements {tot['wal'] / n:.0f} B")
print(f"database CPU per push outside planning and execution (protocol, parse/bind, transaction "
      f"start/end, commit, background processes): {int(dbt) / hz * 1e6 / n - (tot['plan'] + tot['exec']) * 1000 / n:.0f} µs")
print(f"\nround trips and flushes over {nb} pushes (strace -f -c, every server process):")
calls = {}
with open(os.path.join(out, f"{target}.strace.txt"), encoding="utf-8") as f:
    for line in f:
        m = re.match(r"\s*(\d+)\s+(\w+)\s*$", line)
        if m:
            calls[m.group(2)] = int(m.group(1))
for name in ("sendto", "recvfrom", "fdatasync", "fsync", "pwrite64"):
    print(f"  {name:10} {calls.get(name, 0) / nb:6.2f} per push"
          + ("  (a backend's flushes of its answers: the round trips)" if name == "sendto" else ""))
print("\nWAL by record type between the two positions (pg_waldump --stats=record), per push:")
with open(os.path.join(out, f"{target}.waldump.txt"), encoding="utf-8") as f:
    for line in f:
        m = re.match(r"(\S+(?:/\S+)?)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)", line)
        if m and int(m.group(2)):
            print(f"  {m.group(1):34} {int(m.group(2)) / n:6.2f} records {int(m.group(5)) / n:7.0f} bytes "
                  f"(of which full-page images {int(m.group(4)) / n:6.0f})")
        elif line.startswith("pg_waldump") or "failed" in line:
            print("  " + line.rstrip())
if perf == "1":
    data = os.path.join(out, f"{target}.perf.data")
    print(f"\nperf: the cluster's CPU by symbol over {n} more pushes (top 25, self time):")
    r = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                        "--sort", "dso,sym", "--percent-limit", "0.8"],
                       capture_output=True, text=True)
    k = 0
    for line in r.stdout.splitlines():
        if line.strip() and not line.startswith("#") and k < 25:
            print("  " + line.strip()); k += 1
    # the stages of a statement's life, inclusive (call graphs: frame pointers where the build
    # has them; a stage missing from the list was not seen on any sampled stack)
    stages = ["PostgresMain", "exec_bind_message", "exec_execute_message", "exec_parse_message",
              "PortalStart", "PortalRun", "PortalDrop", "standard_ExecutorStart", "InitPlan",
              "ExecInitModifyTable", "standard_ExecutorRun", "ExecModifyTable",
              "standard_ExecutorEnd", "ExecEndPlan", "GetCachedPlan", "pg_plan_queries",
              "LockAcquireExtended", "LockRelationOid", "LockReleaseAll", "relation_open",
              "index_open", "ExecInsertIndexTuples", "heap_insert", "btinsert",
              "StartTransaction", "CommitTransaction", "RecordTransactionCommit", "XLogFlush",
              "XLogInsertRecord", "AtEOXact_RelationCache", "ResourceOwnerRelease",
              "pq_getmessage", "secure_read", "secure_write", "WalWriterMain",
              "CheckpointerMain", "BackgroundWriterMain", "AutoVacWorkerMain", "do_autovacuum"]
    r = subprocess.run(["perf", "report", "-i", data, "--stdio", "--children", "-g", "none",
                        "--sort", "sym", "--percent-limit", "0"], capture_output=True, text=True)
    seen = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[.\]\s+(\S+)", line)
        if m and m.group(3) in stages and m.group(3) not in seen:
            seen[m.group(3)] = float(m.group(1))
    print("  inclusive share of the cluster's samples by stage: " +
          ", ".join(f"{s} {seen[s]:.1f}%" for s in stages if s in seen))
PY
  log "$target: done"
done
cat "$OUT/report.txt"
log "report: $OUT/report.txt"

#!/bin/bash
# Where ehrbridge's time goes, per push, reproducibly: the profiles behind "Where the time goes"
# and "What limits the missed targets" in bench/RESULTS.md.
#
#   bench/profile.sh [--tool callgrind|perf] [--body small|large|FILE] [--db normal|full|noop]
#                    [--pushes N] [--seconds S] [--out DIR] [--bin PATH] [--smoke]
#
# --tool callgrind (default)  runs ehrbridge under valgrind's callgrind, sends WARM pushes with
#             instrumentation off, then exactly N pushes (bench/peers/requests/exact.py: every one
#             answered, every one `true`) with it on, and writes instructions per push: by
#             thread (event loop, workers, SQLite writer, checkpointer), by stage of the push
#             path (ingest, gSOAP bindings, mapping, validation, the database's batch, its WAL
#             writes, its checkpoints) and by library (exclusive costs: gSOAP, libxml2, SQLite,
#             libc, ehrbridge's own code). Instruction counts do not depend on the machine's
#             other load, so two revisions compare on a shared machine where wall-clock
#             figures do not; they leave out the kernel and waiting (perf shows those).
#             Threads run one at a time under valgrind, so the writer batches fewer pushes per
#             transaction than at full speed (the report gives the pushes per transaction).
# --tool perf  loads ehrbridge with wrk (bench/peers/requests/load.lua, CONNS connections) for S
#             seconds while `perf record` samples it, and writes the server's CPU per request
#             and the shares of its CPU by thread, by thread and library, by library (kernel
#             included) and by symbol. Needs perf (Debian's linux-perf package), which
#             tools/deps.sh does not install.
# --body      small (2.3 KB, default) or large (105 KB): the bodies of bench/peers/requests/
#             bodies.py, as bench/run.sh sends them; or a body file with the same two placeholders
# --db        normal: sqlite ?synchronous=normal (default, the peers' durability); full: sqlite
#             with fsync-durable commits; noop: the no-op adapter (the ceiling)
# --pushes N  pushes measured with callgrind (default 2000 small / 200 large)
# --seconds S duration of the perf load (default 10)
# --out DIR   where the outputs go (default BENCH_DIR/profile/<tool>-<body>-<db>)
# --bin PATH  this ehrbridge binary instead of building one (Release) in BENCH_DIR
# --smoke     a short callgrind run (200 small pushes with SQLite, then with noop:) that checks
#             that the profile and its report are made; no figure is asserted
#
# Environment: BENCH_DIR [repo/build-bench-rel], PEERS_DIR [repo/bench/peers],
#   WARM [200 small / 40 large], CONNS [32], PORT [19090], EB_ARGS [""] (extra serve flags)
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
HERE=$REPO/bench
TOOL=callgrind BODY=small DB=normal N='' SECS=10 OUT='' BIN='' SMOKE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tool) TOOL=${2:?--tool callgrind|perf}; shift ;;
    --body) BODY=${2:?--body small|large|FILE}; shift ;;
    --db) DB=${2:?--db normal|full|noop}; shift ;;
    --pushes) N=${2:?--pushes N}; shift ;;
    --seconds) SECS=${2:?--seconds S}; shift ;;
    --out) OUT=${2:?--out DIR}; shift ;;
    --bin) BIN=${2:?--bin PATH}; shift ;;
    --smoke) SMOKE=1 ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//; /^set -u/d'; exit 0 ;;
    *) echo "bench/profile.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
ME=bench/profile.sh LOG_TAG=profile
# shellcheck source=bench/common.sh
. "$HERE/common.sh"

if [ "$SMOKE" = 1 ]; then
  # the two profiles the report compares, small and short
  args=()
  [ -n "$BIN" ] && args+=(--bin "$BIN")
  base=${OUT:-${BENCH_DIR:-$REPO/build-bench-rel}/profile/smoke}
  for d in normal noop; do
    "$0" --tool callgrind --body small --db "$d" --pushes 200 --out "$base/$d" "${args[@]}" ||
      exit 1
  done
  exit 0
fi

case "$TOOL" in callgrind|perf) ;; *) die "--tool is callgrind or perf" ;; esac
case "$DB" in normal|full|noop) ;; *) die "--db is normal, full or noop" ;; esac
BENCH_DIR=${BENCH_DIR:-$REPO/build-bench-rel}
PEERS_DIR=${PEERS_DIR:-$HERE/peers}
CONNS=${CONNS:-32} PORT=${PORT:-19090} EB_ARGS=${EB_ARGS:-}
[ -f "$PEERS_DIR/requests/exact.py" ] || die "no peers at $PEERS_DIR (set PEERS_DIR)"
need="curl /usr/bin/python3"
[ "$TOOL" = callgrind ] && need="$need valgrind callgrind_control callgrind_annotate"
[ "$TOOL" = perf ] && need="$need perf wrk"
for t in $need; do
  command -v "$t" >/dev/null 2>&1 && continue
  [ "$t" = perf ] && die "missing perf (Debian's linux-perf package)"
  die "missing $t (tools/deps.sh test installs it)"
done

OUT=${OUT:-$BENCH_DIR/profile/$TOOL-$(basename "$BODY" .xml)-$DB}
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/callgrind.out* "$OUT"/perf.data* "$OUT"/report.txt "$OUT"/profile.db*

build_ehrbridge

case "$BODY" in
  small|large)
    /usr/bin/python3 "$PEERS_DIR/requests/bodies.py" "$OUT/bodies" >/dev/null || die "bodies.py failed"
    BFILE=$OUT/bodies/$BODY.xml ;;
  *) [ -f "$BODY" ] || die "no body file $BODY"; BFILE=$BODY ;;
esac
if [ "$(basename "$BFILE")" = large.xml ]; then big=1; else big=0; fi
[ -n "$N" ] || { [ "$big" = 1 ] && N=200 || N=2000; }
WARM=${WARM:-$([ "$big" = 1 ] && echo 40 || echo 200)}

case "$DB" in
  normal) dburl="sqlite:$OUT/profile.db?synchronous=normal" ;;
  full) dburl="sqlite:$OUT/profile.db" ;;
  noop) dburl="noop:" ;;
esac
free_port
URL=http://127.0.0.1:$PORT/pushCandidate
TAG=$(( $(date +%s) % 100000 ))

SRV=
cleanup() { [ -n "$SRV" ] && kill -TERM "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null; }
trap cleanup EXIT
trap 'exit 130' INT TERM

serve() { # serve PREFIX...: starts ehrbridge under PREFIX, waits until it answers
  "$@" "$BIN" serve --listen "127.0.0.1:$PORT" --db "$dburl" --log-level warn $EB_ARGS \
    >"$OUT/server.log" 2>&1 &
  SRV=$!
  answering "$URL" "$SRV" 600 || die "ehrbridge did not start, see $OUT/server.log"
}

# exact COUNT TAG: COUNT pushes, each answered; fails unless every one was `true`
exact() {
  local r
  r=$(/usr/bin/python3 "$PEERS_DIR/requests/exact.py" "$URL" "$BFILE" "$1" "$CONNS" unique 100 "$2") ||
    die "exact.py failed: $r"
  case " $r " in *" true=$1 "*) ;; *) die "not every push was answered true: $r" ;; esac
}

# transactions: the SQLite writer's transactions so far (0 with noop:)
transactions() {
  curl -s "http://127.0.0.1:$PORT/metrics" |
    awk '/^ehrbridge_sqlite_transactions_total /{n = $2} END {print n + 0}'
}

stop() {
  kill -TERM "$SRV" 2>/dev/null
  wait "$SRV" 2>/dev/null
  local rc=$?
  SRV=
  [ "$rc" = 0 ] || die "ehrbridge exited with $rc, see $OUT/server.log"
}

describe() {
  echo "body: $(basename "$BFILE") ($(wc -c <"$BFILE") bytes), db: $DB, connections: $CONNS"
  echo "ehrbridge: $("$BIN" --version 2>&1 | head -1) ($BIN)"
  echo "commit: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
}

if [ "$TOOL" = callgrind ]; then
  log "ehrbridge under callgrind, $WARM pushes to warm up, then $N measured"
  serve valgrind --tool=callgrind --instr-atstart=no --dump-instr=no \
    --callgrind-out-file="$OUT/callgrind.out"
  exact "$WARM" "$((TAG * 10 + 1))"
  t0=$(transactions)
  callgrind_control -i on "$SRV" >/dev/null || die "callgrind_control failed"
  exact "$N" "$((TAG * 10 + 2))"
  callgrind_control -i off "$SRV" >/dev/null || die "callgrind_control failed"
  t1=$(transactions)
  stop
  { describe; echo "pushes measured: $N (after $WARM to warm up)"; } >"$OUT/report.txt"
  callgrind_annotate --inclusive=yes --threshold=100 "$OUT/callgrind.out" >"$OUT/inclusive.txt" ||
    die "callgrind_annotate failed"
  callgrind_annotate --threshold=100 "$OUT/callgrind.out" >"$OUT/exclusive.txt" ||
    die "callgrind_annotate failed"
  /usr/bin/python3 "$HERE/callgrind-report.py" "$OUT/inclusive.txt" "$OUT/exclusive.txt" \
    "$N" "$((t1 - t0))" >>"$OUT/report.txt" || die "callgrind-report.py failed"
else
  log "ehrbridge under wrk for ${SECS}s, sampled by perf"
  serve
  exact "$WARM" "$((TAG * 10 + 1))"
  c0=$(awk '{print $14+$15}' "/proc/$SRV/stat")
  perf record -F 999 -p "$SRV" -o "$OUT/perf.data" -- sleep "$SECS" >/dev/null 2>&1 &
  pp=$!
  r=$(BODY=$BFILE ID_MODE=unique RUN_TAG=$((TAG * 10 + 3)) wrk -t2 -c"$CONNS" -d"${SECS}s" \
      --timeout 30s -s "$PEERS_DIR/requests/load.lua" "$URL" | grep '^RESULT')
  wait "$pp"
  c1=$(awk '{print $14+$15}' "/proc/$SRV/stat")
  stop
  completed=$(sed -n 's/.* completed=\([0-9]*\).*/\1/p' <<<"$r")
  case " $r " in
    *" false=0 non200=0 "*) ;;
    *) die "not every push under load was answered true: ${r:-no result from wrk}" ;;
  esac
  {
    describe
    echo "wrk: $r"
    awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v n="${completed:-0}" \
      'BEGIN { if (n > 0) printf "server CPU per request: %.1f us (samples span the whole load)\n", c / hz * 1e6 / n }'
    for s in comm comm,dso dso sym; do
      echo
      echo "== share of the server's CPU samples by ${s/,/ and } =="
      perf report -i "$OUT/perf.data" --no-children --sort "$s" -g none --percent-limit 0.5 \
        2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
    done
  } >"$OUT/report.txt"
fi
cat "$OUT/report.txt"
rm -f "$OUT"/profile.db*
log "report: $OUT/report.txt"

#!/bin/sh
# Brings docker/compose.yaml up with podman-compose (Debian 12's 1.0.3) and checks it end to end:
# PostgreSQL and two ehrbridge replicas, on a machine that reaches no image registry. It builds
# both images first (tools/container-lib.sh: podman on a debootstrapped debian:bookworm-slim; the
# PostgreSQL image from Debian's package, docker/postgres/Dockerfile) and hands their names to the
# compose file (EHRBRIDGE_IMAGE, POSTGRES_IMAGE), with both replicas published on free ports of
# 127.0.0.1. Then:
#   - both replicas answer GET /readyz (podman-compose does not wait for the database's health
#     check: ehrbridge waits for its database itself), and the health checks of all three pass;
#   - one push sent through both replicas at once is answered `true` by both and stored once; a
#     push through each replica alone is stored; push_log and candidate in PostgreSQL hold exactly
#     these pushes, and the replicas' metrics count the one duplicate;
#   - start order: with PostgreSQL stopped, the replicas started again wait for it (they log
#     "waiting for the database" and keep running), answer /readyz once it is back, and store a
#     push;
#   - podman-compose down -v removes the containers and the volume (this script then the network,
#     which podman-compose 1.0.3 leaves behind).
# Everything labelled with its compose project (ehrbridge-compose-PID) is removed at the end, also
# on failure; the images stay (the next run builds from cache) and so does the base image cache.
#
#   tools/compose-test.sh      (about 2 minutes from nothing, about 1 when the images are built)
#
# Environment: EB_CONTAINER_CACHE (cache folder, default build-container/), EB_DEBIAN_MIRROR,
# EB_IMAGE (default localhost/ehrbridge:test, the image tools/container-test.sh builds),
# EB_PG_IMAGE (default localhost/ehrbridge-postgres:test).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${EB_CONTAINER_CACHE:-$ROOT/build-container}
IMAGE=${EB_IMAGE:-localhost/ehrbridge:test}
PG_IMAGE=${EB_PG_IMAGE:-localhost/ehrbridge-postgres:test}
PROJECT=ehrbridge-compose-$$
LABEL=io.podman.compose.project=$PROJECT
WAIT_S=180 # the longest a step may take before the test gives up

say() { printf 'compose-test: %s\n' "$*"; }
fail() { printf 'compose-test: FAILED: %s\n' "$*" >&2; exit 1; }

# podman, its configuration and the base image (tools/container-lib.sh)
# shellcheck source=tools/container-lib.sh
. "$ROOT/tools/container-lib.sh"
need_packages podman-compose curl

t_start=$(date +%s)
make_base
build_image "$IMAGE" docker/Dockerfile "$CACHE/build.log"
build_image "$PG_IMAGE" docker/postgres/Dockerfile "$CACHE/build-postgres.log"

port1=$(free_port)
port2=$(free_port)
while [ "$port2" = "$port1" ]; do port2=$(free_port); done
password="pg-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
work="$CACHE/compose.$$"
mkdir -p "$work"

# podman-compose on docker/compose.yaml as this test's project (1.0.3 ignores the file's `name:`)
compose() {
  $SUDO env CONTAINERS_CONF="$CONTAINERS_CONF" EHRBRIDGE_IMAGE="$IMAGE" POSTGRES_IMAGE="$PG_IMAGE" \
    EHRBRIDGE_PG_PASSWORD="$password" EHRBRIDGE_ADDR=127.0.0.1 EHRBRIDGE_PORT="$port1" \
    EHRBRIDGE_PORT_2="$port2" podman-compose --no-ansi -p "$PROJECT" -f "$ROOT/docker/compose.yaml" "$@"
}

# The container of compose service $1.
container() {
  c=$(pm ps -a --filter "label=$LABEL" --filter "label=com.docker.compose.service=$1" \
    --format '{{.Names}}' | head -n 1)
  [ -n "$c" ] || fail "no container for the service $1"
  printf '%s\n' "$c"
}

# The volumes the project's containers use (named or anonymous), as the file $work/volumes.
note_volumes() {
  for c in $(pm ps -aq --filter "label=$LABEL"); do
    pm inspect --format '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}}{{"\n"}}{{end}}{{end}}' "$c"
  done | sort -u >"$work/volumes"
}

# Removes what this test made (its compose project): containers, volumes, the network.
remove_project() {
  for c in $(pm ps -aq --filter "label=$LABEL"); do pm rm -f -v -t 0 "$c" >/dev/null 2>&1 || true; done
  if [ -f "$work/volumes" ]; then
    while read -r v; do
      if pm volume exists "$v"; then pm volume rm -f "$v" >/dev/null 2>&1 || true; fi
    done <"$work/volumes"
  fi
  for v in $(pm volume ls -q --filter "label=$LABEL"); do pm volume rm -f "$v" >/dev/null 2>&1 || true; done
  for n in $(pm network ls -q --filter "label=$LABEL"); do pm network rm -f "$n" >/dev/null 2>&1 || true; done
}

cleanup() {
  rc=$?
  if [ "$rc" != 0 ]; then
    for c in $(pm ps -a --filter "label=$LABEL" --format '{{.Names}}' 2>/dev/null); do
      printf -- '--- the last lines of %s ---\n' "$c" >&2
      pm logs --tail 15 "$c" >&2 2>&1 || true
    done
  fi
  remove_project
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- up ----
say "podman-compose up -d (project $PROJECT, replicas on 127.0.0.1:$port1 and :$port2)"
t0=$(date +%s)
if ! compose up -d >"$work/up.log" 2>&1; then
  tail -n 40 "$work/up.log" >&2
  fail "podman-compose up failed"
fi
pg=$(container postgres)
r1=$(container ehrbridge)
r2=$(container ehrbridge-2)
note_volumes
n=$(grep -c . "$work/volumes" || true)
[ "$n" = 1 ] || fail "the project uses $n volumes, not 1 (PostgreSQL's; the replicas keep nothing)"

# Waits until the replica on port $1 (container $2) answers GET /readyz with 200.
ready() {
  i=0
  until curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$1/readyz" 2>/dev/null; do
    [ "$(pm inspect --format '{{.State.Running}}' "$2")" = true ] ||
      fail "$2 stopped before it was ready (exit code $(pm inspect --format '{{.State.ExitCode}}' "$2"))"
    i=$((i + 1))
    [ "$i" -lt $((WAIT_S * 5)) ] || fail "$2 did not answer GET /readyz within $WAIT_S s"
    sleep 0.2
  done
}
ready "$port1" "$r1"
ready "$port2" "$r2"
say "both replicas ready $(($(date +%s) - t0)) s after up"
for c in "$pg" "$r1" "$r2"; do
  i=0
  until quiet healthcheck run "$c" >/dev/null; do
    i=$((i + 1))
    [ "$i" -lt "$WAIT_S" ] || fail "podman healthcheck run $c did not pass"
    sleep 1
  done
done
say "podman healthcheck run: postgres and both replicas healthy"

# ---- pushes ----
sample=tests/fixtures/shapes/typed-qualified.xml # the vendor sample as a typed SOAP 1.1 push
id_a=$(sed -n 's|.*<tns:id>\(.*\)</tns:id>.*|\1|p' "$sample" | head -n 1) # (the push's, the first)
[ -n "$id_a" ] || fail "no push id in $sample"
app_a=12798
grep -q "<tns:applicationId>$app_a</tns:applicationId>" "$sample" || fail "$sample is not application $app_a"

# Writes the sample as push $1 for application $2 to the file $3.
variant() {
  sed -e "s|<tns:id>$id_a</tns:id>|<tns:id>$1</tns:id>|" \
    -e "s|<tns:applicationId>$app_a</tns:applicationId>|<tns:applicationId>$2</tns:applicationId>|" \
    "$sample" >"$3"
}

# Pushes the body file $2 to the replica on port $1; the answer goes to the file $3.
push() {
  code=$(curl -sS -o "$3" -w '%{http_code}' --max-time 60 -H 'Content-Type: text/xml; charset=utf-8' \
    -H 'SOAPAction: "pushCandidate"' --data-binary "@$2" "http://127.0.0.1:$1/pushCandidate") || code=000
  printf '%s' "$code" >"$3.code"
}

# Fails unless the answer in the file $1 is HTTP 200 with `true`; $2 names the push.
answered_true() {
  code=$(cat "$1.code")
  case $code:$(cat "$1") in
    200:*"<return>true</return>"* | 200:*":return>true</"*) ;;
    *) fail "$2 was answered HTTP $code: $(cat "$1")" ;;
  esac
}

# the same push through both replicas at once
push "$port1" "$sample" "$work/a1" &
pid1=$!
push "$port2" "$sample" "$work/a2" &
pid2=$!
wait "$pid1" || true
wait "$pid2" || true
answered_true "$work/a1" "push A through replica 1"
answered_true "$work/a2" "push A through replica 2"
say "push A through both replicas at once: both answered true"
# a push of its own through each replica
id_b=compose-b-$$
id_c=compose-c-$$
variant "$id_b" 12799 "$work/b.xml"
variant "$id_c" 12800 "$work/c.xml"
push "$port1" "$work/b.xml" "$work/b"
answered_true "$work/b" "push B through replica 1"
push "$port2" "$work/c.xml" "$work/c"
answered_true "$work/c" "push C through replica 2"
say "push B through replica 1, push C through replica 2: answered true"

# Runs the query $1 in the database (psql on the Unix socket of the PostgreSQL container).
sql() {
  pm exec "$pg" psql -X -q -A -t -v ON_ERROR_STOP=1 -U ehrbridge -d ehr -c "$1"
}

# Fails unless the query $1 gives $2.
expect_sql() {
  got=$(sql "$1") || fail "the query failed: $1"
  [ "$got" = "$2" ] || fail "$1: got \"$got\", expected \"$2\""
}

expect_sql "SELECT count(*) FROM push_log WHERE push_id = '$id_a'" 1
expect_sql "SELECT push_id || ' ' || outcome FROM push_log ORDER BY push_id COLLATE \"C\"" \
  "$(printf '%s\n' "$id_b stored" "$id_c stored" "$id_a stored" | LC_ALL=C sort)"
expect_sql "SELECT application_id || ' ' || last_push_id FROM candidate ORDER BY application_id" \
  "$(printf '%s\n' "$app_a $id_a" "12799 $id_b" "12800 $id_c")"
say "PostgreSQL: push A stored once, B and C stored; one candidate row each"

# the replicas' metrics: three pushes stored between them, and one answered from the record
stored=0
dups=0
for p in "$port1" "$port2"; do
  m=$(curl -fsS --max-time 10 "http://127.0.0.1:$p/metrics") || fail "GET /metrics on port $p failed"
  s=$(printf '%s\n' "$m" | awk '/^ehrbridge_pushes_total\{.*mode="soap".*outcome="stored"/ { print $2 }')
  d=$(printf '%s\n' "$m" | awk '/^ehrbridge_pushes_total\{.*mode="soap".*outcome="duplicate"/ { print $2 }')
  stored=$((stored + ${s:-0}))
  dups=$((dups + ${d:-0}))
done
{ [ "$stored" = 3 ] && [ "$dups" = 1 ]; } ||
  fail "the replicas count $stored pushes stored and $dups duplicates, not 3 and 1"
say "metrics: 3 pushes stored and 1 duplicate between the replicas"

# ---- start order: the replicas wait for a database that is not there yet ----
waiting() { pm logs "$1" 2>&1 | grep -c '"msg":"waiting for the database"' || true; }
# (podman-compose started them a second after PostgreSQL, without waiting for its health check:
# whether that raced depends on the machine, so it is only told; the check below makes the race)
say "at the first start, replica 1 waited for PostgreSQL: $([ "$(waiting "$r1")" -gt 0 ] && echo yes || echo no)," \
  "replica 2: $([ "$(waiting "$r2")" -gt 0 ] && echo yes || echo no)"
quiet stop -t 20 "$r1" "$r2" >/dev/null
quiet stop -t 20 "$pg" >/dev/null
before1=$(waiting "$r1")
before2=$(waiting "$r2")
quiet start "$r1" "$r2" >/dev/null
for pair in "$r1:$before1" "$r2:$before2"; do
  c=${pair%:*}
  i=0
  until [ "$(waiting "$c")" -gt "${pair##*:}" ]; do
    [ "$(pm inspect --format '{{.State.Running}}' "$c")" = true ] ||
      fail "$c, started before its database, stopped (exit code $(pm inspect --format '{{.State.ExitCode}}' "$c"))"
    i=$((i + 1))
    [ "$i" -lt $((WAIT_S * 5)) ] || fail "$c did not log that it waits for the database"
    sleep 0.2
  done
done
say "replicas started before PostgreSQL: both wait for it"
quiet start "$pg" >/dev/null
t0=$(date +%s)
ready "$port1" "$r1"
ready "$port2" "$r2"
say "both replicas ready $(($(date +%s) - t0)) s after PostgreSQL started"
id_d=compose-d-$$
variant "$id_d" 12801 "$work/d.xml"
push "$port2" "$work/d.xml" "$work/d"
answered_true "$work/d" "push D through replica 2"
expect_sql "SELECT count(*) || ' ' || count(DISTINCT push_id) FROM push_log" "4 4"
expect_sql "SELECT last_push_id FROM candidate WHERE application_id = 12801" "$id_d"
say "push D after the restart: stored"

# ---- down ----
t0=$(date +%s)
compose down -v >"$work/down.log" 2>&1 || { tail -n 20 "$work/down.log" >&2; fail "podman-compose down -v failed"; }
left=$(pm ps -aq --filter "label=$LABEL")
[ -z "$left" ] || fail "podman-compose down left containers: $left"
while read -r v; do
  if pm volume exists "$v"; then fail "podman-compose down -v left the volume $v"; fi
done <"$work/volumes"
remove_project # podman-compose 1.0.3 leaves the network
[ -z "$(pm network ls -q --filter "label=$LABEL")" ] || fail "the project's network is left"
say "podman-compose down -v: $(($(date +%s) - t0)) s"
say "ok: compose file up, 4 pushes through 2 replicas, down; $(($(date +%s) - t_start)) s in all"

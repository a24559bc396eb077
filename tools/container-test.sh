#!/bin/sh
# Builds docker/Dockerfile with podman and checks the image end to end, the way docs/container.md
# says images are built on machines without a Docker engine that reach no image registry
# (tools/container-lib.sh: a Debian 12 base image made with debootstrap, its root file system
# cached as a tarball in the cache folder, default build-container/; runc with explicit ulimits
# through a private containers.conf; `podman build --format docker --pull=never`, the docker
# format keeps HEALTHCHECK). Then it runs the image with secrets given as files, and checks: the
# vendor sample pushed over loopback is answered `true` (and refused with 401 without the bearer
# token), `podman healthcheck run`, the process runs as a non-root user, the SQLite database is in
# the volume, GET /metrics counts the push, and SIGTERM (podman stop) stops it with exit code 0;
# that both replicas of docker/compose.yaml build this Dockerfile and set only settings ehrbridge
# knows (tools/compose-test.sh runs the compose file). Prints the image size. Everything it
# started is removed at the end (`podman rm -f -t 0`), also on failure.
#
#   tools/container-test.sh          everything (about 3 minutes from nothing, 30 s when cached)
#   tools/container-test.sh base     only make the base image
#
# Environment: EB_CONTAINER_CACHE (cache folder), EB_DEBIAN_MIRROR (default: the host's apt
# mirror), EB_IMAGE (default localhost/ehrbridge:test).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${EB_CONTAINER_CACHE:-$ROOT/build-container}
IMAGE=${EB_IMAGE:-localhost/ehrbridge:test}
NAME=ehrbridge-ct-$$
VOLUME=ehrbridge-ct-data-$$

say() { printf 'container-test: %s\n' "$*"; }
fail() { printf 'container-test: FAILED: %s\n' "$*" >&2; exit 1; }

# podman, its configuration and the base image (tools/container-lib.sh)
# shellcheck source=tools/container-lib.sh
. "$ROOT/tools/container-lib.sh"
need_packages curl python3-yaml # for the checks

make_base
[ "${1:-}" = base ] && exit 0

# ---- build ----
build_image "$IMAGE" docker/Dockerfile "$CACHE/build.log"

size=$(pm image inspect --format '{{.Size}}' "$IMAGE")
say "image size: $(( size / 1000000 )) MB ($size bytes)"
# the binary and its libraries on Debian slim take about 145 MB; far more means that build tools
# or caches leaked into the runtime image
[ "$size" -lt 250000000 ] || fail "the image is $(( size / 1000000 )) MB: more than the runtime needs"
hc=$(pm image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
case $hc in *ehrbridge*health*) ;; *) fail "the image has no HEALTHCHECK with ehrbridge health: $hc" ;; esac
user=$(pm image inspect --format '{{.Config.User}}' "$IMAGE")
case $user in "" | root | 0 | 0:*) fail "the image runs as root (User=\"$user\")" ;; esac
# docker/compose.yaml (read here; tools/compose-test.sh runs it): both replicas build this
# Dockerfile from the repository root and set only settings the image's ehrbridge knows
pm run --rm "$IMAGE" --help >"$CACHE/help.txt" 2>&1 || fail "ehrbridge --help failed in the image"
/usr/bin/python3 - "$CACHE/help.txt" <<'PYEOF' || fail "docker/compose.yaml does not fit the image"
import os, re, sys
import yaml
compose = yaml.safe_load(open("docker/compose.yaml"))
known = set(re.findall(r"EHRBRIDGE_[A-Z0-9_]+", open(sys.argv[1]).read()))
replicas = [n for n, s in compose["services"].items() if "build" in s]
assert replicas == ["ehrbridge", "ehrbridge-2"], replicas
for name in replicas:
    svc = compose["services"][name]
    ctx = os.path.normpath(os.path.join("docker", svc["build"]["context"]))
    assert os.path.isfile(os.path.join(ctx, svc["build"]["dockerfile"])), svc["build"]
    assert os.path.samefile(ctx, "."), f"build context {ctx} is not the repository root"
    assert svc["depends_on"]["postgres"]["condition"] == "service_healthy", svc["depends_on"]
    env = svc["environment"]
    env = dict(e.split("=", 1) for e in env) if isinstance(env, list) else env
    unknown = [k for k in env if k.startswith("EHRBRIDGE_") and k not in known]
    assert not unknown, f"{name}: settings ehrbridge does not know: {unknown}"
    assert str(env.get("EHRBRIDGE_DB", "")).startswith("postgresql://"), f"{name}: EHRBRIDGE_DB is not PostgreSQL"
    # podman-compose does not wait for the database's health check: ehrbridge waits itself
    assert int(env.get("EHRBRIDGE_DB_WAIT", 0)) > 0, f"{name}: no EHRBRIDGE_DB_WAIT"
PYEOF
say "docker/compose.yaml fits the image"
# no curl in the runtime image: the health check is the binary itself
if pm run --rm --entrypoint sh "$IMAGE" -c 'command -v curl' >/dev/null 2>&1; then
  fail "curl is in the runtime image"
fi

# ---- run ----
cleanup() {
  pm rm -f -t 0 "$NAME" >/dev/null 2>&1 || true # (also removes its health check timer)
  pm volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  rm -rf "$CACHE/secrets.$$"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(free_port)
secrets="$CACHE/secrets.$$"
mkdir -p "$secrets"
token="ct-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$token" >"$secrets/bearer_token"
chmod 0644 "$secrets/bearer_token" # readable by the image's non-root user
say "podman run $IMAGE on 127.0.0.1:$port (bearer token as a secret file)"
# There is no systemd for podman's health check timers here (podman complains, and goes on): the
# test runs the image's HEALTHCHECK itself (podman healthcheck run).
quiet run -d --name "$NAME" -p "127.0.0.1:$port:8080" \
  -v "$VOLUME:/var/lib/ehrbridge" \
  -v "$secrets/bearer_token:/run/secrets/bearer_token:ro" \
  -e EHRBRIDGE_BEARER_TOKEN_FILE=/run/secrets/bearer_token \
  -e EHRBRIDGE_PUBLIC_URL="http://127.0.0.1:$port/pushCandidate" \
  -e EHRBRIDGE_LOG_FORMAT=json \
  "$IMAGE" >/dev/null

base="http://127.0.0.1:$port"
ok=
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null --max-time 2 "$base/healthz" 2>/dev/null; then ok=1; break; fi
  if [ "$(pm inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" != true ]; then break; fi
  sleep 0.1
done
if [ -z "$ok" ]; then
  pm logs "$NAME" >&2 || true
  fail "the container did not answer GET /healthz on 127.0.0.1:$port"
fi
say "GET /healthz answered"

curl -fsS --max-time 10 "$base/readyz" >/dev/null || fail "GET /readyz did not answer 200"

sample=tests/fixtures/shapes/typed-qualified.xml # the vendor sample as a typed SOAP 1.1 push
code=$(curl -sS -o "$CACHE/answer.$$" -w '%{http_code}' --max-time 30 -H 'Content-Type: text/xml; charset=utf-8' \
  -H 'SOAPAction: "pushCandidate"' --data-binary "@$sample" "$base/pushCandidate")
[ "$code" = 401 ] || fail "a push without the bearer token was answered $code, not 401"
code=$(curl -sS -o "$CACHE/answer.$$" -w '%{http_code}' --max-time 30 -H 'Content-Type: text/xml; charset=utf-8' \
  -H 'SOAPAction: "pushCandidate"' -H "Authorization: Bearer $token" --data-binary "@$sample" "$base/pushCandidate")
answer=$(cat "$CACHE/answer.$$")
rm -f "$CACHE/answer.$$"
[ "$code" = 200 ] || fail "the vendor sample was answered HTTP $code: $answer"
case $answer in
  *"<return>true</return>"* | *":return>true</"*) say "vendor sample pushed: true" ;;
  *) fail "the vendor sample was not answered true: $answer" ;;
esac

pm healthcheck run "$NAME" >/dev/null || fail "podman healthcheck run $NAME failed"
say "podman healthcheck run: healthy"

uid=$(pm exec "$NAME" id -u)
[ "$uid" != 0 ] || fail "the service runs as root"
pid1_user=$(pm top "$NAME" user comm | awk 'NR == 2 { print $1 }')
{ [ -n "$pid1_user" ] && [ "$pid1_user" != root ]; } || fail "podman top shows the process as \"$pid1_user\""
say "runs as uid $uid ($pid1_user)"

pm exec "$NAME" test -s /var/lib/ehrbridge/ehrbridge.db || fail "no SQLite database in the volume"
metrics=$(curl -fsS --max-time 10 "$base/metrics") || fail "GET /metrics failed"
printf '%s\n' "$metrics" | grep -q '^ehrbridge_pushes_total{.*outcome="stored".*} 1$' ||
  fail "GET /metrics does not count the stored push: $(printf '%s\n' "$metrics" | grep pushes_total)"
say "GET /metrics counts the push"

t0=$(date +%s)
quiet stop -t 20 "$NAME" >/dev/null
rc=$(pm inspect --format '{{.State.ExitCode}}' "$NAME")
[ "$rc" = 0 ] || { pm logs "$NAME" 2>&1 | tail -n 20 >&2; fail "ehrbridge exited $rc on SIGTERM"; }
say "podman stop: exit 0 after $(( $(date +%s) - t0 )) s"
pm logs "$NAME" 2>&1 | grep -q '"msg":"stopped"' || fail "no JSON log line \"stopped\""

say "ok: image $IMAGE, $(( size / 1000000 )) MB"

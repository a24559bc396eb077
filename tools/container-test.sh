#!/bin/sh
# Builds docker/Dockerfile with podman and checks the image end to end, the way
# docs/container.md says images are built on machines without a Docker engine (no Docker
# Hub): a Debian 12 base image made with debootstrap (its root file system cached as a tarball in
# the cache folder, default build-container/), runc with explicit ulimits through a private
# containers.conf (CONTAINERS_CONF), `podman build --format docker --pull=never` (the docker format
# keeps HEALTHCHECK). Then it runs the image with secrets given as files, and checks: the vendor
# sample pushed over loopback is answered `true` (and refused with 401 without the bearer token),
# `podman healthcheck run`, the process runs as a non-root user, the SQLite database is in the
# volume, GET /metrics counts the push, and SIGTERM (podman stop) stops it with exit code 0; that
# docker/compose.yaml builds this Dockerfile and sets only settings ehrbridge knows. Prints the
# image size. Everything it started is removed at the end (`podman rm -f -t 0`), also on failure.
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
BASE=localhost/debian:bookworm-slim
BASE_MARK=localhost/ehrbridge-base:bookworm-slim-2 # names the recipe below; bump it when it changes
NAME=ehrbridge-ct-$$
VOLUME=ehrbridge-ct-data-$$
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

say() { printf 'container-test: %s\n' "$*"; }
fail() { printf 'container-test: FAILED: %s\n' "$*" >&2; exit 1; }

# ---- tools ----
missing=
# podman with runc and CNI networking (what docs/container.md describes; crun is not used), debootstrap
# for the base image, curl and python3-yaml for the checks
for p in podman runc containernetworking-plugins iptables debootstrap curl python3-yaml; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  say "installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

mkdir -p "$CACHE"
# crun (podman's default) cannot start containers here, and setrlimit is not permitted: runc with
# explicit ulimits, cgroupfs, events in a file (there is no systemd).
cat >"$CACHE/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=10240:10240", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF="$CACHE/containers.conf"
PODMAN=podman
[ -z "$SUDO" ] || PODMAN="$SUDO env CONTAINERS_CONF=$CONTAINERS_CONF podman" # sudo drops the variable

# ---- the base image: debootstrap, cached as a tarball ----

# Slims the new root file system $1 as Debian's official -slim images are: no documentation,
# manual pages or translations, now and for the packages installed on top (dpkg path excludes).
slim() {
  r=$1
  case $r in "$CACHE"/rootfs.*) ;; *) fail "slim: refusing to work on \"$r\"" ;; esac
  [ -d "$r/etc/dpkg" ] || fail "slim: $r is not a debootstrapped root"
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/groff/*' \
    'path-exclude /usr/share/info/*' 'path-exclude /usr/share/lintian/*' \
    'path-exclude /usr/share/linda/*' 'path-exclude /usr/share/locale/*' |
    $SUDO tee "$r/etc/dpkg/dpkg.cfg.d/docker-slim" >/dev/null
  $SUDO find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  $SUDO find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
  for d in man groff info lintian linda locale; do
    [ -d "$r/usr/share/$d" ] && $SUDO find "$r/usr/share/$d" -mindepth 1 -delete
  done
  $SUDO find "$r/var/cache/apt" "$r/var/lib/apt/lists" -type f -delete
  $SUDO find "$r/var/log" -type f -delete
}

make_base() {
  if $PODMAN image exists "$BASE_MARK" && $PODMAN image exists "$BASE" &&
    [ "$($PODMAN image inspect --format '{{.Id}}' "$BASE_MARK")" = \
      "$($PODMAN image inspect --format '{{.Id}}' "$BASE")" ]; then
    say "base image $BASE present"
    return
  fi
  tarball="$CACHE/debian-bookworm-slim-2.tar"
  if [ ! -s "$tarball" ]; then
    mirror=${EB_DEBIAN_MIRROR:-}
    if [ -z "$mirror" ]; then
      mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
    fi
    if [ -z "$mirror" ]; then
      mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
    fi
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    rootfs="$CACHE/rootfs.$$"
    say "debootstrap bookworm from $mirror (about 1.5 minutes)"
    $SUDO rm -rf "$rootfs"
    if ! $SUDO debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
      tail -n 20 "$CACHE/debootstrap.log" >&2
      $SUDO rm -rf "$rootfs"
      fail "debootstrap failed (log: $CACHE/debootstrap.log)"
    fi
    # the image's apt uses the same mirror as the host
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      $SUDO cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/"
      $SUDO rm -f "$rootfs/etc/apt/sources.list"
    elif [ -f /etc/apt/sources.list ]; then
      $SUDO cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"
    fi
    slim "$rootfs"
    $SUDO tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
    $SUDO rm -rf "$rootfs"
    mv "$tarball.tmp" "$tarball"
  fi
  say "importing $tarball as $BASE"
  $PODMAN import --quiet --change 'CMD ["bash"]' "$tarball" "$BASE" >/dev/null
  $PODMAN tag "$BASE" docker.io/library/debian:bookworm-slim
  $PODMAN tag "$BASE" "$BASE_MARK"
}

make_base
[ "${1:-}" = base ] && exit 0

# ---- build ----
say "podman build --format docker --pull=never -f docker/Dockerfile -t $IMAGE ."
t0=$(date +%s)
if ! $PODMAN build --format docker --pull=never -f docker/Dockerfile -t "$IMAGE" . >"$CACHE/build.log" 2>&1; then
  tail -n 40 "$CACHE/build.log" >&2
  fail "podman build failed (log: $CACHE/build.log)"
fi
say "built in $(( $(date +%s) - t0 )) s"

size=$($PODMAN image inspect --format '{{.Size}}' "$IMAGE")
say "image size: $(( size / 1000000 )) MB ($size bytes)"
# the binary and its libraries on Debian slim take about 145 MB; far more means that build tools
# or caches leaked into the runtime image
[ "$size" -lt 250000000 ] || fail "the image is $(( size / 1000000 )) MB: more than the runtime needs"
hc=$($PODMAN image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
case $hc in *ehrbridge*health*) ;; *) fail "the image has no HEALTHCHECK with ehrbridge health: $hc" ;; esac
user=$($PODMAN image inspect --format '{{.Config.User}}' "$IMAGE")
case $user in "" | root | 0 | 0:*) fail "the image runs as root (User=\"$user\")" ;; esac
# docker/compose.yaml (ehrbridge with PostgreSQL; no Docker Hub here to pull postgres from): it
# builds this Dockerfile from the repository root and sets only settings the image's ehrbridge
# knows
$PODMAN run --rm "$IMAGE" --help >"$CACHE/help.txt" 2>&1 || fail "ehrbridge --help failed in the image"
/usr/bin/python3 - "$CACHE/help.txt" <<'PYEOF' || fail "docker/compose.yaml does not fit the image"
import os, re, sys
import yaml
compose = yaml.safe_load(open("docker/compose.yaml"))
svc = compose["services"]["ehrbridge"]
ctx = os.path.normpath(os.path.join("docker", svc["build"]["context"]))
assert os.path.isfile(os.path.join(ctx, svc["build"]["dockerfile"])), svc["build"]
assert os.path.samefile(ctx, "."), f"build context {ctx} is not the repository root"
assert svc["depends_on"]["postgres"]["condition"] == "service_healthy", svc["depends_on"]
env = svc["environment"]
env = dict(e.split("=", 1) for e in env) if isinstance(env, list) else env
known = set(re.findall(r"EHRBRIDGE_[A-Z0-9_]+", open(sys.argv[1]).read()))
unknown = [k for k in env if k.startswith("EHRBRIDGE_") and k not in known]
assert not unknown, f"settings ehrbridge does not know: {unknown}"
assert str(env.get("EHRBRIDGE_DB", "")).startswith("postgresql://"), "EHRBRIDGE_DB is not PostgreSQL"
PYEOF
say "docker/compose.yaml fits the image"
# no curl in the runtime image: the health check is the binary itself
if $PODMAN run --rm --entrypoint sh "$IMAGE" -c 'command -v curl' >/dev/null 2>&1; then
  fail "curl is in the runtime image"
fi

# ---- run ----
cleanup() {
  $PODMAN rm -f -t 0 "$NAME" >/dev/null 2>&1 || true # (also removes its health check timer)
  $PODMAN volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  rm -rf "$CACHE/secrets.$$"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
secrets="$CACHE/secrets.$$"
mkdir -p "$secrets"
token="ct-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$token" >"$secrets/bearer_token"
chmod 0644 "$secrets/bearer_token" # readable by the image's non-root user
say "podman run $IMAGE on 127.0.0.1:$port (bearer token as a secret file)"
# There is no systemd for podman's health check timers here (podman complains, and goes on): the
# test runs the image's HEALTHCHECK itself (podman healthcheck run).
quiet() { # runs podman, showing its complaints about systemd timers only when it fails
  if ! "$@" 2>"$CACHE/podman.err.$$"; then cat "$CACHE/podman.err.$$" >&2; rm -f "$CACHE/podman.err.$$"; return 1; fi
  grep -v 'unable to get systemd connection' "$CACHE/podman.err.$$" >&2 || true
  rm -f "$CACHE/podman.err.$$"
}
quiet $PODMAN run -d --name "$NAME" -p "127.0.0.1:$port:8080" \
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
  if [ "$($PODMAN inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" != true ]; then break; fi
  sleep 0.1
done
if [ -z "$ok" ]; then
  $PODMAN logs "$NAME" >&2 || true
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

$PODMAN healthcheck run "$NAME" >/dev/null || fail "podman healthcheck run $NAME failed"
say "podman healthcheck run: healthy"

uid=$($PODMAN exec "$NAME" id -u)
[ "$uid" != 0 ] || fail "the service runs as root"
pid1_user=$($PODMAN top "$NAME" user comm | awk 'NR == 2 { print $1 }')
[ -n "$pid1_user" ] && [ "$pid1_user" != root ] || fail "podman top shows the process as \"$pid1_user\""
say "runs as uid $uid ($pid1_user)"

$PODMAN exec "$NAME" test -s /var/lib/ehrbridge/ehrbridge.db || fail "no SQLite database in the volume"
metrics=$(curl -fsS --max-time 10 "$base/metrics") || fail "GET /metrics failed"
printf '%s\n' "$metrics" | grep -q '^ehrbridge_pushes_total{.*outcome="stored".*} 1$' ||
  fail "GET /metrics does not count the stored push: $(printf '%s\n' "$metrics" | grep pushes_total)"
say "GET /metrics counts the push"

t0=$(date +%s)
quiet $PODMAN stop -t 20 "$NAME" >/dev/null
rc=$($PODMAN inspect --format '{{.State.ExitCode}}' "$NAME")
[ "$rc" = 0 ] || { $PODMAN logs "$NAME" 2>&1 | tail -n 20 >&2; fail "ehrbridge exited $rc on SIGTERM"; }
say "podman stop: exit 0 after $(( $(date +%s) - t0 )) s"
$PODMAN logs "$NAME" 2>&1 | grep -q '"msg":"stopped"' || fail "no JSON log line \"stopped\""

say "ok: image $IMAGE, $(( size / 1000000 )) MB"

# shellcheck shell=sh
# What tools/container-test.sh and tools/compose-test.sh share, sourced by both: building and
# running images with podman on a Debian 12 machine that has no Docker engine and reaches no image
# registry.
#   - podman with runc, explicit ulimits, cgroupfs and events in a file, through a private
#     containers.conf given as CONTAINERS_CONF (podman's default runtime crun cannot start
#     containers on hosts with hybrid cgroups where setrlimit is not permitted; there is no
#     systemd);
#     CNI networking with the dnsname plugin, so that containers find each other by name;
#   - the base image debian:bookworm-slim made with debootstrap from the host's Debian mirror, its
#     root file system cached as a tarball in the cache folder (build with --pull=never).
# The sourcing script sets ROOT (the repository) and CACHE (the cache folder) and defines
# say MESSAGE and fail MESSAGE (fail exits). Afterwards: pm ARGS... runs podman (through sudo when
# not root), SUDO is "sudo" or "", BASE names the base image.
# Environment: EB_DEBIAN_MIRROR (default: the host's apt mirror).

BASE=localhost/debian:bookworm-slim
BASE_MARK=localhost/ehrbridge-base:bookworm-slim-2 # names the recipe below; bump it when it changes
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# Installs the Debian packages named (those not installed yet).
need_packages() {
  missing=
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
  done
  [ -n "$missing" ] || return 0
  say "installing$missing"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || fail "apt-get update failed"
  # shellcheck disable=SC2086 # a list of package names
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null ||
    fail "apt-get install$missing failed"
}

# podman itself, runc (crun is not used), CNI networking with name resolution (dnsname), and
# debootstrap for the base image.
need_packages podman runc containernetworking-plugins golang-github-containernetworking-plugin-dnsname \
  iptables debootstrap

mkdir -p "$CACHE"
cat >"$CACHE/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=10240:10240", "nproc=4096:4096"]

[network]
network_backend = "cni"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
CONTAINERS_CONF="$CACHE/containers.conf"
export CONTAINERS_CONF

# podman with the configuration above (sudo drops the variable, so it is given again).
pm() {
  if [ -n "$SUDO" ]; then
    sudo env CONTAINERS_CONF="$CONTAINERS_CONF" podman "$@"
  else
    podman "$@"
  fi
}

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
    if [ -d "$r/usr/share/$d" ]; then $SUDO find "$r/usr/share/$d" -mindepth 1 -delete; fi
  done
  $SUDO find "$r/var/cache/apt" "$r/var/lib/apt/lists" -type f -delete
  $SUDO find "$r/var/log" -type f -delete
}

# Makes the base image (also tagged docker.io/library/debian:bookworm-slim) unless it is there.
make_base() {
  if pm image exists "$BASE_MARK" && pm image exists "$BASE" &&
    [ "$(pm image inspect --format '{{.Id}}' "$BASE_MARK")" = \
      "$(pm image inspect --format '{{.Id}}' "$BASE")" ]; then
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
  pm import --quiet --change 'CMD ["bash"]' "$tarball" "$BASE" >/dev/null
  pm tag "$BASE" docker.io/library/debian:bookworm-slim
  pm tag "$BASE" "$BASE_MARK"
}

# Builds an image: build_image IMAGE DOCKERFILE LOG (from the repository root, --format docker so
# that HEALTHCHECK is kept, --pull=never so that a missing base fails at once).
build_image() {
  t0=$(date +%s)
  say "podman build --format docker --pull=never -f $2 -t $1 ."
  if ! pm build --format docker --pull=never -f "$2" -t "$1" . >"$3" 2>&1; then
    tail -n 40 "$3" >&2
    fail "podman build of $2 failed (log: $3)"
  fi
  say "built $1 in $(($(date +%s) - t0)) s"
}

# Runs podman ARGS, showing its complaints about systemd timers (there is no systemd for podman's
# health check timers here; podman complains and goes on) only when it fails.
quiet() {
  if ! pm "$@" 2>"$CACHE/podman.err.$$"; then
    cat "$CACHE/podman.err.$$" >&2
    rm -f "$CACHE/podman.err.$$"
    return 1
  fi
  grep -v 'unable to get systemd connection' "$CACHE/podman.err.$$" >&2 || true
  rm -f "$CACHE/podman.err.$$"
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

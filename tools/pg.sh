#!/bin/sh
# Throwaway PostgreSQL clusters for the tests, from Debian's postgresql package (no service of the
# machine is used or assumed):
#   tools/pg.sh start        initdb into a new temporary directory and start a server on 127.0.0.1
#                            at a free port; prints EB_PG_DIR=... and EB_PG_URL=... (eval them)
#   tools/pg.sh stop DIR     stop the server (fast) and delete DIR
#   tools/pg.sh restart DIR  pg_ctl restart -m fast
#   tools/pg.sh down DIR     stop the server, keep its data;  tools/pg.sh up DIR  start it again
# The cluster has one superuser, ehrbridge, with a random password (scram-sha-256 over TCP).
# As root, the server runs as the user postgres (created by the package) through runuser.
set -eu

die() { echo "pg.sh: $*" >&2; exit 1; }

bindir=
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
  [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && bindir=$d
done
if [ -z "$bindir" ]; then
  command -v initdb >/dev/null 2>&1 || die "no PostgreSQL server found (apt-get install postgresql)"
  bindir=$(dirname "$(command -v initdb)")
fi

# as_owner CMD...: runs CMD as the cluster's owner (postgres when we are root).
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root needs the user postgres (apt-get install postgresql)"
  as_owner() { runuser -u postgres -- "$@"; }
  owner=postgres
else
  as_owner() { "$@"; }
  owner=$(id -un)
fi

check_dir() {
  [ -n "${1:-}" ] && [ -f "$1/.eb-pg" ] || die "not a cluster made by tools/pg.sh: ${1:-(none)}"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_ctl() { as_owner "$bindir/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 "$2" ${3:+-m "$3"} >/dev/null; }

cmd=${1:-}
case "$cmd" in
start)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/eb-pg.XXXXXX")
  touch "$dir/.eb-pg"
  password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$dir/pwfile"
  chown -R "$owner" "$dir"
  chmod 700 "$dir"
  if ! as_owner "$bindir/initdb" -D "$dir/data" -U ehrbridge --pwfile="$dir/pwfile" -E UTF8 \
       --locale=C.UTF-8 --auth-local=scram-sha-256 --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    die "initdb failed"
  fi
  rm -f "$dir/pwfile"
  started=
  for try in 1 2 3 4 5; do
    port=$(free_port)
    cat >>"$dir/data/postgresql.conf" <<EOF
# tools/pg.sh (try $try)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
full_page_writes = off
EOF
    if pg_ctl "$dir" start; then started=1; break; fi
  done
  if [ -z "$started" ]; then
    cat "$dir/server.log" >&2 || true
    rm -rf "$dir"
    die "the server did not start"
  fi
  echo "EB_PG_DIR=$dir"
  echo "EB_PG_URL=postgresql://ehrbridge:$password@127.0.0.1:$port/postgres"
  ;;
stop)
  check_dir "${2:-}"
  pg_ctl "$2" stop fast 2>/dev/null || true
  rm -rf "$2"
  ;;
restart)
  check_dir "${2:-}"
  pg_ctl "$2" restart fast
  ;;
down)
  check_dir "${2:-}"
  pg_ctl "$2" stop fast
  ;;
up)
  check_dir "${2:-}"
  pg_ctl "$2" start
  ;;
*)
  die "usage: tools/pg.sh start | stop DIR | restart DIR | down DIR | up DIR"
  ;;
esac

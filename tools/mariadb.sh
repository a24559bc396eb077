#!/bin/sh
# Throwaway MariaDB servers for the tests, from Debian's mariadb-server package (no service of the
# machine is used or assumed):
#   tools/mariadb.sh start      mariadb-install-db into a new temporary directory and start a
#                               server on 127.0.0.1 at a free port; prints EB_MARIADB_DIR=... and
#                               EB_MARIADB_ODBC=... (the ODBC connection string, Debian's
#                               odbc-mariadb driver by path, OPTION=2; eval them)
#   tools/mariadb.sh stop DIR   stop the server and delete DIR
# The server has one database, ehrbridge, and one user, ehrbridge, with a random password, who may
# also create and drop databases named eb_* (the integration tests give each server one of its own).
# As root, the server runs as the user mysql (created by the package). Like tools/pg.sh's cluster
# (fsync = off) the server does not flush to disk: it is thrown away, and a test that needs data to
# survive kills ehrbridge, never the server.
set -eu

die() { echo "mariadb.sh: $*" >&2; exit 1; }

command -v mariadb-install-db >/dev/null 2>&1 || die "no MariaDB server found (apt-get install mariadb-server)"
server=$(command -v mariadbd || echo /usr/sbin/mariadbd)
[ -x "$server" ] || die "no mariadbd (apt-get install mariadb-server)"
driver=
for d in /usr/lib/x86_64-linux-gnu/odbc /usr/lib/aarch64-linux-gnu/odbc /usr/lib/odbc; do
  [ -f "$d/libmaodbc.so" ] && driver=$d/libmaodbc.so && break
done

if [ "$(id -u)" = 0 ]; then
  id mysql >/dev/null 2>&1 || die "running as root needs the user mysql (apt-get install mariadb-server)"
  owner=mysql
else
  owner=$(id -un)
fi

check_dir() {
  if [ -z "${1:-}" ] || [ ! -f "$1/.eb-mariadb" ]; then
    die "not a server made by tools/mariadb.sh: ${1:-(none)}"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# client DIR ARGS...: the mariadb client as root over DIR's socket.
client() { sock=$1/sock; shift; mariadb --no-defaults --protocol=socket --socket="$sock" -uroot "$@"; }

cmd=${1:-}
case "$cmd" in
start)
  [ -n "$driver" ] || die "no ODBC driver libmaodbc.so (apt-get install odbc-mariadb)"
  dir=$(mktemp -d "${TMPDIR:-/tmp}/eb-mariadb.XXXXXX")
  touch "$dir/.eb-mariadb"
  chown -R "$owner" "$dir"
  chmod 700 "$dir"
  if ! mariadb-install-db --no-defaults --user="$owner" --datadir="$dir/data" \
       --auth-root-authentication-method=socket >"$dir/install.log" 2>&1; then
    cat "$dir/install.log" >&2
    rm -rf "$dir"
    die "mariadb-install-db failed"
  fi
  password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  started=
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    "$server" --no-defaults --user="$owner" --datadir="$dir/data" --socket="$dir/sock" \
      --pid-file="$dir/pid" --bind-address=127.0.0.1 --port="$port" --skip-name-resolve \
      --log-error="$dir/server.log" --innodb-buffer-pool-size=32M \
      --innodb-flush-log-at-trx-commit=0 --innodb-flush-method=nosync --innodb-doublewrite=0 \
      >/dev/null 2>&1 &
    spid=$!
    for _ in $(seq 1 120); do
      [ -S "$dir/sock" ] && client "$dir" -e 'SELECT 1' >/dev/null 2>&1 && started=1 && break
      kill -0 $spid 2>/dev/null || break
      sleep 0.25
    done
    [ -n "$started" ] && break
    kill $spid 2>/dev/null || true
    wait $spid 2>/dev/null || true
  done
  if [ -z "$started" ]; then
    cat "$dir/server.log" >&2 || true
    rm -rf "$dir"
    die "the server did not start"
  fi
  client "$dir" -e "CREATE DATABASE ehrbridge CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
    CREATE USER 'ehrbridge'@'127.0.0.1' IDENTIFIED BY '$password';
    GRANT ALL ON ehrbridge.* TO 'ehrbridge'@'127.0.0.1';
    GRANT ALL ON \`eb\\_%\`.* TO 'ehrbridge'@'127.0.0.1';" || die "cannot create the user"
  echo "EB_MARIADB_DIR=$dir"
  # OPTION=2 (FOUND_ROWS): an UPDATE counts the rows it matched, which ehrbridge needs
  echo "EB_MARIADB_ODBC='DRIVER=$driver;SERVER=127.0.0.1;PORT=$port;DATABASE=ehrbridge;UID=ehrbridge;PWD=$password;OPTION=2'"
  ;;
stop)
  check_dir "${2:-}"
  dir=$2
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
  rm -rf "$dir"
  ;;
*)
  die "usage: tools/mariadb.sh start | stop DIR"
  ;;
esac

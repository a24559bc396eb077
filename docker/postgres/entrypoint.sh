#!/bin/sh
# Starts PostgreSQL in the image of docker/postgres/Dockerfile. On the first start (an empty
# $PGDATA) it makes the cluster: the superuser POSTGRES_USER (default postgres) with the password
# POSTGRES_PASSWORD (required), the database POSTGRES_DB (default: the user's name), password
# authentication (scram-sha-256) for every TCP client; the Unix socket inside the container trusts
# its local users, as the official image does. Until that is done the server does not
# listen on TCP, so a client never sees a half-made cluster. Then it runs postgres (or the command
# given) in place of itself, listening on every address.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "postgres-entrypoint: POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  [ -w "$PGDATA" ] || { echo "postgres-entrypoint: $PGDATA is not writable by $(id -un)" >&2; exit 1; }
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  printf '%s\n' 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    # single-user mode: no connection is accepted while the database is made
    printf 'CREATE DATABASE "%s" OWNER "%s";\n' "$db" "$user" |
      postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "postgres-entrypoint: made the cluster in $PGDATA (database $db, user $user)"
fi
if [ "${1:-}" = postgres ]; then
  shift
  exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"

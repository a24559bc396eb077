#!/bin/sh
# Starts one benchmark peer in the foreground (exec: the peer's process id is this script's).
#
#   run-peer.sh node-soap|spyne PORT DBFILE
#   run-peer.sh node-soap-pg PORT DATABASE_URL
#
# It answers on http://127.0.0.1:PORT/pushCandidate (WSDL: ?wsdl) and stores into DBFILE (created
# with schema.sql), or for node-soap-pg into the PostgreSQL database at DATABASE_URL
# (postgresql://..., tables created with schema-pg.sql). node-soap and node-soap-pg need `npm ci`
# in node-soap/ first (see README.md); spyne needs Debian's python3-spyne, python3-lxml and
# python3-twisted.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# = 3 ] || { echo "usage: run-peer.sh node-soap|spyne PORT DBFILE | node-soap-pg PORT URL" >&2; exit 2; }
export PORT="$2"
case "$1" in
  node-soap)
    export DB="$3"
    [ -d "$here/node-soap/node_modules/better-sqlite3" ] || {
      echo "run-peer.sh: run npm ci in $here/node-soap first (see README.md)" >&2; exit 2; }
    exec node "$here/node-soap/server.js" ;;
  node-soap-pg)
    export DATABASE_URL="$3"
    [ -d "$here/node-soap/node_modules/pg" ] || {
      echo "run-peer.sh: run npm ci in $here/node-soap first (see README.md)" >&2; exit 2; }
    exec node "$here/node-soap/server-pg.js" ;;
  spyne)
    export DB="$3"
    exec /usr/bin/python3 "$here/spyne/server.py" ;;
  *)
    echo "run-peer.sh: unknown peer $1 (node-soap, node-soap-pg or spyne)" >&2; exit 2 ;;
esac

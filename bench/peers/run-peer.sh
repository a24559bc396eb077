#!/bin/sh
# Starts one benchmark peer in the foreground (exec: the peer's process id is this script's).
#
#   run-peer.sh node-soap|spyne PORT DBFILE
#
# It answers on http://127.0.0.1:PORT/pushCandidate (WSDL: ?wsdl) and stores into DBFILE (created
# with schema.sql). node-soap needs `npm ci` in node-soap/ first (see README.md); spyne needs
# Debian's python3-spyne, python3-lxml and python3-twisted.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# = 3 ] || { echo "usage: run-peer.sh node-soap|spyne PORT DBFILE" >&2; exit 2; }
export PORT="$2" DB="$3"
case "$1" in
  node-soap)
    [ -d "$here/node-soap/node_modules/better-sqlite3" ] || {
      echo "run-peer.sh: run npm ci in $here/node-soap first (see README.md)" >&2; exit 2; }
    exec node "$here/node-soap/server.js" ;;
  spyne)
    exec /usr/bin/python3 "$here/spyne/server.py" ;;
  *)
    echo "run-peer.sh: unknown peer $1 (node-soap or spyne)" >&2; exit 2 ;;
esac

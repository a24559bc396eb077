#!/bin/sh
# Installs the Debian 12 packages ehrbridge needs: `deps.sh build` to build and run it,
# `deps.sh test` for everything the tests use too. Runs apt-get as root (sudo when needed).
set -eu
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
BUILD="build-essential cmake pkg-config gsoap libgsoap-dev libxml2-dev libsqlite3-dev
  libjansson-dev libhttp-parser-dev libssl-dev xsltproc libpq-dev unixodbc-dev libcurl4-openssl-dev"
# chromium, chromium-driver, python3-selenium and a CJK font run the push browser's test
# (tests/integration/test_admin_browser.py). TEST ends with the container tests'
# (tools/container-test.sh, tools/compose-test.sh): podman with runc and CNI networking,
# debootstrap for their base image, podman-compose
TEST="libxml2-utils sqlite3 python3-pytest python3-zeep valgrind clang libclang-rt-14-dev clang-format curl
  postgresql python3-psycopg2 openssl python3-requests odbc-postgresql libsqliteodbc
  mariadb-server odbc-mariadb python3-pymysql
  wrk python3-spyne python3-lxml python3-twisted groff-base strace
  chromium chromium-driver python3-selenium fonts-wqy-microhei
  podman runc containernetworking-plugins golang-github-containernetworking-plugin-dnsname iptables
  debootstrap podman-compose python3-yaml"
want=$BUILD
[ "${1:-build}" = test ] && want="$BUILD $TEST"
missing=
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# Node.js and npm run the npm `soap` client of the integration tests; any Node >= 18 will do.
if [ "${1:-build}" = test ] && ! command -v npm >/dev/null 2>&1; then missing="$missing nodejs npm"; fi
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends $missing
fi

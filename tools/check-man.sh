#!/bin/sh
# Checks the manual page docs/ehrbridge.8: groff reads it without a single warning (-ww), and
# every option that `BIN --help` lists is described in it (so that a new setting in src/config.c
# fails here until the page has it too). Exit status 1 on the first problem.
#
#   tools/check-man.sh BIN
set -eu
cd "$(dirname "$0")/.."
bin=${1:?usage: tools/check-man.sh BIN}
page=docs/ehrbridge.8
warnings=$(groff -ww -man -z "$page" 2>&1)
if [ -n "$warnings" ]; then
  printf '%s\n' "$warnings" >&2
  echo "tools/check-man.sh: groff warns about $page" >&2
  exit 1
fi
# the page writes a dash as \- (roff); compare in plain text
text=$(sed 's/\\-/-/g' "$page")
missing=
for opt in $("$bin" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  printf '%s\n' "$text" | grep -q -e "$opt\\b" || missing="$missing $opt"
done
if [ -n "$missing" ]; then
  echo "tools/check-man.sh: $page does not describe:$missing" >&2
  exit 1
fi
echo "tools/check-man.sh: $page: no groff warning, every option of --help described"

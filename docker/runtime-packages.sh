#!/bin/sh
# Prints the Debian packages that hold the shared libraries BINARY links directly (its NEEDED
# entries), one per line: what the runtime stage of docker/Dockerfile installs, so that a new
# library dependency never needs a second list to be kept by hand. Fails when a library's package
# cannot be found. Usage: runtime-packages.sh BINARY
set -eu
bin=$1
libs=$(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }')
[ -n "$libs" ] || { echo "runtime-packages: no NEEDED entries in $bin" >&2; exit 1; }
for lib in $libs; do
  path=$(ldd "$bin" | awk -v l="$lib" '$1 == l && $3 ~ /^\// { print $3; exit }')
  [ -n "$path" ] || { echo "runtime-packages: $lib of $bin is not found" >&2; exit 1; }
  # dpkg knows a file by the path its package installed (/lib or /usr/lib, usrmerge)
  pkg=$( { dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null; } |
    head -n 1 | cut -d: -f1)
  [ -n "$pkg" ] || { echo "runtime-packages: no package holds $path" >&2; exit 1; }
  echo "$pkg"
done | sort -u

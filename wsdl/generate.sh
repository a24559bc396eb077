#!/bin/sh
# Regenerates the gSOAP bindings from wsdl/ into OUTDIR (default: gen/ at the top of the tree).
# Reproducible: fixed file names, timestamps stripped. Never edit the output by hand.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
out=${1:-$top/gen}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
xsltproc "$top/wsdl/soap11-only.xsl" "$top/wsdl/ehrbridge.wsdl" > "$work/ehrbridge.wsdl"
cp "$top/wsdl/typemap.dat" "$work/typemap.dat"
(cd "$work" && wsdl2h -c -t typemap.dat -o ehrbridge.h ehrbridge.wsdl >wsdl2h.log 2>&1) \
  || { cat "$work/wsdl2h.log" >&2; exit 1; }
(cd "$work" && soapcpp2 -c -S -L -x -w ehrbridge.h >soapcpp2.log 2>&1) \
  || { cat "$work/soapcpp2.log" >&2; exit 1; }
for f in ehrbridge.h soapStub.h soapH.h soapC.c soapServer.c EhrBridgeSoap11.nsmap; do
  sed -e 's/^\(   \)[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:]* GMT$/\1(timestamp removed)/' \
      -e 's/\(ver 2\.8\.[0-9]*\) [0-9-]* [0-9:]* GMT/\1/' "$work/$f" > "$out/$f"
done

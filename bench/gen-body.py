#!/usr/bin/python3
"""Request bodies for bench/run.sh, made from the shared peers' own bodies and generator.

  gen-body.py PEERS_DIR OUTDIR [KB ...]

Writes into OUTDIR:
  small.xml, large.xml   the peers' requests/small.xml and large.xml with the event
                         "candidate.stage.changed" replaced by "pushCandidate": ehrbridge
                         (correctly) refuses other events, the peers do not look at it, so every
                         server gets the same bytes.
  curve-<KB>.xml         for each KB given: a body of about KB kilobytes made by the peers'
                         gen-requests.py (envelope() with n educationInfo + n experienceInfo
                         items, no indentation, like large.xml), event patched the same way.
Every body keeps the placeholders WEBHOOK_ID_PLACEHOLDER and 1000000000000001 that the peers'
wrk-post.lua and check-exact.js replace per request. Prints one line per file: name bytes.
"""
import importlib.util
import os
import sys

PEER_EVENT = "candidate.stage.changed"
EVENT = "pushCandidate"


def patched(text):
    if text.count(PEER_EVENT) != 1:
        sys.exit(f"gen-body.py: expected the event {PEER_EVENT} once in a peer body")
    return text.replace(PEER_EVENT, EVENT)


def write(outdir, name, text):
    data = text.encode("utf-8")
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)
    print(name, len(data))


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: gen-body.py PEERS_DIR OUTDIR [KB ...]")
    peers, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    for name in ("small.xml", "large.xml"):
        with open(os.path.join(peers, "requests", name), encoding="utf-8") as f:
            write(outdir, name, patched(f.read()))
    if len(sys.argv) == 3:
        return
    spec = importlib.util.spec_from_file_location(
        "gen_requests", os.path.join(peers, "requests", "gen-requests.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)

    def size(n):
        return len(gen.envelope(n, n, 40, False).encode("utf-8"))

    base, per_pair = size(0), size(1) - size(0)
    for kb in sys.argv[3:]:
        want = int(float(kb) * 1024)
        n = max(0, round((want - base) / per_pair))
        write(outdir, f"curve-{kb}.xml", patched(gen.envelope(n, n, 40, False)))


if __name__ == "__main__":
    main()

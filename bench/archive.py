#!/usr/bin/python3
"""The answer time of a push with a resume link next to one without: the links are fetched
after the commit by the archive's own thread, so the two should be the same.

    /usr/bin/python3 bench/archive.py [--bin build/ehrbridge] [--n 200] [--db sqlite|PG-URL]

Starts a local HTTPS file server with a CA of its own (the one tests/integration/test_archive.py
uses) that sends each resume slowly (about 10 s), an `ehrbridge serve` on a fresh SQLite file (or
the PostgreSQL URL given) allowed to fetch from it, then sends N pushes one at a time,
alternating with and without a resume link, and prints the answer time of each kind (median,
p90, p99, mean, in ms) and how many links were still pending when the last answer came (the
fetches were not waited for). Nothing is asserted: this is a measurement."""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))

from test_archive import FileServer, make_certs  # noqa: E402
from conftest import clean_env, free_port  # noqa: E402


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()
        ok = 200 <= r.status < 300
    return ok, (time.perf_counter() - t0) * 1000


def summary(ms):
    ms = sorted(ms)
    q = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))]  # noqa: E731
    return (f"median {statistics.median(ms):6.2f}  p90 {q(0.9):6.2f}  p99 {q(0.99):6.2f}  "
            f"mean {statistics.mean(ms):6.2f}  (n={len(ms)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / "build" / "ehrbridge"))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--db", default="sqlite")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="eb-bench-archive-"))
    fs = FileServer(make_certs(work / "certs"))
    fs.drip.set()  # every resume takes ~10 s to arrive
    port = free_port()
    db = f"sqlite:{work / 'bench.db'}" if a.db == "sqlite" else a.db
    log = open(work / "server.log", "wb")
    srv = subprocess.Popen([a.bin, "serve", "--listen", f"127.0.0.1:{port}", "--db", db,
                            "--fetch-allow", f"https://localhost:{fs.port}", "--fetch-ca",
                            str(work / "certs" / "ca.crt")], stdout=log, stderr=subprocess.STDOUT,
                           env=clean_env())
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/moka"
        stamp = int(time.time() * 1000)
        without, with_link = [], []
        for k in range(20):  # warm-up, not counted
            post(url, {"id": f"warm-{stamp}-{k}", "event": "pushCandidate", "triggeredAt": stamp,
                       "data": {"applicationId": 800000 + k, "candidateId": 1}})
        for k in range(a.n):
            data = {"applicationId": 810000 + k, "candidateId": 1}
            link = k % 2 == 1
            if link:
                data["resumeUrl"] = fs.url(f"/drip/bench-{stamp}-{k}.doc")
            ok, ms = post(url, {"id": f"bench-{stamp}-{k}", "event": "pushCandidate",
                                "triggeredAt": stamp, "data": data})
            if not ok:
                raise SystemExit(f"push {k} was not answered 2xx")
            (with_link if link else without).append(ms)
        started = fs.count()
        kind = "SQLite synchronous=full" if a.db == "sqlite" else "PostgreSQL"
        print(f"push answer time, ms, {kind}, one client, {a.n} pushes")
        print(f"  without a link:       {summary(without)}")
        print(f"  with a resume link:   {summary(with_link)}")
        print(f"  resume downloads started by the time the last answer came: {started} of "
              f"{len(with_link)} (each takes ~10 s: the answers did not wait for them)")
    finally:
        srv.terminate()
        srv.wait(30)
        log.close()
        fs.close()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The push browser on a big log: fills push_log with N rows (default 1,000,000; received over
the last 30 days, 97% stored, 2% rejected, 1% failed, 200,000 candidates with names) on SQLite,
and on PostgreSQL when EB_PG_URL is set, starts `ehrbridge serve --admin-listen` on it and times
the first page of each kind of search through the JSON API (the median of 7 requests, after one
to warm the caches), then a push page and the 7-day chart. It prints one table per database,
then the size of the indexes of schema version 5 (candidate_name, push_log_outcome) per row
they index: what each push adds to the database for them (their cost in CPU per push is
measured with bench/profile.sh and bench/pg-profile.sh). No figure is asserted: this is a
measurement, not a test.

Usage: bench/admin_search.py [--rows N] [--bin build/ehrbridge]"""
import argparse
import base64
import http.client
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAY_MS = 24 * 3600 * 1000
NAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rows(n, now_ms, seed=7):
    """(push_id, received_at, application_id, outcome, message, payload) in received order."""
    rnd = random.Random(seed)
    start = now_ms - 30 * DAY_MS
    step = 30 * DAY_MS / n
    for i in range(n):
        r = rnd.random()
        outcome = "stored" if r < 0.97 else "rejected" if r < 0.99 else "failed"
        msg = None if outcome == "stored" else (
            "data.birthYear: malformed number" if outcome == "rejected" else "database unavailable")
        app = 100000 + rnd.randrange(200000)
        pid = f"bench-{i:08d}"
        yield (pid, "pushCandidate", int(start + i * step), app, app, outcome, msg,
               f"<pushCandidate xmlns=\"urn:ehrbridge:moka:v1\"><id>{pid}</id>"
               f"<data><applicationId>{app}</applicationId></data></pushCandidate>")


def candidates(now_ms, seed=11):
    rnd = random.Random(seed)
    for app in range(100000, 300000):
        yield (app, app, f"bench-app-{app}", now_ms,
               rnd.choice(NAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN))


class Server:
    def __init__(self, binary, db_url, workdir):
        self.port, self.admin = free_port(), free_port()
        pw = Path(workdir) / "pw"
        pw.write_text("bench")
        self.log = open(Path(workdir) / "server.log", "wb")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--db", db_url,
             "--admin-listen", f"127.0.0.1:{self.admin}", "--admin-user", "bench",
             "--admin-password-file", str(pw), "--workers", "2"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.auth = "Basic " + base64.b64encode(b"bench:bench").decode()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("the server did not start; see server.log")

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.admin, timeout=60)
        try:
            c.request("GET", path, headers={"Authorization": self.auth})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def timed(server, path, runs=7):
    status, _ = server.get(path)  # warm
    if status != 200:
        raise SystemExit(f"GET {path}: {status}")
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        server.get(path)
        t.append((time.perf_counter() - t0) * 1000)
    return statistics.median(t)


QUERIES = [
    ("first page, no filter", "/api/pushes?limit=50"),
    ("outcome=rejected (2%)", "/api/pushes?outcome=rejected&limit=50"),
    ("outcome=failed (1%)", "/api/pushes?outcome=failed&limit=50"),
    ("application_id=", "/api/pushes?application_id={app}&limit=50"),
    ("q=push id", "/api/pushes?q={pid}&limit=50"),
    ("q=applicationId", "/api/pushes?q={app}&limit=50"),
    ("q=start of a name", "/api/pushes?q={name}&limit=50"),
    ("q=first character (5%)", "/api/pushes?q={first}&limit=50"),
    ("since= last hour", "/api/pushes?since={hour}&limit=50"),
    ("a push page", "/api/pushes/{pid}"),
    ("chart, 7 days", "/api/stats?window=7d"),
    ("chart, 24 hours", "/api/stats?window=24h"),
]


def measure(label, binary, db_url, workdir, n, now_ms):
    s = Server(binary, db_url, workdir)
    try:
        page = s.get("/api/pushes?limit=1")[1]
        second = s.get("/api/pushes?limit=2")
        import json
        p = json.loads(page)["pushes"][0]
        cursor = json.loads(second[1])["next_cursor"]
        values = {"app": p["application_id"], "pid": p["push_id"], "name": "张伟", "first": "张",
                  "hour": now_ms - 3600 * 1000}
        print(f"\n{label}: {n:,} rows in push_log (median of 7, ms)")
        for what, path in QUERIES + [("next page (cursor)", "/api/pushes?limit=50&cursor=" +
                                      urllib.parse.quote(cursor))]:
            ms = timed(s, path.format(**{k: urllib.parse.quote(str(v)) for k, v in values.items()}))
            print(f"  {what:<26} {ms:8.1f}")
    finally:
        s.stop()


INDEXES = (("push_log_outcome", "push_log"), ("candidate_name", "candidate"),
           ("push_log_received_at", "push_log"))


def print_index_sizes(label, sizes, counts):
    """sizes: {index: bytes or None}; counts: {table: rows}."""
    print(f"  index sizes ({label}), bytes per indexed row:")
    for name, table in INDEXES:
        size = sizes.get(name)
        text = "absent" if size is None else f"{size / max(counts[table], 1):6.1f}"
        print(f"    {name:<24} {text:>8}  ({table}: {counts[table]:,} rows)")


def sqlite_index_sizes(path):
    db = sqlite3.connect(path)
    try:
        sizes = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat WHERE name IN (?, ?, ?)"
                                " GROUP BY name", [n for n, _ in INDEXES]).fetchall())
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("push_log", "candidate")}
    finally:
        db.close()
    print_index_sizes("SQLite", sizes, counts)


def postgres_index_sizes(conn, schema):
    cur = conn.cursor()
    sizes = {}
    for name, _ in INDEXES:
        cur.execute("SELECT pg_relation_size(to_regclass(%s))", (f"{schema}.{name}",))
        sizes[name] = cur.fetchone()[0]
    counts = {}
    for t in ("push_log", "candidate"):
        cur.execute(f"SELECT count(*) FROM {schema}.{t}")
        counts[t] = cur.fetchone()[0]
    print_index_sizes("PostgreSQL", sizes, counts)


def fill_sqlite(binary, path, n, now_ms, workdir):
    subprocess.run([binary, "check", "--db", f"sqlite:{path}"], check=True,
                   capture_output=True)  # creates the schema
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.executemany("INSERT INTO push_log (push_id, event, received_at, application_id,"
                   " candidate_id, outcome, message, payload) VALUES (?,?,?,?,?,?,?,?)",
                   rows(n, now_ms))
    db.executemany("INSERT INTO candidate (application_id, candidate_id, last_push_id,"
                   " updated_at, name) VALUES (?,?,?,?,?)", candidates(now_ms))
    db.commit()
    db.execute("ANALYZE")
    db.close()


def fill_postgres(binary, url, n, now_ms):
    import psycopg2
    schema = f"bench_admin_{os.getpid()}"
    conn = psycopg2.connect(url)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    db_url = url + sep + "options=" + urllib.parse.quote(f"-csearch_path={schema}")
    subprocess.run([binary, "check", "--db", db_url], check=True, capture_output=True)
    cur.execute(f"SET search_path TO {schema}")
    import io

    def copy(table, cols, data):
        buf = io.StringIO()
        for r in data:
            buf.write("\t".join("\\N" if v is None else str(v) for v in r) + "\n")
        buf.seek(0)
        cur.copy_from(buf, table, columns=cols)
    copy("push_log", ("push_id", "event", "received_at", "application_id", "candidate_id",
                      "outcome", "message", "payload"), rows(n, now_ms))
    copy("candidate", ("application_id", "candidate_id", "last_push_id", "updated_at", "name"),
         candidates(now_ms))
    cur.execute("ANALYZE")
    return conn, schema, db_url


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--bin", default=str(REPO / "build" / "ehrbridge"))
    a = ap.parse_args()
    now_ms = int(time.time() * 1000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.db"
        t0 = time.monotonic()
        fill_sqlite(a.bin, path, a.rows, now_ms, tmp)
        print(f"filled SQLite in {time.monotonic() - t0:.0f} s")
        measure("SQLite", a.bin, f"sqlite:{path}", tmp, a.rows, now_ms)
        sqlite_index_sizes(path)
        url = os.environ.get("EB_PG_URL")
        if url:
            t0 = time.monotonic()
            conn, schema, db_url = fill_postgres(a.bin, url, a.rows, now_ms)
            print(f"\nfilled PostgreSQL in {time.monotonic() - t0:.0f} s")
            try:
                measure("PostgreSQL", a.bin, db_url, tmp, a.rows, now_ms)
                postgres_index_sizes(conn, schema)
            finally:
                conn.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
                conn.close()
        else:
            print("\nPostgreSQL skipped: EB_PG_URL is not set")
    return 0


if __name__ == "__main__":
    sys.exit(main())

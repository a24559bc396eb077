#!/usr/bin/python3
"""Markdown report of one bench/run.sh output folder: report.py OUTDIR > OUTDIR/report.md

Reads OUTDIR/machine.txt, bodies.txt and results.tsv. Ratios are taken between measurements of
the SAME run (same body, same id mode), never across runs; the target check of the issue uses
the unique-id measurements."""
import os
import statistics
import sys

PEERS = ("node-soap", "spyne", "node-soap-pg")
BUSY_CORES = 0.3  # other processes used more than this many cores during a wrk run: flagged
ORDER = ("eb-normal", "eb-full", "eb-noop", "node-soap", "spyne", "eb-pg", "eb-pg-nofsync",
         "node-soap-pg")
LABEL = {
    "eb-normal": "ehrbridge (sqlite, synchronous=normal)",
    "eb-full": "ehrbridge (sqlite, synchronous=full: fsync)",
    "eb-noop": "ehrbridge (noop: adapter, stores nothing)",
    "node-soap": "node-soap + better-sqlite3",
    "spyne": "Spyne (WSGI in Twisted) + sqlite3",
    "eb-pg": "ehrbridge (postgresql, fsync + synchronous_commit on)",
    "eb-pg-nofsync": "ehrbridge (postgresql, fsync = off)",
    "node-soap-pg": "node-soap + pg (postgresql, fsync + synchronous_commit on)",
}


def load(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    head = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        cols = line.split("\t")
        if len(cols) < len(head):
            rows.append({"target": cols[0], "body": cols[1], "mode": cols[2], "run": cols[3],
                         "failed": cols[4]})
            continue
        r = dict(zip(head, cols))
        for k in ("rps", "p50_ms", "p99_ms", "peak_rss_mb", "srv_cpu_us_per_req", "srv_cpu_s",
                  "wrk_cpu_s", "other_cpu_s", "db_cpu_s", "db_cpu_us_per_true"):
            try:
                r[k] = float(r.get(k, "-"))
            except ValueError:
                r[k] = float("nan")
        rows.append(r)
    return rows


def fmt(x, nd=1):
    if x is None or x != x:
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def dur_s(r):
    """The wrk run's length in seconds (duration_s is not in the TSV: derived from the rate)."""
    try:
        return float(r["completed"]) / r["rps"] if r["rps"] else float("nan")
    except (KeyError, ValueError, ZeroDivisionError):
        return float("nan")


def others(r):
    """Cores used on average by other processes during the wrk run."""
    d = dur_s(r)
    return r["other_cpu_s"] / d if d and d == d else float("nan")


def busy(r):
    return r is not None and others(r) > BUSY_CORES


def ratio(a, b):
    if a is None or b is None or not b or a != a or b != b:
        return None
    return a / b


def main():
    out = sys.argv[1]
    rows = load(os.path.join(out, "results.tsv"))
    print("# ehrbridge vs pushCandidate peers: bench/run.sh report\n")
    print("## Machine and settings\n")
    print("```")
    with open(os.path.join(out, "machine.txt"), encoding="utf-8") as f:
        print(f.read().rstrip())
    print("```\n")
    print("Request bodies (the peers' bodies, event patched to pushCandidate; curve bodies "
          "generated with the peers' gen-requests.py):\n")
    print("```")
    with open(os.path.join(out, "bodies.txt"), encoding="utf-8") as f:
        print(f.read().rstrip())
    print("```\n")

    failed = [r for r in rows if "failed" in r]
    for r in failed:
        print(f"**{r['target']} {r['body']} {r['mode']} run {r['run']}: {r['failed']}**\n")
    ok = [r for r in rows if "failed" not in r]
    main_rows = [r for r in ok if not r["body"].startswith("curve-")]
    curve_rows = [r for r in ok if r["body"].startswith("curve-")]

    def get(run, body, mode, target):
        for r in main_rows:
            if (r["run"], r["body"], r["mode"], r["target"]) == (run, body, mode, target):
                return r
        return None

    groups = []
    for r in main_rows:
        key = (r["body"], r["mode"])
        if key not in groups:
            groups.append(key)
    runs = sorted({r["run"] for r in main_rows}, key=int)

    print("## Results\n")
    print("wrk -t THREADS -c CONNS with bench/peers/requests/load.lua; p50/p99 from wrk's latency "
          "histogram; peak RSS = VmHWM of the server process; CPU/req = server CPU time "
          "(user + system) / completed requests; DB CPU µs/true = the PostgreSQL cluster's server "
          "processes' CPU time over the wrk run / pushes answered `true` (PostgreSQL targets "
          "only: for the others the database runs in the server process). Rows: the database holds exactly one row per "
          "`true` (never fewer, at most the requests wrk left in flight more, children = rows x "
          "items), and the warm-up with exact.py stored exactly N. Others = cores used by "
          "other processes of the (shared) machine during the wrk run; ⚠ marks measurements "
          f"where they took more than {BUSY_CORES} cores, and ratios that involve one.\n")
    for body, mode in groups:
        print(f"### {body} body, {mode} ids\n")
        print("| run | server | requests/s | p50 ms | p99 ms | peak RSS MB | CPU µs/req | "
              "DB CPU µs/true | others | rows |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for run in runs:
            for t in ORDER:
                r = get(run, body, mode, t)
                if not r:
                    continue
                print(f"| {run} | {LABEL.get(t, t)} | {fmt(r['rps'])} | {fmt(r['p50_ms'], 2)} | "
                      f"{fmt(r['p99_ms'], 2)} | {fmt(r['peak_rss_mb'])} | "
                      f"{fmt(r['srv_cpu_us_per_req'])} | {fmt(r['db_cpu_us_per_true'])} | "
                      f"{fmt(others(r), 2)}{' ⚠' if busy(r) else ''} | "
                      f"{r['rows_check']}; warm {r['warm_exact']} |")
        print()
        print("Ratios within each run (ehrbridge = eb-normal unless named):\n")
        print("| run | rps vs node-soap | rps vs Spyne | p99: node-soap / ehrbridge | "
              "RSS: node-soap / ehrbridge | full path / noop ceiling | fsync (eb-full) vs node-soap |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for run in runs:
            eb, full, noop = (get(run, body, mode, t) for t in ("eb-normal", "eb-full", "eb-noop"))
            node, spy = get(run, body, mode, "node-soap"), get(run, body, mode, "spyne")
            g = lambda r, k: r[k] if r else None  # noqa: E731
            cells = [
                ratio(g(eb, "rps"), g(node, "rps")),
                ratio(g(eb, "rps"), g(spy, "rps")),
                ratio(g(node, "p99_ms"), g(eb, "p99_ms")),
                ratio(g(node, "peak_rss_mb"), g(eb, "peak_rss_mb")),
                ratio(g(eb, "rps"), g(noop, "rps")),
                ratio(g(full, "rps"), g(node, "rps")),
            ]
            flags = [busy(eb) or busy(node), busy(eb) or busy(spy), busy(eb) or busy(node),
                     False, busy(eb) or busy(noop), busy(full) or busy(node)]
            print(f"| {run} | " + " | ".join(
                ("-" if c is None else (f"{c:.0%}" if i == 4 else f"{c:.1f}x")) +
                (" ⚠" if flags[i] and c is not None else "")
                for i, c in enumerate(cells)) + " |")
        print()
        pg_ratios(runs, body, mode, get)

    # targets of the issue, from the unique-id measurements of each run
    print("## Targets, per run, unique ids\n")
    print("| run | target | wanted | measured | met |")
    print("|---|---|---:|---:|---|")
    for run in runs:
        checks = []
        for body, want_x in (("small", 10), ("large", 25)):
            eb, node = get(run, body, "unique", "eb-normal"), get(run, body, "unique", "node-soap")
            if eb and node:
                checks.append((f"{body}: requests/s vs node-soap", f">= {want_x}x",
                               ratio(eb["rps"], node["rps"]), want_x, "x", busy(eb) or busy(node)))
                checks.append((f"{body}: p99 node-soap / ehrbridge", ">= 20x",
                               ratio(node["p99_ms"], eb["p99_ms"]), 20, "x",
                               busy(eb) or busy(node)))
                checks.append((f"{body}: peak RSS node-soap / ehrbridge", ">= 5x",
                               ratio(node["peak_rss_mb"], eb["peak_rss_mb"]), 5, "x", False))
            noop = get(run, body, "unique", "eb-noop")
            if eb and noop:
                checks.append((f"{body}: full path / noop ceiling", ">= 50%",
                               ratio(eb["rps"], noop["rps"]), 0.5, "%", busy(eb) or busy(noop)))
            full = get(run, body, "unique", "eb-full")
            if full and node:
                checks.append((f"{body}: fsync-durable (eb-full) vs node-soap", ">= 5x",
                               ratio(full["rps"], node["rps"]), 5, "x", busy(full) or busy(node)))
        # PostgreSQL, small pushes (durable cluster; the fsync = off figure is shown beside it)
        eb, pg = get(run, "small", "unique", "eb-normal"), get(run, "small", "unique", "eb-pg")
        npg = get(run, "small", "unique", "node-soap-pg")
        if eb and pg:
            checks.append(("small: postgresql (eb-pg) vs own sqlite (eb-normal) requests/s",
                           ">= 60%", ratio(pg["rps"], eb["rps"]), 0.6, "%", busy(eb) or busy(pg)))
            checks.append(("small: postgresql p99 / sqlite p99 (lower is better)", "<= 3x",
                           ratio(pg["p99_ms"], eb["p99_ms"]), 3, "x<", busy(eb) or busy(pg)))
        if pg and npg:
            checks.append(("small: eb-pg vs node-soap-pg requests/s", ">= 3x",
                           ratio(pg["rps"], npg["rps"]), 3, "x", busy(pg) or busy(npg)))
        for name, wanted, got, need, unit, disturbed in checks:
            shown = "-" if got is None else (f"{got:.0%}" if unit == "%" else f"{got:.1f}x")
            good = got is not None and (got <= need if unit == "x<" else got >= need)
            met = "-" if got is None else ("yes" if good else "**no**")
            print(f"| {run} | {name} | {wanted} | {shown}{' ⚠' if disturbed else ''} | {met} |")
    print()

    if curve_rows:
        print("## Cost per KB of record (generated bodies)\n")
        print("Server CPU per request divided by the body size; wall = 1 / (requests/s) per KB "
              "(the whole machine, wrk included). The fit is CPU µs/req = fixed + per-KB x KB "
              "(least squares on the relative error, so that every size counts alike).\n")
        sizes = {}
        with open(os.path.join(out, "bodies.txt"), encoding="utf-8") as f:
            for line in f:
                name, n = line.split()
                sizes[name.replace(".xml", "")] = int(n)
        targets = []
        for r in curve_rows:
            if r["target"] not in targets:
                targets.append(r["target"])
        print("| body | bytes | server | requests/s | CPU µs/req | CPU µs/KB | wall µs/KB | p99 ms | others | rows |")
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
        per_kb = {t: [] for t in targets}
        for r in sorted(curve_rows, key=lambda r: (sizes.get(r["body"], 0), r["target"])):
            kb = sizes.get(r["body"], 0) / 1024
            cpu_kb = r["srv_cpu_us_per_req"] / kb if kb else float("nan")
            wall_kb = 1e6 / r["rps"] / kb if kb and r["rps"] else float("nan")
            per_kb[r["target"]].append((kb, cpu_kb, r["srv_cpu_us_per_req"]))
            print(f"| {r['body']} | {sizes.get(r['body'], 0):,} | {r['target']} | {fmt(r['rps'])} | "
                  f"{fmt(r['srv_cpu_us_per_req'])} | {fmt(cpu_kb, 2)} | {fmt(wall_kb, 2)} | "
                  f"{fmt(r['p99_ms'], 2)} | {fmt(others(r), 2)}{' ⚠' if busy(r) else ''} | "
                  f"{r['rows_check']} |")
        print()
        for t, pts in per_kb.items():
            pts = [p for p in pts if p[1] == p[1]]
            xs = [p[1] for p in pts]
            if len(xs) < 2:
                continue
            line = (f"- {t}: CPU µs/KB from {min(xs):.2f} to {max(xs):.2f}: max/min = "
                    f"{max(xs) / min(xs):.2f} (flat within 1.5x: "
                    f"{'yes' if max(xs) / min(xs) <= 1.5 else 'no'}); median "
                    f"{statistics.median(xs):.2f} µs/KB")
            big = [p[1] for p in pts if p[0] >= 30]
            if len(big) >= 2:
                line += (f"; from 32 KB up: max/min = {max(big) / min(big):.2f}")
            # weighted least squares on relative error (weights 1/cost^2): every size counts alike
            w = [1 / (p[2] ** 2) for p in pts]
            sw = sum(w)
            mk = sum(wi * p[0] for wi, p in zip(w, pts)) / sw
            mc = sum(wi * p[2] for wi, p in zip(w, pts)) / sw
            sxx = sum(wi * (p[0] - mk) ** 2 for wi, p in zip(w, pts))
            if sxx > 0:
                slope = sum(wi * (p[0] - mk) * (p[2] - mc) for wi, p in zip(w, pts)) / sxx
                line += (f"; fit (relative error): {mc - slope * mk:.0f} µs fixed per request + "
                         f"{slope:.1f} µs per KB")
            print(line)
            # the other reading of "cost per KB": what each added KB costs, from one size to the
            # next (the fixed cost of a request cancels out)
            pts = sorted(pts)
            seg = [((b[2] - a[2]) / (b[0] - a[0]), a[0], b[0]) for a, b in zip(pts, pts[1:])
                   if b[0] > a[0]]
            if seg:
                inc = [s[0] for s in seg]
                flat = min(inc) > 0 and max(inc) / min(inc) <= 1.5
                spread = f"{max(inc) / min(inc):.2f}" if min(inc) > 0 else "n/a"
                print(f"  - {t}: CPU µs per added KB, size to size: " +
                      ", ".join(f"{a:.0f}->{b:.0f} KB {m:.1f}" for m, a, b in seg) +
                      f": max/min = {spread} (flat within 1.5x: {'yes' if flat else 'no'})")
        print()


def pg_ratios(runs, body, mode, get):
    """The PostgreSQL rows of one body and id mode: ehrbridge against its own SQLite rate and
    against node-soap + pg, and the CPU per push of ehrbridge and of the database."""
    if not any(get(run, body, mode, t) for run in runs for t in ("eb-pg", "eb-pg-nofsync")):
        return
    print("PostgreSQL within each run (eb-pg = ehrbridge on the durable cluster; CPU µs per "
          "push answered `true`; total = server + database):\n")
    print("| run | eb-pg rps / eb-normal | fsync=off rps / eb-normal | eb-pg p99 / eb-normal p99 "
          "| eb-pg rps / node-soap-pg | eb-pg CPU: ehrbridge + DB = total | "
          "fsync=off: ehrbridge + DB | node-soap-pg: node + DB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")

    def split(r):
        if not r:
            return "-"
        try:
            own = r["srv_cpu_s"] * 1e6 / float(r["true"])
        except (ValueError, ZeroDivisionError):
            return "-"
        db = r["db_cpu_us_per_true"]
        return f"{fmt(own)} + {fmt(db)} = {fmt(own + db)}"

    for run in runs:
        eb, pg, fast, npg = (get(run, body, mode, t) for t in
                             ("eb-normal", "eb-pg", "eb-pg-nofsync", "node-soap-pg"))
        g = lambda r, k: r[k] if r else None  # noqa: E731
        cells = [ratio(g(pg, "rps"), g(eb, "rps")), ratio(g(fast, "rps"), g(eb, "rps")),
                 ratio(g(pg, "p99_ms"), g(eb, "p99_ms")), ratio(g(pg, "rps"), g(npg, "rps"))]
        flags = [busy(pg) or busy(eb), busy(fast) or busy(eb), busy(pg) or busy(eb),
                 busy(pg) or busy(npg)]
        shown = [("-" if c is None else (f"{c:.0%}" if i < 2 else f"{c:.1f}x")) +
                 (" ⚠" if flags[i] and c is not None else "") for i, c in enumerate(cells)]
        print(f"| {run} | " + " | ".join(shown) +
              f" | {split(pg)} | {split(fast)} | {split(npg)} |")
    print()


if __name__ == "__main__":
    main()

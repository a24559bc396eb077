#!/usr/bin/python3
"""Instructions per push from one callgrind profile of ehrbridge (bench/profile.sh).

  callgrind-report.py INCLUSIVE.txt EXCLUSIVE.txt PUSHES TRANSACTIONS

INCLUSIVE.txt and EXCLUSIVE.txt are callgrind_annotate's listings of the same profile, with
--inclusive=yes and without, both with --threshold=100 (every function). PUSHES is how many
pushes the profile covers, TRANSACTIONS how many SQLite transactions wrote them (0: none).
Prints three tables of instructions per push: by thread, by stage of the push path (inclusive
costs of the functions that start each stage) and by library (exclusive costs).
"""
import re
import sys

LINE = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*?):(\S+)(?:\s+\[(.+)\])?\s*$")
TOTAL = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?PROGRAM TOTALS")

# thread: the function each of ehrbridge's threads runs
THREADS = [
    ("event loop (accept, HTTP, answers)", "serve"),
    ("workers (ingest, bindings, mapping, validation)", "worker_main"),
    ("SQLite writer (transactions)", "writer_main"),
    ("SQLite checkpointer", "ckpt_main"),
]

# stage: (label, function whose inclusive cost it is); a function that is not in the profile
# (inlined, or not run: noop:) shows as "-"
STAGES = [
    ("a worker's whole push", "eb_service_handle"),
    ("  ingest: the direct path, or libxml2's parse + the canonical document", "eb_ingest"),
    ("    the direct path's one pass over a typed request", "eb_ingest_direct"),
    ("    libxml2's parse, building ingest's tree", "eb_ingest_parse_xml"),
    ("  gSOAP bindings read the typed body itself, or the canonical document", "eb_bind_read"),
    ("    gSOAP's start of a request (its hash tables)", "soap_begin_recv"),
    ("    the Candidate element", "soap_in_ns1__Candidate"),
    ("    gSOAP's end of a request (its id table; not run for a plain document)", "soap_end_recv"),
    ("  mapping to the domain model", "eb_map_push"),
    ("  validation's checks", "eb_validate_push"),
    ("  validation's tolerance pass (dates, ranges)", "eb_validate_tolerate"),
    ("the writer's pushes, commits left out (the bridge's rules)", "eb_write_once"),
    ("  a push's candidate and child rows", "sq_candidate_write"),
    ("  SQLite's statements, commits included", "sqlite3_step"),
    ("    the WAL appends (frames, checksums, write calls)", "sqlite3WalFrames"),
    ("checkpoints (both threads)", "sqlite3_wal_checkpoint_v2"),
]


def parse(path):
    total, funcs = 0, []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = TOTAL.match(line)
            if m:
                total = int(m.group(1).replace(",", ""))
                continue
            m = LINE.match(line)
            if m:
                ir = int(m.group(1).replace(",", ""))
                funcs.append((ir, m.group(2), m.group(3), m.group(4) or ""))
    return total, funcs


def library(file, fn, obj):
    """The library an exclusive cost belongs to."""
    o = obj.rsplit("/", 1)[-1]
    if fn.startswith("soap_") or "soapC" in file or "stdsoap2" in file:
        return "gSOAP (runtime and generated bindings)"
    if o.startswith("libxml2"):
        return "libxml2"
    if o.startswith("libsqlite3"):
        return "SQLite"
    if o.startswith("libc.") or o.startswith("ld-linux"):
        return "libc (allocator, strings, system call wrappers)"
    if o == "ehrbridge" or o.endswith("/ehrbridge"):
        return "ehrbridge's own code"
    return "other libraries (" + o + ")" if o else "other"


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    total, incl = parse(sys.argv[1])
    _, excl = parse(sys.argv[2])
    n, txn = int(sys.argv[3]), int(sys.argv[4])
    if n <= 0 or total <= 0:
        sys.exit("callgrind-report.py: empty profile")
    by_name = {}
    for ir, _, fn, _ in incl:
        # a function listed twice (two objects, or a cycle) counts once, the larger
        by_name[fn] = max(ir, by_name.get(fn, 0))

    # these always run; missing means a function was renamed and the tables above need it
    missing = [fn for fn in ("serve", "worker_main", "eb_service_handle", "eb_ingest",
                             "eb_bind_read") if fn not in by_name]
    if missing:
        sys.exit("callgrind-report.py: not in the profile: " + ", ".join(missing) +
                 " (renamed? update THREADS and STAGES)")

    def row(label, ir):
        return f"| {label} | {ir / n / 1000:,.1f} | {100.0 * ir / total:.1f}% |"

    print()
    print(f"instructions per push (thousands), {n} pushes", end="")
    print(f", {n / txn:.1f} pushes per SQLite transaction" if txn else "")
    print()
    print("| by thread | k instr/push | share |")
    print("| --- | ---: | ---: |")
    rest = total
    for label, fn in THREADS:
        if fn in by_name:
            print(row(label, by_name[fn]))
            rest -= by_name[fn]
    print(row("other (callgrind's own, libraries' start)", max(rest, 0)))
    print(row("**all**", total))
    print()
    print("| by stage (inclusive) | k instr/push | share |")
    print("| --- | ---: | ---: |")
    for label, fn in STAGES:
        print(row(f"{label} (`{fn}`)", by_name[fn]) if fn in by_name
              else f"| {label} (`{fn}`) | - | - |")
    print()
    libs = {}
    for ir, file, fn, obj in excl:
        k = library(file, fn, obj)
        libs[k] = libs.get(k, 0) + ir
    print("| by library (exclusive) | k instr/push | share |")
    print("| --- | ---: | ---: |")
    for k, ir in sorted(libs.items(), key=lambda kv: -kv[1]):
        print(row(k, ir))
    print()
    print("| top functions (exclusive) | k instr/push | share |")
    print("| --- | ---: | ---: |")
    for ir, file, fn, obj in sorted(excl, key=lambda t: -t[0])[:20]:
        print(row(f"`{fn}` ({obj.rsplit('/', 1)[-1] or file})", ir))


if __name__ == "__main__":
    main()

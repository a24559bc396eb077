#!/usr/bin/python3
"""The folder graph of src/ and where gSOAP's generated names may appear.

Every folder of src/ is a room; a file directly in src/ is a room of its own, named after it
without the extension and what follows a '_' (main.c is "main"; config.c, config.h and
config_load.c are "config"); gen/ (the gSOAP
tool output) is the room "gen". This check fails when:

  1. a file of src/ includes ("#include "...") a file of another room along an edge that is not in
     ALLOWED below, or includes a file that does not exist;
  2. ALLOWED itself has a cycle (the rooms must form a directed acyclic graph);
  3. ALLOWED differs from the list in docs/architecture.md (between the markers
     <!-- layout-edges:begin --> and <!-- layout-edges:end -->), so the documentation and the
     rule are the same list;
  4. a generated name appears in a file of src/ outside bind/: ns1__ (the generated types and
     operations), a soap_* identifier that gen/ declares or calls (the serializers and the
     runtime they call), struct soap, soapH.h, soapStub.h, stdsoap2.h or the .nsmap file.
     Comments count: a generated name in a comment is still a name outside bind/.

Usage: check_layout.py SOURCE_DIR       (the repository: SOURCE_DIR/src, gen/, docs/)
       check_layout.py --self-test      (shows that each rule fails on a tree that breaks it)
"""
import os
import re
import shutil
import sys
import tempfile

# The allowed include edges between rooms: ROOM -> the rooms it may include. Keep equal to
# docs/architecture.md ("Allowed include edges").
ALLOWED = {
    "main": {"archive", "config", "replay", "service", "transport", "util"},
    "config": {"util"},
    "service": {"adapters", "admin", "archive", "auth", "bind", "bridge", "candidate", "config",
                "ingest", "mapping", "sql", "transport", "util"},
    "admin": {"adapters", "archive", "auth", "config", "replay", "transport", "util"},
    "replay": {"adapters", "archive", "bind", "bridge", "candidate", "config", "ingest", "mapping",
               "sql", "util"},
    "archive": {"adapters", "config", "util"},
    "transport": {"config", "util"},
    "auth": {"config", "transport", "util"},
    "bind": {"candidate", "gen", "ingest", "util"},
    "ingest": {"candidate", "util"},
    "bridge": {"adapters", "candidate", "util"},
    "adapters": {"candidate", "mapping", "sql", "util"},
    "mapping": {"candidate", "sql", "util"},
    "sql": {"candidate", "util"},
    "candidate": {"util"},
    "util": set(),
}

# Where generated names may appear (besides gen/ itself, which is not under src/).
GENERATED_ALLOWED_IN = {"bind"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
GEN_FIXED = [
    (re.compile(r"ns1__"), "ns1__"),
    (re.compile(r"\bstruct\s+soap\b"), "struct soap"),
    (re.compile(r"\bsoapH\.h\b"), "soapH.h"),
    (re.compile(r"\bsoapStub\.h\b"), "soapStub.h"),
    (re.compile(r"\bstdsoap2\.h\b"), "stdsoap2.h"),
    (re.compile(r"\.nsmap\b"), ".nsmap"),
]
SOAP_WORD = re.compile(r"\bsoap_[A-Za-z0-9_]+\b")


def room_of(rel):
    """The room of a path relative to src/ ("transport/server.c" -> "transport")."""
    parts = rel.split("/")
    if len(parts) > 1:
        return parts[0]
    return os.path.splitext(parts[0])[0].split("_")[0]


def source_files(src):
    for dirpath, _, names in os.walk(src):
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                full = os.path.join(dirpath, n)
                yield os.path.relpath(full, src).replace(os.sep, "/"), full


def generated_names(gen):
    """Every soap_* identifier the generated files declare or call."""
    names = set()
    for n in os.listdir(gen):
        with open(os.path.join(gen, n), encoding="utf-8", errors="replace") as f:
            names.update(SOAP_WORD.findall(f.read()))
    return names


def find_cycle(edges):
    """A cycle of the graph as a list of rooms, or None."""
    state = {}

    def visit(n, path):
        state[n] = 1
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return path[path.index(m):] + [m] if m in path else [n, m]
            if not state.get(m):
                c = visit(m, path + [m])
                if c:
                    return c
        state[n] = 2
        return None

    for n in sorted(edges):
        if not state.get(n):
            c = visit(n, [n])
            if c:
                return c
    return None


def documented_edges(doc):
    """The list in docs/architecture.md: lines "room -> a, b, c" (or "room -> (none)")."""
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- layout-edges:begin -->(.*?)<!-- layout-edges:end -->", text, re.S)
    if not m:
        return None
    edges = {}
    for line in m.group(1).splitlines():
        line = line.strip().strip("`")
        if "->" not in line:
            continue
        a, b = line.split("->", 1)
        a = a.strip().strip("`* -")
        targets = {t.strip().strip("`") for t in b.split(",")}
        edges[a] = {t for t in targets if t and t != "(none)"}
    return edges


def check(root):
    src = os.path.join(root, "src")
    gen = os.path.join(root, "gen")
    problems = []

    cycle = find_cycle(ALLOWED)
    if cycle:
        problems.append("the allowed edges have a cycle: " + " -> ".join(cycle))
    doc = os.path.join(root, "docs", "architecture.md")
    if os.path.exists(doc):
        documented = documented_edges(doc)
        if documented is None:
            problems.append("docs/architecture.md: no list of allowed include edges "
                            "(<!-- layout-edges:begin --> ... <!-- layout-edges:end -->)")
        elif documented != ALLOWED:
            for r in sorted(set(documented) | set(ALLOWED)):
                if documented.get(r) != ALLOWED.get(r):
                    problems.append(
                        "docs/architecture.md lists %s -> %s, this check %s -> %s" %
                        (r, ", ".join(sorted(documented.get(r, ()))) or "(none)", r,
                         ", ".join(sorted(ALLOWED.get(r, ()))) or "(none)"))

    gen_names = generated_names(gen) if os.path.isdir(gen) else set()
    gen_files = set(os.listdir(gen)) if os.path.isdir(gen) else set()
    n_files = n_edges = 0
    for rel, full in source_files(src):
        n_files += 1
        room = room_of(rel)
        with open(full, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if room not in ALLOWED:
            problems.append("src/%s: room %s is not in the list of allowed edges" % (rel, room))
        for m in INCLUDE.finditer(text):
            inc = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            if inc in gen_files:
                target = "gen"
            elif os.path.exists(os.path.join(src, inc)):
                target = room_of(inc)
            elif os.path.exists(os.path.join(os.path.dirname(full), inc)):
                target = room  # a file beside it
            else:
                problems.append("src/%s:%d: includes \"%s\", which is not a file of src/ or gen/"
                                % (rel, line, inc))
                continue
            if target == room:
                continue
            n_edges += 1
            if target not in ALLOWED.get(room, ()):
                problems.append("src/%s:%d: %s -> %s (\"%s\") is not an allowed edge"
                                % (rel, line, room, target, inc))
        if room in GENERATED_ALLOWED_IN:
            continue
        for lineno, line_text in enumerate(text.splitlines(), 1):
            found = [label for rx, label in GEN_FIXED if rx.search(line_text)]
            found += sorted({w for w in SOAP_WORD.findall(line_text) if w in gen_names})
            for label in found:
                problems.append("src/%s:%d: generated name %s outside bind/" % (rel, lineno, label))
    return problems, n_files, n_edges


def self_test():
    """Builds a small tree that keeps the rules, checks it passes, then breaks each rule once."""
    ok = True
    base = tempfile.mkdtemp(prefix="eb-layout-")
    try:
        def write(rel, text):
            p = os.path.join(base, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w", encoding="utf-8") as f:
                f.write(text)

        write("gen/soapH.h", "int soap_serve(struct soap *);\nstruct _ns1__pushCandidate;\n")
        write("src/util/err.h", "/* e */\n")
        write("src/transport/server.h", '#include "util/err.h"\n')
        write("src/bind/bind.c", '#include "soapH.h"\nstruct _ns1__pushCandidate *r;\n')
        write("src/service/service.c", '#include "transport/server.h"\n'
              "static const char *soap_like(void);\n")
        write("src/service/service.h", "/* s */\n")
        problems, _, _ = check(base)
        if problems:
            print("self-test: a tree that keeps the rules was refused:", problems)
            ok = False
        cases = [
            ("src/transport/server.c", '#include "service/service.h"\n', "transport -> service"),
            ("src/service/run.c", "void f(struct soap *s);\n", "struct soap"),
            ("src/service/push.c", "int x = soap_serve(0);\n", "soap_serve"),
            ("src/candidate/map.c", "const struct _ns1__pushCandidate *p;\n", "ns1__"),
            ("src/ingest/x.c", '#include "soapStub.h"\n', "generated name soapStub.h"),
            ("src/newroom/x.c", "/* x */\n", "room newroom is not in the list"),
        ]
        for rel, text, expect in cases:
            path = os.path.join(base, rel)
            write(rel, text)
            problems, _, _ = check(base)
            os.remove(path)
            if not any(expect in p for p in problems):
                print("self-test: breaking the rules with %s was not reported (%r)" % (rel, problems))
                ok = False
            else:
                print("self-test: refused as it should be: %s" %
                      next(p for p in problems if expect in p))
        ALLOWED["util"].add("main")  # a cycle in the list itself
        problems, _, _ = check(base)
        ALLOWED["util"].discard("main")
        if not any("cycle" in p for p in problems):
            print("self-test: a cycle in the allowed edges was not reported")
            ok = False
        else:
            print("self-test: refused as it should be: " + next(p for p in problems if "cycle" in p))
    finally:
        shutil.rmtree(base)
    return ok


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return 0 if self_test() else 1
    if len(argv) != 2:
        print(__doc__)
        return 2
    problems, n_files, n_edges = check(argv[1])
    for p in problems:
        print(p)
    if problems:
        print("layout: %d problem(s)" % len(problems))
        return 1
    print("layout: %d files, %d include edges between rooms, all allowed; generated names only "
          "in bind/ and gen/" % (n_files, n_edges))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""PostgreSQL only: several ehrbridge processes on one database, a database that restarts or goes
away under load, and `ehrbridge check` against a wrong password, an unreachable server and a newer
schema. The rest of the suite runs on PostgreSQL through the `backend` fixture (conftest.py).

The restart tests start a throwaway cluster of their own with tools/pg.sh (Debian's postgresql
package), so that restarting it disturbs no other test; without PostgreSQL they FAIL in CI
(CI=true) and are skipped elsewhere."""
import concurrent.futures
import os
import re
import subprocess
import threading
import time
import urllib.parse

import pytest

import helpers
from conftest import Server, _stop_and_check, free_port, pg_database, pg_url, run_cli

PG_SH = helpers.REPO / "tools" / "pg.sh"
UNAVAILABLE = "database unavailable, push not stored; retry later"


def push_with_experiences(server, push_id, app, n, timeout=30):
    """A push for app whose n experiences name the push ("<push id>#<k>"): a candidate whose
    children do not all carry its last_push_id is mixed."""
    fields = helpers.minimal_data(app, lastCompany=push_id)
    xml = helpers.minimal_push_xml(push_id, app, data_fields=fields)
    items = "".join(f"<element><startDate>2016-03</startDate><company>{push_id}#{k}</company>"
                    f"</element>" for k in range(n))
    xml = xml.replace("</data>", f"<experienceInfo>{items}</experienceInfo></data>")
    r = helpers.http(server.base_url, "POST", "/pushCandidate", helpers.envelope(xml),
                     helpers.soap_headers(), timeout=timeout)
    return helpers.parse_push_answer(r)


def replica(workdir, first):
    """A second server on the database of `first`."""
    s = Server(workdir, backend="postgres")
    s.db_path, s.db_url = first.db_path, first.db_url
    s.args[s.args.index("--db") + 1] = first.db_url
    return s


def check_whole(conn, expected_children):
    """Every candidate holds exactly the children of the push its last_push_id names;
    expected_children maps a push id to its number of experiences. Returns {app: last_push_id}."""
    last = {r["application_id"]: r["last_push_id"]
            for r in helpers.rows(conn, "SELECT application_id, last_push_id FROM candidate")}
    for app, pid in last.items():
        companies = [r["company"] for r in helpers.rows(
            conn, "SELECT company FROM candidate_experience WHERE application_id = ? ORDER BY seq", app)]
        assert companies == [f"{pid}#{k}" for k in range(expected_children[pid])], \
            f"candidate {app} (last push {pid}) holds mixed or partial children: {companies}"
        lc = helpers.rows(conn, "SELECT last_company FROM candidate WHERE application_id = ?", app)
        assert lc == [{"last_company": pid}]
    return last


# --- several processes on one database ---------------------------------------------------------

def test_two_processes_hammered_with_duplicate_and_distinct_pushes(tmp_path):
    pg_url()
    a = Server(tmp_path / "a", backend="postgres").start()
    b = replica(tmp_path / "b", a).start()
    try:
        apps = [7100000 + i for i in range(30)]
        pushes = []  # (push id, app, experiences)
        for round_ in range(6):
            for i, app in enumerate(apps):
                pushes.append((f"hammer-{round_}-{app}", app, (round_ + i) % 4 + 1))
        expected = {pid: n for pid, _, n in pushes}
        answers = {}

        def send(server, pid, app, n):
            return pid, server is a, push_with_experiences(server, pid, app, n)

        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            futures = []
            for pid, app, n in pushes:
                # every push id to both processes at once
                futures.append(pool.submit(send, a, pid, app, n))
                futures.append(pool.submit(send, b, pid, app, n))
            for f in concurrent.futures.as_completed(futures):
                pid, to_a, ans = f.result()
                answers[(pid, to_a)] = ans
        for pid, _, _ in pushes:
            assert answers[(pid, True)] == answers[(pid, False)] and answers[(pid, True)][0] == "true", \
                (pid, answers[(pid, True)], answers[(pid, False)])
        with a.db() as conn:
            ids = {r["push_id"] for r in helpers.rows(conn, "SELECT push_id FROM push_log")}
            assert ids == set(expected), "push_log rows are not exactly the distinct push ids"
            assert conn.execute("SELECT count(*) FROM push_log WHERE outcome = 'stored'").fetchone()[0] == len(pushes)
            assert conn.execute("SELECT count(*) FROM candidate").fetchone()[0] == len(apps)
            last = check_whole(conn, expected)
            total = conn.execute("SELECT count(*) FROM candidate_experience").fetchone()[0]
            assert total == sum(expected[pid] for pid in last.values())
        # each push id was written by one process and answered from the record by the other
        dups = sum(l.count("duplicate=yes") for l in (a.log(), b.log()))
        assert dups == len(pushes), f"{dups} duplicate answers for {len(pushes)} doubled pushes"
    finally:
        for s in (a, b):
            if s.alive():
                _stop_and_check(s)


def test_replicas_starting_together_create_the_schema_once(tmp_path):
    pg_url()
    first = Server(tmp_path / "c0", backend="postgres")
    servers = [first] + [replica(tmp_path / f"c{i}", first) for i in (1, 2, 3)]
    errors = []

    def start(s):
        try:
            s.start()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        created = sum("created the default schema" in s.log() for s in servers)
        assert created == 1, f"{created} processes created the schema"
        with first.db() as conn:
            assert conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 1
        for i, s in enumerate(servers):
            ret, _ = push_with_experiences(s, f"start-{i}", 7400000, i + 1)
            assert ret == "true"
        with first.db() as conn:
            check_whole(conn, {f"start-{i}": i + 1 for i in range(len(servers))})
    finally:
        for s in servers:
            if s.alive():
                _stop_and_check(s)


# --- a cluster of the test's own: restart, stop, start -----------------------------------------

@pytest.fixture(scope="module")
def own_cluster():
    """A throwaway cluster for this module (restarted by its tests): (dir, url)."""
    pg_url()
    r = subprocess.run([str(PG_SH), "start"], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        msg = f"tools/pg.sh start failed: {r.stderr.strip()[-2000:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    env = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    try:
        yield env["EB_PG_DIR"], env["EB_PG_URL"]
    finally:
        subprocess.run([str(PG_SH), "stop", env["EB_PG_DIR"]], capture_output=True, timeout=120)


def pg_sh(cmd, cluster):
    r = subprocess.run([str(PG_SH), cmd, cluster[0]], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"tools/pg.sh {cmd}: {r.stderr}"


def own_server(tmp_path, cluster, name):
    s = Server(tmp_path / name)  # args replaced below: the own cluster, not EB_PG_URL
    schema = "eb_" + name.replace("-", "_")
    url = cluster[1] + "?options=" + urllib.parse.quote(f"-c search_path={schema}", safe="")
    import psycopg2
    conn = psycopg2.connect(cluster[1])
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    conn.close()
    s.backend = "postgres"
    s.db_path = helpers.PgDatabase(url, schema)
    s.db_url = url
    s.args[s.args.index("--db") + 1] = url
    return s.start()


def wait_true(server, prefix, app, deadline_s=30):
    """Pushes until one is answered true (the database is back); returns the attempts."""
    deadline = time.monotonic() + deadline_s
    n = 0
    while time.monotonic() < deadline:
        n += 1
        ret, msg = push_with_experiences(server, f"{prefix}-{n}", app, 2)
        if ret == "true":
            return n
        assert msg == UNAVAILABLE, msg
        time.sleep(0.2)
    raise AssertionError(f"pushes not answered true within {deadline_s}s after the database came back;"
                         f" log:\n{server.log()[-3000:]}")


def test_database_down_answers_false_then_true_again_without_restart(tmp_path, own_cluster):
    s = own_server(tmp_path, own_cluster, "downup")
    try:
        ret, _ = push_with_experiences(s, "du-before", 7200001, 2)
        assert ret == "true"
        assert helpers.http(s.base_url, "GET", "/readyz").status == 200
        pg_sh("down", own_cluster)
        try:
            for i in range(3):
                ret, msg = push_with_experiences(s, f"du-down-{i}", 7200002 + i, 2)
                assert (ret, msg) == ("false", UNAVAILABLE), (ret, msg)
            assert helpers.http(s.base_url, "GET", "/readyz").status == 503
        finally:
            pg_sh("up", own_cluster)
        wait_true(s, "du-back", 7200010)
        assert helpers.http(s.base_url, "GET", "/readyz").status == 200
        # the pushes refused while it was down are stored when Moka's user retries them
        for i in range(3):
            ret, _ = push_with_experiences(s, f"du-down-{i}", 7200002 + i, 2)
            assert ret == "true"
        assert s.alive(), "ehrbridge had to be restarted"
        with s.db() as conn:
            check_whole(conn, {p: 2 for p in ["du-before", *[f"du-down-{i}" for i in range(3)]] +
                               [f"du-back-{n}" for n in range(1, 200)]})
    finally:
        _stop_and_check(s)


def test_database_restart_under_load_loses_no_acknowledged_push(tmp_path, own_cluster):
    s = own_server(tmp_path, own_cluster, "restart")
    answered, lock, stop = [], threading.Lock(), threading.Event()

    def pusher(t):
        i = 0
        while not stop.is_set():
            pid, app, n = f"rs-{t}-{i}", 7300000 + t * 10000 + i, i % 3 + 1
            try:
                ret, msg = push_with_experiences(s, pid, app, n, timeout=30)
            except OSError as e:
                ret, msg = "error", repr(e)
            with lock:
                answered.append((pid, app, n, ret, msg))
            i += 1

    threads = [threading.Thread(target=pusher, args=(t,)) for t in range(6)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.5)
        pg_sh("restart", own_cluster)
        time.sleep(2.0)
        stop.set()
        for t in threads:
            t.join()
        wait_true(s, "rs-after", 7399999)
        assert s.alive(), "ehrbridge had to be restarted"
        acked = [a for a in answered if a[3] == "true"]
        refused = [a for a in answered if a[3] != "true"]
        assert len(acked) > 20, f"only {len(acked)} pushes acknowledged"
        for a in refused:
            assert (a[3], a[4]) == ("false", UNAVAILABLE), a
        print(f"\nrestart under load: {len(acked)} acknowledged, {len(refused)} answered false")
        with s.db() as conn:
            stored = {r["push_id"] for r in helpers.rows(
                conn, "SELECT push_id FROM push_log WHERE outcome = 'stored'")}
            missing = [a[0] for a in acked if a[0] not in stored]
            assert not missing, f"acknowledged but not stored: {missing[:5]}"
            expected = {a[0]: a[2] for a in answered}
            expected.update({r["push_id"]: 2 for r in helpers.rows(
                conn, "SELECT push_id FROM push_log WHERE push_id LIKE 'rs-after-%'")})
            last = check_whole(conn, expected)
            assert set(last.values()) <= stored
            for pid, app, n, ret, _ in acked:
                assert last.get(app) == pid
    finally:
        stop.set()
        for t in threads:
            t.join()
        _stop_and_check(s)


# --- ehrbridge check ---------------------------------------------------------------------------

def one_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    assert len(lines) == 1, f"expected a one-line error, got:\n{text}"
    return lines[0]


def with_password(url, password):
    u = urllib.parse.urlsplit(url)
    netloc = f"{u.username}:{password}@{u.hostname}:{u.port}"
    return urllib.parse.urlunsplit((u.scheme, netloc, u.path, u.query, u.fragment))


def test_check_ready(tmp_path):
    pg_url()
    db = pg_database(tmp_path)
    p = run_cli("check", "--db", str(db))
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "postgresql database ready" in p.stdout


def test_check_wrong_password_is_one_clear_line_without_the_password():
    url = pg_url()
    for form in ("uri", "keyvalue"):
        secret = "Wr0ngPassw0rd-xyz"
        if form == "uri":
            db = with_password(url, secret)
        else:
            u = urllib.parse.urlsplit(url)
            db = (f"postgresql:host={u.hostname} port={u.port} user={u.username} "
                  f"password={secret} dbname={u.path.lstrip('/') or 'postgres'}")
        p = run_cli("check", "--db", db)
        assert p.returncode == 1, (form, p.stdout, p.stderr)
        line = one_line(p.stderr)
        assert "password authentication failed" in line, line
        assert secret not in p.stdout + p.stderr
        assert urllib.parse.urlsplit(url).password not in p.stdout + p.stderr


def test_check_unreachable_server_is_one_clear_line_without_the_password():
    url = pg_url()
    secret = urllib.parse.urlsplit(url).password or "nopassword-given"
    db = with_password(url, secret).replace(f":{urllib.parse.urlsplit(url).port}/", f":{free_port()}/")
    t0 = time.monotonic()
    p = run_cli("check", "--db", db)
    assert time.monotonic() - t0 < 15
    assert p.returncode == 1, (p.stdout, p.stderr)
    line = one_line(p.stderr)
    assert re.search(r"cannot connect.*(refused|could not connect)", line, re.I), line
    assert secret not in p.stdout + p.stderr


def test_check_refuses_a_newer_schema(tmp_path):
    pg_url()
    db = pg_database(tmp_path)
    assert run_cli("check", "--db", str(db)).returncode == 0
    import psycopg2
    conn = psycopg2.connect(str(db))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("UPDATE schema_version SET version = 99")
    conn.close()
    p = run_cli("check", "--db", str(db))
    assert p.returncode == 1
    assert re.search(r"database schema version 99 is newer than this ehrbridge \(\d+\)$",
                     one_line(p.stderr))

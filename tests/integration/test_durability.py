"""Crash and fault safety: kill -9 under load loses no acknowledged push and leaves no
half-written candidate; a locked, read-only or full database answers false with a message and
leaves the database as it was; SIGTERM finishes in-flight pushes and exits 0."""
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

import helpers
from conftest import Server

CHILDREN = ("<educationInfo><element><school>S</school></element></educationInfo>"
            "<experienceInfo><element><company>A</company></element>"
            "<element><company>B</company></element></experienceInfo>")


def push_with_children(server, push_id, app_id, timeout=30):
    body = helpers.envelope(helpers.minimal_push_xml(push_id, app_id, CHILDREN))
    r = helpers.http(server.base_url, "POST", "/pushCandidate", body, helpers.soap_headers(11),
                     timeout=timeout)
    return helpers.parse_push_answer(r)


def check_consistent(db_path):
    """Every candidate is complete (1 education, 2 experiences, all from its last push) and every
    stored push_log row has its candidate."""
    conn = helpers.db_connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        cands = helpers.rows(conn, "SELECT application_id, last_push_id FROM candidate")
        for c in cands:
            edu = conn.execute("SELECT count(*) FROM candidate_education WHERE application_id=?",
                               (c["application_id"],)).fetchone()[0]
            exp = conn.execute("SELECT count(*) FROM candidate_experience WHERE application_id=?",
                               (c["application_id"],)).fetchone()[0]
            assert (edu, exp) == (1, 2), f"half-written candidate {c}: {edu} edu, {exp} exp"
        stored = {r["push_id"]: r["application_id"] for r in helpers.rows(
            conn, "SELECT push_id, application_id FROM push_log WHERE outcome='stored'")}
        apps = {c["application_id"] for c in cands}
        assert set(stored.values()) == apps
        orphans = conn.execute("SELECT count(*) FROM candidate_experience WHERE application_id "
                               "NOT IN (SELECT application_id FROM candidate)").fetchone()[0]
        assert orphans == 0
        return stored
    finally:
        conn.close()


def test_kill_9_under_load_loses_no_acknowledged_push(tmp_path, backend):
    s = Server(tmp_path / "k9", backend=backend).start()
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def pusher(t):
        i = 0
        while not stop.is_set():
            pid, app = f"k9-{t}-{i}", 100000 * (t + 1) + i
            try:
                ret, _ = push_with_children(s, pid, app, timeout=10)
            except OSError:
                return
            if ret == "true":
                with lock:
                    acked.append((pid, app))
            i += 1

    threads = [threading.Thread(target=pusher, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    s.kill()
    assert len(acked) > 20, f"only {len(acked)} pushes acknowledged before the kill"
    # restart on the same database: every acknowledged push is there, complete
    s2 = Server(tmp_path / "k9", backend=backend).start()
    try:
        stored = check_consistent(s2.db_path)
        missing = [p for p, _ in acked if p not in stored]
        print(f"\nkill -9 after {len(acked)} acknowledged pushes; {len(stored)} stored; missing {len(missing)}")
        assert not missing, f"acknowledged but lost: {missing[:5]}"
        ret, _ = push_with_children(s2, "k9-after", 999999)
        assert ret == "true"
    finally:
        assert s2.stop() == 0


def test_sigterm_finishes_an_in_flight_push_and_exits_0(tmp_path, backend):
    s = Server(tmp_path / "term", backend=backend).start()
    body = helpers.envelope(helpers.minimal_push_xml("term-1", 4711, CHILDREN)).encode()
    c = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    c.sendall(b"POST /pushCandidate HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body[:100])
    time.sleep(0.3)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    # no new connections are accepted once stopping...
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", s.port), timeout=2).recv(1)
    # ...but the request in flight completes and is answered true
    c.sendall(body[100:])
    answer = b""
    while b"</SOAP-ENV:Envelope>" not in answer:
        data = c.recv(65536)
        if not data:
            break
        answer += data
    c.close()
    assert b"<ns1:return>true</ns1:return>" in answer, answer[:500]
    assert s.proc.wait(15) == 0
    s.proc = None
    s._log.close()
    conn = helpers.db_connect(s.db_path)
    try:
        assert conn.execute("SELECT count(*) FROM candidate WHERE application_id=4711").fetchone()[0] == 1
    finally:
        conn.close()


@pytest.mark.sqlite_only
def test_locked_database_answers_false_then_recovers(make_server):
    s = make_server()
    ret, _ = push_with_children(s, "lock-0", 700)
    assert ret == "true"
    before = snapshot(s.db_path)
    locker = sqlite3.connect(s.db_path, timeout=1, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        ret, msg = push_with_children(s, "lock-1", 701)
        took = time.monotonic() - t0
        print(f"\nlocked database: answered {ret} after {took:.1f}s: {msg}")
        assert ret == "false" and msg and "database" in msg
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert snapshot(s.db_path) == before
    ret, _ = push_with_children(s, "lock-1", 701)  # the same push id, retried, is stored now
    assert ret == "true"
    check_consistent(s.db_path)


def snapshot(db_path):
    conn = helpers.db_connect(db_path)
    try:
        return (conn.execute("SELECT count(*) FROM candidate").fetchone()[0],
                conn.execute("SELECT count(*) FROM candidate_experience").fetchone()[0],
                conn.execute("SELECT count(*) FROM push_log WHERE outcome='stored'").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def small_fs(tmp_path):
    """A 4 MiB tmpfs of its own (root only; CI runs as root)."""
    mnt = tmp_path / "fs"
    mnt.mkdir()
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the full-disk and read-only tests need root (mount) in CI")
        pytest.skip("needs root to mount a tmpfs")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.sqlite_only
def test_full_disk_answers_false_and_leaves_the_database_as_it_was(small_fs, make_server):
    s = make_server(["--db", f"sqlite:{small_fs}/ehr.db"])
    ret, _ = push_with_children(s, "full-0", 800)
    assert ret == "true"
    s.db_path = small_fs / "ehr.db"
    before = snapshot(s.db_path)
    filler = small_fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:  # fill the file system to the last block
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    big = "<customFields>" + "".join(f"<element><name>f{i}</name><value>{'v' * 400}</value></element>"
                                     for i in range(200)) + "</customFields>"
    body = helpers.envelope(helpers.minimal_push_xml("full-1", 801, CHILDREN + big))
    r = helpers.http(s.base_url, "POST", "/pushCandidate", body, helpers.soap_headers(11))
    ret, msg = helpers.parse_push_answer(r)
    print(f"\nfull disk: {ret}: {msg}")
    assert ret == "false" and msg and "database" in msg
    filler.unlink()
    assert snapshot(s.db_path) == before
    check_consistent(s.db_path)
    ret, _ = push_with_children(s, "full-2", 802)
    assert ret == "true"


def test_read_only_database_is_refused_at_start_with_a_clear_error(small_fs, tmp_path):
    """A database that is read-only when ehrbridge starts stops it with one clear line (a database
    that becomes unwritable while running is the full-disk and locked cases above)."""
    s = Server(tmp_path / "ro", args=None)
    s.args = ["serve", "--listen", f"127.0.0.1:{s.port}", "--db", f"sqlite:{small_fs}/ehr.db"]
    s.start()
    ret, _ = push_with_children(s, "ro-0", 900)
    assert ret == "true"
    assert s.stop() == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    try:
        r = subprocess.run([os.environ.get("EHRBRIDGE_BIN", "build/ehrbridge"), "check", "--db",
                            f"sqlite:{small_fs}/ehr.db"], capture_output=True, text=True, timeout=30)
        print(f"\nread-only database: exit {r.returncode}: {r.stderr.strip()}")
        assert r.returncode != 0
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "sqlite" in lines[0]
        srv = subprocess.run([os.environ.get("EHRBRIDGE_BIN", "build/ehrbridge"), "serve", "--listen",
                              f"127.0.0.1:{s.port}", "--db", f"sqlite:{small_fs}/ehr.db"],
                             capture_output=True, text=True, timeout=30)
        assert srv.returncode != 0 and "cannot start" in srv.stderr
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_fs)], check=True)

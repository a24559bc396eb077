"""`ehrbridge replay`: re-runs pushes from push_log (by push id, by outcome, by time range) through
the current mapping and adapter; idempotent; never lets an older push overwrite a newer one."""
import sqlite3
import subprocess

import pytest

import helpers
from conftest import ehrbridge_bin, clean_env


CHILDREN = ("<experienceInfo><element><company>A</company></element>"
            "<element><company>B</company></element></experienceInfo>")


def replay(server_or_path, *args):
    url = getattr(server_or_path, "db_url", None) or f"sqlite:{server_or_path}"
    return subprocess.run([ehrbridge_bin(), "replay", "--db", url, *args],
                          capture_output=True, text=True, timeout=60, env=clean_env())


def push(server, pid, app, extra=CHILDREN, **fields):
    data = helpers.minimal_data(app, **fields)
    r, ret, msg = helpers.push(server, helpers.minimal_push_xml(pid, app, extra, data_fields=data))
    return ret, msg


def writable(server):
    """A connection that may write (the tests break the database on purpose)."""
    if isinstance(server.db_path, helpers.ServerDatabase):
        return helpers.db_connect(server.db_path)
    return sqlite3.connect(server.db_path, timeout=10, isolation_level=None)


def test_replay_restores_failed_pushes_and_is_idempotent(make_server):
    s = make_server()
    assert push(s, "rp-1", 501)[0] == "true"
    assert push(s, "rp-2", 502)[0] == "true"
    # a database outage that lost the candidate after the push was logged as failed
    w = writable(s)
    w.execute("UPDATE push_log SET outcome='failed', message='database unavailable' WHERE push_id='rp-2'")
    for t in ("candidate", "candidate_experience"):
        w.execute(f"DELETE FROM {t} WHERE application_id=502")
    w.close()

    r = replay(s, "--outcome", "failed")
    assert r.returncode == 0, r.stderr
    assert "rp-2: stored" in r.stdout and "1 stored" in r.stdout, r.stdout
    conn = helpers.db_connect(s.db_path)
    try:
        assert conn.execute("SELECT outcome FROM push_log WHERE push_id='rp-2'").fetchone()[0] == "stored"
        assert conn.execute("SELECT count(*) FROM candidate_experience WHERE application_id=502"
                            ).fetchone()[0] == 2
        first = helpers.rows(conn, "SELECT * FROM candidate WHERE application_id=502")
    finally:
        conn.close()
    # again, by push id: the same rows, nothing doubled
    r = replay(s, "--push-id", "rp-2")
    assert r.returncode == 0 and "rp-2: stored (again)" in r.stdout, r.stdout
    conn = helpers.db_connect(s.db_path)
    try:
        assert helpers.rows(conn, "SELECT * FROM candidate WHERE application_id=502") == first
        assert conn.execute("SELECT count(*) FROM candidate_experience WHERE application_id=502"
                            ).fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM push_log").fetchone()[0] == 2
    finally:
        conn.close()


def test_replay_never_lets_an_older_push_overwrite_a_newer_one(make_server):
    s = make_server()
    assert push(s, "old-1", 601, extra="<experienceInfo><element><company>OLD</company></element>"
                                        "</experienceInfo>")[0] == "true"
    assert push(s, "new-1", 601, extra="<experienceInfo><element><company>NEW</company></element>"
                                        "</experienceInfo>")[0] == "true"
    r = replay(s, "--all")
    assert r.returncode == 0, r.stderr
    assert "old-1: superseded" in r.stdout and "new-1: stored (again)" in r.stdout, r.stdout
    conn = helpers.db_connect(s.db_path)
    try:
        assert [x["company"] for x in helpers.rows(
            conn, "SELECT company FROM candidate_experience WHERE application_id=601")] == ["NEW"]
        assert conn.execute("SELECT last_push_id FROM candidate WHERE application_id=601"
                            ).fetchone()[0] == "new-1"
    finally:
        conn.close()


def test_replay_keeps_rejected_pushes_rejected_and_filters_by_time(make_server):
    s = make_server()
    ret, msg = push(s, "bad-1", 701, applicationId="701x")
    assert ret == "false" and "applicationId" in msg
    r = replay(s, "--outcome", "rejected")
    assert r.returncode == 0 and "bad-1: rejected: data.applicationId" in r.stdout, r.stdout
    # a time range that excludes everything replays nothing
    r = replay(s, "--until", "2001-01-01")
    assert r.returncode == 0 and "replayed: 0 stored, 0 rejected" in r.stdout, r.stdout
    r = replay(s, "--since", "2001-01-01T00:00Z", "--dry-run")
    assert r.returncode == 0 and "bad-1: would be rejected" in r.stdout, r.stdout


def test_replay_needs_a_filter_and_valid_options(tmp_path):
    db = tmp_path / "x.db"
    r = replay(db)
    assert r.returncode == 2 and "--push-id" in r.stderr
    r = replay(db, "--outcome", "lost")
    assert r.returncode == 2 and "--outcome" in r.stderr
    r = replay(db, "--since", "yesterday")
    assert r.returncode == 2 and "--since" in r.stderr


def test_replay_reads_long_text_with_non_bmp_characters_back_unchanged(make_server):
    """The push log's payload is read back in chunks (ODBC: SQLGetData, some 4,000 UTF-16 units
    each); a character outside the BMP (two UTF-16 units) that a chunk boundary splits must come
    back whole. A run of such characters across a boundary, once at an even and once at an odd
    offset: one of the two is split there, whatever the chunk size and the payload's prefix."""
    s = make_server()
    texts = {}
    for app in (801, 802):
        texts[app] = "x" * (app - 801) + "ASCII head; " + "😀𠀀" * 2250 + "".join(
            f"{i}😀x𠀀" for i in range(100))
        assert push(s, f"long-{app}", app, personal=texts[app])[0] == "true"
    # a lost write: the candidates must come back from the logged payloads alone
    w = writable(s)
    w.execute("UPDATE push_log SET outcome='failed' WHERE push_id LIKE 'long-%'")
    w.execute("DELETE FROM candidate WHERE application_id IN (801, 802)")
    w.close()
    r = replay(s, "--outcome", "failed")
    assert r.returncode == 0 and "2 stored" in r.stdout, (r.stdout, r.stderr)
    conn = helpers.db_connect(s.db_path)
    try:
        for app, text in texts.items():
            (back,) = conn.execute("SELECT personal FROM candidate WHERE application_id=?",
                                   (app,)).fetchone()
            assert back == text, (f"{app}: {len(back)} of {len(text)} characters, "
                                  f"{back.count(chr(0xfffd))} U+FFFD")
    finally:
        conn.close()


def test_replay_selects_by_time_range_and_outcome_in_received_order(make_server):
    """--since/--until bound received_at on both sides (Unix ms or dates), alone or with
    --outcome and --push-id; the pushes replay oldest first (push id breaking ties), whatever
    order the database holds them in. Times are read by the date grammar: Unix milliseconds
    have 13 digits (T + n below); T is 2017-07-14T02:40:00Z."""
    s = make_server()
    T = 1500000000000
    times = {"tr-c": T + 3000, "tr-a": T + 1000, "tr-b": T + 2000, "tr-b2": T + 2000,
             "tr-d": T + 4000}
    for i, pid in enumerate(times):
        assert push(s, pid, 900 + i)[0] == "true"
    w = writable(s)
    for pid, t in times.items():
        w.execute(f"UPDATE push_log SET received_at={t}, outcome='failed' WHERE push_id='{pid}'")
    w.execute("UPDATE push_log SET outcome='rejected', message='x' WHERE push_id='tr-d'")
    w.close()

    def listed(*args):
        r = replay(s, *args, "--dry-run")
        assert r.returncode == 0, r.stderr
        return [line.split(":")[0] for line in r.stdout.splitlines() if line.startswith("tr-")]

    assert listed("--all") == ["tr-a", "tr-b", "tr-b2", "tr-c", "tr-d"]
    assert listed("--since", str(T + 1500)) == ["tr-b", "tr-b2", "tr-c", "tr-d"]
    assert listed("--until", str(T + 2000)) == ["tr-a", "tr-b", "tr-b2"]
    assert listed("--since", str(T + 2000), "--until", str(T + 3000)) == ["tr-b", "tr-b2", "tr-c"]
    assert listed("--since", str(T + 1001), "--until", str(T + 1999)) == []
    assert listed("--since", str(T + 1500), "--outcome", "rejected") == ["tr-d"]
    assert listed("--since", str(T + 1500), "--outcome", "failed") == ["tr-b", "tr-b2", "tr-c"]
    assert listed("--push-id", "tr-c", "--since", str(T + 2500)) == ["tr-c"]
    assert listed("--push-id", "tr-c", "--until", str(T + 2500)) == []
    assert listed("--since", "2017-07-14T02:40:02") == ["tr-b", "tr-b2", "tr-c", "tr-d"]

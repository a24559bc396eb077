"""A request refused by authentication (Bearer, Basic, the vendor's signature, a client
certificate) or by the allow list is never stored as a push: no push_log row, so no replay (by
push id, --outcome rejected, --all) can ever make it reach the candidate tables, and many refused
bodies do not grow the database. What is kept of a refused request is one rate-limited log line
(time, source address, path, declared size, reason; never the body). The schema migration makes
the rows that earlier versions recorded from refused requests (push id unauthenticated-<ms>-<n>,
outcome rejected, message "authentication failed", the raw body) unreplayable, idempotently.
Runs on every backend (SQLite, PostgreSQL, and both through ODBC), except the client certificate
test (TLS; SQLite)."""
import base64
import json
import os
import re
import socket
import subprocess
import time

import pytest

import helpers
import sec_helpers as sh
from conftest import ehrbridge_bin, clean_env

TOKEN = "refused-token-secret"
SIGN_KEY = "refused-sign-key"
USER, PASSWORD = "moka", "refused-basic-secret"
AUTH = ["--bearer-token", TOKEN, "--sign-key", SIGN_KEY, "--basic-user", USER,
        "--basic-password", PASSWORD]
REAL_APP, NEW_APP = 8700001, 8700002
REAL_NAME, FORGED_NAME = "Real Person", "Forged Person"
# the log lines of refused requests: a burst, then one per interval (util/refusal.h)
BURST, INTERVAL_S = 10, 10
# what the migration writes over such a row (sqlgen.c)
REFUSED_MESSAGE = "refused: authentication failed; body removed, never replayed"


def replay(server, *args):
    return subprocess.run([ehrbridge_bin(), "replay", "--db", server.db_url, *args],
                          capture_output=True, text=True, timeout=120, env=clean_env())


def check(server):
    return subprocess.run([ehrbridge_bin(), "check", "--db", server.db_url],
                          capture_output=True, text=True, timeout=120, env=clean_env())


def writable(server):
    if isinstance(server.db_path, helpers.ServerDatabase):
        return helpers.db_connect(server.db_path)
    import sqlite3
    return sqlite3.connect(server.db_path, timeout=10, isolation_level=None)


def rows(server, sql, *args):
    conn = server.db()
    try:
        return helpers.rows(conn, sql, *args)
    finally:
        conn.close()


def soap_body(push_id, app, name, soap=11):
    data = helpers.minimal_data(app, name=name)
    return helpers.envelope(helpers.minimal_push_xml(push_id, app, data_fields=data), soap)


def rest_body(push_id, app, name):
    return json.dumps({"id": push_id, "event": "pushCandidate", "triggeredAt": 1505296287,
                       "data": {"applicationId": app, "name": name}})


def interview_body(push_id, app):
    return json.dumps({"id": push_id, "event": "createInterviewsInfo", "triggeredAt": 1505296287,
                       "data": {"applicationIds": [app], "interviews": [
                           {"event_id": f"forged-{push_id}", "applicationIds": [app]}]}})


def post(server, body, headers=None, query="", soap=11, json_body=False):
    h = ({"Content-Type": "application/json"} if json_body else helpers.soap_headers(soap))
    h.update(headers or {})
    return helpers.http(server.base_url, "POST", "/pushCandidate" + (f"?{query}" if query else ""),
                        body, h)


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def forged_requests(claimed_id):
    """(name, body, headers, query, soap, json) of requests that must all be refused with 401:
    a forged body with the real applicationId (to overwrite the stored candidate) or a new one
    (to create a candidate), each credential missing or wrong."""
    out = []
    for app in (REAL_APP, NEW_APP):
        pid = claimed_id if app == REAL_APP else helpers.new_id("forged")
        soap = soap_body(pid, app, FORGED_NAME)
        rest = rest_body(helpers.new_id("forged-rest"), app, FORGED_NAME)
        itv = interview_body(helpers.new_id("fi"), app)
        out += [
            (f"soap {app}, no credential", soap, {}, "", 11, False),
            (f"soap {app}, wrong Bearer", soap, {"Authorization": "Bearer wrong"}, "", 11, False),
            (f"soap {app}, wrong Basic", soap, {"Authorization": basic(USER, "wrong")}, "", 11,
             False),
            (f"soap {app}, sign of another key", soap, {}, "sign=" + sh.sign("other", soap), 11,
             False),
            (f"soap 1.2 {app}, no credential", soap_body(helpers.new_id("f12"), app, FORGED_NAME,
                                                         12), {}, "", 12, False),
            (f"rest {app}, no credential", rest, {}, "", 11, True),
            (f"rest {app}, sign of another key", rest, {}, "sign=" + sh.sign("other", rest), 11,
             True),
            (f"rest {app}, sign of another body", rest, {},
             "sign=" + sh.sign(SIGN_KEY, rest + " "), 11, True),
            (f"interview {app}, wrong Bearer", interview_body(helpers.new_id("fi"), app),
             {"Authorization": f"Bearer {TOKEN}x"}, "", 11, True),
            (f"interview {app}, sign of another key", itv, {}, "sign=" + sh.sign("other", itv),
             11, True),
        ]
    return out


def candidates(server):
    return rows(server, "SELECT application_id, name, last_push_id FROM candidate "
                        "ORDER BY application_id")


def test_refused_requests_are_never_stored_nor_replayed(make_server):
    s = make_server(AUTH)
    real_id = helpers.new_id("real")
    r = post(s, soap_body(real_id, REAL_APP, REAL_NAME), {"Authorization": f"Bearer {TOKEN}"})
    assert helpers.parse_push_answer(r)[0] == "true", r
    stored = candidates(s)
    assert [c["name"] for c in stored] == [REAL_NAME]

    forged = forged_requests(real_id)
    t0 = time.monotonic()
    for name, body, headers, query, soap, js in forged:
        r = post(s, body, headers, query, soap, js)
        assert r.status == 401, (name, r)
        assert "www-authenticate" in r.headers, name
    elapsed = time.monotonic() - t0
    # nothing of them in the push log, the candidate tables or the interview tables
    assert [x["push_id"] for x in rows(s, "SELECT push_id FROM push_log")] == [real_id]
    assert candidates(s) == stored
    assert not rows(s, "SELECT 1 FROM interview")

    # no replay makes them reach the candidate tables: by outcome, all, or by the push ids they
    # claimed (the real push's among them)
    claimed = {m.group(1) for _, body, *_ in forged
               for m in [re.search(r"<id>([^<]+)</id>", body) or re.search(r'"id": "([^"]+)"', body)]}
    assert real_id in claimed and len(claimed) > 2
    for args in (["--outcome", "rejected"], ["--all"], *(["--push-id", pid] for pid in claimed)):
        r = replay(s, *args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        assert candidates(s) == stored, args
    assert not rows(s, "SELECT 1 FROM interview")

    # the trace: a line per refused request, up to a burst of 10 and then one per 10 s
    # (util/refusal.h), with the path, the declared size and the reason, never the body or a
    # secret
    log = s.log()
    refused = [l for l in log.splitlines() if "request refused" in l]
    print(f"\n{len(forged)} refused requests in {elapsed:.1f} s: {len(refused)} log lines")
    assert min(len(forged), BURST) <= len(refused) <= BURST + int(elapsed / INTERVAL_S) + 1
    assert all(re.search(r' status=401 reason=(?:"[^"]*"|\S+) peer=127\.0\.0\.1 client=- '
                         r"path=/pushCandidate declared_size=\d+ suppressed=", l)
               for l in refused), refused[:3]
    for secret in (FORGED_NAME, TOKEN, SIGN_KEY, PASSWORD, *helpers.PII):
        assert secret not in log


def test_refused_by_the_allow_list_is_never_stored(make_server):
    s = make_server(["--allow", "192.0.2.0/24"])
    for body, js in ((soap_body(helpers.new_id("deny"), REAL_APP, FORGED_NAME), False),
                     (rest_body(helpers.new_id("deny"), NEW_APP, FORGED_NAME), True),
                     (interview_body(helpers.new_id("deny"), NEW_APP), True)):
        r = post(s, body, json_body=js)
        assert r.status == 403, r
    assert rows(s, "SELECT count(*) AS n FROM push_log")[0]["n"] == 0
    assert not candidates(s)
    r = replay(s, "--all")
    assert r.returncode == 0 and "replayed: 0 stored, 0 rejected" in r.stdout, r.stdout


def post_expecting_continue(server, query, headers, body):
    """POST with Expect: 100-continue on a raw socket: the body is sent only when the server
    asks for it; returns (status, whether the body was asked for)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    try:
        head = (f"POST /pushCandidate{query} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"Content-Type: text/xml; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
                "Expect: 100-continue\r\nConnection: close\r\n")
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode())
        f = sock.makefile("rb")

        def response():
            status = int(f.readline().split()[1])
            length = 0
            while True:
                line = f.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                k, _, v = line.decode("latin-1").partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v.strip())
            f.read(length)
            return status

        status, asked = response(), False
        if status == 100:
            asked = True
            sock.sendall(body)
            status = response()
        return status, asked
    finally:
        sock.close()


def database_bytes(server):
    """(logical size, bytes of files on disk or of relations): SQLite page_count x page_size
    (what the database holds, the WAL's frames included) and the sizes of the file and its WAL;
    PostgreSQL the total size of the server's schema's tables (TOAST and indexes included)."""
    if isinstance(server.db_path, helpers.PgDatabase):
        conn = server.db()
        try:
            (n,) = conn.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace s ON s.oid = c.relnamespace "
                "WHERE s.nspname = current_schema() AND c.relkind = 'r'").fetchone()
        finally:
            conn.close()
        return int(n), int(n)
    if isinstance(server.db_path, helpers.MariaDatabase):
        conn = server.db()
        try:
            (n,) = conn.execute(
                "SELECT coalesce(sum(data_length + index_length), 0) FROM information_schema.tables "
                "WHERE table_schema = database()").fetchone()
        finally:
            conn.close()
        return int(n), int(n)
    conn = server.db()
    try:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    files = sum(os.path.getsize(p) for p in (server.db_path, f"{server.db_path}-wal")
                if os.path.exists(p))
    return pages * size, files


def test_many_refused_bodies_do_not_grow_the_database(make_server, backend):
    s = make_server(AUTH)
    r = post(s, soap_body(helpers.new_id("real"), REAL_APP, REAL_NAME),
             {"Authorization": f"Bearer {TOKEN}"})
    assert helpers.parse_push_answer(r)[0] == "true", r
    before = database_bytes(s)
    n, size = 24, 1 << 20
    filler = base64.b64encode(os.urandom(size)).decode()[:size]
    asked = 0
    for i in range(n):
        body = soap_body(helpers.new_id("fill"), REAL_APP, filler).encode()
        # half without any credential (refusable on the headers), half with a wrong signature
        # (the signature needs the body)
        query = "" if i % 2 else "?sign=" + sh.sign("other", body)
        status, got_asked = post_expecting_continue(s, query, {}, body)
        assert status == 401, (i, status)
        asked += got_asked
    after = database_bytes(s)
    print(f"\n{backend}: {n} refused bodies of {size} bytes ({asked} of them read): database "
          f"{before[0]} -> {after[0]} bytes (files/relations {before[1]} -> {after[1]})")
    assert after[0] == before[0]
    assert rows(s, "SELECT count(*) AS n FROM push_log")[0]["n"] == 1


def test_migration_makes_refused_rows_of_earlier_versions_unreplayable(make_server):
    """A database of schema version 3 holding a row the way earlier versions wrote a refused
    request (in refuse(): push id unauthenticated-<ms>-<n>, outcome rejected, message
    "authentication failed", no event, no ids, the raw body, no payload), received after the
    real push it forges: the migration empties and marks it; running it again changes nothing;
    replay (by push id, --outcome rejected, --all) never stores it."""
    s = make_server()
    real_id = helpers.new_id("real")
    assert helpers.push(s, helpers.minimal_push_xml(
        real_id, REAL_APP, data_fields=helpers.minimal_data(REAL_APP, name=REAL_NAME)))[1] == "true"
    stored = candidates(s)
    received = rows(s, "SELECT received_at FROM push_log WHERE push_id = ?", real_id)[0][
        "received_at"]
    old = [(f"unauthenticated-{received + 1000}-0", soap_body(real_id, REAL_APP, FORGED_NAME)),
           (f"unauthenticated-{received + 2000}-1", soap_body("x-new", NEW_APP, FORGED_NAME)),
           (f"unauthenticated-{received + 3000}-2", rest_body("x-rest", NEW_APP, FORGED_NAME))]
    w = writable(s)
    try:
        w.execute('UPDATE schema_version SET version = 3')
        for i, (pid, body) in enumerate(old):
            w.execute("INSERT INTO push_log (push_id, event, triggered_at, received_at, "
                      "application_id, candidate_id, outcome, message, payload, raw) VALUES "
                      "(?, NULL, NULL, ?, NULL, NULL, 'rejected', 'authentication failed', NULL, ?)",
                      (pid, received + 1000 * (i + 1), body.encode()))
    finally:
        w.close()

    r = check(s)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert rows(s, "SELECT max(version) AS v FROM schema_version")[0]["v"] == 5
    want = [{"push_id": pid, "outcome": "rejected", "message": REFUSED_MESSAGE, "payload": None,
             "raw": None} for pid, _ in old]
    got = rows(s, "SELECT push_id, outcome, message, payload, raw FROM push_log "
                  "WHERE push_id LIKE 'unauthenticated-%' ORDER BY push_id")
    assert got == want
    # the migration again (version 3 recorded once more): the same rows, nothing else changed
    w = writable(s)
    try:
        w.execute('UPDATE schema_version SET version = 3')
    finally:
        w.close()
    assert check(s).returncode == 0
    assert rows(s, "SELECT push_id, outcome, message, payload, raw FROM push_log "
                   "WHERE push_id LIKE 'unauthenticated-%' ORDER BY push_id") == want
    assert rows(s, "SELECT outcome FROM push_log WHERE push_id = ?", real_id) == \
        [{"outcome": "stored"}]

    for args in (["--outcome", "rejected"], ["--all"], *(["--push-id", pid] for pid, _ in old)):
        r = replay(s, *args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        for pid, _ in old:
            if pid in r.stdout:
                assert f"{pid}: skipped: refused" in r.stdout, r.stdout
    assert candidates(s) == stored
    assert rows(s, "SELECT count(*) AS n FROM candidate WHERE application_id = ?", NEW_APP)[0][
        "n"] == 0


def test_replay_skips_refused_rows_written_after_the_migration(make_server):
    """During a rolling upgrade a replica of an earlier version may still record a refused
    request after the migration ran: replay skips such a row as well."""
    s = make_server()
    real_id = helpers.new_id("real")
    assert helpers.push(s, helpers.minimal_push_xml(
        real_id, REAL_APP, data_fields=helpers.minimal_data(REAL_APP, name=REAL_NAME)))[1] == "true"
    stored = candidates(s)
    received = rows(s, "SELECT received_at FROM push_log WHERE push_id = ?", real_id)[0][
        "received_at"]
    pid = f"unauthenticated-{received + 1000}-7"
    w = writable(s)
    try:
        w.execute("INSERT INTO push_log (push_id, event, triggered_at, received_at, "
                  "application_id, candidate_id, outcome, message, payload, raw) VALUES "
                  "(?, NULL, NULL, ?, NULL, NULL, 'rejected', 'authentication failed', NULL, ?)",
                  (pid, received + 1000, soap_body(real_id, REAL_APP, FORGED_NAME).encode()))
    finally:
        w.close()
    for args in (["--outcome", "rejected"], ["--all"], ["--push-id", pid]):
        r = replay(s, *args)
        assert r.returncode == 0 and f"{pid}: skipped: refused" in r.stdout, (args, r.stdout)
    assert candidates(s) == stored


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return sh.Certs(tmp_path_factory.mktemp("certs"))


def test_client_certificate_refused_in_the_handshake_stores_nothing(tmp_path, certs):
    s = sh.SecServer(tmp_path / "mtls", client_ca=certs.ca_crt, crt=certs.a_crt,
                     key=certs.a_key)
    s.client_cert = (certs.client_crt, certs.client_key)
    s.start()
    try:
        body = soap_body(helpers.new_id("mtls"), NEW_APP, FORGED_NAME)
        for cert in (None, (certs.rogue_crt, certs.rogue_key)):
            conn = s.connection(cert=cert)
            with pytest.raises(OSError):
                conn.request("POST", "/pushCandidate", body, helpers.soap_headers())
                conn.getresponse().read()
            conn.close()
        assert s.rows("SELECT count(*) AS n FROM push_log")[0]["n"] == 0
        assert not s.rows("SELECT 1 FROM candidate")
    finally:
        s.stop()

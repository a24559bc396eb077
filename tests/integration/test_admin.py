"""The operator's admin listener (--admin-listen): every route of its JSON API, every filter and
error, its access policy (Basic, --admin-allow, the Host check, the CSRF token), its security
headers, /metrics leaving the public port, replay from the API and the access log, on SQLite and
PostgreSQL."""
import json
import urllib.parse

import pytest

import helpers
from admin_helpers import PASSWORD, USER, auth, csrf, get, get_json, post, start_admin
from conftest import Server, free_port, run_cli

# SQLite and PostgreSQL (ODBC has no reads for the admin listener)
both = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True, scope="module")

NAME = "张伟"


def push(server, push_id, app, **data):
    fields = helpers.minimal_data(app, **data)
    xml = helpers.minimal_push_xml(push_id, app, data_fields=fields)
    r, ret, _ = helpers.push(server, xml)
    assert r.status == 200, r
    return ret


def push_warned(server, push_id, app):
    """A push stored with a warning: its birthYear does not read as a number."""
    xml = helpers.minimal_push_xml(push_id, app).replace("<birthYear>1992</birthYear>",
                                                          "<birthYear>19x2</birthYear>")
    r, ret, _ = helpers.push(server, xml)
    assert r.status == 200 and ret == "true", r
    return ret


def push_bad(server, push_id, app, bad=True):
    """A push the server answers false: without its applicationId (or, bad=False, a valid one
    that a setting such as --max-age refuses)."""
    xml = helpers.minimal_push_xml(push_id, app, omit=("applicationId",) if bad else ())
    r, ret, _ = helpers.push(server, xml)
    assert r.status == 200 and ret == "false", r
    return ret


def ids(page):
    return [p["push_id"] for p in page["pushes"]]


def q(**params):
    return "/api/pushes?" + urllib.parse.urlencode(params)


@both
def test_push_list_filters_pages_and_errors(make_server, tmp_path):
    s, url = start_admin(make_server, tmp_path)
    push(s, "adm-a", 2001)
    push_bad(s, "adm-b", 2002)
    push(s, "adm-c", 2003, name=NAME)
    push(s, "adm-d", 2001)  # replaces adm-a's candidate

    everything = get_json(url, "/api/pushes")
    assert ids(everything) == ["adm-d", "adm-c", "adm-b", "adm-a"]  # newest first
    assert everything["next_cursor"] is None
    row = {p["push_id"]: p for p in everything["pushes"]}
    assert row["adm-b"]["outcome"] == "rejected"
    assert "applicationId" in row["adm-b"]["message"]
    assert row["adm-c"]["name"] == NAME and row["adm-c"]["application_id"] == 2003

    assert ids(get_json(url, q(outcome="rejected"))) == ["adm-b"]
    assert ids(get_json(url, q(outcome="stored"))) == ["adm-d", "adm-c", "adm-a"]
    assert ids(get_json(url, q(outcome="failed"))) == []
    assert ids(get_json(url, q(q="adm-c"))) == ["adm-c"]          # a push id, exactly
    assert ids(get_json(url, q(q="adm"))) == []                    # not a prefix of ids
    assert ids(get_json(url, q(q="2001"))) == ["adm-d", "adm-a"]  # an applicationId
    assert ids(get_json(url, q(q="张"))) == ["adm-c"]              # the start of a name
    assert ids(get_json(url, q(q="伟"))) == []                     # only the start
    assert ids(get_json(url, q(q="%"))) == []                      # LIKE's wildcards are text
    assert ids(get_json(url, q(application_id=2003))) == ["adm-c"]
    assert ids(get_json(url, q(outcome="stored", application_id=2001))) == ["adm-d", "adm-a"]
    assert ids(get_json(url, q(since="2999-01-01"))) == []
    assert ids(get_json(url, q(until="2000-01-01T00:00:00Z"))) == []
    first_ms = row["adm-a"]["received_at_ms"]
    assert "adm-a" in ids(get_json(url, q(since=first_ms, until=row["adm-d"]["received_at_ms"])))

    # keyset pages: every row once, in order, then no cursor
    seen, cursor = [], None
    for _ in range(10):
        page = get_json(url, q(limit=1, **({"cursor": cursor} if cursor else {})))
        seen += ids(page)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen[:4] == ["adm-d", "adm-c", "adm-b", "adm-a"] and len(seen) <= 5
    two = get_json(url, q(limit=2, outcome="stored"))
    assert ids(two) == ["adm-d", "adm-c"] and two["next_cursor"]
    assert ids(get_json(url, q(limit=2, outcome="stored", cursor=two["next_cursor"]))) == ["adm-a"]

    for bad in (q(cursor="nonsense"), q(cursor="12.zz"), q(cursor="12."), q(cursor="-1.41"),
                q(outcome="lost"), q(limit=0), q(limit=501), q(limit="ten"),
                q(application_id="x"), q(since="yesterday"), q(until="2024-13-01"),
                q(q="x" * 300)):
        r = get(url, bad)
        assert r.status == 400, (bad, r)
        assert json.loads(r.body)["error"], r


@both
def test_one_push_candidate_replacement_and_unknown_id(make_server, tmp_path):
    s, url = start_admin(make_server, tmp_path)
    push(s, "one-a", 3001, name=NAME)
    push(s, "one-b", 3001)
    a = get_json(url, "/api/pushes/one-a")
    assert a["push_id"] == "one-a" and a["outcome"] == "stored" and a["event"] == "pushCandidate"
    assert a["candidate"]["name"] == NAME  # as that push carried it, Chinese intact
    assert a["candidate"]["applicationId"] == "3001"
    assert a["replaced_by"] == "one-b"      # a later push holds the candidate now
    assert NAME in a["payload"] and a["payload"].startswith("<pushCandidate")
    assert a["attachments"] == []
    assert a["warnings"] == []
    b = get_json(url, "/api/pushes/one-b")
    assert b["replaced_by"] is None and b["candidate"]["name"] == helpers.PII[0]
    push_warned(s, "one-w", 3002)
    w = get_json(url, "/api/pushes/one-w")
    assert w["outcome"] == "stored"
    assert w["warnings"] == [{"field": "data.birthYear", "value": "19x2",
                              "reason": "malformed number"}], w["warnings"]
    r = get(url, "/api/pushes/no-such-push")
    assert r.status == 404 and json.loads(r.body)["error"] == "no such push"
    r = get(url, "/api/attachments/1")
    assert r.status == 404
    r = post(url, "/api/pushes/no-such-push/replay", csrf=csrf(url))
    assert r.status == 404, r


@both
def test_stats_by_outcome(make_server, tmp_path):
    s, url = start_admin(make_server, tmp_path)
    push(s, "st-a", 4001)
    push(s, "st-b", 4002)
    push_bad(s, "st-c", 4003)
    for window, n in (("24h", 24), ("7d", 28)):
        st = get_json(url, f"/api/stats?window={window}")
        assert st["window"] == window and len(st["buckets"]) == n
        assert sum(b["stored"] for b in st["buckets"]) == 2
        assert sum(b["rejected"] for b in st["buckets"]) == 1
        assert sum(b["failed"] for b in st["buckets"]) == 0
        assert st["buckets"][-1]["stored"] + st["buckets"][-2]["stored"] >= 1  # now is last
    assert get_json(url, "/api/stats")["window"] == "24h"
    assert get(url, "/api/stats?window=1y").status == 400


@both
def test_access_policy_and_security_headers(make_server, tmp_path):
    s, url = start_admin(make_server, tmp_path)
    push(s, "acc-a", 5001)
    r = get(url, "/api/pushes", creds=False)
    assert r.status == 401 and r.headers["www-authenticate"].startswith("Basic"), r
    r = get(url, "/api/pushes", creds=False, headers={"Authorization": auth(USER, "wrong")})
    assert r.status == 401 and b"acc-a" not in r.body
    r = get(url, "/api/pushes", creds=False, headers={"Authorization": auth("root", "s3cret pass")})
    assert r.status == 401
    r = get(url, "/", headers={"Host": "attacker.example"})  # DNS rebinding
    assert r.status == 403, r
    r = get(url, "/api/pushes/acc-a", headers={"Host": f"attacker.example:{url.rsplit(':', 1)[1]}"})
    assert r.status == 403 and b"acc-a" not in r.body
    assert get(url, "/", headers={"Host": "localhost"}).status == 200
    token = csrf(url)
    assert len(token) == 64
    assert post(url, "/api/pushes/acc-a/replay").status == 403                 # no token
    assert post(url, "/api/pushes/acc-a/replay", csrf="0" * 64).status == 403  # wrong token
    assert post(url, "/api/pushes/acc-a/replay", csrf=token).status == 200
    for path in ("/", "/app.js", "/app.css", "/api/pushes", "/api/pushes/acc-a", "/nothing"):
        r = get(url, path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-content-type-options"] == "nosniff"
    page = get(url, "/")
    assert page.content_type.startswith("text/html")
    html = page.text
    assert "<script src=\"app.js\"" in html and "http" not in html.split("<body>")[0].replace(
        'name="viewport"', "")  # nothing loaded from elsewhere
    assert "<script>" not in html and " style=" not in html and "onclick" not in html
    assert get(url, "/app.js").content_type.startswith("text/javascript")
    assert get(url, "/api/pushes", headers={}).status == 200
    assert helpers.http(url, "DELETE", "/api/pushes/acc-a",
                        headers={"Authorization": auth()}).status in (403, 405)
    # no route takes a body: one is refused on the headers, unread
    r = helpers.http(url, "POST", "/api/pushes/acc-a/replay", body=b"x" * 1000,
                     headers={"Authorization": auth(), "X-CSRF-Token": token})
    assert r.status == 413, r


@both
def test_admin_allow_refuses_other_sources(make_server, tmp_path):
    s, url = start_admin(make_server, tmp_path, extra=["--admin-allow", "10.0.0.0/8"])
    r = get(url, "/api/pushes")
    assert r.status == 403, r
    r = get(url, "/")
    assert r.status == 403
    assert "source address not allowed" in s.log()
    s2, url2 = start_admin(make_server, tmp_path, extra=["--admin-allow", "127.0.0.0/8, ::1"])
    assert get(url2, "/api/pushes").status == 200


@both
def test_metrics_move_to_the_admin_listener(make_server, tmp_path):
    s, url = start_admin(make_server, tmp_path)
    assert helpers.http(s.base_url, "GET", "/metrics").status == 404
    assert helpers.http(s.base_url, "GET", "/healthz").status == 200  # the container's check
    assert helpers.http(s.base_url, "GET", "/readyz").status == 200
    m = get(url, "/metrics")
    assert m.status == 200 and b"ehrbridge_pushes_total" in m.body
    assert get(url, "/healthz").status == 200 and get(url, "/readyz").status == 200
    assert get(url, "/metrics", creds=False).status == 401
    plain = make_server()  # without --admin-listen, /metrics stays where it was
    assert helpers.http(plain.base_url, "GET", "/metrics").status == 200


@both
def test_replay_from_the_api_uses_the_replay_rules(backend, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)

    def start(workdir, db_url, extra=()):
        port = free_port()
        srv = Server(workdir, backend=backend)
        srv.args = ["serve", "--listen", f"127.0.0.1:{srv.port}", "--db", db_url or srv.db_url,
                    "--admin-listen", f"127.0.0.1:{port}", "--admin-user", USER,
                    "--admin-password-file", str(pw), *extra]
        return srv.start(), f"http://127.0.0.1:{port}"

    # a push refused by --max-age (its triggeredAt is from 2017) ...
    s, url = start(tmp_path / "r1", None, ["--max-age", "60"])
    db_url = s.args[s.args.index("--db") + 1]
    try:
        push_bad(s, "rp-old", 6001, bad=False)
        push_bad(s, "rp-new", 6002, bad=False)
        assert get_json(url, "/api/pushes/rp-old")["outcome"] == "rejected"
    finally:
        assert s.stop() == 0
    # ... that the setting changed now accepts: replay stores it, as `ehrbridge replay` would
    s3, url3 = start(tmp_path / "r2", db_url)
    try:
        token = csrf(url3)
        r = post(url3, "/api/pushes/rp-old/replay", csrf=token)
        assert r.status == 200, r
        body = json.loads(r.body)
        assert body["outcome"] == "stored" and body["previous_outcome"] == "rejected", body
        assert get_json(url3, "/api/pushes/rp-old")["outcome"] == "stored"
        assert ids(get_json(url3, q(outcome="rejected"))) == ["rp-new"]
        again = json.loads(post(url3, "/api/pushes/rp-old/replay", csrf=token).body)
        assert again["outcome"] == "stored"  # idempotent
        cli = run_cli("replay", "--push-id", "rp-new", "--db", db_url)
        assert cli.returncode == 0 and "rp-new: stored" in cli.stdout, cli
        assert get_json(url3, "/api/pushes/rp-new")["outcome"] == "stored"
    finally:
        assert s3.stop() == 0


@both
def test_access_log_names_push_ids_never_contents_or_queries(make_server, tmp_path):
    s, url = start_admin(make_server, tmp_path)
    push(s, "log-a", 7001, name=NAME)
    get_json(url, q(q=NAME))
    get_json(url, "/api/pushes/log-a")
    get(url, "/api/pushes", creds=False)
    log = s.log()
    access = [l for l in log.splitlines() if "admin access" in l]
    assert any("push_id=log-a" in l and f"user={USER}" in l and "status=200" in l
               for l in access), access
    assert any("path=/api/pushes " in l for l in access), access
    assert "admin request refused" in log
    for secret in (NAME, urllib.parse.quote(NAME), "q=", *helpers.PII):
        assert secret not in log, secret


def test_admin_settings_are_checked(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("x")
    r = run_cli("check", "--db", f"sqlite:{tmp_path}/c.db", "--admin-listen", "0.0.0.0:9999")
    assert r.returncode != 0 and "--admin-user" in r.stderr, r
    r = run_cli("check", "--db", f"sqlite:{tmp_path}/c.db", "--admin-listen", "127.0.0.1:9999",
                "--admin-user", "ops")
    assert r.returncode != 0 and "--admin-password-file" in r.stderr, r
    r = run_cli("check", "--db", f"sqlite:{tmp_path}/c.db", "--admin-allow", "not-a-cidr")
    assert r.returncode != 0 and "--admin-allow" in r.stderr, r
    r = run_cli("check", "--db", f"sqlite:{tmp_path}/c.db", "--admin-listen", "0.0.0.0:9999",
                "--admin-user", "ops", "--admin-password-file", str(pw))
    assert r.returncode == 0, r


def test_admin_listener_over_tls_asks_no_client_certificate(tmp_path):
    """With --tls-cert/--tls-key the admin listener speaks HTTPS too; --tls-client-ca binds the
    vendor's port only: operators show no client certificate."""
    import http.client as httpclient
    import ssl

    import sec_helpers as sh
    certs = sh.Certs(tmp_path / "certs")
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)
    port = free_port()
    s = sh.SecServer(tmp_path / "s", ["--admin-listen", f"127.0.0.1:{port}", "--admin-user", USER,
                                      "--admin-password-file", str(pw)],
                     crt=certs.a_crt, key=certs.a_key, client_ca=certs.ca_crt)
    s.client_cert = (certs.client_crt, certs.client_key)
    s.start()
    try:
        def admin(path, headers):
            ctx = ssl.create_default_context(cafile=str(certs.a_crt))
            conn = httpclient.HTTPSConnection("127.0.0.1", port, timeout=30, context=ctx)
            try:
                conn.request("GET", path, headers=headers)
                r = conn.getresponse()
                return r.status, r.read()
            finally:
                conn.close()
        status, body = admin("/api/pushes", {"Authorization": auth()})
        assert status == 200 and json.loads(body)["pushes"] == []
        assert admin("/api/pushes", {})[0] == 401
        with pytest.raises((ssl.SSLError, OSError)):  # plain HTTP is not spoken there
            helpers.http(f"http://127.0.0.1:{port}", "GET", "/healthz", timeout=5)
        with pytest.raises((ssl.SSLError, OSError)):  # the vendor's port still wants its cert
            r = s.request("GET", "/healthz", cert=None)
            assert r.status != 200
    finally:
        s.stop()


@pytest.mark.parametrize("backend", ["odbc-sqlite"], indirect=True, scope="module")
def test_odbc_has_no_reads_and_says_so(make_server, tmp_path):
    """ODBC reaches databases whose SQL differs too much for one query text (paging, row values):
    the push log cannot be browsed there; the API says so and the rest keeps working."""
    s, url = start_admin(make_server, tmp_path)
    push(s, "odbc-a", 9001)
    for path in ("/api/pushes", "/api/pushes/odbc-a", "/api/stats"):
        r = get(url, path)
        assert r.status == 501 and "cannot read the push log" in json.loads(r.body)["error"], r
    assert get(url, "/").status == 200 and get(url, "/metrics").status == 200


def age_pushes(server, days, *push_ids):
    """Moves the received_at of push_ids back by days (as if they had come that long ago)."""
    import sqlite3
    ms = days * 24 * 3600 * 1000
    for pid in push_ids:
        sql = "UPDATE push_log SET received_at = received_at - ? WHERE push_id = ?"
        if isinstance(server.db_path, helpers.PgDatabase):
            conn = helpers.db_connect(server.db_path)
            conn.execute(sql, (ms, pid))
            conn.close()
        else:
            with sqlite3.connect(server.db_path, timeout=10) as conn:
                conn.execute(sql, (ms, pid))


@both
def test_retention_purges_old_payloads_and_keeps_the_outcome_row(backend, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)

    def start(workdir, db_url, extra=()):
        port = free_port()
        srv = Server(workdir, backend=backend)
        srv.args = ["serve", "--listen", f"127.0.0.1:{srv.port}", "--db", db_url or srv.db_url,
                    "--admin-listen", f"127.0.0.1:{port}", "--admin-user", USER,
                    "--admin-password-file", str(pw), *extra]
        return srv.start(), f"http://127.0.0.1:{port}"

    s, url = start(tmp_path / "k1", None)
    db_url = s.args[s.args.index("--db") + 1]
    try:
        push(s, "ret-old", 9101, name=NAME)
        push_bad(s, "ret-old-bad", 9102)
        push(s, "ret-new", 9103)
        push_warned(s, "ret-old-warned", 9104)
        push_warned(s, "ret-new-warned", 9105)
    finally:
        assert s.stop() == 0
    age_pushes(s, 40, "ret-old", "ret-old-bad", "ret-old-warned")
    # after a restart with --retention 30, the thread's first round purges them
    s2, url2 = start(tmp_path / "k2", db_url, ["--retention", "30"])
    try:
        import time
        deadline = time.monotonic() + 15
        while get_json(url2, "/api/pushes/ret-old")["payload"] is not None:
            assert time.monotonic() < deadline, s2.log()
            time.sleep(0.05)
        while not get_json(url2, "/api/pushes/ret-old-bad")["payload_purged"]:
            assert time.monotonic() < deadline, s2.log()
            time.sleep(0.05)
        old = get_json(url2, "/api/pushes/ret-old")
        assert old["payload_purged"] and old["candidate"] is None and old["raw"] is None
        assert old["outcome"] == "stored" and old["application_id"] == 9101  # the row stays
        bad = get_json(url2, "/api/pushes/ret-old-bad")
        assert bad["outcome"] == "rejected" and "applicationId" in bad["message"]
        new = get_json(url2, "/api/pushes/ret-new")
        assert not new["payload_purged"] and new["candidate"]["applicationId"] == "9103"
        while not get_json(url2, "/api/pushes/ret-old-warned")["payload_purged"]:
            assert time.monotonic() < deadline, s2.log()
            time.sleep(0.05)
        assert get_json(url2, "/api/pushes/ret-old-warned")["warnings"] == [
            {"field": "data.birthYear", "value": None, "reason": "malformed number"}]
        assert get_json(url2, "/api/pushes/ret-new-warned")["warnings"][0]["value"] == "19x2"
        assert "retention: payloads purged" in s2.log() and "pushes=3" in s2.log()
        r = json.loads(post(url2, "/api/pushes/ret-old/replay", csrf=csrf(url2)).body)
        assert r["skipped"] and "purged" in r["result"] and r["outcome"] == "stored", r
        cli = run_cli("replay", "--push-id", "ret-old-bad", "--db", db_url)
        assert "purged" in cli.stdout, cli
    finally:
        assert s2.stop() == 0


@pytest.mark.parametrize("backend", ["odbc-sqlite"], indirect=True, scope="module")
def test_retention_on_odbc(backend, tmp_path):
    """ODBC purges in one statement (no bounded batch there); the outcome row stays."""
    import sqlite3
    import time
    s = Server(tmp_path / "o1", backend=backend)
    s.start()
    try:
        push(s, "odbc-old", 9201)
        push(s, "odbc-new", 9202)
    finally:
        assert s.stop() == 0
    age_pushes(s, 40, "odbc-old")
    s2 = Server(tmp_path / "o2", backend=backend)
    s2.args = ["serve", "--listen", f"127.0.0.1:{s2.port}", "--db", s.db_url, "--retention", "30"]
    s2.start()
    try:
        deadline = time.monotonic() + 15
        while True:
            with sqlite3.connect(s.db_path, timeout=10) as conn:
                got = dict(conn.execute("SELECT push_id, payload IS NULL AND raw IS NULL"
                                        " FROM push_log").fetchall())
            if got["odbc-old"]:
                break
            assert time.monotonic() < deadline, s2.log()
            time.sleep(0.05)
        assert got == {"odbc-old": 1, "odbc-new": 0}
        with sqlite3.connect(s.db_path, timeout=10) as conn:
            assert conn.execute("SELECT outcome, application_id FROM push_log WHERE push_id ="
                                " 'odbc-old'").fetchone() == ("stored", 9201)
    finally:
        assert s2.stop() == 0


# ---------------------------------------------------------------------------------------------
# The archived documents of a push: listed by GET /api/pushes/{id}, served by
# GET /api/attachments/{id}, purged by --retention (the links on a local HTTPS server with its
# own CA, as in test_archive.py)

def att_sql(server, sql, *args):
    """Runs a write on the server's database (SQLite's file, or PostgreSQL)."""
    import sqlite3
    if isinstance(server.db_path, helpers.PgDatabase):
        conn = helpers.db_connect(server.db_path)
        conn.execute(sql, args)
        conn.close()
    else:
        with sqlite3.connect(server.db_path, timeout=10) as conn:
            conn.execute(sql, args)


def att_count(server, sql, *args):
    conn = server.db()
    try:
        return list(helpers.rows(conn, sql, *args)[0].values())[0]
    finally:
        conn.close()


def push_with_links(server, files, push_id, app):
    from test_archive import minimal, post as post_json
    post_json(server, minimal(push_id, app,
                              resumeUrl=files.url(f"/files/resume-{app}.doc"),
                              portraitUrl=files.url(f"/files/portrait-{app}.jpg", query=""),
                              interviewFeedbackUrl=files.url(f"/files/feedback-{app}.pdf", host="127.0.0.1")))


def wait_settled(url, push_id, n, server):
    import time
    deadline = time.monotonic() + 60
    while True:
        att = get_json(url, f"/api/pushes/{push_id}")["attachments"]
        if len(att) == n and all(a["status"] != "pending" for a in att):
            return att
        assert time.monotonic() < deadline, (att, server.log()[-3000:])
        time.sleep(0.2)


@pytest.fixture(scope="module")
def att_certs(tmp_path_factory):
    from test_archive import make_certs
    return make_certs(tmp_path_factory.mktemp("admin-att-certs"))


@pytest.fixture
def att_files(att_certs):
    from test_archive import FileServer
    s = FileServer(att_certs)
    yield s
    s.close()


def archive_on(files, certs, *extra):
    return ["--attachments", "db", "--fetch-allow", f"https://localhost:{files.port}",
            "--fetch-ca", str(certs[0]), *extra]


@both
def test_attachments_listed_and_downloaded(make_server, tmp_path, att_files, att_certs):
    import hashlib
    from test_archive import content
    s, url = start_admin(make_server, tmp_path, archive_on(att_files, att_certs))
    push_with_links(s, att_files, "adm-att-1", 4401)
    push(s, "adm-att-none", 4402)
    att = wait_settled(url, "adm-att-1", 3, s)
    by_field = {a["field"]: a for a in att}
    resume, portrait = by_field["data.resumeUrl"], by_field["data.portraitUrl"]
    failed = by_field["data.interviewFeedbackUrl"]
    body = content("resume-4401.doc")  # 600,000 bytes: three chunks of the database
    assert resume["status"] == "stored" and resume["size"] == len(body) and not resume["purged"]
    assert resume["sha256"] == hashlib.sha256(body).hexdigest()
    assert resume["file_name"] == "cv-resume.doc" and resume["content_type"] == "application/pdf"
    assert resume["url"] == f"https://localhost:{att_files.port}/files/resume-4401.doc"
    assert resume["download"] == f"/api/attachments/{resume['id']}" and resume["attempts"] == 1
    assert portrait["file_name"] == "portrait-4401.jpg" and portrait["status"] == "stored"
    assert failed["status"] == "refused" and failed["download"] is None and failed["error"]
    assert failed["sha256"] is None and failed["size"] is None
    assert get_json(url, "/api/pushes/adm-att-none")["attachments"] == []
    # the download: the bytes, their SHA-256, the type, the name, the download's own headers
    r = get(url, resume["download"])
    assert r.status == 200, r
    assert r.body == body and hashlib.sha256(r.body).hexdigest() == resume["sha256"]
    assert r.content_type == "application/pdf"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"cv-resume.doc\"; filename*=UTF-8''cv-resume.doc")
    assert r.headers["content-security-policy"].startswith("sandbox")
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
    r = get(url, portrait["download"])
    assert r.status == 200 and r.body == content("portrait-4401.jpg")
    # a name in Chinese: an ASCII filename and the UTF-8 one percent-encoded (RFC 6266, 8187)
    att_sql(s, "UPDATE attachment SET file_name = ? WHERE id = ?", "简历 \"v2\".pdf", portrait["id"])
    r = get(url, portrait["download"])
    assert r.status == 200, r
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"__ _v2_.pdf\"; "
        "filename*=UTF-8''%E7%AE%80%E5%8E%86%20%22v2%22.pdf")
    # the type as served, its parameters dropped; a malformed one goes as octet-stream
    att_sql(s, "UPDATE attachment SET content_type = ? WHERE id = ?", "Image/JPEG; q=1",
            portrait["id"])
    assert get(url, portrait["download"]).content_type == "image/jpeg"
    att_sql(s, "UPDATE attachment SET content_type = ? WHERE id = ?", "text/html\r\nX-Evil: 1",
            portrait["id"])
    r = get(url, portrait["download"])
    assert r.content_type == "application/octet-stream" and "x-evil" not in r.headers, r
    # unknown, not stored, malformed ids: 404; the access log names the id, never the content
    for path in (f"/api/attachments/{failed['id']}", "/api/attachments/999999",
                 "/api/attachments/abc", "/api/attachments/-1", "/api/attachments/"):
        r = get(url, path)
        assert r.status == 404, (path, r)
        assert r.content_type.startswith("application/json")
    assert get(url, resume["download"], creds=False).status == 401
    log = s.log()
    assert f"attachment_id={resume['id']}" in log and "path=/api/attachments/{id}" in log
    assert "SECRET-SIG" not in log and "Signature=" not in log
    assert body[:64].hex() not in log


@both
def test_retention_purges_archived_documents_and_keeps_the_rows(backend, tmp_path, att_files,
                                                                 att_certs):
    import hashlib
    import time
    from test_archive import content
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)

    def start(workdir, db_url, extra=()):
        port = free_port()
        srv = Server(workdir, backend=backend)
        srv.args = ["serve", "--listen", f"127.0.0.1:{srv.port}", "--db", db_url or srv.db_url,
                    "--admin-listen", f"127.0.0.1:{port}", "--admin-user", USER,
                    "--admin-password-file", str(pw), *archive_on(att_files, att_certs), *extra]
        return srv.start(), f"http://127.0.0.1:{port}"

    s, url = start(tmp_path / "r1", None)
    db_url = s.args[s.args.index("--db") + 1]
    try:
        push_with_links(s, att_files, "ret-att-old", 4501)
        push_with_links(s, att_files, "ret-att-new", 4502)
        old = {a["field"]: a for a in wait_settled(url, "ret-att-old", 3, s)}
        wait_settled(url, "ret-att-new", 3, s)
    finally:
        assert s.stop() == 0
    resume = old["data.resumeUrl"]
    assert att_count(s, "SELECT count(*) FROM attachment_chunk WHERE attachment_id = ?",
                     resume["id"]) == 3
    age_pushes(s, 40, "ret-att-old")
    att_sql(s, "UPDATE attachment SET created_at = created_at - ? WHERE push_id = ?",
            40 * 24 * 3600 * 1000, "ret-att-old")
    s2, url2 = start(tmp_path / "r2", db_url, ["--retention", "30"])
    try:
        deadline = time.monotonic() + 30
        while not get_json(url2, "/api/pushes/ret-att-old")["payload_purged"] or \
                not all(a["purged"] for a in get_json(url2, "/api/pushes/ret-att-old")["attachments"]
                        if a["status"] == "stored"):
            assert time.monotonic() < deadline, s2.log()
            time.sleep(0.1)
        after = {a["field"]: a for a in get_json(url2, "/api/pushes/ret-att-old")["attachments"]}
        r = after["data.resumeUrl"]
        # the row stays: status, size and SHA-256; the content goes
        assert r["status"] == "stored" and r["purged"] and r["download"] is None
        assert r["sha256"] == hashlib.sha256(content("resume-4501.doc")).hexdigest()
        assert not after["data.interviewFeedbackUrl"]["purged"]  # nothing was stored
        assert att_count(s, "SELECT count(*) FROM attachment_chunk WHERE attachment_id = ?",
                         r["id"]) == 0
        g = get(url2, f"/api/attachments/{r['id']}")
        assert g.status == 404 and "purged" in json.loads(g.body)["error"], g
        # the newer push keeps its documents
        new = {a["field"]: a for a in get_json(url2, "/api/pushes/ret-att-new")["attachments"]}
        n = new["data.resumeUrl"]
        assert not n["purged"] and get(url2, n["download"]).body == content("resume-4502.doc")
        assert "retention: documents purged" in s2.log() and "attachments=2" in s2.log()
        out = run_cli("attachments", "--db", db_url, *archive_on(att_files, att_certs))
        assert out.returncode == 0, out.stderr
        line = next(l for l in out.stdout.splitlines() if l.startswith(f"{r['id']}\t"))
        assert line.split("\t")[1] == "stored" and line.split("\t")[-1] == "purged"
        got = run_cli("attachments", "get", str(r["id"]), "-o", str(tmp_path / "x"), "--db", db_url)
        assert got.returncode == 1 and "purged" in got.stderr
    finally:
        assert s2.stop() == 0


@both
def test_retention_removes_a_file_of_the_directory_store_once_no_row_refers_to_it(
        backend, tmp_path, att_files, att_certs):
    """--attachments dir:PATH: the old push's two documents are purged; the file that only it
    held goes, the one a newer push's row holds too (same content, same SHA-256) stays and is
    still served for that row."""
    import hashlib
    import time
    from test_archive import content, minimal, post as post_json
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)
    store = tmp_path / "store"

    def start(workdir, db_url, extra=()):
        port = free_port()
        srv = Server(workdir, backend=backend)
        srv.args = ["serve", "--listen", f"127.0.0.1:{srv.port}", "--db", db_url or srv.db_url,
                    "--admin-listen", f"127.0.0.1:{port}", "--admin-user", USER,
                    "--admin-password-file", str(pw), *archive_on(att_files, att_certs),
                    "--attachments", f"dir:{store}", *extra]
        return srv.start(), f"http://127.0.0.1:{port}"

    s, url = start(tmp_path / "d1", None)
    db_url = s.args[s.args.index("--db") + 1]
    try:
        post_json(s, minimal("dir-old", 4601, resumeUrl=att_files.url("/files/resume-4601.doc"),
                             portraitUrl=att_files.url("/files/shared.jpg")))
        post_json(s, minimal("dir-new", 4602, portraitUrl=att_files.url("/files/shared.jpg")))
        old = {a["field"]: a for a in wait_settled(url, "dir-old", 2, s)}
        new = wait_settled(url, "dir-new", 1, s)[0]
    finally:
        assert s.stop() == 0
    only = hashlib.sha256(content("resume-4601.doc")).hexdigest()
    shared = hashlib.sha256(content("shared.jpg")).hexdigest()
    assert old["data.resumeUrl"]["sha256"] == only and new["sha256"] == shared
    assert (store / only).exists() and (store / shared).exists()
    age_pushes(s, 40, "dir-old")
    att_sql(s, "UPDATE attachment SET created_at = created_at - ? WHERE push_id = ?",
            40 * 24 * 3600 * 1000, "dir-old")
    s2, url2 = start(tmp_path / "d2", db_url, ["--retention", "30"])
    try:
        deadline = time.monotonic() + 30
        # the files go after the batch's commit; the round's log line comes after them
        while "retention: documents purged" not in s2.log():
            assert time.monotonic() < deadline, s2.log()
            time.sleep(0.1)
        assert all(a["purged"] for a in get_json(url2, "/api/pushes/dir-old")["attachments"])
        assert not (store / only).exists(), s2.log()  # no other row held it
        assert (store / shared).exists()    # dir-new's row still does
        for a in get_json(url2, "/api/pushes/dir-old")["attachments"]:
            assert a["status"] == "stored" and a["sha256"] and a["download"] is None
            assert get(url2, f"/api/attachments/{a['id']}").status == 404
        n = get_json(url2, "/api/pushes/dir-new")["attachments"][0]
        assert not n["purged"]
        r = get(url2, n["download"])
        assert r.status == 200 and hashlib.sha256(r.body).hexdigest() == shared
        assert "files_removed=1" in s2.log(), s2.log()
    finally:
        assert s2.stop() == 0

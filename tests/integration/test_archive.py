"""The archive of the record's download links, against a local HTTPS file server that the tests
start with a CA of their own (python's http.server + ssl, certificates made with openssl here):
the vendor sample's links rewritten to it (--fetch-allow naming it literally, --fetch-ca its CA)
are all stored with the right SHA-256, in the database or a directory; an expired link (403), a
slow server, an oversize file, a redirect to a host that is not allowed and a link to a loopback
port that the allow list does not name (that server sees no request) are recorded as such;
kill -9 during a download leaves no file and the fetch resumes after a restart; `replay` queues
again what is not stored; two replicas on one PostgreSQL fetch each link exactly once (the
server counts the requests)."""
import hashlib
import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

import helpers
from conftest import Server, clean_env, ehrbridge_bin, free_port, pg_database, run_cli

WAIT = 60.0  # longest wait for a fetch to reach its final state


# ---------------------------------------------------------------------------------------------
# The file server

def make_certs(d):
    """A CA and a server certificate it signed for localhost and 127.0.0.1."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = d / "ca.key", d / "ca.crt"
    key, csr, crt, ext = d / "srv.key", d / "srv.csr", d / "srv.crt", d / "ext.cnf"

    def ok(args):
        r = subprocess.run([str(a) for a in args], capture_output=True)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
    ok(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-sha256", "-days", "2", "-nodes", "-keyout", ca_key, "-out", ca_crt, "-subj",
        "/CN=archive-test-ca", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
        "keyUsage=critical,keyCertSign,cRLSign"])
    ok(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=localhost"])
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ok(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
        "-CAcreateserial", "-days", "2", "-sha256", "-extfile", ext, "-out", crt])
    return ca_crt, crt, key


def content(name):
    """The bytes served for a file name: deterministic, some spanning several 256 KiB chunks."""
    seed = hashlib.sha256(name.encode()).digest()
    n = 600_000 if name.startswith("resume") else 1000 + seed[0] * 10
    return (seed * (n // len(seed) + 1))[:n]


class FileServer:
    """HTTPS on 127.0.0.1:port. Paths: /files/NAME (200, content(NAME)), /expired/NAME (403),
    /slow/NAME (a trickle), /big/NAME (2 MB without Content-Length), /redirect/NAME (302 to
    self.redirect_to), /drip/NAME (content(NAME) slowly while self.drip is set). Every request
    path is counted."""

    def __init__(self, certs):
        self.port = free_port()
        self.requests = []
        self.lock = threading.Lock()
        self.drip = threading.Event()
        self.drip_started = threading.Event()
        self.redirect_to = None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                with outer.lock:
                    outer.requests.append(path)
                kind, _, name = path.strip("/").partition("/")
                try:
                    getattr(self, "serve_" + kind, self.serve_missing)(name)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                    pass

            def head(self, status, length=None, ctype="application/octet-stream", extra=None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if length is not None:
                    self.send_header("Content-Length", str(length))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()

            def serve_missing(self, name):
                self.head(404, 0)

            def serve_files(self, name):
                body = content(name)
                extra = {"Content-Disposition": 'attachment; filename="cv-resume.doc"'} \
                    if name.startswith("resume") else None
                self.head(200, len(body), "application/pdf", extra)
                self.wfile.write(body)

            def serve_expired(self, name):
                body = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
                self.head(403, len(body), "application/xml")
                self.wfile.write(body)

            def serve_slow(self, name):
                self.head(200, 1_000_000)
                for _ in range(600):
                    self.wfile.write(b"x" * 100)
                    self.wfile.flush()
                    time.sleep(0.5)

            def serve_big(self, name):
                self.close_connection = True
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for _ in range(32):
                    self.wfile.write(b"y" * 65536)

            def serve_redirect(self, name):
                self.head(302, 0, extra={"Location": outer.redirect_to})

            def serve_drip(self, name):
                body = content("resume-" + name)
                self.head(200, len(body))
                step = 16384
                for i in range(0, len(body), step):
                    self.wfile.write(body[i:i + step])
                    self.wfile.flush()
                    if outer.drip.is_set():
                        outer.drip_started.set()
                        time.sleep(0.3)

        ca, crt, key = certs
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path, host="localhost", query=None):
        q = query if query is not None else \
            f"OSSAccessKeyId=AKID&Expires={int(time.time()) + 3600}&Signature=SECRET-SIG%3D"
        return f"https://{host}:{self.port}{path}" + (f"?{q}" if q else "")

    def count(self, path=None):
        with self.lock:
            return len(self.requests) if path is None else self.requests.count(path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("archive-certs"))


@pytest.fixture
def make_server(tmp_path):
    """Servers of one test on SQLite (the ODBC adapter keeps no attachment queue, and the
    PostgreSQL queue has its own test below); each must exit 0 on SIGTERM with only its own
    log lines."""
    made = []

    def make(args_extra=(), env=None):
        s = Server(tmp_path / f"s{len(made)}", backend="sqlite", env=env)
        s.args = on(s.args) + list(args_extra)
        made.append(s.start())
        return s
    yield make
    for s in made:
        alive = s.alive()
        rc = s.stop()
        assert alive and rc == 0, s.log()[-3000:]
        stray = [l for l in s.log_lines() if not helpers.LOG_LINE.match(l)]
        assert not stray, stray[:5]


@pytest.fixture
def files(certs):
    s = FileServer(certs)
    yield s
    s.close()


# ---------------------------------------------------------------------------------------------
# Pushes and reads

def vendor_with_links(fs, push_id, application_id):
    """The vendor's REST example with every download link on the file server."""
    v = helpers.load_vendor_sample()
    v["id"] = push_id
    d = v["data"]
    d["applicationId"] = application_id
    d["resumeUrl"] = fs.url(f"/files/resume-{application_id}.doc")
    d["portraitUrl"] = fs.url(f"/files/portrait-{application_id}.jpg", query="")
    d["interviewFeedbackUrl"] = fs.url(f"/files/feedback-{application_id}.pdf")
    d["extendedInterviewerFeedbackUrl"] = ""
    d["attachments"][0]["url"] = fs.url(f"/files/att-{application_id}.pdf")
    d["offerAttachment"] = {"url": fs.url(f"/files/offer-{application_id}.pdf")}
    d["examAttachments"][0]["url"] = fs.url(f"/files/exam-{application_id}.pdf")
    d["customAttachmentList"] = {"customUpload77": [{
        "attachmentName": "学历证明.pdf", "attachmentSize": 1, "CandidateId": 1, "customId": 77,
        "downloadUrl": fs.url(f"/files/custom-{application_id}.pdf"), "createdAt": 1}]}
    if isinstance(d.get("offer"), dict):
        d["offer"]["attachmentList"] = [{"name": "offer.pdf", "size": 1, "attachmentType": 2,
                                         "downloadUrl": fs.url(f"/files/offerlist-{application_id}.pdf")}]
        d["offer"]["offerAttachmentDownloadUrl"] = fs.url(f"/files/offergen-{application_id}.pdf")
    return v


EXPECTED_FIELDS = {
    "data.resumeUrl": "resume", "data.portraitUrl": "portrait",
    "data.interviewFeedbackUrl": "feedback", "data.attachments[0].url": "att",
    "data.offerAttachment.url": "offer", "data.examAttachments[0].url": "exam",
    "data.customAttachmentList.customUpload77[0].downloadUrl": "custom",
    "data.offer.attachmentList[0].downloadUrl": "offerlist",
    "data.offer.offerAttachmentDownloadUrl": "offergen",
}


def post(server, body):
    r = helpers.http(server.base_url, "POST", "/moka", json.dumps(body).encode(),
                     {"Content-Type": "application/json"})
    assert 200 <= r.status < 300, (r.status, r.text())
    return r


def minimal(push_id, application_id, **links):
    return {"id": push_id, "event": "pushCandidate", "triggeredAt": int(time.time() * 1000),
            "data": {"applicationId": application_id, "candidateId": application_id, **links}}


def att_rows(server, where="1=1"):
    conn = server.db()
    try:
        return helpers.rows(conn, f"SELECT * FROM attachment WHERE {where} ORDER BY id")
    finally:
        conn.close()


def wait_rows(server, pred, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    rows = []
    while time.monotonic() < deadline:
        rows = att_rows(server)
        if rows and pred(rows):
            return rows
        time.sleep(0.2)
    raise AssertionError(f"{what}: not reached in {timeout}s; rows: {rows}\nlog:\n{server.log()[-3000:]}")


def settled(rows):
    return all(r["status"] != "pending" for r in rows)


def on(args):
    """A Server's default command line with the archive on (conftest turns it off)."""
    return [a for a in args if a != "--attachments" and a != "off"]


def archive_args(fs, certs, *extra, allow=None):
    return ["--fetch-allow", allow or f"https://localhost:{fs.port}", "--fetch-ca", str(certs[0]),
            *extra]


def cli(server, *args):
    return run_cli(*args, "--db", server.db_url)


# ---------------------------------------------------------------------------------------------
# Tests

def test_vendor_links_stored_in_db(tmp_path, files, certs, make_server):
    """Every documented link of the vendor sample is fetched after the answer and stored in the
    database with the SHA-256 of what the server sent; the CLI lists them and writes them out;
    no log line shows a link's query (its signature)."""
    s = make_server(archive_args(files, certs))
    post(s, vendor_with_links(files, "arch-db-1", 910001))
    rows = wait_rows(s, lambda rs: len(rs) == len(EXPECTED_FIELDS) and settled(rs), "all stored")
    assert {r["field"] for r in rows} == set(EXPECTED_FIELDS)
    for r in rows:
        assert r["status"] == "stored", r
        name = EXPECTED_FIELDS[r["field"]]
        ext = {"resume": "doc", "portrait": "jpg"}.get(name, "pdf")
        body = content(f"{name}-910001.{ext}")
        assert r["sha256"] == hashlib.sha256(body).hexdigest(), r["field"]
        assert r["size"] == len(body) and r["attempts"] == 1 and r["push_id"] == "arch-db-1"
        assert r["application_id"] == 910001 and r["content_type"] == "application/pdf"
    resume = next(r for r in rows if r["field"] == "data.resumeUrl")
    assert resume["file_name"] == "cv-resume.doc"
    # the CLI: list, filter, and write one out (several chunks for the resume)
    out = cli(s, "attachments", "--status", "stored", "--application-id", "910001")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 1 + len(EXPECTED_FIELDS) and "SECRET-SIG" not in out.stdout
    got = tmp_path / "resume.out"
    r = cli(s, "attachments", "get", str(resume["id"]), "-o", str(got))
    assert r.returncode == 0, r.stderr
    assert got.read_bytes() == content("resume-910001.doc")
    assert cli(s, "attachments", "--status", "pending").stdout.count("\n") == 1
    # metrics: counts by status, queue depth
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = helpers.http(s.base_url, "GET", "/metrics").text
        if f'ehrbridge_attachments{{status="stored"}} {len(EXPECTED_FIELDS)}' in m:
            break
        time.sleep(0.3)
    assert f'ehrbridge_attachments{{status="stored"}} {len(EXPECTED_FIELDS)}' in m
    assert "ehrbridge_attachment_queue_depth 0" in m
    assert "ehrbridge_attachment_oldest_pending_seconds 0" in m
    assert "SECRET-SIG" not in s.log() and "Signature=" not in s.log()
    assert files.count() == len(EXPECTED_FIELDS)


# a proxy that is not there, for every scheme and without exceptions: a fetch that took it
# from the environment would fail
DEAD_PROXY_ENV = {k: "http://127.0.0.1:9" for k in (
    "http_proxy", "https_proxy", "all_proxy", "HTTPS_PROXY", "ALL_PROXY")}
DEAD_PROXY_ENV.update({"no_proxy": "", "NO_PROXY": ""})


def test_dir_store_content_addressed(tmp_path, files, certs, make_server):
    """--attachments dir:PATH: each file is PATH/<sha256>, nothing left in the temporary
    folder, and `attachments get` reads it from there. The environment names a proxy (that is
    not there): fetches do not use it."""
    store = tmp_path / "files"
    s = make_server(archive_args(files, certs, "--attachments", f"dir:{store}"),
                    env=DEAD_PROXY_ENV)
    post(s, minimal("arch-dir-1", 910101, resumeUrl=files.url("/files/resume-dir.doc"),
                    portraitUrl=files.url("/files/portrait-dir.jpg")))
    rows = wait_rows(s, lambda rs: len(rs) == 2 and settled(rs), "stored in the directory")
    for r in rows:
        assert r["status"] == "stored"
        assert (store / r["sha256"]).read_bytes() == content(
            "resume-dir.doc" if r["field"] == "data.resumeUrl" else "portrait-dir.jpg")
    assert sorted(p.name for p in store.iterdir()) == sorted([".tmp"] + [r["sha256"] for r in rows])
    assert list((store / ".tmp").iterdir()) == []
    conn = s.db()
    assert helpers.rows(conn, "SELECT count(*) AS n FROM attachment_chunk")[0]["n"] == 0
    conn.close()
    got = tmp_path / "out.doc"
    r = run_cli("attachments", "get", str(rows[0]["id"]), "-o", str(got), "--db", s.db_url,
                "--attachments", f"dir:{store}")
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(got.read_bytes()).hexdigest() == rows[0]["sha256"]


def test_failures_recorded(files, certs, make_server):
    """An expired link (403) is expired; a slow server is cut at --fetch-timeout and stays
    pending for a retry; an oversize file is failed with no chunk kept; a redirect to a host the
    allow list does not name and a link to a loopback port it does not name are refused, and
    that server sees no request."""
    other = FileServer(certs)  # a loopback service the allow list does not name
    try:
        files.redirect_to = other.url("/files/stolen.pdf", host="127.0.0.1")
        s = make_server(archive_args(files, certs, "--fetch-timeout", "2",
                                     "--max-attachment", "1M"))
        past = int(time.time()) - 60
        post(s, minimal(
            "arch-fail-1", 910201,
            resumeUrl=files.url("/expired/resume.doc",
                                query=f"OSSAccessKeyId=A&Expires={past}&Signature=S"),
            portraitUrl=files.url("/slow/portrait.jpg"),
            interviewFeedbackUrl=files.url("/big/feedback.pdf"),
            extendedInterviewerFeedbackUrl=files.url("/redirect/ext.pdf"),
            offerAttachment={"url": other.url("/files/direct.pdf", host="127.0.0.1")}))
        rows = wait_rows(s, lambda rs: len(rs) == 5 and all(
            r["status"] != "pending" or (r["attempts"] >= 1 and r["error"]) for r in rs),
            "every link tried")
        by = {r["field"]: r for r in rows}
        assert by["data.resumeUrl"]["status"] == "expired" and "403" in by["data.resumeUrl"]["error"]
        slow = by["data.portraitUrl"]
        assert slow["status"] == "pending" and slow["sha256"] is None
        assert "timeout" in slow["error"].lower() or "timed out" in slow["error"].lower(), slow
        big = by["data.interviewFeedbackUrl"]
        assert big["status"] == "failed" and "max-attachment" in big["error"], big
        red = by["data.extendedInterviewerFeedbackUrl"]
        assert red["status"] == "refused" and "redirect" in red["error"], red
        direct = by["data.offerAttachment.url"]
        assert direct["status"] == "refused" and "fetch-allow" in direct["error"], direct
        assert other.count() == 0, other.requests
        assert files.count("/redirect/ext.pdf") == 1
        conn = s.db()
        n = helpers.rows(conn, "SELECT count(*) AS n FROM attachment_chunk WHERE attachment_id = ?",
                         big["id"])[0]["n"]
        conn.close()
        assert n == 0
        for r in rows:
            assert "Signature" not in (r["error"] or "")
    finally:
        other.close()


def test_kill9_during_download_resumes(tmp_path, files, certs):
    """kill -9 while a file is being received: no stored row, no file in the store; after a
    restart the fetch is claimed again once the dead process's lease lapses, and stored whole."""
    store = tmp_path / "files"
    files.drip.set()
    s = Server(tmp_path / "s", backend="sqlite")
    s.args = on(s.args) + archive_args(files, certs, "--fetch-timeout", "3", "--attachments",
                                       f"dir:{store}")
    s.start()
    try:
        post(s, minimal("arch-kill-1", 910301, resumeUrl=files.url("/drip/k.doc")))
        # queued in the push's own transaction: there when the answer is
        assert [r["field"] for r in att_rows(s)] == ["data.resumeUrl"]
        assert files.drip_started.wait(WAIT), s.log()
        time.sleep(0.3)
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
    finally:
        s.kill()
    rows = att_rows(s)
    assert len(rows) == 1 and rows[0]["status"] == "pending" and rows[0]["attempts"] == 1
    assert sorted(p.name for p in store.iterdir()) == [".tmp"]
    files.drip.clear()
    s2 = s.start()  # the same command line: port, database, store
    try:
        rows = wait_rows(s2, lambda rs: rs[0]["status"] == "stored", "resumed after restart")
        want = content("resume-k.doc")
        assert rows[0]["sha256"] == hashlib.sha256(want).hexdigest()
        assert rows[0]["attempts"] == 2
        assert (store / rows[0]["sha256"]).read_bytes() == want
        assert files.count("/drip/k.doc") == 2
    finally:
        s2.stop()


def test_off_and_replay_requeues(tmp_path, files, certs):
    """--attachments off queues nothing; a link refused by the allow list is refused without a
    request; `ehrbridge replay` with the allow list fixed queues it again and it is stored."""
    s = Server(tmp_path / "s", backend="sqlite")
    base = on(s.args)
    s.args = base + ["--attachments", "off"]
    s.start()
    post(s, minimal("arch-off-1", 910401, resumeUrl=files.url("/files/resume-off.doc")))
    time.sleep(1.5)
    assert att_rows(s) == [] and files.count() == 0
    assert s.stop() == 0
    s.args = base  # the default allow list: *.mokahr.com, *.aliyuncs.com
    s.start()
    post(s, minimal("arch-refused-1", 910402, resumeUrl=files.url("/files/resume-r.doc")))
    rows = wait_rows(s, settled, "refused")
    assert [r["status"] for r in rows] == ["refused"] and files.count() == 0
    assert s.stop() == 0
    r = run_cli("replay", "--push-id", "arch-refused-1", "--db", s.db_url)
    assert r.returncode == 0, r.stderr
    assert [x["status"] for x in att_rows(s)] == ["pending"]
    s.args = base + archive_args(files, certs)
    s.start()
    try:
        rows = wait_rows(s, lambda rs: rs[0]["status"] == "stored", "stored after replay")
        assert rows[0]["sha256"] == hashlib.sha256(content("resume-r.doc")).hexdigest()
        assert files.count() == 1
    finally:
        assert s.stop() == 0


def test_two_replicas_on_postgres_fetch_once(tmp_path, files, certs):
    """Two replicas on one PostgreSQL database: every link is fetched by exactly one of them."""
    db = pg_database(tmp_path / "shared")
    servers = []
    try:
        for i in range(2):
            s = Server(tmp_path / f"r{i}", backend="postgres")
            s.db_path, s.db_url = db, str(db)
            s.args = ["serve", "--listen", f"127.0.0.1:{s.port}", "--db", s.db_url,
                      *archive_args(files, certs)]
            servers.append(s.start())
        n = 30
        for k in range(n):
            post(servers[k % 2], minimal(f"arch-rep-{k}", 910500 + k,
                                         resumeUrl=files.url(f"/files/resume-rep{k}.doc"),
                                         portraitUrl=files.url(f"/files/portrait-rep{k}.jpg")))
        rows = wait_rows(servers[0], lambda rs: len(rs) == 2 * n and all(
            r["status"] == "stored" for r in rs), "all stored by the replicas", timeout=120)
        for k in range(n):
            assert files.count(f"/files/resume-rep{k}.doc") == 1
            assert files.count(f"/files/portrait-rep{k}.jpg") == 1
        assert files.count() == 2 * n
        assert all(r["attempts"] == 1 for r in rows)
        # read back from PostgreSQL's chunks (the resume spans three)
        resume = next(r for r in rows if r["field"] == "data.resumeUrl")
        got = tmp_path / "resume.out"
        r = run_cli("attachments", "get", str(resume["id"]), "-o", str(got), "--db", str(db))
        assert r.returncode == 0, r.stderr
        assert hashlib.sha256(got.read_bytes()).hexdigest() == resume["sha256"]
        # both replicas did some of the work (the log says who stored what)
        assert all("archive: download" in s.log() for s in servers)
    finally:
        for s in servers:
            s.stop()


def test_bad_settings_refused():
    """A bad allow list or store setting stops ehrbridge with exit 2 and one line naming it."""
    for args, name in ((["--fetch-allow", "https://*"], "--fetch-allow"),
                       (["--fetch-allow", "https://files.example.com/path"], "--fetch-allow"),
                       (["--fetch-allow", "ftp://files.example.com"], "--fetch-allow"),
                       (["--attachments", "disk"], "--attachments"),
                       (["--max-attachment", "0"], "--max-attachment"),
                       (["--fetch-proxy", "proxy:3128"], "--fetch-proxy")):
        r = run_cli("check", "--db", "sqlite::memory:", *args)
        assert r.returncode == 2 and name in r.stderr, (args, r.returncode, r.stderr)


def test_replay_requeues_on_postgres(tmp_path, files, certs):
    """On PostgreSQL too: a refused link goes back to pending when its push is replayed, and
    the push's transaction queued it (the row is there when the answer is)."""
    s = Server(tmp_path / "pg", backend="postgres")
    s.args = on(s.args)  # the default allow list does not name the file server
    s.start()
    try:
        post(s, minimal("arch-pg-replay-1", 910601, resumeUrl=files.url("/files/resume-pg.doc")))
        assert len(att_rows(s)) == 1
        rows = wait_rows(s, settled, "refused")
        assert [r["status"] for r in rows] == ["refused"] and files.count() == 0
    finally:
        assert s.stop() == 0
    r = run_cli("replay", "--push-id", "arch-pg-replay-1", "--db", s.db_url)
    assert r.returncode == 0, r.stderr
    assert [x["status"] for x in att_rows(s)] == ["pending"]


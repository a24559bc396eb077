"""`serve --db-wait SECONDS`: at start, ehrbridge waits for a database it cannot reach yet (one
that starts after it, as a compose file's replicas and database do, podman-compose not waiting for
health checks), then serves. Without it (the default, 0) a start without its database stops at
once, as before; SIGTERM during the wait stops it with exit code 0; a wait that runs out stops it
with exit code 1. The database is the real PostgreSQL of EB_PG_URL (its own schema), reached
through a TCP relay on a loopback port that refuses connections until the test opens it."""
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest

import helpers
from conftest import clean_env, ehrbridge_bin, free_port, pg_database, pg_url

WAIT_GUARD = 30.0  # the longest a step may take before the test gives up (no timing is asserted)


class Relay:
    """A loopback port that refuses connections (bound, not listening) until open() is called;
    then each connection is relayed to the PostgreSQL server of EB_PG_URL."""

    def __init__(self):
        u = urllib.parse.urlsplit(pg_url())
        self.target = (u.hostname or "127.0.0.1", u.port or 5432)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns = []

    def open(self):
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(self.target)
            self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        for s in [self.sock, *self.conns]:
            s.close()


def url_through(relay, workdir):
    """The --db URL of a fresh schema of EB_PG_URL's database, with the relay as its server."""
    url = urllib.parse.urlsplit(str(pg_database(workdir)))
    creds = url.netloc.rpartition("@")[0]
    netloc = f"{creds}@127.0.0.1:{relay.port}" if creds else f"127.0.0.1:{relay.port}"
    return urllib.parse.urlunsplit(url._replace(netloc=netloc))


class Serve:
    """`ehrbridge serve` on a free port, its log in a file."""

    def __init__(self, workdir, db_url, *extra):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "serve.log"
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [ehrbridge_bin(), "serve", "--listen", f"127.0.0.1:{self.port}", "--db", db_url,
             "--log-format", "json", *extra],
            stdout=self.log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=clean_env())

    def log(self):
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def until(self, what, cond):
        deadline = time.monotonic() + WAIT_GUARD
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {WAIT_GUARD} s; log:\n{self.log()}")
            time.sleep(0.05)

    def waiting(self):
        return '"msg":"waiting for the database"' in self.log()

    def ready(self):
        try:
            return helpers.http(self.base_url, "GET", "/readyz", timeout=5).status == 200
        except OSError:
            return False

    def exit_code(self):
        try:
            return self.proc.wait(WAIT_GUARD)
        finally:
            self.log_file.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log_file.close()


@pytest.fixture
def relay():
    pg_url()  # PostgreSQL is required (skipped outside CI without it, as the postgres runs)
    r = Relay()
    yield r
    r.close()


@pytest.fixture
def serve(tmp_path):
    made = []

    def start(db_url, *extra):
        s = Serve(tmp_path, db_url, *extra)
        made.append(s)
        return s
    yield start
    for s in made:
        s.kill()


def test_without_db_wait_a_start_without_its_database_stops_at_once(relay, serve, tmp_path):
    s = serve(url_through(relay, tmp_path))
    assert s.exit_code() == 1
    log = s.log()
    assert '"msg":"cannot start"' in log and "cannot connect" in log, log
    assert not s.waiting(), log


def test_serve_waits_for_a_database_that_starts_after_it(relay, serve, tmp_path):
    s = serve(url_through(relay, tmp_path), "--db-wait", "120")
    s.until("the wait is logged", s.waiting)
    assert s.proc.poll() is None, s.log()
    assert not s.ready()
    # nothing said twice while waiting: the start-up warnings come once the database is open
    assert s.log().count("no authentication configured") == 0, s.log()
    relay.open()  # the database "starts"
    s.until("GET /readyz answers 200 once the database is there", s.ready)
    push_id = helpers.new_id("wait")
    r = helpers.post_soap(s, helpers.envelope(helpers.minimal_push_xml(push_id, 4711)))
    assert helpers.parse_push_answer(r)[0] == "true", r
    conn = helpers.db_connect(pg_database(tmp_path))
    try:
        rows = helpers.rows(conn, "SELECT outcome FROM push_log WHERE push_id = ?", push_id)
        assert rows == [{"outcome": "stored"}], rows
    finally:
        conn.close()
    s.proc.terminate()
    assert s.exit_code() == 0
    log = s.log()
    assert log.count('"msg":"waiting for the database"') == 1, log
    assert log.count("no authentication configured") == 1, log
    assert '"msg":"the database is reachable"' in log and '"msg":"stopped"' in log, log


def test_sigterm_during_the_wait_stops_it_with_exit_code_0(relay, serve, tmp_path):
    s = serve(url_through(relay, tmp_path), "--db-wait", "600")
    s.until("the wait is logged", s.waiting)
    s.proc.terminate()
    assert s.exit_code() == 0
    assert '"msg":"stopped while waiting for the database","signal":"SIGTERM"' in s.log(), s.log()


def test_a_wait_that_runs_out_stops_it_with_exit_code_1(relay, serve, tmp_path):
    s = serve(url_through(relay, tmp_path), "--db-wait", "1.5")
    assert s.exit_code() == 1
    log = s.log()
    assert s.waiting() and '"msg":"cannot start"' in log, log


def test_a_bad_database_url_is_not_waited_for(relay, serve, tmp_path):
    """Only an unreachable database is waited for: a URL ehrbridge refuses stops it at once."""
    s = serve(url_through(relay, tmp_path) + "&statement_timeout=soon", "--db-wait", "600")
    assert s.exit_code() == 1
    assert not s.waiting() and '"msg":"cannot start"' in s.log(), s.log()

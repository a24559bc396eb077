"""ehrbridge integration tests: the real binary on a free loopback port, a fresh database, real
clients (zeep, npm soap, raw HTTP) that know only the served WSDL.

Every test that uses the `server` or `make_server` fixture (or the `backend` fixture) runs on five
backends: SQLite (a fresh file), PostgreSQL (a fresh schema in the database EB_PG_URL names;
tools/test.sh starts a throwaway cluster and sets it), the same two through ODBC: odbc-sqlite
(Debian's libsqliteodbc driver on a fresh file) and odbc-postgres (Debian's odbc-postgresql
driver, psqlodbcw.so, on a fresh schema of EB_PG_URL's database), and odbc-mariadb (Debian's
odbc-mariadb driver, libmaodbc.so, on a fresh database of the server EB_MARIADB_ODBC names;
tools/test.sh starts one with tools/mariadb.sh; rows are read back with python3-pymysql), each
driver named by its path in the connection string. Without EB_PG_URL the PostgreSQL runs, without
EB_MARIADB_ODBC the MariaDB run, and without a driver its ODBC runs, FAIL in CI (CI=true) and are
skipped elsewhere. Tests marked `sqlite_only` (they reach into
the SQLite file itself) run on the sqlite backend only.

EHRBRIDGE_BIN names the binary (ctest sets it; default build/ehrbridge), EB_FIXTURES the fixtures
folder (default tests/fixtures). Run: /usr/bin/python3 -m pytest tests/integration"""
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import helpers  # noqa: E402

NODE_DIR = helpers.HERE / "node"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0


BACKENDS = ("sqlite", "postgres", "odbc-sqlite", "odbc-postgres", "odbc-mariadb")

# Debian's ODBC drivers (tools/deps.sh test installs them), by file name.
ODBC_DRIVERS = {"odbc-sqlite": ("libsqlite3odbc.so", "libsqliteodbc"),
                "odbc-postgres": ("psqlodbcw.so", "odbc-postgresql"),
                "odbc-mariadb": ("libmaodbc.so", "odbc-mariadb")}


def pytest_configure(config):
    # zeep (Debian's 4.2.1) imports the deprecated cgi module; not ours to fix
    config.addinivalue_line("filterwarnings", "ignore:'cgi' is deprecated:DeprecationWarning")
    config.addinivalue_line("markers", "sqlite_only: the test reads or breaks the SQLite file itself")


def pytest_collection_modifyitems(config, items):
    """The PostgreSQL runs of sqlite_only tests are not collected."""
    keep, drop = [], []
    for item in items:
        cs = getattr(item, "callspec", None)
        if (item.get_closest_marker("sqlite_only") and cs is not None
                and cs.params.get("backend", "sqlite") != "sqlite"):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pg_url():
    """EB_PG_URL, the PostgreSQL database the postgres runs use. Missing: FAIL in CI, else skip."""
    url = os.environ.get("EB_PG_URL")
    why = None
    if not url:
        why = "EB_PG_URL is not set (tools/test.sh starts a throwaway PostgreSQL and sets it)"
    else:
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            why = "python3-psycopg2 is not installed (tools/deps.sh test installs it)"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests cannot run in CI: {why}")
        pytest.skip(f"PostgreSQL tests skipped: {why}")
    return url


def mariadb_odbc():
    """EB_MARIADB_ODBC (tools/mariadb.sh's connection string) as {key: value}. Missing, or no
    python3-pymysql to read rows back with: FAIL in CI, else skip."""
    conn = os.environ.get("EB_MARIADB_ODBC")
    why = None
    if not conn:
        why = "EB_MARIADB_ODBC is not set (tools/test.sh starts a throwaway MariaDB and sets it)"
    else:
        try:
            import pymysql  # noqa: F401
        except ImportError:
            why = "python3-pymysql is not installed (tools/deps.sh test installs it)"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"MariaDB tests cannot run in CI: {why}")
        pytest.skip(f"MariaDB tests skipped: {why}")
    return {k.upper(): v for k, _, v in (p.partition("=") for p in conn.split(";") if p)}


def odbc_driver(backend):
    """The path of the ODBC driver of an odbc-* backend. Missing: FAIL in CI, else skip."""
    lib, package = ODBC_DRIVERS[backend]
    for d in ("/usr/lib/x86_64-linux-gnu/odbc", "/usr/lib/aarch64-linux-gnu/odbc", "/usr/lib/odbc"):
        if os.path.exists(os.path.join(d, lib)):
            return os.path.join(d, lib)
    why = f"the ODBC driver {lib} is not installed (apt-get install {package}; tools/deps.sh test)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"ODBC tests cannot run in CI: {why}")
    pytest.skip(f"ODBC tests skipped: {why}")


def odbc_url(backend, db_path):
    """The ehrbridge --db URL of an odbc-* backend: the driver by path, and for PostgreSQL the
    server, credentials and the server's own schema (search_path) from EB_PG_URL."""
    driver = odbc_driver(backend)
    if backend == "odbc-sqlite":
        return f"odbc:DRIVER={driver};Database={db_path}"
    if backend == "odbc-mariadb":
        # EB_MARIADB_ODBC's keys (OPTION=2 among them: rows matched), with the server's database
        m = dict(mariadb_odbc(), DRIVER=driver, DATABASE=db_path)
        return "odbc:" + ";".join(f"{k}={v}" for k, v in m.items())
    u = urllib.parse.urlsplit(pg_url())
    return (f"odbc:DRIVER={driver};SERVER={u.hostname};PORT={u.port or 5432};"
            f"DATABASE={u.path.lstrip('/') or 'postgres'};"
            f"UID={urllib.parse.unquote(u.username or '')};"
            f"PWD={urllib.parse.unquote(u.password or '')};"
            f"ConnSettings=SET search_path TO {db_path.schema}")


_SESSION = uuid.uuid4().hex[:8]
_SCHEMAS = []
_MARIA_DBS = []


def maria_admin():
    """A pymysql connection as tools/mariadb.sh's user, who may create databases named eb_*."""
    import pymysql
    m = mariadb_odbc()
    return pymysql.connect(host=m["SERVER"], port=int(m["PORT"]), user=m["UID"],
                           password=m["PWD"], autocommit=True)


def mariadb_database(workdir):
    """The MariaDB database of the server in workdir: a database of its own on EB_MARIADB_ODBC's
    server (the same workdir gives the same database within a test session), in utf8mb4 with
    binary collation like tools/mariadb.sh's."""
    name = "eb_" + hashlib.sha1(f"{_SESSION}:{Path(workdir).resolve()}".encode()).hexdigest()[:20]
    conn = maria_admin()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` "
                        "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    finally:
        conn.close()
    if name not in _MARIA_DBS:
        _MARIA_DBS.append(name)
    m = mariadb_odbc()
    return helpers.MariaDatabase(name, {"host": m["SERVER"], "port": int(m["PORT"]),
                                        "user": m["UID"], "password": m["PWD"]})


def pg_admin():
    import psycopg2
    conn = psycopg2.connect(pg_url())
    conn.autocommit = True
    return conn


def pg_database(workdir):
    """The PostgreSQL database of the server in workdir: a schema of its own in EB_PG_URL's
    database (the same workdir gives the same schema within a test session), selected by
    options=-c search_path in the URL that ehrbridge and the readers use."""
    schema = "eb_" + hashlib.sha1(f"{_SESSION}:{Path(workdir).resolve()}".encode()).hexdigest()[:20]
    conn = pg_admin()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    finally:
        conn.close()
    if schema not in _SCHEMAS:
        _SCHEMAS.append(schema)
    url = pg_url()
    opt = "options=" + urllib.parse.quote(f"-c search_path={schema}", safe="")
    return helpers.PgDatabase(url + ("&" if "?" in url else "?") + opt, schema)


@pytest.fixture(scope="session", autouse=True)
def _drop_pg_schemas():
    """Drops the schemas this session made (EB_PG_URL may name a database that outlives it)."""
    yield
    if not _SCHEMAS:
        return
    try:
        conn = pg_admin()
    except Exception:  # noqa: BLE001 - best effort
        return
    try:
        with conn.cursor() as cur:
            for schema in _SCHEMAS:
                try:
                    cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                except Exception:  # noqa: BLE001 - a server may still hold it
                    pass
    finally:
        conn.close()


@pytest.fixture(scope="session", autouse=True)
def _drop_mariadb_databases():
    """Drops the MariaDB databases this session made, unless EB_MARIADB_DIR names the server's
    folder from tools/mariadb.sh (its `stop` deletes them all at once; dropping them one at a time
    takes about 0.1 s each)."""
    yield
    made_by_tools = os.path.isfile(os.path.join(os.environ.get("EB_MARIADB_DIR") or "/nonexistent",
                                                ".eb-mariadb"))
    if not _MARIA_DBS or made_by_tools:
        return
    try:
        conn = maria_admin()
    except Exception:  # noqa: BLE001 - best effort
        return
    try:
        with conn.cursor() as cur:
            for name in _MARIA_DBS:
                try:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                except Exception:  # noqa: BLE001 - a server may still hold it
                    pass
    finally:
        conn.close()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    """The database of the module's servers: one of BACKENDS (see the module doc)."""
    if request.param in ("postgres", "odbc-postgres"):
        pg_url()
    if request.param == "odbc-mariadb":
        mariadb_odbc()
    if request.param.startswith("odbc-"):
        odbc_driver(request.param)
    return request.param


def ehrbridge_bin():
    b = os.environ.get("EHRBRIDGE_BIN") or str(helpers.REPO / "build" / "ehrbridge")
    if not os.access(b, os.X_OK):
        pytest.fail(f"ehrbridge binary not found or not executable: {b} (build it, or set EHRBRIDGE_BIN)")
    return b


def clean_env(extra=None):
    """The environment for the server and the clients: no EHRBRIDGE_* from the caller, no proxy
    between a client and the loopback server."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("EHRBRIDGE_") and k.lower() not in
           ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra or {})
    return env


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args, env=None, timeout=20):
    """Runs the binary with args; returns the CompletedProcess (text)."""
    return subprocess.run([ehrbridge_bin(), *args], capture_output=True, text=True,
                          env=clean_env(env), timeout=timeout, stdin=subprocess.DEVNULL)


class Server:
    """One `ehrbridge serve` process; stderr (the log) goes to a file."""

    def __init__(self, workdir, args=None, env=None, db_name="x.db", public_url=True, port=None,
                 backend="sqlite"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.backend = backend
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.push_url = f"{self.base_url}/pushCandidate"
        self.wsdl_url = f"{self.push_url}?wsdl"
        self.public_url = self.push_url
        # the SQLite file, on PostgreSQL a helpers.PgDatabase (its --db URL), on MariaDB a
        # helpers.MariaDatabase; the odbc-* backends read the same with the driver in between
        pg = backend in ("postgres", "odbc-postgres")
        self.db_path = (mariadb_database(self.workdir) if backend == "odbc-mariadb"
                        else pg_database(self.workdir) if pg else self.workdir / db_name)
        self.db_url = (odbc_url(backend, self.db_path) if backend.startswith("odbc-")
                       else str(self.db_path) if pg else f"sqlite:{self.db_path}")
        self.log_path = self.workdir / f"server-{self.port}.log"
        self.args = args
        if args is None:
            # --attachments off: the vendor sample's download links are not fetched (no lookup of
            # the vendor's hosts from a test run, no fetch log lines between a test's requests);
            # test_archive.py turns the archive on against a file server of its own
            self.args = ["serve", "--listen", f"127.0.0.1:{self.port}", "--db", self.db_url,
                         "--attachments", "off"]
            if public_url:
                self.args += ["--public-url", self.public_url]
        self.env = env
        self.proc = None
        self.returncode = None

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([ehrbridge_bin(), *self.args], stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=clean_env(self.env))
        try:
            self._wait_healthy()
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_healthy(self):
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"ehrbridge exited with {self.proc.returncode} at start; args={self.args}\n"
                    f"log:\n{self.log()}")
            try:
                r = helpers.http(self.base_url, "GET", "/healthz", timeout=2)
                if r.status == 200:
                    return
                last = r
            except OSError as e:
                last = e
            time.sleep(0.02)
        raise AssertionError(f"ehrbridge did not answer GET /healthz with 200 within {START_TIMEOUT}s "
                             f"(last: {last!r}); log:\n{self.log()}")

    def kill(self):
        """Ends the process at once (a failed start or a failed test set-up)."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None
            self._log.close()

    def log(self):
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self):
        return self.log().splitlines()

    def db(self):
        return helpers.db_connect(self.db_path)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = None
                self.proc = None
                self._log.close()
                return None
        self.returncode = self.proc.returncode
        self.proc = None
        self._log.close()
        return self.returncode


def _stop_and_check(server):
    """Stops the server: it must have lived through the tests, exit 0, and have written nothing
    but its own log lines (no library's messages, which carry bytes of requests)."""
    was_alive = server.alive()
    rc = server.stop()
    assert was_alive, f"ehrbridge died during the tests (exit {rc}); log:\n{server.log()[-4000:]}"
    assert rc == 0, f"ehrbridge did not exit 0 on SIGTERM (exit {rc}); log:\n{server.log()[-4000:]}"
    stray = [l for l in server.log_lines() if not helpers.LOG_LINE.match(l)]
    assert not stray, f"lines in the log that are not the server's: {stray[:5]}"


@pytest.fixture(scope="module")
def server(tmp_path_factory, backend):
    """A server with a fresh database for the test module, on each backend; stopped with SIGTERM,
    must exit 0."""
    s = Server(tmp_path_factory.mktemp("srv"), backend=backend).start()
    yield s
    _stop_and_check(s)


@pytest.fixture
def make_server(tmp_path, backend):
    """Factory for servers of one test (own options, own database, on each backend); each must
    exit 0 on SIGTERM."""
    made = []

    def make(args_extra=(), **kw):
        kw.setdefault("backend", backend)
        s = Server(tmp_path / f"s{len(made)}", **kw)
        s.args = s.args + list(args_extra)
        s.start()
        made.append(s)
        return s
    yield make
    for s in made:
        _stop_and_check(s)


@pytest.fixture(scope="session")
def node_client():
    """The npm soap client: `npm ci` when node_modules is missing. No npm or node: the test FAILS."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if not node or not npm:
        pytest.fail("node and npm are required for the npm soap client tests (apt-get install nodejs npm)")
    if not (NODE_DIR / "node_modules" / "soap").is_dir():
        env = clean_env({"npm_config_build_from_source": "true"})
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, env=env,
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            pytest.fail(f"npm ci failed in {NODE_DIR}:\n{r.stdout}\n{r.stderr}")

    def run(wsdl_url, json_file, soap12=False):
        args = [node, str(NODE_DIR / "client.js"), wsdl_url, str(json_file)]
        if soap12:
            args.append("--soap12")
        return subprocess.run(args, capture_output=True, text=True, env=clean_env(),
                              timeout=60, stdin=subprocess.DEVNULL)
    return run

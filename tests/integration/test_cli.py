"""The command line: check, --version, --help, bad --listen, configuration from the environment
(EHRBRIDGE_LISTEN, EHRBRIDGE_DB, EHRBRIDGE_PUBLIC_URL) and flags beating the environment."""
import re
import socket

import pytest

import helpers
from conftest import Server, _stop_and_check, free_port, run_cli


def one_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    assert len(lines) == 1, f"expected a one-line error, got:\n{text}"
    return lines[0]


def test_check_good_database(server):
    p = run_cli("check", "--db", server.db_url)
    assert p.returncode == 0, (p.stdout, p.stderr)


def test_check_new_database_path(tmp_path):
    p = run_cli("check", "--db", f"sqlite:{tmp_path / 'new.db'}")
    assert p.returncode == 0, (p.stdout, p.stderr)


def test_check_unknown_scheme():
    p = run_cli("check", "--db", "nosuch:x")
    assert p.returncode != 0
    line = one_line(p.stderr)
    assert re.search(r"nosuch|--db|database|scheme", line, re.I), line


def test_check_unwritable_path(tmp_path):
    f = tmp_path / "a-file"
    f.write_text("not a directory")
    p = run_cli("check", "--db", f"sqlite:{f}/x.db")
    assert p.returncode != 0
    one_line(p.stderr)


def test_check_not_a_database(tmp_path):
    f = tmp_path / "garbage.db"
    f.write_bytes(b"this is not an SQLite database file at all" * 100)
    p = run_cli("check", "--db", f"sqlite:{f}")
    assert p.returncode != 0
    one_line(p.stderr)


def test_version():
    p = run_cli("--version")
    assert p.returncode == 0, p.stderr
    assert re.search(r"\d+\.\d+\.\d+", p.stdout + p.stderr), (p.stdout, p.stderr)


def test_help():
    p = run_cli("--help")
    assert p.returncode == 0, p.stderr
    out = p.stdout + p.stderr
    for word in ("serve", "wsdl", "check", "--listen", "--db", "--public-url"):
        assert word in out, f"--help does not mention {word}"


def test_unknown_command_fails():
    p = run_cli("frobnicate")
    assert p.returncode != 0


@pytest.mark.parametrize("listen", ["127.0.0.1:99999", "127.0.0.1:notaport"])
def test_serve_bad_listen(tmp_path, listen):
    p = run_cli("serve", "--listen", listen, "--db", f"sqlite:{tmp_path / 'x.db'}", timeout=10)
    assert p.returncode != 0
    line = one_line(p.stderr)
    assert "--listen" in line, line


def test_serve_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        p = run_cli("serve", "--listen", f"127.0.0.1:{port}", "--db", f"sqlite:{tmp_path / 'x.db'}", timeout=10)
    assert p.returncode != 0
    assert str(port) in p.stderr or "--listen" in p.stderr, p.stderr


def wsdl_address(server):
    from test_wsdl_health import addresses
    return addresses(helpers.http(server.base_url, "GET", "/pushCandidate?wsdl").body)


def push_one(server, app):
    _, ret, msg = helpers.push(server, helpers.minimal_push_xml(helpers.new_id("env"), app))
    assert ret == "true", (msg, server.log()[-2000:])


def candidates_in(path):
    if not path.exists():
        return 0
    conn = helpers.db_connect(path)
    try:
        if "candidate" not in helpers.tables(conn):
            return 0
        return conn.execute("SELECT count(*) FROM candidate").fetchone()[0]
    finally:
        conn.close()


def test_configuration_from_environment(tmp_path):
    port = free_port()
    db = tmp_path / "env.db"
    url = "https://ehr.example.test:9443/env/pushCandidate"
    env = {"EHRBRIDGE_LISTEN": f"127.0.0.1:{port}", "EHRBRIDGE_DB": f"sqlite:{db}",
           "EHRBRIDGE_PUBLIC_URL": url}
    s = Server(tmp_path, args=["serve"], env=env, port=port).start()
    try:
        assert wsdl_address(s) == ([url], [url])
        push_one(s, 9300001)
        assert candidates_in(db) == 1
    finally:
        _stop_and_check(s)


def test_flags_beat_environment(tmp_path):
    env_port, flag_port = free_port(), free_port()
    env_db, flag_db = tmp_path / "env.db", tmp_path / "flag.db"
    env_url = "https://env.example.test/pushCandidate"
    flag_url = "https://flag.example.test/pushCandidate"
    env = {"EHRBRIDGE_LISTEN": f"127.0.0.1:{env_port}", "EHRBRIDGE_DB": f"sqlite:{env_db}",
           "EHRBRIDGE_PUBLIC_URL": env_url}
    args = ["serve", "--listen", f"127.0.0.1:{flag_port}", "--db", f"sqlite:{flag_db}",
            "--public-url", flag_url]
    s = Server(tmp_path, args=args, env=env, port=flag_port).start()
    try:
        assert wsdl_address(s) == ([flag_url], [flag_url])
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", env_port), timeout=1).close()
        push_one(s, 9300002)
        assert candidates_in(flag_db) == 1
        assert candidates_in(env_db) == 0
    finally:
        _stop_and_check(s)


def test_check_uses_environment_db(tmp_path):
    p = run_cli("check", env={"EHRBRIDGE_DB": "nosuch:x"})
    assert p.returncode != 0
    one_line(p.stderr)
    p = run_cli("check", "--db", f"sqlite:{tmp_path / 'ok.db'}", env={"EHRBRIDGE_DB": "nosuch:x"})
    assert p.returncode == 0, p.stderr

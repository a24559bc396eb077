"""Helpers of the admin listener's tests: a server with --admin-listen, and requests to it with
the operators' Basic credentials."""
import base64
import json

import helpers
from conftest import free_port

USER, PASSWORD = "ops", "s3cret pass"


def auth(user=USER, password=PASSWORD):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def start_admin(make_server, tmp_path, extra=(), **kw):
    """A server whose admin listener is on a free loopback port; returns (server, admin_url)."""
    port = free_port()
    pw = tmp_path / f"admin-pw-{port}"
    pw.write_text(PASSWORD + "\n")
    args = ["--admin-listen", f"127.0.0.1:{port}", "--admin-user", USER,
            "--admin-password-file", str(pw), *extra]
    s = make_server(args, **kw)
    return s, f"http://127.0.0.1:{port}"


def get(url, path, headers=None, creds=True):
    h = {"Authorization": auth()} if creds else {}
    h.update(headers or {})
    return helpers.http(url, "GET", path, headers=h)


def get_json(url, path, status=200):
    r = get(url, path)
    assert r.status == status, r
    assert r.content_type.startswith("application/json"), r
    return json.loads(r.body)


def post(url, path, csrf=None, headers=None):
    h = {"Authorization": auth()}
    if csrf is not None:
        h["X-CSRF-Token"] = csrf
    h.update(headers or {})
    return helpers.http(url, "POST", path, body=b"", headers=h)


def csrf(url):
    return get_json(url, "/api/session")["csrf_token"]

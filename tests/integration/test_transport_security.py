"""The request path before authentication, against the real binary over plain HTTP with raw
sockets (what a client in front of the DMZ can send):

- credentials carried in headers and the allow list are checked when the headers are complete:
  a refused request gets its 401/403 at once, never a 100 Continue, and its body is never
  buffered (the server's memory is measured and printed under many such clients);
- the memory of authenticated bodies in flight is bounded by --max-buffered: beyond it a body
  waits unread, and gets 503 with Retry-After after --request-timeout;
- the WSDL goes only to allowed sources, from any path (/healthz?wsdl included);
- strict RFC 9112 framing: obs-fold, bare LF and a missing Host are 400;
- an IPv4-mapped --allow range admits the IPv4 clients it names."""
import os
import socket
import sqlite3
import threading
import time

import pytest

import helpers
import sec_helpers as sh

TOKEN = "tok-transport-secret"
MIB = 1024 * 1024


@pytest.fixture
def make(tmp_path):
    made = []

    def start(args=()):
        s = sh.SecServer(tmp_path / f"s{len(made)}", args, tls=False)
        made.append(s)
        return s.start()
    yield start
    for s in made:
        if s.proc is not None:
            s.stop()


def connect(server, timeout=10):
    c = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


class Reader:
    """Reads responses off a raw socket: (status, headers, body) each, 100 Continue included."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = 0 if status == 100 else int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed(self):
        """True when the server closes (EOF or reset) and sends nothing more."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return not self.buf
                self.buf += data
        except ConnectionResetError:
            return not self.buf


def head(path="/pushCandidate", length=None, extra=(), method="POST", expect=False):
    lines = [f"{method} {path} HTTP/1.1", "Host: ehr.example", "Content-Type: text/xml"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if expect:
        lines.append("Expect: 100-continue")
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def cpu_ms(pid):
    """User + system CPU time of a process so far, ms."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def sanitized(pid):
    """True for a build with AddressSanitizer, whose allocator keeps freed memory in quarantine:
    its resident size says nothing about what the server holds (the figures are printed, the
    bounds not asserted)."""
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def push_body(push_id, app_id, pad=0):
    xml = helpers.envelope(helpers.minimal_push_xml(push_id, app_id))
    if pad:  # whitespace between the envelope's elements: still the same push
        xml = xml.replace("<soap:Body>", "<soap:Body>" + " " * pad, 1)
    return xml.encode()


# ---------------------------------------------------------------------------------------------
# Finding 2: refused on the headers, bodies never buffered

def test_unauthenticated_bodies_are_never_buffered(make):
    s = make(["--bearer-token", TOKEN])
    pid = s.proc.pid
    n, declared = 24, 8 * MIB  # 8 MiB is the default --max-body
    rss_before = rss_kib(pid, "VmRSS")
    cpu_before = cpu_ms(pid)
    t0 = time.monotonic()

    # clients that wait for 100 Continue, all connected at once: each gets the 401 instead
    socks = [connect(s) for _ in range(n)]
    for c in socks:
        c.sendall(head(length=declared, expect=True))
    for c in socks:
        r = Reader(c)
        status, headers, body = r.response()
        assert status == 401, (status, body)  # never a 100 Continue first
        assert headers.get("connection") == "close"
        assert headers.get("www-authenticate") == 'Bearer realm="ehrbridge"'
        assert b"authentication failed" in body
        assert r.closed()
        c.close()

    # clients that do not wait: each sends its whole 8 MiB body, then reads the 401 (the server
    # reads and drops the body during a bounded lingering close, so no reset comes instead)
    payload = b"<x>" + b"a" * (declared - 7) + b"</x>"
    results = [None] * n

    def blind(i):
        c = connect(s, timeout=30)
        try:
            c.sendall(head(length=len(payload)) + payload)
            results[i] = Reader(c).response()[0]
        except OSError as e:
            results[i] = repr(e)
        finally:
            c.close()
    threads = [threading.Thread(target=blind, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [401] * n, results

    hwm = rss_kib(pid, "VmHWM")
    cpu = cpu_ms(pid) - cpu_before
    growth_mib = (hwm - rss_before) / 1024
    print(f"\n{n} unauthenticated clients x {declared // MIB} MiB declared (waiting for 100 "
          f"Continue), then {n} x {declared // MIB} MiB sent without waiting: server RSS "
          f"{rss_before / 1024:.1f} MiB before, peak {hwm / 1024:.1f} MiB "
          f"(growth {growth_mib:.1f} MiB; {n * declared // MIB} MiB if the bodies were buffered)")
    assert sanitized(pid) or growth_mib < 16, f"RSS grew by {growth_mib:.1f} MiB"
    # the refusals are logged at a bounded rate (10 lines a second), every one counted
    elapsed = time.monotonic() - t0
    lines = s.log().count("request refused")
    print(f"{2 * n} refusals in {elapsed:.1f} s: server CPU {cpu:.0f} ms in all (reading and "
          f"dropping {n} x {declared // MIB} MiB included), {lines} log lines")
    assert 1 <= lines <= 10 * (int(elapsed) + 2)
    metrics = s.request("GET", "/metrics").body.decode()
    assert f'ehrbridge_requests_refused_total{{status="401"}} {2 * n}' in metrics
    # nothing of a refused request is stored
    assert s.rows("SELECT count(*) AS n FROM push_log")[0]["n"] == 0
    # an authenticated push still goes through, with its 100 Continue
    body = push_body(helpers.new_id("ok"), 7300001)
    c = connect(s)
    c.sendall(head(length=len(body), expect=True, extra=[f"Authorization: Bearer {TOKEN}"]))
    r = Reader(c)
    assert r.response()[0] == 100
    c.sendall(body)
    status, _, answer = r.response()
    assert status == 200 and b">true<" in answer, answer
    c.close()


def test_what_a_connection_costs_before_its_headers_end(make):
    """Connections that send headers and never finish them: what each costs the server."""
    s = make(["--bearer-token", TOKEN])
    pid = s.proc.pid
    n = 200
    rss_before = rss_kib(pid, "VmRSS")
    filler = "".join(f"X-Pad-{i}: {'v' * 140}\r\n" for i in range(99))  # ~15 KiB, 100 fields
    socks = []
    for _ in range(n):
        c = connect(s)
        c.sendall(f"POST /pushCandidate HTTP/1.1\r\nHost: x\r\n{filler}".encode())
        socks.append(c)
    time.sleep(0.5)
    rss_after = rss_kib(pid, "VmRSS")
    per_conn = (rss_after - rss_before) / n
    print(f"\n{n} connections, each with {len(filler) // 1024} KiB of unfinished headers: "
          f"server RSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB "
          f"({per_conn:.0f} KiB a connection)")
    assert sanitized(pid) or per_conn < 128
    for c in socks:
        c.close()
    assert s.request("GET", "/healthz").status == 200


def test_refused_source_gets_403_before_its_body(make):
    s = make(["--allow", "192.0.2.0/24"])
    c = connect(s)
    c.sendall(head(length=4 * MIB, expect=True))
    r = Reader(c)
    status, headers, _ = r.response()
    assert status == 403 and headers.get("connection") == "close"
    assert r.closed()
    c.close()


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/pushCandidate?wsdl", "/nothing"])
def test_routes_without_a_body_never_buffer_one(make, path):
    """Only a push takes a body: GET routes need no credential (the health checks not even the
    allow list), so a body sent to them would be memory held by anyone: 413 on the headers."""
    s = make(["--bearer-token", TOKEN])
    for framing in ([f"Content-Length: {4 * MIB}"], ["Transfer-Encoding: chunked"]):
        c = connect(s)
        c.sendall(head(path, method="GET", expect=True, extra=framing))
        r = Reader(c)
        status, headers, _ = r.response()
        assert status == 413, (path, framing, status)
        assert headers.get("connection") == "close"
        assert r.closed()
        c.close()
    assert s.request("GET", path).status in (200, 404)


def test_signature_needs_the_body_and_is_checked_then(make):
    """With only the vendor's signature configured the body must be read: it is, within the
    budget, and a wrong signature is still 401."""
    key = "sign-key-transport"
    s = make(["--sign-key", key])
    body = push_body(helpers.new_id("sig"), 7300002)
    good = sh.sign(key, body.decode())
    for query, want in ((f"?sign={good}", 200), ("?sign=" + "0" * 64, 401), ("", 401)):
        c = connect(s)
        c.sendall(head("/pushCandidate" + query, length=len(body), expect=True))
        r = Reader(c)
        status, _, _ = r.response()
        if query:  # a signature is offered: the body is asked for
            assert status == 100
            c.sendall(body)
            status, _, _ = r.response()
        assert status == want, (query, status)
        c.close()


# ---------------------------------------------------------------------------------------------
# Finding 2: --max-buffered

def test_signed_bodies_are_bounded_by_max_buffered(make):
    """The vendor's signature needs the body: clients that offer one (right or wrong) are the
    only ones whose bodies are read before they are authenticated, and all such bodies together
    stay within --max-buffered."""
    s = make(["--sign-key", "sign-key-transport", "--max-buffered", "16M"])
    pid = s.proc.pid
    n, size = 24, 8 * MIB
    payload = b"<x>" + b"a" * (size - 7) + b"</x>"
    rss_before = rss_kib(pid, "VmRSS")
    results = [None] * n

    def signed(i):
        c = connect(s, timeout=60)
        try:
            c.sendall(head("/pushCandidate?sign=" + "0" * 64, length=len(payload)) + payload)
            results[i] = Reader(c).response()[0]
        except OSError as e:
            results[i] = repr(e)
        finally:
            c.close()
    threads = [threading.Thread(target=signed, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    hwm = rss_kib(pid, "VmHWM")
    growth_mib = (hwm - rss_before) / 1024
    print(f"\n{n} clients x {size // MIB} MiB with a wrong ?sign=, --max-buffered 16M: "
          f"{results.count(401)} x 401, {results.count(503)} x 503; server RSS "
          f"{rss_before / 1024:.1f} MiB before, peak {hwm / 1024:.1f} MiB "
          f"(growth {growth_mib:.1f} MiB)")
    assert set(results) <= {401, 503}, results
    assert results.count(401) >= 2
    assert sanitized(pid) or growth_mib < 64, f"RSS grew by {growth_mib:.1f} MiB"  # 192 unbounded


def test_max_buffered_bodies_wait_then_503(make):
    s = make(["--bearer-token", TOKEN, "--max-body", "1M", "--max-buffered", "1M",
              "--request-timeout", "2"])
    auth = [f"Authorization: Bearer {TOKEN}"]
    big = push_body(helpers.new_id("big"), 7300010, pad=900 * 1024)
    assert 900 * 1024 < len(big) <= MIB

    def hold_database():
        db = sqlite3.connect(s.db_path, timeout=10, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")  # the push's commit waits for it
        return db

    # a's body holds 900 KiB of the 1 MiB budget while its commit waits for the database
    db = hold_database()
    a = connect(s, timeout=30)
    a.sendall(head(length=len(big), extra=auth) + big)
    time.sleep(0.3)  # a's body is read and waiting for the database
    # b (authenticated, 200 KiB) does not fit: no 100 Continue; after --request-timeout, 503
    b = connect(s, timeout=30)
    b.sendall(head(length=200 * 1024, expect=True, extra=auth))
    time.sleep(0.3)
    metrics = s.request("GET", "/metrics").body.decode()
    assert f"\nehrbridge_request_body_bytes {len(big)}\n" in metrics
    assert "\nehrbridge_requests_waiting_for_memory 1\n" in metrics
    rb = Reader(b)
    status, headers, body = rb.response()
    assert status == 503, (status, body)
    assert headers.get("retry-after") == "5"
    assert headers.get("connection") == "close"
    b.close()
    # requests without a body are still served meanwhile
    assert s.request("GET", "/healthz").status == 200
    db.rollback()
    db.close()
    status, _, answer = Reader(a).response()
    assert status == 200, answer
    a.close()

    # once memory frees, a waiting body goes on: c waits behind d's body, then gets its 100
    db = hold_database()
    d = connect(s, timeout=30)
    big_d = push_body(helpers.new_id("big"), 7300011, pad=900 * 1024)
    d.sendall(head(length=len(big_d), extra=auth) + big_d)
    time.sleep(0.3)
    small = push_body(helpers.new_id("small"), 7300012, pad=150 * 1024)
    c = connect(s, timeout=30)
    c.sendall(head(length=len(small), expect=True, extra=auth))
    time.sleep(0.3)
    db.rollback()
    db.close()
    rc = Reader(c)
    assert rc.response()[0] == 100
    c.sendall(small)
    status, _, answer = rc.response()
    assert status == 200 and b">true<" in answer, answer
    assert Reader(d).response()[0] == 200
    c.close()
    d.close()
    metrics = s.request("GET", "/metrics").body.decode()
    assert "\nehrbridge_request_body_bytes 0\n" in metrics
    assert "\nehrbridge_requests_waiting_for_memory 0\n" in metrics


def test_max_buffered_below_max_body_is_refused(tmp_path):
    r = sh.run([sh.ehrbridge_bin(), "serve", "--db", f"sqlite:{tmp_path / 'x.db'}",
                "--max-body", "8M", "--max-buffered", "4M"])
    assert r.returncode != 0
    assert b"--max-buffered" in r.stderr and b"--max-body" in r.stderr


# ---------------------------------------------------------------------------------------------
# Finding 7: the WSDL only to allowed sources, from any path

def test_wsdl_only_to_allowed_sources(make):
    refused = make(["--allow", "192.0.2.0/24"])
    for path in ("/healthz", "/readyz"):
        assert refused.request("GET", path).status == 200
        assert refused.request("HEAD", path).status == 200
    for path in ("/healthz?wsdl", "/readyz?wsdl", "/pushCandidate?wsdl", "/?wsdl",
                 "/healthz?x=1&wsdl"):
        for method in ("GET", "HEAD"):
            r = refused.request(method, path)
            assert r.status == 403, (method, path, r.status)
            assert b"definitions" not in r.body
    allowed = make(["--allow", "127.0.0.0/8"])
    r = allowed.request("GET", "/healthz?wsdl")
    assert r.status == 200 and b"definitions" in r.body


# ---------------------------------------------------------------------------------------------
# Finding 8: strict framing

SMUGGLING = {
    "obs-folded Transfer-Encoding":
        b"POST /pushCandidate HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
        b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
    "obs-folded Content-Length":
        b"POST /pushCandidate HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
        b"Content-Length:\r\n 5\r\n\r\nhello",
    "obs-fold of another header":
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n",
    "bare LF line ends":
        b"GET /healthz HTTP/1.1\nHost: x\n\n",
    "one bare LF":
        b"GET /healthz HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n",
    "HTTP/1.1 without Host":
        b"GET /healthz HTTP/1.1\r\n\r\n",
    "two Host headers":
        b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "chunk data without its CRLF":
        b"POST /pushCandidate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhelloXX0\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(SMUGGLING))
def test_lenient_framing_is_400(make, name):
    s = make()
    c = connect(s)
    c.sendall(SMUGGLING[name] + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    r = Reader(c)
    status, headers, _ = r.response()
    assert status == 400, (name, status)
    assert headers.get("connection") == "close"
    assert r.closed()  # the request behind it is never answered
    c.close()
    assert s.rows("SELECT count(*) AS n FROM push_log")[0]["n"] == 0


def test_strict_framing_keeps_what_is_valid(make):
    s = make()
    c = connect(s)
    c.sendall(b"\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /healthz HTTP/1.0\r\n\r\n")
    r = Reader(c)
    assert r.response()[0] == 200
    assert r.response()[0] == 200
    c.close()


# ---------------------------------------------------------------------------------------------
# Finding 9: IPv4-mapped allow ranges

def test_mapped_allow_range_admits_its_ipv4_clients(make):
    s = make(["--allow", "::ffff:127.0.0.0/104", "--bearer-token", TOKEN])
    assert s.request("GET", "/pushCandidate?wsdl").status == 200
    r = s.post_soap(push_body(helpers.new_id("mapped"), 7300020),
                    headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status == 200 and helpers.parse_push_answer(r)[0] == "true"
    other = make(["--allow", "::ffff:192.0.2.0/120"])
    assert other.request("GET", "/pushCandidate?wsdl").status == 403


def test_mapped_allow_range_wider_than_ipv4_is_refused(tmp_path):
    r = sh.run([sh.ehrbridge_bin(), "serve", "--db", f"sqlite:{tmp_path / 'x.db'}",
                "--allow", "::ffff:0:0/64"])
    assert r.returncode != 0
    assert b"IPv4-mapped" in r.stderr

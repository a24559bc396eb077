"""The vendor's security (spec "Security of webhooks", "Signature authentication", "Data
encryption", "WebService (SOAP) method") against the real binary over HTTPS, with the openssl and
curl command lines, zeep and npm soap: TLS 1.2/1.3 with forward-secret AEAD ciphers only, client
certificates, a certificate reload under load, Bearer, the HMAC signature (in ?sign= and as
Bearer), Basic, the allow list with X-Forwarded-For, AES-256-CBC data made by Node and by openssl,
and the replay window. Every mode is accepted when right and refused when wrong."""
import base64
import json
import shutil
import subprocess
import threading
import time

import pytest
import requests
import zeep
import zeep.transports

import helpers
import sec_helpers as sh

TOKEN = "tok-3f9a8c1e-secret"
SIGN_KEY = "qwer-sign-key-secret"
BASIC_USER, BASIC_PASS = "moka", "basic-pass-secret"
AES_KEY = "0123456789abcdef0123456789abcdef"
SECRETS = (TOKEN, SIGN_KEY, BASIC_PASS, AES_KEY)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return sh.Certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def make(tmp_path, certs):
    """Factory for servers of one test; each must stop cleanly (exit 0 on SIGTERM)."""
    made = []

    def start(args=(), tls=True, crt=None, key=None, client_cert=None, **kw):
        s = sh.SecServer(tmp_path / f"s{len(made)}", args, tls=tls, crt=crt or certs.a_crt,
                         key=key or certs.a_key, **kw)
        if kw.get("client_ca"):
            s.client_cert = client_cert or (certs.client_crt, certs.client_key)
        made.append(s)
        return s.start()
    yield start
    for s in made:
        if s.proc is not None:
            s.stop()


def push_xml(push_id, app_id, triggered_at="1505296287", data_text=None):
    if data_text is None:
        return helpers.envelope(helpers.minimal_push_xml(push_id, app_id).replace(
            "<triggeredAt>1505296287</triggeredAt>", f"<triggeredAt>{triggered_at}</triggeredAt>"))
    return helpers.envelope(
        f'<pushCandidate xmlns="{helpers.TNS}"><id>{push_id}</id><event>pushCandidate</event>'
        f"<triggeredAt>{triggered_at}</triggeredAt><data>{data_text}</data></pushCandidate>")


def answer(r):
    return helpers.parse_push_answer(r)


def no_secret_leaked(server, *extra):
    text = server.log() + helpers.dump_all_text(server.db_path)
    for s in SECRETS + extra:
        assert s not in text, f"secret {s[:6]}... found in the log or the database"


# ---------------------------------------------------------------------------------------------
# TLS

def openssl_client(port, *args, input_=b"Q\n"):
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
                          input=input_, capture_output=True, timeout=30, env=sh.clean_env())


def test_tls_protocols_and_ciphers(make, certs):
    s = make()
    # curl, verifying the certificate: HTTPS works
    r = subprocess.run(["curl", "-sS", "--cacert", str(certs.a_crt), "-o", "-", "-w",
                        "\n%{http_code} %{ssl_verify_result}", f"{s.base_url}/healthz"],
                       capture_output=True, text=True, timeout=30, env=sh.clean_env())
    assert r.returncode == 0 and r.stdout.endswith("200 0"), r
    # TLS 1.3 and TLS 1.2 with ECDHE + AES-GCM / ChaCha20
    r = openssl_client(s.port, "-tls1_3")
    assert r.returncode == 0 and b"TLSv1.3" in r.stdout, r.stderr
    for cipher in ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                   "ECDHE-RSA-CHACHA20-POLY1305"):
        r = openssl_client(s.port, "-tls1_2", "-cipher", cipher)
        assert r.returncode == 0 and f"Cipher is {cipher}".encode() in r.stdout, (cipher, r.stderr)
    # TLS 1.1 (and 1.0) offered: refused. The client is allowed to offer it (SECLEVEL=0), as a
    # control against `openssl s_server -tls1_1` shows.
    for proto in ("-tls1_1", "-tls1"):
        r = openssl_client(s.port, proto, "-cipher", "DEFAULT:@SECLEVEL=0")
        assert r.returncode != 0 and b"protocol version" in r.stderr + r.stdout, r
    # weak ciphers (no forward secrecy, CBC, SHA-1) offered: refused
    for cipher in ("AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA",
                   "ECDHE-RSA-AES256-SHA384", "DHE-RSA-AES128-GCM-SHA256"):
        r = openssl_client(s.port, "-tls1_2", "-cipher", f"{cipher}:@SECLEVEL=0")
        assert r.returncode != 0 and b"handshake failure" in r.stderr + r.stdout, (cipher, r)
    assert "tls handshake failed" in s.log()
    # the served WSDL names the https address
    r = s.request("GET", "/pushCandidate?wsdl")
    assert r.status == 200 and f'location="{s.push_url}"' in r.text


def test_openssl_client_could_offer_what_is_refused(tmp_path, certs):
    """The control for the test above: a permissive openssl s_server accepts TLS 1.1 and
    AES128-SHA from the same client command, so the refusals are ehrbridge's doing."""
    port = sh.free_port()
    srv = subprocess.Popen(["openssl", "s_server", "-accept", str(port), "-cert", str(certs.a_crt),
                            "-key", str(certs.a_key), "-cipher", "ALL:@SECLEVEL=0",
                            "-min_protocol", "TLSv1", "-www"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL, env=sh.clean_env())
    try:
        ok11 = ok_weak = False
        for _ in range(50):
            r = openssl_client(port, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
            ok11 = r.returncode == 0 and b"Protocol  : TLSv1.1" in r.stdout
            if ok11:
                break
            time.sleep(0.1)
        r = openssl_client(port, "-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0")
        ok_weak = r.returncode == 0 and b"AES128-SHA" in r.stdout
    finally:
        srv.terminate()
        srv.wait(10)
    assert ok11, "openssl s_client cannot offer TLS 1.1 here: the refusal test would prove nothing"
    assert ok_weak, "openssl s_client cannot offer AES128-SHA here"


def test_plain_http_when_no_certificate(make):
    s = make(tls=False)
    assert s.request("GET", "/healthz").status == 200
    assert "serving plain HTTP" in s.log()


def test_bad_certificate_files_stop_the_start(tmp_path, certs):
    r = sh.run([sh.ehrbridge_bin(), "serve", "--listen", f"127.0.0.1:{sh.free_port()}", "--db",
                f"sqlite:{tmp_path / 'x.db'}", "--tls-cert", str(certs.a_crt), "--tls-key",
                str(certs.b_key)])
    assert r.returncode == 1 and b"does not match the certificate" in r.stderr + r.stdout, r
    r = sh.run([sh.ehrbridge_bin(), "serve", "--tls-cert", str(certs.a_crt)])
    assert r.returncode == 2 and b"--tls-cert and --tls-key" in r.stderr, r
    r = sh.run([sh.ehrbridge_bin(), "check", "--db", f"sqlite:{tmp_path / 'y.db'}", "--tls-cert",
                str(certs.a_crt), "--tls-key", str(certs.a_key)])
    assert r.returncode == 0, r


def test_health_command_over_https(make, certs):
    """`ehrbridge health` (the container's health check) speaks HTTPS when --tls-cert is set,
    and presents the server's own certificate when client certificates are required."""
    s = make()
    tls = ["--tls-cert", str(certs.a_crt), "--tls-key", str(certs.a_key)]
    r = sh.run([sh.ehrbridge_bin(), "health", "--listen", f"127.0.0.1:{s.port}", *tls])
    assert r.returncode == 0 and b"answered 200" in r.stdout, r
    r = sh.run([sh.ehrbridge_bin(), "health", "--listen", f"127.0.0.1:{s.port}"])
    assert r.returncode == 1, r
    # the server's own certificate is a trusted client
    m = make(client_ca=certs.a_crt, client_cert=(certs.a_crt, certs.a_key))
    r = sh.run([sh.ehrbridge_bin(), "health", "--listen", f"127.0.0.1:{m.port}", *tls,
                "--tls-client-ca", str(certs.a_crt)])
    assert r.returncode == 0, r


def test_client_certificates(make, certs):
    s = make(client_ca=certs.ca_crt)
    base = ["curl", "-sS", "--cacert", str(certs.a_crt), "-o", "/dev/null", "-w", "%{http_code}"]
    ok = subprocess.run(base + ["--cert", str(certs.client_crt), "--key", str(certs.client_key),
                                f"{s.base_url}/healthz"], capture_output=True, text=True,
                        timeout=30, env=sh.clean_env())
    assert ok.returncode == 0 and ok.stdout == "200", ok
    for extra in ([], ["--cert", str(certs.rogue_crt), "--key", str(certs.rogue_key)]):
        bad = subprocess.run(base + extra + [f"{s.base_url}/healthz"], capture_output=True,
                             text=True, timeout=30, env=sh.clean_env())
        assert bad.returncode != 0 and bad.stdout in ("", "000"), bad
    # openssl s_client without a certificate, TLS 1.2: the handshake itself fails
    r = openssl_client(s.port, "-tls1_2")
    assert r.returncode != 0, r
    log = s.log()
    assert "peer did not return a certificate" in log.replace("_", " ")
    assert "client certificate refused" in log.replace("_", " ")
    # a push with the client certificate and zeep
    session = requests.Session()
    session.trust_env = False
    session.verify = str(certs.a_crt)
    session.cert = (str(certs.client_crt), str(certs.client_key))
    client = zeep.Client(s.wsdl_url, transport=zeep.transports.Transport(session=session))
    pid = helpers.new_id("mtls")
    res = client.service.pushCandidate(**helpers.contract_push(push_id=pid, application_id=7700001))
    assert res["return"] is True
    bare = requests.Session()
    bare.trust_env = False
    bare.verify = str(certs.a_crt)
    with pytest.raises(requests.exceptions.RequestException):
        zeep.Client(s.wsdl_url, transport=zeep.transports.Transport(session=bare))


def test_reload_on_sighup_while_pushes_continue(make, certs, tmp_path):
    crt, key = tmp_path / "live.crt", tmp_path / "live.key"
    shutil.copy(certs.a_crt, crt)
    shutil.copy(certs.a_key, key)
    s = make(crt=crt, key=key)
    stop = threading.Event()
    results, errors = [], []

    def pusher(keep_alive):
        conn = s.connection(verify=False) if keep_alive else None
        n = 0
        while not stop.is_set():
            n += 1
            c = conn or s.connection(verify=False)
            try:
                body = push_xml(helpers.new_id("hup"), 7800000 + n % 50)
                c.request("POST", "/pushCandidate", body.encode(), helpers.soap_headers())
                r = c.getresponse()
                data = r.read()
                results.append((time.monotonic(), r.status, helpers.parse_push_answer(
                    helpers.Response(r.status, {}, data))[0]))
            except Exception as e:  # noqa: BLE001 - every failure is a test failure
                errors.append(repr(e))
            finally:
                if not conn:
                    c.close()
        if conn:
            conn.close()

    threads = [threading.Thread(target=pusher, args=(ka,)) for ka in (True, False, False)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        old = s.connection(verify=False)
        old.request("GET", "/healthz")
        old.getresponse().read()
        assert sh.fingerprint(certs.a_crt) == _served_fingerprint(old)
        shutil.copy(certs.b_crt, crt)
        shutil.copy(certs.b_key, key)
        while not results:  # pushes were answered before the reload
            time.sleep(0.05)
        t_hup = time.monotonic()
        s.sighup()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            c = s.connection(verify=False)
            c.request("GET", "/healthz")
            c.getresponse().read()
            served = _served_fingerprint(c)
            c.close()
            if served == sh.fingerprint(certs.b_crt):
                break
            time.sleep(0.05)
        assert served == sh.fingerprint(certs.b_crt), "new connections do not get the new cert"
        t_new = time.monotonic()
        while not any(t > t_new for t, _, _ in list(results)) and time.monotonic() < deadline:
            time.sleep(0.05)  # and pushes go on after it
        # the connection made before the reload still works, with the old certificate
        old.request("GET", "/healthz")
        assert old.getresponse().status == 200
        assert _served_fingerprint(old) == sh.fingerprint(certs.a_crt)
        old.close()
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors[:5]
    assert any(t < t_hup for t, _, _ in results) and any(t > t_new for t, _, _ in results)
    assert all((st, ret) == (200, "true") for _, st, ret in results), results[:10]
    assert "TLS certificate reloaded" in s.log()
    # a reload that fails keeps the certificate in use
    crt.write_text("broken\n")
    s.sighup()
    time.sleep(0.5)
    c = s.connection(verify=False)
    c.request("GET", "/healthz")
    assert c.getresponse().status == 200 and _served_fingerprint(c) == sh.fingerprint(certs.b_crt)
    c.close()
    assert "TLS reload failed" in s.log()


def _served_fingerprint(conn):
    import hashlib
    return hashlib.sha256(conn.sock.getpeercert(binary_form=True)).hexdigest()


def test_sighup_without_tls_does_not_stop_the_server(make):
    s = make(tls=False)
    s.sighup()
    time.sleep(0.3)
    assert s.alive() and s.request("GET", "/healthz").status == 200
    assert "nothing to reload" in s.log()


# ---------------------------------------------------------------------------------------------
# Authentication

def test_bearer_token(make):
    s = make(["--bearer-token", TOKEN])
    pid = helpers.new_id("bearer")
    ok = s.post_soap(push_xml(pid, 7100001), headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status == 200 and answer(ok)[0] == "true", ok
    for bad in (None, "Bearer wrong", f"Bearer {TOKEN}x", f"Basic {TOKEN}"):
        h = {"Authorization": bad} if bad else {}
        r = s.post_soap(push_xml(helpers.new_id("bad"), 7100002), headers=h)
        assert r.status == 401, r
        assert r.headers.get("www-authenticate") == 'Bearer realm="ehrbridge"'
        assert helpers.fault_text(r) == "authentication failed"
        assert helpers.soap_version_of(r) == 11
    # SOAP 1.2 gets a 1.2 fault
    r = s.post_soap(helpers.envelope(helpers.minimal_push_xml("x12", 7100003), 12), soap=12)
    assert r.status == 401 and helpers.soap_version_of(r) == 12
    # refused on their headers: their bodies were never read, nothing of them is stored
    # (test_refused.py)
    assert s.rows("SELECT count(*) AS n FROM push_log")[0]["n"] == 1
    assert s.rows("SELECT count(*) AS n FROM candidate")[0]["n"] == 1
    assert not s.rows("SELECT 1 FROM push_log WHERE push_id = 'x12'")
    # health and the WSDL stay open (no credentials needed to read the contract)
    assert s.request("GET", "/healthz").status == 200
    assert s.request("GET", "/pushCandidate?wsdl").status == 200
    no_secret_leaked(s)


def test_signature_in_query(make, certs):
    s = make(["--sign-key-file", _secret_file(s_dir=certs.dir, name="sign", text=SIGN_KEY + "\n")])
    body = push_xml(helpers.new_id("sig"), 7200001)
    r = s.post_soap(body, query="sign=" + sh.sign(SIGN_KEY, body))
    assert r.status == 200 and answer(r)[0] == "true", r
    # curl sends the signature the vendor computes
    body2 = push_xml(helpers.new_id("curl"), 7200002)
    sig = sh.sign(SIGN_KEY, body2)
    c = subprocess.run(["curl", "-sS", "--cacert", str(certs.a_crt), "-H",
                        "Content-Type: text/xml; charset=utf-8", "--data-binary", body2,
                        f"{s.push_url}?sign={sig}"], capture_output=True, text=True, timeout=30,
                       env=sh.clean_env())
    assert c.returncode == 0 and "return>true</" in c.stdout, c
    # wrong key, tampered body, truncated signature, none
    tampered = body2.replace("7200002", "7200003")
    for query, b in ((f"sign={sh.sign('other', body2)}", body2), (f"sign={sig}", tampered),
                     (f"sign={sig[:40]}", body2), ("", body2)):
        r = s.post_soap(b, query=query)
        assert r.status == 401 and helpers.fault_text(r) == "authentication failed", (query, r)
    assert not s.rows("SELECT 1 FROM candidate WHERE application_id = 7200003")
    no_secret_leaked(s)


def _secret_file(s_dir, name, text):
    p = s_dir / f"{name}.secret"
    p.write_text(text)
    return p


class SigningTransport(zeep.transports.Transport):
    """A zeep transport that signs each request body as the vendor does (query or Bearer)."""

    def __init__(self, key, mode, **kw):
        super().__init__(**kw)
        self.key, self.mode = key, mode

    def post(self, address, message, headers):
        sig = sh.sign(self.key, message)
        if self.mode == "query":
            address += ("&" if "?" in address else "?") + "sign=" + sig
        else:
            headers = dict(headers, Authorization=f"Bearer {sig}")
        return super().post(address, message, headers)


def zeep_client(server, certs, transport_cls=zeep.transports.Transport, auth=None, headers=None,
                **kw):
    session = requests.Session()
    session.trust_env = False
    session.verify = str(certs.a_crt)
    session.auth = auth
    session.headers.update(headers or {})
    return zeep.Client(server.wsdl_url, transport=transport_cls(session=session, timeout=30, **kw))


@pytest.mark.parametrize("mode", ["query", "bearer"])
def test_zeep_signature(make, certs, mode):
    """The vendor's SOAP mode "uses the Bearer method": the signature as Bearer, or in ?sign=."""
    s = make(["--sign-key", SIGN_KEY])
    client = zeep_client(s, certs, SigningTransport, key=SIGN_KEY, mode=mode)
    res = client.service.pushCandidate(**helpers.contract_push(push_id=helpers.new_id(mode),
                                                               application_id=7300001))
    assert res["return"] is True
    wrong = zeep_client(s, certs, SigningTransport, key="not-the-key", mode=mode)
    with pytest.raises(zeep.exceptions.Fault) as e:
        wrong.service.pushCandidate(**helpers.contract_push(push_id=helpers.new_id(mode),
                                                            application_id=7300002))
    assert "authentication failed" in str(e.value)
    no_secret_leaked(s)


def test_zeep_bearer_and_basic(make, certs):
    s = make(["--bearer-token", TOKEN, "--basic-user", BASIC_USER, "--basic-password",
              BASIC_PASS])
    req = helpers.contract_push(push_id=helpers.new_id("zb"), application_id=7400001)
    assert zeep_client(s, certs, headers={"Authorization": f"Bearer {TOKEN}"}) \
        .service.pushCandidate(**req)["return"] is True
    req = helpers.contract_push(push_id=helpers.new_id("zb"), application_id=7400002)
    assert zeep_client(s, certs, auth=(BASIC_USER, BASIC_PASS)).service.pushCandidate(**req)[
        "return"] is True
    for auth in ((BASIC_USER, "wrong"), ("other", BASIC_PASS)):
        with pytest.raises(zeep.exceptions.Fault):
            zeep_client(s, certs, auth=auth).service.pushCandidate(**req)
    r = s.post_soap(push_xml("b", 1), headers={"Authorization": "Basic " + base64.b64encode(
        b"moka:wrong").decode()})
    assert r.status == 401
    assert r.headers["www-authenticate"] == ('Bearer realm="ehrbridge", Basic realm="ehrbridge", '
                                             'charset="UTF-8"')
    no_secret_leaked(s)


@pytest.fixture(scope="module")
def node_soap():
    """npm soap (tests/integration/node, installed with npm ci when missing)."""
    n = sh.node()
    npm = shutil.which("npm")
    assert npm, "npm is required for the npm soap client"
    if not (sh.NODE_DIR / "node_modules" / "soap").is_dir():
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=sh.NODE_DIR,
                           env=sh.clean_env(), capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr

    def call(server, req, *opts, tmp):
        f = tmp / f"req-{req['id']}.json"
        f.write_text(json.dumps(helpers.jsonable(req), ensure_ascii=False))
        return subprocess.run([n, str(sh.NODE_DIR / "secure_client.js"), server.wsdl_url, str(f),
                               *map(str, opts)], capture_output=True, text=True, timeout=60,
                              env=sh.clean_env())
    return call


def test_npm_soap_modes(make, certs, node_soap, tmp_path):
    s = make(["--bearer-token", TOKEN, "--sign-key", SIGN_KEY, "--basic-user", BASIC_USER,
              "--basic-password", BASIC_PASS])
    cases = [
        (("--ca", certs.a_crt, "--bearer", TOKEN), True),
        (("--insecure", "--sign-key", SIGN_KEY), True),
        (("--insecure", "--sign-bearer", SIGN_KEY), True),
        (("--ca", certs.a_crt, "--basic", f"{BASIC_USER}:{BASIC_PASS}"), True),
        (("--ca", certs.a_crt, "--bearer", "wrong"), False),
        (("--insecure", "--sign-key", "wrong-key"), False),
        (("--ca", certs.a_crt, "--basic", f"{BASIC_USER}:wrong"), False),
        (("--ca", certs.a_crt), False),
        (("--ca", certs.b_crt, "--bearer", TOKEN), False),  # the server is not trusted
    ]
    for i, (opts, ok) in enumerate(cases):
        req = helpers.contract_push(push_id=helpers.new_id(f"node{i}"), application_id=7500000 + i)
        r = node_soap(s, req, *opts, tmp=tmp_path)
        if ok:
            assert r.returncode == 0, (opts, r.stderr)
            out = json.loads(r.stdout)
            assert out["status"] == 200 and out["result"]["return"] in (True, "true"), out
        else:
            assert r.returncode != 0, (opts, r.stdout)
    no_secret_leaked(s)


def test_npm_soap_with_client_certificate(make, certs, node_soap, tmp_path):
    s = make(client_ca=certs.ca_crt)
    req = helpers.contract_push(push_id=helpers.new_id("nm"), application_id=7600001)
    r = node_soap(s, req, "--ca", certs.a_crt, "--cert", certs.client_crt, "--key",
                  certs.client_key, tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    r = node_soap(s, helpers.contract_push(push_id=helpers.new_id("nm"), application_id=7600002),
                  "--ca", certs.a_crt, tmp=tmp_path)
    assert r.returncode != 0


def test_allow_list_and_forwarded_for(make):
    s = make(["--allow", "192.0.2.0/24, 2001:db8::/32", "--trusted-proxy", "127.0.0.1/32"])
    pid = helpers.new_id("xff")
    # the direct peer (127.0.0.1) is a trusted proxy, not an allowed client
    r = s.post_soap(push_xml(pid, 7900001))
    assert r.status == 403 and helpers.fault_text(r) == "forbidden: source address not allowed"
    assert "www-authenticate" not in r.headers
    ok = s.post_soap(push_xml(pid, 7900001), headers={"X-Forwarded-For": "192.0.2.44"})
    assert ok.status == 200 and answer(ok)[0] == "true", ok
    ok6 = s.post_soap(push_xml(helpers.new_id("v6"), 7900002),
                      headers={"X-Forwarded-For": "198.51.100.9, 2001:db8::7"})
    assert ok6.status == 200, ok6
    # a client cannot smuggle an allowed address in front of its own
    r = s.post_soap(push_xml(helpers.new_id("x"), 7900003),
                    headers={"X-Forwarded-For": "192.0.2.44, 198.51.100.9"})
    assert r.status == 403
    r = s.post_json(sh.rest_body(helpers.new_id("j"), {"applicationId": 1}))
    assert r.status == 403 and json.loads(r.body)["msg"] == "forbidden: source address not allowed"
    # the WSDL is behind the allow list too; the health checks are not
    assert s.request("GET", "/pushCandidate?wsdl").status == 403
    assert s.request("GET", "/pushCandidate?wsdl", headers={"X-Forwarded-For": "192.0.2.1"}) \
        .status == 200
    assert s.request("GET", "/healthz").status == 200
    # a 403 stores nothing at all
    assert s.rows("SELECT count(*) AS n FROM push_log")[0]["n"] == 2


def test_allow_list_without_proxies_ignores_the_header(make):
    s = make(["--allow", "192.0.2.0/24"])
    r = s.post_soap(push_xml(helpers.new_id("nx"), 7900010), headers={"X-Forwarded-For": "192.0.2.4"})
    assert r.status == 403
    s2 = make(["--allow", "127.0.0.0/8, ::1"])
    assert s2.post_soap(push_xml(helpers.new_id("lo"), 7900011)).status == 200


def test_allow_list_and_credentials_both_required(make):
    s = make(["--allow", "127.0.0.1", "--bearer-token", TOKEN])
    body = push_xml(helpers.new_id("both"), 7900020)
    assert s.post_soap(body).status == 401
    assert s.post_soap(body, headers={"Authorization": f"Bearer {TOKEN}"}).status == 200


# ---------------------------------------------------------------------------------------------
# Encryption

def test_encrypted_data_from_node_and_openssl(make):
    s = make(["--aes-key", AES_KEY])
    plain_json = json.dumps({"applicationId": 8100001, "CandidateId": 1, "name": "加密",
                             "educationInfo": [{"school": "S", "now": False}]},
                            ensure_ascii=False)
    plain_xml = "<applicationId>8100002</applicationId><name>X &amp; Y</name>"
    cases = [(sh.node_encrypt(plain_json, AES_KEY), 8100001),
             (sh.openssl_encrypt(plain_xml, AES_KEY), 8100002),
             (sh.node_encrypt(f"<data>{plain_xml.replace('8100002', '8100003')}</data>", AES_KEY),
              8100003),
             (sh.openssl_encrypt(plain_json.replace("8100001", "8100004"), AES_KEY), 8100004)]
    # both tools write the same format: each decrypts what the other made
    assert sh.openssl_decrypt(cases[0][0], AES_KEY) == plain_json
    assert sh.node_decrypt(cases[1][0], AES_KEY) == plain_xml
    for hex_text, app in cases:
        r = s.post_soap(push_xml(helpers.new_id("enc"), 0, data_text=hex_text))
        assert answer(r)[0] == "true", (app, r)
        assert s.rows("SELECT name FROM candidate WHERE application_id = ?", app), app
    row = s.rows("SELECT name FROM candidate WHERE application_id = 8100002")[0]
    assert row["name"] == "X & Y"
    assert s.rows("SELECT school FROM candidate_education WHERE application_id = 8100001")
    # the push log keeps the decrypted canonical payload, not the ciphertext
    pl = s.rows("SELECT payload FROM push_log WHERE application_id = 8100001")[0]["payload"]
    assert "<applicationId>8100001</applicationId>" in pl


def test_fixed_iv(make):
    iv = "fedcba9876543210"
    s = make(["--aes-key", AES_KEY.encode().hex(), "--aes-iv", iv])
    hex_text = sh.node_encrypt(json.dumps({"applicationId": 8200001}), AES_KEY, iv)
    assert hex_text == sh.openssl_encrypt(json.dumps({"applicationId": 8200001}), AES_KEY, iv)
    r = s.post_soap(push_xml(helpers.new_id("iv"), 0, data_text=hex_text))
    assert answer(r)[0] == "true", r


def test_wrong_key_and_truncated_ciphertext(make):
    s = make(["--aes-key", AES_KEY])
    plain = json.dumps({"applicationId": 8300001, "name": "secret-name"})
    good = sh.node_encrypt(plain, AES_KEY)
    # one message for every failure (no padding oracle: test_data_oracle.py)
    want = "data: cannot be decrypted and read"
    cases = {
        "wrong-key": sh.node_encrypt(plain, "x" * 32),
        "truncated-block": good[:-32],
        "truncated-odd": good[:-5],
        "truncated-cut": good[:-6],
    }
    for name, hex_text in cases.items():
        pid = helpers.new_id(name)
        r = s.post_soap(push_xml(pid, 0, data_text=hex_text))
        ret, msg = answer(r)
        assert r.status == 200 and ret == "false" and want in msg, (name, r)
        row = s.rows("SELECT outcome, message, raw FROM push_log WHERE push_id = ?", pid)[0]
        assert row["outcome"] == "rejected" and want in row["message"]
        raw = row["raw"]
        raw = raw.decode() if isinstance(raw, bytes) else raw
        assert hex_text in raw, name  # the raw push is kept for a replay with the right key
    assert not s.rows("SELECT 1 FROM candidate WHERE application_id = 8300001")
    assert "secret-name" not in s.log()


def test_ciphertext_without_a_key(make):
    s = make()
    r = s.post_soap(push_xml(helpers.new_id("nokey"), 0,
                             data_text=sh.node_encrypt('{"applicationId":1}', AES_KEY)))
    ret, msg = answer(r)
    assert ret == "false" and "no AES key" in msg


# ---------------------------------------------------------------------------------------------
# The replay window

def test_max_age(make):
    s = make(["--max-age", "300"])
    now = int(time.time())
    fresh = s.post_soap(push_xml(helpers.new_id("fresh"), 8400001, triggered_at=str(now)))
    assert answer(fresh)[0] == "true", fresh
    ms = s.post_soap(push_xml(helpers.new_id("ms"), 8400002, triggered_at=str(now * 1000 - 5000)))
    assert answer(ms)[0] == "true", ms
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 10))
    assert answer(s.post_soap(push_xml(helpers.new_id("iso"), 8400003, triggered_at=iso)))[0] \
        == "true"
    for t, want in ((str(now - 3600), "older than 300 s"), ("1505296287", "older than 300 s"),
                    (str(now + 3600), "in the future"), ("soon", "timestamp")):
        r = s.post_soap(push_xml(helpers.new_id("old"), 8400009, triggered_at=t))
        ret, msg = answer(r)
        assert ret == "false" and want in msg, (t, r)
    r = s.post_json(sh.rest_body(helpers.new_id("rold"), {"applicationId": 8400010},
                                 triggered_at=now - 3600))
    assert r.status == 400 and "older than" in json.loads(r.body)["msg"]
    assert not s.rows("SELECT 1 FROM candidate WHERE application_id IN (8400009, 8400010)")


def test_max_age_off_by_default(make):
    s = make()
    r = s.post_soap(push_xml(helpers.new_id("old"), 8500001, triggered_at="1505296287"))
    assert answer(r)[0] == "true"

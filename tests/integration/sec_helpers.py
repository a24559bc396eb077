"""Helpers of the security and REST integration tests (test_security.py, test_rest.py):
certificates made with the openssl command line, an `ehrbridge serve` over HTTPS (or HTTP) with
the options of a test, HTTPS requests with or without a client certificate, the vendor's
signature, and the Node encryption helper (node/encrypt.js).

Self-contained on purpose: these servers run on SQLite, security does not depend on the database."""
import hashlib
import hmac
import http.client as httpclient
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import helpers

NODE_DIR = helpers.HERE / "node"
START_TIMEOUT = 15.0


def ehrbridge_bin():
    return os.environ.get("EHRBRIDGE_BIN") or str(helpers.REPO / "build" / "ehrbridge")


def clean_env(extra=None):
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


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 60)
    kw.setdefault("env", clean_env())
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(args, **kw)


# ---------------------------------------------------------------------------------------------
# Certificates

class Certs:
    """Server certificates A (RSA, made with the command of docs/security.md) and B (EC P-256), a client CA
    with a client certificate, and a rogue CA with a client certificate it signed."""

    def __init__(self, folder):
        self.dir = Path(folder)
        self.dir.mkdir(parents=True, exist_ok=True)
        d = self.dir
        self.a_crt, self.a_key = d / "a.crt", d / "a.key"
        self.b_crt, self.b_key = d / "b.crt", d / "b.key"
        san = "subjectAltName=DNS:localhost,IP:127.0.0.1"
        self._ok(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-days", "2",
                  "-nodes", "-keyout", self.a_key, "-out", self.a_crt, "-subj", "/CN=localhost",
                  "-addext", san])
        self._ok(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-sha256", "-days", "2", "-nodes", "-keyout",
                  self.b_key, "-out", self.b_crt, "-subj", "/CN=localhost", "-addext", san])
        self.ca_crt, self.ca_key = self._ca("ca")
        self.client_crt, self.client_key = self._leaf("client", self.ca_crt, self.ca_key)
        self.rogue_ca_crt, self.rogue_ca_key = self._ca("rogue-ca")
        self.rogue_crt, self.rogue_key = self._leaf("rogue", self.rogue_ca_crt, self.rogue_ca_key)

    def _ok(self, args):
        r = run([str(a) for a in args])
        assert r.returncode == 0, f"{args}: {r.stderr.decode(errors='replace')}"

    def _ca(self, name):
        crt, key = self.dir / f"{name}.crt", self.dir / f"{name}.key"
        self._ok(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-sha256", "-days", "2", "-nodes", "-keyout", key,
                  "-out", crt, "-subj", f"/CN={name}", "-addext",
                  "basicConstraints=critical,CA:TRUE", "-addext",
                  "keyUsage=critical,keyCertSign,cRLSign"])
        return crt, key

    def _leaf(self, name, ca_crt, ca_key):
        crt, key, csr = (self.dir / f"{name}.crt", self.dir / f"{name}.key",
                         self.dir / f"{name}.csr")
        self._ok(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=moka-webhooks"])
        self._ok(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
                  "-CAcreateserial", "-days", "2", "-sha256", "-out", crt])
        return crt, key


def fingerprint(pem_path):
    """SHA-256 of the certificate's DER form."""
    der = ssl.PEM_cert_to_DER_cert(Path(pem_path).read_text())
    return hashlib.sha256(der).hexdigest()


# ---------------------------------------------------------------------------------------------
# The server

class SecServer:
    """One `ehrbridge serve` on SQLite with the given options; HTTPS with certs (cert/key
    files) unless tls=False. stderr (the log) goes to a file."""

    def __init__(self, workdir, args=(), tls=True, crt=None, key=None, client_ca=None, env=None,
                 public_url=True):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.base_url = f"{self.scheme}://127.0.0.1:{self.port}"
        self.push_url = f"{self.base_url}/pushCandidate"
        self.wsdl_url = f"{self.push_url}?wsdl"
        self.db_path = self.workdir / "x.db"
        self.log_path = self.workdir / f"server-{self.port}.log"
        self.crt, self.key = crt, key
        # --attachments off: the vendor sample's download links are not fetched (test_archive.py)
        self.args = ["serve", "--listen", f"127.0.0.1:{self.port}", "--db",
                     f"sqlite:{self.db_path}", "--attachments", "off"]
        if tls:
            self.args += ["--tls-cert", str(crt), "--tls-key", str(key)]
        if client_ca:
            self.args += ["--tls-client-ca", str(client_ca)]
        if public_url:
            self.args += ["--public-url", self.push_url]
        self.args += [str(a) for a in args]
        self.env = env
        self.proc = None
        self.client_cert = None  # (crt, key) presented by request() when mTLS is on

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([ehrbridge_bin(), *self.args], stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=clean_env(self.env))
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"ehrbridge exited with {self.proc.returncode}; log:\n"
                                     f"{self.log()}")
            try:
                r = self.request("GET", "/healthz", timeout=2, cert=self.client_cert)
                if r.status == 200:
                    return self
                last = r
            except (OSError, ssl.SSLError) as e:
                last = e
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"no 200 from /healthz (last: {last!r}); log:\n{self.log()}")

    def context(self, cert=None, verify=True):
        ctx = ssl.create_default_context(cafile=str(self.crt)) if verify else \
            ssl._create_unverified_context()  # noqa: SLF001 - the vendor does not verify
        if cert:
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        return ctx

    def connection(self, cert=None, verify=True, timeout=30):
        if not self.tls:
            return httpclient.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        return httpclient.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                          context=self.context(cert, verify))

    def request(self, method, path, body=None, headers=None, cert=None, verify=True, timeout=30):
        conn = self.connection(cert, verify, timeout)
        try:
            if isinstance(body, str):
                body = body.encode("utf-8")
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return helpers.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def post_json(self, body, query="", headers=None, cert=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.request("POST", "/moka" + (f"?{query}" if query else ""), body, h,
                            cert=cert or self.client_cert)

    def post_soap(self, xml, query="", headers=None, soap=11, cert=None):
        h = helpers.soap_headers(soap)
        h.update(headers or {})
        return self.request("POST", "/pushCandidate" + (f"?{query}" if query else ""), xml, h,
                            cert=cert or self.client_cert)

    def log(self):
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def db(self):
        return helpers.db_connect(self.db_path)

    def rows(self, sql, *args):
        conn = self.db()
        try:
            return helpers.rows(conn, sql, *args)
        finally:
            conn.close()

    def sighup(self):
        self.proc.send_signal(signal.SIGHUP)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None
            self._log.close()

    def stop(self):
        """SIGTERM; asserts a clean exit 0."""
        assert self.alive(), f"ehrbridge died; log:\n{self.log()[-4000:]}"
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(15)
        self.proc = None
        self._log.close()
        assert rc == 0, f"exit {rc}; log:\n{self.log()[-4000:]}"


# ---------------------------------------------------------------------------------------------
# The vendor's signature and encryption

def sign(key, body):
    """The vendor's signature: HMAC-SHA256 of the raw body with the signing key, hex."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()


def node():
    n = shutil.which("node")
    assert n, "node is required (apt-get install nodejs)"
    return n


def node_encrypt(plaintext, key, iv=None):
    """Hex ciphertext from Node's crypto module (node/encrypt.js); IV in front without iv."""
    args = [node(), str(NODE_DIR / "encrypt.js"), "encrypt", key] + ([iv] if iv else [])
    r = run(args, input=plaintext.encode("utf-8"), stdin=None)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def node_decrypt(hex_text, key, iv=None):
    args = [node(), str(NODE_DIR / "encrypt.js"), "decrypt", key] + ([iv] if iv else [])
    r = run(args, input=hex_text.encode(), stdin=None)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode("utf-8")


def _hex_material(text, n):
    if len(text) == 2 * n and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    b = text.encode("utf-8")
    assert len(b) == n
    return b.hex()


def openssl_encrypt(plaintext, key, iv=None):
    """Hex ciphertext from the openssl command line; without iv a random one is put in front."""
    iv_hex = _hex_material(iv, 16) if iv else os.urandom(16).hex()
    r = run(["openssl", "enc", "-aes-256-cbc", "-K", _hex_material(key, 32), "-iv", iv_hex],
            input=plaintext.encode("utf-8"), stdin=None)
    assert r.returncode == 0, r.stderr
    return ("" if iv else iv_hex) + r.stdout.hex()


def openssl_decrypt(hex_text, key, iv=None):
    data = bytes.fromhex(hex_text)
    if iv:
        iv_hex = _hex_material(iv, 16)
    else:
        iv_hex, data = data[:16].hex(), data[16:]
    r = run(["openssl", "enc", "-d", "-aes-256-cbc", "-K", _hex_material(key, 32), "-iv",
             iv_hex], input=data, stdin=None)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode("utf-8")


def rest_body(push_id, data, event="pushCandidate", triggered_at=None):
    """A REST push as the vendor's example shapes it; data may be a dict or a string."""
    return json.dumps({"id": push_id, "event": event,
                       "triggeredAt": int(time.time()) if triggered_at is None else triggered_at,
                       "data": data}, ensure_ascii=False, separators=(",", ":"))

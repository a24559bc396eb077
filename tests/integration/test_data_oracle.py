"""No padding oracle on encrypted `data` (AES-256-CBC, the vendor's format, which has no MAC):
every failure to decrypt or read it gets one answer, over SOAP (`false` + message), REST pushes
(400 + msg) and REST interview events (400 + msg). An attacker holding one real ciphertext sets
the last byte of the block before the last to each of its 256 values: one is the original (the
push is stored), and the 255 others (254 with a bad padding, one whose padding checks out over a
plaintext that no longer parses) must all be answered alike, or the answers give the plaintext
away byte by byte. Other failures (a wrong key, cut or odd ciphertexts, plaintexts that are not a
candidate in JSON or XML) get the same answer too. Runs on SQLite: the answer does not depend on
the database."""
import json
import os
import subprocess

import pytest

import helpers
from conftest import Server, _stop_and_check

AES_KEY = "0123456789abcdef0123456789abcdef"
# decrypt.h: eb_decrypt_failure
FAILURE = ("data: cannot be decrypted and read (wrong key or IV, a truncated or corrupted "
           "ciphertext, or a plaintext that is not a candidate in JSON or XML)")


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "oracle", backend="sqlite")
    s.args += ["--aes-key", AES_KEY]
    s.start()
    yield s
    _stop_and_check(s)


def encrypt(plaintext, key=AES_KEY):
    """Hex ciphertext of plaintext (str: UTF-8; or bytes) from the openssl command line, a
    random IV in front."""
    if isinstance(plaintext, str):
        plaintext = plaintext.encode("utf-8")
    iv = os.urandom(16).hex()
    r = subprocess.run(["openssl", "enc", "-aes-256-cbc", "-K", key.encode().hex(), "-iv", iv],
                       input=plaintext, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return iv + r.stdout.hex()


def fitted(obj):
    """obj as compact JSON, a filler member grown until 4 bytes of padding are left, so that
    exactly one variation of the last byte ends in a valid 0x01 pad."""
    filler = ""
    while True:
        text = json.dumps(dict(obj, filler=filler), separators=(",", ":"), ensure_ascii=False)
        if len(text.encode()) % 16 == 12:
            return text
        filler += "f"


def variations(hex_text):
    """(value, ciphertext hex, is_original) for the 256 values of the last byte of the block
    before the last."""
    b = bytes.fromhex(hex_text)
    at = len(b) - 17
    for v in range(256):
        x = bytearray(b)
        x[at] = v
        yield v, x.hex(), v == b[at]


def soap_push(server, pid, data_text):
    xml = helpers.envelope(
        f'<pushCandidate xmlns="{helpers.TNS}"><id>{pid}</id><event>pushCandidate</event>'
        f"<triggeredAt>1505296287</triggeredAt><data>{data_text}</data></pushCandidate>")
    r = helpers.post_soap(server, xml)
    ret, msg = helpers.parse_push_answer(r)
    return r.status, ret, msg, helpers.fault_text(r)


def rest(server, body):
    r = helpers.http(server.base_url, "POST", "/pushCandidate", json.dumps(body),
                     {"Content-Type": "application/json"})
    try:
        answer = json.loads(r.body)
    except ValueError:
        answer = {"unreadable": r.text[:200]}
    return r.status, answer.get("code"), answer.get("msg")


def rest_push(server, pid, data_text):
    return rest(server, {"id": pid, "event": "pushCandidate", "triggeredAt": 1505296287,
                         "data": data_text})


def rest_interview(server, pid, data_text):
    return rest(server, {"id": pid, "event": "createInterviewsInfo",
                         "triggeredAt": 1505296287, "data": data_text})


INTERVIEW = {"applicationIds": [8600001], "interviews": [
    {"event_id": "oracle-1", "applicationIds": [8600001], "startTime": 1597392000000}]}

# (mode, sender, plaintext of the real push, the status and code (SOAP: return) of a push that
# is stored)
MODES = [
    ("soap", soap_push, {"applicationId": 8500001, "name": "secret-name"}, (200, "true")),
    ("rest", rest_push, {"applicationId": 8500002, "name": "secret-name"}, (200, 0)),
    ("interview", rest_interview, INTERVIEW, (200, 0)),
]
FAILED = {"soap": (200, "false", FAILURE, None), "rest": (400, 400, FAILURE),
          "interview": (400, 400, FAILURE)}


@pytest.mark.parametrize("mode,send,plain,stored", MODES, ids=[m[0] for m in MODES])
def test_every_variation_of_the_last_block_gets_one_answer(server, mode, send, plain, stored):
    real = encrypt(fitted(plain))
    answers = {}
    for v, hex_text, original in variations(real):
        got = send(server, helpers.new_id(f"or-{mode}-{v:02x}"), hex_text)
        if original:
            assert got[:2] == stored, (v, got)
        else:
            answers.setdefault(got, []).append(v)
    print(f"\n{mode}: 255 variations of the last byte of the block before the last: "
          f"{len(answers)} distinct answer(s): "
          + "; ".join(f"{len(vs)} x {a}" for a, vs in answers.items()))
    assert list(answers) == [FAILED[mode]], answers
    assert "secret-name" not in server.log()


@pytest.mark.parametrize("mode,send,plain,stored", MODES, ids=[m[0] for m in MODES])
def test_every_failure_to_decrypt_or_read_gets_the_same_answer(server, mode, send, plain, stored):
    good = encrypt(json.dumps(plain))
    cases = {
        "wrong key": encrypt(json.dumps(plain), "z" * 32),
        "one block short": good[:-32],
        "odd number of digits": good[:-5],
        "cut inside a block": good[:-6],
        "the IV alone": good[:32],
        "neither JSON nor XML": encrypt("hello, not a candidate"),
        "JSON that does not parse": encrypt('{"applicationId": 1, "name": "secret-name",}'),
        "JSON that is not an object": encrypt("[1, 2]"),
        "XML that is not well-formed": encrypt("<applicationId>1</applicationId><name>x</nam>"),
        "XML with a DTD": encrypt('<!DOCTYPE d [<!ENTITY e "x">]><name>&e;</name>'),
        "invalid UTF-8": encrypt(b'{"applicationId": 1, "name": "\xff"}'),
    }
    got = {name: send(server, helpers.new_id("fail"), hex_text) for name, hex_text in cases.items()}
    print(f"\n{mode}: " + "; ".join(f"{n}: {a[0]}" for n, a in got.items()))
    assert {n: a for n, a in got.items() if a != FAILED[mode]} == {}
    # and the right key still reads it
    assert send(server, helpers.new_id("ok"), good)[:2] == stored

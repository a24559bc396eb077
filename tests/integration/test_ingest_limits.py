"""Ingest's limits through the real server: every limit holds in every encoding the parser reads
(a UTF-16 flood of attributes is refused quickly, UTF-16, GB18030 and ISO-8859-1 pushes are
stored), and floods of JSON values, attributes and comments are refused with a peak memory
(the server's RSS high-water mark, reset before each request) within the bound ingest states:
20 x the body size + 48 MiB. The figures are printed (pytest -s)."""
import json
import time

import pytest

import helpers

pytestmark = pytest.mark.sqlite_only

MiB = 1 << 20
BODY = 8 * MiB
PEAK_FACTOR, PEAK_FLOOR = 20, 48 * MiB
U4E3E = "\u4e3e"  # bytes 3E 4E in UTF-16LE: a '>' to a scan of the raw bytes


def status_kib(server, key):
    with open(f"/proc/{server.proc.pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {key} in /proc/{server.proc.pid}/status")


def peak_growth(server, send):
    """Runs send(); returns its answer and how far it took the server's RSS above where it was."""
    with open(f"/proc/{server.proc.pid}/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    before = status_kib(server, "VmRSS")
    r = send()
    return r, status_kib(server, "VmHWM") - before


def post(server, body, content_type):
    if isinstance(body, str):
        body = body.encode("utf-8")
    return helpers.http(server.base_url, "POST", "/pushCandidate", body,
                        {"Content-Type": content_type, "SOAPAction": '"pushCandidate"'}, timeout=120)


def fill(head, unit, tail, size=BODY):
    return head + unit * ((size - len(head) - len(tail)) // len(unit)) + tail


@pytest.fixture
def srv(make_server):
    s = make_server()
    # warm up: every worker's parser exists before anything is measured
    for _ in range(8):
        r, ret, _ = helpers.push(s, helpers.minimal_push_xml(helpers.new_id("warm"), 7100))
        assert ret == "true", r
    return s


def test_floods_are_refused_within_the_memory_bound(srv):
    json_head = '{"id":"j","event":"pushCandidate","triggeredAt":1505296287,"data":{"applicationId":1,"x":'
    xml_head = f'<pushCandidate xmlns="{helpers.TNS}"><id>x</id><data><applicationId>1</applicationId>'
    attrs = "<e" + "".join(f' a{i}=""' for i in range(250)) + "/>"
    floods = [
        ('REST {"x":[{},{},...]}', fill(json_head + "[", "{},", "{}]}}"), "application/json", 413),
        ("SOAP elements with 250 attributes", fill(xml_head, attrs, "</data></pushCandidate>"),
         "text/xml", 413),
        ("SOAP <!----><!---->...", fill(xml_head, "<!---->", "</data></pushCandidate>"),
         "text/xml", 413),
    ]
    for name, body, ctype, want in floods:
        r, grew = peak_growth(srv, lambda: post(srv, body, ctype))
        print(f"{name}: {len(body) / MiB:.1f} MiB body -> HTTP {r.status}, server peak RSS "
              f"+{grew / MiB:.1f} MiB = {grew / len(body):.1f} x body")
        assert r.status == want, (name, r)
        assert grew <= PEAK_FACTOR * len(body) + PEAK_FLOOR, name
    # the JSON flood's answer names the limit
    r = post(srv, fill(json_head + "[", "{},", "{}]}}"), "application/json")
    assert "more than 200000 JSON values" in json.loads(r.body)["msg"]
    assert srv.alive()


def test_utf16_attribute_flood_is_refused_quickly(srv):
    tag = f"<x{U4E3E}" + "".join(f' a{i}="v"' for i in range(160000)) + "/>"
    for enc in ("utf-16", "utf-16-be"):
        body = ('<?xml version="1.0" encoding="UTF-16"?>'
                + helpers.minimal_push_xml(helpers.new_id("u16"), 7101, data_extra_xml=tag))
        raw = body.encode(enc)
        t0 = time.monotonic()
        r = post(srv, raw, "text/xml; charset=utf-16")
        print(f"UTF-16 ({enc}) flood of 160,000 attributes, {len(raw) / MiB:.1f} MiB: "
              f"HTTP {r.status} in {time.monotonic() - t0:.3f} s")
        assert r.status == 500 and "more than 256 attributes" in helpers.fault_text(r), r
    assert srv.alive()


@pytest.mark.parametrize("enc,decl", [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"),
                                      ("gb18030", "GB18030"), ("iso-8859-1", "ISO-8859-1")])
def test_other_encodings_stay_accepted(srv, enc, decl):
    app = {"utf-16": 7110, "utf-16-be": 7111, "gb18030": 7112, "iso-8859-1": 7113}[enc]
    name = "José" if enc == "iso-8859-1" else helpers.PII[0]
    fields = helpers.minimal_data(app, name=name)
    push_id = helpers.new_id(enc)
    body = (f'<?xml version="1.0" encoding="{decl}"?>'
            f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            + helpers.minimal_push_xml(push_id, app, data_fields=fields)
            + "</soap:Body></soap:Envelope>")
    r = post(srv, body.encode(enc), f"text/xml; charset={decl.lower()}")
    ret, msg = helpers.parse_push_answer(r)
    assert ret == "true", (r, msg)
    conn = srv.db()
    try:
        got = helpers.rows(conn, "SELECT name FROM candidate WHERE application_id = ?", str(app))
    finally:
        conn.close()
    assert got and got[0]["name"] == name

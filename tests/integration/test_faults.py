"""Messages that are not a pushCandidate request: SOAP Faults (HTTP 500 for SOAP 1.1, 400 for
SOAP 1.2) with a faultstring; DTDs refused and entities never expanded; bodies over --max-body
answered 413 and read by the client; the server keeps serving."""
import http.client
import re
import time

import pytest

import helpers

ENTITY_TEXT = "ENTITY-REPLACEMENT-7f3a9c"


def count(conn, sql, *args):
    return conn.execute(sql, args).fetchone()[0]


def candidates(server):
    with server.db() as conn:
        return count(conn, "SELECT count(*) FROM candidate")


def check_fault(r, soap):
    assert r.status == (400 if soap == 12 else 500), r
    assert helpers.soap_version_of(r) == soap, r
    want = "application/soap+xml" if soap == 12 else "text/xml"
    assert r.content_type.startswith(want), r
    text = helpers.fault_text(r)
    assert text is not None, f"not a SOAP Fault: {r}"
    assert text.strip(), f"empty faultstring: {r}"
    return text


@pytest.mark.parametrize("soap", [11, 12])
def test_other_operation_is_a_fault(server, soap):
    before = candidates(server)
    body = (f'<createInterviewsInfo xmlns="{helpers.TNS}"><id>{helpers.new_id()}</id>'
            "<event>createInterviewsInfo</event><data><applicationIds>1</applicationIds></data>"
            "</createInterviewsInfo>")
    r = helpers.post_soap(server, helpers.envelope(body, soap), soap)
    check_fault(r, soap)
    assert candidates(server) == before


@pytest.mark.parametrize("soap", [11, 12])
def test_empty_body_element_is_a_fault(server, soap):
    r = helpers.post_soap(server, helpers.envelope("", soap), soap)
    check_fault(r, soap)


@pytest.mark.parametrize("soap", [11, 12])
def test_malformed_xml_is_a_fault(server, soap):
    before = candidates(server)
    pid = helpers.new_id("malformed")
    xml = helpers.envelope(helpers.minimal_push_xml(pid, 8000000 + soap), soap)
    xml = xml[: len(xml) // 2]  # cut in the middle of the record
    r = helpers.post_soap(server, xml, soap)
    check_fault(r, soap)
    assert candidates(server) == before


def test_not_xml_at_all_is_a_fault(server):
    r = helpers.post_soap(server, "this is not XML", 11)
    check_fault(r, 11)


@pytest.mark.parametrize("soap", [11, 12])
def test_doctype_with_internal_entity_is_refused_unexpanded(server, soap):
    before = candidates(server)
    pid, app = helpers.new_id("dtd"), 8100000 + soap
    push = helpers.minimal_push_xml(pid, app).replace(
        f"<name>{helpers.PII[0]}</name>", "<name>pre&ent;post</name>")
    env_ns = helpers.SOAP12_ENV if soap == 12 else helpers.SOAP11_ENV
    xml = (f'<?xml version="1.0"?>\n<!DOCTYPE soap:Envelope [<!ENTITY ent "{ENTITY_TEXT}">]>\n'
           f'<soap:Envelope xmlns:soap="{env_ns}"><soap:Body>{push}</soap:Body></soap:Envelope>')
    r = helpers.post_soap(server, xml, soap)
    check_fault(r, soap)
    expanded = "pre" + ENTITY_TEXT + "post"
    assert ENTITY_TEXT not in r.text
    assert expanded not in helpers.dump_all_text(server.db_path)
    assert ENTITY_TEXT not in server.log()
    with server.db() as conn:
        assert count(conn, "SELECT count(*) FROM candidate WHERE application_id = ?", app) == 0
    assert candidates(server) == before


def test_entity_inside_escaped_string_is_not_expanded(server):
    """A DTD inside the vendor's XML string (escaped under the operation) is refused too."""
    before = candidates(server)
    pid, app = helpers.new_id("dtd-inner"), 8100100
    inner = (f'<?xml version="1.0"?><!DOCTYPE root [<!ENTITY ent "{ENTITY_TEXT}">]>'
             f"<root><id>{pid}</id><event>pushCandidate</event><triggeredAt>1</triggeredAt>"
             f"<data><applicationId>{app}</applicationId><name>pre&ent;post</name></data></root>")
    body = f'<pushCandidate xmlns="{helpers.TNS}">{helpers.xml_escape(inner)}</pushCandidate>'
    r = helpers.post_soap(server, helpers.envelope(body, 11), 11)
    check_fault(r, 11)
    assert ENTITY_TEXT not in r.text
    assert "pre" + ENTITY_TEXT + "post" not in helpers.dump_all_text(server.db_path)
    with server.db() as conn:
        assert count(conn, "SELECT count(*) FROM candidate WHERE application_id = ?", app) == 0
    assert candidates(server) == before


def test_external_entity_is_never_read(server, tmp_path):
    secret = tmp_path / "secret.txt"
    marker = "XXE-FILE-CONTENT-5d1e"
    secret.write_text(marker)
    pid, app = helpers.new_id("xxe"), 8200000
    push = helpers.minimal_push_xml(pid, app).replace(f"<name>{helpers.PII[0]}</name>", "<name>&xxe;</name>")
    xml = (f'<?xml version="1.0"?>\n<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
           f'<soap:Envelope xmlns:soap="{helpers.SOAP11_ENV}"><soap:Body>{push}</soap:Body></soap:Envelope>')
    r = helpers.post_soap(server, xml, 11)
    check_fault(r, 11)
    assert marker not in r.text
    assert marker not in helpers.dump_all_text(server.db_path)
    assert marker not in server.log()


def test_entity_expansion_bomb_is_refused_quickly(server):
    lol = ['<!ENTITY a0 "lollollollollollollollollollol">']
    for i in range(1, 10):
        lol.append(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">')
    push = helpers.minimal_push_xml(helpers.new_id("bomb"), 8300000).replace(
        f"<name>{helpers.PII[0]}</name>", "<name>&a9;</name>")
    xml = (f'<?xml version="1.0"?>\n<!DOCTYPE soap:Envelope [{"".join(lol)}]>\n'
           f'<soap:Envelope xmlns:soap="{helpers.SOAP11_ENV}"><soap:Body>{push}</soap:Body></soap:Envelope>')
    t0 = time.monotonic()
    r = helpers.post_soap(server, xml, 11)
    assert time.monotonic() - t0 < 5, "the entity bomb took more than 5 s"
    check_fault(r, 11)
    assert "lollollol" not in r.text
    assert helpers.http(server.base_url, "GET", "/healthz").status == 200


# --- body size limit -------------------------------------------------------------------------

def big_push(size, pid, app):
    """A valid push of about `size` bytes (a long experience summary)."""
    base = helpers.envelope(helpers.minimal_push_xml(pid, app, data_extra_xml=
        "<experienceInfo><element><company>大公司</company><summary>PAD</summary></element></experienceInfo>"))
    pad = "x" * max(0, size - (len(base.encode()) - len("PAD")))
    return base.replace("PAD", pad)


@pytest.fixture
def small_limit_server(make_server):
    return make_server(["--max-body", "100K"])


def test_body_over_max_body_is_413_and_read_by_the_client(small_limit_server):
    s = small_limit_server
    pid = helpers.new_id("big")
    body = big_push(200 * 1024, pid, 8400001).encode()
    assert len(body) >= 200 * 1024
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=15)
    try:
        conn.request("POST", "/pushCandidate", body=body, headers=helpers.soap_headers(11))
        resp = conn.getresponse()
        data = resp.read()
    except (ConnectionResetError, BrokenPipeError) as e:
        pytest.fail(f"the client did not receive an answer to a body over --max-body: {e!r}")
    finally:
        conn.close()
    assert resp.status == 413, (resp.status, data[:500])
    assert re.search(rb"(?i)too large|limit|max", data), data[:500]
    # the server keeps serving, and stored nothing
    assert helpers.http(s.base_url, "GET", "/healthz").status == 200
    _, ret, msg = helpers.push(s, helpers.minimal_push_xml(helpers.new_id("after-big"), 8400002))
    assert ret == "true", msg
    with s.db() as c:
        assert count(c, "SELECT count(*) FROM candidate WHERE application_id = 8400001") == 0


def test_chunked_body_over_max_body_is_413(small_limit_server):
    s = small_limit_server
    body = big_push(200 * 1024, helpers.new_id("big-chunked"), 8400003).encode()
    chunks = (body[i:i + 8192] for i in range(0, len(body), 8192))
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=15)
    try:
        conn.request("POST", "/pushCandidate", body=chunks, headers=helpers.soap_headers(11),
                     encode_chunked=True)
        resp = conn.getresponse()
        data = resp.read()
    except (ConnectionResetError, BrokenPipeError) as e:
        pytest.fail(f"the client did not receive an answer to a chunked body over --max-body: {e!r}")
    finally:
        conn.close()
    assert resp.status == 413, (resp.status, data[:500])
    assert helpers.http(s.base_url, "GET", "/healthz").status == 200


def test_body_under_max_body_is_accepted(small_limit_server):
    s = small_limit_server
    pid = helpers.new_id("under")
    body = big_push(90 * 1024, pid, 8400004)
    r = helpers.post_soap(s, body, 11)
    assert helpers.parse_push_answer(r)[0] == "true", r
    with s.db() as c:
        (n,) = c.execute("SELECT length(summary) FROM candidate_experience WHERE application_id = 8400004").fetchone()
    assert n > 80 * 1024


def test_default_limit_accepts_a_large_record(server):
    """The default --max-body (8 MiB) takes a 1 MiB record."""
    pid = helpers.new_id("1mib")
    r = helpers.post_soap(server, big_push(1024 * 1024, pid, 8400005), 11)
    assert helpers.parse_push_answer(r)[0] == "true", r


def test_keepalive_connection_serves_several_requests(server):
    """Two pushes and a GET on one HTTP/1.1 connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    try:
        for i in range(2):
            body = helpers.envelope(helpers.minimal_push_xml(helpers.new_id("ka"), 8500000 + i)).encode()
            conn.request("POST", "/pushCandidate", body=body, headers=helpers.soap_headers(11))
            r = conn.getresponse()
            data = r.read()
            assert r.status == 200 and b">true<" in data, data
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        r.read()
        assert r.status == 200
    finally:
        conn.close()


def test_get_unknown_path_is_404_and_other_method_405(server):
    assert helpers.http(server.base_url, "GET", "/nope").status == 404
    assert helpers.http(server.base_url, "DELETE", "/pushCandidate").status == 405


def test_fault_does_not_carry_a_previous_request_fault(make_server):
    """One worker answers a SOAP 1.2 fault and then other requests: nothing of the first fault
    (its Reason text names the first request's element) may reach the later answers."""
    s = make_server(["--workers", "1"])
    marker = "leakCheckOperationQ7"
    r1 = helpers.post_soap(s, helpers.envelope(f'<{marker} xmlns="{helpers.TNS}"/>', 12), 12)
    check_fault(r1, 12)
    bad = helpers.envelope(helpers.minimal_push_xml(helpers.new_id("after-fault"), 8600001), 11)
    r2 = helpers.post_soap(s, bad[: len(bad) // 2], 11)
    check_fault(r2, 11)
    assert marker not in r2.text, r2
    assert helpers.soap_version_of(r2) == 11 and "Reason" not in r2.text, r2
    _, ret, _ = r3 = helpers.push(s, helpers.minimal_push_xml(helpers.new_id("after-fault2"), 8600002))
    assert ret == "true" and marker not in r3[0].text, r3[0]

"""Raw HTTP posts of every input shape: the vendor's printed XML example (escaped string, CDATA,
under the operation or under arg0, as lower-case elements, with or without namespace, SOAP 1.1
and 1.2), the contract's typed form, and every fixture of tests/fixtures/shapes/. Each answer is
HTTP 200 with return true in the request's SOAP version, and the candidate is in the database."""
import re

import pytest

import helpers

PRINTED = (helpers.INTEGRATION_FIXTURES / "vendor-printed.xml").read_text(encoding="utf-8")
# The printed page has raw '&' in two URLs; a well-formed rendering of the same document:
WELLFORMED = re.sub(r"&(?!amp;|lt;|gt;|quot;|apos;|#)", "&amp;", PRINTED)
ROOT_CHILDREN = re.search(r"<root>(.*)</root>", WELLFORMED, re.S).group(1)


def cdata(s):
    return "<![CDATA[" + s.replace("]]>", "]]]]><![CDATA[>") + "]]>"


TNS = helpers.TNS
SHAPES = {
    # name: (soap version, pushCandidate element)
    "soap11-escaped-string": (11, f'<pushCandidate xmlns="{TNS}">{helpers.xml_escape(WELLFORMED)}</pushCandidate>'),
    "soap11-cdata-under-arg0": (11, f'<ns:pushCandidate xmlns:ns="{TNS}"><arg0>{cdata(WELLFORMED)}</arg0></ns:pushCandidate>'),
    "soap12-escaped-under-arg0": (12, f'<ns:pushCandidate xmlns:ns="{TNS}"><arg0>{helpers.xml_escape(WELLFORMED)}</arg0></ns:pushCandidate>'),
    "soap12-cdata": (12, f'<pushCandidate xmlns="{TNS}">{cdata(WELLFORMED)}</pushCandidate>'),
    "soap11-lowercase-elements": (11, f'<pushCandidate xmlns="{TNS}">{ROOT_CHILDREN}</pushCandidate>'),
    "soap12-lowercase-elements-no-namespace": (12, f"<pushCandidate>{ROOT_CHILDREN}</pushCandidate>"),
    "soap11-printed-verbatim-escaped": (11, f'<pushCandidate xmlns="{TNS}">{helpers.xml_escape(PRINTED)}</pushCandidate>'),
    "soap11-printed-verbatim-cdata-with-margin": (11, f'<pushCandidate xmlns="{TNS}">{cdata(chr(10) + "       " + PRINTED)}</pushCandidate>'),
}


def check_answer(r, soap):
    assert r.status == 200, r
    ret, msg = helpers.parse_push_answer(r)
    assert ret == "true", f"return {ret!r} message {msg!r}: {r}"
    assert re.search(r"<(\w+:)?return>true</(\w+:)?return>", r.text), r
    assert helpers.soap_version_of(r) == soap, r
    want = "application/soap+xml" if soap == 12 else "text/xml"
    assert r.content_type.startswith(want), r


def check_printed_candidate(server):
    with server.db() as conn:
        c = helpers.rows(conn, "SELECT * FROM candidate WHERE application_id = 12798")
        assert len(c) == 1, c
        c = c[0]
        assert c["name"] == "邵旭冬"
        assert c["candidate_id"] == 8030
        assert c["birth_year"] == 1992
        assert c["source"] == "Others", c["source"]
        assert c["job_title"] == "java工程师"
        assert helpers.db_text(c["offer_salary_number"]) == "8000"
        assert c["offer_checkin_date"] == "2018-05-03"  # sent as 2018-5-3: normalised
        assert c["offer_last_company"] == "郑州麦田伙伴科技有限公司"
        assert "&Expires=1505300229&Signature=" in c["resume_url"], c["resume_url"]
        exp = helpers.rows(conn, "SELECT company FROM candidate_experience WHERE application_id = 12798 ORDER BY seq")
        assert [e["company"] for e in exp] == ["北京有利科技有限公司", "北京水果电商技术有限公司"]
        cf = helpers.rows(conn, "SELECT * FROM candidate_custom_field WHERE application_id = 12798 ORDER BY seq")
        assert len(cf) == 9
        assert [(r["name"], helpers.db_text(r["value"])) for r in cf[:2]] == [("身高", "175"), ("Contact name", "张三")]
        opts = conn.execute("SELECT count(*) FROM candidate_interviewer_feedback_subject_option "
                            "WHERE application_id = 12798").fetchone()[0]
        assert opts == 2
        log = helpers.rows(conn, "SELECT outcome FROM push_log WHERE push_id = 'f353e5ce-17e0-4783-bee4-4a6b734b20fe'")
        assert [x["outcome"] for x in log] == ["stored"]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_printed_vendor_example(make_server, shape):
    soap, body = SHAPES[shape]
    s = make_server()
    r = helpers.post_soap(s, helpers.envelope(body, soap), soap)
    check_answer(r, soap)
    check_printed_candidate(s)


@pytest.mark.parametrize("soap", [11, 12])
def test_contract_typed_form(make_server, soap):
    """The vendor's JSON example written as the contract's typed elements (camelCase)."""
    s = make_server()
    pid = helpers.new_id("typed")
    r = helpers.post_soap(s, helpers.envelope(helpers.contract_xml(helpers.contract_push(push_id=pid)), soap), soap)
    check_answer(r, soap)
    with s.db() as conn:
        c = helpers.rows(conn, "SELECT name, phone, last_push_id FROM candidate WHERE application_id = 12798")
        assert c == [{"name": "邵旭冬", "phone": "18600000000", "last_push_id": pid}]
        assert conn.execute("SELECT count(*) FROM candidate_custom_field WHERE application_id = 12798").fetchone()[0] == 11


# --- the ingest engineer's fixtures (tests/fixtures/shapes/), whatever is there ---------------

def shape_files():
    if not helpers.SHAPES_DIR.is_dir():
        return []
    return sorted(p for p in helpers.SHAPES_DIR.iterdir() if p.is_file() and p.suffix == ".xml")


def test_shapes_fixtures_present():
    """tests/fixtures/shapes/ holds the request shapes the ingest module is built for."""
    files = shape_files()
    assert files, f"no *.xml request fixtures in {helpers.SHAPES_DIR}"


@pytest.mark.parametrize("path", shape_files(), ids=lambda p: p.name)
def test_shapes_fixture(make_server, path):
    body = path.read_bytes()
    soap = 12 if helpers.SOAP12_ENV.encode() in body else 11
    s = make_server()
    r = helpers.post_soap(s, body, soap)
    check_answer(r, soap)
    with s.db() as conn:
        n = conn.execute("SELECT count(*) FROM candidate").fetchone()[0]
        logs = helpers.rows(conn, "SELECT outcome, message FROM push_log")
    assert n == 1 and [x["outcome"] for x in logs] == ["stored"], logs

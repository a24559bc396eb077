"""The vendor's JSON example (tests/fixtures/integration/vendor-sample.json), pushed by real SOAP
clients built only from the served WSDL (zeep and npm soap, SOAP 1.1 and 1.2), then read back from
the database field by field."""
import json
import re
import types

import pytest
import requests
import zeep
import zeep.plugins
import zeep.transports

from lxml import etree

import helpers
from conftest import Server, _stop_and_check

CLIENTS = ["zeep-soap11", "zeep-soap12", "node-soap11", "node-soap12"]
APP_ID = 12798


def zeep_client(wsdl_url):
    session = requests.Session()
    session.trust_env = False  # no proxy between the client and the loopback server
    return zeep.Client(wsdl_url, transport=zeep.transports.Transport(session=session, timeout=30))


def zeep_push(wsdl_url, port, req):
    """Returns (answer, wire): wire has the request's and the answer's Content-Type and envelope."""
    history = zeep.plugins.HistoryPlugin()
    client = zeep_client(wsdl_url)
    client.plugins.append(history)
    svc = client.bind("EhrBridgeService", port)
    res = svc.pushCandidate(**req)
    wire = {
        "request_content_type": history.last_sent["http_headers"].get("Content-Type"),
        "request_envelope_ns": etree.QName(history.last_sent["envelope"]).namespace,
        "response_content_type": history.last_received["http_headers"].get("Content-Type"),
        "response_envelope_ns": etree.QName(history.last_received["envelope"]).namespace,
    }
    return res, wire


def answer_return(result):
    """The `return` of a zeep answer (an object with return/message, or the bare boolean)."""
    if isinstance(result, bool):
        return result
    return result["return"]


@pytest.fixture(scope="module", params=CLIENTS)
def pushed(request, tmp_path_factory, backend):
    """A fresh server; the vendor's record pushed once by the client of this parameter."""
    client = request.param
    node_client = request.getfixturevalue("node_client") if client.startswith("node") else None
    s = Server(tmp_path_factory.mktemp(client), backend=backend).start()
    push_id = helpers.new_id(client)
    req = helpers.contract_push(push_id=push_id)
    out = types.SimpleNamespace(server=s, push_id=push_id, client=client, ok=None, detail=None,
                                req=req, wire=None)
    try:
        if client.startswith("zeep"):
            port = "EhrBridgeSoap12Port" if client.endswith("12") else "EhrBridgeSoap11Port"
            res, out.wire = zeep_push(s.wsdl_url, port, req)
            out.ok = answer_return(res)
            out.detail = repr(res)
        else:
            f = s.workdir / "request.json"
            f.write_text(json.dumps(helpers.jsonable(req), ensure_ascii=False), encoding="utf-8")
            r = node_client(s.wsdl_url, f, soap12=client.endswith("12"))
            out.detail = f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
            if r.returncode == 0:
                printed = json.loads(r.stdout)
                out.ok = printed["result"].get("return") if printed["result"] else None
                out.wire = {
                    "request_content_type": printed["request"]["contentType"],
                    "request_envelope_ns": printed["request"]["envelopeNs"],
                    "response_content_type": printed["response"]["contentType"],
                    "response_envelope_ns": printed["response"]["envelopeNs"],
                }
    except Exception as e:  # the failure is reported by test_client_gets_true
        out.detail = f"{type(e).__name__}: {e}"
    except BaseException:
        s.kill()
        raise
    yield out
    _stop_and_check(s)


def fail_info(p):
    return f"client {p.client}: {p.detail}\nserver log:\n{p.server.log()[-3000:]}"


def test_client_gets_true(pushed):
    assert pushed.ok is True, fail_info(pushed)


def test_wire_soap_version(pushed):
    """The client spoke the version of its port, and was answered in the same version."""
    assert pushed.wire is not None, fail_info(pushed)
    v12 = pushed.client.endswith("12")
    env_ns = helpers.SOAP12_ENV if v12 else helpers.SOAP11_ENV
    ctype = "application/soap+xml" if v12 else "text/xml"
    w = pushed.wire
    assert w["request_envelope_ns"] == env_ns, w
    assert ctype in (w["request_content_type"] or ""), w
    assert ctype in (w["response_content_type"] or ""), w
    assert w["response_envelope_ns"] == env_ns, w


def candidate_row(p):
    with p.server.db() as conn:
        rs = helpers.rows(conn, "SELECT * FROM candidate WHERE application_id = ?", APP_ID)
    assert len(rs) == 1, f"expected one candidate row for {APP_ID}, got {len(rs)}; " + fail_info(p)
    return rs[0]


EXPECTED_CANDIDATE = {
    "name": "邵旭冬",
    "phone": "18600000000",
    "email": "shaodong@example.com",
    "citizen_id": "410322199202152910",
    "birth_year": 1992,
    "native_place_code": 310107,
    "candidate_id": 8030,
    "gender": "Male",
    "job_title": "黑龙江-资易通业务线-催收部-CEO",
    "job_department": "运维部",
    "offer_salary_number": "8000",
    "offer_checkin_date": "2018-05-03",  # sent as 2018-5-3: dates are normalised
    "offer_creator_name": "赵摩卡",
    "referrer_name": "杨",
    "operator_name": "李明",
    "owners_employee_id": "220",
    "last_company": "郑州麦田伙伴科技有限公司",
}


@pytest.mark.parametrize("column", sorted(EXPECTED_CANDIDATE))
def test_candidate_column(pushed, column):
    row = candidate_row(pushed)
    assert column in row, f"candidate has no column {column}; columns: {sorted(row)}"
    exp = EXPECTED_CANDIDATE[column]
    got = row[column]
    if isinstance(exp, int):
        assert got == exp, f"{column}: {got!r} != {exp!r}"
    else:
        assert helpers.db_text(got) == exp, f"{column}: {got!r} != {exp!r}"


def test_candidate_name_byte_for_byte(pushed):
    with pushed.server.db() as conn:
        (blob,) = conn.execute("SELECT CAST(name AS BLOB) FROM candidate WHERE application_id = ?",
                               (APP_ID,)).fetchone()
    assert bytes(blob) == "邵旭冬".encode("utf-8")


def test_candidate_every_scalar_field(pushed):
    """Every scalar field that was sent (nested objects flattened with their prefix) is in its
    column with the value sent (text values compared trimmed)."""
    row = candidate_row(pushed)
    expected = helpers.flatten_scalars(pushed.req["data"], "tns:Candidate")
    expected.update(NORMALISED_DATES)
    missing = sorted(c for c in expected if c not in row)
    wrong = {c: (row[c], expected[c]) for c in expected
             if c in row and not helpers.same_value(row[c], expected[c])}
    assert not missing, f"columns missing in candidate: {missing}"
    assert not wrong, f"columns with other values than sent (got, sent): {wrong}"


# The sample's dates that the date grammar normalises (ISO 8601; birthDate is accurate to the
# day: its date in the EHR's time zone, UTC here); every other date is sent normalised already.
NORMALISED_DATES = {"birth_date": "2020-03-17", "offer_checkin_date": "2018-05-03",
                    "offer_finished_at": "2018-04-23T09:10:26.000Z"}


def as_stored(item):
    """An array item as stored: the vendor's now rule (now = true: endDate ignored, NULL; in a
    time-period custom field's JSON value, null)."""
    item = dict(item)
    if item.get("now") is True and "endDate" in item:
        item["endDate"] = None
    if item.get("now") is True and isinstance(item.get("value"), str):
        try:
            v = json.loads(item["value"])
        except ValueError:
            v = None
        if isinstance(v, dict) and "endDate" in v:
            v["endDate"] = None
            item["value"] = json.dumps(v)
    return item


def child_rows(p, table, order="seq"):
    with p.server.db() as conn:
        assert table in helpers.tables(conn), \
            f"no table {table}; tables: {sorted(helpers.tables(conn))}"
        return helpers.rows(conn, f'SELECT * FROM "{table}" WHERE application_id = ? ORDER BY {order}',
                            APP_ID)


def test_education(pushed):
    rs = child_rows(pushed, "candidate_education")
    assert len(rs) == 1
    assert rs[0]["school"] == "北京邮电大学"
    assert rs[0]["speciality"] == "土木工程"
    assert rs[0]["start_date"] == "2011-09" and rs[0]["end_date"] == "2015-06"


def test_experience_in_order(pushed):
    rs = child_rows(pushed, "candidate_experience")
    assert [r["company"] for r in rs] == ["北京有利科技有限公司", "北京水果电商技术有限公司"]
    assert [r["title"] for r in rs] == ["高级Java工程师", "java工程师"]


def test_custom_fields(pushed):
    rs = child_rows(pushed, "candidate_custom_field")
    assert len(rs) == 11, [r["name"] for r in rs]
    internship = [r for r in rs if (r["name"] or "").strip() == "Internship期"]
    assert len(internship) == 1, [r["name"] for r in rs]
    value = internship[0]["value"]
    # now = true: the time period's endDate is ignored (sent as 2005-01)
    assert json.loads(value) == {"startDate": "2004-01", "endDate": None}, value
    height = [r for r in rs if r["name"] == "身高"]
    assert len(height) == 1 and helpers.db_text(height[0]["value"]) == "175"


def test_interviewers(pushed):
    rs = child_rows(pushed, "candidate_interviewer")
    assert [r["name"] for r in rs] == ["李明", "王宏"]
    assert rs[0]["feedback"] == "水平一般"
    assert rs[1]["feedback"] == "水平有限"
    # roundOtherName is "any": kept as JSON text
    assert json.loads(rs[0]["round_other_name"]) == {"en-US": {"name": "1st round"}}


def parent_seq_column(conn, table, parent_hint):
    """The column of a nested child table that holds its parent row's seq (interviewer_seq,
    parent_seq, ...); None when there is none."""
    cols = helpers.columns(conn, table)
    cands = [c for c in cols if c.endswith("seq") and c != "seq"]
    hinted = [c for c in cands if parent_hint in c]
    return (hinted or cands or [None])[0]


def test_interviewer_feedback(pushed):
    with pushed.server.db() as conn:
        t = "candidate_interviewer_feedback"
        assert t in helpers.tables(conn), sorted(helpers.tables(conn))
        rs = helpers.rows(conn, f'SELECT * FROM "{t}" WHERE application_id = ?', APP_ID)
        assert len(rs) == 3, rs
        pcol = parent_seq_column(conn, t, "interviewer")
        assert pcol, f"{t} has no column naming its interviewer; columns {helpers.columns(conn, t)}"
        iv = helpers.rows(conn, "SELECT seq FROM candidate_interviewer WHERE application_id = ? "
                                "ORDER BY seq", APP_ID)
        first = iv[0]["seq"]
        assert sorted(r[pcol] for r in rs) == [first] * 3, (pcol, rs)
        titles = [r["title"] for r in sorted(rs, key=lambda r: r["seq"])]
        assert titles == ["题目1的标题", "题目2的标题", "题目3的标题"]


def test_interviewer_feedback_subject_options(pushed):
    with pushed.server.db() as conn:
        t = "candidate_interviewer_feedback_subject_option"
        assert t in helpers.tables(conn), sorted(helpers.tables(conn))
        cols = helpers.columns(conn, t)
        value_cols = [c for c in cols if c != "application_id" and not c.endswith("seq")]
        assert len(value_cols) == 1, f"{t}: which column holds the option? {cols}"
        rs = helpers.rows(conn, f'SELECT * FROM "{t}" WHERE application_id = ? ORDER BY seq', APP_ID)
        assert [r[value_cols[0]] for r in rs] == ["选项1", "选项2"]


def test_feedback_subject_any_results(pushed):
    with pushed.server.db() as conn:
        t = "candidate_interviewer_feedback_subject"
        assert t in helpers.tables(conn), sorted(helpers.tables(conn))
        rs = helpers.rows(conn, f'SELECT * FROM "{t}" WHERE application_id = ?', APP_ID)
        assert sorted(helpers.db_text(r["result"]) for r in rs) == sorted(["9", "1", "技术很棒"])


def test_labels(pushed):
    rs = child_rows(pushed, "candidate_label")
    assert [(r["id"], r["label"]) for r in rs] == [(76, "特别厉害"), (62, "FisH")]


def test_remarks(pushed):
    rs = child_rows(pushed, "candidate_remark")
    assert len(rs) == 1
    assert rs[0]["content"].strip() == "这个Candidate还不错@[李国兴](1)"
    assert rs[0]["creator_name"] == "李国兴"
    assert rs[0]["is_private"] == 1


ARRAY_TABLES = {  # contract array -> child table (docs/architecture.md: candidate_<name without Info/List>)
    "educationInfo": "candidate_education",
    "experienceInfo": "candidate_experience",
    "projectInfo": "candidate_project",
    "languageInfo": "candidate_language",
    "sourceList": "candidate_source",
    "jobRanksInfo": "candidate_job_rank",
    "headcountInfo": "candidate_headcount",
    "interviewers": "candidate_interviewer",
    "customFields": "candidate_custom_field",
    "ehrCustomFields": "candidate_ehr_custom_field",
    "attachments": "candidate_attachment",
    "examReportLinks": "candidate_exam_report_link",
    "examAttachments": "candidate_exam_attachment",
    "label": "candidate_label",
    "remarks": "candidate_remark",
}


@pytest.mark.parametrize("array", sorted(ARRAY_TABLES))
def test_array_rows_field_by_field(pushed, array):
    """Each top-level array of the record: one row per item, in order, every scalar as sent."""
    sent = pushed.req["data"][array]["element"]
    item_type = helpers.contract().list_item_type(
        dict((n, t) for n, t, _ in helpers.contract().types["Candidate"])[array].split(":")[1])
    rs = child_rows(pushed, ARRAY_TABLES[array])
    assert len(rs) == len(sent)
    for i, (row, item) in enumerate(zip(rs, sent)):
        exp = helpers.flatten_scalars(as_stored(item), item_type)
        missing = sorted(c for c in exp if c not in row)
        wrong = {c: (row[c], exp[c]) for c in exp if c in row and not helpers.same_value(row[c], exp[c])}
        assert not missing and not wrong, f"{array}[{i}]: missing {missing}, wrong (got, sent) {wrong}"


def test_push_log_row(pushed):
    with pushed.server.db() as conn:
        rs = helpers.rows(conn, "SELECT * FROM push_log WHERE push_id = ?", pushed.push_id)
        total = conn.execute("SELECT count(*) FROM push_log").fetchone()[0]
    assert len(rs) == 1 and total == 1, (rs, total)
    r = rs[0]
    assert r["outcome"] == "stored"
    assert r["event"] == "pushCandidate"
    assert r["application_id"] == APP_ID
    assert r["candidate_id"] == 8030
    assert r["triggered_at"] is not None and "1505296287" in helpers.db_text(r["triggered_at"])
    assert r["received_at"] is not None
    assert not r["message"]
    assert re.search(r"<(\w+:)?pushCandidate\b", r["payload"]), r["payload"][:300]
    assert "邵旭冬" in r["payload"]


def test_candidate_last_push_id(pushed):
    row = candidate_row(pushed)
    assert row.get("last_push_id") == pushed.push_id
    assert row.get("updated_at") is not None

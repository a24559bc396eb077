"""Tolerance: a push is refused only for what storing needs (id, event, data.applicationId); any
other value that does not fit its type is stored as NULL (or as what the date grammar reads,
normalised to ISO 8601) and listed in push_warning (push_id, seq, field, value, reason), and the
answer is true with a message counting them. The vendor's now rule (now = true: endDate ignored,
no warning). The same over REST and several SOAP shapes (typed elements, SOAP 1.2, the vendor's
<root> document sent as a string), on every backend. The EHR's time zone (--timezone) for a
day-accurate field that arrives as an instant."""
import copy
import json
import re

import pytest

import helpers

VENDOR_APP = 12798


def rest(server, body):
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body, ensure_ascii=False)
    if isinstance(body, str):
        body = body.encode("utf-8")
    return helpers.http(server.base_url, "POST", "/moka", body,
                        {"Content-Type": "application/json"})


def warnings_of(server, push_id):
    conn = server.db()
    try:
        rows = helpers.rows(conn, "SELECT seq, field, value, reason FROM push_warning "
                                  "WHERE push_id = ? ORDER BY seq", push_id)
    finally:
        conn.close()
    assert [r["seq"] for r in rows] == list(range(len(rows)))
    return {(r["field"], r["value"], r["reason"]) for r in rows}


def one_row(server, sql, *args):
    conn = server.db()
    try:
        rows = helpers.rows(conn, sql, *args)
    finally:
        conn.close()
    assert len(rows) == 1, rows
    return rows[0]


def varied_sample(push_id):
    """The vendor's JSON example with values that do not fit their types, and dates in every
    form of the grammar."""
    d = json.loads((helpers.FIXTURES / "vendor-sample.json").read_text(encoding="utf-8"),
                   strict=False)  # the printed example has raw newlines in strings
    d["id"] = push_id
    c = d["data"]
    c["birthYear"] = "1992年"
    c["birthDate"] = "19920315"                        # 8 digits: yyyyMMdd
    c["moved_at"] = "1533291912000"                    # 13 digits: Unix ms
    c["created_at"] = "1533291912"                     # 10 digits: Unix s
    c["finishedAt"] = "2019/08/23"
    c["archivedAt"] = "2019.08"
    c["educationInfo"][0].update(now=True, endDate="至今", startDate="2011")
    c["experienceInfo"][0].update(now=True, endDate="2017-09")  # ignored: NULL, no warning
    c["experienceInfo"][1].update(now="maybe", startDate="2015-5")
    c["projectInfo"][0].update(startDate="2018.09", endDate="下个月")
    o = c["offer"]
    o["salaryNumber"] = "15k"
    o["checkinDate"] = "2018-5-3"
    o["createdAt"] = "2018-09-27 10:00:00"             # no zone: the EHR's (UTC here)
    o["offerLastSentAt"] = "2019-10-29T11:41:07+08:00"
    return d


VARIED_WARNINGS = {
    ("data.birthYear", "1992年", "malformed number"),
    ("data.experienceInfo[1].now", "maybe", "malformed boolean"),
    ("data.offer.salaryNumber", "15k", "malformed decimal"),
    ("data.projectInfo[0].endDate", "下个月", "not a date"),
}


def test_rest_vendor_sample_with_values_that_do_not_fit_is_stored_with_warnings(server):
    pid = helpers.new_id("tol-rest")
    r = rest(server, varied_sample(pid))
    assert r.status == 200, r
    answer = json.loads(r.body)
    assert answer["code"] == 0, answer
    assert answer["msg"] == "stored; 4 fields not read (see push_warning)", answer
    assert warnings_of(server, pid) == VARIED_WARNINGS
    row = one_row(server, "SELECT * FROM candidate WHERE application_id = ?", VENDOR_APP)
    assert row["last_push_id"] == pid
    assert row["birth_year"] is None
    assert row["birth_date"] == "1992-03-15"
    assert row["moved_at"] == "2018-08-03T10:25:12.000Z"
    assert row["created_at"] == "2018-08-03T10:25:12.000Z"
    assert row["finished_at"] == "2019-08-23"
    assert row["archived_at"] == "2019-08"
    assert row["offer_salary_number"] is None
    assert row["offer_checkin_date"] == "2018-05-03"
    assert row["offer_created_at"] == "2018-09-27T10:00:00.000Z"
    assert row["offer_finished_at"] == "2018-04-23T09:10:26.000Z"
    assert row["offer_last_sent_at"] == "2019-10-29T03:41:07.000Z"
    edu = one_row(server, "SELECT * FROM candidate_education WHERE application_id = ?",
                  VENDOR_APP)
    assert edu["start_date"] == "2011" and edu["end_date"] is None and edu["now"] == 1
    conn = server.db()
    try:
        exp = helpers.rows(conn, "SELECT * FROM candidate_experience WHERE application_id = ? "
                                 "ORDER BY seq", VENDOR_APP)
        custom = helpers.rows(conn, "SELECT value FROM candidate_custom_field WHERE "
                                    "application_id = ? AND now = 1", VENDOR_APP)
        log = helpers.rows(conn, "SELECT outcome, payload FROM push_log WHERE push_id = ?", pid)
    finally:
        conn.close()
    assert exp[0]["end_date"] is None and exp[0]["now"] == 1
    assert exp[1]["now"] is None and exp[1]["start_date"] == "2015-05"
    # the time-period custom field with now = true: its endDate is null
    assert [json.loads(c["value"]) for c in custom] == [{"startDate": "2004-01", "endDate": None}]
    # the dates as sent stay in the push log's payload
    assert log[0]["outcome"] == "stored" and "下个月" in log[0]["payload"]
    # the log line counts them; the personal data and the raw values stay out of the log
    line = [l for l in server.log_lines() if pid in l]
    assert line and "warnings=4" in line[-1], line
    assert "1992年" not in server.log() and "15k" not in server.log()


def test_now_true_with_end_date_to_date_is_true_without_warning(server):
    """The vendor: "when now=true, the value of endDate may be any value ... just ignore
    endDate" (answered false with "malformed date" before)."""
    pid = helpers.new_id("tol-now")
    edu = ("<educationInfo><element><startDate>2011-09</startDate><endDate>至今</endDate>"
           "<now>true</now><school>北京邮电大学</school></element></educationInfo>")
    _, ret, msg = helpers.push(server, helpers.minimal_push_xml(pid, 5101, edu))
    assert (ret, msg) == ("true", None)
    assert warnings_of(server, pid) == set()
    edu_row = one_row(server, "SELECT end_date, now FROM candidate_education WHERE "
                              "application_id = 5101")
    assert edu_row == {"end_date": None, "now": 1}


@pytest.mark.parametrize("soap", [11, 12])
def test_typed_soap_with_values_that_do_not_fit(server, soap):
    pid = helpers.new_id(f"tol-soap{soap}")
    app = 5200 + soap
    data = helpers.minimal_data(app, birthYear="1992年", experience="15k",
                                birthDate="2020-03-17T00:00:00.000Z", archivedAt="昨天")
    extra = ("<experienceInfo><element><startDate>2016/3/1</startDate><endDate>至今</endDate>"
             "<now>yes</now></element></experienceInfo>")
    _, ret, msg = helpers.push(server, helpers.minimal_push_xml(pid, app, extra, data_fields=data),
                               soap=soap)
    assert ret == "true", msg
    assert msg == "stored; 3 fields not read (see push_warning)"
    assert warnings_of(server, pid) == {
        ("data.birthYear", "1992年", "malformed number"),
        ("data.experience", "15k", "malformed number"),
        ("data.archivedAt", "昨天", "not a date"),
    }
    row = one_row(server, "SELECT birth_year, experience, birth_date, archived_at, name FROM "
                          "candidate WHERE application_id = ?", app)
    assert row == {"birth_year": None, "experience": None, "birth_date": "2020-03-17",
                   "archived_at": None, "name": helpers.PII[0]}
    exp = one_row(server, "SELECT start_date, end_date, now FROM candidate_experience WHERE "
                          "application_id = ?", app)
    assert exp == {"start_date": "2016-03-01", "end_date": None, "now": 1}


def test_vendor_root_string_shape_with_values_that_do_not_fit(server):
    """The vendor's printed <root> document sent as a string under pushCandidate."""
    text = (helpers.FIXTURES / "shapes" / "soap11-string.xml").read_text(encoding="utf-8")
    pid = helpers.new_id("tol-root")
    text = text.replace("f353e5ce-17e0-4783-bee4-4a6b734b20fe", pid)
    text = re.sub(r"(&lt;applicationid&gt;\s*)12798", r"\g<1>5301", text, count=1)
    text = re.sub(r"(&lt;birthyear&gt;\s*)1992", r"\g<1>1992年", text, count=1)
    text = re.sub(r"(&lt;salarynumber&gt;\s*)8000", r"\g<1>15k", text, count=1)
    text = re.sub(r"(&lt;checkindate&gt;\s*)2018-5-3", r"\g<1>20180503", text, count=1)
    # the first education: "to date"
    text = re.sub(r"(&lt;educationinfo&gt;.*?&lt;enddate&gt;\s*)2015-06(\s*&lt;/enddate&gt;)",
                  r"\g<1>至今\g<2>&lt;now&gt;true&lt;/now&gt;", text, count=1, flags=re.S)
    r = helpers.post_soap(server, text)
    ret, msg = helpers.parse_push_answer(r)
    assert ret == "true", (r, msg)
    assert msg == "stored; 2 fields not read (see push_warning)"
    assert warnings_of(server, pid) == {("data.birthYear", "1992年", "malformed number"),
                                        ("data.offer.salaryNumber", "15k", "malformed decimal")}
    row = one_row(server, "SELECT birth_year, offer_salary_number, offer_checkin_date FROM "
                          "candidate WHERE application_id = 5301")
    assert row == {"birth_year": None, "offer_salary_number": None,
                   "offer_checkin_date": "2018-05-03"}
    edu = one_row(server, "SELECT end_date, now FROM candidate_education WHERE "
                          "application_id = 5301 AND seq = 0")
    assert edu == {"end_date": None, "now": 1}


def test_without_application_id_still_refused(server):
    pid = helpers.new_id("tol-noapp")
    _, ret, msg = helpers.push(server, helpers.minimal_push_xml(pid, 5401, omit=("applicationId",)))
    assert ret == "false" and msg == "data.applicationId: missing"
    bad = helpers.minimal_data(5402, applicationId="5402x")
    _, ret, msg = helpers.push(server, helpers.minimal_push_xml(helpers.new_id("tol-badapp"), 5402,
                                                                data_fields=bad))
    assert ret == "false" and msg == "data.applicationId: malformed number"
    d = varied_sample(helpers.new_id("tol-rest-noapp"))
    del d["data"]["applicationId"]
    r = rest(server, d)
    assert r.status == 400 and json.loads(r.body)["msg"] == "data.applicationId: missing"
    conn = server.db()
    try:
        (n,) = conn.execute("SELECT count(*) FROM push_warning WHERE push_id = ?",
                            (d["id"],)).fetchone()
        (outcome,) = conn.execute("SELECT outcome FROM push_log WHERE push_id = ?",
                                  (pid,)).fetchone()
    finally:
        conn.close()
    assert n == 0 and outcome == "rejected"


def test_a_push_again_replaces_its_warnings(server):
    """A push id retried after a failure writes its warnings once; a later push of the same
    candidate keeps its own."""
    pid = helpers.new_id("tol-again")
    data = helpers.minimal_data(5501, birthYear="x")
    xml = helpers.minimal_push_xml(pid, 5501, data_fields=data)
    assert helpers.push(server, xml)[1] == "true"
    assert helpers.push(server, xml)[1] == "true"  # a duplicate: nothing written again
    assert warnings_of(server, pid) == {("data.birthYear", "x", "malformed number")}


@pytest.mark.parametrize("zone,expected", [(None, "2019-08-23"), ("Asia/Shanghai", "2019-08-24")])
def test_day_accurate_instant_is_the_date_in_the_ehr_time_zone(make_server, zone, expected):
    """offer.checkinDate and birthDate are accurate to the day; the vendor warns they may come
    as an instant: 2019-08-23T16:00:00.000Z is 2019-08-24 in Asia/Shanghai. A time without a
    zone is read in the EHR's zone; an instant field is stored as the UTC instant."""
    s = make_server(["--timezone", zone] if zone else [])
    pid = helpers.new_id("tol-tz")
    d = varied_sample(pid)
    d["data"]["offer"]["checkinDate"] = "2019-08-23T16:00:00.000Z"
    d["data"]["birthDate"] = "1566576000000"  # 2019-08-23T16:00:00Z in ms
    d["data"]["offer"]["createdAt"] = "2019-08-23 10:00:00"
    r = rest(s, d)
    assert r.status == 200, r
    row = one_row(s, "SELECT offer_checkin_date, birth_date, offer_created_at FROM candidate "
                     "WHERE application_id = ?", VENDOR_APP)
    local = "2019-08-23T02:00:00.000Z" if zone else "2019-08-23T10:00:00.000Z"
    assert row == {"offer_checkin_date": expected, "birth_date": expected,
                   "offer_created_at": local}


def test_unknown_time_zone_stops_the_start(tmp_path):
    from conftest import run_cli
    r = run_cli("check", "--db", f"sqlite:{tmp_path / 'x.db'}", "--timezone", "Mars/Olympus")
    assert r.returncode == 2 and "--timezone" in r.stderr and "Mars/Olympus" in r.stderr, r


def test_replay_stores_a_push_an_older_version_rejected(make_server):
    """A push recorded as rejected for a date no rule read (as ehrbridge did before) is stored by
    `ehrbridge replay`, with its warning."""
    import sqlite3
    import subprocess
    from conftest import clean_env, ehrbridge_bin
    s = make_server()
    pid, app = helpers.new_id("tol-replay"), 5601
    data = helpers.minimal_data(app, birthDate="2020-13-45")
    assert helpers.push(s, helpers.minimal_push_xml(pid, app, data_fields=data))[1] == "true"
    w = (helpers.db_connect(s.db_path) if isinstance(s.db_path, helpers.ServerDatabase)
         else sqlite3.connect(s.db_path, timeout=10, isolation_level=None))
    w.execute("UPDATE push_log SET outcome = 'rejected', message = 'data.birthDate: malformed "
              "date' WHERE push_id = ?", (pid,))
    w.execute("DELETE FROM candidate WHERE application_id = ?", (app,))
    w.execute("DELETE FROM push_warning WHERE push_id = ?", (pid,))
    w.close()
    r = subprocess.run([ehrbridge_bin(), "replay", "--db", s.db_url, "--outcome", "rejected"],
                       capture_output=True, text=True, timeout=60, env=clean_env())
    assert r.returncode == 0 and f"{pid}: stored" in r.stdout, (r.stdout, r.stderr)
    assert warnings_of(s, pid) == {("data.birthDate", "2020-13-45", "not a date")}
    row = one_row(s, "SELECT birth_date FROM candidate WHERE application_id = ?", app)
    assert row == {"birth_date": None}


def test_push_warning_beside_the_mapped_tables(tmp_path, backend):
    """With --mapping, push_warning is ehrbridge's own table beside push_log; the mapped row is
    written without the value that did not fit."""
    from conftest import Server, _stop_and_check
    from test_mapping import MAPPING, create_legacy_tables
    s = Server(tmp_path / "m", backend=backend)
    create_legacy_tables(s.db_path)
    s.args += ["--mapping", str(MAPPING)]
    s.start()
    try:
        pid = helpers.new_id("tol-map")
        req = helpers.contract_push(push_id=pid)
        req["data"]["offer"]["salaryNumber"] = "15k"
        req["data"]["birthDate"] = "2020/03/17"
        _, ret, msg = helpers.push(s, helpers.contract_xml(req))
        assert (ret, msg) == ("true", "stored; 1 field not read (see push_warning)")
        assert warnings_of(s, pid) == {("data.offer.salaryNumber", "15k", "malformed decimal")}
        row = one_row(s, "SELECT base_salary, birth_dt FROM employee_import")
        assert row["base_salary"] is None and str(row["birth_dt"])[:10] == "2020-03-17"
    finally:
        _stop_and_check(s)


def test_metrics_count_the_fields_not_read(make_server):
    s = make_server()
    data = helpers.minimal_data(5701, birthYear="x", experience="y")
    assert helpers.push(s, helpers.minimal_push_xml(helpers.new_id("tol-m"), 5701,
                                                    data_fields=data))[1] == "true"
    r = helpers.http(s.base_url, "GET", "/metrics")
    assert re.search(r"^ehrbridge_push_warnings_total 2$", r.text, re.M), r.text


def test_replay_of_a_stored_push_keeps_its_warnings(make_server):
    """The payload no longer holds a value set aside at ingest: replaying a stored push keeps
    the warnings its request gave."""
    import subprocess
    from conftest import clean_env, ehrbridge_bin
    s = make_server()
    pid, app = helpers.new_id("tol-keep"), 5801
    data = helpers.minimal_data(app, birthYear="1992年", birthDate="至今")
    assert helpers.push(s, helpers.minimal_push_xml(pid, app, data_fields=data))[1] == "true"
    want = {("data.birthYear", "1992年", "malformed number"),
            ("data.birthDate", "至今", "not a date")}
    assert warnings_of(s, pid) == want
    r = subprocess.run([ehrbridge_bin(), "replay", "--db", s.db_url, "--push-id", pid],
                       capture_output=True, text=True, timeout=60, env=clean_env())
    assert r.returncode == 0 and f"{pid}: stored (again)" in r.stdout, (r.stdout, r.stderr)
    assert warnings_of(s, pid) == want

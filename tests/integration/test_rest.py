"""The vendor's REST mode (spec "Receive webhooks", "Respond webhooks", "Redirect to external
system", the REST example, "Push interview info") on the same port and pipeline as SOAP, over
HTTPS with curl and Python: 2xx on success (with redirectUrl when configured), non-2xx with
{"msg": ...} otherwise, the printed example as it is, the same rows as the SOAP form of the same
record, encrypted data, and the interview events stored in their own tables."""
import json
import subprocess
import time

import pytest

import helpers
import sec_helpers as sh

SIGN_KEY = "rest-sign-key"
AES_KEY = "abcdefghijklmnopqrstuvwxyz012345"
PC = "https://ehr.example.com/onboard/{applicationId}?candidate={candidateId}&push={pushId}"
MOBILE = "https://m.ehr.example.com/c/{applicationId}"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return sh.Certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, certs):
    s = sh.SecServer(tmp_path_factory.mktemp("rest"),
                     ["--sign-key", SIGN_KEY, "--aes-key", AES_KEY, "--redirect-pc-url", PC,
                      "--redirect-mobile-url", MOBILE], crt=certs.a_crt, key=certs.a_key).start()
    yield s
    s.stop()


def post(server, body, headers=None):
    """A REST push signed as the vendor signs it."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return server.post_json(body, query="sign=" + sh.sign(SIGN_KEY, body), headers=headers)


def msg(r):
    return json.loads(r.body)


def sample_bytes():
    """The vendor's REST example exactly as printed (raw newlines inside jobDescription)."""
    return (helpers.FIXTURES / "vendor-sample.json").read_bytes()


def test_printed_example_with_curl(server, certs):
    body = sample_bytes()
    sig = sh.sign(SIGN_KEY, body)
    r = subprocess.run(["curl", "-sS", "--cacert", str(certs.a_crt), "-H",
                        "Content-Type: application/json", "--data-binary", "@-", "-w",
                        "\n%{http_code}", f"{server.base_url}/moka?sign={sig}"],
                       input=body, capture_output=True, timeout=30, env=sh.clean_env())
    out, status = r.stdout.decode().rsplit("\n", 1)
    assert r.returncode == 0 and status == "200", r
    answer = json.loads(out)
    assert answer["code"] == 0 and answer["msg"] == "stored"
    push_id = "f353e5ce-17e0-4783-bee4-4a6b734b20fe"
    assert answer["redirectUrl"] == {
        "pcUrl": f"https://ehr.example.com/onboard/12798?candidate=8030&push={push_id}",
        "mobileUrl": "https://m.ehr.example.com/c/12798"}
    row = server.rows("SELECT * FROM candidate WHERE application_id = 12798")[0]
    assert row["name"] == helpers.PII[0] and row["candidate_id"] == 8030
    assert row["job_description"].strip().startswith("<p>")
    assert row["last_company"] == "郑州麦田伙伴科技有限公司"
    assert row["probation"] is None
    assert len(server.rows("SELECT * FROM candidate_custom_field WHERE application_id = 12798")) == 11
    log = server.rows("SELECT outcome, event, raw, payload FROM push_log WHERE push_id = ?",
                      push_id)[0]
    assert log["outcome"] == "stored" and log["raw"] is None
    assert log["payload"].startswith('<pushCandidate xmlns="urn:ehrbridge:moka:v1">')
    # the same push again: answered from the push log, nothing written twice
    r2 = post(server, body)
    assert r2.status == 200 and msg(r2)["msg"] == "already stored"
    assert len(server.rows("SELECT 1 FROM push_log WHERE push_id = ?", push_id)) == 1
    for p in helpers.PII:
        assert p not in server.log()


def test_same_rows_as_the_soap_form(server, certs):
    """The REST example and its contract (SOAP) form store the same candidate."""
    vendor = helpers.load_vendor_sample()
    vendor["id"], vendor["data"]["applicationId"] = helpers.new_id("rest"), 6100001
    r = post(server, json.dumps(vendor, ensure_ascii=False))
    assert r.status == 200, r
    soap_req = helpers.contract_push(push_id=helpers.new_id("soap"), application_id=6100002)
    xml = helpers.envelope(helpers.contract_xml(soap_req))
    r = server.post_soap(xml, query="sign=" + sh.sign(SIGN_KEY, xml))
    assert helpers.parse_push_answer(r)[0] == "true", r
    ignore = {"application_id", "last_push_id", "updated_at"}
    a, b = (server.rows("SELECT * FROM candidate WHERE application_id = ?", i)[0]
            for i in (6100001, 6100002))
    diff = {k: (a[k], b[k]) for k in a if k not in ignore and a[k] != b[k]}
    assert not diff, diff
    conn = server.db()
    try:
        for t in sorted(helpers.tables(conn)):
            if t.startswith("candidate_"):
                ra = helpers.rows(conn, f'SELECT * FROM "{t}" WHERE application_id = 6100001 '
                                        "ORDER BY 2, 3")
                rb = helpers.rows(conn, f'SELECT * FROM "{t}" WHERE application_id = 6100002 '
                                        "ORDER BY 2, 3")
                for x in ra + rb:
                    x.pop("application_id")
                assert ra == rb, t
    finally:
        conn.close()


def test_invalid_record_and_not_json(server):
    pid = helpers.new_id("inv")
    r = post(server, sh.rest_body(pid, {"CandidateId": 1, "name": helpers.PII[0]}))
    assert r.status == 400 and r.content_type.startswith("application/json")
    assert msg(r) == {"code": 400, "msg": "data.applicationId: missing"}
    row = server.rows("SELECT outcome, message, raw FROM push_log WHERE push_id = ?", pid)[0]
    assert row["outcome"] == "rejected" and row["raw"]
    r = post(server, sh.rest_body(helpers.new_id("bad"), {"applicationId": "5x", "birthYear": 1}))
    assert r.status == 400 and "data.applicationId" in msg(r)["msg"]
    for body, want in (('{"id": "x", "data": {', "not valid JSON"),
                       ("[1, 2]", "not an object"), ('"text"', "not an object")):
        r = post(server, body)
        assert r.status == 400 and want in msg(r)["msg"], (body, r)
    kept = [x["raw"] for x in server.rows("SELECT raw FROM push_log WHERE push_id LIKE "
                                          "'unidentified-%'")]
    kept = [k.decode() if isinstance(k, bytes) else k for k in kept]
    assert '{"id": "x", "data": {' in kept
    # an event the REST mode does not know
    r = post(server, sh.rest_body(helpers.new_id("ev"), {"applicationId": 6}, event="hired"))
    assert r.status == 400 and msg(r)["msg"] == "event: expected pushCandidate"


def test_signature_refused_in_json(server):
    body = sh.rest_body(helpers.new_id("sig"), {"applicationId": 6200001})
    r = server.post_json(body, query="sign=" + sh.sign("wrong", body))
    assert r.status == 401 and msg(r) == {"code": 401, "msg": "authentication failed"}
    assert r.headers["www-authenticate"] == 'Bearer realm="ehrbridge"'
    r = server.post_json(body, headers={"Authorization": "Bearer " + sh.sign(SIGN_KEY, body)})
    assert r.status == 200, r


def test_encrypted_rest_data(server):
    cases = [(sh.node_encrypt(json.dumps({"applicationId": 6300001, "name": "n"}), AES_KEY),
              6300001),
             (sh.openssl_encrypt("<applicationId>6300002</applicationId>", AES_KEY), 6300002)]
    for hex_text, app in cases:
        r = post(server, sh.rest_body(helpers.new_id("enc"), hex_text))
        assert r.status == 200 and msg(r)["msg"] == "stored", r
        assert server.rows("SELECT 1 FROM candidate WHERE application_id = ?", app)
    wrong = sh.node_encrypt(json.dumps({"applicationId": 6300003}), "k" * 32)
    r = post(server, sh.rest_body(helpers.new_id("wrong"), wrong))
    assert r.status == 400 and "cannot be decrypted" in msg(r)["msg"]


def test_database_down_is_503(tmp_path, certs):
    s = sh.SecServer(tmp_path / "down", ["--db", f"sqlite:{tmp_path / 'down' / 'x.db'}"
                                         "?busy_timeout=200"],
                     crt=certs.a_crt, key=certs.a_key).start()
    try:
        import sqlite3
        lock = sqlite3.connect(str(s.db_path), isolation_level=None, timeout=5)
        lock.execute("BEGIN EXCLUSIVE")
        pid = helpers.new_id("down")
        body = sh.rest_body(pid, {"applicationId": 6400001})
        r = s.post_json(body)
        lock.execute("ROLLBACK")
        lock.close()
        assert r.status == 503 and "retry" in msg(r)["msg"], r
        r = s.post_json(body)  # the user presses the button again
        assert r.status == 200 and msg(r)["msg"] == "stored", r
    finally:
        s.stop()


INTERVIEW = {
    "id": None, "event": "createInterviewsInfo", "triggeredAt": 1505296287,
    "data": {
        "applicationIds": [200006263], "interviewType": 3, "createTime": 1597391796747,
        "creator": {"id": "200000217", "name": "张武杰", "email": "z@mokahr.com",
                    "phone": "17610230001"},
        "interviews": [{
            "event_id": "12345612", "applicationIds": [200006263], "roomId": 1,
            "roomName": "Meeting room A",
            "address": {"id": 1524, "country": "中国", "cityId": 310109, "address": "XxxCity"},
            "startTime": 1597392000000, "endTime": 1597393800000, "interviewerIds": [200000217],
            "interviewee": [{"id": 200006257, "name": "zwj5", "email": "z@mokahr.com",
                             "phone": "17610230000", "jobId": "6c465f4b", "jobTitle": "java"}],
            "interviewer": [{"id": 200000217, "name": "张武杰", "email": "z@mokahr.com",
                             "phone": "17610230000"}]}]}}


def interview(event, push_id=None, **changes):
    ev = json.loads(json.dumps(INTERVIEW))
    ev["id"] = push_id or helpers.new_id("itv")
    ev["event"] = event
    ev["data"]["interviews"][0].update(changes)
    return ev


def test_interview_events(server):
    create = interview("createInterviewsInfo")
    r = post(server, json.dumps(create, ensure_ascii=False))
    assert r.status == 200 and msg(r) == {"code": 0, "msg": "stored"}, r
    row = server.rows("SELECT * FROM interview WHERE event_id = '12345612'")[0]
    assert row["room_name"] == "Meeting room A" and row["address_city_id"] == 310109
    assert row["creator_name"] == "张武杰" and row["last_event"] == "createInterviewsInfo"
    assert row["start_time"] == 1597392000000 and row["interviewer_ids"] == "[200000217]"
    assert server.rows("SELECT application_id FROM interview_application") == \
        [{"application_id": 200006263}]
    assert server.rows("SELECT candidate_id, job_title FROM interview_interviewee") == \
        [{"candidate_id": 200006257, "job_title": "java"}]
    assert len(server.rows("SELECT 1 FROM interview_interviewer")) == 1
    # idempotent by push id
    r = post(server, json.dumps(create, ensure_ascii=False))
    assert r.status == 200 and msg(r)["msg"] == "already stored"
    assert len(server.rows("SELECT 1 FROM interview_interviewee")) == 1
    # an update replaces the interview's rows
    upd = interview("updateInterviewsInfo", roomName="Room B", interviewer=[
        {"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    assert post(server, json.dumps(upd)).status == 200
    row = server.rows("SELECT room_name, last_event, last_push_id FROM interview")[0]
    assert row == {"room_name": "Room B", "last_event": "updateInterviewsInfo",
                   "last_push_id": upd["id"]}
    assert len(server.rows("SELECT 1 FROM interview_interviewer WHERE event_id = '12345612'")) == 2
    # a delete removes it
    dele = interview("deleteInterviewsInfo")
    assert post(server, json.dumps(dele)).status == 200
    for t in ("interview", "interview_application", "interview_interviewer",
              "interview_interviewee"):
        assert not server.rows(f"SELECT 1 FROM {t} WHERE event_id = '12345612'"), t
    logs = server.rows("SELECT event, outcome FROM push_log WHERE push_id IN (?, ?, ?)",
                       create["id"], upd["id"], dele["id"])
    assert sorted(x["event"] for x in logs) == ["createInterviewsInfo", "deleteInterviewsInfo",
                                                "updateInterviewsInfo"]
    assert all(x["outcome"] == "stored" for x in logs)


def test_invalid_and_encrypted_interview_events(server):
    bad = interview("createInterviewsInfo")
    bad["data"]["interviews"][0].pop("event_id")
    r = post(server, json.dumps(bad))
    assert r.status == 400 and msg(r)["msg"] == "data.interviews[0].event_id: missing"
    row = server.rows("SELECT outcome, raw FROM push_log WHERE push_id = ?", bad["id"])[0]
    assert row["outcome"] == "rejected" and row["raw"]
    bad2 = interview("createInterviewsInfo", startTime="tomorrow")
    r = post(server, json.dumps(bad2))
    assert r.status == 400 and "startTime: malformed number" in msg(r)["msg"]
    nid = interview("createInterviewsInfo")
    nid.pop("id")
    r = post(server, json.dumps(nid))
    assert r.status == 400 and msg(r)["msg"] == "id: missing push id"
    # encrypted data
    enc = interview("createInterviewsInfo", event_id="enc-1")
    enc["data"] = sh.node_encrypt(json.dumps(enc["data"]), AES_KEY)
    r = post(server, json.dumps(enc))
    assert r.status == 200, r
    assert server.rows("SELECT 1 FROM interview WHERE event_id = 'enc-1'")
    enc2 = interview("createInterviewsInfo", event_id="enc-2")
    enc2["data"] = sh.openssl_encrypt(json.dumps(enc2["data"]), "z" * 32)
    r = post(server, json.dumps(enc2))
    assert r.status == 400 and "cannot be decrypted" in msg(r)["msg"]
    # an interview event over SOAP is not a pushCandidate request
    xml = helpers.envelope(f'<createInterviewsInfo xmlns="{helpers.TNS}"><id>s</id>'
                           "</createInterviewsInfo>")
    r = server.post_soap(xml, query="sign=" + sh.sign(SIGN_KEY, xml))
    assert r.status == 500 and helpers.fault_text(r)


def test_interview_max_age(tmp_path, certs):
    s = sh.SecServer(tmp_path / "age", ["--max-age", "60"], crt=certs.a_crt,
                     key=certs.a_key).start()
    try:
        old = interview("createInterviewsInfo")
        r = s.post_json(json.dumps(old))
        assert r.status == 400 and "older than 60 s" in msg(r)["msg"]
        fresh = interview("createInterviewsInfo")
        fresh["triggeredAt"] = int(time.time() * 1000)
        assert s.post_json(json.dumps(fresh)).status == 200
    finally:
        s.stop()

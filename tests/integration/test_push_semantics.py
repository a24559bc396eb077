"""What a push means (docs/architecture.md, "bridge"): idempotency by push id, replacement by applicationId,
invalid records answered false with a message naming the field and recorded as rejected, unknown
elements kept in the push log."""
import re
import time

import pytest

import helpers


def experiences_xml(companies):
    items = "".join(f"<element><startDate>2016-03</startDate><company>{c}</company></element>"
                    for c in companies)
    return f"<experienceInfo>{items}</experienceInfo>"


def push_with_experiences(server, push_id, app_id, companies, last_company="甲公司", soap=11):
    fields = helpers.minimal_data(app_id, lastCompany=last_company)
    xml = helpers.minimal_push_xml(push_id, app_id, data_fields=fields)
    # experienceInfo goes after lastCompany..resumeUrl in contract order; the contract's
    # sequence is not enforced by a reader of wrapped arrays, but keep the order anyway
    xml = xml.replace("</data>", experiences_xml(companies) + "</data>")
    return helpers.push(server, xml, soap)


def count(conn, sql, *args):
    return conn.execute(sql, args).fetchone()[0]


def let_clock_move():
    """Lets the wall clock move on (updated_at is Unix ms), so that a rewrite would show."""
    t = time.time()
    while time.time() - t < 0.02:
        time.sleep(0.005)


def test_same_push_id_twice_is_stored_once(server):
    pid, app = helpers.new_id("idem"), 5000001
    r1, ret1, msg1 = push_with_experiences(server, pid, app, ["一号公司", "二号公司"])
    assert ret1 == "true", (r1, server.log()[-2000:])
    with server.db() as conn:
        before = helpers.rows(conn, "SELECT * FROM candidate WHERE application_id = ?", app)
        logs_before = count(conn, "SELECT count(*) FROM push_log")
    assert len(before) == 1
    let_clock_move()
    r2, ret2, msg2 = push_with_experiences(server, pid, app, ["一号公司", "二号公司"])
    assert ret2 == "true", r2
    with server.db() as conn:
        after = helpers.rows(conn, "SELECT * FROM candidate WHERE application_id = ?", app)
        assert count(conn, "SELECT count(*) FROM push_log WHERE push_id = ?", pid) == 1
        assert count(conn, "SELECT count(*) FROM push_log") == logs_before
        assert count(conn, "SELECT count(*) FROM candidate_experience WHERE application_id = ?", app) == 2
    assert after == before, "the duplicate push rewrote the candidate (updated_at or a field changed)"


def test_same_push_id_with_other_content_keeps_the_first(server):
    """A push id is answered from what was recorded: a second body under it writes nothing."""
    pid, app = helpers.new_id("idem2"), 5000002
    _, ret1, _ = push_with_experiences(server, pid, app, ["一号公司", "二号公司"], last_company="第一次")
    assert ret1 == "true"
    _, ret2, _ = push_with_experiences(server, pid, app, ["三号公司"], last_company="第二次")
    assert ret2 == "true"
    with server.db() as conn:
        c = helpers.rows(conn, "SELECT last_company FROM candidate WHERE application_id = ?", app)
        assert c == [{"last_company": "第一次"}]
        assert count(conn, "SELECT count(*) FROM candidate_experience WHERE application_id = ?", app) == 2


def test_new_push_for_known_application_replaces_rows(server):
    app = 5000003
    p1, p2 = helpers.new_id("rep1"), helpers.new_id("rep2")
    _, ret1, _ = push_with_experiences(server, p1, app, ["一号公司", "二号公司"], last_company="旧")
    assert ret1 == "true"
    # another candidate, to see that replacing one leaves the other alone
    _, ret_other, _ = push_with_experiences(server, helpers.new_id("rep-other"), app + 1, ["X", "Y"])
    assert ret_other == "true"
    _, ret2, _ = push_with_experiences(server, p2, app, ["新公司"], last_company="新")
    assert ret2 == "true"
    with server.db() as conn:
        exp = helpers.rows(conn, "SELECT company FROM candidate_experience WHERE application_id = ? ORDER BY seq", app)
        assert [e["company"] for e in exp] == ["新公司"]
        c = helpers.rows(conn, "SELECT last_company, last_push_id FROM candidate WHERE application_id = ?", app)
        assert c == [{"last_company": "新", "last_push_id": p2}]
        assert count(conn, "SELECT count(*) FROM candidate_experience WHERE application_id = ?", app + 1) == 2
        outcomes = helpers.rows(conn, "SELECT push_id, outcome FROM push_log WHERE push_id IN (?, ?) ORDER BY push_id", p1, p2)
        assert sorted((o["push_id"], o["outcome"]) for o in outcomes) == sorted([(p1, "stored"), (p2, "stored")])


# --- invalid records -------------------------------------------------------------------------

def invalid_case(name, soap):
    """(push id or None, application id or None, pushCandidate element, regex the message must
    match). Application ids are unique per case and SOAP version."""
    app = 6000000 + INVALID.index(name) * 100 + soap
    pid = helpers.new_id(f"{name}-{soap}")
    fields = helpers.minimal_data(app)
    if name == "missing-push-id":
        return None, app, helpers.minimal_push_xml(None, app, data_fields=fields), r"\bid\b|push id"
    if name == "empty-push-id":
        return None, app, helpers.minimal_push_xml("", app, data_fields=fields).replace("<id></id>", "<id>  </id>"), r"\bid\b|push id"
    if name == "missing-applicationId":
        return pid, None, helpers.minimal_push_xml(pid, app, data_fields=fields, omit=("applicationId",)), "applicationId"
    if name == "event-somethingElse":
        return pid, app, helpers.minimal_push_xml(pid, app, data_fields=fields, event="somethingElse"), r"\bevent\b"
    if name == "applicationId-not-a-number":
        fields["applicationId"] = "12x"
        return pid, None, helpers.minimal_push_xml(pid, app, data_fields=fields), "applicationId"
    raise KeyError(name)


# (a value that does not fit its type, such as birthYear "abc" or birthDate "2020-13-45", is no
# longer refused: test_tolerance.py)
INVALID = ["missing-push-id", "empty-push-id", "missing-applicationId", "event-somethingElse",
           "applicationId-not-a-number"]


@pytest.mark.parametrize("soap", [11, 12])
@pytest.mark.parametrize("case", INVALID)
def test_invalid_record_is_answered_false_and_recorded(server, case, soap):
    pid, app_used, xml, field_re = invalid_case(case, soap)
    with server.db() as conn:
        logs_before = {r["push_id"] for r in helpers.rows(conn, "SELECT push_id FROM push_log")}
    r, ret, msg = helpers.push(server, xml, soap)
    assert r.status == 200, r
    assert helpers.soap_version_of(r) == soap, r
    assert ret == "false", r
    assert msg and re.search(field_re, msg), f"message {msg!r} does not name the field ({field_re})"
    for p in helpers.PII:
        assert p not in msg, f"the message echoes personal data: {msg!r}"
    with server.db() as conn:
        new = [x for x in helpers.rows(conn, "SELECT * FROM push_log") if x["push_id"] not in logs_before]
        if app_used:
            assert count(conn, "SELECT count(*) FROM candidate WHERE application_id = ?", app_used) == 0
        total_candidates_named = count(conn, "SELECT count(*) FROM candidate WHERE last_push_id = ?", pid or "")
    assert len(new) == 1, f"expected one new push_log row, got {new}"
    row = new[0]
    assert row["outcome"] == "rejected", row
    assert row["message"] and re.search(field_re, row["message"]), row
    if pid:
        assert row["push_id"] == pid
    else:
        assert row["push_id"], row
    if app_used:
        assert row["application_id"] == app_used, row
    assert total_candidates_named == 0


def test_rejected_push_id_can_be_pushed_again_and_stays_rejected(server):
    """The same invalid push again: false again, still one push_log row."""
    pid, app = helpers.new_id("rej-twice"), 6200001
    fields = helpers.minimal_data(app, applicationId="abc")
    xml = helpers.minimal_push_xml(pid, app, data_fields=fields)
    _, ret1, msg1 = helpers.push(server, xml)
    _, ret2, msg2 = helpers.push(server, xml)
    assert (ret1, ret2) == ("false", "false")
    assert "applicationId" in (msg2 or ""), msg2
    with server.db() as conn:
        assert count(conn, "SELECT count(*) FROM push_log WHERE push_id = ?", pid) == 1
        assert count(conn, "SELECT count(*) FROM candidate WHERE application_id = ?", app) == 0


@pytest.mark.parametrize("soap", [11, 12])
def test_unknown_element_is_accepted_and_kept_in_push_log(server, soap):
    pid, app = helpers.new_id("future"), 7000000 + soap
    xml = helpers.minimal_push_xml(pid, app, data_extra_xml="<futureField>x-future-value</futureField>")
    r, ret, msg = helpers.push(server, xml, soap)
    assert ret == "true", (r, msg)
    with server.db() as conn:
        logs = helpers.rows(conn, "SELECT outcome, payload FROM push_log WHERE push_id = ?", pid)
        assert count(conn, "SELECT count(*) FROM candidate WHERE application_id = ?", app) == 1
    assert len(logs) == 1 and logs[0]["outcome"] == "stored", logs
    assert re.search(r"<(\w+:)?futureField\b[^>]*>x-future-value</(\w+:)?futureField>", logs[0]["payload"]), \
        logs[0]["payload"]

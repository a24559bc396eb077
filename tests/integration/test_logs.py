"""The server's log (stderr): one line per push with its push id and outcome; never the
candidate's name, phone, email or citizen id, whatever was pushed."""
import re
import time

import pytest

import helpers


def lines_with(server, needle, want=1, timeout=5.0):
    """The log lines containing needle, polling until `want` of them are there (or timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [l for l in server.log_lines() if needle in l]
        if len(found) >= want or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def new_lines_after(server, send, settle=0.05, timeout=5.0):
    """Runs send(); returns the log lines written because of it (polls for the first new line,
    then lets any further line of the same request arrive)."""
    n0 = len(server.log_lines())
    result = send()
    deadline = time.monotonic() + timeout
    while len(server.log_lines()) == n0 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(settle)
    return result, server.log_lines()[n0:]


def stored_push(server, pid):
    r = helpers.post_soap(server, helpers.envelope(helpers.contract_xml(helpers.contract_push(push_id=pid))))
    assert helpers.parse_push_answer(r)[0] == "true", r
    return r


def rejected_push(server, pid):
    """No applicationId (refused), personal data in a date."""
    fields = helpers.minimal_data(9100001, birthDate=helpers.PII[3] + "X")
    _, ret, _ = r = helpers.push(server, helpers.minimal_push_xml(pid, 9100001, data_fields=fields,
                                                                  omit=("applicationId",)))
    assert ret == "false", r[0]
    return r


def tolerated_push(server, pid):
    """Two values that do not fit (stored without them), one of them personal data."""
    fields = helpers.minimal_data(9100003, birthYear="abc", birthDate=helpers.PII[3] + "X")
    _, ret, _ = r = helpers.push(server, helpers.minimal_push_xml(pid, 9100003, data_fields=fields))
    assert ret == "true", r[0]
    return r


def stored12_push(server, pid):
    _, ret, _ = r = helpers.push(server, helpers.minimal_push_xml(pid, 9100002), 12)
    assert ret == "true", r[0]
    return r


def fault_request(server, pid):
    """Not a pushCandidate request, with personal data in it."""
    body = (f'<createInterviewsInfo xmlns="{helpers.TNS}"><id>{pid}</id><name>{helpers.PII[0]}</name>'
            f"<phone>{helpers.PII[1]}</phone><email>{helpers.PII[2]}</email></createInterviewsInfo>")
    r = helpers.post_soap(server, helpers.envelope(body))
    assert r.status == 500, r
    return r


def malformed_request(server, pid):
    r = helpers.post_soap(server, helpers.envelope(helpers.minimal_push_xml(pid, 9100003))[:-40])
    assert r.status == 500, r
    return r


def wrong_encoding_request(server, pid):
    """UTF-8 bytes, a name among them, declared as Shift_JIS: libxml2 fails converting them (the
    last byte of 伟, 0x9F, starts a Shift_JIS pair that '<' cannot end) and reports it outside the
    parser, with the bytes in hex, to its process-wide error handler."""
    fields = helpers.minimal_data(9100004, name=helpers.PII[0] + "伟")
    xml = helpers.envelope(helpers.minimal_push_xml(pid, 9100004, data_fields=fields))
    r = helpers.post_soap(server, xml.replace('encoding="UTF-8"', 'encoding="Shift_JIS"', 1))
    assert r.status == 500, r
    return r


REQUESTS = {  # name: (send, outcome word, whether the push id must be in the line)
    "stored": (stored_push, "stored", True),
    "rejected": (rejected_push, "rejected", True),
    "stored-with-warnings": (tolerated_push, "warnings=2", True),
    "stored-soap12": (stored12_push, "stored", True),
    "not-a-push": (fault_request, "fault", False),
    "malformed": (malformed_request, "fault", False),
    "wrong-encoding": (wrong_encoding_request, "fault", False),
}


@pytest.fixture(scope="module")
def logged(server):
    """Each kind of request sent once on the module's server: {name: (push id, new log lines)}."""
    out = {}
    for name, (send, _, _) in REQUESTS.items():
        pid = helpers.new_id(f"log-{name}")
        _, lines = new_lines_after(server, lambda: send(server, pid))
        out[name] = (pid, lines)
    return out


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_one_line_per_request_with_push_id_and_outcome(server, logged, name):
    pid, lines = logged[name]
    _, outcome, has_id = REQUESTS[name]
    assert len(lines) == 1, f"{name}: expected one log line for the request, got {len(lines)}:\n" + "\n".join(lines)
    assert outcome in lines[0], lines[0]
    if has_id:
        assert pid in lines[0], lines[0]


def test_duplicate_push_is_logged_once_as_duplicate(server, logged):
    pid, _ = logged["stored-soap12"]
    _, lines = new_lines_after(server, lambda: stored12_push(server, pid))
    assert len(lines) == 1, lines
    assert pid in lines[0] and "stored" in lines[0], lines[0]
    assert re.search(r"duplicate\W{1,3}(yes|true|1)\b", lines[0]), lines[0]


@pytest.mark.parametrize("pii", helpers.PII, ids=["name", "phone", "email", "citizen_id"])
def test_no_personal_data_in_the_log(server, logged, pii):
    leaked = [l for l in server.log_lines() if pii in l]
    assert not leaked, f"personal data in the log: {leaked[:3]}"


def test_every_line_is_one_of_the_servers_log_lines(server, logged):
    """Nothing else writes to the log stream: no library's own messages (which carry bytes of
    the request, personal data among them, and break the one-line-per-event format)."""
    stray = [l for l in server.log_lines() if not helpers.LOG_LINE.match(l)]
    assert not stray, f"lines not written by the server's logger: {stray[:3]}"

"""GET /metrics in the Prometheus text exposition format (every family with HELP and TYPE,
counters, gauges, histograms), counting what the server really did: pushes by mode and outcome,
push durations, bytes received, refused requests, open connections and requests in flight.
And the structured log: with --log-format json every line is one JSON object with ts, level and
msg, and every line of a request carries the request's id."""
import concurrent.futures
import json
import re
import socket
import sqlite3
import time

import pytest

import helpers
from conftest import Server, _stop_and_check

SAMPLE_LINE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? '
    r'(-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|\+Inf|NaN)$')


def parse_metrics(text):
    """{(name, labels-text): float}; asserts the exposition format line by line."""
    samples, types = {}, {}
    for line in text.splitlines():
        assert line, "empty line in the exposition"
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            assert name not in types, f"TYPE given twice for {name}"
            types[name] = kind
            continue
        assert not line.startswith("#"), line
        m = SAMPLE_LINE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"sample {name} before its # TYPE"
        samples[(name, labels)] = float(value)
    return samples, types


def metrics(server):
    r = helpers.http(server.base_url, "GET", "/metrics")
    assert r.status == 200, r
    assert r.content_type.startswith("text/plain; version=0.0.4"), r.content_type
    return parse_metrics(r.text)[0]


def pushes(samples, mode, outcome):
    return samples[("ehrbridge_pushes_total", f'{{mode="{mode}",outcome="{outcome}"}}')]


def test_metrics_format_and_families(make_server):
    s = make_server()
    r = helpers.http(s.base_url, "GET", "/metrics")
    samples, types = parse_metrics(r.text)
    assert types["ehrbridge_pushes_total"] == "counter"
    assert types["ehrbridge_push_duration_seconds"] == "histogram"
    assert types["ehrbridge_connections_open"] == "gauge"
    assert types["ehrbridge_requests_in_flight"] == "gauge"
    for name in ("ehrbridge_received_bytes_total", "ehrbridge_database_errors_total",
                 "ehrbridge_requests_refused_total", "ehrbridge_http_responses_total"):
        assert types[name] == "counter", name
    for mode in ("soap", "rest"):
        for outcome in ("stored", "duplicate", "rejected", "failed", "invalid", "error"):
            assert pushes(samples, mode, outcome) == 0
        inf = samples[("ehrbridge_push_duration_seconds_bucket", f'{{mode="{mode}",le="+Inf"}}')]
        assert inf == samples[("ehrbridge_push_duration_seconds_count", f'{{mode="{mode}"}}')] == 0
    # this very request is in flight on an open connection
    assert samples[("ehrbridge_requests_in_flight", "")] >= 1
    assert samples[("ehrbridge_connections_open", "")] >= 1


def test_pushes_are_counted_by_mode_and_outcome(make_server):
    s = make_server()
    before = metrics(s)
    pid = helpers.new_id("metrics")
    body = helpers.envelope(helpers.minimal_push_xml(pid, 9300001))
    assert helpers.parse_push_answer(helpers.post_soap(s, body))[0] == "true"      # stored
    assert helpers.parse_push_answer(helpers.post_soap(s, body))[0] == "true"      # duplicate
    bad = helpers.minimal_push_xml(helpers.new_id("metrics-bad"), 9300002,
                                   data_fields=helpers.minimal_data(9300002, applicationId="abc"))
    assert helpers.push(s, bad)[1] == "false"                                       # rejected
    assert helpers.post_soap(s, "<not-xml").status == 500                           # invalid
    rest = {"id": helpers.new_id("metrics-rest"), "event": "pushCandidate",
            "triggeredAt": 1505296287, "data": {"applicationId": 9300003, "candidateId": 3}}
    r = helpers.http(s.base_url, "POST", "/pushCandidate", json.dumps(rest),
                     {"Content-Type": "application/json"})
    assert r.status == 200, r                                                       # rest stored
    after = metrics(s)
    delta = {(m, o): pushes(after, m, o) - pushes(before, m, o)
             for m in ("soap", "rest") for o in ("stored", "duplicate", "rejected", "failed",
                                                 "invalid", "error")}
    assert delta == {("soap", "stored"): 1, ("soap", "duplicate"): 1, ("soap", "rejected"): 1,
                     ("soap", "failed"): 0, ("soap", "invalid"): 1, ("soap", "error"): 0,
                     ("rest", "stored"): 1, ("rest", "duplicate"): 0, ("rest", "rejected"): 0,
                     ("rest", "failed"): 0, ("rest", "invalid"): 0, ("rest", "error"): 0}, delta
    count = after[("ehrbridge_push_duration_seconds_count", '{mode="soap"}')]
    assert count - before[("ehrbridge_push_duration_seconds_count", '{mode="soap"}')] == 4
    buckets = [v for (n, l), v in after.items()
               if n == "ehrbridge_push_duration_seconds_bucket" and 'mode="soap"' in l]
    assert buckets == sorted(buckets), "histogram buckets must be cumulative"
    assert after[("ehrbridge_push_duration_seconds_sum", '{mode="soap"}')] > 0
    received = (after[("ehrbridge_received_bytes_total", "")]
                - before[("ehrbridge_received_bytes_total", "")])
    assert received >= 2 * len(body.encode()) + len(json.dumps(rest)), received
    assert after[("ehrbridge_database_errors_total", "")] == 0
    responses = {l: v for (n, l), v in after.items() if n == "ehrbridge_http_responses_total"}
    assert responses['{code="2xx"}'] >= 5 and responses['{code="5xx"}'] >= 1, responses


SQLITE_FAMILIES = ("ehrbridge_sqlite_transactions_total", "ehrbridge_sqlite_transaction_pushes",
                   "ehrbridge_sqlite_transaction_seconds",
                   "ehrbridge_sqlite_transaction_rewrites_total")


def families(samples):
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name, _ in samples}


def push_one_at_a_time(s, n, app_base):
    """n pushes, each sent after the answer to the one before: no two can share a commit."""
    for i in range(n):
        body = helpers.envelope(helpers.minimal_push_xml(helpers.new_id("metrics-seq"), app_base + i))
        assert helpers.parse_push_answer(helpers.post_soap(s, body))[0] == "true"


def assert_counted_without_sqlite_writer(s):
    """A database without SQLite's group-commit writer: every push counted once as stored, in
    the duration histogram and nowhere else; the writer's families are not exported at all."""
    before = metrics(s)
    n = 12
    push_one_at_a_time(s, n, 9320000)
    after = metrics(s)
    assert pushes(after, "soap", "stored") - pushes(before, "soap", "stored") == n
    assert (after[("ehrbridge_push_duration_seconds_count", '{mode="soap"}')]
            - before[("ehrbridge_push_duration_seconds_count", '{mode="soap"}')]) == n
    assert after[("ehrbridge_database_errors_total", "")] == 0
    assert not families(after) & set(SQLITE_FAMILIES), sorted(families(after) & set(SQLITE_FAMILIES))


def test_transactions_are_counted_exactly(make_server, backend):
    """Pushes sent one at a time are one transaction each; pushes that queue behind a held
    database lock share at most two (the one the writer had begun, and all the others). On the
    other backends no SQLite writer runs and its metrics are absent."""
    s = make_server()
    if backend != "sqlite":
        assert_counted_without_sqlite_writer(s)
        return

    def delta(name, labels=""):
        return after[(name, labels)] - before[(name, labels)]

    # one at a time: exactly one transaction of one push per push
    before = metrics(s)
    n = 12
    push_one_at_a_time(s, n, 9310000)
    after = metrics(s)
    assert delta("ehrbridge_sqlite_transactions_total") == n
    assert delta("ehrbridge_sqlite_transaction_pushes_count") == n
    assert delta("ehrbridge_sqlite_transaction_pushes_sum") == n
    assert delta("ehrbridge_sqlite_transaction_pushes_bucket", '{le="1"}') == n
    assert delta("ehrbridge_sqlite_transaction_seconds_count") == n
    assert delta("ehrbridge_sqlite_transaction_seconds_sum") > 0
    assert delta("ehrbridge_sqlite_transaction_rewrites_total") == 0
    assert pushes(after, "soap", "stored") - pushes(before, "soap", "stored") == n

    # m pushes at once while this test holds the database's write lock: the writer waits in its
    # first transaction (begun with whatever had arrived), the rest queue; once the lock is
    # released they are written together
    m = 24
    before = metrics(s)
    bodies = [helpers.envelope(helpers.minimal_push_xml(helpers.new_id("metrics-gc"), 9311000 + i))
              for i in range(m)]
    lock = sqlite3.connect(s.db_path, timeout=10, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=m) as pool:
            answers = pool.map(lambda b: helpers.parse_push_answer(helpers.post_soap(s, b))[0],
                               bodies)
            # every push has arrived and waits for its commit (+1: the /metrics request itself)
            for _ in range(500):
                if metrics(s)[("ehrbridge_requests_in_flight", "")] == m + 1:
                    break
                time.sleep(0.01)
            else:
                pytest.fail("the pushes did not all arrive")
            lock.execute("COMMIT")
            assert list(answers) == ["true"] * m
    finally:
        lock.close()
    after = metrics(s)
    tx = delta("ehrbridge_sqlite_transactions_total")
    assert tx in (1, 2), f"{m} queued pushes took {tx} transactions"
    assert delta("ehrbridge_sqlite_transaction_pushes_count") == tx
    assert delta("ehrbridge_sqlite_transaction_pushes_sum") == m
    assert delta("ehrbridge_sqlite_transaction_seconds_count") == tx
    assert delta("ehrbridge_sqlite_transaction_rewrites_total") == 0
    assert pushes(after, "soap", "stored") - pushes(before, "soap", "stored") == m
    buckets = [v for (name, _), v in after.items()
               if name == "ehrbridge_sqlite_transaction_pushes_bucket"]
    assert buckets == sorted(buckets) and buckets[-1] == after[
        ("ehrbridge_sqlite_transaction_pushes_count", "")]


def test_noop_counts_pushes_and_no_transactions(tmp_path):
    """noop: stores nothing: the pushes are counted, and no writer metric exists."""
    s = Server(tmp_path / "noop")
    s.args += ["--db", "noop:"]  # the last --db is the one used
    s.start()
    try:
        assert_counted_without_sqlite_writer(s)
    finally:
        _stop_and_check(s)


def test_refused_requests_and_connections_are_counted(make_server):
    s = make_server(["--bearer-token", "metrics-token-0123456789"])
    before = metrics(s)
    body = helpers.envelope(helpers.minimal_push_xml(helpers.new_id("metrics-401"), 9300004))
    assert helpers.post_soap(s, body).status == 401
    ok = helpers.post_soap(s, body, headers={"Authorization": "Bearer metrics-token-0123456789"})
    assert helpers.parse_push_answer(ok)[0] == "true"
    # two idle connections are counted as open while they are
    socks = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(2)]
    try:
        after = metrics(s)
    finally:
        for k in socks:
            k.close()
    assert after[("ehrbridge_requests_refused_total", '{status="401"}')] - \
        before[("ehrbridge_requests_refused_total", '{status="401"}')] == 1
    assert pushes(after, "soap", "stored") - pushes(before, "soap", "stored") == 1
    assert after[("ehrbridge_connections_open", "")] >= 3  # the two idle ones and this request's
    assert after[("ehrbridge_connections_accepted_total", "")] >= \
        before[("ehrbridge_connections_accepted_total", "")] + 4


def test_json_log_lines_carry_level_and_request_id(make_server):
    s = make_server(["--log-format", "json", "--bearer-token", "metrics-token-0123456789"])
    auth = {"Authorization": "Bearer metrics-token-0123456789"}
    ids = [helpers.new_id("jsonlog") for _ in range(2)]
    for pid in ids:
        body = helpers.envelope(helpers.minimal_push_xml(pid, 9300005))
        assert helpers.parse_push_answer(helpers.post_soap(s, body, headers=auth))[0] == "true"
    assert helpers.post_soap(s, helpers.envelope(helpers.minimal_push_xml(ids[0], 9300005))).status == 401
    lines = [json.loads(l) for l in s.log_lines() if l.strip()]  # every line is JSON
    for rec in lines:
        assert {"ts", "level", "msg"} <= rec.keys(), rec
        assert rec["level"] in ("debug", "info", "warn", "error"), rec
        assert all(isinstance(v, str) for v in rec.values()), rec
    push_lines = [r for r in lines if r["msg"] == "push"]
    assert [r["push_id"] for r in push_lines] == ids, push_lines
    req_ids = [r.get("request") for r in push_lines]
    assert all(req_ids) and len(set(req_ids)) == 2, push_lines
    refused = [r for r in lines if r["msg"] == "request refused"]
    assert len(refused) == 1 and refused[0].get("request") and refused[0]["request"] not in req_ids
    assert refused[0]["status"] == "401"
    # lines outside a request carry no request id
    assert not any("request" in r for r in lines if r["msg"] in ("starting", "listening"))
    text = s.log()
    for pii in helpers.PII:
        assert pii not in text


def test_text_log_lines_carry_the_request_id(make_server):
    s = make_server()
    pid = helpers.new_id("textlog")
    assert helpers.push(s, helpers.minimal_push_xml(pid, 9300006))[1] == "true"
    line = [l for l in s.log_lines() if pid in l]
    assert len(line) == 1 and re.search(r" push request=\d+ ", line[0]), line


@pytest.mark.parametrize("path", ["/metrics"])
def test_metrics_follow_the_allow_list(make_server, path):
    """Like ?wsdl, /metrics is only for the allowed source addresses (the health checks are
    always open)."""
    s = make_server(["--allow", "10.99.0.0/16"])
    assert helpers.http(s.base_url, "GET", path).status == 403
    assert helpers.http(s.base_url, "GET", "/healthz").status == 200

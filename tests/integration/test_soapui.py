"""The SoapUI project users open (tests/soapui/ehrbridge-soapui-project.xml) passes against the
real server: tests/soapui/run_soapui_project.py executes its test suite the way SoapUI's
testrunner does (requests, endpoint substitution, headers, Basic authentication, SoapUI's
assertion semantics). The runner itself is tested: a copy of the project with one assertion
changed must fail, wrong credentials must fail, and the assertion types behave as SoapUI's sources
say (two of their ids read backwards: "SOAP Fault Assertion" is Not SOAP Fault)."""
import copy
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

import helpers
from conftest import free_port

SOAPUI_DIR = helpers.REPO / "tests" / "soapui"
PROJECT = SOAPUI_DIR / "ehrbridge-soapui-project.xml"
RUNNER = SOAPUI_DIR / "run_soapui_project.py"
CON = "http://eviware.com/soapui/config"
NS = {"con": CON}

sys.path.insert(0, str(SOAPUI_DIR))
import run_soapui_project as rsp  # noqa: E402

USER, PASSWORD, TOKEN = "moka", "soapui-basic-password-1", "soapui-bearer-token-0123456789"

# SoapUI's assertion ids (TestAssertionRegistry) that the project may use
SOAPUI_ASSERTION_IDS = {"SOAP Response", "SOAP Fault Assertion", "Not SOAP Fault Assertion",
                        "Valid HTTP Status Codes", "Invalid HTTP Status Codes", "Simple Contains",
                        "Simple NotContains", "XPath Match", "Response SLA"}


def project_xml():
    return etree.parse(str(PROJECT))


def assertion_count(tree):
    return len([a for a in tree.iterfind(".//con:testStep//con:assertion", NS)
                if a.get("disabled") != "true"])


@pytest.fixture
def soapui_server(make_server):
    return make_server(["--basic-user", USER, "--basic-password", PASSWORD,
                        "--bearer-token", TOKEN])


def run_project(server, project=PROJECT, **props):
    p = {"basicUser": USER, "basicPassword": PASSWORD, "bearerToken": TOKEN,
         "runId": helpers.new_id("soapui")}
    p.update(props)
    args = [sys.executable, str(RUNNER), str(project), "-e", server.push_url, "-v"]
    for k, v in p.items():
        args += ["-P", f"{k}={v}"]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


# ---- the project file ----

def test_project_is_a_soapui_project_of_the_contract():
    tree = project_xml()
    root = tree.getroot()
    assert root.tag == f"{{{CON}}}soapui-project"
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}type"
    ifaces = {i.get("name"): i for i in root.iterfind("con:interface", NS)}
    assert {i.get(xsi) for i in ifaces.values()} == {"con:WsdlInterface"}
    versions = {i.get("soapVersion"): i.get("bindingName") for i in ifaces.values()}
    assert versions == {"1_1": "{urn:ehrbridge:moka:v1}EhrBridgeSoap11",
                        "1_2": "{urn:ehrbridge:moka:v1}EhrBridgeSoap12"}
    wsdl = helpers.WSDL_FILE.read_text(encoding="utf-8")
    for i in ifaces.values():
        assert i.get("definition", "").endswith("?wsdl")
        parts = i.findall("con:definitionCache/con:part", NS)
        assert [p.findtext("con:content", namespaces=NS) for p in parts] == [wsdl], (
            "the project's cached WSDL differs from wsdl/ehrbridge.wsdl: refresh it (SoapUI: "
            "Update Definition, or paste the file into both con:definitionCache parts)")
        ops = i.findall("con:operation", NS)
        assert [(o.get("name"), o.get("action")) for o in ops] == [("pushCandidate", "pushCandidate")]
    cases = [c.get("name") for c in root.iterfind("con:testSuite/con:testCase", NS)]
    assert cases == ["Vendor sample (SOAP 1.1)", "SOAP 1.2", "Repeat of the same push id",
                     "Values that do not fit, and a record that cannot be stored",
                     "Without credentials", "Malformed request"]
    for step in root.iterfind(".//con:testStep", NS):
        assert step.get("type") == "request"
        assert step.findtext("con:config/con:interface", namespaces=NS) in ifaces
        for a in step.iterfind(".//con:assertion", NS):
            assert a.get("type") in SOAPUI_ASSERTION_IDS, a.get("type")
    types = {a.get("type") for a in root.iterfind(".//con:assertion", NS)}
    assert {"SOAP Fault Assertion", "Not SOAP Fault Assertion", "Valid HTTP Status Codes",
            "SOAP Response", "XPath Match", "Simple Contains"} <= types


def test_the_project_passes(soapui_server):
    r = run_project(soapui_server)
    assert r.returncode == 0, r.stdout + r.stderr
    n = assertion_count(project_xml())
    assert r.stdout.strip().splitlines()[-1] == f"{n} passed, 0 failed", r.stdout
    assert "not run" not in r.stdout


def test_the_pushes_are_stored(soapui_server):
    run_id = helpers.new_id("soapui-db")
    r = run_project(soapui_server, runId=run_id)
    assert r.returncode == 0, r.stdout
    with soapui_server.db() as db:
        got = {row["push_id"]: row["outcome"] for row in db.execute(
            "SELECT push_id, outcome FROM push_log WHERE push_id LIKE ?", (run_id + "-%",))}
    assert got == {f"{run_id}-vendor-sample": "stored", f"{run_id}-soap12": "stored",
                   f"{run_id}-repeat": "stored", f"{run_id}-tolerated": "stored",
                   f"{run_id}-invalid": "rejected"}, got


def test_wrong_credentials_fail_the_run(soapui_server):
    r = run_project(soapui_server, basicPassword="wrong", bearerToken="wrong")
    assert r.returncode == 1, r.stdout
    assert "FAIL Valid HTTP Status Codes 200" in r.stdout, r.stdout


def mutate(tree, case, assertion_type, change):
    """A copy of the project where one assertion of one test case is changed."""
    t = copy.deepcopy(tree)
    hits = t.xpath(f"//con:testCase[@name=$case]//con:assertion[@type=$type]", namespaces=NS,
                   case=case, type=assertion_type)
    assert hits, (case, assertion_type)
    change(hits[0])
    return t


def set_conf(tag, value):
    def change(a):
        a.find(f"con:configuration/{tag}", NS).text = value
    return change


def set_type(new_type):
    def change(a):
        a.set("type", new_type)
    return change


MUTATIONS = {
    "return true expected false": ("Vendor sample (SOAP 1.1)", "XPath Match", set_conf("content", "false")),
    "401 expected 200": ("Without credentials", "Valid HTTP Status Codes", set_conf("codes", "200")),
    "fault expected to be no fault": ("Malformed request", "Not SOAP Fault Assertion",
                                      set_type("SOAP Fault Assertion")),
    "no fault expected to be a fault": ("SOAP 1.2", "SOAP Fault Assertion",
                                        set_type("Not SOAP Fault Assertion")),
    "missing token": ("Without credentials", "Simple Contains", set_conf("token", "authorization failed")),
    "unknown assertion type": ("Repeat of the same push id", "SOAP Response", set_type("Schema Compliance")),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_changed_assertion_fails_the_run(soapui_server, tmp_path, mutation):
    case, kind, change = MUTATIONS[mutation]
    bad = tmp_path / "mutated-soapui-project.xml"
    mutate(project_xml(), case, kind, change).write(str(bad), xml_declaration=True, encoding="UTF-8")
    r = run_project(soapui_server, project=bad)
    assert r.returncode == 1, f"{mutation}: the runner passed a failing assertion\n{r.stdout}"
    assert r.stdout.strip().splitlines()[-1].endswith(" 1 failed"), r.stdout
    assert "FAIL" in r.stdout


def test_endpoint_substitution_is_used(soapui_server):
    """Without -e, the project's own endpoint (localhost:8080) would be called: the run must reach
    the test server only through the substituted endpoint."""
    dead = f"http://127.0.0.1:{free_port()}/pushCandidate"
    r = subprocess.run([sys.executable, str(RUNNER), str(PROJECT), "-e", dead, "-c", "SOAP 1.2"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "could not be sent" in r.stdout, r.stdout


# ---- SoapUI's assertion semantics, on canned responses ----

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
FAULT11 = (f'<?xml version="1.0"?><e:Envelope xmlns:e="{SOAP11}"><e:Body><e:Fault><faultcode>e:Client'
           '</faultcode><faultstring>x</faultstring></e:Fault></e:Body></e:Envelope>')
OK11 = (f'<e:Envelope xmlns:e="{SOAP11}"><e:Body><r xmlns="urn:x"><return>true</return>'
        '<message/><n><!--c-->5</n><m><x/>tail</m></r></e:Body></e:Envelope>')


def check(kind, response, version="1_1", status=200, **cfg):
    conf_el = etree.Element(f"{{{CON}}}configuration")
    for k, v in cfg.items():
        etree.SubElement(conf_el, k).text = v
    a = rsp.Assertion(kind, kind, conf_el)
    ex = rsp.Exchange(status, "", [], response.encode(), response, 1.0)
    iface = rsp.Interface("i", version, {"op": "op"}, [])
    try:
        rsp.run_assertion(a, ex, iface, rsp.Context({"p": "true"}))
        return True
    except rsp.AssertionFailed:
        return False


def test_fault_assertions_follow_soapui():
    assert check("Not SOAP Fault Assertion", FAULT11)       # label "SOAP Fault"
    assert not check("SOAP Fault Assertion", FAULT11)       # label "Not SOAP Fault"
    assert check("SOAP Fault Assertion", OK11)
    assert not check("Not SOAP Fault Assertion", OK11)
    # the interface's SOAP version decides: a 1.1 Fault is no Fault for a SOAP 1.2 interface
    assert not check("Not SOAP Fault Assertion", FAULT11, version="1_2")
    # not XML and no "Fault" in it: not a fault; an unparsable body that mentions :Fault fails both
    assert check("SOAP Fault Assertion", "plain text")
    assert not check("SOAP Fault Assertion", "x <a:Fault")
    assert not check("Not SOAP Fault Assertion", "x <a:Fault")


def test_soap_response_checks_the_envelope_of_the_version():
    assert check("SOAP Response", OK11)
    assert check("SOAP Response", FAULT11)
    assert not check("SOAP Response", OK11, version="1_2")
    assert not check("SOAP Response", "")
    assert not check("SOAP Response", "<Envelope/>")
    assert not check("SOAP Response", f'<e:Envelope xmlns:e="{SOAP11}"><e:Header/></e:Envelope>')
    assert not check("SOAP Response", f'<e:Envelope xmlns:e="{SOAP12}"><e:Body/><e:Body/></e:Envelope>',
                     version="1_2")
    assert check("SOAP Response", f'<e:Envelope xmlns:e="{SOAP12}"><e:Header/><e:Body/></e:Envelope>',
                 version="1_2")


def test_status_and_contains_assertions():
    assert check("Valid HTTP Status Codes", OK11, status=200, codes="200, 201")
    assert not check("Valid HTTP Status Codes", OK11, status=500, codes="200,201")
    assert check("Invalid HTTP Status Codes", OK11, status=200, codes="500")
    assert not check("Invalid HTTP Status Codes", OK11, status=500, codes="500")
    assert check("Simple Contains", OK11, token="<return>true</return>")
    assert not check("Simple Contains", OK11, token="<RETURN>TRUE")
    assert check("Simple Contains", OK11, token="<RETURN>TRUE", ignoreCase="true")
    # a regular expression must match the whole response (Java's String.matches)
    assert not check("Simple Contains", OK11, token="true", useRegEx="true")
    assert check("Simple Contains", OK11, token=".*<return>true</return>.*", useRegEx="true")
    assert check("Simple NotContains", OK11, token="false")
    assert not check("Simple NotContains", OK11, token="true")


def test_xpath_match_follows_soapui():
    ns = f"declare namespace e='{SOAP11}';\ndeclare namespace r='urn:x';\n"
    path = ns + "/e:Envelope/e:Body/r:r/r:return"
    assert check("XPath Match", OK11, path=path, content="true")
    assert not check("XPath Match", OK11, path=path, content="false")
    assert not check("XPath Match", OK11, path=path, content=" true")  # compared exactly
    assert check("XPath Match", OK11, path=path, content="${#TestCase#x}tr*", allowWildcards="true")
    assert not check("XPath Match", OK11, path=path, content="tr*", allowWildcards="false")
    assert check("XPath Match", OK11, path=ns + "//r:return", content="${p}")  # property expansion
    assert not check("XPath Match", OK11, path=ns + "//r:nothing", content="true")
    # an empty element has no text: it matches nothing, not ""
    assert not check("XPath Match", OK11, path=ns + "//r:message", content="")
    # the first child decides: a comment first gives no text unless comments are ignored
    assert not check("XPath Match", OK11, path=ns + "//r:n", content="5")
    assert check("XPath Match", OK11, path=ns + "//r:n", content="5", ignoreComments="true")
    assert not check("XPath Match", OK11, path=ns + "//r:m", content="tail")
    # boolean and string results of the expression
    assert check("XPath Match", OK11, path=ns + "count(//r:return) = 1", content="true")
    assert check("XPath Match", OK11, path=ns + "string(//r:return)", content="true")


def test_unknown_assertion_types_fail():
    assert not check("Schema Compliance", OK11)
    assert not check("Script Assertion", OK11)

#!/usr/bin/python3
"""Runs the test suites of a SoapUI 5.x project file (a *-soapui-project.xml, namespace
http://eviware.com/soapui/config) against a live service, the way SoapUI's own testrunner would,
so that CI proves the project a user opens in SoapUI passes against ehrbridge.

    run_soapui_project.py PROJECT [-e ENDPOINT] [-P name=value ...] [-s SUITE] [-c CASE] [-v]

Like SoapUI's testrunner.sh: -e replaces the endpoint of every request, -P sets a project
property, -s / -c select a test suite / test case by name. Exit status 0 when every assertion of
every step passed, 1 when one failed (or a step could not be run), 2 for a bad project or usage.
Its last line is "N passed, N failed" (assertions).

What is read and done, as SoapUI does it:
- interfaces (con:interface, WsdlInterface): name, soapVersion (1_1, 1_2), the operations' SOAP
  actions; test steps of type "request" name their interface and operation;
- the request: endpoint (expanded; -e wins), body (con:request), encoding, the headers of the
  "WsdlRequest@request-headers" setting, credentials (selectedAuthProfile / authType: "No
  Authorization"; Basic, pre-emptive when con:preemptive is true or authType is "Preemptive",
  otherwise sent after a 401 that asks for Basic), the request's timeout (ms); SOAP 1.1 is sent as
  text/xml with SOAPAction, SOAP 1.2 as application/soap+xml with the action parameter;
- property expansion ${#Project#x}, ${#TestSuite#x}, ${#TestCase#x}, ${#Env#X}, ${#System#x},
  ${x} (test case, suite, project in that order; unknown names expand to "");
- disabled suites, cases, steps and assertions are skipped; a failed step ends its test case when
  the case has failOnError="true" (SoapUI's default);
- assertion types, with the semantics of SoapUI's sources (the ids are SoapUI's and two of them
  read backwards):
    "SOAP Response"             the response is a SOAP envelope of the interface's version
                                (Envelope, optional Header, one Body; lax content not checked)
    "SOAP Fault Assertion"      label "Not SOAP Fault": fails when the response is a Fault
    "Not SOAP Fault Assertion"  label "SOAP Fault": fails unless the response is a Fault
    "Valid HTTP Status Codes" / "Invalid HTTP Status Codes"   comma-separated codes
    "Simple Contains" / "Simple NotContains"   token, ignoreCase, useRegEx (a regular expression
                                must match the WHOLE response, as Java's String.matches does)
    "XPath Match"               declare namespace p='uri'; path; expected content; allowWildcards
                                ('*' matches any text); an element is compared by its first text
                                child, as SoapUI's XmlUtils.getElementText does; passes when one of
                                the selected nodes matches
    "Response SLA"              the response came within SLA milliseconds
  Any other assertion type or step type FAILS the run: nothing is ever passed unchecked.
"""
import argparse
import base64
import http.client
import os
import re
import sys
import time
import urllib.parse
from dataclasses import dataclass, field

from lxml import etree

CON = "http://eviware.com/soapui/config"
NS = {"con": CON}
ENV_NS = {"1_1": "http://schemas.xmlsoap.org/soap/envelope/",
          "1_2": "http://www.w3.org/2003/05/soap-envelope"}
HEADERS_SETTING = "com.eviware.soapui.impl.wsdl.WsdlRequest@request-headers"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


class ProjectError(Exception):
    """The project file cannot be read or uses something this runner does not implement."""


def q(tag):
    return f"{{{CON}}}{tag}"


def text_of(el, tag, default=None):
    child = el.find(q(tag)) if el is not None else None
    return child.text if child is not None and child.text is not None else default


def truthy(v, default=False):
    return default if v is None else v.strip().lower() == "true"


def properties_of(el):
    """The con:properties/con:property pairs directly under el."""
    out = {}
    props = el.find(q("properties")) if el is not None else None
    for p in props.findall(q("property")) if props is not None else []:
        out[text_of(p, "name", "")] = text_of(p, "value", "")
    return out


# ------------------------------------------------------------------------------------------------
# Property expansion

EXPANSION = re.compile(r"\$\{([^{}]*)\}")


@dataclass
class Context:
    project: dict
    suite: dict = field(default_factory=dict)
    case: dict = field(default_factory=dict)

    def lookup(self, expr):
        if expr.startswith("="):
            raise ProjectError(f"script expansion ${{{expr}}} is not supported")
        if expr.startswith("#"):
            scope, _, name = expr[1:].partition("#")
            table = {"Project": self.project, "TestSuite": self.suite, "TestCase": self.case,
                     "Env": os.environ, "System": {}, "Global": {}}.get(scope)
            if table is None:
                raise ProjectError(f"unknown property scope in ${{{expr}}}")
            return table.get(name, "")
        for table in (self.case, self.suite, self.project):
            if expr in table:
                return table[expr]
        return ""

    def expand(self, s):
        if s is None:
            return None
        for _ in range(8):  # values may hold expansions themselves
            new = EXPANSION.sub(lambda m: str(self.lookup(m.group(1))), s)
            if new == s:
                break
            s = new
        return s


# ------------------------------------------------------------------------------------------------
# The project model

@dataclass
class Interface:
    name: str
    soap_version: str  # "1_1" or "1_2"
    actions: dict      # operation name -> SOAP action
    definition_cache: list  # (url, content) of con:definitionCache/con:part


@dataclass
class Assertion:
    type: str
    name: str
    config: etree._Element  # con:configuration or None


@dataclass
class Step:
    name: str
    interface: str
    operation: str
    endpoint: str
    body: str
    encoding: str
    headers: list  # (name, value)
    credentials: etree._Element
    timeout_ms: int
    assertions: list


@dataclass
class Case:
    name: str
    fail_on_error: bool
    properties: dict
    steps: list  # Step, or a string naming an unsupported step


@dataclass
class Suite:
    name: str
    properties: dict
    cases: list


@dataclass
class Project:
    name: str
    properties: dict
    interfaces: dict
    suites: list


def parse_headers(setting_text):
    """The request headers of a "WsdlRequest@request-headers" setting (an xml-fragment of
    con:entry key/value), in order."""
    if not setting_text or not setting_text.strip():
        return []
    frag = etree.fromstring(setting_text.encode("utf-8"))
    return [(e.get("key"), e.get("value") or "") for e in frag.iter(q("entry"))]


def load_project(path):
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True,
                                                       huge_tree=True)).getroot()
    except (OSError, etree.XMLSyntaxError) as e:
        raise ProjectError(f"cannot read {path}: {e}") from e
    if root.tag != q("soapui-project"):
        raise ProjectError(f"{path}: not a SoapUI project (root {root.tag})")
    interfaces = {}
    for el in root.findall(q("interface")):
        kind = el.get(XSI_TYPE, "")
        if kind.split(":")[-1] != "WsdlInterface":
            continue  # REST services have no SOAP requests
        version = el.get("soapVersion", "1_1")
        if version not in ENV_NS:
            raise ProjectError(f"interface {el.get('name')}: unknown soapVersion {version}")
        actions = {op.get("name"): op.get("action") or "" for op in el.findall(q("operation"))}
        cache = [(text_of(p, "url", ""), text_of(p, "content", ""))
                 for p in el.findall(f"{q('definitionCache')}/{q('part')}")]
        interfaces[el.get("name")] = Interface(el.get("name"), version, actions, cache)
    suites = []
    for s_el in root.findall(q("testSuite")):
        if truthy(s_el.get("disabled")):
            continue
        cases = []
        for c_el in s_el.findall(q("testCase")):
            if truthy(c_el.get("disabled")):
                continue
            steps = []
            for st in c_el.findall(q("testStep")):
                if truthy(st.get("disabled")):
                    continue
                if st.get("type") != "request":
                    steps.append(f"step {st.get('name')!r}: step type {st.get('type')!r} is not supported")
                    continue
                cfg = st.find(q("config"))
                req = cfg.find(q("request")) if cfg is not None else None
                if req is None:
                    raise ProjectError(f"step {st.get('name')!r}: no con:config/con:request")
                headers = []
                for setting in req.findall(f"{q('settings')}/{q('setting')}"):
                    if setting.get("id") == HEADERS_SETTING:
                        headers = parse_headers(setting.text)
                assertions = [Assertion(a.get("type"), a.get("name") or a.get("type"),
                                        a.find(q("configuration")))
                              for a in req.findall(q("assertion")) if not truthy(a.get("disabled"))]
                timeout = req.get("timeout") or text_of(req, "timeout", "") or ""
                steps.append(Step(
                    name=st.get("name"), interface=text_of(cfg, "interface", ""),
                    operation=text_of(cfg, "operation", ""), endpoint=text_of(req, "endpoint", ""),
                    body=text_of(req, "request", ""), encoding=text_of(req, "encoding", "UTF-8") or "UTF-8",
                    headers=headers, credentials=req.find(q("credentials")),
                    timeout_ms=int(timeout) if timeout.strip().isdigit() else 0,
                    assertions=assertions))
            cases.append(Case(c_el.get("name"), truthy(c_el.get("failOnError"), True),
                              properties_of(c_el), steps))
        suites.append(Suite(s_el.get("name"), properties_of(s_el), cases))
    return Project(root.get("name"), properties_of(root), interfaces, suites)


# ------------------------------------------------------------------------------------------------
# Sending a request

@dataclass
class Exchange:
    status: int
    reason: str
    headers: list
    body: bytes
    content: str      # the response as text
    elapsed_ms: float


def send(url, body, headers, timeout_s):
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https"):
        raise ProjectError(f"endpoint {url!r}: only http and https are supported")
    cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    kw = {}
    if u.scheme == "https":
        import ssl
        kw["context"] = ssl._create_unverified_context()  # SoapUI trusts any certificate too
    conn = cls(u.hostname, u.port, timeout=timeout_s, **kw)
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    t0 = time.monotonic()
    try:
        conn.request("POST", path, body=body, headers=dict(headers))
        r = conn.getresponse()
        data = r.read()
        return r.status, r.reason, r.getheaders(), data, (time.monotonic() - t0) * 1000
    finally:
        conn.close()


def auth_settings(cred, ctx):
    """("none" | "basic", preemptive, user, password) of a con:credentials element."""
    if cred is None:
        return "none", False, "", ""
    profile = text_of(cred, "selectedAuthProfile")
    auth_type = text_of(cred, "authType", "No Authorization")
    user = ctx.expand(text_of(cred, "username", "")) or ""
    password = ctx.expand(text_of(cred, "password", "")) or ""
    if profile is None:  # projects of SoapUI 4.6 and older
        profile = "Basic" if auth_type in ("Preemptive", "Global HTTP Settings") else auth_type
    if profile in ("Preemptive", "Global HTTP Settings"):
        profile = "Basic"
    if profile == "No Authorization":
        return "none", False, "", ""
    if profile != "Basic":
        raise ProjectError(f"authentication profile {profile!r} is not supported")
    preemptive = truthy(text_of(cred, "preemptive")) or auth_type == "Preemptive"
    return "basic", preemptive, user, password


def run_request(step, iface, ctx, endpoint_override):
    version = iface.soap_version
    action = iface.actions.get(step.operation)
    if action is None:
        raise ProjectError(f"step {step.name!r}: interface {iface.name} has no operation {step.operation!r}")
    url = endpoint_override or ctx.expand(step.endpoint)
    if not url:
        raise ProjectError(f"step {step.name!r}: no endpoint")
    enc = step.encoding or "UTF-8"
    body = ctx.expand(step.body).encode(enc)
    headers = []
    if version == "1_2":
        ct = f"application/soap+xml;charset={enc}" + (f';action="{action}"' if action else "")
        headers.append(("Content-Type", ct))
    else:
        headers.append(("Content-Type", f"text/xml;charset={enc}"))
        headers.append(("SOAPAction", f'"{action}"'))
    for k, v in step.headers:
        headers = [(hk, hv) for hk, hv in headers if hk.lower() != k.lower()]
    for k, v in step.headers:
        headers.append((k, ctx.expand(v)))
    kind, preemptive, user, password = auth_settings(step.credentials, ctx)
    basic = ("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    if kind == "basic" and preemptive:
        headers.append(basic)
    timeout_s = step.timeout_ms / 1000 if step.timeout_ms else 60
    status, reason, rh, data, ms = send(url, body, headers, timeout_s)
    if status == 401 and kind == "basic" and not preemptive:
        challenge = " ".join(v for k, v in rh if k.lower() == "www-authenticate")
        if re.search(r"\bbasic\b", challenge, re.I):  # HttpClient answers a Basic challenge once
            status, reason, rh, data, ms2 = send(url, body, headers + [basic], timeout_s)
            ms += ms2
    charset = "utf-8"
    for k, v in rh:
        if k.lower() == "content-type":
            m = re.search(r"charset=\"?([\w.-]+)", v, re.I)
            if m:
                charset = m.group(1)
    try:
        content = data.decode(charset, "replace")
    except LookupError:
        content = data.decode("utf-8", "replace")
    return Exchange(status, reason, rh, data, content, ms)


# ------------------------------------------------------------------------------------------------
# Assertions (SoapUI's semantics)

class AssertionFailed(Exception):
    pass


def conf(a, name, default=None):
    if a.config is None:
        return default
    el = a.config.find(name)
    if el is None:
        el = a.config.find(q(name))
    return el.text if el is not None and el.text is not None else ("" if el is not None else default)


def parse_xml(content):
    try:
        return etree.fromstring(content.encode("utf-8"), etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=True, remove_comments=False))
    except (etree.XMLSyntaxError, ValueError) as e:
        raise AssertionFailed(f"response is not XML: {e}") from e


def _strip_decl(content):
    return re.sub(r"^\s*<\?xml[^>]*\?>", "", content, count=1)


def is_soap_fault(content, version):
    """SoapUtils.isSoapFault: a quick look for ":Fault" or "<Fault", then //env:Fault."""
    if not content:
        return False
    if content.find(":Fault") > 0 or content.find("<Fault") > 0:
        doc = parse_xml(_strip_decl(content))
        return bool(doc.xpath("//env:Fault", namespaces={"env": ENV_NS[version]}))
    return False


def check_envelope(content, version):
    """The SOAP envelope schema of the version, lax content skipped (SoapVersion
    .validateSoapEnvelope as the SOAP Response assertion runs it)."""
    if not content or not content.strip():
        raise AssertionFailed("Response is missing or empty")
    doc = parse_xml(_strip_decl(content))
    env = ENV_NS[version]
    if doc.tag != f"{{{env}}}Envelope":
        raise AssertionFailed(f"root element is {doc.tag}, expected {{{env}}}Envelope")
    if doc.text and doc.text.strip():
        raise AssertionFailed("text directly in the Envelope")
    for name in doc.attrib:
        ns = etree.QName(name).namespace
        if ns is None or ns == env:  # anyAttribute namespace="##other"
            if etree.QName(name).localname != "encodingStyle":  # ignored by SoapUI
                raise AssertionFailed(f"attribute {name} not allowed on the Envelope")
    kids = [k for k in doc if isinstance(k.tag, str)]
    for k in doc:
        if k.tail and k.tail.strip():
            raise AssertionFailed("text directly in the Envelope")
    i = 0
    if i < len(kids) and kids[i].tag == f"{{{env}}}Header":
        i += 1
    if i >= len(kids) or kids[i].tag != f"{{{env}}}Body":
        raise AssertionFailed(f"expected {{{env}}}Body in the Envelope")
    i += 1
    for k in kids[i:]:
        ns = etree.QName(k).namespace
        if version == "1_2" or ns == env or ns is None:
            raise AssertionFailed(f"element {k.tag} not allowed after the Body")


def element_text(el):
    """XmlUtils.getElementText: the first child node's value when it is text, else None."""
    if el.text is not None:
        return el.text
    return None


def wildcard_match(expected, actual):
    """Tools.assertSimilar with '*': a '*' in expected stands for any text."""
    if actual is None:
        return False
    if expected == "*":
        return True
    pattern = ".*".join(re.escape(t) for t in expected.split("*"))
    return re.fullmatch(pattern, actual, re.S) is not None


DECLARE = re.compile(r"\s*declare\s+namespace\s+([\w.-]+)\s*=\s*(['\"])(.*?)\2\s*;", re.S)
DECLARE_DEFAULT = re.compile(r"\s*declare\s+default\s+element\s+namespace\s*(['\"])(.*?)\1\s*;", re.S)


def split_xpath(path):
    ns = {}
    while True:
        m = DECLARE.match(path)
        if m:
            ns[m.group(1)] = m.group(3)
            path = path[m.end():]
            continue
        if DECLARE_DEFAULT.match(path):
            raise ProjectError("declare default element namespace is not supported")
        break
    path = path.strip()
    if path.startswith("$this"):
        path = "." + path[len("$this"):]
    return ns, path


def xml_identical(a, b):
    """XMLUnit's identical(): same names, prefixes, attributes, text and children, in order."""
    if a.tag != b.tag or a.prefix != b.prefix or dict(a.attrib) != dict(b.attrib):
        return False
    if (a.text or "") != (b.text or ""):
        return False
    ka, kb = [k for k in a if isinstance(k.tag, str)], [k for k in b if isinstance(k.tag, str)]
    if len(ka) != len(kb):
        return False
    return all(xml_identical(x, y) and (x.tail or "") == (y.tail or "") for x, y in zip(ka, kb))


def assert_xpath(a, content, ctx):
    path, expected = conf(a, "path"), conf(a, "content")
    if path is None:
        return "Missing path for XPath assertion"  # SoapUI passes it with this message
    if expected is None:
        return "Missing content for XPath assertion"
    expected = ctx.expand(expected)
    wildcards = truthy(conf(a, "allowWildcards"))
    ignore_comments = truthy(conf(a, "ignoreComments"))
    ns, xp = split_xpath(ctx.expand(path))
    doc = parse_xml(_strip_decl(content))
    if ignore_comments:
        for c in doc.xpath("//comment()"):
            parent = c.getparent()
            if parent is not None:
                if c.tail:
                    prev = c.getprevious()
                    if prev is not None:
                        prev.tail = (prev.tail or "") + c.tail
                    else:
                        parent.text = (parent.text or "") + c.tail
                parent.remove(c)
    try:
        items = doc.getroottree().xpath(xp, namespaces=ns) if xp.startswith("/") else doc.xpath(xp, namespaces=ns)
    except etree.XPathError as e:
        raise AssertionFailed(f"XPathContains assertion failed for path [{path}] : {e}") from e
    if not isinstance(items, list):
        items = [items]
    if not items:
        raise AssertionFailed(f"Missing content for xpath [{path}] in Response")
    expected_xml = None
    if not xp.endswith("text()"):
        try:
            expected_xml = etree.fromstring(expected.encode("utf-8"))
        except (etree.XMLSyntaxError, ValueError):
            expected_xml = None  # not XML: compared as text
    last = None
    for it in items:
        if expected_xml is not None:
            ok = isinstance(it, etree._Element) and xml_identical(expected_xml, it)
            actual = etree.tostring(it, encoding="unicode") if isinstance(it, etree._Element) else str(it)
        else:
            if isinstance(it, etree._Element):
                actual = element_text(it)
                ok = wildcard_match(expected, actual) if wildcards else actual == expected
            elif getattr(it, "is_attribute", False):
                actual = str(it)
                ok = wildcard_match(expected, actual) if wildcards else actual == expected
            else:  # text nodes, strings, numbers, booleans
                actual = it if isinstance(it, str) else ("true" if it is True else "false" if it is False
                                                         else repr(it))
                ok = actual == expected
        if ok:
            return f"Response matches content for [{xp}]"
        last = actual
    raise AssertionFailed(f"XPathContains comparison failed for path [{path}], expecting "
                          f"[{expected}], actual was [{last}]")


def status_code(ex):
    return str(ex.status)


def run_assertion(a, ex, iface, ctx):
    """Returns a message when the assertion holds; raises AssertionFailed when it does not."""
    t = a.type
    content = ex.content
    if t == "SOAP Response":
        check_envelope(content, iface.soap_version)
        return "Response Envelope OK"
    if t == "SOAP Fault Assertion":  # label "Not SOAP Fault"
        if is_soap_fault(content, iface.soap_version):
            raise AssertionFailed("Response is a SOAP Fault")
        return "Response is not a SOAP Fault"
    if t == "Not SOAP Fault Assertion":  # label "SOAP Fault"
        if not is_soap_fault(content, iface.soap_version):
            raise AssertionFailed("Response is not a SOAP Fault")
        return "Response is a SOAP Fault"
    if t in ("Valid HTTP Status Codes", "Invalid HTTP Status Codes"):
        codes = [c.strip() for c in ctx.expand(conf(a, "codes", "")).split(",")]
        listed = status_code(ex) in codes
        if t == "Valid HTTP Status Codes" and not listed:
            raise AssertionFailed(f"Response status code:{ex.status} is not in acceptable list of status codes")
        if t == "Invalid HTTP Status Codes" and listed:
            raise AssertionFailed(f"Response status code:{ex.status} is in invalid list of status codes")
        return "OK"
    if t in ("Simple Contains", "Simple NotContains"):
        token = ctx.expand(conf(a, "token", "") or "")
        ignore_case = truthy(conf(a, "ignoreCase"))
        regex = truthy(conf(a, "useRegEx"))
        if not token:
            return "empty token"
        if regex:
            found = re.fullmatch(token, content) is not None  # Java's String.matches
        elif ignore_case:
            found = token.upper() in content.upper()
        else:
            found = token in content
        if t == "Simple Contains" and not found:
            raise AssertionFailed(f"Missing token [{token}] in Response")
        if t == "Simple NotContains" and found:
            raise AssertionFailed(f"Response contains token [{token}]")
        return f"Response {'contains' if found else 'does not contain'} token [{token}]"
    if t == "XPath Match":
        return assert_xpath(a, content, ctx)
    if t == "Response SLA":
        sla = ctx.expand(conf(a, "SLA", "") or "").strip()
        if sla and ex.elapsed_ms > int(sla):
            raise AssertionFailed(f"Response did not meet SLA {ex.elapsed_ms:.0f}/{sla}")
        return "Response meets SLA"
    raise AssertionFailed(f"assertion type {t!r} is not supported by this runner")


# ------------------------------------------------------------------------------------------------
# Running

def run(project, endpoint=None, props=None, suite=None, case=None, verbose=False, out=sys.stdout):
    """Runs the project; returns (passed, failed) counts of assertions (a step that cannot be
    run counts as one failure)."""
    ctx = Context(dict(project.properties))
    ctx.project.update(props or {})
    passed = failed = 0
    selected = 0
    for s in project.suites:
        if suite and s.name != suite:
            continue
        ctx.suite = s.properties
        for c in s.cases:
            if case and c.name != case:
                continue
            selected += 1
            ctx.case = c.properties
            print(f"[{s.name}] {c.name}", file=out)
            case_failed = False
            for st in c.steps:
                if case_failed and c.fail_on_error:
                    name = st if isinstance(st, str) else st.name
                    print(f"  - {name}: not run (an earlier step failed)", file=out)
                    continue
                if isinstance(st, str):
                    print(f"  FAIL {st}", file=out)
                    failed += 1
                    case_failed = True
                    continue
                iface = project.interfaces.get(st.interface)
                try:
                    if iface is None:
                        raise ProjectError(f"no WSDL interface named {st.interface!r}")
                    ex = run_request(st, iface, ctx, endpoint)
                except (ProjectError, OSError, http.client.HTTPException) as e:
                    print(f"  FAIL {st.name}: the request could not be sent: {e}", file=out)
                    failed += 1
                    case_failed = True
                    continue
                print(f"  {st.name}: HTTP {ex.status} in {ex.elapsed_ms:.0f} ms", file=out)
                if not st.assertions:
                    print("    (no assertions)", file=out)
                step_failed = False
                for a in st.assertions:
                    try:
                        msg = run_assertion(a, ex, iface, ctx)
                        passed += 1
                        if verbose:
                            print(f"    ok   {a.name}: {msg}", file=out)
                    except (AssertionFailed, ProjectError) as e:
                        failed += 1
                        step_failed = True
                        print(f"    FAIL {a.name} [{a.type}]: {e}", file=out)
                if step_failed:
                    case_failed = True
                    if verbose:
                        print(f"    response: {ex.content[:2000]}", file=out)
    if not selected:
        raise ProjectError("no test case selected")
    return passed, failed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("project")
    ap.add_argument("-e", "--endpoint", help="the endpoint of every request")
    ap.add_argument("-P", dest="props", action="append", default=[], metavar="NAME=VALUE",
                    help="set a project property")
    ap.add_argument("-s", "--suite")
    ap.add_argument("-c", "--case")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    props = {}
    for p in args.props:
        name, sep, value = p.partition("=")
        if not sep:
            ap.error(f"-P {p}: expected NAME=VALUE")
        props[name] = value
    try:
        project = load_project(args.project)
        passed, failed = run(project, args.endpoint, props, args.suite, args.case, args.verbose)
    except ProjectError as e:
        print(f"run_soapui_project: {e}", file=sys.stderr)
        return 2
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The served contract and the health routes: GET ?wsdl answers the WSDL with both addresses set to
--public-url (or derived from Host), valid for xmllint and equal to wsdl/ehrbridge.wsdl otherwise;
`ehrbridge wsdl` prints the same; /healthz and /readyz answer 200."""
import re
import subprocess

from lxml import etree

import helpers
from conftest import run_cli

NS = {"wsdl": helpers.WSDL_NS, "soap": helpers.SOAP11_BIND, "soap12": helpers.SOAP12_BIND}


def addresses(wsdl_bytes):
    doc = etree.fromstring(wsdl_bytes)
    return ([a.get("location") for a in doc.iterfind(".//wsdl:service/wsdl:port/soap:address", NS)],
            [a.get("location") for a in doc.iterfind(".//wsdl:service/wsdl:port/soap12:address", NS)])


def test_wsdl_is_served_with_public_url(server):
    r = helpers.http(server.base_url, "GET", "/pushCandidate?wsdl")
    assert r.status == 200, r
    assert "xml" in r.content_type, r.content_type
    s11, s12 = addresses(r.body)
    assert s11 == [server.public_url] and s12 == [server.public_url], (s11, s12)


def test_wsdl_passes_xmllint(server, tmp_path):
    r = helpers.http(server.base_url, "GET", "/pushCandidate?wsdl")
    f = tmp_path / "served.wsdl"
    f.write_bytes(r.body)
    p = subprocess.run(["xmllint", "--noout", str(f)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_wsdl_is_the_contract_with_addresses_rewritten(server):
    served = helpers.http(server.base_url, "GET", "/pushCandidate?wsdl").body.decode("utf-8")
    contract = helpers.WSDL_FILE.read_text(encoding="utf-8")
    expected = re.sub(r'(:address location=")[^"]*(")', lambda m: m.group(1) + server.public_url + m.group(2), contract)
    assert served == expected


def test_wsdl_declares_the_service_ports(server):
    doc = etree.fromstring(helpers.http(server.base_url, "GET", "/pushCandidate?wsdl").body)
    svc = doc.find(".//wsdl:service[@name='EhrBridgeService']", NS)
    assert svc is not None
    assert sorted(p.get("name") for p in svc.iterfind("wsdl:port", NS)) == ["EhrBridgeSoap11Port", "EhrBridgeSoap12Port"]


def test_wsdl_on_any_path_with_query(server):
    """?wsdl is answered whatever the path (clients append it to the URL they were given)."""
    r = helpers.http(server.base_url, "GET", "/?wsdl")
    assert r.status == 200 and addresses(r.body)[0] == [server.public_url], r


def test_wsdl_address_from_host_header_without_public_url(make_server):
    s = make_server(public_url=False)
    r = helpers.http(s.base_url, "GET", "/pushCandidate?wsdl", headers={"Host": "ehr.intranet.example:8443"})
    assert r.status == 200, r
    s11, s12 = addresses(r.body)
    assert s11 == s12 == ["http://ehr.intranet.example:8443/pushCandidate"], (s11, s12)


def test_wsdl_command_prints_the_same_addresses(server):
    p = run_cli("wsdl", "--public-url", server.public_url)
    assert p.returncode == 0, p.stderr
    s11, s12 = addresses(p.stdout.encode("utf-8"))
    assert s11 == [server.public_url] and s12 == [server.public_url]
    served = helpers.http(server.base_url, "GET", "/pushCandidate?wsdl").body.decode("utf-8")
    assert p.stdout.strip() == served.strip()


def test_wsdl_command_escapes_the_url():
    url = "https://ehr.example.com:8443/moka/pushCandidate?tenant=a&x=1"
    p = run_cli("wsdl", "--public-url", url)
    assert p.returncode == 0, p.stderr
    s11, s12 = addresses(p.stdout.encode("utf-8"))
    assert s11 == [url] and s12 == [url]


def test_healthz(server):
    r = helpers.http(server.base_url, "GET", "/healthz")
    assert r.status == 200, r


def test_readyz(server):
    r = helpers.http(server.base_url, "GET", "/readyz")
    assert r.status == 200, r

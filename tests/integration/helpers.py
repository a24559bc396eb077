"""Helpers of the ehrbridge integration tests: the contract read from the WSDL, the vendor's JSON
example turned into the contract's form, SOAP envelopes built by hand, raw HTTP, and database reads
(SQLite, PostgreSQL or MariaDB behind one small interface: db_connect, tables, columns, rows).

Nothing here knows the server's internals: requests are built from the WSDL and the vendor's docs,
answers are read as a client reads them, the database as an EHR reader would."""
import decimal
import http.client as httpclient
import json
import os
import re
import sqlite3
import uuid
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURES = Path(os.environ.get("EB_FIXTURES") or REPO / "tests" / "fixtures")
INTEGRATION_FIXTURES = FIXTURES / "integration"
SHAPES_DIR = FIXTURES / "shapes"
WSDL_FILE = REPO / "wsdl" / "ehrbridge.wsdl"

TNS = "urn:ehrbridge:moka:v1"
XSD = "http://www.w3.org/2001/XMLSchema"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP11_BIND = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12_BIND = "http://schemas.xmlsoap.org/wsdl/soap12/"
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"

# a line of ehrbridge's own logger: text ("<time> <level> <msg> ...") or JSON ({"ts":...})
LOG_LINE = re.compile(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warn|error) |\{"ts":")')

# The personal data of the vendor's example record: never in a log line or a client message.
PII = ("邵旭冬", "18600000000", "shaodong@example.com", "410322199202152910")


# ---------------------------------------------------------------------------------------------
# The contract, read from the WSDL

class Contract:
    """The complexTypes of the WSDL: for each, its elements in order as (name, type, is_list)."""

    def __init__(self, wsdl_bytes):
        root = etree.fromstring(wsdl_bytes)
        self.types = {}
        ns = {"xsd": XSD}
        for ct in root.iterfind(".//xsd:schema/xsd:complexType", ns):
            els = []
            for el in ct.iterfind("xsd:sequence/xsd:element", ns):
                els.append((el.get("name"), el.get("type"), el.get("maxOccurs") == "unbounded"))
            self.types[ct.get("name")] = els
        push = root.find(".//xsd:schema/xsd:element[@name='pushCandidate']", ns)
        self.types["pushCandidate"] = [
            (el.get("name"), el.get("type"), False)
            for el in push.iterfind("xsd:complexType/xsd:sequence/xsd:element", ns)]

    def list_item_type(self, tname):
        """For a wrapper type (one unbounded <element>), the item type; else None."""
        els = self.types.get(tname)
        if els and len(els) == 1 and els[0][0] == "element" and els[0][2]:
            return els[0][1]
        return None

    def is_complex(self, qtype):
        return qtype.startswith("tns:")


_contract = None


def contract():
    global _contract
    if _contract is None:
        _contract = Contract(WSDL_FILE.read_bytes())
    return _contract


def _norm_key(k):
    return k.replace("_", "").replace("-", "").lower()


def _scalar_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def to_contract(value, qtype, path="data"):
    """The vendor's JSON value as the contract's typed form, in contract order: keys renamed to
    the contract's spelling (CandidateId -> candidateId, employee_id -> employeeId), arrays
    wrapped as {"element": [...]}, "any" values as text (objects as JSON text), nulls omitted.
    A key the contract does not know raises: the fixture and the contract must agree."""
    c = contract()
    local = qtype.split(":", 1)[1]
    if qtype.startswith("xsd:"):
        if local == "anyType":
            if isinstance(value, (dict, list)):
                return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            return _scalar_text(value)
        if local == "string":
            return _scalar_text(value)
        if local == "long":
            return int(value)
        if local == "boolean":
            if isinstance(value, str):
                return value.strip().lower() in ("true", "1")
            return bool(value)
        if local == "decimal":
            return decimal.Decimal(str(value))
        raise AssertionError(f"{path}: unhandled type {qtype}")
    item = c.list_item_type(local)
    if item is not None:
        assert isinstance(value, list), f"{path}: expected an array"
        return {"element": [to_contract(v, item, f"{path}[{i}]") for i, v in enumerate(value)
                            if v is not None]}
    assert isinstance(value, dict), f"{path}: expected an object for {qtype}"
    fields = c.types[local]
    by_norm = {_norm_key(n): (n, t) for n, t, _ in fields}
    given = {}
    for k, v in value.items():
        nk = _norm_key(k)
        if nk not in by_norm:
            raise KeyError(f"{path}.{k}: not in the contract type {local}")
        given[by_norm[nk][0]] = v
    out = {}
    for name, t, _ in fields:
        if name in given and given[name] is not None:
            out[name] = to_contract(given[name], t, f"{path}.{name}")
    return out


def load_vendor_sample():
    """The vendor's REST example (tests/fixtures/integration/vendor-sample.json) as sent by Moka."""
    return json.loads((INTEGRATION_FIXTURES / "vendor-sample.json").read_text(encoding="utf-8"))


def contract_push(vendor=None, push_id=None, application_id=None):
    """The pushCandidate request (id, event, triggeredAt, data) in contract form."""
    vendor = vendor if vendor is not None else load_vendor_sample()
    vendor = json.loads(json.dumps(vendor))  # deep copy
    if application_id is not None:
        vendor["data"]["applicationId"] = application_id
    req = {
        "id": push_id or vendor["id"],
        "event": vendor["event"],
        "triggeredAt": str(vendor["triggeredAt"]),
        "data": to_contract(vendor["data"], "tns:Candidate"),
    }
    return req


def jsonable(v):
    """Contract form -> JSON for the node client (Decimal as a number)."""
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


# ---------------------------------------------------------------------------------------------
# SOAP by hand

def contract_xml(req):
    """<pushCandidate xmlns="urn:ehrbridge:moka:v1"> built from the contract form, as text."""
    def build(parent, name, v):
        el = etree.SubElement(parent, f"{{{TNS}}}{name}")
        if isinstance(v, dict):
            for k, x in v.items():
                if isinstance(x, list):
                    for item in x:
                        build(el, k, item)
                else:
                    build(el, k, x)
        elif isinstance(v, bool):
            el.text = "true" if v else "false"
        else:
            el.text = str(v)
        return el
    root = etree.Element(f"{{{TNS}}}pushCandidate", nsmap={None: TNS})
    for k, v in req.items():
        build(root, k, v)
    return etree.tostring(root, encoding="unicode")


def envelope(body_xml, soap=11):
    ns = SOAP12_ENV if soap == 12 else SOAP11_ENV
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<soap:Envelope xmlns:soap="{ns}"><soap:Body>{body_xml}</soap:Body></soap:Envelope>')


def soap_headers(soap=11):
    if soap == 12:
        return {"Content-Type": 'application/soap+xml; charset=utf-8; action="pushCandidate"'}
    return {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"pushCandidate"'}


def minimal_data(application_id, **extra):
    """A small valid candidate (contract form) with personal data that must never leak."""
    d = {"applicationId": application_id, "candidateId": 1000 + application_id % 1000,
         "name": PII[0], "phone": PII[1], "email": PII[2], "birthYear": 1992,
         "citizenId": PII[3]}
    d.update(extra)
    return d


def minimal_push_xml(push_id, application_id, data_extra_xml="", event="pushCandidate",
                     data_fields=None, omit=()):
    """A pushCandidate element written by hand (fields in contract order), for requests that a
    typed client would refuse to build (malformed values, missing fields, unknown elements)."""
    fields = data_fields if data_fields is not None else minimal_data(application_id)
    parts = []
    order = [n for n, _, _ in contract().types["Candidate"]]
    for name in order:
        if name in fields and name not in omit:
            parts.append(f"<{name}>{xml_escape(str(fields[name]))}</{name}>")
    head = ""
    if push_id is not None and "id" not in omit:
        head += f"<id>{xml_escape(push_id)}</id>"
    if event is not None and "event" not in omit:
        head += f"<event>{xml_escape(event)}</event>"
    head += "<triggeredAt>1505296287</triggeredAt>"
    return (f'<pushCandidate xmlns="{TNS}">{head}<data>{"".join(parts)}{data_extra_xml}</data>'
            f"</pushCandidate>")


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def new_id(prefix="it"):
    return f"{prefix}-{uuid.uuid4()}"


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return f"<HTTP {self.status} {self.content_type!r} {self.text[:2000]!r}>"


def http(base_url, method, path, body=None, headers=None, timeout=30):
    """One request on a new connection; the whole answer."""
    m = re.match(r"http://([^/:]+):(\d+)", base_url)
    conn = httpclient.HTTPConnection(m.group(1), int(m.group(2)), timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def post_soap(server, xml, soap=11, headers=None):
    h = soap_headers(soap)
    h.update(headers or {})
    return http(server.base_url, "POST", "/pushCandidate", xml, h)


def push(server, body_xml, soap=11):
    """Posts a pushCandidate element in an envelope; returns (response, return, message)."""
    r = post_soap(server, envelope(body_xml, soap), soap)
    ret, msg = parse_push_answer(r)
    return r, ret, msg


def parse_push_answer(r):
    """(return as 'true'/'false'/None, message or None) of a pushCandidateResponse."""
    try:
        doc = etree.fromstring(r.body)
    except etree.XMLSyntaxError:
        return None, None
    ret = doc.xpath("//*[local-name()='pushCandidateResponse']/*[local-name()='return']")
    msg = doc.xpath("//*[local-name()='pushCandidateResponse']/*[local-name()='message']")
    return (ret[0].text.strip() if ret and ret[0].text else None,
            msg[0].text if msg else None)


def soap_version_of(r):
    """The envelope namespace of an answer: 11, 12 or None."""
    try:
        doc = etree.fromstring(r.body)
    except etree.XMLSyntaxError:
        return None
    return {SOAP11_ENV: 11, SOAP12_ENV: 12}.get(etree.QName(doc).namespace)


def fault_text(r):
    """faultstring (1.1) or Reason/Text (1.2) of a SOAP Fault answer, else None."""
    try:
        doc = etree.fromstring(r.body)
    except etree.XMLSyntaxError:
        return None
    f = doc.xpath("//*[local-name()='Fault']")
    if not f:
        return None
    s = f[0].xpath(".//*[local-name()='faultstring'] | .//*[local-name()='Reason']/*[local-name()='Text']")
    return s[0].text if s and s[0].text else ""


# ---------------------------------------------------------------------------------------------
# The database, read as an EHR reader would

class ServerDatabase(str):
    """The database of a server on a database server, where a SQLite server has its file path
    (PgDatabase or MariaDatabase). db_connect() gives a connection that may write (autocommit)."""


class PgDatabase(ServerDatabase):
    """The database of a server on PostgreSQL: the ehrbridge --db URL (this string), which
    selects the server's own schema through options=-c search_path=<schema>. db_connect() and
    dump_all_text() accept it as they accept a SQLite file's path."""

    def __new__(cls, url, schema):
        obj = str.__new__(cls, url)
        obj.schema = schema
        return obj


class MariaDatabase(ServerDatabase):
    """The database of a server on MariaDB (odbc-mariadb): a database of its own on the server
    of tools/mariadb.sh. This string is its name; params are pymysql.connect's arguments."""

    def __new__(cls, name, params):
        obj = str.__new__(cls, name)
        obj.params = dict(params, database=name)
        return obj


class PgRow:
    """A row that reads like sqlite3.Row: by position, by column name, dict(row)."""

    def __init__(self, names, values):
        self._names = names
        self._values = tuple(bytes(v) if isinstance(v, memoryview) else v for v in values)

    def keys(self):
        return list(self._names)

    def __getitem__(self, k):
        if isinstance(k, str):
            return self._values[self._names.index(k)]
        return self._values[k]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)


class PgCursor:
    def __init__(self, rows):
        self._rows = rows

    def fetchone(self):
        return self._rows.pop(0) if self._rows else None

    def fetchall(self):
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self):
        return iter(self.fetchall())


def pg_sql(sql):
    """The tests' SQLite-flavoured SQL for PostgreSQL: ? placeholders, CAST(x AS BLOB) for the
    UTF-8 bytes of a text, PRAGMA integrity_check (SQLite's own file check; PostgreSQL keeps its
    own consistency, so it reads "ok")."""
    if sql.strip().lower() == "pragma integrity_check":
        return "SELECT 'ok'"
    sql = re.sub(r"CAST\((\w+) AS BLOB\)", r"convert_to(\1, 'UTF8')", sql, flags=re.I)
    return sql.replace("%", "%%").replace("?", "%s")


class PgConn:
    """A read-only-by-convention PostgreSQL connection with sqlite3's execute() interface."""
    backend = "postgres"

    def __init__(self, url):
        import psycopg2  # Debian's python3-psycopg2; only needed for the postgres runs
        self._conn = psycopg2.connect(str(url))
        self._conn.autocommit = True

    def execute(self, sql, args=()):
        with self._conn.cursor() as cur:
            cur.execute(pg_sql(sql), tuple(args))
            if cur.description is None:
                return PgCursor([])
            names = [d[0] for d in cur.description]
            return PgCursor([PgRow(names, r) for r in cur.fetchall()])

    def close(self):
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def maria_sql(sql):
    """The tests' SQLite-flavoured SQL for MariaDB (the session has ANSI_QUOTES, as ehrbridge's):
    ? placeholders, CAST(x AS BLOB) for the UTF-8 bytes of a text, PRAGMA integrity_check (as on
    PostgreSQL, "ok": the server keeps its own consistency)."""
    if sql.strip().lower() == "pragma integrity_check":
        return "SELECT 'ok'"
    sql = re.sub(r"CAST\((\w+) AS BLOB\)", r"CAST(\1 AS BINARY)", sql, flags=re.I)
    return sql.replace("%", "%%").replace("?", "%s")


class MariaConn(PgConn):
    """A MariaDB connection (Debian's python3-pymysql, not the ODBC driver under test) with
    sqlite3's execute() interface, in autocommit, identifiers in double quotes."""
    backend = "mariadb"

    def __init__(self, db):
        import pymysql  # Debian's python3-pymysql; only needed for the odbc-mariadb runs
        self._conn = pymysql.connect(**db.params, charset="utf8mb4", autocommit=True,
                                     init_command="SET SESSION sql_mode = "
                                     "CONCAT(@@SESSION.sql_mode, ',ANSI_QUOTES')")

    def execute(self, sql, args=()):
        with self._conn.cursor() as cur:
            cur.execute(maria_sql(sql), tuple(args))
            if cur.description is None:
                return PgCursor([])
            names = [d[0] for d in cur.description]
            return PgCursor([PgRow(names, r) for r in cur.fetchall()])


def db_connect(path):
    if isinstance(path, MariaDatabase):
        return MariaConn(path)
    if isinstance(path, PgDatabase):
        return PgConn(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def tables(conn):
    if isinstance(conn, MariaConn):
        return {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = database()")}
    if isinstance(conn, PgConn):
        return {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def columns(conn, table):
    if isinstance(conn, MariaConn):
        return [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = database() "
            "AND table_name = ? ORDER BY ordinal_position", (table,))]
    if isinstance(conn, PgConn):
        return [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? ORDER BY ordinal_position", (table,))]
    return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]


def rows(conn, sql, *args):
    return [dict(r) for r in conn.execute(sql, args)]


def dump_all_text(path):
    """Every value of every table, as one text (to look for leaked or expanded strings). path: a
    SQLite file or a ServerDatabase (a server's db_path either way)."""
    conn = db_connect(path)
    try:
        out = []
        for t in sorted(tables(conn)):
            for r in conn.execute(f'SELECT * FROM "{t}"'):
                for v in r:
                    if isinstance(v, bytes):
                        v = v.decode("utf-8", "replace")
                    out.append(f"{t}: {v}")
        return "\n".join(out)
    finally:
        conn.close()


def snake(name):
    """Contract name -> column name (docs/architecture.md's snake_case): officeweb365PrintUrl ->
    officeweb365_print_url, moved_at -> moved_at."""
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return s.lower()


def db_text(v):
    """A database value as comparable text (booleans may be kept as 0/1 or true/false)."""
    if v is None:
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def expected_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, decimal.Decimal):
        return str(v)
    return str(v).strip()


def same_value(db_value, expected):
    if expected is None:
        return db_value is None
    got = db_text(db_value)
    exp = expected_text(expected)
    if got == exp or (exp == "" and got is None):
        return True
    if isinstance(expected, bool):
        return got in (("1", "true", "TRUE") if expected else ("0", "false", "FALSE"))
    if isinstance(expected, str):
        # "any" values: JSON text may be re-serialized; compare as JSON when both parse.
        try:
            return json.loads(got) == json.loads(exp)
        except (TypeError, ValueError):
            return False
    return False


def flatten_scalars(obj, qtype, prefix=""):
    """{column: expected} for the scalar fields of obj and its nested objects (arrays excluded)."""
    c = contract()
    out = {}
    fields = {n: t for n, t, _ in c.types[qtype.split(":", 1)[1]]}
    for name, v in obj.items():
        t = fields[name]
        col = f"{prefix}{snake(name)}"
        if prefix and snake(name).startswith(prefix):  # job.jobId -> job_id, not job_job_id
            col = snake(name)
        if t.startswith("tns:"):
            if c.list_item_type(t.split(":", 1)[1]) is not None:
                continue
            out.update(flatten_scalars(v, t, col + "_"))
        else:
            out[col] = v
    return out

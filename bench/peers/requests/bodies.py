#!/usr/bin/python3
"""Writes the pushCandidate request bodies of the benchmark.

  bodies.py OUTDIR [KB ...]

OUTDIR/small.xml  one education and two experiences, indented (about 2.4 KB): a typical push.
OUTDIR/large.xml  200 educations and 200 experiences, one element per line (about 105 KB).
OUTDIR/curve-KB.xml  for each KB given: a body of about KB kilobytes (n educations and n
                  experiences), written like large.xml.

Each body is a SOAP 1.1 request of ehrbridge's contract (namespace urn:ehrbridge:moka:v1, the
elements in the order of wsdl/ehrbridge.wsdl), so ehrbridge and both peers read the same bytes.
It holds two placeholders, once each, that the load clients replace per request: PUSH_ID_SLOT
(pushCandidate/id) and APP_ID_SLOT (data/applicationId, an xsd:long). The names, companies and
texts are invented; they mix Chinese and Latin text and characters XML must escape.
Prints one line per file: name, bytes.
"""
import os
import sys
from xml.sax.saxutils import escape

PUSH_ID_SLOT = "PUSH_ID_SLOT"
APP_ID_SLOT = "APP_ID_SLOT"

UNIVERSITIES = ["武汉大学", "Sun Yat-sen University", "南开大学", "Harbin Institute of Technology",
                "中山大学", "Xi'an Jiaotong University"]
MAJORS = ["软件工程", "Statistics", "Information Security", "工商管理", "Applied Physics"]
DEGREES = ["学士", "硕士", "Bachelor", "Master", "PhD"]
EMPLOYERS = ["示例科技有限公司", "Example Logistics Co.", "Contoso & Partners", "北方数据",
             "Fabrikam <Asia> Ltd"]
ROLES = ["后端开发工程师", "Data Engineer", "Team Lead", "测试经理", "Site Reliability Engineer"]
DUTIES = ("负责订单与库存服务的开发和维护，推动接口规范化；"
          "built the nightly payroll export & its monitoring (error rate < 0.1%). ")


class Writer:
    """Elements in the prefix p: (urn:ehrbridge:moka:v1), indented or one per line."""

    def __init__(self, indent):
        self.indent = indent
        self.parts = []
        self.depth = 0

    def line(self, text):
        pad = "  " * self.depth if self.indent else ""
        self.parts.append(pad + text + "\n")

    def leaf(self, tag, value):
        self.line(f"<p:{tag}>{escape(str(value))}</p:{tag}>")

    def open(self, tag):
        self.line(f"<p:{tag}>")
        self.depth += 1

    def close(self, tag):
        self.depth -= 1
        self.line(f"</p:{tag}>")


def body(educations, experiences, duty_chars, indent):
    w = Writer(indent)
    w.parts.append('<?xml version="1.0" encoding="UTF-8"?>\n')
    w.parts.append('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
                   ' xmlns:p="urn:ehrbridge:moka:v1">\n')
    w.parts.append("<soap:Body>\n")
    w.depth = 1
    w.open("pushCandidate")
    w.leaf("id", PUSH_ID_SLOT)
    w.leaf("event", "pushCandidate")
    w.leaf("triggeredAt", "1733500800")
    w.open("data")
    w.leaf("applicationId", APP_ID_SLOT)
    w.leaf("candidateId", 41000000000017)
    w.leaf("name", "李娜 (Li Na)")
    w.leaf("phone", "+86-139-0000-0417")
    w.leaf("email", "li.na@example.org")
    w.leaf("gender", "女")
    w.leaf("birthYear", 1994)
    w.leaf("location", "广东省 深圳市 南山区")
    w.leaf("academicDegree", "硕士")
    w.open("educationInfo")
    for i in range(educations):
        year = 2008 + i % 12
        w.open("element")
        w.leaf("startDate", f"{year}-09")
        w.leaf("endDate", f"{year + 3}-06")
        w.leaf("school", UNIVERSITIES[i % len(UNIVERSITIES)])
        w.leaf("speciality", MAJORS[i % len(MAJORS)])
        w.leaf("academicDegree", DEGREES[i % len(DEGREES)])
        w.close("element")
    w.close("educationInfo")
    w.open("experienceInfo")
    for i in range(experiences):
        year = 2013 + i % 10
        w.open("element")
        w.leaf("startDate", f"{year}-07-01")
        w.leaf("endDate", f"{year + 1}-12-31")
        w.leaf("company", EMPLOYERS[i % len(EMPLOYERS)])
        w.leaf("title", ROLES[i % len(ROLES)])
        w.leaf("summary", (DUTIES * 3)[:duty_chars])
        w.close("element")
    w.close("experienceInfo")
    w.open("job")
    w.leaf("jobId", "JOB-2026-0193")
    w.leaf("title", "后端开发工程师 / Backend Engineer")
    w.leaf("department", "研发中心 - 交易平台组")
    w.close("job")
    w.open("offer")
    w.leaf("salaryNumber", "28500.00")
    w.leaf("checkinDate", "2027-01-04")
    w.leaf("location", "深圳")
    w.close("offer")
    w.close("data")
    w.close("pushCandidate")
    w.parts.append("</soap:Body>\n</soap:Envelope>\n")
    return "".join(w.parts)


def save(outdir, name, text):
    data = text.encode("utf-8")
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)
    print(name, len(data))


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: bodies.py OUTDIR [KB ...]")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    save(outdir, "small.xml", body(1, 2, 60, True))
    save(outdir, "large.xml", body(200, 200, 60, False))
    empty = len(body(0, 0, 60, False).encode("utf-8"))
    per_pair = len(body(1, 1, 60, False).encode("utf-8")) - empty
    for kb in sys.argv[2:]:
        n = max(0, round((float(kb) * 1024 - empty) / per_pair))
        save(outdir, f"curve-{kb}.xml", body(n, n, 60, False))


if __name__ == "__main__":
    main()

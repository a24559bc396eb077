#!/usr/bin/python3
"""pushCandidate written the way a Python team would write it without ehrbridge: a Spyne service
(Debian's python3-spyne) with the request modelled as Spyne types and validated against the schema
Spyne derives from them (lxml), served as a WSGI application by Twisted's web server (HTTP/1.1
keep-alive, a pool of threads), storing into SQLite with the standard sqlite3 module.

  PORT=8082 DB=/tmp/spyne.db /usr/bin/python3 server.py      (HOST defaults to 127.0.0.1)

The job, as ehrbridge does it: validate the push (id, event, applicationId, birthYear); a push id
seen before is answered true and writes nothing; otherwise the candidate row is inserted or
replaced and its education and experience rows are written again, all in one transaction; the
answer is true only after COMMIT, false with a message otherwise. SQLite has one writer at a time,
so the threads take turns on a lock rather than in SQLite's busy handler.
"""
import logging
import os
import sqlite3
import sys
import threading
import time

from spyne import (Application, Boolean, ComplexModel, Decimal, Long, ServiceBase, Unicode,
                   rpc)
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

NS = "urn:ehrbridge:moka:v1"
HERE = os.path.dirname(os.path.abspath(__file__))
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ.get("PORT", "8082"))
DB = os.environ.get("DB", "spyne-peer.db")


# ---- the request, in the element order of ehrbridge's contract -------------------------------
class Education(ComplexModel):
    __namespace__ = NS
    _type_info = [
        ("startDate", Unicode),
        ("endDate", Unicode),
        ("school", Unicode),
        ("speciality", Unicode),
        ("academicDegree", Unicode),
    ]


class Experience(ComplexModel):
    __namespace__ = NS
    _type_info = [
        ("startDate", Unicode),
        ("endDate", Unicode),
        ("company", Unicode),
        ("title", Unicode),
        ("summary", Unicode),
    ]


class EducationList(ComplexModel):
    """The contract's arrays hold their items as <element> children."""
    __namespace__ = NS
    _type_info = [("element", Education.customize(max_occurs="unbounded"))]


class ExperienceList(ComplexModel):
    __namespace__ = NS
    _type_info = [("element", Experience.customize(max_occurs="unbounded"))]


class Job(ComplexModel):
    __namespace__ = NS
    _type_info = [("jobId", Unicode), ("title", Unicode), ("department", Unicode)]


class Offer(ComplexModel):
    __namespace__ = NS
    _type_info = [("salaryNumber", Decimal), ("checkinDate", Unicode), ("location", Unicode)]


class Candidate(ComplexModel):
    __namespace__ = NS
    _type_info = [
        ("applicationId", Long(min_occurs=1)),
        ("candidateId", Long),
        ("name", Unicode),
        ("phone", Unicode),
        ("email", Unicode),
        ("gender", Unicode),
        ("birthYear", Long),
        ("location", Unicode),
        ("academicDegree", Unicode),
        ("educationInfo", EducationList),
        ("experienceInfo", ExperienceList),
        ("job", Job),
        ("offer", Offer),
    ]


# ---- storage ---------------------------------------------------------------------------------
class Refused(Exception):
    """A push that must not be stored; the text names the field, never a value."""


_conn = threading.local()
_writer = threading.Lock()


def database():
    """This thread's connection, in autocommit mode: transactions are begun explicitly."""
    if not hasattr(_conn, "db"):
        db = sqlite3.connect(DB, timeout=5, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        _conn.db = db
    return _conn.db


def check(push_id, event, data):
    if not push_id:
        raise Refused("id: missing")
    if event != "pushCandidate":
        raise Refused("event: expected pushCandidate")
    if data is None or data.applicationId is None or data.applicationId <= 0:
        raise Refused("data.applicationId: missing")
    if data.birthYear is not None and not 1900 <= data.birthYear <= 2100:
        raise Refused("data.birthYear: out of range")


def items(wrapper):
    return [e for e in (wrapper.element or [])] if wrapper is not None else []


def store(push_id, event, triggered_at, d):
    """Stores one push in one transaction; False when the push id was stored before."""
    now = int(time.time() * 1000)
    app = d.applicationId
    job, offer = d.job or Job(), d.offer or Offer()
    salary = None if offer.salaryNumber is None else str(offer.salaryNumber)
    db = database()
    with _writer:
        db.execute("BEGIN IMMEDIATE")
        try:
            logged = db.execute(
                "INSERT OR IGNORE INTO push_log (push_id, event, triggered_at, application_id,"
                " received_at) VALUES (?, ?, ?, ?, ?)", (push_id, event, triggered_at, app, now))
            if logged.rowcount == 0:
                db.execute("ROLLBACK")
                return False
            db.execute(
                "INSERT INTO candidate (application_id, candidate_id, last_push_id, name, phone,"
                " email, gender, birth_year, location, academic_degree, job_id, job_title,"
                " job_department, offer_salary_number, offer_checkin_date, offer_location,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (application_id) DO UPDATE SET candidate_id = excluded.candidate_id,"
                " last_push_id = excluded.last_push_id, name = excluded.name,"
                " phone = excluded.phone, email = excluded.email, gender = excluded.gender,"
                " birth_year = excluded.birth_year, location = excluded.location,"
                " academic_degree = excluded.academic_degree, job_id = excluded.job_id,"
                " job_title = excluded.job_title, job_department = excluded.job_department,"
                " offer_salary_number = excluded.offer_salary_number,"
                " offer_checkin_date = excluded.offer_checkin_date,"
                " offer_location = excluded.offer_location, updated_at = excluded.updated_at",
                (app, d.candidateId, push_id, d.name, d.phone, d.email, d.gender, d.birthYear,
                 d.location, d.academicDegree, job.jobId, job.title, job.department, salary,
                 offer.checkinDate, offer.location, now))
            db.execute("DELETE FROM candidate_education WHERE application_id = ?", (app,))
            db.executemany(
                "INSERT INTO candidate_education (application_id, seq, start_date, end_date,"
                " school, speciality, academic_degree) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(app, seq, e.startDate, e.endDate, e.school, e.speciality, e.academicDegree)
                 for seq, e in enumerate(items(d.educationInfo))])
            db.execute("DELETE FROM candidate_experience WHERE application_id = ?", (app,))
            db.executemany(
                "INSERT INTO candidate_experience (application_id, seq, start_date, end_date,"
                " company, title, summary) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(app, seq, e.startDate, e.endDate, e.company, e.title, e.summary)
                 for seq, e in enumerate(items(d.experienceInfo))])
            db.execute("COMMIT")
            return True
        except BaseException:
            db.execute("ROLLBACK")
            raise


# ---- the service -----------------------------------------------------------------------------
class PushCandidateService(ServiceBase):
    @rpc(Unicode(min_occurs=1), Unicode(min_occurs=1), Unicode(min_occurs=1),
         Candidate.customize(min_occurs=1),
         _returns=(Boolean, Unicode), _out_variable_names=("return", "message"))
    def pushCandidate(ctx, id, event, triggeredAt, data):
        try:
            check(id, event, data)
            return True, ("stored" if store(id, event, triggeredAt, data) else "already stored")
        except Refused as refusal:
            return False, str(refusal)
        except sqlite3.Error as failure:
            print(f"pushCandidate: not stored: {failure.__class__.__name__}", file=sys.stderr)
            return False, "database unavailable, push not stored; retry later"


def main():
    logging.basicConfig(level=logging.WARNING)
    with open(os.path.join(HERE, "..", "schema.sql"), encoding="utf-8") as f:
        database().executescript(f.read())
    app = Application([PushCandidateService], tns=NS, name="PushCandidateService",
                      in_protocol=Soap11(validator="lxml"), out_protocol=Soap11())

    from twisted.internet import reactor
    from twisted.web.resource import Resource
    from twisted.web.server import Site
    from twisted.web.wsgi import WSGIResource

    root = Resource()
    root.putChild(b"pushCandidate",
                  WSGIResource(reactor, reactor.getThreadPool(), WsgiApplication(app)))
    reactor.listenTCP(PORT, Site(root), backlog=512, interface=HOST)
    print(f"spyne peer: http://{HOST}:{PORT}/pushCandidate, database {DB}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()

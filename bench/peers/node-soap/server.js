'use strict';
// pushCandidate written the way a Node.js team would write it without ehrbridge: npm `soap`
// serves push-candidate.wsdl and calls pushCandidate() with the request as an object;
// better-sqlite3 stores the candidate in one transaction, committed before the answer is sent.
//
//   PORT=8081 DB=/tmp/node.db node server.js       (HOST defaults to 127.0.0.1)
//
// The job, as ehrbridge does it: validate the push (id, event, applicationId, birthYear); a push
// id seen before is answered true and writes nothing; otherwise the candidate row is inserted or
// replaced and its education and experience rows are written again, all in one transaction; the
// answer is true only after COMMIT, false with a message otherwise.
const fs = require('fs');
const http = require('http');
const path = require('path');
const soap = require('soap');
const Database = require('better-sqlite3');

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 8081);
const dbFile = process.env.DB || 'node-soap-peer.db';

const db = new Database(dbFile);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
db.exec(fs.readFileSync(path.join(__dirname, '..', 'schema.sql'), 'utf8'));

const sql = {
  logPush: db.prepare(`INSERT OR IGNORE INTO push_log
      (push_id, event, triggered_at, application_id, received_at)
      VALUES (@pushId, @event, @triggeredAt, @applicationId, @now)`),
  saveCandidate: db.prepare(`INSERT INTO candidate
      (application_id, candidate_id, last_push_id, name, phone, email, gender, birth_year,
       location, academic_degree, job_id, job_title, job_department, offer_salary_number,
       offer_checkin_date, offer_location, updated_at)
      VALUES (@applicationId, @candidateId, @pushId, @name, @phone, @email, @gender, @birthYear,
       @location, @academicDegree, @jobId, @jobTitle, @jobDepartment, @salary,
       @checkinDate, @offerLocation, @now)
      ON CONFLICT (application_id) DO UPDATE SET
       candidate_id = excluded.candidate_id, last_push_id = excluded.last_push_id,
       name = excluded.name, phone = excluded.phone, email = excluded.email,
       gender = excluded.gender, birth_year = excluded.birth_year, location = excluded.location,
       academic_degree = excluded.academic_degree, job_id = excluded.job_id,
       job_title = excluded.job_title, job_department = excluded.job_department,
       offer_salary_number = excluded.offer_salary_number,
       offer_checkin_date = excluded.offer_checkin_date,
       offer_location = excluded.offer_location, updated_at = excluded.updated_at`),
  dropEducation: db.prepare('DELETE FROM candidate_education WHERE application_id = ?'),
  addEducation: db.prepare(`INSERT INTO candidate_education
      (application_id, seq, start_date, end_date, school, speciality, academic_degree)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
  dropExperience: db.prepare('DELETE FROM candidate_experience WHERE application_id = ?'),
  addExperience: db.prepare(`INSERT INTO candidate_experience
      (application_id, seq, start_date, end_date, company, title, summary)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
};

class Refused extends Error {}

// node-soap gives an absent or empty element as undefined or null, one item of a list as an
// object and several as an array
const text = (v) => (v === undefined || v === null ? null : String(v));
const items = (list) => (list && list.element ? [].concat(list.element).filter(Boolean) : []);
function whole(v, field) {
  if (v === undefined || v === null || v === '') return null;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Refused(`${field}: not an integer`);
  return n;
}

// the push as the rows it becomes; throws Refused for a push that must not be stored
function rowsOf(push) {
  const pushId = text(push.id);
  if (!pushId) throw new Refused('id: missing');
  if (text(push.event) !== 'pushCandidate') throw new Refused('event: expected pushCandidate');
  const d = push.data;
  if (!d) throw new Refused('data: missing');
  const applicationId = whole(d.applicationId, 'data.applicationId');
  if (applicationId === null || applicationId <= 0) throw new Refused('data.applicationId: missing');
  const birthYear = whole(d.birthYear, 'data.birthYear');
  if (birthYear !== null && (birthYear < 1900 || birthYear > 2100)) {
    throw new Refused('data.birthYear: out of range');
  }
  const job = d.job || {};
  const offer = d.offer || {};
  return {
    candidate: {
      pushId, applicationId, birthYear, now: Date.now(),
      event: text(push.event), triggeredAt: text(push.triggeredAt),
      candidateId: whole(d.candidateId, 'data.candidateId'),
      name: text(d.name), phone: text(d.phone), email: text(d.email), gender: text(d.gender),
      location: text(d.location), academicDegree: text(d.academicDegree),
      jobId: text(job.jobId), jobTitle: text(job.title), jobDepartment: text(job.department),
      salary: text(offer.salaryNumber), checkinDate: text(offer.checkinDate),
      offerLocation: text(offer.location),
    },
    education: items(d.educationInfo).map((e, seq) => [applicationId, seq, text(e.startDate),
      text(e.endDate), text(e.school), text(e.speciality), text(e.academicDegree)]),
    experience: items(d.experienceInfo).map((e, seq) => [applicationId, seq, text(e.startDate),
      text(e.endDate), text(e.company), text(e.title), text(e.summary)]),
  };
}

// one transaction (BEGIN IMMEDIATE ... COMMIT); returns false when the push id was stored before
const store = db.transaction((rows) => {
  const c = rows.candidate;
  if (sql.logPush.run(c).changes === 0) return false;
  sql.saveCandidate.run(c);
  sql.dropEducation.run(c.applicationId);
  for (const r of rows.education) sql.addEducation.run(r);
  sql.dropExperience.run(c.applicationId);
  for (const r of rows.experience) sql.addExperience.run(r);
  return true;
}).immediate;

const service = {
  PushCandidateService: {
    PushCandidatePort: {
      pushCandidate(push) {
        try {
          const fresh = store(rowsOf(push));
          return { return: true, message: fresh ? 'stored' : 'already stored' };
        } catch (err) {
          if (err instanceof Refused) return { return: false, message: err.message };
          console.error(`pushCandidate: not stored: ${err.code || err.message}`);
          return { return: false, message: 'database unavailable, push not stored; retry later' };
        }
      },
    },
  },
};

const wsdl = fs.readFileSync(path.join(__dirname, 'push-candidate.wsdl'), 'utf8')
  .replace('http://localhost:8080/pushCandidate', `http://${host}:${port}/pushCandidate`);
const server = http.createServer((req, res) => {
  res.writeHead(404).end(); // soap.listen answers /pushCandidate; nothing else is served
});
server.keepAliveTimeout = 30000;
server.listen(port, host, () => {
  soap.listen(server, {
    path: '/pushCandidate',
    services: service,
    xml: wsdl,
    // xsd:decimal as sent (node-soap would make it a Number: 28500.00 -> 28500)
    customDeserializer: { decimal: (value) => value },
    callback: () => console.log(`node-soap peer: http://${host}:${port}/pushCandidate, database ${dbFile}`),
  });
});

function stop() {
  server.close();
  db.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

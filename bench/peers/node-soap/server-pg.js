'use strict';
// pushCandidate written the way a Node.js team would write it on PostgreSQL without ehrbridge:
// npm `soap` serves push-candidate.wsdl and calls pushCandidate() with the request as an object;
// the npm `pg` client (a pg.Pool, its default ten connections) stores the candidate in one
// transaction, committed before the answer is sent. The twin of server.js (better-sqlite3): the
// same job, the same tables (../schema-pg.sql).
//
//   PORT=8081 DATABASE_URL=postgresql://user:pass@127.0.0.1:5432/db node server-pg.js
//
// The job, as ehrbridge does it: validate the push (id, event, applicationId, birthYear); a push
// id seen before is answered true and writes nothing (INSERT ... ON CONFLICT DO NOTHING: a
// concurrent push of the same id waits for the first one's transaction and then finds it);
// otherwise the candidate row is inserted or replaced (its row lock puts two pushes of one
// candidate one after the other) and its education and experience rows are written again, all in
// one transaction; the answer is true only after COMMIT, false with a message otherwise.
// Durability is the server's: synchronous_commit as configured (on by default).
const fs = require('fs');
const http = require('http');
const path = require('path');
const soap = require('soap');
const { Pool } = require('pg');

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 8081);
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('server-pg.js: set DATABASE_URL (postgresql://...)');
  process.exit(2);
}

const pool = new Pool({ connectionString: databaseUrl, application_name: 'node-soap-peer' });
pool.on('error', (err) => console.error(`pg pool: ${err.code || err.message}`));

// named statements: pg prepares each once per connection and then only binds and executes it
const sql = {
  logPush: {
    name: 'log_push',
    text: `INSERT INTO push_log (push_id, event, triggered_at, application_id, received_at)
      VALUES ($1, $2, $3, $4, $5) ON CONFLICT (push_id) DO NOTHING`,
  },
  saveCandidate: {
    name: 'save_candidate',
    text: `INSERT INTO candidate
      (application_id, candidate_id, last_push_id, name, phone, email, gender, birth_year,
       location, academic_degree, job_id, job_title, job_department, offer_salary_number,
       offer_checkin_date, offer_location, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
      ON CONFLICT (application_id) DO UPDATE SET
       candidate_id = excluded.candidate_id, last_push_id = excluded.last_push_id,
       name = excluded.name, phone = excluded.phone, email = excluded.email,
       gender = excluded.gender, birth_year = excluded.birth_year, location = excluded.location,
       academic_degree = excluded.academic_degree, job_id = excluded.job_id,
       job_title = excluded.job_title, job_department = excluded.job_department,
       offer_salary_number = excluded.offer_salary_number,
       offer_checkin_date = excluded.offer_checkin_date,
       offer_location = excluded.offer_location, updated_at = excluded.updated_at`,
  },
  dropEducation: {
    name: 'drop_education',
    text: 'DELETE FROM candidate_education WHERE application_id = $1',
  },
  addEducation: {
    name: 'add_education',
    text: `INSERT INTO candidate_education
      (application_id, seq, start_date, end_date, school, speciality, academic_degree)
      VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  },
  dropExperience: {
    name: 'drop_experience',
    text: 'DELETE FROM candidate_experience WHERE application_id = $1',
  },
  addExperience: {
    name: 'add_experience',
    text: `INSERT INTO candidate_experience
      (application_id, seq, start_date, end_date, company, title, summary)
      VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  },
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
  const now = Date.now();
  return {
    log: [pushId, text(push.event), text(push.triggeredAt), applicationId, now],
    candidate: [applicationId, whole(d.candidateId, 'data.candidateId'), pushId, text(d.name),
      text(d.phone), text(d.email), text(d.gender), birthYear, text(d.location),
      text(d.academicDegree), text(job.jobId), text(job.title), text(job.department),
      text(offer.salaryNumber), text(offer.checkinDate), text(offer.location), now],
    applicationId,
    education: items(d.educationInfo).map((e, seq) => [applicationId, seq, text(e.startDate),
      text(e.endDate), text(e.school), text(e.speciality), text(e.academicDegree)]),
    experience: items(d.experienceInfo).map((e, seq) => [applicationId, seq, text(e.startDate),
      text(e.endDate), text(e.company), text(e.title), text(e.summary)]),
  };
}

const run = (client, stmt, values) => client.query({ ...stmt, values });

// one transaction on one pooled connection; resolves false when the push id was stored before
async function store(rows) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const logged = await run(client, sql.logPush, rows.log);
    if (logged.rowCount === 0) {
      await client.query('ROLLBACK');
      return false;
    }
    await run(client, sql.saveCandidate, rows.candidate);
    await run(client, sql.dropEducation, [rows.applicationId]);
    for (const r of rows.education) await run(client, sql.addEducation, r);
    await run(client, sql.dropExperience, [rows.applicationId]);
    for (const r of rows.experience) await run(client, sql.addExperience, r);
    await client.query('COMMIT');
    return true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

const service = {
  PushCandidateService: {
    PushCandidatePort: {
      // node-soap waits for the promise: the answer goes out after COMMIT
      async pushCandidate(push) {
        try {
          const fresh = await store(rowsOf(push));
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

async function main() {
  await pool.query(fs.readFileSync(path.join(__dirname, '..', 'schema-pg.sql'), 'utf8'));
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
      callback: () => console.log(`node-soap + pg peer: http://${host}:${port}/pushCandidate`),
    });
  });
  const stop = () => {
    server.close();
    pool.end().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(`server-pg.js: cannot start: ${err.code || err.message}`);
  process.exit(1);
});

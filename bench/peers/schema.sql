-- The tables both benchmark peers write (node-soap/server.js and spyne/server.py run this file at
-- start). A subset of ehrbridge's default schema: the push log that makes a push id idempotent,
-- the candidate keyed by applicationId, and its education and experience rows.
-- The peers open the file in WAL mode with synchronous=NORMAL.

CREATE TABLE IF NOT EXISTS push_log (
    push_id        TEXT    PRIMARY KEY,   -- pushCandidate/id: a repeated id writes nothing
    event          TEXT    NOT NULL,
    triggered_at   TEXT,
    application_id INTEGER NOT NULL,
    received_at    INTEGER NOT NULL       -- Unix milliseconds
);

CREATE TABLE IF NOT EXISTS candidate (
    application_id      INTEGER PRIMARY KEY,
    candidate_id        INTEGER,
    last_push_id        TEXT    NOT NULL,
    name                TEXT,
    phone               TEXT,
    email               TEXT,
    gender              TEXT,
    birth_year          INTEGER,
    location            TEXT,
    academic_degree     TEXT,
    job_id              TEXT,
    job_title           TEXT,
    job_department      TEXT,
    offer_salary_number TEXT,             -- xsd:decimal, kept exactly as text
    offer_checkin_date  TEXT,
    offer_location      TEXT,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS candidate_education (
    application_id  INTEGER NOT NULL REFERENCES candidate (application_id),
    seq             INTEGER NOT NULL,
    start_date      TEXT,
    end_date        TEXT,
    school          TEXT,
    speciality      TEXT,
    academic_degree TEXT,
    PRIMARY KEY (application_id, seq)
);

CREATE TABLE IF NOT EXISTS candidate_experience (
    application_id INTEGER NOT NULL REFERENCES candidate (application_id),
    seq            INTEGER NOT NULL,
    start_date     TEXT,
    end_date       TEXT,
    company        TEXT,
    title          TEXT,
    summary        TEXT,
    PRIMARY KEY (application_id, seq)
);

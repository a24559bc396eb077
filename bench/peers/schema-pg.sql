-- The tables of schema.sql in PostgreSQL's types, written by the node-soap + pg peer
-- (node-soap/server-pg.js runs this file at start): the push log that makes a push id
-- idempotent, the candidate keyed by applicationId, and its education and experience rows.
-- Integers are BIGINT (received_at is Unix milliseconds, ids are the vendor's longs).

CREATE TABLE IF NOT EXISTS push_log (
    push_id        TEXT   PRIMARY KEY,   -- pushCandidate/id: a repeated id writes nothing
    event          TEXT   NOT NULL,
    triggered_at   TEXT,
    application_id BIGINT NOT NULL,
    received_at    BIGINT NOT NULL       -- Unix milliseconds
);

CREATE TABLE IF NOT EXISTS candidate (
    application_id      BIGINT PRIMARY KEY,
    candidate_id        BIGINT,
    last_push_id        TEXT   NOT NULL,
    name                TEXT,
    phone               TEXT,
    email               TEXT,
    gender              TEXT,
    birth_year          BIGINT,
    location            TEXT,
    academic_degree     TEXT,
    job_id              TEXT,
    job_title           TEXT,
    job_department      TEXT,
    offer_salary_number TEXT,             -- xsd:decimal, kept exactly as text
    offer_checkin_date  TEXT,
    offer_location      TEXT,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS candidate_education (
    application_id  BIGINT NOT NULL REFERENCES candidate (application_id),
    seq             BIGINT NOT NULL,
    start_date      TEXT,
    end_date        TEXT,
    school          TEXT,
    speciality      TEXT,
    academic_degree TEXT,
    PRIMARY KEY (application_id, seq)
);

CREATE TABLE IF NOT EXISTS candidate_experience (
    application_id BIGINT NOT NULL REFERENCES candidate (application_id),
    seq            BIGINT NOT NULL,
    start_date     TEXT,
    end_date       TEXT,
    company        TEXT,
    title          TEXT,
    summary        TEXT,
    PRIMARY KEY (application_id, seq)
);

-- A typical legacy EHR staging schema (the worked example of docs/legacy-mapping.md): the EHR's
-- nightly job reads new hires from employee_import (one row per hire) and their previous
-- employers from employee_import_work, and sets imp_status to 'P' once it has processed a row.
-- Native places are kept as codes of the EHR's own code table ref_native_place (national
-- GB/T 2260 codes, the same the vendor sends); the name is kept beside the code as well.
-- Written in SQL that SQLite, PostgreSQL and the ODBC tests all accept.

CREATE TABLE ref_native_place (
    place_code  INTEGER      NOT NULL PRIMARY KEY,
    place_name  VARCHAR(60)  NOT NULL
);
INSERT INTO ref_native_place (place_code, place_name) VALUES (110105, '北京市朝阳区');
INSERT INTO ref_native_place (place_code, place_name) VALUES (310107, '上海市普陀区');
INSERT INTO ref_native_place (place_code, place_name) VALUES (410322, '河南省孟津县');

CREATE TABLE employee_import (
    imp_app_no       BIGINT        NOT NULL PRIMARY KEY, -- Moka's applicationId
    imp_cand_no      BIGINT,                             -- Moka's candidateId
    emp_name         VARCHAR(40)   NOT NULL,
    gender_cd        CHAR(1)       NOT NULL,             -- M, F, U
    birth_dt         DATE,
    id_card_no       VARCHAR(18),
    mobile_no        VARCHAR(20),
    email_addr       VARCHAR(80),
    native_place_cd  INTEGER,                            -- a ref_native_place.place_code
    native_place_nm  VARCHAR(60),
    native_province  VARCHAR(60),
    dept_name        VARCHAR(60),
    post_title       VARCHAR(60),
    hire_dt          DATE,
    base_salary      NUMERIC(12, 2),
    degree           VARCHAR(30),
    emerg_contact    VARCHAR(40),
    emerg_phone      VARCHAR(20),
    src_system       VARCHAR(10)   NOT NULL,
    src_push_id      VARCHAR(64),
    load_ts          VARCHAR(19),                        -- 'YYYY-MM-DD HH:MM:SS', China time
    imp_status       CHAR(1)       DEFAULT 'N' NOT NULL, -- N new, P processed by the EHR
    ehr_emp_no       VARCHAR(20)                         -- set by the EHR's job; not mapped
);

CREATE TABLE employee_import_work (
    imp_app_no  BIGINT        NOT NULL REFERENCES employee_import (imp_app_no),
    line_no     INTEGER       NOT NULL,                  -- 1, 2, ... in the resume's order
    company     VARCHAR(100),
    job_title   VARCHAR(60),
    from_dt     DATE,
    to_dt       DATE,
    PRIMARY KEY (imp_app_no, line_no)
);

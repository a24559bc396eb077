/* The tables of the vendor's interview events and their statement text, for any SQL dialect
 * (sql/sqlgen.h), plus the walker that turns one interview into rows. Shared by the SQL
 * adapters that implement store_interview_event (adapter.h). The tables:
 *
 * interview: one row per interview (event_id), the latest create/update event for it.
 *     event_id TEXT NOT NULL PRIMARY KEY, last_push_id TEXT NOT NULL (push_log.push_id),
 *     last_event TEXT NOT NULL (createInterviewsInfo | updateInterviewsInfo),
 *     updated_at INTEGER NOT NULL (Unix ms, push_log.received_at), interview_type INTEGER,
 *     create_time INTEGER, creator_id, creator_name, creator_email, creator_phone TEXT,
 *     round_id INTEGER, round_name TEXT, room_id INTEGER, room_name TEXT, address_id INTEGER,
 *     address_country TEXT, address_city_id INTEGER, address_address TEXT,
 *     start_time INTEGER, end_time INTEGER (Unix ms as sent), interviewer_ids TEXT (JSON array).
 * interview_application (event_id, seq, application_id INTEGER NOT NULL); index on
 *     application_id (the candidates of an interview; join with candidate.application_id).
 * interview_interviewer (event_id, seq, interviewer_id INTEGER, name, email, phone,
 *     interviewer_url TEXT).
 * interview_interviewee (event_id, seq, candidate_id INTEGER, name, email, phone, job_id,
 *     job_title, interviewee_url TEXT).
 * The child tables' key is (event_id, seq), seq = 0, 1, ... in the event's order. They are
 * created with CREATE TABLE IF NOT EXISTS (outside the versioned candidate schema), so an
 * existing database gains them on the next start. */
#ifndef EB_INTERVIEW_SQL_H
#define EB_INTERVIEW_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "sql/sqlgen.h"
#include "candidate/interview.h"
#include "util/err.h"

enum eb_interview_table {
    EB_ITV_INTERVIEW = 0, /* interview */
    EB_ITV_APPLICATION,   /* interview_application */
    EB_ITV_INTERVIEWER,   /* interview_interviewer */
    EB_ITV_INTERVIEWEE,   /* interview_interviewee */
    EB_ITV_N_TABLES
};

/* Statement text in one dialect; every string owned by the struct. */
struct eb_interview_sql {
    char *ddl[2 * EB_ITV_N_TABLES];    /* CREATE TABLE / CREATE INDEX ... IF NOT EXISTS, in order */
    size_t n_ddl;                      /* entries in ddl */
    char *insert[EB_ITV_N_TABLES];     /* INSERT INTO t (every column) VALUES (placeholders) */
    char *remove[EB_ITV_N_TABLES];     /* DELETE FROM t WHERE event_id = <p1> */
    size_t n_columns[EB_ITV_N_TABLES]; /* values per row of each table */
    const char *name[EB_ITV_N_TABLES]; /* table names (static) */
};

/* Builds the text for dialect d into s. EB_ERR_NOMEM. Free with eb_interview_sql_free(). */
eb_rc eb_interview_sql_build(const struct eb_sql_dialect *d, struct eb_interview_sql *s,
                             struct eb_err *err);

/* Frees the text (NULL-safe on the strings); s can be built again. */
void eb_interview_sql_free(struct eb_interview_sql *s);

/* Called once per row with n values in insert[t]'s placeholder order; v is valid during the
 * call, its strings as long as the event. A non-EB_OK return stops the walk. */
typedef eb_rc (*eb_interview_row_fn)(void *ctx, enum eb_interview_table t,
                                     const struct eb_sql_value *v, size_t n, struct eb_err *err);

/* Calls fn for the rows of interview iv of event ev: the interview row (last_push_id =
 * push_id, updated_at = updated_at_ms), then its application, interviewer and interviewee rows.
 * An adapter first deletes the event_id's rows from every table (remove[], children and
 * interview alike), then, unless ev is a delete, inserts these rows. Allocates nothing. */
eb_rc eb_interview_sql_rows(const struct eb_interview_event *ev, const struct eb_interview *iv,
                            const char *push_id, int64_t updated_at_ms, eb_interview_row_fn fn,
                            void *ctx, struct eb_err *err);

#endif

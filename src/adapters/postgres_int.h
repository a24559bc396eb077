/* The PostgreSQL adapter's insides, shared by its files (postgres.c, postgres_url.c,
 * postgres_schema.c, postgres_push.c, postgres_att.c, postgres_read.c): the instance, its
 * limits and type ids, and the helpers more than one of them calls. Not for use outside them. */
#ifndef EB_ADAPTERS_POSTGRES_INT_H
#define EB_ADAPTERS_POSTGRES_INT_H

#include <ctype.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adapters/adapter.h"
#include "sql/interview_sql.h"
#include "adapters/pushread.h"
#include "sql/warning_sql.h"
#include "sql/sqlgen.h"
#include "candidate/candidate.h"
#include "candidate/interview.h"
#include "mapping/mapping.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"

/* Default statement_timeout (ms). */
#define STATEMENT_TIMEOUT_MS 10000
/* Writer connections of a process (the URL's writers=N): PostgreSQL writes the transactions of
 * several connections at once, and a writer spends much of its time waiting on round trips;
 * fewer writers put more pushes in each commit (bench/RESULTS.md, "The PostgreSQL path"). */
#define DEFAULT_WRITERS 2
/* Statements sent into the pipeline before their results are read. */
#define PIPELINE_CHUNK 256
/* Consecutive child rows of one table sent as one INSERT ... SELECT FROM unnest(arrays) from
 * this many (fewer: one INSERT each), and at most this many in one statement. */
#define MANY_MIN 4
#define MANY_MAX 1000
/* Room for waiting child rows (values) kept from one push to the next. */
#define PEND_KEEP 4096
/* pg_advisory_xact_lock(bigint) key of schema creation ("ehrbridg"). */
#define SCHEMA_LOCK_KEY 0x6568726272696467LL
/* First key of pg_advisory_xact_lock(int, int) of an interview: (this, hashtext(event_id)). */
#define INTERVIEW_LOCK_SPACE 1701147234
/* First key of pg_advisory_xact_lock(int, int) of a candidate written through a mapping:
 * (this, hashtext(applicationId)): the mapped tables need not have a unique key to lock. */
#define MAPPED_LOCK_SPACE 1835101284
/* The oldest server: INSERT ... ON CONFLICT. */
#define MIN_SERVER_VERSION 90500
/* After a failed connect, calls fail at once for this long (ms), so that a push and its
 * its "failed" record do not each wait out connect_timeout on an unreachable host. */
#define RECONNECT_PAUSE_MS 500
/* Type OIDs of the parameters (pg_type.h). */
#define BYTEAOID 17
#define INT8OID  20
#define TEXTOID  25
/* and of their arrays */
#define BYTEAARRAYOID 1001
#define TEXTARRAYOID  1009
#define INT8ARRAYOID  1016
/* Connection parameters given to PQconnectdbParams. */
#define MAX_CONN_PARAMS 12

/* The first failure of a call: SQLSTATE and a one-line description (no password, no values). */
struct pg_fail {
    int set;          /* 1 once a failure is recorded */
    char state[6];    /* SQLSTATE, "" when libpq gave none (connection failures) */
    char detail[200]; /* one line */
};

/* Candidates written as new in one transaction whose rows are carried to its commit
 * (postgres_carry.c); a write past them sends them first. */
#define PG_CARRY_APPS 64

/* The rows of one table carried to the commit (postgres_carry.c). */
struct pg_carry {
    struct eb_sql_value *v; /* n rows of the table's columns each */
    size_t n, cap;          /* rows, and room (values) */
};

/* One instance: one connection, and what it takes to connect again and prepare again. */
struct pg_adapter {
    struct eb_adapter base; /* first member: the adapter table */
    PGconn *conn;           /* the connection; NULL while not connected */
    char *conninfo;         /* the URI or key=value string given to libpq */
    char *secret[2];        /* the password as written and as decoded (scrubbed from text) */
    const char *keys[MAX_CONN_PARAMS + 1]; /* PQconnectdbParams keywords, NULL-terminated */
    const char *vals[MAX_CONN_PARAMS + 1]; /* and values */
    long timeout_ms;                       /* statement_timeout */
    int writers;                           /* writer connections (share) */
    int schema_checked;                    /* 1 once the schema is known to be this binary's */
    int64_t retry_at_ms;          /* after a failed connect: no new try before (monotonic ms) */
    struct eb_err down;           /* and the error of that connect, answered until then */
    struct eb_sql_schema *schema; /* the default schema in PostgreSQL's dialect */
    char *claim_sql;              /* push_log upsert over 'failed' rows only, RETURNING push_id
                                     * and, with the default tables, whether the candidate row of
                                     * its application_id exists */
    char *failure_sql;            /* push_log upsert over 'failed' rows only */
    char *purge_sql;              /* deletes one application_id from every child table */
    char *fresh_sql;              /* the candidate row's INSERT ... ON CONFLICT DO NOTHING
                                     * RETURNING 1: the row of a candidate thought new */
    char **many_sql; /* per table index: a child table's INSERT ... SELECT FROM unnest($1, ...)
                      * of one array per column; NULL for the other tables */
    const struct eb_sql_table *pend_t; /* the child table of the rows waiting in pend */
    struct eb_sql_value *pend;         /* child rows waiting to be sent, pend_t's columns each */
    size_t pend_n, pend_cap;           /* rows waiting, and room in pend (values) */
    char *probe_sql;                   /* schema_version there? an interview table missing? */
    char *put_sql;                     /* push_log upsert over any row */
    struct eb_mapping_sql *map_sql;    /* --mapping: the mapped tables' statement text */
    struct eb_interview_sql itv;       /* the interview tables' statement text */
    struct eb_warning_sql wsql;        /* push_warning's statement text */
    int queued;                        /* statements sent in the pipeline since its last sync */
    int row_sends;                     /* rows sent since the last pipeline sync */
    struct pg_fail fail;               /* the first failure of the current call */
    int tx_had_conn;                   /* the transaction began on a connection already open */
    int retry;                         /* the last failure may pass on a new try (retryable) */
    int att_ready;                     /* 1 once the attachment tables are known to exist */
    /* The claim's word on the candidate to be written next (pg_log_put, pg_candidate_write) */
    int hint_set;     /* 1: hint_app and hint_exists are from this transaction's last claim */
    int hint_exists;  /* the candidate row of hint_app existed when the claim ran */
    int64_t hint_app; /* the claim's application_id */
    int fresh;        /* the candidate being written is sent as new: no purge */
    /* Rows sent without waiting for their results (eb_pg_candidate_write): read at the next
     * sync, which is the next write's claim or the commit */
    int defer;              /* 1: this transaction has no savepoint, a write's rows need no sync */
    int pending;            /* rows of a write were sent since the last sync */
    int tx_writes;          /* writes begun in this transaction (claims and reads of push_log) */
    int pending_fresh;      /* the last rows so sent were a candidate written as new */
    int64_t pending_app;    /* and its applicationId */
    struct pg_carry *carry; /* per table index; NULL until first used */
    int64_t carry_app[PG_CARRY_APPS];     /* the candidates carried */
    const char *carry_wrm[PG_CARRY_APPS]; /* and their push ids (NULL: keeps its warnings) */
    size_t n_carry_app;                   /* candidates carried */
    int64_t purge_app[8]; /* applicationIds always purged: a write as new found rows there */
    unsigned n_purge_app; /* entries written to purge_app (ring) */
    /* one statement's parameters, filled by bind_* and used by send_prepared */
    const char *pv[EB_SQL_MAX_COLUMNS]; /* values */
    int pl[EB_SQL_MAX_COLUMNS];         /* lengths */
    int pf[EB_SQL_MAX_COLUMNS];         /* formats: all binary */
    char ib[EB_SQL_MAX_COLUMNS][8];     /* big-endian integers */
    char *tmp[EB_SQL_MAX_COLUMNS];      /* cleaned copies of text that was not valid UTF-8 */
};

/* ---- postgres.c ---- */

/* NULL when s[0..n) is valid UTF-8 without NUL; otherwise a malloc'd copy with every invalid
 * byte and NUL replaced by U+FFFD (*out_len set). PostgreSQL text can hold neither; text from
 * the parser is valid already, this only guards messages cut in a character. Sets *nomem on
 * allocation failure. */
char *eb_pg_utf8_clean(const char *s, size_t n, size_t *out_len, int *nomem);

/* Copies src into dst (size n) as one line: whitespace runs become one space, ends trimmed,
 * every occurrence of the adapter's secrets replaced by "***". */
void eb_pg_one_line(const struct pg_adapter *g, char *dst, size_t n, const char *src);

/* Records the call's first failure: SQLSTATE state (may be "" or NULL) and "what: text" on one line. */
void eb_pg_note_fail(struct pg_adapter *g, const char *state, const char *what, const char *text);

/* Records the failure a result describes (or the connection's message when there is none). */
void eb_pg_note_result(struct pg_adapter *g, const PGresult *r, const char *what);

/* 1 when there is no connection or libpq reports it broken. */
int eb_pg_connection_lost(const struct pg_adapter *g);

/* Class of a failure: 1 when retrying the transaction may succeed. */
int eb_pg_retryable_state(const char *state);

/* The eb_rc of the recorded failure, written into err. */
eb_rc eb_pg_fail_rc(struct pg_adapter *g, struct eb_err *err);

/* Drops the connection (if any) and what belonged to it; the next call connects again. */
void eb_pg_disconnect(struct pg_adapter *g);

/* Runs text that returns no rows outside a pipeline. */
int eb_pg_exec_ok(struct pg_adapter *g, const char *sql, const char *what);

/* Frees the cleaned copies of parameters that were bound but not sent. */
void eb_pg_release_params(struct pg_adapter *g);

/* Enters pipeline mode (counters reset); 0 and the failure recorded when libpq refuses. */
int eb_pg_pipeline_enter(struct pg_adapter *g);

/* Sends a statement with no parameters (BEGIN, COMMIT, ROLLBACK). */
int eb_pg_send_text(struct pg_adapter *g, const char *sql);

/* Sends prepared statement name with the n parameters in g->pv/pl/pf, then frees the cleaned
 * copies eb_pg_bind_text made. */
int eb_pg_send_prepared(struct pg_adapter *g, const char *name, int n);

/* Sends a sync and reads the results of every statement queued since the last one. The result
 * of statement i (0-based since that sync) is handed to keep[i] when i < n_keep (caller clears;
 * NULL when the statement did not run). Returns 1 when every statement succeeded. */
int eb_pg_pipeline_sync(struct pg_adapter *g, PGresult **keep, int n_keep);

/* Leaves pipeline mode after a failure or at the end: reads what is still queued, ends an open
 * transaction, and drops the connection when it is broken. */
void eb_pg_pipeline_leave(struct pg_adapter *g);

/* Binds NULL as parameter i (0-based). */
void eb_pg_bind_null(struct pg_adapter *g, int i);

/* Binds v as parameter i (0-based, int8, binary big-endian). */
void eb_pg_bind_int(struct pg_adapter *g, int i, int64_t v);

/* Binds text (binary format: the bytes themselves), cleaned when it is not valid UTF-8. */
int eb_pg_bind_text(struct pg_adapter *g, int i, const char *s, size_t len);

/* Binds bytes as they are (bytea, binary format). */
int eb_pg_bind_bytes(struct pg_adapter *g, int i, const char *s, size_t len);

/* Binds a NUL-terminated string (NULL binds NULL) as text; see eb_pg_bind_text. */
int eb_pg_bind_str(struct pg_adapter *g, int i, const char *s);

/* Binds a push_log row (columns in push_log order) as parameters 1..10, rec as given. */
int eb_pg_bind_log(struct pg_adapter *g, const struct eb_push_record *rec, enum eb_outcome outcome,
                   int64_t received_at);

/* Writes the prepared statement name of table index into buf (size n). */
void eb_pg_table_stmt_name(char *buf, size_t n, size_t index);

/* Connects when there is no usable connection: session settings, the schema (first time only),
 * prepared statements. */
eb_rc eb_pg_ensure_connected(struct pg_adapter *g, struct eb_err *err);

/* ---- postgres_url.c ---- */

/* Appends len bytes to a growing string. */
int eb_pg_append(char **s, size_t *n, const char *p, size_t len);

/* Accepts postgresql://..., postgres://... (URI) and postgresql:k=v ..., postgres:k=v ...;
 * checks the result with libpq's own parser and fills the connection parameters. */
eb_rc eb_pg_parse_url(struct pg_adapter *g, const char *url, struct eb_err *err);

/* ---- postgres_schema.c ---- */

/* Checks the schema version once per instance: creates or migrates an older schema, refuses a
 * newer one (EB_ERR_DB-class error in err). */
eb_rc eb_pg_ensure_schema(struct pg_adapter *g, struct eb_err *err);

/* ---- postgres_push.c ---- */

/* Sends one row's insert into the pipeline (the candidate's: see g->fresh). */
eb_rc eb_pg_send_one_row(struct pg_adapter *g, const struct eb_sql_table *t,
                         const struct eb_sql_value *v, struct eb_err *err);

/* Appends the nc values of one row at v to *rows, which holds n rows and has room for *cap
 * values (grown as needed); 0 when out of memory. */
int eb_pg_rows_add(struct eb_sql_value **rows, size_t *cap, size_t n, const struct eb_sql_value *v,
                   size_t nc);

/* Appends a big-endian 32-bit integer (PostgreSQL's binary formats); 0 when out of memory. */
int eb_pg_put32(struct eb_buf *b, uint32_t v);

/* Sends n rows of t (t's columns each) as one INSERT ... SELECT FROM unnest(arrays). */
eb_rc eb_pg_send_many(struct pg_adapter *g, const struct eb_sql_table *t,
                      const struct eb_sql_value *rows, size_t n, struct eb_err *err);

/* ---- postgres_carry.c ---- */

/* 1 when the candidate of app is carried in this transaction. */
int eb_pg_carried(const struct pg_adapter *g, int64_t app);

/* Carries the rows of p (a candidate written as new, its push_warning rows deleted unless it
 * keeps them) to the commit. */
eb_rc eb_pg_carry(struct pg_adapter *g, const struct eb_push *p, const char *push_id, int64_t at,
                  struct eb_err *err);

/* Sends the carried rows into the pipeline (results read by the next sync) and forgets them. */
eb_rc eb_pg_carry_flush(struct pg_adapter *g, struct eb_err *err);

/* Forgets the carried rows (the transaction ended). */
void eb_pg_carry_reset(struct pg_adapter *g);

/* Frees the carried rows' room. */
void eb_pg_carry_free(struct pg_adapter *g);

/* The adapter table's ping method: adapter.h states its contract. */
eb_rc eb_pg_ping(struct eb_adapter *a, struct eb_err *err);

/* The failure just noted, into err, and whether a new try may pass: a serialization failure, a
 * deadlock, or a connection that broke under a transaction begun on an open one. */
eb_rc eb_pg_tx_fail(struct pg_adapter *g, struct eb_err *err);

/* The adapter table's begin method: adapter.h states its contract. */
eb_rc eb_pg_begin(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's commit method: adapter.h states its contract. */
eb_rc eb_pg_commit(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's rollback method: adapter.h states its contract. */
void eb_pg_rollback(struct eb_adapter *a);

/* The adapter table's in_transaction method: adapter.h states its contract. */
int eb_pg_in_transaction(struct eb_adapter *a);

/* The adapter table's savepoint method: adapter.h states its contract. */
eb_rc eb_pg_savepoint(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's release method: adapter.h states its contract. */
eb_rc eb_pg_release(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's rollback_to method: adapter.h states its contract. */
eb_rc eb_pg_rollback_to(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's log_get method: adapter.h states its contract. */
eb_rc eb_pg_log_get(struct eb_adapter *a, const char *push_id, struct eb_log_state *out,
                    struct eb_err *err);

/* The claim is INSERT ... ON CONFLICT (push_id) DO UPDATE ... WHERE outcome = 'failed'
 * RETURNING push_id: a concurrent transaction holding the same id makes it wait for that one's
 * end, and a row recorded with a final outcome returns nothing. With the default tables it also
 * returns whether the candidate row of the push's applicationId exists, kept for the
 * candidate_write that follows (only a hint: eb_pg_candidate_write checks it under the row's lock). */
eb_rc eb_pg_log_put(struct eb_adapter *a, const struct eb_push_record *rec, enum eb_outcome outcome,
                    int64_t received_at, int claim, int *written, struct eb_err *err);

/* The candidate's rows, all in the pipeline. A candidate row that exists (or may: no hint, a
 * replay) is upserted, which takes its row lock (two pushes for one candidate replace it one
 * after the other, whichever version of ehrbridge or replica wrote it before), then one
 * statement deletes its rows from every child table, and the new rows follow.
 *
 * A candidate whose row did not exist when the claim ran (the usual push) skips that purge, a
 * statement over every child table that deletes nothing for a new candidate but costs the
 * database more than the rest of a small push: its row is inserted with ON CONFLICT DO NOTHING
 * RETURNING 1, then its child rows. The hint is checked under the row's lock: when the INSERT
 * inserted nothing (another replica stored the candidate after the claim's read) or a child
 * row's key was taken (rows left by a candidate row deleted by hand), nothing of the try is
 * kept: the write fails as retryable (the bridge rolls it back and writes it again), and this
 * applicationId is purged on every later write of this connection. */
eb_rc eb_pg_candidate_write(struct eb_adapter *a, const struct eb_push *p, const char *push_id,
                            int64_t updated_at, struct eb_err *err);

/* The candidate's row is locked (FOR UPDATE) so that a live push for it waits, or is waited
 * for; the mapped rows hold the last push stored for the applicationId. */
eb_rc eb_pg_candidate_last(struct eb_adapter *a, int64_t app, struct eb_candidate_last *out,
                           struct eb_err *err);

/* Each interview takes a transaction-level advisory lock on its event_id (two replicas
 * replacing one interview take turns), then its rows are deleted and the new ones inserted. */
eb_rc eb_pg_interview_apply(struct eb_adapter *a, const struct eb_interview_event *ev,
                            const char *push_id, int64_t at, struct eb_err *err);

/* The adapter table's retryable method: adapter.h states its contract. */
int eb_pg_retryable(struct eb_adapter *a);

/* Connections with the same connection string and statement timeout share a writer. A push
 * waits for it at most the statement timeout (30 s when there is none). */
int eb_pg_share(struct eb_adapter *a, struct eb_adapter_share *out);

/* Lists push_log rows (adapter.h), page by page after the last (received_at, push_id) listed.
 * Results come in binary: the text columns as their bytes, raw as its bytes. */
eb_rc eb_pg_list_pushes(struct eb_adapter *a, const struct eb_push_filter *f, eb_logged_push_fn fn,
                        void *user, struct eb_err *err);

/* ---- postgres_att.c ---- */

/* Creates the attachment tables unless they exist, under the schema lock (replicas starting
 * together). Returns 1 on success. */
int eb_pg_att_tables(struct pg_adapter *g);

/* In the push's transaction: one pending row per link, all in the pipeline, then the sync
 * that reads their results (adapter.h, att_enqueue). */
eb_rc eb_pg_att_enqueue(struct eb_adapter *a, const char *push_id, int64_t application_id,
                        const struct eb_att_link *links, size_t n, int64_t at_ms,
                        struct eb_err *err);

/* In the replay's transaction: the push's rows neither stored nor pending, pending again. */
eb_rc eb_pg_att_requeue(struct eb_adapter *a, const char *push_id, int64_t at_ms,
                        struct eb_err *err);

/* The value at row, col of r as text; NULL when it is SQL NULL. */
const char *eb_pg_val(const PGresult *r, int row, int col);

/* The adapter table's att_claim method: adapter.h states its contract. */
eb_rc eb_pg_att_claim(struct eb_adapter *a, const char *owner, int64_t now_ms, int64_t lease_ms,
                      struct eb_att_claim *out, int *found, struct eb_err *err);

/* The adapter table's att_chunk method: adapter.h states its contract. */
eb_rc eb_pg_att_chunk(struct eb_adapter *a, int64_t id, int attempt, int seq, const void *data,
                      size_t len, struct eb_err *err);

/* The adapter table's att_finish method: adapter.h states its contract. */
eb_rc eb_pg_att_finish(struct eb_adapter *a, int64_t id, const char *owner, int attempt,
                       const struct eb_att_result *res, struct eb_err *err);

/* The adapter table's att_list method: adapter.h states its contract. */
eb_rc eb_pg_att_list(struct eb_adapter *a, const struct eb_att_filter *f, eb_att_row_fn fn,
                     void *user, struct eb_err *err);

/* The adapter table's att_read method: adapter.h states its contract. */
eb_rc eb_pg_att_read(struct eb_adapter *a, int64_t id, eb_att_chunk_fn fn, void *user,
                     struct eb_err *err);

/* The adapter table's att_stats method: adapter.h states its contract. */
eb_rc eb_pg_att_stats(struct eb_adapter *a, struct eb_att_stats *out, struct eb_err *err);

/* Retention of archived documents (adapter.h, att_purge): stored_in becomes 'purged', the
 * rows' chunks go, in one statement; then the files of the directory store no row refers to. */
eb_rc eb_pg_att_purge(struct eb_adapter *a, int64_t before_ms, int64_t now_ms, unsigned max_rows,
                      eb_att_purged_fn fn, void *user, int64_t *purged, struct eb_err *err);

/* ---- postgres_read.c ---- */

/* The adapter table's push_page method: adapter.h states its contract. */
eb_rc eb_pg_push_page(struct eb_adapter *a, const struct eb_push_query *q, eb_push_summary_fn fn,
                      void *user, struct eb_err *err);

/* The adapter table's push_get method: adapter.h states its contract. */
eb_rc eb_pg_push_get(struct eb_adapter *a, const char *push_id, eb_push_summary_fn fn, void *user,
                     struct eb_err *err);

/* The adapter table's push_counts method: adapter.h states its contract. */
eb_rc eb_pg_push_counts(struct eb_adapter *a, int64_t since_ms, int64_t bucket_ms,
                        eb_push_count_fn fn, void *user, struct eb_err *err);

/* The adapter table's push_warnings method: adapter.h states its contract. */
eb_rc eb_pg_push_warnings(struct eb_adapter *a, const char *push_id, eb_push_warning_fn fn,
                          void *user, struct eb_err *err);

/* The adapter table's purge_payloads method: adapter.h states its contract. */
eb_rc eb_pg_purge_payloads(struct eb_adapter *a, int64_t before_ms, unsigned max_rows,
                           int64_t *purged, struct eb_err *err);

#endif

/* The ODBC adapter's insides, shared by its files (odbc.c, odbc_schema.c, odbc_push.c): the
 * instance, its statements and limits, and the helpers more than one of them calls. Not for use
 * outside them. */
#ifndef EB_ADAPTERS_ODBC_INT_H
#define EB_ADAPTERS_ODBC_INT_H

#include <ctype.h>
#include <pthread.h>
#include <sql.h>
#include <sqlext.h>
#include <stddef.h>
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
#include "util/clock.h"
#include "util/log.h"

#define RECONNECT_PAUSE_MS 500  /* after a failed connect, calls fail at once for this long */
#define LOGIN_TIMEOUT_S    5    /* SQL_ATTR_LOGIN_TIMEOUT */
#define LONG_TEXT          4000 /* characters from which text is bound as SQL_WLONGVARCHAR */
#define N_LOG_COLUMNS      10   /* push_log's columns */

/* The statements prepared on a connection. */
enum {
    ST_FIND_LOG = 0, /* SELECT outcome, message FROM push_log WHERE push_id = ? */
    ST_INSERT_LOG,   /* INSERT INTO push_log (every column) */
    ST_UPDATE_LOG,   /* UPDATE push_log SET (every other column) WHERE push_id = ? */
    ST_VERSION,      /* SELECT max(version) FROM schema_version */
    ST_UPDATE_CAND,  /* UPDATE candidate SET ... WHERE application_id = ? (default schema) */
    ST_CURRENT,      /* replay: received_at and push id of the candidate's last push */
    ST_N
};

struct odbc_adapter {
    struct eb_adapter base;         /* first member: the adapter table */
    SQLHENV env;                    /* the environment (one per instance) */
    SQLHDBC dbc;                    /* the connection handle */
    int connected;                  /* 1 while dbc is connected */
    char *conn_str;                 /* the connection string (after "odbc:") */
    char *secret;                   /* its password, scrubbed from messages */
    char dbms[64];                  /* SQL_DBMS_NAME */
    int is_sqlite;                  /* the DBMS is SQLite: writes take eb_odbc_sqlite_lock */
    int is_mysql;                   /* MySQL or MariaDB: ANSI quotes set per connection; DDL
                                       commits by itself, so the schema's steps can run again */
    struct eb_sql_dialect dialect;  /* types for the DBMS */
    struct eb_sql_schema *schema;   /* the default schema in that dialect */
    struct eb_interview_sql itv;    /* the interview tables' text */
    struct eb_mapping_sql *map_sql; /* --mapping: the mapped tables' text */
    char *update_cand_sql;          /* UPDATE candidate ... */
    char *update_log_sql;           /* UPDATE push_log ... */
    int schema_checked;             /* 1 once the schema is known to be this binary's */
    int64_t retry_at_ms;            /* after a failed connect: no new try before (monotonic) */
    struct eb_err down;             /* the error of that connect */
    SQLHSTMT st[ST_N];              /* the statements above */
    SQLHSTMT *ins;                  /* per schema table: INSERT (candidate, children) */
    SQLHSTMT *del;                  /* per schema table: DELETE by application_id (children) */
    SQLHSTMT itv_ins[EB_ITV_N_TABLES], itv_del[EB_ITV_N_TABLES];
    struct eb_warning_sql wsql;  /* push_warning's text (sql/warning_sql.h) */
    SQLHSTMT warn_ins, warn_del; /* its row insert, delete by push_id */
    SQLHSTMT *map_st;            /* 3 per mapped table (eb_mapping_stmt) */
    char state[6];               /* SQLSTATE of the last failure */
    int in_tx;                   /* between begin and commit or rollback */
    int tx_had;                  /* the transaction began on a connection already open */
    int retry;                   /* the last failure may pass on a new try (retryable) */
    /* parameter buffers of one execution */
    SQLWCHAR *wbuf[EB_SQL_MAX_COLUMNS]; /* UTF-16 text */
    size_t wcap[EB_SQL_MAX_COLUMNS];    /* units allocated in wbuf[i] */
    char *cbuf[EB_SQL_MAX_COLUMNS];     /* UTF-8 text (MySQL, MariaDB) */
    size_t ccap[EB_SQL_MAX_COLUMNS];    /* bytes allocated in cbuf[i] */
    SQLBIGINT ival[EB_SQL_MAX_COLUMNS];
    SQLLEN ind[EB_SQL_MAX_COLUMNS];
};

/* ---- odbc.c ---- */

/* Held by a transaction on an SQLite file through ODBC from its begin to its end: one SQLite
 * writer in the process. */
extern pthread_mutex_t eb_odbc_sqlite_lock;

/* 1 when SQLSTATE s means the connection is gone (class 08, HYT01). */
int eb_odbc_lost_state(const char *s);

/* Describes the first diagnostic record of handle h (type t) in err: "odbc: STATE: what: text".
 * Class 08 (connection), HYT00/HYT01 (timeouts), 40001/40P01 and SQLite's "locked" are
 * EB_ERR_UNAVAILABLE (retry later); others EB_ERR_DB. A broken connection is dropped. */
eb_rc eb_odbc_fail(struct odbc_adapter *o, SQLSMALLINT t, SQLHANDLE h, const char *what,
                   struct eb_err *err);

/* Frees statement *h if there is one and sets it to NULL. */
void eb_odbc_free_stmt(SQLHSTMT *h);

/* Drops the connection (statements, handles); the next call connects again. */
void eb_odbc_disconnect(struct odbc_adapter *o);

/* Ends the current transaction (commit or rollback). */
eb_rc eb_odbc_end_tran(struct odbc_adapter *o, int commit, struct eb_err *err);

/* Rolls the connection's transaction back when connected; errors ignored. */
void eb_odbc_conn_rollback(struct odbc_adapter *o);

/* Prepares sql into *h. */
eb_rc eb_odbc_prepare(struct odbc_adapter *o, const char *sql, SQLHSTMT *h, const char *what,
                      struct eb_err *err);

/* Runs sql once (setup: DDL, probes) on a statement of its own. */
eb_rc eb_odbc_exec_direct(struct odbc_adapter *o, const char *sql, const char *what,
                          struct eb_err *err);

/* On MySQL and MariaDB an UPDATE counts the rows it changed, not those it matched, unless the
 * connection asked for matched rows (the driver's OPTION=2, FOUND_ROWS): the candidate row that a
 * replay writes again unchanged would then look missing and be inserted a second time. Checked
 * with an UPDATE that matches schema_version's row(s) and changes nothing. */
eb_rc eb_odbc_check_matched_rows(struct odbc_adapter *o, struct eb_err *err);

/* Runs a step of the schema's creation or migration. Where DDL commits by itself (MySQL,
 * MariaDB), a step interrupted half-way must be able to run again: CREATE TABLE, CREATE INDEX
 * and ADD COLUMN get IF NOT EXISTS (MariaDB understands all three). */
eb_rc eb_odbc_exec_ddl(struct odbc_adapter *o, const char *sql, const char *what,
                       struct eb_err *err);

/* Binds v as parameter i (1-based) of h. */
eb_rc eb_odbc_bind_int(struct odbc_adapter *o, SQLHSTMT h, int i, int64_t v, struct eb_err *err);

/* Binds a NUL-terminated string (NULL binds NULL) as text parameter i of h. */
eb_rc eb_odbc_bind_str(struct odbc_adapter *o, SQLHSTMT h, int i, const char *s,
                       struct eb_err *err);

/* Binds a generated row value (integer, text or NULL) as parameter i of h. */
eb_rc eb_odbc_bind_value(struct odbc_adapter *o, SQLHSTMT h, int i, const struct eb_sql_value *v,
                         struct eb_err *err);

/* Executes prepared statement h (parameters bound); *changed gets the rows it changed. */
eb_rc eb_odbc_execute(struct odbc_adapter *o, SQLHSTMT h, const char *what, int64_t *changed,
                      struct eb_err *err);

/* Reads column col of the current row into *out (malloc'd and NUL-terminated; NULL for SQL
 * NULL) in chunks: as text (wide: the driver's UTF-16, converted to UTF-8) or as bytes. */
eb_rc eb_odbc_get_data(struct odbc_adapter *o, SQLHSTMT h, int col, int wide, char **out,
                       size_t *out_len, struct eb_err *err);

/* Reads column col of h's current row as UTF-8 text into *out (malloc'd; NULL for SQL NULL). */
eb_rc eb_odbc_get_text(struct odbc_adapter *o, SQLHSTMT h, int col, char **out, size_t *out_len,
                       struct eb_err *err);

/* Reads column col of h's current row as an integer; *is_null set for SQL NULL. */
eb_rc eb_odbc_get_int(struct odbc_adapter *o, SQLHSTMT h, int col, int64_t *v, int *is_null,
                      struct eb_err *err);

/* push_log's outcome text as an eb_outcome ("stored", "rejected", anything else failed). */
enum eb_outcome eb_odbc_outcome_from(const char *text);

/* Reads push_id's push_log row: *found (0: none), its outcome and message (into message, when
 * not NULL). */
eb_rc eb_odbc_find_log(struct odbc_adapter *o, const char *push_id, int *found,
                       enum eb_outcome *outcome, char *message, size_t message_size,
                       struct eb_err *err);

/* Records rec (with outcome) in push_log: an update of an existing row, else an insert. */
eb_rc eb_odbc_put_log(struct odbc_adapter *o, int exists, const struct eb_push_record *rec,
                      enum eb_outcome outcome, int64_t at, struct eb_err *err);

/* ---- odbc_schema.c ---- */

/* Connects when there is no connection: manual commit, the DBMS, the schema (first time),
 * the statements. */
eb_rc eb_odbc_ensure_connected(struct odbc_adapter *o, struct eb_err *err);

/* ---- odbc_push.c ---- */

/* The connection is in manual-commit mode: the transaction begins with its first statement.
 * Writes to SQLite through ODBC take the process's SQLite lock until the transaction ends. */
eb_rc eb_odbc_begin(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's rollback method: adapter.h states its contract. */
void eb_odbc_rollback(struct eb_adapter *a);

/* The adapter table's commit method: adapter.h states its contract. */
eb_rc eb_odbc_commit(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's in_transaction method: adapter.h states its contract. */
int eb_odbc_in_transaction(struct eb_adapter *a);

/* The adapter table's savepoint method: adapter.h states its contract. */
eb_rc eb_odbc_savepoint(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's release method: adapter.h states its contract. */
eb_rc eb_odbc_release(struct eb_adapter *a, struct eb_err *err);

/* A driver that rolled the whole transaction back on the error (psqlODBC may) has no savepoint
 * left: this fails, and the bridge writes the batch again. */
eb_rc eb_odbc_rollback_to(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's log_get method: adapter.h states its contract. */
eb_rc eb_odbc_log_get(struct eb_adapter *a, const char *push_id, struct eb_log_state *out,
                      struct eb_err *err);

/* The SQL is portable (no upsert): the row is read, then updated or inserted. A claim by
 * another replica of the same id meets the primary key (SQLSTATE 23xxx): retryable. */
eb_rc eb_odbc_log_put(struct eb_adapter *a, const struct eb_push_record *rec,
                      enum eb_outcome outcome, int64_t received_at, int claim, int *written,
                      struct eb_err *err);

/* The adapter table's candidate_write method: adapter.h states its contract. */
eb_rc eb_odbc_candidate_write(struct eb_adapter *a, const struct eb_push *p, const char *push_id,
                              int64_t updated_at, struct eb_err *err);

/* The adapter table's candidate_last method: adapter.h states its contract. */
eb_rc eb_odbc_candidate_last(struct eb_adapter *a, int64_t app_id, struct eb_candidate_last *out,
                             struct eb_err *err);

/* The adapter table's interview_apply method: adapter.h states its contract. */
eb_rc eb_odbc_interview_apply(struct eb_adapter *a, const struct eb_interview_event *ev,
                              const char *push_id, int64_t at, struct eb_err *err);

/* The adapter table's retryable method: adapter.h states its contract. */
int eb_odbc_retryable(struct eb_adapter *a);

/* Connections with the same connection string share a writer. */
int eb_odbc_share(struct eb_adapter *a, struct eb_adapter_share *out);

/* The adapter table's ping method: adapter.h states its contract. */
eb_rc eb_odbc_ping(struct eb_adapter *a, struct eb_err *err);

/* Lists push_log rows matching f in received_at order (adapter.h); read-only. The matching push
 * ids are read first, then each row in a transaction of its own: no read lock is held while fn
 * runs (an SQLite file would otherwise keep the replay's writer waiting). */
eb_rc eb_odbc_list_pushes(struct eb_adapter *a, const struct eb_push_filter *f,
                          eb_logged_push_fn fn, void *user, struct eb_err *err);

/* Retention on ODBC: every DBMS spells a bounded batch differently (LIMIT, TOP, FETCH FIRST), so
 * one statement clears every push_log row past the limit (after the warnings' values), in one
 * transaction. */
eb_rc eb_odbc_purge_payloads(struct eb_adapter *a, int64_t before_ms, unsigned max_rows,
                             int64_t *purged, struct eb_err *err);

#endif

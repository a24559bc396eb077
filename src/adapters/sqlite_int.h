/* The SQLite adapter's insides, shared by its files (sqlite.c, sqlite_schema.c, sqlite_push.c,
 * sqlite_read.c, sqlite_att.c): the instance, its checkpointer, its limits, and the helpers more
 * than one of them calls. Not for use outside them. */
#ifndef EB_ADAPTERS_SQLITE_INT_H
#define EB_ADAPTERS_SQLITE_INT_H

#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "adapters/adapter.h"
#include "sql/interview_sql.h"
#include "adapters/pushread.h"
#include "sql/warning_sql.h"
#include "sql/sqlgen.h"
#include "candidate/candidate.h"
#include "mapping/mapping.h"
#include "util/buf.h"
#include "util/log.h"

#define BUSY_TIMEOUT_MS                                                                            \
    5000 /* default wait for another connection's transaction (busy_timeout)                       \
          */

#define CKPT_SOFT    1000  /* WAL frames not yet checkpointed that wake the checkpointer */
#define CKPT_RESTART 8000  /* WAL frames past which the WAL is to start again from its beginning */
#define CKPT_CATCHUP 256   /* frames the writer checkpoints by itself for that restart */
#define CKPT_LIMIT   16000 /* WAL frames at which the writer checkpoints whatever is left */

/* The checkpointer of a writer connection: a thread with its own connection copies the WAL into
 * the database (PASSIVE checkpoints, with their fsyncs) outside the writer's transactions. */
struct ckpt {
    sqlite3 *writer_db;   /* the writer's connection (its WAL hook is wal_hook) */
    sqlite3 *db;          /* the checkpointer's connection */
    pthread_t thread;     /* the thread */
    pthread_mutex_t lock; /* guards the members below */
    pthread_cond_t cv;    /* want or stop was set, or writer_ckpt cleared */
    pthread_cond_t idle;  /* busy was cleared */
    int want, stop;       /* a checkpoint is due; the thread must end */
    int busy;             /* the checkpointer is copying */
    int writer_ckpt;      /* the writer checkpoints at CKPT_LIMIT: the thread waits */
    int self_ckpt;        /* writer thread only: it checkpoints once its batch is answered (1;
                           * 2: at CKPT_LIMIT) */
    int done;             /* WAL frames the last checkpoint had copied */
};

/* Child rows (the items of a candidate's arrays) are inserted MANY_ROWS at a time, with one
 * multi-row INSERT: a statement's own cost (its start, its end, its statement journal) is paid
 * once per MANY_ROWS rows. 400 items of a large record: 25 statements instead of 400. */
#define MANY_ROWS 16

struct sqlite_adapter {
    struct eb_adapter base;       /* first member: the adapter table */
    sqlite3 *db;                  /* the connection; NULL when not opened */
    struct ckpt *ckpt;            /* a writer's checkpointer; NULL: SQLite's own checkpoints */
    int busy_ms;                  /* how long a writer waits for another one */
    int full;                     /* 1: synchronous=FULL */
    struct eb_sql_schema *schema; /* the default schema in SQLite's dialect */
    sqlite3_stmt *begin;          /* BEGIN IMMEDIATE */
    sqlite3_stmt *commit;         /* COMMIT */
    sqlite3_stmt *rollback;       /* ROLLBACK */
    sqlite3_stmt *savepoint;      /* SAVEPOINT push: one push of a batch */
    sqlite3_stmt *release;        /* RELEASE push */
    sqlite3_stmt *undo;           /* ROLLBACK TO push */
    sqlite3_stmt *find_log;       /* outcome and message of a push id */
    sqlite3_stmt *put_log;        /* push_log upsert (any previous outcome) */
    sqlite3_stmt *claim_log;      /* push_log upsert that only overwrites 'failed' */
    sqlite3_stmt *add_candidate;  /* candidate insert that does nothing when the row exists */
    sqlite3_stmt *version;        /* the schema version */
    sqlite3_stmt **insert;        /* per schema table: the row insert (candidate: upsert) */
    sqlite3_stmt **insert_many;   /* per child table: the insert of MANY_ROWS rows at once */
    sqlite3_stmt **remove;        /* per schema table: delete by application_id (children) */
    struct eb_sql_value *pend;    /* child rows waiting for their INSERT (struct replace):
                                   * MANY_ROWS x the widest child table */
    sqlite3_stmt *current;        /* replay: received_at and push id of a candidate's last push */
    struct eb_interview_sql itv;  /* the interview tables' statement text */
    sqlite3_stmt *itv_insert[EB_ITV_N_TABLES]; /* per interview table: the row insert */
    sqlite3_stmt *itv_remove[EB_ITV_N_TABLES]; /* per interview table: delete by event_id */
    struct eb_warning_sql wsql;                /* push_warning's statement text */
    sqlite3_stmt *warn_insert, *warn_remove;   /* its row insert, delete by push_id */
    struct eb_mapping_sql *map_sql;            /* --mapping: the mapped tables' statement text */
    sqlite3_stmt **map_st;   /* and their statements, 3 per table (eb_mapping_stmt) */
    sqlite3_stmt *att_put;   /* queues one link (attachment), prepared on first use */
    sqlite3_stmt *att_again; /* a replayed push's links not stored back to pending */
};

/* ---- sqlite.c ---- */

/* Maps an SQLite result code to an eb_rc and describes it (driver text goes to logs only). */
eb_rc eb_sq_fail(struct sqlite_adapter *s, int code, const char *what, struct eb_err *err);

/* Steps a statement that returns no row, then resets it. */
eb_rc eb_sq_run(struct sqlite_adapter *s, sqlite3_stmt *st, const char *what, struct eb_err *err);

/* Runs SQL text that returns no row (setup only: pragmas, DDL). */
eb_rc eb_sq_exec(struct sqlite_adapter *s, const char *sql, const char *what, struct eb_err *err);

/* Prepares sql into *st (persistent); the failure described with what. */
eb_rc eb_sq_prepare(struct sqlite_adapter *s, const char *sql, sqlite3_stmt **st, const char *what,
                    struct eb_err *err);

/* Ends a failed transaction, if one is still open (some errors roll back by themselves). */
void eb_sq_abandon(struct sqlite_adapter *s);

/* Binds len bytes of v as text parameter i (NULL binds NULL); an SQLite result code. */
int eb_sq_bind_text(sqlite3_stmt *st, int i, const char *v, size_t len);

/* Binds a NUL-terminated string (NULL binds NULL) as text parameter i. */
int eb_sq_bind_str(sqlite3_stmt *st, int i, const char *v);

/* Binds v as parameter i when has, NULL otherwise. */
int eb_sq_bind_opt_int(sqlite3_stmt *st, int i, int has, int64_t v);

/* Binds a push_log row (columns in eb_sql_schema push_log order) to st, rec as given. */
eb_rc eb_sq_bind_log(struct sqlite_adapter *s, sqlite3_stmt *st, const struct eb_push_record *rec,
                     enum eb_outcome outcome, int64_t received_at, struct eb_err *err);

/* Binds v[0..n) to st's parameters first, first + 1, ... (texts borrowed). A NULL value is
 * left as the parameter is: NULL after sqlite3_clear_bindings() or a fresh statement. */
eb_rc eb_sq_bind_values(struct sqlite_adapter *s, sqlite3_stmt *st, int first,
                        const struct eb_sql_value *v, size_t n, const char *what,
                        struct eb_err *err);

/* Binds one row of t (v: t->n_columns values, in insert_sql's order) to st. Most columns of a
 * candidate row are NULL: every parameter is cleared to NULL at once, and only values bound. */
eb_rc eb_sq_bind_row(struct sqlite_adapter *s, sqlite3_stmt *st, const struct eb_sql_table *t,
                     const struct eb_sql_value *v, struct eb_err *err);

/* ---- sqlite_schema.c ---- */

/* Reads the schema version into *version (0 when the table has no row). */
eb_rc eb_sq_read_version(struct sqlite_adapter *s, sqlite3_stmt *st, int64_t *version,
                         struct eb_err *err);

/* Creates the schema in one transaction unless it is there; checks its version. */
eb_rc eb_sq_ensure_schema(struct sqlite_adapter *s, struct eb_err *err);

/* Prepares every statement of the default schema on this connection. */
eb_rc eb_sq_prepare_all(struct sqlite_adapter *s, struct eb_err *err);

/* ---- sqlite_push.c ---- */

/* The adapter table's begin method: adapter.h states its contract. */
eb_rc eb_sq_begin(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's commit method: adapter.h states its contract. */
eb_rc eb_sq_commit(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's rollback method: adapter.h states its contract. */
void eb_sq_rollback(struct eb_adapter *a);

/* The adapter table's in_transaction method: adapter.h states its contract. */
int eb_sq_in_transaction(struct eb_adapter *a);

/* The adapter table's savepoint method: adapter.h states its contract. */
eb_rc eb_sq_savepoint(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's release method: adapter.h states its contract. */
eb_rc eb_sq_release(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's rollback_to method: adapter.h states its contract. */
eb_rc eb_sq_rollback_to(struct eb_adapter *a, struct eb_err *err);

/* The adapter table's log_get method: adapter.h states its contract. */
eb_rc eb_sq_log_get(struct eb_adapter *a, const char *push_id, struct eb_log_state *out,
                    struct eb_err *err);

/* The adapter table's log_put method: adapter.h states its contract. */
eb_rc eb_sq_log_put(struct eb_adapter *a, const struct eb_push_record *rec, enum eb_outcome outcome,
                    int64_t received_at, int claim, int *written, struct eb_err *err);

/* Inside the bridge's transaction: replaces every row of p's applicationId with p's (or
 * writes the mapped tables), then the push's push_warning rows. A new candidate, the usual push, costs its INSERTs only: no DELETE
 * runs. */
eb_rc eb_sq_candidate_write(struct eb_adapter *a, const struct eb_push *p, const char *push_id,
                            int64_t updated_at, struct eb_err *err);

/* The push whose rows the candidate holds: its default candidate row names it; the mapped rows
 * hold the last push stored for the applicationId. */
eb_rc eb_sq_candidate_last(struct eb_adapter *a, int64_t app, struct eb_candidate_last *out,
                           struct eb_err *err);

/* Builds the mapped tables' statements: each table is probed first (a missing table or column
 * stops the start), then its update, insert and remove are prepared. */
eb_rc eb_sq_mapped_prepare(struct sqlite_adapter *s, struct eb_err *err);

/* Finalizes --mapping's statements. */
void eb_sq_mapped_close(struct sqlite_adapter *s);

/* eb_mapping_run_fn: runs one mapped statement with the prepared statement of its table. */
eb_rc eb_sq_mapped_run(void *ctx, size_t table, enum eb_mapping_stmt which,
                       const struct eb_sql_value *v, size_t n, int64_t *changed,
                       struct eb_err *err);

/* The adapter table's ping method: adapter.h states its contract. */
eb_rc eb_sq_ping(struct eb_adapter *a, struct eb_err *err);

/* Creates push_warning unless it exists (also in a database made before it). */
eb_rc eb_sq_warning_table(struct sqlite_adapter *s, struct eb_err *err);

/* Prepares push_warning's statements. */
eb_rc eb_sq_warning_prepare(struct sqlite_adapter *s, struct eb_err *err);

/* Finalizes push_warning's statements. */
void eb_sq_warning_close(struct sqlite_adapter *s);

/* In the push's transaction: the push id's warnings replaced by p's. */
eb_rc eb_sq_warning_write(struct sqlite_adapter *s, const struct eb_push *p, const char *push_id,
                          struct eb_err *err);

/* Creates the interview tables unless they exist (also in a database made before them). */
eb_rc eb_sq_interview_tables(struct sqlite_adapter *s, struct eb_err *err);

/* Prepares the interview tables' statements. */
eb_rc eb_sq_interview_prepare(struct sqlite_adapter *s, struct eb_err *err);

/* Finalizes the interview tables' statements. */
void eb_sq_interview_close(struct sqlite_adapter *s);

/* Inside the bridge's transaction: every interview of ev replaces (or, for a delete, removes)
 * the rows of its event_id. */
eb_rc eb_sq_interview_apply(struct eb_adapter *a, const struct eb_interview_event *ev,
                            const char *push_id, int64_t at, struct eb_err *err);

/* Lists push_log rows on this instance's own connection (read-only), page by page after the
 * last (received_at, push_id) listed. */
eb_rc eb_sq_list_pushes(struct eb_adapter *a, const struct eb_push_filter *f, eb_logged_push_fn fn,
                        void *user, struct eb_err *err);

/* ---- sqlite_read.c ---- */

/* The adapter table's push_page method: adapter.h states its contract. */
eb_rc eb_sq_push_page(struct eb_adapter *a, const struct eb_push_query *q, eb_push_summary_fn fn,
                      void *user, struct eb_err *err);

/* The adapter table's push_get method: adapter.h states its contract. */
eb_rc eb_sq_push_get(struct eb_adapter *a, const char *push_id, eb_push_summary_fn fn, void *user,
                     struct eb_err *err);

/* The adapter table's push_counts method: adapter.h states its contract. */
eb_rc eb_sq_push_counts(struct eb_adapter *a, int64_t since_ms, int64_t bucket_ms,
                        eb_push_count_fn fn, void *user, struct eb_err *err);

/* Runs on this instance's own connection, beside the gate's writer: a batch waits for it like
 * a writer of another process (busy timeout). */
eb_rc eb_sq_purge_payloads(struct eb_adapter *a, int64_t before_ms, unsigned max_rows,
                           int64_t *purged, struct eb_err *err);

/* The adapter table's push_warnings method: adapter.h states its contract. */
eb_rc eb_sq_push_warnings(struct eb_adapter *a, const char *push_id, eb_push_warning_fn fn,
                          void *user, struct eb_err *err);

/* ---- sqlite_att.c ---- */

/* Creates the attachment tables unless they exist (also in a database made before them). */
eb_rc eb_sq_att_tables(struct sqlite_adapter *s, struct eb_err *err);

/* In the push's transaction: one pending row per link (adapter.h, att_enqueue). */
eb_rc eb_sq_att_enqueue(struct eb_adapter *a, const char *push_id, int64_t application_id,
                        const struct eb_att_link *links, size_t n, int64_t at_ms,
                        struct eb_err *err);

/* In the replay's transaction: the push's rows neither stored nor pending, pending again. */
eb_rc eb_sq_att_requeue(struct eb_adapter *a, const char *push_id, int64_t at_ms,
                        struct eb_err *err);

/* The adapter table's att_claim method: adapter.h states its contract. */
eb_rc eb_sq_att_claim(struct eb_adapter *a, const char *owner, int64_t now_ms, int64_t lease_ms,
                      struct eb_att_claim *out, int *found, struct eb_err *err);

/* The adapter table's att_chunk method: adapter.h states its contract. */
eb_rc eb_sq_att_chunk(struct eb_adapter *a, int64_t id, int attempt, int seq, const void *data,
                      size_t len, struct eb_err *err);

/* The adapter table's att_finish method: adapter.h states its contract. */
eb_rc eb_sq_att_finish(struct eb_adapter *a, int64_t id, const char *owner, int attempt,
                       const struct eb_att_result *r, struct eb_err *err);

/* The adapter table's att_list method: adapter.h states its contract. */
eb_rc eb_sq_att_list(struct eb_adapter *a, const struct eb_att_filter *f, eb_att_row_fn fn,
                     void *user, struct eb_err *err);

/* The adapter table's att_read method: adapter.h states its contract. */
eb_rc eb_sq_att_read(struct eb_adapter *a, int64_t id, eb_att_chunk_fn fn, void *user,
                     struct eb_err *err);

/* The adapter table's att_stats method: adapter.h states its contract. */
eb_rc eb_sq_att_stats(struct eb_adapter *a, struct eb_att_stats *out, struct eb_err *err);

/* Retention of archived documents (adapter.h, att_purge): stored_in becomes 'purged'. */
eb_rc eb_sq_att_purge(struct eb_adapter *a, int64_t before_ms, int64_t now_ms, unsigned max_rows,
                      eb_att_purged_fn fn, void *user, int64_t *purged, struct eb_err *err);

#endif

/* The SQLite adapter (eb_adapter_sqlite) for URLs sqlite:PATH and sqlite://PATH, with options
 * ?synchronous=full|normal (default full: `true` only after a durable commit) and
 * &busy_timeout=MS (default 5000). One instance is one connection in WAL mode; it creates the
 * default schema (adapters/sqlgen.c) on first open and prepares every statement once. Several
 * instances may use the same file from different threads.
 *
 * Group commit: the instances of one process that write to the same file (with the same
 * settings) share one writer connection and its thread, reached through the file's gate. A push
 * is queued on the gate, by a caller that waits for it (store_push, ...) or by one that does not
 * (submit: the service's workers go on with the next request). The writer thread takes every
 * push queued (up to MAX_BATCH), writes them in ONE BEGIN IMMEDIATE transaction (when one of
 * them fails, the others are written again each in its own SAVEPOINT, so that the failing push
 * is rolled back alone: run_batch), commits once (one fsync with
 * synchronous=full), and only then completes each push: `true` is answered after the shared
 * durable commit. Pushes that arrive meanwhile form the next batch, so the busier the
 * database, the more pushes share a commit. Writers of other processes meet SQLite's lock and
 * the busy timeout; in this process nobody sleeps in SQLite's busy handler. Checkpoints run in
 * another thread of the gate with its own connection, off the writer's path. */
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
#include "adapters/interview_sql.h"
#include "adapters/warning_sql.h"
#include "adapters/sqlgen.h"
#include "candidate/candidate.h"
#include "mapping/mapping.h"
#include "util/clock.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/metrics.h"

#define BUSY_TIMEOUT_MS                                                                            \
    5000 /* default wait for another connection's transaction (busy_timeout)                       \
          */

#define MAX_BATCH    64    /* most pushes written in one group-commit transaction */
#define CKPT_SOFT    1000  /* WAL frames not yet checkpointed that wake the gate's checkpointer */
#define CKPT_RESTART 8000  /* WAL frames past which the WAL is to start again from its beginning */
#define CKPT_CATCHUP 256   /* frames the writer checkpoints by itself for that restart */
#define CKPT_LIMIT   16000 /* WAL frames at which the writer checkpoints whatever is left */

struct sqlite_adapter;

/* One push (or one "failed" record) waiting for the gate's writer. A waiting caller's job lives
 * on its stack until done; a submitted one (async) is allocated by sq_submit and freed by the
 * writer, which writes rc, *out and *err before completing it. */
struct job {
    const struct eb_push *p;             /* the record to store; NULL for a rejected push */
    const struct eb_interview_event *ev; /* an interview event to store instead; or NULL */
    int replay;                          /* 1: `ehrbridge replay` re-stores a logged push */
    const struct eb_push_record *rec;    /* the push_log row */
    struct eb_stored *out;               /* store_push: filled on success; NULL: a failure record */
    struct eb_err *err;                  /* why it failed */
    int64_t received_at;                 /* push_log.received_at */
    eb_rc rc;                            /* the result, once done */
    int taken;                           /* in the writer's batch: no longer allowed to time out */
    int done;                            /* rc is final */
    pthread_cond_t cv;                   /* a waiting caller's: signalled when done */
    struct eb_push_job *async;           /* submitted without waiting: completed with its done */
    int64_t queued_ms;                   /* monotonic, when queued */
    struct job *next;                    /* in the gate's queue */
};

/* The gate of one database file and one set of settings: the shared writer connection and the
 * queue of pushes waiting for it. Writers in other processes still meet the busy timeout. */
struct gate {
    dev_t dev;                     /* the file's device */
    ino_t ino;                     /* and inode: one gate per file, whatever path names it */
    int full;                      /* and the writer's settings: synchronous=full */
    int busy_ms;                   /* busy timeout */
    struct sqlite_adapter *writer; /* the connection every batch is written with */
    pthread_t thread;              /* the writer thread, which alone uses writer */
    pthread_mutex_t lock;          /* guards head, tail, stop */
    pthread_cond_t work_cv;        /* a job was queued, or stop */
    int stop;                      /* the writer thread must end once the queue is empty */
    struct job *head, *tail;       /* queued jobs, oldest first */
    int refs;                      /* instances using it (guarded by gates_lock) */
    struct gate *next;             /* in the list of gates */
    /* written by the writer thread alone, read once it has ended */
    uint64_t batches, jobs; /* transactions written and the jobs in them */
    uint64_t busy_ns;       /* time spent writing batches */
    /* The checkpointer: a thread with its own connection copies the WAL into the database
     * (PASSIVE checkpoints, with their fsyncs) outside the writer's transactions. */
    sqlite3 *ckpt_db;          /* its connection; NULL: the writer checkpoints as usual */
    pthread_t ckpt_thread;     /* the thread, when ckpt_db is set */
    pthread_mutex_t ckpt_lock; /* guards the members below */
    pthread_cond_t ckpt_cv;    /* ckpt_want or ckpt_stop was set, or writer_ckpt cleared */
    pthread_cond_t ckpt_idle;  /* ckpt_busy was cleared */
    int ckpt_want, ckpt_stop;  /* a checkpoint is due; the thread must end */
    int ckpt_busy;             /* the checkpointer is copying */
    int writer_ckpt;           /* the writer checkpoints at CKPT_LIMIT: the thread waits */
    int self_ckpt;             /* writer thread only: it checkpoints once its batch is
                                    * answered (1; 2: at CKPT_LIMIT) */
    int ckpt_done;             /* WAL frames the last checkpoint had copied */
};

static pthread_mutex_t gates_lock = PTHREAD_MUTEX_INITIALIZER; /* guards gates */
static struct gate *gates;                                     /* every gate in use */

/* What the writer threads did, for GET /metrics (every gate of the process together). */
static struct {
    struct eb_metric *transactions; /* group-commit transactions committed or abandoned */
    struct eb_metric *pushes;       /* histogram: pushes per transaction */
    struct eb_metric *seconds;      /* histogram: time to write and commit one */
    struct eb_metric *rewrites;     /* transactions written again after a push failed */
} gmetrics;
static pthread_once_t gmetrics_once = PTHREAD_ONCE_INIT;

static void gmetrics_register(void)
{
    static const double per_tx[] = {1, 2, 4, 8, 16, 32, 64};
    gmetrics.transactions = eb_metrics_counter(
        "ehrbridge_sqlite_transactions_total",
        "Group-commit transactions of the SQLite writer threads (one per batch of pushes)", NULL);
    gmetrics.pushes = eb_metrics_histogram("ehrbridge_sqlite_transaction_pushes",
                                           "Pushes written per SQLite group-commit transaction",
                                           NULL, per_tx, sizeof per_tx / sizeof per_tx[0]);
    gmetrics.seconds = eb_metrics_histogram(
        "ehrbridge_sqlite_transaction_seconds",
        "Time to write and commit one SQLite group-commit transaction, seconds", NULL,
        eb_metrics_duration_buckets, eb_metrics_duration_nbuckets);
    gmetrics.rewrites = eb_metrics_counter(
        "ehrbridge_sqlite_transaction_rewrites_total",
        "SQLite transactions rolled back because one of their pushes failed and written again "
        "without it",
        NULL);
}

/* Child rows (the items of a candidate's arrays) are inserted MANY_ROWS at a time, with one
 * multi-row INSERT: a statement's own cost (its start, its end, its statement journal) is paid
 * once per MANY_ROWS rows. 400 items of a large record: 25 statements instead of 400. */
#define MANY_ROWS 16

struct sqlite_adapter {
    struct eb_adapter base;       /* first member: the adapter table */
    sqlite3 *db;                  /* the connection; NULL when not opened */
    struct gate *gate;            /* the file's gate; NULL for in-memory databases and writers */
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
    sqlite3_stmt *put_failure;    /* push_log upsert that only overwrites 'failed' */
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
    sqlite3_stmt **map_st; /* and their statements, 3 per table (eb_mapping_stmt) */
};

/* ---- errors ------------------------------------------------------------------------------ */

/* Maps an SQLite result code to an eb_rc and describes it (driver text goes to logs only). */
static eb_rc fail(struct sqlite_adapter *s, int code, const char *what, struct eb_err *err)
{
    eb_rc rc;
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_PROTOCOL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        rc = EB_ERR_UNAVAILABLE;
        break;
    case SQLITE_NOMEM:
        rc = EB_ERR_NOMEM;
        break;
    default:
        rc = EB_ERR_DB;
        break;
    }
    return eb_err_set(err, rc, "sqlite: %s: %s (%d)", what,
                      s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(code), code);
}

/* Steps a statement that returns no row, then resets it. */
static eb_rc run(struct sqlite_adapter *s, sqlite3_stmt *st, const char *what, struct eb_err *err)
{
    int code = sqlite3_step(st);
    eb_rc rc = code == SQLITE_DONE ? EB_OK : fail(s, code, what, err);
    sqlite3_reset(st);
    return rc;
}

/* Runs SQL text that returns no row (setup only: pragmas, DDL). */
static eb_rc exec(struct sqlite_adapter *s, const char *sql, const char *what, struct eb_err *err)
{
    int code = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return code == SQLITE_OK ? EB_OK : fail(s, code, what, err);
}

static eb_rc prepare(struct sqlite_adapter *s, const char *sql, sqlite3_stmt **st, const char *what,
                     struct eb_err *err)
{
    int code = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    return code == SQLITE_OK ? EB_OK : fail(s, code, what, err);
}

/* Ends a failed transaction, if one is still open (some errors roll back by themselves). */
static void abandon(struct sqlite_adapter *s)
{
    if (s->db && !sqlite3_get_autocommit(s->db)) {
        sqlite3_step(s->rollback);
        sqlite3_reset(s->rollback);
    }
}

/* ---- binding ----------------------------------------------------------------------------- */

static int bind_text(sqlite3_stmt *st, int i, const char *v, size_t len)
{
    return v ? sqlite3_bind_text64(st, i, v, len, SQLITE_STATIC, SQLITE_UTF8)
             : sqlite3_bind_null(st, i);
}

static int bind_blob(sqlite3_stmt *st, int i, const char *v, size_t len)
{
    return v ? sqlite3_bind_blob64(st, i, v, len, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int bind_str(sqlite3_stmt *st, int i, const char *v)
{
    return bind_text(st, i, v, v ? strlen(v) : 0);
}

static int bind_opt_int(sqlite3_stmt *st, int i, int has, int64_t v)
{
    return has ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

/* Binds a push_log row (columns in eb_sql_schema push_log order) to st. */
static eb_rc bind_log(struct sqlite_adapter *s, sqlite3_stmt *st, const struct eb_push_record *rec,
                      enum eb_outcome outcome, int64_t received_at, struct eb_err *err)
{
    int c = SQLITE_OK;
    int keep_raw = outcome != EB_OUTCOME_STORED;
    const char *message = outcome == EB_OUTCOME_STORED ? NULL : rec->message;
    if ((c = bind_str(st, 1, rec->push_id)) || (c = bind_str(st, 2, rec->event)) ||
        (c = bind_str(st, 3, rec->triggered_at)) || (c = sqlite3_bind_int64(st, 4, received_at)) ||
        (c = bind_opt_int(st, 5, rec->has_application_id, rec->application_id)) ||
        (c = bind_opt_int(st, 6, rec->has_candidate_id, rec->candidate_id)) ||
        (c = bind_str(st, 7, eb_outcome_name(outcome))) || (c = bind_str(st, 8, message)) ||
        (c = bind_text(st, 9, rec->payload, rec->payload_len)) ||
        (c = bind_blob(st, 10, keep_raw ? rec->raw : NULL, rec->raw_len)))
        return fail(s, c, "binding push_log", err);
    return EB_OK;
}

/* Binds v[0..n) to st's parameters first, first + 1, ... (texts borrowed). A NULL value is
 * left as the parameter is: NULL after sqlite3_clear_bindings() or a fresh statement. */
static eb_rc bind_values(struct sqlite_adapter *s, sqlite3_stmt *st, int first,
                         const struct eb_sql_value *v, size_t n, const char *what,
                         struct eb_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int c = SQLITE_OK;
        int at = first + (int)i;
        if (v[i].type == EB_SQL_VINT)
            c = sqlite3_bind_int64(st, at, v[i].i);
        else if (v[i].type == EB_SQL_VTEXT)
            c = sqlite3_bind_text64(st, at, v[i].s, v[i].len, SQLITE_STATIC, SQLITE_UTF8);
        if (c)
            return fail(s, c, what, err);
    }
    return EB_OK;
}

/* Binds one row of t (v: t->n_columns values, in insert_sql's order) to st. Most columns of a
 * candidate row are NULL: every parameter is cleared to NULL at once, and only values bound. */
static eb_rc bind_row(struct sqlite_adapter *s, sqlite3_stmt *st, const struct eb_sql_table *t,
                      const struct eb_sql_value *v, struct eb_err *err)
{
    sqlite3_clear_bindings(st);
    return bind_values(s, st, 1, v, t->n_columns, t->name, err);
}

/* ---- group commit ---------------------------------------------------------------------- */

static eb_rc open_conn(struct sqlite_adapter *s, const char *url, int all, struct eb_err *err);
static void sq_close(struct eb_adapter *a);
static eb_rc push_one(struct sqlite_adapter *w, struct job *j);
static eb_rc replay_one(struct sqlite_adapter *w, struct job *j);
static void *writer_main(void *arg);
static eb_rc interview_tables(struct sqlite_adapter *s, struct eb_err *err);
static eb_rc interview_prepare(struct sqlite_adapter *s, struct eb_err *err);
static void interview_close(struct sqlite_adapter *s);
static eb_rc warning_table(struct sqlite_adapter *s, struct eb_err *err);
static eb_rc warning_prepare(struct sqlite_adapter *s, struct eb_err *err);
static void warning_close(struct sqlite_adapter *s);
static eb_rc warning_write(struct sqlite_adapter *s, const struct eb_push *p, const char *push_id,
                           struct eb_err *err);
static eb_rc interview_apply(struct sqlite_adapter *w, const struct eb_interview_event *ev,
                             const struct eb_push_record *rec, int64_t at, struct eb_err *err);
static eb_rc mapped_prepare(struct sqlite_adapter *s, struct eb_err *err);
static void mapped_close(struct sqlite_adapter *s);
static eb_rc mapped_run(void *ctx, size_t table, enum eb_mapping_stmt which,
                        const struct eb_sql_value *v, size_t n, int64_t *changed,
                        struct eb_err *err);

static void writer_free(struct sqlite_adapter *w)
{
    if (w) {
        sq_close(&w->base);
        free(w);
    }
}

/* The checkpointer thread: runs a PASSIVE checkpoint whenever the writer's WAL hook asks. */
static void *ckpt_main(void *arg)
{
    struct gate *g = arg;
    pthread_mutex_lock(&g->ckpt_lock);
    for (;;) {
        while ((!g->ckpt_want || g->writer_ckpt) && !g->ckpt_stop)
            pthread_cond_wait(&g->ckpt_cv, &g->ckpt_lock);
        if (g->ckpt_stop)
            break;
        g->ckpt_want = 0;
        g->ckpt_busy = 1;
        pthread_mutex_unlock(&g->ckpt_lock);
        int frames = 0, copied = 0;
        int code = sqlite3_wal_checkpoint_v2(g->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames,
                                             &copied);
        pthread_mutex_lock(&g->ckpt_lock);
        g->ckpt_busy = 0;
        if (code == SQLITE_OK && copied > 0)
            g->ckpt_done = copied;
        pthread_cond_broadcast(&g->ckpt_idle);
    }
    pthread_mutex_unlock(&g->ckpt_lock);
    return NULL;
}

/* The writer's WAL hook, after each commit (it replaces SQLite's automatic checkpoint): wakes
 * the checkpointer once CKPT_SOFT frames wait to be copied. The WAL starts again from its
 * beginning only after a checkpoint that copied every frame, which a checkpoint running beside
 * a busy writer seldom does: past CKPT_RESTART frames, the writer finishes the job itself
 * (writer_checkpoint), in the pause between two of its transactions, once the pushes of the
 * transaction just committed are answered. It waits until the checkpointer has brought what is
 * left down to CKPT_CATCHUP frames, because every push queued meanwhile waits for that
 * checkpoint (its fsyncs included); at CKPT_LIMIT frames it checkpoints anyway, which bounds
 * the WAL. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct gate *g = arg;
    (void)db;
    (void)name;
    pthread_mutex_lock(&g->ckpt_lock);
    if (frames < g->ckpt_done)
        g->ckpt_done = 0; /* the WAL was restarted */
    int left = frames - g->ckpt_done;
    int limit = frames >= CKPT_LIMIT;
    int self = limit || (frames >= CKPT_RESTART && left <= CKPT_CATCHUP && !g->ckpt_busy);
    if (!self && (left >= CKPT_SOFT || frames >= CKPT_RESTART) && !g->ckpt_want) {
        g->ckpt_want = 1;
        pthread_cond_signal(&g->ckpt_cv);
    }
    pthread_mutex_unlock(&g->ckpt_lock);
    if (self)
        g->self_ckpt = limit ? 2 : 1;
    return SQLITE_OK;
}

/* The writer's own checkpoint that wal_hook asked for, between two transactions. At
 * CKPT_LIMIT it first waits for a checkpoint the checkpointer is running to end (two
 * checkpoints never run at once: the second one would give up at once, and on a loaded machine
 * the writer could go on giving up while the WAL grows), and the checkpointer starts no other
 * until the writer's is done. */
static void writer_checkpoint(struct gate *g)
{
    int limit = g->self_ckpt == 2;
    g->self_ckpt = 0;
    if (limit) {
        pthread_mutex_lock(&g->ckpt_lock);
        g->writer_ckpt = 1;
        while (g->ckpt_busy)
            pthread_cond_wait(&g->ckpt_idle, &g->ckpt_lock);
        pthread_mutex_unlock(&g->ckpt_lock);
    }
    int copied = 0;
    int code =
        sqlite3_wal_checkpoint_v2(g->writer->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, &copied);
    pthread_mutex_lock(&g->ckpt_lock);
    if (code == SQLITE_OK && copied > g->ckpt_done)
        g->ckpt_done = copied;
    if (limit) {
        g->writer_ckpt = 0;
        pthread_cond_signal(&g->ckpt_cv);
    }
    pthread_mutex_unlock(&g->ckpt_lock);
}

/* Starts g's checkpointer (its own connection to the writer's file, same synchronous setting)
 * and hands it the writer's checkpoints. Best effort: without it the writer checkpoints as
 * SQLite does by default. */
static void ckpt_start(struct gate *g)
{
    const char *file = sqlite3_db_filename(g->writer->db, "main");
    sqlite3 *db = NULL;
    pthread_mutex_init(&g->ckpt_lock, NULL);
    pthread_cond_init(&g->ckpt_cv, NULL);
    pthread_cond_init(&g->ckpt_idle, NULL);
    if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(db, g->full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                     NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return;
    }
    sigset_t all, old;
    sigfillset(&all); /* signals stay with the threads that wait for them */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    g->ckpt_db = db;
    if (pthread_create(&g->ckpt_thread, NULL, ckpt_main, g) != 0) {
        g->ckpt_db = NULL;
        sqlite3_close(db);
    } else {
        pthread_setname_np(g->ckpt_thread, "eb-sqlite-ckpt"); /* top -H, perf */
        sqlite3_wal_hook(g->writer->db, wal_hook, g);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void ckpt_stop(struct gate *g)
{
    if (g->ckpt_db) {
        sqlite3_wal_hook(g->writer->db, NULL, NULL);
        pthread_mutex_lock(&g->ckpt_lock);
        g->ckpt_stop = 1;
        pthread_cond_signal(&g->ckpt_cv);
        pthread_mutex_unlock(&g->ckpt_lock);
        pthread_join(g->ckpt_thread, NULL);
        sqlite3_close(g->ckpt_db);
        g->ckpt_db = NULL;
    }
    pthread_mutex_destroy(&g->ckpt_lock);
    pthread_cond_destroy(&g->ckpt_cv);
    pthread_cond_destroy(&g->ckpt_idle);
}

/* Joins the gate of the database file and settings, creating it and its writer connection
 * (from url) when this is the first instance (none for in-memory and temporary databases). */
static eb_rc gate_join(struct sqlite_adapter *s, const char *url, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    const char *file = sqlite3_db_filename(s->db, "main");
    struct stat st;
    if (!file || !*file || stat(file, &st) != 0)
        return EB_OK;
    pthread_once(&gmetrics_once, gmetrics_register);
    pthread_mutex_lock(&gates_lock);
    struct gate *g = gates;
    while (g && !(g->dev == st.st_dev && g->ino == st.st_ino && g->full == s->full &&
                  g->busy_ms == s->busy_ms && g->writer->base.mapping == s->base.mapping))
        g = g->next;
    if (!g) {
        struct sqlite_adapter *w = calloc(1, sizeof *w);
        if (!w || !(g = calloc(1, sizeof *g))) {
            free(w);
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
            goto out;
        }
        w->base.m = s->base.m;
        w->base.mapping = s->base.mapping;
        /* the writer's statement journals, and the savepoints of a batch written again after a
         * failure, stay in memory (it runs no query that sorts much: other connections keep
         * SQLite's default, so that a replay's sort of the push log may spill to disk) */
        if ((rc = open_conn(w, url, 1, err)) ||
            (rc = exec(w, "PRAGMA temp_store = MEMORY", "setting temp_store", err))) {
            writer_free(w);
            free(g);
            g = NULL;
            goto out;
        }
        g->dev = st.st_dev;
        g->ino = st.st_ino;
        g->full = s->full;
        g->busy_ms = s->busy_ms;
        g->writer = w;
        pthread_mutex_init(&g->lock, NULL);
        pthread_cond_init(&g->work_cv, NULL);
        sigset_t all, old;
        sigfillset(&all); /* signals stay with the threads that wait for them */
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int e = pthread_create(&g->thread, NULL, writer_main, g);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!e) {
            pthread_setname_np(g->thread, "eb-sqlite-write");
        } else {
            pthread_cond_destroy(&g->work_cv);
            pthread_mutex_destroy(&g->lock);
            writer_free(w);
            free(g);
            g = NULL;
            rc = eb_err_set(err, EB_ERR_INTERNAL, "sqlite: cannot start the writer thread: %s",
                            strerror(e));
            goto out;
        }
        ckpt_start(g);
        g->next = gates;
        gates = g;
    }
    g->refs++;
    s->gate = g;
out:
    pthread_mutex_unlock(&gates_lock);
    return rc;
}

static void gate_leave(struct sqlite_adapter *s)
{
    struct gate *g = s->gate;
    if (!g)
        return;
    s->gate = NULL;
    pthread_mutex_lock(&gates_lock);
    if (--g->refs == 0) {
        struct gate **pp = &gates;
        while (*pp != g)
            pp = &(*pp)->next;
        *pp = g->next;
        pthread_mutex_lock(&g->lock);
        g->stop = 1;
        pthread_cond_signal(&g->work_cv);
        pthread_mutex_unlock(&g->lock);
        pthread_join(g->thread, NULL);
        if (g->batches) {
            char jobs[24], batches[24], avg[24], us[24];
            snprintf(jobs, sizeof jobs, "%llu", (unsigned long long)g->jobs);
            snprintf(batches, sizeof batches, "%llu", (unsigned long long)g->batches);
            snprintf(avg, sizeof avg, "%.2f", (double)g->jobs / (double)g->batches);
            snprintf(us, sizeof us, "%.1f", (double)g->busy_ns / 1e3 / (double)g->jobs);
            eb_log(EB_LOG_INFO, "sqlite: group commit", "pushes", jobs, "transactions", batches,
                   "pushes_per_transaction", avg, "writer_us_per_push", us, NULL);
        }
        ckpt_stop(g);
        writer_free(g->writer);
        pthread_cond_destroy(&g->work_cv);
        pthread_mutex_destroy(&g->lock);
        free(g);
    }
    pthread_mutex_unlock(&gates_lock);
}

/* Steps one of the savepoint statements; on failure the batch's transaction is abandoned. */
static int step_ok(sqlite3_stmt *st)
{
    int code = sqlite3_step(st);
    sqlite3_reset(st);
    return code == SQLITE_DONE;
}

/* Writes jobs[0..n) with w in one transaction and sets every job's rc. The first attempt writes
 * them one after the other with no savepoint: a savepoint per push would copy every page that
 * an earlier push of the batch had already changed (index leaves, the push log's last page) into
 * the sub-journal, about a tenth of a push's CPU. When a job fails, the transaction is rolled
 * back and the others are written again, each in its own savepoint, so that a job that fails
 * is rolled back alone; when a failure took the whole transaction with it (SQLite rolls back by
 * itself on some errors: disk full, I/O), the others are written again without it. */
static void run_batch(struct sqlite_adapter *w, struct job **jobs, size_t n)
{
    struct eb_err berr;
    int savepoints = 0; /* 1 once a job of the batch has failed */
    for (size_t i = 0; i < n; i++)
        jobs[i]->rc = EB_OK;
    for (;;) {
        int lost = 0;
        eb_rc rc = run(w, w->begin, "BEGIN IMMEDIATE", &berr);
        for (size_t i = 0; !rc && !lost && i < n; i++) {
            struct job *j = jobs[i];
            if (j->rc)
                continue; /* failed in an earlier attempt */
            if (savepoints && !step_ok(w->savepoint)) {
                rc = fail(w, sqlite3_errcode(w->db), "SAVEPOINT", &berr);
                break;
            }
            if (!(j->rc = push_one(w, j))) {
                if (savepoints && !step_ok(w->release)) {
                    rc = fail(w, sqlite3_errcode(w->db), "RELEASE", &berr);
                    break;
                }
                continue;
            }
            if (!savepoints || sqlite3_get_autocommit(w->db) || !step_ok(w->undo) ||
                !step_ok(w->release))
                lost = 1; /* the transaction is gone: write the others again */
        }
        size_t pending = 0;
        for (size_t i = 0; i < n; i++)
            pending += !jobs[i]->rc;
        if (!rc && !lost)
            rc = run(w, w->commit, "COMMIT", &berr);
        if (rc || lost)
            abandon(w);
        if (lost && pending) {
            savepoints = pending > 1;
            eb_metric_inc(gmetrics.rewrites);
            continue;
        }
        for (size_t i = 0; rc && i < n; i++) {
            if (!jobs[i]->rc) {
                jobs[i]->rc = rc;
                if (jobs[i]->err)
                    *jobs[i]->err = berr;
            }
        }
        return;
    }
}

static void deadline_after(struct timespec *until, int ms)
{
    clock_gettime(CLOCK_REALTIME, until);
    until->tv_sec += ms / 1000;
    until->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
}

/* Completes the jobs of a written batch: a waiting caller is woken, a submitted job's done is
 * called (outside the gate's lock: done may submit again). */
static void complete(struct gate *g, struct job **jobs, size_t n)
{
    size_t n_async = 0;
    if (g)
        pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i]->async) {
            jobs[n_async++] = jobs[i]; /* a waiting caller's job is not touched once done */
        } else if (g) {
            jobs[i]->done = 1;
            pthread_cond_signal(&jobs[i]->cv);
        }
    }
    if (g)
        pthread_mutex_unlock(&g->lock);
    for (size_t i = 0; i < n_async; i++) {
        struct job *j = jobs[i];
        struct eb_push_job *a = j->async;
        a->rc = j->rc;
        free(j);
        a->done(a);
    }
}

/* The gate's writer thread: writes whatever is queued, a batch at a time. A submitted job that
 * waited longer than the busy timeout (the writer was held up: another process's lock, a stalled
 * disk) fails as unavailable without being written, as a waiting caller's would. */
static void *writer_main(void *arg)
{
    struct gate *g = arg;
    struct job *batch[MAX_BATCH], *late[MAX_BATCH];
    pthread_mutex_lock(&g->lock);
    for (;;) {
        while (!g->head && !g->stop)
            pthread_cond_wait(&g->work_cv, &g->lock);
        if (!g->head)
            break; /* stopping, and nothing is left */
        size_t n = 0, n_late = 0;
        int64_t now = eb_mono_ms();
        while (g->head && n < MAX_BATCH && n_late < MAX_BATCH) {
            struct job *k = g->head;
            g->head = k->next;
            if (k->async && now - k->queued_ms > g->busy_ms) {
                k->rc = eb_err_set(k->err, EB_ERR_UNAVAILABLE,
                                   "sqlite: the database was held for more than %d ms", g->busy_ms);
                late[n_late++] = k;
                continue;
            }
            k->taken = 1;
            batch[n++] = k;
        }
        if (!g->head)
            g->tail = NULL;
        pthread_mutex_unlock(&g->lock);
        complete(g, late, n_late);
        if (n) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            run_batch(g->writer, batch, n);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            int64_t ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
            g->busy_ns += (uint64_t)ns;
            g->batches++;
            g->jobs += n;
            eb_metric_inc(gmetrics.transactions);
            eb_metric_observe(gmetrics.pushes, (double)n);
            eb_metric_observe(gmetrics.seconds, (double)ns / 1e9);
            complete(g, batch, n);
        }
        if (g->self_ckpt)
            writer_checkpoint(g);
        pthread_mutex_lock(&g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

/* Queues j on s's gate. A waiting caller (j->async NULL) returns once j is written, or fails it
 * as unavailable when the writer did not take it within the busy timeout (a writer stuck in a
 * transaction, a stalled disk, makes callers fail instead of hanging); a submitted job returns
 * at once. Without a gate (in-memory database) the job is written alone with s, now. */
static eb_rc submit(struct sqlite_adapter *s, struct job *j)
{
    struct gate *g = s->gate;
    if (!g) {
        run_batch(s, &j, 1);
        eb_rc rc = j->rc;
        complete(NULL, &j, 1);
        return rc;
    }
    j->next = NULL;
    j->queued_ms = eb_mono_ms();
    if (!j->async)
        pthread_cond_init(&j->cv, NULL);
    pthread_mutex_lock(&g->lock);
    if (g->tail)
        g->tail->next = j;
    else
        g->head = j;
    g->tail = j;
    pthread_cond_signal(&g->work_cv);
    if (j->async) {
        pthread_mutex_unlock(&g->lock);
        return EB_OK;
    }
    struct timespec until;
    deadline_after(&until, s->busy_ms);
    while (!j->done) {
        int e = j->taken ? pthread_cond_wait(&j->cv, &g->lock)
                         : pthread_cond_timedwait(&j->cv, &g->lock, &until);
        if (e == ETIMEDOUT && !j->done && !j->taken) {
            struct job **pp = &g->head, *prev = NULL;
            while (*pp != j) {
                prev = *pp;
                pp = &(*pp)->next;
            }
            *pp = j->next;
            if (g->tail == j)
                g->tail = prev;
            j->rc = eb_err_set(j->err, EB_ERR_UNAVAILABLE,
                               "sqlite: another writer of this process held the database for "
                               "%d ms",
                               s->busy_ms);
            j->done = 1;
        }
    }
    pthread_mutex_unlock(&g->lock);
    pthread_cond_destroy(&j->cv);
    return j->rc;
}

/* ---- opening ----------------------------------------------------------------------------- */

/* What a sqlite URL says. */
struct sqlite_url {
    char *path;  /* the file name, malloc'd */
    int full;    /* 1: synchronous=FULL (default), 0: NORMAL */
    int busy_ms; /* busy timeout in milliseconds */
};

/* Applies one URL option "name=value" (len bytes at opt); 0 when it is not understood. */
static int parse_option(const char *opt, size_t len, struct sqlite_url *u)
{
    char val[16];
    const char *eq = memchr(opt, '=', len);
    if (!eq)
        return 0;
    size_t nlen = (size_t)(eq - opt), vlen = len - nlen - 1;
    if (vlen == 0 || vlen >= sizeof val)
        return 0;
    memcpy(val, eq + 1, vlen);
    val[vlen] = '\0';
    if (nlen == 11 && strncasecmp(opt, "synchronous", 11) == 0) {
        if (strcasecmp(val, "full") == 0)
            u->full = 1;
        else if (strcasecmp(val, "normal") == 0)
            u->full = 0;
        else
            return 0;
        return 1;
    }
    if (nlen == 12 && strncasecmp(opt, "busy_timeout", 12) == 0) {
        char *end;
        long ms = strtol(val, &end, 10);
        if (*end || ms < 0 || ms > 600000)
            return 0;
        u->busy_ms = (int)ms;
        return 1;
    }
    return 0;
}

/* Parses "sqlite:PATH[?opt&opt...]" (also "sqlite://PATH"); options: synchronous=full|normal,
 * busy_timeout=MS. The path is taken literally (no %-decoding). */
static eb_rc parse_url(const char *url, struct sqlite_url *u, struct eb_err *err)
{
    u->path = NULL;
    u->full = 1;
    u->busy_ms = BUSY_TIMEOUT_MS;
    if (strncasecmp(url, "sqlite:", 7) != 0)
        return eb_err_set(err, EB_ERR_CONFIG, "not a sqlite URL (sqlite:PATH)");
    const char *p = url + 7;
    if (p[0] == '/' && p[1] == '/')
        p += 2;
    const char *q = strchr(p, '?');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n == 0)
        return eb_err_set(err, EB_ERR_CONFIG, "the sqlite URL names no file (sqlite:PATH)");
    while (q && *q) {
        const char *opt = q + 1;
        q = strchr(opt, '&');
        size_t len = q ? (size_t)(q - opt) : strlen(opt);
        if (len && !parse_option(opt, len, u))
            return eb_err_set(err, EB_ERR_CONFIG,
                              "bad sqlite URL option '%.*s' (known: synchronous=full|normal, "
                              "busy_timeout=0..600000)",
                              (int)(len > 64 ? 64 : len), opt);
    }
    u->path = malloc(n + 1);
    if (!u->path)
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    memcpy(u->path, p, n);
    u->path[n] = '\0';
    return EB_OK;
}

/* Reads the schema version into *version (0 when the table has no row). */
static eb_rc read_version(struct sqlite_adapter *s, sqlite3_stmt *st, int64_t *version,
                          struct eb_err *err)
{
    int code = sqlite3_step(st);
    eb_rc rc = EB_OK;
    if (code == SQLITE_ROW)
        *version = sqlite3_column_int64(st, 0);
    else
        rc = fail(s, code, "reading schema_version", err);
    sqlite3_reset(st);
    return rc;
}

/* 1 when table schema_version exists. */
static eb_rc has_schema(struct sqlite_adapter *s, int *yes, struct eb_err *err)
{
    sqlite3_stmt *st = NULL;
    eb_rc rc = prepare(s,
                       "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                       "name = 'schema_version'",
                       &st, "looking for the schema", err);
    if (rc)
        return rc;
    int code = sqlite3_step(st);
    if (code == SQLITE_ROW)
        *yes = sqlite3_column_int(st, 0) > 0;
    else
        rc = fail(s, code, "looking for the schema", err);
    sqlite3_finalize(st);
    return rc;
}

/* Brings an older schema up to date (sqlgen's migration statements) in one transaction under
 * the write lock, unless another instance did it first; *version is then the new version. */
static eb_rc migrate(struct sqlite_adapter *s, int64_t *version, struct eb_err *err)
{
    eb_rc rc = exec(s, "BEGIN IMMEDIATE", "starting the schema migration", err);
    int64_t from = *version;
    size_t n = 0;
    if (rc || (rc = read_version(s, s->version, &from, err)))
        goto out;
    char *const *sql = from >= 1 ? eb_sqlgen_migrations(s->schema, from, &n) : NULL;
    for (size_t i = 0; !rc && i < n; i++)
        rc = exec(s, sql[i], "migrating the schema", err);
    char up[96];
    snprintf(up, sizeof up, "UPDATE \"schema_version\" SET \"version\" = %d",
             EB_SQL_SCHEMA_VERSION);
    if (!rc && from < EB_SQL_SCHEMA_VERSION)
        rc = exec(s, up, "migrating the schema", err);
    if (!rc && !(rc = exec(s, "COMMIT", "committing the schema migration", err))) {
        if (from < EB_SQL_SCHEMA_VERSION) {
            char f[24];
            snprintf(f, sizeof f, "%lld", (long long)from);
            eb_log(EB_LOG_INFO, "sqlite: migrated the default schema", "from_version", f, NULL);
            *version = EB_SQL_SCHEMA_VERSION;
        } else {
            *version = from;
        }
    }
out:
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Creates the schema in one transaction unless it is there; checks its version. */
static eb_rc ensure_schema(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    int exists = 0, in_tx = 0;
    if ((rc = has_schema(s, &exists, err)))
        goto out;
    if (!exists) {
        /* Another instance may be creating it right now: decide under the write lock. */
        if ((rc = exec(s, "BEGIN IMMEDIATE", "starting schema creation", err)))
            goto out;
        in_tx = 1;
        if ((rc = has_schema(s, &exists, err)))
            goto out;
    }
    if (!exists) {
        const struct eb_sql_schema *sc = s->schema;
        for (size_t i = 0; i < sc->n_ddl; i++)
            if ((rc = exec(s, sc->ddl[i], "creating the schema", err)))
                goto out;
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT INTO \"schema_version\" (\"version\") VALUES (%d)",
                 EB_SQL_SCHEMA_VERSION);
        if ((rc = exec(s, sql, "creating the schema", err)))
            goto out;
    }
    if (in_tx) {
        if ((rc = exec(s, "COMMIT", "committing the schema", err)))
            goto out;
        in_tx = 0;
        if (!exists)
            eb_log(EB_LOG_INFO, "sqlite: created the default schema", NULL);
    }
    if ((rc = prepare(s, "SELECT coalesce(max(\"version\"), 0) FROM \"schema_version\"",
                      &s->version, "preparing", err)))
        goto out;
    int64_t version = 0;
    if ((rc = read_version(s, s->version, &version, err)) ||
        (version >= 1 && version < EB_SQL_SCHEMA_VERSION && (rc = migrate(s, &version, err))) ||
        (rc = eb_sqlgen_check_version(version, err)))
        goto out;
out:
    if (in_tx)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static eb_rc prepare_all(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    const struct eb_sql_schema *sc = s->schema;
    const struct eb_sql_table *log = &sc->tables[sc->push_log];
    char *failure_sql = NULL;
    struct eb_buf add_sql;
    eb_buf_init(&add_sql, (size_t)1 << 20);

    size_t widest = 0;
    for (size_t i = 0; i < sc->n_tables; i++)
        if (sc->tables[i].role == EB_SQL_ROLE_CHILD && sc->tables[i].n_columns > widest)
            widest = sc->tables[i].n_columns;
    s->insert = calloc(sc->n_tables, sizeof *s->insert);
    s->insert_many = calloc(sc->n_tables, sizeof *s->insert_many);
    s->remove = calloc(sc->n_tables, sizeof *s->remove);
    s->pend = calloc(MANY_ROWS * (widest ? widest : 1), sizeof *s->pend);
    if (!s->insert || !s->insert_many || !s->remove || !s->pend) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        goto out;
    }
    failure_sql = eb_sqlgen_upsert_where(sc, log, "\"push_log\".\"outcome\" = 'failed'", err);
    if (!failure_sql) {
        rc = err ? err->rc : EB_ERR_NOMEM;
        goto out;
    }
    if (eb_buf_puts(&add_sql, sc->tables[sc->candidate].insert_sql) ||
        eb_buf_puts(&add_sql, " ON CONFLICT (\"application_id\") DO NOTHING") ||
        !eb_buf_cstr(&add_sql)) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = prepare(s, "BEGIN IMMEDIATE", &s->begin, "preparing", err)) ||
        (rc = prepare(s, "COMMIT", &s->commit, "preparing", err)) ||
        (rc = prepare(s, "ROLLBACK", &s->rollback, "preparing", err)) ||
        (rc = prepare(s, "SAVEPOINT push", &s->savepoint, "preparing", err)) ||
        (rc = prepare(s, "RELEASE push", &s->release, "preparing", err)) ||
        (rc = prepare(s, "ROLLBACK TO push", &s->undo, "preparing", err)) ||
        (rc = prepare(s, "SELECT \"outcome\", \"message\" FROM \"push_log\" WHERE \"push_id\" = ?",
                      &s->find_log, "preparing", err)) ||
        (rc = prepare(s, log->upsert_sql, &s->put_log, "preparing push_log", err)) ||
        (rc = prepare(s, failure_sql, &s->put_failure, "preparing push_log", err)) ||
        (rc = prepare(s, eb_buf_cstr(&add_sql), &s->add_candidate, "preparing candidate", err)) ||
        (rc = interview_prepare(s, err)) || (rc = warning_prepare(s, err)))
        goto out;
    for (size_t i = sc->candidate; i < sc->n_tables; i++) {
        const struct eb_sql_table *t = &sc->tables[i];
        const char *sql = t->role == EB_SQL_ROLE_CANDIDATE ? t->upsert_sql : t->insert_sql;
        if ((rc = prepare(s, sql, &s->insert[i], t->name, err)))
            goto out;
        if (t->role == EB_SQL_ROLE_CHILD &&
            (rc = prepare(s, t->delete_sql, &s->remove[i], t->name, err)))
            goto out;
        if (t->role == EB_SQL_ROLE_CHILD) {
            char *many = eb_sqlgen_insert_rows(sc, t, MANY_ROWS, err);
            if (!many) {
                rc = err ? err->rc : EB_ERR_NOMEM;
                goto out;
            }
            rc = prepare(s, many, &s->insert_many[i], t->name, err);
            free(many);
            if (rc)
                goto out;
        }
    }
    if (s->base.mapping)
        rc = mapped_prepare(s, err);
out:
    free(failure_sql);
    eb_buf_free(&add_sql);
    return rc;
}

static void sq_close(struct eb_adapter *a)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    if (s->insert || s->insert_many || s->remove) {
        for (size_t i = 0; s->schema && i < s->schema->n_tables; i++) {
            if (s->insert)
                sqlite3_finalize(s->insert[i]);
            if (s->insert_many)
                sqlite3_finalize(s->insert_many[i]);
            if (s->remove)
                sqlite3_finalize(s->remove[i]);
        }
    }
    free(s->insert);
    free(s->insert_many);
    free(s->remove);
    free(s->pend);
    s->insert = s->insert_many = s->remove = NULL;
    s->pend = NULL;
    interview_close(s);
    warning_close(s);
    mapped_close(s);
    sqlite3_stmt **one[] = {&s->begin,       &s->commit,        &s->rollback, &s->savepoint,
                            &s->release,     &s->undo,          &s->find_log, &s->put_log,
                            &s->put_failure, &s->add_candidate, &s->version,  &s->current};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        sqlite3_finalize(*one[i]);
        *one[i] = NULL;
    }
    if (s->db) {
        if (sqlite3_close(s->db) != SQLITE_OK)
            eb_log(EB_LOG_WARN, "sqlite: closing the connection failed", "detail",
                   sqlite3_errmsg(s->db), NULL);
        s->db = NULL;
    }
    gate_leave(s);
    eb_sqlgen_free(s->schema);
    s->schema = NULL;
}

/* SQLite's process-wide settings, made before its first use: no memory statistics (every
 * malloc and free inside SQLite would otherwise take a global mutex; ehrbridge never reads
 * them). Too late once anything in the process has used SQLite: then nothing changes. */
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_setup(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Opens s's connection from url and creates or checks the schema; all: also prepares every
 * statement of a writer. */
static eb_rc open_conn(struct sqlite_adapter *s, const char *url, int all, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct sqlite_url u = {NULL, 1, BUSY_TIMEOUT_MS};

    if ((rc = parse_url(url, &u, err)))
        goto out;
    if (!sqlite3_threadsafe()) {
        rc = eb_err_set(err, EB_ERR_CONFIG, "sqlite: the SQLite library is built without threads");
        goto out;
    }
    pthread_once(&lib_once, lib_setup);
    int code = sqlite3_open_v2(
        u.path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (code != SQLITE_OK) {
        rc = fail(s, code, "opening the database", err);
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    s->busy_ms = u.busy_ms;
    s->full = u.full;
    sqlite3_busy_timeout(s->db, u.busy_ms);
    sqlite3_stmt *st = NULL;
    if ((rc = prepare(s, "PRAGMA journal_mode = WAL", &st, "setting WAL mode", err)))
        goto out;
    code = sqlite3_step(st);
    if (code != SQLITE_ROW) {
        rc = fail(s, code, "setting WAL mode", err);
        sqlite3_finalize(st);
        goto out;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || (strcasecmp(mode, "wal") != 0 && strcasecmp(mode, "memory") != 0))
        eb_log(EB_LOG_WARN, "sqlite: the database cannot use WAL mode; writers will wait longer",
               "journal_mode", mode, NULL);
    sqlite3_finalize(st);
    if ((rc = exec(s, u.full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                   "setting synchronous", err)))
        goto out;
    if ((rc = eb_sqlgen_build(&eb_sql_dialect_sqlite, &s->schema, err)) ||
        (rc = ensure_schema(s, err)) || (rc = interview_tables(s, err)) ||
        (rc = warning_table(s, err)) || (all && (rc = prepare_all(s, err))))
        goto out;
out:
    free(u.path);
    return rc;
}

/* An instance writes through its file's gate (group commit); only an instance without one
 * (in-memory database) prepares the statements to write by itself. */
static eb_rc sq_open(struct eb_adapter *a, const char *url, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = open_conn(s, url, 0, err);
    if (!rc)
        rc = gate_join(s, url, err);
    if (!rc && !s->gate)
        rc = prepare_all(s, err);
    return rc;
}

/* ---- pushes ------------------------------------------------------------------------------ */

static enum eb_outcome outcome_from(const unsigned char *text)
{
    if (text && strcmp((const char *)text, "stored") == 0)
        return EB_OUTCOME_STORED;
    if (text && strcmp((const char *)text, "rejected") == 0)
        return EB_OUTCOME_REJECTED;
    return EB_OUTCOME_FAILED;
}

/* Looks push_id up: *found = 1 and out filled when it is recorded with a final outcome. */
static eb_rc find_final(struct sqlite_adapter *s, const char *push_id, struct eb_stored *out,
                        int *found, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    sqlite3_stmt *st = s->find_log;
    int code = bind_str(st, 1, push_id);
    if (code)
        return fail(s, code, "binding push_log", err);
    *found = 0;
    code = sqlite3_step(st);
    if (code == SQLITE_ROW) {
        enum eb_outcome o = outcome_from(sqlite3_column_text(st, 0));
        if (o != EB_OUTCOME_FAILED) {
            const unsigned char *m = sqlite3_column_text(st, 1);
            out->outcome = o;
            out->duplicate = 1;
            snprintf(out->message, sizeof out->message, "%s", m ? (const char *)m : "");
            *found = 1;
        }
    } else if (code != SQLITE_DONE) {
        rc = fail(s, code, "reading push_log", err);
    }
    sqlite3_reset(st);
    return rc;
}

/* Deletes the rows of application_id app from every child table. */
static eb_rc clear_children(struct sqlite_adapter *s, int64_t app, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    size_t n;
    const struct eb_sql_table *children = eb_sqlgen_child_tables(s->schema, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        sqlite3_stmt *st = s->remove[children[i].index];
        int code = sqlite3_bind_int64(st, 1, app);
        rc = code ? fail(s, code, children[i].name, err) : run(s, st, children[i].name, err);
    }
    return rc;
}

/* What the walk of replace_candidate knows about the candidate being written. */
struct replace {
    struct sqlite_adapter *s;          /* the writer */
    int64_t app;                       /* the candidate's application_id */
    int fresh;                         /* 1: its candidate row is new, no child rows were deleted */
    int orphans;                       /* 1: a child row of a new candidate row was already there */
    const struct eb_sql_table *pend_t; /* the child table of the rows waiting in s->pend */
    size_t pend_n;                     /* rows waiting, fewer than MANY_ROWS */
};

/* Runs st, its parameters bound, for rows of t. A child row's primary key already taken under
 * a new candidate row means orphans: child rows left by a deleted candidate row. */
static eb_rc step_rows(struct replace *r, sqlite3_stmt *st, const struct eb_sql_table *t,
                       struct eb_err *err)
{
    int code = sqlite3_step(st);
    sqlite3_reset(st);
    if (code == SQLITE_DONE)
        return EB_OK;
    if (r->fresh && code == SQLITE_CONSTRAINT_PRIMARYKEY)
        r->orphans = 1;
    return fail(r->s, code, t->name, err);
}

/* Writes the child rows waiting in s->pend: MANY_ROWS of them with one statement, fewer (the
 * last of a table) one by one. */
static eb_rc flush_rows(struct replace *r, struct eb_err *err)
{
    struct sqlite_adapter *s = r->s;
    const struct eb_sql_table *t = r->pend_t;
    size_t n = r->pend_n;
    eb_rc rc = EB_OK;
    r->pend_n = 0;
    if (n == MANY_ROWS) {
        sqlite3_stmt *st = s->insert_many[t->index];
        sqlite3_clear_bindings(st);
        rc = bind_values(s, st, 1, s->pend, n * t->n_columns, t->name, err);
        return rc ? rc : step_rows(r, st, t, err);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        sqlite3_stmt *st = s->insert[t->index];
        if (!(rc = bind_row(s, st, t, s->pend + i * t->n_columns, err)))
            rc = step_rows(r, st, t, err);
    }
    return rc;
}

/* eb_sqlgen_row_fn: writes one row. The candidate row comes first: inserted when new (the
 * usual push: it has no old child rows, nothing is deleted), otherwise the old child rows are
 * deleted and the row is updated. A child row waits in s->pend until MANY_ROWS rows of its
 * table are there, another table's row comes or the walk ends (write_rows). The values are
 * copied; the texts they borrow belong to the candidate, which outlives the walk. */
static eb_rc insert_row(void *ctx, const struct eb_sql_table *t, const struct eb_sql_value *v,
                        struct eb_err *err)
{
    struct replace *r = ctx;
    struct sqlite_adapter *s = r->s;
    eb_rc rc = EB_OK;
    if (t->role == EB_SQL_ROLE_CANDIDATE) {
        if ((rc = bind_row(s, s->add_candidate, t, v, err)) ||
            (rc = run(s, s->add_candidate, t->name, err)))
            return rc;
        if ((r->fresh = sqlite3_changes(s->db) > 0))
            return EB_OK;
        if ((rc = clear_children(s, r->app, err)))
            return rc;
        sqlite3_stmt *st = s->insert[t->index];
        return (rc = bind_row(s, st, t, v, err)) ? rc : step_rows(r, st, t, err);
    }
    if (r->pend_n && r->pend_t != t && (rc = flush_rows(r, err)))
        return rc;
    r->pend_t = t;
    memcpy(s->pend + r->pend_n * t->n_columns, v, t->n_columns * sizeof *v);
    return ++r->pend_n == MANY_ROWS ? flush_rows(r, err) : EB_OK;
}

/* The walk of p's rows with insert_row (from no row waiting), then the rows still waiting. */
static eb_rc write_rows(struct replace *r, const struct eb_push *p,
                        const struct eb_push_record *rec, int64_t updated_at, struct eb_err *err)
{
    r->pend_n = 0;
    eb_rc rc = eb_sqlgen_walk(r->s->schema, p->data, rec->push_id, updated_at, insert_row, r, err);
    return !rc && r->pend_n ? flush_rows(r, err) : rc;
}

/* Inside the batch's transaction: replaces every row of p's applicationId with p's (or writes
 * the mapped tables). A new candidate, the usual push, costs its INSERTs only: no DELETE runs. */
static eb_rc replace_candidate(struct sqlite_adapter *s, const struct eb_push *p,
                               const struct eb_push_record *rec, int64_t updated_at,
                               struct eb_err *err)
{
    if (s->base.mapping)
        return eb_mapping_write(s->base.mapping, p->data, rec->push_id, updated_at, mapped_run, s,
                                err);
    struct replace r = {.s = s, .app = p->data->application_id.v};
    eb_rc rc = write_rows(&r, p, rec, updated_at, err);
    if (rc && r.orphans) {
        /* child rows whose candidate row is gone (deleted by hand): the failed INSERT wrote
         * nothing; clear them with the rows written so far and write the candidate again */
        r.orphans = 0;
        if (!(rc = clear_children(s, r.app, err)))
            rc = write_rows(&r, p, rec, updated_at, err);
    }
    return rc;
}

/* ---- a mapping (--mapping, mapping/mapping.h) ------------------------------------------- */

/* Builds the mapped tables' statements: each table is probed first (a missing table or column
 * stops the start), then its update, insert and remove are prepared. */
static eb_rc mapped_prepare(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = eb_mapping_sql_build(s->base.mapping, &eb_sql_dialect_sqlite, &s->map_sql, err);
    if (rc)
        return rc;
    size_t n = s->map_sql->n_tables;
    if (!(s->map_st = calloc(n * 3, sizeof *s->map_st)))
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        const struct eb_mapping_table_sql *t = &s->map_sql->tables[i];
        char what[200];
        snprintf(what, sizeof what, "mapping: table %.100s",
                 eb_mapping_table_name(s->base.mapping, i));
        const char *text[3] = {t->update_sql, t->insert_sql, t->remove_sql};
        if ((rc = exec(s, t->probe_sql, what, err)))
            break;
        for (size_t k = 0; !rc && k < 3; k++)
            if (text[k])
                rc = prepare(s, text[k], &s->map_st[i * 3 + k], what, err);
    }
    return rc;
}

static void mapped_close(struct sqlite_adapter *s)
{
    for (size_t i = 0; s->map_st && s->map_sql && i < s->map_sql->n_tables * 3; i++)
        sqlite3_finalize(s->map_st[i]);
    free(s->map_st);
    s->map_st = NULL;
    eb_mapping_sql_free(s->map_sql);
    s->map_sql = NULL;
}

/* eb_mapping_run_fn: runs one mapped statement with the prepared statement of its table. */
static eb_rc mapped_run(void *ctx, size_t table, enum eb_mapping_stmt which,
                        const struct eb_sql_value *v, size_t n, int64_t *changed,
                        struct eb_err *err)
{
    struct sqlite_adapter *s = ctx;
    sqlite3_stmt *st = s->map_st[table * 3 + (size_t)which];
    const char *what = eb_mapping_table_name(s->base.mapping, table);
    for (size_t i = 0; i < n; i++) {
        int c = v[i].type == EB_SQL_VINT    ? sqlite3_bind_int64(st, (int)i + 1, v[i].i)
                : v[i].type == EB_SQL_VTEXT ? bind_text(st, (int)i + 1, v[i].s, v[i].len)
                                            : sqlite3_bind_null(st, (int)i + 1);
        if (c)
            return fail(s, c, what, err);
    }
    eb_rc rc = run(s, st, what, err);
    if (!rc && changed)
        *changed = sqlite3_changes(s->db);
    return rc;
}

/* ---- replay (`ehrbridge replay`) --------------------------------------------------------- */

/* Inside the batch's transaction: re-stores a logged push as adapter.h's replay_push says. */
static eb_rc replay_one(struct sqlite_adapter *w, struct job *j)
{
    eb_rc rc = EB_OK;
    const struct eb_push_record *rec = j->rec;
    struct eb_stored *out = j->out;
    int found = 0;
    if ((rc = find_final(w, rec->push_id, out, &found, j->err)))
        return rc;
    out->duplicate = 0;
    if (!j->p) {
        if (found && out->outcome == EB_OUTCOME_STORED)
            return EB_OK; /* replay never removes stored data */
        if ((rc = bind_log(w, w->put_log, rec, EB_OUTCOME_REJECTED, j->received_at, j->err)) ||
            (rc = run(w, w->put_log, "push_log", j->err)))
            return rc;
        out->outcome = EB_OUTCOME_REJECTED;
        snprintf(out->message, sizeof out->message, "%s", rec->message ? rec->message : "");
        return EB_OK;
    }
    if (!w->current &&
        (rc = prepare(w,
                      w->base.mapping /* the mapped rows hold the last push stored */
                          ? "SELECT received_at, push_id FROM push_log WHERE application_id = ?"
                            " AND outcome = 'stored' ORDER BY received_at DESC LIMIT 1"
                          : "SELECT l.received_at, c.last_push_id FROM candidate c JOIN push_log l"
                            " ON l.push_id = c.last_push_id WHERE c.application_id = ?",
                      &w->current, "reading the candidate's last push", j->err)))
        return rc;
    int code = sqlite3_bind_int64(w->current, 1, j->p->data->application_id.v);
    if (code)
        return fail(w, code, "reading the candidate's last push", j->err);
    code = sqlite3_step(w->current);
    int superseded = code == SQLITE_ROW && sqlite3_column_int64(w->current, 0) > j->received_at &&
                     strcmp((const char *)sqlite3_column_text(w->current, 1), rec->push_id) != 0;
    sqlite3_reset(w->current);
    if (code != SQLITE_ROW && code != SQLITE_DONE)
        return fail(w, code, "reading the candidate's last push", j->err);
    if (superseded) {
        out->duplicate = 1;
        if (!found)
            out->outcome = EB_OUTCOME_FAILED;
        return EB_OK;
    }
    if ((rc = replace_candidate(w, j->p, rec, j->received_at, j->err)) ||
        (rc = warning_write(w, j->p, rec->push_id, j->err)) ||
        (rc = bind_log(w, w->put_log, rec, EB_OUTCOME_STORED, j->received_at, j->err)) ||
        (rc = run(w, w->put_log, "push_log", j->err)))
        return rc;
    out->outcome = EB_OUTCOME_STORED;
    out->message[0] = '\0';
    return EB_OK;
}

/* Writes one job inside the batch's transaction (j->out NULL: a "failed" record). */
static eb_rc push_one(struct sqlite_adapter *w, struct job *j)
{
    eb_rc rc = EB_OK;
    const struct eb_push_record *rec = j->rec;
    if (!j->out) {
        /* a failure record: overwrites nothing but an earlier failure */
        if ((rc = bind_log(w, w->put_failure, rec, EB_OUTCOME_FAILED, j->received_at, j->err)))
            return rc;
        return run(w, w->put_failure, "push_log failure", j->err);
    }
    if (j->replay)
        return replay_one(w, j);
    struct eb_stored *out = j->out;
    enum eb_outcome outcome = j->p || j->ev ? EB_OUTCOME_STORED : rec->outcome;
    int found = 0;
    if ((rc = find_final(w, rec->push_id, out, &found, j->err)) || found)
        return rc; /* a duplicate writes nothing */
    if (j->p && ((rc = replace_candidate(w, j->p, rec, j->received_at, j->err)) ||
                 (rc = warning_write(w, j->p, rec->push_id, j->err))))
        return rc;
    if (j->ev && (rc = interview_apply(w, j->ev, rec, j->received_at, j->err)))
        return rc;
    if ((rc = bind_log(w, w->put_log, rec, outcome, j->received_at, j->err)) ||
        (rc = run(w, w->put_log, "push_log", j->err)))
        return rc;
    out->outcome = outcome;
    out->duplicate = 0;
    snprintf(out->message, sizeof out->message, "%s",
             outcome != EB_OUTCOME_STORED && rec->message ? rec->message : "");
    return EB_OK;
}

static eb_rc sq_store_push(struct eb_adapter *a, const struct eb_push *p,
                           const struct eb_push_record *rec, struct eb_stored *out,
                           struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    struct job j = {.p = p, .rec = rec, .out = out, .err = err};
    j.received_at = rec->received_at_ms ? rec->received_at_ms : eb_now_ms();
    return submit(s, &j);
}

/* Best effort, in the group's transaction like a push. */
static eb_rc sq_log_failure(struct eb_adapter *a, const struct eb_push_record *rec,
                            struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    struct job j = {.rec = rec, .err = err};
    j.received_at = rec->received_at_ms ? rec->received_at_ms : eb_now_ms();
    return submit(s, &j);
}

static void sq_submit(struct eb_adapter *a, struct eb_push_job *job)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    const struct eb_push_record *rec = job->rec;
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        job->rc = eb_err_set(&job->err, EB_ERR_NOMEM, "out of memory");
        job->done(job);
        return;
    }
    j->rec = rec;
    j->err = &job->err;
    if (job->kind == EB_JOB_STORE) {
        j->p = job->p;
        j->out = &job->out;
    } else if (job->kind == EB_JOB_INTERVIEW) {
        j->ev = job->ev;
        j->out = &job->out;
    }
    j->received_at = rec->received_at_ms ? rec->received_at_ms : eb_now_ms();
    j->async = job;
    submit(s, j);
}

static eb_rc sq_ping(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    int64_t version = 0;
    eb_rc rc = read_version(s, s->version, &version, err);
    return rc ? rc : eb_sqlgen_check_version(version, err);
}

/* ---- push_warning (adapters/warning_sql.h) ---------------------------------------------- */

/* Creates push_warning unless it exists (also in a database made before it). */
static eb_rc warning_table(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    if (!s->wsql.ddl && (rc = eb_warning_sql_build(&eb_sql_dialect_sqlite, &s->wsql, err)))
        return rc;
    return exec(s, s->wsql.ddl, "creating push_warning", err);
}

static eb_rc warning_prepare(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = prepare(s, s->wsql.insert, &s->warn_insert, "push_warning", err);
    return rc ? rc : prepare(s, s->wsql.remove, &s->warn_remove, "push_warning", err);
}

static void warning_close(struct sqlite_adapter *s)
{
    sqlite3_finalize(s->warn_insert);
    sqlite3_finalize(s->warn_remove);
    s->warn_insert = s->warn_remove = NULL;
    eb_warning_sql_free(&s->wsql);
}

/* In the push's transaction: the push id's warnings replaced by p's. */
static eb_rc warning_write(struct sqlite_adapter *s, const struct eb_push *p, const char *push_id,
                           struct eb_err *err)
{
    if (p->keep_warnings)
        return EB_OK;
    int code = bind_str(s->warn_remove, 1, push_id);
    eb_rc rc =
        code ? fail(s, code, "push_warning", err) : run(s, s->warn_remove, "push_warning", err);
    for (size_t i = 0; !rc && i < p->n_warnings; i++) {
        struct eb_sql_value v[EB_WARNING_SQL_COLUMNS];
        eb_warning_sql_values(p, push_id, i, v);
        sqlite3_clear_bindings(s->warn_insert);
        if (!(rc = bind_values(s, s->warn_insert, 1, v, EB_WARNING_SQL_COLUMNS, "push_warning",
                               err)))
            rc = run(s, s->warn_insert, "push_warning", err);
    }
    return rc;
}

/* ---- interview events (adapters/interview_sql.h) ---------------------------------------- */

/* Creates the interview tables unless they exist (also in a database made before them). */
static eb_rc interview_tables(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    if (!s->itv.n_ddl && (rc = eb_interview_sql_build(&eb_sql_dialect_sqlite, &s->itv, err)))
        return rc;
    for (size_t i = 0; !rc && i < s->itv.n_ddl; i++)
        rc = exec(s, s->itv.ddl[i], "creating the interview tables", err);
    return rc;
}

static eb_rc interview_prepare(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    for (size_t t = 0; !rc && t < EB_ITV_N_TABLES; t++)
        if (!(rc = prepare(s, s->itv.insert[t], &s->itv_insert[t], s->itv.name[t], err)))
            rc = prepare(s, s->itv.remove[t], &s->itv_remove[t], s->itv.name[t], err);
    return rc;
}

static void interview_close(struct sqlite_adapter *s)
{
    for (size_t t = 0; t < EB_ITV_N_TABLES; t++) {
        sqlite3_finalize(s->itv_insert[t]);
        sqlite3_finalize(s->itv_remove[t]);
        s->itv_insert[t] = s->itv_remove[t] = NULL;
    }
    eb_interview_sql_free(&s->itv);
}

/* eb_interview_row_fn: inserts one row with the table's prepared statement. */
static eb_rc interview_row(void *ctx, enum eb_interview_table t, const struct eb_sql_value *v,
                           size_t n, struct eb_err *err)
{
    struct sqlite_adapter *s = ctx;
    sqlite3_stmt *st = s->itv_insert[t];
    for (size_t i = 0; i < n; i++) {
        int at = (int)i + 1, c;
        if (v[i].type == EB_SQL_VINT)
            c = sqlite3_bind_int64(st, at, v[i].i);
        else if (v[i].type == EB_SQL_VTEXT)
            c = sqlite3_bind_text64(st, at, v[i].s, v[i].len, SQLITE_STATIC, SQLITE_UTF8);
        else
            c = sqlite3_bind_null(st, at);
        if (c)
            return fail(s, c, s->itv.name[t], err);
    }
    return run(s, st, s->itv.name[t], err);
}

/* Inside the batch's transaction, after the duplicate check: every interview of ev replaces
 * (or, for a delete, removes) the rows of its event_id. */
static eb_rc interview_apply(struct sqlite_adapter *w, const struct eb_interview_event *ev,
                             const struct eb_push_record *rec, int64_t at, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    for (size_t i = 0; !rc && i < ev->interviews_n; i++) {
        const struct eb_interview *iv = &ev->interviews[i];
        for (size_t t = EB_ITV_N_TABLES; !rc && t-- > 0;) {
            sqlite3_stmt *st = w->itv_remove[t];
            int code = bind_str(st, 1, iv->event_id);
            rc = code ? fail(w, code, w->itv.name[t], err) : run(w, st, w->itv.name[t], err);
        }
        if (!rc && ev->kind != EB_INTERVIEW_DELETE)
            rc = eb_interview_sql_rows(ev, iv, rec->push_id, at, interview_row, w, err);
    }
    return rc;
}

static eb_rc sq_store_interview_event(struct eb_adapter *a, const struct eb_interview_event *ev,
                                      const struct eb_push_record *rec, struct eb_stored *out,
                                      struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    struct job j = {.ev = ev, .rec = rec, .out = out, .err = err};
    j.received_at = rec->received_at_ms ? rec->received_at_ms : eb_now_ms();
    return submit(s, &j);
}

static eb_rc sq_replay_push(struct eb_adapter *a, const struct eb_push *p,
                            const struct eb_push_record *rec, struct eb_stored *out,
                            struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    struct job j = {.p = p, .rec = rec, .out = out, .err = err, .replay = 1};
    j.received_at = rec->received_at_ms;
    return submit(s, &j);
}

/* Rows per page of sq_list_pushes: each page is a read transaction of its own, so that the
 * checkpoints of a long replay's writes are not held back by one reader from start to end. */
#define LIST_PAGE 64

/* Lists push_log rows on this instance's own connection (read-only), page by page after the
 * last (received_at, push_id) listed. */
static eb_rc sq_list_pushes(struct eb_adapter *a, const struct eb_push_filter *f,
                            eb_logged_push_fn fn, void *user, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    struct eb_sql_list l;
    sqlite3_stmt *st = NULL;
    if (eb_sqlgen_list(&eb_sql_dialect_sqlite,
                       "push_id, event, triggered_at, received_at, outcome, message, payload, raw",
                       f, LIST_PAGE, &l)) {
        eb_sqlgen_list_free(&l);
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory listing push_log");
    }
    eb_rc rc = prepare(s, l.sql, &st, "listing push_log", err);
    char *bound = NULL, *last = NULL; /* the key's push id bound (static), the next one */
    int64_t last_at = 0;
    int code = SQLITE_DONE;
    for (int rows = LIST_PAGE; !rc && rows == LIST_PAGE;) {
        if (last) { /* the next page: after the last row listed */
            eb_sqlgen_list_after(&l, last_at, last);
            free(bound);
            bound = last;
            last = NULL;
        }
        if ((rc = bind_values(s, st, 1, l.param, l.n_param, "listing push_log", err)))
            break;
        for (rows = 0; !rc && (code = sqlite3_step(st)) == SQLITE_ROW; rows++) {
            struct eb_logged_push row = {
                .push_id = (const char *)sqlite3_column_text(st, 0),
                .event = (const char *)sqlite3_column_text(st, 1),
                .triggered_at = (const char *)sqlite3_column_text(st, 2),
                .received_at_ms = sqlite3_column_int64(st, 3),
                .outcome = outcome_from(sqlite3_column_text(st, 4)),
                .message = (const char *)sqlite3_column_text(st, 5),
                .payload = (const char *)sqlite3_column_text(st, 6),
                .payload_len = (size_t)sqlite3_column_bytes(st, 6),
                .raw = (const char *)sqlite3_column_blob(st, 7),
                .raw_len = (size_t)sqlite3_column_bytes(st, 7),
            };
            if (fn(user, &row))
                rc = eb_err_set(err, EB_ERR_INTERNAL, "listing stopped");
            else if (rows == LIST_PAGE - 1) { /* a full page's last row: the next page's key */
                last_at = row.received_at_ms;
                if (!(last = strdup(row.push_id)))
                    rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory listing push_log");
            }
        }
        if (!rc && code != SQLITE_DONE)
            rc = fail(s, code, "listing push_log", err);
        sqlite3_reset(st); /* ends the page's read transaction */
    }
    free(last);
    free(bound);
    sqlite3_finalize(st);
    eb_sqlgen_list_free(&l);
    return rc;
}

const struct eb_adapter_methods eb_adapter_sqlite = {
    .version = 1,
    .name = "sqlite",
    .scheme = "sqlite",
    .instance_size = sizeof(struct sqlite_adapter),
    .open = sq_open,
    .close = sq_close,
    .store_push = sq_store_push,
    .log_failure = sq_log_failure,
    .ping = sq_ping,
    .store_interview_event = sq_store_interview_event,
    .list_pushes = sq_list_pushes,
    .replay_push = sq_replay_push,
    .submit = sq_submit,
};

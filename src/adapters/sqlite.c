/* The SQLite adapter (eb_adapter_sqlite, table version 4) for URLs sqlite:PATH and
 * sqlite://PATH, with options ?synchronous=full|normal (default full: `true` only after a
 * durable commit) and &busy_timeout=MS (default 5000). One instance is one connection in WAL
 * mode; it creates the default schema (adapters/sqlgen.c) on first open and prepares every
 * statement once. Several instances may use the same file from different threads.
 *
 * It offers the primitives of adapter.h (transactions, savepoints, the push_log row, a
 * candidate's rows, an interview event's rows) and the attachment queue of the document
 * archive (version 4); the push rules and group commit are the bridge's. The connections to
 * one file with the same settings share a key (sq_share), so that the bridge writes their
 * pushes through one writer connection. That writer hands its
 * checkpoints to a thread of its own with its own connection (sq_writer_setup), off the
 * writer's path; the writer checkpoints by itself only between two transactions
 * (sq_writer_idle), when the WAL must start again from its beginning. */
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
#include "adapters/pushread.h"
#include "adapters/warning_sql.h"
#include "adapters/sqlgen.h"
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

/* Binds a push_log row (columns in eb_sql_schema push_log order) to st, rec as given. */
static eb_rc bind_log(struct sqlite_adapter *s, sqlite3_stmt *st, const struct eb_push_record *rec,
                      enum eb_outcome outcome, int64_t received_at, struct eb_err *err)
{
    int c = SQLITE_OK;
    if ((c = bind_str(st, 1, rec->push_id)) || (c = bind_str(st, 2, rec->event)) ||
        (c = bind_str(st, 3, rec->triggered_at)) || (c = sqlite3_bind_int64(st, 4, received_at)) ||
        (c = bind_opt_int(st, 5, rec->has_application_id, rec->application_id)) ||
        (c = bind_opt_int(st, 6, rec->has_candidate_id, rec->candidate_id)) ||
        (c = bind_str(st, 7, eb_outcome_name(outcome))) || (c = bind_str(st, 8, rec->message)) ||
        (c = bind_text(st, 9, rec->payload, rec->payload_len)) ||
        (c = bind_blob(st, 10, rec->raw, rec->raw_len)))
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

/* ---- the writer's checkpoints ------------------------------------------------------------ */

static eb_rc open_conn(struct sqlite_adapter *s, const char *url, struct eb_err *err);
static eb_rc interview_tables(struct sqlite_adapter *s, struct eb_err *err);
static eb_rc interview_prepare(struct sqlite_adapter *s, struct eb_err *err);
static void interview_close(struct sqlite_adapter *s);
static eb_rc warning_table(struct sqlite_adapter *s, struct eb_err *err);
static eb_rc att_tables(struct sqlite_adapter *s, struct eb_err *err);
static eb_rc warning_prepare(struct sqlite_adapter *s, struct eb_err *err);
static void warning_close(struct sqlite_adapter *s);
static eb_rc warning_write(struct sqlite_adapter *s, const struct eb_push *p, const char *push_id,
                           struct eb_err *err);
static eb_rc mapped_prepare(struct sqlite_adapter *s, struct eb_err *err);
static void mapped_close(struct sqlite_adapter *s);
static eb_rc mapped_run(void *ctx, size_t table, enum eb_mapping_stmt which,
                        const struct eb_sql_value *v, size_t n, int64_t *changed,
                        struct eb_err *err);

/* The checkpointer thread: runs a PASSIVE checkpoint whenever the writer's WAL hook asks. */
static void *ckpt_main(void *arg)
{
    struct ckpt *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while ((!c->want || c->writer_ckpt) && !c->stop)
            pthread_cond_wait(&c->cv, &c->lock);
        if (c->stop)
            break;
        c->want = 0;
        c->busy = 1;
        pthread_mutex_unlock(&c->lock);
        int frames = 0, copied = 0;
        int code =
            sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
        pthread_mutex_lock(&c->lock);
        c->busy = 0;
        if (code == SQLITE_OK && copied > 0)
            c->done = copied;
        pthread_cond_broadcast(&c->idle);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* The writer's WAL hook, after each commit (it replaces SQLite's automatic checkpoint): wakes
 * the checkpointer once CKPT_SOFT frames wait to be copied. The WAL starts again from its
 * beginning only after a checkpoint that copied every frame, which a checkpoint running beside
 * a busy writer seldom does: past CKPT_RESTART frames, the writer finishes the job itself
 * (sq_writer_idle), in the pause between two of its transactions, once the pushes of the
 * transaction just committed are answered. It waits until the checkpointer has brought what is
 * left down to CKPT_CATCHUP frames, because every push queued meanwhile waits for that
 * checkpoint (its fsyncs included); at CKPT_LIMIT frames it checkpoints anyway, which bounds
 * the WAL. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct ckpt *c = arg;
    (void)db;
    (void)name;
    pthread_mutex_lock(&c->lock);
    if (frames < c->done)
        c->done = 0; /* the WAL was restarted */
    int left = frames - c->done;
    int limit = frames >= CKPT_LIMIT;
    int self = limit || (frames >= CKPT_RESTART && left <= CKPT_CATCHUP && !c->busy);
    if (!self && (left >= CKPT_SOFT || frames >= CKPT_RESTART) && !c->want) {
        c->want = 1;
        pthread_cond_signal(&c->cv);
    }
    pthread_mutex_unlock(&c->lock);
    if (self)
        c->self_ckpt = limit ? 2 : 1;
    return SQLITE_OK;
}

/* The writer's own checkpoint that wal_hook asked for, between two transactions. At
 * CKPT_LIMIT it first waits for a checkpoint the checkpointer is running to end (two
 * checkpoints never run at once: the second one would give up at once, and on a loaded machine
 * the writer could go on giving up while the WAL grows), and the checkpointer starts no other
 * until the writer's is done. */
static void sq_writer_idle(struct eb_adapter *a)
{
    struct ckpt *c = ((struct sqlite_adapter *)a)->ckpt;
    if (!c || !c->self_ckpt)
        return;
    int limit = c->self_ckpt == 2;
    c->self_ckpt = 0;
    if (limit) {
        pthread_mutex_lock(&c->lock);
        c->writer_ckpt = 1;
        while (c->busy)
            pthread_cond_wait(&c->idle, &c->lock);
        pthread_mutex_unlock(&c->lock);
    }
    int copied = 0;
    int code =
        sqlite3_wal_checkpoint_v2(c->writer_db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, &copied);
    pthread_mutex_lock(&c->lock);
    if (code == SQLITE_OK && copied > c->done)
        c->done = copied;
    if (limit) {
        c->writer_ckpt = 0;
        pthread_cond_signal(&c->cv);
    }
    pthread_mutex_unlock(&c->lock);
}

/* Starts s's checkpointer (its own connection to s's file, same synchronous setting) and hands
 * it s's checkpoints. Best effort: without it s checkpoints as SQLite does by default. */
static void ckpt_start(struct sqlite_adapter *s)
{
    const char *file = sqlite3_db_filename(s->db, "main");
    sqlite3 *db = NULL;
    struct ckpt *c = calloc(1, sizeof *c);
    if (!c)
        return;
    if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(db, s->full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                     NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        free(c);
        return;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_cond_init(&c->idle, NULL);
    c->db = db;
    c->writer_db = s->db;
    sigset_t all, old;
    sigfillset(&all); /* signals stay with the threads that wait for them */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&c->thread, NULL, ckpt_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cv);
        pthread_cond_destroy(&c->idle);
        sqlite3_close(db);
        free(c);
        return;
    }
    pthread_setname_np(c->thread, "eb-sqlite-ckpt"); /* top -H, perf */
    sqlite3_wal_hook(s->db, wal_hook, c);
    s->ckpt = c;
}

static void ckpt_stop(struct sqlite_adapter *s)
{
    struct ckpt *c = s->ckpt;
    if (!c)
        return;
    s->ckpt = NULL;
    sqlite3_wal_hook(c->writer_db, NULL, NULL);
    pthread_mutex_lock(&c->lock);
    c->stop = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cv);
    pthread_cond_destroy(&c->idle);
    free(c);
}

/* The writer of a group: its statement journals, and the savepoints of a batch written again
 * after a failure, stay in memory (it runs no query that sorts much: other connections keep
 * SQLite's default, so that a replay's sort of the push log may spill to disk); its checkpoints
 * go to a thread of their own. */
static eb_rc sq_writer_setup(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = exec(s, "PRAGMA temp_store = MEMORY", "setting temp_store", err);
    if (!rc && !s->ckpt)
        ckpt_start(s);
    return rc;
}

/* Connections to the same file (whatever path names it) with the same settings share a
 * writer; in-memory and temporary databases share nothing. */
static int sq_share(struct eb_adapter *a, struct eb_adapter_share *out)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    const char *file = sqlite3_db_filename(s->db, "main");
    struct stat st;
    if (!file || !*file || stat(file, &st) != 0)
        return 0;
    snprintf(out->key, sizeof out->key, "%llu:%llu:%d:%d", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino, s->full, s->busy_ms);
    out->wait_ms = s->busy_ms;
    return 1;
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
    struct eb_buf add_sql;
    char *claim_sql = NULL;
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
    claim_sql = eb_sqlgen_upsert_where(sc, log, "\"push_log\".\"outcome\" = 'failed'", err);
    if (!claim_sql) {
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
        (rc = prepare(s, claim_sql, &s->claim_log, "preparing push_log", err)) ||
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
    free(claim_sql);
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
    ckpt_stop(s); /* before the connection it copies for */
    sqlite3_stmt **one[] = {&s->begin,     &s->commit,   &s->rollback, &s->savepoint,
                            &s->release,   &s->undo,     &s->find_log, &s->put_log,
                            &s->claim_log, &s->version,  &s->current,  &s->add_candidate,
                            &s->att_put,   &s->att_again};
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

/* Opens s's connection from url, creates or checks the schema and prepares every statement. */
static eb_rc open_conn(struct sqlite_adapter *s, const char *url, struct eb_err *err)
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
    /* Changing the journal mode needs the database to itself, and SQLite answers SQLITE_BUSY at
     * once, without its busy handler, while another connection (another process starting, or
     * this process's writer and checkpointer) holds a lock: wait here as the handler would. */
    for (int waited_ms = 0;
         ((code = sqlite3_step(st)) & 0xff) == SQLITE_BUSY && waited_ms < u.busy_ms;
         waited_ms += 5) {
        sqlite3_reset(st);
        nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
    }
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
        (rc = att_tables(s, err)) || (rc = warning_table(s, err)) || (rc = prepare_all(s, err)))
        goto out;
out:
    free(u.path);
    return rc;
}

static eb_rc sq_open(struct eb_adapter *a, const char *url, struct eb_err *err)
{
    return open_conn((struct sqlite_adapter *)a, url, err);
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

/* ---- the primitives of adapter.h, version 2 --------------------------------------------- */

static eb_rc sq_begin(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    return run(s, s->begin, "BEGIN IMMEDIATE", err);
}

static eb_rc sq_commit(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    return run(s, s->commit, "COMMIT", err);
}

static void sq_rollback(struct eb_adapter *a)
{
    abandon((struct sqlite_adapter *)a);
}

static int sq_in_transaction(struct eb_adapter *a)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    return s->db && !sqlite3_get_autocommit(s->db);
}

static eb_rc sq_savepoint(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    return run(s, s->savepoint, "SAVEPOINT", err);
}

static eb_rc sq_release(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    return run(s, s->release, "RELEASE", err);
}

static eb_rc sq_rollback_to(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = run(s, s->undo, "ROLLBACK TO", err);
    return rc ? rc : run(s, s->release, "RELEASE", err);
}

static eb_rc sq_log_get(struct eb_adapter *a, const char *push_id, struct eb_log_state *out,
                        struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    sqlite3_stmt *st = s->find_log;
    int code = bind_str(st, 1, push_id);
    if (code)
        return fail(s, code, "binding push_log", err);
    out->found = 0;
    code = sqlite3_step(st);
    if (code == SQLITE_ROW) {
        const unsigned char *m = sqlite3_column_text(st, 1);
        out->found = 1;
        out->outcome = outcome_from(sqlite3_column_text(st, 0));
        snprintf(out->message, sizeof out->message, "%s", m ? (const char *)m : "");
    } else if (code != SQLITE_DONE) {
        rc = fail(s, code, "reading push_log", err);
    }
    sqlite3_reset(st);
    return rc;
}

static eb_rc sq_log_put(struct eb_adapter *a, const struct eb_push_record *rec,
                        enum eb_outcome outcome, int64_t received_at, int claim, int *written,
                        struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    sqlite3_stmt *st = claim ? s->claim_log : s->put_log;
    eb_rc rc = bind_log(s, st, rec, outcome, received_at, err);
    if (!rc)
        rc = run(s, st, "push_log", err);
    if (!rc && written)
        *written = sqlite3_changes(s->db) > 0;
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
static eb_rc write_rows(struct replace *r, const struct eb_push *p, const char *push_id,
                        int64_t updated_at, struct eb_err *err)
{
    r->pend_n = 0;
    eb_rc rc = eb_sqlgen_walk(r->s->schema, p->data, push_id, updated_at, insert_row, r, err);
    return !rc && r->pend_n ? flush_rows(r, err) : rc;
}

/* Inside the bridge's transaction: replaces every row of p's applicationId with p's (or
 * writes the mapped tables), then the push's push_warning rows. A new candidate, the usual push, costs its INSERTs only: no DELETE
 * runs. */
static eb_rc sq_candidate_write(struct eb_adapter *a, const struct eb_push *p, const char *push_id,
                                int64_t updated_at, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    if (s->base.mapping) {
        eb_rc rc =
            eb_mapping_write(s->base.mapping, p->data, push_id, updated_at, mapped_run, s, err);
        return rc ? rc : warning_write(s, p, push_id, err);
    }
    struct replace r = {.s = s, .app = p->data->application_id.v};
    eb_rc rc = write_rows(&r, p, push_id, updated_at, err);
    if (rc && r.orphans) {
        /* child rows whose candidate row is gone (deleted by hand): the failed INSERT wrote
         * nothing; clear them with the rows written so far and write the candidate again */
        r.orphans = 0;
        if (!(rc = clear_children(s, r.app, err)))
            rc = write_rows(&r, p, push_id, updated_at, err);
    }
    return rc ? rc : warning_write(s, p, push_id, err);
}

/* The push whose rows the candidate holds: its default candidate row names it; the mapped rows
 * hold the last push stored for the applicationId. */
static eb_rc sq_candidate_last(struct eb_adapter *a, int64_t app, struct eb_candidate_last *out,
                               struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    const char *what = "reading the candidate's last push";
    out->found = 0;
    out->push_id = NULL;
    if (!s->current &&
        (rc = prepare(s,
                      s->base.mapping
                          ? "SELECT received_at, push_id FROM push_log WHERE application_id = ?"
                            " AND outcome = 'stored' ORDER BY received_at DESC LIMIT 1"
                          : "SELECT l.received_at, c.last_push_id FROM candidate c JOIN push_log l"
                            " ON l.push_id = c.last_push_id WHERE c.application_id = ?",
                      &s->current, what, err)))
        return rc;
    int code = sqlite3_bind_int64(s->current, 1, app);
    if (code)
        return fail(s, code, what, err);
    code = sqlite3_step(s->current);
    if (code == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s->current, 1);
        out->found = 1;
        out->received_at_ms = sqlite3_column_int64(s->current, 0);
        if (id && !(out->push_id = strdup(id)))
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    } else if (code != SQLITE_DONE) {
        rc = fail(s, code, what, err);
    }
    sqlite3_reset(s->current);
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

/* Inside the bridge's transaction: every interview of ev replaces (or, for a delete, removes)
 * the rows of its event_id. */
static eb_rc sq_interview_apply(struct eb_adapter *a, const struct eb_interview_event *ev,
                                const char *push_id, int64_t at, struct eb_err *err)
{
    struct sqlite_adapter *w = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    for (size_t i = 0; !rc && i < ev->interviews_n; i++) {
        const struct eb_interview *iv = &ev->interviews[i];
        for (size_t t = EB_ITV_N_TABLES; !rc && t-- > 0;) {
            sqlite3_stmt *st = w->itv_remove[t];
            int code = bind_str(st, 1, iv->event_id);
            rc = code ? fail(w, code, w->itv.name[t], err) : run(w, st, w->itv.name[t], err);
        }
        if (!rc && ev->kind != EB_INTERVIEW_DELETE)
            rc = eb_interview_sql_rows(ev, iv, push_id, at, interview_row, w, err);
    }
    return rc;
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

/* ---- reads for the admin listener (pushread.h) ----------------------------------------- */

/* Runs a read of pushread.h on this instance's connection, one row at a time to row_fn (the
 * columns as text, raw as its bytes); one read transaction. */
static eb_rc read_rows(struct sqlite_adapter *s, struct eb_pushread_sql *q,
                       int (*row_fn)(void *ctx, const char *const *col, const size_t *len),
                       void *ctx, struct eb_err *err)
{
    sqlite3_stmt *st = NULL;
    eb_rc rc = prepare(s, q->sql, &st, "reading push_log", err);
    if (!rc)
        rc = bind_values(s, st, 1, q->param, q->n_param, "reading push_log", err);
    int code = SQLITE_DONE;
    while (!rc && (code = sqlite3_step(st)) == SQLITE_ROW) {
        const char *col[EB_PUSHREAD_COLUMNS] = {0};
        size_t len[EB_PUSHREAD_COLUMNS] = {0};
        int n = sqlite3_column_count(st);
        for (int i = 0; i < n && i < EB_PUSHREAD_COLUMNS; i++) {
            col[i] = sqlite3_column_type(st, i) == SQLITE_BLOB
                         ? (const char *)sqlite3_column_blob(st, i)
                         : (const char *)sqlite3_column_text(st, i);
            len[i] = (size_t)sqlite3_column_bytes(st, i);
        }
        if (row_fn(ctx, col, len))
            rc = eb_err_set(err, EB_ERR_INTERNAL, "reading push_log stopped");
    }
    if (!rc && code != SQLITE_DONE)
        rc = fail(s, code, "reading push_log", err);
    sqlite3_finalize(st);
    eb_pushread_free(q);
    return rc;
}

struct summary_ctx {
    eb_push_summary_fn fn;
    eb_push_count_fn count_fn;
    void *user;
    eb_push_warning_fn warning_fn;
};

static int warning_row(void *ctx, const char *const *col, const size_t *len)
{
    struct summary_ctx *c = ctx;
    (void)len;
    return eb_pushread_warning_row(col, c->warning_fn, c->user);
}

static int summary_row(void *ctx, const char *const *col, const size_t *len)
{
    struct summary_ctx *c = ctx;
    return eb_pushread_row(col, len, c->fn, c->user);
}

static int count_row(void *ctx, const char *const *col, const size_t *len)
{
    struct summary_ctx *c = ctx;
    (void)len;
    return eb_pushread_count_row(col, c->count_fn, c->user);
}

static eb_rc sq_push_page(struct eb_adapter *a, const struct eb_push_query *q,
                          eb_push_summary_fn fn, void *user, struct eb_err *err)
{
    struct eb_pushread_sql sql;
    struct summary_ctx c = {.fn = fn, .user = user};
    eb_rc rc = eb_pushread_page(&eb_sql_dialect_sqlite, q, !a->mapping, &sql, err);
    return rc ? rc : read_rows((struct sqlite_adapter *)a, &sql, summary_row, &c, err);
}

static eb_rc sq_push_get(struct eb_adapter *a, const char *push_id, eb_push_summary_fn fn,
                         void *user, struct eb_err *err)
{
    struct eb_pushread_sql sql;
    struct summary_ctx c = {.fn = fn, .user = user};
    eb_rc rc = eb_pushread_get(&eb_sql_dialect_sqlite, push_id, !a->mapping, &sql, err);
    return rc ? rc : read_rows((struct sqlite_adapter *)a, &sql, summary_row, &c, err);
}

static eb_rc sq_push_counts(struct eb_adapter *a, int64_t since_ms, int64_t bucket_ms,
                            eb_push_count_fn fn, void *user, struct eb_err *err)
{
    struct eb_pushread_sql sql;
    struct summary_ctx c = {.count_fn = fn, .user = user};
    eb_rc rc = eb_pushread_counts(&eb_sql_dialect_sqlite, since_ms, bucket_ms, &sql, err);
    return rc ? rc : read_rows((struct sqlite_adapter *)a, &sql, count_row, &c, err);
}

/* Runs on this instance's own connection, beside the gate's writer: a batch waits for it like
 * a writer of another process (busy timeout). */
static eb_rc sq_purge_payloads(struct eb_adapter *a, int64_t before_ms, unsigned max_rows,
                               int64_t *purged, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    struct eb_pushread_sql sql[2];
    sqlite3_stmt *st = NULL;
    int64_t changed = 0;
    memset(sql, 0, sizeof sql);
    eb_rc rc = eb_pushread_purge_warnings(&eb_sql_dialect_sqlite, before_ms, &sql[0], err);
    if (!rc)
        rc = eb_pushread_purge(&eb_sql_dialect_sqlite, before_ms, max_rows, &sql[1], err);
    if (!rc)
        rc = exec(s, "BEGIN IMMEDIATE", "purging push_log", err);
    for (int i = 0; !rc && i < 2; i++) {
        if (!(rc = prepare(s, sql[i].sql, &st, "purging push_log", err)) &&
            !(rc = bind_values(s, st, 1, sql[i].param, sql[i].n_param, "purging push_log", err)) &&
            !(rc = run(s, st, "purging push_log", err)))
            changed = sqlite3_changes(s->db);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (!rc && !(rc = exec(s, "COMMIT", "purging push_log", err)))
        *purged = changed;
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    eb_pushread_free(&sql[0]);
    eb_pushread_free(&sql[1]);
    return rc;
}

static eb_rc sq_push_warnings(struct eb_adapter *a, const char *push_id, eb_push_warning_fn fn,
                              void *user, struct eb_err *err)
{
    struct eb_pushread_sql sql;
    struct summary_ctx c = {.user = user, .warning_fn = fn};
    eb_rc rc = eb_pushread_warnings(&eb_sql_dialect_sqlite, push_id, &sql, err);
    return rc ? rc : read_rows((struct sqlite_adapter *)a, &sql, warning_row, &c, err);
}

/* ---- the attachment queue (adapter.h, version 4) ----------------------------------------- */

static const char *const att_ddl[] = {
    "CREATE TABLE IF NOT EXISTS \"attachment\" (\"id\" INTEGER PRIMARY KEY, "
    "\"push_id\" TEXT NOT NULL, \"application_id\" INTEGER, \"field\" TEXT NOT NULL, "
    "\"url\" TEXT NOT NULL, \"status\" TEXT NOT NULL DEFAULT 'pending', "
    "\"attempts\" INTEGER NOT NULL DEFAULT 0, \"error\" TEXT, \"size\" INTEGER, "
    "\"sha256\" TEXT, \"content_type\" TEXT, \"file_name\" TEXT, "
    "\"created_at\" INTEGER NOT NULL, \"expires_at\" INTEGER NOT NULL, "
    "\"next_at\" INTEGER NOT NULL, \"lease_owner\" TEXT, \"lease_until\" INTEGER, "
    "\"stored_attempt\" INTEGER, \"stored_in\" TEXT, UNIQUE (\"push_id\", \"field\"))",
    "CREATE INDEX IF NOT EXISTS \"attachment_due\" ON \"attachment\" (\"status\", \"next_at\")",
    "CREATE INDEX IF NOT EXISTS \"attachment_application\" ON \"attachment\" "
    "(\"application_id\")",
    "CREATE INDEX IF NOT EXISTS \"attachment_sha256\" ON \"attachment\" (\"sha256\")",
    "CREATE TABLE IF NOT EXISTS \"attachment_chunk\" (\"attachment_id\" INTEGER NOT NULL, "
    "\"attempt\" INTEGER NOT NULL, \"seq\" INTEGER NOT NULL, \"data\" BLOB NOT NULL, "
    "PRIMARY KEY (\"attachment_id\", \"attempt\", \"seq\"))",
};

/* Creates the attachment tables unless they exist (also in a database made before them). */
static eb_rc att_tables(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    for (size_t i = 0; !rc && i < sizeof att_ddl / sizeof att_ddl[0]; i++)
        rc = exec(s, att_ddl[i], "creating the attachment tables", err);
    return rc;
}

/* In the push's transaction: one pending row per link (adapter.h, att_enqueue). */
static eb_rc sq_att_enqueue(struct eb_adapter *a, const char *push_id, int64_t application_id,
                            const struct eb_att_link *links, size_t n, int64_t at_ms,
                            struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    if (!s->att_put &&
        (rc =
             prepare(s,
                     "INSERT INTO \"attachment\" (\"push_id\", \"application_id\", \"field\", "
                     "\"url\", \"created_at\", \"expires_at\", \"next_at\") VALUES "
                     "(?1, ?2, ?3, ?4, ?5, ?6, ?5) ON CONFLICT (\"push_id\", \"field\") DO NOTHING",
                     &s->att_put, "preparing attachment", err)))
        return rc;
    sqlite3_stmt *st = s->att_put;
    for (size_t i = 0; !rc && i < n; i++) {
        int code = bind_str(st, 1, push_id);
        if (!code)
            code = sqlite3_bind_int64(st, 2, application_id);
        if (!code)
            code = bind_str(st, 3, links[i].field);
        if (!code)
            code = bind_text(st, 4, links[i].url, links[i].url_len);
        if (!code)
            code = sqlite3_bind_int64(st, 5, at_ms);
        if (!code)
            code = sqlite3_bind_int64(st, 6, links[i].expires_ms);
        rc = code ? fail(s, code, "binding attachment", err)
                  : run(s, st, "queueing a download link", err);
    }
    return rc;
}

/* In the replay's transaction: the push's rows neither stored nor pending, pending again. */
static eb_rc sq_att_requeue(struct eb_adapter *a, const char *push_id, int64_t at_ms,
                            struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    if (!s->att_again &&
        (rc = prepare(s,
                      "UPDATE \"attachment\" SET \"status\" = 'pending', \"next_at\" = ?2 "
                      "WHERE \"push_id\" = ?1 AND \"status\" NOT IN ('stored', 'pending')",
                      &s->att_again, "preparing attachment", err)))
        return rc;
    int code = bind_str(s->att_again, 1, push_id);
    if (!code)
        code = sqlite3_bind_int64(s->att_again, 2, at_ms);
    return code ? fail(s, code, "binding attachment", err)
                : run(s, s->att_again, "queueing the download links again", err);
}

/* A statement of the queue methods: prepared per call (they are rare next to pushes). */
static eb_rc att_prepare(struct sqlite_adapter *s, const char *sql, sqlite3_stmt **st,
                         struct eb_err *err)
{
    int code = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return code == SQLITE_OK ? EB_OK : fail(s, code, "preparing an attachment statement", err);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static eb_rc sq_att_claim(struct eb_adapter *a, const char *owner, int64_t now_ms, int64_t lease_ms,
                          struct eb_att_claim *out, int *found, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    sqlite3_stmt *st = NULL;
    eb_rc rc = att_prepare(
        s,
        "UPDATE \"attachment\" SET \"attempts\" = \"attempts\" + 1, \"lease_owner\" = ?1, "
        "\"lease_until\" = ?2 WHERE \"id\" = (SELECT \"id\" FROM \"attachment\" WHERE "
        "\"status\" = 'pending' AND \"next_at\" <= ?3 AND (\"lease_until\" IS NULL OR "
        "\"lease_until\" < ?3) ORDER BY \"next_at\", \"id\" LIMIT 1) "
        "RETURNING \"id\", \"attempts\", \"expires_at\", \"field\", \"url\"",
        &st, err);
    if (rc)
        return rc;
    *found = 0;
    bind_str(st, 1, owner);
    sqlite3_bind_int64(st, 2, now_ms + lease_ms);
    sqlite3_bind_int64(st, 3, now_ms);
    int code = sqlite3_step(st);
    if (code == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        out->attempt = sqlite3_column_int(st, 1);
        out->expires_ms = sqlite3_column_int64(st, 2);
        snprintf(out->field, sizeof out->field, "%s", col_text(st, 3) ? col_text(st, 3) : "");
        snprintf(out->url, sizeof out->url, "%s", col_text(st, 4) ? col_text(st, 4) : "");
        *found = 1;
        code = sqlite3_step(st);
    }
    if (code != SQLITE_DONE)
        rc = fail(s, code, "claiming a download", err);
    sqlite3_finalize(st);
    return rc;
}

static eb_rc sq_att_chunk(struct eb_adapter *a, int64_t id, int attempt, int seq, const void *data,
                          size_t len, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    sqlite3_stmt *st = NULL;
    eb_rc rc = att_prepare(s,
                           "INSERT OR REPLACE INTO \"attachment_chunk\" (\"attachment_id\", "
                           "\"attempt\", \"seq\", \"data\") VALUES (?1, ?2, ?3, ?4)",
                           &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, attempt);
    sqlite3_bind_int(st, 3, seq);
    sqlite3_bind_blob64(st, 4, data ? data : "", len, SQLITE_STATIC);
    rc = run(s, st, "storing a chunk of a download", err);
    sqlite3_finalize(st);
    return rc;
}

static eb_rc sq_att_finish(struct eb_adapter *a, int64_t id, const char *owner, int attempt,
                           const struct eb_att_result *r, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    sqlite3_stmt *up = NULL, *del = NULL;
    int stored = r->status == EB_ATT_STORED;
    eb_rc rc = exec(s, "BEGIN IMMEDIATE", "recording a download", err);
    if (rc)
        return rc;
    if ((rc = att_prepare(s,
                          "UPDATE \"attachment\" SET \"status\" = ?3, \"error\" = ?4, "
                          "\"next_at\" = ?5, \"size\" = ?6, \"sha256\" = ?7, "
                          "\"content_type\" = ?8, \"file_name\" = ?9, \"stored_attempt\" = ?10, "
                          "\"stored_in\" = ?11, \"lease_owner\" = NULL, \"lease_until\" = NULL "
                          "WHERE \"id\" = ?1 AND \"lease_owner\" = ?2",
                          &up, err)))
        goto out;
    sqlite3_bind_int64(up, 1, id);
    bind_str(up, 2, owner);
    bind_str(up, 3, eb_att_status_name(r->status));
    bind_str(up, 4, r->error);
    sqlite3_bind_int64(up, 5, r->next_ms);
    bind_opt_int(up, 6, stored, r->size);
    bind_str(up, 7, stored ? r->sha256 : NULL);
    bind_str(up, 8, stored ? r->content_type : NULL);
    bind_str(up, 9, stored ? r->file_name : NULL);
    bind_opt_int(up, 10, stored, attempt);
    bind_str(up, 11, stored ? (r->in_db ? "db" : "dir") : NULL);
    if ((rc = run(s, up, "recording a download", err)))
        goto out;
    int mine = sqlite3_changes(s->db) == 1;
    if ((rc = att_prepare(s,
                          mine && stored
                              ? "DELETE FROM \"attachment_chunk\" WHERE \"attachment_id\" = ?1 "
                                "AND \"attempt\" <> ?2"
                              : "DELETE FROM \"attachment_chunk\" WHERE \"attachment_id\" = ?1 "
                                "AND \"attempt\" = ?2",
                          &del, err)))
        goto out;
    sqlite3_bind_int64(del, 1, id);
    sqlite3_bind_int(del, 2, attempt);
    if ((rc = run(s, del, "deleting the chunks of a download", err)))
        goto out;
    rc = exec(s, "COMMIT", "recording a download", err);
out:
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(up);
    sqlite3_finalize(del);
    return rc;
}

static eb_rc sq_att_list(struct eb_adapter *a, const struct eb_att_filter *f, eb_att_row_fn fn,
                         void *user, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    sqlite3_stmt *st = NULL;
    eb_rc rc = att_prepare(
        s,
        "SELECT \"id\", \"push_id\", \"application_id\", \"field\", \"url\", \"status\", "
        "\"attempts\", \"error\", \"size\", \"sha256\", \"content_type\", \"file_name\", "
        "\"created_at\", \"expires_at\", \"stored_in\" FROM \"attachment\" WHERE (?1 IS NULL "
        "OR \"status\" = ?1) AND (?2 IS NULL OR \"application_id\" = ?2) AND (?3 IS NULL OR "
        "\"id\" = ?3) AND (?4 IS NULL OR \"push_id\" = ?4) ORDER BY \"id\"",
        &st, err);
    if (rc)
        return rc;
    bind_str(st, 1, f && f->status >= 0 ? eb_att_status_name(f->status) : NULL);
    bind_opt_int(st, 2, f && f->has_application_id, f ? f->application_id : 0);
    bind_opt_int(st, 3, f && f->id, f ? f->id : 0);
    bind_str(st, 4, f ? f->push_id : NULL);
    int code;
    while (!rc && (code = sqlite3_step(st)) == SQLITE_ROW) {
        int status = eb_att_status_from(col_text(st, 5));
        struct eb_att_row row = {
            .id = sqlite3_column_int64(st, 0),
            .push_id = col_text(st, 1),
            .application_id = sqlite3_column_int64(st, 2),
            .field = col_text(st, 3),
            .url = col_text(st, 4),
            .status = status < 0 ? EB_ATT_FAILED : (enum eb_att_status)status,
            .attempts = sqlite3_column_int(st, 6),
            .error = col_text(st, 7),
            .size = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 8),
            .sha256 = col_text(st, 9),
            .content_type = col_text(st, 10),
            .file_name = col_text(st, 11),
            .created_ms = sqlite3_column_int64(st, 12),
            .expires_ms = sqlite3_column_int64(st, 13),
            .purged = col_text(st, 14) && !strcmp(col_text(st, 14), "purged"),
        };
        if (fn(user, &row))
            rc = eb_err_set(err, EB_ERR_INTERNAL, "listing stopped");
    }
    if (!rc && code != SQLITE_DONE)
        rc = fail(s, code, "listing attachments", err);
    sqlite3_finalize(st);
    return rc;
}

static eb_rc sq_att_read(struct eb_adapter *a, int64_t id, eb_att_chunk_fn fn, void *user,
                         struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    sqlite3_stmt *st = NULL;
    int attempt = -1;
    eb_rc rc = att_prepare(s,
                           "SELECT \"stored_attempt\" FROM \"attachment\" WHERE \"id\" = ?1 AND "
                           "\"status\" = 'stored' AND \"stored_in\" = 'db'",
                           &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int code = sqlite3_step(st);
    if (code == SQLITE_ROW)
        attempt = sqlite3_column_int(st, 0);
    else if (code != SQLITE_DONE)
        rc = fail(s, code, "reading an attachment", err);
    sqlite3_finalize(st);
    st = NULL;
    if (!rc && attempt < 0)
        rc = eb_err_set(err, EB_ERR_INVALID, "attachment %lld is not stored in the database",
                        (long long)id);
    if (rc || (rc = att_prepare(s,
                                "SELECT \"data\" FROM \"attachment_chunk\" WHERE "
                                "\"attachment_id\" = ?1 AND \"attempt\" = ?2 AND \"seq\" = ?3",
                                &st, err)))
        return rc;
    for (int seq = 0; !rc; seq++) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, attempt);
        sqlite3_bind_int(st, 3, seq);
        code = sqlite3_step(st);
        if (code == SQLITE_DONE) {
            sqlite3_reset(st);
            break;
        }
        if (code != SQLITE_ROW)
            rc = fail(s, code, "reading an attachment", err);
        else if (fn(user, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)))
            rc = eb_err_set(err, EB_ERR_INTERNAL, "reading stopped");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

static eb_rc sq_att_stats(struct eb_adapter *a, struct eb_att_stats *out, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    sqlite3_stmt *st = NULL;
    /* counted on the index attachment_due; the oldest of the pending rows alone */
    eb_rc rc = att_prepare(s,
                           "SELECT \"status\", count(*), (SELECT min(\"created_at\") FROM "
                           "\"attachment\" WHERE \"status\" = 'pending') FROM \"attachment\" "
                           "GROUP BY \"status\"",
                           &st, err);
    if (rc)
        return rc;
    int code;
    while ((code = sqlite3_step(st)) == SQLITE_ROW) {
        int status = eb_att_status_from(col_text(st, 0));
        if (status < 0)
            continue;
        out->count[status] = sqlite3_column_int64(st, 1);
        if (status == EB_ATT_PENDING)
            out->oldest_pending_ms = sqlite3_column_int64(st, 2);
    }
    if (code != SQLITE_DONE)
        rc = fail(s, code, "counting attachments", err);
    sqlite3_finalize(st);
    return rc;
}

/* One row att_purge marked: its content hash and where the content was. */
struct purged_row {
    int64_t id;
    int in_dir;
    char sha256[65];
};

/* Retention of archived documents (adapter.h, att_purge): stored_in becomes 'purged'. */
static eb_rc sq_att_purge(struct eb_adapter *a, int64_t before_ms, int64_t now_ms,
                          unsigned max_rows, eb_att_purged_fn fn, void *user, int64_t *purged,
                          struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    sqlite3_stmt *sel = NULL, *mark = NULL, *del = NULL, *ref = NULL;
    size_t n = 0;
    struct purged_row *rows = calloc(max_rows ? max_rows : 1, sizeof *rows);
    if (!rows)
        return eb_err_set(err, EB_ERR_NOMEM, "purging attachments: out of memory");
    eb_rc rc = exec(s, "BEGIN IMMEDIATE", "purging attachments", err);
    if (rc) {
        free(rows);
        return rc;
    }
    if ((rc = att_prepare(s,
                          "SELECT \"id\", \"stored_in\", \"sha256\" FROM \"attachment\" WHERE "
                          "\"status\" = 'stored' AND (\"stored_in\" = 'db' OR (\"stored_in\" = "
                          "'dir' AND NOT EXISTS (SELECT 1 FROM \"attachment\" WHERE "
                          "\"status\" = 'pending' AND \"lease_until\" > ?3))) AND "
                          "\"created_at\" < ?1 ORDER BY \"id\" LIMIT ?2",
                          &sel, err)) ||
        (rc = att_prepare(s, "UPDATE \"attachment\" SET \"stored_in\" = 'purged' WHERE \"id\" = ?1",
                          &mark, err)) ||
        (rc = att_prepare(s, "DELETE FROM \"attachment_chunk\" WHERE \"attachment_id\" = ?1", &del,
                          err)) ||
        (rc = att_prepare(s,
                          "SELECT 1 FROM \"attachment\" WHERE \"sha256\" = ?1 AND "
                          "\"stored_in\" = 'dir' LIMIT 1",
                          &ref, err)))
        goto out;
    sqlite3_bind_int64(sel, 1, before_ms);
    sqlite3_bind_int64(sel, 2, max_rows);
    sqlite3_bind_int64(sel, 3, now_ms);
    int code = SQLITE_DONE;
    while (n < max_rows && (code = sqlite3_step(sel)) == SQLITE_ROW) {
        const char *in = col_text(sel, 1), *sha = col_text(sel, 2);
        rows[n].id = sqlite3_column_int64(sel, 0);
        rows[n].in_dir = in && !strcmp(in, "dir");
        snprintf(rows[n].sha256, sizeof rows[n].sha256, "%s", sha ? sha : "");
        n++;
    }
    if (n < max_rows && code != SQLITE_DONE) {
        rc = fail(s, code, "purging attachments", err);
        goto out;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        sqlite3_bind_int64(mark, 1, rows[i].id);
        sqlite3_bind_int64(del, 1, rows[i].id);
        if (!(rc = run(s, mark, "purging attachments", err)))
            rc = run(s, del, "purging attachments", err);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (!rows[i].in_dir)
            continue;
        bind_str(ref, 1, rows[i].sha256);
        code = sqlite3_step(ref);
        if (code == SQLITE_ROW)
            rows[i].in_dir = 0; /* another row still holds that content */
        else if (code != SQLITE_DONE)
            rc = fail(s, code, "purging attachments", err);
        sqlite3_reset(ref);
    }
    if (!rc)
        rc = exec(s, "COMMIT", "purging attachments", err);
out:
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(sel);
    sqlite3_finalize(mark);
    sqlite3_finalize(del);
    sqlite3_finalize(ref);
    if (!rc) {
        *purged = (int64_t)n;
        for (size_t i = 0; i < n; i++) /* two rows of one content: one call */
            for (size_t j = i + 1; rows[i].in_dir && j < n; j++)
                if (rows[j].in_dir && !strcmp(rows[i].sha256, rows[j].sha256))
                    rows[i].in_dir = 0;
        for (size_t i = 0; i < n; i++)
            if (rows[i].in_dir && fn && fn(user, rows[i].sha256))
                break;
    }
    free(rows);
    return rc;
}

const struct eb_adapter_methods eb_adapter_sqlite = {
    .version = 4,
    .name = "sqlite",
    .scheme = "sqlite",
    .instance_size = sizeof(struct sqlite_adapter),
    .open = sq_open,
    .close = sq_close,
    .ping = sq_ping,
    .list_pushes = sq_list_pushes,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_transaction = sq_in_transaction,
    .savepoint = sq_savepoint,
    .release = sq_release,
    .rollback_to = sq_rollback_to,
    .log_get = sq_log_get,
    .log_put = sq_log_put,
    .candidate_write = sq_candidate_write,
    .candidate_last = sq_candidate_last,
    .interview_apply = sq_interview_apply,
    .share = sq_share,
    .writer_setup = sq_writer_setup,
    .writer_idle = sq_writer_idle,
    .push_page = sq_push_page,
    .push_get = sq_push_get,
    .push_counts = sq_push_counts,
    .purge_payloads = sq_purge_payloads,
    .push_warnings = sq_push_warnings,
    .att_enqueue = sq_att_enqueue,
    .att_requeue = sq_att_requeue,
    .att_claim = sq_att_claim,
    .att_chunk = sq_att_chunk,
    .att_finish = sq_att_finish,
    .att_list = sq_att_list,
    .att_read = sq_att_read,
    .att_stats = sq_att_stats,
    .att_purge = sq_att_purge,
};

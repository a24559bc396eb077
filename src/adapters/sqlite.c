/* The SQLite adapter (eb_adapter_sqlite) for URLs sqlite:PATH and sqlite://PATH, with options
 * ?synchronous=full|normal (default full: `true` only after a durable commit) and
 * &busy_timeout=MS (default 5000). One instance is one connection in WAL mode; it creates the
 * default schema (adapters/sqlgen.c) on first open and prepares every statement once. Several
 * instances may use the same file from different threads: each push is one BEGIN IMMEDIATE
 * transaction, and the instances of one process writing to the same file take turns on a mutex
 * (the write gate) rather than on SQLite's sleeping busy handler. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "adapters/adapter.h"
#include "adapters/sqlgen.h"
#include "candidate/candidate.h"
#include "util/log.h"

#define BUSY_TIMEOUT_MS                                                                            \
    5000 /* default wait for another connection's transaction (busy_timeout)                       \
          */

/* The write gate of one database file: instances of this process that write to the same file
 * take turns on a mutex instead of SQLite's busy handler, which sleeps 1, 2, 5, 10, ... ms
 * between tries and lets a waiter starve. Writers in other processes still meet the busy
 * timeout. */
struct gate {
    dev_t dev;            /* the file's device */
    ino_t ino;            /* and inode: one gate per file, whatever path names it */
    pthread_mutex_t lock; /* held from BEGIN IMMEDIATE to COMMIT / ROLLBACK */
    int refs;             /* instances using it */
    struct gate *next;    /* in the list of gates */
};

static pthread_mutex_t gates_lock = PTHREAD_MUTEX_INITIALIZER; /* guards gates */
static struct gate *gates;                                     /* every gate in use */

struct sqlite_adapter {
    struct eb_adapter base;       /* first member: the adapter table */
    sqlite3 *db;                  /* the connection; NULL when not opened */
    struct gate *gate;            /* the file's write gate; NULL for in-memory databases */
    int busy_ms;                  /* how long a writer waits for another one */
    struct eb_sql_schema *schema; /* the default schema in SQLite's dialect */
    sqlite3_stmt *begin;          /* BEGIN IMMEDIATE */
    sqlite3_stmt *commit;         /* COMMIT */
    sqlite3_stmt *rollback;       /* ROLLBACK */
    sqlite3_stmt *find_log;       /* outcome and message of a push id */
    sqlite3_stmt *put_log;        /* push_log upsert (any previous outcome) */
    sqlite3_stmt *put_failure;    /* push_log upsert that only overwrites 'failed' */
    sqlite3_stmt *version;        /* the schema version */
    sqlite3_stmt **insert;        /* per schema table: the row insert (candidate: upsert) */
    sqlite3_stmt **remove;        /* per schema table: delete by application_id (children) */
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

/* eb_sqlgen_row_fn: inserts one row with the table's prepared statement. */
static eb_rc insert_row(void *ctx, const struct eb_sql_table *t, const struct eb_sql_value *v,
                        struct eb_err *err)
{
    struct sqlite_adapter *s = ctx;
    sqlite3_stmt *st = s->insert[t->index];
    for (size_t i = 0; i < t->n_columns; i++) {
        int c;
        int at = (int)i + 1;
        switch (v[i].type) {
        case EB_SQL_VINT:
            c = sqlite3_bind_int64(st, at, v[i].i);
            break;
        case EB_SQL_VTEXT:
            c = sqlite3_bind_text64(st, at, v[i].s, v[i].len, SQLITE_STATIC, SQLITE_UTF8);
            break;
        default:
            c = sqlite3_bind_null(st, at);
            break;
        }
        if (c)
            return fail(s, c, t->name, err);
    }
    return run(s, st, t->name, err);
}

/* ---- the write gate ---------------------------------------------------------------------- */

/* Joins the gate of the database file (none for in-memory and temporary databases). */
static eb_rc gate_join(struct sqlite_adapter *s, struct eb_err *err)
{
    const char *file = sqlite3_db_filename(s->db, "main");
    struct stat st;
    if (!file || !*file || stat(file, &st) != 0)
        return EB_OK;
    pthread_mutex_lock(&gates_lock);
    struct gate *g = gates;
    while (g && !(g->dev == st.st_dev && g->ino == st.st_ino))
        g = g->next;
    if (!g && (g = calloc(1, sizeof *g)) != NULL) {
        g->dev = st.st_dev;
        g->ino = st.st_ino;
        pthread_mutex_init(&g->lock, NULL);
        g->next = gates;
        gates = g;
    }
    if (g)
        g->refs++;
    pthread_mutex_unlock(&gates_lock);
    s->gate = g;
    return g ? EB_OK : eb_err_set(err, EB_ERR_NOMEM, "out of memory");
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
        pthread_mutex_destroy(&g->lock);
        free(g);
    }
    pthread_mutex_unlock(&gates_lock);
}

/* Waits for the gate at most the busy timeout: a writer stuck in a transaction (a stalled disk)
 * makes the others fail as "unavailable" instead of hanging. */
static eb_rc gate_enter(struct sqlite_adapter *s, struct eb_err *err)
{
    if (!s->gate)
        return EB_OK;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += s->busy_ms / 1000;
    until.tv_nsec += (long)(s->busy_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int e = pthread_mutex_timedlock(&s->gate->lock, &until);
    if (e == 0)
        return EB_OK;
    return eb_err_set(err, EB_ERR_UNAVAILABLE,
                      "sqlite: another writer of this process held the database for %d ms (%d)",
                      s->busy_ms, e);
}

static void gate_exit(struct sqlite_adapter *s)
{
    if (s->gate)
        pthread_mutex_unlock(&s->gate->lock);
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

static eb_rc check_version(int64_t version, struct eb_err *err)
{
    if (version > EB_SQL_SCHEMA_VERSION)
        return eb_err_set(err, EB_ERR_DB,
                          "database schema version %lld is newer than this ehrbridge (%d)",
                          (long long)version, EB_SQL_SCHEMA_VERSION);
    if (version != EB_SQL_SCHEMA_VERSION)
        return eb_err_set(err, EB_ERR_DB, "database schema version %lld is unknown (expected %d)",
                          (long long)version, EB_SQL_SCHEMA_VERSION);
    return EB_OK;
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
    if ((rc = read_version(s, s->version, &version, err)) || (rc = check_version(version, err)))
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

    s->insert = calloc(sc->n_tables, sizeof *s->insert);
    s->remove = calloc(sc->n_tables, sizeof *s->remove);
    if (!s->insert || !s->remove) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        goto out;
    }
    failure_sql = eb_sqlgen_upsert_where(sc, log, "\"push_log\".\"outcome\" = 'failed'", err);
    if (!failure_sql) {
        rc = err ? err->rc : EB_ERR_NOMEM;
        goto out;
    }
    if ((rc = prepare(s, "BEGIN IMMEDIATE", &s->begin, "preparing", err)) ||
        (rc = prepare(s, "COMMIT", &s->commit, "preparing", err)) ||
        (rc = prepare(s, "ROLLBACK", &s->rollback, "preparing", err)) ||
        (rc = prepare(s, "SELECT \"outcome\", \"message\" FROM \"push_log\" WHERE \"push_id\" = ?",
                      &s->find_log, "preparing", err)) ||
        (rc = prepare(s, log->upsert_sql, &s->put_log, "preparing push_log", err)) ||
        (rc = prepare(s, failure_sql, &s->put_failure, "preparing push_log", err)))
        goto out;
    for (size_t i = sc->candidate; i < sc->n_tables; i++) {
        const struct eb_sql_table *t = &sc->tables[i];
        const char *sql = t->role == EB_SQL_ROLE_CANDIDATE ? t->upsert_sql : t->insert_sql;
        if ((rc = prepare(s, sql, &s->insert[i], t->name, err)))
            goto out;
        if (t->role == EB_SQL_ROLE_CHILD &&
            (rc = prepare(s, t->delete_sql, &s->remove[i], t->name, err)))
            goto out;
    }
out:
    free(failure_sql);
    return rc;
}

static void sq_close(struct eb_adapter *a)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    if (s->insert || s->remove) {
        for (size_t i = 0; s->schema && i < s->schema->n_tables; i++) {
            if (s->insert)
                sqlite3_finalize(s->insert[i]);
            if (s->remove)
                sqlite3_finalize(s->remove[i]);
        }
    }
    free(s->insert);
    free(s->remove);
    s->insert = s->remove = NULL;
    sqlite3_stmt **one[] = {&s->begin,   &s->commit,      &s->rollback, &s->find_log,
                            &s->put_log, &s->put_failure, &s->version};
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

static eb_rc sq_open(struct eb_adapter *a, const char *url, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    struct sqlite_url u = {NULL, 1, BUSY_TIMEOUT_MS};

    if ((rc = parse_url(url, &u, err)))
        goto out;
    if (!sqlite3_threadsafe()) {
        rc = eb_err_set(err, EB_ERR_CONFIG, "sqlite: the SQLite library is built without threads");
        goto out;
    }
    int code = sqlite3_open_v2(
        u.path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (code != SQLITE_OK) {
        rc = fail(s, code, "opening the database", err);
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    s->busy_ms = u.busy_ms;
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
        (rc = ensure_schema(s, err)) || (rc = prepare_all(s, err)) || (rc = gate_join(s, err)))
        goto out;
out:
    free(u.path);
    return rc;
}

/* ---- pushes ------------------------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static eb_rc replace_candidate(struct sqlite_adapter *s, const struct eb_push *p,
                               const struct eb_push_record *rec, int64_t updated_at,
                               struct eb_err *err)
{
    eb_rc rc = EB_OK;
    size_t n;
    const struct eb_sql_table *children = eb_sqlgen_child_tables(s->schema, &n);
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st = s->remove[children[i].index];
        int code = sqlite3_bind_int64(st, 1, p->data->application_id.v);
        if (code)
            return fail(s, code, children[i].name, err);
        if ((rc = run(s, st, children[i].name, err)))
            return rc;
    }
    return eb_sqlgen_walk(s->schema, p->data, rec->push_id, updated_at, insert_row, s, err);
}

static eb_rc sq_store_push(struct eb_adapter *a, const struct eb_push *p,
                           const struct eb_push_record *rec, struct eb_stored *out,
                           struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    int found = 0;
    if (!rec || !rec->push_id)
        return eb_err_set(err, EB_ERR_INVALID, "the push has no id");
    if (p && (!p->data || !p->data->application_id.set))
        return eb_err_set(err, EB_ERR_INVALID, "the record has no applicationId");
    enum eb_outcome outcome = p ? EB_OUTCOME_STORED : rec->outcome;
    if (outcome == EB_OUTCOME_STORED && !p)
        return eb_err_set(err, EB_ERR_INVALID, "a push recorded as stored needs its record");
    int64_t received_at = rec->received_at_ms ? rec->received_at_ms : now_ms();

    if ((rc = gate_enter(s, err)))
        return rc;
    if ((rc = run(s, s->begin, "BEGIN IMMEDIATE", err)))
        goto out;
    if ((rc = find_final(s, rec->push_id, out, &found, err)))
        goto out;
    if (found) {
        rc = run(s, s->rollback, "ROLLBACK", err);
        goto out;
    }
    if (p && (rc = replace_candidate(s, p, rec, received_at, err)))
        goto out;
    if ((rc = bind_log(s, s->put_log, rec, outcome, received_at, err)) ||
        (rc = run(s, s->put_log, "push_log", err)) || (rc = run(s, s->commit, "COMMIT", err)))
        goto out;
    out->outcome = outcome;
    out->duplicate = 0;
    snprintf(out->message, sizeof out->message, "%s",
             outcome != EB_OUTCOME_STORED && rec->message ? rec->message : "");
out:
    if (rc)
        abandon(s);
    gate_exit(s);
    return rc;
}

static eb_rc sq_log_failure(struct eb_adapter *a, const struct eb_push_record *rec,
                            struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    if (!rec || !rec->push_id)
        return eb_err_set(err, EB_ERR_INVALID, "the push has no id");
    int64_t received_at = rec->received_at_ms ? rec->received_at_ms : now_ms();
    /* One statement in autocommit mode: its own transaction. */
    if ((rc = gate_enter(s, err)))
        return rc;
    if ((rc = bind_log(s, s->put_failure, rec, EB_OUTCOME_FAILED, received_at, err)) ||
        (rc = run(s, s->put_failure, "push_log failure", err)))
        abandon(s);
    gate_exit(s);
    return rc;
}

static eb_rc sq_ping(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    int64_t version = 0;
    eb_rc rc = read_version(s, s->version, &version, err);
    return rc ? rc : check_version(version, err);
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
};

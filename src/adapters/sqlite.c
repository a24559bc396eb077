/* The SQLite adapter (eb_adapter_sqlite, table version 4) for URLs sqlite:PATH and
 * sqlite://PATH, with options ?synchronous=full|normal (default full: `true` only after a
 * durable commit) and &busy_timeout=MS (default 5000). One instance is one connection in WAL
 * mode; it creates the default schema (sql/sqlgen.c) on first open and prepares every
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

#include "adapters/sqlite_int.h"

/* ---- errors ------------------------------------------------------------------------------ */

/* Maps an SQLite result code to an eb_rc and describes it (driver text goes to logs only). */
eb_rc eb_sq_fail(struct sqlite_adapter *s, int code, const char *what, struct eb_err *err)
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
eb_rc eb_sq_run(struct sqlite_adapter *s, sqlite3_stmt *st, const char *what, struct eb_err *err)
{
    int code = sqlite3_step(st);
    eb_rc rc = code == SQLITE_DONE ? EB_OK : eb_sq_fail(s, code, what, err);
    sqlite3_reset(st);
    return rc;
}

/* Runs SQL text that returns no row (setup only: pragmas, DDL). */
eb_rc eb_sq_exec(struct sqlite_adapter *s, const char *sql, const char *what, struct eb_err *err)
{
    int code = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return code == SQLITE_OK ? EB_OK : eb_sq_fail(s, code, what, err);
}

eb_rc eb_sq_prepare(struct sqlite_adapter *s, const char *sql, sqlite3_stmt **st, const char *what,
                    struct eb_err *err)
{
    int code = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    return code == SQLITE_OK ? EB_OK : eb_sq_fail(s, code, what, err);
}

/* Ends a failed transaction, if one is still open (some errors roll back by themselves). */
void eb_sq_abandon(struct sqlite_adapter *s)
{
    if (s->db && !sqlite3_get_autocommit(s->db)) {
        sqlite3_step(s->rollback);
        sqlite3_reset(s->rollback);
    }
}

/* ---- binding ----------------------------------------------------------------------------- */

int eb_sq_bind_text(sqlite3_stmt *st, int i, const char *v, size_t len)
{
    return v ? sqlite3_bind_text64(st, i, v, len, SQLITE_STATIC, SQLITE_UTF8)
             : sqlite3_bind_null(st, i);
}

static int bind_blob(sqlite3_stmt *st, int i, const char *v, size_t len)
{
    return v ? sqlite3_bind_blob64(st, i, v, len, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int eb_sq_bind_str(sqlite3_stmt *st, int i, const char *v)
{
    return eb_sq_bind_text(st, i, v, v ? strlen(v) : 0);
}

int eb_sq_bind_opt_int(sqlite3_stmt *st, int i, int has, int64_t v)
{
    return has ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

/* Binds a push_log row (columns in eb_sql_schema push_log order) to st, rec as given. */
eb_rc eb_sq_bind_log(struct sqlite_adapter *s, sqlite3_stmt *st, const struct eb_push_record *rec,
                     enum eb_outcome outcome, int64_t received_at, struct eb_err *err)
{
    int c = SQLITE_OK;
    if ((c = eb_sq_bind_str(st, 1, rec->push_id)) || (c = eb_sq_bind_str(st, 2, rec->event)) ||
        (c = eb_sq_bind_str(st, 3, rec->triggered_at)) ||
        (c = sqlite3_bind_int64(st, 4, received_at)) ||
        (c = eb_sq_bind_opt_int(st, 5, rec->has_application_id, rec->application_id)) ||
        (c = eb_sq_bind_opt_int(st, 6, rec->has_candidate_id, rec->candidate_id)) ||
        (c = eb_sq_bind_str(st, 7, eb_outcome_name(outcome))) ||
        (c = eb_sq_bind_str(st, 8, rec->message)) ||
        (c = eb_sq_bind_text(st, 9, rec->payload, rec->payload_len)) ||
        (c = bind_blob(st, 10, rec->raw, rec->raw_len)))
        return eb_sq_fail(s, c, "binding push_log", err);
    return EB_OK;
}

/* Binds v[0..n) to st's parameters first, first + 1, ... (texts borrowed). A NULL value is
 * left as the parameter is: NULL after sqlite3_clear_bindings() or a fresh statement. */
eb_rc eb_sq_bind_values(struct sqlite_adapter *s, sqlite3_stmt *st, int first,
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
            return eb_sq_fail(s, c, what, err);
    }
    return EB_OK;
}

/* Binds one row of t (v: t->n_columns values, in insert_sql's order) to st. Most columns of a
 * candidate row are NULL: every parameter is cleared to NULL at once, and only values bound. */
eb_rc eb_sq_bind_row(struct sqlite_adapter *s, sqlite3_stmt *st, const struct eb_sql_table *t,
                     const struct eb_sql_value *v, struct eb_err *err)
{
    sqlite3_clear_bindings(st);
    return eb_sq_bind_values(s, st, 1, v, t->n_columns, t->name, err);
}

/* ---- the writer's checkpoints ------------------------------------------------------------ */

static eb_rc open_conn(struct sqlite_adapter *s, const char *url, struct eb_err *err);

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
    eb_rc rc = eb_sq_exec(s, "PRAGMA temp_store = MEMORY", "setting temp_store", err);
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
    eb_sq_interview_close(s);
    eb_sq_warning_close(s);
    eb_sq_mapped_close(s);
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
        rc = eb_sq_fail(s, code, "opening the database", err);
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    s->busy_ms = u.busy_ms;
    s->full = u.full;
    sqlite3_busy_timeout(s->db, u.busy_ms);
    sqlite3_stmt *st = NULL;
    if ((rc = eb_sq_prepare(s, "PRAGMA journal_mode = WAL", &st, "setting WAL mode", err)))
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
        rc = eb_sq_fail(s, code, "setting WAL mode", err);
        sqlite3_finalize(st);
        goto out;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || (strcasecmp(mode, "wal") != 0 && strcasecmp(mode, "memory") != 0))
        eb_log(EB_LOG_WARN, "sqlite: the database cannot use WAL mode; writers will wait longer",
               "journal_mode", mode, NULL);
    sqlite3_finalize(st);
    if ((rc = eb_sq_exec(s, u.full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                         "setting synchronous", err)))
        goto out;
    if ((rc = eb_sqlgen_build(&eb_sql_dialect_sqlite, &s->schema, err)) ||
        (rc = eb_sq_ensure_schema(s, err)) || (rc = eb_sq_interview_tables(s, err)) ||
        (rc = eb_sq_att_tables(s, err)) || (rc = eb_sq_warning_table(s, err)) ||
        (rc = eb_sq_prepare_all(s, err)))
        goto out;
out:
    free(u.path);
    return rc;
}

static eb_rc sq_open(struct eb_adapter *a, const char *url, struct eb_err *err)
{
    return open_conn((struct sqlite_adapter *)a, url, err);
}

const struct eb_adapter_methods eb_adapter_sqlite = {
    .version = 4,
    .name = "sqlite",
    .scheme = "sqlite",
    .instance_size = sizeof(struct sqlite_adapter),
    .open = sq_open,
    .close = sq_close,
    .ping = eb_sq_ping,
    .list_pushes = eb_sq_list_pushes,
    .begin = eb_sq_begin,
    .commit = eb_sq_commit,
    .rollback = eb_sq_rollback,
    .in_transaction = eb_sq_in_transaction,
    .savepoint = eb_sq_savepoint,
    .release = eb_sq_release,
    .rollback_to = eb_sq_rollback_to,
    .log_get = eb_sq_log_get,
    .log_put = eb_sq_log_put,
    .candidate_write = eb_sq_candidate_write,
    .candidate_last = eb_sq_candidate_last,
    .interview_apply = eb_sq_interview_apply,
    .share = sq_share,
    .writer_setup = sq_writer_setup,
    .writer_idle = sq_writer_idle,
    .push_page = eb_sq_push_page,
    .push_get = eb_sq_push_get,
    .push_counts = eb_sq_push_counts,
    .purge_payloads = eb_sq_purge_payloads,
    .push_warnings = eb_sq_push_warnings,
    .att_enqueue = eb_sq_att_enqueue,
    .att_requeue = eb_sq_att_requeue,
    .att_claim = eb_sq_att_claim,
    .att_chunk = eb_sq_att_chunk,
    .att_finish = eb_sq_att_finish,
    .att_list = eb_sq_att_list,
    .att_read = eb_sq_att_read,
    .att_stats = eb_sq_att_stats,
    .att_purge = eb_sq_att_purge,
};

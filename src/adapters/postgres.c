/* The PostgreSQL adapter (eb_adapter_postgres, libpq) for
 *   postgresql://user:pass@host:port/db?sslmode=...   any libpq URI (also postgres://)
 *   postgresql:host=... port=... dbname=... user=...  a libpq key=value string (also postgres:)
 * plus two options of ehrbridge's own, given in the query (URI) or as keys (key=value):
 *   statement_timeout=N[ms|s|min]  (default 10s; 0 = none) the longest one statement may run,
 *                                   including waits for locks held by another replica;
 *   writers=N                      (default 2, 1 to 16) the writer connections of a process,
 *                                   each writing its own batches (the bridge's group.c).
 * Defaults that the URL may override: connect_timeout=5, TCP keepalives, tcp_user_timeout=30000,
 * application_name=ehrbridge; client_encoding is always UTF8.
 *
 * One instance is one connection (the service opens one per worker). Opening creates or migrates
 * the default schema (sql/sqlgen.c) in one transaction under a transaction-level advisory
 * lock, so that replicas starting together do not race; a schema newer than this binary is
 * refused. Every statement is prepared once per connection.
 *
 * Several processes may share the database; the database, not the process, keeps a push id stored
 * once and a candidate whole. The adapter offers the primitives of adapter.h (table version 4);
 * the bridge writes the push rules with them, one READ COMMITTED transaction per batch of pushes
 * (group commit, each push in its own savepoint after a failure), sent as a libpq pipeline (a
 * few round trips instead of one per row):
 *   1. the claim, INSERT INTO push_log ... ON CONFLICT (push_id) DO UPDATE ... WHERE outcome =
 *      'failed' RETURNING push_id and whether the candidate row exists: a concurrent transaction
 *      holding the same id makes this wait for its end; when the id is then recorded with a
 *      final outcome nothing is returned;
 *   2. the candidate row upsert: takes the row lock on the applicationId, so that two pushes for
 *      one candidate replace it one after the other, never interleaved;
 *   3. one statement deleting the candidate's rows from every child table (data-modifying CTEs);
 *      for a candidate whose row did not exist at the claim (the usual push), 2 and 3 are one
 *      plain INSERT instead, checked: when its key is taken, or a child row's is, the write is
 *      rolled back and done again with 2 and 3 (eb_pg_candidate_write);
 *   4. the new child rows (consecutive rows of one table, from MANY_MIN, in one INSERT ...
 *      SELECT FROM unnest(one array per column)); then, with the document archive, the record's
 *      download links as
 *      pending attachment rows; 5. COMMIT (durable: synchronous_commit is the server's, on by
 *      default).
 * In a batch's first try (no savepoint) the rows of 2-4 are not waited for: their results are
 * read with the next push's claim or the commit (one round trip per push, and one per batch);
 * the rows of the batch's new candidates are carried to the commit and sent as one INSERT per
 * child table for all of them (postgres_carry.c). A failure found that late is retryable: the
 * bridge writes the batch again, each push in a savepoint, where each push's rows are waited
 * for.
 * Serialization failures and deadlocks are retryable (eb_pg_retryable): the bridge tries again.
 *
 * Interview events claim their push id the same way; each interview then takes a
 * transaction-level advisory lock on its event_id (two replicas replacing one interview take
 * turns), deletes the event_id's rows and, unless the event is a delete, inserts the new ones.
 * Their tables are created with the schema (IF NOT EXISTS, under the schema lock), also in a
 * database made before them.
 *
 * The attachment queue (attachment, attachment_chunk; created the same way) is claimed across
 * replicas with FOR UPDATE SKIP LOCKED and a lease that lapses when a replica dies.
 *
 * A lost connection (database restart, network) is noticed when a statement fails or PQstatus is
 * CONNECTION_BAD: the connection is dropped and the next call (a transaction's begin, a ping from
 * GET /readyz) connects again and prepares its statements again. A transaction whose connection
 * broke under it is retryable; its push id makes that safe (had the commit happened, the retry
 * finds it recorded and answers from the record). While the database is down
 * calls fail with EB_ERR_UNAVAILABLE. Passwords never appear in messages. */

#include "adapters/postgres_int.h"

/* ---- text -------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid or NUL: the rules of
 * PostgreSQL's verifier (no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c == 0)
        return 0;
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* NULL when s[0..n) is valid UTF-8 without NUL; otherwise a malloc'd copy with every invalid
 * byte and NUL replaced by U+FFFD (*out_len set). PostgreSQL text can hold neither; text from
 * the parser is valid already, this only guards messages cut in a character. Sets *nomem on
 * allocation failure. */
char *eb_pg_utf8_clean(const char *s, size_t n, size_t *out_len, int *nomem)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, k;
    while (i < n && (k = utf8_seq(u + i, n - i)) != 0)
        i += k;
    if (i == n)
        return NULL;
    char *r = malloc(n * 3 + 1);
    if (!r) {
        *nomem = 1;
        return NULL;
    }
    size_t o = 0;
    for (i = 0; i < n;) {
        k = utf8_seq(u + i, n - i);
        if (k) {
            memcpy(r + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(r + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    r[o] = '\0';
    *out_len = o;
    return r;
}

/* Copies src into dst (size n) as one line: whitespace runs become one space, ends trimmed,
 * every occurrence of the adapter's secrets replaced by "***". */
void eb_pg_one_line(const struct pg_adapter *g, char *dst, size_t n, const char *src)
{
    size_t o = 0;
    int space = 0;
    if (!n)
        return;
    for (const char *p = src ? src : ""; *p && o + 1 < n;) {
        int matched = 0;
        for (int k = 0; k < 2 && !matched; k++) {
            const char *sec = g ? g->secret[k] : NULL;
            size_t sl = sec ? strlen(sec) : 0;
            if (sl >= 3 && strncmp(p, sec, sl) == 0) {
                if (space && o) {
                    dst[o++] = ' ';
                    space = 0;
                }
                for (const char *m = "***"; *m && o + 1 < n; m++)
                    dst[o++] = *m;
                p += sl;
                matched = 1;
            }
        }
        if (matched)
            continue;
        if (isspace((unsigned char)*p)) {
            space = 1;
        } else {
            if (space && o)
                dst[o++] = ' ';
            space = 0;
            if (o + 1 < n)
                dst[o++] = *p;
        }
        p++;
    }
    dst[o] = '\0';
}

/* ---- failures ---------------------------------------------------------------------------- */

void eb_pg_note_fail(struct pg_adapter *g, const char *state, const char *what, const char *text)
{
    if (g->fail.set)
        return;
    char line[180];
    eb_pg_one_line(g, line, sizeof line, text);
    g->fail.set = 1;
    snprintf(g->fail.state, sizeof g->fail.state, "%s", state ? state : "");
    snprintf(g->fail.detail, sizeof g->fail.detail, "%s: %s", what, line[0] ? line : "failed");
}

/* Records the failure a result describes (or the connection's message when there is none). */
void eb_pg_note_result(struct pg_adapter *g, const PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg || !*msg)
        msg = g->conn ? PQerrorMessage(g->conn) : "no connection";
    eb_pg_note_fail(g, state, what, msg);
}

int eb_pg_connection_lost(const struct pg_adapter *g)
{
    return !g->conn || PQstatus(g->conn) == CONNECTION_BAD;
}

/* Class of a failure: 1 when retrying the transaction may succeed. */
int eb_pg_retryable_state(const char *state)
{
    return !strcmp(state, "40001") || !strcmp(state, "40P01");
}

/* The eb_rc of the recorded failure, written into err. */
eb_rc eb_pg_fail_rc(struct pg_adapter *g, struct eb_err *err)
{
    const char *s = g->fail.state;
    eb_rc rc = EB_ERR_DB;
    if (eb_pg_connection_lost(g) || !s[0] || !strncmp(s, "08", 2) || !strncmp(s, "53", 2) ||
        !strncmp(s, "57", 2) || !strncmp(s, "58", 2) || eb_pg_retryable_state(s))
        rc = EB_ERR_UNAVAILABLE; /* down, restarting, overloaded, timed out, contended */
    if (!strcmp(s, "42P01") || !strcmp(s, "42703"))
        rc = EB_ERR_DB; /* the schema is not the one this binary knows */
    return eb_err_set(err, rc, "postgres: %s%s%s%s", g->fail.detail, s[0] ? " (SQLSTATE " : "", s,
                      s[0] ? ")" : "");
}

/* ---- the connection ---------------------------------------------------------------------- */

void eb_pg_disconnect(struct pg_adapter *g)
{
    if (g->conn) {
        PQfinish(g->conn);
        g->conn = NULL;
    }
    g->queued = 0;
}

/* Server notices ("relation ... already exists, skipping") are not for stderr. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Runs text that returns no rows outside a pipeline. */
int eb_pg_exec_ok(struct pg_adapter *g, const char *sql, const char *what)
{
    PGresult *r = PQexec(g->conn, sql);
    int st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        eb_pg_note_result(g, r, what);
    PQclear(r);
    return ok;
}

/* ---- the pipeline ------------------------------------------------------------------------ */

/* Frees the cleaned copies of parameters that were bound but not sent. */
void eb_pg_release_params(struct pg_adapter *g)
{
    for (size_t i = 0; i < EB_SQL_MAX_COLUMNS; i++) {
        free(g->tmp[i]);
        g->tmp[i] = NULL;
    }
}

int eb_pg_pipeline_enter(struct pg_adapter *g)
{
    g->queued = 0;
    g->row_sends = 0;
    if (PQpipelineStatus(g->conn) == PQ_PIPELINE_ON || PQenterPipelineMode(g->conn) == 1)
        return 1;
    eb_pg_note_result(g, NULL, "entering pipeline mode");
    return 0;
}

/* Sends a statement with no parameters (BEGIN, COMMIT, ROLLBACK). */
int eb_pg_send_text(struct pg_adapter *g, const char *sql)
{
    if (PQsendQueryParams(g->conn, sql, 0, NULL, NULL, NULL, NULL, 0) != 1) {
        eb_pg_note_result(g, NULL, sql);
        return 0;
    }
    g->queued++;
    return 1;
}

/* Sends prepared statement name with the n parameters in g->pv/pl/pf, then frees the cleaned
 * copies eb_pg_bind_text made. */
int eb_pg_send_prepared(struct pg_adapter *g, const char *name, int n)
{
    int ok = PQsendQueryPrepared(g->conn, name, n, g->pv, g->pl, g->pf, 0) == 1;
    for (int i = 0; i < n; i++) {
        free(g->tmp[i]);
        g->tmp[i] = NULL;
    }
    if (!ok) {
        eb_pg_note_result(g, NULL, name);
        return 0;
    }
    g->queued++;
    return 1;
}

/* Sends a sync and reads the results of every statement queued since the last one. The result
 * of statement i (0-based since that sync) is handed to keep[i] when i < n_keep (caller clears;
 * NULL when the statement did not run). Returns 1 when every statement succeeded. */
int eb_pg_pipeline_sync(struct pg_adapter *g, PGresult **keep, int n_keep)
{
    int ok = 1, n = g->queued;
    for (int i = 0; i < n_keep; i++)
        keep[i] = NULL;
    g->queued = 0;
    g->pending = 0;
    g->row_sends = 0;
    if (PQpipelineSync(g->conn) != 1) {
        eb_pg_note_result(g, NULL, "pipeline sync");
        return 0;
    }
    for (int i = 0; i < n; i++) {
        PGresult *r;
        int got = 0;
        while ((r = PQgetResult(g->conn)) != NULL) {
            got = 1;
            int st = PQresultStatus(r);
            if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
                ok = 0;
                eb_pg_note_result(g, r, "statement");
            } else if (st == PGRES_PIPELINE_ABORTED) {
                ok = 0;
            }
            if (i < n_keep && !keep[i] && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK))
                keep[i] = r;
            else
                PQclear(r);
        }
        if (!got && eb_pg_connection_lost(g)) {
            eb_pg_note_result(g, NULL, "reading results");
            return 0;
        }
    }
    PGresult *r = PQgetResult(g->conn);
    int st = r ? (int)PQresultStatus(r) : -1;
    PQclear(r);
    if (st != (int)PGRES_PIPELINE_SYNC) {
        eb_pg_note_result(g, NULL, "reading the pipeline's end");
        return 0;
    }
    return ok;
}

/* Leaves pipeline mode after a failure or at the end: reads what is still queued, ends an open
 * transaction, and drops the connection when it is broken. */
void eb_pg_pipeline_leave(struct pg_adapter *g)
{
    eb_pg_release_params(g);
    eb_pg_carry_reset(g);
    g->hint_set = 0;
    if (!g->conn)
        return;
    if (PQpipelineStatus(g->conn) != PQ_PIPELINE_OFF) {
        if (g->queued && !eb_pg_connection_lost(g))
            eb_pg_pipeline_sync(g, NULL, 0);
        if (eb_pg_connection_lost(g) || PQexitPipelineMode(g->conn) != 1) {
            eb_pg_disconnect(g);
            return;
        }
    }
    if (!eb_pg_connection_lost(g) && PQtransactionStatus(g->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(g->conn, "ROLLBACK");
        PQclear(r);
    }
    if (eb_pg_connection_lost(g))
        eb_pg_disconnect(g);
}

/* ---- parameters -------------------------------------------------------------------------- */

void eb_pg_bind_null(struct pg_adapter *g, int i)
{
    g->pv[i] = NULL;
    g->pl[i] = 0;
    g->pf[i] = 1;
}

void eb_pg_bind_int(struct pg_adapter *g, int i, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int k = 7; k >= 0; k--) {
        g->ib[i][k] = (char)(u & 0xff);
        u >>= 8;
    }
    g->pv[i] = g->ib[i];
    g->pl[i] = 8;
    g->pf[i] = 1;
}

/* Binds text (binary format: the bytes themselves), cleaned when it is not valid UTF-8. */
int eb_pg_bind_text(struct pg_adapter *g, int i, const char *s, size_t len)
{
    if (!s) {
        eb_pg_bind_null(g, i);
        return 1;
    }
    int nomem = 0;
    size_t clean_len = 0;
    char *c = eb_pg_utf8_clean(s, len, &clean_len, &nomem);
    if (nomem) {
        eb_pg_note_fail(g, NULL, "binding", "out of memory");
        return 0;
    }
    if (c) {
        g->tmp[i] = c;
        s = c;
        len = clean_len;
    }
    if (len > 0x3fffffff) {
        eb_pg_note_fail(g, NULL, "binding", "value too large");
        return 0;
    }
    g->pv[i] = s;
    g->pl[i] = (int)len;
    g->pf[i] = 1;
    return 1;
}

/* Binds bytes as they are (bytea, binary format). */
int eb_pg_bind_bytes(struct pg_adapter *g, int i, const char *s, size_t len)
{
    if (!s) {
        eb_pg_bind_null(g, i);
        return 1;
    }
    if (len > 0x3fffffff) {
        eb_pg_note_fail(g, NULL, "binding", "value too large");
        return 0;
    }
    g->pv[i] = s;
    g->pl[i] = (int)len;
    g->pf[i] = 1;
    return 1;
}

int eb_pg_bind_str(struct pg_adapter *g, int i, const char *s)
{
    return eb_pg_bind_text(g, i, s, s ? strlen(s) : 0);
}

/* Binds a push_log row (columns in push_log order) as parameters 1..10, rec as given. */
int eb_pg_bind_log(struct pg_adapter *g, const struct eb_push_record *rec, enum eb_outcome outcome,
                   int64_t received_at)
{
    eb_pg_bind_int(g, 3, received_at);
    if (rec->has_application_id)
        eb_pg_bind_int(g, 4, rec->application_id);
    else
        eb_pg_bind_null(g, 4);
    if (rec->has_candidate_id)
        eb_pg_bind_int(g, 5, rec->candidate_id);
    else
        eb_pg_bind_null(g, 5);
    return eb_pg_bind_str(g, 0, rec->push_id) && eb_pg_bind_str(g, 1, rec->event) &&
           eb_pg_bind_str(g, 2, rec->triggered_at) &&
           eb_pg_bind_str(g, 6, eb_outcome_name(outcome)) && eb_pg_bind_str(g, 7, rec->message) &&
           eb_pg_bind_text(g, 8, rec->payload, rec->payload_len) &&
           eb_pg_bind_bytes(g, 9, rec->raw, rec->raw_len);
}

/* ---- statements -------------------------------------------------------------------------- */

void eb_pg_table_stmt_name(char *buf, size_t n, size_t index)
{
    snprintf(buf, n, "eb_t%zu", index);
}

static int prepare_one(struct pg_adapter *g, const char *name, const char *sql, int n,
                       const Oid *types)
{
    if (PQsendPrepare(g->conn, name, sql, n, types) != 1) {
        eb_pg_note_result(g, NULL, name);
        return 0;
    }
    g->queued++;
    return 1;
}

static void column_types(const struct eb_sql_table *t, Oid *types)
{
    for (size_t i = 0; i < t->n_columns; i++)
        types[i] = t->columns[i].type == EB_SQL_INTEGER ? INT8OID
                   : t->columns[i].type == EB_SQL_BLOB  ? BYTEAOID
                                                        : TEXTOID;
}

/* Prepares every statement on the current connection, in one pipeline. */
static int prepare_all(struct pg_adapter *g)
{
    const struct eb_sql_schema *sc = g->schema;
    const struct eb_sql_table *log = &sc->tables[sc->push_log];
    Oid types[EB_SQL_MAX_COLUMNS];
    Oid text1[1] = {TEXTOID}, int1[1] = {INT8OID};
    char name[32];
    int ok = eb_pg_pipeline_enter(g);
    column_types(log, types);
    ok = ok && prepare_one(g, "eb_claim", g->claim_sql, (int)log->n_columns, types) &&
         prepare_one(g, "eb_put", g->put_sql, (int)log->n_columns, types) &&
         prepare_one(g, "eb_find",
                     "SELECT \"outcome\", \"message\" FROM \"push_log\" WHERE \"push_id\" = $1"
                     " FOR UPDATE",
                     1, text1) &&
         prepare_one(g, "eb_version",
                     "SELECT coalesce(max(\"version\"), 0) FROM \"schema_version\"", 0, NULL) &&
         prepare_one(g, "eb_purge", g->purge_sql, 1, int1);
    if (ok && g->fresh_sql) {
        column_types(&sc->tables[sc->candidate], types);
        ok = prepare_one(g, "eb_fresh", g->fresh_sql, (int)sc->tables[sc->candidate].n_columns,
                         types);
    }
    for (size_t i = sc->candidate; ok && i < sc->n_tables; i++) {
        const struct eb_sql_table *t = &sc->tables[i];
        column_types(t, types);
        eb_pg_table_stmt_name(name, sizeof name, i);
        ok = prepare_one(g, name, t->role == EB_SQL_ROLE_CANDIDATE ? t->upsert_sql : t->insert_sql,
                         (int)t->n_columns, types);
        if (ok && g->many_sql && g->many_sql[i]) {
            for (size_t k = 0; k < t->n_columns; k++)
                types[k] = types[k] == INT8OID    ? INT8ARRAYOID
                           : types[k] == BYTEAOID ? BYTEAARRAYOID
                                                  : TEXTARRAYOID;
            snprintf(name, sizeof name, "eb_u%zu", i);
            ok = prepare_one(g, name, g->many_sql[i], (int)t->n_columns, types);
        }
    }
    char lock_sql[96];
    snprintf(lock_sql, sizeof lock_sql, "SELECT pg_advisory_xact_lock(%d, hashtext($1))",
             INTERVIEW_LOCK_SPACE);
    ok = ok && prepare_one(g, "eb_ilock", lock_sql, 1, text1);
    if (g->map_sql) {
        /* parameter types left to the server: the mapped columns are the EHR's (DATE, NUMERIC,
         * VARCHAR(n), ...) and values are sent as text */
        snprintf(lock_sql, sizeof lock_sql, "SELECT pg_advisory_xact_lock(%d, hashtext($1))",
                 MAPPED_LOCK_SPACE);
        ok = ok && prepare_one(g, "eb_mlock", lock_sql, 1, text1);
        for (size_t t = 0; ok && t < g->map_sql->n_tables; t++) {
            const struct eb_mapping_table_sql *ts = &g->map_sql->tables[t];
            const char *text[3] = {ts->update_sql, ts->insert_sql, ts->remove_sql};
            for (int k = 0; ok && k < 3; k++) {
                snprintf(name, sizeof name, "eb_m%zu_%d", t, k);
                ok = !text[k] || prepare_one(g, name, text[k], 0, NULL);
            }
        }
    }
    for (size_t t = 0; ok && t < EB_ITV_N_TABLES; t++) {
        /* the parameter types follow the columns (BIGINT or TEXT) */
        snprintf(name, sizeof name, "eb_iin%zu", t);
        ok = prepare_one(g, name, g->itv.insert[t], 0, NULL);
        snprintf(name, sizeof name, "eb_irm%zu", t);
        ok = ok && prepare_one(g, name, g->itv.remove[t], 1, text1);
    }
    /* push_warning (sql/warning_sql.h) */
    ok = ok && prepare_one(g, "eb_win", g->wsql.insert, 0, NULL);
    ok = ok && prepare_one(g, "eb_wrm", g->wsql.remove, 1, text1);
    static const Oid texts1[] = {TEXTARRAYOID};
    ok = ok && prepare_one(g, "eb_wrm_many",
                           "DELETE FROM \"push_warning\" WHERE \"push_id\" = ANY($1)", 1, texts1);
    ok = ok && eb_pg_pipeline_sync(g, NULL, 0);
    if (ok && (PQexitPipelineMode(g->conn) != 1)) {
        eb_pg_note_result(g, NULL, "leaving pipeline mode");
        ok = 0;
    }
    if (!ok)
        eb_pg_pipeline_leave(g);
    return ok;
}

/* Connects when there is no usable connection: session settings, the schema (first time only),
 * prepared statements. */
eb_rc eb_pg_ensure_connected(struct pg_adapter *g, struct eb_err *err)
{
    if (g->conn && PQstatus(g->conn) == CONNECTION_OK)
        return EB_OK;
    eb_pg_disconnect(g);
    g->fail.set = 0;
    if (g->retry_at_ms && eb_mono_ms() < g->retry_at_ms)
        return eb_err_set(err, g->down.rc, "%s", g->down.msg);
    g->retry_at_ms = 0;
    g->conn = PQconnectdbParams(g->keys, g->vals, 1);
    if (!g->conn)
        return eb_err_set(err, EB_ERR_NOMEM, "postgres: out of memory connecting");
    if (PQstatus(g->conn) != CONNECTION_OK) {
        char line[220];
        eb_pg_one_line(g, line, sizeof line, PQerrorMessage(g->conn));
        eb_pg_disconnect(g);
        eb_err_set(&g->down, EB_ERR_UNAVAILABLE, "postgres: cannot connect: %s", line);
        g->retry_at_ms = eb_mono_ms() + RECONNECT_PAUSE_MS;
        return eb_err_set(err, EB_ERR_UNAVAILABLE, "%s", g->down.msg);
    }
    PQsetNoticeProcessor(g->conn, quiet, NULL);
    if (PQserverVersion(g->conn) < MIN_SERVER_VERSION) {
        eb_pg_disconnect(g);
        return eb_err_set(err, EB_ERR_CONFIG, "postgres: the server is older than 9.5");
    }
    char sql[64];
    snprintf(sql, sizeof sql, "SET statement_timeout = %ld", g->timeout_ms);
    if (!eb_pg_exec_ok(g, sql, "setting statement_timeout"))
        goto fail;
    if (!g->schema_checked) {
        eb_rc rc = eb_pg_ensure_schema(g, err);
        if (rc) {
            eb_pg_disconnect(g);
            return rc;
        }
        g->schema_checked = 1;
    }
    if (!g->att_ready) {
        if (!eb_pg_att_tables(g))
            goto fail;
        g->att_ready = 1;
    }
    if (!prepare_all(g))
        goto fail;
    return EB_OK;
fail:;
    eb_rc rc = eb_pg_fail_rc(g, err);
    eb_pg_disconnect(g);
    return rc;
}

/* ---- open / close ------------------------------------------------------------------------ */

static void pg_close(struct eb_adapter *a)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    eb_pg_disconnect(g);
    free(g->conninfo);
    free(g->secret[0]);
    free(g->secret[1]);
    free(g->claim_sql);
    free(g->failure_sql);
    free(g->purge_sql);
    free(g->fresh_sql);
    for (size_t i = 0; g->many_sql && g->schema && i < g->schema->n_tables; i++)
        free(g->many_sql[i]);
    free(g->many_sql);
    free(g->pend);
    eb_pg_carry_free(g);
    g->many_sql = NULL;
    g->pend = NULL;
    g->pend_n = g->pend_cap = 0;
    free(g->probe_sql);
    free(g->put_sql);
    g->put_sql = NULL;
    eb_interview_sql_free(&g->itv);
    eb_warning_sql_free(&g->wsql);
    eb_mapping_sql_free(g->map_sql);
    g->map_sql = NULL;
    eb_sqlgen_free(g->schema);
    g->conninfo = g->secret[0] = g->secret[1] = NULL;
    g->claim_sql = g->failure_sql = g->purge_sql = g->fresh_sql = g->probe_sql = NULL;
    g->schema = NULL;
}

/* The statement text beyond what sqlgen gives: the claim, the upsert, the purge. */
static eb_rc build_sql(struct pg_adapter *g, struct eb_err *err)
{
    const struct eb_sql_schema *sc = g->schema;
    const struct eb_sql_table *log = &sc->tables[sc->push_log];
    const char *where = "\"push_log\".\"outcome\" = 'failed'";
    char *up = eb_sqlgen_upsert_where(sc, log, where, err);
    if (!up)
        return err ? err->rc : EB_ERR_NOMEM;
    g->failure_sql = up;
    size_t n = 0;
    char *claim = NULL;
    const struct eb_sql_table *cand = &sc->tables[sc->candidate];
    char exists[160];
    /* with the default tables: whether the candidate row of the claim's application_id ($5)
     * exists, so that a new candidate's write skips the purge of its child tables */
    int elen =
        snprintf(exists, sizeof exists,
                 ", EXISTS (SELECT 1 FROM \"%s\" WHERE \"application_id\" = $5)", cand->name);
    if (elen < 0 || (size_t)elen >= sizeof exists || g->base.mapping)
        elen = 0;
    if (!eb_pg_append(&claim, &n, up, strlen(up)) ||
        !eb_pg_append(&claim, &n, " RETURNING \"push_id\"", 20) ||
        !eb_pg_append(&claim, &n, exists, (size_t)elen)) {
        free(claim);
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    }
    g->claim_sql = claim;
    if (elen && !(g->fresh_sql = strdup(cand->insert_sql))) /* a taken key fails it: 23505 */
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    if (!(g->put_sql = eb_sqlgen_upsert_where(sc, log, NULL, err)))
        return err ? err->rc : EB_ERR_NOMEM;

    if (!(g->many_sql = calloc(sc->n_tables, sizeof *g->many_sql)))
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < sc->n_tables; i++) {
        const struct eb_sql_table *t = &sc->tables[i];
        if (t->role != EB_SQL_ROLE_CHILD)
            continue; /* not the candidate's: unnest over its ~90 columns costs more than the
                       * single-row INSERTs it would save (bench/RESULTS.md) */
        char part[200];
        n = 0;
        int len = snprintf(part, sizeof part, "INSERT INTO \"%s\" (", t->name);
        int ok = len > 0 && (size_t)len < sizeof part &&
                 eb_pg_append(&g->many_sql[i], &n, part, (size_t)len);
        for (size_t k = 0; ok && k < t->n_columns; k++) {
            len = snprintf(part, sizeof part, "%s\"%s\"", k ? ", " : "", t->columns[k].name);
            ok = len > 0 && (size_t)len < sizeof part &&
                 eb_pg_append(&g->many_sql[i], &n, part, (size_t)len);
        }
        ok = ok && eb_pg_append(&g->many_sql[i], &n, ") SELECT * FROM unnest(", 23);
        for (size_t k = 0; ok && k < t->n_columns; k++) {
            const char *type = t->columns[k].type == EB_SQL_INTEGER ? "int8"
                               : t->columns[k].type == EB_SQL_BLOB  ? "bytea"
                                                                    : "text";
            len = snprintf(part, sizeof part, "%s$%zu::%s[]", k ? ", " : "", k + 1, type);
            ok = len > 0 && (size_t)len < sizeof part &&
                 eb_pg_append(&g->many_sql[i], &n, part, (size_t)len);
        }
        if (!ok || !eb_pg_append(&g->many_sql[i], &n, ")", 1))
            return eb_err_set(err, EB_ERR_NOMEM, "out of memory building a child table's insert");
    }

    size_t nc;
    const struct eb_sql_table *children = eb_sqlgen_child_tables(sc, &nc);
    char *purge = NULL;
    n = 0;
    int ok = eb_pg_append(&purge, &n, "", 0);
    for (size_t i = 0; ok && i < nc; i++) {
        char part[200];
        int len = snprintf(part, sizeof part,
                           "%sd%zu AS (DELETE FROM \"%s\" WHERE \"application_id\" = $1)",
                           i ? ", " : "WITH ", i, children[i].name);
        ok = len > 0 && (size_t)len < sizeof part && eb_pg_append(&purge, &n, part, (size_t)len);
    }
    ok = ok && eb_pg_append(&purge, &n, " SELECT 1", 9);
    if (!ok) {
        free(purge);
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory building the purge statement");
    }
    g->purge_sql = purge;

    char *probe = NULL;
    n = 0;
    static const char probe_head[] = "SELECT to_regclass('\"schema_version\"') IS NOT NULL, false";
    ok = eb_pg_append(&probe, &n, probe_head, sizeof probe_head - 1);
    for (size_t t = 0; ok && t < EB_ITV_N_TABLES; t++) {
        char part[120];
        int len = snprintf(part, sizeof part, " OR to_regclass('\"%s\"') IS NULL", g->itv.name[t]);
        ok = len > 0 && (size_t)len < sizeof part && eb_pg_append(&probe, &n, part, (size_t)len);
    }
    static const char probe_warning[] = " OR to_regclass('\"push_warning\"') IS NULL";
    ok = ok && eb_pg_append(&probe, &n, probe_warning, sizeof probe_warning - 1);
    if (!ok) {
        free(probe);
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory building the schema probe");
    }
    g->probe_sql = probe;
    return EB_OK;
}

static eb_rc pg_open(struct eb_adapter *a, const char *url, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    eb_rc rc = EB_OK;
    if ((rc = eb_pg_parse_url(g, url, err)) ||
        (rc = eb_sqlgen_build(&eb_sql_dialect_postgres, &g->schema, err)) ||
        (rc = eb_interview_sql_build(&eb_sql_dialect_postgres, &g->itv, err)) ||
        (rc = eb_warning_sql_build(&eb_sql_dialect_postgres, &g->wsql, err)) ||
        (rc = build_sql(g, err)) ||
        (a->mapping &&
         (rc = eb_mapping_sql_build(a->mapping, &eb_sql_dialect_postgres, &g->map_sql, err))) ||
        (rc = eb_pg_ensure_connected(g, err)))
        return rc;
    return EB_OK;
}

static const char *const pg_aliases[] = {"postgres", NULL};
const struct eb_adapter_methods eb_adapter_postgres = {
    .version = 4,
    .name = "postgres",
    .scheme = "postgresql",
    .instance_size = sizeof(struct pg_adapter),
    .open = pg_open,
    .close = pg_close,
    .ping = eb_pg_ping,
    .aliases = pg_aliases,
    .list_pushes = eb_pg_list_pushes,
    .begin = eb_pg_begin,
    .commit = eb_pg_commit,
    .rollback = eb_pg_rollback,
    .in_transaction = eb_pg_in_transaction,
    .savepoint = eb_pg_savepoint,
    .release = eb_pg_release,
    .rollback_to = eb_pg_rollback_to,
    .log_get = eb_pg_log_get,
    .log_put = eb_pg_log_put,
    .candidate_write = eb_pg_candidate_write,
    .candidate_last = eb_pg_candidate_last,
    .interview_apply = eb_pg_interview_apply,
    .retryable = eb_pg_retryable,
    .share = eb_pg_share,
    .push_page = eb_pg_push_page,
    .push_get = eb_pg_push_get,
    .push_counts = eb_pg_push_counts,
    .purge_payloads = eb_pg_purge_payloads,
    .push_warnings = eb_pg_push_warnings,
    .att_enqueue = eb_pg_att_enqueue,
    .att_requeue = eb_pg_att_requeue,
    .att_claim = eb_pg_att_claim,
    .att_chunk = eb_pg_att_chunk,
    .att_finish = eb_pg_att_finish,
    .att_list = eb_pg_att_list,
    .att_read = eb_pg_att_read,
    .att_stats = eb_pg_att_stats,
    .att_purge = eb_pg_att_purge,
};

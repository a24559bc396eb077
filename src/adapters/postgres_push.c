/* The PostgreSQL adapter's writes of pushes: the candidate's rows sent through the pipeline, the
 * interview events, push_log, and the transaction primitives of adapter.h (version 2). */

#include "adapters/postgres_int.h"

/* ---- pushes ------------------------------------------------------------------------------ */

static enum eb_outcome outcome_from(const char *text)
{
    if (text && strcmp(text, "stored") == 0)
        return EB_OUTCOME_STORED;
    if (text && strcmp(text, "rejected") == 0)
        return EB_OUTCOME_REJECTED;
    return EB_OUTCOME_FAILED;
}

/* Sends one row's insert into the pipeline. The candidate's row: with g->fresh its plain INSERT,
 * which fails (23505) when the row exists; otherwise its upsert, then the purge of its
 * children. */
eb_rc eb_pg_send_one_row(struct pg_adapter *g, const struct eb_sql_table *t,
                         const struct eb_sql_value *v, struct eb_err *err)
{
    char name[32];
    for (size_t i = 0; i < t->n_columns; i++) {
        int at = (int)i;
        switch (v[i].type) {
        case EB_SQL_VINT:
            eb_pg_bind_int(g, at, v[i].i);
            break;
        case EB_SQL_VTEXT:
            if (!eb_pg_bind_text(g, at, v[i].s, v[i].len))
                return eb_pg_fail_rc(g, err);
            break;
        default:
            eb_pg_bind_null(g, at);
            break;
        }
    }
    int fresh = t->role == EB_SQL_ROLE_CANDIDATE && g->fresh;
    if (!fresh)
        eb_pg_table_stmt_name(name, sizeof name, t->index);
    if (!eb_pg_send_prepared(g, fresh ? "eb_fresh" : name, (int)t->n_columns))
        return eb_pg_fail_rc(g, err);
    if (t->role == EB_SQL_ROLE_CANDIDATE && !fresh) {
        eb_pg_bind_int(g, 0, v[0].i); /* application_id is the candidate's first column */
        if (!eb_pg_send_prepared(g, "eb_purge", 1))
            return eb_pg_fail_rc(g, err);
    }
    if (++g->row_sends >= PIPELINE_CHUNK && !eb_pg_pipeline_sync(g, NULL, 0))
        return eb_pg_fail_rc(g, err);
    return EB_OK;
}

int eb_pg_put32(struct eb_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    return eb_buf_append(b, x, 4) == EB_OK;
}

/* Column k of the n rows (t's columns each) as a one-dimensional array in PostgreSQL's binary
 * format (ndim, has-null flag, element type, length, lower bound, then each element's length,
 * -1 for NULL, and bytes), into b. Text is cleaned as eb_pg_bind_text cleans it. */
static int array_param(const struct eb_sql_table *t, const struct eb_sql_value *rows, size_t n,
                       size_t k, struct eb_buf *b)
{
    size_t nc = t->n_columns;
    enum eb_sql_type type = t->columns[k].type;
    int has_null = 0;
    for (size_t r = 0; r < n; r++)
        has_null |= rows[r * nc + k].type == EB_SQL_VNULL;
    Oid elem = type == EB_SQL_INTEGER ? INT8OID : type == EB_SQL_BLOB ? BYTEAOID : TEXTOID;
    if (!eb_pg_put32(b, 1) || !eb_pg_put32(b, (uint32_t)has_null) || !eb_pg_put32(b, elem) ||
        !eb_pg_put32(b, (uint32_t)n) || !eb_pg_put32(b, 1))
        return 0;
    for (size_t r = 0; r < n; r++) {
        const struct eb_sql_value *v = &rows[r * nc + k];
        if (v->type == EB_SQL_VNULL) {
            if (!eb_pg_put32(b, 0xffffffffu))
                return 0;
        } else if (type == EB_SQL_INTEGER) {
            if (v->type != EB_SQL_VINT || !eb_pg_put32(b, 8) ||
                !eb_pg_put32(b, (uint32_t)((uint64_t)v->i >> 32)) ||
                !eb_pg_put32(b, (uint32_t)v->i))
                return 0;
        } else {
            if (v->type != EB_SQL_VTEXT)
                return 0;
            int nomem = 0;
            size_t len = v->len;
            char *c = eb_pg_utf8_clean(v->s, v->len, &len, &nomem);
            const char *bytes = c ? c : v->s;
            if (!c)
                len = v->len;
            int ok = !nomem && len <= 0x3fffffff && eb_pg_put32(b, (uint32_t)len) &&
                     eb_buf_append(b, bytes, len) == EB_OK;
            free(c);
            if (!ok)
                return 0;
        }
    }
    return b->len <= 0x7fffffff;
}

/* Sends the child rows waiting in g->pend: from MANY_MIN of them in one statement (an array per
 * column), fewer one by one. */
static eb_rc flush_rows(struct pg_adapter *g, struct eb_err *err)
{
    const struct eb_sql_table *t = g->pend_t;
    size_t n = g->pend_n;
    eb_rc rc = EB_OK;
    g->pend_n = 0;
    if (n < MANY_MIN || !g->many_sql[t->index]) {
        for (size_t r = 0; !rc && r < n; r++)
            rc = eb_pg_send_one_row(g, t, g->pend + r * t->n_columns, err);
        return rc;
    }
    return eb_pg_send_many(g, t, g->pend, n, err);
}

eb_rc eb_pg_send_many(struct pg_adapter *g, const struct eb_sql_table *t,
                      const struct eb_sql_value *rows, size_t n, struct eb_err *err)
{
    struct eb_buf *cols = calloc(t->n_columns, sizeof *cols);
    int ok = cols != NULL;
    for (size_t k = 0; ok && k < t->n_columns; k++) {
        eb_buf_init(&cols[k], 0x7fffffff);
        ok = array_param(t, rows, n, k, &cols[k]);
        g->pv[k] = cols[k].data;
        g->pl[k] = (int)cols[k].len;
        g->pf[k] = 1;
    }
    char name[32];
    snprintf(name, sizeof name, "eb_u%zu", t->index);
    if (!ok)
        eb_pg_note_fail(g, NULL, "binding", "out of memory or a value of the wrong type");
    else
        ok = eb_pg_send_prepared(g, name, (int)t->n_columns);
    for (size_t k = 0; cols && k < t->n_columns; k++)
        eb_buf_free(&cols[k]);
    free(cols);
    if (!ok)
        return eb_pg_fail_rc(g, err);
    if (++g->row_sends >= PIPELINE_CHUNK && !eb_pg_pipeline_sync(g, NULL, 0))
        return eb_pg_fail_rc(g, err);
    return EB_OK;
}

/* eb_sqlgen_row_fn: the candidate's row is sent at once (send_one_row); a child row waits in
 * g->pend until another table's row comes, MANY_MAX rows of its table are there, or the walk
 * ends (write_candidate). The values are copied; the texts they borrow belong to the candidate,
 * which outlives the walk. */
static eb_rc send_row(void *ctx, const struct eb_sql_table *t, const struct eb_sql_value *v,
                      struct eb_err *err)
{
    struct pg_adapter *g = ctx;
    eb_rc rc;
    if (g->pend_n && g->pend_t != t && (rc = flush_rows(g, err)))
        return rc;
    if (t->role != EB_SQL_ROLE_CHILD)
        return eb_pg_send_one_row(g, t, v, err);
    g->pend_t = t;
    if (!eb_pg_rows_add(&g->pend, &g->pend_cap, g->pend_n, v, t->n_columns))
        return eb_err_set(err, EB_ERR_NOMEM, "postgres: out of memory");
    return ++g->pend_n == MANY_MAX ? flush_rows(g, err) : EB_OK;
}

int eb_pg_rows_add(struct eb_sql_value **rows, size_t *cap, size_t n, const struct eb_sql_value *v,
                   size_t nc)
{
    size_t need = (n + 1) * nc;
    if (need > *cap) {
        size_t c = *cap ? *cap * 2 : 16 * nc;
        while (c < need)
            c *= 2;
        struct eb_sql_value *p = realloc(*rows, c * sizeof *p);
        if (!p)
            return 0;
        *rows = p;
        *cap = c;
    }
    memcpy(*rows + n * nc, v, nc * sizeof *v);
    return 1;
}

/* eb_interview_row_fn: sends one interview row's insert into the pipeline. */
static eb_rc send_interview_row(void *ctx, enum eb_interview_table t, const struct eb_sql_value *v,
                                size_t n, struct eb_err *err)
{
    struct pg_adapter *g = ctx;
    char name[32];
    if (n > EB_SQL_MAX_COLUMNS)
        return eb_err_set(err, EB_ERR_INTERNAL, "postgres: too many interview columns");
    for (size_t i = 0; i < n; i++) {
        if (v[i].type == EB_SQL_VINT)
            eb_pg_bind_int(g, (int)i, v[i].i);
        else if (v[i].type == EB_SQL_VTEXT) {
            if (!eb_pg_bind_text(g, (int)i, v[i].s, v[i].len))
                return eb_pg_fail_rc(g, err);
        } else
            eb_pg_bind_null(g, (int)i);
    }
    snprintf(name, sizeof name, "eb_iin%d", (int)t);
    if (!eb_pg_send_prepared(g, name, (int)n))
        return eb_pg_fail_rc(g, err);
    if (++g->row_sends >= PIPELINE_CHUNK && !eb_pg_pipeline_sync(g, NULL, 0))
        return eb_pg_fail_rc(g, err);
    return EB_OK;
}

/* Sends, for every interview of ev: the event_id's lock, the deletion of its rows (children
 * first), and unless ev is a delete its new rows. */
static eb_rc send_interviews(struct pg_adapter *g, const struct eb_interview_event *ev,
                             const char *push_id, int64_t at, struct eb_err *err)
{
    char name[32];
    for (size_t i = 0; i < ev->interviews_n; i++) {
        const struct eb_interview *iv = &ev->interviews[i];
        if (!eb_pg_bind_str(g, 0, iv->event_id) || !eb_pg_send_prepared(g, "eb_ilock", 1))
            return eb_pg_fail_rc(g, err);
        for (size_t t = EB_ITV_N_TABLES; t-- > 0;) {
            snprintf(name, sizeof name, "eb_irm%zu", t);
            if (!eb_pg_bind_str(g, 0, iv->event_id) || !eb_pg_send_prepared(g, name, 1))
                return eb_pg_fail_rc(g, err);
        }
        if (ev->kind != EB_INTERVIEW_DELETE) {
            eb_rc rc = eb_interview_sql_rows(ev, iv, push_id, at, send_interview_row, g, err);
            if (rc)
                return rc;
        }
    }
    return EB_OK;
}

/* eb_mapping_run_fn: sends one mapped statement into the pipeline, values as text (the server
 * converts them to the mapped columns' types). An UPDATE is synced at once: the writer needs
 * its row count to decide on the INSERT. */
static eb_rc mapped_run(void *ctx, size_t table, enum eb_mapping_stmt which,
                        const struct eb_sql_value *v, size_t n, int64_t *changed,
                        struct eb_err *err)
{
    struct pg_adapter *g = ctx;
    char name[32];
    if (n > EB_SQL_MAX_COLUMNS)
        return eb_err_set(err, EB_ERR_INTERNAL, "postgres: too many mapped columns");
    for (size_t i = 0; i < n; i++) {
        int at = (int)i;
        if (v[i].type == EB_SQL_VINT) {
            char num[24];
            snprintf(num, sizeof num, "%lld", (long long)v[i].i);
            if (!(g->tmp[at] = strdup(num))) {
                eb_pg_note_fail(g, NULL, "binding", "out of memory");
                return eb_pg_fail_rc(g, err);
            }
            g->pv[at] = g->tmp[at];
        } else if (v[i].type == EB_SQL_VTEXT) {
            if (!eb_pg_bind_text(g, at, v[i].s, v[i].len))
                return eb_pg_fail_rc(g, err);
        } else {
            g->pv[at] = NULL;
        }
        g->pl[at] = 0;
        g->pf[at] =
            0; /* text: NUL-terminated (the writer's texts and eb_pg_bind_text's copies are) */
    }
    snprintf(name, sizeof name, "eb_m%zu_%d", table, (int)which);
    if (!eb_pg_send_prepared(g, name, (int)n))
        return eb_pg_fail_rc(g, err);
    if (changed) {
        int q = g->queued;
        PGresult **res = calloc((size_t)q, sizeof *res);
        if (!res)
            return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        int ok = eb_pg_pipeline_sync(g, res, q);
        *changed = ok && res[q - 1] ? strtoll(PQcmdTuples(res[q - 1]), NULL, 10) : 0;
        for (int i = 0; i < q; i++)
            PQclear(res[i]);
        free(res);
        if (!ok)
            return eb_pg_fail_rc(g, err);
    } else if (++g->row_sends >= PIPELINE_CHUNK && !eb_pg_pipeline_sync(g, NULL, 0)) {
        return eb_pg_fail_rc(g, err);
    }
    return EB_OK;
}

/* Sends the push id's push_warning rows, replaced by p's (sql/warning_sql.h). */
static eb_rc send_warnings(struct pg_adapter *g, const struct eb_push *p, const char *push_id,
                           struct eb_err *err)
{
    if (p->keep_warnings)
        return EB_OK;
    if (!eb_pg_bind_str(g, 0, push_id) || !eb_pg_send_prepared(g, "eb_wrm", 1))
        return eb_pg_fail_rc(g, err);
    for (size_t i = 0; i < p->n_warnings; i++) {
        struct eb_sql_value v[EB_WARNING_SQL_COLUMNS];
        eb_warning_sql_values(p, push_id, i, v);
        if (!eb_pg_bind_text(g, 0, v[0].s, v[0].len))
            return eb_pg_fail_rc(g, err);
        eb_pg_bind_int(g, 1, v[1].i);
        for (int k = 2; k < EB_WARNING_SQL_COLUMNS; k++)
            if (!eb_pg_bind_text(g, k, v[k].s, v[k].len))
                return eb_pg_fail_rc(g, err);
        if (!eb_pg_send_prepared(g, "eb_win", EB_WARNING_SQL_COLUMNS))
            return eb_pg_fail_rc(g, err);
    }
    return EB_OK;
}

/* Sends the rows of p's candidate into the pipeline: the default schema's (sqlgen), or with a
 * mapping the mapped tables' after the candidate's lock; then its push_warning rows. */
static eb_rc write_candidate(struct pg_adapter *g, const struct eb_push *p, const char *push_id,
                             int64_t at, struct eb_err *err)
{
    eb_rc rc;
    if (!g->map_sql) {
        g->pend_n = 0;
        rc = eb_sqlgen_walk(g->schema, p->data, push_id, at, send_row, g, err);
        if (!rc && g->pend_n)
            rc = flush_rows(g, err);
        g->pend_n = 0;
        if (g->pend_cap > PEND_KEEP) { /* a large record's: not kept for the next push */
            free(g->pend);
            g->pend = NULL;
            g->pend_cap = 0;
        }
    } else {
        char app[24];
        snprintf(app, sizeof app, "%lld", (long long)p->data->application_id.v);
        if (!eb_pg_bind_str(g, 0, app) || !eb_pg_send_prepared(g, "eb_mlock", 1))
            return eb_pg_fail_rc(g, err);
        rc = eb_mapping_write(g->base.mapping, p->data, push_id, at, mapped_run, g, err);
    }
    return rc ? rc : send_warnings(g, p, push_id, err);
}

/* Runs a prepared statement (parameters bound in g) outside a pipeline; on a broken connection,
 * connects again and runs it once more. On success *res holds the result (caller clears). */
static eb_rc exec_prepared(struct pg_adapter *g, const char *name, int n, PGresult **res,
                           struct eb_err *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        eb_rc rc = eb_pg_ensure_connected(g, err);
        if (rc)
            return rc;
        g->fail.set = 0;
        PGresult *r = PQexecPrepared(g->conn, name, n, g->pv, g->pl, g->pf, 0);
        int st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            *res = r;
            return EB_OK;
        }
        eb_pg_note_result(g, r, name);
        PQclear(r);
        int lost = eb_pg_connection_lost(g);
        rc = eb_pg_fail_rc(g, err);
        if (!lost)
            return rc;
        eb_pg_disconnect(g);
        if (attempt == 1)
            return rc;
    }
    return eb_err_set(err, EB_ERR_INTERNAL, "postgres: unreachable");
}

eb_rc eb_pg_ping(struct eb_adapter *a, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    eb_rc rc = exec_prepared(g, "eb_version", 0, &r, err);
    if (rc)
        return rc;
    int64_t version = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return eb_sqlgen_check_version(version, err);
}

/* ---- the primitives of adapter.h, version 2 --------------------------------------------- */

/* A transaction runs in pipeline mode from begin to commit or rollback: statements that need no
 * answer (BEGIN, SAVEPOINT, RELEASE) are only queued, and each primitive that needs one sends
 * the sync and reads what was queued: a push costs a round trip for its claim, one for its
 * rows, one for the commit. */

/* The failure just noted, into err, and whether a new try may pass: a serialization failure, a
 * deadlock, or a connection that broke under a transaction begun on an open one. */
eb_rc eb_pg_tx_fail(struct pg_adapter *g, struct eb_err *err)
{
    int lost = eb_pg_connection_lost(g);
    eb_rc rc = eb_pg_fail_rc(g, err);
    g->retry = eb_pg_retryable_state(g->fail.state) || (lost && g->tx_had_conn);
    return rc;
}

/* 1 when a write of app as a new candidate found rows there lately. */
static int purge_always(const struct pg_adapter *g, int64_t app)
{
    size_t n = sizeof g->purge_app / sizeof g->purge_app[0];
    for (size_t i = 0; i < n && i < g->n_purge_app; i++)
        if (g->purge_app[i] == app)
            return 1;
    return 0;
}

static void purge_always_add(struct pg_adapter *g, int64_t app)
{
    size_t n = sizeof g->purge_app / sizeof g->purge_app[0];
    if (!purge_always(g, app))
        g->purge_app[g->n_purge_app++ % n] = app;
}

/* A failure of a sync that read rows sent without waiting (read: g->pending when the call
 * began). A taken key of a candidate written as new is the candidate_write's retryable failure
 * (see there). When those rows may be another write's than the failing call's (earlier), the
 * failure may be theirs: retryable too, so that the bridge writes the others again with
 * savepoints (where each write waits for its own rows) and this one again alone. */
static eb_rc tx_fail_after(struct pg_adapter *g, int read, int earlier, struct eb_err *err)
{
    eb_rc rc = eb_pg_tx_fail(g, err);
    if (read && g->pending_fresh && !strcmp(g->fail.state, "23505")) {
        purge_always_add(g, g->pending_app);
        g->retry = 1;
    }
    if (earlier)
        g->retry = 1;
    return rc;
}

/* Sends the sync and hands the result of the last statement queued to *last (caller clears;
 * NULL when it did not run). Returns 1 when every statement succeeded. */
static int sync_last(struct pg_adapter *g, PGresult **last)
{
    PGresult *keep[8];
    int n = g->queued;
    *last = NULL;
    if (n < 1 || n > 8) {
        eb_pg_note_fail(g, NULL, "pipeline", "unexpected number of statements queued");
        return 0;
    }
    int ok = eb_pg_pipeline_sync(g, keep, n);
    for (int i = 0; i < n - 1; i++)
        PQclear(keep[i]);
    *last = keep[n - 1];
    return ok && *last;
}

/* Before a statement whose answer is read with sync_last: what is queued is sent first when
 * sync_last could not keep it all. */
static int room(struct pg_adapter *g)
{
    return g->queued < 7 || eb_pg_pipeline_sync(g, NULL, 0);
}

eb_rc eb_pg_begin(struct eb_adapter *a, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->tx_had_conn = g->conn != NULL;
    g->retry = 0;
    eb_rc rc = eb_pg_ensure_connected(g, err);
    if (rc)
        return rc; /* cannot connect: down; no retry */
    g->fail.set = 0;
    g->hint_set = 0;
    g->defer = !g->map_sql; /* a mapping's statements are not sent without their sync */
    g->pending = g->pending_fresh = 0;
    g->tx_writes = 0;
    eb_pg_carry_reset(g);
    if (!eb_pg_pipeline_enter(g) || !eb_pg_send_text(g, "BEGIN"))
        return eb_pg_tx_fail(g, err);
    return EB_OK;
}

/* The commit also sends the carried rows and reads the last writes' rows: when it fails and the
 * transaction held other writes too, the failure is retryable, and the bridge writes the batch
 * again, each push in its own savepoint, so that only the failing one fails (group.c). */
eb_rc eb_pg_commit(struct eb_adapter *a, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    eb_rc crc = g->conn ? eb_pg_carry_flush(g, err) : EB_OK;
    int read = g->pending, earlier = read && g->tx_writes > 1;
    if (crc || !g->conn || !eb_pg_send_text(g, "COMMIT") || !eb_pg_pipeline_sync(g, NULL, 0)) {
        eb_rc rc = tx_fail_after(g, read, earlier, err);
        eb_pg_pipeline_leave(g);
        return rc;
    }
    eb_pg_pipeline_leave(g);
    return EB_OK;
}

void eb_pg_rollback(struct eb_adapter *a)
{
    eb_pg_pipeline_leave((struct pg_adapter *)a);
}

int eb_pg_in_transaction(struct eb_adapter *a)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    return g->conn && !eb_pg_connection_lost(g) && PQtransactionStatus(g->conn) != PQTRANS_IDLE;
}

eb_rc eb_pg_savepoint(struct eb_adapter *a, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    g->defer = 0; /* a write's failure must be known before its savepoint is released */
    if (g->conn && eb_pg_carry_flush(g, err))
        return eb_pg_tx_fail(g, err);
    return g->conn && eb_pg_send_text(g, "SAVEPOINT eb_push") ? EB_OK : eb_pg_tx_fail(g, err);
}

eb_rc eb_pg_release(struct eb_adapter *a, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    return g->conn && eb_pg_send_text(g, "RELEASE SAVEPOINT eb_push") ? EB_OK
                                                                      : eb_pg_tx_fail(g, err);
}

eb_rc eb_pg_rollback_to(struct eb_adapter *a, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    g->hint_set = 0;
    eb_pg_release_params(g);
    if (!g->conn || !eb_pg_send_text(g, "ROLLBACK TO SAVEPOINT eb_push") ||
        !eb_pg_send_text(g, "RELEASE SAVEPOINT eb_push") || !eb_pg_pipeline_sync(g, NULL, 0))
        return eb_pg_tx_fail(g, err);
    return EB_OK;
}

eb_rc eb_pg_log_get(struct eb_adapter *a, const char *push_id, struct eb_log_state *out,
                    struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    int earlier = g->pending;
    g->fail.set = 0;
    g->hint_set = 0; /* a replay's write comes without a claim */
    g->tx_writes++;
    out->found = 0;
    if (!g->conn || !room(g) || !eb_pg_bind_str(g, 0, push_id) ||
        !eb_pg_send_prepared(g, "eb_find", 1) || !sync_last(g, &r)) {
        PQclear(r);
        return tx_fail_after(g, earlier, earlier, err);
    }
    if (PQntuples(r) == 1) {
        out->found = 1;
        out->outcome = outcome_from(PQgetvalue(r, 0, 0));
        snprintf(out->message, sizeof out->message, "%s",
                 PQgetisnull(r, 0, 1) ? "" : PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return EB_OK;
}

/* The claim is INSERT ... ON CONFLICT (push_id) DO UPDATE ... WHERE outcome = 'failed'
 * RETURNING push_id: a concurrent transaction holding the same id makes it wait for that one's
 * end, and a row recorded with a final outcome returns nothing. With the default tables it also
 * returns whether the candidate row of the push's applicationId exists, kept for the
 * candidate_write that follows (only a hint: eb_pg_candidate_write checks it under the row's lock). */
eb_rc eb_pg_log_put(struct eb_adapter *a, const struct eb_push_record *rec, enum eb_outcome outcome,
                    int64_t received_at, int claim, int *written, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    const struct eb_sql_table *log = &g->schema->tables[g->schema->push_log];
    PGresult *r = NULL;
    int earlier = claim && g->pending; /* a claim begins a write; a record ends replay's own */
    g->fail.set = 0;
    g->tx_writes += claim;
    if (!g->conn || !room(g) || !eb_pg_bind_log(g, rec, outcome, received_at) ||
        !eb_pg_send_prepared(g, claim ? "eb_claim" : "eb_put", (int)log->n_columns) ||
        !sync_last(g, &r)) {
        PQclear(r);
        eb_pg_release_params(g);
        return tx_fail_after(g, earlier, earlier, err);
    }
    if (written)
        *written = !claim || PQntuples(r) == 1;
    g->hint_set = claim && rec->has_application_id && PQntuples(r) == 1 && PQnfields(r) == 2;
    if (g->hint_set) {
        g->hint_app = rec->application_id;
        g->hint_exists = strcmp(PQgetvalue(r, 0, 1), "f") != 0;
    }
    PQclear(r);
    return EB_OK;
}

/* The candidate's rows, all in the pipeline. A candidate row that exists (or may: no hint, a
 * replay) is upserted, which takes its row lock (two pushes for one candidate replace it one
 * after the other, whichever version of ehrbridge or replica wrote it before), then one
 * statement deletes its rows from every child table, and the new rows follow.
 *
 * A candidate whose row did not exist when the claim ran (the usual push) skips that purge, a
 * statement over every child table that deletes nothing for a new candidate but costs the
 * database more than the rest of a small push: its row is inserted with ON CONFLICT DO NOTHING
 * then its child rows. The hint is checked under the row's lock: when that INSERT fails on the
 * taken key (another replica stored the candidate after the claim's read) or a child row's key
 * is taken (rows left by a candidate row deleted by hand), nothing of the try is kept: the write
 * fails as retryable (the bridge rolls it back and writes it again), and this applicationId is
 * purged on every later write of this connection.
 *
 * In a transaction without savepoints (a batch's first try, a write alone) the rows are not
 * waited for: their results are read with the next write's claim or the commit, one round trip
 * fewer per push. A failure found there is reported as retryable (tx_fail_after), so that the
 * bridge writes the batch again with savepoints, where each write's rows are waited for here. */
eb_rc eb_pg_candidate_write(struct eb_adapter *a, const struct eb_push *p, const char *push_id,
                            int64_t updated_at, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    int64_t app = p->data->application_id.v;
    g->fail.set = 0;
    g->fresh = !g->map_sql && g->fresh_sql && g->hint_set && g->hint_app == app &&
               !g->hint_exists && !purge_always(g, app);
    g->hint_set = 0;
    if (!g->conn)
        return eb_pg_tx_fail(g, err);
    eb_rc rc;
    if (g->n_carry_app && eb_pg_carried(g, app)) {
        /* the candidate is in this transaction already, not yet sent: send it, then replace */
        if ((rc = eb_pg_carry_flush(g, err)))
            return rc;
        g->fresh = 0;
    }
    if (g->fresh && g->defer && (p->keep_warnings || !p->n_warnings)) {
        g->fresh = 0;
        return eb_pg_carry(g, p, push_id, updated_at, err);
    }
    rc = write_candidate(g, p, push_id, updated_at, err);
    int fresh = g->fresh;
    g->fresh = 0;
    if (!rc && g->defer) {
        g->pending = 1;
        g->pending_fresh = fresh;
        g->pending_app = app;
        return EB_OK;
    }
    int ok = !rc && eb_pg_pipeline_sync(g, NULL, 0);
    if (rc && !g->fail.set)
        return rc; /* the walk itself refused (a mapped key without a value) */
    if (fresh && !ok && !strcmp(g->fail.state, "23505")) {
        purge_always_add(g, app);
        g->retry = 1;
        return eb_err_set(err, EB_ERR_UNAVAILABLE,
                          "postgres: the candidate had rows when it was written as new; "
                          "writing it again");
    }
    if (!ok)
        return eb_pg_tx_fail(g, err);
    return EB_OK;
}

/* The candidate's row is locked (FOR UPDATE) so that a live push for it waits, or is waited
 * for; the mapped rows hold the last push stored for the applicationId. */
eb_rc eb_pg_candidate_last(struct eb_adapter *a, int64_t app, struct eb_candidate_last *out,
                           struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    const char *sql = g->map_sql
                          ? "SELECT \"received_at\", \"push_id\" FROM \"push_log\" WHERE"
                            " \"application_id\" = $1 AND \"outcome\" = 'stored'"
                            " ORDER BY \"received_at\" DESC LIMIT 1"
                          : "SELECT l.\"received_at\", c.\"last_push_id\" FROM \"candidate\" c"
                            " JOIN \"push_log\" l ON l.\"push_id\" = c.\"last_push_id\""
                            " WHERE c.\"application_id\" = $1 FOR UPDATE OF c";
    PGresult *r = NULL;
    g->fail.set = 0;
    out->found = 0;
    out->push_id = NULL;
    /* a candidate carried in this transaction must be seen: sent first */
    if (g->conn && eb_pg_carry_flush(g, err))
        return eb_pg_tx_fail(g, err);
    int earlier = g->pending;
    if (!g->conn || !room(g))
        return tx_fail_after(g, earlier, earlier, err);
    eb_pg_bind_int(g, 0, app);
    if (PQsendQueryParams(g->conn, sql, 1, NULL, g->pv, g->pl, g->pf, 0) != 1) {
        eb_pg_note_result(g, NULL, "candidate");
        return eb_pg_tx_fail(g, err);
    }
    g->queued++;
    if (!sync_last(g, &r)) {
        PQclear(r);
        return tx_fail_after(g, earlier, earlier, err);
    }
    eb_rc rc = EB_OK;
    if (PQntuples(r) == 1) {
        out->found = 1;
        out->received_at_ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        if (!(out->push_id = strdup(PQgetvalue(r, 0, 1))))
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    }
    PQclear(r);
    return rc;
}

/* Each interview takes a transaction-level advisory lock on its event_id (two replicas
 * replacing one interview take turns), then its rows are deleted and the new ones inserted. */
eb_rc eb_pg_interview_apply(struct eb_adapter *a, const struct eb_interview_event *ev,
                            const char *push_id, int64_t at, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    if (!g->conn)
        return eb_pg_tx_fail(g, err);
    eb_rc rc = send_interviews(g, ev, push_id, at, err);
    if (rc && !g->fail.set)
        return rc;
    if (rc || !eb_pg_pipeline_sync(g, NULL, 0))
        return eb_pg_tx_fail(g, err);
    return EB_OK;
}

int eb_pg_retryable(struct eb_adapter *a)
{
    return ((struct pg_adapter *)a)->retry;
}

/* Connections with the same connection string, statement timeout and writers share writers. A
 * push waits for one at most the statement timeout (30 s when there is none). */
int eb_pg_share(struct eb_adapter *a, struct eb_adapter_share *out)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    int n =
        snprintf(out->key, sizeof out->key, "%ld|%d|%s", g->timeout_ms, g->writers, g->conninfo);
    out->writers = g->writers;
    if (n < 0 || (size_t)n >= sizeof out->key)
        return 0; /* too long to compare: no sharing */
    out->wait_ms = g->timeout_ms > 0 && g->timeout_ms < 600000 ? (int)g->timeout_ms : 30000;
    return 1;
}

/* Rows per page of eb_pg_list_pushes: each page is a query of its own (no snapshot held through
 * a long replay), and a page at most is in memory. */
#define LIST_PAGE 64

/* Lists push_log rows (adapter.h), page by page after the last (received_at, push_id) listed.
 * Results come in binary: the text columns as their bytes, raw as its bytes. */
eb_rc eb_pg_list_pushes(struct eb_adapter *a, const struct eb_push_filter *f, eb_logged_push_fn fn,
                        void *user, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    eb_rc rc = eb_pg_ensure_connected(g, err);
    if (rc)
        return rc;
    g->fail.set = 0;
    struct eb_sql_list l;
    if (eb_sqlgen_list(&eb_sql_dialect_postgres,
                       "\"push_id\", \"event\", \"triggered_at\", \"received_at\"::text,"
                       " \"outcome\", \"message\", \"payload\", \"raw\"",
                       f, LIST_PAGE, &l)) {
        eb_sqlgen_list_free(&l);
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory listing push_log");
    }
    char *key_id = NULL; /* the last row listed: the next page starts after it */
    for (int rows = LIST_PAGE; !rc && rows == LIST_PAGE;) {
        const char *vals[EB_SQL_LIST_PARAMS];
        char num[EB_SQL_LIST_PARAMS][24];
        for (size_t i = 0; i < l.n_param; i++) { /* as text; the texts are NUL-terminated */
            const struct eb_sql_value *v = &l.param[i];
            vals[i] = v->type == EB_SQL_VTEXT ? v->s : NULL;
            if (v->type == EB_SQL_VINT) {
                snprintf(num[i], sizeof num[i], "%lld", (long long)v->i);
                vals[i] = num[i];
            }
        }
        PGresult *r = PQexecParams(g->conn, l.sql, (int)l.n_param, NULL, vals, NULL, NULL, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            eb_pg_note_result(g, r, "listing push_log");
            PQclear(r);
            rc = eb_pg_fail_rc(g, err);
            break;
        }
        for (rows = 0; !rc && rows < PQntuples(r); rows++) {
            struct eb_logged_push row = {
                .push_id = PQgetvalue(r, rows, 0),
                .event = PQgetisnull(r, rows, 1) ? NULL : PQgetvalue(r, rows, 1),
                .triggered_at = PQgetisnull(r, rows, 2) ? NULL : PQgetvalue(r, rows, 2),
                .received_at_ms = strtoll(PQgetvalue(r, rows, 3), NULL, 10),
                .outcome = outcome_from(PQgetvalue(r, rows, 4)),
                .message = PQgetisnull(r, rows, 5) ? NULL : PQgetvalue(r, rows, 5),
                .payload = PQgetisnull(r, rows, 6) ? NULL : PQgetvalue(r, rows, 6),
                .payload_len = PQgetisnull(r, rows, 6) ? 0 : (size_t)PQgetlength(r, rows, 6),
                .raw = PQgetisnull(r, rows, 7) ? NULL : PQgetvalue(r, rows, 7),
                .raw_len = PQgetisnull(r, rows, 7) ? 0 : (size_t)PQgetlength(r, rows, 7),
            };
            if (fn(user, &row))
                rc = eb_err_set(err, EB_ERR_INTERNAL, "listing stopped");
        }
        if (!rc && rows > 0) {
            free(key_id);
            if (!(key_id = strdup(PQgetvalue(r, rows - 1, 0))))
                rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory listing push_log");
            else
                eb_sqlgen_list_after(&l, strtoll(PQgetvalue(r, rows - 1, 3), NULL, 10), key_id);
        }
        PQclear(r);
    }
    free(key_id);
    eb_sqlgen_list_free(&l);
    return rc;
}

/* The ODBC adapter's writes of pushes and its reads of them: a candidate's rows, the transaction
 * primitives of adapter.h (version 2), push_log, the listing of logged pushes and the purge of
 * old payloads. */

#include "adapters/odbc_int.h"

/* ---- writing a candidate ----------------------------------------------------------------- */

/* eb_sqlgen_row_fn: the candidate row is updated by application_id (or inserted); a child row
 * inserted. */
static eb_rc write_row(void *ctx, const struct eb_sql_table *t, const struct eb_sql_value *v,
                       struct eb_err *err)
{
    struct odbc_adapter *o = ctx;
    eb_rc rc = EB_OK;
    if (t->role == EB_SQL_ROLE_CANDIDATE) {
        SQLHSTMT u = o->st[ST_UPDATE_CAND];
        int64_t changed = 0;
        for (size_t i = 1; !rc && i < t->n_columns; i++)
            rc = eb_odbc_bind_value(o, u, (int)i - 1, &v[i], err);
        if (rc || (rc = eb_odbc_bind_value(o, u, (int)t->n_columns - 1, &v[0], err)) ||
            (rc = eb_odbc_execute(o, u, "candidate", &changed, err)) || changed > 0)
            return rc;
    }
    SQLHSTMT h = o->ins[t->index];
    for (size_t i = 0; !rc && i < t->n_columns; i++)
        rc = eb_odbc_bind_value(o, h, (int)i, &v[i], err);
    return rc ? rc : eb_odbc_execute(o, h, t->name, NULL, err);
}

/* eb_mapping_run_fn: one mapped statement. */
static eb_rc mapped_run(void *ctx, size_t table, enum eb_mapping_stmt which,
                        const struct eb_sql_value *v, size_t n, int64_t *changed,
                        struct eb_err *err)
{
    struct odbc_adapter *o = ctx;
    SQLHSTMT h = o->map_st[table * 3 + (size_t)which];
    eb_rc rc = EB_OK;
    for (size_t i = 0; !rc && i < n; i++)
        rc = eb_odbc_bind_value(o, h, (int)i, &v[i], err);
    return rc ? rc
              : eb_odbc_execute(o, h, eb_mapping_table_name(o->base.mapping, table), changed, err);
}

/* The push id's push_warning rows replaced by p's (sql/warning_sql.h). */
static eb_rc write_warnings(struct odbc_adapter *o, const struct eb_push *p, const char *push_id,
                            struct eb_err *err)
{
    if (p->keep_warnings)
        return EB_OK;
    eb_rc rc = eb_odbc_bind_str(o, o->warn_del, 0, push_id, err);
    if (!rc)
        rc = eb_odbc_execute(o, o->warn_del, "push_warning", NULL, err);
    for (size_t i = 0; !rc && i < p->n_warnings; i++) {
        struct eb_sql_value v[EB_WARNING_SQL_COLUMNS];
        eb_warning_sql_values(p, push_id, i, v);
        for (int k = 0; !rc && k < EB_WARNING_SQL_COLUMNS; k++)
            rc = eb_odbc_bind_value(o, o->warn_ins, k, &v[k], err);
        if (!rc)
            rc = eb_odbc_execute(o, o->warn_ins, "push_warning", NULL, err);
    }
    return rc;
}

/* Replaces the candidate's rows: through the mapping, or the default schema's child rows
 * deleted and every row written; then the push's warnings. */
static eb_rc write_candidate(struct odbc_adapter *o, const struct eb_push *p, const char *push_id,
                             int64_t at, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    if (o->base.mapping) {
        rc = eb_mapping_write(o->base.mapping, p->data, push_id, at, mapped_run, o, err);
        return rc ? rc : write_warnings(o, p, push_id, err);
    }
    size_t n;
    const struct eb_sql_table *children = eb_sqlgen_child_tables(o->schema, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        SQLHSTMT h = o->del[children[i].index];
        if (!(rc = eb_odbc_bind_int(o, h, 0, p->data->application_id.v, err)))
            rc = eb_odbc_execute(o, h, children[i].name, NULL, err);
    }
    if (!rc)
        rc = eb_sqlgen_walk(o->schema, p->data, push_id, at, write_row, o, err);
    return rc ? rc : write_warnings(o, p, push_id, err);
}

/* ---- the primitives of adapter.h, version 2 --------------------------------------------- */

/* Inside a transaction: the interviews of ev replace (or remove) their rows. */
static eb_rc interview_row(void *ctx, enum eb_interview_table t, const struct eb_sql_value *v,
                           size_t n, struct eb_err *err)
{
    struct odbc_adapter *o = ctx;
    eb_rc rc = EB_OK;
    for (size_t i = 0; !rc && i < n; i++)
        rc = eb_odbc_bind_value(o, o->itv_ins[t], (int)i, &v[i], err);
    return rc ? rc : eb_odbc_execute(o, o->itv_ins[t], o->itv.name[t], NULL, err);
}

/* What the last failure says about a new try: contention (SQLSTATE 23xxx from a concurrent
 * claim, 40001, 40P01, a locked SQLite) and a connection that broke under a transaction begun
 * on an open one may pass; the record itself (EB_ERR_INVALID) or memory never. Returns rc. */
static eb_rc noted(struct odbc_adapter *o, eb_rc rc)
{
    int lost = eb_odbc_lost_state(o->state);
    o->retry =
        rc != EB_ERR_INVALID && rc != EB_ERR_NOMEM &&
        (!strncmp(o->state, "23", 2) || !strcmp(o->state, "40001") || !strcmp(o->state, "40P01") ||
         (lost && o->tx_had) || (o->is_sqlite && rc == EB_ERR_UNAVAILABLE && !lost));
    return rc;
}

static void tx_end(struct odbc_adapter *o)
{
    if (o->in_tx && o->is_sqlite)
        pthread_mutex_unlock(&eb_odbc_sqlite_lock);
    o->in_tx = 0;
}

/* The connection is in manual-commit mode: the transaction begins with its first statement.
 * Writes to SQLite through ODBC take the process's SQLite lock until the transaction ends. */
eb_rc eb_odbc_begin(struct eb_adapter *a, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    o->tx_had = o->connected;
    o->retry = 0;
    eb_rc rc = eb_odbc_ensure_connected(o, err);
    if (rc)
        return rc;
    o->state[0] = '\0';
    if (o->is_sqlite)
        pthread_mutex_lock(&eb_odbc_sqlite_lock);
    o->in_tx = 1;
    return EB_OK;
}

void eb_odbc_rollback(struct eb_adapter *a)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    if (eb_odbc_lost_state(o->state))
        eb_odbc_disconnect(o);
    else
        eb_odbc_conn_rollback(o);
    tx_end(o);
}

eb_rc eb_odbc_commit(struct eb_adapter *a, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    eb_rc rc = o->connected ? eb_odbc_end_tran(o, 1, err)
                            : eb_err_set(err, EB_ERR_UNAVAILABLE, "odbc: not connected");
    if (rc) {
        noted(o, rc);
        eb_odbc_rollback(a);
        return rc;
    }
    tx_end(o);
    return EB_OK;
}

int eb_odbc_in_transaction(struct eb_adapter *a)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    return o->connected && o->in_tx;
}

eb_rc eb_odbc_savepoint(struct eb_adapter *a, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    return noted(o, eb_odbc_exec_direct(o, "SAVEPOINT eb_push", "SAVEPOINT", err));
}

eb_rc eb_odbc_release(struct eb_adapter *a, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    return noted(o, eb_odbc_exec_direct(o, "RELEASE SAVEPOINT eb_push", "RELEASE", err));
}

/* A driver that rolled the whole transaction back on the error (psqlODBC may) has no savepoint
 * left: this fails, and the bridge writes the batch again. */
eb_rc eb_odbc_rollback_to(struct eb_adapter *a, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    eb_rc rc = eb_odbc_exec_direct(o, "ROLLBACK TO SAVEPOINT eb_push", "ROLLBACK TO", err);
    return rc ? rc : eb_odbc_exec_direct(o, "RELEASE SAVEPOINT eb_push", "RELEASE", err);
}

eb_rc eb_odbc_log_get(struct eb_adapter *a, const char *push_id, struct eb_log_state *out,
                      struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    return noted(o, eb_odbc_find_log(o, push_id, &out->found, &out->outcome, out->message,
                                     sizeof out->message, err));
}

/* The SQL is portable (no upsert): the row is read, then updated or inserted. A claim by
 * another replica of the same id meets the primary key (SQLSTATE 23xxx): retryable. */
eb_rc eb_odbc_log_put(struct eb_adapter *a, const struct eb_push_record *rec,
                      enum eb_outcome outcome, int64_t received_at, int claim, int *written,
                      struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    int found = 0;
    enum eb_outcome cur = EB_OUTCOME_FAILED;
    eb_rc rc = eb_odbc_find_log(o, rec->push_id, &found, &cur, NULL, 0, err);
    if (written)
        *written = 0;
    if (rc || (claim && found && cur != EB_OUTCOME_FAILED))
        return noted(o, rc);
    if (!(rc = eb_odbc_put_log(o, found, rec, outcome, received_at, err)) && written)
        *written = 1;
    return noted(o, rc);
}

eb_rc eb_odbc_candidate_write(struct eb_adapter *a, const struct eb_push *p, const char *push_id,
                              int64_t updated_at, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    return noted(o, write_candidate(o, p, push_id, updated_at, err));
}

eb_rc eb_odbc_candidate_last(struct eb_adapter *a, int64_t app_id, struct eb_candidate_last *out,
                             struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    SQLHSTMT h = o->st[ST_CURRENT];
    eb_rc rc = eb_odbc_bind_int(o, h, 0, app_id, err);
    out->found = 0;
    out->push_id = NULL;
    if (rc)
        return noted(o, rc);
    if (!SQL_SUCCEEDED(SQLExecute(h)))
        return noted(o,
                     eb_odbc_fail(o, SQL_HANDLE_STMT, h, "reading the candidate's last push", err));
    SQLRETURN r = SQLFetch(h);
    if (SQL_SUCCEEDED(r)) {
        int is_null = 0;
        if (!(rc = eb_odbc_get_int(o, h, 1, &out->received_at_ms, &is_null, err)) &&
            !(rc = eb_odbc_get_text(o, h, 2, &out->push_id, NULL, err)))
            out->found = !is_null;
    } else if (r != SQL_NO_DATA) {
        rc = eb_odbc_fail(o, SQL_HANDLE_STMT, h, "reading the candidate's last push", err);
    }
    SQLFreeStmt(h, SQL_CLOSE);
    return noted(o, rc);
}

eb_rc eb_odbc_interview_apply(struct eb_adapter *a, const struct eb_interview_event *ev,
                              const char *push_id, int64_t at, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    eb_rc rc = EB_OK;
    for (size_t i = 0; !rc && i < ev->interviews_n; i++) {
        const struct eb_interview *iv = &ev->interviews[i];
        for (size_t t = EB_ITV_N_TABLES; !rc && t-- > 0;)
            if (!(rc = eb_odbc_bind_str(o, o->itv_del[t], 0, iv->event_id, err)))
                rc = eb_odbc_execute(o, o->itv_del[t], o->itv.name[t], NULL, err);
        if (!rc && ev->kind != EB_INTERVIEW_DELETE)
            rc = eb_interview_sql_rows(ev, iv, push_id, at, interview_row, o, err);
    }
    return noted(o, rc);
}

int eb_odbc_retryable(struct eb_adapter *a)
{
    return ((struct odbc_adapter *)a)->retry;
}

/* Connections with the same connection string share a writer. */
int eb_odbc_share(struct eb_adapter *a, struct eb_adapter_share *out)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    int n = snprintf(out->key, sizeof out->key, "%s", o->conn_str);
    if (n < 0 || (size_t)n >= sizeof out->key)
        return 0; /* too long to compare: no sharing */
    out->wait_ms = 30000;
    return 1;
}

eb_rc eb_odbc_ping(struct eb_adapter *a, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    eb_rc rc = eb_odbc_ensure_connected(o, err);
    if (rc)
        return rc;
    SQLHSTMT h = o->st[ST_VERSION];
    int64_t v = 0;
    int is_null = 0;
    if (!SQL_SUCCEEDED(SQLExecute(h)) || !SQL_SUCCEEDED(SQLFetch(h))) {
        rc = eb_odbc_fail(o, SQL_HANDLE_STMT, h, "reading schema_version", err);
        SQLFreeStmt(h, SQL_CLOSE);
        eb_odbc_conn_rollback(o);
        if (eb_odbc_lost_state(o->state))
            eb_odbc_disconnect(o);
        return rc;
    }
    rc = eb_odbc_get_int(o, h, 1, &v, &is_null, err);
    SQLFreeStmt(h, SQL_CLOSE);
    eb_odbc_conn_rollback(o);
    return rc ? rc : eb_sqlgen_check_version(v, err);
}

/* Reads push_id's whole push_log row and hands it to fn (its own short transaction). */
static eb_rc list_one(struct odbc_adapter *o, SQLHSTMT h, const char *push_id, eb_logged_push_fn fn,
                      void *user, struct eb_err *err)
{
    eb_rc rc = eb_odbc_bind_str(o, h, 0, push_id, err);
    if (rc)
        return rc;
    if (!SQL_SUCCEEDED(SQLExecute(h)))
        return eb_odbc_fail(o, SQL_HANDLE_STMT, h, "listing push_log", err);
    SQLRETURN r = SQLFetch(h);
    if (r == SQL_NO_DATA) { /* gone meanwhile */
        SQLFreeStmt(h, SQL_CLOSE);
        return EB_OK;
    }
    if (!SQL_SUCCEEDED(r)) {
        rc = eb_odbc_fail(o, SQL_HANDLE_STMT, h, "listing push_log", err);
        SQLFreeStmt(h, SQL_CLOSE);
        return rc;
    }
    char *ev = NULL, *trig = NULL, *oc = NULL, *msg = NULL, *pay = NULL, *raw = NULL;
    size_t pay_len = 0, raw_len = 0;
    int64_t at = 0;
    int is_null = 0;
    if (!(rc = eb_odbc_get_text(o, h, 1, &ev, NULL, err)) &&
        !(rc = eb_odbc_get_text(o, h, 2, &trig, NULL, err)) &&
        !(rc = eb_odbc_get_int(o, h, 3, &at, &is_null, err)) &&
        !(rc = eb_odbc_get_text(o, h, 4, &oc, NULL, err)) &&
        !(rc = eb_odbc_get_text(o, h, 5, &msg, NULL, err)) &&
        !(rc = eb_odbc_get_text(o, h, 6, &pay, &pay_len, err)) &&
        !(rc = eb_odbc_get_data(o, h, 7, 0, &raw, &raw_len, err))) {
        SQLFreeStmt(h, SQL_CLOSE);
        eb_odbc_conn_rollback(
            o); /* no lock held while fn runs (it may write through another connection) */
        struct eb_logged_push row = {
            .push_id = push_id,
            .event = ev,
            .triggered_at = trig,
            .received_at_ms = at,
            .outcome = eb_odbc_outcome_from(oc),
            .message = msg,
            .payload = pay,
            .payload_len = pay_len,
            .raw = raw,
            .raw_len = raw_len,
        };
        if (fn(user, &row))
            rc = eb_err_set(err, EB_ERR_INTERNAL, "listing stopped");
    }
    SQLFreeStmt(h, SQL_CLOSE);
    free(ev);
    free(trig);
    free(oc);
    free(msg);
    free(pay);
    free(raw);
    return rc;
}

/* Lists push_log rows matching f in received_at order (adapter.h); read-only. The matching push
 * ids are read first, then each row in a transaction of its own: no read lock is held while fn
 * runs (an SQLite file would otherwise keep the replay's writer waiting). */
eb_rc eb_odbc_list_pushes(struct eb_adapter *a, const struct eb_push_filter *f,
                          eb_logged_push_fn fn, void *user, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    eb_rc rc = eb_odbc_ensure_connected(o, err);
    if (rc)
        return rc;
    struct eb_sql_list l;
    SQLHSTMT h = NULL, row = NULL;
    char **ids = NULL;
    size_t n = 0, cap = 0;
    if (eb_sqlgen_list(&o->dialect, "\"push_id\"", f, 0, &l)) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory listing push_log");
        goto out;
    }
    if ((rc = eb_odbc_prepare(o, l.sql, &h, "listing push_log", err)) ||
        (rc = eb_odbc_prepare(
             o,
             "SELECT \"event\", \"triggered_at\", \"received_at\", \"outcome\","
             " \"message\", \"payload\", \"raw\" FROM \"push_log\" WHERE \"push_id\" = ?",
             &row, "listing push_log", err)))
        goto out;
    for (size_t i = 0; i < l.n_param; i++)
        if ((rc = eb_odbc_bind_value(o, h, (int)i, &l.param[i], err)))
            goto out;
    if (!SQL_SUCCEEDED(SQLExecute(h))) {
        rc = eb_odbc_fail(o, SQL_HANDLE_STMT, h, "listing push_log", err);
        goto out;
    }
    for (;;) {
        SQLRETURN r = SQLFetch(h);
        if (r == SQL_NO_DATA)
            break;
        char *id = NULL;
        if (!SQL_SUCCEEDED(r)) {
            rc = eb_odbc_fail(o, SQL_HANDLE_STMT, h, "listing push_log", err);
            break;
        }
        if ((rc = eb_odbc_get_text(o, h, 1, &id, NULL, err)))
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **b = realloc(ids, cap * sizeof *b);
            if (!b) {
                free(id);
                rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory listing push_log");
                break;
            }
            ids = b;
        }
        ids[n++] = id ? id : strdup("");
    }
    SQLFreeStmt(h, SQL_CLOSE);
    eb_odbc_conn_rollback(o);
    for (size_t j = 0; !rc && j < n; j++)
        if (ids[j])
            rc = list_one(o, row, ids[j], fn, user, err);
out:
    for (size_t j = 0; j < n; j++)
        free(ids[j]);
    free(ids);
    eb_sqlgen_list_free(&l);
    if (h)
        SQLFreeHandle(SQL_HANDLE_STMT, h);
    if (row)
        SQLFreeHandle(SQL_HANDLE_STMT, row);
    eb_odbc_conn_rollback(o);
    if (rc && eb_odbc_lost_state(o->state))
        eb_odbc_disconnect(o);
    return rc;
}

/* Retention on ODBC: every DBMS spells a bounded batch differently (LIMIT, TOP, FETCH FIRST), so
 * one statement clears every push_log row past the limit (after the warnings' values), in one
 * transaction. */
eb_rc eb_odbc_purge_payloads(struct eb_adapter *a, int64_t before_ms, unsigned max_rows,
                             int64_t *purged, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    struct eb_pushread_sql sql;
    SQLHSTMT h = NULL;
    (void)max_rows;
    eb_rc rc = eb_odbc_ensure_connected(o, err);
    if (rc)
        return rc;
    int64_t n = 0;
    if ((rc = eb_pushread_purge_warnings(&o->dialect, before_ms, &sql, err)))
        return rc;
    if (!(rc = eb_odbc_prepare(o, sql.sql, &h, "purging push_warning", err)) &&
        !(rc = eb_odbc_bind_int(o, h, 0, before_ms, err)))
        rc = eb_odbc_execute(o, h, "purging push_warning", &n, err);
    eb_odbc_free_stmt(&h);
    eb_pushread_free(&sql);
    if (!rc && !(rc = eb_pushread_purge(&o->dialect, before_ms, 0, &sql, err)) &&
        !(rc = eb_odbc_prepare(o, sql.sql, &h, "purging push_log", err)) &&
        !(rc = eb_odbc_bind_int(o, h, 0, before_ms, err)) &&
        !(rc = eb_odbc_execute(o, h, "purging push_log", purged, err)))
        rc = eb_odbc_end_tran(o, 1, err);
    if (rc) {
        eb_odbc_conn_rollback(o);
        if (eb_odbc_lost_state(o->state))
            eb_odbc_disconnect(o);
    }
    eb_odbc_free_stmt(&h);
    eb_pushread_free(&sql);
    return rc;
}

/* The SQLite adapter's writes of pushes: the transaction primitives of adapter.h (version 2),
 * push_log, a candidate's rows, --mapping's tables, push_warning and interview events. */

#include "adapters/sqlite_int.h"

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

eb_rc eb_sq_begin(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    return eb_sq_run(s, s->begin, "BEGIN IMMEDIATE", err);
}

eb_rc eb_sq_commit(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    return eb_sq_run(s, s->commit, "COMMIT", err);
}

void eb_sq_rollback(struct eb_adapter *a)
{
    eb_sq_abandon((struct sqlite_adapter *)a);
}

int eb_sq_in_transaction(struct eb_adapter *a)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    return s->db && !sqlite3_get_autocommit(s->db);
}

eb_rc eb_sq_savepoint(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    return eb_sq_run(s, s->savepoint, "SAVEPOINT", err);
}

eb_rc eb_sq_release(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    return eb_sq_run(s, s->release, "RELEASE", err);
}

eb_rc eb_sq_rollback_to(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = eb_sq_run(s, s->undo, "ROLLBACK TO", err);
    return rc ? rc : eb_sq_run(s, s->release, "RELEASE", err);
}

eb_rc eb_sq_log_get(struct eb_adapter *a, const char *push_id, struct eb_log_state *out,
                    struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    sqlite3_stmt *st = s->find_log;
    int code = eb_sq_bind_str(st, 1, push_id);
    if (code)
        return eb_sq_fail(s, code, "binding push_log", err);
    out->found = 0;
    code = sqlite3_step(st);
    if (code == SQLITE_ROW) {
        const unsigned char *m = sqlite3_column_text(st, 1);
        out->found = 1;
        out->outcome = outcome_from(sqlite3_column_text(st, 0));
        snprintf(out->message, sizeof out->message, "%s", m ? (const char *)m : "");
    } else if (code != SQLITE_DONE) {
        rc = eb_sq_fail(s, code, "reading push_log", err);
    }
    sqlite3_reset(st);
    return rc;
}

eb_rc eb_sq_log_put(struct eb_adapter *a, const struct eb_push_record *rec, enum eb_outcome outcome,
                    int64_t received_at, int claim, int *written, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    sqlite3_stmt *st = claim ? s->claim_log : s->put_log;
    eb_rc rc = eb_sq_bind_log(s, st, rec, outcome, received_at, err);
    if (!rc)
        rc = eb_sq_run(s, st, "push_log", err);
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
        rc = code ? eb_sq_fail(s, code, children[i].name, err)
                  : eb_sq_run(s, st, children[i].name, err);
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
    return eb_sq_fail(r->s, code, t->name, err);
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
        rc = eb_sq_bind_values(s, st, 1, s->pend, n * t->n_columns, t->name, err);
        return rc ? rc : step_rows(r, st, t, err);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        sqlite3_stmt *st = s->insert[t->index];
        if (!(rc = eb_sq_bind_row(s, st, t, s->pend + i * t->n_columns, err)))
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
        if ((rc = eb_sq_bind_row(s, s->add_candidate, t, v, err)) ||
            (rc = eb_sq_run(s, s->add_candidate, t->name, err)))
            return rc;
        if ((r->fresh = sqlite3_changes(s->db) > 0))
            return EB_OK;
        if ((rc = clear_children(s, r->app, err)))
            return rc;
        sqlite3_stmt *st = s->insert[t->index];
        return (rc = eb_sq_bind_row(s, st, t, v, err)) ? rc : step_rows(r, st, t, err);
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
eb_rc eb_sq_candidate_write(struct eb_adapter *a, const struct eb_push *p, const char *push_id,
                            int64_t updated_at, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    if (s->base.mapping) {
        eb_rc rc = eb_mapping_write(s->base.mapping, p->data, push_id, updated_at, eb_sq_mapped_run,
                                    s, err);
        return rc ? rc : eb_sq_warning_write(s, p, push_id, err);
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
    return rc ? rc : eb_sq_warning_write(s, p, push_id, err);
}

/* The push whose rows the candidate holds: its default candidate row names it; the mapped rows
 * hold the last push stored for the applicationId. */
eb_rc eb_sq_candidate_last(struct eb_adapter *a, int64_t app, struct eb_candidate_last *out,
                           struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    const char *what = "reading the candidate's last push";
    out->found = 0;
    out->push_id = NULL;
    if (!s->current &&
        (rc = eb_sq_prepare(
             s,
             s->base.mapping
                 ? "SELECT received_at, push_id FROM push_log WHERE application_id = ?"
                   " AND outcome = 'stored' ORDER BY received_at DESC LIMIT 1"
                 : "SELECT l.received_at, c.last_push_id FROM candidate c JOIN push_log l"
                   " ON l.push_id = c.last_push_id WHERE c.application_id = ?",
             &s->current, what, err)))
        return rc;
    int code = sqlite3_bind_int64(s->current, 1, app);
    if (code)
        return eb_sq_fail(s, code, what, err);
    code = sqlite3_step(s->current);
    if (code == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s->current, 1);
        out->found = 1;
        out->received_at_ms = sqlite3_column_int64(s->current, 0);
        if (id && !(out->push_id = strdup(id)))
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    } else if (code != SQLITE_DONE) {
        rc = eb_sq_fail(s, code, what, err);
    }
    sqlite3_reset(s->current);
    return rc;
}

/* ---- a mapping (--mapping, mapping/mapping.h) ------------------------------------------- */

/* Builds the mapped tables' statements: each table is probed first (a missing table or column
 * stops the start), then its update, insert and remove are prepared. */
eb_rc eb_sq_mapped_prepare(struct sqlite_adapter *s, struct eb_err *err)
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
        if ((rc = eb_sq_exec(s, t->probe_sql, what, err)))
            break;
        for (size_t k = 0; !rc && k < 3; k++)
            if (text[k])
                rc = eb_sq_prepare(s, text[k], &s->map_st[i * 3 + k], what, err);
    }
    return rc;
}

void eb_sq_mapped_close(struct sqlite_adapter *s)
{
    for (size_t i = 0; s->map_st && s->map_sql && i < s->map_sql->n_tables * 3; i++)
        sqlite3_finalize(s->map_st[i]);
    free(s->map_st);
    s->map_st = NULL;
    eb_mapping_sql_free(s->map_sql);
    s->map_sql = NULL;
}

/* eb_mapping_run_fn: runs one mapped statement with the prepared statement of its table. */
eb_rc eb_sq_mapped_run(void *ctx, size_t table, enum eb_mapping_stmt which,
                       const struct eb_sql_value *v, size_t n, int64_t *changed, struct eb_err *err)
{
    struct sqlite_adapter *s = ctx;
    sqlite3_stmt *st = s->map_st[table * 3 + (size_t)which];
    const char *what = eb_mapping_table_name(s->base.mapping, table);
    for (size_t i = 0; i < n; i++) {
        int c = v[i].type == EB_SQL_VINT    ? sqlite3_bind_int64(st, (int)i + 1, v[i].i)
                : v[i].type == EB_SQL_VTEXT ? eb_sq_bind_text(st, (int)i + 1, v[i].s, v[i].len)
                                            : sqlite3_bind_null(st, (int)i + 1);
        if (c)
            return eb_sq_fail(s, c, what, err);
    }
    eb_rc rc = eb_sq_run(s, st, what, err);
    if (!rc && changed)
        *changed = sqlite3_changes(s->db);
    return rc;
}

eb_rc eb_sq_ping(struct eb_adapter *a, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    int64_t version = 0;
    eb_rc rc = eb_sq_read_version(s, s->version, &version, err);
    return rc ? rc : eb_sqlgen_check_version(version, err);
}

/* ---- push_warning (sql/warning_sql.h) ---------------------------------------------- */

/* Creates push_warning unless it exists (also in a database made before it). */
eb_rc eb_sq_warning_table(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    if (!s->wsql.ddl && (rc = eb_warning_sql_build(&eb_sql_dialect_sqlite, &s->wsql, err)))
        return rc;
    return eb_sq_exec(s, s->wsql.ddl, "creating push_warning", err);
}

eb_rc eb_sq_warning_prepare(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = eb_sq_prepare(s, s->wsql.insert, &s->warn_insert, "push_warning", err);
    return rc ? rc : eb_sq_prepare(s, s->wsql.remove, &s->warn_remove, "push_warning", err);
}

void eb_sq_warning_close(struct sqlite_adapter *s)
{
    sqlite3_finalize(s->warn_insert);
    sqlite3_finalize(s->warn_remove);
    s->warn_insert = s->warn_remove = NULL;
    eb_warning_sql_free(&s->wsql);
}

/* In the push's transaction: the push id's warnings replaced by p's. */
eb_rc eb_sq_warning_write(struct sqlite_adapter *s, const struct eb_push *p, const char *push_id,
                          struct eb_err *err)
{
    if (p->keep_warnings)
        return EB_OK;
    int code = eb_sq_bind_str(s->warn_remove, 1, push_id);
    eb_rc rc = code ? eb_sq_fail(s, code, "push_warning", err)
                    : eb_sq_run(s, s->warn_remove, "push_warning", err);
    for (size_t i = 0; !rc && i < p->n_warnings; i++) {
        struct eb_sql_value v[EB_WARNING_SQL_COLUMNS];
        eb_warning_sql_values(p, push_id, i, v);
        sqlite3_clear_bindings(s->warn_insert);
        if (!(rc = eb_sq_bind_values(s, s->warn_insert, 1, v, EB_WARNING_SQL_COLUMNS,
                                     "push_warning", err)))
            rc = eb_sq_run(s, s->warn_insert, "push_warning", err);
    }
    return rc;
}

/* ---- interview events (sql/interview_sql.h) ---------------------------------------- */

/* Creates the interview tables unless they exist (also in a database made before them). */
eb_rc eb_sq_interview_tables(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    if (!s->itv.n_ddl && (rc = eb_interview_sql_build(&eb_sql_dialect_sqlite, &s->itv, err)))
        return rc;
    for (size_t i = 0; !rc && i < s->itv.n_ddl; i++)
        rc = eb_sq_exec(s, s->itv.ddl[i], "creating the interview tables", err);
    return rc;
}

eb_rc eb_sq_interview_prepare(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    for (size_t t = 0; !rc && t < EB_ITV_N_TABLES; t++)
        if (!(rc = eb_sq_prepare(s, s->itv.insert[t], &s->itv_insert[t], s->itv.name[t], err)))
            rc = eb_sq_prepare(s, s->itv.remove[t], &s->itv_remove[t], s->itv.name[t], err);
    return rc;
}

void eb_sq_interview_close(struct sqlite_adapter *s)
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
            return eb_sq_fail(s, c, s->itv.name[t], err);
    }
    return eb_sq_run(s, st, s->itv.name[t], err);
}

/* Inside the bridge's transaction: every interview of ev replaces (or, for a delete, removes)
 * the rows of its event_id. */
eb_rc eb_sq_interview_apply(struct eb_adapter *a, const struct eb_interview_event *ev,
                            const char *push_id, int64_t at, struct eb_err *err)
{
    struct sqlite_adapter *w = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    for (size_t i = 0; !rc && i < ev->interviews_n; i++) {
        const struct eb_interview *iv = &ev->interviews[i];
        for (size_t t = EB_ITV_N_TABLES; !rc && t-- > 0;) {
            sqlite3_stmt *st = w->itv_remove[t];
            int code = eb_sq_bind_str(st, 1, iv->event_id);
            rc = code ? eb_sq_fail(w, code, w->itv.name[t], err)
                      : eb_sq_run(w, st, w->itv.name[t], err);
        }
        if (!rc && ev->kind != EB_INTERVIEW_DELETE)
            rc = eb_interview_sql_rows(ev, iv, push_id, at, interview_row, w, err);
    }
    return rc;
}

/* Rows per page of eb_sq_list_pushes: each page is a read transaction of its own, so that the
 * checkpoints of a long replay's writes are not held back by one reader from start to end. */
#define LIST_PAGE 64

/* Lists push_log rows on this instance's own connection (read-only), page by page after the
 * last (received_at, push_id) listed. */
eb_rc eb_sq_list_pushes(struct eb_adapter *a, const struct eb_push_filter *f, eb_logged_push_fn fn,
                        void *user, struct eb_err *err)
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
    eb_rc rc = eb_sq_prepare(s, l.sql, &st, "listing push_log", err);
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
        if ((rc = eb_sq_bind_values(s, st, 1, l.param, l.n_param, "listing push_log", err)))
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
            rc = eb_sq_fail(s, code, "listing push_log", err);
        sqlite3_reset(st); /* ends the page's read transaction */
    }
    free(last);
    free(bound);
    sqlite3_finalize(st);
    eb_sqlgen_list_free(&l);
    return rc;
}

/* The PostgreSQL adapter's reads for the admin listener (pushread.h, adapter.h version 3): pages
 * of pushes, one push, counts, warnings, and the purge of old payloads. */

#include "adapters/postgres_int.h"

/* ---- reads for the admin listener (pushread.h) ----------------------------------------- */

/* Runs a read of pushread.h on this instance's connection; results in binary, which for the
 * text columns (every column of these reads but raw, cast to text) is their bytes. */
static eb_rc read_rows(struct eb_adapter *a, struct eb_pushread_sql *q, eb_pushread_row_fn row_fn,
                       void *ctx, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    eb_rc rc = eb_pg_ensure_connected(g, err);
    if (rc) {
        eb_pushread_free(q);
        return rc;
    }
    g->fail.set = 0;
    const char *vals[EB_PUSHREAD_PARAMS];
    char num[EB_PUSHREAD_PARAMS][24];
    for (size_t i = 0; i < q->n_param; i++) {
        const struct eb_sql_value *v = &q->param[i];
        vals[i] = v->type == EB_SQL_VTEXT ? v->s : NULL;
        if (v->type == EB_SQL_VINT) {
            snprintf(num[i], sizeof num[i], "%lld", (long long)v->i);
            vals[i] = num[i];
        }
    }
    PGresult *r = PQexecParams(g->conn, q->sql, (int)q->n_param, NULL, vals, NULL, NULL, 1);
    eb_pushread_free(q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        eb_pg_note_result(g, r, "reading push_log");
        PQclear(r);
        return eb_pg_fail_rc(g, err);
    }
    int n = PQnfields(r);
    for (int row = 0; !rc && row < PQntuples(r); row++) {
        const char *col[EB_PUSHREAD_COLUMNS] = {0};
        size_t len[EB_PUSHREAD_COLUMNS] = {0};
        for (int i = 0; i < n && i < EB_PUSHREAD_COLUMNS; i++) {
            col[i] = PQgetisnull(r, row, i) ? NULL : PQgetvalue(r, row, i);
            len[i] = col[i] ? (size_t)PQgetlength(r, row, i) : 0;
        }
        if (row_fn(ctx, col, len))
            rc = eb_err_set(err, EB_ERR_INTERNAL, "reading push_log stopped");
    }
    PQclear(r);
    return rc;
}

eb_rc eb_pg_push_page(struct eb_adapter *a, const struct eb_push_query *q, eb_push_summary_fn fn,
                      void *user, struct eb_err *err)
{
    return eb_pushread_do_page(&eb_sql_dialect_postgres, read_rows, a, q, fn, user, err);
}

eb_rc eb_pg_push_get(struct eb_adapter *a, const char *push_id, eb_push_summary_fn fn, void *user,
                     struct eb_err *err)
{
    return eb_pushread_do_get(&eb_sql_dialect_postgres, read_rows, a, push_id, fn, user, err);
}

eb_rc eb_pg_push_counts(struct eb_adapter *a, int64_t since_ms, int64_t bucket_ms,
                        eb_push_count_fn fn, void *user, struct eb_err *err)
{
    return eb_pushread_do_counts(&eb_sql_dialect_postgres, read_rows, a, since_ms, bucket_ms, fn,
                                 user, err);
}

eb_rc eb_pg_push_warnings(struct eb_adapter *a, const char *push_id, eb_push_warning_fn fn,
                          void *user, struct eb_err *err)
{
    return eb_pushread_do_warnings(&eb_sql_dialect_postgres, read_rows, a, push_id, fn, user, err);
}

/* Runs a statement of pushread.h that changes rows; *changed gets how many. */
static eb_rc pg_change(struct pg_adapter *g, struct eb_pushread_sql *sql, int64_t *changed,
                       struct eb_err *err)
{
    char before[24];
    snprintf(before, sizeof before, "%lld", (long long)sql->param[0].i);
    const char *vals[1] = {before};
    PGresult *r = PQexecParams(g->conn, sql->sql, 1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        eb_pg_note_result(g, r, "purging push_log");
        PQclear(r);
        return eb_pg_fail_rc(g, err);
    }
    *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return EB_OK;
}

eb_rc eb_pg_purge_payloads(struct eb_adapter *a, int64_t before_ms, unsigned max_rows,
                           int64_t *purged, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    struct eb_pushread_sql sql[2];
    int64_t n = 0;
    memset(sql, 0, sizeof sql);
    eb_rc rc = eb_pushread_purge_warnings(&eb_sql_dialect_postgres, before_ms, &sql[0], err);
    if (!rc)
        rc = eb_pushread_purge(&eb_sql_dialect_postgres, before_ms, max_rows, &sql[1], err);
    if (!rc)
        rc = eb_pg_ensure_connected(g, err);
    if (!rc) {
        g->fail.set = 0;
        PGresult *r = PQexec(g->conn, "BEGIN");
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            eb_pg_note_result(g, r, "purging push_log");
        PQclear(r);
        if (!ok)
            rc = eb_pg_fail_rc(g, err);
    }
    if (!rc && !(rc = pg_change(g, &sql[0], &n, err)) && !(rc = pg_change(g, &sql[1], &n, err))) {
        PGresult *r = PQexec(g->conn, "COMMIT");
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            eb_pg_note_result(g, r, "purging push_log");
            rc = eb_pg_fail_rc(g, err);
        }
        PQclear(r);
    }
    if (rc && g->conn)
        PQclear(PQexec(g->conn, "ROLLBACK"));
    else if (!rc)
        *purged = n;
    eb_pushread_free(&sql[0]);
    eb_pushread_free(&sql[1]);
    return rc;
}

/* The SQLite adapter's reads for the admin listener (pushread.h, adapter.h version 3): pages of
 * pushes, one push, counts, warnings, and the purge of old payloads. */

#include "adapters/sqlite_int.h"

/* ---- reads for the admin listener (pushread.h) ----------------------------------------- */

/* Runs a read of pushread.h on this instance's connection, one row at a time to row_fn (the
 * columns as text, raw as its bytes); one read transaction. */
static eb_rc read_rows(struct eb_adapter *a, struct eb_pushread_sql *q, eb_pushread_row_fn row_fn,
                       void *ctx, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    sqlite3_stmt *st = NULL;
    eb_rc rc = eb_sq_prepare(s, q->sql, &st, "reading push_log", err);
    if (!rc)
        rc = eb_sq_bind_values(s, st, 1, q->param, q->n_param, "reading push_log", err);
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
        rc = eb_sq_fail(s, code, "reading push_log", err);
    sqlite3_finalize(st);
    eb_pushread_free(q);
    return rc;
}

eb_rc eb_sq_push_page(struct eb_adapter *a, const struct eb_push_query *q, eb_push_summary_fn fn,
                      void *user, struct eb_err *err)
{
    return eb_pushread_do_page(&eb_sql_dialect_sqlite, read_rows, a, q, fn, user, err);
}

eb_rc eb_sq_push_get(struct eb_adapter *a, const char *push_id, eb_push_summary_fn fn, void *user,
                     struct eb_err *err)
{
    return eb_pushread_do_get(&eb_sql_dialect_sqlite, read_rows, a, push_id, fn, user, err);
}

eb_rc eb_sq_push_counts(struct eb_adapter *a, int64_t since_ms, int64_t bucket_ms,
                        eb_push_count_fn fn, void *user, struct eb_err *err)
{
    return eb_pushread_do_counts(&eb_sql_dialect_sqlite, read_rows, a, since_ms, bucket_ms, fn,
                                 user, err);
}

/* Runs on this instance's own connection, beside the gate's writer: a batch waits for it like
 * a writer of another process (busy timeout). */
eb_rc eb_sq_purge_payloads(struct eb_adapter *a, int64_t before_ms, unsigned max_rows,
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
        rc = eb_sq_exec(s, "BEGIN IMMEDIATE", "purging push_log", err);
    for (int i = 0; !rc && i < 2; i++) {
        if (!(rc = eb_sq_prepare(s, sql[i].sql, &st, "purging push_log", err)) &&
            !(rc = eb_sq_bind_values(s, st, 1, sql[i].param, sql[i].n_param, "purging push_log",
                                     err)) &&
            !(rc = eb_sq_run(s, st, "purging push_log", err)))
            changed = sqlite3_changes(s->db);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (!rc && !(rc = eb_sq_exec(s, "COMMIT", "purging push_log", err)))
        *purged = changed;
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    eb_pushread_free(&sql[0]);
    eb_pushread_free(&sql[1]);
    return rc;
}

eb_rc eb_sq_push_warnings(struct eb_adapter *a, const char *push_id, eb_push_warning_fn fn,
                          void *user, struct eb_err *err)
{
    return eb_pushread_do_warnings(&eb_sql_dialect_sqlite, read_rows, a, push_id, fn, user, err);
}

/* The SQLite adapter's attachment queue (adapter.h, version 4): the attachment and
 * attachment_chunk tables, claims with leases, reads, statistics and purges. */

#include "adapters/sqlite_int.h"

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
eb_rc eb_sq_att_tables(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    for (size_t i = 0; !rc && i < sizeof att_ddl / sizeof att_ddl[0]; i++)
        rc = eb_sq_exec(s, att_ddl[i], "creating the attachment tables", err);
    return rc;
}

/* In the push's transaction: one pending row per link (adapter.h, att_enqueue). */
eb_rc eb_sq_att_enqueue(struct eb_adapter *a, const char *push_id, int64_t application_id,
                        const struct eb_att_link *links, size_t n, int64_t at_ms,
                        struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    if (!s->att_put &&
        (rc = eb_sq_prepare(
             s,
             "INSERT INTO \"attachment\" (\"push_id\", \"application_id\", \"field\", "
             "\"url\", \"created_at\", \"expires_at\", \"next_at\") VALUES "
             "(?1, ?2, ?3, ?4, ?5, ?6, ?5) ON CONFLICT (\"push_id\", \"field\") DO NOTHING",
             &s->att_put, "preparing attachment", err)))
        return rc;
    sqlite3_stmt *st = s->att_put;
    for (size_t i = 0; !rc && i < n; i++) {
        int code = eb_sq_bind_str(st, 1, push_id);
        if (!code)
            code = sqlite3_bind_int64(st, 2, application_id);
        if (!code)
            code = eb_sq_bind_str(st, 3, links[i].field);
        if (!code)
            code = eb_sq_bind_text(st, 4, links[i].url, links[i].url_len);
        if (!code)
            code = sqlite3_bind_int64(st, 5, at_ms);
        if (!code)
            code = sqlite3_bind_int64(st, 6, links[i].expires_ms);
        rc = code ? eb_sq_fail(s, code, "binding attachment", err)
                  : eb_sq_run(s, st, "queueing a download link", err);
    }
    return rc;
}

/* In the replay's transaction: the push's rows neither stored nor pending, pending again. */
eb_rc eb_sq_att_requeue(struct eb_adapter *a, const char *push_id, int64_t at_ms,
                        struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    eb_rc rc = EB_OK;
    if (!s->att_again &&
        (rc = eb_sq_prepare(s,
                            "UPDATE \"attachment\" SET \"status\" = 'pending', \"next_at\" = ?2 "
                            "WHERE \"push_id\" = ?1 AND \"status\" NOT IN ('stored', 'pending')",
                            &s->att_again, "preparing attachment", err)))
        return rc;
    int code = eb_sq_bind_str(s->att_again, 1, push_id);
    if (!code)
        code = sqlite3_bind_int64(s->att_again, 2, at_ms);
    return code ? eb_sq_fail(s, code, "binding attachment", err)
                : eb_sq_run(s, s->att_again, "queueing the download links again", err);
}

/* A statement of the queue methods: prepared per call (they are rare next to pushes). */
static eb_rc att_prepare(struct sqlite_adapter *s, const char *sql, sqlite3_stmt **st,
                         struct eb_err *err)
{
    int code = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return code == SQLITE_OK ? EB_OK
                             : eb_sq_fail(s, code, "preparing an attachment statement", err);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

eb_rc eb_sq_att_claim(struct eb_adapter *a, const char *owner, int64_t now_ms, int64_t lease_ms,
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
    eb_sq_bind_str(st, 1, owner);
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
        rc = eb_sq_fail(s, code, "claiming a download", err);
    sqlite3_finalize(st);
    return rc;
}

eb_rc eb_sq_att_chunk(struct eb_adapter *a, int64_t id, int attempt, int seq, const void *data,
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
    rc = eb_sq_run(s, st, "storing a chunk of a download", err);
    sqlite3_finalize(st);
    return rc;
}

eb_rc eb_sq_att_finish(struct eb_adapter *a, int64_t id, const char *owner, int attempt,
                       const struct eb_att_result *r, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    sqlite3_stmt *up = NULL, *del = NULL;
    int stored = r->status == EB_ATT_STORED;
    eb_rc rc = eb_sq_exec(s, "BEGIN IMMEDIATE", "recording a download", err);
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
    eb_sq_bind_str(up, 2, owner);
    eb_sq_bind_str(up, 3, eb_att_status_name(r->status));
    eb_sq_bind_str(up, 4, r->error);
    sqlite3_bind_int64(up, 5, r->next_ms);
    eb_sq_bind_opt_int(up, 6, stored, r->size);
    eb_sq_bind_str(up, 7, stored ? r->sha256 : NULL);
    eb_sq_bind_str(up, 8, stored ? r->content_type : NULL);
    eb_sq_bind_str(up, 9, stored ? r->file_name : NULL);
    eb_sq_bind_opt_int(up, 10, stored, attempt);
    eb_sq_bind_str(up, 11, stored ? (r->in_db ? "db" : "dir") : NULL);
    if ((rc = eb_sq_run(s, up, "recording a download", err)))
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
    if ((rc = eb_sq_run(s, del, "deleting the chunks of a download", err)))
        goto out;
    rc = eb_sq_exec(s, "COMMIT", "recording a download", err);
out:
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(up);
    sqlite3_finalize(del);
    return rc;
}

eb_rc eb_sq_att_list(struct eb_adapter *a, const struct eb_att_filter *f, eb_att_row_fn fn,
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
    eb_sq_bind_str(st, 1, f && f->status >= 0 ? eb_att_status_name(f->status) : NULL);
    eb_sq_bind_opt_int(st, 2, f && f->has_application_id, f ? f->application_id : 0);
    eb_sq_bind_opt_int(st, 3, f && f->id, f ? f->id : 0);
    eb_sq_bind_str(st, 4, f ? f->push_id : NULL);
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
        rc = eb_sq_fail(s, code, "listing attachments", err);
    sqlite3_finalize(st);
    return rc;
}

eb_rc eb_sq_att_read(struct eb_adapter *a, int64_t id, eb_att_chunk_fn fn, void *user,
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
        rc = eb_sq_fail(s, code, "reading an attachment", err);
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
            rc = eb_sq_fail(s, code, "reading an attachment", err);
        else if (fn(user, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)))
            rc = eb_err_set(err, EB_ERR_INTERNAL, "reading stopped");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

eb_rc eb_sq_att_stats(struct eb_adapter *a, struct eb_att_stats *out, struct eb_err *err)
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
        rc = eb_sq_fail(s, code, "counting attachments", err);
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
eb_rc eb_sq_att_purge(struct eb_adapter *a, int64_t before_ms, int64_t now_ms, unsigned max_rows,
                      eb_att_purged_fn fn, void *user, int64_t *purged, struct eb_err *err)
{
    struct sqlite_adapter *s = (struct sqlite_adapter *)a;
    sqlite3_stmt *sel = NULL, *mark = NULL, *del = NULL, *ref = NULL;
    size_t n = 0;
    struct purged_row *rows = calloc(max_rows ? max_rows : 1, sizeof *rows);
    if (!rows)
        return eb_err_set(err, EB_ERR_NOMEM, "purging attachments: out of memory");
    eb_rc rc = eb_sq_exec(s, "BEGIN IMMEDIATE", "purging attachments", err);
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
        rc = eb_sq_fail(s, code, "purging attachments", err);
        goto out;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        sqlite3_bind_int64(mark, 1, rows[i].id);
        sqlite3_bind_int64(del, 1, rows[i].id);
        if (!(rc = eb_sq_run(s, mark, "purging attachments", err)))
            rc = eb_sq_run(s, del, "purging attachments", err);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (!rows[i].in_dir)
            continue;
        eb_sq_bind_str(ref, 1, rows[i].sha256);
        code = sqlite3_step(ref);
        if (code == SQLITE_ROW)
            rows[i].in_dir = 0; /* another row still holds that content */
        else if (code != SQLITE_DONE)
            rc = eb_sq_fail(s, code, "purging attachments", err);
        sqlite3_reset(ref);
    }
    if (!rc)
        rc = eb_sq_exec(s, "COMMIT", "purging attachments", err);
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

/* The PostgreSQL adapter's attachment queue (adapter.h, version 4): the attachment and
 * attachment_chunk tables, claims with FOR UPDATE SKIP LOCKED and leases, reads and purges. */

#include "adapters/postgres_int.h"

/* ---- the attachment queue (adapter.h, version 4) ----------------------------------------- */

static const char att_ddl[] =
    "CREATE TABLE IF NOT EXISTS \"attachment\" (\"id\" BIGSERIAL PRIMARY KEY, "
    "\"push_id\" TEXT NOT NULL, \"application_id\" BIGINT, \"field\" TEXT NOT NULL, "
    "\"url\" TEXT NOT NULL, \"status\" TEXT NOT NULL DEFAULT 'pending', "
    "\"attempts\" BIGINT NOT NULL DEFAULT 0, \"error\" TEXT, \"size\" BIGINT, "
    "\"sha256\" TEXT, \"content_type\" TEXT, \"file_name\" TEXT, "
    "\"created_at\" BIGINT NOT NULL, \"expires_at\" BIGINT NOT NULL, "
    "\"next_at\" BIGINT NOT NULL, \"lease_owner\" TEXT, \"lease_until\" BIGINT, "
    "\"stored_attempt\" BIGINT, \"stored_in\" TEXT, UNIQUE (\"push_id\", \"field\")); "
    "CREATE INDEX IF NOT EXISTS \"attachment_due\" ON \"attachment\" (\"status\", \"next_at\"); "
    "CREATE INDEX IF NOT EXISTS \"attachment_sha256\" ON \"attachment\" (\"sha256\"); "
    "CREATE INDEX IF NOT EXISTS \"attachment_application\" ON \"attachment\" "
    "(\"application_id\"); "
    "CREATE TABLE IF NOT EXISTS \"attachment_chunk\" (\"attachment_id\" BIGINT NOT NULL, "
    "\"attempt\" BIGINT NOT NULL, \"seq\" BIGINT NOT NULL, \"data\" BYTEA NOT NULL, "
    "PRIMARY KEY (\"attachment_id\", \"attempt\", \"seq\"))";

/* Creates the attachment tables unless they exist, under the schema lock (replicas starting
 * together). Returns 1 on success. */
int eb_pg_att_tables(struct pg_adapter *g)
{
    char lock[96];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%lld)", SCHEMA_LOCK_KEY);
    if (eb_pg_exec_ok(g, "BEGIN", "creating the attachment tables") &&
        eb_pg_exec_ok(g, lock, "waiting for the schema lock") &&
        eb_pg_exec_ok(g, att_ddl, "creating the attachment tables") &&
        eb_pg_exec_ok(g, "COMMIT", "creating the attachment tables"))
        return 1;
    PQclear(PQexec(g->conn, "ROLLBACK"));
    return 0;
}

/* Sends sql with the parameters bound in g, in the pipeline. Returns 1 on success. */
static int send_params(struct pg_adapter *g, const char *sql, int n)
{
    int ok = PQsendQueryParams(g->conn, sql, n, NULL, g->pv, g->pl, g->pf, 0) == 1;
    eb_pg_release_params(g);
    if (!ok) {
        eb_pg_note_result(g, NULL, "attachment");
        return 0;
    }
    g->queued++;
    return 1;
}

/* In the push's transaction: one pending row per link, all in the pipeline, then the sync
 * that reads their results (adapter.h, att_enqueue). */
eb_rc eb_pg_att_enqueue(struct eb_adapter *a, const char *push_id, int64_t application_id,
                        const struct eb_att_link *links, size_t n, int64_t at_ms,
                        struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    if (!g->conn)
        return eb_pg_tx_fail(g, err);
    for (size_t i = 0; i < n; i++) {
        eb_pg_bind_int(g, 1, application_id);
        eb_pg_bind_int(g, 4, at_ms);
        eb_pg_bind_int(g, 5, links[i].expires_ms);
        if (!eb_pg_bind_str(g, 0, push_id) || !eb_pg_bind_str(g, 2, links[i].field) ||
            !eb_pg_bind_text(g, 3, links[i].url, links[i].url_len) ||
            !send_params(g,
                         "INSERT INTO \"attachment\" (\"push_id\", \"application_id\", "
                         "\"field\", \"url\", \"created_at\", \"expires_at\", \"next_at\") "
                         "VALUES ($1, $2, $3, $4, $5, $6, $5) ON CONFLICT (\"push_id\", "
                         "\"field\") DO NOTHING",
                         6) ||
            (g->queued >= PIPELINE_CHUNK && !eb_pg_pipeline_sync(g, NULL, 0))) {
            eb_pg_release_params(g);
            return eb_pg_tx_fail(g, err);
        }
    }
    return eb_pg_pipeline_sync(g, NULL, 0) ? EB_OK : eb_pg_tx_fail(g, err);
}

/* In the replay's transaction: the push's rows neither stored nor pending, pending again. */
eb_rc eb_pg_att_requeue(struct eb_adapter *a, const char *push_id, int64_t at_ms,
                        struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    if (!g->conn)
        return eb_pg_tx_fail(g, err);
    eb_pg_bind_int(g, 1, at_ms);
    if (!eb_pg_bind_str(g, 0, push_id) ||
        !send_params(g,
                     "UPDATE \"attachment\" SET \"status\" = 'pending', \"next_at\" = $2 WHERE "
                     "\"push_id\" = $1 AND \"status\" NOT IN ('stored', 'pending')",
                     2) ||
        !eb_pg_pipeline_sync(g, NULL, 0)) {
        eb_pg_release_params(g);
        return eb_pg_tx_fail(g, err);
    }
    return EB_OK;
}

/* Runs sql (parameters bound in g) outside any pipeline on a live connection; format 1: binary
 * results. Returns EB_OK with *res (caller clears) or the error. */
static eb_rc att_exec(struct pg_adapter *g, const char *sql, int n, int format, PGresult **res,
                      const char *what, struct eb_err *err)
{
    eb_rc rc = eb_pg_ensure_connected(g, err);
    if (rc) {
        eb_pg_release_params(g);
        return rc;
    }
    g->fail.set = 0;
    PGresult *r = PQexecParams(g->conn, sql, n, NULL, g->pv, g->pl, g->pf, format);
    eb_pg_release_params(g);
    int st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *res = r;
        return EB_OK;
    }
    eb_pg_note_result(g, r, what);
    PQclear(r);
    int lost = eb_pg_connection_lost(g);
    rc = eb_pg_fail_rc(g, err);
    if (lost)
        eb_pg_disconnect(g);
    return rc;
}

const char *eb_pg_val(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t val_i64(const PGresult *r, int row, int col, int64_t none)
{
    const char *v = eb_pg_val(r, row, col);
    return v ? strtoll(v, NULL, 10) : none;
}

eb_rc eb_pg_att_claim(struct eb_adapter *a, const char *owner, int64_t now_ms, int64_t lease_ms,
                      struct eb_att_claim *out, int *found, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    *found = 0;
    eb_pg_bind_int(g, 1, now_ms + lease_ms);
    eb_pg_bind_int(g, 2, now_ms);
    if (!eb_pg_bind_str(g, 0, owner)) {
        eb_pg_release_params(g);
        return eb_pg_fail_rc(g, err);
    }
    eb_rc rc = att_exec(
        g,
        "UPDATE \"attachment\" SET \"attempts\" = \"attempts\" + 1, \"lease_owner\" = $1, "
        "\"lease_until\" = $2 WHERE \"id\" = (SELECT \"id\" FROM \"attachment\" WHERE "
        "\"status\" = 'pending' AND \"next_at\" <= $3 AND (\"lease_until\" IS NULL OR "
        "\"lease_until\" < $3) ORDER BY \"next_at\", \"id\" LIMIT 1 FOR UPDATE SKIP LOCKED) "
        "RETURNING \"id\", \"attempts\", \"expires_at\", \"field\", \"url\"",
        3, 0, &r, "claiming a download", err);
    if (rc)
        return rc;
    if (PQntuples(r) == 1) {
        out->id = val_i64(r, 0, 0, 0);
        out->attempt = (int)val_i64(r, 0, 1, 0);
        out->expires_ms = val_i64(r, 0, 2, 0);
        snprintf(out->field, sizeof out->field, "%s", PQgetvalue(r, 0, 3));
        snprintf(out->url, sizeof out->url, "%s", PQgetvalue(r, 0, 4));
        *found = 1;
    }
    PQclear(r);
    return EB_OK;
}

eb_rc eb_pg_att_chunk(struct eb_adapter *a, int64_t id, int attempt, int seq, const void *data,
                      size_t len, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    eb_pg_bind_int(g, 0, id);
    eb_pg_bind_int(g, 1, attempt);
    eb_pg_bind_int(g, 2, seq);
    if (!eb_pg_bind_bytes(g, 3, data ? data : "", len)) {
        eb_pg_release_params(g);
        return eb_pg_fail_rc(g, err);
    }
    eb_rc rc =
        att_exec(g,
                 "INSERT INTO \"attachment_chunk\" (\"attachment_id\", \"attempt\", "
                 "\"seq\", \"data\") VALUES ($1, $2, $3, $4) ON CONFLICT (\"attachment_id\", "
                 "\"attempt\", \"seq\") DO UPDATE SET \"data\" = EXCLUDED.\"data\"",
                 4, 0, &r, "storing a chunk of a download", err);
    PQclear(r);
    return rc;
}

eb_rc eb_pg_att_finish(struct eb_adapter *a, int64_t id, const char *owner, int attempt,
                       const struct eb_att_result *res, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    int stored = res->status == EB_ATT_STORED;
    eb_rc rc = att_exec(g, "BEGIN", 0, 0, &r, "recording a download", err);
    PQclear(r);
    r = NULL;
    if (rc)
        return rc;
    eb_pg_bind_int(g, 0, id);
    eb_pg_bind_int(g, 4, res->next_ms);
    if (stored) {
        eb_pg_bind_int(g, 5, res->size);
        eb_pg_bind_int(g, 9, attempt);
    } else {
        eb_pg_bind_null(g, 5);
        eb_pg_bind_null(g, 9);
    }
    if (!eb_pg_bind_str(g, 1, owner) || !eb_pg_bind_str(g, 2, eb_att_status_name(res->status)) ||
        !eb_pg_bind_str(g, 3, res->error) || !eb_pg_bind_str(g, 6, stored ? res->sha256 : NULL) ||
        !eb_pg_bind_str(g, 7, stored ? res->content_type : NULL) ||
        !eb_pg_bind_str(g, 8, stored ? res->file_name : NULL) ||
        !eb_pg_bind_str(g, 10, stored ? (res->in_db ? "db" : "dir") : NULL)) {
        eb_pg_release_params(g);
        rc = eb_pg_fail_rc(g, err);
        goto out;
    }
    if ((rc = att_exec(g,
                       "UPDATE \"attachment\" SET \"status\" = $3, \"error\" = $4, \"next_at\" = "
                       "$5, \"size\" = $6, \"sha256\" = $7, \"content_type\" = $8, \"file_name\" "
                       "= $9, \"stored_attempt\" = $10, \"stored_in\" = $11, \"lease_owner\" = "
                       "NULL, \"lease_until\" = NULL WHERE \"id\" = $1 AND \"lease_owner\" = $2",
                       11, 0, &r, "recording a download", err)))
        goto out;
    int mine = !strcmp(PQcmdTuples(r), "1");
    PQclear(r);
    r = NULL;
    eb_pg_bind_int(g, 0, id);
    eb_pg_bind_int(g, 1, attempt);
    if ((rc = att_exec(g,
                       mine && stored ? "DELETE FROM \"attachment_chunk\" WHERE \"attachment_id\" "
                                        "= $1 AND \"attempt\" <> $2"
                                      : "DELETE FROM \"attachment_chunk\" WHERE \"attachment_id\" "
                                        "= $1 AND \"attempt\" = $2",
                       2, 0, &r, "deleting the chunks of a download", err)))
        goto out;
    PQclear(r);
    r = NULL;
    rc = att_exec(g, "COMMIT", 0, 0, &r, "recording a download", err);
out:
    PQclear(r);
    if (rc && g->conn && PQtransactionStatus(g->conn) != PQTRANS_IDLE)
        PQclear(PQexec(g->conn, "ROLLBACK"));
    return rc;
}

eb_rc eb_pg_att_list(struct eb_adapter *a, const struct eb_att_filter *f, eb_att_row_fn fn,
                     void *user, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    eb_pg_bind_null(g, 1);
    eb_pg_bind_null(g, 2);
    if (f && f->has_application_id)
        eb_pg_bind_int(g, 1, f->application_id);
    if (f && f->id)
        eb_pg_bind_int(g, 2, f->id);
    if (!eb_pg_bind_str(g, 0, f && f->status >= 0 ? eb_att_status_name(f->status) : NULL) ||
        !eb_pg_bind_str(g, 3, f ? f->push_id : NULL)) {
        eb_pg_release_params(g);
        return eb_pg_fail_rc(g, err);
    }
    eb_rc rc = att_exec(
        g,
        "SELECT \"id\", \"push_id\", \"application_id\", \"field\", \"url\", \"status\", "
        "\"attempts\", \"error\", \"size\", \"sha256\", \"content_type\", \"file_name\", "
        "\"created_at\", \"expires_at\", \"stored_in\" FROM \"attachment\" WHERE ($1::text IS "
        "NULL OR \"status\" = $1::text) AND ($2::bigint IS NULL OR \"application_id\" = "
        "$2::bigint) AND ($3::bigint IS NULL OR \"id\" = $3::bigint) AND ($4::text IS NULL OR "
        "\"push_id\" = $4::text) ORDER BY \"id\"",
        4, 0, &r, "listing attachments", err);
    if (rc)
        return rc;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        int status = eb_att_status_from(eb_pg_val(r, i, 5));
        struct eb_att_row row = {
            .id = val_i64(r, i, 0, 0),
            .push_id = eb_pg_val(r, i, 1),
            .application_id = val_i64(r, i, 2, 0),
            .field = eb_pg_val(r, i, 3),
            .url = eb_pg_val(r, i, 4),
            .status = status < 0 ? EB_ATT_FAILED : (enum eb_att_status)status,
            .attempts = (int)val_i64(r, i, 6, 0),
            .error = eb_pg_val(r, i, 7),
            .size = val_i64(r, i, 8, -1),
            .sha256 = eb_pg_val(r, i, 9),
            .content_type = eb_pg_val(r, i, 10),
            .file_name = eb_pg_val(r, i, 11),
            .created_ms = val_i64(r, i, 12, 0),
            .expires_ms = val_i64(r, i, 13, 0),
            .purged = eb_pg_val(r, i, 14) && !strcmp(eb_pg_val(r, i, 14), "purged"),
        };
        if (fn(user, &row))
            rc = eb_err_set(err, EB_ERR_INTERNAL, "listing stopped");
    }
    PQclear(r);
    return rc;
}

eb_rc eb_pg_att_read(struct eb_adapter *a, int64_t id, eb_att_chunk_fn fn, void *user,
                     struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    eb_pg_bind_int(g, 0, id);
    eb_rc rc = att_exec(g,
                        "SELECT \"stored_attempt\" FROM \"attachment\" WHERE \"id\" = $1 AND "
                        "\"status\" = 'stored' AND \"stored_in\" = 'db'",
                        1, 0, &r, "reading an attachment", err);
    if (rc)
        return rc;
    int64_t attempt = PQntuples(r) == 1 ? val_i64(r, 0, 0, -1) : -1;
    PQclear(r);
    if (attempt < 0)
        return eb_err_set(err, EB_ERR_INVALID, "attachment %lld is not stored in the database",
                          (long long)id);
    for (int seq = 0; !rc; seq++) {
        r = NULL;
        eb_pg_bind_int(g, 0, id);
        eb_pg_bind_int(g, 1, attempt);
        eb_pg_bind_int(g, 2, seq);
        if ((rc = att_exec(g,
                           "SELECT \"data\" FROM \"attachment_chunk\" WHERE \"attachment_id\" = "
                           "$1 AND \"attempt\" = $2 AND \"seq\" = $3",
                           3, 1, &r, "reading an attachment", err)))
            break;
        int more = PQntuples(r) == 1;
        if (more && fn(user, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0)))
            rc = eb_err_set(err, EB_ERR_INTERNAL, "reading stopped");
        PQclear(r);
        if (!more)
            break;
    }
    return rc;
}

eb_rc eb_pg_att_stats(struct eb_adapter *a, struct eb_att_stats *out, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    eb_rc rc = att_exec(g,
                        "SELECT \"status\", count(*), (SELECT min(\"created_at\") FROM "
                        "\"attachment\" WHERE \"status\" = 'pending') FROM \"attachment\" "
                        "GROUP BY \"status\"",
                        0, 0, &r, "counting attachments", err);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        int status = eb_att_status_from(eb_pg_val(r, i, 0));
        if (status < 0)
            continue;
        out->count[status] = val_i64(r, i, 1, 0);
        if (status == EB_ATT_PENDING)
            out->oldest_pending_ms = val_i64(r, i, 2, 0);
    }
    PQclear(r);
    return EB_OK;
}

/* Retention of archived documents (adapter.h, att_purge): stored_in becomes 'purged', the
 * rows' chunks go, in one statement; then the files of the directory store no row refers to. */
eb_rc eb_pg_att_purge(struct eb_adapter *a, int64_t before_ms, int64_t now_ms, unsigned max_rows,
                      eb_att_purged_fn fn, void *user, int64_t *purged, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL, *sel = NULL;
    char *drop = NULL; /* per row of sel: 1 when its file is to go */
    eb_rc rc = att_exec(g, "BEGIN", 0, 0, &r, "purging attachments", err);
    PQclear(r);
    r = NULL;
    if (rc)
        return rc;
    eb_pg_bind_int(g, 0, before_ms);
    eb_pg_bind_int(g, 1, max_rows);
    eb_pg_bind_int(g, 2, now_ms);
    if ((rc = att_exec(g,
                       "WITH p AS (SELECT \"id\", \"stored_in\" AS \"was\", \"sha256\" FROM "
                       "\"attachment\" WHERE \"status\" = 'stored' AND (\"stored_in\" = 'db' OR "
                       "(\"stored_in\" = 'dir' AND NOT EXISTS (SELECT 1 FROM \"attachment\" "
                       "WHERE \"status\" = 'pending' AND \"lease_until\" > $3))) AND "
                       "\"created_at\" < $1 ORDER BY \"id\" LIMIT $2 FOR UPDATE), "
                       "u AS (UPDATE \"attachment\" t SET \"stored_in\" = 'purged' FROM p WHERE "
                       "t.\"id\" = p.\"id\" RETURNING p.\"id\", p.\"was\", p.\"sha256\"), "
                       "d AS (DELETE FROM \"attachment_chunk\" c USING u WHERE "
                       "c.\"attachment_id\" = u.\"id\") SELECT \"id\", \"was\", \"sha256\" "
                       "FROM u ORDER BY \"id\"",
                       3, 0, &sel, "purging attachments", err)))
        goto out;
    int n = PQntuples(sel);
    drop = calloc((size_t)n + 1, 1);
    if (!drop) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "purging attachments: out of memory");
        goto out;
    }
    for (int i = 0; !rc && i < n; i++) {
        const char *was = eb_pg_val(sel, i, 1), *sha = eb_pg_val(sel, i, 2);
        if (!was || strcmp(was, "dir") || !sha)
            continue;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = drop[j] && !strcmp(eb_pg_val(sel, j, 2), sha);
        if (seen)
            continue;
        if (!eb_pg_bind_str(g, 0, sha)) {
            eb_pg_release_params(g);
            rc = eb_pg_fail_rc(g, err);
            break;
        }
        if (!(rc = att_exec(g,
                            "SELECT 1 FROM \"attachment\" WHERE \"sha256\" = $1 AND "
                            "\"stored_in\" = 'dir' LIMIT 1",
                            1, 0, &r, "purging attachments", err)))
            drop[i] = PQntuples(r) == 0;
        PQclear(r);
        r = NULL;
    }
    if (!rc)
        rc = att_exec(g, "COMMIT", 0, 0, &r, "purging attachments", err);
    if (!rc) {
        *purged = n;
        for (int i = 0; i < n; i++)
            if (drop[i] && fn && fn(user, eb_pg_val(sel, i, 2)))
                break;
    }
out:
    PQclear(r);
    PQclear(sel);
    free(drop);
    if (rc && g->conn && PQtransactionStatus(g->conn) != PQTRANS_IDLE)
        PQclear(PQexec(g->conn, "ROLLBACK"));
    return rc;
}

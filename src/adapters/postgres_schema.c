/* The PostgreSQL adapter's schema: creating it, or migrating an older one, in one transaction
 * under an advisory lock, and refusing a schema newer than this binary. */

#include "adapters/postgres_int.h"

/* ---- schema ------------------------------------------------------------------------------ */

/* "CREATE TABLE x" -> "CREATE TABLE IF NOT EXISTS x" (the same for CREATE INDEX; a statement
 * that says IF NOT EXISTS already is copied as it is); malloc'd. */
static char *if_not_exists(const char *ddl)
{
    static const char *const kinds[] = {"CREATE TABLE ", "CREATE INDEX "};
    for (size_t k = 0; k < 2; k++) {
        size_t n = strlen(kinds[k]);
        if (strncmp(ddl, kinds[k], n) == 0 && strncmp(ddl + n, "IF NOT EXISTS ", 14) != 0) {
            size_t len = strlen(ddl) + sizeof "IF NOT EXISTS ";
            char *r = malloc(len);
            if (r)
                snprintf(r, len, "%sIF NOT EXISTS %s", kinds[k], ddl + n);
            return r;
        }
    }
    return strdup(ddl);
}

/* Runs stmts[0..n) with if_not_exists(): 1 when all ran, 0 on a failure (noted), -1 when out of
 * memory. */
static int exec_if_not_exists(struct pg_adapter *g, char *const *stmts, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        char *stmt = if_not_exists(stmts[i]);
        if (!stmt)
            return -1;
        int ok = eb_pg_exec_ok(g, stmt, what);
        free(stmt);
        if (!ok)
            return 0;
    }
    return 1;
}

/* Reads the recorded schema version: *version = -1 when there is no schema_version table,
 * 0 when it has no row; *itv_missing = 1 when an interview table is missing. */
static int read_version(struct pg_adapter *g, int64_t *version, int *itv_missing)
{
    PGresult *r = PQexec(g->conn, g->probe_sql);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (!ok)
        eb_pg_note_result(g, r, "looking for the schema");
    int exists = ok && PQgetvalue(r, 0, 0)[0] == 't';
    *itv_missing = ok && PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    if (!ok)
        return 0;
    *version = -1;
    if (!exists)
        return 1;
    r = PQexec(g->conn, "SELECT coalesce(max(\"version\"), 0) FROM \"schema_version\"");
    ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok)
        *version = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        eb_pg_note_result(g, r, "reading schema_version");
    PQclear(r);
    return ok;
}

/* Creates the schema, or completes an older one, under the schema lock; one transaction.
 * Version 1 is the first: migrating means creating the tables and indexes a version lacks
 * (every statement is CREATE ... IF NOT EXISTS) and recording the new version. */
static eb_rc create_schema(struct pg_adapter *g, int64_t *version, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    char sql[200];
    int created = 0, itv_missing = 0;
    if (!eb_pg_exec_ok(g, "BEGIN", "starting schema creation"))
        goto fail;
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)", SCHEMA_LOCK_KEY);
    if (!eb_pg_exec_ok(g, sql, "waiting for the schema lock") ||
        !read_version(g, version, &itv_missing))
        goto fail;
    if (*version > EB_SQL_SCHEMA_VERSION) {
        rc = eb_sqlgen_check_version(*version, err);
        goto out;
    }
    if (*version < EB_SQL_SCHEMA_VERSION) {
        /* the DDL creates the indexes a migration adds too: both run as IF NOT EXISTS */
        size_t n_mig = 0;
        char *const *mig = *version >= 1 ? eb_sqlgen_migrations(g->schema, *version, &n_mig) : NULL;
        int done = exec_if_not_exists(g, g->schema->ddl, g->schema->n_ddl, "creating the schema");
        if (done > 0)
            done = exec_if_not_exists(g, mig, n_mig, "migrating the schema");
        if (done < 0) {
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
            goto out;
        }
        if (!done)
            goto fail;
        snprintf(sql, sizeof sql,
                 "DELETE FROM \"schema_version\"; INSERT INTO \"schema_version\" (\"version\") "
                 "VALUES (%d)",
                 EB_SQL_SCHEMA_VERSION);
        if (!eb_pg_exec_ok(g, sql, "recording the schema version"))
            goto fail;
        created = *version < 0;
    }
    for (size_t i = 0; i < g->itv.n_ddl; i++)
        if (!eb_pg_exec_ok(g, g->itv.ddl[i], "creating the interview tables"))
            goto fail;
    if (!eb_pg_exec_ok(g, g->wsql.ddl, "creating push_warning"))
        goto fail;
    if (!eb_pg_exec_ok(g, "COMMIT", "committing the schema"))
        goto fail;
    if (*version < EB_SQL_SCHEMA_VERSION) {
        char from[24];
        snprintf(from, sizeof from, "%lld", (long long)*version);
        eb_log(EB_LOG_INFO,
               created ? "postgres: created the default schema"
                       : "postgres: migrated the default schema",
               "from_version", created ? NULL : from, NULL);
    }
    *version = EB_SQL_SCHEMA_VERSION;
    return EB_OK;
fail:
    rc = eb_pg_fail_rc(g, err);
out:
    if (g->conn && PQtransactionStatus(g->conn) != PQTRANS_IDLE)
        PQclear(PQexec(g->conn, "ROLLBACK"));
    return rc;
}

eb_rc eb_pg_ensure_schema(struct pg_adapter *g, struct eb_err *err)
{
    int64_t version = -1;
    int itv_missing = 0;
    if (!read_version(g, &version, &itv_missing))
        return eb_pg_fail_rc(g, err);
    if (version > EB_SQL_SCHEMA_VERSION)
        return eb_sqlgen_check_version(version, err);
    if (version < EB_SQL_SCHEMA_VERSION || itv_missing) {
        eb_rc rc = create_schema(g, &version, err);
        if (rc)
            return rc;
    }
    return eb_sqlgen_check_version(version, err);
}

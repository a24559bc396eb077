/* The SQLite adapter's schema and statements: creating the default schema on first open,
 * migrating an older one, and preparing every statement once per connection. */

#include "adapters/sqlite_int.h"

/* Reads the schema version into *version (0 when the table has no row). */
eb_rc eb_sq_read_version(struct sqlite_adapter *s, sqlite3_stmt *st, int64_t *version,
                         struct eb_err *err)
{
    int code = sqlite3_step(st);
    eb_rc rc = EB_OK;
    if (code == SQLITE_ROW)
        *version = sqlite3_column_int64(st, 0);
    else
        rc = eb_sq_fail(s, code, "reading schema_version", err);
    sqlite3_reset(st);
    return rc;
}

/* 1 when table schema_version exists. */
static eb_rc has_schema(struct sqlite_adapter *s, int *yes, struct eb_err *err)
{
    sqlite3_stmt *st = NULL;
    eb_rc rc = eb_sq_prepare(s,
                             "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                             "name = 'schema_version'",
                             &st, "looking for the schema", err);
    if (rc)
        return rc;
    int code = sqlite3_step(st);
    if (code == SQLITE_ROW)
        *yes = sqlite3_column_int(st, 0) > 0;
    else
        rc = eb_sq_fail(s, code, "looking for the schema", err);
    sqlite3_finalize(st);
    return rc;
}

/* Brings an older schema up to date (sqlgen's migration statements) in one transaction under
 * the write lock, unless another instance did it first; *version is then the new version. */
static eb_rc migrate(struct sqlite_adapter *s, int64_t *version, struct eb_err *err)
{
    eb_rc rc = eb_sq_exec(s, "BEGIN IMMEDIATE", "starting the schema migration", err);
    int64_t from = *version;
    size_t n = 0;
    if (rc || (rc = eb_sq_read_version(s, s->version, &from, err)))
        goto out;
    char *const *sql = from >= 1 ? eb_sqlgen_migrations(s->schema, from, &n) : NULL;
    for (size_t i = 0; !rc && i < n; i++)
        rc = eb_sq_exec(s, sql[i], "migrating the schema", err);
    char up[96];
    snprintf(up, sizeof up, "UPDATE \"schema_version\" SET \"version\" = %d",
             EB_SQL_SCHEMA_VERSION);
    if (!rc && from < EB_SQL_SCHEMA_VERSION)
        rc = eb_sq_exec(s, up, "migrating the schema", err);
    if (!rc && !(rc = eb_sq_exec(s, "COMMIT", "committing the schema migration", err))) {
        if (from < EB_SQL_SCHEMA_VERSION) {
            char f[24];
            snprintf(f, sizeof f, "%lld", (long long)from);
            eb_log(EB_LOG_INFO, "sqlite: migrated the default schema", "from_version", f, NULL);
            *version = EB_SQL_SCHEMA_VERSION;
        } else {
            *version = from;
        }
    }
out:
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Creates the schema in one transaction unless it is there; checks its version. */
eb_rc eb_sq_ensure_schema(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    int exists = 0, in_tx = 0;
    if ((rc = has_schema(s, &exists, err)))
        goto out;
    if (!exists) {
        /* Another instance may be creating it right now: decide under the write lock. */
        if ((rc = eb_sq_exec(s, "BEGIN IMMEDIATE", "starting schema creation", err)))
            goto out;
        in_tx = 1;
        if ((rc = has_schema(s, &exists, err)))
            goto out;
    }
    if (!exists) {
        const struct eb_sql_schema *sc = s->schema;
        for (size_t i = 0; i < sc->n_ddl; i++)
            if ((rc = eb_sq_exec(s, sc->ddl[i], "creating the schema", err)))
                goto out;
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT INTO \"schema_version\" (\"version\") VALUES (%d)",
                 EB_SQL_SCHEMA_VERSION);
        if ((rc = eb_sq_exec(s, sql, "creating the schema", err)))
            goto out;
    }
    if (in_tx) {
        if ((rc = eb_sq_exec(s, "COMMIT", "committing the schema", err)))
            goto out;
        in_tx = 0;
        if (!exists)
            eb_log(EB_LOG_INFO, "sqlite: created the default schema", NULL);
    }
    if ((rc = eb_sq_prepare(s, "SELECT coalesce(max(\"version\"), 0) FROM \"schema_version\"",
                            &s->version, "preparing", err)))
        goto out;
    int64_t version = 0;
    if ((rc = eb_sq_read_version(s, s->version, &version, err)) ||
        (version >= 1 && version < EB_SQL_SCHEMA_VERSION && (rc = migrate(s, &version, err))) ||
        (rc = eb_sqlgen_check_version(version, err)))
        goto out;
out:
    if (in_tx)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

eb_rc eb_sq_prepare_all(struct sqlite_adapter *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    const struct eb_sql_schema *sc = s->schema;
    const struct eb_sql_table *log = &sc->tables[sc->push_log];
    struct eb_buf add_sql;
    char *claim_sql = NULL;
    eb_buf_init(&add_sql, (size_t)1 << 20);

    size_t widest = 0;
    for (size_t i = 0; i < sc->n_tables; i++)
        if (sc->tables[i].role == EB_SQL_ROLE_CHILD && sc->tables[i].n_columns > widest)
            widest = sc->tables[i].n_columns;
    s->insert = calloc(sc->n_tables, sizeof *s->insert);
    s->insert_many = calloc(sc->n_tables, sizeof *s->insert_many);
    s->remove = calloc(sc->n_tables, sizeof *s->remove);
    s->pend = calloc(MANY_ROWS * (widest ? widest : 1), sizeof *s->pend);
    if (!s->insert || !s->insert_many || !s->remove || !s->pend) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        goto out;
    }
    claim_sql = eb_sqlgen_upsert_where(sc, log, "\"push_log\".\"outcome\" = 'failed'", err);
    if (!claim_sql) {
        rc = err ? err->rc : EB_ERR_NOMEM;
        goto out;
    }
    if (eb_buf_puts(&add_sql, sc->tables[sc->candidate].insert_sql) ||
        eb_buf_puts(&add_sql, " ON CONFLICT (\"application_id\") DO NOTHING") ||
        !eb_buf_cstr(&add_sql)) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = eb_sq_prepare(s, "BEGIN IMMEDIATE", &s->begin, "preparing", err)) ||
        (rc = eb_sq_prepare(s, "COMMIT", &s->commit, "preparing", err)) ||
        (rc = eb_sq_prepare(s, "ROLLBACK", &s->rollback, "preparing", err)) ||
        (rc = eb_sq_prepare(s, "SAVEPOINT push", &s->savepoint, "preparing", err)) ||
        (rc = eb_sq_prepare(s, "RELEASE push", &s->release, "preparing", err)) ||
        (rc = eb_sq_prepare(s, "ROLLBACK TO push", &s->undo, "preparing", err)) ||
        (rc = eb_sq_prepare(
             s, "SELECT \"outcome\", \"message\" FROM \"push_log\" WHERE \"push_id\" = ?",
             &s->find_log, "preparing", err)) ||
        (rc = eb_sq_prepare(s, log->upsert_sql, &s->put_log, "preparing push_log", err)) ||
        (rc = eb_sq_prepare(s, claim_sql, &s->claim_log, "preparing push_log", err)) ||
        (rc = eb_sq_prepare(s, eb_buf_cstr(&add_sql), &s->add_candidate, "preparing candidate",
                            err)) ||
        (rc = eb_sq_interview_prepare(s, err)) || (rc = eb_sq_warning_prepare(s, err)))
        goto out;
    for (size_t i = sc->candidate; i < sc->n_tables; i++) {
        const struct eb_sql_table *t = &sc->tables[i];
        const char *sql = t->role == EB_SQL_ROLE_CANDIDATE ? t->upsert_sql : t->insert_sql;
        if ((rc = eb_sq_prepare(s, sql, &s->insert[i], t->name, err)))
            goto out;
        if (t->role == EB_SQL_ROLE_CHILD &&
            (rc = eb_sq_prepare(s, t->delete_sql, &s->remove[i], t->name, err)))
            goto out;
        if (t->role == EB_SQL_ROLE_CHILD) {
            char *many = eb_sqlgen_insert_rows(sc, t, MANY_ROWS, err);
            if (!many) {
                rc = err ? err->rc : EB_ERR_NOMEM;
                goto out;
            }
            rc = eb_sq_prepare(s, many, &s->insert_many[i], t->name, err);
            free(many);
            if (rc)
                goto out;
        }
    }
    if (s->base.mapping)
        rc = eb_sq_mapped_prepare(s, err);
out:
    free(claim_sql);
    eb_buf_free(&add_sql);
    return rc;
}

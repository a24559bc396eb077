/* The ODBC adapter's schema and connecting: the DBMS's SQL dialect, creating or migrating the
 * default schema, preparing every statement, and connecting again after a lost connection. */

#include "adapters/odbc_int.h"

static pthread_mutex_t connect_lock = PTHREAD_MUTEX_INITIALIZER; /* SQLDriverConnect */
/* ---- schema ------------------------------------------------------------------------------ */

/* Types for the DBMS the driver names. */
static void choose_dialect(struct odbc_adapter *o)
{
    struct eb_sql_dialect *d = &o->dialect;
    memset(d, 0, sizeof *d);
    d->name = "odbc";
    d->numbered_params = 0;
    d->has_upsert = 0;
    d->child_table_options = "";
    d->int_type = "BIGINT";
    d->text_type = "CLOB";
    d->real_type = "DOUBLE PRECISION";
    d->blob_type = "BLOB";
    d->key_text_type = "VARCHAR(255)";
    const char *n = o->dbms;
    if (!strncasecmp(n, "PostgreSQL", 10)) {
        d->text_type = "TEXT";
        d->blob_type = "BYTEA";
        d->key_text_type = NULL;
    } else if (!strncasecmp(n, "SQLite", 6)) {
        d->int_type = "INTEGER";
        d->text_type = "TEXT";
        d->real_type = "REAL";
        d->key_text_type = NULL;
        o->is_sqlite = 1;
    } else if (strstr(n, "SQL Server")) {
        d->text_type = "NVARCHAR(MAX)";
        d->blob_type = "VARBINARY(MAX)";
        d->real_type = "FLOAT";
        d->key_text_type = "NVARCHAR(255)";
        d->add_column = "ADD";
    } else if (!strncasecmp(n, "Oracle", 6)) {
        d->int_type = "NUMBER(19)";
        d->text_type = "NCLOB";
        d->real_type = "BINARY_DOUBLE";
        d->key_text_type = "NVARCHAR2(255)";
        d->add_column = "ADD";
    } else if (!strncasecmp(n, "DB2", 3)) {
        d->real_type = "DOUBLE";
    } else if (!strncasecmp(n, "MySQL", 5) || !strncasecmp(n, "MariaDB", 7)) {
        d->text_type = "LONGTEXT";
        d->blob_type = "LONGBLOB";
        d->real_type = "DOUBLE";
        o->is_mysql = 1;
    }
}

/* The recorded schema version (0 when no row); -1 when schema_version cannot be read (no
 * table). Ends its transaction. */
static int64_t read_version(struct odbc_adapter *o)
{
    SQLHSTMT h = NULL;
    int64_t v = -1;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, o->dbc, &h)))
        return -1;
    if (SQL_SUCCEEDED(SQLExecDirect(h, (SQLCHAR *)"SELECT max(\"version\") FROM \"schema_version\"",
                                    SQL_NTS)) &&
        SQL_SUCCEEDED(SQLFetch(h))) {
        SQLBIGINT x = 0;
        SQLLEN ind = 0;
        if (SQL_SUCCEEDED(SQLGetData(h, 1, SQL_C_SBIGINT, &x, sizeof x, &ind)))
            v = ind == SQL_NULL_DATA ? 0 : (int64_t)x;
    }
    SQLFreeHandle(SQL_HANDLE_STMT, h);
    eb_odbc_conn_rollback(o);
    return v;
}

/* Creates the schema (with a mapping: ehrbridge's own tables only) in one transaction. */
static eb_rc create_schema(struct odbc_adapter *o, struct eb_err *err)
{
    const struct eb_sql_schema *sc = o->schema;
    eb_rc rc = EB_OK;
    for (size_t i = 0; !rc && i < sc->n_tables; i++)
        if (!o->base.mapping || sc->tables[i].role == EB_SQL_ROLE_META)
            rc = eb_odbc_exec_ddl(o, sc->tables[i].create_sql, "creating the schema", err);
    /* the last DDL statements are push_log's indexes */
    for (size_t i = sc->n_ddl - sc->n_log_ddl; !rc && i < sc->n_ddl; i++)
        rc = eb_odbc_exec_ddl(o, sc->ddl[i], "creating the schema", err);
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO \"schema_version\" (\"version\") VALUES (%d)",
             EB_SQL_SCHEMA_VERSION);
    if (!rc)
        rc = eb_odbc_exec_direct(o, sql, "creating the schema", err);
    if (!rc)
        rc = eb_odbc_end_tran(o, 1, err);
    if (rc)
        eb_odbc_conn_rollback(o);
    return rc;
}

/* Creates or migrates the schema, creates the interview tables, checks the version. */
static eb_rc ensure_schema(struct odbc_adapter *o, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    int64_t v = read_version(o);
    /* where DDL commits by itself, schema_version without its row is a creation that was
     * interrupted: its steps run again */
    if (v < 0 || (v == 0 && o->is_mysql)) {
        if ((rc = create_schema(o, err))) {
            /* another replica may have created it meanwhile */
            if ((v = read_version(o)) < 0)
                return rc;
            rc = EB_OK;
        } else {
            v = EB_SQL_SCHEMA_VERSION;
            eb_log(EB_LOG_INFO,
                   o->base.mapping ? "odbc: created push_log and schema_version (--mapping)"
                                   : "odbc: created the default schema",
                   "dbms", o->dbms, NULL);
        }
    }
    if (v >= 1 && v < EB_SQL_SCHEMA_VERSION) {
        size_t n = 0;
        char *const *mig = eb_sqlgen_migrations(o->schema, v, &n);
        for (size_t i = 0; !rc && i < n; i++)
            rc = eb_odbc_exec_ddl(o, mig[i], "migrating the schema", err);
        char sql[96];
        snprintf(sql, sizeof sql, "UPDATE \"schema_version\" SET \"version\" = %d",
                 EB_SQL_SCHEMA_VERSION);
        if (!rc)
            rc = eb_odbc_exec_direct(o, sql, "migrating the schema", err);
        if (!rc)
            rc = eb_odbc_end_tran(o, 1, err);
        if (rc) {
            eb_odbc_conn_rollback(o);
            return rc;
        }
        char from[24];
        snprintf(from, sizeof from, "%lld", (long long)v);
        eb_log(EB_LOG_INFO, "odbc: migrated the default schema", "from_version", from, NULL);
        v = EB_SQL_SCHEMA_VERSION;
    }
    if ((rc = eb_sqlgen_check_version(v, err)))
        return rc;
    for (size_t i = 0; i < o->itv.n_ddl; i++) {
        if ((rc = eb_odbc_exec_direct(o, o->itv.ddl[i], "creating the interview tables", err)) ||
            (rc = eb_odbc_end_tran(o, 1, err))) {
            eb_odbc_conn_rollback(o);
            return rc;
        }
    }
    if ((rc = eb_odbc_exec_direct(o, o->wsql.ddl, "creating push_warning", err)) ||
        (rc = eb_odbc_end_tran(o, 1, err))) {
        eb_odbc_conn_rollback(o);
        return rc;
    }
    return EB_OK;
}

/* Prepares every statement of the connection; with a mapping, probes the mapped tables. */
static eb_rc prepare_all(struct odbc_adapter *o, struct eb_err *err)
{
    const struct eb_sql_schema *sc = o->schema;
    const struct eb_sql_table *log = &sc->tables[sc->push_log];
    eb_rc rc = EB_OK;
    if ((rc = eb_odbc_prepare(
             o, "SELECT \"outcome\", \"message\" FROM \"push_log\" WHERE \"push_id\" = ?",
             &o->st[ST_FIND_LOG], "preparing push_log", err)) ||
        (rc = eb_odbc_prepare(o, log->insert_sql, &o->st[ST_INSERT_LOG], "preparing push_log",
                              err)) ||
        (rc = eb_odbc_prepare(o, o->update_log_sql, &o->st[ST_UPDATE_LOG], "preparing push_log",
                              err)) ||
        (rc = eb_odbc_prepare(o, "SELECT max(\"version\") FROM \"schema_version\"",
                              &o->st[ST_VERSION], "preparing", err)))
        return rc;
    for (size_t t = 0; !rc && t < EB_ITV_N_TABLES; t++)
        if (!(rc = eb_odbc_prepare(o, o->itv.insert[t], &o->itv_ins[t], o->itv.name[t], err)))
            rc = eb_odbc_prepare(o, o->itv.remove[t], &o->itv_del[t], o->itv.name[t], err);
    if (!rc && !(rc = eb_odbc_prepare(o, o->wsql.insert, &o->warn_ins, "push_warning", err)))
        rc = eb_odbc_prepare(o, o->wsql.remove, &o->warn_del, "push_warning", err);
    if (rc)
        return rc;
    if (o->base.mapping) {
        rc = eb_odbc_prepare(o,
                             "SELECT \"received_at\", \"push_id\" FROM \"push_log\" WHERE"
                             " \"application_id\" = ? AND \"outcome\" = 'stored' ORDER BY"
                             " \"received_at\" DESC",
                             &o->st[ST_CURRENT], "preparing", err);
        for (size_t i = 0; !rc && i < o->map_sql->n_tables; i++) {
            const struct eb_mapping_table_sql *t = &o->map_sql->tables[i];
            char what[160];
            snprintf(what, sizeof what, "mapping: table %.100s",
                     eb_mapping_table_name(o->base.mapping, i));
            if ((rc = eb_odbc_exec_direct(o, t->probe_sql, what, err))) {
                eb_odbc_conn_rollback(o);
                break;
            }
            eb_odbc_conn_rollback(o);
            const char *text[3] = {t->update_sql, t->insert_sql, t->remove_sql};
            for (int k = 0; !rc && k < 3; k++)
                if (text[k])
                    rc = eb_odbc_prepare(o, text[k], &o->map_st[i * 3 + (size_t)k], what, err);
        }
        return rc;
    }
    if ((rc = eb_odbc_prepare(o, o->update_cand_sql, &o->st[ST_UPDATE_CAND], "preparing candidate",
                              err)) ||
        (rc = eb_odbc_prepare(
             o,
             "SELECT l.\"received_at\", c.\"last_push_id\" FROM \"candidate\" c JOIN"
             " \"push_log\" l ON l.\"push_id\" = c.\"last_push_id\" WHERE"
             " c.\"application_id\" = ?",
             &o->st[ST_CURRENT], "preparing", err)))
        return rc;
    for (size_t i = sc->candidate; !rc && i < sc->n_tables; i++) {
        const struct eb_sql_table *t = &sc->tables[i];
        if (!(rc = eb_odbc_prepare(o, t->insert_sql, &o->ins[i], t->name, err)) &&
            t->role == EB_SQL_ROLE_CHILD)
            rc = eb_odbc_prepare(o, t->delete_sql, &o->del[i], t->name, err);
    }
    return rc;
}

/* Connects when there is no connection: manual commit, the DBMS, the schema (first time),
 * the statements. */
eb_rc eb_odbc_ensure_connected(struct odbc_adapter *o, struct eb_err *err)
{
    if (o->connected)
        return EB_OK;
    eb_odbc_disconnect(o);
    if (o->retry_at_ms && eb_mono_ms() < o->retry_at_ms)
        return eb_err_set(err, o->down.rc, "%s", o->down.msg);
    o->retry_at_ms = 0;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, o->env, &o->dbc)))
        return eb_odbc_fail(o, SQL_HANDLE_ENV, o->env, "allocating a connection", err);
    SQLSetConnectAttr(o->dbc, SQL_ATTR_LOGIN_TIMEOUT, (SQLPOINTER)(uintptr_t)LOGIN_TIMEOUT_S, 0);
    SQLCHAR outstr[1024];
    SQLSMALLINT outlen = 0;
    /* one connection attempt at a time in the process: drivers are not all thread-safe while
     * connecting (psqlodbc calls setlocale(), which races with another thread's attempt) */
    pthread_mutex_lock(&connect_lock);
    SQLRETURN r = SQLDriverConnect(o->dbc, NULL, (SQLCHAR *)o->conn_str, SQL_NTS, outstr,
                                   sizeof outstr, &outlen, SQL_DRIVER_NOPROMPT);
    pthread_mutex_unlock(&connect_lock);
    if (!SQL_SUCCEEDED(r)) {
        eb_rc rc = eb_odbc_fail(o, SQL_HANDLE_DBC, o->dbc, "cannot connect", err);
        /* a missing driver or data source is a configuration error, not an outage */
        if (!strncmp(o->state, "IM", 2))
            rc = err->rc = EB_ERR_CONFIG;
        else
            rc = err->rc = EB_ERR_UNAVAILABLE;
        eb_odbc_disconnect(o);
        eb_err_set(&o->down, rc, "%s", err->msg);
        o->retry_at_ms = eb_mono_ms() + RECONNECT_PAUSE_MS;
        return rc;
    }
    o->connected = 1;
    eb_rc rc = EB_OK;
    if (!SQL_SUCCEEDED(SQLSetConnectAttr(o->dbc, SQL_ATTR_AUTOCOMMIT,
                                         (SQLPOINTER)(uintptr_t)SQL_AUTOCOMMIT_OFF, 0))) {
        rc = eb_odbc_fail(o, SQL_HANDLE_DBC, o->dbc, "turning autocommit off", err);
        goto eb_odbc_fail;
    }
    if (!o->schema) {
        SQLCHAR name[64] = "";
        SQLSMALLINT nl = 0;
        SQLGetInfo(o->dbc, SQL_DBMS_NAME, name, sizeof name, &nl);
        snprintf(o->dbms, sizeof o->dbms, "%s", (const char *)name);
        choose_dialect(o);
        if ((rc = eb_sqlgen_build(&o->dialect, &o->schema, err)) ||
            (rc = eb_interview_sql_build(&o->dialect, &o->itv, err)) ||
            (rc = eb_warning_sql_build(&o->dialect, &o->wsql, err)) ||
            (o->base.mapping &&
             (rc = eb_mapping_sql_build(o->base.mapping, &o->dialect, &o->map_sql, err))))
            goto eb_odbc_fail;
        size_t nt = o->schema->n_tables;
        if (!(o->ins = calloc(nt, sizeof *o->ins)) || !(o->del = calloc(nt, sizeof *o->del)) ||
            (o->map_sql && !(o->map_st = calloc(o->map_sql->n_tables * 3, sizeof *o->map_st)))) {
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
            goto eb_odbc_fail;
        }
        /* UPDATE push_log SET every column but push_id WHERE push_id = ?; UPDATE candidate */
        char buf[8192];
        const struct eb_sql_table *log = &o->schema->tables[o->schema->push_log];
        size_t k = (size_t)snprintf(buf, sizeof buf, "UPDATE \"push_log\" SET ");
        for (size_t i = 1; i < log->n_columns; i++)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s\"%s\" = ?", i > 1 ? ", " : "",
                                  log->columns[i].name);
        snprintf(buf + k, sizeof buf - k, " WHERE \"push_id\" = ?");
        if (!(o->update_log_sql = strdup(buf))) {
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
            goto eb_odbc_fail;
        }
        const struct eb_sql_table *c = &o->schema->tables[o->schema->candidate];
        size_t cap = 64 * c->n_columns + 64;
        char *u = malloc(cap);
        if (!u) {
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
            goto eb_odbc_fail;
        }
        k = (size_t)snprintf(u, cap, "UPDATE \"candidate\" SET ");
        for (size_t i = 1; i < c->n_columns; i++)
            k += (size_t)snprintf(u + k, cap - k, "%s\"%s\" = ?", i > 1 ? ", " : "",
                                  c->columns[i].name);
        snprintf(u + k, cap - k, " WHERE \"application_id\" = ?");
        o->update_cand_sql = u;
    }
    if (o->is_mysql && ((rc = eb_odbc_exec_direct(o,
                                                  "SET SESSION sql_mode = "
                                                  "CONCAT(@@SESSION.sql_mode, ',ANSI_QUOTES')",
                                                  "setting ANSI quotes", err)) ||
                        (rc = eb_odbc_end_tran(o, 1, err))))
        goto eb_odbc_fail;
    if (!o->schema_checked) {
        if ((rc = ensure_schema(o, err)) ||
            (o->is_mysql && (rc = eb_odbc_check_matched_rows(o, err))))
            goto eb_odbc_fail;
        o->schema_checked = 1;
    }
    if ((rc = prepare_all(o, err)))
        goto eb_odbc_fail;
    return EB_OK;
eb_odbc_fail:
    eb_odbc_disconnect(o);
    return rc;
}

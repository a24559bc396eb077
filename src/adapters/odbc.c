/* The ODBC adapter (eb_adapter_odbc, unixODBC) for URLs odbc:<connection string>, the string
 * given to SQLDriverConnect as it is: "odbc:DSN=ehr;UID=ehrbridge;PWD=..." (a data source of
 * odbc.ini) or "odbc:DRIVER=/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so;SERVER=...;..." (a
 * driver by name from odbcinst.ini, or by path). It reaches the databases legacy EHR suites run
 * on; it is tested with Debian's PostgreSQL (psqlodbcw.so), SQLite (libsqlite3odbc.so) and
 * MariaDB (libmaodbc.so) drivers.
 *
 * One instance is one connection, in manual-commit mode (SQL_AUTOCOMMIT_OFF): a transaction is
 * ended by SQLEndTran, and `true` is answered only after SQL_COMMIT succeeded. Every
 * statement is prepared once per connection (SQLPrepare) and executed with bound parameters
 * (SQLBindParameter): integers as SQL_C_SBIGINT, text as SQL_C_WCHAR (UTF-16, converted from and
 * to the UTF-8 the rest of ehrbridge uses, so that no driver's or locale's idea of "ANSI" text
 * touches it), bytes as SQL_C_BINARY. On MySQL and MariaDB text is bound as SQL_C_CHAR in
 * UTF-8 (the same text, checked the same way): Debian's odbc-mariadb 3.1 appends a NUL byte
 * when it converts some UTF-16 parameters (CJK, then ASCII, then CJK: "高级Java工程师").
 *
 * It offers the primitives of adapter.h (table version 2): the bridge writes the push rules,
 * the retries and group commit with them (savepoints: SAVEPOINT, RELEASE SAVEPOINT, ROLLBACK TO
 * SAVEPOINT, which the databases it is tested with understand). The SQL is portable: no upsert,
 * no RETURNING, no LIMIT. A push id is claimed by reading its push_log row and inserting (or,
 * over a 'failed' row, updating) it; a second replica inserting the same id meets the primary
 * key (retryable), and its next try finds the record. The
 * default schema's candidate row is updated by application_id or inserted. Types come from the
 * DBMS the driver names (SQLGetInfo SQL_DBMS_NAME): PostgreSQL, SQLite, SQL Server, Oracle,
 * DB2, MySQL/MariaDB, else standard SQL (BIGINT, CLOB, BLOB). With a mapping (--mapping) only
 * ehrbridge's own tables are created (schema_version, push_log, the interview tables): a legacy
 * database gets nothing else, and the mapped tables are checked (a SELECT of every mapped
 * column) when the connection opens.
 *
 * Errors carry the driver's SQLSTATE: "odbc: 08001: could not connect to the server: ...",
 * with the connection string's password (PWD=, Password=) never repeated. A connection that
 * broke (SQLSTATE 08xxx) is dropped; the next call connects again (after a failed attempt, calls
 * fail at once for RECONNECT_PAUSE_MS). Transactions on an SQLite file through ODBC are
 * serialized in the process (SQLite has one writer; its driver would otherwise fail a busy
 * upgrade at once). */

#include "adapters/odbc_int.h"

pthread_mutex_t eb_odbc_sqlite_lock = PTHREAD_MUTEX_INITIALIZER; /* one SQLite writer */
/* ---- text -------------------------------------------------------------------------------- */

/* UTF-8 s[0..n) into UTF-16 in *buf (grown as needed; *cap units); invalid bytes become
 * U+FFFD. Returns the number of units, or -1 when memory runs out. */
static long utf8_to_utf16(const char *s, size_t n, SQLWCHAR **buf, size_t *cap)
{
    const unsigned char *u = (const unsigned char *)s;
    if (*cap < n + 1) {
        SQLWCHAR *b = realloc(*buf, (n + 1) * sizeof *b);
        if (!b)
            return -1;
        *buf = b;
        *cap = n + 1;
    }
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0xfffd;
        size_t len = 1;
        unsigned char c = u[i];
        if (c < 0x80) {
            cp = c;
        } else if (c >= 0xc2 && c <= 0xdf && i + 1 < n && (u[i + 1] & 0xc0) == 0x80) {
            cp = (uint32_t)(c & 0x1f) << 6 | (u[i + 1] & 0x3f);
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef && i + 2 < n && (u[i + 1] & 0xc0) == 0x80 &&
                   (u[i + 2] & 0xc0) == 0x80) {
            cp = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(u[i + 1] & 0x3f) << 6 | (u[i + 2] & 0x3f);
            len = 3;
            if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))
                cp = 0xfffd;
        } else if (c >= 0xf0 && c <= 0xf4 && i + 3 < n && (u[i + 1] & 0xc0) == 0x80 &&
                   (u[i + 2] & 0xc0) == 0x80 && (u[i + 3] & 0xc0) == 0x80) {
            cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(u[i + 1] & 0x3f) << 12 |
                 (uint32_t)(u[i + 2] & 0x3f) << 6 | (u[i + 3] & 0x3f);
            len = 4;
            if (cp < 0x10000 || cp > 0x10ffff)
                cp = 0xfffd;
        }
        i += len;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            (*buf)[o++] = (SQLWCHAR)(0xd800 + (cp >> 10));
            (*buf)[o++] = (SQLWCHAR)(0xdc00 + (cp & 0x3ff));
        } else {
            (*buf)[o++] = (SQLWCHAR)(cp ? cp : 0xfffd); /* no NUL inside SQL text */
        }
    }
    (*buf)[o] = 0;
    return (long)o;
}

/* UTF-16 w[0..units) (from utf8_to_utf16: no NUL, surrogates paired) into UTF-8 in *buf (grown
 * as needed; *cap bytes). Returns the number of bytes, or -1 when memory runs out. */
static long utf16_to_utf8(const SQLWCHAR *w, size_t units, char **buf, size_t *cap)
{
    if (*cap < units * 3 + 1) {
        char *b = realloc(*buf, units * 3 + 1);
        if (!b)
            return -1;
        *buf = b;
        *cap = units * 3 + 1;
    }
    unsigned char *o = (unsigned char *)*buf;
    size_t k = 0;
    for (size_t i = 0; i < units; i++) {
        uint32_t cp = w[i];
        if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < units) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (w[i + 1] - 0xdc00u);
            i++;
        }
        if (cp < 0x80) {
            o[k++] = (unsigned char)cp;
        } else if (cp < 0x800) {
            o[k++] = (unsigned char)(0xc0 | cp >> 6);
            o[k++] = (unsigned char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            o[k++] = (unsigned char)(0xe0 | cp >> 12);
            o[k++] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
            o[k++] = (unsigned char)(0x80 | (cp & 0x3f));
        } else {
            o[k++] = (unsigned char)(0xf0 | cp >> 18);
            o[k++] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
            o[k++] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
            o[k++] = (unsigned char)(0x80 | (cp & 0x3f));
        }
    }
    o[k] = 0;
    return (long)k;
}

/* s reallocated to at least need bytes (doubling); NULL (s freed) when out of memory. */
static char *grow(char *s, size_t *cap, size_t need)
{
    size_t c = need * 2;
    char *b = realloc(s, c);
    if (!b) {
        free(s);
        return NULL;
    }
    *cap = c;
    return b;
}

/* Appends UTF-16 w[0..n) as UTF-8 to *out (*len bytes, *cap allocated); an unpaired surrogate
 * becomes U+FFFD. 0 on no memory. */
static int utf16_append(const SQLWCHAR *w, size_t n, char **out, size_t *len, size_t *cap)
{
    if (*len + n * 3 + 1 > *cap) {
        size_t c = (*len + n * 3 + 1) * 2;
        char *b = realloc(*out, c);
        if (!b)
            return 0;
        *out = b;
        *cap = c;
    }
    char *o = *out + *len;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = w[i];
        if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n && w[i + 1] >= 0xdc00 && w[i + 1] <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (w[i + 1] - 0xdc00);
            i++;
        } else if (cp >= 0xd800 && cp <= 0xdfff) {
            cp = 0xfffd;
        }
        if (cp < 0x80) {
            *o++ = (char)cp;
        } else if (cp < 0x800) {
            *o++ = (char)(0xc0 | cp >> 6);
            *o++ = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            *o++ = (char)(0xe0 | cp >> 12);
            *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
            *o++ = (char)(0x80 | (cp & 0x3f));
        } else {
            *o++ = (char)(0xf0 | cp >> 18);
            *o++ = (char)(0x80 | (cp >> 12 & 0x3f));
            *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
            *o++ = (char)(0x80 | (cp & 0x3f));
        }
    }
    *len = (size_t)(o - *out);
    (*out)[*len] = '\0';
    return 1;
}

/* ---- errors ------------------------------------------------------------------------------ */

/* Copies src into dst (n bytes) as one line with the password replaced by "***". */
static void scrub(const struct odbc_adapter *o, char *dst, size_t n, const char *src)
{
    size_t k = 0, sl = o->secret ? strlen(o->secret) : 0;
    int space = 0;
    for (const char *p = src; *p && k + 1 < n;) {
        if (sl >= 1 && !strncmp(p, o->secret, sl)) {
            for (const char *m = "***"; *m && k + 1 < n; m++)
                dst[k++] = *m;
            p += sl;
            continue;
        }
        if (isspace((unsigned char)*p)) {
            space = 1;
        } else {
            if (space && k && k + 1 < n)
                dst[k++] = ' ';
            space = 0;
            dst[k++] = *p;
        }
        p++;
    }
    dst[k] = '\0';
}

int eb_odbc_lost_state(const char *s)
{
    return !strncmp(s, "08", 2) || !strcmp(s, "HYT01");
}

/* Describes the first diagnostic record of handle h (type t) in err: "odbc: STATE: what: text".
 * Class 08 (connection), HYT00/HYT01 (timeouts), 40001/40P01 and SQLite's "locked" are
 * EB_ERR_UNAVAILABLE (retry later); others EB_ERR_DB. A broken connection is dropped. */
eb_rc eb_odbc_fail(struct odbc_adapter *o, SQLSMALLINT t, SQLHANDLE h, const char *what,
                   struct eb_err *err)
{
    SQLCHAR state[6] = "", text[400] = "";
    SQLINTEGER native = 0;
    SQLSMALLINT len = 0;
    /* the first record that is not a warning (01xxx) says what failed */
    for (SQLSMALLINT i = 1; h && i <= 8; i++) {
        SQLCHAR st2[6] = "", tx2[400] = "";
        SQLINTEGER nat2 = 0;
        if (!SQL_SUCCEEDED(SQLGetDiagRec(t, h, i, st2, &nat2, tx2, sizeof tx2, &len)))
            break;
        if (i == 1 ||
            (!strncmp((const char *)state, "01", 2) && strncmp((const char *)st2, "01", 2))) {
            memcpy(state, st2, sizeof state);
            memcpy(text, tx2, sizeof text);
            native = nat2;
        }
    }
    if (!state[0])
        snprintf((char *)state, sizeof state, "HY000");
    char line[300];
    scrub(o, line, sizeof line, text[0] ? (const char *)text : "failed");
    snprintf(o->state, sizeof o->state, "%s", (const char *)state);
    eb_rc rc = EB_ERR_DB;
    if (eb_odbc_lost_state(o->state) || !strcmp(o->state, "HYT00") || !strcmp(o->state, "40001") ||
        !strcmp(o->state, "40P01") || (o->is_sqlite && (native == 5 || native == 6)))
        rc = EB_ERR_UNAVAILABLE;
    return eb_err_set(err, rc, "odbc: %s: %s: %s", o->state, what, line);
}

/* ---- the connection ---------------------------------------------------------------------- */

void eb_odbc_free_stmt(SQLHSTMT *h)
{
    if (*h) {
        SQLFreeHandle(SQL_HANDLE_STMT, *h);
        *h = NULL;
    }
}

static void free_statements(struct odbc_adapter *o)
{
    size_t nt = o->schema ? o->schema->n_tables : 0;
    for (int i = 0; i < ST_N; i++)
        eb_odbc_free_stmt(&o->st[i]);
    for (size_t i = 0; o->ins && i < nt; i++)
        eb_odbc_free_stmt(&o->ins[i]);
    for (size_t i = 0; o->del && i < nt; i++)
        eb_odbc_free_stmt(&o->del[i]);
    for (size_t i = 0; i < EB_ITV_N_TABLES; i++) {
        eb_odbc_free_stmt(&o->itv_ins[i]);
        eb_odbc_free_stmt(&o->itv_del[i]);
    }
    eb_odbc_free_stmt(&o->warn_ins);
    eb_odbc_free_stmt(&o->warn_del);
    for (size_t i = 0; o->map_st && o->map_sql && i < o->map_sql->n_tables * 3; i++)
        eb_odbc_free_stmt(&o->map_st[i]);
}

void eb_odbc_disconnect(struct odbc_adapter *o)
{
    free_statements(o);
    if (o->dbc) {
        if (o->connected) {
            SQLEndTran(SQL_HANDLE_DBC, o->dbc, SQL_ROLLBACK);
            SQLDisconnect(o->dbc);
        }
        SQLFreeHandle(SQL_HANDLE_DBC, o->dbc);
        o->dbc = NULL;
    }
    o->connected = 0;
}

/* Ends the current transaction (commit or rollback). */
eb_rc eb_odbc_end_tran(struct odbc_adapter *o, int commit, struct eb_err *err)
{
    SQLRETURN r = SQLEndTran(SQL_HANDLE_DBC, o->dbc, commit ? SQL_COMMIT : SQL_ROLLBACK);
    if (SQL_SUCCEEDED(r))
        return EB_OK;
    return eb_odbc_fail(o, SQL_HANDLE_DBC, o->dbc, commit ? "commit" : "rollback", err);
}

void eb_odbc_conn_rollback(struct odbc_adapter *o)
{
    if (o->connected)
        SQLEndTran(SQL_HANDLE_DBC, o->dbc, SQL_ROLLBACK);
}

/* Prepares sql into *h. */
eb_rc eb_odbc_prepare(struct odbc_adapter *o, const char *sql, SQLHSTMT *h, const char *what,
                      struct eb_err *err)
{
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, o->dbc, h)))
        return eb_odbc_fail(o, SQL_HANDLE_DBC, o->dbc, what, err);
    if (!SQL_SUCCEEDED(SQLPrepare(*h, (SQLCHAR *)sql, SQL_NTS))) {
        eb_rc rc = eb_odbc_fail(o, SQL_HANDLE_STMT, *h, what, err);
        eb_odbc_free_stmt(h);
        return rc;
    }
    return EB_OK;
}

/* Runs sql once (setup: DDL, probes) on a statement of its own. */
eb_rc eb_odbc_exec_direct(struct odbc_adapter *o, const char *sql, const char *what,
                          struct eb_err *err)
{
    SQLHSTMT h = NULL;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, o->dbc, &h)))
        return eb_odbc_fail(o, SQL_HANDLE_DBC, o->dbc, what, err);
    SQLRETURN r = SQLExecDirect(h, (SQLCHAR *)sql, SQL_NTS);
    eb_rc rc = SQL_SUCCEEDED(r) || r == SQL_NO_DATA
                   ? EB_OK
                   : eb_odbc_fail(o, SQL_HANDLE_STMT, h, what, err);
    SQLFreeHandle(SQL_HANDLE_STMT, h);
    return rc;
}

/* On MySQL and MariaDB an UPDATE counts the rows it changed, not those it matched, unless the
 * connection asked for matched rows (the driver's OPTION=2, FOUND_ROWS): the candidate row that a
 * replay writes again unchanged would then look missing and be inserted a second time. Checked
 * with an UPDATE that matches schema_version's row(s) and changes nothing. */
eb_rc eb_odbc_check_matched_rows(struct odbc_adapter *o, struct eb_err *err)
{
    SQLHSTMT h = NULL;
    SQLLEN n = 0;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, o->dbc, &h)))
        return eb_odbc_fail(o, SQL_HANDLE_DBC, o->dbc, "checking row counts", err);
    SQLRETURN r = SQLExecDirect(
        h, (SQLCHAR *)"UPDATE \"schema_version\" SET \"version\" = \"version\"", SQL_NTS);
    eb_rc rc =
        SQL_SUCCEEDED(r) ? EB_OK : eb_odbc_fail(o, SQL_HANDLE_STMT, h, "checking row counts", err);
    if (!rc && !(SQL_SUCCEEDED(SQLRowCount(h, &n)) && n > 0))
        rc = eb_err_set(err, EB_ERR_CONFIG,
                        "odbc: MySQL/MariaDB counts changed rows, not matched rows: add OPTION=2 "
                        "(FOUND_ROWS) to the connection string");
    SQLFreeHandle(SQL_HANDLE_STMT, h);
    eb_odbc_conn_rollback(o);
    return rc;
}

/* Runs a step of the schema's creation or migration. Where DDL commits by itself (MySQL,
 * MariaDB), a step interrupted half-way must be able to run again: CREATE TABLE, CREATE INDEX
 * and ADD COLUMN get IF NOT EXISTS (MariaDB understands all three). */
eb_rc eb_odbc_exec_ddl(struct odbc_adapter *o, const char *sql, const char *what,
                       struct eb_err *err)
{
    static const char *const verbs[] = {"CREATE TABLE ", "CREATE INDEX ", "ADD COLUMN "};
    const char *at = NULL;
    size_t vlen = 0;
    for (size_t i = 0; o->is_mysql && !at && i < sizeof verbs / sizeof verbs[0]; i++)
        if ((at = strstr(sql, verbs[i])) && strncmp(at + strlen(verbs[i]), "IF NOT EXISTS", 13))
            vlen = strlen(verbs[i]);
        else
            at = NULL;
    if (!at)
        return eb_odbc_exec_direct(o, sql, what, err);
    size_t len = strlen(sql) + sizeof "IF NOT EXISTS ";
    char *again = malloc(len);
    if (!again)
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    snprintf(again, len, "%.*sIF NOT EXISTS %s", (int)(at - sql + (ptrdiff_t)vlen), sql, at + vlen);
    eb_rc rc = eb_odbc_exec_direct(o, again, what, err);
    free(again);
    return rc;
}

/* ---- parameters -------------------------------------------------------------------------- */

static eb_rc bind_null(struct odbc_adapter *o, SQLHSTMT h, int i, struct eb_err *err)
{
    o->ind[i] = SQL_NULL_DATA;
    if (SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_WCHAR,
                                       SQL_WVARCHAR, 1, 0, NULL, 0, &o->ind[i])))
        return EB_OK;
    return eb_odbc_fail(o, SQL_HANDLE_STMT, h, "binding", err);
}

eb_rc eb_odbc_bind_int(struct odbc_adapter *o, SQLHSTMT h, int i, int64_t v, struct eb_err *err)
{
    o->ival[i] = v;
    o->ind[i] = 0;
    if (SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_SBIGINT,
                                       SQL_BIGINT, 0, 0, &o->ival[i], 0, &o->ind[i])))
        return EB_OK;
    return eb_odbc_fail(o, SQL_HANDLE_STMT, h, "binding", err);
}

/* Binds UTF-8 text as UTF-16 (SQL_C_WCHAR), on MySQL and MariaDB as the UTF-8 of that UTF-16
 * (SQL_C_CHAR; see the file's comment); NULL binds NULL. */
static eb_rc bind_text(struct odbc_adapter *o, SQLHSTMT h, int i, const char *s, size_t n,
                       struct eb_err *err)
{
    if (!s)
        return bind_null(o, h, i, err);
    long units = utf8_to_utf16(s, n, &o->wbuf[i], &o->wcap[i]);
    if (units < 0)
        return eb_err_set(err, EB_ERR_NOMEM, "odbc: out of memory binding text");
    if (o->is_mysql) {
        long bytes = utf16_to_utf8(o->wbuf[i], (size_t)units, &o->cbuf[i], &o->ccap[i]);
        if (bytes < 0)
            return eb_err_set(err, EB_ERR_NOMEM, "odbc: out of memory binding text");
        o->ind[i] = (SQLLEN)bytes;
        if (SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_CHAR,
                                           units > LONG_TEXT ? SQL_LONGVARCHAR : SQL_VARCHAR,
                                           bytes ? (SQLULEN)bytes : 1, 0, o->cbuf[i], o->ind[i],
                                           &o->ind[i])))
            return EB_OK;
        return eb_odbc_fail(o, SQL_HANDLE_STMT, h, "binding", err);
    }
    o->ind[i] = (SQLLEN)units * (SQLLEN)sizeof(SQLWCHAR);
    SQLULEN size = units ? (SQLULEN)units : 1;
    if (SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_WCHAR,
                                       units > LONG_TEXT ? SQL_WLONGVARCHAR : SQL_WVARCHAR, size, 0,
                                       o->wbuf[i], o->ind[i], &o->ind[i])))
        return EB_OK;
    return eb_odbc_fail(o, SQL_HANDLE_STMT, h, "binding", err);
}

eb_rc eb_odbc_bind_str(struct odbc_adapter *o, SQLHSTMT h, int i, const char *s, struct eb_err *err)
{
    return bind_text(o, h, i, s, s ? strlen(s) : 0, err);
}

/* Binds bytes as they are (SQL_C_BINARY). */
static eb_rc bind_bytes(struct odbc_adapter *o, SQLHSTMT h, int i, const char *s, size_t n,
                        struct eb_err *err)
{
    if (!s) {
        o->ind[i] = SQL_NULL_DATA;
        if (SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_BINARY,
                                           SQL_VARBINARY, 1, 0, NULL, 0, &o->ind[i])))
            return EB_OK;
        return eb_odbc_fail(o, SQL_HANDLE_STMT, h, "binding", err);
    }
    o->ind[i] = (SQLLEN)n;
    if (SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_BINARY,
                                       n > 8000 ? SQL_LONGVARBINARY : SQL_VARBINARY, n ? n : 1, 0,
                                       (SQLPOINTER)s, (SQLLEN)n, &o->ind[i])))
        return EB_OK;
    return eb_odbc_fail(o, SQL_HANDLE_STMT, h, "binding", err);
}

eb_rc eb_odbc_bind_value(struct odbc_adapter *o, SQLHSTMT h, int i, const struct eb_sql_value *v,
                         struct eb_err *err)
{
    if (v->type == EB_SQL_VINT)
        return eb_odbc_bind_int(o, h, i, v->i, err);
    if (v->type == EB_SQL_VTEXT)
        return bind_text(o, h, i, v->s, v->len, err);
    return bind_null(o, h, i, err);
}

/* Executes prepared statement h (parameters bound); *changed gets the rows it changed. */
eb_rc eb_odbc_execute(struct odbc_adapter *o, SQLHSTMT h, const char *what, int64_t *changed,
                      struct eb_err *err)
{
    SQLRETURN r = SQLExecute(h);
    if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA) {
        eb_rc rc = eb_odbc_fail(o, SQL_HANDLE_STMT, h, what, err);
        SQLFreeStmt(h, SQL_CLOSE);
        return rc;
    }
    if (changed) {
        SQLLEN n = 0;
        *changed = SQL_SUCCEEDED(SQLRowCount(h, &n)) ? (int64_t)n : 0;
    }
    SQLFreeStmt(h, SQL_CLOSE);
    return EB_OK;
}

/* Binds a push_log row: push_log's columns in order, then (where) the push id again. */
static eb_rc bind_log(struct odbc_adapter *o, SQLHSTMT h, int update,
                      const struct eb_push_record *rec, enum eb_outcome outcome,
                      int64_t received_at, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    int b = update ? -1 : 0; /* the update sets every column but push_id, then WHERE push_id */
    if ((!update && (rc = eb_odbc_bind_str(o, h, 0, rec->push_id, err))) ||
        (rc = eb_odbc_bind_str(o, h, b + 1, rec->event, err)) ||
        (rc = eb_odbc_bind_str(o, h, b + 2, rec->triggered_at, err)) ||
        (rc = eb_odbc_bind_int(o, h, b + 3, received_at, err)) ||
        (rc = rec->has_application_id ? eb_odbc_bind_int(o, h, b + 4, rec->application_id, err)
                                      : bind_null(o, h, b + 4, err)) ||
        (rc = rec->has_candidate_id ? eb_odbc_bind_int(o, h, b + 5, rec->candidate_id, err)
                                    : bind_null(o, h, b + 5, err)) ||
        (rc = eb_odbc_bind_str(o, h, b + 6, eb_outcome_name(outcome), err)) ||
        (rc = eb_odbc_bind_str(o, h, b + 7, rec->message, err)) ||
        (rc = bind_text(o, h, b + 8, rec->payload, rec->payload_len, err)) ||
        (rc = bind_bytes(o, h, b + 9, rec->raw, rec->raw_len, err)))
        return rc;
    if (update)
        rc = eb_odbc_bind_str(o, h, N_LOG_COLUMNS - 1, rec->push_id, err);
    return rc;
}

/* ---- reading ----------------------------------------------------------------------------- */

/* Reads column col of the current row into *out (malloc'd and NUL-terminated; NULL for SQL
 * NULL) in chunks: as text (wide: the driver's UTF-16, converted to UTF-8) or as bytes. */
eb_rc eb_odbc_get_data(struct odbc_adapter *o, SQLHSTMT h, int col, int wide, char **out,
                       size_t *out_len, struct eb_err *err)
{
    union {
        SQLWCHAR w[4096];
        char b[8192];
    } chunk;
    /* text is read in after one unit left free for the high surrogate that ended the last chunk
     * (high): a pair split by a chunk boundary is converted whole */
    void *buf = wide ? (void *)(chunk.w + 1) : chunk.b;
    SQLLEN size = wide ? sizeof chunk - sizeof chunk.w[0] : sizeof chunk;
    SQLWCHAR high = 0;
    size_t len = 0, cap = 0;
    char *s = NULL;
    *out = NULL;
    if (out_len)
        *out_len = 0;
    for (;;) {
        SQLLEN ind = 0;
        SQLRETURN r =
            SQLGetData(h, (SQLUSMALLINT)col, wide ? SQL_C_WCHAR : SQL_C_BINARY, buf, size, &ind);
        if (r == SQL_NO_DATA)
            break;
        if (!SQL_SUCCEEDED(r)) {
            free(s);
            return eb_odbc_fail(o, SQL_HANDLE_STMT, h, "reading", err);
        }
        if (ind == SQL_NULL_DATA) {
            free(s);
            return EB_OK;
        }
        /* a text chunk ends with the driver's terminator; a byte chunk is all data */
        size_t room = (size_t)size - (wide ? sizeof chunk.w[0] : 0);
        size_t bytes = ind == SQL_NO_TOTAL || (size_t)ind > room ? room : (size_t)ind;
        int ok;
        if (wide) {
            SQLWCHAR *w = chunk.w + 1;
            size_t n = bytes / sizeof *w;
            if (high) {
                *--w = high;
                n++;
            }
            high = n && w[n - 1] >= 0xd800 && w[n - 1] <= 0xdbff ? w[--n] : 0;
            ok = utf16_append(w, n, &s, &len, &cap);
        } else if ((ok = len + bytes + 1 <= cap || (s = grow(s, &cap, len + bytes + 1)) != NULL)) {
            memcpy(s + len, chunk.b, bytes);
            len += bytes;
            s[len] = '\0';
        }
        if (!ok) {
            free(s);
            return eb_err_set(err, EB_ERR_NOMEM, "odbc: out of memory reading");
        }
        if (r == SQL_SUCCESS)
            break;
    }
    /* a high surrogate that ended the text has no pair: U+FFFD */
    if ((high && !utf16_append(&high, 1, &s, &len, &cap)) || (!s && !(s = calloc(1, 1)))) {
        free(s);
        return eb_err_set(err, EB_ERR_NOMEM, "odbc: out of memory reading");
    }
    *out = s;
    if (out_len)
        *out_len = len;
    return EB_OK;
}

eb_rc eb_odbc_get_text(struct odbc_adapter *o, SQLHSTMT h, int col, char **out, size_t *out_len,
                       struct eb_err *err)
{
    return eb_odbc_get_data(o, h, col, 1, out, out_len, err);
}

eb_rc eb_odbc_get_int(struct odbc_adapter *o, SQLHSTMT h, int col, int64_t *v, int *is_null,
                      struct eb_err *err)
{
    SQLBIGINT x = 0;
    SQLLEN ind = 0;
    if (!SQL_SUCCEEDED(SQLGetData(h, (SQLUSMALLINT)col, SQL_C_SBIGINT, &x, sizeof x, &ind)))
        return eb_odbc_fail(o, SQL_HANDLE_STMT, h, "reading", err);
    *is_null = ind == SQL_NULL_DATA;
    *v = *is_null ? 0 : (int64_t)x;
    return EB_OK;
}

enum eb_outcome eb_odbc_outcome_from(const char *text)
{
    if (text && strcmp(text, "stored") == 0)
        return EB_OUTCOME_STORED;
    if (text && strcmp(text, "rejected") == 0)
        return EB_OUTCOME_REJECTED;
    return EB_OUTCOME_FAILED;
}

/* Reads push_id's push_log row: *found (0: none), its outcome and message (into message, when
 * not NULL). */
eb_rc eb_odbc_find_log(struct odbc_adapter *o, const char *push_id, int *found,
                       enum eb_outcome *outcome, char *message, size_t message_size,
                       struct eb_err *err)
{
    SQLHSTMT h = o->st[ST_FIND_LOG];
    eb_rc rc = eb_odbc_bind_str(o, h, 0, push_id, err);
    *found = 0;
    if (rc)
        return rc;
    if (!SQL_SUCCEEDED(SQLExecute(h)))
        return eb_odbc_fail(o, SQL_HANDLE_STMT, h, "reading push_log", err);
    SQLRETURN r = SQLFetch(h);
    if (SQL_SUCCEEDED(r)) {
        char *oc = NULL, *msg = NULL;
        if (!(rc = eb_odbc_get_text(o, h, 1, &oc, NULL, err)) &&
            !(rc = eb_odbc_get_text(o, h, 2, &msg, NULL, err))) {
            *found = 1;
            *outcome = eb_odbc_outcome_from(oc);
            if (message)
                snprintf(message, message_size, "%s", msg ? msg : "");
        }
        free(oc);
        free(msg);
    } else if (r != SQL_NO_DATA) {
        rc = eb_odbc_fail(o, SQL_HANDLE_STMT, h, "reading push_log", err);
    }
    SQLFreeStmt(h, SQL_CLOSE);
    return rc;
}

/* Records rec (with outcome) in push_log: an update of an existing row, else an insert. */
eb_rc eb_odbc_put_log(struct odbc_adapter *o, int exists, const struct eb_push_record *rec,
                      enum eb_outcome outcome, int64_t at, struct eb_err *err)
{
    SQLHSTMT h = o->st[exists ? ST_UPDATE_LOG : ST_INSERT_LOG];
    eb_rc rc = bind_log(o, h, exists, rec, outcome, at, err);
    return rc ? rc : eb_odbc_execute(o, h, "push_log", NULL, err);
}

/* ---- the URL ----------------------------------------------------------------------------- */

/* "odbc:" + the connection string; remembers its password (PWD= or Password=) to keep it out of
 * messages. A password given twice is refused: drivers differ on which one they use, and only
 * one would be kept out of messages. */
static eb_rc parse_url(struct odbc_adapter *o, const char *url, struct eb_err *err)
{
    if (strncasecmp(url, "odbc:", 5) != 0)
        return eb_err_set(err, EB_ERR_CONFIG, "not an odbc URL (odbc:DSN=... or odbc:DRIVER=...)");
    const char *cs = url + 5;
    if (!*cs || !strchr(cs, '='))
        return eb_err_set(err, EB_ERR_CONFIG,
                          "the odbc URL needs a connection string "
                          "(odbc:DSN=NAME;... or odbc:DRIVER=...;...)");
    if (!(o->conn_str = strdup(cs)))
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    int password = 0; /* a PWD or Password key was seen */
    for (const char *p = cs; *p;) {
        const char *eq = strchr(p, '=');
        if (!eq)
            break;
        size_t kl = (size_t)(eq - p);
        while (kl && isspace((unsigned char)p[kl - 1]))
            kl--;
        const char *v = eq + 1, *e;
        if (*v == '{') {
            e = strchr(v, '}');
            e = e ? e + 1 : v + strlen(v);
        } else {
            e = strchr(v, ';');
            e = e ? e : v + strlen(v);
        }
        if ((kl == 3 && !strncasecmp(p, "PWD", 3)) || (kl == 8 && !strncasecmp(p, "Password", 8))) {
            const char *vb = v, *ve = e;
            if (password++)
                return eb_err_set(err, EB_ERR_CONFIG,
                                  "the odbc connection string gives the password twice");
            if (*vb == '{' && ve > vb + 1 && ve[-1] == '}')
                vb++, ve--;
            if (ve > vb && !(o->secret = strndup(vb, (size_t)(ve - vb))))
                return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        }
        p = *e == ';' ? e + 1 : e;
        while (*p == ';' || isspace((unsigned char)*p))
            p++;
    }
    return EB_OK;
}

/* ---- open / close ------------------------------------------------------------------------ */

static void od_close(struct eb_adapter *a)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    if (o->in_tx && o->is_sqlite) /* closed inside a transaction: its lock goes too */
        pthread_mutex_unlock(&eb_odbc_sqlite_lock);
    o->in_tx = 0;
    eb_odbc_disconnect(o);
    if (o->env) {
        SQLFreeHandle(SQL_HANDLE_ENV, o->env);
        o->env = NULL;
    }
    for (size_t i = 0; i < EB_SQL_MAX_COLUMNS; i++) {
        free(o->wbuf[i]);
        o->wbuf[i] = NULL;
        o->wcap[i] = 0;
        free(o->cbuf[i]);
        o->cbuf[i] = NULL;
        o->ccap[i] = 0;
    }
    free(o->ins);
    free(o->del);
    free(o->map_st);
    o->ins = o->del = o->map_st = NULL;
    eb_mapping_sql_free(o->map_sql);
    o->map_sql = NULL;
    eb_interview_sql_free(&o->itv);
    eb_warning_sql_free(&o->wsql);
    eb_sqlgen_free(o->schema);
    o->schema = NULL;
    free(o->update_cand_sql);
    free(o->update_log_sql);
    free(o->conn_str);
    free(o->secret);
    o->update_cand_sql = o->update_log_sql = o->conn_str = o->secret = NULL;
}

static eb_rc od_open(struct eb_adapter *a, const char *url, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    eb_rc rc = parse_url(o, url, err);
    if (rc)
        return rc;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &o->env)) ||
        !SQL_SUCCEEDED(SQLSetEnvAttr(o->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0)))
        return eb_err_set(err, EB_ERR_INTERNAL, "odbc: cannot set up the ODBC environment");
    return eb_odbc_ensure_connected(o, err);
}

const struct eb_adapter_methods eb_adapter_odbc = {
    .version = 3,
    .name = "odbc",
    .scheme = "odbc",
    .instance_size = sizeof(struct odbc_adapter),
    .open = od_open,
    .close = od_close,
    .ping = eb_odbc_ping,
    .list_pushes = eb_odbc_list_pushes,
    .begin = eb_odbc_begin,
    .commit = eb_odbc_commit,
    .rollback = eb_odbc_rollback,
    .in_transaction = eb_odbc_in_transaction,
    .savepoint = eb_odbc_savepoint,
    .release = eb_odbc_release,
    .rollback_to = eb_odbc_rollback_to,
    .log_get = eb_odbc_log_get,
    .log_put = eb_odbc_log_put,
    .candidate_write = eb_odbc_candidate_write,
    .candidate_last = eb_odbc_candidate_last,
    .interview_apply = eb_odbc_interview_apply,
    .retryable = eb_odbc_retryable,
    .share = eb_odbc_share,
    .purge_payloads = eb_odbc_purge_payloads,
};

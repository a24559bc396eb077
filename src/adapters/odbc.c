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
#include <ctype.h>
#include <pthread.h>
#include <sql.h>
#include <sqlext.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adapters/adapter.h"
#include "sql/interview_sql.h"
#include "adapters/pushread.h"
#include "sql/warning_sql.h"
#include "sql/sqlgen.h"
#include "candidate/candidate.h"
#include "candidate/interview.h"
#include "mapping/mapping.h"
#include "util/clock.h"
#include "util/log.h"

#define RECONNECT_PAUSE_MS 500  /* after a failed connect, calls fail at once for this long */
#define LOGIN_TIMEOUT_S    5    /* SQL_ATTR_LOGIN_TIMEOUT */
#define LONG_TEXT          4000 /* characters from which text is bound as SQL_WLONGVARCHAR */
#define N_LOG_COLUMNS      10   /* push_log's columns */

static pthread_mutex_t sqlite_lock = PTHREAD_MUTEX_INITIALIZER;  /* one SQLite writer */
static pthread_mutex_t connect_lock = PTHREAD_MUTEX_INITIALIZER; /* SQLDriverConnect */

/* The statements prepared on a connection. */
enum {
    ST_FIND_LOG = 0, /* SELECT outcome, message FROM push_log WHERE push_id = ? */
    ST_INSERT_LOG,   /* INSERT INTO push_log (every column) */
    ST_UPDATE_LOG,   /* UPDATE push_log SET (every other column) WHERE push_id = ? */
    ST_VERSION,      /* SELECT max(version) FROM schema_version */
    ST_UPDATE_CAND,  /* UPDATE candidate SET ... WHERE application_id = ? (default schema) */
    ST_CURRENT,      /* replay: received_at and push id of the candidate's last push */
    ST_N
};

struct odbc_adapter {
    struct eb_adapter base;         /* first member: the adapter table */
    SQLHENV env;                    /* the environment (one per instance) */
    SQLHDBC dbc;                    /* the connection handle */
    int connected;                  /* 1 while dbc is connected */
    char *conn_str;                 /* the connection string (after "odbc:") */
    char *secret;                   /* its password, scrubbed from messages */
    char dbms[64];                  /* SQL_DBMS_NAME */
    int is_sqlite;                  /* the DBMS is SQLite: writes take sqlite_lock */
    int is_mysql;                   /* MySQL or MariaDB: ANSI quotes set per connection; DDL
                                       commits by itself, so the schema's steps can run again */
    struct eb_sql_dialect dialect;  /* types for the DBMS */
    struct eb_sql_schema *schema;   /* the default schema in that dialect */
    struct eb_interview_sql itv;    /* the interview tables' text */
    struct eb_mapping_sql *map_sql; /* --mapping: the mapped tables' text */
    char *update_cand_sql;          /* UPDATE candidate ... */
    char *update_log_sql;           /* UPDATE push_log ... */
    int schema_checked;             /* 1 once the schema is known to be this binary's */
    int64_t retry_at_ms;            /* after a failed connect: no new try before (monotonic) */
    struct eb_err down;             /* the error of that connect */
    SQLHSTMT st[ST_N];              /* the statements above */
    SQLHSTMT *ins;                  /* per schema table: INSERT (candidate, children) */
    SQLHSTMT *del;                  /* per schema table: DELETE by application_id (children) */
    SQLHSTMT itv_ins[EB_ITV_N_TABLES], itv_del[EB_ITV_N_TABLES];
    struct eb_warning_sql wsql;  /* push_warning's text (sql/warning_sql.h) */
    SQLHSTMT warn_ins, warn_del; /* its row insert, delete by push_id */
    SQLHSTMT *map_st;            /* 3 per mapped table (eb_mapping_stmt) */
    char state[6];               /* SQLSTATE of the last failure */
    int in_tx;                   /* between begin and commit or rollback */
    int tx_had;                  /* the transaction began on a connection already open */
    int retry;                   /* the last failure may pass on a new try (retryable) */
    /* parameter buffers of one execution */
    SQLWCHAR *wbuf[EB_SQL_MAX_COLUMNS]; /* UTF-16 text */
    size_t wcap[EB_SQL_MAX_COLUMNS];    /* units allocated in wbuf[i] */
    char *cbuf[EB_SQL_MAX_COLUMNS];     /* UTF-8 text (MySQL, MariaDB) */
    size_t ccap[EB_SQL_MAX_COLUMNS];    /* bytes allocated in cbuf[i] */
    SQLBIGINT ival[EB_SQL_MAX_COLUMNS];
    SQLLEN ind[EB_SQL_MAX_COLUMNS];
};

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

static int lost_state(const char *s)
{
    return !strncmp(s, "08", 2) || !strcmp(s, "HYT01");
}

/* Describes the first diagnostic record of handle h (type t) in err: "odbc: STATE: what: text".
 * Class 08 (connection), HYT00/HYT01 (timeouts), 40001/40P01 and SQLite's "locked" are
 * EB_ERR_UNAVAILABLE (retry later); others EB_ERR_DB. A broken connection is dropped. */
static eb_rc fail(struct odbc_adapter *o, SQLSMALLINT t, SQLHANDLE h, const char *what,
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
    if (lost_state(o->state) || !strcmp(o->state, "HYT00") || !strcmp(o->state, "40001") ||
        !strcmp(o->state, "40P01") || (o->is_sqlite && (native == 5 || native == 6)))
        rc = EB_ERR_UNAVAILABLE;
    return eb_err_set(err, rc, "odbc: %s: %s: %s", o->state, what, line);
}

/* ---- the connection ---------------------------------------------------------------------- */

static void free_stmt(SQLHSTMT *h)
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
        free_stmt(&o->st[i]);
    for (size_t i = 0; o->ins && i < nt; i++)
        free_stmt(&o->ins[i]);
    for (size_t i = 0; o->del && i < nt; i++)
        free_stmt(&o->del[i]);
    for (size_t i = 0; i < EB_ITV_N_TABLES; i++) {
        free_stmt(&o->itv_ins[i]);
        free_stmt(&o->itv_del[i]);
    }
    free_stmt(&o->warn_ins);
    free_stmt(&o->warn_del);
    for (size_t i = 0; o->map_st && o->map_sql && i < o->map_sql->n_tables * 3; i++)
        free_stmt(&o->map_st[i]);
}

static void disconnect(struct odbc_adapter *o)
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
static eb_rc end_tran(struct odbc_adapter *o, int commit, struct eb_err *err)
{
    SQLRETURN r = SQLEndTran(SQL_HANDLE_DBC, o->dbc, commit ? SQL_COMMIT : SQL_ROLLBACK);
    if (SQL_SUCCEEDED(r))
        return EB_OK;
    return fail(o, SQL_HANDLE_DBC, o->dbc, commit ? "commit" : "rollback", err);
}

static void rollback(struct odbc_adapter *o)
{
    if (o->connected)
        SQLEndTran(SQL_HANDLE_DBC, o->dbc, SQL_ROLLBACK);
}

/* Prepares sql into *h. */
static eb_rc prepare(struct odbc_adapter *o, const char *sql, SQLHSTMT *h, const char *what,
                     struct eb_err *err)
{
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, o->dbc, h)))
        return fail(o, SQL_HANDLE_DBC, o->dbc, what, err);
    if (!SQL_SUCCEEDED(SQLPrepare(*h, (SQLCHAR *)sql, SQL_NTS))) {
        eb_rc rc = fail(o, SQL_HANDLE_STMT, *h, what, err);
        free_stmt(h);
        return rc;
    }
    return EB_OK;
}

/* Runs sql once (setup: DDL, probes) on a statement of its own. */
static eb_rc exec_direct(struct odbc_adapter *o, const char *sql, const char *what,
                         struct eb_err *err)
{
    SQLHSTMT h = NULL;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, o->dbc, &h)))
        return fail(o, SQL_HANDLE_DBC, o->dbc, what, err);
    SQLRETURN r = SQLExecDirect(h, (SQLCHAR *)sql, SQL_NTS);
    eb_rc rc =
        SQL_SUCCEEDED(r) || r == SQL_NO_DATA ? EB_OK : fail(o, SQL_HANDLE_STMT, h, what, err);
    SQLFreeHandle(SQL_HANDLE_STMT, h);
    return rc;
}

/* On MySQL and MariaDB an UPDATE counts the rows it changed, not those it matched, unless the
 * connection asked for matched rows (the driver's OPTION=2, FOUND_ROWS): the candidate row that a
 * replay writes again unchanged would then look missing and be inserted a second time. Checked
 * with an UPDATE that matches schema_version's row(s) and changes nothing. */
static eb_rc check_matched_rows(struct odbc_adapter *o, struct eb_err *err)
{
    SQLHSTMT h = NULL;
    SQLLEN n = 0;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, o->dbc, &h)))
        return fail(o, SQL_HANDLE_DBC, o->dbc, "checking row counts", err);
    SQLRETURN r = SQLExecDirect(
        h, (SQLCHAR *)"UPDATE \"schema_version\" SET \"version\" = \"version\"", SQL_NTS);
    eb_rc rc = SQL_SUCCEEDED(r) ? EB_OK : fail(o, SQL_HANDLE_STMT, h, "checking row counts", err);
    if (!rc && !(SQL_SUCCEEDED(SQLRowCount(h, &n)) && n > 0))
        rc = eb_err_set(err, EB_ERR_CONFIG,
                        "odbc: MySQL/MariaDB counts changed rows, not matched rows: add OPTION=2 "
                        "(FOUND_ROWS) to the connection string");
    SQLFreeHandle(SQL_HANDLE_STMT, h);
    rollback(o);
    return rc;
}

/* Runs a step of the schema's creation or migration. Where DDL commits by itself (MySQL,
 * MariaDB), a step interrupted half-way must be able to run again: CREATE TABLE, CREATE INDEX
 * and ADD COLUMN get IF NOT EXISTS (MariaDB understands all three). */
static eb_rc exec_ddl(struct odbc_adapter *o, const char *sql, const char *what, struct eb_err *err)
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
        return exec_direct(o, sql, what, err);
    size_t len = strlen(sql) + sizeof "IF NOT EXISTS ";
    char *again = malloc(len);
    if (!again)
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    snprintf(again, len, "%.*sIF NOT EXISTS %s", (int)(at - sql + (ptrdiff_t)vlen), sql, at + vlen);
    eb_rc rc = exec_direct(o, again, what, err);
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
    return fail(o, SQL_HANDLE_STMT, h, "binding", err);
}

static eb_rc bind_int(struct odbc_adapter *o, SQLHSTMT h, int i, int64_t v, struct eb_err *err)
{
    o->ival[i] = v;
    o->ind[i] = 0;
    if (SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_SBIGINT,
                                       SQL_BIGINT, 0, 0, &o->ival[i], 0, &o->ind[i])))
        return EB_OK;
    return fail(o, SQL_HANDLE_STMT, h, "binding", err);
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
        return fail(o, SQL_HANDLE_STMT, h, "binding", err);
    }
    o->ind[i] = (SQLLEN)units * (SQLLEN)sizeof(SQLWCHAR);
    SQLULEN size = units ? (SQLULEN)units : 1;
    if (SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_WCHAR,
                                       units > LONG_TEXT ? SQL_WLONGVARCHAR : SQL_WVARCHAR, size, 0,
                                       o->wbuf[i], o->ind[i], &o->ind[i])))
        return EB_OK;
    return fail(o, SQL_HANDLE_STMT, h, "binding", err);
}

static eb_rc bind_str(struct odbc_adapter *o, SQLHSTMT h, int i, const char *s, struct eb_err *err)
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
        return fail(o, SQL_HANDLE_STMT, h, "binding", err);
    }
    o->ind[i] = (SQLLEN)n;
    if (SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_BINARY,
                                       n > 8000 ? SQL_LONGVARBINARY : SQL_VARBINARY, n ? n : 1, 0,
                                       (SQLPOINTER)s, (SQLLEN)n, &o->ind[i])))
        return EB_OK;
    return fail(o, SQL_HANDLE_STMT, h, "binding", err);
}

static eb_rc bind_value(struct odbc_adapter *o, SQLHSTMT h, int i, const struct eb_sql_value *v,
                        struct eb_err *err)
{
    if (v->type == EB_SQL_VINT)
        return bind_int(o, h, i, v->i, err);
    if (v->type == EB_SQL_VTEXT)
        return bind_text(o, h, i, v->s, v->len, err);
    return bind_null(o, h, i, err);
}

/* Executes prepared statement h (parameters bound); *changed gets the rows it changed. */
static eb_rc execute(struct odbc_adapter *o, SQLHSTMT h, const char *what, int64_t *changed,
                     struct eb_err *err)
{
    SQLRETURN r = SQLExecute(h);
    if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA) {
        eb_rc rc = fail(o, SQL_HANDLE_STMT, h, what, err);
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
    if ((!update && (rc = bind_str(o, h, 0, rec->push_id, err))) ||
        (rc = bind_str(o, h, b + 1, rec->event, err)) ||
        (rc = bind_str(o, h, b + 2, rec->triggered_at, err)) ||
        (rc = bind_int(o, h, b + 3, received_at, err)) ||
        (rc = rec->has_application_id ? bind_int(o, h, b + 4, rec->application_id, err)
                                      : bind_null(o, h, b + 4, err)) ||
        (rc = rec->has_candidate_id ? bind_int(o, h, b + 5, rec->candidate_id, err)
                                    : bind_null(o, h, b + 5, err)) ||
        (rc = bind_str(o, h, b + 6, eb_outcome_name(outcome), err)) ||
        (rc = bind_str(o, h, b + 7, rec->message, err)) ||
        (rc = bind_text(o, h, b + 8, rec->payload, rec->payload_len, err)) ||
        (rc = bind_bytes(o, h, b + 9, rec->raw, rec->raw_len, err)))
        return rc;
    if (update)
        rc = bind_str(o, h, N_LOG_COLUMNS - 1, rec->push_id, err);
    return rc;
}

/* ---- reading ----------------------------------------------------------------------------- */

/* Reads column col of the current row into *out (malloc'd and NUL-terminated; NULL for SQL
 * NULL) in chunks: as text (wide: the driver's UTF-16, converted to UTF-8) or as bytes. */
static eb_rc get_data(struct odbc_adapter *o, SQLHSTMT h, int col, int wide, char **out,
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
            return fail(o, SQL_HANDLE_STMT, h, "reading", err);
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

static eb_rc get_text(struct odbc_adapter *o, SQLHSTMT h, int col, char **out, size_t *out_len,
                      struct eb_err *err)
{
    return get_data(o, h, col, 1, out, out_len, err);
}

static eb_rc get_int(struct odbc_adapter *o, SQLHSTMT h, int col, int64_t *v, int *is_null,
                     struct eb_err *err)
{
    SQLBIGINT x = 0;
    SQLLEN ind = 0;
    if (!SQL_SUCCEEDED(SQLGetData(h, (SQLUSMALLINT)col, SQL_C_SBIGINT, &x, sizeof x, &ind)))
        return fail(o, SQL_HANDLE_STMT, h, "reading", err);
    *is_null = ind == SQL_NULL_DATA;
    *v = *is_null ? 0 : (int64_t)x;
    return EB_OK;
}

static enum eb_outcome outcome_from(const char *text)
{
    if (text && strcmp(text, "stored") == 0)
        return EB_OUTCOME_STORED;
    if (text && strcmp(text, "rejected") == 0)
        return EB_OUTCOME_REJECTED;
    return EB_OUTCOME_FAILED;
}

/* Reads push_id's push_log row: *found (0: none), its outcome and message (into message, when
 * not NULL). */
static eb_rc find_log(struct odbc_adapter *o, const char *push_id, int *found,
                      enum eb_outcome *outcome, char *message, size_t message_size,
                      struct eb_err *err)
{
    SQLHSTMT h = o->st[ST_FIND_LOG];
    eb_rc rc = bind_str(o, h, 0, push_id, err);
    *found = 0;
    if (rc)
        return rc;
    if (!SQL_SUCCEEDED(SQLExecute(h)))
        return fail(o, SQL_HANDLE_STMT, h, "reading push_log", err);
    SQLRETURN r = SQLFetch(h);
    if (SQL_SUCCEEDED(r)) {
        char *oc = NULL, *msg = NULL;
        if (!(rc = get_text(o, h, 1, &oc, NULL, err)) &&
            !(rc = get_text(o, h, 2, &msg, NULL, err))) {
            *found = 1;
            *outcome = outcome_from(oc);
            if (message)
                snprintf(message, message_size, "%s", msg ? msg : "");
        }
        free(oc);
        free(msg);
    } else if (r != SQL_NO_DATA) {
        rc = fail(o, SQL_HANDLE_STMT, h, "reading push_log", err);
    }
    SQLFreeStmt(h, SQL_CLOSE);
    return rc;
}

/* Records rec (with outcome) in push_log: an update of an existing row, else an insert. */
static eb_rc put_log(struct odbc_adapter *o, int exists, const struct eb_push_record *rec,
                     enum eb_outcome outcome, int64_t at, struct eb_err *err)
{
    SQLHSTMT h = o->st[exists ? ST_UPDATE_LOG : ST_INSERT_LOG];
    eb_rc rc = bind_log(o, h, exists, rec, outcome, at, err);
    return rc ? rc : execute(o, h, "push_log", NULL, err);
}

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
    rollback(o);
    return v;
}

/* Creates the schema (with a mapping: ehrbridge's own tables only) in one transaction. */
static eb_rc create_schema(struct odbc_adapter *o, struct eb_err *err)
{
    const struct eb_sql_schema *sc = o->schema;
    eb_rc rc = EB_OK;
    for (size_t i = 0; !rc && i < sc->n_tables; i++)
        if (!o->base.mapping || sc->tables[i].role == EB_SQL_ROLE_META)
            rc = exec_ddl(o, sc->tables[i].create_sql, "creating the schema", err);
    /* the last DDL statements are push_log's indexes */
    for (size_t i = sc->n_ddl - sc->n_log_ddl; !rc && i < sc->n_ddl; i++)
        rc = exec_ddl(o, sc->ddl[i], "creating the schema", err);
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO \"schema_version\" (\"version\") VALUES (%d)",
             EB_SQL_SCHEMA_VERSION);
    if (!rc)
        rc = exec_direct(o, sql, "creating the schema", err);
    if (!rc)
        rc = end_tran(o, 1, err);
    if (rc)
        rollback(o);
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
            rc = exec_ddl(o, mig[i], "migrating the schema", err);
        char sql[96];
        snprintf(sql, sizeof sql, "UPDATE \"schema_version\" SET \"version\" = %d",
                 EB_SQL_SCHEMA_VERSION);
        if (!rc)
            rc = exec_direct(o, sql, "migrating the schema", err);
        if (!rc)
            rc = end_tran(o, 1, err);
        if (rc) {
            rollback(o);
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
        if ((rc = exec_direct(o, o->itv.ddl[i], "creating the interview tables", err)) ||
            (rc = end_tran(o, 1, err))) {
            rollback(o);
            return rc;
        }
    }
    if ((rc = exec_direct(o, o->wsql.ddl, "creating push_warning", err)) ||
        (rc = end_tran(o, 1, err))) {
        rollback(o);
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
    if ((rc = prepare(o, "SELECT \"outcome\", \"message\" FROM \"push_log\" WHERE \"push_id\" = ?",
                      &o->st[ST_FIND_LOG], "preparing push_log", err)) ||
        (rc = prepare(o, log->insert_sql, &o->st[ST_INSERT_LOG], "preparing push_log", err)) ||
        (rc = prepare(o, o->update_log_sql, &o->st[ST_UPDATE_LOG], "preparing push_log", err)) ||
        (rc = prepare(o, "SELECT max(\"version\") FROM \"schema_version\"", &o->st[ST_VERSION],
                      "preparing", err)))
        return rc;
    for (size_t t = 0; !rc && t < EB_ITV_N_TABLES; t++)
        if (!(rc = prepare(o, o->itv.insert[t], &o->itv_ins[t], o->itv.name[t], err)))
            rc = prepare(o, o->itv.remove[t], &o->itv_del[t], o->itv.name[t], err);
    if (!rc && !(rc = prepare(o, o->wsql.insert, &o->warn_ins, "push_warning", err)))
        rc = prepare(o, o->wsql.remove, &o->warn_del, "push_warning", err);
    if (rc)
        return rc;
    if (o->base.mapping) {
        rc = prepare(o,
                     "SELECT \"received_at\", \"push_id\" FROM \"push_log\" WHERE"
                     " \"application_id\" = ? AND \"outcome\" = 'stored' ORDER BY"
                     " \"received_at\" DESC",
                     &o->st[ST_CURRENT], "preparing", err);
        for (size_t i = 0; !rc && i < o->map_sql->n_tables; i++) {
            const struct eb_mapping_table_sql *t = &o->map_sql->tables[i];
            char what[160];
            snprintf(what, sizeof what, "mapping: table %.100s",
                     eb_mapping_table_name(o->base.mapping, i));
            if ((rc = exec_direct(o, t->probe_sql, what, err))) {
                rollback(o);
                break;
            }
            rollback(o);
            const char *text[3] = {t->update_sql, t->insert_sql, t->remove_sql};
            for (int k = 0; !rc && k < 3; k++)
                if (text[k])
                    rc = prepare(o, text[k], &o->map_st[i * 3 + (size_t)k], what, err);
        }
        return rc;
    }
    if ((rc = prepare(o, o->update_cand_sql, &o->st[ST_UPDATE_CAND], "preparing candidate", err)) ||
        (rc = prepare(o,
                      "SELECT l.\"received_at\", c.\"last_push_id\" FROM \"candidate\" c JOIN"
                      " \"push_log\" l ON l.\"push_id\" = c.\"last_push_id\" WHERE"
                      " c.\"application_id\" = ?",
                      &o->st[ST_CURRENT], "preparing", err)))
        return rc;
    for (size_t i = sc->candidate; !rc && i < sc->n_tables; i++) {
        const struct eb_sql_table *t = &sc->tables[i];
        if (!(rc = prepare(o, t->insert_sql, &o->ins[i], t->name, err)) &&
            t->role == EB_SQL_ROLE_CHILD)
            rc = prepare(o, t->delete_sql, &o->del[i], t->name, err);
    }
    return rc;
}

/* Connects when there is no connection: manual commit, the DBMS, the schema (first time),
 * the statements. */
static eb_rc ensure_connected(struct odbc_adapter *o, struct eb_err *err)
{
    if (o->connected)
        return EB_OK;
    disconnect(o);
    if (o->retry_at_ms && eb_mono_ms() < o->retry_at_ms)
        return eb_err_set(err, o->down.rc, "%s", o->down.msg);
    o->retry_at_ms = 0;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, o->env, &o->dbc)))
        return fail(o, SQL_HANDLE_ENV, o->env, "allocating a connection", err);
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
        eb_rc rc = fail(o, SQL_HANDLE_DBC, o->dbc, "cannot connect", err);
        /* a missing driver or data source is a configuration error, not an outage */
        if (!strncmp(o->state, "IM", 2))
            rc = err->rc = EB_ERR_CONFIG;
        else
            rc = err->rc = EB_ERR_UNAVAILABLE;
        disconnect(o);
        eb_err_set(&o->down, rc, "%s", err->msg);
        o->retry_at_ms = eb_mono_ms() + RECONNECT_PAUSE_MS;
        return rc;
    }
    o->connected = 1;
    eb_rc rc = EB_OK;
    if (!SQL_SUCCEEDED(SQLSetConnectAttr(o->dbc, SQL_ATTR_AUTOCOMMIT,
                                         (SQLPOINTER)(uintptr_t)SQL_AUTOCOMMIT_OFF, 0))) {
        rc = fail(o, SQL_HANDLE_DBC, o->dbc, "turning autocommit off", err);
        goto fail;
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
            goto fail;
        size_t nt = o->schema->n_tables;
        if (!(o->ins = calloc(nt, sizeof *o->ins)) || !(o->del = calloc(nt, sizeof *o->del)) ||
            (o->map_sql && !(o->map_st = calloc(o->map_sql->n_tables * 3, sizeof *o->map_st)))) {
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
            goto fail;
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
            goto fail;
        }
        const struct eb_sql_table *c = &o->schema->tables[o->schema->candidate];
        size_t cap = 64 * c->n_columns + 64;
        char *u = malloc(cap);
        if (!u) {
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
            goto fail;
        }
        k = (size_t)snprintf(u, cap, "UPDATE \"candidate\" SET ");
        for (size_t i = 1; i < c->n_columns; i++)
            k += (size_t)snprintf(u + k, cap - k, "%s\"%s\" = ?", i > 1 ? ", " : "",
                                  c->columns[i].name);
        snprintf(u + k, cap - k, " WHERE \"application_id\" = ?");
        o->update_cand_sql = u;
    }
    if (o->is_mysql && ((rc = exec_direct(o,
                                          "SET SESSION sql_mode = "
                                          "CONCAT(@@SESSION.sql_mode, ',ANSI_QUOTES')",
                                          "setting ANSI quotes", err)) ||
                        (rc = end_tran(o, 1, err))))
        goto fail;
    if (!o->schema_checked) {
        if ((rc = ensure_schema(o, err)) || (o->is_mysql && (rc = check_matched_rows(o, err))))
            goto fail;
        o->schema_checked = 1;
    }
    if ((rc = prepare_all(o, err)))
        goto fail;
    return EB_OK;
fail:
    disconnect(o);
    return rc;
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
        pthread_mutex_unlock(&sqlite_lock);
    o->in_tx = 0;
    disconnect(o);
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
    return ensure_connected(o, err);
}

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
            rc = bind_value(o, u, (int)i - 1, &v[i], err);
        if (rc || (rc = bind_value(o, u, (int)t->n_columns - 1, &v[0], err)) ||
            (rc = execute(o, u, "candidate", &changed, err)) || changed > 0)
            return rc;
    }
    SQLHSTMT h = o->ins[t->index];
    for (size_t i = 0; !rc && i < t->n_columns; i++)
        rc = bind_value(o, h, (int)i, &v[i], err);
    return rc ? rc : execute(o, h, t->name, NULL, err);
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
        rc = bind_value(o, h, (int)i, &v[i], err);
    return rc ? rc : execute(o, h, eb_mapping_table_name(o->base.mapping, table), changed, err);
}

/* The push id's push_warning rows replaced by p's (sql/warning_sql.h). */
static eb_rc write_warnings(struct odbc_adapter *o, const struct eb_push *p, const char *push_id,
                            struct eb_err *err)
{
    if (p->keep_warnings)
        return EB_OK;
    eb_rc rc = bind_str(o, o->warn_del, 0, push_id, err);
    if (!rc)
        rc = execute(o, o->warn_del, "push_warning", NULL, err);
    for (size_t i = 0; !rc && i < p->n_warnings; i++) {
        struct eb_sql_value v[EB_WARNING_SQL_COLUMNS];
        eb_warning_sql_values(p, push_id, i, v);
        for (int k = 0; !rc && k < EB_WARNING_SQL_COLUMNS; k++)
            rc = bind_value(o, o->warn_ins, k, &v[k], err);
        if (!rc)
            rc = execute(o, o->warn_ins, "push_warning", NULL, err);
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
        if (!(rc = bind_int(o, h, 0, p->data->application_id.v, err)))
            rc = execute(o, h, children[i].name, NULL, err);
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
        rc = bind_value(o, o->itv_ins[t], (int)i, &v[i], err);
    return rc ? rc : execute(o, o->itv_ins[t], o->itv.name[t], NULL, err);
}

/* What the last failure says about a new try: contention (SQLSTATE 23xxx from a concurrent
 * claim, 40001, 40P01, a locked SQLite) and a connection that broke under a transaction begun
 * on an open one may pass; the record itself (EB_ERR_INVALID) or memory never. Returns rc. */
static eb_rc noted(struct odbc_adapter *o, eb_rc rc)
{
    int lost = lost_state(o->state);
    o->retry =
        rc != EB_ERR_INVALID && rc != EB_ERR_NOMEM &&
        (!strncmp(o->state, "23", 2) || !strcmp(o->state, "40001") || !strcmp(o->state, "40P01") ||
         (lost && o->tx_had) || (o->is_sqlite && rc == EB_ERR_UNAVAILABLE && !lost));
    return rc;
}

static void tx_end(struct odbc_adapter *o)
{
    if (o->in_tx && o->is_sqlite)
        pthread_mutex_unlock(&sqlite_lock);
    o->in_tx = 0;
}

/* The connection is in manual-commit mode: the transaction begins with its first statement.
 * Writes to SQLite through ODBC take the process's SQLite lock until the transaction ends. */
static eb_rc od_begin(struct eb_adapter *a, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    o->tx_had = o->connected;
    o->retry = 0;
    eb_rc rc = ensure_connected(o, err);
    if (rc)
        return rc;
    o->state[0] = '\0';
    if (o->is_sqlite)
        pthread_mutex_lock(&sqlite_lock);
    o->in_tx = 1;
    return EB_OK;
}

static void od_rollback(struct eb_adapter *a)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    if (lost_state(o->state))
        disconnect(o);
    else
        rollback(o);
    tx_end(o);
}

static eb_rc od_commit(struct eb_adapter *a, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    eb_rc rc = o->connected ? end_tran(o, 1, err)
                            : eb_err_set(err, EB_ERR_UNAVAILABLE, "odbc: not connected");
    if (rc) {
        noted(o, rc);
        od_rollback(a);
        return rc;
    }
    tx_end(o);
    return EB_OK;
}

static int od_in_transaction(struct eb_adapter *a)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    return o->connected && o->in_tx;
}

static eb_rc od_savepoint(struct eb_adapter *a, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    return noted(o, exec_direct(o, "SAVEPOINT eb_push", "SAVEPOINT", err));
}

static eb_rc od_release(struct eb_adapter *a, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    return noted(o, exec_direct(o, "RELEASE SAVEPOINT eb_push", "RELEASE", err));
}

/* A driver that rolled the whole transaction back on the error (psqlODBC may) has no savepoint
 * left: this fails, and the bridge writes the batch again. */
static eb_rc od_rollback_to(struct eb_adapter *a, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    eb_rc rc = exec_direct(o, "ROLLBACK TO SAVEPOINT eb_push", "ROLLBACK TO", err);
    return rc ? rc : exec_direct(o, "RELEASE SAVEPOINT eb_push", "RELEASE", err);
}

static eb_rc od_log_get(struct eb_adapter *a, const char *push_id, struct eb_log_state *out,
                        struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    return noted(o, find_log(o, push_id, &out->found, &out->outcome, out->message,
                             sizeof out->message, err));
}

/* The SQL is portable (no upsert): the row is read, then updated or inserted. A claim by
 * another replica of the same id meets the primary key (SQLSTATE 23xxx): retryable. */
static eb_rc od_log_put(struct eb_adapter *a, const struct eb_push_record *rec,
                        enum eb_outcome outcome, int64_t received_at, int claim, int *written,
                        struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    int found = 0;
    enum eb_outcome cur = EB_OUTCOME_FAILED;
    eb_rc rc = find_log(o, rec->push_id, &found, &cur, NULL, 0, err);
    if (written)
        *written = 0;
    if (rc || (claim && found && cur != EB_OUTCOME_FAILED))
        return noted(o, rc);
    if (!(rc = put_log(o, found, rec, outcome, received_at, err)) && written)
        *written = 1;
    return noted(o, rc);
}

static eb_rc od_candidate_write(struct eb_adapter *a, const struct eb_push *p, const char *push_id,
                                int64_t updated_at, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    return noted(o, write_candidate(o, p, push_id, updated_at, err));
}

static eb_rc od_candidate_last(struct eb_adapter *a, int64_t app_id, struct eb_candidate_last *out,
                               struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    SQLHSTMT h = o->st[ST_CURRENT];
    eb_rc rc = bind_int(o, h, 0, app_id, err);
    out->found = 0;
    out->push_id = NULL;
    if (rc)
        return noted(o, rc);
    if (!SQL_SUCCEEDED(SQLExecute(h)))
        return noted(o, fail(o, SQL_HANDLE_STMT, h, "reading the candidate's last push", err));
    SQLRETURN r = SQLFetch(h);
    if (SQL_SUCCEEDED(r)) {
        int is_null = 0;
        if (!(rc = get_int(o, h, 1, &out->received_at_ms, &is_null, err)) &&
            !(rc = get_text(o, h, 2, &out->push_id, NULL, err)))
            out->found = !is_null;
    } else if (r != SQL_NO_DATA) {
        rc = fail(o, SQL_HANDLE_STMT, h, "reading the candidate's last push", err);
    }
    SQLFreeStmt(h, SQL_CLOSE);
    return noted(o, rc);
}

static eb_rc od_interview_apply(struct eb_adapter *a, const struct eb_interview_event *ev,
                                const char *push_id, int64_t at, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    eb_rc rc = EB_OK;
    for (size_t i = 0; !rc && i < ev->interviews_n; i++) {
        const struct eb_interview *iv = &ev->interviews[i];
        for (size_t t = EB_ITV_N_TABLES; !rc && t-- > 0;)
            if (!(rc = bind_str(o, o->itv_del[t], 0, iv->event_id, err)))
                rc = execute(o, o->itv_del[t], o->itv.name[t], NULL, err);
        if (!rc && ev->kind != EB_INTERVIEW_DELETE)
            rc = eb_interview_sql_rows(ev, iv, push_id, at, interview_row, o, err);
    }
    return noted(o, rc);
}

static int od_retryable(struct eb_adapter *a)
{
    return ((struct odbc_adapter *)a)->retry;
}

/* Connections with the same connection string share a writer. */
static int od_share(struct eb_adapter *a, struct eb_adapter_share *out)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    int n = snprintf(out->key, sizeof out->key, "%s", o->conn_str);
    if (n < 0 || (size_t)n >= sizeof out->key)
        return 0; /* too long to compare: no sharing */
    out->wait_ms = 30000;
    return 1;
}

static eb_rc od_ping(struct eb_adapter *a, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    eb_rc rc = ensure_connected(o, err);
    if (rc)
        return rc;
    SQLHSTMT h = o->st[ST_VERSION];
    int64_t v = 0;
    int is_null = 0;
    if (!SQL_SUCCEEDED(SQLExecute(h)) || !SQL_SUCCEEDED(SQLFetch(h))) {
        rc = fail(o, SQL_HANDLE_STMT, h, "reading schema_version", err);
        SQLFreeStmt(h, SQL_CLOSE);
        rollback(o);
        if (lost_state(o->state))
            disconnect(o);
        return rc;
    }
    rc = get_int(o, h, 1, &v, &is_null, err);
    SQLFreeStmt(h, SQL_CLOSE);
    rollback(o);
    return rc ? rc : eb_sqlgen_check_version(v, err);
}

/* Reads push_id's whole push_log row and hands it to fn (its own short transaction). */
static eb_rc list_one(struct odbc_adapter *o, SQLHSTMT h, const char *push_id, eb_logged_push_fn fn,
                      void *user, struct eb_err *err)
{
    eb_rc rc = bind_str(o, h, 0, push_id, err);
    if (rc)
        return rc;
    if (!SQL_SUCCEEDED(SQLExecute(h)))
        return fail(o, SQL_HANDLE_STMT, h, "listing push_log", err);
    SQLRETURN r = SQLFetch(h);
    if (r == SQL_NO_DATA) { /* gone meanwhile */
        SQLFreeStmt(h, SQL_CLOSE);
        return EB_OK;
    }
    if (!SQL_SUCCEEDED(r)) {
        rc = fail(o, SQL_HANDLE_STMT, h, "listing push_log", err);
        SQLFreeStmt(h, SQL_CLOSE);
        return rc;
    }
    char *ev = NULL, *trig = NULL, *oc = NULL, *msg = NULL, *pay = NULL, *raw = NULL;
    size_t pay_len = 0, raw_len = 0;
    int64_t at = 0;
    int is_null = 0;
    if (!(rc = get_text(o, h, 1, &ev, NULL, err)) && !(rc = get_text(o, h, 2, &trig, NULL, err)) &&
        !(rc = get_int(o, h, 3, &at, &is_null, err)) && !(rc = get_text(o, h, 4, &oc, NULL, err)) &&
        !(rc = get_text(o, h, 5, &msg, NULL, err)) &&
        !(rc = get_text(o, h, 6, &pay, &pay_len, err)) &&
        !(rc = get_data(o, h, 7, 0, &raw, &raw_len, err))) {
        SQLFreeStmt(h, SQL_CLOSE);
        rollback(o); /* no lock held while fn runs (it may write through another connection) */
        struct eb_logged_push row = {
            .push_id = push_id,
            .event = ev,
            .triggered_at = trig,
            .received_at_ms = at,
            .outcome = outcome_from(oc),
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
static eb_rc od_list_pushes(struct eb_adapter *a, const struct eb_push_filter *f,
                            eb_logged_push_fn fn, void *user, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    eb_rc rc = ensure_connected(o, err);
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
    if ((rc = prepare(o, l.sql, &h, "listing push_log", err)) ||
        (rc = prepare(o,
                      "SELECT \"event\", \"triggered_at\", \"received_at\", \"outcome\","
                      " \"message\", \"payload\", \"raw\" FROM \"push_log\" WHERE \"push_id\" = ?",
                      &row, "listing push_log", err)))
        goto out;
    for (size_t i = 0; i < l.n_param; i++)
        if ((rc = bind_value(o, h, (int)i, &l.param[i], err)))
            goto out;
    if (!SQL_SUCCEEDED(SQLExecute(h))) {
        rc = fail(o, SQL_HANDLE_STMT, h, "listing push_log", err);
        goto out;
    }
    for (;;) {
        SQLRETURN r = SQLFetch(h);
        if (r == SQL_NO_DATA)
            break;
        char *id = NULL;
        if (!SQL_SUCCEEDED(r)) {
            rc = fail(o, SQL_HANDLE_STMT, h, "listing push_log", err);
            break;
        }
        if ((rc = get_text(o, h, 1, &id, NULL, err)))
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
    rollback(o);
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
    rollback(o);
    if (rc && lost_state(o->state))
        disconnect(o);
    return rc;
}

/* Retention on ODBC: every DBMS spells a bounded batch differently (LIMIT, TOP, FETCH FIRST), so
 * one statement clears every push_log row past the limit (after the warnings' values), in one
 * transaction. */
static eb_rc od_purge_payloads(struct eb_adapter *a, int64_t before_ms, unsigned max_rows,
                               int64_t *purged, struct eb_err *err)
{
    struct odbc_adapter *o = (struct odbc_adapter *)a;
    struct eb_pushread_sql sql;
    SQLHSTMT h = NULL;
    (void)max_rows;
    eb_rc rc = ensure_connected(o, err);
    if (rc)
        return rc;
    int64_t n = 0;
    if ((rc = eb_pushread_purge_warnings(&o->dialect, before_ms, &sql, err)))
        return rc;
    if (!(rc = prepare(o, sql.sql, &h, "purging push_warning", err)) &&
        !(rc = bind_int(o, h, 0, before_ms, err)))
        rc = execute(o, h, "purging push_warning", &n, err);
    free_stmt(&h);
    eb_pushread_free(&sql);
    if (!rc && !(rc = eb_pushread_purge(&o->dialect, before_ms, 0, &sql, err)) &&
        !(rc = prepare(o, sql.sql, &h, "purging push_log", err)) &&
        !(rc = bind_int(o, h, 0, before_ms, err)) &&
        !(rc = execute(o, h, "purging push_log", purged, err)))
        rc = end_tran(o, 1, err);
    if (rc) {
        rollback(o);
        if (lost_state(o->state))
            disconnect(o);
    }
    free_stmt(&h);
    eb_pushread_free(&sql);
    return rc;
}

const struct eb_adapter_methods eb_adapter_odbc = {
    .version = 3,
    .name = "odbc",
    .scheme = "odbc",
    .instance_size = sizeof(struct odbc_adapter),
    .open = od_open,
    .close = od_close,
    .ping = od_ping,
    .list_pushes = od_list_pushes,
    .begin = od_begin,
    .commit = od_commit,
    .rollback = od_rollback,
    .in_transaction = od_in_transaction,
    .savepoint = od_savepoint,
    .release = od_release,
    .rollback_to = od_rollback_to,
    .log_get = od_log_get,
    .log_put = od_log_put,
    .candidate_write = od_candidate_write,
    .candidate_last = od_candidate_last,
    .interview_apply = od_interview_apply,
    .retryable = od_retryable,
    .share = od_share,
    .purge_payloads = od_purge_payloads,
};

/* The PostgreSQL adapter (eb_adapter_postgres, libpq) for
 *   postgresql://user:pass@host:port/db?sslmode=...   any libpq URI (also postgres://)
 *   postgresql:host=... port=... dbname=... user=...  a libpq key=value string (also postgres:)
 * plus one option of ehrbridge's own, given in the query (URI) or as a key (key=value):
 *   statement_timeout=N[ms|s|min]  (default 10s; 0 = none) the longest one statement may run,
 *                                   including waits for locks held by another replica.
 * Defaults that the URL may override: connect_timeout=5, TCP keepalives, tcp_user_timeout=30000,
 * application_name=ehrbridge; client_encoding is always UTF8.
 *
 * One instance is one connection (the service opens one per worker). Opening creates or migrates
 * the default schema (sql/sqlgen.c) in one transaction under a transaction-level advisory
 * lock, so that replicas starting together do not race; a schema newer than this binary is
 * refused. Every statement is prepared once per connection.
 *
 * Several processes may share the database; the database, not the process, keeps a push id stored
 * once and a candidate whole. The adapter offers the primitives of adapter.h (table version 4);
 * the bridge writes the push rules with them, one READ COMMITTED transaction per batch of pushes
 * (group commit, each push in its own savepoint after a failure), sent as a libpq pipeline (a
 * few round trips instead of one per row):
 *   1. the claim, INSERT INTO push_log ... ON CONFLICT (push_id) DO UPDATE ... WHERE outcome =
 *      'failed' RETURNING push_id and whether the candidate row exists: a concurrent transaction
 *      holding the same id makes this wait for its end; when the id is then recorded with a
 *      final outcome nothing is returned;
 *   2. the candidate row upsert: takes the row lock on the applicationId, so that two pushes for
 *      one candidate replace it one after the other, never interleaved;
 *   3. one statement deleting the candidate's rows from every child table (data-modifying CTEs);
 *      for a candidate whose row did not exist at the claim (the usual push), 2 and 3 are one
 *      INSERT ... ON CONFLICT DO NOTHING RETURNING 1 instead, checked: when it inserts nothing,
 *      or a child row's key is taken, the write is rolled back and done again with 2 and 3
 *      (pg_candidate_write);
 *   4. the new child rows (consecutive rows of one table, from MANY_MIN, in one INSERT ...
 *      SELECT FROM unnest(one array per column)); then, with the document archive, the record's
 *      download links as
 *      pending attachment rows; 5. COMMIT (durable: synchronous_commit is the server's, on by
 *      default).
 * Serialization failures and deadlocks are retryable (pg_retryable): the bridge tries again.
 *
 * Interview events claim their push id the same way; each interview then takes a
 * transaction-level advisory lock on its event_id (two replicas replacing one interview take
 * turns), deletes the event_id's rows and, unless the event is a delete, inserts the new ones.
 * Their tables are created with the schema (IF NOT EXISTS, under the schema lock), also in a
 * database made before them.
 *
 * The attachment queue (attachment, attachment_chunk; created the same way) is claimed across
 * replicas with FOR UPDATE SKIP LOCKED and a lease that lapses when a replica dies.
 *
 * A lost connection (database restart, network) is noticed when a statement fails or PQstatus is
 * CONNECTION_BAD: the connection is dropped and the next call (a transaction's begin, a ping from
 * GET /readyz) connects again and prepares its statements again. A transaction whose connection
 * broke under it is retryable; its push id makes that safe (had the commit happened, the retry
 * finds it recorded and answers from the record). While the database is down
 * calls fail with EB_ERR_UNAVAILABLE. Passwords never appear in messages. */
#include <ctype.h>
#include <libpq-fe.h>
#include <stdint.h>
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
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"

/* Default statement_timeout (ms). */
#define STATEMENT_TIMEOUT_MS 10000
/* Statements sent into the pipeline before their results are read. */
#define PIPELINE_CHUNK 256
/* Consecutive child rows of one table sent as one INSERT ... SELECT FROM unnest(arrays) from
 * this many (fewer: one INSERT each), and at most this many in one statement. */
#define MANY_MIN 4
#define MANY_MAX 1000
/* Room for waiting child rows (values) kept from one push to the next. */
#define PEND_KEEP 4096
/* pg_advisory_xact_lock(bigint) key of schema creation ("ehrbridg"). */
#define SCHEMA_LOCK_KEY 0x6568726272696467LL
/* First key of pg_advisory_xact_lock(int, int) of an interview: (this, hashtext(event_id)). */
#define INTERVIEW_LOCK_SPACE 1701147234
/* First key of pg_advisory_xact_lock(int, int) of a candidate written through a mapping:
 * (this, hashtext(applicationId)): the mapped tables need not have a unique key to lock. */
#define MAPPED_LOCK_SPACE 1835101284
/* The oldest server: INSERT ... ON CONFLICT. */
#define MIN_SERVER_VERSION 90500
/* After a failed connect, calls fail at once for this long (ms), so that a push and its
 * its "failed" record do not each wait out connect_timeout on an unreachable host. */
#define RECONNECT_PAUSE_MS 500
/* Type OIDs of the parameters (pg_type.h). */
#define BYTEAOID 17
#define INT8OID  20
#define TEXTOID  25
/* and of their arrays */
#define BYTEAARRAYOID 1001
#define TEXTARRAYOID  1009
#define INT8ARRAYOID  1016
/* Connection parameters given to PQconnectdbParams. */
#define MAX_CONN_PARAMS 12

/* The first failure of a call: SQLSTATE and a one-line description (no password, no values). */
struct pg_fail {
    int set;          /* 1 once a failure is recorded */
    char state[6];    /* SQLSTATE, "" when libpq gave none (connection failures) */
    char detail[200]; /* one line */
};

/* One instance: one connection, and what it takes to connect again and prepare again. */
struct pg_adapter {
    struct eb_adapter base; /* first member: the adapter table */
    PGconn *conn;           /* the connection; NULL while not connected */
    char *conninfo;         /* the URI or key=value string given to libpq */
    char *secret[2];        /* the password as written and as decoded (scrubbed from text) */
    const char *keys[MAX_CONN_PARAMS + 1]; /* PQconnectdbParams keywords, NULL-terminated */
    const char *vals[MAX_CONN_PARAMS + 1]; /* and values */
    long timeout_ms;                       /* statement_timeout */
    int schema_checked;                    /* 1 once the schema is known to be this binary's */
    int64_t retry_at_ms;          /* after a failed connect: no new try before (monotonic ms) */
    struct eb_err down;           /* and the error of that connect, answered until then */
    struct eb_sql_schema *schema; /* the default schema in PostgreSQL's dialect */
    char *claim_sql;              /* push_log upsert over 'failed' rows only, RETURNING push_id
                                     * and, with the default tables, whether the candidate row of
                                     * its application_id exists */
    char *failure_sql;            /* push_log upsert over 'failed' rows only */
    char *purge_sql;              /* deletes one application_id from every child table */
    char *fresh_sql;              /* the candidate row's INSERT ... ON CONFLICT DO NOTHING
                                     * RETURNING 1: the row of a candidate thought new */
    char **many_sql; /* per table index: a child table's INSERT ... SELECT FROM unnest($1, ...)
                      * of one array per column; NULL for the other tables */
    const struct eb_sql_table *pend_t; /* the child table of the rows waiting in pend */
    struct eb_sql_value *pend;         /* child rows waiting to be sent, pend_t's columns each */
    size_t pend_n, pend_cap;           /* rows waiting, and room in pend (values) */
    char *probe_sql;                   /* schema_version there? an interview table missing? */
    char *put_sql;                     /* push_log upsert over any row */
    struct eb_mapping_sql *map_sql;    /* --mapping: the mapped tables' statement text */
    struct eb_interview_sql itv;       /* the interview tables' statement text */
    struct eb_warning_sql wsql;        /* push_warning's statement text */
    int queued;                        /* statements sent in the pipeline since its last sync */
    int row_sends;                     /* rows sent since the last pipeline sync */
    struct pg_fail fail;               /* the first failure of the current call */
    int tx_had_conn;                   /* the transaction began on a connection already open */
    int retry;                         /* the last failure may pass on a new try (retryable) */
    int att_ready;                     /* 1 once the attachment tables are known to exist */
    /* The claim's word on the candidate to be written next (pg_log_put, pg_candidate_write) */
    int hint_set;         /* 1: hint_app and hint_exists are from this transaction's last claim */
    int hint_exists;      /* the candidate row of hint_app existed when the claim ran */
    int64_t hint_app;     /* the claim's application_id */
    int fresh;            /* the candidate being written is sent as new: no purge */
    int watch_at;         /* 1 + the index (since the last sync) of the statement whose result
                            * pipeline_sync keeps in watched; 0: none */
    PGresult *watched;    /* that result (caller clears) */
    int64_t purge_app[8]; /* applicationIds always purged: a write as new found rows there */
    unsigned n_purge_app; /* entries written to purge_app (ring) */
    /* one statement's parameters, filled by bind_* and used by send_prepared */
    const char *pv[EB_SQL_MAX_COLUMNS]; /* values */
    int pl[EB_SQL_MAX_COLUMNS];         /* lengths */
    int pf[EB_SQL_MAX_COLUMNS];         /* formats: all binary */
    char ib[EB_SQL_MAX_COLUMNS][8];     /* big-endian integers */
    char *tmp[EB_SQL_MAX_COLUMNS];      /* cleaned copies of text that was not valid UTF-8 */
};

/* ---- text -------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid or NUL: the rules of
 * PostgreSQL's verifier (no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c == 0)
        return 0;
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* NULL when s[0..n) is valid UTF-8 without NUL; otherwise a malloc'd copy with every invalid
 * byte and NUL replaced by U+FFFD (*out_len set). PostgreSQL text can hold neither; text from
 * the parser is valid already, this only guards messages cut in a character. Sets *nomem on
 * allocation failure. */
static char *utf8_clean(const char *s, size_t n, size_t *out_len, int *nomem)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, k;
    while (i < n && (k = utf8_seq(u + i, n - i)) != 0)
        i += k;
    if (i == n)
        return NULL;
    char *r = malloc(n * 3 + 1);
    if (!r) {
        *nomem = 1;
        return NULL;
    }
    size_t o = 0;
    for (i = 0; i < n;) {
        k = utf8_seq(u + i, n - i);
        if (k) {
            memcpy(r + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(r + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    r[o] = '\0';
    *out_len = o;
    return r;
}

/* Copies src into dst (size n) as one line: whitespace runs become one space, ends trimmed,
 * every occurrence of the adapter's secrets replaced by "***". */
static void one_line(const struct pg_adapter *g, char *dst, size_t n, const char *src)
{
    size_t o = 0;
    int space = 0;
    if (!n)
        return;
    for (const char *p = src ? src : ""; *p && o + 1 < n;) {
        int matched = 0;
        for (int k = 0; k < 2 && !matched; k++) {
            const char *sec = g ? g->secret[k] : NULL;
            size_t sl = sec ? strlen(sec) : 0;
            if (sl >= 3 && strncmp(p, sec, sl) == 0) {
                if (space && o) {
                    dst[o++] = ' ';
                    space = 0;
                }
                for (const char *m = "***"; *m && o + 1 < n; m++)
                    dst[o++] = *m;
                p += sl;
                matched = 1;
            }
        }
        if (matched)
            continue;
        if (isspace((unsigned char)*p)) {
            space = 1;
        } else {
            if (space && o)
                dst[o++] = ' ';
            space = 0;
            if (o + 1 < n)
                dst[o++] = *p;
        }
        p++;
    }
    dst[o] = '\0';
}

/* ---- failures ---------------------------------------------------------------------------- */

static void note_fail(struct pg_adapter *g, const char *state, const char *what, const char *text)
{
    if (g->fail.set)
        return;
    char line[180];
    one_line(g, line, sizeof line, text);
    g->fail.set = 1;
    snprintf(g->fail.state, sizeof g->fail.state, "%s", state ? state : "");
    snprintf(g->fail.detail, sizeof g->fail.detail, "%s: %s", what, line[0] ? line : "failed");
}

/* Records the failure a result describes (or the connection's message when there is none). */
static void note_result(struct pg_adapter *g, const PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg || !*msg)
        msg = g->conn ? PQerrorMessage(g->conn) : "no connection";
    note_fail(g, state, what, msg);
}

static int connection_lost(const struct pg_adapter *g)
{
    return !g->conn || PQstatus(g->conn) == CONNECTION_BAD;
}

/* Class of a failure: 1 when retrying the transaction may succeed. */
static int retryable_state(const char *state)
{
    return !strcmp(state, "40001") || !strcmp(state, "40P01");
}

/* The eb_rc of the recorded failure, written into err. */
static eb_rc fail_rc(struct pg_adapter *g, struct eb_err *err)
{
    const char *s = g->fail.state;
    eb_rc rc = EB_ERR_DB;
    if (connection_lost(g) || !s[0] || !strncmp(s, "08", 2) || !strncmp(s, "53", 2) ||
        !strncmp(s, "57", 2) || !strncmp(s, "58", 2) || retryable_state(s))
        rc = EB_ERR_UNAVAILABLE; /* down, restarting, overloaded, timed out, contended */
    if (!strcmp(s, "42P01") || !strcmp(s, "42703"))
        rc = EB_ERR_DB; /* the schema is not the one this binary knows */
    return eb_err_set(err, rc, "postgres: %s%s%s%s", g->fail.detail, s[0] ? " (SQLSTATE " : "", s,
                      s[0] ? ")" : "");
}

/* ---- the connection ---------------------------------------------------------------------- */

static void disconnect(struct pg_adapter *g)
{
    if (g->conn) {
        PQfinish(g->conn);
        g->conn = NULL;
    }
    g->queued = 0;
}

/* Server notices ("relation ... already exists, skipping") are not for stderr. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Runs text that returns no rows outside a pipeline. */
static int exec_ok(struct pg_adapter *g, const char *sql, const char *what)
{
    PGresult *r = PQexec(g->conn, sql);
    int st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        note_result(g, r, what);
    PQclear(r);
    return ok;
}

/* ---- the pipeline ------------------------------------------------------------------------ */

/* Frees the cleaned copies of parameters that were bound but not sent. */
static void release_params(struct pg_adapter *g)
{
    for (size_t i = 0; i < EB_SQL_MAX_COLUMNS; i++) {
        free(g->tmp[i]);
        g->tmp[i] = NULL;
    }
}

static int pipeline_enter(struct pg_adapter *g)
{
    g->queued = 0;
    g->row_sends = 0;
    if (PQpipelineStatus(g->conn) == PQ_PIPELINE_ON || PQenterPipelineMode(g->conn) == 1)
        return 1;
    note_result(g, NULL, "entering pipeline mode");
    return 0;
}

/* Sends a statement with no parameters (BEGIN, COMMIT, ROLLBACK). */
static int send_text(struct pg_adapter *g, const char *sql)
{
    if (PQsendQueryParams(g->conn, sql, 0, NULL, NULL, NULL, NULL, 0) != 1) {
        note_result(g, NULL, sql);
        return 0;
    }
    g->queued++;
    return 1;
}

/* Sends prepared statement name with the n parameters in g->pv/pl/pf, then frees the cleaned
 * copies bind_text made. */
static int send_prepared(struct pg_adapter *g, const char *name, int n)
{
    int ok = PQsendQueryPrepared(g->conn, name, n, g->pv, g->pl, g->pf, 0) == 1;
    for (int i = 0; i < n; i++) {
        free(g->tmp[i]);
        g->tmp[i] = NULL;
    }
    if (!ok) {
        note_result(g, NULL, name);
        return 0;
    }
    g->queued++;
    return 1;
}

/* Sends a sync and reads the results of every statement queued since the last one. The result
 * of statement i (0-based since that sync) is handed to keep[i] when i < n_keep (caller clears;
 * NULL when the statement did not run). Returns 1 when every statement succeeded. */
static int pipeline_sync(struct pg_adapter *g, PGresult **keep, int n_keep)
{
    int ok = 1, n = g->queued, watch = g->watch_at - 1;
    for (int i = 0; i < n_keep; i++)
        keep[i] = NULL;
    g->queued = 0;
    g->watch_at = 0;
    g->row_sends = 0;
    if (PQpipelineSync(g->conn) != 1) {
        note_result(g, NULL, "pipeline sync");
        return 0;
    }
    for (int i = 0; i < n; i++) {
        PGresult *r;
        int got = 0;
        while ((r = PQgetResult(g->conn)) != NULL) {
            got = 1;
            int st = PQresultStatus(r);
            if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
                ok = 0;
                note_result(g, r, "statement");
            } else if (st == PGRES_PIPELINE_ABORTED) {
                ok = 0;
            }
            if (i < n_keep && !keep[i] && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK))
                keep[i] = r;
            else if (i == watch && !g->watched && st == PGRES_TUPLES_OK)
                g->watched = r;
            else
                PQclear(r);
        }
        if (!got && connection_lost(g)) {
            note_result(g, NULL, "reading results");
            return 0;
        }
    }
    PGresult *r = PQgetResult(g->conn);
    int st = r ? (int)PQresultStatus(r) : -1;
    PQclear(r);
    if (st != (int)PGRES_PIPELINE_SYNC) {
        note_result(g, NULL, "reading the pipeline's end");
        return 0;
    }
    return ok;
}

/* Leaves pipeline mode after a failure or at the end: reads what is still queued, ends an open
 * transaction, and drops the connection when it is broken. */
static void pipeline_leave(struct pg_adapter *g)
{
    release_params(g);
    g->hint_set = 0;
    if (!g->conn)
        return;
    if (PQpipelineStatus(g->conn) != PQ_PIPELINE_OFF) {
        if (g->queued && !connection_lost(g))
            pipeline_sync(g, NULL, 0);
        if (connection_lost(g) || PQexitPipelineMode(g->conn) != 1) {
            disconnect(g);
            return;
        }
    }
    if (!connection_lost(g) && PQtransactionStatus(g->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(g->conn, "ROLLBACK");
        PQclear(r);
    }
    if (connection_lost(g))
        disconnect(g);
}

/* ---- parameters -------------------------------------------------------------------------- */

static void bind_null(struct pg_adapter *g, int i)
{
    g->pv[i] = NULL;
    g->pl[i] = 0;
    g->pf[i] = 1;
}

static void bind_int(struct pg_adapter *g, int i, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int k = 7; k >= 0; k--) {
        g->ib[i][k] = (char)(u & 0xff);
        u >>= 8;
    }
    g->pv[i] = g->ib[i];
    g->pl[i] = 8;
    g->pf[i] = 1;
}

/* Binds text (binary format: the bytes themselves), cleaned when it is not valid UTF-8. */
static int bind_text(struct pg_adapter *g, int i, const char *s, size_t len)
{
    if (!s) {
        bind_null(g, i);
        return 1;
    }
    int nomem = 0;
    size_t clean_len = 0;
    char *c = utf8_clean(s, len, &clean_len, &nomem);
    if (nomem) {
        note_fail(g, NULL, "binding", "out of memory");
        return 0;
    }
    if (c) {
        g->tmp[i] = c;
        s = c;
        len = clean_len;
    }
    if (len > 0x3fffffff) {
        note_fail(g, NULL, "binding", "value too large");
        return 0;
    }
    g->pv[i] = s;
    g->pl[i] = (int)len;
    g->pf[i] = 1;
    return 1;
}

/* Binds bytes as they are (bytea, binary format). */
static int bind_bytes(struct pg_adapter *g, int i, const char *s, size_t len)
{
    if (!s) {
        bind_null(g, i);
        return 1;
    }
    if (len > 0x3fffffff) {
        note_fail(g, NULL, "binding", "value too large");
        return 0;
    }
    g->pv[i] = s;
    g->pl[i] = (int)len;
    g->pf[i] = 1;
    return 1;
}

static int bind_str(struct pg_adapter *g, int i, const char *s)
{
    return bind_text(g, i, s, s ? strlen(s) : 0);
}

/* Binds a push_log row (columns in push_log order) as parameters 1..10, rec as given. */
static int bind_log(struct pg_adapter *g, const struct eb_push_record *rec, enum eb_outcome outcome,
                    int64_t received_at)
{
    bind_int(g, 3, received_at);
    if (rec->has_application_id)
        bind_int(g, 4, rec->application_id);
    else
        bind_null(g, 4);
    if (rec->has_candidate_id)
        bind_int(g, 5, rec->candidate_id);
    else
        bind_null(g, 5);
    return bind_str(g, 0, rec->push_id) && bind_str(g, 1, rec->event) &&
           bind_str(g, 2, rec->triggered_at) && bind_str(g, 6, eb_outcome_name(outcome)) &&
           bind_str(g, 7, rec->message) && bind_text(g, 8, rec->payload, rec->payload_len) &&
           bind_bytes(g, 9, rec->raw, rec->raw_len);
}

/* ---- statements -------------------------------------------------------------------------- */

static void table_stmt_name(char *buf, size_t n, size_t index)
{
    snprintf(buf, n, "eb_t%zu", index);
}

static int prepare_one(struct pg_adapter *g, const char *name, const char *sql, int n,
                       const Oid *types)
{
    if (PQsendPrepare(g->conn, name, sql, n, types) != 1) {
        note_result(g, NULL, name);
        return 0;
    }
    g->queued++;
    return 1;
}

static void column_types(const struct eb_sql_table *t, Oid *types)
{
    for (size_t i = 0; i < t->n_columns; i++)
        types[i] = t->columns[i].type == EB_SQL_INTEGER ? INT8OID
                   : t->columns[i].type == EB_SQL_BLOB  ? BYTEAOID
                                                        : TEXTOID;
}

/* Prepares every statement on the current connection, in one pipeline. */
static int prepare_all(struct pg_adapter *g)
{
    const struct eb_sql_schema *sc = g->schema;
    const struct eb_sql_table *log = &sc->tables[sc->push_log];
    Oid types[EB_SQL_MAX_COLUMNS];
    Oid text1[1] = {TEXTOID}, int1[1] = {INT8OID};
    char name[32];
    int ok = pipeline_enter(g);
    column_types(log, types);
    ok = ok && prepare_one(g, "eb_claim", g->claim_sql, (int)log->n_columns, types) &&
         prepare_one(g, "eb_put", g->put_sql, (int)log->n_columns, types) &&
         prepare_one(g, "eb_find",
                     "SELECT \"outcome\", \"message\" FROM \"push_log\" WHERE \"push_id\" = $1"
                     " FOR UPDATE",
                     1, text1) &&
         prepare_one(g, "eb_version",
                     "SELECT coalesce(max(\"version\"), 0) FROM \"schema_version\"", 0, NULL) &&
         prepare_one(g, "eb_purge", g->purge_sql, 1, int1);
    if (ok && g->fresh_sql) {
        column_types(&sc->tables[sc->candidate], types);
        ok = prepare_one(g, "eb_fresh", g->fresh_sql, (int)sc->tables[sc->candidate].n_columns,
                         types);
    }
    for (size_t i = sc->candidate; ok && i < sc->n_tables; i++) {
        const struct eb_sql_table *t = &sc->tables[i];
        column_types(t, types);
        table_stmt_name(name, sizeof name, i);
        ok = prepare_one(g, name, t->role == EB_SQL_ROLE_CANDIDATE ? t->upsert_sql : t->insert_sql,
                         (int)t->n_columns, types);
        if (ok && g->many_sql && g->many_sql[i]) {
            for (size_t k = 0; k < t->n_columns; k++)
                types[k] = types[k] == INT8OID    ? INT8ARRAYOID
                           : types[k] == BYTEAOID ? BYTEAARRAYOID
                                                  : TEXTARRAYOID;
            snprintf(name, sizeof name, "eb_u%zu", i);
            ok = prepare_one(g, name, g->many_sql[i], (int)t->n_columns, types);
        }
    }
    char lock_sql[96];
    snprintf(lock_sql, sizeof lock_sql, "SELECT pg_advisory_xact_lock(%d, hashtext($1))",
             INTERVIEW_LOCK_SPACE);
    ok = ok && prepare_one(g, "eb_ilock", lock_sql, 1, text1);
    if (g->map_sql) {
        /* parameter types left to the server: the mapped columns are the EHR's (DATE, NUMERIC,
         * VARCHAR(n), ...) and values are sent as text */
        snprintf(lock_sql, sizeof lock_sql, "SELECT pg_advisory_xact_lock(%d, hashtext($1))",
                 MAPPED_LOCK_SPACE);
        ok = ok && prepare_one(g, "eb_mlock", lock_sql, 1, text1);
        for (size_t t = 0; ok && t < g->map_sql->n_tables; t++) {
            const struct eb_mapping_table_sql *ts = &g->map_sql->tables[t];
            const char *text[3] = {ts->update_sql, ts->insert_sql, ts->remove_sql};
            for (int k = 0; ok && k < 3; k++) {
                snprintf(name, sizeof name, "eb_m%zu_%d", t, k);
                ok = !text[k] || prepare_one(g, name, text[k], 0, NULL);
            }
        }
    }
    for (size_t t = 0; ok && t < EB_ITV_N_TABLES; t++) {
        /* the parameter types follow the columns (BIGINT or TEXT) */
        snprintf(name, sizeof name, "eb_iin%zu", t);
        ok = prepare_one(g, name, g->itv.insert[t], 0, NULL);
        snprintf(name, sizeof name, "eb_irm%zu", t);
        ok = ok && prepare_one(g, name, g->itv.remove[t], 1, text1);
    }
    /* push_warning (sql/warning_sql.h) */
    ok = ok && prepare_one(g, "eb_win", g->wsql.insert, 0, NULL);
    ok = ok && prepare_one(g, "eb_wrm", g->wsql.remove, 1, text1);
    ok = ok && pipeline_sync(g, NULL, 0);
    if (ok && (PQexitPipelineMode(g->conn) != 1)) {
        note_result(g, NULL, "leaving pipeline mode");
        ok = 0;
    }
    if (!ok)
        pipeline_leave(g);
    return ok;
}

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
        int ok = exec_ok(g, stmt, what);
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
        note_result(g, r, "looking for the schema");
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
        note_result(g, r, "reading schema_version");
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
    if (!exec_ok(g, "BEGIN", "starting schema creation"))
        goto fail;
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)", SCHEMA_LOCK_KEY);
    if (!exec_ok(g, sql, "waiting for the schema lock") || !read_version(g, version, &itv_missing))
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
        if (!exec_ok(g, sql, "recording the schema version"))
            goto fail;
        created = *version < 0;
    }
    for (size_t i = 0; i < g->itv.n_ddl; i++)
        if (!exec_ok(g, g->itv.ddl[i], "creating the interview tables"))
            goto fail;
    if (!exec_ok(g, g->wsql.ddl, "creating push_warning"))
        goto fail;
    if (!exec_ok(g, "COMMIT", "committing the schema"))
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
    rc = fail_rc(g, err);
out:
    if (g->conn && PQtransactionStatus(g->conn) != PQTRANS_IDLE)
        PQclear(PQexec(g->conn, "ROLLBACK"));
    return rc;
}

static eb_rc ensure_schema(struct pg_adapter *g, struct eb_err *err)
{
    int64_t version = -1;
    int itv_missing = 0;
    if (!read_version(g, &version, &itv_missing))
        return fail_rc(g, err);
    if (version > EB_SQL_SCHEMA_VERSION)
        return eb_sqlgen_check_version(version, err);
    if (version < EB_SQL_SCHEMA_VERSION || itv_missing) {
        eb_rc rc = create_schema(g, &version, err);
        if (rc)
            return rc;
    }
    return eb_sqlgen_check_version(version, err);
}

static int att_tables(struct pg_adapter *g);

/* Connects when there is no usable connection: session settings, the schema (first time only),
 * prepared statements. */
static eb_rc ensure_connected(struct pg_adapter *g, struct eb_err *err)
{
    if (g->conn && PQstatus(g->conn) == CONNECTION_OK)
        return EB_OK;
    disconnect(g);
    g->fail.set = 0;
    if (g->retry_at_ms && eb_mono_ms() < g->retry_at_ms)
        return eb_err_set(err, g->down.rc, "%s", g->down.msg);
    g->retry_at_ms = 0;
    g->conn = PQconnectdbParams(g->keys, g->vals, 1);
    if (!g->conn)
        return eb_err_set(err, EB_ERR_NOMEM, "postgres: out of memory connecting");
    if (PQstatus(g->conn) != CONNECTION_OK) {
        char line[220];
        one_line(g, line, sizeof line, PQerrorMessage(g->conn));
        disconnect(g);
        eb_err_set(&g->down, EB_ERR_UNAVAILABLE, "postgres: cannot connect: %s", line);
        g->retry_at_ms = eb_mono_ms() + RECONNECT_PAUSE_MS;
        return eb_err_set(err, EB_ERR_UNAVAILABLE, "%s", g->down.msg);
    }
    PQsetNoticeProcessor(g->conn, quiet, NULL);
    if (PQserverVersion(g->conn) < MIN_SERVER_VERSION) {
        disconnect(g);
        return eb_err_set(err, EB_ERR_CONFIG, "postgres: the server is older than 9.5");
    }
    char sql[64];
    snprintf(sql, sizeof sql, "SET statement_timeout = %ld", g->timeout_ms);
    if (!exec_ok(g, sql, "setting statement_timeout"))
        goto fail;
    if (!g->schema_checked) {
        eb_rc rc = ensure_schema(g, err);
        if (rc) {
            disconnect(g);
            return rc;
        }
        g->schema_checked = 1;
    }
    if (!g->att_ready) {
        if (!att_tables(g))
            goto fail;
        g->att_ready = 1;
    }
    if (!prepare_all(g))
        goto fail;
    return EB_OK;
fail:;
    eb_rc rc = fail_rc(g, err);
    disconnect(g);
    return rc;
}

/* ---- the URL ----------------------------------------------------------------------------- */

/* Parses a statement timeout: N (ms), Nms, Ns, Nmin; 0 = none. -1 when malformed. */
static long parse_timeout(const char *v, size_t len)
{
    char buf[24];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    char *end;
    if (!isdigit((unsigned char)buf[0]))
        return -1;
    long long n = strtoll(buf, &end, 10);
    long long mul = 1;
    if (!*end || !strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "s"))
        mul = 1000;
    else if (!strcmp(end, "min"))
        mul = 60000;
    else
        return -1;
    if (n < 0 || n > 86400000LL / mul)
        return -1;
    return (long)(n * mul);
}

/* Appends len bytes to a growing string. */
static int append(char **s, size_t *n, const char *p, size_t len)
{
    char *r = realloc(*s, *n + len + 1);
    if (!r)
        return 0;
    memcpy(r + *n, p, len);
    *n += len;
    r[*n] = '\0';
    *s = r;
    return 1;
}

#define TIMEOUT_KEY "statement_timeout"

/* URI form: "postgresql://" + rest, with statement_timeout taken out of the query. */
static eb_rc parse_uri(struct pg_adapter *g, const char *rest, struct eb_err *err)
{
    size_t n = 0;
    char *out = NULL;
    const char *q = strchr(rest, '?');
    size_t head = q ? (size_t)(q - rest) : strlen(rest);
    if (!append(&out, &n, "postgresql://", 13) || !append(&out, &n, rest, head))
        goto nomem;
    /* the password as written, to scrub it from libpq's messages */
    size_t auth = strcspn(rest, "/?");
    const char *at = NULL;
    for (const char *c = rest; c < rest + auth; c++)
        if (*c == '@')
            at = c;
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        if (colon && at > colon + 1 &&
            !(g->secret[0] = strndup(colon + 1, (size_t)(at - colon - 1))))
            goto nomem;
    }
    int first = 1;
    while (q && *q) {
        const char *opt = q + 1;
        q = strchr(opt, '&');
        size_t len = q ? (size_t)(q - opt) : strlen(opt);
        size_t kl = sizeof TIMEOUT_KEY - 1;
        if (len > kl && strncmp(opt, TIMEOUT_KEY "=", kl + 1) == 0) {
            g->timeout_ms = parse_timeout(opt + kl + 1, len - kl - 1);
            if (g->timeout_ms < 0) {
                free(out);
                return eb_err_set(err, EB_ERR_CONFIG,
                                  "bad postgres URL option statement_timeout (N, Nms, Ns or Nmin)");
            }
            continue;
        }
        if (!len)
            continue;
        if (!append(&out, &n, first ? "?" : "&", 1) || !append(&out, &n, opt, len))
            goto nomem;
        first = 0;
    }
    g->conninfo = out;
    return EB_OK;
nomem:
    free(out);
    return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
}

/* key=value form: the string as given, with the statement_timeout key taken out. Values follow
 * libpq's rules: bare words, or single-quoted with \' and \\ escapes. */
static eb_rc parse_keyvalue(struct pg_adapter *g, const char *s, struct eb_err *err)
{
    size_t n = 0;
    char *out = NULL;
    if (!append(&out, &n, "", 0))
        goto nomem;
    const char *p = s;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *key = p;
        while (*p && *p != '=' && !isspace((unsigned char)*p))
            p++;
        size_t klen = (size_t)(p - key);
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '=') {
            free(out);
            return eb_err_set(err, EB_ERR_CONFIG,
                              "bad postgres connection string: expected key=value");
        }
        p++;
        while (isspace((unsigned char)*p))
            p++;
        const char *val = p;
        if (*p == '\'') {
            p++;
            while (*p && *p != '\'') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (*p != '\'') {
                free(out);
                return eb_err_set(err, EB_ERR_CONFIG,
                                  "bad postgres connection string: unterminated quoted value");
            }
            p++;
        } else {
            while (*p && !isspace((unsigned char)*p))
                p++;
        }
        size_t vlen = (size_t)(p - val);
        if (klen == sizeof TIMEOUT_KEY - 1 && strncmp(key, TIMEOUT_KEY, klen) == 0) {
            const char *v = val;
            size_t vl = vlen;
            if (vl >= 2 && v[0] == '\'') {
                v++;
                vl -= 2;
            }
            g->timeout_ms = parse_timeout(v, vl);
            if (g->timeout_ms < 0) {
                free(out);
                return eb_err_set(err, EB_ERR_CONFIG,
                                  "bad postgres option statement_timeout (N, Nms, Ns or Nmin)");
            }
            continue;
        }
        if (klen == 8 && strncmp(key, "password", 8) == 0 && vlen && !g->secret[0]) {
            if (!(g->secret[0] = strndup(val, vlen)))
                goto nomem;
        }
        if ((n && !append(&out, &n, " ", 1)) || !append(&out, &n, key, (size_t)(p - key)))
            goto nomem;
    }
    g->conninfo = out;
    return EB_OK;
nomem:
    free(out);
    return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
}

/* Accepts postgresql://..., postgres://... (URI) and postgresql:k=v ..., postgres:k=v ...;
 * checks the result with libpq's own parser and fills the connection parameters. */
static eb_rc parse_url(struct pg_adapter *g, const char *url, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    const char *rest = NULL;
    if (strncasecmp(url, "postgresql:", 11) == 0)
        rest = url + 11;
    else if (strncasecmp(url, "postgres:", 9) == 0)
        rest = url + 9;
    else
        return eb_err_set(err, EB_ERR_CONFIG, "not a postgres URL (postgresql://...)");
    g->timeout_ms = STATEMENT_TIMEOUT_MS;
    if (rest[0] == '/' && rest[1] == '/')
        rc = parse_uri(g, rest + 2, err);
    else
        rc = parse_keyvalue(g, rest, err);
    if (rc)
        return rc;

    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(g->conninfo, &perr);
    if (!opts) {
        char line[200];
        one_line(g, line, sizeof line, perr ? perr : "out of memory");
        PQfreemem(perr);
        return eb_err_set(err, EB_ERR_CONFIG, "bad postgres URL: %s", line);
    }
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (!strcmp(o->keyword, "password") && o->val && o->val[0] && !g->secret[1])
            g->secret[1] = strdup(o->val);
    PQconninfoFree(opts);

    /* defaults first (the URL overrides them), then the URL, then what is always ours */
    static const char *const defaults[][2] = {
        {"connect_timeout", "5"},          {"keepalives", "1"},       {"keepalives_idle", "30"},
        {"keepalives_interval", "10"},     {"keepalives_count", "3"}, {"tcp_user_timeout", "30000"},
        {"application_name", "ehrbridge"},
    };
    size_t k = 0;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        g->keys[k] = defaults[i][0];
        g->vals[k++] = defaults[i][1];
    }
    g->keys[k] = "dbname";
    g->vals[k++] = g->conninfo;
    g->keys[k] = "client_encoding";
    g->vals[k++] = "UTF8";
    g->keys[k] = NULL;
    g->vals[k] = NULL;
    return EB_OK;
}

/* ---- open / close ------------------------------------------------------------------------ */

static void pg_close(struct eb_adapter *a)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    disconnect(g);
    free(g->conninfo);
    free(g->secret[0]);
    free(g->secret[1]);
    free(g->claim_sql);
    free(g->failure_sql);
    free(g->purge_sql);
    free(g->fresh_sql);
    for (size_t i = 0; g->many_sql && g->schema && i < g->schema->n_tables; i++)
        free(g->many_sql[i]);
    free(g->many_sql);
    free(g->pend);
    g->many_sql = NULL;
    g->pend = NULL;
    g->pend_n = g->pend_cap = 0;
    free(g->probe_sql);
    free(g->put_sql);
    g->put_sql = NULL;
    eb_interview_sql_free(&g->itv);
    eb_warning_sql_free(&g->wsql);
    eb_mapping_sql_free(g->map_sql);
    g->map_sql = NULL;
    eb_sqlgen_free(g->schema);
    g->conninfo = g->secret[0] = g->secret[1] = NULL;
    g->claim_sql = g->failure_sql = g->purge_sql = g->fresh_sql = g->probe_sql = NULL;
    g->schema = NULL;
}

/* The statement text beyond what sqlgen gives: the claim, the upsert, the purge. */
static eb_rc build_sql(struct pg_adapter *g, struct eb_err *err)
{
    const struct eb_sql_schema *sc = g->schema;
    const struct eb_sql_table *log = &sc->tables[sc->push_log];
    const char *where = "\"push_log\".\"outcome\" = 'failed'";
    char *up = eb_sqlgen_upsert_where(sc, log, where, err);
    if (!up)
        return err ? err->rc : EB_ERR_NOMEM;
    g->failure_sql = up;
    size_t n = 0;
    char *claim = NULL;
    const struct eb_sql_table *cand = &sc->tables[sc->candidate];
    char exists[160];
    /* with the default tables: whether the candidate row of the claim's application_id ($5)
     * exists, so that a new candidate's write skips the purge of its child tables */
    int elen =
        snprintf(exists, sizeof exists,
                 ", EXISTS (SELECT 1 FROM \"%s\" WHERE \"application_id\" = $5)", cand->name);
    if (elen < 0 || (size_t)elen >= sizeof exists || g->base.mapping)
        elen = 0;
    if (!append(&claim, &n, up, strlen(up)) || !append(&claim, &n, " RETURNING \"push_id\"", 20) ||
        !append(&claim, &n, exists, (size_t)elen)) {
        free(claim);
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    }
    g->claim_sql = claim;
    if (elen) {
        static const char tail[] = " ON CONFLICT (\"application_id\") DO NOTHING RETURNING 1";
        n = 0;
        if (!append(&g->fresh_sql, &n, cand->insert_sql, strlen(cand->insert_sql)) ||
            !append(&g->fresh_sql, &n, tail, sizeof tail - 1))
            return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    }
    if (!(g->put_sql = eb_sqlgen_upsert_where(sc, log, NULL, err)))
        return err ? err->rc : EB_ERR_NOMEM;

    if (!(g->many_sql = calloc(sc->n_tables, sizeof *g->many_sql)))
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < sc->n_tables; i++) {
        const struct eb_sql_table *t = &sc->tables[i];
        if (t->role != EB_SQL_ROLE_CHILD)
            continue;
        char part[200];
        n = 0;
        int len = snprintf(part, sizeof part, "INSERT INTO \"%s\" (", t->name);
        int ok =
            len > 0 && (size_t)len < sizeof part && append(&g->many_sql[i], &n, part, (size_t)len);
        for (size_t k = 0; ok && k < t->n_columns; k++) {
            len = snprintf(part, sizeof part, "%s\"%s\"", k ? ", " : "", t->columns[k].name);
            ok = len > 0 && (size_t)len < sizeof part &&
                 append(&g->many_sql[i], &n, part, (size_t)len);
        }
        ok = ok && append(&g->many_sql[i], &n, ") SELECT * FROM unnest(", 23);
        for (size_t k = 0; ok && k < t->n_columns; k++) {
            const char *type = t->columns[k].type == EB_SQL_INTEGER ? "int8"
                               : t->columns[k].type == EB_SQL_BLOB  ? "bytea"
                                                                    : "text";
            len = snprintf(part, sizeof part, "%s$%zu::%s[]", k ? ", " : "", k + 1, type);
            ok = len > 0 && (size_t)len < sizeof part &&
                 append(&g->many_sql[i], &n, part, (size_t)len);
        }
        if (!ok || !append(&g->many_sql[i], &n, ")", 1))
            return eb_err_set(err, EB_ERR_NOMEM, "out of memory building a child table's insert");
    }

    size_t nc;
    const struct eb_sql_table *children = eb_sqlgen_child_tables(sc, &nc);
    char *purge = NULL;
    n = 0;
    int ok = append(&purge, &n, "", 0);
    for (size_t i = 0; ok && i < nc; i++) {
        char part[200];
        int len = snprintf(part, sizeof part,
                           "%sd%zu AS (DELETE FROM \"%s\" WHERE \"application_id\" = $1)",
                           i ? ", " : "WITH ", i, children[i].name);
        ok = len > 0 && (size_t)len < sizeof part && append(&purge, &n, part, (size_t)len);
    }
    ok = ok && append(&purge, &n, " SELECT 1", 9);
    if (!ok) {
        free(purge);
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory building the purge statement");
    }
    g->purge_sql = purge;

    char *probe = NULL;
    n = 0;
    static const char probe_head[] = "SELECT to_regclass('\"schema_version\"') IS NOT NULL, false";
    ok = append(&probe, &n, probe_head, sizeof probe_head - 1);
    for (size_t t = 0; ok && t < EB_ITV_N_TABLES; t++) {
        char part[120];
        int len = snprintf(part, sizeof part, " OR to_regclass('\"%s\"') IS NULL", g->itv.name[t]);
        ok = len > 0 && (size_t)len < sizeof part && append(&probe, &n, part, (size_t)len);
    }
    static const char probe_warning[] = " OR to_regclass('\"push_warning\"') IS NULL";
    ok = ok && append(&probe, &n, probe_warning, sizeof probe_warning - 1);
    if (!ok) {
        free(probe);
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory building the schema probe");
    }
    g->probe_sql = probe;
    return EB_OK;
}

static eb_rc pg_open(struct eb_adapter *a, const char *url, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    eb_rc rc = EB_OK;
    if ((rc = parse_url(g, url, err)) ||
        (rc = eb_sqlgen_build(&eb_sql_dialect_postgres, &g->schema, err)) ||
        (rc = eb_interview_sql_build(&eb_sql_dialect_postgres, &g->itv, err)) ||
        (rc = eb_warning_sql_build(&eb_sql_dialect_postgres, &g->wsql, err)) ||
        (rc = build_sql(g, err)) ||
        (a->mapping &&
         (rc = eb_mapping_sql_build(a->mapping, &eb_sql_dialect_postgres, &g->map_sql, err))) ||
        (rc = ensure_connected(g, err)))
        return rc;
    return EB_OK;
}

/* ---- pushes ------------------------------------------------------------------------------ */

static enum eb_outcome outcome_from(const char *text)
{
    if (text && strcmp(text, "stored") == 0)
        return EB_OUTCOME_STORED;
    if (text && strcmp(text, "rejected") == 0)
        return EB_OUTCOME_REJECTED;
    return EB_OUTCOME_FAILED;
}

/* Sends one row's insert into the pipeline. The candidate's row: with g->fresh its INSERT ...
 * ON CONFLICT DO NOTHING RETURNING 1, whose result pipeline_sync keeps in g->watched;
 * otherwise its upsert, then the purge of its children. */
static eb_rc send_one_row(struct pg_adapter *g, const struct eb_sql_table *t,
                          const struct eb_sql_value *v, struct eb_err *err)
{
    char name[32];
    for (size_t i = 0; i < t->n_columns; i++) {
        int at = (int)i;
        switch (v[i].type) {
        case EB_SQL_VINT:
            bind_int(g, at, v[i].i);
            break;
        case EB_SQL_VTEXT:
            if (!bind_text(g, at, v[i].s, v[i].len))
                return fail_rc(g, err);
            break;
        default:
            bind_null(g, at);
            break;
        }
    }
    int fresh = t->role == EB_SQL_ROLE_CANDIDATE && g->fresh;
    if (fresh)
        g->watch_at = g->queued + 1;
    else
        table_stmt_name(name, sizeof name, t->index);
    if (!send_prepared(g, fresh ? "eb_fresh" : name, (int)t->n_columns))
        return fail_rc(g, err);
    if (t->role == EB_SQL_ROLE_CANDIDATE && !fresh) {
        bind_int(g, 0, v[0].i); /* application_id is the candidate's first column */
        if (!send_prepared(g, "eb_purge", 1))
            return fail_rc(g, err);
    }
    if (++g->row_sends >= PIPELINE_CHUNK && !pipeline_sync(g, NULL, 0))
        return fail_rc(g, err);
    return EB_OK;
}

/* Appends a big-endian 32-bit integer. */
static int put32(struct eb_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    return eb_buf_append(b, x, 4) == EB_OK;
}

/* Column k of the n rows in g->pend as a one-dimensional array in PostgreSQL's binary format
 * (ndim, has-null flag, element type, length, lower bound, then each element's length, -1 for
 * NULL, and bytes), into b. Text is cleaned as bind_text cleans it. */
static int array_param(struct pg_adapter *g, const struct eb_sql_table *t, size_t k,
                       struct eb_buf *b)
{
    size_t n = g->pend_n, nc = t->n_columns;
    enum eb_sql_type type = t->columns[k].type;
    int has_null = 0;
    for (size_t r = 0; r < n; r++)
        has_null |= g->pend[r * nc + k].type == EB_SQL_VNULL;
    Oid elem = type == EB_SQL_INTEGER ? INT8OID : type == EB_SQL_BLOB ? BYTEAOID : TEXTOID;
    if (!put32(b, 1) || !put32(b, (uint32_t)has_null) || !put32(b, elem) ||
        !put32(b, (uint32_t)n) || !put32(b, 1))
        return 0;
    for (size_t r = 0; r < n; r++) {
        const struct eb_sql_value *v = &g->pend[r * nc + k];
        if (v->type == EB_SQL_VNULL) {
            if (!put32(b, 0xffffffffu))
                return 0;
        } else if (type == EB_SQL_INTEGER) {
            if (v->type != EB_SQL_VINT || !put32(b, 8) ||
                !put32(b, (uint32_t)((uint64_t)v->i >> 32)) || !put32(b, (uint32_t)v->i))
                return 0;
        } else {
            if (v->type != EB_SQL_VTEXT)
                return 0;
            int nomem = 0;
            size_t len = v->len;
            char *c = utf8_clean(v->s, v->len, &len, &nomem);
            const char *bytes = c ? c : v->s;
            if (!c)
                len = v->len;
            int ok = !nomem && len <= 0x3fffffff && put32(b, (uint32_t)len) &&
                     eb_buf_append(b, bytes, len) == EB_OK;
            free(c);
            if (!ok)
                return 0;
        }
    }
    return b->len <= 0x7fffffff;
}

/* Sends the child rows waiting in g->pend: from MANY_MIN of them in one statement (an array per
 * column), fewer one by one. */
static eb_rc flush_rows(struct pg_adapter *g, struct eb_err *err)
{
    const struct eb_sql_table *t = g->pend_t;
    size_t n = g->pend_n;
    eb_rc rc = EB_OK;
    if (n < MANY_MIN || !g->many_sql[t->index]) {
        for (size_t r = 0; !rc && r < n; r++)
            rc = send_one_row(g, t, g->pend + r * t->n_columns, err);
        g->pend_n = 0;
        return rc;
    }
    struct eb_buf *cols = calloc(t->n_columns, sizeof *cols);
    int ok = cols != NULL;
    for (size_t k = 0; ok && k < t->n_columns; k++) {
        eb_buf_init(&cols[k], 0x7fffffff);
        ok = array_param(g, t, k, &cols[k]);
        g->pv[k] = cols[k].data;
        g->pl[k] = (int)cols[k].len;
        g->pf[k] = 1;
    }
    g->pend_n = 0;
    char name[32];
    snprintf(name, sizeof name, "eb_u%zu", t->index);
    if (!ok)
        note_fail(g, NULL, "binding", "out of memory or a value of the wrong type");
    else
        ok = send_prepared(g, name, (int)t->n_columns);
    for (size_t k = 0; cols && k < t->n_columns; k++)
        eb_buf_free(&cols[k]);
    free(cols);
    if (!ok)
        return fail_rc(g, err);
    if (++g->row_sends >= PIPELINE_CHUNK && !pipeline_sync(g, NULL, 0))
        return fail_rc(g, err);
    return EB_OK;
}

/* eb_sqlgen_row_fn: the candidate's row is sent at once (send_one_row); a child row waits in
 * g->pend until another table's row comes, MANY_MAX rows of its table are there, or the walk
 * ends (write_candidate). The values are copied; the texts they borrow belong to the candidate,
 * which outlives the walk. */
static eb_rc send_row(void *ctx, const struct eb_sql_table *t, const struct eb_sql_value *v,
                      struct eb_err *err)
{
    struct pg_adapter *g = ctx;
    eb_rc rc;
    if (g->pend_n && g->pend_t != t && (rc = flush_rows(g, err)))
        return rc;
    if (t->role != EB_SQL_ROLE_CHILD)
        return send_one_row(g, t, v, err);
    g->pend_t = t;
    size_t need = (g->pend_n + 1) * t->n_columns;
    if (need > g->pend_cap) {
        size_t cap = g->pend_cap ? g->pend_cap * 2 : 16 * t->n_columns;
        while (cap < need)
            cap *= 2;
        struct eb_sql_value *p = realloc(g->pend, cap * sizeof *p);
        if (!p)
            return eb_err_set(err, EB_ERR_NOMEM, "postgres: out of memory");
        g->pend = p;
        g->pend_cap = cap;
    }
    memcpy(g->pend + g->pend_n * t->n_columns, v, t->n_columns * sizeof *v);
    return ++g->pend_n == MANY_MAX ? flush_rows(g, err) : EB_OK;
}

/* eb_interview_row_fn: sends one interview row's insert into the pipeline. */
static eb_rc send_interview_row(void *ctx, enum eb_interview_table t, const struct eb_sql_value *v,
                                size_t n, struct eb_err *err)
{
    struct pg_adapter *g = ctx;
    char name[32];
    if (n > EB_SQL_MAX_COLUMNS)
        return eb_err_set(err, EB_ERR_INTERNAL, "postgres: too many interview columns");
    for (size_t i = 0; i < n; i++) {
        if (v[i].type == EB_SQL_VINT)
            bind_int(g, (int)i, v[i].i);
        else if (v[i].type == EB_SQL_VTEXT) {
            if (!bind_text(g, (int)i, v[i].s, v[i].len))
                return fail_rc(g, err);
        } else
            bind_null(g, (int)i);
    }
    snprintf(name, sizeof name, "eb_iin%d", (int)t);
    if (!send_prepared(g, name, (int)n))
        return fail_rc(g, err);
    if (++g->row_sends >= PIPELINE_CHUNK && !pipeline_sync(g, NULL, 0))
        return fail_rc(g, err);
    return EB_OK;
}

/* Sends, for every interview of ev: the event_id's lock, the deletion of its rows (children
 * first), and unless ev is a delete its new rows. */
static eb_rc send_interviews(struct pg_adapter *g, const struct eb_interview_event *ev,
                             const char *push_id, int64_t at, struct eb_err *err)
{
    char name[32];
    for (size_t i = 0; i < ev->interviews_n; i++) {
        const struct eb_interview *iv = &ev->interviews[i];
        if (!bind_str(g, 0, iv->event_id) || !send_prepared(g, "eb_ilock", 1))
            return fail_rc(g, err);
        for (size_t t = EB_ITV_N_TABLES; t-- > 0;) {
            snprintf(name, sizeof name, "eb_irm%zu", t);
            if (!bind_str(g, 0, iv->event_id) || !send_prepared(g, name, 1))
                return fail_rc(g, err);
        }
        if (ev->kind != EB_INTERVIEW_DELETE) {
            eb_rc rc = eb_interview_sql_rows(ev, iv, push_id, at, send_interview_row, g, err);
            if (rc)
                return rc;
        }
    }
    return EB_OK;
}

/* eb_mapping_run_fn: sends one mapped statement into the pipeline, values as text (the server
 * converts them to the mapped columns' types). An UPDATE is synced at once: the writer needs
 * its row count to decide on the INSERT. */
static eb_rc mapped_run(void *ctx, size_t table, enum eb_mapping_stmt which,
                        const struct eb_sql_value *v, size_t n, int64_t *changed,
                        struct eb_err *err)
{
    struct pg_adapter *g = ctx;
    char name[32];
    if (n > EB_SQL_MAX_COLUMNS)
        return eb_err_set(err, EB_ERR_INTERNAL, "postgres: too many mapped columns");
    for (size_t i = 0; i < n; i++) {
        int at = (int)i;
        if (v[i].type == EB_SQL_VINT) {
            char num[24];
            snprintf(num, sizeof num, "%lld", (long long)v[i].i);
            if (!(g->tmp[at] = strdup(num))) {
                note_fail(g, NULL, "binding", "out of memory");
                return fail_rc(g, err);
            }
            g->pv[at] = g->tmp[at];
        } else if (v[i].type == EB_SQL_VTEXT) {
            if (!bind_text(g, at, v[i].s, v[i].len))
                return fail_rc(g, err);
        } else {
            g->pv[at] = NULL;
        }
        g->pl[at] = 0;
        g->pf[at] = 0; /* text: NUL-terminated (the writer's texts and bind_text's copies are) */
    }
    snprintf(name, sizeof name, "eb_m%zu_%d", table, (int)which);
    if (!send_prepared(g, name, (int)n))
        return fail_rc(g, err);
    if (changed) {
        int q = g->queued;
        PGresult **res = calloc((size_t)q, sizeof *res);
        if (!res)
            return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        int ok = pipeline_sync(g, res, q);
        *changed = ok && res[q - 1] ? strtoll(PQcmdTuples(res[q - 1]), NULL, 10) : 0;
        for (int i = 0; i < q; i++)
            PQclear(res[i]);
        free(res);
        if (!ok)
            return fail_rc(g, err);
    } else if (++g->row_sends >= PIPELINE_CHUNK && !pipeline_sync(g, NULL, 0)) {
        return fail_rc(g, err);
    }
    return EB_OK;
}

/* Sends the push id's push_warning rows, replaced by p's (sql/warning_sql.h). */
static eb_rc send_warnings(struct pg_adapter *g, const struct eb_push *p, const char *push_id,
                           struct eb_err *err)
{
    if (p->keep_warnings)
        return EB_OK;
    if (!bind_str(g, 0, push_id) || !send_prepared(g, "eb_wrm", 1))
        return fail_rc(g, err);
    for (size_t i = 0; i < p->n_warnings; i++) {
        struct eb_sql_value v[EB_WARNING_SQL_COLUMNS];
        eb_warning_sql_values(p, push_id, i, v);
        if (!bind_text(g, 0, v[0].s, v[0].len))
            return fail_rc(g, err);
        bind_int(g, 1, v[1].i);
        for (int k = 2; k < EB_WARNING_SQL_COLUMNS; k++)
            if (!bind_text(g, k, v[k].s, v[k].len))
                return fail_rc(g, err);
        if (!send_prepared(g, "eb_win", EB_WARNING_SQL_COLUMNS))
            return fail_rc(g, err);
    }
    return EB_OK;
}

/* Sends the rows of p's candidate into the pipeline: the default schema's (sqlgen), or with a
 * mapping the mapped tables' after the candidate's lock; then its push_warning rows. */
static eb_rc write_candidate(struct pg_adapter *g, const struct eb_push *p, const char *push_id,
                             int64_t at, struct eb_err *err)
{
    eb_rc rc;
    if (!g->map_sql) {
        g->pend_n = 0;
        rc = eb_sqlgen_walk(g->schema, p->data, push_id, at, send_row, g, err);
        if (!rc && g->pend_n)
            rc = flush_rows(g, err);
        g->pend_n = 0;
        if (g->pend_cap > PEND_KEEP) { /* a large record's: not kept for the next push */
            free(g->pend);
            g->pend = NULL;
            g->pend_cap = 0;
        }
    } else {
        char app[24];
        snprintf(app, sizeof app, "%lld", (long long)p->data->application_id.v);
        if (!bind_str(g, 0, app) || !send_prepared(g, "eb_mlock", 1))
            return fail_rc(g, err);
        rc = eb_mapping_write(g->base.mapping, p->data, push_id, at, mapped_run, g, err);
    }
    return rc ? rc : send_warnings(g, p, push_id, err);
}

/* Runs a prepared statement (parameters bound in g) outside a pipeline; on a broken connection,
 * connects again and runs it once more. On success *res holds the result (caller clears). */
static eb_rc exec_prepared(struct pg_adapter *g, const char *name, int n, PGresult **res,
                           struct eb_err *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        eb_rc rc = ensure_connected(g, err);
        if (rc)
            return rc;
        g->fail.set = 0;
        PGresult *r = PQexecPrepared(g->conn, name, n, g->pv, g->pl, g->pf, 0);
        int st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            *res = r;
            return EB_OK;
        }
        note_result(g, r, name);
        PQclear(r);
        int lost = connection_lost(g);
        rc = fail_rc(g, err);
        if (!lost)
            return rc;
        disconnect(g);
        if (attempt == 1)
            return rc;
    }
    return eb_err_set(err, EB_ERR_INTERNAL, "postgres: unreachable");
}

static eb_rc pg_ping(struct eb_adapter *a, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    eb_rc rc = exec_prepared(g, "eb_version", 0, &r, err);
    if (rc)
        return rc;
    int64_t version = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return eb_sqlgen_check_version(version, err);
}

/* ---- the primitives of adapter.h, version 2 --------------------------------------------- */

/* A transaction runs in pipeline mode from begin to commit or rollback: statements that need no
 * answer (BEGIN, SAVEPOINT, RELEASE) are only queued, and each primitive that needs one sends
 * the sync and reads what was queued: a push costs a round trip for its claim, one for its
 * rows, one for the commit. */

/* The failure just noted, into err, and whether a new try may pass: a serialization failure, a
 * deadlock, or a connection that broke under a transaction begun on an open one. */
static eb_rc tx_fail(struct pg_adapter *g, struct eb_err *err)
{
    int lost = connection_lost(g);
    eb_rc rc = fail_rc(g, err);
    g->retry = retryable_state(g->fail.state) || (lost && g->tx_had_conn);
    return rc;
}

/* Sends the sync and hands the result of the last statement queued to *last (caller clears;
 * NULL when it did not run). Returns 1 when every statement succeeded. */
static int sync_last(struct pg_adapter *g, PGresult **last)
{
    PGresult *keep[8];
    int n = g->queued;
    *last = NULL;
    if (n < 1 || n > 8) {
        note_fail(g, NULL, "pipeline", "unexpected number of statements queued");
        return 0;
    }
    int ok = pipeline_sync(g, keep, n);
    for (int i = 0; i < n - 1; i++)
        PQclear(keep[i]);
    *last = keep[n - 1];
    return ok && *last;
}

/* Before a statement whose answer is read with sync_last: what is queued is sent first when
 * sync_last could not keep it all. */
static int room(struct pg_adapter *g)
{
    return g->queued < 7 || pipeline_sync(g, NULL, 0);
}

static eb_rc pg_begin(struct eb_adapter *a, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->tx_had_conn = g->conn != NULL;
    g->retry = 0;
    eb_rc rc = ensure_connected(g, err);
    if (rc)
        return rc; /* cannot connect: down; no retry */
    g->fail.set = 0;
    g->hint_set = 0;
    if (!pipeline_enter(g) || !send_text(g, "BEGIN"))
        return tx_fail(g, err);
    return EB_OK;
}

static eb_rc pg_commit(struct eb_adapter *a, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    if (!g->conn || !send_text(g, "COMMIT") || !pipeline_sync(g, NULL, 0)) {
        eb_rc rc = tx_fail(g, err);
        pipeline_leave(g);
        return rc;
    }
    pipeline_leave(g);
    return EB_OK;
}

static void pg_rollback(struct eb_adapter *a)
{
    pipeline_leave((struct pg_adapter *)a);
}

static int pg_in_transaction(struct eb_adapter *a)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    return g->conn && !connection_lost(g) && PQtransactionStatus(g->conn) != PQTRANS_IDLE;
}

static eb_rc pg_savepoint(struct eb_adapter *a, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    return g->conn && send_text(g, "SAVEPOINT eb_push") ? EB_OK : tx_fail(g, err);
}

static eb_rc pg_release(struct eb_adapter *a, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    return g->conn && send_text(g, "RELEASE SAVEPOINT eb_push") ? EB_OK : tx_fail(g, err);
}

static eb_rc pg_rollback_to(struct eb_adapter *a, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    g->hint_set = 0;
    release_params(g);
    if (!g->conn || !send_text(g, "ROLLBACK TO SAVEPOINT eb_push") ||
        !send_text(g, "RELEASE SAVEPOINT eb_push") || !pipeline_sync(g, NULL, 0))
        return tx_fail(g, err);
    return EB_OK;
}

static eb_rc pg_log_get(struct eb_adapter *a, const char *push_id, struct eb_log_state *out,
                        struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    g->fail.set = 0;
    g->hint_set = 0; /* a replay's write comes without a claim */
    out->found = 0;
    if (!g->conn || !room(g) || !bind_str(g, 0, push_id) || !send_prepared(g, "eb_find", 1) ||
        !sync_last(g, &r)) {
        PQclear(r);
        return tx_fail(g, err);
    }
    if (PQntuples(r) == 1) {
        out->found = 1;
        out->outcome = outcome_from(PQgetvalue(r, 0, 0));
        snprintf(out->message, sizeof out->message, "%s",
                 PQgetisnull(r, 0, 1) ? "" : PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return EB_OK;
}

/* The claim is INSERT ... ON CONFLICT (push_id) DO UPDATE ... WHERE outcome = 'failed'
 * RETURNING push_id: a concurrent transaction holding the same id makes it wait for that one's
 * end, and a row recorded with a final outcome returns nothing. With the default tables it also
 * returns whether the candidate row of the push's applicationId exists, kept for the
 * candidate_write that follows (only a hint: pg_candidate_write checks it under the row's lock). */
static eb_rc pg_log_put(struct eb_adapter *a, const struct eb_push_record *rec,
                        enum eb_outcome outcome, int64_t received_at, int claim, int *written,
                        struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    const struct eb_sql_table *log = &g->schema->tables[g->schema->push_log];
    PGresult *r = NULL;
    g->fail.set = 0;
    if (!g->conn || !room(g) || !bind_log(g, rec, outcome, received_at) ||
        !send_prepared(g, claim ? "eb_claim" : "eb_put", (int)log->n_columns) ||
        !sync_last(g, &r)) {
        PQclear(r);
        release_params(g);
        return tx_fail(g, err);
    }
    if (written)
        *written = !claim || PQntuples(r) == 1;
    g->hint_set = claim && rec->has_application_id && PQntuples(r) == 1 && PQnfields(r) == 2;
    if (g->hint_set) {
        g->hint_app = rec->application_id;
        g->hint_exists = strcmp(PQgetvalue(r, 0, 1), "f") != 0;
    }
    PQclear(r);
    return EB_OK;
}

/* 1 when a write of app as a new candidate found rows there lately. */
static int purge_always(const struct pg_adapter *g, int64_t app)
{
    size_t n = sizeof g->purge_app / sizeof g->purge_app[0];
    for (size_t i = 0; i < n && i < g->n_purge_app; i++)
        if (g->purge_app[i] == app)
            return 1;
    return 0;
}

static void purge_always_add(struct pg_adapter *g, int64_t app)
{
    size_t n = sizeof g->purge_app / sizeof g->purge_app[0];
    if (!purge_always(g, app))
        g->purge_app[g->n_purge_app++ % n] = app;
}

/* The candidate's rows, all in the pipeline. A candidate row that exists (or may: no hint, a
 * replay) is upserted, which takes its row lock (two pushes for one candidate replace it one
 * after the other, whichever version of ehrbridge or replica wrote it before), then one
 * statement deletes its rows from every child table, and the new rows follow.
 *
 * A candidate whose row did not exist when the claim ran (the usual push) skips that purge, a
 * statement over every child table that deletes nothing for a new candidate but costs the
 * database more than the rest of a small push: its row is inserted with ON CONFLICT DO NOTHING
 * RETURNING 1, then its child rows. The hint is checked under the row's lock: when the INSERT
 * inserted nothing (another replica stored the candidate after the claim's read) or a child
 * row's key was taken (rows left by a candidate row deleted by hand), nothing of the try is
 * kept: the write fails as retryable (the bridge rolls it back and writes it again), and this
 * applicationId is purged on every later write of this connection. */
static eb_rc pg_candidate_write(struct eb_adapter *a, const struct eb_push *p, const char *push_id,
                                int64_t updated_at, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    int64_t app = p->data->application_id.v;
    g->fail.set = 0;
    g->fresh = !g->map_sql && g->fresh_sql && g->hint_set && g->hint_app == app &&
               !g->hint_exists && !purge_always(g, app);
    g->hint_set = 0;
    g->watch_at = 0;
    if (!g->conn)
        return tx_fail(g, err);
    eb_rc rc = write_candidate(g, p, push_id, updated_at, err);
    int ok = !rc && pipeline_sync(g, NULL, 0), fresh = g->fresh;
    int inserted = g->watched && PQntuples(g->watched) == 1;
    PQclear(g->watched);
    g->watched = NULL;
    g->watch_at = 0;
    g->fresh = 0;
    if (rc && !g->fail.set)
        return rc; /* the walk itself refused (a mapped key without a value) */
    if (fresh && (ok ? !inserted : !strcmp(g->fail.state, "23505"))) {
        purge_always_add(g, app);
        g->retry = 1;
        return eb_err_set(err, EB_ERR_UNAVAILABLE,
                          "postgres: the candidate had rows when it was written as new; "
                          "writing it again");
    }
    if (!ok)
        return tx_fail(g, err);
    return EB_OK;
}

/* The candidate's row is locked (FOR UPDATE) so that a live push for it waits, or is waited
 * for; the mapped rows hold the last push stored for the applicationId. */
static eb_rc pg_candidate_last(struct eb_adapter *a, int64_t app, struct eb_candidate_last *out,
                               struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    const char *sql = g->map_sql
                          ? "SELECT \"received_at\", \"push_id\" FROM \"push_log\" WHERE"
                            " \"application_id\" = $1 AND \"outcome\" = 'stored'"
                            " ORDER BY \"received_at\" DESC LIMIT 1"
                          : "SELECT l.\"received_at\", c.\"last_push_id\" FROM \"candidate\" c"
                            " JOIN \"push_log\" l ON l.\"push_id\" = c.\"last_push_id\""
                            " WHERE c.\"application_id\" = $1 FOR UPDATE OF c";
    PGresult *r = NULL;
    g->fail.set = 0;
    out->found = 0;
    out->push_id = NULL;
    if (!g->conn || !room(g))
        return tx_fail(g, err);
    bind_int(g, 0, app);
    if (PQsendQueryParams(g->conn, sql, 1, NULL, g->pv, g->pl, g->pf, 0) != 1) {
        note_result(g, NULL, "candidate");
        return tx_fail(g, err);
    }
    g->queued++;
    if (!sync_last(g, &r)) {
        PQclear(r);
        return tx_fail(g, err);
    }
    eb_rc rc = EB_OK;
    if (PQntuples(r) == 1) {
        out->found = 1;
        out->received_at_ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        if (!(out->push_id = strdup(PQgetvalue(r, 0, 1))))
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    }
    PQclear(r);
    return rc;
}

/* Each interview takes a transaction-level advisory lock on its event_id (two replicas
 * replacing one interview take turns), then its rows are deleted and the new ones inserted. */
static eb_rc pg_interview_apply(struct eb_adapter *a, const struct eb_interview_event *ev,
                                const char *push_id, int64_t at, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    if (!g->conn)
        return tx_fail(g, err);
    eb_rc rc = send_interviews(g, ev, push_id, at, err);
    if (rc && !g->fail.set)
        return rc;
    if (rc || !pipeline_sync(g, NULL, 0))
        return tx_fail(g, err);
    return EB_OK;
}

static int pg_retryable(struct eb_adapter *a)
{
    return ((struct pg_adapter *)a)->retry;
}

/* Connections with the same connection string and statement timeout share a writer. A push
 * waits for it at most the statement timeout (30 s when there is none). */
static int pg_share(struct eb_adapter *a, struct eb_adapter_share *out)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    int n = snprintf(out->key, sizeof out->key, "%ld|%s", g->timeout_ms, g->conninfo);
    if (n < 0 || (size_t)n >= sizeof out->key)
        return 0; /* too long to compare: no sharing */
    out->wait_ms = g->timeout_ms > 0 && g->timeout_ms < 600000 ? (int)g->timeout_ms : 30000;
    return 1;
}

/* Rows per page of pg_list_pushes: each page is a query of its own (no snapshot held through
 * a long replay), and a page at most is in memory. */
#define LIST_PAGE 64

/* Lists push_log rows (adapter.h), page by page after the last (received_at, push_id) listed.
 * Results come in binary: the text columns as their bytes, raw as its bytes. */
static eb_rc pg_list_pushes(struct eb_adapter *a, const struct eb_push_filter *f,
                            eb_logged_push_fn fn, void *user, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    eb_rc rc = ensure_connected(g, err);
    if (rc)
        return rc;
    g->fail.set = 0;
    struct eb_sql_list l;
    if (eb_sqlgen_list(&eb_sql_dialect_postgres,
                       "\"push_id\", \"event\", \"triggered_at\", \"received_at\"::text,"
                       " \"outcome\", \"message\", \"payload\", \"raw\"",
                       f, LIST_PAGE, &l)) {
        eb_sqlgen_list_free(&l);
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory listing push_log");
    }
    char *key_id = NULL; /* the last row listed: the next page starts after it */
    for (int rows = LIST_PAGE; !rc && rows == LIST_PAGE;) {
        const char *vals[EB_SQL_LIST_PARAMS];
        char num[EB_SQL_LIST_PARAMS][24];
        for (size_t i = 0; i < l.n_param; i++) { /* as text; the texts are NUL-terminated */
            const struct eb_sql_value *v = &l.param[i];
            vals[i] = v->type == EB_SQL_VTEXT ? v->s : NULL;
            if (v->type == EB_SQL_VINT) {
                snprintf(num[i], sizeof num[i], "%lld", (long long)v->i);
                vals[i] = num[i];
            }
        }
        PGresult *r = PQexecParams(g->conn, l.sql, (int)l.n_param, NULL, vals, NULL, NULL, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            note_result(g, r, "listing push_log");
            PQclear(r);
            rc = fail_rc(g, err);
            break;
        }
        for (rows = 0; !rc && rows < PQntuples(r); rows++) {
            struct eb_logged_push row = {
                .push_id = PQgetvalue(r, rows, 0),
                .event = PQgetisnull(r, rows, 1) ? NULL : PQgetvalue(r, rows, 1),
                .triggered_at = PQgetisnull(r, rows, 2) ? NULL : PQgetvalue(r, rows, 2),
                .received_at_ms = strtoll(PQgetvalue(r, rows, 3), NULL, 10),
                .outcome = outcome_from(PQgetvalue(r, rows, 4)),
                .message = PQgetisnull(r, rows, 5) ? NULL : PQgetvalue(r, rows, 5),
                .payload = PQgetisnull(r, rows, 6) ? NULL : PQgetvalue(r, rows, 6),
                .payload_len = PQgetisnull(r, rows, 6) ? 0 : (size_t)PQgetlength(r, rows, 6),
                .raw = PQgetisnull(r, rows, 7) ? NULL : PQgetvalue(r, rows, 7),
                .raw_len = PQgetisnull(r, rows, 7) ? 0 : (size_t)PQgetlength(r, rows, 7),
            };
            if (fn(user, &row))
                rc = eb_err_set(err, EB_ERR_INTERNAL, "listing stopped");
        }
        if (!rc && rows > 0) {
            free(key_id);
            if (!(key_id = strdup(PQgetvalue(r, rows - 1, 0))))
                rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory listing push_log");
            else
                eb_sqlgen_list_after(&l, strtoll(PQgetvalue(r, rows - 1, 3), NULL, 10), key_id);
        }
        PQclear(r);
    }
    free(key_id);
    eb_sqlgen_list_free(&l);
    return rc;
}

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
static int att_tables(struct pg_adapter *g)
{
    char lock[96];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%lld)", SCHEMA_LOCK_KEY);
    if (exec_ok(g, "BEGIN", "creating the attachment tables") &&
        exec_ok(g, lock, "waiting for the schema lock") &&
        exec_ok(g, att_ddl, "creating the attachment tables") &&
        exec_ok(g, "COMMIT", "creating the attachment tables"))
        return 1;
    PQclear(PQexec(g->conn, "ROLLBACK"));
    return 0;
}

/* Sends sql with the parameters bound in g, in the pipeline. Returns 1 on success. */
static int send_params(struct pg_adapter *g, const char *sql, int n)
{
    int ok = PQsendQueryParams(g->conn, sql, n, NULL, g->pv, g->pl, g->pf, 0) == 1;
    release_params(g);
    if (!ok) {
        note_result(g, NULL, "attachment");
        return 0;
    }
    g->queued++;
    return 1;
}

/* In the push's transaction: one pending row per link, all in the pipeline, then the sync
 * that reads their results (adapter.h, att_enqueue). */
static eb_rc pg_att_enqueue(struct eb_adapter *a, const char *push_id, int64_t application_id,
                            const struct eb_att_link *links, size_t n, int64_t at_ms,
                            struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    if (!g->conn)
        return tx_fail(g, err);
    for (size_t i = 0; i < n; i++) {
        bind_int(g, 1, application_id);
        bind_int(g, 4, at_ms);
        bind_int(g, 5, links[i].expires_ms);
        if (!bind_str(g, 0, push_id) || !bind_str(g, 2, links[i].field) ||
            !bind_text(g, 3, links[i].url, links[i].url_len) ||
            !send_params(g,
                         "INSERT INTO \"attachment\" (\"push_id\", \"application_id\", "
                         "\"field\", \"url\", \"created_at\", \"expires_at\", \"next_at\") "
                         "VALUES ($1, $2, $3, $4, $5, $6, $5) ON CONFLICT (\"push_id\", "
                         "\"field\") DO NOTHING",
                         6) ||
            (g->queued >= PIPELINE_CHUNK && !pipeline_sync(g, NULL, 0))) {
            release_params(g);
            return tx_fail(g, err);
        }
    }
    return pipeline_sync(g, NULL, 0) ? EB_OK : tx_fail(g, err);
}

/* In the replay's transaction: the push's rows neither stored nor pending, pending again. */
static eb_rc pg_att_requeue(struct eb_adapter *a, const char *push_id, int64_t at_ms,
                            struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    g->fail.set = 0;
    if (!g->conn)
        return tx_fail(g, err);
    bind_int(g, 1, at_ms);
    if (!bind_str(g, 0, push_id) ||
        !send_params(g,
                     "UPDATE \"attachment\" SET \"status\" = 'pending', \"next_at\" = $2 WHERE "
                     "\"push_id\" = $1 AND \"status\" NOT IN ('stored', 'pending')",
                     2) ||
        !pipeline_sync(g, NULL, 0)) {
        release_params(g);
        return tx_fail(g, err);
    }
    return EB_OK;
}

/* Runs sql (parameters bound in g) outside any pipeline on a live connection; format 1: binary
 * results. Returns EB_OK with *res (caller clears) or the error. */
static eb_rc att_exec(struct pg_adapter *g, const char *sql, int n, int format, PGresult **res,
                      const char *what, struct eb_err *err)
{
    eb_rc rc = ensure_connected(g, err);
    if (rc) {
        release_params(g);
        return rc;
    }
    g->fail.set = 0;
    PGresult *r = PQexecParams(g->conn, sql, n, NULL, g->pv, g->pl, g->pf, format);
    release_params(g);
    int st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *res = r;
        return EB_OK;
    }
    note_result(g, r, what);
    PQclear(r);
    int lost = connection_lost(g);
    rc = fail_rc(g, err);
    if (lost)
        disconnect(g);
    return rc;
}

static const char *val(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t val_i64(const PGresult *r, int row, int col, int64_t none)
{
    const char *v = val(r, row, col);
    return v ? strtoll(v, NULL, 10) : none;
}

static eb_rc pg_att_claim(struct eb_adapter *a, const char *owner, int64_t now_ms, int64_t lease_ms,
                          struct eb_att_claim *out, int *found, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    *found = 0;
    bind_int(g, 1, now_ms + lease_ms);
    bind_int(g, 2, now_ms);
    if (!bind_str(g, 0, owner)) {
        release_params(g);
        return fail_rc(g, err);
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

static eb_rc pg_att_chunk(struct eb_adapter *a, int64_t id, int attempt, int seq, const void *data,
                          size_t len, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    bind_int(g, 0, id);
    bind_int(g, 1, attempt);
    bind_int(g, 2, seq);
    if (!bind_bytes(g, 3, data ? data : "", len)) {
        release_params(g);
        return fail_rc(g, err);
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

static eb_rc pg_att_finish(struct eb_adapter *a, int64_t id, const char *owner, int attempt,
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
    bind_int(g, 0, id);
    bind_int(g, 4, res->next_ms);
    if (stored) {
        bind_int(g, 5, res->size);
        bind_int(g, 9, attempt);
    } else {
        bind_null(g, 5);
        bind_null(g, 9);
    }
    if (!bind_str(g, 1, owner) || !bind_str(g, 2, eb_att_status_name(res->status)) ||
        !bind_str(g, 3, res->error) || !bind_str(g, 6, stored ? res->sha256 : NULL) ||
        !bind_str(g, 7, stored ? res->content_type : NULL) ||
        !bind_str(g, 8, stored ? res->file_name : NULL) ||
        !bind_str(g, 10, stored ? (res->in_db ? "db" : "dir") : NULL)) {
        release_params(g);
        rc = fail_rc(g, err);
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
    bind_int(g, 0, id);
    bind_int(g, 1, attempt);
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

static eb_rc pg_att_list(struct eb_adapter *a, const struct eb_att_filter *f, eb_att_row_fn fn,
                         void *user, struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    bind_null(g, 1);
    bind_null(g, 2);
    if (f && f->has_application_id)
        bind_int(g, 1, f->application_id);
    if (f && f->id)
        bind_int(g, 2, f->id);
    if (!bind_str(g, 0, f && f->status >= 0 ? eb_att_status_name(f->status) : NULL) ||
        !bind_str(g, 3, f ? f->push_id : NULL)) {
        release_params(g);
        return fail_rc(g, err);
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
        int status = eb_att_status_from(val(r, i, 5));
        struct eb_att_row row = {
            .id = val_i64(r, i, 0, 0),
            .push_id = val(r, i, 1),
            .application_id = val_i64(r, i, 2, 0),
            .field = val(r, i, 3),
            .url = val(r, i, 4),
            .status = status < 0 ? EB_ATT_FAILED : (enum eb_att_status)status,
            .attempts = (int)val_i64(r, i, 6, 0),
            .error = val(r, i, 7),
            .size = val_i64(r, i, 8, -1),
            .sha256 = val(r, i, 9),
            .content_type = val(r, i, 10),
            .file_name = val(r, i, 11),
            .created_ms = val_i64(r, i, 12, 0),
            .expires_ms = val_i64(r, i, 13, 0),
            .purged = val(r, i, 14) && !strcmp(val(r, i, 14), "purged"),
        };
        if (fn(user, &row))
            rc = eb_err_set(err, EB_ERR_INTERNAL, "listing stopped");
    }
    PQclear(r);
    return rc;
}

static eb_rc pg_att_read(struct eb_adapter *a, int64_t id, eb_att_chunk_fn fn, void *user,
                         struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL;
    bind_int(g, 0, id);
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
        bind_int(g, 0, id);
        bind_int(g, 1, attempt);
        bind_int(g, 2, seq);
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

static eb_rc pg_att_stats(struct eb_adapter *a, struct eb_att_stats *out, struct eb_err *err)
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
        int status = eb_att_status_from(val(r, i, 0));
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
static eb_rc pg_att_purge(struct eb_adapter *a, int64_t before_ms, int64_t now_ms,
                          unsigned max_rows, eb_att_purged_fn fn, void *user, int64_t *purged,
                          struct eb_err *err)
{
    struct pg_adapter *g = (struct pg_adapter *)a;
    PGresult *r = NULL, *sel = NULL;
    char *drop = NULL; /* per row of sel: 1 when its file is to go */
    eb_rc rc = att_exec(g, "BEGIN", 0, 0, &r, "purging attachments", err);
    PQclear(r);
    r = NULL;
    if (rc)
        return rc;
    bind_int(g, 0, before_ms);
    bind_int(g, 1, max_rows);
    bind_int(g, 2, now_ms);
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
        const char *was = val(sel, i, 1), *sha = val(sel, i, 2);
        if (!was || strcmp(was, "dir") || !sha)
            continue;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = drop[j] && !strcmp(val(sel, j, 2), sha);
        if (seen)
            continue;
        if (!bind_str(g, 0, sha)) {
            release_params(g);
            rc = fail_rc(g, err);
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
            if (drop[i] && fn && fn(user, val(sel, i, 2)))
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

static const char *const pg_aliases[] = {"postgres", NULL};

/* ---- reads for the admin listener (pushread.h) ----------------------------------------- */

/* Runs a read of pushread.h on this instance's connection; results in binary, which for the
 * text columns (every column of these reads but raw, cast to text) is their bytes. */
static eb_rc read_rows(struct pg_adapter *g, struct eb_pushread_sql *q,
                       int (*row_fn)(void *ctx, const char *const *col, const size_t *len),
                       void *ctx, struct eb_err *err)
{
    eb_rc rc = ensure_connected(g, err);
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
        note_result(g, r, "reading push_log");
        PQclear(r);
        return fail_rc(g, err);
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

struct summary_ctx {
    eb_push_summary_fn fn;
    eb_push_count_fn count_fn;
    void *user;
    eb_push_warning_fn warning_fn;
};

static int warning_row(void *ctx, const char *const *col, const size_t *len)
{
    struct summary_ctx *c = ctx;
    (void)len;
    return eb_pushread_warning_row(col, c->warning_fn, c->user);
}

static int summary_row(void *ctx, const char *const *col, const size_t *len)
{
    struct summary_ctx *c = ctx;
    return eb_pushread_row(col, len, c->fn, c->user);
}

static int count_row(void *ctx, const char *const *col, const size_t *len)
{
    struct summary_ctx *c = ctx;
    (void)len;
    return eb_pushread_count_row(col, c->count_fn, c->user);
}

static eb_rc pg_push_page(struct eb_adapter *a, const struct eb_push_query *q,
                          eb_push_summary_fn fn, void *user, struct eb_err *err)
{
    struct eb_pushread_sql sql;
    struct summary_ctx c = {.fn = fn, .user = user};
    eb_rc rc = eb_pushread_page(&eb_sql_dialect_postgres, q, !a->mapping, &sql, err);
    return rc ? rc : read_rows((struct pg_adapter *)a, &sql, summary_row, &c, err);
}

static eb_rc pg_push_get(struct eb_adapter *a, const char *push_id, eb_push_summary_fn fn,
                         void *user, struct eb_err *err)
{
    struct eb_pushread_sql sql;
    struct summary_ctx c = {.fn = fn, .user = user};
    eb_rc rc = eb_pushread_get(&eb_sql_dialect_postgres, push_id, !a->mapping, &sql, err);
    return rc ? rc : read_rows((struct pg_adapter *)a, &sql, summary_row, &c, err);
}

static eb_rc pg_push_counts(struct eb_adapter *a, int64_t since_ms, int64_t bucket_ms,
                            eb_push_count_fn fn, void *user, struct eb_err *err)
{
    struct eb_pushread_sql sql;
    struct summary_ctx c = {.count_fn = fn, .user = user};
    eb_rc rc = eb_pushread_counts(&eb_sql_dialect_postgres, since_ms, bucket_ms, &sql, err);
    return rc ? rc : read_rows((struct pg_adapter *)a, &sql, count_row, &c, err);
}

static eb_rc pg_push_warnings(struct eb_adapter *a, const char *push_id, eb_push_warning_fn fn,
                              void *user, struct eb_err *err)
{
    struct eb_pushread_sql sql;
    struct summary_ctx c = {.user = user, .warning_fn = fn};
    eb_rc rc = eb_pushread_warnings(&eb_sql_dialect_postgres, push_id, &sql, err);
    return rc ? rc : read_rows((struct pg_adapter *)a, &sql, warning_row, &c, err);
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
        note_result(g, r, "purging push_log");
        PQclear(r);
        return fail_rc(g, err);
    }
    *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return EB_OK;
}

static eb_rc pg_purge_payloads(struct eb_adapter *a, int64_t before_ms, unsigned max_rows,
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
        rc = ensure_connected(g, err);
    if (!rc) {
        g->fail.set = 0;
        PGresult *r = PQexec(g->conn, "BEGIN");
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            note_result(g, r, "purging push_log");
        PQclear(r);
        if (!ok)
            rc = fail_rc(g, err);
    }
    if (!rc && !(rc = pg_change(g, &sql[0], &n, err)) && !(rc = pg_change(g, &sql[1], &n, err))) {
        PGresult *r = PQexec(g->conn, "COMMIT");
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            note_result(g, r, "purging push_log");
            rc = fail_rc(g, err);
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

const struct eb_adapter_methods eb_adapter_postgres = {
    .version = 4,
    .name = "postgres",
    .scheme = "postgresql",
    .instance_size = sizeof(struct pg_adapter),
    .open = pg_open,
    .close = pg_close,
    .ping = pg_ping,
    .aliases = pg_aliases,
    .list_pushes = pg_list_pushes,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_transaction = pg_in_transaction,
    .savepoint = pg_savepoint,
    .release = pg_release,
    .rollback_to = pg_rollback_to,
    .log_get = pg_log_get,
    .log_put = pg_log_put,
    .candidate_write = pg_candidate_write,
    .candidate_last = pg_candidate_last,
    .interview_apply = pg_interview_apply,
    .retryable = pg_retryable,
    .share = pg_share,
    .push_page = pg_push_page,
    .push_get = pg_push_get,
    .push_counts = pg_push_counts,
    .purge_payloads = pg_purge_payloads,
    .push_warnings = pg_push_warnings,
    .att_enqueue = pg_att_enqueue,
    .att_requeue = pg_att_requeue,
    .att_claim = pg_att_claim,
    .att_chunk = pg_att_chunk,
    .att_finish = pg_att_finish,
    .att_list = pg_att_list,
    .att_read = pg_att_read,
    .att_stats = pg_att_stats,
    .att_purge = pg_att_purge,
};

/* Tests of the PostgreSQL adapter against a real server (EB_PG_URL; tools/test.sh starts a
 * throwaway cluster): URL forms and their errors (no password in any message), connection
 * failures, schema creation by concurrent first opens, migration of an older schema, refusal of a
 * newer one, a nested candidate stored and read back, duplicates, replacement, rejected and failed
 * pushes, atomicity, a candidate's child rows when it is new and when it is replaced (never a
 * stale one, whoever wrote it), the statement timeout, reconnection after the server dropped the connection,
 * interview events (create, duplicate, update, delete), and two instances hammering shared push
 * ids and applicationIds from two threads.
 * Without EB_PG_URL the test is skipped (exit 77) outside CI and fails in CI (CI=true). */
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "bridge/bridge.h"
#include "sql/interview_sql.h"
#include "sql/sqlgen.h"
#include "candidate/candidate.h"
#include "candidate/interview.h"
#include "check.h"
#include "sample_push.h"
#include "util/buf.h"
#include "util/metrics.h"

static char host[256], port[16], user[128], password[128]; /* from EB_PG_URL */
static char dbname[64];                                    /* the fresh database of this run */
static char kv_url[1024];  /* postgresql:host=... dbname=<dbname> (key=value form) */
static char uri_url[1024]; /* postgresql://user:pass@host:port/<dbname> (URI form) */

/* ---- the server behind the adapter's back ------------------------------------------------ */

/* Appends "key='value'" with libpq's quoting. */
static void kv_add(char *buf, size_t n, const char *key, const char *val)
{
    size_t o = strlen(buf);
    o += (size_t)snprintf(buf + o, n - o, "%s%s='", o ? " " : "", key);
    for (const char *p = val; *p && o + 3 < n; p++) {
        if (*p == '\'' || *p == '\\')
            buf[o++] = '\\';
        buf[o++] = *p;
    }
    snprintf(buf + o, n - o, "'");
}

/* Percent-encodes s for a URI component. */
static void pct(char *out, size_t n, const char *s)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < n; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.')
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, n - o, "%%%02X", *p);
    }
    out[o] = '\0';
}

/* The key=value connection string of database db on EB_PG_URL's server. */
static void conninfo(char *ci, size_t n, const char *db)
{
    ci[0] = '\0';
    kv_add(ci, n, "host", host);
    kv_add(ci, n, "port", port);
    kv_add(ci, n, "user", user);
    if (password[0])
        kv_add(ci, n, "password", password);
    kv_add(ci, n, "dbname", db);
}

/* A libpq connection to database db ("" = EB_PG_URL's own). */
static PGconn *peek_db(const char *db)
{
    char ci[1024];
    const char *own = getenv("EB_PG_DBNAME");
    conninfo(ci, sizeof ci, db[0] ? db : own ? own : "postgres");
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to the test server: %s\n", PQerrorMessage(c));
        exit(2);
    }
    return c;
}

static PGconn *peek(void)
{
    return peek_db(dbname);
}

static void exec_or_die(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
        exit(2);
    }
    PQclear(r);
}

/* First column of the first row as an integer; -999 when NULL or no row, -998 on error. */
static int64_t q_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int64_t v = -998;
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        v = PQntuples(r) < 1 || PQgetisnull(r, 0, 0) ? -999
                                                     : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
    PQclear(r);
    return v;
}

/* First column of the first row as text ("(null)" when NULL, "(none)" when no row). */
static const char *q_text(PGconn *c, const char *sql)
{
    static char buf[8][1024];
    static int slot;
    char *out = buf[slot++ % 8];
    PGresult *r = PQexec(c, sql);
    snprintf(out, 1024, "(error)");
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        if (PQntuples(r) < 1)
            snprintf(out, 1024, "(none)");
        else if (PQgetisnull(r, 0, 0))
            snprintf(out, 1024, "(null)");
        else
            snprintf(out, 1024, "%s", PQgetvalue(r, 0, 0));
    } else {
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
    }
    PQclear(r);
    return out;
}

/* Rows in every table of the public schema. */
static int64_t total_rows(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT table_name FROM information_schema.tables WHERE "
                            "table_schema = 'public'");
    int64_t n = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        char sql[300];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", PQgetvalue(r, i, 0));
        n += q_int(c, sql);
    }
    PQclear(r);
    return n;
}

/* Runs "<verb> \"<name>\"<tail>" on database name from EB_PG_URL's own database (a database
 * cannot be created or dropped from a connection to it). */
static void database_command(const char *verb, const char *name, const char *tail)
{
    char sql[200];
    PGconn *c = peek_db("");
    snprintf(sql, sizeof sql, "%s \"%s\"%s", verb, name, tail);
    exec_or_die(c, sql);
    PQfinish(c);
}

static void create_db(const char *name)
{
    database_command("CREATE DATABASE", name, "");
}

static void drop_db(const char *name)
{
    database_command("DROP DATABASE IF EXISTS", name, " WITH (FORCE)");
}

/* The key=value URL of database db, with extra appended ("" for none). */
static void kv_url_for(char *out, size_t n, const char *db, const char *extra)
{
    char ci[900];
    conninfo(ci, sizeof ci, db);
    snprintf(out, n, "postgresql:%s%s%s", ci, extra[0] ? " " : "", extra);
}

/* The URI of database db with query q ("" for none). */
static void uri_for(char *out, size_t n, const char *db, const char *q)
{
    char u[300], p[300];
    pct(u, sizeof u, user);
    pct(p, sizeof p, password);
    snprintf(out, n, "postgresql://%s%s%s@%s:%s/%s%s%s", u, password[0] ? ":" : "", p, host, port,
             db, q[0] ? "?" : "", q);
}

/* A loopback port where nothing listens. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

/* ---- pushes ------------------------------------------------------------------------------ */

typedef PGconn peek_t;

static void peek_close(peek_t *c)
{
    PQfinish(c);
}

/* What differs from SQLite (adapter_tests.h): text columns cannot hold bytes that are not UTF-8
 * (the adapter cleans them); a CHECK constraint makes the insert fail. */
#define INT_TEXT(digits) digits
#define SQL_TYPEOF       "pg_typeof"
#define SQL_HEX(col)     "encode(" col ", 'hex')"
#define CLEANS_TEXT      1
#define BOOM_CODE        "SQLSTATE 23514" /* check_violation */

static void boom_on(peek_t *c)
{
    exec_or_die(c, "ALTER TABLE candidate_interviewer_feedback_subject_option ADD CONSTRAINT "
                   "boom CHECK (value <> 'boom')");
}

static void boom_off(peek_t *c)
{
    exec_or_die(c,
                "ALTER TABLE candidate_interviewer_feedback_subject_option DROP CONSTRAINT boom");
}

#define REWRITES_METRIC "ehrbridge_postgres_transaction_rewrites_total"

/* Holds push_log against writers (another transaction's lock), then lets it go. */
static void hold_writes(peek_t *c)
{
    exec_or_die(c, "BEGIN");
    exec_or_die(c, "LOCK TABLE push_log IN EXCLUSIVE MODE");
}

static void release_writes(peek_t *c)
{
    exec_or_die(c, "COMMIT");
}

#include "adapter_tests.h"

/* ---- tests ------------------------------------------------------------------------------- */

static void test_lookup_and_url_errors(void)
{
    struct eb_adapter *a = NULL;
    struct eb_err err;
    char u[1200];
    CHECK(eb_adapter_lookup("postgresql://h/db") == &eb_adapter_postgres);
    CHECK(eb_adapter_lookup("postgres://h/db") == &eb_adapter_postgres);
    CHECK(eb_adapter_lookup("PostgreSQL:host=h dbname=db") == &eb_adapter_postgres);
    CHECK(eb_adapter_lookup("postgres:host=h") == &eb_adapter_postgres);
    CHECK(eb_adapter_lookup("postgresx://h/db") == NULL);
    CHECK(eb_adapter_lookup("sqlite:x.db") == &eb_adapter_sqlite);

    /* bad options: configuration errors, never the password */
    CHECK(eb_bridge_open("postgresql://u:Zq9secretpw@127.0.0.1:1/db?statement_timeout=soon", NULL,
                         &a, &err) == EB_ERR_CONFIG);
    CHECK(a == NULL);
    CHECK(strstr(err.msg, "statement_timeout") != NULL);
    CHECK(eb_bridge_open("postgresql://u:Zq9secretpw@127.0.0.1:1/db?nosuchoption=1", NULL, &a,
                         &err) == EB_ERR_CONFIG);
    CHECK(strstr(err.msg, "nosuchoption") != NULL);
    CHECK(strstr(err.msg, "Zq9secretpw") == NULL);
    CHECK(eb_bridge_open("postgresql://u:Zq9sec%zzretpw@127.0.0.1:1/db", NULL, &a, &err) ==
          EB_ERR_CONFIG);
    CHECK(strstr(err.msg, "Zq9sec") == NULL);
    CHECK(eb_bridge_open("postgresql:host=127.0.0.1 dbname", NULL, &a, &err) == EB_ERR_CONFIG);
    CHECK(eb_bridge_open("postgresql:host=127.0.0.1 password='Zq9secretpw", NULL, &a, &err) ==
          EB_ERR_CONFIG);
    CHECK(strstr(err.msg, "Zq9secretpw") == NULL);
    CHECK(eb_bridge_open("postgresql:host=127.0.0.1 statement_timeout=5h", NULL, &a, &err) ==
          EB_ERR_CONFIG);
    static const char *const bad_writers[] = {"0", "17", "x", "", "4x", "99999999999"};
    for (size_t i = 0; i < sizeof bad_writers / sizeof bad_writers[0]; i++) {
        snprintf(u, sizeof u, "postgresql://u:Zq9secretpw@127.0.0.1:1/db?writers=%s",
                 bad_writers[i]);
        CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_ERR_CONFIG);
        CHECK(strstr(err.msg, "writers") != NULL);
        snprintf(u, sizeof u, "postgresql:host=127.0.0.1 writers='%s'", bad_writers[i]);
        CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_ERR_CONFIG);
        CHECK(strstr(err.msg, "writers") != NULL);
    }

    /* nothing listens: unavailable, one line, no password */
    snprintf(u, sizeof u, "postgresql://u:Zq9secretpw@127.0.0.1:%d/db", closed_port());
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_ERR_UNAVAILABLE);
    CHECK(a == NULL);
    CHECK(strstr(err.msg, "cannot connect") != NULL);
    CHECK(strstr(err.msg, "Zq9secretpw") == NULL);
    CHECK(strchr(err.msg, '\n') == NULL);

    /* the wrong password */
    if (password[0]) {
        char p[sizeof password];
        memcpy(p, password, sizeof p);
        memmove(password + 5, password, sizeof password - 6);
        memcpy(password, "Wr0ng", 5);
        password[sizeof password - 1] = '\0';
        uri_for(u, sizeof u, dbname, "");
        CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_ERR_UNAVAILABLE);
        CHECK(strstr(err.msg, "password authentication failed") != NULL);
        CHECK(strstr(err.msg, password) == NULL);
        CHECK(strchr(err.msg, '\n') == NULL);
        kv_url_for(u, sizeof u, dbname, "");
        CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_ERR_UNAVAILABLE);
        CHECK(strstr(err.msg, password) == NULL);
        memcpy(password, p, sizeof password);
    }
}

static void test_open_creates_schema(void)
{
    struct eb_adapter *a = NULL;
    struct eb_err err;
    CHECK(eb_adapter_open(kv_url, &a, &err) == EB_OK); /* the adapter alone: no writer */
    if (!a) {
        fprintf(stderr, "open: %s\n", err.msg);
        return;
    }
    CHECK(eb_adapter_ping(a, &err) == EB_OK);
    PGconn *c = peek();
    struct eb_sql_schema *s = NULL;
    CHECK(eb_sqlgen_build(&eb_sql_dialect_postgres, &s, &err) == EB_OK);
    /* + push_warning, attachment, attachment_chunk */
    int64_t tables = s ? (int64_t)s->n_tables + EB_ITV_N_TABLES + 1 + 2 : -1;
    CHECK(q_int(c, "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                   "'public'") == tables);
    eb_sqlgen_free(s);
    CHECK(q_int(c, "SELECT version FROM schema_version") == EB_SQL_SCHEMA_VERSION);
    CHECK(q_int(c, "SELECT count(*) FROM schema_version") == 1);
    CHECK(q_int(c, "SELECT count(*) FROM pg_indexes WHERE indexname IN "
                   "('push_log_application_id', 'push_log_received_at')") == 2);
    CHECK_STR(q_text(c, "SELECT data_type FROM information_schema.columns WHERE table_name = "
                        "'candidate' AND column_name = 'application_id'"),
              "bigint");
    CHECK_STR(q_text(c, "SELECT data_type FROM information_schema.columns WHERE table_name = "
                        "'push_log' AND column_name = 'raw'"),
              "bytea");
    /* one connection, prepared statements, the statement timeout */
    CHECK(q_int(c, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND application_name = 'ehrbridge'") == 1);
    eb_adapter_close(a);

    /* a second open (URI form, statement_timeout option) finds the schema */
    CHECK(eb_bridge_open(uri_url, NULL, &a, &err) == EB_OK);
    eb_bridge_close(a);
    CHECK(q_int(c, "SELECT count(*) FROM schema_version") == 1);
    PQfinish(c);
}

struct opener {
    const char *url; /* what to open */
    eb_rc rc;        /* what the open returned */
    char msg[256];   /* and why */
};

static void *open_one(void *arg)
{
    struct opener *o = arg;
    struct eb_adapter *a = NULL;
    struct eb_err err = {EB_OK, ""};
    o->rc = eb_bridge_open(o->url, NULL, &a, &err);
    snprintf(o->msg, sizeof o->msg, "%s", err.msg);
    eb_bridge_close(a);
    return NULL;
}

/* Replicas starting together on an empty database: one creates the schema, all open. */
static void test_concurrent_first_open(void)
{
    char db[80], u[1200];
    enum { N = 6 };
    struct opener o[N];
    pthread_t th[N];
    snprintf(db, sizeof db, "%s_race", dbname);
    create_db(db);
    kv_url_for(u, sizeof u, db, "");
    for (int i = 0; i < N; i++) {
        o[i].url = u;
        pthread_create(&th[i], NULL, open_one, &o[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (o[i].rc)
            fprintf(stderr, "concurrent open %d: %s\n", i, o[i].msg);
        CHECK(o[i].rc == EB_OK);
    }
    PGconn *c = peek_db(db);
    CHECK(q_int(c, "SELECT count(*) FROM schema_version") == 1);
    CHECK(q_int(c, "SELECT version FROM schema_version") == EB_SQL_SCHEMA_VERSION);
    PQfinish(c);
    drop_db(db);
}

/* An older schema (version 0 here: a table missing, no version row) is completed; a newer one is
 * refused by a new open and noticed by ping. */
static void test_versions(void)
{
    char db[80], u[1200];
    struct eb_adapter *a = NULL, *b = NULL;
    struct eb_err err;
    snprintf(db, sizeof db, "%s_ver", dbname);
    create_db(db);
    kv_url_for(u, sizeof u, db, "");
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    eb_bridge_close(a);
    a = NULL;
    PGconn *c = peek_db(db);
    exec_or_die(c, "DROP TABLE interview_interviewee"); /* tables added after a version */
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    eb_bridge_close(a);
    a = NULL;
    CHECK(q_int(c, "SELECT count(*) FROM interview_interviewee") == 0);
    exec_or_die(c, "DROP TABLE candidate_label");
    exec_or_die(c, "DELETE FROM schema_version");
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    CHECK(q_int(c, "SELECT count(*) FROM candidate_label") == 0);
    CHECK(q_int(c, "SELECT version FROM schema_version") == EB_SQL_SCHEMA_VERSION);
    CHECK(q_int(c, "SELECT count(*) FROM schema_version") == 1);

    /* version 1 (before the area names): the name columns are added and filled */
    exec_or_die(c, "ALTER TABLE candidate DROP COLUMN native_place_name");
    exec_or_die(c, "ALTER TABLE candidate DROP COLUMN nationality_name");
    exec_or_die(c, "UPDATE schema_version SET version = 1");
    exec_or_die(c, "INSERT INTO candidate (application_id, last_push_id, updated_at, "
                   "native_place_code, nationality_code) VALUES (1, 'p1', 1, 310107, 3)");
    eb_bridge_close(a);
    a = NULL;
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    CHECK(q_int(c, "SELECT version FROM schema_version") == EB_SQL_SCHEMA_VERSION);
    CHECK_STR(q_text(c, "SELECT native_place_name FROM candidate"), "普陀District");
    CHECK(q_int(c, "SELECT count(*) FROM candidate WHERE nationality_name IS NULL") == 1);

    /* version 2 (before push_log_received_at): the index is created */
    exec_or_die(c, "DROP INDEX push_log_received_at");
    exec_or_die(c, "UPDATE schema_version SET version = 2");
    eb_bridge_close(a);
    a = NULL;
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    CHECK(q_int(c, "SELECT version FROM schema_version") == EB_SQL_SCHEMA_VERSION);
    CHECK(q_int(c, "SELECT count(*) FROM pg_indexes WHERE indexname = 'push_log_received_at'") ==
          1);

    /* version 4 (before the push browser's indexes): both are created, candidate_name in byte
     * order; opened again, nothing changes */
    exec_or_die(c, "DROP INDEX candidate_name");
    exec_or_die(c, "DROP INDEX push_log_outcome");
    exec_or_die(c, "UPDATE schema_version SET version = 4");
    for (int round = 0; round < 2; round++) {
        eb_bridge_close(a);
        a = NULL;
        CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
        CHECK(q_int(c, "SELECT version FROM schema_version") == 5);
        CHECK(q_int(c, "SELECT count(*) FROM schema_version") == 1);
        CHECK(q_int(c, "SELECT count(*) FROM pg_indexes WHERE indexname = 'push_log_outcome' AND "
                       "indexdef LIKE '%(outcome, received_at, push_id)'") == 1);
        CHECK(q_int(c, "SELECT count(*) FROM pg_indexes WHERE indexname = 'candidate_name' AND "
                       "indexdef LIKE '%(name COLLATE \"C\")'") == 1);
    }

    exec_or_die(c, "UPDATE schema_version SET version = 99");
    CHECK(a && eb_adapter_ping(a, &err) == EB_ERR_DB);
    CHECK(strstr(err.msg, "database schema version 99 is newer than this ehrbridge (") != NULL);
    CHECK(eb_bridge_open(u, NULL, &b, &err) == EB_ERR_DB);
    CHECK(b == NULL);
    CHECK(strstr(err.msg, "database schema version 99 is newer than this ehrbridge (") != NULL);
    eb_bridge_close(a);
    PQfinish(c);
    drop_db(db);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Another session holding the candidate's row lock past the statement timeout: unavailable. */
static void test_statement_timeout(void)
{
    char u[1200];
    struct eb_adapter *a = NULL;
    struct eb_err err;
    struct eb_stored out;
    static struct sample s;
    kv_url_for(u, sizeof u, dbname, "statement_timeout=300ms");
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    if (!a)
        return;
    PGconn *c = peek();
    exec_or_die(c, "BEGIN");
    exec_or_die(c, "SELECT 1 FROM candidate WHERE application_id = 2002 FOR UPDATE");
    sample_init(&s, "push-locked", 2002, 1, 0);
    struct eb_push_record r = record(s.id, 2002, 1700000001000);
    int64_t t0 = mono_ms();
    CHECK(eb_bridge_store_push(a, &s.push, &r, &out, &err) == EB_ERR_UNAVAILABLE);
    int64_t took = mono_ms() - t0;
    CHECK(took >= 250 && took < 3000);
    CHECK(strstr(err.msg, "57014") != NULL);
    exec_or_die(c, "COMMIT");
    CHECK(eb_bridge_store_push(a, &s.push, &r, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    CHECK_STR(q_text(c, "SELECT last_push_id FROM candidate WHERE application_id = 2002"),
              "push-locked");
    PQfinish(c);
    eb_bridge_close(a);
}

/* The server drops the connection (as in a restart): the next push, failure report and ping
 * connect again by themselves. */
static void test_reconnect(struct eb_adapter *a)
{
    static struct sample s;
    struct eb_stored out;
    struct eb_err err;
    PGconn *c = peek();
    const char *kill = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                       "datname = current_database() AND application_name = 'ehrbridge'";
    CHECK(q_int(c, kill) >= 1);
    sample_init(&s, "push-after-kill", 6006, 2, 1);
    CHECK(store(a, &s, 1700000002000, &out) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    CHECK(q_int(c, "SELECT count(*) FROM candidate_experience WHERE application_id = 6006") == 2);
    CHECK(q_int(c, kill) >= 1);
    CHECK(eb_adapter_ping(a, &err) == EB_OK);
    CHECK(q_int(c, kill) >= 1);
    struct eb_push_record r = record("push-f-kill", 6007, 1700000002100);
    r.outcome = EB_OUTCOME_FAILED;
    r.message = "database unavailable, push not stored; retry later";
    CHECK(eb_bridge_log_failure(a, &r, &err) == EB_OK);
    CHECK_STR(q_text(c, "SELECT outcome FROM push_log WHERE push_id = 'push-f-kill'"), "failed");
    PQfinish(c);
}

/* ---- a candidate's child rows, written as new or replaced ---------------------------- */

/* Puts one row for app into every child table, every key column other than application_id
 * set to seq, the other NOT NULL columns to 0 or '-': the rows an older version of ehrbridge,
 * another replica, or a candidate row deleted by hand may have left. Returns the tables. */
static size_t fill_children(PGconn *c, const struct eb_sql_schema *sc, int64_t app, int seq)
{
    size_t n = 0;
    const struct eb_sql_table *ch = eb_sqlgen_child_tables(sc, &n);
    for (size_t i = 0; i < n; i++) {
        char cols[1024] = "", vals[1024] = "";
        size_t cl = 0, vl = 0;
        for (size_t k = 0; k < ch[i].n_columns; k++) {
            const struct eb_sql_column *col = &ch[i].columns[k];
            if (k >= ch[i].n_keys && !col->not_null)
                continue;
            char v[32];
            if (k == 0)
                snprintf(v, sizeof v, "%lld", (long long)app);
            else if (k < ch[i].n_keys || col->type == EB_SQL_INTEGER)
                snprintf(v, sizeof v, "%d", k < ch[i].n_keys ? seq : 0);
            else
                snprintf(v, sizeof v, "'-'");
            cl +=
                (size_t)snprintf(cols + cl, sizeof cols - cl, "%s\"%s\"", k ? ", " : "", col->name);
            vl += (size_t)snprintf(vals + vl, sizeof vals - vl, "%s%s", k ? ", " : "", v);
        }
        char sql[2300];
        snprintf(sql, sizeof sql, "INSERT INTO \"%s\" (%s) VALUES (%s)", ch[i].name, cols, vals);
        exec_or_die(c, sql);
    }
    return n;
}

/* The rows of app in every child table; with marker >= 0, only those whose last key column (the
 * row's seq) is marker. */
static int64_t child_rows(PGconn *c, const struct eb_sql_schema *sc, int64_t app, int marker)
{
    size_t n = 0;
    const struct eb_sql_table *ch = eb_sqlgen_child_tables(sc, &n);
    int64_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        char sql[400], seq[120] = "";
        if (marker >= 0)
            snprintf(seq, sizeof seq, " AND \"%s\" = %d", ch[i].columns[ch[i].n_keys - 1].name,
                     marker);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\" WHERE application_id = %lld%s",
                 ch[i].name, (long long)app, seq);
        int64_t k = q_int(c, sql);
        if (k)
            fprintf(stderr, "  %s: %lld row(s) of %lld%s\n", ch[i].name, (long long)k,
                    (long long)app, marker >= 0 ? " left from before" : "");
        rows += k;
    }
    return rows;
}

#define STALE 900 /* seq of the rows fill_children leaves */

/* The claim of a push for app reads its candidate row as missing; then another replica stores
 * the candidate, with rows in every child table (collide: also on the keys this push takes),
 * before this push's write takes the row. The write must fail as retryable and nothing of it
 * stay; written again, the candidate holds this push's rows only. */
static void new_then_stored_elsewhere(struct eb_adapter *a, PGconn *db,
                                      const struct eb_sql_schema *sc, int64_t app, int collide,
                                      int64_t per_push)
{
    static struct sample s;
    struct eb_err err;
    struct eb_stored out;
    char id[32], sql[200];
    snprintf(id, sizeof id, "push-race-%lld", (long long)app);
    sample_init(&s, id, app, 2, 1);
    struct eb_push_record r = record(s.id, app, 1700000001400);
    int written = 0;
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_log_put(a, &r, EB_OUTCOME_STORED, r.received_at_ms, 1, &written, &err) ==
              EB_OK &&
          written);
    snprintf(sql, sizeof sql,
             "INSERT INTO candidate (application_id, last_push_id, updated_at) VALUES "
             "(%lld, 'push-elsewhere', 1)",
             (long long)app);
    exec_or_die(db, sql);
    if (collide)
        fill_children(db, sc, app, 0);
    fill_children(db, sc, app, STALE);
    /* without a savepoint the rows are not waited for: the failure comes with the commit */
    eb_rc rc = eb_adapter_candidate_write(a, &s.push, s.id, r.received_at_ms, &err);
    if (rc == EB_OK)
        rc = eb_adapter_commit(a, &err);
    CHECK(rc != EB_OK);
    CHECK(rc == EB_OK || eb_adapter_retryable(a));
    eb_adapter_rollback(a);
    CHECK(store(a, &s, 1700000001400, &out) == EB_OK && out.outcome == EB_OUTCOME_STORED &&
          out.duplicate == 0);
    CHECK(child_rows(db, sc, app, STALE) == 0);
    CHECK(child_rows(db, sc, app, -1) == per_push);
    snprintf(sql, sizeof sql, "SELECT last_push_id FROM candidate WHERE application_id = %lld",
             (long long)app);
    CHECK_STR(q_text(db, sql), id);
}

/* A new candidate skips the purge of the child tables; a replaced one never keeps a child row
 * of what it held before: rows written by this version, or by an older one or another replica
 * in tables this push does not write (every child table), replaced by a push with no children;
 * a candidate stored by another replica between the claim and the write (the claim thought it
 * new), and child rows whose candidate row was deleted by hand, both written again with the
 * purge. */
static void test_children_replaced(struct eb_adapter *a)
{
    struct eb_sql_schema *sc = NULL;
    struct eb_err err;
    struct eb_stored out;
    static struct sample ref, s;
    CHECK(eb_sqlgen_build(&eb_sql_dialect_postgres, &sc, &err) == EB_OK);
    if (!sc)
        return;
    PGconn *db = peek();
    /* what one push of the sample writes, for a candidate never seen */
    sample_init(&ref, "push-ref", 7101, 2, 1);
    CHECK(store(a, &ref, 1700000001000, &out) == EB_OK && out.outcome == EB_OUTCOME_STORED);
    int64_t per_push = child_rows(db, sc, 7101, -1);
    CHECK(per_push >= 10);

    /* stored with children in many tables, then more left in every child table */
    sample_init(&s, "push-full", 7102, 2, 1);
    CHECK(store(a, &s, 1700000001100, &out) == EB_OK);
    size_t tables = fill_children(db, sc, 7102, STALE);
    CHECK(tables >= 30);
    CHECK(child_rows(db, sc, 7102, -1) == per_push + (int64_t)tables);
    /* replaced by a push with no children at all */
    sample_init(&s, "push-none", 7102, 0, 0);
    s.c.education_info_n = s.c.custom_fields_n = s.c.id_card_front_list_n = 0;
    s.c.job = NULL;
    s.c.offer = NULL;
    CHECK(store(a, &s, 1700000001200, &out) == EB_OK && out.outcome == EB_OUTCOME_STORED);
    CHECK(child_rows(db, sc, 7102, -1) == 0);
    CHECK_STR(q_text(db, "SELECT last_push_id FROM candidate WHERE application_id = 7102"),
              "push-none");
    /* and by one with fewer children than the first */
    fill_children(db, sc, 7102, STALE);
    sample_init(&s, "push-fewer", 7102, 1, 0);
    CHECK(store(a, &s, 1700000001300, &out) == EB_OK && out.outcome == EB_OUTCOME_STORED);
    CHECK(child_rows(db, sc, 7102, STALE) == 0);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 7102") == 1);

    /* the claim reads the candidate as new; another replica stores it, with rows in every child
     * table (on keys this push takes too, or not), before this write takes the row */
    new_then_stored_elsewhere(a, db, sc, 7103, 1, per_push);
    new_then_stored_elsewhere(a, db, sc, 7105, 0, per_push);

    /* child rows without their candidate row (deleted by hand), on the keys a push takes */
    fill_children(db, sc, 7104, 0);
    sample_init(&s, "push-orphans", 7104, 2, 1);
    CHECK(store(a, &s, 1700000001500, &out) == EB_OK && out.outcome == EB_OUTCOME_STORED);
    CHECK(child_rows(db, sc, 7104, -1) == per_push);
    CHECK_STR(q_text(db, "SELECT last_push_id FROM candidate WHERE application_id = 7104"),
              "push-orphans");
    PQfinish(db);
    eb_sqlgen_free(sc);
}

/* Rows sent many to a statement (arrays, from 4 rows of one table) hold what rows sent one by
 * one hold: NULLs, integers, booleans, text that is not valid UTF-8 (cleaned the same way). */
static void test_many_rows_same(struct eb_adapter *a)
{
    static struct sample one, many;
    static struct eb_experience exp[6];
    struct eb_stored out;
    for (size_t i = 0; i < 6; i++)
        exp[i] = (struct eb_experience){.company = "甲\xff公司 \"q\" {x,y} \\ NULL",
                                        .title = i % 2 ? NULL : "工程师",
                                        .start_date = "2015-07-01",
                                        .now = i % 3 == 0 ? EB_BOOL_UNSET : (int)(i % 2)};
    sample_init(&one, "push-one-row", 7201, 0, 0);
    sample_init(&many, "push-many-rows", 7202, 0, 0);
    one.c.experience_info = exp;
    one.c.experience_info_n = 1;
    many.c.experience_info = exp;
    many.c.experience_info_n = 6;
    CHECK(store(a, &one, 1700000002000, &out) == EB_OK && out.outcome == EB_OUTCOME_STORED);
    CHECK(store(a, &many, 1700000002100, &out) == EB_OK && out.outcome == EB_OUTCOME_STORED);
    PGconn *db = peek();
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 7202") == 6);
    /* row seq of 7202 against the row 7201 would hold with item seq: stored one by one */
    for (size_t i = 0; i < 6; i++) {
        one.c.experience_info = &exp[i];
        char id[32], sql[400];
        snprintf(id, sizeof id, "push-one-row-%zu", i);
        snprintf(one.id, sizeof one.id, "%s", id);
        CHECK(store(a, &one, 1700000002200 + (int64_t)i, &out) == EB_OK);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM candidate_experience o JOIN candidate_experience m ON "
                 "m.application_id = 7202 AND m.seq = %zu WHERE o.application_id = 7201 AND "
                 "to_jsonb(o) - 'application_id' - 'seq' = to_jsonb(m) - 'application_id' - 'seq'",
                 i);
        CHECK(q_int(db, sql) == 1);
    }
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 7202 AND "
                    "title IS NULL") == 3);
    PQfinish(db);
}

/* ---- two instances, two threads ------------------------------------------------------- */

static void test_two_instances(void)
{
    char db[80], u[1200];
    struct worker w[2];
    snprintf(db, sizeof db, "%s_two", dbname);
    create_db(db);
    uri_for(u, sizeof u, db, "");
    if (start_writers(u, w)) {
        PGconn *c = peek_db(db);
        check_writers(w, c);
        PQfinish(c);
    }
    drop_db(db);
}

/* writers=N: the two instances' writes go through N writer connections of their own (each
 * candidate's through one), with the same result as through one: every push stored once, each
 * hot candidate holding exactly its last push's rows. */
static void test_several_writers(int writers)
{
    char db[80], q[32], u[1200], sql[300];
    struct worker w[2];
    snprintf(db, sizeof db, "%s_w%d", dbname, writers);
    create_db(db);
    snprintf(q, sizeof q, "writers=%d", writers);
    uri_for(u, sizeof u, db, q);
    PGconn *c = peek_db(db);
    if (start_writers(u, w)) {
        /* the writers connect when the group starts, beside the two instances' own connections */
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND "
                 "application_name = 'ehrbridge'",
                 db);
        int64_t conns = q_int(c, sql);
        CHECK(conns == writers + 2);
        check_writers(w, c);
    }
    PQfinish(c);
    drop_db(db);
}

/* Interview events: stored, answered from the record when repeated, replaced, deleted. */
static void test_interviews(struct eb_adapter *a)
{
    int64_t apps[2] = {1001, 2002};
    struct eb_interview_person people[2] = {
        {.id = {7, 1}, .name = "王五", .email = "wangwu@example.com"},
        {.id = {8, 1}, .name = "赵六", .url = "https://moka.example/i/8"},
    };
    struct eb_interview iv[2] = {
        {.event_id = "ev-1",
         .application_ids = apps,
         .application_ids_n = 2,
         .round_name = "一面",
         .start_time = {1700000000000, 1},
         .interviewer_ids = "[7,8]",
         .interviewers = people,
         .interviewers_n = 2,
         .interviewees = people,
         .interviewees_n = 1},
        {.event_id = "ev-2", .application_ids = apps, .application_ids_n = 1},
    };
    struct eb_interview_event ev = {.kind = EB_INTERVIEW_CREATE,
                                    .event = "createInterviewsInfo",
                                    .interview_type = {1, 1},
                                    .creator_name = "HR",
                                    .interviews = iv,
                                    .interviews_n = 2};
    struct eb_stored out;
    struct eb_err err;
    struct eb_push_record r = record("itv-1", 0, 1700000004000);
    r.event = "createInterviewsInfo";
    PGconn *c = peek();
    CHECK(eb_bridge_store_interview_event(a, &ev, &r, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    CHECK(q_int(c, "SELECT count(*) FROM interview") == 2);
    CHECK_STR(q_text(c, "SELECT round_name FROM interview WHERE event_id = 'ev-1'"), "一面");
    CHECK_STR(q_text(c, "SELECT last_push_id FROM interview WHERE event_id = 'ev-1'"), "itv-1");
    CHECK(q_int(c, "SELECT count(*) FROM interview_application WHERE event_id = 'ev-1'") == 2);
    CHECK(q_int(c, "SELECT count(*) FROM interview_interviewer WHERE event_id = 'ev-1'") == 2);
    CHECK(q_int(c, "SELECT count(*) FROM interview_interviewee WHERE event_id = 'ev-1'") == 1);
    CHECK_STR(q_text(c, "SELECT outcome FROM push_log WHERE push_id = 'itv-1'"), "stored");
    /* the same push id again: nothing written */
    iv[0].round_name = "changed";
    CHECK(eb_bridge_store_interview_event(a, &ev, &r, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 1);
    CHECK_STR(q_text(c, "SELECT round_name FROM interview WHERE event_id = 'ev-1'"), "一面");
    /* an update replaces ev-1's rows */
    struct eb_push_record r2 = record("itv-2", 0, 1700000004100);
    r2.event = "updateInterviewsInfo";
    ev.kind = EB_INTERVIEW_UPDATE;
    ev.event = "updateInterviewsInfo";
    iv[0].interviewers_n = 1;
    iv[0].application_ids_n = 1;
    ev.interviews_n = 1;
    CHECK(eb_bridge_store_interview_event(a, &ev, &r2, &out, &err) == EB_OK);
    CHECK(out.duplicate == 0);
    CHECK_STR(q_text(c, "SELECT round_name FROM interview WHERE event_id = 'ev-1'"), "changed");
    CHECK(q_int(c, "SELECT count(*) FROM interview_interviewer WHERE event_id = 'ev-1'") == 1);
    CHECK(q_int(c, "SELECT count(*) FROM interview_application WHERE event_id = 'ev-1'") == 1);
    CHECK(q_int(c, "SELECT count(*) FROM interview WHERE event_id = 'ev-2'") == 1);
    /* a delete removes every row of the event_id; an unknown one is no error */
    struct eb_push_record r3 = record("itv-3", 0, 1700000004200);
    struct eb_interview gone[2] = {{.event_id = "ev-1"}, {.event_id = "ev-unknown"}};
    struct eb_interview_event del = {.kind = EB_INTERVIEW_DELETE,
                                     .event = "deleteInterviewsInfo",
                                     .interviews = gone,
                                     .interviews_n = 2};
    CHECK(eb_bridge_store_interview_event(a, &del, &r3, &out, &err) == EB_OK);
    CHECK(q_int(c, "SELECT count(*) FROM interview WHERE event_id = 'ev-1'") == 0);
    CHECK(q_int(c, "SELECT count(*) FROM interview_interviewer WHERE event_id = 'ev-1'") == 0);
    CHECK(q_int(c, "SELECT count(*) FROM interview_interviewee WHERE event_id = 'ev-1'") == 0);
    CHECK(q_int(c, "SELECT count(*) FROM interview_application WHERE event_id = 'ev-1'") == 0);
    CHECK(q_int(c, "SELECT count(*) FROM interview WHERE event_id = 'ev-2'") == 1);
    CHECK(q_int(c, "SELECT count(*) FROM push_log WHERE push_id LIKE 'itv-%' AND outcome = "
                   "'stored'") == 3);
    PQfinish(c);
}

/* Splits EB_PG_URL into its parts with libpq's parser. */
static int parse_env_url(const char *url)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        fprintf(stderr, "EB_PG_URL: %s\n", perr ? perr : "cannot parse");
        PQfreemem(perr);
        return 0;
    }
    snprintf(host, sizeof host, "127.0.0.1");
    snprintf(port, sizeof port, "5432");
    snprintf(user, sizeof user, "%s", getenv("USER") ? getenv("USER") : "postgres");
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !o->val[0])
            continue;
        if (!strcmp(o->keyword, "host"))
            snprintf(host, sizeof host, "%s", o->val);
        else if (!strcmp(o->keyword, "port"))
            snprintf(port, sizeof port, "%s", o->val);
        else if (!strcmp(o->keyword, "user"))
            snprintf(user, sizeof user, "%s", o->val);
        else if (!strcmp(o->keyword, "password"))
            snprintf(password, sizeof password, "%s", o->val);
        else if (!strcmp(o->keyword, "dbname"))
            setenv("EB_PG_DBNAME", o->val, 1);
    }
    PQconninfoFree(opts);
    return 1;
}

int main(void)
{
    const char *url = getenv("EB_PG_URL");
    if (!url || !*url) {
        const char *ci = getenv("CI");
        if (ci && !strcmp(ci, "true")) {
            fprintf(stderr, "test_postgres: EB_PG_URL is not set in CI (tools/test.sh starts a "
                            "throwaway PostgreSQL and sets it)\n");
            return 1;
        }
        printf("test_postgres: SKIPPED: EB_PG_URL is not set (tools/test.sh starts a throwaway "
               "PostgreSQL and sets it)\n");
        return 77;
    }
    if (!parse_env_url(url))
        return 2;
    snprintf(dbname, sizeof dbname, "eb_unit_%ld_%ld", (long)getpid(), (long)time(NULL));
    create_db(dbname);
    kv_url_for(kv_url, sizeof kv_url, dbname, "");
    /* one writer: the batches of test_batch_with_failures are written as queued */
    uri_for(uri_url, sizeof uri_url, dbname,
            "statement_timeout=5s&application_name=ehrbridge&writers=1");

    test_lookup_and_url_errors();
    test_open_creates_schema();
    test_concurrent_first_open();
    test_versions();
    struct eb_adapter *a = NULL;
    struct eb_err err;
    CHECK(eb_bridge_open(uri_url, NULL, &a, &err) == EB_OK);
    if (a) {
        test_store_and_read_back(a);
        test_duplicate(a);
        test_replacement(a);
        test_rejected(a);
        test_failed_then_retried(a);
        test_batch_with_failures(a); /* before test_atomic, which stores a 'boom' value */
        test_atomic(a);
        test_list_pages(a);
        test_many_items(a);
        test_children_replaced(a);
        test_many_rows_same(a);
        test_interviews(a);
        test_statement_timeout();
        test_reconnect(a);
        CHECK(eb_adapter_ping(a, &err) == EB_OK);
    } else {
        fprintf(stderr, "open: %s\n", err.msg);
    }
    eb_bridge_close(a);
    test_two_instances();
    test_several_writers(1);
    test_several_writers(3);
    drop_db(dbname);
    return check_report("test_postgres");
}

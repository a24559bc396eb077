/* Tests of the SQLite adapter on temporary files: schema creation and version check, a nested
 * candidate stored and read back column by column, duplicates, replacement, rejected and failed
 * pushes, atomicity, child rows left without their candidate row, lock timeouts, and two
 * instances writing from two threads. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "bridge/bridge.h"
#include "adapters/pushread.h"
#include "sql/sqlgen.h"
#include "candidate/candidate.h"
#include "check.h"
#include "sample_push.h"
#include "util/buf.h"
#include "util/metrics.h"

#include "sqlite_peek.h"

/* ---- pushes ------------------------------------------------------------------------------ */

typedef sqlite3 peek_t;

static peek_t *peek(void)
{
    return peek_open();
}

static void peek_close(peek_t *db)
{
    sqlite3_close(db);
}

/* What differs from PostgreSQL (adapter_tests.h): q_text marks integers; SQLite keeps text as
 * given, valid UTF-8 or not; a trigger makes the insert fail. */
#define INT_TEXT(digits) "int:" digits
#define SQL_TYPEOF       "typeof"
#define SQL_HEX(col)     "lower(hex(" col "))"
#define CLEANS_TEXT      0
#define BOOM_CODE        "(1811)" /* SQLITE_CONSTRAINT_TRIGGER */

static void boom_on(peek_t *db)
{
    exec_or_die(db, "CREATE TRIGGER boom BEFORE INSERT ON "
                    "candidate_interviewer_feedback_subject_option WHEN NEW.value = 'boom' "
                    "BEGIN SELECT RAISE(ABORT, 'boom'); END");
}

static void boom_off(peek_t *db)
{
    exec_or_die(db, "DROP TRIGGER boom");
}

#define REWRITES_METRIC "ehrbridge_sqlite_transaction_rewrites_total"

/* Holds the database's write lock (another connection's write transaction), then lets it go. */
static void hold_writes(peek_t *db)
{
    exec_or_die(db, "BEGIN IMMEDIATE");
}

static void release_writes(peek_t *db)
{
    exec_or_die(db, "COMMIT");
}

#include "adapter_tests.h"

/* ---- tests ------------------------------------------------------------------------------- */

/* The details of EXPLAIN QUERY PLAN sql, one per line. */
static const char *plan(sqlite3 *db, const char *sql)
{
    static char out[4096];
    char q[4096];
    sqlite3_stmt *st = NULL;
    size_t k = 0;
    out[0] = 0;
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    CHECK(sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK);
    while (st && sqlite3_step(st) == SQLITE_ROW && k < sizeof out)
        k += (size_t)snprintf(out + k, sizeof out - k, "%s\n", sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    return out;
}

static void test_open_creates_schema(void)
{
    struct eb_adapter *a = NULL;
    struct eb_err err;
    CHECK(eb_adapter_lookup(url) == &eb_adapter_sqlite);
    CHECK(eb_adapter_lookup("SQLite:x.db") == &eb_adapter_sqlite);
    CHECK(eb_adapter_lookup("mysql://x") == NULL);
    CHECK(eb_bridge_open(url, NULL, &a, &err) == EB_OK);
    CHECK(a != NULL);
    CHECK(eb_adapter_ping(a, &err) == EB_OK);
    sqlite3 *db = peek_open();
    struct eb_sql_schema *s = NULL;
    CHECK(eb_sqlgen_build(&eb_sql_dialect_sqlite, &s, &err) == EB_OK);
    /* the candidate schema, plus the 4 interview tables (sql/interview_sql.h),
     * push_warning (sql/warning_sql.h) and the archive's attachment and attachment_chunk */
    CHECK(s && q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'") ==
                   (int64_t)s->n_tables + 5 + 2);
    eb_sqlgen_free(s);
    CHECK(q_int(db, "SELECT version FROM schema_version") == EB_SQL_SCHEMA_VERSION);
    CHECK(q_int(db, "SELECT count(*) FROM schema_version") == 1);
    CHECK(q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                    "name IN ('push_log_application_id', 'push_log_received_at')") == 2);
    /* replay's listing by time seeks that index: no scan or sort of the whole log */
    struct eb_push_filter f = {.push_id = NULL, .outcome = -1, .from_ms = 5, .to_ms = 9};
    struct eb_sql_list l;
    CHECK(eb_sqlgen_list(&eb_sql_dialect_sqlite, "push_id, payload", &f, 64, &l) == EB_OK);
    const char *p = plan(db, l.sql);
    CHECK(strstr(p, "USING INDEX push_log_received_at ((received_at,push_id)>(?,?) AND "
                    "received_at<?)") &&
          !strstr(p, "TEMP B-TREE"));
    /* the values in the placeholders' order: to_ms, then the first page's key (from_ms, "") */
    CHECK(l.n_param == 3 && l.key == 1);
    CHECK(l.param[0].type == EB_SQL_VINT && l.param[0].i == 9);
    CHECK(l.param[1].type == EB_SQL_VINT && l.param[1].i == 5);
    CHECK(l.param[2].type == EB_SQL_VTEXT && l.param[2].len == 0);
    eb_sqlgen_list_free(&l);
    f.from_ms = 0;
    f.push_id = "p-1"; /* and by push id, the primary key */
    CHECK(eb_sqlgen_list(&eb_sql_dialect_sqlite, "push_id, payload", &f, 64, &l) == EB_OK);
    CHECK(strstr(plan(db, l.sql), "USING INDEX sqlite_autoindex_push_log_1 (push_id=?)") != NULL);
    CHECK(l.n_param == 4 && l.key == 2 && !strcmp(l.param[0].s, "p-1") && l.param[1].i == 9 &&
          l.param[2].i == INT64_MIN);
    eb_sqlgen_list_free(&l);
    CHECK_STR(q_text(db, "PRAGMA journal_mode"), "wal");
    sqlite3_close(db);
    eb_bridge_close(a);

    /* a second open finds the schema and does not create it again */
    CHECK(eb_bridge_open(url, NULL, &a, &err) == EB_OK);
    eb_bridge_close(a);
    db = peek_open();
    CHECK(q_int(db, "SELECT count(*) FROM schema_version") == 1);
    sqlite3_close(db);

    /* URL forms and options */
    char u[300];
    snprintf(u, sizeof u, "sqlite://%s?synchronous=normal&busy_timeout=100", db_path);
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    eb_bridge_close(a);
    snprintf(u, sizeof u, "sqlite:%s?synchronous=sometimes", db_path);
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_ERR_CONFIG);
    CHECK(a == NULL);
    CHECK(strstr(err.msg, "synchronous") != NULL);
    snprintf(u, sizeof u, "sqlite:%s?cache=shared", db_path);
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_ERR_CONFIG);
    CHECK(eb_bridge_open("sqlite:", NULL, &a, &err) == EB_ERR_CONFIG);
    CHECK(eb_bridge_open("mysql://user:secret@host/db", NULL, &a, &err) == EB_ERR_CONFIG);
    CHECK(strstr(err.msg, "secret") == NULL);
    /* a directory that does not exist */
    CHECK(eb_bridge_open("sqlite:/nonexistent-dir-eb/x.db", NULL, &a, &err) == EB_ERR_UNAVAILABLE);
    CHECK(a == NULL);
}

/* A version 1 database (before the area names) is migrated on open: the name columns are
 * added and filled from the codes of the rows already there, push_log_received_at (version 3)
 * created, the version recorded. */
static void test_migration_from_1(void)
{
    char path[160], u[200];
    snprintf(path, sizeof path, "%s/v1.db", dir);
    snprintf(u, sizeof u, "sqlite:%s", path);
    struct eb_adapter *a = NULL;
    struct eb_err err;
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    eb_bridge_close(a);
    a = NULL;
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    exec_or_die(db, "DROP INDEX push_log_received_at");
    exec_or_die(db, "ALTER TABLE candidate DROP COLUMN native_place_name");
    exec_or_die(db, "ALTER TABLE candidate DROP COLUMN nationality_name");
    exec_or_die(db, "UPDATE schema_version SET version = 1");
    exec_or_die(db, "INSERT INTO candidate (application_id, last_push_id, updated_at, "
                    "native_place_code, nationality_code) VALUES (1, 'p1', 1, 310107, 3), "
                    "(2, 'p2', 2, NULL, NULL), (3, 'p3', 3, 999999, 110000)");
    sqlite3_close(db);
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    CHECK(a && eb_adapter_ping(a, &err) == EB_OK);
    eb_bridge_close(a);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(q_int(db, "SELECT version FROM schema_version") == EB_SQL_SCHEMA_VERSION);
    CHECK(q_int(db, "SELECT count(*) FROM schema_version") == 1);
    CHECK(q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                    "name = 'push_log_received_at'") == 1);
    CHECK_STR(q_text(db, "SELECT native_place_name FROM candidate WHERE application_id = 1"),
              "普陀District");
    CHECK(q_int(db, "SELECT count(*) FROM candidate WHERE application_id = 1 AND "
                    "nationality_name IS NULL") == 1);
    CHECK(q_int(db, "SELECT count(*) FROM candidate WHERE application_id = 2 AND "
                    "native_place_name IS NULL") == 1);
    CHECK(q_int(db, "SELECT count(*) FROM candidate WHERE application_id = 3 AND "
                    "native_place_name IS NULL") == 1);
    CHECK_STR(q_text(db, "SELECT nationality_name FROM candidate WHERE application_id = 3"),
              "北京City");
    sqlite3_close(db);
    unlink(path);
}

/* A version 4 database gains candidate_name and push_log_outcome on open (version 5); opened
 * again nothing changes. The push browser's reads seek them: a search's terms are one
 * MULTI-INDEX OR (the name a range of candidate_name) or, for a frequent name, a walk of
 * push_log_received_at; the chart counts ranges of push_log_outcome without reading a row or
 * sorting. */
static void test_migration_from_4(void)
{
    char path[160], u[200];
    snprintf(path, sizeof path, "%s/v4.db", dir);
    snprintf(u, sizeof u, "sqlite:%s", path);
    struct eb_adapter *a = NULL;
    struct eb_err err;
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    eb_bridge_close(a);
    a = NULL;
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    exec_or_die(db, "DROP INDEX candidate_name");
    exec_or_die(db, "DROP INDEX push_log_outcome");
    exec_or_die(db, "UPDATE schema_version SET version = 4");
    sqlite3_close(db);
    for (int round = 0; round < 2; round++) {
        CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
        CHECK(a && eb_adapter_ping(a, &err) == EB_OK);
        eb_bridge_close(a);
        a = NULL;
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        CHECK(q_int(db, "SELECT version FROM schema_version") == 5);
        CHECK(q_int(db, "SELECT count(*) FROM schema_version") == 1);
        CHECK(q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                        "name IN ('candidate_name', 'push_log_outcome')") == 2);
        sqlite3_close(db);
    }

    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    struct eb_push_query q = {
        .outcome = -1, .q = "12345", .q_app = 12345, .has_q_app = 1, .limit = 50};
    struct eb_pushread_sql r;
    CHECK(eb_pushread_page(&eb_sql_dialect_sqlite, &q, 1, &r, &err) == EB_OK);
    const char *p = plan(db, r.sql);
    CHECK(strstr(p, "MULTI-INDEX OR") && strstr(p, "sqlite_autoindex_push_log_1 (push_id=?)") &&
          strstr(p, "push_log_application_id (application_id=?)") &&
          strstr(p, "COVERING INDEX candidate_name (name>? AND name<?)") &&
          strstr(p, "SCAN l USING INDEX push_log_received_at") && !strstr(p, "SCAN l\n") &&
          !strstr(p, "SCAN c") && !strstr(p, "SCAN n"));
    eb_pushread_free(&r);
    CHECK(eb_pushread_counts(&eb_sql_dialect_sqlite, 1000, 100, &r, &err) == EB_OK);
    p = plan(db, r.sql);
    CHECK(strstr(p, "COVERING INDEX push_log_outcome (outcome=? AND received_at>? AND "
                    "received_at<?)") &&
          !strstr(p, "TEMP B-TREE FOR GROUP BY"));
    eb_pushread_free(&r);
    CHECK(eb_pushread_counts(&eb_sql_dialect_sqlite, 1000, 0, &r, &err) == EB_ERR_INVALID);
    sqlite3_close(db);
    unlink(path);
}

struct ids {
    char id[64][32];
    int n;
};

static int collect_id(void *user, const struct eb_push_summary *row)
{
    struct ids *ids = user;
    if (ids->n < 64)
        snprintf(ids->id[ids->n++], sizeof ids->id[0], "%s", row->push_id);
    return 0;
}

/* A name search finds the candidates whose name starts with the text in byte order, newest
 * first and a page at a time, both when few candidates have such a name (index seeks) and when
 * more than EB_PUSHREAD_FEW_NAMES do (a walk of the newest pushes): the same rows either way. */
static void test_name_search(void)
{
    char path[160], u[200];
    snprintf(path, sizeof path, "%s/names.db", dir);
    snprintf(u, sizeof u, "sqlite:%s", path);
    struct eb_adapter *a = NULL;
    struct eb_err err;
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    exec_or_die(db, "BEGIN");
    for (int i = 1; i <= EB_PUSHREAD_FEW_NAMES + 100; i++) {
        char sql[400];
        /* 李伟<i> for odd i, 李芳<i> for even i; push n-<i> received at i */
        snprintf(sql, sizeof sql,
                 "INSERT INTO candidate (application_id, last_push_id, updated_at, name) VALUES "
                 "(%d, 'n-%04d', %d, '李%s%d'); INSERT INTO push_log (push_id, received_at, "
                 "application_id, outcome) VALUES ('n-%04d', %d, %d, '%s')",
                 i, i, i, i % 2 ? "伟" : "芳", i, i, i, i, i % 3 ? "stored" : "failed");
        exec_or_die(db, sql);
    }
    exec_or_die(db, "INSERT INTO candidate (application_id, last_push_id, updated_at, name) "
                    "VALUES (9000, 'w-1', 1, '李'), (9001, 'w-2', 2, '杏'), (9002, 'w-3', 3, "
                    "'李伟')");
    exec_or_die(db, "INSERT INTO push_log (push_id, received_at, application_id, outcome) VALUES "
                    "('w-1', 5000, 9000, 'stored'), ('w-2', 5001, 9001, 'stored'), "
                    "('w-3', 1, 9002, 'stored')");
    exec_or_die(db, "COMMIT");
    sqlite3_close(db);

    /* more than EB_PUSHREAD_FEW_NAMES names start with 李: the newest 50, then the next 50 */
    struct eb_push_query q = {.outcome = -1, .q = "李", .limit = 50};
    struct ids ids = {.n = 0};
    CHECK(eb_adapter_push_page(a, &q, collect_id, &ids, &err) == EB_OK);
    CHECK(ids.n == 50 && !strcmp(ids.id[0], "w-1"));
    char want[32];
    for (int k = 1; k < ids.n; k++) {
        snprintf(want, sizeof want, "n-%04d", EB_PUSHREAD_FEW_NAMES + 100 - (k - 1));
        CHECK_STR(ids.id[k], want);
    }
    q.after_ms = EB_PUSHREAD_FEW_NAMES + 100 - 48;
    q.after_id = ids.id[49];
    ids.n = 0;
    CHECK(eb_adapter_push_page(a, &q, collect_id, &ids, &err) == EB_OK);
    snprintf(want, sizeof want, "n-%04d", EB_PUSHREAD_FEW_NAMES + 100 - 49);
    CHECK(ids.n == 50 && !strcmp(ids.id[0], want));
    /* with an outcome: only the failed ones (every third) */
    q.after_id = NULL;
    q.after_ms = 0;
    q.outcome = EB_OUTCOME_FAILED;
    ids.n = 0;
    CHECK(eb_adapter_push_page(a, &q, collect_id, &ids, &err) == EB_OK);
    snprintf(want, sizeof want, "n-%04d", (EB_PUSHREAD_FEW_NAMES + 100) / 3 * 3);
    CHECK(ids.n == 50 && !strcmp(ids.id[0], want));
    /* fewer: 李伟 (the odd ones, and 李伟 itself, the oldest), not 李芳 nor 杏 */
    q.outcome = -1;
    q.q = "李伟";
    q.limit = 64;
    ids.n = 0;
    CHECK(eb_adapter_push_page(a, &q, collect_id, &ids, &err) == EB_OK);
    CHECK(ids.n == 64);
    snprintf(want, sizeof want, "n-%04d", EB_PUSHREAD_FEW_NAMES + 100 - 1);
    CHECK_STR(ids.id[0], want);
    for (int k = 0; k < ids.n; k++)
        CHECK(atoi(ids.id[k] + 2) % 2 == 1);
    q.q = "李伟1";
    q.limit = 50;
    ids.n = 0;
    CHECK(eb_adapter_push_page(a, &q, collect_id, &ids, &err) == EB_OK);
    CHECK(ids.n == 50);
    for (int k = 0; k < ids.n; k++) { /* odd, and the number starts with 1 */
        int n = atoi(ids.id[k] + 2);
        char d[16];
        snprintf(d, sizeof d, "%d", n);
        CHECK(n % 2 == 1 && d[0] == '1');
    }
    q.q = "杏";
    ids.n = 0;
    CHECK(eb_adapter_push_page(a, &q, collect_id, &ids, &err) == EB_OK);
    CHECK(ids.n == 1 && !strcmp(ids.id[0], "w-2"));
    eb_bridge_close(a);
    unlink(path);
}

static void test_newer_version_refused(void)
{
    char path[160], u[200];
    snprintf(path, sizeof path, "%s/newer.db", dir);
    snprintf(u, sizeof u, "sqlite:%s", path);
    struct eb_adapter *a = NULL, *b = NULL;
    struct eb_err err;
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    exec_or_die(db, "UPDATE schema_version SET version = 99");
    sqlite3_close(db);
    /* the open instance notices on ping */
    CHECK(eb_adapter_ping(a, &err) == EB_ERR_DB);
    CHECK(strstr(err.msg, "database schema version 99 is newer than this ehrbridge (") != NULL);
    eb_bridge_close(a);
    /* and a new one refuses to open */
    CHECK(eb_bridge_open(u, NULL, &b, &err) == EB_ERR_DB);
    CHECK(b == NULL);
    CHECK(strstr(err.msg, "database schema version 99 is newer than this ehrbridge (") != NULL);
    unlink(path);
    snprintf(path, sizeof path, "%s/newer.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/newer.db-shm", dir);
    unlink(path);
}

/* Child rows left behind when a candidate row was deleted by hand: the next push for that
 * applicationId replaces them like those of a candidate that is still there. */
static void test_orphans(struct eb_adapter *a)
{
    static struct sample s;
    struct eb_stored out;
    sqlite3 *db = peek_open();
    CHECK(q_int(db, "SELECT count(*) FROM candidate_interviewer WHERE application_id = 2002") == 1);
    exec_or_die(db, "DELETE FROM candidate WHERE application_id = 2002");
    sample_init(&s, "push-orphans", 2002, 2, 0);
    s.c.name = "孤儿";
    CHECK(store(a, &s, 1700000001000, &out) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    CHECK_STR(q_text(db, "SELECT name FROM candidate WHERE application_id = 2002"), "孤儿");
    CHECK_STR(q_text(db, "SELECT last_push_id FROM candidate WHERE application_id = 2002"),
              "push-orphans");
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 2002") == 2);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_education WHERE application_id = 2002") == 1);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_interviewer WHERE application_id = 2002") == 0);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_interviewer_feedback_subject_option WHERE "
                    "application_id = 2002") == 0);
    CHECK_STR(q_text(db, "SELECT outcome FROM push_log WHERE push_id = 'push-orphans'"), "stored");
    sqlite3_close(db);
}

/* Many child rows of one table: every one stored with its own seq and values; a row failing
 * in the middle fails the push alone and leaves nothing; orphan rows are replaced. */
static void test_many_rows(struct eb_adapter *a)
{
    enum { N = 37 };
    static struct sample s;
    static struct eb_experience exp[N];
    static char companies[N][32];
    struct eb_stored out;
    struct eb_err err;
    sqlite3 *db = peek_open();
    sample_init(&s, "push-many", 3003, 0, 0);
    for (int i = 0; i < N; i++) {
        snprintf(companies[i], sizeof companies[i], "公司%02d", i);
        exp[i] = (struct eb_experience){.company = companies[i], .now = i % 2};
    }
    s.c.experience_info = exp;
    s.c.experience_info_n = N;
    CHECK(store(a, &s, 1700000002000, &out) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 3003") == N);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 3003 AND "
                    "company = printf('公司%02d', seq) AND now = seq % 2") == N);
    CHECK(q_int(db, "SELECT max(seq) FROM candidate_experience WHERE application_id = 3003") ==
          N - 1);

    /* a row in the middle fails: nothing of the push is written */
    exec_or_die(db, "CREATE TRIGGER boom BEFORE INSERT ON candidate_experience WHEN "
                    "NEW.company = '公司20' BEGIN SELECT RAISE(ABORT, 'boom'); END");
    int64_t before = total_rows(db);
    sample_init(&s, "push-many-boom", 3004, 0, 0);
    s.c.experience_info = exp;
    s.c.experience_info_n = N;
    struct eb_push_record r = record(s.id, 3004, 1700000002100);
    CHECK(eb_bridge_store_push(a, &s.push, &r, &out, &err) == EB_ERR_DB);
    CHECK(strstr(err.msg, "boom") != NULL);
    CHECK(total_rows(db) == before);
    exec_or_die(db, "DROP TRIGGER boom");

    /* orphans: the candidate row deleted by hand, N child rows left; a push with fewer */
    exec_or_die(db, "DELETE FROM candidate WHERE application_id = 3003");
    sample_init(&s, "push-many-again", 3003, 0, 0);
    s.c.experience_info = exp;
    s.c.experience_info_n = 17;
    CHECK(store(a, &s, 1700000002200, &out) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 3003") == 17);
    CHECK_STR(q_text(db, "SELECT last_push_id FROM candidate WHERE application_id = 3003"),
              "push-many-again");
    sqlite3_close(db);
}

/* Another connection holding the write lock past the busy timeout: unavailable, retryable. */
static void test_locked(void)
{
    char u[300];
    struct eb_adapter *a = NULL;
    struct eb_err err;
    struct eb_stored out;
    static struct sample s;
    snprintf(u, sizeof u, "sqlite:%s?busy_timeout=100", db_path);
    CHECK(eb_bridge_open(u, NULL, &a, &err) == EB_OK);
    if (!a)
        return;
    sqlite3 *db = peek_open();
    exec_or_die(db, "BEGIN IMMEDIATE");
    sample_init(&s, "push-locked", 5005, 1, 0);
    struct eb_push_record r = record(s.id, 5005, 1700000001000);
    CHECK(eb_bridge_store_push(a, &s.push, &r, &out, &err) == EB_ERR_UNAVAILABLE);
    CHECK(strstr(err.msg, "locked") != NULL);
    CHECK(eb_bridge_log_failure(a, &r, &err) == EB_ERR_UNAVAILABLE);
    exec_or_die(db, "COMMIT");
    CHECK(eb_bridge_store_push(a, &s.push, &r, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    CHECK(q_int(db, "SELECT count(*) FROM candidate WHERE application_id = 5005") == 1);
    sqlite3_close(db);
    eb_bridge_close(a);
}

/* ---- two instances, two threads, and another process's writer ------------------------- */

#define OUTSIDE_WRITES 100

/* Another process's writer: its own connection, so it meets the adapters through SQLite's
 * locks and busy timeout (the adapters' in-process gate does not know it). */
static void *outside_writer(void *arg)
{
    const char *path = arg;
    sqlite3 *db = NULL;
    long ok = 0;
    if (sqlite3_open(path, &db) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        for (int i = 0; i < OUTSIDE_WRITES; i++) {
            if (sqlite3_exec(db, "BEGIN IMMEDIATE; INSERT INTO scratch VALUES (1); COMMIT", NULL,
                             NULL, NULL) == SQLITE_OK)
                ok++;
            else
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    sqlite3_close(db);
    return (void *)ok;
}

static void test_two_threads(void)
{
    char path[160], u[200];
    snprintf(path, sizeof path, "%s/threads.db", dir);
    snprintf(u, sizeof u, "sqlite:%s?synchronous=normal", path);
    struct worker w[2];
    pthread_t outside;
    void *outside_ok = NULL;
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    exec_or_die(db, "CREATE TABLE scratch (x INTEGER)");
    pthread_create(&outside, NULL, outside_writer, path);
    int started = start_writers(u, w);
    pthread_join(outside, &outside_ok);
    CHECK((long)outside_ok == OUTSIDE_WRITES);
    if (started)
        check_writers(w, db);
    CHECK(q_int(db, "SELECT count(*) FROM scratch") == OUTSIDE_WRITES);
    sqlite3_close(db);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/eb_sqlite_XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(db_path, sizeof db_path, "%s/eb.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", db_path);

    test_open_creates_schema();
    test_newer_version_refused();
    test_migration_from_1();
    test_migration_from_4();
    test_name_search();
    struct eb_adapter *a = NULL;
    struct eb_err err;
    CHECK(eb_bridge_open(url, NULL, &a, &err) == EB_OK);
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
        test_orphans(a);
        test_many_rows(a);
        CHECK(eb_adapter_ping(a, &err) == EB_OK);
    }
    test_locked();
    eb_bridge_close(a);
    test_two_threads();

    const char *files[] = {"eb.db",      "eb.db-wal",      "eb.db-shm",
                           "threads.db", "threads.db-wal", "threads.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[200];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
    return check_report("test_sqlite");
}

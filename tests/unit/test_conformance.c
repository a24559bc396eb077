/* The conformance suite (conformance.h) against every adapter: the test double, SQLite,
 * PostgreSQL (EB_PG_URL, in a schema of its own that is dropped at the end), and ODBC with
 * Debian's SQLite and PostgreSQL drivers (libsqlite3odbc.so, psqlodbcw.so), and MariaDB through
 * Debian's odbc-mariadb when EB_MARIADB_ODBC names a server (tools/mariadb.sh start; tools/test.sh
 * starts one). Without EB_PG_URL the PostgreSQL runs, without a driver its ODBC run, and without
 * EB_MARIADB_ODBC the MariaDB run, are skipped, except in CI (CI=true), where they fail. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"
#include "fake_adapter.h"
#include "util/log.h"

static int in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && !strcmp(ci, "true");
}

/* A backend that cannot run: skipped, or a failure in CI. */
static void skip(const char *backend, const char *why)
{
    fprintf(stderr, "test_conformance: %s %s: %s\n", backend, in_ci() ? "FAILED" : "skipped", why);
    if (in_ci())
        CHECK(!"a backend cannot run in CI");
}

static void run_url(const char *backend, const char *url, int64_t app)
{
    struct eb_adapter *a = NULL;
    struct eb_err err;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "conf-%s-%ld", backend, (long)getpid());
    CHECK(eb_bridge_open(url, NULL, &a, &err) == EB_OK);
    if (!a) {
        fprintf(stderr, "test_conformance: %s: %s\n", backend, err.msg);
        return;
    }
    int before = check_failed;
    /* applicationIds of this run only: a database may outlive the run (MariaDB's) */
    conformance_run(a, prefix, app * 10000000 + (int64_t)getpid() * 10);
    eb_bridge_close(a);
    printf("test_conformance: %s: %s\n", backend, check_failed == before ? "conforms" : "FAILS");
}

static const char *odbc_driver(const char *lib, char *path, size_t n)
{
    static const char *const dirs[] = {"/usr/lib/x86_64-linux-gnu/odbc",
                                       "/usr/lib/aarch64-linux-gnu/odbc", "/usr/lib/odbc"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, n, "%s/%s", dirs[i], lib);
        if (access(path, R_OK) == 0)
            return path;
    }
    return NULL;
}

/* The parts of EB_PG_URL an ODBC connection string needs. */
struct pg_parts {
    char host[256], port[16], user[128], password[128], dbname[128];
};

static int pg_parts(const char *url, struct pg_parts *p)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        PQfreemem(perr);
        return 0;
    }
    snprintf(p->host, sizeof p->host, "127.0.0.1");
    snprintf(p->port, sizeof p->port, "5432");
    snprintf(p->user, sizeof p->user, "postgres");
    snprintf(p->password, sizeof p->password, "%s", "");
    snprintf(p->dbname, sizeof p->dbname, "postgres");
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !o->val[0])
            continue;
        char *dst = !strcmp(o->keyword, "host")       ? p->host
                    : !strcmp(o->keyword, "port")     ? p->port
                    : !strcmp(o->keyword, "user")     ? p->user
                    : !strcmp(o->keyword, "password") ? p->password
                    : !strcmp(o->keyword, "dbname")   ? p->dbname
                                                      : NULL;
        if (dst)
            snprintf(dst, 128, "%s", o->val);
    }
    PQconninfoFree(opts);
    return 1;
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Runs sql on EB_PG_URL's database (its notices dropped); 1 when it succeeded. */
static int pg_exec(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PQsetNoticeProcessor(c, quiet, NULL);
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "test_conformance: %s", PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
    return ok;
}

int main(void)
{
    eb_log_setup(EB_LOG_WARN, EB_LOG_TEXT);
    char dir[] = "/tmp/eb-conformance-XXXXXX", url[1024], path[512], schema[64], sql[128];
    long pid = (long)getpid();

    /* the test double: the bridge's rules hold over it too */
    struct fake_adapter f;
    fake_adapter_init(&f);
    int before = check_failed;
    conformance_run(&f.base, "conf-fake", 9100);
    printf("test_conformance: fake: %s\n", check_failed == before ? "conforms" : "FAILS");

    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return check_report("test_conformance");
    }
    snprintf(url, sizeof url, "sqlite:%s/conformance.db", dir);
    run_url("sqlite", url, 9200);

    const char *drv = odbc_driver("libsqlite3odbc.so", path, sizeof path);
    if (drv) {
        snprintf(url, sizeof url, "odbc:DRIVER=%s;Database=%s/odbc.db", drv, dir);
        run_url("odbc-sqlite", url, 9300);
    } else {
        skip("odbc-sqlite", "the ODBC driver libsqlite3odbc.so is not installed");
    }

    const char *pg = getenv("EB_PG_URL");
    struct pg_parts pp;
    if (!pg || !*pg || !pg_parts(pg, &pp)) {
        skip("postgres", "EB_PG_URL is not set (tools/pg.sh start)");
        skip("odbc-postgres", "EB_PG_URL is not set (tools/pg.sh start)");
    } else {
        snprintf(schema, sizeof schema, "eb_conformance_%ld", pid);
        snprintf(sql, sizeof sql, "CREATE SCHEMA \"%s\"", schema);
        CHECK(pg_exec(pg, sql));
        snprintf(url, sizeof url, "%s%soptions=-c%%20search_path%%3D%s", pg,
                 strchr(pg, '?') ? "&" : "?", schema);
        run_url("postgres", url, 9400);
        drv = odbc_driver("psqlodbcw.so", path, sizeof path);
        if (drv) {
            /* a schema of its own too: the ODBC adapter's own DDL, not the libpq one's */
            snprintf(sql, sizeof sql, "CREATE SCHEMA \"%s_odbc\"", schema);
            CHECK(pg_exec(pg, sql));
            snprintf(url, sizeof url,
                     "odbc:DRIVER=%s;SERVER=%s;PORT=%s;DATABASE=%s;UID=%s;PWD=%s;"
                     "ConnSettings=SET search_path TO %s_odbc",
                     drv, pp.host, pp.port, pp.dbname, pp.user, pp.password, schema);
            run_url("odbc-postgres", url, 9500);
            snprintf(sql, sizeof sql, "DROP SCHEMA \"%s_odbc\" CASCADE", schema);
            CHECK(pg_exec(pg, sql));
        } else {
            skip("odbc-postgres", "the ODBC driver psqlodbcw.so is not installed");
        }
        snprintf(sql, sizeof sql, "DROP SCHEMA \"%s\" CASCADE", schema);
        CHECK(pg_exec(pg, sql));
    }
    /* MariaDB through Debian's odbc-mariadb driver, on a server from tools/mariadb.sh */
    const char *maria = getenv("EB_MARIADB_ODBC");
    if (maria && *maria) {
        snprintf(url, sizeof url, "odbc:%s", maria);
        run_url("odbc-mariadb", url, 9600);
    } else {
        skip("odbc-mariadb", "EB_MARIADB_ODBC is not set (eval \"$(tools/mariadb.sh start)\")");
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_conformance: could not remove %s\n", dir);
    return check_report("test_conformance");
}

/* Reading a SQLite database behind the adapter's back, for the SQLite tests (test_sqlite.c,
 * test_sqlite_group.c): the file under test and the queries the checks use. Header-only. */
#ifndef EB_SQLITE_PEEK_H
#define EB_SQLITE_PEEK_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static char dir[64];
static char db_path[128];
static char url[256];

static inline sqlite3 *peek_open(void)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "cannot open %s\n", db_path);
        exit(2);
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* First column of the first row as an integer; -999 when NULL or no row, -998 on error. */
static inline int64_t q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t r = -998;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        return r;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        r = sqlite3_column_type(st, 0) == SQLITE_NULL ? -999 : sqlite3_column_int64(st, 0);
    else
        r = rc == SQLITE_DONE ? -999 : -998;
    sqlite3_finalize(st);
    return r;
}

/* First column of the first row as text ("(null)" when NULL, "(none)" when no row). */
static inline const char *q_text(sqlite3 *db, const char *sql)
{
    static char buf[8][1024];
    static int slot;
    char *out = buf[slot++ % 8];
    sqlite3_stmt *st = NULL;
    snprintf(out, 1024, "(error)");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        return out;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, 1024, "%s", t ? (const char *)t : "(null)");
        if (sqlite3_column_type(st, 0) == SQLITE_INTEGER)
            snprintf(out, 1024, "int:%lld", (long long)sqlite3_column_int64(st, 0));
    } else if (rc == SQLITE_DONE) {
        snprintf(out, 1024, "(none)");
    }
    sqlite3_finalize(st);
    return out;
}

static inline int64_t q_intf(sqlite3 *db, const char *fmt, const char *a)
{
    char sql[1024];
    snprintf(sql, sizeof sql, fmt, a);
    return q_int(db, sql);
}

/* Rows in every table of the database. */
static inline int64_t total_rows(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW)
        n += q_intf(db, "SELECT count(*) FROM \"%s\"", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return n;
}

static inline void exec_or_die(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, msg ? msg : "?");
        exit(2);
    }
}

#endif

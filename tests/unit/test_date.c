/* The one date grammar (util/date.h), table-driven: the same strings through every caller, the
 * grammar itself, validation (eb_validate_date, eb_validate_tolerate), the --max-age window
 * (eb_auth_timestamp_ms, eb_auth_check_age), the mapping file's date: conversion
 * (eb_mapping_write) and replay's --since/--until (eb_replay_args); then the EHR's time zone. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "candidate/candidate.h"
#include "candidate/schema.h"
#include "candidate/validate.h"
#include "check.h"
#include "mapping/mapping.h"
#include "replay/replay.h"
#include "util/arena.h"
#include "util/date.h"

struct row {
    const char *s;          /* as sent */
    enum eb_date_kind kind; /* what the grammar reads */
    const char *norm;       /* eb_date_format, day_only = 0 (the EHR's zone UTC) */
    const char *day;        /* eb_date_format, day_only = 1 */
    long long ms;           /* eb_date_ms */
};

static const struct row good[] = {
    {"2018", EB_DATE_YEAR, "2018", "2018", 1514764800000LL},
    {"2018-09", EB_DATE_MONTH, "2018-09", "2018-09", 1535760000000LL},
    {"2018-9", EB_DATE_MONTH, "2018-09", "2018-09", 1535760000000LL},
    {"2018.09", EB_DATE_MONTH, "2018-09", "2018-09", 1535760000000LL},
    {"2018/9", EB_DATE_MONTH, "2018-09", "2018-09", 1535760000000LL},
    {" 2018-09 ", EB_DATE_MONTH, "2018-09", "2018-09", 1535760000000LL},
    {"2018-09-27", EB_DATE_DAY, "2018-09-27", "2018-09-27", 1538006400000LL},
    {"2018-5-3", EB_DATE_DAY, "2018-05-03", "2018-05-03", 1525305600000LL},
    {"2018/05/03", EB_DATE_DAY, "2018-05-03", "2018-05-03", 1525305600000LL},
    {"2018.5.3", EB_DATE_DAY, "2018-05-03", "2018-05-03", 1525305600000LL},
    {"20180503", EB_DATE_DAY, "2018-05-03", "2018-05-03", 1525305600000LL},
    {"2000-02-29", EB_DATE_DAY, "2000-02-29", "2000-02-29", 951782400000LL},
    {"2018-09-27T02:00:00.000Z", EB_DATE_INSTANT, "2018-09-27T02:00:00.000Z", "2018-09-27",
     1538013600000LL},
    {"2018-4-23T09:10:26.000Z", EB_DATE_INSTANT, "2018-04-23T09:10:26.000Z", "2018-04-23",
     1524474626000LL},
    {"2020-03-30T05:53:28+08:00", EB_DATE_INSTANT, "2020-03-29T21:53:28.000Z", "2020-03-29",
     1585518808000LL},
    {"2017-09-13 17:51:27+0800", EB_DATE_INSTANT, "2017-09-13T09:51:27.000Z", "2017-09-13",
     1505296287000LL},
    {"2017-09-13T09:51:27.5Z", EB_DATE_INSTANT, "2017-09-13T09:51:27.500Z", "2017-09-13",
     1505296287500LL},
    {"2017-09-13T09:51:27,123456789-01", EB_DATE_INSTANT, "2017-09-13T10:51:27.123Z", "2017-09-13",
     1505299887123LL},
    {"2018-09-27t02:00z", EB_DATE_INSTANT, "2018-09-27T02:00:00.000Z", "2018-09-27",
     1538013600000LL},
    {"2018-09-27 10:00:00", EB_DATE_LOCAL, "2018-09-27T10:00:00.000Z", "2018-09-27",
     1538042400000LL},
    {"2018-09-27T9:05", EB_DATE_LOCAL, "2018-09-27T09:05:00.000Z", "2018-09-27", 1538039100000LL},
    {"1505296287", EB_DATE_INSTANT, "2017-09-13T09:51:27.000Z", "2017-09-13", 1505296287000LL},
    {"1505296287123", EB_DATE_INSTANT, "2017-09-13T09:51:27.123Z", "2017-09-13", 1505296287123LL},
    {"2019-08-23T16:00:00.000Z", EB_DATE_INSTANT, "2019-08-23T16:00:00.000Z", "2019-08-23",
     1566576000000LL},
};

static const char *const bad[] = {"",
                                  "18",
                                  "12345",
                                  "123456789",
                                  "15052962871",
                                  "150529628712",
                                  "2018-13",
                                  "2018-00-10",
                                  "2018-02-30",
                                  "2019-02-29",
                                  "2018-01-32",
                                  "2018-01-01T25:00",
                                  "2018-01-01T10:61",
                                  "2018-01-01T10",
                                  "abcd",
                                  "2018-01-01Tx",
                                  "2018-01-01T10:00+25:00",
                                  "2018-1-1-1",
                                  "2018-01/01",
                                  "至今",
                                  "1992年",
                                  "yesterday",
                                  "20181301",
                                  "2018-09-27T02:00:00.1234567890Z",
                                  "5/3/2018",
                                  "2018-09-27T02:00:00.Z",
                                  "2018-09-27  10:00"};

#define N_GOOD (sizeof good / sizeof good[0])
#define N_BAD  (sizeof bad / sizeof bad[0])

/* "yyyy-MM-ddTHH:mm:ss" of ms in UTC: what date:%Y-%m-%dT%H:%M:%S writes (mapping in UTC). */
static void utc_text(long long ms, char *out, size_t n)
{
    struct eb_date c;
    eb_date_civil(ms, 0, &c);
    snprintf(out, n, "'%04d-%02d-%02dT%02d:%02d:%02d'", c.y, c.mo, c.d, c.h, c.mi, c.s);
}

/* ---- the callers, each given one string ---- */

/* validation: 1 when read, the normalised value (or NULL) of offer.finishedAt and of birthDate
 * (a day-accurate field), and the warnings. */
struct validated {
    const char *finished_at, *birth_date;
    size_t n_warnings;
    const char *field, *value;
};

static int validate(const char *s, struct validated *out)
{
    struct eb_arena *a = eb_arena_new(1 << 20);
    struct eb_candidate c;
    struct eb_offer offer;
    memset(&c, 0, sizeof c);
    memset(&offer, 0, sizeof offer);
    eb_candidate_init(&eb_type_candidate, &c);
    eb_candidate_init(&eb_type_offer, &offer);
    c.application_id.v = 1;
    c.application_id.set = 1;
    offer.finished_at = s;
    c.birth_date = s;
    c.offer = &offer;
    struct eb_push p = {.id = "x", .event = "pushCandidate", .data = &c};
    struct eb_err err = {0};
    int ok = eb_validate_push(&p, &err) == EB_OK && eb_validate_tolerate(a, &p, &err) == EB_OK;
    static char keep[4][128];
    snprintf(keep[0], sizeof keep[0], "%s", offer.finished_at ? offer.finished_at : "(null)");
    snprintf(keep[1], sizeof keep[1], "%s", c.birth_date ? c.birth_date : "(null)");
    out->finished_at = keep[0];
    out->birth_date = keep[1];
    out->n_warnings = p.n_warnings;
    snprintf(keep[2], sizeof keep[2], "%s", p.n_warnings ? p.warnings[0].field : "");
    snprintf(keep[3], sizeof keep[3], "%s", p.n_warnings ? p.warnings[0].value : "");
    out->field = keep[2];
    out->value = keep[3];
    eb_arena_free(a);
    return ok && eb_validate_date(s);
}

struct one {
    char text[128];
    int inserts;
};

static eb_rc one_run(void *ctx, size_t table, enum eb_mapping_stmt st, const struct eb_sql_value *v,
                     size_t n, int64_t *changed, struct eb_err *err)
{
    struct one *o = ctx;
    (void)table;
    (void)err;
    if (changed)
        *changed = 0;
    if (st != EB_MAP_INSERT || n < 2)
        return EB_OK;
    o->inserts++;
    if (v[1].type == EB_SQL_VNULL)
        snprintf(o->text, sizeof o->text, "NULL");
    else
        snprintf(o->text, sizeof o->text, "'%.*s'", (int)v[1].len, v[1].s);
    return EB_OK;
}

/* The mapping's date: conversion of s (a literal column), in UTC: the text written or "NULL". */
static const char *mapped(const char *s, char *out, size_t n)
{
    char text[512];
    snprintf(text, sizeof text,
             "timezone = UTC\n[t]\nkey = a\na = applicationId\nb = \"%s\" | "
             "date:%%Y-%%m-%%dT%%H:%%M:%%S\n",
             s);
    struct eb_mapping *m = NULL;
    struct eb_err err = {0};
    if (eb_mapping_parse("d.mapping", text, strlen(text), &m, &err) != EB_OK) {
        snprintf(out, n, "(mapping refused: %.100s)", err.msg);
        return out;
    }
    struct eb_candidate c;
    memset(&c, 0, sizeof c);
    eb_candidate_init(&eb_type_candidate, &c);
    c.application_id.v = 1;
    c.application_id.set = 1;
    struct one o = {0};
    if (eb_mapping_write(m, &c, "p", 0, one_run, &o, &err) == EB_OK && o.inserts == 1)
        snprintf(out, n, "%s", o.text);
    else
        snprintf(out, n, "(write failed: %.100s)", err.msg);
    eb_mapping_free(m);
    return out;
}

/* replay --since s: 0 with the bound in *ms, or the exit status. */
static int since(const char *s, int64_t *ms)
{
    char a0[] = "--since", a1[256];
    snprintf(a1, sizeof a1, "%s", s);
    char *argv[] = {a0, a1};
    int argc = 2;
    struct eb_replay_opts o;
    int st = eb_replay_args(&argc, argv, &o);
    *ms = o.filter.from_ms;
    return st;
}

static void test_every_caller_reads_the_same(void)
{
    char buf[256], want[64];
    for (size_t i = 0; i < N_GOOD; i++) {
        const struct row *r = &good[i];
        struct eb_date d;
        char text[EB_DATE_TEXT_MAX];
        int ok = eb_date_parse(r->s, strlen(r->s), &d) == 0;
        CHECK(ok);
        if (!ok) {
            fprintf(stderr, "  grammar did not read \"%s\"\n", r->s);
            continue;
        }
        CHECK(d.kind == r->kind);
        eb_date_format(&d, 0, text);
        CHECK_STR(text, r->norm);
        eb_date_format(&d, 1, text);
        CHECK_STR(text, r->day);
        CHECK(eb_date_ms(&d) == r->ms);
        /* validation */
        struct validated v;
        CHECK(validate(r->s, &v));
        CHECK_STR(v.finished_at, r->norm);
        CHECK_STR(v.birth_date, r->day);
        CHECK(v.n_warnings == 0);
        /* --max-age */
        int64_t ms = 0;
        struct eb_err msg = {0};
        CHECK(eb_auth_timestamp_ms(r->s, &ms, NULL) == EB_OK && ms == r->ms);
        CHECK(eb_auth_check_age(r->s, 60, r->ms + 59000, &msg) == EB_OK);
        CHECK(eb_auth_check_age(r->s, 60, r->ms + 61000, &msg) == EB_ERR_INVALID);
        /* the mapping's date: */
        utc_text(r->ms, want, sizeof want);
        CHECK_STR(mapped(r->s, buf, sizeof buf), want);
        /* replay --since */
        CHECK(since(r->s, &ms) == 0 && ms == r->ms);
    }
    for (size_t i = 0; i < N_BAD; i++) {
        const char *s = bad[i];
        struct eb_date d;
        int ok = eb_date_parse(s, strlen(s), &d) != 0;
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  grammar read \"%s\"\n", s);
        struct validated v;
        CHECK(!validate(s, &v));
        CHECK_STR(v.finished_at, "(null)");
        CHECK_STR(v.birth_date, "(null)");
        if (*s) { /* an empty date is no value, not a warning */
            CHECK(v.n_warnings == 2);
            CHECK_STR(v.field, "data.birthDate");
            CHECK_STR(v.value, s);
        } else {
            CHECK(v.n_warnings == 0);
        }
        int64_t ms;
        struct eb_err msg = {0};
        CHECK(eb_auth_timestamp_ms(s, &ms, NULL) == EB_ERR_INVALID);
        CHECK(eb_auth_check_age(s, 60, 0, &msg) == EB_ERR_INVALID);
        CHECK(strstr(msg.msg, *s ? "not a timestamp" : "missing") != NULL);
        CHECK_STR(mapped(s, buf, sizeof buf), "NULL");
        CHECK(since(s, &ms) == 2);
    }
}

static void test_time_zone(void)
{
    struct eb_err err = {0};
    CHECK(eb_date_zone_set("Mars/Olympus", &err) == EB_ERR_CONFIG);
    CHECK(strstr(err.msg, "Mars/Olympus") != NULL);
    CHECK(eb_date_zone_check("../../etc/passwd", &err) == EB_ERR_CONFIG);
    CHECK(eb_date_zone_check("/etc/localtime", &err) == EB_ERR_CONFIG);
    CHECK(eb_date_zone_check("UTC", &err) == EB_OK);
    CHECK(eb_date_zone_set("Asia/Shanghai", &err) == EB_OK);
    struct eb_date d;
    char text[EB_DATE_TEXT_MAX];
    /* a day-accurate field sent as an instant: the date in Shanghai */
    const char *s = "2019-08-23T16:00:00.000Z";
    CHECK(eb_date_parse(s, strlen(s), &d) == 0);
    eb_date_format(&d, 1, text);
    CHECK_STR(text, "2019-08-24");
    eb_date_format(&d, 0, text);
    CHECK_STR(text, "2019-08-23T16:00:00.000Z");
    s = "2019-08-23T15:59:59.999Z";
    CHECK(eb_date_parse(s, strlen(s), &d) == 0);
    eb_date_format(&d, 1, text);
    CHECK_STR(text, "2019-08-23");
    /* a time without zone is Shanghai's */
    s = "2018-09-27 10:00:00";
    CHECK(eb_date_parse(s, strlen(s), &d) == 0);
    eb_date_format(&d, 0, text);
    CHECK_STR(text, "2018-09-27T02:00:00.000Z");
    eb_date_format(&d, 1, text);
    CHECK_STR(text, "2018-09-27");
    /* validation, --max-age and replay read it there too */
    struct validated v;
    CHECK(validate("1566576000000", &v)); /* 2019-08-23T16:00:00Z */
    CHECK_STR(v.birth_date, "2019-08-24");
    CHECK_STR(v.finished_at, "2019-08-23T16:00:00.000Z");
    int64_t ms;
    CHECK(eb_auth_timestamp_ms("2018-09-27T10:00:00", &ms, NULL) == EB_OK && ms == 1538013600000LL);
    CHECK(since("2018-09-27", &ms) == 0 && ms == 1537977600000LL);
    CHECK(eb_date_zone_set("UTC", &err) == EB_OK);
    CHECK(eb_auth_timestamp_ms("2018-09-27T10:00:00", &ms, NULL) == EB_OK && ms == 1538042400000LL);
}

/* The text is written digit by digit when the fields fit their widths, by snprintf otherwise:
 * both give what "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" gives. */
static void test_format_widths(void)
{
    static const int years[] = {0, 7, 999, 2019, 9999, 10000, -1, 123456};
    char text[EB_DATE_TEXT_MAX], want[EB_DATE_TEXT_MAX];
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
        int y = years[i];
        struct eb_date d = {EB_DATE_YEAR, y, 3, 9, 0, 0, 0, 0, 0};
        CHECK(eb_date_format(&d, 0, text) == strlen(text));
        snprintf(want, sizeof want, "%04d", y);
        CHECK_STR(text, want);
        d.kind = EB_DATE_MONTH;
        eb_date_format(&d, 0, text);
        snprintf(want, sizeof want, "%04d-%02d", y, 3);
        CHECK_STR(text, want);
        d.kind = EB_DATE_DAY;
        eb_date_format(&d, 1, text);
        snprintf(want, sizeof want, "%04d-%02d-%02d", y, 3, 9);
        CHECK_STR(text, want);
    }
    /* an instant in year -1 and one in 10000 (the zone moves them past the grammar's years) */
    const char *s = "0000-01-01T00:30:00+01:00";
    struct eb_date d;
    CHECK(eb_date_parse(s, strlen(s), &d) == 0);
    CHECK(eb_date_format(&d, 0, text) == strlen("-001-12-31T23:30:00.000Z"));
    CHECK_STR(text, "-001-12-31T23:30:00.000Z");
    s = "9999-12-31T23:30:00.5-01:00";
    CHECK(eb_date_parse(s, strlen(s), &d) == 0);
    eb_date_format(&d, 0, text);
    CHECK_STR(text, "10000-01-01T00:30:00.500Z");
    s = "2019-08-23T16:05:09.07Z";
    CHECK(eb_date_parse(s, strlen(s), &d) == 0);
    eb_date_format(&d, 0, text);
    CHECK_STR(text, "2019-08-23T16:05:09.070Z");
}

int main(void)
{
    test_every_caller_reads_the_same();
    test_time_zone();
    test_format_widths();
    return check_report("test_date");
}

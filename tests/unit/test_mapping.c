/* Tests of mapping/: the file format (docs/employee_import.mapping loads), every start-up error
 * with its line number (unknown field, bad path, missing key, unknown conversion, unknown parent
 * table, ...), the statement text, and the writer: conversions, dates, selectors, child rows,
 * replacement, written into an in-memory SQLite holding docs/employee_import.sql. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sqlgen.h"
#include "candidate/candidate.h"
#include "check.h"
#include "mapping/mapping.h"

static char *read_file(const char *rel)
{
    char path[1024];
    const char *src = getenv("EB_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/%s", src ? src : ".", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* Parses text; returns the error message ("" when it loaded). */
static const char *parse_error(const char *text)
{
    static struct eb_err err;
    struct eb_mapping *m = NULL;
    memset(&err, 0, sizeof err);
    eb_rc rc = eb_mapping_parse("t.mapping", text, strlen(text), &m, &err);
    eb_mapping_free(m);
    if (!rc)
        return "";
    if (rc != EB_ERR_CONFIG)
        return "(not EB_ERR_CONFIG)";
    return err.msg;
}

#define CHECK_ERR(text, want)                                                                      \
    do {                                                                                           \
        const char *got_ = parse_error(text);                                                      \
        if (!strstr(got_, want) || !*(want)) {                                                     \
            fprintf(stderr, "%s:%d: expected error containing [%s], got [%s]\n", __FILE__,         \
                    __LINE__, want, got_);                                                         \
            check_failed++;                                                                        \
        } else {                                                                                   \
            check_passed++;                                                                        \
        }                                                                                          \
    } while (0)

#define CHECK_OK(text)                                                                             \
    do {                                                                                           \
        const char *got_ = parse_error(text);                                                      \
        if (*got_) {                                                                               \
            fprintf(stderr, "%s:%d: expected to load, got [%s]\n", __FILE__, __LINE__, got_);      \
            check_failed++;                                                                        \
        } else {                                                                                   \
            check_passed++;                                                                        \
        }                                                                                          \
    } while (0)

static void test_errors(void)
{
    /* the four: unknown field, bad path, missing key, unknown table for a child */
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = nmae\n",
              "mapping t.mapping line 4: unknown field \"nmae\" in nmae (Candidate has no such "
              "field)");
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = job.titel\n",
              "line 4: unknown field \"titel\" in job.titel (Job has no such field)");
    CHECK_ERR("[t]\nkey = a\na = applicationId\n\nb = job..title\n", "line 5: bad path");
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = customFields[name=\"x\".value\n",
              "line 4: bad path");
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = customFields.value\n",
              "line 4: bad path \"customFields.value\": customFields is an array");
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = name[0]\n",
              "line 4: bad path \"name[0]\": name is not an array");
    CHECK_ERR("[t]\na = applicationId\n", "mapping t.mapping line 1: table t has no key");
    CHECK_ERR("# x\n[t]\nkey = a\na = applicationId\n[w]\nrows = experienceInfo[]\n"
              "a = applicationId\nn = @seq\n",
              "line 5: table w has no key");
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = name | upcase\n",
              "line 4: unknown conversion \"upcase\"");
    CHECK_ERR("[t]\nkey = a\na = applicationId\n[w]\nrows = experienceInfo[]\nparent = emp\n"
              "key = a, n\na = applicationId\nn = @seq\n",
              "line 6: parent: emp is not a table of this file");
    /* more mistakes, each on its line */
    CHECK_ERR("[t]\nkey = b\na = applicationId\n", "line 2: key: b is not a column of table t");
    CHECK_ERR("[t]\nkey = a\na = applicationId\na = name\n", "line 4: column a of table t is "
                                                             "mapped twice (first on line 3)");
    CHECK_ERR("[t]\nkey = a\na = applicationId\n[T]\nkey = a\na = name\n",
              "line 4: table T is declared twice");
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = birthDate | date:%Y-%q\n",
              "line 4: date format \"%Y-%q\": unknown directive %q");
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = name | truncate:x\n",
              "line 4: conversion truncate needs a whole number");
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = experienceInfo[].company\n",
              "line 4: column b: [] (every item) is for the rows of a child table");
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = @seq\n", "line 4: column b: @seq");
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = job\n", "line 4: bad path \"job\": job is "
                                                            "an object");
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = @pushid\n", "line 4: unknown source");
    CHECK_ERR("[t]\nkey = a\na = applicationId\nb = \"x\n", "line 4: unterminated");
    CHECK_ERR("zone = +08:00\n[t]\nkey = a\na = applicationId\n", "line 1: unknown setting");
    CHECK_ERR("timezone = Asia/Shanghai\n[t]\nkey = a\na = applicationId\n", "line 1: timezone");
    CHECK_ERR("[t]\nkey = a\na = applicationId\n[w]\nrows = experienceInfo[]\nkey = a\n"
              "a = applicationId\nc = experienceInfo[].company\n",
              "line 6: key of table w: needs @seq");
    CHECK_ERR("[t]\nkey = a\na = applicationId\n[w]\nrows = experienceInfo[]\nkey = n\n"
              "n = @seq\n",
              "line 6: key of table w: must include the key of its parent t");
    CHECK_ERR("[t]\nkey = a\na = applicationId\n[w]\nrows = experienceInfo\nkey = a, n\n"
              "a = applicationId\nn = @seq\n",
              "line 5: bad path \"experienceInfo\": experienceInfo is an array");
    CHECK_ERR("[t]\nkey = a\na = applicationId\n[w]\nrows = experienceInfo[]\nkey = a, n\n"
              "a = applicationId\nn = @seq\nc = educationInfo[].school\n",
              "line 9: column c: educationInfo[].school is not along the rows of table w");
    CHECK_ERR("[t]\nkey = a\na = applicationId\n[u]\nkey = a\na = applicationId\n[w]\n"
              "rows = experienceInfo[]\nkey = a, n\na = applicationId\nn = @seq\n",
              "line 7: table w: several tables could be its parent");
    CHECK_ERR("", "no table");
    CHECK_ERR("[t]\n", "table t has no columns");
    CHECK_ERR("[t]\nkey = a\n= name\n", "line 3: expected NAME = VALUE");

    /* what does load */
    CHECK_OK("[t]\nkey = a\na = applicationId\n");
    CHECK_OK("; comment\n[hr.\"Emp Import\"]\nkey = \"Key\"\n\"Key\" = applicationId  # trailing\n"
             "\"rows\" = name\n");
    CHECK_OK("[t]\nkey = a\na = applicationId\nb = customFields[name=\"Contact phone\"].value\n"
             "c = educationInfo[0].school\nd = idCardFrontList[1]\ne = 42\nf = null\n"
             "g = \"a|b\" | default:x\nh = offer.creator.name\n");
    CHECK_OK("[t]\nkey = a\na = applicationId\n[i]\nrows = interviewers[]\nkey = a, n\n"
             "a = applicationId\nn = @seq\n[f]\nrows = interviewers[].feedbackTemplateResult[]\n"
             "key = a, n, m\na = applicationId\nn = interviewers[].@seq\nm = @seq\n"
             "title = interviewers[].feedbackTemplateResult[].title\n"
             "who = interviewers[].name\n[o]\nrows = job.customFields[]\nkey = a, s\n"
             "a = applicationId\ns = @seq\nv = job.customFields[].value\n"
             "[id]\nrows = idCardFrontList[]\nkey = a, s\na = applicationId\ns = @seq\n"
             "url = idCardFrontList[]\n");
}

/* ---- the writer -------------------------------------------------------------------------- */

struct sample {
    struct eb_candidate c;
    struct eb_experience exp[3];
    struct eb_custom_field cf[3];
    struct eb_job job;
    struct eb_offer offer;
};

static void sample_init(struct sample *s, int64_t app_id, size_t n_exp)
{
    memset(s, 0, sizeof *s);
    struct eb_candidate *c = &s->c;
    c->application_id = (struct eb_i64){app_id, 1};
    c->candidate_id = (struct eb_i64){8030, 1};
    c->name = "  邵旭冬 ";
    c->phone = "18600000000";
    c->email = "ShaoDong@Example.com";
    c->gender = "Male";
    c->birth_date = "2020-03-17T00:00:00.000Z";
    c->citizen_id = "410322199202152910";
    c->native_place_code = (struct eb_i64){310107, 1};
    c->academic_degree = "Bachelor degree";
    c->archived = EB_BOOL_UNSET;
    s->exp[0] = (struct eb_experience){.start_date = "2016-03",
                                       .end_date = "2017-09",
                                       .company = "北京有利科技有限公司",
                                       .title = "高级Java工程师",
                                       .now = 1};
    s->exp[1] = (struct eb_experience){.start_date = "2015-5-1",
                                       .end_date = "2016/03/02",
                                       .company = "北京水果电商技术有限公司",
                                       .title = "java工程师",
                                       .now = 0};
    s->exp[2] = (struct eb_experience){.company = "第三", .now = EB_BOOL_UNSET};
    c->experience_info = s->exp;
    c->experience_info_n = n_exp;
    s->cf[0] = (struct eb_custom_field){.name = "身高", .value = "175", .now = EB_BOOL_UNSET};
    s->cf[1] =
        (struct eb_custom_field){.name = "Contact name", .value = "张三", .now = EB_BOOL_UNSET};
    s->cf[2] = (struct eb_custom_field){
        .name = "Contact phone", .value = "13012341234", .now = EB_BOOL_UNSET};
    c->custom_fields = s->cf;
    c->custom_fields_n = 3;
    s->job = (struct eb_job){.title = "黑龙江-资易通业务线-催收部-CEO", .department = "运维部"};
    c->job = &s->job;
    s->offer = (struct eb_offer){.salary_number = "8000", .checkin_date = "2018-5-3"};
    c->offer = &s->offer;
}

/* Runs the writer's statements on an SQLite database. */
struct sq {
    sqlite3 *db;
    struct eb_mapping_sql *sql;
    char log[4096]; /* "U0 I0 R1 ..." */
};

static eb_rc sq_run(void *ctx, size_t table, enum eb_mapping_stmt st, const struct eb_sql_value *v,
                    size_t n, int64_t *changed, struct eb_err *err)
{
    struct sq *q = ctx;
    const struct eb_mapping_table_sql *ts = &q->sql->tables[table];
    const char *text = st == EB_MAP_UPDATE   ? ts->update_sql
                       : st == EB_MAP_INSERT ? ts->insert_sql
                                             : ts->remove_sql;
    size_t want = st == EB_MAP_UPDATE   ? ts->n_update
                  : st == EB_MAP_INSERT ? ts->n_insert
                                        : ts->n_remove;
    size_t l = strlen(q->log);
    snprintf(q->log + l, sizeof q->log - l, "%s%c%zu", l ? " " : "", "UIR"[st], table);
    if (n != want)
        return eb_err_set(err, EB_ERR_INTERNAL, "%zu values for %zu parameters", n, want);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(q->db, text, -1, &s, NULL) != SQLITE_OK)
        return eb_err_set(err, EB_ERR_DB, "prepare: %s", sqlite3_errmsg(q->db));
    for (size_t i = 0; i < n; i++) {
        if (v[i].type == EB_SQL_VINT)
            sqlite3_bind_int64(s, (int)i + 1, v[i].i);
        else if (v[i].type == EB_SQL_VTEXT) {
            if (v[i].s[v[i].len] != '\0')
                return eb_err_set(err, EB_ERR_INTERNAL, "text not NUL-terminated");
            sqlite3_bind_text(s, (int)i + 1, v[i].s, (int)v[i].len, SQLITE_TRANSIENT);
        }
    }
    int code = sqlite3_step(s);
    sqlite3_finalize(s);
    if (code != SQLITE_DONE)
        return eb_err_set(err, EB_ERR_DB, "step: %s", sqlite3_errmsg(q->db));
    if (changed)
        *changed = sqlite3_changes(q->db);
    return EB_OK;
}

static char *q_text(sqlite3 *db, const char *sql)
{
    static char out[2048];
    sqlite3_stmt *s = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        snprintf(out, sizeof out, "(error %s)", sqlite3_errmsg(db));
        return out;
    }
    size_t o = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(s); i++) {
            const unsigned char *t = sqlite3_column_text(s, i);
            o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", i ? "|" : (o ? ";" : ""),
                                  t ? (const char *)t : "NULL");
        }
    }
    sqlite3_finalize(s);
    return out;
}

static void test_worked_example(void)
{
    char *map_text = read_file("docs/employee_import.mapping");
    char *ddl = read_file("docs/employee_import.sql");
    CHECK(map_text && ddl);
    if (!map_text || !ddl)
        return;
    struct eb_mapping *m = NULL;
    struct eb_err err = {0};
    CHECK(eb_mapping_parse("employee_import.mapping", map_text, strlen(map_text), &m, &err) ==
          EB_OK);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK(eb_mapping_n_tables(m) == 2);
    CHECK_STR(eb_mapping_table_name(m, 0), "employee_import");
    struct sq q = {0};
    CHECK(eb_mapping_sql_build(m, &eb_sql_dialect_sqlite, &q.sql, &err) == EB_OK);
    CHECK(sqlite3_open(":memory:", &q.db) == SQLITE_OK);
    CHECK(sqlite3_exec(q.db, ddl, NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(q.db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) == SQLITE_OK);
    for (size_t i = 0; i < q.sql->n_tables; i++)
        CHECK(sqlite3_exec(q.db, q.sql->tables[i].probe_sql, NULL, NULL, NULL) == SQLITE_OK);
    CHECK_STR(q.sql->tables[1].remove_sql, "DELETE FROM employee_import_work WHERE imp_app_no = ?");
    CHECK(q.sql->tables[0].remove_sql == NULL && q.sql->tables[1].update_sql == NULL);

    struct sample s;
    sample_init(&s, 12798, 2);
    /* 2024-01-31 16:30:05 UTC: in the mapping's +08:00 the next day */
    int64_t at = 1706718605000LL;
    CHECK(eb_mapping_write(m, &s.c, "push-1", at, sq_run, &q, &err) == EB_OK);
    CHECK_STR(q.log, "R1 U0 I0 I1 I1");
    CHECK_STR(
        q_text(q.db, "SELECT imp_app_no, imp_cand_no, emp_name, gender_cd, birth_dt, "
                     "id_card_no, mobile_no, email_addr, native_place_cd, native_place_nm, "
                     "native_province, dept_name, post_title, hire_dt, base_salary, degree, "
                     "emerg_contact, emerg_phone, src_system, src_push_id, load_ts, "
                     "imp_status, ehr_emp_no FROM employee_import"),
        "12798|8030|邵旭冬|M|2020-03-17|410322199202152910|18600000000|"
        "shaodong@example.com|310107|普陀District|上海City|运维部|"
        "黑龙江-资易通业务线-催收部-CEO|2018-05-03|8000|Bachelor degree|张三|13012341234|MOKA|"
        "push-1|2024-02-01 00:30:05|N|NULL");
    CHECK_STR(q_text(q.db, "SELECT imp_app_no, line_no, company, job_title, from_dt, to_dt FROM "
                           "employee_import_work ORDER BY line_no"),
              "12798|1|北京有利科技有限公司|高级Java工程师|2016-03-01|2017-09-01;"
              "12798|2|北京水果电商技术有限公司|java工程师|2015-05-01|2016-03-02");

    /* the EHR processed the row; a new push for the candidate replaces the mapped columns, keeps
     * the others, and replaces the child rows */
    CHECK(sqlite3_exec(q.db, "UPDATE employee_import SET imp_status = 'P', ehr_emp_no = 'E1'", NULL,
                       NULL, NULL) == SQLITE_OK);
    s.c.gender = "女";
    s.exp[0].company = "只有一家";
    s.c.native_place_code = (struct eb_i64){0, 0};
    q.log[0] = '\0';
    sample_init(&s, 12798, 1);
    s.c.gender = "女";
    s.exp[0].company = "只有一家";
    s.c.native_place_code = (struct eb_i64){0, 0};
    CHECK(eb_mapping_write(m, &s.c, "push-2", at, sq_run, &q, &err) == EB_OK);
    CHECK_STR(q.log, "R1 U0 I1");
    CHECK_STR(q_text(q.db, "SELECT count(*), gender_cd, native_place_cd, native_place_nm, "
                           "imp_status, ehr_emp_no, src_push_id FROM employee_import"),
              "1|F|NULL|NULL|N|E1|push-2");
    CHECK_STR(q_text(q.db, "SELECT line_no, company FROM employee_import_work"), "1|只有一家");

    /* a push without the required name is refused, naming the column, writing nothing */
    sample_init(&s, 12799, 1);
    s.c.name = "   ";
    CHECK(eb_mapping_write(m, &s.c, "push-3", at, sq_run, &q, &err) == EB_ERR_INVALID);
    CHECK_STR(err.msg, "mapping: employee_import.emp_name: no value (name)");

    sqlite3_close(q.db);
    eb_mapping_sql_free(q.sql);
    eb_mapping_free(m);
    free(map_text);
    free(ddl);
}

/* Collects the values of one insert for the conversion tests. */
struct one {
    char text[64][128];
    size_t n;
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
    if (st != EB_MAP_INSERT)
        return EB_OK;
    o->inserts++;
    o->n = n;
    for (size_t i = 0; i < n && i < 64; i++) {
        if (v[i].type == EB_SQL_VNULL)
            snprintf(o->text[i], sizeof o->text[i], "NULL");
        else if (v[i].type == EB_SQL_VINT)
            snprintf(o->text[i], sizeof o->text[i], "%lld", (long long)v[i].i);
        else
            snprintf(o->text[i], sizeof o->text[i], "'%.*s'", (int)v[i].len, v[i].s);
    }
    return EB_OK;
}

static void test_conversions(void)
{
    static const char text[] = "timezone = -05:00\n"
                               "[t]\n"
                               "key = a\n"
                               "a = applicationId\n"
                               "b = birthDate | date:%Y/%m/%d %H:%M:%S\n"
                               "c = offer.checkinDate | date:%F\n"
                               "d = \"1505296287\" | date:%F %T\n"
                               "e = \"1505296287123\" | date:%T\n"
                               "f = \"2018-05-03T10:00+08:00\" | date:%F %H:%M %%\n"
                               "g = \"not a date\" | date:%F\n"
                               "h = nativePlaceCode | area:city\n"
                               "i = \"410322\" | area:city\n"
                               "j = \"999999\" | area | default:unknown\n"
                               "k = gender | map:Male=M,*=U\n"
                               "l = gender | map:Female=F\n"
                               "m = candidateId | add:-30\n"
                               "n = name | truncate:2\n"
                               "o = email | upper\n"
                               "p = \"\" | default:7\n"
                               "q = null\n"
                               "r = 1.50\n"
                               "s = experienceInfo[1].company\n"
                               "u = experienceInfo[5].company\n"
                               "v = customFields[name=\"nobody\"].value | default:\"x y\"\n"
                               "w = archived | map:1=Y,0=N\n"
                               "x = @seq | add:1\n";
    /* x is refused: @seq in a table of candidates */
    CHECK(strstr(parse_error(text), "line 26: column x: @seq") != NULL);
    struct eb_mapping *m = NULL;
    struct eb_err err = {0};
    size_t len = strstr(text, "x = @seq") - text;
    CHECK(eb_mapping_parse("c.mapping", text, len, &m, &err) == EB_OK);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    struct sample s;
    sample_init(&s, 1, 2);
    s.c.archived = 0;
    struct one o = {0};
    CHECK(eb_mapping_write(m, &s.c, "p", 0, one_run, &o, &err) == EB_OK);
    CHECK(o.inserts == 1 && o.n == 22);
    static const char *const want[] = {"1",
                                       "'2020/03/16 19:00:00'",
                                       "'2018-05-03'",
                                       "'2017-09-13 04:51:27'",
                                       "'04:51:27'",
                                       "'2018-05-02 21:00 %'",
                                       "NULL",
                                       "NULL",
                                       "'洛阳City'",
                                       "'unknown'",
                                       "'M'",
                                       "'Male'",
                                       "8000",
                                       "'  '",
                                       "'SHAODONG@EXAMPLE.COM'",
                                       "7",
                                       "NULL",
                                       "'1.50'",
                                       "'北京水果电商技术有限公司'",
                                       "NULL",
                                       "'x y'",
                                       "'N'"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_STR(o.text[i], want[i]);
    eb_mapping_free(m);
}

int main(void)
{
    test_errors();
    test_worked_example();
    test_conversions();
    return check_report("test_mapping");
}

/* Tests of sql/sqlgen: the default schema made from the descriptors (every scalar exactly
 * once, the documented table and column names, keys), the statement text (accepted by SQLite,
 * dialect placeholders) and the row walker. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/pushread.h"
#include "sql/sqlgen.h"
#include "candidate/candidate.h"
#include "candidate/schema.h"
#include "check.h"

static const struct eb_sql_column *column(const struct eb_sql_table *t, const char *name)
{
    const struct eb_sql_column *found = NULL;
    for (size_t i = 0; t && i < t->n_columns; i++)
        if (strcmp(t->columns[i].name, name) == 0)
            found = &t->columns[i];
    return found;
}

static size_t count_columns(const struct eb_sql_table *t, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; t && i < t->n_columns; i++)
        n += strcmp(t->columns[i].name, name) == 0;
    return n;
}

/* ---- the descriptor rules, restated independently of sqlgen.c ---------------------------- */

static size_t n_scalars_checked, n_tables_checked;

static void expect_type(const struct eb_sql_schema *s, const char *table, const char *suffix,
                        const struct eb_type *type, const char *const *keys, size_t n_keys);

/* Checks that every scalar reachable from type through objects is exactly one column of table
 * (named prefix_column) and that every array has its table. suffix: the array suffix of table
 * (NULL for candidate); keys: its key columns. */
static void expect_fields(const struct eb_sql_schema *s, const char *table, const char *suffix,
                          const struct eb_type *type, const char *prefix, const char *const *keys,
                          size_t n_keys, int root)
{
    const struct eb_sql_table *t = eb_sqlgen_table(s, table);
    for (size_t i = 0; i < type->n_fields; i++) {
        const struct eb_field *f = &type->fields[i];
        char name[256];
        size_t lp = strlen(prefix);
        if (lp && !strncmp(f->column, prefix, lp) && f->column[lp] == '_')
            snprintf(name, sizeof name, "%s", f->column); /* job.jobId -> job_id */
        else
            snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "_" : "", f->column);
        if (f->kind == EB_KIND_OBJ) {
            expect_fields(s, table, suffix, f->type, name, keys, n_keys, 0);
        } else if (f->kind == EB_KIND_ARR || f->kind == EB_KIND_STRARR) {
            char child[256];
            snprintf(child, sizeof child, "%s_%s", table, f->column);
            const char *ckeys[EB_SQL_MAX_DEPTH + 2];
            char seqname[EB_SQL_MAX_DEPTH][128];
            size_t nk = 0;
            for (size_t k = 0; k < n_keys; k++)
                ckeys[nk++] = keys[k];
            if (n_keys) {
                /* the enclosing array's seq becomes <its suffix>_seq */
                snprintf(seqname[nk], sizeof seqname[nk], "%s_seq", suffix);
                ckeys[nk - 1] = seqname[nk];
                ckeys[nk++] = "seq";
            } else {
                ckeys[nk++] = "application_id";
                ckeys[nk++] = "seq";
            }
            if (f->kind == EB_KIND_STRARR) {
                const struct eb_sql_table *ct = eb_sqlgen_table(s, child);
                CHECK(ct != NULL);
                if (ct) {
                    CHECK(ct->n_columns == nk + 1);
                    CHECK(count_columns(ct, "value") == 1);
                    CHECK(column(ct, "value") && column(ct, "value")->type == EB_SQL_TEXT);
                    n_tables_checked++;
                }
            } else {
                expect_type(s, child, f->column, f->type, ckeys, nk);
            }
        } else if (!(root && (strcmp(f->column, "application_id") == 0))) {
            n_scalars_checked++;
            if (count_columns(t, name) != 1) {
                fprintf(stderr, "column %s.%s appears %zu times\n", table, name,
                        count_columns(t, name));
                CHECK(0);
                continue;
            }
            const struct eb_sql_column *c = column(t, name);
            CHECK(c->source == EB_SQL_SRC_FIELD);
            CHECK(c->path_len >= 1 && c->path[c->path_len - 1] == f);
            enum eb_sql_type want =
                f->kind == EB_KIND_INT || f->kind == EB_KIND_BOOL ? EB_SQL_INTEGER : EB_SQL_TEXT;
            CHECK(c->type == want);
        }
    }
}

/* Checks a child table: its keys in order, then its fields. */
static void expect_type(const struct eb_sql_schema *s, const char *table, const char *suffix,
                        const struct eb_type *type, const char *const *keys, size_t n_keys)
{
    const struct eb_sql_table *t = eb_sqlgen_table(s, table);
    if (!t) {
        fprintf(stderr, "missing table %s\n", table);
        CHECK(0);
        return;
    }
    n_tables_checked++;
    CHECK(t->role == EB_SQL_ROLE_CHILD);
    CHECK(t->n_keys == n_keys);
    for (size_t k = 0; k < n_keys && k < t->n_columns; k++) {
        CHECK_STR(t->columns[k].name, keys[k]);
        CHECK(t->columns[k].not_null);
        CHECK(t->columns[k].type == EB_SQL_INTEGER);
    }
    expect_fields(s, table, suffix, type, "", keys, n_keys, 0);
}

/* Number of scalars reachable from type through objects, and of tables for its arrays. */
static void count_leaves(const struct eb_type *type, size_t *scalars, size_t *tables)
{
    for (size_t i = 0; i < type->n_fields; i++) {
        const struct eb_field *f = &type->fields[i];
        if (f->kind == EB_KIND_OBJ) {
            count_leaves(f->type, scalars, tables);
        } else if (f->kind == EB_KIND_ARR) {
            (*tables)++;
            count_leaves(f->type, scalars, tables);
        } else if (f->kind == EB_KIND_STRARR) {
            (*tables)++;
        } else {
            (*scalars)++;
        }
    }
}

static void test_every_scalar_once(const struct eb_sql_schema *s)
{
    const struct eb_sql_table *cand = eb_sqlgen_table(s, "candidate");
    CHECK(cand != NULL);
    if (!cand)
        return;
    n_scalars_checked = n_tables_checked = 0;
    expect_fields(s, "candidate", NULL, &eb_type_candidate, "", NULL, 0, 1);
    size_t scalars = 0, tables = 0;
    count_leaves(&eb_type_candidate, &scalars, &tables);
    /* every scalar but the candidate's application_id (the key) was found exactly once */
    CHECK(n_scalars_checked == scalars - 1);
    CHECK(n_tables_checked == tables);
    size_t n_children;
    eb_sqlgen_child_tables(s, &n_children);
    CHECK(n_children == tables);
    /* and no column exists that the rules do not explain */
    size_t field_columns = 0;
    for (size_t i = 0; i < s->n_tables; i++)
        for (size_t j = 0; j < s->tables[i].n_columns; j++)
            field_columns += s->tables[i].columns[j].source == EB_SQL_SRC_FIELD;
    CHECK(field_columns == scalars - 1);
}

static void test_names(const struct eb_sql_schema *s)
{
    static const char *const tables[] = {
        "schema_version",
        "push_log",
        "candidate",
        "candidate_talent_pool",
        "candidate_source",
        "candidate_education",
        "candidate_experience",
        "candidate_award",
        "candidate_project",
        "candidate_language",
        "candidate_practice",
        "candidate_job_custom_field",
        "candidate_job_assistant",
        "candidate_job_rank",
        "candidate_headcount",
        "candidate_interviewer",
        "candidate_interviewer_feedback",
        "candidate_interviewer_feedback_subject",
        "candidate_interviewer_feedback_subject_option",
        "candidate_extended_interviewer",
        "candidate_extended_interviewer_feedback",
        "candidate_extended_interviewer_feedback_subject",
        "candidate_extended_interviewer_feedback_subject_option",
        "candidate_custom_field",
        "candidate_ehr_custom_field",
        "candidate_id_card_front",
        "candidate_offer_custom_field",
        "candidate_offer_attachment",
        "candidate_attachment",
        "candidate_exam_report_link",
        "candidate_exam_attachment",
        "candidate_label",
        "candidate_remark",
        "candidate_remark_target",
        "candidate_survey",
        "candidate_survey_attachment",
    };
    size_t n = sizeof tables / sizeof tables[0];
    CHECK(s->n_tables == n);
    for (size_t i = 0; i < n; i++) {
        if (!eb_sqlgen_table(s, tables[i])) {
            fprintf(stderr, "missing table %s\n", tables[i]);
            CHECK(0);
        }
    }
    /* the fixed tables are where the schema says */
    CHECK_STR(s->tables[s->schema_version].name, "schema_version");
    CHECK_STR(s->tables[s->push_log].name, "push_log");
    CHECK_STR(s->tables[s->candidate].name, "candidate");
    /* a parent comes before its children */
    for (size_t i = s->first_child; i < s->n_tables; i++)
        CHECK(s->tables[i].parent < i);

    const struct eb_sql_table *c = eb_sqlgen_table(s, "candidate");
    static const char *const cols[] = {
        "application_id",
        "candidate_id",
        "last_push_id",
        "updated_at",
        "name",
        "phone",
        "email",
        "gender",
        "birth_year",
        "citizen_id",
        "academic_degree",
        "native_place_code",
        "job_title",
        "job_department",
        "job_id",
        "job_manager_name",
        "offer_salary_number",
        "offer_checkin_date",
        "offer_creator_name",
        "offer_hc_info_number",
        "offer_job_rank_info_level",
        "referrer_name",
        "operator_phone",
        "owners_employee_id",
        "offer_attachment_url",
        "source",
        "probation",
        "archived",
    };
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        if (count_columns(c, cols[i]) != 1) {
            fprintf(stderr, "candidate.%s appears %zu times\n", cols[i], count_columns(c, cols[i]));
            CHECK(0);
        }
    }
    CHECK_STR(c->columns[0].name, "application_id");
    CHECK(c->n_keys == 1);
    CHECK(column(c, "application_id")->source == EB_SQL_SRC_APPLICATION_ID);
    CHECK(column(c, "last_push_id")->source == EB_SQL_SRC_PUSH_ID);
    CHECK(column(c, "updated_at")->source == EB_SQL_SRC_UPDATED_AT);
    CHECK(column(c, "offer_salary_number")->type == EB_SQL_TEXT);
    CHECK(column(c, "archived")->type == EB_SQL_INTEGER);
    CHECK(column(c, "birth_year")->type == EB_SQL_INTEGER);

    const struct eb_sql_table *opt =
        eb_sqlgen_table(s, "candidate_interviewer_feedback_subject_option");
    static const char *const opt_cols[] = {
        "application_id", "interviewer_seq", "feedback_seq", "subject_seq", "seq", "value"};
    CHECK(opt && opt->n_columns == 6 && opt->n_keys == 5);
    for (size_t i = 0; opt && i < 6 && i < opt->n_columns; i++)
        CHECK_STR(opt->columns[i].name, opt_cols[i]);
    const struct eb_sql_table *xopt =
        eb_sqlgen_table(s, "candidate_extended_interviewer_feedback_subject_option");
    CHECK(xopt && xopt->n_keys == 5);
    if (xopt)
        CHECK_STR(xopt->columns[1].name, "extended_interviewer_seq");
    const struct eb_sql_table *target = eb_sqlgen_table(s, "candidate_remark_target");
    CHECK(target && target->n_keys == 3);
    if (target)
        CHECK_STR(target->columns[1].name, "remark_seq");
    const struct eb_sql_table *remark = eb_sqlgen_table(s, "candidate_remark");
    CHECK(count_columns(remark, "creator_name") == 1);
    CHECK(count_columns(remark, "creator_email") == 1);
    const struct eb_sql_table *jcf = eb_sqlgen_table(s, "candidate_job_custom_field");
    CHECK(jcf && jcf->n_keys == 2 && jcf->parent == s->candidate);
    CHECK(count_columns(eb_sqlgen_table(s, "candidate_custom_field"), "index") == 1);
    const struct eb_sql_table *log = eb_sqlgen_table(s, "push_log");
    static const char *const log_cols[] = {
        "push_id",      "event",   "triggered_at", "received_at", "application_id",
        "candidate_id", "outcome", "message",      "payload",     "raw"};
    CHECK(log && log->n_columns == 10 && log->n_keys == 1);
    for (size_t i = 0; log && i < 10 && i < log->n_columns; i++)
        CHECK_STR(log->columns[i].name, log_cols[i]);
}

/* 1 when SQLite made table name a WITHOUT ROWID table (it then has no rowid to select). */
static int q_without_rowid(sqlite3 *db, const char *name)
{
    char sql[200];
    sqlite3_stmt *st = NULL;
    snprintf(sql, sizeof sql, "SELECT rowid FROM \"%s\"", name);
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    sqlite3_finalize(st);
    return rc != SQLITE_OK;
}

/* Every statement is accepted by SQLite, and has one parameter per column. */
static void test_sqlite_accepts(const struct eb_sql_schema *s)
{
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    for (size_t i = 0; i < s->n_ddl; i++) {
        char *msg = NULL;
        int rc = sqlite3_exec(db, s->ddl[i], NULL, NULL, &msg);
        if (rc != SQLITE_OK)
            fprintf(stderr, "%s\n  -> %s\n", s->ddl[i], msg ? msg : "?");
        CHECK(rc == SQLITE_OK);
        sqlite3_free(msg);
    }
    for (size_t i = 0; i < s->n_tables; i++) {
        const struct eb_sql_table *t = &s->tables[i];
        const char *sqls[] = {t->insert_sql, t->upsert_sql, t->delete_sql};
        for (size_t k = 0; k < 3; k++) {
            if (!sqls[k])
                continue;
            sqlite3_stmt *st = NULL;
            int rc = sqlite3_prepare_v2(db, sqls[k], -1, &st, NULL);
            if (rc != SQLITE_OK)
                fprintf(stderr, "%s\n  -> %s\n", sqls[k], sqlite3_errmsg(db));
            CHECK(rc == SQLITE_OK);
            if (st)
                CHECK((size_t)sqlite3_bind_parameter_count(st) == (k == 2 ? 1 : t->n_columns));
            sqlite3_finalize(st);
        }
        CHECK(strncmp(t->create_sql, "CREATE TABLE \"", 14) == 0);
        CHECK(t->role == EB_SQL_ROLE_META || t->delete_sql != NULL);
    }
    /* child tables are WITHOUT ROWID in SQLite; the candidate's key is its rowid */
    CHECK(q_without_rowid(db, "candidate_education") == 1);
    CHECK(q_without_rowid(db, "candidate_interviewer_feedback_subject_option") == 1);
    CHECK(q_without_rowid(db, "candidate") == 0);
    CHECK(q_without_rowid(db, "push_log") == 0);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, "SELECT rowid, application_id FROM candidate", -1, &st, NULL) ==
          SQLITE_OK);
    sqlite3_finalize(st);
    /* keyword columns work because they are quoted */
    CHECK(sqlite3_exec(db,
                       "INSERT INTO candidate_custom_field (application_id, seq, \"index\") "
                       "VALUES (1, 0, 'x')",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "INSERT INTO candidate_custom_field (application_id, seq) VALUES (1, 0)",
                       NULL, NULL, NULL) == SQLITE_CONSTRAINT);
    char *w = eb_sqlgen_upsert_where(s, eb_sqlgen_table(s, "push_log"),
                                     "\"push_log\".\"outcome\" = 'failed'", NULL);
    CHECK(w != NULL);
    if (w) {
        CHECK(strstr(w, "ON CONFLICT (\"push_id\") DO UPDATE SET") != NULL);
        CHECK(strstr(w, " WHERE \"push_log\".\"outcome\" = 'failed'") != NULL);
        CHECK(sqlite3_prepare_v2(db, w, -1, &st, NULL) == SQLITE_OK);
        sqlite3_finalize(st);
    }
    free(w);
    sqlite3_close(db);
}

static void test_postgres_text(void)
{
    struct eb_sql_schema *s = NULL;
    struct eb_err err = {0};
    CHECK(eb_sqlgen_build(&eb_sql_dialect_postgres, &s, &err) == EB_OK);
    if (!s)
        return;
    const struct eb_sql_table *c = eb_sqlgen_table(s, "candidate");
    CHECK(strstr(c->insert_sql, "?") == NULL);
    char last[32];
    snprintf(last, sizeof last, "$%zu)", c->n_columns);
    CHECK(strstr(c->insert_sql, "($1, $2, ") != NULL);
    CHECK(strstr(c->insert_sql, last) != NULL);
    CHECK(strstr(c->create_sql, "\"application_id\" BIGINT NOT NULL") != NULL);
    CHECK(strstr(c->upsert_sql, "ON CONFLICT (\"application_id\") DO UPDATE SET \"candidate_id\" = "
                                "excluded.\"candidate_id\"") != NULL);
    CHECK_STR(c->delete_sql, "DELETE FROM \"candidate\" WHERE \"application_id\" = $1");
    CHECK(strstr(eb_sqlgen_table(s, "candidate_education")->create_sql, "WITHOUT ROWID") == NULL);
    eb_sqlgen_free(s);
}

/* ---- the walker -------------------------------------------------------------------------- */

struct row {
    const struct eb_sql_table *t;
    struct eb_sql_value v[16]; /* first values only */
    size_t n;
};

struct rows {
    struct row r[64];
    size_t n;
    size_t fail_at; /* return EB_ERR_DB at this row (0: never) */
};

static eb_rc collect(void *ctx, const struct eb_sql_table *t, const struct eb_sql_value *v,
                     struct eb_err *err)
{
    struct rows *rs = ctx;
    if (rs->fail_at && rs->n + 1 == rs->fail_at)
        return eb_err_set(err, EB_ERR_DB, "injected");
    if (rs->n < 64) {
        struct row *r = &rs->r[rs->n];
        r->t = t;
        r->n = t->n_columns < 16 ? t->n_columns : 16;
        memcpy(r->v, v, r->n * sizeof v[0]);
    }
    rs->n++;
    return EB_OK;
}

static int vint(const struct eb_sql_value *v, int64_t want)
{
    return v->type == EB_SQL_VINT && v->i == want;
}

static int vtext(const struct eb_sql_value *v, const char *want)
{
    return v->type == EB_SQL_VTEXT && v->len == strlen(want) && memcmp(v->s, want, v->len) == 0;
}

/* The value of column name in the candidate row, looked up by walking again. */
struct pick {
    const char *table;
    size_t nth;       /* which row of that table */
    const char *name; /* column */
    struct eb_sql_value v;
    size_t seen;
    int found;
};

static eb_rc pick_fn(void *ctx, const struct eb_sql_table *t, const struct eb_sql_value *v,
                     struct eb_err *err)
{
    (void)err;
    struct pick *p = ctx;
    if (strcmp(t->name, p->table) != 0)
        return EB_OK;
    if (p->seen++ != p->nth)
        return EB_OK;
    for (size_t i = 0; i < t->n_columns; i++) {
        if (strcmp(t->columns[i].name, p->name) == 0) {
            p->v = v[i];
            p->found = 1;
        }
    }
    return EB_OK;
}

static struct eb_sql_value pick(const struct eb_sql_schema *s, const struct eb_candidate *c,
                                const char *table, size_t nth, const char *name)
{
    struct pick p = {table, nth, name, {EB_SQL_VNULL, 0, NULL, 0}, 0, 0};
    CHECK(eb_sqlgen_walk(s, c, "push-1", 1700000000123, pick_fn, &p, NULL) == EB_OK);
    if (!p.found)
        fprintf(stderr, "no value %s[%zu].%s\n", table, nth, name);
    CHECK(p.found);
    return p.v;
}

static void test_walk(const struct eb_sql_schema *s)
{
    struct eb_candidate c;
    memset(&c, 0, sizeof c);
    c.application_id = (struct eb_i64){42, 1};
    c.candidate_id = (struct eb_i64){7, 1};
    c.name = "张三";
    c.archived = 1;
    struct eb_experience exp[2];
    memset(exp, 0, sizeof exp);
    exp[0].company = "A";
    exp[0].now = EB_BOOL_UNSET;
    exp[1].company = "B";
    exp[1].now = 0;
    c.experience_info = exp;
    c.experience_info_n = 2;
    const char *options[] = {"x", "y", NULL};
    struct eb_subject subj[2];
    memset(subj, 0, sizeof subj);
    subj[0].title = "s0";
    subj[1].title = "s1";
    subj[1].options = options;
    subj[1].options_n = 3;
    struct eb_feedback_item fb;
    memset(&fb, 0, sizeof fb);
    fb.subjects = subj;
    fb.subjects_n = 2;
    struct eb_interviewer iv[2];
    memset(iv, 0, sizeof iv);
    iv[1].feedback_template_result = &fb;
    iv[1].feedback_template_result_n = 1;
    c.interviewers = iv;
    c.interviewers_n = 2;
    struct eb_name_value jcf = {"k", "v", NULL};
    struct eb_job job;
    memset(&job, 0, sizeof job);
    job.title = "工程师";
    job.custom_fields = &jcf;
    job.custom_fields_n = 1;
    c.job = &job;
    struct eb_offer_creator creator = {"HR", NULL};
    struct eb_offer offer;
    memset(&offer, 0, sizeof offer);
    offer.salary_number = "12345.60";
    offer.creator = &creator;
    c.offer = &offer;

    struct rows rs;
    memset(&rs, 0, sizeof rs);
    struct eb_err err = {0};
    CHECK(eb_sqlgen_walk(s, &c, "push-1", 1700000000123, collect, &rs, &err) == EB_OK);
    /* candidate, 2 experience, job custom field, 2 interviewers, 1 feedback, 2 subjects,
     * 3 options */
    CHECK(rs.n == 1 + 2 + 1 + 2 + 1 + 2 + 3);
    CHECK_STR(rs.r[0].t->name, "candidate");
    CHECK(vint(&rs.r[0].v[0], 42));
    CHECK(vint(&rs.r[0].v[1], 7));
    CHECK(vtext(&rs.r[0].v[2], "push-1"));
    CHECK(vint(&rs.r[0].v[3], 1700000000123));

    /* depth first, document order: each interviewer row before its feedback rows */
    const char *order[] = {"candidate",
                           "candidate_experience",
                           "candidate_experience",
                           "candidate_job_custom_field",
                           "candidate_interviewer",
                           "candidate_interviewer",
                           "candidate_interviewer_feedback",
                           "candidate_interviewer_feedback_subject",
                           "candidate_interviewer_feedback_subject",
                           "candidate_interviewer_feedback_subject_option",
                           "candidate_interviewer_feedback_subject_option",
                           "candidate_interviewer_feedback_subject_option"};
    for (size_t i = 0; i < rs.n && i < sizeof order / sizeof order[0]; i++)
        CHECK_STR(rs.r[i].t->name, order[i]);
    /* keys */
    CHECK(vint(&rs.r[1].v[0], 42) && vint(&rs.r[1].v[1], 0));
    CHECK(vint(&rs.r[2].v[1], 1));
    const struct row *o = &rs.r[11]; /* third option of subject 1 of feedback 0 of interviewer 1 */
    CHECK(vint(&o->v[0], 42) && vint(&o->v[1], 1) && vint(&o->v[2], 0) && vint(&o->v[3], 1) &&
          vint(&o->v[4], 2));
    CHECK(o->v[5].type == EB_SQL_VNULL); /* a NULL string item */
    CHECK(vtext(&rs.r[9].v[5], "x"));

    /* values by column name */
    struct eb_sql_value v = pick(s, &c, "candidate", 0, "name");
    CHECK(vtext(&v, "张三"));
    v = pick(s, &c, "candidate", 0, "archived");
    CHECK(vint(&v, 1));
    v = pick(s, &c, "candidate", 0, "job_title");
    CHECK(vtext(&v, "工程师"));
    v = pick(s, &c, "candidate", 0, "offer_salary_number");
    CHECK(vtext(&v, "12345.60"));
    v = pick(s, &c, "candidate", 0, "offer_creator_name");
    CHECK(vtext(&v, "HR"));
    v = pick(s, &c, "candidate", 0, "offer_creator_email");
    CHECK(v.type == EB_SQL_VNULL);
    v = pick(s, &c, "candidate", 0, "referrer_name"); /* absent object */
    CHECK(v.type == EB_SQL_VNULL);
    v = pick(s, &c, "candidate", 0, "birth_year"); /* unset integer */
    CHECK(v.type == EB_SQL_VNULL);
    v = pick(s, &c, "candidate_experience", 0, "now"); /* unset boolean */
    CHECK(v.type == EB_SQL_VNULL);
    v = pick(s, &c, "candidate_experience", 1, "now");
    CHECK(vint(&v, 0));
    v = pick(s, &c, "candidate_experience", 1, "company");
    CHECK(vtext(&v, "B"));
    v = pick(s, &c, "candidate_job_custom_field", 0, "value");
    CHECK(vtext(&v, "v"));
    v = pick(s, &c, "candidate_interviewer_feedback_subject", 1, "title");
    CHECK(vtext(&v, "s1"));
    v = pick(s, &c, "candidate_interviewer_feedback_subject", 1, "feedback_seq");
    CHECK(vint(&v, 0));

    /* the callback's error stops the walk */
    memset(&rs, 0, sizeof rs);
    rs.fail_at = 3;
    CHECK(eb_sqlgen_walk(s, &c, "push-1", 1, collect, &rs, &err) == EB_ERR_DB);
    CHECK(rs.n == 2);
    /* no applicationId: nothing */
    c.application_id.set = 0;
    memset(&rs, 0, sizeof rs);
    CHECK(eb_sqlgen_walk(s, &c, "push-1", 1, collect, &rs, &err) == EB_ERR_INVALID);
    CHECK(rs.n == 0);
}

/* 1 when one of the n statements at sql contains text. */
static int has_stmt(char *const *sql, size_t n, const char *text)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(sql[i], text))
            return 1;
    return 0;
}

/* Version 5: candidate_name and push_log_outcome, created with the schema and by the migration
 * from version 4 (CREATE INDEX IF NOT EXISTS: run twice, harmless), in byte order on
 * PostgreSQL, left out where text cannot be indexed (an ODBC CLOB). */
static void test_version5(const struct eb_sql_schema *s)
{
    CHECK(EB_SQL_SCHEMA_VERSION == 5);
    CHECK(
        has_stmt(s->ddl, s->n_ddl, "CREATE INDEX \"candidate_name\" ON \"candidate\" (\"name\")"));
    CHECK(s->n_log_ddl == 3);
    CHECK_STR(s->ddl[s->n_ddl - 1], "CREATE INDEX \"push_log_outcome\" ON \"push_log\" "
                                    "(\"outcome\", \"received_at\", \"push_id\")");
    size_t n = 0;
    char *const *m = eb_sqlgen_migrations(s, 4, &n);
    CHECK(n == 2);
    for (size_t i = 0; m && i < n; i++)
        CHECK(strncmp(m[i], "CREATE INDEX IF NOT EXISTS \"", 28) == 0);
    CHECK(has_stmt(m, n, "\"candidate_name\" ON \"candidate\" (\"name\")"));
    CHECK(has_stmt(m, n, "\"push_log_outcome\" ON \"push_log\""));
    /* in order of version: from 3, version 4's UPDATE comes before the indexes */
    m = eb_sqlgen_migrations(s, 3, &n);
    CHECK(n == 3 && m && !strncmp(m[0], "UPDATE ", 7));
    for (size_t i = 1; i < s->n_migrate; i++)
        CHECK(s->migrate_version[i - 1] <= s->migrate_version[i]);
    CHECK(eb_sqlgen_migrations(s, 5, &n) == NULL && n == 0);

    /* a version 4 database: the migration adds both; run again it changes nothing */
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    for (size_t i = 0; i < s->n_ddl; i++)
        if (!strstr(s->ddl[i], "\"candidate_name\"") && !strstr(s->ddl[i], "\"push_log_outcome\""))
            CHECK(sqlite3_exec(db, s->ddl[i], NULL, NULL, NULL) == SQLITE_OK);
    m = eb_sqlgen_migrations(s, 4, &n);
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < n; i++)
            CHECK(sqlite3_exec(db, m[i], NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                             "('candidate_name', 'push_log_outcome')",
                             -1, &st, NULL) == SQLITE_OK);
    CHECK(st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 2);
    sqlite3_finalize(st);
    sqlite3_close(db);

    struct eb_err err;
    struct eb_sql_schema *pg = NULL;
    CHECK(eb_sqlgen_build(&eb_sql_dialect_postgres, &pg, &err) == EB_OK);
    if (pg) {
        CHECK(
            has_stmt(pg->ddl, pg->n_ddl,
                     "CREATE INDEX \"candidate_name\" ON \"candidate\" (\"name\" COLLATE \"C\")"));
        m = eb_sqlgen_migrations(pg, 4, &n);
        CHECK(n == 2 && has_stmt(m, n, "(\"name\" COLLATE \"C\")"));
    }
    eb_sqlgen_free(pg);

    /* a dialect whose text is a CLOB (ODBC): neither index, neither migration step */
    struct eb_sql_dialect clob = {.name = "odbc",
                                  .int_type = "BIGINT",
                                  .text_type = "CLOB",
                                  .real_type = "DOUBLE PRECISION",
                                  .blob_type = "BLOB",
                                  .child_table_options = "",
                                  .key_text_type = "VARCHAR(255)"};
    struct eb_sql_schema *o = NULL;
    CHECK(eb_sqlgen_build(&clob, &o, &err) == EB_OK);
    if (o) {
        CHECK(o->n_log_ddl == 2);
        CHECK(!has_stmt(o->ddl, o->n_ddl, "candidate_name"));
        CHECK(!has_stmt(o->ddl, o->n_ddl, "push_log_outcome"));
        CHECK(eb_sqlgen_migrations(o, 4, &n) == NULL && n == 0);
        m = eb_sqlgen_migrations(o, 3, &n);
        CHECK(n == 1 && m && !strncmp(m[0], "UPDATE ", 7));
    }
    eb_sqlgen_free(o);
}

/* The name term of a search is the range [q, upper) in byte order: upper is q with its last
 * character moved on by one code point. */
static void check_upper(const char *q, const char *want)
{
    struct eb_push_query pq = {.outcome = -1, .q = q, .limit = 50};
    struct eb_pushread_sql out;
    struct eb_err err;
    CHECK(eb_pushread_page(&eb_sql_dialect_postgres, &pq, 1, &out, &err) == EB_OK);
    const struct eb_sql_value *last = &out.param[out.n_param - 1];
    if (want) {
        CHECK(out.n_param == 7 && last->type == EB_SQL_VTEXT);
        CHECK(last->len == strlen(want) && !memcmp(last->s, want, last->len));
        CHECK(strstr(out.sql, "n.\"name\" COLLATE \"C\" >= $2 AND n.\"name\" COLLATE \"C\" < $3"));
        /* PostgreSQL: an index condition inside the OR, not IN (subquery), a filter there */
        CHECK(strstr(out.sql, " OR l.\"application_id\" = ANY (ARRAY (SELECT ") &&
              !strstr(out.sql, "OR l.\"application_id\" IN ("));
    } else {
        CHECK(out.n_param == 4 && !strstr(out.sql, "\" < $"));
    }
    eb_pushread_free(&out);
}

static void test_name_range(void)
{
    check_upper("ab", "ac");
    check_upper("张伟", "张传");                   /* U+4F1F -> U+4F20 */
    check_upper("a\x7f", "a\xc2\x80");             /* one byte -> two */
    check_upper("x\xed\x9f\xbf", "x\xee\x80\x80"); /* U+D7FF -> U+E000, past the surrogates */
    check_upper("a\xf4\x8f\xbf\xbf", "b");         /* U+10FFFF: dropped, the one before moves */
    check_upper("\xf4\x8f\xbf\xbf", NULL);         /* nothing above: no upper bound */
    check_upper("a\xbf", "a\xc0");                 /* not UTF-8: the byte moves on */
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct eb_push_query pq = {.outcome = -1, .q = big, .limit = 50};
    struct eb_pushread_sql out;
    struct eb_err err;
    CHECK(eb_pushread_page(&eb_sql_dialect_sqlite, &pq, 1, &out, &err) == EB_ERR_INVALID);
    /* without names (a mapping) there is no name term and no limit on q's length */
    CHECK(eb_pushread_page(&eb_sql_dialect_sqlite, &pq, 0, &out, &err) == EB_OK);
    CHECK(out.n_param == 1 && !strstr(out.sql, "candidate"));
    eb_pushread_free(&out);
}

int main(void)
{
    struct eb_sql_schema *s = NULL;
    struct eb_err err = {0};
    CHECK(eb_sqlgen_build(&eb_sql_dialect_sqlite, &s, &err) == EB_OK);
    if (!s) {
        fprintf(stderr, "build failed: %s\n", err.msg);
        return check_report("test_sqlgen");
    }
    test_every_scalar_once(s);
    test_names(s);
    test_sqlite_accepts(s);
    test_walk(s);
    test_postgres_text();
    test_version5(s);
    test_name_range();
    eb_sqlgen_free(s);
    return check_report("test_sqlgen");
}

/* Statement text and rows of the interview tables (see interview_sql.h). */
#include "adapters/interview_sql.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define SQL_MAX_TEXT (64 * 1024)

struct column {
    const char *name; /* unquoted */
    int integer;      /* 1: INTEGER, 0: TEXT */
    int not_null;     /* 1: NOT NULL */
};

static const struct column interview_columns[] = {
    {"event_id", 0, 1},        {"last_push_id", 0, 1},    {"last_event", 0, 1},
    {"updated_at", 1, 1},      {"interview_type", 1, 0},  {"create_time", 1, 0},
    {"creator_id", 0, 0},      {"creator_name", 0, 0},    {"creator_email", 0, 0},
    {"creator_phone", 0, 0},   {"round_id", 1, 0},        {"round_name", 0, 0},
    {"room_id", 1, 0},         {"room_name", 0, 0},       {"address_id", 1, 0},
    {"address_country", 0, 0}, {"address_city_id", 1, 0}, {"address_address", 0, 0},
    {"start_time", 1, 0},      {"end_time", 1, 0},        {"interviewer_ids", 0, 0},
};
static const struct column application_columns[] = {
    {"event_id", 0, 1}, {"seq", 1, 1}, {"application_id", 1, 1}};
static const struct column interviewer_columns[] = {
    {"event_id", 0, 1}, {"seq", 1, 1},   {"interviewer_id", 1, 0}, {"name", 0, 0},
    {"email", 0, 0},    {"phone", 0, 0}, {"interviewer_url", 0, 0}};
static const struct column interviewee_columns[] = {
    {"event_id", 0, 1}, {"seq", 1, 1},       {"candidate_id", 1, 0},
    {"name", 0, 0},     {"email", 0, 0},     {"phone", 0, 0},
    {"job_id", 0, 0},   {"job_title", 0, 0}, {"interviewee_url", 0, 0}};

static const struct {
    const char *name;
    const struct column *columns;
    size_t n;
    size_t n_keys;
} tables[EB_ITV_N_TABLES] = {
    {"interview", interview_columns, sizeof interview_columns / sizeof interview_columns[0], 1},
    {"interview_application", application_columns,
     sizeof application_columns / sizeof application_columns[0], 2},
    {"interview_interviewer", interviewer_columns,
     sizeof interviewer_columns / sizeof interviewer_columns[0], 2},
    {"interview_interviewee", interviewee_columns,
     sizeof interviewee_columns / sizeof interviewee_columns[0], 2},
};

#define MAX_COLUMNS (sizeof interview_columns / sizeof interview_columns[0])

static eb_rc take(struct eb_buf *b, char **dst)
{
    if (!eb_buf_cstr(b))
        return EB_ERR_NOMEM;
    *dst = b->data;
    eb_buf_init(b, SQL_MAX_TEXT);
    return EB_OK;
}

static eb_rc placeholder(struct eb_buf *b, const struct eb_sql_dialect *d, size_t n)
{
    return d->numbered_params ? eb_buf_printf(b, "$%zu", n) : eb_buf_puts(b, "?");
}

eb_rc eb_interview_sql_build(const struct eb_sql_dialect *d, struct eb_interview_sql *s,
                             struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct eb_buf b;
    memset(s, 0, sizeof *s);
    eb_buf_init(&b, SQL_MAX_TEXT);
    for (size_t t = 0; t < EB_ITV_N_TABLES; t++) {
        const char *name = tables[t].name;
        s->name[t] = name;
        s->n_columns[t] = tables[t].n;
        /* CREATE TABLE IF NOT EXISTS */
        rc = eb_buf_printf(&b, "CREATE TABLE IF NOT EXISTS \"%s\" (", name);
        for (size_t i = 0; !rc && i < tables[t].n; i++) {
            /* a key's text is a VARCHAR where the database cannot index unbounded text */
            const char *text =
                i < tables[t].n_keys && d->key_text_type ? d->key_text_type : d->text_type;
            rc = eb_buf_printf(&b, "%s\"%s\" %s%s", i ? ", " : "", tables[t].columns[i].name,
                               tables[t].columns[i].integer ? d->int_type : text,
                               tables[t].columns[i].not_null ? " NOT NULL" : "");
        }
        if (!rc)
            rc = eb_buf_puts(&b, ", PRIMARY KEY (");
        for (size_t i = 0; !rc && i < tables[t].n_keys; i++)
            rc = eb_buf_printf(&b, "%s\"%s\"", i ? ", " : "", tables[t].columns[i].name);
        if (!rc)
            rc = eb_buf_printf(&b, "))%s", t == EB_ITV_INTERVIEW ? "" : d->child_table_options);
        if (rc || (rc = take(&b, &s->ddl[s->n_ddl++])))
            goto out;
        /* INSERT */
        rc = eb_buf_printf(&b, "INSERT INTO \"%s\" (", name);
        for (size_t i = 0; !rc && i < tables[t].n; i++)
            rc = eb_buf_printf(&b, "%s\"%s\"", i ? ", " : "", tables[t].columns[i].name);
        if (!rc)
            rc = eb_buf_puts(&b, ") VALUES (");
        for (size_t i = 0; !rc && i < tables[t].n; i++)
            if (!(rc = i ? eb_buf_puts(&b, ", ") : EB_OK))
                rc = placeholder(&b, d, i + 1);
        if (!rc)
            rc = eb_buf_puts(&b, ")");
        if (rc || (rc = take(&b, &s->insert[t])))
            goto out;
        /* DELETE */
        if ((rc = eb_buf_printf(&b, "DELETE FROM \"%s\" WHERE \"event_id\" = ", name)) ||
            (rc = placeholder(&b, d, 1)) || (rc = take(&b, &s->remove[t])))
            goto out;
    }
    if ((rc = eb_buf_puts(&b, "CREATE INDEX IF NOT EXISTS \"interview_application_id\" ON "
                              "\"interview_application\" (\"application_id\")")) ||
        (rc = take(&b, &s->ddl[s->n_ddl++])))
        goto out;
out:
    eb_buf_free(&b);
    if (rc) {
        eb_interview_sql_free(s);
        return eb_err_set(err, rc, "interview_sql: cannot build statement text: %s",
                          eb_strerror(rc));
    }
    return EB_OK;
}

void eb_interview_sql_free(struct eb_interview_sql *s)
{
    for (size_t i = 0; i < s->n_ddl; i++)
        free(s->ddl[i]);
    for (size_t t = 0; t < EB_ITV_N_TABLES; t++) {
        free(s->insert[t]);
        free(s->remove[t]);
    }
    memset(s, 0, sizeof *s);
}

/* ---- rows ---- */

static void v_text(struct eb_sql_value *v, const char *s)
{
    v->type = s ? EB_SQL_VTEXT : EB_SQL_VNULL;
    v->s = s;
    v->len = s ? strlen(s) : 0;
}

static void v_int(struct eb_sql_value *v, int64_t i)
{
    v->type = EB_SQL_VINT;
    v->i = i;
}

static void v_opt(struct eb_sql_value *v, struct eb_i64 x)
{
    if (x.set)
        v_int(v, x.v);
    else
        v->type = EB_SQL_VNULL;
}

static eb_rc people(const struct eb_interview *iv, enum eb_interview_table t,
                    const struct eb_interview_person *p, size_t n, eb_interview_row_fn fn,
                    void *ctx, struct eb_err *err)
{
    struct eb_sql_value v[MAX_COLUMNS];
    eb_rc rc = EB_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        size_t k = 0;
        memset(v, 0, sizeof v);
        v_text(&v[k++], iv->event_id);
        v_int(&v[k++], (int64_t)i);
        v_opt(&v[k++], p[i].id);
        v_text(&v[k++], p[i].name);
        v_text(&v[k++], p[i].email);
        v_text(&v[k++], p[i].phone);
        if (t == EB_ITV_INTERVIEWEE) {
            v_text(&v[k++], p[i].job_id);
            v_text(&v[k++], p[i].job_title);
        }
        v_text(&v[k++], p[i].url);
        rc = fn(ctx, t, v, k, err);
    }
    return rc;
}

eb_rc eb_interview_sql_rows(const struct eb_interview_event *ev, const struct eb_interview *iv,
                            const char *push_id, int64_t updated_at_ms, eb_interview_row_fn fn,
                            void *ctx, struct eb_err *err)
{
    struct eb_sql_value v[MAX_COLUMNS];
    size_t k = 0;
    eb_rc rc;
    memset(v, 0, sizeof v);
    v_text(&v[k++], iv->event_id);
    v_text(&v[k++], push_id);
    v_text(&v[k++], ev->event);
    v_int(&v[k++], updated_at_ms);
    v_opt(&v[k++], ev->interview_type);
    v_opt(&v[k++], ev->create_time);
    v_text(&v[k++], ev->creator_id);
    v_text(&v[k++], ev->creator_name);
    v_text(&v[k++], ev->creator_email);
    v_text(&v[k++], ev->creator_phone);
    v_opt(&v[k++], iv->round_id);
    v_text(&v[k++], iv->round_name);
    v_opt(&v[k++], iv->room_id);
    v_text(&v[k++], iv->room_name);
    v_opt(&v[k++], iv->address_id);
    v_text(&v[k++], iv->address_country);
    v_opt(&v[k++], iv->address_city_id);
    v_text(&v[k++], iv->address_address);
    v_opt(&v[k++], iv->start_time);
    v_opt(&v[k++], iv->end_time);
    v_text(&v[k++], iv->interviewer_ids);
    if ((rc = fn(ctx, EB_ITV_INTERVIEW, v, k, err)))
        return rc;
    for (size_t i = 0; i < iv->application_ids_n; i++) {
        struct eb_sql_value a[3];
        memset(a, 0, sizeof a);
        v_text(&a[0], iv->event_id);
        v_int(&a[1], (int64_t)i);
        v_int(&a[2], iv->application_ids[i]);
        if ((rc = fn(ctx, EB_ITV_APPLICATION, a, 3, err)))
            return rc;
    }
    if ((rc = people(iv, EB_ITV_INTERVIEWER, iv->interviewers, iv->interviewers_n, fn, ctx, err)))
        return rc;
    return people(iv, EB_ITV_INTERVIEWEE, iv->interviewees, iv->interviewees_n, fn, ctx, err);
}

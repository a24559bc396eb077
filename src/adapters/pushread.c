/* The push log's reads for the admin listener (pushread.h): statement text and row decoding,
 * shared by the SQLite and PostgreSQL adapters. Every query seeks an index: the page by
 * push_log_received_at (received_at, push_id) walked backwards from the cursor, a push id by the
 * primary key, the counts by a range of push_log_received_at; none counts the whole table. A
 * search (q) is the union of its terms' push ids (push_id, application_id, application_id IN the
 * candidates whose name starts so), each an index seek of push_log (the names: one pass over the
 * candidate table, which has no index on name), then the page of those rows. */
#include "adapters/pushread.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQL_MAX 4096

/* The select list of the page and get queries (EB_PUSHREAD_COLUMNS columns). */
static const char page_columns[] =
    "l.\"push_id\", l.\"event\", l.\"triggered_at\", CAST(l.\"received_at\" AS TEXT),"
    " CAST(l.\"application_id\" AS TEXT), l.\"outcome\", l.\"message\", %s,"
    " NULL, NULL, NULL, NULL";
static const char get_columns[] =
    "l.\"push_id\", l.\"event\", l.\"triggered_at\", CAST(l.\"received_at\" AS TEXT),"
    " CAST(l.\"application_id\" AS TEXT), l.\"outcome\", l.\"message\", %s,"
    " CAST(l.\"candidate_id\" AS TEXT), l.\"payload\", l.\"raw\", %s";

struct text {
    char s[SQL_MAX];
    size_t len;
    int full;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s + t->len, sizeof t->s - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof t->s - t->len)
        t->full = 1;
    else
        t->len += (size_t)n;
}

/* Copies t into out->sql, with "$1", "$2", ... for "?" in a dialect that numbers them. */
static eb_rc finish(const struct eb_sql_dialect *d, const struct text *t,
                    struct eb_pushread_sql *out, struct eb_err *err)
{
    if (t->full)
        return eb_err_set(err, EB_ERR_INTERNAL, "push log read: statement too long");
    char *sql = malloc(t->len * 4 + 1);
    if (!sql)
        return eb_err_set(err, EB_ERR_NOMEM, "push log read: out of memory");
    size_t o = 0, n = 0;
    for (size_t i = 0; i < t->len; i++) {
        if (t->s[i] == '?' && d->numbered_params)
            o += (size_t)sprintf(sql + o, "$%zu", ++n);
        else
            sql[o++] = t->s[i];
    }
    sql[o] = '\0';
    out->sql = sql;
    return EB_OK;
}

static void add_int(struct eb_pushread_sql *out, int64_t v)
{
    out->param[out->n_param++] = (struct eb_sql_value){EB_SQL_VINT, v, NULL, 0};
}

static void add_text(struct eb_pushread_sql *out, const char *v)
{
    eb_sqlgen_text_value(&out->param[out->n_param++], v);
}

eb_rc eb_pushread_page(const struct eb_sql_dialect *d, const struct eb_push_query *q,
                       int with_names, struct eb_pushread_sql *out, struct eb_err *err)
{
    struct text t = {.len = 0};
    memset(out, 0, sizeof *out);
    put(&t, "SELECT ");
    put(&t, page_columns, with_names ? "c.\"name\"" : "NULL");
    put(&t, " FROM \"push_log\" l");
    if (with_names)
        put(&t, " LEFT JOIN \"candidate\" c ON c.\"application_id\" = l.\"application_id\"");
    const char *and = " WHERE ";
    if (q->outcome >= 0) {
        put(&t, "%sl.\"outcome\" = ?", and);
        add_text(out, eb_outcome_name((enum eb_outcome)q->outcome));
        and = " AND ";
    }
    if (q->has_application_id) {
        put(&t, "%sl.\"application_id\" = ?", and);
        add_int(out, q->application_id);
        and = " AND ";
    }
    if (q->since_ms) {
        put(&t, "%sl.\"received_at\" >= ?", and);
        add_int(out, q->since_ms);
        and = " AND ";
    }
    if (q->until_ms) {
        put(&t, "%sl.\"received_at\" <= ?", and);
        add_int(out, q->until_ms);
        and = " AND ";
    }
    if (q->q) { /* one index seek per term, the union of their push ids, then the page */
        put(&t, "%sl.\"push_id\" IN (SELECT \"push_id\" FROM \"push_log\" WHERE \"push_id\" = ?",
            and);
        add_text(out, q->q);
        if (q->has_q_app) {
            put(&t, " UNION ALL SELECT \"push_id\" FROM \"push_log\" WHERE \"application_id\" = ?");
            add_int(out, q->q_app);
        }
        if (with_names) {
            size_t o = 0;
            for (const char *p = q->q; *p; p++) {
                if (o + 3 >= sizeof out->like)
                    return eb_err_set(err, EB_ERR_INVALID, "the search text is too long");
                if (*p == '%' || *p == '_' || *p == '\\')
                    out->like[o++] = '\\';
                out->like[o++] = *p;
            }
            out->like[o++] = '%';
            out->like[o] = '\0';
            put(&t, " UNION ALL SELECT p.\"push_id\" FROM \"push_log\" p WHERE p.\"application_id\""
                    " IN (SELECT n.\"application_id\" FROM \"candidate\" n"
                    " WHERE n.\"name\" LIKE ? ESCAPE '\\')");
            add_text(out, out->like);
        }
        put(&t, ")");
        and = " AND ";
    }
    if (q->after_id) { /* a row value: one backward range of push_log_received_at */
        put(&t, "%s(l.\"received_at\", l.\"push_id\") < (?, ?)", and);
        add_int(out, q->after_ms);
        add_text(out, q->after_id);
    }
    put(&t, " ORDER BY l.\"received_at\" DESC, l.\"push_id\" DESC LIMIT %u", q->limit);
    return finish(d, &t, out, err);
}

eb_rc eb_pushread_get(const struct eb_sql_dialect *d, const char *push_id, int with_names,
                      struct eb_pushread_sql *out, struct eb_err *err)
{
    struct text t = {.len = 0};
    memset(out, 0, sizeof *out);
    put(&t, "SELECT ");
    put(&t, get_columns, with_names ? "c.\"name\"" : "NULL",
        with_names ? "c.\"last_push_id\"" : "NULL");
    put(&t, " FROM \"push_log\" l");
    if (with_names)
        put(&t, " LEFT JOIN \"candidate\" c ON c.\"application_id\" = l.\"application_id\"");
    put(&t, " WHERE l.\"push_id\" = ?");
    add_text(out, push_id);
    return finish(d, &t, out, err);
}

eb_rc eb_pushread_counts(const struct eb_sql_dialect *d, int64_t since_ms, int64_t bucket_ms,
                         struct eb_pushread_sql *out, struct eb_err *err)
{
    struct text t = {.len = 0};
    memset(out, 0, sizeof *out);
    put(&t, "SELECT CAST((\"received_at\" - ?) / ? AS TEXT), \"outcome\","
            " CAST(COUNT(*) AS TEXT) FROM \"push_log\" WHERE \"received_at\" >= ?"
            " GROUP BY 1, 2 ORDER BY 1, 2");
    add_int(out, since_ms);
    add_int(out, bucket_ms);
    add_int(out, since_ms);
    return finish(d, &t, out, err);
}

eb_rc eb_pushread_purge(const struct eb_sql_dialect *d, int64_t before_ms, unsigned max_rows,
                        struct eb_pushread_sql *out, struct eb_err *err)
{
    struct text t = {.len = 0};
    memset(out, 0, sizeof *out);
    put(&t, "UPDATE \"push_log\" SET \"payload\" = NULL, \"raw\" = NULL WHERE ");
    if (max_rows)
        put(&t, "\"push_id\" IN (SELECT \"push_id\" FROM \"push_log\" WHERE ");
    put(&t, "\"received_at\" < ? AND (\"payload\" IS NOT NULL OR \"raw\" IS NOT NULL)");
    if (max_rows)
        put(&t, " ORDER BY \"received_at\" LIMIT %u)", max_rows);
    add_int(out, before_ms);
    return finish(d, &t, out, err);
}

eb_rc eb_pushread_purge_warnings(const struct eb_sql_dialect *d, int64_t before_ms,
                                 struct eb_pushread_sql *out, struct eb_err *err)
{
    struct text t = {.len = 0};
    memset(out, 0, sizeof *out);
    put(&t, "UPDATE \"push_warning\" SET \"value\" = NULL WHERE \"value\" IS NOT NULL AND"
            " \"push_id\" IN (SELECT \"push_id\" FROM \"push_log\" WHERE \"received_at\" < ?)");
    add_int(out, before_ms);
    return finish(d, &t, out, err);
}

eb_rc eb_pushread_warnings(const struct eb_sql_dialect *d, const char *push_id,
                           struct eb_pushread_sql *out, struct eb_err *err)
{
    struct text t = {.len = 0};
    memset(out, 0, sizeof *out);
    put(&t, "SELECT \"field\", \"value\", \"reason\" FROM \"push_warning\""
            " WHERE \"push_id\" = ? ORDER BY \"seq\"");
    add_text(out, push_id);
    return finish(d, &t, out, err);
}

int eb_pushread_warning_row(const char *const *col, eb_push_warning_fn fn, void *user)
{
    return fn(user, col[0] ? col[0] : "", col[1], col[2] ? col[2] : "");
}

void eb_pushread_free(struct eb_pushread_sql *s)
{
    free(s->sql);
    s->sql = NULL;
}

static int read_i64(const char *s, int64_t *v)
{
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (!*s || *end || errno)
        return -1;
    *v = n;
    return 0;
}

static enum eb_outcome outcome_of(const char *s)
{
    if (s && !strcmp(s, "stored"))
        return EB_OUTCOME_STORED;
    if (s && !strcmp(s, "rejected"))
        return EB_OUTCOME_REJECTED;
    return EB_OUTCOME_FAILED;
}

int eb_pushread_row(const char *const *col, const size_t *len, eb_push_summary_fn fn, void *user)
{
    struct eb_push_summary row = {
        .push_id = col[0],
        .event = col[1],
        .triggered_at = col[2],
        .outcome = outcome_of(col[5]),
        .message = col[6],
        .name = col[7],
        .payload = col[9],
        .payload_len = col[9] ? len[9] : 0,
        .raw = col[10],
        .raw_len = col[10] ? len[10] : 0,
    };
    if (!row.push_id || !col[3] || read_i64(col[3], &row.received_at_ms))
        return 1;
    if (col[4] && !read_i64(col[4], &row.application_id))
        row.has_application_id = 1;
    if (col[8] && !read_i64(col[8], &row.candidate_id))
        row.has_candidate_id = 1;
    if (col[11] && strcmp(col[11], row.push_id))
        row.replaced_by = col[11];
    return fn(user, &row);
}

int eb_pushread_count_row(const char *const *col, eb_push_count_fn fn, void *user)
{
    int64_t bucket, n;
    if (!col[0] || !col[2] || read_i64(col[0], &bucket) || read_i64(col[2], &n))
        return 1;
    return fn(user, bucket, outcome_of(col[1]), n);
}

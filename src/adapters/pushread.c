/* The push log's reads for the admin listener (pushread.h): statement text and row decoding,
 * shared by the SQLite and PostgreSQL adapters. Every query seeks an index: the page by
 * push_log_received_at (received_at, push_id) walked backwards from the cursor, a push id by the
 * primary key, the counts by ranges of push_log_outcome (outcome, received_at, push_id), one per
 * bucket and outcome; none counts the whole table. A search (q) finds its terms (push_id,
 * application_id, the candidates whose name starts with q: a range of candidate_name, in byte
 * order) by index seeks, or, for a name that many candidates have, by a short walk of the newest
 * pushes (eb_pushread_page). */
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

/* The least text above every text that starts with q, in byte order (which is code point order
 * in UTF-8): q with its last character replaced by the next code point (a last character
 * U+10FFFF is dropped and the one before it moved on, a byte that is not UTF-8 moves on as a
 * byte). Writes it to upper (cap bytes): 1, or 0 when there is none (q is empty or only
 * U+10FFFF), -1 when q does not fit. */
static int prefix_upper(const char *q, char *upper, size_t cap)
{
    size_t n = strlen(q);
    if (n + 1 > cap)
        return -1;
    memcpy(upper, q, n + 1);
    while (n) {
        size_t start = n - 1;
        while (start && n - start < 4 && ((unsigned char)upper[start] & 0xC0) == 0x80)
            start--;
        const unsigned char *u = (const unsigned char *)upper + start;
        size_t len = n - start;
        uint32_t cp = 0;
        size_t want = u[0] < 0x80             ? 1
                      : (u[0] & 0xE0) == 0xC0 ? 2
                      : (u[0] & 0xF0) == 0xE0 ? 3
                      : (u[0] & 0xF8) == 0xF0 ? 4
                                              : 0;
        if (want == len) {
            cp = want == 1 ? u[0] : u[0] & (0x7F >> want);
            for (size_t i = 1; i < len; i++)
                cp = cp << 6 | (u[i] & 0x3F);
        }
        if (want != len || cp > 0x10FFFF) { /* not UTF-8: the last byte moves on */
            if ((unsigned char)upper[n - 1] < 0xFF) {
                upper[n - 1] = (char)((unsigned char)upper[n - 1] + 1);
                return 1;
            }
            upper[--n] = '\0';
            continue;
        }
        if (cp == 0x10FFFF) {
            n = start;
            upper[n] = '\0';
            continue;
        }
        cp = cp + 1 == 0xD800 ? 0xE000 : cp + 1;
        unsigned char *w = (unsigned char *)upper + start;
        size_t need = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (start + need + 1 > cap)
            return -1;
        if (need == 1) {
            w[0] = (unsigned char)cp;
        } else {
            for (size_t i = need - 1; i > 0; i--, cp >>= 6)
                w[i] = (unsigned char)(0x80 | (cp & 0x3F));
            w[0] = (unsigned char)((0xF00 >> need) | cp);
        }
        w[need] = '\0';
        return 1;
    }
    return 0;
}

static void add_int(struct eb_pushread_sql *out, int64_t v)
{
    out->param[out->n_param++] = (struct eb_sql_value){EB_SQL_VINT, v, NULL, 0};
}

static void add_text(struct eb_pushread_sql *out, const char *v)
{
    eb_sqlgen_text_value(&out->param[out->n_param++], v);
}

/* The filters of q other than the search text, on push_log l, each after `and` (" WHERE " for
 * the first, then " AND "); returns the `and` for what follows. */
static const char *put_filters(struct text *t, struct eb_pushread_sql *out,
                               const struct eb_push_query *q, const char *and)
{
    if (q->outcome >= 0) {
        put(t, "%sl.\"outcome\" = ?", and);
        add_text(out, eb_outcome_name((enum eb_outcome)q->outcome));
        and = " AND ";
    }
    if (q->has_application_id) {
        put(t, "%sl.\"application_id\" = ?", and);
        add_int(out, q->application_id);
        and = " AND ";
    }
    if (q->since_ms) {
        put(t, "%sl.\"received_at\" >= ?", and);
        add_int(out, q->since_ms);
        and = " AND ";
    }
    if (q->until_ms) {
        put(t, "%sl.\"received_at\" <= ?", and);
        add_int(out, q->until_ms);
        and = " AND ";
    }
    if (q->after_id) { /* a row value: one backward range of push_log_received_at */
        put(t, "%s(l.\"received_at\", l.\"push_id\") < (?, ?)", and);
        add_int(out, q->after_ms);
        add_text(out, q->after_id);
        and = " AND ";
    }
    return and;
}

/* The names starting with q: [q, upper) in byte order, "<name> >= ? AND <name> < ?" (the upper
 * bound left out when there is none); name is the column or expression, c the collation. */
static void put_name_range(struct text *t, struct eb_pushread_sql *out, const char *name,
                           const char *c, const char *q, int bounded)
{
    put(t, "%s%s >= ?", name, c);
    add_text(out, q);
    if (bounded) {
        put(t, " AND %s%s < ?", name, c);
        add_text(out, out->upper);
    }
}

#define PAGE_ORDER " ORDER BY l.\"received_at\" DESC, l.\"push_id\" DESC LIMIT %u"

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
    if (!q->q) {
        put_filters(&t, out, q, " WHERE ");
        put(&t, PAGE_ORDER, q->limit);
        return finish(d, &t, out, err);
    }
    const char *c = d->byte_collate ? d->byte_collate : "";
    int bounded = with_names ? prefix_upper(q->q, out->upper, sizeof out->upper) : 0;
    if (bounded < 0)
        return eb_err_set(err, EB_ERR_INVALID, "the search text is too long");
    /* The push ids of at most two pages, each newest first with the filters, then the page of
     * those rows: (a) the push id, the applicationId and the names of at most
     * EB_PUSHREAD_FEW_NAMES candidates, one OR of index seeks (SQLite: MULTI-INDEX OR;
     * PostgreSQL: BitmapOr, with the names as = ANY (ARRAY (...)), since an IN (subquery)
     * inside an OR is a filter on every row there); (b) only when more candidates have such a
     * name (its LIMIT is 0 otherwise, so it reads nothing), push_log_received_at walked
     * backwards until a page of their pushes is found: matches are frequent then, so the walk
     * is short. "+application_id" keeps (b) from seeking every match and sorting them. */
    put(&t, " WHERE l.\"push_id\" IN (SELECT \"push_id\" FROM (SELECT l.\"push_id\" FROM"
            " \"push_log\" l WHERE (l.\"push_id\" = ?");
    add_text(out, q->q);
    if (q->has_q_app) {
        put(&t, " OR l.\"application_id\" = ?");
        add_int(out, q->q_app);
    }
    if (with_names) {
        put(&t,
            " OR l.\"application_id\" %s (SELECT n.\"application_id\" FROM \"candidate\" n"
            " WHERE ",
            d->any_array ? "= ANY (ARRAY" : "IN");
        put_name_range(&t, out, "n.\"name\"", c, q->q, bounded);
        put(&t, " LIMIT %d)%s", EB_PUSHREAD_FEW_NAMES, d->any_array ? ")" : "");
    }
    put(&t, ")");
    put_filters(&t, out, q, " AND ");
    put(&t, PAGE_ORDER ") \"a\"", q->limit);
    if (with_names) {
        put(&t, " UNION ALL SELECT \"push_id\" FROM (SELECT l.\"push_id\" FROM \"push_log\" l"
                " WHERE (+l.\"application_id\") IN (SELECT n.\"application_id\" FROM"
                " \"candidate\" n WHERE ");
        put_name_range(&t, out, "n.\"name\"", c, q->q, bounded);
        put(&t, ")");
        put_filters(&t, out, q, " AND ");
        put(&t, " ORDER BY l.\"received_at\" DESC, l.\"push_id\" DESC LIMIT CASE WHEN (SELECT"
                " COUNT(*) FROM (SELECT 1 FROM \"candidate\" m WHERE ");
        put_name_range(&t, out, "m.\"name\"", c, q->q, bounded);
        put(&t, " LIMIT %d) \"m\") > %d THEN %u ELSE 0 END) \"b\"", EB_PUSHREAD_FEW_NAMES + 1,
            EB_PUSHREAD_FEW_NAMES, q->limit);
    }
    put(&t, ")" PAGE_ORDER, q->limit);
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
    if (bucket_ms <= 0)
        return eb_err_set(err, EB_ERR_INVALID, "push counts: the bucket must be positive");
    /* the buckets [lo, hi) up to the newest row (one seek of push_log_received_at), and for each
     * bucket and outcome a count over one range of push_log_outcome (only its entries are read:
     * no row, no sort of the window's rows) */
    put(&t,
        "WITH RECURSIVE \"b\" (\"i\", \"lo\", \"hi\") AS (SELECT 0, CAST(? AS %s),"
        " CAST(? AS %s) + CAST(? AS %s) UNION ALL SELECT \"i\" + 1, \"hi\","
        " \"hi\" + (\"hi\" - \"lo\") FROM \"b\" WHERE \"i\" + 1 < %d AND"
        " \"hi\" <= (SELECT max(\"received_at\") FROM \"push_log\")),"
        " \"o\" (\"v\") AS (SELECT ? UNION ALL SELECT ? UNION ALL SELECT ?)"
        " SELECT CAST(\"b\".\"i\" AS TEXT), \"o\".\"v\", CAST((SELECT COUNT(*) FROM \"push_log\""
        " WHERE \"outcome\" = \"o\".\"v\" AND \"received_at\" >= \"b\".\"lo\" AND"
        " \"received_at\" < \"b\".\"hi\") AS TEXT) FROM \"b\", \"o\" ORDER BY \"b\".\"i\"",
        d->int_type, d->int_type, d->int_type, EB_PUSHREAD_MAX_BUCKETS);
    add_int(out, since_ms);
    add_int(out, since_ms);
    add_int(out, bucket_ms);
    add_text(out, eb_outcome_name(EB_OUTCOME_STORED));
    add_text(out, eb_outcome_name(EB_OUTCOME_REJECTED));
    add_text(out, eb_outcome_name(EB_OUTCOME_FAILED));
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

/* ---- the four reads, over an adapter's run function ---------------------------------------- */

struct read_ctx {
    eb_push_summary_fn fn;
    eb_push_count_fn count_fn;
    eb_push_warning_fn warning_fn;
    void *user;
};

static int summary_row(void *ctx, const char *const *col, const size_t *len)
{
    struct read_ctx *c = ctx;
    return eb_pushread_row(col, len, c->fn, c->user);
}

static int count_row(void *ctx, const char *const *col, const size_t *len)
{
    struct read_ctx *c = ctx;
    (void)len;
    return eb_pushread_count_row(col, c->count_fn, c->user);
}

static int warning_row(void *ctx, const char *const *col, const size_t *len)
{
    struct read_ctx *c = ctx;
    (void)len;
    return eb_pushread_warning_row(col, c->warning_fn, c->user);
}

eb_rc eb_pushread_do_page(const struct eb_sql_dialect *d, eb_pushread_run_fn run,
                          struct eb_adapter *a, const struct eb_push_query *q,
                          eb_push_summary_fn fn, void *user, struct eb_err *err)
{
    struct eb_pushread_sql sql;
    struct read_ctx c = {.fn = fn, .user = user};
    eb_rc rc = eb_pushread_page(d, q, !a->mapping, &sql, err);
    return rc ? rc : run(a, &sql, summary_row, &c, err);
}

eb_rc eb_pushread_do_get(const struct eb_sql_dialect *d, eb_pushread_run_fn run,
                         struct eb_adapter *a, const char *push_id, eb_push_summary_fn fn,
                         void *user, struct eb_err *err)
{
    struct eb_pushread_sql sql;
    struct read_ctx c = {.fn = fn, .user = user};
    eb_rc rc = eb_pushread_get(d, push_id, !a->mapping, &sql, err);
    return rc ? rc : run(a, &sql, summary_row, &c, err);
}

eb_rc eb_pushread_do_counts(const struct eb_sql_dialect *d, eb_pushread_run_fn run,
                            struct eb_adapter *a, int64_t since_ms, int64_t bucket_ms,
                            eb_push_count_fn fn, void *user, struct eb_err *err)
{
    struct eb_pushread_sql sql;
    struct read_ctx c = {.count_fn = fn, .user = user};
    eb_rc rc = eb_pushread_counts(d, since_ms, bucket_ms, &sql, err);
    return rc ? rc : run(a, &sql, count_row, &c, err);
}

eb_rc eb_pushread_do_warnings(const struct eb_sql_dialect *d, eb_pushread_run_fn run,
                              struct eb_adapter *a, const char *push_id, eb_push_warning_fn fn,
                              void *user, struct eb_err *err)
{
    struct eb_pushread_sql sql;
    struct read_ctx c = {.warning_fn = fn, .user = user};
    eb_rc rc = eb_pushread_warnings(d, push_id, &sql, err);
    return rc ? rc : run(a, &sql, warning_row, &c, err);
}

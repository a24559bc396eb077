/* Statement text for a table of the customer's own schema (see table_text.h). */
#include "sql/table_text.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define SQL_TEXT_MAX (1024 * 1024) /* longest statement */

static eb_rc put_param(struct eb_buf *b, const struct eb_sql_dialect *d, size_t n)
{
    return d->numbered_params ? eb_buf_printf(b, "$%zu", n) : eb_buf_puts(b, "?");
}

/* Moves the buffer's text into *dst. */
static eb_rc take(struct eb_buf *b, char **dst)
{
    if (!eb_buf_cstr(b))
        return EB_ERR_NOMEM;
    *dst = b->data;
    eb_buf_init(b, SQL_TEXT_MAX);
    return EB_OK;
}

/* 1 when column i of t is one of its key columns. */
static int is_key(const struct eb_sql_shape *t, size_t i)
{
    for (size_t k = 0; k < t->n_key; k++)
        if (t->key[k] == i)
            return 1;
    return 0;
}

/* The statements of t into ts, with b as the scratch buffer. */
static eb_rc build(const struct eb_sql_dialect *d, const struct eb_sql_shape *t,
                   struct eb_sql_table_text *ts, struct eb_buf *b)
{
    eb_rc rc = EB_OK;
    size_t n = 0;
    /* INSERT */
    rc = eb_buf_printf(b, "INSERT INTO %s (", t->name);
    for (size_t i = 0; !rc && i < t->n_cols; i++)
        rc = eb_buf_printf(b, "%s%s", i ? ", " : "", t->cols[i]);
    if (!rc)
        rc = eb_buf_puts(b, ") VALUES (");
    for (size_t i = 0; !rc && i < t->n_cols; i++)
        if (!(rc = eb_buf_puts(b, i ? ", " : "")))
            rc = put_param(b, d, i + 1);
    if (rc || (rc = eb_buf_puts(b, ")")) || (rc = take(b, &ts->insert_sql)))
        return rc;
    ts->n_insert = t->n_cols;
    /* PROBE */
    rc = eb_buf_puts(b, "SELECT ");
    for (size_t i = 0; !rc && i < t->n_cols; i++)
        rc = eb_buf_printf(b, "%s%s", i ? ", " : "", t->cols[i]);
    if (rc || (rc = eb_buf_printf(b, " FROM %s WHERE 1 = 0", t->name)) ||
        (rc = take(b, &ts->probe_sql)))
        return rc;
    if (t->child) {
        /* DELETE by the candidate-level key */
        rc = eb_buf_printf(b, "DELETE FROM %s WHERE ", t->name);
        for (size_t k = 0; !rc && k < t->n_remove_key; k++) {
            rc = eb_buf_printf(b, "%s%s = ", k ? " AND " : "", t->cols[t->remove_key[k]]);
            if (!rc)
                rc = put_param(b, d, k + 1);
        }
        if (rc || (rc = take(b, &ts->remove_sql)))
            return rc;
        ts->n_remove = t->n_remove_key;
        return EB_OK;
    }
    /* UPDATE: every non-key column, then WHERE the key; a table of key columns only sets its
     * first key column to itself (the statement then still counts the row) */
    rc = eb_buf_printf(b, "UPDATE %s SET ", t->name);
    for (size_t i = 0; !rc && i < t->n_cols; i++) {
        if (is_key(t, i))
            continue;
        rc = eb_buf_printf(b, "%s%s = ", n ? ", " : "", t->cols[i]);
        if (!rc)
            rc = put_param(b, d, ++n);
    }
    if (!rc && !n) {
        rc = eb_buf_printf(b, "%s = %s", t->cols[t->key[0]], t->cols[t->key[0]]);
    }
    if (!rc)
        rc = eb_buf_puts(b, " WHERE ");
    for (size_t k = 0; !rc && k < t->n_key; k++) {
        rc = eb_buf_printf(b, "%s%s = ", k ? " AND " : "", t->cols[t->key[k]]);
        if (!rc)
            rc = put_param(b, d, ++n);
    }
    if (rc || (rc = take(b, &ts->update_sql)))
        return rc;
    ts->n_update = n;
    return EB_OK;
}

eb_rc eb_sql_table_text(const struct eb_sql_dialect *d, const struct eb_sql_shape *t,
                        struct eb_sql_table_text *out)
{
    struct eb_buf b;
    memset(out, 0, sizeof *out);
    eb_buf_init(&b, SQL_TEXT_MAX);
    eb_rc rc = build(d, t, out, &b);
    eb_buf_free(&b);
    if (rc)
        eb_sql_table_text_free(out);
    return rc;
}

void eb_sql_table_text_free(struct eb_sql_table_text *t)
{
    if (!t)
        return;
    free(t->update_sql);
    free(t->insert_sql);
    free(t->remove_sql);
    free(t->probe_sql);
    memset(t, 0, sizeof *t);
}

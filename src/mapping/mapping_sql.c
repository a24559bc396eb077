/* Statement text of a mapping for one SQL dialect (mapping/mapping.h): per mapped table an
 * UPDATE by key (tables of candidates), an INSERT, a DELETE by the candidate-level key (child
 * tables) and a probe that the table and its columns exist. Identifiers are written as the
 * mapping file wrote them: bare names are left to the database's case rules, quoted ones quoted. */
#include <stdlib.h>
#include <string.h>

#include "mapping/mapping.h"
#include "mapping/mapping_int.h"
#include "util/buf.h"

#define MAP_SQL_MAX (1024 * 1024) /* longest statement */

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
    eb_buf_init(b, MAP_SQL_MAX);
    return EB_OK;
}

static eb_rc table_text(const struct map_table *t, const struct eb_sql_dialect *d,
                        struct eb_mapping_table_sql *ts, struct eb_buf *b)
{
    eb_rc rc = EB_OK;
    size_t n = 0;
    /* INSERT */
    rc = eb_buf_printf(b, "INSERT INTO %s (", t->name);
    for (size_t i = 0; !rc && i < t->n_cols; i++)
        rc = eb_buf_printf(b, "%s%s", i ? ", " : "", t->cols[i].name);
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
        rc = eb_buf_printf(b, "%s%s", i ? ", " : "", t->cols[i].name);
    if (rc || (rc = eb_buf_printf(b, " FROM %s WHERE 1 = 0", t->name)) ||
        (rc = take(b, &ts->probe_sql)))
        return rc;
    if (t->depth) {
        /* DELETE by the candidate-level key */
        rc = eb_buf_printf(b, "DELETE FROM %s WHERE ", t->name);
        for (size_t k = 0; !rc && k < t->n_remove_key; k++) {
            rc = eb_buf_printf(b, "%s%s = ", k ? " AND " : "", t->cols[t->remove_key[k]].name);
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
        if (t->cols[i].is_key)
            continue;
        rc = eb_buf_printf(b, "%s%s = ", n ? ", " : "", t->cols[i].name);
        if (!rc)
            rc = put_param(b, d, ++n);
    }
    if (!rc && !n) {
        rc = eb_buf_printf(b, "%s = %s", t->cols[t->key[0]].name, t->cols[t->key[0]].name);
    }
    if (!rc)
        rc = eb_buf_puts(b, " WHERE ");
    for (size_t k = 0; !rc && k < t->n_key; k++) {
        rc = eb_buf_printf(b, "%s%s = ", k ? " AND " : "", t->cols[t->key[k]].name);
        if (!rc)
            rc = put_param(b, d, ++n);
    }
    if (rc || (rc = take(b, &ts->update_sql)))
        return rc;
    ts->n_update = n;
    return EB_OK;
}

eb_rc eb_mapping_sql_build(const struct eb_mapping *m, const struct eb_sql_dialect *d,
                           struct eb_mapping_sql **out, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct eb_buf b;
    eb_buf_init(&b, MAP_SQL_MAX);
    struct eb_mapping_sql *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s || !(s->tables = calloc(m->n_tables ? m->n_tables : 1, sizeof *s->tables))) {
        rc = EB_ERR_NOMEM;
        goto out;
    }
    s->n_tables = m->n_tables;
    for (size_t i = 0; !rc && i < m->n_tables; i++)
        rc = table_text(&m->tables[i], d, &s->tables[i], &b);
    if (!rc) {
        *out = s;
        s = NULL;
    }
out:
    eb_buf_free(&b);
    eb_mapping_sql_free(s);
    if (rc)
        eb_err_set(err, rc, "mapping: cannot build statement text: %s", eb_strerror(rc));
    return rc;
}

void eb_mapping_sql_free(struct eb_mapping_sql *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->tables && i < s->n_tables; i++) {
        free(s->tables[i].update_sql);
        free(s->tables[i].insert_sql);
        free(s->tables[i].remove_sql);
        free(s->tables[i].probe_sql);
    }
    free(s->tables);
    free(s);
}

/* Statement text of a mapping for one SQL dialect (mapping/mapping.h): each mapped table
 * described to the SQL generator (sql/table_text.h), which writes an UPDATE by key (tables of
 * candidates), an INSERT, a DELETE by the candidate-level key (child tables) and a probe that
 * the table and its columns exist. */
#include <stdlib.h>
#include <string.h>

#include "mapping/mapping.h"
#include "mapping/mapping_int.h"
#include "sql/table_text.h"

/* The statements of t into ts. */
static eb_rc table_text(const struct map_table *t, const struct eb_sql_dialect *d,
                        struct eb_mapping_table_sql *ts)
{
    const char *cols[MAP_MAX_COLUMNS];
    struct eb_sql_table_text text;
    if (t->n_cols > MAP_MAX_COLUMNS)
        return EB_ERR_INTERNAL; /* the parser allows no more */
    for (size_t i = 0; i < t->n_cols; i++)
        cols[i] = t->cols[i].name;
    const struct eb_sql_shape shape = {.name = t->name,
                                       .cols = cols,
                                       .n_cols = t->n_cols,
                                       .key = t->key,
                                       .n_key = t->n_key,
                                       .remove_key = t->remove_key,
                                       .n_remove_key = t->n_remove_key,
                                       .child = t->depth != 0};
    eb_rc rc = eb_sql_table_text(d, &shape, &text);
    if (rc)
        return rc;
    ts->update_sql = text.update_sql;
    ts->n_update = text.n_update;
    ts->insert_sql = text.insert_sql;
    ts->n_insert = text.n_insert;
    ts->remove_sql = text.remove_sql;
    ts->n_remove = text.n_remove;
    ts->probe_sql = text.probe_sql;
    return EB_OK;
}

eb_rc eb_mapping_sql_build(const struct eb_mapping *m, const struct eb_sql_dialect *d,
                           struct eb_mapping_sql **out, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct eb_mapping_sql *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s || !(s->tables = calloc(m->n_tables ? m->n_tables : 1, sizeof *s->tables))) {
        rc = EB_ERR_NOMEM;
        goto out;
    }
    s->n_tables = m->n_tables;
    for (size_t i = 0; !rc && i < m->n_tables; i++)
        rc = table_text(&m->tables[i], d, &s->tables[i]);
    if (!rc) {
        *out = s;
        s = NULL;
    }
out:
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

/* Statement text for a table of the customer's own schema (--mapping, mapping/): an UPDATE by
 * key (tables of candidates), an INSERT, a DELETE by the candidate-level key (child tables) and
 * a probe that the table and its columns exist, in one SQL dialect (sql/sqlgen.h).
 * Identifiers are written as given: bare names are left to the database's case rules, quoted
 * ones stay quoted. */
#ifndef EB_SQL_TABLE_TEXT_H
#define EB_SQL_TABLE_TEXT_H

#include <stddef.h>

#include "sql/sqlgen.h"
#include "util/err.h"

/* A table as its statement text needs it. */
struct eb_sql_shape {
    const char *name;         /* SQL text of the table's name */
    const char *const *cols;  /* SQL text of each column's name, n_cols of them */
    size_t n_cols;            /* at least 1 */
    const size_t *key;        /* the key columns (indexes into cols), in key order */
    size_t n_key;             /* at least 1 for a table of candidates */
    const size_t *remove_key; /* child tables: the columns its rows are removed by */
    size_t n_remove_key;      /* at least 1 for a child table */
    int child;                /* 1: a child table (DELETE, INSERT), 0: of candidates */
};

/* The statements of one table. Parameter order: update: the non-key columns in order, then the
 * key columns in key order; insert: every column in order; remove: the remove_key columns;
 * probe: none. */
struct eb_sql_table_text {
    char *update_sql; /* tables of candidates: UPDATE t SET ... WHERE key; NULL for child tables */
    size_t n_update;  /* its parameters */
    char *insert_sql; /* INSERT INTO t (columns) VALUES (...) */
    size_t n_insert;  /* its parameters */
    char *remove_sql; /* child tables: DELETE FROM t WHERE <remove_key>; NULL otherwise */
    size_t n_remove;  /* its parameters */
    char *probe_sql;  /* SELECT <every column> FROM t WHERE 1 = 0 */
};

/* Writes the statements of table t in dialect d into *out (zeroed first). A table of
 * candidates whose columns are all key columns sets its first key column to itself, so that
 * the UPDATE still counts the row. EB_ERR_NOMEM (also for a statement longer than 1 MiB);
 * *out then holds nothing. Free with eb_sql_table_text_free(). */
eb_rc eb_sql_table_text(const struct eb_sql_dialect *d, const struct eb_sql_shape *t,
                        struct eb_sql_table_text *out);

/* Frees the text of *t (NULL-safe) and zeroes it. */
void eb_sql_table_text_free(struct eb_sql_table_text *t);

#endif

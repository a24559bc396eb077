/* The table push_warning and its statement text, for any SQL dialect (adapters/sqlgen.h): the
 * values of accepted pushes that were not read (candidate/candidate.h struct eb_warning). It is
 * ehrbridge's own table, beside push_log, with the default schema and with a mapping alike:
 *
 * push_warning: one row per value not read.
 *     push_id TEXT NOT NULL  the push (push_log.push_id)
 *     seq     INTEGER NOT NULL 0, 1, ... in the push's order
 *     field   TEXT NOT NULL  the vendor path: data.educationInfo[0].endDate
 *     value   TEXT           the raw text as sent
 *     reason  TEXT NOT NULL  "not a date", "malformed number", ...
 *     primary key (push_id, seq)
 * Created with CREATE TABLE IF NOT EXISTS when an adapter opens (outside the versioned schema,
 * so an existing database gains it). An adapter writes a push's rows in the push's transaction:
 * remove (every row of the push id), then insert per warning (eb_warning_sql_values); nothing
 * when p->keep_warnings is set (a replay of a push stored before). */
#ifndef EB_WARNING_SQL_H
#define EB_WARNING_SQL_H

#include <stddef.h>

#include "adapters/sqlgen.h"
#include "util/err.h"

struct eb_push;

#define EB_WARNING_SQL_COLUMNS 5 /* values per row */

/* Statement text in one dialect; every string owned by the struct. */
struct eb_warning_sql {
    char *ddl;    /* CREATE TABLE IF NOT EXISTS push_warning (...) */
    char *insert; /* INSERT INTO push_warning (push_id, seq, field, value, reason) VALUES (...) */
    char *remove; /* DELETE FROM push_warning WHERE push_id = <p1> */
};

/* Builds the text for dialect d into s. EB_ERR_NOMEM. Free with eb_warning_sql_free(). */
eb_rc eb_warning_sql_build(const struct eb_sql_dialect *d, struct eb_warning_sql *s,
                           struct eb_err *err);

/* Frees the text (NULL-safe); s can be built again. */
void eb_warning_sql_free(struct eb_warning_sql *s);

/* The insert's values (push_id, seq, field, value, reason) of warning i of p, into v[0..5). */
void eb_warning_sql_values(const struct eb_push *p, const char *push_id, size_t i,
                           struct eb_sql_value *v);

#endif

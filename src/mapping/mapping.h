/* Mapping files (--mapping FILE): where the candidate's fields go in a database schema that
 * ehrbridge did not design, e.g. a legacy EHR's staging table. The file is read, checked and
 * resolved against the candidate descriptors (candidate/schema.h) once, at start-up; every
 * mistake is reported then, with its line number. Adapters turn a resolved mapping into
 * statement text for their dialect (eb_mapping_sql_build) and write a push's rows through one
 * callback (eb_mapping_write), in the transaction that records the push in push_log.
 *
 * THE FORMAT (docs/legacy-mapping.md has the full reference and a worked example)
 *
 *   # comment (a line starting with # or ;, or " #" after a value)
 *   timezone = +08:00                  settings before the first table: the zone that Unix
 *                                      timestamps and zoned times are shown in by date:
 *   [employee_import]                  a table (SCHEMA.TABLE and "Quoted Names" allowed)
 *   key = app_id                       its key column(s), comma-separated (required)
 *   app_id = applicationId             column = SOURCE | CONVERSION | ...
 *   emp_name = name | truncate:40
 *   birth_date = birthDate | date:%Y-%m-%d
 *   native_place = nativePlaceCode | area
 *   contact_phone = customFields[name="Contact phone"].value
 *   source_system = "MOKA"
 *
 *   [employee_import_work]             a child table: one row per item of an array
 *   rows = experienceInfo[]            the array (nested: interviewers[].feedbackTemplateResult[])
 *   parent = employee_import           optional with one table of candidates
 *   key = app_id, line_no              the parent's key + something telling the items apart
 *   app_id = applicationId
 *   line_no = @seq | add:1
 *   company = experienceInfo[].company
 *
 * SOURCES: a field path (name, job.title, offer.creator.name, educationInfo[0].school,
 * customFields[name="Contact phone"].value, and in a child table rows[].field or rows[].@seq of
 * an enclosing array); @seq (the item's position, from 0), @push_id, @received_at (Unix ms);
 * constants "text", 42, null. CONVERSIONS, applied left to right: date:FORMAT (%Y %m %d %H %M
 * %S %%), area, area:province, area:city (the vendor's area codes), map:A=X,B=Y,*=Z,
 * default:VALUE, required, trim, upper, lower, truncate:N (characters), add:N.
 *
 * Writing replaces a candidate: the rows of every child table whose candidate-level key
 * columns (the parent's key) match are deleted, deepest tables first; each table of candidates
 * is updated by its key (the columns the mapping names; other columns keep their values) or
 * inserted when no row has that key; then the child rows are inserted in document order. */
#ifndef EB_MAPPING_H
#define EB_MAPPING_H

#include <stddef.h>
#include <stdint.h>

#include "sql/sqlgen.h"
#include "util/err.h"

struct eb_candidate;
struct eb_mapping;

/* Reads, checks and resolves the mapping file at path. On success *out is set; the caller frees
 * it with eb_mapping_free(). On failure (EB_ERR_CONFIG) err->msg is one line naming the file and
 * line: `mapping F line 7: unknown field "nmae" in name (Candidate has no such field)`. */
eb_rc eb_mapping_load(const char *path, struct eb_mapping **out, struct eb_err *err);

/* As eb_mapping_load, from text[0..len) (need not be NUL-terminated); name is used in messages
 * in place of the file name. */
eb_rc eb_mapping_parse(const char *name, const char *text, size_t len, struct eb_mapping **out,
                       struct eb_err *err);

/* Frees a mapping (NULL-safe). */
void eb_mapping_free(struct eb_mapping *m);

/* Number of tables, in write order (a parent before its children). */
size_t eb_mapping_n_tables(const struct eb_mapping *m);

/* The name of table i as written in SQL (quoted where the file quoted it). */
const char *eb_mapping_table_name(const struct eb_mapping *m, size_t i);

/* The statements of one mapped table, in one dialect. Parameter order: update: the non-key
 * columns in file order, then the key columns in key order; insert: every column in file order;
 * remove: the candidate-level key columns (child tables; NULL for tables of candidates);
 * probe: none. */
struct eb_mapping_table_sql {
    char *update_sql; /* tables of candidates: UPDATE t SET ... WHERE key; NULL for child tables */
    size_t n_update;  /* its parameters */
    char *insert_sql; /* INSERT INTO t (columns) VALUES (...) */
    size_t n_insert;  /* its parameters */
    char *remove_sql; /* child tables: DELETE FROM t WHERE <candidate-level key> */
    size_t n_remove;  /* its parameters */
    char *probe_sql;  /* SELECT <every column> FROM t WHERE 1 = 0: the table and its columns
                         exist (run at start-up) */
};

/* Statement text for every table of a mapping, index for index. */
struct eb_mapping_sql {
    struct eb_mapping_table_sql *tables; /* eb_mapping_n_tables() entries */
    size_t n_tables;
};

/* Builds the statement text of m for dialect d (placeholders only; identifiers as the file
 * wrote them). Caller frees with eb_mapping_sql_free(). EB_ERR_NOMEM. */
eb_rc eb_mapping_sql_build(const struct eb_mapping *m, const struct eb_sql_dialect *d,
                           struct eb_mapping_sql **out, struct eb_err *err);

/* Frees statement text (NULL-safe). */
void eb_mapping_sql_free(struct eb_mapping_sql *s);

/* Which statement of a table the writer wants run. */
enum eb_mapping_stmt {
    EB_MAP_UPDATE = 0, /* update_sql; the writer needs the number of rows it changed */
    EB_MAP_INSERT,     /* insert_sql */
    EB_MAP_REMOVE      /* remove_sql */
};

/* Runs statement st of table `table` with the n values v (in the statement's parameter order;
 * texts are NUL-terminated at len). changed: NULL when the writer does not need it, else set to
 * the number of rows the statement changed. v lives during the call only. */
typedef eb_rc (*eb_mapping_run_fn)(void *ctx, size_t table, enum eb_mapping_stmt st,
                                   const struct eb_sql_value *v, size_t n, int64_t *changed,
                                   struct eb_err *err);

/* Writes candidate c (push push_id, received at received_at_ms) through fn, in the order the
 * module comment gives. Returns EB_ERR_INVALID with a message naming the table and column
 * ("mapping: employee_import.emp_no: no value (job.jobId)") when a key column or a `required`
 * column has no value: the push cannot be stored with this mapping. Otherwise what fn returned,
 * or EB_ERR_NOMEM. */
eb_rc eb_mapping_write(const struct eb_mapping *m, const struct eb_candidate *c,
                       const char *push_id, int64_t received_at_ms, eb_mapping_run_fn fn, void *ctx,
                       struct eb_err *err);

#endif

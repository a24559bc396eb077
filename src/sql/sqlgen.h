/* Database-neutral generation of the default schema from the candidate descriptors
 * (candidate/schema.h): the list of tables with their columns and types, the DDL and DML text for
 * a small set of dialect differences, and a walker that turns one struct eb_candidate into the
 * rows to insert (walk.c). Used by the SQL adapters (adapters/) and the mapping (mapping/); the
 * schema itself is documented in sqlgen.c, the dialects are in dialect.c. */
#ifndef EB_SQLGEN_H
#define EB_SQLGEN_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct eb_candidate;
struct eb_field;
struct eb_push_filter;
struct eb_type;

/* The schema version this binary creates and understands (table schema_version). Version 2
 * added candidate.native_place_name and candidate.nationality_name (the area code names),
 * version 3 the index push_log_received_at, version 4 emptied the push_log rows that earlier
 * versions recorded from requests refused by authentication (see below), version 5 the indexes
 * candidate_name and push_log_outcome of the push browser's searches (where the dialect can
 * index text: see byte_collate); a database at an older version is migrated with
 * eb_sqlgen_migrations(). */
#define EB_SQL_SCHEMA_VERSION 5

/* Earlier versions recorded the body of a request refused by authentication (401) as a push_log
 * row: push id EB_SQL_REFUSED_ID_PREFIX<ms>-<n>, outcome 'rejected', message
 * EB_SQL_REFUSED_OLD_MESSAGE, no event, no applicationId, no payload, the raw body. Such a row
 * was never authenticated and must never be replayed. The migration to version 4 removes its
 * body and marks it with EB_SQL_REFUSED_MESSAGE; replay skips both forms (a replica of an earlier
 * version may still write the old one during a rolling upgrade). */
#define EB_SQL_REFUSED_ID_PREFIX   "unauthenticated-"
#define EB_SQL_REFUSED_OLD_MESSAGE "authentication failed"
#define EB_SQL_REFUSED_MESSAGE     "refused: authentication failed; body removed, never replayed"

/* EB_OK when version (read from schema_version after any migration) is EB_SQL_SCHEMA_VERSION;
 * EB_ERR_DB "database schema version N is newer than this ehrbridge (M)" or "... is unknown". */
eb_rc eb_sqlgen_check_version(int64_t version, struct eb_err *err);

/* Hard limits of the generated schema; eb_sqlgen_build() fails when the descriptors exceed them. */
#define EB_SQL_MAX_DEPTH   8     /* nested objects flattened into one row; nested array levels */
#define EB_SQL_MAX_COLUMNS 512   /* columns of one table (SQLite's default maximum is 2000) */
#define EB_SQL_MAX_PARAMS  32766 /* parameters of one statement (SQLite's default maximum) */

/* The small differences between SQL databases that the generated text depends on. */
struct eb_sql_dialect {
    const char *name;      /* "sqlite", "postgres", ... (for messages) */
    const char *int_type;  /* 64-bit integer column type: "INTEGER", "BIGINT" */
    const char *text_type; /* unbounded text column type: "TEXT", "CLOB" */
    const char *real_type; /* floating point column type: "REAL", "DOUBLE PRECISION" */
    const char *blob_type; /* raw bytes column type: "BLOB", "BYTEA" */
    int numbered_params;   /* 0: placeholders are "?"; 1: "$1", "$2", ... */
    int has_upsert;        /* 1: INSERT ... ON CONFLICT (...) DO UPDATE SET c = excluded.c works */
    const char *child_table_options; /* appended to CREATE TABLE of child tables ("" for none):
                                        SQLite's " WITHOUT ROWID" keeps one B-tree per table */
    const char *key_text_type; /* text type of key columns (push_id, event_id); NULL: text_type
                                  (databases that cannot index unbounded text need a VARCHAR) */
    const char *add_column;    /* ALTER TABLE t <add_column> c type; NULL: "ADD COLUMN" */
    const char *byte_collate;  /* written after a text column, in CREATE INDEX and in a
                                  comparison, so that text orders by its bytes (UTF-8: by code
                                  point) and a prefix is a range of the index: "" (SQLite's
                                  BINARY), " COLLATE \"C\"" (PostgreSQL). NULL: the dialect's
                                  text type cannot be indexed (a CLOB), and the indexes of
                                  version 5 (candidate_name, push_log_outcome) are left out */
    int any_array;             /* 1: "c = ANY (ARRAY (SELECT ...))" is an index condition, and
                                  one that an OR of index conditions may hold (PostgreSQL, where
                                  "c IN (SELECT ...)" inside an OR filters every row instead) */
};

extern const struct eb_sql_dialect eb_sql_dialect_sqlite;   /* SQLite >= 3.24 */
extern const struct eb_sql_dialect eb_sql_dialect_postgres; /* PostgreSQL >= 9.5 */

/* Column types of the default schema. */
enum eb_sql_type {
    EB_SQL_INTEGER = 0, /* INT, BOOL (0/1), keys, Unix milliseconds */
    EB_SQL_TEXT,        /* STR, DATE (ISO 8601 text), DEC (exact decimal text), ANY (text, JSON) */
    EB_SQL_REAL,        /* not used by the default schema; kept for dialect completeness */
    EB_SQL_BLOB         /* raw bytes: push_log.raw (a request body need not be valid UTF-8) */
};

/* Where the walker takes a column's value from. */
enum eb_sql_source {
    EB_SQL_SRC_NONE = 0,       /* not filled by the walker (push_log, schema_version) */
    EB_SQL_SRC_APPLICATION_ID, /* the candidate's applicationId */
    EB_SQL_SRC_SEQ,            /* position of the row's item (or an enclosing item) in its array */
    EB_SQL_SRC_PUSH_ID,        /* the push id given to the walker (candidate.last_push_id) */
    EB_SQL_SRC_UPDATED_AT,     /* the time given to the walker (candidate.updated_at) */
    EB_SQL_SRC_FIELD,          /* a scalar field of the row's struct, through `path` */
    EB_SQL_SRC_ITEM,           /* the string of a STRARR item (column "value") */
    EB_SQL_SRC_AREA_NAME       /* the name of the area code in the INT field at `path`
                                  (candidate/area.h); NULL when the code is unknown */
};

/* One column. */
struct eb_sql_column {
    char *name;                                    /* snake_case, unquoted; owned by the schema */
    enum eb_sql_type type;                         /* SQL type */
    int not_null;                                  /* 1: NOT NULL */
    enum eb_sql_source source;                     /* what the walker puts in it */
    size_t seq_level;                              /* SRC_SEQ: 0 = outermost array, ... */
    const struct eb_field *path[EB_SQL_MAX_DEPTH]; /* SRC_FIELD: OBJ fields from the row's struct,
                                                    then the scalar field itself */
    size_t path_len;                               /* SRC_FIELD: entries used in path (>= 1) */
};

/* What a table holds. */
enum eb_sql_role {
    EB_SQL_ROLE_META = 0,  /* schema_version, push_log: written by the adapter itself */
    EB_SQL_ROLE_CANDIDATE, /* the candidate table: one row per applicationId */
    EB_SQL_ROLE_CHILD      /* one row per item of an array of the candidate */
};

/* One table and the statements for it (text in the schema's dialect). */
struct eb_sql_table {
    char *name;                    /* unquoted; owned by the schema */
    enum eb_sql_role role;         /* what the table holds */
    size_t index;                  /* position in eb_sql_schema.tables */
    struct eb_sql_column *columns; /* in CREATE TABLE and INSERT order */
    size_t n_columns;              /* number of columns */
    size_t n_keys;                 /* the primary key is columns[0 .. n_keys) */
    /* CHILD tables: where the rows come from. */
    size_t parent; /* index of the table whose rows hold the array */
    size_t depth;  /* array nesting level: 1 for arrays of the candidate */
    const struct eb_field *via[EB_SQL_MAX_DEPTH]; /* OBJ fields from the parent row to the array */
    size_t n_via;                                 /* entries used in via */
    const struct eb_field *array;                 /* the ARR or STRARR field */
    size_t *children;  /* CANDIDATE, CHILD: indexes of the tables of nested arrays */
    size_t n_children; /* entries in children */
    /* Statement text, NUL-terminated, owned by the schema. */
    char *create_sql; /* CREATE TABLE ... (PRIMARY KEY (...)) */
    char *insert_sql; /* INSERT INTO t (all columns) VALUES (one placeholder each) */
    char *upsert_sql; /* as insert_sql + ON CONFLICT (keys) DO UPDATE SET every other
                         column; NULL when the dialect has no upsert or the table no
                         non-key column */
    char *delete_sql; /* CANDIDATE, CHILD: DELETE FROM t WHERE application_id = <p1>;
                         NULL otherwise */
};

/* The whole default schema for one dialect. Tables are ordered schema_version, push_log,
 * candidate, then the child tables in depth-first document order (a parent before its children). */
struct eb_sql_schema {
    const struct eb_sql_dialect *dialect; /* the dialect the text was made for */
    struct eb_sql_table *tables;          /* every table */
    size_t n_tables;                      /* entries in tables */
    size_t schema_version;                /* index of table schema_version */
    size_t push_log;                      /* index of table push_log */
    size_t candidate;                     /* index of table candidate */
    size_t first_child;                   /* tables[first_child .. n_tables) are the child tables */
    size_t max_columns;                   /* the largest n_columns of the walked tables */
    char **ddl;                           /* every CREATE TABLE and CREATE INDEX, in order */
    size_t n_ddl;                         /* entries in ddl */
    size_t n_log_ddl;                     /* the last n_log_ddl entries of ddl: push_log's
                                             indexes */
    char **migrate;                       /* statements bringing an older schema up to date, in
                                             order (see eb_sqlgen_migrations) */
    int *migrate_version;                 /* the version each statement belongs to */
    size_t n_migrate;                     /* entries in migrate */
};

/* Builds the default schema and its statement text for dialect d. On success *out is set; the
 * caller frees it with eb_sqlgen_free(). Fails with EB_ERR_NOMEM, or EB_ERR_INTERNAL when the
 * descriptors break a rule of the schema (duplicate column or table, bad identifier, limits). */
eb_rc eb_sqlgen_build(const struct eb_sql_dialect *d, struct eb_sql_schema **out,
                      struct eb_err *err);

/* The statements that bring a database at schema version `from` (>= 1) up to
 * EB_SQL_SCHEMA_VERSION, in order of version: ALTER TABLE ... ADD COLUMN for the columns added
 * since, and the UPDATE that fills them for the rows already there (the area names, from the
 * codes), CREATE INDEX for the index of version 3 (plain: a dialect with IF NOT EXISTS may add
 * it), the UPDATE of version 4, and CREATE INDEX IF NOT EXISTS for the indexes of version 5
 * (only dialects with byte_collate have them, and all of those understand IF NOT EXISTS: run
 * again, they do nothing). Run them in the transaction that records the new version. Sets *n (0 when nothing is to do) and
 * returns the first; they stay owned by the schema. */
char *const *eb_sqlgen_migrations(const struct eb_sql_schema *s, int64_t from, size_t *n);

/* Frees a schema (NULL-safe). */
void eb_sqlgen_free(struct eb_sql_schema *s);

/* The table named name (unquoted), or NULL. */
const struct eb_sql_table *eb_sqlgen_table(const struct eb_sql_schema *s, const char *name);

/* The child tables (every candidate_* table but candidate itself): sets *n and returns the first;
 * they are contiguous. An adapter deletes a candidate's rows from each of them (with delete_sql)
 * before inserting a new version. */
const struct eb_sql_table *eb_sqlgen_child_tables(const struct eb_sql_schema *s, size_t *n);

/* The INSERT of `rows` rows of t at once (insert_sql's columns, the parameters of row r from
 * r * n_columns + 1 on), malloc'd; NULL and err set when out of memory or over
 * EB_SQL_MAX_PARAMS parameters. */
char *eb_sqlgen_insert_rows(const struct eb_sql_schema *s, const struct eb_sql_table *t,
                            size_t rows, struct eb_err *err);

/* Text of an upsert into t like upsert_sql, with " WHERE <where_sql>" appended after the
 * DO UPDATE SET list (where_sql NULL: none), e.g. to overwrite only rows in a given state.
 * Returns a malloc'd string the caller frees with free(); NULL with err set when memory runs out
 * or the dialect has no upsert. */
char *eb_sqlgen_upsert_where(const struct eb_sql_schema *s, const struct eb_sql_table *t,
                             const char *where_sql, struct eb_err *err);

/* A column value handed to the row callback. */
enum eb_sql_vtype {
    EB_SQL_VNULL = 0, /* SQL NULL */
    EB_SQL_VINT,      /* i */
    EB_SQL_VTEXT      /* s, len bytes (UTF-8, not necessarily NUL-terminated at len) */
};

struct eb_sql_value {
    enum eb_sql_vtype type; /* which member is valid */
    int64_t i;              /* VINT */
    const char *s;          /* VTEXT: borrowed from the candidate; valid as long as it is */
    size_t len;             /* VTEXT: bytes of s */
};

struct eb_field;
/* The column value of scalar field f (INT, BOOL as 0/1, STR, DATE, DEC, ANY) of the struct at
 * rec: VNULL when absent; VTEXT borrows the candidate's NUL-terminated string. Other kinds give
 * VNULL. */
void eb_sqlgen_scalar_value(const struct eb_field *f, const char *rec, struct eb_sql_value *v);

/* v = the text s (VTEXT, borrowed, length strlen(s)), or VNULL when s is NULL. */
void eb_sqlgen_text_value(struct eb_sql_value *v, const char *s);

/* The query listing the push_log rows a filter selects, in received order (replay's
 * listing), and the values of its placeholders in order: adapters bind param[0..n_param) as
 * they are. Only the conditions f sets are written, each a plain comparison, so that the
 * database can seek the primary key or push_log_received_at. With pages (page > 0: SQLite,
 * PostgreSQL), the query returns at most page rows after a key, ("received_at", "push_id") >
 * (param[key], param[key + 1]), so that each page is a statement and a transaction of its own;
 * the first page's key is (f->from_ms, "") (a push id is never empty), and the next one's is
 * set with eb_sqlgen_list_after(). Text values are borrowed and NUL-terminated. */
#define EB_SQL_LIST_PARAMS 6
struct eb_sql_list {
    char *sql;                                     /* malloc'd */
    struct eb_sql_value param[EB_SQL_LIST_PARAMS]; /* the placeholders' values, in order */
    size_t n_param;                                /* entries in param */
    size_t key;                                    /* with pages: the key's first parameter */
};

/* Builds *out for f (columns: the select list); EB_ERR_NOMEM. Free with eb_sqlgen_list_free. */
eb_rc eb_sqlgen_list(const struct eb_sql_dialect *d, const char *columns,
                     const struct eb_push_filter *f, unsigned page, struct eb_sql_list *out);

/* The key the next page starts after: the last row listed (push_id borrowed). */
void eb_sqlgen_list_after(struct eb_sql_list *l, int64_t received_at, const char *push_id);

void eb_sqlgen_list_free(struct eb_sql_list *l);

/* Called once per row: v has t->n_columns entries in t->columns order (the order of insert_sql's
 * placeholders). v is valid during the call only; strings in it live as long as the candidate.
 * A non-EB_OK return stops the walk and is returned by eb_sqlgen_walk(). */
typedef eb_rc (*eb_sqlgen_row_fn)(void *ctx, const struct eb_sql_table *t,
                                  const struct eb_sql_value *v, struct eb_err *err);

/* Calls fn for every row that represents c: first the candidate row (last_push_id = push_id,
 * updated_at = updated_at_ms), then for each array in document order each item's row followed
 * by the rows of the arrays nested in it. seq counts from 0 in document order. Fails with
 * EB_ERR_INVALID when c has no applicationId, otherwise returns what fn returned. Allocates
 * nothing. */
eb_rc eb_sqlgen_walk(const struct eb_sql_schema *s, const struct eb_candidate *c,
                     const char *push_id, int64_t updated_at_ms, eb_sqlgen_row_fn fn, void *ctx,
                     struct eb_err *err);

#endif

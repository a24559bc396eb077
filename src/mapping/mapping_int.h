/* The resolved form of a mapping file, shared by the parser (mapping.c), the statement text
 * (mapping_sql.c) and the writer (mapping_write.c). Not for use outside src/mapping/. */
#ifndef EB_MAPPING_INT_H
#define EB_MAPPING_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sql/sqlgen.h"
#include "candidate/schema.h"
#include "mapping/mapping.h"

#define MAP_MAX_STEPS   16 /* steps of one field path */
#define MAP_MAX_DEPTH   8  /* nested arrays of one child table's rows */
#define MAP_MAX_TABLES  64 /* tables of one mapping */
#define MAP_MAX_COLUMNS EB_SQL_MAX_COLUMNS
#define MAP_NO_PARENT   ((size_t)-1) /* map_table.parent of a table of candidates */

/* How a step of a path picks from an array. */
enum map_sel {
    SEL_NONE = 0, /* an object or a value */
    SEL_EACH,     /* [] every item: the rows of a child table */
    SEL_INDEX,    /* [N] the item at N (from 0) */
    SEL_MATCH     /* [field="value"] the first item whose field is that text */
};

struct map_step {
    const struct eb_field *f;     /* the field this step reads */
    enum map_sel sel;             /* array selector */
    size_t index;                 /* SEL_INDEX */
    const struct eb_field *match; /* SEL_MATCH: the item's field compared */
    char *match_value;            /* SEL_MATCH: the text it must equal (owned) */
};

enum map_source {
    MSRC_FIELD = 0,  /* a field path */
    MSRC_CONST,      /* a constant */
    MSRC_SEQ,        /* position of the item of rows level `level` (1 = outermost array) */
    MSRC_PUSH_ID,    /* the push id */
    MSRC_RECEIVED_AT /* Unix ms of reception */
};

enum map_conv_kind {
    CONV_DATE = 0,
    CONV_AREA,
    CONV_AREA_PROVINCE,
    CONV_AREA_CITY,
    CONV_MAP,
    CONV_DEFAULT,
    CONV_REQUIRED,
    CONV_TRIM,
    CONV_UPPER,
    CONV_LOWER,
    CONV_TRUNCATE,
    CONV_ADD
};

struct map_pair {
    char *from; /* the value as text */
    char *to;   /* what it becomes */
};

struct map_conv {
    enum map_conv_kind kind;
    char *format;           /* DATE: strftime-like format (owned) */
    int64_t n;              /* TRUNCATE: characters; ADD: the addend */
    struct map_pair *pairs; /* MAP (owned) */
    size_t n_pairs;
    char *otherwise;           /* MAP: value for anything else (`*=`), NULL: unchanged */
    struct eb_sql_value value; /* DEFAULT: the value (text owned by `owned`) */
    char *owned;               /* text owned by the conversion */
};

struct map_column {
    char *name;          /* SQL text of the name (quoted when the file quoted it) */
    char *folded;        /* the name for comparisons (bare names lower-cased) */
    int line;            /* where it was declared */
    char *source_text;   /* the source as written (for messages) */
    enum map_source src; /* where the value comes from */
    size_t level;        /* FIELD, SEQ: the rows level read from (0: the candidate) */
    struct map_step steps[MAP_MAX_STEPS]; /* FIELD: the steps after that level */
    size_t n_steps;
    struct eb_sql_value constant; /* CONST (text owned by const_text) */
    char *const_text;
    struct map_conv *convs; /* applied in order */
    size_t n_convs;
    int is_key; /* 1 when named by the table's key */
};

struct map_table {
    char *name;                          /* SQL text of the name */
    char *folded;                        /* for comparisons */
    int line;                            /* of the [section] */
    struct map_step rows[MAP_MAX_STEPS]; /* child tables: OBJ steps and [] steps; ends with [] */
    size_t n_rows;
    size_t depth;    /* number of [] in rows: 0 for a table of candidates */
    char *rows_text; /* as written */
    int rows_line;
    char *parent_name; /* as written; NULL when not given */
    int parent_line;
    size_t parent; /* index in the mapping's tables; (size_t)-1 for tables of candidates */
    struct map_column *cols; /* in file order */
    size_t n_cols;
    char **key_names; /* the key's column names as written (folded), n_key of them */
    size_t *key;      /* indexes into cols, in key order */
    size_t n_key;
    int key_line;
    size_t *remove_key; /* child tables: the key columns read from the candidate (level 0) */
    size_t n_remove_key;
};

struct eb_mapping {
    char *file;               /* the name given in messages */
    struct map_table *tables; /* in write order: a parent before its children */
    size_t n_tables;
    int tz_minutes; /* timezone setting: minutes east of UTC */
};

/* The position of the item of a child table's rows at each level, and the items themselves. */
struct map_ctx {
    const struct eb_candidate *c;        /* level 0 */
    const char *item[MAP_MAX_DEPTH + 1]; /* item[k]: the item of rows level k (item[0] = c) */
    int64_t seq[MAP_MAX_DEPTH + 1];      /* seq[k]: its position */
    const char *push_id;
    int64_t received_at_ms;
};

/* ---- reading a mapping file, shared by mapping.c and mapping_check.c ---- */

/* The parser's state: the mapping being built and where failures are reported. */
struct map_parser {
    struct eb_mapping *m;
    size_t cap_tables;
    struct eb_err *err;
    int line; /* the line being read */
};

/* Sets ps->err to "mapping FILE line N: <message>" ("mapping FILE: ..." when line is 0) and
 * returns EB_ERR_CONFIG. */
eb_rc map_fail_at(struct map_parser *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets ps->err to out of memory and returns EB_ERR_NOMEM. */
eb_rc map_nomem(struct map_parser *ps);

/* p after blanks and tabs. */
const char *map_skip_space(const char *p);

/* Length of s[0..n) without trailing blanks. */
size_t map_trimmed_len(const char *s, size_t n);

/* Frees the n steps of st (their match values). */
void map_free_steps(struct map_step *st, size_t n);

/* Parses and resolves a field path text[0..n) of line from the candidate: steps go to st
 * (*n_st), *seq = 1 when it ends with ".@seq" (an enclosing array's position). A path that
 * names an object, an array without selector, or a field a value does not have is refused
 * (EB_ERR_CONFIG through ps). */
eb_rc map_parse_path(struct map_parser *ps, int line, const char *text, size_t n,
                     struct map_step *st, size_t *n_st, int *seq);

/* Checks every table, relates child tables to their parents and puts the tables in write
 * order (mapping_check.c). EB_ERR_CONFIG with the file and line in ps->err when the mapping
 * cannot be used. */
eb_rc map_check_tables(struct map_parser *ps);

#endif

/* Generation of the default schema from the candidate descriptors, for any SQL dialect, and the
 * walker that turns one candidate into the rows to insert.
 *
 * THE DEFAULT SCHEMA (version 5)
 *
 * All identifiers are written double-quoted ("index", "type", "level", "option", "number" are
 * keywords somewhere). Types: INTEGER (the dialect's 64-bit integer) and TEXT.
 *
 * schema_version (version INTEGER NOT NULL)
 *     One row: the version of this schema (5). A database with a newer version is refused; one
 *     with an older version is migrated (eb_sqlgen_migrations): version 2 added the area names,
 *     version 3 the index push_log_received_at, version 4 removed the bodies of the rows earlier
 *     versions recorded from requests refused by authentication (sqlgen.h, EB_SQL_REFUSED_*),
 *     version 5 the indexes push_log_outcome and candidate_name (the push browser's searches).
 *
 * push_log: one row per push id received in an authenticated request (a request refused by
 *     authentication or the allow list is never recorded).
 *     push_id        TEXT NOT NULL PRIMARY KEY  the push id (idempotency key)
 *     event          TEXT                        as sent ("pushCandidate")
 *     triggered_at   TEXT                        as sent (Unix s, Unix ms or ISO 8601)
 *     received_at    INTEGER NOT NULL            Unix ms when ehrbridge received the push
 *     application_id INTEGER                     NULL when the push carried none
 *     candidate_id   INTEGER                     NULL when the push carried none
 *     outcome        TEXT NOT NULL               'stored' | 'rejected' | 'failed'
 *     message        TEXT                        why, for 'rejected' and 'failed'; NULL for
 *                                                'stored'
 *     payload        TEXT                        the canonical XML of the push (for replay); NULL
 *                                                when the body could not be canonicalized
 *     raw            BLOB                        the raw request body (bytes, as received), kept
 *                                                only when the push was not stored ('rejected',
 *                                                'failed'); NULL for 'stored' (payload replays it)
 *     index push_log_application_id ON push_log (application_id)
 *     index push_log_received_at ON push_log (received_at, push_id)   (replay's order, pages)
 *     index push_log_outcome ON push_log (outcome, received_at, push_id)   (version 5: pages of
 *         one outcome, the chart's counts; not on ODBC databases, whose text is a CLOB)
 *     A push id recorded as 'failed' is overwritten when the push is retried; 'stored' and
 *     'rejected' are final and answer every repetition of the id.
 *
 * candidate: one row per applicationId, the latest push for it.
 *     application_id INTEGER NOT NULL PRIMARY KEY
 *     candidate_id   INTEGER
 *     last_push_id   TEXT NOT NULL   the push whose data the row holds (push_log.push_id)
 *     updated_at     INTEGER NOT NULL Unix ms: push_log.received_at of that push
 *     then one column per scalar field of the record in contract order, named after the
 *     descriptor's column (name, prefix_phone, phone, email, gender, gender_code, birth_year,
 *     citizen_id, native_place_code, academic_degree, probation, resume_url, ...). Nested
 *     objects are flattened with their column as prefix, recursively (a field already starting
 *     with that prefix keeps it once): job_id, job_title, job_description,
 *     job_department, job_manager_name, referrer_name, operator_phone, owners_employee_id,
 *     offer_salary_number, offer_checkin_date, offer_creator_name, offer_hc_info_number,
 *     offer_job_rank_info_level, offer_attachment_url, ...
 *     Beside native_place_code and nationality_code: native_place_name and nationality_name
 *     TEXT, the code's name in the vendor's area code table (candidate/area.h; NULL for a code
 *     the table does not have). Added in version 2: a version 1 database gains them with ALTER
 *     TABLE ... ADD COLUMN, filled from the codes of the rows already there.
 *     Kinds: integer -> INTEGER; boolean -> INTEGER 0/1; decimal -> TEXT (the exact decimal
 *     text); string, date (normalised ISO 8601 text, candidate/validate.h), any (text, or JSON
 *     text for structured values) -> TEXT.
 *     An absent value is NULL.
 *     index candidate_name ON candidate (name) in byte order (PostgreSQL: COLLATE "C"), so that
 *         the names starting with a text are one range (version 5; not on ODBC databases)
 *
 * candidate_<suffix>: one table per array, one row per item, named after the descriptor's table
 *     suffix: candidate_education, candidate_experience, candidate_award, candidate_project,
 *     candidate_language, candidate_practice, candidate_talent_pool, candidate_source,
 *     candidate_job_assistant, candidate_job_rank, candidate_headcount, candidate_interviewer,
 *     candidate_extended_interviewer, candidate_custom_field, candidate_ehr_custom_field,
 *     candidate_id_card_front, candidate_attachment, candidate_exam_report_link,
 *     candidate_exam_attachment, candidate_label, candidate_remark, candidate_survey.
 *     Key: (application_id, seq), seq = 0, 1, ... in document order.
 *     - Arrays inside an object hang off the table the object is flattened into:
 *       job.customFields -> candidate_job_custom_field, offer.customFields ->
 *       candidate_offer_custom_field, offer.attachmentList -> candidate_offer_attachment.
 *     - Arrays inside array items get the item table's name + '_' + suffix and a key column
 *       <suffix>_seq per enclosing array level: candidate_interviewer_feedback
 *       (application_id, interviewer_seq, seq), candidate_interviewer_feedback_subject
 *       (application_id, interviewer_seq, feedback_seq, seq),
 *       candidate_interviewer_feedback_subject_option (..., subject_seq, seq), the same under
 *       candidate_extended_interviewer_*, candidate_remark_target (application_id, remark_seq,
 *       seq), candidate_survey_attachment (application_id, survey_seq, seq).
 *     - Objects inside array items are flattened into the item's row with their prefix
 *       (remark creator -> creator_name, creator_email, ...).
 *     - Arrays of strings have one column: value TEXT.
 *     Primary key: the key columns. There are no foreign keys: the adapter replaces a candidate
 *     as a whole, in one transaction. In SQLite the child tables are WITHOUT ROWID tables (the
 *     rows live in the primary key's B-tree: one B-tree to write per table instead of two).
 *
 * Replacement: storing a push for an applicationId deletes that application_id's rows from every
 * candidate_* child table and writes the candidate row and the new child rows, in the transaction
 * that records the push in push_log. */
#include "sql/sqlgen.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/area.h"
#include "candidate/candidate.h"
#include "candidate/outcome.h"
#include "candidate/schema.h"
#include "util/buf.h"

#define SQL_MAX_TEXT (1024 * 1024) /* hard maximum of one generated statement */

/* ---- building ---------------------------------------------------------------------------- */

struct builder {
    struct eb_sql_schema *s; /* what is being built */
    size_t cap_tables;       /* slots allocated in s->tables */
    struct eb_err *err;      /* where failures are described */
};

static eb_rc nomem(struct builder *b)
{
    return eb_err_set(b->err, EB_ERR_NOMEM, "sqlgen: out of memory");
}

/* Identifiers are lower-case letters, digits and '_' (so quoting cannot be broken) and short. */
static int valid_identifier(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 60)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* "a" + "_" + "b" (or "b" when a is NULL or empty) into a malloc'd string. */
static char *join_name(const char *a, const char *b)
{
    size_t la = a ? strlen(a) : 0, lb = strlen(b);
    /* A field that already starts with its object's name keeps it once: job.jobId -> job_id,
     * offer.offerLastSentAt -> offer_last_sent_at (not job_job_id). */
    if (la && lb > la + 1 && !strncmp(b, a, la) && b[la] == '_')
        la = 0;
    char *r = malloc(la + lb + 2);
    if (!r)
        return NULL;
    if (la) {
        memcpy(r, a, la);
        r[la] = '_';
        memcpy(r + la + 1, b, lb + 1);
    } else {
        memcpy(r, b, lb + 1);
    }
    return r;
}

/* Appends a table named name (ownership of name passes to the schema, also on failure). */
static eb_rc add_table(struct builder *b, char *name, enum eb_sql_role role, size_t *index)
{
    struct eb_sql_schema *s = b->s;
    if (!name)
        return nomem(b);
    if (!valid_identifier(name)) {
        eb_err_set(b->err, EB_ERR_INTERNAL, "sqlgen: bad table name %.60s", name);
        free(name);
        return EB_ERR_INTERNAL;
    }
    for (size_t i = 0; i < s->n_tables; i++) {
        if (strcmp(s->tables[i].name, name) == 0) {
            eb_err_set(b->err, EB_ERR_INTERNAL, "sqlgen: duplicate table %.60s", name);
            free(name);
            return EB_ERR_INTERNAL;
        }
    }
    if (s->n_tables == b->cap_tables) {
        size_t cap = b->cap_tables ? b->cap_tables * 2 : 32;
        struct eb_sql_table *t = realloc(s->tables, cap * sizeof *t);
        if (!t) {
            free(name);
            return nomem(b);
        }
        s->tables = t;
        b->cap_tables = cap;
    }
    struct eb_sql_table *t = &s->tables[s->n_tables];
    memset(t, 0, sizeof *t);
    t->name = name;
    t->role = role;
    t->index = s->n_tables;
    *index = s->n_tables++;
    return EB_OK;
}

/* Appends a column to table ti (ownership of name passes to the schema, also on failure).
 * *col is set to the new column; it stays valid until the next column is added to ti. */
static eb_rc add_column(struct builder *b, size_t ti, char *name, enum eb_sql_type type,
                        int not_null, enum eb_sql_source source, struct eb_sql_column **col)
{
    struct eb_sql_table *t = &b->s->tables[ti];
    if (!name)
        return nomem(b);
    eb_rc rc = EB_OK;
    if (!valid_identifier(name)) {
        rc = eb_err_set(b->err, EB_ERR_INTERNAL, "sqlgen: bad column name %.60s", name);
        goto fail;
    }
    for (size_t i = 0; i < t->n_columns; i++) {
        if (strcmp(t->columns[i].name, name) == 0) {
            rc = eb_err_set(b->err, EB_ERR_INTERNAL, "sqlgen: duplicate column %.60s.%.60s",
                            t->name, name);
            goto fail;
        }
    }
    if (t->n_columns == EB_SQL_MAX_COLUMNS) {
        rc = eb_err_set(b->err, EB_ERR_INTERNAL, "sqlgen: table %.60s has too many columns",
                        t->name);
        goto fail;
    }
    /* Grow by doubling from 16: the capacity is implied by n_columns. */
    if (t->n_columns == 0 || (t->n_columns >= 16 && (t->n_columns & (t->n_columns - 1)) == 0)) {
        size_t cap = t->n_columns ? t->n_columns * 2 : 16;
        struct eb_sql_column *c = realloc(t->columns, cap * sizeof *c);
        if (!c) {
            rc = nomem(b);
            goto fail;
        }
        t->columns = c;
    }
    struct eb_sql_column *c = &t->columns[t->n_columns++];
    memset(c, 0, sizeof *c);
    c->name = name;
    c->type = type;
    c->not_null = not_null;
    c->source = source;
    if (col)
        *col = c;
    return EB_OK;
fail:
    free(name);
    return rc;
}

static eb_rc add_child(struct builder *b, size_t parent, const struct eb_field *const *via,
                       size_t n_via, const struct eb_field *array);

/* Integer fields of the candidate holding a code of the vendor's area table: a name column
 * follows each (schema version 2). */
static const struct {
    const char *xml;    /* the code field */
    const char *column; /* the name column beside it */
} area_columns[] = {
    {"nativePlaceCode", "native_place_name"},
    {"nationalityCode", "nationality_name"},
};

/* The name column for field f of type, or NULL when f holds no area code. */
static const char *area_column(const struct eb_type *type, const struct eb_field *f)
{
    if (type != &eb_type_candidate || f->kind != EB_KIND_INT)
        return NULL;
    for (size_t i = 0; i < sizeof area_columns / sizeof area_columns[0]; i++)
        if (strcmp(f->xml, area_columns[i].xml) == 0)
            return area_columns[i].column;
    return NULL;
}

/* Adds the columns for the scalar fields of type (reached from the row's struct through the OBJ
 * fields path[0 .. path_len)) to table ti, with prefix; creates child tables for its arrays.
 * skip_a / skip_b: columns of the root type that the caller adds itself (NULL: none). */
static eb_rc flatten(struct builder *b, size_t ti, const struct eb_type *type, const char *prefix,
                     const struct eb_field **path, size_t path_len, const char *skip_a,
                     const char *skip_b)
{
    eb_rc rc = EB_OK;
    if (path_len >= EB_SQL_MAX_DEPTH)
        return eb_err_set(b->err, EB_ERR_INTERNAL, "sqlgen: objects nested too deep in %.60s",
                          type->name);
    for (size_t i = 0; i < type->n_fields; i++) {
        const struct eb_field *f = &type->fields[i];
        if ((skip_a && strcmp(f->column, skip_a) == 0) ||
            (skip_b && strcmp(f->column, skip_b) == 0))
            continue;
        switch (f->kind) {
        case EB_KIND_OBJ: {
            char *p = join_name(prefix, f->column);
            if (!p)
                return nomem(b);
            path[path_len] = f;
            rc = flatten(b, ti, f->type, p, path, path_len + 1, NULL, NULL);
            free(p);
            if (rc)
                return rc;
            break;
        }
        case EB_KIND_ARR:
        case EB_KIND_STRARR:
            if ((rc = add_child(b, ti, path, path_len, f)))
                return rc;
            break;
        default: {
            struct eb_sql_column *c;
            enum eb_sql_type type_ =
                (f->kind == EB_KIND_INT || f->kind == EB_KIND_BOOL) ? EB_SQL_INTEGER : EB_SQL_TEXT;
            if ((rc = add_column(b, ti, join_name(prefix, f->column), type_, 0, EB_SQL_SRC_FIELD,
                                 &c)))
                return rc;
            memcpy(c->path, path, path_len * sizeof path[0]);
            c->path[path_len] = f;
            c->path_len = path_len + 1;
            const char *area = path_len == 0 ? area_column(type, f) : NULL;
            if (area) {
                if ((rc = add_column(b, ti, join_name(NULL, area), EB_SQL_TEXT, 0,
                                     EB_SQL_SRC_AREA_NAME, &c)))
                    return rc;
                c->path[0] = f;
                c->path_len = 1;
            }
            break;
        }
        }
    }
    return EB_OK;
}

/* Records child ci in the children list of table pi. */
static eb_rc link_child(struct builder *b, size_t pi, size_t ci)
{
    struct eb_sql_table *p = &b->s->tables[pi];
    size_t *c = realloc(p->children, (p->n_children + 1) * sizeof *c);
    if (!c)
        return nomem(b);
    c[p->n_children++] = ci;
    p->children = c;
    return EB_OK;
}

/* Creates the table for array field `array`, reached from the rows of table parent through the
 * OBJ fields via[0 .. n_via), with its key columns, its columns and its own child tables. */
static eb_rc add_child(struct builder *b, size_t parent, const struct eb_field *const *via,
                       size_t n_via, const struct eb_field *array)
{
    eb_rc rc = EB_OK;
    size_t depth =
        b->s->tables[parent].role == EB_SQL_ROLE_CHILD ? b->s->tables[parent].depth + 1 : 1;
    if (depth >= EB_SQL_MAX_DEPTH)
        return eb_err_set(b->err, EB_ERR_INTERNAL, "sqlgen: arrays nested too deep at %.60s",
                          array->xml);
    size_t ti;
    if ((rc = add_table(b, join_name(b->s->tables[parent].name, array->column), EB_SQL_ROLE_CHILD,
                        &ti)))
        return rc;
    struct eb_sql_table *t = &b->s->tables[ti];
    t->parent = parent;
    t->depth = depth;
    memcpy(t->via, via, n_via * sizeof via[0]);
    t->n_via = n_via;
    t->array = array;
    if ((rc = link_child(b, parent, ti)))
        return rc;

    /* Keys: application_id, one <suffix>_seq per enclosing array (outermost first), seq. */
    struct eb_sql_column *c;
    if ((rc = add_column(b, ti, join_name(NULL, "application_id"), EB_SQL_INTEGER, 1,
                         EB_SQL_SRC_APPLICATION_ID, NULL)))
        return rc;
    const struct eb_field *enclosing[EB_SQL_MAX_DEPTH];
    size_t level = depth - 1;
    for (size_t p = parent; level > 0; p = b->s->tables[p].parent)
        enclosing[--level] = b->s->tables[p].array;
    for (size_t k = 0; k + 1 < depth; k++) {
        if ((rc = add_column(b, ti, join_name(enclosing[k]->column, "seq"), EB_SQL_INTEGER, 1,
                             EB_SQL_SRC_SEQ, &c)))
            return rc;
        c->seq_level = k;
    }
    if ((rc = add_column(b, ti, join_name(NULL, "seq"), EB_SQL_INTEGER, 1, EB_SQL_SRC_SEQ, &c)))
        return rc;
    c->seq_level = depth - 1;
    b->s->tables[ti].n_keys = depth + 1;

    if (array->kind == EB_KIND_STRARR)
        return add_column(b, ti, join_name(NULL, "value"), EB_SQL_TEXT, 0, EB_SQL_SRC_ITEM, NULL);
    if (!array->type)
        return eb_err_set(b->err, EB_ERR_INTERNAL, "sqlgen: array %.60s has no type", array->xml);
    const struct eb_field *path[EB_SQL_MAX_DEPTH];
    return flatten(b, ti, array->type, NULL, path, 0, NULL, NULL);
}

static const struct eb_field *field_by_column(const struct eb_type *t, const char *column)
{
    for (size_t i = 0; i < t->n_fields; i++)
        if (strcmp(t->fields[i].column, column) == 0)
            return &t->fields[i];
    return NULL;
}

static eb_rc build_tables(struct builder *b)
{
    eb_rc rc = EB_OK;
    struct eb_sql_schema *s = b->s;
    size_t ti;
    struct eb_sql_column *c;

    if ((rc = add_table(b, join_name(NULL, "schema_version"), EB_SQL_ROLE_META, &ti)))
        return rc;
    s->schema_version = ti;
    if ((rc = add_column(b, ti, join_name(NULL, "version"), EB_SQL_INTEGER, 1, EB_SQL_SRC_NONE,
                         NULL)))
        return rc;

    static const struct {
        const char *name;
        enum eb_sql_type type;
        int not_null;
    } log_columns[] = {
        {"push_id", EB_SQL_TEXT, 1},           {"event", EB_SQL_TEXT, 0},
        {"triggered_at", EB_SQL_TEXT, 0},      {"received_at", EB_SQL_INTEGER, 1},
        {"application_id", EB_SQL_INTEGER, 0}, {"candidate_id", EB_SQL_INTEGER, 0},
        {"outcome", EB_SQL_TEXT, 1},           {"message", EB_SQL_TEXT, 0},
        {"payload", EB_SQL_TEXT, 0},           {"raw", EB_SQL_BLOB, 0},
    };
    if ((rc = add_table(b, join_name(NULL, "push_log"), EB_SQL_ROLE_META, &ti)))
        return rc;
    s->push_log = ti;
    for (size_t i = 0; i < sizeof log_columns / sizeof log_columns[0]; i++)
        if ((rc = add_column(b, ti, join_name(NULL, log_columns[i].name), log_columns[i].type,
                             log_columns[i].not_null, EB_SQL_SRC_NONE, NULL)))
            return rc;
    s->tables[ti].n_keys = 1;

    const struct eb_field *cand_id = field_by_column(&eb_type_candidate, "candidate_id");
    const struct eb_field *app_id = field_by_column(&eb_type_candidate, "application_id");
    if (!cand_id || !app_id || cand_id->kind != EB_KIND_INT || app_id->kind != EB_KIND_INT)
        return eb_err_set(b->err, EB_ERR_INTERNAL,
                          "sqlgen: the candidate has no integer application_id/candidate_id");
    if ((rc = add_table(b, join_name(NULL, "candidate"), EB_SQL_ROLE_CANDIDATE, &ti)))
        return rc;
    s->candidate = ti;
    s->first_child = ti + 1;
    if ((rc = add_column(b, ti, join_name(NULL, "application_id"), EB_SQL_INTEGER, 1,
                         EB_SQL_SRC_APPLICATION_ID, NULL)))
        return rc;
    s->tables[ti].n_keys = 1;
    if ((rc = add_column(b, ti, join_name(NULL, "candidate_id"), EB_SQL_INTEGER, 0,
                         EB_SQL_SRC_FIELD, &c)))
        return rc;
    c->path[0] = cand_id;
    c->path_len = 1;
    if ((rc = add_column(b, ti, join_name(NULL, "last_push_id"), EB_SQL_TEXT, 1, EB_SQL_SRC_PUSH_ID,
                         NULL)) ||
        (rc = add_column(b, ti, join_name(NULL, "updated_at"), EB_SQL_INTEGER, 1,
                         EB_SQL_SRC_UPDATED_AT, NULL)))
        return rc;
    const struct eb_field *path[EB_SQL_MAX_DEPTH];
    return flatten(b, ti, &eb_type_candidate, NULL, path, 0, "application_id", "candidate_id");
}

/* ---- statement text ---------------------------------------------------------------------- */

static const char *type_name(const struct eb_sql_dialect *d, enum eb_sql_type t)
{
    switch (t) {
    case EB_SQL_INTEGER:
        return d->int_type;
    case EB_SQL_TEXT:
        return d->text_type;
    case EB_SQL_REAL:
        return d->real_type;
    case EB_SQL_BLOB:
        return d->blob_type;
    }
    return d->text_type;
}

/* Moves the buffer's text into *dst (a malloc'd string). */
static eb_rc take(struct eb_buf *sb, char **dst)
{
    if (!eb_buf_cstr(sb))
        return EB_ERR_NOMEM;
    *dst = sb->data;
    eb_buf_init(sb, SQL_MAX_TEXT);
    return EB_OK;
}

static eb_rc put_placeholder(struct eb_buf *sb, const struct eb_sql_dialect *d, size_t n)
{
    return d->numbered_params ? eb_buf_printf(sb, "$%zu", n) : eb_buf_puts(sb, "?");
}

static eb_rc text_create(struct eb_buf *sb, const struct eb_sql_dialect *d,
                         const struct eb_sql_table *t)
{
    eb_rc rc = eb_buf_printf(sb, "CREATE TABLE \"%s\" (", t->name);
    for (size_t i = 0; !rc && i < t->n_columns; i++)
        rc = eb_buf_printf(sb, "%s\"%s\" %s%s", i ? ", " : "", t->columns[i].name,
                           i < t->n_keys && t->columns[i].type == EB_SQL_TEXT && d->key_text_type
                               ? d->key_text_type
                               : type_name(d, t->columns[i].type),
                           t->columns[i].not_null ? " NOT NULL" : "");
    if (!rc && t->n_keys) {
        rc = eb_buf_puts(sb, ", PRIMARY KEY (");
        for (size_t i = 0; !rc && i < t->n_keys; i++)
            rc = eb_buf_printf(sb, "%s\"%s\"", i ? ", " : "", t->columns[i].name);
        if (!rc)
            rc = eb_buf_puts(sb, ")");
    }
    if (!rc)
        rc = eb_buf_puts(sb, ")");
    if (!rc && t->role == EB_SQL_ROLE_CHILD)
        rc = eb_buf_puts(sb, d->child_table_options);
    return rc;
}

/* INSERT of `rows` rows of t: the parameters of row r are r * n_columns + 1 on. */
static eb_rc text_insert_rows(struct eb_buf *sb, const struct eb_sql_dialect *d,
                              const struct eb_sql_table *t, size_t rows)
{
    eb_rc rc = eb_buf_printf(sb, "INSERT INTO \"%s\" (", t->name);
    for (size_t i = 0; !rc && i < t->n_columns; i++)
        rc = eb_buf_printf(sb, "%s\"%s\"", i ? ", " : "", t->columns[i].name);
    if (!rc)
        rc = eb_buf_puts(sb, ") VALUES ");
    for (size_t r = 0; !rc && r < rows; r++) {
        rc = eb_buf_puts(sb, r ? ", (" : "(");
        for (size_t i = 0; !rc && i < t->n_columns; i++) {
            if (i)
                rc = eb_buf_puts(sb, ", ");
            if (!rc)
                rc = put_placeholder(sb, d, r * t->n_columns + i + 1);
        }
        if (!rc)
            rc = eb_buf_puts(sb, ")");
    }
    return rc;
}

static eb_rc text_insert(struct eb_buf *sb, const struct eb_sql_dialect *d,
                         const struct eb_sql_table *t)
{
    return text_insert_rows(sb, d, t, 1);
}

static eb_rc text_upsert(struct eb_buf *sb, const struct eb_sql_dialect *d,
                         const struct eb_sql_table *t, const char *where_sql)
{
    eb_rc rc = text_insert(sb, d, t);
    if (!rc)
        rc = eb_buf_puts(sb, " ON CONFLICT (");
    for (size_t i = 0; !rc && i < t->n_keys; i++)
        rc = eb_buf_printf(sb, "%s\"%s\"", i ? ", " : "", t->columns[i].name);
    if (!rc)
        rc = eb_buf_puts(sb, ") DO UPDATE SET ");
    for (size_t i = t->n_keys; !rc && i < t->n_columns; i++)
        rc = eb_buf_printf(sb, "%s\"%s\" = excluded.\"%s\"", i > t->n_keys ? ", " : "",
                           t->columns[i].name, t->columns[i].name);
    if (!rc && where_sql)
        rc = eb_buf_printf(sb, " WHERE %s", where_sql);
    return rc;
}

/* The indexes of push_log, with the schema version that added each. They come last in the DDL
 * (eb_sql_schema.n_log_ddl), so that an adapter creating ehrbridge's own tables only (a
 * --mapping) creates them too. push_log_received_at serves replay's listing (--since, --until,
 * in received order) and the push browser's pages, newest first, without reading or sorting the
 * whole log; push_log_outcome (version 5) a page of one outcome and the chart's counts per
 * outcome (pushread.c). An index on a text column other than the key (text: 1) exists only where
 * the dialect can index its text type (byte_collate). */
static const struct {
    const char *name;
    const char *columns;
    int since;
    int text;
} log_indexes[] = {
    {"push_log_application_id", "\"application_id\"", 1, 0},
    {"push_log_received_at", "\"received_at\", \"push_id\"", 3, 0},
    {"push_log_outcome", "\"outcome\", \"received_at\", \"push_id\"", 5, 1},
};
#define N_LOG_INDEXES (sizeof log_indexes / sizeof log_indexes[0])

/* 1 when push_log's index i exists in dialect d. */
static int has_log_index(const struct eb_sql_dialect *d, size_t i)
{
    return !log_indexes[i].text || d->byte_collate;
}

/* CREATE INDEX of push_log's index i; again: with IF NOT EXISTS (a migration step of version 5
 * or later, in a dialect that has the index). */
static eb_rc log_index_sql(struct eb_buf *sb, size_t i, int again)
{
    return eb_buf_printf(sb, "CREATE INDEX %s\"%s\" ON \"push_log\" (%s)",
                         again ? "IF NOT EXISTS " : "", log_indexes[i].name,
                         log_indexes[i].columns);
}

/* CREATE INDEX candidate_name (version 5): the candidate's name in byte order, so that the names
 * starting with a text are one range of it (pushread.c). Written only when the dialect can index
 * text and the candidate table has a column "name"; *made says whether it was. */
static eb_rc name_index_sql(struct eb_buf *sb, const struct eb_sql_schema *s, int again, int *made)
{
    const struct eb_sql_table *t = &s->tables[s->candidate];
    *made = 0;
    if (!s->dialect->byte_collate)
        return EB_OK;
    for (size_t i = 0; i < t->n_columns; i++)
        if (!strcmp(t->columns[i].name, "name") && t->columns[i].type == EB_SQL_TEXT) {
            *made = 1;
            return eb_buf_printf(sb, "CREATE INDEX %s\"candidate_name\" ON \"%s\" (\"name\"%s)",
                                 again ? "IF NOT EXISTS " : "", t->name, s->dialect->byte_collate);
        }
    return EB_OK;
}

/* Appends a migration statement of version v (the buffer's text) to s. */
static eb_rc add_migration(struct eb_sql_schema *s, struct eb_buf *sb, int v)
{
    char **m = realloc(s->migrate, (s->n_migrate + 1) * sizeof *m);
    if (!m)
        return EB_ERR_NOMEM;
    s->migrate = m;
    int *mv = realloc(s->migrate_version, (s->n_migrate + 1) * sizeof *mv);
    if (!mv)
        return EB_ERR_NOMEM;
    s->migrate_version = mv;
    eb_rc rc = take(sb, &s->migrate[s->n_migrate]);
    if (!rc)
        s->migrate_version[s->n_migrate++] = v;
    return rc;
}

/* Version 4: the rows earlier versions recorded from requests refused by authentication
 * (sqlgen.h, EB_SQL_REFUSED_*) lose their body and are marked, so that nothing of a request that
 * was never authenticated can be replayed. Recognized by what those versions wrote and only
 * they: the push id prefix (never given to a request that passed), outcome rejected, no event and
 * no applicationId. The message, TEXT (a CLOB on some ODBC databases), is only assigned, never
 * compared. Idempotent: run again, it finds the same rows and writes the same values. */
static const char refused_rows_sql[] =
    "UPDATE \"push_log\" SET \"payload\" = NULL, \"raw\" = NULL, \"message\" = "
    "'" EB_SQL_REFUSED_MESSAGE "' WHERE \"push_id\" LIKE '" EB_SQL_REFUSED_ID_PREFIX
    "%' AND \"outcome\" = 'rejected' AND "
    "\"event\" IS NULL AND \"application_id\" IS NULL";

/* Version 2: the area name columns of the candidate table, added and filled from the codes
 * (one CASE over the vendor's table: the database needs no table of its own for it). Then, in
 * order of version, the index of version 3, version 4 (refused_rows_sql) and the indexes of
 * version 5 (CREATE INDEX IF NOT EXISTS: a step that can run again). */
static eb_rc build_migrations(struct eb_sql_schema *s, struct eb_buf *sb)
{
    eb_rc rc = EB_OK;
    const struct eb_sql_table *t = &s->tables[s->candidate];
    const char *add = s->dialect->add_column ? s->dialect->add_column : "ADD COLUMN";
    for (size_t i = 0; !rc && i < t->n_columns; i++) {
        const struct eb_sql_column *c = &t->columns[i];
        if (c->source != EB_SQL_SRC_AREA_NAME)
            continue;
        if ((rc = eb_buf_printf(sb, "ALTER TABLE \"%s\" %s \"%s\" %s", t->name, add, c->name,
                                type_name(s->dialect, c->type))) ||
            (rc = add_migration(s, sb, 2)))
            break;
        rc = eb_buf_printf(sb, "UPDATE \"%s\" SET \"%s\" = CASE \"%s\"", t->name, c->name,
                           c->path[0]->column);
        for (size_t k = 0; !rc && k < eb_area_table_n; k++) {
            rc = eb_buf_printf(sb, " WHEN %ld THEN '", (long)eb_area_table[k].code);
            for (const char *q = eb_area_table[k].name; !rc && *q; q++)
                rc = *q == '\'' ? eb_buf_puts(sb, "''") : eb_buf_append(sb, q, 1);
            if (!rc)
                rc = eb_buf_puts(sb, "'");
        }
        if (!rc)
            rc = eb_buf_printf(sb, " END WHERE \"%s\" IS NOT NULL", c->path[0]->column);
        if (!rc)
            rc = add_migration(s, sb, 2);
    }
    for (int v = 3; !rc && v <= EB_SQL_SCHEMA_VERSION; v++) {
        if (v == 4 && !(rc = eb_buf_puts(sb, refused_rows_sql)))
            rc = add_migration(s, sb, v);
        int made = 0;
        if (!rc && v == 5 && !(rc = name_index_sql(sb, s, 1, &made)) && made)
            rc = add_migration(s, sb, v);
        for (size_t i = 0; !rc && i < N_LOG_INDEXES; i++)
            if (log_indexes[i].since == v && has_log_index(s->dialect, i) &&
                !(rc = log_index_sql(sb, i, v >= 5)))
                rc = add_migration(s, sb, v);
    }
    return rc;
}

static eb_rc build_text(struct builder *b)
{
    struct eb_sql_schema *s = b->s;
    const struct eb_sql_dialect *d = s->dialect;
    eb_rc rc = EB_OK;
    struct eb_buf sb;
    eb_buf_init(&sb, SQL_MAX_TEXT);

    s->ddl = calloc(s->n_tables + 1 + N_LOG_INDEXES, sizeof *s->ddl);
    if (!s->ddl) {
        rc = EB_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->n_tables; i++) {
        struct eb_sql_table *t = &s->tables[i];
        if ((rc = text_create(&sb, d, t)) || (rc = take(&sb, &t->create_sql)))
            goto out;
        if ((rc = eb_buf_puts(&sb, t->create_sql)) || (rc = take(&sb, &s->ddl[s->n_ddl])))
            goto out;
        s->n_ddl++;
        if ((rc = text_insert(&sb, d, t)) || (rc = take(&sb, &t->insert_sql)))
            goto out;
        if (d->has_upsert && t->n_keys && t->n_keys < t->n_columns) {
            if ((rc = text_upsert(&sb, d, t, NULL)) || (rc = take(&sb, &t->upsert_sql)))
                goto out;
        }
        if (t->role != EB_SQL_ROLE_META) {
            if ((rc = eb_buf_printf(&sb,
                                    "DELETE FROM \"%s\" WHERE \"application_id\" = ", t->name)) ||
                (rc = put_placeholder(&sb, d, 1)) || (rc = take(&sb, &t->delete_sql)))
                goto out;
        }
        if (t->role != EB_SQL_ROLE_META && t->n_columns > s->max_columns)
            s->max_columns = t->n_columns;
    }
    int made = 0;
    if ((rc = name_index_sql(&sb, s, 0, &made)) || (made && (rc = take(&sb, &s->ddl[s->n_ddl]))))
        goto out;
    s->n_ddl += (size_t)made;
    for (size_t i = 0; i < N_LOG_INDEXES; i++) {
        if (!has_log_index(d, i))
            continue;
        if ((rc = log_index_sql(&sb, i, 0)) || (rc = take(&sb, &s->ddl[s->n_ddl])))
            goto out;
        s->n_ddl++;
        s->n_log_ddl++;
    }
    rc = build_migrations(s, &sb);
out:
    eb_buf_free(&sb);
    if (rc)
        eb_err_set(b->err, rc, "sqlgen: cannot build statement text: %s", eb_strerror(rc));
    return rc;
}

eb_rc eb_sqlgen_build(const struct eb_sql_dialect *d, struct eb_sql_schema **out,
                      struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct builder b = {NULL, 0, err};
    *out = NULL;
    b.s = calloc(1, sizeof *b.s);
    if (!b.s)
        return nomem(&b);
    b.s->dialect = d;
    if ((rc = build_tables(&b)) || (rc = build_text(&b)))
        goto out;
    *out = b.s;
    b.s = NULL;
out:
    eb_sqlgen_free(b.s);
    return rc;
}

void eb_sqlgen_free(struct eb_sql_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_tables; i++) {
        struct eb_sql_table *t = &s->tables[i];
        for (size_t j = 0; j < t->n_columns; j++)
            free(t->columns[j].name);
        free(t->columns);
        free(t->children);
        free(t->name);
        free(t->create_sql);
        free(t->insert_sql);
        free(t->upsert_sql);
        free(t->delete_sql);
    }
    free(s->tables);
    if (s->ddl)
        for (size_t i = 0; i < s->n_ddl; i++)
            free(s->ddl[i]);
    free(s->ddl);
    for (size_t i = 0; i < s->n_migrate; i++)
        free(s->migrate[i]);
    free(s->migrate);
    free(s->migrate_version);
    free(s);
}

char *const *eb_sqlgen_migrations(const struct eb_sql_schema *s, int64_t from, size_t *n)
{
    size_t first = 0;
    while (first < s->n_migrate && s->migrate_version[first] <= from)
        first++;
    *n = s->n_migrate - first;
    return *n ? &s->migrate[first] : NULL;
}

eb_rc eb_sqlgen_list(const struct eb_sql_dialect *d, const char *columns,
                     const struct eb_push_filter *f, unsigned page, struct eb_sql_list *out)
{
    const char *cond[EB_SQL_LIST_PARAMS];
    size_t n = 0;
    memset(out, 0, sizeof *out);
    if (f->push_id) {
        cond[n] = "\"push_id\" = ";
        eb_sqlgen_text_value(&out->param[n++], f->push_id);
    }
    if (f->outcome >= 0) {
        cond[n] = "\"outcome\" = ";
        eb_sqlgen_text_value(&out->param[n++], eb_outcome_name((enum eb_outcome)f->outcome));
    }
    if (f->from_ms && !page) { /* with pages, the first page's key is the lower bound */
        cond[n] = "\"received_at\" >= ";
        out->param[n++] = (struct eb_sql_value){EB_SQL_VINT, f->from_ms, NULL, 0};
    }
    if (f->to_ms) {
        cond[n] = "\"received_at\" <= ";
        out->param[n++] = (struct eb_sql_value){EB_SQL_VINT, f->to_ms, NULL, 0};
    }
    size_t n_cond = n;
    if (page) { /* a row value: with to_ms, one range seek of push_log_received_at */
        cond[n_cond++] = "(\"received_at\", \"push_id\") > (";
        out->key = n;
        eb_sqlgen_list_after(out, f->from_ms ? f->from_ms : INT64_MIN, "");
        n += 2;
    }
    out->n_param = n;
    struct eb_buf sb;
    eb_buf_init(&sb, SQL_MAX_TEXT);
    eb_rc rc = eb_buf_printf(&sb, "SELECT %s FROM \"push_log\"", columns);
    for (size_t i = 0; !rc && i < n_cond; i++) {
        if (!(rc = eb_buf_printf(&sb, "%s%s", i ? " AND " : " WHERE ", cond[i])))
            rc = put_placeholder(&sb, d, i + 1);
        if (!rc && page && i + 1 == n_cond && !(rc = eb_buf_puts(&sb, ", ")) &&
            !(rc = put_placeholder(&sb, d, i + 2)))
            rc = eb_buf_puts(&sb, ")");
    }
    if (!rc)
        rc = eb_buf_puts(&sb, " ORDER BY \"received_at\", \"push_id\"");
    if (!rc && page)
        rc = eb_buf_printf(&sb, " LIMIT %u", page);
    if (!rc)
        rc = take(&sb, &out->sql);
    eb_buf_free(&sb);
    return rc;
}

void eb_sqlgen_list_after(struct eb_sql_list *l, int64_t received_at, const char *push_id)
{
    l->param[l->key] = (struct eb_sql_value){EB_SQL_VINT, received_at, NULL, 0};
    eb_sqlgen_text_value(&l->param[l->key + 1], push_id);
}

void eb_sqlgen_list_free(struct eb_sql_list *l)
{
    free(l->sql);
    l->sql = NULL;
}

const struct eb_sql_table *eb_sqlgen_table(const struct eb_sql_schema *s, const char *name)
{
    for (size_t i = 0; i < s->n_tables; i++)
        if (strcmp(s->tables[i].name, name) == 0)
            return &s->tables[i];
    return NULL;
}

const struct eb_sql_table *eb_sqlgen_child_tables(const struct eb_sql_schema *s, size_t *n)
{
    *n = s->n_tables - s->first_child;
    return *n ? &s->tables[s->first_child] : NULL;
}

char *eb_sqlgen_upsert_where(const struct eb_sql_schema *s, const struct eb_sql_table *t,
                             const char *where_sql, struct eb_err *err)
{
    if (!s->dialect->has_upsert || !t->n_keys || t->n_keys >= t->n_columns) {
        eb_err_set(err, EB_ERR_INTERNAL, "sqlgen: no upsert for table %s in %s", t->name,
                   s->dialect->name);
        return NULL;
    }
    struct eb_buf sb;
    char *r = NULL;
    eb_buf_init(&sb, SQL_MAX_TEXT);
    if (text_upsert(&sb, s->dialect, t, where_sql) || take(&sb, &r))
        eb_err_set(err, EB_ERR_NOMEM, "sqlgen: out of memory");
    eb_buf_free(&sb);
    return r;
}

char *eb_sqlgen_insert_rows(const struct eb_sql_schema *s, const struct eb_sql_table *t,
                            size_t rows, struct eb_err *err)
{
    struct eb_buf sb;
    char *r = NULL;
    if (!rows || rows * t->n_columns > EB_SQL_MAX_PARAMS) {
        eb_err_set(err, EB_ERR_INTERNAL, "sqlgen: %zu rows of table %s in one INSERT", rows,
                   t->name);
        return NULL;
    }
    eb_buf_init(&sb, SQL_MAX_TEXT);
    if (text_insert_rows(&sb, s->dialect, t, rows) || take(&sb, &r))
        eb_err_set(err, EB_ERR_NOMEM, "sqlgen: out of memory");
    eb_buf_free(&sb);
    return r;
}

eb_rc eb_sqlgen_check_version(int64_t version, struct eb_err *err)
{
    if (version > EB_SQL_SCHEMA_VERSION)
        return eb_err_set(err, EB_ERR_DB,
                          "database schema version %lld is newer than this ehrbridge (%d)",
                          (long long)version, EB_SQL_SCHEMA_VERSION);
    if (version != EB_SQL_SCHEMA_VERSION)
        return eb_err_set(err, EB_ERR_DB, "database schema version %lld is unknown (expected %d)",
                          (long long)version, EB_SQL_SCHEMA_VERSION);
    return EB_OK;
}

/* The walker of the default schema (sql/sqlgen.h, eb_sqlgen_walk): one struct eb_candidate
 * becomes the values of its candidate row and of each child table's rows, in the order the
 * tables were generated; and the values of single fields. */
#include <stdint.h>
#include <string.h>

#include "candidate/area.h"
#include "candidate/candidate.h"
#include "candidate/schema.h"
#include "sql/sqlgen.h"

struct walk {
    const struct eb_sql_schema *s; /* the schema */
    const struct eb_candidate *c;  /* the candidate being walked */
    const char *push_id;           /* for candidate.last_push_id */
    int64_t updated_at_ms;         /* for candidate.updated_at */
    int64_t seq[EB_SQL_MAX_DEPTH]; /* position in each enclosing array */
    eb_sqlgen_row_fn fn;           /* the callback */
    void *ctx;                     /* its context */
    struct eb_err *err;            /* passed to the callback */
};

void eb_sqlgen_text_value(struct eb_sql_value *v, const char *s)
{
    if (s) {
        v->type = EB_SQL_VTEXT;
        v->s = s;
        v->len = strlen(s);
    } else {
        v->type = EB_SQL_VNULL;
    }
}

void eb_sqlgen_scalar_value(const struct eb_field *f, const char *rec, struct eb_sql_value *v)
{
    const char *at = rec + f->offset;
    v->type = EB_SQL_VNULL;
    switch (f->kind) {
    case EB_KIND_INT: {
        struct eb_i64 x;
        memcpy(&x, at, sizeof x);
        if (x.set) {
            v->type = EB_SQL_VINT;
            v->i = x.v;
        }
        break;
    }
    case EB_KIND_BOOL: {
        int x;
        memcpy(&x, at, sizeof x);
        if (x != EB_BOOL_UNSET) {
            v->type = EB_SQL_VINT;
            v->i = x != 0;
        }
        break;
    }
    case EB_KIND_STR:
    case EB_KIND_DATE:
    case EB_KIND_DEC:
    case EB_KIND_ANY:
        eb_sqlgen_text_value(v, eb_field_ptr(at));
        break;
    case EB_KIND_OBJ:
    case EB_KIND_ARR:
    case EB_KIND_STRARR:
        break;
    }
}

static void field_value(const struct eb_sql_column *col, const char *row, struct eb_sql_value *v)
{
    v->type = EB_SQL_VNULL;
    for (size_t k = 0; k + 1 < col->path_len; k++) {
        row = eb_field_ptr(row + col->path[k]->offset);
        if (!row)
            return;
    }
    eb_sqlgen_scalar_value(col->path[col->path_len - 1], row, v);
}

static eb_rc emit(struct walk *w, const struct eb_sql_table *t, const char *row)
{
    struct eb_sql_value v[EB_SQL_MAX_COLUMNS];
    for (size_t i = 0; i < t->n_columns; i++) {
        const struct eb_sql_column *col = &t->columns[i];
        v[i].type = EB_SQL_VNULL;
        switch (col->source) {
        case EB_SQL_SRC_NONE:
            break;
        case EB_SQL_SRC_APPLICATION_ID:
            v[i].type = EB_SQL_VINT;
            v[i].i = w->c->application_id.v;
            break;
        case EB_SQL_SRC_SEQ:
            v[i].type = EB_SQL_VINT;
            v[i].i = w->seq[col->seq_level];
            break;
        case EB_SQL_SRC_PUSH_ID:
            eb_sqlgen_text_value(&v[i], w->push_id);
            break;
        case EB_SQL_SRC_UPDATED_AT:
            v[i].type = EB_SQL_VINT;
            v[i].i = w->updated_at_ms;
            break;
        case EB_SQL_SRC_FIELD:
            field_value(col, row, &v[i]);
            break;
        case EB_SQL_SRC_ITEM:
            eb_sqlgen_text_value(&v[i], eb_field_ptr(row));
            break;
        case EB_SQL_SRC_AREA_NAME:
            field_value(col, row, &v[i]);
            if (v[i].type == EB_SQL_VINT)
                eb_sqlgen_text_value(&v[i], eb_area_name(v[i].i));
            else
                v[i].type = EB_SQL_VNULL;
            break;
        }
    }
    return w->fn(w->ctx, t, v, w->err);
}

static eb_rc walk_children(struct walk *w, const struct eb_sql_table *t, const char *row)
{
    eb_rc rc = EB_OK;
    for (size_t i = 0; i < t->n_children; i++) {
        const struct eb_sql_table *c = &w->s->tables[t->children[i]];
        const char *holder = row;
        for (size_t k = 0; holder && k < c->n_via; k++)
            holder = eb_field_ptr(holder + c->via[k]->offset);
        if (!holder)
            continue;
        const char *items = eb_field_ptr(holder + c->array->offset);
        size_t n;
        memcpy(&n, holder + c->array->count_offset, sizeof n);
        if (!items)
            continue;
        size_t stride =
            c->array->kind == EB_KIND_STRARR ? sizeof(const char *) : c->array->type->size;
        for (size_t j = 0; j < n; j++) {
            const char *item = items + j * stride;
            w->seq[c->depth - 1] = (int64_t)j;
            if ((rc = emit(w, c, item)) || (rc = walk_children(w, c, item)))
                return rc;
        }
    }
    return EB_OK;
}

eb_rc eb_sqlgen_walk(const struct eb_sql_schema *s, const struct eb_candidate *c,
                     const char *push_id, int64_t updated_at_ms, eb_sqlgen_row_fn fn, void *ctx,
                     struct eb_err *err)
{
    eb_rc rc = EB_OK;
    if (!c || !c->application_id.set)
        return eb_err_set(err, EB_ERR_INVALID, "the record has no applicationId");
    struct walk w = {s, c, push_id, updated_at_ms, {0}, fn, ctx, err};
    const struct eb_sql_table *t = &s->tables[s->candidate];
    if ((rc = emit(&w, t, (const char *)c)))
        return rc;
    return walk_children(&w, t, (const char *)c);
}

/* Writing one candidate through a mapping (mapping/mapping.h): every column's value read from
 * the candidate (or the item of a child table's rows), converted, and handed to the adapter's
 * callback statement by statement: child rows removed, tables of candidates updated or
 * inserted, child rows inserted. Allocations of one row live in an arena reset after it. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/area.h"
#include "candidate/candidate.h"
#include "mapping/mapping.h"
#include "mapping/mapping_int.h"
#include "util/arena.h"
#include "util/date.h"

#define WRITE_ARENA_MAX ((size_t)64 * 1024 * 1024)

struct writer {
    const struct eb_mapping *m;
    struct map_ctx ctx;
    struct eb_arena *arena; /* texts made by conversions, per row */
    eb_mapping_run_fn fn;
    void *user;
    struct eb_err *err;
    struct eb_sql_value v[MAP_MAX_COLUMNS];   /* one statement's values */
    struct eb_sql_value col[MAP_MAX_COLUMNS]; /* one row's values, column by column */
};

static eb_rc nomem(struct writer *w)
{
    return eb_err_set(w->err, EB_ERR_NOMEM, "mapping: out of memory");
}

/* A copy of s[0..n) in the row's arena (NUL-terminated), as v. */
static eb_rc set_copy(struct writer *w, struct eb_sql_value *v, const char *s, size_t n)
{
    char *c = eb_arena_strndup(w->arena, s, n);
    if (!c)
        return nomem(w);
    v->type = EB_SQL_VTEXT;
    v->s = c;
    v->len = n;
    return EB_OK;
}

/* 1 when the item at p's field f reads as the text want. */
static int matches(const struct eb_field *f, const char *p, const char *want)
{
    struct eb_sql_value v;
    char buf[32];
    eb_sqlgen_scalar_value(f, p, &v);
    if (v.type == EB_SQL_VTEXT)
        return strcmp(v.s, want) == 0;
    if (v.type == EB_SQL_VINT) {
        snprintf(buf, sizeof buf, "%" PRId64, v.i);
        return strcmp(buf, want) == 0;
    }
    return 0;
}

/* Follows steps st[0..n) from p (a struct of their first step's type, or for n == 0 a string
 * slot when `slot`) to the value. */
static void follow(const struct map_step *st, size_t n, const char *p, int slot,
                   struct eb_sql_value *v)
{
    v->type = EB_SQL_VNULL;
    if (!p)
        return;
    if (n == 0) {
        if (slot)
            eb_sqlgen_text_value(v, eb_field_ptr(p));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct eb_field *f = st[i].f;
        int last = i + 1 == n;
        if (f->kind == EB_KIND_OBJ) {
            if (!(p = eb_field_ptr(p + f->offset)))
                return;
            continue;
        }
        if (f->kind != EB_KIND_ARR && f->kind != EB_KIND_STRARR) {
            eb_sqlgen_scalar_value(f, p, v);
            return;
        }
        const char *items = eb_field_ptr(p + f->offset);
        size_t count, stride = f->kind == EB_KIND_STRARR ? sizeof(const char *) : f->type->size;
        memcpy(&count, p + f->count_offset, sizeof count);
        if (!items)
            return;
        const char *item = NULL;
        if (st[i].sel == SEL_INDEX) {
            if (st[i].index < count)
                item = items + st[i].index * stride;
        } else if (st[i].sel == SEL_MATCH) {
            for (size_t j = 0; j < count && !item; j++)
                if (matches(st[i].match, items + j * stride, st[i].match_value))
                    item = items + j * stride;
        }
        if (!item)
            return;
        if (f->kind == EB_KIND_STRARR) {
            if (last)
                eb_sqlgen_text_value(v, eb_field_ptr(item));
            return;
        }
        p = item;
    }
}

/* ---- dates ------------------------------------------------------------------------------- */

struct civil {
    int64_t y;
    int mo, d, h, mi, s;
};

/* Reads a date by the date grammar (util/date.h) into c, in the mapping's zone: Unix timestamps
 * and zoned times are moved to tz_minutes east of UTC; times without a zone are taken as
 * written; missing month, day and time are 1, 1 and 00:00:00. 0 when not a date. */
static int parse_date(const char *s, size_t len, int tz_minutes, struct civil *c)
{
    struct eb_date d;
    memset(c, 0, sizeof *c);
    if (eb_date_parse(s, len, &d))
        return 0;
    if (d.kind == EB_DATE_INSTANT)
        eb_date_civil(d.unix_ms, tz_minutes, &d);
    c->y = d.y;
    c->mo = d.mo;
    c->d = d.d;
    c->h = d.h;
    c->mi = d.mi;
    c->s = d.s;
    return 1;
}

static eb_rc format_date(struct writer *w, const struct civil *c, const char *fmt,
                         struct eb_sql_value *v)
{
    char out[256];
    size_t o = 0;
    for (const char *f = fmt; *f && o + 24 < sizeof out; f++) {
        if (*f != '%') {
            out[o++] = *f;
            continue;
        }
        f++;
        switch (*f) {
        case 'Y':
            o += (size_t)snprintf(out + o, sizeof out - o, "%04" PRId64, c->y);
            break;
        case 'm':
            o += (size_t)snprintf(out + o, sizeof out - o, "%02d", c->mo);
            break;
        case 'd':
            o += (size_t)snprintf(out + o, sizeof out - o, "%02d", c->d);
            break;
        case 'H':
            o += (size_t)snprintf(out + o, sizeof out - o, "%02d", c->h);
            break;
        case 'M':
            o += (size_t)snprintf(out + o, sizeof out - o, "%02d", c->mi);
            break;
        case 'S':
            o += (size_t)snprintf(out + o, sizeof out - o, "%02d", c->s);
            break;
        case 'F':
            o += (size_t)snprintf(out + o, sizeof out - o, "%04" PRId64 "-%02d-%02d", c->y, c->mo,
                                  c->d);
            break;
        case 'T':
            o += (size_t)snprintf(out + o, sizeof out - o, "%02d:%02d:%02d", c->h, c->mi, c->s);
            break;
        default: /* '%' (the format was checked at load) */
            out[o++] = '%';
            break;
        }
    }
    return set_copy(w, v, out, o);
}

/* ---- conversions ------------------------------------------------------------------------- */

/* The text of v (ints as decimal) into buf, or NULL for NULL. */
static const char *as_text(const struct eb_sql_value *v, char *buf, size_t n, size_t *len)
{
    if (v->type == EB_SQL_VTEXT) {
        *len = v->len;
        return v->s;
    }
    if (v->type == EB_SQL_VINT) {
        int k = snprintf(buf, n, "%" PRId64, v->i);
        *len = (size_t)k;
        return buf;
    }
    return NULL;
}

/* The integer v holds (an int, or text of an optionally signed decimal). */
static int as_int(const struct eb_sql_value *v, int64_t *out)
{
    if (v->type == EB_SQL_VINT) {
        *out = v->i;
        return 1;
    }
    if (v->type != EB_SQL_VTEXT || !v->len || v->len > 19)
        return 0;
    const char *s = v->s;
    size_t i = s[0] == '-' || s[0] == '+';
    if (i == v->len)
        return 0;
    int64_t x = 0;
    for (; i < v->len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        x = x * 10 + (s[i] - '0');
    }
    *out = s[0] == '-' ? -x : x;
    return 1;
}

static int empty(const struct eb_sql_value *v)
{
    return v->type == EB_SQL_VNULL || (v->type == EB_SQL_VTEXT && v->len == 0);
}

static eb_rc no_value(struct writer *w, const struct map_table *t, const struct map_column *c)
{
    return eb_err_set(w->err, EB_ERR_INVALID, "mapping: %s.%s: no value (%s)", t->name, c->name,
                      c->source_text);
}

static eb_rc convert(struct writer *w, const struct map_table *t, const struct map_column *c,
                     const struct map_conv *cv, struct eb_sql_value *v)
{
    char buf[32];
    size_t len = 0;
    int64_t x;
    switch (cv->kind) {
    case CONV_DATE: {
        struct civil cl;
        const char *s = as_text(v, buf, sizeof buf, &len);
        if (!s)
            return EB_OK;
        if (!parse_date(s, len, w->m->tz_minutes, &cl)) {
            v->type = EB_SQL_VNULL;
            return EB_OK;
        }
        return format_date(w, &cl, cv->format, v);
    }
    case CONV_AREA:
    case CONV_AREA_PROVINCE:
    case CONV_AREA_CITY:
        if (v->type == EB_SQL_VNULL)
            return EB_OK;
        if (!as_int(v, &x)) {
            v->type = EB_SQL_VNULL;
            return EB_OK;
        }
        eb_sqlgen_text_value(v, cv->kind == CONV_AREA            ? eb_area_name(x)
                                : cv->kind == CONV_AREA_PROVINCE ? eb_area_province(x)
                                                                 : eb_area_city(x));
        return EB_OK;
    case CONV_MAP: {
        const char *s = as_text(v, buf, sizeof buf, &len);
        if (!s)
            return EB_OK;
        for (size_t i = 0; i < cv->n_pairs; i++) {
            if (strlen(cv->pairs[i].from) == len && !memcmp(cv->pairs[i].from, s, len)) {
                eb_sqlgen_text_value(v, cv->pairs[i].to);
                return EB_OK;
            }
        }
        if (cv->otherwise)
            eb_sqlgen_text_value(v, cv->otherwise);
        return EB_OK;
    }
    case CONV_DEFAULT:
        if (empty(v))
            *v = cv->value;
        return EB_OK;
    case CONV_REQUIRED:
        return empty(v) ? no_value(w, t, c) : EB_OK;
    case CONV_TRIM: {
        if (v->type != EB_SQL_VTEXT)
            return EB_OK;
        const char *s = v->s;
        size_t n = v->len;
        while (n && isspace((unsigned char)*s))
            s++, n--;
        while (n && isspace((unsigned char)s[n - 1]))
            n--;
        return set_copy(w, v, s, n);
    }
    case CONV_UPPER:
    case CONV_LOWER: {
        if (v->type != EB_SQL_VTEXT)
            return EB_OK;
        char *s = eb_arena_strndup(w->arena, v->s, v->len);
        if (!s)
            return nomem(w);
        for (size_t i = 0; i < v->len; i++)
            if ((unsigned char)s[i] < 0x80)
                s[i] = (char)(cv->kind == CONV_UPPER ? toupper((unsigned char)s[i])
                                                     : tolower((unsigned char)s[i]));
        v->s = s;
        return EB_OK;
    }
    case CONV_TRUNCATE: {
        const char *s = as_text(v, buf, sizeof buf, &len);
        if (!s)
            return EB_OK;
        size_t i = 0;
        int64_t chars = 0;
        while (i < len && chars < cv->n) {
            i++;
            while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
                i++; /* a character's continuation bytes stay with it */
            chars++;
        }
        if (i == len && v->type == EB_SQL_VTEXT)
            return EB_OK;
        return set_copy(w, v, s, i);
    }
    case CONV_ADD:
        if (v->type == EB_SQL_VNULL)
            return EB_OK;
        if (!as_int(v, &x)) {
            v->type = EB_SQL_VNULL;
            return EB_OK;
        }
        v->type = EB_SQL_VINT;
        v->i = x + cv->n;
        return EB_OK;
    }
    return EB_OK;
}

/* The value of column c of table t in the current context. */
static eb_rc evaluate(struct writer *w, const struct map_table *t, const struct map_column *c,
                      struct eb_sql_value *v)
{
    eb_rc rc = EB_OK;
    memset(v, 0, sizeof *v);
    switch (c->src) {
    case MSRC_CONST:
        *v = c->constant;
        break;
    case MSRC_SEQ:
        v->type = EB_SQL_VINT;
        v->i = w->ctx.seq[c->level];
        break;
    case MSRC_PUSH_ID:
        eb_sqlgen_text_value(v, w->ctx.push_id);
        break;
    case MSRC_RECEIVED_AT:
        v->type = EB_SQL_VINT;
        v->i = w->ctx.received_at_ms;
        break;
    case MSRC_FIELD: {
        int slot = 0;
        if (c->level) {
            /* the item of rows level c->level: a struct, or a string slot */
            size_t lv = 0;
            for (size_t i = 0; i < t->n_rows; i++)
                if (t->rows[i].sel == SEL_EACH && ++lv == c->level)
                    slot = t->rows[i].f->kind == EB_KIND_STRARR;
        }
        follow(c->steps, c->n_steps, w->ctx.item[c->level], slot, v);
        break;
    }
    }
    for (size_t i = 0; !rc && i < c->n_convs; i++)
        rc = convert(w, t, c, &c->convs[i], v);
    if (!rc && c->is_key && v->type == EB_SQL_VNULL)
        rc = no_value(w, t, c);
    return rc;
}

/* Evaluates every column of t into w->col. */
static eb_rc evaluate_row(struct writer *w, const struct map_table *t)
{
    eb_rc rc = EB_OK;
    for (size_t i = 0; !rc && i < t->n_cols; i++)
        rc = evaluate(w, t, &t->cols[i], &w->col[i]);
    return rc;
}

static void put(struct writer *w, size_t at, const struct eb_sql_value *v)
{
    w->v[at] = *v;
}

static eb_rc run(struct writer *w, size_t ti, enum eb_mapping_stmt st, size_t n, int64_t *changed)
{
    eb_rc rc = w->fn(w->user, ti, st, w->v, n, changed, w->err);
    eb_arena_reset(w->arena);
    return rc;
}

/* Inserts the rows of child table ti from rows step i on, p being the struct (or the
 * candidate) the step reads from at rows level `level`. */
static eb_rc insert_items(struct writer *w, size_t ti, size_t i, const char *p, size_t level)
{
    const struct map_table *t = &w->m->tables[ti];
    const struct map_step *st = &t->rows[i];
    const struct eb_field *f = st->f;
    eb_rc rc = EB_OK;
    if (st->sel == SEL_NONE) {
        const char *q = eb_field_ptr(p + f->offset);
        return q ? insert_items(w, ti, i + 1, q, level) : EB_OK;
    }
    const char *items = eb_field_ptr(p + f->offset);
    size_t count, stride = f->kind == EB_KIND_STRARR ? sizeof(const char *) : f->type->size;
    memcpy(&count, p + f->count_offset, sizeof count);
    for (size_t j = 0; items && j < count; j++) {
        const char *item = items + j * stride;
        w->ctx.item[level + 1] = item;
        w->ctx.seq[level + 1] = (int64_t)j;
        if (i + 1 < t->n_rows) {
            rc = insert_items(w, ti, i + 1, item, level + 1);
        } else if (!(rc = evaluate_row(w, t))) {
            for (size_t k = 0; k < t->n_cols; k++)
                put(w, k, &w->col[k]);
            rc = run(w, ti, EB_MAP_INSERT, t->n_cols, NULL);
        }
        if (rc)
            return rc;
    }
    return EB_OK;
}

eb_rc eb_mapping_write(const struct eb_mapping *m, const struct eb_candidate *c,
                       const char *push_id, int64_t received_at_ms, eb_mapping_run_fn fn, void *ctx,
                       struct eb_err *err)
{
    eb_rc rc = EB_OK;
    if (!c)
        return eb_err_set(err, EB_ERR_INVALID, "the push has no record");
    struct writer *w = calloc(1, sizeof *w);
    if (!w)
        return eb_err_set(err, EB_ERR_NOMEM, "mapping: out of memory");
    w->m = m;
    w->fn = fn;
    w->user = ctx;
    w->err = err;
    w->ctx.c = c;
    w->ctx.item[0] = (const char *)c;
    w->ctx.push_id = push_id;
    w->ctx.received_at_ms = received_at_ms;
    if (!(w->arena = eb_arena_new(WRITE_ARENA_MAX))) {
        rc = nomem(w);
        goto out;
    }
    /* 1. the candidate's rows of every child table, deepest first */
    for (size_t ti = m->n_tables; ti-- > 0;) {
        const struct map_table *t = &m->tables[ti];
        if (!t->depth)
            continue;
        for (size_t k = 0; k < t->n_remove_key; k++) {
            struct eb_sql_value v;
            if ((rc = evaluate(w, t, &t->cols[t->remove_key[k]], &v)))
                goto out;
            put(w, k, &v);
        }
        if ((rc = run(w, ti, EB_MAP_REMOVE, t->n_remove_key, NULL)))
            goto out;
    }
    /* 2. the tables of candidates: update by key, else insert */
    for (size_t ti = 0; ti < m->n_tables; ti++) {
        const struct map_table *t = &m->tables[ti];
        if (t->depth)
            continue;
        if ((rc = evaluate_row(w, t)))
            goto out;
        size_t n = 0;
        for (size_t k = 0; k < t->n_cols; k++)
            if (!t->cols[k].is_key)
                put(w, n++, &w->col[k]);
        if (!n)
            put(w, n++, &w->col[t->key[0]]);
        for (size_t k = 0; k < t->n_key; k++)
            put(w, n++, &w->col[t->key[k]]);
        int64_t changed = 0;
        /* the values stay in w->col (and the arena) until the insert: run resets the arena
         * only after the callback, and the insert is built from w->col again */
        rc = w->fn(w->user, ti, EB_MAP_UPDATE, w->v, n, &changed, w->err);
        if (rc)
            goto out;
        if (changed == 0) {
            for (size_t k = 0; k < t->n_cols; k++)
                put(w, k, &w->col[k]);
            if ((rc = run(w, ti, EB_MAP_INSERT, t->n_cols, NULL)))
                goto out;
        }
        eb_arena_reset(w->arena);
    }
    /* 3. the child rows, parents before children, items in document order */
    for (size_t ti = 0; ti < m->n_tables; ti++) {
        if (m->tables[ti].depth && (rc = insert_items(w, ti, 0, (const char *)c, 0)))
            goto out;
    }
out:
    eb_arena_free(w->arena);
    free(w);
    return rc;
}

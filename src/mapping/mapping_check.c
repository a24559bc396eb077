/* Checking a mapping once its lines are read (mapping.c): every table's columns and key, each
 * child table related to its parent (the rows it reads, the candidate-level key it is removed
 * by), and the tables put in write order, a parent before its children. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/candidate.h"
#include "candidate/schema.h"
#include "mapping/mapping.h"
#include "mapping/mapping_int.h"

/* A text naming a column's source after resolution, equal for equal sources in any table:
 * "F0:applicationId", "S1", "C:text", followed by the conversions as written. */
static void signature(const struct map_table *t, const struct map_column *c, char *out, size_t n)
{
    size_t o = 0;
    (void)t;
    switch (c->src) {
    case MSRC_FIELD:
        o += (size_t)snprintf(out + o, n - o, "F%zu", c->level);
        for (size_t i = 0; i < c->n_steps && o < n; i++)
            o += (size_t)snprintf(out + o, n - o, ".%s[%d:%zu:%s]", c->steps[i].f->xml,
                                  (int)c->steps[i].sel, c->steps[i].index,
                                  c->steps[i].match_value ? c->steps[i].match_value : "");
        break;
    case MSRC_SEQ:
        o += (size_t)snprintf(out + o, n - o, "S%zu", c->level);
        break;
    case MSRC_CONST:
        o += (size_t)snprintf(out + o, n - o, "C%d:%lld:%s", (int)c->constant.type,
                              (long long)c->constant.i, c->const_text ? c->const_text : "");
        break;
    case MSRC_PUSH_ID:
        o += (size_t)snprintf(out + o, n - o, "P");
        break;
    case MSRC_RECEIVED_AT:
        o += (size_t)snprintf(out + o, n - o, "R");
        break;
    }
    for (size_t i = 0; i < c->n_convs && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "|%d:%s:%lld", (int)c->convs[i].kind,
                              c->convs[i].format ? c->convs[i].format : "",
                              (long long)c->convs[i].n);
}

/* Resolves table t's rows path (child tables). */
static eb_rc resolve_rows(struct map_parser *ps, struct map_table *t)
{
    int seq = 0;
    const char *txt = map_skip_space(t->rows_text);
    size_t n = map_trimmed_len(txt, strlen(txt));
    eb_rc rc = map_parse_path(ps, t->rows_line, txt, n, t->rows, &t->n_rows, &seq);
    if (rc)
        return rc;
    for (size_t i = 0; i < t->n_rows; i++) {
        if (t->rows[i].sel == SEL_EACH)
            t->depth++;
        else if (t->rows[i].sel != SEL_NONE || seq)
            return map_fail_at(ps, t->rows_line,
                               "rows: expected an array path with [] (e.g. "
                               "experienceInfo[]), without [N] or selectors");
    }
    if (t->rows[t->n_rows - 1].sel != SEL_EACH)
        return map_fail_at(ps, t->rows_line, "rows: the path must end with [] (e.g. %.60s[])", txt);
    if (t->depth > MAP_MAX_DEPTH)
        return map_fail_at(ps, t->rows_line, "rows: arrays nested too deep");
    return EB_OK;
}

/* The rows level a column reads from: the longest prefix of its steps that is a prefix of the
 * table's rows ending in []; the steps after it must have no []. */
static eb_rc resolve_level(struct map_parser *ps, struct map_table *t, struct map_column *c)
{
    if (c->src != MSRC_FIELD && c->src != MSRC_SEQ)
        return EB_OK;
    if (c->src == MSRC_SEQ && c->n_steps == 0) {
        if (!t->depth)
            return map_fail_at(ps, c->line,
                               "column %s: @seq is the position of an item: only in a "
                               "child table (with rows = ...)",
                               c->name);
        c->level = t->depth;
        return EB_OK;
    }
    size_t cut = 0, level = 0, lv = 0;
    for (size_t i = 0; i < c->n_steps && i < t->n_rows; i++) {
        if (c->steps[i].f != t->rows[i].f || c->steps[i].sel != t->rows[i].sel)
            break;
        if (t->rows[i].sel == SEL_EACH) {
            lv++;
            cut = i + 1;
            level = lv;
        }
    }
    if (c->src == MSRC_SEQ) {
        if (cut != c->n_steps)
            return map_fail_at(ps, c->line,
                               "column %s: %s is not an array of the rows of table %s "
                               "(rows = %s)",
                               c->name, c->source_text, t->name,
                               t->rows_text ? t->rows_text : "none");
        c->level = level;
        map_free_steps(c->steps, c->n_steps);
        c->n_steps = 0;
        return EB_OK;
    }
    for (size_t i = cut; i < c->n_steps; i++) {
        if (c->steps[i].sel != SEL_EACH)
            continue;
        if (!t->depth)
            return map_fail_at(ps, c->line,
                               "column %s: [] (every item) is for the rows of a child "
                               "table; in table %s give one item: [N] or "
                               "[field=\"text\"]",
                               c->name, t->name);
        return map_fail_at(ps, c->line,
                           "column %s: %s is not along the rows of table %s (rows = "
                           "%s): use [N] or [field=\"text\"]",
                           c->name, c->source_text, t->name, t->rows_text);
    }
    /* drop the steps up to the cut: the value is read from the item of that level */
    for (size_t i = 0; i < cut; i++)
        free(c->steps[i].match_value);
    memmove(c->steps, c->steps + cut, (c->n_steps - cut) * sizeof c->steps[0]);
    c->n_steps -= cut;
    c->level = level;
    if (!c->n_steps && level) {
        const struct eb_field *arr = NULL;
        size_t lv2 = 0;
        for (size_t i = 0; i < t->n_rows; i++)
            if (t->rows[i].sel == SEL_EACH && ++lv2 == level)
                arr = t->rows[i].f;
        if (arr && arr->kind == EB_KIND_ARR)
            return map_fail_at(ps, c->line,
                               "column %s: an item of %s is an object: name one of its "
                               "fields (%s.FIELD)",
                               c->name, arr->xml, c->source_text);
    }
    return EB_OK;
}

/* 1 when table p holds the items of table t's rows: p's rows are t's rows up to its
 * second-to-last [] (p a table of candidates when t has one level). */
static int holds(const struct map_table *p, const struct map_table *t)
{
    if (p->depth + 1 != t->depth)
        return 0;
    if (!p->depth)
        return 1;
    if (p->n_rows >= t->n_rows)
        return 0;
    for (size_t i = 0; i < p->n_rows; i++)
        if (p->rows[i].f != t->rows[i].f || p->rows[i].sel != t->rows[i].sel)
            return 0;
    return 1;
}

static eb_rc check_table(struct map_parser *ps, size_t ti)
{
    struct eb_mapping *m = ps->m;
    struct map_table *t = &m->tables[ti];
    eb_rc rc = EB_OK;
    if (!t->n_cols)
        return map_fail_at(ps, t->line, "table %s has no columns", t->name);
    if (t->parent_line && !t->rows_line)
        return map_fail_at(ps, t->parent_line,
                           "table %s: parent is for child tables (give rows = "
                           "ARRAY[] too)",
                           t->name);
    if (t->rows_line && (rc = resolve_rows(ps, t)))
        return rc;
    for (size_t i = 0; i < t->n_cols; i++)
        if ((rc = resolve_level(ps, t, &t->cols[i])))
            return rc;
    if (!t->key_line)
        return map_fail_at(ps, t->line,
                           "table %s has no key (add key = COLUMN[, COLUMN...]: the "
                           "column(s) that find a candidate's row%s)",
                           t->name, t->depth ? "s, with @seq" : "");
    for (size_t k = 0; k < t->n_key; k++) {
        size_t j = 0;
        while (j < t->n_cols && strcmp(t->cols[j].folded, t->key_names[k]))
            j++;
        if (j == t->n_cols)
            return map_fail_at(ps, t->key_line, "key: %s is not a column of table %s",
                               t->key_names[k], t->name);
        if (t->cols[j].is_key)
            return map_fail_at(ps, t->key_line, "key: %s named twice", t->key_names[k]);
        t->cols[j].is_key = 1;
        t->key[k] = j;
    }
    return EB_OK;
}

static eb_rc relate(struct map_parser *ps, size_t ti)
{
    struct eb_mapping *m = ps->m;
    struct map_table *t = &m->tables[ti];
    if (!t->depth)
        return EB_OK;
    if (t->parent_name) {
        size_t p = 0;
        while (p < m->n_tables && strcmp(m->tables[p].folded, t->parent_name))
            p++;
        if (p == m->n_tables)
            return map_fail_at(ps, t->parent_line, "parent: %s is not a table of this file",
                               t->parent_name);
        if (p == ti || !holds(&m->tables[p], t))
            return map_fail_at(ps, t->parent_line,
                               "parent: table %s does not hold the items of %s "
                               "(its rows: %s)",
                               m->tables[p].name, t->rows_text,
                               m->tables[p].rows_text ? m->tables[p].rows_text : "the candidates");
        t->parent = p;
    } else {
        size_t found = 0;
        for (size_t p = 0; p < m->n_tables; p++) {
            if (p != ti && holds(&m->tables[p], t)) {
                if (found++)
                    return map_fail_at(ps, t->line,
                                       "table %s: several tables could be its parent: "
                                       "name one (parent = TABLE)",
                                       t->name);
                t->parent = p;
            }
        }
        if (!found)
            return map_fail_at(ps, t->line,
                               "table %s: no table of this file holds the items of %s "
                               "(declare it, or give parent = TABLE)",
                               t->name, t->rows_text);
    }
    /* the key: the parent's key (as the same sources), and something telling items apart */
    const struct map_table *p = &m->tables[t->parent];
    char a[512], b[512];
    for (size_t k = 0; k < p->n_key; k++) {
        const struct map_column *pc = &p->cols[p->key[k]];
        signature(p, pc, a, sizeof a);
        size_t j = 0;
        for (; j < t->n_key; j++) {
            signature(t, &t->cols[t->key[j]], b, sizeof b);
            if (!strcmp(a, b))
                break;
        }
        if (j == t->n_key)
            return map_fail_at(ps, t->key_line,
                               "key of table %s: must include the key of its parent "
                               "%s: a column = %s",
                               t->name, p->name, pc->source_text);
    }
    int item_level = 0;
    for (size_t k = 0; k < t->n_key; k++) {
        const struct map_column *c = &t->cols[t->key[k]];
        if ((c->src == MSRC_FIELD || c->src == MSRC_SEQ) && c->level == t->depth)
            item_level = 1;
        if (c->src == MSRC_FIELD && c->level == 0) {
            size_t *rk = realloc(t->remove_key, (t->n_remove_key + 1) * sizeof *rk);
            if (!rk)
                return map_nomem(ps);
            t->remove_key = rk;
            rk[t->n_remove_key++] = t->key[k];
        }
    }
    if (!item_level)
        return map_fail_at(ps, t->key_line,
                           "key of table %s: needs @seq (or a field of %s) to tell "
                           "the items apart",
                           t->name, t->rows_text);
    if (!t->n_remove_key)
        return map_fail_at(ps, t->key_line,
                           "key of table %s: needs a field of the candidate (e.g. "
                           "applicationId) to find a candidate's rows",
                           t->name);
    return EB_OK;
}

/* Orders the tables by depth, keeping the file's order otherwise (parents first); parent
 * indexes follow. */
static eb_rc order_tables(struct map_parser *ps)
{
    struct eb_mapping *m = ps->m;
    size_t n = m->n_tables, o = 0;
    struct map_table *sorted = malloc((n ? n : 1) * sizeof *sorted);
    size_t *where = malloc((n ? n : 1) * sizeof *where);
    if (!sorted || !where) {
        free(sorted);
        free(where);
        return map_nomem(ps);
    }
    for (size_t d = 0; d <= MAP_MAX_DEPTH; d++)
        for (size_t i = 0; i < n; i++)
            if (m->tables[i].depth == d) {
                where[i] = o;
                sorted[o++] = m->tables[i];
            }
    for (size_t i = 0; i < n; i++)
        if (sorted[i].parent != MAP_NO_PARENT)
            sorted[i].parent = where[sorted[i].parent];
    free(m->tables);
    free(where);
    m->tables = sorted;
    ps->cap_tables = n;
    return EB_OK;
}

/* The tables checked, related to their parents and put in write order (see mapping_int.h). */
eb_rc map_check_tables(struct map_parser *ps)
{
    eb_rc rc;
    for (size_t i = 0; i < ps->m->n_tables; i++)
        if ((rc = check_table(ps, i)))
            return rc;
    for (size_t i = 0; i < ps->m->n_tables; i++)
        if ((rc = relate(ps, i)))
            return rc;
    int roots = 0;
    for (size_t i = 0; i < ps->m->n_tables; i++)
        roots += !ps->m->tables[i].depth;
    if (!roots)
        return map_fail_at(ps, 0, "no table of candidates (one without rows =)");
    return order_tables(ps);
}

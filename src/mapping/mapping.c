/* Reading a mapping file (mapping/mapping.h): the line format, field paths resolved against the
 * candidate descriptors, conversions checked, tables related to their parents and keys checked.
 * Every mistake stops the load with "mapping FILE line N: ..."; nothing is left to the first
 * push. */
#include "mapping/mapping.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/candidate.h"
#include "candidate/schema.h"
#include "mapping/mapping_int.h"

#define MAP_MAX_FILE (1024 * 1024) /* largest mapping file */
#define MAP_MAX_NAME 128           /* longest table or column name */
#define MAP_MAX_LINE 4096          /* longest line */

/* Sets err to "mapping FILE line N: <message>" (EB_ERR_CONFIG). */
eb_rc map_fail_at(struct map_parser *ps, int line, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        return eb_err_set(ps->err, EB_ERR_CONFIG, "mapping %.100s line %d: %s", ps->m->file, line,
                          msg);
    return eb_err_set(ps->err, EB_ERR_CONFIG, "mapping %.100s: %s", ps->m->file, msg);
}

eb_rc map_nomem(struct map_parser *ps)
{
    return eb_err_set(ps->err, EB_ERR_NOMEM, "mapping: out of memory");
}

static char *dupn(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

const char *map_skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Length of s without trailing blanks. */
size_t map_trimmed_len(const char *s, size_t n)
{
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n;
}

/* ---- names ------------------------------------------------------------------------------- */

/* Reads a SQL name at *p: bare parts [A-Za-z_][A-Za-z0-9_$#]* or "quoted" parts, joined by '.'
 * (schema.table). sql gets its SQL text (quoted parts quoted), folded the form names are
 * compared in (bare parts lower-cased); *quoted = 1 when any part was quoted. 0 on bad syntax. */
static int read_name(const char **p, char *sql, char *folded, int *quoted)
{
    const char *s = *p;
    size_t o = 0;
    *quoted = 0;
    for (;;) {
        if (*s == '"') {
            const char *e = strchr(s + 1, '"');
            if (!e || e == s + 1 || (size_t)(e - s) + 1 + o >= MAP_MAX_NAME)
                return 0;
            for (const char *c = s + 1; c < e; c++)
                if ((unsigned char)*c < 0x20)
                    return 0;
            memcpy(sql + o, s, (size_t)(e - s) + 1);
            for (size_t k = 0; k < (size_t)(e - s) + 1; k++)
                folded[o + k] = s[k];
            o += (size_t)(e - s) + 1;
            s = e + 1;
            *quoted = 1;
        } else if (isalpha((unsigned char)*s) || *s == '_') {
            const char *b = s;
            while (isalnum((unsigned char)*s) || *s == '_' || *s == '$' || *s == '#')
                s++;
            if ((size_t)(s - b) + o >= MAP_MAX_NAME)
                return 0;
            for (const char *c = b; c < s; c++) {
                sql[o] = *c;
                folded[o++] = (char)tolower((unsigned char)*c);
            }
        } else {
            return 0;
        }
        if (*s != '.')
            break;
        if (o + 1 >= MAP_MAX_NAME)
            return 0;
        sql[o] = folded[o] = '.';
        o++;
        s++;
    }
    sql[o] = folded[o] = '\0';
    *p = s;
    return 1;
}

/* ---- field paths ------------------------------------------------------------------------- */

void map_free_steps(struct map_step *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(st[i].match_value);
        st[i].match_value = NULL;
    }
}

/* 1 when field kind k holds one value (not an object or array). */
static int is_scalar(enum eb_kind k)
{
    return k != EB_KIND_OBJ && k != EB_KIND_ARR && k != EB_KIND_STRARR;
}

/* Parses and resolves a field path text[0..n) from the candidate: steps go to st (*n_st),
 * *seq = 1 when it ends with ".@seq" (an enclosing array's position). A path that names an
 * object, an array without selector, or a field a value does not have is refused. */
eb_rc map_parse_path(struct map_parser *ps, int line, const char *text, size_t n,
                     struct map_step *st, size_t *n_st, int *seq)
{
    const struct eb_type *type = &eb_type_candidate;
    const char *p = text, *end = text + n;
    const char *last_kind = NULL; /* set when the path reached a value or a string */
    eb_rc rc = EB_OK;
    *n_st = 0;
    *seq = 0;
    while (p < end) {
        if (*n_st && *p == '@') {
            if ((size_t)(end - p) == 4 && !strncmp(p, "@seq", 4) && st[*n_st - 1].sel == SEL_EACH) {
                *seq = 1;
                return EB_OK;
            }
            rc = map_fail_at(ps, line,
                             "bad path \"%.*s\": @seq follows an array's [] "
                             "(e.g. interviewers[].@seq)",
                             (int)n, text);
            goto fail;
        }
        const char *b = p;
        while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '-'))
            p++;
        if (p == b) {
            rc = map_fail_at(ps, line, "bad path \"%.*s\": expected a field name at \"%.*s\"",
                             (int)n, text, (int)(end - b > 20 ? 20 : end - b), b);
            goto fail;
        }
        if (last_kind) {
            rc = map_fail_at(ps, line, "bad path \"%.*s\": %s has no field \"%.*s\"", (int)n, text,
                             last_kind, (int)(p - b), b);
            goto fail;
        }
        if (*n_st == MAP_MAX_STEPS) {
            rc = map_fail_at(ps, line, "bad path \"%.*s\": too many steps", (int)n, text);
            goto fail;
        }
        const struct eb_field *f = eb_schema_find(type, b, (size_t)(p - b));
        if (!f) {
            rc = map_fail_at(ps, line, "unknown field \"%.*s\" in %.*s (%s has no such field)",
                             (int)(p - b), b, (int)n, text, type->name);
            goto fail;
        }
        struct map_step *s = &st[(*n_st)++];
        memset(s, 0, sizeof *s);
        s->f = f;
        if (p < end && *p == '[') {
            if (f->kind != EB_KIND_ARR && f->kind != EB_KIND_STRARR) {
                rc = map_fail_at(ps, line, "bad path \"%.*s\": %s is not an array", (int)n, text,
                                 f->xml);
                goto fail;
            }
            const char *q = ++p;
            if (q < end && *q == ']') {
                s->sel = SEL_EACH;
            } else if (q < end && isdigit((unsigned char)*q)) {
                char *e;
                unsigned long v = strtoul(q, &e, 10);
                if (e >= end || *e != ']' || v > 1000000) {
                    rc = map_fail_at(ps, line,
                                     "bad path \"%.*s\": expected [N] with N a position "
                                     "from 0",
                                     (int)n, text);
                    goto fail;
                }
                s->sel = SEL_INDEX;
                s->index = v;
                q = e;
            } else {
                const char *fb = q;
                while (q < end && (isalnum((unsigned char)*q) || *q == '_' || *q == '-'))
                    q++;
                if (q == fb || q >= end || *q != '=' || q + 1 >= end || q[1] != '"' ||
                    f->kind != EB_KIND_ARR) {
                    rc = map_fail_at(ps, line,
                                     "bad path \"%.*s\": a selector is [], [N] or "
                                     "[field=\"text\"]",
                                     (int)n, text);
                    goto fail;
                }
                const struct eb_field *mf = eb_schema_find(f->type, fb, (size_t)(q - fb));
                if (!mf || !is_scalar(mf->kind) || mf->kind == EB_KIND_BOOL) {
                    rc = map_fail_at(ps, line,
                                     "unknown field \"%.*s\" in the selector of %.*s (%s "
                                     "items have no such text field)",
                                     (int)(q - fb), fb, (int)n, text, f->type->name);
                    goto fail;
                }
                const char *vb = q + 2, *ve = vb;
                while (ve < end && *ve != '"')
                    ve++;
                if (ve + 1 >= end || ve[1] != ']') {
                    rc = map_fail_at(ps, line, "bad path \"%.*s\": unterminated selector", (int)n,
                                     text);
                    goto fail;
                }
                s->sel = SEL_MATCH;
                s->match = mf;
                if (!(s->match_value = dupn(vb, (size_t)(ve - vb)))) {
                    rc = map_nomem(ps);
                    goto fail;
                }
                q = ve + 1;
            }
            p = q + 1;
            if (f->kind == EB_KIND_STRARR)
                last_kind = "a string of a list";
            else
                type = f->type;
        } else if (f->kind == EB_KIND_ARR || f->kind == EB_KIND_STRARR) {
            if (p < end) {
                rc = map_fail_at(ps, line,
                                 "bad path \"%.*s\": %s is an array: give [], [N] or "
                                 "[field=\"text\"]",
                                 (int)n, text, f->xml);
                goto fail;
            }
            rc = map_fail_at(ps, line,
                             "bad path \"%.*s\": %s is an array: use %s[] for the rows of a "
                             "child table, or [N] / [field=\"text\"] for one item",
                             (int)n, text, f->xml, f->xml);
            goto fail;
        } else if (f->kind == EB_KIND_OBJ) {
            type = f->type;
        } else {
            last_kind = f->xml;
        }
        if (p < end) {
            if (*p != '.' || p + 1 == end) {
                rc =
                    map_fail_at(ps, line, "bad path \"%.*s\": unexpected \"%c\"", (int)n, text, *p);
                goto fail;
            }
            p++;
        }
    }
    if (!*n_st) {
        rc = map_fail_at(ps, line, "bad path: empty");
        goto fail;
    }
    if (st[*n_st - 1].f->kind == EB_KIND_OBJ) {
        rc = map_fail_at(ps, line, "bad path \"%.*s\": %s is an object: name one of its fields",
                         (int)n, text, st[*n_st - 1].f->xml);
        goto fail;
    }
    if (st[*n_st - 1].f->kind == EB_KIND_ARR && st[*n_st - 1].sel != SEL_EACH) {
        rc = map_fail_at(ps, line,
                         "bad path \"%.*s\": an item of %s is an object: name one of its "
                         "fields",
                         (int)n, text, st[*n_st - 1].f->xml);
        goto fail;
    }
    return EB_OK;
fail:
    map_free_steps(st, *n_st);
    *n_st = 0;
    return rc;
}

/* ---- values and conversions -------------------------------------------------------------- */

/* 1 when s[0..n) is an optionally signed decimal integer that fits in int64_t (*v set). */
static int parse_int(const char *s, size_t n, int64_t *v)
{
    char buf[32];
    if (!n || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    const char *d = buf + (buf[0] == '-' || buf[0] == '+');
    if (!*d || strspn(d, "0123456789") != strlen(d))
        return 0;
    errno = 0;
    long long x = strtoll(buf, NULL, 10);
    if (errno)
        return 0;
    *v = x;
    return 1;
}

/* A literal: "text" (with \" and \\), an integer, a decimal (kept as text) or null. The text is
 * malloc'd into *owned. 0 when s is none of these. */
static int parse_literal(const char *s, size_t n, struct eb_sql_value *v, char **owned, int *nomem_)
{
    *owned = NULL;
    memset(v, 0, sizeof *v);
    if (n == 4 && !strncmp(s, "null", 4)) {
        v->type = EB_SQL_VNULL;
        return 1;
    }
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        char *t = malloc(n);
        if (!t) {
            *nomem_ = 1;
            return 0;
        }
        size_t o = 0;
        for (size_t i = 1; i + 1 < n; i++) {
            if (s[i] == '\\' && i + 2 < n && (s[i + 1] == '"' || s[i + 1] == '\\'))
                i++;
            else if (s[i] == '"') {
                free(t);
                return 0;
            }
            t[o++] = s[i];
        }
        t[o] = '\0';
        *owned = t;
        v->type = EB_SQL_VTEXT;
        v->s = t;
        v->len = o;
        return 1;
    }
    if (parse_int(s, n, &v->i)) {
        v->type = EB_SQL_VINT;
        return 1;
    }
    size_t k = s[0] == '-';
    size_t d1 = 0, d2 = 0;
    while (k < n && isdigit((unsigned char)s[k]))
        k++, d1++;
    if (d1 && k < n && s[k] == '.') {
        k++;
        while (k < n && isdigit((unsigned char)s[k]))
            k++, d2++;
        if (k == n && d2) {
            if (!(*owned = dupn(s, n))) {
                *nomem_ = 1;
                return 0;
            }
            v->type = EB_SQL_VTEXT;
            v->s = *owned;
            v->len = n;
            return 1;
        }
    }
    return 0;
}

static const char known_convs[] =
    "date:FORMAT, area, area:province, area:city, map:A=X,B=Y,*=Z, default:VALUE, required, "
    "trim, upper, lower, truncate:N, add:N";

/* 1 when every % of a date format is one the writer knows. */
static int valid_date_format(const char *f, char *bad)
{
    for (; *f; f++) {
        if (*f != '%')
            continue;
        f++;
        if (!*f || !strchr("YmdHMSFT%", *f)) {
            *bad = *f ? *f : '?';
            return 0;
        }
    }
    return 1;
}

/* Parses one conversion text[0..n) ("date:%Y-%m-%d") into c. */
static eb_rc parse_conv(struct map_parser *ps, int line, const char *text, size_t n,
                        struct map_conv *c)
{
    memset(c, 0, sizeof *c);
    const char *colon = memchr(text, ':', n);
    size_t nl = colon ? (size_t)(colon - text) : n;
    const char *arg = colon ? colon + 1 : NULL;
    size_t al = colon ? n - nl - 1 : 0;
    static const struct {
        const char *name;
        enum map_conv_kind kind;
        int arg; /* 0 none, 1 required, 2 optional */
    } convs[] = {
        {"date", CONV_DATE, 1},         {"area", CONV_AREA, 2},
        {"map", CONV_MAP, 1},           {"default", CONV_DEFAULT, 1},
        {"required", CONV_REQUIRED, 0}, {"trim", CONV_TRIM, 0},
        {"upper", CONV_UPPER, 0},       {"lower", CONV_LOWER, 0},
        {"truncate", CONV_TRUNCATE, 1}, {"add", CONV_ADD, 1},
    };
    size_t k = 0;
    while (k < sizeof convs / sizeof convs[0] &&
           !(strlen(convs[k].name) == nl && !strncmp(convs[k].name, text, nl)))
        k++;
    if (k == sizeof convs / sizeof convs[0])
        return map_fail_at(ps, line, "unknown conversion \"%.*s\" (known: %s)",
                           (int)(nl > 40 ? 40 : nl), text, known_convs);
    if (convs[k].arg == 0 && colon)
        return map_fail_at(ps, line, "conversion %s takes no argument", convs[k].name);
    if (convs[k].arg == 1 && !colon)
        return map_fail_at(ps, line, "conversion %s needs an argument (%s:...)", convs[k].name,
                           convs[k].name);
    c->kind = convs[k].kind;
    switch (c->kind) {
    case CONV_DATE: {
        char bad = 0;
        if (!al)
            return map_fail_at(ps, line, "conversion date needs a format, e.g. date:%%Y-%%m-%%d");
        if (!(c->format = dupn(arg, al)))
            return map_nomem(ps);
        if (!valid_date_format(c->format, &bad))
            return map_fail_at(ps, line,
                               "date format \"%.60s\": unknown directive %%%c (known: %%Y "
                               "%%m %%d %%H %%M %%S %%F %%T %%%%)",
                               c->format, bad);
        return EB_OK;
    }
    case CONV_AREA:
        if (!colon)
            return EB_OK;
        if (al == 8 && !strncmp(arg, "province", 8))
            c->kind = CONV_AREA_PROVINCE;
        else if (al == 4 && !strncmp(arg, "city", 4))
            c->kind = CONV_AREA_CITY;
        else
            return map_fail_at(ps, line,
                               "unknown conversion \"area:%.*s\" (known: area, "
                               "area:province, area:city)",
                               (int)(al > 40 ? 40 : al), arg);
        return EB_OK;
    case CONV_TRUNCATE:
    case CONV_ADD:
        if (!parse_int(arg, al, &c->n) || (c->kind == CONV_TRUNCATE && c->n < 1))
            return map_fail_at(ps, line, "conversion %s needs a whole number%s (got \"%.*s\")",
                               convs[k].name, c->kind == CONV_TRUNCATE ? " of characters" : "",
                               (int)(al > 40 ? 40 : al), arg);
        return EB_OK;
    case CONV_DEFAULT: {
        int oom = 0;
        size_t tl = map_trimmed_len(arg, al);
        if (!parse_literal(arg, tl, &c->value, &c->owned, &oom) || c->value.type == EB_SQL_VNULL) {
            if (oom)
                return map_nomem(ps);
            free(c->owned);
            /* anything else is text as written */
            if (!(c->owned = dupn(arg, tl)))
                return map_nomem(ps);
            c->value.type = EB_SQL_VTEXT;
            c->value.s = c->owned;
            c->value.len = tl;
        }
        return EB_OK;
    }
    case CONV_MAP: {
        const char *p = arg, *end = arg + al;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *e = comma ? comma : end;
            const char *eq = memchr(p, '=', (size_t)(e - p));
            if (!eq)
                return map_fail_at(ps, line,
                                   "map: expected FROM=TO pairs separated by commas (got "
                                   "\"%.*s\")",
                                   (int)(e - p > 40 ? 40 : e - p), p);
            char *from = dupn(p, (size_t)(eq - p)), *to = dupn(eq + 1, (size_t)(e - eq - 1));
            if (!from || !to) {
                free(from);
                free(to);
                return map_nomem(ps);
            }
            if (!strcmp(from, "*")) {
                free(from);
                free(c->otherwise);
                c->otherwise = to;
            } else {
                struct map_pair *pp = realloc(c->pairs, (c->n_pairs + 1) * sizeof *pp);
                if (!pp) {
                    free(from);
                    free(to);
                    return map_nomem(ps);
                }
                c->pairs = pp;
                pp[c->n_pairs].from = from;
                pp[c->n_pairs++].to = to;
            }
            p = comma ? comma + 1 : end;
        }
        if (!c->n_pairs && !c->otherwise)
            return map_fail_at(ps, line, "map: no FROM=TO pair");
        return EB_OK;
    }
    default:
        return EB_OK;
    }
}

static void free_conv(struct map_conv *c)
{
    free(c->format);
    for (size_t i = 0; i < c->n_pairs; i++) {
        free(c->pairs[i].from);
        free(c->pairs[i].to);
    }
    free(c->pairs);
    free(c->otherwise);
    free(c->owned);
}

/* Splits a value at the '|' that are outside double quotes; returns the number of parts (at
 * most max), each trimmed. -1 when a quote is not closed. */
static int split_bars(const char *s, const char **part, size_t *len, int max)
{
    int n = 0, inq = 0;
    const char *b = s;
    for (const char *p = s;; p++) {
        if (*p == '"' && (p == s || p[-1] != '\\'))
            inq = !inq;
        if ((*p == '|' && !inq) || !*p) {
            if (n == max)
                return max + 1;
            const char *tb = map_skip_space(b);
            part[n] = tb;
            len[n++] = map_trimmed_len(tb, (size_t)(p - tb));
            if (!*p)
                break;
            b = p + 1;
        }
    }
    return inq ? -1 : n;
}

/* ---- lines ------------------------------------------------------------------------------- */

static struct map_table *cur_table(struct map_parser *ps)
{
    return ps->m->n_tables ? &ps->m->tables[ps->m->n_tables - 1] : NULL;
}

static eb_rc add_table(struct map_parser *ps, const char *sql, const char *folded)
{
    struct eb_mapping *m = ps->m;
    for (size_t i = 0; i < m->n_tables; i++)
        if (!strcmp(m->tables[i].folded, folded))
            return map_fail_at(ps, ps->line, "table %s is declared twice (first on line %d)", sql,
                               m->tables[i].line);
    if (m->n_tables == MAP_MAX_TABLES)
        return map_fail_at(ps, ps->line, "more than %d tables", MAP_MAX_TABLES);
    if (m->n_tables == ps->cap_tables) {
        size_t cap = ps->cap_tables ? ps->cap_tables * 2 : 8;
        struct map_table *t = realloc(m->tables, cap * sizeof *t);
        if (!t)
            return map_nomem(ps);
        m->tables = t;
        ps->cap_tables = cap;
    }
    struct map_table *t = &m->tables[m->n_tables++];
    memset(t, 0, sizeof *t);
    t->line = ps->line;
    t->parent = MAP_NO_PARENT;
    t->name = strdup(sql);
    t->folded = strdup(folded);
    return t->name && t->folded ? EB_OK : map_nomem(ps);
}

/* "+08:00", "-0530", "+08", "Z", "UTC" -> minutes east of UTC. */
static int parse_zone(const char *s, int *minutes)
{
    if (!strcmp(s, "Z") || !strcmp(s, "UTC") || !strcmp(s, "utc")) {
        *minutes = 0;
        return 1;
    }
    if ((s[0] != '+' && s[0] != '-') || !isdigit((unsigned char)s[1]) ||
        !isdigit((unsigned char)s[2]))
        return 0;
    int h = (s[1] - '0') * 10 + (s[2] - '0'), mi = 0;
    const char *r = s + 3;
    if (*r == ':')
        r++;
    if (*r) {
        if (!isdigit((unsigned char)r[0]) || !isdigit((unsigned char)r[1]) || r[2])
            return 0;
        mi = (r[0] - '0') * 10 + (r[1] - '0');
    }
    if (h > 14 || mi > 59)
        return 0;
    *minutes = (s[0] == '-' ? -1 : 1) * (h * 60 + mi);
    return 1;
}

/* A column line: name = SOURCE | CONVERSION ... */
static eb_rc add_column(struct map_parser *ps, struct map_table *t, const char *sql,
                        const char *folded, const char *value)
{
    eb_rc rc = EB_OK;
    for (size_t i = 0; i < t->n_cols; i++)
        if (!strcmp(t->cols[i].folded, folded))
            return map_fail_at(ps, ps->line,
                               "column %s of table %s is mapped twice (first on line %d)", sql,
                               t->name, t->cols[i].line);
    if (t->n_cols == MAP_MAX_COLUMNS)
        return map_fail_at(ps, ps->line, "table %s has more than %d columns", t->name,
                           MAP_MAX_COLUMNS);
    struct map_column *cols = realloc(t->cols, (t->n_cols + 1) * sizeof *cols);
    if (!cols)
        return map_nomem(ps);
    t->cols = cols;
    struct map_column *c = &cols[t->n_cols++];
    memset(c, 0, sizeof *c);
    c->line = ps->line;
    if (!(c->name = strdup(sql)) || !(c->folded = strdup(folded)))
        return map_nomem(ps);

    const char *part[65];
    size_t len[65];
    int n = split_bars(value, part, len, 64);
    if (n < 0)
        return map_fail_at(ps, ps->line, "unterminated \"");
    if (n > 64)
        return map_fail_at(ps, ps->line, "too many conversions");
    if (!len[0])
        return map_fail_at(ps, ps->line,
                           "column %s: no source (a field path, @seq, @push_id, "
                           "@received_at or a constant)",
                           sql);
    if (!(c->source_text = dupn(part[0], len[0])))
        return map_nomem(ps);
    const char *s = part[0];
    size_t sl = len[0];
    int oom = 0;
    if (sl == 4 && !strncmp(s, "@seq", 4)) {
        c->src = MSRC_SEQ;
    } else if (sl == 8 && !strncmp(s, "@push_id", 8)) {
        c->src = MSRC_PUSH_ID;
    } else if (sl == 12 && !strncmp(s, "@received_at", 12)) {
        c->src = MSRC_RECEIVED_AT;
    } else if (s[0] == '@') {
        return map_fail_at(ps, ps->line,
                           "unknown source \"%.*s\" (known: @seq, @push_id, "
                           "@received_at)",
                           (int)(sl > 40 ? 40 : sl), s);
    } else if (parse_literal(s, sl, &c->constant, &c->const_text, &oom)) {
        c->src = MSRC_CONST;
    } else if (oom) {
        return map_nomem(ps);
    } else if (s[0] == '"' || s[0] == '-' || isdigit((unsigned char)s[0])) {
        return map_fail_at(ps, ps->line, "bad constant %.*s (\"text\", a number or null)",
                           (int)(sl > 60 ? 60 : sl), s);
    } else {
        int seq = 0;
        if ((rc = map_parse_path(ps, ps->line, s, sl, c->steps, &c->n_steps, &seq)))
            return rc;
        c->src = seq ? MSRC_SEQ : MSRC_FIELD;
    }
    if (n > 1) {
        c->convs = calloc((size_t)n - 1, sizeof *c->convs);
        if (!c->convs)
            return map_nomem(ps);
        for (int i = 1; i < n; i++) {
            if (!len[i])
                return map_fail_at(ps, ps->line, "empty conversion after |");
            rc = parse_conv(ps, ps->line, part[i], len[i], &c->convs[c->n_convs]);
            c->n_convs++;
            if (rc)
                return rc;
        }
    }
    return EB_OK;
}

/* Reads one line (comments and blanks already gone). */
static eb_rc parse_line(struct map_parser *ps, char *s)
{
    char sql[MAP_MAX_NAME], folded[MAP_MAX_NAME];
    int quoted = 0;
    if (*s == '[') {
        size_t n = strlen(s);
        if (s[n - 1] != ']')
            return map_fail_at(ps, ps->line, "expected [TABLE]");
        s[n - 1] = '\0';
        const char *p = map_skip_space(s + 1);
        if (!read_name(&p, sql, folded, &quoted) || *map_skip_space(p))
            return map_fail_at(ps, ps->line,
                               "bad table name \"%.60s\" (a SQL name, schema.table, or "
                               "\"quoted\")",
                               s + 1);
        return add_table(ps, sql, folded);
    }
    const char *p = s;
    if (!read_name(&p, sql, folded, &quoted))
        return map_fail_at(ps, ps->line, "expected NAME = VALUE or [TABLE] (got \"%.40s\")", s);
    p = map_skip_space(p);
    if (*p != '=')
        return map_fail_at(ps, ps->line, "expected = after %s", sql);
    const char *value = map_skip_space(p + 1);
    struct map_table *t = cur_table(ps);
    if (!t) {
        if (!quoted && !strcmp(folded, "timezone")) {
            if (!parse_zone(value, &ps->m->tz_minutes))
                return map_fail_at(ps, ps->line,
                                   "timezone: expected +HH:MM, -HH:MM or UTC (got "
                                   "\"%.20s\")",
                                   value);
            return EB_OK;
        }
        return map_fail_at(ps, ps->line,
                           "unknown setting %s (before the first [TABLE] only "
                           "timezone = +HH:MM is known)",
                           sql);
    }
    if (!quoted && !strcmp(folded, "key")) {
        if (t->key_line)
            return map_fail_at(ps, ps->line, "table %s: key given twice", t->name);
        t->key_line = ps->line;
        /* resolved once every column is known: keep the text as the rows/parent are */
        const char *q = value;
        do {
            q = map_skip_space(q);
            char ks[MAP_MAX_NAME], kf[MAP_MAX_NAME];
            int kq;
            if (!read_name(&q, ks, kf, &kq))
                return map_fail_at(ps, ps->line, "key: expected column names separated by commas");
            q = map_skip_space(q);
            size_t *k = realloc(t->key, (t->n_key + 1) * sizeof *k);
            if (!k)
                return map_nomem(ps);
            t->key = k;
            /* store the folded name's position later: remember it through a column index of
             * SIZE_MAX and the name in a side list */
            char **names = realloc(t->key_names, (t->n_key + 1) * sizeof *names);
            if (!names)
                return map_nomem(ps);
            t->key_names = names;
            if (!(names[t->n_key] = strdup(kf)))
                return map_nomem(ps);
            k[t->n_key++] = SIZE_MAX;
        } while (*q == ',' && q++);
        if (*q)
            return map_fail_at(ps, ps->line, "key: unexpected \"%.20s\"", q);
        return EB_OK;
    }
    if (!quoted && !strcmp(folded, "rows")) {
        if (t->rows_line)
            return map_fail_at(ps, ps->line, "table %s: rows given twice", t->name);
        t->rows_line = ps->line;
        return (t->rows_text = strdup(value)) ? EB_OK : map_nomem(ps);
    }
    if (!quoted && !strcmp(folded, "parent")) {
        if (t->parent_line)
            return map_fail_at(ps, ps->line, "table %s: parent given twice", t->name);
        const char *q = value;
        if (!read_name(&q, sql, folded, &quoted) || *map_skip_space(q))
            return map_fail_at(ps, ps->line, "parent: expected a table name");
        t->parent_line = ps->line;
        return (t->parent_name = strdup(folded)) ? EB_OK : map_nomem(ps);
    }
    return add_column(ps, t, sql, folded, value);
}

/* ---- entry points ------------------------------------------------------------------------ */

eb_rc eb_mapping_parse(const char *name, const char *text, size_t len, struct eb_mapping **out,
                       struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct map_parser ps = {NULL, 0, err, 0};
    char *line = NULL;
    *out = NULL;
    if (!(ps.m = calloc(1, sizeof *ps.m)) || !(ps.m->file = strdup(name ? name : "(text)")) ||
        !(line = malloc(MAP_MAX_LINE + 1))) {
        rc = map_nomem(&ps);
        goto out;
    }
    if (len > MAP_MAX_FILE) {
        rc = map_fail_at(&ps, 0, "larger than %d bytes", MAP_MAX_FILE);
        goto out;
    }
    const char *p = text, *end = text + len;
    if (end - p >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
        p += 3; /* a UTF-8 byte order mark */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        ps.line++;
        size_t n = (size_t)(e - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (n > MAP_MAX_LINE) {
            rc = map_fail_at(&ps, ps.line, "line longer than %d bytes", MAP_MAX_LINE);
            goto out;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl ? nl + 1 : end;
        if (memchr(line, '\0', n)) {
            rc = map_fail_at(&ps, ps.line, "NUL byte");
            goto out;
        }
        /* a comment: # or ; first, or " #" outside quotes */
        char *s = (char *)map_skip_space(line);
        if (*s == '#' || *s == ';' || !*s)
            continue;
        int inq = 0;
        for (char *c = s; *c; c++) {
            if (*c == '"' && (c == s || c[-1] != '\\'))
                inq = !inq;
            if (!inq && *c == '#' && (c[-1] == ' ' || c[-1] == '\t')) {
                *c = '\0';
                break;
            }
        }
        s[map_trimmed_len(s, strlen(s))] = '\0';
        if ((rc = parse_line(&ps, s)))
            goto out;
    }
    ps.line = 0;
    if (!ps.m->n_tables) {
        rc = map_fail_at(&ps, 0, "no table (a mapping declares at least one [TABLE])");
        goto out;
    }
    if ((rc = map_check_tables(&ps)))
        goto out;
    *out = ps.m;
    ps.m = NULL;
out:
    free(line);
    eb_mapping_free(ps.m);
    return rc;
}

eb_rc eb_mapping_load(const char *path, struct eb_mapping **out, struct eb_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return eb_err_set(err, EB_ERR_CONFIG, "mapping %.200s: cannot read: %s", path,
                          strerror(errno));
    char *buf = malloc(MAP_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        return eb_err_set(err, EB_ERR_NOMEM, "mapping: out of memory");
    }
    size_t n = fread(buf, 1, MAP_MAX_FILE + 1, f);
    int bad = ferror(f);
    fclose(f);
    eb_rc rc;
    if (bad)
        rc = eb_err_set(err, EB_ERR_CONFIG, "mapping %.200s: read error", path);
    else if (n > MAP_MAX_FILE)
        rc = eb_err_set(err, EB_ERR_CONFIG, "mapping %.200s: larger than %d bytes", path,
                        MAP_MAX_FILE);
    else
        rc = eb_mapping_parse(path, buf, n, out, err);
    free(buf);
    return rc;
}

void eb_mapping_free(struct eb_mapping *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_tables; i++) {
        struct map_table *t = &m->tables[i];
        for (size_t j = 0; j < t->n_cols; j++) {
            struct map_column *c = &t->cols[j];
            free(c->name);
            free(c->folded);
            free(c->source_text);
            free(c->const_text);
            map_free_steps(c->steps, c->n_steps);
            for (size_t k = 0; k < c->n_convs; k++)
                free_conv(&c->convs[k]);
            free(c->convs);
        }
        free(t->cols);
        for (size_t k = 0; k < t->n_key; k++)
            free(t->key_names ? t->key_names[k] : NULL);
        free(t->key_names);
        free(t->key);
        free(t->remove_key);
        map_free_steps(t->rows, t->n_rows);
        free(t->rows_text);
        free(t->parent_name);
        free(t->name);
        free(t->folded);
    }
    free(m->tables);
    free(m->file);
    free(m);
}

size_t eb_mapping_n_tables(const struct eb_mapping *m)
{
    return m->n_tables;
}

const char *eb_mapping_table_name(const struct eb_mapping *m, size_t i)
{
    return i < m->n_tables ? m->tables[i].name : NULL;
}

/* The differential check of the direct path (ingest/direct.c), shared by test_oneparse and the
 * fuzz target fuzz_oneparse: one body through both paths of eb_ingest, and, when the direct
 * path reads it, the generated bindings over what the server reads for it
 * (eb_ingest_bind_text: the body itself) and over the canonical path's document, each mapped to
 * a struct eb_push with its warnings; the documents, push log payloads, strings and pushes must
 * be the same. */
#ifndef EB_ONEPARSE_DIFF_H
#define EB_ONEPARSE_DIFF_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind/bind.h"
#include "candidate/candidate.h"
#include "candidate/schema.h"
#include "candidate/validate.h"
#include "ingest/ingest.h"
#include "util/arena.h"

enum oneparse_verdict {
    ONEPARSE_DIFFERENT = -1, /* the paths disagree: why says where */
    ONEPARSE_DECLINED = 0,   /* the direct path left the body to the canonical path */
    ONEPARSE_SAME = 1        /* the direct path read it, with the canonical path's result */
};

static void oneparse_why(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void oneparse_why(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

static int oneparse_same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* 1 when the two records of type t are the same, field by field (strings by content); path
 * names the first difference. */
static int oneparse_same_record(const struct eb_type *t, const void *a, const void *b, char *path,
                                size_t n)
{
    for (size_t i = 0; i < t->n_fields; i++) {
        const struct eb_field *f = &t->fields[i];
        const char *pa = (const char *)a + f->offset, *pb = (const char *)b + f->offset;
        int same = 1;
        switch (f->kind) {
        case EB_KIND_STR:
        case EB_KIND_DATE:
        case EB_KIND_DEC:
        case EB_KIND_ANY:
            same = oneparse_same_str(*(const char *const *)pa, *(const char *const *)pb);
            break;
        case EB_KIND_INT: {
            const struct eb_i64 *x = (const void *)pa, *y = (const void *)pb;
            same = x->set == y->set && (!x->set || x->v == y->v);
            break;
        }
        case EB_KIND_BOOL:
            same = *(const int *)pa == *(const int *)pb;
            break;
        case EB_KIND_OBJ: {
            const void *x = *(const void *const *)pa, *y = *(const void *const *)pb;
            same = (!x && !y) || (x && y && oneparse_same_record(f->type, x, y, path, n));
            break;
        }
        case EB_KIND_ARR: {
            const char *x = *(const char *const *)pa, *y = *(const char *const *)pb;
            size_t nx = *(const size_t *)((const char *)a + f->count_offset);
            size_t ny = *(const size_t *)((const char *)b + f->count_offset);
            same = nx == ny;
            for (size_t k = 0; same && k < nx; k++)
                same = oneparse_same_record(f->type, x + k * f->type->size, y + k * f->type->size,
                                            path, n);
            break;
        }
        case EB_KIND_STRARR: {
            const char *const *x = *(const char *const *const *)pa;
            const char *const *y = *(const char *const *const *)pb;
            size_t nx = *(const size_t *)((const char *)a + f->count_offset);
            size_t ny = *(const size_t *)((const char *)b + f->count_offset);
            same = nx == ny;
            for (size_t k = 0; same && k < nx; k++)
                same = oneparse_same_str(x[k], y[k]);
            break;
        }
        }
        if (!same) {
            if (!path[0])
                snprintf(path, n, "%s.%s", t->name, f->xml);
            return 0;
        }
    }
    return 1;
}

static int oneparse_same_push(const struct eb_push *a, const struct eb_push *b, char *path,
                              size_t n)
{
    path[0] = '\0';
    if (!oneparse_same_str(a->id, b->id) || !oneparse_same_str(a->event, b->event) ||
        !oneparse_same_str(a->triggered_at, b->triggered_at)) {
        snprintf(path, n, "id, event or triggeredAt");
        return 0;
    }
    if (a->n_warnings != b->n_warnings) {
        snprintf(path, n, "warnings: %zu vs %zu", a->n_warnings, b->n_warnings);
        return 0;
    }
    for (size_t i = 0; i < a->n_warnings; i++)
        if (!oneparse_same_str(a->warnings[i].field, b->warnings[i].field) ||
            !oneparse_same_str(a->warnings[i].value, b->warnings[i].value) ||
            !oneparse_same_str(a->warnings[i].reason, b->warnings[i].reason)) {
            snprintf(path, n, "warning %zu", i);
            return 0;
        }
    if (!a->data || !b->data) {
        if (a->data != b->data)
            snprintf(path, n, "data present on one side only");
        return !a->data && !b->data;
    }
    return oneparse_same_record(&eb_type_candidate, a->data, b->data, path, n);
}

/* The generated bindings over text, mapped to *p in arena, with the warnings of r and
 * validation's tolerance; the rc of the first step that failed. */
static eb_rc oneparse_bind(struct eb_bind *b, const char *text, const struct eb_ingest_result *r,
                           struct eb_arena *arena, struct eb_push *p)
{
    struct eb_err err = {0};
    eb_rc rc;
    memset(p, 0, sizeof *p);
    if ((rc = eb_bind_read(b, text)))
        return rc;
    if ((rc = eb_bind_push(b, arena, r->application_id != NULL, p, &err)))
        return rc;
    if ((rc = eb_ingest_copy_warnings(r, arena, p)))
        return rc;
    (void)eb_validate_push(p, &err); /* not a difference of reading: both get the same */
    return eb_validate_tolerate(arena, p, &err);
}

/* Feeds body to both paths; see enum oneparse_verdict. */
static enum oneparse_verdict oneparse_diff(const char *body, size_t len, char *why, size_t n)
{
    static struct eb_bind *b1, *b2;
    static struct eb_arena *a1, *a2;
    struct eb_ingest_opts opts = {eb_ingest_default_limits, NULL};
    struct eb_ingest_result c, d;
    struct eb_err ec = {0}, ed = {0};
    enum oneparse_verdict v = ONEPARSE_DIFFERENT;
    char *text = malloc(len + 1); /* the service's bodies end in a NUL */
    if (!text) {
        oneparse_why(why, n, "out of memory");
        return ONEPARSE_DIFFERENT;
    }
    memcpy(text, body, len);
    text[len] = '\0';
    if (!b1) {
        b1 = eb_bind_new();
        b2 = eb_bind_new();
        a1 = eb_arena_new((size_t)64 << 20);
        a2 = eb_arena_new((size_t)64 << 20);
    }
    why[0] = '\0';
    eb_ingest_result_init(&c, opts.limits.max_output);
    eb_ingest_result_init(&d, opts.limits.max_output);
    eb_rc rc_c = eb_ingest_by(text, len, &opts, EB_INGEST_CANONICAL, &c, &ec);
    eb_rc rc_d = eb_ingest_by(text, len, &opts, EB_INGEST_DIRECT, &d, &ed);
    if (rc_d) {
        v = ONEPARSE_DECLINED;
        if (d.direct || rc_d != EB_ERR_NOT_PUSH)
            v = ONEPARSE_DIFFERENT, oneparse_why(why, n, "the direct path failed: %s", ed.msg);
        goto out;
    }
    if (!d.direct) {
        oneparse_why(why, n, "read, but not marked direct");
        goto out;
    }
    if (rc_c) {
        oneparse_why(why, n, "read directly, refused canonically: %s", ec.msg);
        goto out;
    }
    if (c.direct || c.soap != d.soap || c.doc.len != d.doc.len ||
        memcmp(c.doc.data, d.doc.data, c.doc.len) || c.canon_off != d.canon_off ||
        c.canon_len != d.canon_len) {
        oneparse_why(why, n, "different canonical documents or payloads");
        goto out;
    }
    if (!oneparse_same_str(c.push_id, d.push_id) || !oneparse_same_str(c.event, d.event) ||
        !oneparse_same_str(c.triggered_at, d.triggered_at) ||
        !oneparse_same_str(c.application_id, d.application_id)) {
        oneparse_why(why, n, "different push id, event, triggeredAt or applicationId");
        goto out;
    }
    if (c.n_problems || d.n_problems || c.n_warnings || d.n_warnings || c.warnings.len ||
        c.refusal[0] || d.refusal[0] || c.n_unknown || c.repaired || strcmp(c.problem, d.problem)) {
        oneparse_why(why, n, "read directly with problems, warnings or repairs on a path");
        goto out;
    }
    /* the server's read (the body itself, as svc_handle_push binds it) against the canonical
     * path's document */
    struct eb_push p1, p2;
    const char *server = eb_ingest_bind_text(&d, text, len);
    if (server != text) {
        oneparse_why(why, n, "read directly, but the server would not bind the body itself");
        goto out;
    }
    eb_arena_reset(a1);
    eb_arena_reset(a2);
    eb_rc r1 = oneparse_bind(b1, server, &d, a1, &p1);
    eb_rc r2 = oneparse_bind(b2, eb_ingest_bind_text(&c, text, len), &c, a2, &p2);
    char path[200];
    if (r1 != r2)
        oneparse_why(why, n, "bindings: %s over the body, %s over the canonical document",
                     eb_strerror(r1), eb_strerror(r2));
    else if (!r1 && !oneparse_same_push(&p1, &p2, path, sizeof path))
        oneparse_why(why, n, "different struct eb_push from the body at %s", path);
    else
        v = ONEPARSE_SAME; /* the same push, or the same refusal */
    eb_bind_end(b1);
    eb_bind_end(b2);
out:
    eb_ingest_result_free(&c);
    eb_ingest_result_free(&d);
    free(text);
    return v;
}

#endif

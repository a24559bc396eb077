/* Validation of a mapped push (see validate.h): the few checks that refuse a push, and the
 * tolerance pass that normalises what can be read and sets aside what cannot. Dates are found
 * generically by walking the schema descriptors, so every EB_KIND_DATE field of the contract is
 * covered; they are read by the one date grammar (util/date.h). */
#include "candidate/validate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "candidate/schema.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/date.h"

#define MAX_ID_LEN 255
#define MAX_PATH   256

int eb_validate_date(const char *s)
{
    struct eb_date d;
    return s && eb_date_parse(s, strlen(s), &d) == 0;
}

eb_rc eb_validate_push(const struct eb_push *p, struct eb_err *err)
{
    if (!p->id || !*p->id)
        return eb_err_set(err, EB_ERR_INVALID, "id: missing push id");
    if (strlen(p->id) > MAX_ID_LEN)
        return eb_err_set(err, EB_ERR_INVALID, "id: longer than %d characters", MAX_ID_LEN);
    if (!p->event || !*p->event)
        return eb_err_set(err, EB_ERR_INVALID, "event: missing");
    if (strcasecmp(p->event, "pushCandidate") != 0)
        return eb_err_set(err, EB_ERR_INVALID, "event: expected pushCandidate");
    const struct eb_candidate *c = p->data;
    if (!c)
        return eb_err_set(err, EB_ERR_INVALID, "data: missing");
    if (!c->application_id.set)
        return eb_err_set(err, EB_ERR_INVALID, "data.applicationId: missing");
    if (c->application_id.v <= 0)
        return eb_err_set(err, EB_ERR_INVALID, "data.applicationId: must be a positive number");
    return EB_OK;
}

/* ---- tolerance ---------------------------------------------------------------------------- */

/* The walk's state: the push, where copies go, the path of the current value. */
struct walk {
    struct eb_push *p;
    struct eb_arena *arena;
    char path[MAX_PATH]; /* "data.educationInfo[0]" so far */
    size_t len;          /* its length */
};

/* Appends s[0..n) to the path, cut where the path is full. */
static void put_path(struct walk *w, const char *s, size_t n)
{
    size_t room = sizeof w->path - 1 - w->len;
    if (n > room)
        n = room;
    memcpy(w->path + w->len, s, n);
    w->len += n;
    w->path[w->len] = '\0';
}

/* Appends ".name" or "[i]" to the path; returns the length to come back to. Every object,
 * array and item the walk enters takes a step, a warning or not: by hand, not by snprintf,
 * which cost the tolerance pass as much as the rest of it. */
static size_t step(struct walk *w, const char *name, size_t i)
{
    size_t before = w->len;
    if (name) {
        put_path(w, ".", 1);
        put_path(w, name, strlen(name));
    } else {
        char num[24] = "[";
        size_t k = 1 + eb_dec(num + 1, i);
        num[k++] = ']';
        put_path(w, num, k);
    }
    return before;
}

static void unstep(struct walk *w, size_t before)
{
    w->len = before;
    w->path[before] = '\0';
}

static eb_rc warn(struct walk *w, const char *field, const char *value, const char *reason)
{
    size_t before = step(w, field, 0);
    eb_rc rc = eb_push_warn(w->arena, w->p, w->path, value, reason);
    unstep(w, before);
    return rc;
}

/* The fields the vendor gives accurate to the day (its "Day yyyy-MM-dd" format): a time there
 * is converted to its date in the EHR's time zone. */
static int day_only(const struct eb_type *t, const struct eb_field *f)
{
    return (t == &eb_type_candidate && !strcmp(f->xml, "birthDate")) ||
           (t == &eb_type_offer && !strcmp(f->xml, "checkinDate")) ||
           (t == &eb_type_survey && !strcmp(f->xml, "date"));
}

/* 1 when rec (of type t) has a boolean field now that is true: the vendor's "to date" rule. */
static int is_now(const struct eb_type *t, const char *rec)
{
    for (size_t i = 0; i < t->n_fields; i++)
        if (t->fields[i].kind == EB_KIND_BOOL && !strcmp(t->fields[i].xml, "now"))
            return *(const int *)(rec + t->fields[i].offset) == 1;
    return 0;
}

/* Skips one JSON value at *p (compact JSON as ingest writes it) up to the ',', ':', '}' or ']'
 * that follows it; 0 when the text ends first. */
static int skip_json(const char **p)
{
    const char *s = *p;
    int depth = 0;
    for (;;) {
        if (*s == '"') {
            for (s++; *s && *s != '"'; s++)
                if (*s == '\\' && s[1])
                    s++;
            if (!*s)
                return 0;
            s++;
        } else if (*s == '{' || *s == '[') {
            depth++;
            s++;
        } else if ((*s == '}' || *s == ']' || *s == ',' || *s == ':') && !depth) {
            break;
        } else if (*s == '}' || *s == ']') {
            depth--;
            s++;
        } else if (*s) {
            s++;
        } else {
            return 0;
        }
    }
    *p = s;
    return 1;
}

/* A time-period custom field with now = true: its JSON value with the member endDate null
 * ({"startDate":"2004-01","endDate":null}); v itself when it has no such member. NULL when the
 * arena is exhausted. */
static const char *without_end_date(struct eb_arena *a, const char *v)
{
    static const char key[] = "\"endDate\":";
    const char *s = v;
    if (*s++ != '{')
        return v;
    while (*s && *s != '}') {
        const char *member = s;
        if (*s != '"' || !skip_json(&s) || *s != ':')
            return v;
        s++;
        const char *value = s;
        if (!skip_json(&s))
            return v;
        if ((size_t)(value - member) == sizeof key - 1 && !memcmp(member, key, sizeof key - 1)) {
            size_t head = (size_t)(value - v), tail = strlen(s);
            char *out = eb_arena_alloc(a, head + 4 + tail + 1);
            if (!out)
                return NULL;
            memcpy(out, v, head);
            memcpy(out + head, "null", 4);
            memcpy(out + head + 4, s, tail + 1);
            return out;
        }
        if (*s == ',')
            s++;
    }
    return v;
}

/* One date field: the now rule, then the grammar; the value becomes its normalised text, or
 * NULL with a warning. */
static eb_rc tolerate_date(struct walk *w, const struct eb_type *t, const struct eb_field *f,
                           const char **v, int now)
{
    if (!*v)
        return EB_OK;
    if (now && !strcmp(f->xml, "endDate")) {
        *v = NULL; /* "when now=true ... just ignore endDate" */
        return EB_OK;
    }
    struct eb_date d;
    if (!**v || eb_date_parse(*v, strlen(*v), &d)) {
        eb_rc rc = **v ? warn(w, f->xml, *v, "not a date") : EB_OK;
        *v = NULL;
        return rc;
    }
    char text[EB_DATE_TEXT_MAX];
    size_t n = eb_date_format(&d, day_only(t, f), text);
    if (n != strlen(*v) || memcmp(text, *v, n)) {
        char *copy = eb_arena_strndup(w->arena, text, n);
        if (!copy)
            return EB_ERR_NOMEM;
        *v = copy;
    }
    return EB_OK;
}

static eb_rc tolerate(struct walk *w, const struct eb_type *t, char *rec, int depth)
{
    eb_rc rc = EB_OK;
    if (depth > 16)
        return EB_OK;
    int now = is_now(t, rec);
    for (size_t i = 0; !rc && i < t->n_fields; i++) {
        const struct eb_field *f = &t->fields[i];
        void *v = rec + f->offset;
        if (f->kind == EB_KIND_DATE) {
            rc = tolerate_date(w, t, f, (const char **)v, now);
        } else if (f->kind == EB_KIND_ANY && now && !strcmp(f->xml, "value") && *(const char **)v) {
            const char *nv = without_end_date(w->arena, *(const char **)v);
            if (!nv)
                return EB_ERR_NOMEM;
            *(const char **)v = nv;
        } else if (f->kind == EB_KIND_OBJ && *(char **)v) {
            size_t before = step(w, f->xml, 0);
            rc = tolerate(w, f->type, *(char **)v, depth + 1);
            unstep(w, before);
        } else if (f->kind == EB_KIND_ARR) {
            char *items = *(char **)v;
            size_t n = *(const size_t *)(rec + f->count_offset);
            size_t before = step(w, f->xml, 0);
            for (size_t k = 0; !rc && k < n; k++) {
                size_t at = step(w, NULL, k);
                rc = tolerate(w, f->type, items + k * f->type->size, depth + 1);
                unstep(w, at);
            }
            unstep(w, before);
        }
    }
    return rc;
}

eb_rc eb_validate_tolerate(struct eb_arena *arena, struct eb_push *p, struct eb_err *err)
{
    struct walk w = {p, arena, "data", 4};
    struct eb_candidate *c = p->data;
    eb_rc rc = EB_OK;
    struct eb_date d;
    char num[32];
    if (p->triggered_at && *p->triggered_at &&
        eb_date_parse(p->triggered_at, strlen(p->triggered_at), &d))
        rc = eb_push_warn(arena, p, "triggeredAt", p->triggered_at, "not a timestamp");
    if (!rc && c && c->birth_year.set && (c->birth_year.v < 1900 || c->birth_year.v > 2100)) {
        snprintf(num, sizeof num, "%lld", (long long)c->birth_year.v);
        c->birth_year.set = 0;
        rc = warn(&w, "birthYear", num, "out of range 1900-2100");
    }
    if (!rc && c && c->experience.set && c->experience.v < -1) {
        snprintf(num, sizeof num, "%lld", (long long)c->experience.v);
        c->experience.set = 0;
        rc = warn(&w, "experience", num, "must be -1 or more");
    }
    if (!rc && c)
        rc = tolerate(&w, &eb_type_candidate, (char *)c, 0);
    if (rc)
        return eb_err_set(err, rc, "out of memory reading the record");
    return EB_OK;
}

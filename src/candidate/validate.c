/* Validation of a mapped push (see validate.h). Dates are checked generically by walking the
 * schema descriptors, so every EB_KIND_DATE field of the contract is covered. */
#include "candidate/validate.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "candidate/schema.h"

#define MAX_ID_LEN 255

/* Reads 1..max digits at *p into *v; returns the number of digits read. */
static int digits(const char **p, int max, int *v)
{
    int n = 0;
    *v = 0;
    while (n < max && isdigit((unsigned char)**p)) {
        *v = *v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n;
}

static int valid_zone(const char *p)
{
    int h, m;
    if (*p == 'Z' || *p == 'z')
        return p[1] == '\0';
    if (*p != '+' && *p != '-')
        return 0;
    p++;
    if (digits(&p, 2, &h) != 2 || h > 23)
        return 0;
    if (*p == ':')
        p++;
    if (*p == '\0')
        return 1;
    return digits(&p, 2, &m) == 2 && m <= 59 && *p == '\0';
}

static int valid_time(const char *p)
{
    int h, m, s;
    if (!digits(&p, 2, &h) || h > 23 || *p++ != ':' || digits(&p, 2, &m) != 2 || m > 59)
        return 0;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &s) != 2 || s > 60)
            return 0;
        if (*p == '.' || *p == ',') {
            p++;
            int f, n = digits(&p, 9, &f);
            if (n == 0)
                return 0;
        }
    }
    return *p == '\0' || valid_zone(p);
}

int eb_validate_date(const char *s)
{
    const char *p = s;
    int y, mo, d;
    size_t len = strlen(s);
    if (len >= 9 && len <= 13 && strspn(s, "0123456789") == len)
        return 1; /* Unix seconds or milliseconds */
    if (digits(&p, 4, &y) != 4)
        return 0;
    if (*p == '\0')
        return 1;
    char sep = *p;
    if (sep != '-' && sep != '/' && sep != '.')
        return 0;
    p++;
    if (!digits(&p, 2, &mo) || mo < 1 || mo > 12)
        return 0;
    if (*p == '\0')
        return 1;
    if (*p++ != sep || !digits(&p, 2, &d) || d < 1 || d > 31)
        return 0;
    if (*p == '\0')
        return 1;
    if (*p == 'T' || *p == 't' || *p == ' ')
        return valid_time(p + 1);
    return valid_zone(p);
}

/* Appends ".name" (name != NULL) or "[i]" to the path; keeps it NUL-terminated within size. */
static size_t path_push(char *path, size_t len, size_t size, const char *name, size_t i)
{
    int n = name ? snprintf(path + len, size - len, ".%s", name)
                 : snprintf(path + len, size - len, "[%zu]", i);
    if (n < 0 || (size_t)n >= size - len)
        return size - 1;
    return len + (size_t)n;
}

/* Puts ".name" (name != NULL) or "[i]" in front of the path[0..*len) built so far; what does
 * not fit in size is cut from the end. */
static void path_prepend(char *path, size_t *len, size_t size, const char *name, size_t i)
{
    char step[128];
    size_t n = path_push(step, 0, sizeof step, name, i);
    if (n > size - 1)
        n = size - 1;
    size_t keep = *len > size - 1 - n ? size - 1 - n : *len;
    memmove(path + n, path, keep);
    memcpy(path, step, n);
    *len = n + keep;
    path[*len] = '\0';
}

/* Checks every date below rec. The path to the value ("data.educationInfo[3].startDate") is
 * only written once a malformed date is found: each frame of the recursion then adds its step
 * as it returns (steps are prepended), so valid records cost no formatting. */
static eb_rc check_dates(const struct eb_type *t, const void *rec, char *path, size_t *len,
                         size_t size, int depth)
{
    if (depth > 16)
        return EB_OK;
    const char *base = rec;
    for (size_t i = 0; i < t->n_fields; i++) {
        const struct eb_field *f = &t->fields[i];
        const void *v = base + f->offset;
        if (f->kind == EB_KIND_DATE) {
            const char *s = *(const char *const *)v;
            if (s && *s && !eb_validate_date(s)) {
                *len = path_push(path, 0, size, f->xml, 0);
                return EB_ERR_INVALID;
            }
        } else if (f->kind == EB_KIND_OBJ) {
            const void *child = *(const void *const *)v;
            if (child && check_dates(f->type, child, path, len, size, depth + 1)) {
                path_prepend(path, len, size, f->xml, 0);
                return EB_ERR_INVALID;
            }
        } else if (f->kind == EB_KIND_ARR) {
            const char *items = *(const char *const *)v;
            size_t n = *(const size_t *)(base + f->count_offset);
            for (size_t k = 0; k < n; k++) {
                if (check_dates(f->type, items + k * f->type->size, path, len, size, depth + 1)) {
                    path_prepend(path, len, size, NULL, k);
                    path_prepend(path, len, size, f->xml, 0);
                    return EB_ERR_INVALID;
                }
            }
        }
    }
    return EB_OK;
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
    if (p->triggered_at && *p->triggered_at && !eb_validate_date(p->triggered_at))
        return eb_err_set(err, EB_ERR_INVALID, "triggeredAt: malformed timestamp");
    const struct eb_candidate *c = p->data;
    if (!c)
        return eb_err_set(err, EB_ERR_INVALID, "data: missing");
    if (!c->application_id.set)
        return eb_err_set(err, EB_ERR_INVALID, "data.applicationId: missing");
    if (c->application_id.v <= 0)
        return eb_err_set(err, EB_ERR_INVALID, "data.applicationId: must be a positive number");
    if (c->birth_year.set && (c->birth_year.v < 1900 || c->birth_year.v > 2100))
        return eb_err_set(err, EB_ERR_INVALID, "data.birthYear: out of range 1900-2100");
    if (c->experience.set && c->experience.v < -1)
        return eb_err_set(err, EB_ERR_INVALID, "data.experience: must be -1 or more");
    char path[256] = "";
    size_t len = 0;
    if (check_dates(&eb_type_candidate, c, path, &len, sizeof path, 0))
        return eb_err_set(err, EB_ERR_INVALID, "data%s: malformed date", path);
    return EB_OK;
}

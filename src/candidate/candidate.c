/* Helpers over the domain model that walk the schema descriptors. */
#include "candidate/candidate.h"

#include <string.h>

#include "candidate/schema.h"
#include "util/arena.h"

void eb_candidate_init(const struct eb_type *type, void *record)
{
    char *base = record;
    for (size_t i = 0; i < type->n_fields; i++) {
        const struct eb_field *f = &type->fields[i];
        if (f->kind == EB_KIND_BOOL)
            *(int *)(base + f->offset) = EB_BOOL_UNSET;
    }
}

eb_rc eb_push_warn(struct eb_arena *arena, struct eb_push *p, const char *field, const char *value,
                   const char *reason)
{
    if (p->n_warnings == p->cap_warnings) {
        size_t cap = p->cap_warnings ? 2 * p->cap_warnings : 8;
        struct eb_warning *w = eb_arena_alloc(arena, cap * sizeof *w);
        if (!w)
            return EB_ERR_NOMEM;
        if (p->n_warnings)
            memcpy(w, p->warnings, p->n_warnings * sizeof *w);
        p->warnings = w;
        p->cap_warnings = cap;
    }
    int failed = 0;
    struct eb_warning *w = &p->warnings[p->n_warnings];
    w->field = eb_arena_strdup(arena, field, &failed);
    w->value = eb_arena_strdup(arena, value ? value : "", &failed);
    w->reason = eb_arena_strdup(arena, reason, &failed);
    if (failed)
        return EB_ERR_NOMEM;
    p->n_warnings++;
    return EB_OK;
}

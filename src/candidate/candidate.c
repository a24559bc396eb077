/* Helpers over the domain model that walk the schema descriptors. */
#include "candidate/candidate.h"

#include "candidate/schema.h"

void eb_candidate_init(const struct eb_type *type, void *record)
{
    char *base = record;
    for (size_t i = 0; i < type->n_fields; i++) {
        const struct eb_field *f = &type->fields[i];
        if (f->kind == EB_KIND_BOOL)
            *(int *)(base + f->offset) = EB_BOOL_UNSET;
    }
}

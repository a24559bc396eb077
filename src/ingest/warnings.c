/* The values ingest set aside (tolerance, ingest.h): reading them back from the result and
 * handing them to the push, whose adapter keeps them in push_warning. */
#include <string.h>

#include "candidate/candidate.h"
#include "ingest/ingest.h"

int eb_ingest_warning_next(const struct eb_ingest_result *r, size_t *off, const char **field,
                           const char **value, const char **reason)
{
    const struct eb_buf *w = &r->warnings;
    if (*off >= w->len)
        return 0;
    *field = w->data + *off;
    *value = *field + strlen(*field) + 1;
    *reason = *value + strlen(*value) + 1;
    *off = (size_t)(*reason + strlen(*reason) + 1 - w->data);
    return 1;
}

eb_rc eb_ingest_copy_warnings(const struct eb_ingest_result *r, struct eb_arena *arena,
                              struct eb_push *p)
{
    size_t off = 0;
    const char *field, *value, *reason;
    eb_rc rc = EB_OK;
    while (!rc && eb_ingest_warning_next(r, &off, &field, &value, &reason))
        rc = eb_push_warn(arena, p, field, value, reason);
    return rc;
}

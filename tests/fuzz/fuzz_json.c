/* libFuzzer harness of the REST mode: the input is a JSON request body, read as the service
 * reads it: eb_json_load, then a push converted to XML and canonicalized (eb_json_push_xml,
 * eb_ingest), or an interview event's data read field by field (eb_json_interview). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "candidate/interview.h"
#include "ingest/ingest.h"
#include "ingest/json.h"
#include "util/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct eb_arena *arena;
    struct eb_err err = {0};
    if (!arena) {
        eb_ingest_global_init();
        arena = eb_arena_new((size_t)64 << 20);
    }
    json_t *root = eb_json_load((const char *)data, size, "request body", NULL, &err);
    if (!root)
        return 0;
    struct eb_buf xml;
    eb_buf_init(&xml, eb_ingest_default_limits.max_output);
    if (eb_json_push_xml(root, &xml, &err) == EB_OK) {
        struct eb_ingest_result r;
        eb_ingest_result_init(&r, eb_ingest_default_limits.max_output);
        eb_ingest(xml.data, xml.len, NULL, &r, &err);
        eb_ingest_result_free(&r);
    }
    const json_t *d = json_is_object(root) ? json_object_get(root, "data") : NULL;
    if (d && json_is_object(d)) {
        struct eb_interview_event ev;
        memset(&ev, 0, sizeof ev);
        eb_json_interview(d, arena, &ev, &err);
        eb_arena_reset(arena);
    }
    eb_buf_free(&xml);
    json_decref(root);
    return 0;
}

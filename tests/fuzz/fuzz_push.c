/* libFuzzer harness over the whole request path short of the database:
 * ingest (raw body -> canonical document) -> bind (generated bindings) -> map -> validate. */
#include <stddef.h>
#include <stdint.h>

#include "bind/bind.h"
#include "candidate/map.h"
#include "candidate/validate.h"
#include "ingest/ingest.h"
#include "util/arena.h"

static struct eb_bind *bind_ctx;
static struct eb_arena *arena;

static void handler(void *user, const struct _ns1__pushCandidate *req, int *ok, const char **msg)
{
    struct eb_push p;
    struct eb_err err = {0};
    (void)user;
    *ok = eb_map_push(arena, req, 1, &p, &err) == EB_OK && eb_validate_push(&p, &err) == EB_OK;
    *msg = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!bind_ctx) {
        eb_ingest_global_init();
        bind_ctx = eb_bind_new();
        arena = eb_arena_new((size_t)64 << 20);
    }
    struct eb_ingest_result r;
    struct eb_ingest_opts opts = {eb_ingest_default_limits, NULL};
    struct eb_err err = {0};
    eb_ingest_result_init(&r, opts.limits.max_output);
    if (eb_ingest((const char *)data, size, &opts, &r, &err) == EB_OK) {
        struct eb_buf out;
        int fault = 0;
        eb_buf_init(&out, (size_t)16 << 20);
        eb_bind_serve(bind_ctx, eb_buf_cstr(&r.doc), handler, NULL, &out, &fault);
        eb_bind_end(bind_ctx);
        eb_buf_free(&out);
    }
    eb_arena_reset(arena);
    eb_ingest_result_free(&r);
    return 0;
}

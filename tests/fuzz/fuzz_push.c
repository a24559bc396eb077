/* libFuzzer harness over the whole request path short of the database:
 * ingest (raw body -> canonical document) -> bind (generated bindings) -> map -> validate.
 * A body that declares no encoding is also ingested in UTF-16: the answer and the canonical
 * payload must be those of its UTF-8 form (every limit holds in every encoding). */
#define _GNU_SOURCE /* memmem */
#include <iconv.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* The UTF-16 (little-endian, with a byte order mark) form of body; NULL when body is not UTF-8. */
static char *utf16(const uint8_t *body, size_t len, size_t *out_len)
{
    iconv_t cd = iconv_open("UTF-16", "UTF-8");
    size_t cap = 4 * len + 4, left = cap;
    char *out = malloc(cap), *w = out, *in = (char *)body;
    size_t in_left = len;
    if (cd == (iconv_t)-1 || !out || iconv(cd, &in, &in_left, &w, &left) == (size_t)-1) {
        free(out);
        out = NULL;
    }
    if (cd != (iconv_t)-1)
        iconv_close(cd);
    *out_len = cap - left;
    return out;
}

/* Ingests body in UTF-16 and checks it gives rc and, on EB_OK, the payload of r. */
static void same_in_utf16(const uint8_t *body, size_t len, eb_rc rc,
                          const struct eb_ingest_result *r)
{
    size_t n = 0;
    char *b16 = len < 4096 && !memmem(body, len, "encoding", 8) ? utf16(body, len, &n) : NULL;
    if (!b16)
        return;
    struct eb_ingest_result r16;
    struct eb_err err = {0};
    eb_ingest_result_init(&r16, eb_ingest_default_limits.max_output);
    eb_rc rc16 = eb_ingest(b16, n, NULL, &r16, &err);
    if (rc16 != rc || (rc == EB_OK && (r16.canon_len != r->canon_len ||
                                       memcmp(r16.doc.data + r16.canon_off,
                                              r->doc.data + r->canon_off, r->canon_len))))
        abort();
    eb_ingest_result_free(&r16);
    free(b16);
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
    eb_rc rc = eb_ingest((const char *)data, size, &opts, &r, &err);
    same_in_utf16(data, size, rc, &r);
    if (rc == EB_OK) {
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

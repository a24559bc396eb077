/* libFuzzer harness of the HTTP framing (transport/frame.c, http.c): the input is the bytes a
 * client sends on one connection (request lines, headers, bodies by length or chunked,
 * pipelined requests), fed in pieces whose sizes the first byte varies. Every complete request
 * is read the way the service reads it (headers, the sign query parameter). */
#include <stddef.h>
#include <stdint.h>

#include "transport/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eb_frame f;
    size_t step = size ? (size_t)data[0] % 64 + 1 : 1, off = size ? 1 : 0;
    char sign[80];
    eb_frame_init(&f, 4096, 65536);
    while (off < size) {
        size_t n = size - off < step ? size - off : step, used = 0;
        enum eb_frame_status st = eb_frame_feed(&f, (const char *)data + off, n, &used);
        off += used;
        if (st == EB_FRAME_ERROR)
            break;
        if (st == EB_FRAME_REQUEST) {
            const struct eb_http_request *req = eb_frame_request(&f);
            (void)eb_http_header(req, "Content-Type");
            (void)eb_http_query_param(req->query, "sign", sign, sizeof sign);
            eb_frame_next(&f);
        } else if (!used) {
            break;
        }
    }
    eb_frame_free(&f);
    return 0;
}

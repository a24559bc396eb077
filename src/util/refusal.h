/* The only trace kept of a request refused by authentication (Bearer, Basic, the vendor's
 * signature) or by the allow list: one log line with the time, the source address, the path, the
 * declared size and the reason; never the body, a header value, the query or a secret. Bounded
 * per line (every field has a fixed maximum: under 512 bytes a line) and in total (a token bucket
 * shared by the whole process: EB_REFUSAL_BURST lines at once, then one per
 * EB_REFUSAL_INTERVAL_MS; the refusals not written are counted, and the next line written says
 * how many as suppressed=N). The counter ehrbridge_requests_refused_total counts every one. */
#ifndef EB_REFUSAL_H
#define EB_REFUSAL_H

#include <stdint.h>

#define EB_REFUSAL_BURST       10    /* lines written at once after a quiet time */
#define EB_REFUSAL_INTERVAL_MS 10000 /* then one line per this many milliseconds */
#define EB_REFUSAL_PATH_MAX    64    /* bytes of the path written (then "...") */

/* What is written of a refused request. Strings may be NULL. */
struct eb_refusal {
    int status;                 /* 401 (credentials) or 403 (allow list) */
    const char *reason;         /* which check failed: static text, no secret */
    const char *peer;           /* the direct peer's address */
    const char *client;         /* the address the allow list judged ("" or NULL: none) */
    const char *path;           /* the request's path, without the query */
    const char *content_length; /* the Content-Length header as sent; NULL when absent */
    int chunked;                /* 1 when the body was announced chunked (no size declared) */
};

/* Writes the line for r (level warn, "request refused") unless the bucket is empty at now_ms
 * (eb_mono_ms(); callers pass it so that tests can drive the clock). Returns 1 when the line was
 * written, 0 when it was counted as suppressed. The path is cut to EB_REFUSAL_PATH_MAX bytes and
 * every byte outside printable ASCII, '"' and '\' is written as '?'; a Content-Length that is
 * not a number of at most 19 digits is written as "invalid". Thread-safe. */
int eb_refusal_log(const struct eb_refusal *r, int64_t now_ms);

#endif

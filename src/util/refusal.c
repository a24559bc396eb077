/* The rate-limited log line of refused requests (refusal.h): a token bucket under a mutex, and
 * the fields cut to their bounds before eb_log sees them. */
#include "util/refusal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int started;         /* the bucket has been filled once */
static unsigned tokens;     /* lines that may be written now */
static int64_t refilled_at; /* when the last token was added (or the bucket started) */
static uint64_t suppressed; /* refusals not written since the last line */

/* Takes a token at now_ms: 1 and *skipped (the refusals suppressed before this one), or 0. */
static int take(int64_t now_ms, uint64_t *skipped)
{
    int ok = 0;
    pthread_mutex_lock(&mu);
    if (!started) {
        started = 1;
        tokens = EB_REFUSAL_BURST;
        refilled_at = now_ms;
    } else if (now_ms > refilled_at) {
        int64_t add = (now_ms - refilled_at) / EB_REFUSAL_INTERVAL_MS;
        if (add >= (int64_t)(EB_REFUSAL_BURST - tokens)) {
            tokens = EB_REFUSAL_BURST;
            refilled_at = now_ms;
        } else if (add > 0) {
            tokens += (unsigned)add;
            refilled_at += add * EB_REFUSAL_INTERVAL_MS;
        }
    }
    if (tokens) {
        tokens--;
        *skipped = suppressed;
        suppressed = 0;
        ok = 1;
    } else {
        suppressed++;
    }
    pthread_mutex_unlock(&mu);
    return ok;
}

int eb_refusal_log(const struct eb_refusal *r, int64_t now_ms)
{
    uint64_t skipped = 0;
    if (!take(now_ms, &skipped))
        return 0;
    char path[EB_REFUSAL_PATH_MAX + 4], size[24], status[8], sup[24], reason[96], peer[64],
        client[64];
    const char *p = r->path ? r->path : "";
    size_t n = 0;
    for (; p[n] && n < EB_REFUSAL_PATH_MAX; n++) {
        unsigned char c = (unsigned char)p[n];
        path[n] = c > 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
    }
    snprintf(path + n, sizeof path - n, "%s", p[n] ? "..." : "");
    const char *cl = r->content_length;
    size_t digits = cl ? strspn(cl, "0123456789") : 0;
    if (cl)
        snprintf(size, sizeof size, "%s", digits && digits <= 19 && !cl[digits] ? cl : "invalid");
    else
        snprintf(size, sizeof size, "%s", r->chunked ? "chunked" : "none");
    /* the others come from ehrbridge itself (the reason, addresses as text): cut all the same */
    snprintf(reason, sizeof reason, "%s", r->reason ? r->reason : "-");
    snprintf(peer, sizeof peer, "%s", r->peer ? r->peer : "-");
    snprintf(client, sizeof client, "%s", r->client && r->client[0] ? r->client : "-");
    snprintf(status, sizeof status, "%d", r->status);
    snprintf(sup, sizeof sup, "%llu", (unsigned long long)skipped);
    eb_log(EB_LOG_WARN, "request refused", "status", status, "reason", reason, "peer", peer,
           "client", client, "path", path, "declared_size", size, "suppressed",
           skipped ? sup : NULL, NULL);
    return 1;
}

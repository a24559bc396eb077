/* The archive's timing and logging rules (see policy.h). */
#include "archive/policy.h"

#include <stdio.h>
#include <string.h>

int64_t eb_archive_backoff_ms(int64_t now_ms, int attempt)
{
    int64_t d = 10 * 1000;
    for (int i = 1; i < attempt && d < 30 * 60 * 1000; i++)
        d *= 2;
    if (d > 30 * 60 * 1000)
        d = 30 * 60 * 1000;
    return now_ms + d;
}

void eb_archive_url_safe(const char *url, char *out, size_t n)
{
    if (!n)
        return;
    size_t len = strcspn(url, "?#");
    const char *sep = strstr(url, "://");
    const char *at = NULL;
    if (sep && (size_t)(sep - url) < len) {
        const char *host = sep + 3;
        size_t hl = strcspn(host, "/?#");
        const char *a = memchr(host, '@', hl);
        while (a) { /* the last '@' of the authority ends the user info */
            at = a;
            a = memchr(a + 1, '@', hl - (size_t)(a + 1 - host));
        }
    }
    if (at)
        snprintf(out, n, "%.*s%.*s", (int)(sep + 3 - url), url, (int)(len - (size_t)(at + 1 - url)),
                 at + 1);
    else
        snprintf(out, n, "%.*s", (int)len, url);
}

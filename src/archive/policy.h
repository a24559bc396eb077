/* The archive's rules, kept apart from the fetching so that they can be tested alone: which
 * URLs may be fetched (util/url_allow.h, --fetch-allow), which addresses a name may resolve to,
 * when to try again, and how a URL is shown in logs. */
#ifndef EB_ARCHIVE_POLICY_H
#define EB_ARCHIVE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "util/url_allow.h"

/* The next try after a failed attempt number `attempt` (1, 2, ...): now + 10 s x 2^(attempt-1),
 * at most 30 minutes later. */
int64_t eb_archive_backoff_ms(int64_t now_ms, int attempt);

/* Writes url into out (n bytes) without its query, fragment and user info: what logs and error
 * messages show of a link (the query carries the signature). */
void eb_archive_url_safe(const char *url, char *out, size_t n);

#endif

/* The archive's rules, kept apart from the fetching so that they can be tested alone: which
 * URLs may be fetched (--fetch-allow), which addresses a name may resolve to, when to try again,
 * and how a URL is shown in logs. */
#ifndef EB_ARCHIVE_POLICY_H
#define EB_ARCHIVE_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/err.h"

#define EB_ARCHIVE_DEFAULT_ALLOW "https://*.mokahr.com,https://*.aliyuncs.com"
#define EB_ARCHIVE_MAX_PATTERNS  64

/* One pattern of --fetch-allow: scheme://host[:port], host either a name or address written
 * out (literal) or "*.domain" (any name under domain, not domain itself). */
struct eb_allow_pattern {
    char scheme[8]; /* "http" or "https" */
    char host[256]; /* lower case; without "*." when wildcard; IPv6 without brackets */
    int wildcard;   /* 1: "*.host" */
    int port;       /* the pattern's port, or the scheme's default */
};

struct eb_allow_list {
    struct eb_allow_pattern p[EB_ARCHIVE_MAX_PATTERNS];
    size_t n;
};

/* Parses a comma-separated list of patterns into *out. EB_ERR_CONFIG with a message naming the
 * bad pattern (a path, a query, user info, an unknown scheme, "*" alone, a bad port). */
eb_rc eb_allow_parse(const char *text, struct eb_allow_list *out, struct eb_err *err);

/* How a URL matches the list. */
enum eb_allow_match {
    EB_ALLOW_NONE = 0, /* no pattern matches (or the URL cannot be read): refuse */
    EB_ALLOW_WILDCARD, /* only through a "*." pattern: the host must resolve to public addresses */
    EB_ALLOW_LITERAL   /* a pattern names this host itself: any address it resolves to is fine */
};

/* Matches url (scheme, host and port, compared case-insensitively; a host written as an IP
 * address only matches a pattern that writes the same address). When host/port are not NULL
 * they receive the URL's host (lower case, no brackets; hostn bytes) and port. */
enum eb_allow_match eb_allow_match_url(const struct eb_allow_list *l, const char *url, char *host,
                                       size_t hostn, int *port);

/* 1 when an address is one a fetch may reach through a wildcard pattern: not loopback, private
 * (RFC 1918, unique local fc00::/7, 100.64/10 shared), link-local, unspecified, multicast,
 * broadcast or reserved; IPv4-mapped IPv6 addresses are judged as IPv4. */
int eb_addr_is_public(const struct sockaddr *sa);

/* The next try after a failed attempt number `attempt` (1, 2, ...): now + 10 s x 2^(attempt-1),
 * at most 30 minutes later. */
int64_t eb_archive_backoff_ms(int64_t now_ms, int attempt);

/* Writes url into out (n bytes) without its query, fragment and user info: what logs and error
 * messages show of a link (the query carries the signature). */
void eb_archive_url_safe(const char *url, char *out, size_t n);

#endif

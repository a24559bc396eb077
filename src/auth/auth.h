/* Authentication of pushes on the raw request, before anything is parsed: the source-address
 * allow list (with X-Forwarded-For from trusted proxies), and the credentials the operator
 * configures: Authorization: Bearer <token>, the vendor's signature (HMAC-SHA256 hex of the raw
 * body with the signing key, in ?sign= or as the Bearer value) and HTTP Basic. Every secret is
 * compared in constant time. A client certificate (mTLS) is checked earlier, by the TLS
 * handshake (transport/tls.c).
 *
 * Semantics when several are configured: the allow list (when set) must pass, else 403; then,
 * when any credential method is configured, at least ONE of them must pass, else 401. A request
 * with more than one Authorization header is refused (401) whatever they hold. */
#ifndef EB_AUTH_H
#define EB_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "transport/http.h"
#include "util/err.h"

/* One address range. */
struct eb_cidr {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network address (4 bytes used for IPv4), host bits zero */
    unsigned prefix;        /* prefix length: 0-32 or 0-128 */
};

/* Parses a list of ranges separated by commas and/or blanks: "10.0.0.0/8, 192.0.2.7,
 * 2001:db8::/32" (a bare address is /32 or /128; host bits must be zero). Writes at most max
 * entries to out (out NULL: only validates). Returns the number of ranges (0 for an empty list),
 * or -1 with a one-line reason in why (whysz bytes). */
int eb_auth_cidrs_parse(const char *text, struct eb_cidr *out, size_t max, char *why, size_t whysz);

/* Writes c as text into out (n bytes): "192.0.2.0/24", "2001:db8::/32", or the bare address
 * when the range is one address ("192.0.2.7"). */
void eb_auth_cidr_text(const struct eb_cidr *c, char *out, size_t n);

/* 1 when the textual address addr (IPv4 or IPv6; "::ffff:a.b.c.d" counts as a.b.c.d) is inside
 * one of the n ranges; 0 otherwise, also when addr is not an address. */
int eb_auth_cidr_match(const struct eb_cidr *cidrs, size_t n, const char *addr);

/* HMAC-SHA256 of data[0..len) keyed with key[0..keylen), as 64 lower-case hex digits and a NUL
 * in out. The vendor's signature. */
void eb_auth_hmac_hex(const char *key, size_t keylen, const char *data, size_t len, char out[65]);

/* Constant-time equality of a[0..alen) and b[0..blen): both are hashed (SHA-256) and the
 * digests compared with CRYPTO_memcmp, so neither the content nor the length of the secret
 * shows in the timing. Every secret comparison of this module goes through it. */
int eb_auth_equal(const void *a, size_t alen, const void *b, size_t blen);

/* How many times eb_auth_equal() has run in this process (for tests that check that a
 * credential was compared in constant time). */
unsigned long eb_auth_compare_count(void);

struct eb_auth;

/* Builds the checker from cfg (allow, trusted_proxy, bearer_token, sign_key, basic_user,
 * basic_password). Caller frees with eb_auth_free(), which wipes the secrets. EB_ERR_CONFIG
 * for a bad address list, EB_ERR_NOMEM. */
eb_rc eb_auth_new(const struct eb_config *cfg, struct eb_auth **out, struct eb_err *err);
void eb_auth_free(struct eb_auth *a);

/* 1 when an allow list is configured; 1 when at least one credential method is. */
int eb_auth_has_allow_list(const struct eb_auth *a);
int eb_auth_has_credentials(const struct eb_auth *a);

/* The value(s) for WWW-Authenticate in a 401 answer ("Bearer realm=\"ehrbridge\", Basic
 * realm=\"ehrbridge\", charset=\"UTF-8\""), or NULL when no challenge applies. Lives as long
 * as a. */
const char *eb_auth_challenge(const struct eb_auth *a);

enum eb_auth_verdict {
    EB_AUTH_PASS = 0, /* go on */
    EB_AUTH_DENY_401, /* no or wrong credentials */
    EB_AUTH_DENY_403, /* the source address is not allowed */
    EB_AUTH_NEED_BODY /* eb_auth_check_head() only: no credential in the headers passed, but a
                          signature of the body was offered: eb_auth_check_push() decides once
                          the body is in */
};

struct eb_auth_result {
    enum eb_auth_verdict verdict; /* what to do */
    const char *method;           /* the credential that passed: "bearer", "signature",
                                     "signature-bearer", "basic"; "none" when none is configured;
                                     NULL when denied */
    const char *reason;           /* denied: why, for the log (static text, no secret) */
    char client[64];              /* the client address the allow list judged (peer or from
                                     X-Forwarded-For); "" when no allow list */
};

/* The client address of req: the direct peer, unless the peer is a trusted proxy; then the
 * X-Forwarded-For entries (all such headers, in order) are read right to left and the first one
 * that is not a trusted proxy is the client (all trusted: the left-most). Writes it into out;
 * returns 0, or -1 when an entry that had to be read is not an address (out then holds "?"). */
int eb_auth_client_address(const struct eb_auth *a, const struct eb_http_request *req, char *out,
                           size_t outsz);

/* Checks the allow list only (every route but the health checks). */
void eb_auth_check_address(const struct eb_auth *a, const struct eb_http_request *req,
                           struct eb_auth_result *res);

/* Checks a push on its headers alone, before any byte of its body is read: the allow list,
 * then the credentials carried in headers (Bearer token, Basic). PASS when the allow list and
 * one of them pass (or no credential is configured): the push is authenticated, nothing more
 * to check. DENY_403 / DENY_401 as eb_auth_check_push() would answer whatever the body.
 * NEED_BODY when only the vendor's signature can still pass: ?sign= is given, or a Bearer value
 * of 64 characters with a signing key configured. Which of these it answers depends on the
 * request and the configuration, never on a secret (comparisons in constant time). */
void eb_auth_check_head(const struct eb_auth *a, const struct eb_http_request *req,
                        struct eb_auth_result *res);

/* Checks a push: the allow list, then the credentials, on the raw request (headers, query and
 * the raw body for the signature). Nothing is parsed beyond the Authorization header and the
 * sign query parameter. */
void eb_auth_check_push(const struct eb_auth *a, const struct eb_http_request *req,
                        struct eb_auth_result *res);

/* The time a triggeredAt names, in Unix milliseconds, as the date grammar reads it
 * (util/date.h: Unix seconds (10 digits), Unix milliseconds (13 digits), ISO 8601 and the
 * vendor's other forms; a time without zone is in the EHR's time zone, --timezone). 0 on
 * success, -1 when the grammar does not read the text. */
int eb_auth_timestamp_ms(const char *text, int64_t *ms);

/* The replay window (--max-age): 0 when triggered_at lies within max_age_s seconds of now_ms,
 * before or after (a clock ahead by more than the window is refused too); otherwise -1 and a
 * message for the client and the push log in msg: "triggeredAt: missing (required by
 * --max-age)", "triggeredAt: not a timestamp", "triggeredAt: older than N s (--max-age)",
 * "triggeredAt: more than N s in the future (--max-age)". */
int eb_auth_check_age(const char *triggered_at, int max_age_s, int64_t now_ms, char *msg,
                      size_t msgsz);

#endif

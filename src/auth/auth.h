/* Authentication of pushes on the raw request, before anything is parsed: the source-address
 * allow list (with X-Forwarded-For from trusted proxies), and the credentials the operator
 * configures: Authorization: Bearer <token>, the vendor's signature (HMAC-SHA256 hex of the raw
 * body with the signing key, in ?sign= or as the Bearer value) and HTTP Basic. Every secret is
 * compared in constant time. A client certificate (mTLS) is checked earlier, by the TLS
 * handshake (transport/tls.c).
 *
 * Semantics when several are configured: the allow list (when set) must pass, else 403; then,
 * when any credential method is configured, at least ONE of them must pass, else 401. A request
 * with more than one Authorization header is refused (401) whatever they hold.
 *
 * Every call that can fail answers in the house convention: an eb_rc, and the reason in the
 * struct eb_err it is given (NULL-safe). */
#ifndef EB_AUTH_H
#define EB_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "transport/http.h"
#include "util/cidr.h"
#include "util/err.h"

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
    char client[64];              /* the client address the allow list judged (peer or from
                                     X-Forwarded-For); "" when no allow list */
};

/* The client address of req: the direct peer, unless the peer is a trusted proxy; then the
 * X-Forwarded-For entries (all such headers, in order) are read right to left and the first one
 * that is not a trusted proxy is the client (all trusted: the left-most). Writes it into out;
 * EB_ERR_INVALID when an entry that had to be read is not an address (out then holds "?"). */
eb_rc eb_auth_client_address(const struct eb_auth *a, const struct eb_http_request *req, char *out,
                             size_t outsz, struct eb_err *err);

/* The checks below fill res (verdict, method, client) and answer EB_OK when the verdict is
 * EB_AUTH_PASS or EB_AUTH_NEED_BODY, EB_ERR_AUTH when it denies (DENY_401 / DENY_403), with
 * the reason for the log in err (static text, never a secret). */

/* Checks the allow list only (every route but the health checks). */
eb_rc eb_auth_check_address(const struct eb_auth *a, const struct eb_http_request *req,
                            struct eb_auth_result *res, struct eb_err *err);

/* Checks a push on its headers alone, before any byte of its body is read: the allow list,
 * then the credentials carried in headers (Bearer token, Basic). PASS when the allow list and
 * one of them pass (or no credential is configured): the push is authenticated, nothing more
 * to check. DENY_403 / DENY_401 as eb_auth_check_push() would answer whatever the body.
 * NEED_BODY when only the vendor's signature can still pass: ?sign= is given, or a Bearer value
 * of 64 characters with a signing key configured. Which of these it answers depends on the
 * request and the configuration, never on a secret (comparisons in constant time). */
eb_rc eb_auth_check_head(const struct eb_auth *a, const struct eb_http_request *req,
                         struct eb_auth_result *res, struct eb_err *err);

/* Checks a push: the allow list, then the credentials, on the raw request (headers, query and
 * the raw body for the signature). Nothing is parsed beyond the Authorization header and the
 * sign query parameter. */
eb_rc eb_auth_check_push(const struct eb_auth *a, const struct eb_http_request *req,
                         struct eb_auth_result *res, struct eb_err *err);

/* The time a triggeredAt names, in Unix milliseconds, as the date grammar reads it
 * (util/date.h: Unix seconds (10 digits), Unix milliseconds (13 digits), ISO 8601 and the
 * vendor's other forms; a time without zone is in the EHR's time zone, --timezone).
 * EB_ERR_INVALID ("not a timestamp") when the grammar does not read the text. */
eb_rc eb_auth_timestamp_ms(const char *text, int64_t *ms, struct eb_err *err);

/* The replay window (--max-age): EB_OK when triggered_at lies within max_age_s seconds of
 * now_ms, before or after (a clock ahead by more than the window is refused too), or when
 * max_age_s is 0; otherwise EB_ERR_INVALID and a message for the client and the push log in
 * err: "triggeredAt: missing (required by --max-age)", "triggeredAt: not a timestamp",
 * "triggeredAt: older than N s (--max-age)", "triggeredAt: more than N s in the future
 * (--max-age)". */
eb_rc eb_auth_check_age(const char *triggered_at, int max_age_s, int64_t now_ms,
                        struct eb_err *err);

#endif

/* Authentication of pushes (see auth.h): address ranges and X-Forwarded-For, Bearer tokens, the
 * vendor's HMAC-SHA256 signature, HTTP Basic. Secrets are kept in memory only as long as the
 * checker lives, wiped when it is freed, never logged, and compared only through
 * eb_auth_equal() (SHA-256 of both sides, then CRYPTO_memcmp). */
#include "auth/auth.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "util/date.h"

#define MAX_RANGES 256  /* ranges of one list */
#define MAX_XFF    4096 /* bytes of X-Forwarded-For considered */
#define SIGN_HEX   64   /* hex digits of an HMAC-SHA256 */

struct eb_auth {
    struct eb_cidr *allow; /* the allow list; NULL when none */
    size_t n_allow;
    struct eb_cidr *proxies; /* trusted proxies */
    size_t n_proxies;
    char *bearer; /* the Bearer token; NULL when none */
    size_t bearer_len;
    char *sign_key; /* the signing key; NULL when none */
    size_t sign_key_len;
    char *basic_user; /* HTTP Basic; NULL when none */
    size_t basic_user_len;
    char *basic_password;
    size_t basic_password_len;
    char challenge[128]; /* WWW-Authenticate; "" when none */
};

static atomic_ulong compares;

/* ---- ranges ---- */

static void set_why(char *why, size_t whysz, const char *what, const char *item)
{
    if (why && whysz)
        snprintf(why, whysz, "%s: \"%.60s\"", what, item);
}

/* Parses one "ADDR" or "ADDR/PREFIX" (item is NUL-terminated, at most 63 bytes). */
static int parse_range(const char *item, struct eb_cidr *c, char *why, size_t whysz)
{
    char addr[64];
    const char *slash = strchr(item, '/');
    size_t alen = slash ? (size_t)(slash - item) : strlen(item);
    if (alen == 0 || alen >= sizeof addr) {
        set_why(why, whysz, "not an address range", item);
        return -1;
    }
    memcpy(addr, item, alen);
    addr[alen] = '\0';
    memset(c, 0, sizeof *c);
    unsigned max;
    if (inet_pton(AF_INET, addr, c->addr) == 1) {
        c->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
        c->family = AF_INET6;
        max = 128;
    } else {
        set_why(why, whysz, "not an IPv4 or IPv6 address", item);
        return -1;
    }
    c->prefix = max;
    if (slash) {
        const char *p = slash + 1;
        size_t d = strspn(p, "0123456789");
        if (!d || d > 3 || p[d] || (unsigned)atoi(p) > max) {
            set_why(why, whysz, "bad prefix length", item);
            return -1;
        }
        c->prefix = (unsigned)atoi(p);
    }
    /* Client addresses are judged in their IPv4 form, so an IPv4-mapped range
     * (::ffff:0:0/96) is kept as the IPv4 range it names; written as IPv6 it would match no one.
     * A shorter prefix reaches past the mapped block and has no IPv4 form. */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (c->family == AF_INET6 && !memcmp(c->addr, mapped, sizeof mapped)) {
        if (c->prefix < 96) {
            set_why(why, whysz, "IPv4-mapped range with a prefix under 96 (write it as IPv4)",
                    item);
            return -1;
        }
        memmove(c->addr, c->addr + 12, 4);
        memset(c->addr + 4, 0, 12);
        c->family = AF_INET;
        c->prefix -= 96;
        max = 32;
    }
    for (unsigned bit = c->prefix; bit < max; bit++) {
        if (c->addr[bit / 8] & (0x80u >> (bit % 8))) {
            set_why(why, whysz, "host bits set (write the network address)", item);
            return -1;
        }
    }
    return 0;
}

int eb_auth_cidrs_parse(const char *text, struct eb_cidr *out, size_t max, char *why, size_t whysz)
{
    size_t n = 0;
    const char *p = text ? text : "";
    for (;;) {
        p += strspn(p, ", \t");
        if (!*p)
            break;
        size_t len = strcspn(p, ", \t");
        char item[64];
        struct eb_cidr c;
        if (len >= sizeof item) {
            set_why(why, whysz, "not an address range", p);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (parse_range(item, &c, why, whysz))
            return -1;
        if (n >= MAX_RANGES) {
            set_why(why, whysz, "more than 256 address ranges at", p);
            return -1;
        }
        if (out && n < max)
            out[n] = c;
        n++;
        p += len;
    }
    return (int)n;
}

void eb_auth_cidr_text(const struct eb_cidr *c, char *out, size_t n)
{
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned max = c->family == AF_INET ? 32 : 128;
    inet_ntop(c->family, c->addr, addr, sizeof addr);
    if (c->prefix == max)
        snprintf(out, n, "%s", addr);
    else
        snprintf(out, n, "%s/%u", addr, c->prefix);
}

/* Parses a textual address into family and 16 bytes; IPv4-mapped IPv6 becomes IPv4. */
static int parse_addr(const char *s, int *family, unsigned char a[16])
{
    char buf[64];
    size_t n = strlen(s);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, s, n + 1);
    if (buf[0] == '[' && n > 2 && buf[n - 1] == ']') { /* "[v6]" */
        memmove(buf, buf + 1, n - 2);
        buf[n - 2] = '\0';
    }
    char *pct = strchr(buf, '%'); /* a zone id ("fe80::1%eth0") is not part of the address */
    if (pct)
        *pct = '\0';
    memset(a, 0, 16);
    if (inet_pton(AF_INET, buf, a) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!memcmp(a, mapped, sizeof mapped)) {
            memmove(a, a + 12, 4);
            memset(a + 4, 0, 12);
            *family = AF_INET;
        } else {
            *family = AF_INET6;
        }
        return 0;
    }
    return -1;
}

static int in_range(const struct eb_cidr *c, int family, const unsigned char a[16])
{
    if (c->family != family)
        return 0;
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->addr, a, full))
        return 0;
    if (rest) {
        unsigned char mask = (unsigned char)(0xffu << (8 - rest));
        if ((c->addr[full] & mask) != (a[full] & mask))
            return 0;
    }
    return 1;
}

int eb_auth_cidr_match(const struct eb_cidr *cidrs, size_t n, const char *addr)
{
    int family;
    unsigned char a[16];
    if (!addr || parse_addr(addr, &family, a))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (in_range(&cidrs[i], family, a))
            return 1;
    return 0;
}

/* ---- secrets ---- */

void eb_auth_hmac_hex(const char *key, size_t keylen, const char *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, len, mac, &maclen) ||
        maclen != 32) {
        memset(out, 0, 65); /* never equal to a 64-digit signature */
        return;
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = '\0';
    OPENSSL_cleanse(mac, sizeof mac);
}

int eb_auth_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
    atomic_fetch_add(&compares, 1);
    SHA256(a ? a : "", alen, da);
    SHA256(b ? b : "", blen, db);
    return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

unsigned long eb_auth_compare_count(void)
{
    return atomic_load(&compares);
}

static char *dup_secret(const char *s, size_t *len)
{
    *len = strlen(s);
    char *d = malloc(*len + 1);
    if (d)
        memcpy(d, s, *len + 1);
    return d;
}

static void free_secret(char *s, size_t len)
{
    if (s) {
        OPENSSL_cleanse(s, len);
        free(s);
    }
}

/* ---- the checker ---- */

static eb_rc load_ranges(const char *text, const char *what, struct eb_cidr **out, size_t *n,
                         struct eb_err *err)
{
    char why[160];
    int k = eb_auth_cidrs_parse(text, NULL, 0, why, sizeof why);
    *out = NULL;
    *n = 0;
    if (k < 0)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: %s", what, why);
    if (k == 0)
        return EB_OK;
    *out = calloc((size_t)k, sizeof **out);
    if (!*out)
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    *n = (size_t)eb_auth_cidrs_parse(text, *out, (size_t)k, why, sizeof why);
    return EB_OK;
}

eb_rc eb_auth_new(const struct eb_config *cfg, struct eb_auth **out, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct eb_auth *a = calloc(1, sizeof *a);
    *out = NULL;
    if (!a)
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    if ((rc = load_ranges(cfg->allow, "allow", &a->allow, &a->n_allow, err)) ||
        (rc = load_ranges(cfg->trusted_proxy, "trusted_proxy", &a->proxies, &a->n_proxies, err)))
        goto out;
    if ((cfg->bearer_token[0] && !(a->bearer = dup_secret(cfg->bearer_token, &a->bearer_len))) ||
        (cfg->sign_key[0] && !(a->sign_key = dup_secret(cfg->sign_key, &a->sign_key_len))) ||
        (cfg->basic_user[0] &&
         (!(a->basic_user = dup_secret(cfg->basic_user, &a->basic_user_len)) ||
          !(a->basic_password = dup_secret(cfg->basic_password, &a->basic_password_len))))) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Bearer covers both the token and the signature given as Bearer (the vendor's SOAP mode). */
    snprintf(a->challenge, sizeof a->challenge, "%s%s%s",
             a->bearer || a->sign_key ? "Bearer realm=\"ehrbridge\"" : "",
             (a->bearer || a->sign_key) && a->basic_user ? ", " : "",
             a->basic_user ? "Basic realm=\"ehrbridge\", charset=\"UTF-8\"" : "");
out:
    if (rc)
        eb_auth_free(a);
    else
        *out = a;
    return rc;
}

void eb_auth_free(struct eb_auth *a)
{
    if (!a)
        return;
    free(a->allow);
    free(a->proxies);
    free_secret(a->bearer, a->bearer_len);
    free_secret(a->sign_key, a->sign_key_len);
    free_secret(a->basic_user, a->basic_user_len);
    free_secret(a->basic_password, a->basic_password_len);
    free(a);
}

int eb_auth_has_allow_list(const struct eb_auth *a)
{
    return a && a->n_allow > 0;
}

int eb_auth_has_credentials(const struct eb_auth *a)
{
    return a && (a->bearer || a->sign_key || a->basic_user);
}

const char *eb_auth_challenge(const struct eb_auth *a)
{
    return a && a->challenge[0] ? a->challenge : NULL;
}

/* Trims blanks around s[0..*n). */
static const char *trim(const char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

int eb_auth_client_address(const struct eb_auth *a, const struct eb_http_request *req, char *out,
                           size_t outsz)
{
    const char *peer = req->peer ? req->peer : "";
    snprintf(out, outsz, "%s", peer);
    if (!a || !a->n_proxies || !eb_auth_cidr_match(a->proxies, a->n_proxies, peer))
        return 0;
    /* All X-Forwarded-For headers, joined in order, read right to left. */
    char xff[MAX_XFF];
    size_t len = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, "X-Forwarded-For") != 0)
            continue;
        const char *v = req->headers[i].value;
        size_t vn = strlen(v);
        if (len + vn + 2 > sizeof xff) { /* too long to judge: the request is refused */
            snprintf(out, outsz, "?");
            return -1;
        }
        if (len)
            xff[len++] = ',';
        memcpy(xff + len, v, vn);
        len += vn;
    }
    xff[len] = '\0';
    size_t end = len;
    char last_trusted[64] = "";
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        size_t n = end - start;
        const char *item = trim(xff + start, &n);
        end = start ? start - 1 : 0;
        if (!n)
            continue;
        char addr[64];
        int family;
        unsigned char bytes[16];
        if (n >= sizeof addr) {
            snprintf(out, outsz, "?");
            return -1;
        }
        memcpy(addr, item, n);
        addr[n] = '\0';
        if (parse_addr(addr, &family, bytes)) {
            snprintf(out, outsz, "?");
            return -1; /* an entry that is not an address, where the client should be */
        }
        if (!eb_auth_cidr_match(a->proxies, a->n_proxies, addr)) {
            snprintf(out, outsz, "%s", addr);
            return 0;
        }
        snprintf(last_trusted, sizeof last_trusted, "%s", addr);
        if (!start)
            break;
    }
    if (last_trusted[0])
        snprintf(out, outsz, "%s", last_trusted); /* every hop trusted: the left-most */
    return 0;
}

void eb_auth_check_address(const struct eb_auth *a, const struct eb_http_request *req,
                           struct eb_auth_result *res)
{
    memset(res, 0, sizeof *res);
    res->verdict = EB_AUTH_PASS;
    res->method = "none";
    if (!a || !a->n_allow)
        return;
    if (eb_auth_client_address(a, req, res->client, sizeof res->client) < 0) {
        res->verdict = EB_AUTH_DENY_403;
        res->method = NULL;
        res->reason = "X-Forwarded-For holds an entry that is not an address";
        return;
    }
    if (!eb_auth_cidr_match(a->allow, a->n_allow, res->client)) {
        res->verdict = EB_AUTH_DENY_403;
        res->method = NULL;
        res->reason = "source address not in the allow list";
    }
}

/* Lower-cases hex digits of s[0..n) into out (n <= SIGN_HEX); other bytes are kept. */
static void lower(const char *s, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
}

/* 1 when value (n bytes) equals the signature of the body. */
static int signature_ok(const char *v, size_t n, const char *expected)
{
    char given[SIGN_HEX];
    if (n != SIGN_HEX) {
        /* still one constant-time comparison, of something that cannot match */
        eb_auth_equal(v, n, expected, SIGN_HEX);
        return 0;
    }
    lower(v, n, given);
    return eb_auth_equal(given, SIGN_HEX, expected, SIGN_HEX);
}

/* Decodes standard base64 (with or without padding) into out; returns the length or -1. */
static int base64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    char buf[1100];
    size_t eq = 0;
    if (n == 0 || n + 4 > sizeof buf)
        return -1;
    memcpy(buf, in, n);
    while (n % 4)
        buf[n++] = '=';
    if (n / 4 * 3 > cap)
        return -1;
    while (eq < 2 && buf[n - 1 - eq] == '=')
        eq++;
    int k = EVP_DecodeBlock(out, (const unsigned char *)buf, (int)n);
    if (k < 0 || (size_t)k < eq)
        return -1;
    return k - (int)eq;
}

/* Checks the Basic credentials of an Authorization value v (n bytes, after "Basic "): 1 when
 * they match. *reason is set when they do not. */
static int basic_ok(const struct eb_auth *a, const char *v, size_t n, const char **reason)
{
    unsigned char dec[800];
    int k = base64_decode(v, n, dec, sizeof dec - 1);
    const unsigned char *colon = k > 0 ? memchr(dec, ':', (size_t)k) : NULL;
    if (!colon) {
        *reason = "malformed basic credentials";
        return 0;
    }
    size_t ulen = (size_t)(colon - dec), plen = (size_t)k - ulen - 1;
    int u = eb_auth_equal(dec, ulen, a->basic_user, a->basic_user_len);
    int p = eb_auth_equal(colon + 1, plen, a->basic_password, a->basic_password_len);
    OPENSSL_cleanse(dec, sizeof dec);
    if (!(u & p))
        *reason = "basic credentials do not match";
    return u & p;
}

/* The number of Authorization headers of req. More than one is refused: which one counts would
 * depend on who reads the request (a proxy in front may take the last one). */
static int authorizations(const struct eb_http_request *req)
{
    int n = 0;
    for (size_t i = 0; i < req->n_headers; i++)
        n += strcasecmp(req->headers[i].name, "Authorization") == 0;
    return n;
}

void eb_auth_check_head(const struct eb_auth *a, const struct eb_http_request *req,
                        struct eb_auth_result *res)
{
    eb_auth_check_address(a, req, res);
    if (res->verdict != EB_AUTH_PASS || !eb_auth_has_credentials(a))
        return;
    res->method = NULL;
    res->verdict = EB_AUTH_DENY_401;
    res->reason = "no credentials";
    if (authorizations(req) > 1) {
        res->reason = "more than one Authorization header";
        return;
    }
    int signed_body = a->sign_key && eb_http_query_param(req->query, "sign", NULL, 0);
    const char *h = eb_http_header(req, "Authorization");
    if (h) {
        size_t hn = strlen(h);
        h = trim(h, &hn);
        if (hn > 7 && strncasecmp(h, "Bearer ", 7) == 0 && (a->bearer || a->sign_key)) {
            size_t n = hn - 7;
            const char *v = trim(h + 7, &n);
            if (a->bearer && eb_auth_equal(v, n, a->bearer, a->bearer_len)) {
                res->verdict = EB_AUTH_PASS;
                res->method = "bearer";
                res->reason = NULL;
                return;
            }
            signed_body |= a->sign_key && n == SIGN_HEX;
            res->reason =
                a->bearer ? "bearer token does not match" : "bearer signature is not 64 hex digits";
        } else if (hn > 6 && strncasecmp(h, "Basic ", 6) == 0 && a->basic_user) {
            size_t n = hn - 6;
            const char *v = trim(h + 6, &n);
            if (basic_ok(a, v, n, &res->reason)) {
                res->verdict = EB_AUTH_PASS;
                res->method = "basic";
                res->reason = NULL;
                return;
            }
        } else if (!signed_body) {
            res->reason = "unsupported or unconfigured Authorization scheme";
        }
    }
    if (signed_body) {
        res->verdict = EB_AUTH_NEED_BODY;
        res->reason = NULL;
    }
}

void eb_auth_check_push(const struct eb_auth *a, const struct eb_http_request *req,
                        struct eb_auth_result *res)
{
    eb_auth_check_address(a, req, res);
    if (res->verdict != EB_AUTH_PASS || !eb_auth_has_credentials(a))
        return;
    res->method = NULL;
    res->verdict = EB_AUTH_DENY_401;
    res->reason = "no credentials";
    if (authorizations(req) > 1) {
        res->reason = "more than one Authorization header";
        return;
    }

    char expected[65] = "";
    if (a->sign_key)
        eb_auth_hmac_hex(a->sign_key, a->sign_key_len, req->body ? req->body : "",
                         req->body ? req->body_len : 0, expected);

    /* The signature in the query: ?sign=<hex> */
    char sign[160] = "";
    if (a->sign_key && eb_http_query_param(req->query, "sign", sign, sizeof sign)) {
        size_t n = strlen(sign);
        const char *v = trim(sign, &n);
        if (signature_ok(v, n, expected)) {
            res->verdict = EB_AUTH_PASS;
            res->method = "signature";
            res->reason = NULL;
            goto out;
        }
        res->reason = "signature does not match the body";
    }

    const char *h = eb_http_header(req, "Authorization");
    if (h) {
        size_t hn = strlen(h);
        h = trim(h, &hn);
        if (hn > 7 && strncasecmp(h, "Bearer ", 7) == 0 && (a->bearer || a->sign_key)) {
            size_t n = hn - 7;
            const char *v = trim(h + 7, &n);
            int tok = a->bearer ? eb_auth_equal(v, n, a->bearer, a->bearer_len) : 0;
            int sig = a->sign_key ? signature_ok(v, n, expected) : 0;
            if (tok || sig) {
                res->verdict = EB_AUTH_PASS;
                res->method = tok ? "bearer" : "signature-bearer";
                res->reason = NULL;
                goto out;
            }
            res->reason = a->bearer ? "bearer token does not match"
                                    : "bearer signature does not match the body";
        } else if (hn > 6 && strncasecmp(h, "Basic ", 6) == 0 && a->basic_user) {
            size_t n = hn - 6;
            const char *v = trim(h + 6, &n);
            if (basic_ok(a, v, n, &res->reason)) {
                res->verdict = EB_AUTH_PASS;
                res->method = "basic";
                res->reason = NULL;
                goto out;
            }
        } else if (!a->sign_key || !eb_http_query_param(req->query, "sign", NULL, 0)) {
            res->reason = "unsupported or unconfigured Authorization scheme";
        }
    }
out:
    OPENSSL_cleanse(expected, sizeof expected);
    OPENSSL_cleanse(sign, sizeof sign);
}

/* ---- the replay window ---- */

int eb_auth_timestamp_ms(const char *text, int64_t *ms)
{
    return eb_date_parse_ms(text, ms); /* the one date grammar */
}

int eb_auth_check_age(const char *triggered_at, int max_age_s, int64_t now_ms, char *msg,
                      size_t msgsz)
{
    int64_t t;
    if (max_age_s <= 0)
        return 0;
    if (!triggered_at || !*triggered_at) {
        snprintf(msg, msgsz, "triggeredAt: missing (required by --max-age)");
        return -1;
    }
    if (eb_auth_timestamp_ms(triggered_at, &t)) {
        snprintf(msg, msgsz, "triggeredAt: not a timestamp");
        return -1;
    }
    int64_t window = (int64_t)max_age_s * 1000;
    if (now_ms - t > window) {
        snprintf(msg, msgsz, "triggeredAt: older than %d s (--max-age)", max_age_s);
        return -1;
    }
    if (t - now_ms > window) {
        snprintf(msg, msgsz, "triggeredAt: more than %d s in the future (--max-age)", max_age_s);
        return -1;
    }
    return 0;
}

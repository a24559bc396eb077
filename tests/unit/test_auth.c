/* Unit tests of auth/auth.c: the vendor's own signature vector, HMAC over the raw body (a
 * tampered body fails), Bearer tokens, the signature as Bearer, HTTP Basic, combinations, the
 * allow list with IPv4/IPv6 ranges and X-Forwarded-For behind trusted proxies, that every
 * secret comparison goes through the constant-time path, and the replay window's timestamps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "auth/auth.h"

#include "check.h"
#include "config.h"

#define VENDOR_BODY "{\"name\":\"test\",\"email\":\"test@mokahr.com\"}"
#define VENDOR_SIGN "7d6981ccf0d789e29e4f5940fe9a7e9385d8a211ad44ecaaba335fb14dd2a32d"

static struct eb_http_header hdrs[8];

/* A POST with body, query and up to two headers (name, value pairs; NULL to skip). */
static struct eb_http_request request(const char *peer, const char *query, const char *body,
                                      const char *h1, const char *v1, const char *h2,
                                      const char *v2)
{
    struct eb_http_request r;
    size_t n = 0;
    memset(&r, 0, sizeof r);
    if (h1)
        hdrs[n++] = (struct eb_http_header){h1, v1};
    if (h2)
        hdrs[n++] = (struct eb_http_header){h2, v2};
    r.method = "POST";
    r.path = "/moka";
    r.query = query ? query : "";
    r.headers = hdrs;
    r.n_headers = n;
    r.body = body ? body : "";
    r.body_len = strlen(r.body);
    r.peer = peer ? peer : "127.0.0.1";
    return r;
}

static struct eb_auth *make(struct eb_config *c)
{
    struct eb_auth *a = NULL;
    struct eb_err err;
    eb_err_clear(&err);
    CHECK(eb_auth_new(c, &a, &err) == EB_OK);
    return a;
}

static enum eb_auth_verdict verdict(const struct eb_auth *a, struct eb_http_request r)
{
    struct eb_auth_result res;
    eb_auth_check_push(a, &r, &res);
    return res.verdict;
}

static void test_vendor_vector(void)
{
    char out[65];
    eb_auth_hmac_hex("qwer", 4, VENDOR_BODY, strlen(VENDOR_BODY), out);
    CHECK_STR(out, VENDOR_SIGN);
    /* the spec's other printed signature belongs to another body: not this one */
    CHECK(strcmp(out, "d23da96c279366d66e2780d300d9b09d6b0ec09efbbe2c3fd84980d981e4b41a") != 0);
}

static void test_equal(void)
{
    unsigned long before = eb_auth_compare_count();
    CHECK(eb_auth_equal("abc", 3, "abc", 3));
    CHECK(!eb_auth_equal("abc", 3, "abd", 3));
    CHECK(!eb_auth_equal("abc", 3, "abcd", 4));
    CHECK(!eb_auth_equal("", 0, "a", 1));
    CHECK(eb_auth_equal("", 0, "", 0));
    CHECK(eb_auth_compare_count() == before + 5);
}

static void test_signature(void)
{
    struct eb_config c;
    eb_config_defaults(&c);
    snprintf(c.sign_key, sizeof c.sign_key, "qwer");
    struct eb_auth *a = make(&c);
    unsigned long before = eb_auth_compare_count();
    CHECK(verdict(a, request(NULL, "sign=" VENDOR_SIGN, VENDOR_BODY, NULL, NULL, NULL, NULL)) ==
          EB_AUTH_PASS);
    CHECK(eb_auth_compare_count() > before); /* compared in constant time */
    /* upper-case hex, other parameters around it, percent-encoding */
    CHECK(verdict(
              a,
              request(NULL,
                      "a=1&sign=7D6981CCF0D789E29E4F5940FE9A7E9385D8A211AD44ECAABA335FB14DD2A32D&b",
                      VENDOR_BODY, NULL, NULL, NULL, NULL)) == EB_AUTH_PASS);
    CHECK(verdict(a, request(NULL, "%73ign=" VENDOR_SIGN, VENDOR_BODY, NULL, NULL, NULL, NULL)) ==
          EB_AUTH_PASS);
    /* a tampered body, a wrong or truncated signature, none at all */
    CHECK(verdict(a, request(NULL, "sign=" VENDOR_SIGN,
                             "{\"name\":\"test\",\"email\":\"evil@mokahr.com\"}", NULL, NULL, NULL,
                             NULL)) == EB_AUTH_DENY_401);
    CHECK(verdict(a, request(NULL, "sign=" VENDOR_SIGN "00", VENDOR_BODY, NULL, NULL, NULL,
                             NULL)) == EB_AUTH_DENY_401);
    CHECK(verdict(a, request(NULL, "sign=7d6981ccf0d789e29e4f", VENDOR_BODY, NULL, NULL, NULL,
                             NULL)) == EB_AUTH_DENY_401);
    CHECK(verdict(a, request(NULL, "", VENDOR_BODY, NULL, NULL, NULL, NULL)) == EB_AUTH_DENY_401);
    /* the body with a different byte order of the same JSON is another body */
    CHECK(verdict(a, request(NULL, "sign=" VENDOR_SIGN,
                             "{\"email\":\"test@mokahr.com\",\"name\":\"test\"}", NULL, NULL, NULL,
                             NULL)) == EB_AUTH_DENY_401);
    /* the signature as the Bearer value (the vendor's SOAP mode) */
    struct eb_auth_result res;
    struct eb_http_request r =
        request(NULL, "", VENDOR_BODY, "Authorization", "Bearer " VENDOR_SIGN, NULL, NULL);
    eb_auth_check_push(a, &r, &res);
    CHECK(res.verdict == EB_AUTH_PASS);
    CHECK_STR(res.method, "signature-bearer");
    r = request(NULL, "", VENDOR_BODY "x", "Authorization", "Bearer " VENDOR_SIGN, NULL, NULL);
    eb_auth_check_push(a, &r, &res);
    CHECK(res.verdict == EB_AUTH_DENY_401);
    CHECK(res.reason && !strstr(res.reason, VENDOR_SIGN));
    CHECK_STR(eb_auth_challenge(a), "Bearer realm=\"ehrbridge\"");
    eb_auth_free(a);
}

static void test_bearer_and_basic(void)
{
    struct eb_config c;
    eb_config_defaults(&c);
    snprintf(c.bearer_token, sizeof c.bearer_token, "s3cr3t-token");
    snprintf(c.basic_user, sizeof c.basic_user, "moka");
    snprintf(c.basic_password, sizeof c.basic_password, "p:ss word");
    struct eb_auth *a = make(&c);
    CHECK(eb_auth_has_credentials(a));
    CHECK(!eb_auth_has_allow_list(a));
    unsigned long before = eb_auth_compare_count();
    CHECK(verdict(a, request(NULL, NULL, "x", "Authorization", "Bearer s3cr3t-token", NULL,
                             NULL)) == EB_AUTH_PASS);
    CHECK(eb_auth_compare_count() > before);
    CHECK(verdict(a, request(NULL, NULL, "x", "authorization", "bearer   s3cr3t-token ", NULL,
                             NULL)) == EB_AUTH_PASS);
    CHECK(verdict(a, request(NULL, NULL, "x", "Authorization", "Bearer s3cr3t-tokeN", NULL,
                             NULL)) == EB_AUTH_DENY_401);
    CHECK(verdict(a, request(NULL, NULL, "x", "Authorization", "Bearer s3cr3t-token2", NULL,
                             NULL)) == EB_AUTH_DENY_401);
    CHECK(verdict(a, request(NULL, NULL, "x", "Authorization", "Bearer ", NULL, NULL)) ==
          EB_AUTH_DENY_401);
    /* Basic moka:p:ss word (the password may hold ':' and blanks) */
    before = eb_auth_compare_count();
    CHECK(verdict(a, request(NULL, NULL, "x", "Authorization", "Basic bW9rYTpwOnNzIHdvcmQ=", NULL,
                             NULL)) == EB_AUTH_PASS);
    CHECK(eb_auth_compare_count() >= before + 2); /* user and password, both constant-time */
    CHECK(verdict(a, request(NULL, NULL, "x", "Authorization", "Basic bW9rYTpwOnNzIHdvcmQ", NULL,
                             NULL)) == EB_AUTH_PASS); /* without padding */
    CHECK(verdict(a, request(NULL, NULL, "x", "Authorization", "Basic bW9rYTp3cm9uZw==", NULL,
                             NULL)) == EB_AUTH_DENY_401); /* moka:wrong */
    CHECK(verdict(a, request(NULL, NULL, "x", "Authorization", "Basic !!!", NULL, NULL)) ==
          EB_AUTH_DENY_401);
    CHECK(verdict(a, request(NULL, NULL, "x", "Authorization", "Digest x", NULL, NULL)) ==
          EB_AUTH_DENY_401);
    CHECK(verdict(a, request(NULL, NULL, "x", NULL, NULL, NULL, NULL)) == EB_AUTH_DENY_401);
    CHECK_STR(eb_auth_challenge(a),
              "Bearer realm=\"ehrbridge\", Basic realm=\"ehrbridge\", charset=\"UTF-8\"");
    eb_auth_free(a);

    /* nothing configured: everyone passes */
    eb_config_defaults(&c);
    a = make(&c);
    CHECK(!eb_auth_has_credentials(a));
    CHECK(eb_auth_challenge(a) == NULL);
    CHECK(verdict(a, request(NULL, NULL, "x", NULL, NULL, NULL, NULL)) == EB_AUTH_PASS);
    eb_auth_free(a);
}

static void test_cidrs(void)
{
    struct eb_cidr c[8];
    char why[160];
    int n = eb_auth_cidrs_parse(" 10.0.0.0/8, 192.0.2.7 2001:db8::/32,::1", c, 8, why, sizeof why);
    CHECK(n == 4);
    CHECK(eb_auth_cidr_match(c, 4, "10.1.2.3"));
    CHECK(eb_auth_cidr_match(c, 4, "192.0.2.7"));
    CHECK(!eb_auth_cidr_match(c, 4, "192.0.2.8"));
    CHECK(!eb_auth_cidr_match(c, 4, "11.0.0.1"));
    CHECK(eb_auth_cidr_match(c, 4, "2001:db8:ffff::1"));
    CHECK(!eb_auth_cidr_match(c, 4, "2001:db9::1"));
    CHECK(eb_auth_cidr_match(c, 4, "::1"));
    CHECK(eb_auth_cidr_match(c, 4, "[::1]"));
    CHECK(eb_auth_cidr_match(c, 4, "::ffff:10.9.8.7")); /* IPv4-mapped */
    CHECK(!eb_auth_cidr_match(c, 4, "not-an-address"));
    CHECK(!eb_auth_cidr_match(c, 4, ""));
    n = eb_auth_cidrs_parse("172.16.0.0/12", c, 8, why, sizeof why);
    CHECK(n == 1);
    CHECK(eb_auth_cidr_match(c, 1, "172.31.255.255") && !eb_auth_cidr_match(c, 1, "172.32.0.0"));
    n = eb_auth_cidrs_parse("0.0.0.0/0", c, 8, why, sizeof why);
    CHECK(n == 1 && eb_auth_cidr_match(c, 1, "8.8.8.8") && !eb_auth_cidr_match(c, 1, "::2"));
    n = eb_auth_cidrs_parse("fe80::/10", c, 8, why, sizeof why);
    CHECK(n == 1 && eb_auth_cidr_match(c, 1, "febf::1") && !eb_auth_cidr_match(c, 1, "fec0::1"));
    CHECK(eb_auth_cidrs_parse("", c, 8, why, sizeof why) == 0);
    CHECK(eb_auth_cidrs_parse("10.0.0.1/8", c, 8, why, sizeof why) == -1);
    CHECK(strstr(why, "host bits") != NULL);
    CHECK(eb_auth_cidrs_parse("10.0.0.0/33", c, 8, why, sizeof why) == -1);
    CHECK(eb_auth_cidrs_parse("2001:db8::/129", c, 8, why, sizeof why) == -1);
    CHECK(eb_auth_cidrs_parse("example.com", c, 8, why, sizeof why) == -1);
    CHECK(strstr(why, "example.com") != NULL);
    CHECK(eb_auth_cidrs_parse("10.0.0.0/", c, 8, why, sizeof why) == -1);
}

/* Client addresses are judged in their IPv4 form ("::ffff:192.0.2.9" is 192.0.2.9), so an
 * IPv4-mapped range is read as the IPv4 range it names; one that reaches past the mapped block
 * (a prefix under 96) cannot be written as IPv4 and is refused. */
static void test_cidrs_mapped(void)
{
    struct eb_cidr c[4];
    char why[160], text[64];
    CHECK(eb_auth_cidrs_parse("::ffff:192.0.2.0/120", c, 4, why, sizeof why) == 1);
    CHECK(c[0].family == AF_INET && c[0].prefix == 24);
    CHECK(eb_auth_cidr_match(c, 1, "192.0.2.9"));
    CHECK(eb_auth_cidr_match(c, 1, "::ffff:192.0.2.9"));
    CHECK(!eb_auth_cidr_match(c, 1, "192.0.3.9"));
    eb_auth_cidr_text(&c[0], text, sizeof text);
    CHECK_STR(text, "192.0.2.0/24");
    CHECK(eb_auth_cidrs_parse("::ffff:c000:207", c, 4, why, sizeof why) == 1); /* a bare address */
    CHECK(c[0].family == AF_INET && c[0].prefix == 32 && eb_auth_cidr_match(c, 1, "192.0.2.7"));
    eb_auth_cidr_text(&c[0], text, sizeof text);
    CHECK_STR(text, "192.0.2.7");
    CHECK(eb_auth_cidrs_parse("::ffff:0.0.0.0/96", c, 4, why, sizeof why) == 1);
    CHECK(c[0].family == AF_INET && c[0].prefix == 0 && eb_auth_cidr_match(c, 1, "8.8.8.8"));
    CHECK(eb_auth_cidrs_parse("::ffff:0.0.0.0/95", c, 4, why, sizeof why) == -1);
    CHECK(strstr(why, "IPv4-mapped") != NULL);
    CHECK(eb_auth_cidrs_parse("::ffff:0:0/80", c, 4, why, sizeof why) == -1);
    /* other IPv6 ranges are kept as they are */
    CHECK(eb_auth_cidrs_parse("2001:db8::/32", c, 4, why, sizeof why) == 1);
    CHECK(c[0].family == AF_INET6 && c[0].prefix == 32);
    eb_auth_cidr_text(&c[0], text, sizeof text);
    CHECK_STR(text, "2001:db8::/32");
}

static void test_allow_list_and_proxies(void)
{
    struct eb_config c;
    struct eb_auth_result res;
    char client[64];
    eb_config_defaults(&c);
    snprintf(c.allow, sizeof c.allow, "203.0.113.0/24, 2001:db8:1::/48");
    snprintf(c.trusted_proxy, sizeof c.trusted_proxy, "10.0.0.0/8, fd00::/8");
    struct eb_auth *a = make(&c);
    CHECK(eb_auth_has_allow_list(a));

    /* direct peers */
    CHECK(verdict(a, request("203.0.113.9", NULL, "x", NULL, NULL, NULL, NULL)) == EB_AUTH_PASS);
    CHECK(verdict(a, request("2001:db8:1:2::5", NULL, "x", NULL, NULL, NULL, NULL)) ==
          EB_AUTH_PASS);
    CHECK(verdict(a, request("198.51.100.1", NULL, "x", NULL, NULL, NULL, NULL)) ==
          EB_AUTH_DENY_403);
    /* X-Forwarded-For from an untrusted peer is ignored */
    CHECK(verdict(a, request("198.51.100.1", NULL, "x", "X-Forwarded-For", "203.0.113.9", NULL,
                             NULL)) == EB_AUTH_DENY_403);
    /* through a trusted proxy: the right-most untrusted address counts */
    struct eb_http_request r = request("10.1.1.1", NULL, "x", "X-Forwarded-For",
                                       "198.51.100.7, 203.0.113.9, 10.2.2.2", NULL, NULL);
    eb_auth_check_push(a, &r, &res);
    CHECK(res.verdict == EB_AUTH_PASS);
    CHECK_STR(res.client, "203.0.113.9");
    /* a client that puts an allowed address first cannot fool it */
    r = request("10.1.1.1", NULL, "x", "X-Forwarded-For", "203.0.113.9, 198.51.100.7", NULL, NULL);
    eb_auth_check_push(a, &r, &res);
    CHECK(res.verdict == EB_AUTH_DENY_403);
    CHECK_STR(res.client, "198.51.100.7");
    /* several headers are one list, in order */
    r = request("fd00::1", NULL, "x", "X-Forwarded-For", "198.51.100.7", "x-forwarded-for",
                "2001:db8:1::9, fd00::2");
    CHECK(eb_auth_client_address(a, &r, client, sizeof client) == 0);
    CHECK_STR(client, "2001:db8:1::9");
    CHECK(verdict(a, r) == EB_AUTH_PASS);
    /* a trusted proxy without the header: the proxy itself is the client */
    r = request("10.1.1.1", NULL, "x", NULL, NULL, NULL, NULL);
    CHECK(eb_auth_client_address(a, &r, client, sizeof client) == 0);
    CHECK_STR(client, "10.1.1.1");
    CHECK(verdict(a, r) == EB_AUTH_DENY_403);
    /* garbage where the client should be */
    r = request("10.1.1.1", NULL, "x", "X-Forwarded-For", "203.0.113.9, unknown", NULL, NULL);
    CHECK(eb_auth_client_address(a, &r, client, sizeof client) == -1);
    CHECK(verdict(a, r) == EB_AUTH_DENY_403);
    /* every hop trusted: the left-most */
    r = request("10.1.1.1", NULL, "x", "X-Forwarded-For", "10.3.3.3, 10.4.4.4", NULL, NULL);
    CHECK(eb_auth_client_address(a, &r, client, sizeof client) == 0);
    CHECK_STR(client, "10.3.3.3");
    eb_auth_free(a);

    /* allow list AND credentials: both must pass */
    eb_config_defaults(&c);
    snprintf(c.allow, sizeof c.allow, "127.0.0.0/8");
    snprintf(c.bearer_token, sizeof c.bearer_token, "tok");
    a = make(&c);
    CHECK(verdict(a, request("127.0.0.1", NULL, "x", "Authorization", "Bearer tok", NULL, NULL)) ==
          EB_AUTH_PASS);
    CHECK(verdict(a, request("127.0.0.1", NULL, "x", NULL, NULL, NULL, NULL)) == EB_AUTH_DENY_401);
    CHECK(verdict(a, request("192.0.2.1", NULL, "x", "Authorization", "Bearer tok", NULL, NULL)) ==
          EB_AUTH_DENY_403);
    eb_auth_free(a);
}

static void test_any_credential_suffices(void)
{
    struct eb_config c;
    eb_config_defaults(&c);
    snprintf(c.bearer_token, sizeof c.bearer_token, "tok");
    snprintf(c.sign_key, sizeof c.sign_key, "qwer");
    struct eb_auth *a = make(&c);
    CHECK(verdict(a, request(NULL, "sign=" VENDOR_SIGN, VENDOR_BODY, NULL, NULL, NULL, NULL)) ==
          EB_AUTH_PASS);
    CHECK(verdict(a, request(NULL, NULL, VENDOR_BODY, "Authorization", "Bearer tok", NULL, NULL)) ==
          EB_AUTH_PASS);
    CHECK(verdict(a, request(NULL, NULL, VENDOR_BODY, "Authorization", "Bearer " VENDOR_SIGN, NULL,
                             NULL)) == EB_AUTH_PASS);
    /* a wrong signature with a right token still passes: any one method suffices */
    CHECK(verdict(a, request(NULL, "sign=00", VENDOR_BODY, "Authorization", "Bearer tok", NULL,
                             NULL)) == EB_AUTH_PASS);
    CHECK(verdict(a, request(NULL, "sign=00", VENDOR_BODY, "Authorization", "Bearer tik", NULL,
                             NULL)) == EB_AUTH_DENY_401);
    eb_auth_free(a);
}

static enum eb_auth_verdict head_verdict(const struct eb_auth *a, struct eb_http_request r)
{
    struct eb_auth_result res;
    r.body = ""; /* on the headers: no body yet */
    r.body_len = 0;
    eb_auth_check_head(a, &r, &res);
    return res.verdict;
}

/* On the headers alone: Bearer and Basic decide at once, the allow list too; only a request
 * that offers the body's signature (?sign=, or a 64-character Bearer with a signing key) waits
 * for its body; without a signing key such a request is refused at once. */
static void test_check_head(void)
{
    struct eb_config c;
    eb_config_defaults(&c);
    snprintf(c.bearer_token, sizeof c.bearer_token, "tok");
    snprintf(c.basic_user, sizeof c.basic_user, "u");
    snprintf(c.basic_password, sizeof c.basic_password, "p");
    struct eb_auth *a = make(&c);
    unsigned long before = eb_auth_compare_count();
    CHECK(head_verdict(a, request(NULL, NULL, NULL, "Authorization", "Bearer tok", NULL, NULL)) ==
          EB_AUTH_PASS);
    CHECK(eb_auth_compare_count() > before); /* compared in constant time */
    CHECK(head_verdict(a, request(NULL, NULL, NULL, "Authorization", "Basic dTpw", NULL, NULL)) ==
          EB_AUTH_PASS);
    CHECK(head_verdict(a, request(NULL, NULL, NULL, NULL, NULL, NULL, NULL)) == EB_AUTH_DENY_401);
    CHECK(head_verdict(a, request(NULL, NULL, NULL, "Authorization", "Bearer tox", NULL, NULL)) ==
          EB_AUTH_DENY_401);
    CHECK(head_verdict(a, request(NULL, NULL, NULL, "Authorization", "Basic dTpx", NULL, NULL)) ==
          EB_AUTH_DENY_401);
    /* no signing key: ?sign= or a 64-character Bearer cannot pass, refused at once */
    CHECK(head_verdict(a, request(NULL, "sign=" VENDOR_SIGN, NULL, NULL, NULL, NULL, NULL)) ==
          EB_AUTH_DENY_401);
    CHECK(head_verdict(a, request(NULL, NULL, NULL, "Authorization", "Bearer " VENDOR_SIGN, NULL,
                                  NULL)) == EB_AUTH_DENY_401);
    eb_auth_free(a);

    snprintf(c.sign_key, sizeof c.sign_key, "qwer");
    a = make(&c);
    CHECK(head_verdict(a, request(NULL, NULL, NULL, "Authorization", "Bearer tok", NULL, NULL)) ==
          EB_AUTH_PASS);
    CHECK(head_verdict(a, request(NULL, "sign=" VENDOR_SIGN, NULL, NULL, NULL, NULL, NULL)) ==
          EB_AUTH_NEED_BODY);
    CHECK(head_verdict(a, request(NULL, "sign=x", NULL, "Authorization", "Bearer no", NULL,
                                  NULL)) == EB_AUTH_NEED_BODY);
    CHECK(head_verdict(a, request(NULL, NULL, NULL, "Authorization", "Bearer " VENDOR_SIGN, NULL,
                                  NULL)) == EB_AUTH_NEED_BODY);
    CHECK(head_verdict(a, request(NULL, NULL, NULL, "Authorization", "Bearer short", NULL, NULL)) ==
          EB_AUTH_DENY_401);
    CHECK(head_verdict(a, request(NULL, NULL, NULL, NULL, NULL, NULL, NULL)) == EB_AUTH_DENY_401);
    /* what the head let through is decided on the body: the vendor's own vector */
    CHECK(verdict(a, request(NULL, "sign=" VENDOR_SIGN, VENDOR_BODY, NULL, NULL, NULL, NULL)) ==
          EB_AUTH_PASS);
    CHECK(verdict(a, request(NULL, "sign=" VENDOR_SIGN, VENDOR_BODY "x", NULL, NULL, NULL, NULL)) ==
          EB_AUTH_DENY_401);
    eb_auth_free(a);

    /* two Authorization headers: which one counts would depend on the reader (a proxy in
     * front may take the last): refused whatever they hold */
    a = make(&c);
    CHECK(head_verdict(a, request(NULL, NULL, NULL, "Authorization", "Bearer tok", "Authorization",
                                  "Bearer nope")) == EB_AUTH_DENY_401);
    CHECK(head_verdict(a, request(NULL, NULL, NULL, "Authorization", "Bearer nope", "authorization",
                                  "Bearer tok")) == EB_AUTH_DENY_401);
    CHECK(verdict(a, request(NULL, NULL, NULL, "Authorization", "Bearer tok", "Authorization",
                             "Basic dTpw")) == EB_AUTH_DENY_401);
    eb_auth_free(a);

    /* the allow list first: a refused source is 403 whatever it carries */
    snprintf(c.allow, sizeof c.allow, "192.0.2.0/24");
    a = make(&c);
    CHECK(head_verdict(a, request("198.51.100.1", NULL, NULL, "Authorization", "Bearer tok", NULL,
                                  NULL)) == EB_AUTH_DENY_403);
    CHECK(head_verdict(a, request("198.51.100.1", "sign=" VENDOR_SIGN, NULL, NULL, NULL, NULL,
                                  NULL)) == EB_AUTH_DENY_403);
    CHECK(head_verdict(a, request("192.0.2.9", NULL, NULL, "Authorization", "Bearer tok", NULL,
                                  NULL)) == EB_AUTH_PASS);
    eb_auth_free(a);

    /* nothing configured: everyone passes on the headers */
    eb_config_defaults(&c);
    a = make(&c);
    CHECK(head_verdict(a, request(NULL, NULL, NULL, NULL, NULL, NULL, NULL)) == EB_AUTH_PASS);
    eb_auth_free(a);
}

static void test_timestamps(void)
{
    int64_t ms;
    CHECK(eb_auth_timestamp_ms("1505296287", &ms) == 0 && ms == 1505296287000LL);
    CHECK(eb_auth_timestamp_ms("1505296287123", &ms) == 0 && ms == 1505296287123LL);
    CHECK(eb_auth_timestamp_ms("2017-09-13T09:51:27Z", &ms) == 0 && ms == 1505296287000LL);
    CHECK(eb_auth_timestamp_ms("2017-09-13T09:51:27.5Z", &ms) == 0 && ms == 1505296287500LL);
    CHECK(eb_auth_timestamp_ms("2017-09-13T17:51:27+08:00", &ms) == 0 && ms == 1505296287000LL);
    CHECK(eb_auth_timestamp_ms("2017-09-13 17:51:27+0800", &ms) == 0 && ms == 1505296287000LL);
    CHECK(eb_auth_timestamp_ms("2017-09-13T09:51:27", &ms) == 0 && ms == 1505296287000LL);
    CHECK(eb_auth_timestamp_ms("2017-9-13", &ms) == 0 && ms == 1505260800000LL);
    CHECK(eb_auth_timestamp_ms("1970-01-01T00:00:00Z", &ms) == 0 && ms == 0);
    CHECK(eb_auth_timestamp_ms("2000-02-29T00:00:00Z", &ms) == 0 && ms == 951782400000LL);
    CHECK(eb_auth_timestamp_ms("yesterday", &ms) == -1);
    CHECK(eb_auth_timestamp_ms("2017-13-01", &ms) == -1);
    CHECK(eb_auth_timestamp_ms("2017-09-13T25:00", &ms) == -1);
    CHECK(eb_auth_timestamp_ms("", &ms) == -1);

    char msg[128];
    int64_t now = 1505296287000LL;
    CHECK(eb_auth_check_age("1505296287", 0, now + 999999999, msg, sizeof msg) == 0); /* off */
    CHECK(eb_auth_check_age("1505296287", 300, now + 299000, msg, sizeof msg) == 0);
    CHECK(eb_auth_check_age("1505296287", 300, now + 301000, msg, sizeof msg) == -1);
    CHECK_STR(msg, "triggeredAt: older than 300 s (--max-age)");
    CHECK(eb_auth_check_age("1505296287", 300, now - 301000, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "future") != NULL);
    CHECK(eb_auth_check_age(NULL, 300, now, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "missing") != NULL);
    CHECK(eb_auth_check_age("soon", 300, now, msg, sizeof msg) == -1);
    CHECK_STR(msg, "triggeredAt: not a timestamp");
}

int main(void)
{
    test_vendor_vector();
    test_equal();
    test_signature();
    test_bearer_and_basic();
    test_cidrs();
    test_cidrs_mapped();
    test_check_head();
    test_allow_list_and_proxies();
    test_any_credential_suffices();
    test_timestamps();
    return check_report("test_auth");
}

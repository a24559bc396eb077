/* The archive's rules (archive/policy.h): the allow list, the address check, the backoff, the
 * URL as logs show it. URLs are split by libcurl's own parser, the one that fetches them. */
#include "archive/policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Host of a URL handle without brackets, lower case; 0 on success. */
static int url_parts(CURLU *u, char *scheme, size_t sn, char *host, size_t hn, int *port)
{
    char *sc = NULL, *h = NULL, *p = NULL;
    int bad = curl_url_get(u, CURLUPART_SCHEME, &sc, 0) || curl_url_get(u, CURLUPART_HOST, &h, 0) ||
              curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT);
    if (!bad) {
        const char *hv = h;
        size_t hl = strlen(hv);
        if (hl >= 2 && hv[0] == '[' && hv[hl - 1] == ']') {
            hv++;
            hl -= 2;
        }
        bad = strlen(sc) >= sn || hl >= hn || !hl;
        if (!bad) {
            snprintf(scheme, sn, "%s", sc);
            memcpy(host, hv, hl);
            host[hl] = '\0';
            lower(scheme);
            lower(host);
            *port = atoi(p);
        }
    }
    curl_free(sc);
    curl_free(h);
    curl_free(p);
    return bad;
}

static int is_ip(const char *host)
{
    unsigned char b[16];
    return inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1;
}

static eb_rc parse_one(const char *pat, size_t len, struct eb_allow_pattern *out,
                       struct eb_err *err)
{
    char text[400], url[420];
    if (len >= sizeof text)
        return eb_err_set(err, EB_ERR_CONFIG, "--fetch-allow: pattern too long");
    memcpy(text, pat, len);
    text[len] = '\0';
    memset(out, 0, sizeof *out);
    const char *sep = strstr(text, "://");
    if (!sep)
        return eb_err_set(err, EB_ERR_CONFIG,
                          "--fetch-allow: \"%.80s\" is not scheme://host[:port]", text);
    /* "*." is not a host curl reads: parse the pattern with a placeholder label */
    const char *host = sep + 3;
    out->wildcard = !strncmp(host, "*.", 2);
    snprintf(url, sizeof url, "%.*s://%s%s", (int)(sep - text), text, out->wildcard ? "w." : "",
             out->wildcard ? host + 2 : host);
    CURLU *u = curl_url();
    if (!u)
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    char *path = NULL, *query = NULL, *user = NULL;
    int bad =
        curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        url_parts(u, out->scheme, sizeof out->scheme, out->host, sizeof out->host, &out->port);
    if (!bad) {
        curl_url_get(u, CURLUPART_PATH, &path, 0);
        bad = (path && strcmp(path, "/")) ||
              curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_NO_QUERY ||
              curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER ||
              (strcmp(out->scheme, "https") && strcmp(out->scheme, "http")) || strchr(host, '/') ||
              strchr(host, '?') || strchr(host, '@') ||
              strchr(host, '*') != (out->wildcard ? host : NULL);
    }
    curl_free(path);
    curl_free(query);
    curl_free(user);
    curl_url_cleanup(u);
    if (bad)
        return eb_err_set(err, EB_ERR_CONFIG,
                          "--fetch-allow: \"%.80s\" is not scheme://host[:port] (http or https, "
                          "host a name, an address or *.domain, no path)",
                          text);
    if (out->wildcard) {
        memmove(out->host, out->host + 2, strlen(out->host + 2) + 1); /* drop "w." */
        if (is_ip(out->host) || !strchr(out->host, '.'))
            return eb_err_set(err, EB_ERR_CONFIG,
                              "--fetch-allow: \"%.80s\": a wildcard needs a domain with a dot",
                              text);
    }
    return EB_OK;
}

eb_rc eb_allow_parse(const char *text, struct eb_allow_list *out, struct eb_err *err)
{
    out->n = 0;
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        size_t l = len;
        while (l && isspace((unsigned char)*s))
            s++, l--;
        while (l && isspace((unsigned char)s[l - 1]))
            l--;
        if (l) {
            if (out->n == EB_ARCHIVE_MAX_PATTERNS)
                return eb_err_set(err, EB_ERR_CONFIG, "--fetch-allow: more than %d patterns",
                                  EB_ARCHIVE_MAX_PATTERNS);
            eb_rc rc = parse_one(s, l, &out->p[out->n], err);
            if (rc)
                return rc;
            out->n++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return EB_OK;
}

enum eb_allow_match eb_allow_match_url(const struct eb_allow_list *l, const char *url, char *host,
                                       size_t hostn, int *port)
{
    char scheme[8], h[256];
    int pt = 0;
    CURLU *u = curl_url();
    if (!u)
        return EB_ALLOW_NONE;
    int bad = curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
              url_parts(u, scheme, sizeof scheme, h, sizeof h, &pt);
    curl_url_cleanup(u);
    if (bad)
        return EB_ALLOW_NONE;
    if (host)
        snprintf(host, hostn, "%s", h);
    if (port)
        *port = pt;
    enum eb_allow_match best = EB_ALLOW_NONE;
    int ip = is_ip(h);
    size_t hl = strlen(h);
    for (size_t i = 0; i < l->n; i++) {
        const struct eb_allow_pattern *p = &l->p[i];
        if (strcmp(p->scheme, scheme) || p->port != pt)
            continue;
        if (!p->wildcard && !strcmp(p->host, h))
            return EB_ALLOW_LITERAL;
        size_t pl = strlen(p->host);
        if (p->wildcard && !ip && hl > pl + 1 && h[hl - pl - 1] == '.' &&
            !strcmp(h + hl - pl, p->host))
            best = EB_ALLOW_WILDCARD;
    }
    return best;
}

static int v4_public(uint32_t a)
{
    uint8_t b0 = a >> 24, b1 = (a >> 16) & 0xff;
    if (b0 == 0 || b0 == 10 || b0 == 127 || b0 >= 224) /* this net, private, loopback, mc */
        return 0;
    if (b0 == 169 && b1 == 254) /* link-local */
        return 0;
    if (b0 == 172 && (b1 & 0xf0) == 16) /* private */
        return 0;
    if (b0 == 192 && b1 == 168) /* private */
        return 0;
    if (b0 == 100 && (b1 & 0xc0) == 64) /* shared address space */
        return 0;
    if (b0 == 192 && b1 == 0 && ((a >> 8) & 0xff) == 0) /* IETF protocol assignments */
        return 0;
    if (b0 == 198 && (b1 & 0xfe) == 18) /* benchmarking */
        return 0;
    return 1;
}

int eb_addr_is_public(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_public(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family != AF_INET6)
        return 0;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    const uint8_t *b = a->s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a)) {
        uint32_t v4 = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
        return v4_public(v4);
    }
    if (IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_MULTICAST(a) ||
        IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_SITELOCAL(a))
        return 0;
    if ((b[0] & 0xfe) == 0xfc) /* unique local fc00::/7 */
        return 0;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* documentation */
        return 0;
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) /* NAT64: judge as v4 */
        return v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 |
                         b[15]);
    return 1;
}

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

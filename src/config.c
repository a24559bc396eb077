/* Configuration: the defaults, the config file format, environment variables and flags, each
 * setting parsed and validated by one function of the settings table, with errors that name
 * the setting and where it came from. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "archive/policy.h"
#include "auth/auth.h"
#include "util/date.h"

#define KIB    ((size_t)1024)
#define MIB    (KIB * 1024)
#define GIB    (MIB * 1024)
#define MAX_MS (24 * 3600 * 1000)

typedef eb_rc (*setter)(struct eb_config *c, const char *v, const char *src, struct eb_err *err);

/* One setting: file key `key`, flag --key (with '-' for '_'), environment EHRBRIDGE_KEY. */
struct setting {
    const char *key;  /* "max_body" */
    const char *arg;  /* placeholder in --help: "BYTES" */
    const char *help; /* one line for --help, with the default */
    setter set;
};

void eb_config_defaults(struct eb_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen_host, sizeof c->listen_host, "0.0.0.0");
    c->listen_port = 8080;
    snprintf(c->db_url, sizeof c->db_url, "sqlite:ehrbridge.db");
    c->max_body = 8 * MIB;
    c->max_header = 16 * KIB;
    c->request_timeout_ms = 30 * 1000;
    c->keepalive_timeout_ms = 15 * 1000;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c->workers = cores > 0 && cores < 512 ? (int)cores * 2 : 4;
    if (c->workers < 4)
        c->workers = 4;
    c->workers_auto = 1;
    c->max_connections = 1024;
    c->max_connections_per_peer = 256;
    c->log_level = EB_LOG_INFO;
    c->log_format = EB_LOG_TEXT;
    snprintf(c->attachments, sizeof c->attachments, "db");
    snprintf(c->fetch_allow, sizeof c->fetch_allow, "%s", EB_ARCHIVE_DEFAULT_ALLOW);
    c->max_attachment = 64 * MIB;
    c->fetch_timeout_ms = 300 * 1000;
}

/* ---- value parsers ---- */

/* HOST:PORT into host (cap bytes) and *port_out. */
static eb_rc parse_hostport(const char *v, char *out_host, size_t cap, int *port_out,
                            const char *src, struct eb_err *err)
{
    char host[256];
    const char *port;
    size_t hlen;
    if (v[0] == '[') {
        const char *close = strchr(v, ']');
        if (!close || close[1] != ':')
            return eb_err_set(err, EB_ERR_CONFIG,
                              "%s: must be [IPV6]:PORT, e.g. [::1]:8080 (got \"%.80s\")", src, v);
        hlen = (size_t)(close - v - 1);
        if (hlen >= sizeof host)
            return eb_err_set(err, EB_ERR_CONFIG, "%s: host is too long", src);
        memcpy(host, v + 1, hlen);
        host[hlen] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return eb_err_set(err, EB_ERR_CONFIG, "%s: not an IPv6 address (got \"%.80s\")", src,
                              host);
        port = close + 2;
    } else {
        const char *colon = strrchr(v, ':');
        if (!colon)
            return eb_err_set(err, EB_ERR_CONFIG,
                              "%s: must be HOST:PORT, e.g. 0.0.0.0:8080 (got \"%.80s\")", src, v);
        hlen = (size_t)(colon - v);
        if (memchr(v, ':', hlen))
            return eb_err_set(err, EB_ERR_CONFIG,
                              "%s: an IPv6 address needs brackets, e.g. [::1]:8080 (got \"%.80s\")",
                              src, v);
        if (hlen >= sizeof host)
            return eb_err_set(err, EB_ERR_CONFIG, "%s: host is too long", src);
        memcpy(host, v, hlen);
        host[hlen] = '\0';
        if (!hlen)
            snprintf(host, sizeof host, "0.0.0.0");
        if (strcmp(host, "*") != 0)
            for (const char *p = host; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
                    return eb_err_set(err, EB_ERR_CONFIG,
                                      "%s: not a host name or address (got \"%.80s\")", src, host);
        port = colon + 1;
    }
    long n = 0;
    size_t digits = strspn(port, "0123456789");
    if (digits && digits <= 5 && !port[digits])
        n = strtol(port, NULL, 10);
    if (n < 1 || n > 65535)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: port must be 1-65535 (got \"%.80s\")", src,
                          port);
    if (strlen(host) >= cap)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: host is too long", src);
    snprintf(out_host, cap, "%s", host);
    *port_out = (int)n;
    return EB_OK;
}

static eb_rc set_listen(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    return parse_hostport(v, c->listen_host, sizeof c->listen_host, &c->listen_port, src, err);
}

static eb_rc set_admin_listen(struct eb_config *c, const char *v, const char *src,
                              struct eb_err *err)
{
    return parse_hostport(v, c->admin_listen_host, sizeof c->admin_listen_host,
                          &c->admin_listen_port, src, err);
}

int eb_config_is_loopback(const char *host)
{
    struct in6_addr a6;
    if (!strcmp(host, "localhost"))
        return 1;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    struct in_addr a4;
    return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static eb_rc set_db(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    /* the URL may hold a password: it is never repeated in a message */
    size_t scheme = 0;
    if (isalpha((unsigned char)v[0]))
        scheme = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    if (!scheme || v[scheme] != ':')
        return eb_err_set(err, EB_ERR_CONFIG,
                          "%s: must be a database URL such as sqlite:PATH or "
                          "postgresql://HOST/DB",
                          src);
    if (strlen(v) >= sizeof c->db_url)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: longer than %zu bytes", src,
                          sizeof c->db_url - 1);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return eb_err_set(err, EB_ERR_CONFIG, "%s: contains a control character", src);
    snprintf(c->db_url, sizeof c->db_url, "%s", v);
    return EB_OK;
}

static eb_rc set_db_file(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    char buf[sizeof c->db_url + 2];
    FILE *f = fopen(v, "r");
    if (!f)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: cannot read %.120s: %s", src, v,
                          strerror(errno));
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0'; /* the first line */
    size_t len = strlen(buf);
    while (len && isspace((unsigned char)buf[len - 1]))
        buf[--len] = '\0';
    char where[200];
    snprintf(where, sizeof where, "%s (%.120s)", src, v);
    return set_db(c, buf, where, err);
}

static eb_rc set_public_url(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    size_t skip = strncasecmp(v, "http://", 7) == 0    ? 7
                  : strncasecmp(v, "https://", 8) == 0 ? 8
                                                       : 0;
    if (!v[0]) {
        c->public_url[0] = '\0'; /* derived from each request's Host header */
        return EB_OK;
    }
    if (!skip)
        return eb_err_set(err, EB_ERR_CONFIG,
                          "%s: must start with http:// or https:// (got \"%.120s\")", src, v);
    if (!v[skip] || v[skip] == '/' || v[skip] == '?' || v[skip] == '#')
        return eb_err_set(err, EB_ERR_CONFIG, "%s: has no host (got \"%.120s\")", src, v);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' || *p == '>')
            return eb_err_set(err, EB_ERR_CONFIG,
                              "%s: contains a space or a character not allowed in a URL", src);
    if (strlen(v) >= sizeof c->public_url)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: longer than %zu bytes", src,
                          sizeof c->public_url - 1);
    snprintf(c->public_url, sizeof c->public_url, "%s", v);
    return EB_OK;
}

/* A byte count: digits with an optional K, M or G suffix (powers of 1024; "KB", "KiB" too). */
static int parse_size(const char *v, size_t *out)
{
    size_t digits = strspn(v, "0123456789");
    if (!digits || digits > 12)
        return -1;
    unsigned long long n = strtoull(v, NULL, 10);
    const char *u = v + digits;
    unsigned long long mult = 1;
    if (*u) {
        switch (toupper((unsigned char)*u)) {
        case 'K':
            mult = KIB;
            break;
        case 'M':
            mult = MIB;
            break;
        case 'G':
            mult = GIB;
            break;
        case 'B':
            mult = 1;
            break;
        default:
            return -1;
        }
        if (toupper((unsigned char)*u) != 'B') {
            u++;
            if (*u == 'i' || *u == 'I')
                u++;
            if (*u == 'B' || *u == 'b')
                u++;
        } else {
            u++;
        }
        if (*u)
            return -1;
    }
    if (n > SIZE_MAX / mult)
        return -1;
    *out = (size_t)(n * mult);
    return 0;
}

static eb_rc set_size(size_t *dst, const char *v, const char *src, size_t min, size_t max,
                      const char *range, struct eb_err *err)
{
    size_t n;
    if (parse_size(v, &n))
        return eb_err_set(err, EB_ERR_CONFIG,
                          "%s: must be a size in bytes such as 65536, 512K or 8M (got \"%.80s\")",
                          src, v);
    if (n < min || n > max)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: must be between %s (got \"%.80s\")", src, range,
                          v);
    *dst = n;
    return EB_OK;
}

static eb_rc set_max_body(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    return set_size(&c->max_body, v, src, KIB, GIB, "1K and 1G", err);
}

static eb_rc set_max_buffered(struct eb_config *c, const char *v, const char *src,
                              struct eb_err *err)
{
    return set_size(&c->max_buffered, v, src, KIB, 64 * GIB, "1K and 64G", err);
}

static eb_rc set_max_header(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    return set_size(&c->max_header, v, src, KIB, MIB, "1K and 1M", err);
}

/* A duration: a number of seconds (fractions allowed), or with a unit ms, s or m. */
static int parse_duration(const char *v, int *ms_out)
{
    size_t whole = strspn(v, "0123456789");
    size_t frac = 0;
    const char *p = v + whole;
    if (*p == '.') {
        frac = strspn(p + 1, "0123456789");
        p += 1 + frac;
    }
    if ((!whole && !frac) || whole > 9)
        return -1;
    double n = strtod(v, NULL);
    double mult = 1000;
    if (!strcmp(p, "ms"))
        mult = 1;
    else if (!strcmp(p, "m") || !strcmp(p, "min"))
        mult = 60000;
    else if (*p && strcmp(p, "s"))
        return -1;
    double ms = n * mult;
    if (ms > (double)MAX_MS + 1 || ms < 0)
        ms = (double)MAX_MS + 1; /* out of range, reported by the caller */
    *ms_out = (int)(ms + 0.5);
    if (ms > 0 && *ms_out == 0)
        *ms_out = 1;
    return 0;
}

static eb_rc set_duration(int *dst, const char *v, const char *src, struct eb_err *err)
{
    int ms;
    if (parse_duration(v, &ms))
        return eb_err_set(
            err, EB_ERR_CONFIG,
            "%s: must be a number of seconds such as 30, 0.5 or 500ms (got \"%.80s\")", src, v);
    if (ms < 1 || ms > MAX_MS)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: must be between 1ms and 24h (got \"%.80s\")",
                          src, v);
    *dst = ms;
    return EB_OK;
}

static eb_rc set_request_timeout(struct eb_config *c, const char *v, const char *src,
                                 struct eb_err *err)
{
    return set_duration(&c->request_timeout_ms, v, src, err);
}

static eb_rc set_keepalive_timeout(struct eb_config *c, const char *v, const char *src,
                                   struct eb_err *err)
{
    return set_duration(&c->keepalive_timeout_ms, v, src, err);
}

static eb_rc set_db_wait(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    int ms;
    if (parse_duration(v, &ms) || ms > MAX_MS)
        return eb_err_set(err, EB_ERR_CONFIG,
                          "%s: must be a number of seconds up to 24h such as 60, or 0 for no "
                          "wait (got \"%.80s\")",
                          src, v);
    c->db_wait_ms = ms;
    return EB_OK;
}

static eb_rc set_int(int *dst, const char *v, const char *src, int min, int max, struct eb_err *err)
{
    size_t digits = strspn(v, "0123456789");
    long n = digits && digits <= 9 && !v[digits] ? strtol(v, NULL, 10) : -1;
    if (n < min || n > max)
        return eb_err_set(err, EB_ERR_CONFIG,
                          "%s: must be a whole number between %d and %d (got \"%.80s\")", src, min,
                          max, v);
    *dst = (int)n;
    return EB_OK;
}

static eb_rc set_workers(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    c->workers_auto = 0;
    return set_int(&c->workers, v, src, 1, 1024, err);
}

static eb_rc set_max_connections(struct eb_config *c, const char *v, const char *src,
                                 struct eb_err *err)
{
    return set_int(&c->max_connections, v, src, 1, 1000000, err);
}

static eb_rc set_max_connections_per_peer(struct eb_config *c, const char *v, const char *src,
                                          struct eb_err *err)
{
    return set_int(&c->max_connections_per_peer, v, src, 1, 1000000, err);
}

static eb_rc set_log_level(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    if (!strcasecmp(v, "debug"))
        c->log_level = EB_LOG_DEBUG;
    else if (!strcasecmp(v, "info"))
        c->log_level = EB_LOG_INFO;
    else if (!strcasecmp(v, "warn") || !strcasecmp(v, "warning"))
        c->log_level = EB_LOG_WARN;
    else if (!strcasecmp(v, "error"))
        c->log_level = EB_LOG_ERROR;
    else
        return eb_err_set(err, EB_ERR_CONFIG,
                          "%s: must be debug, info, warn or error (got \"%.80s\")", src, v);
    return EB_OK;
}

static eb_rc set_log_format(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    if (!strcasecmp(v, "text"))
        c->log_format = EB_LOG_TEXT;
    else if (!strcasecmp(v, "json"))
        c->log_format = EB_LOG_JSON;
    else
        return eb_err_set(err, EB_ERR_CONFIG, "%s: must be text or json (got \"%.80s\")", src, v);
    return EB_OK;
}

/* ---- security and REST settings (docs/security.md); secrets are never echoed ---- */

static eb_rc set_file(char *dst, size_t cap, const char *v, const char *src, struct eb_err *err)
{
    if (!v[0]) {
        dst[0] = '\0';
        return EB_OK;
    }
    if (strlen(v) >= cap)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: path longer than %zu bytes", src, cap - 1);
    if (access(v, R_OK) != 0)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: cannot read %.200s: %s", src, v,
                          strerror(errno));
    snprintf(dst, cap, "%s", v);
    return EB_OK;
}

static eb_rc set_tls_cert(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    return set_file(c->tls_cert, sizeof c->tls_cert, v, src, err);
}

static eb_rc set_tls_key(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    return set_file(c->tls_key, sizeof c->tls_key, v, src, err);
}

static eb_rc set_tls_client_ca(struct eb_config *c, const char *v, const char *src,
                               struct eb_err *err)
{
    return set_file(c->tls_client_ca, sizeof c->tls_client_ca, v, src, err);
}

/* A secret given as a value: printable, no control characters; the value is never quoted. */
static eb_rc set_secret(char *dst, size_t cap, const char *v, const char *src, struct eb_err *err)
{
    size_t n = strlen(v);
    if (n >= cap)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: longer than %zu bytes", src, cap - 1);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return eb_err_set(err, EB_ERR_CONFIG, "%s: contains a control character", src);
    snprintf(dst, cap, "%s", v);
    return EB_OK;
}

/* A secret read from a file (container secrets): the whole content without trailing CR/LF. */
static eb_rc set_secret_file(char *dst, size_t cap, const char *v, const char *src,
                             struct eb_err *err)
{
    char buf[4096 + 2];
    FILE *f = fopen(v, "rb");
    if (!f)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: cannot read %.200s: %s", src, v,
                          strerror(errno));
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int bad = ferror(f) || (n == sizeof buf - 1 && fgetc(f) != EOF);
    fclose(f);
    if (bad)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: %.200s is unreadable or too large", src, v);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (!n || strlen(buf) != n)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: %.200s is empty or holds a NUL byte", src, v);
    char where[300];
    snprintf(where, sizeof where, "%s (%.200s)", src, v);
    eb_rc rc = set_secret(dst, cap, buf, where, err);
    memset(buf, 0, sizeof buf);
    return rc;
}

static eb_rc set_bearer_token(struct eb_config *c, const char *v, const char *src,
                              struct eb_err *err)
{
    return set_secret(c->bearer_token, sizeof c->bearer_token, v, src, err);
}

static eb_rc set_bearer_token_file(struct eb_config *c, const char *v, const char *src,
                                   struct eb_err *err)
{
    return set_secret_file(c->bearer_token, sizeof c->bearer_token, v, src, err);
}

static eb_rc set_sign_key(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    return set_secret(c->sign_key, sizeof c->sign_key, v, src, err);
}

static eb_rc set_sign_key_file(struct eb_config *c, const char *v, const char *src,
                               struct eb_err *err)
{
    return set_secret_file(c->sign_key, sizeof c->sign_key, v, src, err);
}

static eb_rc set_basic_user(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    if (strchr(v, ':'))
        return eb_err_set(err, EB_ERR_CONFIG, "%s: a Basic user name cannot contain ':'", src);
    return set_secret(c->basic_user, sizeof c->basic_user, v, src, err);
}

static eb_rc set_basic_password(struct eb_config *c, const char *v, const char *src,
                                struct eb_err *err)
{
    return set_secret(c->basic_password, sizeof c->basic_password, v, src, err);
}

static eb_rc set_basic_password_file(struct eb_config *c, const char *v, const char *src,
                                     struct eb_err *err)
{
    return set_secret_file(c->basic_password, sizeof c->basic_password, v, src, err);
}

/* An address list, stored as the ranges it was read as: an IPv4-mapped range in its IPv4 form
 * ("::ffff:192.0.2.0/120" is kept as "192.0.2.0/24"), so that what the settings show is what
 * client addresses are compared with. */
static eb_rc set_cidr_list(char *dst, size_t cap, const char *v, const char *src,
                           struct eb_err *err)
{
    char why[160], text[64];
    struct eb_cidr ranges[256];
    if (strlen(v) >= cap)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: longer than %zu bytes", src, cap - 1);
    int n = eb_auth_cidrs_parse(v, ranges, sizeof ranges / sizeof ranges[0], why, sizeof why);
    if (n < 0)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: %s", src, why);
    size_t len = 0;
    dst[0] = '\0';
    for (int i = 0; i < n; i++) {
        eb_auth_cidr_text(&ranges[i], text, sizeof text);
        int k = snprintf(dst + len, cap - len, "%s%s", i ? ", " : "", text);
        if (k < 0 || (size_t)k >= cap - len)
            return eb_err_set(err, EB_ERR_CONFIG, "%s: longer than %zu bytes", src, cap - 1);
        len += (size_t)k;
    }
    return EB_OK;
}

static eb_rc set_allow(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    return set_cidr_list(c->allow, sizeof c->allow, v, src, err);
}

static eb_rc set_retention(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    return set_int(&c->retention_days, v, src, 0, 100 * 366, err);
}

static eb_rc set_admin_allow(struct eb_config *c, const char *v, const char *src,
                             struct eb_err *err)
{
    return set_cidr_list(c->admin_allow, sizeof c->admin_allow, v, src, err);
}

static eb_rc set_admin_user(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    if (strchr(v, ':'))
        return eb_err_set(err, EB_ERR_CONFIG, "%s: a Basic user name cannot contain ':'", src);
    return set_secret(c->admin_user, sizeof c->admin_user, v, src, err);
}

static eb_rc set_admin_password_file(struct eb_config *c, const char *v, const char *src,
                                     struct eb_err *err)
{
    return set_secret_file(c->admin_password, sizeof c->admin_password, v, src, err);
}

/* Host names: letters, digits, '.', '-', '_', ':' and brackets (an IPv6 literal), comma
 * separated. */
static eb_rc set_admin_host(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    if (strlen(v) >= sizeof c->admin_host)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: longer than %zu bytes", src,
                          sizeof c->admin_host - 1);
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-_:[], ", *p))
            return eb_err_set(err, EB_ERR_CONFIG, "%s: not a list of host names (got \"%.80s\")",
                              src, v);
    snprintf(c->admin_host, sizeof c->admin_host, "%s", v);
    return EB_OK;
}

static eb_rc set_trusted_proxy(struct eb_config *c, const char *v, const char *src,
                               struct eb_err *err)
{
    return set_cidr_list(c->trusted_proxy, sizeof c->trusted_proxy, v, src, err);
}

/* Key material: exactly n bytes of text, or 2n hex digits. */
static int parse_key_bytes(const char *v, unsigned char *out, size_t n)
{
    size_t len = strlen(v);
    if (len == 2 * n && strspn(v, "0123456789abcdefABCDEF") == len) {
        for (size_t i = 0; i < n; i++) {
            char pair[3] = {v[2 * i], v[2 * i + 1], '\0'};
            out[i] = (unsigned char)strtoul(pair, NULL, 16);
        }
        return 0;
    }
    if (len == n) {
        memcpy(out, v, n);
        return 0;
    }
    return -1;
}

static eb_rc set_aes_key(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    if (!v[0]) {
        c->has_aes_key = 0;
        return EB_OK;
    }
    if (parse_key_bytes(v, c->aes_key, sizeof c->aes_key))
        return eb_err_set(err, EB_ERR_CONFIG,
                          "%s: must be 32 bytes of text or 64 hex digits (got %zu characters)", src,
                          strlen(v));
    c->has_aes_key = 1;
    return EB_OK;
}

static eb_rc set_aes_key_file(struct eb_config *c, const char *v, const char *src,
                              struct eb_err *err)
{
    char key[80];
    eb_rc rc = set_secret_file(key, sizeof key, v, src, err);
    if (!rc)
        rc = set_aes_key(c, key, src, err);
    memset(key, 0, sizeof key);
    return rc;
}

static eb_rc set_aes_iv(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    if (!v[0]) {
        c->has_aes_iv = 0;
        return EB_OK;
    }
    if (parse_key_bytes(v, c->aes_iv, sizeof c->aes_iv))
        return eb_err_set(err, EB_ERR_CONFIG,
                          "%s: must be 16 bytes of text or 32 hex digits (got %zu characters)", src,
                          strlen(v));
    c->has_aes_iv = 1;
    return EB_OK;
}

/* A redirect URL template: http(s), no blanks, placeholders {applicationId} {candidateId}
 * {pushId} only. */
static eb_rc set_template(char *dst, size_t cap, const char *v, const char *src, struct eb_err *err)
{
    static const char *const known[] = {"{applicationId}", "{candidateId}", "{pushId}"};
    if (!v[0]) {
        dst[0] = '\0';
        return EB_OK;
    }
    if (strncasecmp(v, "http://", 7) != 0 && strncasecmp(v, "https://", 8) != 0)
        return eb_err_set(err, EB_ERR_CONFIG,
                          "%s: must start with http:// or https:// (got \"%.120s\")", src, v);
    if (strlen(v) >= cap)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: longer than %zu bytes", src, cap - 1);
    for (const char *p = v; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
            return eb_err_set(err, EB_ERR_CONFIG,
                              "%s: contains a space or a character not allowed in a URL", src);
        if (*p == '{') {
            size_t k = 0;
            while (k < sizeof known / sizeof known[0] && strncmp(p, known[k], strlen(known[k])))
                k++;
            if (k == sizeof known / sizeof known[0])
                return eb_err_set(err, EB_ERR_CONFIG,
                                  "%s: unknown placeholder (known: {applicationId}, "
                                  "{candidateId}, {pushId})",
                                  src);
            p += strlen(known[k]) - 1;
        }
    }
    snprintf(dst, cap, "%s", v);
    return EB_OK;
}

static eb_rc set_redirect_pc_url(struct eb_config *c, const char *v, const char *src,
                                 struct eb_err *err)
{
    return set_template(c->redirect_pc_url, sizeof c->redirect_pc_url, v, src, err);
}

static eb_rc set_redirect_mobile_url(struct eb_config *c, const char *v, const char *src,
                                     struct eb_err *err)
{
    return set_template(c->redirect_mobile_url, sizeof c->redirect_mobile_url, v, src, err);
}

static eb_rc set_mapping(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    return set_file(c->mapping, sizeof c->mapping, v, src, err);
}

static eb_rc set_max_age(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    return set_int(&c->max_age_s, v, src, 0, 10 * 366 * 24 * 3600, err);
}

static eb_rc set_attachments(struct eb_config *c, const char *v, const char *src,
                             struct eb_err *err)
{
    if (strcmp(v, "db") && strcmp(v, "off") && (strncmp(v, "dir:", 4) || !v[4]))
        return eb_err_set(err, EB_ERR_CONFIG, "%s: must be db, off or dir:PATH (got \"%.80s\")",
                          src, v);
    if (strlen(v) >= sizeof c->attachments)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: path too long", src);
    snprintf(c->attachments, sizeof c->attachments, "%s", v);
    return EB_OK;
}

static eb_rc set_fetch_allow(struct eb_config *c, const char *v, const char *src,
                             struct eb_err *err)
{
    struct eb_allow_list *l = malloc(sizeof *l);
    if (!l)
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    eb_rc rc = strlen(v) >= sizeof c->fetch_allow
                   ? eb_err_set(err, EB_ERR_CONFIG, "%s: list too long", src)
                   : eb_allow_parse(v, l, err);
    free(l);
    if (rc)
        return rc;
    snprintf(c->fetch_allow, sizeof c->fetch_allow, "%s", v);
    return EB_OK;
}

static eb_rc set_fetch_proxy(struct eb_config *c, const char *v, const char *src,
                             struct eb_err *err)
{
    if (v[0] && !strstr(v, "://"))
        return eb_err_set(err, EB_ERR_CONFIG, "%s: must be a URL such as http://proxy:3128", src);
    if (strlen(v) >= sizeof c->fetch_proxy)
        return eb_err_set(err, EB_ERR_CONFIG, "%s: URL too long", src);
    snprintf(c->fetch_proxy, sizeof c->fetch_proxy, "%s", v);
    return EB_OK;
}

static eb_rc set_fetch_ca(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    return set_file(c->fetch_ca, sizeof c->fetch_ca, v, src, err);
}

static eb_rc set_max_attachment(struct eb_config *c, const char *v, const char *src,
                                struct eb_err *err)
{
    return set_size(&c->max_attachment, v, src, 1, 16 * GIB, "1 byte and 16G", err);
}

static eb_rc set_fetch_timeout(struct eb_config *c, const char *v, const char *src,
                               struct eb_err *err)
{
    return set_duration(&c->fetch_timeout_ms, v, src, err);
}

static eb_rc set_timezone(struct eb_config *c, const char *v, const char *src, struct eb_err *err)
{
    struct eb_err why = {0};
    if (eb_date_zone_check(v, &why))
        return eb_err_set(err, EB_ERR_CONFIG, "%s: %s", src, why.msg);
    snprintf(c->timezone, sizeof c->timezone, "%s", v);
    return EB_OK;
}

/* Settings that only make sense together. */
static eb_rc check_security(const struct eb_config *c, struct eb_err *err)
{
    if (!c->tls_cert[0] != !c->tls_key[0])
        return eb_err_set(err, EB_ERR_CONFIG, "--tls-cert and --tls-key must be given together");
    if (c->tls_client_ca[0] && !c->tls_cert[0])
        return eb_err_set(err, EB_ERR_CONFIG,
                          "--tls-client-ca needs HTTPS (--tls-cert and --tls-key)");
    if (!c->basic_user[0] != !c->basic_password[0])
        return eb_err_set(err, EB_ERR_CONFIG,
                          "--basic-user and --basic-password must be given together");
    if (c->has_aes_iv && !c->has_aes_key)
        return eb_err_set(err, EB_ERR_CONFIG, "--aes-iv needs --aes-key");
    if (!c->admin_user[0] != !c->admin_password[0])
        return eb_err_set(err, EB_ERR_CONFIG,
                          "--admin-user and --admin-password-file must be given together");
    if (c->admin_listen_port && !c->admin_user[0] && !eb_config_is_loopback(c->admin_listen_host))
        return eb_err_set(err, EB_ERR_CONFIG,
                          "--admin-listen off loopback needs --admin-user and "
                          "--admin-password-file");
    if (c->admin_listen_port && c->admin_listen_port == c->listen_port)
        return eb_err_set(err, EB_ERR_CONFIG, "--admin-listen needs a port of its own");
    if (c->max_buffered && c->max_buffered < c->max_body)
        return eb_err_set(err, EB_ERR_CONFIG,
                          "--max-buffered (%zu bytes) must be at least --max-body (%zu bytes)",
                          c->max_buffered, c->max_body);
    return EB_OK;
}

static const struct setting settings[] = {
    {"listen", "HOST:PORT",
     "where to listen; [::]:PORT for IPv6 and IPv4, *:PORT for all (default 0.0.0.0:8080)",
     set_listen},
    {"db", "URL",
     "sqlite:PATH, postgresql://USER@HOST/DB or odbc:DSN=... (default sqlite:ehrbridge.db)",
     set_db},
    {"db_file", "FILE", "read the database URL from the first line of FILE (container secrets)",
     set_db_file},
    {"db_wait", "SECONDS",
     "serve: at start, wait this long for a database that cannot be reached yet (default 0: "
     "fail at once)",
     set_db_wait},
    {"public_url", "URL",
     "the http(s) URL Moka calls, written into the WSDL (default: from the Host header)",
     set_public_url},
    {"max_body", "BYTES", "largest request body, K/M suffixes allowed (default 8M)", set_max_body},
    {"max_buffered", "BYTES",
     "request bodies held in memory, all connections together; beyond it bodies wait unread, "
     "and 503 after --request-timeout (default 64M, or --max-body when larger)",
     set_max_buffered},
    {"max_header", "BYTES", "largest request line and headers (default 16K)", set_max_header},
    {"request_timeout", "SECONDS", "time to receive one whole request (default 30)",
     set_request_timeout},
    {"keepalive_timeout", "SECONDS", "idle time allowed between requests (default 15)",
     set_keepalive_timeout},
    {"workers", "N",
     "worker threads (default 2 x CPU cores, at least 4; with SQLite, whose writer thread "
     "commits for them, the number of cores, at least 2)",
     set_workers},
    {"max_connections", "N", "open connections in total (default 1024)", set_max_connections},
    {"max_connections_per_peer", "N", "open connections per client address (default 256)",
     set_max_connections_per_peer},
    {"log_level", "LEVEL", "debug, info, warn or error (default info)", set_log_level},
    {"log_format", "FORMAT", "text or json (default text)", set_log_format},
    {"tls_cert", "FILE", "PEM certificate (chain): serve HTTPS, TLS 1.2/1.3 (with --tls-key)",
     set_tls_cert},
    {"tls_key", "FILE", "PEM private key of --tls-cert; both reloaded on SIGHUP", set_tls_key},
    {"tls_client_ca", "FILE", "PEM CA file: require a client certificate it signed (mTLS)",
     set_tls_client_ca},
    {"bearer_token", "TOKEN", "accept pushes with Authorization: Bearer TOKEN", set_bearer_token},
    {"bearer_token_file", "FILE", "read --bearer-token from FILE", set_bearer_token_file},
    {"sign_key", "KEY", "the vendor's signing key: HMAC-SHA256 of the body in ?sign= (or Bearer)",
     set_sign_key},
    {"sign_key_file", "FILE", "read --sign-key from FILE", set_sign_key_file},
    {"basic_user", "USER", "accept pushes with HTTP Basic USER (with --basic-password)",
     set_basic_user},
    {"basic_password", "PASSWORD", "the HTTP Basic password", set_basic_password},
    {"basic_password_file", "FILE", "read --basic-password from FILE", set_basic_password_file},
    {"allow", "CIDR,...", "only these source addresses may push (IPv4/IPv6; 403 otherwise)",
     set_allow},
    {"trusted_proxy", "CIDR,...", "peers whose X-Forwarded-For gives the source address",
     set_trusted_proxy},
    {"aes_key", "KEY", "decrypt AES-256-CBC data: 32 bytes of text or 64 hex digits", set_aes_key},
    {"aes_key_file", "FILE", "read --aes-key from FILE", set_aes_key_file},
    {"aes_iv", "IV", "fixed IV, 16 bytes or 32 hex digits (default: ciphertext starts with it)",
     set_aes_iv},
    {"redirect_pc_url", "TEMPLATE",
     "REST answers carry redirectUrl.pcUrl ({applicationId} {candidateId} {pushId})",
     set_redirect_pc_url},
    {"redirect_mobile_url", "TEMPLATE", "REST answers carry redirectUrl.mobileUrl",
     set_redirect_mobile_url},
    {"max_age", "SECONDS", "refuse pushes whose triggeredAt is older (default 0: off)",
     set_max_age},
    {"timezone", "ZONE",
     "the EHR's time zone (IANA name, default UTC): dates accurate to the day that arrive as a "
     "time become the date there; times without a zone are read there",
     set_timezone},
    {"mapping", "FILE",
     "write candidates into the tables of a mapping file (docs/legacy-mapping.md) instead of "
     "the default schema",
     set_mapping},
    {"retention", "DAYS",
     "purge the payload and raw body of pushes older than DAYS, keeping their outcome row "
     "(default 0: keep)",
     set_retention},
    {"admin_listen", "HOST:PORT",
     "serve the operators' push browser, its API and /metrics here (default: off; /metrics then "
     "leaves the public port)",
     set_admin_listen},
    {"admin_user", "USER", "HTTP Basic user of the admin listener (with --admin-password-file)",
     set_admin_user},
    {"admin_password_file", "FILE", "read the admin listener's Basic password from FILE",
     set_admin_password_file},
    {"admin_allow", "CIDR,...", "only these source addresses may reach the admin listener",
     set_admin_allow},
    {"admin_host", "NAME,...",
     "Host header names the admin listener answers besides its own address (DNS rebinding)",
     set_admin_host},
    {"attachments", "db|off|dir:PATH",
     "keep the record's downloaded files in the database, a directory, or not at all (default db)",
     set_attachments},
    {"fetch_allow", "PATTERN,...",
     "download links only from scheme://host[:port] (*.domain allowed; default "
     "https://*.mokahr.com,https://*.aliyuncs.com)",
     set_fetch_allow},
    {"fetch_proxy", "URL", "fetch download links through this proxy (default: none)",
     set_fetch_proxy},
    {"fetch_ca", "FILE", "PEM CAs trusted for download links beside the system's", set_fetch_ca},
    {"max_attachment", "BYTES", "largest file kept from a download link (default 64M)",
     set_max_attachment},
    {"fetch_timeout", "SECONDS", "time for one whole download (default 300)", set_fetch_timeout},
};

#define N_SETTINGS (sizeof settings / sizeof settings[0])

static void flag_name(const struct setting *s, char *out, size_t n)
{
    snprintf(out, n, "--%s", s->key);
    for (char *p = out + 2; *p; p++)
        if (*p == '_')
            *p = '-';
}

static void env_name(const struct setting *s, char *out, size_t n)
{
    snprintf(out, n, "EHRBRIDGE_%s", s->key);
    for (char *p = out; *p; p++)
        *p = (char)toupper((unsigned char)*p);
}

/* The setting named name (file key, or flag name without "--"; '-' and '_' are the same). */
static const struct setting *find_setting(const char *name, size_t len)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const char *k = settings[i].key;
        size_t j = 0;
        for (; j < len && k[j]; j++)
            if (k[j] != name[j] && !(k[j] == '_' && name[j] == '-'))
                break;
        if (j == len && !k[j])
            return &settings[i];
    }
    return NULL;
}

static const char *env_get(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (; envp && *envp; envp++)
        if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static eb_rc load_file(struct eb_config *c, const char *path, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return eb_err_set(err, EB_ERR_CONFIG, "config file %.200s: cannot open: %s", path,
                          strerror(errno));
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = eb_err_set(err, EB_ERR_CONFIG, "config file %.200s line %d: expected key = value",
                            path, lineno);
            goto out;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        size_t vlen = strlen(value);
        if (vlen >= 2 && (value[0] == '"' || value[0] == '\'') && value[vlen - 1] == value[0]) {
            value[vlen - 1] = '\0';
            value++;
        }
        const struct setting *st = find_setting(key, strlen(key));
        if (!st) {
            rc = eb_err_set(err, EB_ERR_CONFIG, "config file %.200s line %d: unknown key \"%.60s\"",
                            path, lineno, key);
            goto out;
        }
        char src[300];
        snprintf(src, sizeof src, "config file %.200s line %d: %s", path, lineno, st->key);
        rc = st->set(c, value, src, err);
        if (rc)
            goto out;
    }
    if (ferror(f))
        rc = eb_err_set(err, EB_ERR_CONFIG, "config file %.200s: read error", path);
out:
    free(line);
    fclose(f);
    return rc;
}

eb_rc eb_config_load(struct eb_config *c, int argc, char **argv, char **envp, int *argi_out,
                     struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct flag {
        const struct setting *s;
        const char *value;
    } *flags = NULL;
    size_t n_flags = 0;
    const char *config_path = NULL;
    int i = 0;
    eb_config_defaults(c);
    if (argc > 0) {
        flags = calloc((size_t)argc, sizeof *flags);
        if (!flags)
            return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    }
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || !a[1])
            break; /* the first argument that is not an option */
        if (a[1] != '-') {
            rc = eb_err_set(err, EB_ERR_CONFIG, "unknown option \"%.60s\" (see --help)", a);
            goto out;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct setting *st = find_setting(name, len);
        int is_config = len == 6 && !strncmp(name, "config", 6);
        if (!st && !is_config) {
            rc = eb_err_set(err, EB_ERR_CONFIG, "unknown option \"--%.*s\" (see --help)",
                            (int)(len > 60 ? 60 : len), name);
            goto out;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)) {
                rc = eb_err_set(err, EB_ERR_CONFIG, "--%.*s: missing value", (int)len, name);
                goto out;
            }
            value = argv[++i];
        }
        if (is_config) {
            config_path = value;
        } else {
            flags[n_flags].s = st;
            flags[n_flags].value = value;
            n_flags++;
        }
    }
    if (i < argc && !argi_out) {
        rc = eb_err_set(err, EB_ERR_CONFIG, "unexpected argument \"%.60s\"", argv[i]);
        goto out;
    }
    if (argi_out)
        *argi_out = i;

    /* file < environment < flags */
    if (!config_path) {
        config_path = env_get(envp, "EHRBRIDGE_CONFIG");
        if (config_path && !*config_path)
            config_path = NULL;
    }
    if (config_path) {
        if (strlen(config_path) >= sizeof c->config_file) {
            rc = eb_err_set(err, EB_ERR_CONFIG, "--config: path too long");
            goto out;
        }
        snprintf(c->config_file, sizeof c->config_file, "%s", config_path);
        rc = load_file(c, config_path, err);
        if (rc)
            goto out;
    }
    for (size_t k = 0; k < N_SETTINGS; k++) {
        char name[64];
        env_name(&settings[k], name, sizeof name);
        const char *v = env_get(envp, name);
        if (v && *v && (rc = settings[k].set(c, v, name, err)))
            goto out;
    }
    for (size_t k = 0; k < n_flags; k++) {
        char name[64];
        flag_name(flags[k].s, name, sizeof name);
        if ((rc = flags[k].s->set(c, flags[k].value, name, err)))
            goto out;
    }
    rc = check_security(c, err);
out:
    free(flags);
    return rc;
}

void eb_config_usage(FILE *out)
{
    fprintf(out, "Options (precedence: flag > environment > config file > default):\n");
    fprintf(out, "  --config FILE\n      the config file; environment EHRBRIDGE_CONFIG\n");
    for (size_t i = 0; i < N_SETTINGS; i++) {
        char flag[64], env[64], left[96];
        flag_name(&settings[i], flag, sizeof flag);
        env_name(&settings[i], env, sizeof env);
        snprintf(left, sizeof left, "%s %s", flag, settings[i].arg);
        fprintf(out, "  %s\n      %s\n      environment %s, file key %s\n", left, settings[i].help,
                env, settings[i].key);
    }
    fprintf(out,
            "\nConfig file: one \"key = value\" per line (keys as above; '-' and '_' are the\n"
            "same); lines starting with # are comments; a value may be quoted. Sizes take K, M\n"
            "or G suffixes (powers of 1024); timeouts are seconds, or a number with ms, s or m.\n"
            "Empty environment variables are ignored.\n");
}

void eb_config_listen_text(const struct eb_config *c, char *out, size_t n)
{
    snprintf(out, n, strchr(c->listen_host, ':') ? "[%s]:%d" : "%s:%d", c->listen_host,
             c->listen_port);
}

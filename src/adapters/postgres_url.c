/* The PostgreSQL adapter's URL: a libpq URI or key=value string, ehrbridge's statement_timeout
 * option taken out of it, and the connection defaults the URL may override. */

#include "adapters/postgres_int.h"

/* ---- the URL ----------------------------------------------------------------------------- */

/* Parses a statement timeout: N (ms), Nms, Ns, Nmin; 0 = none. -1 when malformed. */
static long parse_timeout(const char *v, size_t len)
{
    char buf[24];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    char *end;
    if (!isdigit((unsigned char)buf[0]))
        return -1;
    long long n = strtoll(buf, &end, 10);
    long long mul = 1;
    if (!*end || !strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "s"))
        mul = 1000;
    else if (!strcmp(end, "min"))
        mul = 60000;
    else
        return -1;
    if (n < 0 || n > 86400000LL / mul)
        return -1;
    return (long)(n * mul);
}

/* Appends len bytes to a growing string. */
int eb_pg_append(char **s, size_t *n, const char *p, size_t len)
{
    char *r = realloc(*s, *n + len + 1);
    if (!r)
        return 0;
    memcpy(r + *n, p, len);
    *n += len;
    r[*n] = '\0';
    *s = r;
    return 1;
}

#define TIMEOUT_KEY "statement_timeout"
#define WRITERS_KEY "writers"

/* Takes ehrbridge's own options out of the URL: statement_timeout, and writers (the writer
 * connections of a process, 1 to EB_ADAPTER_MAX_WRITERS). 1: taken; 0: not ours (libpq's); an
 * error when the value is bad. */
static int own_option(struct pg_adapter *g, const char *key, size_t klen, const char *v, size_t vl,
                      eb_rc *rc, struct eb_err *err)
{
    if (klen == sizeof TIMEOUT_KEY - 1 && strncmp(key, TIMEOUT_KEY, klen) == 0) {
        if ((g->timeout_ms = parse_timeout(v, vl)) < 0)
            *rc = eb_err_set(err, EB_ERR_CONFIG,
                             "bad postgres option statement_timeout (N, Nms, Ns or Nmin)");
        return 1;
    }
    if (klen == sizeof WRITERS_KEY - 1 && strncmp(key, WRITERS_KEY, klen) == 0) {
        int n = 0;
        for (size_t i = 0; i < vl && n <= EB_ADAPTER_MAX_WRITERS; i++)
            n = isdigit((unsigned char)v[i]) ? n * 10 + (v[i] - '0') : EB_ADAPTER_MAX_WRITERS + 1;
        if (n < 1 || n > EB_ADAPTER_MAX_WRITERS)
            *rc = eb_err_set(err, EB_ERR_CONFIG, "bad postgres option writers (1 to %d)",
                             EB_ADAPTER_MAX_WRITERS);
        g->writers = n;
        return 1;
    }
    return 0;
}

/* URI form: "postgresql://" + rest, with statement_timeout taken out of the query. */
static eb_rc parse_uri(struct pg_adapter *g, const char *rest, struct eb_err *err)
{
    size_t n = 0;
    char *out = NULL;
    const char *q = strchr(rest, '?');
    size_t head = q ? (size_t)(q - rest) : strlen(rest);
    if (!eb_pg_append(&out, &n, "postgresql://", 13) || !eb_pg_append(&out, &n, rest, head))
        goto nomem;
    /* the password as written, to scrub it from libpq's messages */
    size_t auth = strcspn(rest, "/?");
    const char *at = NULL;
    for (const char *c = rest; c < rest + auth; c++)
        if (*c == '@')
            at = c;
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        if (colon && at > colon + 1 &&
            !(g->secret[0] = strndup(colon + 1, (size_t)(at - colon - 1))))
            goto nomem;
    }
    int first = 1;
    while (q && *q) {
        const char *opt = q + 1;
        q = strchr(opt, '&');
        size_t len = q ? (size_t)(q - opt) : strlen(opt);
        const char *eq = memchr(opt, '=', len);
        eb_rc rc = EB_OK;
        if (eq && own_option(g, opt, (size_t)(eq - opt), eq + 1, len - (size_t)(eq - opt) - 1, &rc,
                             err)) {
            if (rc) {
                free(out);
                return rc;
            }
            continue;
        }
        if (!len)
            continue;
        if (!eb_pg_append(&out, &n, first ? "?" : "&", 1) || !eb_pg_append(&out, &n, opt, len))
            goto nomem;
        first = 0;
    }
    g->conninfo = out;
    return EB_OK;
nomem:
    free(out);
    return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
}

/* key=value form: the string as given, with the statement_timeout key taken out. Values follow
 * libpq's rules: bare words, or single-quoted with \' and \\ escapes. */
static eb_rc parse_keyvalue(struct pg_adapter *g, const char *s, struct eb_err *err)
{
    size_t n = 0;
    char *out = NULL;
    if (!eb_pg_append(&out, &n, "", 0))
        goto nomem;
    const char *p = s;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *key = p;
        while (*p && *p != '=' && !isspace((unsigned char)*p))
            p++;
        size_t klen = (size_t)(p - key);
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '=') {
            free(out);
            return eb_err_set(err, EB_ERR_CONFIG,
                              "bad postgres connection string: expected key=value");
        }
        p++;
        while (isspace((unsigned char)*p))
            p++;
        const char *val = p;
        if (*p == '\'') {
            p++;
            while (*p && *p != '\'') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (*p != '\'') {
                free(out);
                return eb_err_set(err, EB_ERR_CONFIG,
                                  "bad postgres connection string: unterminated quoted value");
            }
            p++;
        } else {
            while (*p && !isspace((unsigned char)*p))
                p++;
        }
        size_t vlen = (size_t)(p - val);
        const char *v = val; /* ours are numbers: quoted, they have no escapes */
        size_t vl = vlen;
        if (vl >= 2 && v[0] == '\'') {
            v++;
            vl -= 2;
        }
        eb_rc rc = EB_OK;
        if (own_option(g, key, klen, v, vl, &rc, err)) {
            if (rc) {
                free(out);
                return rc;
            }
            continue;
        }
        if (klen == 8 && strncmp(key, "password", 8) == 0 && vlen && !g->secret[0]) {
            if (!(g->secret[0] = strndup(val, vlen)))
                goto nomem;
        }
        if ((n && !eb_pg_append(&out, &n, " ", 1)) ||
            !eb_pg_append(&out, &n, key, (size_t)(p - key)))
            goto nomem;
    }
    g->conninfo = out;
    return EB_OK;
nomem:
    free(out);
    return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
}

/* Accepts postgresql://..., postgres://... (URI) and postgresql:k=v ..., postgres:k=v ...;
 * checks the result with libpq's own parser and fills the connection parameters. */
eb_rc eb_pg_parse_url(struct pg_adapter *g, const char *url, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    const char *rest = NULL;
    if (strncasecmp(url, "postgresql:", 11) == 0)
        rest = url + 11;
    else if (strncasecmp(url, "postgres:", 9) == 0)
        rest = url + 9;
    else
        return eb_err_set(err, EB_ERR_CONFIG, "not a postgres URL (postgresql://...)");
    g->timeout_ms = STATEMENT_TIMEOUT_MS;
    g->writers = DEFAULT_WRITERS;
    if (rest[0] == '/' && rest[1] == '/')
        rc = parse_uri(g, rest + 2, err);
    else
        rc = parse_keyvalue(g, rest, err);
    if (rc)
        return rc;

    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(g->conninfo, &perr);
    if (!opts) {
        char line[200];
        eb_pg_one_line(g, line, sizeof line, perr ? perr : "out of memory");
        PQfreemem(perr);
        return eb_err_set(err, EB_ERR_CONFIG, "bad postgres URL: %s", line);
    }
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (!strcmp(o->keyword, "password") && o->val && o->val[0] && !g->secret[1])
            g->secret[1] = strdup(o->val);
    PQconninfoFree(opts);

    /* defaults first (the URL overrides them), then the URL, then what is always ours */
    static const char *const defaults[][2] = {
        {"connect_timeout", "5"},          {"keepalives", "1"},       {"keepalives_idle", "30"},
        {"keepalives_interval", "10"},     {"keepalives_count", "3"}, {"tcp_user_timeout", "30000"},
        {"application_name", "ehrbridge"},
    };
    size_t k = 0;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        g->keys[k] = defaults[i][0];
        g->vals[k++] = defaults[i][1];
    }
    g->keys[k] = "dbname";
    g->vals[k++] = g->conninfo;
    g->keys[k] = "client_encoding";
    g->vals[k++] = "UTF8";
    g->keys[k] = NULL;
    g->vals[k] = NULL;
    return EB_OK;
}

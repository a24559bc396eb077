/* The admin listener (admin.h): access policy, routes, the JSON API and the embedded page.
 *
 * API (JSON; errors are {"error": "..."} with a 4xx/5xx status):
 *   GET  /api/session                  the CSRF token and what the database can search
 *   GET  /api/pushes?outcome=&q=&application_id=&since=&until=&cursor=&limit=
 *                                      newest first, keyset pages: next_cursor or null
 *   GET  /api/pushes/{push_id}         the row, the candidate read from its payload, the payload,
 *                                      its attachments (the queue's rows, URLs without query)
 *   POST /api/pushes/{push_id}/replay  `ehrbridge replay` of that push (X-CSRF-Token needed)
 *   GET  /api/stats?window=24h|7d      counts by outcome per hour (24h) or per 6 hours (7d)
 *   GET  /api/attachments/{id}         the stored file, its Content-Type and name (Content-
 *                                      Disposition: attachment); 404 unless stored and kept.
 *                                      The transport sends a body it holds whole: a file is
 *                                      read chunk by chunk into it, at most MAX_DOWNLOAD bytes
 * Page: GET / (index.html), /app.css, /app.js; and /metrics, /healthz, /readyz. */
#include "admin/admin.h"

#include <ctype.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive/policy.h"
#include "auth/auth.h"
#include "replay.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/log.h"
#include "util/metrics.h"

/* The page, compiled in from src/admin/page/ (cmake/embed.cmake). */
extern const char eb_admin_html_text[];
extern const size_t eb_admin_html_len;
extern const char eb_admin_css_text[];
extern const size_t eb_admin_css_len;
extern const char eb_admin_js_text[];
extern const size_t eb_admin_js_len;

#define MAX_CIDRS   64
#define MAX_HOSTS   16
#define PAGE_LIMIT  50  /* rows per page unless limit= says otherwise */
#define MAX_LIMIT   500 /* limit= at most */
#define MAX_CURSOR  600 /* bytes of a cursor */
#define MAX_PAYLOAD ((size_t)16 << 20)
#define XML_DEPTH   64 /* nesting of a payload turned into JSON */
/* The largest file GET /api/attachments/{id} sends: the transport's bound on a response body
 * (transport/server.c MAX_RESPONSE), which --max-attachment's default matches. */
#define MAX_DOWNLOAD   ((int64_t)64 << 20)
#define NAME_MAX_BYTES 180 /* bytes of a file name put in Content-Disposition */

/* Sent with every answer of the listener: nothing inline runs, nothing frames the page, nothing
 * is cached (the answers hold personal data), nothing is sniffed or referred. */
static const char security_headers[] =
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'\r\n"
    "X-Frame-Options: DENY\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Cross-Origin-Resource-Policy: same-origin\r\n"
    "Cache-Control: no-store\r\n";

/* A download: the same, and a sandbox, should a browser ever render the file in this origin. */
static const char download_headers[] = "Content-Security-Policy: sandbox; default-src 'none'\r\n"
                                       "X-Frame-Options: DENY\r\n"
                                       "X-Content-Type-Options: nosniff\r\n"
                                       "Referrer-Policy: no-referrer\r\n"
                                       "Cross-Origin-Resource-Policy: same-origin\r\n"
                                       "Cache-Control: no-store\r\n";

static const char challenge[] = "Basic realm=\"ehrbridge admin\", charset=\"UTF-8\"";
static const char json_ctype[] = "application/json; charset=utf-8";

struct eb_admin {
    const struct eb_config *cfg;
    struct eb_cidr allow[MAX_CIDRS]; /* --admin-allow */
    int n_allow;                     /* 0: any source */
    char hosts[MAX_HOSTS][256];      /* Host names accepted, lower case, without port */
    int n_hosts;
    char csrf[65]; /* the token every POST carries in X-CSRF-Token */
};

static void add_host(struct eb_admin *a, const char *h, size_t n)
{
    if (!n || n >= sizeof a->hosts[0] || a->n_hosts >= MAX_HOSTS)
        return;
    if (h[0] == '[' && n > 2 && h[n - 1] == ']') { /* an IPv6 literal is kept bare */
        h++;
        n -= 2;
    }
    for (size_t i = 0; i < n; i++)
        a->hosts[a->n_hosts][i] = (char)tolower((unsigned char)h[i]);
    a->hosts[a->n_hosts][n] = '\0';
    a->n_hosts++;
}

eb_rc eb_admin_new(const struct eb_config *cfg, struct eb_admin **out, struct eb_err *err)
{
    char why[160];
    unsigned char rnd[32];
    *out = NULL;
    struct eb_admin *a = calloc(1, sizeof *a);
    if (!a)
        return eb_err_set(err, EB_ERR_NOMEM, "admin: out of memory");
    a->cfg = cfg;
    if (cfg->admin_allow[0]) {
        int n = eb_auth_cidrs_parse(cfg->admin_allow, a->allow, MAX_CIDRS, why, sizeof why);
        if (n <= 0) {
            free(a);
            return eb_err_set(err, EB_ERR_CONFIG, "--admin-allow: %s",
                              n < 0 ? why : "no address range");
        }
        a->n_allow = n;
    }
    add_host(a, cfg->admin_listen_host, strlen(cfg->admin_listen_host));
    if (eb_config_is_loopback(cfg->admin_listen_host)) {
        add_host(a, "localhost", 9);
        add_host(a, "127.0.0.1", 9);
        add_host(a, "::1", 3);
    }
    for (const char *p = cfg->admin_host; *p;) {
        size_t n = strcspn(p, ", ");
        add_host(a, p, n);
        p += n;
        p += strspn(p, ", ");
    }
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        free(a);
        return eb_err_set(err, EB_ERR_INTERNAL, "admin: no randomness for the CSRF token");
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(a->csrf + 2 * i, 3, "%02x", rnd[i]);
    *out = a;
    return EB_OK;
}

void eb_admin_free(struct eb_admin *a)
{
    if (a)
        memset(a->csrf, 0, sizeof a->csrf);
    free(a);
}

/* ---- answers ---- */

static void answer(struct eb_http_response *resp, int status, const char *type, const char *body,
                   size_t len)
{
    resp->status = status;
    resp->content_type = type;
    resp->headers = security_headers;
    eb_buf_reset(&resp->body);
    if (eb_buf_append(&resp->body, body, len)) {
        resp->status = 500;
        resp->content_type = NULL;
        eb_buf_reset(&resp->body);
    }
}

/* Sends j (taking its reference). */
static void answer_json(struct eb_http_response *resp, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        answer(resp, 500, json_ctype, "{\"error\":\"out of memory\"}", 25);
        return;
    }
    answer(resp, status, json_ctype, text, strlen(text));
    free(text);
}

static void answer_error(struct eb_http_response *resp, int status, const char *msg)
{
    answer_json(resp, status, json_pack("{s:s}", "error", msg));
}

/* ---- access policy ---- */

/* 1 when the Host header names this listener. */
static int host_ok(const struct eb_admin *a, const struct eb_http_request *req)
{
    const char *h = eb_http_header(req, "Host");
    char name[256];
    if (!h || !*h)
        return 0;
    size_t n;
    if (h[0] == '[') { /* [v6]:port */
        const char *close = strchr(h, ']');
        if (!close)
            return 0;
        h++;
        n = (size_t)(close - h);
    } else {
        n = strcspn(h, ":");
    }
    if (!n || n >= sizeof name)
        return 0;
    for (size_t i = 0; i < n; i++)
        name[i] = (char)tolower((unsigned char)h[i]);
    name[n] = '\0';
    if (n > 1 && name[n - 1] == '.') /* "localhost." is "localhost" */
        name[n - 1] = '\0';
    for (int i = 0; i < a->n_hosts; i++)
        if (!strcmp(a->hosts[i], name))
            return 1;
    return 0;
}

/* 1 when the request carries the operators' Basic credentials (or none are configured); the
 * user name goes to user (for the access log). */
static int basic_ok(const struct eb_admin *a, const struct eb_http_request *req, char *user,
                    size_t usz)
{
    const struct eb_config *cfg = a->cfg;
    snprintf(user, usz, "-");
    if (!cfg->admin_user[0])
        return 1;
    const char *h = eb_http_header(req, "Authorization");
    if (!h || strncasecmp(h, "Basic ", 6))
        return 0;
    h += 6;
    while (*h == ' ')
        h++;
    size_t n = strlen(h);
    unsigned char dec[1024];
    if (!n || n % 4 || n > 1360)
        return 0;
    int len = EVP_DecodeBlock(dec, (const unsigned char *)h, (int)n);
    if (len < 0)
        return 0;
    for (size_t i = n; i > 0 && h[i - 1] == '='; i--)
        len--; /* EVP_DecodeBlock counts the padding as zero bytes */
    dec[len] = '\0';
    char *colon = memchr(dec, ':', (size_t)len);
    if (!colon)
        return 0;
    size_t ulen = (size_t)(colon - (char *)dec);
    int ok = eb_auth_equal(dec, ulen, cfg->admin_user, strlen(cfg->admin_user));
    ok &= eb_auth_equal(colon + 1, (size_t)len - ulen - 1, cfg->admin_password,
                        strlen(cfg->admin_password));
    if (ok)
        snprintf(user, usz, "%.*s", (int)ulen, (const char *)dec);
    memset(dec, 0, sizeof dec);
    return ok;
}

/* Answers a read that failed: 400 for a query the database cannot take, 501 when the adapter
 * has no reads for this listener (ODBC), 503 when the database cannot be reached. */
static void read_failed(struct eb_http_response *resp, const struct eb_err *err, int oom)
{
    if (oom)
        return answer_error(resp, 500, "out of memory");
    eb_log(EB_LOG_WARN, "admin: reading the push log failed", "error", err->msg, NULL);
    if (err->rc == EB_ERR_INVALID)
        return answer_error(resp, 400, err->msg);
    if (err->rc == EB_ERR_INTERNAL)
        return answer_error(resp, 501, "this database adapter cannot read the push log here");
    answer_error(resp, 503, "database unavailable");
}

/* ---- the push list ---- */

static json_t *ms_json(int64_t ms)
{
    char iso[96];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(iso);
}

static json_t *text_or_null(const char *s)
{
    json_t *v = s ? json_string(s) : NULL;
    return v ? v : json_null();
}

static json_t *summary_json(const struct eb_push_summary *row)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "push_id", text_or_null(row->push_id));
    json_object_set_new(o, "event", text_or_null(row->event));
    json_object_set_new(o, "triggered_at", text_or_null(row->triggered_at));
    json_object_set_new(o, "received_at", ms_json(row->received_at_ms));
    json_object_set_new(o, "received_at_ms", json_integer(row->received_at_ms));
    json_object_set_new(o, "application_id",
                        row->has_application_id ? json_integer(row->application_id) : json_null());
    json_object_set_new(o, "outcome", json_string(eb_outcome_name(row->outcome)));
    json_object_set_new(o, "message", text_or_null(row->message));
    json_object_set_new(o, "name", text_or_null(row->name));
    return o;
}

struct page {
    json_t *rows;
    int64_t last_ms;
    char last_id[300];
    unsigned n;
    int oom;
};

static int page_row(void *user, const struct eb_push_summary *row)
{
    struct page *pg = user;
    json_t *o = summary_json(row);
    if (!o || json_array_append_new(pg->rows, o)) {
        pg->oom = 1;
        return 1;
    }
    pg->n++;
    pg->last_ms = row->received_at_ms;
    snprintf(pg->last_id, sizeof pg->last_id, "%s", row->push_id);
    return 0;
}

/* A cursor is "MS.HEX": the received_at and the hex of the push id of the last row shown. */
static int cursor_read(const char *c, int64_t *ms, char *id, size_t idsz)
{
    char *end;
    if (!isdigit((unsigned char)c[0]))
        return -1;
    long long v = strtoll(c, &end, 10);
    if (*end != '.' || v < 0)
        return -1;
    const char *h = end + 1;
    size_t n = strlen(h);
    if (!n || n % 2 || n / 2 >= idsz)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned b;
        if (!isxdigit((unsigned char)h[2 * i]) || !isxdigit((unsigned char)h[2 * i + 1]) ||
            sscanf(h + 2 * i, "%2x", &b) != 1 || !b)
            return -1;
        id[i] = (char)b;
    }
    id[n / 2] = '\0';
    *ms = v;
    return 0;
}

static json_t *cursor_json(int64_t ms, const char *id)
{
    char c[MAX_CURSOR + 32];
    int o = snprintf(c, sizeof c, "%lld.", (long long)ms);
    for (const unsigned char *p = (const unsigned char *)id; *p && o + 3 < (int)sizeof c; p++)
        o += snprintf(c + o, sizeof c - (size_t)o, "%02x", *p);
    return json_string(c);
}

static int read_int(const char *s, int64_t *v)
{
    char *end;
    if (!*s || (!isdigit((unsigned char)*s) && *s != '-'))
        return -1;
    long long n = strtoll(s, &end, 10);
    if (*end)
        return -1;
    *v = n;
    return 0;
}

static void list_pushes(struct eb_adapter *db, const struct eb_http_request *req,
                        struct eb_http_response *resp)
{
    struct eb_push_query q = {.outcome = -1, .limit = PAGE_LIMIT};
    char v[MAX_CURSOR + 1], qtext[400], after[300];
    int64_t n;
    if (eb_http_query_param(req->query, "outcome", v, sizeof v) && v[0]) {
        if (!strcmp(v, "stored"))
            q.outcome = EB_OUTCOME_STORED;
        else if (!strcmp(v, "rejected"))
            q.outcome = EB_OUTCOME_REJECTED;
        else if (!strcmp(v, "failed"))
            q.outcome = EB_OUTCOME_FAILED;
        else
            return answer_error(resp, 400, "outcome must be stored, rejected or failed");
    }
    if (eb_http_query_param(req->query, "q", qtext, sizeof qtext) && qtext[0]) {
        if (strlen(qtext) >= 256)
            return answer_error(resp, 400, "q is too long");
        q.q = qtext;
        if (!read_int(qtext, &q.q_app))
            q.has_q_app = 1;
    }
    if (eb_http_query_param(req->query, "application_id", v, sizeof v) && v[0]) {
        if (read_int(v, &q.application_id))
            return answer_error(resp, 400, "application_id must be a number");
        q.has_application_id = 1;
    }
    if (eb_http_query_param(req->query, "since", v, sizeof v) && v[0] &&
        eb_date_parse_ms(v, &q.since_ms))
        return answer_error(
            resp, 400,
            "since: expected a date or time (yyyy-MM-dd, yyyy-MM-ddTHH:mm[:ss][Z], Unix s or ms)");
    if (eb_http_query_param(req->query, "until", v, sizeof v) && v[0] &&
        eb_date_parse_ms(v, &q.until_ms))
        return answer_error(
            resp, 400,
            "until: expected a date or time (yyyy-MM-dd, yyyy-MM-ddTHH:mm[:ss][Z], Unix s or ms)");
    if (eb_http_query_param(req->query, "limit", v, sizeof v) && v[0]) {
        if (read_int(v, &n) || n < 1 || n > MAX_LIMIT)
            return answer_error(resp, 400, "limit must be 1-500");
        q.limit = (unsigned)n;
    }
    if (eb_http_query_param(req->query, "cursor", v, sizeof v) && v[0]) {
        if (strlen(v) >= MAX_CURSOR || cursor_read(v, &q.after_ms, after, sizeof after))
            return answer_error(resp, 400, "bad cursor");
        q.after_id = after;
    }
    struct page pg = {.rows = json_array()};
    struct eb_err err = {0};
    if (!pg.rows)
        return answer_error(resp, 500, "out of memory");
    if (eb_adapter_push_page(db, &q, page_row, &pg, &err) || pg.oom) {
        json_decref(pg.rows);
        return read_failed(resp, &err, pg.oom);
    }
    json_t *o = json_object();
    json_object_set_new(o, "pushes", pg.rows);
    json_object_set_new(o, "next_cursor",
                        pg.n == q.limit ? cursor_json(pg.last_ms, pg.last_id) : json_null());
    answer_json(resp, 200, o);
}

/* ---- one push ---- */

static int is_element(const xmlNode *n)
{
    return n && n->type == XML_ELEMENT_NODE;
}

/* An element of the canonical payload as JSON: text for a leaf, an array when every child is
 * an <element>, an object otherwise (a name given twice becomes an array). */
static json_t *xml_json(const xmlNode *n, int depth)
{
    int kids = 0, items = 1;
    for (const xmlNode *c = n->children; c; c = c->next)
        if (is_element(c)) {
            kids++;
            items &= !strcmp((const char *)c->name, "element");
        }
    if (!kids || depth >= XML_DEPTH) {
        xmlChar *t = xmlNodeGetContent(n);
        json_t *v = json_string(t ? (const char *)t : "");
        xmlFree(t);
        return v ? v : json_null();
    }
    json_t *out = items ? json_array() : json_object();
    json_t *repeated = json_object(); /* names given more than once: their arrays */
    for (const xmlNode *c = n->children; out && repeated && c; c = c->next) {
        if (!is_element(c))
            continue;
        json_t *v = xml_json(c, depth + 1);
        if (items) {
            json_array_append_new(out, v);
            continue;
        }
        const char *k = (const char *)c->name;
        json_t *had = json_object_get(out, k);
        if (!had) {
            json_object_set_new(out, k, v);
        } else if (json_object_get(repeated, k)) {
            json_array_append_new(had, v);
        } else {
            json_t *arr = json_pack("[O]", had);
            json_array_append_new(arr, v);
            json_object_set_new(out, k, arr);
            json_object_set_new(repeated, k, json_true());
        }
    }
    json_decref(repeated);
    return out ? out : json_null();
}

/* The candidate the push carried: the <data> element of the canonical pushCandidate. NULL when
 * there is no payload or it does not read. */
static json_t *candidate_json(const char *payload, size_t len)
{
    if (!payload || !len || len > MAX_PAYLOAD)
        return NULL;
    xmlDoc *doc = xmlReadMemory(payload, (int)len, "payload.xml", "UTF-8",
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    json_t *out = NULL;
    const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    for (const xmlNode *c = root ? root->children : NULL; c; c = c->next)
        if (is_element(c) && !strcmp((const char *)c->name, "data")) {
            out = xml_json(c, 0);
            break;
        }
    xmlFreeDoc(doc);
    return out;
}

/* A copy of one push_log row (push_get's strings live only during its callback). */
struct one {
    int found;
    json_t *detail;            /* the answer of GET /api/pushes/{id} */
    struct eb_logged_push row; /* for replay */
    char *push_id, *event, *triggered_at, *message, *payload, *raw;
    int oom;
};

static char *dup_n(const char *s, size_t n, int *oom)
{
    if (!s)
        return NULL;
    char *d = malloc(n + 1);
    if (!d) {
        *oom = 1;
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void one_free(struct one *o)
{
    json_decref(o->detail);
    free(o->push_id);
    free(o->event);
    free(o->triggered_at);
    free(o->message);
    free(o->payload);
    free(o->raw);
}

static int one_row(void *user, const struct eb_push_summary *row)
{
    struct one *o = user;
    o->found = 1;
    o->push_id = dup_n(row->push_id, strlen(row->push_id), &o->oom);
    o->event = dup_n(row->event, row->event ? strlen(row->event) : 0, &o->oom);
    o->triggered_at =
        dup_n(row->triggered_at, row->triggered_at ? strlen(row->triggered_at) : 0, &o->oom);
    o->message = dup_n(row->message, row->message ? strlen(row->message) : 0, &o->oom);
    o->payload = dup_n(row->payload, row->payload_len, &o->oom);
    o->raw = dup_n(row->raw, row->raw_len, &o->oom);
    o->row = (struct eb_logged_push){.push_id = o->push_id,
                                     .event = o->event,
                                     .triggered_at = o->triggered_at,
                                     .received_at_ms = row->received_at_ms,
                                     .outcome = row->outcome,
                                     .message = o->message,
                                     .payload = o->payload,
                                     .payload_len = row->payload_len,
                                     .raw = o->raw,
                                     .raw_len = row->raw_len};
    json_t *d = summary_json(row);
    if (!d)
        return o->oom = 1;
    json_object_set_new(d, "candidate_id",
                        row->has_candidate_id ? json_integer(row->candidate_id) : json_null());
    json_object_set_new(d, "replaced_by", text_or_null(row->replaced_by));
    json_t *cand = candidate_json(row->payload, row->payload_len);
    json_object_set_new(d, "candidate", cand ? cand : json_null());
    json_t *p = row->payload ? json_stringn(row->payload, row->payload_len) : NULL;
    json_object_set_new(d, "payload", p ? p : json_null());
    json_t *r = row->raw ? json_stringn(row->raw, row->raw_len) : NULL; /* NULL: not UTF-8 */
    json_object_set_new(d, "raw", r ? r : json_null());
    json_object_set_new(d, "payload_kept", json_boolean(row->payload || row->raw));
    /* every recorded push keeps its payload or its raw body until --retention clears both */
    json_object_set_new(d, "payload_purged", json_boolean(!row->payload && !row->raw));
    o->detail = d;
    return 0;
}

/* Reads push_id into *o; answers the request itself (404, 503) and returns -1 when it cannot. */
static int read_one(struct eb_adapter *db, const char *push_id, struct one *o,
                    struct eb_http_response *resp)
{
    struct eb_err err = {0};
    memset(o, 0, sizeof *o);
    if (eb_adapter_push_get(db, push_id, one_row, o, &err) || o->oom) {
        read_failed(resp, &err, o->oom);
        return -1;
    }
    if (!o->found) {
        answer_error(resp, 404, "no such push");
        return -1;
    }
    return 0;
}

static int warning_row(void *user, const char *field, const char *value, const char *reason)
{
    json_t *o =
        json_pack("{s:s,s:o,s:s}", "field", field, "value", text_or_null(value), "reason", reason);
    return !o || json_array_append_new(user, o);
}

/* One attachment row as the API shows it: the URL without its query (the signature). */
static int attachment_row(void *user, const struct eb_att_row *r)
{
    char safe[1024], dl[64];
    eb_archive_url_safe(r->url ? r->url : "", safe, sizeof safe);
    int kept = r->status == EB_ATT_STORED && !r->purged;
    snprintf(dl, sizeof dl, "/api/attachments/%lld", (long long)r->id);
    json_t *o = json_object();
    if (!o)
        return 1;
    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "field", text_or_null(r->field));
    json_object_set_new(o, "status", json_string(eb_att_status_name(r->status)));
    json_object_set_new(o, "attempts", json_integer(r->attempts));
    json_object_set_new(o, "error", text_or_null(r->error));
    json_object_set_new(o, "size", r->size >= 0 ? json_integer(r->size) : json_null());
    json_object_set_new(o, "sha256", text_or_null(r->sha256));
    json_object_set_new(o, "content_type", text_or_null(r->content_type));
    json_object_set_new(o, "file_name", text_or_null(r->file_name));
    json_object_set_new(o, "url", text_or_null(safe));
    json_object_set_new(o, "purged", json_boolean(r->purged));
    json_object_set_new(o, "download", kept ? json_string(dl) : json_null());
    return json_array_append_new(user, o);
}

static void show_push(struct eb_adapter *db, const char *push_id, struct eb_http_response *resp)
{
    struct one o;
    struct eb_err err = {0};
    if (read_one(db, push_id, &o, resp) == 0) {
        json_t *w = json_array(), *att = json_array();
        struct eb_att_filter f = {.status = -1, .push_id = push_id};
        if (!w || !att || eb_adapter_push_warnings(db, push_id, warning_row, w, &err) ||
            (eb_adapter_has_queue(db) && eb_adapter_att_list(db, &f, attachment_row, att, &err))) {
            json_decref(w);
            json_decref(att);
            read_failed(resp, &err, !w || !att);
        } else {
            json_object_set_new(o.detail, "warnings", w);
            json_object_set_new(o.detail, "attachments", att);
            answer_json(resp, 200, o.detail);
            o.detail = NULL;
        }
    }
    one_free(&o);
}

/* ---- downloads ---- */

/* The attachment row GET /api/attachments/{id} names. */
struct download {
    int found, purged;
    enum eb_att_status status;
    int64_t size;
    char sha256[65];
    char content_type[128]; /* type/subtype as served, when well formed; else "" */
    char file_name[NAME_MAX_BYTES + 1];
    struct eb_buf *body;
    EVP_MD_CTX *md;
};

/* Copies the type/subtype of a served Content-Type (lower case) when it is made of token
 * characters; parameters are dropped. */
static void media_type(const char *ct, char *out, size_t n)
{
    static const char tok[] = "abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-";
    size_t i = 0, slash = 0;
    out[0] = '\0';
    for (; ct && ct[i] && ct[i] != ';' && ct[i] != ' ' && i + 1 < n; i++) {
        char c = (char)tolower((unsigned char)ct[i]);
        if (c == '/' && !slash && i)
            slash = i;
        else if (!strchr(tok, c)) {
            out[0] = '\0';
            return;
        }
        out[i] = c;
    }
    out[i] = '\0';
    if (!slash || slash + 1 == i || (ct && ct[i] && ct[i] != ';' && ct[i] != ' '))
        out[0] = '\0'; /* no subtype, or longer than out */
}

static int download_row(void *user, const struct eb_att_row *r)
{
    struct download *d = user;
    d->found = 1;
    d->purged = r->purged;
    d->status = r->status;
    d->size = r->size;
    snprintf(d->sha256, sizeof d->sha256, "%s", r->sha256 ? r->sha256 : "");
    media_type(r->content_type, d->content_type, sizeof d->content_type);
    /* cut at a character boundary of UTF-8 */
    size_t n = r->file_name ? strlen(r->file_name) : 0;
    if (n > NAME_MAX_BYTES) {
        n = NAME_MAX_BYTES;
        while (n && ((unsigned char)r->file_name[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(d->file_name, r->file_name ? r->file_name : "", n);
    d->file_name[n] = '\0';
    return 0;
}

static int download_chunk(void *user, const void *data, size_t len)
{
    struct download *d = user;
    return EVP_DigestUpdate(d->md, data, len) != 1 || eb_buf_append(d->body, data, len) != EB_OK;
}

/* Reads the file of the directory store (dir:PATH) named by its SHA-256. */
static eb_rc read_file(const char *dir, struct download *d, struct eb_err *err)
{
    char path[1200], buf[65536];
    if (strlen(d->sha256) != 64 || strspn(d->sha256, "0123456789abcdef") != 64)
        return eb_err_set(err, EB_ERR_INVALID, "no content hash");
    snprintf(path, sizeof path, "%s/%s", dir, d->sha256);
    FILE *in = fopen(path, "rb");
    if (!in)
        return eb_err_set(err, EB_ERR_INVALID, "the file of the directory store is missing");
    size_t n;
    eb_rc rc = EB_OK;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (download_chunk(d, buf, n))
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    if (!rc && ferror(in))
        rc = eb_err_set(err, EB_ERR_INTERNAL, "cannot read the file of the directory store");
    fclose(in);
    return rc;
}

/* Content-Type and Content-Disposition (RFC 6266: an ASCII filename, and filename* in UTF-8
 * percent-encoded as RFC 8187 says) into resp->own_headers. */
static void download_head(const struct download *d, int64_t id, struct eb_http_response *resp)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char attr[] = "!#$&+-.^_`|~"; /* attr-char beside letters and digits */
    char ascii[NAME_MAX_BYTES + 1], enc[3 * NAME_MAX_BYTES + 1], fallback[32];
    const char *name = d->file_name;
    if (!name[0]) {
        snprintf(fallback, sizeof fallback, "attachment-%lld", (long long)id);
        name = fallback;
    }
    size_t a = 0, e = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if ((*p & 0xC0) != 0x80) /* one '_' per character that ASCII cannot show */
            ascii[a++] = *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' ? (char)*p : '_';
        if (isalnum(*p) && *p < 0x80) {
            enc[e++] = (char)*p;
        } else if (*p < 0x80 && strchr(attr, *p)) {
            enc[e++] = (char)*p;
        } else {
            enc[e++] = '%';
            enc[e++] = hex[*p >> 4];
            enc[e++] = hex[*p & 15];
        }
    }
    ascii[a] = '\0';
    enc[e] = '\0';
    snprintf(resp->own_headers, sizeof resp->own_headers,
             "Content-Type: %s\r\nContent-Disposition: attachment; filename=\"%s\"; "
             "filename*=UTF-8''%s\r\n",
             d->content_type[0] ? d->content_type : "application/octet-stream", ascii, enc);
}

/* GET /api/attachments/{id}: the stored file, read chunk by chunk into the response body (the
 * transport sends bodies whole), its SHA-256 checked on the way. */
static void download(const struct eb_config *cfg, struct eb_adapter *db, int64_t id,
                     struct eb_http_response *resp)
{
    struct download d = {0};
    struct eb_err err = {0};
    struct eb_att_filter f = {.status = -1, .id = id};
    if (!eb_adapter_has_queue(db))
        return answer_error(resp, 404, "no such attachment (this database keeps no archive)");
    if (eb_adapter_att_list(db, &f, download_row, &d, &err))
        return read_failed(resp, &err, 0);
    if (!d.found)
        return answer_error(resp, 404, "no such attachment");
    if (d.purged)
        return answer_error(resp, 404, "this document was purged (--retention)");
    if (d.status != EB_ATT_STORED)
        return answer_error(resp, 404, "this attachment is not stored");
    if (d.size > MAX_DOWNLOAD)
        return answer_error(resp, 500,
                            "the file is larger than the admin listener sends; use "
                            "`ehrbridge attachments get`");
    answer(resp, 200, NULL, "", 0);
    d.body = &resp->body;
    d.md = EVP_MD_CTX_new();
    if (!d.md || EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(d.md);
        return answer_error(resp, 500, "out of memory");
    }
    eb_rc rc = eb_adapter_att_read(db, id, download_chunk, &d, &err);
    if (rc == EB_ERR_INVALID && !strncmp(cfg->attachments, "dir:", 4)) {
        eb_buf_reset(&resp->body);
        EVP_DigestInit_ex(d.md, EVP_sha256(), NULL);
        rc = read_file(cfg->attachments + 4, &d, &err);
    }
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    char sum[65] = "";
    if (!rc && EVP_DigestFinal_ex(d.md, dg, &dn) == 1)
        for (unsigned i = 0; i < dn && i < 32; i++)
            snprintf(sum + 2 * i, 3, "%02x", dg[i]);
    EVP_MD_CTX_free(d.md);
    if (rc == EB_ERR_INVALID)
        return answer_error(resp, 404, "this attachment's content is not kept here");
    if (rc)
        return read_failed(resp, &err, rc == EB_ERR_NOMEM);
    if (strcmp(sum, d.sha256)) {
        eb_log(EB_LOG_ERROR, "admin: a stored document does not match its SHA-256", NULL);
        return answer_error(resp, 500, "the stored content does not match its SHA-256");
    }
    resp->headers = download_headers;
    download_head(&d, id, resp);
}

/* The id of "/api/attachments/ID" (1..), or 0. */
static int64_t attachment_path(const char *path)
{
    static const char prefix[] = "/api/attachments/";
    if (strncmp(path, prefix, sizeof prefix - 1))
        return 0;
    const char *p = path + sizeof prefix - 1;
    if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 18)
        return 0;
    return strtoll(p, NULL, 10);
}

static void replay_push(struct eb_adapter *db, const char *push_id, struct eb_http_response *resp)
{
    struct one o;
    struct eb_replay_result res;
    if (read_one(db, push_id, &o, resp) == 0) {
        int failed = eb_replay_row(db, &o.row, &res);
        json_t *j = json_object();
        json_object_set_new(j, "push_id", json_string(push_id));
        json_object_set_new(j, "outcome", json_string(eb_outcome_name(res.outcome)));
        json_object_set_new(j, "previous_outcome", json_string(eb_outcome_name(o.row.outcome)));
        json_object_set_new(j, "superseded", json_boolean(res.superseded));
        json_object_set_new(j, "skipped", json_boolean(res.skipped));
        json_object_set_new(j, "message", text_or_null(res.message[0] ? res.message : NULL));
        json_object_set_new(j, "result", json_string(res.line));
        answer_json(resp, res.failed ? 503 : failed && !res.skipped ? 500 : 200, j);
    }
    one_free(&o);
}

/* ---- stats ---- */

struct stats {
    json_t *buckets; /* array of {start_ms, stored, rejected, failed} */
    int64_t n;
};

static int stats_row(void *user, int64_t bucket, enum eb_outcome outcome, int64_t n)
{
    struct stats *st = user;
    json_t *b = bucket >= 0 && bucket < st->n ? json_array_get(st->buckets, (size_t)bucket) : NULL;
    if (b)
        json_object_set_new(b, eb_outcome_name(outcome), json_integer(n));
    return 0;
}

static void stats(struct eb_adapter *db, const struct eb_http_request *req,
                  struct eb_http_response *resp)
{
    char w[8];
    if (!eb_http_query_param(req->query, "window", w, sizeof w) || !w[0])
        snprintf(w, sizeof w, "24h");
    int64_t bucket_ms, n;
    if (!strcmp(w, "24h")) {
        bucket_ms = 3600 * 1000;
        n = 24;
    } else if (!strcmp(w, "7d")) {
        bucket_ms = 6 * 3600 * 1000;
        n = 28;
    } else {
        return answer_error(resp, 400, "window must be 24h or 7d");
    }
    int64_t since = (eb_now_ms() / bucket_ms - (n - 1)) * bucket_ms;
    struct stats st = {json_array(), n};
    for (int64_t i = 0; st.buckets && i < n; i++)
        json_array_append_new(st.buckets, json_pack("{s:I,s:i,s:i,s:i}", "start_ms",
                                                    (json_int_t)(since + i * bucket_ms), "stored",
                                                    0, "rejected", 0, "failed", 0));
    struct eb_err err = {0};
    if (!st.buckets || eb_adapter_push_counts(db, since, bucket_ms, stats_row, &st, &err)) {
        json_decref(st.buckets);
        return read_failed(resp, &err, !st.buckets);
    }
    answer_json(resp, 200,
                json_pack("{s:s,s:I,s:I,s:o}", "window", w, "bucket_ms", (json_int_t)bucket_ms,
                          "since_ms", (json_int_t)since, "buckets", st.buckets));
}

/* ---- routes ---- */

/* The push id of "/api/pushes/ID" or "/api/pushes/ID/replay" into id; 0 when path is neither
 * (replay set for the second). */
static int push_path(const char *path, char *id, size_t idsz, int *replay)
{
    static const char prefix[] = "/api/pushes/";
    if (strncmp(path, prefix, sizeof prefix - 1))
        return 0;
    const char *p = path + sizeof prefix - 1;
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    *replay = slash != NULL;
    if (slash && strcmp(slash, "/replay"))
        return 0;
    if (!n || n >= idsz)
        return 0;
    memcpy(id, p, n);
    id[n] = '\0';
    return 1;
}

/* att_id (24 bytes) gets the attachment id a download names. */
static void route(struct eb_admin *a, struct eb_adapter *db, const struct eb_http_request *req,
                  struct eb_http_response *resp, const char *user, char *push_id, size_t idsz,
                  char *att_id)
{
    int get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    int post = !strcmp(req->method, "POST");
    int replay = 0;
    int is_push = push_path(req->path, push_id, idsz, &replay);
    if (post) {
        const char *t = eb_http_header(req, "X-CSRF-Token");
        if (!t || !eb_auth_equal(t, strlen(t), a->csrf, strlen(a->csrf)))
            return answer_error(resp, 403, "missing or wrong CSRF token (X-CSRF-Token)");
    }
    if (is_push) {
        if (replay && post)
            return replay_push(db, push_id, resp);
        if (!replay && get)
            return show_push(db, push_id, resp);
        return answer_error(resp, 405, "method not allowed");
    }
    push_id[0] = '\0';
    if (!get)
        return answer_error(resp, post ? 404 : 405, post ? "not found" : "method not allowed");
    if (!strcmp(req->path, "/") || !strcmp(req->path, "/index.html"))
        return answer(resp, 200, "text/html; charset=utf-8", eb_admin_html_text, eb_admin_html_len);
    if (!strcmp(req->path, "/app.css"))
        return answer(resp, 200, "text/css; charset=utf-8", eb_admin_css_text, eb_admin_css_len);
    if (!strcmp(req->path, "/app.js"))
        return answer(resp, 200, "text/javascript; charset=utf-8", eb_admin_js_text,
                      eb_admin_js_len);
    if (!strcmp(req->path, "/api/session"))
        return answer_json(resp, 200,
                           json_pack("{s:s,s:s,s:b}", "csrf_token", a->csrf, "user", user,
                                     "name_search", !a->cfg->mapping[0]));
    if (!strcmp(req->path, "/api/pushes"))
        return list_pushes(db, req, resp);
    if (!strcmp(req->path, "/api/stats"))
        return stats(db, req, resp);
    if (!strncmp(req->path, "/api/attachments/", 17)) {
        int64_t id = attachment_path(req->path);
        if (!id)
            return answer_error(resp, 404, "no such attachment");
        snprintf(att_id, 24, "%lld", (long long)id);
        return download(a->cfg, db, id, resp);
    }
    if (!strcmp(req->path, "/metrics")) {
        answer(resp, 200, eb_metrics_content_type, "", 0);
        if (eb_metrics_render(&resp->body))
            answer_error(resp, 500, "out of memory");
        return;
    }
    if (!strcmp(req->path, "/healthz"))
        return answer(resp, 200, "text/plain; charset=utf-8", "ok\n", 3);
    if (!strcmp(req->path, "/readyz")) {
        struct eb_err err = {0};
        if (eb_adapter_ping(db, &err))
            return answer(resp, 503, "text/plain; charset=utf-8", "database unavailable\n", 21);
        return answer(resp, 200, "text/plain; charset=utf-8", "ready\n", 6);
    }
    answer_error(resp, 404, "not found");
}

/* The access policy: NULL when req may go on (user gets the Basic user, "-" without), else
 * why it was refused, with resp filled. */
static const char *policy(struct eb_admin *a, const struct eb_http_request *req,
                          struct eb_http_response *resp, char *user, size_t usz)
{
    if (a->n_allow && !eb_auth_cidr_match(a->allow, (size_t)a->n_allow, req->peer)) {
        answer_error(resp, 403, "forbidden");
        return "source address not allowed";
    }
    if (!host_ok(a, req)) {
        answer_error(resp, 403, "this listener does not answer that Host name");
        return "Host header not accepted";
    }
    if (!basic_ok(a, req, user, usz)) {
        answer_error(resp, 401, "authentication required");
        resp->www_authenticate = challenge;
        return "wrong or missing credentials";
    }
    return NULL;
}

/* The access log: who read which push id or attachment id; never a query string, never
 * what it holds. */
static void access_log(const struct eb_http_request *req, const struct eb_http_response *resp,
                       const char *user, const char *push_id, const char *att_id,
                       const char *refused)
{
    char status[8];
    snprintf(status, sizeof status, "%d", resp->status);
    const char *path =
        push_id[0] ? (strstr(req->path, "/replay") ? "/api/pushes/{id}/replay" : "/api/pushes/{id}")
        : att_id[0] ? "/api/attachments/{id}"
                    : req->path;
    if (strlen(path) > 64)
        path = "(long path)";
    eb_log(refused ? EB_LOG_WARN : EB_LOG_INFO, refused ? "admin request refused" : "admin access",
           "user", user, "peer", req->peer, "method", req->method, "path", path, "push_id",
           push_id[0] ? push_id : NULL, "attachment_id", att_id[0] ? att_id : NULL, "status",
           status, "reason", refused, NULL);
}

int eb_admin_admit(struct eb_admin *a, const struct eb_http_request *req,
                   struct eb_http_response *resp, int has_body)
{
    char user[256] = "-";
    const char *refused = policy(a, req, resp, user, sizeof user);
    if (!refused && has_body) {
        refused = "a body was sent";
        answer_error(resp, 413, "this listener takes no request body");
    }
    if (!refused)
        return 1;
    eb_log_set_request(req->id);
    access_log(req, resp, user, "", "", refused);
    eb_log_set_request(0);
    resp->close = 1;
    return -1;
}

void eb_admin_handle(struct eb_admin *a, struct eb_adapter *db, const struct eb_http_request *req,
                     struct eb_http_response *resp)
{
    char user[256] = "-", push_id[300] = "", att_id[24] = "";
    resp->headers = security_headers;
    /* again here: a server without the admit hook (or a request it let through) is checked */
    const char *refused = policy(a, req, resp, user, sizeof user);
    if (!refused)
        route(a, db, req, resp, user, push_id, sizeof push_id, att_id);
    access_log(req, resp, user, push_id, att_id, refused);
}

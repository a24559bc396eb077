/* The routes of ehrbridge and the push pipeline behind POST:
 * ingest (raw body -> canonical envelope) -> bind (generated gSOAP service) -> candidate (map,
 * validate) -> bridge (idempotency, one transaction, push log) -> adapter. */
#include "service.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adapters/adapter.h"
#include "bind/bind.h"
#include "bridge/bridge.h"
#include "candidate/map.h"
#include "candidate/validate.h"
#include "ingest/ingest.h"
#include "util/arena.h"
#include "util/log.h"

extern const char eb_wsdl_text[];
extern const size_t eb_wsdl_len;

#define ARENA_MAX ((size_t)256 * 1024 * 1024)

struct eb_service {
    const struct eb_config *cfg;   /* settings, owned by the caller */
    struct eb_adapter *admin;      /* connection used at start-up (schema) */
    char *wsdl;                    /* WSDL with the configured public URL; NULL: per request */
    size_t wsdl_len;
    atomic_uint_fast64_t unparsed; /* counter for ids of bodies that had no push id */
};

struct eb_service_worker {
    struct eb_service *svc;
    struct eb_adapter *db;     /* this worker's connection */
    struct eb_bind *bind;      /* this worker's gSOAP context */
    struct eb_arena *arena;    /* the domain model of the current push */
    /* the current push, for the bind handler */
    const struct eb_http_request *req;
    struct eb_ingest_result *ing;
    struct eb_answer ans;
    int handled;
    char rec_id[300];          /* the push id recorded for the current request (for the log) */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

char *eb_service_wsdl(const char *public_url, size_t *len)
{
    struct eb_buf b;
    eb_buf_init(&b, eb_wsdl_len * 2 + 65536);
    const char *p = eb_wsdl_text, *end = eb_wsdl_text + eb_wsdl_len;
    static const char key[] = ":address location=\"";
    for (;;) {
        const char *hit = strstr(p, key);
        if (!hit) {
            if (eb_buf_append(&b, p, (size_t)(end - p)))
                goto fail;
            break;
        }
        const char *val = hit + sizeof key - 1;
        const char *q = strchr(val, '"');
        if (!q)
            goto fail;
        if (eb_buf_append(&b, p, (size_t)(val - p)) ||
            eb_buf_xml_escape(&b, public_url, strlen(public_url)))
            goto fail;
        p = q;
    }
    if (len)
        *len = b.len;
    return b.data;
fail:
    eb_buf_free(&b);
    return NULL;
}

eb_rc eb_service_new(const struct eb_config *cfg, struct eb_service **out, struct eb_err *err)
{
    *out = NULL;
    struct eb_service *s = calloc(1, sizeof *s);
    if (!s)
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    s->cfg = cfg;
    eb_rc rc = eb_adapter_open(cfg->db_url, &s->admin, err);
    if (rc)
        goto fail;
    if (cfg->public_url[0]) {
        s->wsdl = eb_service_wsdl(cfg->public_url, &s->wsdl_len);
        if (!s->wsdl) {
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory preparing the WSDL");
            goto fail;
        }
    }
    *out = s;
    return EB_OK;
fail:
    eb_service_free(s);
    return rc;
}

void eb_service_free(struct eb_service *s)
{
    if (!s)
        return;
    eb_adapter_close(s->admin);
    free(s->wsdl);
    free(s);
}

struct eb_service_worker *eb_service_worker_new(struct eb_service *s, struct eb_err *err)
{
    struct eb_service_worker *w = calloc(1, sizeof *w);
    if (!w) {
        eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    w->svc = s;
    if (eb_adapter_open(s->cfg->db_url, &w->db, err))
        goto fail;
    if (!(w->bind = eb_bind_new()) || !(w->arena = eb_arena_new(ARENA_MAX))) {
        eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        goto fail;
    }
    return w;
fail:
    eb_service_worker_free(w);
    return NULL;
}

void eb_service_worker_free(struct eb_service_worker *w)
{
    if (!w)
        return;
    eb_adapter_close(w->db);
    eb_bind_free(w->bind);
    eb_arena_free(w->arena);
    free(w);
}

eb_rc eb_service_check(const struct eb_config *cfg, struct eb_err *err)
{
    struct eb_adapter *a = NULL;
    eb_rc rc = eb_adapter_open(cfg->db_url, &a, err);
    if (!rc)
        rc = eb_adapter_ping(a, err);
    eb_adapter_close(a);
    return rc;
}

static void set_text(struct eb_http_response *resp, int status, const char *text)
{
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    eb_buf_reset(&resp->body);
    eb_buf_puts(&resp->body, text);
    eb_buf_puts(&resp->body, "\n");
}

static const char *soap_content_type(enum eb_soap_version v)
{
    return v == EB_SOAP_12 ? "application/soap+xml; charset=utf-8" : "text/xml; charset=utf-8";
}

/* Parses a decimal int64; returns 1 on success. */
static int parse_i64(const char *s, int64_t *v)
{
    if (!s || !*s)
        return 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (*end)
        return 0;
    *v = x;
    return 1;
}

/* The push_log record for this request, as far as ingest understood it. */
static void make_record(struct eb_service_worker *w, struct eb_push_record *rec, char *idbuf,
                        size_t idsz)
{
    const struct eb_ingest_result *r = w->ing;
    memset(rec, 0, sizeof *rec);
    rec->push_id = r->push_id && *r->push_id ? r->push_id : NULL;
    if (!rec->push_id) {
        /* A body without a push id is still kept: under an id of its own. */
        snprintf(idbuf, idsz, "unidentified-%lld-%llu", (long long)now_ms(),
                 (unsigned long long)atomic_fetch_add(&w->svc->unparsed, 1));
        rec->push_id = idbuf;
    }
    snprintf(w->rec_id, sizeof w->rec_id, "%s", rec->push_id);
    rec->event = r->event;
    rec->triggered_at = r->triggered_at;
    rec->has_application_id = parse_i64(r->application_id, &rec->application_id);
    rec->received_at_ms = now_ms();
    if (r->canon_len) {
        rec->payload = r->doc.data + r->canon_off;
        rec->payload_len = r->canon_len;
    }
    rec->raw = w->req->body;
    rec->raw_len = w->req->body_len;
}

/* Called by the generated skeleton with the bound request. */
static void on_push(void *user, const struct _ns1__pushCandidate *req, int *ok,
                    const char **message)
{
    struct eb_service_worker *w = user;
    struct eb_push p;
    struct eb_err err = {0};
    struct eb_push_record rec;
    char idbuf[64];
    make_record(w, &rec, idbuf, sizeof idbuf);
    w->handled = 1;

    eb_rc rc = eb_map_push(w->arena, req, w->ing->application_id != NULL, &p, &err);
    if (!rc && w->ing->problem[0])
        rc = eb_err_set(&err, EB_ERR_INVALID, "%s", w->ing->problem);
    if (!rc)
        rc = eb_validate_push(&p, &err);
    if (!rc && p.data && p.data->candidate_id.set) {
        rec.has_candidate_id = 1;
        rec.candidate_id = p.data->candidate_id.v;
    }
    if (rc) {
        rec.outcome = EB_OUTCOME_REJECTED;
        rec.message = err.msg;
        eb_bridge_push(w->db, NULL, &rec, &w->ans);
    } else {
        rec.outcome = EB_OUTCOME_STORED;
        eb_bridge_push(w->db, &p, &rec, &w->ans);
    }
    *ok = w->ans.ok;
    *message = w->ans.message;
}

/* Records a body that is not a push the bindings could read, and answers a SOAP Fault. */
static void reject_unbound(struct eb_service_worker *w, struct eb_http_response *resp,
                           eb_rc rc, const char *why)
{
    struct eb_push_record rec;
    char idbuf[64];
    make_record(w, &rec, idbuf, sizeof idbuf);
    rec.outcome = EB_OUTCOME_REJECTED;
    rec.message = why;
    eb_bridge_push(w->db, NULL, &rec, &w->ans);
    enum eb_soap_version v = w->ing->soap;
    if (v == EB_SOAP_NONE) {
        /* The body could not be read: the Content-Type tells the SOAP version. */
        const char *ct = eb_http_header(w->req, "Content-Type");
        if (ct && strncasecmp(ct, "application/soap+xml", 20) == 0)
            v = EB_SOAP_12;
    }
    eb_buf_reset(&resp->body);
    if (eb_bind_fault(w->bind, v, rc != EB_ERR_INTERNAL, why, &resp->body)) {
        set_text(resp, 500, "internal error");
        return;
    }
    resp->status = rc == EB_ERR_TOO_LARGE ? 413 : (v == EB_SOAP_12 ? 400 : 500);
    if (rc == EB_ERR_INTERNAL)
        resp->status = 500;
    resp->content_type = soap_content_type(v);
}

static void handle_push(struct eb_service_worker *w, const struct eb_http_request *req,
                        struct eb_http_response *resp)
{
    double t0 = mono_ms();
    struct eb_ingest_result ing;
    struct eb_ingest_opts opts = {eb_ingest_default_limits, NULL};
    struct eb_err err = {0};
    eb_ingest_result_init(&ing, opts.limits.max_output);
    w->req = req;
    w->ing = &ing;
    w->handled = 0;
    w->rec_id[0] = '\0';
    memset(&w->ans, 0, sizeof w->ans);

    eb_rc rc = eb_ingest(req->body, req->body_len, &opts, &ing, &err);
    const char *answer; /* what the client got: true, false, fault, error */
    if (rc) {
        reject_unbound(w, resp, rc, err.msg);
        answer = "fault";
    } else {
        int fault = 0;
        eb_buf_reset(&resp->body);
        if (eb_bind_serve(w->bind, eb_buf_cstr(&ing.doc), on_push, w, &resp->body, &fault)) {
            set_text(resp, 500, "internal error");
            answer = "error";
        } else if (fault || !w->handled) {
            /* The canonical document did not bind: a defect of ingest, answered as a fault. */
            snprintf(err.msg, sizeof err.msg, "the request could not be read as pushCandidate");
            reject_unbound(w, resp, EB_ERR_INVALID, err.msg);
            answer = "fault";
        } else {
            resp->status = 200;
            resp->content_type = soap_content_type(ing.soap);
            answer = w->ans.ok ? "true" : "false";
        }
    }
    eb_bind_end(w->bind);
    char ms[32];
    snprintf(ms, sizeof ms, "%.1f", mono_ms() - t0);
    eb_log(w->ans.outcome == EB_OUTCOME_FAILED ? EB_LOG_WARN : EB_LOG_INFO, "push",
           "push_id", w->rec_id[0] ? w->rec_id : ing.push_id, "application_id", ing.application_id,
           "outcome", eb_outcome_name(w->ans.outcome), "answer", answer,
           "duplicate", w->ans.duplicate ? "yes" : "no",
           "message", w->ans.ok ? NULL : (w->ans.message[0] ? w->ans.message : err.msg),
           "ms", ms, NULL);
    eb_arena_reset(w->arena);
    eb_ingest_result_free(&ing);
    w->ing = NULL;
    w->req = NULL;
}

static void handle_wsdl(struct eb_service_worker *w, const struct eb_http_request *req,
                        struct eb_http_response *resp)
{
    struct eb_service *s = w->svc;
    resp->status = 200;
    resp->content_type = "text/xml; charset=utf-8";
    eb_buf_reset(&resp->body);
    if (s->wsdl) {
        eb_buf_append(&resp->body, s->wsdl, s->wsdl_len);
        return;
    }
    /* No public URL configured: the address is this request's own URL. */
    const char *host = eb_http_header(req, "Host");
    char url[1024];
    snprintf(url, sizeof url, "http://%s%s", host && *host ? host : "localhost", req->path);
    size_t len;
    char *text = eb_service_wsdl(url, &len);
    if (!text) {
        set_text(resp, 500, "internal error");
        return;
    }
    eb_buf_append(&resp->body, text, len);
    free(text);
}

void eb_service_handle(struct eb_service_worker *w, const struct eb_http_request *req,
                       struct eb_http_response *resp)
{
    int get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    if (get && eb_http_query_param(req->query, "wsdl", NULL, 0)) {
        handle_wsdl(w, req, resp);
    } else if (get && !strcmp(req->path, "/healthz")) {
        set_text(resp, 200, "ok");
    } else if (get && !strcmp(req->path, "/readyz")) {
        struct eb_err err = {0};
        if (eb_adapter_ping(w->db, &err)) {
            eb_log(EB_LOG_WARN, "readyz: database not ready", "error", err.msg, NULL);
            set_text(resp, 503, "database unavailable");
        } else {
            set_text(resp, 200, "ready");
        }
    } else if (!strcmp(req->method, "POST")) {
        handle_push(w, req, resp);
    } else if (get) {
        set_text(resp, 404, "not found: POST pushCandidate requests here; GET ?wsdl for the contract");
    } else {
        set_text(resp, 405, "method not allowed");
    }
}

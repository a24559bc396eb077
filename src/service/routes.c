/* The routes of ehrbridge: POST (a push, SOAP or REST), GET ?wsdl, /healthz, /readyz, /metrics;
 * the admission of a request on its headers (the allow list, the credentials carried in
 * headers) and the answers to refused requests (401, 403, 413, 415), counted and traced without
 * personal data. Every log line of a request carries its id (eb_log_set_request). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "admin/admin.h"
#include "auth/auth.h"
#include "bind/bind.h"
#include "bridge/bridge.h"
#include "ingest/ingest.h"
#include "service/rest.h"
#include "service/service_int.h"
#include "transport/server.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/refusal.h"

static int handle(struct req *w, const struct eb_http_request *req, struct eb_http_response *resp);

/* 1 when a refused request should get a SOAP Fault: an XML or SOAP Content-Type, or a body
 * that starts with '<'. */
static int soap_like(const struct eb_http_request *req, enum eb_soap_version *v)
{
    const char *ct = eb_http_header(req, "Content-Type");
    *v = ct && strncasecmp(ct, "application/soap+xml", 20) == 0 ? EB_SOAP_12 : EB_SOAP_11;
    if (ct && (strstr(ct, "xml") || strstr(ct, "XML")))
        return 1;
    size_t i = 0;
    while (i < req->body_len && strchr(" \t\r\n", req->body[i]))
        i++;
    return i < req->body_len && req->body[i] == '<';
}

/* The answer to a request authentication refused: 401 (credentials; WWW-Authenticate) or 403
 * (source address), as a SOAP Fault for SOAP requests (made with b, NULL: text), {"code",
 * "msg"} for REST and text otherwise; counted, and traced by one rate-limited log line
 * (util/refusal.h: never a secret, never the body). Nothing of the request is stored. */
static void refuse_answer(struct eb_service *s, struct eb_bind *b,
                          const struct eb_http_request *req, struct eb_http_response *resp,
                          const struct eb_auth_result *ar, const struct eb_err *why)
{
    int status = ar->verdict == EB_AUTH_DENY_403 ? 403 : 401;
    const char *msg =
        status == 403 ? "forbidden: source address not allowed" : "authentication failed";
    enum eb_soap_version v;
    const char *te = eb_http_header(req, "Transfer-Encoding");
    struct eb_refusal trace = {.status = status,
                               .reason = why->msg,
                               .peer = req->peer,
                               .client = ar->client,
                               .path = req->path,
                               .content_length = eb_http_header(req, "Content-Length"),
                               .chunked = te != NULL}; /* chunked: the only coding accepted */
    eb_metric_inc(svc_metrics.refused[status == 403]);
    eb_refusal_log(&trace, eb_mono_ms());
    eb_buf_reset(&resp->body);
    resp->status = status;
    resp->www_authenticate = status == 401 ? eb_auth_challenge(s->auth) : NULL;
    if (eb_rest_is_json(req)) {
        resp->content_type = eb_rest_content_type;
        if (!eb_rest_answer(&resp->body, status, msg, NULL, NULL))
            return;
    } else if (b && soap_like(req, &v)) {
        eb_rc rc = eb_bind_fault(b, v, 1, msg, &resp->body);
        eb_bind_end(b);
        if (!rc) {
            resp->content_type = svc_soap_content_type(v);
            return;
        }
    }
    svc_set_text(resp, status, msg);
}

/* Authentication failed once the body was in (the vendor's signature does not match): as
 * refuse_answer(). The body read is not kept: a request that was not authenticated never
 * becomes a push, in push_log or anywhere (it could be replayed, or fill the disk). */
static void refuse(struct req *w, const struct eb_http_request *req, struct eb_http_response *resp,
                   const struct eb_auth_result *ar, const struct eb_err *why)
{
    refuse_answer(w->svc, w->bind, req, resp, ar, why);
}

/* The body's media type, when ehrbridge cannot read it: NULL when it can (no Content-Type, XML,
 * SOAP, JSON, text), else the reason. Compressed bodies are refused rather than inflated: Moka
 * sends none, and inflating would let a small request cost unbounded memory (a gzip bomb). */
static const char *unsupported_media(const struct eb_http_request *req)
{
    const char *enc = eb_http_header(req, "Content-Encoding");
    if (enc && *enc && strcasecmp(enc, "identity") != 0)
        return "Content-Encoding is not supported: send the body uncompressed";
    const char *ct = eb_http_header(req, "Content-Type");
    if (!ct || !*ct)
        return NULL;
    static const char *const ok[] = {"text/xml", "application/soap+xml", "application/xml",
                                     "application/json", "text/plain"};
    size_t n = strcspn(ct, "; \t");
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (n == strlen(ok[i]) && strncasecmp(ct, ok[i], n) == 0)
            return NULL;
    if (n > 4 && strncasecmp(ct + n - 4, "+xml", 4) == 0)
        return NULL;
    return "unsupported Content-Type: send text/xml, application/soap+xml or application/json";
}

/* 415 for a body ehrbridge cannot read; the body is kept as a rejected push_log entry. */
static void refuse_media(struct req *w, const struct eb_http_request *req,
                         struct eb_http_response *resp, const char *why)
{
    struct eb_answer ans;
    svc_record_unread(w, req, "unidentified", why, &ans);
    eb_log(EB_LOG_INFO, "push", "push_id", w->rec_id, "outcome", "rejected", "answer", "415",
           "message", why, NULL);
    svc_count_push(eb_rest_is_json(req), &ans, 1, 0, -1);
    svc_set_text(resp, 415, why);
}

static void handle_wsdl(struct req *w, const struct eb_http_request *req,
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
    snprintf(url, sizeof url, "%s://%s%s", req->tls ? "https" : "http",
             host && *host ? host : "localhost", req->path);
    size_t len;
    char *text = eb_service_wsdl(url, &len);
    if (!text) {
        svc_set_text(resp, 500, "internal error");
        return;
    }
    eb_buf_append(&resp->body, text, len);
    free(text);
}

static void handle_metrics(struct eb_http_response *resp)
{
    resp->status = 200;
    resp->content_type = eb_metrics_content_type;
    eb_buf_reset(&resp->body);
    if (eb_metrics_render(&resp->body))
        svc_set_text(resp, 500, "internal error");
}

/* The routes, matched on method and path first; ?wsdl with GET or HEAD is the contract from any
 * path (health checks included: it is not one). */
enum route { R_PUSH, R_WSDL, R_HEALTH, R_READY, R_METRICS, R_NOT_FOUND, R_METHOD };

static enum route route_of(const struct eb_http_request *req)
{
    if (!strcmp(req->method, "POST"))
        return R_PUSH;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        return R_METHOD;
    if (eb_http_query_param(req->query, "wsdl", NULL, 0))
        return R_WSDL;
    if (!strcmp(req->path, "/healthz"))
        return R_HEALTH;
    if (!strcmp(req->path, "/readyz"))
        return R_READY;
    if (!strcmp(req->path, "/metrics"))
        return R_METRICS;
    return R_NOT_FOUND;
}

/* What eb_service_admit() tells the worker through req->admitted. */
enum { ADMIT_CHECK_BODY = 0, ADMIT_AUTHENTICATED = 1 };

/* 1 when req announces a body (a Content-Length other than 0, or Transfer-Encoding). */
static int announces_body(const struct eb_http_request *req)
{
    const char *cl = eb_http_header(req, "Content-Length");
    return eb_http_header(req, "Transfer-Encoding") || (cl && cl[strspn(cl, "0")]);
}

/* Authentication on the headers: pushes need the allow list and a credential, every other
 * route but the health checks the allow list. A push that only the signature of its body can
 * authenticate goes on to the worker, which checks it once the body is in. Only a push takes
 * a body: the other routes need no credential, so a body sent to them would be memory held
 * by anyone (413 at once, nothing of it read). */
int eb_service_admit(struct eb_service *s, const struct eb_http_request *req,
                     struct eb_http_response *resp)
{
    struct eb_auth_result ar;
    struct eb_err why = {0};
    enum route r = route_of(req);
    if (req->listener == EB_LISTENER_ADMIN && s->adm) /* its own policy (admin/admin.h) */
        return eb_admin_admit(s->adm, req, resp, announces_body(req));
    if (r != R_PUSH && announces_body(req)) {
        svc_set_text(resp, 413, "this request takes no body: only a push (POST) has one");
        resp->close = 1;
        return -1;
    }
    if (r == R_PUSH)
        eb_auth_check_head(s->auth, req, &ar, &why);
    else
        eb_auth_check_address(r == R_HEALTH || r == R_READY ? NULL : s->auth, req, &ar, &why);
    if (ar.verdict == EB_AUTH_NEED_BODY)
        return ADMIT_CHECK_BODY;
    if (ar.verdict == EB_AUTH_PASS)
        return ADMIT_AUTHENTICATED;
    eb_log_set_request(req->id);
    refuse_answer(s, svc_answer_bind(), req, resp, &ar, &why);
    resp->close = 1;
    eb_log_set_request(0);
    return -1;
}

void eb_service_handle(struct eb_service_worker *w, const struct eb_http_request *req,
                       struct eb_http_response *resp)
{
    eb_log_set_request(req->id); /* every line logged for this request carries its id */
    if (req->listener == EB_LISTENER_ADMIN && w->svc->adm)
        eb_admin_handle(w->svc->adm, w->db, req, resp);
    else if (!w->r && !(w->r = svc_req_take(w->svc))) {
        svc_set_text(resp, 503, "server busy, try again later");
    } else {
        w->r->db = w->db;
        w->r->bind = w->bind;
        if (handle(w->r, req, resp))
            w->r = NULL; /* it went to the database with the push: a new one next time */
    }
    eb_log_set_request(0);
}

/* Answers req, or returns 1 when the answer comes later (a push went to the database). */
static int handle(struct req *w, const struct eb_http_request *req, struct eb_http_response *resp)
{
    enum route r = route_of(req);
    /* Admitted on its headers (eb_service_admit) with nothing left to check, or else checked
     * here before anything is parsed: a push's signature needs its body, and a server without
     * the admit hook checks everything here. */
    if (req->admitted != ADMIT_AUTHENTICATED) {
        struct eb_auth_result ar;
        struct eb_err denied = {0};
        eb_rc rc = r == R_PUSH
                       ? eb_auth_check_push(w->svc->auth, req, &ar, &denied)
                       : eb_auth_check_address(r == R_HEALTH || r == R_READY ? NULL : w->svc->auth,
                                               req, &ar, &denied);
        if (rc) {
            refuse(w, req, resp, &ar, &denied);
            return 0;
        }
    }
    if (r == R_WSDL) {
        handle_wsdl(w, req, resp);
    } else if (r == R_HEALTH) {
        svc_set_text(resp, 200, "ok");
    } else if (r == R_READY) {
        struct eb_err err = {0};
        if (eb_adapter_ping(w->db, &err)) {
            eb_metric_inc(svc_metrics.db_errors);
            eb_log(EB_LOG_WARN, "readyz: database not ready", "error", err.msg, NULL);
            svc_set_text(resp, 503, "database unavailable");
        } else {
            svc_set_text(resp, 200, "ready");
        }
    } else if (r == R_METRICS && !w->svc->cfg->admin_listen_port) {
        handle_metrics(resp);
    } else if (r == R_PUSH) {
        const char *why = unsupported_media(req);
        if (why)
            refuse_media(w, req, resp, why);
        else if (eb_rest_is_json(req))
            return svc_handle_rest(w, req, resp);
        else
            return svc_handle_push(w, req, resp, req->body, req->body_len, 0);
    } else if (r == R_NOT_FOUND || r == R_METRICS) { /* /metrics: on --admin-listen */
        svc_set_text(resp, 404,
                     "not found: POST pushCandidate requests here; GET ?wsdl for the contract");
    } else {
        svc_set_text(resp, 405, "method not allowed");
    }
    return 0;
}

/* The push pipeline of one request, from its complete body to its answer: ingest (the raw body
 * becomes one canonical envelope; data decrypted or converted from JSON by ingest/) -> bind (the
 * generated bindings; the push as struct eb_push) -> validate (candidate/, the replay window of
 * auth/) -> bridge (idempotency, one transaction, the push log), which answers once the outcome
 * is durable, on the database's thread or before it returns. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "auth/auth.h"
#include "bind/bind.h"
#include "bridge/bridge.h"
#include "candidate/validate.h"
#include "ingest/decrypt.h"
#include "ingest/ingest.h"
#include "service/service_int.h"
#include "transport/server.h"
#include "util/arena.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"

static void push_answered(struct eb_bridge_job *bj);

void svc_set_text(struct eb_http_response *resp, int status, const char *text)
{
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    eb_buf_reset(&resp->body);
    eb_buf_puts(&resp->body, text);
    eb_buf_puts(&resp->body, "\n");
}

const char *svc_soap_content_type(enum eb_soap_version v)
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

void svc_init_record(struct req *w, struct eb_push_record *rec, char *idbuf, size_t idsz,
                     const char *prefix, const char *push_id, const char *event,
                     const char *triggered_at)
{
    memset(rec, 0, sizeof *rec);
    rec->push_id = push_id && *push_id ? push_id : NULL;
    if (!rec->push_id) {
        /* A body without a push id is still kept: under an id of its own. */
        snprintf(idbuf, idsz, "%s-%lld-%llu", prefix, (long long)eb_now_ms(),
                 (unsigned long long)atomic_fetch_add(&w->svc->unparsed, 1));
        rec->push_id = idbuf;
    }
    snprintf(w->rec_id, sizeof w->rec_id, "%s", rec->push_id);
    rec->event = event;
    rec->triggered_at = triggered_at;
    rec->received_at_ms = eb_now_ms();
    rec->raw = w->req->body;
    rec->raw_len = w->req->body_len;
}

void svc_record_unread(struct req *w, const struct eb_http_request *req, const char *prefix,
                       const char *why, struct eb_answer *ans)
{
    struct eb_push_record rec;
    char idbuf[64];
    w->req = req;
    svc_init_record(w, &rec, idbuf, sizeof idbuf, prefix, NULL, NULL, NULL);
    rec.outcome = EB_OUTCOME_REJECTED;
    rec.message = why;
    eb_bridge_push(w->db, NULL, &rec, ans);
    w->req = NULL;
}

void svc_make_record(struct req *w, struct eb_push_record *rec, char *idbuf, size_t idsz)
{
    const struct eb_ingest_result *r = w->ing;
    svc_init_record(w, rec, idbuf, idsz, "unidentified", r->push_id, r->event, r->triggered_at);
    rec->has_application_id = parse_i64(r->application_id, &rec->application_id);
    if (r->canon_len) {
        rec->payload = r->doc.data + r->canon_off;
        rec->payload_len = r->canon_len;
    }
}

/* Copies into the arena what a push waiting for its commit needs of the ingest result (the
 * push log's strings and payload, the ids for the log line), and frees the result. */
static void keep_ingest(struct req *w)
{
    struct eb_push_record *rec = &w->rec;
    const struct eb_ingest_result *r = w->ing;
    int failed = 0;
    const char *payload =
        rec->payload_len ? eb_arena_strndup(w->arena, rec->payload, rec->payload_len) : NULL;
    const char *push_id = eb_arena_strdup(w->arena, rec->push_id, &failed);
    const char *event = eb_arena_strdup(w->arena, rec->event, &failed);
    const char *triggered_at = eb_arena_strdup(w->arena, rec->triggered_at, &failed);
    const char *log_push_id = eb_arena_strdup(w->arena, r->push_id, &failed);
    const char *log_app_id = eb_arena_strdup(w->arena, r->application_id, &failed);
    if (failed || (rec->payload_len && !payload))
        return; /* out of memory: the result stays, and is freed with the request */
    rec->payload = payload;
    rec->push_id = push_id;
    rec->event = event;
    rec->triggered_at = triggered_at;
    w->log_push_id = log_push_id;
    w->log_app_id = log_app_id;
    eb_ingest_result_free(w->ing);
    w->ing = NULL;
}

/* Tolerance: the values ingest set aside and those validation does not read become the push's
 * warnings (candidate/validate.h); the push is stored without them. */
static eb_rc tolerate(struct req *w, struct eb_push *p, struct eb_err *err)
{
    if (eb_ingest_copy_warnings(w->ing, w->arena, p))
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory reading the record");
    return eb_validate_tolerate(w->arena, p, err);
}

const char *svc_warned(const struct req *w, const char *stored, char *buf, size_t n)
{
    if (!w->ans.ok || !w->p.n_warnings)
        return NULL;
    snprintf(buf, n, "%s; %zu field%s not read (see push_warning)", stored, w->p.n_warnings,
             w->p.n_warnings == 1 ? "" : "s");
    return buf;
}

/* The bound request: maps and validates it and hands it to the bridge, which calls
 * push_answered once the outcome is durable (on the database's writer thread, or before this
 * returns). */
static void submit_push(struct req *w)
{
    struct eb_push *p = &w->p;
    struct eb_push_record *rec = &w->rec;
    struct eb_err err = {0};
    svc_make_record(w, rec, w->idbuf, sizeof w->idbuf);

    eb_rc rc = eb_bind_push(w->bind, w->arena, w->ing->application_id != NULL, p, &err);
    if (!rc && w->dec && w->dec->failed) /* data could not be decrypted or read */
        rc = eb_err_set(&err, EB_ERR_INVALID, "%s", w->dec->msg);
    if (!rc && w->ing->refusal[0])
        rc = eb_err_set(&err, EB_ERR_INVALID, "%s", w->ing->refusal);
    if (!rc)
        rc = eb_validate_push(p, &err);
    if (!rc)
        rc = tolerate(w, p, &err);
    if (!rc) /* the replay window (--max-age) */
        rc = eb_auth_check_age(p->triggered_at, w->svc->cfg->max_age_s, eb_now_ms(), &err);
    if (!rc && p->data && p->data->candidate_id.set) {
        rec->has_candidate_id = 1;
        rec->candidate_id = p->data->candidate_id.v;
    }
    memset(&w->bj, 0, sizeof w->bj);
    w->bj.a = w->db;
    w->bj.rec = rec;
    w->bj.request_id = w->req->id;
    w->bj.done = push_answered;
    w->bj.user = w;
    if (rc) {
        snprintf(w->msg, sizeof w->msg, "%s", err.msg);
        rec->outcome = EB_OUTCOME_REJECTED;
        rec->message = w->msg;
    } else {
        rec->outcome = EB_OUTCOME_STORED;
        w->bj.p = p;
    }
    /* the model holds copies (eb_bind_push): the worker's gSOAP context is free again; the
     * canonical document goes too, once what the push log and the log line need is copied */
    eb_bind_end(w->bind);
    w->bind = NULL;
    keep_ingest(w);
    struct eb_service *s = w->svc;
    size_t bytes = w->req->body_len + 1;
    pthread_mutex_lock(&s->pool_mu);
    while (s->waiting_bytes && s->waiting_bytes + bytes > WAITING_MAX)
        pthread_cond_wait(&s->waiting_cv, &s->pool_mu);
    s->waiting_bytes += bytes;
    w->waiting = bytes;
    pthread_mutex_unlock(&s->pool_mu);
    w->pending = eb_server_defer(w->resp);
    eb_bridge_submit(&w->bj);
}

/* Records a body that is not a push the bindings could read, and answers a SOAP Fault. */
static void reject_unbound(struct req *w, struct eb_http_response *resp, eb_rc rc, const char *why)
{
    struct eb_push_record rec;
    char idbuf[64];
    svc_make_record(w, &rec, idbuf, sizeof idbuf);
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
        svc_set_text(resp, 500, "internal error");
        return;
    }
    resp->status = rc == EB_ERR_TOO_LARGE ? 413 : (v == EB_SOAP_12 ? 400 : 500);
    if (rc == EB_ERR_INTERNAL)
        resp->status = 500;
    resp->content_type = svc_soap_content_type(v);
}

/* The end of every push: the log line, the metrics, the request state cleaned for the next
 * one. answer: what the client got (true, false, fault, error; REST: the status). */
static void push_end(struct req *w, const char *answer, const char *why, int invalid, int error)
{
    char ms[32], nwarn[24];
    snprintf(ms, sizeof ms, "%.1f", eb_mono_ms_frac() - w->t0);
    snprintf(nwarn, sizeof nwarn, "%zu", w->p.n_warnings);
    eb_log(w->ans.outcome == EB_OUTCOME_FAILED ? EB_LOG_WARN : EB_LOG_INFO, "push", "push_id",
           w->rec_id[0] ? w->rec_id : w->log_push_id, "application_id", w->log_app_id, "outcome",
           eb_outcome_name(w->ans.outcome), "answer", answer, "duplicate",
           w->ans.duplicate ? "yes" : "no", "message",
           w->ans.ok ? NULL : (w->ans.message[0] ? w->ans.message : why), "mode",
           w->rest ? "rest" : "soap", "encrypted", w->dec->decrypted ? "yes" : NULL, "warnings",
           w->ans.ok && w->p.n_warnings ? nwarn : NULL, "ms", ms, NULL);
    svc_count_push(w->rest, &w->ans, invalid, error, w->t0);
    if (w->ans.ok && w->p.n_warnings)
        eb_metric_add(svc_metrics.warnings, w->p.n_warnings);
    w->p.warnings = NULL; /* in the arena */
    w->p.n_warnings = w->p.cap_warnings = 0;
    eb_arena_reset(w->arena);
    if (w->ing)
        eb_ingest_result_free(w->ing);
    w->ing = NULL;
    w->dec = NULL;
    w->req = NULL;
}

/* The bridge's answer for a push submitted by submit_push: the response, then the request
 * state back to the pool and the response to the server. */
static void push_answered(struct eb_bridge_job *bj)
{
    struct req *w = bj->user;
    struct eb_http_response *resp = w->resp;
    struct eb_server_pending *pending = w->pending;
    char status[16], text[160];
    const char *answer;
    struct eb_bind *b = NULL;
    eb_log_set_request(w->req->id);
    w->ans = bj->ans;
    w->ids.application_id = w->rec.application_id;
    w->ids.has_application_id = w->rec.has_application_id;
    w->ids.candidate_id = w->rec.candidate_id;
    w->ids.has_candidate_id = w->rec.has_candidate_id;
    w->ids.push_id = w->rec_id;
    eb_buf_reset(&resp->body);
    if (w->rest) {
        svc_rest_result(w, resp);
        snprintf(status, sizeof status, "%d", resp->status);
        answer = status;
    } else if (!(b = svc_answer_bind()) ||
               eb_bind_answer(
                   b, w->soap, w->ans.ok,
                   svc_warned(w, w->ans.duplicate ? "already stored" : "stored", text, sizeof text)
                       ? text
                       : w->ans.message,
                   &resp->body)) {
        svc_set_text(resp, 500, "internal error");
        answer = "error";
    } else {
        resp->status = 200;
        resp->content_type = svc_soap_content_type(w->soap);
        answer = w->ans.ok ? "true" : "false";
    }
    if (b)
        eb_bind_end(b);
    push_end(w, answer, "", 0, !strcmp(answer, "error"));
    eb_log_set_request(0);
    svc_req_give(w);
    eb_server_complete(pending);
}

int svc_handle_push(struct req *w, const struct eb_http_request *req, struct eb_http_response *resp,
                    const char *body, size_t len, int rest)
{
    struct eb_ingest_opts opts = {eb_ingest_default_limits, &w->dec_store.hook};
    struct eb_err err = {0};
    char status[16];
    w->t0 = eb_mono_ms_frac();
    w->rest = rest;
    w->dec = &w->dec_store;
    w->ing = &w->ing_store;
    eb_data_decoder_init(w->dec, w->svc->has_aes ? &w->svc->aes : NULL);
    eb_ingest_result_init(w->ing, opts.limits.max_output);
    w->req = req;
    w->resp = resp;
    w->rec_id[0] = '\0';
    memset(&w->ans, 0, sizeof w->ans);
    memset(&w->ids, 0, sizeof w->ids);

    eb_rc rc = eb_ingest(body, len, &opts, w->ing, &err);
    w->soap = w->ing->soap;
    w->log_push_id = w->ing->push_id;
    w->log_app_id = w->ing->application_id;
    /* a typed request the direct path read is bound from the body itself: one parse */
    const char *text = rc ? NULL : eb_ingest_bind_text(w->ing, body, len);
    if (text && eb_bind_read(w->bind, text) == EB_OK) {
        submit_push(w);
        return 1;
    }
    const char *answer;
    if (!rc && !text) {
        rc = eb_err_set(&err, EB_ERR_NOMEM, "out of memory");
    } else if (!rc) {
        /* The request did not bind: a defect of ingest, answered as a fault. */
        rc = EB_ERR_INVALID;
        snprintf(err.msg, sizeof err.msg, "the request could not be read as pushCandidate");
    }
    if (rest) {
        svc_rest_unbound(w, resp, rc, err.msg);
        snprintf(status, sizeof status, "%d", resp->status);
        answer = status;
    } else {
        reject_unbound(w, resp, rc, err.msg);
        answer = "fault";
    }
    eb_bind_end(w->bind);
    push_end(w, answer, err.msg, 1, 0);
    return 0;
}

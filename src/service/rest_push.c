/* The REST mode: a JSON push is converted to XML (ingest/json.c) and runs the push pipeline
 * (push.c), answered in JSON (rest.c); an interview event (createInterviewsInfo,
 * updateInterviewsInfo, deleteInterviewsInfo) takes its own short path: read, validated and
 * stored through the bridge (bridge/interview.h). */
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
#include "bridge/bridge.h"
#include "bridge/interview.h"
#include "candidate/interview.h"
#include "ingest/ingest.h"
#include "ingest/json.h"
#include "service/rest.h"
#include "service/service_int.h"
#include "util/arena.h"
#include "util/clock.h"
#include "util/log.h"

void svc_rest_unbound(struct req *w, struct eb_http_response *resp, eb_rc rc, const char *why)
{
    struct eb_push_record rec;
    char idbuf[64];
    svc_make_record(w, &rec, idbuf, sizeof idbuf);
    rec.outcome = EB_OUTCOME_REJECTED;
    rec.message = why;
    eb_bridge_push(w->db, NULL, &rec, &w->ans);
    resp->status = rc == EB_ERR_TOO_LARGE ? 413 : rc == EB_ERR_INTERNAL ? 500 : 400;
    resp->content_type = eb_rest_content_type;
    if (eb_rest_answer(&resp->body, resp->status, why, NULL, NULL))
        svc_set_text(resp, 500, "internal error");
}

void svc_rest_result(struct req *w, struct eb_http_response *resp)
{
    const struct eb_config *cfg = w->svc->cfg;
    char pc[1200] = "", mobile[1200] = "";
    int status = w->ans.ok ? 200 : w->ans.outcome == EB_OUTCOME_FAILED ? 503 : 400;
    if (w->ans.ok) {
        if (cfg->redirect_pc_url[0])
            eb_rest_expand(cfg->redirect_pc_url, &w->ids, pc, sizeof pc);
        if (cfg->redirect_mobile_url[0])
            eb_rest_expand(cfg->redirect_mobile_url, &w->ids, mobile, sizeof mobile);
    }
    resp->status = status;
    resp->content_type = eb_rest_content_type;
    const char *stored = w->ans.duplicate ? "already stored" : "stored";
    char text[160];
    const char *with = svc_warned(w, stored, text, sizeof text);
    if (eb_rest_answer(&resp->body, w->ans.ok ? 0 : status,
                       w->ans.ok ? (with ? with : stored) : w->ans.message, pc, mobile))
        svc_set_text(resp, 500, "internal error");
}

/* REST interview events (createInterviewsInfo, updateInterviewsInfo, deleteInterviewsInfo):
 * read, validate, store through the adapter, answer in JSON. */
static void handle_interview(struct req *w, const struct eb_http_request *req,
                             struct eb_http_response *resp, const json_t *root, int kind)
{
    double t0 = eb_mono_ms_frac();
    struct eb_push_record rec;
    struct eb_interview_event ev;
    struct eb_err err = {0};
    char idbuf[64], id[300], event[64], trig[64], ms[32], status[16];
    json_t *plain = NULL;
    eb_rc rc = EB_OK;

    w->req = req;
    memset(&w->ans, 0, sizeof w->ans);
    memset(&ev, 0, sizeof ev);
    const char *push_id = eb_json_member_text(root, "id", id, sizeof id);
    ev.kind = (enum eb_interview_kind)kind;
    ev.event = eb_json_member_text(root, "event", event, sizeof event);
    svc_init_record(w, &rec, idbuf, sizeof idbuf, "unidentified", push_id, ev.event,
                    eb_json_member_text(root, "triggeredAt", trig, sizeof trig));
    char *payload = json_dumps(root, JSON_COMPACT); /* the push log keeps the event as JSON */
    rec.payload = payload;
    rec.payload_len = payload ? strlen(payload) : 0;

    if (!push_id || !*push_id)
        rc = eb_err_set(&err, EB_ERR_INVALID, "id: missing push id");
    else if (strlen(push_id) > 255)
        rc = eb_err_set(&err, EB_ERR_INVALID, "id: longer than 255 characters");
    const json_t *data =
        rc ? NULL
           : eb_json_interview_data(root, w->svc->has_aes ? &w->svc->aes : NULL, &plain, &err);
    if (!rc && !data)
        rc = err.rc ? err.rc : EB_ERR_INVALID;
    if (!rc)
        rc = eb_json_interview(data, w->arena, &ev, &err);
    if (!rc)
        rc = eb_interview_validate(&ev, &err);
    if (!rc)
        rc = eb_auth_check_age(rec.triggered_at, w->svc->cfg->max_age_s, eb_now_ms(), &err);
    if (rc == EB_ERR_NOMEM) {
        svc_set_text(resp, 503, "server busy, try again later");
        svc_count_push(1, &w->ans, 0, 1, t0);
        goto out;
    }
    if (rc)
        rec.message = err.msg;
    eb_bridge_interview(w->db, rc ? NULL : &ev, &rec, &w->ans);
    svc_count_push(1, &w->ans, 0, 0, t0);
    int code = w->ans.ok ? 200 : w->ans.outcome == EB_OUTCOME_FAILED ? 503 : 400;
    resp->status = code;
    resp->content_type = eb_rest_content_type;
    if (eb_rest_answer(&resp->body, w->ans.ok ? 0 : code,
                       w->ans.ok ? (w->ans.duplicate ? "already stored" : "stored")
                                 : w->ans.message,
                       NULL, NULL))
        svc_set_text(resp, 500, "internal error");
out:
    snprintf(ms, sizeof ms, "%.1f", eb_mono_ms_frac() - t0);
    snprintf(status, sizeof status, "%d", resp->status);
    eb_log(w->ans.outcome == EB_OUTCOME_FAILED ? EB_LOG_WARN : EB_LOG_INFO, "interview event",
           "push_id", w->rec_id, "event", ev.event, "outcome", eb_outcome_name(w->ans.outcome),
           "answer", status, "duplicate", w->ans.duplicate ? "yes" : "no", "message",
           w->ans.ok ? NULL : w->ans.message, "ms", ms, NULL);
    free(payload);
    json_decref(plain);
    eb_arena_reset(w->arena);
    w->req = NULL;
}

int svc_handle_rest(struct req *w, const struct eb_http_request *req, struct eb_http_response *resp)
{
    int deferred = 0;
    struct eb_err err = {0};
    struct eb_buf xml;
    json_t *root = eb_json_load(req->body, req->body_len, "request body", NULL, &err);
    eb_buf_init(&xml, eb_ingest_default_limits.max_output);
    if (root && !json_is_object(root))
        eb_err_set(&err, EB_ERR_INVALID, "the JSON body is not an object");
    if (root && json_is_object(root)) {
        const json_t *event = eb_json_member(root, "event");
        int kind = json_is_string(event) ? eb_interview_kind_of(json_string_value(event)) : -1;
        if (kind >= 0) {
            handle_interview(w, req, resp, root, kind);
            goto out;
        }
        if (eb_json_push_xml(root, &xml, &err) == EB_OK) {
            json_decref(root); /* the XML holds it all: not kept through ingest */
            root = NULL;
            deferred = svc_handle_push(w, req, resp, xml.data, xml.len, 1);
            goto out;
        }
    }
    /* Not a push at all: kept in the push log under an id of its own, answered 400. */
    {
        svc_record_unread(w, req, "unidentified", err.msg, &w->ans);
        resp->status = err.rc == EB_ERR_NOMEM ? 503 : err.rc == EB_ERR_TOO_LARGE ? 413 : 400;
        resp->content_type = eb_rest_content_type;
        if (eb_rest_answer(&resp->body, resp->status, err.msg, NULL, NULL))
            svc_set_text(resp, 500, "internal error");
        eb_log(EB_LOG_INFO, "push", "push_id", w->rec_id, "outcome", "rejected", "answer",
               resp->status == 503   ? "503"
               : resp->status == 413 ? "413"
                                     : "400",
               "message", err.msg, "mode", "rest", NULL);
        svc_count_push(1, &w->ans, resp->status != 503, resp->status == 503, -1);
    }
out:
    eb_buf_free(&xml);
    json_decref(root);
    return deferred;
}

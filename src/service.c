/* The routes of ehrbridge and the push pipeline behind POST:
 * authentication (auth/, on the raw request) -> ingest (raw body -> canonical envelope; data
 * decrypted or converted from JSON by ingest/decrypt.c) -> bind (generated gSOAP service) ->
 * candidate (map, validate, replay window) -> bridge (idempotency, one transaction, push log) ->
 * adapter. A REST (JSON) push is converted to XML (ingest/json.c) and runs the same pipeline,
 * answered in JSON (rest.c); the REST interview events take their own short path to the
 * adapter (bridge/interview.c). GET: ?wsdl, /healthz, /readyz, /metrics (util/metrics.h).
 * Every log line of a request carries its id (eb_log_set_request). */
#include "service.h"

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
#include "archive/archive.h"
#include "auth/auth.h"
#include "bind/bind.h"
#include "bridge/bridge.h"
#include "bridge/interview.h"
#include "candidate/interview.h"
#include "candidate/map.h"
#include "candidate/validate.h"
#include "ingest/decrypt.h"
#include "ingest/ingest.h"
#include "ingest/json.h"
#include "mapping/mapping.h"
#include "rest.h"
#include "retention.h"
#include "transport/server.h"
#include "transport/tls.h"
#include "util/clock.h"
#include "util/arena.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/refusal.h"

extern const char eb_wsdl_text[];
extern const size_t eb_wsdl_len;

#define ARENA_MAX ((size_t)256 * 1024 * 1024)

struct req;

struct eb_service {
    const struct eb_config *cfg; /* settings, owned by the caller */
    pthread_mutex_t pool_mu;     /* guards the four below */
    struct req *pool;            /* request states not in use */
    size_t pool_n;               /* how many */
    size_t waiting_bytes;        /* bodies of the pushes waiting for the database */
    pthread_cond_t waiting_cv;   /* waiting_bytes went down */
    struct eb_adapter *admin;    /* connection used at start-up (schema) */
    struct eb_mapping *mapping;  /* --mapping, loaded at start; NULL: the default schema */
    char *wsdl;                  /* WSDL with the configured public URL; NULL: per request */
    size_t wsdl_len;
    atomic_uint_fast64_t unparsed; /* counter for ids of bodies that had no push id */
    struct eb_auth *auth;          /* who may push (auth/auth.h) */
    struct eb_archive *archive;    /* the download links' fetcher; NULL with --attachments off */
    struct eb_aes aes;             /* the data key (--aes-key), when has_aes */
    int has_aes;
    struct eb_admin *adm;           /* the admin listener's state; NULL when it is off */
    struct eb_retention *retention; /* --retention's thread; NULL when it is off */
};

/* The state of one request, from the worker that takes it to its answer. A push that goes to
 * the database travels with it (struct eb_bridge_job), so the worker takes the next request at
 * once; the state comes back to the service's pool when the answer is handed to the server
 * (eb_server_complete). Used by one thread at a time. */
struct req {
    struct eb_service *svc;
    struct eb_adapter *db;  /* the connection of the worker that took the request */
    struct req *next;       /* in the pool */
    struct eb_bind *bind;   /* the worker's gSOAP context, while the worker has the request */
    struct eb_arena *arena; /* the domain model of the push */
    const struct eb_http_request *req;
    struct eb_http_response *resp;
    struct eb_ingest_result *ing; /* &ing_store while a push is being read */
    struct eb_ingest_result ing_store;
    struct eb_answer ans;
    char rec_id[300];            /* the push id recorded for the request (for the log) */
    struct eb_data_decoder *dec; /* &dec_store while a push is being read */
    struct eb_data_decoder dec_store;
    struct eb_rest_ids ids; /* the push's ids, for redirect templates */
    /* a push on its way to the database */
    struct eb_bridge_job bj;
    struct eb_push p;
    struct eb_push_record rec;
    char idbuf[64];
    char msg[256]; /* why the push was refused */
    struct eb_server_pending *pending;
    size_t waiting;            /* counted in waiting_bytes */
    enum eb_soap_version soap; /* of the request's envelope */
    const char *log_push_id;   /* the push id and applicationId as read, for the log line */
    const char *log_app_id;
    int rest;  /* answered in JSON */
    double t0; /* eb_mono_ms_frac() when the push started */
};

struct eb_service_worker {
    struct eb_service *svc;
    struct eb_adapter *db; /* this worker's connection */
    struct eb_bind *bind;  /* this worker's gSOAP context */
    struct req *r;         /* the state for the next request; NULL: take one from the pool */
};

/* A gSOAP context of the calling thread for answers given on a thread that is not a worker
 * (the database's writer thread); freed when the thread ends. */
static pthread_key_t answer_key;
static pthread_once_t answer_once = PTHREAD_ONCE_INIT;

static void answer_key_free(void *b)
{
    eb_bind_free(b);
}

static void answer_key_init(void)
{
    (void)pthread_key_create(&answer_key, answer_key_free);
}

static struct eb_bind *answer_bind(void)
{
    pthread_once(&answer_once, answer_key_init);
    struct eb_bind *b = pthread_getspecific(answer_key);
    if (!b && (b = eb_bind_new()) && pthread_setspecific(answer_key, b)) {
        eb_bind_free(b);
        b = NULL;
    }
    return b;
}

#define POOL_KEEP 256 /* request states kept for reuse */
/* Request bodies of pushes waiting for their commit, in bytes, past which a worker waits before
 * handing over one more. Each waiting push holds its model and canonical payload (about 3 times
 * its body): this bounds that memory when the database is the bottleneck (large records), while
 * small records still form large group commits (two hundred fit). */
#define WAITING_MAX ((size_t)512 * 1024)

/* The service's metrics: pushes by mode and outcome, their duration, database errors and
 * refused requests. Registered by eb_service_new() (idempotent), updated lock-free. */
enum { M_SOAP, M_REST };
enum { M_STORED, M_DUPLICATE, M_REJECTED, M_FAILED, M_INVALID, M_ERROR, M_N_OUTCOMES };
static struct {
    struct eb_metric *pushes[2][M_N_OUTCOMES];
    struct eb_metric *duration[2];
    struct eb_metric *db_errors;
    struct eb_metric *refused[2]; /* 401, 403 */
    struct eb_metric *warnings;   /* values of stored pushes not read (push_warning) */
} metrics;

static void metrics_init(void)
{
    static const char *const push_labels[2][M_N_OUTCOMES] = {
        {"mode=\"soap\",outcome=\"stored\"", "mode=\"soap\",outcome=\"duplicate\"",
         "mode=\"soap\",outcome=\"rejected\"", "mode=\"soap\",outcome=\"failed\"",
         "mode=\"soap\",outcome=\"invalid\"", "mode=\"soap\",outcome=\"error\""},
        {"mode=\"rest\",outcome=\"stored\"", "mode=\"rest\",outcome=\"duplicate\"",
         "mode=\"rest\",outcome=\"rejected\"", "mode=\"rest\",outcome=\"failed\"",
         "mode=\"rest\",outcome=\"invalid\"", "mode=\"rest\",outcome=\"error\""}};
    static const char pushes_help[] =
        "Pushes answered, by mode (soap, rest) and outcome: stored (true), duplicate (a push id "
        "seen before, answered from the push log), rejected (invalid record: false or 400), "
        "failed (database unavailable: false or 503), invalid (not a push: SOAP Fault, 400 or "
        "415), error (internal)";
    for (int mode = 0; mode < 2; mode++)
        for (int o = 0; o < M_N_OUTCOMES; o++)
            metrics.pushes[mode][o] =
                eb_metrics_counter("ehrbridge_pushes_total", pushes_help, push_labels[mode][o]);
    static const char duration_help[] = "Time from a complete push request to its answer, seconds";
    metrics.duration[M_SOAP] =
        eb_metrics_histogram("ehrbridge_push_duration_seconds", duration_help, "mode=\"soap\"",
                             eb_metrics_duration_buckets, eb_metrics_duration_nbuckets);
    metrics.duration[M_REST] =
        eb_metrics_histogram("ehrbridge_push_duration_seconds", duration_help, "mode=\"rest\"",
                             eb_metrics_duration_buckets, eb_metrics_duration_nbuckets);
    metrics.db_errors = eb_metrics_counter(
        "ehrbridge_database_errors_total",
        "Pushes not stored because the database failed, and failed readiness checks", NULL);
    metrics.warnings = eb_metrics_counter(
        "ehrbridge_push_warnings_total",
        "Values of accepted pushes that were not read (stored as NULL, listed in push_warning)",
        NULL);
    static const char refused_help[] =
        "Requests refused by authentication (401) or the source address allow list (403)";
    metrics.refused[0] =
        eb_metrics_counter("ehrbridge_requests_refused_total", refused_help, "status=\"401\"");
    metrics.refused[1] =
        eb_metrics_counter("ehrbridge_requests_refused_total", refused_help, "status=\"403\"");
    eb_metric_gauge_set(eb_metrics_gauge("ehrbridge_build_info",
                                         "Always 1; the version of the running ehrbridge",
                                         "version=\"" EB_VERSION "\""),
                        1);
    struct eb_metric *start = eb_metrics_gauge(
        "ehrbridge_start_time_seconds", "When the service started, Unix time in seconds", NULL);
    if (!eb_metric_value(start))
        eb_metric_gauge_set(start, (int64_t)time(NULL));
}

static void req_free(struct req *r);

/* Counts one push: invalid = not a push at all, error = an internal failure; otherwise the
 * answer decides. t0: eb_mono_ms_frac() when the push started (< 0: no duration). */
static void count_push(int rest, const struct eb_answer *ans, int invalid, int error, double t0)
{
    int o = error                               ? M_ERROR
            : invalid                           ? M_INVALID
            : ans->duplicate                    ? M_DUPLICATE
            : ans->outcome == EB_OUTCOME_STORED ? M_STORED
            : ans->outcome == EB_OUTCOME_FAILED ? M_FAILED
                                                : M_REJECTED;
    eb_metric_inc(metrics.pushes[rest ? M_REST : M_SOAP][o]);
    if (ans->outcome == EB_OUTCOME_FAILED)
        eb_metric_inc(metrics.db_errors);
    if (t0 >= 0)
        eb_metric_observe(metrics.duration[rest ? M_REST : M_SOAP],
                          (eb_mono_ms_frac() - t0) / 1000.0);
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
    /* libxml2's globals and the loader that refuses every external entity, set before any
     * worker thread parses */
    eb_ingest_global_init();
    struct eb_service *s = calloc(1, sizeof *s);
    if (!s)
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    s->cfg = cfg;
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->waiting_cv, NULL);
    metrics_init();
    eb_rc rc = eb_auth_new(cfg, &s->auth, err);
    if (rc)
        goto fail;
    if ((s->has_aes = cfg->has_aes_key)) {
        memcpy(s->aes.key, cfg->aes_key, sizeof s->aes.key);
        memcpy(s->aes.iv, cfg->aes_iv, sizeof s->aes.iv);
        s->aes.has_iv = cfg->has_aes_iv;
    }
    if (cfg->mapping[0] && (rc = eb_mapping_load(cfg->mapping, &s->mapping, err)))
        goto fail;
    rc = eb_adapter_open_mapped(cfg->db_url, s->mapping, &s->admin, err);
    if (rc)
        goto fail;
    if (cfg->admin_listen_port && (rc = eb_admin_new(cfg, &s->adm, err)))
        goto fail;
    if (cfg->retention_days && (rc = eb_retention_start(cfg, s->mapping, &s->retention, err)))
        goto fail;
    /* said once the database is open: a start that waits for the database (serve --db-wait)
     * tries this function again, and says them once */
    if (!eb_auth_has_credentials(s->auth) && !cfg->tls_client_ca[0])
        eb_log(EB_LOG_WARN, "no authentication configured: anyone who reaches the port can push",
               "hint", "--sign-key, --bearer-token, --basic-user or --tls-client-ca", NULL);
    if (!cfg->tls_cert[0])
        eb_log(EB_LOG_INFO,
               "serving plain HTTP: terminate HTTPS in front (the vendor only "
               "calls HTTPS endpoints) or set --tls-cert and --tls-key",
               NULL);
    if ((rc = eb_archive_start(cfg, s->mapping, &s->archive, err)))
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
    while (s->pool) {
        struct req *r = s->pool;
        s->pool = r->next;
        req_free(r);
    }
    eb_retention_stop(s->retention);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->waiting_cv);
    eb_archive_stop(s->archive);
    eb_adapter_close(s->admin);
    eb_mapping_free(s->mapping);
    eb_auth_free(s->auth);
    eb_admin_free(s->adm);
    memset(&s->aes, 0, sizeof s->aes);
    free(s->wsdl);
    free(s);
}

static void req_free(struct req *r)
{
    if (!r)
        return;
    eb_arena_free(r->arena);
    free(r);
}

/* A request state from the pool, or a new one; NULL when out of memory. */
static struct req *req_take(struct eb_service *s)
{
    pthread_mutex_lock(&s->pool_mu);
    struct req *r = s->pool;
    if (r) {
        s->pool = r->next;
        s->pool_n--;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (r)
        return r;
    if (!(r = calloc(1, sizeof *r)))
        return NULL;
    r->svc = s;
    if (!(r->arena = eb_arena_new(ARENA_MAX))) {
        req_free(r);
        return NULL;
    }
    return r;
}

/* Gives r back to the pool (freed past POOL_KEEP). */
static void req_give(struct req *r)
{
    struct eb_service *s = r->svc;
    r->req = NULL;
    r->resp = NULL;
    r->pending = NULL;
    pthread_mutex_lock(&s->pool_mu);
    if (r->waiting) {
        s->waiting_bytes -= r->waiting;
        r->waiting = 0;
        pthread_cond_broadcast(&s->waiting_cv);
    }
    int keep = s->pool_n < POOL_KEEP;
    if (keep) {
        r->next = s->pool;
        s->pool = r;
        s->pool_n++;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (!keep)
        req_free(r);
}

struct eb_service_worker *eb_service_worker_new(struct eb_service *s, struct eb_err *err)
{
    struct eb_service_worker *w = calloc(1, sizeof *w);
    if (!w) {
        eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    w->svc = s;
    if (eb_bridge_open(s->cfg->db_url, s->mapping, &w->db, err))
        goto fail;
    w->db->queue_links = eb_archive_enabled(s->cfg);
    if (!(w->r = req_take(s)) || !(w->bind = eb_bind_new())) {
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
    if (w->r)
        req_give(w->r);
    eb_bind_free(w->bind);
    eb_bridge_close(w->db);
    free(w);
}

void eb_service_auto_workers(struct eb_config *cfg)
{
    const struct eb_adapter_methods *m = eb_adapter_lookup(cfg->db_url);
    if (!cfg->workers_auto || !eb_bridge_groups(m))
        return;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cores > 2 && cores < 512 ? (int)cores : 2;
    if (n < cfg->workers)
        cfg->workers = n;
}

eb_rc eb_service_check(const struct eb_config *cfg, struct eb_err *err)
{
    struct eb_adapter *a = NULL;
    struct eb_tls *tls = NULL;
    struct eb_auth *auth = NULL;
    eb_rc rc = eb_tls_new(cfg, &tls, err); /* the certificate, key and client CA load */
    eb_tls_free(tls);
    if (!rc)
        rc = eb_auth_new(cfg, &auth, err);
    eb_auth_free(auth);
    if (rc)
        return rc;
    struct eb_mapping *map = NULL;
    if (cfg->mapping[0] && (rc = eb_mapping_load(cfg->mapping, &map, err)))
        return rc;
    rc = eb_adapter_open_mapped(cfg->db_url, map, &a, err);
    if (!rc)
        rc = eb_adapter_ping(a, err);
    eb_adapter_close(a);
    eb_mapping_free(map);
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

/* A push_log record of the current request with push_id (NULL or "": an id of its own,
 * prefix-<ms>-<n>), event and triggered_at; the raw body is the request's. */
static void init_record(struct req *w, struct eb_push_record *rec, char *idbuf, size_t idsz,
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

/* Keeps the body of an authenticated request that never became a push (not readable, or of a
 * media type ehrbridge does not read): a rejected push_log entry under an id of its own,
 * prefix-<ms>-<n>, with why. Never called for a request refused by authentication. */
static void record_unread(struct req *w, const struct eb_http_request *req, const char *prefix,
                          const char *why, struct eb_answer *ans)
{
    struct eb_push_record rec;
    char idbuf[64];
    w->req = req;
    init_record(w, &rec, idbuf, sizeof idbuf, prefix, NULL, NULL, NULL);
    rec.outcome = EB_OUTCOME_REJECTED;
    rec.message = why;
    eb_bridge_push(w->db, NULL, &rec, ans);
    w->req = NULL;
}

/* The push_log record for this request, as far as ingest understood it. */
static void make_record(struct req *w, struct eb_push_record *rec, char *idbuf, size_t idsz)
{
    const struct eb_ingest_result *r = w->ing;
    init_record(w, rec, idbuf, idsz, "unidentified", r->push_id, r->event, r->triggered_at);
    rec->has_application_id = parse_i64(r->application_id, &rec->application_id);
    if (r->canon_len) {
        rec->payload = r->doc.data + r->canon_off;
        rec->payload_len = r->canon_len;
    }
}

static void push_answered(struct eb_bridge_job *bj);

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

/* The answer's text for a stored push with warnings ("stored; 2 fields not read, see
 * push_warning"), in buf; NULL when there are none or the push was not stored. */
static const char *warned(const struct req *w, const char *stored, char *buf, size_t n)
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
static void submit_push(struct req *w, const struct _ns1__pushCandidate *preq)
{
    struct eb_push *p = &w->p;
    struct eb_push_record *rec = &w->rec;
    struct eb_err err = {0};
    make_record(w, rec, w->idbuf, sizeof w->idbuf);

    eb_rc rc = eb_map_push(w->arena, preq, w->ing->application_id != NULL, p, &err);
    if (!rc && w->dec && w->dec->failed) /* data could not be decrypted or read */
        rc = eb_err_set(&err, EB_ERR_INVALID, "%s", w->dec->msg);
    if (!rc && w->ing->refusal[0])
        rc = eb_err_set(&err, EB_ERR_INVALID, "%s", w->ing->refusal);
    if (!rc)
        rc = eb_validate_push(p, &err);
    if (!rc)
        rc = tolerate(w, p, &err);
    if (!rc && eb_auth_check_age(p->triggered_at, w->svc->cfg->max_age_s, eb_now_ms(), err.msg,
                                 sizeof err.msg))
        rc = err.rc = EB_ERR_INVALID; /* the replay window (--max-age) */
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
    /* the model holds copies (eb_map_push): the worker's gSOAP context is free again; the
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

/* REST: records a body that did not become a push and answers {"code": status, "msg": why}. */
static void rest_unbound(struct req *w, struct eb_http_response *resp, eb_rc rc, const char *why)
{
    struct eb_push_record rec;
    char idbuf[64];
    make_record(w, &rec, idbuf, sizeof idbuf);
    rec.outcome = EB_OUTCOME_REJECTED;
    rec.message = why;
    eb_bridge_push(w->db, NULL, &rec, &w->ans);
    resp->status = rc == EB_ERR_TOO_LARGE ? 413 : rc == EB_ERR_INTERNAL ? 500 : 400;
    resp->content_type = eb_rest_content_type;
    if (eb_rest_answer(&resp->body, resp->status, why, NULL, NULL))
        set_text(resp, 500, "internal error");
}

/* REST: the answer for a push that went through the pipeline: 200 when stored (with
 * redirectUrl when configured), 400 when rejected, 503 when the database failed. */
static void rest_result(struct req *w, struct eb_http_response *resp)
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
    const char *with = warned(w, stored, text, sizeof text);
    if (eb_rest_answer(&resp->body, w->ans.ok ? 0 : status,
                       w->ans.ok ? (with ? with : stored) : w->ans.message, pc, mobile))
        set_text(resp, 500, "internal error");
}

/* Records a body that is not a push the bindings could read, and answers a SOAP Fault. */
static void reject_unbound(struct req *w, struct eb_http_response *resp, eb_rc rc, const char *why)
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
    count_push(w->rest, &w->ans, invalid, error, w->t0);
    if (w->ans.ok && w->p.n_warnings)
        eb_metric_add(metrics.warnings, w->p.n_warnings);
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
        rest_result(w, resp);
        snprintf(status, sizeof status, "%d", resp->status);
        answer = status;
    } else if (!(b = answer_bind()) ||
               eb_bind_answer(
                   b, w->soap, w->ans.ok,
                   warned(w, w->ans.duplicate ? "already stored" : "stored", text, sizeof text)
                       ? text
                       : w->ans.message,
                   &resp->body)) {
        set_text(resp, 500, "internal error");
        answer = "error";
    } else {
        resp->status = 200;
        resp->content_type = soap_content_type(w->soap);
        answer = w->ans.ok ? "true" : "false";
    }
    if (b)
        eb_bind_end(b);
    push_end(w, answer, "", 0, !strcmp(answer, "error"));
    eb_log_set_request(0);
    req_give(w);
    eb_server_complete(pending);
}

/* A push in body[0..len): the request's own body (SOAP), or the XML made from its JSON (REST,
 * rest = 1: answered in JSON). Returns 1 when the push went to the database: w then belongs to
 * it until push_answered, and the response comes later (eb_server_defer). */
static int handle_push(struct req *w, const struct eb_http_request *req,
                       struct eb_http_response *resp, const char *body, size_t len, int rest)
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
    const struct _ns1__pushCandidate *preq = NULL;
    if (!rc && eb_bind_read(w->bind, eb_buf_cstr(&w->ing->doc), &preq) == EB_OK) {
        submit_push(w, preq);
        return 1;
    }
    const char *answer;
    if (!rc) {
        /* The canonical document did not bind: a defect of ingest, answered as a fault. */
        rc = EB_ERR_INVALID;
        snprintf(err.msg, sizeof err.msg, "the request could not be read as pushCandidate");
    }
    if (rest) {
        rest_unbound(w, resp, rc, err.msg);
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

/* A member of a JSON object by name, ignoring ASCII case, '_' and '-' ("triggered_at"). */
static json_t *member(const json_t *obj, const char *name)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        const char *a = key, *b = name;
        for (;;) {
            while (*a == '_' || *a == '-')
                a++;
            while (*b == '_' || *b == '-')
                b++;
            if (!*a || !*b || (*a | 0x20) != (*b | 0x20))
                break;
            a++;
            b++;
        }
        if (!*a && !*b)
            return v;
    }
    return NULL;
}

/* The text of a scalar member into buf (strings longer than cap-1 are cut); NULL when absent,
 * null or not a scalar. */
static const char *member_text(const json_t *obj, const char *name, char *buf, size_t cap)
{
    char num[64];
    size_t n = 0;
    const json_t *v = member(obj, name);
    const char *s = v ? eb_json_scalar_text(v, num, sizeof num, &n) : NULL;
    if (!s)
        return NULL;
    snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
    return buf;
}

/* The data of an interview event as an object: given, or decrypted from hex and parsed. *owned
 * is set to what the caller must json_decref. NULL with err set when it cannot be had. */
static const json_t *interview_data(struct req *w, const json_t *root, json_t **owned,
                                    struct eb_err *err)
{
    const json_t *data = member(root, "data");
    *owned = NULL;
    if (!data || json_is_null(data)) {
        eb_err_set(err, EB_ERR_INVALID, "data: missing");
        return NULL;
    }
    if (!json_is_string(data))
        return data;
    const char *text = json_string_value(data);
    size_t len = json_string_length(data);
    if (!eb_decrypt_is_hex(text, len)) {
        eb_err_set(err, EB_ERR_INVALID, "data: expected an object (or AES ciphertext in hex)");
        return NULL;
    }
    if (!w->svc->has_aes) {
        eb_err_set(err, EB_ERR_INVALID,
                   "data: looks encrypted (hex) but no AES key is configured (--aes-key)");
        return NULL;
    }
    /* one message for every failure to decrypt or read (decrypt.h: no padding oracle) */
    if (eb_decrypt_json(&w->svc->aes, text, len, owned, err))
        return NULL;
    return *owned;
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
    const char *push_id = member_text(root, "id", id, sizeof id);
    ev.kind = (enum eb_interview_kind)kind;
    ev.event = member_text(root, "event", event, sizeof event);
    init_record(w, &rec, idbuf, sizeof idbuf, "unidentified", push_id, ev.event,
                member_text(root, "triggeredAt", trig, sizeof trig));
    char *payload = json_dumps(root, JSON_COMPACT); /* the push log keeps the event as JSON */
    rec.payload = payload;
    rec.payload_len = payload ? strlen(payload) : 0;

    if (!push_id || !*push_id)
        rc = eb_err_set(&err, EB_ERR_INVALID, "id: missing push id");
    else if (strlen(push_id) > 255)
        rc = eb_err_set(&err, EB_ERR_INVALID, "id: longer than 255 characters");
    const json_t *data = rc ? NULL : interview_data(w, root, &plain, &err);
    if (!rc && !data)
        rc = err.rc ? err.rc : EB_ERR_INVALID;
    if (!rc)
        rc = eb_json_interview(data, w->arena, &ev, &err);
    if (!rc)
        rc = eb_interview_validate(&ev, &err);
    if (!rc && eb_auth_check_age(rec.triggered_at, w->svc->cfg->max_age_s, eb_now_ms(), err.msg,
                                 sizeof err.msg))
        rc = EB_ERR_INVALID;
    if (rc == EB_ERR_NOMEM) {
        set_text(resp, 503, "server busy, try again later");
        count_push(1, &w->ans, 0, 1, t0);
        goto out;
    }
    if (rc)
        rec.message = err.msg;
    eb_bridge_interview(w->db, rc ? NULL : &ev, &rec, &w->ans);
    count_push(1, &w->ans, 0, 0, t0);
    int code = w->ans.ok ? 200 : w->ans.outcome == EB_OUTCOME_FAILED ? 503 : 400;
    resp->status = code;
    resp->content_type = eb_rest_content_type;
    if (eb_rest_answer(&resp->body, w->ans.ok ? 0 : code,
                       w->ans.ok ? (w->ans.duplicate ? "already stored" : "stored")
                                 : w->ans.message,
                       NULL, NULL))
        set_text(resp, 500, "internal error");
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

/* A REST push: JSON that does not parse is recorded and refused with 400; an interview event
 * takes its own path; anything else is converted to XML for the push pipeline. Returns 1 as
 * handle_push does. */
static int handle_rest(struct req *w, const struct eb_http_request *req,
                       struct eb_http_response *resp)
{
    int deferred = 0;
    struct eb_err err = {0};
    struct eb_buf xml;
    json_t *root = eb_json_load(req->body, req->body_len, "request body", NULL, &err);
    eb_buf_init(&xml, eb_ingest_default_limits.max_output);
    if (root && !json_is_object(root))
        eb_err_set(&err, EB_ERR_INVALID, "the JSON body is not an object");
    if (root && json_is_object(root)) {
        const json_t *event = member(root, "event");
        int kind = json_is_string(event) ? eb_interview_kind_of(json_string_value(event)) : -1;
        if (kind >= 0) {
            handle_interview(w, req, resp, root, kind);
            goto out;
        }
        if (eb_json_push_xml(root, &xml, &err) == EB_OK) {
            json_decref(root); /* the XML holds it all: not kept through ingest */
            root = NULL;
            deferred = handle_push(w, req, resp, xml.data, xml.len, 1);
            goto out;
        }
    }
    /* Not a push at all: kept in the push log under an id of its own, answered 400. */
    {
        record_unread(w, req, "unidentified", err.msg, &w->ans);
        resp->status = err.rc == EB_ERR_NOMEM ? 503 : err.rc == EB_ERR_TOO_LARGE ? 413 : 400;
        resp->content_type = eb_rest_content_type;
        if (eb_rest_answer(&resp->body, resp->status, err.msg, NULL, NULL))
            set_text(resp, 500, "internal error");
        eb_log(EB_LOG_INFO, "push", "push_id", w->rec_id, "outcome", "rejected", "answer",
               resp->status == 503   ? "503"
               : resp->status == 413 ? "413"
                                     : "400",
               "message", err.msg, "mode", "rest", NULL);
        count_push(1, &w->ans, resp->status != 503, resp->status == 503, -1);
    }
out:
    eb_buf_free(&xml);
    json_decref(root);
    return deferred;
}

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
                          const struct eb_auth_result *ar)
{
    int status = ar->verdict == EB_AUTH_DENY_403 ? 403 : 401;
    const char *msg =
        status == 403 ? "forbidden: source address not allowed" : "authentication failed";
    enum eb_soap_version v;
    const char *te = eb_http_header(req, "Transfer-Encoding");
    struct eb_refusal trace = {.status = status,
                               .reason = ar->reason,
                               .peer = req->peer,
                               .client = ar->client,
                               .path = req->path,
                               .content_length = eb_http_header(req, "Content-Length"),
                               .chunked = te != NULL}; /* chunked: the only coding accepted */
    eb_metric_inc(metrics.refused[status == 403]);
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
            resp->content_type = soap_content_type(v);
            return;
        }
    }
    set_text(resp, status, msg);
}

/* Authentication failed once the body was in (the vendor's signature does not match): as
 * refuse_answer(). The body read is not kept: a request that was not authenticated never
 * becomes a push, in push_log or anywhere (it could be replayed, or fill the disk). */
static void refuse(struct req *w, const struct eb_http_request *req, struct eb_http_response *resp,
                   const struct eb_auth_result *ar)
{
    refuse_answer(w->svc, w->bind, req, resp, ar);
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
    record_unread(w, req, "unidentified", why, &ans);
    eb_log(EB_LOG_INFO, "push", "push_id", w->rec_id, "outcome", "rejected", "answer", "415",
           "message", why, NULL);
    count_push(eb_rest_is_json(req), &ans, 1, 0, -1);
    set_text(resp, 415, why);
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
        set_text(resp, 500, "internal error");
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
        set_text(resp, 500, "internal error");
}

static int handle(struct req *w, const struct eb_http_request *req, struct eb_http_response *resp);

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
    enum route r = route_of(req);
    if (req->listener == EB_LISTENER_ADMIN && s->adm) /* its own policy (admin/admin.h) */
        return eb_admin_admit(s->adm, req, resp, announces_body(req));
    if (r != R_PUSH && announces_body(req)) {
        set_text(resp, 413, "this request takes no body: only a push (POST) has one");
        resp->close = 1;
        return -1;
    }
    if (r == R_PUSH)
        eb_auth_check_head(s->auth, req, &ar);
    else
        eb_auth_check_address(r == R_HEALTH || r == R_READY ? NULL : s->auth, req, &ar);
    if (ar.verdict == EB_AUTH_NEED_BODY)
        return ADMIT_CHECK_BODY;
    if (ar.verdict == EB_AUTH_PASS)
        return ADMIT_AUTHENTICATED;
    eb_log_set_request(req->id);
    refuse_answer(s, answer_bind(), req, resp, &ar);
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
    else if (!w->r && !(w->r = req_take(w->svc))) {
        set_text(resp, 503, "server busy, try again later");
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
    struct eb_auth_result ar;
    /* Admitted on its headers (eb_service_admit) with nothing left to check, or else checked
     * here before anything is parsed: a push's signature needs its body, and a server without
     * the admit hook checks everything here. */
    if (req->admitted != ADMIT_AUTHENTICATED) {
        if (r == R_PUSH)
            eb_auth_check_push(w->svc->auth, req, &ar);
        else
            eb_auth_check_address(r == R_HEALTH || r == R_READY ? NULL : w->svc->auth, req, &ar);
        if (ar.verdict != EB_AUTH_PASS) {
            refuse(w, req, resp, &ar);
            return 0;
        }
    }
    if (r == R_WSDL) {
        handle_wsdl(w, req, resp);
    } else if (r == R_HEALTH) {
        set_text(resp, 200, "ok");
    } else if (r == R_READY) {
        struct eb_err err = {0};
        if (eb_adapter_ping(w->db, &err)) {
            eb_metric_inc(metrics.db_errors);
            eb_log(EB_LOG_WARN, "readyz: database not ready", "error", err.msg, NULL);
            set_text(resp, 503, "database unavailable");
        } else {
            set_text(resp, 200, "ready");
        }
    } else if (r == R_METRICS && !w->svc->cfg->admin_listen_port) {
        handle_metrics(resp);
    } else if (r == R_PUSH) {
        const char *why = unsupported_media(req);
        if (why)
            refuse_media(w, req, resp, why);
        else if (eb_rest_is_json(req))
            return handle_rest(w, req, resp);
        else
            return handle_push(w, req, resp, req->body, req->body_len, 0);
    } else if (r == R_NOT_FOUND || r == R_METRICS) { /* /metrics: on --admin-listen */
        set_text(resp, 404,
                 "not found: POST pushCandidate requests here; GET ?wsdl for the contract");
    } else {
        set_text(resp, 405, "method not allowed");
    }
    return 0;
}

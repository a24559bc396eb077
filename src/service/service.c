/* The service: its state shared by the workers (the database opened at start, the mapping, the
 * authentication, the data key, the WSDL), each worker's state, the pool of request states a
 * push carries to the database and back, the metrics of pushes, and `ehrbridge check`. The
 * routes are in routes.c, the push pipeline in push.c, the REST mode in rest_push.c. */
#include "service/service.h"

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
#include "admin/retention.h"
#include "archive/archive.h"
#include "auth/auth.h"
#include "bind/bind.h"
#include "bridge/bridge.h"
#include "ingest/ingest.h"
#include "mapping/mapping.h"
#include "service/service_int.h"
#include "transport/tls.h"
#include "util/arena.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"

extern const char eb_wsdl_text[];
extern const size_t eb_wsdl_len;

/* A gSOAP context of the calling thread for answers given on a thread that is not a worker
 * (the database's writer thread); freed when the thread ends. */
static pthread_key_t answer_key;
static pthread_once_t answer_once = PTHREAD_ONCE_INIT;

static void req_free(struct req *r);

static void answer_key_free(void *b)
{
    eb_bind_free(b);
}

static void answer_key_init(void)
{
    (void)pthread_key_create(&answer_key, answer_key_free);
}

struct eb_bind *svc_answer_bind(void)
{
    pthread_once(&answer_once, answer_key_init);
    struct eb_bind *b = pthread_getspecific(answer_key);
    if (!b && (b = eb_bind_new()) && pthread_setspecific(answer_key, b)) {
        eb_bind_free(b);
        b = NULL;
    }
    return b;
}

struct svc_metrics svc_metrics;

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
            svc_metrics.pushes[mode][o] =
                eb_metrics_counter("ehrbridge_pushes_total", pushes_help, push_labels[mode][o]);
    static const char duration_help[] = "Time from a complete push request to its answer, seconds";
    svc_metrics.duration[M_SOAP] =
        eb_metrics_histogram("ehrbridge_push_duration_seconds", duration_help, "mode=\"soap\"",
                             eb_metrics_duration_buckets, eb_metrics_duration_nbuckets);
    svc_metrics.duration[M_REST] =
        eb_metrics_histogram("ehrbridge_push_duration_seconds", duration_help, "mode=\"rest\"",
                             eb_metrics_duration_buckets, eb_metrics_duration_nbuckets);
    svc_metrics.db_errors = eb_metrics_counter(
        "ehrbridge_database_errors_total",
        "Pushes not stored because the database failed, and failed readiness checks", NULL);
    svc_metrics.warnings = eb_metrics_counter(
        "ehrbridge_push_warnings_total",
        "Values of accepted pushes that were not read (stored as NULL, listed in push_warning)",
        NULL);
    static const char refused_help[] =
        "Requests refused by authentication (401) or the source address allow list (403)";
    svc_metrics.refused[0] =
        eb_metrics_counter("ehrbridge_requests_refused_total", refused_help, "status=\"401\"");
    svc_metrics.refused[1] =
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

void svc_count_push(int rest, const struct eb_answer *ans, int invalid, int error, double t0)
{
    int o = error                               ? M_ERROR
            : invalid                           ? M_INVALID
            : ans->duplicate                    ? M_DUPLICATE
            : ans->outcome == EB_OUTCOME_STORED ? M_STORED
            : ans->outcome == EB_OUTCOME_FAILED ? M_FAILED
                                                : M_REJECTED;
    eb_metric_inc(svc_metrics.pushes[rest ? M_REST : M_SOAP][o]);
    if (ans->outcome == EB_OUTCOME_FAILED)
        eb_metric_inc(svc_metrics.db_errors);
    if (t0 >= 0)
        eb_metric_observe(svc_metrics.duration[rest ? M_REST : M_SOAP],
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

struct req *svc_req_take(struct eb_service *s)
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

void svc_req_give(struct req *r)
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
    if (!(w->r = svc_req_take(s)) || !(w->bind = eb_bind_new())) {
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
        svc_req_give(w->r);
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

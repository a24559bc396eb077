/* What the files of the service share: the service's and a request's state, the limits of the
 * pipeline, the service's metrics, and the functions one file calls in another (service.c: the
 * service's life and its pool of request states; routes.c: the routes, admission and refusals;
 * push.c: the push pipeline; rest_push.c: REST pushes and interview events). Internal to
 * service/; the interface is service.h. */
#ifndef EB_SERVICE_INT_H
#define EB_SERVICE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "adapters/adapter.h"
#include "admin/admin.h"
#include "admin/retention.h"
#include "archive/archive.h"
#include "auth/auth.h"
#include "bind/bind.h"
#include "bridge/bridge.h"
#include "bridge/interview.h"
#include "candidate/interview.h"
#include "candidate/validate.h"
#include "ingest/decrypt.h"
#include "ingest/ingest.h"
#include "ingest/json.h"
#include "mapping/mapping.h"
#include "service/rest.h"
#include "service/service.h"
#include "transport/server.h"
#include "transport/tls.h"
#include "util/arena.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/refusal.h"

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
struct svc_metrics {
    struct eb_metric *pushes[2][M_N_OUTCOMES];
    struct eb_metric *duration[2];
    struct eb_metric *db_errors;
    struct eb_metric *refused[2]; /* 401, 403 */
    struct eb_metric *warnings;   /* values of stored pushes not read (push_warning) */
};
extern struct svc_metrics svc_metrics;

/* ---- called from another file of the service ---- */

/* A gSOAP context of the calling thread, for answers given on a thread that is not a worker
 * (the database's writer thread); freed when the thread ends. NULL when out of memory. */
struct eb_bind *svc_answer_bind(void);

/* Counts one push: invalid = not a push at all, error = an internal failure; otherwise the
 * answer decides. t0: eb_mono_ms_frac() when the push started (< 0: no duration). */
void svc_count_push(int rest, const struct eb_answer *ans, int invalid, int error, double t0);

/* A request state from the pool, or a new one; NULL when out of memory. */
struct req *svc_req_take(struct eb_service *s);

/* Gives r back to the pool (freed past POOL_KEEP). */
void svc_req_give(struct req *r);

/* Answers status with a short text/plain body. */
void svc_set_text(struct eb_http_response *resp, int status, const char *text);

/* The Content-Type of a SOAP answer in version v. */
const char *svc_soap_content_type(enum eb_soap_version v);

/* A push_log record of the current request with push_id (NULL or "": an id of its own,
 * prefix-<ms>-<n>), event and triggered_at; the raw body is the request's. */
void svc_init_record(struct req *w, struct eb_push_record *rec, char *idbuf, size_t idsz,
                     const char *prefix, const char *push_id, const char *event,
                     const char *triggered_at);

/* Keeps the body of an authenticated request that never became a push (not readable, or of a
 * media type ehrbridge does not read): a rejected push_log entry under an id of its own,
 * prefix-<ms>-<n>, with why. Never called for a request refused by authentication. */
void svc_record_unread(struct req *w, const struct eb_http_request *req, const char *prefix,
                       const char *why, struct eb_answer *ans);

/* The push_log record for this request, as far as ingest understood it. */
void svc_make_record(struct req *w, struct eb_push_record *rec, char *idbuf, size_t idsz);

/* The answer's text for a stored push with warnings ("stored; 2 fields not read, see
 * push_warning"), in buf; NULL when there are none or the push was not stored. */
const char *svc_warned(const struct req *w, const char *stored, char *buf, size_t n);

/* REST: records a body that did not become a push and answers {"code": status, "msg": why}. */
void svc_rest_unbound(struct req *w, struct eb_http_response *resp, eb_rc rc, const char *why);

/* REST: the answer for a push that went through the pipeline: 200 when stored (with
 * redirectUrl when configured), 400 when rejected, 503 when the database failed. */
void svc_rest_result(struct req *w, struct eb_http_response *resp);

/* A push in body[0..len), with a NUL at body[len]: the request's own body (SOAP), or the XML
 * made from its JSON (REST, rest = 1: answered in JSON). Returns 1 when the push went to the
 * database: w then belongs to it until push_answered, and the response comes later
 * (eb_server_defer). */
int svc_handle_push(struct req *w, const struct eb_http_request *req, struct eb_http_response *resp,
                    const char *body, size_t len, int rest);

/* A REST push: JSON that does not parse is recorded and refused with 400; an interview event
 * takes its own path; anything else is converted to XML for the push pipeline. Returns 1 as
 * svc_handle_push does. */
int svc_handle_rest(struct req *w, const struct eb_http_request *req,
                    struct eb_http_response *resp);

#endif

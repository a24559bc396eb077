/* The service: the routes of ehrbridge and the push pipeline behind POST
 * (ingest -> bind -> candidate -> bridge -> adapter). The transport calls it from its workers. */
#ifndef EB_SERVICE_H
#define EB_SERVICE_H

#include <stddef.h>

#include "config.h"
#include "transport/http.h"
#include "util/err.h"

struct eb_service;
struct eb_service_worker;

/* Opens the database (creating or migrating the schema) and prepares what the workers share.
 * cfg must outlive the service. Caller frees with eb_service_free(). EB_ERR_UNAVAILABLE when the
 * database cannot be reached: nothing is logged before the database is open, so a caller may try
 * again. */
eb_rc eb_service_new(const struct eb_config *cfg, struct eb_service **out, struct eb_err *err);
void eb_service_free(struct eb_service *s);

/* Per-worker state: a gSOAP context, a request arena, a database connection. NULL on failure
 * (err says why). Caller frees with eb_service_worker_free() on the same thread. */
struct eb_service_worker *eb_service_worker_new(struct eb_service *s, struct eb_err *err);
void eb_service_worker_free(struct eb_service_worker *w);

/* Answers one complete request: GET ?wsdl, GET /healthz, GET /readyz, POST (a push). Fills resp
 * (resp->body is initialized by the caller). Never fails: errors become HTTP answers. */
void eb_service_handle(struct eb_service_worker *w, const struct eb_http_request *req,
                       struct eb_http_response *resp);

/* Decides on a request's headers, before its body is read (the server's admit hook, on the
 * event loop thread; quick, never blocks, touches no database): the allow list for every route
 * but the health checks (?wsdl is not one, from any path), and for a push also the
 * credentials carried in headers (Bearer, Basic; a client certificate was checked at the
 * handshake). < 0: refused, resp holds the 401 or 403 (with Connection: close). >= 0: goes on;
 * eb_service_handle() then checks only what needs the body (the vendor's signature). */
int eb_service_admit(struct eb_service *s, const struct eb_http_request *req,
                     struct eb_http_response *resp);

/* The full WSDL (SOAP 1.1 and 1.2 ports) with every address set to public_url; caller frees. */
char *eb_service_wsdl(const char *public_url, size_t *len);

/* When --workers was not configured and the database's adapter commits on a thread of its own
 * (SQLite: workers hand pushes over and go on), one worker per core (at least 2) is enough:
 * lowers cfg->workers to that. */
void eb_service_auto_workers(struct eb_config *cfg);

/* `ehrbridge check`: opens the database read-write, checks the schema; EB_OK when ready. */
eb_rc eb_service_check(const struct eb_config *cfg, struct eb_err *err);

#endif

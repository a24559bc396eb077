/* The operator's admin listener (--admin-listen): the push browser (one static page compiled
 * into the binary), its JSON API, replay, /metrics, /healthz and /readyz. It runs on the
 * transport's second listener (req->listener EB_LISTENER_ADMIN) with an access policy of its
 * own: the source address (--admin-allow), the Host header (--admin-host), HTTP Basic
 * (--admin-user, --admin-password-file) and a CSRF token for every POST. Personal data leaves
 * the process here only; the access log names who read which push id, never what it holds nor
 * a query string. */
#ifndef EB_ADMIN_H
#define EB_ADMIN_H

#include "adapters/adapter.h"
#include "config.h"
#include "transport/http.h"
#include "util/err.h"

struct eb_admin;

/* Builds the admin listener's state from cfg (which must outlive it): the allow list, the
 * accepted Host names and a fresh CSRF token. EB_ERR_CONFIG when a setting cannot be used.
 * Caller frees with eb_admin_free(). */
eb_rc eb_admin_new(const struct eb_config *cfg, struct eb_admin **out, struct eb_err *err);

/* NULL-safe. */
void eb_admin_free(struct eb_admin *a);

/* The admit hook of the admin listener (transport/server.h), on the request's headers: the
 * source address, the Host header and the Basic credentials; a request that announces a body
 * (has_body: none of the listener's routes takes one) is refused with 413. Returns 1 when the
 * request may go on, -1 after filling resp with the refusal (and logging it). */
int eb_admin_admit(struct eb_admin *a, const struct eb_http_request *req,
                   struct eb_http_response *resp, int has_body);

/* Answers one request of the admin listener, reading and replaying through db (the calling
 * worker's connection). Never defers. */
void eb_admin_handle(struct eb_admin *a, struct eb_adapter *db, const struct eb_http_request *req,
                     struct eb_http_response *resp);

#endif

/* The HTTP server: one epoll event-loop thread that accepts, reads and frames whole requests
 * and writes responses, and a fixed pool of worker threads that only ever see complete
 * requests. Idle keep-alive connections and slow clients hold no worker. Every request is
 * admitted (hooks->admit) when its headers are complete, before 100 Continue and before any
 * byte of its body is read; a refused one is answered at once and its body never buffered.
 * Limits (header and body size, the memory of all bodies in flight together, request and
 * keep-alive timeouts, connections in total and per peer address) come from struct
 * eb_config. */
#ifndef EB_SERVER_H
#define EB_SERVER_H

#include "config.h"
#include "transport/http.h"
#include "util/err.h"

struct eb_service;
struct eb_server;

/* What the workers run. eb_server_run() uses the service (eb_service_worker_new/_handle/
 * _worker_free); tests pass their own. */
struct eb_server_hooks {
    /* Called once on each worker thread before it takes requests; returns the worker's state,
     * or NULL with err set, which makes the server fail to start. May be NULL (state NULL). */
    void *(*worker_new)(void *user, struct eb_err *err);
    /* Called on the same worker thread when the server stops (NULL-safe on its argument).
     * May be NULL. */
    void (*worker_free)(void *worker);
    /* Answers one complete request (resp->body is initialized, resp->status is 500 until
     * set). req and everything it points to are valid only during the call. Required. */
    void (*handle)(void *worker, const struct eb_http_request *req, struct eb_http_response *resp);
    void *user; /* passed to worker_new and admit */
    /* Called on the event loop thread when a request's headers are complete (req has method,
     * path, query, headers, peer, tls and id; no body yet), before 100 Continue and before any
     * byte of the body is read; must be quick and never block. < 0: the request is refused
     * with resp (filled like handle's; resp->body is initialized, status 500 until set): it is
     * answered at once, nothing of its body is kept, and the connection closes after a short,
     * bounded drain of what the client already sent. >= 0: the request goes on, and the value
     * reaches handle as req->admitted. May be NULL (every request goes on, admitted 0). */
    int (*admit)(void *user, const struct eb_http_request *req, struct eb_http_response *resp);
};

/* A request whose answer comes later (eb_server_defer). */
struct eb_server_pending;

/* Called by hooks->handle, on its worker thread, for a request it will answer later from any
 * thread: handle then returns without an answer and the worker takes the next request, while
 * the connection waits (holding no worker, nothing read from it) for eb_server_complete(). The
 * request handle got and resp stay valid and untouched by the server until then. resp must be
 * the one handle got. Once per request. */
struct eb_server_pending *eb_server_defer(struct eb_http_response *resp);

/* Hands the response of a deferred request (filled by then) to the event loop, which writes
 * it. Thread-safe; exactly once per eb_server_defer(); may come before handle returns. */
void eb_server_complete(struct eb_server_pending *p);

/* The memory of request bodies (cfg->max_buffered): a request with a body reserves it when it
 * is admitted (its Content-Length, or a chunked body in growing steps) and gives it back when
 * its answer is written. Beyond the budget the request waits, its body unread and without
 * 100 Continue, in arrival order, while headers of other requests are still read; one that
 * waits longer than cfg->request_timeout_ms is answered 503 with Retry-After. */

/* Creates a server and binds its listening sockets (cfg->listen_host, cfg->listen_port; port 0
 * binds an ephemeral port, see eb_server_port()), and, when cfg->admin_listen_port is set, the
 * admin listener's (cfg->admin_listen_host): its requests reach the same hooks with
 * req->listener EB_LISTENER_ADMIN, and over TLS it asks no client certificate. With
 * cfg->tls_cert it serves HTTPS only
 * (EB_ERR_CONFIG when the certificate, key or client CA cannot be used) and sets SIGPIPE to be
 * ignored in the process (OpenSSL's writes cannot suppress it). Starts no thread. cfg and hooks
 * must outlive the server. Caller frees with eb_server_free(). */
eb_rc eb_server_new(const struct eb_config *cfg, const struct eb_server_hooks *hooks,
                    struct eb_server **out, struct eb_err *err);

/* Bytes of request bodies the server holds reserved now (for tests and metrics; approximate
 * when read from another thread than the loop's). */
size_t eb_server_buffered(const struct eb_server *s);

/* The port the first listening socket is bound to (the real one when 0 was configured). */
int eb_server_port(const struct eb_server *s);

/* The port the admin listener is bound to; 0 when there is none. */
int eb_server_admin_port(const struct eb_server *s);

/* Starts the workers (each calls hooks->worker_new on its thread) and runs the event loop on
 * the calling thread until eb_server_stop(). Then stops accepting, closes idle connections,
 * lets requests in workers finish and their responses be written (with Connection: close),
 * gives requests still being received at most 5 s more (then 408), joins the workers and
 * returns EB_OK. Fails (err set) when a worker cannot start. Call once per server. */
eb_rc eb_server_serve(struct eb_server *s, struct eb_err *err);

/* Asks eb_server_serve() to stop gracefully; a second call also closes connections that are
 * still receiving a request. Thread-safe and async-signal-safe. */
void eb_server_stop(struct eb_server *s);

/* Asks the event loop to reload the TLS certificate, key and client CA (what SIGHUP does under
 * eb_server_run()). Thread-safe and async-signal-safe. */
void eb_server_reload(struct eb_server *s);

/* Closes the listening sockets and frees the server (NULL-safe). Not while serving. */
void eb_server_free(struct eb_server *s);

/* `ehrbridge serve`: runs the server with the service's workers until SIGTERM or SIGINT (a
 * second signal stops waiting for requests still being received). SIGHUP reloads the TLS
 * certificate, key and client CA for new connections (open ones keep theirs; a reload that
 * fails keeps the previous ones). SIGPIPE is ignored.
 * EB_OK after a graceful stop; an error (err set) when it cannot listen or start. */
eb_rc eb_server_run(const struct eb_config *cfg, struct eb_service *svc, struct eb_err *err);

#endif

/* The HTTP server: listening sockets, the epoll event loop, the worker pool, connection limits
 * and graceful shutdown. A connection's own life (reading and framing, admission, deadlines,
 * writing) is in conn.c; what the two files share is declared in server_int.h.
 *
 * Life of a connection, all on the loop thread except the call to hooks->handle:
 *   READ    reading and framing a request (EPOLLIN); idle and partial requests have deadlines.
 *           When its headers are complete, hooks->admit runs; a refused request is answered
 *           at once (WRITE, then LINGER); an admitted one reserves its body's memory
 *   WAIT    admitted, but the bodies in memory are at cfg->max_buffered: out of epoll, nothing
 *           of the body read and no 100 Continue, until memory frees (then READ again) or
 *           request_timeout passes (503 with Retry-After)
 *   WORKER  a complete request is queued or being handled by a worker; the socket is out of
 *           epoll, nothing is read (pipelined bytes wait in the kernel or in c->in)
 *   WRITE   the response is being written (EPOLLOUT while the socket is full)
 *   LINGER  after a response with "Connection: close": write side shut, the rest of what the
 *           client sends is read and dropped for a short while so that it reads our answer
 *           instead of a reset
 * Socket reads and writes go through srv_conn_recv() and srv_conn_send() only; with a certificate
 * configured they run TLS (transport/tls.c): a connection first shakes hands (non-blocking,
 * waiting on whichever direction OpenSSL asks for), and bytes OpenSSL has already decrypted
 * (SSL_pending), which epoll cannot see, are read before the loop waits again. SIGHUP reloads
 * the certificate for new connections. */
#define _GNU_SOURCE /* accept4 */
#include "transport/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "transport/frame.h"
#include "transport/server_int.h"
#include "transport/tls.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"

atomic_uint_fast64_t srv_next_request_id;

struct srv_metrics srv_metrics;

static void reload_tls(struct eb_server *s);

/* Registers the transport's metrics (srv_metrics). */
static void transport_metrics_init(void)
{
    static const char *const classes[5] = {"code=\"1xx\"", "code=\"2xx\"", "code=\"3xx\"",
                                           "code=\"4xx\"", "code=\"5xx\""};
    srv_metrics.open =
        eb_metrics_gauge("ehrbridge_connections_open", "Client connections open now", NULL);
    srv_metrics.accepted = eb_metrics_counter("ehrbridge_connections_accepted_total",
                                              "Client connections accepted", NULL);
    srv_metrics.rejected = eb_metrics_counter(
        "ehrbridge_connections_rejected_total",
        "Client connections turned away (max_connections, per-peer limit, no descriptors)", NULL);
    srv_metrics.in_flight =
        eb_metrics_gauge("ehrbridge_requests_in_flight",
                         "Complete requests queued for or being handled by a worker, or waiting "
                         "for their commit",
                         NULL);
    srv_metrics.bytes =
        eb_metrics_counter("ehrbridge_received_bytes_total",
                           "Bytes of HTTP requests received (after TLS decryption)", NULL);
    srv_metrics.buffered = eb_metrics_gauge(
        "ehrbridge_request_body_bytes",
        "Bytes of request bodies held in memory now (reserved when a request is admitted; at "
        "most --max-buffered)",
        NULL);
    srv_metrics.waiting = eb_metrics_gauge(
        "ehrbridge_requests_waiting_for_memory",
        "Admitted requests whose body waits unread because the bodies in memory are at "
        "--max-buffered",
        NULL);
    for (int i = 0; i < 5; i++)
        srv_metrics.responses[i] = eb_metrics_counter(
            "ehrbridge_http_responses_total", "HTTP responses sent, by status class", classes[i]);
}

/* ---- accepting ---- */

static void peer_text(const struct sockaddr_storage *ss, char *out, size_t n)
{
    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)n);
    } else if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)n);
        else
            inet_ntop(AF_INET6, a, out, (socklen_t)n);
    } else {
        snprintf(out, n, "unknown");
    }
}

/* Turns a connection away with a best-effort 503 (plain HTTP only) and closes it. */
static void reject(int fd, int tls)
{
    static const char answer[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                 "Server: ehrbridge\r\n"
                                 "Content-Type: text/plain; charset=utf-8\r\n"
                                 "Content-Length: 21\r\n"
                                 "Connection: close\r\n\r\n"
                                 "too many connections\n";
    char drop[4096];
    eb_metric_inc(srv_metrics.rejected);
    if (!tls) /* a TLS client would read the plain text as a broken record */
        (void)!send(fd, answer, sizeof answer - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    for (int i = 0; i < 16 && recv(fd, drop, sizeof drop, MSG_DONTWAIT) > 0; i++)
        ; /* what already arrived, so that close() does not turn into a reset */
    close(fd);
}

static void on_accept(struct eb_server *s, struct src *l)
{
    int kind = s->listener_kind[l - s->listeners];
    struct eb_tls *tls = kind == EB_LISTENER_ADMIN ? s->admin_tls : s->tls;
    for (int i = 0; i < ACCEPT_BATCH && l->fd >= 0; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && s->reserve_fd >= 0) {
                /* out of descriptors: give up the spare one to accept and shed a client */
                close(s->reserve_fd);
                fd = accept(l->fd, NULL, NULL);
                if (fd >= 0)
                    reject(fd, tls != NULL);
                s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                eb_log(EB_LOG_WARN, "out of file descriptors: connection refused", NULL);
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                eb_log(EB_LOG_DEBUG, "accept failed", "reason", strerror(errno), NULL);
            }
            return;
        }
        char addr[INET6_ADDRSTRLEN];
        peer_text(&ss, addr, sizeof addr);
        if (s->n_conns >= (size_t)s->cfg->max_connections) {
            eb_log(EB_LOG_DEBUG, "connection refused", "reason", "max_connections reached", NULL);
            reject(fd, tls != NULL);
            continue;
        }
        struct peer *p = srv_peer_acquire(s, addr);
        struct conn *c = p ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            eb_log(EB_LOG_DEBUG, "connection refused", "reason",
                   p ? "out of memory" : "max_connections_per_peer reached", NULL);
            srv_peer_release(s, p);
            reject(fd, tls != NULL);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->src = (struct src){SRC_CONN, fd};
        c->srv = s;
        c->listener = kind;
        c->id = ++s->next_conn_id;
        c->peer = p;
        snprintf(c->addr, sizeof c->addr, "%s", addr);
        eb_frame_init(&c->frame, s->cfg->max_header, s->cfg->max_body);
        eb_buf_init(&c->in, MAX_IN);
        eb_buf_init(&c->out, MAX_OUT);
        eb_buf_init(&c->resp.body, MAX_RESPONSE);
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        eb_metric_gauge_add(srv_metrics.open, 1);
        eb_metric_inc(srv_metrics.accepted);
        c->state = CONN_READ;
        srv_timer_start(c, &s->t_idle); /* the first request must start within keepalive_timeout */
        if (tls && !(c->ssl = eb_tls_conn_new(tls, fd))) {
            srv_conn_close(c, "tls: cannot start a connection");
            continue;
        }
        srv_conn_watch(c, EPOLLIN);
    }
}

/* ---- stopping ---- */

static void close_listeners(struct eb_server *s)
{
    for (int i = 0; i < s->n_listeners; i++) {
        if (s->listeners[i].fd >= 0)
            close(s->listeners[i].fd);
        s->listeners[i].fd = -1;
    }
}

static void begin_stop(struct eb_server *s, int level)
{
    if (level > 2)
        level = 2;
    if (level <= s->stopping)
        return;
    s->stopping = level;
    close_listeners(s);
    size_t in_flight = 0;
    int64_t grace_end = eb_mono_ms() + STOP_GRACE_MS;
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        int receiving = c->state == CONN_READ && (c->frame.started || c->in.len);
        if (c->state == CONN_WORKER) {
            in_flight++;
        } else if (c->state == CONN_WAIT) {
            srv_conn_refuse(c, 503); /* its body was never read: try again elsewhere or later */
        } else if (c->state == CONN_READ && (level >= 2 || !receiving)) {
            srv_conn_close(c, NULL); /* idle (or, at level 2, still receiving) */
        } else if (level >= 2 && c->state == CONN_LINGER) {
            srv_conn_close(c, NULL);
        } else if (receiving && c->tl == &s->t_request && c->deadline > grace_end) {
            srv_timer_start(c, &s->t_stop); /* finish receiving soon, or get a 408 */
        }
    }
    char n[24];
    snprintf(n, sizeof n, "%zu", in_flight);
    eb_log(EB_LOG_INFO, level >= 2 ? "stopping now" : "stopping", "in_flight", n, NULL);
}

static void on_wake(struct eb_server *s)
{
    uint64_t v;
    (void)!read(s->wake.fd, &v, sizeof v);
    pthread_mutex_lock(&s->mu);
    struct conn *done = s->d_head;
    s->d_head = s->d_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (done) {
        struct conn *c = done;
        done = c->qnext;
        c->qnext = NULL;
        srv_conn_respond(c);
    }
    if (atomic_exchange(&s->reload_requests, 0) > 0 && !s->stopping)
        reload_tls(s);
    int stops = atomic_exchange(&s->stop_requests, 0);
    if (stops > 0)
        begin_stop(s, s->stopping + stops);
}

/* SIGHUP: new connections get a context built from the certificate files as they are now;
 * open connections keep theirs. */
static void reload_tls(struct eb_server *s)
{
    struct eb_err err = {EB_OK, ""};
    if (!s->tls) {
        eb_log(EB_LOG_INFO, "SIGHUP: no TLS certificate configured, nothing to reload", NULL);
        return;
    }
    if (eb_tls_reload(s->tls, &err) || (s->admin_tls && eb_tls_reload(s->admin_tls, &err)))
        eb_log(EB_LOG_ERROR, "SIGHUP: TLS reload failed, the previous certificate stays in use",
               "reason", err.msg, NULL);
    else
        eb_log(EB_LOG_INFO, "SIGHUP: TLS certificate reloaded for new connections", NULL);
}

static void on_signal(struct eb_server *s)
{
    struct signalfd_siginfo si;
    int stops = 0, reloads = 0;
    while (read(s->sig.fd, &si, sizeof si) == (ssize_t)sizeof si) {
        eb_log(EB_LOG_INFO, "signal received", "signal",
               si.ssi_signo == SIGTERM  ? "SIGTERM"
               : si.ssi_signo == SIGINT ? "SIGINT"
               : si.ssi_signo == SIGHUP ? "SIGHUP"
                                        : "other",
               NULL);
        if (si.ssi_signo == SIGHUP)
            reloads++;
        else
            stops++;
    }
    if (reloads && !s->stopping)
        reload_tls(s);
    if (stops)
        begin_stop(s, s->stopping + stops);
}

/* ---- workers ---- */

/* Queues c's response for the loop. The loop drains the whole queue at each wake-up, so only
 * the first response of an empty queue needs to wake it. */
static void hand_back(struct eb_server *s, struct conn *c)
{
    pthread_mutex_lock(&s->mu);
    int wake = !s->d_head;
    srv_enqueue(&s->d_head, &s->d_tail, c);
    pthread_mutex_unlock(&s->mu);
    if (wake) {
        uint64_t one = 1;
        (void)!write(s->wake.fd, &one, sizeof one);
    }
}

struct eb_server_pending *eb_server_defer(struct eb_http_response *resp)
{
    struct conn *c = (struct conn *)((char *)resp - offsetof(struct conn, resp));
    c->deferred = 1;
    atomic_store(&c->holds, 2);
    atomic_fetch_add(&c->srv->n_deferred, 1);
    return (struct eb_server_pending *)c;
}

void eb_server_complete(struct eb_server_pending *p)
{
    struct conn *c = (struct conn *)p;
    struct eb_server *s = c->srv;
    atomic_fetch_sub(&s->n_deferred, 1);
    if (atomic_fetch_sub(&c->holds, 1) == 1)
        hand_back(s, c);
}

static void *worker_main(void *arg)
{
    struct eb_server *s = arg;
    const struct eb_server_hooks *h = s->hooks;
    struct eb_err err = {EB_OK, ""};
    void *w = h->worker_new ? h->worker_new(h->user, &err) : NULL;
    int ok = !h->worker_new || w;
    pthread_mutex_lock(&s->mu);
    if (ok) {
        s->n_started++;
    } else {
        if (!s->n_failed++)
            s->start_err = err;
    }
    pthread_cond_broadcast(&s->start_cv);
    pthread_mutex_unlock(&s->mu);
    if (!ok)
        return NULL;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->q_head && !s->quit)
            pthread_cond_wait(&s->work_cv, &s->mu);
        struct conn *c = s->q_head;
        if (c) {
            s->q_head = c->qnext;
            if (!s->q_head)
                s->q_tail = NULL;
        }
        pthread_mutex_unlock(&s->mu);
        if (!c)
            break; /* quit and nothing left */
        h->handle(w, eb_frame_request(&c->frame), &c->resp);
        if (c->deferred && atomic_fetch_sub(&c->holds, 1) != 1)
            continue; /* answered later: eb_server_complete() hands it over */
        hand_back(s, c);
    }
    if (h->worker_free)
        h->worker_free(w);
    return NULL;
}

static void stop_workers(struct eb_server *s)
{
    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    pthread_cond_broadcast(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_threads; i++)
        pthread_join(s->threads[i], NULL);
    s->n_threads = 0;
}

/* Starts cfg->workers threads with every signal blocked, and waits until each has run
 * worker_new. */
static eb_rc start_workers(struct eb_server *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    int n = s->cfg->workers;
    sigset_t all, old;
    s->threads = calloc((size_t)n, sizeof *s->threads);
    if (!s->threads)
        return eb_err_set(err, EB_ERR_NOMEM, "cannot start workers: out of memory");
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < n; i++) {
        int e = pthread_create(&s->threads[i], NULL, worker_main, s);
        if (e) {
            rc = eb_err_set(err, EB_ERR_INTERNAL, "cannot start worker thread: %s", strerror(e));
            break;
        }
        char name[16]; /* the event loop keeps the process's name; top -H, perf */
        snprintf(name, sizeof name, "eb-worker-%d", (i + 1) % 10000);
        pthread_setname_np(s->threads[i], name);
        s->n_threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_lock(&s->mu);
    while (s->n_started + s->n_failed < s->n_threads)
        pthread_cond_wait(&s->start_cv, &s->mu);
    if (!rc && s->n_failed)
        rc = eb_err_set(err, s->start_err.rc ? s->start_err.rc : EB_ERR_INTERNAL,
                        "worker failed to start: %s",
                        s->start_err.msg[0] ? s->start_err.msg : "no reason given");
    pthread_mutex_unlock(&s->mu);
    if (rc)
        stop_workers(s);
    return rc;
}

/* ---- setup ---- */

static int epoll_add(struct eb_server *s, struct src *src)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = src};
    return epoll_ctl(s->epfd, EPOLL_CTL_ADD, src->fd, &ev);
}

static void addr_text(const struct sockaddr *sa, socklen_t len, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN], port[8];
    if (getnameinfo(sa, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV)) {
        snprintf(out, n, "?");
        return;
    }
    snprintf(out, n, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* Binds the addresses of host_text:port_num for listener kind (EB_LISTENER_*). */
static eb_rc listen_all(struct eb_server *s, const char *host_text, int port_num, int kind,
                        struct eb_err *err)
{
    eb_rc rc = EB_OK;
    int first = s->n_listeners;
    const char *host = host_text[0] && strcmp(host_text, "*") != 0
                           ? host_text
                           : NULL; /* "*": every address, IPv4 and IPv6 */
    char port[8];
    snprintf(port, sizeof port, "%d", port_num);
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                             .ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g)
        return eb_err_set(err, EB_ERR_CONFIG, "cannot resolve listen address %s: %s", host_text,
                          gai_strerror(g));
    int n_addrs = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        n_addrs++;
    char last_err[200] = "";
    for (struct addrinfo *ai = res; ai && s->n_listeners < MAX_LISTENERS; ai = ai->ai_next) {
        char where[80];
        addr_text(ai->ai_addr, ai->ai_addrlen, where, sizeof where);
        int dup = 0;
        for (struct addrinfo *p = res; p != ai; p = p->ai_next)
            dup |=
                p->ai_addrlen == ai->ai_addrlen && !memcmp(p->ai_addr, ai->ai_addr, p->ai_addrlen);
        if (dup)
            continue;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(last_err, sizeof last_err, "cannot listen on %s: %s", where, strerror(errno));
            continue; /* e.g. IPv6 disabled: the other addresses may do */
        }
        int one = 1, v6only = n_addrs > 1; /* "::" alone also takes IPv4 */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, SOMAXCONN)) {
            rc = eb_err_set(err, EB_ERR_UNAVAILABLE, "cannot listen on %s: %s", where,
                            strerror(errno));
            close(fd);
            goto out;
        }
        struct src *l = &s->listeners[s->n_listeners];
        *l = (struct src){SRC_LISTENER, fd};
        s->listener_kind[s->n_listeners] = kind;
        s->n_listeners++;
        if (epoll_add(s, l)) {
            rc = eb_err_set(err, EB_ERR_INTERNAL, "epoll_ctl: %s", strerror(errno));
            goto out;
        }
        if (s->n_listeners == first + 1) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
                *(kind == EB_LISTENER_ADMIN ? &s->admin_port : &s->port) =
                    ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    if (s->n_listeners == first)
        rc = eb_err_set(err, EB_ERR_UNAVAILABLE, "%s",
                        last_err[0] ? last_err : "no address to listen on");
out:
    freeaddrinfo(res);
    return rc;
}

/* Raises the soft descriptor limit to the hard one and warns when max_connections cannot be
 * reached with it. */
static void check_fd_limit(const struct eb_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)cfg->max_connections + 64 > rl.rlim_cur) {
        char lim[24];
        snprintf(lim, sizeof lim, "%llu", (unsigned long long)rl.rlim_cur);
        eb_log(EB_LOG_WARN, "max_connections exceeds the open file limit", "nofile", lim, NULL);
    }
}

eb_rc eb_server_new(const struct eb_config *cfg, const struct eb_server_hooks *hooks,
                    struct eb_server **out, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct eb_server *s = NULL;
    *out = NULL;
    if (!hooks || !hooks->handle)
        return eb_err_set(err, EB_ERR_INTERNAL, "server: no request handler");
    if (cfg->workers < 1 || cfg->max_connections < 1 || cfg->max_connections_per_peer < 1 ||
        cfg->request_timeout_ms < 1 || cfg->keepalive_timeout_ms < 1 || !cfg->max_body ||
        !cfg->max_header)
        return eb_err_set(err, EB_ERR_CONFIG, "server: limits must be positive");
    if (cfg->max_buffered && cfg->max_buffered < cfg->max_body)
        return eb_err_set(err, EB_ERR_CONFIG, "server: max_buffered must be at least max_body");
    s = calloc(1, sizeof *s);
    if (!s)
        return eb_err_set(err, EB_ERR_NOMEM, "server: out of memory");
    s->cfg = cfg;
    s->hooks = hooks;
    s->epfd = s->wake.fd = s->sig.fd = s->reserve_fd = -1;
    s->wake.kind = SRC_WAKE;
    s->sig.kind = SRC_SIGNAL;
    s->t_idle.timeout_ms = cfg->keepalive_timeout_ms;
    s->t_request.timeout_ms = cfg->request_timeout_ms;
    s->t_write.timeout_ms = cfg->request_timeout_ms;
    s->t_linger.timeout_ms = LINGER_MS;
    s->t_stop.timeout_ms = STOP_GRACE_MS;
    s->t_wait.timeout_ms = cfg->request_timeout_ms;
    s->max_buffered = cfg->max_buffered ? cfg->max_buffered : DEFAULT_MAX_BUFFERED;
    if (s->max_buffered < cfg->max_body)
        s->max_buffered = cfg->max_body; /* the default follows a larger max_body */
    atomic_init(&s->stop_requests, 0);
    atomic_init(&s->reload_requests, 0);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work_cv, NULL);
    pthread_cond_init(&s->start_cv, NULL);
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->epfd < 0 || s->wake.fd < 0 || epoll_add(s, &s->wake)) {
        rc = eb_err_set(err, EB_ERR_INTERNAL, "server: %s", strerror(errno));
        goto out;
    }
    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (cfg->max_header > 80 * 1024) /* http-parser's own header limit is 80 KiB by default */
        http_parser_set_max_header_size(
            (uint32_t)(cfg->max_header > UINT32_MAX - 1024 ? UINT32_MAX : cfg->max_header + 1024));
    check_fd_limit(cfg);
    transport_metrics_init();
    if ((rc = eb_tls_new(cfg, &s->tls, err)))
        goto out;
    if (s->tls) { /* OpenSSL writes with write(2), which cannot say MSG_NOSIGNAL */
        struct sigaction ign = {.sa_handler = SIG_IGN};
        sigaction(SIGPIPE, &ign, NULL);
    }
    if (!rc && cfg->admin_listen_port && s->tls) { /* operators show no client certificate */
        if (!(s->admin_cfg = malloc(sizeof *s->admin_cfg))) {
            rc = eb_err_set(err, EB_ERR_NOMEM, "server: out of memory");
            goto out;
        }
        *s->admin_cfg = *cfg;
        s->admin_cfg->tls_client_ca[0] = '\0';
        if ((rc = eb_tls_new(s->admin_cfg, &s->admin_tls, err)))
            goto out;
    }
    rc = listen_all(s, cfg->listen_host, cfg->listen_port, EB_LISTENER_PUBLIC, err);
    if (!rc && cfg->admin_listen_port)
        rc = listen_all(s, cfg->admin_listen_host, cfg->admin_listen_port, EB_LISTENER_ADMIN, err);
out:
    if (rc)
        eb_server_free(s);
    else
        *out = s;
    return rc;
}

int eb_server_port(const struct eb_server *s)
{
    return s ? s->port : 0;
}

int eb_server_admin_port(const struct eb_server *s)
{
    return s ? s->admin_port : 0;
}

size_t eb_server_buffered(const struct eb_server *s)
{
    return s ? atomic_load_explicit(&s->buffered, memory_order_relaxed) : 0;
}

static eb_rc serve(struct eb_server *s, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct epoll_event evs[MAX_EVENTS];
    if (s->served)
        return eb_err_set(err, EB_ERR_INTERNAL, "server: already served");
    s->served = 1;
    if (s->sig.fd >= 0 && epoll_add(s, &s->sig))
        return eb_err_set(err, EB_ERR_INTERNAL, "server: epoll_ctl: %s", strerror(errno));
    rc = start_workers(s, err);
    if (rc)
        return rc;
    for (int i = 0; i < s->n_listeners; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char where[80], workers[16];
        getsockname(s->listeners[i].fd, (struct sockaddr *)&ss, &sl);
        addr_text((struct sockaddr *)&ss, sl, where, sizeof where);
        snprintf(workers, sizeof workers, "%d", s->cfg->workers);
        eb_log(EB_LOG_INFO, "listening", "address", where, "workers", workers, NULL);
    }
    while (!s->stopping || s->n_conns > 0) {
        int n = epoll_wait(s->epfd, evs, MAX_EVENTS, srv_next_timeout(s));
        if (n < 0 && errno != EINTR) {
            rc = eb_err_set(err, EB_ERR_INTERNAL, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct src *src = evs[i].data.ptr;
            uint32_t e = evs[i].events;
            if (src->kind == SRC_LISTENER) {
                on_accept(s, src);
            } else if (src->kind == SRC_WAKE) {
                on_wake(s);
            } else if (src->kind == SRC_SIGNAL) {
                on_signal(s);
            } else {
                struct conn *c = (struct conn *)src;
                if (c->state == CONN_WORKER) {
                    srv_conn_park(c);
                    continue;
                }
                if (c->ssl && !c->tls_ready) {
                    if (c->state == CONN_READ)
                        srv_conn_handshake(c);
                    continue;
                }
                if (c->ssl && c->tls_want)
                    e |= EPOLLIN | EPOLLOUT; /* OpenSSL waits on the other direction: retry */
                if ((e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) &&
                    (c->state == CONN_WRITE || (c->state == CONN_READ && c->out_off < c->out.len)))
                    srv_conn_flush(c);
                if ((e & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) &&
                    (c->state == CONN_READ || c->state == CONN_LINGER))
                    srv_conn_on_readable(c);
            }
        }
        srv_expire_timers(s);
        while (s->graveyard) {
            struct conn *c = s->graveyard;
            s->graveyard = c->qnext;
            srv_conn_free(c);
        }
    }
    /* only an epoll failure leaves connections behind; workers may still hold some, and
     * deferred requests are answered from other threads: wait for those (bounded) */
    close_listeners(s);
    stop_workers(s);
    s->waking = 1; /* nothing is resumed any more: the workers are gone */
    for (int i = 0; i < 30000 && atomic_load(&s->n_deferred) > 0; i++)
        usleep(1000);
    while (s->conns)
        srv_conn_close(s->conns, NULL);
    while (s->graveyard) {
        struct conn *c = s->graveyard;
        s->graveyard = c->qnext;
        srv_conn_free(c);
    }
    return rc;
}

void eb_server_signals(struct eb_server *s, int sigfd)
{
    s->sig.fd = sigfd;
}

eb_rc eb_server_serve(struct eb_server *s, struct eb_err *err)
{
    return serve(s, err);
}

void eb_server_reload(struct eb_server *s)
{
    uint64_t one = 1;
    atomic_fetch_add(&s->reload_requests, 1);
    (void)!write(s->wake.fd, &one, sizeof one);
}

void eb_server_stop(struct eb_server *s)
{
    uint64_t one = 1;
    atomic_fetch_add(&s->stop_requests, 1);
    (void)!write(s->wake.fd, &one, sizeof one);
}

void eb_server_free(struct eb_server *s)
{
    if (!s)
        return;
    close_listeners(s);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->wake.fd >= 0)
        close(s->wake.fd);
    if (s->reserve_fd >= 0)
        close(s->reserve_fd);
    for (size_t i = 0; i < PEER_BUCKETS; i++)
        while (s->peers[i]) {
            struct peer *p = s->peers[i];
            s->peers[i] = p->next;
            free(p);
        }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->start_cv);
    eb_tls_free(s->tls);
    eb_tls_free(s->admin_tls);
    free(s->admin_cfg);
    free(s->threads);
    free(s);
}

/* The HTTP server: listening sockets, the epoll event loop (accept, read and frame, write,
 * per-connection deadlines), the worker pool, connection limits and graceful shutdown.
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
 * Socket reads and writes go through conn_recv() and conn_send() only; with a certificate
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

#include "service.h"
#include "transport/frame.h"
#include "transport/tls.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"

#define MAX_LISTENERS        8
#define READ_CHUNK           16384                 /* bytes read per readiness event */
#define MAX_IN               (4 * READ_CHUNK)      /* unparsed input kept per connection */
#define MAX_OUT              (64 * 1024)           /* response head, 100 Continue, refusals */
#define MAX_RESPONSE         (64u * 1024u * 1024u) /* a response body the service may build */
#define LINGER_MS            2000                  /* reading and dropping after a final answer */
#define LINGER_MAX           (64u * 1024u * 1024u) /* bytes read and dropped at most after it */
#define DEFAULT_MAX_BUFFERED (64u * 1024u * 1024u) /* cfg->max_buffered 0 */
#define CHUNK_GRANT          (64u * 1024u) /* first reservation of a chunked body; doubled */
#define RETRY_AFTER_S        5             /* Retry-After of a 503 */
#define STOP_GRACE_MS        5000          /* at a stop, left to requests being received */
#define PEER_BUCKETS         1024
#define ACCEPT_BATCH         64
#define MAX_EVENTS           128

enum src_kind { SRC_LISTENER, SRC_WAKE, SRC_SIGNAL, SRC_CONN };

/* What an epoll event points to: the first member of a listener, a connection, ... */
struct src {
    enum src_kind kind;
    int fd;
};

/* Connections waiting on the same kind of deadline. Every list has one constant timeout, so
 * appending keeps it ordered by deadline and the head is always the next to expire. */
struct timer_list {
    int timeout_ms;
    struct conn *head, *tail;
};

/* Open connections of one peer address, for max_connections_per_peer. */
struct peer {
    struct peer *next;
    int count;
    char addr[INET6_ADDRSTRLEN];
};

enum conn_state { CONN_READ, CONN_WAIT, CONN_WORKER, CONN_WRITE, CONN_LINGER, CONN_CLOSED };

struct conn {
    struct src src; /* first member: epoll data points here; src.fd the socket */
    struct eb_server *srv;
    int listener; /* EB_LISTENER_PUBLIC or EB_LISTENER_ADMIN: the listener that accepted it */
    uint64_t id;  /* connection number, for logs */
    enum conn_state state;
    uint32_t events;              /* epoll interest registered; 0 = not in epoll */
    struct peer *peer;            /* this connection counts against it */
    char addr[INET6_ADDRSTRLEN];  /* the peer's address, text */
    struct eb_frame frame;        /* the request being read */
    struct eb_buf in;             /* bytes read and not yet framed (pipelined requests) */
    struct eb_buf out;            /* bytes to write before the body: head, 100 Continue, ... */
    size_t out_off;               /* bytes of out already written */
    struct eb_http_response resp; /* filled by the worker */
    size_t body_off;              /* bytes of resp.body already written */
    int send_body;                /* resp.body goes on the wire (not for HEAD, 204, 304) */
    int close_after;              /* close once the response is written */
    int continue_sent;            /* 100 Continue was queued for this request */
    size_t reserved;              /* bytes of srv->buffered this request's body holds */
    size_t wait_for;              /* WAIT: the reservation it waits for */
    size_t linger_left;           /* LINGER: bytes still read and dropped before closing */
    struct timer_list *tl;        /* the deadline list the connection is on, or NULL */
    int64_t deadline;             /* monotonic ms */
    struct conn *tprev, *tnext;   /* in tl */
    struct conn *prev, *next;     /* in srv->conns */
    struct conn *qnext;           /* in the work queue, the done queue or the graveyard */
    int deferred;                 /* the handler answers later (eb_server_defer) */
    atomic_int holds;             /* deferred: the handler's return and eb_server_complete();
                                     the last of the two hands the response to the loop */
    struct ssl_st *ssl;           /* the TLS connection; NULL for plain HTTP */
    int tls_ready;                /* the TLS handshake is done */
    enum eb_tls_want tls_want;    /* what the last TLS read or write waits for */
};

struct eb_server {
    const struct eb_config *cfg;
    const struct eb_server_hooks *hooks;
    struct src listeners[MAX_LISTENERS];
    int listener_kind[MAX_LISTENERS]; /* per listening socket: EB_LISTENER_* */
    int n_listeners;
    int port;       /* of the first listener */
    int admin_port; /* of the admin listener; 0: none */
    int epfd;
    struct src wake;             /* eventfd: responses are ready, or a stop was requested */
    struct src sig;              /* signalfd of eb_server_run(), fd -1 otherwise */
    int reserve_fd;              /* a spare descriptor given up to shed a connection at EMFILE */
    atomic_int stop_requests;    /* eb_server_stop() calls not yet seen by the loop */
    atomic_int reload_requests;  /* eb_server_reload() calls not yet seen by the loop */
    int stopping;                /* 0 running, 1 graceful stop, 2 also drop partial requests */
    int served;                  /* eb_server_serve() was called */
    struct eb_tls *tls;          /* the TLS context for new connections; NULL: plain HTTP */
    struct eb_tls *admin_tls;    /* the admin listener's: the same certificate, no client CA */
    struct eb_config *admin_cfg; /* cfg without the client CA, for admin_tls */
    uint64_t next_conn_id;
    struct conn *conns; /* every connection not yet closed */
    size_t n_conns;
    struct conn *graveyard;      /* closed during this loop iteration, freed at its end */
    struct timer_list t_idle;    /* READ, nothing of a request yet: keepalive_timeout */
    struct timer_list t_request; /* READ, part of a request: request_timeout */
    struct timer_list t_write;   /* WRITE, since the last progress: request_timeout */
    struct timer_list t_linger;  /* LINGER: LINGER_MS */
    struct timer_list t_stop;    /* READ, part of a request when the stop began: STOP_GRACE_MS */
    struct timer_list t_wait;    /* WAIT: request_timeout; also the queue of waiting requests,
                                    oldest first */
    atomic_size_t buffered;      /* bytes of request bodies reserved, all connections (written
                                    by the loop only; atomic for eb_server_buffered()) */
    size_t max_buffered;         /* cfg->max_buffered */
    size_t held_by_waiters;      /* of buffered, what waiting (chunked) requests hold */
    int waking;                  /* wake_waiters() is running */
    struct peer *peers[PEER_BUCKETS];

    /* the pool; mu guards everything below */
    pthread_mutex_t mu;
    pthread_cond_t work_cv;       /* a request was queued, or quit */
    pthread_cond_t start_cv;      /* a worker finished starting */
    struct conn *q_head, *q_tail; /* requests for the workers */
    struct conn *d_head, *d_tail; /* handled requests for the loop */
    int quit;
    int n_started, n_failed;
    struct eb_err start_err; /* why the first worker failed to start */
    atomic_int n_deferred;   /* deferred requests not yet completed */
    pthread_t *threads;
    int n_threads; /* threads created */
};

static atomic_uint_fast64_t next_request_id;

/* The transport's metrics (util/metrics.h), registered by eb_server_new(); updated with one
 * relaxed atomic operation each, on the loop thread. */
static struct {
    struct eb_metric *open;         /* gauge: connections open */
    struct eb_metric *accepted;     /* counter: connections accepted */
    struct eb_metric *rejected;     /* counter: connections turned away at accept */
    struct eb_metric *in_flight;    /* gauge: requests in workers or awaiting their answer */
    struct eb_metric *bytes;        /* counter: bytes of HTTP received (after TLS) */
    struct eb_metric *responses[5]; /* counter: responses by status class 1xx..5xx */
    struct eb_metric *buffered;     /* gauge: bytes of request bodies reserved */
    struct eb_metric *waiting;      /* gauge: requests waiting for that memory */
} tmetrics;

static void transport_metrics_init(void)
{
    static const char *const classes[5] = {"code=\"1xx\"", "code=\"2xx\"", "code=\"3xx\"",
                                           "code=\"4xx\"", "code=\"5xx\""};
    tmetrics.open =
        eb_metrics_gauge("ehrbridge_connections_open", "Client connections open now", NULL);
    tmetrics.accepted = eb_metrics_counter("ehrbridge_connections_accepted_total",
                                           "Client connections accepted", NULL);
    tmetrics.rejected = eb_metrics_counter(
        "ehrbridge_connections_rejected_total",
        "Client connections turned away (max_connections, per-peer limit, no descriptors)", NULL);
    tmetrics.in_flight =
        eb_metrics_gauge("ehrbridge_requests_in_flight",
                         "Complete requests queued for or being handled by a worker, or waiting "
                         "for their commit",
                         NULL);
    tmetrics.bytes =
        eb_metrics_counter("ehrbridge_received_bytes_total",
                           "Bytes of HTTP requests received (after TLS decryption)", NULL);
    tmetrics.buffered = eb_metrics_gauge(
        "ehrbridge_request_body_bytes",
        "Bytes of request bodies held in memory now (reserved when a request is admitted; at "
        "most --max-buffered)",
        NULL);
    tmetrics.waiting = eb_metrics_gauge(
        "ehrbridge_requests_waiting_for_memory",
        "Admitted requests whose body waits unread because the bodies in memory are at "
        "--max-buffered",
        NULL);
    for (int i = 0; i < 5; i++)
        tmetrics.responses[i] = eb_metrics_counter(
            "ehrbridge_http_responses_total", "HTTP responses sent, by status class", classes[i]);
}

/* ---- deadlines ---- */

static void timer_stop(struct conn *c)
{
    struct timer_list *tl = c->tl;
    if (!tl)
        return;
    if (c->tprev)
        c->tprev->tnext = c->tnext;
    else
        tl->head = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
    else
        tl->tail = c->tprev;
    c->tprev = c->tnext = NULL;
    c->tl = NULL;
}

static void timer_start(struct conn *c, struct timer_list *tl)
{
    timer_stop(c);
    c->deadline = eb_mono_ms() + tl->timeout_ms;
    c->tl = tl;
    c->tprev = tl->tail;
    if (tl->tail)
        tl->tail->tnext = c;
    else
        tl->head = c;
    tl->tail = c;
}

/* Milliseconds until the next deadline, -1 when there is none. */
static int next_timeout(struct eb_server *s)
{
    struct timer_list *lists[] = {&s->t_idle,   &s->t_request, &s->t_write,
                                  &s->t_linger, &s->t_stop,    &s->t_wait};
    int64_t next = -1;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        if (lists[i]->head && (next < 0 || lists[i]->head->deadline < next))
            next = lists[i]->head->deadline;
    if (next < 0)
        return -1;
    int64_t d = next - eb_mono_ms();
    return d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
}

/* ---- peers ---- */

static unsigned peer_hash(const char *addr)
{
    unsigned h = 2166136261u;
    for (; *addr; addr++)
        h = (h ^ (unsigned char)*addr) * 16777619u;
    return h % PEER_BUCKETS;
}

/* Counts a new connection of addr; NULL when the peer is at its limit or memory is out. */
static struct peer *peer_acquire(struct eb_server *s, const char *addr)
{
    unsigned h = peer_hash(addr);
    struct peer *p = s->peers[h];
    while (p && strcmp(p->addr, addr) != 0)
        p = p->next;
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return NULL;
        snprintf(p->addr, sizeof p->addr, "%s", addr);
        p->next = s->peers[h];
        s->peers[h] = p;
    }
    if (p->count >= s->cfg->max_connections_per_peer)
        return NULL;
    p->count++;
    return p;
}

static void peer_release(struct eb_server *s, struct peer *p)
{
    if (!p || --p->count > 0)
        return;
    struct peer **pp = &s->peers[peer_hash(p->addr)];
    while (*pp != p)
        pp = &(*pp)->next;
    *pp = p->next;
    free(p);
}

/* ---- connections: I/O ---- */

static ssize_t conn_recv(struct conn *c, void *buf, size_t n)
{
    if (c->ssl)
        return eb_tls_read(c->ssl, buf, n, &c->tls_want);
    return recv(c->src.fd, buf, n, 0);
}

static ssize_t conn_send(struct conn *c, struct iovec *iov, int n_iov)
{
    if (c->ssl) /* one buffer at a time: a retry after EAGAIN repeats the same bytes */
        return eb_tls_write(c->ssl, iov[0].iov_base, iov[0].iov_len, &c->tls_want);
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n_iov};
    return sendmsg(c->src.fd, &mh, MSG_NOSIGNAL);
}

static void conn_log(struct conn *c, const char *msg, const char *reason)
{
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)c->id);
    eb_log(EB_LOG_DEBUG, msg, "conn", id, "reason", reason, NULL);
}

static void budget_release(struct conn *c);
static void leave_wait(struct conn *c);

/* Closes the socket now; the memory is freed at the end of the loop iteration, as events for
 * the connection may still be pending in the batch. Never called in state WORKER. */
static void conn_close(struct conn *c, const char *why)
{
    struct eb_server *s = c->srv;
    if (c->state == CONN_CLOSED)
        return;
    leave_wait(c);
    if (why)
        conn_log(c, "connection closed", why);
    timer_stop(c);
    close(c->src.fd);
    c->src.fd = -1;
    c->events = 0;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    eb_metric_gauge_add(tmetrics.open, -1);
    peer_release(s, c->peer);
    c->peer = NULL;
    c->state = CONN_CLOSED;
    c->qnext = s->graveyard;
    s->graveyard = c;
    budget_release(c);
}

static void conn_free(struct conn *c)
{
    eb_tls_conn_free(c->ssl);
    eb_frame_free(&c->frame);
    eb_buf_free(&c->in);
    eb_buf_free(&c->out);
    eb_buf_free(&c->resp.body);
    free(c);
}

/* Registers the epoll interest events (0: out of epoll). 0 on success; on failure the
 * connection is closed. */
static int conn_watch(struct conn *c, uint32_t events)
{
    if (c->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = &c->src};
    int op = !c->events ? EPOLL_CTL_ADD : !events ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    if (epoll_ctl(c->srv->epfd, op, c->src.fd, &ev) != 0) {
        conn_close(c, "epoll_ctl failed");
        return -1;
    }
    c->events = events;
    return 0;
}

/* Stops the events of a connection a worker holds (input waits until its answer is out). The
 * connection is not the loop's to close meanwhile: a failure leaves it watched, and the loop
 * tries again at its next event. */
static void conn_park(struct conn *c)
{
    struct epoll_event ev = {.events = 0, .data.ptr = &c->src};
    if (c->events && epoll_ctl(c->srv->epfd, EPOLL_CTL_DEL, c->src.fd, &ev) == 0)
        c->events = 0;
}

static void http_date(char *out, size_t n)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    time_t t = time(NULL);
    gmtime_r(&t, &tm);
    snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Appends a response head to b (www_auth: a WWW-Authenticate value, or NULL; extra: header
 * lines "Name: value\r\n" as the handler gave them, or NULL; a 503 says Retry-After). */
static eb_rc put_head(struct eb_buf *b, int status, const char *content_type, size_t length,
                      int with_length, int close, int http10, const char *www_auth,
                      const char *extra, const char *own)
{
    char date[64];
    http_date(date, sizeof date);
    eb_rc rc = eb_buf_printf(b, "HTTP/1.1 %d %s\r\nServer: ehrbridge\r\nDate: %s\r\n", status,
                             eb_http_reason(status), date);
    if (!rc && content_type && !strpbrk(content_type, "\r\n"))
        rc = eb_buf_printf(b, "Content-Type: %s\r\n", content_type);
    if (!rc && www_auth && !strpbrk(www_auth, "\r\n"))
        rc = eb_buf_printf(b, "WWW-Authenticate: %s\r\n", www_auth);
    if (!rc && extra)
        rc = eb_buf_puts(b, extra);
    if (!rc && own && *own)
        rc = eb_buf_puts(b, own);
    if (!rc && status == 503)
        rc = eb_buf_printf(b, "Retry-After: %d\r\n", RETRY_AFTER_S);
    if (!rc && with_length)
        rc = eb_buf_printf(b, "Content-Length: %zu\r\n", length);
    if (!rc && close)
        rc = eb_buf_puts(b, "Connection: close\r\n");
    else if (!rc && http10)
        rc = eb_buf_puts(b, "Connection: keep-alive\r\n");
    if (!rc)
        rc = eb_buf_puts(b, "\r\n");
    return rc;
}

static void conn_flush(struct conn *c);
static void conn_process(struct conn *c);
static void conn_on_readable(struct conn *c);
static void reload_tls(struct eb_server *s);

/* After a response with close: shut the write side and drop what still comes. */
static void conn_linger(struct conn *c)
{
    eb_tls_shutdown(c->ssl);
    shutdown(c->src.fd, SHUT_WR);
    c->state = CONN_LINGER;
    eb_buf_free(&c->in);
    c->in.len = 0;
    /* bounded in time (LINGER_MS) and in bytes: the body the client declared (at least
     * max_body, at most LINGER_MAX) that it sends without waiting for 100 Continue is read and
     * dropped, never kept */
    size_t declared =
        c->frame.declared > c->srv->cfg->max_body ? c->frame.declared : c->srv->cfg->max_body;
    c->linger_left = (declared < LINGER_MAX ? declared : LINGER_MAX) + MAX_IN;
    timer_start(c, &c->srv->t_linger);
    conn_watch(c, EPOLLIN | EPOLLRDHUP);
}

/* Everything queued was written. */
static void conn_written(struct conn *c)
{
    struct eb_server *s = c->srv;
    eb_buf_reset(&c->out);
    c->out_off = 0;
    if (c->state == CONN_READ) { /* a 100 Continue went out; keep reading */
        conn_watch(c, EPOLLIN);
        return;
    }
    if (c->state != CONN_WRITE)
        return;
    eb_buf_free(&c->resp.body);
    if (c->close_after) {
        conn_linger(c);
        return;
    }
    eb_frame_next(&c->frame);
    c->continue_sent = 0;
    c->state = CONN_READ;
    if (c->in.len) { /* a pipelined request is already here */
        timer_start(c, &s->t_request);
        conn_process(c);
    } else {
        eb_buf_free(&c->in); /* idle connections keep no buffers */
        eb_buf_free(&c->out);
        timer_start(c, &s->t_idle);
    }
    if (c->state == CONN_READ)
        conn_watch(c, EPOLLIN | (c->out_off < c->out.len ? EPOLLOUT : 0));
    if (c->state == CONN_READ && eb_tls_pending(c->ssl))
        conn_on_readable(c); /* a pipelined request OpenSSL already decrypted */
}

/* Writes what is queued without blocking; waits for EPOLLOUT when the socket is full. */
static void conn_flush(struct conn *c)
{
    for (;;) {
        struct iovec iov[2];
        int n = 0;
        if (c->out_off < c->out.len)
            iov[n++] = (struct iovec){c->out.data + c->out_off, c->out.len - c->out_off};
        if (c->state == CONN_WRITE && c->send_body && c->body_off < c->resp.body.len)
            iov[n++] =
                (struct iovec){c->resp.body.data + c->body_off, c->resp.body.len - c->body_off};
        if (!n) {
            conn_written(c);
            return;
        }
        ssize_t w = conn_send(c, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int tls_read = c->ssl && c->tls_want == EB_TLS_WANT_READ;
                conn_watch(c,
                           (tls_read ? EPOLLIN : EPOLLOUT) | (c->state == CONN_READ ? EPOLLIN : 0));
                return;
            }
            conn_close(c,
                       errno == EPIPE || errno == ECONNRESET ? "client went away" : "write failed");
            return;
        }
        size_t k = (size_t)w, head = c->out.len - c->out_off;
        if (k <= head) {
            c->out_off += k;
        } else {
            c->out_off = c->out.len;
            c->body_off += k - head;
        }
        if (c->state == CONN_WRITE)
            timer_start(c, &c->srv->t_write); /* the deadline counts from the last progress */
    }
}

/* c no longer waits for memory (CONN_WAIT): it is answered, closed or resumed. */
static void leave_wait(struct conn *c)
{
    if (c->state == CONN_WAIT) {
        eb_metric_gauge_add(tmetrics.waiting, -1);
        c->srv->held_by_waiters -= c->reserved;
        c->state = CONN_READ;
    }
}

/* Answers the request being read with status and a short text, then closes. */
static void conn_refuse(struct conn *c, int status)
{
    struct eb_server *s = c->srv;
    char text[160];
    const char *reason;
    switch (status) {
    case 408:
        reason = "request timeout";
        snprintf(text, sizeof text, "request not received completely within %d ms\n",
                 s->cfg->request_timeout_ms);
        break;
    case 413:
        reason = "body too large";
        snprintf(text, sizeof text, "request body exceeds the limit of %zu bytes\n",
                 s->cfg->max_body);
        break;
    case 431:
        reason = "header too large";
        snprintf(text, sizeof text, "request header exceeds the limit of %zu bytes\n",
                 s->cfg->max_header);
        break;
    case 503:
        reason = "busy: request bodies in memory at --max-buffered, or out of memory";
        snprintf(text, sizeof text, "server busy, try again later\n");
        break;
    default:
        status = 400;
        reason = "malformed request";
        snprintf(text, sizeof text, "malformed HTTP request\n");
        break;
    }
    conn_log(c, "request refused", reason);
    leave_wait(c);
    eb_metric_inc(tmetrics.responses[status / 100 - 1]);
    size_t len = strlen(text);
    int head_only = c->frame.headers_done && c->frame.is_head;
    if (put_head(&c->out, status, "text/plain; charset=utf-8", len, 1, 1, 0, NULL, NULL, NULL) ||
        (!head_only && eb_buf_append(&c->out, text, len))) {
        conn_close(c, "out of memory");
        return;
    }
    c->send_body = 0;
    c->close_after = 1;
    c->state = CONN_WRITE;
    timer_start(c, &s->t_write);
    conn_flush(c);
}

/* Appends c to the queue head..tail (the work queue or the done queue; caller holds s->mu). */
static void enqueue(struct conn **head, struct conn **tail, struct conn *c)
{
    c->qnext = NULL;
    if (*tail)
        (*tail)->qnext = c;
    else
        *head = c;
    *tail = c;
}

/* An empty response for the admit hook or a worker to fill. */
static void resp_prepare(struct conn *c)
{
    eb_buf_free(&c->resp.body);
    eb_buf_init(&c->resp.body, MAX_RESPONSE);
    c->resp.status = 500;
    c->resp.content_type = NULL;
    c->resp.close = 0;
    c->resp.www_authenticate = NULL;
    c->resp.headers = NULL;
    c->resp.own_headers[0] = '\0';
}

/* A complete request: park the connection and hand the request to a worker. */
static void conn_dispatch(struct conn *c)
{
    struct eb_server *s = c->srv;
    eb_metric_gauge_add(tmetrics.in_flight, 1);
    timer_stop(c);
    /* the connection stays in epoll: a client that waits for its answer sends nothing, and
     * one that does (a pipelined request, a close) is taken out at its first event */
    c->state = CONN_WORKER;
    resp_prepare(c);
    pthread_mutex_lock(&s->mu);
    enqueue(&s->q_head, &s->q_tail, c);
    pthread_cond_signal(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- admission and the memory of request bodies ---- */

static void conn_answer(struct conn *c);

/* The reservation c's body needs next: its Content-Length, or for a chunked body the next
 * step (CHUNK_GRANT, then doubling, up to max_body). */
static size_t body_want(const struct conn *c)
{
    const struct eb_frame *f = &c->frame;
    size_t max = c->srv->cfg->max_body;
    if (!f->chunked)
        return f->declared;
    if (!c->reserved)
        return CHUNK_GRANT < max ? CHUNK_GRANT : max;
    return c->reserved > max / 2 ? max : 2 * c->reserved;
}

/* Reserves a total of want bytes for c's body and makes room for them in its buffer: 0 when
 * granted; 1 when the budget is short (or, with behind_waiters, when requests wait already:
 * they go first); -1 when out of memory. */
static int budget_take(struct conn *c, size_t want, int behind_waiters)
{
    struct eb_server *s = c->srv;
    size_t more = want > c->reserved ? want - c->reserved : 0;
    size_t buffered = atomic_load_explicit(&s->buffered, memory_order_relaxed);
    if ((behind_waiters && s->t_wait.head) || more > s->max_buffered - buffered)
        return 1;
    if (eb_frame_reserve_body(&c->frame, want))
        return -1;
    atomic_store_explicit(&s->buffered, buffered + more, memory_order_relaxed);
    eb_metric_gauge_add(tmetrics.buffered, (int64_t)more);
    c->reserved += more;
    return 0;
}

/* c waits for want bytes of budget: out of epoll (nothing read), on t_wait. */
static void conn_wait(struct conn *c, size_t want)
{
    struct eb_server *s = c->srv;
    if (s->held_by_waiters + c->reserved ==
        atomic_load_explicit(&s->buffered, memory_order_relaxed)) {
        /* every reserved byte is held by requests that wait (chunked bodies that must grow):
         * none would ever be given back before a timeout; this one gives its share back now */
        conn_refuse(c, 503);
        return;
    }
    s->held_by_waiters += c->reserved;
    c->state = CONN_WAIT;
    c->wait_for = want;
    eb_metric_gauge_add(tmetrics.waiting, 1);
    timer_start(c, &c->srv->t_wait);
    conn_watch(c, 0);
}

/* Waiting requests whose reservation fits now go on, oldest first; one that does not fit
 * keeps the ones behind it waiting (no overtaking, so a large body is not starved). */
static void wake_waiters(struct eb_server *s)
{
    struct conn *c;
    if (s->waking)
        return;
    s->waking = 1;
    while ((c = s->t_wait.head)) {
        int r = budget_take(c, c->wait_for, 0);
        if (r > 0)
            break;
        leave_wait(c);
        timer_start(c, &s->t_request); /* off t_wait; the body has a whole timeout again */
        if (r < 0) {
            conn_refuse(c, 503);
            continue;
        }
        if (conn_watch(c, EPOLLIN))
            continue;
        conn_process(c);
        if (c->state == CONN_READ && eb_tls_pending(c->ssl))
            conn_on_readable(c);
    }
    s->waking = 0;
}

/* Gives back what c's body holds of the budget, and lets waiting requests go on. */
static void budget_release(struct conn *c)
{
    struct eb_server *s = c->srv;
    if (!c->reserved)
        return;
    atomic_fetch_sub_explicit(&s->buffered, c->reserved, memory_order_relaxed);
    eb_metric_gauge_add(tmetrics.buffered, -(int64_t)c->reserved);
    c->reserved = 0;
    wake_waiters(s);
}

/* The headers of c's request are complete: hooks->admit decides, then the body's memory is
 * reserved. 0: go on reading the body; -1: c was answered (refused), or waits. */
static int conn_admit(struct conn *c)
{
    struct eb_server *s = c->srv;
    struct eb_frame *f = &c->frame;
    struct eb_http_request *req = eb_frame_request(f);
    req->peer = c->addr;
    req->tls = c->ssl != NULL;
    req->listener = c->listener;
    req->id = atomic_fetch_add(&next_request_id, 1) + 1;
    if (s->hooks->admit) {
        resp_prepare(c);
        int v = s->hooks->admit(s->hooks->user, req, &c->resp);
        if (v < 0) {
            c->resp.close = 1; /* its body is not read: the connection cannot go on */
            conn_answer(c);
            return -1;
        }
        req->admitted = v;
    }
    if (!f->chunked && !f->declared)
        return 0;
    size_t want = body_want(c);
    int r = budget_take(c, want, 1);
    if (r < 0)
        conn_refuse(c, 503);
    else if (r > 0)
        conn_wait(c, want);
    return r ? -1 : 0;
}

/* Frames what is buffered in c->in: admits a request whose headers are complete, dispatches a
 * complete one, refuses a bad one. A chunked body is fed no more than the room its
 * reservation leaves (raw bytes are never fewer than the body bytes they carry), and grows
 * the reservation, or waits, when that is used up. */
static void conn_process(struct conn *c)
{
    struct eb_frame *f = &c->frame;
    while (c->state == CONN_READ && c->in.len > 0) {
        size_t feed = c->in.len, used = 0;
        if (f->chunked && f->headers_done && c->reserved < c->srv->cfg->max_body) {
            if (c->reserved <= f->body.len) {
                size_t want = body_want(c);
                int r = budget_take(c, want, 0);
                if (r) {
                    if (r < 0)
                        conn_refuse(c, 503);
                    else
                        conn_wait(c, want);
                    return;
                }
            }
            if (feed > c->reserved - f->body.len)
                feed = c->reserved - f->body.len;
        }
        enum eb_frame_status st = eb_frame_feed(f, c->in.data, feed, &used);
        memmove(c->in.data, c->in.data + used, c->in.len - used);
        c->in.len -= used;
        if (st == EB_FRAME_HEADERS && conn_admit(c))
            return;
        if (st == EB_FRAME_REQUEST)
            conn_dispatch(c);
        else if (st == EB_FRAME_ERROR)
            conn_refuse(c, f->error_status);
    }
    if (c->state == CONN_READ && c->frame.want_continue && !c->continue_sent) {
        c->continue_sent = 1;
        if (eb_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n")) {
            conn_close(c, "out of memory");
            return;
        }
        conn_flush(c);
    }
}

static void conn_on_readable(struct conn *c)
{
    struct eb_server *s = c->srv;
    char buf[READ_CHUNK];
    if (c->state == CONN_LINGER) {
        for (int i = 0; i < 8; i++) {
            ssize_t n = conn_recv(c, buf, sizeof buf);
            if (n > 0 && (size_t)n < c->linger_left) {
                c->linger_left -= (size_t)n;
                continue;
            }
            if (n > 0) {
                conn_close(c, "client sent more than a body after the answer");
                return;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            conn_close(c, NULL); /* the client closed too: done */
            return;
        }
        return;
    }
    /* Plain sockets: one read per readiness event (epoll is level-triggered). TLS: also what
     * OpenSSL holds decrypted already, which no event would announce. */
    for (int round = 0; c->state == CONN_READ; round++) {
        if (round && (!c->ssl || !eb_tls_pending(c->ssl)))
            return;
        ssize_t n = conn_recv(c, buf, sizeof buf);
        if (n == 0) {
            conn_close(c, c->frame.started ? "client closed mid-request" : NULL);
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                conn_close(c, "read failed");
            else if (c->ssl) /* OpenSSL may need to write before it can read on */
                conn_watch(c, EPOLLIN | (c->tls_want == EB_TLS_WANT_WRITE || c->out_off < c->out.len
                                             ? EPOLLOUT
                                             : 0));
            return;
        }
        eb_metric_add(tmetrics.bytes, (uint64_t)n);
        if (c->tl != &s->t_request)
            timer_start(c, &s->t_request); /* the first byte of a request starts its clock */
        if (eb_buf_append(&c->in, buf, (size_t)n)) {
            conn_close(c, "input buffer full");
            return;
        }
        conn_process(c);
    }
}

/* The TLS handshake of a new connection, driven by readiness in either direction. */
static void conn_handshake(struct conn *c)
{
    char why[200] = "";
    enum eb_tls_want want;
    int r = eb_tls_handshake(c->ssl, &want, why, sizeof why);
    if (r < 0) {
        char id[24];
        snprintf(id, sizeof id, "%llu", (unsigned long long)c->id);
        eb_log(EB_LOG_INFO, "tls handshake failed", "conn", id, "peer", c->addr, "reason", why,
               NULL);
        conn_close(c, NULL);
        return;
    }
    if (r == 0) {
        conn_watch(c, want == EB_TLS_WANT_WRITE ? EPOLLOUT : EPOLLIN);
        return;
    }
    c->tls_ready = 1;
    char id[24], how[96];
    snprintf(id, sizeof id, "%llu", (unsigned long long)c->id);
    eb_tls_describe(c->ssl, how, sizeof how);
    eb_log(EB_LOG_DEBUG, "tls established", "conn", id, "tls", how, NULL);
    if (conn_watch(c, EPOLLIN))
        return;
    conn_on_readable(c); /* the request may have come with the handshake's last flight */
}

/* Writes c->resp: a worker's answer, or a refusal by hooks->admit. The request's body is no
 * longer needed: its memory goes back to the budget now, not when the answer is out. */
static void conn_answer(struct conn *c)
{
    struct eb_server *s = c->srv;
    struct eb_frame *f = &c->frame;
    struct eb_http_response *r = &c->resp;
    int status = r->status >= 200 && r->status <= 599 ? r->status : 500;
    int no_body = status == 204 || status == 304;
    const char *www_auth = status == 401 ? r->www_authenticate : NULL;
    eb_metric_inc(tmetrics.responses[status / 100 - 1]);
    c->close_after = r->close || !f->keep_alive || f->upgrade || s->stopping;
    c->send_body = !f->is_head && !no_body;
    c->body_off = 0;
    c->state = CONN_WRITE;
    if (put_head(&c->out, status, r->content_type, r->body.len, !no_body, c->close_after, f->http10,
                 www_auth, r->headers, r->own_headers)) {
        conn_close(c, "out of memory");
        return;
    }
    timer_start(c, &s->t_write);
    eb_frame_drop_body(f);
    budget_release(c);
    conn_flush(c);
}

/* A worker finished c's request: write the response. */
static void conn_respond(struct conn *c)
{
    c->deferred = 0;
    eb_metric_gauge_add(tmetrics.in_flight, -1);
    conn_answer(c);
}

static void conn_on_timeout(struct conn *c, struct timer_list *tl)
{
    struct eb_server *s = c->srv;
    if ((tl == &s->t_request || tl == &s->t_stop) && c->state == CONN_READ)
        conn_refuse(c, 408);
    else if (tl == &s->t_wait)
        conn_refuse(c, 503); /* waited for the budget longer than request_timeout */
    else if (tl == &s->t_idle)
        conn_close(c, NULL); /* idle keep-alive: close silently */
    else if (tl == &s->t_write)
        conn_close(c, "write timeout");
    else
        conn_close(c, NULL); /* linger over */
}

static void expire_timers(struct eb_server *s)
{
    struct timer_list *lists[] = {&s->t_idle,   &s->t_request, &s->t_write,
                                  &s->t_linger, &s->t_stop,    &s->t_wait};
    int64_t now = eb_mono_ms();
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        struct conn *c;
        while ((c = lists[i]->head) && c->deadline <= now) {
            timer_stop(c);
            conn_on_timeout(c, lists[i]);
        }
    }
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
    eb_metric_inc(tmetrics.rejected);
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
        struct peer *p = peer_acquire(s, addr);
        struct conn *c = p ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            eb_log(EB_LOG_DEBUG, "connection refused", "reason",
                   p ? "out of memory" : "max_connections_per_peer reached", NULL);
            peer_release(s, p);
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
        eb_metric_gauge_add(tmetrics.open, 1);
        eb_metric_inc(tmetrics.accepted);
        c->state = CONN_READ;
        timer_start(c, &s->t_idle); /* the first request must start within keepalive_timeout */
        if (tls && !(c->ssl = eb_tls_conn_new(tls, fd))) {
            conn_close(c, "tls: cannot start a connection");
            continue;
        }
        conn_watch(c, EPOLLIN);
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
            conn_refuse(c, 503); /* its body was never read: try again elsewhere or later */
        } else if (c->state == CONN_READ && (level >= 2 || !receiving)) {
            conn_close(c, NULL); /* idle (or, at level 2, still receiving) */
        } else if (level >= 2 && c->state == CONN_LINGER) {
            conn_close(c, NULL);
        } else if (receiving && c->tl == &s->t_request && c->deadline > grace_end) {
            timer_start(c, &s->t_stop); /* finish receiving soon, or get a 408 */
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
        conn_respond(c);
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
    enqueue(&s->d_head, &s->d_tail, c);
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
        int n = epoll_wait(s->epfd, evs, MAX_EVENTS, next_timeout(s));
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
                    conn_park(c);
                    continue;
                }
                if (c->ssl && !c->tls_ready) {
                    if (c->state == CONN_READ)
                        conn_handshake(c);
                    continue;
                }
                if (c->ssl && c->tls_want)
                    e |= EPOLLIN | EPOLLOUT; /* OpenSSL waits on the other direction: retry */
                if ((e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) &&
                    (c->state == CONN_WRITE || (c->state == CONN_READ && c->out_off < c->out.len)))
                    conn_flush(c);
                if ((e & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) &&
                    (c->state == CONN_READ || c->state == CONN_LINGER))
                    conn_on_readable(c);
            }
        }
        expire_timers(s);
        while (s->graveyard) {
            struct conn *c = s->graveyard;
            s->graveyard = c->qnext;
            conn_free(c);
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
        conn_close(s->conns, NULL);
    while (s->graveyard) {
        struct conn *c = s->graveyard;
        s->graveyard = c->qnext;
        conn_free(c);
    }
    return rc;
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

/* ---- the service as hooks ---- */

static void *svc_worker_new(void *user, struct eb_err *err)
{
    return eb_service_worker_new(user, err);
}

static void svc_worker_free(void *w)
{
    eb_service_worker_free(w);
}

static void svc_handle(void *w, const struct eb_http_request *req, struct eb_http_response *resp)
{
    eb_service_handle(w, req, resp);
}

static int svc_admit(void *svc, const struct eb_http_request *req, struct eb_http_response *resp)
{
    return eb_service_admit(svc, req, resp);
}

eb_rc eb_server_run(const struct eb_config *cfg, struct eb_service *svc, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct eb_server *s = NULL;
    const struct eb_server_hooks hooks = {svc_worker_new, svc_worker_free, svc_handle, svc,
                                          svc_admit};
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigset_t stop, old;
    int sigfd = -1;
    sigaction(SIGPIPE, &ign, NULL);
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP); /* reload, never the default "terminate" */
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    sigfd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigfd < 0) {
        rc = eb_err_set(err, EB_ERR_INTERNAL, "signalfd: %s", strerror(errno));
        goto out;
    }
    rc = eb_server_new(cfg, &hooks, &s, err);
    if (rc)
        goto out;
    s->sig.fd = sigfd;
    rc = serve(s, err);
    if (!rc)
        eb_log(EB_LOG_INFO, "stopped", NULL);
out:
    eb_server_free(s);
    if (sigfd >= 0)
        close(sigfd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

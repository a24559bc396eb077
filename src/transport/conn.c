/* A connection's life on the event loop (see server.c for the states): deadlines, the count
 * per peer address, reading and framing a request, admitting it on its headers and reserving
 * its body's memory (or making it wait), handing it to a worker, writing the response, lingering
 * after a final answer, and closing. Socket reads and writes go through srv_conn_recv() and
 * srv_conn_send() only (TLS when configured). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transport/frame.h"
#include "transport/server_int.h"
#include "transport/tls.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"

static void leave_wait(struct conn *c);
static void budget_release(struct conn *c);
static void conn_process(struct conn *c);
static void conn_answer(struct conn *c);

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

void srv_timer_start(struct conn *c, struct timer_list *tl)
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

int srv_next_timeout(struct eb_server *s)
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

struct peer *srv_peer_acquire(struct eb_server *s, const char *addr)
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

void srv_peer_release(struct eb_server *s, struct peer *p)
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

ssize_t srv_conn_recv(struct conn *c, void *buf, size_t n)
{
    if (c->ssl)
        return eb_tls_read(c->ssl, buf, n, &c->tls_want);
    return recv(c->src.fd, buf, n, 0);
}

ssize_t srv_conn_send(struct conn *c, struct iovec *iov, int n_iov)
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

void srv_conn_close(struct conn *c, const char *why)
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
    eb_metric_gauge_add(srv_metrics.open, -1);
    srv_peer_release(s, c->peer);
    c->peer = NULL;
    c->state = CONN_CLOSED;
    c->qnext = s->graveyard;
    s->graveyard = c;
    budget_release(c);
}

void srv_conn_free(struct conn *c)
{
    eb_tls_conn_free(c->ssl);
    eb_frame_free(&c->frame);
    eb_buf_free(&c->in);
    eb_buf_free(&c->out);
    eb_buf_free(&c->resp.body);
    free(c);
}

int srv_conn_watch(struct conn *c, uint32_t events)
{
    if (c->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = &c->src};
    int op = !c->events ? EPOLL_CTL_ADD : !events ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    if (epoll_ctl(c->srv->epfd, op, c->src.fd, &ev) != 0) {
        srv_conn_close(c, "epoll_ctl failed");
        return -1;
    }
    c->events = events;
    return 0;
}

void srv_conn_park(struct conn *c)
{
    struct epoll_event ev = {.events = 0, .data.ptr = &c->src};
    if (c->events && epoll_ctl(c->srv->epfd, EPOLL_CTL_DEL, c->src.fd, &ev) == 0)
        c->events = 0;
}

/* Appends "Date: <IMF-fixdate>\r\n" (RFC 9110), digit by digit: once per response, where
 * snprintf cost as much as the rest of the head. */
static eb_rc put_date(struct eb_buf *b)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    time_t t = time(NULL);
    char line[] = "Date: Sun, 00 Jan 0000 00:00:00 GMT\r\n";
    gmtime_r(&t, &tm);
    unsigned year = tm.tm_year + 1900 > 9999 ? 9999 : (unsigned)(tm.tm_year + 1900);
    memcpy(line + 6, days[tm.tm_wday % 7], 3);
    eb_dec_fixed(line + 11, (unsigned)tm.tm_mday, 2);
    memcpy(line + 14, months[tm.tm_mon % 12], 3);
    eb_dec_fixed(line + 18, year, 4);
    eb_dec_fixed(line + 23, (unsigned)tm.tm_hour, 2);
    eb_dec_fixed(line + 26, (unsigned)tm.tm_min, 2);
    eb_dec_fixed(line + 29, (unsigned)tm.tm_sec, 2);
    return eb_buf_append(b, line, sizeof line - 1);
}

/* Appends "name: value\r\n". */
static eb_rc put_field(struct eb_buf *b, const char *name, const char *value)
{
    eb_rc rc = eb_buf_puts(b, name);
    if (!rc)
        rc = eb_buf_puts(b, value);
    return rc ? rc : eb_buf_append(b, "\r\n", 2);
}

/* Appends "name: v\r\n" for a number v. */
static eb_rc put_number(struct eb_buf *b, const char *name, size_t v)
{
    char text[24];
    text[eb_dec(text, v)] = '\0';
    return put_field(b, name, text);
}

/* Appends a response head to b (www_auth: a WWW-Authenticate value, or NULL; extra: header
 * lines "Name: value\r\n" as the handler gave them, or NULL; a 503 says Retry-After). Written
 * piece by piece rather than by printf: the head is a tenth of the event loop's work per
 * request. */
static eb_rc put_head(struct eb_buf *b, int status, const char *content_type, size_t length,
                      int with_length, int close, int http10, const char *www_auth,
                      const char *extra, const char *own)
{
    char line[16] = "HTTP/1.1 ";
    char *o = eb_dec_fixed(line + 9, status >= 100 && status <= 999 ? (unsigned)status : 500, 3);
    *o++ = ' ';
    eb_rc rc = eb_buf_append(b, line, (size_t)(o - line));
    if (!rc)
        rc = eb_buf_puts(b, eb_http_reason(status));
    if (!rc)
        rc = eb_buf_puts(b, "\r\nServer: ehrbridge\r\n");
    if (!rc)
        rc = put_date(b);
    if (!rc && content_type && !strpbrk(content_type, "\r\n"))
        rc = put_field(b, "Content-Type: ", content_type);
    if (!rc && www_auth && !strpbrk(www_auth, "\r\n"))
        rc = put_field(b, "WWW-Authenticate: ", www_auth);
    if (!rc && extra)
        rc = eb_buf_puts(b, extra);
    if (!rc && own && *own)
        rc = eb_buf_puts(b, own);
    if (!rc && status == 503)
        rc = put_number(b, "Retry-After: ", RETRY_AFTER_S);
    if (!rc && with_length)
        rc = put_number(b, "Content-Length: ", length);
    if (!rc && close)
        rc = eb_buf_puts(b, "Connection: close\r\n");
    else if (!rc && http10)
        rc = eb_buf_puts(b, "Connection: keep-alive\r\n");
    if (!rc)
        rc = eb_buf_puts(b, "\r\n");
    return rc;
}

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
    srv_timer_start(c, &c->srv->t_linger);
    srv_conn_watch(c, EPOLLIN | EPOLLRDHUP);
}

/* Everything queued was written. */
static void conn_written(struct conn *c)
{
    struct eb_server *s = c->srv;
    eb_buf_reset(&c->out);
    c->out_off = 0;
    if (c->state == CONN_READ) { /* a 100 Continue went out; keep reading */
        srv_conn_watch(c, EPOLLIN);
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
        srv_timer_start(c, &s->t_request);
        conn_process(c);
    } else {
        eb_buf_free(&c->in); /* idle connections keep no buffers */
        eb_buf_free(&c->out);
        srv_timer_start(c, &s->t_idle);
    }
    if (c->state == CONN_READ)
        srv_conn_watch(c, EPOLLIN | (c->out_off < c->out.len ? EPOLLOUT : 0));
    if (c->state == CONN_READ && eb_tls_pending(c->ssl))
        srv_conn_on_readable(c); /* a pipelined request OpenSSL already decrypted */
}

void srv_conn_flush(struct conn *c)
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
        ssize_t w = srv_conn_send(c, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int tls_read = c->ssl && c->tls_want == EB_TLS_WANT_READ;
                srv_conn_watch(c, (tls_read ? EPOLLIN : EPOLLOUT) |
                                      (c->state == CONN_READ ? EPOLLIN : 0));
                return;
            }
            srv_conn_close(c, errno == EPIPE || errno == ECONNRESET ? "client went away"
                                                                    : "write failed");
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
            srv_timer_start(c, &c->srv->t_write); /* the deadline counts from the last progress */
    }
}

/* c no longer waits for memory (CONN_WAIT): it is answered, closed or resumed. */
static void leave_wait(struct conn *c)
{
    if (c->state == CONN_WAIT) {
        eb_metric_gauge_add(srv_metrics.waiting, -1);
        c->srv->held_by_waiters -= c->reserved;
        c->state = CONN_READ;
    }
}

void srv_conn_refuse(struct conn *c, int status)
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
    eb_metric_inc(srv_metrics.responses[status / 100 - 1]);
    size_t len = strlen(text);
    int head_only = c->frame.headers_done && c->frame.is_head;
    if (put_head(&c->out, status, "text/plain; charset=utf-8", len, 1, 1, 0, NULL, NULL, NULL) ||
        (!head_only && eb_buf_append(&c->out, text, len))) {
        srv_conn_close(c, "out of memory");
        return;
    }
    c->send_body = 0;
    c->close_after = 1;
    c->state = CONN_WRITE;
    srv_timer_start(c, &s->t_write);
    srv_conn_flush(c);
}

void srv_enqueue(struct conn **head, struct conn **tail, struct conn *c)
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
    eb_metric_gauge_add(srv_metrics.in_flight, 1);
    timer_stop(c);
    /* the connection stays in epoll: a client that waits for its answer sends nothing, and
     * one that does (a pipelined request, a close) is taken out at its first event */
    c->state = CONN_WORKER;
    resp_prepare(c);
    pthread_mutex_lock(&s->mu);
    srv_enqueue(&s->q_head, &s->q_tail, c);
    pthread_cond_signal(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- admission and the memory of request bodies ---- */

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
    eb_metric_gauge_add(srv_metrics.buffered, (int64_t)more);
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
        srv_conn_refuse(c, 503);
        return;
    }
    s->held_by_waiters += c->reserved;
    c->state = CONN_WAIT;
    c->wait_for = want;
    eb_metric_gauge_add(srv_metrics.waiting, 1);
    srv_timer_start(c, &c->srv->t_wait);
    srv_conn_watch(c, 0);
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
        srv_timer_start(c, &s->t_request); /* off t_wait; the body has a whole timeout again */
        if (r < 0) {
            srv_conn_refuse(c, 503);
            continue;
        }
        if (srv_conn_watch(c, EPOLLIN))
            continue;
        conn_process(c);
        if (c->state == CONN_READ && eb_tls_pending(c->ssl))
            srv_conn_on_readable(c);
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
    eb_metric_gauge_add(srv_metrics.buffered, -(int64_t)c->reserved);
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
    req->id = atomic_fetch_add(&srv_next_request_id, 1) + 1;
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
        srv_conn_refuse(c, 503);
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
                        srv_conn_refuse(c, 503);
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
            srv_conn_refuse(c, f->error_status);
    }
    if (c->state == CONN_READ && c->frame.want_continue && !c->continue_sent) {
        c->continue_sent = 1;
        if (eb_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n")) {
            srv_conn_close(c, "out of memory");
            return;
        }
        srv_conn_flush(c);
    }
}

void srv_conn_on_readable(struct conn *c)
{
    struct eb_server *s = c->srv;
    char buf[READ_CHUNK];
    if (c->state == CONN_LINGER) {
        for (int i = 0; i < 8; i++) {
            ssize_t n = srv_conn_recv(c, buf, sizeof buf);
            if (n > 0 && (size_t)n < c->linger_left) {
                c->linger_left -= (size_t)n;
                continue;
            }
            if (n > 0) {
                srv_conn_close(c, "client sent more than a body after the answer");
                return;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            srv_conn_close(c, NULL); /* the client closed too: done */
            return;
        }
        return;
    }
    /* Plain sockets: one read per readiness event (epoll is level-triggered). TLS: also what
     * OpenSSL holds decrypted already, which no event would announce. */
    for (int round = 0; c->state == CONN_READ; round++) {
        if (round && (!c->ssl || !eb_tls_pending(c->ssl)))
            return;
        ssize_t n = srv_conn_recv(c, buf, sizeof buf);
        if (n == 0) {
            srv_conn_close(c, c->frame.started ? "client closed mid-request" : NULL);
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                srv_conn_close(c, "read failed");
            else if (c->ssl) /* OpenSSL may need to write before it can read on */
                srv_conn_watch(c, EPOLLIN |
                                      (c->tls_want == EB_TLS_WANT_WRITE || c->out_off < c->out.len
                                           ? EPOLLOUT
                                           : 0));
            return;
        }
        eb_metric_add(srv_metrics.bytes, (uint64_t)n);
        if (c->tl != &s->t_request)
            srv_timer_start(c, &s->t_request); /* the first byte of a request starts its clock */
        if (eb_buf_append(&c->in, buf, (size_t)n)) {
            srv_conn_close(c, "input buffer full");
            return;
        }
        conn_process(c);
    }
}

void srv_conn_handshake(struct conn *c)
{
    char why[200] = "";
    enum eb_tls_want want;
    int r = eb_tls_handshake(c->ssl, &want, why, sizeof why);
    if (r < 0) {
        char id[24];
        snprintf(id, sizeof id, "%llu", (unsigned long long)c->id);
        eb_log(EB_LOG_INFO, "tls handshake failed", "conn", id, "peer", c->addr, "reason", why,
               NULL);
        srv_conn_close(c, NULL);
        return;
    }
    if (r == 0) {
        srv_conn_watch(c, want == EB_TLS_WANT_WRITE ? EPOLLOUT : EPOLLIN);
        return;
    }
    c->tls_ready = 1;
    char id[24], how[96];
    snprintf(id, sizeof id, "%llu", (unsigned long long)c->id);
    eb_tls_describe(c->ssl, how, sizeof how);
    eb_log(EB_LOG_DEBUG, "tls established", "conn", id, "tls", how, NULL);
    if (srv_conn_watch(c, EPOLLIN))
        return;
    srv_conn_on_readable(c); /* the request may have come with the handshake's last flight */
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
    eb_metric_inc(srv_metrics.responses[status / 100 - 1]);
    c->close_after = r->close || !f->keep_alive || f->upgrade || s->stopping;
    c->send_body = !f->is_head && !no_body;
    c->body_off = 0;
    c->state = CONN_WRITE;
    if (put_head(&c->out, status, r->content_type, r->body.len, !no_body, c->close_after, f->http10,
                 www_auth, r->headers, r->own_headers)) {
        srv_conn_close(c, "out of memory");
        return;
    }
    srv_timer_start(c, &s->t_write);
    eb_frame_drop_body(f);
    budget_release(c);
    srv_conn_flush(c);
}

void srv_conn_respond(struct conn *c)
{
    c->deferred = 0;
    eb_metric_gauge_add(srv_metrics.in_flight, -1);
    conn_answer(c);
}

static void conn_on_timeout(struct conn *c, struct timer_list *tl)
{
    struct eb_server *s = c->srv;
    if ((tl == &s->t_request || tl == &s->t_stop) && c->state == CONN_READ)
        srv_conn_refuse(c, 408);
    else if (tl == &s->t_wait)
        srv_conn_refuse(c, 503); /* waited for the budget longer than request_timeout */
    else if (tl == &s->t_idle)
        srv_conn_close(c, NULL); /* idle keep-alive: close silently */
    else if (tl == &s->t_write)
        srv_conn_close(c, "write timeout");
    else
        srv_conn_close(c, NULL); /* linger over */
}

void srv_expire_timers(struct eb_server *s)
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

/* Unit tests of transport/server.c: a server with test hooks on an ephemeral loopback port,
 * driven by plain blocking sockets. Round trips, keep-alive, pipelining, chunked bodies,
 * 100-continue, every limit (413, 431, 408, keep-alive timeout, connection caps), idle
 * connections holding no worker, a graceful stop with a request in flight, admission on the
 * headers (a refused request is answered before 100 Continue and its body never reaches a
 * worker) and the memory budget of bodies in flight (--max-buffered). */
#define _GNU_SOURCE /* memmem, strptime, timegm */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "transport/server.h"

/* ---- the hooks: an echo service ---- */

static atomic_int workers_created, workers_freed, workers_unblocked, in_handler, handled;
static atomic_int admitted;
static sem_t hold; /* ?hold: the handler waits for the test to post it */
static int worker_token;

static void *t_worker_new(void *user, struct eb_err *err)
{
    (void)user;
    (void)err;
    sigset_t cur;
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    if (!sigismember(&cur, SIGTERM) || !sigismember(&cur, SIGINT))
        atomic_fetch_add(&workers_unblocked, 1);
    atomic_fetch_add(&workers_created, 1);
    return &worker_token;
}

static void t_worker_free(void *w)
{
    if (w == &worker_token)
        atomic_fetch_add(&workers_freed, 1);
}

/* A deferred answer, given by a thread of its own after ms milliseconds (0: before the handler
 * returns). */
struct later {
    struct eb_server_pending *pending;
    struct eb_http_response *resp;
    char text[300];
    int ms;
};

static void *later_main(void *arg)
{
    struct later *l = arg;
    if (l->ms)
        usleep((useconds_t)l->ms * 1000);
    l->resp->status = 200;
    l->resp->content_type = "text/plain";
    eb_buf_puts(&l->resp->body, l->text);
    eb_server_complete(l->pending);
    free(l);
    return NULL;
}

/* Answers "METHOD PATH ?QUERY id=N len=N body=BODY"; ?sleep=MS sleeps, ?close asks to close,
 * ?status=N answers N, ?defer=MS answers "deferred PATH" MS ms later from another thread. */
static void t_handle(void *w, const struct eb_http_request *req, struct eb_http_response *resp)
{
    char v[32];
    (void)w;
    atomic_fetch_add(&in_handler, 1);
    if (eb_http_query_param(req->query, "defer", v, sizeof v)) {
        struct later *l = calloc(1, sizeof *l);
        l->ms = atoi(v);
        snprintf(l->text, sizeof l->text, "deferred %s", req->path);
        l->resp = resp;
        l->pending = eb_server_defer(resp);
        atomic_fetch_add(&handled, 1);
        if (!l->ms) {
            later_main(l);
            return;
        }
        pthread_t t;
        pthread_create(&t, NULL, later_main, l);
        pthread_detach(t);
        return;
    }
    if (eb_http_query_param(req->query, "sleep", v, sizeof v))
        usleep((useconds_t)atoi(v) * 1000);
    if (eb_http_query_param(req->query, "hold", NULL, 0))
        sem_wait(&hold);
    resp->status = 200;
    if (eb_http_query_param(req->query, "status", v, sizeof v))
        resp->status = atoi(v);
    if (eb_http_query_param(req->query, "close", NULL, 0))
        resp->close = 1;
    resp->content_type = "text/plain";
    if (!strcmp(req->path, "/admitted"))
        eb_buf_printf(&resp->body, "admitted=%d ", req->admitted);
    eb_buf_printf(&resp->body, "%s %s ?%s id=%llu peer=%s len=%zu body=%.200s", req->method,
                  req->path, req->query, (unsigned long long)req->id, req->peer, req->body_len,
                  req->body);
    atomic_fetch_add(&handled, 1);
}

static const struct eb_server_hooks hooks = {t_worker_new, t_worker_free, t_handle, NULL, NULL};

/* Refuses paths under /deny with a 401 on the headers; admits the others with 7. */
static int t_admit(void *user, const struct eb_http_request *req, struct eb_http_response *resp)
{
    (void)user;
    atomic_fetch_add(&admitted, 1);
    if (strncmp(req->path, "/deny", 5) != 0)
        return 7;
    resp->status = 401;
    resp->content_type = "text/plain";
    resp->www_authenticate = "Bearer realm=\"t\"";
    eb_buf_printf(&resp->body, "denied %s id=%llu", req->path, (unsigned long long)req->id);
    return -1;
}

static const struct eb_server_hooks admit_hooks = {t_worker_new, t_worker_free, t_handle, NULL,
                                                   t_admit};

static void *t_worker_fail(void *user, struct eb_err *err)
{
    (void)user;
    eb_err_set(err, EB_ERR_UNAVAILABLE, "no database today");
    return NULL;
}

static const struct eb_server_hooks failing_hooks = {t_worker_fail, t_worker_free, t_handle, NULL,
                                                     NULL};

/* ---- a server in a thread ---- */

struct fixture {
    struct eb_config cfg;
    struct eb_server *srv;
    pthread_t thread;
    eb_rc rc;
    struct eb_err err;
    int port;
};

static void fx_init(struct fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    eb_config_defaults(&fx->cfg);
    snprintf(fx->cfg.listen_host, sizeof fx->cfg.listen_host, "127.0.0.1");
    fx->cfg.listen_port = 0;
    fx->cfg.workers = 2;
    fx->cfg.max_body = 64 * 1024;
    fx->cfg.max_header = 4096;
    fx->cfg.request_timeout_ms = 5000;
    fx->cfg.keepalive_timeout_ms = 5000;
}

static void *serve_thread(void *arg)
{
    struct fixture *fx = arg;
    fx->rc = eb_server_serve(fx->srv, &fx->err);
    return NULL;
}

static int fx_start(struct fixture *fx, const struct eb_server_hooks *h)
{
    struct eb_err err;
    if (eb_server_new(&fx->cfg, h, &fx->srv, &err)) {
        fprintf(stderr, "eb_server_new: %s\n", err.msg);
        return -1;
    }
    fx->port = eb_server_port(fx->srv);
    return pthread_create(&fx->thread, NULL, serve_thread, fx) ? -1 : 0;
}

/* Stops, joins, frees; the stop must be graceful (EB_OK). */
static void fx_stop(struct fixture *fx)
{
    eb_server_stop(fx->srv);
    pthread_join(fx->thread, NULL);
    CHECK(fx->rc == EB_OK);
    eb_server_free(fx->srv);
    fx->srv = NULL;
}

/* ---- a minimal blocking HTTP client ---- */

struct client {
    int fd;
    size_t len;
    char buf[256 * 1024];
};

struct reply {
    int status;
    char head[4096];
    char body[8192];
    size_t body_len;
};

/* CPU time (user + system) of this process so far, ms. */
static int64_t cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_timeout(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Connects from source address from (NULL: any) to 127.0.0.1:port. NULL on failure. */
static struct client *client_open_from(int port, const char *from)
{
    struct client *c = calloc(1, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (from) {
        struct sockaddr_in b = {.sin_family = AF_INET};
        inet_pton(AF_INET, from, &b.sin_addr);
        bind(c->fd, (struct sockaddr *)&b, sizeof b);
    }
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a)) {
        close(c->fd);
        free(c);
        return NULL;
    }
    set_timeout(c->fd, 5000);
    return c;
}

static struct client *client_open(int port)
{
    return client_open_from(port, NULL);
}

static void client_close(struct client *c)
{
    if (c) {
        close(c->fd);
        free(c);
    }
}

static int send_all(struct client *c, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_str(struct client *c, const char *s)
{
    return send_all(c, s, strlen(s));
}

static int fill(struct client *c)
{
    if (c->len == sizeof c->buf)
        return -1;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n > 0)
        c->len += (size_t)n;
    return (int)n;
}

/* The value of header name in a reply head ("" when absent). */
static const char *header_of(const struct reply *r, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (!strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r");
            if (len >= n)
                len = n - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            break;
        }
    }
    return out;
}

/* Reads one response (the body by Content-Length unless no_body). 0 on success. */
static int read_reply_ex(struct client *c, struct reply *r, int no_body)
{
    char *end;
    memset(r, 0, sizeof *r);
    while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
        if (fill(c) <= 0)
            return -1;
    size_t hlen = (size_t)(end - c->buf) + 4;
    if (hlen >= sizeof r->head)
        return -1;
    memcpy(r->head, c->buf, hlen);
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    char v[32];
    size_t cl = no_body ? 0 : (size_t)atol(header_of(r, "Content-Length", v, sizeof v));
    if (cl >= sizeof r->body)
        return -1;
    while (c->len < hlen + cl)
        if (fill(c) <= 0)
            return -1;
    memcpy(r->body, c->buf + hlen, cl);
    r->body_len = cl;
    memmove(c->buf, c->buf + hlen + cl, c->len - hlen - cl);
    c->len -= hlen + cl;
    return 0;
}

static int read_reply(struct client *c, struct reply *r)
{
    return read_reply_ex(c, r, 0);
}

/* 1 when the server closes the connection (EOF or reset) within ms, 0 otherwise. */
static int wait_closed(struct client *c, int ms)
{
    char b[4096];
    int64_t end = now_ms() + ms;
    set_timeout(c->fd, ms);
    for (;;) {
        ssize_t n = recv(c->fd, b, sizeof b, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return 1;
        if (n < 0 || now_ms() >= end)
            return 0;
    }
}

/* Sends a GET for path and reads the reply on c. */
static int get(struct client *c, const char *path, struct reply *r)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    if (send_str(c, req))
        return -1;
    return read_reply(c, r);
}

/* ---- tests ---- */

static void test_round_trips(struct fixture *fx)
{
    struct client *c = client_open(fx->port);
    struct reply r;
    char v[64];
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK(get(c, "/hello%20there?a=1&b=%41", &r) == 0);
    CHECK(r.status == 200);
    CHECK(!strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17));
    CHECK(strstr(r.body, "GET /hello there ?a=1&b=%41 id=") == r.body);
    CHECK(strstr(r.body, "peer=127.0.0.1 len=0 body=") != NULL);
    CHECK_STR(header_of(&r, "Content-Type", v, sizeof v), "text/plain");
    CHECK_STR(header_of(&r, "Server", v, sizeof v), "ehrbridge");
    CHECK((size_t)atoi(header_of(&r, "Content-Length", v, sizeof v)) == r.body_len);
    /* an IMF-fixdate (RFC 9110) of now */
    struct tm tm = {0};
    const char *end =
        strptime(header_of(&r, "Date", v, sizeof v), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    CHECK(end && !*end && strlen(v) == 29);
    CHECK(end && llabs((long long)(timegm(&tm) - time(NULL))) <= 5);
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), ""); /* keep-alive is the default */

    /* POST with a body, on the same connection: keep-alive */
    const char post[] = "POST /pushCandidate HTTP/1.1\r\nHost: t\r\nContent-Type: text/xml\r\n"
                        "Content-Length: 11\r\n\r\n<x>body</x>";
    CHECK(send_str(c, post) == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 200);
    CHECK(strstr(r.body, "POST /pushCandidate ?") == r.body);
    CHECK(strstr(r.body, "len=11 body=<x>body</x>") != NULL);

    /* a third request on the same connection; ids increase */
    unsigned long long id1 = 0, id2 = 0;
    sscanf(strstr(r.body, "id="), "id=%llu", &id1);
    CHECK(get(c, "/again", &r) == 0);
    CHECK(r.status == 200);
    sscanf(strstr(r.body, "id="), "id=%llu", &id2);
    CHECK(id2 > id1);

    /* HEAD: the length of the body, no body */
    CHECK(send_str(c, "HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(read_reply_ex(c, &r, 1) == 0);
    CHECK(r.status == 200);
    CHECK(atoi(header_of(&r, "Content-Length", v, sizeof v)) > 0);
    CHECK(get(c, "/after-head", &r) == 0); /* no stray body bytes were sent */
    CHECK(r.status == 200 && strstr(r.body, "GET /after-head") == r.body);

    /* other methods reach the service */
    CHECK(send_str(c, "DELETE /d HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(strstr(r.body, "DELETE /d") == r.body);

    /* the status and close the service chose */
    CHECK(get(c, "/x?status=404&close", &r) == 0);
    CHECK(r.status == 404);
    CHECK(!strncmp(r.head, "HTTP/1.1 404 Not Found\r\n", 24));
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "close");
    CHECK(wait_closed(c, 3000) == 1);
    client_close(c);

    /* a status the service must not send becomes 500 */
    c = client_open(fx->port);
    CHECK(get(c, "/x?status=42", &r) == 0);
    CHECK(r.status == 500);
    client_close(c);
}

static void test_connection_semantics(struct fixture *fx)
{
    struct reply r;
    char v[64];
    /* Connection: close from the client */
    struct client *c = client_open(fx->port);
    CHECK(send_str(c, "GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n") == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 200);
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "close");
    CHECK(wait_closed(c, 3000) == 1);
    client_close(c);

    /* HTTP/1.0: closes by default */
    c = client_open(fx->port);
    CHECK(send_str(c, "GET /old HTTP/1.0\r\n\r\n") == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 200);
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "close");
    CHECK(wait_closed(c, 3000) == 1);
    client_close(c);

    /* HTTP/1.0 with keep-alive: stays open */
    c = client_open(fx->port);
    CHECK(send_str(c, "GET /old1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "keep-alive");
    CHECK(send_str(c, "GET /old2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(strstr(r.body, "GET /old2") == r.body);
    client_close(c);

    /* malformed: 400 and close */
    c = client_open(fx->port);
    CHECK(send_str(c, "BLAH / HTTP/1.1\r\n\r\n") == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 400);
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "close");
    CHECK(wait_closed(c, 3000) == 1);
    client_close(c);

    c = client_open(fx->port);
    CHECK(send_str(c, "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n") == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 400);
    client_close(c);
}

static void test_pipelining(struct fixture *fx)
{
    struct client *c = client_open(fx->port);
    struct reply r;
    /* three requests in one write, the second with a body; answers come in order */
    const char three[] = "GET /p1 HTTP/1.1\r\nHost: t\r\n\r\n"
                         "POST /p2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                         "GET /p3?sleep=50 HTTP/1.1\r\nHost: t\r\n\r\n";
    CHECK(send_str(c, three) == 0);
    CHECK(read_reply(c, &r) == 0 && strstr(r.body, "GET /p1 ") == r.body);
    CHECK(read_reply(c, &r) == 0 && strstr(r.body, "POST /p2 ") == r.body &&
          strstr(r.body, "body=abc"));
    CHECK(read_reply(c, &r) == 0 && strstr(r.body, "GET /p3 ") == r.body);
    /* the connection is still usable */
    CHECK(get(c, "/p4", &r) == 0 && r.status == 200);
    client_close(c);
}

static void test_chunked_and_continue(struct fixture *fx)
{
    struct client *c = client_open(fx->port);
    struct reply r;
    char v[64];
    /* chunked, sent in pieces */
    CHECK(send_str(c, "POST /ch HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n") == 0);
    CHECK(send_str(c, "5\r\nhello\r\n") == 0);
    usleep(20000);
    CHECK(send_str(c, "7\r\n, world\r\n0\r\n\r\n") == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 200);
    CHECK(strstr(r.body, "len=12 body=hello, world") != NULL);

    /* Expect: 100-continue: the interim answer comes before the body is sent */
    CHECK(send_str(c, "POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
                      "Expect: 100-continue\r\n\r\n") == 0);
    const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    while (c->len < sizeof cont - 1 && fill(c) > 0)
        ;
    CHECK(c->len >= sizeof cont - 1 && !memcmp(c->buf, cont, sizeof cont - 1));
    memmove(c->buf, c->buf + sizeof cont - 1, c->len - (sizeof cont - 1));
    c->len -= sizeof cont - 1;
    CHECK(send_str(c, "data") == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 200 && strstr(r.body, "len=4 body=data"));
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "");
    client_close(c);
}

static void test_body_limit(struct fixture *fx)
{
    struct reply r;
    char v[64], want[100];
    snprintf(want, sizeof want, "request body exceeds the limit of %zu bytes\n", fx->cfg.max_body);

    /* the client sends the whole oversized body, then reads: it gets the 413, not a reset.
     * 16 MiB is more than the kernel buffers hold, so the server must keep reading. */
    size_t big = 16u * 1024 * 1024;
    char *body = malloc(big);
    memset(body, 'x', big);
    struct client *c = client_open(fx->port);
    char head[200];
    snprintf(head, sizeof head, "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
             big);
    CHECK(send_str(c, head) == 0);
    CHECK(send_all(c, body, big) == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 413);
    CHECK_STR(r.body, want);
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "close");
    CHECK(wait_closed(c, 4000) == 1);
    client_close(c);

    /* with Expect: 100-continue the 413 comes instead of the 100 */
    c = client_open(fx->port);
    snprintf(head, sizeof head,
             "POST /big HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
             big);
    CHECK(send_str(c, head) == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 413);
    CHECK_STR(r.body, want);
    client_close(c);

    /* a chunked body growing over the limit */
    c = client_open(fx->port);
    CHECK(send_str(c, "POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n") == 0);
    int ok = 0;
    for (size_t sent = 0; sent <= fx->cfg.max_body; sent += 1000) {
        char chunk[1100];
        snprintf(chunk, sizeof chunk, "3e8\r\n%.*s\r\n", 1000, body);
        if (send_str(c, chunk))
            break;
        ok = 1;
    }
    CHECK(ok);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 413);
    CHECK_STR(r.body, want);
    client_close(c);

    /* exactly max_body is fine */
    c = client_open(fx->port);
    snprintf(head, sizeof head, "POST /fits HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
             fx->cfg.max_body);
    CHECK(send_str(c, head) == 0);
    CHECK(send_all(c, body, fx->cfg.max_body) == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 200);
    client_close(c);
    free(body);
}

static void test_header_limit(struct fixture *fx)
{
    struct reply r;
    char v[64];
    struct client *c = client_open(fx->port);
    size_t n = fx->cfg.max_header + 500;
    char *big = malloc(n + 100);
    int len = snprintf(big, n + 100, "GET / HTTP/1.1\r\nX-Big: ");
    memset(big + len, 'a', n);
    memcpy(big + len + n, "\r\n\r\n", 5);
    CHECK(send_str(c, big) == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 431);
    CHECK(strstr(r.body, "request header exceeds the limit") != NULL);
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "close");
    CHECK(wait_closed(c, 4000) == 1);
    client_close(c);
    free(big);
}

static void test_timeouts(void)
{
    struct fixture fx;
    struct reply r;
    char v[64];
    fx_init(&fx);
    fx.cfg.keepalive_timeout_ms = 300;
    fx.cfg.request_timeout_ms = 500;
    CHECK(fx_start(&fx, &hooks) == 0);

    /* an idle keep-alive connection is closed, silently, after keepalive_timeout */
    struct client *c = client_open(fx.port);
    CHECK(get(c, "/k", &r) == 0 && r.status == 200);
    int64_t t0 = now_ms();
    CHECK(wait_closed(c, 3000) == 1);
    int64_t idle = now_ms() - t0;
    CHECK(idle >= 250 && idle < 2500);
    CHECK(c->len == 0); /* nothing was sent before closing */
    client_close(c);

    /* a connection that never sends is closed the same way */
    c = client_open(fx.port);
    CHECK(wait_closed(c, 3000) == 1);
    client_close(c);

    /* a request that does not complete within request_timeout: 408, even while bytes keep
     * trickling in (the deadline counts from the first byte, progress does not extend it) */
    c = client_open(fx.port);
    t0 = now_ms();
    CHECK(send_str(c, "GET /slow HTTP/1.1\r\n") == 0);
    set_timeout(c->fd, 100);
    for (int i = 0; i < 30 && c->len == 0; i++) {
        send_str(c, "X-Drip: 1\r\n");
        fill(c);
    }
    int64_t took = now_ms() - t0;
    set_timeout(c->fd, 5000);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 408);
    CHECK(took >= 450 && took < 1500);
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "close");
    CHECK(wait_closed(c, 3000) == 1);
    client_close(c);
    fx_stop(&fx);
}

/* With one worker, 50 idle or half-sent connections must not stop a new request. */
static void test_idle_connections_hold_no_worker(void)
{
    struct fixture fx;
    struct reply r;
    fx_init(&fx);
    fx.cfg.workers = 1;
    CHECK(fx_start(&fx, &hooks) == 0);
    struct client *idle[50];
    for (int i = 0; i < 50; i++) {
        idle[i] = client_open(fx.port);
        CHECK(idle[i] != NULL);
        if (idle[i] && i % 2)
            send_str(idle[i], "POST /half HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
        else if (idle[i] && i % 5 == 0)
            send_str(idle[i], "GET /partial HTTP/1.1\r\nHost:");
    }
    usleep(50000);
    struct client *c = client_open(fx.port);
    int64_t t0 = now_ms();
    CHECK(get(c, "/served", &r) == 0);
    CHECK(r.status == 200 && strstr(r.body, "GET /served") == r.body);
    CHECK(now_ms() - t0 < 2000);
    client_close(c);
    for (int i = 0; i < 50; i++)
        client_close(idle[i]);
    fx_stop(&fx);
}

/* A request the handler answers later holds no worker; answers on one connection keep their
 * order; a graceful stop waits for a deferred answer. */
static void test_deferred(void)
{
    struct fixture fx;
    struct reply r;
    fx_init(&fx);
    fx.cfg.workers = 1;
    CHECK(fx_start(&fx, &hooks) == 0);
    struct client *slow = client_open(fx.port);
    struct client *c = client_open(fx.port);
    int64_t t0 = now_ms();
    CHECK(send_str(slow, "GET /a?defer=600 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    usleep(50000);
    /* the only worker is free again: other requests are answered meanwhile */
    CHECK(get(c, "/b", &r) == 0);
    CHECK(r.status == 200 && strstr(r.body, "GET /b") == r.body);
    CHECK(get(c, "/c?defer=0", &r) == 0);
    CHECK(r.status == 200 && !strcmp(r.body, "deferred /c"));
    CHECK(now_ms() - t0 < 500);
    CHECK(read_reply(slow, &r) == 0);
    CHECK(r.status == 200 && !strcmp(r.body, "deferred /a"));
    CHECK(now_ms() - t0 >= 590);
    /* pipelined: answered in order, the deferred one first */
    CHECK(send_str(slow, "GET /d?defer=200 HTTP/1.1\r\nHost: t\r\n\r\n"
                         "GET /e HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(read_reply(slow, &r) == 0);
    CHECK(!strcmp(r.body, "deferred /d"));
    CHECK(read_reply(slow, &r) == 0);
    CHECK(strstr(r.body, "GET /e") == r.body);
    /* a request that comes while the previous one is held: the connection is out of epoll
     * until the answer (the event loop does not spin on the waiting input), then it is read */
    CHECK(send_str(slow, "GET /g?defer=400 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    usleep(50000);
    CHECK(send_str(slow, "GET /h HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    usleep(20000);
    int64_t cpu0 = cpu_ms(), wall0 = now_ms();
    usleep(250000);
    int64_t cpu_used = cpu_ms() - cpu0, wall = now_ms() - wall0;
    CHECK(cpu_used * 2 < wall); /* a spinning loop would take all of it */
    CHECK(read_reply(slow, &r) == 0);
    CHECK(!strcmp(r.body, "deferred /g"));
    CHECK(read_reply(slow, &r) == 0);
    CHECK(strstr(r.body, "GET /h") == r.body);
    /* a client that leaves while its request is held: the answer is dropped, nothing else */
    struct client *gone = client_open(fx.port);
    CHECK(send_str(gone, "GET /i?defer=150 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    usleep(50000);
    client_close(gone);
    usleep(200000);
    CHECK(get(c, "/j", &r) == 0 && r.status == 200 && strstr(r.body, "GET /j") == r.body);
    /* a stop waits for the deferred answer, which is sent with Connection: close */
    char v[64];
    CHECK(send_str(slow, "GET /f?defer=300 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    usleep(50000);
    eb_server_stop(fx.srv);
    CHECK(read_reply(slow, &r) == 0);
    CHECK(!strcmp(r.body, "deferred /f"));
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "close");
    pthread_join(fx.thread, NULL);
    CHECK(fx.rc == EB_OK);
    eb_server_free(fx.srv);
    client_close(c);
    client_close(slow);
}

static void test_connection_caps(void)
{
    struct fixture fx;
    struct reply r;
    fx_init(&fx);
    fx.cfg.max_connections = 3;
    fx.cfg.max_connections_per_peer = 2;
    CHECK(fx_start(&fx, &hooks) == 0);
    struct client *a = client_open(fx.port), *b = client_open(fx.port);
    CHECK(get(a, "/a", &r) == 0 && r.status == 200);
    CHECK(get(b, "/b", &r) == 0 && r.status == 200);

    /* a third connection of the same peer: 503 and closed */
    struct client *c = client_open(fx.port);
    CHECK(c && read_reply(c, &r) == 0);
    CHECK(r.status == 503);
    CHECK_STR(r.body, "too many connections\n");
    CHECK(wait_closed(c, 3000) == 1);
    client_close(c);

    /* another peer address is still welcome, up to max_connections */
    struct client *d = client_open_from(fx.port, "127.0.0.2");
    CHECK(d && get(d, "/d", &r) == 0 && r.status == 200);
    struct client *e = client_open_from(fx.port, "127.0.0.3");
    CHECK(e && read_reply(e, &r) == 0 && r.status == 503);
    client_close(e);

    /* when a connection goes away, its peer may connect again */
    client_close(a);
    int served = 0;
    for (int i = 0; i < 50 && !served; i++) {
        usleep(20000);
        c = client_open(fx.port);
        served = c && get(c, "/again", &r) == 0 && r.status == 200;
        client_close(c);
    }
    CHECK(served);
    client_close(b);
    client_close(d);
    fx_stop(&fx);
}

static void test_graceful_stop(void)
{
    struct fixture fx;
    struct reply r;
    char v[64];
    fx_init(&fx);
    fx.cfg.workers = 2;
    int created_before = atomic_load(&workers_created);
    int freed_before = atomic_load(&workers_freed);
    CHECK(fx_start(&fx, &hooks) == 0);

    struct client *idle = client_open(fx.port);
    struct client *busy = client_open(fx.port);
    struct client *half = client_open(fx.port);
    CHECK(send_str(half, "POST /half HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab") == 0);
    int entered = atomic_load(&in_handler);
    CHECK(send_str(busy, "GET /slow?sleep=400 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    for (int i = 0; i < 200 && atomic_load(&in_handler) == entered; i++)
        usleep(5000);
    CHECK(atomic_load(&in_handler) > entered); /* the request is in a worker */

    usleep(50000); /* the loop has read the half request too */
    eb_server_stop(fx.srv);
    /* the in-flight request completes, with Connection: close */
    CHECK(read_reply(busy, &r) == 0);
    CHECK(r.status == 200 && strstr(r.body, "GET /slow") == r.body);
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "close");
    CHECK(wait_closed(busy, 3000) == 1);
    /* the idle one is closed */
    CHECK(wait_closed(idle, 3000) == 1);
    /* one still being received may complete and is answered */
    CHECK(send_str(half, "cd") == 0);
    CHECK(read_reply(half, &r) == 0);
    CHECK(r.status == 200 && strstr(r.body, "body=abcd"));
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "close");
    client_close(half);
    pthread_join(fx.thread, NULL);
    CHECK(fx.rc == EB_OK);
    CHECK(atomic_load(&workers_created) - created_before == 2);
    CHECK(atomic_load(&workers_freed) - freed_before == 2);
    /* no longer listening */
    struct client *late = client_open(fx.port);
    CHECK(late == NULL);
    client_close(late);
    client_close(idle);
    client_close(busy);
    eb_server_free(fx.srv);
}

static void test_worker_start_failure(void)
{
    struct fixture fx;
    fx_init(&fx);
    CHECK(fx_start(&fx, &failing_hooks) == 0);
    pthread_join(fx.thread, NULL);
    CHECK(fx.rc == EB_ERR_UNAVAILABLE);
    CHECK(strstr(fx.err.msg, "no database today") != NULL);
    eb_server_free(fx.srv);
}

static void test_listen_errors(void)
{
    struct fixture fx, fx2;
    struct eb_err err;
    struct eb_server *s = NULL;
    fx_init(&fx);
    CHECK(fx_start(&fx, &hooks) == 0);
    /* the same port again: a clear error naming the address */
    fx_init(&fx2);
    fx2.cfg.listen_port = fx.port;
    CHECK(eb_server_new(&fx2.cfg, &hooks, &s, &err) == EB_ERR_UNAVAILABLE);
    char want[64];
    snprintf(want, sizeof want, "cannot listen on 127.0.0.1:%d: ", fx.port);
    CHECK(strncmp(err.msg, want, strlen(want)) == 0);
    CHECK(s == NULL);
    fx_stop(&fx);

    /* stop before serve: serve returns at once */
    fx_init(&fx);
    CHECK(eb_server_new(&fx.cfg, &hooks, &fx.srv, &err) == EB_OK);
    eb_server_stop(fx.srv);
    CHECK(eb_server_serve(fx.srv, &err) == EB_OK);
    eb_server_free(fx.srv);

    /* IPv6 loopback, when the host has it */
    fx_init(&fx);
    snprintf(fx.cfg.listen_host, sizeof fx.cfg.listen_host, "::1");
    if (eb_server_new(&fx.cfg, &hooks, &fx.srv, &err) == EB_OK) {
        fx.port = eb_server_port(fx.srv);
        CHECK(fx.port > 0);
        pthread_create(&fx.thread, NULL, serve_thread, &fx);
        int fd = socket(AF_INET6, SOCK_STREAM, 0);
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)fx.port)};
        a.sin6_addr = in6addr_loopback;
        CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
        struct client *c = calloc(1, sizeof *c);
        c->fd = fd;
        set_timeout(fd, 5000);
        struct reply r;
        CHECK(get(c, "/v6", &r) == 0 && r.status == 200 && strstr(r.body, "peer=::1 "));
        client_close(c);
        fx_stop(&fx);
    }
}

/* Reads the next response on c and says whether it is a 100 Continue (consumed) (1), or a
 * final one (0, in r), or nothing (-1). */
static int read_interim_or_reply(struct client *c, struct reply *r)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    while (c->len < sizeof cont - 1 && memcmp(c->buf, cont, c->len) == 0)
        if (fill(c) <= 0)
            return -1;
    if (!memcmp(c->buf, cont, sizeof cont - 1)) {
        memmove(c->buf, c->buf + sizeof cont - 1, c->len - (sizeof cont - 1));
        c->len -= sizeof cont - 1;
        return 1;
    }
    return read_reply(c, r) == 0 ? 0 : -1;
}

/* The admit hook runs when the headers are complete: a refused request gets its answer at
 * once, before 100 Continue and before its body is read; nothing of it reaches a worker; a
 * client that sends its whole body without waiting still reads the answer, not a reset. */
static void test_admission(void)
{
    struct fixture fx;
    struct reply r;
    char v[64];
    fx_init(&fx);
    fx.cfg.max_body = 1024 * 1024;
    if (fx_start(&fx, &admit_hooks)) {
        CHECK(!"the server starts");
        return;
    }
    size_t big = fx.cfg.max_body;
    char *body = malloc(big), head[300];
    memset(body, 'b', big);
    int before = atomic_load(&handled);

    /* waits for 100 Continue: gets the 401 instead, and the connection closes */
    struct client *c = client_open(fx.port);
    snprintf(head, sizeof head,
             "POST /deny/a HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Length: %zu\r\n\r\n",
             big);
    CHECK(send_str(c, head) == 0);
    CHECK(read_interim_or_reply(c, &r) == 0); /* no 100 Continue first */
    CHECK(r.status == 401);
    CHECK(strncmp(r.body, "denied /deny/a id=", 18) == 0);
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "close");
    CHECK_STR(header_of(&r, "WWW-Authenticate", v, sizeof v), "Bearer realm=\"t\"");
    CHECK(wait_closed(c, 4000) == 1);
    client_close(c);

    /* does not wait: head and the whole body at once, then reads: the 401, not a reset */
    c = client_open(fx.port);
    snprintf(head, sizeof head, "POST /deny/b HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
             big);
    CHECK(send_str(c, head) == 0);
    CHECK(send_all(c, body, big) == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 401);
    CHECK(wait_closed(c, 4000) == 1);
    client_close(c);

    /* chunked, and a pipelined request behind a refused one: never served */
    c = client_open(fx.port);
    CHECK(send_str(c, "POST /deny/c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n0\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(read_reply(c, &r) == 0);
    CHECK(r.status == 401);
    CHECK(wait_closed(c, 4000) == 1);
    client_close(c);
    CHECK(atomic_load(&handled) == before); /* no refused request reached a worker */
    CHECK(eb_server_buffered(fx.srv) == 0);

    /* an admitted request carries the hook's answer to the handler */
    c = client_open(fx.port);
    CHECK(get(c, "/admitted", &r) == 0);
    CHECK(r.status == 200 && strncmp(r.body, "admitted=7 GET /admitted", 24) == 0);
    client_close(c);
    free(body);
    fx_stop(&fx);
}

/* --max-buffered: a body that does not fit waits, unread and without 100 Continue, until
 * memory frees; one that waits longer than request_timeout gets 503 with Retry-After; chunked
 * bodies grow their reservation step by step. */
static void test_max_buffered(void)
{
    struct fixture fx;
    struct reply r;
    char v[64], head[300];
    fx_init(&fx);
    fx.cfg.max_body = 256 * 1024;
    fx.cfg.max_buffered = 256 * 1024;
    fx.cfg.request_timeout_ms = 400;
    sem_init(&hold, 0, 0);
    if (fx_start(&fx, &hooks)) {
        CHECK(!"the server starts");
        return;
    }
    size_t big = fx.cfg.max_body;
    char *body = malloc(big);
    memset(body, 'q', big);

    /* a holds the whole budget in a worker */
    struct client *a = client_open(fx.port);
    snprintf(head, sizeof head, "POST /a?hold HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
             big);
    CHECK(send_str(a, head) == 0 && send_all(a, body, big) == 0);
    for (int i = 0; i < 200 && eb_server_buffered(fx.srv) < big; i++)
        usleep(5000);
    CHECK(eb_server_buffered(fx.srv) == big);

    /* b waits: no 100 Continue while a holds the memory ... */
    struct client *b = client_open(fx.port);
    CHECK(send_str(b, "POST /b HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                      "Content-Length: 4\r\n\r\n") == 0);
    /* ... while requests without a body still pass */
    struct client *g = client_open(fx.port);
    CHECK(get(g, "/nobody", &r) == 0 && r.status == 200);
    client_close(g);
    set_timeout(b->fd, 150);
    CHECK(fill(b) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    set_timeout(b->fd, 5000);
    /* ... and goes on once a's answer is made */
    sem_post(&hold);
    CHECK(read_reply(a, &r) == 0 && r.status == 200);
    CHECK(read_interim_or_reply(b, &r) == 1);
    CHECK(send_str(b, "data") == 0);
    CHECK(read_reply(b, &r) == 0 && r.status == 200 && strstr(r.body, "len=4 body=data"));
    client_close(b);

    /* c waits longer than request_timeout: 503 with Retry-After, its body never read */
    snprintf(head, sizeof head, "POST /a2?hold HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
             big);
    CHECK(send_str(a, head) == 0 && send_all(a, body, big) == 0);
    for (int i = 0; i < 200 && eb_server_buffered(fx.srv) < big; i++)
        usleep(5000);
    struct client *c = client_open(fx.port);
    CHECK(send_str(c, "POST /c HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                      "Content-Length: 10\r\n\r\n") == 0);
    CHECK(read_interim_or_reply(c, &r) == 0);
    CHECK(r.status == 503);
    CHECK_STR(header_of(&r, "Retry-After", v, sizeof v), "5");
    CHECK_STR(header_of(&r, "Connection", v, sizeof v), "close");
    client_close(c);
    sem_post(&hold);
    CHECK(read_reply(a, &r) == 0 && r.status == 200 && strstr(r.body, "POST /a2"));
    client_close(a);

    /* a chunked body of 200 KiB grows its reservation (64K, 128K, 256K) and goes through */
    c = client_open(fx.port);
    CHECK(send_str(c, "POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n") ==
          0);
    for (int i = 0; i < 200; i++) {
        char chunk[1100];
        snprintf(chunk, sizeof chunk, "400\r\n%.*s\r\n", 1024, body);
        CHECK(send_str(c, chunk) == 0);
    }
    CHECK(send_str(c, "0\r\n\r\n") == 0);
    CHECK(read_reply(c, &r) == 0 && r.status == 200 && strstr(r.body, "len=204800 body=qqq"));
    client_close(c);
    for (int i = 0; i < 200 && eb_server_buffered(fx.srv); i++)
        usleep(5000);
    CHECK(eb_server_buffered(fx.srv) == 0);
    free(body);
    fx_stop(&fx);
    sem_destroy(&hold);
}

/* Sends n bytes of chunked body data in 1 KiB chunks. */
static int send_chunks(struct client *c, size_t n)
{
    char chunk[1100], data[1024];
    memset(data, 'k', sizeof data);
    for (size_t i = 0; i < n; i += sizeof data) {
        snprintf(chunk, sizeof chunk, "400\r\n%.*s\r\n", (int)sizeof data, data);
        if (send_str(c, chunk))
            return -1;
    }
    return 0;
}

/* Chunked bodies that each hold part of the budget and all wait to grow would wait for one
 * another until request_timeout: the last one to wait when every reserved byte is held by
 * waiting requests gets 503 at once, and the others go on. */
static void test_max_buffered_chunked_standoff(void)
{
    struct fixture fx;
    struct reply r;
    fx_init(&fx);
    fx.cfg.max_body = 128 * 1024;
    fx.cfg.max_buffered = 128 * 1024;
    fx.cfg.request_timeout_ms = 5000;
    if (fx_start(&fx, &hooks)) {
        CHECK(!"the server starts");
        return;
    }
    static const char head[] =
        "POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    struct client *a = client_open(fx.port), *b = client_open(fx.port);
    /* each reserves its first 64 KiB: the budget is full */
    CHECK(send_str(a, head) == 0 && send_chunks(a, 60 * 1024) == 0);
    CHECK(send_str(b, head) == 0 && send_chunks(b, 60 * 1024) == 0);
    for (int i = 0; i < 200 && eb_server_buffered(fx.srv) < 128 * 1024; i++)
        usleep(5000);
    CHECK(eb_server_buffered(fx.srv) == 128 * 1024);
    /* a must grow: waits for b's memory; b must grow too: nothing would ever free */
    CHECK(send_chunks(a, 10 * 1024) == 0);
    usleep(100000);
    CHECK(send_chunks(b, 10 * 1024) == 0);
    set_timeout(b->fd, 3000); /* well before request_timeout */
    CHECK(read_reply(b, &r) == 0 && r.status == 503);
    client_close(b);
    /* a got b's memory and finishes */
    CHECK(send_str(a, "0\r\n\r\n") == 0);
    CHECK(read_reply(a, &r) == 0 && r.status == 200 && strstr(r.body, "len=71680 "));
    client_close(a);
    fx_stop(&fx);
}

int main(void)
{
    struct fixture fx;
    eb_log_setup(EB_LOG_WARN, EB_LOG_TEXT);
    fx_init(&fx);
    if (fx_start(&fx, &hooks)) {
        CHECK(!"the server starts");
        return check_report("test_server");
    }
    CHECK(fx.port > 0);
    test_round_trips(&fx);
    test_connection_semantics(&fx);
    test_pipelining(&fx);
    test_chunked_and_continue(&fx);
    test_body_limit(&fx);
    test_header_limit(&fx);
    fx_stop(&fx);
    CHECK(atomic_load(&workers_unblocked) == 0); /* workers run with the stop signals blocked */

    test_timeouts();
    test_idle_connections_hold_no_worker();
    test_deferred();
    test_connection_caps();
    test_graceful_stop();
    test_worker_start_failure();
    test_listen_errors();
    test_admission();
    test_max_buffered();
    test_max_buffered_chunked_standoff();
    return check_report("test_server");
}

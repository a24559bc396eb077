/* What the files of the HTTP server share (server.c: listening, the event loop, stopping, the
 * workers; conn.c: a connection's life from its first byte to its close): the limits, the
 * connection and server structs, the metrics, and the functions one file calls in the other.
 * Internal to transport/; the interface is server.h. */
#ifndef EB_SERVER_INT_H
#define EB_SERVER_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "transport/frame.h"
#include "transport/server.h"
#include "transport/tls.h"
#include "util/buf.h"
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
    struct src sig;              /* the signalfd of eb_server_signals(), fd -1 otherwise */
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

/* The id of the next request (eb_http_request.id), over every connection. */
extern atomic_uint_fast64_t srv_next_request_id;

/* The transport's metrics (util/metrics.h), registered by eb_server_new(); updated with one
 * relaxed atomic operation each, on the loop thread. */
struct srv_metrics {
    struct eb_metric *open;         /* gauge: connections open */
    struct eb_metric *accepted;     /* counter: connections accepted */
    struct eb_metric *rejected;     /* counter: connections turned away at accept */
    struct eb_metric *in_flight;    /* gauge: requests in workers or awaiting their answer */
    struct eb_metric *bytes;        /* counter: bytes of HTTP received (after TLS) */
    struct eb_metric *responses[5]; /* counter: responses by status class 1xx..5xx */
    struct eb_metric *buffered;     /* gauge: bytes of request bodies reserved */
    struct eb_metric *waiting;      /* gauge: requests waiting for that memory */
};
extern struct srv_metrics srv_metrics;

/* ---- conn.c, called by server.c ---- */

/* Puts c on deadline list tl (off the one it was on), expiring tl->timeout_ms from now. */
void srv_timer_start(struct conn *c, struct timer_list *tl);

/* Milliseconds until the next deadline, -1 when there is none. */
int srv_next_timeout(struct eb_server *s);

/* Counts a new connection of addr; NULL when the peer is at its limit or memory is out. */
struct peer *srv_peer_acquire(struct eb_server *s, const char *addr);

/* Gives back a connection of peer p (NULL-safe); frees p when it has none left. */
void srv_peer_release(struct eb_server *s, struct peer *p);

/* Reads at most n bytes of c (through TLS when configured), as recv(2) does. */
ssize_t srv_conn_recv(struct conn *c, void *buf, size_t n);

/* Writes the n_iov buffers of iov to c (through TLS when configured), as writev(2) does. */
ssize_t srv_conn_send(struct conn *c, struct iovec *iov, int n_iov);

/* Closes the socket now; the memory is freed at the end of the loop iteration, as events for
 * the connection may still be pending in the batch. Never called in state WORKER. */
void srv_conn_close(struct conn *c, const char *why);

/* Frees a closed connection (from the graveyard, at the end of a loop iteration). */
void srv_conn_free(struct conn *c);

/* Registers the epoll interest events (0: out of epoll). 0 on success; on failure the
 * connection is closed. */
int srv_conn_watch(struct conn *c, uint32_t events);

/* Stops the events of a connection a worker holds (input waits until its answer is out). The
 * connection is not the loop's to close meanwhile: a failure leaves it watched, and the loop
 * tries again at its next event. */
void srv_conn_park(struct conn *c);

/* Writes what is queued without blocking; waits for EPOLLOUT when the socket is full. */
void srv_conn_flush(struct conn *c);

/* Answers the request being read with status and a short text, then closes. */
void srv_conn_refuse(struct conn *c, int status);

/* Appends c to the queue head..tail (the work queue or the done queue; caller holds s->mu). */
void srv_enqueue(struct conn **head, struct conn **tail, struct conn *c);

/* EPOLLIN on c: reads, frames and processes what arrived, as its state asks. */
void srv_conn_on_readable(struct conn *c);

/* The TLS handshake of a new connection, driven by readiness in either direction. */
void srv_conn_handshake(struct conn *c);

/* A worker finished c's request: write the response. */
void srv_conn_respond(struct conn *c);

/* Acts on every connection whose deadline has passed (closes it or answers it 408/503). */
void srv_expire_timers(struct eb_server *s);

#endif

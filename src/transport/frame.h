/* HTTP/1.1 request framing, internal to the transport: bytes in, one complete struct
 * eb_http_request out (request line, headers, body by Content-Length or chunked), with the
 * header and body limits enforced while the bytes arrive, and the framing held to RFC 9112
 * (CRLF line ends, no line folding, one Host, strict chunk lines). No sockets here: the event
 * loop (server.c) feeds what it reads, so a later TLS layer only changes where bytes come from.
 * The framing stops once when the headers are complete, before any byte of the body, so that
 * the caller can authenticate the request and budget its body first. */
#ifndef EB_FRAME_H
#define EB_FRAME_H

#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/http.h"
#include "util/buf.h"

enum eb_frame_status {
    EB_FRAME_MORE = 0, /* every byte fed was consumed; the request needs more */
    EB_FRAME_HEADERS,  /* the header block is complete (method, path, query and headers of
                          eb_frame_request() are set, the body is not): nothing of the body was
                          consumed; returned once per request, the next call goes on */
    EB_FRAME_REQUEST,  /* a complete request: eb_frame_request(); unconsumed bytes are the next one
                        */
    EB_FRAME_ERROR     /* the request is refused: answer f->error_status and close the connection */
};

struct eb_frame {
    http_parser parser;
    size_t max_header;              /* request line + headers, raw bytes; over it (or over 100
                                       header fields): 431 */
    size_t max_body;                /* decoded body bytes; over it: 413 */
    size_t max_raw;                 /* raw bytes of one request incl. chunk framing; over it: 413 */
    size_t head_seen;               /* raw bytes fed before the headers were complete */
    size_t raw_seen;                /* raw bytes of this request fed so far */
    struct eb_buf head;             /* url NUL, then name NUL value NUL for each header */
    struct eb_buf body;             /* the de-chunked body */
    size_t url_len;                 /* bytes of the url at the start of head */
    size_t *offs;                   /* 2 per header: offsets of name and value in head */
    size_t n_headers;               /* headers received */
    size_t cap_headers;             /* headers offs and headers have room for */
    struct eb_http_header *headers; /* built when the headers are complete */
    int last;                       /* what the last callback appended: 0 url, 1 name, 2 value */
    int started;                    /* a byte of the request line was seen */
    int headers_done;    /* the header block is complete; req has method, path, headers */
    int complete;        /* the whole request is complete */
    int want_continue;   /* Expect: 100-continue with a body still to come */
    int keep_alive;      /* the client allows another request on this connection */
    int is_head;         /* method HEAD: the answer carries no body */
    int http10;          /* the request is HTTP/1.0 (or older) */
    int upgrade;         /* Upgrade or CONNECT: the connection must close after the answer */
    int error_status;    /* with EB_FRAME_ERROR: 400, 413 or 431 */
    int chunked;         /* the body is chunked (set with the headers) */
    size_t declared;     /* the body's Content-Length; 0 for none or chunked (set with the headers,
                          also when it is over max_body) */
    int line;            /* where the strict-framing check is (frame.c) */
    uint64_t chunk_left; /* bytes of the current chunk's data still to come */
    enum eb_frame_status status; /* sticky once REQUEST or ERROR, until eb_frame_next() */
    struct eb_http_request req;  /* filled as the request arrives; peer and id are the caller's */
};

/* Prepares f for the first request of a connection. Allocates nothing. Limits of 0 are
 * replaced by the defaults of struct eb_config. Free with eb_frame_free(). */
void eb_frame_init(struct eb_frame *f, size_t max_header, size_t max_body);

/* Parses up to len bytes of data; *used says how many were consumed. MORE: all were consumed
 * and the request is not complete. HEADERS: the headers are complete and the bytes after *used
 * are the body (call again to go on). REQUEST: the request is complete and the bytes after
 * *used belong to the next request (pipelining). ERROR: answer f->error_status and close.
 * Once REQUEST or ERROR is returned, further calls return it again and consume nothing.
 * Works on any byte buffer: feeding a whole request in one call or byte by byte gives the
 * same result. */
enum eb_frame_status eb_frame_feed(struct eb_frame *f, const char *data, size_t len, size_t *used);

/* Makes room for n bytes of body at once (one allocation of exactly that size instead of
 * growing), after EB_FRAME_HEADERS; the body may still grow past it (up to max_body). For a
 * caller that budgets bodies: fed at most n - f->body.len more raw bytes, the body never
 * allocates past n. EB_ERR_NOMEM, EB_ERR_TOO_LARGE past max_body. */
eb_rc eb_frame_reserve_body(struct eb_frame *f, size_t n);

/* The body of the current request is no longer needed (its answer is made): frees a large
 * body buffer now, keeps a small one for the next request. */
void eb_frame_drop_body(struct eb_frame *f);

/* The request after EB_FRAME_REQUEST (method, path, query, headers and body set; the caller
 * sets peer and id). Valid, and owned by f, until eb_frame_next() or eb_frame_free(). */
struct eb_http_request *eb_frame_request(struct eb_frame *f);

/* Forgets the current request and prepares for the next one on the same connection (parser
 * state is kept). Keeps small buffers for reuse; frees a large body. */
void eb_frame_next(struct eb_frame *f);

/* Frees everything f holds (NULL-safe); f must be initialized again before reuse. */
void eb_frame_free(struct eb_frame *f);

/* Percent-decodes n bytes of in into out (at most outsz-1 bytes, always NUL-terminated when
 * outsz > 0); '+' becomes a space when plus_is_space. in and out may be the same buffer
 * (decoding never writes ahead of reading). Malformed escapes are copied as they are.
 * Returns the decoded length (possibly truncated); *had_nul (NULL-safe) is set when "%00"
 * was decoded. Shared by the framing (paths) and eb_http_query_param() (query values). */
size_t eb_frame_percent_decode(char *out, size_t outsz, const char *in, size_t n, int plus_is_space,
                               int *had_nul);

#endif

/* HTTP requests and responses as the transport hands them to the service: complete, in memory.
 * The event loop (transport/server.c) reads and frames them so that slow or idle clients hold
 * no worker; workers only ever see whole requests. */
#ifndef EB_HTTP_H
#define EB_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct eb_http_header {
    const char *name;  /* as received, NUL-terminated */
    const char *value; /* leading and trailing blanks removed, NUL-terminated */
};

struct eb_http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* decoded path without the query ("/pushCandidate") */
    const char *query;  /* raw query without '?', "" when none ("wsdl", "sign=...") */
    const struct eb_http_header *headers; /* in order received */
    size_t n_headers;
    const char *body; /* de-chunked body, NUL-terminated; "" when none */
    size_t body_len;  /* bytes of body */
    const char *peer; /* the direct peer's address, text ("127.0.0.1", "::1") */
    uint64_t id;      /* request id, unique within the process (for logs) */
    int tls;          /* 1 when the request came over TLS (HTTPS) */
    int admitted;     /* what the server's admit hook answered for it when the headers were
                         complete (0 when there is none) */
    int listener;     /* which listener took it: EB_LISTENER_PUBLIC or EB_LISTENER_ADMIN */
};

/* The listeners a server may have (struct eb_http_request.listener). */
enum { EB_LISTENER_PUBLIC = 0, EB_LISTENER_ADMIN = 1 };

struct eb_http_response {
    int status;                   /* 200, 400, ... */
    const char *content_type;     /* static string; NULL for none */
    struct eb_buf body;           /* the body; the transport writes Content-Length itself */
    int close;                    /* 1: close the connection after this response */
    const char *www_authenticate; /* WWW-Authenticate value of a 401; NULL for none; must
                                     outlive the response (a static or long-lived string) */
    const char *headers;          /* more header lines, each "Name: value\r\n"; NULL for none;
                                     must outlive the response (a static string) */
    char own_headers[1024];       /* header lines of this response alone, each "Name: value\r\n"
                                     (Content-Disposition); "" for none */
};

/* The value of the first header named name (ASCII case-insensitive), or NULL. */
const char *eb_http_header(const struct eb_http_request *req, const char *name);

/* The value of query parameter name, percent-decoded into out (at most outsz-1 bytes); returns
 * 1 when present (also when empty, as in "?wsdl"), 0 when absent. */
int eb_http_query_param(const char *query, const char *name, char *out, size_t outsz);

/* The standard reason phrase of status ("Payload Too Large" for 413), "Unknown" otherwise. */
const char *eb_http_reason(int status);

#endif

/* HTTP/1.1 request framing on top of http-parser: collects the url, the headers and the
 * de-chunked body of one request into a struct eb_frame and enforces the size limits while
 * the bytes arrive. The parser is paused when the headers are complete (the caller decides
 * about the body) and at the end of each message, so bytes of a pipelined next request are
 * left to the caller.
 *
 * Debian's http-parser is built lenient (HTTP_PARSER_STRICT=0): it takes a bare LF or CR as a
 * line end, folds continuation lines into the header before them (obs-fold), and takes any two
 * bytes after a chunk's data as its CRLF. A proxy in front that reads such bytes differently
 * would frame a different request than ehrbridge, which is how a second request is smuggled.
 * So every byte the parser consumes of the head and of chunk framing also goes through a
 * small strict checker (check_framing, RFC 9112 2.2, 5.2, 7.1), and the parser only ever sees
 * requests whose every line the checker accepts. Content-Length bodies are not scanned. */
#include "transport/frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_HEADER (16u * 1024u)
#define DEFAULT_MAX_BODY   (8u * 1024u * 1024u)
/* header fields of one request: a head of tiny fields ("a:" lines) would otherwise cost ten
 * times its size in offsets and records before anyone is authenticated */
#define MAX_HEADERS 100
/* buffers larger than these are freed between requests */
#define KEEP_HEAD_CAP (4u * 1024u)
#define KEEP_BODY_CAP (64u * 1024u)

static struct eb_frame *frame_of(http_parser *p)
{
    return p->data;
}

/* Records why the request is refused; returns -1 for the parser callback. */
static int refuse(struct eb_frame *f, int status)
{
    if (!f->error_status)
        f->error_status = status;
    return -1;
}

static int head_append(struct eb_frame *f, const char *at, size_t n)
{
    eb_rc rc = eb_buf_append(&f->head, at, n);
    if (rc)
        return refuse(f, rc == EB_ERR_TOO_LARGE ? 431 : 503);
    return 0;
}

/* Ends the value being collected: trailing blanks removed, NUL-terminated. */
static int end_value(struct eb_frame *f)
{
    size_t start = f->offs[2 * (f->n_headers - 1) + 1];
    while (f->head.len > start &&
           (f->head.data[f->head.len - 1] == ' ' || f->head.data[f->head.len - 1] == '\t'))
        f->head.len--;
    return head_append(f, "", 1);
}

/* States of the strict-framing checker (f->line). */
enum {
    L_START = 0,  /* before the request line (empty lines may come first) */
    L_START_CR,   /* a CR before the request line */
    L_TEXT,       /* inside the request line or a header line */
    L_CR,         /* a CR ending such a line */
    L_LINE_START, /* at the start of a header line */
    L_END_CR,     /* the CR of the empty line that ends the head */
    L_BODY,       /* a Content-Length body, or none: not scanned */
    L_SIZE_START, /* the first hex digit of a chunk size */
    L_SIZE,       /* the chunk size */
    L_EXT,        /* a chunk extension, up to the CR */
    L_SIZE_CR,    /* the CR ending the chunk size line */
    L_DATA,       /* chunk data: f->chunk_left bytes */
    L_DATA_CR,    /* the CRLF after chunk data */
    L_DATA_LF,
    L_TRAILER_START, /* at the start of a trailer line (after the last chunk) */
    L_TRAILER,       /* inside a trailer line */
    L_TRAILER_CR,
    L_TRAILER_END_CR, /* the CR of the empty line that ends the message */
    L_DONE
};

/* Checks n bytes of framing the parser consumed; -1 at the first byte RFC 9112 does not allow
 * there: a LF without CR before it, a CR without LF after it, NUL in the head, a line that
 * starts with a blank (obs-fold), a chunk line that is not hex digits, an extension and CRLF. */
static int check_framing(struct eb_frame *f, const unsigned char *p, size_t n)
{
    const unsigned char *end = p + n;
    int st = f->line;
    while (p < end) {
        unsigned char c = *p++;
        switch (st) {
        case L_START:
            if (c == '\n' || c == ' ' || c == '\t' || c == 0)
                return -1;
            st = c == '\r' ? L_START_CR : L_TEXT;
            break;
        case L_START_CR:
        case L_CR:
        case L_SIZE_CR:
        case L_DATA_LF:
        case L_TRAILER_CR:
            if (c != '\n')
                return -1;
            st = st == L_START_CR     ? L_START
                 : st == L_CR         ? L_LINE_START
                 : st == L_DATA_LF    ? L_SIZE_START
                 : st == L_TRAILER_CR ? L_TRAILER_START
                                      : (f->chunk_left ? L_DATA : L_TRAILER_START);
            break;
        case L_TEXT:
            /* the common case: run to the end of the line */
            while (c != '\r' && c != '\n' && c != 0 && p < end)
                c = *p++;
            if (c == '\n' || c == 0)
                return -1;
            if (c == '\r')
                st = L_CR;
            break;
        case L_LINE_START:
            if (c == ' ' || c == '\t' || c == '\n' || c == 0)
                return -1; /* obs-fold, or a bare LF */
            st = c == '\r' ? L_END_CR : L_TEXT;
            break;
        case L_END_CR:
            if (c != '\n')
                return -1;
            st = f->chunked ? L_SIZE_START : L_BODY;
            f->chunk_left = 0;
            break;
        case L_BODY:
        case L_DONE:
            f->line = st; /* nothing after the framing is checked */
            return 0;
        case L_SIZE_START:
        case L_SIZE: {
            int d = eb_hex_digit(c);
            if (d >= 0) {
                if (f->chunk_left > (UINT64_MAX >> 4))
                    return -1;
                f->chunk_left = f->chunk_left * 16 + (uint64_t)d;
                st = L_SIZE;
            } else if (st == L_SIZE && c == '\r') {
                st = L_SIZE_CR;
            } else if (st == L_SIZE && (c == ';' || c == ' ' || c == '\t')) {
                st = L_EXT;
            } else {
                return -1;
            }
            break;
        }
        case L_EXT:
            if (c == '\r')
                st = L_SIZE_CR;
            else if (c == '\n' || c < 0x20 || c == 0x7f)
                return -1;
            break;
        case L_DATA: {
            size_t avail = (size_t)(end - p) + 1;
            uint64_t take = f->chunk_left < avail ? f->chunk_left : avail;
            p += take - 1;
            f->chunk_left -= take;
            if (!f->chunk_left)
                st = L_DATA_CR;
            break;
        }
        case L_DATA_CR:
            if (c != '\r')
                return -1;
            st = L_DATA_LF;
            break;
        case L_TRAILER_START:
            if (c == ' ' || c == '\t' || c == '\n' || c == 0)
                return -1;
            st = c == '\r' ? L_TRAILER_END_CR : L_TRAILER;
            break;
        case L_TRAILER:
            if (c == '\n' || c == 0)
                return -1;
            if (c == '\r')
                st = L_TRAILER_CR;
            break;
        case L_TRAILER_END_CR:
            if (c != '\n')
                return -1;
            st = L_DONE;
            break;
        default:
            return -1;
        }
    }
    f->line = st;
    return 0;
}

static int on_message_begin(http_parser *p)
{
    frame_of(p)->started = 1;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct eb_frame *f = frame_of(p);
    if (head_append(f, at, n))
        return -1;
    f->url_len += n;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct eb_frame *f = frame_of(p);
    if (f->headers_done)
        return 0; /* a trailer of a chunked body: ignored */
    if (f->last == 0 && head_append(f, "", 1))
        return -1; /* ends the url */
    if (f->last == 2 && end_value(f))
        return -1;
    if (f->last != 1) {
        if (f->n_headers == MAX_HEADERS)
            return refuse(f, 431);
        if (f->n_headers == f->cap_headers) {
            size_t cap = f->cap_headers ? f->cap_headers * 2 : 16;
            if (cap > MAX_HEADERS)
                cap = MAX_HEADERS;
            size_t *offs = realloc(f->offs, cap * 2 * sizeof *offs);
            if (!offs)
                return refuse(f, 503);
            f->offs = offs;
            f->cap_headers = cap;
        }
        f->offs[2 * f->n_headers] = f->head.len;
        f->offs[2 * f->n_headers + 1] = f->head.len;
        f->n_headers++;
    }
    f->last = 1;
    return head_append(f, at, n);
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct eb_frame *f = frame_of(p);
    if (f->headers_done)
        return 0;
    if (f->last == 1) {
        if (head_append(f, "", 1))
            return -1; /* ends the name */
        f->offs[2 * (f->n_headers - 1) + 1] = f->head.len;
    }
    f->last = 2;
    return head_append(f, at, n);
}

/* A header name must be an RFC 7230 token (Debian's http-parser is built lenient and lets
 * "Name : value" or "Bad Name: value" through). */
static int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
            return 0;
    }
    return 1;
}

/* Splits the url kept in head into path (percent-decoded in place) and raw query. */
static int split_url(struct eb_frame *f)
{
    char *u = f->head.data;
    char *path = u;
    f->req.query = "";
    if (u[0] == '*' && u[1] == '\0') {
        f->req.path = "*";
        return 0;
    }
    if (u[0] != '/') {
        char *scheme_end = strstr(u, "://");
        if (!scheme_end) {
            f->req.path = u; /* authority form (CONNECT host:port): kept as it is */
            return 0;
        }
        path = scheme_end + 3 + strcspn(scheme_end + 3, "/?#"); /* absolute form */
    }
    char *hash = strchr(path, '#');
    if (hash)
        *hash = '\0';
    char *q = strchr(path, '?');
    if (q) {
        *q = '\0';
        f->req.query = q + 1;
    }
    if (*path != '/') {
        f->req.path = "/";
        return 0;
    }
    int had_nul = 0;
    size_t n = strlen(path);
    eb_frame_percent_decode(path, n + 1, path, n, 0, &had_nul);
    if (had_nul)
        return refuse(f, 400);
    f->req.path = path;
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct eb_frame *f = frame_of(p);
    if (f->last == 0 && head_append(f, "", 1))
        return -1;
    if (f->last == 2 && end_value(f))
        return -1;
    f->headers_done = 1;
    int hosts = 0;
    if (f->n_headers) {
        struct eb_http_header *h = realloc(f->headers, f->cap_headers * sizeof *h);
        if (!h)
            return refuse(f, 503);
        f->headers = h;
        for (size_t i = 0; i < f->n_headers; i++) {
            h[i].name = f->head.data + f->offs[2 * i];
            h[i].value = f->head.data + f->offs[2 * i + 1];
            if (!is_token(h[i].name))
                return refuse(f, 400);
            hosts += strcasecmp(h[i].name, "Host") == 0;
        }
    }
    f->req.headers = f->headers;
    f->req.n_headers = f->n_headers;
    f->req.method = http_method_str((enum http_method)p->method);
    f->is_head = p->method == HTTP_HEAD;
    f->http10 = p->http_major < 1 || (p->http_major == 1 && p->http_minor == 0);
    f->upgrade = p->upgrade;
    /* RFC 9112 3.2: exactly one Host in HTTP/1.1, never two in any version */
    if (hosts > 1 || (hosts == 0 && !f->http10))
        return refuse(f, 400);
    if (split_url(f))
        return -1;

    int chunked = (p->flags & F_CHUNKED) != 0;
    int has_length = !chunked && p->content_length != UINT64_MAX && p->content_length > 0;
    f->chunked = chunked;
    f->declared = !has_length                    ? 0
                  : p->content_length > SIZE_MAX ? SIZE_MAX
                                                 : (size_t)p->content_length;
    if (has_length && p->content_length > f->max_body)
        return refuse(f, 413);
    const char *expect = eb_http_header(&f->req, "Expect");
    if (expect && !f->http10 && strcasecmp(expect, "100-continue") == 0 && (chunked || has_length))
        f->want_continue = 1;
    http_parser_pause(p, 1); /* stop before the body: eb_frame_feed() says EB_FRAME_HEADERS */
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct eb_frame *f = frame_of(p);
    eb_rc rc = eb_buf_append(&f->body, at, n);
    if (rc)
        return refuse(f, rc == EB_ERR_TOO_LARGE ? 413 : 503);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct eb_frame *f = frame_of(p);
    f->complete = 1;
    f->want_continue = 0;
    f->keep_alive = http_should_keep_alive(p);
    f->req.body = f->body.len ? f->body.data : "";
    f->req.body_len = f->body.len;
    http_parser_pause(p, 1); /* stop here: what follows is the next request */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void eb_frame_init(struct eb_frame *f, size_t max_header, size_t max_body)
{
    memset(f, 0, sizeof *f);
    http_parser_init(&f->parser, HTTP_REQUEST);
    f->parser.data = f;
    f->max_header = max_header ? max_header : DEFAULT_MAX_HEADER;
    f->max_body = max_body ? max_body : DEFAULT_MAX_BODY;
    /* chunk framing may add bytes to the body; beyond twice the body limit it is abuse */
    f->max_raw = f->max_body > SIZE_MAX / 4 ? SIZE_MAX : f->max_header + 2 * f->max_body + 65536;
    eb_buf_init(&f->head, f->max_header + 16); /* stored head is never longer than the raw one */
    eb_buf_init(&f->body, f->max_body);
    f->status = EB_FRAME_MORE;
}

static enum eb_frame_status fail(struct eb_frame *f, int status)
{
    if (!f->error_status)
        f->error_status = status;
    f->status = EB_FRAME_ERROR;
    return f->status;
}

enum eb_frame_status eb_frame_feed(struct eb_frame *f, const char *data, size_t len, size_t *used)
{
    size_t off = 0;
    *used = 0;
    if (f->status != EB_FRAME_MORE)
        return f->status;
    while (off < len) {
        size_t n = len - off;
        int headers_were_done = f->headers_done;
        if (!headers_were_done) {
            /* feed no more than the header budget, so that the limit is exact */
            if (f->head_seen >= f->max_header)
                return fail(f, 431);
            if (n > f->max_header - f->head_seen)
                n = f->max_header - f->head_seen;
        }
        size_t got = http_parser_execute(&f->parser, &settings, data + off, n);
        enum http_errno e = HTTP_PARSER_ERRNO(&f->parser);
        if (f->line < L_BODY || (f->line > L_BODY && f->line < L_DONE)) {
            /* what the parser read of the head or of chunk framing; on an error, also the
             * byte it stopped at, so that a lenient acceptance never hides a framing error */
            size_t check = got + (e != HPE_OK && e != HPE_PAUSED && got < n);
            if (check_framing(f, (const unsigned char *)data + off, check))
                return fail(f, 400);
        }
        if (!headers_were_done)
            f->head_seen += got;
        f->raw_seen += got;
        off += got;
        *used = off;
        if (e == HPE_PAUSED)
            http_parser_pause(&f->parser, 0);
        else if (e != HPE_OK)
            return fail(f, e == HPE_HEADER_OVERFLOW ? 431 : 400);
        if (!headers_were_done && f->headers_done && !f->complete) {
            /* paused at the byte after the head's last CR, which the lenient parser did not
             * check: it must be the LF (it is consumed, and checked, with the body) */
            if (off >= len || data[off] != '\n')
                return fail(f, 400);
            return EB_FRAME_HEADERS;
        }
        if (f->complete) {
            f->status = EB_FRAME_REQUEST;
            return f->status;
        }
        if (f->raw_seen > f->max_raw)
            return fail(f, 413);
        if (got < n)
            return fail(f, 400); /* the parser stopped without a message: not HTTP we serve */
    }
    return EB_FRAME_MORE;
}

struct eb_http_request *eb_frame_request(struct eb_frame *f)
{
    return &f->req;
}

void eb_frame_next(struct eb_frame *f)
{
    if (f->head.cap > KEEP_HEAD_CAP)
        eb_buf_free(&f->head);
    else
        eb_buf_reset(&f->head);
    if (f->body.cap > KEEP_BODY_CAP)
        eb_buf_free(&f->body);
    else
        eb_buf_reset(&f->body);
    f->head_seen = 0;
    f->raw_seen = 0;
    f->url_len = 0;
    f->n_headers = 0;
    f->last = 0;
    f->started = 0;
    f->headers_done = 0;
    f->complete = 0;
    f->want_continue = 0;
    f->keep_alive = 0;
    f->is_head = 0;
    f->http10 = 0;
    f->upgrade = 0;
    f->error_status = 0;
    f->chunked = 0;
    f->declared = 0;
    f->line = L_START;
    f->chunk_left = 0;
    f->status = EB_FRAME_MORE;
    memset(&f->req, 0, sizeof f->req);
}

void eb_frame_drop_body(struct eb_frame *f)
{
    if (f->body.cap > KEEP_BODY_CAP)
        eb_buf_free(&f->body);
    else
        eb_buf_reset(&f->body);
    f->req.body = "";
    f->req.body_len = 0;
}

eb_rc eb_frame_reserve_body(struct eb_frame *f, size_t n)
{
    return n > f->body.len ? eb_buf_reserve(&f->body, n - f->body.len) : EB_OK;
}

void eb_frame_free(struct eb_frame *f)
{
    if (!f)
        return;
    eb_buf_free(&f->head);
    eb_buf_free(&f->body);
    free(f->offs);
    free(f->headers);
    f->offs = NULL;
    f->headers = NULL;
    f->n_headers = 0;
    f->cap_headers = 0;
}

size_t eb_frame_percent_decode(char *out, size_t outsz, const char *in, size_t n, int plus_is_space,
                               int *had_nul)
{
    size_t o = 0;
    if (had_nul)
        *had_nul = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        int hi, lo;
        if (c == '%' && i + 2 < n && (hi = eb_hex_digit((unsigned char)in[i + 1])) >= 0 &&
            (lo = eb_hex_digit((unsigned char)in[i + 2])) >= 0) {
            c = (char)(hi * 16 + lo);
            i += 2;
            if (c == '\0' && had_nul)
                *had_nul = 1;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (o + 1 < outsz)
            out[o++] = c;
    }
    if (outsz)
        out[o] = '\0';
    return o;
}

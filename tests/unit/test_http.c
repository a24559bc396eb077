/* Unit tests of transport/http.c (header lookup, query parameters, reason phrases) and of the
 * request framing in transport/frame.c (limits, chunked bodies, pipelining, url splitting). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "transport/frame.h"
#include "transport/http.h"

static void test_query_param(void)
{
    char out[64];
    CHECK(eb_http_query_param("wsdl", "wsdl", out, sizeof out) == 1);
    CHECK_STR(out, "");
    CHECK(eb_http_query_param("WSDL", "wsdl", out, sizeof out) == 0); /* names are exact */
    CHECK(eb_http_query_param("a=1&sign=ab%2Fcd&b=2", "sign", out, sizeof out) == 1);
    CHECK_STR(out, "ab/cd");
    CHECK(eb_http_query_param("a=1&b=2", "sign", out, sizeof out) == 0);
    CHECK_STR(out, "");
    CHECK(eb_http_query_param("", "a", out, sizeof out) == 0);
    CHECK(eb_http_query_param("x=hello+world%21", "x", out, sizeof out) == 1);
    CHECK_STR(out, "hello world!");
    CHECK(eb_http_query_param("x=%zz%4", "x", out, sizeof out) == 1); /* malformed: kept */
    CHECK_STR(out, "%zz%4");
    CHECK(eb_http_query_param("%73ign=1", "sign", out, sizeof out) == 1); /* encoded name */
    CHECK_STR(out, "1");
    CHECK(eb_http_query_param("signature=1&sign=2", "sign", out, sizeof out) == 1);
    CHECK_STR(out, "2");
    CHECK(eb_http_query_param("a=&b", "a", out, sizeof out) == 1);
    CHECK_STR(out, "");
    CHECK(eb_http_query_param("a=1&&b=3", "b", out, sizeof out) == 1);
    CHECK_STR(out, "3");
    CHECK(eb_http_query_param("a=first&a=second", "a", out, sizeof out) == 1);
    CHECK_STR(out, "first");
    char small[4];
    CHECK(eb_http_query_param("k=abcdef", "k", small, sizeof small) == 1); /* truncated */
    CHECK_STR(small, "abc");
    CHECK(eb_http_query_param("k=v", "k", NULL, 0) == 1); /* presence only */
    CHECK(eb_http_query_param(NULL, "k", out, sizeof out) == 0);
}

static void test_header_lookup(void)
{
    struct eb_http_header h[] = {
        {"Content-Type", "text/xml"}, {"X-Dup", "one"}, {"x-dup", "two"}, {"Empty", ""}};
    struct eb_http_request req = {.headers = h, .n_headers = 4};
    CHECK_STR(eb_http_header(&req, "content-type"), "text/xml");
    CHECK_STR(eb_http_header(&req, "CONTENT-TYPE"), "text/xml");
    CHECK_STR(eb_http_header(&req, "X-DUP"), "one"); /* the first one */
    CHECK_STR(eb_http_header(&req, "Empty"), "");
    CHECK(eb_http_header(&req, "Content") == NULL);
    CHECK(eb_http_header(&req, "Missing") == NULL);
    struct eb_http_request none = {0};
    CHECK(eb_http_header(&none, "Host") == NULL);
}

static void test_reason(void)
{
    CHECK_STR(eb_http_reason(200), "OK");
    CHECK_STR(eb_http_reason(413), "Payload Too Large");
    CHECK_STR(eb_http_reason(431), "Request Header Fields Too Large");
    CHECK_STR(eb_http_reason(408), "Request Timeout");
    CHECK_STR(eb_http_reason(405), "Method Not Allowed");
    CHECK_STR(eb_http_reason(503), "Service Unavailable");
    CHECK_STR(eb_http_reason(799), "Unknown");
}

static void test_percent_decode(void)
{
    char buf[32];
    int nul = 0;
    CHECK(eb_frame_percent_decode(buf, sizeof buf, "a%20b+c", 7, 0, &nul) == 5);
    CHECK_STR(buf, "a b+c");
    CHECK(nul == 0);
    eb_frame_percent_decode(buf, sizeof buf, "a%00b", 5, 0, &nul);
    CHECK(nul == 1);
    char inplace[] = "%2Fx%41%";
    eb_frame_percent_decode(inplace, sizeof inplace, inplace, strlen(inplace), 0, NULL);
    CHECK_STR(inplace, "/xA%");
}

/* Feeds text in pieces of step bytes, going on past EB_FRAME_HEADERS (which must come once,
 * before the body); returns the final status and the bytes consumed. */
static enum eb_frame_status feed_all(struct eb_frame *f, const char *text, size_t step,
                                     size_t *consumed)
{
    size_t len = strlen(text), off = 0;
    enum eb_frame_status st = EB_FRAME_MORE;
    int headers = 0;
    while (off < len && (st == EB_FRAME_MORE || st == EB_FRAME_HEADERS)) {
        size_t n = len - off < step ? len - off : step, used = 0;
        st = eb_frame_feed(f, text + off, n, &used);
        off += used;
        if (st == EB_FRAME_HEADERS && (headers++ || f->body.len))
            return EB_FRAME_ERROR;
        if (st == EB_FRAME_MORE && used != n)
            return EB_FRAME_ERROR;
    }
    *consumed = off;
    return st;
}

static void test_frame_basic(void)
{
    /* byte by byte and in one go give the same request */
    static const char text[] = "POST /push%2Fone?sign=ab&x=1#frag HTTP/1.1\r\n"
                               "Host: example\r\n"
                               "X-Pad:   spaced value  \r\n"
                               "X-Empty:\r\n"
                               "Content-Length: 5\r\n\r\n"
                               "hello";
    size_t steps[] = {1, 7, sizeof text};
    for (size_t i = 0; i < 3; i++) {
        struct eb_frame f;
        size_t used = 0;
        eb_frame_init(&f, 0, 0);
        CHECK(feed_all(&f, text, steps[i], &used) == EB_FRAME_REQUEST);
        CHECK(used == strlen(text));
        struct eb_http_request *r = eb_frame_request(&f);
        CHECK_STR(r->method, "POST");
        CHECK_STR(r->path, "/push/one");
        CHECK_STR(r->query, "sign=ab&x=1");
        CHECK(r->n_headers == 4);
        CHECK_STR(eb_http_header(r, "host"), "example");
        CHECK_STR(eb_http_header(r, "x-pad"), "spaced value");
        CHECK_STR(eb_http_header(r, "x-empty"), "");
        CHECK(r->body_len == 5);
        CHECK_STR(r->body, "hello");
        CHECK(f.keep_alive == 1);
        eb_frame_free(&f);
    }
}

static void test_frame_pipelining_and_next(void)
{
    static const char two[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b?q HTTP/1.1\r\nHost: "
                              "x\r\nConnection: close\r\n\r\n";
    struct eb_frame f;
    size_t used = 0;
    eb_frame_init(&f, 0, 0);
    CHECK(feed_all(&f, two, strlen(two), &used) == EB_FRAME_REQUEST);
    CHECK(used == strlen("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK_STR(eb_frame_request(&f)->path, "/a");
    CHECK_STR(eb_frame_request(&f)->body, "");
    size_t again = 99;
    CHECK(eb_frame_feed(&f, two + used, 3, &again) == EB_FRAME_REQUEST); /* sticky */
    CHECK(again == 0);
    eb_frame_next(&f);
    size_t used2 = 0;
    CHECK(feed_all(&f, two + used, strlen(two) - used, &used2) == EB_FRAME_REQUEST);
    CHECK(used + used2 == strlen(two));
    CHECK_STR(eb_frame_request(&f)->path, "/b");
    CHECK_STR(eb_frame_request(&f)->query, "q");
    CHECK(f.keep_alive == 0);
    eb_frame_free(&f);
}

static void test_frame_chunked(void)
{
    static const char text[] = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                               "Expect: 100-continue\r\n\r\n"
                               "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
    struct eb_frame f;
    size_t used;
    eb_frame_init(&f, 0, 0);
    const char *body_start = strstr(text, "\r\n\r\n") + 4;
    size_t head = (size_t)(body_start - text);
    CHECK(eb_frame_feed(&f, text, head, &used) == EB_FRAME_HEADERS);
    CHECK(used == head - 1); /* the head's last LF is read with the body */
    CHECK(f.want_continue == 1 && f.chunked == 1 && f.body.len == 0);
    CHECK(feed_all(&f, body_start - 1, 3, &used) == EB_FRAME_REQUEST);
    CHECK(f.want_continue == 0);
    CHECK_STR(eb_frame_request(&f)->body, "hello world");
    CHECK(eb_frame_request(&f)->n_headers == 3); /* the trailer is not a header */
    eb_frame_free(&f);

    /* a chunked body growing past max_body */
    eb_frame_init(&f, 0, 8);
    CHECK(feed_all(&f,
                   "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                   "chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n",
                   1000, &used) == EB_FRAME_ERROR);
    CHECK(f.error_status == 413);
    eb_frame_free(&f);
}

static void test_frame_limits(void)
{
    struct eb_frame f;
    size_t used;
    /* Content-Length over max_body: refused as soon as the headers are in */
    eb_frame_init(&f, 0, 100);
    CHECK(eb_frame_feed(&f, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 49,
                        &used) == EB_FRAME_ERROR);
    CHECK(f.error_status == 413);
    eb_frame_free(&f);
    eb_frame_init(&f, 0, 100);
    CHECK(feed_all(&f, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", 1000, &used) ==
          EB_FRAME_MORE);
    eb_frame_free(&f);

    /* the header limit is exact: a head of exactly max_header bytes passes, one more fails */
    static const char head[] = "GET / HTTP/1.1\r\nHost: x\r\nX-A: 0123456789\r\n\r\n";
    size_t n = strlen(head);
    eb_frame_init(&f, n, 0);
    CHECK(feed_all(&f, head, 5, &used) == EB_FRAME_REQUEST);
    eb_frame_free(&f);
    eb_frame_init(&f, n - 1, 0);
    CHECK(feed_all(&f, head, 5, &used) == EB_FRAME_ERROR);
    CHECK(f.error_status == 431);
    eb_frame_free(&f);

    /* the number of header fields is bounded too (100): 16 KiB of "a:" lines would otherwise
     * cost ten times their size in offsets and header records */
    char many[4096];
    for (int k = 100; k <= 101; k++) {
        size_t o = (size_t)snprintf(many, sizeof many, "GET / HTTP/1.1\r\nHost: x\r\n");
        for (int i = 1; i < k; i++)
            o += (size_t)snprintf(many + o, sizeof many - o, "a:\r\n");
        snprintf(many + o, sizeof many - o, "\r\n");
        eb_frame_init(&f, 0, 0);
        enum eb_frame_status st = feed_all(&f, many, 1000, &used);
        CHECK(k == 100 ? st == EB_FRAME_REQUEST : st == EB_FRAME_ERROR && f.error_status == 431);
        CHECK(f.cap_headers <= 128);
        eb_frame_free(&f);
    }

    /* malformed requests */
    const char *bad[] = {
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET /a%00b HTTP/1.1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb_frame_init(&f, 0, 0);
        CHECK(feed_all(&f, bad[i], 1000, &used) == EB_FRAME_ERROR);
        CHECK(f.error_status == 400);
        eb_frame_free(&f);
    }
}

/* RFC 9112: line ends are CRLF (a bare LF or CR is refused, 2.2), no line folding (5.2), one
 * Host in every HTTP/1.1 request (3.2), strict chunk framing (7.1): each of these is a 400,
 * so that a proxy in front that reads such a request differently can never smuggle a second
 * one past ehrbridge. */
static void test_frame_strict(void)
{
    struct eb_frame f;
    size_t used;
    const char *bad[] = {
        /* obs-fold: a framing header folded onto the next line */
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\t5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n ,chunked\r\n\r\n0\r\n\r\n",
        /* obs-fold of any header */
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
        /* bare LF: everywhere, in one header line, ending the head, in the request line */
        "GET / HTTP/1.1\nHost: x\n\n",
        "GET / HTTP/1.1\r\nHost: x\nX-A: y\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\n",
        "GET / HTTP/1.1\nHost: x\r\n\r\n",
        "\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        /* a bare CR */
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\rX",
        /* HTTP/1.1 without Host, or with two */
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nX-Host: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
        /* framing headers that two readers could take differently */
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5 5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5,5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
        "0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        /* chunk framing: the CRLF after the data, the chunk size line, the trailers */
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\rXhello\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
        "chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nT: "
        "x\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nT: "
        "x\r\n y\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\n",
    };
    size_t steps[] = {1, 1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (size_t k = 0; k < 2; k++) {
            eb_frame_init(&f, 0, 0);
            enum eb_frame_status st = feed_all(&f, bad[i], steps[k], &used);
            if (st != EB_FRAME_ERROR || f.error_status != 400)
                fprintf(stderr, "accepted (step %zu): %s\n", steps[k], bad[i]);
            CHECK(st == EB_FRAME_ERROR);
            CHECK(f.error_status == 400);
            eb_frame_free(&f);
        }
    }
    const char *good[] = {
        "GET / HTTP/1.0\r\n\r\n",                /* HTTP/1.0 needs no Host */
        "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", /* an empty line first is ignored */
        "GET / HTTP/1.1\r\nHost:\r\n\r\n",       /* empty Host: allowed */
        "GET / HTTP/1.1\r\nX-A: a b\tc\r\nHost: x\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;a=b\r\nhello\r\nA\r\n0123456789\r\n0\r\nT: x\r\nU: y\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        for (size_t k = 0; k < 2; k++) {
            eb_frame_init(&f, 0, 0);
            enum eb_frame_status st = feed_all(&f, good[i], steps[k], &used);
            if (st != EB_FRAME_REQUEST || used != strlen(good[i]))
                fprintf(stderr, "refused (step %zu): %s\n", steps[k], good[i]);
            CHECK(st == EB_FRAME_REQUEST);
            CHECK(used == strlen(good[i]));
            eb_frame_free(&f);
        }
    }
    /* a NUL in a header value (strlen would end the text above at it) */
    static const char nul[] = "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";
    eb_frame_init(&f, 0, 0);
    CHECK(eb_frame_feed(&f, nul, sizeof nul - 1, &used) == EB_FRAME_ERROR);
    CHECK(f.error_status == 400);
    eb_frame_free(&f);

    /* pipelined: a strict first request does not taint the second one's check */
    static const char two[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\nHost: x\n\n";
    eb_frame_init(&f, 0, 0);
    CHECK(feed_all(&f, two, 1000, &used) == EB_FRAME_REQUEST);
    eb_frame_next(&f);
    CHECK(feed_all(&f, two + used, 1000, &used) == EB_FRAME_ERROR);
    CHECK(f.error_status == 400);
    eb_frame_free(&f);
}

/* As the event loop feeds: what arrives is appended to what was not consumed, and the rest is
 * fed again after EB_FRAME_HEADERS. */
static void test_frame_as_fed_by_the_loop(void)
{
    const char *parts[] = {"POST /p HTTP/1.1\r\nHost: x\r\nCont", "ent-Length: 5\r\n\r\nab", "cde"};
    struct eb_frame f;
    char in[256];
    size_t inlen = 0;
    enum eb_frame_status st = EB_FRAME_MORE;
    int headers = 0;
    eb_frame_init(&f, 0, 0);
    for (size_t i = 0; i < 3; i++) {
        memcpy(in + inlen, parts[i], strlen(parts[i]));
        inlen += strlen(parts[i]);
        do {
            size_t used = 0;
            st = eb_frame_feed(&f, in, inlen, &used);
            memmove(in, in + used, inlen - used);
            inlen -= used;
            headers += st == EB_FRAME_HEADERS;
        } while (st == EB_FRAME_HEADERS);
    }
    CHECK(headers == 1);
    CHECK(st == EB_FRAME_REQUEST && inlen == 0);
    CHECK_STR(eb_frame_request(&f)->body, "abcde");
    eb_frame_free(&f);
}

static void test_frame_versions_and_forms(void)
{
    struct eb_frame f;
    size_t used;
    eb_frame_init(&f, 0, 0);
    CHECK(feed_all(&f, "GET / HTTP/1.0\r\n\r\n", 100, &used) == EB_FRAME_REQUEST);
    CHECK(f.keep_alive == 0 && f.http10 == 1);
    eb_frame_free(&f);
    eb_frame_init(&f, 0, 0);
    CHECK(feed_all(&f, "HEAD /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 100, &used) ==
          EB_FRAME_REQUEST);
    CHECK(f.keep_alive == 1 && f.is_head == 1);
    CHECK_STR(eb_frame_request(&f)->method, "HEAD");
    eb_frame_free(&f);
    eb_frame_init(&f, 0, 0);
    CHECK(feed_all(&f, "GET http://host:8080/p/q?wsdl HTTP/1.1\r\nHost: host:8080\r\n\r\n", 100,
                   &used) == EB_FRAME_REQUEST);
    CHECK_STR(eb_frame_request(&f)->path, "/p/q");
    CHECK_STR(eb_frame_request(&f)->query, "wsdl");
    eb_frame_free(&f);
    eb_frame_init(&f, 0, 0);
    CHECK(feed_all(&f, "DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n", 100, &used) == EB_FRAME_REQUEST);
    CHECK_STR(eb_frame_request(&f)->method, "DELETE");
    eb_frame_free(&f);
    eb_frame_init(&f, 0, 0);
    CHECK(feed_all(&f, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
                   100, &used) == EB_FRAME_REQUEST);
    CHECK(f.upgrade == 1);
    eb_frame_free(&f);
}

int main(void)
{
    test_query_param();
    test_header_lookup();
    test_reason();
    test_percent_decode();
    test_frame_basic();
    test_frame_pipelining_and_next();
    test_frame_chunked();
    test_frame_limits();
    test_frame_versions_and_forms();
    test_frame_strict();
    test_frame_as_fed_by_the_loop();
    return check_report("test_http");
}

/* Peak memory of ingest: what one request costs on top of its body, measured with a counting
 * allocator (malloc, calloc, realloc, free and the aligned forms of the whole process, libxml2
 * and jansson included, go through glibc's own __libc_* functions and count the usable size of
 * each block). Each flood is run the way the service runs it (REST: eb_json_load,
 * eb_json_push_xml, eb_ingest; SOAP: eb_ingest); each must stay below PEAK_FACTOR x its body
 * size + PEAK_FLOOR, and the floods of nodes must be refused; the figures are printed. Under AddressSanitizer, which replaces
 * the allocator itself, the floods are still checked to be refused, and nothing is measured. */
#include <malloc.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ingest/ingest.h"
#include "ingest/json.h"

/* The bound this test asserts: a request's peak memory in ingest, its body included, is at most
 * PEAK_FACTOR times its body size plus PEAK_FLOOR. The floor is the tree of the budget of
 * nodes (200,000 elements, attributes, texts: about 30 MiB) that a small body of dense markup can
 * fill; the factor is the copies of the body (libxml2's input, the text of a node, the canonical
 * output, in which one '<' of CDATA or of a JSON string becomes "&lt;"). */
#define PEAK_FACTOR 20
#define PEAK_FLOOR  ((long long)48 << 20)

#define BODY_SIZE ((size_t)8 << 20)

#define JSON_HEAD "{\"id\":\"j\",\"event\":\"pushCandidate\",\"data\":{\"applicationId\":1,\"x\":"
#define XML_HEAD  "<pushCandidate><id>x</id><data><applicationId>1</applicationId>"
#define XML_TAIL  "</data></pushCandidate>"

#if defined(__SANITIZE_ADDRESS__)
#define MEASURED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEASURED 0
#endif
#endif
#ifndef MEASURED
#define MEASURED 1
#endif

#if MEASURED
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_llong in_use, high; /* bytes allocated now, most since peak_reset() */

static void count(void *p, long long sign)
{
    if (!p)
        return;
    long long now = atomic_fetch_add(&in_use, sign * (long long)malloc_usable_size(p));
    now += sign * (long long)malloc_usable_size(p);
    long long h = atomic_load(&high);
    while (now > h && !atomic_compare_exchange_weak(&high, &h, now))
        ;
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    count(p, 1);
    return p;
}

void *calloc(size_t a, size_t b)
{
    void *p = __libc_calloc(a, b);
    count(p, 1);
    return p;
}

void *realloc(void *old, size_t n)
{
    long long before = old ? (long long)malloc_usable_size(old) : 0;
    void *p = __libc_realloc(old, n);
    if (p || !n) {
        atomic_fetch_sub(&in_use, before);
        count(p, 1);
    }
    return p;
}

void free(void *p)
{
    count(p, -1);
    __libc_free(p);
}

void *memalign(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    count(p, 1);
    return p;
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = memalign(align, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

/* Starts a measurement: the high-water mark is what is allocated now. */
static long long peak_reset(void)
{
    long long now = atomic_load(&in_use);
    atomic_store(&high, now);
    return now;
}

/* Most bytes allocated above base since peak_reset(). */
static long long peak_since(long long base)
{
    return atomic_load(&high) - base;
}
#else
static long long peak_reset(void)
{
    return 0;
}

static long long peak_since(long long base)
{
    return base;
}
#endif

/* A body: head, then unit n times (0: as often as fits in BODY_SIZE), then tail. */
static char *flood(const char *head, const char *unit, size_t n, const char *tail, size_t *len)
{
    size_t h = strlen(head), u = strlen(unit), t = strlen(tail);
    if (!n)
        n = (BODY_SIZE - h - t) / u;
    char *b = malloc(h + n * u + t + 1), *w = b;
    if (!b)
        abort();
    memcpy(w, head, h);
    w += h;
    for (size_t i = 0; i < n; i++, w += u)
        memcpy(w, unit, u);
    memcpy(w, tail, t + 1);
    *len = h + n * u + t;
    return b;
}

/* The service's REST path over body: JSON -> XML -> ingest. */
static eb_rc rest_path(const char *body, size_t len, struct eb_err *err)
{
    struct eb_ingest_result r;
    struct eb_buf xml;
    eb_rc rc;
    eb_buf_init(&xml, eb_ingest_default_limits.max_output);
    eb_ingest_result_init(&r, eb_ingest_default_limits.max_output);
    json_t *root = eb_json_load(body, len, "request body", NULL, err);
    rc = root ? eb_json_push_xml(root, &xml, err) : err->rc;
    json_decref(root);
    if (!rc)
        rc = eb_ingest(xml.data, xml.len, NULL, &r, err);
    eb_buf_free(&xml);
    eb_ingest_result_free(&r);
    return rc;
}

/* The service's SOAP path over body. */
static eb_rc soap_path(const char *body, size_t len, struct eb_err *err)
{
    struct eb_ingest_result r;
    eb_ingest_result_init(&r, eb_ingest_default_limits.max_output);
    eb_rc rc = eb_ingest(body, len, NULL, &r, err);
    eb_ingest_result_free(&r);
    return rc;
}

/* Runs one flood through path, prints its peak, checks it is refused within the bound. */
static void measure(const char *name, char *body, size_t len, int rest, eb_rc want)
{
    struct eb_err e = {0};
    long long base = peak_reset();
    eb_rc rc = rest ? rest_path(body, len, &e) : soap_path(body, len, &e);
    long long peak = peak_since(base) + (long long)len; /* the body is the request's too */
    if (MEASURED)
        printf("%-44s %5.1f MiB body: %-14s peak %6.1f MiB = %4.1f x body\n", name,
               (double)len / (1 << 20), eb_strerror(rc), (double)peak / (1 << 20),
               (double)peak / (double)len);
    else
        printf("%-44s %s (not measured under AddressSanitizer)\n", name, eb_strerror(rc));
    CHECK(rc == want);
    if (rc != want)
        fprintf(stderr, "%s: %s\n", name, e.msg);
    if (MEASURED)
        CHECK(peak <= (long long)PEAK_FACTOR * (long long)len + PEAK_FLOOR);
    free(body);
}

int main(void)
{
    size_t len;
    char *b;
    eb_ingest_global_init();
    /* warm up: the thread's parser context and libxml2's tables exist before measuring */
    soap_path("<pushCandidate><id>w</id></pushCandidate>", 41, &(struct eb_err){0});

    /* 8 MiB floods */
    b = flood(JSON_HEAD "[", "{},", 0, "{}]}}", &len);
    measure("REST {\"x\":[{},{},...]}", b, len, 1, EB_ERR_TOO_LARGE);
    b = flood(JSON_HEAD "[", "[],", 0, "[]]}}", &len);
    measure("REST {\"x\":[[],[],...]}", b, len, 1, EB_ERR_TOO_LARGE);
    b = flood(JSON_HEAD "[", "1,", 0, "1]}}", &len);
    measure("REST {\"x\":[1,1,...]}", b, len, 1, EB_ERR_TOO_LARGE);
    b = flood(JSON_HEAD "{", "\"a\":\"\",", 0, "\"a\":\"\"}}}", &len);
    measure("REST {\"x\":{\"a\":\"\",...}}", b, len, 1, EB_ERR_TOO_LARGE);
    char unit[250 * 8 + 16], *w = unit;
    w += sprintf(w, "<e");
    for (int i = 0; i < 250; i++)
        w += sprintf(w, " a%d=\"\"", i);
    sprintf(w, "/>");
    b = flood(XML_HEAD, unit, 0, XML_TAIL, &len);
    measure("SOAP elements with 250 attributes each", b, len, 0, EB_ERR_TOO_LARGE);
    b = flood(XML_HEAD, "<a/>", 0, XML_TAIL, &len);
    measure("SOAP <a/><a/>...", b, len, 0, EB_ERR_TOO_LARGE);
    b = flood(XML_HEAD, "<a>x</a>", 0, XML_TAIL, &len);
    measure("SOAP <a>x</a><a>x</a>...", b, len, 0, EB_ERR_TOO_LARGE);

    b = flood(XML_HEAD, "<!---->", 0, XML_TAIL, &len);
    measure("SOAP <!----><!---->...", b, len, 0, EB_ERR_TOO_LARGE);
    b = flood(XML_HEAD, "<?a?>", 0, XML_TAIL, &len);
    measure("SOAP <?a?><?a?>...", b, len, 0, EB_ERR_TOO_LARGE);
    b = flood(XML_HEAD "<name><![CDATA[", "<", 0, "]]></name>" XML_TAIL, &len);
    measure("SOAP <name><![CDATA[<<<...]]></name>", b, len, 0, EB_OK);
    b = flood(XML_HEAD "<name>", "&", 0, "</name>" XML_TAIL, &len);
    measure("SOAP <name>&&&...</name> (the '&' repair)", b, len, 0, EB_ERR_INVALID);
    b = flood(XML_HEAD "<name>", "&", 65000, "</name>" XML_TAIL, &len);
    measure("SOAP <name>&&&...</name> x 65,000 (repaired)", b, len, 0, EB_OK);
    b = flood(XML_HEAD "<name>", "\r", 0, "</name>" XML_TAIL, &len);
    measure("SOAP <name>CR CR CR...</name>", b, len, 0, EB_OK);
    b = flood(JSON_HEAD "\"", "<", 0, "\"}}", &len);
    measure("REST {\"x\":\"<<<...\"}", b, len, 1, EB_OK);
    b = flood(JSON_HEAD "\"", "\\\"", 0, "\"}}", &len);
    measure("REST {\"x\":\"\\\"\\\"...\"}", b, len, 1, EB_OK);

    /* the most a smaller body can hold within the budgets */
    b = flood(JSON_HEAD "[", "{},", EB_JSON_MAX_VALUES - 1000, "{}]}}", &len);
    measure("REST {} x (budget - 1000)", b, len, 1, EB_OK);
    b = flood(XML_HEAD, "<a>x</a>", 99000, XML_TAIL, &len);
    measure("SOAP <a>x</a> x 99,000", b, len, 0, EB_OK);
    return check_report("test_ingest_memory");
}

/* The direct path (ingest/direct.c) against the canonical path: every fixture and crafted edge
 * cases go through both (oneparse_diff.h) and must give the same canonical document, push log
 * payload, strings, warnings and struct eb_push (the bindings over the body itself, as the
 * server reads a typed request, against the bindings over the canonical document), or the same
 * refusal, or the direct path must decline. The typed requests WSDL-driven clients send
 * must be read directly. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "oneparse_diff.h"

/* A typed SOAP 1.1 request as WSDL-driven clients write it, in contract order. */
#define HEAD                                                                                       \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                 \
    "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "                     \
    "xmlns:p=\"urn:ehrbridge:moka:v1\">\n<soap:Header/>\n<soap:Body>\n  <p:pushCandidate>\n"
#define PUSH                                                                                       \
    "    <p:id>op-1</p:id>\n    <p:event>pushCandidate</p:event>\n"                                \
    "    <p:triggeredAt>1733500800</p:triggeredAt>\n    <p:data>\n"                                \
    "      <p:applicationId>12798</p:applicationId>\n"                                             \
    "      <p:candidateId>41000000000017</p:candidateId>\n"                                        \
    "      <p:name>李娜 (Li Na)</p:name>\n      <p:phone>+86-139-0000-0417</p:phone>\n"          \
    "      <p:birthYear>1994</p:birthYear>\n      <p:archived>false</p:archived>\n"                \
    "      <p:location>广东省 深圳市</p:location>\n"                                         \
    "      <p:educationInfo>\n        <p:element>\n"                                               \
    "          <p:startDate>2008-09</p:startDate>\n          <p:school>武汉大学</p:school>\n"  \
    "        </p:element>\n      </p:educationInfo>\n"                                             \
    "      <p:experienceInfo>\n        <p:element>\n"                                              \
    "          <p:now>true</p:now>\n"                                                              \
    "          <p:company>Contoso &amp; Partners &lt;Asia&gt; &quot;A&quot; "                      \
    "&apos;B&apos;</p:company>\n"                                                                  \
    "        </p:element>\n"                                                                       \
    "        <p:element>\n          <p:title>Data Engineer</p:title>\n"                            \
    "        </p:element>\n      </p:experienceInfo>\n"                                            \
    "      <p:job>\n        <p:title>后端开发工程师</p:title>\n      </p:job>\n"            \
    "      <p:offer>\n        <p:salaryNumber>28500.00</p:salaryNumber>\n      </p:offer>\n"       \
    "    </p:data>\n"
#define TAIL "  </p:pushCandidate>\n</soap:Body>\n</soap:Envelope>\n"
#define BASE HEAD PUSH TAIL

static int same_or_declined, read_directly;

/* Runs body through both paths; expect: 1 must be read directly, 0 must be declined, -1 either. */
static void diff(const char *name, const char *body, size_t len, int expect)
{
    char why[300];
    enum oneparse_verdict v = oneparse_diff(body, len, why, sizeof why);
    if (v == ONEPARSE_DIFFERENT)
        fprintf(stderr, "%s: the paths differ: %s\n", name, why);
    CHECK(v != ONEPARSE_DIFFERENT);
    if (expect >= 0 && (v == ONEPARSE_SAME) != expect)
        fprintf(stderr, "%s: expected %s\n", name, expect ? "read directly" : "declined");
    if (expect >= 0)
        CHECK((v == ONEPARSE_SAME) == expect);
    same_or_declined++;
    read_directly += v == ONEPARSE_SAME;
}

/* BASE with the first occurrence of from replaced by to. */
static void variant(const char *name, const char *from, const char *to, int expect)
{
    const char *base = BASE, *at = strstr(base, from);
    CHECK(at != NULL);
    if (!at)
        return;
    size_t n = strlen(base) - strlen(from) + strlen(to);
    char *body = malloc(n + 1);
    size_t pre = (size_t)(at - base);
    memcpy(body, base, pre);
    memcpy(body + pre, to, strlen(to));
    strcpy(body + pre + strlen(to), at + strlen(from));
    diff(name, body, n, expect);
    free(body);
}

/* Every .xml file of dir/subdir (expect as for diff). */
static void diff_dir(const char *dir, const char *subdir, int expect)
{
    char path[2048], sub[1024];
    static char buf[1 << 20];
    CHECK(dir != NULL);
    if (!dir)
        return;
    snprintf(sub, sizeof sub, "%s/%s", dir, subdir);
    DIR *d = opendir(sub);
    CHECK(d != NULL);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".xml"))
            continue;
        snprintf(path, sizeof path, "%s/%s", sub, e->d_name);
        FILE *f = fopen(path, "rb");
        CHECK(f != NULL);
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        diff(e->d_name, buf, len, expect);
    }
    closedir(d);
}

static void test_fixtures(void)
{
    diff_dir(getenv("EB_FIXTURES"), "shapes", -1);
    diff_dir(getenv("EB_FIXTURES"), "integration", -1);
    /* the fuzz seeds: requests as zeep and node-soap send them from the served WSDL, the
     * benchmark's body, a typed SOAP 1.1 and 1.2 request: every one read directly */
    diff_dir(getenv("EB_SOURCE_DIR"), "tests/fuzz/corpus/oneparse", 1);
}

static void test_typed(void)
{
    diff("base", BASE, strlen(BASE), 1);
    variant("soap 1.2", "http://schemas.xmlsoap.org/soap/envelope/",
            "http://www.w3.org/2003/05/soap-envelope", 1);
    variant("no declaration", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", "", 1);
    variant("declaration without encoding", " encoding=\"UTF-8\"", "", 1);
    variant("declaration single quotes", "version=\"1.0\"", "version='1.0'", 1);
    variant("standalone", "encoding=\"UTF-8\"", "encoding=\"utf-8\" standalone=\"yes\"", 1);
    variant("no header", "<soap:Header/>\n", "", 1);
    variant("header with an end tag", "<soap:Header/>", "<soap:Header>\n</soap:Header >", 1);
    variant("default namespace on the operation", "<p:pushCandidate>",
            "<pushCandidate xmlns=\"urn:ehrbridge:moka:v1\">", -1);
    variant("namespace on the operation", "<p:pushCandidate>",
            "<q:pushCandidate xmlns:q=\"urn:ehrbridge:moka:v1\">", -1);
    variant("no space between elements", "</p:id>\n    <p:event>", "</p:id><p:event>", 1);
    variant("a tab and CRLF between elements", "</p:id>\n    <p:event>", "</p:id>\r\n\t<p:event>",
            1);
}

static void test_declined(void)
{
    /* values: whitespace, empty, nil, types */
    variant("space before a value", "<p:id>op-1", "<p:id> op-1", 0);
    variant("newline after a value", "op-1</p:id>", "op-1\n</p:id>", 0);
    variant("empty string", "<p:phone>+86-139-0000-0417</p:phone>", "<p:phone></p:phone>", 0);
    variant("empty element", "<p:phone>+86-139-0000-0417</p:phone>", "<p:phone/>", 0);
    variant("empty number", "<p:birthYear>1994</p:birthYear>", "<p:birthYear/>", 0);
    variant("nil", "<p:phone>+86-139-0000-0417</p:phone>",
            "<p:phone xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:nil=\"true\"/>",
            0);
    variant("malformed number", ">1994<", ">199x<", 0);
    variant("number with a plus", ">1994<", ">+1994<", 0);
    variant("number with a zero", ">1994<", ">01994<", 0);
    variant("negative zero", ">1994<", ">-0<", 0);
    variant("number too large", ">41000000000017<", ">9223372036854775808<", 0);
    variant("largest number", ">41000000000017<", ">9223372036854775807<", 1);
    variant("negative number", ">1994<", ">-5<", 1);
    variant("smallest number", ">41000000000017<", ">-9223372036854775808<", 1);
    variant("boolean 1", ">false<", ">1<", 0);
    variant("boolean upper", ">false<", ">FALSE<", 0);
    variant("malformed decimal", ">28500.00<", ">28,500<", 0);
    variant("decimal with a sign", ">28500.00<", ">-.5<", 1);
    variant("markup in a string", "<p:school>武汉大学</p:school>",
            "<p:school>武汉<p:b>大学</p:b></p:school>", 0);
    variant("empty object", "<p:title>后端开发工程师</p:title>", "", 0);
    variant("empty array",
            "<p:element>\n          <p:startDate>2008-09</p:startDate>\n"
            "          <p:school>武汉大学</p:school>\n        </p:element>\n",
            "", 0);
    variant("text in an object", "<p:job>\n", "<p:job>x\n", 0);
    variant("source quirk", "<p:location>广东省 深圳市</p:location>", "<p:location/>广东省", 0);
    /* names, order, namespaces */
    variant("unknown element", "<p:location>", "<p:hobby>chess</p:hobby><p:location>", 0);
    variant("unknown element in an array item", "<p:school>", "<p:club>chess</p:club><p:school>",
            0);
    variant("out of order", "      <p:birthYear>1994</p:birthYear>\n", "", -1);
    variant("repeated field", "<p:birthYear>1994</p:birthYear>",
            "<p:birthYear>1994</p:birthYear><p:birthYear>1995</p:birthYear>", 0);
    variant("out of order 2", "<p:name>李娜 (Li Na)</p:name>",
            "<p:birthYear>1990</p:birthYear><p:name>李娜 (Li Na)</p:name>", 0);
    variant("lower-case name", "<p:birthYear>1994</p:birthYear>", "<p:birthyear>1994</p:birthyear>",
            0);
    variant("snake case", "<p:applicationId>12798</p:applicationId>",
            "<p:application_id>12798</p:application_id>", 0);
    variant("other namespace", "xmlns:p=\"urn:ehrbridge:moka:v1\"", "xmlns:p=\"urn:other\"", 0);
    variant("no namespace", "<p:pushCandidate>", "<p:pushCandidate xmlns:p=\"\">", 0);
    variant("unqualified children", "<p:id>op-1</p:id>", "<id>op-1</id>", 0);
    variant("undeclared prefix", "<p:id>op-1</p:id>", "<x:id>op-1</x:id>", 0);
    variant("header prefix used after it", "<soap:Header/>",
            "<soap:Header xmlns:h=\"urn:ehrbridge:moka:v1\"></soap:Header>", 1);
    variant("header prefix out of scope", "<soap:Header/>\n<soap:Body>\n  <p:pushCandidate>",
            "<soap:Header xmlns:h=\"urn:ehrbridge:moka:v1\"></soap:Header>\n<soap:Body>\n  "
            "<h:pushCandidate>",
            0);
    variant("namespace declared twice", "<p:pushCandidate>",
            "<p:pushCandidate xmlns:q=\"a\" xmlns:q=\"b\">", 0);
    variant("namespace declared below the operation", "<p:data>",
            "<p:data xmlns:q=\"urn:ehrbridge:moka:v1\">", 0);
    variant("an attribute", "<p:data>", "<p:data id=\"x\">", 0);
    variant("xsi:type", "<p:birthYear>", "<p:birthYear xsi:type=\"xsd:long\">", 0);
    variant("header with content", "<soap:Header/>",
            "<soap:Header><p:token>x</p:token></soap:Header>", 0);
    variant("a second body child", "</p:pushCandidate>", "</p:pushCandidate><p:other>x</p:other>",
            0);
    variant("an element after the body", "</soap:Body>", "</soap:Body><soap:Trailer/>", 0);
    variant("operation name case", "<p:pushCandidate>", "<p:PushCandidate>", 0);
    variant("wrapped operation", "<p:pushCandidate>\n", "<p:pushCandidate><p:arg0>\n", 0);
    variant("not an envelope", "soap:Envelope xmlns", "soap:Envelop xmlns", 0);
    /* markup the direct path leaves to libxml2 */
    variant("comment", "<p:event>", "<!-- c --><p:event>", 0);
    variant("comment in a value", "op-1</p:id>", "op-1<!-- c --></p:id>", 0);
    variant("CDATA", ">op-1<", "><![CDATA[op-1]]><", 0);
    variant("processing instruction", "<soap:Body>", "<soap:Body><?pi x?>", 0);
    variant("DOCTYPE", "<soap:Envelope", "<!DOCTYPE x [<!ENTITY e \"v\">]><soap:Envelope", 0);
    variant("entity", ">op-1<", ">&e;<", 0);
    variant("character reference", ">op-1<", ">op&#45;1<", 0);
    variant("raw ampersand", ">op-1<", ">op&1<", 0);
    variant("]]> in text", ">op-1<", ">op]]>1<", 0);
    variant("carriage return in a value", ">op-1<", ">op\r1<", 0);
    variant("control character", ">op-1<",
            ">op\x01"
            "1<",
            0);
    variant("invalid UTF-8", ">op-1<", ">op\xC3(1<", 0);
    variant("overlong UTF-8", ">op-1<",
            ">op\xC0\xAF"
            "1<",
            0);
    variant("surrogate", ">op-1<",
            ">op\xED\xA0\x80"
            "1<",
            0);
    variant("U+FFFE", ">op-1<",
            ">op\xEF\xBF\xBE"
            "1<",
            0);
    variant("four-byte UTF-8", ">op-1<",
            ">op\xF0\x9F\x98\x80"
            "1<",
            1);
    /* the prolog: encodings, BOMs, margins */
    variant("BOM", "<?xml", "\xEF\xBB\xBF<?xml", 0);
    variant("Latin-1", "UTF-8", "ISO-8859-1", 0);
    variant("UTF-16 declared", "UTF-8", "UTF-16", 0);
    variant("version 1.1", "1.0", "1.1", 0);
    variant("margin", "<?xml", "  <?xml", 0);
    variant("margin without declaration", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "  ", 0);
    variant("trailing text", "</soap:Envelope>\n", "</soap:Envelope>\nx", 0);
    variant("trailing comment", "</soap:Envelope>\n", "</soap:Envelope><!-- c -->", 0);
    variant("truncated", "</soap:Envelope>\n", "</soap:Envelope", 0);
    variant("mismatched end tag", "</p:id>", "</p:idx>", 0);

    /* UTF-16: the whole base re-encoded (ASCII and the BMP) with a BOM */
    const char *base = BASE;
    size_t n = strlen(base), o = 2;
    unsigned char *u = malloc(2 * n + 2);
    u[0] = 0xFF;
    u[1] = 0xFE;
    for (size_t i = 0; i < n;) {
        unsigned c = (unsigned char)base[i];
        unsigned cp = c;
        if (c < 0x80)
            i++;
        else if (c < 0xE0)
            cp = (c & 0x1F) << 6 | (base[i + 1] & 0x3F), i += 2;
        else
            cp = (c & 0x0F) << 12 | (base[i + 1] & 0x3F) << 6 | (base[i + 2] & 0x3F), i += 3;
        u[o++] = (unsigned char)(cp & 0xFF);
        u[o++] = (unsigned char)(cp >> 8);
    }
    diff("UTF-16", (const char *)u, o, 0);
    free(u);
}

/* The limits: a request the canonical path refuses for its node count is never read directly. */
static void test_limits(void)
{
    const char *item = "<p:element><p:title>t</p:title></p:element>";
    size_t items = 70000, n = strlen(HEAD) + strlen(TAIL) + 200 + items * strlen(item);
    char *body = malloc(n);
    size_t o = (size_t)snprintf(body, n, "%s<p:id>big</p:id><p:data><p:experienceInfo>", HEAD);
    for (size_t i = 0; i < items; i++) {
        memcpy(body + o, item, strlen(item));
        o += strlen(item);
    }
    o += (size_t)snprintf(body + o, n - o, "</p:experienceInfo></p:data>%s", TAIL);
    diff("70,000 items", body, o, 0);
    free(body);
}

static void answer_of(struct eb_bind *b, const char *body, char *out, size_t n)
{
    struct eb_ingest_result r;
    struct eb_err err = {0};
    struct eb_buf ans;
    struct eb_push p;
    struct eb_arena *arena = eb_arena_new(1 << 20);
    eb_buf_init(&ans, 1 << 20);
    out[0] = '\0';
    eb_ingest_result_init(&r, eb_ingest_default_limits.max_output);
    if (eb_ingest(body, strlen(body), NULL, &r, &err) == EB_OK &&
        eb_bind_read(b, eb_ingest_bind_text(&r, body, strlen(body))) == EB_OK &&
        eb_bind_push(b, arena, r.application_id != NULL, &p, &err) == EB_OK &&
        eb_bind_answer(b, r.soap, 1, "read", &ans) == EB_OK)
        snprintf(out, n, "%s|%s|%s", r.direct ? "direct" : "canonical", p.id ? p.id : "",
                 eb_buf_cstr(&ans));
    eb_bind_end(b);
    eb_ingest_result_free(&r);
    eb_buf_free(&ans);
    eb_arena_free(arena);
}

/* One gSOAP context reused for many requests (as a worker does), through failures and both
 * SOAP versions: each request is read and answered as on a fresh context. */
static void test_context_reuse(void)
{
    static const char *const broken[] = {
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>",
        "<x/>",
        "<?xml version=\"1.0\"?>",
    };
    char soap12[4096], fresh[8192], reused[8192];
    snprintf(soap12, sizeof soap12, "%s", BASE);
    char *ns = strstr(soap12, "http://schemas.xmlsoap.org/soap/envelope/");
    memmove(ns + strlen("http://www.w3.org/2003/05/soap-envelope"),
            ns + strlen("http://schemas.xmlsoap.org/soap/envelope/"),
            strlen(ns) - strlen("http://schemas.xmlsoap.org/soap/envelope/") + 1);
    memcpy(ns, "http://www.w3.org/2003/05/soap-envelope",
           strlen("http://www.w3.org/2003/05/soap-envelope"));
    struct eb_bind *b = eb_bind_new();
    for (int round = 0; round < 3; round++) {
        for (int v = 0; v < 2; v++) {
            const char *body = v ? soap12 : BASE;
            struct eb_bind *one = eb_bind_new();
            answer_of(one, body, fresh, sizeof fresh);
            eb_bind_free(one);
            /* a request gSOAP cannot read first, on the reused context */
            CHECK(eb_bind_read(b, broken[round]) != EB_OK);
            eb_bind_end(b);
            answer_of(b, body, reused, sizeof reused);
            CHECK(!strncmp(fresh, "direct|op-1|", 12));
            CHECK_STR(reused, fresh);
            CHECK(strstr(fresh, v ? "http://www.w3.org/2003/05/soap-envelope"
                                  : "http://schemas.xmlsoap.org/soap/envelope/") != NULL);
        }
    }
    eb_bind_free(b);
}

int main(void)
{
    eb_ingest_global_init();
    test_typed();
    test_declined();
    test_limits();
    test_fixtures();
    test_context_reuse();
    printf("oneparse: %d bodies, %d read directly\n", same_or_declined, read_directly);
    return check_report("test_oneparse");
}

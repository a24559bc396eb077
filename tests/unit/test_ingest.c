/* Unit tests of the ingest module (src/ingest) and of eb_schema_find: every input shape in
 * tests/fixtures/shapes gives the same canonical payload, the payload is valid against the
 * contract's schema (wsdl/ehrbridge.wsdl), and DTDs, limits, malformed values, unknown elements,
 * "any" values, nil, arrays, data text, documents in a row on one thread, nested calls and
 * concurrency behave as ingest.c documents. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "candidate/schema.h"
#include "check.h"
#include "ingest/ingest.h"

#define NS        "urn:ehrbridge:moka:v1"
#define SOAP11    "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP12    "http://www.w3.org/2003/05/soap-envelope"
#define XSI       "http://www.w3.org/2001/XMLSchema-instance"
#define NAME_SHAO "\xe9\x82\xb5\xe6\x97\xad\xe5\x86\xac" /* 邵旭冬 */
#define PUSH_ID   "f353e5ce-17e0-4783-bee4-4a6b734b20fe"

/* ---- helpers ---------------------------------------------------------------------------- */

static char source_dir_buf[1024];

/* The repository root: EB_SOURCE_DIR (set by ctest), else derived from this file's path. */
static const char *source_dir(void)
{
    const char *env = getenv("EB_SOURCE_DIR");
    if (env && *env)
        return env;
    if (!source_dir_buf[0]) {
        const char *me = __FILE__, *tail = strstr(me, "tests/unit/test_ingest.c");
        size_t n = tail ? (size_t)(tail - me) : 0;
        if (n == 0)
            snprintf(source_dir_buf, sizeof source_dir_buf, ".");
        else
            snprintf(source_dir_buf, sizeof source_dir_buf, "%.*s", (int)(n - 1), me);
    }
    return source_dir_buf;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static char *fixture(const char *name, size_t *len)
{
    char path[1200];
    const char *dir = getenv("EB_FIXTURES");
    if (dir && *dir)
        snprintf(path, sizeof path, "%s/shapes/%s", dir, name);
    else
        snprintf(path, sizeof path, "%s/tests/fixtures/shapes/%s", source_dir(), name);
    char *b = slurp(path, len);
    if (!b)
        fprintf(stderr, "cannot read fixture %s\n", path);
    return b;
}

static eb_rc ingest_opts(const char *body, size_t len, const struct eb_ingest_opts *o,
                         struct eb_ingest_result *r, struct eb_err *e)
{
    eb_ingest_result_init(r, eb_ingest_default_limits.max_output);
    return eb_ingest(body, len, o, r, e);
}

static eb_rc ingest_str(const char *body, struct eb_ingest_result *r, struct eb_err *e)
{
    return ingest_opts(body, strlen(body), NULL, r, e);
}

static eb_rc ingest_fixture(const char *name, struct eb_ingest_result *r, struct eb_err *e)
{
    size_t len = 0;
    char *b = fixture(name, &len);
    eb_ingest_result_init(r, eb_ingest_default_limits.max_output);
    if (!b)
        return EB_ERR_INTERNAL;
    eb_rc rc = eb_ingest(b, len, NULL, r, e);
    free(b);
    return rc;
}

/* The canonical payload (the pushCandidate element) as a new string. */
static char *payload(const struct eb_ingest_result *r)
{
    char *p = malloc(r->canon_len + 1);
    if (!p)
        abort();
    if (r->canon_len)
        memcpy(p, r->doc.data + r->canon_off, r->canon_len);
    p[r->canon_len] = '\0';
    return p;
}

/* The content of <data> in the payload, as a new string ("(no data)" when absent). */
static char *data_part(const struct eb_ingest_result *r)
{
    char *p = payload(r), *s = strstr(p, "<data>"), *e = strstr(p, "</data></pushCandidate>");
    char *out = NULL;
    if (!s || !e || e < s) {
        free(p);
        out = malloc(10);
        memcpy(out, "(no data)", 10);
        return out;
    }
    s += strlen("<data>");
    out = malloc((size_t)(e - s) + 1);
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = '\0';
    free(p);
    return out;
}

static xmlDoc *payload_doc(const struct eb_ingest_result *r)
{
    if (!r->canon_len)
        return NULL;
    return xmlReadMemory(r->doc.data + r->canon_off, (int)r->canon_len, NULL, "UTF-8",
                         XML_PARSE_NONET);
}

static char *xp(xmlDoc *d, const char *expr)
{
    xmlChar *s = NULL;
    if (!d)
        return NULL;
    xmlXPathContextPtr x = xmlXPathNewContext(d);
    xmlXPathRegisterNs(x, BAD_CAST "m", BAD_CAST NS);
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, x);
    if (o)
        s = xmlXPathCastToString(o);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(x);
    return (char *)s;
}

static void check_xp(xmlDoc *d, const char *expr, const char *want, int line)
{
    char *got = xp(d, expr);
    if (got && strcmp(got, want) == 0) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "%s:%d: XPath %s: [%s] != [%s]\n", __FILE__, line, expr,
                got ? got : "(null)", want);
    }
    xmlFree(got);
}
#define CHECK_XP(d, expr, want) check_xp((d), (expr), (want), __LINE__)

/* Seconds on the monotonic clock, for the figures the tests print. */
static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

static int starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- the contract's schema, taken out of the WSDL ------------------------------------------ */

static xmlDoc *schema_doc;
static xmlSchemaPtr schema;

static void load_schema(void)
{
    char path[1200];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/wsdl/ehrbridge.wsdl", source_dir());
    /* read by hand: eb_ingest_global_init() made libxml2's loader refuse every file */
    char *text = slurp(path, &len);
    xmlDoc *w = text ? xmlReadMemory(text, (int)len, NULL, NULL, XML_PARSE_NONET) : NULL;
    free(text);
    if (!w) {
        fprintf(stderr, "cannot read %s\n", path);
        return;
    }
    xmlNode *defs = xmlDocGetRootElement(w), *sch = NULL;
    for (xmlNode *t = defs->children; t && !sch; t = t->next)
        if (t->type == XML_ELEMENT_NODE && xmlStrEqual(t->name, BAD_CAST "types"))
            for (xmlNode *s = t->children; s && !sch; s = s->next)
                if (s->type == XML_ELEMENT_NODE && xmlStrEqual(s->name, BAD_CAST "schema"))
                    sch = s;
    if (sch) {
        schema_doc = xmlNewDoc(BAD_CAST "1.0");
        xmlNode *copy = xmlDocCopyNode(sch, schema_doc, 1);
        xmlDocSetRootElement(schema_doc, copy);
        for (xmlNs *ns = defs->nsDef; ns; ns = ns->next)
            if (!xmlSearchNs(schema_doc, copy, ns->prefix))
                xmlNewNs(copy, ns->href, ns->prefix);
        xmlSchemaParserCtxtPtr pc = xmlSchemaNewDocParserCtxt(schema_doc);
        schema = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
    }
    xmlFreeDoc(w);
}

/* 1 when the payload of r is valid against the contract's schema. */
static int valid_payload(const struct eb_ingest_result *r)
{
    xmlDoc *d = payload_doc(r);
    int ok = 0;
    if (d && schema) {
        xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schema);
        ok = xmlSchemaValidateDoc(v, d) == 0;
        xmlSchemaFreeValidCtxt(v);
    }
    xmlFreeDoc(d);
    return ok;
}

/* ---- eb_schema_find ----------------------------------------------------------------------- */

/* clang-format off */
static const struct eb_type *const all_types[] = {
    &eb_type_person, &eb_type_manager, &eb_type_owner, &eb_type_name_value, &eb_type_talent_pool,
    &eb_type_source, &eb_type_education, &eb_type_experience, &eb_type_award, &eb_type_job,
    &eb_type_subject, &eb_type_feedback_item, &eb_type_interviewer, &eb_type_job_rank,
    &eb_type_headcount, &eb_type_custom_field, &eb_type_offer_creator,
    &eb_type_offer_attachment, &eb_type_offer, &eb_type_attachment, &eb_type_link,
    &eb_type_exam_report, &eb_type_exam_attachment, &eb_type_project, &eb_type_language,
    &eb_type_label, &eb_type_remark, &eb_type_survey_attachment, &eb_type_survey,
    &eb_type_practice, &eb_type_candidate};
/* clang-format on */

static const char *find_name(const struct eb_type *t, const char *name)
{
    const struct eb_field *f = eb_schema_find(t, name, strlen(name));
    return f ? f->xml : "(none)";
}

static void test_schema_find(void)
{
    int all_found = 1;
    for (size_t i = 0; i < sizeof all_types / sizeof all_types[0]; i++) {
        const struct eb_type *t = all_types[i];
        for (size_t k = 0; k < t->n_fields; k++) {
            const struct eb_field *f = &t->fields[k];
            char lower[128], snake[160], upper[128];
            size_t n = 0, m = 0;
            for (const char *s = f->xml; *s && n + 1 < sizeof lower; s++, n++) {
                lower[n] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
                upper[n] = (char)(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
                if (*s >= 'A' && *s <= 'Z' && m)
                    snake[m++] = '_';
                snake[m++] = lower[n];
            }
            lower[n] = upper[n] = snake[m] = '\0';
            /* the same field, never another one of the same type (no collisions) */
            if (eb_schema_find(t, f->xml, strlen(f->xml)) != f ||
                eb_schema_find(t, lower, n) != f || eb_schema_find(t, upper, n) != f ||
                eb_schema_find(t, snake, m) != f) {
                all_found = 0;
                fprintf(stderr, "schema_find: %s.%s not found in every spelling\n", t->name,
                        f->xml);
            }
        }
        CHECK(t->n_fields < 128); /* ingest orders children with a table of this size */
    }
    CHECK(all_found);
    CHECK_STR(find_name(&eb_type_candidate, "applicationid"), "applicationId");
    CHECK_STR(find_name(&eb_type_candidate, "Candidateid"), "candidateId");
    CHECK_STR(find_name(&eb_type_candidate, "CandidateId"), "candidateId");
    CHECK_STR(find_name(&eb_type_candidate, "createdAt"), "created_at");
    CHECK_STR(find_name(&eb_type_candidate, "interview-feedback-url"), "interviewFeedbackUrl");
    CHECK_STR(find_name(&eb_type_manager, "employee_id"), "employeeId");
    CHECK_STR(find_name(&eb_type_candidate, "source"), "source");
    CHECK_STR(find_name(&eb_type_candidate, "source_list"), "sourceList");
    CHECK_STR(find_name(&eb_type_candidate, "application"), "(none)");
    CHECK_STR(find_name(&eb_type_candidate, "applicationIdx"), "(none)");
    CHECK_STR(find_name(&eb_type_candidate, ""), "(none)");
    CHECK_STR(find_name(&eb_type_candidate, "__"), "(none)");
    CHECK(eb_schema_find(&eb_type_candidate, "birthYearXYZ", 9) != NULL &&
          strcmp(eb_schema_find(&eb_type_candidate, "birthYearXYZ", 9)->xml, "birthYear") == 0);
    CHECK(eb_schema_find(NULL, "x", 1) == NULL);
    CHECK_STR(eb_kind_name(EB_KIND_INT), "number");
    CHECK_STR(eb_kind_name(EB_KIND_BOOL), "boolean");
    CHECK_STR(eb_kind_name(EB_KIND_DATE), "date");
    CHECK_STR(eb_kind_name(EB_KIND_DEC), "decimal");
}

/* ---- the vendor's printed example --------------------------------------------------------- */

static void test_vendor_printed(void)
{
    struct eb_ingest_result r;
    struct eb_err e;
    eb_rc rc = ingest_fixture("vendor-printed.xml", &r, &e);
    CHECK(rc == EB_OK);
    if (rc)
        fprintf(stderr, "vendor-printed: %s\n", e.msg);
    CHECK(r.soap == EB_SOAP_NONE);
    CHECK(r.repaired == 1);
    CHECK(r.n_unknown == 0);
    CHECK(r.n_problems == 0);
    CHECK_STR(r.problem, "");
    CHECK_STR(r.push_id, PUSH_ID);
    CHECK_STR(r.event, "pushCandidate");
    CHECK_STR(r.triggered_at, "1505296287");
    CHECK_STR(r.application_id, "12798");
    CHECK(starts_with(r.doc.data,
                      "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" SOAP11 "\"><SOAP-ENV:Body>"));
    CHECK(r.doc.len > 36 &&
          strcmp(r.doc.data + r.doc.len - 36, "</SOAP-ENV:Body></SOAP-ENV:Envelope>") == 0);
    CHECK(r.canon_len > 0 &&
          starts_with(r.doc.data + r.canon_off, "<pushCandidate xmlns=\"" NS "\"><id>"));
    CHECK(r.canon_off + r.canon_len + 36 == r.doc.len);

    char *p = payload(&r);
    CHECK(contains(p, "<interviewFeedbackUrl>https://cdn.mokahr.com/e11d677-4962-4309-b507-"
                      "2273bf2499c8.pdf?OSSAccessKeyId=BBc12XXIQWCGUAZO&amp;Expires=1505300229"
                      "&amp;Signature=Vdw6zpNH8HTUnu1FvhSjdXiqK6Q%3D</interviewFeedbackUrl>"));
    CHECK(contains(p, "<name>" NAME_SHAO "</name>"));
    CHECK(contains(p, "<referrer><name></name><email>11111@mokahr.com</email>"));
    free(p);

    xmlDoc *d = payload_doc(&r);
    CHECK(d != NULL);
    CHECK_XP(d, "string(/m:pushCandidate/m:id)", PUSH_ID);
    CHECK_XP(d, "string(/m:pushCandidate/m:triggeredAt)", "1505296287");
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:applicationId)", "12798");
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:candidateId)", "8030");
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:name)", NAME_SHAO);
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:source)", "Others");
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:sourceType)", "1");
    CHECK_XP(d, "string(count(/m:pushCandidate/m:data/m:customFields/m:element))", "9");
    CHECK_XP(d, "string(count(/m:pushCandidate/m:data/m:experienceInfo/m:element))", "2");
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:customFields/m:element[1]/m:value)", "175");
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:interviewFeedbackUrl)",
             "https://cdn.mokahr.com/e11d677-4962-4309-b507-2273bf2499c8.pdf?OSSAccessKeyId="
             "BBc12XXIQWCGUAZO&Expires=1505300229&Signature=Vdw6zpNH8HTUnu1FvhSjdXiqK6Q%3D");
    CHECK_XP(d,
             "string(count(/m:pushCandidate/m:data/m:interviewers/m:element[1]"
             "/m:feedbackTemplateResult/m:element[2]/m:subjects/m:element[1]/m:options"
             "/m:element))",
             "2");
    CHECK_XP(d,
             "string(/m:pushCandidate/m:data/m:interviewers/m:element[1]"
             "/m:feedbackTemplateResult/m:element[2]/m:subjects/m:element[1]/m:options"
             "/m:element[2])",
             "\xe9\x80\x89\xe9\xa1\xb9"
             "2"); /* 选项2 */
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:offer/m:salaryNumber)", "8000");
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:offer/m:creator/m:email)", "zhao@mokahr.com");
    /* contract order: id, event, triggeredAt, data although the vendor sent event first */
    CHECK_XP(d, "local-name(/m:pushCandidate/*[1])", "id");
    CHECK_XP(d, "local-name(/m:pushCandidate/*[4])", "data");
    CHECK_XP(d, "local-name(/m:pushCandidate/m:data/*[1])", "applicationId");
    xmlFreeDoc(d);
    CHECK(valid_payload(&r));
    eb_ingest_result_free(&r);
}

/* ---- every shape of the same data gives the same payload ------------------------------------ */

struct shape {
    const char *file;          /* fixture in tests/fixtures/shapes */
    enum eb_soap_version soap; /* expected version */
    int repaired;              /* expected r.repaired */
};

static const struct shape shapes[] = {
    {"vendor-printed.xml", EB_SOAP_NONE, 1},     /* bare <root>, margin, raw & */
    {"soap11-string.xml", EB_SOAP_11, 1},        /* (a) escaped string under pushCandidate */
    {"soap11-cdata.xml", EB_SOAP_11, 1},         /* (b) CDATA under pushCandidate */
    {"soap11-arg0-string.xml", EB_SOAP_11, 1},   /* (c) escaped string under arg0 */
    {"soap11-arg0-cdata.xml", EB_SOAP_11, 1},    /* (d) CDATA under arg0 */
    {"soap11-root-elements.xml", EB_SOAP_11, 1}, /* (e) <root> as elements */
    {"soap11-root-children.xml", EB_SOAP_11, 1}, /* (e) root's children under pushCandidate */
    {"soap12-arg0-string.xml", EB_SOAP_12, 1},   /* SOAP 1.2 */
    {"typed-qualified.xml", EB_SOAP_11, 0},      /* camelCase, tns: prefix everywhere */
    {"typed-unqualified.xml", EB_SOAP_11, 0},    /* children without namespace */
    {"typed-default-ns.xml", EB_SOAP_11, 0},     /* default namespace */
    {"typed-wrong-ns.xml", EB_SOAP_11, 0},       /* another namespace */
    {"typed-soap12.xml", EB_SOAP_12, 0},         /* SOAP 1.2 */
    {"typed-bare.xml", EB_SOAP_NONE, 0},         /* no envelope */
    {"typed-repeated.xml", EB_SOAP_11, 0},       /* repeated wrappers, item/Item/ITEM */
    {"typed-snake-case.xml", EB_SOAP_11, 0},     /* application_id, Element */
    {"typed-kebab-upper.xml", EB_SOAP_11, 0},    /* APPLICATION-ID, PUSHCANDIDATE, ELEMENT */
};

static void test_shapes_identical(void)
{
    struct eb_ingest_result ref, r;
    struct eb_err e;
    CHECK(ingest_fixture("vendor-printed.xml", &ref, &e) == EB_OK);
    char *want = payload(&ref);
    CHECK(strlen(want) > 4000);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        eb_rc rc = ingest_fixture(shapes[i].file, &r, &e);
        char *got = payload(&r);
        int same = rc == EB_OK && strcmp(got, want) == 0;
        CHECK(same);
        if (!same)
            fprintf(stderr, "shape %s: rc %d (%s), payload differs\n", shapes[i].file, rc, e.msg);
        CHECK(r.soap == shapes[i].soap);
        CHECK(r.repaired == shapes[i].repaired);
        CHECK(r.n_unknown == 0 && r.n_problems == 0);
        CHECK_STR(r.push_id, PUSH_ID);
        CHECK_STR(r.application_id, "12798");
        const char *env = r.soap == EB_SOAP_12 ? SOAP12 : SOAP11;
        CHECK(r.doc.len > 60 && strncmp(r.doc.data + 35, env, strlen(env)) == 0);
        free(got);
        eb_ingest_result_free(&r);
    }
    free(want);
    eb_ingest_result_free(&ref);
}

/* ---- SOAP versions and not-a-push --------------------------------------------------------- */

static void test_soap_versions(void)
{
    struct eb_ingest_result r;
    struct eb_err e;
    const char *b12 = "<e:Envelope xmlns:e=\"" SOAP12 "\"><e:Header><id>from-header</id></e:Header>"
                      "<e:Body><pushCandidate xmlns=\"" NS "\"><id>x</id></pushCandidate></e:Body>"
                      "</e:Envelope>";
    CHECK(ingest_str(b12, &r, &e) == EB_OK);
    CHECK(r.soap == EB_SOAP_12);
    CHECK_STR(r.doc.data, "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" SOAP12 "\"><SOAP-ENV:Body>"
                          "<pushCandidate xmlns=\"" NS "\"><id>x</id></pushCandidate>"
                          "</SOAP-ENV:Body></SOAP-ENV:Envelope>");
    CHECK_STR(r.push_id, "x"); /* not the Header's id */
    eb_ingest_result_free(&r);

    const char *b11 =
        "<s:Envelope xmlns:s=\"" SOAP11 "\"><s:Body><x:PUSHCANDIDATE xmlns:x=\"urn:o\">"
        "<x:ID>y</x:ID></x:PUSHCANDIDATE></s:Body></s:Envelope>";
    CHECK(ingest_str(b11, &r, &e) == EB_OK);
    CHECK(r.soap == EB_SOAP_11);
    CHECK(starts_with(r.doc.data,
                      "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" SOAP11 "\"><SOAP-ENV:Body>"));
    CHECK_STR(r.push_id, "y");
    eb_ingest_result_free(&r);

    const char *bare = "<pushCandidate><id>z</id></pushCandidate>";
    CHECK(ingest_str(bare, &r, &e) == EB_OK);
    CHECK(r.soap == EB_SOAP_NONE);
    CHECK(starts_with(r.doc.data,
                      "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" SOAP11 "\"><SOAP-ENV:Body>"));
    eb_ingest_result_free(&r);
}

static void test_not_push(void)
{
    struct eb_ingest_result r;
    struct eb_err e;
    static const char *const bodies[] = {
        "<s:Envelope xmlns:s=\"" SOAP11 "\"><s:Body><getCandidate><id>1</id></getCandidate>"
        "</s:Body></s:Envelope>",
        "<s:Envelope xmlns:s=\"" SOAP12 "\"><s:Body/></s:Envelope>",
        "<s:Envelope xmlns:s=\"" SOAP11 "\"><s:Header/></s:Envelope>",
        "<s:Envelope xmlns:s=\"" SOAP11 "\"><s:Body><s:Fault><faultcode>x</faultcode></s:Fault>"
        "</s:Body></s:Envelope>",
        "<foo><id>1</id></foo>",
        "<pushCandidateResponse><return>true</return></pushCandidateResponse>",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        eb_rc rc = ingest_str(bodies[i], &r, &e);
        CHECK(rc == EB_ERR_NOT_PUSH);
        CHECK(e.rc == EB_ERR_NOT_PUSH && e.msg[0]);
        CHECK(r.doc.len == 0 && r.canon_len == 0);
        eb_ingest_result_free(&r);
    }
    CHECK(ingest_str(bodies[0], &r, &e) == EB_ERR_NOT_PUSH);
    CHECK(contains(e.msg, "getCandidate"));
    eb_ingest_result_free(&r);
}

/* ---- DTDs are refused, nothing is expanded ------------------------------------------------ */

static void test_dtd(void)
{
    struct eb_ingest_result r;
    struct eb_err e;
    static const char *const bodies[] = {
        "<?xml version=\"1.0\"?>\n<!DOCTYPE pushCandidate [<!ENTITY x \"boom\">]>\n"
        "<pushCandidate><id>&x;</id></pushCandidate>",
        "<!DOCTYPE pushCandidate SYSTEM \"file:///etc/passwd\">"
        "<pushCandidate><id>1</id></pushCandidate>",
        "<!DOCTYPE pushCandidate [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<pushCandidate><id>&x;</id></pushCandidate>",
        "<!DOCTYPE l [<!ENTITY a \"boom\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
        "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]><pushCandidate><id>&c;</id></pushCandidate>",
        "<!DOCTYPE pushCandidate><pushCandidate><id>1</id></pushCandidate>",
        /* inside the text of pushCandidate */
        "<pushCandidate>&lt;!DOCTYPE root [&lt;!ENTITY x \"boom\"&gt;]&gt;"
        "&lt;root&gt;&lt;id&gt;&amp;x;&lt;/id&gt;&lt;/root&gt;</pushCandidate>",
        "<pushCandidate><![CDATA[<!DOCTYPE root SYSTEM "
        "\"file:///etc/passwd\"><root><id>1</id></root>]]>"
        "</pushCandidate>",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        eb_rc rc = ingest_str(bodies[i], &r, &e);
        CHECK(rc == EB_ERR_INVALID);
        CHECK(contains(e.msg, "DTDs are not accepted"));
        CHECK(r.doc.len == 0 || !contains(r.doc.data, "boom"));
        CHECK(r.doc.len == 0 || !contains(r.doc.data, "root:"));
        CHECK(r.push_id == NULL);
        eb_ingest_result_free(&r);
    }
    /* in the text of data, after id was read */
    const char *in_data =
        "<pushCandidate><id>p</id><data>&lt;!DOCTYPE d [&lt;!ENTITY x \"boom\"&gt;]"
        "&gt;&lt;d&gt;&lt;name&gt;&amp;x;&lt;/name&gt;&lt;/d&gt;</data></pushCandidate>";
    CHECK(ingest_str(in_data, &r, &e) == EB_ERR_INVALID);
    CHECK_STR(r.push_id, "p");
    CHECK(!contains(r.doc.data, "boom"));
    eb_ingest_result_free(&r);
}

/* ---- limits -------------------------------------------------------------------------------- */

static char *nested(const char *prefix, int depth, const char *suffix)
{
    size_t cap = strlen(prefix) + strlen(suffix) + (size_t)depth * 8 + 16;
    char *b = malloc(cap), *p = b;
    p += sprintf(p, "%s", prefix);
    for (int i = 0; i < depth; i++)
        p += sprintf(p, "<x>");
    p += sprintf(p, "v");
    for (int i = 0; i < depth; i++)
        p += sprintf(p, "</x>");
    sprintf(p, "%s", suffix);
    return b;
}

static void test_limits(void)
{
    struct eb_ingest_result r;
    struct eb_err e;
    struct eb_ingest_opts o = {{16, 1000, 1 << 20}, NULL};

    /* pushCandidate(1) data(2) x(3..) */
    char *ok = nested("<pushCandidate><id>d</id><data>", 14, "</data></pushCandidate>");
    char *deep = nested("<pushCandidate><id>d</id><data>", 15, "</data></pushCandidate>");
    CHECK(ingest_opts(ok, strlen(ok), &o, &r, &e) == EB_OK);
    CHECK(r.n_unknown == 1);
    eb_ingest_result_free(&r);
    CHECK(ingest_opts(deep, strlen(deep), &o, &r, &e) == EB_ERR_INVALID);
    CHECK(contains(e.msg, "nesting deeper than 16"));
    eb_ingest_result_free(&r);
    free(ok);
    free(deep);

    /* the same depth hidden in an escaped string counts from the outer document */
    char *inner = nested("", 14, "");
    size_t cap = strlen(inner) * 5 + 200;
    char *esc = malloc(cap), *q = esc;
    q += sprintf(q, "<s:Envelope xmlns:s=\"" SOAP11 "\"><s:Body><pushCandidate>");
    q += sprintf(q, "&lt;root&gt;&lt;id&gt;d&lt;/id&gt;&lt;data&gt;");
    for (const char *s = inner; *s; s++)
        q += *s == '<' ? sprintf(q, "&lt;") : *s == '>' ? sprintf(q, "&gt;") : sprintf(q, "%c", *s);
    sprintf(q, "&lt;/data&gt;&lt;/root&gt;</pushCandidate></s:Body></s:Envelope>");
    CHECK(ingest_opts(esc, strlen(esc), &o, &r, &e) == EB_ERR_INVALID);
    CHECK(contains(e.msg, "nesting deeper than 16"));
    eb_ingest_result_free(&r);
    free(esc);
    free(inner);

    /* element count */
    struct eb_ingest_opts few = {{64, 10, 1 << 20}, NULL};
    const char *many = "<pushCandidate><id>1</id><data><a/><a/><a/><a/><a/><a/><a/><a/><a/><a/>"
                       "</data></pushCandidate>";
    CHECK(ingest_opts(many, strlen(many), &few, &r, &e) == EB_ERR_TOO_LARGE);
    CHECK(contains(e.msg, "more than 10 nodes"));
    eb_ingest_result_free(&r);

    /* output size: id and event are known although the document does not fit */
    size_t len = 0;
    char *body = fixture("typed-qualified.xml", &len);
    struct eb_ingest_opts small = {{64, 100000, 400}, NULL};
    CHECK(body && ingest_opts(body, len, &small, &r, &e) == EB_ERR_TOO_LARGE);
    CHECK(r.doc.len == 0 && r.canon_len == 0);
    CHECK_STR(r.push_id, PUSH_ID);
    CHECK_STR(r.event, "pushCandidate");
    CHECK_STR(r.application_id, "12798");
    eb_ingest_result_free(&r);
    free(body);
}

/* A push whose data holds <x> with n attributes a0..a(n-1) of the value v (quoted with q), and
 * a comment of 300 '='. */
static char *with_attributes(unsigned n, const char *v, char q)
{
    size_t cap = 1600 + n * (strlen(v) + 16); /* the comment takes 1,200 */
    char *b = malloc(cap), *w = b;
    w += sprintf(w, "<pushCandidate><id>d</id><data><!--");
    for (int i = 0; i < 300; i++)
        w += sprintf(w, " c=1");
    w += sprintf(w, " --><x");
    for (unsigned i = 0; i < n; i++)
        w += sprintf(w, " a%u=%c%s%c", i, q, v, q);
    sprintf(w, "/></data></pushCandidate>");
    return b;
}

/* More than 256 attributes on one element are refused before libxml2 parses them; '=' and '>'
 * inside quoted values, and comments, do not count. */
static void test_attribute_limit(void)
{
    struct eb_ingest_result r;
    struct eb_err e;
    static const struct {
        unsigned n;
        const char *v;
        char q;
        int refused;
    } cases[] = {
        {256, "v", '"', 0},    {257, "v", '"', 1},   {257, "v", '\'', 1},   {200, "x=y", '"', 0},
        {200, "x=y", '\'', 0}, {257, "a>b", '"', 1}, {257, "a>b", '\'', 1}, {0, "", '"', 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body = with_attributes(cases[i].n, cases[i].v, cases[i].q);
        eb_rc rc = ingest_str(body, &r, &e);
        if (cases[i].refused)
            CHECK(rc == EB_ERR_INVALID && contains(e.msg, "more than 256 attributes"));
        else
            CHECK(rc == EB_OK);
        eb_ingest_result_free(&r);
        free(body);
    }
}

/* ---- encodings ------------------------------------------------------------------------------ */

static void put16(unsigned char *b, size_t *o, unsigned cp, int big)
{
    b[(*o)++] = (unsigned char)(big ? cp >> 8 : cp & 0xFF);
    b[(*o)++] = (unsigned char)(big ? cp & 0xFF : cp >> 8);
}

/* text (UTF-8, code points below U+10000) in UTF-16, big-endian when big, after a byte order
 * mark when bom; *len is its length in bytes. */
static char *to_utf16(const char *text, int big, int bom, size_t *len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), o = 0;
    unsigned char *b = malloc(2 * n + 2);
    if (!b)
        abort();
    if (bom)
        put16(b, &o, 0xFEFF, big);
    for (size_t i = 0; i < n;) {
        unsigned cp;
        if (s[i] < 0x80) {
            cp = s[i++];
        } else if (s[i] < 0xE0) {
            cp = (unsigned)(s[i] & 0x1F) << 6 | (s[i + 1] & 0x3Fu);
            i += 2;
        } else {
            cp = (unsigned)(s[i] & 0x0F) << 12 | (unsigned)(s[i + 1] & 0x3F) << 6 |
                 (s[i + 2] & 0x3Fu);
            i += 3;
        }
        put16(b, &o, cp, big);
    }
    *len = o;
    return (char *)b;
}

#define DECL16 "<?xml version=\"1.0\" encoding=\"UTF-16\"?>"
#define U4E3E  "\xe4\xb8\xbe" /* 举: bytes 3E 4E in UTF-16LE, 4E 3E in UTF-16BE */

/* A UTF-8 push (after the XML declaration decl) whose data holds n_el elements x举 with n_attr
 * attributes each. */
static char *attr_flood(const char *decl, unsigned n_el, unsigned n_attr)
{
    size_t cap = 200 + (size_t)n_el * (16 + (size_t)n_attr * 16);
    char *b = malloc(cap), *w = b;
    if (!b)
        abort();
    w += sprintf(w, "%s<pushCandidate><id>d</id><data>", decl);
    for (unsigned e = 0; e < n_el; e++) {
        w += sprintf(w, "<x" U4E3E);
        for (unsigned i = 0; i < n_attr; i++)
            w += sprintf(w, " a%u=\"v\"", i);
        w += sprintf(w, "/>");
    }
    sprintf(w, "</data></pushCandidate>");
    return b;
}

/* Every parse limit holds for every encoding libxml2 reads, and those encodings stay accepted.
 * In UTF-16 an element name holding U+4E3E carries the byte of '>': a start tag of 160,000
 * attributes after it is refused all the same, quickly (libxml2 2.9 checks the names of one
 * start tag pairwise: seconds of CPU when it gets to parse it). */
static void test_encodings(void)
{
    struct eb_ingest_result r;
    struct eb_err e;
    size_t len = 0;

    for (int big = 0; big <= 1; big++) {
        char *utf8 = attr_flood(DECL16, 1, 160000);
        char *body = to_utf16(utf8, big, !big, &len);
        double t0 = now_seconds();
        eb_rc rc = ingest_opts(body, len, NULL, &r, &e);
        printf("UTF-16%s flood of 160,000 attributes in one start tag (%zu bytes): %s in %.3f s\n",
               big ? "BE" : "LE", len, eb_strerror(rc), now_seconds() - t0);
        CHECK(rc == EB_ERR_INVALID && contains(e.msg, "more than 256 attributes"));
        eb_ingest_result_free(&r);
        free(body);
        free(utf8);

        /* the per-element limit, on both sides */
        for (unsigned n = 256; n <= 257; n++) {
            utf8 = attr_flood(DECL16, 1, n);
            body = to_utf16(utf8, big, big, &len);
            rc = ingest_opts(body, len, NULL, &r, &e);
            if (n == 256)
                CHECK(rc == EB_OK);
            else
                CHECK(rc == EB_ERR_INVALID && contains(e.msg, "more than 256 attributes"));
            eb_ingest_result_free(&r);
            free(body);
            free(utf8);
        }

        /* attributes count against the document's budget of elements */
        struct eb_ingest_opts few = {{64, 1000, 1 << 20}, NULL};
        utf8 = attr_flood(DECL16, 10, 100);
        body = to_utf16(utf8, big, 1, &len);
        rc = ingest_opts(body, len, &few, &r, &e);
        CHECK(rc == EB_ERR_TOO_LARGE && contains(e.msg, "more than 1000 nodes"));
        eb_ingest_result_free(&r);
        free(body);
        free(utf8);
        utf8 = attr_flood("", 10, 100);
        rc = ingest_opts(utf8, strlen(utf8), &few, &r, &e);
        CHECK(rc == EB_ERR_TOO_LARGE && contains(e.msg, "more than 1000 nodes"));
        eb_ingest_result_free(&r);
        free(utf8);

        /* a legitimate UTF-16 push, with and without a byte order mark */
        for (int bom = 0; bom <= 1; bom++) {
            body = to_utf16("<?xml version=\"1.0\" encoding=\"UTF-16\"?>"
                            "<pushCandidate><id>u16</id><data><name>" NAME_SHAO "</name><x" U4E3E
                            " a=\"1 &amp; 2\">a &amp; b</x" U4E3E "></data></pushCandidate>",
                            big, bom, &len);
            CHECK(ingest_opts(body, len, NULL, &r, &e) == EB_OK);
            CHECK_STR(r.push_id, "u16");
            char *d = data_part(&r);
            CHECK(contains(d, "<name>" NAME_SHAO "</name>"));
            free(d);
            eb_ingest_result_free(&r);
            free(body);
        }
    }

    /* a fixture in UTF-16 gives the canonical payload of its UTF-8 form */
    char *fx = fixture("typed-bare.xml", &len);
    CHECK(fx && ingest_opts(fx, len, NULL, &r, &e) == EB_OK);
    char *want = payload(&r);
    eb_ingest_result_free(&r);
    const char *decl_end = fx ? strstr(fx, "?>") : NULL;
    for (int big = 0; decl_end && big <= 1; big++) {
        size_t n16 = 0;
        char *b16 = to_utf16(decl_end + 2, big, 1, &n16);
        CHECK(ingest_opts(b16, n16, NULL, &r, &e) == EB_OK);
        char *got = payload(&r);
        CHECK_STR(got, want);
        free(got);
        eb_ingest_result_free(&r);
        free(b16);
    }
    free(want);
    free(fx);

    /* GB18030 and ISO-8859-1 stay accepted */
    const char *gb = "<?xml version=\"1.0\" encoding=\"GB18030\"?><pushCandidate><id>gb</id>"
                     "<data><name>\xc9\xdb\xd0\xf1\xb6\xac</name></data></pushCandidate>";
    CHECK(ingest_str(gb, &r, &e) == EB_OK);
    CHECK_STR(r.push_id, "gb");
    char *d = data_part(&r);
    CHECK(contains(d, "<name>" NAME_SHAO "</name>"));
    free(d);
    eb_ingest_result_free(&r);
    const char *latin1 = "<?xml version='1.0' encoding='iso-8859-1'?><pushCandidate><id>l\xe9t"
                         "</id><data><name>Jos\xe9</name></data></pushCandidate>";
    CHECK(ingest_str(latin1, &r, &e) == EB_OK);
    CHECK_STR(r.push_id, "l\xc3\xa9t");
    d = data_part(&r);
    CHECK(contains(d, "<name>Jos\xc3\xa9</name>"));
    free(d);
    eb_ingest_result_free(&r);

    /* UTF-8 labelled UTF-16 is refused, as libxml2 refuses it */
    CHECK(ingest_str(DECL16 "<pushCandidate><id>1</id></pushCandidate>", &r, &e) == EB_ERR_INVALID);
    eb_ingest_result_free(&r);

    /* an encoding libxml2 does not know is refused as before */
    CHECK(ingest_str("<?xml version=\"1.0\" encoding=\"X-NO-SUCH\"?><pushCandidate><id>1</id>"
                     "</pushCandidate>",
                     &r, &e) == EB_ERR_INVALID);
    eb_ingest_result_free(&r);
}

/* ---- values -------------------------------------------------------------------------------- */

#define PUSH_OPEN                                                                                  \
    "<pushCandidate xmlns=\"" NS "\" xmlns:xsi=\"" XSI "\"><id>p1</id><event>pushCandidate"        \
    "</event><triggeredAt>1</triggeredAt><data>"
#define PUSH_CLOSE "</data></pushCandidate>"

/* Ingests data_xml inside a typed push and returns the content of the canonical <data>. */
static char *data_of(const char *data_xml, struct eb_ingest_result *r, eb_rc *rc)
{
    struct eb_err e;
    size_t n = strlen(PUSH_OPEN) + strlen(data_xml) + strlen(PUSH_CLOSE) + 1;
    char *body = malloc(n);
    snprintf(body, n, "%s%s%s", PUSH_OPEN, data_xml, PUSH_CLOSE);
    *rc = ingest_str(body, r, &e);
    if (*rc)
        fprintf(stderr, "data_of: %s\n", e.msg);
    free(body);
    return data_part(r);
}

static void test_malformed_values(void)
{
    struct eb_ingest_result r;
    eb_rc rc;
    char *d =
        data_of("<applicationId> 12798 </applicationId><birthYear>19x2</birthYear>"
                "<genderCode>+007</genderCode><archived>YES</archived>"
                "<educationInfo><element><now>true</now></element>"
                "<element><now>maybe</now><school>S</school></element></educationInfo>"
                "<offer><salaryNumber>8,000</salaryNumber><checkinDate> </checkinDate></offer>"
                "<experienceInfo><element><now> No </now></element></experienceInfo>",
                &r, &rc);
    CHECK(rc == EB_OK);
    CHECK_STR(d, "<applicationId>12798</applicationId><genderCode>7</genderCode>"
                 "<archived>true</archived><educationInfo><element><now>true</now></element>"
                 "<element><school>S</school></element></educationInfo><experienceInfo>"
                 "<element><now>false</now></element></experienceInfo><offer></offer>");
    CHECK_STR(r.problem, "data.birthYear: malformed number");
    CHECK(r.n_problems == 3);
    CHECK(!contains(r.problem, "19x2"));
    CHECK_STR(r.application_id, "12798");
    free(d);
    eb_ingest_result_free(&r);

    d = data_of("<educationInfo><element><now>1</now></element><element><now>maybe</now>"
                "</element></educationInfo><offer><salaryNumber>8,000</salaryNumber></offer>",
                &r, &rc);
    CHECK(rc == EB_OK);
    CHECK_STR(r.problem, "data.educationInfo[1].now: malformed boolean");
    CHECK(r.n_problems == 2);
    free(d);
    eb_ingest_result_free(&r);

    d = data_of("<offer><salaryNumber>8,000</salaryNumber></offer>"
                "<interviewers><element><feedbackTemplateResult><element><scoreType>five"
                "</scoreType></element></feedbackTemplateResult></element></interviewers>",
                &r, &rc);
    CHECK_STR(r.problem, "data.interviewers[0].feedbackTemplateResult[0].scoreType: "
                         "malformed number");
    CHECK(r.n_problems == 2);
    free(d);
    eb_ingest_result_free(&r);

    /* int64 bounds, decimals, a number given as markup, applicationId malformed */
    d = data_of("<applicationId>12x</applicationId><candidateId>-9223372036854775808</candidateId>"
                "<birthYear>9223372036854775808</birthYear><experience>-0</experience>"
                "<genderCode><b>1</b></genderCode>"
                "<offer><salaryNumber>-.5</salaryNumber></offer>",
                &r, &rc);
    CHECK(rc == EB_OK);
    CHECK_STR(d, "<candidateId>-9223372036854775808</candidateId><experience>0</experience>"
                 "<offer><salaryNumber>-.5</salaryNumber></offer>");
    CHECK_STR(r.problem, "data.applicationId: malformed number");
    CHECK(r.n_problems == 3);
    CHECK(r.application_id == NULL);
    free(d);
    eb_ingest_result_free(&r);
}

static void test_nil_and_empty(void)
{
    struct eb_ingest_result r;
    eb_rc rc;
    char *d = data_of("<applicationId>1</applicationId><name/><phone xsi:nil=\"true\">1</phone>"
                      "<birthYear></birthYear><birthDate>  </birthDate><archived/>"
                      "<genderCode xsi:nil=\"1\"/><job xsi:nil=\"true\"><title>t</title></job>"
                      "<educationInfo xsi:nil=\"true\"/><labels xsi:nil=\"true\"/>"
                      "<experienceInfo><element xsi:nil=\"true\"/><element><title>a</title>"
                      "</element></experienceInfo><probation xsi:nil=\"true\"/>"
                      "<resumePdfMeta></resumePdfMeta><email nil=\"true\">e</email>",
                      &r, &rc);
    CHECK(rc == EB_OK);
    CHECK_STR(d, "<applicationId>1</applicationId><name></name><email>e</email>"
                 "<resumePdfMeta></resumePdfMeta><experienceInfo><element><title>a</title>"
                 "</element></experienceInfo><labels></labels>");
    CHECK(r.n_unknown == 1); /* labels: the contract's name is label */
    CHECK(r.n_problems == 0);
    free(d);
    eb_ingest_result_free(&r);
}

static void test_source_quirk(void)
{
    struct eb_ingest_result r;
    eb_rc rc;
    /* text after an empty scalar is its value; after a non-empty element or an object it is not */
    char *d = data_of("<name>N</name> stray <source/>\n   Others\n   <sourceType>1</sourceType>"
                      "<location></location>Beijing<married/>  \n  <job/>text<gender>M</gender>tail"
                      "<birthYear/>1990",
                      &r, &rc);
    CHECK(rc == EB_OK);
    CHECK_STR(d,
              "<name>N</name><gender>M</gender><birthYear>1990</birthYear><source>Others</source>"
              "<sourceType>1</sourceType><location>Beijing</location><married></married>"
              "<job></job>");
    free(d);
    eb_ingest_result_free(&r);
}

static void test_unknown_elements(void)
{
    struct eb_ingest_result r;
    struct eb_err e;
    const char *body =
        "<s:Envelope xmlns:s=\"" SOAP11 "\"><s:Body><p:pushCandidate xmlns:p=\"" NS "\">"
        "<p:sign>abc</p:sign><p:data><q:extra xmlns:q=\"urn:q\" a=\"1\"><b> t </b><c/></q:extra>"
        "<name>N</name><u:undeclared>x</u:undeclared>"
        "<educationInfo><element><school>S</school><rank>1</rank></element>"
        "<note>n</note></educationInfo></p:data><p:id>i</p:id></p:pushCandidate></s:Body>"
        "</s:Envelope>";
    CHECK(ingest_str(body, &r, &e) == EB_OK);
    char *p = payload(&r);
    CHECK_STR(p, "<pushCandidate xmlns=\"" NS "\"><id>i</id><data><name>N</name><educationInfo>"
                 "<element><school>S</school><rank>1</rank></element><note>n</note>"
                 "</educationInfo><extra><b>t</b><c></c></extra><undeclared>x</undeclared>"
                 "</data><sign>abc</sign></pushCandidate>");
    CHECK(r.n_unknown == 5);
    free(p);
    eb_ingest_result_free(&r);
}

static void test_any_values(void)
{
    struct eb_ingest_result r;
    struct eb_err e;
    CHECK(ingest_fixture("rest-example.xml", &r, &e) == EB_OK);
    CHECK(r.soap == EB_SOAP_12);
    CHECK(r.n_unknown == 0);
    CHECK(r.n_problems == 0);
    xmlDoc *d = payload_doc(&r);
    CHECK_XP(d,
             "string(/m:pushCandidate/m:data/m:customFields/m:element"
             "[m:name='Internship\xe6\x9c\x9f']/m:value)", /* 期 */
             "{\"startDate\":\"2004-01\",\"endDate\":\"2005-01\"}");
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:interviewers/m:element[1]/m:roundOtherName)",
             "{\"en-US\":{\"name\":\"1st round\"}}");
    CHECK_XP(d, "string(count(/m:pushCandidate/m:data/m:customFields/m:element))", "11");
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:candidateId)", "8030");
    /* "lastCompany": null, then a name: the last one wins */
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:lastCompany)",
             "\xe9\x83\x91\xe5\xb7\x9e\xe9\xba\xa6\xe7\x94\xb0\xe4\xbc\x99\xe4\xbc\xb4\xe7\xa7\x91"
             "\xe6\x8a\x80\xe6\x9c\x89\xe9\x99\x90\xe5\x85\xac\xe5\x8f\xb8");
    CHECK_XP(d, "string(count(/m:pushCandidate/m:data/m:probation))", "0");
    CHECK_XP(d, "string(count(/m:pushCandidate/m:data/m:lastCompany))", "1");
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:owners/m:employeeId)", "220");
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:sourceList/m:element[1]/m:isBuiltin)", "true");
    CHECK_XP(d, "string(count(/m:pushCandidate/m:data/m:extendedInterviewers/*))", "0");
    CHECK_XP(d, "string(count(/m:pushCandidate/m:data/m:extendedInterviewers))", "1");
    CHECK_XP(d, "string(/m:pushCandidate/m:data/m:remarks/m:element/m:targets/m:element/m:number)",
             "1234");
    char *jd = xp(d, "string(/m:pushCandidate/m:data/m:job/m:jobDescription)");
    CHECK(jd && strncmp(jd, "<p>", 3) == 0);
    xmlFree(jd);
    xmlFreeDoc(d);
    CHECK(valid_payload(&r));
    eb_ingest_result_free(&r);

    eb_rc rc;
    char *v = data_of("<customFields><element><name>n</name><value> <a>1</a><b><element>x"
                      "</element><item>y</item></b><a> 2 </a><c xsi:nil=\"true\"/><a>3</a>"
                      "<e/><q>\"&lt;&amp;\"</q></value></element><element><value><element>1"
                      "</element><ELEMENT>2</ELEMENT></value></element><element><value>"
                      "<x:k xmlns:x=\"urn:x\"><y:j>1</y:j></x:k></value></element>"
                      "</customFields>",
                      &r, &rc);
    CHECK(rc == EB_OK);
    CHECK_STR(v, "<customFields><element><name>n</name><value>{&quot;a&quot;:[&quot;1&quot;,"
                 "&quot;2&quot;,&quot;3&quot;],&quot;b&quot;:[&quot;x&quot;,&quot;y&quot;],"
                 "&quot;c&quot;:null,&quot;e&quot;:&quot;&quot;,&quot;q&quot;:&quot;\\&quot;"
                 "&lt;&amp;\\&quot;&quot;}</value></element><element><value>[&quot;1&quot;,"
                 "&quot;2&quot;]</value></element><element><value>{&quot;k&quot;:{&quot;j&quot;"
                 ":&quot;1&quot;}}</value></element></customFields>");
    free(v);
    eb_ingest_result_free(&r);
}

static void test_arrays(void)
{
    struct eb_ingest_result r;
    eb_rc rc;
    char *d = data_of("<educationInfo/><experienceInfo><company>A</company></experienceInfo>"
                      "<applicationId>3</applicationId>"
                      "<name>N</name><experienceInfo><company>B</company><title>T</title>"
                      "</experienceInfo><experienceInfo><ITEM><company>C</company></ITEM>"
                      "<Element><company>D</company></Element></experienceInfo>"
                      "<idCardFrontList> u1 </idCardFrontList><idCardFrontList><a>u2</a>"
                      "<element> u3 </element></idCardFrontList><idCardFrontList/>"
                      "<interviewers><item><feedbackTemplateResult><subjects><options>o1"
                      "</options><options><string>o2</string></options></subjects>"
                      "</feedbackTemplateResult></item></interviewers>",
                      &r, &rc);
    CHECK(rc == EB_OK);
    CHECK_STR(d, "<applicationId>3</applicationId><name>N</name><educationInfo></educationInfo>"
                 "<experienceInfo><element>"
                 "<company>A</company></element><element><company>B</company><title>T</title>"
                 "</element><element><company>C</company></element><element><company>D</company>"
                 "</element></experienceInfo><interviewers><element><feedbackTemplateResult>"
                 "<element><subjects><element><options><element>o1</element><element>o2"
                 "</element></options></element></subjects></element></feedbackTemplateResult>"
                 "</element></interviewers><idCardFrontList><element>u1</element><element>u2"
                 "</element><element>u3</element></idCardFrontList>");
    CHECK(r.n_unknown == 0);
    CHECK(valid_payload(&r));
    free(d);
    eb_ingest_result_free(&r);
}

static void test_string_markup(void)
{
    struct eb_ingest_result r;
    eb_rc rc;
    char *d = data_of("<job><jobDescription>\n <p>a &amp; <b>b</b></p>\n</jobDescription></job>",
                      &r, &rc);
    CHECK(rc == EB_OK);
    CHECK_STR(d, "<job><jobDescription>&lt;p&gt;a &amp;amp; &lt;b&gt;b&lt;/b&gt;&lt;/p&gt;"
                 "</jobDescription></job>");
    free(d);
    eb_ingest_result_free(&r);
}

/* ---- data given as text ------------------------------------------------------------------ */

static eb_rc hex_decoder(void *user, const char *text, size_t len, struct eb_buf *out,
                         struct eb_err *err)
{
    (void)user;
    if (len > 4 && memcmp(text, "BAD:", 4) == 0)
        return eb_err_set(err, EB_ERR_INVALID, "cannot decrypt");
    if (len < 4 || memcmp(text, "HEX:", 4) != 0)
        return EB_ERR_NOT_PUSH;
    return eb_buf_puts(out, "<applicationId>77</applicationId><name>dec&amp;oded</name>");
}

static void test_data_text(void)
{
    struct eb_ingest_result r;
    struct eb_err e;

    /* a fragment without a single root, a single non-field root with a declaration */
    const char *frag = "<pushCandidate><id>1</id><data>\n &lt;applicationId&gt;5&lt;/applicationId"
                       "&gt;&lt;name&gt;x&lt;/name&gt;</data></pushCandidate>";
    CHECK(ingest_str(frag, &r, &e) == EB_OK);
    char *d = data_part(&r);
    CHECK_STR(d, "<applicationId>5</applicationId><name>x</name>");
    CHECK_STR(r.application_id, "5");
    free(d);
    eb_ingest_result_free(&r);

    const char *single = "<pushCandidate><id>1</id><data><![CDATA[  <?xml version=\"1.0\" "
                         "encoding=\"GBK\"?><candidate><applicationId>6</applicationId>"
                         "<url>a&b</url></candidate>]]></data></pushCandidate>";
    CHECK(ingest_str(single, &r, &e) == EB_OK);
    d = data_part(&r);
    CHECK_STR(d, "<applicationId>6</applicationId><url>a&amp;b</url>");
    CHECK(r.repaired == 1);
    CHECK(r.n_unknown == 1);
    free(d);
    eb_ingest_result_free(&r);

    /* a single root that is a field is a field */
    const char *one_field = "<pushCandidate><id>1</id><data>&lt;applicationId&gt;8&lt;/"
                            "applicationId&gt;</data></pushCandidate>";
    CHECK(ingest_str(one_field, &r, &e) == EB_OK);
    CHECK_STR(r.application_id, "8");
    eb_ingest_result_free(&r);

    /* not XML, no decoder: a problem, no data, still a push */
    const char *enc = "<pushCandidate><id>2</id><event>pushCandidate</event>"
                      "<data> HEX:0a1b2c </data></pushCandidate>";
    CHECK(ingest_str(enc, &r, &e) == EB_OK);
    CHECK_STR(r.problem, "data: neither XML nor a known encoding");
    CHECK(r.n_problems == 1);
    CHECK(!contains(r.doc.data, "<data>"));
    CHECK_STR(r.push_id, "2");
    eb_ingest_result_free(&r);

    /* with a decoder */
    struct eb_ingest_decoder dec = {hex_decoder, NULL};
    struct eb_ingest_opts o = {eb_ingest_default_limits, &dec};
    CHECK(ingest_opts(enc, strlen(enc), &o, &r, &e) == EB_OK);
    d = data_part(&r);
    CHECK_STR(d, "<applicationId>77</applicationId><name>dec&amp;oded</name>");
    CHECK_STR(r.application_id, "77");
    CHECK(r.n_problems == 0);
    free(d);
    eb_ingest_result_free(&r);

    const char *unknown = "<pushCandidate><id>3</id><data>zzz</data></pushCandidate>";
    CHECK(ingest_opts(unknown, strlen(unknown), &o, &r, &e) == EB_OK);
    CHECK_STR(r.problem, "data: neither XML nor a known encoding");
    eb_ingest_result_free(&r);

    const char *bad = "<pushCandidate><id>4</id><data>BAD:00</data></pushCandidate>";
    CHECK(ingest_opts(bad, strlen(bad), &o, &r, &e) == EB_ERR_INVALID);
    CHECK(contains(e.msg, "cannot decrypt"));
    CHECK_STR(r.push_id, "4");
    eb_ingest_result_free(&r);

    /* XML text that is not well-formed: rejected, the push id is known */
    const char *broken = "<pushCandidate><id>5</id><event>pushCandidate</event><data>&lt;a&gt;"
                         "&lt;/b&gt;</data></pushCandidate>";
    CHECK(ingest_str(broken, &r, &e) == EB_ERR_INVALID);
    CHECK(contains(e.msg, "data text is not well-formed XML (line 1)"));
    CHECK_STR(r.push_id, "5");
    CHECK_STR(r.event, "pushCandidate");
    CHECK(r.doc.len == 0);
    eb_ingest_result_free(&r);
}

/* ---- bodies that are not acceptable XML -------------------------------------------------- */

static void test_bad_bodies(void)
{
    struct eb_ingest_result r;
    struct eb_err e;

    CHECK(ingest_opts("", 0, NULL, &r, &e) == EB_ERR_INVALID);
    eb_ingest_result_free(&r);
    CHECK(ingest_str("  \n ", &r, &e) == EB_ERR_INVALID);
    eb_ingest_result_free(&r);
    CHECK(ingest_str("{\"id\":\"x\"}", &r, &e) == EB_ERR_INVALID);
    CHECK(contains(e.msg, "request body is not well-formed XML (line 1)"));
    eb_ingest_result_free(&r);
    CHECK(ingest_str("<pushCandidate>\n<id>a</id>\n<event>b</id></pushCandidate>", &r, &e) ==
          EB_ERR_INVALID);
    CHECK(contains(e.msg, "(line 3)"));
    eb_ingest_result_free(&r);
    /* invalid UTF-8 in a value: the message does not quote the bytes */
    CHECK(ingest_str("<pushCandidate><id>\xe9\x82</id></pushCandidate>", &r, &e) == EB_ERR_INVALID);
    CHECK(!contains(e.msg, "0xE9") && !contains(e.msg, "\xe9"));
    eb_ingest_result_free(&r);
    /* an '&' that is not a reference, outside any repair: still repaired once */
    CHECK(ingest_str("<pushCandidate><id>a&b&#65;&#x42;&amp;</id></pushCandidate>", &r, &e) ==
          EB_OK);
    CHECK_STR(r.push_id, "a&bAB&");
    CHECK(r.repaired == 1);
    eb_ingest_result_free(&r);
    /* a raw '&' and another error: one retry, then rejected */
    CHECK(ingest_str("<pushCandidate><id>a&b</id>", &r, &e) == EB_ERR_INVALID);
    CHECK(!contains(e.msg, "EntityRef"));
    eb_ingest_result_free(&r);
    /* text under pushCandidate that is not XML */
    CHECK(ingest_str("<pushCandidate>{\"id\":1}</pushCandidate>", &r, &e) == EB_ERR_INVALID);
    CHECK(contains(e.msg, "not XML"));
    eb_ingest_result_free(&r);
    /* an empty pushCandidate is a push with nothing in it (validation rejects it later) */
    CHECK(ingest_str("<pushCandidate/>", &r, &e) == EB_OK);
    CHECK(r.canon_len > 0 && r.push_id == NULL);
    eb_ingest_result_free(&r);
    /* margin before the declaration of the body */
    CHECK(ingest_str("\n  <?xml version=\"1.0\"?><pushCandidate><id>m</id></pushCandidate>", &r,
                     &e) == EB_OK);
    CHECK(r.repaired == 1);
    eb_ingest_result_free(&r);
}

/* ---- reuse and concurrency --------------------------------------------------------------- */

static void test_reuse(void)
{
    struct eb_ingest_result r;
    struct eb_err e;
    eb_rc rc;
    char *d = data_of("<birthYear>x</birthYear><foo/>", &r, &rc);
    free(d);
    CHECK(r.n_problems == 1 && r.n_unknown == 1);
    const char *b = "<pushCandidate><id>again</id></pushCandidate>";
    CHECK(eb_ingest(b, strlen(b), NULL, &r, &e) == EB_OK);
    CHECK(r.n_problems == 0 && r.n_unknown == 0 && r.problem[0] == '\0');
    CHECK_STR(r.push_id, "again");
    CHECK(r.event == NULL && r.application_id == NULL);
    eb_ingest_result_free(&r);
}

/* Each thread parses with one reused parser context and arena (parse.c): documents in a row,
 * refused ones among them, must not see anything of the documents before them. */
static void test_parser_reuse(void)
{
    struct eb_ingest_result ref, r;
    struct eb_err e;
    CHECK(ingest_fixture("vendor-printed.xml", &ref, &e) == EB_OK);
    char *want = payload(&ref);
    size_t good_len = 0, cdata_len = 0;
    char *good = fixture("typed-qualified.xml", &good_len);
    char *cdata = fixture("soap11-arg0-cdata.xml", &cdata_len);
    CHECK(good && cdata);

    /* many distinct names: the context's dictionary outgrows its bound and is recreated */
    size_t cap = 16 * 6000 + 100;
    char *names = malloc(cap), *q = names;
    q += sprintf(q, "<pushCandidate><id>n</id><data>");
    for (int i = 0; i < 6000; i++)
        q += sprintf(q, "<u%d/>", i);
    sprintf(q, "</data></pushCandidate>");

    static const char *const refused[] = {
        "<!DOCTYPE x [<!ENTITY e \"boom\">]><pushCandidate><id>&e;</id></pushCandidate>",
        "<pushCandidate><id>1</id><data><name>x</data></pushCandidate>",
        "<pushCandidate><!-- never closed <id>1</id></pushCandidate>",
        "<pushCandidate>&lt;root&gt;&lt;id&gt;1&lt;/id&gt;&lt;data&gt;&lt;nam</pushCandidate>",
    };
    /* ISO-8859-1 after inner documents, which are read ignoring their encoding declaration */
    const char *latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
                         "<pushCandidate><id>l\xe9t</id></pushCandidate>";
    /* a comment splits text as it does in libxml2's own tree: no <source/>Others quirk */
    const char *comment = "<pushCandidate><id>a<!--x-->b</id><data><name>Zh<!--y-->ang</name>"
                          "<source/><!--z-->Others</data></pushCandidate>";
    int failures = 0;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
            failures += ingest_str(refused[i], &r, &e) != EB_ERR_INVALID;
            failures += r.doc.len != 0;
            eb_ingest_result_free(&r);
            failures += ingest_opts(good, good_len, NULL, &r, &e) != EB_OK;
            failures += r.canon_len != strlen(want) ||
                        memcmp(r.doc.data + r.canon_off, want, r.canon_len) != 0;
            failures += r.repaired != 0 || r.n_problems != 0 || r.n_unknown != 0;
            eb_ingest_result_free(&r);
        }
        failures += ingest_opts(cdata, cdata_len, NULL, &r, &e) != EB_OK;
        failures +=
            r.canon_len != strlen(want) || memcmp(r.doc.data + r.canon_off, want, r.canon_len) != 0;
        eb_ingest_result_free(&r);
        failures += ingest_str(latin1, &r, &e) != EB_OK;
        failures += !r.push_id || strcmp(r.push_id, "l\xc3\xa9t") != 0;
        eb_ingest_result_free(&r);
        failures += ingest_str(names, &r, &e) != EB_OK || r.n_unknown != 6000;
        eb_ingest_result_free(&r);
        failures += ingest_str(comment, &r, &e) != EB_OK;
        char *d = data_part(&r);
        failures += !r.push_id || strcmp(r.push_id, "ab") != 0;
        failures += strcmp(d, "<name>Zhang</name><source></source>") != 0;
        free(d);
        eb_ingest_result_free(&r);
    }
    CHECK(failures == 0);
    free(names);
    free(good);
    free(cdata);
    free(want);
    eb_ingest_result_free(&ref);
}

/* A decoder that ingests another document while the outer one is being read: the nested call
 * must not disturb the documents of the outer call (it gets a parser of its own). */
static eb_rc nested_decoder(void *user, const char *text, size_t len, struct eb_buf *out,
                            struct eb_err *err)
{
    struct eb_ingest_result inner;
    const char *b = "<pushCandidate><id>inner</id><data><name>n</name></data></pushCandidate>";
    (void)text;
    (void)len;
    eb_ingest_result_init(&inner, 1 << 20);
    eb_rc rc = eb_ingest(b, strlen(b), NULL, &inner, err);
    if (!rc && !(inner.push_id && strcmp(inner.push_id, "inner") == 0))
        rc = EB_ERR_INTERNAL;
    if (!rc)
        rc = eb_buf_puts(out, "<applicationId>8</applicationId><name>outer</name>");
    eb_ingest_result_free(&inner);
    (*(int *)user)++;
    return rc;
}

static void test_nested_ingest(void)
{
    struct eb_ingest_result r;
    struct eb_err e;
    int calls = 0;
    struct eb_ingest_decoder dec = {nested_decoder, &calls};
    struct eb_ingest_opts o = {eb_ingest_default_limits, &dec};
    const char *b = "<pushCandidate><id>outer</id><event>pushCandidate</event><data>NESTED</data>"
                    "</pushCandidate>";
    CHECK(ingest_opts(b, strlen(b), &o, &r, &e) == EB_OK);
    CHECK(calls == 1);
    CHECK_STR(r.push_id, "outer");
    CHECK_STR(r.event, "pushCandidate");
    CHECK_STR(r.application_id, "8");
    char *d = data_part(&r);
    CHECK_STR(d, "<applicationId>8</applicationId><name>outer</name>");
    free(d);
    eb_ingest_result_free(&r);
}

struct worker {
    char *body[3];    /* inputs */
    size_t len[3];    /* their lengths */
    const char *want; /* the expected payload */
    int failures;     /* payloads that differed */
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 20; i++) {
        for (int k = 0; k < 3; k++) {
            struct eb_ingest_result r;
            struct eb_err e;
            eb_ingest_result_init(&r, 1 << 24);
            if (eb_ingest(w->body[k], w->len[k], NULL, &r, &e) != EB_OK ||
                r.canon_len != strlen(w->want) ||
                memcmp(r.doc.data + r.canon_off, w->want, r.canon_len) != 0)
                w->failures++;
            eb_ingest_result_free(&r);
        }
    }
    return NULL;
}

static void test_threads(void)
{
    struct eb_ingest_result ref;
    struct eb_err e;
    static const char *const files[3] = {"vendor-printed.xml", "soap11-arg0-cdata.xml",
                                         "typed-repeated.xml"};
    struct worker w[4];
    pthread_t t[4];
    CHECK(ingest_fixture("vendor-printed.xml", &ref, &e) == EB_OK);
    char *want = payload(&ref);
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].want = want;
        for (int k = 0; k < 3; k++)
            w[i].body[k] = fixture(files[k], &w[i].len[k]);
    }
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
    int failures = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
        for (int k = 0; k < 3; k++)
            free(w[i].body[k]);
    }
    CHECK(failures == 0);
    free(want);
    eb_ingest_result_free(&ref);
}

int main(void)
{
    eb_ingest_global_init();
    load_schema();
    CHECK(schema != NULL);

    test_schema_find();
    test_vendor_printed();
    test_shapes_identical();
    test_soap_versions();
    test_not_push();
    test_dtd();
    test_limits();
    test_attribute_limit();
    test_encodings();
    test_malformed_values();
    test_nil_and_empty();
    test_source_quirk();
    test_unknown_elements();
    test_any_values();
    test_arrays();
    test_string_markup();
    test_data_text();
    test_bad_bodies();
    test_reuse();
    test_parser_reuse();
    test_nested_ingest();
    test_threads();

    xmlSchemaFree(schema);
    xmlFreeDoc(schema_doc);
    xmlCleanupParser();
    return check_report("test_ingest");
}

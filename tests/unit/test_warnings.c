/* The values ingest sets aside (tolerance): what the canonical document no longer holds is listed
 * in the result's warnings with its vendor path, raw text and reason, in document order; the
 * push's key (data.applicationId) and data that cannot be read are refusals instead; warnings
 * reach the push (eb_ingest_copy_warnings). */
#include <stdlib.h>
#include <string.h>

#include "candidate/candidate.h"
#include "check.h"
#include "ingest/ingest.h"
#include "util/arena.h"

#define OPEN                                                                                       \
    "<pushCandidate xmlns=\"urn:ehrbridge:moka:v1\"><id>w-1</id><event>pushCandidate</event>"      \
    "<data>"
#define CLOSE "</data></pushCandidate>"

static eb_rc ingest_data(const char *data, struct eb_ingest_result *r)
{
    size_t n = strlen(OPEN) + strlen(data) + strlen(CLOSE) + 1;
    char *body = malloc(n);
    snprintf(body, n, "%s%s%s", OPEN, data, CLOSE);
    struct eb_err err = {0};
    eb_ingest_result_init(r, eb_ingest_default_limits.max_output);
    eb_rc rc = eb_ingest(body, strlen(body), NULL, r, &err);
    free(body);
    return rc;
}

/* The warnings as "field|value|reason;" in one string. */
static const char *listed(const struct eb_ingest_result *r, char *out, size_t n)
{
    size_t off = 0, o = 0;
    const char *f, *v, *why;
    out[0] = '\0';
    while (eb_ingest_warning_next(r, &off, &f, &v, &why) && o < n)
        o += (size_t)snprintf(out + o, n - o, "%s|%s|%s;", f, v, why);
    return out;
}

int main(void)
{
    struct eb_ingest_result r;
    char buf[4096];
    CHECK(ingest_data("<applicationId>12798</applicationId><birthYear>1992年</birthYear>"
                      "<experience> 15k </experience><archived>maybe</archived>"
                      "<educationInfo><element><endDate>至今</endDate><now>true</now></element>"
                      "<element><now>sometimes</now></element></educationInfo>"
                      "<offer><salaryNumber>8,000</salaryNumber></offer>"
                      "<genderCode><b>1</b></genderCode>",
                      &r) == EB_OK);
    CHECK_STR(listed(&r, buf, sizeof buf),
              "data.genderCode||malformed number;" /* the contract's order */
              "data.birthYear|1992年|malformed number;"
              "data.experience|15k|malformed number;"
              "data.archived|maybe|malformed boolean;"
              "data.educationInfo[1].now|sometimes|malformed boolean;"
              "data.offer.salaryNumber|8,000|malformed decimal;");
    CHECK(r.n_warnings == 6 && r.n_problems == 6);
    CHECK_STR(r.refusal, "");
    CHECK_STR(r.application_id, "12798");
    /* the canonical document holds none of them (the strict bindings never see them) */
    const char *doc = r.doc.data + r.canon_off;
    CHECK(!strstr(doc, "1992") && !strstr(doc, "15k") && !strstr(doc, "maybe") &&
          !strstr(doc, "sometimes") && !strstr(doc, "8,000"));
    CHECK(strstr(doc, "<endDate>至今</endDate>") != NULL); /* a date is a string there */

    /* handed to the push */
    struct eb_arena *a = eb_arena_new(1 << 20);
    struct eb_push p;
    memset(&p, 0, sizeof p);
    CHECK(eb_ingest_copy_warnings(&r, a, &p) == EB_OK && p.n_warnings == 6);
    CHECK(p.n_warnings == 6 && !strcmp(p.warnings[5].field, "data.offer.salaryNumber") &&
          !strcmp(p.warnings[5].value, "8,000"));
    eb_arena_free(a);
    eb_ingest_result_free(&r);

    /* the key is a refusal, not a warning */
    CHECK(ingest_data("<applicationId>12x</applicationId><birthYear>x</birthYear>", &r) == EB_OK);
    CHECK_STR(r.refusal, "data.applicationId: malformed number");
    CHECK(r.n_warnings == 1 && r.n_problems == 2);
    CHECK(r.application_id == NULL);
    eb_ingest_result_free(&r);

    /* a long value is cut at EB_INGEST_WARNING_VALUE_MAX bytes, never inside a character */
    size_t n = 2000;
    char *big = malloc(n * 3 + 64);
    size_t o = (size_t)sprintf(big, "<birthYear>x");
    for (size_t i = 0; i < n; i++)
        o += (size_t)sprintf(big + o, "年");
    sprintf(big + o, "</birthYear>");
    CHECK(ingest_data(big, &r) == EB_OK);
    size_t off = 0;
    const char *f, *v, *why;
    CHECK(eb_ingest_warning_next(&r, &off, &f, &v, &why));
    CHECK(strlen(v) <= EB_INGEST_WARNING_VALUE_MAX && strlen(v) == 1 + 3 * 341);
    CHECK(!eb_ingest_warning_next(&r, &off, &f, &v, &why));
    free(big);
    eb_ingest_result_free(&r);

    /* a result used again starts without warnings */
    CHECK(ingest_data("<applicationId>1</applicationId><birthYear>x</birthYear>", &r) == EB_OK);
    struct eb_err err = {0};
    const char *ok = OPEN "<applicationId>2</applicationId>" CLOSE;
    CHECK(eb_ingest(ok, strlen(ok), NULL, &r, &err) == EB_OK);
    CHECK(r.n_warnings == 0 && r.warnings.len == 0 && r.refusal[0] == '\0');
    eb_ingest_result_free(&r);
    return check_report("test_warnings");
}

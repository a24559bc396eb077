/* The generated bindings read a canonical document and map.c turns it into struct eb_push:
 * scalars, optional numbers and booleans, nested objects, arrays, arrays of strings, "any" text,
 * Chinese text byte for byte; and bind answers SOAP 1.1 / 1.2 and faults. */
#include <string.h>

#include "bind/bind.h"
#include "candidate/candidate.h"
#include "check.h"
#include "util/arena.h"

static const char *ENV11 =
    "<SOAP-ENV:Envelope "
    "xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\"><SOAP-ENV:Body>";
static const char *ENV12 =
    "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://www.w3.org/2003/05/soap-envelope\"><SOAP-ENV:Body>";
static const char *END = "</SOAP-ENV:Body></SOAP-ENV:Envelope>";

static const char *PUSH =
    "<pushCandidate xmlns=\"urn:ehrbridge:moka:v1\"><id>p-1</id><event>pushCandidate</event>"
    "<triggeredAt>1505296287</triggeredAt><data><applicationId>12798</applicationId>"
    "<candidateId>8030</candidateId><name>邵旭冬</name><birthYear>1992</birthYear>"
    "<archived>false</archived><nativePlaceCode>310107</nativePlaceCode>"
    "<educationInfo><element><startDate>2011-09</startDate><now>false</now>"
    "<school>北京邮电大学</school></element></educationInfo>"
    "<experienceInfo><element><company>A &amp; B</company></element>"
    "<element><company>C</company><now>true</now></element></experienceInfo>"
    "<job><title>java工程师</title><customFields><element><name>职位-年月</name>"
    "<value>2019-01</value></element></customFields></job>"
    "<interviewers><element><name>李明</name><round>1</round><feedbackTemplateResult><element>"
    "<type>2</type><subjects><element><options><element>选项1</element><element>选项2</element>"
    "</options><result>1</result></element></subjects></element></feedbackTemplateResult>"
    "</element></interviewers>"
    "<customFields><element><name> Internship期</name>"
    "<value>{\"startDate\":\"2004-01\",\"endDate\":\"2005-01\"}</value><now>true</now>"
    "</element></customFields>"
    "<offer><salaryNumber>8000.50</salaryNumber><creator><name>赵摩卡</name></creator>"
    "<hcInfo><id>8</id></hcInfo></offer><futureField>x</futureField>"
    "</data></pushCandidate>";

static struct eb_arena *arena;
static struct eb_push got;
static int calls;

static void handler(void *user, struct eb_bind *b, int *ok, const char **msg)
{
    struct eb_err err = {0};
    (void)user;
    calls++;
    CHECK(eb_bind_push(b, arena, 1, &got, &err) == EB_OK);
    *ok = 1;
    *msg = "stored";
}

static void serve(struct eb_bind *b, const char *env, const char *body, struct eb_buf *out,
                  int *fault)
{
    struct eb_buf doc;
    eb_buf_init(&doc, 1 << 20);
    eb_buf_puts(&doc, env);
    eb_buf_puts(&doc, body);
    eb_buf_puts(&doc, END);
    eb_buf_reset(out);
    CHECK(eb_bind_serve(b, eb_buf_cstr(&doc), handler, NULL, out, fault) == EB_OK);
    eb_buf_free(&doc);
}

int main(void)
{
    struct eb_bind *b = eb_bind_new();
    struct eb_buf out;
    int fault = -1;
    eb_buf_init(&out, 1 << 20);
    arena = eb_arena_new(1 << 24);

    serve(b, ENV11, PUSH, &out, &fault);
    CHECK(fault == 0);
    CHECK(calls == 1);
    CHECK(strstr(out.data, "http://schemas.xmlsoap.org/soap/envelope/") != NULL);
    CHECK(strstr(out.data, "<ns1:return>true</ns1:return>") != NULL);
    CHECK(strstr(out.data, "<ns1:message>stored</ns1:message>") != NULL);
    CHECK_STR(got.id, "p-1");
    CHECK_STR(got.event, "pushCandidate");
    CHECK_STR(got.triggered_at, "1505296287");
    const struct eb_candidate *c = got.data;
    CHECK(c != NULL);
    if (c) {
        CHECK(c->application_id.set && c->application_id.v == 12798);
        CHECK(c->candidate_id.set && c->candidate_id.v == 8030);
        CHECK_STR(c->name, "邵旭冬");
        CHECK(c->birth_year.set && c->birth_year.v == 1992);
        CHECK(c->archived == 0);
        CHECK(c->hire_mode.set == 0);
        CHECK(c->native_place_code.v == 310107);
        CHECK(c->education_info_n == 1);
        CHECK(c->education_info_n == 1 && c->education_info[0].now == 0);
        CHECK(c->education_info_n == 1 && !strcmp(c->education_info[0].school, "北京邮电大学"));
        CHECK(c->experience_info_n == 2);
        if (c->experience_info_n == 2) {
            CHECK_STR(c->experience_info[0].company, "A & B");
            CHECK(c->experience_info[0].now == EB_BOOL_UNSET);
            CHECK(c->experience_info[1].now == 1);
        }
        CHECK(c->job && c->job->custom_fields_n == 1);
        if (c->job && c->job->custom_fields_n == 1)
            CHECK_STR(c->job->custom_fields[0].value, "2019-01");
        CHECK(c->interviewers_n == 1);
        if (c->interviewers_n == 1 && c->interviewers[0].feedback_template_result_n == 1 &&
            c->interviewers[0].feedback_template_result[0].subjects_n == 1) {
            const struct eb_subject *s =
                &c->interviewers[0].feedback_template_result[0].subjects[0];
            CHECK(s->options_n == 2);
            CHECK(s->options_n == 2 && !strcmp(s->options[1], "选项2"));
            CHECK_STR(s->result, "1");
        } else {
            CHECK(!"interviewer feedback subjects missing");
        }
        CHECK(c->custom_fields_n == 1);
        if (c->custom_fields_n == 1)
            CHECK_STR(c->custom_fields[0].value,
                      "{\"startDate\":\"2004-01\",\"endDate\":\"2005-01\"}");
        CHECK(c->offer && c->offer->salary_number && !strcmp(c->offer->salary_number, "8000.50"));
        CHECK(c->offer && c->offer->creator && !strcmp(c->offer->creator->name, "赵摩卡"));
        CHECK(c->offer && c->offer->hc_info && c->offer->hc_info->id.v == 8);
        CHECK(c->referrer == NULL);
    }
    eb_bind_end(b);
    eb_arena_reset(arena);

    /* SOAP 1.2 in, SOAP 1.2 out */
    serve(b, ENV12, PUSH, &out, &fault);
    CHECK(fault == 0);
    CHECK(strstr(out.data, "http://www.w3.org/2003/05/soap-envelope") != NULL);
    CHECK(strstr(out.data, "<ns1:return>true</ns1:return>") != NULL);
    eb_bind_end(b);
    eb_arena_reset(arena);

    /* another operation: a fault, the handler is not called */
    calls = 0;
    serve(b, ENV11, "<other xmlns=\"urn:ehrbridge:moka:v1\"/>", &out, &fault);
    CHECK(fault == 1);
    CHECK(calls == 0);
    CHECK(strstr(out.data, "Fault") != NULL);
    eb_bind_end(b);

    /* explicit faults in both versions */
    eb_buf_reset(&out);
    CHECK(eb_bind_fault(b, EB_SOAP_12, 1, "not a pushCandidate request", &out) == EB_OK);
    CHECK(strstr(out.data, "Sender") && strstr(out.data, "not a pushCandidate request"));
    eb_buf_reset(&out);
    CHECK(eb_bind_fault(b, EB_SOAP_11, 1, "bad", &out) == EB_OK);
    CHECK(strstr(out.data, "faultstring") && strstr(out.data, "schemas.xmlsoap.org/soap/envelope"));
    eb_bind_end(b);

    eb_buf_free(&out);
    eb_arena_free(arena);
    eb_bind_free(b);
    return check_report("test_map");
}

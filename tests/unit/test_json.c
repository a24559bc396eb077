/* Unit tests of the REST mode's JSON (ingest/json.c, ingest/json_interview.c, rest.c): the
 * vendor's REST example, read as printed (raw newlines in jobDescription), gives exactly the
 * canonical payload of its XML form (tests/fixtures/shapes/rest-example.xml); names, nulls,
 * numbers, booleans, "any" values, arrays, unknown members and limits convert as json.h says;
 * the interview example of "Push interview info" is read field by field; redirect templates
 * and the JSON answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/interview.h"
#include "check.h"
#include "ingest/ingest.h"
#include "ingest/json.h"
#include "rest.h"
#include "util/arena.h"

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

static char *fixture(const char *rel, size_t *len)
{
    char path[1200];
    const char *dir = getenv("EB_FIXTURES");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tests/fixtures", rel);
    char *b = slurp(path, len);
    if (!b)
        fprintf(stderr, "cannot read fixture %s\n", path);
    return b;
}

/* The canonical payload ingest makes of body, as a new string ("" on failure). */
static char *canonical(const char *body, size_t len)
{
    struct eb_ingest_result r;
    struct eb_err e;
    eb_ingest_result_init(&r, eb_ingest_default_limits.max_output);
    eb_rc rc = eb_ingest(body, len, NULL, &r, &e);
    if (rc)
        fprintf(stderr, "ingest: %s\n", e.msg);
    char *p = calloc(1, r.canon_len + 1);
    if (!rc && r.canon_len)
        memcpy(p, r.doc.data + r.canon_off, r.canon_len);
    eb_ingest_result_free(&r);
    return p;
}

/* JSON text -> the XML json.c makes of a push (NULL on failure, err filled). */
static char *push_xml(const char *json, struct eb_err *err)
{
    struct eb_buf out;
    eb_buf_init(&out, 1 << 24);
    eb_err_clear(err);
    json_t *v = eb_json_load(json, strlen(json), "request body", NULL, err);
    char *s = NULL;
    if (v && eb_json_push_xml(v, &out, err) == EB_OK)
        s = strdup(eb_buf_cstr(&out));
    json_decref(v);
    eb_buf_free(&out);
    return s;
}

static char *data_xml(const char *json, struct eb_err *err)
{
    struct eb_buf out;
    eb_buf_init(&out, 1 << 24);
    eb_err_clear(err);
    json_t *v = eb_json_load(json, strlen(json), "data text", NULL, err);
    char *s = NULL;
    if (v && eb_json_data_xml(v, &out, err) == EB_OK)
        s = strdup(eb_buf_cstr(&out));
    json_decref(v);
    eb_buf_free(&out);
    return s;
}

static void test_rest_example_equals_xml_form(void)
{
    size_t jlen = 0, xlen = 0;
    char *json = fixture("vendor-sample.json", &jlen);
    char *xml = fixture("shapes/rest-example.xml", &xlen);
    struct eb_err err;
    int repaired = 0;
    CHECK(json && xml);
    if (!json || !xml)
        goto out;
    json_t *v = eb_json_load(json, jlen, "request body", &repaired, &err);
    CHECK(v != NULL);
    CHECK(repaired == 1); /* the printed example has raw newlines inside a string */
    struct eb_buf out;
    eb_buf_init(&out, 1 << 24);
    CHECK(eb_json_push_xml(v, &out, &err) == EB_OK);
    char *from_json = canonical(out.data, out.len);
    char *from_xml = canonical(xml, xlen);
    CHECK(strlen(from_json) > 5000);
    CHECK_STR(from_json, from_xml);
    free(from_json);
    free(from_xml);
    eb_buf_free(&out);
    json_decref(v);

    /* a strict JSON copy of the example (integration fixture) gives the same candidate data */
    size_t slen = 0;
    char *strict = fixture("integration/vendor-sample.json", &slen);
    CHECK(strict != NULL);
    if (strict) {
        repaired = 1;
        json_t *s = eb_json_load(strict, slen, "request body", &repaired, &err);
        CHECK(s && repaired == 0);
        json_decref(s);
        free(strict);
    }
out:
    free(json);
    free(xml);
}

static void test_conversion(void)
{
    struct eb_err err;
    char *x =
        push_xml("{\"ID\":\"p1\",\"Event\":\"pushCandidate\",\"triggered_at\":1505296287,"
                 "\"data\":{\"applicationId\":12798,\"CandidateId\":\"8030\",\"probation\":null,"
                 "\"salary\":\"\",\"archived\":true,\"birthYear\":1992.0,"
                 "\"offer\":{\"salaryNumber\":8000.5,\"jobRankInfo\":{\"level\":3,\"type\":null}},"
                 "\"customFields\":[{\"name\":\"a\",\"value\":{\"startDate\":\"2004-01\",\"n\":1}},"
                 "null,{\"value\":[1,\"x\"]},{\"value\":0.1}],"
                 "\"sourceList\":{\"name\":\"lone\"},"
                 "\"idCardFrontList\":[\"u1\",2],"
                 "\"new-field\":{\"deep\":[1,{\"k\":\"v\"}]},\"bad name\":1,\"1x\":2,"
                 "\"name\":\"<&>\"}}",
                 &err);
    CHECK(x != NULL);
    CHECK_STR(x, "<pushCandidate><id>p1</id><event>pushCandidate</event>"
                 "<triggeredAt>1505296287</triggeredAt><data><applicationId>12798</applicationId>"
                 "<candidateId>8030</candidateId><salary></salary><archived>true</archived>"
                 "<birthYear>1992</birthYear><offer><salaryNumber>8000.5</salaryNumber>"
                 "<jobRankInfo><level>3</level></jobRankInfo></offer><customFields><element>"
                 "<name>a</name><value>{&quot;startDate&quot;:&quot;2004-01&quot;,&quot;n&quot;:1}"
                 "</value></element><element><value>[1,&quot;x&quot;]</value></element><element>"
                 "<value>0.1</value></element></customFields><sourceList><element><name>lone"
                 "</name></element></sourceList><idCardFrontList><element>u1</element><element>2"
                 "</element></idCardFrontList><new-field><deep><element>1</element><element><k>v"
                 "</k></element></deep></new-field><name>&lt;&amp;&gt;</name></data>"
                 "</pushCandidate>");
    free(x);

    /* data given as a string stays text (for the decoder) */
    x = push_xml("{\"id\":\"p2\",\"data\":\"00ff\"}", &err);
    CHECK_STR(x, "<pushCandidate><id>p2</id><data>00ff</data></pushCandidate>");
    free(x);
    x = data_xml("{\"applicationId\":1}", &err);
    CHECK_STR(x, "<data><applicationId>1</applicationId></data>");
    free(x);

    /* refusals */
    x = push_xml("[1,2]", &err);
    CHECK(x == NULL && err.rc == EB_ERR_INVALID && strstr(err.msg, "not an object"));
    x = data_xml("\"text\"", &err);
    CHECK(x == NULL && err.rc == EB_ERR_INVALID);
    x = push_xml("{\"id\": \"p\", \"data\": {\"name\": \"secret\",}}", &err);
    CHECK(x == NULL && err.rc == EB_ERR_INVALID);
    CHECK_STR(err.msg, "request body is not valid JSON (line 1, column 39)");
    char deep[400] = "{\"data\":{\"customFields\":[{\"x\":";
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    for (int i = 0; i < 70; i++)
        strcat(deep, "]");
    strcat(deep, "}]}}");
    x = push_xml(deep, &err);
    CHECK(x == NULL && err.rc == EB_ERR_INVALID && strstr(err.msg, "deeper"));
    /* "any" values keep nesting as JSON text, not as elements */
    strcpy(deep, "{\"data\":{\"customFields\":[{\"value\":");
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    for (int i = 0; i < 70; i++)
        strcat(deep, "]");
    strcat(deep, "}]}}");
    x = push_xml(deep, &err);
    CHECK(x != NULL);
    free(x);
    /* a duplicated key: the last one */
    x = data_xml("{\"lastCompany\":null,\"lastCompany\":\"B\"}", &err);
    CHECK_STR(x, "<data><lastCompany>B</lastCompany></data>");
    free(x);

    char buf[64];
    size_t n;
    json_t *r = json_real(1e21);
    CHECK_STR(eb_json_scalar_text(r, buf, sizeof buf, &n), "1e+21");
    json_decref(r);
    r = json_real(-2.5);
    CHECK_STR(eb_json_scalar_text(r, buf, sizeof buf, &n), "-2.5");
    json_decref(r);
}

static const char interview_example[] =
    "{\"id\":\"f353e5ce-17e0-4783-bee4-4a6b734b20fe\",\"event\":\"createInterviewsInfo\","
    "\"triggeredAt\":1505296287,\"data\":{\"applicationIds\":[200006263],\"interviewType\":3,"
    "\"createTime\":1597391796747,\"creator\":{\"id\":\"200000217\",\"name\":\"C\","
    "\"email\":\"z@mokahr.com\",\"phone\":\"17610230001\"},\"interviews\":[{\"event_id\":"
    "\"12345612\",\"applicationIds\":[200006263],\"roomId\":1,\"roomName\":\"Meeting room A\","
    "\"address\":{\"id\":1524,\"country\":\"CN\",\"cityId\":310109,\"address\":\"A\"},"
    "\"startTime\":1597392000000,\"endTime\":1597393800000,\"interviewerIds\":[200000217],"
    "\"interviewee\":[{\"id\":200006257,\"name\":\"zwj5\",\"email\":\"z@mokahr.com\","
    "\"phone\":\"17610230000\",\"jobId\":\"6c465f4b-e791-423f-a053-5e76e04e5f29\","
    "\"jobTitle\":\"java\"}],\"interviewer\":[{\"id\":200000217,\"name\":\"I\","
    "\"email\":\"z@mokahr.com\",\"phone\":\"17610230000\"}]},{\"eventId\":77,"
    "\"roundId\":\"2\",\"startTime\":null}]}}";

static void test_interview(void)
{
    struct eb_arena *arena = eb_arena_new(1 << 20);
    struct eb_interview_event ev;
    struct eb_err err;
    json_t *root = eb_json_load(interview_example, strlen(interview_example), "b", NULL, &err);
    CHECK(root != NULL);
    memset(&ev, 0, sizeof ev);
    CHECK(eb_interview_kind_of("createInterviewsInfo") == EB_INTERVIEW_CREATE);
    CHECK(eb_interview_kind_of("UPDATEINTERVIEWSINFO") == EB_INTERVIEW_UPDATE);
    CHECK(eb_interview_kind_of("deleteInterviewsInfo") == EB_INTERVIEW_DELETE);
    CHECK(eb_interview_kind_of("pushCandidate") == -1);
    CHECK(eb_json_interview(json_object_get(root, "data"), arena, &ev, &err) == EB_OK);
    CHECK(eb_interview_validate(&ev, &err) == EB_OK);
    CHECK(ev.interview_type.set && ev.interview_type.v == 3);
    CHECK(ev.create_time.v == 1597391796747LL);
    CHECK_STR(ev.creator_id, "200000217");
    CHECK_STR(ev.creator_phone, "17610230001");
    CHECK(ev.interviews_n == 2);
    const struct eb_interview *iv = &ev.interviews[0];
    CHECK_STR(iv->event_id, "12345612");
    CHECK(iv->application_ids_n == 1 && iv->application_ids[0] == 200006263);
    CHECK(iv->room_id.v == 1 && !iv->round_id.set);
    CHECK_STR(iv->room_name, "Meeting room A");
    CHECK(iv->address_id.v == 1524 && iv->address_city_id.v == 310109);
    CHECK_STR(iv->address_country, "CN");
    CHECK(iv->start_time.v == 1597392000000LL && iv->end_time.v == 1597393800000LL);
    CHECK_STR(iv->interviewer_ids, "[200000217]");
    CHECK(iv->interviewees_n == 1 && iv->interviewees[0].id.v == 200006257);
    CHECK_STR(iv->interviewees[0].job_title, "java");
    CHECK(iv->interviewers_n == 1 && iv->interviewers[0].id.v == 200000217);
    /* the second: eventId spelled another way, a number; the event's applicationIds */
    iv = &ev.interviews[1];
    CHECK_STR(iv->event_id, "77");
    CHECK(iv->round_id.set && iv->round_id.v == 2 && !iv->start_time.set);
    CHECK(iv->application_ids_n == 1 && iv->application_ids[0] == 200006263);
    json_decref(root);

    /* refusals name the field */
    const char *bad[][2] = {
        {"{\"interviews\":[{\"event_id\":\"1\",\"startTime\":\"soon\"}]}",
         "data.interviews[0].startTime: malformed number"},
        {"{\"interviews\":{}}", "data.interviews: expected an array"},
        {"{\"interviews\":[{\"event_id\":\"1\",\"interviewer\":[{\"id\":\"x\"}]}]}",
         "data.interviews[0].interviewer[0].id: malformed number"},
        {"[1]", "data: expected an object"},
        {"{\"creator\":5}", "data.creator: expected an object"},
        {"{\"interviews\":[{\"event_id\":\"1\",\"address\":[]}]}",
         "data.interviews[0].address: expected an object"},
        {"{\"interviews\":[{\"event_id\":\"1\",\"address\":{\"cityId\":\"x\"}}]}",
         "data.interviews[0].address.cityId: malformed number"},
        {"{\"interviews\":[{\"event_id\":\"1\",\"interviewee\":[3]}]}",
         "data.interviews[0].interviewee[0]: expected an object"},
        {"{\"interviews\":[{\"event_id\":\"1\",\"interviewerIds\":7}]}",
         "data.interviews[0].interviewerIds: expected an array"},
        {"{\"applicationIds\":[\"1x\"],\"interviews\":[]}",
         "data.applicationIds: malformed number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *d = eb_json_load(bad[i][0], strlen(bad[i][0]), "b", NULL, &err);
        memset(&ev, 0, sizeof ev);
        eb_err_clear(&err);
        CHECK(eb_json_interview(d, arena, &ev, &err) == EB_ERR_INVALID);
        CHECK_STR(err.msg, bad[i][1]);
        json_decref(d);
    }
    /* names in other spellings; each person's invitation link under its role's name */
    const char people[] = "{\"Interview_Type\":\"4\",\"CREATOR\":{\"Name\":\"C\"},"
                          "\"interviews\":[{\"event-id\":\"9\",\"interviewee\":[{\"ID\":1,"
                          "\"intervieweeUrl\":\"https://e\"}],\"interviewer\":[null,"
                          "{\"id\":2,\"interviewer_url\":\"https://i\"}]}]}";
    json_t *d = eb_json_load(people, strlen(people), "b", NULL, &err);
    memset(&ev, 0, sizeof ev);
    CHECK(eb_json_interview(d, arena, &ev, &err) == EB_OK);
    CHECK(ev.interview_type.v == 4);
    CHECK_STR(ev.creator_name, "C");
    CHECK(ev.interviews_n == 1 && ev.interviews[0].interviewees_n == 1 &&
          ev.interviews[0].interviewers_n == 1);
    CHECK_STR(ev.interviews[0].event_id, "9");
    CHECK(ev.interviews[0].interviewees[0].id.v == 1);
    CHECK_STR(ev.interviews[0].interviewees[0].url, "https://e");
    CHECK(ev.interviews[0].interviewers[0].id.v == 2);
    CHECK_STR(ev.interviews[0].interviewers[0].url, "https://i");
    json_decref(d);
    const char *invalid[][2] = {
        {"{\"interviews\":[]}", "data.interviews: missing or empty"},
        {"{\"interviews\":[{\"roomId\":1}]}", "data.interviews[0].event_id: missing"},
        {"{\"interviews\":[{\"event_id\":\"a\"},{\"event_id\":\"a\"}]}",
         "data.interviews[1].event_id: same as interviews[0]"},
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        json_t *d = eb_json_load(invalid[i][0], strlen(invalid[i][0]), "b", NULL, &err);
        memset(&ev, 0, sizeof ev);
        CHECK(eb_json_interview(d, arena, &ev, &err) == EB_OK);
        CHECK(eb_interview_validate(&ev, &err) == EB_ERR_INVALID);
        CHECK_STR(err.msg, invalid[i][1]);
        json_decref(d);
    }
    eb_arena_free(arena);
}

static void test_rest(void)
{
    char out[256];
    struct eb_rest_ids ids = {12798, 1, 8030, 1, "f353e5ce/1 2"};
    CHECK(eb_rest_expand("https://ehr.example.com/c/{applicationId}?c={candidateId}&p={pushId}",
                         &ids, out, sizeof out) == EB_OK);
    CHECK_STR(out, "https://ehr.example.com/c/12798?c=8030&p=f353e5ce%2F1%202");
    ids.has_candidate_id = 0;
    CHECK(eb_rest_expand("x/{candidateId}/{unknown}", &ids, out, sizeof out) == EB_OK);
    CHECK_STR(out, "x//{unknown}");
    CHECK(eb_rest_expand("https://a/{pushId}", &ids, out, 12) == EB_ERR_TOO_LARGE);

    struct eb_buf b;
    eb_buf_init(&b, 4096);
    CHECK(eb_rest_answer(&b, 0, "stored", "https://p", "") == EB_OK);
    CHECK_STR(eb_buf_cstr(&b),
              "{\"code\":0,\"msg\":\"stored\",\"redirectUrl\":{\"pcUrl\":\"https://p\"}}");
    CHECK(eb_rest_answer(&b, 400, "data.applicationId: missing", NULL, NULL) == EB_OK);
    CHECK_STR(eb_buf_cstr(&b), "{\"code\":400,\"msg\":\"data.applicationId: missing\"}");
    eb_buf_free(&b);

    struct eb_http_header h[1] = {{"Content-Type", "application/json; charset=utf-8"}};
    struct eb_http_request r;
    memset(&r, 0, sizeof r);
    r.headers = h;
    r.n_headers = 1;
    r.body = "<x/>";
    r.body_len = 4;
    CHECK(eb_rest_is_json(&r));
    h[0].value = "text/xml";
    r.body = " {\"a\":1}";
    r.body_len = strlen(r.body);
    CHECK(!eb_rest_is_json(&r)); /* an XML content type wins */
    h[0].value = "application/soap+xml";
    CHECK(!eb_rest_is_json(&r));
    r.n_headers = 0;
    CHECK(eb_rest_is_json(&r)); /* no content type: the body decides */
    r.body = "<a/>";
    r.body_len = 4;
    CHECK(!eb_rest_is_json(&r));
}

/* The budget of values: an array of n items holds n + 1 values; text inside strings (commas,
 * colons, brackets, escaped quotes and backslashes) is no value; more than EB_JSON_MAX_VALUES is
 * refused before jansson builds anything. */
static char *json_array_of(size_t n, const char *item)
{
    size_t il = strlen(item);
    char *b = malloc(n * (il + 1) + 3), *w = b;
    *w++ = '[';
    for (size_t i = 0; i < n; i++) {
        memcpy(w, item, il);
        w += il;
        *w++ = ',';
    }
    if (n)
        w--;
    *w++ = ']';
    *w = '\0';
    return b;
}

static void test_value_budget(void)
{
    static const char *const items[] = {"1", "{}", "[]", "\"a,b:{[\\\"]}\\\\\"", "{\"k\":[]}"};
    static const size_t per_item[] = {1, 1, 1, 1, 2};
    struct eb_err err;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        size_t fit = (EB_JSON_MAX_VALUES - 1) / per_item[i];
        char *ok = json_array_of(fit, items[i]);
        json_t *v = eb_json_load(ok, strlen(ok), "body", NULL, &err);
        CHECK(v != NULL);
        CHECK(v && json_array_size(v) == fit);
        json_decref(v);
        free(ok);
        char *over = json_array_of(fit + 1, items[i]);
        v = eb_json_load(over, strlen(over), "body", NULL, &err);
        CHECK(v == NULL && err.rc == EB_ERR_TOO_LARGE);
        CHECK_STR(err.msg, "body: more than 200000 JSON values");
        json_decref(v);
        free(over);
    }
}

int main(void)
{
    test_rest_example_equals_xml_form();
    test_conversion();
    test_interview();
    test_rest();
    test_value_budget();
    return check_report("test_json");
}

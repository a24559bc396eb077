/* Validation of mapped pushes: what refuses a push (id, event, data.applicationId), and the
 * tolerance pass: dates normalised or set aside with their path, ranges, the vendor's now rule. */
#include <string.h>

#include "candidate/candidate.h"
#include "candidate/schema.h"
#include "candidate/validate.h"
#include "check.h"
#include "util/arena.h"

static struct eb_candidate cand;
static struct eb_push push;
static struct eb_arena *arena;

static void reset(void)
{
    memset(&cand, 0, sizeof cand);
    eb_candidate_init(&eb_type_candidate, &cand);
    cand.application_id.v = 12798;
    cand.application_id.set = 1;
    memset(&push, 0, sizeof push);
    push.id = "f353e5ce-17e0-4783-bee4-4a6b734b20fe";
    push.event = "pushCandidate";
    push.triggered_at = "1505296287";
    push.data = &cand;
    eb_arena_reset(arena);
}

static int rejects(const char *needle)
{
    struct eb_err err = {0};
    eb_rc rc = eb_validate_push(&push, &err);
    int ok = rc == EB_ERR_INVALID && strstr(err.msg, needle) != NULL;
    if (!ok)
        fprintf(stderr, "expected a rejection naming %s, got rc=%d [%s]\n", needle, rc, err.msg);
    return ok;
}

/* Validates and tolerates; 1 when accepted with exactly the warning (field, value, reason), or
 * without any when field is NULL. */
static int accepts(const char *field, const char *value, const char *reason)
{
    struct eb_err err = {0};
    if (eb_validate_push(&push, &err) || eb_validate_tolerate(arena, &push, &err)) {
        fprintf(stderr, "refused: %s\n", err.msg);
        return 0;
    }
    if (!field)
        return push.n_warnings == 0;
    int ok = push.n_warnings == 1 && !strcmp(push.warnings[0].field, field) &&
             !strcmp(push.warnings[0].value, value) && !strcmp(push.warnings[0].reason, reason);
    if (!ok)
        fprintf(stderr, "expected warning %s [%s] %s, got %zu: %s [%s] %s\n", field, value, reason,
                push.n_warnings, push.n_warnings ? push.warnings[0].field : "",
                push.n_warnings ? push.warnings[0].value : "",
                push.n_warnings ? push.warnings[0].reason : "");
    return ok;
}

static void test_refusals(void)
{
    reset();
    CHECK(accepts(NULL, NULL, NULL));
    CHECK(cand.archived == EB_BOOL_UNSET);
    reset();
    push.id = NULL;
    CHECK(rejects("push id"));
    reset();
    push.id = "";
    CHECK(rejects("push id"));
    reset();
    push.event = "createInterviewsInfo";
    CHECK(rejects("event"));
    reset();
    push.event = NULL;
    CHECK(rejects("event"));
    reset();
    push.data = NULL;
    CHECK(rejects("data"));
    reset();
    cand.application_id.set = 0;
    CHECK(rejects("data.applicationId"));
    reset();
    cand.application_id.v = 0;
    CHECK(rejects("data.applicationId"));
}

static void test_tolerance(void)
{
    reset();
    cand.birth_year.set = 1;
    cand.birth_year.v = 19920;
    CHECK(accepts("data.birthYear", "19920", "out of range 1900-2100"));
    CHECK(!cand.birth_year.set);
    reset();
    cand.experience.set = 1;
    cand.experience.v = -5;
    CHECK(accepts("data.experience", "-5", "must be -1 or more"));
    CHECK(!cand.experience.set);
    reset();
    push.triggered_at = "yesterday";
    CHECK(accepts("triggeredAt", "yesterday", "not a timestamp"));
    CHECK_STR(push.triggered_at, "yesterday"); /* kept as sent in push_log */
    reset();
    cand.birth_date = "2020-13-45";
    CHECK(accepts("data.birthDate", "2020-13-45", "not a date"));
    CHECK(cand.birth_date == NULL);

    /* dates nested in arrays and objects: normalised, or set aside with their path */
    struct eb_experience ex[2];
    memset(ex, 0, sizeof ex);
    eb_candidate_init(&eb_type_experience, &ex[0]);
    eb_candidate_init(&eb_type_experience, &ex[1]);
    reset();
    ex[0].start_date = "2015-5";
    ex[1].start_date = "March 2015";
    cand.experience_info = ex;
    cand.experience_info_n = 2;
    CHECK(accepts("data.experienceInfo[1].startDate", "March 2015", "not a date"));
    CHECK_STR(ex[0].start_date, "2015-05");
    CHECK(ex[1].start_date == NULL);
    struct eb_offer offer;
    memset(&offer, 0, sizeof offer);
    eb_candidate_init(&eb_type_offer, &offer);
    reset();
    offer.checkin_date = "2018-5-3";
    offer.finished_at = "2018-4-23T09:10:26.000Z";
    cand.offer = &offer;
    CHECK(accepts(NULL, NULL, NULL));
    CHECK_STR(offer.checkin_date, "2018-05-03");
    CHECK_STR(offer.finished_at, "2018-04-23T09:10:26.000Z");
    offer.checkin_date = "5/3/2018";
    CHECK(accepts("data.offer.checkinDate", "5/3/2018", "not a date"));
    /* several: in the record's order */
    reset();
    offer.checkin_date = "x";
    offer.finished_at = "y";
    cand.offer = &offer;
    cand.birth_date = "z";
    struct eb_err err = {0};
    CHECK(eb_validate_tolerate(arena, &push, &err) == EB_OK && push.n_warnings == 3);
    CHECK(push.n_warnings == 3 && !strcmp(push.warnings[0].field, "data.birthDate") &&
          !strcmp(push.warnings[1].field, "data.offer.checkinDate") &&
          !strcmp(push.warnings[2].field, "data.offer.finishedAt"));
}

static void test_now_rule(void)
{
    struct eb_education ed[2];
    struct eb_project pr[1];
    memset(ed, 0, sizeof ed);
    memset(pr, 0, sizeof pr);
    eb_candidate_init(&eb_type_education, &ed[0]);
    eb_candidate_init(&eb_type_education, &ed[1]);
    eb_candidate_init(&eb_type_project, &pr[0]);
    reset();
    ed[0].end_date = "至今";
    ed[0].now = 1;
    ed[1].end_date = "至今"; /* now unset: a date no rule reads */
    pr[0].end_date = "2019-01";
    pr[0].now = 1;
    cand.education_info = ed;
    cand.education_info_n = 2;
    cand.project_info = pr;
    cand.project_info_n = 1;
    CHECK(accepts("data.educationInfo[1].endDate", "至今", "not a date"));
    CHECK(ed[0].end_date == NULL && ed[1].end_date == NULL && pr[0].end_date == NULL);

    /* a time-period custom field: the endDate member of its JSON value becomes null */
    static const struct {
        const char *value;
        int now;
        const char *want;
    } cf[] = {
        {"{\"startDate\":\"2004-01\",\"endDate\":\"2005-01\"}", 1,
         "{\"startDate\":\"2004-01\",\"endDate\":null}"},
        {"{\"endDate\":\"至今\",\"startDate\":\"2004-01\"}", 1,
         "{\"endDate\":null,\"startDate\":\"2004-01\"}"},
        {"{\"a\":{\"endDate\":1},\"b\":\"\\\"endDate\\\":\",\"endDate\":[1,{\"x\":2}]}", 1,
         "{\"a\":{\"endDate\":1},\"b\":\"\\\"endDate\\\":\",\"endDate\":null}"},
        {"{\"startDate\":\"2004-01\",\"endDate\":\"2005-01\"}", 0,
         "{\"startDate\":\"2004-01\",\"endDate\":\"2005-01\"}"},
        {"2018-4-23T09:10:26.000Z", 1, "2018-4-23T09:10:26.000Z"},
        {"{\"endDate\":", 1, "{\"endDate\":"},
        {"{\"startDate\":\"2004-01\"}", 1, "{\"startDate\":\"2004-01\"}"},
    };
    for (size_t i = 0; i < sizeof cf / sizeof cf[0]; i++) {
        struct eb_custom_field f;
        memset(&f, 0, sizeof f);
        eb_candidate_init(&eb_type_custom_field, &f);
        reset();
        f.value = cf[i].value;
        f.now = cf[i].now;
        cand.custom_fields = &f;
        cand.custom_fields_n = 1;
        CHECK(accepts(NULL, NULL, NULL));
        CHECK_STR(f.value, cf[i].want);
    }
}

int main(void)
{
    arena = eb_arena_new(1 << 20);
    test_refusals();
    test_tolerance();
    test_now_rule();
    eb_arena_free(arena);
    return check_report("test_validate");
}

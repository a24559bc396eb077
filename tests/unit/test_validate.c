/* Validation of mapped pushes: required fields, event, ranges, dates anywhere in the record. */
#include <string.h>

#include "candidate/candidate.h"
#include "candidate/schema.h"
#include "candidate/validate.h"
#include "check.h"

static struct eb_candidate cand;
static struct eb_push push;

static void reset(void)
{
    memset(&cand, 0, sizeof cand);
    eb_candidate_init(&eb_type_candidate, &cand);
    cand.application_id.v = 12798;
    cand.application_id.set = 1;
    push.id = "f353e5ce-17e0-4783-bee4-4a6b734b20fe";
    push.event = "pushCandidate";
    push.triggered_at = "1505296287";
    push.data = &cand;
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

int main(void)
{
    struct eb_err err = {0};
    reset();
    CHECK(eb_validate_push(&push, &err) == EB_OK);
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
    reset();
    cand.birth_year.set = 1;
    cand.birth_year.v = 19920;
    CHECK(rejects("data.birthYear"));
    reset();
    push.triggered_at = "yesterday";
    CHECK(rejects("triggeredAt"));
    reset();
    cand.birth_date = "2020-13-45";
    CHECK(rejects("data.birthDate"));

    /* dates nested in arrays and objects are checked too, with their path */
    struct eb_experience ex[2];
    memset(ex, 0, sizeof ex);
    reset();
    ex[1].start_date = "March 2015";
    cand.experience_info = ex;
    cand.experience_info_n = 2;
    CHECK(rejects("data.experienceInfo[1].startDate"));
    struct eb_offer offer;
    memset(&offer, 0, sizeof offer);
    reset();
    offer.checkin_date = "2018-5-3";
    offer.finished_at = "2018-4-23T09:10:26.000Z";
    cand.offer = &offer;
    CHECK(eb_validate_push(&push, &err) == EB_OK);
    offer.checkin_date = "5/3/2018";
    CHECK(rejects("data.offer.checkinDate"));

    /* the vendor's date formats */
    const char *good[] = {"2018",
                          "2018-09",
                          "2018-9",
                          "2018-09-27",
                          "2018-5-3",
                          "2018-09-27T02:00:00.000Z",
                          "2018-4-23T09:10:26.000Z",
                          "2020-03-30T05:53:28+08:00",
                          "2018-09-27 10:00:00",
                          "2018/09/27",
                          "1505296287",
                          "1597392000000",
                          "2018-09-27T02:00Z"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int ok = eb_validate_date(good[i]);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "rejected good date %s\n", good[i]);
    }
    const char *bad[] = {"",
                         "18",
                         "2018-13",
                         "2018-00-10",
                         "2018-01-32",
                         "2018-01-01T25:00",
                         "2018-01-01T10:61",
                         "abcd",
                         "2018-01-01Tx",
                         "2018-01-01+25:00",
                         "12345",
                         "2018-1-1-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int ok = !eb_validate_date(bad[i]);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "accepted bad date %s\n", bad[i]);
    }
    return check_report("test_validate");
}

/* The sample push the adapter tests share (test_sqlite.c, test_postgres.c): a candidate with
 * every kind of nesting and Chinese text, its push_log record, and a store helper. Header-only:
 * each test is one executable. */
#ifndef EB_SAMPLE_PUSH_H
#define EB_SAMPLE_PUSH_H

#include <stdio.h>
#include <string.h>

#include "adapters/adapter.h"
#include "bridge/bridge.h"
#include "candidate/candidate.h"

/* A candidate with every kind of nesting, and the storage it points into. */
struct sample {
    struct eb_push push;
    struct eb_candidate c;
    struct eb_experience exp[2];
    struct eb_education edu[1];
    struct eb_custom_field cf[2];
    struct eb_interviewer iv[1];
    struct eb_feedback_item fb[1];
    struct eb_subject subj[2];
    const char *options[2];
    struct eb_job job;
    struct eb_name_value job_cf[1];
    struct eb_offer offer;
    struct eb_offer_creator creator;
    struct eb_headcount hc;
    struct eb_job_rank rank;
    const char *id_cards[2];
    char id[64];
};

/* n_exp experiences (0..2), and the interviewer tree when deep. */
static void sample_init(struct sample *s, const char *push_id, int64_t app_id, size_t n_exp,
                        int deep)
{
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", push_id);
    s->push.id = s->id;
    s->push.event = "pushCandidate";
    s->push.triggered_at = "1700000000000";
    s->push.data = &s->c;
    struct eb_candidate *c = &s->c;
    c->application_id = (struct eb_i64){app_id, 1};
    c->candidate_id = (struct eb_i64){555, 1};
    c->name = "张三";
    c->phone = "13800000000";
    c->email = "zhangsan@example.com";
    c->gender = "男";
    c->birth_year = (struct eb_i64){1990, 1};
    c->citizen_id = "110101199001011234";
    c->native_place_code = (struct eb_i64){110000, 1};
    c->archived = 1;
    c->probation = "{\"months\":3}";

    s->exp[0] = (struct eb_experience){
        .company = "甲公司", .title = "工程师", .now = 0, .start_date = "2015-07-01"};
    s->exp[1] = (struct eb_experience){.company = "乙公司", .title = "高级工程师", .now = 1};
    c->experience_info = s->exp;
    c->experience_info_n = n_exp;
    s->edu[0] = (struct eb_education){
        .school = "清华大学", .academic_degree = "硕士", .now = EB_BOOL_UNSET};
    c->education_info = s->edu;
    c->education_info_n = 1;
    s->cf[0] = (struct eb_custom_field){
        .name = "身高", .value = "180", .now = EB_BOOL_UNSET, .index = "1"};
    s->cf[1] = (struct eb_custom_field){.name = "爱好",
                                        .value = "[\"读书\",\"跑步\"]",
                                        .now = EB_BOOL_UNSET,
                                        .index = "2",
                                        .section = "基本"};
    c->custom_fields = s->cf;
    c->custom_fields_n = 2;
    s->id_cards[0] = "https://files.example.com/front1.jpg";
    s->id_cards[1] = "https://files.example.com/front2.jpg";
    c->id_card_front_list = s->id_cards;
    c->id_card_front_list_n = 2;

    s->job_cf[0] = (struct eb_name_value){"职级", "P6", NULL};
    s->job = (struct eb_job){.job_id = "J-1",
                             .title = "高级工程师",
                             .department = "研发部",
                             .custom_fields = s->job_cf,
                             .custom_fields_n = 1};
    c->job = &s->job;

    s->creator = (struct eb_offer_creator){"李四", "lisi@example.com"};
    s->hc = (struct eb_headcount){.id = {9, 1}, .number = "HC-001", .name = "后端"};
    s->rank = (struct eb_job_rank){.name = "专业", .type = "T", .level = "P6"};
    s->offer = (struct eb_offer){.salary_number = "12345.60",
                                 .checkin_date = "2024-03-01",
                                 .creator = &s->creator,
                                 .hc_info = &s->hc,
                                 .job_rank_info = &s->rank};
    c->offer = &s->offer;

    if (deep) {
        s->options[0] = "优秀";
        s->options[1] = "良好";
        s->subj[0] = (struct eb_subject){.type = {1, 1}, .title = "沟通"};
        s->subj[1] = (struct eb_subject){
            .type = {2, 1}, .title = "技术", .options = s->options, .options_n = 2};
        s->fb[0] =
            (struct eb_feedback_item){.title = "评价表", .subjects = s->subj, .subjects_n = 2};
        s->iv[0] = (struct eb_interviewer){.name = "王五",
                                           .round = {2, 1},
                                           .feedback_template_result = s->fb,
                                           .feedback_template_result_n = 1};
        c->interviewers = s->iv;
        c->interviewers_n = 1;
    }
}

static struct eb_push_record record(const char *push_id, int64_t app_id, int64_t received_at)
{
    struct eb_push_record r;
    memset(&r, 0, sizeof r);
    r.push_id = push_id;
    r.event = "pushCandidate";
    r.triggered_at = "1700000000000";
    r.application_id = app_id;
    r.has_application_id = app_id != 0;
    r.candidate_id = 555;
    r.has_candidate_id = app_id != 0;
    r.received_at_ms = received_at;
    r.payload = "<pushCandidate><id>x</id></pushCandidate>";
    r.payload_len = strlen(r.payload);
    r.raw = "RAW BODY";
    r.raw_len = strlen(r.raw);
    r.outcome = EB_OUTCOME_STORED;
    return r;
}

static eb_rc store(struct eb_adapter *a, struct sample *s, int64_t received_at,
                   struct eb_stored *out)
{
    struct eb_push_record r = record(s->id, s->c.application_id.v, received_at);
    struct eb_err err;
    eb_rc rc = eb_bridge_store_push(a, &s->push, &r, out, &err);
    if (rc)
        fprintf(stderr, "store_push %s: %s\n", s->id, err.msg);
    return rc;
}

#endif

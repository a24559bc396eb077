/* Adapter tests shared by test_sqlite.c and test_postgres.c: the same pushes and the same
 * checks on what each database holds afterwards. The including file defines, before including:
 *   peek_t                       its database handle type
 *   peek_t *peek(void)           a fresh connection to the database under test
 *   void peek_close(peek_t *)
 *   int64_t q_int(peek_t *, const char *sql), const char *q_text(peek_t *, const char *sql)
 *   int64_t total_rows(peek_t *)  rows in every table
 * and includes check.h and sample_push.h. Header-only: each test is one executable. */
#ifndef EB_ADAPTER_TESTS_H
#define EB_ADAPTER_TESTS_H

/* The same push id again, with other data: nothing is written, the recorded outcome answers.
 * Runs after test_store_and_read_back stored push-1 for 1001. */
static void test_duplicate(struct eb_adapter *a)
{
    static struct sample s;
    struct eb_stored out;
    peek_t *db = peek();
    int64_t before = total_rows(db);
    /* the same push id with different data: nothing is written */
    sample_init(&s, "push-1", 1001, 1, 0);
    s.c.name = "Someone Else";
    CHECK(store(a, &s, 1700000009999, &out) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED);
    CHECK(out.duplicate == 1);
    CHECK(total_rows(db) == before);
    CHECK_STR(q_text(db, "SELECT name FROM candidate WHERE application_id = 1001"), "张三");
    CHECK(q_int(db, "SELECT received_at FROM push_log WHERE push_id = 'push-1'") == 1700000000123);
    peek_close(db);
}

static void test_replacement(struct eb_adapter *a)
{
    static struct sample other, s;
    struct eb_stored out;
    /* another candidate, which must not be touched */
    sample_init(&other, "push-other", 2002, 2, 1);
    CHECK(store(a, &other, 1700000000200, &out) == EB_OK);
    peek_t *db = peek();
    int64_t other_rows = q_int(db, "SELECT count(*) FROM candidate_interviewer_feedback_subject "
                                   "WHERE application_id = 2002");
    CHECK(other_rows == 2);

    /* a new push for 1001 with fewer children */
    sample_init(&s, "push-2", 1001, 1, 0);
    s.c.name = "张三丰";
    s.c.custom_fields_n = 0;
    s.c.job = NULL;
    CHECK(store(a, &s, 1700000000300, &out) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    CHECK(q_int(db, "SELECT count(*) FROM candidate WHERE application_id = 1001") == 1);
    CHECK_STR(q_text(db, "SELECT name FROM candidate WHERE application_id = 1001"), "张三丰");
    CHECK_STR(q_text(db, "SELECT last_push_id FROM candidate WHERE application_id = 1001"),
              "push-2");
    CHECK_STR(q_text(db, "SELECT job_title FROM candidate WHERE application_id = 1001"), "(null)");
    CHECK(q_int(db, "SELECT updated_at FROM candidate WHERE application_id = 1001") ==
          1700000000300);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 1001") == 1);
    CHECK_STR(q_text(db, "SELECT company FROM candidate_experience WHERE application_id = 1001"),
              "甲公司");
    static const char *const gone[] = {
        "candidate_custom_field",
        "candidate_job_custom_field",
        "candidate_interviewer",
        "candidate_interviewer_feedback",
        "candidate_interviewer_feedback_subject",
        "candidate_interviewer_feedback_subject_option",
    };
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE application_id = 1001", gone[i]);
        if (q_int(db, sql) != 0)
            fprintf(stderr, "%s still has rows\n", gone[i]);
        CHECK(q_int(db, sql) == 0);
    }
    CHECK(q_int(db, "SELECT count(*) FROM candidate_education WHERE application_id = 1001") == 1);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_id_card_front WHERE application_id = 1001") ==
          2);
    /* the other candidate is intact */
    CHECK(q_int(db, "SELECT count(*) FROM candidate_interviewer_feedback_subject WHERE "
                    "application_id = 2002") == other_rows);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 2002") == 2);
    CHECK(q_int(db, "SELECT count(*) FROM push_log WHERE application_id = 1001") == 2);
    peek_close(db);
}

#endif

/* Adapter tests shared by test_sqlite.c and test_postgres.c: the same pushes and the same
 * checks on what each database holds afterwards. The including file defines, before including:
 *   peek_t                       its database handle type
 *   peek_t *peek(void)           a fresh connection to the database under test
 *   void peek_close(peek_t *)
 *   int64_t q_int(peek_t *, const char *sql), const char *q_text(peek_t *, const char *sql)
 *   int64_t total_rows(peek_t *)  rows in every table
 * and what differs between the databases:
 *   INT_TEXT(digits)             what q_text reads for an INTEGER value written as digits (SQLite's
 *                                q_text tells integers from text: the check covers the type)
 *   SQL_TYPEOF                   the SQL function naming the type of a value
 *   SQL_HEX(col)                 SQL for the lower-case hex digits of the BLOB column col
 *   CLEANS_TEXT                  1 when text that is not valid UTF-8 is stored with U+FFFD for
 *                                each bad byte (PostgreSQL text cannot hold it), 0 when as given
 *   void boom_on(peek_t *), void boom_off(peek_t *)
 *                                make an insert of the option value 'boom' fail with an error
 *                                naming "boom", and stop it
 *   BOOM_CODE                    the database's code for that error, which the adapter's message
 *                                names
 *   REWRITES_METRIC              the group-commit rewrites counter of the adapter's writer
 *   void hold_writes(peek_t *), void release_writes(peek_t *)
 *                                make the adapter's writes wait (another transaction's lock), and
 *                                let them go
 * and includes pthread.h, time.h, check.h and sample_push.h. Header-only: each test is one executable. The
 * tests run in the order below, each on what the ones before it stored. */
#ifndef EB_ADAPTER_TESTS_H
#define EB_ADAPTER_TESTS_H

/* A nested candidate stored in a fresh database and read back column by column. */
static void test_store_and_read_back(struct eb_adapter *a)
{
    static struct sample s;
    struct eb_stored out;
    sample_init(&s, "push-1", 1001, 2, 1);
    CHECK(store(a, &s, 1700000000123, &out) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    CHECK_STR(out.message, "");

    peek_t *db = peek();
    /* candidate: scalars, flattened objects, kinds */
    CHECK(q_int(db, "SELECT count(*) FROM candidate WHERE application_id = 1001") == 1);
#define CAND(col) q_text(db, "SELECT " col " FROM candidate WHERE application_id = 1001")
    CHECK_STR(CAND("candidate_id"), INT_TEXT("555"));
    CHECK_STR(CAND("last_push_id"), "push-1");
    CHECK_STR(CAND("updated_at"), INT_TEXT("1700000000123"));
    CHECK_STR(CAND("name"), "张三");
    CHECK_STR(CAND("phone"), "13800000000");
    CHECK_STR(CAND("email"), "zhangsan@example.com");
    CHECK_STR(CAND("gender"), "男");
    CHECK_STR(CAND("birth_year"), INT_TEXT("1990"));
    CHECK_STR(CAND("citizen_id"), "110101199001011234");
    CHECK_STR(CAND("native_place_code"), INT_TEXT("110000"));
    CHECK_STR(CAND("archived"), INT_TEXT("1"));
    CHECK_STR(CAND("probation"), "{\"months\":3}");
    CHECK_STR(CAND("job_id"), "J-1");
    CHECK_STR(CAND("job_title"), "高级工程师");
    CHECK_STR(CAND("job_department"), "研发部");
    /* a decimal is its exact text (the trailing zero kept), not a number */
    CHECK_STR(CAND("offer_salary_number"), "12345.60");
    CHECK_STR(CAND(SQL_TYPEOF "(offer_salary_number)"), "text");
    CHECK_STR(CAND("offer_checkin_date"), "2024-03-01");
    CHECK_STR(CAND("offer_creator_name"), "李四");
    CHECK_STR(CAND("offer_creator_email"), "lisi@example.com");
    CHECK_STR(CAND("offer_hc_info_id"), INT_TEXT("9"));
    CHECK_STR(CAND("offer_hc_info_number"), "HC-001");
    CHECK_STR(CAND("offer_job_rank_info_level"), "P6");
    CHECK_STR(CAND("referrer_name"), "(null)");
    CHECK_STR(CAND("gender_code"), "(null)");
    CHECK_STR(CAND("offer_attachment_url"), "(null)");
#undef CAND
    /* arrays: the counts of whole tables too, for no row stored under another key */
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 1001") == 2);
    CHECK_STR(q_text(db, "SELECT company FROM candidate_experience WHERE application_id = 1001 "
                         "AND seq = 0"),
              "甲公司");
    CHECK_STR(q_text(db, "SELECT company FROM candidate_experience WHERE application_id = 1001 "
                         "AND seq = 1"),
              "乙公司");
    CHECK_STR(q_text(db, "SELECT start_date FROM candidate_experience WHERE seq = 0"),
              "2015-07-01");
    CHECK_STR(q_text(db, "SELECT now FROM candidate_experience WHERE seq = 0"), INT_TEXT("0"));
    CHECK_STR(q_text(db, "SELECT now FROM candidate_experience WHERE application_id = 1001 AND "
                         "seq = 1"),
              INT_TEXT("1"));
    CHECK(q_int(db, "SELECT count(*) FROM candidate_education") == 1);
    CHECK_STR(q_text(db, "SELECT school FROM candidate_education"), "清华大学");
    CHECK_STR(q_text(db, "SELECT now FROM candidate_education"), "(null)");
    CHECK(q_int(db, "SELECT count(*) FROM candidate_custom_field") == 2);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_custom_field WHERE application_id = 1001") ==
          2);
    CHECK_STR(q_text(db, "SELECT \"index\" FROM candidate_custom_field WHERE seq = 1"), "2");
    CHECK_STR(q_text(db, "SELECT value FROM candidate_custom_field WHERE seq = 1"),
              "[\"读书\",\"跑步\"]");
    CHECK_STR(q_text(db, "SELECT section FROM candidate_custom_field WHERE seq = 1"), "基本");
    CHECK(q_int(db, "SELECT count(*) FROM candidate_id_card_front") == 2);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_id_card_front WHERE application_id = 1001") ==
          2);
    CHECK_STR(q_text(db, "SELECT value FROM candidate_id_card_front WHERE application_id = 1001 "
                         "AND seq = 0"),
              "https://files.example.com/front1.jpg");
    CHECK_STR(q_text(db, "SELECT value FROM candidate_id_card_front WHERE application_id = 1001 "
                         "AND seq = 1"),
              "https://files.example.com/front2.jpg");
    CHECK(
        q_int(db, "SELECT count(*) FROM candidate_job_custom_field WHERE application_id = 1001") ==
        1);
    CHECK_STR(q_text(db, "SELECT value FROM candidate_job_custom_field WHERE seq = 0"), "P6");
    CHECK_STR(q_text(db, "SELECT name FROM candidate_job_custom_field WHERE seq = 0"), "职级");
    /* nested arrays and their keys */
    CHECK_STR(q_text(db, "SELECT name FROM candidate_interviewer WHERE seq = 0"), "王五");
    CHECK_STR(q_text(db, "SELECT round FROM candidate_interviewer WHERE seq = 0"), INT_TEXT("2"));
    CHECK_STR(q_text(db, "SELECT title FROM candidate_interviewer_feedback WHERE "
                         "application_id = 1001 AND interviewer_seq = 0 AND seq = 0"),
              "评价表");
    CHECK(q_int(db, "SELECT count(*) FROM candidate_interviewer_feedback_subject") == 2);
    CHECK_STR(q_text(db, "SELECT title FROM candidate_interviewer_feedback_subject WHERE "
                         "interviewer_seq = 0 AND feedback_seq = 0 AND seq = 1"),
              "技术");
    CHECK_STR(q_text(db, "SELECT type FROM candidate_interviewer_feedback_subject WHERE seq = 1"),
              INT_TEXT("2"));
    CHECK(q_int(db, "SELECT count(*) FROM candidate_interviewer_feedback_subject_option") == 2);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_interviewer_feedback_subject_option WHERE "
                    "application_id = 1001 AND interviewer_seq = 0 AND feedback_seq = 0 AND "
                    "subject_seq = 1") == 2);
    CHECK_STR(q_text(db, "SELECT value FROM candidate_interviewer_feedback_subject_option WHERE "
                         "application_id = 1001 AND interviewer_seq = 0 AND feedback_seq = 0 AND "
                         "subject_seq = 1 AND seq = 0"),
              "优秀");
    CHECK_STR(q_text(db, "SELECT value FROM candidate_interviewer_feedback_subject_option WHERE "
                         "subject_seq = 1 AND seq = 1"),
              "良好");
    /* push_log */
#define LOG(col) q_text(db, "SELECT " col " FROM push_log WHERE push_id = 'push-1'")
    CHECK_STR(LOG("outcome"), "stored");
    CHECK_STR(LOG("event"), "pushCandidate");
    CHECK_STR(LOG("triggered_at"), "1700000000000");
    CHECK_STR(LOG("received_at"), INT_TEXT("1700000000123"));
    CHECK_STR(LOG("application_id"), INT_TEXT("1001"));
    CHECK_STR(LOG("candidate_id"), INT_TEXT("555"));
    CHECK_STR(LOG("message"), "(null)");
    CHECK_STR(LOG("payload"), "<pushCandidate><id>x</id></pushCandidate>");
    CHECK_STR(LOG("raw"), "(null)"); /* kept only for pushes that were not stored */
#undef LOG
    peek_close(db);
}

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

/* A push that cannot be stored: recorded as rejected with its raw body, bytes as received (not
 * text: a NUL and bytes that are no UTF-8), and a message cut inside a character. */
static void test_rejected(struct eb_adapter *a)
{
    static const char raw[] = "<pushCandidate>\0\xff\xfe garbage";
    static const char cut[] = "data.applicationId: bad \xe4\xb8";
    const char *stored = CLEANS_TEXT ? "data.applicationId: bad \xef\xbf\xbd\xef\xbf\xbd" : cut;
    struct eb_push_record r = record("push-bad", 0, 1700000000400);
    struct eb_stored out;
    struct eb_err err;
    r.outcome = EB_OUTCOME_REJECTED;
    r.message = cut;
    r.payload = NULL;
    r.payload_len = 0;
    r.raw = raw;
    r.raw_len = sizeof raw - 1;
    peek_t *db = peek();
    int64_t candidates = q_int(db, "SELECT count(*) FROM candidate");
    CHECK(eb_bridge_store_push(a, NULL, &r, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_REJECTED && out.duplicate == 0);
    CHECK_STR(out.message, cut);
#define LOG(col) q_text(db, "SELECT " col " FROM push_log WHERE push_id = 'push-bad'")
    CHECK_STR(LOG("outcome"), "rejected");
    CHECK_STR(LOG("message"), stored);
    CHECK_STR(LOG(SQL_HEX("raw")), "3c7075736843616e6469646174653e00fffe2067617262616765");
    CHECK_STR(LOG("payload"), "(null)");
    CHECK_STR(LOG("application_id"), "(null)");
#undef LOG
    CHECK(q_int(db, "SELECT count(*) FROM candidate") == candidates);
    /* the same id again answers the recorded rejection */
    r.message = "something else";
    CHECK(eb_bridge_store_push(a, NULL, &r, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_REJECTED && out.duplicate == 1);
    CHECK_STR(out.message, stored);
    /* a push without applicationId is never stored */
    static struct sample s;
    sample_init(&s, "push-nokey", 3003, 1, 0);
    s.c.application_id.set = 0;
    struct eb_push_record r2 = record("push-nokey", 0, 1);
    CHECK(eb_bridge_store_push(a, &s.push, &r2, &out, &err) == EB_ERR_INVALID);
    CHECK(q_int(db, "SELECT count(*) FROM push_log WHERE push_id = 'push-nokey'") == 0);
    peek_close(db);
}

/* A push the database could not take is logged as failed, and its retry stored over it. */
static void test_failed_then_retried(struct eb_adapter *a)
{
    struct eb_push_record r = record("push-f", 4004, 1700000000500);
    struct eb_stored out;
    struct eb_err err;
    r.outcome = EB_OUTCOME_FAILED;
    r.message = "database unavailable, push not stored; retry later";
    peek_t *db = peek();
    CHECK(eb_bridge_log_failure(a, &r, &err) == EB_OK);
    CHECK_STR(q_text(db, "SELECT outcome FROM push_log WHERE push_id = 'push-f'"), "failed");
    CHECK_STR(q_text(db, "SELECT " SQL_HEX("raw") " FROM push_log WHERE push_id = 'push-f'"),
              "52415720424f4459"); /* RAW BODY */
    /* a second failure of the same id updates the entry */
    r.received_at_ms = 1700000000600;
    CHECK(eb_bridge_log_failure(a, &r, &err) == EB_OK);
    CHECK(q_int(db, "SELECT received_at FROM push_log WHERE push_id = 'push-f'") == 1700000000600);
    CHECK(q_int(db, "SELECT count(*) FROM push_log WHERE push_id = 'push-f'") == 1);
    /* the retry is stored over it */
    static struct sample s;
    sample_init(&s, "push-f", 4004, 2, 0);
    CHECK(store(a, &s, 1700000000700, &out) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    CHECK_STR(q_text(db, "SELECT outcome FROM push_log WHERE push_id = 'push-f'"), "stored");
    CHECK_STR(q_text(db, "SELECT message FROM push_log WHERE push_id = 'push-f'"), "(null)");
    CHECK_STR(q_text(db, "SELECT raw FROM push_log WHERE push_id = 'push-f'"), "(null)");
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 4004") == 2);
    /* a late failure report does not overwrite a stored push */
    CHECK(eb_bridge_log_failure(a, &r, &err) == EB_OK);
    CHECK_STR(q_text(db, "SELECT outcome FROM push_log WHERE push_id = 'push-f'"), "stored");
    /* nor a rejected one; but a failed entry may become rejected */
    struct eb_push_record r2 = record("push-f2", 0, 1700000000800);
    r2.outcome = EB_OUTCOME_FAILED;
    r2.message = "database unavailable";
    CHECK(eb_bridge_log_failure(a, &r2, &err) == EB_OK);
    r2.outcome = EB_OUTCOME_REJECTED;
    r2.message = "data.applicationId is required";
    CHECK(eb_bridge_store_push(a, NULL, &r2, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_REJECTED && out.duplicate == 0);
    CHECK_STR(q_text(db, "SELECT outcome FROM push_log WHERE push_id = 'push-f2'"), "rejected");
    r2.outcome = EB_OUTCOME_FAILED;
    CHECK(eb_bridge_log_failure(a, &r2, &err) == EB_OK);
    CHECK_STR(q_text(db, "SELECT outcome FROM push_log WHERE push_id = 'push-f2'"), "rejected");
    peek_close(db);
}

/* A failure in the middle of a push leaves nothing of it, and the instance keeps working. */
static void test_atomic(struct eb_adapter *a)
{
    static struct sample s;
    struct eb_stored out;
    struct eb_err err;
    peek_t *db = peek();
    boom_on(db);
    int64_t before = total_rows(db);
    /* replacing 2002 (which has rows everywhere) fails at the last table */
    sample_init(&s, "push-boom", 2002, 1, 1);
    s.options[1] = "boom";
    s.c.name = "changed";
    struct eb_push_record r = record(s.id, 2002, 1700000000900);
    CHECK(eb_bridge_store_push(a, &s.push, &r, &out, &err) == EB_ERR_DB);
    CHECK(strstr(err.msg, "boom") != NULL);
    CHECK(strstr(err.msg, BOOM_CODE) != NULL);
    CHECK(total_rows(db) == before);
    CHECK_STR(q_text(db, "SELECT name FROM candidate WHERE application_id = 2002"), "张三");
    CHECK(q_int(db, "SELECT count(*) FROM push_log WHERE push_id = 'push-boom'") == 0);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 2002") == 2);
    boom_off(db);
    /* the same instance stores the retry */
    CHECK(eb_bridge_store_push(a, &s.push, &r, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    CHECK_STR(q_text(db, "SELECT name FROM candidate WHERE application_id = 2002"), "changed");
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 2002") == 1);
    peek_close(db);
}

/* ---- group commit with a failure inside a batch ------------------------------------------ */

enum { BATCH_N = 12 };

struct batch_one {
    struct sample s;
    struct eb_push_record r;
    struct eb_push_job job;
};

static pthread_mutex_t batch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t batch_cv = PTHREAD_COND_INITIALIZER;
static int batch_done;

/* The value of the sample line "name value" of GET /metrics' text; 0 when there is none. */
static double batch_metric(const char *name)
{
    struct eb_buf b;
    double v = 0;
    eb_buf_init(&b, 1 << 20);
    if (eb_metrics_render(&b) == EB_OK && b.data && eb_buf_append(&b, "", 1) == EB_OK) {
        size_t n = strlen(name);
        for (const char *l = b.data; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
            if (strncmp(l, name, n) == 0 && l[n] == ' ')
                v = strtod(l + n + 1, NULL);
    }
    eb_buf_free(&b);
    return v;
}

static void batch_finished(struct eb_push_job *job)
{
    (void)job;
    pthread_mutex_lock(&batch_lock);
    batch_done++;
    pthread_cond_signal(&batch_cv);
    pthread_mutex_unlock(&batch_lock);
}

/* Pushes handed over without waiting while the database is held pile up and are written
 * together (group commit, where the adapter shares a writer); the ones that fail (boom) are
 * rolled back alone and the others are stored, each answered after the commit. Some replace a
 * candidate stored before (BATCH_PRE), a boom among them too: an adapter may read a push's
 * rows only with the next push's claim (PostgreSQL), or carry a new candidate's to the commit. */
#define BATCH_PRE(i) ((i) % 8 == 1 || (i) % 8 == 2)
static void test_batch_with_failures(struct eb_adapter *a)
{
    static struct batch_one all[BATCH_N];
    peek_t *db = peek();
    int pre_booms = 0;
    for (int i = 0; i < BATCH_N; i++) {
        if (!BATCH_PRE(i))
            continue;
        char id[32];
        struct eb_stored out;
        snprintf(id, sizeof id, "batch-pre-%d", i);
        sample_init(&all[i].s, id, 7000 + i, 2, 1);
        CHECK(store(a, &all[i].s, 1700000008000 + i, &out) == EB_OK);
        pre_booms += i % 4 == 1;
    }
    boom_on(db);
    hold_writes(db);
    int booms = 0;
    double rewrites = batch_metric(REWRITES_METRIC);
    batch_done = 0;
    for (int i = 0; i < BATCH_N; i++) {
        char id[32];
        snprintf(id, sizeof id, "batch-%d", i);
        sample_init(&all[i].s, id, 7000 + i, 1, 1);
        if (i % 4 == 1) {
            all[i].s.options[1] = "boom";
            booms++;
        }
        all[i].r = record(all[i].s.id, 7000 + i, 1700000009000 + i);
        memset(&all[i].job, 0, sizeof all[i].job);
        all[i].job.kind = EB_JOB_STORE;
        all[i].job.p = &all[i].s.push;
        all[i].job.rec = &all[i].r;
        all[i].job.done = batch_finished;
        eb_bridge_write(a, &all[i].job);
    }
    struct timespec pause = {0, 200 * 1000000L};
    nanosleep(&pause, NULL);
    release_writes(db);
    pthread_mutex_lock(&batch_lock);
    while (batch_done < BATCH_N)
        pthread_cond_wait(&batch_cv, &batch_lock);
    pthread_mutex_unlock(&batch_lock);
    int stored = 0, failed = 0;
    for (int i = 0; i < BATCH_N; i++) {
        if (all[i].job.rc == EB_OK && all[i].job.out.outcome == EB_OUTCOME_STORED &&
            !all[i].job.out.duplicate)
            stored++;
        else if (all[i].job.rc == EB_ERR_DB && strstr(all[i].job.err.msg, "boom"))
            failed++;
    }
    CHECK(stored == BATCH_N - booms);
    CHECK(failed == booms);
    CHECK(q_int(db, "SELECT count(*) FROM push_log WHERE push_id LIKE 'batch-%' AND push_id NOT "
                    "LIKE 'batch-pre-%'") == BATCH_N - booms);
    CHECK(q_int(db, "SELECT count(*) FROM candidate WHERE application_id BETWEEN 7000 AND 7011") ==
          BATCH_N - booms + pre_booms);
    /* a failed replacement leaves the candidate as it was */
    CHECK(q_int(db, "SELECT count(*) FROM candidate WHERE application_id BETWEEN 7000 AND 7011 "
                    "AND last_push_id LIKE 'batch-pre-%'") == pre_booms);
    /* the pushes queued behind the lock shared a transaction, which a boom made written again
     * with savepoints */
    CHECK(batch_metric(REWRITES_METRIC) >= rewrites + 1);
    boom_off(db);
    peek_close(db);
}

/* ---- listing the push log (replay) ------------------------------------------------------- */

enum { LIST_N = 150 }; /* more than two of the adapters' pages (64 rows) */

struct list_key {
    int64_t at;
    char id[16];
};

struct listed {
    int n, stop_at;
    struct list_key row[LIST_N + 1];
};

static int on_listed(void *user, const struct eb_logged_push *row)
{
    struct listed *l = user;
    if (l->n <= LIST_N) {
        l->row[l->n].at = row->received_at_ms;
        snprintf(l->row[l->n].id, sizeof l->row[0].id, "%s", row->push_id);
    }
    return ++l->n == l->stop_at;
}

static int by_key(const void *x, const void *y)
{
    const struct list_key *a = x, *b = y;
    return a->at != b->at ? (a->at < b->at ? -1 : 1) : strcmp(a->id, b->id);
}

/* Lists with f and checks that the rows are exactly those of keys (sorted) that f selects, in
 * that order; f.outcome must select all or none of them (all are stored). */
static void check_listed(struct eb_adapter *a, struct eb_push_filter f, const struct list_key *keys)
{
    static struct listed l;
    struct eb_err err;
    memset(&l, 0, sizeof l);
    CHECK(eb_adapter_list_pushes(a, &f, on_listed, &l, &err) == EB_OK);
    int k = 0;
    for (int i = 0; i < LIST_N && f.outcome != EB_OUTCOME_REJECTED; i++) {
        if ((f.push_id && strcmp(f.push_id, keys[i].id)) || keys[i].at < f.from_ms ||
            (f.to_ms && keys[i].at > f.to_ms))
            continue;
        CHECK(k < l.n && l.row[k].at == keys[i].at && !strcmp(l.row[k].id, keys[i].id));
        k++;
    }
    CHECK(l.n == k);
}

/* The listing goes page by page after the last key: with ties of received_at across the pages'
 * ends, every push comes once, in (received_at, push_id) order, for every filter; a callback
 * that stops the listing stops it at once. */
static void test_list_pages(struct eb_adapter *a)
{
    static struct sample s;
    static struct list_key keys[LIST_N];
    const int64_t t0 = 1800000000000;
    struct eb_stored out;
    for (int i = 0; i < LIST_N; i++) {
        /* ids out of received order, and seven pushes per millisecond */
        snprintf(keys[i].id, sizeof keys[i].id, "list-%03d", (i * 37) % LIST_N);
        keys[i].at = t0 + i / 7;
        sample_init(&s, keys[i].id, 50000 + i, 0, 0);
        CHECK(store(a, &s, keys[i].at, &out) == EB_OK);
    }
    qsort(keys, LIST_N, sizeof keys[0], by_key);
    check_listed(a, (struct eb_push_filter){NULL, -1, t0, 0}, keys);
    check_listed(a, (struct eb_push_filter){NULL, EB_OUTCOME_STORED, t0 + 3, t0 + 17}, keys);
    check_listed(a, (struct eb_push_filter){NULL, -1, t0 + 9, t0 + 9}, keys);
    check_listed(a, (struct eb_push_filter){NULL, EB_OUTCOME_REJECTED, t0, 0}, keys);
    check_listed(a, (struct eb_push_filter){"list-037", -1, t0, 0}, keys);
    check_listed(a, (struct eb_push_filter){"list-037", -1, t0 + 1, 0}, keys);

    static struct listed l;
    struct eb_err err;
    memset(&l, 0, sizeof l);
    l.stop_at = 70; /* in the second page */
    struct eb_push_filter f = {NULL, -1, t0, 0};
    CHECK(eb_adapter_list_pushes(a, &f, on_listed, &l, &err) == EB_ERR_INTERNAL);
    CHECK(l.n == 70);
}

/* More items than one multi-row INSERT takes (SQLite writes a table's child rows 16 at a
 * time): each item stored once, at its position, with its own values; a push with fewer items
 * replaces them all. 37 = 2 x 16 + 5 and 20 = 16 + 4. */
static void test_many_items(struct eb_adapter *a)
{
    static struct sample s;
    static struct eb_experience exp[37];
    static char company[37][24];
    const size_t sizes[2] = {37, 20};
    struct eb_stored out;
    for (int round = 0; round < 2; round++) {
        char id[32], sql[300];
        snprintf(id, sizeof id, "push-many-%d", round);
        sample_init(&s, id, 7007, 0, 1);
        for (size_t i = 0; i < sizes[round]; i++) {
            snprintf(company[i], sizeof company[i], "c%d-%zu", round, i);
            exp[i] = (struct eb_experience){.company = company[i], .now = EB_BOOL_UNSET};
        }
        s.c.experience_info = exp;
        s.c.experience_info_n = sizes[round];
        CHECK(store(a, &s, 1700000005000 + round, &out) == EB_OK);
        CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
        peek_t *db = peek();
        CHECK(q_int(db, "SELECT count(*) FROM candidate_experience WHERE application_id = 7007") ==
              (int64_t)sizes[round]);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM candidate_experience WHERE application_id = 7007 AND "
                 "company = 'c%d-' || seq",
                 round);
        CHECK(q_int(db, sql) == (int64_t)sizes[round]);
        /* the tables written between and after the runs of experiences are whole too */
        CHECK(q_int(db, "SELECT count(*) FROM candidate_education WHERE application_id = 7007") ==
              1);
        CHECK(q_int(db, "SELECT count(*) FROM candidate_interviewer_feedback_subject_option "
                        "WHERE application_id = 7007") == 2);
        peek_close(db);
    }
}

/* ---- two instances of the adapter, one thread each, on one database ---------------------- */

#define PER_THREAD 100
#define SHARED     30
#define HOT        4   /* applicationIds both threads keep replacing, with distinct push ids */
#define HOT_SQL    "4" /* HOT, for SQL text */
_Static_assert(HOT == 4, "HOT_SQL spells HOT");

struct worker {
    struct eb_adapter *a;
    pthread_t th;
    int k;          /* thread number */
    int failures;   /* calls that did not return EB_OK */
    int fresh;      /* shared ids this thread stored (not duplicate) */
    int duplicates; /* shared ids that were already stored */
};

/* PER_THREAD own pushes, with SHARED pushes both threads send interleaved (every other call)
 * and, among the own ones, pushes for the HOT candidates both threads keep replacing. */
static void *work(void *arg)
{
    struct worker *w = arg;
    struct sample *s = malloc(sizeof *s);
    struct eb_stored out;
    char id[64];
    for (int i = 0; s && i < PER_THREAD + SHARED; i++) {
        int shared = i % 2 == 1 && i / 2 < SHARED;
        int64_t app;
        size_t n_exp = 2;
        if (shared) {
            snprintf(id, sizeof id, "shared-%d", i / 2);
            app = 900000 + i / 2;
        } else if (i % 3 == 0) {
            /* a hot candidate: the number of experiences tells which thread's push wrote it */
            snprintf(id, sizeof id, "hot-t%d-%d", w->k, i);
            app = 800000 + i % HOT;
            n_exp = (size_t)(w->k % 2 + 1);
        } else {
            snprintf(id, sizeof id, "t%d-%d", w->k, i);
            app = (int64_t)w->k * 100000 + i;
        }
        sample_init(s, id, app, n_exp, 1);
        if (store(w->a, s, 1700000003000 + i, &out) != EB_OK) {
            w->failures++;
            continue;
        }
        if (shared)
            out.duplicate ? w->duplicates++ : w->fresh++;
    }
    if (!s)
        w->failures++;
    free(s);
    return NULL;
}

/* Opens two instances of the adapter on url and starts work() on each; 0 when one did not
 * open (nothing started then). */
static int start_writers(const char *url, struct worker w[2])
{
    struct eb_err err;
    memset(w, 0, 2 * sizeof *w);
    for (int k = 0; k < 2; k++) {
        w[k].k = k + 1;
        CHECK(eb_bridge_open(url, NULL, &w[k].a, &err) == EB_OK);
        if (!w[k].a) {
            fprintf(stderr, "start_writers: %s\n", err.msg);
            if (k)
                eb_bridge_close(w[0].a);
            return 0;
        }
    }
    for (int k = 0; k < 2; k++)
        pthread_create(&w[k].th, NULL, work, &w[k]);
    return 1;
}

/* Waits for both, closes them and checks what the database db holds: every push stored once,
 * each shared one by one thread; each hot candidate holds exactly the children of the push its
 * last_push_id names. */
static void check_writers(struct worker w[2], peek_t *db)
{
    for (int k = 0; k < 2; k++) {
        pthread_join(w[k].th, NULL);
        eb_bridge_close(w[k].a);
    }
    CHECK(w[0].failures == 0 && w[1].failures == 0);
    CHECK(w[0].fresh + w[1].fresh == SHARED);
    CHECK(w[0].duplicates + w[1].duplicates == SHARED);
    int64_t logs = q_int(db, "SELECT count(*) FROM push_log");
    CHECK(logs == 2 * (PER_THREAD + SHARED) - SHARED);
    CHECK(q_int(db, "SELECT count(*) FROM push_log WHERE outcome = 'stored'") == logs);
    CHECK(q_int(db, "SELECT count(*) FROM push_log WHERE push_id LIKE 'hot-%'") > HOT);
    CHECK(q_int(db, "SELECT count(*) FROM candidate") ==
          q_int(db, "SELECT count(DISTINCT application_id) FROM push_log"));
    CHECK(q_int(db, "SELECT count(*) FROM candidate WHERE last_push_id LIKE 'shared-%'") == SHARED);
    CHECK(q_int(db, "SELECT count(*) FROM candidate WHERE last_push_id LIKE 'hot-%'") == HOT);
    CHECK(q_int(db, "SELECT count(*) FROM candidate c WHERE application_id >= 800000 AND "
                    "application_id < 800000 + " HOT_SQL
                    " AND (SELECT count(*) FROM candidate_experience e "
                    "WHERE e.application_id = c.application_id) <> CASE WHEN c.last_push_id LIKE "
                    "'hot-t1-%' THEN 2 ELSE 1 END") == 0);
    /* two experiences each, one for a hot candidate that thread 2 wrote last */
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience") ==
          2 * q_int(db, "SELECT count(*) FROM candidate") -
              q_int(db, "SELECT count(*) FROM candidate WHERE last_push_id LIKE 'hot-t2-%'"));
    CHECK(q_int(db, "SELECT count(*) FROM candidate_interviewer_feedback_subject_option") ==
          2 * q_int(db, "SELECT count(*) FROM candidate"));
}

#endif

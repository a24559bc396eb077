/* Tests of bridge/bridge.c against the fake adapter: true only for stored pushes, rejected pushes
 * recorded, duplicates answered from the stored outcome, database failures turned into
 * false + FAILED + a fixed message (driver detail in the log only) + a best-effort failure entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge/bridge.h"
#include "candidate/candidate.h"
#include "candidate/interview.h"
#include "check.h"
#include "fake_adapter.h"
#include "util/log.h"

/* ---- capturing the log (stderr) ---------------------------------------------------------- */

static char log_text[8192];
static int saved_stderr = -1;
static FILE *log_file;

static void capture_start(void)
{
    fflush(stderr);
    log_file = tmpfile();
    saved_stderr = dup(2);
    dup2(fileno(log_file), 2);
}

static const char *capture_end(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(log_file);
    size_t n = fread(log_text, 1, sizeof log_text - 1, log_file);
    log_text[n] = '\0';
    fclose(log_file);
    return log_text;
}

/* ---- pushes ------------------------------------------------------------------------------ */

struct sample {
    struct eb_push push;
    struct eb_candidate c;
    struct eb_push_record rec;
};

static void sample_init(struct sample *s, const char *id, int64_t app_id)
{
    memset(s, 0, sizeof *s);
    s->push.id = id;
    s->push.event = "pushCandidate";
    s->push.data = &s->c;
    s->c.application_id = (struct eb_i64){app_id, 1};
    s->c.candidate_id = (struct eb_i64){77, 1};
    s->c.name = "Zhang San";
    s->c.phone = "13800000000";
    s->c.archived = EB_BOOL_UNSET;
    s->rec.push_id = id;
    s->rec.event = "pushCandidate";
    s->rec.received_at_ms = 1700000000000;
    s->rec.payload = "<pushCandidate/>";
    s->rec.payload_len = strlen(s->rec.payload);
    s->rec.raw = "raw";
    s->rec.raw_len = 3;
}

static void test_stored(void)
{
    struct fake_adapter f;
    struct sample s;
    struct eb_answer ans;
    fake_adapter_init(&f);
    sample_init(&s, "p-1", 1);
    capture_start();
    eb_bridge_push(&f.base, &s.push, &s.rec, &ans);
    const char *log = capture_end();
    CHECK(ans.ok == 1);
    CHECK(ans.outcome == EB_OUTCOME_STORED);
    CHECK(ans.duplicate == 0);
    CHECK_STR(ans.message, "");
    CHECK(f.puts[EB_OUTCOME_STORED] == 1 && f.puts[EB_OUTCOME_FAILED] == 0 && f.commits == 1);
    CHECK(f.last_push == &s.push);
    CHECK(f.last_outcome == EB_OUTCOME_STORED);
    /* the record was completed from the candidate */
    CHECK(s.rec.has_application_id && s.rec.application_id == 1);
    CHECK(s.rec.has_candidate_id && s.rec.candidate_id == 77);
    CHECK(strstr(log, "p-1") != NULL);
    CHECK(strstr(log, "Zhang") == NULL && strstr(log, "13800000000") == NULL);

    /* the same push id again: the stored outcome, nothing new */
    struct sample again;
    sample_init(&again, "p-1", 1);
    capture_start();
    eb_bridge_push(&f.base, &again.push, &again.rec, &ans);
    capture_end();
    CHECK(ans.ok == 1);
    CHECK(ans.outcome == EB_OUTCOME_STORED);
    CHECK(ans.duplicate == 1);
    CHECK(f.begins == 2 && f.writes == 1 && f.n_log == 1); /* nothing written twice */
    CHECK(f.n_log == 1);
}

static void test_rejected(void)
{
    struct fake_adapter f;
    struct sample s;
    struct eb_answer ans;
    fake_adapter_init(&f);
    sample_init(&s, "p-bad", 2);
    s.rec.outcome = EB_OUTCOME_REJECTED;
    s.rec.message = "data.birthYear must be a number";
    capture_start();
    eb_bridge_push(&f.base, NULL, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 0);
    CHECK(ans.outcome == EB_OUTCOME_REJECTED);
    CHECK(ans.duplicate == 0);
    CHECK_STR(ans.message, "data.birthYear must be a number");
    CHECK(f.puts[EB_OUTCOME_REJECTED] == 1 && f.writes == 0 && f.last_push == NULL);
    CHECK(f.n_log == 1 && f.log[0].outcome == EB_OUTCOME_REJECTED);

    /* repeated: the recorded rejection, marked duplicate */
    s.rec.message = "something else";
    capture_start();
    eb_bridge_push(&f.base, NULL, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 0);
    CHECK(ans.outcome == EB_OUTCOME_REJECTED);
    CHECK(ans.duplicate == 1);
    CHECK_STR(ans.message, "data.birthYear must be a number");

    /* a rejected push recorded with outcome "stored" by mistake stays rejected */
    sample_init(&s, "p-bad2", 2);
    s.rec.outcome = EB_OUTCOME_STORED;
    capture_start();
    eb_bridge_push(&f.base, NULL, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 0 && ans.outcome == EB_OUTCOME_REJECTED);
    CHECK(ans.message[0] != '\0');

    /* a mapped push without applicationId is never handed over for storing */
    sample_init(&s, "p-nokey", 0);
    s.c.application_id.set = 0;
    capture_start();
    eb_bridge_push(&f.base, &s.push, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 0 && ans.outcome == EB_OUTCOME_REJECTED);
    CHECK(f.last_push == NULL);
    CHECK(strstr(ans.message, "applicationId") != NULL);

    /* no push id: nothing to record, nothing called */
    int calls = f.begins;
    sample_init(&s, "", 3);
    capture_start();
    eb_bridge_push(&f.base, &s.push, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 0 && ans.outcome == EB_OUTCOME_REJECTED);
    CHECK(f.begins == calls);
}

static void test_failure(eb_rc injected)
{
    struct fake_adapter f;
    struct sample s;
    struct eb_answer ans;
    fake_adapter_init(&f);
    f.fail_write = injected;
    sample_init(&s, "p-down", 4);
    capture_start();
    eb_bridge_push(&f.base, &s.push, &s.rec, &ans);
    const char *log = capture_end();
    CHECK(ans.ok == 0);
    CHECK(ans.outcome == EB_OUTCOME_FAILED);
    CHECK(ans.duplicate == 0);
    CHECK(f.puts[EB_OUTCOME_STORED] == 1 && f.rollbacks == 1);
    CHECK(f.puts[EB_OUTCOME_FAILED] == 1);
    CHECK(f.last_outcome == EB_OUTCOME_FAILED);
    /* the client gets fixed words, never the driver's */
    CHECK(ans.message[0] != '\0');
    CHECK(strstr(ans.message, "retry") != NULL);
    CHECK(strstr(ans.message, "fake-driver") == NULL);
    CHECK(strstr(ans.message, "secret") == NULL);
    CHECK(strstr(ans.message, "I/O") == NULL);
    if (injected == EB_ERR_UNAVAILABLE)
        CHECK(strstr(ans.message, "unavailable") != NULL);
    /* the failure entry carries the same fixed message */
    CHECK_STR(f.last_message, ans.message);
    CHECK(f.n_log == 1 && f.log[0].outcome == EB_OUTCOME_FAILED);
    /* the log has the detail, and no personal data */
    CHECK(strstr(log, "fake-driver") != NULL);
    CHECK(strstr(log, "p-down") != NULL);
    CHECK(strstr(log, "Zhang") == NULL && strstr(log, "13800000000") == NULL);

    /* the database is back: the retry of the same id is stored over the failed entry */
    f.fail_write = EB_OK;
    sample_init(&s, "p-down", 4);
    capture_start();
    eb_bridge_push(&f.base, &s.push, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 1 && ans.outcome == EB_OUTCOME_STORED && ans.duplicate == 0);
    CHECK(f.log[0].outcome == EB_OUTCOME_STORED);
    CHECK(f.puts[EB_OUTCOME_FAILED] == 1);
}

static void test_failure_not_recorded(void)
{
    struct fake_adapter f;
    struct sample s;
    struct eb_answer ans;
    fake_adapter_init(&f);
    f.fail_write = EB_ERR_UNAVAILABLE;
    f.fail_log_failure = EB_ERR_UNAVAILABLE;
    sample_init(&s, "p-gone", 5);
    capture_start();
    eb_bridge_push(&f.base, &s.push, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 0 && ans.outcome == EB_OUTCOME_FAILED);
    CHECK(f.puts[EB_OUTCOME_FAILED] == 1);
    CHECK(f.n_log == 0);
    CHECK(strstr(ans.message, "fake-driver") == NULL);

    /* a rejected push that cannot be recorded: false, FAILED, and the reason it was refused */
    sample_init(&s, "p-gone-bad", 5);
    s.rec.outcome = EB_OUTCOME_REJECTED;
    s.rec.message = "data.applicationId is required";
    capture_start();
    eb_bridge_push(&f.base, NULL, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 0 && ans.outcome == EB_OUTCOME_FAILED);
    CHECK_STR(ans.message, "data.applicationId is required");

    /* no adapter at all: the same answer, no crash */
    sample_init(&s, "p-none", 6);
    capture_start();
    eb_bridge_push(NULL, &s.push, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 0 && ans.outcome == EB_OUTCOME_FAILED);
    CHECK(strstr(ans.message, "retry") != NULL);
}

/* A commit that fails leaves nothing: no candidate, no push_log row; the failure record's own
 * transaction fails the same way. The database back, the same id is stored. */
static void test_commit_fails(void)
{
    struct fake_adapter f;
    struct sample s;
    struct eb_answer ans;
    fake_adapter_init(&f);
    f.fail_commit = EB_ERR_UNAVAILABLE;
    sample_init(&s, "p-commit", 8);
    capture_start();
    eb_bridge_push(&f.base, &s.push, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 0 && ans.outcome == EB_OUTCOME_FAILED);
    CHECK(strstr(ans.message, "unavailable") != NULL);
    CHECK(f.writes == 1 && f.commits == 2); /* the push, then its failure record */
    CHECK(f.n_log == 0 && f.st.n_cand == 0 && !f.in_tx);
    f.fail_commit = EB_OK;
    sample_init(&s, "p-commit", 8);
    capture_start();
    eb_bridge_push(&f.base, &s.push, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 1 && ans.duplicate == 0);
    CHECK(f.n_log == 1 && f.st.n_cand == 1);
}

/* A failure the adapter calls retryable is written again, up to four tries in all. */
static void test_retry(void)
{
    struct fake_adapter f;
    struct sample s;
    struct eb_answer ans;
    fake_adapter_init(&f);
    f.retryable = 1;
    f.fail_commit = EB_ERR_DB;
    f.fail_times = 1; /* the first commit fails, the second passes */
    sample_init(&s, "p-retry", 9);
    capture_start();
    eb_bridge_push(&f.base, &s.push, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 1 && ans.outcome == EB_OUTCOME_STORED);
    CHECK(f.begins == 2 && f.writes == 2 && f.puts[EB_OUTCOME_FAILED] == 0);

    /* never passing: four tries of the push, four of its failure record, then false */
    fake_adapter_init(&f);
    f.retryable = 1;
    f.fail_commit = EB_ERR_DB;
    sample_init(&s, "p-retry-2", 9);
    capture_start();
    eb_bridge_push(&f.base, &s.push, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 0 && ans.outcome == EB_OUTCOME_FAILED);
    CHECK(f.writes == 4 && f.begins == 8 && f.n_log == 0);

    /* not retryable: one try */
    fake_adapter_init(&f);
    f.fail_commit = EB_ERR_DB;
    sample_init(&s, "p-retry-3", 9);
    capture_start();
    eb_bridge_push(&f.base, &s.push, &s.rec, &ans);
    capture_end();
    CHECK(ans.ok == 0 && f.writes == 1 && f.begins == 2);
}

/* A "failed" record never overwrites a final outcome, and a retry overwrites a failed one. */
static void test_failure_record(void)
{
    struct fake_adapter f;
    struct sample s;
    struct eb_stored out;
    struct eb_err err;
    fake_adapter_init(&f);
    sample_init(&s, "p-fr", 10);
    CHECK(eb_bridge_store_push(&f.base, &s.push, &s.rec, &out, &err) == EB_OK);
    s.rec.outcome = EB_OUTCOME_FAILED;
    s.rec.message = "database unavailable";
    CHECK(eb_bridge_log_failure(&f.base, &s.rec, &err) == EB_OK);
    CHECK(f.n_log == 1 && f.log[0].outcome == EB_OUTCOME_STORED);
    CHECK_STR(f.log[0].message, "");
    CHECK(f.log[0].has_raw == 0); /* a stored push keeps no raw body */

    sample_init(&s, "p-fr2", 11);
    s.rec.outcome = EB_OUTCOME_FAILED;
    s.rec.message = "database unavailable";
    CHECK(eb_bridge_log_failure(&f.base, &s.rec, &err) == EB_OK);
    CHECK(f.n_log == 2 && f.log[1].outcome == EB_OUTCOME_FAILED && f.log[1].has_raw == 1);
    sample_init(&s, "p-fr2", 11);
    CHECK(eb_bridge_store_push(&f.base, &s.push, &s.rec, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    CHECK(f.n_log == 2 && f.log[1].outcome == EB_OUTCOME_STORED);

    /* bad arguments never reach the database */
    int begins = f.begins;
    CHECK(eb_bridge_log_failure(&f.base, NULL, &err) == EB_ERR_INVALID);
    CHECK(eb_bridge_store_push(&f.base, NULL, &s.rec, &out, &err) == EB_ERR_INVALID);
    s.rec.received_at_ms = 0;
    CHECK(eb_bridge_replay_push(&f.base, &s.push, &s.rec, &out, &err) == EB_ERR_INVALID);
    CHECK(f.begins == begins);
}

/* Replay: a push older than the one that wrote the candidate's rows is superseded and writes
 * nothing; the newest is stored again; a push invalid now never removes stored data. */
static void test_replay(void)
{
    struct fake_adapter f;
    struct sample a, b, c;
    struct eb_stored out;
    struct eb_err err;
    fake_adapter_init(&f);
    sample_init(&a, "p-old", 12);
    sample_init(&b, "p-new", 12);
    b.rec.received_at_ms = a.rec.received_at_ms + 1000;
    CHECK(eb_bridge_store_push(&f.base, &a.push, &a.rec, &out, &err) == EB_OK);
    CHECK(eb_bridge_store_push(&f.base, &b.push, &b.rec, &out, &err) == EB_OK);
    int writes = f.writes;
    CHECK(eb_bridge_replay_push(&f.base, &a.push, &a.rec, &out, &err) == EB_OK);
    CHECK(out.duplicate == 1 && out.outcome == EB_OUTCOME_STORED);
    CHECK(f.writes == writes);
    CHECK_STR(fake_candidate(&f, 12)->push_id, "p-new");
    CHECK(eb_bridge_replay_push(&f.base, &b.push, &b.rec, &out, &err) == EB_OK);
    CHECK(out.duplicate == 0 && out.outcome == EB_OUTCOME_STORED && f.writes == writes + 1);

    /* invalid now: a stored push stays stored; an unknown one is recorded rejected */
    a.rec.message = "data.birthYear must be a number";
    CHECK(eb_bridge_replay_push(&f.base, NULL, &a.rec, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && fake_find(&f, "p-old")->outcome == EB_OUTCOME_STORED);
    sample_init(&c, "p-unknown", 13);
    c.rec.message = "data.birthYear must be a number";
    CHECK(eb_bridge_replay_push(&f.base, NULL, &c.rec, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_REJECTED);
    CHECK_STR(out.message, "data.birthYear must be a number");
    CHECK(fake_find(&f, "p-unknown")->outcome == EB_OUTCOME_REJECTED);

    /* superseded, and never recorded before: answered failed, nothing written */
    struct sample d;
    sample_init(&d, "p-older", 12);
    d.rec.received_at_ms = a.rec.received_at_ms - 1000;
    CHECK(eb_bridge_replay_push(&f.base, &d.push, &d.rec, &out, &err) == EB_OK);
    CHECK(out.duplicate == 1 && out.outcome == EB_OUTCOME_FAILED && !fake_find(&f, "p-older"));
}

/* An interview event is applied once; its id again is a duplicate that writes nothing. */
static void test_interview(void)
{
    struct fake_adapter f;
    struct sample s;
    struct eb_stored out;
    struct eb_err err;
    struct eb_interview_event ev;
    memset(&ev, 0, sizeof ev);
    fake_adapter_init(&f);
    sample_init(&s, "p-itv", 14);
    CHECK(eb_bridge_store_interview_event(&f.base, &ev, &s.rec, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0 && f.st.interviews == 1);
    CHECK(eb_bridge_store_interview_event(&f.base, &ev, &s.rec, &out, &err) == EB_OK);
    CHECK(out.duplicate == 1 && f.st.interviews == 1);
    f.fail_write = EB_ERR_DB;
    sample_init(&s, "p-itv2", 14);
    CHECK(eb_bridge_store_interview_event(&f.base, &ev, &s.rec, &out, &err) == EB_ERR_DB);
    CHECK(f.st.interviews == 1 && !fake_find(&f, "p-itv2"));
}

static void test_wrappers(void)
{
    struct fake_adapter f;
    struct eb_err err;
    fake_adapter_init(&f);
    CHECK(eb_adapter_ping(&f.base, &err) == EB_OK && f.ping_calls == 1);
    f.fail_ping = EB_ERR_DB;
    CHECK(eb_adapter_ping(&f.base, &err) == EB_ERR_DB);
    CHECK(err.rc == EB_ERR_DB);
    CHECK_STR(eb_outcome_name(EB_OUTCOME_STORED), "stored");
    CHECK_STR(eb_outcome_name(EB_OUTCOME_REJECTED), "rejected");
    CHECK_STR(eb_outcome_name(EB_OUTCOME_FAILED), "failed");
}

int main(void)
{
    eb_log_setup(EB_LOG_DEBUG, EB_LOG_TEXT); /* debug lines must be free of personal data too */
    test_stored();
    test_rejected();
    test_failure(EB_ERR_UNAVAILABLE);
    test_failure(EB_ERR_DB);
    test_failure(EB_ERR_NOMEM);
    test_failure_not_recorded();
    test_commit_fails();
    test_retry();
    test_failure_record();
    test_replay();
    test_interview();
    test_wrappers();
    return check_report("test_bridge");
}

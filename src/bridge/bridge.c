/* Push semantics on top of an adapter, for candidate pushes and interview events alike
 * (bridge.h, interview.h): decides what is recorded, turns the adapter's result into the
 * client's answer, and turns database failures into "false, retry" with a best-effort "failed"
 * push_log entry. Driver detail goes to the log only. */
#include "bridge/bridge.h"
#include "bridge/interview.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "candidate/candidate.h"
#include "util/log.h"

/* Client messages for database failures: fixed text, never driver text ([1]: events). */
static const char *const msg_unavailable[2] = {
    "database unavailable, push not stored; retry later",
    "database unavailable, event not stored; retry later"};
static const char *const msg_db_error[2] = {"database error, push not stored; retry later",
                                            "database error, event not stored; retry later"};

static void set_message(struct eb_answer *ans, const char *msg)
{
    snprintf(ans->message, sizeof ans->message, "%s", msg ? msg : "");
}

static void finish(struct eb_bridge_job *bj)
{
    eb_log_set_request(0);
    bj->done(bj);
}

static void on_failure_logged(struct eb_push_job *job);

/* The adapter's answer to a store job. */
static void on_stored(struct eb_push_job *job)
{
    struct eb_bridge_job *bj = job->user;
    struct eb_push_record *rec = bj->rec;
    struct eb_answer *ans = &bj->ans;
    eb_rc rc = job->rc;
    eb_log_set_request(bj->request_id);
    if (rc == EB_ERR_INVALID && job->p) {
        /* the adapter cannot store this record as it is (a mapping's key or required column
         * without a value, mapping/mapping.h): refused like an invalid record, with the
         * adapter's reason, which names the column and field, never a value */
        snprintf(bj->reason, sizeof bj->reason, "%s", job->err.msg);
        rec->outcome = EB_OUTCOME_REJECTED;
        rec->message = bj->reason;
        job->p = NULL;
        eb_log_set_request(0);
        eb_bridge_write(bj->a, job);
        return;
    }
    if (rc == EB_OK) {
        const struct eb_stored *st = &job->out;
        ans->outcome = st->outcome;
        ans->duplicate = st->duplicate;
        ans->ok = st->outcome == EB_OUTCOME_STORED;
        set_message(ans, st->message);
        eb_log(EB_LOG_DEBUG, bj->noun, "push_id", rec->push_id, "application_id", bj->app_id,
               "outcome", eb_outcome_name(st->outcome), "duplicate", st->duplicate ? "1" : "0",
               "reason", st->outcome == EB_OUTCOME_STORED ? NULL : st->message, NULL);
        finish(bj);
        return;
    }

    /* Not recorded. The client learns why in fixed words; the log gets the detail. */
    const char *db_msg = (rc == EB_ERR_UNAVAILABLE ? msg_unavailable : msg_db_error)[bj->event];
    ans->ok = 0;
    ans->outcome = EB_OUTCOME_FAILED;
    /* A rejected record stays rejected whatever the database does: say why it was refused. */
    set_message(ans, rec->outcome == EB_OUTCOME_REJECTED ? rec->message : db_msg);
    eb_log(EB_LOG_ERROR, "not stored", "what", bj->noun, "push_id", rec->push_id, "application_id",
           bj->app_id, "error", eb_strerror(rc), "detail", job->err.msg, NULL);
    rec->outcome = EB_OUTCOME_FAILED;
    rec->message = db_msg;
    job->kind = EB_JOB_FAILURE;
    job->done = on_failure_logged;
    eb_log_set_request(0);
    eb_bridge_write(bj->a, job); /* best effort */
}

static void on_failure_logged(struct eb_push_job *job)
{
    struct eb_bridge_job *bj = job->user;
    eb_log_set_request(bj->request_id);
    if (job->rc)
        eb_log(EB_LOG_WARN, "failure not recorded in push_log", "what", bj->noun, "push_id",
               bj->rec->push_id, "error", eb_strerror(job->rc), "detail", job->err.msg, NULL);
    finish(bj);
}

void eb_bridge_submit(struct eb_bridge_job *bj)
{
    struct eb_push_record *rec = bj->rec;
    const struct eb_push *p = bj->p;
    struct eb_answer *ans = &bj->ans;

    memset(ans, 0, sizeof *ans);
    snprintf(bj->app_id, sizeof bj->app_id, "-");
    bj->event = bj->event || bj->ev;
    bj->noun = bj->event ? "event" : "push";
    if (!rec || !rec->push_id || !rec->push_id[0]) {
        /* Nothing to key the push log on: answer without recording. */
        ans->outcome = EB_OUTCOME_REJECTED;
        set_message(ans, "id is required");
        eb_log(EB_LOG_WARN, "refused: no push id", "what", bj->noun, NULL);
        bj->done(bj);
        return;
    }
    if (bj->ev) {
        rec->outcome = EB_OUTCOME_STORED;
        rec->message = NULL;
    } else if (p && (!p->data || !p->data->application_id.set)) {
        /* Validation should have refused it; a record without its key is never stored. */
        p = NULL;
        rec->outcome = EB_OUTCOME_REJECTED;
        rec->message = "data.applicationId is required";
    }
    if (p) {
        rec->outcome = EB_OUTCOME_STORED;
        rec->message = NULL;
        if (!rec->has_application_id) {
            rec->application_id = p->data->application_id.v;
            rec->has_application_id = 1;
        }
        if (!rec->has_candidate_id && p->data->candidate_id.set) {
            rec->candidate_id = p->data->candidate_id.v;
            rec->has_candidate_id = 1;
        }
    } else if (rec->outcome == EB_OUTCOME_STORED) {
        rec->outcome = EB_OUTCOME_REJECTED;
    }
    if (!p && !bj->ev && !rec->message)
        rec->message = bj->event ? "the interview event is invalid" : "the record is invalid";
    if (rec->has_application_id)
        snprintf(bj->app_id, sizeof bj->app_id, "%" PRId64, rec->application_id);
    memset(&bj->job, 0, sizeof bj->job);
    bj->job.kind = bj->ev ? EB_JOB_INTERVIEW : EB_JOB_STORE;
    bj->job.p = p;
    bj->job.ev = bj->ev;
    bj->job.rec = rec;
    bj->job.done = on_stored;
    bj->job.user = bj;
    eb_bridge_write(bj->a, &bj->job);
}

/* eb_bridge_push: one submitted job and a wait for its done. */
struct waiter {
    struct eb_bridge_job bj;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
};

static void wake(struct eb_bridge_job *bj)
{
    struct waiter *w = bj->user;
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Submits w->bj (a, p or ev, rec set) and waits for its answer. */
static void submit_and_wait(struct waiter *w, struct eb_answer *ans)
{
    w->bj.request_id = eb_log_request();
    w->bj.done = wake;
    w->bj.user = w;
    w->done = 0;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    eb_bridge_submit(&w->bj);
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    eb_log_set_request(w->bj.request_id);
    *ans = w->bj.ans;
}

void eb_bridge_push(struct eb_adapter *a, const struct eb_push *p, struct eb_push_record *rec,
                    struct eb_answer *ans)
{
    struct waiter w;
    memset(&w.bj, 0, sizeof w.bj);
    w.bj.a = a;
    w.bj.p = p;
    w.bj.rec = rec;
    submit_and_wait(&w, ans);
}

void eb_bridge_interview(struct eb_adapter *a, const struct eb_interview_event *ev,
                         struct eb_push_record *rec, struct eb_answer *ans)
{
    struct waiter w;
    memset(&w.bj, 0, sizeof w.bj);
    w.bj.a = a;
    w.bj.ev = ev;
    w.bj.event = 1;
    w.bj.rec = rec;
    if (!ev && rec)
        rec->outcome = EB_OUTCOME_REJECTED;
    submit_and_wait(&w, ans);
}

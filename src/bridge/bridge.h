/* Push semantics: first time for a push id -> store; same id again -> the stored outcome, nothing
 * written twice; a new push for a known applicationId -> replace; one transaction per push; true
 * only after the commit is durable; every push recorded in push_log. */
#ifndef EB_BRIDGE_H
#define EB_BRIDGE_H

#include <stdint.h>

#include "adapters/adapter.h"
#include "util/err.h"

struct eb_mapping;

/* What the bridge says about a push id after a write. */
struct eb_stored {
    enum eb_outcome outcome; /* the outcome now recorded for this push id */
    int duplicate;           /* 1 when the push id was already recorded and nothing was written
                                (replay: the push was superseded by a later one) */
    char message[256];       /* the recorded message ("" when none) */
};

/* What a submitted job asks for. */
enum eb_job_kind {
    EB_JOB_STORE = 0, /* as eb_bridge_store_push(p, rec) */
    EB_JOB_FAILURE,   /* as eb_bridge_log_failure(rec) */
    EB_JOB_INTERVIEW  /* as eb_bridge_store_interview_event(ev, rec) */
};

/* A write handed over without waiting (eb_bridge_write): written as the synchronous entry
 * point of its kind would, and done is called once the outcome is durable or the write failed.
 * The caller keeps the job and everything it points to alive until done. */
struct eb_push_job {
    enum eb_job_kind kind;
    const struct eb_push *p;             /* EB_JOB_STORE: the record, or NULL (rejected) */
    const struct eb_interview_event *ev; /* EB_JOB_INTERVIEW: the event */
    const struct eb_push_record *rec;    /* the push_log row */
    struct eb_stored out;                /* STORE and INTERVIEW: filled when rc is EB_OK */
    struct eb_err err;                   /* why, when rc is not EB_OK */
    eb_rc rc;                            /* the result, set before done */
    /* Called exactly once, on any thread, possibly before eb_bridge_write returns; may free the
     * job and may submit again, but must not wait for a write of the same database (it may
     * run on the group's writer thread). */
    void (*done)(struct eb_push_job *job);
    void *user; /* the caller's */
};

/* The answer for the client. */
struct eb_answer {
    int ok;                  /* 1: answer true */
    enum eb_outcome outcome; /* what is recorded for the push id */
    int duplicate;           /* 1 when the push id had been seen before */
    char message[256];       /* for the client: names the field, never echoes personal data */
};

/* One push through the bridge without waiting for the database (eb_bridge_submit). The
 * caller sets the first block and keeps the job (and what it points to) alive until done. */
struct eb_bridge_job {
    struct eb_adapter *a;                /* where to store */
    const struct eb_push *p;             /* as eb_bridge_push (the bridge reads it once) */
    const struct eb_interview_event *ev; /* as eb_bridge_interview; NULL for a push */
    int event;                  /* 1: an interview event (ev, or a rejected one: ev NULL) */
    struct eb_push_record *rec; /* as eb_bridge_push */
    uint64_t request_id;        /* for the log lines written on the adapter's thread; 0: none */
    void (*done)(struct eb_bridge_job *bj); /* ans is final; exactly once, on any thread */
    void *user;                             /* the caller's */
    /* the bridge's */
    struct eb_answer ans;   /* the answer, when done is called */
    struct eb_push_job job; /* the adapter's job */
    char reason[256];       /* the adapter's reason for refusing the record */
    const char *noun;       /* "push" or "event", for messages and the log */
    char app_id[24];        /* for the log */
};

/* Handles one push as eb_bridge_push does, but returns as soon as it is queued where the
 * adapter can (eb_bridge_write); bj->done is called with the answer once the outcome is
 * durable. done may run before this returns, and on the adapter's writer thread, where it must
 * not wait for the database. */
void eb_bridge_submit(struct eb_bridge_job *bj);

/* Opens an adapter for url as eb_adapter_open_mapped does and, where the database allows it
 * (a version-2 adapter with savepoints that can share), joins the group of its database: its
 * writes then go through the group's one writer connection (group commit). Caller frees with
 * eb_bridge_close(), never eb_adapter_close(). */
eb_rc eb_bridge_open(const char *url, const struct eb_mapping *mapping, struct eb_adapter **out,
                     struct eb_err *err);

/* Leaves the group (the last member stops its writer) and closes a. NULL-safe. */
void eb_bridge_close(struct eb_adapter *a);

/* 1 when the adapters of m write through a shared writer without blocking their callers
 * (group commit): a few workers are enough. */
int eb_bridge_groups(const struct eb_adapter_methods *m);

/* The push rules, for every adapter, over its primitives, each write in one transaction that
 * returns only after a durable commit; on error nothing is written and err says why
 * (EB_ERR_UNAVAILABLE: the database cannot be reached; EB_ERR_DB otherwise; EB_ERR_INVALID: bad
 * arguments, or a record the mapping cannot write, which names the column):
 * - store_push: when rec->push_id is recorded with an outcome other than "failed", writes
 *   nothing and fills *out from the record (duplicate = 1); otherwise, when p != NULL (valid:
 *   rec->outcome is stored), replaces every row of p->data's applicationId with p's and
 *   records rec; otherwise (rejected) records rec only. A stored push keeps no message and no
 *   raw body in push_log.
 * - log_failure: best effort, records rec as "failed" unless the id is recorded with another
 *   outcome.
 * - store_interview_event: the push log as store_push; then every interview of ev (keyed by
 *   event_id) replaces its rows, or for EB_INTERVIEW_DELETE removes them.
 * - replay_push (`ehrbridge replay`, rec->received_at_ms required): p != NULL: when the
 *   candidate's current rows come from a push received later than rec (and another one),
 *   nothing is written and out->duplicate = 1 (superseded); otherwise the rows are replaced and
 *   the push_log row gets outcome stored. p == NULL: the row gets outcome rejected and
 *   rec->message, unless it is recorded as stored (replay never removes stored data). */
eb_rc eb_bridge_store_push(struct eb_adapter *a, const struct eb_push *p,
                           const struct eb_push_record *rec, struct eb_stored *out,
                           struct eb_err *err);
eb_rc eb_bridge_log_failure(struct eb_adapter *a, const struct eb_push_record *rec,
                            struct eb_err *err);
eb_rc eb_bridge_store_interview_event(struct eb_adapter *a, const struct eb_interview_event *ev,
                                      const struct eb_push_record *rec, struct eb_stored *out,
                                      struct eb_err *err);
eb_rc eb_bridge_replay_push(struct eb_adapter *a, const struct eb_push *p,
                            const struct eb_push_record *rec, struct eb_stored *out,
                            struct eb_err *err);

/* Hands job to a without waiting for the commit where a can (its group's writer); job->done is
 * always called, exactly once, possibly before this returns (contract of struct eb_push_job). */
void eb_bridge_write(struct eb_adapter *a, struct eb_push_job *job);

/* Handles one push. p is the mapped, validated push, or NULL when the push was rejected before
 * (then rec->outcome is EB_OUTCOME_REJECTED and rec->message says why). rec is completed by the
 * caller except outcome/message for valid pushes. Never fails: database errors become an answer
 * with ok = 0 and outcome EB_OUTCOME_FAILED (and a best-effort "failed" push_log entry). */
void eb_bridge_push(struct eb_adapter *a, const struct eb_push *p, struct eb_push_record *rec,
                    struct eb_answer *ans);

#endif

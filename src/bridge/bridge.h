/* Push semantics: first time for a push id -> store; same id again -> the stored outcome, nothing
 * written twice; a new push for a known applicationId -> replace; one transaction per push; true
 * only after the commit is durable; every push recorded in push_log. */
#ifndef EB_BRIDGE_H
#define EB_BRIDGE_H

#include <stdint.h>

#include "adapters/adapter.h"
#include "util/err.h"

struct eb_mapping;

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
 * adapter can (eb_adapter_submit); bj->done is called with the answer once the outcome is
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

/* The push rules, with the contracts of adapter.h's version-1 store_push, log_failure,
 * store_interview_event and replay_push (one transaction; true only after a durable commit;
 * duplicates answered from the record; a replay superseded by a later push writes nothing),
 * for every adapter: written here over a version-2 adapter's primitives, or passed to a
 * version-1 adapter's own entries. */
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

/* Push semantics: first time for a push id -> store; same id again -> the stored outcome, nothing
 * written twice; a new push for a known applicationId -> replace; one transaction per push; true
 * only after the commit is durable; every push recorded in push_log. */
#ifndef EB_BRIDGE_H
#define EB_BRIDGE_H

#include <stdint.h>

#include "adapters/adapter.h"
#include "util/err.h"

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

/* Handles one push. p is the mapped, validated push, or NULL when the push was rejected before
 * (then rec->outcome is EB_OUTCOME_REJECTED and rec->message says why). rec is completed by the
 * caller except outcome/message for valid pushes. Never fails: database errors become an answer
 * with ok = 0 and outcome EB_OUTCOME_FAILED (and a best-effort "failed" push_log entry). */
void eb_bridge_push(struct eb_adapter *a, const struct eb_push *p, struct eb_push_record *rec,
                    struct eb_answer *ans);

#endif

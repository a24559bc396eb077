/* Push semantics: first time for a push id -> store; same id again -> the stored outcome, nothing
 * written twice; a new push for a known applicationId -> replace; one transaction per push; true
 * only after the commit is durable; every push recorded in push_log. */
#ifndef EB_BRIDGE_H
#define EB_BRIDGE_H

#include "adapters/adapter.h"
#include "util/err.h"

/* The answer for the client. */
struct eb_answer {
    int ok;            /* 1: answer true */
    enum eb_outcome outcome; /* what is recorded for the push id */
    int duplicate;     /* 1 when the push id had been seen before */
    char message[256]; /* for the client: names the field, never echoes personal data */
};

/* Handles one push. p is the mapped, validated push, or NULL when the push was rejected before
 * (then rec->outcome is EB_OUTCOME_REJECTED and rec->message says why). rec is completed by the
 * caller except outcome/message for valid pushes. Never fails: database errors become an answer
 * with ok = 0 and outcome EB_OUTCOME_FAILED (and a best-effort "failed" push_log entry). */
void eb_bridge_push(struct eb_adapter *a, const struct eb_push *p, struct eb_push_record *rec,
                    struct eb_answer *ans);

#endif

/* Interview-event semantics on top of an adapter (bridge.c, the same job as a push): first time
 * for a push id -> apply the event; same id again -> the recorded outcome, nothing written
 * twice; one transaction; stored only after the commit is durable; every event, stored or
 * rejected, recorded in push_log. */
#ifndef EB_BRIDGE_INTERVIEW_H
#define EB_BRIDGE_INTERVIEW_H

#include "adapters/adapter.h"
#include "bridge/bridge.h"
#include "candidate/interview.h"

/* Handles one interview event. ev is the parsed, validated event, or NULL when it was rejected
 * before (then rec->outcome is EB_OUTCOME_REJECTED and rec->message says why; it is recorded
 * with eb_bridge_store_push). Never fails: database errors become ans->ok = 0 with outcome
 * EB_OUTCOME_FAILED, a fixed message, and a best-effort "failed" push_log entry. */
void eb_bridge_interview(struct eb_adapter *a, const struct eb_interview_event *ev,
                         struct eb_push_record *rec, struct eb_answer *ans);

#endif

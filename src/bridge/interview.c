/* Interview events through the adapter (see interview.h): the client's answer from what the
 * database recorded; database failures as "false, retry" with driver detail in the log only. */
#include "bridge/interview.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"

#define MSG_UNAVAILABLE "database unavailable, event not stored; retry later"
#define MSG_DB_ERROR    "database error, event not stored; retry later"

void eb_bridge_interview(struct eb_adapter *a, const struct eb_interview_event *ev,
                         struct eb_push_record *rec, struct eb_answer *ans)
{
    struct eb_stored st;
    struct eb_err err;
    eb_rc rc;

    memset(ans, 0, sizeof *ans);
    eb_err_clear(&err);
    if (!rec || !rec->push_id || !rec->push_id[0]) {
        ans->outcome = EB_OUTCOME_REJECTED;
        snprintf(ans->message, sizeof ans->message, "id is required");
        return;
    }
    if (ev) {
        rec->outcome = EB_OUTCOME_STORED;
        rec->message = NULL;
        rc = eb_adapter_store_interview_event(a, ev, rec, &st, &err);
    } else {
        rec->outcome = EB_OUTCOME_REJECTED;
        if (!rec->message)
            rec->message = "the interview event is invalid";
        rc = eb_adapter_store_push(a, NULL, rec, &st, &err);
    }
    if (rc == EB_OK) {
        ans->outcome = st.outcome;
        ans->duplicate = st.duplicate;
        ans->ok = st.outcome == EB_OUTCOME_STORED;
        snprintf(ans->message, sizeof ans->message, "%s", st.message);
        return;
    }
    const char *db_msg = rc == EB_ERR_UNAVAILABLE ? MSG_UNAVAILABLE : MSG_DB_ERROR;
    ans->ok = 0;
    ans->outcome = EB_OUTCOME_FAILED;
    snprintf(ans->message, sizeof ans->message, "%s",
             rec->outcome == EB_OUTCOME_REJECTED ? rec->message : db_msg);
    eb_log(EB_LOG_ERROR, "interview event not stored", "push_id", rec->push_id, "error",
           eb_strerror(rc), "detail", err.msg, NULL);
    rec->outcome = EB_OUTCOME_FAILED;
    rec->message = db_msg;
    if ((rc = eb_adapter_log_failure(a, rec, &err)))
        eb_log(EB_LOG_WARN, "event failure not recorded in push_log", "push_id", rec->push_id,
               "error", eb_strerror(rc), "detail", err.msg, NULL);
}

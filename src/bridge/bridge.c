/* Push semantics on top of an adapter: decides what is recorded for a push, turns the adapter's
 * result into the client's answer, and turns database failures into "false, retry" with a
 * best-effort "failed" push_log entry. Driver detail goes to the log only. */
#include "bridge/bridge.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "candidate/candidate.h"
#include "util/log.h"

/* Client messages for database failures: fixed text, never driver text. */
#define MSG_UNAVAILABLE "database unavailable, push not stored; retry later"
#define MSG_DB_ERROR    "database error, push not stored; retry later"

static void set_message(struct eb_answer *ans, const char *msg)
{
    snprintf(ans->message, sizeof ans->message, "%s", msg ? msg : "");
}

void eb_bridge_push(struct eb_adapter *a, const struct eb_push *p, struct eb_push_record *rec,
                    struct eb_answer *ans)
{
    struct eb_stored st;
    struct eb_err err;
    char app_id[24] = "-";

    memset(ans, 0, sizeof *ans);
    eb_err_clear(&err);
    if (!rec || !rec->push_id || !rec->push_id[0]) {
        /* Nothing to key the push log on: answer without recording. */
        ans->outcome = EB_OUTCOME_REJECTED;
        set_message(ans, "id is required");
        eb_log(EB_LOG_WARN, "push refused: no push id", NULL);
        return;
    }

    if (p && (!p->data || !p->data->application_id.set)) {
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
    if (!p && rec->outcome == EB_OUTCOME_REJECTED && !rec->message)
        rec->message = "the record is invalid";
    if (rec->has_application_id)
        snprintf(app_id, sizeof app_id, "%" PRId64, rec->application_id);

    eb_rc rc = eb_adapter_store_push(a, p, rec, &st, &err);
    char reason[sizeof err.msg];
    if (rc == EB_ERR_INVALID && p) {
        /* the adapter cannot store this record as it is (a mapping's key or required column
         * without a value, mapping/mapping.h): refused like an invalid record, with the
         * adapter's reason, which names the column and field, never a value */
        snprintf(reason, sizeof reason, "%s", err.msg);
        p = NULL;
        rec->outcome = EB_OUTCOME_REJECTED;
        rec->message = reason;
        rc = eb_adapter_store_push(a, NULL, rec, &st, &err);
    }
    if (rc == EB_OK) {
        ans->outcome = st.outcome;
        ans->duplicate = st.duplicate;
        ans->ok = st.outcome == EB_OUTCOME_STORED;
        set_message(ans, st.message);
        if (st.outcome == EB_OUTCOME_STORED)
            eb_log(EB_LOG_DEBUG, "push", "push_id", rec->push_id, "application_id", app_id,
                   "outcome", "stored", "duplicate", st.duplicate ? "1" : "0", NULL);
        else
            eb_log(EB_LOG_DEBUG, "push", "push_id", rec->push_id, "application_id", app_id,
                   "outcome", eb_outcome_name(st.outcome), "duplicate", st.duplicate ? "1" : "0",
                   "reason", st.message, NULL);
        return;
    }

    /* Not recorded. The client learns why in fixed words; the log gets the detail. */
    const char *db_msg = rc == EB_ERR_UNAVAILABLE ? MSG_UNAVAILABLE : MSG_DB_ERROR;
    ans->ok = 0;
    ans->outcome = EB_OUTCOME_FAILED;
    /* A rejected record stays rejected whatever the database does: say why it was refused. */
    set_message(ans, rec->outcome == EB_OUTCOME_REJECTED ? rec->message : db_msg);
    eb_log(EB_LOG_ERROR, "push not stored", "push_id", rec->push_id, "application_id", app_id,
           "error", eb_strerror(rc), "detail", err.msg, NULL);

    rec->outcome = EB_OUTCOME_FAILED;
    rec->message = db_msg;
    rc = eb_adapter_log_failure(a, rec, &err);
    if (rc)
        eb_log(EB_LOG_WARN, "push failure not recorded in push_log", "push_id", rec->push_id,
               "error", eb_strerror(rc), "detail", err.msg, NULL);
}

/* The push rules, written once for every database over the adapter's primitives
 * (adapters/adapter.h, version 2): the claim of a push id and the duplicate answer, the
 * replacement of a candidate's rows, the "superseded" rule of replay, interview events, and the
 * "failed" record that never overwrites a final outcome. Runs inside a transaction the caller
 * opened (group.c). */
#include "bridge/write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/candidate.h"

static void answer(struct eb_stored *out, enum eb_outcome o, int duplicate, const char *message)
{
    out->outcome = o;
    out->duplicate = duplicate;
    snprintf(out->message, sizeof out->message, "%s", message ? message : "");
}

/* Records rec with outcome o (claim: unless the push id is recorded with a final outcome;
 * *written says whether it was). A stored push keeps neither a message nor its raw body. */
static eb_rc record(struct eb_adapter *a, const struct eb_write *w, enum eb_outcome o, int claim,
                    int *written)
{
    struct eb_push_record r = *w->rec;
    if (o == EB_OUTCOME_STORED) {
        r.message = NULL;
        r.raw = NULL;
        r.raw_len = 0;
    }
    return eb_adapter_log_put(a, &r, o, w->received_at, claim, written, w->err);
}

/* Replay: the push that wrote the candidate's current rows is a later one (and another one). */
static eb_rc superseded(struct eb_adapter *a, const struct eb_write *w, int *yes)
{
    struct eb_candidate_last last = {0};
    eb_rc rc = eb_adapter_candidate_last(a, w->p->data->application_id.v, &last, w->err);
    *yes = !rc && last.found && last.received_at_ms > w->received_at &&
           (!last.push_id || strcmp(last.push_id, w->rec->push_id) != 0);
    free(last.push_id);
    return rc;
}

static eb_rc replay(struct eb_adapter *a, struct eb_write *w, const struct eb_log_state *st)
{
    eb_rc rc = EB_OK;
    int final = st->found && st->outcome != EB_OUTCOME_FAILED;
    if (!w->p) {
        if (final && st->outcome == EB_OUTCOME_STORED) {
            answer(w->out, EB_OUTCOME_STORED, 0, st->message); /* replay never removes data */
            return EB_OK;
        }
        if ((rc = record(a, w, EB_OUTCOME_REJECTED, 0, NULL)))
            return rc;
        answer(w->out, EB_OUTCOME_REJECTED, 0, w->rec->message);
        return EB_OK;
    }
    int later = 0;
    if ((rc = superseded(a, w, &later)))
        return rc;
    if (later) {
        if (final)
            answer(w->out, st->outcome, 1, st->message);
        else
            answer(w->out, EB_OUTCOME_FAILED, 1, NULL);
        return EB_OK;
    }
    if ((rc = eb_adapter_candidate_write(a, w->p, w->rec->push_id, w->received_at, w->err)) ||
        (rc = record(a, w, EB_OUTCOME_STORED, 0, NULL)))
        return rc;
    answer(w->out, EB_OUTCOME_STORED, 0, NULL);
    return EB_OK;
}

eb_rc eb_write_once(struct eb_adapter *a, struct eb_write *w)
{
    const struct eb_adapter_methods *m = a->m;
    const struct eb_push_record *rec = w->rec;
    struct eb_log_state st = {0};
    eb_rc rc = EB_OK;
    if (w->kind == EB_WRITE_FAILURE) /* never over a final outcome */
        return record(a, w, EB_OUTCOME_FAILED, 1, NULL);
    if (w->kind == EB_WRITE_REPLAY)
        return (rc = eb_adapter_log_get(a, rec->push_id, &st, w->err)) ? rc : replay(a, w, &st);
    /* the claim: the push id's row, unless it is recorded with a final outcome */
    enum eb_outcome o = w->p || w->ev ? EB_OUTCOME_STORED : rec->outcome;
    int claimed = 0;
    if ((rc = record(a, w, o, 1, &claimed)))
        return rc;
    if (!claimed) { /* a duplicate: answer what is recorded, write nothing */
        if ((rc = eb_adapter_log_get(a, rec->push_id, &st, w->err)))
            return rc;
        if (!st.found || st.outcome == EB_OUTCOME_FAILED) {
            /* changed by another writer in between: the next try finds it settled */
            w->retry = 1;
            return eb_err_set(w->err, EB_ERR_UNAVAILABLE,
                              "%s: the push id changed while it was being read", m->name);
        }
        answer(w->out, st.outcome, 1, st.message);
        return EB_OK;
    }
    if (w->p && (rc = eb_adapter_candidate_write(a, w->p, rec->push_id, w->received_at, w->err)))
        return rc;
    if (w->ev && (rc = eb_adapter_interview_apply(a, w->ev, rec->push_id, w->received_at, w->err)))
        return rc;
    answer(w->out, o, 0, o == EB_OUTCOME_STORED ? NULL : rec->message);
    return EB_OK;
}

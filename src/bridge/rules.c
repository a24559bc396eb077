/* The push rules, written once for every database over the adapter's primitives
 * (adapters/adapter.h, version 2): the claim of a push id and the duplicate answer, the
 * replacement of a candidate's rows, the "superseded" rule of replay, interview events, and the
 * "failed" record that never overwrites a final outcome, and the queueing of a stored record's
 * download links for the document archive (version 4 adapters). Runs inside a transaction the
 * caller opened (group.c). */
#include "bridge/write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/candidate.h"
#include "candidate/links.h"
#include "util/buf.h"
#include "util/clock.h"

#define LINK_BATCH 16 /* links handed to att_enqueue at a time */

/* Links of one record on their way to att_enqueue, LINK_BATCH at a time. The walk's field names
 * and some of its URLs (customAttachmentList's) live only during its callback: their text is
 * copied into `text` and the pointers are set when the batch is handed over. */
struct link_batch {
    struct eb_adapter *a;
    const struct eb_write *w;
    int64_t at;
    size_t n;
    struct eb_att_link v[LINK_BATCH];
    size_t field_at[LINK_BATCH], url_at[LINK_BATCH]; /* offsets in text */
    struct eb_buf text;
    eb_rc rc;
};

static int link_flush(struct link_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        b->v[i].field = b->text.data + b->field_at[i];
        b->v[i].url = b->text.data + b->url_at[i];
    }
    if (b->n && !b->rc)
        b->rc = eb_adapter_att_enqueue(b->a, b->w->rec->push_id, b->w->p->data->application_id.v,
                                       b->v, b->n, b->at, b->w->err);
    b->n = 0;
    eb_buf_reset(&b->text);
    return b->rc != EB_OK;
}

static int link_add(void *user, const struct eb_link_ref *l)
{
    struct link_batch *b = user;
    size_t len = strlen(l->url);
    len = len < EB_LINK_URL_MAX ? len : EB_LINK_URL_MAX; /* a longer one is queued cut: refused */
    b->field_at[b->n] = b->text.len;
    if (!(b->rc = eb_buf_append(&b->text, l->field, strlen(l->field) + 1))) {
        b->url_at[b->n] = b->text.len;
        b->rc = eb_buf_append(&b->text, l->url, len);
    }
    if (!b->rc)
        b->rc = eb_buf_append(&b->text, "", 1);
    if (b->rc) {
        eb_err_set(b->w->err, b->rc, "queueing the download links: out of memory");
        return 1;
    }
    b->v[b->n] = (struct eb_att_link){
        .url_len = len,
        .expires_ms = eb_link_expires_ms(l->url, l->lifetime_ms, b->at),
    };
    return ++b->n == LINK_BATCH ? link_flush(b) : 0;
}

/* With the archive (w->links) on an adapter that keeps the queue: the record's download links
 * (candidate/links.h) as pending rows, created and due at `at`, in the push's transaction;
 * again (replay): then the push's links that are neither stored nor pending are due again. */
static eb_rc queue_links(struct eb_adapter *a, const struct eb_write *w, int64_t at, int again)
{
    if (!w->links || !w->p || !eb_adapter_has_queue(a))
        return EB_OK;
    struct link_batch b = {.a = a, .w = w, .at = at};
    eb_buf_init(&b.text, (size_t)LINK_BATCH * (EB_LINK_FIELD_MAX + EB_LINK_URL_MAX + 2));
    int stopped = eb_links_each(w->p, link_add, &b) || link_flush(&b);
    eb_buf_free(&b.text);
    if (stopped)
        return b.rc ? b.rc : eb_err_set(w->err, EB_ERR_INTERNAL, "queueing the download links");
    return again ? eb_adapter_att_requeue(a, w->rec->push_id, at, w->err) : EB_OK;
}

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
        (rc = queue_links(a, w, eb_now_ms(), 1)) || (rc = record(a, w, EB_OUTCOME_STORED, 0, NULL)))
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
    if (w->p && ((rc = eb_adapter_candidate_write(a, w->p, rec->push_id, w->received_at, w->err)) ||
                 (rc = queue_links(a, w, w->received_at, 0))))
        return rc;
    if (w->ev && (rc = eb_adapter_interview_apply(a, w->ev, rec->push_id, w->received_at, w->err)))
        return rc;
    answer(w->out, o, 0, o == EB_OUTCOME_STORED ? NULL : rec->message);
    return EB_OK;
}

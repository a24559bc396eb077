/* Inside the bridge: one write of the push rules (rules.c) and the group commit that carries it
 * to a version-2 adapter (group.c). Not for use outside src/bridge/. */
#ifndef EB_BRIDGE_WRITE_H
#define EB_BRIDGE_WRITE_H

#include <pthread.h>
#include <stdint.h>

#include "adapters/adapter.h"
#include "bridge/bridge.h"
#include "util/err.h"

/* What a write does (rules.c says how). */
enum eb_write_kind {
    EB_WRITE_STORE = 0, /* a push: claim its id, replace the candidate, record it */
    EB_WRITE_FAILURE,   /* a "failed" record, unless the id is recorded with a final outcome */
    EB_WRITE_INTERVIEW, /* an interview event: claim its id, apply it, record it */
    EB_WRITE_REPLAY     /* `ehrbridge replay`: re-store a logged push unless superseded */
};

/* One write, waiting for a connection's transaction. */
struct eb_write {
    enum eb_write_kind kind;
    const struct eb_push *p;             /* STORE, REPLAY: the record; NULL when rejected */
    const struct eb_interview_event *ev; /* INTERVIEW: the event */
    const struct eb_push_record *rec;    /* the push_log row */
    struct eb_stored *out;               /* all but FAILURE: filled when rc is EB_OK */
    struct eb_err *err;                  /* why rc is not EB_OK */
    int64_t received_at;                 /* push_log.received_at */
    int links;                           /* STORE, REPLAY: queue the record's download links
                                            (the caller's adapter's queue_links) */
    eb_rc rc;                            /* the result, once done */
    int retry;                           /* failed, and the adapter says a new try may pass */
    /* group.c's */
    int taken;                 /* in the writer's batch: no longer allowed to time out */
    int done;                  /* rc is final */
    pthread_cond_t cv;         /* a waiting caller's: signalled when done */
    struct eb_push_job *async; /* submitted without waiting: completed with its done */
    int64_t queued_ms;         /* monotonic, when queued */
    struct eb_write *next;     /* in the group's queue */
};

/* Writes w on a inside the transaction that a has open (rules.c): the push rules, once for
 * every database. On error the caller rolls back what w wrote. */
eb_rc eb_write_once(struct eb_adapter *a, struct eb_write *w);

/* Writes w and returns once its transaction is committed durably or has failed: through a's
 * group when it has one (group commit), else alone on a, with the retries the adapter allows. */
eb_rc eb_write_wait(struct eb_adapter *a, struct eb_write *w);

/* Queues job on a version-2 adapter and returns; job->done is called exactly once, on the
 * group's writer thread or (no group) before this returns. */
void eb_write_submit(struct eb_adapter *a, struct eb_push_job *job);

#endif

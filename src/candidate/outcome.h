/* What became of a push (its outcome in push_log) and which push_log rows a listing selects:
 * plain values shared by the adapter table (adapters/adapter.h), the SQL text that lists the log
 * (sql/sqlgen.h) and the callers that read it back. */
#ifndef EB_OUTCOME_H
#define EB_OUTCOME_H

#include <stdint.h>

/* What became of a push. The text forms ("stored", "rejected", "failed") are kept in push_log. */
enum eb_outcome {
    EB_OUTCOME_STORED = 0, /* the candidate is committed */
    EB_OUTCOME_REJECTED,   /* understood but not acceptable: the record is invalid */
    EB_OUTCOME_FAILED      /* could not be stored now (database down): the same id may be retried */
};

/* Which push_log rows to list. */
struct eb_push_filter {
    const char *push_id; /* exactly this push id; NULL: any */
    int outcome;         /* an enum eb_outcome; -1: any */
    int64_t from_ms;     /* received_at >= from_ms; 0: no lower bound */
    int64_t to_ms;       /* received_at <= to_ms; 0: no upper bound */
};

/* The text form of o: "stored", "rejected" or "failed" (an unknown value reads "failed"). */
const char *eb_outcome_name(enum eb_outcome o);

#endif

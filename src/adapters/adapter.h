/* The database adapter table: one const table of function pointers per database (the shape of
 * SQLite's sqlite3_vfs), one file per database. Callers use the eb_adapter_* wrappers only.
 * An adapter instance is one connection; it is used by one thread at a time. */
#ifndef EB_ADAPTER_H
#define EB_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct eb_push;
struct eb_interview_event;
struct eb_mapping;

/* What became of a push. The text forms ("stored", "rejected", "failed") are kept in push_log. */
enum eb_outcome {
    EB_OUTCOME_STORED = 0, /* the candidate is committed */
    EB_OUTCOME_REJECTED,   /* understood but not acceptable: the record is invalid */
    EB_OUTCOME_FAILED      /* could not be stored now (database down): the same id may be retried */
};

/* The push_log row of one push: what was received and what became of it. */
struct eb_push_record {
    const char *push_id;      /* primary key; never NULL */
    const char *event;        /* NULL when absent */
    const char *triggered_at; /* as sent; NULL when absent */
    int64_t application_id;   /* valid when has_application_id */
    int has_application_id;   /* 1 when application_id is known */
    int64_t candidate_id;     /* valid when has_candidate_id */
    int has_candidate_id;     /* 1 when candidate_id is known */
    int64_t received_at_ms;   /* Unix time in milliseconds */
    const char *payload;      /* the canonical XML; NULL when the body could not be canonicalized */
    size_t payload_len;       /* bytes of payload */
    const char *raw;          /* the raw request body; kept for pushes that were not stored */
    size_t raw_len;           /* bytes of raw */
    enum eb_outcome outcome;  /* what is being recorded */
    const char *message;      /* why, for rejected and failed pushes; NULL when stored */
};

/* A push_log row read back (for `ehrbridge replay`). Strings live until the callback returns. */
struct eb_logged_push {
    const char *push_id;      /* never NULL */
    const char *event;        /* NULL when absent */
    const char *triggered_at; /* NULL when absent */
    int64_t received_at_ms;   /* Unix ms */
    enum eb_outcome outcome;  /* as recorded */
    const char *message;      /* NULL when none */
    const char *payload;      /* canonical XML; NULL when none */
    size_t payload_len;
    const char *raw; /* raw body; NULL when not kept */
    size_t raw_len;
};

/* Which push_log rows to list. */
struct eb_push_filter {
    const char *push_id; /* exactly this push id; NULL: any */
    int outcome;         /* an enum eb_outcome; -1: any */
    int64_t from_ms;     /* received_at >= from_ms; 0: no lower bound */
    int64_t to_ms;       /* received_at <= to_ms; 0: no upper bound */
};

/* Called once per listed row; a non-zero return stops the listing and is passed back. */
typedef int (*eb_logged_push_fn)(void *user, const struct eb_logged_push *row);

/* What the database says about a push id after store_push. */
struct eb_stored {
    enum eb_outcome outcome; /* the outcome now recorded for this push id */
    int duplicate;           /* 1 when the push id was already recorded and nothing was written */
    char message[256];       /* the recorded message ("" when none) */
};

struct eb_adapter;

/* ---- reads of the push log for the admin listener (admin/), table version 2 ---- */

/* Which push_log rows a page of the push browser lists, newest first. */
struct eb_push_query {
    int outcome;            /* an enum eb_outcome; -1: any */
    const char *q;          /* NULL: any; else the push id is q, or the applicationId is q_app
                                 (when has_q_app), or the candidate's name starts with q (not
                                 with a mapping: there is no candidate table to search) */
    int64_t q_app;          /* q as a number */
    int has_q_app;          /* 1 when q is a number */
    int64_t application_id; /* valid when has_application_id: only this applicationId */
    int has_application_id; /* 1: filter on application_id */
    int64_t since_ms;       /* received_at >= since_ms; 0: no lower bound */
    int64_t until_ms;       /* received_at <= until_ms; 0: no upper bound */
    const char *after_id;   /* keyset cursor: rows before (after_ms, after_id) in the listing
                                 order; NULL: the first page */
    int64_t after_ms;       /* the cursor's received_at */
    unsigned limit;         /* rows at most (1..1000) */
};

/* One push_log row as the push browser shows it. Strings live until the callback returns. */
struct eb_push_summary {
    const char *push_id;      /* never NULL */
    const char *event;        /* NULL when absent */
    const char *triggered_at; /* NULL when absent */
    int64_t received_at_ms;   /* Unix ms */
    int64_t application_id;   /* valid when has_application_id */
    int has_application_id;
    int64_t candidate_id; /* push_get only; valid when has_candidate_id */
    int has_candidate_id;
    enum eb_outcome outcome;
    const char *message;     /* NULL when none */
    const char *name;        /* the candidate's current name; NULL when unknown or mapped */
    const char *payload;     /* push_get only: the canonical XML; NULL when none */
    size_t payload_len;      /* bytes of payload */
    const char *raw;         /* push_get only: the raw body when kept; NULL otherwise */
    size_t raw_len;          /* bytes of raw */
    const char *replaced_by; /* push_get only: the push whose data the candidate holds now,
                                when another one; NULL otherwise */
};

/* Called once per row; a non-zero return stops the read (EB_ERR_INTERNAL). */
typedef int (*eb_push_summary_fn)(void *user, const struct eb_push_summary *row);

/* Called once per push_warning row of a push, in order (value NULL once --retention purged
 * it); a non-zero return stops the read. */
typedef int (*eb_push_warning_fn)(void *user, const char *field, const char *value,
                                  const char *reason);

/* Called once per (bucket, outcome) with pushes: bucket is the bucket's number counted from
 * the window's start; a non-zero return stops the read. */
typedef int (*eb_push_count_fn)(void *user, int64_t bucket, enum eb_outcome outcome, int64_t n);

/* What a submitted job asks for. */
enum eb_job_kind {
    EB_JOB_STORE = 0, /* store_push(p, rec) */
    EB_JOB_FAILURE,   /* log_failure(rec) */
    EB_JOB_INTERVIEW  /* store_interview_event(ev, rec) */
};

/* A push handed over without waiting (eb_adapter_submit): the adapter writes it as store_push
 * or log_failure would, and calls done once the outcome is durable or the write failed. The
 * caller keeps the job and everything it points to alive until done. */
struct eb_push_job {
    enum eb_job_kind kind;
    const struct eb_push *p;             /* EB_JOB_STORE: the record, or NULL (rejected) */
    const struct eb_interview_event *ev; /* EB_JOB_INTERVIEW: the event */
    const struct eb_push_record *rec;    /* the push_log row */
    struct eb_stored out;                /* STORE and INTERVIEW: filled when rc is EB_OK */
    struct eb_err err;                   /* why, when rc is not EB_OK */
    eb_rc rc;                            /* the result, set before done */
    /* Called exactly once, on any thread, possibly before eb_adapter_submit returns; may free
     * the job and may submit again, but must not call a waiting method of this adapter
     * (store_push, ...): it may run on the thread that writes for them. */
    void (*done)(struct eb_push_job *job);
    void *user; /* the caller's */
};

struct eb_adapter_methods {
    int version;        /* 1; fields are only ever appended */
    const char *name;   /* "sqlite", "postgres", "odbc", ... */
    const char *scheme; /* URL scheme this adapter answers to, without ':' ("sqlite") */
    size_t
        instance_size; /* the core allocates and zeroes this much; starts with struct eb_adapter */

    /* Connects to url (the full --db value) and creates or migrates the default schema. When
     * a->mapping is set (--mapping), also checks that the mapped tables and columns exist and
     * prepares their statements; from then on store_push and replay_push write a candidate into
     * the mapped tables (mapping/mapping.h: eb_mapping_write, in the push's transaction) instead
     * of the default candidate tables. */
    eb_rc (*open)(struct eb_adapter *a, const char *url, struct eb_err *err);
    /* Disconnects; must accept a half-opened adapter. Does not free `a`. */
    void (*close)(struct eb_adapter *a);
    /* In one transaction, returning only after a durable commit:
     * - when rec->push_id is recorded with an outcome other than "failed": write nothing, fill
     *   *out from the record, out->duplicate = 1;
     * - otherwise when p != NULL (rec->outcome == EB_OUTCOME_STORED): replace every row of
     *   p->data's applicationId with p's, record rec in push_log;
     * - otherwise (rejected): record rec in push_log only.
     * On error nothing is written; err says why (EB_ERR_UNAVAILABLE when the database cannot be
     * reached, EB_ERR_DB otherwise). */
    eb_rc (*store_push)(struct eb_adapter *a, const struct eb_push *p,
                        const struct eb_push_record *rec, struct eb_stored *out,
                        struct eb_err *err);
    /* Best effort, own transaction: records rec (outcome "failed") unless the push id is already
     * recorded with another outcome. */
    eb_rc (*log_failure)(struct eb_adapter *a, const struct eb_push_record *rec,
                         struct eb_err *err);
    /* Checks that the database answers and the schema is the one this binary knows. */
    eb_rc (*ping)(struct eb_adapter *a, struct eb_err *err);
    /* Other URL schemes this adapter answers to, without ':', NULL-terminated; NULL for none
     * (postgres: {"postgres", NULL} beside "postgresql"). */
    const char *const *aliases;
    /* The vendor's interview events (candidate/interview.h), in one transaction, returning only
     * after a durable commit; the push log works as in store_push:
     * - when rec->push_id is recorded with an outcome other than "failed": write nothing, fill
     *   *out from the record, out->duplicate = 1;
     * - otherwise, for each ev->interviews[i] (keyed by its event_id): delete the event_id's rows
     *   from interview, interview_application, interview_interviewer and interview_interviewee
     *   (adapters/interview_sql.h); unless ev->kind is EB_INTERVIEW_DELETE, insert the new rows
     *   (eb_interview_sql_rows); then record rec (outcome stored) in push_log. Deleting an
     *   unknown event_id is not an error.
     * A rejected interview event is recorded with store_push(a, NULL, rec, ...). The tables are
     * created at open (CREATE TABLE IF NOT EXISTS, eb_interview_sql_build). Errors as store_push.
     * NULL when the adapter does not store interview events (the wrapper then fails). */
    eb_rc (*store_interview_event)(struct eb_adapter *a, const struct eb_interview_event *ev,
                                   const struct eb_push_record *rec, struct eb_stored *out,
                                   struct eb_err *err);
    /* Lists the push_log rows matching f in received_at order (then push_id), calling fn for
     * each; read-only. Returns EB_OK, the error, or (as EB_ERR_INTERNAL) a stop asked by fn. */
    eb_rc (*list_pushes)(struct eb_adapter *a, const struct eb_push_filter *f, eb_logged_push_fn fn,
                         void *user, struct eb_err *err);
    /* Re-stores a push already in push_log with the current mapping (`ehrbridge replay`), in one
     * transaction, returning after a durable commit; idempotent:
     * - p != NULL (valid now): when the candidate's current row comes from a push received later
     *   than rec->received_at_ms, nothing is written and out->duplicate = 1 (superseded);
     *   otherwise the candidate's rows are replaced with p's and the push_log row of
     *   rec->push_id gets outcome stored, message NULL, payload rec->payload (raw cleared);
     * - p == NULL (invalid now): the push_log row gets outcome rejected and rec->message, unless
     *   it is recorded as stored (replay never removes stored data; out says stored).
     * out->outcome is the outcome recorded afterwards. Errors as store_push. */
    eb_rc (*replay_push)(struct eb_adapter *a, const struct eb_push *p,
                         const struct eb_push_record *rec, struct eb_stored *out,
                         struct eb_err *err);
    /* Queues job (arguments already checked) and returns at once; the adapter calls job->done
     * from its own writer thread once the job's transaction is committed durably (or failed).
     * Jobs of several callers may share one transaction and one commit. NULL when the adapter
     * only writes synchronously: eb_adapter_submit then calls store_push or log_failure and
     * job->done on the caller's thread. */
    void (*submit)(struct eb_adapter *a, struct eb_push_job *job);

    /* Version 2: reads for the admin listener, on this instance's own connection, read-only.
     * NULL when the adapter has none (the wrappers then fail with EB_ERR_INTERNAL). */
    /* Lists at most q->limit push_log rows q selects, newest first (received_at, then push_id,
     * descending), each with the candidate's current name when there is a candidate table. */
    eb_rc (*push_page)(struct eb_adapter *a, const struct eb_push_query *q, eb_push_summary_fn fn,
                       void *user, struct eb_err *err);
    /* Reads the row of push_id with its payload, raw body and replaced_by; fn is not called
     * when the push id is unknown. */
    eb_rc (*push_get)(struct eb_adapter *a, const char *push_id, eb_push_summary_fn fn, void *user,
                      struct eb_err *err);
    /* Counts the pushes received since since_ms by outcome, in buckets of bucket_ms. */
    eb_rc (*push_counts)(struct eb_adapter *a, int64_t since_ms, int64_t bucket_ms,
                         eb_push_count_fn fn, void *user, struct eb_err *err);
    /* Retention (--retention): clears the values of the push_warning rows of every push
     * received before before_ms, and payload and raw of at most max_rows push_log rows
     * received before before_ms that still hold either, oldest first, in one transaction of
     * its own; the rest of the rows stays. *purged gets the rows cleared (fewer than max_rows:
     * nothing older is left). An adapter that cannot bound a batch may clear them all. */
    eb_rc (*purge_payloads)(struct eb_adapter *a, int64_t before_ms, unsigned max_rows,
                            int64_t *purged, struct eb_err *err);
    /* Reads the push_warning rows of push_id in their order (none: fn is not called). */
    eb_rc (*push_warnings)(struct eb_adapter *a, const char *push_id, eb_push_warning_fn fn,
                           void *user, struct eb_err *err);
};

/* First member of every adapter instance. */
struct eb_adapter {
    const struct eb_adapter_methods *m; /* the adapter's table */
    const struct eb_mapping *mapping;   /* --mapping, set before open; NULL: the default schema.
                                           Borrowed: outlives the adapter */
};

/* The table whose scheme matches the start of url ("sqlite:..."); NULL when none. */
const struct eb_adapter_methods *eb_adapter_lookup(const char *url);

/* Looks up, allocates and opens an adapter for url. On success *out is set; caller frees with
 * eb_adapter_close(). On failure *out is NULL and err says why. */
eb_rc eb_adapter_open(const char *url, struct eb_adapter **out, struct eb_err *err);

/* As eb_adapter_open, writing candidates through mapping (NULL: the default schema), which must
 * outlive the adapter. An adapter that cannot write through a mapping fails (EB_ERR_CONFIG). */
eb_rc eb_adapter_open_mapped(const char *url, const struct eb_mapping *mapping,
                             struct eb_adapter **out, struct eb_err *err);

/* Closes and frees (NULL-safe). */
void eb_adapter_close(struct eb_adapter *a);

eb_rc eb_adapter_store_push(struct eb_adapter *a, const struct eb_push *p,
                            const struct eb_push_record *rec, struct eb_stored *out,
                            struct eb_err *err);
eb_rc eb_adapter_log_failure(struct eb_adapter *a, const struct eb_push_record *rec,
                             struct eb_err *err);
eb_rc eb_adapter_ping(struct eb_adapter *a, struct eb_err *err);
/* Wrappers of list_pushes / replay_push: EB_ERR_INTERNAL when the adapter lacks the method. */
eb_rc eb_adapter_list_pushes(struct eb_adapter *a, const struct eb_push_filter *f,
                             eb_logged_push_fn fn, void *user, struct eb_err *err);
eb_rc eb_adapter_replay_push(struct eb_adapter *a, const struct eb_push *p,
                             const struct eb_push_record *rec, struct eb_stored *out,
                             struct eb_err *err);
/* store_interview_event; EB_ERR_INTERNAL when the adapter has none. */
eb_rc eb_adapter_store_interview_event(struct eb_adapter *a, const struct eb_interview_event *ev,
                                       const struct eb_push_record *rec, struct eb_stored *out,
                                       struct eb_err *err);

/* Hands job to the adapter without waiting for its commit where the adapter can (see
 * struct eb_push_job and the submit method); job->done is always called, exactly once. */
void eb_adapter_submit(struct eb_adapter *a, struct eb_push_job *job);

/* Wrappers of push_page, push_get and push_counts: EB_ERR_INTERNAL when the adapter lacks the
 * method (an adapter of version 1). */
eb_rc eb_adapter_push_page(struct eb_adapter *a, const struct eb_push_query *q,
                           eb_push_summary_fn fn, void *user, struct eb_err *err);
eb_rc eb_adapter_push_get(struct eb_adapter *a, const char *push_id, eb_push_summary_fn fn,
                          void *user, struct eb_err *err);
eb_rc eb_adapter_push_counts(struct eb_adapter *a, int64_t since_ms, int64_t bucket_ms,
                             eb_push_count_fn fn, void *user, struct eb_err *err);

/* push_warnings; EB_ERR_INTERNAL when the adapter has none. */
eb_rc eb_adapter_push_warnings(struct eb_adapter *a, const char *push_id, eb_push_warning_fn fn,
                               void *user, struct eb_err *err);

/* purge_payloads; EB_ERR_INTERNAL when the adapter has none. */
eb_rc eb_adapter_purge_payloads(struct eb_adapter *a, int64_t before_ms, unsigned max_rows,
                                int64_t *purged, struct eb_err *err);

/* Text form of an outcome: "stored", "rejected", "failed". */
const char *eb_outcome_name(enum eb_outcome o);

extern const struct eb_adapter_methods eb_adapter_sqlite;
/* `noop:` answers every valid push as stored and stores NOTHING: a benchmarking tool only. */
extern const struct eb_adapter_methods eb_adapter_noop;
extern const struct eb_adapter_methods eb_adapter_postgres; /* adapters/postgres.c */
extern const struct eb_adapter_methods eb_adapter_odbc;     /* adapters/odbc.c */

#endif

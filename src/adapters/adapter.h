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

/* ---- the attachment queue (archive/): table attachment, one row per download link ---------- */

/* The state of one link. Text forms: "pending", "stored", "failed", "expired", "refused". */
enum eb_att_status {
    EB_ATT_PENDING = 0, /* to be fetched (again) at next_ms */
    EB_ATT_STORED,      /* the content is stored */
    EB_ATT_FAILED,      /* given up for a reason a retry would not change (too large) */
    EB_ATT_EXPIRED,     /* failed after the link expired */
    EB_ATT_REFUSED      /* not allowed (--fetch-allow, an address, a redirect) */
};
#define EB_ATT_N_STATUS 5

/* One link claimed for fetching (att_claim). */
struct eb_att_claim {
    int64_t id;         /* attachment.id */
    int attempt;        /* this attempt's number (attempts after the claim), 1 for the first */
    int64_t expires_ms; /* when the link stops working (Unix ms) */
    char field[256];    /* vendor path */
    char url[8192];     /* the link */
};

/* What became of an attempt (att_finish). */
struct eb_att_result {
    enum eb_att_status status; /* PENDING: retry at next_ms */
    const char *error;         /* NULL when stored */
    int64_t next_ms;           /* PENDING: not before (Unix ms) */
    int64_t size;              /* STORED: bytes */
    const char *sha256;        /* STORED: 64 hex digits */
    const char *content_type;  /* STORED: as served, or NULL */
    const char *file_name;     /* STORED: from Content-Disposition or the URL path, or NULL */
    int in_db;                 /* STORED: 1 in attachment_chunk, 0 in a directory */
};

/* One attachment row read back (att_list). Strings live until the callback returns. */
struct eb_att_row {
    int64_t id;
    const char *push_id;
    int64_t application_id;
    const char *field;
    const char *url; /* whole, query included: callers that print it cut the query */
    enum eb_att_status status;
    int attempts;
    const char *error;        /* NULL when none */
    int64_t size;             /* -1 when not stored */
    const char *sha256;       /* NULL when not stored */
    const char *content_type; /* NULL when unknown */
    const char *file_name;    /* NULL when unknown */
    int64_t created_ms;       /* when queued */
    int64_t expires_ms;       /* when the link expires */
};

/* Which rows att_list lists. */
struct eb_att_filter {
    int status;             /* an enum eb_att_status; -1: any */
    int64_t application_id; /* when has_application_id */
    int has_application_id;
    int64_t id; /* exactly this id; 0: any */
};

/* The queue at a glance (att_stats), for /metrics. */
struct eb_att_stats {
    int64_t count[EB_ATT_N_STATUS]; /* rows per status */
    int64_t oldest_pending_ms;      /* created_ms of the oldest pending row; 0: none */
};

typedef int (*eb_att_row_fn)(void *user, const struct eb_att_row *row);
/* Receives a stored file's content chunk by chunk, in order; non-zero stops. */
typedef int (*eb_att_chunk_fn)(void *user, const void *data, size_t len);

struct eb_adapter_methods {
    int version;        /* 1, 2 (the attachment queue); fields are only ever appended */
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

    /* ---- version 2: the attachment queue. Each is NULL when the adapter keeps no queue (the
     * wrappers then fail with EB_ERR_INTERNAL). The queue's rows are written by store_push
     * (new rows, status pending, in the push's transaction, when a->queue_links is set) and
     * replay_push (the same, then the push's rows not stored go back to pending). Each method
     * below is its own transaction. */

    /* Claims the due pending row (next_ms <= now_ms, no live lease) with the smallest next_ms:
     * its lease goes to owner until now_ms + lease_ms and its attempts grow by one; another
     * caller (any replica) cannot claim it until the lease lapses. *found = 0 when none is due. */
    eb_rc (*att_claim)(struct eb_adapter *a, const char *owner, int64_t now_ms, int64_t lease_ms,
                       struct eb_att_claim *out, int *found, struct eb_err *err);
    /* Stores chunk seq (0, 1, ...) of attempt `attempt` of row id (committed at once). */
    eb_rc (*att_chunk)(struct eb_adapter *a, int64_t id, int attempt, int seq, const void *data,
                       size_t len, struct eb_err *err);
    /* Records the result of attempt `attempt` of row id when owner still holds its lease
     * (otherwise nothing is written), and releases the lease. STORED: the attempt's chunks
     * become the content and other attempts' chunks are deleted; otherwise this attempt's
     * chunks are deleted. */
    eb_rc (*att_finish)(struct eb_adapter *a, int64_t id, const char *owner, int attempt,
                        const struct eb_att_result *r, struct eb_err *err);
    /* Lists the rows matching f in id order. Returns EB_OK, the error, or (EB_ERR_INTERNAL) a
     * stop asked by fn. */
    eb_rc (*att_list)(struct eb_adapter *a, const struct eb_att_filter *f, eb_att_row_fn fn,
                      void *user, struct eb_err *err);
    /* Passes the stored content of row id to fn chunk by chunk (one chunk in memory at a time);
     * EB_ERR_INVALID when the row is not stored in the database. */
    eb_rc (*att_read)(struct eb_adapter *a, int64_t id, eb_att_chunk_fn fn, void *user,
                      struct eb_err *err);
    /* Counts the rows by status and finds the oldest pending one. */
    eb_rc (*att_stats)(struct eb_adapter *a, struct eb_att_stats *out, struct eb_err *err);
};

/* First member of every adapter instance. */
struct eb_adapter {
    const struct eb_adapter_methods *m; /* the adapter's table */
    const struct eb_mapping *mapping;   /* --mapping, set before open; NULL: the default schema.
                                           Borrowed: outlives the adapter */
    int queue_links;                    /* 1: store_push and replay_push queue the record's
                                           download links (table attachment); set before use */
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

/* Text form of an outcome: "stored", "rejected", "failed". */
const char *eb_outcome_name(enum eb_outcome o);

/* ---- the attachment queue: wrappers of the version 2 methods (EB_ERR_INTERNAL when the
 * adapter has none) ---- */
eb_rc eb_adapter_att_claim(struct eb_adapter *a, const char *owner, int64_t now_ms,
                           int64_t lease_ms, struct eb_att_claim *out, int *found,
                           struct eb_err *err);
eb_rc eb_adapter_att_chunk(struct eb_adapter *a, int64_t id, int attempt, int seq, const void *data,
                           size_t len, struct eb_err *err);
eb_rc eb_adapter_att_finish(struct eb_adapter *a, int64_t id, const char *owner, int attempt,
                            const struct eb_att_result *r, struct eb_err *err);
eb_rc eb_adapter_att_list(struct eb_adapter *a, const struct eb_att_filter *f, eb_att_row_fn fn,
                          void *user, struct eb_err *err);
eb_rc eb_adapter_att_read(struct eb_adapter *a, int64_t id, eb_att_chunk_fn fn, void *user,
                          struct eb_err *err);
eb_rc eb_adapter_att_stats(struct eb_adapter *a, struct eb_att_stats *out, struct eb_err *err);
/* 1 when the adapter keeps the attachment queue. NULL-safe. */
int eb_adapter_has_queue(const struct eb_adapter *a);
/* Text form of a status ("pending", ...); eb_att_status_from: -1 when text names none. */
const char *eb_att_status_name(enum eb_att_status s);
int eb_att_status_from(const char *text);

extern const struct eb_adapter_methods eb_adapter_sqlite;
/* `noop:` answers every valid push as stored and stores NOTHING: a benchmarking tool only. */
extern const struct eb_adapter_methods eb_adapter_noop;
extern const struct eb_adapter_methods eb_adapter_postgres; /* adapters/postgres.c */
extern const struct eb_adapter_methods eb_adapter_odbc;     /* adapters/odbc.c */

#endif

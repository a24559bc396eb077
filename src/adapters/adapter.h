/* The database adapter table: one const table of function pointers per database (the shape of
 * SQLite's sqlite3_vfs), one file per database. Callers use the eb_adapter_* wrappers only (the
 * primitives' inline wrappers below are for the bridge and the conformance suite). An adapter
 * instance is one connection; it is used by one thread at a time. */
#ifndef EB_ADAPTER_H
#define EB_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "candidate/outcome.h" /* enum eb_outcome, struct eb_push_filter */
#include "util/err.h"

struct eb_push;
struct eb_interview_event;
struct eb_mapping;
struct eb_bridge_group;
struct eb_adapter;

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

/* Called once per listed row; a non-zero return stops the listing and is passed back. */
typedef int (*eb_logged_push_fn)(void *user, const struct eb_logged_push *row);

/* What log_get reads of one push_log row. */
struct eb_log_state {
    int found;               /* 1 when the push id is recorded */
    enum eb_outcome outcome; /* when found: the recorded outcome */
    char message[256];       /* when found: the recorded message ("" when none) */
};

/* What candidate_last reads: the push whose rows a candidate holds now. */
struct eb_candidate_last {
    int found;              /* 1 when the candidate has rows */
    int64_t received_at_ms; /* when found: push_log.received_at of that push */
    char *push_id;          /* when found: its id, malloc'd; the caller frees it */
};

/* How the connections of one database may share a writer (share). */
struct eb_adapter_share {
    char key[512]; /* equal keys: the same database, with the same settings (may hold a
                    * password: never logged) */
    int wait_ms;   /* how long a push may wait for the shared writer before it fails */
    int writers;   /* writer connections, each with its own transactions (1 to
                    * EB_ADAPTER_MAX_WRITERS; 0 counts as 1): more than one only for a database
                    * that writes several transactions at once */
};

#define EB_ADAPTER_MAX_WRITERS 16

/* ---- reads of the push log for the admin listener (admin/), table version 3 ---- */

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
    int purged;               /* 1: stored once, its content removed by --retention (status
                                 and sha256 stay) */
};

/* Which rows att_list lists. */
struct eb_att_filter {
    int status;             /* an enum eb_att_status; -1: any */
    int64_t application_id; /* when has_application_id */
    int has_application_id;
    int64_t id;          /* exactly this id; 0: any */
    const char *push_id; /* only this push's rows; NULL: any */
};

/* The queue at a glance (att_stats), for /metrics. */
struct eb_att_stats {
    int64_t count[EB_ATT_N_STATUS]; /* rows per status */
    int64_t oldest_pending_ms;      /* created_ms of the oldest pending row; 0: none */
};

/* One download link to queue (att_enqueue): what the core (candidate/links.h) found in a record
 * and when it expires. */
struct eb_att_link {
    const char *field;  /* vendor path ("data.resumeUrl"); NUL-terminated */
    const char *url;    /* the link, url_len bytes (cut by the caller to EB_LINK_URL_MAX) */
    size_t url_len;     /* bytes of url */
    int64_t expires_ms; /* when the link stops working (Unix ms) */
};

typedef int (*eb_att_row_fn)(void *user, const struct eb_att_row *row);
/* att_purge: called with the SHA-256 of each file of the directory store (--attachments
 * dir:PATH) that no row still refers to; non-zero stops. */
typedef int (*eb_att_purged_fn)(void *user, const char *sha256);
/* Receives a stored file's content chunk by chunk, in order; non-zero stops. */
typedef int (*eb_att_chunk_fn)(void *user, const void *data, size_t len);

/* The table of one database: what a database does, never a rule about pushes (the bridge, in
 * bridge/, writes the claim of a push id, duplicates, replacement, replay's supersede rule,
 * retries and group commit once, for every database, with these members). Every member runs on
 * the thread that uses the connection; none calls back into the bridge.
 *
 * Versions. 1 (retired): open, close, ping, aliases, list_pushes, and the push rules written
 * by each adapter (store_push, log_failure, store_interview_event, replay_push, submit).
 * 2: open, close, ping, aliases, list_pushes, then the primitives begin, commit,
 * rollback, in_transaction, savepoint, release, rollback_to, log_get, log_put,
 * candidate_write, candidate_last, interview_apply, retryable, share, writer_setup and
 * writer_idle.
 * 3: version 2, then the reads of the admin listener and retention (push_page, push_get,
 * push_counts, purge_payloads, push_warnings).
 * 4 (this one): version 3, then the attachment queue of the document archive (archive/):
 * att_enqueue, att_requeue, att_claim, att_chunk, att_finish, att_list, att_read and att_stats,
 * then att_purge (optional: NULL when the adapter cannot purge documents).
 * A table older than 4 has no queue: the bridge queues no link for it and the archive fetches
 * nothing (eb_adapter_has_queue). From version 2 on, members are only ever appended, and a NULL
 * optional member (marked below) means the database lacks what it names. */
struct eb_adapter_methods {
    int version;        /* 2, 3 or 4 (see above) */
    const char *name;   /* "sqlite", "postgres", "odbc", ... */
    const char *scheme; /* URL scheme this adapter answers to, without ':' ("sqlite") */
    size_t
        instance_size; /* the core allocates and zeroes this much; starts with struct eb_adapter */

    /* Connects to url (the full --db value) and creates or migrates the default schema. When
     * a->mapping is set (--mapping), also checks that the mapped tables and columns exist and
     * prepares their statements; from then on candidate_write writes a candidate into the mapped
     * tables (mapping/mapping.h: eb_mapping_write, in the push's transaction) instead of the
     * default candidate tables. */
    eb_rc (*open)(struct eb_adapter *a, const char *url, struct eb_err *err);
    /* Disconnects; must accept a half-opened adapter. Does not free `a`. */
    void (*close)(struct eb_adapter *a);
    /* Checks that the database answers and the schema is the one this binary knows. */
    eb_rc (*ping)(struct eb_adapter *a, struct eb_err *err);
    /* Other URL schemes this adapter answers to, without ':', NULL-terminated; NULL for none
     * (postgres: {"postgres", NULL} beside "postgresql"). */
    const char *const *aliases;
    /* Lists the push_log rows matching f in received_at order (then push_id), calling fn for
     * each; read-only. Returns EB_OK, the error, or (as EB_ERR_INTERNAL) a stop asked by fn. */
    eb_rc (*list_pushes)(struct eb_adapter *a, const struct eb_push_filter *f, eb_logged_push_fn fn,
                         void *user, struct eb_err *err);
    /* ---- the primitives (version 2). Errors: EB_ERR_UNAVAILABLE when the database cannot be
     * reached or is busy, EB_ERR_DB otherwise, with the driver's detail in err (logs only). */

    /* Starts a write transaction (SQLite: BEGIN IMMEDIATE). */
    eb_rc (*begin)(struct eb_adapter *a, struct eb_err *err);
    /* Commits it; returns after the commit is durable. */
    eb_rc (*commit)(struct eb_adapter *a, struct eb_err *err);
    /* Rolls back the open transaction; nothing when none is open (an error ended it). */
    void (*rollback)(struct eb_adapter *a);
    /* 1 while a transaction is open (a failed statement may have ended it by itself). */
    int (*in_transaction)(struct eb_adapter *a);
    /* A savepoint inside the transaction, its release, and the rollback to it (which also
     * releases it). NULL when the database has none: the bridge then writes one push per
     * transaction. */
    eb_rc (*savepoint)(struct eb_adapter *a, struct eb_err *err);
    eb_rc (*release)(struct eb_adapter *a, struct eb_err *err);
    eb_rc (*rollback_to)(struct eb_adapter *a, struct eb_err *err);
    /* Reads the push_log row of push_id into *out (out->found = 0 when there is none) and, in
     * a transaction, locks it against other writers until the transaction ends (where the
     * database locks rows). */
    eb_rc (*log_get)(struct eb_adapter *a, const char *push_id, struct eb_log_state *out,
                     struct eb_err *err);
    /* Writes the push_log row of rec->push_id: rec as given (message, payload and raw as they
     * are; NULL columns for NULL), outcome and received_at_ms. claim = 0: inserts or
     * overwrites. claim = 1: inserts, or overwrites a row whose outcome is "failed", and leaves
     * any other row as it is; *written (may be NULL) says whether it wrote. A concurrent
     * transaction writing the same push id makes the claim wait for its end (where the
     * database locks rows), so that one push id is claimed once. */
    eb_rc (*log_put)(struct eb_adapter *a, const struct eb_push_record *rec,
                     enum eb_outcome outcome, int64_t received_at_ms, int claim, int *written,
                     struct eb_err *err);
    /* Replaces every row of p->data's applicationId with p's (the default tables, or the mapped
     * ones when a->mapping is set), tagged with push_id and updated_at_ms. EB_ERR_INVALID when
     * the record cannot be written as it is (a mapped key or required column without a value:
     * err names the column, never a value). In a transaction without a savepoint the adapter
     * may send the rows without waiting for their results (PostgreSQL's pipeline): a failure of
     * them is then reported by the call that reads them (the next log_put or log_get, or
     * commit), retryable whenever it may belong to another write than that call's, so that the
     * bridge writes the transaction again with savepoints (where every write's failure is known
     * when it returns) and the call's own write again alone. */
    eb_rc (*candidate_write)(struct eb_adapter *a, const struct eb_push *p, const char *push_id,
                             int64_t updated_at_ms, struct eb_err *err);
    /* The push whose rows the candidate of application_id holds now. */
    eb_rc (*candidate_last)(struct eb_adapter *a, int64_t application_id,
                            struct eb_candidate_last *out, struct eb_err *err);
    /* Applies ev's rows: for each interview, deletes its event_id's rows from the interview
     * tables and, unless ev->kind is EB_INTERVIEW_DELETE, inserts the new ones, tagged with
     * push_id and at_ms. NULL when the adapter does not store interview events. */
    eb_rc (*interview_apply)(struct eb_adapter *a, const struct eb_interview_event *ev,
                             const char *push_id, int64_t at_ms, struct eb_err *err);
    /* 1 when the transaction that failed last may pass if written again (a serialization
     * failure, a deadlock); NULL: never. */
    int (*retryable)(struct eb_adapter *a);
    /* 1 and *out filled when other connections to the same database may hand their writes to
     * one shared writer connection (group commit); 0 when not (an in-memory database). NULL:
     * never. */
    int (*share)(struct eb_adapter *a, struct eb_adapter_share *out);
    /* Makes a the writer of its database's group (tuning, a checkpointer). NULL: nothing. */
    eb_rc (*writer_setup)(struct eb_adapter *a, struct eb_err *err);
    /* Called on the writer between two transactions, once the last one's pushes are answered
     * (SQLite: a checkpoint that is due). NULL: nothing. */
    void (*writer_idle)(struct eb_adapter *a);

    /* Version 3: reads for the admin listener, on this instance's own connection, read-only.
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
    /* ---- version 4: the attachment queue (tables attachment and attachment_chunk), one row
     * per download link. Each is NULL when the adapter keeps no queue. att_enqueue and
     * att_requeue write inside the transaction the bridge opened (a push's own, so that its
     * links commit with it); every other member is its own transaction, outside any push. */

    /* In the open transaction: one pending row per link of links[0..n) (push_id, field, url,
     * application_id, expires_ms; created and due at at_ms); a row whose push_id and field are
     * already queued is left as it is. */
    eb_rc (*att_enqueue)(struct eb_adapter *a, const char *push_id, int64_t application_id,
                         const struct eb_att_link *links, size_t n, int64_t at_ms,
                         struct eb_err *err);
    /* In the open transaction: the rows of push_id that are neither stored nor pending go back
     * to pending, due at at_ms (`ehrbridge replay`). */
    eb_rc (*att_requeue)(struct eb_adapter *a, const char *push_id, int64_t at_ms,
                         struct eb_err *err);
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
    /* Retention (--retention), appended to version 4 and optional (NULL: the adapter cannot
     * purge documents). In one transaction of its own: at most max_rows stored rows queued
     * before before_ms whose content is still kept are marked purged (status and sha256
     * stay), and the chunks of those kept in the database are deleted; *purged gets the rows
     * marked (fewer than max_rows: nothing older is left). Rows whose file is in the directory
     * store are taken only when no download holds a live lease at now_ms (one under way may be
     * publishing the same content), else they wait for a later call; for each of them fn gets
     * the SHA-256 when no other unpurged row refers to the same content, after the commit, and
     * the caller removes the file. */
    eb_rc (*att_purge)(struct eb_adapter *a, int64_t before_ms, int64_t now_ms, unsigned max_rows,
                       eb_att_purged_fn fn, void *user, int64_t *purged, struct eb_err *err);
};

/* First member of every adapter instance. */
struct eb_adapter {
    const struct eb_adapter_methods *m; /* the adapter's table */
    const struct eb_mapping *mapping;   /* --mapping, set before open; NULL: the default schema.
                                           Borrowed: outlives the adapter */
    char *url;                          /* the URL it was opened with (malloc'd; may hold a
                                           password: never logged) */
    struct eb_bridge_group *group;      /* the bridge's (group commit); adapters never use it */
    int queue_links;                    /* 1: the bridge queues the download links of the pushes
                                           written through this connection (att_enqueue, when
                                           the adapter has the queue); set before use */
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

eb_rc eb_adapter_ping(struct eb_adapter *a, struct eb_err *err);
/* Wrapper of list_pushes: EB_ERR_INTERNAL when the adapter lacks the method. */
eb_rc eb_adapter_list_pushes(struct eb_adapter *a, const struct eb_push_filter *f,
                             eb_logged_push_fn fn, void *user, struct eb_err *err);

/* Wrappers of push_page, push_get and push_counts: EB_ERR_INTERNAL when the adapter lacks the
 * method (an adapter of version 2). */
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

/* ---- the primitives' wrappers (the table's contracts above), for bridge/ and the tests ---- */

static inline eb_rc eb_adapter_begin(struct eb_adapter *a, struct eb_err *err)
{
    return a->m->begin(a, err);
}
static inline eb_rc eb_adapter_commit(struct eb_adapter *a, struct eb_err *err)
{
    return a->m->commit(a, err);
}
static inline void eb_adapter_rollback(struct eb_adapter *a)
{
    a->m->rollback(a);
}
static inline int eb_adapter_in_transaction(struct eb_adapter *a)
{
    return a->m->in_transaction(a);
}
/* 1 when the adapter has savepoints (savepoint, release, rollback_to). */
static inline int eb_adapter_has_savepoints(const struct eb_adapter *a)
{
    return a->m->savepoint != NULL;
}
static inline eb_rc eb_adapter_savepoint(struct eb_adapter *a, struct eb_err *err)
{
    return a->m->savepoint(a, err);
}
static inline eb_rc eb_adapter_release(struct eb_adapter *a, struct eb_err *err)
{
    return a->m->release(a, err);
}
static inline eb_rc eb_adapter_rollback_to(struct eb_adapter *a, struct eb_err *err)
{
    return a->m->rollback_to(a, err);
}
static inline eb_rc eb_adapter_log_get(struct eb_adapter *a, const char *push_id,
                                       struct eb_log_state *out, struct eb_err *err)
{
    return a->m->log_get(a, push_id, out, err);
}
static inline eb_rc eb_adapter_log_put(struct eb_adapter *a, const struct eb_push_record *rec,
                                       enum eb_outcome outcome, int64_t received_at_ms, int claim,
                                       int *written, struct eb_err *err)
{
    return a->m->log_put(a, rec, outcome, received_at_ms, claim, written, err);
}
static inline eb_rc eb_adapter_candidate_write(struct eb_adapter *a, const struct eb_push *p,
                                               const char *push_id, int64_t updated_at_ms,
                                               struct eb_err *err)
{
    return a->m->candidate_write(a, p, push_id, updated_at_ms, err);
}
static inline eb_rc eb_adapter_candidate_last(struct eb_adapter *a, int64_t application_id,
                                              struct eb_candidate_last *out, struct eb_err *err)
{
    return a->m->candidate_last(a, application_id, out, err);
}
/* interview_apply; EB_ERR_INTERNAL when the adapter does not store interview events. */
static inline eb_rc eb_adapter_interview_apply(struct eb_adapter *a,
                                               const struct eb_interview_event *ev,
                                               const char *push_id, int64_t at_ms,
                                               struct eb_err *err)
{
    if (!a->m->interview_apply)
        return eb_err_set(err, EB_ERR_INTERNAL, "the %s adapter does not store interview events",
                          a->m->name);
    return a->m->interview_apply(a, ev, push_id, at_ms, err);
}
static inline int eb_adapter_retryable(struct eb_adapter *a)
{
    return a->m->retryable && a->m->retryable(a);
}
/* share; 0 when the adapter has none. */
static inline int eb_adapter_share(struct eb_adapter *a, struct eb_adapter_share *out)
{
    return a->m->share && a->m->share(a, out);
}
/* writer_setup / writer_idle; nothing when the adapter has none. */
static inline eb_rc eb_adapter_writer_setup(struct eb_adapter *a, struct eb_err *err)
{
    return a->m->writer_setup ? a->m->writer_setup(a, err) : EB_OK;
}
static inline void eb_adapter_writer_idle(struct eb_adapter *a)
{
    if (a->m->writer_idle)
        a->m->writer_idle(a);
}

/* ---- the attachment queue: wrappers of the version 3 methods (EB_ERR_INTERNAL when the
 * adapter has none) ---- */
/* 1 when the adapter keeps the attachment queue (version 3 with its members). NULL-safe. */
int eb_adapter_has_queue(const struct eb_adapter *a);
/* att_enqueue and att_requeue, for the bridge: EB_ERR_INTERNAL when the adapter has no queue. */
eb_rc eb_adapter_att_enqueue(struct eb_adapter *a, const char *push_id, int64_t application_id,
                             const struct eb_att_link *links, size_t n, int64_t at_ms,
                             struct eb_err *err);
eb_rc eb_adapter_att_requeue(struct eb_adapter *a, const char *push_id, int64_t at_ms,
                             struct eb_err *err);
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
/* att_purge (*purged = 0 and EB_OK when the adapter has no queue or cannot purge). */
eb_rc eb_adapter_att_purge(struct eb_adapter *a, int64_t before_ms, int64_t now_ms,
                           unsigned max_rows, eb_att_purged_fn fn, void *user, int64_t *purged,
                           struct eb_err *err);
/* Text form of a status ("pending", ...); eb_att_status_from: -1 when text names none. */
const char *eb_att_status_name(enum eb_att_status s);
int eb_att_status_from(const char *text);

extern const struct eb_adapter_methods eb_adapter_sqlite;
/* `noop:` answers every valid push as stored and stores NOTHING: a benchmarking tool only. */
extern const struct eb_adapter_methods eb_adapter_noop;
extern const struct eb_adapter_methods eb_adapter_postgres; /* adapters/postgres.c */
extern const struct eb_adapter_methods eb_adapter_odbc;     /* adapters/odbc.c */

#endif

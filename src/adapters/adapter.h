/* The database adapter table: one const table of function pointers per database (the shape of
 * SQLite's sqlite3_vfs), one file per database. Callers use the eb_adapter_* wrappers only (the
 * primitives' inline wrappers below are for the bridge and the conformance suite). An adapter
 * instance is one connection; it is used by one thread at a time. */
#ifndef EB_ADAPTER_H
#define EB_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct eb_push;
struct eb_interview_event;
struct eb_mapping;
struct eb_bridge_group;
struct eb_adapter;

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
};

/* The table of one database: what a database does, never a rule about pushes (the bridge, in
 * bridge/, writes the claim of a push id, duplicates, replacement, replay's supersede rule,
 * retries and group commit once, for every database, with these members). Every member runs on
 * the thread that uses the connection; none calls back into the bridge.
 *
 * Versions. 1 (retired): open, close, ping, aliases, list_pushes, and the push rules written
 * by each adapter (store_push, log_failure, store_interview_event, replay_push, submit).
 * 2 (this one): open, close, ping, aliases, list_pushes, then the primitives begin, commit,
 * rollback, in_transaction, savepoint, release, rollback_to, log_get, log_put,
 * candidate_write, candidate_last, interview_apply, retryable, share, writer_setup and
 * writer_idle. From version 2 on, members are only ever appended, and a NULL optional member
 * (marked below) means the database lacks what it names. */
struct eb_adapter_methods {
    int version;        /* 2 (see above) */
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
     * err names the column, never a value). */
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
};

/* First member of every adapter instance. */
struct eb_adapter {
    const struct eb_adapter_methods *m; /* the adapter's table */
    const struct eb_mapping *mapping;   /* --mapping, set before open; NULL: the default schema.
                                           Borrowed: outlives the adapter */
    char *url;                          /* the URL it was opened with (malloc'd; may hold a
                                           password: never logged) */
    struct eb_bridge_group *group;      /* the bridge's (group commit); adapters never use it */
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

/* Text form of an outcome: "stored", "rejected", "failed". */
const char *eb_outcome_name(enum eb_outcome o);

extern const struct eb_adapter_methods eb_adapter_sqlite;
/* `noop:` answers every valid push as stored and stores NOTHING: a benchmarking tool only. */
extern const struct eb_adapter_methods eb_adapter_noop;
extern const struct eb_adapter_methods eb_adapter_postgres; /* adapters/postgres.c */
extern const struct eb_adapter_methods eb_adapter_odbc;     /* adapters/odbc.c */

#endif

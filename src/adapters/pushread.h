/* The SQL of the push log's reads for the admin listener (adapter.h: push_page, push_get,
 * push_counts), written once for every dialect, and the decoding of their rows: each adapter
 * only runs the statement and hands the columns over as text. */
#ifndef EB_PUSHREAD_H
#define EB_PUSHREAD_H

#include "adapters/adapter.h"
#include "sql/sqlgen.h"

#define EB_PUSHREAD_PARAMS 24

/* A statement and the values of its placeholders, in order. */
struct eb_pushread_sql {
    char *sql;                                     /* malloc'd */
    struct eb_sql_value param[EB_PUSHREAD_PARAMS]; /* texts borrowed from the query */
    size_t n_param;
    char upper[512]; /* the end of the range of names that start with q */
};

/* The columns every read returns, all as text (NULL for NULL): push_id, event, triggered_at,
 * received_at, application_id, outcome, message, name, candidate_id, payload, raw,
 * replaced_by. push_page leaves the last four NULL. */
enum { EB_PUSHREAD_COLUMNS = 12 };

/* A name search (q) seeks the names in candidate_name when at most this many candidates have
 * a name that starts with q, and walks the log newest first otherwise. */
#define EB_PUSHREAD_FEW_NAMES 500

/* Builds the page query of q; with_names 0 (a mapping: no candidate table) leaves out the
 * name. EB_ERR_NOMEM, or EB_ERR_INVALID when q->q is too long. Free with eb_pushread_free. */
eb_rc eb_pushread_page(const struct eb_sql_dialect *d, const struct eb_push_query *q,
                       int with_names, struct eb_pushread_sql *out, struct eb_err *err);

/* The query reading one push id (push_id borrowed). */
eb_rc eb_pushread_get(const struct eb_sql_dialect *d, const char *push_id, int with_names,
                      struct eb_pushread_sql *out, struct eb_err *err);

/* The query counting pushes by bucket and outcome: columns bucket, outcome, count (text), a
 * row for each outcome of each bucket of bucket_ms from since_ms (bucket 0) up to the one of
 * the newest row, at most EB_PUSHREAD_MAX_BUCKETS of them (a count may be 0).
 * EB_ERR_INVALID when bucket_ms is not positive. */
#define EB_PUSHREAD_MAX_BUCKETS 10000
eb_rc eb_pushread_counts(const struct eb_sql_dialect *d, int64_t since_ms, int64_t bucket_ms,
                         struct eb_pushread_sql *out, struct eb_err *err);

/* The statement of purge_payloads (adapter.h): clears payload and raw of at most max_rows rows
 * received before before_ms, oldest first (max_rows 0: all of them, for databases whose LIMIT
 * is spelled otherwise). */
eb_rc eb_pushread_purge(const struct eb_sql_dialect *d, int64_t before_ms, unsigned max_rows,
                        struct eb_pushread_sql *out, struct eb_err *err);

/* The statement clearing the values of the push_warning rows of the pushes received before
 * before_ms (the first half of purge_payloads). */
eb_rc eb_pushread_purge_warnings(const struct eb_sql_dialect *d, int64_t before_ms,
                                 struct eb_pushread_sql *out, struct eb_err *err);

/* The query reading the push_warning rows of push_id: columns field, value, reason. */
eb_rc eb_pushread_warnings(const struct eb_sql_dialect *d, const char *push_id,
                           struct eb_pushread_sql *out, struct eb_err *err);

void eb_pushread_free(struct eb_pushread_sql *s);

/* Decodes one row of a page or get query (col[i] NULL for NULL; len[i] its bytes) and calls
 * fn; returns what fn returned (1 also when a number does not read). */
int eb_pushread_row(const char *const *col, const size_t *len, eb_push_summary_fn fn, void *user);

/* Decodes one row of a warnings query and calls fn; returns what fn returned. */
int eb_pushread_warning_row(const char *const *col, eb_push_warning_fn fn, void *user);

/* Decodes one row of a counts query and calls fn; returns what fn returned. */
int eb_pushread_count_row(const char *const *col, eb_push_count_fn fn, void *user);

/* Receives one row of a read (col[i] NULL for NULL; len[i] its bytes); non-zero stops. */
typedef int (*eb_pushread_row_fn)(void *ctx, const char *const *col, const size_t *len);

/* The one part of a read an adapter writes: runs sql on a's own connection, read-only, passing
 * each row to row_fn (the columns as text, raw as its bytes), and frees sql in any case. A stop
 * asked by row_fn is EB_ERR_INTERNAL. */
typedef eb_rc (*eb_pushread_run_fn)(struct eb_adapter *a, struct eb_pushread_sql *sql,
                                    eb_pushread_row_fn row_fn, void *ctx, struct eb_err *err);

/* The adapter table's push_page, push_get, push_counts and push_warnings (adapter.h states
 * their contracts), for an adapter whose statements d writes and run executes. */
eb_rc eb_pushread_do_page(const struct eb_sql_dialect *d, eb_pushread_run_fn run,
                          struct eb_adapter *a, const struct eb_push_query *q,
                          eb_push_summary_fn fn, void *user, struct eb_err *err);
eb_rc eb_pushread_do_get(const struct eb_sql_dialect *d, eb_pushread_run_fn run,
                         struct eb_adapter *a, const char *push_id, eb_push_summary_fn fn,
                         void *user, struct eb_err *err);
eb_rc eb_pushread_do_counts(const struct eb_sql_dialect *d, eb_pushread_run_fn run,
                            struct eb_adapter *a, int64_t since_ms, int64_t bucket_ms,
                            eb_push_count_fn fn, void *user, struct eb_err *err);
eb_rc eb_pushread_do_warnings(const struct eb_sql_dialect *d, eb_pushread_run_fn run,
                              struct eb_adapter *a, const char *push_id, eb_push_warning_fn fn,
                              void *user, struct eb_err *err);

#endif

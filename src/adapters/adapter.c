/* The adapter registry and the thin wrappers callers use: lookup by URL scheme, open/close,
 * ping, the listing of the push log, the text form of an outcome, and the attachment queue's
 * wrappers (version 4). */
#include "adapters/adapter.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Every adapter compiled in; lookup goes through them in order. */
static const struct eb_adapter_methods *const adapters[] = {
    &eb_adapter_sqlite,
    &eb_adapter_noop, /* benchmarking only: stores nothing (bench/run.sh) */
    &eb_adapter_postgres,
    &eb_adapter_odbc,
};

/* 1 when url starts with scheme followed by ':'. */
static int has_scheme(const char *url, const char *scheme)
{
    size_t n = strlen(scheme);
    return strncasecmp(url, scheme, n) == 0 && url[n] == ':';
}

const struct eb_adapter_methods *eb_adapter_lookup(const char *url)
{
    if (!url)
        return NULL;
    for (size_t i = 0; i < sizeof adapters / sizeof adapters[0]; i++) {
        if (has_scheme(url, adapters[i]->scheme))
            return adapters[i];
        for (const char *const *al = adapters[i]->aliases; al && *al; al++)
            if (has_scheme(url, *al))
                return adapters[i];
    }
    return NULL;
}

eb_rc eb_adapter_open(const char *url, struct eb_adapter **out, struct eb_err *err)
{
    return eb_adapter_open_mapped(url, NULL, out, err);
}

eb_rc eb_adapter_open_mapped(const char *url, const struct eb_mapping *mapping,
                             struct eb_adapter **out, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct eb_adapter *a = NULL;
    eb_err_clear(err);
    *out = NULL;
    const struct eb_adapter_methods *m = eb_adapter_lookup(url);
    if (!m) {
        /* The URL may hold a password: it is not repeated. */
        rc = eb_err_set(err, EB_ERR_CONFIG,
                        "no database adapter for this URL (known: sqlite:PATH, "
                        "postgresql://..., odbc:DSN=...)");
        goto out;
    }
    if (m->version < 2 || m->instance_size < sizeof(struct eb_adapter)) {
        rc = eb_err_set(err, EB_ERR_INTERNAL, "adapter %s has a bad method table", m->name);
        goto out;
    }
    a = calloc(1, m->instance_size);
    if (!a) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (mapping && m == &eb_adapter_noop) {
        rc = eb_err_set(err, EB_ERR_CONFIG,
                        "the %s adapter stores nothing: --mapping needs a "
                        "database",
                        m->name);
        goto out;
    }
    a->m = m;
    a->mapping = mapping;
    if (!(a->url = strdup(url))) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = m->open(a, url, err)))
        goto out;
    *out = a;
    a = NULL;
out:
    eb_adapter_close(a);
    return rc;
}

void eb_adapter_close(struct eb_adapter *a)
{
    if (!a)
        return;
    if (a->m)
        a->m->close(a);
    free(a->url);
    free(a);
}

eb_rc eb_adapter_ping(struct eb_adapter *a, struct eb_err *err)
{
    eb_err_clear(err);
    if (!a)
        return eb_err_set(err, EB_ERR_UNAVAILABLE, "no database adapter is open");
    return a->m->ping(a, err);
}

const char *eb_outcome_name(enum eb_outcome o)
{
    switch (o) {
    case EB_OUTCOME_STORED:
        return "stored";
    case EB_OUTCOME_REJECTED:
        return "rejected";
    case EB_OUTCOME_FAILED:
        return "failed";
    }
    return "failed";
}

eb_rc eb_adapter_list_pushes(struct eb_adapter *a, const struct eb_push_filter *f,
                             eb_logged_push_fn fn, void *user, struct eb_err *err)
{
    eb_err_clear(err);
    if (!a)
        return eb_err_set(err, EB_ERR_UNAVAILABLE, "no database adapter is open");
    if (!a->m->list_pushes)
        return eb_err_set(err, EB_ERR_INTERNAL, "the %s adapter cannot list the push log",
                          a->m->name);
    return a->m->list_pushes(a, f, fn, user, err);
}

/* The adapter's table is older than the reads of the admin listener. */
static eb_rc no_reads(struct eb_adapter *a, struct eb_err *err)
{
    if (!a)
        return eb_err_set(err, EB_ERR_UNAVAILABLE, "no database adapter is open");
    return eb_err_set(err, EB_ERR_INTERNAL,
                      "the %s adapter cannot read the push log for the "
                      "admin listener",
                      a->m->name);
}

eb_rc eb_adapter_push_page(struct eb_adapter *a, const struct eb_push_query *q,
                           eb_push_summary_fn fn, void *user, struct eb_err *err)
{
    eb_err_clear(err);
    if (!a || a->m->version < 3 || !a->m->push_page)
        return no_reads(a, err);
    return a->m->push_page(a, q, fn, user, err);
}

eb_rc eb_adapter_push_get(struct eb_adapter *a, const char *push_id, eb_push_summary_fn fn,
                          void *user, struct eb_err *err)
{
    eb_err_clear(err);
    if (!a || a->m->version < 3 || !a->m->push_get)
        return no_reads(a, err);
    return a->m->push_get(a, push_id, fn, user, err);
}

eb_rc eb_adapter_push_counts(struct eb_adapter *a, int64_t since_ms, int64_t bucket_ms,
                             eb_push_count_fn fn, void *user, struct eb_err *err)
{
    eb_err_clear(err);
    if (!a || a->m->version < 3 || !a->m->push_counts)
        return no_reads(a, err);
    if (bucket_ms < 1)
        return eb_err_set(err, EB_ERR_INVALID, "push counts: the bucket must be positive");
    return a->m->push_counts(a, since_ms, bucket_ms, fn, user, err);
}

eb_rc eb_adapter_purge_payloads(struct eb_adapter *a, int64_t before_ms, unsigned max_rows,
                                int64_t *purged, struct eb_err *err)
{
    eb_err_clear(err);
    *purged = 0;
    if (!a || a->m->version < 3 || !a->m->purge_payloads)
        return no_reads(a, err);
    if (!max_rows)
        return eb_err_set(err, EB_ERR_INVALID, "purge: the batch must hold a row");
    return a->m->purge_payloads(a, before_ms, max_rows, purged, err);
}

eb_rc eb_adapter_push_warnings(struct eb_adapter *a, const char *push_id, eb_push_warning_fn fn,
                               void *user, struct eb_err *err)
{
    eb_err_clear(err);
    if (!a || a->m->version < 3 || !a->m->push_warnings)
        return no_reads(a, err);
    return a->m->push_warnings(a, push_id, fn, user, err);
}

/* ---- the attachment queue ---------------------------------------------------------------- */

static const char *const att_names[EB_ATT_N_STATUS] = {"pending", "stored", "failed", "expired",
                                                       "refused"};

const char *eb_att_status_name(enum eb_att_status s)
{
    return (unsigned)s < EB_ATT_N_STATUS ? att_names[s] : "failed";
}

int eb_att_status_from(const char *text)
{
    for (int i = 0; text && i < EB_ATT_N_STATUS; i++)
        if (!strcmp(text, att_names[i]))
            return i;
    return -1;
}

int eb_adapter_has_queue(const struct eb_adapter *a)
{
    const struct eb_adapter_methods *m = a ? a->m : NULL;
    return m && m->version >= 4 && m->att_enqueue && m->att_requeue && m->att_claim &&
           m->att_chunk && m->att_finish && m->att_list && m->att_read && m->att_stats;
}

static eb_rc no_queue(struct eb_adapter *a, struct eb_err *err)
{
    if (!a)
        return eb_err_set(err, EB_ERR_UNAVAILABLE, "no database adapter is open");
    return eb_err_set(err, EB_ERR_INTERNAL, "the %s adapter keeps no attachment queue", a->m->name);
}

eb_rc eb_adapter_att_enqueue(struct eb_adapter *a, const char *push_id, int64_t application_id,
                             const struct eb_att_link *links, size_t n, int64_t at_ms,
                             struct eb_err *err)
{
    if (!eb_adapter_has_queue(a))
        return no_queue(a, err);
    return a->m->att_enqueue(a, push_id, application_id, links, n, at_ms, err);
}

eb_rc eb_adapter_att_requeue(struct eb_adapter *a, const char *push_id, int64_t at_ms,
                             struct eb_err *err)
{
    if (!eb_adapter_has_queue(a))
        return no_queue(a, err);
    return a->m->att_requeue(a, push_id, at_ms, err);
}

eb_rc eb_adapter_att_claim(struct eb_adapter *a, const char *owner, int64_t now_ms,
                           int64_t lease_ms, struct eb_att_claim *out, int *found,
                           struct eb_err *err)
{
    eb_err_clear(err);
    *found = 0;
    if (!eb_adapter_has_queue(a))
        return no_queue(a, err);
    return a->m->att_claim(a, owner, now_ms, lease_ms, out, found, err);
}

eb_rc eb_adapter_att_chunk(struct eb_adapter *a, int64_t id, int attempt, int seq, const void *data,
                           size_t len, struct eb_err *err)
{
    eb_err_clear(err);
    if (!eb_adapter_has_queue(a))
        return no_queue(a, err);
    return a->m->att_chunk(a, id, attempt, seq, data, len, err);
}

eb_rc eb_adapter_att_finish(struct eb_adapter *a, int64_t id, const char *owner, int attempt,
                            const struct eb_att_result *r, struct eb_err *err)
{
    eb_err_clear(err);
    if (!eb_adapter_has_queue(a))
        return no_queue(a, err);
    return a->m->att_finish(a, id, owner, attempt, r, err);
}

eb_rc eb_adapter_att_list(struct eb_adapter *a, const struct eb_att_filter *f, eb_att_row_fn fn,
                          void *user, struct eb_err *err)
{
    eb_err_clear(err);
    if (!eb_adapter_has_queue(a))
        return no_queue(a, err);
    return a->m->att_list(a, f, fn, user, err);
}

eb_rc eb_adapter_att_read(struct eb_adapter *a, int64_t id, eb_att_chunk_fn fn, void *user,
                          struct eb_err *err)
{
    eb_err_clear(err);
    if (!eb_adapter_has_queue(a))
        return no_queue(a, err);
    return a->m->att_read(a, id, fn, user, err);
}

eb_rc eb_adapter_att_stats(struct eb_adapter *a, struct eb_att_stats *out, struct eb_err *err)
{
    eb_err_clear(err);
    memset(out, 0, sizeof *out);
    if (!eb_adapter_has_queue(a))
        return no_queue(a, err);
    return a->m->att_stats(a, out, err);
}

eb_rc eb_adapter_att_purge(struct eb_adapter *a, int64_t before_ms, int64_t now_ms,
                           unsigned max_rows, eb_att_purged_fn fn, void *user, int64_t *purged,
                           struct eb_err *err)
{
    eb_err_clear(err);
    *purged = 0;
    if (!eb_adapter_has_queue(a) || !a->m->att_purge)
        return EB_OK;
    return a->m->att_purge(a, before_ms, now_ms, max_rows, fn, user, purged, err);
}

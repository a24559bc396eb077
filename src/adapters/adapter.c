/* The adapter registry and the thin wrappers callers use: lookup by URL scheme, open/close,
 * ping, the listing of the push log, and the text form of an outcome. */
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

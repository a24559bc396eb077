/* The no-op adapter (eb_adapter_noop) for the URL `noop:`: a BENCHMARKING TOOL that stores
 * NOTHING. Every valid push is answered as stored (`true`) without being written anywhere, so
 * that bench/run.sh can measure the ceiling of transport + ingest + bind + mapping + validation
 * with the same binary. It keeps no push log and no idempotency: the same push id is "stored"
 * again each time. Never use it for real traffic; it says so in the log when it opens. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "adapters/adapter.h"
#include "util/log.h"

struct noop_adapter {
    struct eb_adapter base; /* first member: the adapter table */
};

static atomic_int warned; /* the warning is logged once per process, not once per worker */

static eb_rc noop_open(struct eb_adapter *a, const char *url, struct eb_err *err)
{
    (void)a;
    if (strncasecmp(url, "noop:", 5) != 0 || url[5] != '\0')
        return eb_err_set(err, EB_ERR_CONFIG, "the noop URL takes no path or options (noop:)");
    if (!atomic_exchange(&warned, 1))
        eb_log(EB_LOG_WARN,
               "noop adapter: pushes are answered true and NOT stored (benchmarking tool only)",
               NULL);
    return EB_OK;
}

static void noop_close(struct eb_adapter *a)
{
    (void)a;
}

/* The primitives (adapter.h, version 2) of a database that holds nothing: every push id is new
 * and every write succeeds, so the bridge answers a valid push as stored. */
static eb_rc noop_tx(struct eb_adapter *a, struct eb_err *err)
{
    (void)a;
    (void)err;
    return EB_OK;
}

static void noop_rollback(struct eb_adapter *a)
{
    (void)a;
}

static int noop_in_transaction(struct eb_adapter *a)
{
    (void)a;
    return 1;
}

static eb_rc noop_log_get(struct eb_adapter *a, const char *push_id, struct eb_log_state *out,
                          struct eb_err *err)
{
    (void)a;
    (void)push_id;
    (void)err;
    out->found = 0;
    return EB_OK;
}

static eb_rc noop_log_put(struct eb_adapter *a, const struct eb_push_record *rec,
                          enum eb_outcome outcome, int64_t received_at, int claim, int *written,
                          struct eb_err *err)
{
    (void)a;
    (void)rec;
    (void)outcome;
    (void)received_at;
    (void)claim;
    (void)err;
    if (written)
        *written = 1;
    return EB_OK;
}

static eb_rc noop_candidate_write(struct eb_adapter *a, const struct eb_push *p,
                                  const char *push_id, int64_t updated_at, struct eb_err *err)
{
    (void)a;
    (void)p;
    (void)push_id;
    (void)updated_at;
    (void)err;
    return EB_OK;
}

static eb_rc noop_candidate_last(struct eb_adapter *a, int64_t app, struct eb_candidate_last *out,
                                 struct eb_err *err)
{
    (void)a;
    (void)app;
    (void)err;
    out->found = 0;
    out->push_id = NULL;
    return EB_OK;
}

static eb_rc noop_ping(struct eb_adapter *a, struct eb_err *err)
{
    (void)a;
    (void)err;
    return EB_OK;
}

const struct eb_adapter_methods eb_adapter_noop = {
    .version = 2,
    .name = "noop (benchmarking only: stores nothing)",
    .scheme = "noop",
    .instance_size = sizeof(struct noop_adapter),
    .open = noop_open,
    .close = noop_close,
    .ping = noop_ping,
    .begin = noop_tx,
    .commit = noop_tx,
    .rollback = noop_rollback,
    .in_transaction = noop_in_transaction,
    .log_get = noop_log_get,
    .log_put = noop_log_put,
    .candidate_write = noop_candidate_write,
    .candidate_last = noop_candidate_last,
};

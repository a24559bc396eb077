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

/* Answers what a database would record for a first-time push, writing nothing. */
static eb_rc noop_store_push(struct eb_adapter *a, const struct eb_push *p,
                             const struct eb_push_record *rec, struct eb_stored *out,
                             struct eb_err *err)
{
    (void)a;
    (void)err;
    out->outcome = p ? EB_OUTCOME_STORED : rec->outcome;
    out->duplicate = 0;
    snprintf(out->message, sizeof out->message, "%s",
             out->outcome != EB_OUTCOME_STORED && rec->message ? rec->message : "");
    return EB_OK;
}

static eb_rc noop_log_failure(struct eb_adapter *a, const struct eb_push_record *rec,
                              struct eb_err *err)
{
    (void)a;
    (void)rec;
    (void)err;
    return EB_OK;
}

static eb_rc noop_ping(struct eb_adapter *a, struct eb_err *err)
{
    (void)a;
    (void)err;
    return EB_OK;
}

const struct eb_adapter_methods eb_adapter_noop = {
    .version = 1,
    .name = "noop (benchmarking only: stores nothing)",
    .scheme = "noop",
    .instance_size = sizeof(struct noop_adapter),
    .open = noop_open,
    .close = noop_close,
    .store_push = noop_store_push,
    .log_failure = noop_log_failure,
    .ping = noop_ping,
};

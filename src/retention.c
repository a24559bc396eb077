/* The retention thread (retention.h). */
#include "retention.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "adapters/adapter.h"
#include "util/clock.h"
#include "util/log.h"

#define BATCH      500   /* rows cleared per transaction */
#define ROUND_MS   60000 /* between two rounds */
#define DAY_MS     (24LL * 3600 * 1000)
#define MAX_ROUNDS 100000 /* batches in one round at most: a round ends even if rows keep aging */

struct eb_retention {
    const struct eb_config *cfg;
    struct eb_adapter *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop; /* guarded by mu */
};

static int stopping(struct eb_retention *r)
{
    pthread_mutex_lock(&r->mu);
    int s = r->stop;
    pthread_mutex_unlock(&r->mu);
    return s;
}

/* One round: batches until fewer than BATCH rows were left to clear. */
static void round_once(struct eb_retention *r)
{
    int64_t before = eb_now_ms() - (int64_t)r->cfg->retention_days * DAY_MS;
    int64_t total = 0, n = BATCH;
    struct eb_err err = {0};
    for (int i = 0; i < MAX_ROUNDS && n >= BATCH && !stopping(r); i++) {
        if (eb_adapter_purge_payloads(r->db, before, BATCH, &n, &err)) {
            eb_log(EB_LOG_WARN, "retention: purging payloads failed", "error", err.msg, NULL);
            break;
        }
        total += n;
    }
    if (total) {
        char count[24], days[16];
        snprintf(count, sizeof count, "%lld", (long long)total);
        snprintf(days, sizeof days, "%d", r->cfg->retention_days);
        eb_log(EB_LOG_INFO, "retention: payloads purged", "pushes", count, "older_than_days", days,
               NULL);
    }
}

static void *run(void *arg)
{
    struct eb_retention *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        pthread_mutex_unlock(&r->mu);
        round_once(r);
        pthread_mutex_lock(&r->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += ROUND_MS / 1000;
        while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

eb_rc eb_retention_start(const struct eb_config *cfg, const struct eb_mapping *mapping,
                         struct eb_retention **out, struct eb_err *err)
{
    *out = NULL;
    if (cfg->retention_days < 1)
        return eb_err_set(err, EB_ERR_CONFIG, "retention: days must be positive");
    struct eb_retention *r = calloc(1, sizeof *r);
    if (!r)
        return eb_err_set(err, EB_ERR_NOMEM, "retention: out of memory");
    r->cfg = cfg;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    eb_rc rc = eb_adapter_open_mapped(cfg->db_url, mapping, &r->db, err);
    if (!rc) { /* signals are the event loop's (signalfd): the thread takes none */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        if (pthread_create(&r->thread, NULL, run, r))
            rc = eb_err_set(err, EB_ERR_INTERNAL, "retention: cannot start its thread");
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (rc) {
        eb_adapter_close(r->db);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        free(r);
        return rc;
    }
    *out = r;
    return EB_OK;
}

void eb_retention_stop(struct eb_retention *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    eb_adapter_close(r->db);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

/* The retention thread (retention.h). */
#include "retention.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "util/clock.h"
#include "util/log.h"

#define BATCH      500   /* rows cleared per transaction */
#define ROUND_MS   60000 /* between two rounds */
#define DAY_MS     (24LL * 3600 * 1000)
#define MAX_ROUNDS 100000 /* batches in one round at most: a round ends even if rows keep aging */
#define CTIME_SLACK_MS                                                                             \
    20 /* a file's ctime comes from the kernel's coarse clock, a tick (at most 10 ms) behind */

struct eb_retention {
    const struct eb_config *cfg;
    struct eb_adapter *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;            /* guarded by mu */
    int64_t files;       /* files of the directory store removed in this round */
    int64_t batch_start; /* when the batch under way began (Unix ms) */
};

static int stopping(struct eb_retention *r)
{
    pthread_mutex_lock(&r->mu);
    int s = r->stop;
    pthread_mutex_unlock(&r->mu);
    return s;
}

/* att_purge's callback: removes the file of the directory store that holds content sha256.
 * att_purge took directory rows only while no download held a lease, so a download that
 * publishes the same content again began after the batch did: a file renamed into place since
 * then (its ctime) is that download's, and stays. */
static int remove_file(void *user, const char *sha256)
{
    struct eb_retention *r = user;
    char path[1200];
    struct stat st;
    if (strncmp(r->cfg->attachments, "dir:", 4) || strlen(sha256) != 64 ||
        strspn(sha256, "0123456789abcdef") != 64)
        return 0;
    snprintf(path, sizeof path, "%s/%s", r->cfg->attachments + 4, sha256);
    if (stat(path, &st))
        return 0;
    int64_t changed = (int64_t)st.st_ctim.tv_sec * 1000 + st.st_ctim.tv_nsec / 1000000;
    if (changed >= r->batch_start - CTIME_SLACK_MS) {
        eb_log(EB_LOG_INFO, "retention: a document file was published again meanwhile; kept",
               "sha256", sha256, NULL);
        return 0;
    }
    if (unlink(path) && errno != ENOENT)
        eb_log(EB_LOG_WARN, "retention: cannot remove a document file", "sha256", sha256, "error",
               strerror(errno), NULL);
    else
        r->files++;
    return 0;
}

/* The archived documents of the links queued before `before`, in batches of BATCH rows. */
static void purge_documents(struct eb_retention *r, int64_t before)
{
    int64_t total = 0, n = BATCH;
    struct eb_err err = {0};
    r->files = 0;
    for (int i = 0; i < MAX_ROUNDS && n >= BATCH && !stopping(r); i++) {
        r->batch_start = eb_now_ms();
        if (eb_adapter_att_purge(r->db, before, r->batch_start, BATCH, remove_file, r, &n, &err)) {
            eb_log(EB_LOG_WARN, "retention: purging documents failed", "error", err.msg, NULL);
            break;
        }
        total += n;
    }
    if (total) {
        char count[24], files[24], days[16];
        snprintf(count, sizeof count, "%lld", (long long)total);
        snprintf(files, sizeof files, "%lld", (long long)r->files);
        snprintf(days, sizeof days, "%d", r->cfg->retention_days);
        eb_log(EB_LOG_INFO, "retention: documents purged", "attachments", count, "files_removed",
               files, "older_than_days", days, NULL);
    }
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
    purge_documents(r, before);
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

/* Transactions and group commit for version-2 adapters (adapters/adapter.h), the same for
 * every database that offers savepoints: the connections of one process that write to the same
 * database (the adapter's share key, and the same mapping) hand their writes to one shared
 * writer connection and its thread, the group (or, for a database that writes several
 * transactions at once, such as PostgreSQL, to one of several writers, each with its own
 * connection and queue: the writes of one candidate always to the same). A writer takes every
 * write queued for it (up to MAX_BATCH), writes them in ONE transaction, commits once and only
 * then completes each:
 * `true` is answered after the shared durable commit, and the busier the database, the more
 * pushes share a commit. When one write of a batch fails, the transaction is rolled back and
 * the others are written again, each in its own savepoint, so that the failing one is rolled
 * back alone. A connection without a group writes alone, one transaction per write, and tries
 * again (up to MAX_ATTEMPTS) when the adapter says a new try may pass. Also the bridge's
 * synchronous entry points (bridge.h: eb_bridge_open, eb_bridge_store_push, ...). */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge/bridge.h"
#include "bridge/write.h"
#include "candidate/candidate.h"
#include "candidate/interview.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"

#define MAX_BATCH    64 /* most writes in one group-commit transaction */
#define MAX_ATTEMPTS 4  /* tries of a write alone whose failure the adapter calls retryable */

/* What the writer threads of one kind of database did, for GET /metrics
 * (ehrbridge_<adapter>_transactions_total, ...). Names are kept, not copied: static storage. */
struct group_metrics {
    const char *adapter; /* the adapter's name; NULL: the slot is free */
    char n_tx[96], n_pushes[96], n_seconds[96], n_rewrites[96];
    struct eb_metric *transactions; /* group-commit transactions committed or abandoned */
    struct eb_metric *pushes;       /* histogram: pushes per transaction */
    struct eb_metric *seconds;      /* histogram: time to write and commit one */
    struct eb_metric *rewrites;     /* transactions written again after a push failed */
};

#define MAX_KINDS 8
static struct group_metrics kinds[MAX_KINDS]; /* guarded by groups_lock */

/* One writer of a group: a connection of its own, its thread and the writes queued for it. */
struct lane {
    struct eb_bridge_group *g;    /* its group */
    struct eb_adapter *writer;    /* the connection its batches are written with */
    pthread_t thread;             /* the writer thread, which alone uses writer */
    pthread_cond_t work_cv;       /* a write was queued, or stop */
    struct eb_write *head, *tail; /* queued writes, oldest first (guarded by the group's lock) */
    /* written by the writer thread alone, read once it has ended */
    uint64_t batches, writes, busy_ns;
};

/* The group of one database: its writers (one, or the share's writers for a database that
 * takes several at once) and the lock over their queues. A write goes to the lane of its
 * candidate (lane_of): two writes of the same candidate, or of the same push id, are written
 * in order by one connection, never by two that would wait for each other's row locks. */
struct eb_bridge_group {
    const struct eb_adapter_methods *m; /* the database's table */
    const struct eb_mapping *mapping;   /* the mapping every member writes through */
    struct eb_adapter_share share;      /* its key, how long a write may wait, its writers */
    struct group_metrics *met;          /* its kind's metrics (NULL: none) */
    pthread_mutex_t lock;               /* guards every lane's head and tail, and stop */
    int stop;                           /* the threads must end once their queues are empty */
    size_t n_lanes;                     /* lanes whose thread runs */
    struct lane lanes[EB_ADAPTER_MAX_WRITERS];
    int refs;                     /* connections using it (guarded by groups_lock) */
    struct eb_bridge_group *next; /* in the list of groups */
};

static pthread_mutex_t groups_lock = PTHREAD_MUTEX_INITIALIZER; /* guards groups, kinds */
static struct eb_bridge_group *groups;                          /* every group in use */

static struct group_metrics *metrics_for(const char *adapter)
{
    static const double per_tx[] = {1, 2, 4, 8, 16, 32, 64};
    for (int i = 0; i < MAX_KINDS; i++) {
        struct group_metrics *k = &kinds[i];
        if (k->adapter && strcmp(k->adapter, adapter) == 0)
            return k;
        if (k->adapter)
            continue;
        k->adapter = adapter;
        snprintf(k->n_tx, sizeof k->n_tx, "ehrbridge_%s_transactions_total", adapter);
        snprintf(k->n_pushes, sizeof k->n_pushes, "ehrbridge_%s_transaction_pushes", adapter);
        snprintf(k->n_seconds, sizeof k->n_seconds, "ehrbridge_%s_transaction_seconds", adapter);
        snprintf(k->n_rewrites, sizeof k->n_rewrites, "ehrbridge_%s_transaction_rewrites_total",
                 adapter);
        k->transactions = eb_metrics_counter(
            k->n_tx, "Group-commit transactions of the writer threads (one per batch of pushes)",
            NULL);
        k->pushes = eb_metrics_histogram(k->n_pushes, "Pushes written per group-commit transaction",
                                         NULL, per_tx, sizeof per_tx / sizeof per_tx[0]);
        k->seconds = eb_metrics_histogram(
            k->n_seconds, "Time to write and commit one group-commit transaction, seconds", NULL,
            eb_metrics_duration_buckets, eb_metrics_duration_nbuckets);
        k->rewrites = eb_metrics_counter(
            k->n_rewrites,
            "Group-commit transactions rolled back because one of their pushes failed and "
            "written again without it",
            NULL);
        return k;
    }
    return NULL;
}

/* ---- one transaction ---------------------------------------------------------------------- */

/* Writes jobs[0..n) on w in one transaction and sets every write's rc. The first attempt writes
 * them one after the other with no savepoint (a savepoint per push copies every page an earlier
 * push of the batch had already changed, about a tenth of a push's CPU on SQLite). When a write
 * fails, the transaction is rolled back and the others are written again, each in its own
 * savepoint; when a failure took the whole transaction with it (the database rolled back by
 * itself), the others are written again without it. */
static void run_batch(struct eb_adapter *w, struct eb_write **jobs, size_t n,
                      struct group_metrics *met)
{
    struct eb_err berr = {0};
    int savepoints = 0; /* 1 once a write of the batch has failed */
    for (size_t i = 0; i < n; i++)
        jobs[i]->rc = EB_OK;
    for (;;) {
        int lost = 0;
        eb_rc rc = eb_adapter_begin(w, &berr);
        for (size_t i = 0; !rc && !lost && i < n; i++) {
            struct eb_write *j = jobs[i];
            if (j->rc)
                continue; /* failed in an earlier attempt */
            if (savepoints && (rc = eb_adapter_savepoint(w, &berr)))
                break;
            if (!(j->rc = eb_write_once(w, j))) {
                if (savepoints && (rc = eb_adapter_release(w, &berr)))
                    break;
                continue;
            }
            j->retry = j->retry || eb_adapter_retryable(w);
            struct eb_err uerr;
            if (!savepoints || !eb_adapter_in_transaction(w) || eb_adapter_rollback_to(w, &uerr))
                lost = 1; /* the transaction is gone: write the others again */
        }
        size_t pending = 0;
        for (size_t i = 0; i < n; i++)
            pending += !jobs[i]->rc;
        eb_rc crc = EB_OK; /* the commit's */
        if (!rc && !lost)
            rc = crc = eb_adapter_commit(w, &berr);
        if (crc && !savepoints && pending > 1 && eb_adapter_retryable(w) &&
            eb_adapter_has_savepoints(w)) {
            /* a failure the commit found may be any write's (an adapter may read a write's
             * results only there, adapter.h: candidate_write): each in a savepoint, again */
            rc = EB_OK;
            lost = 1;
        }
        if (rc || lost)
            eb_adapter_rollback(w);
        if (lost && pending) {
            savepoints = pending > 1 && eb_adapter_has_savepoints(w);
            if (met)
                eb_metric_inc(met->rewrites);
            if (!savepoints && pending > 1) {
                /* no savepoints: the others, one transaction each */
                for (size_t i = 0; i < n; i++)
                    if (!jobs[i]->rc)
                        run_batch(w, &jobs[i], 1, NULL);
                return;
            }
            continue;
        }
        for (size_t i = 0; rc && i < n; i++) {
            if (!jobs[i]->rc) {
                jobs[i]->rc = rc;
                jobs[i]->retry = eb_adapter_retryable(w);
                if (jobs[i]->err)
                    *jobs[i]->err = berr;
            }
        }
        return;
    }
}

/* A write alone on a, tried again while the adapter calls its failure retryable. */
static void run_alone(struct eb_adapter *a, struct eb_write *w)
{
    for (int attempt = 1;; attempt++) {
        w->retry = 0;
        run_batch(a, &w, 1, NULL);
        if (!w->rc || !w->retry || attempt >= MAX_ATTEMPTS)
            return;
        eb_log(EB_LOG_DEBUG, "retrying a write", "database", a->m->name, "push_id", w->rec->push_id,
               NULL);
        /* a few milliseconds, different per connection, growing per attempt */
        long ms = (long)(((uintptr_t)a >> 4 ^ (uintptr_t)eb_mono_ms()) % 20 + 1) * attempt;
        struct timespec ts = {0, ms * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- the group's writer ------------------------------------------------------------------ */

static void deadline_after(struct timespec *until, int ms)
{
    clock_gettime(CLOCK_REALTIME, until);
    until->tv_sec += ms / 1000;
    until->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
}

/* Completes written jobs: a waiting caller is woken, a submitted job's done is called (outside
 * the group's lock: done may submit again). */
static void complete(struct eb_bridge_group *g, struct eb_write **jobs, size_t n)
{
    size_t n_async = 0;
    if (g)
        pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i]->async) {
            jobs[n_async++] = jobs[i]; /* a waiting caller's job is not touched once done */
        } else if (g) {
            jobs[i]->done = 1;
            pthread_cond_signal(&jobs[i]->cv);
        }
    }
    if (g)
        pthread_mutex_unlock(&g->lock);
    for (size_t i = 0; i < n_async; i++) {
        struct eb_write *j = jobs[i];
        struct eb_push_job *a = j->async;
        a->rc = j->rc;
        free(j);
        a->done(a);
    }
}

/* Writes again, alone, the writes of a batch that failed with a retryable error. */
static void retry_alone(struct eb_adapter *w, struct eb_write **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (jobs[i]->rc && jobs[i]->retry)
            run_alone(w, jobs[i]);
}

/* The writer thread: writes whatever is queued, a batch at a time. A submitted write that
 * waited longer than the share's wait (the writer was held up: another process's lock, a
 * stalled disk) fails as unavailable without being written, as a waiting caller's would. */
static void *writer_main(void *arg)
{
    struct lane *l = arg;
    struct eb_bridge_group *g = l->g;
    struct eb_write *batch[MAX_BATCH], *late[MAX_BATCH];
    pthread_mutex_lock(&g->lock);
    for (;;) {
        while (!l->head && !g->stop)
            pthread_cond_wait(&l->work_cv, &g->lock);
        if (!l->head)
            break; /* stopping, and nothing is left */
        size_t n = 0, n_late = 0;
        int64_t now = eb_mono_ms();
        while (l->head && n < MAX_BATCH && n_late < MAX_BATCH) {
            struct eb_write *k = l->head;
            l->head = k->next;
            if (k->async && now - k->queued_ms > g->share.wait_ms) {
                k->rc = eb_err_set(k->err, EB_ERR_UNAVAILABLE,
                                   "%s: the database was held for more than %d ms", g->m->name,
                                   g->share.wait_ms);
                late[n_late++] = k;
                continue;
            }
            k->taken = 1;
            batch[n++] = k;
        }
        if (!l->head)
            l->tail = NULL;
        pthread_mutex_unlock(&g->lock);
        complete(g, late, n_late);
        if (n) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            run_batch(l->writer, batch, n, g->met);
            retry_alone(l->writer, batch, n);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            int64_t ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
            l->busy_ns += (uint64_t)ns;
            l->batches++;
            l->writes += n;
            if (g->met) {
                eb_metric_inc(g->met->transactions);
                eb_metric_observe(g->met->pushes, (double)n);
                eb_metric_observe(g->met->seconds, (double)ns / 1e9);
            }
            complete(g, batch, n);
        }
        eb_adapter_writer_idle(l->writer);
        pthread_mutex_lock(&g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

/* The lane a write goes to: its candidate's (the applicationId its push log row records),
 * else its push id's, so that writes that lock the same rows wait in one queue. FNV-1a. */
static struct lane *lane_of(struct eb_bridge_group *g, const struct eb_write *j)
{
    if (g->n_lanes == 1)
        return &g->lanes[0];
    uint64_t h = 14695981039346656037ULL;
    if (j->rec->has_application_id) {
        uint64_t v = (uint64_t)j->rec->application_id;
        for (int i = 0; i < 8; i++, v >>= 8)
            h = (h ^ (v & 0xff)) * 1099511628211ULL;
    } else {
        for (const unsigned char *c = (const unsigned char *)j->rec->push_id; *c; c++)
            h = (h ^ *c) * 1099511628211ULL;
    }
    return &g->lanes[h % g->n_lanes];
}

/* Queues j on a's group and, for a waiting caller (j->async NULL), returns once j is written,
 * or fails it as unavailable when the writer did not take it within the share's wait (a writer
 * stuck in a transaction makes callers fail instead of hanging); a submitted write returns at
 * once. Without a group, j is written alone on a, now. */
static eb_rc enqueue(struct eb_adapter *a, struct eb_write *j)
{
    struct eb_bridge_group *g = a->group;
    if (!g) {
        run_alone(a, j);
        eb_rc rc = j->rc;
        complete(NULL, &j, 1);
        return rc;
    }
    struct lane *l = lane_of(g, j);
    j->next = NULL;
    j->queued_ms = eb_mono_ms();
    if (!j->async)
        pthread_cond_init(&j->cv, NULL);
    pthread_mutex_lock(&g->lock);
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    pthread_cond_signal(&l->work_cv);
    if (j->async) {
        pthread_mutex_unlock(&g->lock);
        return EB_OK;
    }
    struct timespec until;
    deadline_after(&until, g->share.wait_ms);
    while (!j->done) {
        int e = j->taken ? pthread_cond_wait(&j->cv, &g->lock)
                         : pthread_cond_timedwait(&j->cv, &g->lock, &until);
        if (e == ETIMEDOUT && !j->done && !j->taken) {
            struct eb_write **pp = &l->head, *prev = NULL;
            while (*pp != j) {
                prev = *pp;
                pp = &(*pp)->next;
            }
            *pp = j->next;
            if (l->tail == j)
                l->tail = prev;
            j->rc = eb_err_set(j->err, EB_ERR_UNAVAILABLE,
                               "%s: another writer of this process held the database for %d ms",
                               g->m->name, g->share.wait_ms);
            j->done = 1;
        }
    }
    pthread_mutex_unlock(&g->lock);
    pthread_cond_destroy(&j->cv);
    return j->rc;
}

eb_rc eb_write_wait(struct eb_adapter *a, struct eb_write *w)
{
    if (!w->received_at)
        w->received_at = w->rec->received_at_ms ? w->rec->received_at_ms : eb_now_ms();
    return enqueue(a, w);
}

void eb_write_submit(struct eb_adapter *a, struct eb_push_job *job)
{
    struct eb_write *w = calloc(1, sizeof *w);
    if (!w) {
        job->rc = eb_err_set(&job->err, EB_ERR_NOMEM, "out of memory");
        job->done(job);
        return;
    }
    w->kind = job->kind == EB_JOB_STORE       ? EB_WRITE_STORE
              : job->kind == EB_JOB_INTERVIEW ? EB_WRITE_INTERVIEW
                                              : EB_WRITE_FAILURE;
    w->p = job->p;
    w->ev = job->ev;
    w->rec = job->rec;
    w->out = &job->out;
    w->err = &job->err;
    w->received_at = job->rec->received_at_ms ? job->rec->received_at_ms : eb_now_ms();
    w->links = a->queue_links;
    w->async = job;
    enqueue(a, w);
}

/* ---- joining and leaving ----------------------------------------------------------------- */

/* Stops g's writer threads (once their queues are empty), closes their connections and frees g,
 * logging what the group wrote. */
static void group_free(struct eb_bridge_group *g)
{
    pthread_mutex_lock(&g->lock);
    g->stop = 1;
    for (size_t i = 0; i < g->n_lanes; i++)
        pthread_cond_signal(&g->lanes[i].work_cv);
    pthread_mutex_unlock(&g->lock);
    uint64_t batches = 0, writes = 0, busy_ns = 0;
    for (size_t i = 0; i < g->n_lanes; i++) {
        struct lane *l = &g->lanes[i];
        pthread_join(l->thread, NULL);
        batches += l->batches;
        writes += l->writes;
        busy_ns += l->busy_ns;
    }
    if (batches) {
        char msg[64], nw[24], nb[24], avg[24], us[24], lanes[8];
        snprintf(msg, sizeof msg, "%s: group commit", g->m->name);
        snprintf(nw, sizeof nw, "%llu", (unsigned long long)writes);
        snprintf(nb, sizeof nb, "%llu", (unsigned long long)batches);
        snprintf(avg, sizeof avg, "%.2f", (double)writes / (double)batches);
        snprintf(us, sizeof us, "%.1f", (double)busy_ns / 1e3 / (double)writes);
        snprintf(lanes, sizeof lanes, "%zu", g->n_lanes);
        eb_log(EB_LOG_INFO, msg, "writers", lanes, "pushes", nw, "transactions", nb,
               "pushes_per_transaction", avg, "writer_us_per_push", us, NULL);
    }
    for (size_t i = 0; i < EB_ADAPTER_MAX_WRITERS; i++) {
        struct lane *l = &g->lanes[i];
        if (l->writer) {
            eb_adapter_close(l->writer);
            pthread_cond_destroy(&l->work_cv);
        }
    }
    pthread_mutex_destroy(&g->lock);
    free(g);
}

/* Opens lane i of g (a connection of its own, from a's URL) and starts its thread. */
static eb_rc lane_start(struct eb_bridge_group *g, size_t i, struct eb_adapter *a,
                        struct eb_err *err)
{
    struct lane *l = &g->lanes[i];
    struct eb_adapter *w = NULL;
    eb_rc rc = eb_adapter_open_mapped(a->url, a->mapping, &w, err);
    if (rc || (rc = eb_adapter_writer_setup(w, err))) {
        eb_adapter_close(w);
        return rc;
    }
    l->g = g;
    l->writer = w;
    pthread_cond_init(&l->work_cv, NULL);
    sigset_t all, old;
    sigfillset(&all); /* signals stay with the threads that wait for them */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&l->thread, NULL, writer_main, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e)
        return eb_err_set(err, EB_ERR_INTERNAL, "%s: cannot start a writer thread: %s", g->m->name,
                          strerror(e)); /* group_free closes w */
    char name[16];
    snprintf(name, sizeof name, "eb-%.6s-w%zu", g->m->name, i);
    pthread_setname_np(l->thread, name); /* top -H, perf */
    g->n_lanes = i + 1;
    return EB_OK;
}

/* Joins the group of a's database, creating it and its writers for the first member. A
 * connection that cannot share (no savepoints, an in-memory database) stays without a group. */
static eb_rc group_join(struct eb_adapter *a, struct eb_err *err)
{
    const struct eb_adapter_methods *m = a->m;
    struct eb_adapter_share sh;
    memset(&sh, 0, sizeof sh);
    if (!eb_adapter_has_savepoints(a) || !eb_adapter_share(a, &sh))
        return EB_OK;
    if (sh.writers < 1 || sh.writers > EB_ADAPTER_MAX_WRITERS)
        sh.writers = 1;
    eb_rc rc = EB_OK;
    pthread_mutex_lock(&groups_lock);
    struct eb_bridge_group *g = groups;
    while (g && !(g->m == m && g->mapping == a->mapping && strcmp(g->share.key, sh.key) == 0))
        g = g->next;
    if (!g) {
        if (!(g = calloc(1, sizeof *g))) {
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
            goto out;
        }
        g->m = m;
        g->mapping = a->mapping;
        g->share = sh;
        g->met = metrics_for(m->name);
        pthread_mutex_init(&g->lock, NULL);
        for (size_t i = 0; !rc && i < (size_t)sh.writers; i++)
            rc = lane_start(g, i, a, err);
        if (rc) {
            group_free(g);
            g = NULL;
            goto out;
        }
        g->next = groups;
        groups = g;
    }
    g->refs++;
    a->group = g;
out:
    pthread_mutex_unlock(&groups_lock);
    return rc;
}

static void group_leave(struct eb_adapter *a)
{
    struct eb_bridge_group *g = a->group;
    if (!g)
        return;
    a->group = NULL;
    pthread_mutex_lock(&groups_lock);
    if (--g->refs == 0) {
        struct eb_bridge_group **pp = &groups;
        while (*pp != g)
            pp = &(*pp)->next;
        *pp = g->next;
        group_free(g);
    }
    pthread_mutex_unlock(&groups_lock);
}

/* ---- bridge.h's synchronous entry points ------------------------------------------------- */

eb_rc eb_bridge_open(const char *url, const struct eb_mapping *mapping, struct eb_adapter **out,
                     struct eb_err *err)
{
    eb_rc rc = eb_adapter_open_mapped(url, mapping, out, err);
    if (!rc && (rc = group_join(*out, err))) {
        eb_adapter_close(*out);
        *out = NULL;
    }
    return rc;
}

void eb_bridge_close(struct eb_adapter *a)
{
    if (!a)
        return;
    group_leave(a);
    eb_adapter_close(a);
}

int eb_bridge_groups(const struct eb_adapter_methods *m)
{
    return m && m->savepoint && m->share;
}

/* What every write may rely on (checked here once, not in each adapter): a push_log record with
 * an id (and, for a replay, its received_at), and a record with its applicationId. */
static eb_rc check_push(const struct eb_push *p, const struct eb_push_record *rec, int replay,
                        struct eb_err *err)
{
    if (!rec || !rec->push_id)
        return eb_err_set(err, EB_ERR_INVALID, "the push has no id");
    if (replay && !rec->received_at_ms)
        return eb_err_set(err, EB_ERR_INVALID, "a replayed push needs its received_at");
    if (p && (!p->data || !p->data->application_id.set))
        return eb_err_set(err, EB_ERR_INVALID, "the record has no applicationId");
    return EB_OK;
}

static eb_rc check_store(const struct eb_push *p, const struct eb_push_record *rec,
                         struct eb_err *err)
{
    eb_rc rc = check_push(p, rec, 0, err);
    if (!rc && !p && rec->outcome == EB_OUTCOME_STORED)
        rc = eb_err_set(err, EB_ERR_INVALID, "a push recorded as stored needs its record");
    return rc;
}

static eb_rc check_interview(const struct eb_adapter *a, const struct eb_interview_event *ev,
                             const struct eb_push_record *rec, struct eb_err *err)
{
    if (!a->m->interview_apply)
        return eb_err_set(err, EB_ERR_INTERNAL, "the %s adapter does not store interview events",
                          a->m->name);
    eb_rc rc = check_push(NULL, rec, 0, err);
    if (rc)
        return rc;
    if (!ev)
        return eb_err_set(err, EB_ERR_INVALID, "no interview event to store");
    for (size_t i = 0; i < ev->interviews_n; i++)
        if (!ev->interviews[i].event_id)
            return eb_err_set(err, EB_ERR_INVALID, "an interview has no event_id");
    return EB_OK;
}

static eb_rc no_adapter(struct eb_err *err)
{
    return eb_err_set(err, EB_ERR_UNAVAILABLE, "no database adapter is open");
}

eb_rc eb_bridge_store_push(struct eb_adapter *a, const struct eb_push *p,
                           const struct eb_push_record *rec, struct eb_stored *out,
                           struct eb_err *err)
{
    eb_err_clear(err);
    memset(out, 0, sizeof *out);
    if (!a)
        return no_adapter(err);
    eb_rc rc = check_store(p, rec, err);
    if (rc)
        return rc;
    struct eb_write w = {.kind = EB_WRITE_STORE,
                         .p = p,
                         .rec = rec,
                         .out = out,
                         .err = err,
                         .links = a->queue_links};
    return eb_write_wait(a, &w);
}

eb_rc eb_bridge_log_failure(struct eb_adapter *a, const struct eb_push_record *rec,
                            struct eb_err *err)
{
    eb_err_clear(err);
    if (!a)
        return no_adapter(err);
    eb_rc rc = check_push(NULL, rec, 0, err);
    if (rc)
        return rc;
    struct eb_write w = {.kind = EB_WRITE_FAILURE, .rec = rec, .err = err};
    return eb_write_wait(a, &w);
}

eb_rc eb_bridge_store_interview_event(struct eb_adapter *a, const struct eb_interview_event *ev,
                                      const struct eb_push_record *rec, struct eb_stored *out,
                                      struct eb_err *err)
{
    eb_err_clear(err);
    memset(out, 0, sizeof *out);
    if (!a)
        return no_adapter(err);
    eb_rc rc = check_interview(a, ev, rec, err);
    if (rc)
        return rc;
    struct eb_write w = {.kind = EB_WRITE_INTERVIEW, .ev = ev, .rec = rec, .out = out, .err = err};
    return eb_write_wait(a, &w);
}

eb_rc eb_bridge_replay_push(struct eb_adapter *a, const struct eb_push *p,
                            const struct eb_push_record *rec, struct eb_stored *out,
                            struct eb_err *err)
{
    eb_err_clear(err);
    memset(out, 0, sizeof *out);
    if (!a)
        return no_adapter(err);
    eb_rc rc = check_push(p, rec, 1, err);
    if (rc)
        return rc;
    struct eb_write w = {.kind = EB_WRITE_REPLAY,
                         .p = p,
                         .rec = rec,
                         .out = out,
                         .err = err,
                         .links = a->queue_links};
    return eb_write_wait(a, &w);
}

void eb_bridge_write(struct eb_adapter *a, struct eb_push_job *job)
{
    struct eb_err *err = &job->err;
    eb_err_clear(err);
    memset(&job->out, 0, sizeof job->out);
    job->rc = !a                              ? no_adapter(err)
              : job->kind == EB_JOB_STORE     ? check_store(job->p, job->rec, err)
              : job->kind == EB_JOB_INTERVIEW ? check_interview(a, job->ev, job->rec, err)
                                              : check_push(NULL, job->rec, 0, err);
    if (job->rc) {
        job->done(job);
        return;
    }
    eb_write_submit(a, job);
}

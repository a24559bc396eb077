/* Group commit of the SQLite adapter: pushes of several threads (several adapter instances on one
 * file) are written by the writer thread in one transaction. A push that fails is rolled back
 * alone (its batch is written again with a savepoint per push) and the others of its batch are
 * stored and answered; the same push id twice in one batch is stored once and answered as a
 * duplicate; every push answered EB_OK is in the database, and nothing of a failed one. Pushes
 * submitted without waiting (eb_bridge_write) share transactions the same way, and each one's
 * done comes only once its commit is visible to another connection. Under a continuous stream
 * the WAL still starts again from its beginning: its file stays bounded. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "bridge/bridge.h"
#include "candidate/candidate.h"
#include "candidate/schema.h"
#include "check.h"
#include "util/buf.h"
#include "util/metrics.h"

#define THREADS    8
#define PER_THREAD 30 /* own pushes per thread; every BOOM_EVERY-th of them fails */
#define BOOM_EVERY 5
#define SHARED     6 /* push ids every thread sends too: each stored exactly once */

#include "sqlite_peek.h"

/* One push and the storage it points into. */
struct one {
    struct eb_push push;
    struct eb_candidate c;
    struct eb_experience exp[1];
    struct eb_push_record rec;
    char id[64];
};

static void one_init(struct one *o, const char *id, int64_t app, const char *name)
{
    memset(o, 0, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", id);
    eb_candidate_init(&eb_type_candidate, &o->c);
    o->c.application_id = (struct eb_i64){app, 1};
    o->c.name = name;
    eb_candidate_init(&eb_type_experience, &o->exp[0]);
    o->exp[0].company = "ACME";
    o->c.experience_info = o->exp;
    o->c.experience_info_n = 1;
    o->push = (struct eb_push){
        .id = o->id, .event = "pushCandidate", .triggered_at = "1700000000000", .data = &o->c};
    o->rec.push_id = o->id;
    o->rec.event = "pushCandidate";
    o->rec.application_id = app;
    o->rec.has_application_id = 1;
    o->rec.received_at_ms = 1700000000000;
    o->rec.payload = "<pushCandidate/>";
    o->rec.payload_len = strlen(o->rec.payload);
    o->rec.outcome = EB_OUTCOME_STORED;
}

struct worker {
    pthread_t th;
    int k; /* thread number */
    struct eb_adapter *a;
    int stored, booms, boom_msgs, other_failures;
    int shared_fresh, shared_dup;
};

/* The value of the sample line "name value" of GET /metrics' text; -1 when there is none. */
static double metric(const char *name)
{
    struct eb_buf b;
    double v = -1;
    eb_buf_init(&b, 1 << 20);
    if (eb_metrics_render(&b) == EB_OK && b.data) {
        eb_buf_append(&b, "", 1);
        size_t n = strlen(name);
        for (const char *l = b.data; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
            if (strncmp(l, name, n) == 0 && l[n] == ' ')
                v = strtod(l + n + 1, NULL);
    }
    eb_buf_free(&b);
    return v;
}

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cv = PTHREAD_COND_INITIALIZER;
static int started, go;

static void *work(void *arg)
{
    struct worker *w = arg;
    struct one *o = malloc(sizeof *o);
    char id[64];
    pthread_mutex_lock(&start_lock);
    started++;
    pthread_cond_broadcast(&start_cv);
    while (!go)
        pthread_cond_wait(&start_cv, &start_lock);
    pthread_mutex_unlock(&start_lock);
    for (int i = 0; i < PER_THREAD + SHARED; i++) {
        /* the shared ids first, while the database is held: they meet in one batch */
        int shared = i < SHARED;
        int boom = !shared && (i - SHARED) % BOOM_EVERY == BOOM_EVERY - 1;
        int64_t app;
        if (shared) {
            snprintf(id, sizeof id, "shared-%d", i);
            app = 900000 + i;
        } else {
            snprintf(id, sizeof id, "t%d-%d", w->k, i);
            app = (int64_t)w->k * 1000 + i;
        }
        one_init(o, id, app, boom ? "boom" : "ok");
        struct eb_stored out;
        struct eb_err err;
        memset(&err, 0, sizeof err);
        eb_rc rc = eb_bridge_store_push(w->a, &o->push, &o->rec, &out, &err);
        if (boom) {
            w->booms++;
            if (rc == EB_ERR_DB && strstr(err.msg, "boom"))
                w->boom_msgs++;
        } else if (rc != EB_OK || out.outcome != EB_OUTCOME_STORED) {
            w->other_failures++;
            fprintf(stderr, "push %s: rc=%d %s\n", id, rc, err.msg);
        } else if (shared) {
            out.duplicate ? w->shared_dup++ : w->shared_fresh++;
        } else {
            w->stored += !out.duplicate;
        }
    }
    free(o);
    return NULL;
}

/* ---- submitted without waiting ---- */

#define ASYNC_N 120

struct async_one {
    struct one o;
    struct eb_push_job job;
};

static pthread_mutex_t async_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t async_cv = PTHREAD_COND_INITIALIZER;
static int async_done, async_stored, async_booms, async_visible, async_other;
static sqlite3 *async_peek; /* used by the done callbacks only, which run one at a time */

static void async_finished(struct eb_push_job *job)
{
    struct async_one *a = job->user;
    int boom = !strcmp(a->o.c.name, "boom");
    int visible = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(async_peek, "SELECT count(*) FROM push_log WHERE push_id = ?", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, a->o.id, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        visible = sqlite3_column_int(st, 0) == 1;
    sqlite3_finalize(st);
    pthread_mutex_lock(&async_lock);
    if (boom && job->rc == EB_ERR_DB && !visible) {
        async_booms++;
    } else if (!boom && job->rc == EB_OK && job->out.outcome == EB_OUTCOME_STORED &&
               !job->out.duplicate) {
        async_stored++;
        async_visible += visible;
    } else {
        async_other++;
    }
    async_done++;
    pthread_cond_signal(&async_cv);
    pthread_mutex_unlock(&async_lock);
}

static void test_submitted(sqlite3 *db)
{
    struct eb_adapter *a = NULL;
    struct eb_err err;
    CHECK(eb_bridge_open(url, NULL, &a, &err) == EB_OK);
    async_peek = peek_open();
    struct async_one *all = calloc(ASYNC_N, sizeof *all);
    exec_or_die(db, "BEGIN IMMEDIATE"); /* the writer waits: the submitted pushes pile up */
    for (int i = 0; i < ASYNC_N; i++) {
        char id[64];
        snprintf(id, sizeof id, "async-%d", i);
        one_init(&all[i].o, id, 500000 + i, i % 10 == 3 ? "boom" : "ok");
        all[i].job.kind = EB_JOB_STORE;
        all[i].job.p = &all[i].o.push;
        all[i].job.rec = &all[i].o.rec;
        all[i].job.done = async_finished;
        all[i].job.user = &all[i];
        eb_bridge_write(a, &all[i].job);
    }
    pthread_mutex_lock(&async_lock);
    CHECK(async_done <= 1); /* at most the first one, which met the lock in BEGIN, is done */
    pthread_mutex_unlock(&async_lock);
    struct timespec pause = {0, 200 * 1000000L};
    nanosleep(&pause, NULL);
    exec_or_die(db, "COMMIT");
    pthread_mutex_lock(&async_lock);
    while (async_done < ASYNC_N)
        pthread_cond_wait(&async_cv, &async_lock);
    pthread_mutex_unlock(&async_lock);
    CHECK(async_other == 0);
    CHECK(async_booms == ASYNC_N / 10);
    CHECK(async_stored == ASYNC_N - ASYNC_N / 10);
    CHECK(async_visible == async_stored); /* done only after the commit */
    CHECK(q_int(db, "SELECT count(*) FROM push_log WHERE push_id LIKE 'async-%'") ==
          ASYNC_N - ASYNC_N / 10);
    eb_bridge_close(a);
    sqlite3_close(async_peek);
    free(all);
}

/* ---- the WAL under a continuous stream ---- */

#define WAL_THREADS    4
#define WAL_PER_THREAD 120
#define WAL_PAYLOAD    (256 * 1024) /* 64 WAL frames per push: 120 MB in all */
#define WAL_BOUND      (100L << 20) /* far above the restart limit (16,000 frames and a batch) */

static char *wal_payload;

struct wal_worker {
    pthread_t th;
    int k, failures;
    struct eb_adapter *a;
};

static void *wal_work(void *arg)
{
    struct wal_worker *w = arg;
    struct one *o = malloc(sizeof *o);
    for (int i = 0; o && i < WAL_PER_THREAD; i++) {
        char id[64];
        snprintf(id, sizeof id, "wal-%d-%d", w->k, i);
        one_init(o, id, 700000 + w->k * 1000 + i, "wal");
        o->rec.payload = wal_payload;
        o->rec.payload_len = WAL_PAYLOAD;
        struct eb_stored out;
        struct eb_err err;
        if (eb_bridge_store_push(w->a, &o->push, &o->rec, &out, &err) != EB_OK)
            w->failures++;
    }
    free(o);
    return NULL;
}

/* A busy writer beside the checkpointer: the WAL still starts again from its beginning, so its
 * file stays bounded however much is written (without a restart it would hold all 120 MB). */
static void test_wal_bounded(void)
{
    char u[300], wal[200];
    snprintf(u, sizeof u, "sqlite:%s/w.db?synchronous=normal", dir);
    snprintf(wal, sizeof wal, "%s/w.db-wal", dir);
    wal_payload = malloc(WAL_PAYLOAD + 1);
    CHECK(wal_payload != NULL);
    if (!wal_payload)
        return;
    memset(wal_payload, 'x', WAL_PAYLOAD);
    wal_payload[WAL_PAYLOAD] = 0;
    struct wal_worker w[WAL_THREADS];
    struct eb_err err;
    memset(w, 0, sizeof w);
    for (int k = 0; k < WAL_THREADS; k++) {
        w[k].k = k;
        CHECK(eb_bridge_open(u, NULL, &w[k].a, &err) == EB_OK);
    }
    for (int k = 0; k < WAL_THREADS; k++)
        pthread_create(&w[k].th, NULL, wal_work, &w[k]);
    int failures = 0;
    for (int k = 0; k < WAL_THREADS; k++) {
        pthread_join(w[k].th, NULL);
        failures += w[k].failures;
    }
    CHECK(failures == 0);
    struct stat st;
    CHECK(stat(wal, &st) == 0 && st.st_size > 0 && st.st_size < WAL_BOUND);
    if (st.st_size >= WAL_BOUND)
        fprintf(stderr, "WAL of %lld bytes\n", (long long)st.st_size);
    sqlite3 *db = NULL;
    char path[200];
    snprintf(path, sizeof path, "%s/w.db", dir);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(q_int(db, "SELECT count(*) FROM push_log WHERE length(payload) = 262144") ==
          WAL_THREADS * WAL_PER_THREAD);
    sqlite3_close(db);
    for (int k = 0; k < WAL_THREADS; k++)
        eb_bridge_close(w[k].a);
    free(wal_payload);
    const char *files[] = {"w.db", "w.db-wal", "w.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/eb_group_XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(db_path, sizeof db_path, "%s/g.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", db_path); /* synchronous=full: a slow commit */

    struct worker w[THREADS];
    struct eb_err err;
    memset(w, 0, sizeof w);
    for (int k = 0; k < THREADS; k++) {
        w[k].k = k + 1;
        CHECK(eb_bridge_open(url, NULL, &w[k].a, &err) == EB_OK);
        if (!w[k].a)
            return check_report("test_sqlite_group");
    }
    sqlite3 *db = peek_open();
    exec_or_die(db, "CREATE TRIGGER boom BEFORE INSERT ON candidate WHEN NEW.name = 'boom' "
                    "BEGIN SELECT RAISE(ABORT, 'boom'); END");
    /* Hold the write lock from outside while every thread queues: the writer waits in
     * BEGIN IMMEDIATE, and the pushes queued behind it form the next batches. */
    exec_or_die(db, "BEGIN IMMEDIATE");
    for (int k = 0; k < THREADS; k++)
        pthread_create(&w[k].th, NULL, work, &w[k]);
    pthread_mutex_lock(&start_lock);
    while (started < THREADS)
        pthread_cond_wait(&start_cv, &start_lock);
    go = 1;
    pthread_cond_broadcast(&start_cv);
    pthread_mutex_unlock(&start_lock);
    struct timespec pause = {0, 300 * 1000000L};
    nanosleep(&pause, NULL);
    exec_or_die(db, "COMMIT");
    for (int k = 0; k < THREADS; k++)
        pthread_join(w[k].th, NULL);

    int stored = 0, booms = 0, boom_msgs = 0, other = 0, fresh = 0, dup = 0;
    for (int k = 0; k < THREADS; k++) {
        stored += w[k].stored;
        booms += w[k].booms;
        boom_msgs += w[k].boom_msgs;
        other += w[k].other_failures;
        fresh += w[k].shared_fresh;
        dup += w[k].shared_dup;
    }
    int own_ok = THREADS * (PER_THREAD - PER_THREAD / BOOM_EVERY);
    CHECK(other == 0);
    CHECK(booms == THREADS * (PER_THREAD / BOOM_EVERY));
    CHECK(boom_msgs == booms); /* each failed alone, with its own reason */
    CHECK(stored == own_ok);
    CHECK(fresh == SHARED);               /* each shared id stored once ... */
    CHECK(dup == SHARED * (THREADS - 1)); /* ... and answered as a duplicate to the others */
    CHECK(q_int(db, "SELECT count(*) FROM push_log") == own_ok + SHARED);
    CHECK(q_int(db, "SELECT count(*) FROM push_log WHERE outcome = 'stored'") == own_ok + SHARED);
    CHECK(q_int(db, "SELECT count(*) FROM candidate") == own_ok + SHARED);
    CHECK(q_int(db, "SELECT count(*) FROM candidate WHERE name = 'boom'") == 0);
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience") == own_ok + SHARED);
    /* nothing of a failed push: no child row without its candidate */
    CHECK(q_int(db, "SELECT count(*) FROM candidate_experience e WHERE NOT EXISTS "
                    "(SELECT 1 FROM candidate c WHERE c.application_id = e.application_id)") == 0);
    /* the writer's metrics: every push is in one counted transaction, and batches with a failed
     * push were written again without it (48 failing pushes never all come alone) */
    double tx = metric("ehrbridge_sqlite_transactions_total");
    CHECK(tx >= 1 && tx <= own_ok + booms + SHARED * THREADS);
    CHECK(metric("ehrbridge_sqlite_transaction_pushes_count") == tx);
    CHECK(metric("ehrbridge_sqlite_transaction_pushes_sum") == own_ok + booms + SHARED * THREADS);
    CHECK(metric("ehrbridge_sqlite_transaction_seconds_count") == tx);
    CHECK(metric("ehrbridge_sqlite_transaction_rewrites_total") >= 1);
    test_submitted(db);
    test_wal_bounded();
    sqlite3_close(db);
    for (int k = 0; k < THREADS; k++)
        eb_bridge_close(w[k].a);

    const char *files[] = {"g.db", "g.db-wal", "g.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[200];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
    return check_report("test_sqlite_group");
}

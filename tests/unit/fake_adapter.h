/* A fake database adapter for unit tests (header-only): the primitives of adapters/adapter.h
 * (table version 2) over an in-memory push log and candidate list, with transactions and one
 * level of savepoint, call counters and injectable failures (SQLite's aSyscall[] idea). It
 * holds no push rule: claims, duplicates, supersedes and "failed" records are the bridge's, so
 * a test through it tests the bridge. Set a fail_* member to an eb_rc and the primitives it
 * names return it with a driver-like detail message. */
#ifndef EB_FAKE_ADAPTER_H
#define EB_FAKE_ADAPTER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "candidate/candidate.h"

#define FAKE_MAX_LOG 64

/* The detail a failing fake call puts in err: must never reach a client. */
#define FAKE_DRIVER_TEXT "fake-driver: disk I/O error at /var/lib/secret.db (code 10)"

struct fake_entry {
    char push_id[64];        /* the key */
    enum eb_outcome outcome; /* recorded outcome */
    char message[256];       /* recorded message ("" for NULL) */
    int64_t received_at;     /* recorded received_at */
    int has_raw;             /* 1 when a raw body was recorded */
};

struct fake_candidate {
    int64_t application_id; /* the key */
    char push_id[64];       /* the push that wrote its rows */
};

/* What the database holds: copied whole for a transaction or a savepoint. */
struct fake_state {
    struct fake_entry log[FAKE_MAX_LOG];      /* the push log */
    int n_log;                                /* entries in log */
    struct fake_candidate cand[FAKE_MAX_LOG]; /* the candidates written */
    int n_cand;                               /* entries in cand */
    int interviews;                           /* interview events applied */
};

struct fake_adapter {
    struct eb_adapter base; /* first member */
    /* injected failures (EB_OK: none) */
    eb_rc fail_write;       /* candidate_write, interview_apply, log_put of a final outcome */
    eb_rc fail_log_failure; /* log_put of a "failed" row */
    eb_rc fail_commit;      /* commit (the transaction is rolled back) */
    eb_rc fail_ping;        /* ping */
    int fail_times;         /* > 0: the injected failures stop after this many */
    int retryable;          /* what retryable answers */
    /* calls made, failed ones included */
    int begins, commits, rollbacks, savepoints, writes, ping_calls;
    int puts[3];                     /* log_put calls by outcome */
    const struct eb_push *last_push; /* p of the last candidate_write */
    enum eb_outcome last_outcome;    /* outcome of the last log_put */
    char last_message[256];          /* rec->message of the last log_put */
    /* the database */
    struct fake_state st;     /* committed, or as the open transaction sees it */
    struct fake_state tx, sp; /* at begin; at the savepoint */
    int in_tx, in_sp;         /* a transaction, a savepoint is open */
    /* mirrors of st for the tests */
    struct fake_entry *log; /* st.log */
    int n_log;              /* st.n_log after the last commit or rollback */
};

static inline struct fake_entry *fake_find(struct fake_adapter *f, const char *id)
{
    for (int i = 0; i < f->st.n_log; i++)
        if (strcmp(f->st.log[i].push_id, id) == 0)
            return &f->st.log[i];
    return NULL;
}

/* Returns the injected failure rc (counting it against fail_times), or EB_OK when it is used up. */
static inline eb_rc fake_inject(struct fake_adapter *f, eb_rc rc, struct eb_err *err)
{
    if (!rc)
        return EB_OK;
    if (f->fail_times > 0 && --f->fail_times == 0)
        f->fail_write = f->fail_log_failure = f->fail_commit = EB_OK;
    return eb_err_set(err, rc, "%s", FAKE_DRIVER_TEXT);
}

static inline eb_rc fake_open(struct eb_adapter *a, const char *url, struct eb_err *err)
{
    (void)a;
    (void)url;
    (void)err;
    return EB_OK;
}

static inline void fake_close(struct eb_adapter *a)
{
    (void)a;
}

static inline eb_rc fake_begin(struct eb_adapter *a, struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    f->begins++;
    if (f->in_tx)
        return eb_err_set(err, EB_ERR_DB, "fake: a transaction is already open");
    f->tx = f->st;
    f->in_tx = 1;
    return EB_OK;
}

static inline void fake_rollback(struct eb_adapter *a)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    if (!f->in_tx)
        return;
    f->rollbacks++;
    f->st = f->tx;
    f->in_tx = f->in_sp = 0;
    f->n_log = f->st.n_log;
}

static inline eb_rc fake_commit(struct eb_adapter *a, struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    f->commits++;
    if (!f->in_tx)
        return eb_err_set(err, EB_ERR_DB, "fake: no transaction");
    if (f->fail_commit) {
        fake_rollback(a);
        return fake_inject(f, f->fail_commit, err);
    }
    f->in_tx = f->in_sp = 0;
    f->n_log = f->st.n_log;
    return EB_OK;
}

static inline int fake_in_transaction(struct eb_adapter *a)
{
    return ((struct fake_adapter *)a)->in_tx;
}

static inline eb_rc fake_savepoint(struct eb_adapter *a, struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    f->savepoints++;
    if (!f->in_tx || f->in_sp)
        return eb_err_set(err, EB_ERR_DB, "fake: savepoint outside a transaction or nested");
    f->sp = f->st;
    f->in_sp = 1;
    return EB_OK;
}

static inline eb_rc fake_release(struct eb_adapter *a, struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    if (!f->in_sp)
        return eb_err_set(err, EB_ERR_DB, "fake: no savepoint");
    f->in_sp = 0;
    return EB_OK;
}

static inline eb_rc fake_rollback_to(struct eb_adapter *a, struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    if (!f->in_sp)
        return eb_err_set(err, EB_ERR_DB, "fake: no savepoint");
    f->st = f->sp;
    f->in_sp = 0;
    return EB_OK;
}

static inline eb_rc fake_log_get(struct eb_adapter *a, const char *push_id,
                                 struct eb_log_state *out, struct eb_err *err)
{
    (void)err;
    struct fake_entry *e = fake_find((struct fake_adapter *)a, push_id);
    out->found = e != NULL;
    if (e) {
        out->outcome = e->outcome;
        snprintf(out->message, sizeof out->message, "%s", e->message);
    }
    return EB_OK;
}

static inline eb_rc fake_log_put(struct eb_adapter *a, const struct eb_push_record *rec,
                                 enum eb_outcome outcome, int64_t received_at, int claim,
                                 int *written, struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    f->puts[outcome]++;
    f->last_outcome = outcome;
    snprintf(f->last_message, sizeof f->last_message, "%s", rec->message ? rec->message : "");
    eb_rc inject = outcome == EB_OUTCOME_FAILED ? f->fail_log_failure : f->fail_write;
    if (inject)
        return fake_inject(f, inject, err);
    if (!f->in_tx)
        return eb_err_set(err, EB_ERR_DB, "fake: write outside a transaction");
    struct fake_entry *e = fake_find(f, rec->push_id);
    if (written)
        *written = 0;
    if (claim && e && e->outcome != EB_OUTCOME_FAILED)
        return EB_OK;
    if (!e && f->st.n_log == FAKE_MAX_LOG)
        return eb_err_set(err, EB_ERR_DB, "fake: the push log is full");
    if (written)
        *written = 1;
    if (!e)
        e = &f->st.log[f->st.n_log++];
    snprintf(e->push_id, sizeof e->push_id, "%s", rec->push_id);
    e->outcome = outcome;
    snprintf(e->message, sizeof e->message, "%s", rec->message ? rec->message : "");
    e->received_at = received_at;
    e->has_raw = rec->raw != NULL;
    return EB_OK;
}

static inline struct fake_candidate *fake_candidate(struct fake_adapter *f, int64_t app)
{
    for (int i = 0; i < f->st.n_cand; i++)
        if (f->st.cand[i].application_id == app)
            return &f->st.cand[i];
    return NULL;
}

static inline eb_rc fake_candidate_write(struct eb_adapter *a, const struct eb_push *p,
                                         const char *push_id, int64_t updated_at,
                                         struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    (void)updated_at;
    f->writes++;
    f->last_push = p;
    if (f->fail_write)
        return fake_inject(f, f->fail_write, err);
    if (!f->in_tx)
        return eb_err_set(err, EB_ERR_DB, "fake: write outside a transaction");
    struct fake_candidate *c = fake_candidate(f, p->data->application_id.v);
    if (!c && f->st.n_cand == FAKE_MAX_LOG)
        return eb_err_set(err, EB_ERR_DB, "fake: the candidate table is full");
    if (!c)
        c = &f->st.cand[f->st.n_cand++];
    c->application_id = p->data->application_id.v;
    snprintf(c->push_id, sizeof c->push_id, "%s", push_id);
    return EB_OK;
}

static inline eb_rc fake_candidate_last(struct eb_adapter *a, int64_t app,
                                        struct eb_candidate_last *out, struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    struct fake_candidate *c = fake_candidate(f, app);
    struct fake_entry *e = c ? fake_find(f, c->push_id) : NULL;
    out->found = e != NULL;
    out->push_id = NULL;
    if (e) {
        out->received_at_ms = e->received_at;
        if (!(out->push_id = strdup(e->push_id)))
            return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    }
    return EB_OK;
}

static inline eb_rc fake_interview_apply(struct eb_adapter *a, const struct eb_interview_event *ev,
                                         const char *push_id, int64_t at, struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    (void)ev;
    (void)push_id;
    (void)at;
    if (f->fail_write)
        return fake_inject(f, f->fail_write, err);
    f->st.interviews++;
    return EB_OK;
}

static inline int fake_retryable(struct eb_adapter *a)
{
    return ((struct fake_adapter *)a)->retryable;
}

static inline eb_rc fake_ping(struct eb_adapter *a, struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    f->ping_calls++;
    return f->fail_ping ? eb_err_set(err, f->fail_ping, "%s", FAKE_DRIVER_TEXT) : EB_OK;
}

static const struct eb_adapter_methods fake_adapter_methods __attribute__((unused)) = {
    .version = 2,
    .name = "fake",
    .scheme = "fake",
    .instance_size = sizeof(struct fake_adapter),
    .open = fake_open,
    .close = fake_close,
    .ping = fake_ping,
    .begin = fake_begin,
    .commit = fake_commit,
    .rollback = fake_rollback,
    .in_transaction = fake_in_transaction,
    .savepoint = fake_savepoint,
    .release = fake_release,
    .rollback_to = fake_rollback_to,
    .log_get = fake_log_get,
    .log_put = fake_log_put,
    .candidate_write = fake_candidate_write,
    .candidate_last = fake_candidate_last,
    .interview_apply = fake_interview_apply,
    .retryable = fake_retryable,
};

/* Zeroes f and makes it an adapter ready for the bridge (no group: it writes alone). */
static inline void fake_adapter_init(struct fake_adapter *f)
{
    memset(f, 0, sizeof *f);
    f->base.m = &fake_adapter_methods;
    f->log = f->st.log;
}

#endif

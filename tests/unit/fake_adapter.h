/* A fake database adapter for unit tests (header-only): an in-memory push log that follows the
 * store_push / log_failure contract of adapters/adapter.h, call counters, and injectable
 * failures (SQLite's aSyscall[] idea): set fail_store / fail_log_failure / fail_ping to an eb_rc
 * and the next calls return it with a driver-like detail message. */
#ifndef EB_FAKE_ADAPTER_H
#define EB_FAKE_ADAPTER_H

#include <stdio.h>
#include <string.h>

#include "adapters/adapter.h"
#include "candidate/candidate.h"

#define FAKE_MAX_LOG 64

/* The detail a failing fake call puts in err: must never reach a client. */
#define FAKE_DRIVER_TEXT "fake-driver: disk I/O error at /var/lib/secret.db (code 10)"

struct fake_entry {
    char push_id[64];        /* the key */
    enum eb_outcome outcome; /* recorded outcome */
    char message[256];       /* recorded message */
    int stored_candidate;    /* 1 when a candidate was written with it */
};

struct fake_adapter {
    struct eb_adapter base;                         /* first member */
    eb_rc fail_store;                               /* != EB_OK: store_push fails with it */
    eb_rc fail_log_failure;                         /* != EB_OK: log_failure fails with it */
    eb_rc fail_ping;                                /* != EB_OK: ping fails with it */
    int store_calls, log_failure_calls, ping_calls; /* calls made (failed ones included) */
    const struct eb_push *last_push;                /* p of the last store_push */
    enum eb_outcome last_outcome;                   /* rec->outcome seen by the last call */
    char last_message[256];                         /* rec->message seen by the last call */
    struct fake_entry log[FAKE_MAX_LOG];            /* the push log */
    int n_log;                                      /* entries in log */
};

static inline struct fake_entry *fake_find(struct fake_adapter *f, const char *id)
{
    for (int i = 0; i < f->n_log; i++)
        if (strcmp(f->log[i].push_id, id) == 0)
            return &f->log[i];
    return NULL;
}

static inline void fake_put(struct fake_adapter *f, const struct eb_push_record *rec,
                            enum eb_outcome outcome, int stored)
{
    struct fake_entry *e = fake_find(f, rec->push_id);
    if (!e && f->n_log < FAKE_MAX_LOG)
        e = &f->log[f->n_log++];
    if (!e)
        return;
    snprintf(e->push_id, sizeof e->push_id, "%s", rec->push_id);
    e->outcome = outcome;
    snprintf(e->message, sizeof e->message, "%s",
             outcome != EB_OUTCOME_STORED && rec->message ? rec->message : "");
    e->stored_candidate = stored;
}

static inline void fake_seen(struct fake_adapter *f, const struct eb_push_record *rec)
{
    f->last_outcome = rec->outcome;
    snprintf(f->last_message, sizeof f->last_message, "%s", rec->message ? rec->message : "");
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

static inline eb_rc fake_store_push(struct eb_adapter *a, const struct eb_push *p,
                                    const struct eb_push_record *rec, struct eb_stored *out,
                                    struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    f->store_calls++;
    f->last_push = p;
    fake_seen(f, rec);
    if (f->fail_store)
        return eb_err_set(err, f->fail_store, "%s", FAKE_DRIVER_TEXT);
    struct fake_entry *e = fake_find(f, rec->push_id);
    if (e && e->outcome != EB_OUTCOME_FAILED) {
        out->outcome = e->outcome;
        out->duplicate = 1;
        snprintf(out->message, sizeof out->message, "%s", e->message);
        return EB_OK;
    }
    enum eb_outcome o = p ? EB_OUTCOME_STORED : rec->outcome;
    fake_put(f, rec, o, p != NULL);
    out->outcome = o;
    out->duplicate = 0;
    snprintf(out->message, sizeof out->message, "%s",
             o != EB_OUTCOME_STORED && rec->message ? rec->message : "");
    return EB_OK;
}

static inline eb_rc fake_log_failure(struct eb_adapter *a, const struct eb_push_record *rec,
                                     struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    f->log_failure_calls++;
    fake_seen(f, rec);
    if (f->fail_log_failure)
        return eb_err_set(err, f->fail_log_failure, "%s", FAKE_DRIVER_TEXT);
    struct fake_entry *e = fake_find(f, rec->push_id);
    if (!e || e->outcome == EB_OUTCOME_FAILED)
        fake_put(f, rec, EB_OUTCOME_FAILED, 0);
    return EB_OK;
}

static inline eb_rc fake_ping(struct eb_adapter *a, struct eb_err *err)
{
    struct fake_adapter *f = (struct fake_adapter *)a;
    f->ping_calls++;
    return f->fail_ping ? eb_err_set(err, f->fail_ping, "%s", FAKE_DRIVER_TEXT) : EB_OK;
}

static const struct eb_adapter_methods fake_adapter_methods __attribute__((unused)) = {
    .version = 1,
    .name = "fake",
    .scheme = "fake",
    .instance_size = sizeof(struct fake_adapter),
    .open = fake_open,
    .close = fake_close,
    .store_push = fake_store_push,
    .log_failure = fake_log_failure,
    .ping = fake_ping,
};

/* Zeroes f and makes it an adapter ready for the eb_adapter_* wrappers. */
static inline void fake_adapter_init(struct fake_adapter *f)
{
    memset(f, 0, sizeof *f);
    f->base.m = &fake_adapter_methods;
}

#endif

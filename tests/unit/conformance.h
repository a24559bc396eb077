/* The conformance suite of adapter.h's primitives (table version 2, and version 4's attachment
 * queue where the adapter has it), checked through the table
 * only (no SQL of its own), so that the same checks run against every adapter and the test
 * double: the push_log row read and written (the claim over a "failed" row, never over a final
 * one), rollback, savepoints, a candidate's rows and the push that wrote them, an interview
 * event's rows; then the bridge's rules end to end over the adapter (stored, duplicate,
 * rejected, failed then retried, a replay superseded by a later push), as the client and
 * `ehrbridge replay` see them; the download links the bridge queues with a push (version 4), or
 * not at all (versions 2 and 3). Ids are made unique per run with the given prefix, so the
 * suite may run on a database that holds other rows. Header-only; includes check.h. */
#ifndef EB_CONFORMANCE_H
#define EB_CONFORMANCE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "bridge/bridge.h"
#include "candidate/candidate.h"
#include "candidate/interview.h"
#include "check.h"
#include "util/clock.h"

/* A push and its record, with ids made of the run's prefix. */
struct conf_push {
    struct eb_push push;
    struct eb_candidate c;
    struct eb_push_record rec;
    char id[96];
};

static void conf_push_init(struct conf_push *s, const char *prefix, const char *name,
                           int64_t app_id, int64_t received_at)
{
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s-%s", prefix, name);
    s->push.id = s->id;
    s->push.event = "pushCandidate";
    s->push.data = &s->c;
    s->c.application_id = (struct eb_i64){app_id, 1};
    s->c.candidate_id = (struct eb_i64){77, 1};
    s->c.name = "张三";
    s->c.archived = EB_BOOL_UNSET;
    s->rec.push_id = s->id;
    s->rec.event = "pushCandidate";
    s->rec.received_at_ms = received_at;
    s->rec.application_id = app_id;
    s->rec.has_application_id = 1;
    s->rec.payload = "<pushCandidate/>";
    s->rec.payload_len = strlen(s->rec.payload);
    s->rec.raw = "RAW";
    s->rec.raw_len = 3;
    s->rec.outcome = EB_OUTCOME_STORED;
}

/* The recorded outcome of id (-1 when it has no row), read in a transaction of its own. */
static int conf_outcome(struct eb_adapter *a, const char *id, char *message, size_t n)
{
    struct eb_log_state st = {0};
    struct eb_err err;
    if (eb_adapter_begin(a, &err) || eb_adapter_log_get(a, id, &st, &err)) {
        fprintf(stderr, "conformance: reading %s: %s\n", id, err.msg);
        eb_adapter_rollback(a);
        return -2;
    }
    eb_adapter_rollback(a);
    if (message)
        snprintf(message, n, "%s", st.found ? st.message : "");
    return st.found ? (int)st.outcome : -1;
}

/* log_put and log_get: the claim writes over nothing or a "failed" row only. */
static void conf_log(struct eb_adapter *a, const char *prefix)
{
    struct conf_push s, f;
    struct eb_log_state st;
    struct eb_err err;
    char msg[256];
    int written = -1;
    conf_push_init(&s, prefix, "log-1", 1, 1700000000100);
    conf_push_init(&f, prefix, "log-2", 2, 1700000000200);
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_in_transaction(a));
    CHECK(eb_adapter_log_get(a, s.id, &st, &err) == EB_OK && !st.found);
    CHECK(eb_adapter_log_put(a, &s.rec, EB_OUTCOME_STORED, s.rec.received_at_ms, 1, &written,
                             &err) == EB_OK &&
          written == 1);
    CHECK(eb_adapter_log_get(a, s.id, &st, &err) == EB_OK && st.found);
    CHECK(st.outcome == EB_OUTCOME_STORED);
    s.rec.message = "must not replace";
    CHECK(eb_adapter_log_put(a, &s.rec, EB_OUTCOME_REJECTED, s.rec.received_at_ms, 1, &written,
                             &err) == EB_OK &&
          written == 0);
    /* a failed row, then a claim over it, then an overwrite */
    f.rec.message = "database unavailable";
    CHECK(eb_adapter_log_put(a, &f.rec, EB_OUTCOME_FAILED, f.rec.received_at_ms, 0, NULL, &err) ==
          EB_OK);
    CHECK(eb_adapter_log_get(a, f.id, &st, &err) == EB_OK && st.found);
    CHECK(st.outcome == EB_OUTCOME_FAILED);
    CHECK_STR(st.message, "database unavailable");
    f.rec.message = NULL;
    CHECK(eb_adapter_log_put(a, &f.rec, EB_OUTCOME_STORED, f.rec.received_at_ms, 1, &written,
                             &err) == EB_OK &&
          written == 1);
    CHECK(eb_adapter_commit(a, &err) == EB_OK);
    CHECK(!eb_adapter_in_transaction(a));
    CHECK(conf_outcome(a, s.id, msg, sizeof msg) == EB_OUTCOME_STORED);
    CHECK_STR(msg, "");
    CHECK(conf_outcome(a, f.id, msg, sizeof msg) == EB_OUTCOME_STORED);
    CHECK_STR(msg, "");
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    f.rec.message = "data.birthYear must be a number";
    CHECK(eb_adapter_log_put(a, &f.rec, EB_OUTCOME_REJECTED, f.rec.received_at_ms, 0, &written,
                             &err) == EB_OK &&
          written == 1);
    CHECK(eb_adapter_commit(a, &err) == EB_OK);
    CHECK(conf_outcome(a, f.id, msg, sizeof msg) == EB_OUTCOME_REJECTED);
    CHECK_STR(msg, "data.birthYear must be a number");
}

/* A rollback leaves nothing; a savepoint rolled back takes only what followed it. */
static void conf_rollback(struct eb_adapter *a, const char *prefix)
{
    const struct eb_adapter_methods *m = a->m;
    struct conf_push s[4];
    struct eb_err err;
    const char *names[4] = {"rb-gone", "sp-kept", "sp-undone", "sp-released"};
    for (int i = 0; i < 4; i++)
        conf_push_init(&s[i], prefix, names[i], 10 + i, 1700000000300 + i);
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_log_put(a, &s[0].rec, EB_OUTCOME_STORED, 1, 0, NULL, &err) == EB_OK);
    eb_adapter_rollback(a);
    CHECK(!eb_adapter_in_transaction(a));
    CHECK(conf_outcome(a, s[0].id, NULL, 0) == -1);
    if (!m->savepoint)
        return;
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_log_put(a, &s[1].rec, EB_OUTCOME_STORED, 1, 0, NULL, &err) == EB_OK);
    CHECK(eb_adapter_savepoint(a, &err) == EB_OK);
    CHECK(eb_adapter_log_put(a, &s[2].rec, EB_OUTCOME_STORED, 1, 0, NULL, &err) == EB_OK);
    CHECK(eb_adapter_rollback_to(a, &err) == EB_OK);
    CHECK(eb_adapter_in_transaction(a));
    CHECK(eb_adapter_savepoint(a, &err) == EB_OK);
    CHECK(eb_adapter_log_put(a, &s[3].rec, EB_OUTCOME_STORED, 1, 0, NULL, &err) == EB_OK);
    CHECK(eb_adapter_release(a, &err) == EB_OK);
    CHECK(eb_adapter_commit(a, &err) == EB_OK);
    CHECK(conf_outcome(a, s[1].id, NULL, 0) == EB_OUTCOME_STORED);
    CHECK(conf_outcome(a, s[2].id, NULL, 0) == -1);
    CHECK(conf_outcome(a, s[3].id, NULL, 0) == EB_OUTCOME_STORED);
}

/* candidate_write replaces, candidate_last names the push that wrote the rows. */
static void conf_candidate(struct eb_adapter *a, const char *prefix, int64_t app)
{
    struct conf_push s1, s2;
    struct eb_candidate_last last;
    struct eb_err err;
    conf_push_init(&s1, prefix, "cand-1", app, 1700000001000);
    conf_push_init(&s2, prefix, "cand-2", app, 1700000002000);
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_candidate_last(a, app, &last, &err) == EB_OK && !last.found);
    free(last.push_id);
    CHECK(eb_adapter_candidate_write(a, &s1.push, s1.id, s1.rec.received_at_ms, &err) == EB_OK);
    CHECK(eb_adapter_log_put(a, &s1.rec, EB_OUTCOME_STORED, s1.rec.received_at_ms, 0, NULL, &err) ==
          EB_OK);
    CHECK(eb_adapter_commit(a, &err) == EB_OK);
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_candidate_last(a, app, &last, &err) == EB_OK && last.found);
    CHECK(last.received_at_ms == 1700000001000);
    CHECK_STR(last.push_id, s1.id);
    free(last.push_id);
    s2.c.name = "李四";
    CHECK(eb_adapter_candidate_write(a, &s2.push, s2.id, s2.rec.received_at_ms, &err) == EB_OK);
    CHECK(eb_adapter_log_put(a, &s2.rec, EB_OUTCOME_STORED, s2.rec.received_at_ms, 0, NULL, &err) ==
          EB_OK);
    CHECK(eb_adapter_candidate_last(a, app, &last, &err) == EB_OK && last.found);
    CHECK_STR(last.push_id, s2.id);
    free(last.push_id);
    CHECK(eb_adapter_commit(a, &err) == EB_OK);
}

/* An interview event's rows: created, replaced, deleted, and an unknown event_id deleted. */
static void conf_interview(struct eb_adapter *a, const char *prefix)
{
    const struct eb_adapter_methods *m = a->m;
    struct eb_err err;
    char id[96], other[96];
    int64_t apps[1] = {4242};
    snprintf(id, sizeof id, "%s-itv", prefix);
    snprintf(other, sizeof other, "%s-itv-unknown", prefix);
    struct eb_interview iv = {.event_id = id, .application_ids = apps, .application_ids_n = 1};
    struct eb_interview_event ev = {.kind = EB_INTERVIEW_CREATE,
                                    .event = "createInterviewsInfo",
                                    .interviews = &iv,
                                    .interviews_n = 1};
    if (!m->interview_apply)
        return;
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    eb_rc rc = eb_adapter_interview_apply(a, &ev, "p-itv", 1700000003000, &err);
    if (rc)
        fprintf(stderr, "conformance: interview_apply: %s\n", err.msg);
    CHECK(rc == EB_OK);
    CHECK(eb_adapter_commit(a, &err) == EB_OK);
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    ev.kind = EB_INTERVIEW_UPDATE;
    ev.event = "updateInterviewsInfo";
    CHECK(eb_adapter_interview_apply(a, &ev, "p-itv-2", 1700000003100, &err) == EB_OK);
    ev.kind = EB_INTERVIEW_DELETE;
    ev.event = "deleteInterviewsInfo";
    CHECK(eb_adapter_interview_apply(a, &ev, "p-itv-3", 1700000003200, &err) == EB_OK);
    iv.event_id = other;
    CHECK(eb_adapter_interview_apply(a, &ev, "p-itv-4", 1700000003300, &err) == EB_OK);
    CHECK(eb_adapter_commit(a, &err) == EB_OK);
}

/* The bridge's rules over the adapter, end to end. */
static void conf_rules(struct eb_adapter *a, const char *prefix, int64_t app)
{
    struct conf_push s, old, bad;
    struct eb_stored out;
    struct eb_err err;
    conf_push_init(&s, prefix, "rule-new", app, 1700000005000);
    conf_push_init(&old, prefix, "rule-old", app, 1700000004000);
    conf_push_init(&bad, prefix, "rule-bad", 0, 1700000004500);
    CHECK(eb_bridge_store_push(a, &s.push, &s.rec, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    CHECK(eb_bridge_store_push(a, &s.push, &s.rec, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 1);

    bad.rec.outcome = EB_OUTCOME_REJECTED;
    bad.rec.message = "data.applicationId is required";
    bad.rec.has_application_id = 0;
    CHECK(eb_bridge_store_push(a, NULL, &bad.rec, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_REJECTED && out.duplicate == 0);
    CHECK_STR(out.message, "data.applicationId is required");
    bad.rec.message = "another reason";
    CHECK(eb_bridge_store_push(a, NULL, &bad.rec, &out, &err) == EB_OK);
    CHECK(out.duplicate == 1);
    CHECK_STR(out.message, "data.applicationId is required");

    /* failed, then the retry stores over it; a failure never overwrites the stored outcome */
    old.rec.message = "database unavailable, push not stored; retry later";
    old.rec.outcome = EB_OUTCOME_FAILED;
    CHECK(eb_bridge_log_failure(a, &old.rec, &err) == EB_OK);
    CHECK(conf_outcome(a, old.id, NULL, 0) == EB_OUTCOME_FAILED);
    conf_push_init(&old, prefix, "rule-old", app, 1700000004000);
    CHECK(eb_bridge_store_push(a, &old.push, &old.rec, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    old.rec.outcome = EB_OUTCOME_FAILED;
    CHECK(eb_bridge_log_failure(a, &old.rec, &err) == EB_OK);
    CHECK(conf_outcome(a, old.id, NULL, 0) == EB_OUTCOME_STORED);

    /* replay (the live path let the older push, stored last, write the rows): the newer push
     * is stored again, then the older one is superseded by it and writes nothing */
    conf_push_init(&s, prefix, "rule-new", app, 1700000005000);
    CHECK(eb_bridge_replay_push(a, &s.push, &s.rec, &out, &err) == EB_OK);
    CHECK(out.duplicate == 0 && out.outcome == EB_OUTCOME_STORED);
    conf_push_init(&old, prefix, "rule-old", app, 1700000004000);
    CHECK(eb_bridge_replay_push(a, &old.push, &old.rec, &out, &err) == EB_OK);
    CHECK(out.duplicate == 1 && out.outcome == EB_OUTCOME_STORED);
    struct eb_candidate_last last = {0};
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_candidate_last(a, app, &last, &err) == EB_OK && last.found);
    CHECK_STR(last.push_id, s.id);
    free(last.push_id);
    eb_adapter_rollback(a);
}

/* The rows of the attachment queue of application_id, in id order (at most 8 kept). */
struct conf_att {
    int n;
    int64_t id[8];
    int status[8];
    char field[8][64];
    char url[8][96];
    int64_t created_ms[8], expires_ms[8];
};

static int conf_att_keep(void *user, const struct eb_att_row *r)
{
    struct conf_att *c = user;
    if (c->n < 8) {
        c->id[c->n] = r->id;
        c->status[c->n] = (int)r->status;
        snprintf(c->field[c->n], sizeof c->field[c->n], "%s", r->field ? r->field : "");
        snprintf(c->url[c->n], sizeof c->url[c->n], "%s", r->url ? r->url : "");
        c->created_ms[c->n] = r->created_ms;
        c->expires_ms[c->n] = r->expires_ms;
    }
    c->n++;
    return 0;
}

static struct conf_att conf_att_rows(struct eb_adapter *a, int64_t app)
{
    struct conf_att c = {0};
    struct eb_att_filter f = {.status = -1, .application_id = app, .has_application_id = 1};
    struct eb_err err;
    CHECK(eb_adapter_att_list(a, &f, conf_att_keep, &c, &err) == EB_OK);
    return c;
}

/* The attachment queue (version 4): att_enqueue and att_requeue inside the caller's
 * transaction (a rollback leaves nothing; a row already queued is kept as it is), and the
 * bridge queuing a stored push's links in the push's transaction only when queue_links is set,
 * replay's re-queue of a link that is not stored. A version-2 adapter has no queue: the same
 * pushes are stored and nothing is queued. */
static void conf_queue(struct eb_adapter *a, const char *prefix, int64_t app)
{
    struct conf_push s;
    struct eb_stored out;
    struct eb_err err;
    if (!eb_adapter_has_queue(a)) {
        CHECK(a->m->version == 2 || !a->m->att_enqueue);
        a->queue_links = 1;
        conf_push_init(&s, prefix, "att-none", app, 1700000006000);
        s.c.resume_url = "https://cdn.mokahr.com/r.pdf";
        CHECK(eb_bridge_store_push(a, &s.push, &s.rec, &out, &err) == EB_OK);
        CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
        CHECK(eb_adapter_att_list(a, NULL, conf_att_keep, NULL, &err) == EB_ERR_INTERNAL);
        a->queue_links = 0;
        return;
    }
    char pid[96];
    snprintf(pid, sizeof pid, "%s-att-prim", prefix);
    struct eb_att_link links[2] = {
        {"data.resumeUrl", "https://cdn.mokahr.com/r.pdf?x=1", 28, 1700000099000},
        {"data.portraitUrl", "https://cdn.mokahr.com/p.jpg", 28, 1700000098000},
    };
    /* rolled back: nothing */
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_att_enqueue(a, pid, app, links, 2, 1, &err) == EB_OK);
    eb_adapter_rollback(a);
    CHECK(conf_att_rows(a, app).n == 0);
    /* committed: two pending rows, the URL as long as url_len says */
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_att_enqueue(a, pid, app, links, 2, 1, &err) == EB_OK);
    CHECK(eb_adapter_commit(a, &err) == EB_OK);
    struct conf_att c = conf_att_rows(a, app);
    CHECK(c.n == 2 && c.status[0] == EB_ATT_PENDING && c.status[1] == EB_ATT_PENDING);
    CHECK_STR(c.field[0], "data.resumeUrl");
    CHECK_STR(c.url[0], "https://cdn.mokahr.com/r.pdf");
    CHECK(c.created_ms[0] == 1 && c.expires_ms[0] == 1700000099000);
    CHECK_STR(c.url[1], "https://cdn.mokahr.com/p.jpg");
    /* queued again (a replay): the rows are kept as they are */
    links[1].url = "https://cdn.mokahr.com/other.jpg";
    links[1].url_len = strlen(links[1].url);
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_att_enqueue(a, pid, app, links, 2, 2, &err) == EB_OK);
    CHECK(eb_adapter_commit(a, &err) == EB_OK);
    c = conf_att_rows(a, app);
    CHECK(c.n == 2);
    CHECK_STR(c.url[1], "https://cdn.mokahr.com/p.jpg");
    /* one refused (claimed as due at 1 ms: only rows this suite queues are that old), then
     * requeued: pending again, due at the requeue's time */
    struct eb_att_claim cl;
    int found = 0, mine = 0;
    struct eb_att_result refused = {.status = EB_ATT_REFUSED, .error = "not allowed"};
    while (eb_adapter_att_claim(a, "conf", 1, 60000, &cl, &found, &err) == EB_OK && found) {
        CHECK(eb_adapter_att_finish(a, cl.id, "conf", cl.attempt, &refused, &err) == EB_OK);
        mine += cl.id == c.id[0] || cl.id == c.id[1];
    }
    CHECK(mine == 2);
    CHECK(conf_att_rows(a, app).status[0] == EB_ATT_REFUSED);
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_att_requeue(a, pid, 3, &err) == EB_OK);
    eb_adapter_rollback(a);
    CHECK(conf_att_rows(a, app).status[0] == EB_ATT_REFUSED);
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_att_requeue(a, pid, 3, &err) == EB_OK);
    CHECK(eb_adapter_commit(a, &err) == EB_OK);
    c = conf_att_rows(a, app);
    CHECK(c.n == 2 && c.status[0] == EB_ATT_PENDING && c.status[1] == EB_ATT_PENDING);
    while (eb_adapter_att_claim(a, "conf", 3, 60000, &cl, &found, &err) == EB_OK && found)
        CHECK(eb_adapter_att_finish(a, cl.id, "conf", cl.attempt, &refused, &err) == EB_OK);

    /* through the bridge: nothing without queue_links; with it, the stored push's links, once */
    int64_t app2 = app + 1;
    conf_push_init(&s, prefix, "att-off", app2, 1700000006000);
    s.c.resume_url = "https://cdn.mokahr.com/r.pdf";
    s.c.portrait_url = "https://cdn.mokahr.com/p.jpg";
    CHECK(eb_bridge_store_push(a, &s.push, &s.rec, &out, &err) == EB_OK);
    CHECK(conf_att_rows(a, app2).n == 0);
    a->queue_links = 1;
    conf_push_init(&s, prefix, "att-on", app2, 1700000007000);
    s.c.resume_url = "https://cdn.mokahr.com/r.pdf";
    s.c.portrait_url = "https://cdn.mokahr.com/p.jpg";
    CHECK(eb_bridge_store_push(a, &s.push, &s.rec, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    CHECK(eb_bridge_store_push(a, &s.push, &s.rec, &out, &err) == EB_OK && out.duplicate);
    c = conf_att_rows(a, app2);
    CHECK(c.n == 2);
    CHECK_STR(c.field[0], "data.resumeUrl");
    CHECK_STR(c.field[1], "data.portraitUrl");
    CHECK(c.created_ms[0] == 1700000007000 && c.expires_ms[1] == 1700000007000 + 3600000);
    /* replay: the links are queued again where they are not stored */
    while (eb_adapter_att_claim(a, "conf", 1700000007000, 60000, &cl, &found, &err) == EB_OK &&
           found)
        CHECK(eb_adapter_att_finish(a, cl.id, "conf", cl.attempt, &refused, &err) == EB_OK);
    CHECK(conf_att_rows(a, app2).status[0] == EB_ATT_REFUSED);
    CHECK(eb_bridge_replay_push(a, &s.push, &s.rec, &out, &err) == EB_OK);
    CHECK(out.outcome == EB_OUTCOME_STORED && out.duplicate == 0);
    c = conf_att_rows(a, app2);
    CHECK(c.n == 2 && c.status[0] == EB_ATT_PENDING && c.status[1] == EB_ATT_PENDING);
    while (eb_adapter_att_claim(a, "conf", eb_now_ms(), 60000, &cl, &found, &err) == EB_OK && found)
        CHECK(eb_adapter_att_finish(a, cl.id, "conf", cl.attempt, &refused, &err) == EB_OK);
    a->queue_links = 0;
}

/* The whole suite on a (app: an applicationId no other run uses). */
static void conformance_run(struct eb_adapter *a, const char *prefix, int64_t app)
{
    const struct eb_adapter_methods *m = a->m;
    CHECK(m->version >= 2 && m->version <= 4); /* adapter.h: what each version adds */
    CHECK(m->begin && m->commit && m->rollback && m->in_transaction && m->log_get && m->log_put &&
          m->candidate_write && m->candidate_last);
    CHECK(!m->savepoint == !m->release && !m->savepoint == !m->rollback_to);
    conf_log(a, prefix);
    conf_rollback(a, prefix);
    conf_candidate(a, prefix, app);
    conf_interview(a, prefix);
    conf_rules(a, prefix, app + 1);
    conf_queue(a, prefix, app + 2);
}

#endif

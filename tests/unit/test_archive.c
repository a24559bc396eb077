/* Unit tests of the archive's rules (archive/policy.h: the allow list, the address check, the
 * backoff, the URL shown in logs), the record's download links (candidate/links.h) and the
 * attachment queue of the SQLite adapter (queued by the bridge in the push's transaction only
 * when asked, each URL as sent, a link that cannot be written failing its whole push,
 * claimed under a lease, chunks, finish by the lease holder only, replay's requeue). The
 * PostgreSQL queue is exercised by tests/integration/test_archive.py (two replicas). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "archive/policy.h"
#include "candidate/links.h"
#include "check.h"
#include "sample_push.h"
#include "util/clock.h"

static enum eb_allow_match match(const char *allow, const char *url)
{
    struct eb_allow_list l;
    struct eb_err err;
    if (eb_allow_parse(allow, &l, &err)) {
        fprintf(stderr, "parse %s: %s\n", allow, err.msg);
        return (enum eb_allow_match) - 1;
    }
    return eb_allow_match_url(&l, url, NULL, 0, NULL);
}

static void test_allow(void)
{
    const char *def = EB_ARCHIVE_DEFAULT_ALLOW;
    CHECK(match(def, "https://moka-test.oss-cn-beijing.aliyuncs.com/x.doc?Expires=1") ==
          EB_ALLOW_WILDCARD);
    CHECK(match(def, "https://cdn.mokahr.com/a.pdf") == EB_ALLOW_WILDCARD);
    CHECK(match(def, "https://CDN.MokaHR.com:443/a.pdf") == EB_ALLOW_WILDCARD);
    CHECK(match(def, "https://mokahr.com/a.pdf") == EB_ALLOW_NONE); /* not a subdomain */
    CHECK(match(def, "https://evilmokahr.com/a") == EB_ALLOW_NONE); /* not a label boundary */
    CHECK(match(def, "https://cdn.mokahr.com.evil.io/a") == EB_ALLOW_NONE);
    CHECK(match(def, "http://cdn.mokahr.com/a.pdf") == EB_ALLOW_NONE);   /* scheme */
    CHECK(match(def, "https://cdn.mokahr.com:8443/a") == EB_ALLOW_NONE); /* port */
    CHECK(match(def, "ftp://cdn.mokahr.com/a") == EB_ALLOW_NONE);
    CHECK(match(def, "https://cdn.mokahr.com@127.0.0.1/a") == EB_ALLOW_NONE);
    CHECK(match(def, "not a url") == EB_ALLOW_NONE);
    CHECK(match("https://localhost:8443", "https://localhost:8443/a") == EB_ALLOW_LITERAL);
    CHECK(match("https://localhost:8443", "https://localhost/a") == EB_ALLOW_NONE);
    CHECK(match("http://10.0.0.5", "http://10.0.0.5/a") == EB_ALLOW_LITERAL);
    CHECK(match("https://[::1]:9", "https://[::1]:9/a") == EB_ALLOW_LITERAL);
    CHECK(match("https://*.0.0.1", "https://127.0.0.1/a") == EB_ALLOW_NONE); /* IPs: literal */
    CHECK(match("https://files.example.com,https://*.example.com", "https://files.example.com/x") ==
          EB_ALLOW_LITERAL);
    struct eb_allow_list l;
    struct eb_err err;
    const char *bad[] = {"cdn.mokahr.com",     "https://*.com",     "https://*",
                         "https://a.com/path", "https://a.com?x=1", "https://u@a.com",
                         "ftp://a.com",        "https://a.*.com",   "https://a.com:99999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb_rc rc = eb_allow_parse(bad[i], &l, &err);
        CHECK(rc == EB_ERR_CONFIG);
        if (rc != EB_ERR_CONFIG)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
    }
    CHECK(eb_allow_parse(" https://a.example.com , http://b.example.com:8080 ", &l, &err) ==
              EB_OK &&
          l.n == 2 && l.p[1].port == 8080);
}

static int v4(const char *a)
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    inet_pton(AF_INET, a, &in.sin_addr);
    return eb_addr_is_public((struct sockaddr *)&in);
}

static int v6(const char *a)
{
    struct sockaddr_in6 in = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, a, &in.sin6_addr);
    return eb_addr_is_public((struct sockaddr *)&in);
}

static void test_addresses(void)
{
    CHECK(v4("8.8.8.8") && v4("47.95.1.2") && v4("172.32.0.1") && v4("100.128.0.1"));
    CHECK(!v4("127.0.0.1") && !v4("127.255.0.9") && !v4("10.1.2.3") && !v4("172.16.0.1") &&
          !v4("172.31.255.255") && !v4("192.168.1.1") && !v4("169.254.169.254") && !v4("0.0.0.0") &&
          !v4("100.64.0.1") && !v4("224.0.0.1") && !v4("255.255.255.255"));
    CHECK(v6("2400:3200::1") && v6("2001:4860::8888"));
    CHECK(!v6("::1") && !v6("::") && !v6("fe80::1") && !v6("fd00::1") && !v6("fc00::5") &&
          !v6("ff02::1") && !v6("::ffff:127.0.0.1") && !v6("::ffff:169.254.169.254") &&
          !v6("64:ff9b::10.0.0.1") && !v6("2001:db8::1"));
    CHECK(v6("::ffff:8.8.8.8"));
}

static void test_url_safe_and_backoff(void)
{
    char out[256];
    eb_archive_url_safe("https://a.aliyuncs.com/x.doc?OSSAccessKeyId=K&Signature=S#f", out,
                        sizeof out);
    CHECK_STR(out, "https://a.aliyuncs.com/x.doc");
    eb_archive_url_safe("https://user:pw@a.com/x?y", out, sizeof out);
    CHECK_STR(out, "https://a.com/x");
    eb_archive_url_safe("https://a.com/p@q", out, sizeof out);
    CHECK_STR(out, "https://a.com/p@q");
    CHECK(eb_archive_backoff_ms(1000, 1) == 11000);
    CHECK(eb_archive_backoff_ms(1000, 2) == 21000);
    CHECK(eb_archive_backoff_ms(0, 50) == 30 * 60 * 1000);
    CHECK(eb_link_expires_ms("https://a/x?OSSAccessKeyId=K&Expires=1540374892&Signature=S", 0,
                             1540000000000LL) == 1540374892000LL);
    CHECK(eb_link_expires_ms("https://a/x?Expires=9999999999", 0, 1000) ==
          1000 + 7LL * 24 * 3600 * 1000); /* not believed beyond a week */
    CHECK(eb_link_expires_ms("https://a/x?Expires=12x", 3600000, 1000) == 3601000);
    CHECK(eb_link_expires_ms("https://a/x", 0, 1000) == 1000 + 48LL * 3600 * 1000);
}

struct seen {
    char fields[16][EB_LINK_FIELD_MAX];
    int64_t life[16];
    int n;
};

static int collect(void *user, const struct eb_link_ref *l)
{
    struct seen *s = user;
    if (s->n < 16) {
        snprintf(s->fields[s->n], sizeof s->fields[0], "%s", l->field);
        s->life[s->n++] = l->lifetime_ms;
    }
    return 0;
}

/* Links of the sample plus every documented kind. */
struct linked {
    struct sample s;
    struct eb_attachment att[2];
    struct eb_exam_attachment exam[1];
    struct eb_offer_attachment offer_att[1];
    struct eb_link offer_link;
};

static void linked_init(struct linked *L, const char *push_id, int64_t app)
{
    sample_init(&L->s, push_id, app, 1, 0);
    struct eb_candidate *c = &L->s.c;
    c->resume_url = "https://moka.oss-cn-beijing.aliyuncs.com/r.doc?Expires=1&Signature=S";
    c->portrait_url = "";
    c->interview_feedback_url = "https://cdn.mokahr.com/f.pdf";
    L->att[0] = (struct eb_attachment){.url = "https://cdn.mokahr.com/a0.pdf"};
    L->att[1] = (struct eb_attachment){.url = NULL};
    c->attachments = L->att;
    c->attachments_n = 2;
    L->exam[0] = (struct eb_exam_attachment){.url = "https://cdn.mokahr.com/e.pdf"};
    c->exam_attachments = L->exam;
    c->exam_attachments_n = 1;
    L->offer_att[0] = (struct eb_offer_attachment){.download_url = "https://cdn.mokahr.com/o"};
    L->s.offer.attachment_list = L->offer_att;
    L->s.offer.attachment_list_n = 1;
    L->offer_link.url = "https://cdn.mokahr.com/oa";
    c->offer_attachment = &L->offer_link;
    c->custom_attachment_list =
        "{\"customUpload9\":[{\"downloadUrl\":\"https://cdn.mokahr.com/c\"},"
        "{\"attachmentName\":\"no url\"}],\"other\":3}";
}

static void test_links(void)
{
    struct linked L;
    struct seen s = {0};
    linked_init(&L, "links-1", 1);
    CHECK(eb_links_each(&L.s.push, collect, &s) == 0);
    CHECK(s.n == 7);
    CHECK_STR(s.fields[0], "data.resumeUrl");
    CHECK(s.life[0] == 48LL * 3600 * 1000);
    CHECK_STR(s.fields[1], "data.interviewFeedbackUrl");
    CHECK(s.life[1] == 3600LL * 1000);
    CHECK_STR(s.fields[2], "data.customAttachmentList.customUpload9[0].downloadUrl");
    CHECK(s.life[2] == 24LL * 3600 * 1000);
    CHECK_STR(s.fields[3], "data.offer.attachmentList[0].downloadUrl");
    CHECK_STR(s.fields[4], "data.attachments[0].url");
    CHECK(s.life[4] == 0);
    CHECK_STR(s.fields[5], "data.offerAttachment.url");
    CHECK_STR(s.fields[6], "data.examAttachments[0].url");
    L.s.c.custom_attachment_list = "not json {";
    s.n = 0;
    CHECK(eb_links_each(&L.s.push, collect, &s) == 0 && s.n == 6);
}

/* ---- the SQLite queue --------------------------------------------------------------------- */

struct rows {
    int n;
    int status[16];
    int attempts[16];
    int64_t id[16];
};

static int keep(void *user, const struct eb_att_row *r)
{
    struct rows *rs = user;
    if (rs->n < 16) {
        rs->status[rs->n] = r->status;
        rs->attempts[rs->n] = r->attempts;
        rs->id[rs->n++] = r->id;
    }
    return 0;
}

static struct rows list(struct eb_adapter *a, int status)
{
    struct rows rs = {0};
    struct eb_att_filter f = {.status = status};
    struct eb_err err;
    CHECK(eb_adapter_att_list(a, &f, keep, &rs, &err) == EB_OK);
    return rs;
}

/* The URL of the row of one field (att_list). */
struct url_of {
    const char *field;
    char url[128];
};

static int find_url(void *user, const struct eb_att_row *r)
{
    struct url_of *u = user;
    if (r->field && !strcmp(r->field, u->field))
        snprintf(u->url, sizeof u->url, "%s", r->url ? r->url : "");
    return 0;
}

/* The rows of application_id. */
static int count_app(struct eb_adapter *a, int64_t app)
{
    struct rows rs = {0};
    struct eb_att_filter f = {.status = -1, .application_id = app, .has_application_id = 1};
    struct eb_err err;
    CHECK(eb_adapter_att_list(a, &f, keep, &rs, &err) == EB_OK);
    return rs.n;
}

struct got {
    char buf[64];
    size_t len;
    int calls;
};

static int gather(void *user, const void *data, size_t len)
{
    struct got *g = user;
    if (g->len + len > sizeof g->buf)
        return 1;
    memcpy(g->buf + g->len, data, len);
    g->len += len;
    g->calls++;
    return 0;
}

static void test_sqlite_queue(void)
{
    char path[] = "/tmp/eb-test-archive-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "sqlite:%s", path);
    struct eb_adapter *a = NULL, *b = NULL;
    struct eb_err err;
    struct eb_stored out;
    CHECK(eb_adapter_open(url, &a, &err) == EB_OK);
    CHECK(eb_adapter_open(url, &b, &err) == EB_OK);
    if (!a || !b)
        goto done;
    CHECK(eb_adapter_has_queue(a));

    /* queue_links off: nothing queued */
    struct linked L;
    linked_init(&L, "q-off", 71);
    CHECK(store(a, &L.s, 1000, &out) == EB_OK);
    CHECK(list(a, -1).n == 0);

    /* on: 7 pending rows in the push's transaction; a duplicate push adds none */
    a->queue_links = 1;
    linked_init(&L, "q-on", 72);
    CHECK(store(a, &L.s, 2000, &out) == EB_OK);
    CHECK(store(a, &L.s, 2000, &out) == EB_OK && out.duplicate);
    struct rows rs = list(a, EB_ATT_PENDING);
    CHECK(rs.n == 7);
    /* each URL as sent, also those read from customAttachmentList's JSON text */
    struct url_of u = {.field = "data.customAttachmentList.customUpload9[0].downloadUrl"};
    struct eb_att_filter any = {.status = -1};
    CHECK(eb_adapter_att_list(a, &any, find_url, &u, &err) == EB_OK);
    CHECK_STR(u.url, "https://cdn.mokahr.com/c");
    u = (struct url_of){.field = "data.examAttachments[0].url"};
    CHECK(eb_adapter_att_list(a, &any, find_url, &u, &err) == EB_OK);
    CHECK_STR(u.url, "https://cdn.mokahr.com/e.pdf");

    /* claims: each row to one owner; a live lease is not claimed again */
    struct eb_att_claim c1, c2;
    int found = 0;
    int64_t now = eb_now_ms() + 1000;
    CHECK(eb_adapter_att_claim(a, "A", now, 60000, &c1, &found, &err) == EB_OK && found);
    CHECK(c1.attempt == 1 && c1.expires_ms == 1000); /* the resume's Expires=1 */
    CHECK_STR(c1.field, "data.resumeUrl");
    int claimed = 1;
    while (eb_adapter_att_claim(b, "B", now, 60000, &c2, &found, &err) == EB_OK && found) {
        CHECK(c2.id != c1.id);
        claimed++;
    }
    CHECK(claimed == 7);
    /* the lease lapses: claimable again, by someone else, as attempt 2 */
    CHECK(eb_adapter_att_claim(b, "B", now + 61000, 60000, &c2, &found, &err) == EB_OK && found);
    CHECK(c2.attempt == 2);
    int64_t id = c2.id;
    /* chunks of attempt 2; A (lease lost) cannot record its result */
    CHECK(eb_adapter_att_chunk(b, id, 2, 0, "hello ", 6, &err) == EB_OK);
    CHECK(eb_adapter_att_chunk(b, id, 2, 1, "world", 5, &err) == EB_OK);
    CHECK(eb_adapter_att_chunk(a, id, 1, 0, "stale", 5, &err) == EB_OK);
    struct eb_att_result r = {
        .status = EB_ATT_STORED,
        .size = 11,
        .sha256 = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
        .content_type = "text/plain",
        .file_name = "hw.txt",
        .in_db = 1};
    CHECK(eb_adapter_att_finish(a, id, "A", 1, &r, &err) == EB_OK);
    struct got g = {0};
    CHECK(eb_adapter_att_read(a, id, gather, &g, &err) == EB_ERR_INVALID); /* not stored */
    CHECK(eb_adapter_att_finish(b, id, "B", 2, &r, &err) == EB_OK);
    CHECK(eb_adapter_att_read(a, id, gather, &g, &err) == EB_OK);
    CHECK(g.len == 11 && g.calls == 2 && !memcmp(g.buf, "hello world", 11));
    /* a failed attempt keeps none of its chunks; pending with a time to retry */
    struct eb_att_claim c3;
    CHECK(eb_adapter_att_claim(a, "A", now + 200000, 60000, &c3, &found, &err) == EB_OK && found);
    CHECK(eb_adapter_att_chunk(a, c3.id, c3.attempt, 0, "part", 4, &err) == EB_OK);
    struct eb_att_result retry = {
        .status = EB_ATT_PENDING, .error = "HTTP 503", .next_ms = now + 999999};
    CHECK(eb_adapter_att_finish(a, c3.id, "A", c3.attempt, &retry, &err) == EB_OK);
    struct eb_att_result refused = {.status = EB_ATT_REFUSED, .error = "not allowed"};
    struct eb_att_claim c4;
    CHECK(eb_adapter_att_claim(a, "A", now + 200000, 60000, &c4, &found, &err) == EB_OK && found);
    CHECK(c4.id != c3.id);
    CHECK(eb_adapter_att_finish(a, c4.id, "A", c4.attempt, &refused, &err) == EB_OK);
    struct eb_att_stats st;
    CHECK(eb_adapter_att_stats(a, &st, &err) == EB_OK);
    CHECK(st.count[EB_ATT_STORED] == 1 && st.count[EB_ATT_REFUSED] == 1 &&
          st.count[EB_ATT_PENDING] == 5 && st.oldest_pending_ms == 2000);

    /* replay: the refused row goes back to pending; stored stays stored */
    struct eb_push_record rec = record("q-on", 72, 2000);
    CHECK(eb_bridge_replay_push(a, &L.s.push, &rec, &out, &err) == EB_OK);
    CHECK(eb_adapter_att_stats(a, &st, &err) == EB_OK);
    CHECK(st.count[EB_ATT_STORED] == 1 && st.count[EB_ATT_REFUSED] == 0 &&
          st.count[EB_ATT_PENDING] == 6);

    /* a link that cannot be written fails its push: neither the push nor its rows nor any of
     * its links are kept (one transaction); once it can be, the push stores them all */
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TRIGGER att_no BEFORE INSERT ON attachment WHEN NEW.field = "
                       "'data.examAttachments[0].url' BEGIN SELECT RAISE(ABORT, 'no'); END",
                       NULL, NULL, NULL) == SQLITE_OK);
    struct linked F;
    linked_init(&F, "q-fail", 73);
    CHECK(store(a, &F.s, 2500, &out) != EB_OK);
    struct eb_candidate_last last = {0};
    CHECK(eb_adapter_begin(a, &err) == EB_OK);
    CHECK(eb_adapter_candidate_last(a, 73, &last, &err) == EB_OK && !last.found);
    struct eb_log_state ls = {0};
    CHECK(eb_adapter_log_get(a, "q-fail", &ls, &err) == EB_OK && !ls.found);
    eb_adapter_rollback(a);
    free(last.push_id);
    CHECK(count_app(a, 73) == 0);
    CHECK(sqlite3_exec(db, "DROP TRIGGER att_no", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(store(a, &F.s, 2500, &out) == EB_OK && out.outcome == EB_OUTCOME_STORED);
    CHECK(count_app(a, 73) == 7);
done:
    eb_adapter_close(b);
    eb_adapter_close(a);
    char side[96];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

int main(void)
{
    test_allow();
    test_addresses();
    test_url_safe_and_backoff();
    test_links();
    test_sqlite_queue();
    return check_report("test_archive");
}

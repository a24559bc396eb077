/* Tests of store_interview_event in the SQLite adapter and of bridge/interview.c, on a temporary
 * file: the tables exist after open (also in a database made before them), a create event's
 * rows, idempotency by push id, an update replaces the interview's rows, a delete removes them
 * (an unknown event_id included), a rejected event is only logged, and the statement text of
 * adapters/interview_sql.c in both dialects. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "bridge/bridge.h"
#include "adapters/interview_sql.h"
#include "bridge/interview.h"
#include "candidate/interview.h"
#include "check.h"

static char dir[64];
static char db_path[128];
static char url[256];

static int64_t q_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t r = -998;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        int rc = sqlite3_step(st);
        r = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL
                ? sqlite3_column_int64(st, 0)
                : -999;
    } else {
        fprintf(stderr, "%s: %s\n", sql, db ? sqlite3_errmsg(db) : "no db");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return r;
}

static const char *q_text(const char *sql)
{
    static char buf[4][512];
    static int slot;
    char *out = buf[slot++ % 4];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    snprintf(out, 512, "(error)");
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(out, 512, "%s", t ? (const char *)t : "(null)");
        } else {
            snprintf(out, 512, "(none)");
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static struct eb_interview_person interviewers[2] = {
    {{200000217, 1}, "I1", "i1@example.com", "1", NULL, NULL, "https://i/1"},
    {{200000218, 1}, "I2", NULL, NULL, NULL, NULL, NULL},
};
static struct eb_interview_person interviewees[1] = {
    {{200006257, 1}, "E", "e@example.com", "2", "job-1", "java", "https://e/1"},
};
static int64_t app_ids[2] = {200006263, 200006264};

static void event(struct eb_interview_event *ev, struct eb_interview *iv, enum eb_interview_kind k,
                  const char *event_id)
{
    memset(ev, 0, sizeof *ev);
    memset(iv, 0, sizeof *iv);
    ev->kind = k;
    ev->event = k == EB_INTERVIEW_CREATE   ? "createInterviewsInfo"
                : k == EB_INTERVIEW_UPDATE ? "updateInterviewsInfo"
                                           : "deleteInterviewsInfo";
    ev->interview_type = (struct eb_i64){3, 1};
    ev->creator_id = "200000217";
    ev->interviews = iv;
    ev->interviews_n = 1;
    iv->event_id = event_id;
    iv->application_ids = app_ids;
    iv->application_ids_n = 2;
    iv->room_name = "Room A";
    iv->start_time = (struct eb_i64){1597392000000LL, 1};
    iv->interviewer_ids = "[200000217,200000218]";
    iv->interviewers = interviewers;
    iv->interviewers_n = 2;
    iv->interviewees = interviewees;
    iv->interviewees_n = 1;
}

static void record(struct eb_push_record *rec, const char *push_id, const char *ev)
{
    memset(rec, 0, sizeof *rec);
    rec->push_id = push_id;
    rec->event = ev;
    rec->triggered_at = "1505296287";
    rec->payload = "{}";
    rec->payload_len = 2;
    rec->raw = "{}";
    rec->raw_len = 2;
}

static void test_store(void)
{
    struct eb_adapter *a = NULL;
    struct eb_err err;
    struct eb_interview_event ev;
    struct eb_interview iv;
    struct eb_push_record rec;
    struct eb_answer ans;

    CHECK(eb_bridge_open(url, NULL, &a, &err) == EB_OK);
    CHECK(q_int("SELECT count(*) FROM sqlite_master WHERE name LIKE 'interview%' AND "
                "type = 'table'") == 4);

    event(&ev, &iv, EB_INTERVIEW_CREATE, "12345612");
    record(&rec, "itv-1", ev.event);
    eb_bridge_interview(a, &ev, &rec, &ans);
    CHECK(ans.ok && !ans.duplicate && ans.outcome == EB_OUTCOME_STORED);
    CHECK(q_int("SELECT count(*) FROM interview") == 1);
    CHECK_STR(q_text("SELECT last_push_id FROM interview WHERE event_id = '12345612'"), "itv-1");
    CHECK_STR(q_text("SELECT last_event FROM interview"), "createInterviewsInfo");
    CHECK(q_int("SELECT interview_type FROM interview") == 3);
    CHECK(q_int("SELECT start_time FROM interview") == 1597392000000LL);
    CHECK(q_int("SELECT end_time FROM interview") == -999);
    CHECK_STR(q_text("SELECT interviewer_ids FROM interview"), "[200000217,200000218]");
    CHECK(q_int("SELECT count(*) FROM interview_application WHERE event_id = '12345612'") == 2);
    CHECK(q_int("SELECT application_id FROM interview_application WHERE seq = 1") == 200006264);
    CHECK(q_int("SELECT count(*) FROM interview_interviewer") == 2);
    CHECK_STR(q_text("SELECT interviewer_url FROM interview_interviewer WHERE seq = 0"),
              "https://i/1");
    CHECK(q_int("SELECT candidate_id FROM interview_interviewee") == 200006257);
    CHECK_STR(q_text("SELECT outcome FROM push_log WHERE push_id = 'itv-1'"), "stored");
    CHECK_STR(q_text("SELECT event FROM push_log WHERE push_id = 'itv-1'"), "createInterviewsInfo");

    /* the same push id again: nothing written, the recorded outcome */
    iv.room_name = "Room B";
    eb_bridge_interview(a, &ev, &rec, &ans);
    CHECK(ans.ok && ans.duplicate);
    CHECK_STR(q_text("SELECT room_name FROM interview"), "Room A");

    /* an update replaces the rows */
    event(&ev, &iv, EB_INTERVIEW_UPDATE, "12345612");
    iv.room_name = "Room C";
    iv.interviewers_n = 1;
    iv.application_ids_n = 1;
    record(&rec, "itv-2", ev.event);
    eb_bridge_interview(a, &ev, &rec, &ans);
    CHECK(ans.ok && !ans.duplicate);
    CHECK_STR(q_text("SELECT room_name FROM interview"), "Room C");
    CHECK_STR(q_text("SELECT last_event FROM interview"), "updateInterviewsInfo");
    CHECK(q_int("SELECT count(*) FROM interview_interviewer") == 1);
    CHECK(q_int("SELECT count(*) FROM interview_application") == 1);

    /* another interview stays when the first is deleted */
    event(&ev, &iv, EB_INTERVIEW_CREATE, "other");
    record(&rec, "itv-3", ev.event);
    eb_bridge_interview(a, &ev, &rec, &ans);
    CHECK(ans.ok);
    event(&ev, &iv, EB_INTERVIEW_DELETE, "12345612");
    record(&rec, "itv-4", ev.event);
    eb_bridge_interview(a, &ev, &rec, &ans);
    CHECK(ans.ok);
    CHECK(q_int("SELECT count(*) FROM interview") == 1);
    CHECK_STR(q_text("SELECT event_id FROM interview"), "other");
    CHECK(q_int("SELECT count(*) FROM interview_application WHERE event_id = '12345612'") == 0);
    CHECK(q_int("SELECT count(*) FROM interview_interviewer WHERE event_id = '12345612'") == 0);
    CHECK(q_int("SELECT count(*) FROM interview_interviewee WHERE event_id = '12345612'") == 0);
    CHECK(q_int("SELECT count(*) FROM interview_application WHERE event_id = 'other'") == 2);
    /* deleting what is not there is fine */
    event(&ev, &iv, EB_INTERVIEW_DELETE, "never-created");
    record(&rec, "itv-5", ev.event);
    eb_bridge_interview(a, &ev, &rec, &ans);
    CHECK(ans.ok);

    /* a rejected event: logged only */
    record(&rec, "itv-6", "createInterviewsInfo");
    rec.message = "data.interviews: missing or empty";
    eb_bridge_interview(a, NULL, &rec, &ans);
    CHECK(!ans.ok && ans.outcome == EB_OUTCOME_REJECTED);
    CHECK_STR(ans.message, "data.interviews: missing or empty");
    CHECK_STR(q_text("SELECT outcome FROM push_log WHERE push_id = 'itv-6'"), "rejected");
    CHECK_STR(q_text("SELECT raw FROM push_log WHERE push_id = 'itv-6'"), "{}");
    CHECK(q_int("SELECT count(*) FROM interview") == 1);
    eb_bridge_close(a);

    /* a second open of the same file keeps the data (CREATE TABLE IF NOT EXISTS) */
    CHECK(eb_bridge_open(url, NULL, &a, &err) == EB_OK);
    CHECK(q_int("SELECT count(*) FROM interview") == 1);
    eb_bridge_close(a);
}

static void test_sql_text(void)
{
    struct eb_interview_sql s;
    struct eb_err err;
    CHECK(eb_interview_sql_build(&eb_sql_dialect_postgres, &s, &err) == EB_OK);
    CHECK(s.n_ddl == 5);
    CHECK(
        strstr(s.ddl[0], "CREATE TABLE IF NOT EXISTS \"interview\" (\"event_id\" TEXT NOT NULL") ==
        s.ddl[0]);
    CHECK(strstr(s.ddl[0], "\"start_time\" BIGINT") != NULL);
    CHECK(strstr(s.insert[EB_ITV_APPLICATION], "VALUES ($1, $2, $3)") != NULL);
    CHECK_STR(s.remove[EB_ITV_INTERVIEWEE],
              "DELETE FROM \"interview_interviewee\" WHERE \"event_id\" = $1");
    CHECK(s.n_columns[EB_ITV_INTERVIEW] == 21 && s.n_columns[EB_ITV_INTERVIEWEE] == 9);
    eb_interview_sql_free(&s);
    CHECK(eb_interview_sql_build(&eb_sql_dialect_sqlite, &s, &err) == EB_OK);
    CHECK(strstr(s.ddl[1], "WITHOUT ROWID") != NULL);
    CHECK(strstr(s.insert[EB_ITV_INTERVIEWER], "VALUES (?, ?, ?, ?, ?, ?, ?)") != NULL);
    eb_interview_sql_free(&s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/eb_test_itv_XXXXXX");
    if (!mkdtemp(dir))
        return 2;
    snprintf(db_path, sizeof db_path, "%s/x.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", db_path);
    test_store();
    test_sql_text();
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return check_report("test_interview_sqlite");
}

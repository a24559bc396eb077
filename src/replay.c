/* `ehrbridge replay` (see replay.h): reads push_log rows with one connection and re-stores them
 * with another, each through ingest -> bind -> map -> validate -> the bridge's replay. */
#include "replay.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapters/sqlgen.h"
#include "archive/archive.h"
#include "bind/bind.h"
#include "candidate/map.h"
#include "candidate/validate.h"
#include "ingest/ingest.h"
#include "ingest/json.h"
#include "bridge/bridge.h"
#include "mapping/mapping.h"
#include "util/arena.h"
#include "util/date.h"

/* --since/--until: the date grammar (util/date.h); a day or a time without zone is in the
 * EHR's time zone. 0 on success. */
static int parse_time(const char *s, int64_t *ms)
{
    return eb_date_parse_ms(s, ms);
}

int eb_replay_args(int *argc, char **argv, struct eb_replay_opts *o)
{
    int out = 0;
    memset(o, 0, sizeof *o);
    o->filter.outcome = -1;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < *argc ? argv[i + 1] : NULL;
        int takes = !strcmp(a, "--push-id") || !strcmp(a, "--outcome") || !strcmp(a, "--since") ||
                    !strcmp(a, "--until");
        if (takes && !v) {
            fprintf(stderr, "ehrbridge: replay: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--push-id")) {
            o->filter.push_id = v;
        } else if (!strcmp(a, "--outcome")) {
            if (!strcmp(v, "stored"))
                o->filter.outcome = EB_OUTCOME_STORED;
            else if (!strcmp(v, "rejected"))
                o->filter.outcome = EB_OUTCOME_REJECTED;
            else if (!strcmp(v, "failed"))
                o->filter.outcome = EB_OUTCOME_FAILED;
            else {
                fprintf(stderr,
                        "ehrbridge: replay: --outcome must be stored, rejected or failed "
                        "(got \"%s\")\n",
                        v);
                return 2;
            }
        } else if (!strcmp(a, "--since") || !strcmp(a, "--until")) {
            int64_t *t = a[2] == 's' ? &o->filter.from_ms : &o->filter.to_ms;
            *(a[2] == 's' ? &o->since : &o->until) = v; /* read again in the EHR's zone */
            if (parse_time(v, t)) {
                fprintf(stderr,
                        "ehrbridge: replay: %s: expected a date or time (yyyy-MM-dd, "
                        "yyyy-MM-ddTHH:mm[:ss][Z], Unix seconds (10 digits) or milliseconds "
                        "(13 digits)) (got \"%s\")\n",
                        a, v);
                return 2;
            }
        } else if (!strcmp(a, "--all")) {
            o->all = 1;
        } else if (!strcmp(a, "--dry-run")) {
            o->dry_run = 1;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        if (takes)
            i++;
    }
    *argc = out;
    if (!o->all && !o->filter.push_id && o->filter.outcome < 0 && !o->filter.from_ms &&
        !o->filter.to_ms) {
        fprintf(stderr, "ehrbridge: replay: say which pushes: --push-id, --outcome, --since, "
                        "--until, or --all\n");
        return 2;
    }
    return 0;
}

struct replay {
    struct eb_adapter *writer;          /* re-stores */
    struct eb_bind *bind;               /* the generated bindings */
    struct eb_arena *arena;             /* the current push's domain model */
    const struct eb_logged_push *row;   /* the current row */
    const struct eb_ingest_result *ing; /* its canonical form */
    int dry_run;
    unsigned stored, rejected, superseded, skipped, failed;
    struct eb_replay_result *res; /* eb_replay_row: the line goes here instead of stdout */
};

/* One line about the current push: printed, or kept in r->res. */
static void say(struct replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct replay *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (r->res)
        vsnprintf(r->res->line, sizeof r->res->line, fmt, ap);
    else
        vprintf(fmt, ap);
    va_end(ap);
}

static const char *verdict(const struct eb_stored *out, const struct eb_logged_push *row)
{
    if (out->duplicate)
        return "superseded by a later push (unchanged)";
    if (out->outcome == EB_OUTCOME_STORED)
        return row->outcome == EB_OUTCOME_STORED ? "stored (again)" : "stored";
    return "rejected";
}

/* The bound request: map, validate, re-store. */
static void on_push(void *user, const struct _ns1__pushCandidate *req, int *ok,
                    const char **message)
{
    struct replay *r = user;
    const struct eb_logged_push *row = r->row;
    struct eb_push p;
    struct eb_err err = {0};
    struct eb_stored out;
    eb_rc rc = eb_map_push(r->arena, req, r->ing->application_id != NULL, &p, &err);
    if (!rc && r->ing->refusal[0])
        rc = eb_err_set(&err, EB_ERR_INVALID, "%s", r->ing->refusal);
    if (!rc)
        rc = eb_validate_push(&p, &err);
    if (!rc && eb_ingest_copy_warnings(r->ing, r->arena, &p))
        rc = eb_err_set(&err, EB_ERR_NOMEM, "out of memory reading the record");
    if (!rc)
        rc = eb_validate_tolerate(r->arena, &p, &err);
    /* a push stored before keeps the warnings its request gave (values set aside at ingest are
     * not in the payload); one never stored gets those its payload gives */
    p.keep_warnings = row->outcome == EB_OUTCOME_STORED;
    struct eb_push_record rec = {.push_id = row->push_id,
                                 .event = row->event,
                                 .triggered_at = row->triggered_at,
                                 .received_at_ms = row->received_at_ms,
                                 .raw = row->raw,
                                 .raw_len = row->raw_len,
                                 .payload = r->ing->doc.data + r->ing->canon_off,
                                 .payload_len = r->ing->canon_len,
                                 .outcome = rc ? EB_OUTCOME_REJECTED : EB_OUTCOME_STORED,
                                 .message = rc ? err.msg : NULL};
    if (!rc) {
        rec.has_application_id = 1;
        rec.application_id = p.data->application_id.v;
        rec.has_candidate_id = p.data->candidate_id.set;
        rec.candidate_id = p.data->candidate_id.v;
    }
    *ok = 0;
    *message = NULL;
    if (r->dry_run) {
        say(r, "%s: would be %s%s%s\n", row->push_id, rc ? "rejected: " : "stored",
            rc ? err.msg : "", "");
        return;
    }
    struct eb_err werr = {0};
    if (eb_bridge_replay_push(r->writer, rc ? NULL : &p, &rec, &out, &werr)) {
        say(r, "%s: failed: %s\n", row->push_id, werr.msg);
        r->failed++;
        return;
    }
    say(r, "%s: %s%s%s\n", row->push_id, verdict(&out, row),
        out.outcome == EB_OUTCOME_REJECTED && out.message[0] ? ": " : "",
        out.outcome == EB_OUTCOME_REJECTED ? out.message : "");
    if (r->res) {
        r->res->outcome = out.outcome;
        r->res->superseded = out.duplicate;
        snprintf(r->res->message, sizeof r->res->message, "%s", out.message);
    }
    if (out.duplicate)
        r->superseded++;
    else if (out.outcome == EB_OUTCOME_STORED)
        r->stored++;
    else
        r->rejected++;
    *ok = 1;
}

/* 1 when row was recorded from a request refused by authentication (by an earlier version:
 * sqlgen.h, EB_SQL_REFUSED_*): it was never authenticated and is never replayed. */
static int refused_row(const struct eb_logged_push *row)
{
    static const char prefix[] = EB_SQL_REFUSED_ID_PREFIX;
    return row->outcome == EB_OUTCOME_REJECTED && !row->event && row->message &&
           !strncmp(row->push_id, prefix, sizeof prefix - 1) &&
           (!strcmp(row->message, EB_SQL_REFUSED_MESSAGE) ||
            !strcmp(row->message, EB_SQL_REFUSED_OLD_MESSAGE));
}

/* One push_log row: canonicalize its payload (or its raw body), then bind. Only rows of
 * authenticated requests are replayed: a service of this version records no other. */
static int each(void *user, const struct eb_logged_push *row)
{
    struct replay *r = user;
    struct eb_ingest_result ing;
    struct eb_ingest_opts opts = {eb_ingest_default_limits, NULL};
    struct eb_err err = {0};
    struct eb_buf xml;
    const char *text = row->payload ? row->payload : row->raw;
    size_t len = row->payload ? row->payload_len : row->raw_len;
    eb_buf_init(&xml, (size_t)64 << 20);
    eb_ingest_result_init(&ing, opts.limits.max_output);
    if (refused_row(row)) {
        say(r, "%s: skipped: refused by authentication when it arrived; never replayed\n",
            row->push_id);
        r->skipped++;
        goto out;
    }
    if (row->event && strcmp(row->event, "pushCandidate") &&
        strcasecmp(row->event, "pushCandidate")) {
        say(r, "%s: skipped: event %s is not replayed\n", row->push_id, row->event);
        r->skipped++;
        goto out;
    }
    if (!text) {
        say(r, "%s: skipped: nothing kept to replay (its payload was purged by --retention)\n",
            row->push_id);
        r->skipped++;
        goto out;
    }
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", text[i]))
        i++;
    if (i < len && text[i] == '{') { /* a REST push kept as JSON */
        json_t *root = eb_json_load(text, len, "push", NULL, &err);
        eb_rc jrc = root ? eb_json_push_xml(root, &xml, &err) : EB_ERR_INVALID;
        json_decref(root);
        if (jrc) {
            say(r, "%s: skipped: %s\n", row->push_id, err.msg);
            r->skipped++;
            goto out;
        }
        text = xml.data;
        len = xml.len;
    }
    if (eb_ingest(text, len, &opts, &ing, &err)) {
        say(r, "%s: skipped: %s\n", row->push_id, err.msg);
        r->skipped++;
        goto out;
    }
    r->row = row;
    r->ing = &ing;
    struct eb_buf answer;
    int fault = 0;
    eb_buf_init(&answer, (size_t)1 << 20);
    if (eb_bind_serve(r->bind, eb_buf_cstr(&ing.doc), on_push, r, &answer, &fault) || fault) {
        say(r, "%s: skipped: the canonical document did not bind\n", row->push_id);
        r->skipped++;
    }
    eb_buf_free(&answer);
    eb_bind_end(r->bind);
    eb_arena_reset(r->arena);
out:
    eb_ingest_result_free(&ing);
    eb_buf_free(&xml);
    return 0;
}

int eb_replay_run(const struct eb_config *cfg, const struct eb_replay_opts *o)
{
    struct replay r = {0};
    struct eb_adapter *reader = NULL;
    struct eb_mapping *map = NULL; /* --mapping: replayed pushes go where new ones go */
    struct eb_err err = {0};
    int status = 1;
    eb_ingest_global_init();
    r.dry_run = o->dry_run;
    if ((cfg->mapping[0] && eb_mapping_load(cfg->mapping, &map, &err)) ||
        eb_adapter_open_mapped(cfg->db_url, map, &reader, &err) ||
        eb_bridge_open(cfg->db_url, map, &r.writer, &err)) {
        fprintf(stderr, "ehrbridge: replay: %s\n", err.msg);
        goto out;
    }
    /* the replayed push's download links go back to the queue unless stored */
    r.writer->queue_links = eb_archive_enabled(cfg);
    if (!(r.bind = eb_bind_new()) || !(r.arena = eb_arena_new((size_t)256 << 20))) {
        fprintf(stderr, "ehrbridge: replay: out of memory\n");
        goto out;
    }
    struct eb_push_filter filter = o->filter;
    if (o->since)
        parse_time(o->since, &filter.from_ms); /* read by eb_replay_args: in the zone now set */
    if (o->until)
        parse_time(o->until, &filter.to_ms);
    if (eb_adapter_list_pushes(reader, &filter, each, &r, &err)) {
        fprintf(stderr, "ehrbridge: replay: %s\n", err.msg);
        goto out;
    }
    printf("replayed: %u stored, %u rejected, %u superseded, %u skipped, %u failed\n", r.stored,
           r.rejected, r.superseded, r.skipped, r.failed);
    status = r.failed ? 1 : 0;
out:
    eb_bind_free(r.bind);
    eb_arena_free(r.arena);
    eb_bridge_close(r.writer);
    eb_adapter_close(reader);
    eb_mapping_free(map);
    return status;
}

int eb_replay_row(struct eb_adapter *writer, const struct eb_logged_push *row,
                  struct eb_replay_result *res)
{
    struct replay r = {.writer = writer, .res = res};
    memset(res, 0, sizeof *res);
    res->outcome = row->outcome;
    if (!(r.bind = eb_bind_new()) || !(r.arena = eb_arena_new((size_t)256 << 20))) {
        snprintf(res->line, sizeof res->line, "%s: failed: out of memory\n", row->push_id);
        r.failed = 1;
    } else {
        each(&r, row);
    }
    eb_bind_free(r.bind);
    eb_arena_free(r.arena);
    size_t n = strlen(res->line);
    if (n && res->line[n - 1] == '\n')
        res->line[n - 1] = '\0';
    res->skipped = r.skipped > 0;
    res->failed = r.failed > 0;
    return r.failed || r.skipped ? 1 : 0;
}

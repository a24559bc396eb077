/* The data object of an interview event (JSON, jansson) read into struct eb_interview_event
 * (see json.h, eb_json_interview). The vendor's field table:
 *   applicationIds[], interviewType, createTime, creator{id,name,email,phone},
 *   interviews[]{event_id, applicationIds[], roundId, roundName, roomId, roomName,
 *                address{id,country,cityId,address}, startTime, endTime, interviewerIds[],
 *                interviewee[]{id,name,email,phone,jobId,jobTitle,intervieweeUrl},
 *                interviewer[]{id,name,email,phone,interviewerUrl}} */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/interview.h"
#include "ingest/json.h"
#include "util/arena.h"

struct reader {
    struct eb_arena *arena; /* where strings and arrays go */
    struct eb_err *err;     /* why reading failed */
    char path[160];         /* the member being read, for messages */
};

/* 1 when key equals canon ignoring ASCII case, '_' and '-'. */
static int key_is(const char *key, const char *canon)
{
    for (;;) {
        while (*key == '_' || *key == '-')
            key++;
        while (*canon == '_' || *canon == '-')
            canon++;
        if (!*key || !*canon)
            return !*key && !*canon;
        char a = *key >= 'A' && *key <= 'Z' ? (char)(*key - 'A' + 'a') : *key;
        char b = *canon >= 'A' && *canon <= 'Z' ? (char)(*canon - 'A' + 'a') : *canon;
        if (a != b)
            return 0;
        key++;
        canon++;
    }
}

static eb_rc nomem(struct reader *r)
{
    return eb_err_set(r->err, EB_ERR_NOMEM, "out of memory reading an interview event");
}

static eb_rc bad(struct reader *r, const char *base, const char *key, const char *what)
{
    return eb_err_set(r->err, EB_ERR_INVALID, "%.100s.%.40s: %s", base, key, what);
}

/* An integer: a JSON integer, a real without fraction, or a string of digits. */
static eb_rc get_int(struct reader *r, const char *base, const char *key, const json_t *v,
                     struct eb_i64 *out)
{
    out->set = 0;
    if (json_is_null(v))
        return EB_OK;
    if (json_is_integer(v)) {
        out->v = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v)) {
        out->v = (long long)json_real_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        size_t n = strlen(s);
        if (!n || n > 19 || strspn(s + (s[0] == '-'), "0123456789") != n - (s[0] == '-'))
            return bad(r, base, key, "malformed number");
        errno = 0;
        out->v = strtoll(s, &end, 10);
        if (errno)
            return bad(r, base, key, "number out of range");
    } else {
        return bad(r, base, key, "malformed number");
    }
    out->set = 1;
    return EB_OK;
}

/* Text: a string as it is, a number or boolean as text, an object or array as JSON text. */
static eb_rc get_str(struct reader *r, const json_t *v, const char **out)
{
    char num[64];
    size_t n = 0;
    *out = NULL;
    if (json_is_null(v))
        return EB_OK;
    const char *s = eb_json_scalar_text(v, num, sizeof num, &n);
    if (s) {
        *out = eb_arena_strndup(r->arena, s, n);
        return *out ? EB_OK : nomem(r);
    }
    char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!j)
        return nomem(r);
    *out = eb_arena_strndup(r->arena, j, strlen(j));
    free(j);
    return *out ? EB_OK : nomem(r);
}

static eb_rc get_ids(struct reader *r, const char *base, const char *key, const json_t *v,
                     int64_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (json_is_null(v))
        return EB_OK;
    if (!json_is_array(v))
        return bad(r, base, key, "expected an array of numbers");
    size_t count = json_array_size(v);
    if (!count)
        return EB_OK;
    if (!(*out = eb_arena_alloc(r->arena, count * sizeof **out)))
        return nomem(r);
    for (size_t i = 0; i < count; i++) {
        struct eb_i64 x;
        eb_rc rc = get_int(r, base, key, json_array_get(v, i), &x);
        if (rc)
            return rc;
        if (x.set)
            (*out)[(*n)++] = x.v;
    }
    return EB_OK;
}

static eb_rc get_person(struct reader *r, const char *base, const json_t *obj,
                        struct eb_interview_person *p)
{
    const char *key;
    const json_t *v;
    eb_rc rc = EB_OK;
    if (!json_is_object(obj))
        return eb_err_set(r->err, EB_ERR_INVALID, "%.120s: expected an object", base);
    json_object_foreach((json_t *)obj, key, v)
    {
        if (key_is(key, "id"))
            rc = get_int(r, base, key, v, &p->id);
        else if (key_is(key, "name"))
            rc = get_str(r, v, &p->name);
        else if (key_is(key, "email"))
            rc = get_str(r, v, &p->email);
        else if (key_is(key, "phone"))
            rc = get_str(r, v, &p->phone);
        else if (key_is(key, "jobId"))
            rc = get_str(r, v, &p->job_id);
        else if (key_is(key, "jobTitle"))
            rc = get_str(r, v, &p->job_title);
        else if (key_is(key, "intervieweeUrl") || key_is(key, "interviewerUrl"))
            rc = get_str(r, v, &p->url);
        if (rc)
            return rc;
    }
    return EB_OK;
}

static eb_rc get_people(struct reader *r, const char *base, const char *key, const json_t *v,
                        struct eb_interview_person **out, size_t *n)
{
    char path[160];
    *out = NULL;
    *n = 0;
    if (json_is_null(v))
        return EB_OK;
    if (!json_is_array(v))
        return bad(r, base, key, "expected an array");
    size_t count = json_array_size(v);
    if (!count)
        return EB_OK;
    if (!(*out = eb_arena_zalloc(r->arena, count * sizeof **out)))
        return nomem(r);
    for (size_t i = 0; i < count; i++) {
        const json_t *item = json_array_get(v, i);
        if (json_is_null(item))
            continue;
        snprintf(path, sizeof path, "%.100s.%.30s[%zu]", base, key, i);
        eb_rc rc = get_person(r, path, item, &(*out)[(*n)++]);
        if (rc)
            return rc;
    }
    return EB_OK;
}

static eb_rc get_address(struct reader *r, const char *base, const json_t *obj,
                         struct eb_interview *iv)
{
    const char *key;
    const json_t *v;
    eb_rc rc = EB_OK;
    if (json_is_null(obj))
        return EB_OK;
    if (!json_is_object(obj))
        return eb_err_set(r->err, EB_ERR_INVALID, "%.120s.address: expected an object", base);
    char path[160];
    snprintf(path, sizeof path, "%.120s.address", base);
    json_object_foreach((json_t *)obj, key, v)
    {
        if (key_is(key, "id"))
            rc = get_int(r, path, key, v, &iv->address_id);
        else if (key_is(key, "country"))
            rc = get_str(r, v, &iv->address_country);
        else if (key_is(key, "cityId"))
            rc = get_int(r, path, key, v, &iv->address_city_id);
        else if (key_is(key, "address"))
            rc = get_str(r, v, &iv->address_address);
        if (rc)
            return rc;
    }
    return EB_OK;
}

static eb_rc get_interview(struct reader *r, const char *base, const json_t *obj,
                           struct eb_interview *iv)
{
    const char *key;
    const json_t *v;
    eb_rc rc = EB_OK;
    if (!json_is_object(obj))
        return eb_err_set(r->err, EB_ERR_INVALID, "%.120s: expected an object", base);
    json_object_foreach((json_t *)obj, key, v)
    {
        if (key_is(key, "eventId"))
            rc = get_str(r, v, &iv->event_id);
        else if (key_is(key, "applicationIds"))
            rc = get_ids(r, base, key, v, &iv->application_ids, &iv->application_ids_n);
        else if (key_is(key, "roundId"))
            rc = get_int(r, base, key, v, &iv->round_id);
        else if (key_is(key, "roundName"))
            rc = get_str(r, v, &iv->round_name);
        else if (key_is(key, "roomId"))
            rc = get_int(r, base, key, v, &iv->room_id);
        else if (key_is(key, "roomName"))
            rc = get_str(r, v, &iv->room_name);
        else if (key_is(key, "address"))
            rc = get_address(r, base, v, iv);
        else if (key_is(key, "startTime"))
            rc = get_int(r, base, key, v, &iv->start_time);
        else if (key_is(key, "endTime"))
            rc = get_int(r, base, key, v, &iv->end_time);
        else if (key_is(key, "interviewerIds"))
            rc = json_is_array(v) || json_is_null(v) ? get_str(r, v, &iv->interviewer_ids)
                                                     : bad(r, base, key, "expected an array");
        else if (key_is(key, "interviewee"))
            rc = get_people(r, base, key, v, &iv->interviewees, &iv->interviewees_n);
        else if (key_is(key, "interviewer"))
            rc = get_people(r, base, key, v, &iv->interviewers, &iv->interviewers_n);
        if (rc)
            return rc;
    }
    return EB_OK;
}

eb_rc eb_json_interview(const json_t *data, struct eb_arena *arena, struct eb_interview_event *ev,
                        struct eb_err *err)
{
    struct reader r = {arena, err, ""};
    const char *key;
    const json_t *v;
    const json_t *interviews = NULL;
    int64_t *app_ids = NULL;
    size_t app_ids_n = 0;
    eb_rc rc = EB_OK;

    if (!json_is_object(data))
        return eb_err_set(err, EB_ERR_INVALID, "data: expected an object");
    json_object_foreach((json_t *)data, key, v)
    {
        if (key_is(key, "applicationIds")) {
            rc = get_ids(&r, "data", key, v, &app_ids, &app_ids_n);
        } else if (key_is(key, "interviewType")) {
            rc = get_int(&r, "data", key, v, &ev->interview_type);
        } else if (key_is(key, "createTime")) {
            rc = get_int(&r, "data", key, v, &ev->create_time);
        } else if (key_is(key, "creator") && !json_is_null(v)) {
            const char *ck;
            const json_t *cv;
            if (!json_is_object(v))
                return bad(&r, "data", key, "expected an object");
            json_object_foreach((json_t *)v, ck, cv)
            {
                if (key_is(ck, "id"))
                    rc = get_str(&r, cv, &ev->creator_id);
                else if (key_is(ck, "name"))
                    rc = get_str(&r, cv, &ev->creator_name);
                else if (key_is(ck, "email"))
                    rc = get_str(&r, cv, &ev->creator_email);
                else if (key_is(ck, "phone"))
                    rc = get_str(&r, cv, &ev->creator_phone);
                if (rc)
                    return rc;
            }
        } else if (key_is(key, "interviews")) {
            if (!json_is_array(v) && !json_is_null(v))
                return bad(&r, "data", key, "expected an array");
            interviews = v;
        }
        if (rc)
            return rc;
    }
    size_t n = json_is_array(interviews) ? json_array_size(interviews) : 0;
    ev->interviews_n = 0;
    ev->interviews = n ? eb_arena_zalloc(arena, n * sizeof *ev->interviews) : NULL;
    if (n && !ev->interviews)
        return nomem(&r);
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(interviews, i);
        char path[64];
        if (json_is_null(item))
            continue;
        snprintf(path, sizeof path, "data.interviews[%zu]", i);
        struct eb_interview *iv = &ev->interviews[ev->interviews_n++];
        if ((rc = get_interview(&r, path, item, iv)))
            return rc;
        if (!iv->application_ids_n) { /* the event's applicationIds apply */
            iv->application_ids = app_ids;
            iv->application_ids_n = app_ids_n;
        }
    }
    return EB_OK;
}

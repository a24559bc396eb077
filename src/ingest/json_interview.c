/* The data object of an interview event (JSON, jansson) read into struct eb_interview_event
 * (see json.h, eb_json_interview). The vendor's field table:
 *   applicationIds[], interviewType, createTime, creator{id,name,email,phone},
 *   interviews[]{event_id, applicationIds[], roundId, roundName, roomId, roomName,
 *                address{id,country,cityId,address}, startTime, endTime, interviewerIds[],
 *                interviewee[]{id,name,email,phone,jobId,jobTitle,intervieweeUrl},
 *                interviewer[]{id,name,email,phone,interviewerUrl}} */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/interview.h"
#include "candidate/schema.h"
#include "ingest/decrypt.h"
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
    return eb_schema_name_is(key, strlen(key), canon);
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

/* What a member of an object is read as, and where it goes (offsets into the destination). */
enum member_kind {
    M_INT,    /* struct eb_i64 */
    M_STR,    /* const char *: text (objects and arrays as JSON text) */
    M_JSON,   /* const char *: an array kept as JSON text */
    M_IDS,    /* int64_t * and size_t count */
    M_PEOPLE, /* struct eb_interview_person * and size_t count */
    M_OBJECT, /* an object whose members go into the same destination */
};

struct member {
    const char *key; /* the name (compared with key_is) */
    const char *alt; /* another accepted name, or NULL */
    enum member_kind kind;
    size_t off;                 /* the value's offset in the destination */
    size_t n_off;               /* M_IDS, M_PEOPLE: the count's offset */
    const struct member *inner; /* M_OBJECT: its members, ended by a NULL key */
};

#define PERSON(f)    offsetof(struct eb_interview_person, f)
#define INTERVIEW(f) offsetof(struct eb_interview, f)
#define EVENT(f)     offsetof(struct eb_interview_event, f)

static const struct member person_members[] = {
    {"id", NULL, M_INT, PERSON(id), 0, NULL},
    {"name", NULL, M_STR, PERSON(name), 0, NULL},
    {"email", NULL, M_STR, PERSON(email), 0, NULL},
    {"phone", NULL, M_STR, PERSON(phone), 0, NULL},
    {"jobId", NULL, M_STR, PERSON(job_id), 0, NULL},
    {"jobTitle", NULL, M_STR, PERSON(job_title), 0, NULL},
    {"intervieweeUrl", "interviewerUrl", M_STR, PERSON(url), 0, NULL},
    {NULL, NULL, M_INT, 0, 0, NULL}};

static const struct member address_members[] = {
    {"id", NULL, M_INT, INTERVIEW(address_id), 0, NULL},
    {"country", NULL, M_STR, INTERVIEW(address_country), 0, NULL},
    {"cityId", NULL, M_INT, INTERVIEW(address_city_id), 0, NULL},
    {"address", NULL, M_STR, INTERVIEW(address_address), 0, NULL},
    {NULL, NULL, M_INT, 0, 0, NULL}};

static const struct member interview_members[] = {
    {"eventId", NULL, M_STR, INTERVIEW(event_id), 0, NULL},
    {"applicationIds", NULL, M_IDS, INTERVIEW(application_ids), INTERVIEW(application_ids_n), NULL},
    {"roundId", NULL, M_INT, INTERVIEW(round_id), 0, NULL},
    {"roundName", NULL, M_STR, INTERVIEW(round_name), 0, NULL},
    {"roomId", NULL, M_INT, INTERVIEW(room_id), 0, NULL},
    {"roomName", NULL, M_STR, INTERVIEW(room_name), 0, NULL},
    {"address", NULL, M_OBJECT, 0, 0, address_members},
    {"startTime", NULL, M_INT, INTERVIEW(start_time), 0, NULL},
    {"endTime", NULL, M_INT, INTERVIEW(end_time), 0, NULL},
    {"interviewerIds", NULL, M_JSON, INTERVIEW(interviewer_ids), 0, NULL},
    {"interviewee", NULL, M_PEOPLE, INTERVIEW(interviewees), INTERVIEW(interviewees_n), NULL},
    {"interviewer", NULL, M_PEOPLE, INTERVIEW(interviewers), INTERVIEW(interviewers_n), NULL},
    {NULL, NULL, M_INT, 0, 0, NULL}};

static const struct member creator_members[] = {
    {"id", NULL, M_STR, EVENT(creator_id), 0, NULL},
    {"name", NULL, M_STR, EVENT(creator_name), 0, NULL},
    {"email", NULL, M_STR, EVENT(creator_email), 0, NULL},
    {"phone", NULL, M_STR, EVENT(creator_phone), 0, NULL},
    {NULL, NULL, M_INT, 0, 0, NULL}};

/* The members of data itself that go into the event (applicationIds and interviews are read
 * by eb_json_interview). */
static const struct member event_members[] = {
    {"interviewType", NULL, M_INT, EVENT(interview_type), 0, NULL},
    {"createTime", NULL, M_INT, EVENT(create_time), 0, NULL},
    {"creator", NULL, M_OBJECT, 0, 0, creator_members},
    {NULL, NULL, M_INT, 0, 0, NULL}};

static eb_rc read_object(struct reader *r, const char *base, const json_t *obj,
                         const struct member *members, char *dst);

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
        eb_rc rc = read_object(r, path, item, person_members, (char *)&(*out)[(*n)++]);
        if (rc)
            return rc;
    }
    return EB_OK;
}

/* Reads member m (named key in the message, at base) from v into dst. */
static eb_rc read_member(struct reader *r, const char *base, const char *key,
                         const struct member *m, const json_t *v, char *dst)
{
    char path[160];
    switch (m->kind) {
    case M_INT:
        return get_int(r, base, key, v, (struct eb_i64 *)(dst + m->off));
    case M_STR:
        return get_str(r, v, (const char **)(dst + m->off));
    case M_JSON:
        return json_is_array(v) || json_is_null(v) ? get_str(r, v, (const char **)(dst + m->off))
                                                   : bad(r, base, key, "expected an array");
    case M_IDS:
        return get_ids(r, base, key, v, (int64_t **)(dst + m->off), (size_t *)(dst + m->n_off));
    case M_PEOPLE:
        return get_people(r, base, key, v, (struct eb_interview_person **)(dst + m->off),
                          (size_t *)(dst + m->n_off));
    case M_OBJECT:
        if (json_is_null(v))
            return EB_OK;
        snprintf(path, sizeof path, "%.120s.%.30s", base, m->key);
        return read_object(r, path, v, m->inner, dst);
    }
    return EB_OK;
}

/* Reads the members of obj (at base, for messages) that members names into dst; other
 * members are ignored. */
static eb_rc read_object(struct reader *r, const char *base, const json_t *obj,
                         const struct member *members, char *dst)
{
    const char *key;
    const json_t *v;
    if (!json_is_object(obj))
        return eb_err_set(r->err, EB_ERR_INVALID, "%.120s: expected an object", base);
    json_object_foreach((json_t *)obj, key, v)
    {
        for (const struct member *m = members; m->key; m++) {
            if (!key_is(key, m->key) && !(m->alt && key_is(key, m->alt)))
                continue;
            eb_rc rc = read_member(r, base, key, m, v, dst);
            if (rc)
                return rc;
            break;
        }
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

    if ((rc = read_object(&r, "data", data, event_members, (char *)ev)))
        return rc;
    json_object_foreach((json_t *)data, key, v)
    {
        if (key_is(key, "applicationIds")) {
            if ((rc = get_ids(&r, "data", key, v, &app_ids, &app_ids_n)))
                return rc;
        } else if (key_is(key, "interviews")) {
            if (!json_is_array(v) && !json_is_null(v))
                return bad(&r, "data", key, "expected an array");
            interviews = v;
        }
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
        if ((rc = read_object(&r, path, item, interview_members, (char *)iv)))
            return rc;
        if (!iv->application_ids_n) { /* the event's applicationIds apply */
            iv->application_ids = app_ids;
            iv->application_ids_n = app_ids_n;
        }
    }
    return EB_OK;
}

const json_t *eb_json_interview_data(const json_t *root, const struct eb_aes *aes, json_t **owned,
                                     struct eb_err *err)
{
    const json_t *data = eb_json_member(root, "data");
    *owned = NULL;
    if (!data || json_is_null(data)) {
        eb_err_set(err, EB_ERR_INVALID, "data: missing");
        return NULL;
    }
    if (!json_is_string(data))
        return data;
    const char *text = json_string_value(data);
    size_t len = json_string_length(data);
    if (!eb_decrypt_is_hex(text, len)) {
        eb_err_set(err, EB_ERR_INVALID, "data: expected an object (or AES ciphertext in hex)");
        return NULL;
    }
    if (!aes) {
        eb_err_set(err, EB_ERR_INVALID, "%s", eb_decrypt_no_key);
        return NULL;
    }
    /* one message for every failure to decrypt or read (decrypt.h: no padding oracle) */
    if (eb_decrypt_json(aes, text, len, owned, err))
        return NULL;
    return *owned;
}

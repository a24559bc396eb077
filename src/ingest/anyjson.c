/* "any" values with structure: an element with element children becomes JSON text (jansson,
 * members in document order, compact), the form the candidate model keeps for values the
 * vendor types as "any" (custom field values such as {"startDate":"2004-01","endDate":"2005-01"},
 * roundOtherName, ...). */
#include "ingest/ingest_int.h"

#include <string.h>

#include <jansson.h>

/* State of one conversion; rc is the first failure. */
struct conv {
    struct eb_buf *tmp; /* scratch for leaf text */
    eb_rc rc;           /* EB_OK, EB_ERR_NOMEM, EB_ERR_INVALID (too deep), ... */
};

static json_t *fail(struct conv *cv, eb_rc rc)
{
    if (!cv->rc)
        cv->rc = rc;
    return NULL;
}

static int all_items(const xmlNode *n)
{
    int any = 0;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!eb_ingest_is_item_name(eb_ingest_local(c)))
            return 0;
        any = 1;
    }
    return any;
}

static json_t *to_json(struct conv *cv, const xmlNode *n, size_t depth_left);

/* Adds child value v (reference stolen) under key to obj; a repeated key turns the member
 * into an array of all its values. reps records the keys made arrays that way. */
static int add_member(json_t *obj, json_t **reps, const char *key, json_t *v)
{
    json_t *old = json_object_get(obj, key);
    if (!old)
        return json_object_set_new_nocheck(obj, key, v);
    if (*reps && json_object_get(*reps, key))
        return json_array_append_new(old, v);
    json_t *arr = json_array();
    if (!arr || json_array_append(arr, old) || json_array_append_new(arr, v)) {
        json_decref(arr);
        return -1;
    }
    if (!*reps && !(*reps = json_object())) {
        json_decref(arr);
        return -1;
    }
    if (json_object_set_new_nocheck(*reps, key, json_true())) {
        json_decref(arr);
        return -1;
    }
    return json_object_set_new_nocheck(obj, key, arr);
}

static json_t *to_json(struct conv *cv, const xmlNode *n, size_t depth_left)
{
    if (depth_left == 0)
        return fail(cv, EB_ERR_INVALID);
    if (eb_ingest_is_nil(n))
        return json_null();
    if (!eb_ingest_first_element(n)) {
        const char *s;
        size_t len;
        eb_rc rc = eb_ingest_node_text(n, cv->tmp, &s, &len);
        if (rc)
            return fail(cv, rc);
        json_t *v = json_stringn_nocheck(s, len);
        return v ? v : fail(cv, EB_ERR_NOMEM);
    }
    if (all_items(n)) {
        json_t *arr = json_array();
        if (!arr)
            return fail(cv, EB_ERR_NOMEM);
        for (const xmlNode *c = n->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE)
                continue;
            json_t *v = to_json(cv, c, depth_left - 1);
            if (!v || json_array_append_new(arr, v)) {
                json_decref(arr);
                return fail(cv, EB_ERR_NOMEM);
            }
        }
        return arr;
    }
    json_t *obj = json_object(), *reps = NULL;
    if (!obj)
        return fail(cv, EB_ERR_NOMEM);
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        json_t *v = to_json(cv, c, depth_left - 1);
        if (!v || add_member(obj, &reps, (const char *)eb_ingest_local(c), v)) {
            json_decref(obj);
            json_decref(reps);
            return fail(cv, EB_ERR_NOMEM);
        }
    }
    json_decref(reps);
    return obj;
}

/* Writer for json_dump_callback: escapes each chunk into the output buffer. */
struct sink {
    struct eb_buf *out; /* the canonical document */
    eb_rc rc;           /* first append failure */
};

static int put_chunk(const char *buf, size_t size, void *data)
{
    struct sink *s = data;
    s->rc = eb_buf_xml_escape(s->out, buf, size);
    return s->rc ? -1 : 0;
}

eb_rc eb_ingest_any_json(const xmlNode *n, size_t depth_left, struct eb_buf *tmp,
                         struct eb_buf *out, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct conv cv = {tmp, EB_OK};
    struct sink sink = {out, EB_OK};
    json_t *v = to_json(&cv, n, depth_left);

    if (!v) {
        rc = cv.rc ? cv.rc : EB_ERR_NOMEM;
        if (rc == EB_ERR_INVALID)
            eb_err_set(err, rc, "an \"any\" value is nested too deeply");
        else
            eb_err_set(err, rc, "cannot build the JSON text of an \"any\" value: %s",
                       eb_strerror(rc));
        goto out;
    }
    if (json_dump_callback(v, put_chunk, &sink,
                           JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)) {
        rc = sink.rc ? sink.rc : EB_ERR_NOMEM;
        eb_err_set(err, rc, "cannot write the JSON text of an \"any\" value: %s", eb_strerror(rc));
        goto out;
    }
out:
    json_decref(v);
    return rc;
}

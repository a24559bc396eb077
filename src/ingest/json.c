/* JSON to the XML ingest reads (see json.h). The conversion is driven by the same schema
 * descriptors (candidate/schema.c) that drive ingest and the database, so a REST push and the
 * equivalent SOAP push give the same canonical document:
 *   {"applicationId": 12798, "CandidateId": 8030, "sourceList": [{"name": "x"}],
 *    "customFields": [{"value": {"startDate": "2004-01"}}], "probation": null}
 * becomes
 *   <applicationId>12798</applicationId><candidateId>8030</candidateId>
 *   <sourceList><element><name>x</name></element></sourceList>
 *   <customFields><element><value>{"startDate":"2004-01"}</value></element></customFields>
 * Ingest then orders the fields, checks their lexical types and trims values. */
#include "ingest/json.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "candidate/schema.h"

/* JSON's white space. */
static inline int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ---- loading ---- */

/* Containers count_values() follows; deeper ones are taken for arrays (more values counted). */
#define COUNT_DEPTH 4096

/* The bytes count_values() stops at outside strings. */
static const unsigned char json_structural[256] = {
    ['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1, [':'] = 1, [','] = 1};

/* The end of the string that starts after s (the byte after its closing quote), or end. */
static const char *skip_string(const char *s, const char *end)
{
    for (const char *q = s; q < end; q++) {
        if (!(q = memchr(q, '"', (size_t)(end - q))))
            return end;
        size_t bs = 0; /* backslashes before the quote: an odd number escapes it */
        while (q - bs > s && q[-1 - (ptrdiff_t)bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            return q + 1;
    }
    return end;
}

/* The values of JSON text (objects, arrays, scalars) as jansson will make them: 1 (the root) +
 * one per ':' + one per ',' inside an array + one per array that is not empty. Linear,
 * allocates nothing: it runs before jansson builds the tree. Text that is not JSON gives some
 * count, and jansson refuses it. */
static size_t count_values(const char *text, size_t len)
{
    unsigned char is_obj[COUNT_DEPTH / 8] = {0}; /* bit d: the container at depth d is an object */
    const char *s = text, *end = text + len;
    size_t n = 1, depth = 0;
    for (;;) {
        while (s < end && !json_structural[(unsigned char)*s])
            s++;
        if (s == end)
            return n;
        switch (*s++) {
        case '"':
            s = skip_string(s, end);
            break;
        case '{':
            if (++depth < COUNT_DEPTH)
                is_obj[depth / 8] |= (unsigned char)(1u << depth % 8);
            break;
        case '[':
            if (++depth < COUNT_DEPTH)
                is_obj[depth / 8] &= (unsigned char)~(1u << depth % 8);
            while (s < end && is_space(*s))
                s++;
            n += s < end && *s != ']';
            break;
        case ':':
            n++;
            break;
        case ',':
            n += depth >= COUNT_DEPTH || !(is_obj[depth / 8] & (1u << depth % 8));
            break;
        default: /* '}' or ']' */
            depth -= depth > 0;
            break;
        }
    }
}

/* Raw control characters inside the strings of text, and the bytes their escapes add. */
static size_t escape_growth(const char *text, size_t len)
{
    size_t grow = 0;
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (in_string && !escaped && c < 0x20)
            grow += c == '\n' || c == '\r' || c == '\t' ? 1 : 5;
        else if (escaped)
            escaped = 0;
        else if (in_string && c == '\\')
            escaped = 1;
        else if (c == '"')
            in_string = !in_string;
    }
    return grow;
}

/* A copy of text in which raw control characters inside strings are escaped; NULL on
 * allocation failure. */
static char *escape_controls(const char *text, size_t len, size_t *outlen)
{
    char *out = malloc(len + escape_growth(text, len) + 1);
    size_t n = 0;
    int in_string = 0, escaped = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (in_string && !escaped && c < 0x20) {
            switch (c) {
            case '\n':
                memcpy(out + n, "\\n", 2);
                n += 2;
                break;
            case '\r':
                memcpy(out + n, "\\r", 2);
                n += 2;
                break;
            case '\t':
                memcpy(out + n, "\\t", 2);
                n += 2;
                break;
            default:
                n += (size_t)snprintf(out + n, 7, "\\u%04x", c);
                break;
            }
            continue;
        }
        out[n++] = (char)c;
        if (escaped)
            escaped = 0;
        else if (in_string && c == '\\')
            escaped = 1;
        else if (c == '"')
            in_string = !in_string;
    }
    out[n] = '\0';
    *outlen = n;
    return out;
}

json_t *eb_json_load(const char *text, size_t len, const char *what, int *repaired,
                     struct eb_err *err)
{
    json_error_t je;
    if (repaired)
        *repaired = 0;
    if (count_values(text, len) > EB_JSON_MAX_VALUES) {
        eb_err_set(err, EB_ERR_TOO_LARGE, "%s: more than %d JSON values", what, EB_JSON_MAX_VALUES);
        return NULL;
    }
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (v)
        return v;
    if (strstr(je.text, "control character") || strstr(je.text, "unexpected newline")) {
        size_t n = 0;
        char *fixed = escape_controls(text, len, &n);
        if (!fixed) {
            eb_err_set(err, EB_ERR_NOMEM, "out of memory reading JSON");
            return NULL;
        }
        json_error_t je2;
        v = json_loadb(fixed, n, JSON_DECODE_ANY, &je2);
        free(fixed);
        if (v) {
            if (repaired)
                *repaired = 1;
            return v;
        }
        je = je2;
    }
    /* jansson's text may quote the input near the error: only the position is reported */
    eb_err_set(err, EB_ERR_INVALID, "%s is not valid JSON (line %d, column %d)", what, je.line,
               je.column);
    return NULL;
}

/* ---- writing ---- */

const char *eb_json_scalar_text(const json_t *v, char *buf, size_t cap, size_t *len)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        *len = json_string_length(v);
        return json_string_value(v);
    case JSON_INTEGER:
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL: {
        double d = json_real_value(v);
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, cap, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
        break;
    }
    case JSON_TRUE:
        snprintf(buf, cap, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, cap, "false");
        break;
    default:
        return NULL;
    }
    *len = strlen(buf);
    return buf;
}

struct writer {
    struct eb_buf *out; /* where the XML goes */
    struct eb_err *err; /* why it failed */
};

static eb_rc open_tag(struct eb_buf *b, const char *name)
{
    eb_rc rc;
    if ((rc = eb_buf_append(b, "<", 1)) || (rc = eb_buf_puts(b, name)))
        return rc;
    return eb_buf_append(b, ">", 1);
}

static eb_rc close_tag(struct eb_buf *b, const char *name)
{
    eb_rc rc;
    if ((rc = eb_buf_append(b, "</", 2)) || (rc = eb_buf_puts(b, name)))
        return rc;
    return eb_buf_append(b, ">", 1);
}

/* The value as element text: a scalar's text, or compact JSON text of an object or array. */
static eb_rc put_text(struct writer *w, const json_t *v)
{
    char num[64];
    size_t n = 0;
    const char *s = eb_json_scalar_text(v, num, sizeof num, &n);
    if (s)
        return eb_buf_xml_escape(w->out, s, n);
    char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!j)
        return eb_err_set(w->err, EB_ERR_NOMEM, "out of memory writing JSON text");
    eb_rc rc = eb_buf_xml_escape(w->out, j, strlen(j));
    free(j);
    return rc;
}

static eb_rc too_deep(struct writer *w)
{
    return eb_err_set(w->err, EB_ERR_INVALID, "JSON nests deeper than %d levels",
                      EB_JSON_MAX_DEPTH);
}

static eb_rc write_members(struct writer *w, const struct eb_type *t, const json_t *obj, int depth);

/* A member the contract does not know, under a name that is an XML name. */
static eb_rc write_unknown(struct writer *w, const char *name, const json_t *v, int depth)
{
    eb_rc rc;
    if (depth > EB_JSON_MAX_DEPTH)
        return too_deep(w);
    if (json_is_null(v))
        return EB_OK;
    if ((rc = open_tag(w->out, name)))
        return rc;
    if (json_is_object(v)) {
        rc = write_members(w, NULL, v, depth + 1);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            if (!json_is_null(item) && (rc = write_unknown(w, "element", item, depth + 1)))
                return rc;
        }
    } else {
        rc = put_text(w, v);
    }
    return rc ? rc : close_tag(w->out, name);
}

/* One array item of field f (an object of f->type, or a scalar). */
static eb_rc write_item(struct writer *w, const struct eb_field *f, const json_t *item, int depth)
{
    eb_rc rc;
    if (json_is_null(item))
        return EB_OK;
    if ((rc = open_tag(w->out, "element")))
        return rc;
    if (f->kind == EB_KIND_ARR && json_is_object(item))
        rc = write_members(w, f->type, item, depth + 1);
    else
        rc = put_text(w, item);
    return rc ? rc : close_tag(w->out, "element");
}

static eb_rc write_field(struct writer *w, const struct eb_field *f, const json_t *v, int depth)
{
    eb_rc rc;
    if (depth > EB_JSON_MAX_DEPTH)
        return too_deep(w);
    if (json_is_null(v))
        return EB_OK; /* null: absent, as xsi:nil */
    if ((rc = open_tag(w->out, f->xml)))
        return rc;
    switch (f->kind) {
    case EB_KIND_OBJ:
        rc = json_is_object(v) ? write_members(w, f->type, v, depth + 1) : put_text(w, v);
        break;
    case EB_KIND_ARR:
    case EB_KIND_STRARR:
        if (json_is_array(v)) {
            size_t i;
            const json_t *item;
            json_array_foreach(v, i, item)
            {
                if ((rc = write_item(w, f, item, depth + 1)))
                    break;
            }
        } else if (f->kind == EB_KIND_ARR && !json_is_object(v)) {
            rc = put_text(w, v); /* not an array of objects: ingest reports it */
        } else {
            rc = write_item(w, f, v, depth + 1); /* a lone item */
        }
        break;
    default:
        rc = put_text(w, v);
        break;
    }
    return rc ? rc : close_tag(w->out, f->xml);
}

/* The members of obj as the fields of t (t NULL: every member unknown). */
static eb_rc write_members(struct writer *w, const struct eb_type *t, const json_t *obj, int depth)
{
    const char *key;
    const json_t *v;
    eb_rc rc = EB_OK;
    if (depth > EB_JSON_MAX_DEPTH)
        return too_deep(w);
    json_object_foreach((json_t *)obj, key, v)
    {
        const struct eb_field *f = t ? eb_schema_find(t, key, strlen(key)) : NULL;
        if (f)
            rc = write_field(w, f, v, depth);
        else if (xmlValidateNCName((const xmlChar *)key, 0) == 0)
            rc = write_unknown(w, key, v, depth);
        if (rc)
            return rc;
    }
    return EB_OK;
}

eb_rc eb_json_push_xml(const json_t *root, struct eb_buf *out, struct eb_err *err)
{
    struct writer w = {out, err};
    eb_rc rc;
    if (!json_is_object(root))
        return eb_err_set(err, EB_ERR_INVALID, "the JSON body is not an object");
    if ((rc = eb_buf_puts(out, "<pushCandidate>")) ||
        (rc = write_members(&w, &eb_type_push, root, 1)) ||
        (rc = eb_buf_puts(out, "</pushCandidate>")))
        return err && err->rc == rc
                   ? rc
                   : eb_err_set(err, rc, "cannot convert JSON: %s", eb_strerror(rc));
    return EB_OK;
}

eb_rc eb_json_data_xml(const json_t *data, struct eb_buf *out, struct eb_err *err)
{
    struct writer w = {out, err};
    eb_rc rc;
    if (!json_is_object(data))
        return eb_err_set(err, EB_ERR_INVALID, "data is not a JSON object");
    if ((rc = eb_buf_puts(out, "<data>")) ||
        (rc = write_members(&w, &eb_type_candidate, data, 1)) || (rc = eb_buf_puts(out, "</data>")))
        return err && err->rc == rc
                   ? rc
                   : eb_err_set(err, rc, "cannot convert JSON: %s", eb_strerror(rc));
    return EB_OK;
}

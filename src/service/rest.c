/* REST-mode answers and redirect templates (see rest.h). */
#include "service/rest.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

const char eb_rest_content_type[] = "application/json; charset=utf-8";

int eb_rest_is_json(const struct eb_http_request *req)
{
    const char *ct = eb_http_header(req, "Content-Type");
    if (ct && *ct) {
        size_t n = strcspn(ct, ";");
        for (size_t i = 0; i + 4 <= n; i++)
            if (!strncasecmp(ct + i, "json", 4))
                return 1;
        for (size_t i = 0; i + 3 <= n; i++)
            if (!strncasecmp(ct + i, "xml", 3) || (i + 4 <= n && !strncasecmp(ct + i, "soap", 4)))
                return 0;
    }
    const char *b = req->body ? req->body : "";
    size_t i = 0;
    while (i < req->body_len && isspace((unsigned char)b[i]))
        i++;
    return i < req->body_len && b[i] == '{';
}

/* Appends s percent-encoded (RFC 3986 unreserved characters kept). */
static int put_encoded(char *out, size_t outsz, size_t *n, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int keep = isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
        if (*n + (keep ? 1 : 3) >= outsz)
            return -1;
        if (keep) {
            out[(*n)++] = (char)c;
        } else {
            out[(*n)++] = '%';
            out[(*n)++] = hex[c >> 4];
            out[(*n)++] = hex[c & 15];
        }
    }
    return 0;
}

eb_rc eb_rest_expand(const char *tmpl, const struct eb_rest_ids *ids, char *out, size_t outsz)
{
    size_t n = 0;
    if (!outsz)
        return EB_ERR_TOO_LARGE;
    for (const char *p = tmpl; *p;) {
        char num[32] = "";
        const char *value = NULL;
        size_t skip = 0;
        if (!strncmp(p, "{applicationId}", 15)) {
            skip = 15;
            if (ids->has_application_id)
                snprintf(num, sizeof num, "%" PRId64, ids->application_id);
            value = num;
        } else if (!strncmp(p, "{candidateId}", 13)) {
            skip = 13;
            if (ids->has_candidate_id)
                snprintf(num, sizeof num, "%" PRId64, ids->candidate_id);
            value = num;
        } else if (!strncmp(p, "{pushId}", 8)) {
            skip = 8;
            value = ids->push_id ? ids->push_id : "";
        }
        if (value) {
            if (put_encoded(out, outsz, &n, value))
                goto too_large;
            p += skip;
            continue;
        }
        if (n + 1 >= outsz)
            goto too_large;
        out[n++] = *p++;
    }
    out[n] = '\0';
    return EB_OK;
too_large:
    out[0] = '\0';
    return EB_ERR_TOO_LARGE;
}

eb_rc eb_rest_answer(struct eb_buf *out, int code, const char *msg, const char *pc_url,
                     const char *mobile_url)
{
    eb_rc rc = EB_ERR_NOMEM;
    json_t *o = json_object();
    char *text = NULL;
    if (!o || json_object_set_new(o, "code", json_integer(code)) ||
        json_object_set_new(o, "msg", json_string(msg ? msg : "")))
        goto out;
    if ((pc_url && *pc_url) || (mobile_url && *mobile_url)) {
        json_t *r = json_object();
        if (!r || json_object_set_new(o, "redirectUrl", r))
            goto out;
        if ((pc_url && *pc_url && json_object_set_new(r, "pcUrl", json_string(pc_url))) ||
            (mobile_url && *mobile_url &&
             json_object_set_new(r, "mobileUrl", json_string(mobile_url))))
            goto out;
    }
    if (!(text = json_dumps(o, JSON_COMPACT)))
        goto out;
    eb_buf_reset(out);
    rc = eb_buf_puts(out, text);
out:
    free(text);
    json_decref(o);
    return rc;
}

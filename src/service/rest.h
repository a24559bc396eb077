/* The vendor's REST mode at the HTTP edge: recognizing a JSON request, the JSON answers
 * ({"code": 0, "msg": "stored"} on success, {"code": <HTTP status>, "msg": "..."} otherwise) and
 * the optional redirectUrl ({"pcUrl": ..., "mobileUrl": ...}) built from the configured
 * templates. The service (service.c) runs the pipeline; this file only formats. */
#ifndef EB_REST_H
#define EB_REST_H

#include <stddef.h>
#include <stdint.h>

#include "transport/http.h"
#include "util/buf.h"
#include "util/err.h"

/* 1 when req is a REST request: its Content-Type names JSON (application/json, ...+json), or it
 * has no XML or SOAP Content-Type and its body starts with '{' (after blanks). */
int eb_rest_is_json(const struct eb_http_request *req);

/* The ids a redirect template may use; has_* 0: the placeholder becomes empty. */
struct eb_rest_ids {
    int64_t application_id; /* {applicationId} */
    int has_application_id;
    int64_t candidate_id; /* {candidateId} */
    int has_candidate_id;
    const char *push_id; /* {pushId}, percent-encoded; NULL: empty */
};

/* Expands tmpl ({applicationId}, {candidateId}, {pushId}) into out (outsz bytes). EB_OK, or
 * EB_ERR_TOO_LARGE when it does not fit. */
eb_rc eb_rest_expand(const char *tmpl, const struct eb_rest_ids *ids, char *out, size_t outsz);

/* Replaces out with the JSON answer {"code": code, "msg": msg} plus, when pc_url or mobile_url
 * is non-empty, "redirectUrl": {"pcUrl": ..., "mobileUrl": ...}. EB_ERR_NOMEM. */
eb_rc eb_rest_answer(struct eb_buf *out, int code, const char *msg, const char *pc_url,
                     const char *mobile_url);

/* Content-Type of the answers. */
extern const char eb_rest_content_type[];

#endif

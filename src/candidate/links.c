/* The record's download links (candidate/links.h): which fields they are, their lifetimes as
 * the vendor documents them, and the expiry of one link. */
#include "candidate/links.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/candidate.h"

#define HOUR_MS    (3600LL * 1000)
#define DEFAULT_MS (48 * HOUR_MS)     /* when neither the link nor the vendor says */
#define LONGEST_MS (7 * 24 * HOUR_MS) /* an Expires= further away than this is not believed */

static int one(eb_link_fn fn, void *user, const char *field, const char *url, int64_t life)
{
    if (!url || !url[0])
        return 0;
    struct eb_link_ref l = {field, url, life};
    return fn(user, &l);
}

/* customAttachmentList: {"customUpload<id>": [{"downloadUrl": ...}, ...], ...}, 24 hours. */
static int custom_attachments(const char *text, eb_link_fn fn, void *user)
{
    if (!text || text[0] != '{')
        return 0;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!root)
        return 0;
    int rc = 0;
    const char *key;
    json_t *list;
    json_object_foreach(root, key, list)
    {
        if (!json_is_array(list))
            continue;
        for (size_t i = 0; !rc && i < json_array_size(list); i++) {
            json_t *u = json_object_get(json_array_get(list, i), "downloadUrl");
            char field[EB_LINK_FIELD_MAX];
            snprintf(field, sizeof field, "data.customAttachmentList.%.160s[%zu].downloadUrl", key,
                     i);
            if (json_is_string(u))
                rc = one(fn, user, field, json_string_value(u), 24 * HOUR_MS);
        }
        if (rc)
            break;
    }
    json_decref(root);
    return rc;
}

int eb_links_each(const struct eb_push *p, eb_link_fn fn, void *user)
{
    const struct eb_candidate *c = p ? p->data : NULL;
    char field[EB_LINK_FIELD_MAX];
    int rc = 0;
    if (!c)
        return 0;
    if ((rc = one(fn, user, "data.resumeUrl", c->resume_url, 48 * HOUR_MS)) ||
        (rc = one(fn, user, "data.portraitUrl", c->portrait_url, 1 * HOUR_MS)) ||
        (rc = one(fn, user, "data.interviewFeedbackUrl", c->interview_feedback_url, 1 * HOUR_MS)) ||
        (rc = one(fn, user, "data.extendedInterviewerFeedbackUrl",
                  c->extended_interviewer_feedback_url, 48 * HOUR_MS)) ||
        (rc = custom_attachments(c->custom_attachment_list, fn, user)))
        return rc;
    if (c->offer) {
        for (size_t i = 0; i < c->offer->attachment_list_n; i++) {
            snprintf(field, sizeof field, "data.offer.attachmentList[%zu].downloadUrl", i);
            if ((rc =
                     one(fn, user, field, c->offer->attachment_list[i].download_url, 48 * HOUR_MS)))
                return rc;
        }
        if ((rc = one(fn, user, "data.offer.offerAttachmentDownloadUrl",
                      c->offer->offer_attachment_download_url, 48 * HOUR_MS)))
            return rc;
    }
    for (size_t i = 0; i < c->attachments_n; i++) {
        snprintf(field, sizeof field, "data.attachments[%zu].url", i);
        if ((rc = one(fn, user, field, c->attachments[i].url, 0)))
            return rc;
    }
    if (c->offer_attachment &&
        (rc = one(fn, user, "data.offerAttachment.url", c->offer_attachment->url, 48 * HOUR_MS)))
        return rc;
    for (size_t i = 0; i < c->exam_attachments_n; i++) {
        snprintf(field, sizeof field, "data.examAttachments[%zu].url", i);
        if ((rc = one(fn, user, field, c->exam_attachments[i].url, 1 * HOUR_MS)))
            return rc;
    }
    return 0;
}

int64_t eb_link_expires_ms(const char *url, int64_t lifetime_ms, int64_t queued_ms)
{
    const char *q = url ? strchr(url, '?') : NULL;
    while (q) {
        q++;
        if (!strncmp(q, "Expires=", 8)) {
            const char *d = q + 8;
            size_t n = strspn(d, "0123456789");
            if (n >= 1 && n <= 12 && (d[n] == '\0' || d[n] == '&' || d[n] == '#')) {
                int64_t at = strtoll(d, NULL, 10) * 1000;
                return at < queued_ms + LONGEST_MS ? at : queued_ms + LONGEST_MS;
            }
        }
        q = strchr(q, '&');
    }
    return queued_ms + (lifetime_ms > 0 ? lifetime_ms : DEFAULT_MS);
}

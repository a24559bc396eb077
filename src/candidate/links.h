/* The record's download links: every URL field the vendor documents as a file to download
 * (resume, portrait, interview feedback, attachments, offer and exam attachments), with its
 * vendor path and the lifetime the vendor gives it. Used by the bridge (which queues them in the
 * push's transaction through the adapter's att_enqueue) and by archive/ (the expiry of a
 * link). */
#ifndef EB_LINKS_H
#define EB_LINKS_H

#include <stddef.h>
#include <stdint.h>

struct eb_push;

#define EB_LINK_FIELD_MAX 256  /* longest vendor path of a link (longer keys are cut) */
#define EB_LINK_URL_MAX   8192 /* longest URL queued; longer ones are queued cut, and refused */

/* One download link of a record. */
struct eb_link_ref {
    const char *field;   /* vendor path: "data.resumeUrl", "data.attachments[0].url" */
    const char *url;     /* as sent; never empty */
    int64_t lifetime_ms; /* the vendor's documented lifetime, 0 when it documents none */
};

/* Called once per link; a non-zero return stops the walk and is returned. */
typedef int (*eb_link_fn)(void *user, const struct eb_link_ref *link);

/* Calls fn for every non-empty download link of p->data, in a fixed order. Paths are unique
 * within one record. customAttachmentList (JSON text) is read with jansson; text that is not
 * JSON of the documented shape contributes no link. Returns 0, or fn's non-zero return. */
int eb_links_each(const struct eb_push *p, eb_link_fn fn, void *user);

/* When url's link stops working, Unix ms: its `Expires=` query parameter (Unix seconds) when
 * present (at most queued_ms + 7 days), else queued_ms + lifetime_ms, else queued_ms + 48
 * hours. */
int64_t eb_link_expires_ms(const char *url, int64_t lifetime_ms, int64_t queued_ms);

#endif

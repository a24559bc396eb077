/* Retention of personal data (--retention DAYS): a background thread that, for pushes received
 * longer ago than that, clears the payload and the raw body in push_log in small batches and
 * keeps the outcome row (push id, times, applicationId, outcome, message); and the archived
 * documents of the links queued before then (their chunks, or their files in the directory store
 * when no other row refers to the same content), the attachment row staying, marked purged,
 * with its status and SHA-256. It holds no state of
 * its own: every round starts again from the database, so a restart loses nothing. */
#ifndef EB_RETENTION_H
#define EB_RETENTION_H

#include "config.h"
#include "util/err.h"

struct eb_mapping;
struct eb_retention;

/* Opens a connection of its own (cfg->db_url, through mapping when not NULL; both must outlive
 * it) and starts the thread, whose first round runs at once, then one round every minute.
 * cfg->retention_days must be positive. Caller stops it with eb_retention_stop(). */
eb_rc eb_retention_start(const struct eb_config *cfg, const struct eb_mapping *mapping,
                         struct eb_retention **out, struct eb_err *err);

/* Stops the thread (a batch under way finishes first), closes its connection, frees r.
 * NULL-safe. */
void eb_retention_stop(struct eb_retention *r);

#endif

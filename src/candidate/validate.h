/* Validation of a mapped push. A push is refused only for what storing needs (its id, its event,
 * data.applicationId); every other value that does not fit is set aside as a warning
 * (eb_validate_tolerate). Messages name the field by its contract path and never echo values. */
#ifndef EB_VALIDATE_H
#define EB_VALIDATE_H

#include <stddef.h>

#include "candidate/candidate.h"
#include "util/err.h"

struct eb_arena;

/* EB_OK when p may be stored; EB_ERR_INVALID with err->msg naming the first problem
 * ("data.applicationId: missing", "event: expected pushCandidate", "id: missing push id")
 * otherwise. */
eb_rc eb_validate_push(const struct eb_push *p, struct eb_err *err);

/* Tolerance, after eb_validate_push: every date of the record is read by the date grammar
 * (util/date.h) and replaced by its normalised ISO 8601 text (yyyy, yyyy-MM, yyyy-MM-dd or the
 * UTC instant yyyy-MM-ddTHH:mm:ss.sssZ; birthDate, offer.checkinDate and survey[].date, which
 * the vendor gives accurate to the day, become the date in the EHR's time zone); a date that is
 * not read becomes NULL with a warning (p->warnings: path, raw text, "not a date"). The vendor's
 * now rule: in a record whose now is true (educationInfo[], experienceInfo[], projectInfo[],
 * time-period customFields[]), endDate is NULL (in a custom field's JSON value, the member
 * endDate becomes null), without a warning. birthYear outside 1900-2100 and experience below
 * -1 become NULL with a warning; an unreadable triggeredAt is kept as sent, with a warning.
 * Copies go into arena. EB_ERR_NOMEM when it is exhausted. */
eb_rc eb_validate_tolerate(struct eb_arena *arena, struct eb_push *p, struct eb_err *err);

/* 1 when the date grammar (util/date.h) reads s. */
int eb_validate_date(const char *s);

#endif

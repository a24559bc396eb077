/* Validation of a mapped push: required fields, event, ranges and the date formats the vendor
 * documents. Messages name the field by its contract path and never echo values. */
#ifndef EB_VALIDATE_H
#define EB_VALIDATE_H

#include <stddef.h>

#include "candidate/candidate.h"
#include "util/err.h"

/* EB_OK when p may be stored; EB_ERR_INVALID with err->msg naming the first problem
 * ("data.applicationId: missing", "event: expected pushCandidate", "data.birthDate: malformed
 * date") otherwise. */
eb_rc eb_validate_push(const struct eb_push *p, struct eb_err *err);

/* 1 when s is a date/time in a format the vendor uses: yyyy, yyyy-M, yyyy-M-d (also with '/'
 * or '.'), optionally followed by 'T' or ' ' and H:mm[:ss[.fraction]] and a zone (Z, +hh:mm,
 * +hhmm, +hh); or a Unix timestamp in seconds or milliseconds (9 to 13 digits). */
int eb_validate_date(const char *s);

#endif

/* The one date grammar of ehrbridge: every date or time the product reads (the record's dates,
 * triggeredAt and the --max-age window, the mapping file's date: conversions, replay's --since
 * and --until) is read by eb_date_parse, and every date it writes normalised by eb_date_format.
 *
 * Read (surrounding spaces ignored):
 * - yyyy, yyyy-M, yyyy.M, yyyy/M                       (a year; a month)
 * - yyyy-M-d, yyyy/M/d, yyyy.M.d (month and day 1 or 2 digits)       (a day)
 * - a day followed by 'T', 't' or one space and H:mm, H:mm:ss or H:mm:ss.f (fraction of 1 to 9
 *   digits after '.' or ','), then optionally a zone: Z, z, +hh, +hhmm, +hh:mm (or '-')
 * - plain digits by their number: 4 = yyyy, 8 = yyyyMMdd when that is a valid date,
 *   10 = Unix seconds, 13 = Unix milliseconds.
 * Not read: anything else (other digit counts, month or day out of range such as 2018-02-30,
 * hours past 23, words, "至今"). A date-time without a zone is a local time of the EHR's time
 * zone (eb_date_zone_set). */
#ifndef EB_DATE_H
#define EB_DATE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum eb_date_kind {
    EB_DATE_YEAR = 1, /* yyyy */
    EB_DATE_MONTH,    /* yyyy-MM */
    EB_DATE_DAY,      /* yyyy-MM-dd */
    EB_DATE_LOCAL,    /* a date-time without zone: a local time of the EHR's time zone */
    EB_DATE_INSTANT   /* a date-time with a zone, or a Unix timestamp: unix_ms */
};

/* A date as read. */
struct eb_date {
    enum eb_date_kind kind; /* what was written */
    int y, mo, d;           /* YEAR..LOCAL: the calendar fields (missing ones are 1) */
    int h, mi, s, ms;       /* LOCAL: the time of day */
    int64_t unix_ms;        /* INSTANT: milliseconds since 1970-01-01T00:00:00Z */
};

/* Longest text eb_date_format writes, with its NUL ("yyyy-MM-ddTHH:mm:ss.sssZ"). */
#define EB_DATE_TEXT_MAX 32

/* Reads s[0..len) (s need not be NUL-terminated). 0 with *out filled, -1 when not read. */
int eb_date_parse(const char *s, size_t len, struct eb_date *out);

/* The EHR's time zone for local times: an IANA name ("Asia/Shanghai") found in the system's tz
 * database, or "UTC". Call once at start, before any thread reads dates (it sets TZ for the
 * process); EB_ERR_CONFIG naming the zone when there is no such zone. The default is UTC. */
eb_rc eb_date_zone_set(const char *name, struct eb_err *err);

/* EB_OK when eb_date_zone_set would accept name; changes nothing (for the configuration). */
eb_rc eb_date_zone_check(const char *name, struct eb_err *err);

/* The instant d stands for, in Unix ms: an INSTANT as is, anything else its first millisecond
 * in the EHR's time zone (2019-08-24 in Asia/Shanghai: 2019-08-23T16:00:00.000Z). */
int64_t eb_date_ms(const struct eb_date *d);

/* Reads s and gives its instant (eb_date_ms). 0, or -1 when s is not read. NULL-safe. */
int eb_date_parse_ms(const char *s, int64_t *ms);

/* The calendar date and time of day of the instant ms at offset_min minutes east of UTC; the
 * EHR's zone when offset_min is EB_DATE_EHR_ZONE. Fills y..ms of out, kind EB_DATE_LOCAL. */
#define EB_DATE_EHR_ZONE INT32_MIN
void eb_date_civil(int64_t ms, int32_t offset_min, struct eb_date *out);

/* Normalised ISO 8601 text of d into out (EB_DATE_TEXT_MAX bytes): yyyy, yyyy-MM, yyyy-MM-dd,
 * or for a time the UTC instant yyyy-MM-ddTHH:mm:ss.sssZ. day_only = 1 (a field accurate to
 * the day): a time becomes its date in the EHR's time zone (2019-08-23T16:00:00.000Z is
 * 2019-08-24 in Asia/Shanghai). Returns the length written. */
size_t eb_date_format(const struct eb_date *d, int day_only, char *out);

#endif

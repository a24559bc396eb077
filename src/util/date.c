/* The date grammar (see date.h): reading, the EHR's time zone, normalised text. Calendar
 * arithmetic is proleptic Gregorian (H. Hinnant's days_from_civil / civil_from_days); the time
 * zone's rules come from the system's tz database through localtime_r and mktime, with TZ set
 * once at start (never per request). */
#include "util/date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/buf.h"

static int zone_is_utc = 1; /* set once by eb_date_zone_set, before threads start */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, struct eb_date *c)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c->d = (int)(doy - (153 * mp + 2) / 5 + 1);
    c->mo = (int)(mp < 10 ? mp + 3 : mp - 9);
    c->y = (int)(yoe + era * 400 + (c->mo <= 2));
}

static int days_in_month(int y, int m)
{
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return n[m - 1];
}

/* Reads min..max digits at *p (before end) into *v. 1 when read. */
static int num(const char **p, const char *end, int min, int max, int *v)
{
    int n = 0, x = 0;
    while (*p < end && n < max && **p >= '0' && **p <= '9') {
        x = x * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    if (n < min)
        return 0;
    *v = x;
    return 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Plain digits: 4 yyyy, 8 yyyyMMdd (a valid date), 10 Unix s, 13 Unix ms. */
static int parse_digits(const char *s, size_t n, struct eb_date *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    switch (n) {
    case 4:
        out->kind = EB_DATE_YEAR;
        out->y = (int)v;
        return 0;
    case 8:
        out->y = (int)(v / 10000);
        out->mo = (int)(v / 100 % 100);
        out->d = (int)(v % 100);
        if (out->mo < 1 || out->mo > 12 || out->d < 1 || out->d > days_in_month(out->y, out->mo))
            return -1;
        out->kind = EB_DATE_DAY;
        return 0;
    case 10:
        out->kind = EB_DATE_INSTANT;
        out->unix_ms = v * 1000;
        return 0;
    case 13:
        out->kind = EB_DATE_INSTANT;
        out->unix_ms = v;
        return 0;
    default:
        return -1;
    }
}

/* The time of day and zone after a day's 'T' or ' ': p..end. */
static int parse_time(const char *p, const char *end, struct eb_date *out)
{
    if (!num(&p, end, 1, 2, &out->h) || out->h > 23 || p >= end || *p++ != ':' ||
        !num(&p, end, 2, 2, &out->mi) || out->mi > 59)
        return -1;
    if (p < end && *p == ':') {
        p++;
        if (!num(&p, end, 2, 2, &out->s) || out->s > 60)
            return -1;
        if (p < end && (*p == '.' || *p == ',')) {
            p++;
            int n = 0, scale = 100;
            while (p < end && *p >= '0' && *p <= '9') {
                if (n < 3) {
                    out->ms += (*p - '0') * scale;
                    scale /= 10;
                }
                n++;
                p++;
            }
            if (n < 1 || n > 9)
                return -1;
        }
    }
    out->kind = EB_DATE_LOCAL;
    if (p == end)
        return 0;
    int zone = 0;
    if ((*p == 'Z' || *p == 'z') && p + 1 == end) {
        zone = 0;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, zh, zm = 0;
        if (!num(&p, end, 2, 2, &zh) || zh > 14)
            return -1;
        if (p < end && *p == ':')
            p++;
        if (p < end && (!num(&p, end, 2, 2, &zm) || zm > 59))
            return -1;
        if (p != end)
            return -1;
        zone = sign * (zh * 60 + zm);
    } else {
        return -1;
    }
    int64_t secs = days_from_civil(out->y, out->mo, out->d) * 86400 + out->h * 3600 + out->mi * 60 +
                   out->s - (int64_t)zone * 60;
    out->unix_ms = secs * 1000 + out->ms;
    out->kind = EB_DATE_INSTANT;
    return 0;
}

int eb_date_parse(const char *s, size_t len, struct eb_date *out)
{
    memset(out, 0, sizeof *out);
    out->mo = out->d = 1;
    if (!s)
        return -1;
    while (len && *s == ' ') {
        s++;
        len--;
    }
    while (len && s[len - 1] == ' ')
        len--;
    size_t dig = 0;
    while (dig < len && s[dig] >= '0' && s[dig] <= '9')
        dig++;
    if (dig == len)
        return len ? parse_digits(s, len, out) : -1;
    if (dig != 4)
        return -1;
    const char *p = s + 4, *end = s + len;
    out->y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    char sep = *p++;
    if ((sep != '-' && sep != '/' && sep != '.') || !num(&p, end, 1, 2, &out->mo) || out->mo < 1 ||
        out->mo > 12)
        return -1;
    if (p == end) {
        out->kind = EB_DATE_MONTH;
        return 0;
    }
    if (*p++ != sep || !num(&p, end, 1, 2, &out->d) || out->d < 1 ||
        out->d > days_in_month(out->y, out->mo))
        return -1;
    out->kind = EB_DATE_DAY;
    if (p == end)
        return 0;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    return parse_time(p + 1, end, out);
}

static int is_utc(const char *name)
{
    return !name || !*name || !strcmp(name, "UTC") || !strcmp(name, "Etc/UTC");
}

eb_rc eb_date_zone_check(const char *name, struct eb_err *err)
{
    if (is_utc(name))
        return EB_OK;
    /* a name of the tz database: letters, digits, '_', '-', '+', '/'; no "..", not absolute */
    int ok = name[0] != '/' && !strstr(name, "..") && strlen(name) < 128;
    for (const char *p = name; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '_' || *p == '-' || *p == '+' || *p == '/';
    const char *dir = getenv("TZDIR");
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    if (!ok || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return eb_err_set(err, EB_ERR_CONFIG,
                          "\"%.60s\" is not a time zone of the system's tz database (an IANA "
                          "name such as Asia/Shanghai, or UTC)",
                          name ? name : "");
    return EB_OK;
}

eb_rc eb_date_zone_set(const char *name, struct eb_err *err)
{
    eb_rc rc = eb_date_zone_check(name, err);
    if (rc)
        return rc;
    if (is_utc(name)) {
        zone_is_utc = 1;
        return EB_OK;
    }
    if (setenv("TZ", name, 1) != 0)
        return eb_err_set(err, EB_ERR_NOMEM, "timezone: out of memory");
    tzset();
    zone_is_utc = 0;
    return EB_OK;
}

int64_t eb_date_ms(const struct eb_date *d)
{
    if (d->kind == EB_DATE_INSTANT)
        return d->unix_ms;
    int64_t days = days_from_civil(d->y, d->mo, d->d);
    int64_t secs = days * 86400 + d->h * 3600 + d->mi * 60 + d->s;
    if (!zone_is_utc) {
        struct tm tm = {0};
        tm.tm_year = d->y - 1900;
        tm.tm_mon = d->mo - 1;
        tm.tm_mday = d->d;
        tm.tm_hour = d->h;
        tm.tm_min = d->mi;
        tm.tm_sec = d->s;
        tm.tm_isdst = -1;
        time_t t = mktime(&tm);
        if (t != (time_t)-1 || (tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31))
            secs = (int64_t)t;
    }
    return secs * 1000 + d->ms;
}

int eb_date_parse_ms(const char *s, int64_t *ms)
{
    struct eb_date d;
    if (!s || eb_date_parse(s, strlen(s), &d))
        return -1;
    *ms = eb_date_ms(&d);
    return 0;
}

void eb_date_civil(int64_t ms, int32_t offset_min, struct eb_date *out)
{
    memset(out, 0, sizeof *out);
    out->kind = EB_DATE_LOCAL;
    int64_t secs = floor_div(ms, 1000);
    out->ms = (int)(ms - secs * 1000);
    if (offset_min == EB_DATE_EHR_ZONE && !zone_is_utc) {
        struct tm tm;
        time_t t = (time_t)secs;
        if (localtime_r(&t, &tm)) {
            out->y = tm.tm_year + 1900;
            out->mo = tm.tm_mon + 1;
            out->d = tm.tm_mday;
            out->h = tm.tm_hour;
            out->mi = tm.tm_min;
            out->s = tm.tm_sec;
            return;
        }
    }
    if (offset_min != EB_DATE_EHR_ZONE)
        secs += (int64_t)offset_min * 60;
    int64_t days = floor_div(secs, 86400), rest = secs - days * 86400;
    civil_from_days(days, out);
    out->h = (int)(rest / 3600);
    out->mi = (int)(rest / 60 % 60);
    out->s = (int)(rest % 60);
}

/* c's year (parts = 1), year-month (2) or date (3), then its time of day and 'Z' when time is 1,
 * as snprintf's "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" writes them: digit by digit when every
 * field fits its width (every date of the grammar's four-digit years; a validated push holds
 * several, and snprintf costs ten times as much), else by snprintf. */
static size_t put_date(const struct eb_date *c, int parts, int time, char *out)
{
    if (c->y >= 0 && c->y <= 9999 && c->mo >= 0 && c->mo <= 99 && c->d >= 0 && c->d <= 99 &&
        (!time || (c->h >= 0 && c->h <= 99 && c->mi >= 0 && c->mi <= 99 && c->s >= 0 &&
                   c->s <= 99 && c->ms >= 0 && c->ms <= 999))) {
        /* "YYYY-MM-DDTHH:MM:SS.mmmZ", cut after the parts asked for */
        static const size_t len[2][4] = {{0, 4, 7, 10}, {0, 4, 7, 24}};
        memcpy(out, "0000-00-00T00:00:00.000Z", 24);
        eb_dec_fixed(out, (unsigned)c->y, 4);
        eb_dec_fixed(out + 5, (unsigned)c->mo, 2);
        eb_dec_fixed(out + 8, (unsigned)c->d, 2);
        if (time) {
            eb_dec_fixed(out + 11, (unsigned)c->h, 2);
            eb_dec_fixed(out + 14, (unsigned)c->mi, 2);
            eb_dec_fixed(out + 17, (unsigned)c->s, 2);
            eb_dec_fixed(out + 20, (unsigned)c->ms, 3);
        }
        size_t n = len[time != 0][parts];
        out[n] = '\0';
        return n;
    }
    int n = time ? snprintf(out, EB_DATE_TEXT_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", c->y,
                            c->mo, c->d, c->h, c->mi, c->s, c->ms)
            : parts == 1 ? snprintf(out, EB_DATE_TEXT_MAX, "%04d", c->y)
            : parts == 2 ? snprintf(out, EB_DATE_TEXT_MAX, "%04d-%02d", c->y, c->mo)
                         : snprintf(out, EB_DATE_TEXT_MAX, "%04d-%02d-%02d", c->y, c->mo, c->d);
    return n < 0 ? 0 : (size_t)n >= EB_DATE_TEXT_MAX ? EB_DATE_TEXT_MAX - 1 : (size_t)n;
}

size_t eb_date_format(const struct eb_date *d, int day_only, char *out)
{
    struct eb_date c;
    switch (d->kind) {
    case EB_DATE_YEAR:
        return put_date(d, 1, 0, out);
    case EB_DATE_MONTH:
        return put_date(d, 2, 0, out);
    case EB_DATE_DAY:
        return put_date(d, 3, 0, out);
    default:
        if (!day_only) {
            eb_date_civil(eb_date_ms(d), 0, &c);
            return put_date(&c, 3, 1, out);
        }
        if (d->kind == EB_DATE_INSTANT)
            eb_date_civil(d->unix_ms, EB_DATE_EHR_ZONE, &c);
        else
            c = *d; /* a local time is already in the EHR's zone */
        return put_date(&c, 3, 0, out);
    }
}

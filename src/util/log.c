/* Logging to stderr: text ("time level msg key=value ...", the values in logfmt: a value with
 * a blank, '=', '"' or a control character, or an empty one, is written in double quotes with
 * '"', '\\' and control characters escaped) or JSON lines. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum eb_log_level min_level = EB_LOG_INFO;
static enum eb_log_format format = EB_LOG_TEXT;
static _Thread_local uint64_t request_id; /* the calling thread's request, 0 = none */

void eb_log_set_request(uint64_t id)
{
    request_id = id;
}

uint64_t eb_log_request(void)
{
    return request_id;
}

void eb_log_setup(enum eb_log_level min, enum eb_log_format fmt)
{
    min_level = min;
    format = fmt;
}

static const char *level_name(enum eb_log_level l)
{
    switch (l) {
    case EB_LOG_DEBUG:
        return "debug";
    case EB_LOG_INFO:
        return "info";
    case EB_LOG_WARN:
        return "warn";
    case EB_LOG_ERROR:
        return "error";
    }
    return "info";
}

/* Appends s to the line, escaped for JSON strings or as a text (logfmt) value or key. */
static void put_escaped(char *line, size_t *len, size_t cap, const char *s, int json)
{
    int quote = !json && (!*s || strpbrk(s, " =\"\t\r\n\\") != NULL);
    for (const char *p = s; !quote && !json && *p; p++)
        quote = (unsigned char)*p < 0x20 || *p == 0x7f;
    if (quote)
        line[(*len)++] = '"';
    for (; *s && *len + 10 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            line[(*len)++] = '\\';
            line[(*len)++] = (char)c;
        } else if (!json && (c == '\n' || c == '\t' || c == '\r')) {
            line[(*len)++] = '\\';
            line[(*len)++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
        } else if (c < 0x20 || (!json && c == 0x7f)) {
            *len += (size_t)snprintf(line + *len, cap - *len, json ? "\\u%04x" : "\\x%02x", c);
        } else {
            line[(*len)++] = (char)c;
        }
    }
    if (quote)
        line[(*len)++] = '"';
}

void eb_log(enum eb_log_level level, const char *msg, ...)
{
    if (level < min_level)
        return;
    char line[2048];
    size_t len = 0, cap = sizeof line;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    int json = format == EB_LOG_JSON;
    if (json) {
        len += (size_t)snprintf(line + len, cap - len, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"",
                                when, level_name(level));
        put_escaped(line, &len, cap, msg, 1);
        line[len++] = '"';
    } else {
        len += (size_t)snprintf(line + len, cap - len, "%s %s %s", when, level_name(level), msg);
    }
    if (request_id)
        len += (size_t)snprintf(line + len, cap - len,
                                json ? ",\"request\":\"%llu\"" : " request=%llu",
                                (unsigned long long)request_id);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *val = va_arg(ap, const char *);
        if (!val)
            val = "-";
        if (len + 16 >= cap)
            break;
        if (json) {
            line[len++] = ',';
            line[len++] = '"';
            put_escaped(line, &len, cap, key, 1);
            line[len++] = '"';
            line[len++] = ':';
            line[len++] = '"';
            put_escaped(line, &len, cap, val, 1);
            line[len++] = '"';
        } else {
            line[len++] = ' ';
            put_escaped(line, &len, cap, key, 0);
            line[len++] = '=';
            put_escaped(line, &len, cap, val, 0);
        }
    }
    va_end(ap);
    if (json && len + 2 < cap)
        line[len++] = '}';
    if (len >= cap - 1)
        len = cap - 2;
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}

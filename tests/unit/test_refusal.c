/* Unit tests of util/refusal.c, the trace of refused requests: a burst of lines, then one per
 * interval, the refusals in between counted in the next line's suppressed=N (the clock is the
 * test's); every field bounded (a long or binary path, a Content-Length that is not a number);
 * no line over 512 bytes. The log lines are read back from stderr, sent to a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "util/log.h"
#include "util/refusal.h"

static FILE *out; /* stderr's file */
static long seen; /* bytes of it already read */

/* The lines written since the last call, into buf (cap bytes); returns how many. */
static int new_lines(char *buf, size_t cap)
{
    fflush(stderr);
    fseek(out, seen, SEEK_SET);
    size_t n = fread(buf, 1, cap - 1, out);
    buf[n] = '\0';
    seen += (long)n;
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    return lines;
}

static void test_bucket(void)
{
    char buf[1 << 16];
    struct eb_refusal r = {.status = 401,
                           .reason = "no_credentials",
                           .peer = "192.0.2.7",
                           .path = "/pushCandidate",
                           .content_length = "1048576"};
    int64_t t = 5000000;
    int written = 0;
    for (int i = 0; i < 25; i++)
        written += eb_refusal_log(&r, t);
    CHECK(written == EB_REFUSAL_BURST);
    CHECK(new_lines(buf, sizeof buf) == EB_REFUSAL_BURST);
    CHECK(strstr(buf, "request refused") && strstr(buf, "status=401") &&
          strstr(buf, "reason=no_credentials") && strstr(buf, "peer=192.0.2.7") &&
          strstr(buf, "path=/pushCandidate") && strstr(buf, "declared_size=1048576") &&
          strstr(buf, "suppressed=-"));
    /* just before the interval: still suppressed; at it, one line that counts the others */
    CHECK(eb_refusal_log(&r, t + EB_REFUSAL_INTERVAL_MS - 1) == 0);
    CHECK(eb_refusal_log(&r, t + EB_REFUSAL_INTERVAL_MS) == 1);
    CHECK(eb_refusal_log(&r, t + EB_REFUSAL_INTERVAL_MS + 1) == 0);
    CHECK(new_lines(buf, sizeof buf) == 1);
    CHECK(strstr(buf, "suppressed=16") != NULL);
    /* an hour of a refusal every millisecond writes one line per interval */
    written = 0;
    int64_t start = t + 2 * EB_REFUSAL_INTERVAL_MS;
    for (int64_t ms = start; ms < start + 3600 * 1000; ms++)
        written += eb_refusal_log(&r, ms);
    CHECK(written == 3600 * 1000 / EB_REFUSAL_INTERVAL_MS);
    new_lines(buf, sizeof buf);
    /* after a quiet time the whole burst is back, and no more */
    t = start + 3600 * 1000 + EB_REFUSAL_BURST * EB_REFUSAL_INTERVAL_MS * 5;
    written = 0;
    for (int i = 0; i < 3 * EB_REFUSAL_BURST; i++)
        written += eb_refusal_log(&r, t);
    CHECK(written == EB_REFUSAL_BURST);
    CHECK(new_lines(buf, sizeof buf) == EB_REFUSAL_BURST);
    /* a clock that goes back writes nothing more */
    CHECK(eb_refusal_log(&r, t - 100000) == 0);
}

static void test_fields_are_bounded(void)
{
    char buf[1 << 16], path[4096], longer[300];
    memset(path, 'a', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    path[3] = '\n';
    path[4] = '"';
    path[5] = (char)0xe4;
    memset(longer, '9', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    struct eb_refusal r = {.status = 403,
                           .reason = longer,
                           .peer = longer,
                           .client = longer,
                           .path = path,
                           .content_length = "12x"};
    CHECK(eb_refusal_log(&r, 90000000000) == 1);
    CHECK(new_lines(buf, sizeof buf) == 1);
    CHECK(strlen(buf) < 512);
    CHECK(strstr(buf, "declared_size=invalid") != NULL);
    CHECK(strstr(buf, "path=aaa???aaa") != NULL);
    CHECK(strstr(buf, "a...") != NULL);
    r.content_length = "123456789012345678901";
    r.path = NULL;
    r.client = "";
    CHECK(eb_refusal_log(&r, 90000000000) == 1);
    new_lines(buf, sizeof buf);
    CHECK(strstr(buf, "declared_size=invalid") && strstr(buf, "client=-"));
    r.content_length = NULL;
    r.chunked = 1;
    CHECK(eb_refusal_log(&r, 90000000000) == 1);
    new_lines(buf, sizeof buf);
    CHECK(strstr(buf, "declared_size=chunked") != NULL);
    r.chunked = 0;
    CHECK(eb_refusal_log(&r, 90000000000) == 1);
    new_lines(buf, sizeof buf);
    CHECK(strstr(buf, "declared_size=none") != NULL);
}

int main(void)
{
    out = tmpfile();
    if (!out || dup2(fileno(out), STDERR_FILENO) < 0)
        return 2;
    eb_log_setup(EB_LOG_INFO, EB_LOG_TEXT);
    test_bucket();
    test_fields_are_bounded();
    return check_report("test_refusal");
}

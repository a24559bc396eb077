/* Log lines: text values in logfmt (quoted when they hold a blank, '=', '"' or a control
 * character, or are empty), JSON lines unchanged. stderr is captured in a temporary file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "util/log.h"

/* Logs one line with key=val in fmt and returns what follows the timestamp (static). */
static const char *logged(enum eb_log_format fmt, const char *key, const char *val)
{
    static char out[4096];
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    eb_log_setup(EB_LOG_DEBUG, fmt);
    eb_log(EB_LOG_INFO, "push", key, val, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, sizeof out - 1, tmp);
    fclose(tmp);
    out[n] = '\0';
    char *nl = strchr(out, '\n');
    if (nl)
        *nl = '\0';
    const char *sp = strchr(out, ' '); /* past the time */
    if (fmt == EB_LOG_JSON)
        return strstr(out, "\"level\"") ? strstr(out, "\"level\"") : out;
    return sp ? sp + 1 : out;
}

int main(void)
{
    CHECK_STR(logged(EB_LOG_TEXT, "message", "data.birthYear: malformed number"),
              "info push message=\"data.birthYear: malformed number\"");
    CHECK_STR(logged(EB_LOG_TEXT, "outcome", "stored"), "info push outcome=stored");
    CHECK_STR(logged(EB_LOG_TEXT, "v", ""), "info push v=\"\"");
    CHECK_STR(logged(EB_LOG_TEXT, "v", "a=b"), "info push v=\"a=b\"");
    CHECK_STR(logged(EB_LOG_TEXT, "v", "say \"hi\"\\"), "info push v=\"say \\\"hi\\\"\\\\\"");
    CHECK_STR(logged(EB_LOG_TEXT, "v", "two\nlines\t"), "info push v=\"two\\nlines\\t\"");
    CHECK_STR(logged(EB_LOG_TEXT, "v", "bell\a"), "info push v=\"bell\\x07\"");
    CHECK_STR(logged(EB_LOG_TEXT, "v", NULL), "info push v=-");
    CHECK_STR(logged(EB_LOG_TEXT, "v", "路径"), "info push v=路径");
    /* the JSON lines are as they were: control characters as \u00XX */
    CHECK_STR(logged(EB_LOG_JSON, "message", "a b\n\"c\""),
              "\"level\":\"info\",\"msg\":\"push\",\"message\":\"a b\\u000a\\\"c\\\"\"}");
    /* a value cut at the line's end keeps its closing quote */
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[10] = ' ';
    const char *line = logged(EB_LOG_TEXT, "v", big);
    CHECK(line[strlen(line) - 1] == '"');
    return check_report("test_log");
}

/* Unit tests of the --db-wait setting of config.c (how long serve waits at start for a database it
 * cannot reach yet): its default, its three sources and its validation messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"

/* Loads with a NULL-terminated list of flags and environment entries. */
static eb_rc load(struct eb_config *c, const char **flags, const char **env, struct eb_err *err)
{
    int argc = 0;
    while (flags && flags[argc])
        argc++;
    eb_err_clear(err);
    return eb_config_load(c, argc, (char **)flags, (char **)env, NULL, err);
}

static void test_values(void)
{
    struct eb_config c;
    struct eb_err err;
    CHECK(load(&c, NULL, NULL, &err) == EB_OK);
    CHECK(c.db_wait_ms == 0); /* the default: no wait */
    const char *f1[] = {"--db-wait", "60", NULL};
    CHECK(load(&c, f1, NULL, &err) == EB_OK);
    CHECK(c.db_wait_ms == 60000);
    const char *f2[] = {"--db-wait=0", NULL};
    CHECK(load(&c, f2, NULL, &err) == EB_OK);
    CHECK(c.db_wait_ms == 0);
    const char *f3[] = {"--db-wait", "2m", NULL};
    CHECK(load(&c, f3, NULL, &err) == EB_OK);
    CHECK(c.db_wait_ms == 120000);
    const char *e1[] = {"EHRBRIDGE_DB_WAIT=2.5", NULL};
    CHECK(load(&c, NULL, e1, &err) == EB_OK);
    CHECK(c.db_wait_ms == 2500);
    /* the flag wins over the environment */
    const char *f4[] = {"--db-wait", "500ms", NULL};
    CHECK(load(&c, f4, e1, &err) == EB_OK);
    CHECK(c.db_wait_ms == 500);
}

static void test_errors(void)
{
    struct eb_config c;
    struct eb_err err;
    const char *f1[] = {"--db-wait", "forever", NULL};
    CHECK(load(&c, f1, NULL, &err) == EB_ERR_CONFIG);
    CHECK_STR(err.msg, "--db-wait: must be a number of seconds up to 24h such as 60, or 0 for no "
                       "wait (got \"forever\")");
    const char *f2[] = {"--db-wait", "-1", NULL};
    CHECK(load(&c, f2, NULL, &err) == EB_ERR_CONFIG);
    const char *f3[] = {"--db-wait", "2d", NULL};
    CHECK(load(&c, f3, NULL, &err) == EB_ERR_CONFIG);
    const char *e1[] = {"EHRBRIDGE_DB_WAIT=90000", NULL};
    CHECK(load(&c, NULL, e1, &err) == EB_ERR_CONFIG);
    CHECK_STR(err.msg, "EHRBRIDGE_DB_WAIT: must be a number of seconds up to 24h such as 60, or 0 "
                       "for no wait (got \"90000\")");
}

static void test_usage(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    eb_config_usage(f);
    fclose(f);
    CHECK(text && strstr(text, "--db-wait") && strstr(text, "EHRBRIDGE_DB_WAIT"));
    free(text);
}

int main(void)
{
    test_values();
    test_errors();
    test_usage();
    return check_report("test_config_db_wait");
}

/* Unit tests of config.c: defaults, precedence (flag > environment > file > default), the
 * config file format, value syntax (sizes, durations, listen addresses) and every validation
 * message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

static char tmpdir[] = "/tmp/eb_test_config_XXXXXX";

/* Writes text to a file in tmpdir; returns its path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* Loads with a NULL-terminated list of flags and environment entries. */
static eb_rc load(struct eb_config *c, const char **flags, const char **env, struct eb_err *err)
{
    int argc = 0;
    while (flags && flags[argc])
        argc++;
    eb_err_clear(err);
    return eb_config_load(c, argc, (char **)flags, (char **)env, NULL, err);
}

/* Expects loading to fail with exactly msg. */
static void expect_error(const char **flags, const char **env, const char *msg)
{
    struct eb_config c;
    struct eb_err err;
    eb_rc rc = load(&c, flags, env, &err);
    CHECK(rc == EB_ERR_CONFIG);
    CHECK_STR(err.msg, msg);
}

static void test_defaults(void)
{
    struct eb_config c;
    struct eb_err err;
    CHECK(load(&c, NULL, NULL, &err) == EB_OK);
    CHECK_STR(c.listen_host, "0.0.0.0");
    CHECK(c.listen_port == 8080);
    CHECK_STR(c.db_url, "sqlite:ehrbridge.db");
    CHECK_STR(c.public_url, "");
    CHECK(c.max_body == 8u * 1024 * 1024);
    CHECK(c.max_header == 16u * 1024);
    CHECK(c.max_buffered == 0); /* 64 MiB, or max_body when larger (transport/server.h) */
    CHECK(c.request_timeout_ms == 30000);
    CHECK(c.keepalive_timeout_ms == 15000);
    CHECK(c.workers >= 4);
    CHECK(c.max_connections == 1024);
    CHECK(c.max_connections_per_peer == 256);
    CHECK(c.log_level == EB_LOG_INFO);
    CHECK(c.log_format == EB_LOG_TEXT);
    CHECK_STR(c.config_file, "");
}

static void test_precedence(void)
{
    const char *file = write_file("prec.conf", "# a comment\n"
                                               "\n"
                                               "listen = 10.0.0.1:1001\n"
                                               "db = sqlite:/file.db\n"
                                               "  public_url = \"https://file.example/push\"  \n"
                                               "workers = 3\n"
                                               "max-body = 1M\n");
    char cfg_env[300];
    snprintf(cfg_env, sizeof cfg_env, "EHRBRIDGE_CONFIG=%s", file);
    struct eb_config c;
    struct eb_err err;

    /* file over defaults */
    const char *env1[] = {cfg_env, NULL};
    CHECK(load(&c, NULL, env1, &err) == EB_OK);
    CHECK_STR(c.listen_host, "10.0.0.1");
    CHECK(c.listen_port == 1001);
    CHECK_STR(c.db_url, "sqlite:/file.db");
    CHECK_STR(c.public_url, "https://file.example/push");
    CHECK(c.workers == 3);
    CHECK(c.max_body == 1024u * 1024);
    CHECK_STR(c.config_file, file);
    CHECK(c.max_connections == 1024); /* not in the file: default */

    /* environment over file */
    const char *env2[] = {cfg_env,
                          "EHRBRIDGE_LISTEN=10.0.0.2:1002",
                          "EHRBRIDGE_DB=sqlite:/env.db",
                          "EHRBRIDGE_WORKERS=", /* empty: ignored */
                          "EHRBRIDGE_MAX_CONNECTIONS_PER_PEER=7",
                          "OTHER=1",
                          NULL};
    CHECK(load(&c, NULL, env2, &err) == EB_OK);
    CHECK_STR(c.listen_host, "10.0.0.2");
    CHECK(c.listen_port == 1002);
    CHECK_STR(c.db_url, "sqlite:/env.db");
    CHECK_STR(c.public_url, "https://file.example/push");
    CHECK(c.workers == 3);
    CHECK(c.max_connections_per_peer == 7);

    /* flags over environment */
    const char *flags[] = {"--listen", "10.0.0.3:1003", "--db=sqlite:/flag.db", "--workers", "9",
                           NULL};
    CHECK(load(&c, flags, env2, &err) == EB_OK);
    CHECK_STR(c.listen_host, "10.0.0.3");
    CHECK(c.listen_port == 1003);
    CHECK_STR(c.db_url, "sqlite:/flag.db");
    CHECK(c.workers == 9);
    CHECK(c.max_connections_per_peer == 7);
    CHECK_STR(c.public_url, "https://file.example/push");

    /* --config beats EHRBRIDGE_CONFIG */
    const char *other = write_file("other.conf", "listen = 10.9.9.9:999\n");
    char other_path[256];
    snprintf(other_path, sizeof other_path, "%s", other);
    const char *flags2[] = {"--config", other_path, NULL};
    CHECK(load(&c, flags2, env1, &err) == EB_OK);
    CHECK_STR(c.listen_host, "10.9.9.9");
    CHECK_STR(c.db_url, "sqlite:ehrbridge.db");

    /* the last of a repeated flag wins */
    const char *flags3[] = {"--workers", "5", "--workers", "6", NULL};
    CHECK(load(&c, flags3, NULL, &err) == EB_OK);
    CHECK(c.workers == 6);
}

static void test_values(void)
{
    struct eb_config c;
    struct eb_err err;
    const char *f1[] = {"--listen", "[::1]:8443", NULL};
    CHECK(load(&c, f1, NULL, &err) == EB_OK);
    CHECK_STR(c.listen_host, "::1");
    CHECK(c.listen_port == 8443);
    char text[300];
    eb_config_listen_text(&c, text, sizeof text);
    CHECK_STR(text, "[::1]:8443");
    const char *f2[] = {"--listen", ":9000", NULL};
    CHECK(load(&c, f2, NULL, &err) == EB_OK);
    CHECK_STR(c.listen_host, "0.0.0.0");
    CHECK(c.listen_port == 9000);
    const char *f3[] = {"--listen=localhost:1", NULL};
    CHECK(load(&c, f3, NULL, &err) == EB_OK);
    CHECK_STR(c.listen_host, "localhost");
    CHECK(c.listen_port == 1);
    const char *f3b[] = {"--listen", "[::]:65535", NULL};
    CHECK(load(&c, f3b, NULL, &err) == EB_OK);
    CHECK_STR(c.listen_host, "::");

    /* sizes: plain bytes, K, M, G (powers of 1024), KB/KiB spellings */
    const char *f4[] = {"--max-body", "512K", "--max-header", "2048", NULL};
    CHECK(load(&c, f4, NULL, &err) == EB_OK);
    CHECK(c.max_body == 512u * 1024);
    CHECK(c.max_header == 2048);
    const char *f5[] = {"--max-body", "16m", "--max-header", "32KiB", NULL};
    CHECK(load(&c, f5, NULL, &err) == EB_OK);
    CHECK(c.max_body == 16u * 1024 * 1024);
    CHECK(c.max_header == 32u * 1024);
    const char *f6[] = {"--max-body", "1G", "--max-header", "64KB", NULL};
    CHECK(load(&c, f6, NULL, &err) == EB_OK);
    CHECK(c.max_body == 1024u * 1024 * 1024);
    CHECK(c.max_header == 64u * 1024);
    CHECK(c.max_buffered == 0); /* the default follows a larger max_body */

    /* the memory of bodies in flight: flag, environment, never below max_body */
    const char *fb[] = {"--max-buffered", "256M", NULL};
    CHECK(load(&c, fb, NULL, &err) == EB_OK);
    CHECK(c.max_buffered == 256u * 1024 * 1024);
    const char *eb[] = {"EHRBRIDGE_MAX_BUFFERED=8M", NULL};
    CHECK(load(&c, NULL, eb, &err) == EB_OK);
    CHECK(c.max_buffered == 8u * 1024 * 1024);
    const char *fb2[] = {"--max-body", "16M", "--max-buffered", "8M", NULL};
    expect_error(fb2, NULL,
                 "--max-buffered (8388608 bytes) must be at least --max-body (16777216 bytes)");
    const char *fb3[] = {"--max-buffered", "0", NULL};
    expect_error(fb3, NULL, "--max-buffered: must be between 1K and 64G (got \"0\")");

    /* durations: seconds, fractions, ms, s, m */
    const char *f7[] = {"--request-timeout", "45", "--keepalive-timeout", "0.5", NULL};
    CHECK(load(&c, f7, NULL, &err) == EB_OK);
    CHECK(c.request_timeout_ms == 45000);
    CHECK(c.keepalive_timeout_ms == 500);
    const char *f8[] = {"--request-timeout", "250ms", "--keepalive-timeout", "2m", NULL};
    CHECK(load(&c, f8, NULL, &err) == EB_OK);
    CHECK(c.request_timeout_ms == 250);
    CHECK(c.keepalive_timeout_ms == 120000);

    const char *f9[] = {"--log-level",
                        "DEBUG",
                        "--log-format",
                        "json",
                        "--max-connections",
                        "10",
                        "--public-url",
                        "http://ehr.example:8080/push",
                        NULL};
    CHECK(load(&c, f9, NULL, &err) == EB_OK);
    CHECK(c.log_level == EB_LOG_DEBUG);
    CHECK(c.log_format == EB_LOG_JSON);
    CHECK(c.max_connections == 10);
    CHECK_STR(c.public_url, "http://ehr.example:8080/push");

    /* the database URL from a secret file */
    const char *secret = write_file("db.secret", "postgresql://u:secret@db/ehr\n");
    char arg[300];
    snprintf(arg, sizeof arg, "--db-file=%s", secret);
    const char *f10[] = {arg, NULL};
    CHECK(load(&c, f10, NULL, &err) == EB_OK);
    CHECK_STR(c.db_url, "postgresql://u:secret@db/ehr");

    /* positional arguments: an error unless the caller takes them */
    const char *f11[] = {"--workers", "4", "extra", NULL};
    int argi = -1;
    CHECK(eb_config_load(&c, 3, (char **)f11, NULL, &argi, &err) == EB_OK);
    CHECK(argi == 2);
    expect_error(f11, NULL, "unexpected argument \"extra\"");
}

static void test_errors(void)
{
    const char *a1[] = {"--listen", "99999", NULL};
    expect_error(a1, NULL, "--listen: must be HOST:PORT, e.g. 0.0.0.0:8080 (got \"99999\")");
    const char *a2[] = {"--listen", "127.0.0.1:99999", NULL};
    expect_error(a2, NULL, "--listen: port must be 1-65535 (got \"99999\")");
    const char *a3[] = {"--listen", "127.0.0.1:http", NULL};
    expect_error(a3, NULL, "--listen: port must be 1-65535 (got \"http\")");
    const char *a4[] = {"--listen", "127.0.0.1:0", NULL};
    expect_error(a4, NULL, "--listen: port must be 1-65535 (got \"0\")");
    const char *a5[] = {"--listen", "::1:8080", NULL};
    expect_error(a5, NULL,
                 "--listen: an IPv6 address needs brackets, e.g. [::1]:8080 (got \"::1:8080\")");
    const char *a6[] = {"--listen", "[nope]:80", NULL};
    expect_error(a6, NULL, "--listen: not an IPv6 address (got \"nope\")");
    const char *a7[] = {"--listen", "[::1]8080", NULL};
    expect_error(a7, NULL, "--listen: must be [IPV6]:PORT, e.g. [::1]:8080 (got \"[::1]8080\")");
    const char *a8[] = {"--listen", "a b:80", NULL};
    expect_error(a8, NULL, "--listen: not a host name or address (got \"a b\")");

    const char *e1[] = {"EHRBRIDGE_LISTEN=x:70000", NULL};
    expect_error(NULL, e1, "EHRBRIDGE_LISTEN: port must be 1-65535 (got \"70000\")");

    /* the database URL is never repeated (it may hold a password) */
    const char *d1[] = {"--db", "secret-password", NULL};
    expect_error(d1, NULL,
                 "--db: must be a database URL such as sqlite:PATH or postgresql://HOST/DB");
    const char *d2[] = {"--db-file", "/nonexistent/secret", NULL};
    expect_error(d2, NULL, "--db-file: cannot read /nonexistent/secret: No such file or directory");

    const char *p1[] = {"--public-url", "ftp://x/y", NULL};
    expect_error(p1, NULL, "--public-url: must start with http:// or https:// (got \"ftp://x/y\")");
    const char *p2[] = {"--public-url", "https:///path", NULL};
    expect_error(p2, NULL, "--public-url: has no host (got \"https:///path\")");
    const char *p3[] = {"--public-url", "http://a b/", NULL};
    expect_error(p3, NULL, "--public-url: contains a space or a character not allowed in a URL");

    const char *s1[] = {"--max-body", "lots", NULL};
    expect_error(s1, NULL,
                 "--max-body: must be a size in bytes such as 65536, 512K or 8M (got \"lots\")");
    const char *s2[] = {"--max-body", "2G", NULL};
    expect_error(s2, NULL, "--max-body: must be between 1K and 1G (got \"2G\")");
    const char *s3[] = {"--max-header", "100", NULL};
    expect_error(s3, NULL, "--max-header: must be between 1K and 1M (got \"100\")");
    const char *s4[] = {"--max-body", "8X", NULL};
    expect_error(s4, NULL,
                 "--max-body: must be a size in bytes such as 65536, 512K or 8M (got \"8X\")");
    const char *s5[] = {"--max-body", "-5", NULL};
    expect_error(s5, NULL,
                 "--max-body: must be a size in bytes such as 65536, 512K or 8M (got \"-5\")");

    const char *t1[] = {"--request-timeout", "soon", NULL};
    expect_error(t1, NULL,
                 "--request-timeout: must be a number of seconds such as 30, 0.5 or "
                 "500ms (got \"soon\")");
    const char *t2[] = {"--keepalive-timeout", "0", NULL};
    expect_error(t2, NULL, "--keepalive-timeout: must be between 1ms and 24h (got \"0\")");
    const char *t3[] = {"--request-timeout", "2d", NULL};
    expect_error(t3, NULL,
                 "--request-timeout: must be a number of seconds such as 30, 0.5 or "
                 "500ms (got \"2d\")");
    const char *t4[] = {"--request-timeout", "90000", NULL};
    expect_error(t4, NULL, "--request-timeout: must be between 1ms and 24h (got \"90000\")");

    const char *w1[] = {"--workers", "0", NULL};
    expect_error(w1, NULL, "--workers: must be a whole number between 1 and 1024 (got \"0\")");
    const char *w2[] = {"--max-connections", "many", NULL};
    expect_error(w2, NULL,
                 "--max-connections: must be a whole number between 1 and 1000000 (got \"many\")");
    const char *w3[] = {"--max-connections-per-peer", "1.5", NULL};
    expect_error(w3, NULL,
                 "--max-connections-per-peer: must be a whole number between 1 and "
                 "1000000 (got \"1.5\")");

    const char *l1[] = {"--log-level", "loud", NULL};
    expect_error(l1, NULL, "--log-level: must be debug, info, warn or error (got \"loud\")");
    const char *l2[] = {"--log-format", "xml", NULL};
    expect_error(l2, NULL, "--log-format: must be text or json (got \"xml\")");

    const char *o1[] = {"--lisen", "x", NULL};
    expect_error(o1, NULL, "unknown option \"--lisen\" (see --help)");
    const char *o2[] = {"-l", NULL};
    expect_error(o2, NULL, "unknown option \"-l\" (see --help)");
    const char *o3[] = {"--listen", NULL};
    expect_error(o3, NULL, "--listen: missing value");
    const char *o4[] = {"--db", "--listen", "x:1", NULL};
    expect_error(o4, NULL, "--db: missing value");

    /* the config file */
    char arg[300], msg[400];
    const char *bad_key = write_file("badkey.conf", "# ok\nlisten = 127.0.0.1:80\nlisen = x\n");
    snprintf(arg, sizeof arg, "--config=%s", bad_key);
    snprintf(msg, sizeof msg, "config file %s line 3: unknown key \"lisen\"", bad_key);
    const char *c1[] = {arg, NULL};
    expect_error(c1, NULL, msg);

    const char *bad_val = write_file("badval.conf", "\n\nmax_body = huge\n");
    snprintf(arg, sizeof arg, "--config=%s", bad_val);
    snprintf(msg, sizeof msg,
             "config file %s line 3: max_body: must be a size in bytes such as 65536, 512K or 8M "
             "(got \"huge\")",
             bad_val);
    expect_error(c1, NULL, msg);

    const char *no_eq = write_file("noeq.conf", "listen 127.0.0.1:80\n");
    snprintf(arg, sizeof arg, "--config=%s", no_eq);
    snprintf(msg, sizeof msg, "config file %s line 1: expected key = value", no_eq);
    expect_error(c1, NULL, msg);

    const char *e2[] = {"EHRBRIDGE_CONFIG=/nonexistent/eb.conf", NULL};
    expect_error(NULL, e2,
                 "config file /nonexistent/eb.conf: cannot open: No such file or directory");
}

static void test_usage(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    eb_config_usage(f);
    fclose(f);
    const char *words[] = {"--listen",       "EHRBRIDGE_LISTEN",
                           "--db",           "EHRBRIDGE_DB",
                           "--public-url",   "EHRBRIDGE_PUBLIC_URL",
                           "--max-body",     "max_connections_per_peer",
                           "--max-buffered", "EHRBRIDGE_MAX_BUFFERED",
                           "--config",       "EHRBRIDGE_CONFIG",
                           "--log-format",   "key = value"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        CHECK(text && strstr(text, words[i]));
    free(text);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_defaults();
    test_precedence();
    test_values();
    test_errors();
    test_usage();
    const char *names[] = {"prec.conf",   "other.conf",  "db.secret",
                           "badkey.conf", "badval.conf", "noeq.conf"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    return check_report("test_config");
}

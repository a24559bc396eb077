/* Unit tests of the security and REST settings of config.c: TLS files, secrets given as values,
 * environment variables or files (container secrets), the AES key and IV as text or hex, address
 * lists, redirect templates, --max-age, the settings that only go together, and that no secret
 * ever appears in a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

static char tmpdir[] = "/tmp/eb_test_config_sec_XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[4][256];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

static eb_rc load(struct eb_config *c, const char **flags, const char **env, struct eb_err *err)
{
    int argc = 0;
    while (flags && flags[argc])
        argc++;
    eb_err_clear(err);
    return eb_config_load(c, argc, (char **)flags, (char **)env, NULL, err);
}

static void expect_error(const char **flags, const char **env, const char *part, const char *secret)
{
    struct eb_config c;
    struct eb_err err;
    CHECK(load(&c, flags, env, &err) == EB_ERR_CONFIG);
    if (!strstr(err.msg, part))
        fprintf(stderr, "message [%s] lacks [%s]\n", err.msg, part);
    CHECK(strstr(err.msg, part) != NULL);
    if (secret)
        CHECK(strstr(err.msg, secret) == NULL);
}

static void test_defaults(void)
{
    struct eb_config c;
    struct eb_err err;
    CHECK(load(&c, NULL, NULL, &err) == EB_OK);
    CHECK(!c.tls_cert[0] && !c.bearer_token[0] && !c.sign_key[0] && !c.allow[0]);
    CHECK(!c.has_aes_key && !c.has_aes_iv && c.max_age_s == 0);
}

static void test_secrets(void)
{
    struct eb_config c;
    struct eb_err err;
    const char *tok = write_file("tok", "file-token\n");
    const char *sig = write_file("sig", "qwer\r\n");
    const char *pw = write_file("pw", "pa ss\n");
    const char *flags[] = {"--bearer-token-file",
                           tok,
                           "--sign-key-file",
                           sig,
                           "--basic-user",
                           "moka",
                           "--basic-password-file",
                           pw,
                           NULL};
    CHECK(load(&c, flags, NULL, &err) == EB_OK);
    CHECK_STR(c.bearer_token, "file-token");
    CHECK_STR(c.sign_key, "qwer");
    CHECK_STR(c.basic_user, "moka");
    CHECK_STR(c.basic_password, "pa ss");

    /* environment and flags: a flag beats the environment */
    const char *env[] = {"EHRBRIDGE_BEARER_TOKEN=env-token", "EHRBRIDGE_SIGN_KEY=env-key", NULL};
    const char *flags2[] = {"--sign-key", "flag-key", NULL};
    CHECK(load(&c, flags2, env, &err) == EB_OK);
    CHECK_STR(c.bearer_token, "env-token");
    CHECK_STR(c.sign_key, "flag-key");

    /* a config file */
    const char *conf = write_file("conf", "bearer_token = \"conf token\"\nmax-age = 300\n"
                                          "allow = 10.0.0.0/8, ::1\n");
    const char *flags3[] = {"--config", conf, NULL};
    CHECK(load(&c, flags3, NULL, &err) == EB_OK);
    CHECK_STR(c.bearer_token, "conf token");
    CHECK(c.max_age_s == 300);
    CHECK_STR(c.allow, "10.0.0.0/8, ::1");

    /* refusals never quote the secret */
    const char *ctl[] = {"--bearer-token", "sec\x01ret", NULL};
    expect_error(ctl, NULL, "control character", "sec");
    const char *empty = write_file("empty", "\n");
    const char *fl[] = {"--sign-key-file", empty, NULL};
    expect_error(fl, NULL, "empty", NULL);
    const char *missing[] = {"--bearer-token-file", "/nonexistent/tok", NULL};
    expect_error(missing, NULL, "cannot read", NULL);
    const char *colon[] = {"--basic-user", "a:b", "--basic-password", "x", NULL};
    expect_error(colon, NULL, "':'", NULL);
    const char *alone[] = {"--basic-user", "moka", NULL};
    expect_error(alone, NULL, "together", NULL);
}

static void test_aes(void)
{
    struct eb_config c;
    struct eb_err err;
    const char *text[] = {"--aes-key", "0123456789abcdef0123456789abcdef", "--aes-iv",
                          "fedcba9876543210", NULL};
    CHECK(load(&c, text, NULL, &err) == EB_OK);
    CHECK(c.has_aes_key && c.has_aes_iv);
    CHECK(memcmp(c.aes_key, "0123456789abcdef0123456789abcdef", 32) == 0);
    CHECK(memcmp(c.aes_iv, "fedcba9876543210", 16) == 0);
    const char *hex[] = {"--aes-key",
                         "000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f",
                         "--aes-iv", "00112233445566778899aabbccddeeff", NULL};
    CHECK(load(&c, hex, NULL, &err) == EB_OK);
    CHECK(c.aes_key[0] == 0 && c.aes_key[10] == 10 && c.aes_key[31] == 31);
    CHECK(c.aes_iv[15] == 0xff);
    const char *file =
        write_file("aes", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
    const char *fromfile[] = {"--aes-key-file", file, NULL};
    CHECK(load(&c, fromfile, NULL, &err) == EB_OK);
    CHECK(c.has_aes_key && !c.has_aes_iv && c.aes_key[31] == 31);
    const char *short_key[] = {"--aes-key", "tooshortsecret", NULL};
    expect_error(short_key, NULL, "32 bytes of text or 64 hex digits", "tooshortsecret");
    const char *bad_iv[] = {"--aes-key", "0123456789abcdef0123456789abcdef", "--aes-iv", "abc",
                            NULL};
    expect_error(bad_iv, NULL, "16 bytes of text or 32 hex digits", NULL);
    const char *iv_alone[] = {"--aes-iv", "fedcba9876543210", NULL};
    expect_error(iv_alone, NULL, "--aes-iv needs --aes-key", NULL);
}

static void test_tls_files(void)
{
    struct eb_config c;
    struct eb_err err;
    const char *crt = write_file("c.pem", "x");
    const char *key = write_file("k.pem", "x");
    const char *ok[] = {"--tls-cert", crt, "--tls-key", key, "--tls-client-ca", crt, NULL};
    CHECK(load(&c, ok, NULL, &err) == EB_OK);
    CHECK_STR(c.tls_cert, crt);
    CHECK_STR(c.tls_client_ca, crt);
    const char *env[] = {"EHRBRIDGE_TLS_CERT=/nonexistent.pem", NULL};
    expect_error(NULL, env, "EHRBRIDGE_TLS_CERT: cannot read /nonexistent.pem", NULL);
    const char *cert_only[] = {"--tls-cert", crt, NULL};
    expect_error(cert_only, NULL, "--tls-cert and --tls-key", NULL);
    const char *ca_only[] = {"--tls-client-ca", crt, NULL};
    expect_error(ca_only, NULL, "--tls-client-ca needs HTTPS", NULL);
}

static void test_lists_and_templates(void)
{
    struct eb_config c;
    struct eb_err err;
    const char *ok[] = {"--allow",
                        "203.0.113.0/24,2001:db8::/32",
                        "--trusted-proxy",
                        "10.0.0.1",
                        "--redirect-pc-url",
                        "https://ehr.example.com/c/{applicationId}?p={pushId}",
                        "--redirect-mobile-url",
                        "https://m.example.com/{candidateId}",
                        "--max-age",
                        "600",
                        NULL};
    CHECK(load(&c, ok, NULL, &err) == EB_OK);
    CHECK_STR(c.trusted_proxy, "10.0.0.1");
    CHECK_STR(c.redirect_mobile_url, "https://m.example.com/{candidateId}");
    CHECK(c.max_age_s == 600);
    /* an IPv4-mapped range is stored in its IPv4 form (client addresses are compared so) */
    const char *mapped[] = {"--allow", "::ffff:192.0.2.0/120, 2001:db8::/32", "--trusted-proxy",
                            "::ffff:10.0.0.1", NULL};
    CHECK(load(&c, mapped, NULL, &err) == EB_OK);
    CHECK_STR(c.allow, "192.0.2.0/24, 2001:db8::/32");
    CHECK_STR(c.trusted_proxy, "10.0.0.1");
    const char *mapped_env[] = {"EHRBRIDGE_ALLOW=::ffff:198.51.100.0/121", NULL};
    CHECK(load(&c, NULL, mapped_env, &err) == EB_OK);
    CHECK_STR(c.allow, "198.51.100.0/25");
    const char *mapped_wide[] = {"--allow", "::ffff:0:0/64", NULL};
    expect_error(mapped_wide, NULL, "--allow: IPv4-mapped range with a prefix under 96", NULL);
    const char *bad_cidr[] = {"--allow", "10.0.0.1/8", NULL};
    expect_error(bad_cidr, NULL, "--allow: host bits set", NULL);
    const char *bad_name[] = {"--trusted-proxy", "proxy.local", NULL};
    expect_error(bad_name, NULL, "--trusted-proxy: not an IPv4 or IPv6 address", NULL);
    const char *bad_tmpl[] = {"--redirect-pc-url", "https://x/{name}", NULL};
    expect_error(bad_tmpl, NULL, "unknown placeholder", NULL);
    const char *bad_scheme[] = {"--redirect-pc-url", "javascript:alert(1)", NULL};
    expect_error(bad_scheme, NULL, "http:// or https://", NULL);
    const char *bad_age[] = {"--max-age", "-5", NULL};
    expect_error(bad_age, NULL, "--max-age: must be a whole number", NULL);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 2;
    test_defaults();
    test_secrets();
    test_aes();
    test_tls_files();
    test_lists_and_templates();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    return check_report("test_config_security");
}

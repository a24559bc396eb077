/* libFuzzer harness of what auth parses of a request (auth/auth.c): the input is split at
 * newlines into the peer address, the query (sign=...), the Authorization header, an
 * X-Forwarded-For header, and the body, and checked against a configuration with every method
 * on (allow list, trusted proxies, Bearer, signature, Basic). The same input is also read as an
 * address list, an address and a triggeredAt time. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"

/* The next line of *p (NUL-terminated in place), "" at the end. */
static char *line(char **p, char *end)
{
    static char none[1];
    char *s = *p, *nl = s < end ? memchr(s, '\n', (size_t)(end - s)) : NULL;
    if (s >= end)
        return none;
    *p = nl ? nl + 1 : end;
    *(nl ? nl : end) = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct eb_auth *auth;
    struct eb_err err = {0};
    if (!auth) {
        static struct eb_config cfg;
        eb_config_defaults(&cfg);
        strcpy(cfg.allow, "10.0.0.0/8, 192.0.2.0/24, ::1, 2001:db8::/32");
        strcpy(cfg.trusted_proxy, "10.1.0.0/16, ::1");
        strcpy(cfg.bearer_token, "token");
        strcpy(cfg.sign_key, "key");
        strcpy(cfg.basic_user, "user");
        strcpy(cfg.basic_password, "password");
        if (eb_auth_new(&cfg, &auth, &err))
            abort();
    }
    char *copy = malloc(size + 1), *p = copy, *end = copy + size;
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';

    struct eb_cidr cidrs[8];
    char why[128], client[64];
    int64_t ms;
    eb_auth_cidrs_parse(copy, cidrs, 8, why, sizeof why);
    eb_auth_timestamp_ms(copy, &ms);

    struct eb_http_header h[3];
    struct eb_http_request req;
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.path = "/";
    req.peer = line(&p, end);
    req.query = line(&p, end);
    h[0].name = "Authorization";
    h[0].value = line(&p, end);
    h[1].name = "X-Forwarded-For";
    h[1].value = line(&p, end);
    h[2].name = "X-Forwarded-For";
    h[2].value = line(&p, end);
    req.headers = h;
    req.n_headers = 3;
    req.body = p;
    req.body_len = (size_t)(end - p);
    eb_auth_cidr_match(cidrs, 0, req.peer);
    eb_auth_client_address(auth, &req, client, sizeof client);
    struct eb_auth_result res;
    eb_auth_check_push(auth, &req, &res);
    free(copy);
    return 0;
}

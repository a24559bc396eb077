/* Unit tests of the admin listener's source list (--admin-allow, admin/admin.c): a list the
 * listener can hold is taken whole, one longer than it can hold is refused at start rather than
 * kept past its end, and an empty one is refused. */
#include <stdio.h>
#include <string.h>

#include "admin/admin.h"

#include "check.h"
#include "config.h"

/* cfg->admin_allow set to n single-address ranges 10.0.<i/256>.<i%256>. */
static void ranges(struct eb_config *c, int n)
{
    size_t len = 0;
    c->admin_allow[0] = '\0';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(c->admin_allow + len, sizeof c->admin_allow - len, "%s10.0.%d.%d",
                                i ? "," : "", i / 256, i % 256);
}

static eb_rc admin_new(const struct eb_config *c, struct eb_err *err)
{
    struct eb_admin *a = NULL;
    eb_rc rc = eb_admin_new(c, &a, err);
    eb_admin_free(a);
    return rc;
}

int main(void)
{
    struct eb_config c;
    struct eb_err err = {0};
    eb_config_defaults(&c);
    c.admin_listen_port = 9090;
    snprintf(c.admin_listen_host, sizeof c.admin_listen_host, "127.0.0.1");

    ranges(&c, 64); /* as many as the listener holds */
    CHECK(admin_new(&c, &err) == EB_OK);
    ranges(&c, 65); /* one more: refused, naming the setting */
    CHECK(admin_new(&c, &err) == EB_ERR_CONFIG);
    CHECK(strstr(err.msg, "--admin-allow") != NULL);
    CHECK(strstr(err.msg, "more than 64") != NULL);
    snprintf(c.admin_allow, sizeof c.admin_allow, "10.0.0.1/8");
    CHECK(admin_new(&c, &err) == EB_ERR_CONFIG); /* host bits set */
    snprintf(c.admin_allow, sizeof c.admin_allow, " , ");
    CHECK(admin_new(&c, &err) == EB_ERR_CONFIG);
    CHECK(strstr(err.msg, "no address range") != NULL);
    return check_report("test_admin_allow");
}

/* Address ranges (see cidr.h): lists of IPv4 and IPv6 ranges read from text, written back, and
 * matched against textual addresses, with IPv4-mapped IPv6 taken as IPv4. */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_RANGES 256 /* ranges of one list */

static void set_why(char *why, size_t whysz, const char *what, const char *item)
{
    if (why && whysz)
        snprintf(why, whysz, "%s: \"%.60s\"", what, item);
}

/* Parses one "ADDR" or "ADDR/PREFIX" (item is NUL-terminated, at most 63 bytes). */
static int parse_range(const char *item, struct eb_cidr *c, char *why, size_t whysz)
{
    char addr[64];
    const char *slash = strchr(item, '/');
    size_t alen = slash ? (size_t)(slash - item) : strlen(item);
    if (alen == 0 || alen >= sizeof addr) {
        set_why(why, whysz, "not an address range", item);
        return -1;
    }
    memcpy(addr, item, alen);
    addr[alen] = '\0';
    memset(c, 0, sizeof *c);
    unsigned max;
    if (inet_pton(AF_INET, addr, c->addr) == 1) {
        c->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
        c->family = AF_INET6;
        max = 128;
    } else {
        set_why(why, whysz, "not an IPv4 or IPv6 address", item);
        return -1;
    }
    c->prefix = max;
    if (slash) {
        const char *p = slash + 1;
        size_t d = strspn(p, "0123456789");
        if (!d || d > 3 || p[d] || (unsigned)atoi(p) > max) {
            set_why(why, whysz, "bad prefix length", item);
            return -1;
        }
        c->prefix = (unsigned)atoi(p);
    }
    /* Client addresses are judged in their IPv4 form, so an IPv4-mapped range
     * (::ffff:0:0/96) is kept as the IPv4 range it names; written as IPv6 it would match no one.
     * A shorter prefix reaches past the mapped block and has no IPv4 form. */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (c->family == AF_INET6 && !memcmp(c->addr, mapped, sizeof mapped)) {
        if (c->prefix < 96) {
            set_why(why, whysz, "IPv4-mapped range with a prefix under 96 (write it as IPv4)",
                    item);
            return -1;
        }
        memmove(c->addr, c->addr + 12, 4);
        memset(c->addr + 4, 0, 12);
        c->family = AF_INET;
        c->prefix -= 96;
        max = 32;
    }
    for (unsigned bit = c->prefix; bit < max; bit++) {
        if (c->addr[bit / 8] & (0x80u >> (bit % 8))) {
            set_why(why, whysz, "host bits set (write the network address)", item);
            return -1;
        }
    }
    return 0;
}

/* The list parser: the number of ranges, or -1 with the reason in why. */
static int parse_list(const char *text, struct eb_cidr *out, size_t max, char *why, size_t whysz)
{
    size_t n = 0;
    const char *p = text ? text : "";
    for (;;) {
        p += strspn(p, ", \t");
        if (!*p)
            break;
        size_t len = strcspn(p, ", \t");
        char item[64];
        struct eb_cidr c;
        if (len >= sizeof item) {
            set_why(why, whysz, "not an address range", p);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (parse_range(item, &c, why, whysz))
            return -1;
        if (n >= MAX_RANGES) {
            set_why(why, whysz, "more than 256 address ranges at", p);
            return -1;
        }
        if (out && n < max)
            out[n] = c;
        n++;
        p += len;
    }
    return (int)n;
}

eb_rc eb_cidr_parse(const char *text, struct eb_cidr *out, size_t max, size_t *count,
                    struct eb_err *err)
{
    char why[160];
    int n = parse_list(text, out, max, why, sizeof why);
    *count = 0;
    if (n < 0)
        return eb_err_set(err, EB_ERR_CONFIG, "%s", why);
    *count = (size_t)n;
    return EB_OK;
}

void eb_cidr_text(const struct eb_cidr *c, char *out, size_t n)
{
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned max = c->family == AF_INET ? 32 : 128;
    inet_ntop(c->family, c->addr, addr, sizeof addr);
    if (c->prefix == max)
        snprintf(out, n, "%s", addr);
    else
        snprintf(out, n, "%s/%u", addr, c->prefix);
}

/* Parses a textual address into family and 16 bytes; IPv4-mapped IPv6 becomes IPv4. */
static int parse_addr(const char *s, int *family, unsigned char a[16])
{
    char buf[64];
    size_t n = strlen(s);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, s, n + 1);
    if (buf[0] == '[' && n > 2 && buf[n - 1] == ']') { /* "[v6]" */
        memmove(buf, buf + 1, n - 2);
        buf[n - 2] = '\0';
    }
    char *pct = strchr(buf, '%'); /* a zone id ("fe80::1%eth0") is not part of the address */
    if (pct)
        *pct = '\0';
    memset(a, 0, 16);
    if (inet_pton(AF_INET, buf, a) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!memcmp(a, mapped, sizeof mapped)) {
            memmove(a, a + 12, 4);
            memset(a + 4, 0, 12);
            *family = AF_INET;
        } else {
            *family = AF_INET6;
        }
        return 0;
    }
    return -1;
}

int eb_cidr_is_address(const char *s)
{
    int family;
    unsigned char a[16];
    return s && !parse_addr(s, &family, a);
}

static int in_range(const struct eb_cidr *c, int family, const unsigned char a[16])
{
    if (c->family != family)
        return 0;
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->addr, a, full))
        return 0;
    if (rest) {
        unsigned char mask = (unsigned char)(0xffu << (8 - rest));
        if ((c->addr[full] & mask) != (a[full] & mask))
            return 0;
    }
    return 1;
}

int eb_cidr_match(const struct eb_cidr *cidrs, size_t n, const char *addr)
{
    int family;
    unsigned char a[16];
    if (!addr || parse_addr(addr, &family, a))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (in_range(&cidrs[i], family, a))
            return 1;
    return 0;
}

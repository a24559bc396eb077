/* Address ranges: the allow list and the trusted proxies of auth/ and the address lists of the
 * configuration are lists of them. IPv4 and IPv6; an IPv4-mapped IPv6 address or range is taken
 * in its IPv4 form. */
#ifndef EB_CIDR_H
#define EB_CIDR_H

#include <stddef.h>

#include "util/err.h"

/* One address range. */
struct eb_cidr {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network address (4 bytes used for IPv4), host bits zero */
    unsigned prefix;        /* prefix length: 0-32 or 0-128 */
};

/* Parses a list of ranges separated by commas and/or blanks: "10.0.0.0/8, 192.0.2.7,
 * 2001:db8::/32" (a bare address is /32 or /128; host bits must be zero). Writes at most max
 * entries to out (out NULL: only validates) and the number of ranges in *count (0 for an empty
 * list). EB_ERR_CONFIG with a one-line reason in err (*count 0) when the list cannot be read. */
eb_rc eb_cidr_parse(const char *text, struct eb_cidr *out, size_t max, size_t *count,
                    struct eb_err *err);

/* Writes c as text into out (n bytes): "192.0.2.0/24", "2001:db8::/32", or the bare address
 * when the range is one address ("192.0.2.7"). */
void eb_cidr_text(const struct eb_cidr *c, char *out, size_t n);

/* 1 when the textual address addr (IPv4 or IPv6; "::ffff:a.b.c.d" counts as a.b.c.d) is inside
 * one of the n ranges; 0 otherwise, also when addr is not an address. */
int eb_cidr_match(const struct eb_cidr *cidrs, size_t n, const char *addr);

/* 1 when s is a textual IPv4 or IPv6 address (also "[v6]" and with a zone id), 0 otherwise. */
int eb_cidr_is_address(const char *s);

#endif

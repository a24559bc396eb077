/* Growable byte buffers with a hard maximum (the idea of curl's dynbuf). */
#ifndef EB_BUF_H
#define EB_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct eb_buf {
    char *data; /* always NUL-terminated when len > 0 or after eb_buf_cstr() */
    size_t len; /* bytes in use, excluding the terminating NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard maximum of len; appends beyond it fail with EB_ERR_TOO_LARGE */
};

/* Initializes an empty buffer that may grow to max bytes. Allocates nothing. */
void eb_buf_init(struct eb_buf *b, size_t max);

/* Appends n bytes. EB_ERR_TOO_LARGE past the maximum (the buffer is unchanged), EB_ERR_NOMEM. */
eb_rc eb_buf_append(struct eb_buf *b, const void *p, size_t n);

/* Makes room for n more bytes (and the NUL): when the buffer must grow, one allocation of
 * exactly that size, so that appends up to it never reallocate. EB_ERR_TOO_LARGE past the
 * maximum, EB_ERR_NOMEM. */
eb_rc eb_buf_reserve(struct eb_buf *b, size_t n);

/* Appends a NUL-terminated string. */
eb_rc eb_buf_puts(struct eb_buf *b, const char *s);

/* Appends printf-style text. */
eb_rc eb_buf_printf(struct eb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends n bytes of text escaped for XML character data and attribute values
 * (& < > " and the characters XML 1.0 forbids are written as references or dropped). */
eb_rc eb_buf_xml_escape(struct eb_buf *b, const char *s, size_t n);

/* 1 when eb_buf_xml_escape() would append s[0..n) unchanged. */
int eb_buf_xml_plain(const char *s, size_t n);

/* Returns the content as a NUL-terminated string ("" when empty); NULL only on EB_ERR_NOMEM. */
const char *eb_buf_cstr(struct eb_buf *b);

/* Empties the buffer, keeping its memory for reuse. */
void eb_buf_reset(struct eb_buf *b);

/* Frees the memory (NULL-safe); the buffer is empty and reusable afterwards. */
void eb_buf_free(struct eb_buf *b);

/* Writes v as exactly n decimal digits at out (leading zeros; v must be below 10^n) and returns
 * out + n: text made on the per-request path without printf (dates, the response head). */
static inline char *eb_dec_fixed(char *out, unsigned v, int n)
{
    for (int i = n; i-- > 0; v /= 10)
        out[i] = (char)('0' + v % 10);
    return out + n;
}

/* Writes v in decimal at out (room for 20 digits), no NUL; returns the number of digits. */
static inline size_t eb_dec(char *out, uint64_t v)
{
    char t[20];
    size_t n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while (v /= 10);
    for (size_t i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    return n;
}

/* The value of hexadecimal digit c (either case), or -1. */
static inline int eb_hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif

/* The vendor's scalar texts as the canonical document reads them: integers that fit int64,
 * xsd:decimal, and the booleans (see ingest_int.h). */
#include <stdint.h>

#include "ingest/ingest_int.h"

/* Optional sign and digits that fit int64. */
int eb_ingest_parse_i64(const char *s, size_t n, long long *out)
{
    size_t i = 0;
    int neg = 0;
    unsigned long long v = 0, limit;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return 0;
    limit = neg ? (unsigned long long)INT64_MAX + 1 : (unsigned long long)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(long long)v;
    else
        *out = (long long)v;
    return 1;
}

/* xsd:decimal: optional sign, digits, optional fraction; at least one digit. */
int eb_ingest_is_decimal(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    return i == n && digits > 0;
}

static int same_word(const char *s, size_t n, const char *w)
{
    size_t i = 0;
    for (; i < n && w[i]; i++) {
        char a = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
        if (a != w[i])
            return 0;
    }
    return i == n && !w[i];
}

/* 1 true, 0 false, -1 malformed. */
int eb_ingest_parse_bool(const char *s, size_t n)
{
    if (same_word(s, n, "true") || same_word(s, n, "1") || same_word(s, n, "yes"))
        return 1;
    if (same_word(s, n, "false") || same_word(s, n, "0") || same_word(s, n, "no"))
        return 0;
    return -1;
}

/* Growable byte buffers with a hard maximum. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void eb_buf_init(struct eb_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static eb_rc reserve(struct eb_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return EB_ERR_TOO_LARGE;
    size_t need = b->len + extra + 1; /* room for the NUL */
    if (need <= b->cap)
        return EB_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return EB_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return EB_OK;
}

eb_rc eb_buf_reserve(struct eb_buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return EB_ERR_TOO_LARGE;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return EB_OK;
    char *p = realloc(b->data, need);
    if (!p)
        return EB_ERR_NOMEM;
    b->data = p;
    b->cap = need;
    return EB_OK;
}

eb_rc eb_buf_append(struct eb_buf *b, const void *p, size_t n)
{
    eb_rc rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return EB_OK;
}

eb_rc eb_buf_puts(struct eb_buf *b, const char *s)
{
    return eb_buf_append(b, s, strlen(s));
}

eb_rc eb_buf_printf(struct eb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return EB_ERR_INTERNAL;
    eb_rc rc = reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return EB_OK;
}

/* Bytes eb_buf_xml_escape() rewrites or drops: & < > " CR and the other controls but TAB, LF. */
static const unsigned char xml_special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1,         1,         1,         1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ['"'] = 1, ['&'] = 1, ['<'] = 1, ['>'] = 1};

int eb_buf_xml_plain(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (xml_special[(unsigned char)s[i]])
            return 0;
    return 1;
}

eb_rc eb_buf_xml_escape(struct eb_buf *b, const char *s, size_t n)
{
    size_t start = 0;
    eb_rc rc = EB_OK;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!xml_special[c])
            continue;
        const char *rep = c == '&'    ? "&amp;"
                          : c == '<'  ? "&lt;"
                          : c == '>'  ? "&gt;"
                          : c == '"'  ? "&quot;"
                          : c == '\r' ? "&#13;"
                                      : ""; /* not allowed in XML 1.0: dropped */
        if ((rc = eb_buf_append(b, s + start, i - start)) || (rc = eb_buf_puts(b, rep)))
            return rc;
        start = i + 1;
    }
    return eb_buf_append(b, s + start, n - start);
}

const char *eb_buf_cstr(struct eb_buf *b)
{
    if (!b->data && reserve(b, 0))
        return NULL;
    b->data[b->len] = '\0';
    return b->data;
}

void eb_buf_reset(struct eb_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void eb_buf_free(struct eb_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* eb_rc descriptions and struct eb_err helpers. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

eb_rc eb_err_set(struct eb_err *err, eb_rc rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->rc = rc;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void eb_err_clear(struct eb_err *err)
{
    if (err) {
        err->rc = EB_OK;
        err->msg[0] = '\0';
    }
}

const char *eb_strerror(eb_rc rc)
{
    switch (rc) {
    case EB_OK:
        return "ok";
    case EB_ERR_NOMEM:
        return "out of memory";
    case EB_ERR_INVALID:
        return "invalid input";
    case EB_ERR_AUTH:
        return "authentication failed";
    case EB_ERR_UNAVAILABLE:
        return "service unavailable";
    case EB_ERR_DB:
        return "database error";
    case EB_ERR_INTERNAL:
        return "internal error";
    case EB_ERR_TOO_LARGE:
        return "too large";
    case EB_ERR_CONFIG:
        return "bad configuration";
    case EB_ERR_NOT_PUSH:
        return "not a pushCandidate request";
    }
    return "unknown error";
}

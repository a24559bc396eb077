/* The one result type of ehrbridge and the error detail that travels with it. */
#ifndef EB_ERR_H
#define EB_ERR_H

/* Result codes. Never renumbered; new codes are only ever appended. */
typedef enum {
    EB_OK = 0,
    EB_ERR_NOMEM,       /* an allocation failed or a hard buffer maximum was reached */
    EB_ERR_INVALID,     /* the input is understood but not acceptable (bad record, bad XML) */
    EB_ERR_AUTH,        /* authentication failed */
    EB_ERR_UNAVAILABLE, /* a dependency (the database) cannot be reached now; retry later */
    EB_ERR_DB,          /* the database refused an operation */
    EB_ERR_INTERNAL,    /* a bug or an unexpected library failure */
    EB_ERR_TOO_LARGE,   /* a size or count limit was exceeded */
    EB_ERR_CONFIG,      /* bad configuration */
    EB_ERR_NOT_PUSH     /* the message is not a pushCandidate request */
} eb_rc;

/* Detail of a failure: for logs and for the client's message. Never holds personal data and
 * never driver text that would reach a client unfiltered. */
struct eb_err {
    eb_rc rc;      /* the code the failing call returned */
    char msg[256]; /* one line, no trailing newline */
};

/* Sets err (NULL-safe) to rc and the printf-style message; returns rc so that callers can write
 * `return eb_err_set(err, EB_ERR_INVALID, "...")`. */
eb_rc eb_err_set(struct eb_err *err, eb_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err (NULL-safe). */
void eb_err_clear(struct eb_err *err);

/* A short static description of rc ("out of memory", ...). */
const char *eb_strerror(eb_rc rc);

#endif

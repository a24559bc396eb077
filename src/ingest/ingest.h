/* Ingest: the raw request body in any shape the vendor may send becomes ONE canonical document,
 * the pushCandidate element of the contract (namespace urn:ehrbridge:moka:v1, canonical names,
 * arrays wrapped in <element>, values trimmed, "any" values as text or JSON text), wrapped in a
 * SOAP envelope of the request's version for the generated bindings. libxml2 parses; DTDs are
 * refused, entities never expanded, the network never touched, depth and size bounded. A typed
 * request already in canonical form takes the direct path (direct.c) instead: one pass, no
 * libxml2, the same document. */
#ifndef EB_INGEST_H
#define EB_INGEST_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

enum eb_soap_version {
    EB_SOAP_NONE = 0, /* the body was a bare document (no envelope); answered as SOAP 1.1 */
    EB_SOAP_11 = 1,
    EB_SOAP_12 = 2
};

struct eb_ingest_limits {
    size_t max_depth;  /* deepest element nesting accepted in any parsed document */
    size_t max_nodes;  /* most nodes (elements, attributes, namespace declarations, texts)
                          accepted over all documents of one request */
    size_t max_output; /* largest canonical document */
};

/* Default limits: depth 64, 200,000 nodes (elements, attributes and texts together), 64 MiB of
 * output. With the transport's body limit (8 MiB by default) they bound what one request may
 * cost: the tree of at most 200,000 nodes (about 30 MB) plus copies of the body and the output.
 * Every limit holds in every encoding: a body that is not UTF-8 is converted to UTF-8 (with
 * libxml2's converters) before it is read. */
extern const struct eb_ingest_limits eb_ingest_default_limits;

/* Hook for the data element's text when it is not XML (encrypted or JSON: ingest/decrypt.h):
 * returns EB_OK and fills out with XML that is then read as data given as XML text is (the
 * data element's children, or one root element that is not a candidate field, such as
 * <data>...</data>, holding them), EB_ERR_NOT_PUSH when it does not recognize the text, or
 * another code to reject the push. */
struct eb_ingest_decoder {
    eb_rc (*decode)(void *user, const char *text, size_t len, struct eb_buf *out,
                    struct eb_err *err);
    void *user;
};

/* Which way eb_ingest reads a body. */
enum eb_ingest_path {
    EB_INGEST_AUTO = 0,  /* the direct path when it accepts the body, else the canonical one */
    EB_INGEST_CANONICAL, /* libxml2 and the canonical writer, always */
    EB_INGEST_DIRECT     /* the direct path only: EB_ERR_NOT_PUSH when it declines (tests) */
};

struct eb_ingest_opts {
    struct eb_ingest_limits limits;          /* bounds */
    const struct eb_ingest_decoder *decoder; /* NULL: data text must be XML */
};

/* The result of one ingest; initialize with eb_ingest_result_init, release with
 * eb_ingest_result_free. Strings point into memory the result owns. */
struct eb_ingest_result {
    enum eb_soap_version soap;  /* version of the request's envelope */
    struct eb_buf doc;          /* the envelope for the bindings, NUL-terminated */
    size_t canon_off;           /* offset of the canonical pushCandidate element inside doc */
    size_t canon_len;           /* its length: this is the push log's payload */
    const char *push_id;        /* id, trimmed; NULL when absent */
    const char *event;          /* event; NULL when absent */
    const char *triggered_at;   /* triggeredAt; NULL when absent */
    const char *application_id; /* data/applicationId text; NULL when absent */
    char problem[256];          /* first malformed value ("data.birthYear: malformed number"),
                                  removed from doc; "" when none */
    unsigned n_problems;        /* how many values were malformed */
    char refusal[256];          /* the first problem the push cannot be stored with (its
                                  data/applicationId or data unreadable); "" when none */
    struct eb_buf warnings;     /* values set aside (tolerance): n_warnings records, each three
                                  NUL-terminated strings: the vendor path
                                  ("data.educationInfo[0].endDate"), the raw text (cut at
                                  EB_INGEST_WARNING_VALUE_MAX bytes), the reason ("malformed
                                  number"); read them with eb_ingest_warning_next */
    unsigned n_warnings;        /* records in warnings (each also counted in n_problems) */
    unsigned n_unknown;         /* elements the contract does not know (kept in the payload) */
    int repaired;               /* 1 when raw '&' or a margin before the XML declaration were
                                  repaired to parse the printed vendor form */
    int direct;                 /* 1 when the direct path wrote doc (no libxml2 parse) */
    struct eb_buf strings;      /* storage for the strings above */
};

/* Longest raw text a warning keeps (longer values are cut at a character boundary). */
#define EB_INGEST_WARNING_VALUE_MAX 1024

/* Reads the warning at *off of r->warnings (start with *off = 0) into field, value and reason
 * (pointing into r) and advances *off. 1 when one was read, 0 at the end. */
int eb_ingest_warning_next(const struct eb_ingest_result *r, size_t *off, const char **field,
                           const char **value, const char **reason);

struct eb_arena;
struct eb_push;

/* Appends every warning of r to p->warnings (eb_push_warn: copies in arena), in order.
 * EB_ERR_NOMEM when the arena is exhausted. */
eb_rc eb_ingest_copy_warnings(const struct eb_ingest_result *r, struct eb_arena *arena,
                              struct eb_push *p);

void eb_ingest_result_init(struct eb_ingest_result *r, size_t max_output);
void eb_ingest_result_free(struct eb_ingest_result *r);

/* Canonicalizes body. A typed document/literal request already in canonical form (direct.c
 * says exactly which) is read by the direct path: one pass over the body, no libxml2, the same
 * doc, payload and strings as the canonical path, r->direct = 1; every other body by the
 * canonical path. Returns EB_OK with r filled; EB_ERR_NOT_PUSH when the message is XML but
 * not a pushCandidate request; EB_ERR_INVALID for input that is not acceptable XML (not
 * well-formed, a DTD, too deep); EB_ERR_TOO_LARGE past a limit; EB_ERR_NOMEM. err->msg is a clear
 * one-line reason without personal data. r's push_id etc. are filled as far as they were found,
 * also on failure. */
eb_rc eb_ingest(const char *body, size_t len, const struct eb_ingest_opts *opts,
                struct eb_ingest_result *r, struct eb_err *err);

/* What the generated bindings read for r, which eb_ingest made of body[0..len): the body
 * itself when the direct path read it (r->direct: the typed request is already canonical, and
 * the direct path accepts no NUL byte, so up to body[len] the body is one C string), else r's
 * canonical document. body[len] must be readable: the transport's bodies and eb_buf's end in a
 * NUL there; a body that does not is read through r's document. Either gives the same struct
 * eb_push (test_oneparse and fuzz_oneparse hold them to it). NULL when r's document cannot be
 * terminated (out of memory). */
const char *eb_ingest_bind_text(struct eb_ingest_result *r, const char *body, size_t len);

/* eb_ingest by the given path (eb_ingest is EB_INGEST_AUTO): the tests that hold the two paths
 * to the same result. */
eb_rc eb_ingest_by(const char *body, size_t len, const struct eb_ingest_opts *opts,
                   enum eb_ingest_path path, struct eb_ingest_result *r, struct eb_err *err);

/* Process-wide libxml2 set-up (no network, no entity loader); call once before threads start. */
void eb_ingest_global_init(void);

#endif

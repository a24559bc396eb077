/* The generated gSOAP service over the canonical document: one gSOAP context per worker reads
 * the canonical envelope with the generated, strict bindings, calls back with the generated
 * request, and serializes the response (or a SOAP Fault) in the request's SOAP version. */
#ifndef EB_BIND_H
#define EB_BIND_H

#include "ingest/ingest.h"
#include "util/buf.h"
#include "util/err.h"

struct eb_bind;
struct _ns1__pushCandidate; /* gen/soapStub.h */

/* Called once per pushCandidate request read from the document. Sets *ok and *message (which
 * must stay valid until eb_bind_serve returns; NULL for none). */
typedef void (*eb_bind_handler)(void *user, const struct _ns1__pushCandidate *req, int *ok,
                                const char **message);

/* A gSOAP context, used by one thread at a time (SOAP_C_UTFSTRING, bounded depth and occurrences).
 * NULL on allocation failure. Caller frees with eb_bind_free(). */
struct eb_bind *eb_bind_new(void);
void eb_bind_free(struct eb_bind *b);

/* Deserializes doc (a canonical envelope from eb_ingest) into *req, which stays valid (as do
 * its strings) until eb_bind_end(). EB_ERR_NOT_PUSH when the document is not a pushCandidate
 * request the bindings can read. The context is then in the request's SOAP version. */
eb_rc eb_bind_read(struct eb_bind *b, const char *doc, const struct _ns1__pushCandidate **req);

/* Appends the pushCandidateResponse (return ok, message unless NULL or "") in SOAP version v
 * (EB_SOAP_NONE: 1.1) to out. Any context will do: the answer needs nothing of the request.
 * Call eb_bind_end() afterwards. */
eb_rc eb_bind_answer(struct eb_bind *b, enum eb_soap_version v, int ok, const char *message,
                     struct eb_buf *out);

/* eb_bind_read, then h, then eb_bind_answer into out; or, when the document cannot be bound,
 * the SOAP Fault gSOAP gives for it, with *fault set to 1. Strings the handler saw stay valid
 * until eb_bind_end(). (`ehrbridge replay` and the tests; the service answers after the commit
 * with eb_bind_read and eb_bind_answer.) */
eb_rc eb_bind_serve(struct eb_bind *b, const char *doc, eb_bind_handler h, void *user,
                    struct eb_buf *out, int *fault);

/* Appends a SOAP Fault in the given version to out: a Client/Sender fault when sender is 1,
 * a Server/Receiver fault otherwise. */
eb_rc eb_bind_fault(struct eb_bind *b, enum eb_soap_version v, int sender, const char *reason,
                    struct eb_buf *out);

/* Frees everything the last serve allocated (gSOAP's soap_destroy + soap_end). */
void eb_bind_end(struct eb_bind *b);

#endif

/* The generated gSOAP service over the canonical document: one gSOAP context per worker reads
 * the canonical envelope (or the typed request's body itself, already canonical: see
 * eb_ingest_bind_text) with the generated, strict bindings, hands out the request translated
 * into struct eb_push (candidate/candidate.h), and serializes the response (or a SOAP Fault) in
 * the request's SOAP version. The generated types and names (gen/) are seen by bind/ only. */
#ifndef EB_BIND_H
#define EB_BIND_H

#include "ingest/ingest.h"
#include "util/buf.h"
#include "util/err.h"

struct eb_arena;
struct eb_bind;
struct eb_push;

/* Called once per pushCandidate request read from the document; eb_bind_push(b, ...) gives the
 * request. Sets *ok and *message (which must stay valid until eb_bind_serve returns; NULL for
 * none). */
typedef void (*eb_bind_handler)(void *user, struct eb_bind *b, int *ok, const char **message);

/* A gSOAP context, used by one thread at a time (SOAP_C_UTFSTRING, bounded depth and occurrences).
 * NULL on allocation failure. Caller frees with eb_bind_free(). */
struct eb_bind *eb_bind_new(void);
void eb_bind_free(struct eb_bind *b);

/* Deserializes doc (a canonical envelope from eb_ingest, or a body its direct path read:
 * eb_ingest_bind_text) into the context, where the request
 * stays until eb_bind_end(); eb_bind_push() translates it. EB_ERR_NOT_PUSH when the document is
 * not a pushCandidate request the bindings can read. The context is then in the request's SOAP
 * version. */
eb_rc eb_bind_read(struct eb_bind *b, const char *doc);

/* The request the last eb_bind_read() read, translated into dst: everything, strings included,
 * is copied into arena, so dst does not depend on the context after this returns (a push waits
 * for its commit while the context reads the next request). has_application_id says whether
 * data/applicationId was present (the generated type cannot tell a missing required number
 * from 0). EB_ERR_NOMEM when the arena is exhausted; EB_ERR_INTERNAL when no request was read
 * since the last eb_bind_end(). */
eb_rc eb_bind_push(struct eb_bind *b, struct eb_arena *arena, int has_application_id,
                   struct eb_push *dst, struct eb_err *err);

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

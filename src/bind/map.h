/* Translation of the generated request type into struct eb_push (candidate/candidate.h): inside
 * bind/ only; the rest of the program gets the translated push from eb_bind_push() (bind.h). */
#ifndef EB_MAP_H
#define EB_MAP_H

#include "candidate/candidate.h"
#include "util/err.h"

struct eb_arena;
struct _ns1__pushCandidate; /* gen/soapStub.h */

/* Fills dst from src. Everything, strings included, is copied into arena: dst does not depend
 * on the gSOAP context after this returns. has_application_id says whether data/applicationId was
 * present (the generated type cannot tell a missing required number from 0). EB_ERR_NOMEM when
 * the arena is exhausted. */
eb_rc eb_map_push(struct eb_arena *arena, const struct _ns1__pushCandidate *src,
                  int has_application_id, struct eb_push *dst, struct eb_err *err);

#endif

/* The vendor's REST mode: JSON (jansson) turned into the XML that ingest canonicalizes, so that
 * a REST push goes through the same ingest -> bind -> candidate -> bridge pipeline as a SOAP
 * push and is stored and logged the same way. Also used for data text that is JSON (SOAP data
 * given as JSON text, or the plaintext of encrypted data). */
#ifndef EB_JSON_H
#define EB_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "util/buf.h"
#include "util/err.h"

/* Deepest nesting of arrays and objects accepted (the contract nests 6 levels). */
#define EB_JSON_MAX_DEPTH 64

/* Most values (objects, arrays, scalars) one JSON text may hold: ingest's budget of elements
 * (eb_ingest_default_limits.max_nodes), applied before jansson builds the tree, which costs
 * about 100 to 300 bytes a value. */
#define EB_JSON_MAX_VALUES 200000

/* Parses text[0..len) as one JSON value (RFC 8259; a duplicated key keeps its last value, as
 * ingest does with repeated XML elements). One leniency, because the vendor's own REST example
 * needs it: when the text is refused for a raw control character inside a string (the example's
 * jobDescription spans lines), it is read once more with every raw control character inside
 * strings taken as its escape (\n, \r, \t, \u00XX); *repaired (NULL-safe) is then 1. Text that
 * is still not JSON: NULL and EB_ERR_INVALID "... is not valid JSON (line L, column C)" (what
 * names the text: "request body", "data text"). More than EB_JSON_MAX_VALUES values: NULL and
 * EB_ERR_TOO_LARGE, before anything is allocated. Caller frees with json_decref(). */
json_t *eb_json_load(const char *text, size_t len, const char *what, int *repaired,
                     struct eb_err *err);

/* Writes a REST push (an object with id, event, triggeredAt and data) as a bare pushCandidate
 * document for eb_ingest() into out: member names matched through the contract's descriptors
 * (eb_schema_find: any case, '_' and '-' ignored) and written in the contract's spelling; arrays
 * of objects as <element> items; values typed "any" and objects or arrays where text is
 * expected as compact JSON text; numbers as their shortest exact text, booleans as true/false;
 * null members omitted; unknown members kept as elements when their name is an XML name
 * (dropped otherwise). data given as a string is written as text, for ingest's decoder (AES
 * ciphertext or JSON text). EB_ERR_INVALID when root is not an object or nests deeper than
 * EB_JSON_MAX_DEPTH; EB_ERR_NOMEM, EB_ERR_TOO_LARGE from out. */
eb_rc eb_json_push_xml(const json_t *root, struct eb_buf *out, struct eb_err *err);

/* Writes a candidate object (the value of data) as <data>...</data>, by the same rules.
 * EB_ERR_INVALID when data is not an object. */
eb_rc eb_json_data_xml(const json_t *data, struct eb_buf *out, struct eb_err *err);

/* The text of a JSON scalar as the canonical document writes it: a string as it is, an integer
 * in decimal, a real in its shortest form that reads back exactly, true/false. Writes at most
 * cap-1 bytes and a NUL into buf for numbers and booleans and returns buf; returns the string
 * itself for strings (then *len is its length); NULL for null, objects and arrays. */
const char *eb_json_scalar_text(const json_t *v, char *buf, size_t cap, size_t *len);

struct eb_arena;
struct eb_interview_event;

/* Reads the data object of an interview event (the vendor's "Push interview info") into ev
 * (ev->kind and ev->event are the caller's). Member names match in any case, with or without
 * '_' and '-' (event_id, eventId); integers may be given as numbers or digit strings; strings
 * as strings or numbers; null is absent; unknown members are ignored (the push log keeps them).
 * Strings and arrays are allocated in arena. EB_ERR_INVALID naming the field
 * ("data.interviews[0].startTime: malformed number"), EB_ERR_NOMEM. */
eb_rc eb_json_interview(const json_t *data, struct eb_arena *arena, struct eb_interview_event *ev,
                        struct eb_err *err);

#endif

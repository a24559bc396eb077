/* Declarations shared by the files of the ingest module only (parse.c, anyjson.c, ingest.c):
 * the safe libxml2 parse and small helpers on parsed nodes. Not a public interface. */
#ifndef EB_INGEST_INT_H
#define EB_INGEST_INT_H

#include <stddef.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

#include "util/buf.h"
#include "util/err.h"

/* A libxml2 structured error handler that drops the error: ingest learns of failures from the
 * parse itself, and libxml2's messages quote bytes of the request (personal data). */
#if LIBXML_VERSION >= 21200
void eb_ingest_quiet_error(void *user, const xmlError *e);
#else
void eb_ingest_quiet_error(void *user, xmlErrorPtr e);
#endif

/* Bounds and bookkeeping of one eb_ingest_parse_xml() call. */
struct eb_ingest_parse {
    const char *what;  /* what is parsed, for messages: "request body", "data text", ... */
    int inner;         /* 1: text taken out of a parsed document: UTF-8, encoding hint ignored */
    size_t base_depth; /* nesting depth of the element that held the text (0 for the body) */
    size_t max_depth;  /* deepest element nesting accepted, counted from the body's root */
    size_t max_nodes;  /* most nodes (elements, attributes, texts) over all documents of one
                          request */
    size_t *nodes;     /* nodes parsed so far in this request; incremented */
    int *repaired;     /* set to 1 when a margin or a raw '&' had to be repaired */
};

/* The parsing state of one thread: a reusable libxml2 parser context and the arena that holds
 * the documents parsed during one request. */
struct eb_ingest_parser;

/* The calling thread's parser, or a private one when the thread's is in use (a nested call);
 * NULL when out of memory. Every document parsed with it stays valid until
 * eb_ingest_parser_put(). The thread's parser is freed when the thread ends. */
struct eb_ingest_parser *eb_ingest_parser_get(void);

/* Releases every document parsed with ps (NULL-safe); ps must not be used afterwards. */
void eb_ingest_parser_put(struct eb_ingest_parser *ps);

/* Parses text[0..len) with libxml2: no network, no DTD (a DOCTYPE stops the parser:
 * EB_ERR_INVALID "DTDs are not accepted"), no entity expansion, CDATA merged into text.
 * White space before the first '<' is skipped; a document that is not well-formed is retried
 * once with every '&' that does not start a predefined or character reference written as
 * "&amp;". A body (!p->inner) in another encoding than UTF-8 (byte order mark, libxml2's
 * detection of the first bytes, or the declaration) is converted to UTF-8 first; an encoding
 * libxml2 does not know, or bytes not of the encoding: EB_ERR_INVALID. More than 256 attributes
 * on one element: EB_ERR_INVALID. Depth beyond p->max_depth: EB_ERR_INVALID; nodes (elements,
 * attributes, namespace declarations, texts) beyond p->max_nodes: EB_ERR_TOO_LARGE. On EB_OK *doc is the document, held by ps (never pass it to xmlFreeDoc):
 * its nodes carry type, name, ns, parent, children, last, next, prev, doc, content (text) and
 * properties (attributes, each with one text child); comments and processing instructions are
 * nodes without content. */
eb_rc eb_ingest_parse_xml(struct eb_ingest_parser *ps, const char *text, size_t len,
                          const struct eb_ingest_parse *p, xmlDoc **doc, struct eb_err *err);

/* 1 for the white space of XML: space, tab, CR, LF. */
static inline int eb_ingest_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The local name of element n: its name without a prefix. libxml2 keeps "foo:id" as the name
 * when the prefix foo is not declared; matching and output only ever use what follows ':'. */
static inline const xmlChar *eb_ingest_local(const xmlNode *n)
{
    const xmlChar *name = n->name ? n->name : (const xmlChar *)"";
    for (const xmlChar *s = name; *s; s++)
        if (*s == ':')
            name = s + 1;
    return name;
}

/* Narrows (*p, *n) to the text without leading and trailing XML white space. */
void eb_ingest_trim(const char **p, size_t *n);

/* 1 when name equals want ignoring ASCII case (want is lower-case or mixed, NUL-terminated). */
int eb_ingest_name_is(const xmlChar *name, const char *want);

/* 1 when name is "element" or "item" in any case: the item of a wrapped array. */
int eb_ingest_is_item_name(const xmlChar *name);

/* 1 when n carries xsi:nil="true" (or "1"), in the 2001 or the 1999 XML Schema instance
 * namespace. */
int eb_ingest_is_nil(const xmlNode *n);

/* The first element child of n, NULL when none. */
xmlNode *eb_ingest_first_element(const xmlNode *n);

/* The text directly inside n (its text and CDATA children, concatenated), trimmed. *p points
 * into the node when there is one text child, otherwise into tmp (reset first); valid until
 * tmp or the document changes. EB_ERR_NOMEM, EB_ERR_TOO_LARGE from tmp. */
eb_rc eb_ingest_node_text(const xmlNode *n, struct eb_buf *tmp, const char **p, size_t *len);

/* Appends the JSON text of the structured value n (an element with element children) to out,
 * escaped for XML character data: children become members in document order, repeated names
 * arrays, children all named element/item a JSON array, leaves strings, xsi:nil null. depth_left
 * bounds the recursion (EB_ERR_INVALID past it). tmp is scratch space. */
eb_rc eb_ingest_any_json(const xmlNode *n, size_t depth_left, struct eb_buf *tmp,
                         struct eb_buf *out, struct eb_err *err);

struct eb_ingest_limits;
struct eb_ingest_result;

/* The direct path (direct.c): 1 when body[0..len) is a typed request the canonical path would
 * read with no repair, no warning and no problem, with r->doc, canon_off, canon_len, soap,
 * push_id, event, triggered_at and application_id filled exactly as that path fills them and
 * r->direct = 1; 0 (r->doc and r->strings emptied) when it declines. scratch holds values
 * that contain references. r must be reset as eb_ingest resets it. */
int eb_ingest_direct(const char *body, size_t len, const struct eb_ingest_limits *lim,
                     struct eb_ingest_result *r, struct eb_buf *scratch);

#endif

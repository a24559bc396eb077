/* The one way ingest parses XML (the request body and any XML text found inside it): libxml2
 * with no network, no DTD, no entity expansion, bounded depth and element count, and the two
 * repairs the vendor's printed example needs (a margin before the XML declaration, raw '&').
 * Also the small node helpers the other ingest files share.
 *
 * Cost: each thread keeps one libxml2 parser context (reset for every document, recreated when
 * its dictionary of names grows large or a parse failed) and one arena. The SAX callbacks build
 * the tree in the arena with plain xmlNode/xmlAttr structs holding what ingest reads (type,
 * name, ns->href, parent, children, next, content, properties), the same tree libxml2's SAX2
 * builder would make (adjacent text merged into one node, comments and PIs kept as nodes
 * without content), but without a malloc per node and without xmlFreeDoc: the arena is
 * emptied once per request. */
#include "ingest/ingest_int.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/encoding.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlversion.h>

#include "util/arena.h"

/* Why a parse attempt failed, beyond the eb_rc: only a document that is not well-formed is
 * worth the '&' repair. */
enum failure { FAIL_NONE, FAIL_NOT_WELL_FORMED, FAIL_OTHER };

/* Pending text kept by a thread between requests. */
#define TEXT_KEEP ((size_t)64 * 1024)
/* Names a thread's parser context may have collected before it is recreated: names of elements
 * and attributes, namespaces and prefixes from every document it parsed. */
#define MAX_DICT_NAMES 4096

struct eb_ingest_parser {
    xmlParserCtxtPtr ctxt;  /* reused for every document; NULL until the first one */
    struct eb_arena *arena; /* the tree of the document being read */
    struct eb_buf text;     /* character data of the text node being read */
    int busy;               /* 1 between eb_ingest_parser_get() and _put() */
    int cached;             /* 1: the thread's own parser; 0: a private one, freed by _put() */
    int stale;              /* 1: a parse failed; the context is recreated by _put() */
};

/* State of one parse, reached from the SAX callbacks through ctxt->_private. */
struct pstate {
    const struct eb_ingest_parse *p; /* bounds */
    struct eb_ingest_parser *ps;     /* arena and text buffer */
    xmlDoc *doc;                     /* the document being built (in the arena) */
    xmlNode *cur;                    /* the open element; NULL at document level */
    xmlNs *last_ns;                  /* the namespace given to the last element that had one */
    int in_text;                     /* 1: ps->text holds a text node not yet added */
    size_t depth;                    /* open elements in this document */
    int dtd;                         /* a DOCTYPE was seen: parser stopped */
    int too_deep;                    /* p->max_depth exceeded: parser stopped */
    int too_many;                    /* p->max_nodes exceeded: parser stopped */
    int nomem;                       /* out of memory building the tree: parser stopped */
};

/* ---- the parser of each thread ------------------------------------------------------------ */

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static int key_ok;                                  /* 1 when key was created */
static _Thread_local struct eb_ingest_parser *mine; /* this thread's parser */

static void parser_free(struct eb_ingest_parser *ps)
{
    if (!ps)
        return;
    if (ps->ctxt)
        xmlFreeParserCtxt(ps->ctxt);
    ps->ctxt = NULL;
    eb_arena_free(ps->arena);
    eb_buf_free(&ps->text);
    free(ps);
}

/* The key's destructor: a thread that ends frees its parser. */
static void thread_ends(void *v)
{
    parser_free(v);
    mine = NULL;
}

static void make_key(void)
{
    key_ok = pthread_key_create(&key, thread_ends) == 0;
}

struct eb_ingest_parser *eb_ingest_parser_get(void)
{
    struct eb_ingest_parser *ps = mine;
    if (ps && !ps->busy) {
        ps->busy = 1;
        return ps;
    }
    if (!(ps = calloc(1, sizeof *ps)))
        return NULL;
    if (!(ps->arena = eb_arena_new(SIZE_MAX / 2))) { /* bounded by the parse's max_nodes */
        free(ps);
        return NULL;
    }
    eb_buf_init(&ps->text, SIZE_MAX / 2);
    ps->busy = 1;
    if (!mine) {
        pthread_once(&key_once, make_key);
        if (key_ok && pthread_setspecific(key, ps) == 0) {
            ps->cached = 1;
            mine = ps;
        }
    }
    return ps;
}

void eb_ingest_parser_put(struct eb_ingest_parser *ps)
{
    if (!ps)
        return;
    if (!ps->cached) {
        parser_free(ps);
        return;
    }
    eb_arena_reset(ps->arena);
    if (ps->text.cap > TEXT_KEEP)
        eb_buf_free(&ps->text);
    eb_buf_reset(&ps->text);
    if (ps->ctxt &&
        (ps->stale || !ps->ctxt->dict || xmlDictSize(ps->ctxt->dict) > MAX_DICT_NAMES)) {
        xmlFreeParserCtxt(ps->ctxt);
        ps->ctxt = NULL;
    }
    ps->stale = 0;
    ps->busy = 0;
}

/* ---- building the tree -------------------------------------------------------------------- */

static void out_of_memory(xmlParserCtxtPtr ctxt, struct pstate *st)
{
    st->nomem = 1;
    xmlStopParser(ctxt);
}

/* Appends n as the last child of the open element, or of the document. */
static void add_child(struct pstate *st, xmlNode *n)
{
    xmlNode *parent = st->cur ? st->cur : (xmlNode *)st->doc;
    n->parent = parent;
    n->doc = st->doc;
    if (parent->last) {
        parent->last->next = n;
        n->prev = parent->last;
    } else {
        parent->children = n;
    }
    parent->last = n;
}

/* Adds the text read since the last markup as one text node (as SAX2 merges adjacent text). */
static int flush_text(xmlParserCtxtPtr ctxt, struct pstate *st)
{
    if (!st->in_text)
        return 0;
    st->in_text = 0;
    if (++*st->p->nodes > st->p->max_nodes) { /* a text node costs what an element costs */
        st->too_many = 1;
        xmlStopParser(ctxt);
        return -1;
    }
    const struct eb_buf *text = &st->ps->text;
    xmlNode *t = eb_arena_zalloc(st->ps->arena, sizeof *t);
    if (!t || !(t->content = (xmlChar *)eb_arena_strndup(
                    st->ps->arena, text->data ? text->data : "", text->len))) {
        out_of_memory(ctxt, st);
        return -1;
    }
    eb_buf_reset(&st->ps->text);
    t->type = XML_TEXT_NODE;
    t->name = xmlStringText;
    add_child(st, t);
    return 0;
}

/* Text and CDATA (XML_PARSE_NOCDATA): character data of the open element; none exists at
 * document level. */
static void on_characters(void *ctx, const xmlChar *ch, int len)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct pstate *st = ctxt->_private;
    if (!st->cur || len < 0)
        return;
    if (eb_buf_append(&st->ps->text, ch, (size_t)len)) {
        out_of_memory(ctxt, st);
        return;
    }
    st->in_text = 1;
}

/* A comment or processing instruction: a node without content, so that it separates text
 * nodes and siblings as it does in libxml2's tree. */
static void add_other(xmlParserCtxtPtr ctxt, struct pstate *st, xmlElementType type)
{
    if (flush_text(ctxt, st))
        return;
    if (++*st->p->nodes > st->p->max_nodes) { /* as many nodes as an element */
        st->too_many = 1;
        xmlStopParser(ctxt);
        return;
    }
    xmlNode *n = eb_arena_zalloc(st->ps->arena, sizeof *n);
    if (!n) {
        out_of_memory(ctxt, st);
        return;
    }
    n->type = type;
    add_child(st, n);
}

static void on_comment(void *ctx, const xmlChar *value)
{
    (void)value;
    add_other(ctx, ((xmlParserCtxtPtr)ctx)->_private, XML_COMMENT_NODE);
}

static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    (void)target;
    (void)data;
    add_other(ctx, ((xmlParserCtxtPtr)ctx)->_private, XML_PI_NODE);
}

/* The namespace of a name bound to uri (a dictionary string, so equal URIs are one pointer). */
static xmlNs *name_ns(struct pstate *st, const xmlChar *uri, const xmlChar *prefix)
{
    if (st->last_ns && st->last_ns->href == uri && st->last_ns->prefix == prefix)
        return st->last_ns;
    xmlNs *ns = eb_arena_zalloc(st->ps->arena, sizeof *ns);
    if (!ns)
        return NULL;
    ns->type = XML_NAMESPACE_DECL;
    ns->href = uri;
    ns->prefix = prefix;
    return st->last_ns = ns;
}

/* The name SAX2 gives a node: the local name, or prefix:local when the prefix is undeclared. */
static const xmlChar *node_name(xmlParserCtxtPtr ctxt, const xmlChar *local, const xmlChar *prefix,
                                const xmlChar *uri)
{
    if (prefix && !uri) {
        const xmlChar *q = xmlDictQLookup(ctxt->dict, prefix, local);
        if (q)
            return q;
    }
    return local;
}

/* An attribute value as SAX2 stores it: the parser hands '&' over as "&#38;" (its only
 * reference left in a value when entities are not replaced); written back as '&'. */
static xmlChar *attr_value(struct eb_ingest_parser *ps, const xmlChar *v, const xmlChar *end)
{
    size_t n = (size_t)(end - v);
    xmlChar *d = (xmlChar *)eb_arena_strndup(ps->arena, (const char *)v, n);
    if (!d || !memchr(v, '&', n))
        return d;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '&' && n - i >= 5 && memcmp(v + i, "&#38;", 5) == 0) {
            d[o++] = '&';
            i += 4;
        } else {
            d[o++] = v[i];
        }
    }
    d[o] = '\0';
    return d;
}

static int add_attributes(xmlParserCtxtPtr ctxt, struct pstate *st, xmlNode *n, int nb,
                          const xmlChar **a)
{
    xmlAttr *last = NULL;
    for (int i = 0; i < nb; i++, a += 5) {
        xmlAttr *at = eb_arena_zalloc(st->ps->arena, sizeof *at);
        xmlNode *t = eb_arena_zalloc(st->ps->arena, sizeof *t);
        if (!at || !t || !(t->content = attr_value(st->ps, a[3], a[4])))
            return -1;
        at->type = XML_ATTRIBUTE_NODE;
        at->name = node_name(ctxt, a[0], a[1], a[2]);
        if (a[2] && !(at->ns = name_ns(st, a[2], a[1])))
            return -1;
        at->parent = n;
        at->doc = st->doc;
        at->children = at->last = t;
        t->type = XML_TEXT_NODE;
        t->name = xmlStringText;
        t->parent = (xmlNode *)at;
        t->doc = st->doc;
        if (last) {
            last->next = at;
            at->prev = last;
        } else {
            n->properties = at;
        }
        last = at;
    }
    return 0;
}

#if LIBXML_VERSION >= 21200
void eb_ingest_quiet_error(void *user, const xmlError *e)
#else
void eb_ingest_quiet_error(void *user, xmlErrorPtr e)
#endif
{
    (void)user;
    (void)e;
}

/* A DOCTYPE: refused before its internal subset (where entities would be declared) is read. */
static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct pstate *ps = ctxt->_private;
    (void)name;
    (void)external_id;
    (void)system_id;
    ps->dtd = 1;
    xmlStopParser(ctxt);
}

static void on_external_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id)
{
    on_internal_subset(ctx, name, external_id, system_id);
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct pstate *ps = ctxt->_private;
    /* one budget for every node of the tree: an attribute is two (itself and its value's text),
     * a namespace declaration costs libxml2 what an attribute costs */
    *ps->p->nodes += 1 + 2 * (size_t)nb_attributes + (size_t)nb_namespaces;
    if (*ps->p->nodes > ps->p->max_nodes) {
        ps->too_many = 1;
        xmlStopParser(ctxt);
        return;
    }
    if (ps->p->base_depth + ++ps->depth > ps->p->max_depth) {
        ps->too_deep = 1;
        xmlStopParser(ctxt);
        return;
    }
    (void)nb_namespaces; /* declarations are not kept: each node has its own namespace */
    (void)namespaces;
    /* defaulted attributes (from a DTD, never read here) come last: SAX2 leaves them out */
    if (flush_text(ctxt, ps))
        return;
    xmlNode *n = eb_arena_zalloc(ps->ps->arena, sizeof *n);
    if (!n || (uri && !(n->ns = name_ns(ps, uri, prefix))) ||
        add_attributes(ctxt, ps, n, nb_attributes - nb_defaulted, attributes)) {
        out_of_memory(ctxt, ps);
        return;
    }
    n->type = XML_ELEMENT_NODE;
    n->name = node_name(ctxt, localname, prefix, uri);
    add_child(ps, n);
    ps->cur = n;
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct pstate *ps = ctxt->_private;
    (void)localname;
    (void)prefix;
    (void)uri;
    if (ps->depth)
        ps->depth--;
    if (flush_text(ctxt, ps) || !ps->cur)
        return;
    ps->cur = ps->cur->parent && ps->cur->parent->type == XML_ELEMENT_NODE ? ps->cur->parent : NULL;
}

/* Copies libxml2's message for a log line: first line only, without the "Bytes: 0x.." tail
 * that quotes input bytes (which may be personal data). */
static void clean_message(char *dst, size_t cap, const char *msg)
{
    size_t n = 0;
    if (!msg)
        msg = "unknown error";
    const char *bytes = strstr(msg, "Bytes:");
    for (const char *s = msg; *s && *s != '\n' && (!bytes || s < bytes) && n + 1 < cap; s++)
        dst[n++] = *s;
    while (n && (dst[n - 1] == ' ' || dst[n - 1] == ',' || dst[n - 1] == '\t'))
        n--;
    dst[n] = '\0';
}

/* Most attributes (namespace declarations included) one element may have. libxml2 2.9 checks
 * attribute names for duplicates pairwise, so a start tag with 100,000 attributes costs seconds
 * of CPU before any SAX callback could stop it: such tags are refused by a linear pre-scan of
 * the text the parser reads, which is always UTF-8 (a body in another encoding is converted
 * first, and the parser ignores encoding declarations), so that no encoding hides a '>'. The
 * total of a document is bounded with its elements (max_nodes, counted by on_start). */
#define MAX_ATTRIBUTES 256

/* Bytes that matter inside a tag to too_many_attributes(). */
static const unsigned char tag_special[256] = {
    ['"'] = 1, ['\''] = 1, ['='] = 1, ['<'] = 1, ['>'] = 1};

/* The first occurrence of the n-byte string w in [p, end), NULL when none. */
static const char *find_bytes(const char *p, const char *end, const char *w, size_t n)
{
    while ((size_t)(end - p) >= n) {
        const char *q = memchr(p, w[0], (size_t)(end - p) - n + 1);
        if (!q)
            return NULL;
        if (memcmp(q, w, n) == 0)
            return q;
        p = q + 1;
    }
    return NULL;
}

/* 1 when some start tag of text has more than MAX_ATTRIBUTES '=' outside quotes. Comments,
 * CDATA sections and processing instructions are skipped. Linear in len. */
static int too_many_attributes(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt)
            return 0;
        p = lt + 1;
        const char *close = NULL;
        size_t rest = (size_t)(end - p);
        if (rest >= 3 && !memcmp(p, "!--", 3))
            close = "-->";
        else if (rest >= 8 && !memcmp(p, "![CDATA[", 8))
            close = "]]>";
        else if (rest >= 1 && *p == '?')
            close = "?>";
        if (close) {
            size_t cl = strlen(close);
            const char *q = find_bytes(p, end, close, cl);
            if (!q)
                return 0;
            p = q + cl;
            continue;
        }
        unsigned count = 0;
        for (; p < end; p++) {
            char c = *p;
            if (!tag_special[(unsigned char)c])
                continue;
            if (c == '"' || c == '\'') {
                const char *q = memchr(p + 1, c, (size_t)(end - p - 1));
                if (!q)
                    return 0; /* the quote runs to the end */
                p = q;
            } else if (c == '=') {
                if (++count > MAX_ATTRIBUTES)
                    return 1;
            } else {
                break; /* '>' or '<' */
            }
        }
    }
    return 0;
}

static eb_rc parse_once(struct eb_ingest_parser *psr, const char *text, size_t len,
                        const struct eb_ingest_parse *p, xmlDoc **doc, enum failure *why,
                        struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct pstate ps;
    int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xmlParserCtxtPtr ctxt = NULL;

    memset(&ps, 0, sizeof ps);
    ps.p = p;
    ps.ps = psr;
    *doc = NULL;
    *why = FAIL_OTHER;
    if (len > INT_MAX) {
        rc = eb_err_set(err, EB_ERR_TOO_LARGE, "%s is too large to parse", p->what);
        goto out;
    }
    if (too_many_attributes(text, len)) {
        rc = eb_err_set(err, EB_ERR_INVALID, "%s: an element has more than %d attributes", p->what,
                        MAX_ATTRIBUTES);
        goto out;
    }
    /* text is UTF-8 (eb_ingest_parse_xml transcoded it): an encoding declaration must not make
     * libxml2 read other characters than the attribute scan above read */
    options |= XML_PARSE_IGNORE_ENC;
    if (!psr->ctxt && !(psr->ctxt = xmlNewParserCtxt())) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory creating an XML parser");
        goto out;
    }
    ctxt = psr->ctxt;
    if (!ctxt->sax || !(ps.doc = eb_arena_zalloc(psr->arena, sizeof *ps.doc))) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory creating an XML parser");
        goto out;
    }
    ps.doc->type = XML_DOCUMENT_NODE;
    eb_buf_reset(&psr->text);

    /* ctxt->sax belongs to this context alone: overriding it is thread-safe. The tree is built
     * by the callbacks below, never by SAX2; ignorableWhitespace is the characters callback so
     * that libxml2 never guesses which white space is ignorable. Options accumulate in
     * ctxt->options: cleared so that the previous document's options do not carry over. */
    ctxt->_private = &ps;
    ctxt->options = 0;
    xmlCtxtUseOptions(ctxt, options);
    ctxt->sax->startDocument = NULL;
    ctxt->sax->endDocument = NULL;
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->externalSubset = on_external_subset;
    ctxt->sax->startElementNs = on_start;
    ctxt->sax->endElementNs = on_end;
    ctxt->sax->characters = on_characters;
    ctxt->sax->ignorableWhitespace = on_characters;
    ctxt->sax->cdataBlock = NULL;
    ctxt->sax->comment = on_comment;
    ctxt->sax->processingInstruction = on_pi;
    ctxt->sax->reference = NULL;
    ctxt->sax->serror = eb_ingest_quiet_error;
    ctxt->sax->warning = NULL;
    ctxt->sax->error = NULL;
    ctxt->sax->fatalError = NULL;

    /* Resets the context, reads a copy of text (as xmlCreateMemoryParserCtxt did), and leaves
     * ctxt->myDoc NULL: no startDocument callback. */
    xmlCtxtReadMemory(ctxt, text, (int)len, NULL, NULL, options);

    if (ps.dtd) {
        rc = eb_err_set(err, EB_ERR_INVALID, "%s: DTDs are not accepted", p->what);
        goto out;
    }
    if (ps.too_many) {
        rc = eb_err_set(err, EB_ERR_TOO_LARGE,
                        "%s: more than %zu nodes (elements, attributes, texts, comments)", p->what,
                        p->max_nodes);
        goto out;
    }
    if (ps.too_deep) {
        rc = eb_err_set(err, EB_ERR_INVALID, "%s: nesting deeper than %zu", p->what, p->max_depth);
        goto out;
    }
    if (ps.nomem || ctxt->errNo == XML_ERR_NO_MEMORY) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory parsing %s", p->what);
        goto out;
    }
    if (!ctxt->wellFormed || !xmlDocGetRootElement(ps.doc)) {
        char msg[160];
        clean_message(msg, sizeof msg, ctxt->lastError.message);
        *why = FAIL_NOT_WELL_FORMED;
        rc = eb_err_set(err, EB_ERR_INVALID, "%s is not well-formed XML (line %d): %s", p->what,
                        ctxt->lastError.line, msg);
        goto out;
    }
    *doc = ps.doc;
    *why = FAIL_NONE;
out:
    if (ctxt) {
        ctxt->_private = NULL;
        if (rc)
            psr->stale = 1; /* recreated once the request's documents are released */
    }
    return rc;
}

/* 1 when s[0..n) (s[0] == '&') starts a reference XML accepts without a DTD:
 * &amp; &lt; &gt; &quot; &apos; &#N; &#xH; */
static int starts_reference(const char *s, size_t n)
{
    static const char *const named[] = {"amp;", "lt;", "gt;", "quot;", "apos;"};
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        size_t l = strlen(named[k]);
        if (n - 1 >= l && memcmp(s + 1, named[k], l) == 0)
            return 1;
    }
    if (n < 2 || s[1] != '#')
        return 0;
    size_t i = 2;
    int hex = i < n && s[i] == 'x';
    if (hex)
        i++;
    size_t start = i;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int digit = c >= '0' && c <= '9';
        if (hex)
            digit = digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!digit)
            break;
    }
    return i > start && i < n && s[i] == ';';
}

/* Most raw '&' the repair writes as "&amp;": the vendor's printed example has a few (in URLs);
 * a body of nothing but '&' would otherwise be copied at 5 times its size. */
#define MAX_REPAIRS 65536

/* The '&' repair: a copy of text with every '&' that does not start a reference written as
 * "&amp;". *fixed is NULL when there is nothing to repair, or more than MAX_REPAIRS to repair
 * (the document then stays refused as not well-formed); caller frees it. */
static eb_rc repair_amps(const char *text, size_t len, char **fixed, size_t *fixed_len)
{
    size_t raw = 0;
    *fixed = NULL;
    *fixed_len = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '&' && !starts_reference(text + i, len - i))
            raw++;
    if (!raw || raw > MAX_REPAIRS)
        return EB_OK;
    if (raw > (SIZE_MAX - len - 1) / 4)
        return EB_ERR_TOO_LARGE;
    char *out = malloc(len + 4 * raw + 1);
    if (!out)
        return EB_ERR_NOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        out[o++] = text[i];
        if (text[i] == '&' && !starts_reference(text + i, len - i)) {
            memcpy(out + o, "amp;", 4);
            o += 4;
        }
    }
    out[o] = '\0';
    *fixed = out;
    *fixed_len = o;
    return EB_OK;
}

/* The encoding the XML declaration at the start of text names, copied into name (NUL-terminated);
 * 0 when there is no declaration, it names none, or the name does not fit. */
static int declared_encoding(const char *text, size_t len, char *name, size_t cap)
{
    if (len < 6 || memcmp(text, "<?xml", 5) != 0 || !eb_ingest_is_space((unsigned char)text[5]))
        return 0;
    const char *end = find_bytes(text, text + (len < 512 ? len : 512), "?>", 2);
    const char *s = end ? find_bytes(text + 5, end, "encoding", 8) : NULL;
    if (!s || !eb_ingest_is_space((unsigned char)s[-1]))
        return 0;
    for (s += 8; s < end && eb_ingest_is_space((unsigned char)*s); s++)
        ;
    if (s == end || *s++ != '=')
        return 0;
    while (s < end && eb_ingest_is_space((unsigned char)*s))
        s++;
    if (s == end || (*s != '"' && *s != '\''))
        return 0;
    const char *q = memchr(s + 1, *s, (size_t)(end - s - 1));
    if (!q || q == s + 1 || (size_t)(q - s - 1) >= cap)
        return 0;
    memcpy(name, s + 1, (size_t)(q - s - 1));
    name[q - s - 1] = '\0';
    return 1;
}

/* Converts text[0..len) with h into *out (UTF-8, NUL-terminated, without a byte order mark;
 * caller frees with xmlFree). EB_ERR_INVALID when text is not in h's encoding. */
static eb_rc transcode(xmlCharEncodingHandlerPtr h, const char *text, size_t len, char **out,
                       size_t *out_len)
{
    eb_rc rc = EB_OK;
    xmlBufferPtr in = xmlBufferCreateStatic((void *)text, len);
    xmlBufferPtr o = xmlBufferCreateSize(len + len / 2 + 64);
    *out = NULL;
    *out_len = 0;
    if (!in || !o) {
        rc = EB_ERR_NOMEM;
        goto out;
    }
    while (xmlBufferLength(in) > 0) {
        int left = xmlBufferLength(in), r = xmlCharEncInFunc(h, o, in);
        if (r == -2 || xmlBufferLength(in) == left) {
            rc = EB_ERR_INVALID; /* a sequence that is not of the encoding, or cut short */
            goto out;
        }
    }
    size_t n = (size_t)xmlBufferLength(o),
           bom = n >= 3 && !memcmp(xmlBufferContent(o), "\xEF\xBB\xBF", 3) ? 3 : 0;
    if (!(*out = (char *)xmlBufferDetach(o))) {
        rc = EB_ERR_NOMEM;
        goto out;
    }
    memmove(*out, *out + bom, n - bom + 1);
    *out_len = n - bom;
out:
    xmlBufferFree(in);
    xmlBufferFree(o);
    return rc;
}

/* The body's text as UTF-8, which is what the attribute scan and the parser read: *utf8 is NULL
 * when text is UTF-8 already (no declaration, or one naming UTF-8, and no byte order mark or
 * first characters of another encoding: libxml2's own detection), else a converted copy
 * (caller frees with xmlFree). Every encoding libxml2 reads is converted with libxml2's own
 * converters, so the same documents are accepted. */
static eb_rc body_to_utf8(const char *text, size_t len, const struct eb_ingest_parse *p,
                          char **utf8, size_t *utf8_len, struct eb_err *err)
{
    xmlCharEncodingHandlerPtr h = NULL;
    xmlCharEncoding enc =
        xmlDetectCharEncoding((const unsigned char *)text, len < 4 ? (int)len : 4);
    char name[64];
    eb_rc rc;

    *utf8 = NULL;
    *utf8_len = 0;
    if (len > INT_MAX / 4)
        return eb_err_set(err, EB_ERR_TOO_LARGE, "%s is too large to parse", p->what);
    if (enc != XML_CHAR_ENCODING_NONE && enc != XML_CHAR_ENCODING_UTF8) {
        if (!(h = xmlGetCharEncodingHandler(enc)))
            return eb_err_set(err, EB_ERR_INVALID, "%s: unsupported encoding", p->what);
    } else if (declared_encoding(text, len, name, sizeof name)) {
        if (!xmlStrcasecmp((const xmlChar *)name, (const xmlChar *)"UTF-8") ||
            !xmlStrcasecmp((const xmlChar *)name, (const xmlChar *)"UTF8"))
            return EB_OK;
        if (!xmlStrcasecmp((const xmlChar *)name, (const xmlChar *)"UTF-16") ||
            !xmlStrcasecmp((const xmlChar *)name, (const xmlChar *)"UTF16"))
            return eb_err_set(err, EB_ERR_INVALID, "%s is labelled UTF-16 but is not UTF-16",
                              p->what);
        if (!(h = xmlFindCharEncodingHandler(name)))
            return eb_err_set(err, EB_ERR_INVALID, "%s: unsupported encoding", p->what);
    } else {
        return EB_OK;
    }
    rc = transcode(h, text, len, utf8, utf8_len);
    xmlCharEncCloseFunc(h);
    if (rc == EB_ERR_INVALID)
        return eb_err_set(err, rc, "%s is not in the encoding it declares", p->what);
    if (rc)
        return eb_err_set(err, rc, "out of memory converting %s to UTF-8", p->what);
    return EB_OK;
}

eb_rc eb_ingest_parse_xml(struct eb_ingest_parser *ps, const char *text, size_t len,
                          const struct eb_ingest_parse *p, xmlDoc **doc, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    enum failure why = FAIL_NONE;
    char *fixed = NULL, *utf8 = NULL;
    size_t fixed_len = 0, skip = 0, nodes_before = *p->nodes, utf8_len = 0;

    *doc = NULL;
    while (skip < len && eb_ingest_is_space((unsigned char)text[skip]))
        skip++;
    text += skip;
    len -= skip;
    if (!p->inner && len) {
        if ((rc = body_to_utf8(text, len, p, &utf8, &utf8_len, err)))
            goto out;
        if (utf8) {
            text = utf8;
            len = utf8_len;
            while (len && eb_ingest_is_space((unsigned char)*text)) {
                text++;
                len--;
            }
        }
    }
    if (len == 0) {
        rc = eb_err_set(err, EB_ERR_INVALID, "%s is empty", p->what);
        goto out;
    }
    rc = parse_once(ps, text, len, p, doc, &why, err);
    if (rc == EB_OK) {
        if (skip && len >= 5 && memcmp(text, "<?xml", 5) == 0)
            *p->repaired = 1; /* the margin before the declaration was removed */
        goto out;
    }
    if (why != FAIL_NOT_WELL_FORMED)
        goto out;
    eb_rc rrc = repair_amps(text, len, &fixed, &fixed_len);
    if (rrc) {
        rc = eb_err_set(err, rrc, "%s: cannot repair '&': %s", p->what, eb_strerror(rrc));
        goto out;
    }
    if (!fixed)
        goto out; /* nothing to repair: the first error stands */
    *p->nodes = nodes_before;
    rc = parse_once(ps, fixed, fixed_len, p, doc, &why, err);
    if (rc == EB_OK) {
        *p->repaired = 1;
        eb_err_clear(err); /* the first attempt's message no longer applies */
    }
out:
    free(fixed);
    xmlFree(utf8);
    return rc;
}

void eb_ingest_trim(const char **p, size_t *n)
{
    const char *s = *p;
    size_t len = *n;
    while (len && eb_ingest_is_space((unsigned char)s[0])) {
        s++;
        len--;
    }
    while (len && eb_ingest_is_space((unsigned char)s[len - 1]))
        len--;
    *p = s;
    *n = len;
}

int eb_ingest_name_is(const xmlChar *name, const char *want)
{
    if (!name)
        return 0;
    for (;; name++, want++) {
        unsigned char a = *name, b = (unsigned char)*want;
        if (a >= 'A' && a <= 'Z')
            a = (unsigned char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (unsigned char)(b - 'A' + 'a');
        if (a != b)
            return 0;
        if (!a)
            return 1;
    }
}

int eb_ingest_is_item_name(const xmlChar *name)
{
    return eb_ingest_name_is(name, "element") || eb_ingest_name_is(name, "item");
}

int eb_ingest_is_nil(const xmlNode *n)
{
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        const char *name = (const char *)a->name, *colon = strrchr(name, ':');
        if (strcmp(colon ? colon + 1 : name, "nil") != 0)
            continue;
        if (a->ns && a->ns->href) {
            const char *href = (const char *)a->ns->href;
            if (strcmp(href, "http://www.w3.org/2001/XMLSchema-instance") != 0 &&
                strcmp(href, "http://www.w3.org/1999/XMLSchema-instance") != 0)
                continue;
        } else if (!colon) {
            /* a plain nil="..." is no xsi:nil; an undeclared xsi: prefix is read as one */
            continue;
        }
        const xmlNode *t = a->children;
        if (!t || !t->content)
            return 0;
        const char *v = (const char *)t->content;
        size_t len = strlen(v);
        eb_ingest_trim(&v, &len);
        return (len == 4 && memcmp(v, "true", 4) == 0) || (len == 1 && v[0] == '1');
    }
    return 0;
}

xmlNode *eb_ingest_first_element(const xmlNode *n)
{
    for (xmlNode *c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

eb_rc eb_ingest_node_text(const xmlNode *n, struct eb_buf *tmp, const char **p, size_t *len)
{
    const xmlNode *only = NULL;
    size_t count = 0;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
            only = c;
            count++;
        }
    }
    if (count <= 1) {
        *p = only ? (const char *)only->content : "";
        *len = only ? strlen(*p) : 0;
    } else {
        eb_rc rc;
        eb_buf_reset(tmp);
        for (const xmlNode *c = n->children; c; c = c->next)
            if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content &&
                (rc = eb_buf_puts(tmp, (const char *)c->content)))
                return rc;
        *p = tmp->len ? tmp->data : "";
        *len = tmp->len;
    }
    eb_ingest_trim(p, len);
    return EB_OK;
}

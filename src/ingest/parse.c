/* The one way ingest parses XML (the request body and any XML text found inside it): libxml2
 * with no network, no DTD, no entity expansion, bounded depth and element count, and the two
 * repairs the vendor's printed example needs (a margin before the XML declaration, raw '&').
 * Also the small node helpers the other ingest files share. */
#include "ingest/ingest_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlversion.h>

/* Why a parse attempt failed, beyond the eb_rc: only a document that is not well-formed is
 * worth the '&' repair. */
enum failure { FAIL_NONE, FAIL_NOT_WELL_FORMED, FAIL_OTHER };

/* State of one parse, reached from the SAX callbacks through ctxt->_private. */
struct pstate {
    const struct eb_ingest_parse *p; /* bounds */
    size_t depth;                    /* open elements in this document */
    int dtd;                         /* a DOCTYPE was seen: parser stopped */
    int too_deep;                    /* p->max_depth exceeded: parser stopped */
    int too_many;                    /* p->max_nodes exceeded: parser stopped */
};

#if LIBXML_VERSION >= 21200
static void silent(void *user, const xmlError *e)
#else
static void silent(void *user, xmlErrorPtr e)
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

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                     int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct pstate *ps = ctxt->_private;
    if (++*ps->p->nodes > ps->p->max_nodes) {
        ps->too_many = 1;
        xmlStopParser(ctxt);
        return;
    }
    if (ps->p->base_depth + ++ps->depth > ps->p->max_depth) {
        ps->too_deep = 1;
        xmlStopParser(ctxt);
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct pstate *ps = ctxt->_private;
    if (ps->depth)
        ps->depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
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
 * of CPU before any SAX callback could stop it: such tags are refused by a linear pre-scan. */
#define MAX_ATTRIBUTES 256

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
            const char *q = p;
            size_t cl = strlen(close);
            while (q + cl <= end && memcmp(q, close, cl))
                q++;
            p = q + cl;
            continue;
        }
        unsigned count = 0;
        char quote = 0;
        for (; p < end; p++) {
            char c = *p;
            if (quote) {
                if (c == quote)
                    quote = 0;
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == '=') {
                if (++count > MAX_ATTRIBUTES)
                    return 1;
            } else if (c == '>' || c == '<') {
                break;
            }
        }
    }
    return 0;
}

static eb_rc parse_once(const char *text, size_t len, const struct eb_ingest_parse *p,
                        xmlDoc **doc, enum failure *why, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct pstate ps = {p, 0, 0, 0, 0};
    int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                  XML_PARSE_COMPACT;
    xmlParserCtxtPtr ctxt = NULL;

    *doc = NULL;
    *why = FAIL_OTHER;
    if (len > INT_MAX) {
        rc = eb_err_set(err, EB_ERR_TOO_LARGE, "%s is too large to parse", p->what);
        goto out;
    }
    if (too_many_attributes(text, len)) {
        rc = eb_err_set(err, EB_ERR_INVALID, "%s: an element has more than %d attributes",
                        p->what, MAX_ATTRIBUTES);
        goto out;
    }
    if (p->inner)
        options |= XML_PARSE_IGNORE_ENC;
    ctxt = xmlCreateMemoryParserCtxt(text, (int)len);
    if (!ctxt || !ctxt->sax) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory creating an XML parser");
        goto out;
    }
    xmlCtxtUseOptions(ctxt, options);
    /* ctxt->sax belongs to this context alone: overriding it is thread-safe. */
    ctxt->_private = &ps;
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->externalSubset = on_external_subset;
    ctxt->sax->startElementNs = on_start;
    ctxt->sax->endElementNs = on_end;
    ctxt->sax->serror = silent;
    ctxt->sax->warning = NULL;
    ctxt->sax->error = NULL;
    ctxt->sax->fatalError = NULL;

    xmlParseDocument(ctxt);

    if (ps.dtd) {
        rc = eb_err_set(err, EB_ERR_INVALID, "%s: DTDs are not accepted", p->what);
        goto out;
    }
    if (ps.too_many) {
        rc = eb_err_set(err, EB_ERR_TOO_LARGE, "%s: more than %zu elements", p->what,
                        p->max_nodes);
        goto out;
    }
    if (ps.too_deep) {
        rc = eb_err_set(err, EB_ERR_INVALID, "%s: nesting deeper than %zu", p->what,
                        p->max_depth);
        goto out;
    }
    if (ctxt->errNo == XML_ERR_NO_MEMORY) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory parsing %s", p->what);
        goto out;
    }
    if (!ctxt->wellFormed || !ctxt->myDoc || !xmlDocGetRootElement(ctxt->myDoc)) {
        char msg[160];
        clean_message(msg, sizeof msg, ctxt->lastError.message);
        *why = FAIL_NOT_WELL_FORMED;
        rc = eb_err_set(err, EB_ERR_INVALID, "%s is not well-formed XML (line %d): %s", p->what,
                        ctxt->lastError.line, msg);
        goto out;
    }
    *doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    *why = FAIL_NONE;
out:
    if (ctxt) {
        if (ctxt->myDoc)
            xmlFreeDoc(ctxt->myDoc);
        ctxt->myDoc = NULL;
        xmlFreeParserCtxt(ctxt);
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

/* The '&' repair: a copy of text with every '&' that does not start a reference written as
 * "&amp;". *fixed is NULL when there is nothing to repair; caller frees it. */
static eb_rc repair_amps(const char *text, size_t len, char **fixed, size_t *fixed_len)
{
    size_t raw = 0;
    *fixed = NULL;
    *fixed_len = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '&' && !starts_reference(text + i, len - i))
            raw++;
    if (!raw)
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

eb_rc eb_ingest_parse_xml(const char *text, size_t len, const struct eb_ingest_parse *p,
                          xmlDoc **doc, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    enum failure why = FAIL_NONE;
    char *fixed = NULL;
    size_t fixed_len = 0, skip = 0, nodes_before = *p->nodes;

    *doc = NULL;
    while (skip < len && eb_ingest_is_space((unsigned char)text[skip]))
        skip++;
    text += skip;
    len -= skip;
    if (len == 0) {
        rc = eb_err_set(err, EB_ERR_INVALID, "%s is empty", p->what);
        goto out;
    }
    rc = parse_once(text, len, p, doc, &why, err);
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
    rc = parse_once(fixed, fixed_len, p, doc, &why, err);
    if (rc == EB_OK) {
        *p->repaired = 1;
        eb_err_clear(err); /* the first attempt's message no longer applies */
    }
out:
    free(fixed);
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
            continue; /* a plain nil="..." is no xsi:nil; an undeclared xsi: prefix is read as one */
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

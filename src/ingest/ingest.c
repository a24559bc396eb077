/* Ingest: every shape of pushCandidate request the vendor may send becomes ONE canonical
 * document, written straight into an eb_buf in one walk over the parsed request (no second DOM).
 *
 * Decisions (docs/soap.md repeats them):
 * - Envelope: a root named Envelope in the SOAP 1.2 namespace is SOAP 1.2; any other Envelope is
 *   read as SOAP 1.1. The Header is ignored; the first element child of Body is the operation and
 *   must be named pushCandidate (ASCII case-insensitive), otherwise EB_ERR_NOT_PUSH. A bare
 *   document whose root is pushCandidate or root is accepted and answered as SOAP 1.1.
 * - Names are matched by local name only (any namespace or none), ignoring ASCII case, '_' and
 *   '-' (eb_schema_find); the output uses the contract's spelling and order only.
 * - Unwrapping: when the operation has no id/event/triggeredAt/data child but exactly one element
 *   child, that child is taken instead (at most twice: arg0, then root). When the node holds only
 *   text (text and CDATA), that text is parsed as an XML document (once).
 * - Parsing (parse.c): white space before the first '<' (the vendor's margin before the XML
 *   declaration) is removed; a document that is not well-formed is retried ONCE with every '&'
 *   that does not start &amp; &lt; &gt; &quot; &apos; &#N; or &#xH; written as &amp;
 *   (r->repaired = 1); still not well-formed: EB_ERR_INVALID. A DOCTYPE anywhere stops the parser:
 *   EB_ERR_INVALID, so no entity is ever declared or expanded. Depth and element count are
 *   checked while parsing, over all documents of one request.
 * - The <source/> quirk: non-blank text directly after an EMPTY element of a scalar kind inside
 *   complex content is that element's value (<source/>Others -> source "Others"). Any other text
 *   in complex content is ignored.
 * - Repeated elements: a scalar or object given more than once keeps the LAST one (as JSON
 *   parsers do with repeated keys); all occurrences of an array wrapper are merged into one array.
 * - Arrays: items named element or item (any case) under the wrapper; a wrapper with element
 *   children none of which is an item is itself one item (repeated wrappers, one item each); an
 *   empty wrapper is an empty array. Every element child of a string-array wrapper is an item; a
 *   string-array wrapper with text only is one item. Unknown children of a wrapper holding items
 *   are kept after the items. xsi:nil items are skipped.
 * - Values are trimmed of XML white space. Strings stay as they are (empty stays empty); a string
 *   given as markup (element children) keeps that markup as its text. INT is written in decimal
 *   (leading '+' and zeros dropped), DEC as given, BOOL as true/false, DATE as given. Empty
 *   INT/DEC/BOOL/DATE values and xsi:nil elements are omitted. Malformed INT/DEC/BOOL (and
 *   non-string values given as markup) are set aside (tolerance): omitted, so the strict
 *   bindings never see them, counted, and listed in r->warnings with path, raw text and reason
 *   (set_aside); r->problem names the first by its path, never its value. A malformed
 *   data/applicationId, and data that cannot be read, are refusals (r->refusal) instead. "any"
 *   values with element children become JSON text (anyjson.c).
 * - Unknown elements are kept after the known fields of their parent, with local names only,
 *   no attributes, their leaves trimmed; r->n_unknown counts each unknown subtree once.
 * - data given as text: XML when it starts with '<' (an XML declaration is dropped; the text is
 *   wrapped in <data>..</data> and the wrapper is the data element unless the text had a single
 *   root that is not a candidate field, which is then the data element); otherwise the decoder
 *   hook, whose XML output is then read the same way; without one, or when it does not
 *   recognize the text, the problem "data: neither XML nor a known encoding" and no data.
 * - r->push_id, event, triggered_at, application_id are copied as they are written (id, event,
 *   triggeredAt come first in contract order), so they survive a later failure;
 *   application_id only when it is a well-formed number.
 * - Limits of 0 in opts mean the default. On failure r->doc is emptied. */
#include "ingest/ingest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "candidate/schema.h"
#include "ingest/ingest_int.h"

const struct eb_ingest_limits eb_ingest_default_limits = {64, 200000, (size_t)64 * 1024 * 1024};

#define SOAP11_NS   "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP12_NS   "http://www.w3.org/2003/05/soap-envelope"
#define CONTRACT_NS "urn:ehrbridge:moka:v1"
#define MAX_FIELDS  128 /* most fields of one contract type (Candidate has under 100) */
#define MAX_DOCS    4   /* body, pushCandidate text, data text */
#define NO_STRING   SIZE_MAX

/* What ingest remembers while it writes: the operation's fields (eb_type_push, in its order)
 * and data/applicationId. */
enum {
    PUSH_ID = EB_PUSH_FIELD_ID,
    PUSH_EVENT = EB_PUSH_FIELD_EVENT,
    PUSH_TRIGGERED_AT = EB_PUSH_FIELD_TRIGGERED_AT,
    PUSH_DATA = EB_PUSH_FIELD_DATA,
    APPLICATION_ID,
    N_REMEMBERED
};

/* A child element and the index of its field in the parent's type (n_fields: unknown). */
struct slot {
    xmlNode *node; /* the child */
    size_t field;  /* index into the type's fields */
};

/* One step of the path to a value, for problem messages: a field name or an array index. */
struct frame {
    const struct frame *up; /* the enclosing step, NULL at the operation */
    const char *name;       /* contract name of the field (when !is_index) */
    size_t index;           /* array index (when is_index) */
    int is_index;           /* 1 for an array item */
};

/* Everything one eb_ingest() call uses; nothing is shared between calls. */
struct ctx {
    struct eb_ingest_limits lim;             /* effective limits */
    const struct eb_ingest_decoder *decoder; /* hook for data text, may be NULL */
    struct eb_ingest_result *r;              /* the result being filled */
    struct eb_err *err;                      /* never NULL */
    struct eb_buf *out;                      /* r->doc */
    struct eb_buf tmp;                       /* text of one node when it has several parts */
    struct eb_buf markup;                    /* a string value given as markup */
    struct slot *slots;                      /* stack of children being ordered */
    size_t n_slots, cap_slots;               /* slots in use, allocated */
    size_t nodes;                            /* elements parsed in this request */
    struct eb_ingest_parser *parser;         /* holds the parsed documents; NULL until needed */
    xmlDoc *docs[MAX_DOCS];                  /* parsed documents, released at the end */
    size_t doc_base[MAX_DOCS];               /* depth of the element that held each document */
    size_t n_docs;                           /* documents in docs */
    size_t off[N_REMEMBERED];                /* offsets in r->strings, NO_STRING when absent */
};

static eb_rc put(struct eb_buf *b, const char *s)
{
    return eb_buf_puts(b, s);
}

/* Appends a tag: "<" or "</", the name, ">"; short tags in one append. */
static eb_rc put_tag(struct eb_buf *b, const char *name, int closing)
{
    char tag[128];
    size_t n = strlen(name), o = 0;
    eb_rc rc;
    if (n + 3 > sizeof tag) {
        if ((rc = eb_buf_append(b, "</", closing ? 2 : 1)) || (rc = eb_buf_append(b, name, n)))
            return rc;
        return eb_buf_append(b, ">", 1);
    }
    tag[o++] = '<';
    if (closing)
        tag[o++] = '/';
    memcpy(tag + o, name, n);
    o += n;
    tag[o++] = '>';
    return eb_buf_append(b, tag, o);
}

static eb_rc open_tag(struct eb_buf *b, const char *name)
{
    return put_tag(b, name, 0);
}

static eb_rc close_tag(struct eb_buf *b, const char *name)
{
    return put_tag(b, name, 1);
}

/* <name>v escaped</name>; a short element with nothing to escape in one append. */
static eb_rc put_element(struct eb_buf *b, const char *name, const char *v, size_t n)
{
    char el[256];
    size_t nl = strlen(name);
    eb_rc rc;
    if (nl <= 64 && n <= sizeof el - 2 * nl - 5 && eb_buf_xml_plain(v, n)) {
        size_t o = 0;
        el[o++] = '<';
        memcpy(el + o, name, nl);
        o += nl;
        el[o++] = '>';
        memcpy(el + o, v, n);
        o += n;
        el[o++] = '<';
        el[o++] = '/';
        memcpy(el + o, name, nl);
        o += nl;
        el[o++] = '>';
        return eb_buf_append(b, el, o);
    }
    if ((rc = open_tag(b, name)) || (rc = eb_buf_xml_escape(b, v, n)))
        return rc;
    return close_tag(b, name);
}

static eb_rc too_deep(struct ctx *c)
{
    return eb_err_set(c->err, EB_ERR_INVALID, "nesting deeper than %zu", c->lim.max_depth);
}

static xmlNode *next_element(const xmlNode *n)
{
    for (xmlNode *s = n->next; s; s = s->next)
        if (s->type == XML_ELEMENT_NODE)
            return s;
    return NULL;
}

/* An element name for a message: ASCII names as they are, anything else summarized. */
static const char *printable_name(const xmlChar *name, char *buf, size_t cap)
{
    size_t n = 0;
    for (const xmlChar *s = name; s && *s; s++) {
        int ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                 *s == '_' || *s == '-' || *s == '.';
        if (!ok || n + 1 >= cap || n >= 48)
            return "an element with a non-ASCII or long name";
        buf[n++] = (char)*s;
    }
    buf[n] = '\0';
    return buf;
}

/* Depth of element n counted from the request body's root (1). */
static size_t node_depth(const struct ctx *c, const xmlNode *n)
{
    size_t d = 0, base = 0;
    for (size_t i = 0; i < c->n_docs; i++)
        if (c->docs[i] == n->doc)
            base = c->doc_base[i];
    for (const xmlNode *x = n; x && x->type == XML_ELEMENT_NODE; x = x->parent)
        d++;
    return base + d;
}

/* Parses text with the safe parser; the document is kept until the end of the call. */
static eb_rc parse(struct ctx *c, const char *text, size_t len, const char *what, int inner,
                   size_t base_depth, xmlNode **root)
{
    struct eb_ingest_parse p = {
        what, inner, base_depth, c->lim.max_depth, c->lim.max_nodes, &c->nodes, &c->r->repaired};
    xmlDoc *doc = NULL;
    eb_rc rc;

    if (c->n_docs == MAX_DOCS)
        return eb_err_set(c->err, EB_ERR_INTERNAL, "too many nested documents");
    if (!c->parser && !(c->parser = eb_ingest_parser_get()))
        return eb_err_set(c->err, EB_ERR_NOMEM, "out of memory creating an XML parser");
    if ((rc = eb_ingest_parse_xml(c->parser, text, len, &p, &doc, c->err)))
        return rc;
    c->docs[c->n_docs] = doc;
    c->doc_base[c->n_docs++] = base_depth;
    *root = xmlDocGetRootElement(doc);
    return EB_OK;
}

/* Copies value v[0..n) into r->strings for one of push_id, event, triggered_at, application_id. */
static eb_rc remember(struct ctx *c, int which, const char *v, size_t n)
{
    size_t off = c->r->strings.len;
    eb_rc rc;
    if ((rc = eb_buf_append(&c->r->strings, v, n)) || (rc = eb_buf_append(&c->r->strings, "", 1)))
        return rc;
    c->off[which] = off;
    return EB_OK;
}

static void render_path(const struct frame *fr, char *dst, size_t cap)
{
    char tmp[200];
    size_t pos = sizeof tmp - 1;
    int cut = 0;
    tmp[pos] = '\0';
    for (const struct frame *f = fr; f; f = f->up) {
        char piece[80];
        int n = f->is_index ? snprintf(piece, sizeof piece, "[%zu]", f->index)
                            : snprintf(piece, sizeof piece, "%s%s", f->up ? "." : "", f->name);
        if (n < 0 || (size_t)n >= sizeof piece || (size_t)n > pos) {
            cut = 1;
            break;
        }
        pos -= (size_t)n;
        memcpy(tmp + pos, piece, (size_t)n);
    }
    snprintf(dst, cap, "%s%s", cut ? "..." : "", tmp + pos);
}

/* Records a value that was dropped: the first one's path goes into r->problem. */
static void problem(struct ctx *c, const struct frame *fr, const char *what)
{
    if (c->r->n_problems++ == 0) {
        char path[160];
        render_path(fr, path, sizeof path);
        snprintf(c->r->problem, sizeof c->r->problem, "%.159s: %.80s", path, what);
    }
}

/* Sets aside a value that does not fit its field's type (tolerance): the value is left out of
 * the canonical document, so the strict bindings never see it, and recorded in r->warnings as
 * path, raw text (at most EB_INGEST_WARNING_VALUE_MAX bytes) and reason; it also counts as a
 * problem (r->problem names the first). */
static void set_aside(struct ctx *c, const struct frame *fr, const char *v, size_t n,
                      const char *reason)
{
    char path[160];
    struct eb_buf *w = &c->r->warnings;
    size_t mark = w->len;
    problem(c, fr, reason);
    render_path(fr, path, sizeof path);
    if (v && n > EB_INGEST_WARNING_VALUE_MAX) {
        n = EB_INGEST_WARNING_VALUE_MAX;
        while (n && ((unsigned char)v[n] & 0xC0) == 0x80)
            n--; /* never cut a UTF-8 character: v[n] would continue the one before */
    }
    if (eb_buf_append(w, path, strlen(path) + 1) || eb_buf_append(w, v ? v : "", v ? n : 0) ||
        eb_buf_append(w, "", 1) || eb_buf_append(w, reason, strlen(reason) + 1)) {
        w->len = mark; /* out of room: counted as a problem, not listed */
        return;
    }
    c->r->n_warnings++;
}

/* A problem the push cannot be stored with (its key unreadable, data unreadable): recorded as a
 * problem and in r->refusal (the first such). */
static void refuse(struct ctx *c, const struct frame *fr, const char *what)
{
    problem(c, fr, what);
    if (!c->r->refusal[0]) {
        char path[160];
        render_path(fr, path, sizeof path);
        snprintf(c->r->refusal, sizeof c->r->refusal, "%.159s: %.80s", path, what);
    }
}

static void malformed(struct ctx *c, const struct frame *fr, enum eb_kind k, const char *v,
                      size_t n)
{
    char what[40];
    snprintf(what, sizeof what, "malformed %s", eb_kind_name(k));
    set_aside(c, fr, v, n, what);
}

/* Optional sign and digits that fit int64. */
static int parse_i64(const char *s, size_t n, long long *out)
{
    size_t i = 0;
    int neg = 0;
    unsigned long long v = 0, limit;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return 0;
    limit = neg ? (unsigned long long)INT64_MAX + 1 : (unsigned long long)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(long long)v;
    else
        *out = (long long)v;
    return 1;
}

/* xsd:decimal: optional sign, digits, optional fraction; at least one digit. */
static int is_decimal(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    return i == n && digits > 0;
}

static int same_word(const char *s, size_t n, const char *w)
{
    size_t i = 0;
    for (; i < n && w[i]; i++) {
        char a = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
        if (a != w[i])
            return 0;
    }
    return i == n && !w[i];
}

/* 1 true, 0 false, -1 malformed. */
static int parse_bool(const char *s, size_t n)
{
    if (same_word(s, n, "true") || same_word(s, n, "1") || same_word(s, n, "yes"))
        return 1;
    if (same_word(s, n, "false") || same_word(s, n, "0") || same_word(s, n, "no"))
        return 0;
    return -1;
}

/* The field of t named name. Children usually come in contract order, with gaps: the exact
 * spelling is looked for first, from the field after the previous match on; then the case-,
 * '_'- and '-'-insensitive scan (eb_schema_find). No two fields of a type match each other in
 * that scan (test_ingest checks it), so an exact match is the field it would find. */
static const struct eb_field *find_field(const struct eb_type *t, const xmlChar *name, size_t *hint)
{
    const char *s = (const char *)name;
    size_t nf = t->n_fields, start = *hint < nf ? *hint : 0;
    for (size_t i = 0, k = start; i < nf; i++, k = k + 1 < nf ? k + 1 : 0) {
        const char *x = t->fields[k].xml;
        if (x[0] == s[0] && strcmp(x, s) == 0) {
            *hint = k + 1;
            return &t->fields[k];
        }
    }
    const struct eb_field *f = eb_schema_find(t, s, strlen(s));
    if (f)
        *hint = (size_t)(f - t->fields) + 1;
    return f;
}

static eb_rc reserve_slots(struct ctx *c, size_t extra)
{
    if (c->cap_slots - c->n_slots >= extra)
        return EB_OK;
    size_t cap = c->cap_slots ? c->cap_slots : 64;
    while (cap - c->n_slots < extra) {
        if (cap > SIZE_MAX / 2 / sizeof *c->slots)
            return EB_ERR_NOMEM;
        cap *= 2;
    }
    struct slot *s = realloc(c->slots, cap * sizeof *s);
    if (!s)
        return EB_ERR_NOMEM;
    c->slots = s;
    c->cap_slots = cap;
    return EB_OK;
}

/* Writes element n with local names, no attributes. markup = 0: an unknown element (leaves
 * trimmed, text between elements dropped); markup = 1: the inner markup of a string value
 * (all text kept). */
static eb_rc copy_element(struct ctx *c, struct eb_buf *b, const xmlNode *n, size_t depth,
                          int markup)
{
    eb_rc rc = EB_OK;
    const char *name = (const char *)eb_ingest_local(n);

    if (depth > c->lim.max_depth)
        return too_deep(c);
    if ((rc = open_tag(b, name)))
        return rc;
    if (eb_ingest_first_element(n) || markup) {
        for (const xmlNode *ch = n->children; ch; ch = ch->next) {
            if (ch->type == XML_ELEMENT_NODE)
                rc = copy_element(c, b, ch, depth + 1, markup);
            else if (markup && (ch->type == XML_TEXT_NODE || ch->type == XML_CDATA_SECTION_NODE) &&
                     ch->content)
                rc = eb_buf_xml_escape(b, (const char *)ch->content,
                                       strlen((const char *)ch->content));
            if (rc)
                return rc;
        }
    } else {
        const char *v;
        size_t len;
        if ((rc = eb_ingest_node_text(n, &c->tmp, &v, &len)) || (rc = eb_buf_xml_escape(b, v, len)))
            return rc;
    }
    return close_tag(b, name);
}

/* The inner markup of n as text, trimmed, in c->markup. */
static eb_rc inner_markup(struct ctx *c, const xmlNode *n, size_t depth, const char **v,
                          size_t *len)
{
    eb_rc rc = EB_OK;
    eb_buf_reset(&c->markup);
    for (const xmlNode *ch = n->children; ch; ch = ch->next) {
        if (ch->type == XML_ELEMENT_NODE)
            rc = copy_element(c, &c->markup, ch, depth + 1, 1);
        else if ((ch->type == XML_TEXT_NODE || ch->type == XML_CDATA_SECTION_NODE) && ch->content)
            rc = eb_buf_xml_escape(&c->markup, (const char *)ch->content,
                                   strlen((const char *)ch->content));
        if (rc)
            return rc;
    }
    *v = c->markup.len ? c->markup.data : "";
    *len = c->markup.len;
    eb_ingest_trim(v, len);
    return EB_OK;
}

static eb_rc write_obj(struct ctx *c, const xmlNode *n, const struct eb_type *t,
                       const struct frame *up, size_t depth);

/* A scalar's checked value; the element is omitted when empty (non-strings) or malformed. */
static eb_rc put_scalar(struct ctx *c, const struct eb_type *t, const struct eb_field *f,
                        const struct frame *fr, const char *v, size_t n)
{
    char num[32];
    eb_rc rc;

    switch (f->kind) {
    case EB_KIND_STR:
    case EB_KIND_ANY:
        break;
    case EB_KIND_DATE:
        if (!n)
            return EB_OK;
        break;
    case EB_KIND_INT: {
        long long x;
        if (!n)
            return EB_OK;
        if (!parse_i64(v, n, &x)) {
            if (t == &eb_type_candidate && !strcmp(f->xml, "applicationId"))
                refuse(c, fr, "malformed number"); /* the key: the push is refused */
            else
                malformed(c, fr, f->kind, v, n);
            return EB_OK;
        }
        snprintf(num, sizeof num, "%lld", x);
        v = num;
        n = strlen(num);
        break;
    }
    case EB_KIND_DEC:
        if (!n)
            return EB_OK;
        if (!is_decimal(v, n)) {
            malformed(c, fr, f->kind, v, n);
            return EB_OK;
        }
        break;
    case EB_KIND_BOOL: {
        int b;
        if (!n)
            return EB_OK;
        if ((b = parse_bool(v, n)) < 0) {
            malformed(c, fr, f->kind, v, n);
            return EB_OK;
        }
        v = b ? "true" : "false";
        n = strlen(v);
        break;
    }
    default:
        return eb_err_set(c->err, EB_ERR_INTERNAL, "field %s is not a scalar", f->xml);
    }
    if ((rc = put_element(c->out, f->xml, v, n)))
        return rc;
    if (t == &eb_type_push && f != &eb_type_push.fields[EB_PUSH_FIELD_DATA])
        return remember(c, (int)(f - eb_type_push.fields), v, n);
    if (t == &eb_type_candidate && f->kind == EB_KIND_INT && strcmp(f->xml, "applicationId") == 0)
        return remember(c, APPLICATION_ID, v, n);
    return EB_OK;
}

static eb_rc write_scalar(struct ctx *c, const struct eb_type *t, const struct eb_field *f,
                          const xmlNode *node, const struct frame *up, size_t depth)
{
    struct frame fr = {up, f->xml, 0, 0};
    const char *v = "";
    size_t n = 0;
    eb_rc rc;

    if (eb_ingest_first_element(node)) {
        switch (f->kind) {
        case EB_KIND_ANY:
            if ((rc = open_tag(c->out, f->xml)) ||
                (rc = eb_ingest_any_json(node, c->lim.max_depth, &c->tmp, c->out, c->err)))
                return rc;
            return close_tag(c->out, f->xml);
        case EB_KIND_STR:
            if ((rc = inner_markup(c, node, depth, &v, &n)))
                return rc;
            break;
        default:
            malformed(c, &fr, f->kind, NULL, 0);
            return EB_OK;
        }
    } else {
        if ((rc = eb_ingest_node_text(node, &c->tmp, &v, &n)))
            return rc;
        if (!node->children && node->next && node->next->type == XML_TEXT_NODE &&
            node->next->content) {
            /* the <source/>Others quirk */
            const char *q = (const char *)node->next->content;
            size_t qn = strlen(q);
            eb_ingest_trim(&q, &qn);
            if (qn) {
                v = q;
                n = qn;
            }
        }
    }
    return put_scalar(c, t, f, &fr, v, n);
}

/* data given as text: XML, or whatever the decoder makes of it. */
static eb_rc write_data_text(struct ctx *c, const struct eb_field *f, const xmlNode *node,
                             const char *text, size_t len, const struct frame *fr, size_t depth)
{
    eb_rc rc = EB_OK;
    struct eb_buf decoded, wrapped;
    const char *src = text;
    size_t srclen = len;
    xmlNode *root = NULL, *data = NULL, *only;
    const char *rest;
    size_t restlen;

    eb_buf_init(&decoded, c->out->max);
    eb_buf_init(&wrapped, SIZE_MAX / 2);
    if (text[0] != '<') {
        if (!c->decoder || !c->decoder->decode) {
            refuse(c, fr, "neither XML nor a known encoding");
            goto out;
        }
        struct eb_err derr;
        eb_err_clear(&derr);
        rc = c->decoder->decode(c->decoder->user, text, len, &decoded, &derr);
        if (rc == EB_ERR_NOT_PUSH) {
            rc = EB_OK;
            refuse(c, fr, "neither XML nor a known encoding");
            goto out;
        }
        if (rc) {
            if (derr.rc == rc && derr.msg[0])
                eb_err_set(c->err, rc, "data: %s", derr.msg);
            else
                eb_err_set(c->err, rc, "data could not be decoded: %s", eb_strerror(rc));
            goto out;
        }
        src = decoded.len ? decoded.data : ""; /* read from here on as XML data text is */
        srclen = decoded.len;
    }
    /* An XML declaration cannot stand inside the <data> wrapper: drop it. */
    eb_ingest_trim(&src, &srclen);
    if (srclen >= 5 && memcmp(src, "<?xml", 5) == 0) {
        const char *end = NULL;
        for (size_t i = 5; i + 1 < srclen; i++)
            if (src[i] == '?' && src[i + 1] == '>') {
                end = src + i + 2;
                break;
            }
        if (end) {
            srclen -= (size_t)(end - src);
            src = end;
            eb_ingest_trim(&src, &srclen);
        }
    }
    if (srclen >= 9 && memcmp(src, "<!DOCTYPE", 9) == 0) {
        rc = eb_err_set(c->err, EB_ERR_INVALID, "data text: DTDs are not accepted");
        goto out;
    }
    if ((rc = put(&wrapped, "<data>")) || (rc = eb_buf_append(&wrapped, src, srclen)) ||
        (rc = put(&wrapped, "</data>")))
        goto out;
    if ((rc = parse(c, wrapped.data, wrapped.len, "data text", 1, node_depth(c, node) - 1, &root)))
        goto out;
    data = root;
    only = eb_ingest_first_element(root);
    if ((rc = eb_ingest_node_text(root, &c->tmp, &rest, &restlen)))
        goto out;
    if (only && !next_element(only) && !restlen &&
        !eb_schema_find(f->type, (const char *)eb_ingest_local(only),
                        strlen((const char *)eb_ingest_local(only))))
        data = only; /* a single root that is not a field: the data element itself */
    if ((rc = open_tag(c->out, f->xml)) || (rc = write_obj(c, data, f->type, fr, depth)) ||
        (rc = close_tag(c->out, f->xml)))
        goto out;
out:
    eb_buf_free(&decoded);
    eb_buf_free(&wrapped);
    return rc;
}

static eb_rc write_object(struct ctx *c, const struct eb_type *t, const struct eb_field *f,
                          const xmlNode *node, const struct frame *up, size_t depth)
{
    struct frame fr = {up, f->xml, 0, 0};
    eb_rc rc;

    if (t == &eb_type_push && f == &eb_type_push.fields[EB_PUSH_FIELD_DATA] &&
        !eb_ingest_first_element(node)) {
        const char *text;
        size_t len;
        if ((rc = eb_ingest_node_text(node, &c->tmp, &text, &len)))
            return rc;
        if (len)
            return write_data_text(c, f, node, text, len, &fr, depth);
    }
    if ((rc = open_tag(c->out, f->xml)) || (rc = write_obj(c, node, f->type, &fr, depth)))
        return rc;
    return close_tag(c->out, f->xml);
}

static int has_item_child(const xmlNode *n)
{
    for (const xmlNode *ch = n->children; ch; ch = ch->next)
        if (ch->type == XML_ELEMENT_NODE && eb_ingest_is_item_name(eb_ingest_local(ch)))
            return 1;
    return 0;
}

static eb_rc write_item(struct ctx *c, const struct eb_field *f, const xmlNode *item,
                        const struct frame *array, size_t index, size_t depth)
{
    struct frame fr = {array, NULL, index, 1};
    eb_rc rc;
    if ((rc = put(c->out, "<element>")) || (rc = write_obj(c, item, f->type, &fr, depth + 1)))
        return rc;
    return put(c->out, "</element>");
}

static eb_rc write_string_item(struct ctx *c, const xmlNode *item, size_t depth)
{
    const char *v;
    size_t n;
    eb_rc rc = eb_ingest_first_element(item) ? inner_markup(c, item, depth, &v, &n)
                                             : eb_ingest_node_text(item, &c->tmp, &v, &n);
    return rc ? rc : put_element(c->out, "element", v, n);
}

/* All occurrences c->slots[i..j) of an array field, merged into one wrapper. */
static eb_rc write_array(struct ctx *c, const struct eb_field *f, size_t i, size_t j,
                         const struct frame *up, size_t depth)
{
    struct frame fr = {up, f->xml, 0, 0};
    size_t index = 0, k, n_other = 0;
    int live = 0;
    eb_rc rc;

    for (k = i; k < j; k++)
        live |= !eb_ingest_is_nil(c->slots[k].node);
    if (!live)
        return EB_OK;
    if ((rc = open_tag(c->out, f->xml)))
        return rc;
    for (k = i; k < j; k++) {
        const xmlNode *w = c->slots[k].node;
        if (eb_ingest_is_nil(w))
            continue;
        if (f->kind == EB_KIND_STRARR) {
            if (!eb_ingest_first_element(w)) {
                const char *v;
                size_t n;
                if ((rc = eb_ingest_node_text(w, &c->tmp, &v, &n)))
                    return rc;
                if (n && (rc = put_element(c->out, "element", v, n)))
                    return rc;
                continue;
            }
            for (const xmlNode *ch = w->children; ch; ch = ch->next)
                if (ch->type == XML_ELEMENT_NODE && !eb_ingest_is_nil(ch) &&
                    (rc = write_string_item(c, ch, depth + 1)))
                    return rc;
        } else if (has_item_child(w)) {
            for (const xmlNode *ch = w->children; ch; ch = ch->next) {
                if (ch->type != XML_ELEMENT_NODE)
                    continue;
                if (!eb_ingest_is_item_name(eb_ingest_local(ch)))
                    n_other++; /* written after the items, below */
                else if (!eb_ingest_is_nil(ch) && (rc = write_item(c, f, ch, &fr, index++, depth)))
                    return rc;
            }
        } else if (eb_ingest_first_element(w)) {
            if ((rc = write_item(c, f, w, &fr, index++, depth - 1)))
                return rc; /* the wrapper itself is the item */
        }
    }
    /* the other elements beside the items, unknown: a second walk only when there are some
     * (a wrapper of thousands of items is not walked again, cold in the cache by now) */
    if (n_other) {
        for (k = i; k < j; k++) {
            const xmlNode *w = c->slots[k].node;
            if (eb_ingest_is_nil(w) || !has_item_child(w))
                continue;
            for (const xmlNode *ch = w->children; ch; ch = ch->next) {
                if (ch->type != XML_ELEMENT_NODE || eb_ingest_is_item_name(eb_ingest_local(ch)))
                    continue;
                if ((rc = copy_element(c, c->out, ch, depth + 1, 0)))
                    return rc;
                c->r->n_unknown++;
            }
        }
    }
    return close_tag(c->out, f->xml);
}

/* All occurrences c->slots[i..j) of field f of type t. */
static eb_rc write_field(struct ctx *c, const struct eb_type *t, const struct eb_field *f, size_t i,
                         size_t j, const struct frame *up, size_t depth)
{
    if (f->kind == EB_KIND_ARR || f->kind == EB_KIND_STRARR)
        return write_array(c, f, i, j, up, depth);
    const xmlNode *node = c->slots[j - 1].node; /* the last one wins */
    if (eb_ingest_is_nil(node))
        return EB_OK;
    if (f->kind == EB_KIND_OBJ)
        return write_object(c, t, f, node, up, depth);
    return write_scalar(c, t, f, node, up, depth);
}

/* Writes the children of n as the fields of t: known fields in contract order, then unknown
 * elements in document order. The children are ordered by a counting sort on a slot stack
 * shared with the nested calls (linear in the number of children). */
static eb_rc write_obj(struct ctx *c, const xmlNode *n, const struct eb_type *t,
                       const struct frame *up, size_t depth)
{
    eb_rc rc = EB_OK;
    size_t base = c->n_slots, count = 0, hint = 0, start[MAX_FIELDS + 2];

    if (depth > c->lim.max_depth)
        return too_deep(c);
    if (t->n_fields > MAX_FIELDS)
        return eb_err_set(c->err, EB_ERR_INTERNAL, "type %s has too many fields", t->name);
    for (xmlNode *ch = n->children; ch; ch = ch->next) {
        if (ch->type != XML_ELEMENT_NODE)
            continue;
        const struct eb_field *f = find_field(t, eb_ingest_local(ch), &hint);
        if ((rc = reserve_slots(c, 1)))
            goto out;
        c->slots[c->n_slots].node = ch;
        c->slots[c->n_slots++].field = f ? (size_t)(f - t->fields) : t->n_fields;
        count++;
    }
    if (!count)
        goto out;
    if ((rc = reserve_slots(c, count)))
        goto out;
    memset(start, 0, (t->n_fields + 2) * sizeof start[0]);
    for (size_t k = base; k < base + count; k++)
        start[c->slots[k].field + 1]++;
    for (size_t fi = 1; fi <= t->n_fields + 1; fi++)
        start[fi] += start[fi - 1];
    for (size_t k = base; k < base + count; k++)
        c->slots[base + count + start[c->slots[k].field]++] = c->slots[k];
    c->n_slots = base + 2 * count;

    for (size_t i = base + count, end = base + 2 * count; i < end;) {
        size_t fi = c->slots[i].field, j = i;
        while (j < end && c->slots[j].field == fi)
            j++;
        if (fi < t->n_fields) {
            if ((rc = write_field(c, t, &t->fields[fi], i, j, up, depth + 1)))
                goto out;
        } else {
            for (size_t k = i; k < j; k++) {
                if ((rc = copy_element(c, c->out, c->slots[k].node, depth + 1, 0)))
                    goto out;
                c->r->n_unknown++;
            }
        }
        i = j;
    }
out:
    c->n_slots = base;
    return rc;
}

static int has_push_child(const xmlNode *n)
{
    for (const xmlNode *ch = n->children; ch; ch = ch->next)
        if (ch->type == XML_ELEMENT_NODE &&
            eb_schema_find(&eb_type_push, (const char *)eb_ingest_local(ch),
                           strlen((const char *)eb_ingest_local(ch))))
            return 1;
    return 0;
}

/* The operation element: the first child of the SOAP Body, or the bare root. */
static eb_rc find_operation(struct ctx *c, xmlNode *root, xmlNode **op)
{
    char name[64];
    *op = NULL;
    if (eb_ingest_name_is(eb_ingest_local(root), "envelope")) {
        const char *href = root->ns && root->ns->href ? (const char *)root->ns->href : "";
        xmlNode *body = NULL;
        c->r->soap = strcmp(href, SOAP12_NS) == 0 ? EB_SOAP_12 : EB_SOAP_11;
        for (xmlNode *ch = eb_ingest_first_element(root); ch && !body; ch = next_element(ch))
            if (eb_ingest_name_is(eb_ingest_local(ch), "body"))
                body = ch;
        if (!body)
            return eb_err_set(c->err, EB_ERR_NOT_PUSH, "SOAP envelope without a Body");
        if (!(*op = eb_ingest_first_element(body)))
            return eb_err_set(c->err, EB_ERR_NOT_PUSH, "empty SOAP Body");
        if (!eb_ingest_name_is(eb_ingest_local(*op), "pushcandidate"))
            return eb_err_set(c->err, EB_ERR_NOT_PUSH, "the SOAP Body holds %s, not pushCandidate",
                              printable_name(eb_ingest_local(*op), name, sizeof name));
        return EB_OK;
    }
    c->r->soap = EB_SOAP_NONE;
    if (eb_ingest_name_is(eb_ingest_local(root), "pushcandidate") ||
        eb_ingest_name_is(eb_ingest_local(root), "root")) {
        *op = root;
        return EB_OK;
    }
    return eb_err_set(c->err, EB_ERR_NOT_PUSH,
                      "the document is %s, neither a SOAP envelope nor pushCandidate",
                      printable_name(eb_ingest_local(root), name, sizeof name));
}

/* The element whose children are id, event, triggeredAt and data: the operation, one or two
 * single children down (arg0, root), or the root of the XML text it holds. */
static eb_rc find_payload(struct ctx *c, xmlNode *op, xmlNode **payload)
{
    xmlNode *p = op;
    int unwraps = 0, parsed = 0;
    eb_rc rc;

    for (;;) {
        if (has_push_child(p))
            break;
        xmlNode *first = eb_ingest_first_element(p);
        if (first) {
            if (unwraps < 2 && !next_element(first)) {
                p = first;
                unwraps++;
                continue;
            }
            break;
        }
        if (parsed)
            break;
        const char *text;
        size_t len;
        if ((rc = eb_ingest_node_text(p, &c->tmp, &text, &len)))
            return rc;
        if (!len)
            break; /* an empty push: written as such and rejected by validation */
        if (text[0] != '<')
            return eb_err_set(c->err, EB_ERR_INVALID, "pushCandidate holds text that is not XML");
        if ((rc = parse(c, text, len, "pushCandidate text", 1, node_depth(c, p), &p)))
            return rc;
        parsed = 1;
    }
    *payload = p;
    return EB_OK;
}

eb_rc eb_ingest(const char *body, size_t len, const struct eb_ingest_opts *opts,
                struct eb_ingest_result *r, struct eb_err *err)
{
    return eb_ingest_by(body, len, opts, EB_INGEST_AUTO, r, err);
}

eb_rc eb_ingest_by(const char *body, size_t len, const struct eb_ingest_opts *opts,
                   enum eb_ingest_path path, struct eb_ingest_result *r, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct eb_err local;
    struct ctx c;
    xmlNode *root = NULL, *op = NULL, *payload = NULL;

    if (!err)
        err = &local;
    eb_err_clear(err);
    memset(&c, 0, sizeof c);
    c.lim = opts ? opts->limits : eb_ingest_default_limits;
    if (!c.lim.max_depth)
        c.lim.max_depth = eb_ingest_default_limits.max_depth;
    if (!c.lim.max_nodes)
        c.lim.max_nodes = eb_ingest_default_limits.max_nodes;
    if (!c.lim.max_output)
        c.lim.max_output = eb_ingest_default_limits.max_output;
    c.decoder = opts ? opts->decoder : NULL;
    c.r = r;
    c.err = err;
    c.out = &r->doc;
    for (int i = 0; i < N_REMEMBERED; i++)
        c.off[i] = NO_STRING;
    eb_buf_init(&c.tmp, c.lim.max_output);
    eb_buf_init(&c.markup, c.lim.max_output);

    r->soap = EB_SOAP_NONE;
    eb_buf_reset(&r->doc);
    eb_buf_reset(&r->strings);
    if (!r->doc.max || r->doc.max > c.lim.max_output)
        r->doc.max = c.lim.max_output;
    if (!r->strings.max || r->strings.max > c.lim.max_output)
        r->strings.max = c.lim.max_output;
    r->canon_off = r->canon_len = 0;
    r->push_id = r->event = r->triggered_at = r->application_id = NULL;
    r->problem[0] = r->refusal[0] = '\0';
    r->n_problems = r->n_unknown = r->n_warnings = 0;
    eb_buf_reset(&r->warnings);
    if (!r->warnings.max || r->warnings.max > c.lim.max_output)
        r->warnings.max = c.lim.max_output;
    r->repaired = 0;
    r->direct = 0;

    if (path != EB_INGEST_CANONICAL) {
        if (eb_ingest_direct(body, len, &c.lim, r, &c.tmp)) {
            eb_buf_free(&c.tmp);
            return EB_OK;
        }
        if (path == EB_INGEST_DIRECT) {
            rc = eb_err_set(err, EB_ERR_NOT_PUSH, "not read by the direct path");
            goto out;
        }
    }
    if (!body || !len) {
        rc = eb_err_set(err, EB_ERR_INVALID, "request body is empty");
        goto out;
    }
    if ((rc = parse(&c, body, len, "request body", 0, 0, &root)) ||
        (rc = find_operation(&c, root, &op)) || (rc = find_payload(&c, op, &payload)))
        goto out;

    if ((rc = put(c.out, "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"")) ||
        (rc = put(c.out, r->soap == EB_SOAP_12 ? SOAP12_NS : SOAP11_NS)) ||
        (rc = put(c.out, "\"><SOAP-ENV:Body>")))
        goto out;
    r->canon_off = c.out->len;
    if ((rc = put(c.out, "<pushCandidate xmlns=\"" CONTRACT_NS "\">")) ||
        (rc = write_obj(&c, payload, &eb_type_push, NULL, 1)) ||
        (rc = put(c.out, "</pushCandidate>")))
        goto out;
    r->canon_len = c.out->len - r->canon_off;
    if ((rc = put(c.out, "</SOAP-ENV:Body></SOAP-ENV:Envelope>")))
        goto out;
out:
    if (rc) {
        if (err->rc != rc) {
            if (rc == EB_ERR_TOO_LARGE)
                eb_err_set(err, rc, "canonical document larger than %zu bytes", r->doc.max);
            else
                eb_err_set(err, rc, "cannot canonicalize the request: %s", eb_strerror(rc));
        }
        eb_buf_reset(&r->doc);
        r->canon_off = r->canon_len = 0;
    }
    r->push_id = c.off[PUSH_ID] == NO_STRING ? NULL : r->strings.data + c.off[PUSH_ID];
    r->event = c.off[PUSH_EVENT] == NO_STRING ? NULL : r->strings.data + c.off[PUSH_EVENT];
    r->triggered_at =
        c.off[PUSH_TRIGGERED_AT] == NO_STRING ? NULL : r->strings.data + c.off[PUSH_TRIGGERED_AT];
    r->application_id =
        c.off[APPLICATION_ID] == NO_STRING ? NULL : r->strings.data + c.off[APPLICATION_ID];
    eb_ingest_parser_put(c.parser);
    free(c.slots);
    eb_buf_free(&c.tmp);
    eb_buf_free(&c.markup);
    return rc;
}

void eb_ingest_result_init(struct eb_ingest_result *r, size_t max_output)
{
    memset(r, 0, sizeof *r);
    r->soap = EB_SOAP_NONE;
    eb_buf_init(&r->doc, max_output);
    eb_buf_init(&r->strings, max_output);
    eb_buf_init(&r->warnings, max_output);
}

void eb_ingest_result_free(struct eb_ingest_result *r)
{
    if (!r)
        return;
    eb_buf_free(&r->doc);
    eb_buf_free(&r->strings);
    eb_buf_free(&r->warnings);
    r->n_warnings = 0;
    r->push_id = r->event = r->triggered_at = r->application_id = NULL;
    r->canon_off = r->canon_len = 0;
}

/* Refuses every external entity, DTD or XInclude: ingest never loads anything. */
static xmlParserInputPtr no_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

/* libxml2's process-wide error handlers. Some errors are reported outside any parser context
 * (a failed conversion from the declared encoding, for one), to handlers that print them on
 * stderr, the service's log stream, with bytes of the request in hex: personal data, and not
 * log lines. Ingest learns of every failure from the parse itself; these say nothing. */
static void quiet_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

void eb_ingest_global_init(void)
{
    xmlInitParser();
    xmlSetExternalEntityLoader(no_loader);
    /* the defaults of threads started later, and this thread's own */
    xmlThrDefSetGenericErrorFunc(NULL, quiet_generic);
    xmlThrDefSetStructuredErrorFunc(NULL, eb_ingest_quiet_error);
    xmlSetGenericErrorFunc(NULL, quiet_generic);
    xmlSetStructuredErrorFunc(NULL, eb_ingest_quiet_error);
}

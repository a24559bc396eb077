/* The direct path: recognizes, in one cheap pass over the raw body, the typed document/literal
 * request that WSDL-driven clients send, which needs no canonicalization, and writes the same
 * canonical document (and push log payload) the canonical path would write, byte for byte:
 * libxml2 never runs. The generated bindings then read the body itself, not that document
 * (eb_ingest_bind_text, at the end of this file): the body is already canonical, so they read
 * from it what they would read from the document, and the request is parsed once by this scan
 * and once by gSOAP. The document is still written, for the push log's payload. test_oneparse
 * and fuzz_oneparse hold the bindings over the body to the canonical path's document.
 *
 * It never guesses: it accepts only a body made of
 * - an optional XML declaration at the very first byte (version 1.0, encoding UTF-8 if given,
 *   standalone yes/no if given), then white space;
 * - a SOAP 1.1 or 1.2 Envelope holding an optional empty Header and a Body whose only child is
 *   pushCandidate, every element of the push in the contract's namespace (urn:ehrbridge:moka:v1),
 *   names spelled exactly as the contract spells them, fields in the contract's order, each at
 *   most once, arrays as wrappers of <element> items;
 * - no attributes but namespace declarations (on the Envelope, Header, Body and pushCandidate
 *   only), no comment, processing instruction, CDATA, DOCTYPE, character reference, entity but
 *   the five predefined ones, carriage return, or text that is not well-formed UTF-8;
 * - values already in canonical form: not empty, no white space around them, integers in
 *   plain decimal that fit int64, booleans written true or false, decimals in xsd:decimal form,
 *   strings and "any" values given as text (no markup);
 * - objects and arrays with at least one child, and no text but white space between elements;
 * - nodes within the canonical path's limits (counted from above: 3 per element plus the
 *   attributes).
 * Anything else declines (returns 0), and the canonical path reads the body as before, with
 * every limit, refusal and warning of its own. Such a body has nothing for the canonical path to
 * set aside, repair or refuse: it yields no warning and no problem either way. The unit test
 * test_oneparse and the fuzz target fuzz_oneparse feed the same bodies to both paths.
 * Cost: about 20 instructions per byte of a typed body; a body of another shape is declined
 * within its first elements. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "candidate/schema.h"
#include "ingest/ingest.h"
#include "ingest/ingest_int.h"

#define SOAP11_NS   "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP12_NS   "http://www.w3.org/2003/05/soap-envelope"
#define CONTRACT_NS "urn:ehrbridge:moka:v1"
#define MAX_BINDS   16 /* namespace declarations accepted over the four outer elements */
#define MAX_ATTRS   8  /* namespace declarations accepted on one element */

/* A namespace declaration in scope: the prefix (empty for the default) and its URI. */
struct bind {
    const char *prefix, *uri;
    size_t prefix_len, uri_len;
};

/* The state of one scan. */
struct scan {
    const char *p, *end;        /* the rest of the body */
    struct eb_ingest_result *r; /* filled as the canonical path fills it */
    struct bind binds[MAX_BINDS];
    size_t n_binds;
    size_t elements, attrs; /* counted for the node limit */
    size_t max_depth;       /* of the canonical path */
    struct eb_buf *val;     /* a value's text when it held references, decoded */
    const char *v;          /* the last leaf's text: in the body, or in val */
    size_t n;
    int plain;           /* 1: v needs no escaping in the canonical document */
    const char *cached;  /* the prefix last found in the contract's namespace */
    size_t cached_len;   /* its length */
    size_t cached_binds; /* n_binds when it was found (SIZE_MAX: nothing cached) */
};

/* An element's start tag, as read. */
struct tag {
    const char *prefix, *local; /* the prefix (NULL when none) and the local name */
    size_t prefix_len, local_len;
    const char *qname; /* the name as written, for the end tag */
    size_t qname_len;
    int empty; /* 1 for <x/> */
};

static int is_space(char c)
{
    return eb_ingest_is_space((unsigned char)c);
}

static void skip_space(struct scan *s)
{
    const char *p = s->p, *end = s->end;
    while (p < end && is_space(*p))
        p++;
    s->p = p;
}

/* Bytes of ASCII names: 1 may start one, 2 may only follow. */
static const unsigned char name_class[256] = {
    ['-'] = 2, ['.'] = 2, ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2, ['5'] = 2,
    ['6'] = 2, ['7'] = 2, ['8'] = 2, ['9'] = 2, ['_'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1,
    ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1,
    ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1,
    ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1,
    ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1,
    ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,
    ['z'] = 1};

/* ASCII bytes of text that need a look: controls, '&', '<', '>', '"' (and every byte from
 * 0x80 on, checked apart). */
static const unsigned char text_special[128] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,         1,         1,         1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ['"'] = 1, ['&'] = 1, ['<'] = 1, ['>'] = 1};

/* An ASCII NCName at s->p; its length, 0 when there is none. */
static size_t ncname(const struct scan *s, const char *p)
{
    const unsigned char *q = (const unsigned char *)p, *end = (const unsigned char *)s->end;
    if (q >= end || name_class[*q] != 1)
        return 0;
    while (++q < end && name_class[*q])
        ;
    return (size_t)(q - (const unsigned char *)p);
}

/* The length of one well-formed UTF-8 character at p that XML 1.0 allows (not U+FFFE or
 * U+FFFF), 0 when it is none. p[0] >= 0x80. */
static size_t utf8_char(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF) || cp >= 0xFFFE)) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

/* Reads a start tag at s->p ('<' already seen to start it). Only namespace declarations are
 * accepted as attributes, and only when decl is 1 (they are added to the scope). */
static int start_tag(struct scan *s, struct tag *t, int decl)
{
    const char *p = s->p, *end = s->end;
    size_t n, attrs = 0;
    if (p >= end || *p != '<')
        return 0;
    p++;
    t->qname = p;
    if (!(n = ncname(s, p)))
        return 0;
    t->prefix = NULL;
    t->prefix_len = 0;
    t->local = p;
    t->local_len = n;
    p += n;
    if (p < end && *p == ':') {
        size_t m = ncname(s, p + 1);
        if (!m)
            return 0;
        t->prefix = t->local;
        t->prefix_len = n;
        t->local = p + 1;
        t->local_len = m;
        p += 1 + m;
    }
    t->qname_len = (size_t)(p - t->qname);
    for (;;) {
        const char *ws = p;
        while (p < end && is_space(*p))
            p++;
        if (p >= end)
            return 0;
        if (*p == '>' || *p == '/')
            break;
        if (p == ws || !decl || ++attrs > MAX_ATTRS || s->n_binds == MAX_BINDS)
            return 0;
        /* xmlns or xmlns:prefix */
        if ((size_t)(end - p) < 5 || memcmp(p, "xmlns", 5))
            return 0;
        struct bind *b = &s->binds[s->n_binds];
        p += 5;
        b->prefix = p;
        b->prefix_len = 0;
        if (p < end && *p == ':') {
            if (!(b->prefix_len = ncname(s, p + 1)))
                return 0;
            b->prefix = p + 1;
            p += 1 + b->prefix_len;
            if (b->prefix_len >= 3 && (b->prefix[0] | 0x20) == 'x' &&
                (b->prefix[1] | 0x20) == 'm' && (b->prefix[2] | 0x20) == 'l')
                return 0; /* reserved prefixes */
        }
        while (p < end && is_space(*p))
            p++;
        if (p >= end || *p++ != '=')
            return 0;
        while (p < end && is_space(*p))
            p++;
        if (p >= end || (*p != '"' && *p != '\''))
            return 0;
        char q = *p++;
        b->uri = p;
        while (p < end && *p != q) {
            unsigned char c = (unsigned char)*p;
            if (c < 0x20 || c >= 0x7F || c == '<' || c == '&')
                return 0;
            p++;
        }
        if (p >= end)
            return 0;
        b->uri_len = (size_t)(p - b->uri);
        p++;
        if (b->prefix_len && !b->uri_len)
            return 0; /* xmlns:p="" is not allowed in XML 1.0 namespaces */
        for (size_t i = s->n_binds - (attrs - 1); i < s->n_binds; i++)
            if (s->binds[i].prefix_len == b->prefix_len &&
                !memcmp(s->binds[i].prefix, b->prefix, b->prefix_len))
                return 0; /* declared twice on one element */
        s->n_binds++;
        s->attrs++;
    }
    t->empty = *p == '/';
    if (t->empty) {
        if (p + 1 >= end || p[1] != '>')
            return 0;
        p++;
    }
    s->p = p + 1;
    s->elements++;
    return 1;
}

/* The end tag of t at s->p. */
static int end_tag(struct scan *s, const struct tag *t)
{
    const char *p = s->p, *end = s->end;
    if ((size_t)(end - p) < t->qname_len + 3 || p[0] != '<' || p[1] != '/' ||
        memcmp(p + 2, t->qname, t->qname_len))
        return 0;
    p += 2 + t->qname_len;
    while (p < end && is_space(*p))
        p++;
    if (p >= end || *p != '>')
        return 0;
    s->p = p + 1;
    return 1;
}

/* 1 when t's namespace (by the declarations in scope) is uri and its local name is name (any
 * name when name is ""). */
static int is(const struct scan *s, const struct tag *t, const char *uri, const char *name)
{
    size_t ul = strlen(uri), nl = strlen(name);
    if (nl && (t->local_len != nl || memcmp(t->local, name, nl)))
        return 0;
    for (size_t i = s->n_binds; i-- > 0;) {
        const struct bind *b = &s->binds[i];
        if (b->prefix_len == t->prefix_len &&
            (!t->prefix_len || !memcmp(b->prefix, t->prefix, t->prefix_len)))
            return b->uri_len == ul && !memcmp(b->uri, uri, ul);
    }
    return 0; /* an undeclared prefix, or no default namespace */
}

/* 1 when t is in the contract's namespace. Below pushCandidate no element declares a
 * namespace, so the answer for a prefix stays the same: it is remembered. */
static int in_contract(struct scan *s, const struct tag *t)
{
    if (s->cached_binds == s->n_binds && s->cached_len == t->prefix_len &&
        (!t->prefix_len || !memcmp(s->cached, t->prefix, t->prefix_len)))
        return 1;
    if (!is(s, t, CONTRACT_NS, ""))
        return 0;
    s->cached = t->prefix;
    s->cached_len = t->prefix_len;
    s->cached_binds = s->n_binds;
    return 1;
}

/* 1 when t's local name is name. */
static int named(const struct tag *t, const char *name)
{
    return name[0] == t->local[0] && !strncmp(name, t->local, t->local_len) && !name[t->local_len];
}

/* Appends "<name>" (closing 0) or "</name>" (closing 1) in one piece. */
static int put_tag(struct eb_buf *out, const char *name, size_t nl, int closing)
{
    char tag[80];
    size_t o = 0;
    if (nl + 3 > sizeof tag)
        return !eb_buf_append(out, closing ? "</" : "<", closing ? 2 : 1) &&
               !eb_buf_append(out, name, nl) && !eb_buf_append(out, ">", 1);
    tag[o++] = '<';
    if (closing)
        tag[o++] = '/';
    memcpy(tag + o, name, nl);
    o += nl;
    tag[o++] = '>';
    return !eb_buf_append(out, tag, o);
}

/* Skips white space up to the next '<'; 0 when other text comes first. */
static int only_space(struct scan *s)
{
    skip_space(s);
    return s->p < s->end && *s->p == '<';
}

/* A leaf's text up to the next '<', its five predefined entities decoded, into s->v and s->n
 * (the body itself when it holds no reference, else s->val); 0 for anything the canonical
 * path could read differently. */
static int leaf_text(struct scan *s)
{
    const unsigned char *p = (const unsigned char *)s->p, *end = (const unsigned char *)s->end;
    const unsigned char *run = p;
    int copied = 0;
    s->plain = 1;
    while (p < end && *p != '<') {
        unsigned char c = *p;
        if (c < 0x80 && !text_special[c]) {
            p++;
            continue;
        }
        if (c >= 0xE1 && c <= 0xEC && end - p > 2 && (p[1] & 0xC0) == 0x80 &&
            (p[2] & 0xC0) == 0x80) {
            p += 3; /* U+1000 to U+CFFF (most CJK): never overlong, a surrogate or U+FFFE */
            continue;
        }
        if (c >= 0x80) {
            size_t n = utf8_char(p, end);
            if (!n)
                return 0;
            p += n;
            continue;
        }
        if (c < 0x20 && c != '\t' && c != '\n')
            return 0;
        if (c == '>' && p - (const unsigned char *)s->p >= 2 && p[-1] == ']' && p[-2] == ']')
            return 0; /* "]]>" is not allowed in text */
        if (c == '>' || c == '"')
            s->plain = 0;
        if (c != '&') {
            p++;
            continue;
        }
        static const struct {
            const char *ref;
            char ch;
        } refs[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        size_t k;
        for (k = 0; k < sizeof refs / sizeof refs[0]; k++) {
            size_t n = strlen(refs[k].ref);
            if ((size_t)(end - p) >= n && !memcmp(p, refs[k].ref, n))
                break;
        }
        if (k == sizeof refs / sizeof refs[0])
            return 0;
        if (!copied)
            eb_buf_reset(s->val);
        if (eb_buf_append(s->val, run, (size_t)(p - run)) || eb_buf_append(s->val, &refs[k].ch, 1))
            return 0;
        if (refs[k].ch != '\'')
            s->plain = 0;
        copied = 1;
        p += strlen(refs[k].ref);
        run = p;
    }
    if (p >= end)
        return 0;
    if (copied) {
        if (eb_buf_append(s->val, run, (size_t)(p - run)))
            return 0;
        s->v = s->val->data;
        s->n = s->val->len;
    } else {
        s->v = s->p;
        s->n = (size_t)((const char *)p - s->p);
    }
    s->p = (const char *)p;
    return 1;
}

/* Appends <name>value</name> as the canonical path writes it; plain: v holds nothing that
 * eb_buf_xml_escape rewrites. */
static int put_leaf(struct eb_buf *out, const char *name, const char *v, size_t n, int plain)
{
    char el[256];
    size_t nl = strlen(name), o = 0;
    if (nl > 64 || n > sizeof el - 2 * nl - 5 || !plain)
        return put_tag(out, name, nl, 0) && !eb_buf_xml_escape(out, v, n) &&
               put_tag(out, name, nl, 1);
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
    return !eb_buf_append(out, el, o);
}

/* 1 when v[0..n) is an integer as the canonical path writes it (decimal, no '+', no leading
 * zero, no "-0") that fits int64. */
static int canonical_int(const char *v, size_t n)
{
    static const char min[] = "9223372036854775808", max[] = "9223372036854775807";
    size_t i = v[0] == '-';
    if (n == i || n - i > 19 || v[i] < '1' || v[i] > '9')
        return n == 1 && v[0] == '0';
    for (size_t k = i + 1; k < n; k++)
        if (v[k] < '0' || v[k] > '9')
            return 0;
    return n - i < 19 || memcmp(v + i, i ? min : max, 19) <= 0;
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

/* Copies a value into r->strings for push_id and the like; returns its offset, or SIZE_MAX. */
static size_t keep(struct scan *s, const char *v, size_t n)
{
    size_t off = s->r->strings.len;
    if (eb_buf_append(&s->r->strings, v, n) || eb_buf_append(&s->r->strings, "", 1))
        return SIZE_MAX;
    return off;
}

/* Offsets in r->strings of what the result remembers (SIZE_MAX: absent). */
struct kept {
    size_t field[4]; /* id, event, triggeredAt (by EB_PUSH_FIELD_*), unused for data */
    size_t application_id;
};

static int object(struct scan *s, const struct tag *open, const struct eb_type *t, size_t depth,
                  struct kept *k);

/* A scalar field's element (its start tag read): its value checked and written. */
static int scalar(struct scan *s, const struct tag *open, const struct eb_type *t,
                  const struct eb_field *f, struct kept *k)
{
    struct eb_buf *out = &s->r->doc;
    if (open->empty || !leaf_text(s) || !end_tag(s, open))
        return 0;
    const char *v = s->v;
    size_t n = s->n;
    if (!n || is_space(v[0]) || is_space(v[n - 1]))
        return 0;
    switch (f->kind) {
    case EB_KIND_STR:
    case EB_KIND_ANY:
    case EB_KIND_DATE:
        break;
    case EB_KIND_INT:
        if (!canonical_int(v, n))
            return 0;
        break;
    case EB_KIND_DEC:
        if (!is_decimal(v, n))
            return 0;
        break;
    case EB_KIND_BOOL:
        if (!((n == 4 && !memcmp(v, "true", 4)) || (n == 5 && !memcmp(v, "false", 5))))
            return 0;
        break;
    default:
        return 0;
    }
    if (!put_leaf(out, f->xml, v, n, s->plain))
        return 0;
    if (t == &eb_type_push && f != &eb_type_push.fields[EB_PUSH_FIELD_DATA] && f - t->fields < 3 &&
        (k->field[f - t->fields] = keep(s, v, n)) == SIZE_MAX)
        return 0;
    if (t == &eb_type_candidate && f->kind == EB_KIND_INT && !strcmp(f->xml, "applicationId") &&
        (k->application_id = keep(s, v, n)) == SIZE_MAX)
        return 0;
    return 1;
}

/* An array wrapper (its start tag read): one or more <element> items. */
static int array(struct scan *s, const struct tag *open, const struct eb_field *f, size_t depth,
                 struct kept *k)
{
    struct eb_buf *out = &s->r->doc;
    size_t items = 0;
    size_t nl = strlen(f->xml);
    if (open->empty || !put_tag(out, f->xml, nl, 0))
        return 0;
    for (;;) {
        struct tag it;
        if (!only_space(s))
            return 0;
        if (s->p + 1 < s->end && s->p[1] == '/')
            break;
        if (!start_tag(s, &it, 0) || !named(&it, "element") || !in_contract(s, &it) ||
            depth + 1 > s->max_depth)
            return 0;
        if (f->kind == EB_KIND_STRARR) {
            static const struct eb_field item = {"element", "", EB_KIND_STR, 0, 0, NULL};
            if (!scalar(s, &it, NULL, &item, k))
                return 0;
        } else {
            if (eb_buf_append(out, "<element>", 9) || !object(s, &it, f->type, depth + 1, k) ||
                eb_buf_append(out, "</element>", 10))
                return 0;
        }
        items++;
    }
    return items && end_tag(s, open) && put_tag(out, f->xml, nl, 1);
}

/* The children of an object's element (its start tag read) as the fields of t, in the
 * contract's order, each at most once, at least one; then its end tag. */
static int object(struct scan *s, const struct tag *open, const struct eb_type *t, size_t depth,
                  struct kept *k)
{
    size_t next = 0, children = 0;
    if (open->empty)
        return 0;
    for (;;) {
        struct tag ch;
        if (!only_space(s))
            return 0;
        if (s->p + 1 < s->end && s->p[1] == '/')
            break;
        if (!start_tag(s, &ch, 0) || depth + 1 > s->max_depth || !in_contract(s, &ch))
            return 0;
        size_t fi = next;
        while (fi < t->n_fields && !named(&ch, t->fields[fi].xml))
            fi++;
        if (fi == t->n_fields)
            return 0; /* unknown, repeated, out of order, or another namespace */
        next = fi + 1;
        children++;
        const struct eb_field *f = &t->fields[fi];
        struct eb_buf *out = &s->r->doc;
        int ok;
        switch (f->kind) {
        case EB_KIND_OBJ: {
            size_t nl = strlen(f->xml);
            ok = put_tag(out, f->xml, nl, 0) && object(s, &ch, f->type, depth + 1, k) &&
                 put_tag(out, f->xml, nl, 1);
            break;
        }
        case EB_KIND_ARR:
        case EB_KIND_STRARR:
            ok = array(s, &ch, f, depth + 1, k);
            break;
        default:
            ok = scalar(s, &ch, t, f, k);
        }
        if (!ok)
            return 0;
    }
    return children && end_tag(s, open);
}

/* The XML declaration at the first byte, when there is one: version 1.0, encoding UTF-8,
 * standalone yes or no, in that order, each but version optional. */
static int declaration(struct scan *s)
{
    static const char *const names[] = {"version", "encoding", "standalone"};
    const char *p = s->p;
    size_t next = 0;
    if ((size_t)(s->end - p) < 6 || memcmp(p, "<?xml", 5) || !is_space(p[5]))
        return (size_t)(s->end - p) < 5 || memcmp(p, "<?xml", 5); /* no declaration */
    p += 5;
    for (;;) {
        while (p < s->end && is_space(*p))
            p++;
        if ((size_t)(s->end - p) >= 2 && p[0] == '?' && p[1] == '>')
            break;
        size_t i;
        for (i = next; i < 3; i++)
            if ((size_t)(s->end - p) > strlen(names[i]) && !memcmp(p, names[i], strlen(names[i])))
                break;
        if (i == 3 || (i > 0 && next == 0))
            return 0; /* unknown, out of order, or no version first */
        p += strlen(names[i]);
        next = i + 1;
        while (p < s->end && is_space(*p))
            p++;
        if (p >= s->end || *p++ != '=')
            return 0;
        while (p < s->end && is_space(*p))
            p++;
        if (p >= s->end || (*p != '"' && *p != '\''))
            return 0;
        char q = *p++;
        const char *v = p;
        while (p < s->end && *p != q && *p != '<')
            p++;
        if (p >= s->end || *p != q)
            return 0;
        size_t n = (size_t)(p - v);
        p++;
        if ((i == 0 && !(n == 3 && !memcmp(v, "1.0", 3))) ||
            (i == 1 && !(n == 5 && (!memcmp(v, "UTF-8", 5) || !memcmp(v, "utf-8", 5)))) ||
            (i == 2 && !(n == 3 && !memcmp(v, "yes", 3)) && !(n == 2 && !memcmp(v, "no", 2))))
            return 0;
        if (p < s->end && !is_space(*p) && *p != '?')
            return 0;
    }
    s->p = p + 2;
    return 1;
}

/* The envelope down to the push, the push, and the envelope's end. */
static int envelope(struct scan *s, struct kept *k)
{
    struct eb_buf *out = &s->r->doc;
    struct tag env, head, body, op;
    const char *ns;
    skip_space(s);
    if (!start_tag(s, &env, 1))
        return 0;
    size_t outer = s->n_binds;
    if (is(s, &env, SOAP11_NS, "Envelope"))
        ns = SOAP11_NS, s->r->soap = EB_SOAP_11;
    else if (is(s, &env, SOAP12_NS, "Envelope"))
        ns = SOAP12_NS, s->r->soap = EB_SOAP_12;
    else
        return 0;
    if (env.empty || !only_space(s) || !start_tag(s, &head, 1))
        return 0;
    body = head;
    if (is(s, &head, ns, "Header")) {
        if (!head.empty && (!only_space(s) || !end_tag(s, &head)))
            return 0;
        s->n_binds = outer; /* the Header's declarations end with it */
        if (!only_space(s) || !start_tag(s, &body, 1))
            return 0;
    }
    if (!is(s, &body, ns, "Body") || body.empty || !only_space(s) || !start_tag(s, &op, 1) ||
        !is(s, &op, CONTRACT_NS, "pushCandidate"))
        return 0;
    if (eb_buf_puts(out, "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"") || eb_buf_puts(out, ns) ||
        eb_buf_puts(out, "\"><SOAP-ENV:Body>"))
        return 0;
    s->r->canon_off = out->len;
    if (eb_buf_puts(out, "<pushCandidate xmlns=\"" CONTRACT_NS "\">") ||
        !object(s, &op, &eb_type_push, 4, k) || eb_buf_puts(out, "</pushCandidate>"))
        return 0;
    s->r->canon_len = out->len - s->r->canon_off;
    if (!only_space(s) || !end_tag(s, &body) || !only_space(s) || !end_tag(s, &env))
        return 0;
    skip_space(s);
    return s->p == s->end && !eb_buf_puts(out, "</SOAP-ENV:Body></SOAP-ENV:Envelope>");
}

int eb_ingest_direct(const char *body, size_t len, const struct eb_ingest_limits *lim,
                     struct eb_ingest_result *r, struct eb_buf *scratch)
{
    struct scan s;
    struct kept k = {{SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX}, SIZE_MAX};
    memset(&s, 0, sizeof s);
    s.p = body;
    s.end = body + len;
    s.r = r;
    s.max_depth = lim->max_depth;
    s.val = scratch;
    s.cached_binds = SIZE_MAX;
    if (!body || !len || body[0] != '<' || eb_buf_reserve(&r->doc, len + 128) || !declaration(&s) ||
        !envelope(&s, &k) || 3 * s.elements + s.attrs + 1 > lim->max_nodes) {
        eb_buf_reset(&r->doc);
        eb_buf_reset(&r->strings);
        r->soap = EB_SOAP_NONE;
        r->canon_off = r->canon_len = 0;
        return 0;
    }
    r->push_id =
        k.field[EB_PUSH_FIELD_ID] == SIZE_MAX ? NULL : r->strings.data + k.field[EB_PUSH_FIELD_ID];
    r->event = k.field[EB_PUSH_FIELD_EVENT] == SIZE_MAX
                   ? NULL
                   : r->strings.data + k.field[EB_PUSH_FIELD_EVENT];
    r->triggered_at = k.field[EB_PUSH_FIELD_TRIGGERED_AT] == SIZE_MAX
                          ? NULL
                          : r->strings.data + k.field[EB_PUSH_FIELD_TRIGGERED_AT];
    r->application_id = k.application_id == SIZE_MAX ? NULL : r->strings.data + k.application_id;
    r->direct = 1;
    return 1;
}

const char *eb_ingest_bind_text(struct eb_ingest_result *r, const char *body, size_t len)
{
    /* the body, not a copy: gSOAP reads a C string, and the body is one up to its end */
    if (r->direct && body && body[len] == '\0')
        return body;
    return eb_buf_cstr(&r->doc);
}

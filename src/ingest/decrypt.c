/* AES-256-CBC decryption of the data field (OpenSSL EVP) and the data decoder ingest calls
 * (see decrypt.h). Every failure to decrypt or read encrypted data gives one message and takes
 * one path (no padding oracle); messages never hold a byte of the key or the plaintext. */
#include "ingest/decrypt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ingest/ingest_int.h"
#include "ingest/json.h"
#include "util/buf.h"

#define BLOCK 16

/* 1 when p[0..n) is valid UTF-8 whose first non-blank character starts JSON or XML. */
static int plausible(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i + 3 <= n && p[i] == 0xEF && p[i + 1] == 0xBB && p[i + 2] == 0xBF)
        i += 3; /* a byte order mark */
    if (i >= n || (p[i] != '{' && p[i] != '<' && p[i] != '['))
        return 0;
    for (i = 0; i < n;) {
        unsigned char c = p[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xE0) == 0xC0 ? 2
                     : (c & 0xF0) == 0xE0 ? 3
                     : (c & 0xF8) == 0xF0 ? 4
                                          : 0;
        if (!len || i + len > n || (len == 2 && c < 0xC2))
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
        if (c == 0)
            return 0;
        i += len;
    }
    return 1;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void trim(const char **p, size_t *n)
{
    while (*n && is_space((unsigned char)**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n && is_space((unsigned char)(*p)[*n - 1]))
        (*n)--;
}

int eb_decrypt_is_hex(const char *text, size_t len)
{
    if (!len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (eb_hex_digit((unsigned char)text[i]) < 0)
            return 0;
    return 1;
}

const char eb_decrypt_failure[] =
    "data: cannot be decrypted and read (wrong key or IV, a truncated or corrupted ciphertext, "
    "or a plaintext that is not a candidate in JSON or XML)";

/* 1 when a < b, for a, b < 2^31, without a branch. */
static unsigned ct_lt(unsigned a, unsigned b)
{
    return (a - b) >> (sizeof(unsigned) * 8 - 1);
}

/* 1 when a == b, for a, b < 2^31, without a branch. */
static unsigned ct_eq(unsigned a, unsigned b)
{
    return ((a ^ b) - 1) >> (sizeof(unsigned) * 8 - 1);
}

/* The plaintext of a ciphertext, and whether it may be read. */
struct plain {
    unsigned char *p; /* the decrypted blocks; NULL when the ciphertext held none */
    size_t cap;       /* bytes at p (wiped when freed) */
    size_t len;       /* the plaintext without its padding (all blocks when it is bad) */
    unsigned ok;      /* 1 when the ciphertext was well formed and the padding checked out */
};

static void plain_free(struct plain *pl)
{
    if (pl->p)
        OPENSSL_cleanse(pl->p, pl->cap);
    free(pl->p);
    pl->p = NULL;
}

/* Decrypts the hex text[0..len) (trimmed, all hex digits) into pl. Every whole block there is
 * is decrypted, whatever is wrong with the length; the padding is checked without a branch on
 * the plaintext, so that a bad padding takes the same path and the same time as a good one.
 * EB_OK (pl->ok says whether it may be read), or EB_ERR_NOMEM. */
static eb_rc decrypt(const struct eb_aes *k, const char *text, size_t len, struct plain *pl)
{
    eb_rc rc = EB_OK;
    size_t nbytes = len / 2, head = k->has_iv ? 0 : BLOCK;
    size_t nct = nbytes >= head ? (nbytes - head) / BLOCK * BLOCK : 0;
    unsigned char *bytes = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    memset(pl, 0, sizeof *pl);
    unsigned ok = !(len % 2) && !(nbytes % BLOCK) && nct >= BLOCK;
    if (!nct)
        return EB_OK; /* not one block: nothing to decrypt, pl->ok is 0 */
    pl->cap = nct + BLOCK;
    if (!(bytes = malloc(head + nct)) || !(pl->p = malloc(pl->cap)) ||
        !(ctx = EVP_CIPHER_CTX_new())) {
        rc = EB_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < head + nct; i++)
        bytes[i] = (unsigned char)(eb_hex_digit((unsigned char)text[2 * i]) << 4 |
                                   eb_hex_digit((unsigned char)text[2 * i + 1]));
    int n = 0;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->key, k->has_iv ? k->iv : bytes) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
        EVP_DecryptUpdate(ctx, pl->p, &n, bytes + head, (int)nct) != 1 || (size_t)n != nct)
        memset(pl->p, 0, pl->cap); /* cannot happen with a valid key: read as garbage */
    /* PKCS#7: the last byte, 1 to 16, says how many bytes of that value end the plaintext */
    unsigned pad = pl->p[nct - 1];
    unsigned good = ct_lt(0, pad) & ct_lt(pad, BLOCK + 1);
    for (unsigned i = 0; i < BLOCK; i++)
        good &= (1u ^ ct_lt(i, pad)) | ct_eq(pl->p[nct - 1 - i], pad);
    pl->len = nct - (pad & (0u - good));
    pl->ok = ok & good;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (bytes)
        OPENSSL_cleanse(bytes, head + nct);
    free(bytes);
    if (rc)
        plain_free(pl);
    return rc;
}

/* Trims text and checks that it is hex: EB_ERR_NOT_PUSH when it is not. */
static eb_rc hex_text(const char **text, size_t *len, struct eb_err *err)
{
    trim(text, len);
    if (!eb_decrypt_is_hex(*text, *len))
        return eb_err_set(err, EB_ERR_NOT_PUSH, "not hex");
    return EB_OK;
}

eb_rc eb_decrypt_hex(const struct eb_aes *k, const char *text, size_t len, struct eb_buf *out,
                     struct eb_err *err)
{
    struct plain pl;
    eb_rc rc = hex_text(&text, &len, err);
    if (rc)
        return rc;
    if ((rc = decrypt(k, text, len, &pl)))
        return eb_err_set(err, rc, "out of memory decrypting");
    /* A wrong key still passes the padding check once in 256: the plaintext must look like what
     * the vendor encrypts (UTF-8 JSON or XML) too. Checked whatever the padding said. */
    unsigned ok = pl.ok & (unsigned)plausible(pl.p, pl.len);
    if (ok && (rc = eb_buf_append(out, pl.p, pl.len)) == EB_ERR_NOMEM)
        eb_err_set(err, rc, "out of memory decrypting");
    else if (!ok || rc)
        rc = eb_err_set(err, EB_ERR_INVALID, "%s", eb_decrypt_failure);
    plain_free(&pl);
    return rc;
}

eb_rc eb_decrypt_json(const struct eb_aes *k, const char *text, size_t len, json_t **out,
                      struct eb_err *err)
{
    struct plain pl;
    struct eb_err e;
    *out = NULL;
    eb_rc rc = hex_text(&text, &len, err);
    if (rc)
        return rc;
    if ((rc = decrypt(k, text, len, &pl)))
        return eb_err_set(err, rc, "out of memory decrypting");
    /* parsed whatever the padding said: a bad padding takes the path of a good one */
    unsigned ok = pl.ok & (unsigned)plausible(pl.p, pl.len);
    json_t *v = pl.p ? eb_json_load((const char *)pl.p, pl.len, "decrypted data", NULL, &e) : NULL;
    if (ok && json_is_object(v)) {
        *out = v;
    } else {
        json_decref(v);
        rc = eb_err_set(err, EB_ERR_INVALID, "%s", eb_decrypt_failure);
    }
    plain_free(&pl);
    return rc;
}

/* Converts JSON text to <data>...</data>; failures are recorded in d. */
static void from_json(struct eb_data_decoder *d, const char *text, size_t len, const char *what,
                      struct eb_buf *out)
{
    struct eb_err e;
    eb_err_clear(&e);
    json_t *v = eb_json_load(text, len, what, NULL, &e);
    if (v && eb_json_data_xml(v, out, &e) == EB_OK) {
        json_decref(v);
        return;
    }
    json_decref(v);
    eb_buf_reset(out);
    d->failed = 1;
    snprintf(d->msg, sizeof d->msg, "data: %.240s", e.msg[0] ? e.msg : "cannot read JSON");
}

/* Levels of nesting kept for what surrounds the data element (envelope, body, operation, a
 * wrapper) when decrypted XML is checked: ingest counts depth from the body's root. */
#define DATA_BASE_DEPTH 8

/* 1 when the XML text p[0..n) reads as ingest reads data given as XML text: without its XML
 * declaration, inside a <data> wrapper, with ingest's parser (no DTD, no entities, the '&'
 * repair) and its limits. */
static int xml_reads(const char *p, size_t n)
{
    struct eb_buf wrapped;
    struct eb_err e;
    size_t nodes = 0;
    int repaired = 0, ok = 0;
    xmlDoc *doc = NULL;
    eb_ingest_trim(&p, &n);
    if (n >= 5 && memcmp(p, "<?xml", 5) == 0) {
        for (size_t i = 5; i + 1 < n; i++)
            if (p[i] == '?' && p[i + 1] == '>') {
                p += i + 2;
                n -= i + 2;
                break;
            }
    }
    struct eb_ingest_parse how = {.what = "decrypted data",
                                  .inner = 1,
                                  .base_depth = DATA_BASE_DEPTH,
                                  .max_depth = eb_ingest_default_limits.max_depth,
                                  .max_nodes = eb_ingest_default_limits.max_nodes,
                                  .nodes = &nodes,
                                  .repaired = &repaired};
    struct eb_ingest_parser *ps = eb_ingest_parser_get();
    eb_buf_init(&wrapped, SIZE_MAX / 2);
    eb_err_clear(&e);
    if (ps && !eb_buf_puts(&wrapped, "<data>") && !eb_buf_append(&wrapped, p, n) &&
        !eb_buf_puts(&wrapped, "</data>"))
        ok = eb_ingest_parse_xml(ps, wrapped.data, wrapped.len, &how, &doc, &e) == EB_OK;
    eb_ingest_parser_put(ps);
    if (wrapped.data)
        OPENSSL_cleanse(wrapped.data, wrapped.cap);
    eb_buf_free(&wrapped);
    return ok;
}

/* Reads the plaintext p[0..n) into out as data (JSON converted, XML checked and copied);
 * 1 when it reads. */
static int read_plain(const unsigned char *p, size_t n, struct eb_buf *out)
{
    const char *s = p ? (const char *)p : "";
    int ok = plausible(p, n);
    trim(&s, &n);
    if (n && s[0] == '{') {
        struct eb_err e;
        eb_err_clear(&e);
        json_t *v = eb_json_load(s, n, "decrypted data", NULL, &e);
        ok &= v && eb_json_data_xml(v, out, &e) == EB_OK;
        json_decref(v);
    } else if (n && s[0] == '<') {
        ok &= xml_reads(s, n) && eb_buf_append(out, s, n) == EB_OK;
    } else {
        ok = 0;
    }
    return ok;
}

static eb_rc decode(void *user, const char *text, size_t len, struct eb_buf *out,
                    struct eb_err *err)
{
    struct eb_data_decoder *d = user;
    struct plain pl;
    (void)err;
    trim(&text, &len);
    if (len && text[0] == '{') {
        from_json(d, text, len, "data text", out);
        return EB_OK;
    }
    if (!eb_decrypt_is_hex(text, len))
        return EB_ERR_NOT_PUSH;
    if (!d->aes) {
        d->failed = 1;
        snprintf(d->msg, sizeof d->msg,
                 "data: looks encrypted (hex) but no AES key is configured (--aes-key)");
        return EB_OK;
    }
    /* One path for every ciphertext: decrypted whole, read whatever the padding said, and the
     * verdict taken at the end. */
    unsigned ok = decrypt(d->aes, text, len, &pl) == EB_OK;
    ok &= pl.ok & (unsigned)read_plain(pl.p, pl.len, out);
    plain_free(&pl);
    if (ok) {
        d->decrypted = 1;
    } else {
        d->failed = 1;
        snprintf(d->msg, sizeof d->msg, "%s", eb_decrypt_failure);
        if (out->data)
            OPENSSL_cleanse(out->data, out->cap);
        eb_buf_reset(out);
    }
    return EB_OK;
}

void eb_data_decoder_init(struct eb_data_decoder *d, const struct eb_aes *aes)
{
    memset(d, 0, sizeof *d);
    d->hook.decode = decode;
    d->hook.user = d;
    d->aes = aes;
}

/* AES-256-CBC decryption of the data field (OpenSSL EVP) and the data decoder ingest calls
 * (see decrypt.h). Messages name what is wrong, never a byte of the key or the plaintext. */
#include "ingest/decrypt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/buf.h"
#include "ingest/json.h"

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

eb_rc eb_decrypt_hex(const struct eb_aes *k, const char *text, size_t len, struct eb_buf *out,
                     struct eb_err *err)
{
    eb_rc rc = EB_OK;
    unsigned char *bytes = NULL, *plain = NULL;
    size_t nbytes, nplain = 0;
    EVP_CIPHER_CTX *ctx = NULL;

    trim(&text, &len);
    if (!eb_decrypt_is_hex(text, len))
        return eb_err_set(err, EB_ERR_NOT_PUSH, "not hex");
    if (len % 2)
        return eb_err_set(err, EB_ERR_INVALID, "ciphertext has an odd number of hex digits");
    nbytes = len / 2;
    if (nbytes % BLOCK)
        return eb_err_set(err, EB_ERR_INVALID,
                          "ciphertext is not a whole number of 16-byte AES blocks (%zu bytes: "
                          "truncated?)",
                          nbytes);
    if (nbytes < (k->has_iv ? BLOCK : 2 * BLOCK))
        return eb_err_set(err, EB_ERR_INVALID, "ciphertext too short (%zu bytes)%s", nbytes,
                          k->has_iv ? "" : ": without --aes-iv it starts with a 16-byte IV");
    if (!(bytes = malloc(nbytes)) || !(plain = malloc(nbytes + BLOCK)) ||
        !(ctx = EVP_CIPHER_CTX_new())) {
        rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory decrypting");
        goto out;
    }
    for (size_t i = 0; i < nbytes; i++)
        bytes[i] = (unsigned char)(eb_hex_digit((unsigned char)text[2 * i]) << 4 |
                                   eb_hex_digit((unsigned char)text[2 * i + 1]));
    const unsigned char *iv = k->has_iv ? k->iv : bytes;
    const unsigned char *ct = k->has_iv ? bytes : bytes + BLOCK;
    size_t nct = k->has_iv ? nbytes : nbytes - BLOCK;
    int n1 = 0, n2 = 0;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->key, iv) != 1 ||
        EVP_DecryptUpdate(ctx, plain, &n1, ct, (int)nct) != 1) {
        rc = eb_err_set(err, EB_ERR_INTERNAL, "AES-256-CBC decryption failed");
        goto out;
    }
    if (EVP_DecryptFinal_ex(ctx, plain + n1, &n2) != 1) {
        rc = eb_err_set(err, EB_ERR_INVALID,
                        "cannot decrypt: the padding does not check out (wrong key or IV, or a "
                        "corrupted ciphertext)");
        goto out;
    }
    nplain = (size_t)n1 + (size_t)n2;
    /* A wrong key still passes the padding check once in 256: the plaintext must look like what
     * the vendor encrypts (UTF-8 JSON or XML) before it is read as such. */
    if (!plausible(plain, nplain)) {
        rc = eb_err_set(err, EB_ERR_INVALID,
                        "cannot decrypt: the plaintext is neither JSON nor XML (wrong key or IV, "
                        "or a corrupted ciphertext)");
        goto out;
    }
    rc = eb_buf_append(out, plain, nplain);
    if (rc)
        eb_err_set(err, rc, "decrypted data too large");
out:
    EVP_CIPHER_CTX_free(ctx);
    if (plain)
        OPENSSL_cleanse(plain, nbytes + BLOCK);
    free(plain);
    free(bytes);
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

static eb_rc decode(void *user, const char *text, size_t len, struct eb_buf *out,
                    struct eb_err *err)
{
    struct eb_data_decoder *d = user;
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
    struct eb_buf plain;
    struct eb_err e;
    eb_err_clear(&e);
    eb_buf_init(&plain, out->max);
    eb_rc rc = eb_decrypt_hex(d->aes, text, len, &plain, &e);
    if (rc) {
        d->failed = 1;
        snprintf(d->msg, sizeof d->msg, "data: %.240s", e.msg);
        goto out;
    }
    d->decrypted = 1;
    const char *p = plain.len ? plain.data : "";
    size_t n = plain.len;
    trim(&p, &n);
    if (n && p[0] == '{') {
        from_json(d, p, n, "decrypted data", out);
    } else if (n && p[0] == '<') {
        if ((rc = eb_buf_append(out, p, n))) { /* XML: ingest reads it as data text */
            d->failed = 1;
            snprintf(d->msg, sizeof d->msg, "data: decrypted data too large");
            rc = EB_OK;
        }
    } else {
        d->failed = 1;
        snprintf(d->msg, sizeof d->msg,
                 "data: the decrypted text is neither JSON nor XML (wrong key or IV?)");
    }
out:
    if (plain.data)
        OPENSSL_cleanse(plain.data, plain.cap);
    eb_buf_free(&plain);
    if (d->failed)
        eb_buf_reset(out);
    return EB_OK;
}

void eb_data_decoder_init(struct eb_data_decoder *d, const struct eb_aes *aes)
{
    memset(d, 0, sizeof *d);
    d->hook.decode = decode;
    d->hook.user = d;
    d->aes = aes;
}

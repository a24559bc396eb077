/* libFuzzer harness of the data decryption (ingest/decrypt.c) behind ingest's decoder hook: the
 * input's first byte chooses whether the rest is data text as sent (hex, JSON, anything) or a
 * plaintext that the harness encrypts with the test key first, so that the padding check and
 * the reading of decrypted JSON and XML are reached too. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ingest/decrypt.h"

/* The IV (zeros) and AES-256-CBC of in with k, as hex, appended to out. */
static void encrypt_hex(const struct eb_aes *k, const uint8_t *in, size_t n, struct eb_buf *out)
{
    unsigned char iv[16] = {0}, *ct = malloc(n + 32);
    int a = 0, b = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (ct && c && EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, k->key, iv) &&
        EVP_EncryptUpdate(c, ct, &a, in, (int)n) && EVP_EncryptFinal_ex(c, ct + a, &b)) {
        char h[3];
        for (int i = 0; i < 16 + a + b; i++) {
            snprintf(h, sizeof h, "%02x", i < 16 ? iv[i] : ct[i - 16]);
            eb_buf_append(out, h, 2);
        }
    }
    EVP_CIPHER_CTX_free(c);
    free(ct);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct eb_aes key = {{0}, {0}, 0};
    struct eb_data_decoder d;
    struct eb_buf text, out;
    struct eb_err err = {0};
    if (!size || size > 65536)
        return 0;
    memcpy(key.key, "0123456789abcdef0123456789abcdef", 32);
    eb_data_decoder_init(&d, &key);
    eb_buf_init(&text, 1 << 20);
    eb_buf_init(&out, 1 << 20);
    if (data[0] & 1)
        encrypt_hex(&key, data + 1, size - 1, &text);
    else
        eb_buf_append(&text, data + 1, size - 1);
    d.hook.decode(d.hook.user, text.len ? text.data : "", text.len, &out, &err);
    eb_buf_reset(&out);
    eb_decrypt_hex(&key, text.len ? text.data : "", text.len, &out, &err);
    eb_buf_free(&text);
    eb_buf_free(&out);
    return 0;
}

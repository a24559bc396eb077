/* Unit tests of ingest/decrypt.c: AES-256-CBC vectors made outside ehrbridge (Node's crypto
 * module: tests/integration/node/encrypt.js, and the openssl command line) decrypt, with a fixed
 * IV and with the IV in front of the ciphertext, to JSON and to XML; a wrong key, a truncated or
 * odd ciphertext and a missing key are refused with a clear message; the data decoder hands
 * ingest what it can read and records why it cannot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "check.h"
#include "ingest/decrypt.h"
#include "ingest/ingest.h"

#define KEY_TEXT "0123456789abcdef0123456789abcdef"
#define KEY_HEX  "3031323334353637383961626364656630313233343536373839616263646566"
#define IV_TEXT  "fedcba9876543210"

/* node encrypt.js encrypt KEY IV, and the same with
 * openssl enc -aes-256-cbc -K <KEY_HEX> -iv <hex of IV_TEXT> | xxd -p:
 * {"applicationId":424242,"name":"N1"} */
#define V_FIXED_IV                                                                                 \
    "c23a5ebc78f049ce71f3145430b7caa62799f6910dd95a60373c47a0e474835214fc782ca076cacf5953c95d80f"  \
    "62766"
/* node encrypt.js encrypt KEY (random IV in front):
 * <data><applicationId>515151</applicationId><name>X</name></data> */
#define V_NODE_PREFIXED                                                                            \
    "418ae93c35463e982e0225ad91adf0ca3e2a42328100c21c49911c9a220f9268eb43f0969f6de95d361383b5303"  \
    "31696e571d525c26af0d5948a410996394adc6f8586fea295e06856daf426d7d36de7a88634145f92a821130221"  \
    "0723e28f6d"
/* openssl enc -aes-256-cbc -K KEY_HEX -iv 00112233445566778899aabbccddeeff, IV in front:
 * <applicationId>7</applicationId><name>Y &amp; Z</name> */
#define V_OPENSSL_PREFIXED                                                                         \
    "00112233445566778899aabbccddeeffe96f273c375056a71db4062806fb1f61f35d5ca3198d66f823f29067e95"  \
    "847a395a969f30aaab14925e981d2908b744cb2e3a6d5ac24ac45c87f960fcea7210b"
/* openssl, fixed IV 00112233445566778899aabbccddeeff: "hello, not json" */
#define V_NOT_DATA "fa7a6c0b0c75aa75e551df34e7c608b2"

static void key(struct eb_aes *k, const char *iv_text)
{
    memset(k, 0, sizeof *k);
    memcpy(k->key, KEY_TEXT, 32);
    if (iv_text) {
        memcpy(k->iv, iv_text, 16);
        k->has_iv = 1;
    }
}

static char *decrypt(const struct eb_aes *k, const char *hex, eb_rc *rc, struct eb_err *e)
{
    struct eb_buf out;
    eb_buf_init(&out, 1 << 20);
    eb_err_clear(e);
    *rc = eb_decrypt_hex(k, hex, strlen(hex), &out, e);
    char *s = strdup(*rc ? "" : eb_buf_cstr(&out));
    eb_buf_free(&out);
    return s;
}

static void test_vectors(void)
{
    struct eb_aes k;
    struct eb_err e;
    eb_rc rc;
    char *p;

    key(&k, IV_TEXT);
    p = decrypt(&k, V_FIXED_IV, &rc, &e);
    CHECK(rc == EB_OK);
    CHECK_STR(p, "{\"applicationId\":424242,\"name\":\"N1\"}");
    free(p);
    /* upper-case hex and surrounding blanks */
    char upper[sizeof V_FIXED_IV + 4] = " \n";
    for (size_t i = 0; i < sizeof V_FIXED_IV - 1; i++)
        upper[2 + i] = (char)(V_FIXED_IV[i] >= 'a' ? V_FIXED_IV[i] - 32 : V_FIXED_IV[i]);
    p = decrypt(&k, upper, &rc, &e);
    CHECK(rc == EB_OK && strstr(p, "424242"));
    free(p);

    key(&k, NULL);
    p = decrypt(&k, V_NODE_PREFIXED, &rc, &e);
    CHECK(rc == EB_OK);
    CHECK_STR(p, "<data><applicationId>515151</applicationId><name>X</name></data>");
    free(p);
    p = decrypt(&k, V_OPENSSL_PREFIXED, &rc, &e);
    CHECK(rc == EB_OK);
    CHECK_STR(p, "<applicationId>7</applicationId><name>Y &amp; Z</name>");
    free(p);
}

static void test_refusals(void)
{
    struct eb_aes k;
    struct eb_err e;
    eb_rc rc;
    char *p;

    /* the wrong key: the padding does not check out */
    key(&k, IV_TEXT);
    k.key[0] ^= 1;
    p = decrypt(&k, V_FIXED_IV, &rc, &e);
    CHECK(rc == EB_ERR_INVALID);
    CHECK(strstr(e.msg, "wrong key") != NULL);
    free(p);
    /* truncated ciphertexts: a whole block missing, and a cut inside a block */
    key(&k, NULL);
    char truncated[sizeof V_NODE_PREFIXED];
    snprintf(truncated, sizeof truncated, "%.*s", (int)(sizeof V_NODE_PREFIXED - 1 - 32),
             V_NODE_PREFIXED);
    p = decrypt(&k, truncated, &rc, &e); /* one block short: the padding is gone */
    CHECK(rc == EB_ERR_INVALID);
    free(p);
    snprintf(truncated, sizeof truncated, "%.*s", (int)(sizeof V_NODE_PREFIXED - 1 - 6),
             V_NODE_PREFIXED);
    p = decrypt(&k, truncated, &rc, &e);
    CHECK(rc == EB_ERR_INVALID);
    CHECK(strstr(e.msg, "16-byte") != NULL && strstr(e.msg, "truncated") != NULL);
    free(p);
    p = decrypt(&k, "abc", &rc, &e);
    CHECK(rc == EB_ERR_INVALID && strstr(e.msg, "odd") != NULL);
    free(p);
    p = decrypt(&k, "00112233445566778899aabbccddeeff", &rc, &e); /* an IV and nothing else */
    CHECK(rc == EB_ERR_INVALID && strstr(e.msg, "too short") != NULL);
    free(p);
    p = decrypt(&k, "not hex at all", &rc, &e);
    CHECK(rc == EB_ERR_NOT_PUSH);
    free(p);
    CHECK(eb_decrypt_is_hex("00aAfF", 6) && !eb_decrypt_is_hex("0x00", 4) &&
          !eb_decrypt_is_hex("", 0));
}

/* Runs the decoder hook as ingest would; returns what it wrote. */
static char *decode(struct eb_data_decoder *d, const char *text, eb_rc *rc)
{
    struct eb_buf out;
    struct eb_err e;
    eb_buf_init(&out, 1 << 20);
    eb_err_clear(&e);
    *rc = d->hook.decode(d->hook.user, text, strlen(text), &out, &e);
    char *s = strdup(eb_buf_cstr(&out));
    eb_buf_free(&out);
    return s;
}

static void test_decoder(void)
{
    struct eb_aes k;
    struct eb_data_decoder d;
    eb_rc rc;
    char *p;

    key(&k, IV_TEXT);
    eb_data_decoder_init(&d, &k);
    p = decode(&d, V_FIXED_IV, &rc);
    CHECK(rc == EB_OK && !d.failed && d.decrypted);
    CHECK_STR(p, "<data><applicationId>424242</applicationId><name>N1</name></data>");
    free(p);

    /* JSON data text, not encrypted */
    eb_data_decoder_init(&d, NULL);
    p = decode(&d, " {\"applicationId\": 9, \"CandidateId\": 3}", &rc);
    CHECK(rc == EB_OK && !d.failed && !d.decrypted);
    CHECK_STR(p, "<data><applicationId>9</applicationId><candidateId>3</candidateId></data>");
    free(p);
    /* ciphertext but no key */
    p = decode(&d, V_FIXED_IV, &rc);
    CHECK(rc == EB_OK && d.failed && !strcmp(p, ""));
    CHECK(strstr(d.msg, "no AES key") != NULL);
    free(p);
    /* not recognized at all */
    eb_data_decoder_init(&d, &k);
    p = decode(&d, "hello", &rc);
    CHECK(rc == EB_ERR_NOT_PUSH && !d.failed);
    free(p);
    /* the wrong key */
    struct eb_aes bad = k;
    bad.key[31] ^= 0x80;
    eb_data_decoder_init(&d, &bad);
    p = decode(&d, V_FIXED_IV, &rc);
    CHECK(rc == EB_OK && d.failed && !strcmp(p, ""));
    CHECK(strncmp(d.msg, "data: cannot decrypt", 20) == 0);
    free(p);
    /* decrypts, but to neither JSON nor XML */
    struct eb_aes k2;
    key(&k2, NULL);
    memcpy(k2.iv, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
    k2.has_iv = 1;
    eb_data_decoder_init(&d, &k2);
    p = decode(&d, V_NOT_DATA, &rc);
    CHECK(rc == EB_OK && d.failed && strstr(d.msg, "neither JSON nor XML"));
    free(p);
    /* invalid JSON: the message has a position, not the text */
    eb_data_decoder_init(&d, NULL);
    p = decode(&d, "{\"applicationId\": 9, \"name\": \"secret-name\",}", &rc);
    CHECK(rc == EB_OK && d.failed && strstr(d.msg, "line 1") && !strstr(d.msg, "secret"));
    free(p);
}

/* The decoder inside ingest: SOAP data given as ciphertext, XML and JSON plaintexts. */
static void test_through_ingest(void)
{
    struct eb_aes k;
    struct eb_data_decoder d;
    struct eb_ingest_result r;
    struct eb_err e;
    const char *fmt = "<pushCandidate><id>x</id><event>pushCandidate</event><data>%s</data>"
                      "</pushCandidate>";
    char body[1024];

    key(&k, NULL);
    const char *vectors[] = {V_NODE_PREFIXED, V_OPENSSL_PREFIXED};
    const char *apps[] = {"515151", "7"};
    for (int i = 0; i < 2; i++) {
        eb_data_decoder_init(&d, &k);
        struct eb_ingest_opts o = {eb_ingest_default_limits, &d.hook};
        snprintf(body, sizeof body, fmt, vectors[i]);
        eb_ingest_result_init(&r, eb_ingest_default_limits.max_output);
        CHECK(eb_ingest(body, strlen(body), &o, &r, &e) == EB_OK);
        CHECK_STR(r.application_id, apps[i]);
        CHECK(!d.failed && d.decrypted && r.n_problems == 0);
        eb_ingest_result_free(&r);
    }
    /* the XML plaintext with a "&amp;": kept as text */
    eb_data_decoder_init(&d, &k);
    struct eb_ingest_opts o = {eb_ingest_default_limits, &d.hook};
    snprintf(body, sizeof body, fmt, V_OPENSSL_PREFIXED);
    eb_ingest_result_init(&r, eb_ingest_default_limits.max_output);
    CHECK(eb_ingest(body, strlen(body), &o, &r, &e) == EB_OK);
    CHECK(strstr(r.doc.data, "<name>Y &amp; Z</name>") != NULL);
    eb_ingest_result_free(&r);

    key(&k, IV_TEXT);
    eb_data_decoder_init(&d, &k);
    struct eb_ingest_opts o2 = {eb_ingest_default_limits, &d.hook};
    snprintf(body, sizeof body, fmt, V_FIXED_IV);
    eb_ingest_result_init(&r, eb_ingest_default_limits.max_output);
    CHECK(eb_ingest(body, strlen(body), &o2, &r, &e) == EB_OK);
    CHECK_STR(r.application_id, "424242");
    CHECK(strstr(r.doc.data, "<name>N1</name>") != NULL);
    eb_ingest_result_free(&r);

    /* a decoder failure leaves an empty data element and the push id */
    k.key[0] ^= 1;
    eb_data_decoder_init(&d, &k);
    eb_ingest_result_init(&r, eb_ingest_default_limits.max_output);
    CHECK(eb_ingest(body, strlen(body), &o2, &r, &e) == EB_OK);
    CHECK(d.failed);
    CHECK_STR(r.push_id, "x");
    CHECK(r.application_id == NULL);
    eb_ingest_result_free(&r);
}

/* A wrong key passes the padding check once in 256 tries: garbage that ends in a valid pad must
 * still be refused as a wrong key, not read as data. */
static void test_garbage_with_valid_padding(void)
{
    struct eb_aes k;
    struct eb_err e;
    eb_rc rc;
    unsigned char block[16], ct[16];
    char hex[2 * 32 + 1];
    int n = 0;
    key(&k, NULL);
    for (int i = 0; i < 15; i++)
        block[i] = (unsigned char)(0x80 + i * 7); /* not UTF-8, not JSON or XML */
    block[15] = 0x01;                             /* a valid PKCS#7 pad */
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, k.key, (const unsigned char *)IV_TEXT);
    EVP_CIPHER_CTX_set_padding(c, 0);
    EVP_EncryptUpdate(c, ct, &n, block, 16);
    EVP_CIPHER_CTX_free(c);
    CHECK(n == 16);
    for (int i = 0; i < 16; i++)
        sprintf(hex + 2 * i, "%02x", (unsigned char)IV_TEXT[i]);
    for (int i = 0; i < 16; i++)
        sprintf(hex + 32 + 2 * i, "%02x", ct[i]);
    char *p = decrypt(&k, hex, &rc, &e);
    CHECK(rc == EB_ERR_INVALID);
    CHECK(strstr(e.msg, "cannot decrypt") && strstr(e.msg, "neither JSON nor XML"));
    free(p);
}

int main(void)
{
    test_vectors();
    test_refusals();
    test_garbage_with_valid_padding();
    test_decoder();
    test_through_ingest();
    return check_report("test_decrypt");
}

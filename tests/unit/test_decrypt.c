/* Unit tests of ingest/decrypt.c: AES-256-CBC vectors made outside ehrbridge (Node's crypto
 * module: tests/integration/node/encrypt.js, and the openssl command line) decrypt, with a fixed
 * IV and with the IV in front of the ciphertext, to JSON and to XML; a missing key is refused
 * with a message of its own, and every other failure to decrypt or read (wrong key, truncated or
 * odd ciphertext, bad padding, a plaintext that does not read) with one and the same message, so
 * that no answer is a padding oracle (all 256 values of the last byte of the block before the
 * last); the data decoder hands ingest what it can read and records why it cannot. */
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
    CHECK_STR(e.msg, eb_decrypt_failure);
    free(p);
    /* truncated ciphertexts: a whole block missing, and a cut inside a block */
    key(&k, NULL);
    char truncated[sizeof V_NODE_PREFIXED];
    snprintf(truncated, sizeof truncated, "%.*s", (int)(sizeof V_NODE_PREFIXED - 1 - 32),
             V_NODE_PREFIXED);
    p = decrypt(&k, truncated, &rc, &e); /* one block short: the padding is gone */
    CHECK(rc == EB_ERR_INVALID);
    CHECK_STR(e.msg, eb_decrypt_failure);
    free(p);
    snprintf(truncated, sizeof truncated, "%.*s", (int)(sizeof V_NODE_PREFIXED - 1 - 6),
             V_NODE_PREFIXED);
    p = decrypt(&k, truncated, &rc, &e);
    CHECK(rc == EB_ERR_INVALID);
    CHECK_STR(e.msg, eb_decrypt_failure);
    free(p);
    p = decrypt(&k, "abc", &rc, &e);
    CHECK(rc == EB_ERR_INVALID);
    CHECK_STR(e.msg, eb_decrypt_failure);
    free(p);
    p = decrypt(&k, "00112233445566778899aabbccddeeff", &rc, &e); /* an IV and nothing else */
    CHECK(rc == EB_ERR_INVALID);
    CHECK_STR(e.msg, eb_decrypt_failure);
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
    CHECK_STR(d.msg, eb_decrypt_failure);
    free(p);
    /* decrypts, but to neither JSON nor XML */
    struct eb_aes k2;
    key(&k2, NULL);
    memcpy(k2.iv, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
    k2.has_iv = 1;
    eb_data_decoder_init(&d, &k2);
    p = decode(&d, V_NOT_DATA, &rc);
    CHECK(rc == EB_OK && d.failed);
    CHECK_STR(d.msg, eb_decrypt_failure);
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
    CHECK_STR(e.msg, eb_decrypt_failure);
    free(p);
}

/* Encrypts plain[0..n) with k's key (PKCS#7 padding), the IV in front, as hex into hex (at
 * least 2 * (n + 32) + 1 bytes); returns the number of ciphertext bytes, IV included. */
static size_t encrypt_prefixed(const struct eb_aes *k, const char *iv, const char *plain, size_t n,
                               char *hex)
{
    unsigned char ct[512];
    int n1 = 0, n2 = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, k->key, (const unsigned char *)iv);
    EVP_EncryptUpdate(c, ct + 16, &n1, (const unsigned char *)plain, (int)n);
    EVP_EncryptFinal_ex(c, ct + 16 + n1, &n2);
    EVP_CIPHER_CTX_free(c);
    memcpy(ct, iv, 16);
    size_t total = 16 + (size_t)n1 + (size_t)n2;
    for (size_t i = 0; i < total; i++)
        sprintf(hex + 2 * i, "%02x", ct[i]);
    return total;
}

/* 1 when the ciphertext hex (IV in front) decrypts under k to a valid PKCS#7 padding. */
static int padding_checks_out(const struct eb_aes *k, const char *hex)
{
    unsigned char bytes[512], plain[512];
    size_t n = strlen(hex) / 2;
    int n1 = 0;
    for (size_t i = 0; i < n; i++)
        sscanf(hex + 2 * i, "%2hhx", &bytes[i]);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_DecryptInit_ex(c, EVP_aes_256_cbc(), NULL, k->key, bytes);
    EVP_CIPHER_CTX_set_padding(c, 0);
    EVP_DecryptUpdate(c, plain, &n1, bytes + 16, (int)(n - 16));
    EVP_CIPHER_CTX_free(c);
    unsigned pad = plain[n1 - 1];
    if (pad < 1 || pad > 16)
        return 0;
    for (unsigned i = 1; i <= pad; i++)
        if (plain[n1 - i] != pad)
            return 0;
    return 1;
}

/* The padding oracle: an attacker who holds one ciphertext of a real push sets the last byte of
 * the block before the last to each of its 256 values. One value is the original (the push
 * reads); for every other one, bad padding and good padding over a plaintext that no longer
 * parses alike, the decoder must say the same thing, or the answers tell the plaintext byte by
 * byte. The plaintext is chosen with 4 bytes of padding, so that exactly one variation ends in a
 * valid 0x01 pad (checked here with OpenSSL, so the test covers that case). */
static void test_one_message_over_the_last_block(void)
{
    struct eb_aes k;
    struct eb_data_decoder d;
    const char plain[] = "{\"applicationId\":424242,\"name\":\"N1\",\"x\":\"0123456789abcdefg\"}";
    char hex[2 * 512 + 1], msg[256] = "";
    size_t n = sizeof plain - 1;
    CHECK(n % 16 == 12); /* 4 bytes of padding */
    key(&k, NULL);
    size_t total = encrypt_prefixed(&k, IV_TEXT, plain, n, hex);
    size_t at = total - 17; /* the last byte of the block before the last */
    unsigned orig = 0;
    sscanf(hex + 2 * at, "%2x", &orig);
    int failures = 0, same = 0, read = 0, valid_pad = 0;
    for (unsigned v = 0; v < 256; v++) {
        char var[sizeof hex], byte[3];
        memcpy(var, hex, sizeof var);
        snprintf(byte, sizeof byte, "%02x", v);
        memcpy(var + 2 * at, byte, 2);
        if (v != orig && padding_checks_out(&k, var))
            valid_pad++;
        eb_rc rc;
        eb_data_decoder_init(&d, &k);
        char *p = decode(&d, var, &rc);
        CHECK(rc == EB_OK);
        if (!d.failed) {
            read++;
            CHECK(v == orig && strstr(p, "424242") != NULL);
        } else {
            failures++;
            CHECK(!strcmp(p, "") && !d.decrypted);
            if (!msg[0])
                snprintf(msg, sizeof msg, "%s", d.msg);
            if (!strcmp(msg, d.msg))
                same++;
            else
                fprintf(stderr, "variation %02x: \"%s\" differs from \"%s\"\n", v, d.msg, msg);
        }
        free(p);
    }
    CHECK(valid_pad >= 1);
    CHECK(read == 1 && failures == 255);
    CHECK(same == 255);
    CHECK_STR(msg, eb_decrypt_failure);

    /* the same over the path of the interview events: decrypt, then parse as JSON */
    failures = same = read = 0;
    for (unsigned v = 0; v < 256; v++) {
        char var[sizeof hex], byte[3];
        struct eb_err e;
        json_t *j = NULL;
        memcpy(var, hex, sizeof var);
        snprintf(byte, sizeof byte, "%02x", v);
        memcpy(var + 2 * at, byte, 2);
        eb_err_clear(&e);
        eb_rc rc = eb_decrypt_json(&k, var, strlen(var), &j, &e);
        if (rc == EB_OK) {
            read++;
            CHECK(v == orig && json_is_object(j));
        } else {
            failures++;
            CHECK(rc == EB_ERR_INVALID && j == NULL);
            same += !strcmp(e.msg, eb_decrypt_failure);
        }
        json_decref(j);
    }
    CHECK(read == 1 && failures == 255 && same == 255);
}

/* Every way encrypted data can fail to decrypt or read gives the decoder's one message, and
 * eb_decrypt_json's: odd, cut and short ciphertexts, a wrong key, and plaintexts that decrypt
 * but do not read (not JSON or XML, JSON that does not parse or is not an object, XML that is
 * not well-formed or has a DTD, invalid UTF-8, nothing at all). */
static void test_every_failure_one_message(void)
{
    struct eb_aes k, wrong;
    char hex[2 * 512 + 1];
    key(&k, NULL);
    wrong = k;
    wrong.key[5] ^= 0x20;
    static const char *const plains[] = {
        "hello, not json",
        "{\"applicationId\": 9, \"name\": \"secret-name\",}",
        "[1, 2]",
        "{\"applicationId\": \"\xff\"}",
        "<applicationId>9</applicationId><name>secret-name</nam>",
        "<!DOCTYPE d [<!ENTITY e \"x\">]><name>&e;</name>",
        "<applicationId>\xc3</applicationId>",
        "",
    };
    int n_cases = 0, one = 0, one_json = 0;
    for (size_t i = 0; i < sizeof plains / sizeof plains[0] + 4; i++) {
        const struct eb_aes *kk = &k;
        if (i < sizeof plains / sizeof plains[0]) {
            encrypt_prefixed(&k, IV_TEXT, plains[i], strlen(plains[i]), hex);
        } else {
            encrypt_prefixed(&k, IV_TEXT, "{\"applicationId\":1}", 19, hex);
            size_t n = strlen(hex);
            switch (i - sizeof plains / sizeof plains[0]) {
            case 0:
                hex[n - 1] = '\0';
                break; /* odd */
            case 1:
                hex[n - 6] = '\0';
                break; /* not whole blocks */
            case 2:
                hex[32] = '\0';
                break; /* the IV alone */
            default:
                kk = &wrong;
                break; /* the wrong key */
            }
        }
        struct eb_data_decoder d;
        eb_rc rc;
        eb_data_decoder_init(&d, kk);
        char *p = decode(&d, hex, &rc);
        n_cases++;
        one += rc == EB_OK && d.failed && !d.decrypted && !strcmp(p, "") &&
               !strcmp(d.msg, eb_decrypt_failure);
        if (!(d.failed && !strcmp(d.msg, eb_decrypt_failure)))
            fprintf(stderr, "case %zu: \"%s\"\n", i, d.msg);
        free(p);
        struct eb_err e;
        json_t *j = NULL;
        eb_err_clear(&e);
        one_json += eb_decrypt_json(kk, hex, strlen(hex), &j, &e) == EB_ERR_INVALID && !j &&
                    !strcmp(e.msg, eb_decrypt_failure);
        json_decref(j);
    }
    CHECK(one == n_cases);
    CHECK(one_json == n_cases);
    /* no value of the plaintext in the message */
    CHECK(strstr(eb_decrypt_failure, "secret") == NULL);

    /* what does read: XML with its declaration, and JSON */
    struct eb_data_decoder d;
    eb_rc rc;
    const char *xml = "<?xml version=\"1.0\"?> <applicationId>5</applicationId><name>A</name>";
    encrypt_prefixed(&k, IV_TEXT, xml, strlen(xml), hex);
    eb_data_decoder_init(&d, &k);
    char *p = decode(&d, hex, &rc);
    CHECK(rc == EB_OK && !d.failed && d.decrypted && strstr(p, "<applicationId>5") != NULL);
    free(p);
    struct eb_err e;
    json_t *j = NULL;
    encrypt_prefixed(&k, IV_TEXT, "{\"applicationId\":1}", 19, hex);
    CHECK(eb_decrypt_json(&k, hex, strlen(hex), &j, &e) == EB_OK && json_is_object(j));
    json_decref(j);
    CHECK(eb_decrypt_json(&k, "not hex", 7, &j, &e) == EB_ERR_NOT_PUSH && !j);
}

int main(void)
{
    test_vectors();
    test_refusals();
    test_garbage_with_valid_padding();
    test_decoder();
    test_through_ingest();
    test_one_message_over_the_last_block();
    test_every_failure_one_message();
    return check_report("test_decrypt");
}

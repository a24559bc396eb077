/* The vendor's "Data encryption": only the data field is encrypted, with AES-256-CBC, PKCS#7
 * padding, the ciphertext written in hex. With a configured IV the hex is the ciphertext;
 * without one its first 16 bytes are the IV. The plaintext is the candidate as JSON or as XML.
 * This module decrypts, and plugs into ingest's decoder hook (ingest.h) for data given as text:
 * hex is decrypted, JSON is converted (json.h), XML is handed back to ingest as it is. */
#ifndef EB_DECRYPT_H
#define EB_DECRYPT_H

#include <stddef.h>

#include <jansson.h>

#include "ingest/ingest.h"
#include "util/buf.h"
#include "util/err.h"

/* Key material. */
struct eb_aes {
    unsigned char key[32]; /* AES-256 key */
    unsigned char iv[16];  /* the fixed IV, when has_iv */
    int has_iv;            /* 0: the ciphertext starts with its IV */
};

/* 1 when text[0..len) is a non-empty run of hex digits (either case). */
int eb_decrypt_is_hex(const char *text, size_t len);

/* The one message for every failure to decrypt or read encrypted data: a ciphertext whose hex
 * has an odd number of digits, whose length is not a whole number of 16-byte blocks or too short
 * for the IV, whose padding does not check out, whose plaintext is neither UTF-8 JSON nor XML,
 * or whose plaintext does not parse or is not a candidate. The vendor's format has no MAC: a
 * different message (or status, or code path) for any of these would be a padding oracle that
 * recovers the plaintext byte by byte. */
extern const char eb_decrypt_failure[];

/* Decrypts the hex ciphertext text[0..len) (surrounding white space ignored) and appends the
 * plaintext to out. EB_ERR_NOT_PUSH when the text is not hex; EB_ERR_INVALID with
 * eb_decrypt_failure in err for every other failure (see there: no failure is told apart from
 * another); EB_ERR_NOMEM when out of memory. Whatever the ciphertext, once its length allows a
 * block it is decrypted whole, and the padding is checked without a branch on its bytes. The
 * plaintext is wiped from temporary memory. This checks the padding and that the plaintext
 * looks like JSON or XML, not that it parses: callers that read it use eb_decrypt_json or the
 * data decoder, which fail with the same message. */
eb_rc eb_decrypt_hex(const struct eb_aes *k, const char *text, size_t len, struct eb_buf *out,
                     struct eb_err *err);

/* Decrypts the hex ciphertext text[0..len) and parses the plaintext as a JSON object, on one
 * path: whether the padding checks out or not, the plaintext is parsed, and any failure (a
 * plaintext that is not an object included) gives EB_ERR_INVALID with eb_decrypt_failure
 * (EB_ERR_NOT_PUSH when the text is not hex, EB_ERR_NOMEM when out of memory). On EB_OK *out
 * holds the object (caller json_decref()s). */
eb_rc eb_decrypt_json(const struct eb_aes *k, const char *text, size_t len, json_t **out,
                      struct eb_err *err);

/* The decoder ingest calls for data text that is not XML. Pass &d->hook in
 * eb_ingest_opts.decoder. It never makes ingest fail: when the text is recognized but cannot
 * be used, it hands back no data, sets failed and msg, and the caller rejects the push with
 * that message, keeping the raw body. Ciphertext without a configured key: "data: looks
 * encrypted (hex) but no AES key is configured (--aes-key)". Ciphertext that cannot be
 * decrypted and read, whatever the reason (eb_decrypt_failure), on one path: the plaintext is
 * decrypted whole and read (JSON converted, XML parsed with ingest's parser inside a <data>
 * wrapper, with 8 levels of nesting kept for what surrounds data) whether its padding checked
 * out or not, and only then is the verdict taken. Plain JSON text that does not read: "data: "
 * and the reason (it holds no secret). Text that is neither hex nor JSON is not recognized
 * (ingest reports "data: neither XML nor a known encoding"). One decoder per request (it records
 * what happened). */
struct eb_data_decoder {
    struct eb_ingest_decoder hook; /* what ingest calls */
    const struct eb_aes *aes;      /* the key; NULL when none is configured */
    int decrypted;                 /* 1 when data was encrypted, decrypted and read */
    int failed;                    /* 1 when data was recognized but unusable */
    char msg[256];                 /* with failed: why, naming no value */
};

/* Prepares d (aes NULL: encrypted data is refused with a message). */
void eb_data_decoder_init(struct eb_data_decoder *d, const struct eb_aes *aes);

#endif

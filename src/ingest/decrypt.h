/* The vendor's "Data encryption": only the data field is encrypted, with AES-256-CBC, PKCS#7
 * padding, the ciphertext written in hex. With a configured IV the hex is the ciphertext;
 * without one its first 16 bytes are the IV. The plaintext is the candidate as JSON or as XML.
 * This module decrypts, and plugs into ingest's decoder hook (ingest.h) for data given as text:
 * hex is decrypted, JSON is converted (json.h), XML is handed back to ingest as it is. */
#ifndef EB_DECRYPT_H
#define EB_DECRYPT_H

#include <stddef.h>

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

/* Decrypts the hex ciphertext text[0..len) (surrounding white space ignored) and appends the
 * plaintext to out. EB_ERR_NOT_PUSH when the text is not hex; EB_ERR_INVALID with a message
 * saying what is wrong: an odd number of digits, a length that is not a whole number of
 * 16-byte blocks (a truncated ciphertext), too short to hold the IV, or a padding that does not
 * check out (the usual sign of a wrong key or IV). EB_ERR_NOMEM, EB_ERR_TOO_LARGE from out. The
 * plaintext is wiped from temporary memory. */
eb_rc eb_decrypt_hex(const struct eb_aes *k, const char *text, size_t len, struct eb_buf *out,
                     struct eb_err *err);

/* The decoder ingest calls for data text that is not XML. Pass &d->hook in
 * eb_ingest_opts.decoder. It never makes ingest fail: when the text is recognized but cannot
 * be used (ciphertext without a key, wrong key or padding, truncated ciphertext, plaintext that
 * is neither JSON nor XML, JSON that is not a candidate object), it hands back no data, sets
 * failed and msg ("data: ..."), and the caller rejects the push with that message, keeping the
 * raw body. Text that is neither hex nor JSON is not recognized (ingest reports "data: neither
 * XML nor a known encoding"). One decoder per request (it records what happened). */
struct eb_data_decoder {
    struct eb_ingest_decoder hook; /* what ingest calls */
    const struct eb_aes *aes;      /* the key; NULL when none is configured */
    int decrypted;                 /* 1 when data was encrypted and decrypted */
    int failed;                    /* 1 when data was recognized but unusable */
    char msg[256];                 /* with failed: why, naming no value */
};

/* Prepares d (aes NULL: encrypted data is refused with a message). */
void eb_data_decoder_init(struct eb_data_decoder *d, const struct eb_aes *aes);

#endif

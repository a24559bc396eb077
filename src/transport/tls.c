/* TLS with OpenSSL for the event loop (see tls.h): the server context and its policy, the
 * SIGHUP reload, and the non-blocking handshake, read and write the loop calls through
 * conn_recv()/conn_send().
 *
 * Policy: TLS 1.2 and 1.3 only; TLS 1.2 offers only ECDHE key exchange with AES-GCM or
 * ChaCha20-Poly1305 (forward secrecy, AEAD), TLS 1.3 its three AEAD suites; the server's order
 * wins; no renegotiation, no compression; key shares X25519, P-256, P-384. With a client CA the
 * handshake fails for a client that sends no certificate or one the CA did not sign. The system
 * OpenSSL configuration cannot widen this: every setting is made explicitly here. */
#include "transport/tls.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

const char eb_tls_ciphers12[] = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
const char eb_tls_suites13[] =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

struct eb_tls {
    const struct eb_config *cfg; /* the file names, re-read on reload */
    SSL_CTX *ctx;                /* the context new connections get */
    unsigned generation;         /* 1 + the number of successful reloads (for the log) */
};

/* The last OpenSSL error as text (library reason only: never key material). */
static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown OpenSSL error";
}

static eb_rc ctx_fail(SSL_CTX *ctx, struct eb_err *err, const char *what, const char *file)
{
    eb_rc rc = eb_err_set(err, EB_ERR_CONFIG, "tls: %s %.200s: %s", what, file, ossl_reason());
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return rc;
}

/* The policy every server context gets. */
static int apply_policy(SSL_CTX *ctx)
{
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
           SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
           SSL_CTX_set_cipher_list(ctx, eb_tls_ciphers12) == 1 &&
           SSL_CTX_set_ciphersuites(ctx, eb_tls_suites13) == 1 &&
           SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") == 1;
}

static eb_rc build_ctx(const struct eb_config *cfg, SSL_CTX **out, struct eb_err *err)
{
    static const unsigned char sid_ctx[] = "ehrbridge";
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    *out = NULL;
    ERR_clear_error();
    if (!ctx)
        return eb_err_set(err, EB_ERR_NOMEM, "tls: cannot create a context: %s", ossl_reason());
    if (!apply_policy(ctx))
        return ctx_fail(ctx, err, "cannot apply the TLS policy", "");
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1)
        return ctx_fail(ctx, err, "cannot load the certificate", cfg->tls_cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
        unsigned long last = ERR_peek_last_error();
        const char *why = last && ERR_reason_error_string(last) ? ERR_reason_error_string(last)
                                                                : "unknown OpenSSL error";
        int mismatch = 0;
        for (unsigned long e; (e = ERR_get_error()) != 0;)
            mismatch |= ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
        if (mismatch)
            eb_err_set(err, EB_ERR_CONFIG,
                       "tls: the private key %.200s does not match the certificate %.200s",
                       cfg->tls_key, cfg->tls_cert);
        else
            eb_err_set(err, EB_ERR_CONFIG, "tls: cannot load the private key %.200s: %s",
                       cfg->tls_key, why);
        SSL_CTX_free(ctx);
        return EB_ERR_CONFIG;
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        return ctx_fail(ctx, err, "the private key does not match the certificate", cfg->tls_key);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    if (cfg->tls_client_ca[0]) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_client_ca);
        if (!names || SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            return ctx_fail(ctx, err, "cannot load the client CA", cfg->tls_client_ca);
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_verify_depth(ctx, 8);
    }
    *out = ctx;
    return EB_OK;
}

eb_rc eb_tls_new(const struct eb_config *cfg, struct eb_tls **out, struct eb_err *err)
{
    *out = NULL;
    if (!cfg->tls_cert[0])
        return EB_OK;
    struct eb_tls *t = calloc(1, sizeof *t);
    if (!t)
        return eb_err_set(err, EB_ERR_NOMEM, "tls: out of memory");
    t->cfg = cfg;
    eb_rc rc = build_ctx(cfg, &t->ctx, err);
    if (rc) {
        free(t);
        return rc;
    }
    t->generation = 1;
    *out = t;
    return EB_OK;
}

eb_rc eb_tls_reload(struct eb_tls *t, struct eb_err *err)
{
    SSL_CTX *ctx = NULL;
    eb_rc rc = build_ctx(t->cfg, &ctx, err);
    if (rc)
        return rc;
    SSL_CTX_free(t->ctx); /* freed for real when the last connection made from it is gone */
    t->ctx = ctx;
    t->generation++;
    return EB_OK;
}

void eb_tls_free(struct eb_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

SSL *eb_tls_conn_new(struct eb_tls *t, int fd)
{
    ERR_clear_error();
    SSL *ssl = SSL_new(t->ctx); /* holds a reference to the context */
    if (!ssl)
        return NULL;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

int eb_tls_handshake(SSL *ssl, enum eb_tls_want *want, char *why, size_t whysz)
{
    *want = EB_TLS_WANT_NONE;
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(ssl);
    if (r == 1)
        return 1;
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        *want = EB_TLS_WANT_READ;
        return 0;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        *want = EB_TLS_WANT_WRITE;
        return 0;
    }
    if (e == SSL_ERROR_SSL) {
        long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK)
            snprintf(why, whysz, "client certificate refused: %s",
                     X509_verify_cert_error_string(v));
        else
            snprintf(why, whysz, "%s", ossl_reason());
    } else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
        snprintf(why, whysz, "%s", errno ? strerror(errno) : "client closed during the handshake");
    } else {
        snprintf(why, whysz, "handshake error %d", e);
    }
    ERR_clear_error();
    return -1;
}

/* Maps a failed SSL_read/SSL_write to errno and *want. */
static ssize_t io_fail(SSL *ssl, int r, enum eb_tls_want *want, int is_write)
{
    int saved = errno;
    int e = SSL_get_error(ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *want = EB_TLS_WANT_READ;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        *want = EB_TLS_WANT_WRITE;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        if (!is_write)
            return 0; /* close_notify (or, with IGNORE_UNEXPECTED_EOF, a plain EOF) */
        errno = EPIPE;
        return -1;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (!is_write && saved == 0)
            return 0;
        errno = saved ? saved : EPIPE;
        return -1;
    default:
        ERR_clear_error();
        errno = EIO;
        return -1;
    }
}

ssize_t eb_tls_read(SSL *ssl, void *buf, size_t n, enum eb_tls_want *want)
{
    *want = EB_TLS_WANT_NONE;
    ERR_clear_error();
    errno = 0;
    int r = SSL_read(ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    return r > 0 ? r : io_fail(ssl, r, want, 0);
}

ssize_t eb_tls_write(SSL *ssl, const void *buf, size_t n, enum eb_tls_want *want)
{
    *want = EB_TLS_WANT_NONE;
    ERR_clear_error();
    errno = 0;
    int r = SSL_write(ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    return r > 0 ? r : io_fail(ssl, r, want, 1);
}

size_t eb_tls_pending(const SSL *ssl)
{
    int n = ssl ? SSL_pending(ssl) : 0;
    return n > 0 ? (size_t)n : 0;
}

void eb_tls_shutdown(SSL *ssl)
{
    if (!ssl || !SSL_is_init_finished(ssl))
        return;
    ERR_clear_error();
    SSL_shutdown(ssl);
    ERR_clear_error();
}

void eb_tls_conn_free(SSL *ssl)
{
    SSL_free(ssl);
}

void eb_tls_describe(const SSL *ssl, char *out, size_t outsz)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    snprintf(out, outsz, "%s %s", SSL_get_version(ssl), c ? SSL_CIPHER_get_name(c) : "-");
}

ssize_t eb_tls_health_exchange(int fd, const struct eb_config *cfg, const char *req, size_t reqlen,
                               char *answer, size_t cap, struct eb_err *err)
{
    ssize_t got = -1;
    SSL *ssl = NULL;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        eb_err_set(err, EB_ERR_NOMEM, "tls: cannot create a context");
        goto out;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* this host's own server */
    if (cfg->tls_client_ca[0] &&
        (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1)) {
        eb_err_set(err, EB_ERR_CONFIG, "tls: cannot load the client certificate: %s",
                   ossl_reason());
        goto out;
    }
    if (!(ssl = SSL_new(ctx)) || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
        eb_err_set(err, EB_ERR_UNAVAILABLE, "tls: handshake failed: %s", ossl_reason());
        goto out;
    }
    if (SSL_write(ssl, req, (int)reqlen) != (int)reqlen) {
        eb_err_set(err, EB_ERR_UNAVAILABLE, "tls: cannot send the request");
        goto out;
    }
    got = 0;
    while ((size_t)got + 1 < cap && !memchr(answer, '\n', (size_t)got)) {
        int n = SSL_read(ssl, answer + got, (int)(cap - 1 - (size_t)got));
        if (n <= 0)
            break;
        got += n;
    }
    answer[got] = '\0';
out:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return got;
}

/* TLS for the event loop (OpenSSL): the server context (TLS 1.2 and 1.3 only, forward-secret
 * AEAD ciphers only, optional client-certificate verification), its reload on SIGHUP, and
 * non-blocking handshake, read and write on one connection. Everything here runs on the event
 * loop thread; workers never see TLS. A reload builds a new SSL_CTX and swaps it in for new
 * connections; an open connection keeps the context it was made from (OpenSSL counts the
 * references), so no push in flight is dropped. */
#ifndef EB_TLS_H
#define EB_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "util/err.h"

struct ssl_st; /* OpenSSL's SSL */
struct eb_tls;

/* The TLS 1.2 cipher list and the TLS 1.3 suites the server offers (ECDHE with AES-GCM or
 * ChaCha20-Poly1305; the three TLS 1.3 AEAD suites). */
extern const char eb_tls_ciphers12[];
extern const char eb_tls_suites13[];

/* Loads cfg->tls_cert, cfg->tls_key and cfg->tls_client_ca (when set) into a server context.
 * *out is NULL (and EB_OK is returned) when cfg has no certificate: plain HTTP. EB_ERR_CONFIG
 * with a message naming the file that cannot be used. cfg must outlive the result (the paths are
 * re-read by eb_tls_reload). Caller frees with eb_tls_free(). */
eb_rc eb_tls_new(const struct eb_config *cfg, struct eb_tls **out, struct eb_err *err);

/* Re-reads the certificate, key and client CA files into a new context that new connections
 * use from now on. On failure the current context stays in use and err says why. */
eb_rc eb_tls_reload(struct eb_tls *t, struct eb_err *err);

/* Drops the server's reference to its context (connections keep theirs) and frees t. NULL-safe. */
void eb_tls_free(struct eb_tls *t);

/* A new server-side TLS connection on socket fd with the current context, not yet shaken
 * hands. NULL when OpenSSL fails. Free with eb_tls_conn_free(). */
struct ssl_st *eb_tls_conn_new(struct eb_tls *t, int fd);

/* What a non-blocking TLS call waits for. */
enum eb_tls_want { EB_TLS_WANT_NONE = 0, EB_TLS_WANT_READ, EB_TLS_WANT_WRITE };

/* Advances the handshake: 1 done, 0 not yet (*want says on what to wait), -1 failed (why holds
 * one line for the log: "no shared cipher", "peer did not return a certificate", ...). */
int eb_tls_handshake(struct ssl_st *ssl, enum eb_tls_want *want, char *why, size_t whysz);

/* Like recv(2): bytes read (> 0), 0 when the peer closed, -1 with errno EAGAIN (and *want
 * set) when the call must be repeated on readiness, -1 with errno EIO on a TLS error. */
ssize_t eb_tls_read(struct ssl_st *ssl, void *buf, size_t n, enum eb_tls_want *want);

/* Like send(2) of n > 0 bytes: bytes written (> 0; may be fewer than n), or -1 with errno
 * EAGAIN (*want set; repeat with the same bytes) or EPIPE/EIO. */
ssize_t eb_tls_write(struct ssl_st *ssl, const void *buf, size_t n, enum eb_tls_want *want);

/* Decrypted bytes buffered inside the connection, which epoll cannot see. */
size_t eb_tls_pending(const struct ssl_st *ssl);

/* Sends close_notify, best effort, without blocking. */
void eb_tls_shutdown(struct ssl_st *ssl);

/* Frees a connection (NULL-safe); does not close the socket. */
void eb_tls_conn_free(struct ssl_st *ssl);

/* The protocol and cipher of a finished handshake ("TLSv1.3 TLS_AES_256_GCM_SHA384") into
 * out, for the log. */
void eb_tls_describe(const struct ssl_st *ssl, char *out, size_t outsz);

/* `ehrbridge health` over HTTPS: on connected blocking socket fd (with timeouts set), shakes
 * hands without verifying the server (it is this host), presenting cfg's own certificate when
 * mTLS is on, sends req[0..reqlen) and reads at most cap-1 bytes of the answer into answer
 * (NUL-terminated). Returns the bytes read, or -1 with err set. */
ssize_t eb_tls_health_exchange(int fd, const struct eb_config *cfg, const char *req, size_t reqlen,
                               char *answer, size_t cap, struct eb_err *err);

#endif

/* Configuration: defaults < config file (--config FILE) < environment (EHRBRIDGE_*) < flags. */
#ifndef EB_CONFIG_H
#define EB_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "util/err.h"
#include "util/log.h"

struct eb_config {
    char listen_host[256];         /* --listen HOST:PORT, EHRBRIDGE_LISTEN, listen; "0.0.0.0" */
    int listen_port;               /* 8080 */
    char db_url[1024];             /* --db URL, EHRBRIDGE_DB, db; "sqlite:ehrbridge.db" */
    int db_wait_ms;                /* --db-wait SECONDS: at start, how long serve waits for a
                                     database it cannot reach yet; 0 (default) = not at all */
    char public_url[1024];         /* --public-url, EHRBRIDGE_PUBLIC_URL, public_url: the URL Moka
                                     calls, written into the served WSDL; "" = derived from the
                                     request's Host header */
    size_t max_body;               /* --max-body BYTES: 8 MiB; over it: 413 */
    size_t max_header;             /* --max-header BYTES: 16 KiB for the request line + headers */
    size_t max_buffered;           /* --max-buffered BYTES: request bodies in memory, all
                                     connections together; at least max_body; 0 (the default):
                                     64 MiB, or max_body when that is larger */
    int request_timeout_ms;        /* --request-timeout SECONDS: 30 s to receive one request */
    int keepalive_timeout_ms;      /* --keepalive-timeout SECONDS: 15 s idle between requests */
    int workers;                   /* --workers N: 2 x cores, at least 4 */
    int workers_auto;              /* 1: not configured (eb_service_auto_workers may lower it) */
    int max_connections;           /* --max-connections N: 1024 */
    int max_connections_per_peer;  /* --max-connections-per-peer N: 256 */
    enum eb_log_level log_level;   /* --log-level debug|info|warn|error: info */
    enum eb_log_format log_format; /* --log-format text|json: text */
    char config_file[1024];        /* --config FILE, EHRBRIDGE_CONFIG; "" = none */
    /* Security and REST mode (docs/security.md). Secrets are never written to logs or
     * messages; the *_file settings read them from the file's content. "" = not configured. */
    char tls_cert[1024];        /* --tls-cert FILE: PEM certificate chain; with tls_key: HTTPS */
    char tls_key[1024];         /* --tls-key FILE: PEM private key of tls_cert */
    char tls_client_ca[1024];   /* --tls-client-ca FILE: PEM CAs; clients must present a
                                     certificate they signed (mTLS) */
    char bearer_token[1024];    /* --bearer-token / --bearer-token-file: Authorization: Bearer */
    char sign_key[1024];        /* --sign-key / --sign-key-file: the vendor's signing key */
    char basic_user[256];       /* --basic-user: HTTP Basic user name */
    char basic_password[256];   /* --basic-password / --basic-password-file */
    char allow[4096];           /* --allow CIDR,...: source addresses allowed to push */
    char trusted_proxy[4096];   /* --trusted-proxy CIDR,...: peers whose X-Forwarded-For counts */
    unsigned char aes_key[32];  /* --aes-key / --aes-key-file: AES-256 key (decoded) */
    int has_aes_key;            /* 1 when aes_key is set */
    unsigned char aes_iv[16];   /* --aes-iv: fixed IV (decoded) */
    int has_aes_iv;             /* 1 when aes_iv is set; else the ciphertext starts with it */
    char redirect_pc_url[1024]; /* --redirect-pc-url TEMPLATE: REST answer redirectUrl.pcUrl */
    char redirect_mobile_url[1024]; /* --redirect-mobile-url TEMPLATE: redirectUrl.mobileUrl */
    int max_age_s;                  /* --max-age SECONDS: oldest triggeredAt accepted; 0 = off */
    char timezone[128];             /* --timezone ZONE: the EHR's time zone (IANA); "" = UTC */
    char mapping[1024];             /* --mapping FILE: write candidates into the tables a mapping
                                     file names (mapping/mapping.h); "" = the default schema */
    /* The operator's admin listener (admin/admin.h); off while admin_listen_port is 0. */
    char admin_listen_host[256]; /* --admin-listen HOST:PORT: the host part */
    int admin_listen_port;       /* its port; 0 = no admin listener */
    char admin_user[256];        /* --admin-user: HTTP Basic user of the operators */
    char admin_password[256];    /* --admin-password-file: their password */
    char admin_allow[4096];      /* --admin-allow CIDR,...: sources that may reach the listener */
    int retention_days;          /* --retention DAYS: purge payloads older than that; 0 = off */
    char admin_host[1024];       /* --admin-host NAME,...: Host names accepted besides the
                                    listener's own address */
    /* The archive of the record's download links (archive/archive.h). */
    char attachments[1100]; /* --attachments db|off|dir:PATH: where fetched files go ("db") */
    char fetch_allow[4096]; /* --fetch-allow PATTERN,...: scheme://host[:port], *.domain */
    char fetch_proxy[1024]; /* --fetch-proxy URL: the proxy fetches go through; "" = none */
    char fetch_ca[1024];    /* --fetch-ca FILE: PEM CAs trusted beside the system's */
    size_t max_attachment;  /* --max-attachment BYTES: 64 MiB; larger files are not kept */
    int fetch_timeout_ms;   /* --fetch-timeout SECONDS: 300 s for one whole download */
};

/* Fills c with the defaults. */
void eb_config_defaults(struct eb_config *c);

/* Fills c from, in increasing precedence: the defaults, the config file (--config FILE, else
 * EHRBRIDGE_CONFIG), the environment envp (EHRBRIDGE_LISTEN, EHRBRIDGE_DB, ... for every file
 * key; empty values are ignored; envp may be NULL), then the flags argv[0..argc) ("--key VALUE"
 * or "--key=VALUE"). Options end at "--" or at the first argument that is not an option: its
 * index goes to *argi_out; with argi_out NULL such an argument is an error. Every value is
 * validated; on failure returns EB_ERR_CONFIG with err->msg one line naming the setting and
 * its source ("--listen: port must be 1-65535 (got \"99999\")", "config file F line 3:
 * unknown key \"lisen\""), never repeating a database URL. c owns no memory. */
eb_rc eb_config_load(struct eb_config *c, int argc, char **argv, char **envp, int *argi_out,
                     struct eb_err *err);

/* Writes the options section of --help (every flag, its environment variable and file key,
 * and the config file format) to out. */
void eb_config_usage(FILE *out);

/* 1 when host (a configured listen host) names the loopback interface only ("127.x.y.z",
 * "::1", "localhost"). */
int eb_config_is_loopback(const char *host);

/* Writes "HOST:PORT" ("[V6]:PORT" for IPv6) of c's listen address into out (n bytes). */
void eb_config_listen_text(const struct eb_config *c, char *out, size_t n);

#endif

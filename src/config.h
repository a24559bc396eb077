/* Configuration: defaults < config file (--config FILE) < environment (EHRBRIDGE_*) < flags. */
#ifndef EB_CONFIG_H
#define EB_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "util/err.h"
#include "util/log.h"

struct eb_config {
    char listen_host[256];        /* --listen HOST:PORT, EHRBRIDGE_LISTEN, listen; "0.0.0.0" */
    int listen_port;              /* 8080 */
    char db_url[1024];            /* --db URL, EHRBRIDGE_DB, db; "sqlite:ehrbridge.db" */
    char public_url[1024];        /* --public-url, EHRBRIDGE_PUBLIC_URL, public_url: the URL Moka
                                     calls, written into the served WSDL; "" = derived from the
                                     request's Host header */
    size_t max_body;              /* --max-body BYTES: 8 MiB; over it: 413 */
    size_t max_header;            /* --max-header BYTES: 16 KiB for the request line + headers */
    int request_timeout_ms;       /* --request-timeout SECONDS: 30 s to receive one request */
    int keepalive_timeout_ms;     /* --keepalive-timeout SECONDS: 15 s idle between requests */
    int workers;                  /* --workers N: 2 x cores, at least 4 */
    int max_connections;          /* --max-connections N: 1024 */
    int max_connections_per_peer; /* --max-connections-per-peer N: 256 */
    enum eb_log_level log_level;  /* --log-level debug|info|warn|error: info */
    enum eb_log_format log_format; /* --log-format text|json: text */
    char config_file[1024];       /* --config FILE, EHRBRIDGE_CONFIG; "" = none */
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

/* Writes "HOST:PORT" ("[V6]:PORT" for IPv6) of c's listen address into out (n bytes). */
void eb_config_listen_text(const struct eb_config *c, char *out, size_t n);

#endif

/* What the two files of the configuration share: the settings table (config.c: the defaults,
 * each setting's parser, the table) and the loader that reads it (config_load.c: the file, the
 * environment, the flags). Internal to the configuration; the interface is config.h. */
#ifndef EB_CONFIG_INT_H
#define EB_CONFIG_INT_H

#include <stddef.h>

#include "config.h"
#include "util/err.h"

typedef eb_rc (*setter)(struct eb_config *c, const char *v, const char *src, struct eb_err *err);

/* One setting: file key `key`, flag --key (with '-' for '_'), environment EHRBRIDGE_KEY. */
struct setting {
    const char *key;  /* "max_body" */
    const char *arg;  /* placeholder in --help: "BYTES" */
    const char *help; /* one line for --help, with the default */
    setter set;
};

/* The settings, in --help order, and how many there are. */
extern const struct setting eb_config_settings[];
extern const size_t eb_config_n_settings;

/* The settings that only make sense together, once every source is read: EB_ERR_CONFIG naming
 * them ("--tls-cert and --tls-key must be given together", "--aes-iv needs --aes-key", ...). */
eb_rc eb_config_check_security(const struct eb_config *c, struct eb_err *err);

#endif

/* Where the settings come from (config.h): the configuration file, the environment and the
 * command line, in that order of strength (flag > environment > file > default), each value
 * handed to its setting's parser (config.c); and --help's list of them. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_int.h"

static void flag_name(const struct setting *s, char *out, size_t n)
{
    snprintf(out, n, "--%s", s->key);
    for (char *p = out + 2; *p; p++)
        if (*p == '_')
            *p = '-';
}

static void env_name(const struct setting *s, char *out, size_t n)
{
    snprintf(out, n, "EHRBRIDGE_%s", s->key);
    for (char *p = out; *p; p++)
        *p = (char)toupper((unsigned char)*p);
}

/* The setting named name (file key, or flag name without "--"; '-' and '_' are the same). */
static const struct setting *find_setting(const char *name, size_t len)
{
    for (size_t i = 0; i < eb_config_n_settings; i++) {
        const char *k = eb_config_settings[i].key;
        size_t j = 0;
        for (; j < len && k[j]; j++)
            if (k[j] != name[j] && !(k[j] == '_' && name[j] == '-'))
                break;
        if (j == len && !k[j])
            return &eb_config_settings[i];
    }
    return NULL;
}

static const char *env_get(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (; envp && *envp; envp++)
        if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static eb_rc load_file(struct eb_config *c, const char *path, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return eb_err_set(err, EB_ERR_CONFIG, "config file %.200s: cannot open: %s", path,
                          strerror(errno));
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = eb_err_set(err, EB_ERR_CONFIG, "config file %.200s line %d: expected key = value",
                            path, lineno);
            goto out;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        size_t vlen = strlen(value);
        if (vlen >= 2 && (value[0] == '"' || value[0] == '\'') && value[vlen - 1] == value[0]) {
            value[vlen - 1] = '\0';
            value++;
        }
        const struct setting *st = find_setting(key, strlen(key));
        if (!st) {
            rc = eb_err_set(err, EB_ERR_CONFIG, "config file %.200s line %d: unknown key \"%.60s\"",
                            path, lineno, key);
            goto out;
        }
        char src[300];
        snprintf(src, sizeof src, "config file %.200s line %d: %s", path, lineno, st->key);
        rc = st->set(c, value, src, err);
        if (rc)
            goto out;
    }
    if (ferror(f))
        rc = eb_err_set(err, EB_ERR_CONFIG, "config file %.200s: read error", path);
out:
    free(line);
    fclose(f);
    return rc;
}

eb_rc eb_config_load(struct eb_config *c, int argc, char **argv, char **envp, int *argi_out,
                     struct eb_err *err)
{
    eb_rc rc = EB_OK;
    struct flag {
        const struct setting *s;
        const char *value;
    } *flags = NULL;
    size_t n_flags = 0;
    const char *config_path = NULL;
    int i = 0;
    eb_config_defaults(c);
    if (argc > 0) {
        flags = calloc((size_t)argc, sizeof *flags);
        if (!flags)
            return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    }
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || !a[1])
            break; /* the first argument that is not an option */
        if (a[1] != '-') {
            rc = eb_err_set(err, EB_ERR_CONFIG, "unknown option \"%.60s\" (see --help)", a);
            goto out;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct setting *st = find_setting(name, len);
        int is_config = len == 6 && !strncmp(name, "config", 6);
        if (!st && !is_config) {
            rc = eb_err_set(err, EB_ERR_CONFIG, "unknown option \"--%.*s\" (see --help)",
                            (int)(len > 60 ? 60 : len), name);
            goto out;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)) {
                rc = eb_err_set(err, EB_ERR_CONFIG, "--%.*s: missing value", (int)len, name);
                goto out;
            }
            value = argv[++i];
        }
        if (is_config) {
            config_path = value;
        } else {
            flags[n_flags].s = st;
            flags[n_flags].value = value;
            n_flags++;
        }
    }
    if (i < argc && !argi_out) {
        rc = eb_err_set(err, EB_ERR_CONFIG, "unexpected argument \"%.60s\"", argv[i]);
        goto out;
    }
    if (argi_out)
        *argi_out = i;

    /* file < environment < flags */
    if (!config_path) {
        config_path = env_get(envp, "EHRBRIDGE_CONFIG");
        if (config_path && !*config_path)
            config_path = NULL;
    }
    if (config_path) {
        if (strlen(config_path) >= sizeof c->config_file) {
            rc = eb_err_set(err, EB_ERR_CONFIG, "--config: path too long");
            goto out;
        }
        snprintf(c->config_file, sizeof c->config_file, "%s", config_path);
        rc = load_file(c, config_path, err);
        if (rc)
            goto out;
    }
    for (size_t k = 0; k < eb_config_n_settings; k++) {
        char name[64];
        env_name(&eb_config_settings[k], name, sizeof name);
        const char *v = env_get(envp, name);
        if (v && *v && (rc = eb_config_settings[k].set(c, v, name, err)))
            goto out;
    }
    for (size_t k = 0; k < n_flags; k++) {
        char name[64];
        flag_name(flags[k].s, name, sizeof name);
        if ((rc = flags[k].s->set(c, flags[k].value, name, err)))
            goto out;
    }
    rc = eb_config_check_security(c, err);
out:
    free(flags);
    return rc;
}

void eb_config_usage(FILE *out)
{
    fprintf(out, "Options (precedence: flag > environment > config file > default):\n");
    fprintf(out, "  --config FILE\n      the config file; environment EHRBRIDGE_CONFIG\n");
    for (size_t i = 0; i < eb_config_n_settings; i++) {
        char flag[64], env[64], left[96];
        flag_name(&eb_config_settings[i], flag, sizeof flag);
        env_name(&eb_config_settings[i], env, sizeof env);
        snprintf(left, sizeof left, "%s %s", flag, eb_config_settings[i].arg);
        fprintf(out, "  %s\n      %s\n      environment %s, file key %s\n", left,
                eb_config_settings[i].help, env, eb_config_settings[i].key);
    }
    fprintf(out,
            "\nConfig file: one \"key = value\" per line (keys as above; '-' and '_' are the\n"
            "same); lines starting with # are comments; a value may be quoted. Sizes take K, M\n"
            "or G suffixes (powers of 1024); timeouts are seconds, or a number with ms, s or m.\n"
            "Empty environment variables are ignored.\n");
}

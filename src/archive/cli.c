/* `ehrbridge attachments`: lists the attachment table and writes one stored file out
 * (archive/archive.h). The URL is printed without its query (the signature), and the last
 * column says "purged" once --retention removed the content; the file is
 * written to a temporary name, its SHA-256 checked, then renamed. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "archive/archive.h"
#include "archive/policy.h"
#include "config.h"
#include "util/log.h"

struct out {
    FILE *f;
    EVP_MD_CTX *md;
    int64_t size;
};

static int put(void *user, const void *data, size_t len)
{
    struct out *o = user;
    o->size += (int64_t)len;
    return EVP_DigestUpdate(o->md, data, len) != 1 || fwrite(data, 1, len, o->f) != len;
}

static int print_row(void *user, const struct eb_att_row *r)
{
    char safe[1024], size[24] = "-";
    (void)user;
    eb_archive_url_safe(r->url ? r->url : "", safe, sizeof safe);
    if (r->size >= 0)
        snprintf(size, sizeof size, "%lld", (long long)r->size);
    printf("%lld\t%s\t%d\t%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)r->id,
           eb_att_status_name(r->status), r->attempts, (long long)r->application_id,
           r->field ? r->field : "", size, r->sha256 ? r->sha256 : "-",
           r->content_type ? r->content_type : "-", r->file_name ? r->file_name : "-", safe,
           r->error ? r->error : "-", r->purged ? "purged" : "-");
    return 0;
}

struct found {
    int n, purged;
    enum eb_att_status status;
    char sha256[65];
};

static int keep_row(void *user, const struct eb_att_row *r)
{
    struct found *f = user;
    f->n++;
    f->status = r->status;
    f->purged = r->purged;
    snprintf(f->sha256, sizeof f->sha256, "%s", r->sha256 ? r->sha256 : "");
    return 0;
}

/* Copies a content-addressed file (dir:PATH) through put(). */
static eb_rc copy_file(const char *dir, const char *sha, struct out *o, struct eb_err *err)
{
    char path[1200], buf[65536];
    snprintf(path, sizeof path, "%s/%s", dir, sha);
    FILE *in = fopen(path, "rb");
    if (!in)
        return eb_err_set(err, EB_ERR_INVALID, "cannot open %.900s: %s", path, strerror(errno));
    size_t n;
    eb_rc rc = EB_OK;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (put(o, buf, n))
            rc = eb_err_set(err, EB_ERR_INTERNAL, "cannot write: %s", strerror(errno));
    if (!rc && ferror(in))
        rc = eb_err_set(err, EB_ERR_INTERNAL, "cannot read %.900s", path);
    fclose(in);
    return rc;
}

static int get(const struct eb_config *cfg, struct eb_adapter *db, int64_t id, const char *file)
{
    struct eb_err err = {EB_OK, ""};
    struct found fd = {0};
    struct eb_att_filter flt = {.status = -1, .id = id};
    if (eb_adapter_att_list(db, &flt, keep_row, &fd, &err)) {
        fprintf(stderr, "ehrbridge: attachments: %s\n", err.msg);
        return 1;
    }
    if (fd.purged) {
        fprintf(stderr,
                "ehrbridge: attachments: %lld was purged (--retention); its SHA-256 was %s\n",
                (long long)id, fd.sha256);
        return 1;
    }
    if (!fd.n || fd.status != EB_ATT_STORED) {
        fprintf(stderr, "ehrbridge: attachments: %lld is %s\n", (long long)id,
                fd.n ? eb_att_status_name(fd.status) : "not in table attachment");
        return 1;
    }
    int to_stdout = !strcmp(file, "-");
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.part", file);
    struct out o = {to_stdout ? stdout : fopen(tmp, "wb"), EVP_MD_CTX_new(), 0};
    if (!o.f || !o.md || EVP_DigestInit_ex(o.md, EVP_sha256(), NULL) != 1) {
        fprintf(stderr, "ehrbridge: attachments: cannot write %s: %s\n", tmp, strerror(errno));
        if (o.f && !to_stdout)
            fclose(o.f);
        EVP_MD_CTX_free(o.md);
        return 1;
    }
    eb_rc rc = eb_adapter_att_read(db, id, put, &o, &err);
    if (rc == EB_ERR_INVALID && !strncmp(cfg->attachments, "dir:", 4))
        rc = copy_file(cfg->attachments + 4, fd.sha256, &o, &err);
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    char hex[65] = "";
    if (!rc && EVP_DigestFinal_ex(o.md, dg, &dn) == 1)
        for (unsigned i = 0; i < dn && i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", dg[i]);
    if (!rc && strcmp(hex, fd.sha256))
        rc = eb_err_set(&err, EB_ERR_DB, "the content read does not match its SHA-256");
    int ok = fflush(o.f) == 0 && (to_stdout || fsync(fileno(o.f)) == 0);
    if (!to_stdout)
        ok = fclose(o.f) == 0 && ok;
    EVP_MD_CTX_free(o.md);
    if (!rc && !ok)
        rc = eb_err_set(&err, EB_ERR_INTERNAL, "cannot write %s: %s", tmp, strerror(errno));
    if (!rc && !to_stdout && rename(tmp, file))
        rc = eb_err_set(&err, EB_ERR_INTERNAL, "cannot rename to %s: %s", file, strerror(errno));
    if (rc) {
        if (!to_stdout)
            unlink(tmp);
        fprintf(stderr, "ehrbridge: attachments: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static int parse_i64(const char *s, int64_t *v)
{
    char *end;
    long long n = strtoll(s, &end, 10);
    if (!*s || *end || n <= 0)
        return -1;
    *v = n;
    return 0;
}

int eb_archive_command(int argc, char **argv, char **envp)
{
    struct eb_config cfg;
    struct eb_err err = {EB_OK, ""};
    struct eb_att_filter flt = {.status = -1};
    const char *out = NULL;
    int64_t id = 0;
    int n = 0, i = 0;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return 1;
    if (argc > 0 && !strcmp(argv[0], "get")) {
        if (argc < 2 || parse_i64(argv[1], &id)) {
            fprintf(stderr, "ehrbridge: attachments get: needs an attachment id\n");
            free(rest);
            return 2;
        }
        i = 2;
    }
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = !strcmp(a, "--status") || !strcmp(a, "--application-id") || !strcmp(a, "-o");
        if (takes && !v) {
            fprintf(stderr, "ehrbridge: attachments: %s needs a value\n", a);
            free(rest);
            return 2;
        }
        if (!strcmp(a, "--status") && !id) {
            if ((flt.status = eb_att_status_from(v)) < 0) {
                fprintf(stderr,
                        "ehrbridge: attachments: --status is pending, stored, failed, expired "
                        "or refused\n");
                free(rest);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--application-id") && !id) {
            if (parse_i64(v, &flt.application_id)) {
                fprintf(stderr, "ehrbridge: attachments: --application-id needs a number\n");
                free(rest);
                return 2;
            }
            flt.has_application_id = 1;
            i++;
        } else if (!strcmp(a, "-o") && id) {
            out = v;
            i++;
        } else {
            rest[n++] = argv[i];
        }
    }
    if (id && !out) {
        fprintf(stderr, "ehrbridge: attachments get: -o FILE is required (- for stdout)\n");
        free(rest);
        return 2;
    }
    eb_rc rc = eb_config_load(&cfg, n, rest, envp, NULL, &err);
    free(rest);
    if (rc) {
        fprintf(stderr, "ehrbridge: %s\n", err.msg);
        return 2;
    }
    eb_log_setup(EB_LOG_ERROR, cfg.log_format);
    struct eb_adapter *db = NULL;
    if (eb_adapter_open(cfg.db_url, &db, &err)) {
        fprintf(stderr, "ehrbridge: attachments: %s\n", err.msg);
        return 1;
    }
    int st = 0;
    if (id) {
        st = get(&cfg, db, id, out);
    } else {
        printf("id\tstatus\tattempts\tapplication_id\tfield\tsize\tsha256\tcontent_type\t"
               "file_name\turl\terror\tcontent\n");
        if (eb_adapter_att_list(db, &flt, print_row, NULL, &err)) {
            fprintf(stderr, "ehrbridge: attachments: %s\n", err.msg);
            st = 1;
        }
        if (fflush(stdout))
            st = 1;
    }
    eb_adapter_close(db);
    return st;
}

/* The admin listener's downloads (GET /api/attachments/{id}): an archived document sent whole,
 * from the database's chunks or the directory store, with its stored type when it is a plain
 * media type and an RFC 6266 file name, sandboxed. */
#include "admin/admin_int.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* The largest file GET /api/attachments/{id} sends: the transport's bound on a response body
 * (transport/server.c MAX_RESPONSE), which --max-attachment's default matches. */
#define MAX_DOWNLOAD   ((int64_t)64 << 20)
#define NAME_MAX_BYTES 180 /* bytes of a file name put in Content-Disposition */

/* A download: the same, and a sandbox, should a browser ever render the file in this origin. */
static const char download_headers[] = "Content-Security-Policy: sandbox; default-src 'none'\r\n"
                                       "X-Frame-Options: DENY\r\n"
                                       "X-Content-Type-Options: nosniff\r\n"
                                       "Referrer-Policy: no-referrer\r\n"
                                       "Cross-Origin-Resource-Policy: same-origin\r\n"
                                       "Cache-Control: no-store\r\n";

/* ---- downloads ---- */

/* The attachment row GET /api/attachments/{id} names. */
struct adm_download {
    int found, purged;
    enum eb_att_status status;
    int64_t size;
    char sha256[65];
    char content_type[128]; /* type/subtype as served, when well formed; else "" */
    char file_name[NAME_MAX_BYTES + 1];
    struct eb_buf *body;
    EVP_MD_CTX *md;
};

/* Copies the type/subtype of a served Content-Type (lower case) when it is made of token
 * characters; parameters are dropped. */
static void media_type(const char *ct, char *out, size_t n)
{
    static const char tok[] = "abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-";
    size_t i = 0, slash = 0;
    out[0] = '\0';
    for (; ct && ct[i] && ct[i] != ';' && ct[i] != ' ' && i + 1 < n; i++) {
        char c = (char)tolower((unsigned char)ct[i]);
        if (c == '/' && !slash && i)
            slash = i;
        else if (!strchr(tok, c)) {
            out[0] = '\0';
            return;
        }
        out[i] = c;
    }
    out[i] = '\0';
    if (!slash || slash + 1 == i || (ct && ct[i] && ct[i] != ';' && ct[i] != ' '))
        out[0] = '\0'; /* no subtype, or longer than out */
}

static int download_row(void *user, const struct eb_att_row *r)
{
    struct adm_download *d = user;
    d->found = 1;
    d->purged = r->purged;
    d->status = r->status;
    d->size = r->size;
    snprintf(d->sha256, sizeof d->sha256, "%s", r->sha256 ? r->sha256 : "");
    media_type(r->content_type, d->content_type, sizeof d->content_type);
    /* cut at a character boundary of UTF-8 */
    size_t n = r->file_name ? strlen(r->file_name) : 0;
    if (n > NAME_MAX_BYTES) {
        n = NAME_MAX_BYTES;
        while (n && ((unsigned char)r->file_name[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(d->file_name, r->file_name ? r->file_name : "", n);
    d->file_name[n] = '\0';
    return 0;
}

static int download_chunk(void *user, const void *data, size_t len)
{
    struct adm_download *d = user;
    return EVP_DigestUpdate(d->md, data, len) != 1 || eb_buf_append(d->body, data, len) != EB_OK;
}

/* Reads the file of the directory store (dir:PATH) named by its SHA-256. */
static eb_rc read_file(const char *dir, struct adm_download *d, struct eb_err *err)
{
    char path[1200], buf[65536];
    if (strlen(d->sha256) != 64 || strspn(d->sha256, "0123456789abcdef") != 64)
        return eb_err_set(err, EB_ERR_INVALID, "no content hash");
    snprintf(path, sizeof path, "%s/%s", dir, d->sha256);
    FILE *in = fopen(path, "rb");
    if (!in)
        return eb_err_set(err, EB_ERR_INVALID, "the file of the directory store is missing");
    size_t n;
    eb_rc rc = EB_OK;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (download_chunk(d, buf, n))
            rc = eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    if (!rc && ferror(in))
        rc = eb_err_set(err, EB_ERR_INTERNAL, "cannot read the file of the directory store");
    fclose(in);
    return rc;
}

/* Content-Type and Content-Disposition (RFC 6266: an ASCII filename, and filename* in UTF-8
 * percent-encoded as RFC 8187 says) into resp->own_headers. */
static void download_head(const struct adm_download *d, int64_t id, struct eb_http_response *resp)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char attr[] = "!#$&+-.^_`|~"; /* attr-char beside letters and digits */
    char ascii[NAME_MAX_BYTES + 1], enc[3 * NAME_MAX_BYTES + 1], fallback[32];
    const char *name = d->file_name;
    if (!name[0]) {
        snprintf(fallback, sizeof fallback, "attachment-%lld", (long long)id);
        name = fallback;
    }
    size_t a = 0, e = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if ((*p & 0xC0) != 0x80) /* one '_' per character that ASCII cannot show */
            ascii[a++] = *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' ? (char)*p : '_';
        if (isalnum(*p) && *p < 0x80) {
            enc[e++] = (char)*p;
        } else if (*p < 0x80 && strchr(attr, *p)) {
            enc[e++] = (char)*p;
        } else {
            enc[e++] = '%';
            enc[e++] = hex[*p >> 4];
            enc[e++] = hex[*p & 15];
        }
    }
    ascii[a] = '\0';
    enc[e] = '\0';
    snprintf(resp->own_headers, sizeof resp->own_headers,
             "Content-Type: %s\r\nContent-Disposition: attachment; filename=\"%s\"; "
             "filename*=UTF-8''%s\r\n",
             d->content_type[0] ? d->content_type : "application/octet-stream", ascii, enc);
}

void adm_download(const struct eb_config *cfg, struct eb_adapter *db, int64_t id,
                  struct eb_http_response *resp)
{
    struct adm_download d = {0};
    struct eb_err err = {0};
    struct eb_att_filter f = {.status = -1, .id = id};
    if (!eb_adapter_has_queue(db))
        return adm_answer_error(resp, 404, "no such attachment (this database keeps no archive)");
    if (eb_adapter_att_list(db, &f, download_row, &d, &err))
        return adm_read_failed(resp, &err, 0);
    if (!d.found)
        return adm_answer_error(resp, 404, "no such attachment");
    if (d.purged)
        return adm_answer_error(resp, 404, "this document was purged (--retention)");
    if (d.status != EB_ATT_STORED)
        return adm_answer_error(resp, 404, "this attachment is not stored");
    if (d.size > MAX_DOWNLOAD)
        return adm_answer_error(resp, 500,
                                "the file is larger than the admin listener sends; use "
                                "`ehrbridge attachments get`");
    adm_answer(resp, 200, NULL, "", 0);
    d.body = &resp->body;
    d.md = EVP_MD_CTX_new();
    if (!d.md || EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(d.md);
        return adm_answer_error(resp, 500, "out of memory");
    }
    eb_rc rc = eb_adapter_att_read(db, id, download_chunk, &d, &err);
    if (rc == EB_ERR_INVALID && !strncmp(cfg->attachments, "dir:", 4)) {
        eb_buf_reset(&resp->body);
        EVP_DigestInit_ex(d.md, EVP_sha256(), NULL);
        rc = read_file(cfg->attachments + 4, &d, &err);
    }
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    char sum[65] = "";
    if (!rc && EVP_DigestFinal_ex(d.md, dg, &dn) == 1)
        for (unsigned i = 0; i < dn && i < 32; i++)
            snprintf(sum + 2 * i, 3, "%02x", dg[i]);
    EVP_MD_CTX_free(d.md);
    if (rc == EB_ERR_INVALID)
        return adm_answer_error(resp, 404, "this attachment's content is not kept here");
    if (rc)
        return adm_read_failed(resp, &err, rc == EB_ERR_NOMEM);
    if (strcmp(sum, d.sha256)) {
        eb_log(EB_LOG_ERROR, "admin: a stored document does not match its SHA-256", NULL);
        return adm_answer_error(resp, 500, "the stored content does not match its SHA-256");
    }
    resp->headers = download_headers;
    download_head(&d, id, resp);
}

int64_t adm_attachment_path(const char *path)
{
    static const char prefix[] = "/api/attachments/";
    if (strncmp(path, prefix, sizeof prefix - 1))
        return 0;
    const char *p = path + sizeof prefix - 1;
    if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 18)
        return 0;
    return strtoll(p, NULL, 10);
}

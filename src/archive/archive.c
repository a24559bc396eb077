/* The fetcher thread and the `ehrbridge attachments` command (archive/archive.h).
 *
 * One thread per process, with its own database connection: it claims the due pending link
 * with the smallest next_at (a lease of --fetch-timeout + LEASE_MARGIN_MS in the database, so
 * that replicas sharing a database fetch each link once and a dead replica's claim lapses),
 * fetches it and records the outcome. A fetch:
 *   - the URL must match --fetch-allow; the host is resolved here, every address checked (a
 *     wildcard pattern never reaches loopback, private or link-local addresses; a pattern that
 *     names the host itself may), and the addresses are pinned with CURLOPT_RESOLVE; the socket
 *     callback checks the address curl connects to once more;
 *   - redirects are followed by this loop (at most MAX_REDIRECTS), each target checked the same
 *     way; no proxy from the environment (--fetch-proxy only); HTTP and HTTPS only;
 *   - the body is streamed: hashed (SHA-256, EVP) and written in CHUNK-byte chunks to the
 *     database, or to a temporary file that is fsynced and renamed to its SHA-256 (dir:PATH);
 *     the size is capped (--max-attachment) and the whole transfer is timed (--fetch-timeout).
 * A failure that a retry may cure stays pending (backoff) until the link's expiry passes, then
 * the row is expired; a refused or too large link is not retried. */
#define _GNU_SOURCE
#include "archive/archive.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "archive/policy.h"
#include "config.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"

#define CHUNK           (256 * 1024) /* bytes per attachment_chunk row */
#define MAX_REDIRECTS   5
#define LEASE_MARGIN_MS 10000 /* a lease outlives the longest download by this much */
#define IDLE_MS         1000  /* the pause when nothing is due */
#define STATS_MS        5000  /* how often /metrics' queue figures are refreshed */
#define CONNECT_MS      10000 /* connection timeout, within --fetch-timeout */
#define OPEN_RETRY_MS   5000  /* a database that cannot be opened is tried again after this */

struct eb_archive {
    const struct eb_config *cfg;
    const struct eb_mapping *mapping;
    struct eb_allow_list allow; /* --fetch-allow */
    const char *dir;            /* dir:PATH: PATH; NULL: the database */
    char owner[128];            /* this process's name in lease_owner */
    pthread_t thread;
    pthread_mutex_t lock; /* guards stop */
    pthread_cond_t cv;    /* stop was set */
    int stop;
    struct eb_adapter *db; /* the thread's connection */
};

/* ---- metrics ------------------------------------------------------------------------------ */

static struct {
    struct eb_metric *count[EB_ATT_N_STATUS];
    struct eb_metric *depth, *oldest, *fetched[5], *bytes;
} m;

static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_register(void)
{
    static const char *const st[EB_ATT_N_STATUS] = {"status=\"pending\"", "status=\"stored\"",
                                                    "status=\"failed\"", "status=\"expired\"",
                                                    "status=\"refused\""};
    for (int i = 0; i < EB_ATT_N_STATUS; i++)
        m.count[i] = eb_metrics_gauge("ehrbridge_attachments",
                                      "Download links in table attachment, by status", st[i]);
    m.depth = eb_metrics_gauge("ehrbridge_attachment_queue_depth",
                               "Download links waiting to be fetched (status pending)", NULL);
    m.oldest = eb_metrics_gauge("ehrbridge_attachment_oldest_pending_seconds",
                                "Age of the oldest pending download link", NULL);
    static const char *const res[5] = {"result=\"stored\"", "result=\"retry\"", "result=\"failed\"",
                                       "result=\"expired\"", "result=\"refused\""};
    for (int i = 0; i < 5; i++)
        m.fetched[i] = eb_metrics_counter("ehrbridge_attachment_fetches_total",
                                          "Fetch attempts of download links, by result", res[i]);
    m.bytes = eb_metrics_counter("ehrbridge_attachment_bytes_total",
                                 "Bytes of download links stored", NULL);
}

static void stats_refresh(struct eb_archive *a)
{
    struct eb_att_stats s;
    struct eb_err err = {EB_OK, ""};
    if (eb_adapter_att_stats(a->db, &s, &err))
        return;
    for (int i = 0; i < EB_ATT_N_STATUS; i++)
        eb_metric_gauge_set(m.count[i], s.count[i]);
    eb_metric_gauge_set(m.depth, s.count[EB_ATT_PENDING]);
    int64_t age = s.oldest_pending_ms ? (eb_now_ms() - s.oldest_pending_ms) / 1000 : 0;
    eb_metric_gauge_set(m.oldest, age > 0 ? age : 0);
}

/* ---- one download --------------------------------------------------------------------------- */

struct fetch {
    struct eb_archive *a;
    const struct eb_att_claim *c;
    EVP_MD_CTX *md;
    long status;      /* the HTTP status of the current response, once known */
    int literal;      /* the current host is named literally by a pattern */
    int refused_addr; /* the socket callback refused an address */
    int oversize;     /* the body went over --max-attachment */
    int store_failed; /* writing the body failed */
    struct eb_err store_err;
    int64_t size; /* body bytes of the 2xx response */
    char *buf;    /* database: the chunk being filled */
    size_t used;
    int seq;               /* database: the next chunk's number */
    int fd;                /* directory: the temporary file; -1 */
    char tmp[1200];        /* and its name */
    char disposition[256]; /* file name from Content-Disposition */
};

static int stopping(struct eb_archive *a)
{
    pthread_mutex_lock(&a->lock);
    int s = a->stop;
    pthread_mutex_unlock(&a->lock);
    return s;
}

static int flush_chunk(struct fetch *f)
{
    if (!f->used)
        return 0;
    if (eb_adapter_att_chunk(f->a->db, f->c->id, f->c->attempt, f->seq, f->buf, f->used,
                             &f->store_err)) {
        f->store_failed = 1;
        return -1;
    }
    f->seq++;
    f->used = 0;
    return 0;
}

static int sink(struct fetch *f, const char *p, size_t n)
{
    if (f->fd >= 0) {
        while (n) {
            ssize_t w = write(f->fd, p, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                eb_err_set(&f->store_err, EB_ERR_UNAVAILABLE, "writing %s: %s", f->tmp,
                           strerror(errno));
                f->store_failed = 1;
                return -1;
            }
            p += w;
            n -= (size_t)w;
        }
        return 0;
    }
    while (n) {
        size_t take = CHUNK - f->used < n ? CHUNK - f->used : n;
        memcpy(f->buf + f->used, p, take);
        f->used += take;
        p += take;
        n -= take;
        if (f->used == CHUNK && flush_chunk(f))
            return -1;
    }
    return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *user)
{
    struct fetch *f = user;
    size_t n = size * nmemb;
    if (f->status < 200 || f->status > 299)
        return n; /* a redirect's or an error's body: not kept */
    if ((uint64_t)f->size + n > (uint64_t)f->a->cfg->max_attachment) {
        f->oversize = 1;
        return 0;
    }
    f->size += (int64_t)n;
    if (EVP_DigestUpdate(f->md, p, n) != 1 || sink(f, p, n))
        return 0;
    return n;
}

/* Status line and headers: the status of each response, the file name of the last. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *user)
{
    struct fetch *f = user;
    size_t n = size * nmemb;
    int code;
    if (n > 5 && !strncmp(p, "HTTP/", 5) && sscanf(p, "HTTP/%*s %d", &code) == 1) {
        f->status = code;
        f->disposition[0] = '\0';
    } else if (n > 20 && !strncasecmp(p, "Content-Disposition:", 20)) {
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
        const char *fn = strcasestr(line, "filename=");
        if (fn) {
            fn += 9;
            if (*fn == '"')
                fn++;
            size_t len = strcspn(fn, "\";\r\n");
            snprintf(f->disposition, sizeof f->disposition, "%.*s", (int)len, fn);
        }
    }
    return n;
}

static int on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    struct fetch *f = user;
    return stopping(f->a);
}

/* The last check of the address curl connects to (the addresses were pinned before). */
static curl_socket_t on_socket(void *user, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct fetch *f = user;
    (void)purpose;
    if (!f->a->cfg->fetch_proxy[0] && !f->literal && !eb_addr_is_public(&addr->addr)) {
        f->refused_addr = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* --fetch-ca: added to the store OpenSSL already loaded with the system's CAs. */
static CURLcode on_ssl_ctx(CURL *h, void *ctx, void *user)
{
    (void)h;
    const char *file = user;
    X509_STORE *st = SSL_CTX_get_cert_store((SSL_CTX *)ctx);
    return st && X509_STORE_load_file(st, file) == 1 ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

/* Resolves host and checks every address; fills *pin ("host:port:addr,addr") for
 * CURLOPT_RESOLVE. 0: fine; 1: refused (why in err); -1: cannot resolve (err). */
static int resolve(struct fetch *f, const char *host, int port, char *pin, size_t pinn,
                   struct eb_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    int g = getaddrinfo(host, ps, &hints, &res);
    if (g) {
        eb_err_set(err, EB_ERR_UNAVAILABLE, "cannot resolve %.200s: %s", host, gai_strerror(g));
        return -1;
    }
    int refused = 0, n = 0;
    size_t used = (size_t)snprintf(pin, pinn, "%s:%d:", host, port);
    for (struct addrinfo *ai = res; ai && !refused; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *in = ai->ai_family == AF_INET
                             ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                             : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if (!inet_ntop(ai->ai_family, in, text, sizeof text))
            continue;
        if (!f->literal && !eb_addr_is_public(ai->ai_addr)) {
            eb_err_set(err, EB_ERR_AUTH,
                       "%.200s resolves to %s, a non-public address that no pattern names", host,
                       text);
            refused = 1;
            break;
        }
        if (used < pinn)
            used +=
                (size_t)snprintf(pin + used, pinn - used,
                                 ai->ai_family == AF_INET6 ? "%s[%s]" : "%s%s", n ? "," : "", text);
        n++;
    }
    freeaddrinfo(res);
    if (!refused && (!n || used >= pinn)) {
        eb_err_set(err, EB_ERR_UNAVAILABLE, "cannot resolve %.200s", host);
        return -1;
    }
    return refused;
}

/* The file name: Content-Disposition's, else the last segment of the URL's path. */
static void file_name(const struct fetch *f, const char *url, char *out, size_t n)
{
    if (f->disposition[0]) {
        snprintf(out, n, "%s", f->disposition);
        return;
    }
    char safe[1024];
    eb_archive_url_safe(url, safe, sizeof safe);
    const char *path = strstr(safe, "://");
    path = path ? strchr(path + 3, '/') : NULL;
    const char *last = path ? strrchr(path, '/') + 1 : "";
    snprintf(out, n, "%s", last);
}

static int open_tmp(struct fetch *f)
{
    snprintf(f->tmp, sizeof f->tmp, "%s/.tmp/%lld-%d-%ld", f->a->dir, (long long)f->c->id,
             f->c->attempt, (long)getpid());
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        eb_err_set(&f->store_err, EB_ERR_UNAVAILABLE, "cannot create %s: %s", f->tmp,
                   strerror(errno));
        return -1;
    }
    return 0;
}

/* dir:PATH: the temporary file, fsynced, becomes PATH/<sha256>, and PATH is fsynced. */
static int publish(struct fetch *f, const char *hex)
{
    char final[1200];
    snprintf(final, sizeof final, "%s/%s", f->a->dir, hex);
    int ok = fsync(f->fd) == 0;
    ok = close(f->fd) == 0 && ok;
    f->fd = -1;
    if (ok && rename(f->tmp, final) == 0) {
        f->tmp[0] = '\0';
        int d = open(f->a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d >= 0) {
            ok = fsync(d) == 0;
            close(d);
        }
        if (ok)
            return 0;
    }
    eb_err_set(&f->store_err, EB_ERR_UNAVAILABLE, "cannot store %s: %s", final, strerror(errno));
    return -1;
}

enum verdict { V_STORED, V_RETRY, V_FAILED, V_REFUSED };

/* One attempt of claim c; fills r (strings in the buffers given). */
static enum verdict fetch_one(struct eb_archive *a, const struct eb_att_claim *c,
                              struct eb_att_result *r, char *error, size_t errn, char *hex,
                              char *ctype, size_t ctn, char *fname, size_t fnn)
{
    struct fetch f = {.a = a, .c = c, .fd = -1};
    struct eb_err err = {EB_OK, ""};
    enum verdict v = V_RETRY;
    char *url = strdup(c->url), *next = NULL;
    CURL *h = curl_easy_init();
    f.md = EVP_MD_CTX_new();
    if (!a->dir)
        f.buf = malloc(CHUNK);
    if (!url || !h || !f.md || (!a->dir && !f.buf)) {
        snprintf(error, errn, "out of memory");
        goto out;
    }
    if (EVP_DigestInit_ex(f.md, EVP_sha256(), NULL) != 1) {
        snprintf(error, errn, "SHA-256 unavailable");
        goto out;
    }
    if (a->dir && open_tmp(&f)) {
        snprintf(error, errn, "%s", f.store_err.msg);
        goto out;
    }
    int64_t deadline = eb_mono_ms() + a->cfg->fetch_timeout_ms;
    for (int hop = 0;; hop++) {
        char host[256], pin[1400], safe[1024];
        int port = 0;
        struct curl_slist *pins = NULL;
        eb_archive_url_safe(url, safe, sizeof safe);
        enum eb_allow_match mt = eb_allow_match_url(&a->allow, url, host, sizeof host, &port);
        if (mt == EB_ALLOW_NONE) {
            snprintf(error, errn, "%s %.900s is not allowed by --fetch-allow",
                     hop ? "redirect to" : "link", safe);
            v = V_REFUSED;
            goto out;
        }
        f.literal = mt == EB_ALLOW_LITERAL;
        f.status = 0;
        if (!a->cfg->fetch_proxy[0]) {
            int rv = resolve(&f, host, port, pin, sizeof pin, &err);
            if (rv) {
                snprintf(error, errn, "%s", err.msg);
                v = rv > 0 ? V_REFUSED : V_RETRY;
                goto out;
            }
            /* a name is pinned to the addresses checked; an address written out is itself */
            unsigned char ip[16];
            if (inet_pton(AF_INET, host, ip) != 1 && inet_pton(AF_INET6, host, ip) != 1)
                pins = curl_slist_append(NULL, pin);
        }
        int64_t left = deadline - eb_mono_ms();
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROXY, a->cfg->fetch_proxy); /* "": none, whatever the env */
        if (pins)
            curl_easy_setopt(h, CURLOPT_RESOLVE, pins);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_socket);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &f);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &f);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &f);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_MS);
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)a->cfg->max_attachment);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "ehrbridge/" EB_VERSION);
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
        if (a->cfg->fetch_ca[0]) {
            curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
            curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, (void *)a->cfg->fetch_ca);
        }
        CURLcode cc = curl_easy_perform(h);
        curl_slist_free_all(pins);
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (cc != CURLE_OK) {
            if (f.oversize || cc == CURLE_FILESIZE_EXCEEDED) {
                snprintf(error, errn, "larger than --max-attachment (%zu bytes)",
                         a->cfg->max_attachment);
                v = V_FAILED;
            } else if (f.refused_addr) {
                snprintf(error, errn, "%.900s: connection to a non-public address refused", safe);
                v = V_REFUSED;
            } else if (f.store_failed) {
                snprintf(error, errn, "%s", f.store_err.msg);
            } else if (cc == CURLE_ABORTED_BY_CALLBACK) {
                snprintf(error, errn, "interrupted by shutdown");
            } else {
                snprintf(error, errn, "%.900s: %s", safe, curl_easy_strerror(cc));
            }
            goto out;
        }
        if (code >= 300 && code < 400) {
            char *to = NULL;
            curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &to);
            if (!to || hop >= MAX_REDIRECTS) {
                snprintf(error, errn, "%.900s: HTTP %ld %s", safe, code,
                         to ? "(too many redirects)" : "without a Location");
                goto out;
            }
            free(next);
            next = strdup(to);
            if (!next) {
                snprintf(error, errn, "out of memory");
                goto out;
            }
            free(url);
            url = next;
            next = NULL;
            continue;
        }
        if (code < 200 || code > 299) {
            snprintf(error, errn, "%.900s: HTTP %ld", safe, code);
            goto out;
        }
        break;
    }
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    if (EVP_DigestFinal_ex(f.md, dg, &dn) != 1 || dn != 32) {
        snprintf(error, errn, "SHA-256 failed");
        goto out;
    }
    for (unsigned i = 0; i < dn; i++)
        snprintf(hex + 2 * i, 3, "%02x", dg[i]);
    if ((a->dir ? publish(&f, hex) : flush_chunk(&f))) {
        snprintf(error, errn, "%s", f.store_err.msg);
        goto out;
    }
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(ctype, ctn, "%s", ct ? ct : "");
    file_name(&f, url, fname, fnn);
    r->size = f.size;
    r->sha256 = hex;
    r->content_type = ctype[0] ? ctype : NULL;
    r->file_name = fname[0] ? fname : NULL;
    r->in_db = !a->dir;
    v = V_STORED;
out:
    if (f.fd >= 0)
        close(f.fd);
    if (f.tmp[0] && a->dir && v != V_STORED)
        unlink(f.tmp);
    free(f.buf);
    free(url);
    free(next);
    EVP_MD_CTX_free(f.md);
    curl_easy_cleanup(h);
    return v;
}

/* Fetches claim c and records what became of it. */
static void attempt(struct eb_archive *a, const struct eb_att_claim *c)
{
    char error[1024] = "", hex[65] = "", ctype[256] = "", fname[256] = "", safe[1024], id[24],
         n[16];
    struct eb_att_result r = {0};
    enum verdict v =
        fetch_one(a, c, &r, error, sizeof error, hex, ctype, sizeof ctype, fname, sizeof fname);
    int64_t now = eb_now_ms();
    int metric;
    switch (v) {
    case V_STORED:
        r.status = EB_ATT_STORED;
        metric = 0;
        break;
    case V_FAILED:
        r.status = EB_ATT_FAILED;
        metric = 2;
        break;
    case V_REFUSED:
        r.status = EB_ATT_REFUSED;
        metric = 4;
        break;
    default:
        if (stopping(a)) { /* not the link's fault: due again at once */
            r.status = EB_ATT_PENDING;
            r.next_ms = now;
            metric = 1;
        } else if (now >= c->expires_ms) {
            r.status = EB_ATT_EXPIRED;
            metric = 3;
        } else {
            r.status = EB_ATT_PENDING;
            r.next_ms = eb_archive_backoff_ms(now, c->attempt);
            if (r.next_ms > c->expires_ms) /* one last try when the link is about to expire */
                r.next_ms = c->expires_ms;
            metric = 1;
        }
    }
    if (v != V_STORED)
        r.error = error;
    struct eb_err err = {EB_OK, ""};
    if (eb_adapter_att_finish(a->db, c->id, a->owner, c->attempt, &r, &err))
        eb_log(EB_LOG_WARN, "archive: cannot record a download", "reason", err.msg, NULL);
    eb_metric_inc(m.fetched[metric]);
    if (v == V_STORED)
        eb_metric_add(m.bytes, (uint64_t)r.size);
    eb_archive_url_safe(c->url, safe, sizeof safe);
    snprintf(id, sizeof id, "%lld", (long long)c->id);
    snprintf(n, sizeof n, "%d", c->attempt);
    eb_log(v == V_STORED ? EB_LOG_INFO : EB_LOG_WARN, "archive: download", "id", id, "field",
           c->field, "url", safe, "attempt", n, "status", eb_att_status_name(r.status), "sha256",
           v == V_STORED ? hex : NULL, "reason", v == V_STORED ? NULL : error, NULL);
}

/* dir:PATH: creates PATH and PATH/.tmp; removes temporary files older than any live lease. */
static eb_rc prepare_dir(struct eb_archive *a, struct eb_err *err)
{
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s/.tmp", a->dir);
    if ((mkdir(a->dir, 0700) && errno != EEXIST) || (mkdir(tmp, 0700) && errno != EEXIST))
        return eb_err_set(err, EB_ERR_CONFIG, "--attachments: cannot create %.200s: %s", tmp,
                          strerror(errno));
    DIR *d = opendir(tmp);
    if (!d)
        return eb_err_set(err, EB_ERR_CONFIG, "--attachments: cannot read %.200s: %s", tmp,
                          strerror(errno));
    time_t old = time(NULL) - (a->cfg->fetch_timeout_ms + LEASE_MARGIN_MS) / 1000 - 1;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, 0) || st.st_mtime > old)
            continue;
        unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
    return EB_OK;
}

static void *run(void *arg)
{
    struct eb_archive *a = arg;
    struct eb_err err = {EB_OK, ""};
    int64_t lease = (int64_t)a->cfg->fetch_timeout_ms + LEASE_MARGIN_MS, stats_at = 0;
    int warned = 0, failing = 0;
    while (!stopping(a)) {
        int found = 0;
        struct eb_att_claim c;
        if (!a->db && eb_adapter_open_mapped(a->cfg->db_url, a->mapping, &a->db, &err)) {
            if (!warned++)
                eb_log(EB_LOG_WARN, "archive: cannot open the database", "reason", err.msg, NULL);
        } else if (eb_mono_ms() >= stats_at) {
            stats_refresh(a);
            stats_at = eb_mono_ms() + STATS_MS;
        }
        if (a->db) { /* one line when claims start failing, one when they work again */
            if (eb_adapter_att_claim(a->db, a->owner, eb_now_ms(), lease, &c, &found, &err)) {
                if (!failing++)
                    eb_log(EB_LOG_WARN, "archive: cannot claim downloads", "reason", err.msg, NULL);
            } else if (failing) {
                failing = 0;
                eb_log(EB_LOG_INFO, "archive: claiming downloads again", NULL);
            }
        }
        if (found) {
            attempt(a, &c);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + (int64_t)(a->db ? IDLE_MS : OPEN_RETRY_MS) * 1000000;
        until.tv_sec += ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        pthread_mutex_lock(&a->lock);
        if (!a->stop)
            pthread_cond_timedwait(&a->cv, &a->lock, &until);
        pthread_mutex_unlock(&a->lock);
    }
    return NULL;
}

int eb_archive_enabled(const struct eb_config *cfg)
{
    return strcmp(cfg->attachments, "off") != 0;
}

eb_rc eb_archive_start(const struct eb_config *cfg, const struct eb_mapping *mapping,
                       struct eb_archive **out, struct eb_err *err)
{
    *out = NULL;
    if (!eb_archive_enabled(cfg))
        return EB_OK;
    const struct eb_adapter_methods *am = eb_adapter_lookup(cfg->db_url);
    if (am && (am->version < 4 || !am->att_claim)) {
        eb_log(EB_LOG_WARN,
               "archive: this database adapter keeps no attachment queue; download links are "
               "not fetched",
               "adapter", am->name, NULL);
        return EB_OK;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        return eb_err_set(err, EB_ERR_INTERNAL, "libcurl cannot start");
    pthread_once(&metrics_once, metrics_register);
    struct eb_archive *a = calloc(1, sizeof *a);
    if (!a)
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory");
    a->cfg = cfg;
    a->mapping = mapping;
    a->dir = !strncmp(cfg->attachments, "dir:", 4) ? cfg->attachments + 4 : NULL;
    eb_rc rc = eb_allow_parse(cfg->fetch_allow, &a->allow, err);
    if (!rc && a->dir)
        rc = prepare_dir(a, err);
    if (rc) {
        free(a);
        return rc;
    }
    char host[64] = "";
    unsigned char rnd[6];
    gethostname(host, sizeof host - 1);
    FILE *u = fopen("/dev/urandom", "rb");
    if (!u || fread(rnd, 1, sizeof rnd, u) != sizeof rnd)
        memset(rnd, 0, sizeof rnd);
    if (u)
        fclose(u);
    snprintf(a->owner, sizeof a->owner, "%s/%ld/%02x%02x%02x%02x%02x%02x", host, (long)getpid(),
             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cv, NULL);
    /* the thread takes no signal: SIGTERM and SIGINT belong to the server's own handling */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int failed = pthread_create(&a->thread, NULL, run, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (failed) {
        pthread_mutex_destroy(&a->lock);
        pthread_cond_destroy(&a->cv);
        free(a);
        return eb_err_set(err, EB_ERR_INTERNAL, "cannot start the archive thread");
    }
    pthread_setname_np(a->thread, "eb-archive");
    *out = a;
    return EB_OK;
}

void eb_archive_stop(struct eb_archive *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    a->stop = 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
    eb_adapter_close(a->db);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cv);
    free(a);
}

/* The command line: ehrbridge serve | wsdl | check | health, --help, --version. Exit status:
 * 0 success, 1 failure at run time, 2 bad usage or configuration. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive.h"
#include "config.h"
#include "replay.h"
#include "service.h"
#include "transport/server.h"
#include "transport/tls.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/log.h"

extern char **environ;

#define HEALTH_TIMEOUT_MS 5000

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: ehrbridge COMMAND [OPTIONS]\n"
            "\n"
            "Receives Moka's pushCandidate SOAP calls over HTTP and stores each candidate in an\n"
            "EHR database.\n"
            "\n"
            "Commands:\n"
            "  serve    run the service until SIGTERM or SIGINT\n"
            "  wsdl     print the WSDL, its addresses set to --public-url\n"
            "  check    validate the configuration and the database (connection and schema);\n"
            "           prints \"ok: ...\", or the error and exits 1\n"
            "  health   GET /healthz on the configured port over loopback (HTTPS when\n"
            "           --tls-cert is set); exit 0 when it answers 200 (a container\n"
            "           HEALTHCHECK without curl)\n"
            "  replay   re-run pushes from push_log through the current mapping and database:\n"
            "           --push-id ID, --outcome stored|rejected|failed, --since TIME,\n"
            "           --until TIME (Unix ms or yyyy-mm-dd[Thh:mm[:ss]]), --all; --dry-run\n"
            "           prints what would happen. Idempotent; a push whose candidate was\n"
            "           replaced by a later push is left alone; the push's download links\n"
            "           that are not stored are fetched again\n"
            "  attachments  list the record's download links and their state:\n"
            "           --status pending|stored|failed|expired|refused, --application-id ID;\n"
            "           attachments get ID -o FILE writes one stored file out (- for stdout)\n"
            "\n"
            "  ehrbridge --help      this text\n"
            "  ehrbridge --version   the version\n"
            "\n");
    eb_config_usage(out);
    fprintf(out, "\nExit status: 0 ok, 1 failure, 2 bad usage or configuration.\n");
}

/* The scheme of a database URL ("sqlite", "postgresql"): never the rest, which may hold a
 * password. */
static void db_scheme(const char *url, char *out, size_t n)
{
    size_t len = strcspn(url, ":");
    if (len >= n)
        len = n - 1;
    memcpy(out, url, len);
    out[len] = '\0';
}

/* glibc's allocator, set before any thread starts: what a push needed stays with the process
 * for the next push, instead of going back to the kernel at the end of each request and being
 * faulted in again (page by page, zeroed) by the next one. Blocks up to MMAP_MAX come from the
 * heap, and up to TRIM_MAX of free memory at the top of a heap is kept. Peak RSS is unchanged
 * (it is the most one moment needed); RSS stays near it instead of falling back between
 * pushes. For a 1 MB push this is 11-19% of its CPU, for 105 KB 5-7% (bench/RESULTS.md). */
#define MMAP_MAX ((int)(32 * 1024 * 1024))
#define TRIM_MAX ((int)(64 * 1024 * 1024))

static void keep_memory(void)
{
    if (!mallopt(M_MMAP_THRESHOLD, MMAP_MAX) || !mallopt(M_TRIM_THRESHOLD, TRIM_MAX))
        eb_log(EB_LOG_DEBUG, "malloc settings not taken", NULL);
}

/* How often serve tries again to reach a database it cannot reach at start (ms). */
#define DB_RETRY_MS 1000

/* eb_service_new, tried again every DB_RETRY_MS while the database cannot be reached
 * (EB_ERR_UNAVAILABLE: not up yet, its name not resolvable yet, refusing connections while it
 * starts), for at most cfg->db_wait_ms; the wait is logged once, and again when its reason changes.
 * SIGTERM or SIGINT during the wait ends it: *stopped is set to 1 and EB_OK is returned with no
 * service. SIGTERM and SIGINT stay blocked on return (eb_server_run takes them from there, one
 * that came meanwhile included): as the first process of a container, ehrbridge would otherwise
 * not be stopped by them at all, the kernel giving its signals no default action. */
static eb_rc service_new_waiting(const struct eb_config *cfg, struct eb_service **svc, int *stopped,
                                 struct eb_err *err)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    *stopped = 0;
    int64_t until = eb_mono_ms() + cfg->db_wait_ms;
    char told[sizeof err->msg] = "";
    eb_rc rc;
    while ((rc = eb_service_new(cfg, svc, err)) == EB_ERR_UNAVAILABLE) {
        int64_t left = until - eb_mono_ms();
        if (left <= 0)
            break;
        if (strcmp(told, err->msg)) {
            char secs[32];
            snprintf(secs, sizeof secs, "%.1f", (double)left / 1000);
            eb_log(EB_LOG_WARN, "waiting for the database", "reason", err->msg, "seconds_left",
                   secs, NULL);
            snprintf(told, sizeof told, "%s", err->msg);
        }
        if (left > DB_RETRY_MS)
            left = DB_RETRY_MS;
        struct timespec pause = {left / 1000, (left % 1000) * 1000000L};
        int sig = sigtimedwait(&stop, NULL, &pause);
        if (sig == SIGTERM || sig == SIGINT) {
            eb_log(EB_LOG_INFO, "stopped while waiting for the database", "signal",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
            *stopped = 1;
            return EB_OK;
        }
    }
    if (!rc && told[0])
        eb_log(EB_LOG_INFO, "the database is reachable", NULL);
    return rc;
}

static int cmd_serve(const struct eb_config *cfg)
{
    struct eb_err err = {EB_OK, ""};
    struct eb_service *svc = NULL;
    char listen[300], scheme[32], workers[16];
    eb_log_setup(cfg->log_level, cfg->log_format);
    keep_memory();
    eb_config_listen_text(cfg, listen, sizeof listen);
    db_scheme(cfg->db_url, scheme, sizeof scheme);
    snprintf(workers, sizeof workers, "%d", cfg->workers);
    eb_log(EB_LOG_INFO, "starting", "version", EB_VERSION, "listen", listen, "db", scheme,
           "workers", workers, "public_url", cfg->public_url[0] ? cfg->public_url : NULL, NULL);
    int stopped = 0;
    if (service_new_waiting(cfg, &svc, &stopped, &err)) {
        eb_log(EB_LOG_ERROR, "cannot start", "reason", err.msg, NULL);
        return 1;
    }
    if (stopped)
        return 0;
    eb_rc rc = eb_server_run(cfg, svc, &err);
    eb_service_free(svc);
    if (rc) {
        eb_log(EB_LOG_ERROR, "cannot serve", "reason", err.msg, NULL);
        return 1;
    }
    return 0;
}

static int cmd_wsdl(const struct eb_config *cfg)
{
    char url[1100];
    if (cfg->public_url[0]) {
        snprintf(url, sizeof url, "%s", cfg->public_url);
    } else {
        /* no public URL: this host's own address and the conventional path, as a
         * GET /pushCandidate?wsdl to it would derive */
        const char *h = cfg->listen_host;
        int wild = !strcmp(h, "0.0.0.0") || !strcmp(h, "::") || !strcmp(h, "*") || !h[0];
        snprintf(url, sizeof url,
                 strchr(h, ':') && !wild ? "%s://[%s]:%d/pushCandidate"
                                         : "%s://%s:%d/pushCandidate",
                 cfg->tls_cert[0] ? "https" : "http", wild ? "localhost" : h, cfg->listen_port);
    }
    size_t len = 0;
    char *wsdl = eb_service_wsdl(url, &len);
    if (!wsdl) {
        fprintf(stderr, "ehrbridge: wsdl: cannot build the WSDL\n");
        return 1;
    }
    int ok = fwrite(wsdl, 1, len, stdout) == len && fflush(stdout) == 0;
    free(wsdl);
    if (!ok) {
        fprintf(stderr, "ehrbridge: wsdl: cannot write to stdout: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

static int cmd_check(const struct eb_config *cfg)
{
    struct eb_err err = {EB_OK, ""};
    char listen[300], scheme[32];
    eb_log_setup(EB_LOG_ERROR, cfg->log_format); /* the answer is the one line below */
    if (eb_service_check(cfg, &err)) {
        fprintf(stderr, "ehrbridge: check: %s\n", err.msg[0] ? err.msg : eb_strerror(err.rc));
        return 1;
    }
    eb_config_listen_text(cfg, listen, sizeof listen);
    db_scheme(cfg->db_url, scheme, sizeof scheme);
    printf("ok: configuration valid (listen %s, %d workers); %s database ready\n", listen,
           cfg->workers, scheme);
    return 0;
}

/* Waits until fd is ready for events before the deadline; 0 when ready. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - eb_mono_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static int cmd_health(const struct eb_config *cfg)
{
    const char *h = cfg->listen_host;
    const char *host = !h[0] || !strcmp(h, "0.0.0.0") || !strcmp(h, "*") ? "127.0.0.1"
                       : !strcmp(h, "::")                                ? "::1"
                                                                         : h;
    char port[8], answer[64];
    int64_t deadline = eb_mono_ms() + HEALTH_TIMEOUT_MS;
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    snprintf(port, sizeof port, "%d", cfg->listen_port);
    if (getaddrinfo(host, port, &hints, &res)) {
        fprintf(stderr, "ehrbridge: health: cannot resolve %s\n", host);
        return 1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "ehrbridge: health: cannot connect to %s port %s\n", host, port);
        return 1;
    }
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                              "User-Agent: ehrbridge-health\r\nConnection: close\r\n\r\n";
    size_t sent = 0, got = 0;
    if (cfg->tls_cert[0]) {
        /* HTTPS: blocking, with the time left as socket timeouts */
        struct eb_err err = {EB_OK, ""};
        int64_t left = deadline - eb_mono_ms();
        struct timeval tv = {(time_t)(left > 0 ? left / 1000 : 0),
                             (suseconds_t)(left > 0 ? left % 1000 * 1000 : 1000)};
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        ssize_t n =
            eb_tls_health_exchange(fd, cfg, req, sizeof req - 1, answer, sizeof answer, &err);
        if (n < 0) {
            fprintf(stderr, "ehrbridge: health: %s\n", err.msg);
            close(fd);
            return 1;
        }
        got = (size_t)n;
        sent = sizeof req; /* done: the plain exchange below is skipped */
    }
    while (sent < sizeof req - 1) {
        ssize_t n = send(fd, req + sent, sizeof req - 1 - sent, MSG_NOSIGNAL);
        if (n > 0)
            sent += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
            break;
        else if (wait_fd(fd, POLLOUT, deadline))
            break;
    }
    while (sent == sizeof req - 1 && got < sizeof answer - 1 && !memchr(answer, '\n', got)) {
        ssize_t n = recv(fd, answer + got, sizeof answer - 1 - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            break;
        else if (wait_fd(fd, POLLIN, deadline))
            break;
    }
    close(fd);
    answer[got] = '\0';
    int status = 0;
    if (sscanf(answer, "HTTP/%*d.%*d %d", &status) != 1) {
        fprintf(stderr, "ehrbridge: health: no HTTP answer from %s port %s\n", host, port);
        return 1;
    }
    if (status != 200) {
        fprintf(stderr, "ehrbridge: health: /healthz answered %d\n", status);
        return 1;
    }
    printf("ok: /healthz answered 200\n");
    return 0;
}

int main(int argc, char **argv)
{
    struct eb_config cfg;
    struct eb_err err = {EB_OK, ""};
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("ehrbridge %s\n", EB_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "replay")) {
        struct eb_replay_opts ro;
        int n = argc - 2, st;
        for (int i = 2; i < argc; i++)
            if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                usage(stdout);
                return 0;
            }
        if ((st = eb_replay_args(&n, argv + 2, &ro)))
            return st;
        if (eb_config_load(&cfg, n, argv + 2, environ, NULL, &err)) {
            fprintf(stderr, "ehrbridge: %s\n", err.msg);
            return 2;
        }
        eb_log_setup(cfg.log_level, cfg.log_format);
        if (eb_date_zone_set(cfg.timezone, &err)) {
            fprintf(stderr, "ehrbridge: --timezone: %s\n", err.msg);
            return 2;
        }
        return eb_replay_run(&cfg, &ro);
    }
    if (!strcmp(cmd, "attachments")) {
        for (int i = 2; i < argc; i++)
            if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                usage(stdout);
                return 0;
            }
        return eb_archive_command(argc - 2, argv + 2, environ);
    }
    int (*run)(const struct eb_config *) = !strcmp(cmd, "serve")    ? cmd_serve
                                           : !strcmp(cmd, "wsdl")   ? cmd_wsdl
                                           : !strcmp(cmd, "check")  ? cmd_check
                                           : !strcmp(cmd, "health") ? cmd_health
                                                                    : NULL;
    if (!run) {
        fprintf(stderr, "ehrbridge: unknown command \"%s\" (see ehrbridge --help)\n", cmd);
        return 2;
    }
    for (int i = 2; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    }
    if (eb_config_load(&cfg, argc - 2, argv + 2, environ, NULL, &err)) {
        fprintf(stderr, "ehrbridge: %s\n", err.msg);
        return 2;
    }
    if (eb_date_zone_set(cfg.timezone, &err)) { /* before any thread reads a date */
        fprintf(stderr, "ehrbridge: --timezone: %s\n", err.msg);
        return 2;
    }
    eb_service_auto_workers(&cfg);
    return run(&cfg);
}

/* Unit tests of util/metrics.c: registration (idempotent, conflicts refused), counters, gauges
 * and histograms, the Prometheus text rendering, and exact counts under concurrent updates. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/metrics.h"

static const double bounds[] = {0.1, 1, 10};

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p += n)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

static char *render(void)
{
    struct eb_buf b;
    eb_buf_init(&b, 1 << 20);
    CHECK(eb_metrics_render(&b) == EB_OK);
    char *s = strdup(eb_buf_cstr(&b));
    eb_buf_free(&b);
    return s;
}

static void test_register(void)
{
    struct eb_metric *a = eb_metrics_counter("t_requests_total", "Requests", "kind=\"a\"");
    struct eb_metric *b = eb_metrics_counter("t_requests_total", "Requests", "kind=\"b\"");
    CHECK(a && b && a != b);
    CHECK(eb_metrics_counter("t_requests_total", "Requests", "kind=\"a\"") == a);  /* same */
    CHECK(eb_metrics_gauge("t_requests_total", "Requests", "kind=\"c\"") == NULL); /* type */
    CHECK(eb_metrics_counter("t_requests_total", "Other help", "kind=\"c\"") == NULL);
    static const double bad[] = {1, 0.5};
    CHECK(eb_metrics_histogram("t_bad_seconds", "Bad", NULL, bad, 2) == NULL);
    CHECK(eb_metrics_histogram("t_bad_seconds", "Bad", NULL, bounds, 0) == NULL);
    /* NULL series: updates do nothing, values read 0 */
    eb_metric_inc(NULL);
    eb_metric_gauge_add(NULL, 5);
    eb_metric_observe(NULL, 1);
    CHECK(eb_metric_value(NULL) == 0);
}

static void test_values_and_text(void)
{
    struct eb_metric *c = eb_metrics_counter("t_pushes_total", "Pushes", "mode=\"soap\"");
    struct eb_metric *g = eb_metrics_gauge("t_open", "Open connections", NULL);
    struct eb_metric *h =
        eb_metrics_histogram("t_duration_seconds", "Duration", "mode=\"soap\"", bounds, 3);
    eb_metric_inc(c);
    eb_metric_add(c, 4);
    CHECK(eb_metric_value(c) == 5);
    eb_metric_gauge_add(g, 3);
    eb_metric_gauge_add(g, -1);
    CHECK(eb_metric_value(g) == 2);
    eb_metric_observe(h, 0.05); /* le 0.1 */
    eb_metric_observe(h, 0.1);  /* le 0.1: bounds are inclusive */
    eb_metric_observe(h, 2);    /* le 10 */
    eb_metric_observe(h, 99);   /* +Inf only */
    eb_metric_observe(h, -3);   /* counted as 0 */
    CHECK(eb_metric_value(h) == 5);

    char *t = render();
    CHECK(has_line(t, "# HELP t_pushes_total Pushes"));
    CHECK(has_line(t, "# TYPE t_pushes_total counter"));
    CHECK(has_line(t, "t_pushes_total{mode=\"soap\"} 5"));
    CHECK(has_line(t, "# TYPE t_open gauge"));
    CHECK(has_line(t, "t_open 2"));
    CHECK(has_line(t, "# TYPE t_duration_seconds histogram"));
    CHECK(has_line(t, "t_duration_seconds_bucket{mode=\"soap\",le=\"0.1\"} 3"));
    CHECK(has_line(t, "t_duration_seconds_bucket{mode=\"soap\",le=\"1\"} 3"));
    CHECK(has_line(t, "t_duration_seconds_bucket{mode=\"soap\",le=\"10\"} 4"));
    CHECK(has_line(t, "t_duration_seconds_bucket{mode=\"soap\",le=\"+Inf\"} 5"));
    CHECK(has_line(t, "t_duration_seconds_sum{mode=\"soap\"} 101.150000"));
    CHECK(has_line(t, "t_duration_seconds_count{mode=\"soap\"} 5"));
    /* one HELP per family even with several series, the series of a family together */
    const char *first = strstr(t, "# HELP t_requests_total");
    CHECK(first && !strstr(first + 1, "# HELP t_requests_total"));
    const char *a = strstr(t, "t_requests_total{kind=\"a\"} 0");
    const char *b = strstr(t, "t_requests_total{kind=\"b\"} 0");
    CHECK(a && b && b > a && !memchr(a, '#', (size_t)(b - a)));
    free(t);
}

#define THREADS 4
#define ROUNDS  100000

static void *hammer(void *arg)
{
    struct eb_metric **m = arg;
    for (int i = 0; i < ROUNDS; i++) {
        eb_metric_inc(m[0]);
        eb_metric_gauge_add(m[1], 1);
        eb_metric_gauge_add(m[1], -1);
        eb_metric_observe(m[2], 0.5);
    }
    return NULL;
}

static void test_concurrent(void)
{
    struct eb_metric *m[3] = {
        eb_metrics_counter("t_concurrent_total", "Concurrent", NULL),
        eb_metrics_gauge("t_concurrent_gauge", "Concurrent", NULL),
        eb_metrics_histogram("t_concurrent_seconds", "Concurrent", NULL, bounds, 3),
    };
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, hammer, m);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK(eb_metric_value(m[0]) == (int64_t)THREADS * ROUNDS);
    CHECK(eb_metric_value(m[1]) == 0);
    CHECK(eb_metric_value(m[2]) == (int64_t)THREADS * ROUNDS);
    char *t = render();
    CHECK(has_line(t, "t_concurrent_seconds_bucket{le=\"1\"} 400000"));
    CHECK(has_line(t, "t_concurrent_seconds_sum 200000.000000"));
    free(t);
}

int main(void)
{
    test_register();
    test_values_and_text();
    test_concurrent();
    return check_report("test_metrics");
}

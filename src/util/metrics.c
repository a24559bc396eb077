/* The metrics registry (util/metrics.h): a fixed array of series filled at start-up under a
 * mutex and published with a release store of the count, relaxed atomic updates on the request
 * path, and the Prometheus text rendering. */
#include "util/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define MAX_SERIES 128

struct eb_metric {
    const char *name;   /* family name */
    const char *help;   /* one line */
    const char *labels; /* "k=\"v\",..." or NULL */
    enum eb_metric_type type;
    const double *bounds; /* histogram upper bounds (increasing), nb of them */
    size_t nb;
    atomic_int_fast64_t value;                                /* counter, gauge */
    atomic_uint_fast64_t buckets[EB_METRICS_MAX_BUCKETS + 1]; /* per bucket, +Inf last */
    atomic_uint_fast64_t count;                               /* histogram observations */
    atomic_uint_fast64_t sum_micro;                           /* histogram sum, millionths */
};

static struct eb_metric series[MAX_SERIES];
static atomic_size_t n_series; /* series[0..n) are complete */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;

const double eb_metrics_duration_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                              0.25,  0.5,    1,     2.5,  5,     10};
const size_t eb_metrics_duration_nbuckets =
    sizeof eb_metrics_duration_buckets / sizeof eb_metrics_duration_buckets[0];

const char eb_metrics_content_type[] = "text/plain; version=0.0.4; charset=utf-8";

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static struct eb_metric *reg(const char *name, const char *help, const char *labels,
                             enum eb_metric_type type, const double *bounds, size_t nb)
{
    struct eb_metric *m = NULL;
    if (!name || !help ||
        (type == EB_METRIC_HISTOGRAM && (!bounds || !nb || nb > EB_METRICS_MAX_BUCKETS)))
        return NULL;
    pthread_mutex_lock(&reg_mu);
    size_t n = atomic_load_explicit(&n_series, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        struct eb_metric *s = &series[i];
        if (strcmp(s->name, name) != 0)
            continue;
        if (s->type != type || strcmp(s->help, help) != 0)
            goto out; /* one family, one type and help */
        if (same(s->labels, labels)) {
            m = s;
            goto out;
        }
    }
    if (n < MAX_SERIES) {
        m = &series[n];
        m->name = name;
        m->help = help;
        m->labels = labels && *labels ? labels : NULL;
        m->type = type;
        m->bounds = bounds;
        m->nb = nb;
        atomic_store_explicit(&n_series, n + 1, memory_order_release);
    }
out:
    pthread_mutex_unlock(&reg_mu);
    return m;
}

struct eb_metric *eb_metrics_counter(const char *name, const char *help, const char *labels)
{
    return reg(name, help, labels, EB_METRIC_COUNTER, NULL, 0);
}

struct eb_metric *eb_metrics_gauge(const char *name, const char *help, const char *labels)
{
    return reg(name, help, labels, EB_METRIC_GAUGE, NULL, 0);
}

struct eb_metric *eb_metrics_histogram(const char *name, const char *help, const char *labels,
                                       const double *bounds, size_t n)
{
    for (size_t i = 1; bounds && i < n; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    return reg(name, help, labels, EB_METRIC_HISTOGRAM, bounds, n);
}

void eb_metric_add(struct eb_metric *m, uint64_t n)
{
    if (m)
        atomic_fetch_add_explicit(&m->value, (int_fast64_t)n, memory_order_relaxed);
}

void eb_metric_inc(struct eb_metric *m)
{
    eb_metric_add(m, 1);
}

void eb_metric_gauge_add(struct eb_metric *m, int64_t delta)
{
    if (m)
        atomic_fetch_add_explicit(&m->value, delta, memory_order_relaxed);
}

void eb_metric_gauge_set(struct eb_metric *m, int64_t v)
{
    if (m)
        atomic_store_explicit(&m->value, v, memory_order_relaxed);
}

void eb_metric_observe(struct eb_metric *m, double v)
{
    if (!m || m->type != EB_METRIC_HISTOGRAM)
        return;
    if (!(v >= 0)) /* negative or NaN */
        v = 0;
    size_t i = 0;
    while (i < m->nb && v > m->bounds[i])
        i++;
    atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
    double micro = v * 1e6;
    atomic_fetch_add_explicit(&m->sum_micro, micro < 1.8e19 ? (uint_fast64_t)llround(micro) : 0,
                              memory_order_relaxed);
}

int64_t eb_metric_value(const struct eb_metric *m)
{
    if (!m)
        return 0;
    if (m->type == EB_METRIC_HISTOGRAM)
        return (int64_t)atomic_load_explicit(&((struct eb_metric *)m)->count, memory_order_relaxed);
    return (int64_t)atomic_load_explicit(&((struct eb_metric *)m)->value, memory_order_relaxed);
}

static const char *type_name(enum eb_metric_type t)
{
    return t == EB_METRIC_COUNTER ? "counter" : t == EB_METRIC_GAUGE ? "gauge" : "histogram";
}

static eb_rc render_series(struct eb_buf *out, struct eb_metric *m)
{
    const char *l = m->labels;
    if (m->type != EB_METRIC_HISTOGRAM)
        return eb_buf_printf(out, "%s%s%s%s %lld\n", m->name, l ? "{" : "", l ? l : "",
                             l ? "}" : "",
                             (long long)atomic_load_explicit(&m->value, memory_order_relaxed));
    /* a consistent-enough snapshot: buckets first, then count (never less than the buckets) */
    uint64_t cum = 0;
    eb_rc rc = EB_OK;
    for (size_t i = 0; i <= m->nb && !rc; i++) {
        cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
        char le[32];
        if (i < m->nb)
            snprintf(le, sizeof le, "%g", m->bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        rc = eb_buf_printf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n", m->name, l ? l : "",
                           l ? "," : "", le, (unsigned long long)cum);
    }
    uint64_t sum = atomic_load_explicit(&m->sum_micro, memory_order_relaxed);
    if (!rc)
        rc = eb_buf_printf(out, "%s_sum%s%s%s %llu.%06llu\n", m->name, l ? "{" : "", l ? l : "",
                           l ? "}" : "", (unsigned long long)(sum / 1000000),
                           (unsigned long long)(sum % 1000000));
    if (!rc)
        rc = eb_buf_printf(out, "%s_count%s%s%s %llu\n", m->name, l ? "{" : "", l ? l : "",
                           l ? "}" : "", (unsigned long long)cum);
    return rc;
}

eb_rc eb_metrics_render(struct eb_buf *out)
{
    size_t n = atomic_load_explicit(&n_series, memory_order_acquire);
    eb_rc rc = EB_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(series[j].name, series[i].name);
        if (seen)
            continue; /* the family was written with its first series */
        rc = eb_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", series[i].name, series[i].help,
                           series[i].name, type_name(series[i].type));
        for (size_t k = i; k < n && !rc; k++)
            if (!strcmp(series[k].name, series[i].name))
                rc = render_series(out, &series[k]);
    }
    return rc;
}

/* Metrics: a small process-wide registry of counters, gauges and histograms, rendered in the
 * Prometheus text exposition format (version 0.0.4) for GET /metrics.
 *
 * Series are registered once, at start-up (under a mutex), and the caller keeps the returned
 * pointer; updating a series is one relaxed atomic operation (a histogram: three), with no lock
 * and no allocation, so the request path stays cheap. Registering the same name and labels
 * again returns the same series (several servers or services in one process share them).
 * Values never carry personal data: label values are fixed words chosen by the code. */
#ifndef EB_METRICS_H
#define EB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

enum eb_metric_type { EB_METRIC_COUNTER, EB_METRIC_GAUGE, EB_METRIC_HISTOGRAM };

struct eb_metric; /* one series: a family name and one set of labels */

#define EB_METRICS_MAX_BUCKETS 16 /* upper bounds of one histogram, +Inf not counted */

/* The bucket upper bounds (seconds) of the request-duration histograms. */
extern const double eb_metrics_duration_buckets[];
extern const size_t eb_metrics_duration_nbuckets;

/* Registers (or finds) a counter / gauge series in the process registry. name follows
 * Prometheus naming ("ehrbridge_pushes_total"), help is one line, labels is NULL or the
 * preformatted label pairs without braces ("mode=\"soap\",outcome=\"stored\""; values must not
 * need escaping). All strings must be static (they are kept, not copied). Returns NULL only when
 * the registry is full or a name is reused with another type or help; the update functions
 * accept NULL and then do nothing, so a metric can never break a request. Thread-safe. */
struct eb_metric *eb_metrics_counter(const char *name, const char *help, const char *labels);
struct eb_metric *eb_metrics_gauge(const char *name, const char *help, const char *labels);

/* Registers (or finds) a histogram series with n (1..EB_METRICS_MAX_BUCKETS) increasing upper
 * bounds (the array must be static); observed values must be >= 0 (the sum is kept in
 * millionths). Same contract as eb_metrics_counter(). */
struct eb_metric *eb_metrics_histogram(const char *name, const char *help, const char *labels,
                                       const double *bounds, size_t n);

/* Counter: adds n. Gauge: adds n (may be negative through eb_metric_gauge_add). NULL-safe,
 * lock-free, async-signal-safe. */
void eb_metric_add(struct eb_metric *m, uint64_t n);
void eb_metric_inc(struct eb_metric *m);
void eb_metric_gauge_add(struct eb_metric *m, int64_t delta);
void eb_metric_gauge_set(struct eb_metric *m, int64_t v);

/* Histogram: counts one observation of v (>= 0). NULL-safe, lock-free. */
void eb_metric_observe(struct eb_metric *m, double v);

/* The current value of a counter or gauge (a histogram: its count); 0 for NULL. For tests. */
int64_t eb_metric_value(const struct eb_metric *m);

/* Appends every registered family, in registration order, in the Prometheus text format
 * (# HELP, # TYPE, one line per series; histograms as cumulative _bucket{le=...}, _sum,
 * _count). EB_ERR_NOMEM / EB_ERR_TOO_LARGE when out does not take it. Thread-safe. */
eb_rc eb_metrics_render(struct eb_buf *out);

/* The Content-Type of eb_metrics_render()'s output. */
extern const char eb_metrics_content_type[];

#endif

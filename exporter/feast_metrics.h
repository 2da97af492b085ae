/*
 * feast_metrics.h - Feast's own metric families, computed from the request
 * records (exporter thread only): the same names, types, labels and buckets
 * as the feature server's prometheus_client metrics, plus a feature_service
 * label where the request names one.
 *
 * OTLP names are chosen so that the OpenTelemetry Collector's Prometheus
 * exporters, with their default name translation, produce exactly Feast's
 * series names: counters are monotonic sums named without "_total" (the
 * translation appends it), durations are histograms in unit "s" named
 * without "_seconds" (the translation appends the unit), and everything
 * else has no unit (nothing is appended).
 */
#ifndef FO_FEAST_METRICS_H
#define FO_FEAST_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

enum fo_feast_family {
    FO_FF_REQUEST_TOTAL,
    FO_FF_REQUEST_LATENCY,
    FO_FF_ONLINE_REQUEST_TOTAL,
    FO_FF_ENTITY_COUNT,
    FO_FF_STATUS_TOTAL,
    FO_FF_PUSH_TOTAL,
    FO_FF_MATERIALIZATION_TOTAL,
    FO_FF_MATERIALIZATION_DURATION,
    FO_FF_FAMILIES,
};

#define FO_FF_MAX_LABELS 4
#define FO_FF_MAX_BOUNDS 11
#define FO_FF_LABEL_MAX (FO_FEAST_NAME_MAX + 1)
#define FO_FF_MAX_SERIES 1000

struct fo_feast_family_desc {
    const char *otlp_name;       /* name and unit in OTLP */
    const char *unit;
    const char *prom_name;       /* Feast's Prometheus name (counters: with _total) */
    const char *help;
    uint8_t histogram;           /* else a monotonic counter */
    uint8_t n_bounds;
    const double *bounds;
    uint8_t n_labels;
    const char *labels[FO_FF_MAX_LABELS];
};

extern const struct fo_feast_family_desc fo_feast_families[FO_FF_FAMILIES];

/* One series; an empty label value means the label is absent. */
struct fo_feast_series {
    uint8_t family;
    uint8_t used;
    char values[FO_FF_MAX_LABELS][FO_FF_LABEL_MAX];
    uint64_t count;   /* the counter's value, or the histogram's count */
    double sum;
    uint64_t buckets[FO_FF_MAX_BOUNDS + 1];
};

/* What chose the last request's series of the two request families. */
struct fo_ff_quick {
    const char *endpoint; /* a static string, compared by address */
    uint8_t ok;
    uint8_t counts; /* features and views are labels */
    uint32_t features, views;
    struct fo_feast_series *total, *latency; /* NULL: nothing to reuse */
};

struct fo_feast_metrics {
    struct fo_feast_series *series; /* FO_FF_MAX_SERIES, filled in order */
    size_t n_series;
    uint64_t overflowed;            /* observations past the series limit */
    struct fo_feast_series *last[FO_FF_FAMILIES]; /* per family, the last series found */
    struct fo_ff_quick quick;
};

/* NULL when out of memory. */
struct fo_feast_metrics *fo_feast_metrics_new(void);
void fo_feast_metrics_del(struct fo_feast_metrics *m);

/* Counts one finished request in every family it belongs to. */
void fo_feast_metrics_observe(struct fo_feast_metrics *m, const struct fo_span *s);

/* The `endpoint` label of a request: its Feast route, else its method (a
 * static string either way). */
const char *fo_feast_endpoint(const struct fo_span *s);

#endif

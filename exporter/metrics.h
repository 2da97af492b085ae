/*
 * metrics.h - aggregation of http.server.request.duration on the exporter
 * thread: one cumulative explicit-bucket histogram per attribute set, with
 * a fixed cardinality limit past which requests go to an overflow series.
 */
#ifndef FO_METRICS_H
#define FO_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

#define FO_METRICS_MAX_SERIES 2000
#define FO_DURATION_BUCKETS 14 /* explicit bounds; counts have one more */
#define FO_METRICS_TABLE_SLOTS 4096 /* series[] has one more: the overflow series */

extern const double fo_duration_bounds[FO_DURATION_BUCKETS];

/* The attributes that identify one series. */
struct fo_http_series_key {
    char method[FO_METHOD_MAX]; /* normalised: a known method or "_OTHER" */
    const char *route;          /* static string or NULL */
    uint16_t status;            /* 0: not set */
    uint8_t scheme;             /* FO_SCHEME_* */
    uint8_t version_minor;
    char error_type[8];         /* "" when none, "500", "aborted" ... */
    uint8_t overflow;           /* the otel.metric.overflow series */
};

struct fo_http_series {
    struct fo_http_series_key key;
    uint64_t count;
    double sum;
    uint64_t buckets[FO_DURATION_BUCKETS + 1];
    uint8_t used;
};

struct fo_metrics {
    struct fo_http_series *series; /* FO_METRICS_MAX_SERIES + 1 slots */
    size_t n_series;               /* distinct series in use */
    uint64_t start_unix_ns;        /* start of the cumulative period */
};

/* Allocates an empty aggregator; NULL when out of memory. */
struct fo_metrics *fo_metrics_new(void);

/* Frees m (NULL is fine). */
void fo_metrics_del(struct fo_metrics *m);

/* Counts one finished request (sampled or not). */
void fo_metrics_observe_http(struct fo_metrics *m, const struct fo_span *s);

/*
 * Normalises a request method as the HTTP semantic conventions ask: one of
 * the nine standard methods as is, anything else "_OTHER". Returns a static
 * string.
 */
const char *fo_http_method_name(const char *method, size_t len);

/* error.type for a request: "" when none, the status for 5xx, "aborted". */
void fo_http_error_type(const struct fo_record *r, char out[8]);

#endif

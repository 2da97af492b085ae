/*
 * metrics.h - aggregation of http.server.request.duration on the exporter
 * thread: one cumulative explicit-bucket histogram per attribute set, with
 * a fixed cardinality limit past which requests go to an overflow series.
 *
 * Exporter-thread only: nothing here locks.
 */
#ifndef FO_METRICS_H
#define FO_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

#define FO_METRICS_MAX_SERIES 2000
#define FO_DURATION_BUCKETS 14 /* explicit bounds; counts have one more */
#define FO_METRICS_TABLE_SLOTS 4096 /* power of two; series[] has one more: overflow */

/* 0.005 0.01 0.025 0.05 0.075 0.1 0.25 0.5 0.75 1 2.5 5 7.5 10 (seconds). */
extern const double fo_duration_bounds[FO_DURATION_BUCKETS];

/* The attributes that identify one series. */
struct fo_http_series_key {
    char method[FO_METHOD_MAX]; /* normalised: a known method or "_OTHER" */
    const char *route;          /* static string or NULL; compared by content */
    uint16_t status;            /* 0: not set */
    uint8_t scheme;             /* FO_SCHEME_* */
    uint8_t version_minor;      /* network.protocol.version "1.<minor>" */
    char error_type[8];         /* "" when none, "500", "aborted" ... */
    uint8_t overflow;           /* the otel.metric.overflow series: no other key */
};

/* One cumulative histogram. buckets[i] counts values in
 * (fo_duration_bounds[i-1], fo_duration_bounds[i]]; the last is (10, +Inf). */
struct fo_http_series {
    struct fo_http_series_key key;
    uint64_t count;
    double sum;
    uint64_t buckets[FO_DURATION_BUCKETS + 1];
    uint8_t used;
};

/* What the last observation's series was chosen by: its method and route
 * are static strings, compared by address. */
struct fo_http_last {
    const char *method;
    const char *route;
    uint16_t status;
    uint8_t scheme;
    uint8_t version_minor;
    uint8_t aborted;
};

struct fo_metrics {
    struct fo_http_series *series; /* FO_METRICS_TABLE_SLOTS + 1 slots */
    size_t n_series;               /* series in the table (overflow not counted) */
    uint64_t start_unix_ns;        /* start of the cumulative period */
    struct fo_http_series *last;   /* the series of the last observation, or NULL */
    struct fo_http_last last_in;   /* and what chose it */
};

/*
 * Allocates an empty aggregator whose cumulative period starts now
 * (CLOCK_REALTIME); the caller may overwrite start_unix_ns. NULL when out of
 * memory. Free with fo_metrics_del.
 */
struct fo_metrics *fo_metrics_new(void);

/* Frees m (NULL is fine). */
void fo_metrics_del(struct fo_metrics *m);

/*
 * Counts one finished request (sampled or not) in the series of its
 * attributes: duration = end_unix_ns - start_unix_ns (0 if negative). s and
 * s->route are only read during the call, except that a new series keeps
 * the s->route pointer, which must therefore be a static string.
 */
void fo_metrics_observe_http(struct fo_metrics *m, const struct fo_span *s);

/*
 * Iterates over the series in use, the overflow series last: start with
 * *pos = 0 and call until NULL. Pointers stay valid until the next observe.
 */
const struct fo_http_series *fo_metrics_next(const struct fo_metrics *m, size_t *pos);

/* Series fo_metrics_next would return, the overflow series included. */
size_t fo_metrics_series_count(const struct fo_metrics *m);

/*
 * Normalises a request method as the HTTP semantic conventions ask: one of
 * the nine standard methods (case-sensitive) as is, anything else "_OTHER".
 * Returns a static string; "_OTHER" is the only one that starts with '_'.
 */
const char *fo_http_method_name(const char *method, size_t len);

/*
 * error.type for a request into out: the status code for status >= 500,
 * else "aborted" when FO_HTTP_F_ABORTED is set, else "" (no error). The span
 * status is ERROR exactly when this is not empty.
 */
void fo_http_error_type(const struct fo_record *r, char out[8]);

/* The decimal digits of x and a NUL into out (room for 11 bytes). */
void fo_utoa(uint32_t x, char *out);

#endif

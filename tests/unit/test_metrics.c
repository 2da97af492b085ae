/* test_metrics.c - duration histograms: buckets, series, cardinality limit. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exporter/metrics.h"

static void span(struct fo_span *s, const char *method, uint16_t status, uint64_t ns)
{
    memset(s, 0, sizeof *s);
    s->rec.http.method_len = (uint8_t)strlen(method);
    memcpy(s->rec.http.method, method, s->rec.http.method_len);
    s->rec.http.status = status;
    s->rec.http.version_minor = 1;
    s->start_unix_ns = 5000000000u;
    s->end_unix_ns = s->start_unix_ns + ns;
}

static size_t count_series(const struct fo_metrics *m)
{
    size_t pos = 0, n = 0;
    while (fo_metrics_next(m, &pos) != NULL)
        n++;
    cr_assert_eq(n, fo_metrics_series_count(m));
    return n;
}

static const struct fo_http_series *only_series(const struct fo_metrics *m)
{
    cr_assert_eq(count_series(m), 1);
    size_t pos = 0;
    return fo_metrics_next(m, &pos);
}

Test(metrics, starts_empty_with_the_current_time)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t before = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    struct fo_metrics *m = fo_metrics_new();
    cr_assert_not_null(m);
    cr_assert_geq(m->start_unix_ns, before);
    cr_assert_lt(m->start_unix_ns, before + 1000000000u);
    cr_assert_eq(count_series(m), 0);
    fo_metrics_del(m);
    fo_metrics_del(NULL);
}

Test(metrics, a_value_on_a_bound_counts_in_that_bucket)
{
    struct fo_metrics *m = fo_metrics_new();
    struct fo_span s;
    /* Every bound exactly, and one nanosecond above it. */
    static const uint64_t bound_ns[FO_DURATION_BUCKETS] = {
        5000000,   10000000,  25000000,   50000000,   75000000,   100000000,  250000000,
        500000000, 750000000, 1000000000, 2500000000, 5000000000, 7500000000, 10000000000u};
    double sum = 0;
    for (size_t b = 0; b < FO_DURATION_BUCKETS; b++) {
        cr_assert_eq((double)bound_ns[b] / 1e9, fo_duration_bounds[b]);
        for (uint64_t extra = 0; extra < 2; extra++) {
            span(&s, "GET", 200, bound_ns[b] + extra);
            fo_metrics_observe_http(m, &s);
            sum += (double)(bound_ns[b] + extra) / 1e9;
        }
    }
    span(&s, "GET", 200, 0);
    fo_metrics_observe_http(m, &s);
    const struct fo_http_series *h = only_series(m);
    cr_assert_eq(h->count, 2 * FO_DURATION_BUCKETS + 1);
    cr_assert_eq(h->buckets[0], 2, "0 and exactly 0.005");
    for (size_t b = 1; b < FO_DURATION_BUCKETS; b++)
        cr_assert_eq(h->buckets[b], 2, "bucket %zu: previous bound + 1 ns, and the bound", b);
    cr_assert_eq(h->buckets[FO_DURATION_BUCKETS], 1, "10 s + 1 ns is +Inf");
    cr_assert_float_eq(h->sum, sum, 1e-9);
    fo_metrics_del(m);
}

Test(metrics, counts_and_sum_are_exact)
{
    struct fo_metrics *m = fo_metrics_new();
    struct fo_span s;
    uint64_t ns[] = {1000000, 30000000, 30000000, 600000000, 3000000000u, 60000000000u};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        span(&s, "POST", 201, ns[i]);
        fo_metrics_observe_http(m, &s);
    }
    span(&s, "POST", 201, 0);
    s.end_unix_ns = s.start_unix_ns - 5; /* a clock step: counted as 0 */
    fo_metrics_observe_http(m, &s);
    const struct fo_http_series *h = only_series(m);
    static const uint64_t want[FO_DURATION_BUCKETS + 1] = {2, 0, 0, 2, 0, 0, 0, 0,
                                                           1, 0, 0, 1, 0, 0, 1};
    cr_assert_arr_eq(h->buckets, want, sizeof want);
    cr_assert_eq(h->count, 7);
    cr_assert_float_eq(h->sum, 0.001 + 0.03 + 0.03 + 0.6 + 3 + 60, 1e-9);
    fo_metrics_del(m);
}

static const struct fo_http_series *series_where(const struct fo_metrics *m, const char *method,
                                                 uint16_t status, const char *error_type)
{
    size_t pos = 0;
    const struct fo_http_series *h;
    while ((h = fo_metrics_next(m, &pos)) != NULL)
        if (strcmp(h->key.method, method) == 0 && h->key.status == status &&
            strcmp(h->key.error_type, error_type) == 0)
            return h;
    cr_assert_fail("no series %s %u %s", method, status, error_type);
    return NULL;
}

Test(metrics, method_normalisation)
{
    static const char *known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                  "CONNECT", "OPTIONS", "TRACE", "PATCH"};
    for (size_t i = 0; i < 9; i++)
        cr_assert_str_eq(fo_http_method_name(known[i], strlen(known[i])), known[i]);
    cr_assert_str_eq(fo_http_method_name("get", 3), "_OTHER", "methods are case-sensitive");
    cr_assert_str_eq(fo_http_method_name("PURGE", 5), "_OTHER");
    cr_assert_str_eq(fo_http_method_name("GETX", 3), "GET", "only len bytes count");
    cr_assert_str_eq(fo_http_method_name("GET", 2), "_OTHER");
    cr_assert_str_eq(fo_http_method_name("", 0), "_OTHER");
}

Test(metrics, error_type_rules)
{
    struct fo_record r;
    char out[8];
    memset(&r, 0, sizeof r);
    r.http.status = 200;
    fo_http_error_type(&r, out);
    cr_assert_str_eq(out, "");
    r.http.status = 404;
    fo_http_error_type(&r, out);
    cr_assert_str_eq(out, "", "4xx is not a server error");
    r.http.status = 500;
    fo_http_error_type(&r, out);
    cr_assert_str_eq(out, "500");
    r.http.flags = FO_HTTP_F_ABORTED;
    r.http.status = 503;
    fo_http_error_type(&r, out);
    cr_assert_str_eq(out, "503", "the status wins over the abort");
    r.http.status = 200;
    fo_http_error_type(&r, out);
    cr_assert_str_eq(out, "aborted");
    r.http.status = 0;
    fo_http_error_type(&r, out);
    cr_assert_str_eq(out, "aborted");
}

Test(metrics, one_series_per_attribute_set)
{
    struct fo_metrics *m = fo_metrics_new();
    struct fo_span s;
    span(&s, "GET", 200, 10000000);
    fo_metrics_observe_http(m, &s);
    fo_metrics_observe_http(m, &s);
    span(&s, "GET", 500, 10000000);
    fo_metrics_observe_http(m, &s);
    span(&s, "PURGE", 200, 10000000);
    fo_metrics_observe_http(m, &s);
    span(&s, "FOO", 200, 10000000);
    fo_metrics_observe_http(m, &s);
    span(&s, "GET", 0, 10000000);
    s.rec.http.flags = FO_HTTP_F_ABORTED;
    fo_metrics_observe_http(m, &s);
    span(&s, "GET", 200, 10000000);
    s.rec.scheme = FO_SCHEME_HTTPS;
    fo_metrics_observe_http(m, &s);
    span(&s, "GET", 200, 10000000);
    s.rec.http.version_minor = 0;
    fo_metrics_observe_http(m, &s);
    /* Two copies of one route are one route. */
    char r1[] = "/get-online-features", r2[] = "/get-online-features";
    span(&s, "GET", 200, 10000000);
    s.route = r1;
    fo_metrics_observe_http(m, &s);
    s.route = r2;
    fo_metrics_observe_http(m, &s);

    cr_assert_eq(m->n_series, 7);
    cr_assert_eq(count_series(m), 7);
    cr_assert_eq(series_where(m, "_OTHER", 200, "")->count, 2);
    cr_assert_eq(series_where(m, "GET", 500, "500")->count, 1);
    cr_assert_eq(series_where(m, "GET", 0, "aborted")->count, 1);
    size_t pos = 0, route = 0, https = 0, http10 = 0, plain = 0;
    const struct fo_http_series *h;
    while ((h = fo_metrics_next(m, &pos)) != NULL) {
        if (strcmp(h->key.method, "GET") != 0 || h->key.status != 200)
            continue;
        if (h->key.route != NULL) {
            cr_assert_str_eq(h->key.route, "/get-online-features");
            route += h->count;
        } else if (h->key.scheme == FO_SCHEME_HTTPS) {
            https += h->count;
        } else if (h->key.version_minor == 0) {
            http10 += h->count;
        } else {
            plain += h->count;
        }
    }
    cr_assert_eq(route, 2);
    cr_assert_eq(https, 1);
    cr_assert_eq(http10, 1);
    cr_assert_eq(plain, 2);
    fo_metrics_del(m);
}

Test(metrics, cardinality_limit_sends_the_rest_to_one_overflow_series)
{
    struct fo_metrics *m = fo_metrics_new();
    struct fo_span s;
    static char names[3000][16];
    for (int i = 0; i < 3000; i++) {
        snprintf(names[i], sizeof names[i], "/r%d", i);
        span(&s, "GET", 200, 10000000);
        s.route = names[i];
        fo_metrics_observe_http(m, &s);
    }
    cr_assert_eq(m->n_series, FO_METRICS_MAX_SERIES);
    cr_assert_eq(count_series(m), FO_METRICS_MAX_SERIES + 1);
    /* The overflow series comes last and has no other attribute. */
    size_t pos = 0;
    const struct fo_http_series *h, *last = NULL;
    uint64_t total = 0;
    while ((h = fo_metrics_next(m, &pos)) != NULL) {
        cr_assert(last == NULL || !last->key.overflow);
        total += h->count;
        last = h;
    }
    cr_assert_eq(total, 3000);
    cr_assert(last->key.overflow);
    cr_assert_null(last->key.route);
    cr_assert_str_eq(last->key.method, "");
    cr_assert_eq(last->count, 1000);
    /* A known series still aggregates in place; a new one overflows. */
    s.route = names[0];
    fo_metrics_observe_http(m, &s);
    cr_assert_eq(last->count, 1000);
    s.route = "/brand-new";
    fo_metrics_observe_http(m, &s);
    cr_assert_eq(last->count, 1001);
    cr_assert_eq(m->n_series, FO_METRICS_MAX_SERIES);
    fo_metrics_del(m);
}

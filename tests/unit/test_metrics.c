/* test_metrics.c - duration histograms: buckets, series, cardinality limit. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "exporter/metrics.h"

static void span(struct fo_span *s, const char *method, uint16_t status, double seconds)
{
    memset(s, 0, sizeof *s);
    s->rec.http.method_len = (uint8_t)strlen(method);
    memcpy(s->rec.http.method, method, s->rec.http.method_len);
    s->rec.http.status = status;
    s->rec.http.version_minor = 1;
    s->start_unix_ns = 5000000000u;
    s->end_unix_ns = s->start_unix_ns + (uint64_t)(seconds * 1e9 + 0.5);
}

static const struct fo_http_series *only_series(const struct fo_metrics *m)
{
    const struct fo_http_series *found = NULL;
    for (size_t i = 0; i <= FO_METRICS_TABLE_SLOTS; i++)
        if (m->series[i].used) {
            cr_assert_null(found, "more than one series");
            found = &m->series[i];
        }
    cr_assert_not_null(found);
    return found;
}

Test(metrics, a_value_on_a_bound_counts_in_that_bucket)
{
    struct fo_metrics *m = fo_metrics_new();
    struct fo_span s;
    double v[] = {0.0, 0.005, 0.0050001, 0.1, 10.0, 10.5};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        span(&s, "GET", 200, v[i]);
        fo_metrics_observe_http(m, &s);
    }
    const struct fo_http_series *h = only_series(m);
    cr_assert_eq(h->count, 6);
    cr_assert_eq(h->buckets[0], 2);  /* 0 and exactly 0.005 */
    cr_assert_eq(h->buckets[1], 1);  /* (0.005, 0.01] */
    cr_assert_eq(h->buckets[5], 1);  /* 0.1 */
    cr_assert_eq(h->buckets[13], 1); /* 10 */
    cr_assert_eq(h->buckets[14], 1); /* +Inf */
    cr_assert_float_eq(h->sum, 20.6100001, 1e-6);
    fo_metrics_del(m);
}

Test(metrics, series_per_attribute_set_and_method_normalisation)
{
    struct fo_metrics *m = fo_metrics_new();
    struct fo_span s;
    span(&s, "GET", 200, 0.01);
    fo_metrics_observe_http(m, &s);
    fo_metrics_observe_http(m, &s);
    span(&s, "GET", 500, 0.01);
    fo_metrics_observe_http(m, &s);
    span(&s, "PURGE", 200, 0.01);
    fo_metrics_observe_http(m, &s);
    span(&s, "FOO", 200, 0.01);
    fo_metrics_observe_http(m, &s);
    cr_assert_eq(m->n_series, 3, "GET 200, GET 500, _OTHER 200");
    int others = 0;
    for (size_t i = 0; i <= FO_METRICS_TABLE_SLOTS; i++) {
        const struct fo_http_series *h = &m->series[i];
        if (!h->used)
            continue;
        if (strcmp(h->key.method, "_OTHER") == 0) {
            others++;
            cr_assert_eq(h->count, 2);
        } else if (h->key.status == 500) {
            cr_assert_str_eq(h->key.error_type, "500");
        } else {
            cr_assert_eq(h->count, 2);
            cr_assert_str_eq(h->key.error_type, "");
        }
    }
    cr_assert_eq(others, 1);
    fo_metrics_del(m);
}

Test(metrics, cardinality_limit_sends_the_rest_to_one_overflow_series)
{
    struct fo_metrics *m = fo_metrics_new();
    struct fo_span s;
    static const char *routes[3000];
    static char names[3000][16];
    for (int i = 0; i < 3000; i++) {
        snprintf(names[i], sizeof names[i], "/r%d", i);
        routes[i] = names[i];
        span(&s, "GET", 200, 0.01);
        s.route = routes[i];
        fo_metrics_observe_http(m, &s);
    }
    cr_assert_eq(m->n_series, FO_METRICS_MAX_SERIES);
    const struct fo_http_series *o = &m->series[FO_METRICS_TABLE_SLOTS];
    cr_assert(o->used && o->key.overflow);
    cr_assert_eq(o->count, 1000);
    /* a known series still aggregates in place */
    s.route = routes[0];
    fo_metrics_observe_http(m, &s);
    cr_assert_eq(o->count, 1000);
    fo_metrics_del(m);
}

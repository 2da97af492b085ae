/* test_metrics.c - duration histograms: buckets, series, cardinality limit. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exporter/feast_metrics.h"
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

/* A 1 ms POST to a Feast route whose scanned body said `known`. */
static void feast_span(struct fo_span *s, const char *route, uint8_t kind, uint8_t known)
{
    span(s, "POST", 200, 1000000);
    s->route = route;
    s->rec.http.flags |= FO_HTTP_F_FEAST;
    s->rec.feast.kind = kind;
    s->rec.feast.known = known;
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

/* The tuple a request's HTTP series is keyed by, as the test tells it. */
struct kind {
    const char *method;
    const char *route;
    uint16_t status;
    uint8_t scheme, minor, aborted;
    uint64_t count;
};

/*
 * The aggregators reuse the last request's series when what chose it is the
 * same: requests that differ from the last in any one input, interleaved,
 * must each land in their own series.
 */
Test(metrics, runs_and_switches_of_every_kind_land_in_their_own_series)
{
    static const char *const methods[] = {"GET", "POST", "PURGE"};
    static const char *const routes[] = {NULL, "/a", "/b"};
    static const uint16_t statuses[] = {200, 404, 503};
    enum { KINDS = 3 * 3 * 3 * 2 * 2 * 2 };
    static struct kind want[KINDS];
    struct fo_metrics *m = fo_metrics_new();
    struct fo_feast_metrics *fm = fo_feast_metrics_new();
    uint32_t x = 7;
    for (int i = 0; i < 5000; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t r = (x >> 8) % KINDS;
        /* Runs of one kind, then a switch in one or more inputs. */
        int run = 1 + (int)(x >> 28);
        struct fo_span s;
        span(&s, methods[r % 3], statuses[r / 3 % 3], 20000000);
        s.route = routes[r / 9 % 3];
        s.rec.scheme = r / 27 % 2 ? FO_SCHEME_HTTPS : FO_SCHEME_HTTP;
        s.rec.http.version_minor = (uint8_t)(r / 54 % 2);
        if (r / 108 % 2)
            s.rec.http.flags |= FO_HTTP_F_ABORTED;
        for (int k = 0; k < run; k++) {
            fo_metrics_observe_http(m, &s);
            fo_feast_metrics_observe(fm, &s);
        }
        /* A 5xx is one series whether or not it was aborted too. */
        struct kind *w = &want[s.rec.http.status >= 500 ? r % 108 : r];
        w->method = strcmp(methods[r % 3], "PURGE") == 0 ? "_OTHER" : methods[r % 3];
        w->route = s.route;
        w->status = s.rec.http.status;
        w->scheme = s.rec.scheme;
        w->minor = s.rec.http.version_minor;
        w->aborted = s.rec.http.status < 500 && (s.rec.http.flags & FO_HTTP_F_ABORTED);
        w->count += (uint64_t)run;
    }
    /* HTTP duration series: one per kind, with exactly its count. */
    size_t seen = 0;
    for (int r = 0; r < KINDS; r++) {
        if (want[r].count == 0)
            continue;
        char err[8];
        if (want[r].status >= 500)
            snprintf(err, sizeof err, "%u", want[r].status);
        else
            strcpy(err, want[r].aborted ? "aborted" : "");
        size_t pos = 0, found = 0;
        const struct fo_http_series *h;
        while ((h = fo_metrics_next(m, &pos)) != NULL) {
            const struct fo_http_series_key *k = &h->key;
            if (strcmp(k->method, want[r].method) == 0 && k->route == want[r].route &&
                k->status == want[r].status && k->scheme == want[r].scheme &&
                k->version_minor == want[r].minor && strcmp(k->error_type, err) == 0) {
                cr_assert_eq(h->count, want[r].count, "kind %d: %llu, want %llu", r,
                             (unsigned long long)h->count, (unsigned long long)want[r].count);
                found++;
            }
        }
        cr_assert_eq(found, 1, "kind %d", r);
        seen++;
    }
    cr_assert_gt(seen, KINDS / 2);
    /* Feast's request counter: per endpoint (route, else method) and outcome. */
    for (size_t i = 0; i < fm->n_series; i++) {
        const struct fo_feast_series *fs = &fm->series[i];
        if (fs->family != FO_FF_REQUEST_TOTAL && fs->family != FO_FF_REQUEST_LATENCY)
            continue;
        uint64_t expect = 0;
        for (int r = 0; r < KINDS; r++) {
            const char *ep = want[r].route != NULL ? want[r].route : want[r].method;
            int ok = want[r].status < 400 && !want[r].aborted;
            /* (a 5xx is an error, aborted or not) */
            if (want[r].count > 0 && strcmp(fs->values[0], ep) == 0 &&
                (fs->family == FO_FF_REQUEST_LATENCY ||
                 strcmp(fs->values[1], ok ? "success" : "error") == 0))
                expect += want[r].count;
        }
        cr_assert_eq(fs->count, expect, "%s %s: %llu, want %llu", fs->values[0], fs->values[1],
                     (unsigned long long)fs->count, (unsigned long long)expect);
    }
    fo_metrics_del(m);
    fo_feast_metrics_del(fm);
}

/* A /get-online-features request whose distinct views were more than the
 * scanner counts: its latency series has no feature_view_count label (never
 * a guessed count), and is not mistaken for a known count's series. */
Test(metrics, an_unknown_view_count_leaves_the_label_out)
{
    struct fo_feast_metrics *fm = fo_feast_metrics_new();
    struct fo_span s;
    for (int round = 0; round < 2; round++) {
        for (int known = 1; known >= 0; known--) {
            feast_span(&s, "/get-online-features", FO_FEAST_BODY_GOF,
                       FO_FEAST_K_REQUEST | (known ? FO_FEAST_K_VIEW_COUNT : 0));
            s.rec.feast.feature_count = 300;
            s.rec.feast.view_count = known ? 128 : 0;
            s.rec.feast.entity_count = 1;
            fo_feast_metrics_observe(fm, &s);
        }
    }
    int seen = 0;
    for (size_t i = 0; i < fm->n_series; i++) {
        const struct fo_feast_series *fs = &fm->series[i];
        if (fs->family != FO_FF_REQUEST_LATENCY)
            continue;
        cr_assert_str_eq(fs->values[0], "/get-online-features");
        cr_assert_str_eq(fs->values[1], "300");
        cr_assert(strcmp(fs->values[2], "128") == 0 || fs->values[2][0] == '\0', "%s",
                  fs->values[2]);
        cr_assert_eq(fs->count, 2, "view count '%s'", fs->values[2]);
        seen++;
    }
    cr_assert_eq(seen, 2);
    fo_feast_metrics_del(fm);
}

/* A /materialize naming more views than the scanner keeps names of: the
 * rest count under "_other" (results and durations alike), and when their
 * number is unknown too they are left out rather than guessed. */
Test(metrics, materializations_past_the_kept_views_count_as_other)
{
    struct fo_feast_metrics *fm = fo_feast_metrics_new();
    struct fo_span s;
    for (int known = 1; known >= 0; known--) {
        feast_span(&s, "/materialize", FO_FEAST_BODY_MATERIALIZE,
                   FO_FEAST_K_REQUEST | (known ? FO_FEAST_K_VIEW_COUNT : 0));
        s.rec.feast.n_views = FO_FEAST_VIEWS_MAX;
        for (int v = 0; v < FO_FEAST_VIEWS_MAX; v++) {
            s.rec.feast.views[v].len = 2;
            s.rec.feast.views[v].s[0] = 'v';
            s.rec.feast.views[v].s[1] = (char)('0' + v);
        }
        s.rec.feast.view_count = known ? FO_FEAST_VIEWS_MAX + 3 : 0;
        fo_feast_metrics_observe(fm, &s);
    }
    uint64_t per_view[FO_FEAST_VIEWS_MAX] = {0}, other = 0, other_duration = 0;
    for (size_t i = 0; i < fm->n_series; i++) {
        const struct fo_feast_series *fs = &fm->series[i];
        if (fs->family != FO_FF_MATERIALIZATION_TOTAL &&
            fs->family != FO_FF_MATERIALIZATION_DURATION)
            continue;
        const char *view = fs->values[0];
        if (strcmp(view, "_other") == 0) {
            if (fs->family == FO_FF_MATERIALIZATION_TOTAL) {
                cr_assert_str_eq(fs->values[1], "success");
                other += fs->count;
            } else {
                other_duration += fs->count;
            }
            continue;
        }
        cr_assert(view[0] == 'v' && view[1] >= '0' && view[1] < '0' + FO_FEAST_VIEWS_MAX,
                  "%s", view);
        if (fs->family == FO_FF_MATERIALIZATION_TOTAL)
            per_view[view[1] - '0'] += fs->count;
    }
    for (int v = 0; v < FO_FEAST_VIEWS_MAX; v++)
        cr_assert_eq(per_view[v], 2, "view %d", v);
    cr_assert_eq(other, 3);
    cr_assert_eq(other_duration, 3);
    fo_feast_metrics_del(fm);
}

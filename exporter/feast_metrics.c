/* feast_metrics.c - Feast's metric families from request records (see feast_metrics.h). */
#include "feast_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static const double latency_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5,   1,    2.5,   5,    10};
static const double entity_bounds[] = {1, 5, 10, 25, 50, 100, 250, 500, 1000};
static const double materialize_bounds[] = {1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};

#define BOUNDS(b) (uint8_t)(sizeof b / sizeof b[0]), b

const struct fo_feast_family_desc fo_feast_families[FO_FF_FAMILIES] = {
    [FO_FF_REQUEST_TOTAL] = {"feast_feature_server_request", "",
                             "feast_feature_server_request_total",
                             "Feature server requests by endpoint and outcome.", 0, 0, NULL, 3,
                             {"endpoint", "status", "feature_service"}},
    [FO_FF_REQUEST_LATENCY] = {"feast_feature_server_request_latency", "s",
                               "feast_feature_server_request_latency_seconds",
                               "Feature server request latency.", 1, BOUNDS(latency_bounds), 4,
                               {"endpoint", "feature_count", "feature_view_count",
                                "feature_service"}},
    [FO_FF_ONLINE_REQUEST_TOTAL] = {"feast_online_features_request", "",
                                    "feast_online_features_request_total",
                                    "Online feature retrieval requests.", 0, 0, NULL, 0, {NULL}},
    [FO_FF_ENTITY_COUNT] = {"feast_online_features_entity_count", "",
                            "feast_online_features_entity_count",
                            "Entity rows per online feature retrieval request.", 1,
                            BOUNDS(entity_bounds), 0, {NULL}},
    [FO_FF_STATUS_TOTAL] = {"feast_online_features_status", "",
                            "feast_online_features_status_total",
                            "Feature values returned, by feature view and status.", 0, 0, NULL,
                            3, {"feature_view", "status", "feature_service"}},
    [FO_FF_PUSH_TOTAL] = {"feast_push_request", "", "feast_push_request_total",
                          "Push requests by push source and mode.", 0, 0, NULL, 2,
                          {"push_source", "mode"}},
    [FO_FF_MATERIALIZATION_TOTAL] = {"feast_materialization_result", "",
                                     "feast_materialization_result_total",
                                     "Materializations by feature view and outcome.", 0, 0,
                                     NULL, 2, {"feature_view", "status"}},
    [FO_FF_MATERIALIZATION_DURATION] = {"feast_materialization_duration", "s",
                                        "feast_materialization_duration_seconds",
                                        "Materialization duration by feature view.", 1,
                                        BOUNDS(materialize_bounds), 1, {"feature_view"}},
};

static const char *const status_labels[FO_FEAST_STATUSES] = {
    [FO_FEAST_PRESENT] = "present",     [FO_FEAST_NOT_FOUND] = "not_found",
    [FO_FEAST_NULL_VALUE] = "null_value", [FO_FEAST_OUTSIDE_MAX_AGE] = "outside_max_age",
    [FO_FEAST_INVALID] = "invalid",
};

static const char *const push_modes[] = {"online", "offline", "online_and_offline"};

struct fo_feast_metrics *fo_feast_metrics_new(void)
{
    struct fo_feast_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->series = calloc(FO_FF_MAX_SERIES, sizeof *m->series);
    if (m->series == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void fo_feast_metrics_del(struct fo_feast_metrics *m)
{
    if (m != NULL)
        free(m->series);
    free(m);
}

/* The series of family f with these label values (NULL or "" = absent). */
static struct fo_feast_series *find(struct fo_feast_metrics *m, uint8_t f,
                                    const char *const values[FO_FF_MAX_LABELS])
{
    int n_labels = fo_feast_families[f].n_labels;
    /* Consecutive requests mostly hit the series the last one did. */
    struct fo_feast_series *last = m->last[f];
    int same = last != NULL;
    for (int i = 0; i < n_labels && same; i++)
        same = strncmp(last->values[i], values[i] != NULL ? values[i] : "",
                       FO_FF_LABEL_MAX - 1) == 0;
    if (same)
        return last;
    char want[FO_FF_MAX_LABELS][FO_FF_LABEL_MAX];
    memset(want, 0, sizeof want);
    for (int i = 0; i < n_labels; i++)
        if (values[i] != NULL)
            memcpy(want[i], values[i], strnlen(values[i], FO_FF_LABEL_MAX - 1));
    for (size_t i = 0; i < m->n_series; i++) {
        struct fo_feast_series *s = &m->series[i];
        if (s->family == f && memcmp(s->values, want, sizeof want) == 0)
            return m->last[f] = s;
    }
    if (m->n_series == FO_FF_MAX_SERIES) {
        m->overflowed++;
        return NULL;
    }
    struct fo_feast_series *s = &m->series[m->n_series++];
    s->family = f;
    s->used = 1;
    memcpy(s->values, want, sizeof want);
    return m->last[f] = s;
}

static void count(struct fo_feast_metrics *m, uint8_t f, const char *a, const char *b,
                  const char *c, uint64_t n)
{
    const char *v[FO_FF_MAX_LABELS] = {a, b, c, NULL};
    struct fo_feast_series *s = find(m, f, v);
    if (s != NULL)
        s->count += n;
}

/* One observation x into histogram series s of family f. */
static void add(struct fo_feast_series *s, uint8_t f, double x)
{
    const struct fo_feast_family_desc *d = &fo_feast_families[f];
    size_t b = 0;
    while (b < d->n_bounds && x > d->bounds[b])
        b++;
    s->buckets[b]++;
    s->count++;
    s->sum += x;
}

static void observe(struct fo_feast_metrics *m, uint8_t f, const char *const v[FO_FF_MAX_LABELS],
                    double x)
{
    struct fo_feast_series *s = find(m, f, v);
    if (s != NULL)
        add(s, f, x);
}

static void name_str(const struct fo_feast_name *n, char out[FO_FF_LABEL_MAX])
{
    memcpy(out, n->s, n->len);
    out[n->len] = '\0';
}

const char *fo_feast_endpoint(const struct fo_span *s)
{
    if (s->route != NULL)
        return s->route;
    const struct fo_http_info *h = &s->rec.http;
    size_t n = h->method_len < FO_METHOD_MAX ? h->method_len : FO_METHOD_MAX;
    return fo_http_method_name(h->method, n);
}

/* The series of the two families every request counts in. Requests come in
 * runs of one kind: without a feature service, the last request's series are
 * told by what chose them (the endpoint's static string by address, the
 * outcome, the counts), before any label is compared. */
static void request_series(struct fo_feast_metrics *m, const char *endpoint, int ok,
                           const char *features, const char *views, const char *service,
                           const struct fo_ff_quick *key, struct fo_feast_series **total,
                           struct fo_feast_series **latency)
{
    struct fo_ff_quick *q = &m->quick;
    if (service[0] == '\0' && q->total != NULL && q->latency != NULL &&
        q->endpoint == key->endpoint && q->ok == key->ok && q->counts == key->counts &&
        q->features == key->features && q->views == key->views) {
        *total = q->total;
        *latency = q->latency;
        return;
    }
    const char *tv[FO_FF_MAX_LABELS] = {endpoint, ok ? "success" : "error", service, NULL};
    const char *lv[FO_FF_MAX_LABELS] = {endpoint, features, views, service};
    *total = find(m, FO_FF_REQUEST_TOTAL, tv);
    *latency = find(m, FO_FF_REQUEST_LATENCY, lv);
    *q = *key;
    q->total = service[0] == '\0' ? *total : NULL;
    q->latency = *latency;
}

void fo_feast_metrics_observe(struct fo_feast_metrics *m, const struct fo_span *s)
{
    const struct fo_http_info *h = &s->rec.http;
    const struct fo_feast_stats *st = &s->rec.feast;
    const char *endpoint = fo_feast_endpoint(s);
    int ok = h->status >= 200 && h->status < 400 && !(h->flags & FO_HTTP_F_ABORTED);
    int known = (h->flags & FO_HTTP_F_FEAST) && (st->known & FO_FEAST_K_REQUEST);
    char service[FO_FF_LABEL_MAX] = "";
    if (known && st->kind == FO_FEAST_BODY_GOF && (st->known & FO_FEAST_K_SERVICE))
        name_str(&st->name, service);
    double seconds = s->end_unix_ns > s->start_unix_ns
                         ? (double)(s->end_unix_ns - s->start_unix_ns) / 1e9
                         : 0;

    char features[16] = "", views[16] = "";
    struct fo_ff_quick key = {.endpoint = endpoint, .ok = (uint8_t)ok};
    if (known && st->kind == FO_FEAST_BODY_GOF && !(st->known & FO_FEAST_K_SERVICE)) {
        /* Past the views the scanner counts, the label is left out. */
        int views_known = (st->known & FO_FEAST_K_VIEW_COUNT) != 0;
        fo_utoa(st->feature_count, features);
        if (views_known)
            fo_utoa(st->view_count, views);
        key.counts = 1;
        key.features = st->feature_count;
        key.views = views_known ? st->view_count : UINT32_MAX;
    }
    struct fo_feast_series *total, *latency;
    request_series(m, endpoint, ok, features, views, service, &key, &total, &latency);
    if (total != NULL)
        total->count++;
    if (latency != NULL)
        add(latency, FO_FF_REQUEST_LATENCY, seconds);

    if (!(h->flags & FO_HTTP_F_FEAST))
        return;
    const char *none[FO_FF_MAX_LABELS] = {NULL};
    char name[FO_FF_LABEL_MAX];
    switch (st->kind) {
    case FO_FEAST_BODY_GOF:
        count(m, FO_FF_ONLINE_REQUEST_TOTAL, NULL, NULL, NULL, 1);
        if (known)
            observe(m, FO_FF_ENTITY_COUNT, none, st->entity_count);
        if (!(st->known & FO_FEAST_K_STATUSES))
            break;
        for (int v = 0; v <= FO_FEAST_VIEWS_MAX; v++) {
            if (v < FO_FEAST_VIEWS_MAX && v >= st->n_views)
                continue;
            if (v < FO_FEAST_VIEWS_MAX)
                name_str(&st->views[v], name);
            else
                snprintf(name, sizeof name, "%s", service[0] ? "" : "_other");
            for (int k = 0; k < FO_FEAST_STATUSES; k++)
                if (st->status[v][k] > 0)
                    count(m, FO_FF_STATUS_TOTAL, name, status_labels[k], service,
                          st->status[v][k]);
        }
        break;
    case FO_FEAST_BODY_PUSH:
        if (known && ok) {
            name_str(&st->name, name);
            count(m, FO_FF_PUSH_TOTAL, name, push_modes[st->push_mode % 3], NULL, 1);
        }
        break;
    case FO_FEAST_BODY_MATERIALIZE: {
        if (!known)
            break;
        /* Views past the kept names count under "_other", as returned
         * values do; when even their number is unknown, they are left out. */
        uint32_t rest = (st->known & FO_FEAST_K_VIEW_COUNT) && st->view_count > st->n_views
                            ? st->view_count - st->n_views
                            : 0;
        for (int v = 0; v <= st->n_views; v++) {
            uint32_t n = v < st->n_views ? 1 : rest;
            if (n == 0)
                continue;
            if (v < st->n_views)
                name_str(&st->views[v], name);
            else
                snprintf(name, sizeof name, "_other");
            count(m, FO_FF_MATERIALIZATION_TOTAL, name, ok ? "success" : "failure", NULL, n);
            const char *dv[FO_FF_MAX_LABELS] = {name, NULL, NULL, NULL};
            for (uint32_t k = 0; k < n; k++)
                observe(m, FO_FF_MATERIALIZATION_DURATION, dv, seconds);
        }
        break;
    }
    default:
        break;
    }
}

/* metrics.c - request-duration histograms per attribute set (see metrics.h). */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double fo_duration_bounds[FO_DURATION_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
};

/* Open-addressing table size: a power of two well above the limit. */
#define TABLE_SLOTS FO_METRICS_TABLE_SLOTS

const char *fo_http_method_name(const char *method, size_t len)
{
    static const char *const known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                        "CONNECT", "OPTIONS", "TRACE", "PATCH"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i]) == len && memcmp(known[i], method, len) == 0)
            return known[i];
    return "_OTHER";
}

void fo_http_error_type(const struct fo_record *r, char out[8])
{
    if (r->http.status >= 500 && r->http.status <= 599)
        snprintf(out, 8, "%u", r->http.status);
    else if (r->http.flags & FO_HTTP_F_ABORTED)
        strcpy(out, "aborted");
    else
        out[0] = '\0';
}

struct fo_metrics *fo_metrics_new(void)
{
    struct fo_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->series = calloc(TABLE_SLOTS + 1, sizeof *m->series);
    if (m->series == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void fo_metrics_del(struct fo_metrics *m)
{
    if (m != NULL)
        free(m->series);
    free(m);
}

static uint64_t hash_key(const struct fo_http_series_key *k)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a over the fields */
    const unsigned char *parts[] = {(const unsigned char *)k->method,
                                    (const unsigned char *)k->error_type};
    for (int p = 0; p < 2; p++)
        for (const unsigned char *c = parts[p]; *c; c++)
            h = (h ^ *c) * 1099511628211u;
    h = (h ^ (uintptr_t)k->route) * 1099511628211u;
    h = (h ^ k->status) * 1099511628211u;
    h = (h ^ (uint64_t)(k->scheme << 8 | k->version_minor)) * 1099511628211u;
    return h;
}

static int same_key(const struct fo_http_series_key *a, const struct fo_http_series_key *b)
{
    return a->route == b->route && a->status == b->status && a->scheme == b->scheme &&
           a->version_minor == b->version_minor && a->overflow == b->overflow &&
           strcmp(a->method, b->method) == 0 && strcmp(a->error_type, b->error_type) == 0;
}

static struct fo_http_series *find(struct fo_metrics *m, const struct fo_http_series_key *k)
{
    /* The overflow series lives in the extra slot past the table. */
    struct fo_http_series *overflow = &m->series[TABLE_SLOTS];
    size_t i = hash_key(k) & (TABLE_SLOTS - 1);
    for (;;) {
        struct fo_http_series *s = &m->series[i];
        if (!s->used) {
            if (m->n_series >= FO_METRICS_MAX_SERIES)
                break;
            s->used = 1;
            s->key = *k;
            m->n_series++;
            return s;
        }
        if (same_key(&s->key, k))
            return s;
        i = (i + 1) & (TABLE_SLOTS - 1);
    }
    if (!overflow->used) {
        memset(&overflow->key, 0, sizeof overflow->key);
        overflow->key.overflow = 1;
        overflow->used = 1;
    }
    return overflow;
}

void fo_metrics_observe_http(struct fo_metrics *m, const struct fo_span *s)
{
    struct fo_http_series_key k;
    memset(&k, 0, sizeof k);
    const char *method = fo_http_method_name(s->rec.http.method, s->rec.http.method_len);
    strcpy(k.method, method);
    k.route = s->route;
    k.status = s->rec.http.status;
    k.scheme = s->rec.scheme;
    k.version_minor = s->rec.http.version_minor;
    fo_http_error_type(&s->rec, k.error_type);

    struct fo_http_series *series = find(m, &k);
    double d = (double)(s->end_unix_ns - s->start_unix_ns) / 1e9;
    size_t b = 0;
    /* Buckets are (previous bound, bound]: a value on a bound counts there. */
    while (b < FO_DURATION_BUCKETS && d > fo_duration_bounds[b])
        b++;
    series->buckets[b]++;
    series->count++;
    series->sum += d;
}

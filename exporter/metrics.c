/* metrics.c - request-duration histograms per attribute set (see metrics.h). */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const double fo_duration_bounds[FO_DURATION_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
};

#define TABLE_SLOTS FO_METRICS_TABLE_SLOTS
#define OVERFLOW TABLE_SLOTS /* index of the overflow series */

/* By length, then at most two fixed-size compares: called per span by the
 * encoder and both aggregators. */
const char *fo_http_method_name(const char *method, size_t len)
{
#define IS(lit) (memcmp(method, lit, sizeof lit - 1) == 0)
    switch (len) {
    case 3:
        if (IS("GET"))
            return "GET";
        if (IS("PUT"))
            return "PUT";
        break;
    case 4:
        if (IS("POST"))
            return "POST";
        if (IS("HEAD"))
            return "HEAD";
        break;
    case 5:
        if (IS("PATCH"))
            return "PATCH";
        if (IS("TRACE"))
            return "TRACE";
        break;
    case 6:
        if (IS("DELETE"))
            return "DELETE";
        break;
    case 7:
        if (IS("OPTIONS"))
            return "OPTIONS";
        if (IS("CONNECT"))
            return "CONNECT";
        break;
    }
#undef IS
    return "_OTHER";
}

void fo_utoa(uint32_t x, char *out)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + x % 10);
        x /= 10;
    } while (x != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

void fo_http_error_type(const struct fo_record *r, char out[8])
{
    if (r->http.status >= 500)
        fo_utoa(r->http.status, out); /* a uint16_t: at most 5 digits */
    else if (r->http.flags & FO_HTTP_F_ABORTED)
        memcpy(out, "aborted", 8);
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
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_unix_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return m;
}

void fo_metrics_del(struct fo_metrics *m)
{
    if (m != NULL)
        free(m->series);
    free(m);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211u;
    return h;
}

static uint64_t hash_key(const struct fo_http_series_key *k)
{
    uint64_t h = 1469598103934665603u;
    h = fnv(h, k->method, strlen(k->method));
    /* Routes by content: two copies of one route are one series. */
    if (k->route != NULL)
        h = fnv(h, k->route, strlen(k->route) + 1);
    h = fnv(h, k->error_type, strlen(k->error_type));
    uint8_t tail[4] = {(uint8_t)k->status, (uint8_t)(k->status >> 8), k->scheme,
                       k->version_minor};
    return fnv(h, tail, sizeof tail);
}

static int same_route(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int same_key(const struct fo_http_series_key *a, const struct fo_http_series_key *b)
{
    return a->status == b->status && a->scheme == b->scheme &&
           a->version_minor == b->version_minor && same_route(a->route, b->route) &&
           strcmp(a->method, b->method) == 0 && strcmp(a->error_type, b->error_type) == 0;
}

/* The series for k: found, newly created, or the overflow series once the
 * table holds FO_METRICS_MAX_SERIES (the cardinality limit). */
static struct fo_http_series *find(struct fo_metrics *m, const struct fo_http_series_key *k)
{
    /* Linear probing always meets a free slot: the table is never more
     * than half full. */
    size_t i = hash_key(k) & (TABLE_SLOTS - 1);
    for (;;) {
        struct fo_http_series *s = &m->series[i];
        if (!s->used)
            break;
        if (same_key(&s->key, k))
            return s;
        i = (i + 1) & (TABLE_SLOTS - 1);
    }
    if (m->n_series < FO_METRICS_MAX_SERIES) {
        struct fo_http_series *s = &m->series[i];
        s->used = 1;
        s->key = *k;
        m->n_series++;
        return s;
    }
    struct fo_http_series *overflow = &m->series[OVERFLOW];
    if (!overflow->used) {
        memset(&overflow->key, 0, sizeof overflow->key);
        overflow->key.overflow = 1;
        overflow->used = 1;
    }
    return overflow;
}

/* The series of a request that is not of the last one's kind. */
static struct fo_http_series *choose(struct fo_metrics *m, const struct fo_span *s,
                                     const char *method, uint8_t aborted)
{
    const struct fo_http_info *h = &s->rec.http;
    struct fo_http_series_key k;
    memset(&k, 0, sizeof k);
    memcpy(k.method, method, strlen(method) + 1);
    k.route = s->route;
    k.status = h->status;
    k.scheme = s->rec.scheme;
    k.version_minor = h->version_minor;
    fo_http_error_type(&s->rec, k.error_type);
    struct fo_http_series *series = find(m, &k);
    /* The overflow series stands for many keys: never chosen by inputs. */
    m->last = series != &m->series[OVERFLOW] ? series : NULL;
    struct fo_http_last *in = &m->last_in;
    in->method = method;
    in->route = s->route;
    in->status = h->status;
    in->scheme = s->rec.scheme;
    in->version_minor = h->version_minor;
    in->aborted = aborted;
    return series;
}

void fo_metrics_observe_http(struct fo_metrics *m, const struct fo_span *s)
{
    const struct fo_http_info *h = &s->rec.http;
    size_t mlen = h->method_len < FO_METHOD_MAX ? h->method_len : FO_METHOD_MAX;
    const char *method = fo_http_method_name(h->method, mlen);
    /* Requests come in runs of one kind: the last series again, told by
     * what chose it (static strings by address), before building a key. */
    const struct fo_http_last *in = &m->last_in;
    uint8_t aborted = (h->flags & FO_HTTP_F_ABORTED) != 0;
    struct fo_http_series *series = m->last;
    if (series == NULL || in->method != method || in->route != s->route ||
        in->status != h->status || in->scheme != s->rec.scheme ||
        in->version_minor != h->version_minor || in->aborted != aborted)
        series = choose(m, s, method, aborted);
    uint64_t ns = s->end_unix_ns > s->start_unix_ns ? s->end_unix_ns - s->start_unix_ns : 0;
    double d = (double)ns / 1e9;
    size_t b = 0;
    /* Buckets are (previous bound, bound]: a value on a bound counts there.
     * ns / 1e9 rounds to the same double as the bound's literal. */
    while (b < FO_DURATION_BUCKETS && d > fo_duration_bounds[b])
        b++;
    series->buckets[b]++;
    series->count++;
    series->sum += d;
}

const struct fo_http_series *fo_metrics_next(const struct fo_metrics *m, size_t *pos)
{
    while (*pos <= OVERFLOW) {
        const struct fo_http_series *s = &m->series[(*pos)++];
        if (s->used)
            return s;
    }
    return NULL;
}

size_t fo_metrics_series_count(const struct fo_metrics *m)
{
    return m->n_series + m->series[OVERFLOW].used;
}

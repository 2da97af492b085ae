/* otlp_encode.c - OTLP protobuf encoding of spans and metrics (see otlp_encode.h). */
#include "otlp_encode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope Scope;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint NumberDataPoint;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint HistogramDataPoint;

#define STRING_VALUE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define INT_VALUE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define BOOL_VALUE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE
#define CUMULATIVE \
    OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE

struct fo_arena fo_encode_arena = {.limit = (size_t)256 << 20};

static void *arena_alloc(void *data, size_t size)
{
    return fo_arena_alloc(data, size);
}

static void arena_free(void *data, void *p)
{
    (void)data; /* released all at once by fo_arena_reset */
    (void)p;
}

/* Every allocation of a message tree goes through this one allocator, so
 * the encoder's memory is counted and limited in one place. */
static ProtobufCAllocator allocator = {arena_alloc, arena_free, &fo_encode_arena};

static void *alloc(size_t size)
{
    return allocator.alloc(allocator.allocator_data, size);
}

#define ALLOC(type) ((type *)alloc(sizeof(type)))
#define ALLOC_N(type, n) ((type *)alloc(sizeof(type) * (n)))

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one.
 * NUL counts as invalid: protobuf-c strings end at the first NUL. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c >= 0x01 && c <= 0x7f)
        return 1;
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                                            : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    /* The second byte's range excludes overlong forms, surrogates and
     * code points past U+10FFFF. */
    unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* A NUL-terminated, valid UTF-8 copy of s[0..n) in the arena: each byte
 * that starts no valid sequence becomes U+FFFD. Truncated records cut
 * multi-byte characters, and one invalid string makes a collector reject
 * the whole request. */
static char *dup_text(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t bad = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(u + i, n - i);
        bad += k == 0;
        i += k != 0 ? k : 1;
    }
    char *d = alloc(n + 2 * bad + 1);
    if (d == NULL)
        return NULL;
    if (bad == 0) {
        memcpy(d, s, n);
        d[n] = '\0';
        return d;
    }
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(u + i, n - i);
        if (k == 0) {
            memcpy(d + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(d + o, s + i, k);
            o += k;
            i += k;
        }
    }
    d[o] = '\0';
    return d;
}

/* A fixed-capacity list of attributes for one message. */
struct attrs {
    KeyValue **kv;
    size_t n, cap;
};

static int attrs_init(struct attrs *a, size_t cap)
{
    a->n = 0;
    a->cap = cap;
    a->kv = ALLOC_N(KeyValue *, cap > 0 ? cap : 1);
    return a->kv != NULL ? 0 : -1;
}

/* key must outlive the encode call (static, or already in the arena). */
static AnyValue *new_kv(struct attrs *a, const char *key)
{
    struct pair {
        KeyValue kv;
        AnyValue v;
    } *p = ALLOC(struct pair);
    if (a->n == a->cap || key == NULL || p == NULL)
        return NULL;
    opentelemetry__proto__common__v1__key_value__init(&p->kv);
    opentelemetry__proto__common__v1__any_value__init(&p->v);
    p->kv.key = (char *)key;
    p->kv.value = &p->v;
    a->kv[a->n++] = &p->kv;
    return &p->v;
}

/* The adders return 0, or -1 when out of memory. */
static int add_str_n(struct attrs *a, const char *key, const char *s, size_t n)
{
    AnyValue *v = new_kv(a, key);
    char *d = dup_text(s, n);
    if (v == NULL || d == NULL)
        return -1;
    v->value_case = STRING_VALUE;
    v->string_value = d;
    return 0;
}

static int add_str(struct attrs *a, const char *key, const char *s)
{
    return add_str_n(a, key, s, strlen(s));
}

static int add_int(struct attrs *a, const char *key, int64_t x)
{
    AnyValue *v = new_kv(a, key);
    if (v == NULL)
        return -1;
    v->value_case = INT_VALUE;
    v->int_value = x;
    return 0;
}

static Resource *encode_resource(const struct fo_resource *r)
{
    Resource *res = ALLOC(Resource);
    struct attrs a;
    if (res == NULL || attrs_init(&a, r->n) != 0)
        return NULL;
    opentelemetry__proto__resource__v1__resource__init(res);
    for (size_t i = 0; i < r->n; i++) {
        const struct fo_attr *at = &r->attrs[i];
        /* Keys come from OTEL_RESOURCE_ATTRIBUTES too: clean them as well. */
        const char *key = dup_text(at->key, strlen(at->key));
        if ((at->is_int ? add_int(&a, key, at->num) : add_str(&a, key, at->str)) != 0)
            return NULL;
    }
    res->n_attributes = a.n;
    res->attributes = a.kv;
    return res;
}

static Scope *scope(void)
{
    Scope *s = ALLOC(Scope);
    if (s != NULL) {
        opentelemetry__proto__common__v1__instrumentation_scope__init(s);
        s->name = "feast-otel";
        s->version = FO_VERSION;
    }
    return s;
}

/* Serialises msg after what out already holds. */
static int pack(const ProtobufCMessage *msg, struct fo_buf *out)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    if (fo_buf_reserve(out, size) != 0)
        return -ENOMEM;
    out->len += protobuf_c_message_pack(msg, out->data + out->len);
    return 0;
}

static size_t clamp(size_t n, size_t max)
{
    return n < max ? n : max;
}

static const char *const status_attrs[FO_FEAST_STATUSES] = {
    [FO_FEAST_PRESENT] = "feast.status.present",
    [FO_FEAST_NOT_FOUND] = "feast.status.not_found",
    [FO_FEAST_NULL_VALUE] = "feast.status.null_value",
    [FO_FEAST_OUTSIDE_MAX_AGE] = "feast.status.outside_max_age",
    [FO_FEAST_INVALID] = "feast.status.invalid",
};

/* The Feast statistics of a request as span attributes (only what is known). */
static int feast_attrs(struct attrs *a, const struct fo_feast_stats *st)
{
    int rc = 0;
    if (!(st->known & FO_FEAST_K_REQUEST))
        return 0;
    size_t name_len = clamp(st->name.len, FO_FEAST_NAME_MAX);
    if (st->kind == FO_FEAST_BODY_GOF) {
        rc |= add_int(a, "feast.entity_count", st->entity_count);
        if (st->known & FO_FEAST_K_SERVICE) {
            rc |= add_str_n(a, "feast.feature_service", st->name.s, name_len);
        } else {
            rc |= add_int(a, "feast.feature_count", st->feature_count);
            rc |= add_int(a, "feast.feature_view_count", st->view_count);
        }
        for (int k = 0; k < FO_FEAST_STATUSES && (st->known & FO_FEAST_K_STATUSES); k++) {
            uint64_t n = 0;
            for (int v = 0; v <= FO_FEAST_VIEWS_MAX; v++)
                n += st->status[v][k];
            rc |= add_int(a, status_attrs[k], (int64_t)n);
        }
    } else if (st->kind == FO_FEAST_BODY_PUSH) {
        static const char *const modes[] = {"online", "offline", "online_and_offline"};
        rc |= add_str_n(a, "feast.push_source", st->name.s, name_len);
        rc |= add_str(a, "feast.push_mode", modes[st->push_mode % 3]);
    } else if (st->kind == FO_FEAST_BODY_MATERIALIZE) {
        rc |= add_int(a, "feast.feature_view_count", st->view_count);
    }
    return rc;
}

static int span_attrs(Span *sp, const struct fo_span *s, const char *method, const char *err)
{
    const struct fo_http_info *h = &s->rec.http;
    struct attrs a;
    if (attrs_init(&a, 24) != 0)
        return -1;
    char addr[INET6_ADDRSTRLEN] = "";
    if (s->rec.peer_family == AF_INET || s->rec.peer_family == AF_INET6)
        inet_ntop(s->rec.peer_family, s->rec.peer_addr, addr, sizeof addr);
    /* Lengths come from another thread's record: never trust them past
     * their arrays. */
    size_t target_len = clamp(h->target_len, FO_TARGET_MAX);
    int rc = add_str(&a, "http.request.method", method);
    if (strcmp(method, "_OTHER") == 0)
        rc |= add_str_n(&a, "http.request.method_original", h->method,
                        clamp(h->method_len, FO_METHOD_MAX));
    /* Only the path: the query string may hold secrets. */
    rc |= add_str_n(&a, "url.path", h->target, clamp(s->path_len, target_len));
    rc |= add_str(&a, "url.scheme", s->rec.scheme == FO_SCHEME_HTTPS ? "https" : "http");
    if (s->route != NULL)
        rc |= add_str(&a, "http.route", s->route);
    if (h->status != 0)
        rc |= add_int(&a, "http.response.status_code", h->status);
    rc |= add_str(&a, "network.protocol.version", h->version_minor ? "1.1" : "1.0");
    if (s->rec.local_port != 0)
        rc |= add_int(&a, "server.port", s->rec.local_port);
    if (addr[0] != '\0') {
        rc |= add_str(&a, "client.address", addr);
        rc |= add_int(&a, "client.port", s->rec.peer_port);
    }
    if (h->ua_len > 0)
        rc |= add_str_n(&a, "user_agent.original", h->user_agent, clamp(h->ua_len, FO_UA_MAX));
    if (err[0] != '\0')
        rc |= add_str(&a, "error.type", err);
    if (h->flags & FO_HTTP_F_FEAST)
        rc |= feast_attrs(&a, &s->rec.feast);
    sp->n_attributes = a.n;
    sp->attributes = a.kv;
    return rc;
}

static Span *encode_span(const struct fo_span *s)
{
    struct ids {
        uint8_t trace[16], span[8], parent[8];
    } *ids = ALLOC(struct ids);
    Span *sp = ALLOC(Span);
    if (sp == NULL || ids == NULL)
        return NULL;
    opentelemetry__proto__trace__v1__span__init(sp);
    memcpy(ids->trace, s->trace_id, 16);
    memcpy(ids->span, s->span_id, 8);
    memcpy(ids->parent, s->parent_span_id, 8);
    sp->trace_id = (ProtobufCBinaryData){16, ids->trace};
    sp->span_id = (ProtobufCBinaryData){8, ids->span};
    if (s->has_parent)
        sp->parent_span_id = (ProtobufCBinaryData){8, ids->parent};
    const struct fo_http_info *h = &s->rec.http;
    const char *method = fo_http_method_name(h->method, clamp(h->method_len, FO_METHOD_MAX));
    /* The conventions name a span of an unknown method "HTTP". */
    const char *verb = strcmp(method, "_OTHER") == 0 ? "HTTP" : method;
    char name[160];
    int n = s->route != NULL ? snprintf(name, sizeof name, "%s %s", verb, s->route)
                             : snprintf(name, sizeof name, "%s", verb);
    sp->name = dup_text(name, clamp((size_t)n, sizeof name - 1));
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    sp->start_time_unix_nano = s->start_unix_ns;
    sp->end_time_unix_nano = s->end_unix_ns;
    char err[8];
    fo_http_error_type(&s->rec, err);
    if (sp->name == NULL || span_attrs(sp, s, method, err) != 0)
        return NULL;
    /* Server spans: 5xx and aborted exchanges are errors; 4xx are the
     * client's and leave the status unset. */
    if (err[0] != '\0') {
        Opentelemetry__Proto__Trace__V1__Status *st =
            ALLOC(Opentelemetry__Proto__Trace__V1__Status);
        if (st == NULL)
            return NULL;
        opentelemetry__proto__trace__v1__status__init(st);
        st->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
        sp->status = st;
    }
    return sp;
}

int fo_otlp_encode_traces(const struct fo_resource *r, const struct fo_span *spans, size_t n,
                          struct fo_buf *out)
{
    fo_arena_reset(&fo_encode_arena);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
    opentelemetry__proto__trace__v1__resource_spans__init(&rs);
    opentelemetry__proto__trace__v1__scope_spans__init(&ss);
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp = &rs;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp = &ss;
    req.n_resource_spans = 1;
    req.resource_spans = &rsp;
    rs.n_scope_spans = 1;
    rs.scope_spans = &ssp;
    rs.resource = encode_resource(r);
    ss.scope = scope();
    ss.spans = ALLOC_N(Span *, n > 0 ? n : 1);
    int rc = rs.resource != NULL && ss.scope != NULL && ss.spans != NULL ? 0 : -ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((ss.spans[i] = encode_span(&spans[i])) == NULL)
            rc = -ENOMEM;
        ss.n_spans = i + 1;
    }
    if (rc == 0)
        rc = pack(&req.base, out);
    fo_arena_reset(&fo_encode_arena);
    return rc;
}

static Metric *new_metric(const char *name, const char *unit, const char *desc)
{
    Metric *m = ALLOC(Metric);
    if (m != NULL) {
        opentelemetry__proto__metrics__v1__metric__init(m);
        m->name = (char *)name;
        m->unit = (char *)unit;
        m->description = (char *)desc;
    }
    return m;
}

static NumberDataPoint *number_point(uint64_t start, uint64_t now)
{
    NumberDataPoint *p = ALLOC(NumberDataPoint);
    if (p != NULL) {
        opentelemetry__proto__metrics__v1__number_data_point__init(p);
        p->start_time_unix_nano = start;
        p->time_unix_nano = now;
    }
    return p;
}

static NumberDataPoint *double_point(double v, uint64_t start, uint64_t now)
{
    NumberDataPoint *p = number_point(start, now);
    if (p != NULL) {
        p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
        p->as_double = v;
    }
    return p;
}

static NumberDataPoint *int_point(uint64_t v, uint64_t start, uint64_t now)
{
    NumberDataPoint *p = number_point(start, now);
    if (p != NULL) {
        p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
        p->as_int = v > INT64_MAX ? INT64_MAX : (int64_t)v;
    }
    return p;
}

/* p with one string attribute; NULL when p is NULL or out of memory. */
static NumberDataPoint *with_attr(NumberDataPoint *p, const char *key, const char *value)
{
    struct attrs a;
    if (p == NULL || attrs_init(&a, 1) != 0 || add_str(&a, key, value) != 0)
        return NULL;
    p->n_attributes = a.n;
    p->attributes = a.kv;
    return p;
}

/* A gauge of one point; NULL when p is NULL or out of memory. */
static Metric *gauge(const char *name, const char *unit, const char *desc, NumberDataPoint *p)
{
    Metric *m = new_metric(name, unit, desc);
    Opentelemetry__Proto__Metrics__V1__Gauge *g = ALLOC(Opentelemetry__Proto__Metrics__V1__Gauge);
    NumberDataPoint **pts = ALLOC_N(NumberDataPoint *, 1);
    if (m == NULL || g == NULL || pts == NULL || p == NULL)
        return NULL;
    opentelemetry__proto__metrics__v1__gauge__init(g);
    pts[0] = p;
    g->n_data_points = 1;
    g->data_points = pts;
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    m->gauge = g;
    return m;
}

/* A cumulative sum of the n points in p (n <= 2); NULL when any point is
 * NULL or out of memory. */
/* A sum of n points (at most 3: a, b, c in order). */
static Metric *sum3(const char *name, const char *unit, const char *desc, int monotonic,
                    size_t n, NumberDataPoint *a, NumberDataPoint *b, NumberDataPoint *c)
{
    Metric *m = new_metric(name, unit, desc);
    Opentelemetry__Proto__Metrics__V1__Sum *s = ALLOC(Opentelemetry__Proto__Metrics__V1__Sum);
    NumberDataPoint **pts = ALLOC_N(NumberDataPoint *, 3);
    if (m == NULL || s == NULL || pts == NULL || a == NULL || (n >= 2 && b == NULL) ||
        (n == 3 && c == NULL))
        return NULL;
    opentelemetry__proto__metrics__v1__sum__init(s);
    pts[0] = a;
    pts[1] = b;
    pts[2] = c;
    s->n_data_points = n;
    s->data_points = pts;
    s->aggregation_temporality = CUMULATIVE;
    s->is_monotonic = monotonic;
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    m->sum = s;
    return m;
}

static Metric *sum(const char *name, const char *unit, const char *desc, int monotonic,
                   size_t n, NumberDataPoint *a, NumberDataPoint *b)
{
    return sum3(name, unit, desc, monotonic, n, a, b, NULL);
}

static HistogramDataPoint *histogram_point(const struct fo_http_series *s, uint64_t start,
                                           uint64_t now)
{
    HistogramDataPoint *p = ALLOC(HistogramDataPoint);
    struct attrs a;
    if (p == NULL || attrs_init(&a, 6) != 0)
        return NULL;
    opentelemetry__proto__metrics__v1__histogram_data_point__init(p);
    p->start_time_unix_nano = start;
    p->time_unix_nano = now;
    p->count = s->count;
    /* proto3 "optional" was stripped for protoc-c: a sum of exactly 0 is
     * not sent and reads as absent, which only all-zero durations give. */
    p->sum = s->sum;
    p->n_bucket_counts = FO_DURATION_BUCKETS + 1;
    p->bucket_counts = (uint64_t *)s->buckets; /* pack only reads them */
    p->n_explicit_bounds = FO_DURATION_BUCKETS;
    p->explicit_bounds = (double *)fo_duration_bounds;
    const struct fo_http_series_key *k = &s->key;
    int rc = 0;
    if (k->overflow) {
        AnyValue *v = new_kv(&a, "otel.metric.overflow");
        if (v == NULL)
            return NULL;
        v->value_case = BOOL_VALUE;
        v->bool_value = 1;
    } else {
        rc |= add_str(&a, "http.request.method", k->method);
        rc |= add_str(&a, "url.scheme", k->scheme == FO_SCHEME_HTTPS ? "https" : "http");
        rc |= add_str(&a, "network.protocol.version", k->version_minor ? "1.1" : "1.0");
        if (k->route != NULL)
            rc |= add_str(&a, "http.route", k->route);
        if (k->status != 0)
            rc |= add_int(&a, "http.response.status_code", k->status);
        if (k->error_type[0] != '\0')
            rc |= add_str(&a, "error.type", k->error_type);
    }
    p->n_attributes = a.n;
    p->attributes = a.kv;
    return rc == 0 ? p : NULL;
}

static Metric *duration_histogram(const struct fo_metrics *m, uint64_t now)
{
    size_t n = fo_metrics_series_count(m);
    Metric *metric = new_metric("http.server.request.duration", "s",
                                "Duration of HTTP server requests.");
    Opentelemetry__Proto__Metrics__V1__Histogram *h =
        ALLOC(Opentelemetry__Proto__Metrics__V1__Histogram);
    HistogramDataPoint **pts = ALLOC_N(HistogramDataPoint *, n);
    if (metric == NULL || h == NULL || pts == NULL)
        return NULL;
    opentelemetry__proto__metrics__v1__histogram__init(h);
    size_t pos = 0, k = 0;
    const struct fo_http_series *s;
    while ((s = fo_metrics_next(m, &pos)) != NULL && k < n)
        if ((pts[k++] = histogram_point(s, m->start_unix_ns, now)) == NULL)
            return NULL;
    h->n_data_points = k;
    h->data_points = pts;
    h->aggregation_temporality = CUMULATIVE;
    metric->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
    metric->histogram = h;
    return metric;
}

#define MAX_METRICS (16 + FO_FF_FAMILIES)

/* Feast's families: one metric per family that has series. */
static size_t feast_metrics(Metric **list, const struct fo_feast_metrics *fm, uint64_t start,
                            uint64_t now)
{
    size_t out = 0;
    for (uint8_t f = 0; f < FO_FF_FAMILIES; f++) {
        const struct fo_feast_family_desc *d = &fo_feast_families[f];
        size_t n = 0;
        for (size_t i = 0; i < fm->n_series; i++)
            n += fm->series[i].family == f;
        if (n == 0)
            continue;
        Metric *m = new_metric(d->otlp_name, d->unit, d->help);
        Opentelemetry__Proto__Metrics__V1__Sum *sum_ = NULL;
        Opentelemetry__Proto__Metrics__V1__Histogram *hist = NULL;
        NumberDataPoint **npts = NULL;
        HistogramDataPoint **hpts = NULL;
        if (d->histogram) {
            hist = ALLOC(Opentelemetry__Proto__Metrics__V1__Histogram);
            hpts = ALLOC_N(HistogramDataPoint *, n);
        } else {
            sum_ = ALLOC(Opentelemetry__Proto__Metrics__V1__Sum);
            npts = ALLOC_N(NumberDataPoint *, n);
        }
        if (m == NULL || (d->histogram ? hist == NULL || hpts == NULL
                                       : sum_ == NULL || npts == NULL)) {
            list[out++] = NULL;
            return out;
        }
        size_t k = 0;
        for (size_t i = 0; i < fm->n_series; i++) {
            const struct fo_feast_series *s = &fm->series[i];
            if (s->family != f)
                continue;
            struct attrs a;
            int rc = attrs_init(&a, d->n_labels);
            for (int l = 0; l < d->n_labels && rc == 0; l++)
                if (s->values[l][0] != '\0')
                    rc |= add_str(&a, d->labels[l], s->values[l]);
            if (d->histogram) {
                HistogramDataPoint *p = ALLOC(HistogramDataPoint);
                if (rc != 0 || p == NULL) {
                    list[out++] = NULL;
                    return out;
                }
                opentelemetry__proto__metrics__v1__histogram_data_point__init(p);
                p->start_time_unix_nano = start;
                p->time_unix_nano = now;
                p->count = s->count;
                p->sum = s->sum;
                p->n_bucket_counts = (size_t)d->n_bounds + 1;
                p->bucket_counts = (uint64_t *)s->buckets;
                p->n_explicit_bounds = d->n_bounds;
                p->explicit_bounds = (double *)d->bounds;
                p->n_attributes = a.n;
                p->attributes = a.kv;
                hpts[k++] = p;
            } else {
                NumberDataPoint *p = int_point(s->count, start, now);
                if (rc != 0 || p == NULL) {
                    list[out++] = NULL;
                    return out;
                }
                p->n_attributes = a.n;
                p->attributes = a.kv;
                npts[k++] = p;
            }
        }
        if (d->histogram) {
            opentelemetry__proto__metrics__v1__histogram__init(hist);
            hist->n_data_points = k;
            hist->data_points = hpts;
            hist->aggregation_temporality = CUMULATIVE;
            m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
            m->histogram = hist;
        } else {
            opentelemetry__proto__metrics__v1__sum__init(sum_);
            sum_->n_data_points = k;
            sum_->data_points = npts;
            sum_->aggregation_temporality = CUMULATIVE;
            sum_->is_monotonic = 1;
            m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
            m->sum = sum_;
        }
        list[out++] = m;
    }
    return out;
}

/* Appends the process gauges and sums of ps to list; returns the count. */
static size_t process_metrics(Metric **list, const struct fo_proc_sample *ps, uint64_t start,
                              uint64_t now)
{
    size_t n = 0;
    /* Gauges without a unit, so a Prometheus translation keeps Feast's
     * exact series names; no start time, as for every gauge. */
    list[n++] = gauge("feast_feature_server_cpu_usage", "",
                      "CPU usage of the process in percent of one CPU since the previous sample.",
                      double_point(ps->cpu_percent, 0, now));
    list[n++] = gauge("feast_feature_server_memory_usage", "",
                      "Resident memory of the process in percent of the machine's memory.",
                      double_point(ps->mem_percent, 0, now));
    list[n++] = sum("process.cpu.time", "s", "Total CPU seconds of the process.", 1, 2,
                    with_attr(double_point(ps->cpu_user_s, start, now), "cpu.mode", "user"),
                    with_attr(double_point(ps->cpu_system_s, start, now), "cpu.mode", "system"));
    list[n++] = sum("process.memory.usage", "By", "Resident memory of the process.", 0, 1,
                    int_point(ps->rss_bytes, start, now), NULL);
    list[n++] = sum("process.memory.virtual", "By", "Virtual memory of the process.", 0, 1,
                    int_point(ps->vm_bytes, start, now), NULL);
    list[n++] = sum("process.thread.count", "{thread}", "Threads of the process.", 0, 1,
                    int_point(ps->threads, start, now), NULL);
    return n;
}

/* Appends the library's own counters to list; returns the count. */
static size_t self_metrics(Metric **list, const struct fo_self_stats *self, uint64_t start,
                           uint64_t now)
{
    size_t n = 0;
    list[n++] = sum("feast_otel.records.dropped", "{record}",
                    "Requests not measured because the record ring was full.", 1, 1,
                    with_attr(int_point(self->records_dropped_ring, start, now), "reason",
                              "ring_full"),
                    NULL);
    list[n++] = sum3("feast_otel.spans.dropped", "{span}", "Spans lost, by cause.", 1, 3,
                     with_attr(int_point(self->spans_dropped_queue, start, now), "reason",
                               "queue_full"),
                     with_attr(int_point(self->spans_export_failed, start, now), "reason",
                               "export_failed"),
                     with_attr(int_point(self->spans_rejected, start, now), "reason",
                               "rejected"));
    list[n++] = sum("feast_otel.spans.exported", "{span}", "Spans the collector accepted.", 1,
                    1, int_point(self->spans_exported, start, now), NULL);
    list[n++] = sum("feast_otel.metric_exports.failed", "{export}",
                    "Metric exports the collector did not take, by cause.", 1, 2,
                    with_attr(int_point(self->metric_exports_failed, start, now), "reason",
                              "export_failed"),
                    with_attr(int_point(self->metric_exports_rejected, start, now), "reason",
                              "rejected"));
    list[n++] = sum("feast_otel.metric_points.rejected", "{data_point}",
                    "Data points a partial success rejected.", 1, 1,
                    int_point(self->metric_points_rejected, start, now), NULL);
    return n;
}

int fo_otlp_encode_metrics(const struct fo_resource *r, const struct fo_metrics *m,
                           const struct fo_feast_metrics *fm, const struct fo_proc_sample *ps,
                           const struct fo_self_stats *self, uint64_t start, uint64_t now,
                           struct fo_buf *out)
{
    fo_arena_reset(&fo_encode_arena);
    Metric **list = ALLOC_N(Metric *, MAX_METRICS);
    if (list == NULL) {
        fo_arena_reset(&fo_encode_arena);
        return -ENOMEM;
    }
    size_t n = 0;
    /* No request yet: no histogram point to report. */
    if (fo_metrics_series_count(m) > 0)
        list[n++] = duration_histogram(m, now);
    if (fm != NULL)
        n += feast_metrics(list + n, fm, m->start_unix_ns, now);
    /* A failed sample is all zero: reporting 0 bytes of memory would lie. */
    if (ps != NULL && ps->time_ns != 0)
        n += process_metrics(list + n, ps, start, now);
    n += self_metrics(list + n, self, start, now);

    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics rm;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics sm;
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(&req);
    opentelemetry__proto__metrics__v1__resource_metrics__init(&rm);
    opentelemetry__proto__metrics__v1__scope_metrics__init(&sm);
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rmp = &rm;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *smp = &sm;
    req.n_resource_metrics = 1;
    req.resource_metrics = &rmp;
    rm.n_scope_metrics = 1;
    rm.scope_metrics = &smp;
    rm.resource = encode_resource(r);
    sm.scope = scope();
    sm.n_metrics = n;
    sm.metrics = list;
    int rc = rm.resource != NULL && sm.scope != NULL ? 0 : -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (list[i] == NULL)
            rc = -ENOMEM;
    if (rc == 0)
        rc = pack(&req.base, out);
    fo_arena_reset(&fo_encode_arena);
    return rc;
}

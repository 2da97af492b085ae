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
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint NumberDataPoint;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint HistogramDataPoint;

struct fo_arena fo_encode_arena = {.limit = (size_t)256 << 20};

#define ALLOC(type) ((type *)fo_arena_alloc(&fo_encode_arena, sizeof(type)))
#define ALLOC_N(type, n) ((type *)fo_arena_alloc(&fo_encode_arena, sizeof(type) * (n)))

/* A growing list of attributes for one message. */
struct attrs {
    KeyValue **kv;
    size_t n, cap;
};

static char *dup_n(const char *s, size_t n)
{
    char *d = fo_arena_alloc(&fo_encode_arena, n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static KeyValue *new_kv(struct attrs *a, const char *key)
{
    if (a->n == a->cap)
        return NULL;
    KeyValue *kv = ALLOC(KeyValue);
    AnyValue *v = ALLOC(AnyValue);
    if (kv == NULL || v == NULL)
        return NULL;
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    kv->key = (char *)key;
    kv->value = v;
    a->kv[a->n++] = kv;
    return kv;
}

/* Each adder returns 0, or -1 when out of memory. */
static int add_str_n(struct attrs *a, const char *key, const char *s, size_t n)
{
    KeyValue *kv = new_kv(a, key);
    char *d = dup_n(s, n);
    if (kv == NULL || d == NULL)
        return -1;
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    kv->value->string_value = d;
    return 0;
}

static int add_str(struct attrs *a, const char *key, const char *s)
{
    return add_str_n(a, key, s, strlen(s));
}

static int add_int(struct attrs *a, const char *key, int64_t x)
{
    KeyValue *kv = new_kv(a, key);
    if (kv == NULL)
        return -1;
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    kv->value->int_value = x;
    return 0;
}

static int attrs_init(struct attrs *a, size_t cap)
{
    a->n = 0;
    a->cap = cap;
    a->kv = ALLOC_N(KeyValue *, cap);
    return a->kv != NULL ? 0 : -1;
}

static Opentelemetry__Proto__Resource__V1__Resource *encode_resource(const struct fo_resource *r)
{
    Opentelemetry__Proto__Resource__V1__Resource *res =
        ALLOC(Opentelemetry__Proto__Resource__V1__Resource);
    struct attrs a;
    if (res == NULL || attrs_init(&a, r->n) != 0)
        return NULL;
    opentelemetry__proto__resource__v1__resource__init(res);
    for (size_t i = 0; i < r->n; i++) {
        const struct fo_attr *at = &r->attrs[i];
        if ((at->is_int ? add_int(&a, at->key, at->num) : add_str(&a, at->key, at->str)) != 0)
            return NULL;
    }
    res->n_attributes = a.n;
    res->attributes = a.kv;
    return res;
}

static Opentelemetry__Proto__Common__V1__InstrumentationScope *scope(void)
{
    Opentelemetry__Proto__Common__V1__InstrumentationScope *s =
        ALLOC(Opentelemetry__Proto__Common__V1__InstrumentationScope);
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

static int span_attrs(Span *sp, const struct fo_span *s)
{
    const struct fo_http_info *h = &s->rec.http;
    struct attrs a;
    if (attrs_init(&a, 14) != 0)
        return -1;
    const char *method = fo_http_method_name(h->method, h->method_len);
    char err[8];
    fo_http_error_type(&s->rec, err);
    char addr[INET6_ADDRSTRLEN] = "";
    if (s->rec.peer_family == AF_INET || s->rec.peer_family == AF_INET6)
        inet_ntop(s->rec.peer_family, s->rec.peer_addr, addr, sizeof addr);
    int rc = add_str(&a, "http.request.method", method);
    if (strcmp(method, "_OTHER") == 0)
        rc |= add_str_n(&a, "http.request.method_original", h->method, h->method_len);
    rc |= add_str_n(&a, "url.path", h->target, s->path_len);
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
        rc |= add_str_n(&a, "user_agent.original", h->user_agent, h->ua_len);
    if (err[0] != '\0')
        rc |= add_str(&a, "error.type", err);
    sp->n_attributes = a.n;
    sp->attributes = a.kv;
    return rc;
}

static Span *encode_span(const struct fo_span *s)
{
    Span *sp = ALLOC(Span);
    uint8_t *ids = fo_arena_alloc(&fo_encode_arena, 32);
    if (sp == NULL || ids == NULL)
        return NULL;
    opentelemetry__proto__trace__v1__span__init(sp);
    memcpy(ids, s->trace_id, 16);
    memcpy(ids + 16, s->span_id, 8);
    memcpy(ids + 24, s->parent_span_id, 8);
    sp->trace_id = (ProtobufCBinaryData){16, ids};
    sp->span_id = (ProtobufCBinaryData){8, ids + 16};
    if (s->has_parent)
        sp->parent_span_id = (ProtobufCBinaryData){8, ids + 24};
    const struct fo_http_info *h = &s->rec.http;
    const char *method = fo_http_method_name(h->method, h->method_len);
    if (strcmp(method, "_OTHER") == 0)
        method = "HTTP";
    char name[128];
    int n = s->route != NULL ? snprintf(name, sizeof name, "%s %s", method, s->route)
                             : snprintf(name, sizeof name, "%s", method);
    sp->name = dup_n(name, (size_t)n < sizeof name ? (size_t)n : sizeof name - 1);
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    sp->start_time_unix_nano = s->start_unix_ns;
    sp->end_time_unix_nano = s->end_unix_ns;
    if (sp->name == NULL || span_attrs(sp, s) != 0)
        return NULL;
    /* Server spans: 5xx and aborted exchanges are errors, 4xx are not. */
    if (h->status >= 500 || (h->flags & FO_HTTP_F_ABORTED)) {
        Opentelemetry__Proto__Trace__V1__Status *st = ALLOC(Opentelemetry__Proto__Trace__V1__Status);
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
        ss.spans[i] = encode_span(&spans[i]);
        if (ss.spans[i] == NULL)
            rc = -ENOMEM;
        ss.n_spans = i + 1;
    }
    if (rc == 0)
        rc = pack(&req.base, out);
    fo_arena_reset(&fo_encode_arena);
    return rc;
}

/* A metric with its data case set up; points are added by the callers. */
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

static NumberDataPoint *int_point(int64_t v, uint64_t start, uint64_t now)
{
    NumberDataPoint *p = number_point(start, now);
    if (p != NULL) {
        p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
        p->as_int = v;
    }
    return p;
}

/* A point with one string attribute. */
static NumberDataPoint *with_attr(NumberDataPoint *p, const char *key, const char *value)
{
    struct attrs a;
    if (p == NULL || attrs_init(&a, 1) != 0 || add_str(&a, key, value) != 0)
        return NULL;
    p->n_attributes = a.n;
    p->attributes = a.kv;
    return p;
}

static Metric *gauge(const char *name, const char *unit, const char *desc,
                     NumberDataPoint *p)
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

/* A cumulative sum of up to two points (NULL b for one). */
static Metric *sum(const char *name, const char *unit, const char *desc, int monotonic,
                   NumberDataPoint *a, NumberDataPoint *b)
{
    Metric *m = new_metric(name, unit, desc);
    Opentelemetry__Proto__Metrics__V1__Sum *s = ALLOC(Opentelemetry__Proto__Metrics__V1__Sum);
    NumberDataPoint **pts = ALLOC_N(NumberDataPoint *, 2);
    if (m == NULL || s == NULL || pts == NULL || a == NULL)
        return NULL;
    opentelemetry__proto__metrics__v1__sum__init(s);
    pts[0] = a;
    pts[1] = b;
    s->n_data_points = b != NULL ? 2 : 1;
    s->data_points = pts;
    s->aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    s->is_monotonic = monotonic;
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    m->sum = s;
    return m;
}

static HistogramDataPoint *histogram_point(const struct fo_http_series *s, uint64_t start,
                                           uint64_t now)
{
    HistogramDataPoint *p = ALLOC(HistogramDataPoint);
    struct attrs a;
    if (p == NULL || attrs_init(&a, 7) != 0)
        return NULL;
    opentelemetry__proto__metrics__v1__histogram_data_point__init(p);
    p->start_time_unix_nano = start;
    p->time_unix_nano = now;
    p->count = s->count;
    p->sum = s->sum;
    p->n_bucket_counts = FO_DURATION_BUCKETS + 1;
    p->bucket_counts = (uint64_t *)s->buckets;
    p->n_explicit_bounds = FO_DURATION_BUCKETS;
    p->explicit_bounds = (double *)fo_duration_bounds;
    const struct fo_http_series_key *k = &s->key;
    int rc = 0;
    if (k->overflow) {
        KeyValue *kv = new_kv(&a, "otel.metric.overflow");
        if (kv == NULL)
            return NULL;
        kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        kv->value->bool_value = 1;
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

static Metric *duration_histogram(const struct fo_metrics *m, uint64_t start, uint64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i <= FO_METRICS_TABLE_SLOTS; i++)
        n += m->series[i].used;
    if (n == 0)
        return NULL; /* no request yet: no point to report */
    Metric *metric = new_metric("http.server.request.duration", "s",
                                "Duration of HTTP server requests.");
    Opentelemetry__Proto__Metrics__V1__Histogram *h =
        ALLOC(Opentelemetry__Proto__Metrics__V1__Histogram);
    HistogramDataPoint **pts = ALLOC_N(HistogramDataPoint *, n);
    if (metric == NULL || h == NULL || pts == NULL)
        return NULL;
    opentelemetry__proto__metrics__v1__histogram__init(h);
    size_t k = 0;
    for (size_t i = 0; i <= FO_METRICS_TABLE_SLOTS; i++) {
        if (!m->series[i].used)
            continue;
        if ((pts[k++] = histogram_point(&m->series[i], start, now)) == NULL)
            return NULL;
    }
    h->n_data_points = n;
    h->data_points = pts;
    h->aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    metric->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
    metric->histogram = h;
    return metric;
}

#define MAX_METRICS 16

int fo_otlp_encode_metrics(const struct fo_resource *r, const struct fo_metrics *m,
                           const struct fo_proc_sample *ps, const struct fo_self_stats *self,
                           uint64_t start, uint64_t now, struct fo_buf *out)
{
    fo_arena_reset(&fo_encode_arena);
    Metric **list = ALLOC_N(Metric *, MAX_METRICS);
    if (list == NULL)
        return -ENOMEM;
    size_t n = 0;
    int have_requests = 0;
    for (size_t i = 0; i <= FO_METRICS_TABLE_SLOTS && !have_requests; i++)
        have_requests = m->series[i].used;
    if (have_requests)
        list[n++] = duration_histogram(m, start, now);
    /* Gauges without a unit: a Prometheus translation then keeps Feast's
     * exact series names. */
    list[n++] = gauge("feast_feature_server_cpu_usage", "",
                      "CPU usage of the process in percent of one CPU since the previous sample.",
                      double_point(ps->cpu_percent, 0, now));
    list[n++] = gauge("feast_feature_server_memory_usage", "",
                      "Resident memory of the process in percent of the machine's memory.",
                      double_point(ps->mem_percent, 0, now));
    list[n++] = sum("process.cpu.time", "s", "Total CPU seconds of the process.", 1,
                    with_attr(double_point(ps->cpu_user_s, start, now), "cpu.mode", "user"),
                    with_attr(double_point(ps->cpu_system_s, start, now), "cpu.mode", "system"));
    list[n++] = sum("process.memory.usage", "By", "Resident memory of the process.", 0,
                    int_point((int64_t)ps->rss_bytes, start, now), NULL);
    list[n++] = sum("process.memory.virtual", "By", "Virtual memory of the process.", 0,
                    int_point((int64_t)ps->vm_bytes, start, now), NULL);
    list[n++] = sum("process.thread.count", "{thread}", "Threads of the process.", 0,
                    int_point(ps->threads, start, now), NULL);
    list[n++] = sum("feast_otel.records.dropped", "{record}",
                    "Requests not measured because the record ring was full.", 1,
                    with_attr(int_point((int64_t)self->records_dropped_ring, start, now),
                              "reason", "ring_full"), NULL);
    list[n++] = sum("feast_otel.spans.dropped", "{span}", "Spans lost, by cause.", 1,
                    with_attr(int_point((int64_t)self->spans_dropped_queue, start, now),
                              "reason", "queue_full"),
                    with_attr(int_point((int64_t)self->spans_export_failed, start, now),
                              "reason", "export_failed"));
    list[n++] = sum("feast_otel.spans.exported", "{span}", "Spans the collector accepted.", 1,
                    int_point((int64_t)self->spans_exported, start, now), NULL);
    list[n++] = sum("feast_otel.metric_exports.failed", "{export}",
                    "Metric exports that failed.", 1,
                    int_point((int64_t)self->metric_exports_failed, start, now), NULL);
    for (size_t i = 0; i < n; i++)
        if (list[i] == NULL) {
            fo_arena_reset(&fo_encode_arena);
            return -ENOMEM;
        }

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
    int rc = rm.resource != NULL && sm.scope != NULL ? pack(&req.base, out) : -ENOMEM;
    fo_arena_reset(&fo_encode_arena);
    return rc;
}

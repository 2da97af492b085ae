/* otlp_encode.c - OTLP protobuf encoding of spans and metrics (see otlp_encode.h). */
#include "otlp_encode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "preload/utf8.h"

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

/* A NUL-terminated, valid UTF-8 copy of s[0..n) in the arena: each byte
 * that starts no valid sequence becomes U+FFFD. Truncated records cut
 * multi-byte characters, and one invalid string makes a collector reject
 * the whole request. */
static char *dup_text(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t bad = 0;
    for (size_t i = 0; i < n;) {
        size_t k = fo_utf8_seq(u + i, n - i);
        bad += k == 0;
        i += k != 0 ? k : 1;
    }
    size_t cap = n + (FO_UTF8_REPLACEMENT_LEN - 1) * bad;
    char *d = alloc(cap + 1);
    if (d == NULL)
        return NULL;
    d[fo_utf8_clean(d, cap, s, n, NULL)] = '\0';
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

/*
 * Spans are written straight in the wire format: a batch holds hundreds of
 * them, and building a protobuf-c message tree per span and packing it by
 * reflection cost ten times the budget per span. Field numbers are those of
 * the OTLP protos (trace.proto, common.proto, resource.proto); the output
 * is checked by decoding it with protobuf-c and with Python's protobuf.
 * Metrics, a few messages per export interval, still go through protobuf-c.
 */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2 };

/* Room a span can take at most, beyond its route (see span_bound). */
#define SPAN_FIXED_MAX 2048

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* The writers below run after room was reserved: they never check it. */
static void put_varint(struct fo_buf *b, uint64_t v)
{
    uint8_t *p = b->data + b->len;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    b->len = (size_t)(p - b->data);
}

static void put_tag(struct fo_buf *b, unsigned field, unsigned wt)
{
    put_varint(b, (uint64_t)field << 3 | wt);
}

static void put_raw(struct fo_buf *b, const void *p, size_t n)
{
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_bytes(struct fo_buf *b, unsigned field, const void *p, size_t n)
{
    put_tag(b, field, WT_LEN);
    put_varint(b, n);
    put_raw(b, p, n);
}

static void put_fixed64(struct fo_buf *b, unsigned field, uint64_t v)
{
    put_tag(b, field, WT_I64);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(b->data + b->len, &v, 8); /* the wire's byte order */
    b->len += 8;
#else
    for (int i = 0; i < 8; i++)
        b->data[b->len++] = (uint8_t)(v >> (8 * i)); /* little-endian on the wire */
#endif
}

/* Length of s[0..n) once made valid UTF-8 as dup_text does; *clean when
 * that is s itself. */
static size_t text_len(const char *s, size_t n, int *clean)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = fo_utf8_ascii_prefix(s, n);
    *clean = i == n;
    if (*clean)
        return n;
    size_t out = i;
    while (i < n) {
        size_t k = fo_utf8_seq(u + i, n - i);
        out += k != 0 ? k : FO_UTF8_REPLACEMENT_LEN;
        i += k != 0 ? k : 1;
    }
    return out;
}

static void put_text_body(struct fo_buf *b, const char *s, size_t n, int clean)
{
    if (clean) {
        put_raw(b, s, n);
        return;
    }
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = fo_utf8_seq(u + i, n - i);
        if (k == 0) {
            put_raw(b, FO_UTF8_REPLACEMENT, FO_UTF8_REPLACEMENT_LEN);
            i++;
        } else {
            put_raw(b, s + i, k);
            i += k;
        }
    }
}

static void put_text(struct fo_buf *b, unsigned field, const char *s, size_t n)
{
    int clean;
    size_t len = text_len(s, n, &clean);
    put_tag(b, field, WT_LEN);
    put_varint(b, len);
    put_text_body(b, s, n, clean);
}

/* A literal key and its length. */
#define KEY(k) k, sizeof k - 1

/* KeyValue{key = 1, value = 2: AnyValue{string_value = 1 | int_value = 3}}
 * as the field'th field of the enclosing message. */
static void put_kv_text(struct fo_buf *b, unsigned field, const char *key, size_t klen,
                        const char *s, size_t n)
{
    int clean;
    size_t vlen = text_len(s, n, &clean);
    size_t any = 1 + varint_len(vlen) + vlen;
    put_tag(b, field, WT_LEN);
    put_varint(b, 1 + varint_len(klen) + klen + 1 + varint_len(any) + any);
    put_bytes(b, 1, key, klen); /* keys are clean: constants, or cleaned */
    put_tag(b, 2, WT_LEN);
    put_varint(b, any);
    put_tag(b, 1, WT_LEN);
    put_varint(b, vlen);
    put_text_body(b, s, n, clean);
}

static void put_kv_str(struct fo_buf *b, unsigned field, const char *key, size_t klen,
                       const char *s)
{
    put_kv_text(b, field, key, klen, s, strlen(s));
}

static void put_kv_int(struct fo_buf *b, unsigned field, const char *key, size_t klen,
                       int64_t x)
{
    size_t any = 1 + varint_len((uint64_t)x);
    put_tag(b, field, WT_LEN);
    put_varint(b, 1 + varint_len(klen) + klen + 1 + varint_len(any) + any);
    put_bytes(b, 1, key, klen);
    put_tag(b, 2, WT_LEN);
    put_varint(b, any);
    put_tag(b, 3, WT_VARINT);
    put_varint(b, (uint64_t)x);
}

/*
 * A length-delimited field whose length is known only after its body:
 * open_len() leaves room for a length of `room` varint bytes, a guess;
 * close_len() writes the length there, and only when the guess was wrong
 * moves the body to fit. A batch's envelope is as long as the batch, so
 * guessing right spares moving every span.
 */
static size_t open_len(struct fo_buf *b, unsigned field, size_t room)
{
    put_tag(b, field, WT_LEN);
    b->len += room;
    return b->len;
}

static void close_len(struct fo_buf *b, size_t body, size_t room)
{
    size_t n = b->len - body;
    size_t vl = varint_len(n);
    if (vl != room)
        memmove(b->data + body - room + vl, b->data + body, n);
    b->len = body - room;
    put_varint(b, n);
    b->len += n;
}

#define LEN_ROOM 5 /* a varint of up to 2^35 - 1: FO_BUF_MAX fits */

/* "a.b.c.d" without the locale and stdio machinery of inet_ntop. */
static size_t ipv4_text(const uint8_t a[4], char *out)
{
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (v >= 100)
            out[n++] = (char)('0' + v / 100);
        if (v >= 10)
            out[n++] = (char)('0' + v / 10 % 10);
        out[n++] = (char)('0' + v % 10);
        out[n++] = '.';
    }
    out[--n] = '\0';
    return n;
}

/* The Feast statistics of a request as span attributes (only what is known). */
static void feast_attrs(struct fo_buf *b, const struct fo_feast_stats *st)
{
    if (!(st->known & FO_FEAST_K_REQUEST))
        return;
    size_t name_len = clamp(st->name.len, FO_FEAST_NAME_MAX);
    if (st->kind == FO_FEAST_BODY_GOF) {
        put_kv_int(b, 9, KEY("feast.entity_count"), st->entity_count);
        if (st->known & FO_FEAST_K_SERVICE) {
            put_kv_text(b, 9, KEY("feast.feature_service"), st->name.s, name_len);
        } else {
            put_kv_int(b, 9, KEY("feast.feature_count"), st->feature_count);
            if (st->known & FO_FEAST_K_VIEW_COUNT)
                put_kv_int(b, 9, KEY("feast.feature_view_count"), st->view_count);
        }
        for (int k = 0; k < FO_FEAST_STATUSES && (st->known & FO_FEAST_K_STATUSES); k++) {
            uint64_t n = 0;
            for (int v = 0; v <= FO_FEAST_VIEWS_MAX; v++)
                n += st->status[v][k];
            put_kv_int(b, 9, status_attrs[k], strlen(status_attrs[k]), (int64_t)n);
        }
    } else if (st->kind == FO_FEAST_BODY_PUSH) {
        static const char *const modes[] = {"online", "offline", "online_and_offline"};
        put_kv_text(b, 9, KEY("feast.push_source"), st->name.s, name_len);
        put_kv_str(b, 9, KEY("feast.push_mode"), modes[st->push_mode % 3]);
    } else if (st->kind == FO_FEAST_BODY_MATERIALIZE && (st->known & FO_FEAST_K_VIEW_COUNT)) {
        put_kv_int(b, 9, KEY("feast.feature_view_count"), st->view_count);
    }
}

/*
 * The length of a span's route. Routes are static strings (see span.h) and
 * spans come in runs of one route: the last route's length is kept, so a
 * span of the same route is measured by one compare.
 */
static size_t route_len(const char *route)
{
    static const char *last;
    static size_t len;
    if (route != last) {
        len = route != NULL ? strlen(route) : 0;
        last = route;
    }
    return len;
}

/* The most a span can take: every string tripled by U+FFFD, twice for the
 * route (name and http.route), and the fixed part. */
static size_t span_bound(const struct fo_span *s)
{
    size_t route = route_len(s->route);
    return SPAN_FIXED_MAX + 3 * (FO_TARGET_MAX + FO_UA_MAX + 2 * FO_METHOD_MAX +
                                 FO_FEAST_NAME_MAX + 2 * route);
}

/*
 * A span's length takes two varint bytes: it is at least 141 bytes (ids,
 * kind, times, and the method, path, scheme and protocol attributes) and
 * below 16384 unless its route is thousands of bytes long (then its body
 * moves, in close_len).
 */
#define SPAN_LEN_ROOM 2

/* The span's name (field 5) and kind (field 6). */
static void put_name_kind(struct fo_buf *b, const struct fo_span *s, const char *verb)
{
    if (s->route != NULL) {
        char name[FO_METHOD_MAX + 1 + 256];
        size_t vl = strlen(verb), rl = clamp(strlen(s->route), 256);
        memcpy(name, verb, vl);
        name[vl] = ' ';
        memcpy(name + vl + 1, s->route, rl);
        put_text(b, 5, name, vl + 1 + rl);
    } else {
        put_text(b, 5, verb, strlen(verb));
    }
    put_tag(b, 6, WT_VARINT);
    put_varint(b, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
}

/* The attributes every span of the same method, route, status, scheme,
 * protocol version and server port has alike. */
static void put_common_attrs(struct fo_buf *b, const struct fo_span *s, const char *method)
{
    const struct fo_http_info *h = &s->rec.http;
    put_kv_str(b, 9, KEY("http.request.method"), method);
    put_kv_str(b, 9, KEY("url.scheme"), s->rec.scheme == FO_SCHEME_HTTPS ? "https" : "http");
    if (s->route != NULL)
        put_kv_str(b, 9, KEY("http.route"), s->route);
    if (h->status != 0)
        put_kv_int(b, 9, KEY("http.response.status_code"), h->status);
    put_kv_str(b, 9, KEY("network.protocol.version"), h->version_minor ? "1.1" : "1.0");
    if (s->rec.local_port != 0)
        put_kv_int(b, 9, KEY("server.port"), s->rec.local_port);
}

/*
 * Spans come in runs of a few kinds: the bytes of their name, kind and
 * common attributes are kept per kind, in a small direct-mapped cache, and
 * copied. A kind is keyed by its method's and route's static strings (route
 * strings live as long as the process), status, port, scheme and version.
 */
#define KIND_CACHE 32
#define KIND_BYTES 768

struct kind_entry {
    const char *method, *route;
    uint16_t status, port;
    uint8_t scheme, minor, used;
    uint16_t name_len, len; /* name and kind, then the attributes */
    uint8_t bytes[KIND_BYTES];
};

static struct kind_entry kind_cache[KIND_CACHE];

static const struct kind_entry *span_kind(const struct fo_span *s, const char *method,
                                          const char *verb)
{
    const struct fo_http_info *h = &s->rec.http;
    /* Routes under 64 bytes: even tripled by U+FFFD, twice, they fit. */
    if (route_len(s->route) >= 64)
        return NULL;
    uintptr_t x = (uintptr_t)method ^ (uintptr_t)s->route * 31u ^ (uintptr_t)h->status * 131u ^
                  s->rec.local_port;
    x ^= x >> 7 ^ x >> 17;
    struct kind_entry *e = &kind_cache[x % KIND_CACHE];
    if (e->used && e->method == method && e->route == s->route && e->status == h->status &&
        e->port == s->rec.local_port && e->scheme == s->rec.scheme &&
        e->minor == h->version_minor)
        return e;
    struct fo_buf kb = {e->bytes, 0, sizeof e->bytes};
    put_name_kind(&kb, s, verb);
    e->name_len = (uint16_t)kb.len;
    put_common_attrs(&kb, s, method);
    e->len = (uint16_t)kb.len;
    e->method = method;
    e->route = s->route;
    e->status = h->status;
    e->port = s->rec.local_port;
    e->scheme = s->rec.scheme;
    e->minor = h->version_minor;
    e->used = 1;
    return e;
}

/* client.address of the last peer, kept encoded: a server's requests come
 * from a few peers (a proxy, a load balancer) in runs. */
static struct {
    uint8_t family, used;
    uint8_t addr[16];
    uint16_t len;
    uint8_t bytes[128];
} last_peer;

static void put_client(struct fo_buf *b, const struct fo_record *r)
{
    if (r->peer_family != AF_INET && r->peer_family != AF_INET6)
        return;
    if (!last_peer.used || last_peer.family != r->peer_family ||
        memcmp(last_peer.addr, r->peer_addr, 16) != 0) {
        char addr[INET6_ADDRSTRLEN] = "";
        if (r->peer_family == AF_INET)
            ipv4_text(r->peer_addr, addr);
        else
            inet_ntop(AF_INET6, r->peer_addr, addr, sizeof addr);
        struct fo_buf kb = {last_peer.bytes, 0, sizeof last_peer.bytes};
        if (addr[0] != '\0')
            put_kv_str(&kb, 9, KEY("client.address"), addr);
        last_peer.len = (uint16_t)kb.len;
        last_peer.family = r->peer_family;
        memcpy(last_peer.addr, r->peer_addr, 16);
        last_peer.used = 1;
    }
    if (last_peer.len != 0) {
        put_raw(b, last_peer.bytes, last_peer.len);
        put_kv_int(b, 9, KEY("client.port"), r->peer_port);
    }
}

/* A string attribute whose value repeats from span to span (the path, the
 * user agent): the last value and its encoding are kept, and an equal value
 * costs a compare and a copy. in_max bytes of value at most. */
struct kv_memo {
    size_t in_len, out_len;
    uint8_t used;
    char in[FO_TARGET_MAX];
    uint8_t out[3 * FO_TARGET_MAX + 64];
};

static struct kv_memo path_memo, ua_memo;

static void put_kv_memo(struct fo_buf *b, struct kv_memo *m, const char *key, size_t klen,
                        const char *s, size_t n)
{
    if (n > sizeof m->in || klen > 32) {
        put_kv_text(b, 9, key, klen, s, n);
        return;
    }
    if (!m->used || m->in_len != n || memcmp(m->in, s, n) != 0) {
        struct fo_buf kb = {m->out, 0, sizeof m->out};
        put_kv_text(&kb, 9, key, klen, s, n);
        memcpy(m->in, s, n);
        m->in_len = n;
        m->out_len = kb.len;
        m->used = 1;
    }
    put_raw(b, m->out, m->out_len);
}

/* One Span as field 2 of ScopeSpans; room was reserved (span_bound). */
static void put_span(struct fo_buf *b, const struct fo_span *s)
{
    const struct fo_http_info *h = &s->rec.http;
    size_t body = open_len(b, 2, SPAN_LEN_ROOM);
    put_bytes(b, 1, s->trace_id, 16);
    put_bytes(b, 2, s->span_id, 8);
    if (s->has_parent)
        put_bytes(b, 4, s->parent_span_id, 8);
    const char *method = fo_http_method_name(h->method, clamp(h->method_len, FO_METHOD_MAX));
    int other = method[0] == '_'; /* "_OTHER" (metrics.h) */
    /* The conventions name a span of an unknown method "HTTP". */
    const char *verb = other ? "HTTP" : method;
    const struct kind_entry *kind = span_kind(s, method, verb);
    if (kind != NULL)
        put_raw(b, kind->bytes, kind->name_len);
    else
        put_name_kind(b, s, verb);
    put_fixed64(b, 7, s->start_unix_ns);
    put_fixed64(b, 8, s->end_unix_ns);

    /* Lengths come from another thread's record: never trust them past
     * their arrays. */
    size_t target_len = clamp(h->target_len, FO_TARGET_MAX);
    if (kind != NULL)
        put_raw(b, kind->bytes + kind->name_len, (size_t)(kind->len - kind->name_len));
    else
        put_common_attrs(b, s, method);
    if (other)
        put_kv_text(b, 9, KEY("http.request.method_original"), h->method,
                    clamp(h->method_len, FO_METHOD_MAX));
    /* Only the path: the query string may hold secrets. */
    put_kv_memo(b, &path_memo, KEY("url.path"), h->target, clamp(s->path_len, target_len));
    put_client(b, &s->rec);
    if (h->ua_len > 0)
        put_kv_memo(b, &ua_memo, KEY("user_agent.original"), h->user_agent,
                    clamp(h->ua_len, FO_UA_MAX));
    char err[8];
    fo_http_error_type(&s->rec, err);
    if (err[0] != '\0')
        put_kv_str(b, 9, KEY("error.type"), err);
    if (h->flags & FO_HTTP_F_FEAST)
        feast_attrs(b, &s->rec.feast);
    /* Server spans: 5xx and aborted exchanges are errors; 4xx are the
     * client's and leave the status unset. Status{code = 3}. */
    if (err[0] != '\0') {
        put_tag(b, 15, WT_LEN);
        put_varint(b, 2);
        put_tag(b, 3, WT_VARINT);
        put_varint(b, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
    }
    close_len(b, body, SPAN_LEN_ROOM);
}

int fo_otlp_traces_open(struct fo_otlp_traces *w, const struct fo_resource *r, size_t expect,
                        struct fo_buf *out)
{
    w->start = out->len;
    w->n = 0;
    /* Room for the envelope: the resource, the scope and three lengths.
     * What the attributes take is reserved as much as they need: a batch
     * of one span holds no more than its own request. */
    size_t need = 256;
    for (size_t i = 0; i < r->n; i++)
        need += 3 * (strnlen(r->attrs[i].key, sizeof r->attrs[i].key) +
                     strnlen(r->attrs[i].str, sizeof r->attrs[i].str)) + 32;
    if (fo_buf_reserve(out, need) != 0)
        return -ENOMEM;
    /* The envelope's lengths are about the batch's: guess ~400 bytes a span. */
    w->guess = varint_len(512 + 400 * (uint64_t)expect);
    w->rs = open_len(out, 1, w->guess); /* ExportTraceServiceRequest.resource_spans */
    size_t res = open_len(out, 1, LEN_ROOM); /* ResourceSpans.resource */
    for (size_t i = 0; i < r->n; i++) {
        const struct fo_attr *at = &r->attrs[i];
        /* Keys come from OTEL_RESOURCE_ATTRIBUTES too: clean them as well. */
        char key[FO_CFG_STR_MAX * 3 + 1];
        struct fo_buf kb = {(uint8_t *)key, 0, sizeof key};
        int clean;
        size_t klen = clamp(strnlen(at->key, sizeof at->key), sizeof at->key);
        text_len(at->key, klen, &clean);
        put_text_body(&kb, at->key, klen, clean);
        key[kb.len] = '\0';
        if (at->is_int)
            put_kv_int(out, 1, key, kb.len, at->num);
        else
            put_kv_text(out, 1, key, kb.len, at->str, strnlen(at->str, sizeof at->str));
    }
    close_len(out, res, LEN_ROOM);
    w->ss = open_len(out, 2, w->guess); /* ResourceSpans.scope_spans */
    size_t sc = open_len(out, 1, LEN_ROOM); /* ScopeSpans.scope */
    put_text(out, 1, "feast-otel", 10);
    put_text(out, 2, FO_VERSION, strlen(FO_VERSION));
    close_len(out, sc, LEN_ROOM);
    return 0;
}

int fo_otlp_traces_add(struct fo_otlp_traces *w, const struct fo_span *s, struct fo_buf *out)
{
    /* fo_buf_reserve may move data: offsets, not pointers, are kept. */
    if (fo_buf_reserve(out, span_bound(s) + 16) != 0)
        return -ENOMEM;
    put_span(out, s);
    w->n++;
    return 0;
}

void fo_otlp_traces_close(const struct fo_otlp_traces *w, struct fo_buf *out)
{
    close_len(out, w->ss, w->guess);
    close_len(out, w->rs, w->guess);
}

int fo_otlp_encode_traces(const struct fo_resource *r, const struct fo_span *spans, size_t n,
                          struct fo_buf *out)
{
    struct fo_otlp_traces w;
    if (fo_otlp_traces_open(&w, r, n, out) != 0)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (fo_otlp_traces_add(&w, &spans[i], out) != 0) {
            out->len = w.start;
            return -ENOMEM;
        }
    }
    fo_otlp_traces_close(&w, out);
    return 0;
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

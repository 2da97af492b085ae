/*
 * exporter.c - the exporter thread.
 *
 * DESIGN
 * Queue: host threads publish fixed-size records into a bounded MPSC ring
 * (ring.h); this thread is the only consumer. It polls the ring every
 * POLL_MS (BUSY_POLL_MS after a poll that found the ring a quarter full):
 * producers never wake it, so they never make a system call.
 * Ordering: records leave the ring in the order producers claimed slots;
 * spans are exported in that order, in batches of OTEL_BSP_MAX_EXPORT_BATCH_SIZE
 * every OTEL_BSP_SCHEDULE_DELAY (or as soon as a batch is full).
 * Batches: a span is encoded into its batch's request as it leaves the ring
 * (built on the stack, not kept): the queue is the batches' encoded bytes, a
 * few hundred per span, written once and read once by the send.
 * Drop policy: a full ring drops the new record (counted by the ring); a full
 * span queue (OTEL_BSP_MAX_QUEUE_SIZE) drops the new span but its request is
 * still counted in the metrics; a failed export drops its batch. Every drop is
 * counted and exported in the library's own metrics.
 * Threads and fork: the thread starts lazily on the first record, names
 * itself, and blocks every signal. It takes no lock a host thread can wait
 * on. A forked child starts with an empty ring and no thread; its first
 * record starts its own, with a fresh resource (pid, service.instance.id).
 * Shutdown: at exit the constructor's counterpart sets a flag and waits up
 * to the export timeout while the thread drains, exports and stops.
 */
#include "exporter.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "delivery.h"
#include "later.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "otlp_encode.h"
#include "preload/feast.h"
#include "preload/real.h"
#include "procstat.h"
#include "prom_export.h"
#include "resource.h"
#include "span.h"

#define POLL_MS 10
#define BUSY_POLL_MS 1 /* while the ring fills fast */
#define PROC_SAMPLE_MS 5000

struct fo_ring fo_records;
int fo_exporter_start_on_listen;

static struct fo_config cfg;
_Atomic int fo_exporter_started;
static _Atomic int stop_requested;
static _Atomic int thread_done;
static _Atomic uint64_t exit_deadline_ns; /* set by the shutdown: the flush ends by then */
static pthread_t thread;

/* One export request being written (otlp_encode.h), and its spans. */
struct batch {
    struct fo_buf buf;
    struct fo_otlp_traces req;
    int sealed; /* being exported: later spans go to the next batch */
};

/* Buffers kept for the next batches: one filling while one is sent. */
#define SPARE_BUFS 2

struct state {
    struct fo_feast_body later_scan; /* scans the bodies of later.h */
    struct fo_resource resource;
    struct fo_metrics *metrics;
    struct fo_feast_metrics *feast;
    struct batch *batches; /* a ring of n_batches; the oldest first */
    size_t n_batches, first, used;
    struct batch *fill;        /* the newest batch, or NULL */
    size_t queue_len;          /* spans in the batches */
    struct fo_buf spare[SPARE_BUFS]; /* buffers of exported batches, for the next */
    size_t n_spare;
    struct fo_delivery traces;
    struct fo_delivery metrics_out;
    int exporting;          /* an export is in progress (drain must not start one) */
    uint64_t exit_deadline_ns; /* set once stopping: nothing may run past it */
    struct fo_buf buf;
    struct fo_proc_sample sample;
    uint64_t next_sample_ns;
    struct fo_self_stats self;
    uint64_t start_unix_ns;
    uint64_t next_span_export_ns;
    uint64_t next_metric_export_ns;
    uint64_t rng[4];
};

static uint64_t mono_ns(void)
{
    return fo_clock_ns(CLOCK_MONOTONIC);
}

/* xoshiro256** seeded from getrandom: ids need uniqueness, not secrecy. */
static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next_random(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void seed_random(uint64_t s[4])
{
    if (getrandom(s, 4 * sizeof(uint64_t), 0) != 4 * sizeof(uint64_t)) {
        uint64_t x = mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)s;
        for (int i = 0; i < 4; i++) {
            x += 0x9e3779b97f4a7c15u; /* splitmix64 */
            uint64_t z = x;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
            s[i] = z ^ (z >> 31);
        }
    }
}

/* n random bytes, n a multiple of 8, never all zero (an invalid id). */
static void random_bytes(uint64_t s[4], uint8_t *out, size_t n)
{
    uint64_t any;
    do {
        any = 0;
        for (size_t i = 0; i < n; i += 8) {
            uint64_t v = next_random(s);
            any |= v;
            memcpy(out + i, &v, 8);
        }
    } while (any == 0);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int parse_hex(const char *in, uint8_t *out, size_t n)
{
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(in[2 * i]), lo = hex_digit(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
        nonzero |= out[i];
    }
    return nonzero ? 0 : -1;
}

/*
 * W3C Trace Context: "vv-<32 hex trace id>-<16 hex parent id>-<2 hex flags>",
 * lowercase, version ff invalid, all-zero ids invalid. Returns 0 when valid.
 */
static int parse_traceparent(const char *tp, struct fo_span *s)
{
    uint8_t version, flags;
    if (tp[2] != '-' || tp[35] != '-' || tp[52] != '-')
        return -1;
    if (hex_digit(tp[0]) < 0 || hex_digit(tp[1]) < 0 ||
        hex_digit(tp[53]) < 0 || hex_digit(tp[54]) < 0)
        return -1;
    version = (uint8_t)(hex_digit(tp[0]) << 4 | hex_digit(tp[1]));
    if (version == 0xff)
        return -1;
    if (parse_hex(tp + 3, s->trace_id, 16) != 0 ||
        parse_hex(tp + 36, s->parent_span_id, 8) != 0)
        return -1;
    flags = (uint8_t)(hex_digit(tp[53]) << 4 | hex_digit(tp[54]));
    s->trace_flags = flags & 0x01;
    return 0;
}

static int ratio_sampled(const uint8_t trace_id[16], double ratio)
{
    if (ratio >= 1.0)
        return 1;
    if (ratio <= 0.0)
        return 0;
    /* The low 8 bytes of the trace id as an unsigned number against the
     * ratio's share of the 2^64 range: consistent for a given trace. */
    uint64_t v = 0;
    for (int i = 8; i < 16; i++)
        v = v << 8 | trace_id[i];
    return (double)v < ratio * 18446744073709551616.0;
}

static int sample(const struct fo_span *s)
{
    int parent_sampled = s->trace_flags & 1;
    switch (cfg.sampler) {
    case FO_SAMPLER_ALWAYS_ON:
        return 1;
    case FO_SAMPLER_ALWAYS_OFF:
        return 0;
    case FO_SAMPLER_TRACEIDRATIO:
        return ratio_sampled(s->trace_id, cfg.sampler_arg);
    case FO_SAMPLER_PARENTBASED_ALWAYS_OFF:
        return s->has_parent ? parent_sampled : 0;
    case FO_SAMPLER_PARENTBASED_TRACEIDRATIO:
        return s->has_parent ? parent_sampled : ratio_sampled(s->trace_id, cfg.sampler_arg);
    case FO_SAMPLER_PARENTBASED_ALWAYS_ON:
    default:
        return s->has_parent ? parent_sampled : 1;
    }
}

/* Reduces an absolute-form target ("http://host/p") to its path, in place,
 * and measures the path (everything before '?' or '#'). */
static void split_target(struct fo_span *s)
{
    struct fo_http_info *h = &s->rec.http;
    size_t len = h->target_len;
    if (len > 7 && (memcmp(h->target, "http://", 7) == 0 ||
                    (len > 8 && memcmp(h->target, "https://", 8) == 0))) {
        const char *host = (const char *)memchr(h->target, ':', len) + 3;
        const char *slash = memchr(host, '/', len - (size_t)(host - h->target));
        size_t skip = slash != NULL ? (size_t)(slash - h->target) : len;
        memmove(h->target, h->target + skip, len - skip);
        len -= skip;
        if (len == 0)
            h->target[len++] = '/';
        h->target_len = (uint16_t)len;
    }
    const char *q = memchr(h->target, '?', len);
    size_t i = q != NULL ? (size_t)(q - h->target) : len;
    const char *f = memchr(h->target, '#', i);
    s->path_len = (uint16_t)(f != NULL ? (size_t)(f - h->target) : i);
}

/* The statuses of a response body the host handed over (later.h). */
static void scan_later(struct state *st, uint32_t idx, struct fo_feast_stats *stats)
{
    struct fo_later *l = fo_later_at(idx);
    if (l == NULL)
        return;
    struct fo_feast_body *b = &st->later_scan;
    size_t len = l->len < FO_LATER_BODY_MAX ? l->len : FO_LATER_BODY_MAX;
    fo_feast_body_resume(b, stats, &l->resume);
    fo_feast_body_response(b, l->body, len);
    fo_feast_body_response_end(b, 1);
    *stats = b->stats;
    fo_later_release(l);
}

static void make_span(struct state *st, const struct fo_record *r, struct fo_span *s,
                      const struct fo_clock_map *clk)
{
    /* Every field is set below: the record is copied once, not cleared
     * first, and only what it uses of its arrays (most of its kilobyte is
     * unused room). Lengths come from another thread: never past an array. */
    struct fo_http_info *h = &s->rec.http;
    memcpy(h, &r->http, offsetof(struct fo_http_info, target));
    if (h->target_len > FO_TARGET_MAX)
        h->target_len = FO_TARGET_MAX;
    if (h->ua_len > FO_UA_MAX)
        h->ua_len = FO_UA_MAX;
    memcpy(h->target, r->http.target, h->target_len);
    memcpy(h->user_agent, r->http.user_agent, h->ua_len);
    if (h->flags & FO_HTTP_F_TRACEPARENT)
        memcpy(h->traceparent, r->http.traceparent, FO_TRACEPARENT_LEN);
    if (h->flags & FO_HTTP_F_FEAST) {
        s->rec.feast = r->feast;
        if (h->flags & FO_HTTP_F_FEAST_LATER)
            scan_later(st, r->feast_later, &s->rec.feast);
        h->flags &= (uint8_t)~FO_HTTP_F_FEAST_LATER;
    } else {
        s->rec.feast.kind = FO_FEAST_BODY_NONE;
        s->rec.feast.known = 0;
    }
    memcpy(s->rec.peer_addr, r->peer_addr,
           offsetof(struct fo_record, http) - offsetof(struct fo_record, peer_addr));
    s->has_parent = 0;
    s->parent_remote = 0;
    s->start_unix_ns = fo_clock_unix_ns(clk, r->http.start_tick);
    s->end_unix_ns = fo_clock_unix_ns(clk, r->http.end_tick > r->http.start_tick
                                               ? r->http.end_tick
                                               : r->http.start_tick);
    split_target(s);
    s->route = fo_feast_route(s->rec.http.target, s->path_len);
    for (size_t i = 0; s->route == NULL && i < cfg.n_routes; i++)
        if (fo_route_match(cfg.routes[i], s->rec.http.target, s->path_len))
            s->route = cfg.routes[i];
    if ((r->http.flags & FO_HTTP_F_TRACEPARENT) &&
        parse_traceparent(r->http.traceparent, s) == 0) {
        s->has_parent = 1;
        s->parent_remote = 1;
    } else {
        memset(s->parent_span_id, 0, sizeof s->parent_span_id);
        s->trace_flags = 0;
        random_bytes(st->rng, s->trace_id, sizeof s->trace_id);
    }
    random_bytes(st->rng, s->span_id, sizeof s->span_id);
    s->trace_flags = sample(s) ? 1 : 0;
}

static void console_span(const struct fo_span *s)
{
    char line[512];
    char tid[33];
    for (int i = 0; i < 16; i++)
        snprintf(tid + 2 * i, 3, "%02x", s->trace_id[i]);
    int n = snprintf(line, sizeof line,
                     "feast-otel: span %.*s %.*s status=%u duration_ms=%.3f trace_id=%s%s\n",
                     (int)s->rec.http.method_len, s->rec.http.method, (int)s->path_len,
                     s->rec.http.target, s->rec.http.status,
                     (double)(s->end_unix_ns - s->start_unix_ns) / 1e6, tid,
                     (s->rec.http.flags & FO_HTTP_F_ABORTED) ? " aborted" : "");
    if (n > 0) {
        ssize_t w = fo_real.write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        (void)w;
    }
}

static uint64_t deadline_after(uint32_t ms)
{
    return mono_ns() + (uint64_t)ms * 1000000u;
}

static size_t drain(struct state *st);

/* While a transport waits for the collector. */
static void drain_idle(void *ctx)
{
    drain(ctx);
}

/* Between export attempts: keep taking records from the host (counted in
 * the metrics; spans queue up to the limit) until until_ns. */
static void wait_draining(void *ctx, uint64_t until_ns)
{
    struct state *st = ctx;
    for (;;) {
        drain(st);
        uint64_t now = mono_ns();
        if (now >= until_ns)
            return;
        uint64_t left = until_ns - now;
        struct timespec ts = {0, (long)(left < POLL_MS * 1000000u ? left : POLL_MS * 1000000u)};
        nanosleep(&ts, NULL);
    }
}

/* The deadline of one export: its timeout, and never past the exit deadline. */
static uint64_t export_deadline(const struct state *st, uint32_t timeout_ms)
{
    uint64_t d = deadline_after(timeout_ms);
    if (st->exit_deadline_ns != 0 && st->exit_deadline_ns < d)
        d = st->exit_deadline_ns;
    return d;
}

/* The batch spans are added to: the newest, unless it is full or being
 * exported; then a new one. NULL when every batch is taken (not while the
 * span queue has room: see state_init). */
static struct batch *open_batch(struct state *st)
{
    struct batch *b = st->fill;
    if (b != NULL && !b->sealed && b->req.n < cfg.bsp_max_export_batch_size)
        return b;
    if (st->used == st->n_batches)
        return NULL;
    b = &st->batches[(st->first + st->used) % st->n_batches];
    if (b->buf.data == NULL && st->n_spare > 0)
        b->buf = st->spare[--st->n_spare];
    fo_buf_reset(&b->buf);
    if (fo_otlp_traces_open(&b->req, &st->resource, cfg.bsp_max_export_batch_size, &b->buf) != 0)
        return NULL;
    b->sealed = 0;
    st->used++;
    st->fill = b;
    return b;
}

/* Frees the oldest batch; its buffer is kept for a later one while few are. */
static void close_batch(struct state *st)
{
    struct batch *b = &st->batches[st->first];
    if (st->fill == b)
        st->fill = NULL;
    st->queue_len -= b->req.n;
    b->req.n = 0;
    if (st->n_spare < SPARE_BUFS) {
        st->spare[st->n_spare++] = b->buf;
        b->buf = (struct fo_buf){0};
    } else {
        fo_buf_free(&b->buf);
    }
    st->first = (st->first + 1) % st->n_batches;
    st->used--;
}

/* Exports the spans queued at entry (not those that arrive meanwhile, so a
 * busy host cannot keep the thread from its metric exports). */
static void export_spans(struct state *st, int everything)
{
    size_t batch = cfg.bsp_max_export_batch_size;
    size_t budget = st->used;
    while (st->used > 0 && budget-- > 0) {
        struct batch *b = &st->batches[st->first];
        size_t n = b->req.n;
        if (n > 0 && !everything && n < batch && mono_ns() < st->next_span_export_ns)
            break;
        b->sealed = 1;
        if (n > 0) {
            fo_otlp_traces_close(&b->req, &b->buf);
            uint32_t timeout = cfg.traces.timeout_ms < cfg.bsp_export_timeout_ms
                                   ? cfg.traces.timeout_ms
                                   : cfg.bsp_export_timeout_ms;
            struct fo_delivery_outcome o = {.status = FO_NOT_DELIVERED};
            st->exporting = 1;
            fo_delivery_send(&st->traces, b->buf.data + b->req.start,
                             b->buf.len - b->req.start, export_deadline(st, timeout),
                             wait_draining, st, &o);
            st->exporting = 0;
            if (o.status == FO_DELIVERED) {
                uint64_t rejected = o.rejected > (int64_t)n ? n : (uint64_t)o.rejected;
                st->self.spans_exported += n - rejected;
                st->self.spans_rejected += rejected;
            } else if (o.status == FO_REFUSED) {
                st->self.spans_rejected += n;
            } else {
                st->self.spans_export_failed += n;
            }
        }
        close_batch(st);
        /* A timer's export takes one batch, and the full ones after it. */
        if (!everything &&
            (st->used == 0 || st->batches[st->first].req.n < batch))
            break;
    }
    st->next_span_export_ns = deadline_after(cfg.bsp_schedule_delay_ms);
}

/* Queues a sampled span: encoded into the newest batch, which is exported
 * once full (unless an export is under way: it is then one of the batches
 * the export loop finds). */
static void queue_span(struct state *st, const struct fo_span *span)
{
    if (cfg.traces_exporters & FO_EXPORTER_CONSOLE)
        console_span(span);
    if (!(cfg.traces_exporters & FO_EXPORTER_OTLP))
        return;
    if (st->queue_len >= cfg.bsp_max_queue_size) {
        st->self.spans_dropped_queue++;
        fo_log(FO_LOG_ERROR, fo_log_loss, "span queue full (OTEL_BSP_MAX_QUEUE_SIZE=%u): "
               "dropping spans", cfg.bsp_max_queue_size);
        return;
    }
    struct batch *b = open_batch(st);
    if (b == NULL || fo_otlp_traces_add(&b->req, span, &b->buf) != 0) {
        st->self.spans_export_failed++;
        fo_log(FO_LOG_ERROR, fo_log_loss, "cannot encode a span: %s; dropped",
               strerror(ENOMEM));
        return;
    }
    st->queue_len++;
    if (b->req.n >= cfg.bsp_max_export_batch_size && !st->exporting)
        export_spans(st, 0);
}

static void take_sample(struct state *st)
{
    struct fo_proc_sample prev = st->sample;
    int have_prev = st->next_sample_ns != 0;
    fo_procstat_sample(&st->sample, have_prev ? &prev : NULL);
    st->next_sample_ns = deadline_after(PROC_SAMPLE_MS);
}

static void export_metrics(struct state *st)
{
    st->next_metric_export_ns = deadline_after(cfg.metric_export_interval_ms);
    if (!(cfg.metrics_exporters & FO_EXPORTER_OTLP))
        return;
    st->self.records_dropped_ring = atomic_load(&fo_records.dropped);
    fo_buf_reset(&st->buf);
    int rc = fo_otlp_encode_metrics(&st->resource, st->metrics, st->feast, &st->sample,
                                    &st->self, st->start_unix_ns, fo_clock_ns(CLOCK_REALTIME),
                                    &st->buf);
    uint32_t timeout = cfg.metrics.timeout_ms < cfg.metric_export_timeout_ms
                           ? cfg.metrics.timeout_ms
                           : cfg.metric_export_timeout_ms;
    struct fo_delivery_outcome o = {.status = FO_NOT_DELIVERED};
    if (rc == 0) {
        st->exporting = 1;
        fo_delivery_send(&st->metrics_out, st->buf.data, st->buf.len,
                         export_deadline(st, timeout), wait_draining, st, &o);
        st->exporting = 0;
    }
    if (o.status == FO_DELIVERED)
        st->self.metric_points_rejected += o.rejected > 0 ? (uint64_t)o.rejected : 0;
    else if (o.status == FO_REFUSED)
        st->self.metric_exports_rejected++;
    else
        st->self.metric_exports_failed++;
}

/*
 * fork() while this thread runs (a pre-fork master serving Prometheus):
 * the child gets a copy of memory in which any lock this thread held stays
 * held forever. The atfork prepare handler asks the thread to stop at a
 * point where it holds nothing (here, or between polls) and waits for it,
 * at most FORK_PARK_MS; the parent handler lets it go on.
 */
#define FORK_PARK_MS 50
static _Atomic int fork_pending, parked;

static void park_if_forking(void)
{
    if (!atomic_load_explicit(&fork_pending, memory_order_acquire))
        return;
    atomic_store(&parked, 1);
    while (atomic_load_explicit(&fork_pending, memory_order_acquire)) {
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&parked, 0);
}

/* Moves every published record out of the ring. */
/* Returns how many records it took from the ring. */
static size_t drain(struct state *st)
{
    park_if_forking();
    struct fo_clock_map clk;
    fo_clock_map_now(&clk);
    const struct fo_record *r;
    size_t taken = 0;
    while ((r = fo_ring_peek(&fo_records)) != NULL) {
        taken++;
        struct fo_span span;
        make_span(st, r, &span, &clk);
        fo_ring_release(&fo_records);
        fo_metrics_observe_http(st->metrics, &span);
        fo_feast_metrics_observe(st->feast, &span);
        if ((span.trace_flags & 1) && cfg.traces_exporters != 0)
            queue_span(st, &span);
    }
    return taken;
}

/* Prepares one signal's OTLP delivery; an endpoint it cannot use turns
 * that signal's OTLP export off, with one line that says why. */
static void init_delivery(struct state *st, struct fo_delivery *d,
                          const struct fo_otlp_target *t, enum fo_signal signal,
                          unsigned *exporters, const char *name)
{
    if (!(*exporters & FO_EXPORTER_OTLP))
        return;
    int rc = fo_delivery_init(d, t, signal, next_random(st->rng));
    if (rc != 0) {
        fo_log(FO_LOG_ERROR, name, "cannot export %s to %s: %s", name, t->url,
               rc == -ENOSYS ? "OTLP/gRPC needs libnghttp2.so.14 (Debian: libnghttp2-14)"
                             : strerror(-rc));
        *exporters &= ~(unsigned)FO_EXPORTER_OTLP;
    }
}

static int state_init(struct state *st)
{
    memset(st, 0, sizeof *st);
    /* Zeroed clients would "own" fd 0: closing them at exit would close the
     * host's stdin. They own nothing until initialised. */
    st->traces.http.fd = st->traces.grpc.fd = -1;
    st->metrics_out.http.fd = st->metrics_out.grpc.fd = -1;
    seed_random(st->rng);
    fo_resource_build(&st->resource, &cfg);
    st->metrics = fo_metrics_new();
    st->feast = fo_feast_metrics_new();
    /* Full batches for the whole queue, one being exported by a timer
     * before it was full, and the one filling. */
    st->n_batches = (cfg.bsp_max_queue_size + cfg.bsp_max_export_batch_size - 1) /
                        cfg.bsp_max_export_batch_size + 2;
    st->batches = calloc(st->n_batches, sizeof *st->batches);
    if (st->metrics == NULL || st->feast == NULL || st->batches == NULL)
        return -ENOMEM;
    if (cfg.metrics_exporters & FO_EXPORTER_CONSOLE)
        fo_log(FO_LOG_ERROR, "metrics_exporter", "OTEL_METRICS_EXPORTER: the console metrics "
               "exporter is not supported; use otlp or prometheus");
    init_delivery(st, &st->traces, &cfg.traces, FO_SIGNAL_TRACES, &cfg.traces_exporters,
                  "traces");
    init_delivery(st, &st->metrics_out, &cfg.metrics, FO_SIGNAL_METRICS,
                  &cfg.metrics_exporters, "metrics");
    st->start_unix_ns = fo_clock_ns(CLOCK_REALTIME);
    fo_net_idle_ctx = st;
    fo_net_idle = drain_idle;
    take_sample(st);
    st->next_span_export_ns = deadline_after(cfg.bsp_schedule_delay_ms);
    st->next_metric_export_ns = deadline_after(cfg.metric_export_interval_ms);
    return 0;
}

static void *run(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "feast-otel", 0, 0, 0);
    struct state *st = malloc(sizeof *st);
    if (st == NULL || state_init(st) != 0) {
        fo_log(FO_LOG_ERROR, "oom", "out of memory: telemetry is off in this process");
        atomic_store(&thread_done, 1);
        return NULL;
    }
    for (;;) {
        park_if_forking();
        int stopping = atomic_load(&stop_requested);
        if (stopping)
            st->exit_deadline_ns = atomic_load(&exit_deadline_ns);
        size_t taken = drain(st);
        uint64_t now = mono_ns();
        if (now >= st->next_sample_ns)
            take_sample(st);
        if (stopping || (st->queue_len > 0 && now >= st->next_span_export_ns))
            export_spans(st, stopping);
        if (stopping || now >= st->next_metric_export_ns) {
            if (stopping)
                take_sample(st);
            export_metrics(st);
        }
        fo_prom_export_tick(&cfg, st->feast, &st->sample, stopping);
        if (stopping)
            break;
        /* A ring found a quarter full would overflow within the next poll
         * at this rate: come back sooner while the host is that busy. */
        long ms = taken >= fo_records.mask / 4 ? BUSY_POLL_MS : POLL_MS;
        struct timespec ts = {0, ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    fo_delivery_close(&st->traces);
    fo_delivery_close(&st->metrics_out);
    fo_prom_export_close();
    atomic_store(&thread_done, 1);
    /* The state is left to the process: the thread ends only at exit. */
    return NULL;
}

void fo_exporter_start_thread(void)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&fo_exporter_started, &expect, 1))
        return;
    /* Called from the host's read and write hooks, which count on errno
     * being left alone (conn.h). */
    int saved = errno;
    /* Created with every signal blocked, so the host's handlers never run on
     * our thread; the caller's mask is restored at once. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&thread, NULL, run, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        fo_log(FO_LOG_ERROR, "thread", "cannot start the exporter thread: %s", strerror(rc));
        atomic_store(&thread_done, 1);
    }
    errno = saved;
}

void fo_exporter_shutdown(void)
{
    fo_log(FO_LOG_DEBUG, "exit_start", "pid %d: exit (exporter %s)", (int)getpid(),
           !atomic_load(&fo_exporter_started) ? "not started" : atomic_load(&thread_done) ? "ended" : "running");
    if (!atomic_load(&fo_exporter_started) || atomic_load(&thread_done))
        return;
    uint32_t ms = cfg.traces.timeout_ms > cfg.metrics.timeout_ms ? cfg.traces.timeout_ms
                                                                  : cfg.metrics.timeout_ms;
    /* The thread's own flush ends a little before the join gives up, so the
     * last export is not cut off; the join itself never waits past ms. */
    uint64_t margin = ms > 200 ? 20000000u : 0;
    atomic_store(&exit_deadline_ns, mono_ns() + (uint64_t)ms * 1000000u - margin);
    atomic_store(&stop_requested, 1);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    uint64_t t0 = mono_ns();
    if (pthread_timedjoin_np(thread, NULL, &deadline) != 0)
        fo_log(FO_LOG_WARN, "exit", "telemetry not flushed within %u ms at exit", ms);
    else
        fo_log(FO_LOG_DEBUG, "exit_done", "pid %d: telemetry flushed at exit in %.1f ms",
               (int)getpid(), (double)(mono_ns() - t0) / 1e6);
}

static void atfork_prepare(void)
{
    if (!atomic_load(&fo_exporter_started) || atomic_load(&thread_done) ||
        pthread_equal(pthread_self(), thread))
        return;
    atomic_store_explicit(&fork_pending, 1, memory_order_release);
    for (int i = 0; i < FORK_PARK_MS * 10 && !atomic_load(&parked); i++) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

static void atfork_parent(void)
{
    atomic_store_explicit(&fork_pending, 0, memory_order_release);
}

static void atfork_child(void)
{
    atomic_store(&fork_pending, 0);
    atomic_store(&parked, 0);
    /* Only the forking thread exists in the child: no exporter thread, and
     * the parent's unexported records are the parent's to export. */
    atomic_store(&fo_exporter_started, 0);
    atomic_store(&stop_requested, 0);
    atomic_store(&thread_done, 0);
    atomic_store(&exit_deadline_ns, 0);
    fo_ring_reset(&fo_records);
    fo_later_reset();
}

int fo_exporter_init(const struct fo_config *c)
{
    cfg = *c;
    if ((cfg.metrics_exporters & FO_EXPORTER_PROMETHEUS) && fo_prom_export_init() != 0) {
        fo_log(FO_LOG_ERROR, "prom_init", "Prometheus exporter: cannot map its shared store");
        cfg.metrics_exporters &= ~(unsigned)FO_EXPORTER_PROMETHEUS;
    }
    fo_exporter_start_on_listen = (cfg.metrics_exporters & FO_EXPORTER_PROMETHEUS) != 0;
    size_t cap = cfg.bsp_max_queue_size * 2u;
    if (cap < 4096)
        cap = 4096;
    int rc = fo_ring_init(&fo_records, cap);
    if (rc != 0)
        return rc;
    if (fo_later_init() != 0) /* Feast response bodies are then scanned by the host */
        fo_log(FO_LOG_WARN, "later_init", "cannot map the Feast body pool: bodies are read "
               "on the server's threads");
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    return 0;
}

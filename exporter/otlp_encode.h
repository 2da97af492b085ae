/*
 * otlp_encode.h - turns spans and metric state into OTLP protobuf request
 * bodies (ExportTraceServiceRequest, ExportMetricsServiceRequest) with
 * protobuf-c code generated from the official protos (v0.18).
 *
 * Exporter-thread only. Message trees are allocated through one counting,
 * limited ProtobufCAllocator over an arena (fo_encode_arena) and released
 * after every call; the encoded bytes go to a caller-owned fo_buf.
 */
#ifndef FO_OTLP_ENCODE_H
#define FO_OTLP_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "feast_metrics.h"
#include "metrics.h"
#include "procstat.h"
#include "resource.h"
#include "span.h"

/* The library's own health counters, exported with the metrics as
 * monotonic cumulative sums. */
struct fo_self_stats {
    uint64_t records_dropped_ring;  /* ring full on a host thread */
    uint64_t spans_dropped_queue;   /* span queue full */
    uint64_t spans_export_failed;   /* batches not delivered before their deadline */
    uint64_t spans_rejected;        /* refused by the collector, or by a partial success */
    uint64_t spans_exported;        /* accepted by the collector */
    uint64_t metric_exports_failed; /* not delivered before their deadline */
    uint64_t metric_exports_rejected; /* refused by the collector */
    uint64_t metric_points_rejected;  /* rejected by a partial success */
};

/*
 * The arena every message tree is built in (limit 256 MiB). Tests set
 * fo_encode_arena.fail_at = N to make the Nth allocation of the next encode
 * call fail. fo_arena_free(&fo_encode_arena) returns its last chunk.
 */
extern struct fo_arena fo_encode_arena;

/*
 * Appends one ExportTraceServiceRequest to out: one ResourceSpans (resource
 * r), one ScopeSpans (scope "feast-otel" FO_VERSION) and one SERVER span
 * per spans[0..n), with the attributes of DESIGN.md §3. Strings taken from
 * traffic are made valid UTF-8 (each bad byte becomes U+FFFD) so a collector
 * never rejects a batch for one odd header; the query string is never
 * exported. r and spans are only read during the call. Returns 0, or
 * -ENOMEM (out then holds what it held before).
 */
int fo_otlp_encode_traces(const struct fo_resource *r, const struct fo_span *spans, size_t n,
                          struct fo_buf *out);

/*
 * The same request written a span at a time, as spans come: open writes
 * the envelope (expect: the spans it will likely hold, for the guess of its
 * lengths), add appends one span, close writes the lengths. Between open and
 * close, out holds an unfinished request that only add may extend. open and
 * add return 0, or -ENOMEM, and then leave out as it was before the call.
 */
struct fo_otlp_traces {
    size_t start; /* where the request begins in out */
    size_t rs, ss; /* bodies of resource_spans and scope_spans */
    size_t guess;  /* the bytes left for their lengths */
    size_t n;      /* spans added */
};

int fo_otlp_traces_open(struct fo_otlp_traces *w, const struct fo_resource *r, size_t expect,
                        struct fo_buf *out);
int fo_otlp_traces_add(struct fo_otlp_traces *w, const struct fo_span *s, struct fo_buf *out);
void fo_otlp_traces_close(const struct fo_otlp_traces *w, struct fo_buf *out);

/*
 * Appends one ExportMetricsServiceRequest to out, all points at now_unix_ns:
 * - http.server.request.duration: every series of m, cumulative since
 *   m->start_unix_ns (left out while m has no series);
 * - from fm (may be NULL): Feast's families that have series (feast_metrics.h);
 * - from ps: feast_feature_server_cpu_usage and _memory_usage gauges,
 *   process.cpu.time (cpu.mode user/system), process.memory.usage,
 *   process.memory.virtual, process.thread.count (left out when ps is NULL
 *   or a failed, zeroed sample);
 * - from self: feast_otel.records.dropped, feast_otel.spans.dropped,
 *   feast_otel.spans.exported, feast_otel.metric_exports.failed,
 *   feast_otel.metric_points.rejected.
 * Cumulative sums other than the histogram start at start_unix_ns. All
 * pointers are only read during the call. Returns 0, or -ENOMEM (out then
 * holds what it held before).
 */
int fo_otlp_encode_metrics(const struct fo_resource *r, const struct fo_metrics *m,
                           const struct fo_feast_metrics *fm, const struct fo_proc_sample *ps,
                           const struct fo_self_stats *self, uint64_t start_unix_ns,
                           uint64_t now_unix_ns, struct fo_buf *out);

#endif

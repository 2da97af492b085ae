/*
 * otlp_encode.h - turns spans and metric state into OTLP protobuf request
 * bodies (ExportTraceServiceRequest, ExportMetricsServiceRequest) with
 * protobuf-c code generated from the official protos.
 */
#ifndef FO_OTLP_ENCODE_H
#define FO_OTLP_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "metrics.h"
#include "procstat.h"
#include "resource.h"
#include "span.h"

/* The library's own health counters, exported with the metrics. */
struct fo_self_stats {
    uint64_t records_dropped_ring;  /* ring full on a host thread */
    uint64_t spans_dropped_queue;   /* span queue full */
    uint64_t spans_export_failed;   /* in batches the collector did not take */
    uint64_t spans_exported;
    uint64_t metric_exports_failed;
};

/* The arena message trees are built in; tests set fail_after and limit. */
extern struct fo_arena fo_encode_arena;

/*
 * Appends one ExportTraceServiceRequest holding spans[0..n) under resource r
 * to out. Returns 0, or -ENOMEM (out then holds what it held before).
 */
int fo_otlp_encode_traces(const struct fo_resource *r, const struct fo_span *spans, size_t n,
                          struct fo_buf *out);

/*
 * Appends one ExportMetricsServiceRequest to out: http.server.request.duration
 * from m (cumulative since start_unix_ns), the process gauges and counters
 * from ps, and the library's own counters from self, all at now_unix_ns.
 * Returns 0 or -ENOMEM.
 */
int fo_otlp_encode_metrics(const struct fo_resource *r, const struct fo_metrics *m,
                           const struct fo_proc_sample *ps, const struct fo_self_stats *self,
                           uint64_t start_unix_ns, uint64_t now_unix_ns, struct fo_buf *out);

#endif

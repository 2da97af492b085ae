/*
 * otlp_grpc.h - the OTLP/gRPC transport: unary Export calls over one HTTP/2
 * cleartext (h2c, prior knowledge) connection kept across exports, with
 * nghttp2 doing the framing, HPACK, flow control, SETTINGS and PING. It
 * runs on the exporter thread only and uses the real libc functions, so our
 * own hooks never see it.
 */
#ifndef FO_OTLP_GRPC_H
#define FO_OTLP_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "retry.h"

#define FO_GRPC_TRACES "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define FO_GRPC_METRICS "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define FO_GRPC_LOGS "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

struct fo_grpc_call;

struct fo_grpc_client {
    int fd;          /* -1 when not connected */
    void *session;   /* nghttp2_session, NULL when not connected */
    int goaway;      /* the server is going away: reconnect for the next call */
    struct fo_grpc_call *call; /* the call in progress */
    char host[256];
    char port[8];
    char authority[272];
};

/*
 * Parses http://host[:port][/anything] (the path is ignored: gRPC names
 * the method). The port defaults to 4317. No I/O. Returns 0,
 * -EPROTONOSUPPORT for https and other schemes, or -EINVAL.
 */
int fo_grpc_client_init(struct fo_grpc_client *c, const char *url);

/*
 * Calls method (FO_GRPC_TRACES ...) with one request message (len bytes,
 * gzip-compressed when gzip is set) and the extra metadata headers, before
 * deadline_ns (CLOCK_MONOTONIC; also sent as grpc-timeout). Fills out: rc 0
 * with grpc_status, message, retry_after_ms (from RetryInfo) and the
 * response message when the call ended with a status; else rc -ETIMEDOUT,
 * -ECONNREFUSED, -ECONNRESET (connection lost, stream refused or reset),
 * -EPROTO (not HTTP/2) or another -errno. Returns out->rc.
 */
int fo_grpc_client_call(struct fo_grpc_client *c, const char *method,
                        const struct fo_kv *headers, size_t n_headers, int gzip,
                        const void *body, size_t len, uint64_t deadline_ns,
                        struct fo_export_result *out);

/*
 * Writes the grpc-timeout value for a call that must end by deadline_ns,
 * at now_ns, into buf: whole milliseconds left, rounded down but at least
 * "1m" (the gRPC spec wants a positive TimeoutValue of at most 8 digits).
 * Returns 0, or -ETIMEDOUT when no time is left and the call must not
 * start.
 */
int fo_grpc_timeout_format(uint64_t now_ns, uint64_t deadline_ns, char *buf, size_t cap);

/* Closes the connection, if any. The client can be used again. */
void fo_grpc_client_close(struct fo_grpc_client *c);

#endif

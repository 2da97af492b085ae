/*
 * delivery.h - getting one encoded OTLP request to the collector: the
 * transport the configuration chose (OTLP/HTTP or OTLP/gRPC), gzip, and the
 * specification's retry rules (retry.h) within one deadline. Between
 * attempts the caller's wait function runs, so the exporter keeps taking
 * records from the host while it backs off.
 */
#ifndef FO_DELIVERY_H
#define FO_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "otlp_grpc.h"
#include "otlp_http.h"
#include "retry.h"

enum fo_signal { FO_SIGNAL_TRACES, FO_SIGNAL_METRICS };

struct fo_delivery {
    const struct fo_otlp_target *target;
    enum fo_signal signal;
    struct fo_http_client http;
    struct fo_grpc_client grpc;
    struct fo_buf gz;
    struct fo_export_result result;
    uint64_t rng;
};

enum fo_delivery_status {
    FO_DELIVERED,    /* the collector took it (see rejected for a partial success) */
    FO_NOT_DELIVERED, /* retries ran out of time, or nothing could be sent */
    FO_REFUSED,      /* the collector refused it for good (HTTP 400, INVALID_ARGUMENT...) */
};

struct fo_delivery_outcome {
    enum fo_delivery_status status;
    int64_t rejected;  /* items a partial success rejected */
    unsigned attempts;
};

/* Called between attempts; must return by until_ns (CLOCK_MONOTONIC). */
typedef void (*fo_delivery_wait_fn)(void *ctx, uint64_t until_ns);

/*
 * Prepares delivery of one signal to t (which must outlive d). No I/O.
 * Returns 0, the -errno of an unusable endpoint (see the clients), or
 * -ENOSYS for gRPC when nghttp2 cannot be loaded.
 */
int fo_delivery_init(struct fo_delivery *d, const struct fo_otlp_target *t,
                     enum fo_signal signal, uint64_t seed);

/*
 * Sends msg (an encoded Export*ServiceRequest), retrying what may succeed
 * later, and gives up when the next attempt could not finish by
 * deadline_ns. Diagnostics name the endpoint and the cause, never the
 * headers.
 */
void fo_delivery_send(struct fo_delivery *d, const void *msg, size_t len, uint64_t deadline_ns,
                      fo_delivery_wait_fn wait, void *ctx, struct fo_delivery_outcome *out);

/* Closes connections and frees buffers; d can be initialised again. */
void fo_delivery_close(struct fo_delivery *d);

#endif

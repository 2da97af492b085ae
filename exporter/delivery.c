/* delivery.c - transport choice, gzip and retries for one signal (see delivery.h). */
#include "delivery.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gzip.h"
#include "h2dl.h"
#include "log.h"
#include "net.h"

/* The time an attempt needs to be answered; retry.c takes the same as the
 * shortest delay before any retry, so the two cannot drift apart. */
#define MIN_ATTEMPT_NS FO_RETRY_MIN_DELAY_NS

int fo_delivery_init(struct fo_delivery *d, const struct fo_otlp_target *t,
                     enum fo_signal signal, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->target = t;
    d->signal = signal;
    d->rng = seed | 1;
    d->http.fd = -1;
    d->grpc.fd = -1;
    if (t->protocol == FO_PROTO_GRPC) {
        int rc = fo_grpc_client_init(&d->grpc, t->url);
        return rc == 0 && fo_h2dl_load() != 0 ? -ENOSYS : rc;
    }
    return fo_http_client_init(&d->http, t->url);
}

void fo_delivery_close(struct fo_delivery *d)
{
    fo_http_client_close(&d->http);
    fo_grpc_client_close(&d->grpc);
    fo_buf_free(&d->gz);
}

static uint64_t next_rng(struct fo_delivery *d)
{
    d->rng ^= d->rng << 13; /* xorshift64: jitter needs no more */
    d->rng ^= d->rng >> 7;
    d->rng ^= d->rng << 17;
    return d->rng;
}

static const char *signal_name(const struct fo_delivery *d)
{
    return d->signal == FO_SIGNAL_TRACES ? "traces" : "metrics";
}

/* What went wrong, in a few words, for a diagnostic line. */
static void describe(const struct fo_export_result *r, char *buf, size_t cap)
{
    if (r->rc == -EPROTO)
        snprintf(buf, cap, "the response is not OTLP");
    else if (r->rc == -E2BIG) /* strerror would say "Argument list too long" */
        snprintf(buf, cap, "the request or its headers are too large");
    else if (r->rc != 0)
        snprintf(buf, cap, "%s", strerror(-r->rc));
    else if (r->grpc_status >= 0)
        snprintf(buf, cap, "gRPC status %d%s%s", r->grpc_status, r->message[0] ? ": " : "",
                 r->message);
    else
        snprintf(buf, cap, "HTTP status %d", r->http_status);
}

static void attempt(struct fo_delivery *d, const void *body, size_t len, uint64_t deadline_ns)
{
    const struct fo_otlp_target *t = d->target;
    if (t->protocol == FO_PROTO_GRPC)
        fo_grpc_client_call(&d->grpc,
                            d->signal == FO_SIGNAL_TRACES ? FO_GRPC_TRACES : FO_GRPC_METRICS,
                            t->headers, t->n_headers, t->gzip, body, len, deadline_ns,
                            &d->result);
    else
        fo_http_client_post(&d->http, t->headers, t->n_headers, "application/x-protobuf",
                            t->gzip, body, len, deadline_ns, &d->result);
}

void fo_delivery_send(struct fo_delivery *d, const void *msg, size_t len, uint64_t deadline_ns,
                      fo_delivery_wait_fn wait, void *ctx, struct fo_delivery_outcome *out)
{
    char why[200];
    memset(out, 0, sizeof *out);
    out->status = FO_NOT_DELIVERED;
    if (d->target->gzip) {
        int rc = fo_gzip(msg, len, &d->gz);
        if (rc != 0) {
            fo_log(FO_LOG_ERROR, fo_log_loss, "cannot compress %s: %s; data dropped", signal_name(d),
                   strerror(-rc));
            return;
        }
        msg = d->gz.data;
        len = d->gz.len;
    }
    for (;;) {
        out->attempts++;
        attempt(d, msg, len, deadline_ns);
        const struct fo_export_result *r = &d->result;
        enum fo_outcome o = fo_retry_classify(r);
        if (o == FO_OUTCOME_OK) {
            char text[128];
            int64_t rejected = 0;
            if (fo_retry_partial_success(r->body, r->body_len, &rejected, text, sizeof text) == 1 &&
                (rejected > 0 || text[0] != '\0')) {
                out->rejected = rejected > 0 ? rejected : 0;
                fo_log(FO_LOG_ERROR, "partial", "the collector at %s took %s partially: %lld "
                       "rejected%s%s", d->target->url, signal_name(d), (long long)rejected,
                       text[0] ? ": " : "", text);
            }
            out->status = FO_DELIVERED;
            return;
        }
        describe(r, why, sizeof why);
        if (o == FO_OUTCOME_REJECTED) {
            out->status = FO_REFUSED;
            fo_log(FO_LOG_ERROR, fo_log_loss, "the collector at %s refused %s (%s): data dropped, "
                   "not retried", d->target->url, signal_name(d), why);
            return;
        }
        if (o == FO_OUTCOME_FAILED) {
            /* Nothing reached a collector: counted as not delivered. */
            fo_log(FO_LOG_ERROR, fo_log_loss, "cannot export %s to %s (%s): data dropped, "
                   "not retried", signal_name(d), d->target->url, why);
            return;
        }
        uint64_t now = fo_net_now_ns();
        uint64_t delay = fo_retry_delay_ns(r, out->attempts, next_rng(d));
        /* An attempt needs time to be answered: none starts in the last
         * MIN_ATTEMPT_NS before the deadline. */
        if (now >= deadline_ns || delay + MIN_ATTEMPT_NS >= deadline_ns - now) {
            fo_log(FO_LOG_ERROR, fo_log_loss, "exporting %s to %s failed (%s) after %u attempt%s: "
                   "data dropped", signal_name(d), d->target->url, why, out->attempts,
                   out->attempts == 1 ? "" : "s");
            return;
        }
        fo_log(FO_LOG_DEBUG, "retry", "exporting %s to %s: %s; retrying in %llu ms",
               signal_name(d), d->target->url, why, (unsigned long long)(delay / 1000000));
        if (wait != NULL)
            wait(ctx, now + delay);
    }
}

/*
 * retry.h - what one OTLP export attempt came to, independent of the
 * transport, and the OTLP specification's rules for what to do next:
 * retry only what the collector says may succeed later (HTTP 429, 502,
 * 503, 504; gRPC CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
 * UNAVAILABLE, DATA_LOSS, and RESOURCE_EXHAUSTED only with RetryInfo) and
 * connection failures, after an exponential backoff with jitter, or after
 * the delay the collector asked for (never less than FO_RETRY_MIN_DELAY_NS).
 * A request that fails before any collector could judge it (headers too
 * large, an unusable endpoint, no gRPC library) is not retried either: it
 * would fail the same way every time.
 */
#ifndef FO_RETRY_H
#define FO_RETRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define FO_RESULT_BODY_MAX 8192

struct fo_export_result {
    int rc;                 /* 0 when a response arrived, else -errno */
    int http_status;        /* HTTP status (for gRPC the :status) */
    int grpc_status;        /* gRPC status code; -1 over HTTP or when absent */
    int64_t retry_after_ms; /* the delay the server asked for; -1 when none */
    char message[160];      /* grpc-message (percent-decoded), else "" */
    uint8_t body[FO_RESULT_BODY_MAX]; /* the response message */
    size_t body_len;
    int body_truncated;
};

/* Sets r to "nothing happened yet". */
void fo_export_result_init(struct fo_export_result *r);

enum fo_outcome {
    FO_OUTCOME_OK,       /* accepted (maybe partially: see the response body) */
    FO_OUTCOME_RETRY,    /* may succeed later */
    FO_OUTCOME_REJECTED, /* the collector refused it for good: do not retry */
    FO_OUTCOME_FAILED,   /* could not be sent and never will be: do not retry */
};

/*
 * What to do after the attempt r describes. With r->rc != 0 (no response)
 * only connection-level failures are retried: refused, reset or aborted
 * connections, broken pipes, timeouts, unreachable hosts and networks,
 * exhausted local ports or descriptors, and answers we could not read
 * (-EPROTO). Any other -errno (-E2BIG, -EINVAL, -ENOSYS, -ENOMEM,
 * -EPROTONOSUPPORT ...) is FO_OUTCOME_FAILED.
 */
enum fo_outcome fo_retry_classify(const struct fo_export_result *r);

/*
 * The shortest delay before any retry: see fo_retry_delay_ns.
 */
#define FO_RETRY_MIN_DELAY_NS 100000000u /* 100 ms */

/*
 * Delay before retry number attempt (1, 2, ...) after the attempt r
 * describes: the server's (r->retry_after_ms) when it gave one, else
 * fo_retry_backoff_ns(attempt, rnd); never less than FO_RETRY_MIN_DELAY_NS.
 */
uint64_t fo_retry_delay_ns(const struct fo_export_result *r, unsigned attempt, uint64_t rnd);

/*
 * Delay before retry number attempt (1, 2, ...): 1 s, 1.5 s, 2.25 s ...
 * capped at 5 s, times a jitter factor in [0.8, 1.2) taken from rnd.
 */
uint64_t fo_retry_backoff_ns(unsigned attempt, uint64_t rnd);

/*
 * A Retry-After value: delay-seconds or an HTTP-date (IMF-fixdate),
 * relative to now_unix. Returns milliseconds (0 for a date in the past), or
 * -1 when the value is malformed.
 */
int64_t fo_retry_after_parse(const char *v, time_t now_unix);

/*
 * The retry delay of a google.rpc.RetryInfo inside a serialized
 * google.rpc.Status (the grpc-status-details-bin trailer, already
 * base64-decoded). Returns milliseconds, or -1 when there is none.
 */
int64_t fo_retry_info_ms(const uint8_t *status, size_t len);

/*
 * The partial success in an Export*ServiceResponse (field 1, the same shape
 * for every signal: rejected count = 1, error_message = 2). Returns 1 with
 * *rejected and msg (printable, truncated) set when the response has one,
 * 0 when not, -1 when the response is malformed.
 */
int fo_retry_partial_success(const uint8_t *resp, size_t len, int64_t *rejected, char *msg,
                             size_t cap);

/*
 * Decodes base64 (standard alphabet, padding optional, as in gRPC -bin
 * metadata) into out. Returns the decoded length, or -EINVAL.
 */
ssize_t fo_retry_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif

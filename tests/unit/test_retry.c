/* test_retry.c - which export outcomes are retried, and after how long. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "exporter/otlp_grpc.h"
#include "exporter/retry.h"

static enum fo_outcome http(int status)
{
    struct fo_export_result r;
    fo_export_result_init(&r);
    r.http_status = status;
    return fo_retry_classify(&r);
}

static enum fo_outcome grpc(int code, int64_t retry_after_ms)
{
    struct fo_export_result r;
    fo_export_result_init(&r);
    r.http_status = 200;
    r.grpc_status = code;
    r.retry_after_ms = retry_after_ms;
    return fo_retry_classify(&r);
}

Test(retry, http_statuses_per_the_otlp_spec)
{
    cr_assert_eq(http(200), FO_OUTCOME_OK);
    cr_assert_eq(http(202), FO_OUTCOME_OK);
    static const int retry[] = {429, 502, 503, 504};
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(http(retry[i]), FO_OUTCOME_RETRY, "%d", retry[i]);
    static const int never[] = {400, 401, 403, 404, 413, 500, 501, 301};
    for (size_t i = 0; i < 8; i++)
        cr_assert_eq(http(never[i]), FO_OUTCOME_REJECTED, "%d", never[i]);
}

Test(retry, grpc_codes_per_the_otlp_spec)
{
    cr_assert_eq(grpc(0, -1), FO_OUTCOME_OK);
    static const int retry[] = {1, 4, 10, 11, 14, 15};
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(grpc(retry[i], -1), FO_OUTCOME_RETRY, "%d", retry[i]);
    static const int never[] = {2, 3, 5, 6, 7, 9, 12, 13, 16};
    for (size_t i = 0; i < 9; i++)
        cr_assert_eq(grpc(never[i], -1), FO_OUTCOME_REJECTED, "%d", never[i]);
    cr_assert_eq(grpc(8, -1), FO_OUTCOME_REJECTED, "RESOURCE_EXHAUSTED without RetryInfo");
    cr_assert_eq(grpc(8, 1500), FO_OUTCOME_RETRY, "RESOURCE_EXHAUSTED with RetryInfo");
}

Test(retry, connection_failures_are_retried)
{
    struct fo_export_result r;
    fo_export_result_init(&r);
    static const int errs[] = {ECONNREFUSED, ETIMEDOUT, ECONNRESET, ECONNABORTED, EPIPE,
                               EPROTO, EHOSTUNREACH, ENETUNREACH, ENETDOWN, EADDRNOTAVAIL};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        r.rc = -errs[i];
        cr_assert_eq(fo_retry_classify(&r), FO_OUTCOME_RETRY, "%s", strerror(errs[i]));
    }
}

Test(retry, a_request_that_cannot_be_sent_is_not_retried)
{
    struct fo_export_result r;
    fo_export_result_init(&r);
    /* Headers too large, a bad endpoint, https, no nghttp2, no memory. */
    static const int errs[] = {E2BIG, EINVAL, EPROTONOSUPPORT, ENOSYS, ENOMEM, EAFNOSUPPORT};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        r.rc = -errs[i];
        cr_assert_eq(fo_retry_classify(&r), FO_OUTCOME_FAILED, "%s", strerror(errs[i]));
    }
    /* Whatever status a failed attempt left behind, the rc decides. */
    r.rc = -E2BIG;
    r.http_status = 503;
    cr_assert_eq(fo_retry_classify(&r), FO_OUTCOME_FAILED);
}

Test(retry, every_delay_has_a_floor)
{
    struct fo_export_result r;
    fo_export_result_init(&r);
    r.retry_after_ms = 0; /* "Retry-After: 0", a past date, a zero RetryInfo */
    cr_assert_eq(fo_retry_delay_ns(&r, 1, 0), FO_RETRY_MIN_DELAY_NS);
    cr_assert_eq(fo_retry_delay_ns(&r, 7, UINT64_MAX), FO_RETRY_MIN_DELAY_NS);
    r.retry_after_ms = 99;
    cr_assert_eq(fo_retry_delay_ns(&r, 1, 0), FO_RETRY_MIN_DELAY_NS);
    r.retry_after_ms = 100;
    cr_assert_eq(fo_retry_delay_ns(&r, 1, 0), 100000000u);
    r.retry_after_ms = 2500;
    cr_assert_eq(fo_retry_delay_ns(&r, 1, 0), 2500000000u, "the server's delay, not ours");
    r.retry_after_ms = -1;
    cr_assert_eq(fo_retry_delay_ns(&r, 1, 0), fo_retry_backoff_ns(1, 0), "no delay asked for");
    cr_assert_eq(fo_retry_delay_ns(&r, 3, 12345), fo_retry_backoff_ns(3, 12345));
    time_t now = 784111777;
    r.retry_after_ms = fo_retry_after_parse("Sun, 06 Nov 1994 08:00:00 GMT", now);
    cr_assert_eq(fo_retry_delay_ns(&r, 1, 0), FO_RETRY_MIN_DELAY_NS, "a date in the past");
}

Test(retry, backoff_grows_is_capped_and_jittered)
{
    uint64_t lo = fo_retry_backoff_ns(1, 0), hi = fo_retry_backoff_ns(1, UINT64_MAX);
    cr_assert_eq(lo, 800000000u);
    cr_assert(hi > 1190000000u && hi <= 1200000000u);
    cr_assert_eq(fo_retry_backoff_ns(2, 0), 1200000000u);
    cr_assert_eq(fo_retry_backoff_ns(50, 0), 4000000000u, "capped at 5 s before jitter");
    cr_assert_leq(fo_retry_backoff_ns(50, UINT64_MAX), 6000000000u);
    for (unsigned a = 1; a < 8; a++)
        cr_assert_leq(fo_retry_backoff_ns(a, 0), fo_retry_backoff_ns(a + 1, 0));
}

Test(retry, retry_after_seconds_and_dates)
{
    time_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    cr_assert_eq(fo_retry_after_parse("7", now), 7000);
    cr_assert_eq(fo_retry_after_parse(" 0 ", now), 0);
    cr_assert_eq(fo_retry_after_parse("Sun, 06 Nov 1994 08:49:47 GMT", now), 10000);
    cr_assert_eq(fo_retry_after_parse("Sun, 06 Nov 1994 08:00:00 GMT", now), 0, "past");
    cr_assert_eq(fo_retry_after_parse("-1", now), -1);
    cr_assert_eq(fo_retry_after_parse("1.5", now), -1);
    cr_assert_eq(fo_retry_after_parse("soon", now), -1);
    cr_assert_eq(fo_retry_after_parse("", now), -1);
    cr_assert_eq(fo_retry_after_parse("99999999999999999999", now), -1);
}

/* google.rpc.Status { code 8, details [Any { type_url RetryInfo,
 * value RetryInfo { retry_delay Duration { 2 s, 500 ms } } }] }, built field by field. */
Test(retry, retry_info_in_grpc_status_details)
{
    static const uint8_t dur[] = {0x08, 0x02, 0x10, 0x80, 0xca, 0xb5, 0xee, 0x01};
    uint8_t info[2 + sizeof dur] = {0x0a, sizeof dur};
    memcpy(info + 2, dur, sizeof dur);
    static const char type[] = "type.googleapis.com/google.rpc.RetryInfo";
    uint8_t any[64];
    size_t a = 0;
    any[a++] = 0x0a;
    any[a++] = sizeof type - 1;
    memcpy(any + a, type, sizeof type - 1);
    a += sizeof type - 1;
    any[a++] = 0x12;
    any[a++] = sizeof info;
    memcpy(any + a, info, sizeof info);
    a += sizeof info;
    uint8_t st[96];
    size_t n = 0;
    st[n++] = 0x08;
    st[n++] = 0x08;
    st[n++] = 0x1a;
    st[n++] = (uint8_t)a;
    memcpy(st + n, any, a);
    n += a;
    cr_assert_eq(fo_retry_info_ms(st, n), 2500);
    cr_assert_eq(fo_retry_info_ms(st, n - 1), -1, "truncated");
    cr_assert_eq(fo_retry_info_ms(st, 2), -1, "no details");
    st[4 + 2 + 30] ^= 0x20; /* another type */
    cr_assert_eq(fo_retry_info_ms(st, n), -1);
}

Test(retry, partial_success_is_read_for_every_signal)
{
    /* ExportTraceServiceResponse { partial_success { rejected_spans 3, error_message "bad" } } */
    static const uint8_t resp[] = {0x0a, 0x07, 0x08, 0x03, 0x12, 0x03, 'b', 'a', 'd'};
    int64_t rejected;
    char msg[16];
    cr_assert_eq(fo_retry_partial_success(resp, sizeof resp, &rejected, msg, sizeof msg), 1);
    cr_assert_eq(rejected, 3);
    cr_assert_str_eq(msg, "bad");
    cr_assert_eq(fo_retry_partial_success(resp, 0, &rejected, msg, sizeof msg), 0, "empty");
    cr_assert_eq(fo_retry_partial_success(resp, 5, &rejected, msg, sizeof msg), -1);
    char tiny[3];
    cr_assert_eq(fo_retry_partial_success(resp, sizeof resp, &rejected, tiny, sizeof tiny), 1);
    cr_assert_str_eq(tiny, "ba");
}

Test(retry, base64_of_binary_metadata)
{
    uint8_t out[16];
    cr_assert_eq(fo_retry_base64_decode("aGVsbG8=", 8, out, sizeof out), 5);
    cr_assert_eq(memcmp(out, "hello", 5), 0);
    cr_assert_eq(fo_retry_base64_decode("aGVsbG8", 7, out, sizeof out), 5, "unpadded");
    cr_assert_eq(fo_retry_base64_decode("a", 1, out, sizeof out), -EINVAL);
    cr_assert_eq(fo_retry_base64_decode("a$==", 4, out, sizeof out), -EINVAL);
    cr_assert_eq(fo_retry_base64_decode("aGVsbG8=", 8, out, 4), -EINVAL, "no room");
}

Test(retry, grpc_timeout_is_never_zero)
{
    char b[16];
    uint64_t now = 5000000000u;
    cr_assert_eq(fo_grpc_timeout_format(now, now + 3000000000u, b, sizeof b), 0);
    cr_assert_str_eq(b, "3000m");
    cr_assert_eq(fo_grpc_timeout_format(now, now + 1999999, b, sizeof b), 0);
    cr_assert_str_eq(b, "1m", "rounded down");
    cr_assert_eq(fo_grpc_timeout_format(now, now + 999999, b, sizeof b), 0);
    cr_assert_str_eq(b, "1m", "under 1 ms left: at least 1m, never 0m");
    cr_assert_eq(fo_grpc_timeout_format(now, now + 1, b, sizeof b), 0);
    cr_assert_str_eq(b, "1m");
    cr_assert_eq(fo_grpc_timeout_format(now, now, b, sizeof b), -ETIMEDOUT, "no time left");
    cr_assert_eq(fo_grpc_timeout_format(now, now - 1, b, sizeof b), -ETIMEDOUT, "past");
    cr_assert_eq(fo_grpc_timeout_format(0, UINT64_MAX, b, sizeof b), 0);
    cr_assert_str_eq(b, "99999999m", "at most 8 digits");
    cr_assert_eq(fo_grpc_timeout_format(now, now + 3000000000u, b, 5), -EINVAL, "no room");
}

Test(retry, grpc_endpoints)
{
    struct fo_grpc_client c;
    cr_assert_eq(fo_grpc_client_init(&c, "http://otel-collector.default.svc.cluster.local"), 0);
    cr_assert_str_eq(c.port, "4317");
    cr_assert_str_eq(c.authority, "otel-collector.default.svc.cluster.local");
    cr_assert_eq(fo_grpc_client_init(&c, "http://[::1]:55680/ignored/path"), 0);
    cr_assert_str_eq(c.host, "::1");
    cr_assert_str_eq(c.port, "55680");
    cr_assert_str_eq(c.authority, "[::1]:55680");
    cr_assert_eq(fo_grpc_client_init(&c, "https://c:4317"), -EPROTONOSUPPORT);
    cr_assert_eq(fo_grpc_client_init(&c, "http://:4317"), -EINVAL);
    cr_assert_eq(fo_grpc_client_init(&c, "http://c:x"), -EINVAL);
}

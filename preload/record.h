/*
 * record.h - the fixed-size request record: everything the host thread learns
 * about one HTTP exchange, handed to the exporter thread through the ring.
 *
 * The record is filled on the host's threads without allocation; strings are
 * fixed arrays with explicit lengths (not NUL-terminated), truncated when long.
 * Timestamps are CLOCK_MONOTONIC nanoseconds; the exporter converts them to
 * Unix time with an offset it measures itself.
 */
#ifndef FO_RECORD_H
#define FO_RECORD_H

#include <stdint.h>

#define FO_METHOD_MAX 16
#define FO_TARGET_MAX 256
#define FO_UA_MAX 128
#define FO_TRACEPARENT_LEN 55 /* "00-<32 hex>-<16 hex>-<2 hex>" */

/* What the HTTP sniffer learnt about one request/response exchange. */
struct fo_http_info {
    uint64_t start_ns;    /* read that returned the request's first byte */
    uint64_t end_ns;      /* write that completed the response, or the abort */
    uint16_t status;      /* final (non-1xx) status code; 0 when none was sent */
    uint16_t target_len;  /* bytes used in target[] */
    uint8_t method_len;
    uint8_t ua_len;
    uint8_t version_minor; /* HTTP/1.<minor>: 0 or 1 */
    uint8_t flags;         /* FO_HTTP_F_* */
    char method[FO_METHOD_MAX];
    char target[FO_TARGET_MAX];     /* request-target as sent (path and query) */
    char user_agent[FO_UA_MAX];
    char traceparent[FO_TRACEPARENT_LEN];
};

#define FO_HTTP_F_TARGET_TRUNCATED 0x01u /* target[] holds only a prefix */
#define FO_HTTP_F_TRACEPARENT 0x02u      /* traceparent[] holds a header value */
#define FO_HTTP_F_ABORTED 0x04u /* ended before the response was complete */
#define FO_HTTP_F_UA_TRUNCATED 0x08u

/* One record in the ring: the exchange plus the connection it came on. */
struct fo_record {
    struct fo_http_info http;
    uint8_t peer_addr[16]; /* IPv4 in the first 4 bytes, or IPv6 */
    uint8_t peer_family;   /* AF_INET or AF_INET6 */
    uint8_t scheme;        /* FO_SCHEME_* */
    uint16_t peer_port;
    uint16_t local_port;
};

#define FO_SCHEME_HTTP 0
#define FO_SCHEME_HTTPS 1

#endif

/*
 * record.h - the fixed-size request record: everything the host thread learns
 * about one HTTP exchange, handed to the exporter thread through the ring.
 *
 * The record is filled on the host's threads without allocation; strings are
 * fixed arrays with explicit lengths (not NUL-terminated), truncated when long.
 * Timestamps are ticks of exporter/clock.h; the exporter turns them into
 * Unix time.
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
    uint64_t start_tick;  /* read that returned the request's first byte */
    uint64_t end_tick;    /* write that completed the response, or the abort */
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
#define FO_HTTP_F_FEAST 0x10u /* the record's feast statistics apply */
/* ... but the response body is still to be scanned: its statuses are not in
 * them yet, and the exporter scans the body in later slot feast_later. */
#define FO_HTTP_F_FEAST_LATER 0x20u

/* What a Feast request and its response said, in counts and names only. */
#define FO_FEAST_NAME_MAX 48
#define FO_FEAST_VIEWS_MAX 8     /* feature view names kept per request */
#define FO_FEAST_FEATURES_MAX 64 /* features attributed to their view */

enum fo_feast_kind {
    FO_FEAST_BODY_NONE,
    FO_FEAST_BODY_GOF,         /* /get-online-features */
    FO_FEAST_BODY_PUSH,        /* /push */
    FO_FEAST_BODY_MATERIALIZE, /* /materialize, /materialize-incremental */
};

enum fo_feast_status {
    FO_FEAST_PRESENT,
    FO_FEAST_NOT_FOUND,
    FO_FEAST_NULL_VALUE,
    FO_FEAST_OUTSIDE_MAX_AGE,
    FO_FEAST_INVALID,
    FO_FEAST_STATUSES,
};

enum fo_feast_push_mode { FO_PUSH_ONLINE, FO_PUSH_OFFLINE, FO_PUSH_ONLINE_AND_OFFLINE };

#define FO_FEAST_K_REQUEST 0x01u  /* entity/feature/view counts and names are known */
#define FO_FEAST_K_STATUSES 0x02u /* status counts are known */
#define FO_FEAST_K_SERVICE 0x04u  /* the request named a feature service */
#define FO_FEAST_K_VIEW_COUNT 0x08u /* view_count is known: features were named, and
                                      * no more distinct views than are counted */

struct fo_feast_name {
    uint8_t len;
    uint8_t truncated;
    char s[FO_FEAST_NAME_MAX];
};

struct fo_feast_stats {
    uint8_t kind;        /* enum fo_feast_kind */
    uint8_t known;       /* FO_FEAST_K_* */
    uint8_t n_views;     /* names in views[]: the first distinct views */
    uint8_t push_mode;   /* enum fo_feast_push_mode */
    uint32_t entity_count;  /* entity rows requested */
    uint32_t feature_count; /* features requested (0 with a feature service) */
    uint32_t view_count;    /* distinct feature views requested (FO_FEAST_K_VIEW_COUNT) */
    struct fo_feast_name name; /* feature service, or push source */
    struct fo_feast_name views[FO_FEAST_VIEWS_MAX];
    /* Returned values by status: per view of views[], then one more for
     * the feature service (or views beyond the kept ones). */
    uint32_t status[FO_FEAST_VIEWS_MAX + 1][FO_FEAST_STATUSES];
};

/*
 * One record in the ring: the exchange plus the connection it came on.
 * What every exchange sets comes first, with its ring slot's sequence number
 * in one 64-byte line, and the strings follow: a record of a short target
 * touches two lines of its kilobyte. Only the fields an exchange sets are
 * written: feast applies only with FO_HTTP_F_FEAST, traceparent only with
 * FO_HTTP_F_TRACEPARENT, and the strings only up to their lengths.
 */
struct fo_record {
    uint8_t peer_addr[16]; /* IPv4 in the first 4 bytes, or IPv6 */
    uint8_t peer_family;   /* AF_INET or AF_INET6 */
    uint8_t scheme;        /* FO_SCHEME_* */
    uint16_t peer_port;
    uint16_t local_port;
    uint16_t feast_later; /* with FO_HTTP_F_FEAST_LATER (exporter/later.h) */
    struct fo_http_info http;
    struct fo_feast_stats feast;
};

#define FO_SCHEME_HTTP 0
#define FO_SCHEME_HTTPS 1

#endif

/*
 * otlp_http.h - the OTLP/HTTP transport: a small HTTP/1.1 keep-alive client
 * that POSTs encoded requests to one URL. It runs on the exporter thread
 * only and uses the real libc functions, so our own hooks never see it.
 */
#ifndef FO_OTLP_HTTP_H
#define FO_OTLP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "retry.h"

struct fo_http_client {
    int fd; /* -1 when not connected */
    char host[256];
    char port[8];
    char path[FO_CFG_URL_MAX];
    char hostport[272]; /* Host header */
};

/*
 * Parses http://host[:port][/path] (host may be an IPv6 literal in
 * brackets). No I/O. Returns 0, -EPROTONOSUPPORT for https and other
 * schemes, or -EINVAL for a malformed URL.
 */
int fo_http_client_init(struct fo_http_client *c, const char *url);

/*
 * POSTs body (len bytes, already gzip-compressed when gzip is set) with
 * content_type and the extra headers, and reads the whole response, all
 * before deadline_ns (CLOCK_MONOTONIC). Reuses the open connection when
 * there is one (reconnecting once if the server had closed it). Fills out:
 * rc 0 with http_status, retry_after_ms and the body (truncated) when a
 * response was read, else rc -ETIMEDOUT, -ECONNREFUSED, -ECONNRESET,
 * -EPROTO (unparseable response) or another -errno. Returns out->rc.
 */
int fo_http_client_post(struct fo_http_client *c, const struct fo_kv *headers,
                        size_t n_headers, const char *content_type, int gzip, const void *body,
                        size_t len, uint64_t deadline_ns, struct fo_export_result *out);

/* Closes the connection, if any. The client can be used again. */
void fo_http_client_close(struct fo_http_client *c);

#endif

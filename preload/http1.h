/*
 * http1.h - an incremental HTTP/1.x sniffer for the server side of one
 * connection: it watches the bytes the server reads (requests) and writes
 * (responses) in any split, and reports each finished exchange.
 *
 * It never rejects anything: on bytes it does not understand it returns
 * FO_HTTP1_STOP and the caller stops following the connection. No
 * allocation; all state is in struct fo_http1, which callers embed. Lines
 * that span calls are carried over in bounded buffers; only prefixes of long
 * lines are kept. One caller at a time per struct.
 */
#ifndef FO_HTTP1_H
#define FO_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include "feast_body.h"
#include "record.h"

enum { FO_HTTP1_OK = 0, FO_HTTP1_STOP = -1 };

#define FO_HTTP1_MAX_PENDING 4 /* pipelined requests awaiting a response */
#define FO_HTTP1_LINE_MAX 512  /* carried-over prefix of a split line */
#define FO_HTTP1_TAIL_MAX 16   /* carried-over end of an overlong line */

/* Assembles one line across calls (one per direction). */
struct fo_http1_line {
    uint16_t len;      /* bytes in buf */
    uint8_t overflow;  /* the line was longer than buf: tail holds its end */
    uint8_t tail_len;
    char buf[FO_HTTP1_LINE_MAX];
    char tail[FO_HTTP1_TAIL_MAX];
};

/* One request that has started and not been answered yet. */
struct fo_http1_pending {
    struct fo_http_info info;
    uint8_t head;     /* HEAD: the response has no body */
    uint8_t close;    /* the request asked for the connection to close */
    uint8_t complete; /* the whole request (headers and body) was read */
    uint8_t feast;    /* its bodies go through the Feast scanner */
};

struct fo_http1 {
    uint8_t stopped;
    uint8_t rstate, wstate; /* per direction: what the next bytes are */
    uint8_t npending, first; /* ring of pending requests */
    /* Side by side where they are set together, per request and per
     * response, so the compiler can merge the stores. */
    uint8_t r_chunked, r_cl_seen;
    uint8_t w_chunked, w_cl_seen;
    uint8_t w_interim;       /* the response head being read is 1xx */
    uint8_t w_close;         /* the connection closes after this response */
    uint16_t w_status;
    uint64_t r_left, w_left; /* body or chunk bytes still to skip */
    uint64_t r_cl, w_cl;
    uint64_t r_start_tick;   /* first byte of the request being read */
    struct fo_http1_line rline, wline;
    struct fo_http1_pending pending[FO_HTTP1_MAX_PENDING];
    /* Feast statistics: the caller sets feast (NULL: off) after init. One
     * exchange at a time is scanned; fstate says which body is flowing. */
    struct fo_feast_body *feast;
    uint32_t feast_budget;
    uint8_t fstate; /* F_* in http1.c */
    /* Set by the caller: a response body that is all in the write that ends
     * the exchange is not scanned here but handed to emit as feast_tail
     * (feast_tail_len bytes, valid only during that call; NULL otherwise).
     * emit scans it, or has it scanned (fo_feast_body_resume), as a
     * complete body, unless it drops the exchange altogether. */
    uint8_t feast_defer;
    const char *feast_tail;
    size_t feast_tail_len;
};

/*
 * Receives each finished exchange. info is valid only during the call; the
 * callback must not call back into the same struct fo_http1.
 */
typedef void (*fo_http1_emit_fn)(void *ctx, const struct fo_http_info *info);

/* Prepares h for a new connection. */
void fo_http1_init(struct fo_http1 *h);

/*
 * Feeds len bytes the server read from the client, at time now (a tick of
 * exporter/clock.h). Returns FO_HTTP1_OK, or FO_HTTP1_STOP when the
 * connection should no longer be followed (then, and after, nothing more is
 * emitted). buf is only read, never beyond len.
 */
int fo_http1_on_read(struct fo_http1 *h, const char *buf, size_t len, uint64_t now,
                     fo_http1_emit_fn emit, void *ctx);

/* Feeds len bytes the server wrote to the client; as fo_http1_on_read. */
int fo_http1_on_write(struct fo_http1 *h, const char *buf, size_t len, uint64_t now,
                      fo_http1_emit_fn emit, void *ctx);

/*
 * The server wrote len bytes whose content is not visible (sendfile). Valid
 * only inside a response body; anywhere else it returns FO_HTTP1_STOP.
 */
int fo_http1_on_write_opaque(struct fo_http1 *h, size_t len, uint64_t now,
                             fo_http1_emit_fn emit, void *ctx);

/* The client half-closed: a request whose head is incomplete is dropped. */
void fo_http1_on_peer_eof(struct fo_http1 *h, uint64_t now, fo_http1_emit_fn emit,
                          void *ctx);

/*
 * The connection ended: reset != 0 for a failure (ECONNRESET, EPIPE), 0 for
 * a close or shutdown by the server. A response delimited by close completes
 * normally when reset is 0; every other started request is emitted with
 * FO_HTTP_F_ABORTED. Nothing is emitted after FO_HTTP1_STOP.
 */
void fo_http1_on_close(struct fo_http1 *h, int reset, uint64_t now, fo_http1_emit_fn emit,
                       void *ctx);

#endif

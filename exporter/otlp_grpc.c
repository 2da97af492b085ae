/*
 * otlp_grpc.c - OTLP/gRPC client on nghttp2 (see otlp_grpc.h).
 *
 * DESIGN
 * One call at a time: the exporter thread submits a request, then drives
 * the session (send what nghttp2 wants to send, poll, feed what arrives)
 * until the stream closes or the deadline passes. The socket is
 * non-blocking; the session's send and receive callbacks map EAGAIN to
 * NGHTTP2_ERR_WOULDBLOCK. A call that times out closes the connection: a
 * collector that stopped answering is not worth multiplexing onto.
 * A GOAWAY keeps the connection for the call in flight (nghttp2 refuses
 * streams past the last one the server will process) and reconnects for
 * the next call.
 */
#include "otlp_grpc.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "gzip.h"
#include "h2dl.h"
#include "net.h"
#include "preload/real.h"

#define MAX_NV (10 + FO_CFG_MAX_HEADERS)

struct fo_grpc_call {
    int32_t stream_id;
    int closed;          /* the stream ended (or was reset) */
    uint32_t reset_code; /* RST_STREAM error code when reset */
    const uint8_t *body;
    size_t len, sent;
    uint8_t prefix[5];   /* compressed flag + 32-bit message length */
    uint8_t data[FO_RESULT_BODY_MAX + 5]; /* the response DATA, kept up to a cap */
    size_t data_len;
    int data_truncated;
    struct fo_export_result *out;
};

int fo_grpc_client_init(struct fo_grpc_client *c, const char *url)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    int at = fo_net_parse_url(url, "4317", c->authority, sizeof c->authority, c->host,
                              sizeof c->host, c->port, sizeof c->port);
    return at < 0 ? at : 0;
}

void fo_grpc_client_close(struct fo_grpc_client *c)
{
    if (c->session != NULL)
        fo_h2.nghttp2_session_del(c->session);
    c->session = NULL;
    if (c->fd >= 0)
        fo_real.close(c->fd);
    c->fd = -1;
    c->goaway = 0;
}

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)s;
    (void)flags;
    struct fo_grpc_client *c = user;
    ssize_t w = fo_real.send(c->fd, data, len, MSG_NOSIGNAL);
    if (w >= 0)
        return w;
    if (errno == EAGAIN || errno == EINTR)
        return NGHTTP2_ERR_WOULDBLOCK;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
}

static ssize_t recv_cb(nghttp2_session *s, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)s;
    (void)flags;
    struct fo_grpc_client *c = user;
    ssize_t r = fo_real.recv(c->fd, buf, len, 0);
    if (r > 0)
        return r;
    if (r == 0)
        return NGHTTP2_ERR_EOF;
    if (errno == EAGAIN || errno == EINTR)
        return NGHTTP2_ERR_WOULDBLOCK;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* grpc-message is percent-encoded; keep it printable. */
static void percent_decode(char *dst, size_t cap, const uint8_t *v, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        int ch = v[i];
        if (ch == '%' && i + 2 < n && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
            ch = hexval(v[i + 1]) << 4 | hexval(v[i + 2]);
            i += 2;
        }
        dst[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    dst[o] = '\0';
}

static int parse_status(const uint8_t *v, size_t n)
{
    int s = 0;
    if (n == 0 || n > 3)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        s = s * 10 + (v[i] - '0');
    }
    return s;
}

static int header_cb(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    (void)s;
    (void)flags;
    struct fo_grpc_client *c = user;
    struct fo_grpc_call *call = c->call;
    if (call == NULL || frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != call->stream_id)
        return 0;
    struct fo_export_result *out = call->out;
#define IS(lit) (namelen == sizeof(lit) - 1 && memcmp(name, lit, sizeof(lit) - 1) == 0)
    if (IS(":status")) {
        out->http_status = parse_status(value, valuelen);
    } else if (IS("grpc-status")) {
        out->grpc_status = parse_status(value, valuelen);
    } else if (IS("grpc-message")) {
        percent_decode(out->message, sizeof out->message, value, valuelen);
    } else if (IS("grpc-status-details-bin")) {
        uint8_t st[1024];
        ssize_t n = fo_retry_base64_decode((const char *)value, valuelen, st, sizeof st);
        if (n > 0)
            out->retry_after_ms = fo_retry_info_ms(st, (size_t)n);
    }
#undef IS
    return 0;
}

static int data_cb(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                   size_t len, void *user)
{
    (void)s;
    (void)flags;
    struct fo_grpc_client *c = user;
    struct fo_grpc_call *call = c->call;
    if (call == NULL || stream_id != call->stream_id)
        return 0;
    size_t room = sizeof call->data - call->data_len;
    size_t k = len < room ? len : room;
    memcpy(call->data + call->data_len, data, k);
    call->data_len += k;
    call->data_truncated |= k < len;
    return 0;
}

static int close_cb(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *user)
{
    (void)s;
    struct fo_grpc_client *c = user;
    if (c->call != NULL && stream_id == c->call->stream_id) {
        c->call->closed = 1;
        c->call->reset_code = error_code;
    }
    return 0;
}

static int frame_cb(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    (void)s;
    struct fo_grpc_client *c = user;
    if (frame->hd.type == NGHTTP2_GOAWAY)
        c->goaway = 1;
    return 0;
}

static ssize_t read_body_cb(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t len,
                            uint32_t *data_flags, nghttp2_data_source *src, void *user)
{
    (void)s;
    (void)stream_id;
    (void)user;
    struct fo_grpc_call *call = src->ptr;
    size_t total = sizeof call->prefix + call->len;
    size_t o = 0;
    while (o < len && call->sent < total) {
        size_t n;
        if (call->sent < sizeof call->prefix) {
            n = sizeof call->prefix - call->sent;
            n = n < len - o ? n : len - o;
            memcpy(buf + o, call->prefix + call->sent, n);
        } else {
            size_t at = call->sent - sizeof call->prefix;
            n = call->len - at < len - o ? call->len - at : len - o;
            memcpy(buf + o, call->body + at, n);
        }
        o += n;
        call->sent += n;
    }
    if (call->sent == total)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)o;
}

static int connect_session(struct fo_grpc_client *c, uint64_t deadline_ns)
{
    if (fo_h2dl_load() != 0)
        return -ENOSYS;
    int fd = fo_net_connect(c->host, c->port, deadline_ns);
    if (fd < 0)
        return fd;
    c->fd = fd;
    nghttp2_session_callbacks *cbs;
    if (fo_h2.nghttp2_session_callbacks_new(&cbs) != 0) {
        fo_grpc_client_close(c);
        return -ENOMEM;
    }
    fo_h2.nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
    fo_h2.nghttp2_session_callbacks_set_recv_callback(cbs, recv_cb);
    fo_h2.nghttp2_session_callbacks_set_on_header_callback(cbs, header_cb);
    fo_h2.nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, data_cb);
    fo_h2.nghttp2_session_callbacks_set_on_stream_close_callback(cbs, close_cb);
    fo_h2.nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, frame_cb);
    nghttp2_session *session = NULL;
    int rc = fo_h2.nghttp2_session_client_new(&session, cbs, c);
    fo_h2.nghttp2_session_callbacks_del(cbs);
    if (rc != 0) {
        fo_grpc_client_close(c);
        return -ENOMEM;
    }
    c->session = session;
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                   {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1}};
    if (fo_h2.nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, iv, 2) != 0) {
        fo_grpc_client_close(c);
        return -ENOMEM;
    }
    return 0;
}

#define NV(n, v, vl)                                                                         \
    (nghttp2_nv)                                                                             \
    {                                                                                        \
        (uint8_t *)(n), (uint8_t *)(v), strlen(n), (vl), NGHTTP2_NV_FLAG_NONE                \
    }

/* Drives the session until the call's stream closes or the deadline. */
static int run_call(struct fo_grpc_client *c, struct fo_grpc_call *call, uint64_t deadline_ns)
{
    nghttp2_session *s = c->session;
    while (!call->closed) {
        if (fo_h2.nghttp2_session_send(s) != 0)
            return -ECONNRESET;
        if (call->closed)
            break;
        if (!fo_h2.nghttp2_session_want_read(s) && !fo_h2.nghttp2_session_want_write(s))
            return -ECONNRESET;
        short ev = POLLIN | (fo_h2.nghttp2_session_want_write(s) ? POLLOUT : 0);
        int rc = fo_net_wait(c->fd, ev, deadline_ns);
        if (rc != 0)
            return rc;
        rc = fo_h2.nghttp2_session_recv(s);
        if (rc == NGHTTP2_ERR_EOF && !call->closed)
            return -ECONNRESET;
        if (rc == NGHTTP2_ERR_BAD_CLIENT_MAGIC || rc == NGHTTP2_ERR_PROTO ||
            rc == NGHTTP2_ERR_FLOW_CONTROL)
            return -EPROTO;
        if (rc != 0 && !call->closed)
            return rc == NGHTTP2_ERR_CALLBACK_FAILURE ? -ECONNRESET : -EPROTO;
    }
    return 0;
}

/* Takes the response message out of the DATA bytes (5-byte prefix first). */
static void take_message(struct fo_grpc_call *call, struct fo_export_result *out)
{
    if (call->data_len < 5)
        return;
    uint32_t mlen = (uint32_t)call->data[1] << 24 | (uint32_t)call->data[2] << 16 |
                    (uint32_t)call->data[3] << 8 | call->data[4];
    size_t have = call->data_len - 5;
    if (call->data[0] == 1) {
        struct fo_buf b = {0};
        if (!call->data_truncated && have >= mlen &&
            fo_gunzip(call->data + 5, mlen, &b, sizeof out->body) == 0) {
            memcpy(out->body, b.data, b.len);
            out->body_len = b.len;
        } else {
            out->body_truncated = 1;
        }
        fo_buf_free(&b);
        return;
    }
    size_t n = have < mlen ? have : mlen;
    memcpy(out->body, call->data + 5, n);
    out->body_len = n;
    out->body_truncated = n < mlen;
}

static int one_call(struct fo_grpc_client *c, const char *method, const struct fo_kv *headers,
                    size_t n_headers, int gzip, const void *body, size_t len,
                    uint64_t deadline_ns, struct fo_export_result *out);

int fo_grpc_timeout_format(uint64_t now_ns, uint64_t deadline_ns, char *buf, size_t cap)
{
    if (now_ns >= deadline_ns)
        return -ETIMEDOUT;
    uint64_t ms = (deadline_ns - now_ns) / 1000000;
    /* Less than a millisecond left still gets the call a chance: "0m"
     * would be a malformed (or already expired) timeout to the server. */
    if (ms == 0)
        ms = 1;
    if (ms > 99999999)
        ms = 99999999;
    int n = snprintf(buf, cap, "%lum", (unsigned long)ms);
    return n > 0 && (size_t)n < cap ? 0 : -EINVAL;
}

int fo_grpc_client_call(struct fo_grpc_client *c, const char *method,
                        const struct fo_kv *headers, size_t n_headers, int gzip,
                        const void *body, size_t len, uint64_t deadline_ns,
                        struct fo_export_result *out)
{
    fo_export_result_init(out);
    if (len > UINT32_MAX)
        return out->rc = -E2BIG;
    if (fo_net_now_ns() >= deadline_ns)
        return out->rc = -ETIMEDOUT;
    if (c->goaway)
        fo_grpc_client_close(c);
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        int reused = c->session != NULL;
        if (!reused && (rc = connect_session(c, deadline_ns)) != 0)
            return out->rc = rc;
        rc = one_call(c, method, headers, n_headers, gzip, body, len, deadline_ns, out);
        /* A kept connection the server had closed fails before any response:
         * that, and only that, is worth one more try at once. */
        if (rc != -ECONNRESET || !reused || out->http_status != 0)
            break;
        fo_export_result_init(out);
    }
    return out->rc = rc;
}

static int one_call(struct fo_grpc_client *c, const char *method, const struct fo_kv *headers,
                    size_t n_headers, int gzip, const void *body, size_t len,
                    uint64_t deadline_ns, struct fo_export_result *out)
{
    char timeout[16];
    /* Connecting may have used up the time: then the call does not start,
     * and the connection stays for the next one. */
    if (fo_grpc_timeout_format(fo_net_now_ns(), deadline_ns, timeout, sizeof timeout) != 0)
        return -ETIMEDOUT;

    static struct fo_grpc_call call; /* the exporter thread is the only caller */
    memset(&call, 0, sizeof call);
    call.body = body;
    call.len = len;
    call.prefix[0] = gzip ? 1 : 0;
    call.prefix[1] = (uint8_t)(len >> 24);
    call.prefix[2] = (uint8_t)(len >> 16);
    call.prefix[3] = (uint8_t)(len >> 8);
    call.prefix[4] = (uint8_t)len;
    call.out = out;

    nghttp2_nv nv[MAX_NV];
    char lower[FO_CFG_MAX_HEADERS][FO_CFG_STR_MAX];
    size_t n = 0;
    nv[n++] = NV(":method", "POST", 4);
    nv[n++] = NV(":scheme", "http", 4);
    nv[n++] = NV(":path", method, strlen(method));
    nv[n++] = NV(":authority", c->authority, strlen(c->authority));
    nv[n++] = NV("content-type", "application/grpc", 16);
    nv[n++] = NV("te", "trailers", 8);
    nv[n++] = NV("grpc-timeout", timeout, strlen(timeout));
    nv[n++] = NV("grpc-accept-encoding", "identity,gzip", 13);
    nv[n++] = NV("user-agent", "feast-otel", 10);
    if (gzip)
        nv[n++] = NV("grpc-encoding", "gzip", 4);
    for (size_t i = 0; i < n_headers && i < FO_CFG_MAX_HEADERS; i++) {
        size_t k;
        for (k = 0; headers[i].key[k] != '\0' && k + 1 < FO_CFG_STR_MAX; k++)
            lower[i][k] = (char)tolower((unsigned char)headers[i].key[k]);
        lower[i][k] = '\0';
        nv[n++] = NV(lower[i], headers[i].value, strlen(headers[i].value));
    }
    nghttp2_data_provider prd;
    prd.source.ptr = &call;
    prd.read_callback = read_body_cb;
    int32_t id = fo_h2.nghttp2_submit_request(c->session, NULL, nv, n, &prd, NULL);
    if (id < 0) {
        fo_grpc_client_close(c);
        return id == NGHTTP2_ERR_NOMEM ? -ENOMEM : -EINVAL;
    }
    call.stream_id = id;
    c->call = &call;
    int rc = run_call(c, &call, deadline_ns);
    c->call = NULL;
    if (rc != 0) {
        fo_grpc_client_close(c);
        return rc;
    }
    if (out->grpc_status < 0) {
        /* No status: a reset stream (refused, cancelled) or a response that
         * is not gRPC (a proxy's error page). Map HTTP errors as gRPC does. */
        if (call.reset_code != 0 || out->http_status == 0)
            return -ECONNRESET;
        switch (out->http_status) {
        case 429:
        case 502:
        case 503:
        case 504:
            out->grpc_status = 14; /* UNAVAILABLE */
            break;
        default:
            out->grpc_status = out->http_status == 200 ? 13 : 2; /* INTERNAL, UNKNOWN */
            break;
        }
        return 0;
    }
    take_message(&call, out);
    return 0;
}

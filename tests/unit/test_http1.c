/* test_http1.c - the HTTP/1.x sniffer: exchanges, framing, splits, bounds. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload/http1.h"

#define MAX_GOT 256

struct cap {
    struct fo_http_info got[MAX_GOT];
    int n;
};

static void on_emit(void *ctx, const struct fo_http_info *info)
{
    struct cap *c = ctx;
    cr_assert_lt(c->n, MAX_GOT);
    c->got[c->n++] = *info;
}

static struct fo_http1 h;
static struct cap cap;

static void setup(void)
{
    fo_http1_init(&h);
    memset(&cap, 0, sizeof cap);
}

TestSuite(http1, .init = setup);

static int rd(const char *s, uint64_t now)
{
    return fo_http1_on_read(&h, s, strlen(s), now, on_emit, &cap);
}

static int wr(const char *s, uint64_t now)
{
    return fo_http1_on_write(&h, s, strlen(s), now, on_emit, &cap);
}

static void assert_str(const char *p, size_t n, const char *want)
{
    cr_assert_eq(n, strlen(want), "length %zu, want '%s' (got '%.*s')", n, want, (int)n, p);
    cr_assert(memcmp(p, want, n) == 0, "got '%.*s', want '%s'", (int)n, p, want);
}

#define GOT_METHOD(i, m) assert_str(cap.got[i].method, cap.got[i].method_len, m)
#define GOT_TARGET(i, t) assert_str(cap.got[i].target, cap.got[i].target_len, t)

Test(http1, simple_get)
{
    cr_assert_eq(rd("GET /health?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8\r\n\r\n", 10), 0);
    cr_assert_eq(cap.n, 0);
    cr_assert_eq(wr("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 20), 0);
    cr_assert_eq(cap.n, 1);
    GOT_METHOD(0, "GET");
    GOT_TARGET(0, "/health?x=1");
    assert_str(cap.got[0].user_agent, cap.got[0].ua_len, "curl/8");
    cr_assert_eq(cap.got[0].status, 200);
    cr_assert_eq(cap.got[0].version_minor, 1);
    cr_assert_eq(cap.got[0].start_tick, 10);
    cr_assert_eq(cap.got[0].end_tick, 20);
    cr_assert_eq(cap.got[0].flags, 0);
}

Test(http1, end_is_the_write_that_completes_the_body)
{
    rd("GET / HTTP/1.1\r\n\r\n", 1);
    wr("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234", 2);
    cr_assert_eq(cap.n, 0);
    wr("567", 3);
    cr_assert_eq(cap.n, 0);
    wr("89", 4);
    cr_assert_eq(cap.n, 1);
    cr_assert_eq(cap.got[0].end_tick, 4);
}

Test(http1, start_is_the_read_with_the_first_byte)
{
    rd("\r\nPO", 5); /* a leading empty line is skipped, then the request starts */
    rd("ST /push HTTP/1.1\r\nContent-Length: 3\r\n\r\n", 6);
    rd("abc", 7);
    wr("HTTP/1.1 204 No Content\r\n\r\n", 8);
    cr_assert_eq(cap.n, 1);
    GOT_METHOD(0, "POST");
    cr_assert_eq(cap.got[0].start_tick, 5);
    cr_assert_eq(cap.got[0].status, 204);
}

Test(http1, keep_alive_hundred_requests)
{
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(rd("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", (uint64_t)i * 2), 0);
        cr_assert_eq(wr("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA", (uint64_t)i * 2 + 1), 0);
    }
    cr_assert_eq(cap.n, 100);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(cap.got[i].start_tick, (uint64_t)i * 2);
        cr_assert_eq(cap.got[i].end_tick, (uint64_t)i * 2 + 1);
    }
}

Test(http1, pipelined_in_one_read_answered_in_one_write)
{
    rd("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nHEAD /3 HTTP/1.1\r\n\r\n", 1);
    wr("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
       "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
       "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", 2);
    cr_assert_eq(cap.n, 3);
    GOT_TARGET(0, "/1");
    GOT_TARGET(1, "/2");
    GOT_TARGET(2, "/3");
    cr_assert_eq(cap.got[1].status, 404);
    GOT_METHOD(2, "HEAD");
    cr_assert_eq(cap.got[2].status, 200, "HEAD has no body despite Content-Length");
}

Test(http1, too_many_pipelined_requests_stop_following)
{
    const char *one = "GET / HTTP/1.1\r\n\r\n";
    for (int i = 0; i < FO_HTTP1_MAX_PENDING; i++)
        cr_assert_eq(rd(one, 1), 0);
    cr_assert_eq(rd(one, 1), FO_HTTP1_STOP);
    cr_assert_eq(wr("HTTP/1.1 200 OK\r\n\r\n", 2), FO_HTTP1_STOP);
    cr_assert_eq(cap.n, 0);
}

Test(http1, content_length_bodies_both_ways_and_zero_length)
{
    rd("POST /get-online-features HTTP/1.1\r\nContent-Length: 11\r\n\r\n{\"a\": [1]}\n", 1);
    wr("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
    cr_assert_eq(cap.n, 1, "Content-Length: 0 is an empty body, not 'no length'");
    rd("GET /x HTTP/1.1\r\n\r\n", 3);
    wr("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc", 4);
    cr_assert_eq(cap.n, 2);
    GOT_TARGET(1, "/x");
}

Test(http1, chunked_request_and_response_with_extensions_and_trailers)
{
    cr_assert_eq(rd("POST /push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "4;ext=1\r\nabcd\r\n0\r\nX-Trailer: t\r\n\r\n", 1), 0);
    cr_assert_eq(wr("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                    "a\r\n0123456789\r\n", 2), 0);
    cr_assert_eq(cap.n, 0);
    cr_assert_eq(wr("1F\r\n0123456789012345678901234567890\r\n0\r\n\r\n", 3), 0);
    cr_assert_eq(cap.n, 1);
    cr_assert_eq(cap.got[0].end_tick, 3);
    /* the connection goes on */
    rd("GET / HTTP/1.1\r\n\r\n", 4);
    wr("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 5);
    cr_assert_eq(cap.n, 2);
}

Test(http1, interim_100_continue_then_final)
{
    rd("POST /push HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", 1);
    wr("HTTP/1.1 100 Continue\r\n\r\n", 2);
    cr_assert_eq(cap.n, 0);
    rd("hi", 3);
    wr("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 4);
    cr_assert_eq(cap.n, 1);
    cr_assert_eq(cap.got[0].status, 201);
}

Test(http1, status_204_and_304_have_no_body)
{
    rd("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 1);
    wr("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", 2);
    cr_assert_eq(cap.n, 2);
    cr_assert_eq(cap.got[0].status, 204);
    cr_assert_eq(cap.got[1].status, 304);
}

Test(http1, connection_close_ends_the_connection)
{
    rd("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 1);
    cr_assert_eq(wr("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA", 2), 0);
    cr_assert_eq(cap.n, 1);
    cr_assert_eq(wr("X", 3), FO_HTTP1_STOP, "bytes after a closing response");
}

Test(http1, http10_response_delimited_by_close)
{
    rd("GET /old HTTP/1.0\r\n\r\n", 1);
    wr("HTTP/1.0 200 OK\r\n\r\nsome body", 2);
    wr("more body", 3);
    cr_assert_eq(cap.n, 0);
    fo_http1_on_close(&h, 0, 4, on_emit, &cap);
    cr_assert_eq(cap.n, 1);
    cr_assert_eq(cap.got[0].version_minor, 0);
    cr_assert_eq(cap.got[0].end_tick, 4);
    cr_assert_eq(cap.got[0].flags & FO_HTTP_F_ABORTED, 0);
}

Test(http1, reset_during_close_delimited_body_is_aborted)
{
    rd("GET /old HTTP/1.1\r\n\r\n", 1);
    wr("HTTP/1.1 200 OK\r\n\r\npartial", 2);
    fo_http1_on_close(&h, 1, 3, on_emit, &cap);
    cr_assert_eq(cap.n, 1);
    cr_assert(cap.got[0].flags & FO_HTTP_F_ABORTED);
    cr_assert_eq(cap.got[0].status, 200);
}

Test(http1, upgrade_101_is_emitted_then_not_followed)
{
    rd("GET /ws/chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 1);
    cr_assert_eq(wr("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", 2),
                 FO_HTTP1_STOP);
    cr_assert_eq(cap.n, 1);
    cr_assert_eq(cap.got[0].status, 101);
    cr_assert_eq(rd("\x81\x05hello", 3), FO_HTTP1_STOP);
    fo_http1_on_close(&h, 0, 4, on_emit, &cap);
    cr_assert_eq(cap.n, 1);
}

Test(http1, peer_reset_mid_response_is_aborted_with_status)
{
    rd("GET /big HTTP/1.1\r\n\r\n", 1);
    wr("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", 2);
    fo_http1_on_close(&h, 1, 3, on_emit, &cap);
    cr_assert_eq(cap.n, 1);
    cr_assert(cap.got[0].flags & FO_HTTP_F_ABORTED);
    cr_assert_eq(cap.got[0].status, 200);
    cr_assert_eq(cap.got[0].end_tick, 3);
}

Test(http1, server_closes_without_response_is_aborted_without_status)
{
    rd("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 1);
    fo_http1_on_close(&h, 0, 2, on_emit, &cap);
    cr_assert_eq(cap.n, 2);
    for (int i = 0; i < 2; i++) {
        cr_assert(cap.got[i].flags & FO_HTTP_F_ABORTED);
        cr_assert_eq(cap.got[i].status, 0);
    }
}

Test(http1, close_with_no_bytes_emits_nothing)
{
    fo_http1_on_close(&h, 0, 1, on_emit, &cap);
    cr_assert_eq(cap.n, 0);
}

Test(http1, peer_eof_drops_an_incomplete_head_but_keeps_complete_requests)
{
    rd("GET /done HTTP/1.1\r\n\r\nGET /cut HTTP/1.1\r\nHost:", 1);
    fo_http1_on_peer_eof(&h, 2, on_emit, &cap);
    wr("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 3);
    cr_assert_eq(cap.n, 1);
    GOT_TARGET(0, "/done");
    fo_http1_on_close(&h, 0, 4, on_emit, &cap);
    cr_assert_eq(cap.n, 1, "the cut request is not reported");
}

Test(http1, long_target_is_truncated_and_flagged)
{
    char req[4096];
    char target[2000];
    target[0] = '/';
    memset(target + 1, 'a', sizeof target - 2);
    target[sizeof target - 1] = '\0';
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n\r\n", target);
    cr_assert_eq(rd(req, 1), 0);
    wr("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
    cr_assert_eq(cap.n, 1);
    cr_assert(cap.got[0].flags & FO_HTTP_F_TARGET_TRUNCATED);
    cr_assert_eq(cap.got[0].target_len, FO_TARGET_MAX);
    cr_assert(memcmp(cap.got[0].target, target, FO_TARGET_MAX) == 0);
}

Test(http1, traceparent_captured_only_at_exact_length)
{
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    char req[256];
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nTraceParent:  %s \r\n\r\n", tp);
    rd(req, 1);
    rd("GET / HTTP/1.1\r\ntraceparent: 00-abc\r\n\r\n", 1);
    wr("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
    cr_assert_eq(cap.n, 2);
    cr_assert(cap.got[0].flags & FO_HTTP_F_TRACEPARENT);
    cr_assert(memcmp(cap.got[0].traceparent, tp, FO_TRACEPARENT_LEN) == 0);
    cr_assert_eq(cap.got[1].flags & FO_HTTP_F_TRACEPARENT, 0);
}

Test(http1, bare_lf_line_endings)
{
    rd("GET /lf HTTP/1.1\nHost: x\n\n", 1);
    wr("HTTP/1.1 200 OK\nContent-Length: 1\n\nA", 2);
    cr_assert_eq(cap.n, 1);
    GOT_TARGET(0, "/lf");
}

Test(http1, header_names_match_in_any_case_and_only_whole)
{
    cr_assert_eq(rd("POST /a HTTP/1.1\r\nUSER-AGENT:\t ua/1 \t\r\nx-user-agent: no\r\n"
                    "User-Agentx: no\r\nuser-agent : no\r\nCONTENT-length: 2\r\n"
                    "cOnNeCtIoN: Keep-Alive, CLOSE\r\n\r\nhi", 1), 0);
    cr_assert_eq(wr("HTTP/1.1 200 OK\r\ncontent-LENGTH:3\r\n\r\nabc", 2), 0);
    cr_assert_eq(cap.n, 1);
    assert_str(cap.got[0].user_agent, cap.got[0].ua_len, "ua/1");
    cr_assert_eq(cap.got[0].status, 200);
    /* The request asked to close: nothing more is expected after it. */
    cr_assert_eq(rd("GET / HTTP/1.1\r\n\r\n", 3), FO_HTTP1_STOP);
}

/* An HTTP/1.0 exchange closes unless its Connection header lists keep-alive:
 * does the connection go on after one with this value (on the side given)? */
static int goes_on(const char *value, int on_response)
{
    char req[128], resp[128];
    snprintf(req, sizeof req, "GET / HTTP/1.0\r\nConnection: %s\r\n\r\n",
             on_response ? "keep-alive" : value);
    snprintf(resp, sizeof resp,
             "HTTP/1.0 200 OK\r\nConnection: %s\r\nContent-Length: 1\r\n\r\nA",
             on_response ? value : "keep-alive");
    fo_http1_init(&h);
    cap.n = 0;
    cr_assert_eq(rd(req, 1), 0);
    cr_assert_eq(wr(resp, 2), 0);
    cr_assert_eq(cap.n, 1, "%s", value);
    /* A closing request stops the read side; a closing response the write side. */
    return rd("GET /next HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 3) == 0 &&
           wr("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nB",
              4) == 0 &&
           cap.n == 2;
}

Test(http1, connection_words_in_any_case_and_only_exact)
{
    for (int side = 0; side < 2; side++) {
        cr_assert(goes_on("keep-alive", side));
        cr_assert(goes_on("Keep-Alive", side));
        cr_assert(goes_on("KEEP-ALIVE", side));
        cr_assert(goes_on("kEEp-aLIVe", side));
        cr_assert(goes_on("Upgrade, keep-alive", side));
        cr_assert(goes_on(" \tkeep-alive\t ", side), "OWS is not part of the value");
        cr_assert(!goes_on("keep_alive", side));
        cr_assert(!goes_on("keep-alivf", side));
        cr_assert(!goes_on("keep+alive", side));
        cr_assert(!goes_on("keep\ralive", side), "a CR is not a folded dash");
        cr_assert(!goes_on("keep-aliv", side));
        cr_assert(!goes_on("keep-alive2", side));
        cr_assert(!goes_on("close", side));
        cr_assert(!goes_on("CLOSE", side));
        cr_assert(!goes_on("keep-alive, close", side), "close wins");
    }
}

Test(http1, headers_not_read_are_not_judged)
{
    /* The server judges lines we do not read; the exchange is still measured. */
    cr_assert_eq(rd("GET / HTTP/1.1\r\nX(y): 1\r\nno colon here\r\nHost: h\r\n\r\n", 1), 0);
    cr_assert_eq(wr("HTTP/1.1 400 Bad Request\r\nServer: s\r\nContent-Length: 0\r\n\r\n", 2),
                 0);
    cr_assert_eq(cap.n, 1);
    cr_assert_eq(cap.got[0].status, 400);
}

Test(http1, malformed_inputs_stop_without_emitting)
{
    const char *bad[] = {
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        "GET / HTTP/2\r\n\r\n",
        "GET /\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
        "CONNECT host:443 HTTP/1.1\r\n\r\n",
        "AVERYLONGMETHODNAMEXX / HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setup();
        int rc = rd(bad[i], 1);
        if (rc == 0) /* the rest of the stream must still stop it */
            rc = wr("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
        fo_http1_on_close(&h, 0, 3, on_emit, &cap);
        cr_assert_eq(rc, FO_HTTP1_STOP, "input %zu was accepted", i);
        cr_assert_eq(cap.n, 0, "input %zu emitted", i);
    }
}

Test(http1, malformed_response_stops)
{
    rd("GET / HTTP/1.1\r\n\r\n", 1);
    cr_assert_eq(wr("HTTP/1.1 2x0 OK\r\n\r\n", 2), FO_HTTP1_STOP);
    setup();
    rd("GET / HTTP/1.1\r\n\r\n", 1);
    cr_assert_eq(wr("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 2),
                 FO_HTTP1_STOP);
    setup();
    cr_assert_eq(wr("HTTP/1.1 408 Request Timeout\r\n\r\n", 2), FO_HTTP1_STOP,
                 "a response with no request");
}

Test(http1, opaque_body_bytes_from_sendfile)
{
    rd("GET /f HTTP/1.1\r\n\r\n", 1);
    wr("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 2);
    cr_assert_eq(fo_http1_on_write_opaque(&h, 600, 3, on_emit, &cap), 0);
    cr_assert_eq(cap.n, 0);
    cr_assert_eq(fo_http1_on_write_opaque(&h, 400, 4, on_emit, &cap), 0);
    cr_assert_eq(cap.n, 1);
    cr_assert_eq(cap.got[0].end_tick, 4);
    cr_assert_eq(fo_http1_on_write_opaque(&h, 1, 5, on_emit, &cap), FO_HTTP1_STOP,
                 "opaque bytes where a status line belongs");
}

Test(http1, huge_header_line_and_many_headers_stay_bounded)
{
    size_t big = 1 << 20;
    char *line = malloc(big + 64);
    memcpy(line, "X-Big: ", 7);
    memset(line + 7, 'v', big);
    memcpy(line + 7 + big, "\r\n", 3);
    rd("GET /big HTTP/1.1\r\n", 1);
    /* fed in pieces, as a socket would deliver it */
    for (size_t off = 0; off < big + 9; off += 4096) {
        size_t n = big + 9 - off < 4096 ? big + 9 - off : 4096;
        cr_assert_eq(fo_http1_on_read(&h, line + off, n, 2, on_emit, &cap), 0);
    }
    free(line);
    for (int i = 0; i < 100000; i++)
        cr_assert_eq(rd("X-Many: 1\r\n", 3), 0);
    rd("\r\n", 4);
    wr("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 5);
    cr_assert_eq(cap.n, 1);
    GOT_TARGET(0, "/big");
    cr_assert_lt(sizeof(struct fo_http1), 8192);
}

/* --- every split gives the same exchanges as one piece ----------------- */

static const char *const REQ =
    "POST /get-online-features?q=1 HTTP/1.1\r\nHost: fs\r\nUser-Agent: ua/1\r\n"
    "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    "GET /health HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
    "HEAD /h HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
static const char *const RESP =
    "HTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n"
    "HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\nboom"
    "HTTP/1.1 200 OK\r\nContent-Length: 77\r\n\r\n";

static void same_exchanges(const struct cap *a, const struct cap *b, const char *what)
{
    cr_assert_eq(a->n, b->n, "%s: %d vs %d exchanges", what, a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        const struct fo_http_info *x = &a->got[i], *y = &b->got[i];
        cr_assert(x->status == y->status && x->flags == y->flags &&
                      x->method_len == y->method_len && x->target_len == y->target_len &&
                      x->ua_len == y->ua_len && x->version_minor == y->version_minor &&
                      memcmp(x->method, y->method, x->method_len) == 0 &&
                      memcmp(x->target, y->target, x->target_len) == 0 &&
                      memcmp(x->user_agent, y->user_agent, x->ua_len) == 0 &&
                      memcmp(x->traceparent, y->traceparent, FO_TRACEPARENT_LEN) == 0,
                  "%s: exchange %d differs", what, i);
    }
}

static void play(struct cap *c, const char *req, size_t rsplit, const char *resp, size_t wsplit)
{
    struct fo_http1 s;
    fo_http1_init(&s);
    memset(c, 0, sizeof *c);
    size_t rl = strlen(req), wl = strlen(resp);
    cr_assert_eq(fo_http1_on_read(&s, req, rsplit, 1, on_emit, c), 0);
    cr_assert_eq(fo_http1_on_read(&s, req + rsplit, rl - rsplit, 2, on_emit, c), 0);
    cr_assert_eq(fo_http1_on_write(&s, resp, wsplit, 3, on_emit, c), 0);
    cr_assert_eq(fo_http1_on_write(&s, resp + wsplit, wl - wsplit, 4, on_emit, c), 0);
}

Test(http1, every_two_piece_split_of_both_directions)
{
    static struct cap whole, split;
    size_t rl = strlen(REQ), wl = strlen(RESP);
    play(&whole, REQ, rl, RESP, wl);
    cr_assert_eq(whole.n, 3);
    cr_assert_eq(whole.got[0].status, 200);
    cr_assert_eq(whole.got[1].status, 500);
    cr_assert_eq(whole.got[2].status, 200);
    for (size_t i = 0; i <= rl; i++)
        for (size_t j = 0; j <= wl; j += (i % 7 == 0) ? 1 : 13) {
            play(&split, REQ, i, RESP, j);
            same_exchanges(&whole, &split, "split");
        }
}

Test(http1, byte_at_a_time)
{
    static struct cap whole, bytes;
    play(&whole, REQ, strlen(REQ), RESP, strlen(RESP));
    struct fo_http1 s;
    fo_http1_init(&s);
    memset(&bytes, 0, sizeof bytes);
    for (const char *p = REQ; *p; p++)
        cr_assert_eq(fo_http1_on_read(&s, p, 1, 1, on_emit, &bytes), 0);
    for (const char *p = RESP; *p; p++)
        cr_assert_eq(fo_http1_on_write(&s, p, 1, 2, on_emit, &bytes), 0);
    same_exchanges(&whole, &bytes, "byte at a time");
}

/*
 * A head that arrives whole is walked by newline masks, skipping lines by
 * their first byte; one that arrives a byte at a time goes line by line.
 * These heads are built around what the walker decides on: uppercase first
 * letters, a CR that is not the empty line, LF-only endings, a folded line,
 * heads of under 16 bytes after a body, a second pipelined head cut short,
 * and a line ending exactly at the end of the call.
 */
static void whole_vs_bytes(const char *req, const char *resp, struct cap *whole,
                           int *rc_whole)
{
    static struct cap bytes;
    struct fo_http1 a, b;
    fo_http1_init(&a);
    fo_http1_init(&b);
    memset(whole, 0, sizeof *whole);
    memset(&bytes, 0, sizeof bytes);
    int ra = fo_http1_on_read(&a, req, strlen(req), 1, on_emit, whole);
    if (ra == 0)
        ra = fo_http1_on_write(&a, resp, strlen(resp), 2, on_emit, whole);
    int rb = 0;
    for (const char *p = req; *p && rb == 0; p++)
        rb = fo_http1_on_read(&b, p, 1, 1, on_emit, &bytes);
    for (const char *p = resp; *p && rb == 0; p++)
        rb = fo_http1_on_write(&b, p, 1, 2, on_emit, &bytes);
    cr_assert_eq(ra, rb, "'%s': whole %d, bytes %d", req, ra, rb);
    same_exchanges(whole, &bytes, req);
    *rc_whole = ra;
}

Test(http1, walked_heads_match_line_by_line)
{
    static struct cap c;
    int rc;
    whole_vs_bytes("GET /u HTTP/1.1\r\nHost: h\r\nUSER-agent: Up/1\r\nAccept: */*\r\n\r\n",
                   "HTTP/1.1 200 OK\r\nSERVER: s\r\nCONTENT-LENGTH: 2\r\nDate: d\r\n\r\nok",
                   &c, &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(c.n, 1);
    assert_str(c.got[0].user_agent, c.got[0].ua_len, "Up/1");
    whole_vs_bytes("GET /cr HTTP/1.1\r\n\rUser-Agent: no\r\nuser-agent: yes\r\n\r\n",
                   "HTTP/1.1 204 No Content\r\n\rX\r\n\r\n", &c, &rc);
    cr_assert_eq(c.n, 1);
    assert_str(c.got[0].user_agent, c.got[0].ua_len, "yes");
    whole_vs_bytes("GET /lf HTTP/1.1\nUser-Agent: lf\nHost: a\n\n",
                   "HTTP/1.1 200 OK\nContent-Length: 0\n\n", &c, &rc);
    cr_assert_eq(c.n, 1);
    whole_vs_bytes("GET /fold HTTP/1.1\r\nX-A: 1\r\n  more\r\n\r\n", "", &c, &rc);
    cr_assert_eq(rc, FO_HTTP1_STOP);
    whole_vs_bytes("POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n"
                   "GET /cut HTTP/1.1\r\nUser-Ag",
                   "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n"
                   "Content-Length: 1\r\n\r\ny",
                   &c, &rc);
    cr_assert_eq(c.n, 2);
    assert_str(c.got[1].target, c.got[1].target_len, "/");
    whole_vs_bytes("GET /end HTTP/1.1\r\nHost: exactly-at-the-end\r\n",
                   "", &c, &rc);
    cr_assert_eq(c.n, 0);
}

/* HTTP/1.1 and status 200 are told by one compare each; everything else
 * goes the general way, and both read alike whole and line by line. */
Test(http1, versions_and_statuses_around_the_common_ones)
{
    static struct cap c;
    static const struct {
        const char *status_line;
        int status; /* 0: the line stops the connection */
    } resp[] = {
        {"HTTP/1.1 200 OK", 200},      {"HTTP/1.1 200", 200},
        {"HTTP/1.1 200  OK", 200},     {"HTTP/1.1 201 Created", 201},
        {"HTTP/1.1 100000", 0},        {"HTTP/1.1 2000 OK", 0},
        {"HTTP/1.1 200x OK", 0},       {"HTTP/1.1 20 OK", 0},
        {"HTTP/1.1  200 OK", 0},       {"HTTP/1.2 200 OK", 0},
        {"http/1.1 200 OK", 0},        {"HTTP/1.1	200 OK", 0},
        {"HTTP/1.0 200 OK", 200},      {"HTTP/1.1 299 Fine", 299},
        {"HTTP/1.1 200\t", 0},
    };
    char r[128];
    int rc;
    for (size_t i = 0; i < sizeof resp / sizeof resp[0]; i++) {
        snprintf(r, sizeof r, "%s\r\nContent-Length: 0\r\n\r\n", resp[i].status_line);
        whole_vs_bytes("GET /v HTTP/1.1\r\n\r\n", r, &c, &rc);
        cr_assert_eq(c.n, resp[i].status != 0, "'%s'", resp[i].status_line);
        cr_assert_eq(rc, resp[i].status != 0 ? 0 : FO_HTTP1_STOP, "'%s'", resp[i].status_line);
        if (resp[i].status != 0)
            cr_assert_eq(c.got[0].status, resp[i].status, "'%s'", resp[i].status_line);
    }
    /* An HTTP/1.0 response closes the connection: a second one stops. */
    whole_vs_bytes("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
                   "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"
                   "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &c, &rc);
    cr_assert_eq(c.n, 1);
    cr_assert_eq(rc, FO_HTTP1_STOP);

    static const struct {
        const char *request_line;
        int minor; /* -1: the line stops the connection */
    } req[] = {
        {"GET / HTTP/1.1", 1},  {"GET / HTTP/1.0", 0},   {"GET / HTTP/1.2", -1},
        {"GET / HTTP/2.1", -1}, {"GET / http/1.1", -1},  {"GET / HTTP/1.11", -1},
        {"GET / HTTPS1.1", -1}, {"GET /x  HTTP/1.1", 1},
    };
    char q[128];
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
        snprintf(q, sizeof q, "%s\r\n\r\n", req[i].request_line);
        whole_vs_bytes(q, "HTTP/1.1 204 No Content\r\n\r\n", &c, &rc);
        cr_assert_eq(c.n, req[i].minor >= 0, "'%s'", req[i].request_line);
        if (req[i].minor >= 0)
            cr_assert_eq(c.got[0].version_minor, req[i].minor, "'%s'", req[i].request_line);
    }
}

/* The headers of a 1xx response are not read, whatever they say; a folded
 * line stops in a response as in a request, 1xx or not. */
Test(http1, interim_headers_are_not_read_and_folding_stops_responses)
{
    static struct cap c;
    int rc;
    whole_vs_bytes("POST /p HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /n HTTP/1.1\r\n\r\n",
                   "HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\nTransfer-Encoding: chunked"
                   "\r\nConnection: close\r\nLink: </a>\r\n\r\n"
                   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                   "HTTP/1.1 204 No Content\r\n\r\n",
                   &c, &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(c.n, 2);
    cr_assert_eq(c.got[0].status, 200);
    cr_assert_eq(c.got[1].status, 204);
    whole_vs_bytes("GET /f HTTP/1.1\r\n\r\n",
                   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\t3\r\n\r\nok", &c, &rc);
    cr_assert_eq(rc, FO_HTTP1_STOP);
    whole_vs_bytes("GET /f HTTP/1.1\r\n\r\n",
                   "HTTP/1.1 100 Continue\r\nX: a\r\n b\r\n\r\n"
                   "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &c, &rc);
    cr_assert_eq(rc, FO_HTTP1_STOP);
    cr_assert_eq(c.n, 0);
}

/* --- no read beyond the input: inputs end at a guard page -------------- */

Test(http1, every_prefix_ends_at_a_guard_page)
{
    long page = sysconf(_SC_PAGESIZE);
    char *mem = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(mem, MAP_FAILED);
    cr_assert_eq(mprotect(mem + page, (size_t)page, PROT_NONE), 0);
    const char *inputs[] = {REQ, RESP};
    for (int dir = 0; dir < 2; dir++) {
        size_t len = strlen(inputs[dir]);
        for (size_t n = 0; n <= len; n++) {
            char *p = mem + page - n;
            memcpy(p, inputs[dir], n);
            struct fo_http1 s;
            struct cap c = {.n = 0};
            fo_http1_init(&s);
            if (dir == 0) {
                fo_http1_on_read(&s, p, n, 1, on_emit, &c);
            } else {
                fo_http1_on_read(&s, REQ, strlen(REQ), 1, on_emit, &c);
                fo_http1_on_write(&s, p, n, 2, on_emit, &c);
            }
            fo_http1_on_close(&s, 1, 3, on_emit, &c);
        }
    }
    munmap(mem, (size_t)page * 2);
}

static struct fo_feast_body scanner;

/* Feast statistics on, for h just set up; defer as the connection layer
 * asks (see feast_defer). */
static void feast_on(int defer)
{
    h.feast = &scanner;
    h.feast_budget = 1 << 20;
    h.feast_defer = (uint8_t)defer;
}

Test(http1, feast_bodies_are_scanned_through_framing)
{
    feast_on(0);
    /* A chunked request body cut inside a chunk, then a Content-Length
     * response written in two pieces. */
    const char *c1 = "{\"features\": [\"v1:a\", \"v2:", *c2 = "b\"], ",
               *c3 = "\"entities\": {\"id\": [1, 2]}}";
    char part1[256], part2[256];
    snprintf(part1, sizeof part1, "POST /get-online-features?x HTTP/1.1\r\nHost: a\r\n"
             "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s", strlen(c1), c1);
    snprintf(part2, sizeof part2, "\r\n%zx\r\n%s\r\n%zx\r\n%s\r\n0\r\n\r\n", strlen(c2), c2,
             strlen(c3), c3);
    cr_assert_eq(rd(part1, 1), 0);
    cr_assert_eq(rd(part2, 2), 0);
    const char *body = "{\"results\": [{\"statuses\": [\"PRESENT\", \"PRESENT\"]},"
                       " {\"statuses\": [\"PRESENT\", \"NOT_FOUND\"]},"
                       " {\"statuses\": [\"NOT_FOUND\", \"NOT_FOUND\"]}]}";
    char head[128];
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", strlen(body));
    cr_assert_eq(wr(head, 3), 0);
    cr_assert_eq(fo_http1_on_write(&h, body, 20, 4, on_emit, &cap), 0);
    cr_assert_eq(cap.n, 0);
    cr_assert_eq(wr(body + 20, 5), 0);
    cr_assert_eq(cap.n, 1);
    cr_assert(cap.got[0].flags & FO_HTTP_F_FEAST);
    const struct fo_feast_stats *s = &scanner.stats;
    cr_assert_eq(s->known, FO_FEAST_K_REQUEST | FO_FEAST_K_VIEW_COUNT | FO_FEAST_K_STATUSES);
    cr_assert_eq(s->entity_count, 2);
    cr_assert_eq(s->feature_count, 2);
    cr_assert_eq(s->view_count, 2);
    cr_assert_eq(s->status[0][FO_FEAST_PRESENT], 1);
    cr_assert_eq(s->status[0][FO_FEAST_NOT_FOUND], 1);
    cr_assert_eq(s->status[1][FO_FEAST_NOT_FOUND], 2);

    /* The next request on the connection is not a Feast one. */
    cr_assert_eq(rd("GET /health HTTP/1.1\r\n\r\n", 6), 0);
    cr_assert_eq(wr("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 7), 0);
    cr_assert_eq(cap.n, 2);
    cr_assert_eq(cap.got[1].flags & FO_HTTP_F_FEAST, 0);
}

Test(http1, feast_error_responses_leave_statuses_unknown)
{
    feast_on(0);
    const char *req = "{\"features\": [\"v:a\"], \"entities\": {\"id\": [1]}}";
    char head[160];
    snprintf(head, sizeof head, "POST /get-online-features HTTP/1.1\r\nContent-Length: %zu\r\n\r\n",
             strlen(req));
    cr_assert_eq(rd(head, 1), 0);
    cr_assert_eq(rd(req, 2), 0);
    cr_assert_eq(wr("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nno", 3), 0);
    cr_assert_eq(cap.n, 1);
    cr_assert(cap.got[0].flags & FO_HTTP_F_FEAST);
    cr_assert_eq(scanner.stats.known, FO_FEAST_K_REQUEST | FO_FEAST_K_VIEW_COUNT);
    cr_assert_eq(scanner.stats.entity_count, 1);
}

/* What emit saw of a deferred Feast body. */
static const char *tail_seen;
static size_t tail_len_seen;
static struct fo_feast_stats stats_at_emit;

static void on_emit_tail(void *ctx, const struct fo_http_info *info)
{
    on_emit(ctx, info);
    tail_seen = h.feast_tail;
    tail_len_seen = h.feast_tail_len;
    stats_at_emit = scanner.stats;
}

/* One /get-online-features exchange with the response body written in
 * `pieces` writes after its head (Content-Length, or chunked). */
static void feast_exchange(const char *body, int pieces, int chunked)
{
    const char *req = "{\"features\": [\"v1:a\", \"v2:b\"], \"entities\": {\"id\": [1, 2]}}";
    char head[256];
    snprintf(head, sizeof head, "POST /get-online-features HTTP/1.1\r\nContent-Length: %zu\r\n"
             "\r\n%s", strlen(req), req);
    cr_assert_eq(fo_http1_on_read(&h, head, strlen(head), 1, on_emit_tail, &cap), 0);
    if (chunked) {
        static char out[512];
        snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "%zx\r\n%s\r\n0\r\n\r\n", strlen(body), body);
        cr_assert_eq(fo_http1_on_write(&h, out, strlen(out), 2, on_emit_tail, &cap), 0);
        return;
    }
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", strlen(body));
    cr_assert_eq(fo_http1_on_write(&h, head, strlen(head), 2, on_emit_tail, &cap), 0);
    size_t n = strlen(body), first = pieces == 1 ? n : n / 2;
    cr_assert_eq(fo_http1_on_write(&h, body, first, 3, on_emit_tail, &cap), 0);
    if (first < n)
        cr_assert_eq(fo_http1_on_write(&h, body + first, n - first, 4, on_emit_tail, &cap), 0);
}

Test(http1, a_whole_feast_response_body_is_handed_to_emit_unscanned)
{
    const char *body = "{\"results\": [{\"statuses\": [\"PRESENT\", \"PRESENT\"]},"
                       " {\"statuses\": [\"PRESENT\", \"NOT_FOUND\"]},"
                       " {\"statuses\": [\"NOT_FOUND\", \"NOT_FOUND\"]}]}";
    feast_on(0);
    feast_exchange(body, 2, 0); /* not deferred: the reference */
    cr_assert_null(tail_seen);
    struct fo_feast_stats want = stats_at_emit;
    cr_assert(want.known & FO_FEAST_K_STATUSES);

    setup();
    feast_on(1);
    feast_exchange(body, 1, 0);
    cr_assert_eq(cap.n, 1);
    cr_assert(cap.got[0].flags & FO_HTTP_F_FEAST);
    cr_assert_eq(tail_seen, body, "the body where the host wrote it");
    cr_assert_eq(tail_len_seen, strlen(body));
    cr_assert_null(h.feast_tail, "valid only during emit");
    cr_assert_eq(stats_at_emit.known & FO_FEAST_K_STATUSES, 0, "not scanned yet");
    /* Finished elsewhere, it says what scanning here said. */
    static struct fo_feast_body other;
    struct fo_feast_resume saved;
    fo_feast_body_save(&scanner, &saved);
    fo_feast_body_resume(&other, &stats_at_emit, &saved);
    fo_feast_body_response(&other, body, strlen(body));
    fo_feast_body_response_end(&other, 1);
    cr_assert_eq(memcmp(&other.stats, &want, sizeof want), 0);

    /* A body in two writes, or chunked, is scanned as it goes. */
    setup();
    feast_on(1);
    feast_exchange(body, 2, 0);
    cr_assert_null(tail_seen);
    cr_assert_eq(memcmp(&stats_at_emit, &want, sizeof want), 0);
    setup();
    feast_on(1);
    feast_exchange(body, 1, 1);
    cr_assert_eq(cap.n, 1);
    cr_assert_null(tail_seen);
    cr_assert_eq(memcmp(&stats_at_emit, &want, sizeof want), 0);
}

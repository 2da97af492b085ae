/* test_otlp_http.c - the OTLP/HTTP client against a scripted loopback server. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "exporter/net.h"
#include "exporter/otlp_http.h"
#include "preload/real.h"

/* The server answers each request on a connection with the next reply of
 * its script; "CLOSE" closes the connection instead, "HANG" never answers. */
struct server {
    int lfd;
    int port;
    const char *const *script;
    int accepts;
    char last_request[8192];
    pthread_t thread;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads one whole request (head + Content-Length body) into buf. */
static ssize_t read_request(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            const char *cl = strcasestr(buf, "Content-Length:");
            size_t body = cl ? (size_t)atoi(cl + 15) : 0;
            if (n >= (size_t)(end + 4 - buf) + body)
                return (ssize_t)n;
        }
    }
}

static void *serve(void *arg)
{
    struct server *s = arg;
    const char *const *step = s->script;
    while (*step != NULL) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        s->accepts++;
        while (*step != NULL) {
            if (read_request(fd, s->last_request, sizeof s->last_request) < 0)
                break;
            const char *reply = *step++;
            if (strcmp(reply, "HANG") == 0) {
                sleep(3);
                break;
            }
            if (strcmp(reply, "CLOSE") == 0)
                break;
            ssize_t w = write(fd, reply, strlen(reply));
            (void)w;
            if (strstr(reply, "Connection: close") || strstr(reply, "\r\n\r\nuntil-close"))
                break;
        }
        close(fd);
    }
    return NULL;
}

static struct server srv;

static void start(const char *const *script)
{
    memset(&srv, 0, sizeof srv);
    srv.script = script;
    srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(srv.lfd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(srv.lfd, (struct sockaddr *)&a, &len);
    srv.port = ntohs(a.sin_port);
    listen(srv.lfd, 8);
    pthread_create(&srv.thread, NULL, serve, &srv);
}

static struct fo_export_result result;

static int post(struct fo_http_client *c, int *status, uint32_t timeout_ms)
{
    struct fo_kv h[1] = {{"x-api-key", "k1"}};
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t deadline = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
                        (uint64_t)timeout_ms * 1000000u;
    int rc = fo_http_client_post(c, h, 1, "application/x-protobuf", 0, "BODY", 4, deadline,
                                 &result);
    *status = result.http_status;
    return rc;
}

static void client_for(struct fo_http_client *c, const char *path)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", srv.port, path);
    cr_assert_eq(fo_http_client_init(c, url), 0);
}

Test(otlp_http, url_parsing)
{
    struct fo_http_client c;
    cr_assert_eq(fo_http_client_init(&c, "http://collector:4318/v1/traces"), 0);
    cr_assert_str_eq(c.host, "collector");
    cr_assert_str_eq(c.port, "4318");
    cr_assert_str_eq(c.path, "/v1/traces");
    cr_assert_eq(fo_http_client_init(&c, "http://[::1]:9/x"), 0);
    cr_assert_str_eq(c.host, "::1");
    cr_assert_eq(fo_http_client_init(&c, "http://h"), 0);
    cr_assert_str_eq(c.port, "80");
    cr_assert_str_eq(c.path, "/");
    cr_assert_eq(fo_http_client_init(&c, "https://h/v1/traces"), -EPROTONOSUPPORT);
    cr_assert_eq(fo_http_client_init(&c, "http://h:port/"), -EINVAL);
    cr_assert_eq(fo_http_client_init(&c, "http:///x"), -EINVAL);
}

Test(otlp_http, request_bytes_and_keep_alive_reuse)
{
    const char *script[] = {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "3\r\nabc\r\n0\r\n\r\n",
                            "HTTP/1.1 503 Busy\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n",
                            NULL};
    start(script);
    struct fo_http_client c;
    client_for(&c, "/v1/traces");
    int status = 0;
    cr_assert_eq(post(&c, &status, 2000), 0);
    cr_assert_eq(status, 200);
    cr_assert_not_null(strstr(srv.last_request, "POST /v1/traces HTTP/1.1\r\n"));
    cr_assert_not_null(strstr(srv.last_request, "Content-Type: application/x-protobuf\r\n"));
    cr_assert_not_null(strstr(srv.last_request, "Content-Length: 4\r\n"));
    cr_assert_not_null(strstr(srv.last_request, "x-api-key: k1\r\n"));
    cr_assert_not_null(strstr(srv.last_request, "\r\n\r\nBODY"));
    cr_assert_eq(post(&c, &status, 2000), 0);
    cr_assert_eq(status, 200);
    cr_assert_eq(result.body_len, 3, "the chunked body is kept");
    cr_assert_eq(memcmp(result.body, "abc", 3), 0);
    cr_assert_eq(result.retry_after_ms, -1);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    cr_assert_eq(fo_http_client_post(&c, NULL, 0, "application/x-protobuf", 1, "B", 1,
                                     (uint64_t)ts.tv_sec * 1000000000u + 2000000000u, &result),
                 0);
    cr_assert_eq(result.http_status, 503);
    cr_assert_eq(result.retry_after_ms, 7000);
    cr_assert_not_null(strstr(srv.last_request, "Content-Encoding: gzip\r\n"));
    cr_assert_eq(srv.accepts, 1, "one connection for three exports");
    fo_http_client_close(&c);
    pthread_join(srv.thread, NULL);
}

Test(otlp_http, reconnects_when_the_server_closed_a_kept_alive_connection)
{
    const char *script[] = {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "CLOSE",
                            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", NULL};
    start(script);
    struct fo_http_client c;
    client_for(&c, "/v1/metrics");
    int status = 0;
    cr_assert_eq(post(&c, &status, 2000), 0);
    cr_assert_eq(post(&c, &status, 2000), 0, "stale connection retried once");
    cr_assert_eq(status, 200);
    cr_assert_eq(srv.accepts, 2);
    fo_http_client_close(&c);
    pthread_join(srv.thread, NULL);
}

Test(otlp_http, close_delimited_response_is_read_to_the_end)
{
    const char *script[] = {"HTTP/1.0 200 OK\r\n\r\nuntil-close", NULL};
    start(script);
    struct fo_http_client c;
    client_for(&c, "/");
    int status = 0;
    cr_assert_eq(post(&c, &status, 2000), 0);
    cr_assert_eq(status, 200);
    cr_assert_eq(result.body_len, 11);
    cr_assert_eq(memcmp(result.body, "until-close", 11), 0);
    cr_assert_eq(c.fd, -1, "not reused");
    pthread_join(srv.thread, NULL);
}

Test(otlp_http, garbage_is_a_protocol_error)
{
    const char *script[] = {"SSH-2.0-OpenSSH\r\n\r\n", NULL};
    start(script);
    struct fo_http_client c;
    client_for(&c, "/");
    int status = 0;
    cr_assert_eq(post(&c, &status, 2000), -EPROTO);
    cr_assert_eq(c.fd, -1);
    pthread_join(srv.thread, NULL);
}

Test(otlp_http, refused_fails_fast)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd); /* a port nobody listens on */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    struct fo_http_client c;
    cr_assert_eq(fo_http_client_init(&c, url), 0);
    int status;
    uint64_t t0 = mono_ms();
    cr_assert_eq(post(&c, &status, 5000), -ECONNREFUSED);
    cr_assert_lt(mono_ms() - t0, 1000);
}

Test(otlp_http, connections_to_the_collector_send_without_delay)
{
    /* With Nagle's algorithm on, the last frames of an export waited for
     * the collector's delayed ACK: 40 ms per export. */
    fo_real_init();
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(lfd, 1), 0);
    socklen_t len = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &len);
    char port[8];
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    int fd = fo_net_connect("127.0.0.1", port, mono_ms() * 1000000u + 2000000000u);
    cr_assert_geq(fd, 0);
    int on = 0;
    socklen_t ol = sizeof on;
    cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &ol), 0);
    cr_assert_eq(on, 1);
    close(fd);
    close(lfd);
}

Test(otlp_http, a_server_that_never_answers_hits_the_deadline)
{
    const char *script[] = {"HANG", NULL};
    start(script);
    struct fo_http_client c;
    client_for(&c, "/");
    int status;
    uint64_t t0 = mono_ms();
    cr_assert_eq(post(&c, &status, 300), -ETIMEDOUT);
    uint64_t took = mono_ms() - t0;
    cr_assert_geq(took, 290);
    cr_assert_lt(took, 1500);
    pthread_join(srv.thread, NULL);
}

Test(otlp_http, a_long_body_is_kept_truncated)
{
    static char reply[FO_RESULT_BODY_MAX + 200];
    int n = snprintf(reply, sizeof reply, "HTTP/1.1 400 Bad\r\nContent-Length: %d\r\n\r\n",
                     FO_RESULT_BODY_MAX + 100);
    memset(reply + n, 'x', FO_RESULT_BODY_MAX + 100);
    reply[n + FO_RESULT_BODY_MAX + 100] = '\0';
    const char *script[] = {reply, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", NULL};
    start(script);
    struct fo_http_client c;
    client_for(&c, "/");
    int status;
    cr_assert_eq(post(&c, &status, 2000), 0);
    cr_assert_eq(status, 400);
    cr_assert_eq(result.body_len, FO_RESULT_BODY_MAX);
    cr_assert(result.body_truncated);
    cr_assert_eq(post(&c, &status, 2000), 0, "the whole body was read: the connection is reusable");
    cr_assert_eq(srv.accepts, 1);
    fo_http_client_close(&c);
    pthread_join(srv.thread, NULL);
}

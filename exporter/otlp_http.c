/* otlp_http.c - HTTP/1.1 keep-alive POST client for OTLP (see otlp_http.h). */
#include "otlp_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "preload/real.h"

#define RESP_MAX 16384 /* status line and headers */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int fo_http_client_init(struct fo_http_client *c, const char *url)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (fo_real.connect == NULL)
        fo_real_init();
    if (strncmp(url, "http://", 7) != 0)
        return strstr(url, "://") != NULL ? -EPROTONOSUPPORT : -EINVAL;
    const char *h = url + 7;
    const char *path = strchr(h, '/');
    size_t hostport_len = path != NULL ? (size_t)(path - h) : strlen(h);
    if (hostport_len == 0 || hostport_len >= sizeof c->hostport)
        return -EINVAL;
    memcpy(c->hostport, h, hostport_len);
    const char *hp = c->hostport, *port = NULL;
    size_t host_len;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (rb == NULL)
            return -EINVAL;
        host_len = (size_t)(rb - hp - 1);
        memcpy(c->host, hp + 1, host_len);
        if (rb[1] == ':')
            port = rb + 2;
        else if (rb[1] != '\0')
            return -EINVAL;
    } else {
        const char *colon = strchr(hp, ':');
        host_len = colon != NULL ? (size_t)(colon - hp) : strlen(hp);
        memcpy(c->host, hp, host_len);
        if (colon != NULL)
            port = colon + 1;
    }
    if (host_len == 0 || host_len >= sizeof c->host)
        return -EINVAL;
    c->host[host_len] = '\0';
    if (port == NULL)
        port = "80";
    size_t pl = strlen(port);
    if (pl == 0 || pl >= sizeof c->port || strspn(port, "0123456789") != pl)
        return -EINVAL;
    strcpy(c->port, port);
    strcpy(c->path, path != NULL ? path : "/");
    return 0;
}

void fo_http_client_close(struct fo_http_client *c)
{
    if (c->fd >= 0)
        fo_real.close(c->fd);
    c->fd = -1;
}

/* Milliseconds left before the deadline, or -1 when it has passed. */
static int ms_left(uint64_t deadline_ns)
{
    uint64_t now = mono_ns();
    if (now >= deadline_ns)
        return -1;
    uint64_t ms = (deadline_ns - now + 999999) / 1000000;
    return ms > 600000 ? 600000 : (int)ms;
}

static int wait_fd(int fd, short events, uint64_t deadline_ns)
{
    for (;;) {
        int ms = ms_left(deadline_ns);
        if (ms < 0)
            return -ETIMEDOUT;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r == 0)
            continue;
        if (errno != EINTR)
            return -errno;
    }
}

static int do_connect(struct fo_http_client *c, uint64_t deadline_ns)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(c->host, c->port, &hints, &res);
    if (g != 0)
        return g == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
    int rc = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = fo_real.socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        if (fo_real.connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                rc = -errno;
                fo_real.close(fd);
                continue;
            }
            rc = wait_fd(fd, POLLOUT, deadline_ns);
            int err = 0;
            socklen_t el = sizeof err;
            if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err != 0)
                rc = -err;
            if (rc != 0) {
                fo_real.close(fd);
                if (rc == -ETIMEDOUT)
                    break;
                continue;
            }
        }
        c->fd = fd;
        rc = 0;
        break;
    }
    freeaddrinfo(res);
    return rc;
}

static int send_all(int fd, const void *p, size_t n, uint64_t deadline_ns)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = fo_real.send(fd, b, n, MSG_NOSIGNAL);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = wait_fd(fd, POLLOUT, deadline_ns);
            if (rc != 0)
                return rc;
        } else {
            return w < 0 ? -errno : -ECONNRESET;
        }
    }
    return 0;
}

/* Reads some bytes; 0 at end of stream. */
static ssize_t recv_some(int fd, char *b, size_t n, uint64_t deadline_ns)
{
    for (;;) {
        ssize_t r = fo_real.recv(fd, b, n, 0);
        if (r >= 0)
            return r;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_fd(fd, POLLIN, deadline_ns);
        if (rc != 0)
            return rc;
    }
}

struct resp {
    char buf[RESP_MAX];
    size_t len, pos; /* bytes held, bytes consumed */
    int fd;
    uint64_t deadline_ns;
    int eof;
};

static int fill(struct resp *r)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->len == sizeof r->buf)
        return -EPROTO;
    ssize_t n = recv_some(r->fd, r->buf + r->len, sizeof r->buf - r->len, r->deadline_ns);
    if (n < 0)
        return (int)n;
    if (n == 0) {
        r->eof = 1;
        return -ECONNRESET;
    }
    r->len += (size_t)n;
    return 0;
}

/* Next CRLF-terminated line from the response, NUL-terminated in place. */
static int next_line(struct resp *r, char **line)
{
    for (;;) {
        char *s = r->buf + r->pos;
        char *nl = memchr(s, '\n', r->len - r->pos);
        if (nl != NULL) {
            *nl = '\0';
            if (nl > s && nl[-1] == '\r')
                nl[-1] = '\0';
            r->pos = (size_t)(nl + 1 - r->buf);
            *line = s;
            return 0;
        }
        int rc = fill(r);
        if (rc != 0)
            return rc;
    }
}

static int discard(struct resp *r, uint64_t n)
{
    while (n > 0) {
        if (r->pos == r->len) {
            r->pos = r->len = 0;
            int rc = fill(r);
            if (rc != 0)
                return rc;
        }
        size_t avail = r->len - r->pos;
        size_t k = avail < n ? avail : (size_t)n;
        r->pos += k;
        n -= k;
    }
    return 0;
}

static int read_body(struct resp *r, int64_t cl, int chunked, int *keep)
{
    if (chunked) {
        char *line;
        for (;;) {
            int rc = next_line(r, &line);
            if (rc != 0)
                return rc;
            char *end;
            unsigned long long n = strtoull(line, &end, 16);
            if (end == line)
                return -EPROTO;
            if (n == 0)
                break;
            if ((rc = discard(r, n)) != 0 || (rc = next_line(r, &line)) != 0)
                return rc;
        }
        for (;;) { /* trailers */
            int rc = next_line(r, &line);
            if (rc != 0)
                return rc;
            if (line[0] == '\0')
                return 0;
        }
    }
    if (cl >= 0)
        return discard(r, (uint64_t)cl);
    /* Delimited by close: read to the end, and do not reuse the connection. */
    *keep = 0;
    for (;;) {
        r->pos = r->len = 0;
        int rc = fill(r);
        if (rc != 0)
            return r->eof ? 0 : rc;
    }
}

static int read_response(struct fo_http_client *c, uint64_t deadline_ns, int *status,
                         char *retry_after, size_t ra_cap, int *keep, int *got_any)
{
    static struct resp r; /* the exporter thread is the only caller */
    r.len = r.pos = 0;
    r.fd = c->fd;
    r.deadline_ns = deadline_ns;
    r.eof = 0;
    char *line;
    int64_t cl;
    int chunked;
    for (;;) { /* 1xx interim responses are skipped */
        int rc = next_line(&r, &line);
        if (rc != 0)
            return rc;
        *got_any = 1;
        if (strncmp(line, "HTTP/1.", 7) != 0 || line[7] == '\0' || line[8] != ' ' ||
            sscanf(line + 9, "%3d", status) != 1 || *status < 100 || *status > 999)
            return -EPROTO;
        *keep = line[7] == '1';
        cl = -1;
        chunked = 0;
        for (;;) {
            rc = next_line(&r, &line);
            if (rc != 0)
                return rc;
            if (line[0] == '\0')
                break;
            char *colon = strchr(line, ':');
            if (colon == NULL)
                return -EPROTO;
            *colon = '\0';
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            if (strcasecmp(line, "content-length") == 0) {
                char *end;
                long long x = strtoll(v, &end, 10);
                if (end == v || x < 0)
                    return -EPROTO;
                cl = x;
            } else if (strcasecmp(line, "transfer-encoding") == 0) {
                chunked = strcasestr(v, "chunked") != NULL;
            } else if (strcasecmp(line, "connection") == 0) {
                if (strcasestr(v, "close") != NULL)
                    *keep = 0;
                else if (strcasestr(v, "keep-alive") != NULL)
                    *keep = 1;
            } else if (strcasecmp(line, "retry-after") == 0 && retry_after != NULL) {
                snprintf(retry_after, ra_cap, "%s", v);
            }
        }
        if (*status >= 200)
            break;
    }
    if (*status == 204 || *status == 304)
        return 0;
    return read_body(&r, cl, chunked, keep);
}

int fo_http_client_post(struct fo_http_client *c, const struct fo_kv *headers,
                        size_t n_headers, const char *content_type, const void *body,
                        size_t len, uint64_t deadline_ns, int *status_out, char *retry_after,
                        size_t retry_after_cap)
{
    char head[4096];
    int n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nUser-Agent: feast-otel\r\n",
                     c->path, c->hostport, content_type, len);
    for (size_t i = 0; i < n_headers && n > 0 && (size_t)n < sizeof head; i++)
        n += snprintf(head + n, sizeof head - (size_t)n, "%s: %s\r\n", headers[i].key,
                      headers[i].value);
    if (n < 0 || (size_t)n + 3 > sizeof head)
        return -E2BIG;
    memcpy(head + n, "\r\n", 3);
    n += 2;
    if (retry_after != NULL && retry_after_cap > 0)
        retry_after[0] = '\0';

    for (int attempt = 0; attempt < 2; attempt++) {
        int reused = c->fd >= 0;
        if (!reused) {
            int rc = do_connect(c, deadline_ns);
            if (rc != 0)
                return rc;
        }
        int keep = 0, got_any = 0;
        int rc = send_all(c->fd, head, (size_t)n, deadline_ns);
        if (rc == 0)
            rc = send_all(c->fd, body, len, deadline_ns);
        if (rc == 0)
            rc = read_response(c, deadline_ns, status_out, retry_after, retry_after_cap,
                               &keep, &got_any);
        if (rc == 0) {
            if (!keep)
                fo_http_client_close(c);
            return 0;
        }
        fo_http_client_close(c);
        /* A kept-alive connection the server had already closed fails before
         * any response byte: that, and only that, is worth one more try. */
        if (!reused || got_any || rc == -ETIMEDOUT)
            return rc;
    }
    return -ECONNRESET;
}

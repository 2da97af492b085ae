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

#include "net.h"
#include "preload/real.h"
#include "retry.h"

#define RESP_MAX 16384 /* status line and headers */

int fo_http_client_init(struct fo_http_client *c, const char *url)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    int at = fo_net_parse_url(url, "80", c->hostport, sizeof c->hostport, c->host,
                              sizeof c->host, c->port, sizeof c->port);
    if (at < 0)
        return at;
    const char *path = url + at;
    size_t slash = path[0] != '/'; /* "http://h?q": HTTP asks for "/?q" */
    size_t n = strlen(path);
    if (slash + n >= sizeof c->path)
        return -EINVAL;
    c->path[0] = '/';
    memcpy(c->path + slash, path, n + 1);
    return 0;
}

void fo_http_client_close(struct fo_http_client *c)
{
    if (c->fd >= 0)
        fo_real.close(c->fd);
    c->fd = -1;
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
    ssize_t n = fo_net_recv_some(r->fd, r->buf + r->len, sizeof r->buf - r->len, r->deadline_ns);
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

/* Consumes n body bytes, keeping what fits in the result's body. */
static int consume(struct resp *r, uint64_t n, struct fo_export_result *out)
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
        size_t keep = sizeof out->body - out->body_len;
        if (keep > k)
            keep = k;
        memcpy(out->body + out->body_len, r->buf + r->pos, keep);
        out->body_len += keep;
        out->body_truncated |= keep < k;
        r->pos += k;
        n -= k;
    }
    return 0;
}

static int read_body(struct resp *r, int64_t cl, int chunked, int *keep,
                     struct fo_export_result *out)
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
            if ((rc = consume(r, n, out)) != 0 || (rc = next_line(r, &line)) != 0)
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
        return consume(r, (uint64_t)cl, out);
    /* Delimited by close: read to the end, and do not reuse the connection. */
    *keep = 0;
    for (;;) {
        int rc = consume(r, r->len - r->pos, out);
        if (rc == 0) {
            r->pos = r->len = 0;
            rc = fill(r);
        }
        if (rc != 0)
            return r->eof ? 0 : rc;
    }
}

static int read_response(struct fo_http_client *c, uint64_t deadline_ns, int *keep,
                         int *got_any, struct fo_export_result *out)
{
    static struct resp r; /* the exporter thread is the only caller */
    r.len = r.pos = 0;
    r.fd = c->fd;
    r.deadline_ns = deadline_ns;
    r.eof = 0;
    char *line;
    int64_t cl;
    int chunked, status = 0;
    for (;;) { /* 1xx interim responses are skipped */
        int rc = next_line(&r, &line);
        if (rc != 0)
            return rc;
        *got_any = 1;
        if (strncmp(line, "HTTP/1.", 7) != 0 || line[7] == '\0' || line[8] != ' ' ||
            sscanf(line + 9, "%3d", &status) != 1 || status < 100 || status > 999)
            return -EPROTO;
        *keep = line[7] == '1';
        cl = -1;
        chunked = 0;
        out->retry_after_ms = -1;
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
            } else if (strcasecmp(line, "retry-after") == 0) {
                out->retry_after_ms = fo_retry_after_parse(v, time(NULL));
            }
        }
        if (status >= 200)
            break;
    }
    out->http_status = status;
    if (status == 204 || status == 304)
        return 0;
    return read_body(&r, cl, chunked, keep, out);
}

int fo_http_client_post(struct fo_http_client *c, const struct fo_kv *headers,
                        size_t n_headers, const char *content_type, int gzip, const void *body,
                        size_t len, uint64_t deadline_ns, struct fo_export_result *out)
{
    char head[4096];
    fo_export_result_init(out);
    int n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nUser-Agent: feast-otel\r\n%s",
                     c->path, c->hostport, content_type, len,
                     gzip ? "Content-Encoding: gzip\r\n" : "");
    for (size_t i = 0; i < n_headers && n > 0 && (size_t)n < sizeof head; i++)
        n += snprintf(head + n, sizeof head - (size_t)n, "%s: %s\r\n", headers[i].key,
                      headers[i].value);
    if (n < 0 || (size_t)n + 3 > sizeof head)
        return out->rc = -E2BIG;
    memcpy(head + n, "\r\n", 3);
    n += 2;

    for (int attempt = 0; attempt < 2; attempt++) {
        int reused = c->fd >= 0;
        if (!reused) {
            int fd = fo_net_connect(c->host, c->port, deadline_ns);
            if (fd < 0)
                return out->rc = fd;
            c->fd = fd;
        }
        int keep = 0, got_any = 0;
        out->body_len = 0;
        out->body_truncated = 0;
        int rc = fo_net_send_all(c->fd, head, (size_t)n, len > 0, deadline_ns);
        if (rc == 0)
            rc = fo_net_send_all(c->fd, body, len, 0, deadline_ns);
        if (rc == 0)
            rc = read_response(c, deadline_ns, &keep, &got_any, out);
        if (rc == 0) {
            if (!keep)
                fo_http_client_close(c);
            return out->rc = 0;
        }
        fo_http_client_close(c);
        /* A kept-alive connection the server had already closed fails before
         * any response byte: that, and only that, is worth one more try. */
        if (!reused || got_any || rc == -ETIMEDOUT)
            return out->rc = rc;
    }
    return out->rc = -ECONNRESET;
}

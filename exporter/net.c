/* net.c - socket helpers with deadlines for the exporter (see net.h). */
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "preload/real.h"

uint64_t fo_net_now_ns(void)
{
    return fo_clock_ns(CLOCK_MONOTONIC);
}

int fo_net_split_hostport(const char *hp, const char *default_port, char *host,
                          size_t host_cap, char *port, size_t port_cap)
{
    const char *p = NULL;
    size_t host_len;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (rb == NULL)
            return -EINVAL;
        hp++;
        host_len = (size_t)(rb - hp);
        if (rb[1] == ':')
            p = rb + 2;
        else if (rb[1] != '\0')
            return -EINVAL;
    } else {
        const char *colon = strchr(hp, ':');
        host_len = colon != NULL ? (size_t)(colon - hp) : strlen(hp);
        if (colon != NULL)
            p = colon + 1;
    }
    if (host_len == 0 || host_len >= host_cap)
        return -EINVAL;
    memcpy(host, hp, host_len);
    host[host_len] = '\0';
    if (p == NULL)
        p = default_port;
    size_t pl = strlen(p);
    if (pl == 0 || pl >= port_cap || strspn(p, "0123456789") != pl)
        return -EINVAL;
    memcpy(port, p, pl + 1);
    return 0;
}

int fo_net_parse_url(const char *url, const char *default_port, char *authority,
                     size_t authority_cap, char *host, size_t host_cap, char *port,
                     size_t port_cap)
{
    if (fo_real.connect == NULL)
        fo_real_init();
    if (strncmp(url, "http://", 7) != 0)
        return strstr(url, "://") != NULL ? -EPROTONOSUPPORT : -EINVAL;
    const char *h = url + 7;
    size_t n = strcspn(h, "/?#");
    if (n == 0 || n >= authority_cap)
        return -EINVAL;
    memcpy(authority, h, n);
    authority[n] = '\0';
    if (fo_net_split_hostport(authority, default_port, host, host_cap, port, port_cap) != 0)
        return -EINVAL;
    return (int)(7 + n);
}

/* Milliseconds left before the deadline, or -1 when it has passed. */
static int ms_left(uint64_t deadline_ns)
{
    uint64_t now = fo_net_now_ns();
    if (now >= deadline_ns)
        return -1;
    uint64_t ms = (deadline_ns - now + 999999) / 1000000;
    return ms > 600000 ? 600000 : (int)ms;
}

void (*fo_net_idle)(void *ctx);
void *fo_net_idle_ctx;

int fo_net_wait(int fd, short events, uint64_t deadline_ns)
{
    for (;;) {
        int ms = ms_left(deadline_ns);
        if (ms < 0)
            return -ETIMEDOUT;
        if (fo_net_idle != NULL && ms > FO_NET_IDLE_MS)
            ms = FO_NET_IDLE_MS;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r == 0) {
            if (fo_net_idle != NULL)
                fo_net_idle(fo_net_idle_ctx);
            continue;
        }
        if (errno != EINTR)
            return -errno;
    }
}

int fo_net_connect(const char *host, const char *port, uint64_t deadline_ns)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, port, &hints, &res);
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
            rc = fo_net_wait(fd, POLLOUT, deadline_ns);
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
        /* A request goes out as a few writes (headers, then body frames):
         * Nagle's algorithm would hold the last one for the collector's
         * delayed ACK, 40 ms per export. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        rc = fd;
        break;
    }
    freeaddrinfo(res);
    return rc;
}

int fo_net_send_all(int fd, const void *p, size_t n, int more, uint64_t deadline_ns)
{
    const char *b = p;
    int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
    while (n > 0) {
        ssize_t w = fo_real.send(fd, b, n, flags);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = fo_net_wait(fd, POLLOUT, deadline_ns);
            if (rc != 0)
                return rc;
        } else {
            return w < 0 ? -errno : -ECONNRESET;
        }
    }
    return 0;
}

ssize_t fo_net_recv_some(int fd, void *b, size_t n, uint64_t deadline_ns)
{
    for (;;) {
        ssize_t r = fo_real.recv(fd, b, n, 0);
        if (r >= 0)
            return r;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = fo_net_wait(fd, POLLIN, deadline_ns);
        if (rc != 0)
            return rc;
    }
}

/*
 * net.h - blocking-with-deadline socket helpers for the exporter's
 * transports. Every call uses the real libc functions (never our hooks) and
 * gives up at a CLOCK_MONOTONIC deadline.
 */
#ifndef FO_NET_H
#define FO_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Monotonic time in nanoseconds. */
uint64_t fo_net_now_ns(void);

/*
 * Splits "host[:port]" or "[v6]:port" (hostport, NUL-terminated) into host
 * and port; default_port when none is given. Returns 0 or -EINVAL.
 */
int fo_net_split_hostport(const char *hostport, const char *default_port, char *host,
                          size_t host_cap, char *port, size_t port_cap);

/*
 * Takes the authority of an http:// URL (up to the first '/', '?' or '#')
 * into authority (NUL-terminated) and splits it into host and port
 * (default_port when none). Returns the offset of what follows the
 * authority in url, -EPROTONOSUPPORT for https and other schemes, or
 * -EINVAL. Resolves the real libc functions when that has not happened.
 */
int fo_net_parse_url(const char *url, const char *default_port, char *authority,
                     size_t authority_cap, char *host, size_t host_cap, char *port,
                     size_t port_cap);

/*
 * Connects a non-blocking TCP socket to host:port before the deadline.
 * Returns the fd, or -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH (name not
 * resolved) or another -errno.
 */
int fo_net_connect(const char *host, const char *port, uint64_t deadline_ns);

/*
 * Called every FO_NET_IDLE_MS while a wait goes on, when set: the exporter
 * keeps taking records from the host while the collector is slow.
 */
#define FO_NET_IDLE_MS 10
extern void (*fo_net_idle)(void *ctx);
extern void *fo_net_idle_ctx;

/* Waits until fd is ready for events (POLLIN/POLLOUT): 0 or -ETIMEDOUT. */
int fo_net_wait(int fd, short events, uint64_t deadline_ns);

/* Sends all n bytes: 0, -ETIMEDOUT, or -errno (-ECONNRESET on a closed peer).
 * more: another send follows at once (a request's head before its body): the
 * kernel holds these bytes for it (MSG_MORE) rather than sending a segment of
 * their own, and waking the peer for it. */
int fo_net_send_all(int fd, const void *p, size_t n, int more, uint64_t deadline_ns);

/* Receives some bytes (0 at end of stream), waiting until the deadline. */
ssize_t fo_net_recv_some(int fd, void *b, size_t n, uint64_t deadline_ns);

#endif

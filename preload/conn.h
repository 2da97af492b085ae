/*
 * conn.h - the connection table: which file descriptors we follow, and the
 * per-connection sniffer state behind them.
 *
 * The table is indexed by fd and holds a pointer to a slot of a fixed pool
 * (both mapped once, in the constructor). A slot is owned by at most one
 * thread at a time through a try-acquire flag; a thread that finds the slot
 * busy (another thread, or a signal handler that interrupted the owner)
 * stops following that connection instead of waiting. A slot that a thread
 * was inside when another thread forked is simply never used again in the
 * child. Nothing here blocks,
 * allocates or takes a lock, so every entry point is async-signal-safe.
 */
#ifndef FO_CONN_H
#define FO_CONN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

struct fo_conn;

extern _Atomic(struct fo_conn *) *fo_conn_table;
extern size_t fo_conn_table_size; /* 0 while the library is inert */

/* Bytes of each Feast body read for statistics (0: none); set before init. */
extern uint32_t fo_conn_feast_budget;

/* True when fd is followed: the pass-through test every hook makes. */
static inline int fo_conn_followed(int fd)
{
    return (size_t)fd < fo_conn_table_size &&
           atomic_load_explicit(&fo_conn_table[fd], memory_order_relaxed) != NULL;
}

/*
 * Maps the table (one pointer per possible fd) and a pool of max_conns slots.
 * Returns 0 or -ENOMEM (the library then stays inert).
 */
int fo_conn_init(size_t max_conns);

/*
 * A new connection was accepted as fd (peer address as accept returned it,
 * or NULL). Forgets any stale state for fd and follows it when it is TCP.
 * This, fo_conn_forget and fo_conn_on_close leave errno as it was.
 */
void fo_conn_on_accept(int fd, const struct sockaddr *peer, socklen_t peer_len);

/*
 * fd was handed out anew by something we do not follow (or we can no longer
 * follow it, e.g. after MSG_TRUNC): forget its state without ending its
 * exchanges as failures.
 */
void fo_conn_forget(int fd);

/* The host is about to close fd (or shut it down): finish its exchanges. */
void fo_conn_on_close(int fd, int shut_how);

/*
 * The host read r bytes (r as the call returned it, called right after it)
 * into the buffers iov[0..iovcnt). r == 0 is end of stream. errno is left
 * as the call set it: read and put back after a failure, and on the other
 * paths never changed (they make no call that sets it; the exporter's start
 * keeps it), so the hooks need not save it for every call.
 */
void fo_conn_on_read(int fd, const struct iovec *iov, int iovcnt, ssize_t r);

/* The host wrote r bytes from iov[0..iovcnt); as above. */
void fo_conn_on_write(int fd, const struct iovec *iov, int iovcnt, ssize_t r);

/* The host sent r bytes we cannot see (sendfile). */
void fo_conn_on_write_opaque(int fd, ssize_t r);

#endif

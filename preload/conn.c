/* conn.c - the fd-indexed table of followed connections (see conn.h). */
#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <pthread.h>

#include "exporter/clock.h"
#include "exporter/exporter.h"
#include "exporter/later.h"
#include "http1.h"
#include "slots.h"

enum { SLOT_FREE = 0, SLOT_LIVE = 1, SLOT_DEAD = 2 };

struct fo_conn {
    _Atomic uint32_t state;    /* SLOT_*: the slot's flag (slots.h) */
    _Atomic uint32_t busy;     /* 1 while one thread works on the slot */
    _Atomic uint32_t detached; /* no longer in the table: reap when idle */
    /* As in the record, in its order: handed over in one copy. */
    uint8_t peer_addr[16];
    uint8_t peer_family;
    uint8_t scheme;
    uint16_t peer_port;
    uint16_t local_port;
    struct fo_http1 h1;
    struct fo_feast_body feast; /* touched only by Feast requests */
};

_Static_assert(offsetof(struct fo_conn, state) == 0, "a slot starts with its flag");

/* Where a peer field sits from peer_addr, and how many bytes they span. */
#define PEER_AT(t, f) (offsetof(t, f) - offsetof(t, peer_addr))
#define PEER_SPAN(t) (PEER_AT(t, local_port) + sizeof(uint16_t))
#define SAME_PEER_AT(f) (PEER_AT(struct fo_conn, f) == PEER_AT(struct fo_record, f))
_Static_assert(SAME_PEER_AT(peer_family) && SAME_PEER_AT(scheme) && SAME_PEER_AT(peer_port) &&
                   SAME_PEER_AT(local_port),
               "the connection's peer fields are laid out as the record's");
#undef SAME_PEER_AT

uint32_t fo_conn_feast_budget;

_Atomic(struct fo_conn *) *fo_conn_table;
size_t fo_conn_table_size;

/* The process that owns the table. A vfork child shares our memory until it
 * execs: what it closes or dup2s must not end the parent's connections.
 * Checked (a getpid system call) only where the table changes, never on
 * the per-read/write path: a vfork child does not talk HTTP before exec. */
static pid_t owner_pid;

static struct fo_conn *pool;
static size_t pool_size;
static _Atomic size_t pool_hint;
static _Atomic uint64_t pool_exhausted;

#define MAX_TABLE_FDS ((size_t)1 << 20)

static void atfork_child(void)
{
    owner_pid = getpid();
}

/* False in a vfork child (or a raw clone) that shares our memory. */
static int is_owner(void)
{
    return getpid() == owner_pid;
}

int fo_conn_init(size_t max_conns)
{
    struct rlimit rl;
    size_t nfds = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
        rl.rlim_max > nfds)
        nfds = rl.rlim_max;
    if (nfds > MAX_TABLE_FDS)
        nfds = MAX_TABLE_FDS;
    /* Pages are touched only where fds are followed, so this costs address
     * space, not memory. */
    void *t = mmap(NULL, nfds * sizeof(*fo_conn_table), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (t == MAP_FAILED)
        return -ENOMEM;
    void *p = mmap(NULL, max_conns * sizeof(struct fo_conn), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        munmap(t, nfds * sizeof(*fo_conn_table));
        return -ENOMEM;
    }
    fo_conn_table = t;
    owner_pid = getpid();
    pthread_atfork(NULL, NULL, atfork_child);
    pool = p;
    pool_size = max_conns;
    fo_conn_table_size = nfds;
    return 0;
}

/* Slots are taken lowest first (slots.h). */
static struct fo_conn *slot_alloc(void)
{
    size_t k = fo_slot_take(pool, sizeof *pool, pool_size, &pool_hint, SLOT_FREE, SLOT_LIVE);
    if (k < pool_size)
        return &pool[k];
    atomic_fetch_add_explicit(&pool_exhausted, 1, memory_order_relaxed);
    return NULL;
}

/* Frees a slot and lowers the hint to it. */
static void slot_free(struct fo_conn *c)
{
    fo_slot_give(pool, sizeof *pool, (size_t)(c - pool), &pool_hint, SLOT_FREE);
}

/*
 * A Feast response body all in the write that ends its exchange (see
 * later.h): copied for the exporter thread to scan when a slot takes it,
 * scanned here otherwise.
 */
static __attribute__((noinline)) void feast_tail(struct fo_conn *c, struct fo_record *rec)
{
    const struct fo_http1 *h = &c->h1;
    struct fo_later *l = h->feast_tail_len <= FO_LATER_BODY_MAX ? fo_later_claim() : NULL;
    if (l != NULL) {
        memcpy(l->body, h->feast_tail, h->feast_tail_len);
        l->len = (uint32_t)h->feast_tail_len;
        fo_feast_body_save(&c->feast, &l->resume);
        rec->http.flags |= FO_HTTP_F_FEAST_LATER;
        rec->feast_later = (uint16_t)fo_later_index(l);
        return;
    }
    fo_feast_body_response(&c->feast, h->feast_tail, h->feast_tail_len);
    fo_feast_body_response_end(&c->feast, 1);
}

/* Hands one finished exchange to the exporter through the ring. */
static inline __attribute__((always_inline)) void emit(void *ctx, const struct fo_http_info *info)
{
    struct fo_conn *c = ctx;
    struct fo_record *rec = fo_ring_claim(&fo_records);
    if (rec != NULL) {
        /* The fixed fields with the target (it follows them), then the
         * other strings up to their lengths: most of the record is unused
         * room. */
        memcpy(&rec->http, info, offsetof(struct fo_http_info, target) + info->target_len);
        /* Most user agents are short: a fixed 16-byte move (both arrays
         * are longer) instead of a counted copy. None: its line of the
         * record is not touched. */
        if ((unsigned)info->ua_len - 1u < 16u)
            memcpy(rec->http.user_agent, info->user_agent, 16);
        else if (info->ua_len > 16)
            memcpy(rec->http.user_agent, info->user_agent, info->ua_len);
        memcpy(rec->peer_addr, c->peer_addr, PEER_SPAN(struct fo_record));
        /* A traceparent or Feast statistics: one test for both. */
        if (info->flags & (FO_HTTP_F_TRACEPARENT | FO_HTTP_F_FEAST)) {
            if (info->flags & FO_HTTP_F_TRACEPARENT)
                memcpy(rec->http.traceparent, info->traceparent, FO_TRACEPARENT_LEN);
            if (info->flags & FO_HTTP_F_FEAST) {
                if (c->h1.feast_tail != NULL)
                    feast_tail(c, rec);
                rec->feast = c->feast.stats;
            }
        }
        fo_ring_publish(&fo_records, rec);
    }
    fo_exporter_start();
}

static int try_enter(struct fo_conn *c)
{
    uint32_t expect = 0;
    return atomic_compare_exchange_strong(&c->busy, &expect, 1);
}

/*
 * Ends a detached slot's exchanges and frees it, unless a thread is in it
 * (that thread reaps it when it leaves). detached is checked again while
 * holding the slot: a late caller may find it already freed, or even
 * reallocated to a new connection, which it must leave alone.
 */
static void reap(struct fo_conn *c, int reset)
{
    if (!try_enter(c))
        return;
    uint32_t live = SLOT_LIVE;
    if (atomic_load(&c->detached) &&
        atomic_compare_exchange_strong(&c->state, &live, SLOT_DEAD)) {
        fo_http1_on_close(&c->h1, reset, fo_clock_now(), emit, c);
        atomic_store(&c->detached, 0);
        atomic_store(&c->busy, 0);
        slot_free(c);
        return;
    }
    atomic_store(&c->busy, 0);
}

static void leave(struct fo_conn *c)
{
    atomic_store_explicit(&c->busy, 0, memory_order_release);
    if (atomic_load(&c->detached))
        reap(c, 0);
}

static void retire(struct fo_conn *c, int reset)
{
    atomic_store(&c->detached, 1);
    reap(c, reset);
}

/* Removes fd from the table if it still points at c (or at anything when c
 * is NULL) and retires what was there. */
static void detach(int fd, struct fo_conn *c, int reset)
{
    struct fo_conn *old;
    if (c == NULL) {
        old = atomic_exchange(&fo_conn_table[fd], NULL);
    } else {
        old = c;
        if (!atomic_compare_exchange_strong(&fo_conn_table[fd], &old, NULL))
            return;
    }
    if (old != NULL)
        retire(old, reset);
}

static void forget(int fd)
{
    if ((size_t)fd < fo_conn_table_size &&
        atomic_load_explicit(&fo_conn_table[fd], memory_order_relaxed) != NULL && is_owner())
        detach(fd, NULL, 0);
}

/* The entry points the fd-lifecycle hooks call keep errno, and stay out of
 * line: inlined into a hook, the registers they need are saved and
 * restored on every call of it, on the pass-through path too. */
__attribute__((noinline)) void fo_conn_forget(int fd)
{
    int saved = errno;
    forget(fd);
    errno = saved;
}

static int fill_addr(struct fo_conn *c, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        memset(c->peer_addr, 0, sizeof c->peer_addr);
        memcpy(c->peer_addr, &in->sin_addr, 4);
        c->peer_port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(c->peer_addr, &in6->sin6_addr, 16);
        c->peer_port = ntohs(in6->sin6_port);
    } else {
        return -1;
    }
    c->peer_family = (uint8_t)sa->sa_family;
    return 0;
}

static void follow(int fd, const struct sockaddr *peer, socklen_t peer_len)
{
    if ((size_t)fd >= fo_conn_table_size || !is_owner())
        return;
    forget(fd);

    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (peer == NULL || peer_len < sizeof(sa_family_t)) {
        if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
            return;
        peer = (const struct sockaddr *)&ss;
    }
    if (peer->sa_family != AF_INET && peer->sa_family != AF_INET6)
        return;

    struct fo_conn *c = slot_alloc();
    if (c == NULL)
        return;
    /* A freed slot has busy and detached clear; busy is not written here
     * because a late reaper may briefly hold it (see reap). */
    if (fill_addr(c, peer) != 0) {
        slot_free(c);
        return;
    }
    len = sizeof ss;
    c->local_port = 0;
    c->scheme = FO_SCHEME_HTTP;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            c->local_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            c->local_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    fo_http1_init(&c->h1);
    if (fo_conn_feast_budget > 0) {
        c->h1.feast = &c->feast;
        c->h1.feast_budget = fo_conn_feast_budget;
        c->h1.feast_defer = 1;
    }
    struct fo_conn *old = atomic_exchange(&fo_conn_table[fd], c);
    if (old != NULL)
        retire(old, 0);
}

__attribute__((noinline)) void fo_conn_on_accept(int fd, const struct sockaddr *peer,
                                                 socklen_t peer_len)
{
    int saved = errno;
    follow(fd, peer, peer_len);
    errno = saved;
}

__attribute__((noinline)) void fo_conn_on_close(int fd, int shut_how)
{
    if (shut_how != SHUT_RD)
        fo_conn_forget(fd);
}

/* Takes the slot for fd, or returns NULL (not followed, or in use). */
static inline __attribute__((always_inline)) struct fo_conn *enter(int fd)
{
    struct fo_conn *c = atomic_load_explicit(&fo_conn_table[fd], memory_order_acquire);
    if (c == NULL)
        return NULL;
    if (!try_enter(c)) {
        /* Another thread or an interrupted owner holds it: bytes would be
         * missed, so this connection is no longer followed. */
        detach(fd, c, 0);
        return NULL;
    }
    if (atomic_load_explicit(&fo_conn_table[fd], memory_order_acquire) != c ||
        atomic_load(&c->state) != SLOT_LIVE) {
        leave(c);
        return NULL;
    }
    return c;
}

static int is_reset(int e)
{
    return e == ECONNRESET || e == EPIPE || e == ETIMEDOUT || e == ECONNABORTED ||
           e == EHOSTUNREACH || e == ENETUNREACH;
}

typedef int (*feed_fn)(struct fo_http1 *, const char *, size_t, uint64_t,
                       fo_http1_emit_fn, void *);

/* Inlined into each caller, so the sniffer is called directly. */
static inline __attribute__((always_inline)) void feed(int fd, const struct iovec *iov, int iovcnt,
                                                       ssize_t r, feed_fn fn, int is_read)
{
    if (r < 0) {
        int e = errno;
        if (is_reset(e) && is_owner()) {
            struct fo_conn *c = atomic_load(&fo_conn_table[fd]);
            if (c != NULL)
                detach(fd, c, 1);
        }
        errno = e;
        return;
    }
    if (r == 0) {
        size_t want = 0;
        for (int i = 0; i < iovcnt; i++)
            want += iov[i].iov_len;
        if (want == 0)
            return; /* a zero-length call, not an end of stream */
    }
    struct fo_conn *c = enter(fd);
    if (c == NULL)
        return;
    uint64_t now = fo_clock_now();
    int rc = FO_HTTP1_OK;
    if (r == 0) {
        if (is_read)
            fo_http1_on_peer_eof(&c->h1, now, emit, c);
    } else if (iovcnt == 1) {
        rc = fn(&c->h1, iov[0].iov_base, (size_t)r, now, emit, c);
    } else {
        size_t left = (size_t)r;
        for (int i = 0; i < iovcnt && left > 0 && rc == FO_HTTP1_OK; i++) {
            size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
            if (n > 0)
                rc = fn(&c->h1, iov[i].iov_base, n, now, emit, c);
            left -= n;
        }
    }
    leave(c);
    if (rc != FO_HTTP1_OK)
        detach(fd, c, 0);
}

void fo_conn_on_read(int fd, const struct iovec *iov, int iovcnt, ssize_t r)
{
    feed(fd, iov, iovcnt, r, fo_http1_on_read, 1);
}

void fo_conn_on_write(int fd, const struct iovec *iov, int iovcnt, ssize_t r)
{
    feed(fd, iov, iovcnt, r, fo_http1_on_write, 0);
}

void fo_conn_on_write_opaque(int fd, ssize_t r)
{
    if (r < 0) {
        feed(fd, NULL, 0, r, fo_http1_on_write, 0);
        return;
    }
    if (r == 0)
        return;
    struct fo_conn *c = enter(fd);
    if (c == NULL)
        return;
    int rc = fo_http1_on_write_opaque(&c->h1, (size_t)r, fo_clock_now(), emit, c);
    leave(c);
    if (rc != FO_HTTP1_OK)
        detach(fd, c, 0);
}

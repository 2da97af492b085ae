/*
 * real.h - the C library functions we interpose, resolved once at load time.
 *
 * FO_REAL_FUNCS is the one list of wrapped functions: it generates the table
 * of real pointers, their resolution with dlsym(RTLD_NEXT), and (via
 * scripts/gen-exports) the exported-symbol allow-list. Code that must not be
 * observed by our own hooks (the exporter thread) calls fo_real.NAME(...).
 */
#ifndef FO_REAL_H
#define FO_REAL_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* XX(return type, name, parameter list) */
#define FO_REAL_FUNCS(XX)                                                     \
    XX(int, accept, (int, struct sockaddr *, socklen_t *))                    \
    XX(int, accept4, (int, struct sockaddr *, socklen_t *, int))              \
    XX(int, listen, (int, int))                                               \
    XX(int, connect, (int, const struct sockaddr *, socklen_t))               \
    XX(int, close, (int))                                                     \
    XX(int, shutdown, (int, int))                                             \
    XX(ssize_t, read, (int, void *, size_t))                                  \
    XX(ssize_t, readv, (int, const struct iovec *, int))                      \
    XX(ssize_t, recv, (int, void *, size_t, int))                             \
    XX(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *,       \
                           socklen_t *))                                      \
    XX(ssize_t, recvmsg, (int, struct msghdr *, int))                         \
    XX(ssize_t, write, (int, const void *, size_t))                           \
    XX(ssize_t, writev, (int, const struct iovec *, int))                     \
    XX(ssize_t, send, (int, const void *, size_t, int))                       \
    XX(ssize_t, sendto, (int, const void *, size_t, int,                      \
                         const struct sockaddr *, socklen_t))                 \
    XX(ssize_t, sendmsg, (int, const struct msghdr *, int))                   \
    XX(ssize_t, sendfile, (int, int, off_t *, size_t))                        \
    XX(ssize_t, sendfile64, (int, int, off_t *, size_t))                      \
    XX(int, dup, (int))                                                       \
    XX(int, dup2, (int, int))                                                 \
    XX(int, dup3, (int, int, int))                                            \
    XX(int, socket, (int, int, int))                                          \
    XX(int, pipe, (int[2]))                                                  \
    XX(int, pipe2, (int[2], int))                                            \
    XX(int, eventfd, (unsigned int, int))                                     \
    XX(int, epoll_create1, (int))                                             \
    XX(int, open, (const char *, int, ...))                                   \
    XX(int, open64, (const char *, int, ...))                                 \
    XX(int, openat, (int, const char *, int, ...))                            \
    XX(int, openat64, (int, const char *, int, ...))                          \
    XX(ssize_t, __read_chk, (int, void *, size_t, size_t))                    \
    XX(ssize_t, __recv_chk, (int, void *, size_t, size_t, int))               \
    XX(ssize_t, __recvfrom_chk, (int, void *, size_t, size_t, int,            \
                                 struct sockaddr *, socklen_t *))

/* Exported names that have no real counterpart to call (none yet). */
#define FO_EXTRA_EXPORTS(XX)

#define FO_REAL_FIELD(ret, name, params) ret(*name) params;
struct fo_real_table {
    FO_REAL_FUNCS(FO_REAL_FIELD)
};
#undef FO_REAL_FIELD

/* Resolved by fo_real_init(); never NULL afterwards. */
extern struct fo_real_table fo_real;

/*
 * Resolves every entry of fo_real with dlsym(RTLD_NEXT). Idempotent and safe
 * to call from any hook before the constructor ran (the dynamic loader may
 * run other constructors that call read() first). Returns 0, or -ENOSYS when
 * a symbol is missing (that entry then points at a stub returning ENOSYS).
 */
int fo_real_init(void);

#endif

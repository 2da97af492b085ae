/*
 * hooks_net.c - interposed calls that create, accept, duplicate and close
 * file descriptors: they decide which fds the connection table follows and
 * make sure a reused fd number never inherits a stale connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exporter/exporter.h"
#include "hooks.h"

/* A new fd from a source we do not follow: drop what the number meant. */
static int fresh_fd(int fd)
{
    if (fd >= 0 && fo_conn_followed(fd))
        fo_conn_forget(fd);
    return fd;
}

static int accepted(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    if (fd >= 0 && fo_conn_table_size != 0)
        fo_conn_on_accept(fd, addr, addr != NULL && addrlen != NULL ? *addrlen : 0);
    return fd;
}

FO_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    FO_ENSURE_REAL(accept);
    return accepted(fo_real.accept(fd, addr, addrlen), addr, addrlen);
}

FO_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    FO_ENSURE_REAL(accept4);
    return accepted(fo_real.accept4(fd, addr, addrlen, flags), addr, addrlen);
}

FO_EXPORT int listen(int fd, int backlog)
{
    FO_ENSURE_REAL(listen);
    int r = fo_real.listen(fd, backlog);
    /* A server is starting: with a Prometheus endpoint to serve, start the
     * exporter now rather than on the first request (a pre-fork master
     * listens, then never serves a request itself). */
    if (r == 0 && fo_exporter_start_on_listen)
        fo_exporter_start(); /* which keeps errno */
    return r;
}

FO_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    FO_ENSURE_REAL(connect);
    return fo_real.connect(fd, addr, len);
}

FO_EXPORT int close(int fd)
{
    FO_ENSURE_REAL(close);
    /* The number is reusable the instant the real close returns, and another
     * thread may accept onto it, so the exchange ends before. */
    if (fo_conn_followed(fd))
        fo_conn_on_close(fd, SHUT_RDWR);
    return fo_real.close(fd);
}

FO_EXPORT int shutdown(int fd, int how)
{
    FO_ENSURE_REAL(shutdown);
    int r = fo_real.shutdown(fd, how);
    if (r == 0 && fo_conn_followed(fd))
        fo_conn_on_close(fd, how);
    return r;
}

FO_EXPORT int socket(int domain, int type, int protocol)
{
    FO_ENSURE_REAL(socket);
    return fresh_fd(fo_real.socket(domain, type, protocol));
}

FO_EXPORT int dup(int fd)
{
    FO_ENSURE_REAL(dup);
    return fresh_fd(fo_real.dup(fd));
}

FO_EXPORT int dup2(int fd, int fd2)
{
    FO_ENSURE_REAL(dup2);
    int r = fo_real.dup2(fd, fd2);
    return r != fd ? fresh_fd(r) : r;
}

FO_EXPORT int dup3(int fd, int fd2, int flags)
{
    FO_ENSURE_REAL(dup3);
    return fresh_fd(fo_real.dup3(fd, fd2, flags));
}

FO_EXPORT int pipe(int fds[2])
{
    FO_ENSURE_REAL(pipe);
    int r = fo_real.pipe(fds);
    if (r == 0) {
        fresh_fd(fds[0]);
        fresh_fd(fds[1]);
    }
    return r;
}

FO_EXPORT int pipe2(int fds[2], int flags)
{
    FO_ENSURE_REAL(pipe2);
    int r = fo_real.pipe2(fds, flags);
    if (r == 0) {
        fresh_fd(fds[0]);
        fresh_fd(fds[1]);
    }
    return r;
}

FO_EXPORT int eventfd(unsigned int initval, int flags)
{
    FO_ENSURE_REAL(eventfd);
    return fresh_fd(fo_real.eventfd(initval, flags));
}

FO_EXPORT int epoll_create1(int flags)
{
    FO_ENSURE_REAL(epoll_create1);
    return fresh_fd(fo_real.epoll_create1(flags));
}

/* open(2) takes a mode only with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags, last, mode)                                           \
    do {                                                                       \
        if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) {       \
            va_list ap;                                                        \
            va_start(ap, last);                                                \
            mode = va_arg(ap, mode_t);                                         \
            va_end(ap);                                                        \
        }                                                                      \
    } while (0)

FO_EXPORT int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(flags, flags, mode);
    FO_ENSURE_REAL(open);
    return fresh_fd(fo_real.open(path, flags, mode));
}

FO_EXPORT int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(flags, flags, mode);
    FO_ENSURE_REAL(open64);
    return fresh_fd(fo_real.open64(path, flags, mode));
}

FO_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(flags, flags, mode);
    FO_ENSURE_REAL(openat);
    return fresh_fd(fo_real.openat(dirfd, path, flags, mode));
}

FO_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(flags, flags, mode);
    FO_ENSURE_REAL(openat64);
    return fresh_fd(fo_real.openat64(dirfd, path, flags, mode));
}

/*
 * hooks_io.c - interposed calls that move bytes: on a followed fd they hand
 * what was actually read or written to the connection layer (which leaves
 * errno as the call set it); on any other fd they cost one table lookup.
 */
#include <errno.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hooks.h"

static ssize_t did_read(int fd, void *buf, size_t len, ssize_t r)
{
    if (fo_conn_followed(fd)) {
        struct iovec iov = {buf, len};
        fo_conn_on_read(fd, &iov, 1, r);
    }
    return r;
}

static ssize_t did_readv(int fd, const struct iovec *iov, int iovcnt, ssize_t r)
{
    if (fo_conn_followed(fd)) {
        fo_conn_on_read(fd, iov, iovcnt, r);
    }
    return r;
}

/* recv-family flags that return bytes without consuming them, or consume
 * bytes without returning them: neither can be fed to the sniffer. */
static ssize_t did_recv(int fd, void *buf, size_t len, int flags, ssize_t r)
{
    if (flags & MSG_PEEK)
        return r;
    if (flags & MSG_TRUNC) {
        if (fo_conn_followed(fd))
            fo_conn_forget(fd);
        return r;
    }
    return did_read(fd, buf, len, r);
}

static ssize_t did_write(int fd, const void *buf, size_t len, ssize_t r)
{
    if (fo_conn_followed(fd)) {
        struct iovec iov = {(void *)buf, len};
        fo_conn_on_write(fd, &iov, 1, r);
    }
    return r;
}

static ssize_t did_writev(int fd, const struct iovec *iov, int iovcnt, ssize_t r)
{
    if (fo_conn_followed(fd)) {
        fo_conn_on_write(fd, iov, iovcnt, r);
    }
    return r;
}

FO_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
    FO_ENSURE_REAL(read);
    return did_read(fd, buf, len, fo_real.read(fd, buf, len));
}

FO_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
    FO_ENSURE_REAL(__read_chk);
    return did_read(fd, buf, len, fo_real.__read_chk(fd, buf, len, buflen));
}

FO_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    FO_ENSURE_REAL(readv);
    return did_readv(fd, iov, iovcnt, fo_real.readv(fd, iov, iovcnt));
}

FO_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    FO_ENSURE_REAL(recv);
    return did_recv(fd, buf, len, flags, fo_real.recv(fd, buf, len, flags));
}

FO_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    FO_ENSURE_REAL(__recv_chk);
    return did_recv(fd, buf, len, flags, fo_real.__recv_chk(fd, buf, len, buflen, flags));
}

FO_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
                           struct sockaddr *addr, socklen_t *addrlen)
{
    FO_ENSURE_REAL(recvfrom);
    return did_recv(fd, buf, len, flags,
                    fo_real.recvfrom(fd, buf, len, flags, addr, addrlen));
}

FO_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                                 struct sockaddr *addr, socklen_t *addrlen)
{
    FO_ENSURE_REAL(__recvfrom_chk);
    return did_recv(fd, buf, len, flags,
                    fo_real.__recvfrom_chk(fd, buf, len, buflen, flags, addr, addrlen));
}

FO_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    FO_ENSURE_REAL(recvmsg);
    ssize_t r = fo_real.recvmsg(fd, msg, flags);
    if (!fo_conn_followed(fd) || (flags & MSG_PEEK))
        return r;
    if (flags & MSG_TRUNC)
        fo_conn_forget(fd);
    else if (r < 0) /* msg may be a pointer the kernel refused: not touched */
        fo_conn_on_read(fd, NULL, 0, r);
    else
        fo_conn_on_read(fd, msg->msg_iov, (int)msg->msg_iovlen, r);
    return r;
}

FO_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
    FO_ENSURE_REAL(write);
    return did_write(fd, buf, len, fo_real.write(fd, buf, len));
}

FO_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    FO_ENSURE_REAL(writev);
    return did_writev(fd, iov, iovcnt, fo_real.writev(fd, iov, iovcnt));
}

FO_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    FO_ENSURE_REAL(send);
    return did_write(fd, buf, len, fo_real.send(fd, buf, len, flags));
}

FO_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
                         const struct sockaddr *addr, socklen_t addrlen)
{
    FO_ENSURE_REAL(sendto);
    return did_write(fd, buf, len, fo_real.sendto(fd, buf, len, flags, addr, addrlen));
}

FO_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    FO_ENSURE_REAL(sendmsg);
    ssize_t r = fo_real.sendmsg(fd, msg, flags);
    if (r < 0) /* msg may be a pointer the kernel refused: not touched */
        return did_writev(fd, NULL, 0, r);
    return did_writev(fd, msg->msg_iov, (int)msg->msg_iovlen, r);
}

static ssize_t did_sendfile(int fd, ssize_t r)
{
    if (fo_conn_followed(fd)) {
        fo_conn_on_write_opaque(fd, r);
    }
    return r;
}

FO_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    FO_ENSURE_REAL(sendfile);
    return did_sendfile(out_fd, fo_real.sendfile(out_fd, in_fd, offset, count));
}

FO_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count)
{
    FO_ENSURE_REAL(sendfile64);
    return did_sendfile(out_fd, fo_real.sendfile64(out_fd, in_fd, offset, count));
}

/*
 * passthrough.c - prints a transcript of every interposed call on every kind
 * of fd: return value, errno and a checksum of the bytes moved. Run with and
 * without the library, the transcripts must be identical. One of the
 * sockets is an accepted TCP connection carrying an HTTP exchange, so the
 * library follows it (the test checks that a span arrived for it).
 */
#define _GNU_SOURCE
/* read, recv and recvfrom on buffers of known size become the fortified
 * __read_chk, __recv_chk and __recvfrom_chk, which are interposed too. */
#define _FORTIFY_SOURCE 2
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

static unsigned sum(const void *p, ssize_t n)
{
    unsigned h = 2166136261u;
    for (ssize_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 16777619u;
    return h;
}

/* One transcript line: the call, what it returned, errno after it (set to
 * EDOM before it: a call that succeeds leaves it alone), and a checksum of
 * the buffer when bytes came in. */
#define LOG(what, r, buf)                                                      \
    do {                                                                       \
        ssize_t r_ = (r);                                                      \
        int e_ = errno;                                                        \
        const char *n_ = strerrorname_np(e_);                                  \
        printf("%-28s r=%zd errno=%s sum=%08x\n", what, r_, n_ ? n_ : "?",     \
               (buf) != NULL && r_ > 0 ? sum((buf), r_) : 0u);                 \
        errno = EDOM;                                                          \
    } while (0)

static char buf[65536];

/* An address the kernel refuses (EFAULT), hidden from the compiler. */
static void *volatile bad = (void *)16;

/* Lengths the compiler cannot see, so fortified reads call the _chk forms. */
static volatile size_t n10 = 10, n20 = 20, nbig = 65536;

static void on_alarm(int sig)
{
    (void)sig;
}

/* A connected pair of TCP sockets through a listener: (server side is
 * accepted, so the library follows it; client side is connected). */
static void tcp_pair(int *srv, int *cli, int *lfd_out)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(lfd, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &len);
    listen(lfd, 4);
    *cli = socket(AF_INET, SOCK_STREAM, 0);
    connect(*cli, (struct sockaddr *)&a, sizeof a);
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    *srv = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
    *lfd_out = lfd;
}

/* The reads and writes every fd kind gets, with data flowing from wfd to rfd. */
static void byte_calls(const char *kind, int wfd, int rfd, int stream)
{
    char name[64];
    struct iovec iov[2];
#define NAME(call) (snprintf(name, sizeof name, "%s %s", kind, call), name)
    LOG(NAME("write"), write(wfd, "abcdef", 6), NULL);
    LOG(NAME("read 0 bytes"), read(rfd, buf, 0), NULL);
    if (stream)
        LOG(NAME("recv PEEK"), recv(rfd, buf, 3, MSG_PEEK), buf);
    LOG(NAME("read"), read(rfd, buf, 4), buf);
    if (stream)
        LOG(NAME("read rest"), read(rfd, buf, sizeof buf), buf);
    iov[0] = (struct iovec){(void *)"gh", 2};
    iov[1] = (struct iovec){(void *)"ijk", 3};
    LOG(NAME("writev"), writev(wfd, iov, 2), NULL);
    iov[0] = (struct iovec){buf, 1};
    iov[1] = (struct iovec){buf + 1, 100};
    LOG(NAME("readv"), readv(rfd, iov, 2), buf);
    LOG(NAME("write 0 bytes"), write(wfd, "", 0), NULL);
    LOG(NAME("write for bad read"), write(wfd, "zz", 2), NULL);
    LOG(NAME("read bad pointer"), read(rfd, bad, 10), NULL);
    LOG(NAME("write bad pointer"), write(wfd, bad, 10), NULL);
    LOG(NAME("readv bad iov"), readv(rfd, bad, 1), NULL);
    int fl = fcntl(rfd, F_GETFL);
    fcntl(rfd, F_SETFL, fl | O_NONBLOCK);
    LOG(NAME("read nonblocking"), read(rfd, buf, 10), buf);
    LOG(NAME("read empty nonblocking"), read(rfd, buf, 10), buf);
    fcntl(rfd, F_SETFL, fl);
#undef NAME
}

static void socket_calls(const char *kind, int wfd, int rfd)
{
    char name[64];
#define NAME(call) (snprintf(name, sizeof name, "%s %s", kind, call), name)
    LOG(NAME("send"), send(wfd, "0123456789", 10, MSG_NOSIGNAL), NULL);
    LOG(NAME("recv PEEK"), recv(rfd, buf, 4, MSG_PEEK), buf);
    LOG(NAME("recv WAITALL"), recv(rfd, buf, 10, MSG_WAITALL), buf);
    LOG(NAME("sendto"), sendto(wfd, "xyz", 3, 0, NULL, 0), NULL);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    LOG(NAME("__recvfrom_chk"), recvfrom(rfd, buf, nbig, 0, (struct sockaddr *)&ss, &sl), buf);
    struct iovec iov = {(void *)"msg!", 4};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    LOG(NAME("sendmsg"), sendmsg(wfd, &mh, 0), NULL);
    struct iovec riov = {buf, sizeof buf};
    struct msghdr rmh = {.msg_iov = &riov, .msg_iovlen = 1};
    LOG(NAME("recvmsg"), recvmsg(rfd, &rmh, 0), buf);
    LOG(NAME("sendmsg bad msghdr"), sendmsg(wfd, bad, 0), NULL);
    LOG(NAME("recvmsg bad msghdr"), recvmsg(rfd, bad, MSG_DONTWAIT), NULL);
    LOG(NAME("recv bad pointer"), recv(rfd, bad, 10, MSG_DONTWAIT), NULL);
    LOG(NAME("recv DONTWAIT empty"), recv(rfd, buf, 10, MSG_DONTWAIT), buf);
    LOG(NAME("send 0 bytes"), send(wfd, "", 0, 0), NULL);
#undef NAME
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    errno = EDOM;
    signal(SIGPIPE, SIG_IGN);

    /* pipe */
    int p[2];
    LOG("pipe", pipe(p), NULL);
    byte_calls("pipe", p[1], p[0], 1);

    /* regular file */
    char path[] = "/tmp/fo-passthrough-XXXXXX";
    int f = mkstemp(path);
    byte_calls("file", f, f, 0);
    lseek(f, 0, SEEK_SET);
    LOG("file write for sendfile", write(f, "sendfile-data", 13), NULL);

    /* eventfd */
    int ev = eventfd(0, 0);
    uint64_t one = 1;
    LOG("eventfd write", write(ev, &one, 8), NULL);
    LOG("eventfd read", read(ev, buf, 8), buf);
    LOG("eventfd short read", read(ev, buf, 4), NULL);

    /* UNIX stream socketpair and UDP */
    int u[2];
    LOG("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, u), NULL);
    byte_calls("unix", u[0], u[1], 1);
    socket_calls("unix", u[0], u[1]);
    int d1 = socket(AF_INET, SOCK_DGRAM, 0), d2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(d2, (struct sockaddr *)&a, sizeof a);
    socklen_t alen = sizeof a;
    getsockname(d2, (struct sockaddr *)&a, &alen);
    connect(d1, (struct sockaddr *)&a, sizeof a);
    socket_calls("udp", d1, d2);

    /* TCP: the accepted side is followed; an HTTP exchange runs over it. */
    int srv, cli, lfd;
    tcp_pair(&srv, &cli, &lfd);
    const char *req = "POST /push HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    LOG("tcp client send request", send(cli, req, strlen(req), 0), NULL);
    LOG("tcp server recv PEEK", recv(srv, buf, n10, MSG_PEEK), buf);
    LOG("tcp server __read_chk", read(srv, buf, n20), buf);
    LOG("tcp server __recv_chk", recv(srv, buf, nbig, 0), buf);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n";
    LOG("tcp server write head", write(srv, head, strlen(head)), NULL);
    off_t off = 0;
    LOG("tcp server sendfile body", sendfile(srv, f, &off, 13), NULL);
    LOG("tcp client read response", recv(cli, buf, strlen(head) + 13, MSG_WAITALL), buf);
    socket_calls("tcp client->server", cli, srv);
    socket_calls("tcp server->client", srv, cli);

    /* EINTR: a blocking read interrupted by a signal without SA_RESTART. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    ualarm(50000, 0);
    LOG("tcp server read EINTR", read(srv, buf, 10), buf);

    /* fd bookkeeping */
    int dd = dup(srv);
    LOG("dup", dd >= 0 ? 0 : -1, NULL);
    LOG("dup2 onto itself", dup2(srv, srv) == srv ? 0 : -1, NULL);
    LOG("dup3 onto itself", dup3(srv, srv, 0), NULL);
    LOG("dup2 onto dup", dup2(p[0], dd) == dd ? 0 : -1, NULL);
    LOG("close dup", close(dd), NULL);
    LOG("shutdown SHUT_WR", shutdown(srv, SHUT_WR), NULL);
    LOG("client reads EOF", read(cli, buf, 10), buf);
    LOG("shutdown bad how", shutdown(srv, 42), NULL);
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    LOG("accept nothing pending", accept(lfd, NULL, NULL), NULL);
    LOG("accept4 bad flags", accept4(lfd, NULL, NULL, -1), NULL);
    LOG("close", close(srv), NULL);
    LOG("close again", close(srv), NULL);
    LOG("read closed", read(srv, buf, 1), NULL);
    LOG("write closed", write(srv, "x", 1), NULL);
    LOG("read -1", read(-1, buf, 1), NULL);
    LOG("write huge fd", write(1 << 30, buf, 1), NULL);
    LOG("recv on pipe", recv(p[0], buf, 1, 0), NULL);
    LOG("sendfile to pipe", sendfile(p[1], f, &off, 0), NULL);
    LOG("listen on pipe", listen(p[0], 1), NULL);
    LOG("connect bad fd", connect(-5, (struct sockaddr *)&a, sizeof a), NULL);
    LOG("open missing", open("/nonexistent/x", O_RDONLY), NULL);
    LOG("openat missing", openat(AT_FDCWD, "/nonexistent/x", O_RDONLY), NULL);
    int o = open(path, O_RDONLY | O_CLOEXEC);
    LOG("open existing", o >= 0 ? 0 : -1, NULL);
    LOG("read file again", read(o, buf, sizeof buf), buf);
    LOG("pipe2 bad flags", pipe2(p, -1), NULL);
    LOG("eventfd bad flags", eventfd(0, -1), NULL);
    LOG("epoll_create1 bad flags", epoll_create1(-1), NULL);
    LOG("socket bad domain", socket(12345, SOCK_STREAM, 0), NULL);
    unlink(path);
    close(cli);
    close(lfd);
    return 0;
}

/*
 * c_server.c - a minimal HTTP/1.1 server for tests: blocking sockets,
 * keep-alive, "Content-Length" responses. Modes:
 *   plain    one connection at a time
 *   vfork    before answering, vfork a child that closes the connection's fd
 *            and exits, as a subprocess launcher would (a vfork child shares
 *            the parent's memory until it execs or exits)
 *   fork     before answering, fork a child that forks a grandchild; the
 *            grandchild calls exit() (destructors run), the child _exit()s
 *   threads  a thread per connection
 *   signals  like threads, while a SIGUSR1 handler writes to a wake-up pipe
 *            (as CPython and libuv do) that the main thread drains
 *   duplex   per connection, one thread reads requests while another thread
 *            writes the responses on the same fd (as HTTP/2 servers do)
 * Usage: c_server PORT MODE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { PLAIN, VFORK, FORK, THREADS, SIGNALS, DUPLEX };

static int mode;
static volatile sig_atomic_t stop;
static int wake[2];

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void on_usr1(int sig)
{
    (void)sig;
    int saved = errno;
    ssize_t w = write(wake[1], "!", 1); /* an interposed call in a handler */
    (void)w;
    errno = saved;
}

struct conn {
    int fd;
    char buf[8192];
    size_t have;
};

static void before_answer(struct conn *c)
{
    if (mode == VFORK) {
        pid_t pid = vfork();
        if (pid == 0) {
            close(c->fd);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    } else if (mode == FORK) {
        pid_t pid = fork();
        if (pid == 0) {
            pid_t g = fork();
            if (g == 0)
                exit(0);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
}

static void serve(struct conn *c)
{
    for (;;) {
        char *end;
        while ((end = memmem(c->buf, c->have, "\r\n\r\n", 4)) == NULL) {
            if (c->have == sizeof c->buf)
                return;
            ssize_t r = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
            if (r <= 0)
                return;
            c->have += (size_t)r;
        }
        size_t used = (size_t)(end + 4 - c->buf);
        before_answer(c);
        const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
        if (write(c->fd, resp, strlen(resp)) < 0)
            return;
        memmove(c->buf, c->buf + used, c->have - used);
        c->have -= used;
    }
}

/* duplex: the reader queues request numbers, the writer answers request N
 * with status 200 + N % 3, so a mixed-up pairing is visible. */
struct duplex {
    int fd;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int pending, done;
    int nums[1024];
    unsigned head, tail;
};

static void *duplex_writer(void *arg)
{
    struct duplex *d = arg;
    char resp[128];
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (d->pending == 0 && !d->done)
            pthread_cond_wait(&d->cond, &d->lock);
        if (d->pending == 0)
            break;
        d->pending--;
        int num = d->nums[d->head++ % 1024];
        pthread_mutex_unlock(&d->lock);
        int n = snprintf(resp, sizeof resp, "HTTP/1.1 %d OK\r\nContent-Length: 3\r\n\r\nok\n",
                         200 + (num >= 0 ? num % 3 : 0));
        ssize_t w = write(d->fd, resp, (size_t)n);
        pthread_mutex_lock(&d->lock);
        if (w < 0)
            break;
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static void *duplex_reader(void *arg)
{
    struct conn *c = arg;
    struct duplex d = {.fd = c->fd, .lock = PTHREAD_MUTEX_INITIALIZER,
                       .cond = PTHREAD_COND_INITIALIZER};
    pthread_t w;
    pthread_create(&w, NULL, duplex_writer, &d);
    for (;;) {
        char *end;
        while ((end = memmem(c->buf, c->have, "\r\n\r\n", 4)) == NULL) {
            ssize_t r = c->have < sizeof c->buf
                            ? read(c->fd, c->buf + c->have, sizeof c->buf - c->have) : -1;
            if (r <= 0)
                goto out;
            c->have += (size_t)r;
        }
        size_t used = (size_t)(end + 4 - c->buf);
        int num = -1; /* "GET /dN ..." */
        if (c->have > 6 && memcmp(c->buf, "GET /d", 6) == 0)
            num = atoi(c->buf + 6);
        memmove(c->buf, c->buf + used, c->have - used);
        c->have -= used;
        pthread_mutex_lock(&d.lock);
        d.nums[d.tail++ % 1024] = num;
        d.pending++;
        pthread_cond_signal(&d.cond);
        pthread_mutex_unlock(&d.lock);
    }
out:
    pthread_mutex_lock(&d.lock);
    d.done = 1;
    pthread_cond_signal(&d.cond);
    pthread_mutex_unlock(&d.lock);
    pthread_join(w, NULL);
    close(c->fd);
    free(c);
    return NULL;
}

static void *conn_thread(void *arg)
{
    struct conn *c = arg;
    serve(c);
    close(c->fd);
    free(c);
    return NULL;
}

static struct conn vfork_conn; /* static: a vfork child shares this memory */

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *modes[] = {"plain", "vfork", "fork", "threads", "signals", "duplex"};
    for (int i = 0; i < 6; i++)
        if (strcmp(argv[2], modes[i]) == 0)
            mode = i;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term; /* no SA_RESTART: accept returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    if (mode == SIGNALS) {
        if (pipe2(wake, O_NONBLOCK | O_CLOEXEC) != 0)
            return 1;
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
    }
    /* Connection threads are created below with SIGUSR1 open; the main
     * thread blocks it afterwards, so the storm lands on threads in the
     * middle of their reads and writes. */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0)
        return 1;
    while (!stop) {
        if (mode == SIGNALS) { /* drain the wake-up pipe between accepts */
            char junk[256];
            while (read(wake[0], junk, sizeof junk) > 0)
                ;
        }
        /* Poll, so SIGTERM is noticed even where accept is restarted. */
        struct pollfd p = {lfd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (mode == SIGNALS) /* threads inherit an open mask; main then blocks */
            pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
        if (mode == THREADS || mode == SIGNALS || mode == DUPLEX) {
            struct conn *c = calloc(1, sizeof *c);
            c->fd = fd;
            pthread_t t;
            if (pthread_create(&t, NULL, mode == DUPLEX ? duplex_reader : conn_thread, c) == 0)
                pthread_detach(t);
            if (mode == SIGNALS)
                pthread_sigmask(SIG_BLOCK, &usr1, NULL);
            continue;
        }
        struct conn *c = mode == VFORK ? &vfork_conn : calloc(1, sizeof *c);
        c->fd = fd;
        c->have = 0;
        serve(c);
        close(fd);
        if (c != &vfork_conn)
            free(c);
    }
    close(lfd);
    return 0;
}

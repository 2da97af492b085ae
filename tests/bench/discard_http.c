/*
 * discard_http.c - an OTLP/HTTP collector for the benchmark that takes every
 * export and throws it away: keep-alive, a thread per connection, the body
 * read by its Content-Length and answered 200 with an empty body (an empty
 * Export*ServiceResponse). Written in C so that, on a machine of two cores,
 * receiving costs the host under test as little as possible.
 *
 * usage: discard_http  (prints its port; on SIGTERM prints "requests N")
 */
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static atomic_long requests;

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
                            "Content-Length: 0\r\n\r\n";

static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    static __thread char buf[1 << 16];
    size_t have = 0;
    for (;;) {
        char *end;
        while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
            if (have == sizeof buf)
                goto out;
            ssize_t r = read(fd, buf + have, sizeof buf - have);
            if (r <= 0)
                goto out;
            have += (size_t)r;
        }
        size_t head = (size_t)(end + 4 - buf);
        long body = 0;
        /* Every line of the head ends in CRLF, the last one at end. */
        for (char *p = buf; p < end; p = (char *)memmem(p, (size_t)(end + 2 - p), "\r\n", 2) + 2)
            if ((size_t)(end - p) > 15 && strncasecmp(p, "content-length:", 15) == 0)
                body = strtol(p + 15, NULL, 10);
        size_t in_buf = have - head < (size_t)body ? have - head : (size_t)body;
        body -= (long)in_buf;
        memmove(buf, buf + head + in_buf, have - head - in_buf);
        have -= head + in_buf;
        while (body > 0) {
            ssize_t r = read(fd, buf, (size_t)body < sizeof buf ? (size_t)body : sizeof buf);
            if (r <= 0)
                goto out;
            body -= r;
        }
        atomic_fetch_add(&requests, 1);
        if (write(fd, reply, sizeof reply - 1) < 0)
            goto out;
    }
out:
    close(fd);
    return NULL;
}

static void on_term(int sig)
{
    (void)sig;
    char line[64];
    int n = snprintf(line, sizeof line, "requests %ld\n", atomic_load(&requests));
    ssize_t w = write(1, line, (size_t)n);
    (void)w;
    _exit(0);
}

int main(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &len) != 0) {
        perror("discard_http");
        return 1;
    }
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(long)fd) != 0)
            close(fd);
        else
            pthread_detach(t);
    }
}

/*
 * c_server.c - a minimal HTTP/1.1 server for tests: one thread, blocking
 * sockets, keep-alive, "Content-Length" responses. Modes:
 *   plain  answer every request with 200
 *   vfork  before answering, vfork a child that closes the connection's fd
 *          and exits, as a subprocess launcher would (a vfork child shares
 *          the parent's memory until it execs or exits)
 * Usage: c_server PORT MODE [MAX_CONNECTIONS]
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void serve(int fd, int use_vfork)
{
    static char buf[8192];
    static size_t have; /* static: a vfork child shares this frame */
    have = 0;
    for (;;) {
        char *end;
        while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
            ssize_t r = read(fd, buf + have, sizeof buf - have);
            if (r <= 0)
                return;
            have += (size_t)r;
        }
        size_t used = (size_t)(end + 4 - buf);
        if (use_vfork) {
            pid_t pid = vfork();
            if (pid == 0) {
                close(fd);
                _exit(0);
            }
            waitpid(pid, NULL, 0);
        }
        const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
        if (write(fd, resp, strlen(resp)) < 0)
            return;
        memmove(buf, buf + used, have - used);
        have -= used;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int use_vfork = strcmp(argv[2], "vfork") == 0;
    long max = argc > 3 ? atol(argv[3]) : -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term; /* no SA_RESTART: accept returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 16) != 0)
        return 1;
    while (!stop && max != 0) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(fd, use_vfork);
        close(fd);
        if (max > 0)
            max--;
    }
    close(lfd);
    return 0;
}

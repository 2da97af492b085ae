/* test_conn.c - the connection table: following, forgetting, and one slot
 * never entered twice at once (a signal handler or a second thread finding
 * it busy stops following the connection instead). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "exporter/exporter.h"
#include "preload/conn.h"

static int sv[2];

static void setup(void)
{
    struct fo_config cfg;
    fo_config_defaults(&cfg);
    cfg.traces_exporters = cfg.metrics_exporters = 0;
    cr_assert_eq(fo_exporter_init(&cfg), 0);
    cr_assert_eq(fo_conn_init(64), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    fo_conn_on_accept(sv[0], (struct sockaddr *)&peer, sizeof peer);
}

TestSuite(conn, .init = setup);

static void feed_read(int fd, const char *s)
{
    struct iovec iov = {(void *)s, strlen(s)};
    fo_conn_on_read(fd, &iov, 1, (ssize_t)iov.iov_len);
}

Test(conn, accepted_inet_connections_are_followed_others_are_not)
{
    cr_assert(fo_conn_followed(sv[0]));
    cr_assert(!fo_conn_followed(sv[1]));
    struct sockaddr_un {
        sa_family_t f;
        char p[108];
    } unix_peer = {AF_UNIX, ""};
    fo_conn_on_accept(sv[1], (struct sockaddr *)&unix_peer, sizeof unix_peer);
    cr_assert(!fo_conn_followed(sv[1]), "only AF_INET and AF_INET6 are followed");
}

Test(conn, a_new_fd_number_forgets_and_close_detaches)
{
    feed_read(sv[0], "GET / HTTP/1.1\r\n");
    fo_conn_forget(sv[0]);
    cr_assert(!fo_conn_followed(sv[0]));
    struct sockaddr_in peer = {.sin_family = AF_INET};
    fo_conn_on_accept(sv[0], (struct sockaddr *)&peer, sizeof peer);
    cr_assert(fo_conn_followed(sv[0]));
    fo_conn_on_close(sv[0], SHUT_RD);
    cr_assert(fo_conn_followed(sv[0]), "SHUT_RD leaves the response side open");
    fo_conn_on_close(sv[0], SHUT_RDWR);
    cr_assert(!fo_conn_followed(sv[0]));
}

Test(conn, connections_that_come_and_go_reuse_the_lowest_free_slot)
{
    /* The memory a process touches follows how many connections are open
     * at once, not how many there have been: with slots taken in turn, a
     * server's RSS grew with every new connection until the pool was used. */
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    fo_conn_on_accept(sv[1], (struct sockaddr *)&peer, sizeof peer);
    struct fo_conn *first = atomic_load(&fo_conn_table[sv[1]]);
    cr_assert_not_null(first);
    cr_assert_neq(first, atomic_load(&fo_conn_table[sv[0]]));
    for (int i = 0; i < 1000; i++) {
        fo_conn_on_close(sv[1], SHUT_RDWR);
        fo_conn_on_accept(sv[1], (struct sockaddr *)&peer, sizeof peer);
        cr_assert_eq(atomic_load(&fo_conn_table[sv[1]]), first, "connection %d", i);
    }
    /* A slot freed below the others is the next one taken. */
    int fd2 = dup(sv[1]);
    fo_conn_on_accept(fd2, (struct sockaddr *)&peer, sizeof peer);
    struct fo_conn *second = atomic_load(&fo_conn_table[fd2]);
    fo_conn_on_close(sv[0], SHUT_RDWR);
    int fd3 = dup(sv[1]);
    fo_conn_on_accept(fd3, (struct sockaddr *)&peer, sizeof peer);
    cr_assert_lt(atomic_load(&fo_conn_table[fd3]), first);
    cr_assert_neq(atomic_load(&fo_conn_table[fd3]), second);
    close(fd2);
    close(fd3);
}

Test(conn, bytes_that_are_not_http_stop_following)
{
    feed_read(sv[0], "\x16\x03\x01\x02\x00\x01\x00");
    cr_assert(!fo_conn_followed(sv[0]));
}

static volatile sig_atomic_t inside, hits;

static void on_alarm(int sig)
{
    (void)sig;
    if (inside) {
        hits++;
        /* An interposed read in a handler, on the very fd being parsed. */
        struct iovec iov = {(void *)"x", 1};
        fo_conn_on_read(sv[0], &iov, 1, 1);
    }
}

Test(conn, a_handler_finding_the_slot_busy_stops_following_instead_of_entering)
{
    size_t n = 200000;
    size_t len = 16 + n * 6;
    char *big = malloc(len + 1);
    memcpy(big, "GET / HTTP/1.1\r\n", 16);
    for (size_t i = 0; i < n; i++)
        memcpy(big + 16 + i * 6, "X: 1\r\n", 6);
    big[len] = '\0';

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 100}, {0, 100}};
    setitimer(ITIMER_REAL, &it, NULL);
    for (int round = 0; round < 50 && hits == 0; round++) {
        inside = 1;
        struct iovec iov = {big, len};
        fo_conn_on_read(sv[0], &iov, 1, (ssize_t)len);
        inside = 0;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    free(big);
    cr_assert_gt(hits, 0, "no signal landed while the slot was held");
    cr_assert(!fo_conn_followed(sv[0]),
              "a handler entered a slot its own thread was inside of");
}

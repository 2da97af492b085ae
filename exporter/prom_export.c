/* prom_export.c - publishing to and serving the shared exposition (see prom_export.h). */
#include "prom_export.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "preload/real.h"
#include "prom.h"

#define PUBLISH_NS 1000000000u
#define BIND_RETRY_NS 1000000000u
#define SCRAPE_MS 1000
#define PAGE_MAX (1u << 20)

enum { FAM_CPU = FO_FF_FAMILIES, FAM_MEM, N_FAMS };

static struct fo_prom_family families[N_FAMS];
static int listen_fd = -1;
static uint64_t next_publish_ns, next_bind_ns;

int fo_prom_export_init(void)
{
    for (int f = 0; f < FO_FF_FAMILIES; f++) {
        const struct fo_feast_family_desc *d = &fo_feast_families[f];
        families[f] = (struct fo_prom_family){d->prom_name, d->help,
                                              d->histogram ? FO_PROM_HISTOGRAM : FO_PROM_COUNTER,
                                              d->n_bounds, d->bounds};
    }
    families[FAM_CPU] = (struct fo_prom_family){
        "feast_feature_server_cpu_usage",
        "CPU usage of the process in percent of one CPU since the previous sample.",
        FO_PROM_GAUGE, 0, NULL};
    families[FAM_MEM] = (struct fo_prom_family){
        "feast_feature_server_memory_usage",
        "Resident memory of the process in percent of the machine's memory.", FO_PROM_GAUGE, 0,
        NULL};
    return fo_prom_init(families, N_FAMS);
}

static size_t build(struct fo_prom_sample *out, size_t cap, const struct fo_feast_metrics *fm,
                    const struct fo_proc_sample *ps)
{
    size_t n = 0;
    for (size_t i = 0; i < fm->n_series && n < cap; i++) {
        const struct fo_feast_series *s = &fm->series[i];
        const struct fo_feast_family_desc *d = &fo_feast_families[s->family];
        struct fo_prom_sample *p = &out[n];
        memset(p, 0, sizeof *p);
        p->family = s->family;
        int len = 0;
        for (int l = 0; l < d->n_labels && len >= 0; l++) {
            if (s->values[l][0] == '\0')
                continue;
            len += snprintf(p->labels + len, sizeof p->labels - (size_t)len, "%s%s=\"",
                            len > 0 ? "," : "", d->labels[l]);
            if ((size_t)len >= sizeof p->labels)
                len = -1;
            if (len >= 0)
                len = fo_prom_escape(p->labels, (size_t)len, sizeof p->labels, s->values[l],
                                     strlen(s->values[l]));
            if (len >= 0 && (size_t)len + 2 < sizeof p->labels)
                p->labels[len++] = '"';
            else
                len = -1;
        }
        if (len < 0)
            continue; /* labels too long to expose */
        p->labels_len = (uint16_t)len;
        p->value = (double)s->count;
        p->count = s->count;
        p->sum = s->sum;
        for (int b = 0; b <= d->n_bounds && b <= FO_PROM_BUCKETS_MAX; b++)
            p->buckets[b] = s->buckets[b];
        n++;
    }
    /* Gauges of the processes that serve requests, as Feast's workers
     * report theirs; a pre-fork master that only listens has none. */
    if (fm->n_series > 0 && ps != NULL && ps->time_ns != 0 && n + 2 <= cap) {
        memset(&out[n], 0, 2 * sizeof *out);
        out[n].family = FAM_CPU;
        out[n++].value = ps->cpu_percent;
        out[n].family = FAM_MEM;
        out[n++].value = ps->mem_percent;
    }
    return n;
}

static void try_bind(const struct fo_config *cfg)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[8];
    snprintf(port, sizeof port, "%u", cfg->prometheus_port);
    if (getaddrinfo(cfg->prometheus_host, port, &hints, &res) != 0)
        return;
    for (struct addrinfo *ai = res; ai != NULL && listen_fd < 0; ai = ai->ai_next) {
        int fd = fo_real.socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && fo_real.listen(fd, 16) == 0) {
            listen_fd = fd;
            fo_log(FO_LOG_DEBUG, "prom_serve", "pid %d serves Prometheus metrics on %s:%s",
                   (int)getpid(), cfg->prometheus_host, port);
        } else {
            fo_real.close(fd);
        }
    }
    freeaddrinfo(res);
}

/* One scrape: read the request head, answer, close. */
static void serve(int fd)
{
    static char page[PAGE_MAX];
    char req[4096];
    size_t got = 0;
    uint64_t deadline = fo_net_now_ns() + (uint64_t)SCRAPE_MS * 1000000u;
    while (got < sizeof req - 1) {
        ssize_t r = fo_net_recv_some(fd, req + got, sizeof req - 1 - got, deadline);
        if (r <= 0)
            return;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL)
            break;
    }
    int get = strncmp(req, "GET ", 4) == 0 || strncmp(req, "HEAD ", 5) == 0;
    ssize_t n = get ? fo_prom_render(page, sizeof page) : -EINVAL;
    char head[256];
    int hl;
    if (n >= 0)
        hl = snprintf(head, sizeof head,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
                      "charset=utf-8\r\nContent-Length: %zd\r\nConnection: close\r\n\r\n", n);
    else
        hl = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Length: 0\r\n"
                      "Connection: close\r\n\r\n", get ? "503 Service Unavailable" :
                      "405 Method Not Allowed");
    int body = n > 0 && strncmp(req, "HEAD ", 5) != 0;
    if (fo_net_send_all(fd, head, (size_t)hl, body, deadline) == 0 && body)
        fo_net_send_all(fd, page, (size_t)n, 0, deadline);
}

void fo_prom_export_tick(const struct fo_config *cfg, const struct fo_feast_metrics *fm,
                         const struct fo_proc_sample *ps, int final)
{
    if (!fo_prom_enabled())
        return;
    uint64_t now = fo_net_now_ns();
    if (final || now >= next_publish_ns) {
        static struct fo_prom_sample samples[FO_PROM_SAMPLES];
        size_t n = build(samples, FO_PROM_SAMPLES, fm, ps);
        if (fo_prom_publish(samples, n) != 0)
            fo_log(FO_LOG_ERROR, "prom_slots", "Prometheus: more than %d processes at once; "
                   "this one's metrics are not shown", FO_PROM_SLOTS);
        next_publish_ns = now + PUBLISH_NS;
    }
    if (final)
        return;
    if (listen_fd < 0 && now >= next_bind_ns) {
        try_bind(cfg);
        next_bind_ns = now + BIND_RETRY_NS;
    }
    for (int i = 0; listen_fd >= 0 && i < 4; i++) {
        int fd = fo_real.accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        serve(fd);
        fo_real.close(fd);
    }
}

void fo_prom_export_close(void)
{
    if (listen_fd >= 0)
        fo_real.close(listen_fd);
    listen_fd = -1;
}

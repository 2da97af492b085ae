/*
 * exporter_load.c - drives the exporter thread alone, for the benchmark.
 *
 * The library's core is linked in, configured from the OTEL_* environment
 * as in a host, and request records are put into its ring the way the hooks
 * put them there, at a set rate: the exporter turns them into spans and
 * metrics and ships them. No host thread parses anything, so what is
 * measured is the exporter's own work per span and its throughput.
 *
 * usage: exporter_load RECORDS RATE MODE
 *   RATE  records per second; 0 = as fast as the ring takes them
 *   MODE  wait: when the ring is full, wait for room (nothing is lost at
 *         the ring; used for instruction counts); drop: count it as a host
 *         would (records.dropped{reason=ring_full})
 * Prints one line: records offered, ring-full drops, and the seconds from
 * the first record until the exporter's exit flush ended.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "exporter/clock.h"
#include "exporter/config.h"
#include "exporter/exporter.h"
#include "preload/real.h"
#include "preload/record.h"

static const char *env(const char *name)
{
    return getenv(name);
}

static uint64_t mono_ns(void)
{
    return fo_clock_ns(CLOCK_MONOTONIC);
}

static void pause_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* Ticks of the library's clock per nanosecond: records carry ticks. */
static double ticks_per_ns = 1.0;

static void fill(struct fo_record *r, uint64_t now_tick, long i)
{
    static const char target[] = "/get-online-features";
    static const char ua[] = "python-requests/2.28.1";
    memset(r, 0, sizeof *r);
    double ns = 1500000.0 + (double)(i % 7) * 100000.0;
    r->http.start_tick = now_tick - (uint64_t)(ns * ticks_per_ns);
    r->http.end_tick = now_tick;
    r->http.status = i % 50 == 0 ? 500 : 200;
    r->http.method_len = 4;
    memcpy(r->http.method, "POST", 4);
    r->http.target_len = sizeof target - 1;
    memcpy(r->http.target, target, sizeof target - 1);
    r->http.ua_len = sizeof ua - 1;
    memcpy(r->http.user_agent, ua, sizeof ua - 1);
    r->http.version_minor = 1;
    r->feast.kind = 0;
    r->peer_family = AF_INET;
    r->peer_addr[0] = 127;
    r->peer_addr[3] = 1;
    r->peer_port = (uint16_t)(40000 + i % 1000);
    r->local_port = 6566;
    r->scheme = FO_SCHEME_HTTP;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s RECORDS RATE wait|drop\n", argv[0]);
        return 2;
    }
    long n = atol(argv[1]);
    double rate = atof(argv[2]);
    int wait = strcmp(argv[3], "wait") == 0;
    static struct fo_config cfg;
    fo_config_load(&cfg, env); /* malformed values were reported and defaulted */
    if (fo_real_init() != 0 || fo_exporter_init(&cfg) != 0) {
        fprintf(stderr, "exporter_load: cannot initialise the library's core\n");
        return 1;
    }
    /* The clock as a host's hooks have it, and its rate (from the start-up
     * pair to one 20 ms later). */
    fo_clock_init((enum fo_clock_mode)cfg.clock);
    pause_us(20000);
    struct fo_clock_map clk;
    fo_clock_map_now(&clk);
    ticks_per_ns = 1.0 / clk.ns_per_tick;
    long ring_full = 0;
    uint64_t t0 = mono_ns();
    for (long i = 0; i < n; i++) {
        uint64_t now = mono_ns();
        if (rate > 0 && i % 64 == 0) {
            uint64_t due = t0 + (uint64_t)((double)i / rate * 1e9);
            while (now < due) {
                uint64_t left = (due - now) / 1000;
                pause_us(left > 1000 ? 1000 : (long)left + 1);
                now = mono_ns();
            }
        }
        struct fo_record *r = fo_ring_claim(&fo_records);
        while (r == NULL && wait) {
            pause_us(100);
            r = fo_ring_claim(&fo_records);
        }
        if (r == NULL) {
            ring_full++;
            continue;
        }
        fill(r, fo_clock_now(), i);
        fo_ring_publish(&fo_records, r);
        fo_exporter_start();
    }
    /* Until the exporter has shipped everything (its exit flush). */
    fo_exporter_shutdown();
    double secs = (double)(mono_ns() - t0) / 1e9;
    printf("records %ld ring_full %ld seconds %.3f\n", n, ring_full, secs);
    return 0;
}

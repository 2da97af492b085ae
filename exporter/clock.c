/*
 * clock.c - chooses the hooks' clock and keeps the pairs that map its ticks
 * to time (see clock.h).
 */
#include "clock.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "preload/real.h"

int fo_clock_tsc;

/* Taken at start-up: every tick converted is at or after it. */
static struct {
    uint64_t tick, mono_ns;
} first;

#if defined(__x86_64__)
/* CPUID says the counter runs at one rate in every power state. */
static int tsc_invariant(void)
{
    unsigned a, b, c, d;
    if ((unsigned)__get_cpuid_max(0x80000000u, NULL) < 0x80000007u)
        return 0;
    __cpuid(0x80000007u, a, b, c, d);
    return (d >> 8) & 1;
}

/* The kernel keeps time by the TSC. Read with the real functions: our own
 * hooks are not ready, and this is not the host's file. */
static int kernel_uses_tsc(void)
{
    int fd = fo_real.open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                          O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[16];
    ssize_t n = fo_real.read(fd, buf, sizeof buf);
    fo_real.close(fd);
    return n == 4 && memcmp(buf, "tsc\n", 4) == 0;
}

/* A process may have made RDTSC fault (prctl PR_SET_TSC). */
static int tsc_allowed(void)
{
    int v = 0;
    return prctl(PR_GET_TSC, &v, 0, 0, 0) == 0 && v == PR_TSC_ENABLE;
}
#endif

/*
 * A pair read side by side: the tick halfway between two reads of the
 * counter around the clock. Of a few tries, the tightest, so that a pair
 * split by an interrupt or a preemption is not the one kept.
 */
static void pair(uint64_t *tick, uint64_t *mono_ns)
{
#if defined(__x86_64__)
    if (fo_clock_tsc) {
        uint64_t best = UINT64_MAX;
        for (int i = 0; i < 4; i++) {
            uint64_t t0 = fo_clock_rdtsc();
            uint64_t m = fo_clock_ns(CLOCK_MONOTONIC);
            uint64_t t1 = fo_clock_rdtsc();
            if (t1 - t0 < best) {
                best = t1 - t0;
                *tick = t0 + (t1 - t0) / 2;
                *mono_ns = m;
            }
        }
        return;
    }
#endif
    *mono_ns = fo_clock_ns(CLOCK_MONOTONIC);
    *tick = *mono_ns;
}

enum fo_clock_mode fo_clock_init(enum fo_clock_mode mode)
{
    fo_clock_tsc = 0;
#if defined(__x86_64__)
    if (mode != FO_CLOCK_MONOTONIC && tsc_invariant() && tsc_allowed() &&
        (mode == FO_CLOCK_TSC || kernel_uses_tsc()))
        fo_clock_tsc = 1;
#else
    (void)mode;
#endif
    pair(&first.tick, &first.mono_ns);
    return fo_clock_tsc ? FO_CLOCK_TSC : FO_CLOCK_MONOTONIC;
}

void fo_clock_map_now(struct fo_clock_map *m)
{
    uint64_t mono;
    pair(&m->tick, &mono);
    uint64_t to_unix = fo_clock_ns(CLOCK_REALTIME) - fo_clock_ns(CLOCK_MONOTONIC);
    m->unix_ns = mono + to_unix;
    /* A map made at the first pair's tick converts only that tick, which
     * any rate maps right. */
    m->ns_per_tick = 1.0;
    if (fo_clock_tsc && m->tick > first.tick)
        m->ns_per_tick = (double)(mono - first.mono_ns) / (double)(m->tick - first.tick);
}

/*
 * clock.h - the timestamps the hooks take, and how the exporter turns them
 * into Unix nanoseconds.
 *
 * A hook takes a timestamp for every followed read and write. Where the
 * kernel keeps time by the CPU's time-stamp counter (its clock source is
 * "tsc", which it uses only when the counter runs at a constant rate and
 * agrees between CPUs), a timestamp is one RDTSC instruction: about half the
 * cost of clock_gettime's vDSO path. Elsewhere, or with
 * FEAST_OTEL_CLOCK=monotonic, it is CLOCK_MONOTONIC in nanoseconds.
 *
 * The exporter maps ticks to time by the straight line through two pairs of
 * (tick, CLOCK_MONOTONIC) read side by side: one taken at start-up, one when
 * it drains the ring. Every tick it converts lies between the two, so the
 * line puts it within the pairs' own reading error (tens of nanoseconds) of
 * the kernel's clock, however short the time between them.
 */
#ifndef FO_CLOCK_H
#define FO_CLOCK_H

#include <stdint.h>
#include <time.h>

enum fo_clock_mode {
    FO_CLOCK_AUTO,      /* the TSC where the kernel keeps time by it */
    FO_CLOCK_TSC,       /* the TSC whenever the CPU says it is invariant */
    FO_CLOCK_MONOTONIC, /* clock_gettime(CLOCK_MONOTONIC) */
};

/* Set once by fo_clock_init, before any hook is followed; read on every call. */
extern int fo_clock_tsc;

/* Clock id's time in nanoseconds: the library's one reading of a clock. */
static inline uint64_t fo_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
static inline uint64_t fo_clock_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}
#endif

/* The time now, in ticks. Async-signal-safe; no call when the TSC is used. */
static inline uint64_t fo_clock_now(void)
{
#if defined(__x86_64__)
    if (fo_clock_tsc)
        return fo_clock_rdtsc();
#endif
    return fo_clock_ns(CLOCK_MONOTONIC);
}

/*
 * Chooses the clock for mode and takes the first pair. Called once, before
 * the first timestamp; a forked child keeps its parent's choice and pair (the
 * counter is the machine's, not the process's). Returns the mode chosen:
 * FO_CLOCK_TSC or FO_CLOCK_MONOTONIC (FO_CLOCK_TSC is refused, for
 * FO_CLOCK_MONOTONIC, on a CPU without an invariant counter or in a process
 * that has made RDTSC fault).
 */
enum fo_clock_mode fo_clock_init(enum fo_clock_mode mode);

/* A line from ticks to Unix nanoseconds, valid for ticks up to its own. */
struct fo_clock_map {
    uint64_t tick;      /* when the map was made */
    uint64_t unix_ns;   /* CLOCK_REALTIME at tick */
    double ns_per_tick; /* 1 for CLOCK_MONOTONIC */
};

/* Takes a new pair and fills m with the line from the first one. */
void fo_clock_map_now(struct fo_clock_map *m);

/* Unix nanoseconds at tick t (t at most a little after m->tick). */
static inline uint64_t fo_clock_unix_ns(const struct fo_clock_map *m, uint64_t t)
{
    int64_t back = (int64_t)(m->tick - t);
    return m->unix_ns - (uint64_t)(int64_t)((double)back * m->ns_per_tick);
}

#endif

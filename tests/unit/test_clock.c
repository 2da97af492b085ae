/* test_clock.c - the hooks' timestamps and their mapping to Unix time. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exporter/clock.h"
#include "preload/real.h"

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

Test(clock, the_map_is_the_line_through_its_pair)
{
    struct fo_clock_map m = {.tick = 1000000, .unix_ns = 5000000000u, .ns_per_tick = 0.4};
    cr_assert_eq(fo_clock_unix_ns(&m, 1000000), 5000000000u);
    cr_assert_eq(fo_clock_unix_ns(&m, 990000), 5000000000u - 4000);
    cr_assert_eq(fo_clock_unix_ns(&m, 0), 5000000000u - 400000);
    /* A tick taken a little after the map (another CPU, a late record). */
    cr_assert_eq(fo_clock_unix_ns(&m, 1000100), 5000000000u + 40);
    struct fo_clock_map ns = {.tick = 7, .unix_ns = 107, .ns_per_tick = 1.0};
    cr_assert_eq(fo_clock_unix_ns(&ns, 3), 103);
}

/* In every mode: ticks taken around two instants map to Unix times within
 * what the test's own clock saw, and the time between them is kept. */
static void check_mode(enum fo_clock_mode mode)
{
    cr_assert_eq(fo_real_init(), 0);
    enum fo_clock_mode got = fo_clock_init(mode);
    cr_assert(got == FO_CLOCK_TSC || got == FO_CLOCK_MONOTONIC);
    if (mode == FO_CLOCK_MONOTONIC)
        cr_assert_eq(got, FO_CLOCK_MONOTONIC);
    cr_assert_eq(fo_clock_tsc, got == FO_CLOCK_TSC);
    pause_ms(5);
    uint64_t r0 = realtime_ns();
    uint64_t t0 = fo_clock_now();
    uint64_t r0b = realtime_ns();
    pause_ms(120);
    uint64_t r1 = realtime_ns();
    uint64_t t1 = fo_clock_now();
    uint64_t r1b = realtime_ns();
    cr_assert_gt(t1, t0);
    struct fo_clock_map m;
    fo_clock_map_now(&m);
    uint64_t u0 = fo_clock_unix_ns(&m, t0), u1 = fo_clock_unix_ns(&m, t1);
    /* 50 us either way: the pairs are good to well under a microsecond;
     * the rest is room for a preempted test. */
    cr_assert(u0 + 50000 >= r0 && u0 <= r0b + 50000, "mode %d: %lu not in [%lu, %lu]", got,
              (unsigned long)u0, (unsigned long)r0, (unsigned long)r0b);
    cr_assert(u1 + 50000 >= r1 && u1 <= r1b + 50000, "mode %d: %lu not in [%lu, %lu]", got,
              (unsigned long)u1, (unsigned long)r1, (unsigned long)r1b);
    cr_assert_geq(u1 - u0, 120000000u);
}

Test(clock, monotonic)
{
    check_mode(FO_CLOCK_MONOTONIC);
    cr_assert_eq(fo_clock_tsc, 0);
}

Test(clock, automatic)
{
    check_mode(FO_CLOCK_AUTO);
}

Test(clock, tsc)
{
    check_mode(FO_CLOCK_TSC);
}

/* Does the first line of path, or any line, hold word? */
static int file_has(const char *path, const char *word, int first_line_only)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int found = 0;
    while (f != NULL && !found && fgets(line, sizeof line, f) != NULL) {
        found = strstr(line, word) != NULL;
        if (first_line_only)
            break;
    }
    if (f != NULL)
        fclose(f);
    return found;
}

/* The machine's own choice: the TSC exactly when the kernel keeps time by it
 * and the kernel says it is invariant (the nonstop_tsc flag). */
Test(clock, auto_follows_the_kernel)
{
    cr_assert_eq(fo_real_init(), 0);
    int kernel = file_has("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                          "tsc\n", 1);
    int invariant = file_has("/proc/cpuinfo", " nonstop_tsc", 0);
    enum fo_clock_mode got = fo_clock_init(FO_CLOCK_AUTO);
#if defined(__x86_64__)
    cr_assert_eq(got == FO_CLOCK_TSC, kernel && invariant, "clock source tsc: %d, invariant: %d",
                 kernel, invariant);
#else
    cr_assert_eq(got, FO_CLOCK_MONOTONIC);
#endif
}

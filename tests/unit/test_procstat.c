/* test_procstat.c - /proc samples: plausible values, psutil's percentages,
 * and files read only through the real libc table. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "exporter/procstat.h"
#include "preload/real.h"

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Burns at least s seconds of this thread's CPU time. */
static void burn(double s)
{
    volatile uint64_t x = 1;
    double until = cpu_seconds() + s;
    while (cpu_seconds() < until)
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005u + 1;
}

Test(procstat, values_are_plausible)
{
    struct fo_proc_sample s;
    cr_assert_eq(fo_procstat_sample(&s, NULL), 0);
    cr_assert_gt(s.time_ns, 0);
    cr_assert_gt(s.rss_bytes, 0);
    cr_assert_geq(s.vm_bytes, s.rss_bytes);
    cr_assert_geq(s.threads, 1);
    cr_assert_geq(s.cpu_user_s + s.cpu_system_s, 0);
    cr_assert_eq(s.cpu_percent, 0.0, "no previous sample: 0, as psutil's first call");
    /* psutil's memory_percent: RSS over MemTotal (sysinfo's totalram). */
    struct sysinfo si;
    cr_assert_eq(sysinfo(&si), 0);
    double total = (double)si.totalram * si.mem_unit;
    cr_assert_float_eq(s.mem_percent, 100.0 * (double)s.rss_bytes / total,
                       1e-6 * s.mem_percent + 1e-9);
    cr_assert_gt(s.mem_percent, 0);
    cr_assert_lt(s.mem_percent, 100);
}

Test(procstat, cpu_time_and_percent_follow_the_work)
{
    struct fo_proc_sample a, b;
    cr_assert_eq(fo_procstat_sample(&a, NULL), 0);
    burn(0.3);
    cr_assert_eq(fo_procstat_sample(&b, &a), 0);
    double cpu = (b.cpu_user_s + b.cpu_system_s) - (a.cpu_user_s + a.cpu_system_s);
    /* Clock ticks are 10 ms: allow a few of them. */
    cr_assert_geq(cpu, 0.25, "cpu time grew by %f s", cpu);
    cr_assert_gt(b.cpu_user_s, a.cpu_user_s);
    double wall = (double)(b.time_ns - a.time_ns) / 1e9;
    cr_assert_float_eq(b.cpu_percent, 100.0 * cpu / wall, 1e-9);
    /* One busy thread: percent of one CPU, near 100 unless the machine is
     * so loaded that this thread waited (then lower, never higher). */
    cr_assert_gt(b.cpu_percent, 10.0, "%f", b.cpu_percent);
    cr_assert_lt(b.cpu_percent, 115.0, "%f", b.cpu_percent);
}

static void *spin(void *arg)
{
    burn(*(double *)arg);
    return NULL;
}

Test(procstat, percent_of_one_cpu_passes_100_with_busy_threads)
{
    if (sysconf(_SC_NPROCESSORS_ONLN) < 3)
        cr_skip_test("needs 3 CPUs");
    struct fo_proc_sample a, b;
    cr_assert_eq(fo_procstat_sample(&a, NULL), 0);
    pthread_t t[3];
    double s = 0.4;
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, spin, &s);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(fo_procstat_sample(&b, &a), 0);
    /* 1.2 s of CPU in about 0.4 s of wall time when the CPUs are free. */
    cr_assert_gt(b.cpu_percent, 100.0, "%f", b.cpu_percent);
}

static void *wait_on(void *arg)
{
    pthread_mutex_lock(arg);
    pthread_mutex_unlock(arg);
    return NULL;
}

Test(procstat, threads_and_rss_track_the_process)
{
    struct fo_proc_sample a, b;
    cr_assert_eq(fo_procstat_sample(&a, NULL), 0);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, wait_on, &mu);
    size_t big = (size_t)64 << 20;
    char *p = malloc(big);
    cr_assert_not_null(p);
    memset(p, 1, big);
    cr_assert_eq(fo_procstat_sample(&b, &a), 0);
    cr_assert_eq(b.threads, a.threads + 2);
    cr_assert_geq(b.rss_bytes, a.rss_bytes + big - ((size_t)4 << 20));
    cr_assert_geq(b.vm_bytes, a.vm_bytes + big);
    cr_assert_gt(b.mem_percent, a.mem_percent);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    free(p);
}

Test(procstat, zeroed_or_newer_prev_gives_zero_percent_and_prev_may_be_out)
{
    struct fo_proc_sample s, zero = {0};
    burn(0.05);
    cr_assert_eq(fo_procstat_sample(&s, &zero), 0);
    cr_assert_eq(s.cpu_percent, 0.0, "a failed (zeroed) sample is no reference");
    struct fo_proc_sample future = s;
    future.time_ns += 1000000000000u;
    cr_assert_eq(fo_procstat_sample(&s, &future), 0);
    cr_assert_eq(s.cpu_percent, 0.0);
    burn(0.05);
    cr_assert_eq(fo_procstat_sample(&s, &s), 0, "in place");
    cr_assert_gt(s.cpu_percent, 0.0);
}

/* The real open, counted, and made to fail on demand. */
static int (*real_open)(const char *, int, ...);
static int opens, fail_opens;
static char opened[4][64];

static int counting_open(const char *path, int flags, ...)
{
    if (opens < 4)
        strncpy(opened[opens], path, sizeof opened[0] - 1);
    opens++;
    if (fail_opens) {
        errno = EACCES;
        return -1;
    }
    return real_open(path, flags);
}

Test(procstat, reads_proc_through_the_real_libc_table)
{
    cr_assert_eq(fo_real_init(), 0);
    real_open = fo_real.open;
    fo_real.open = counting_open;
    struct fo_proc_sample s;
    cr_assert_eq(fo_procstat_sample(&s, NULL), 0);
    cr_assert_eq(opens, 3, "stat, statm, meminfo");
    cr_assert_str_eq(opened[0], "/proc/self/stat");
    cr_assert_str_eq(opened[1], "/proc/self/statm");
    cr_assert_str_eq(opened[2], "/proc/meminfo");
    cr_assert_eq(fo_procstat_sample(&s, NULL), 0);
    cr_assert_eq(opens, 5, "MemTotal is read once");

    fail_opens = 1;
    s.threads = 99;
    cr_assert_eq(fo_procstat_sample(&s, NULL), -EACCES);
    cr_assert_eq(s.threads, 0, "a failed sample is all zero");
    cr_assert_eq(s.time_ns, 0);
    fo_real.open = real_open;
}

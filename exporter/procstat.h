/*
 * procstat.h - samples of this process's CPU, memory and threads from /proc,
 * with the meaning of Feast's psutil gauges for cpu and memory percent.
 */
#ifndef FO_PROCSTAT_H
#define FO_PROCSTAT_H

#include <stdint.h>

struct fo_proc_sample {
    uint64_t time_ns; /* CLOCK_MONOTONIC when taken */
    double cpu_user_s, cpu_system_s;
    uint64_t rss_bytes, vm_bytes;
    uint32_t threads;
    double cpu_percent; /* percent of one CPU since prev (psutil cpu_percent) */
    double mem_percent; /* RSS as percent of MemTotal (psutil memory_percent) */
};

/*
 * Reads /proc/self/stat and /proc/meminfo (with the real libc calls) into
 * out; cpu_percent is computed against prev, and is 0 when prev is NULL.
 * Returns 0, or -errno when /proc cannot be read (out is then zeroed).
 */
int fo_procstat_sample(struct fo_proc_sample *out, const struct fo_proc_sample *prev);

#endif

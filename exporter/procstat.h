/*
 * procstat.h - samples of this process's CPU, memory and threads from /proc,
 * with the meaning of Feast's psutil gauges for cpu and memory percent.
 *
 * Runs inside the host process: files are read with fo_real.open/read/close
 * (never stdio, never our own hooks).
 */
#ifndef FO_PROCSTAT_H
#define FO_PROCSTAT_H

#include <stdint.h>

struct fo_proc_sample {
    uint64_t time_ns;                /* CLOCK_MONOTONIC when taken */
    double cpu_user_s, cpu_system_s; /* utime, stime since the process started */
    uint64_t rss_bytes, vm_bytes;    /* resident (statm) and virtual size */
    uint32_t threads;
    double cpu_percent; /* psutil Process.cpu_percent(): percent of ONE CPU since
                         * prev (can pass 100 with several threads busy) */
    double mem_percent; /* psutil Process.memory_percent(): RSS / MemTotal * 100 */
};

/*
 * Reads /proc/self/stat, /proc/self/statm and (once, then cached)
 * /proc/meminfo into out. cpu_percent is (CPU time delta / wall time delta)
 * * 100 against prev, and 0.0 when prev is NULL, zeroed (a failed sample)
 * or not older than out; prev may point at out itself. Returns 0, or
 * -errno when /proc cannot be read or parsed (out is then all zero).
 */
int fo_procstat_sample(struct fo_proc_sample *out, const struct fo_proc_sample *prev);

#endif

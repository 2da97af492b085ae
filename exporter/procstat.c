/* procstat.c - process CPU, memory and thread samples (see procstat.h). */
#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "preload/real.h"

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
    if (fo_real.open == NULL)
        fo_real_init();
    int fd = fo_real.open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t n = fo_real.read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    fo_real.close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

static uint64_t mem_total_bytes(void)
{
    static uint64_t cached;
    if (cached == 0) {
        char buf[4096];
        if (read_file("/proc/meminfo", buf, sizeof buf) > 0) {
            const char *p = strstr(buf, "MemTotal:");
            if (p != NULL)
                cached = strtoull(p + 9, NULL, 10) * 1024u;
        }
    }
    return cached;
}

int fo_procstat_sample(struct fo_proc_sample *out, const struct fo_proc_sample *prev)
{
    memset(out, 0, sizeof *out);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    out->time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;

    char buf[2048];
    ssize_t n = read_file("/proc/self/stat", buf, sizeof buf);
    if (n <= 0)
        return n < 0 ? (int)n : -EIO;
    /* The command name is in parentheses and may hold spaces: fields are
     * counted from the last ')'. Field 3 (state) follows it. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -EIO;
    p += 2;
    unsigned long long f[64];
    int nf = 0;
    char *tok = p;
    while (nf < 64 && *tok != '\0') {
        char *end;
        f[nf++] = strtoull(tok, &end, 10);
        while (*end != ' ' && *end != '\0')
            end++;
        tok = *end == ' ' ? end + 1 : end;
    }
    if (nf < 22)
        return -EIO;
    /* f[0] is field 3: utime is field 14, stime 15, num_threads 20,
     * vsize 23, rss (pages) 24. */
    long tck = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    out->cpu_user_s = (double)f[11] / (double)tck;
    out->cpu_system_s = (double)f[12] / (double)tck;
    out->threads = (uint32_t)f[17];
    out->vm_bytes = f[20];
    out->rss_bytes = f[21] * (uint64_t)page;

    uint64_t total = mem_total_bytes();
    if (total > 0)
        out->mem_percent = 100.0 * (double)out->rss_bytes / (double)total;
    if (prev != NULL && out->time_ns > prev->time_ns) {
        double cpu = (out->cpu_user_s + out->cpu_system_s) -
                     (prev->cpu_user_s + prev->cpu_system_s);
        double wall = (double)(out->time_ns - prev->time_ns) / 1e9;
        out->cpu_percent = cpu > 0 ? 100.0 * cpu / wall : 0.0;
    }
    return 0;
}

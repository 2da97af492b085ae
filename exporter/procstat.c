/* procstat.c - process CPU, memory and thread samples (see procstat.h). */
#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "preload/real.h"

/* Reads up to cap - 1 bytes of path into buf, NUL-terminated. Returns the
 * length or -errno. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
    if (fo_real.open == NULL)
        fo_real_init();
    int fd = fo_real.open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = 0;
    ssize_t n = 0;
    while (len < cap - 1) {
        n = fo_real.read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    int err = n < 0 ? errno : 0;
    fo_real.close(fd);
    buf[len] = '\0';
    return err != 0 ? -err : (ssize_t)len;
}

static uint64_t mem_total_bytes(void)
{
    /* The machine's memory does not change: read it once. */
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

/* Splits the fields of /proc/self/stat that follow the command name into
 * f[0..] (f[0] is field 3, "state"); returns how many were found. */
static int stat_fields(char *buf, unsigned long long *f, int max)
{
    /* The command name is in parentheses and may hold spaces and ')':
     * fields are counted from the last ')'. */
    char *p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ')
        return 0;
    p += 2;
    int nf = 0;
    while (nf < max && *p != '\0' && *p != '\n') {
        char *end;
        f[nf++] = strtoull(p, &end, 10); /* the state letter parses as 0 */
        while (*end != ' ' && *end != '\0')
            end++;
        p = *end == ' ' ? end + 1 : end;
    }
    return nf;
}

static int sample(struct fo_proc_sample *out, const struct fo_proc_sample *prev)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    out->time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;

    char buf[2048];
    ssize_t n = read_file("/proc/self/stat", buf, sizeof buf);
    if (n <= 0)
        return n < 0 ? (int)n : -EIO;
    unsigned long long f[24];
    /* f[i] is field i + 3 of proc(5): utime 14, stime 15, num_threads 20,
     * vsize 23. */
    if (stat_fields(buf, f, 24) < 21)
        return -EIO;
    long tck = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    if (tck <= 0 || page <= 0)
        return -EIO;
    out->cpu_user_s = (double)f[11] / (double)tck;
    out->cpu_system_s = (double)f[12] / (double)tck;
    out->threads = (uint32_t)f[17];
    out->vm_bytes = f[20];

    /* statm: "size resident shared ..." in pages; psutil's rss is resident. */
    n = read_file("/proc/self/statm", buf, sizeof buf);
    if (n <= 0)
        return n < 0 ? (int)n : -EIO;
    char *end;
    strtoull(buf, &end, 10);
    if (*end != ' ')
        return -EIO;
    out->rss_bytes = strtoull(end + 1, NULL, 10) * (uint64_t)page;

    uint64_t total = mem_total_bytes();
    if (total > 0)
        out->mem_percent = 100.0 * (double)out->rss_bytes / (double)total;
    if (prev != NULL && prev->time_ns != 0 && out->time_ns > prev->time_ns) {
        double cpu = (out->cpu_user_s + out->cpu_system_s) -
                     (prev->cpu_user_s + prev->cpu_system_s);
        double wall = (double)(out->time_ns - prev->time_ns) / 1e9;
        out->cpu_percent = cpu > 0 ? 100.0 * cpu / wall : 0.0;
    }
    return 0;
}

int fo_procstat_sample(struct fo_proc_sample *out, const struct fo_proc_sample *prev)
{
    struct fo_proc_sample s;
    memset(&s, 0, sizeof s);
    int rc = sample(&s, prev);
    if (rc != 0)
        memset(&s, 0, sizeof s);
    *out = s; /* last, so prev may be out itself */
    return rc;
}

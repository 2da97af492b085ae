/* prom.c - shared Prometheus exposition for pre-fork servers (see prom.h). */
#include "prom.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload/utf8.h"

#define READ_TRIES 8

struct snapshot {
    _Atomic uint64_t seq; /* odd while being written */
    uint32_t n;
    struct fo_prom_sample samples[FO_PROM_SAMPLES];
};

struct slot {
    _Atomic uint64_t owner;  /* pid << 32 | generation; pid 0: never used */
    uint64_t start_time;     /* of the owner process, against pid reuse */
    _Atomic uint32_t cur;    /* the complete snapshot: 0 or 1 */
    _Atomic uint32_t published; /* a snapshot was ever completed */
    struct snapshot snap[2];
};

struct archive {
    _Atomic uint64_t seq;
    uint32_t n;
    uint32_t absorbed[FO_PROM_SLOTS]; /* generation of each slot already summed */
    struct fo_prom_sample samples[FO_PROM_ARCHIVE_SAMPLES];
};

struct region {
    _Atomic uint64_t archive_version; /* bumped by every fold commit */
    _Atomic uint32_t archive_cur;
    _Atomic int32_t fold_lease;      /* pid of the folder, 0 when free */
    struct archive archive[2];
    struct slot slots[FO_PROM_SLOTS];
};

static struct region *region;
static const struct fo_prom_family *fams;
static size_t n_fams;
static pid_t my_pid;      /* the process that owns my_slot */
static int my_slot = -1;
static uint32_t my_gen;
static _Atomic uint64_t publish_failed, torn_reads;
void (*fo_prom_fold_hook)(int step);

int fo_prom_init(const struct fo_prom_family *families, size_t n_families)
{
    void *p = mmap(NULL, sizeof *region, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    region = p;
    fams = families;
    n_fams = n_families;
    return 0;
}

int fo_prom_enabled(void)
{
    return region != NULL;
}

void fo_prom_get_stats(struct fo_prom_stats *out)
{
    out->publish_failed = atomic_load(&publish_failed);
    out->torn_reads = atomic_load(&torn_reads);
}

/* Field 22 of /proc/<pid>/stat: the start time, in clock ticks. */
static uint64_t start_time_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    unsigned long long t = 0;
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
                                   "%*d %*d %*d %*d %llu", &t) != 1)
        return 0;
    return t;
}

static int alive(pid_t pid, uint64_t start)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
        return 0;
    return start == 0 || start_time_of(pid) == start;
}

static int valid_sample(const struct fo_prom_sample *s)
{
    return s->family < n_fams && s->labels_len < FO_PROM_LABELS_MAX;
}

/* Copies a double-buffered snapshot whose writer may be racing us. */
static int read_snapshot(const struct slot *sl, struct snapshot *out)
{
    for (int t = 0; t < READ_TRIES; t++) {
        const struct snapshot *s = &sl->snap[atomic_load_explicit(&sl->cur, memory_order_acquire) & 1];
        uint64_t a = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (a & 1)
            continue;
        memcpy((char *)out + sizeof out->seq, (const char *)s + sizeof s->seq,
               sizeof *s - sizeof s->seq);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) == a) {
            if (out->n > FO_PROM_SAMPLES)
                return -1;
            return 0;
        }
    }
    atomic_fetch_add(&torn_reads, 1);
    return -1;
}

static int read_archive(struct archive *out, uint64_t *version)
{
    for (int t = 0; t < READ_TRIES; t++) {
        *version = atomic_load_explicit(&region->archive_version, memory_order_acquire);
        const struct archive *a =
            &region->archive[atomic_load_explicit(&region->archive_cur, memory_order_acquire) & 1];
        uint64_t s1 = atomic_load_explicit(&a->seq, memory_order_acquire);
        if (s1 & 1)
            continue;
        memcpy((char *)out + sizeof out->seq, (const char *)a + sizeof a->seq,
               sizeof *a - sizeof a->seq);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&a->seq, memory_order_relaxed) == s1 &&
            atomic_load(&region->archive_version) == *version)
            return out->n <= FO_PROM_ARCHIVE_SAMPLES ? 0 : -1;
    }
    atomic_fetch_add(&torn_reads, 1);
    return -1;
}

/* Adds s into the set (n of cap) by family and labels; gauges are not summed. */
static void merge(struct fo_prom_sample *set, uint32_t *n, uint32_t cap,
                  const struct fo_prom_sample *s)
{
    if (!valid_sample(s) || fams[s->family].type == FO_PROM_GAUGE)
        return;
    for (uint32_t i = 0; i < *n; i++) {
        struct fo_prom_sample *d = &set[i];
        if (d->family == s->family && d->labels_len == s->labels_len &&
            memcmp(d->labels, s->labels, s->labels_len) == 0) {
            d->value += s->value;
            d->sum += s->sum;
            d->count += s->count;
            for (int b = 0; b <= FO_PROM_BUCKETS_MAX; b++)
                d->buckets[b] += s->buckets[b];
            return;
        }
    }
    if (*n < cap)
        set[(*n)++] = *s;
}

/* Sequence numbers: odd while a buffer is being written. A writer killed
 * mid-write leaves it odd; the next writer still moves it to a new odd and
 * then a new even value, so readers never mistake old for new. */
static uint64_t write_begin(_Atomic uint64_t *seq)
{
    uint64_t v = (atomic_load_explicit(seq, memory_order_relaxed) + 1) | 1;
    atomic_store_explicit(seq, v, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    return v;
}

static void write_end(_Atomic uint64_t *seq, uint64_t v)
{
    atomic_store_explicit(seq, v + 1, memory_order_release);
}

static uint32_t gen_of(uint64_t owner)
{
    return (uint32_t)owner;
}

static pid_t pid_of(uint64_t owner)
{
    return (pid_t)(owner >> 32);
}

/* Folds every dead, unabsorbed slot into the archive. Returns how many. */
static int fold_dead(void)
{
    int32_t expect = 0, me = (int32_t)getpid();
    if (!atomic_compare_exchange_strong(&region->fold_lease, &expect, me)) {
        if (expect == me || alive(expect, 0))
            return 0;
        /* The holder died mid-fold: its spare buffer was never committed. */
        if (!atomic_compare_exchange_strong(&region->fold_lease, &expect, me))
            return 0;
    }
    static struct archive next;
    static struct snapshot snap;
    uint64_t version;
    int folded = 0;
    if (read_archive(&next, &version) == 0) {
        for (int i = 0; i < FO_PROM_SLOTS; i++) {
            struct slot *sl = &region->slots[i];
            uint64_t owner = atomic_load(&sl->owner);
            if (pid_of(owner) == 0 || next.absorbed[i] == gen_of(owner) ||
                alive(pid_of(owner), sl->start_time))
                continue;
            if (atomic_load(&sl->published) && read_snapshot(sl, &snap) == 0)
                for (uint32_t k = 0; k < snap.n; k++)
                    merge(next.samples, &next.n, FO_PROM_ARCHIVE_SAMPLES, &snap.samples[k]);
            next.absorbed[i] = gen_of(owner);
            folded++;
        }
        if (folded > 0) {
            uint32_t spare = (atomic_load(&region->archive_cur) & 1) ^ 1;
            struct archive *a = &region->archive[spare];
            if (fo_prom_fold_hook)
                fo_prom_fold_hook(1);
            uint64_t v = write_begin(&a->seq);
            memcpy((char *)a + sizeof a->seq, (char *)&next + sizeof next.seq,
                   sizeof next - sizeof next.seq);
            if (fo_prom_fold_hook)
                fo_prom_fold_hook(2);
            write_end(&a->seq, v);
            atomic_store_explicit(&region->archive_cur, spare, memory_order_release);
            atomic_fetch_add_explicit(&region->archive_version, 1, memory_order_release);
            if (fo_prom_fold_hook)
                fo_prom_fold_hook(3);
        }
    }
    atomic_store(&region->fold_lease, 0);
    return folded;
}

/* A slot is free when it was never used or its generation is absorbed. */
static int claim(void)
{
    uint64_t start = start_time_of(getpid());
    for (int round = 0; round < 2; round++) {
        uint32_t cur = atomic_load(&region->archive_cur) & 1;
        const uint32_t *absorbed = region->archive[cur].absorbed;
        for (int i = 0; i < FO_PROM_SLOTS; i++) {
            struct slot *sl = &region->slots[i];
            uint64_t owner = atomic_load(&sl->owner);
            if (pid_of(owner) != 0 && absorbed[i] != gen_of(owner))
                continue;
            uint32_t gen = gen_of(owner) + 1;
            if (gen == 0)
                gen = 1;
            uint64_t mine = (uint64_t)(uint32_t)getpid() << 32 | gen;
            if (!atomic_compare_exchange_strong(&sl->owner, &owner, mine))
                continue;
            sl->start_time = start;
            atomic_store(&sl->published, 0);
            my_slot = i;
            my_gen = gen;
            my_pid = getpid();
            return 0;
        }
        if (fold_dead() == 0)
            break;
    }
    return -ENOSPC;
}

int fo_prom_publish(const struct fo_prom_sample *samples, size_t n)
{
    if (region == NULL || n > FO_PROM_SAMPLES)
        return -EINVAL;
    if (my_slot < 0 || my_pid != getpid()) {
        my_slot = -1;
        if (claim() != 0) {
            atomic_fetch_add(&publish_failed, 1);
            return -ENOSPC;
        }
    }
    struct slot *sl = &region->slots[my_slot];
    uint32_t spare = (atomic_load(&sl->cur) & 1) ^ (atomic_load(&sl->published) ? 1 : 0);
    struct snapshot *s = &sl->snap[spare];
    uint64_t v = write_begin(&s->seq);
    s->n = (uint32_t)n;
    memcpy(s->samples, samples, n * sizeof *samples);
    write_end(&s->seq, v);
    atomic_store_explicit(&sl->cur, spare, memory_order_release);
    atomic_store_explicit(&sl->published, 1, memory_order_release);
    return 0;
}

int fo_prom_escape(char *out, size_t len, size_t cap, const char *v, size_t vlen)
{
    const unsigned char *u = (const unsigned char *)v;
    for (size_t i = 0; i < vlen;) {
        /* Prometheus refuses a whole scrape for one invalid byte: each byte
         * that starts no valid UTF-8 sequence is written as U+FFFD. */
        size_t k = fo_utf8_seq(u + i, vlen - i);
        const char *rep = k == 0        ? FO_UTF8_REPLACEMENT
                          : v[i] == '\\' ? "\\\\"
                          : v[i] == '"'  ? "\\\""
                          : v[i] == '\n' ? "\\n"
                                         : NULL;
        size_t w = k == 0 ? FO_UTF8_REPLACEMENT_LEN : rep != NULL ? 2 : k;
        if (len + w >= cap)
            return -1;
        memcpy(out + len, rep != NULL ? rep : v + i, w);
        len += w;
        i += k != 0 ? k : 1;
    }
    out[len] = '\0';
    return (int)len;
}

struct text {
    char *p;
    size_t len, cap;
    int full;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = t->full ? -1 : vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->cap - t->len)
        t->full = 1;
    else
        t->len += (size_t)n;
}

static void number(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "NaN");
    else if (isinf(v))
        snprintf(buf, cap, v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(int64_t)v && fabs(v) < 9e15)
        snprintf(buf, cap, "%lld", (long long)v);
    else
        /* The shortest form that reads back as v: "0.005", not 0.00500...1. */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, cap, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
}

/* name{labels[,extra]} */
static void series_name(struct text *t, const char *name, const char *suffix,
                        const struct fo_prom_sample *s, const char *extra)
{
    int has = s->labels_len > 0, ext = extra != NULL && extra[0] != '\0';
    put(t, "%s%s", name, suffix);
    if (has || ext)
        put(t, "{%.*s%s%s}", (int)s->labels_len, s->labels, has && ext ? "," : "",
            ext ? extra : "");
}

static void render_sample(struct text *t, const struct fo_prom_family *f,
                          const struct fo_prom_sample *s, const char *extra)
{
    char num[40];
    if (f->type != FO_PROM_HISTOGRAM) {
        series_name(t, f->name, "", s, extra);
        number(num, sizeof num, s->value);
        put(t, " %s\n", num);
        return;
    }
    uint64_t cum = 0;
    for (int b = 0; b <= f->n_bounds && b <= FO_PROM_BUCKETS_MAX; b++) {
        cum += s->buckets[b];
        char le[64];
        if (b < f->n_bounds)
            number(num, sizeof num, f->bounds[b]);
        snprintf(le, sizeof le, "le=\"%s\"", b < f->n_bounds ? num : "+Inf");
        char lbl[FO_PROM_LABELS_MAX + 96];
        snprintf(lbl, sizeof lbl, "%s%s%s", extra != NULL ? extra : "",
                 extra != NULL && extra[0] ? "," : "", le);
        series_name(t, f->name, "_bucket", s, lbl);
        put(t, " %llu\n", (unsigned long long)cum);
    }
    series_name(t, f->name, "_sum", s, extra);
    number(num, sizeof num, s->sum);
    put(t, " %s\n", num);
    series_name(t, f->name, "_count", s, extra);
    put(t, " %llu\n", (unsigned long long)s->count);
}

ssize_t fo_prom_render(char *out, size_t cap)
{
    static struct archive sum;
    static struct snapshot snap;
    static struct { pid_t pid; struct fo_prom_sample s; } gauges[FO_PROM_SLOTS * 4];
    size_t n_gauges;
    if (region == NULL)
        return -EINVAL;
    for (int attempt = 0;; attempt++) {
        uint64_t version;
        n_gauges = 0;
        if (read_archive(&sum, &version) != 0)
            return -EAGAIN;
        for (int i = 0; i < FO_PROM_SLOTS; i++) {
            struct slot *sl = &region->slots[i];
            uint64_t owner = atomic_load(&sl->owner);
            if (pid_of(owner) == 0 || sum.absorbed[i] == gen_of(owner) ||
                !atomic_load(&sl->published) || read_snapshot(sl, &snap) != 0)
                continue;
            int live = alive(pid_of(owner), sl->start_time);
            for (uint32_t k = 0; k < snap.n; k++) {
                const struct fo_prom_sample *s = &snap.samples[k];
                if (!valid_sample(s))
                    continue;
                if (fams[s->family].type != FO_PROM_GAUGE)
                    merge(sum.samples, &sum.n, FO_PROM_ARCHIVE_SAMPLES, s);
                else if (live && n_gauges < sizeof gauges / sizeof gauges[0]) {
                    gauges[n_gauges].pid = pid_of(owner);
                    gauges[n_gauges++].s = *s;
                }
            }
        }
        if (atomic_load(&region->archive_version) == version)
            break;
        if (attempt == READ_TRIES)
            return -EAGAIN;
    }
    struct text t = {out, 0, cap, 0};
    for (size_t f = 0; f < n_fams; f++) {
        int any = 0;
        for (uint32_t k = 0; k < sum.n && !any; k++)
            any = sum.samples[k].family == f;
        for (size_t g = 0; g < n_gauges && !any; g++)
            any = gauges[g].s.family == f;
        if (!any)
            continue;
        static const char *const types[] = {"counter", "gauge", "histogram"};
        put(&t, "# HELP %s %s\n# TYPE %s %s\n", fams[f].name, fams[f].help, fams[f].name,
            types[fams[f].type % 3]);
        for (uint32_t k = 0; k < sum.n; k++)
            if (sum.samples[k].family == f)
                render_sample(&t, &fams[f], &sum.samples[k], NULL);
        for (size_t g = 0; g < n_gauges; g++) {
            if (gauges[g].s.family != f)
                continue;
            char pid[32];
            snprintf(pid, sizeof pid, "pid=\"%d\"", (int)gauges[g].pid);
            render_sample(&t, &fams[f], &gauges[g].s, pid);
        }
    }
    return t.full ? -ENOSPC : (ssize_t)t.len;
}

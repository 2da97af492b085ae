/*
 * prom.h - Prometheus text exposition shared by every process of a
 * pre-fork server, with Feast's multiprocess semantics: counters and
 * histograms summed over live and exited processes, gauges one series per
 * live process (label pid).
 *
 * DESIGN
 * Sharing: one MAP_SHARED anonymous region, mapped in the constructor of
 * the first process (before any fork, so every worker inherits it). Each
 * process claims a slot and publishes its whole cumulative snapshot there,
 * from its exporter thread only (one writer per slot).
 * Crash safety: every snapshot and the archive are double-buffered. A
 * writer fills the buffer that is not current (its sequence number odd
 * while it writes), then makes it current with one atomic store. A process
 * killed at any instant leaves the previous snapshot current; a reader that
 * raced a rewrite sees the sequence change and copies again (bounded).
 * Exited processes: a dead slot keeps counting until it is folded into the
 * archive (the sum of all dead processes). A fold writes the archive's
 * spare buffer with the slot's generation marked absorbed and commits it
 * with one store: the slot's data is then counted once, in the archive,
 * and the slot is free. Folds are serialised by a lease (a pid in one
 * word) that others take over when its holder is dead. Readers check that
 * the archive did not change while they read the slots, and retry.
 * Death is kill(pid, 0) failing with ESRCH, or a different start time.
 * Nothing here blocks: no mutex, no waiting on another process. Serving a
 * scrape happens on the exporter thread of the process holding the port.
 */
#ifndef FO_PROM_H
#define FO_PROM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FO_PROM_SLOTS 32
#define FO_PROM_SAMPLES 192          /* series per process */
#define FO_PROM_ARCHIVE_SAMPLES 512  /* series summed over exited processes */
#define FO_PROM_LABELS_MAX 200
#define FO_PROM_BUCKETS_MAX 16

enum fo_prom_type { FO_PROM_COUNTER, FO_PROM_GAUGE, FO_PROM_HISTOGRAM };

struct fo_prom_family {
    const char *name; /* counters with _total, histograms without suffixes */
    const char *help;
    uint8_t type;     /* enum fo_prom_type */
    uint8_t n_bounds;
    const double *bounds;
};

/* One series: labels rendered and escaped, without braces ("" for none). */
struct fo_prom_sample {
    uint16_t family;
    uint16_t labels_len;
    char labels[FO_PROM_LABELS_MAX];
    double value;      /* counter or gauge */
    double sum;        /* histogram */
    uint64_t count;    /* histogram */
    uint64_t buckets[FO_PROM_BUCKETS_MAX + 1]; /* per bucket, not cumulative */
};

/*
 * Maps the shared region for families[0..n_families) (the table must be
 * the same in every process: it is static). Call once, before any fork.
 * Returns 0 or -ENOMEM.
 */
int fo_prom_init(const struct fo_prom_family *families, size_t n_families);

/* The region is mapped (fo_prom_init succeeded in this or a parent process). */
int fo_prom_enabled(void);

/*
 * Publishes this process's snapshot (n samples). Claims a slot the first
 * time (after a fork, again), folding exited processes when none is free.
 * Returns 0, -ENOSPC when no slot could be had (counted), or -EINVAL.
 */
int fo_prom_publish(const struct fo_prom_sample *samples, size_t n);

/*
 * Renders the merged view of every process as Prometheus text format
 * 0.0.4 into out (cap bytes). Returns the length, or -ENOSPC.
 */
ssize_t fo_prom_render(char *out, size_t cap);

/* Appends v to out as a Prometheus label value: escapes \, " and newline,
 * and writes each byte that starts no valid UTF-8 sequence as U+FFFD (a
 * scrape with invalid UTF-8 is rejected whole). NUL-terminates. Returns
 * the new length, or -1 when it does not fit in cap. */
int fo_prom_escape(char *out, size_t len, size_t cap, const char *v, size_t vlen);

/* Tests: pretend the given slot's owner is whatever the region says. */
struct fo_prom_stats {
    uint64_t publish_failed; /* no slot */
    uint64_t torn_reads;     /* reads abandoned after repeated races */
};
void fo_prom_get_stats(struct fo_prom_stats *out);

/* Tests: the hook is called at named steps of a fold (may raise SIGKILL). */
extern void (*fo_prom_fold_hook)(int step);

#endif

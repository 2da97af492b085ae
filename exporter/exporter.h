/*
 * exporter.h - the library's own thread: drains the ring of request records,
 * aggregates metrics, batches spans and ships them.
 */
#ifndef FO_EXPORTER_H
#define FO_EXPORTER_H

#include <stdatomic.h>

#include "config.h"
#include "ring.h"

/* Records from the host's threads (filled by preload/conn.c). */
extern struct fo_ring fo_records;

/*
 * Keeps a copy of cfg, maps the ring and installs the fork handlers. Called
 * once from the constructor; the thread itself starts later, lazily.
 * Returns 0 or -ENOMEM.
 */
int fo_exporter_init(const struct fo_config *cfg);

/* Set once the exporter thread has been started (or its start tried). */
extern _Atomic int fo_exporter_started;

/* Starts the exporter thread unless that was done already; keeps errno. */
void fo_exporter_start_thread(void);

/*
 * Starts the exporter thread unless it runs already: inline, a load and a
 * branch on every call after the first (each exchange makes one). Called
 * when there is something to export.
 */
static inline void fo_exporter_start(void)
{
    if (!atomic_load_explicit(&fo_exporter_started, memory_order_relaxed))
        fo_exporter_start_thread();
}

/* Set when the exporter should start as soon as the process listens
 * (the Prometheus exporter is configured). */
extern int fo_exporter_start_on_listen;

/*
 * Asks the thread to drain, export what is pending and stop, and waits for
 * it no longer than the export timeout. Called at process exit.
 */
void fo_exporter_shutdown(void);

#endif

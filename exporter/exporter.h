/*
 * exporter.h - the library's own thread: drains the ring of request records,
 * aggregates metrics, batches spans and ships them.
 */
#ifndef FO_EXPORTER_H
#define FO_EXPORTER_H

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

/*
 * Starts the exporter thread unless it runs already: a load and a branch on
 * every call after the first. Called when there is something to export.
 */
void fo_exporter_start(void);

/* Set when the exporter should start as soon as the process listens
 * (the Prometheus exporter is configured). */
extern int fo_exporter_start_on_listen;

/*
 * Asks the thread to drain, export what is pending and stop, and waits for
 * it no longer than the export timeout. Called at process exit.
 */
void fo_exporter_shutdown(void);

#endif

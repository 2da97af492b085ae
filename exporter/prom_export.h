/*
 * prom_export.h - the Prometheus metrics exporter on the exporter thread:
 * publishes this process's Feast families and gauges to the shared store
 * (prom.h) and, in whichever process holds OTEL_EXPORTER_PROMETHEUS_HOST:
 * PORT, answers scrapes with the merged view of every process.
 */
#ifndef FO_PROM_EXPORT_H
#define FO_PROM_EXPORT_H

#include <stdint.h>

#include "config.h"
#include "feast_metrics.h"
#include "procstat.h"

/* Maps the shared store (constructor, before any fork). 0 or -ENOMEM. */
int fo_prom_export_init(void);

/*
 * Called every loop of the exporter thread: publishes at most once a
 * second (always when final), tries to take the port when nobody serves,
 * and answers pending scrapes. Never waits for more than the scrape's own
 * short deadline.
 */
void fo_prom_export_tick(const struct fo_config *cfg, const struct fo_feast_metrics *fm,
                         const struct fo_proc_sample *ps, int final);

/* Releases the port (at exit, so another process can take it). */
void fo_prom_export_close(void);

#endif

/*
 * preload.c - the library's entry and exit: reads the configuration once,
 * decides whether this process is followed at all, and flushes at exit.
 */
#include <stdlib.h>
#include <sys/auxv.h>

#include "conn.h"
#include "exporter/config.h"
#include "exporter/exporter.h"
#include "exporter/log.h"
#include "real.h"

#define MAX_CONNS 4096

static const char *env(const char *name)
{
    return getenv(name);
}

__attribute__((constructor)) static void fo_init(void)
{
    fo_real_init();
    /* setuid and similar programs: a preloaded guest has no business there. */
    if (getauxval(AT_SECURE))
        return;
    static struct fo_config cfg;
    fo_config_load(&cfg, env);
    if (cfg.disabled || (cfg.traces_exporters == 0 && cfg.metrics_exporters == 0))
        return;
    if (fo_exporter_init(&cfg) != 0 || fo_conn_init(MAX_CONNS) != 0) {
        fo_log(FO_LOG_ERROR, "init", "cannot map its tables: telemetry is off");
        return;
    }
}

__attribute__((destructor)) static void fo_fini(void)
{
    fo_exporter_shutdown();
}

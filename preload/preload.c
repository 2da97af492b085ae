/*
 * preload.c - the library's entry and exit: reads the configuration once,
 * decides whether this process is followed at all, and flushes at exit.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>

#include "conn.h"
#include "exporter/clock.h"
#include "exporter/config.h"
#include "exporter/exporter.h"
#include "exporter/log.h"
#include "real.h"

#define MAX_CONNS 4096

static const char *env(const char *name)
{
    return getenv(name);
}

/* Does any comma-separated glob in list match the executable's name or path? */
static int matches(const char *list, const char *path, const char *name)
{
    char pat[256];
    while (*list != '\0') {
        size_t n = strcspn(list, ",");
        if (n > 0 && n < sizeof pat) {
            memcpy(pat, list, n);
            pat[n] = '\0';
            if (fnmatch(pat, name, 0) == 0 || fnmatch(pat, path, 0) == 0)
                return 1;
        }
        list += n;
        if (*list == ',')
            list++;
    }
    return 0;
}

/*
 * FEAST_OTEL_INCLUDE / FEAST_OTEL_EXCLUDE: glob lists matched against the
 * executable's name and full path. Decided before anything else is done, so
 * an excluded program pays for one readlink at most.
 */
static int wanted(void)
{
    const char *inc = getenv("FEAST_OTEL_INCLUDE");
    const char *exc = getenv("FEAST_OTEL_EXCLUDE");
    if ((inc == NULL || *inc == '\0') && (exc == NULL || *exc == '\0'))
        return 1;
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    path[n > 0 ? n : 0] = '\0';
    const char *name = strrchr(path, '/');
    name = name != NULL ? name + 1 : path;
    if (inc != NULL && *inc != '\0' && !matches(inc, path, name))
        return 0;
    return exc == NULL || *exc == '\0' || !matches(exc, path, name);
}

__attribute__((constructor)) static void fo_init(void)
{
    fo_real_init();
    /* setuid and similar programs: a preloaded guest has no business there. */
    if (getauxval(AT_SECURE) || !wanted())
        return;
    static struct fo_config cfg;
    fo_config_load(&cfg, env);
    if (cfg.disabled || (cfg.traces_exporters == 0 && cfg.metrics_exporters == 0))
        return;
    fo_conn_feast_budget = cfg.body_budget;
    enum fo_clock_mode chosen = fo_clock_init((enum fo_clock_mode)cfg.clock);
    if (chosen != FO_CLOCK_TSC && cfg.clock == FO_CLOCK_TSC)
        fo_log(FO_LOG_ERROR, "FEAST_OTEL_CLOCK", "FEAST_OTEL_CLOCK=tsc: this CPU's time-stamp "
               "counter is not invariant, or RDTSC is disabled; using CLOCK_MONOTONIC");
    fo_log(FO_LOG_DEBUG, "clock", "pid %d: timestamps from %s", (int)getpid(),
           chosen == FO_CLOCK_TSC ? "the CPU's time-stamp counter" : "CLOCK_MONOTONIC");
    if (fo_exporter_init(&cfg) != 0 || fo_conn_init(MAX_CONNS) != 0) {
        fo_log(FO_LOG_ERROR, "init", "cannot map its tables: telemetry is off");
        return;
    }
}

__attribute__((destructor)) static void fo_fini(void)
{
    fo_exporter_shutdown();
}

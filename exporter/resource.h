/*
 * resource.h - the OpenTelemetry resource of this process: who is sending.
 * Built on the exporter thread when it starts, so a forked worker gets its
 * own process.pid and service.instance.id.
 */
#ifndef FO_RESOURCE_H
#define FO_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define FO_VERSION "0.1.0"
#define FO_RESOURCE_MAX (FO_CFG_MAX_RESOURCE_ATTRS + 12)

/* One typed attribute: OTLP wants process.pid as an int, the rest as strings. */
struct fo_attr {
    char key[FO_CFG_STR_MAX];
    char str[512]; /* NUL-terminated, truncated when longer */
    int64_t num;
    int is_int;    /* num holds the value, else str */
};

struct fo_resource {
    struct fo_attr attrs[FO_RESOURCE_MAX];
    size_t n;
};

/*
 * Fills r (overwriting it) from cfg and the running process:
 * - service.name: cfg->service_name (OTEL_SERVICE_NAME), else service.name
 *   from cfg->resource_attrs, else "unknown_service:<executable name>";
 * - every cfg->resource_attrs pair (OTEL_RESOURCE_ATTRIBUTES), in order;
 * - service.instance.id: a fresh random UUID v4 on every call;
 * - process.pid (int), process.executable.name (basename of /proc/self/exe)
 *   and process.executable.path: they describe this very process, so they
 *   replace user values (inherited by every forked worker, they would be
 *   wrong in all but one);
 * - host.name from gethostname unless the user gave one;
 * - telemetry.sdk.name "feast-otel", .language "c", .version FO_VERSION.
 * Call it again in a forked child: pid and instance id change. cfg is only
 * read during the call. Never fails; attributes past FO_RESOURCE_MAX are
 * dropped.
 */
void fo_resource_build(struct fo_resource *r, const struct fo_config *cfg);

/* The attribute named key, or NULL. The pointer lives as long as r. */
const struct fo_attr *fo_resource_get(const struct fo_resource *r, const char *key);

#endif

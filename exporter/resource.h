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

struct fo_attr {
    char key[FO_CFG_STR_MAX];
    char str[512];
    int64_t num;
    int is_int; /* num holds the value, else str */
};

struct fo_resource {
    struct fo_attr attrs[FO_RESOURCE_MAX];
    size_t n;
};

/*
 * Fills r: service.name (OTEL_SERVICE_NAME, else service.name from
 * OTEL_RESOURCE_ATTRIBUTES, else "unknown_service:<executable>"), every
 * OTEL_RESOURCE_ATTRIBUTES pair, service.instance.id (a random UUID per
 * process), process.pid (int), process.executable.name/.path, host.name and
 * telemetry.sdk.{name,language,version}. Detected values win over
 * user-supplied ones only where the spec says so (never for service.name).
 */
void fo_resource_build(struct fo_resource *r, const struct fo_config *cfg);

/* The attribute named key, or NULL. */
const struct fo_attr *fo_resource_get(const struct fo_resource *r, const char *key);

#endif

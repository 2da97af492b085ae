/*
 * config.h - the library's configuration, read once from the process
 * environment in the constructor (nginx and others clear the environment of
 * their workers, so it cannot be read later).
 *
 * Standard OTEL_* variables follow the OpenTelemetry SDK environment variable
 * specification: an empty value is the same as unset, durations are in
 * milliseconds, and a malformed value produces one "feast-otel:" line on
 * stderr and the default.
 */
#ifndef FO_CONFIG_H
#define FO_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define FO_CFG_URL_MAX 512
#define FO_CFG_STR_MAX 256
#define FO_CFG_MAX_HEADERS 16
#define FO_CFG_MAX_RESOURCE_ATTRS 32
#define FO_CFG_MAX_ROUTES 16

enum fo_exporter_kind {
    FO_EXPORTER_OTLP = 1u << 0,
    FO_EXPORTER_CONSOLE = 1u << 1,
    FO_EXPORTER_PROMETHEUS = 1u << 2,
    /* 0 means "none" */
};

enum fo_sampler {
    FO_SAMPLER_ALWAYS_ON,
    FO_SAMPLER_ALWAYS_OFF,
    FO_SAMPLER_TRACEIDRATIO,
    FO_SAMPLER_PARENTBASED_ALWAYS_ON, /* the default */
    FO_SAMPLER_PARENTBASED_ALWAYS_OFF,
    FO_SAMPLER_PARENTBASED_TRACEIDRATIO,
};

enum fo_protocol {
    FO_PROTO_HTTP_PROTOBUF, /* the default */
    FO_PROTO_GRPC,
};

struct fo_kv {
    char key[FO_CFG_STR_MAX];
    char value[FO_CFG_STR_MAX];
};

/* Where and how one signal (traces or metrics) is exported over OTLP. */
struct fo_otlp_target {
    char url[FO_CFG_URL_MAX]; /* full URL including the signal path */
    struct fo_kv headers[FO_CFG_MAX_HEADERS];
    size_t n_headers;
    uint32_t timeout_ms;      /* default 10000 */
    enum fo_protocol protocol;
    int gzip;                 /* OTEL_EXPORTER_OTLP_COMPRESSION=gzip */
};

struct fo_config {
    int disabled;                     /* OTEL_SDK_DISABLED=true */
    char service_name[FO_CFG_STR_MAX]; /* "" when unset */
    struct fo_kv resource_attrs[FO_CFG_MAX_RESOURCE_ATTRS];
    size_t n_resource_attrs;          /* OTEL_RESOURCE_ATTRIBUTES, decoded */

    unsigned traces_exporters;        /* FO_EXPORTER_* bits; default OTLP */
    unsigned metrics_exporters;       /* FO_EXPORTER_* bits; default OTLP */
    struct fo_otlp_target traces;     /* default http://localhost:4318/v1/traces */
    struct fo_otlp_target metrics;    /* default http://localhost:4318/v1/metrics */

    enum fo_sampler sampler;          /* OTEL_TRACES_SAMPLER */
    double sampler_arg;               /* OTEL_TRACES_SAMPLER_ARG; default 1.0 */

    uint32_t bsp_schedule_delay_ms;   /* OTEL_BSP_SCHEDULE_DELAY, 5000 */
    uint32_t bsp_export_timeout_ms;   /* OTEL_BSP_EXPORT_TIMEOUT, 30000 */
    uint32_t bsp_max_queue_size;      /* OTEL_BSP_MAX_QUEUE_SIZE, 2048 */
    uint32_t bsp_max_export_batch_size; /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512 */

    uint32_t metric_export_interval_ms; /* OTEL_METRIC_EXPORT_INTERVAL, 60000 */
    uint32_t metric_export_timeout_ms;  /* OTEL_METRIC_EXPORT_TIMEOUT, 30000 */

    char prometheus_host[FO_CFG_STR_MAX]; /* OTEL_EXPORTER_PROMETHEUS_HOST */
    uint16_t prometheus_port;             /* OTEL_EXPORTER_PROMETHEUS_PORT */

    int log_level;                    /* FEAST_OTEL_LOG_LEVEL: 0 error..3 debug */
    char routes[FO_CFG_MAX_ROUTES][FO_CFG_STR_MAX]; /* FEAST_OTEL_ROUTES templates */
    size_t n_routes;
    uint32_t body_budget;             /* FEAST_OTEL_BODY_BUDGET: bytes per Feast body, 262144 */
    int clock;                        /* FEAST_OTEL_CLOCK: an enum fo_clock_mode, auto */
};

/*
 * Fills cfg from the environment lookup function getenv_fn (getenv in the
 * library, a fake in tests). Never fails: every malformed value is reported
 * through fo_log and replaced by its default. Returns the number of
 * malformed values found (0 when the environment was clean).
 */
int fo_config_load(struct fo_config *cfg, const char *(*getenv_fn)(const char *));

/* Sets every field of cfg to the specification's default. */
void fo_config_defaults(struct fo_config *cfg);

#endif

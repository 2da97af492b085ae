/* test_config.c - OTEL_* parsing: defaults, precedence, malformed values. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "exporter/clock.h"
#include "exporter/config.h"
#include "exporter/log.h"

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    for (const char *const *e = fake_env; e != NULL && *e != NULL; e++) {
        size_t n = strlen(name);
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    }
    return NULL;
}

static struct fo_config cfg;

static int load(const char *const *env)
{
    fake_env = env;
    return fo_config_load(&cfg, fake_getenv);
}

/* Runs load() with stderr captured; returns what was written. */
static char captured[8192];
static int load_captured(const char *const *env)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    int saved = dup(2);
    dup2(p[1], 2);
    int bad = load(env);
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    ssize_t n = read(p[0], captured, sizeof captured - 1);
    captured[n > 0 ? n : 0] = '\0';
    close(p[0]);
    return bad;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(config, defaults_from_an_empty_environment)
{
    const char *env[] = {NULL};
    cr_assert_eq(load(env), 0);
    cr_assert_eq(cfg.disabled, 0);
    cr_assert_str_eq(cfg.traces.url, "http://localhost:4318/v1/traces");
    cr_assert_str_eq(cfg.metrics.url, "http://localhost:4318/v1/metrics");
    cr_assert_eq(cfg.traces.timeout_ms, 10000);
    cr_assert_eq(cfg.traces.protocol, FO_PROTO_HTTP_PROTOBUF);
    cr_assert_eq(cfg.traces_exporters, FO_EXPORTER_OTLP);
    cr_assert_eq(cfg.metrics_exporters, FO_EXPORTER_OTLP);
    cr_assert_eq(cfg.sampler, FO_SAMPLER_PARENTBASED_ALWAYS_ON);
    cr_assert_eq(cfg.bsp_schedule_delay_ms, 5000);
    cr_assert_eq(cfg.bsp_export_timeout_ms, 30000);
    cr_assert_eq(cfg.bsp_max_queue_size, 2048);
    cr_assert_eq(cfg.bsp_max_export_batch_size, 512);
    cr_assert_eq(cfg.metric_export_interval_ms, 60000);
    cr_assert_eq(cfg.metric_export_timeout_ms, 30000);
    cr_assert_str_eq(cfg.prometheus_host, "localhost");
    cr_assert_eq(cfg.prometheus_port, 9464);
    cr_assert_str_eq(cfg.service_name, "");
}

Test(config, empty_values_are_unset)
{
    const char *env[] = {"OTEL_SDK_DISABLED=", "OTEL_EXPORTER_OTLP_ENDPOINT=",
                         "OTEL_BSP_SCHEDULE_DELAY=", "OTEL_TRACES_EXPORTER=", NULL};
    cr_assert_eq(load(env), 0);
    cr_assert_str_eq(cfg.traces.url, "http://localhost:4318/v1/traces");
    cr_assert_eq(cfg.bsp_schedule_delay_ms, 5000);
    cr_assert_eq(cfg.traces_exporters, FO_EXPORTER_OTLP);
}

Test(config, booleans)
{
    const char *t[] = {"OTEL_SDK_DISABLED=TRUE", NULL};
    cr_assert_eq(load(t), 0);
    cr_assert_eq(cfg.disabled, 1);
    const char *f[] = {"OTEL_SDK_DISABLED=false", NULL};
    cr_assert_eq(load(f), 0);
    cr_assert_eq(cfg.disabled, 0);
    const char *bad[] = {"OTEL_SDK_DISABLED=yes", NULL};
    cr_assert_eq(load_captured(bad), 1);
    cr_assert_eq(cfg.disabled, 0);
    cr_assert(strstr(captured, "feast-otel: OTEL_SDK_DISABLED='yes'") == captured);
}

Test(config, endpoint_joining_and_signal_endpoints)
{
    const char *a[] = {"OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318/", NULL};
    load(a);
    cr_assert_str_eq(cfg.traces.url, "http://collector:4318/v1/traces");
    cr_assert_str_eq(cfg.metrics.url, "http://collector:4318/v1/metrics");
    const char *b[] = {"OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318/base",
                       "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://t:1234/custom", NULL};
    load(b);
    cr_assert_str_eq(cfg.traces.url, "http://t:1234/custom", "signal URL used as is");
    cr_assert_str_eq(cfg.metrics.url, "http://c:4318/base/v1/metrics");
    const char *c[] = {"OTEL_EXPORTER_OTLP_ENDPOINT=otel-collector.default.svc:4317", NULL};
    load(c);
    cr_assert_str_eq(cfg.traces.url, "http://otel-collector.default.svc:4317/v1/traces");
}

Test(config, signal_specific_settings_win)
{
    const char *env[] = {"OTEL_EXPORTER_OTLP_TIMEOUT=2000",
                         "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT=3000",
                         "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
                         "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf",
                         "OTEL_EXPORTER_OTLP_COMPRESSION=gzip", NULL};
    cr_assert_eq(load(env), 0);
    cr_assert_eq(cfg.traces.timeout_ms, 2000);
    cr_assert_eq(cfg.metrics.timeout_ms, 3000);
    cr_assert_eq(cfg.traces.protocol, FO_PROTO_HTTP_PROTOBUF);
    cr_assert_eq(cfg.metrics.protocol, FO_PROTO_GRPC);
    cr_assert_eq(cfg.traces.gzip, 1);
    cr_assert_eq(cfg.metrics.gzip, 1);
}

Test(config, headers_percent_decoded_and_never_printed)
{
    const char *env[] = {"OTEL_EXPORTER_OTLP_HEADERS= api-key = a%2Cb%20c ,,x=y=z",
                         "OTEL_EXPORTER_OTLP_METRICS_HEADERS=only=metrics", NULL};
    cr_assert_eq(load(env), 0);
    cr_assert_eq(cfg.traces.n_headers, 2);
    cr_assert_str_eq(cfg.traces.headers[0].key, "api-key");
    cr_assert_str_eq(cfg.traces.headers[0].value, "a,b c");
    cr_assert_str_eq(cfg.traces.headers[1].key, "x");
    cr_assert_str_eq(cfg.traces.headers[1].value, "y=z");
    cr_assert_eq(cfg.metrics.n_headers, 1);
    cr_assert_str_eq(cfg.metrics.headers[0].value, "metrics");

    const char *bad[] = {"OTEL_EXPORTER_OTLP_HEADERS=token=SECRET123,broken", NULL};
    cr_assert_eq(load_captured(bad), 2); /* once per signal */
    cr_assert_eq(cfg.traces.n_headers, 0);
    cr_assert_null(strstr(captured, "SECRET123"));
    cr_assert_not_null(strstr(captured, "OTEL_EXPORTER_OTLP_HEADERS is malformed"));
}

Test(config, header_values_cannot_inject_lines)
{
    const char *crlf[] = {"OTEL_EXPORTER_OTLP_HEADERS=a=1%0d%0aX-Evil: 1", NULL};
    cr_assert_gt(load(crlf), 0);
    cr_assert_eq(cfg.traces.n_headers, 0);
    const char *nul[] = {"OTEL_EXPORTER_OTLP_HEADERS=a=x%00y", NULL};
    cr_assert_gt(load(nul), 0);
    cr_assert_eq(cfg.traces.n_headers, 0);
}

Test(config, resource_attributes_all_or_nothing)
{
    const char *ok[] = {"OTEL_RESOURCE_ATTRIBUTES=a=1, team=ml%2Fops ,k8s.pod.name=p-0", NULL};
    cr_assert_eq(load(ok), 0);
    cr_assert_eq(cfg.n_resource_attrs, 3);
    cr_assert_str_eq(cfg.resource_attrs[1].key, "team");
    cr_assert_str_eq(cfg.resource_attrs[1].value, "ml/ops");
    const char *bad[] = {"OTEL_RESOURCE_ATTRIBUTES=a=1,b=%zz", NULL};
    cr_assert_eq(load_captured(bad), 1);
    cr_assert_eq(cfg.n_resource_attrs, 0, "the whole value is discarded");
    cr_assert_eq(count_lines(captured), 1);
}

Test(config, numbers_reject_garbage_negative_and_overflow)
{
    const char *env[] = {"OTEL_BSP_SCHEDULE_DELAY=abc", "OTEL_BSP_EXPORT_TIMEOUT=-5",
                         "OTEL_METRIC_EXPORT_INTERVAL=99999999999999999999",
                         "OTEL_BSP_MAX_QUEUE_SIZE=100", "OTEL_METRIC_EXPORT_TIMEOUT=250 ",
                         NULL};
    cr_assert_eq(load_captured(env), 3);
    cr_assert_eq(cfg.bsp_schedule_delay_ms, 5000);
    cr_assert_eq(cfg.bsp_export_timeout_ms, 30000);
    cr_assert_eq(cfg.metric_export_interval_ms, 60000);
    cr_assert_eq(cfg.metric_export_timeout_ms, 250);
    cr_assert_eq(cfg.bsp_max_queue_size, 100);
    cr_assert_eq(cfg.bsp_max_export_batch_size, 100, "the default follows a smaller queue");
    cr_assert_eq(count_lines(captured), 3, "%s", captured);
}

Test(config, batch_larger_than_queue_is_clamped_with_a_line)
{
    const char *env[] = {"OTEL_BSP_MAX_QUEUE_SIZE=64", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=512",
                         NULL};
    cr_assert_eq(load_captured(env), 1);
    cr_assert_eq(cfg.bsp_max_export_batch_size, 64);
    cr_assert_not_null(strstr(captured, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"));
}

Test(config, samplers_and_ratio)
{
    const char *a[] = {"OTEL_TRACES_SAMPLER=traceidratio", "OTEL_TRACES_SAMPLER_ARG=0.25", NULL};
    cr_assert_eq(load(a), 0);
    cr_assert_eq(cfg.sampler, FO_SAMPLER_TRACEIDRATIO);
    cr_assert_float_eq(cfg.sampler_arg, 0.25, 1e-12);
    const char *b[] = {"OTEL_TRACES_SAMPLER=parentbased_traceidratio",
                       "OTEL_TRACES_SAMPLER_ARG=1.5", NULL};
    cr_assert_eq(load(b), 1);
    cr_assert_float_eq(cfg.sampler_arg, 1.0, 1e-12);
    const char *c[] = {"OTEL_TRACES_SAMPLER=jaeger_remote", NULL};
    cr_assert_eq(load(c), 1);
    cr_assert_eq(cfg.sampler, FO_SAMPLER_PARENTBASED_ALWAYS_ON);
    const char *d[] = {"OTEL_TRACES_SAMPLER=always_off", "OTEL_TRACES_SAMPLER_ARG=zzz", NULL};
    cr_assert_eq(load(d), 0, "the argument is ignored by samplers that take none");
}

Test(config, exporter_lists)
{
    const char *a[] = {"OTEL_TRACES_EXPORTER= otlp , console ",
                       "OTEL_METRICS_EXPORTER=prometheus,otlp", NULL};
    cr_assert_eq(load(a), 0);
    cr_assert_eq(cfg.traces_exporters, FO_EXPORTER_OTLP | FO_EXPORTER_CONSOLE);
    cr_assert_eq(cfg.metrics_exporters, FO_EXPORTER_OTLP | FO_EXPORTER_PROMETHEUS);
    const char *b[] = {"OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=zipkin", NULL};
    cr_assert_eq(load(b), 1);
    cr_assert_eq(cfg.traces_exporters, 0);
    cr_assert_eq(cfg.metrics_exporters, 0);
    const char *c[] = {"OTEL_TRACES_EXPORTER=prometheus", NULL};
    cr_assert_eq(load(c), 1, "prometheus is not a trace exporter");
}

Test(config, log_level)
{
    const char *a[] = {"FEAST_OTEL_LOG_LEVEL=debug", NULL};
    cr_assert_eq(load(a), 0);
    cr_assert_eq(fo_log_level, FO_LOG_DEBUG);
    const char *b[] = {"FEAST_OTEL_LOG_LEVEL=loud", NULL};
    cr_assert_eq(load(b), 1);
    cr_assert_eq(fo_log_level, FO_LOG_ERROR);
}

Test(config, clock)
{
    const char *none[] = {NULL};
    cr_assert_eq(load(none), 0);
    cr_assert_eq(cfg.clock, FO_CLOCK_AUTO);
    const char *a[] = {"FEAST_OTEL_CLOCK=monotonic", NULL};
    cr_assert_eq(load(a), 0);
    cr_assert_eq(cfg.clock, FO_CLOCK_MONOTONIC);
    const char *b[] = {"FEAST_OTEL_CLOCK=TSC", NULL};
    cr_assert_eq(load(b), 0);
    cr_assert_eq(cfg.clock, FO_CLOCK_TSC);
    const char *c[] = {"FEAST_OTEL_CLOCK=rdtsc", NULL};
    cr_assert_eq(load_captured(c), 1);
    cr_assert_eq(cfg.clock, FO_CLOCK_AUTO);
    cr_assert(strstr(captured, "FEAST_OTEL_CLOCK='rdtsc' is not auto, tsc or monotonic") != NULL,
              "%s", captured);
}

Test(config, grpc_uses_endpoints_as_they_are)
{
    const char *dflt[] = {"OTEL_EXPORTER_OTLP_PROTOCOL=grpc", NULL};
    cr_assert_eq(load(dflt), 0);
    cr_assert_str_eq(cfg.traces.url, "http://localhost:4317");
    cr_assert_str_eq(cfg.metrics.url, "http://localhost:4317");
    /* The Feast chart's example: no scheme, the gRPC port. */
    const char *chart[] = {"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
                           "OTEL_EXPORTER_OTLP_ENDPOINT=otel-collector.default.svc.cluster.local:4317",
                           NULL};
    cr_assert_eq(load_captured(chart), 0);
    cr_assert_str_eq(cfg.traces.url, "http://otel-collector.default.svc.cluster.local:4317");
    cr_assert_str_eq(cfg.metrics.url, "http://otel-collector.default.svc.cluster.local:4317");
    cr_assert_str_eq(captured, "", "the right port for the protocol: no warning");
    const char *mixed[] = {"OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4317/",
                           "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=grpc",
                           "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://c:4318/v1/traces", NULL};
    load(mixed);
    cr_assert_str_eq(cfg.metrics.url, "http://c:4317/");
    cr_assert_str_eq(cfg.traces.url, "http://c:4318/v1/traces");
}

Test(config, http_protobuf_to_the_grpc_port_says_what_to_change)
{
    const char *env[] = {"OTEL_EXPORTER_OTLP_ENDPOINT=otel-collector.default.svc.cluster.local:4317",
                         NULL};
    cr_assert_eq(load_captured(env), 0);
    cr_assert_eq(count_lines(captured), 1, "one line for both signals: %s", captured);
    cr_assert_not_null(strstr(captured, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"));
    cr_assert_not_null(strstr(captured, "4318"));
}

/* The advice names the variable that chose the protocol: with a signal's
 * own, changing the general one would change nothing. */
Test(config, the_port_advice_names_the_signals_own_protocol_variable)
{
    const char *env[] = {"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
                         "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf",
                         "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://collector:4317/v1/traces",
                         "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://collector:4317", NULL};
    cr_assert_eq(load_captured(env), 0);
    cr_assert_eq(count_lines(captured), 1, "%s", captured);
    cr_assert_not_null(strstr(captured, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc"), "%s",
                       captured);
}

Test(config, grpc_to_the_http_port_says_what_to_change)
{
    const char *env[] = {"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
                         "OTEL_EXPORTER_OTLP_ENDPOINT=http://[::1]:4318", NULL};
    cr_assert_eq(load_captured(env), 0);
    cr_assert_eq(count_lines(captured), 1, "%s", captured);
    cr_assert_not_null(strstr(captured, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"));
    const char *fine[] = {"OTEL_EXPORTER_OTLP_ENDPOINT=http://[::1]:4318", NULL};
    cr_assert_eq(load(fine), 0);
    cr_assert_str_eq(cfg.traces.url, "http://[::1]:4318/v1/traces");
}

Test(config, header_list_edge_cases)
{
    /* Whitespace around keys and values is trimmed; '=' may appear in a
     * value; percent-encoded bytes are decoded once. */
    const char *env[] = {"OTEL_EXPORTER_OTLP_HEADERS=\tAuthorization = Basic%20dXNlcjpwYXNz%3D ,"
                         "k2=%2541",
                         NULL};
    cr_assert_eq(load(env), 0);
    cr_assert_eq(cfg.traces.n_headers, 2);
    cr_assert_str_eq(cfg.traces.headers[0].key, "Authorization");
    cr_assert_str_eq(cfg.traces.headers[0].value, "Basic dXNlcjpwYXNz=");
    cr_assert_str_eq(cfg.traces.headers[1].value, "%41", "decoded once, not twice");
}

Test(config, route_templates)
{
    const char *env[] = {"FEAST_OTEL_ROUTES= /v1/items/{id} ,,/other,bad,/q?x=1", NULL};
    cr_assert_eq(load_captured(env), 2);
    cr_assert_eq(cfg.n_routes, 2);
    cr_assert_str_eq(cfg.routes[0], "/v1/items/{id}");
    cr_assert_str_eq(cfg.routes[1], "/other");
    cr_assert_not_null(strstr(captured, "'bad' ignored"));
}

Test(config, an_empty_signal_value_falls_back_to_the_general_one)
{
    /* The spec: an empty value is the same as unset, so the general
     * variable applies, not the default. */
    const char *env[] = {"OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318",
                         "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=",
                         "OTEL_EXPORTER_OTLP_TIMEOUT=2500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=",
                         "OTEL_EXPORTER_OTLP_HEADERS=a=1", "OTEL_EXPORTER_OTLP_METRICS_HEADERS=",
                         "OTEL_EXPORTER_OTLP_COMPRESSION=gzip",
                         "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=",
                         "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=",
                         NULL};
    cr_assert_eq(load_captured(env), 0, "%s", captured);
    cr_assert_str_eq(cfg.traces.url, "http://c:4318", "gRPC: the general endpoint as it is");
    cr_assert_eq(cfg.traces.timeout_ms, 2500);
    cr_assert_eq(cfg.traces.gzip, 1);
    cr_assert_eq(cfg.metrics.protocol, FO_PROTO_GRPC);
    cr_assert_eq(cfg.metrics.n_headers, 1);
    cr_assert_str_eq(cfg.metrics.headers[0].key, "a");
    const char *http[] = {"OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318",
                          "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=", NULL};
    cr_assert_eq(load(http), 0);
    cr_assert_str_eq(cfg.metrics.url, "http://c:4318/v1/metrics", "joined, not used as is");
}

Test(config, headers_with_an_empty_value_an_empty_key_or_a_cut_escape)
{
    /* An empty value is a value (W3C Baggage allows it; so does HTTP). */
    const char *empty_value[] = {"OTEL_EXPORTER_OTLP_HEADERS=k=,x-tenant = ", NULL};
    cr_assert_eq(load(empty_value), 0);
    cr_assert_eq(cfg.traces.n_headers, 2);
    cr_assert_str_eq(cfg.traces.headers[0].key, "k");
    cr_assert_str_eq(cfg.traces.headers[0].value, "");
    cr_assert_str_eq(cfg.traces.headers[1].key, "x-tenant");
    cr_assert_str_eq(cfg.traces.headers[1].value, "");

    /* A header needs a name; a cut escape cannot be decoded. Either one
     * discards the whole list, with one line that does not print it. */
    static const char *const bad[] = {
        "OTEL_EXPORTER_OTLP_HEADERS=ok=1,=SECRET9",
        "OTEL_EXPORTER_OTLP_HEADERS=ok=1,k=SECRET9%4",
        "OTEL_EXPORTER_OTLP_HEADERS=k=SECRET9%4,ok=1",
        "OTEL_EXPORTER_OTLP_HEADERS=k=SECRET9%",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *env[] = {bad[i], NULL};
        cr_assert_eq(load_captured(env), 2, "%s", bad[i]); /* once per signal */
        cr_assert_eq(cfg.traces.n_headers, 0, "%s", bad[i]);
        cr_assert_eq(cfg.metrics.n_headers, 0, "%s", bad[i]);
        /* The same cause is not repeated within a minute. */
        cr_assert_eq(count_lines(captured), i == 0, "%s: %s", bad[i], captured);
        cr_assert_null(strstr(captured, "SECRET9"));
    }
}

Test(config, an_unknown_protocol_keeps_the_default_with_one_line)
{
    const char *env[] = {"OTEL_EXPORTER_OTLP_PROTOCOL=http/json", NULL};
    cr_assert_eq(load_captured(env), 2); /* once per signal */
    cr_assert_eq(cfg.traces.protocol, FO_PROTO_HTTP_PROTOBUF);
    cr_assert_eq(cfg.metrics.protocol, FO_PROTO_HTTP_PROTOBUF);
    cr_assert_str_eq(cfg.traces.url, "http://localhost:4318/v1/traces");
    cr_assert_eq(count_lines(captured), 1, "%s", captured);
    cr_assert_not_null(strstr(captured, "OTEL_EXPORTER_OTLP_PROTOCOL='http/json'"));
    const char *sig[] = {"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
                         "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=GRPC", NULL};
    cr_assert_eq(load_captured(sig), 1, "values are case-sensitive, as the spec lists them");
    cr_assert_eq(cfg.traces.protocol, FO_PROTO_HTTP_PROTOBUF);
    cr_assert_eq(cfg.metrics.protocol, FO_PROTO_GRPC);
    cr_assert_eq(count_lines(captured), 1, "%s", captured);
    cr_assert_not_null(strstr(captured, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"));
}

Test(config, an_unknown_compression_keeps_the_default_with_one_line)
{
    const char *env[] = {"OTEL_EXPORTER_OTLP_COMPRESSION=zstd", NULL};
    cr_assert_eq(load_captured(env), 2); /* once per signal */
    cr_assert_eq(cfg.traces.gzip, 0);
    cr_assert_eq(cfg.metrics.gzip, 0);
    cr_assert_eq(count_lines(captured), 1, "%s", captured);
    cr_assert_not_null(strstr(captured, "OTEL_EXPORTER_OTLP_COMPRESSION='zstd'"));
}

Test(config, compression_per_signal)
{
    const char *env[] = {"OTEL_EXPORTER_OTLP_COMPRESSION=gzip",
                         "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION=none", NULL};
    cr_assert_eq(load(env), 0);
    cr_assert_eq(cfg.traces.gzip, 1);
    cr_assert_eq(cfg.metrics.gzip, 0);
    const char *only[] = {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=gzip", NULL};
    cr_assert_eq(load(only), 0);
    cr_assert_eq(cfg.traces.gzip, 1);
    cr_assert_eq(cfg.metrics.gzip, 0);
}

Test(config, url_schemes_are_case_insensitive)
{
    /* RFC 3986 3.1: schemes are case-insensitive, and the canonical form is
     * lowercase. The host keeps its case (a resolver ignores it anyway). */
    const char *a[] = {"OTEL_EXPORTER_OTLP_ENDPOINT=HTTP://Collector:4318", NULL};
    cr_assert_eq(load(a), 0);
    cr_assert_str_eq(cfg.traces.url, "http://Collector:4318/v1/traces");
    cr_assert_str_eq(cfg.metrics.url, "http://Collector:4318/v1/metrics");
    const char *b[] = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=Http://c:4318/X/v1/traces",
                       "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=grpc",
                       "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=hTTp://c:4317", NULL};
    cr_assert_eq(load(b), 0);
    cr_assert_str_eq(cfg.traces.url, "http://c:4318/X/v1/traces", "only the scheme changes");
    cr_assert_str_eq(cfg.metrics.url, "http://c:4317");
    const char *c[] = {"OTEL_EXPORTER_OTLP_ENDPOINT=HTTPS://c:4318", NULL};
    load(c);
    cr_assert_str_eq(cfg.traces.url, "https://c:4318/v1/traces");
}

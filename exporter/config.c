/* config.c - reads the OTEL_* and FEAST_OTEL_* environment (see config.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "log.h"

typedef const char *(*getenv_fn)(const char *);

/* An environment value, or NULL when unset or empty (the spec's rule). */
static const char *get(getenv_fn env, const char *name)
{
    const char *v = env(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static void copy(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void fo_config_defaults(struct fo_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->traces_exporters = FO_EXPORTER_OTLP;
    cfg->metrics_exporters = FO_EXPORTER_OTLP;
    strcpy(cfg->traces.url, "http://localhost:4318/v1/traces");
    strcpy(cfg->metrics.url, "http://localhost:4318/v1/metrics");
    cfg->traces.timeout_ms = cfg->metrics.timeout_ms = 10000;
    cfg->sampler = FO_SAMPLER_PARENTBASED_ALWAYS_ON;
    cfg->sampler_arg = 1.0;
    cfg->bsp_schedule_delay_ms = 5000;
    cfg->bsp_export_timeout_ms = 30000;
    cfg->bsp_max_queue_size = 2048;
    cfg->body_budget = 256 * 1024;
    cfg->bsp_max_export_batch_size = 512;
    cfg->metric_export_interval_ms = 60000;
    cfg->metric_export_timeout_ms = 30000;
    strcpy(cfg->prometheus_host, "localhost");
    cfg->prometheus_port = 9464;
    cfg->log_level = FO_LOG_ERROR;
}

/* Booleans: only "true" is true, only "false" is false (case-insensitive). */
static int get_bool(getenv_fn env, const char *name, int *bad)
{
    const char *v = get(env, name);
    if (v == NULL || strcasecmp(v, "false") == 0)
        return 0;
    if (strcasecmp(v, "true") == 0)
        return 1;
    fo_log(FO_LOG_ERROR, name, "%s='%s' is not a boolean (true or false); using false",
           name, v);
    (*bad)++;
    return 0;
}

/*
 * One of n names (case-insensitive): *out becomes its index. Unset leaves
 * *out as it is; any other value is reported, naming the choices as listed,
 * and leaves it too.
 */
static void get_choice(getenv_fn env, const char *name, const char *const *names, int n,
                       const char *listed, int *out, int *bad)
{
    const char *v = get(env, name);
    if (v == NULL)
        return;
    for (int i = 0; i < n; i++)
        if (strcasecmp(v, names[i]) == 0) {
            *out = i;
            return;
        }
    fo_log(FO_LOG_ERROR, name, "%s='%s' is not %s; using %s", name, v, listed, names[*out]);
    (*bad)++;
}

/* A non-negative integer (milliseconds, sizes) no larger than max. */
static uint32_t get_uint(getenv_fn env, const char *name, uint32_t def, uint32_t max,
                         int *bad)
{
    const char *v = get(env, name);
    if (v == NULL)
        return def;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno != 0 || x > max) {
        fo_log(FO_LOG_ERROR, name, "%s='%s' is not a whole number from 0 to %u; using %u",
               name, v, max, def);
        (*bad)++;
        return def;
    }
    return (uint32_t)x;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes [s, s+n) into dst (NUL-terminated). Returns -1 on a bad
 * escape or when it does not fit. */
static int pct_decode(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
            if (c == '\0')
                return -1; /* would cut the string short */
        }
        if (o + 1 >= cap)
            return -1;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return 0;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/*
 * Walks a comma-separated list: sets [*s, *e) to the next item, trimmed,
 * moves *p past it and returns 1; returns 0 at the end of the list.
 */
static int next_item(const char **p, const char **s, const char **e)
{
    if (**p == '\0')
        return 0;
    const char *comma = strchr(*p, ',');
    const char *end = comma != NULL ? comma : *p + strlen(*p);
    *s = *p;
    *e = end;
    trim(s, e);
    *p = comma != NULL ? comma + 1 : end;
    return 1;
}

/*
 * Parses "k1=v1,k2=v2" with percent-encoded values into kv. Empty entries
 * are skipped. Returns the number of pairs, or -1 when any entry is
 * malformed (the caller then discards the whole value, as the spec says).
 */
static int parse_kv_list(const char *v, struct fo_kv *kv, size_t max)
{
    size_t n = 0;
    const char *p = v, *s, *e;
    while (next_item(&p, &s, &e)) {
        if (s < e) {
            const char *eq = memchr(s, '=', (size_t)(e - s));
            if (eq == NULL || n == max)
                return -1;
            const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
            trim(&ks, &ke);
            trim(&vs, &ve);
            if (ks == ke || pct_decode(kv[n].key, sizeof kv[n].key, ks,
                                       (size_t)(ke - ks)) != 0 ||
                pct_decode(kv[n].value, sizeof kv[n].value, vs, (size_t)(ve - vs)) != 0)
                return -1;
            /* Decoded CR, LF or NUL would split an HTTP header line. */
            if (strpbrk(kv[n].key, "\r\n") != NULL || strpbrk(kv[n].value, "\r\n") != NULL)
                return -1;
            n++;
        }
    }
    return (int)n;
}

static unsigned get_exporters(getenv_fn env, const char *name, int allow_prometheus,
                              int *bad)
{
    const char *v = get(env, name);
    if (v == NULL)
        return FO_EXPORTER_OTLP;
    unsigned bits = 0;
    const char *p = v, *s, *e;
    while (next_item(&p, &s, &e)) {
        size_t n = (size_t)(e - s);
        if (n == 4 && strncmp(s, "otlp", 4) == 0)
            bits |= FO_EXPORTER_OTLP;
        else if (n == 7 && strncmp(s, "console", 7) == 0)
            bits |= FO_EXPORTER_CONSOLE;
        else if (n == 10 && strncmp(s, "prometheus", 10) == 0 && allow_prometheus)
            bits |= FO_EXPORTER_PROMETHEUS;
        else if (n == 4 && strncmp(s, "none", 4) == 0)
            ;
        else if (n > 0) {
            fo_log(FO_LOG_ERROR, name, "%s: unknown exporter '%.*s' ignored (known: otlp, "
                   "console%s, none)", name, (int)n, s, allow_prometheus ? ", prometheus" : "");
            (*bad)++;
        }
    }
    return bits;
}

/* Schemes are case-insensitive (RFC 3986 3.1): "HTTP://c" is http://c, and
 * the rest of the library compares the lowercase, canonical form. */
static void lower_scheme(char *url)
{
    char *sep = strstr(url, "://");
    if (sep == NULL)
        return;
    for (char *p = url; p < sep; p++)
        if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
            return; /* not a scheme: leave it for the endpoint check to refuse */
    for (char *p = url; p < sep; p++)
        *p = (char)tolower((unsigned char)*p);
}

/* Joins the base endpoint and a signal path with exactly one '/'. An
 * endpoint without a scheme ("collector:4318") is taken as http://. */
static void signal_url(char *dst, size_t cap, const char *base, const char *path)
{
    const char *scheme = strstr(base, "://") != NULL ? "" : "http://";
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    size_t sl = strlen(scheme);
    if (sl + bl + strlen(path) + 1 > cap) {
        dst[0] = '\0';
        return;
    }
    memcpy(dst, scheme, sl);
    memcpy(dst + sl, base, bl);
    strcpy(dst + sl + bl, path);
    lower_scheme(dst);
}

static void plain_url(char *dst, size_t cap, const char *url)
{
    const char *scheme = strstr(url, "://") != NULL ? "" : "http://";
    if (strlen(scheme) + strlen(url) + 1 > cap) {
        dst[0] = '\0';
        return;
    }
    strcpy(dst, scheme);
    strcat(dst, url);
    lower_scheme(dst);
}

/* Reads one OTLP setting: the signal's own variable, else the general one. */
static const char *signal_get(getenv_fn env, const char *signal, const char *what,
                              const char **used)
{
    char name[96];
    strcpy(name, "OTEL_EXPORTER_OTLP_");
    strcat(name, signal); /* "TRACES_" */
    strcat(name, what + 1); /* "TIMEOUT" */
    /* The name must outlive this call for fo_log's per-cause rate limit. */
    static const char *const names[] = {
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_HEADERS",
    };
    const char *v = get(env, name);
    if (v == NULL) {
        strcpy(name, "OTEL_EXPORTER_OTLP_");
        strcat(name, what + 1);
        v = get(env, name);
    }
    *used = "OTEL_EXPORTER_OTLP";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i], name) == 0)
            *used = names[i];
    return v;
}

/* The well-known ports say which protocol the collector speaks there: say
 * once what to change when the configured protocol is the other one.
 * var is the protocol variable in effect (a signal's own, or the general). */
static void warn_port(const struct fo_otlp_target *t, const char *var)
{
    const char *hp = strstr(t->url, "://");
    hp = hp != NULL ? hp + 3 : t->url;
    size_t n = strcspn(hp, "/?#");
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (hp[i] == ':' || hp[i] == ']')
            colon = hp[i] == ':' ? hp + i : NULL;
    if (colon == NULL)
        return;
    size_t pl = (size_t)(hp + n - colon - 1);
    if (t->protocol == FO_PROTO_HTTP_PROTOBUF && pl == 4 && memcmp(colon + 1, "4317", 4) == 0)
        fo_log(FO_LOG_ERROR, "port4317", "the OTLP endpoint %s is the OTLP/gRPC port 4317 "
               "but the protocol is http/protobuf: set %s=grpc, or use port 4318", t->url, var);
    else if (t->protocol == FO_PROTO_GRPC && pl == 4 && memcmp(colon + 1, "4318", 4) == 0)
        fo_log(FO_LOG_ERROR, "port4318", "the OTLP endpoint %s is the OTLP/HTTP port 4318 "
               "but the protocol is grpc: set %s=http/protobuf, or use port 4317", t->url, var);
}

/* FEAST_OTEL_ROUTES: route templates ("/v1/items/{id}") beyond Feast's own,
 * comma-separated; each must start with '/'. */
static void load_routes(struct fo_config *cfg, getenv_fn env, int *bad)
{
    const char *v = get(env, "FEAST_OTEL_ROUTES");
    cfg->n_routes = 0;
    for (const char *p = v; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, ",");
        const char *s = p;
        size_t k = n;
        while (k > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            k--;
        }
        while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
            k--;
        if (k > 0 && (s[0] != '/' || k >= FO_CFG_STR_MAX || cfg->n_routes == FO_CFG_MAX_ROUTES ||
                      memchr(s, '?', k) != NULL)) {
            fo_log(FO_LOG_ERROR, "FEAST_OTEL_ROUTES", "FEAST_OTEL_ROUTES: '%.*s' ignored (a "
                   "route starts with '/', has no query, and there are at most %d)", (int)k, s,
                   FO_CFG_MAX_ROUTES);
            (*bad)++;
        } else if (k > 0) {
            memcpy(cfg->routes[cfg->n_routes], s, k);
            cfg->routes[cfg->n_routes++][k] = '\0';
        }
        p += n;
        if (*p == ',')
            p++;
    }
}

static void load_target(struct fo_otlp_target *t, getenv_fn env, const char *signal,
                        const char *path, int *bad)
{
    const char *used;
    char own[64];
    strcpy(own, "OTEL_EXPORTER_OTLP_");
    strcat(own, signal);
    strcat(own, "ENDPOINT");
    const char *v;
    v = signal_get(env, signal, "_TIMEOUT", &used);
    if (v != NULL) {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno != 0 || x > 3600000) {
            fo_log(FO_LOG_ERROR, used, "%s='%s' is not a timeout in milliseconds; using 10000",
                   used, v);
            (*bad)++;
        } else {
            t->timeout_ms = (uint32_t)x;
        }
    }

    v = signal_get(env, signal, "_PROTOCOL", &used);
    const char *protocol_var = used;
    if (v != NULL) {
        if (strcmp(v, "grpc") == 0) {
            t->protocol = FO_PROTO_GRPC;
        } else if (strcmp(v, "http/protobuf") != 0) {
            fo_log(FO_LOG_ERROR, used, "%s='%s' is not supported (grpc or http/protobuf); "
                   "using http/protobuf", used, v);
            (*bad)++;
        }
    }

    /* OTLP/HTTP appends the signal's path to the general endpoint; OTLP/gRPC
     * names the method itself and uses every endpoint as it is. */
    int grpc = t->protocol == FO_PROTO_GRPC;
    const char *base = grpc ? "http://localhost:4317" : "http://localhost:4318";
    if (grpc)
        plain_url(t->url, sizeof t->url, base);
    v = get(env, own);
    if (v != NULL)
        plain_url(t->url, sizeof t->url, v);
    else if ((v = get(env, "OTEL_EXPORTER_OTLP_ENDPOINT")) != NULL && grpc)
        plain_url(t->url, sizeof t->url, v);
    else if (v != NULL)
        signal_url(t->url, sizeof t->url, v, path);
    if (t->url[0] == '\0') {
        fo_log(FO_LOG_ERROR, "OTEL_EXPORTER_OTLP_ENDPOINT",
               "the OTLP endpoint is too long (at most %d bytes); using the default",
               FO_CFG_URL_MAX - 16);
        if (grpc)
            plain_url(t->url, sizeof t->url, base);
        else
            signal_url(t->url, sizeof t->url, base, path);
        (*bad)++;
    }
    warn_port(t, protocol_var);

    v = signal_get(env, signal, "_COMPRESSION", &used);
    if (v != NULL) {
        if (strcmp(v, "gzip") == 0) {
            t->gzip = 1;
        } else if (strcmp(v, "none") != 0) {
            fo_log(FO_LOG_ERROR, used, "%s='%s' is not gzip or none; using none", used, v);
            (*bad)++;
        }
    }

    v = signal_get(env, signal, "_HEADERS", &used);
    if (v != NULL) {
        int n = parse_kv_list(v, t->headers, FO_CFG_MAX_HEADERS);
        if (n < 0) {
            /* Never print the value: headers carry credentials. */
            fo_log(FO_LOG_ERROR, used, "%s is malformed (expected key=value pairs separated "
                   "by commas, at most %d); no headers are sent", used, FO_CFG_MAX_HEADERS);
            (*bad)++;
            t->n_headers = 0;
        } else {
            t->n_headers = (size_t)n;
        }
    }
}

int fo_config_load(struct fo_config *cfg, const char *(*env)(const char *))
{
    int bad = 0;
    fo_config_defaults(cfg);

    static const char *const levels[] = {[FO_LOG_ERROR] = "error", [FO_LOG_WARN] = "warn",
                                         [FO_LOG_INFO] = "info", [FO_LOG_DEBUG] = "debug"};
    get_choice(env, "FEAST_OTEL_LOG_LEVEL", levels, 4, "error, warn, info or debug",
               &cfg->log_level, &bad);
    fo_log_level = cfg->log_level;
    const char *v;

    cfg->disabled = get_bool(env, "OTEL_SDK_DISABLED", &bad);

    if ((v = get(env, "OTEL_SERVICE_NAME")) != NULL)
        copy(cfg->service_name, sizeof cfg->service_name, v, strlen(v));
    if ((v = get(env, "OTEL_RESOURCE_ATTRIBUTES")) != NULL) {
        int n = parse_kv_list(v, cfg->resource_attrs, FO_CFG_MAX_RESOURCE_ATTRS);
        if (n < 0) {
            fo_log(FO_LOG_ERROR, "OTEL_RESOURCE_ATTRIBUTES", "OTEL_RESOURCE_ATTRIBUTES is "
                   "malformed (expected key=value pairs, percent-encoded, at most %d); "
                   "ignoring all of it", FO_CFG_MAX_RESOURCE_ATTRS);
            bad++;
        } else {
            cfg->n_resource_attrs = (size_t)n;
        }
    }

    cfg->traces_exporters = get_exporters(env, "OTEL_TRACES_EXPORTER", 0, &bad);
    cfg->metrics_exporters = get_exporters(env, "OTEL_METRICS_EXPORTER", 1, &bad);
    load_target(&cfg->traces, env, "TRACES_", "/v1/traces", &bad);
    load_target(&cfg->metrics, env, "METRICS_", "/v1/metrics", &bad);

    if ((v = get(env, "OTEL_TRACES_SAMPLER")) != NULL) {
        static const struct {
            const char *name;
            enum fo_sampler s;
        } samplers[] = {
            {"always_on", FO_SAMPLER_ALWAYS_ON},
            {"always_off", FO_SAMPLER_ALWAYS_OFF},
            {"traceidratio", FO_SAMPLER_TRACEIDRATIO},
            {"parentbased_always_on", FO_SAMPLER_PARENTBASED_ALWAYS_ON},
            {"parentbased_always_off", FO_SAMPLER_PARENTBASED_ALWAYS_OFF},
            {"parentbased_traceidratio", FO_SAMPLER_PARENTBASED_TRACEIDRATIO},
        };
        size_t i = 0;
        while (i < sizeof samplers / sizeof samplers[0] && strcmp(samplers[i].name, v) != 0)
            i++;
        if (i == sizeof samplers / sizeof samplers[0]) {
            fo_log(FO_LOG_ERROR, "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER='%s' is not a "
                   "known sampler; using parentbased_always_on", v);
            bad++;
        } else {
            cfg->sampler = samplers[i].s;
        }
    }
    if ((v = get(env, "OTEL_TRACES_SAMPLER_ARG")) != NULL &&
        (cfg->sampler == FO_SAMPLER_TRACEIDRATIO ||
         cfg->sampler == FO_SAMPLER_PARENTBASED_TRACEIDRATIO)) {
        char *end;
        double x = strtod(v, &end);
        if (*end != '\0' || end == v || !(x >= 0.0 && x <= 1.0)) {
            fo_log(FO_LOG_ERROR, "OTEL_TRACES_SAMPLER_ARG", "OTEL_TRACES_SAMPLER_ARG='%s' is "
                   "not a ratio from 0 to 1; using 1.0", v);
            bad++;
        } else {
            cfg->sampler_arg = x;
        }
    }

    cfg->bsp_schedule_delay_ms = get_uint(env, "OTEL_BSP_SCHEDULE_DELAY", 5000, 3600000, &bad);
    cfg->bsp_export_timeout_ms = get_uint(env, "OTEL_BSP_EXPORT_TIMEOUT", 30000, 3600000, &bad);
    cfg->bsp_max_queue_size = get_uint(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1u << 20, &bad);
    cfg->body_budget = get_uint(env, "FEAST_OTEL_BODY_BUDGET", 256 * 1024, 64u << 20, &bad);
    static const char *const clocks[] = {[FO_CLOCK_AUTO] = "auto", [FO_CLOCK_TSC] = "tsc",
                                         [FO_CLOCK_MONOTONIC] = "monotonic"};
    get_choice(env, "FEAST_OTEL_CLOCK", clocks, 3, "auto, tsc or monotonic", &cfg->clock, &bad);
    load_routes(cfg, env, &bad);
    cfg->bsp_max_export_batch_size =
        get_uint(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1u << 20, &bad);
    if (cfg->bsp_max_queue_size == 0) {
        fo_log(FO_LOG_ERROR, "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_QUEUE_SIZE must be at "
               "least 1; using 2048");
        cfg->bsp_max_queue_size = 2048;
        bad++;
    }
    if (get(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE") == NULL &&
        cfg->bsp_max_export_batch_size > cfg->bsp_max_queue_size) {
        /* Only the default is too large: follow the queue size silently. */
        cfg->bsp_max_export_batch_size = cfg->bsp_max_queue_size;
    } else if (cfg->bsp_max_export_batch_size == 0 ||
               cfg->bsp_max_export_batch_size > cfg->bsp_max_queue_size) {
        fo_log(FO_LOG_ERROR, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE "
               "must be from 1 to OTEL_BSP_MAX_QUEUE_SIZE (%u); using %u",
               cfg->bsp_max_queue_size,
               cfg->bsp_max_queue_size < 512 ? cfg->bsp_max_queue_size : 512);
        cfg->bsp_max_export_batch_size =
            cfg->bsp_max_queue_size < 512 ? cfg->bsp_max_queue_size : 512;
        bad++;
    }
    cfg->metric_export_interval_ms =
        get_uint(env, "OTEL_METRIC_EXPORT_INTERVAL", 60000, 86400000, &bad);
    cfg->metric_export_timeout_ms =
        get_uint(env, "OTEL_METRIC_EXPORT_TIMEOUT", 30000, 3600000, &bad);
    if (cfg->metric_export_interval_ms == 0) {
        fo_log(FO_LOG_ERROR, "OTEL_METRIC_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_INTERVAL must "
               "be positive; using 60000");
        cfg->metric_export_interval_ms = 60000;
        bad++;
    }

    if ((v = get(env, "OTEL_EXPORTER_PROMETHEUS_HOST")) != NULL)
        copy(cfg->prometheus_host, sizeof cfg->prometheus_host, v, strlen(v));
    cfg->prometheus_port = (uint16_t)get_uint(env, "OTEL_EXPORTER_PROMETHEUS_PORT", 9464,
                                              65535, &bad);
    return bad;
}

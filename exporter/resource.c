/* resource.c - this process's resource attributes (see resource.h). */
#include "resource.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static struct fo_attr *slot(struct fo_resource *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->attrs[i].key, key) == 0)
            return &r->attrs[i];
    if (r->n == FO_RESOURCE_MAX)
        return NULL;
    struct fo_attr *a = &r->attrs[r->n++];
    memset(a, 0, sizeof *a);
    snprintf(a->key, sizeof a->key, "%s", key);
    return a;
}

static void set_str(struct fo_resource *r, const char *key, const char *v)
{
    struct fo_attr *a = slot(r, key);
    if (a != NULL) {
        size_t n = strlen(v);
        if (n > sizeof a->str - 1)
            n = sizeof a->str - 1;
        a->is_int = 0;
        memcpy(a->str, v, n); /* long values are truncated */
        a->str[n] = '\0';
    }
}

static void set_int(struct fo_resource *r, const char *key, int64_t v)
{
    struct fo_attr *a = slot(r, key);
    if (a != NULL) {
        a->is_int = 1;
        a->num = v;
    }
}

static void uuid4(char out[37])
{
    unsigned char b[16];
    /* Non-blocking: early in boot the pool may not be ready, and waiting
     * for it would stall the exporter thread. */
    if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
        /* No entropy yet: pid and clock still tell processes apart. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)ts.tv_nsec;
        for (int i = 0; i < 16; i++) {
            x += 0x9e3779b97f4a7c15u; /* splitmix64 steps */
            uint64_t z = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
            b[i] = (unsigned char)(z ^ (z >> 27));
        }
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

void fo_resource_build(struct fo_resource *r, const struct fo_config *cfg)
{
    memset(r, 0, sizeof *r);
    char exe[512] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    /* An executable replaced on disk (an upgrade) reads "<path> (deleted)". */
    size_t len = strlen(exe);
    if (len > 10 && strcmp(exe + len - 10, " (deleted)") == 0)
        exe[len - 10] = '\0';
    const char *base = strrchr(exe, '/');
    base = base != NULL ? base + 1 : exe;

    char name[sizeof "unknown_service:" + 512];
    snprintf(name, sizeof name, base[0] != '\0' ? "unknown_service:%s" : "unknown_service",
             base);
    set_str(r, "service.name", name);
    for (size_t i = 0; i < cfg->n_resource_attrs; i++)
        set_str(r, cfg->resource_attrs[i].key, cfg->resource_attrs[i].value);
    if (cfg->service_name[0] != '\0')
        set_str(r, "service.name", cfg->service_name);

    /* These describe this very process: a user's value would be wrong in
     * every worker but one. */
    char id[37];
    uuid4(id);
    set_str(r, "service.instance.id", id);
    set_int(r, "process.pid", getpid());
    if (base[0] != '\0') {
        set_str(r, "process.executable.name", base);
        set_str(r, "process.executable.path", exe);
    }
    char host[256];
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        if (fo_resource_get(r, "host.name") == NULL)
            set_str(r, "host.name", host);
    }
    set_str(r, "telemetry.sdk.name", "feast-otel");
    /* telemetry.sdk.language is required, and its list of well-known values
     * has no C. The conventions say a listed value must be used only when one
     * applies and a custom value may be used otherwise: "cpp" would describe
     * a different SDK, so we say what we are. */
    set_str(r, "telemetry.sdk.language", "c");
    set_str(r, "telemetry.sdk.version", FO_VERSION);
}

const struct fo_attr *fo_resource_get(const struct fo_resource *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->attrs[i].key, key) == 0)
            return &r->attrs[i];
    return NULL;
}

/* test_resource.c - the process's resource attributes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exporter/resource.h"

static struct fo_config cfg;

static void setup(void)
{
    fo_config_defaults(&cfg);
}

TestSuite(resource, .init = setup);

static void add_attr(const char *key, const char *value)
{
    snprintf(cfg.resource_attrs[cfg.n_resource_attrs].key, FO_CFG_STR_MAX, "%s", key);
    snprintf(cfg.resource_attrs[cfg.n_resource_attrs].value, FO_CFG_STR_MAX, "%s", value);
    cfg.n_resource_attrs++;
}

static const char *str(const struct fo_resource *r, const char *key)
{
    const struct fo_attr *a = fo_resource_get(r, key);
    cr_assert_not_null(a, "no %s", key);
    cr_assert(!a->is_int, "%s is a string", key);
    return a->str;
}

static void exe_name(char *path, size_t cap, const char **base)
{
    ssize_t n = readlink("/proc/self/exe", path, cap - 1);
    cr_assert_gt(n, 0);
    path[n] = '\0';
    *base = strrchr(path, '/') + 1;
}

static int is_uuid4(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!strchr("0123456789abcdef", s[i])) {
            return 0;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

Test(resource, has_every_attribute_with_its_type)
{
    struct fo_resource r;
    fo_resource_build(&r, &cfg);
    char path[512], host[256];
    const char *base;
    exe_name(path, sizeof path, &base);
    gethostname(host, sizeof host);
    char want[600];
    snprintf(want, sizeof want, "unknown_service:%s", base);
    cr_assert_str_eq(str(&r, "service.name"), want);
    const struct fo_attr *pid = fo_resource_get(&r, "process.pid");
    cr_assert_not_null(pid);
    cr_assert(pid->is_int, "process.pid is an int");
    cr_assert_eq(pid->num, getpid());
    cr_assert_str_eq(str(&r, "process.executable.name"), base);
    cr_assert_str_eq(str(&r, "process.executable.path"), path);
    cr_assert_str_eq(str(&r, "host.name"), host);
    cr_assert_str_eq(str(&r, "telemetry.sdk.name"), "feast-otel");
    cr_assert_str_eq(str(&r, "telemetry.sdk.language"), "c");
    cr_assert_str_eq(str(&r, "telemetry.sdk.version"), FO_VERSION);
    cr_assert(is_uuid4(str(&r, "service.instance.id")), "%s", str(&r, "service.instance.id"));
    cr_assert_eq(r.n, 9, "no other attribute: %zu", r.n);
    cr_assert_null(fo_resource_get(&r, "nope"));
}

Test(resource, service_name_precedence)
{
    struct fo_resource r;
    add_attr("service.name", "from-attrs");
    fo_resource_build(&r, &cfg);
    cr_assert_str_eq(str(&r, "service.name"), "from-attrs");
    strcpy(cfg.service_name, "from-env");
    fo_resource_build(&r, &cfg);
    cr_assert_str_eq(str(&r, "service.name"), "from-env", "OTEL_SERVICE_NAME wins");
    size_t names = 0;
    for (size_t i = 0; i < r.n; i++)
        names += strcmp(r.attrs[i].key, "service.name") == 0;
    cr_assert_eq(names, 1);
}

Test(resource, user_attributes_are_kept_but_never_describe_another_process)
{
    struct fo_resource r;
    add_attr("deployment.environment", "prod");
    add_attr("k8s.pod.name", "feast-7d9");
    add_attr("host.name", "node-1");
    add_attr("process.pid", "1");
    add_attr("telemetry.sdk.name", "other");
    fo_resource_build(&r, &cfg);
    cr_assert_str_eq(str(&r, "deployment.environment"), "prod");
    cr_assert_str_eq(str(&r, "k8s.pod.name"), "feast-7d9");
    cr_assert_str_eq(str(&r, "host.name"), "node-1", "the user knows the host better");
    cr_assert(fo_resource_get(&r, "process.pid")->is_int);
    cr_assert_eq(fo_resource_get(&r, "process.pid")->num, getpid());
    cr_assert_str_eq(str(&r, "telemetry.sdk.name"), "feast-otel");
}

Test(resource, the_most_user_attributes_all_fit)
{
    struct fo_resource r;
    for (int i = 0; i < FO_CFG_MAX_RESOURCE_ATTRS; i++) {
        char k[32];
        snprintf(k, sizeof k, "a%d", i);
        add_attr(k, "v");
    }
    fo_resource_build(&r, &cfg);
    cr_assert_leq(r.n, FO_RESOURCE_MAX);
    cr_assert_not_null(fo_resource_get(&r, "a31"));
    cr_assert_not_null(fo_resource_get(&r, "process.pid"));
    cr_assert_not_null(fo_resource_get(&r, "telemetry.sdk.version"));
}

Test(resource, a_forked_child_gets_its_own_pid_and_instance)
{
    struct fo_resource parent;
    fo_resource_build(&parent, &cfg);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        struct fo_resource r;
        fo_resource_build(&r, &cfg);
        char line[128];
        int n = snprintf(line, sizeof line, "%lld %s", (long long)fo_resource_get(&r, "process.pid")->num,
                         fo_resource_get(&r, "service.instance.id")->str);
        _exit(write(fds[1], line, (size_t)n) == n ? 0 : 1);
    }
    close(fds[1]);
    char line[128] = "";
    cr_assert_gt(read(fds[0], line, sizeof line - 1), 0);
    close(fds[0]);
    int st;
    waitpid(child, &st, 0);
    long long pid;
    char id[64];
    cr_assert_eq(sscanf(line, "%lld %63s", &pid, id), 2);
    cr_assert_eq(pid, child);
    cr_assert(is_uuid4(id));
    cr_assert_str_neq(id, fo_resource_get(&parent, "service.instance.id")->str);
    /* And every build is a new instance. */
    struct fo_resource again;
    fo_resource_build(&again, &cfg);
    cr_assert_str_neq(fo_resource_get(&again, "service.instance.id")->str,
                      fo_resource_get(&parent, "service.instance.id")->str);
}

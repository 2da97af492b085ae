/* feast.c - Feast's endpoints, used as low-cardinality route names. */
#include "feast.h"

#include <string.h>

static const char *const exact_routes[] = {
    "/get-online-features",
    "/push",
    "/write-to-online-store",
    "/materialize",
    "/materialize-incremental",
    "/health",
    "/search",
    "/retrieve-online-documents",
    "/ws/chat",
};

static int equals(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    return alen == blen && memcmp(a, b, alen) == 0;
}

const char *fo_feast_route(const char *path, size_t len)
{
    for (size_t i = 0; i < sizeof exact_routes / sizeof exact_routes[0]; i++)
        if (equals(path, len, exact_routes[i]))
            return exact_routes[i];

    /* /v1/vector_stores/{id}/search with a non-empty id without slashes */
    static const char prefix[] = "/v1/vector_stores/";
    static const char suffix[] = "/search";
    size_t pl = sizeof prefix - 1, sl = sizeof suffix - 1;
    if (len > pl + sl && memcmp(path, prefix, pl) == 0 &&
        memcmp(path + len - sl, suffix, sl) == 0 &&
        memchr(path + pl, '/', len - pl - sl) == NULL)
        return "/v1/vector_stores/{id}/search";
    return NULL;
}

int fo_route_match(const char *tmpl, const char *path, size_t len)
{
    const char *end = path + len;
    while (*tmpl != '\0' && path < end) {
        if (*tmpl != '/' || *path != '/')
            return 0;
        tmpl++;
        path++;
        const char *ts = tmpl, *ps = path;
        while (*tmpl != '\0' && *tmpl != '/')
            tmpl++;
        while (path < end && *path != '/')
            path++;
        size_t tl = (size_t)(tmpl - ts), pl = (size_t)(path - ps);
        int param = tl >= 2 && ts[0] == '{' && ts[tl - 1] == '}';
        if (param ? pl == 0 : tl != pl || memcmp(ts, ps, tl) != 0)
            return 0;
    }
    return *tmpl == '\0' && path == end;
}

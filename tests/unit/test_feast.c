/* test_feast.c - Feast endpoint recognition used for http.route. */
#include <criterion/criterion.h>
#include <string.h>

#include "preload/feast.h"

static const char *route(const char *path)
{
    return fo_feast_route(path, strlen(path));
}

Test(feast, exact_endpoints)
{
    const char *known[] = {"/get-online-features", "/push", "/write-to-online-store",
                           "/materialize", "/materialize-incremental", "/health",
                           "/search", "/retrieve-online-documents", "/ws/chat"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        cr_assert_str_eq(route(known[i]), known[i]);
}

Test(feast, templated_vector_store_search)
{
    cr_assert_str_eq(route("/v1/vector_stores/abc/search"), "/v1/vector_stores/{id}/search");
    cr_assert_null(route("/v1/vector_stores//search"), "empty id");
    cr_assert_null(route("/v1/vector_stores/a/b/search"), "id with a slash");
    cr_assert_null(route("/v1/vector_stores/search"));
}

Test(feast, other_paths_have_no_route)
{
    cr_assert_null(route("/"));
    cr_assert_null(route("/get-online-features/"));
    cr_assert_null(route("/get-online-feature"));
    cr_assert_null(route("/HEALTH"));
    cr_assert_null(route(""));
    /* not NUL-terminated: only len bytes count */
    cr_assert_str_eq(fo_feast_route("/pushXYZ", 5), "/push");
}

Test(feast, configured_route_templates)
{
    const char *p = "/v1/items/42/detail";
    cr_assert(fo_route_match("/v1/items/{id}/detail", p, strlen(p)));
    cr_assert(!fo_route_match("/v1/items/{id}", p, strlen(p)), "one segment per parameter");
    cr_assert(!fo_route_match("/v1/items/{id}/detail/more", p, strlen(p)));
    cr_assert(!fo_route_match("/v1/item/{id}/detail", p, strlen(p)));
    cr_assert(fo_route_match("/", "/", 1));
    cr_assert(!fo_route_match("/{x}", "/", 1), "a parameter is never empty");
    cr_assert(!fo_route_match("/a/{x}", "/a//", 4));
    cr_assert(fo_route_match("/health", "/health", 7));
    cr_assert(!fo_route_match("/health", "/healthz", 8));
    cr_assert(!fo_route_match("/{", "/x", 2), "a lone brace is literal");
}

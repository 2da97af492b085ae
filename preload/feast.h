/*
 * feast.h - knowledge of the Feast feature server's HTTP API: which request
 * paths are its endpoints, so they can be named as http.route.
 */
#ifndef FO_FEAST_H
#define FO_FEAST_H

#include <stddef.h>

/*
 * Returns the route template (a static string such as "/get-online-features"
 * or "/v1/vector_stores/{id}/search") that the request path belongs to, or
 * NULL when the path is not one of Feast's endpoints. path is not
 * NUL-terminated and excludes the query string.
 */
const char *fo_feast_route(const char *path, size_t len);

/*
 * Whether path matches a route template: literal segments match exactly, a
 * segment written {name} matches any one non-empty segment. Both are
 * '/'-separated; path is not NUL-terminated and excludes the query.
 */
int fo_route_match(const char *tmpl, const char *path, size_t len);

#endif

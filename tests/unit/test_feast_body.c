/* test_feast_body.c - Feast statistics from JSON bodies, in every split. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preload/feast_body.h"

#define BUDGET (256u * 1024u)

static struct fo_feast_body b;

/* Feeds req and resp (NULL: no response) cut at the given points. */
static void run_split(uint8_t kind, const char *req, const char *resp, size_t cut_req,
                      size_t cut_resp, uint32_t budget)
{
    fo_feast_body_init(&b, kind, budget);
    size_t n = strlen(req);
    fo_feast_body_request(&b, req, cut_req);
    fo_feast_body_request(&b, req + cut_req, n - cut_req);
    fo_feast_body_request_end(&b, 1);
    if (resp != NULL) {
        size_t m = strlen(resp);
        fo_feast_body_response(&b, resp, cut_resp);
        fo_feast_body_response(&b, resp + cut_resp, m - cut_resp);
        fo_feast_body_response_end(&b, 1);
    }
}

static struct fo_feast_stats run(uint8_t kind, const char *req, const char *resp)
{
    run_split(kind, req, resp, 0, 0, BUDGET);
    return b.stats;
}

/* The cut points tried in a body of n bytes: every byte when stride is 1;
 * else every byte of the first and last EDGE and every stride-th between
 * (for bodies so large that n runs of n bytes each would take minutes). */
#define EDGE 256
static size_t next_cut(size_t i, size_t n, size_t stride)
{
    if (stride <= 1 || i < EDGE || i + EDGE >= n)
        return i + 1;
    return i + stride < n - EDGE ? i + stride : n - EDGE;
}

/* The same statistics whole, split in two at every cut point of each body,
 * and byte by byte. */
static struct fo_feast_stats run_splits(uint8_t kind, const char *req, const char *resp,
                                        uint32_t budget, size_t stride)
{
    run_split(kind, req, resp, 0, 0, budget);
    struct fo_feast_stats whole = b.stats;
    size_t n = strlen(req), m = resp != NULL ? strlen(resp) : 0;
    for (size_t i = 0; i <= n; i = next_cut(i, n, stride)) {
        run_split(kind, req, resp, i, 0, budget);
        cr_assert_eq(memcmp(&b.stats, &whole, sizeof whole), 0, "request cut at %zu", i);
    }
    for (size_t i = 0; resp != NULL && i <= m; i = next_cut(i, m, stride)) {
        run_split(kind, req, resp, 0, i, budget);
        cr_assert_eq(memcmp(&b.stats, &whole, sizeof whole), 0, "response cut at %zu", i);
    }
    fo_feast_body_init(&b, kind, budget);
    for (size_t i = 0; i < n; i++)
        fo_feast_body_request(&b, req + i, 1);
    fo_feast_body_request_end(&b, 1);
    for (size_t i = 0; i < m; i++)
        fo_feast_body_response(&b, resp + i, 1);
    if (resp != NULL)
        fo_feast_body_response_end(&b, 1);
    cr_assert_eq(memcmp(&b.stats, &whole, sizeof whole), 0, "byte by byte");

    /* The response scanned elsewhere: saved once the request is read, and
     * resumed from a copy of the statistics by a scanner that never saw it. */
    if (resp != NULL && kind == FO_FEAST_BODY_GOF) {
        fo_feast_body_init(&b, kind, budget);
        fo_feast_body_request(&b, req, n);
        fo_feast_body_request_end(&b, 1);
        if (fo_feast_body_response_fresh(&b)) {
            static struct fo_feast_body other;
            struct fo_feast_resume saved;
            fo_feast_body_save(&b, &saved);
            struct fo_feast_stats so_far = b.stats;
            memset(&other, 0xa5, sizeof other);
            fo_feast_body_resume(&other, &so_far, &saved);
            fo_feast_body_response(&other, resp, m);
            fo_feast_body_response_end(&other, 1);
            cr_assert_eq(memcmp(&other.stats, &whole, sizeof whole), 0, "resumed elsewhere");
        } else {
            /* Only a request read whole and well-formed has a response to scan. */
            cr_assert_eq(whole.known & FO_FEAST_K_STATUSES, 0);
        }
    }
    return whole;
}

static struct fo_feast_stats run_every_split(uint8_t kind, const char *req, const char *resp)
{
    return run_splits(kind, req, resp, BUDGET, 1);
}

static void expect_name(const struct fo_feast_name *n, const char *s)
{
    cr_assert_eq(n->len, strlen(s), "'%.*s' vs '%s'", n->len, n->s, s);
    cr_assert_eq(memcmp(n->s, s, n->len), 0, "'%.*s' vs '%s'", n->len, n->s, s);
}

static const char gof_req[] =
    "{\"features\": [\"driver_hourly_stats:conv_rate\", \"driver_hourly_stats:acc_rate\",\n"
    "  \"customer_profile:avg_orders\"], \"entities\": {\"driver_id\": [1001, 1002, 1003],"
    " \"customer_id\": [\"a\", \"b\", \"c\"]}, \"full_feature_names\": false}";

static const char gof_resp[] =
    "{\"metadata\": {\"feature_names\": [\"driver_id\", \"customer_id\", \"conv_rate\","
    " \"acc_rate\", \"avg_orders\"]}, \"results\": ["
    "{\"values\": [1001, 1002, 1003], \"statuses\": [\"PRESENT\", \"PRESENT\", \"PRESENT\"],"
    " \"event_timestamps\": [\"1970-01-01T00:00:00Z\", \"1970-01-01T00:00:00Z\", \"x\"]},"
    "{\"values\": [\"a\", \"b\", \"c\"], \"statuses\": [\"PRESENT\", \"PRESENT\", \"PRESENT\"]},"
    "{\"values\": [0.5, null, 1e-3], \"statuses\": [\"PRESENT\", \"NOT_FOUND\", \"PRESENT\"]},"
    "{\"values\": [{\"nested\": [1, [2, {\"x\": \"]\"}]]}, \"q\\\"uote\", -2],"
    " \"statuses\": [\"OUTSIDE_MAX_AGE\", \"PRESENT\", \"NULL_VALUE\"]},"
    "{\"statuses\": [\"NOT_FOUND\", \"NOT_FOUND\", \"INVALID\"], \"values\": [1, 2, 3]}]}";

Test(feast_body, online_features_request_and_response)
{
    struct fo_feast_stats s = run_every_split(FO_FEAST_BODY_GOF, gof_req, gof_resp);
    cr_assert_eq(s.known, FO_FEAST_K_REQUEST | FO_FEAST_K_VIEW_COUNT | FO_FEAST_K_STATUSES);
    cr_assert_eq(s.entity_count, 3);
    cr_assert_eq(s.feature_count, 3);
    cr_assert_eq(s.view_count, 2);
    cr_assert_eq(s.n_views, 2);
    expect_name(&s.views[0], "driver_hourly_stats");
    expect_name(&s.views[1], "customer_profile");
    /* Entity key columns are not counted; conv_rate and acc_rate are the
     * first view's, avg_orders the second's. */
    cr_assert_eq(s.status[0][FO_FEAST_PRESENT], 3);
    cr_assert_eq(s.status[0][FO_FEAST_NOT_FOUND], 1);
    cr_assert_eq(s.status[0][FO_FEAST_OUTSIDE_MAX_AGE], 1);
    cr_assert_eq(s.status[0][FO_FEAST_NULL_VALUE], 1);
    cr_assert_eq(s.status[1][FO_FEAST_NOT_FOUND], 2);
    cr_assert_eq(s.status[1][FO_FEAST_INVALID], 1);
    cr_assert_eq(s.status[1][FO_FEAST_PRESENT], 0);
    cr_assert_eq(s.status[FO_FEAST_VIEWS_MAX][FO_FEAST_PRESENT], 0);
}

Test(feast_body, a_response_is_fresh_until_its_first_byte)
{
    fo_feast_body_init(&b, FO_FEAST_BODY_GOF, BUDGET);
    cr_assert_not(fo_feast_body_response_fresh(&b), "the request is not read yet");
    fo_feast_body_request(&b, gof_req, strlen(gof_req));
    cr_assert_not(fo_feast_body_response_fresh(&b));
    fo_feast_body_request_end(&b, 1);
    cr_assert(fo_feast_body_response_fresh(&b));
    fo_feast_body_response(&b, gof_resp, 1);
    cr_assert_not(fo_feast_body_response_fresh(&b));

    fo_feast_body_init(&b, FO_FEAST_BODY_GOF, BUDGET);
    fo_feast_body_request(&b, gof_req, 10);
    fo_feast_body_request_end(&b, 1); /* cut short: there is nothing to scan */
    cr_assert_not(fo_feast_body_response_fresh(&b));

    fo_feast_body_init(&b, FO_FEAST_BODY_PUSH, BUDGET);
    fo_feast_body_request(&b, "{\"to\": \"online\"}", 16);
    fo_feast_body_request_end(&b, 1);
    cr_assert_not(fo_feast_body_response_fresh(&b), "only /get-online-features has one");
}

Test(feast_body, feature_service_takes_every_status)
{
    const char *req = "{\"entities\":{\"driver_id\":[1,2]},\"feature_service\":\"driver_act\\u00efvity\"}";
    const char *resp = "{\"metadata\":{\"feature_names\":[\"driver_id\",\"f\"]},\"results\":["
                       "{\"values\":[1,2],\"statuses\":[\"PRESENT\",\"PRESENT\"]},"
                       "{\"values\":[1,null],\"statuses\":[\"PRESENT\",\"NOT_FOUND\"]}]}";
    struct fo_feast_stats s = run_every_split(FO_FEAST_BODY_GOF, req, resp);
    cr_assert_eq(s.known, FO_FEAST_K_REQUEST | FO_FEAST_K_STATUSES | FO_FEAST_K_SERVICE);
    expect_name(&s.name, "driver_act\xc3\xafvity");
    cr_assert_eq(s.feature_count, 0);
    cr_assert_eq(s.entity_count, 2);
    cr_assert_eq(s.status[FO_FEAST_VIEWS_MAX][FO_FEAST_PRESENT], 1);
    cr_assert_eq(s.status[FO_FEAST_VIEWS_MAX][FO_FEAST_NOT_FOUND], 1);
}

Test(feast_body, escapes_and_unicode_in_names)
{
    const char *req = "{\"entities\":{\"k\":[1]},\"features\":["
                      "\"v\\\"1:a\", \"v\\u00e9:b\", \"\xc3\xa9t\xc3\xa9:c\", \"\\ud83d\\ude00:d\"]}";
    struct fo_feast_stats s = run_every_split(FO_FEAST_BODY_GOF, req, NULL);
    cr_assert_eq(s.view_count, 4);
    expect_name(&s.views[0], "v\"1");
    expect_name(&s.views[1], "v\xc3\xa9");
    expect_name(&s.views[2], "\xc3\xa9t\xc3\xa9");
    expect_name(&s.views[3], "\xf0\x9f\x98\x80");
}

Test(feast_body, keys_in_any_order_and_unknown_keys_skipped)
{
    const char *req = "{ \"full_feature_names\" : true , \"extra\": {\"features\": [\"x:y\"],"
                      " \"entities\": {\"a\": [1,2,3,4,5]}},\n\t\"entities\" : { \"id\" : [ 7 ,"
                      " 8 ] } , \"features\" : [ \"v:f\" ] }";
    struct fo_feast_stats s = run_every_split(FO_FEAST_BODY_GOF, req, NULL);
    cr_assert_eq(s.entity_count, 2, "nested look-alikes are not counted");
    cr_assert_eq(s.feature_count, 1);
    cr_assert_eq(s.view_count, 1);
    expect_name(&s.views[0], "v");
}

Test(feast_body, many_views_and_features)
{
    char req[8192];
    int n = snprintf(req, sizeof req, "{\"entities\":{\"id\":[1]},\"features\":[");
    for (int i = 0; i < 80; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "%s\"view_%d:f%d\"", i ? "," : "", i % 20, i);
    snprintf(req + n, sizeof req - (size_t)n, "]}");
    char resp[16384];
    n = snprintf(resp, sizeof resp, "{\"results\":[{\"statuses\":[\"PRESENT\"]}");
    for (int i = 0; i < 80; i++)
        n += snprintf(resp + n, sizeof resp - (size_t)n, ",{\"statuses\":[\"NOT_FOUND\"]}");
    snprintf(resp + n, sizeof resp - (size_t)n, "]}");
    struct fo_feast_stats s = run(FO_FEAST_BODY_GOF, req, resp);
    cr_assert_eq(s.feature_count, 80);
    cr_assert_eq(s.view_count, 20, "distinct views counted past those kept");
    cr_assert_eq(s.n_views, FO_FEAST_VIEWS_MAX);
    uint32_t kept = 0, other = 0;
    for (int v = 0; v < FO_FEAST_VIEWS_MAX; v++)
        kept += s.status[v][FO_FEAST_NOT_FOUND];
    other = s.status[FO_FEAST_VIEWS_MAX][FO_FEAST_NOT_FOUND];
    cr_assert_eq(kept + other, 80);
    /* Feature i has view i % 20; views 0-7 are kept; features past 64 are
     * not attributed: i in 0-7, 20-27, 40-47, 60-63 -> 28. */
    cr_assert_eq(kept, 28);
    cr_assert_eq(s.status[3][FO_FEAST_NOT_FOUND], 4, "features 3, 23, 43, 63");
}

/* Views past the distinct ones the scanner can count: the count is unknown
 * (left out downstream), never the size of the set. The names kept and the
 * other request statistics stand. */
Test(feast_body, more_distinct_views_than_counted_leave_the_count_unknown)
{
    static char req[16384];
    for (int views = FO_FEAST_HASHES - 1; views <= FO_FEAST_HASHES + 1; views++) {
        int n = snprintf(req, sizeof req, "{\"entities\":{\"id\":[1,2]},\"features\":[");
        for (int i = 0; i < views; i++)
            n += snprintf(req + n, sizeof req - (size_t)n, "%s\"view_%d:f\",\"view_%d:g\"",
                          i ? "," : "", i, i);
        snprintf(req + n, sizeof req - (size_t)n, "]}");
        struct fo_feast_stats s = run_splits(FO_FEAST_BODY_GOF, req, NULL, BUDGET, 97);
        cr_assert_eq(s.feature_count, 2 * (uint32_t)views);
        cr_assert_eq(s.entity_count, 2);
        cr_assert_eq(s.n_views, FO_FEAST_VIEWS_MAX);
        expect_name(&s.views[7], "view_7");
        if (views <= FO_FEAST_HASHES) {
            cr_assert_eq(s.known, FO_FEAST_K_REQUEST | FO_FEAST_K_VIEW_COUNT, "%d views", views);
            cr_assert_eq(s.view_count, (uint32_t)views);
        } else {
            cr_assert_eq(s.known, FO_FEAST_K_REQUEST, "%d views: count unknown", views);
            cr_assert_eq(s.view_count, 0, "never a guess");
        }
    }
    /* The same for materialization. */
    int n = snprintf(req, sizeof req, "{\"feature_views\":[");
    for (int i = 0; i <= FO_FEAST_HASHES; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "%s\"view_%d\"", i ? "," : "", i);
    snprintf(req + n, sizeof req - (size_t)n, "]}");
    struct fo_feast_stats s = run(FO_FEAST_BODY_MATERIALIZE, req, NULL);
    cr_assert_eq(s.known, FO_FEAST_K_REQUEST);
    cr_assert_eq(s.view_count, 0);
    cr_assert_eq(s.n_views, FO_FEAST_VIEWS_MAX);
}

Test(feast_body, long_names_are_truncated_and_flagged)
{
    char req[512];
    char longv[100];
    memset(longv, 'v', 99);
    longv[99] = '\0';
    snprintf(req, sizeof req, "{\"entities\":{\"id\":[1]},\"features\":[\"%s:f\"]}", longv);
    struct fo_feast_stats s = run_every_split(FO_FEAST_BODY_GOF, req, NULL);
    cr_assert_eq(s.view_count, 1);
    cr_assert_eq(s.views[0].truncated, 1);
    cr_assert_eq(s.views[0].len, FO_FEAST_NAME_MAX);
}

/* The name as s says, and flagged truncated or not. */
static void expect_cut(const struct fo_feast_name *n, const char *s, int truncated)
{
    expect_name(n, s);
    cr_assert_eq(n->truncated, truncated, "'%s'", s);
}

/* Names leave the scanner as valid UTF-8: a name cut at the byte limit
 * loses the character the cut split; each invalid byte and each lone
 * surrogate becomes U+FFFD (EF BF BD), within the same limit. */
Test(feast_body, names_are_valid_utf8_cut_at_a_character)
{
    char a[FO_FEAST_NAME_MAX + 1];
    memset(a, 'a', sizeof a);
    char req[1024];
    /* 47 + 2 bytes (é), 46 + 4 (emoji), 45 + 3 (€) exactly at the limit,
     * é written as an escape, and a name without its ':'. */
    snprintf(req, sizeof req, "{\"entities\":{\"id\":[1]},\"features\":["
             "\"%.47s\xc3\xa9:f\", \"%.46s\xf0\x9f\x98\x80:f\", \"%.45s\xe2\x82\xac:f\","
             " \"%.47s\\u00e9:f\", \"%.47s\xc3\xa9\"]}", a, a, a, a, a);
    struct fo_feast_stats s = run_every_split(FO_FEAST_BODY_GOF, req, NULL);
    cr_assert_eq(s.n_views, 3);
    char want[64];
    snprintf(want, sizeof want, "%.47s", a);
    expect_cut(&s.views[0], want, 1); /* the split é is dropped */
    snprintf(want, sizeof want, "%.46s", a);
    expect_cut(&s.views[1], want, 1);
    snprintf(want, sizeof want, "%.45s\xe2\x82\xac", a);
    expect_cut(&s.views[2], want, 1); /* whole: the cut came after it */
    /* The escape, and a name without ':' cut in its é, are views[0] again. */
    cr_assert_eq(s.view_count, 3);

    const char *bad = "{\"entities\":{\"id\":[1]},\"features\":["
                      "\"\\ud800:f\", \"x\\ud800\\ud83d\\ude00y:f\", \"\\udc00\\ud800:f\","
                      " \"a\xff" "b:f\", \"\xc3(\xc0\xaf\xed\xa0\x80:f\", \"nul\\u0000:f\"],"
                      " \"feature_service_x\": 1}";
    s = run_every_split(FO_FEAST_BODY_GOF, bad, NULL);
    cr_assert_eq(s.known, FO_FEAST_K_REQUEST | FO_FEAST_K_VIEW_COUNT);
    cr_assert_eq(s.view_count, 6);
    expect_cut(&s.views[0], "\xef\xbf\xbd", 0);
    expect_cut(&s.views[1], "x\xef\xbf\xbd\xf0\x9f\x98\x80y", 0);
    expect_cut(&s.views[2], "\xef\xbf\xbd\xef\xbf\xbd", 0);
    expect_cut(&s.views[3], "a\xef\xbf\xbd" "b", 0);
    /* A lead byte without its continuation, an overlong '/', an encoded
     * surrogate (ED A0 80): one U+FFFD per byte. */
    expect_cut(&s.views[4], "\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                            "\xef\xbf\xbd", 0);
    expect_cut(&s.views[5], "nul\xef\xbf\xbd", 0);

    /* Replacements that no longer fit are cut at a character, too. */
    snprintf(req, sizeof req, "{\"entities\":{\"id\":[1]},\"feature_service\":"
             "\"%.40s\xff\xff\xff\xff\xff\xff\xff\xff\"}", a);
    s = run_every_split(FO_FEAST_BODY_GOF, req, NULL);
    cr_assert_eq(s.known, FO_FEAST_K_REQUEST | FO_FEAST_K_SERVICE);
    snprintf(want, sizeof want, "%.40s\xef\xbf\xbd\xef\xbf\xbd", a);
    expect_cut(&s.name, want, 1);
    /* A high surrogate that ends the kept part of a long name. */
    snprintf(req, sizeof req, "{\"push_source_name\": \"%.47s\\ud800\\udc00\", \"to\": \"online\"}",
             a);
    s = run_every_split(FO_FEAST_BODY_PUSH, req, NULL);
    snprintf(want, sizeof want, "%.47s", a);
    expect_cut(&s.name, want, 1);
}

/* Bodies of about half a megabyte: cut points every byte near the ends and
 * a prime stride between (every byte would be ~10^11 bytes scanned, about
 * an hour); byte-by-byte feeding is still done whole. */
#define HUGE_STRIDE 4099

Test(feast_body, huge_arrays_within_and_past_the_budget)
{
    size_t rows = 100000;
    char *req = malloc(rows * 8 + 100);
    size_t n = (size_t)sprintf(req, "{\"features\":[\"v:f\"],\"entities\":{\"id\":[");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)sprintf(req + n, "%s%zu", i ? "," : "", i % 1000);
    strcpy(req + n, "]}}");
    struct fo_feast_stats s = run_splits(FO_FEAST_BODY_GOF, req, NULL, 1u << 20, HUGE_STRIDE);
    cr_assert_eq(s.entity_count, rows);
    cr_assert_eq(s.known, FO_FEAST_K_REQUEST | FO_FEAST_K_VIEW_COUNT);
    s = run_splits(FO_FEAST_BODY_GOF, req, NULL, 64 * 1024, HUGE_STRIDE);
    cr_assert_eq(s.known, 0, "past the budget: unknown");
    cr_assert_eq(s.entity_count, 0, "never a guess");
    free(req);
}

/* A response of 3 columns (the entity key, two features of two views) for
 * many entity rows, within the budget and past it. */
Test(feast_body, huge_response_arrays_within_and_past_the_budget)
{
    size_t rows = 10000;
    char *req = malloc(rows * 8 + 100), *resp = malloc(rows * 60 + 200);
    size_t n = (size_t)sprintf(req, "{\"features\":[\"a:x\",\"b:y\"],\"entities\":{\"id\":[");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)sprintf(req + n, "%s%zu", i ? "," : "", i);
    strcpy(req + n, "]}}");
    size_t m = (size_t)sprintf(resp, "{\"metadata\":{\"feature_names\":[\"id\",\"x\",\"y\"]},"
                                     "\"results\":[");
    for (int col = 0; col < 3; col++) {
        m += (size_t)sprintf(resp + m, "%s{\"values\":[", col ? "," : "");
        for (size_t i = 0; i < rows; i++)
            m += (size_t)sprintf(resp + m, "%s%zu", i ? "," : "", i);
        m += (size_t)sprintf(resp + m, "],\"statuses\":[");
        /* column 1: every third row not found; column 2: all present */
        for (size_t i = 0; i < rows; i++)
            m += (size_t)sprintf(resp + m, "%s\"%s\"", i ? "," : "",
                                 col == 1 && i % 3 == 0 ? "NOT_FOUND" : "PRESENT");
        m += (size_t)sprintf(resp + m, "]}");
    }
    strcpy(resp + m, "]}");
    cr_assert_gt(strlen(resp), 400 * 1024);
    struct fo_feast_stats s = run_splits(FO_FEAST_BODY_GOF, req, resp, 1u << 20, HUGE_STRIDE);
    cr_assert_eq(s.known, FO_FEAST_K_REQUEST | FO_FEAST_K_VIEW_COUNT | FO_FEAST_K_STATUSES);
    cr_assert_eq(s.entity_count, rows);
    uint32_t not_found = (uint32_t)(rows + 2) / 3;
    cr_assert_eq(s.status[0][FO_FEAST_NOT_FOUND], not_found);
    cr_assert_eq(s.status[0][FO_FEAST_PRESENT], rows - not_found);
    cr_assert_eq(s.status[1][FO_FEAST_PRESENT], rows);
    cr_assert_eq(s.status[FO_FEAST_VIEWS_MAX][FO_FEAST_PRESENT], 0, "entity keys not counted");
    /* The response past the budget (the request within): statuses unknown,
     * none counted; the request's statistics stand. */
    s = run_splits(FO_FEAST_BODY_GOF, req, resp, 256 * 1024, HUGE_STRIDE);
    cr_assert_eq(s.known, FO_FEAST_K_REQUEST | FO_FEAST_K_VIEW_COUNT);
    cr_assert_eq(s.entity_count, rows);
    for (int v = 0; v <= FO_FEAST_VIEWS_MAX; v++)
        for (int st = 0; st < FO_FEAST_STATUSES; st++)
            cr_assert_eq(s.status[v][st], 0);
    free(req);
    free(resp);
}

Test(feast_body, truncated_and_malformed_bodies_are_unknown)
{
    static const char *const bad[] = {
        "{\"features\": [\"v:f\"], \"entities\": {\"id\": [1, 2]",  /* truncated */
        "{\"features\": [\"v:f\"], \"entities\": {\"id\": [1, 2",   /* truncated in an array */
        "{\"features\": [\"v:f",                                    /* truncated in a string */
        "{\"features\": [\"v:f\\u00",                               /* truncated in \\u */
        "{\"features\" [\"v:f\"]}",                                  /* missing colon */
        "{\"features\": [\"v:f\"]]",                                /* unbalanced */
        "{\"features\": [\"v:f\"],}",                               /* trailing comma */
        "{features: 1}",                                            /* bare word */
        "{\"a\": 1} {\"b\": 2}",                                    /* two values */
        "{\"features\": [\"v:f\\x\"]}",                            /* bad escape */
        "{\"features\": [\"v:f\\u12G4\"]}",                        /* bad \\u */
        "",
        "\x16\x03\x01\x02\x00",                                     /* TLS */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fo_feast_stats s = run_every_split(FO_FEAST_BODY_GOF, bad[i], gof_resp);
        cr_assert_eq(s.known, 0, "case %zu", i);
        cr_assert_eq(s.feature_count, 0, "case %zu", i);
        for (int v = 0; v <= FO_FEAST_VIEWS_MAX; v++)
            for (int st = 0; st < FO_FEAST_STATUSES; st++)
                cr_assert_eq(s.status[v][st], 0, "case %zu", i);
    }
    /* A well-formed request with a broken response: the request stands. */
    static const char *const bad_resp[] = {
        "{\"results\": [{\"statuses\": [",
        "{\"results\": [{\"statuses\": [\"PRESENT\"]}]",
        "{\"results\": [{\"statuses\": [\"PRESENT\" \"PRESENT\"]}]}",
        "{\"results\": [{\"statuses\": [\"PRESENT\"]}]}}",
    };
    for (size_t i = 0; i < sizeof bad_resp / sizeof bad_resp[0]; i++) {
        struct fo_feast_stats s = run_every_split(FO_FEAST_BODY_GOF, gof_req, bad_resp[i]);
        cr_assert_eq(s.known, FO_FEAST_K_REQUEST | FO_FEAST_K_VIEW_COUNT, "response %zu", i);
        cr_assert_eq(s.status[0][FO_FEAST_PRESENT], 0, "response %zu", i);
    }
}

/* Nesting up to the limit is read (the statistics around it stand); one
 * level more, in the request or the response, makes the body unknown. */
Test(feast_body, nesting_to_the_limit_and_past_it)
{
    for (int extra = FO_FEAST_DEPTH_MAX - 5; extra <= FO_FEAST_DEPTH_MAX - 2; extra++) {
        /* {"x": [[...]], ...}: the request's depth is 1 + extra */
        char req[256], resp[512], deep[64];
        memset(deep, '[', (size_t)extra);
        memset(deep + extra, ']', (size_t)extra);
        deep[2 * extra] = '\0';
        snprintf(req, sizeof req, "{\"x\": %s, \"features\": [\"v:f\"], \"entities\":"
                 " {\"id\": [%s, 2]}}", deep, deep);
        /* the response's statuses sit at depth 4; the values array at 3 holds extra more */
        snprintf(resp, sizeof resp, "{\"results\": [{\"values\": [%s], \"statuses\":"
                 " [\"PRESENT\"]}, {\"values\": [%s], \"statuses\": [\"NOT_FOUND\"]}]}",
                 deep, deep);
        struct fo_feast_stats s = run_every_split(FO_FEAST_BODY_GOF, req, resp);
        /* request depth: {, entities {, [ and the deep ones: 3 + extra */
        if (3 + extra <= FO_FEAST_DEPTH_MAX) {
            cr_assert_eq(s.known & FO_FEAST_K_REQUEST, FO_FEAST_K_REQUEST, "extra %d", extra);
            cr_assert_eq(s.entity_count, 2);
        } else {
            cr_assert_eq(s.known, 0, "extra %d", extra);
            cr_assert_eq(s.entity_count, 0);
            continue;
        }
        /* response depth: {, results [, {, values [ and the deep ones: 4 + extra */
        if (4 + extra <= FO_FEAST_DEPTH_MAX) {
            cr_assert_eq(s.known & FO_FEAST_K_STATUSES, FO_FEAST_K_STATUSES, "extra %d", extra);
            cr_assert_eq(s.status[0][FO_FEAST_NOT_FOUND], 1);
        } else {
            cr_assert_eq(s.known & FO_FEAST_K_STATUSES, 0, "extra %d", extra);
            cr_assert_eq(s.status[0][FO_FEAST_NOT_FOUND], 0);
        }
    }
}

Test(feast_body, depth_bombs_are_unknown)
{
    char *req = malloc(20002);
    memset(req, '[', 10000);
    memset(req + 10000, ']', 10000);
    req[20000] = '\0';
    struct fo_feast_stats s = run_every_split(FO_FEAST_BODY_GOF, req, NULL);
    cr_assert_eq(s.known, 0);
    /* and in the response */
    s = run_every_split(FO_FEAST_BODY_GOF, gof_req, req);
    cr_assert_eq(s.known, FO_FEAST_K_REQUEST | FO_FEAST_K_VIEW_COUNT);
    free(req);
}

Test(feast_body, an_unfinished_request_body_is_unknown)
{
    fo_feast_body_init(&b, FO_FEAST_BODY_GOF, BUDGET);
    fo_feast_body_request(&b, gof_req, sizeof gof_req - 1);
    fo_feast_body_request_end(&b, 0); /* the connection closed early */
    cr_assert_eq(b.stats.known, 0);
}

Test(feast_body, push_source_and_mode)
{
    const char *req = "{\"push_source_name\": \"driver_stats_push_source\", \"df\": {\"driver_id\":"
                      " [1001], \"conv_rate\": [0.5], \"event_timestamp\": [\"2024-01-01\"]},"
                      " \"to\": \"online_and_offline\"}";
    struct fo_feast_stats s = run_every_split(FO_FEAST_BODY_PUSH, req, NULL);
    cr_assert_eq(s.known, FO_FEAST_K_REQUEST);
    expect_name(&s.name, "driver_stats_push_source");
    cr_assert_eq(s.push_mode, FO_PUSH_ONLINE_AND_OFFLINE);
    s = run(FO_FEAST_BODY_PUSH, "{\"push_source_name\": \"p\", \"df\": {}}", NULL);
    cr_assert_eq(s.push_mode, FO_PUSH_ONLINE, "Feast's default");
    s = run(FO_FEAST_BODY_PUSH, "{\"push_source_name\": \"p\", \"to\": \"elsewhere\"}", NULL);
    cr_assert_eq(s.known, 0);
}

Test(feast_body, materialize_views)
{
    const char *req = "{\"start_ts\": \"2024-01-01T00:00:00\", \"end_ts\": \"2024-01-02T00:00:00\","
                      " \"feature_views\": [\"driver_hourly_stats\", \"customer_profile\","
                      " \"driver_hourly_stats\"]}";
    struct fo_feast_stats s = run_every_split(FO_FEAST_BODY_MATERIALIZE, req, NULL);
    cr_assert_eq(s.known, FO_FEAST_K_REQUEST | FO_FEAST_K_VIEW_COUNT);
    cr_assert_eq(s.view_count, 2);
    expect_name(&s.views[0], "driver_hourly_stats");
    expect_name(&s.views[1], "customer_profile");
}

Test(feast_body, route_kinds)
{
    cr_assert_eq(fo_feast_body_kind("/get-online-features"), FO_FEAST_BODY_GOF);
    cr_assert_eq(fo_feast_body_kind("/push"), FO_FEAST_BODY_PUSH);
    cr_assert_eq(fo_feast_body_kind("/materialize-incremental"), FO_FEAST_BODY_MATERIALIZE);
    cr_assert_eq(fo_feast_body_kind("/health"), FO_FEAST_BODY_NONE);
    cr_assert_eq(fo_feast_body_kind(NULL), FO_FEAST_BODY_NONE);
}

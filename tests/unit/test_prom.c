/* test_prom.c - the shared Prometheus store across forked processes that
 * exit, are recycled and are killed at any instant. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exporter/prom.h"

static const double bounds[] = {1, 5};
static const struct fo_prom_family fams[] = {
    {"c_total", "A counter.", FO_PROM_COUNTER, 0, NULL},
    {"g", "A gauge.", FO_PROM_GAUGE, 0, NULL},
    {"h_seconds", "A histogram.", FO_PROM_HISTOGRAM, 2, bounds},
};

static char page[1 << 20];

static struct fo_prom_sample counter(const char *labels, double v)
{
    struct fo_prom_sample s;
    memset(&s, 0, sizeof s);
    s.family = 0;
    s.labels_len = (uint16_t)strlen(labels);
    memcpy(s.labels, labels, s.labels_len);
    s.value = v;
    return s;
}

/* The value of the series line that starts with prefix, or -1. */
static double value_of(const char *prefix)
{
    cr_assert_geq(fo_prom_render(page, sizeof page), 0);
    size_t n = strlen(prefix);
    for (char *l = page; l != NULL && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, prefix, n) == 0 && l[n] == ' ')
            return strtod(l + n + 1, NULL);
    return -1;
}

/* A child that publishes `value` for a counter and a gauge, then exits. */
static pid_t child_publishing(double value, int stay)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct fo_prom_sample s[2] = {counter("k=\"v\"", value), counter("", value)};
        s[1].family = 1;
        fo_prom_publish(s, 2);
        if (stay)
            pause();
        _exit(0);
    }
    return pid;
}

Test(prom, sums_counters_over_live_and_exited_processes_and_gauges_per_live_pid)
{
    cr_assert_eq(fo_prom_init(fams, 3), 0);
    pid_t a = child_publishing(3, 1);
    pid_t b = child_publishing(4, 0);
    waitpid(b, NULL, 0);
    usleep(100000);
    cr_assert_eq(value_of("c_total{k=\"v\"}"), 7, "%s", page);
    char g[64];
    snprintf(g, sizeof g, "g{pid=\"%d\"}", (int)a);
    cr_assert_eq(value_of(g), 3, "%s", page);
    snprintf(g, sizeof g, "g{pid=\"%d\"}", (int)b);
    cr_assert_eq(value_of(g), -1, "an exited process has no gauge: %s", page);
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    cr_assert_eq(value_of("c_total{k=\"v\"}"), 7, "a killed process still counts");
    cr_assert_not_null(strstr(page, "# HELP c_total A counter.\n# TYPE c_total counter\n"));
}

Test(prom, recycled_workers_through_few_slots_keep_exact_totals)
{
    cr_assert_eq(fo_prom_init(fams, 3), 0);
    for (int i = 0; i < 5 * FO_PROM_SLOTS; i++) {
        pid_t p = child_publishing(1, 0);
        waitpid(p, NULL, 0);
    }
    cr_assert_eq(value_of("c_total{k=\"v\"}"), 5 * FO_PROM_SLOTS, "%s", page);
    struct fo_prom_stats st;
    fo_prom_get_stats(&st);
    cr_assert_eq(st.publish_failed, 0);
}

/* Every series of a snapshot carries the snapshot's number: a torn one
 * would show two numbers. */
Test(prom, a_process_killed_while_publishing_never_shows_a_torn_snapshot)
{
    cr_assert_eq(fo_prom_init(fams, 3), 0);
    for (int round = 0; round < 30; round++) {
        pid_t p = fork();
        if (p == 0) {
            static struct fo_prom_sample s[FO_PROM_SAMPLES];
            for (uint64_t n = 1;; n++) {
                for (int i = 0; i < FO_PROM_SAMPLES; i++) {
                    char l[32];
                    snprintf(l, sizeof l, "i=\"%d\"", i);
                    s[i] = counter(l, (double)n);
                }
                fo_prom_publish(s, FO_PROM_SAMPLES);
            }
        }
        usleep(2000 + (useconds_t)(round * 373) % 5000);
        kill(p, SIGKILL);
        waitpid(p, NULL, 0);
    }
    cr_assert_geq(fo_prom_render(page, sizeof page), 0);
    /* 30 dead processes: each contributed one whole snapshot, so every
     * series has the same total. */
    double first = value_of("c_total{i=\"0\"}");
    cr_assert_gt(first, 0);
    for (int i = 1; i < FO_PROM_SAMPLES; i++) {
        char l[40];
        snprintf(l, sizeof l, "c_total{i=\"%d\"}", i);
        cr_assert_eq(value_of(l), first, "series %d", i);
    }
}

static int kill_at_step;
static void hook(int step)
{
    if (step == kill_at_step)
        raise(SIGKILL);
}

Test(prom, a_fold_killed_at_any_step_loses_and_doubles_nothing)
{
    cr_assert_eq(fo_prom_init(fams, 3), 0);
    /* Fill every slot with an exited process. */
    for (int i = 0; i < FO_PROM_SLOTS; i++)
        waitpid(child_publishing(1, 0), NULL, 0);
    double want = FO_PROM_SLOTS;
    for (int step = 1; step <= 3; step++) {
        /* This child must fold to get a slot, and dies in the middle. */
        pid_t p = fork();
        if (p == 0) {
            kill_at_step = step;
            fo_prom_fold_hook = hook;
            struct fo_prom_sample s = counter("k=\"v\"", 1);
            fo_prom_publish(&s, 1);
            _exit(0);
        }
        waitpid(p, NULL, 0);
        cr_assert_eq(value_of("c_total{k=\"v\"}"), want, "killed at step %d: %s", step, page);
    }
    /* Folding still works afterwards (the lease of the dead folder is taken over). */
    waitpid(child_publishing(1, 0), NULL, 0);
    cr_assert_eq(value_of("c_total{k=\"v\"}"), want + 1);
}

Test(prom, histograms_render_cumulative_buckets_inf_sum_and_count)
{
    cr_assert_eq(fo_prom_init(fams, 3), 0);
    struct fo_prom_sample h = counter("e=\"a\\\"b\"", 0);
    h.family = 2;
    h.buckets[0] = 1;
    h.buckets[1] = 2;
    h.buckets[2] = 3;
    h.count = 6;
    h.sum = 20.5;
    pid_t p = fork();
    if (p == 0) {
        fo_prom_publish(&h, 1);
        _exit(0);
    }
    waitpid(p, NULL, 0);
    cr_assert_geq(fo_prom_render(page, sizeof page), 0);
    cr_assert_not_null(strstr(page,
        "# HELP h_seconds A histogram.\n# TYPE h_seconds histogram\n"
        "h_seconds_bucket{e=\"a\\\"b\",le=\"1\"} 1\n"
        "h_seconds_bucket{e=\"a\\\"b\",le=\"5\"} 3\n"
        "h_seconds_bucket{e=\"a\\\"b\",le=\"+Inf\"} 6\n"
        "h_seconds_sum{e=\"a\\\"b\"} 20.5\n"
        "h_seconds_count{e=\"a\\\"b\"} 6\n"), "%s", page);
}

Test(prom, escaping_and_garbage_in_the_region)
{
    char out[32];
    cr_assert_eq(fo_prom_escape(out, 0, sizeof out, "a\"b\\c\nd", 7), 10);
    cr_assert_str_eq(out, "a\\\"b\\\\c\\nd");
    cr_assert_eq(fo_prom_escape(out, 0, 4, "abcdef", 6), -1);
    cr_assert_eq(fo_prom_init(fams, 3), 0);
    struct fo_prom_sample bad = counter("x", 1);
    bad.family = 999; /* not a family: ignored */
    bad.labels_len = 60000;
    pid_t p = fork();
    if (p == 0) {
        fo_prom_publish(&bad, 1);
        _exit(0);
    }
    waitpid(p, NULL, 0);
    cr_assert_geq(fo_prom_render(page, sizeof page), 0);
}

/* A scrape with one invalid UTF-8 byte is rejected whole: label values
 * come out valid, each byte that starts no valid sequence as U+FFFD. */
Test(prom, label_values_are_valid_utf8)
{
    char out[64];
    /* valid multi-byte characters pass */
    cr_assert_eq(fo_prom_escape(out, 0, sizeof out, "\xc3\xa9t\xc3\xa9\xf0\x9f\x98\x80", 9), 9);
    cr_assert_str_eq(out, "\xc3\xa9t\xc3\xa9\xf0\x9f\x98\x80");
    /* a character cut at the end of the value, a stray byte, an overlong
     * form, an encoded surrogate */
    cr_assert_eq(fo_prom_escape(out, 0, sizeof out, "ab\xe2\x82", 4), 8);
    cr_assert_str_eq(out, "ab\xef\xbf\xbd\xef\xbf\xbd");
    int n = fo_prom_escape(out, 0, sizeof out, "\xff\"\xc0\xaf\xed\xa0\x80", 7);
    cr_assert_str_eq(out, "\xef\xbf\xbd\\\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                          "\xef\xbf\xbd");
    cr_assert_eq(n, 20);
    /* a replacement counts its three bytes against the room */
    cr_assert_eq(fo_prom_escape(out, 0, 3, "\xff", 1), -1);
    cr_assert_eq(fo_prom_escape(out, 0, 4, "\xff", 1), 3);

    /* Through the page a scrape gets. */
    cr_assert_eq(fo_prom_init(fams, 3), 0);
    char labels[FO_PROM_LABELS_MAX] = "k=\"";
    int len = fo_prom_escape(labels, 3, sizeof labels, "driver_\xc3", 8);
    cr_assert_geq(len, 0);
    labels[len++] = '"';
    labels[len] = '\0';
    pid_t p = fork();
    if (p == 0) {
        struct fo_prom_sample s = counter(labels, 2);
        fo_prom_publish(&s, 1);
        _exit(0);
    }
    waitpid(p, NULL, 0);
    cr_assert_eq(value_of("c_total{k=\"driver_\xef\xbf\xbd\"}"), 2, "%s", page);
}

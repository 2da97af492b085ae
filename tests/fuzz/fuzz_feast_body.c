/*
 * fuzz_feast_body.c - libFuzzer target for the Feast body scanners. The
 * first byte picks the kind and the budget, the second where the input is
 * cut into request and response; each body is fed in pieces whose sizes
 * come from the data itself. Invariants are checked on the result, which
 * must equal that of the bodies fed whole, and of the response resumed on
 * another scanner (as the exporter thread does).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preload/feast_body.h"
#include "preload/utf8.h"

/* Names leave the scanner as valid UTF-8. */
static int valid_utf8(const struct fo_feast_name *n)
{
    for (size_t i = 0; i < n->len;) {
        size_t k = fo_utf8_seq((const unsigned char *)n->s + i, n->len - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

static void feed_pieces(struct fo_feast_body *b, const uint8_t *p, size_t n, int response)
{
    size_t i = 0;
    while (i < n) {
        size_t k = 1 + p[i] % 17;
        if (k > n - i)
            k = n - i;
        if (response)
            fo_feast_body_response(b, (const char *)p + i, k);
        else
            fo_feast_body_request(b, (const char *)p + i, k);
        i += k;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static struct fo_feast_body b;
    uint8_t kind = 1 + data[0] % 3;
    uint32_t budget = data[0] & 0x80 ? 64 : 1u << 20;
    size_t cut = size > 2 ? data[1] % (size - 1) : 0;
    const uint8_t *body = data + 2;
    size_t n = size - 2;
    if (cut > n)
        cut = n;
    fo_feast_body_init(&b, kind, budget);
    feed_pieces(&b, body, cut, 0);
    fo_feast_body_request_end(&b, 1);
    feed_pieces(&b, body + cut, n - cut, 1);
    fo_feast_body_response_end(&b, 1);

    /* The same bodies whole, and the response resumed on a scanner that
     * saw no request: the same statistics. */
    static struct fo_feast_body w, r;
    fo_feast_body_init(&w, kind, budget);
    fo_feast_body_request(&w, (const char *)body, cut);
    fo_feast_body_request_end(&w, 1);
    int fresh = fo_feast_body_response_fresh(&w);
    if (fresh) {
        struct fo_feast_resume saved;
        fo_feast_body_save(&w, &saved);
        memset(&r, 0x5a, sizeof r);
        fo_feast_body_resume(&r, &w.stats, &saved);
        fo_feast_body_response(&r, (const char *)body + cut, n - cut);
        fo_feast_body_response_end(&r, 1);
    }
    fo_feast_body_response(&w, (const char *)body + cut, n - cut);
    fo_feast_body_response_end(&w, 1);
    if (memcmp(&w.stats, &b.stats, sizeof w.stats) != 0)
        abort();
    if (fresh && memcmp(&r.stats, &b.stats, sizeof r.stats) != 0)
        abort();

    const struct fo_feast_stats *s = &b.stats;
    if (s->kind != kind || s->n_views > FO_FEAST_VIEWS_MAX || s->name.len > FO_FEAST_NAME_MAX ||
        s->entity_count > cut || s->feature_count > cut || s->view_count > s->feature_count + cut ||
        !valid_utf8(&s->name))
        abort();
    for (int i = 0; i < s->n_views; i++)
        if (s->views[i].len > FO_FEAST_NAME_MAX || !valid_utf8(&s->views[i]))
            abort();
    uint64_t statuses = 0;
    for (int v = 0; v <= FO_FEAST_VIEWS_MAX; v++)
        for (int st = 0; st < FO_FEAST_STATUSES; st++)
            statuses += s->status[v][st];
    if (statuses > n - cut || (statuses > 0 && !(s->known & FO_FEAST_K_STATUSES)))
        abort();
    if (!(s->known & FO_FEAST_K_REQUEST) && (s->feature_count || s->entity_count))
        abort();
    return 0;
}

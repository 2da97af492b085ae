/*
 * fuzz_http1.c - libFuzzer target for the HTTP/1.x sniffer. The input is a
 * script of operations: each step takes one control byte (low 2 bits: read,
 * write, opaque write or end of stream; the rest: a length) followed by up
 * to that many bytes, so one input exercises both directions, any split and
 * the close paths. Invariants are checked on every emitted exchange.
 *
 * Each script also runs a second time with every read and write cut into
 * pieces of at most 8 bytes, which the sniffer takes line by line (a whole
 * head is scanned at once only in calls of 16 bytes or more). When no line
 * is long enough to be carried over as a prefix, both runs must emit the
 * same exchanges and stop at the same step.
 *
 * Feast body statistics are on, with a response body that is whole in its
 * last write handed to emit (as the connection layer asks): emit scans it
 * on a second scanner resumed from the first, as the exporter thread does,
 * and both runs must give the same statistics.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preload/http1.h"

#define KEPT_MAX 64

struct state {
    uint64_t now;
    int emitted;
    struct fo_http1 *h;
    struct fo_http_info kept[KEPT_MAX]; /* the first exchanges, normalised */
    struct fo_feast_stats feast[KEPT_MAX];
};

static struct fo_feast_body scanner, resumed;

static void on_emit(void *ctx, const struct fo_http_info *info)
{
    struct state *st = ctx;
    if (info->method_len == 0 || info->method_len >= FO_METHOD_MAX ||
        info->target_len > FO_TARGET_MAX || info->ua_len > FO_UA_MAX ||
        info->version_minor > 1 || info->end_tick < info->start_tick || info->end_tick > st->now ||
        (info->status != 0 && (info->status < 100 || info->status > 999)))
        abort();
    if (st->emitted < KEPT_MAX) {
        /* Only the bytes the fields' lengths cover are meaningful. */
        struct fo_http_info *k = &st->kept[st->emitted];
        memset(k, 0, sizeof *k);
        memcpy(k, info, offsetof(struct fo_http_info, method));
        memcpy(k->method, info->method, info->method_len);
        memcpy(k->target, info->target, info->target_len);
        memcpy(k->user_agent, info->user_agent, info->ua_len);
        if (info->flags & FO_HTTP_F_TRACEPARENT)
            memcpy(k->traceparent, info->traceparent, FO_TRACEPARENT_LEN);
        memset(&st->feast[st->emitted], 0, sizeof st->feast[0]);
    }
    if (info->flags & FO_HTTP_F_FEAST) {
        const struct fo_feast_stats *fs = &scanner.stats;
        if (st->h->feast_tail != NULL) {
            struct fo_feast_resume saved;
            fo_feast_body_save(&scanner, &saved);
            fo_feast_body_resume(&resumed, &scanner.stats, &saved);
            fo_feast_body_response(&resumed, st->h->feast_tail, st->h->feast_tail_len);
            fo_feast_body_response_end(&resumed, 1);
            fs = &resumed.stats;
        }
        if (st->emitted < KEPT_MAX)
            st->feast[st->emitted] = *fs;
    }
    st->emitted++;
}

/* Feeds len bytes in pieces of at most piece bytes (0: whole); a zero-length
 * step is one call. */
static int feed(struct fo_http1 *h, int is_read, const char *p, size_t len, size_t piece,
                struct state *st)
{
    int rc = FO_HTTP1_OK;
    size_t step = piece ? piece : len, off = 0;
    do {
        size_t n = len - off < step ? len - off : step;
        /* A private copy, so reading past n is caught by ASan. */
        char *copy = malloc(n ? n : 1);
        memcpy(copy, p + off, n);
        int r = is_read ? fo_http1_on_read(h, copy, n, st->now, on_emit, st)
                        : fo_http1_on_write(h, copy, n, st->now, on_emit, st);
        free(copy);
        if (r != FO_HTTP1_OK)
            rc = r;
        off += n;
    } while (off < len);
    return rc;
}

/* Runs the script; returns the step at which the sniffer first stopped
 * (or -1), and the exchanges in *st. */
static long run(const uint8_t *data, size_t size, size_t piece, struct state *st)
{
    struct fo_http1 h;
    long stopped_at = -1, step = 0;
    fo_http1_init(&h);
    h.feast = &scanner;
    h.feast_budget = 1u << 20;
    h.feast_defer = 1;
    st->h = &h;
    size_t i = 0;
    int closed = 0;
    while (i < size && !closed) {
        uint8_t ctl = data[i++];
        size_t len = (size_t)(ctl >> 2) * 4 + 1;
        if (len > size - i)
            len = size - i;
        st->now++;
        int rc = FO_HTTP1_OK;
        switch (ctl & 3) {
        case 0:
            rc = feed(&h, 1, (const char *)data + i, len, piece, st);
            break;
        case 1:
            rc = feed(&h, 0, (const char *)data + i, len, piece, st);
            break;
        case 2:
            rc = fo_http1_on_write_opaque(&h, len * 97, st->now, on_emit, st);
            break;
        default:
            if (len & 1)
                fo_http1_on_peer_eof(&h, st->now, on_emit, st);
            else {
                fo_http1_on_close(&h, (int)(len & 2), st->now, on_emit, st);
                closed = 1;
            }
            break;
        }
        if (rc != FO_HTTP1_OK && stopped_at < 0)
            stopped_at = step;
        step++;
        i += len;
    }
    if (!closed) {
        st->now++;
        fo_http1_on_close(&h, 0, st->now, on_emit, st);
    }
    return stopped_at;
}

/* True when some line (bytes between LFs) could not be carried over whole. */
static int has_long_line(const uint8_t *data, size_t size)
{
    size_t run_len = 0;
    for (size_t i = 0; i < size; i++) {
        run_len = data[i] == '\n' ? 0 : run_len + 1;
        if (run_len >= FO_HTTP1_LINE_MAX - 8)
            return 1;
    }
    return 0;
}

static struct state whole, pieces;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(&whole, 0, sizeof whole);
    memset(&pieces, 0, sizeof pieces);
    long a = run(data, size, 0, &whole);
    long b = run(data, size, 8, &pieces);
    if (has_long_line(data, size))
        return 0;
    int kept = whole.emitted < KEPT_MAX ? whole.emitted : KEPT_MAX;
    if (a != b || whole.emitted != pieces.emitted ||
        memcmp(whole.kept, pieces.kept, (size_t)kept * sizeof whole.kept[0]) != 0 ||
        memcmp(whole.feast, pieces.feast, (size_t)kept * sizeof whole.feast[0]) != 0)
        abort();
    return 0;
}

/*
 * fuzz_http1.c - libFuzzer target for the HTTP/1.x sniffer. The input is a
 * script of operations: each step takes one control byte (low 2 bits: read,
 * write, opaque write or end of stream; the rest: a length) followed by up
 * to that many bytes, so one input exercises both directions, any split and
 * the close paths. Invariants are checked on every emitted exchange.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preload/http1.h"

struct state {
    uint64_t now;
    uint64_t last_end;
    int emitted;
};

static void on_emit(void *ctx, const struct fo_http_info *info)
{
    struct state *st = ctx;
    if (info->method_len == 0 || info->method_len >= FO_METHOD_MAX ||
        info->target_len > FO_TARGET_MAX || info->ua_len > FO_UA_MAX ||
        info->version_minor > 1 || info->end_ns < info->start_ns || info->end_ns > st->now ||
        (info->status != 0 && (info->status < 100 || info->status > 999)))
        abort();
    st->emitted++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fo_http1 h;
    struct state st = {0, 0, 0};
    fo_http1_init(&h);
    size_t i = 0;
    int closed = 0;
    while (i < size && !closed) {
        uint8_t ctl = data[i++];
        size_t len = (size_t)(ctl >> 2) * 4 + 1;
        if (len > size - i)
            len = size - i;
        st.now++;
        /* A private copy, so reading past len is caught by ASan. */
        char *copy = malloc(len ? len : 1);
        memcpy(copy, data + i, len);
        switch (ctl & 3) {
        case 0:
            fo_http1_on_read(&h, copy, len, st.now, on_emit, &st);
            break;
        case 1:
            fo_http1_on_write(&h, copy, len, st.now, on_emit, &st);
            break;
        case 2:
            fo_http1_on_write_opaque(&h, len * 97, st.now, on_emit, &st);
            break;
        default:
            if (len & 1)
                fo_http1_on_peer_eof(&h, st.now, on_emit, &st);
            else {
                fo_http1_on_close(&h, (int)(len & 2), st.now, on_emit, &st);
                closed = 1;
            }
            break;
        }
        free(copy);
        i += len;
    }
    if (!closed) {
        st.now++;
        fo_http1_on_close(&h, 0, st.now, on_emit, &st);
    }
    return 0;
}

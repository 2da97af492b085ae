/* buf.c - the exporter's capped byte buffer and bump arena (see buf.h). */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>

int fo_buf_reserve(struct fo_buf *b, size_t n)
{
    if (n <= b->cap - b->len)
        return 0;
    if (n > FO_BUF_MAX - b->len)
        return -ENOMEM;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n)
        cap *= 2;
    if (cap > FO_BUF_MAX)
        cap = FO_BUF_MAX;
    uint8_t *d = realloc(b->data, cap);
    if (d == NULL)
        return -ENOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

void fo_buf_reset(struct fo_buf *b)
{
    b->len = 0;
}

void fo_buf_free(struct fo_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

struct fo_arena_chunk {
    struct fo_arena_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char mem[];
};

#define CHUNK_MIN ((size_t)256 << 10)

void *fo_arena_alloc(struct fo_arena *a, size_t size)
{
    if (++a->count == a->fail_at || size > FO_BUF_MAX)
        return NULL;
    size = (size + 15) & ~(size_t)15;
    if (a->limit != 0 && a->used + size > a->limit)
        return NULL;
    /* Chunks kept from earlier encodes come first: use them before asking
     * malloc, so a steady stream of batches touches no new pages. */
    struct fo_arena_chunk *c = a->cur;
    while (c != NULL && c->size - c->used < size)
        c = c->next;
    if (c == NULL) {
        size_t csize = size > CHUNK_MIN ? size : CHUNK_MIN;
        c = malloc(sizeof *c + csize);
        if (c == NULL)
            return NULL;
        c->size = csize;
        c->used = 0;
        /* Next in line after the current chunk; chunks too small for this
         * request stay behind it for smaller ones. */
        if (a->cur != NULL) {
            c->next = a->cur->next;
            a->cur->next = c;
        } else {
            c->next = a->chunks;
            a->chunks = c;
        }
    }
    a->cur = c;
    void *p = c->mem + c->used;
    c->used += size;
    a->used += size;
    return p;
}

void fo_arena_reset(struct fo_arena *a)
{
    /* Keep up to FO_ARENA_RETAIN bytes of chunks for the next encode and
     * give the rest back: a rare huge batch must not pin its memory. */
    size_t kept = 0;
    struct fo_arena_chunk **link = &a->chunks;
    while (*link != NULL) {
        struct fo_arena_chunk *c = *link;
        if (kept + c->size <= FO_ARENA_RETAIN) {
            kept += c->size;
            c->used = 0;
            link = &c->next;
        } else {
            *link = c->next;
            free(c);
        }
    }
    a->cur = a->chunks;
    a->used = 0;
    a->count = 0;
}

void fo_arena_free(struct fo_arena *a)
{
    while (a->chunks != NULL) {
        struct fo_arena_chunk *next = a->chunks->next;
        free(a->chunks);
        a->chunks = next;
    }
    a->cur = NULL;
    a->used = 0;
    a->count = 0;
}

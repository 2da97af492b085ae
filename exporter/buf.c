/* buf.c - capped byte buffer and arena for the exporter (see buf.h). */
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

#define CHUNK_MIN ((size_t)64 << 10)

void *fo_arena_alloc(struct fo_arena *a, size_t size)
{
    a->count++;
    if (a->fail_after > 0 && a->count >= a->fail_after)
        return NULL;
    size = (size + 15) & ~(size_t)15;
    if (a->limit != 0 && a->used + size > a->limit)
        return NULL;
    struct fo_arena_chunk *c = a->chunks;
    if (c == NULL || c->size - c->used < size) {
        size_t csize = size > CHUNK_MIN ? size : CHUNK_MIN;
        struct fo_arena_chunk *n = malloc(sizeof *n + csize);
        if (n == NULL)
            return NULL;
        n->size = csize;
        n->used = 0;
        n->next = c;
        a->chunks = c = n;
    }
    void *p = c->mem + c->used;
    c->used += size;
    a->used += size;
    return p;
}

void fo_arena_reset(struct fo_arena *a)
{
    struct fo_arena_chunk *c = a->chunks;
    /* Keep the oldest chunk (the last in the list): it serves most encodes. */
    while (c != NULL && c->next != NULL) {
        struct fo_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    if (c != NULL)
        c->used = 0;
    a->chunks = c;
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
    a->used = 0;
    a->count = 0;
}

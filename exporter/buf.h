/*
 * buf.h - memory for the exporter thread: a growable byte buffer with a hard
 * cap (encoded requests) and an arena (protobuf-c message trees, freed all
 * at once after each encode). Both count what they hold so the library's
 * memory stays bounded, and both can be told to fail for tests.
 */
#ifndef FO_BUF_H
#define FO_BUF_H

#include <stddef.h>
#include <stdint.h>

#define FO_BUF_MAX ((size_t)64 << 20)

struct fo_buf {
    uint8_t *data;
    size_t len, cap;
};

/* Makes room for n more bytes. Returns 0, or -ENOMEM past FO_BUF_MAX. */
int fo_buf_reserve(struct fo_buf *b, size_t n);

/* Forgets the contents, keeps the memory. */
void fo_buf_reset(struct fo_buf *b);

/* Frees the memory. */
void fo_buf_free(struct fo_buf *b);

/* A bump allocator in chunks; nothing is freed until fo_arena_reset. */
struct fo_arena {
    struct fo_arena_chunk *chunks;
    size_t used;     /* bytes handed out since the last reset */
    size_t limit;    /* fail beyond this many bytes */
    long fail_after; /* tests: fail the Nth allocation (0 = never) */
    long count;      /* allocations since the last reset */
};

/* Returns size bytes aligned for any type, or NULL when over the limit. */
void *fo_arena_alloc(struct fo_arena *a, size_t size);

/* Releases every allocation but keeps the first chunk for reuse. */
void fo_arena_reset(struct fo_arena *a);

/* Releases everything. */
void fo_arena_free(struct fo_arena *a);

#endif

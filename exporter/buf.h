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

/*
 * Makes room for n more bytes after b->len (b->data may move). A zeroed
 * struct is an empty buffer. Returns 0, or -ENOMEM when len + n would pass
 * FO_BUF_MAX or memory runs out; b is unchanged on failure.
 */
int fo_buf_reserve(struct fo_buf *b, size_t n);

/* Forgets the contents (len = 0) and keeps the memory for the next use. */
void fo_buf_reset(struct fo_buf *b);

/* Frees the memory; b is an empty buffer again and may be reused. */
void fo_buf_free(struct fo_buf *b);

/*
 * A bump allocator in chunks; nothing is freed until fo_arena_reset. A
 * zeroed struct is an empty arena without a limit.
 */
#define FO_ARENA_RETAIN ((size_t)4 << 20) /* chunk bytes kept across resets */

struct fo_arena {
    struct fo_arena_chunk *chunks; /* all chunks, the ones in use first */
    struct fo_arena_chunk *cur;    /* where allocation continues */
    size_t used;     /* bytes handed out since the last reset */
    size_t limit;    /* fail beyond this many bytes (0 = no limit) */
    long fail_at;    /* tests: fail exactly the Nth allocation after a reset (0 = never) */
    long count;      /* allocations since the last reset */
};

/*
 * Returns size bytes aligned to 16, valid until the next fo_arena_reset or
 * fo_arena_free, or NULL when over the limit, out of memory, or it is the
 * allocation a test asked to fail.
 */
void *fo_arena_alloc(struct fo_arena *a, size_t size);

/*
 * Releases every allocation but keeps up to FO_ARENA_RETAIN bytes of chunks
 * for reuse (frees the rest); resets used and count.
 */
void fo_arena_reset(struct fo_arena *a);

/* Releases everything; the arena stays usable (and keeps limit, fail_at). */
void fo_arena_free(struct fo_arena *a);

#endif

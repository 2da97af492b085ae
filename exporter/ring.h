/*
 * ring.h - the bounded multi-producer, single-consumer queue of request
 * records between the host's threads and the exporter thread.
 *
 * Producers claim a slot, fill it in place and publish it; nothing allocates,
 * locks or blocks, so it is safe from signal handlers. When the ring is full
 * the record is dropped and counted. Each slot carries a sequence number
 * (the bounded-queue scheme of per-slot tickets), so a producer interrupted
 * between claim and publish only delays the consumer at that slot.
 */
#ifndef FO_RING_H
#define FO_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "preload/record.h"

/* Slots start lines, so that a record's first fields share its seq's. */
struct fo_ring_slot {
    _Alignas(64) _Atomic uint64_t seq;
    struct fo_record rec;
};

struct fo_ring {
    struct fo_ring_slot *slots; /* capacity entries, mmap'd */
    uint64_t mask;              /* capacity - 1; capacity is a power of two */
    _Alignas(64) _Atomic uint64_t head; /* next slot producers claim */
    _Alignas(64) uint64_t tail;         /* next slot the consumer reads */
    _Alignas(64) _Atomic uint64_t dropped; /* records refused because full */
};

/*
 * Maps a ring of at least capacity slots (rounded up to a power of two, at
 * least 64). Returns 0 or -ENOMEM. Called once, from the constructor.
 */
int fo_ring_init(struct fo_ring *r, size_t capacity);

/* Unmaps the ring's memory. */
void fo_ring_free(struct fo_ring *r);

/*
 * Claims a slot for one record. Returns the record to fill, or NULL when the
 * ring is full (the drop is counted). Every non-NULL claim must be followed
 * by fo_ring_publish() of the same pointer. Async-signal-safe.
 */
struct fo_record *fo_ring_claim(struct fo_ring *r);

/* Makes a claimed record visible to the consumer. Async-signal-safe. */
void fo_ring_publish(struct fo_ring *r, struct fo_record *rec);

/*
 * Consumer side (the exporter thread only): returns the oldest published
 * record, or NULL when there is none yet. The record stays valid until the
 * next fo_ring_release().
 */
const struct fo_record *fo_ring_peek(struct fo_ring *r);

/* Consumer side: frees the slot returned by the last fo_ring_peek(). */
void fo_ring_release(struct fo_ring *r);

/*
 * Empties the ring. Only for a forked child, where no other thread exists:
 * records of the parent must not be exported twice.
 */
void fo_ring_reset(struct fo_ring *r);

#endif

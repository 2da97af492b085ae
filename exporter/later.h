/*
 * later.h - Feast response bodies handed from the host's threads to the
 * exporter thread, to be scanned there.
 *
 * The write that ends a response should give the host its thread back at
 * once: under a saturating closed-loop load, time spent after that write
 * (and not after a read) widens the latency distribution far beyond its own
 * length (docs/benchmarks.md). So a response body that is all in that write
 * is copied into a slot of this pool with what its scan needs, the record
 * names the slot, and the exporter thread scans it and frees the slot. A
 * fixed pool, mapped once; slots are taken lowest first (preload/slots.h):
 * nothing allocates, locks or blocks. With no slot free,
 * or a body larger than a slot, the host's thread scans the body itself.
 */
#ifndef FO_LATER_H
#define FO_LATER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "preload/feast_body.h"

#define FO_LATER_SLOTS 128
#define FO_LATER_BODY_MAX 16384

struct fo_later {
    _Atomic uint32_t busy;
    uint32_t len; /* bytes in body */
    struct fo_feast_resume resume;
    char body[FO_LATER_BODY_MAX];
};

/* Maps the pool. Returns 0 or -ENOMEM (then no slot is ever handed out). */
int fo_later_init(void);

/* A free slot, or NULL. Async-signal-safe. */
struct fo_later *fo_later_claim(void);

/* The index a record carries for l, and back: NULL when idx names no slot. */
uint32_t fo_later_index(const struct fo_later *l);
struct fo_later *fo_later_at(uint32_t idx);

/* The exporter is done with l. */
void fo_later_release(struct fo_later *l);

/* Frees every slot: only in a forked child, where no other thread exists. */
void fo_later_reset(void);

#endif

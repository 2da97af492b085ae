/*
 * slots.h - taking slots of a fixed pool lowest first, shared by the
 * connection pool (conn.c) and the pool of Feast bodies (exporter/later.c).
 *
 * Each slot starts with a 32-bit atomic flag; a slot is taken by a
 * compare-and-swap of its flag from a vacant value to a taken one. A hint is
 * kept at or below the lowest free slot (every give lowers it), so a
 * process with N slots in use at once touches the memory of about N slots
 * however many come and go. It is only a hint: the search starts there and
 * goes round the whole pool, and a slot found taken is skipped. Nothing
 * allocates, locks or blocks: safe on the host's threads and in signal
 * handlers.
 */
#ifndef FO_SLOTS_H
#define FO_SLOTS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* The flag of slot k of a pool of slots stride bytes apart. */
static inline _Atomic uint32_t *fo_slot_flag(void *pool, size_t stride, size_t k)
{
    return (_Atomic uint32_t *)(void *)((char *)pool + k * stride);
}

/* Takes the lowest free slot it finds (flag vacant -> taken); returns its
 * index, or n when every slot is taken. */
static inline size_t fo_slot_take(void *pool, size_t stride, size_t n, _Atomic size_t *hint,
                                  uint32_t vacant, uint32_t taken)
{
    size_t start = atomic_load_explicit(hint, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        size_t k = (start + i) % n;
        _Atomic uint32_t *f = fo_slot_flag(pool, stride, k);
        uint32_t expect = vacant;
        if (atomic_load_explicit(f, memory_order_relaxed) == vacant &&
            atomic_compare_exchange_strong(f, &expect, taken)) {
            size_t h = start;
            atomic_compare_exchange_strong_explicit(hint, &h, k + 1, memory_order_relaxed,
                                                    memory_order_relaxed);
            return k;
        }
    }
    return n;
}

/* Gives slot k back (its flag to vacant) and lowers the hint to it. */
static inline void fo_slot_give(void *pool, size_t stride, size_t k, _Atomic size_t *hint,
                                uint32_t vacant)
{
    atomic_store_explicit(fo_slot_flag(pool, stride, k), vacant, memory_order_release);
    size_t h = atomic_load_explicit(hint, memory_order_relaxed);
    while (k < h && !atomic_compare_exchange_weak_explicit(hint, &h, k, memory_order_relaxed,
                                                           memory_order_relaxed))
        ;
}

#endif

/* ring.c - bounded MPSC ring of request records (see ring.h). */
#include "ring.h"

#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>

int fo_ring_init(struct fo_ring *r, size_t capacity)
{
    size_t cap = 64;
    while (cap < capacity && cap < ((size_t)1 << 24))
        cap <<= 1;
    void *p = mmap(NULL, cap * sizeof(struct fo_ring_slot), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    r->slots = p;
    r->mask = cap - 1;
    fo_ring_reset(r);
    return 0;
}

void fo_ring_free(struct fo_ring *r)
{
    if (r->slots != NULL)
        munmap(r->slots, (r->mask + 1) * sizeof(struct fo_ring_slot));
    r->slots = NULL;
}

void fo_ring_reset(struct fo_ring *r)
{
    for (uint64_t i = 0; i <= r->mask; i++)
        atomic_store_explicit(&r->slots[i].seq, i, memory_order_relaxed);
    atomic_store_explicit(&r->head, 0, memory_order_relaxed);
    atomic_store_explicit(&r->dropped, 0, memory_order_relaxed);
    r->tail = 0;
    atomic_thread_fence(memory_order_release);
}

struct fo_record *fo_ring_claim(struct fo_ring *r)
{
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    for (;;) {
        struct fo_ring_slot *s = &r->slots[pos & r->mask];
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int64_t diff = (int64_t)(seq - pos);
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed))
                return &s->rec;
            /* pos was reloaded by the failed exchange */
        } else if (diff < 0) {
            atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
            return NULL;
        } else {
            pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }
}

void fo_ring_publish(struct fo_ring *r, struct fo_record *rec)
{
    struct fo_ring_slot *s =
        (struct fo_ring_slot *)((char *)rec - offsetof(struct fo_ring_slot, rec));
    uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    /* A claimed slot's seq equals its position; publishing makes it pos + 1. */
    atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
    (void)r;
}

const struct fo_record *fo_ring_peek(struct fo_ring *r)
{
    struct fo_ring_slot *s = &r->slots[r->tail & r->mask];
    uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
    if (seq != r->tail + 1)
        return NULL;
    return &s->rec;
}

void fo_ring_release(struct fo_ring *r)
{
    struct fo_ring_slot *s = &r->slots[r->tail & r->mask];
    atomic_store_explicit(&s->seq, r->tail + r->mask + 1, memory_order_release);
    r->tail++;
}

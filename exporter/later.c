/* later.c - the pool of Feast response bodies scanned on the exporter thread
 * (see later.h). */
#include "later.h"

#include <errno.h>
#include <sys/mman.h>

static struct fo_later *pool;
/* At or below the lowest free slot (a release moves it down), so that a
 * process touches the memory of only as many slots as it has had in use at
 * once. Only a hint: a slot found taken is skipped. */
static _Atomic uint32_t hint;

int fo_later_init(void)
{
    void *p = mmap(NULL, FO_LATER_SLOTS * sizeof *pool, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    pool = p;
    return 0;
}

struct fo_later *fo_later_claim(void)
{
    if (pool == NULL)
        return NULL;
    uint32_t start = atomic_load_explicit(&hint, memory_order_relaxed);
    for (uint32_t k = start; k < FO_LATER_SLOTS; k++) {
        uint32_t expect = 0;
        if (atomic_load_explicit(&pool[k].busy, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&pool[k].busy, &expect, 1,
                                                    memory_order_acquire,
                                                    memory_order_relaxed)) {
            uint32_t h = start;
            atomic_compare_exchange_strong_explicit(&hint, &h, k + 1, memory_order_relaxed,
                                                    memory_order_relaxed);
            return &pool[k];
        }
    }
    return NULL;
}

uint32_t fo_later_index(const struct fo_later *l)
{
    return (uint32_t)(l - pool);
}

struct fo_later *fo_later_at(uint32_t idx)
{
    return pool != NULL && idx < FO_LATER_SLOTS ? &pool[idx] : NULL;
}

void fo_later_release(struct fo_later *l)
{
    uint32_t k = fo_later_index(l);
    atomic_store_explicit(&l->busy, 0, memory_order_release);
    uint32_t h = atomic_load_explicit(&hint, memory_order_relaxed);
    while (k < h && !atomic_compare_exchange_weak_explicit(&hint, &h, k, memory_order_relaxed,
                                                           memory_order_relaxed))
        ;
}

void fo_later_reset(void)
{
    if (pool == NULL)
        return;
    for (uint32_t k = 0; k < FO_LATER_SLOTS; k++)
        atomic_store_explicit(&pool[k].busy, 0, memory_order_relaxed);
    atomic_store_explicit(&hint, 0, memory_order_relaxed);
}

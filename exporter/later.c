/* later.c - the pool of Feast response bodies scanned on the exporter thread
 * (see later.h). */
#include "later.h"

#include <errno.h>
#include <sys/mman.h>

#include "preload/slots.h"

static struct fo_later *pool;
static _Atomic size_t hint; /* slots are taken lowest first (slots.h) */

_Static_assert(offsetof(struct fo_later, busy) == 0, "a slot starts with its flag");

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
    size_t k = fo_slot_take(pool, sizeof *pool, FO_LATER_SLOTS, &hint, 0, 1);
    return k < FO_LATER_SLOTS ? &pool[k] : NULL;
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
    fo_slot_give(pool, sizeof *pool, fo_later_index(l), &hint, 0);
}

void fo_later_reset(void)
{
    if (pool == NULL)
        return;
    for (uint32_t k = 0; k < FO_LATER_SLOTS; k++)
        atomic_store_explicit(&pool[k].busy, 0, memory_order_relaxed);
    atomic_store_explicit(&hint, 0, memory_order_relaxed);
}

/* test_ring.c - the record ring: order, drops when full, many producers. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "exporter/ring.h"

static struct fo_ring ring;

static void setup(void)
{
    memset(&ring, 0, sizeof ring);
    cr_assert_eq(fo_ring_init(&ring, 64), 0);
}

static void teardown(void)
{
    fo_ring_free(&ring);
}

TestSuite(ring, .init = setup, .fini = teardown);

static void push(uint16_t status)
{
    struct fo_record *r = fo_ring_claim(&ring);
    cr_assert_not_null(r);
    r->http.status = status;
    fo_ring_publish(&ring, r);
}

Test(ring, fifo_order)
{
    cr_assert_null(fo_ring_peek(&ring));
    for (uint16_t i = 0; i < 10; i++)
        push(i);
    for (uint16_t i = 0; i < 10; i++) {
        const struct fo_record *r = fo_ring_peek(&ring);
        cr_assert_not_null(r);
        cr_assert_eq(r->http.status, i);
        fo_ring_release(&ring);
    }
    cr_assert_null(fo_ring_peek(&ring));
}

Test(ring, full_ring_drops_and_counts)
{
    for (uint16_t i = 0; i < 64; i++)
        push(i);
    cr_assert_null(fo_ring_claim(&ring));
    cr_assert_null(fo_ring_claim(&ring));
    cr_assert_eq(atomic_load(&ring.dropped), 2);
    /* One slot freed makes exactly one claim possible again. */
    cr_assert_not_null(fo_ring_peek(&ring));
    fo_ring_release(&ring);
    push(100);
    cr_assert_null(fo_ring_claim(&ring));
    cr_assert_eq(atomic_load(&ring.dropped), 3);
}

Test(ring, claimed_but_unpublished_slot_blocks_only_the_consumer)
{
    struct fo_record *a = fo_ring_claim(&ring);
    cr_assert_not_null(a);
    push(7); /* a later producer is not held up */
    cr_assert_null(fo_ring_peek(&ring), "slot 0 is not published yet");
    a->http.status = 6;
    fo_ring_publish(&ring, a);
    cr_assert_eq(fo_ring_peek(&ring)->http.status, 6);
    fo_ring_release(&ring);
    cr_assert_eq(fo_ring_peek(&ring)->http.status, 7);
}

Test(ring, reset_empties)
{
    push(1);
    push(2);
    fo_ring_reset(&ring);
    cr_assert_null(fo_ring_peek(&ring));
    push(3);
    cr_assert_eq(fo_ring_peek(&ring)->http.status, 3);
}

#define PRODUCERS 4
#define PER_PRODUCER 20000

static void *producer(void *arg)
{
    uint16_t id = (uint16_t)(uintptr_t)arg;
    for (uint32_t i = 0; i < PER_PRODUCER; i++) {
        struct fo_record *r;
        while ((r = fo_ring_claim(&ring)) == NULL)
            ; /* spin until the consumer frees a slot */
        r->http.status = id;
        r->http.start_tick = i;
        fo_ring_publish(&ring, r);
    }
    return NULL;
}

Test(ring, many_producers_lose_nothing_and_keep_per_producer_order)
{
    pthread_t t[PRODUCERS];
    for (uintptr_t i = 0; i < PRODUCERS; i++)
        pthread_create(&t[i], NULL, producer, (void *)i);
    uint64_t next[PRODUCERS] = {0};
    uint64_t total = 0;
    while (total < (uint64_t)PRODUCERS * PER_PRODUCER) {
        const struct fo_record *r = fo_ring_peek(&ring);
        if (r == NULL)
            continue;
        cr_assert_lt(r->http.status, PRODUCERS);
        cr_assert_eq(r->http.start_tick, next[r->http.status], "producer %u out of order",
                     r->http.status);
        next[r->http.status]++;
        fo_ring_release(&ring);
        total++;
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    cr_assert_null(fo_ring_peek(&ring));
}

/* test_later.c - the pool of Feast response bodies scanned on the exporter
 * thread: bounded, lowest slot first, and every slot back after a reset. */
#include <criterion/criterion.h>

#include "exporter/later.h"

Test(later, slots_are_taken_lowest_first_and_run_out)
{
    cr_assert_null(fo_later_at(0), "nothing before the pool is mapped");
    cr_assert_null(fo_later_claim());
    cr_assert_eq(fo_later_init(), 0);
    struct fo_later *got[FO_LATER_SLOTS];
    for (uint32_t i = 0; i < FO_LATER_SLOTS; i++) {
        got[i] = fo_later_claim();
        cr_assert_not_null(got[i]);
        cr_assert_eq(fo_later_index(got[i]), i);
        cr_assert_eq(fo_later_at(i), got[i]);
    }
    cr_assert_null(fo_later_claim(), "all taken: the host scans the body itself");
    cr_assert_null(fo_later_at(FO_LATER_SLOTS), "an index from a record is checked");

    fo_later_release(got[70]);
    fo_later_release(got[5]);
    cr_assert_eq(fo_later_claim(), got[5], "the lowest free slot");
    cr_assert_eq(fo_later_claim(), got[70]);
    cr_assert_null(fo_later_claim());

    fo_later_reset();
    for (uint32_t i = 0; i < FO_LATER_SLOTS; i++)
        cr_assert_eq(fo_later_claim(), got[i]);
}

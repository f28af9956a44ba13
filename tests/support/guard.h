/*
 * Input placed right before an unreadable page, for the unit tests of
 * parsers of network bytes: a copy that ends at the PROT_NONE page
 * faults on a read one byte too far instead of passing silently.
 */
#ifndef SL_TEST_GUARD_H
#define SL_TEST_GUARD_H

#include <stddef.h>
#include <stdint.h>

struct sl_guard {
    uint8_t *base;
    size_t   size; /* readable bytes; the next page is PROT_NONE */
    size_t   page;
};

/* Maps at least n readable bytes before an unreadable page: 0, or -1. */
int  sl_guard_init(struct sl_guard *g, size_t n);
void sl_guard_free(struct sl_guard *g);

/* Copies n bytes of p so that they end at the unreadable page (n at
 * most g->size); returns the copy. */
const uint8_t *sl_guard_place(struct sl_guard *g, const void *p, size_t n);

/* One shared guard of 16 KiB for a suite's set-up and clean-up
 * (CU_add_suite(name, sl_guard_suite_init, sl_guard_suite_free)), and
 * sl_guard_put to place input before it. */
int            sl_guard_suite_init(void);
int            sl_guard_suite_free(void);
const uint8_t *sl_guard_put(const void *p, size_t n);

#endif

/*
 * Bounded Chase-Lev deque (Chase and Lev 2005; the C11 orderings follow
 * the reasoning of Le, Pop, Cohen and Zappa Nardelli 2013, adapted to a
 * fixed ring).
 *
 * Two counters index an array used as a ring: top (the next item a thief
 * takes) and bottom (the slot the owner fills next).  Items live in
 * [top, bottom).  Only the owner writes bottom; top only ever grows, by a
 * compare-and-swap that both thieves and the owner (for the last item)
 * race on, so exactly one of them wins each item.
 *
 * Because the ring never grows, the owner must not overwrite a slot a
 * thief may still be reading.  push() refuses when bottom - top == cap,
 * so the slot it writes, bottom % cap, last held item bottom - cap, which
 * lies below the top the owner observed: that item was already taken.  A
 * slow thief that read the slot while it still held the old item is
 * racing for a top value that has since moved, so its CAS fails and the
 * value it read is thrown away.  Slots are atomics so that read is not a
 * data race either.
 *
 * The classic code uses stand-alone fences (a release fence in push and
 * seq_cst fences in pop and steal).  ThreadSanitizer does not model
 * stand-alone fences, so the same guarantees are expressed on the
 * operations themselves: bottom is stored with release in push, and the
 * store-load pairs that must not be reordered (the Dekker pattern between
 * pop and steal) are seq_cst operations.  On x86-64 this costs the same
 * single locked instruction per pop as the fence would.
 */
#include "pool/deque.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

struct sl_deque {
    /* top and bottom on separate cache lines: thieves hammer top, the
     * owner writes bottom on every push and pop. */
    _Alignas(64) _Atomic int64_t top;
    _Alignas(64) _Atomic int64_t bottom;
    _Alignas(64) size_t          mask;  /* capacity - 1 */
    _Atomic(void *)             *ring;
};

struct sl_deque *
sl_deque_new(size_t cap)
{
    struct sl_deque *d;
    size_t           n = 2;

    if (cap > ((size_t) 1 << 40))
        return NULL;
    while (n < cap)
        n <<= 1;
    d = aligned_alloc(64, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->ring = calloc(n, sizeof(*d->ring));
    if (d->ring == NULL) {
        free(d);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        atomic_init(&d->ring[i], NULL);
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    d->mask = n - 1;
    return d;
}

void
sl_deque_free(struct sl_deque *d)
{
    if (d == NULL)
        return;
    free(d->ring);
    free(d);
}

int
sl_deque_push(struct sl_deque *d, void *item)
{
    /* Relaxed: only this thread ever stores bottom. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    /* Acquire: pairs with the thieves' successful CAS on top, so their
     * reads of the slots below the new top are finished (happen-before)
     * when we reuse one of those slots. */
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);

    if (b - t > (int64_t) d->mask)
        return -ENOSPC;
    /* Relaxed: published by the release store of bottom just below. */
    atomic_store_explicit(&d->ring[b & (int64_t) d->mask], item,
                          memory_order_relaxed);
    /* Release: a thief that reads the new bottom (acquire) also sees the
     * slot and everything the owner wrote into the item before pushing
     * it. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return 0;
}

void *
sl_deque_peek(struct sl_deque *d)
{
    /* Relaxed throughout: only the owner moves bottom, and a stale top
     * or slot only makes the hint wrong, never unsafe. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);

    if (t > b)
        return NULL;
    return atomic_load_explicit(&d->ring[b & (int64_t) d->mask],
                                memory_order_relaxed);
}

void *
sl_deque_pop(struct sl_deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    int64_t t;
    void   *item;

    /* Reserve the bottom item first, then look at top.  Both seq_cst:
     * this store and the load of top below, against a thief's load of
     * top and then of bottom, is the Dekker pattern.  In the single total
     * order either the thief sees the decremented bottom (and backs off
     * from this item) or we see the thief's incremented top (and know
     * the item may be contested).  Weaker orderings would let both sides
     * read the old value of the other's counter and take the same item. */
    atomic_store_explicit(&d->bottom, b, memory_order_seq_cst);
    t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    if (t > b) {
        /* Empty: undo the reservation.  Relaxed: no item is published. */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        return NULL;
    }
    /* Relaxed: we wrote this slot ourselves. */
    item = atomic_load_explicit(&d->ring[b & (int64_t) d->mask],
                                memory_order_relaxed);
    if (t < b)
        return item;  /* more than one item: no thief can reach this one */
    /* Exactly one item: race the thieves for it on top.  seq_cst keeps
     * the CAS in the same total order as the Dekker pair above. */
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1,
                                                 memory_order_seq_cst,
                                                 memory_order_relaxed))
        item = NULL;  /* a thief won it */
    /* Either way the deque is now empty with top == b + 1. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    return item;
}

void *
sl_deque_steal(struct sl_deque *d)
{
    /* seq_cst load of top, then seq_cst (hence also acquire) load of
     * bottom: the thief's half of the Dekker pattern described in pop.
     * The acquire on bottom pairs with push's release store, making the
     * slot and the item's contents visible. */
    int64_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_seq_cst);
    void   *item;

    if (t >= b)
        return NULL;
    /* Relaxed: ordered by the acquire of bottom above.  The value may be
     * stale if the owner has since reused the slot, but then top has moved
     * past t and the CAS below fails, discarding it. */
    item = atomic_load_explicit(&d->ring[t & (int64_t) d->mask],
                                memory_order_relaxed);
    /* seq_cst on success: claims the item against other thieves and the
     * owner's last-item CAS, and (as a release) tells a later push that
     * our read of the slot is done.  Failure: someone else took it; the
     * caller may retry elsewhere. */
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1,
                                                 memory_order_seq_cst,
                                                 memory_order_relaxed))
        return NULL;
    return item;
}

size_t
sl_deque_size(struct sl_deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);

    return b > t ? (size_t) (b - t) : 0;
}

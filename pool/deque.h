/*
 * A bounded Chase-Lev work-stealing deque of pointers.
 *
 * Contract: exactly one thread, the owner, calls sl_deque_push() and
 * sl_deque_pop(); it works at the bottom end (LIFO, cache-warm).  Any
 * number of other threads, the thieves, call sl_deque_steal(), which
 * takes from the top end (FIFO, oldest first).  Every item pushed is
 * returned exactly once, by either pop or steal.  The capacity is fixed
 * (a power of two) so the array never moves; a full deque refuses the
 * push and the owner sends the work elsewhere (the scheduler's injection
 * queue), which is how overflow stays bounded without reallocation.
 */
#ifndef SL_DEQUE_H
#define SL_DEQUE_H

#include <stddef.h>

struct sl_deque;

/* A deque holding up to cap items; cap is rounded up to a power of two
 * (minimum 2).  NULL when out of memory. */
struct sl_deque *sl_deque_new(size_t cap);
void sl_deque_free(struct sl_deque *d);

/* Owner only.  0, or -ENOSPC when full (the item was not taken). */
int sl_deque_push(struct sl_deque *d, void *item);

/* Owner only.  The most recently pushed item, or NULL when empty. */
void *sl_deque_pop(struct sl_deque *d);

/* Owner only.  The item the next sl_deque_pop would return, left in
 * place; NULL when empty.  A hint (a thief may take it meanwhile): the
 * caller may prefetch it, never use it. */
void *sl_deque_peek(struct sl_deque *d);

/* Any thread.  The oldest item, or NULL when empty or when another thread
 * won the race for it (the caller may simply try elsewhere). */
void *sl_deque_steal(struct sl_deque *d);

/* Approximate number of items; exact only when no one else is working on
 * the deque. */
size_t sl_deque_size(struct sl_deque *d);

#endif

/*
 * Intrusive doubly linked list.  A node lives inside the struct it links,
 * so linking never allocates; sl_list_entry() recovers the container.
 * Not thread-safe: the owner of a list guards it.
 */
#ifndef SL_QUEUE_H
#define SL_QUEUE_H

#include <stddef.h>

struct sl_list {
    struct sl_list *prev;
    struct sl_list *next;
};

#define sl_list_entry(ptr, type, member) \
    ((type *) ((char *) (ptr) - offsetof(type, member)))

#define sl_list_foreach_safe(pos, tmp, head) \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
         (pos) = (tmp), (tmp) = (pos)->next)

static inline void
sl_list_init(struct sl_list *h)
{
    h->prev = h;
    h->next = h;
}

static inline int
sl_list_empty(const struct sl_list *h)
{
    return h->next == h;
}

/* A node that is not on any list points at itself, so unlinking twice is
 * harmless. */
static inline int
sl_list_linked(const struct sl_list *n)
{
    return n->next != n && n->next != NULL;
}

static inline void
sl_list_insert_tail(struct sl_list *h, struct sl_list *n)
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

static inline void
sl_list_remove(struct sl_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n;
    n->next = n;
}

#endif

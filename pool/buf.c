#include "pool/buf.h"

#include <stdlib.h>
#include <string.h>

static atomic_long live_bufs;

struct sl_buf *
sl_buf_new(size_t cap)
{
    struct sl_buf *b;

    if (cap > UINT32_MAX - sizeof(*b))
        return NULL;
    b = malloc(sizeof(*b) + cap);
    if (b == NULL)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = 0;
    b->cap = (uint32_t) cap;
    atomic_fetch_add_explicit(&live_bufs, 1, memory_order_relaxed);
    return b;
}

struct sl_buf *
sl_buf_from(const void *data, size_t len)
{
    struct sl_buf *b = sl_buf_new(len);

    if (b == NULL)
        return NULL;
    if (len > 0)
        memcpy(b->data, data, len);
    b->len = (uint32_t) len;
    return b;
}

void
sl_buf_unref(struct sl_buf *b)
{
    if (b == NULL)
        return;
    /* acq_rel: the release publishes this holder's reads, the acquire
     * (taken only by the last holder) orders them before the free.  A
     * release decrement plus an acquire fence would be cheaper on weak
     * memory models, but ThreadSanitizer does not model fences. */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    atomic_fetch_sub_explicit(&live_bufs, 1, memory_order_relaxed);
    free(b);
}

long
sl_buf_live_count(void)
{
    return atomic_load_explicit(&live_bufs, memory_order_relaxed);
}

#include "server/outq.h"

#include <errno.h>
#include <stdlib.h>

/* Queues start small and double up to their bound when a burst (a join:
 * replies, statuses and three headers before the first write) needs it:
 * per-player memory is what limits how many players a node holds, and
 * stream media no longer passes through here. */
#define OUTQ_INITIAL_CAP 16

int
sl_outq_init(struct sl_outq *q, uint32_t cap)
{
    uint32_t c = 2;

    while (c < cap)
        c <<= 1;
    q->max_cap = c;
    if (c > OUTQ_INITIAL_CAP)
        c = OUTQ_INITIAL_CAP;
    q->items = calloc(c, sizeof(*q->items));
    if (q->items == NULL)
        return -ENOMEM;
    pthread_mutex_init(&q->lock, NULL);
    q->cap = c;
    q->head = q->tail = 0;
    atomic_init(&q->queued, 0);
    atomic_init(&q->broken, 0);
    q->bytes = 0;
    return 0;
}

void
sl_outq_destroy(struct sl_outq *q)
{
    if (q->items == NULL)
        return;
    for (uint32_t i = q->head; i != q->tail; i++)
        sl_buf_unref(q->items[i & (q->cap - 1)].buf);
    free(q->items);
    q->items = NULL;
    pthread_mutex_destroy(&q->lock);
}

/* Doubles the ring, keeping order.  Called with the lock held; the
 * consumer only touches items under the lock, so moving them is safe.
 * 0, or -ENOMEM (the queue then counts as full). */
static int
grow(struct sl_outq *q)
{
    uint32_t             n = q->tail - q->head, ncap = q->cap * 2;
    struct sl_outq_item *items;

    if (q->cap >= q->max_cap)
        return -ENOMEM;
    items = malloc(ncap * sizeof(*items));
    if (items == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        items[i] = q->items[(q->head + i) & (q->cap - 1)];
    free(q->items);
    q->items = items;
    q->cap = ncap;
    q->head = 0;
    q->tail = n;
    return 0;
}

int
sl_outq_push(struct sl_outq *q, struct sl_buf *buf, uint32_t ts, uint32_t flags)
{
    int rc = 1;

    pthread_mutex_lock(&q->lock);
    if (atomic_load_explicit(&q->broken, memory_order_relaxed)) {
        rc = -EPIPE;
        goto out;
    }
    if (q->tail - q->head == q->cap && grow(q) < 0) {
        atomic_store_explicit(&q->broken, 1, memory_order_relaxed);
        rc = -EPIPE;
        goto out;
    }
    q->items[q->tail & (q->cap - 1)] =
        (struct sl_outq_item){sl_buf_ref(buf), ts, flags};
    q->tail++;
    q->bytes += buf->len;
    /* Release: the item is written before the count says so. */
    atomic_store_explicit(&q->queued, q->tail - q->head, memory_order_release);
out:
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int
sl_outq_collect(struct sl_outq *q, struct iovec *iov, int max, uint32_t off)
{
    return sl_outq_collect_bufs(q, iov, NULL, max, off);
}

int
sl_outq_collect_bufs(struct sl_outq *q, struct iovec *iov, struct sl_buf **bufs,
                     int max, uint32_t off)
{
    int      n = 0;
    uint32_t i;

    pthread_mutex_lock(&q->lock);
    for (i = q->head; i != q->tail && n < max; i++, n++) {
        struct sl_buf *b = q->items[i & (q->cap - 1)].buf;
        uint32_t       skip = i == q->head ? off : 0;

        iov[n].iov_base = b->data + skip;
        iov[n].iov_len = b->len - skip;
        if (bufs != NULL)
            bufs[n] = b;
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}

uint32_t
sl_outq_consume(struct sl_outq *q, uint32_t off, size_t n)
{
    pthread_mutex_lock(&q->lock);
    while (q->head != q->tail) {
        struct sl_outq_item *it = &q->items[q->head & (q->cap - 1)];
        size_t               left = it->buf->len - off;

        if (n < left) {
            off += (uint32_t) n;
            break;
        }
        n -= left;
        off = 0;
        q->bytes -= it->buf->len;
        sl_buf_unref(it->buf);
        it->buf = NULL;
        q->head++;
    }
    atomic_store_explicit(&q->queued, q->tail - q->head, memory_order_relaxed);
    pthread_mutex_unlock(&q->lock);
    return off;
}

int
sl_outq_empty(struct sl_outq *q)
{
    int e;

    pthread_mutex_lock(&q->lock);
    e = q->head == q->tail;
    pthread_mutex_unlock(&q->lock);
    return e;
}

int
sl_outq_broken(struct sl_outq *q)
{
    int b;

    pthread_mutex_lock(&q->lock);
    b = atomic_load_explicit(&q->broken, memory_order_relaxed);
    pthread_mutex_unlock(&q->lock);
    return b;
}

#include "server/outq.h"

#include <errno.h>
#include <stdlib.h>

/* Queues start small and double up to their bound when a burst (a GOP
 * replay, a slow reader) needs it: most players keep only a merge
 * window's worth of messages, and per-player memory is what limits how
 * many players a node holds. */
#define OUTQ_INITIAL_CAP 32

int
sl_outq_init(struct sl_outq *q, uint32_t cap, uint32_t max_lag_ms)
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
    q->max_lag_ms = max_lag_ms;
    q->skipping = q->discard = q->broken = 0;
    q->dropped = q->skips = q->bytes = 0;
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

/* Timestamp of the oldest queued media message, if any.  Called with the
 * lock held. */
static int
oldest_media_ts(struct sl_outq *q, uint32_t *ts)
{
    for (uint32_t i = q->head; i != q->tail; i++) {
        struct sl_outq_item *it = &q->items[i & (q->cap - 1)];

        if (it->flags & SL_OUT_MEDIA) {
            *ts = it->ts;
            return 1;
        }
    }
    return 0;
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
sl_outq_push(struct sl_outq *q, struct sl_buf *buf, uint32_t ts,
             uint32_t flags)
{
    uint32_t oldest;
    int      full, lagging = 0, rc = 1;

    pthread_mutex_lock(&q->lock);
    if (q->broken) {
        rc = -EPIPE;
        goto out;
    }
    full = q->tail - q->head == q->cap && grow(q) < 0;
    if (flags & SL_OUT_KEEP) {
        if (full) {
            q->broken = 1;
            rc = -EPIPE;
            goto out;
        }
        goto queue;
    }
    if (q->skipping) {
        if (!(flags & SL_OUT_SYNC) || full) {
            q->dropped++;
            rc = 0;
            goto out;
        }
        q->skipping = 0;
    }
    /* Unsigned difference: correct across the 32-bit wrap. */
    if ((flags & SL_OUT_MEDIA) && oldest_media_ts(q, &oldest))
        lagging = (uint32_t) (ts - oldest) > q->max_lag_ms &&
                  (uint32_t) (ts - oldest) < 0x80000000u;
    if (full || lagging) {
        q->skipping = 1;
        q->discard = 1;
        q->skips++;
        q->dropped++;
        rc = 0;
        goto out;
    }
queue:
    q->items[q->tail & (q->cap - 1)] =
        (struct sl_outq_item){sl_buf_ref(buf), ts, flags};
    q->tail++;
    q->bytes += buf->len;
out:
    pthread_mutex_unlock(&q->lock);
    return rc;
}

void
sl_outq_wait_sync(struct sl_outq *q)
{
    pthread_mutex_lock(&q->lock);
    q->skipping = 1;
    pthread_mutex_unlock(&q->lock);
}

/* Keeps the head when it is partly written (its remaining chunks must go
 * out or the player's chunk stream breaks) and every KEEP item; drops the
 * rest.  Called by the consumer with the lock held. */
static void
apply_discard(struct sl_outq *q, uint32_t off)
{
    uint32_t keep = q->head, i = q->head;

    if (off > 0 && i != q->tail) {
        keep++;
        i++;
    }
    for (; i != q->tail; i++) {
        struct sl_outq_item *it = &q->items[i & (q->cap - 1)];

        if (it->flags & SL_OUT_KEEP) {
            q->items[keep++ & (q->cap - 1)] = *it;
        } else {
            q->bytes -= it->buf->len;
            q->dropped++;
            sl_buf_unref(it->buf);
        }
    }
    q->tail = keep;
    q->discard = 0;
}

int
sl_outq_collect(struct sl_outq *q, struct iovec *iov, int max, uint32_t off)
{
    int      n = 0;
    uint32_t i;

    pthread_mutex_lock(&q->lock);
    if (q->discard)
        apply_discard(q, off);
    for (i = q->head; i != q->tail && n < max; i++, n++) {
        struct sl_buf *b = q->items[i & (q->cap - 1)].buf;
        uint32_t       skip = i == q->head ? off : 0;

        iov[n].iov_base = b->data + skip;
        iov[n].iov_len = b->len - skip;
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
    b = q->broken;
    pthread_mutex_unlock(&q->lock);
    return b;
}

uint64_t
sl_outq_skips(struct sl_outq *q)
{
    uint64_t n;

    pthread_mutex_lock(&q->lock);
    n = q->skips;
    pthread_mutex_unlock(&q->lock);
    return n;
}

int
sl_outq_health(struct sl_outq *q, uint64_t *skips)
{
    int broken;

    pthread_mutex_lock(&q->lock);
    broken = q->broken;
    *skips = q->skips;
    pthread_mutex_unlock(&q->lock);
    return broken;
}

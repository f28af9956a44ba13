/*
 * A player's private send queue: references to encoded messages, never
 * copies.  It holds what only this session sends: its replies, statuses
 * and user control messages, and the metadata and codec headers the hub
 * queues when the player joins a stream or skips ahead.  Stream media
 * does not pass through here: players read it from the stream's ring
 * (server/hub.h), and the session writes this queue before ring data.
 *
 * Producers (the session itself; the hub, under the stream lock, on
 * subscribe and on a skip) push under the queue's mutex; the one
 * consumer, the session task, writes the head of the queue with writev
 * outside the lock and then pops what was written.  Producers only ever
 * append, and only the consumer removes, so the consumer may read the
 * entries it collected without holding the lock.
 *
 * Nothing here is droppable, so there is no drop policy: a message that
 * does not fit (the queue is at its bound) marks the queue broken, and
 * that player must be disconnected.
 */
#ifndef SL_OUTQ_H
#define SL_OUTQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pool/buf.h"

/* Flags of a stream message (kept in the hub's ring; also accepted here
 * and kept with the entry, for tests and the API). */
#define SL_OUT_KEEP 1u  /* never dropped: control, codec header, meta */
#define SL_OUT_SYNC 2u  /* a player can start here (keyframe) */
#define SL_OUT_MEDIA 4u /* audio or video with a meaningful timestamp */

struct sl_outq_item {
    struct sl_buf *buf;
    uint32_t       ts;
    uint32_t       flags; /* SL_OUT_* */
};

struct sl_outq {
    /* What the consumer's every round reads (the lock, whether anything
     * is queued, whether it broke) leads, in 64 bytes, so its holder can
     * keep it on the lines it keeps hot (the session does); the rest is
     * read only when something is queued. */
    pthread_mutex_t lock;
    uint32_t        head; /* next to write; consumer-owned */
    uint32_t        tail; /* next free slot; producer-owned */
    /* tail - head, and whether a message did not fit: written under
     * the lock, read without it by the consumer's idle check. */
    atomic_uint          queued;
    atomic_bool          broken;
    struct sl_outq_item *items;
    uint32_t             cap;     /* power of two; grows to max_cap */
    uint32_t             max_cap; /* the bound */
    uint64_t             bytes;   /* bytes queued and not yet popped */
};

/* A queue bounded at cap entries (rounded up to a power of two); it
 * starts smaller and grows on demand.  0 or -ENOMEM. */
int sl_outq_init(struct sl_outq *q, uint32_t cap);
/* Drops every remaining reference. */
void sl_outq_destroy(struct sl_outq *q);

/* Any thread.  Queues a new reference to buf.  Returns 1 when queued,
 * -EPIPE when the queue is (or now becomes) broken. */
int sl_outq_push(struct sl_outq *q, struct sl_buf *buf, uint32_t ts,
                 uint32_t flags);

/* Consumer only.  Fills up to max iovecs from the head, the first
 * starting off bytes into the head message.  Returns the count (0 when
 * empty). */
int sl_outq_collect(struct sl_outq *q, struct iovec *iov, int max,
                    uint32_t off);

/* Consumer only.  As sl_outq_collect, and bufs[i] is the message iov[i]
 * comes from (borrowed: valid until it is consumed), so a writer can
 * send a file-backed one with sendfile. */
int sl_outq_collect_bufs(struct sl_outq *q, struct iovec *iov,
                         struct sl_buf **bufs, int max, uint32_t off);

/* Consumer only.  Pops the messages fully covered by n bytes written
 * starting off bytes into the head; returns the new offset into the new
 * head. */
uint32_t sl_outq_consume(struct sl_outq *q, uint32_t off, size_t n);

/* Consumer only, without the lock: 1 when nothing is queued and the
 * queue is not broken, so the run may skip sl_outq_collect and
 * sl_outq_broken.  A push from another thread must be followed by a
 * wake of the consumer (every push is: the hub's pushes happen in the
 * consumer's own collect or subscribe), whose next run then sees it. */
static inline int
sl_outq_idle(struct sl_outq *q)
{
    /* Acquire: pairs with the release in push, so a count seen is a
     * queue whose items are visible (the lock is taken for them too). */
    return atomic_load_explicit(&q->queued, memory_order_acquire) == 0 &&
           !atomic_load_explicit(&q->broken, memory_order_relaxed);
}

/* Any thread: 1 when nothing is queued. */
int sl_outq_empty(struct sl_outq *q);
int sl_outq_broken(struct sl_outq *q);

#endif

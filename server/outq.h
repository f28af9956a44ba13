/*
 * A player's bounded send queue: references to encoded messages (the
 * same bytes every player gets), never copies.
 *
 * Producers (the publisher's fan-out through the hub, and the session
 * itself for its own replies) push under the queue's mutex; the one
 * consumer, the session task, writes the head of the queue with writev
 * outside the lock and then pops what was written.  Producers only ever
 * append, and only the consumer removes, so the consumer may read the
 * entries it collected without holding the lock.
 *
 * Drop policy: when the queue is full, or the newest media is more than
 * max_lag ahead of the oldest unsent media, the producer refuses the
 * message, asks the consumer to discard what is queued (keeping control
 * messages, codec headers and metadata, and the message already half
 * written) and accepts nothing droppable again until a sync point (a
 * video keyframe, or any audio frame in an audio-only stream).  A codec
 * header or control message that does not fit marks the queue broken:
 * that player must be disconnected.
 */
#ifndef SL_OUTQ_H
#define SL_OUTQ_H

#include <pthread.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pool/buf.h"

#define SL_OUT_KEEP       1u  /* never dropped: control, codec header, meta */
#define SL_OUT_SYNC       2u  /* a player can start here (keyframe) */
#define SL_OUT_MEDIA      4u  /* audio or video with a meaningful timestamp */

struct sl_outq_item {
    struct sl_buf *buf;
    uint32_t       ts;     /* media timestamp, for the lag measure */
    uint32_t       flags;  /* SL_OUT_* */
};

struct sl_outq {
    pthread_mutex_t      lock;
    struct sl_outq_item *items;
    uint32_t             cap;        /* power of two; grows to max_cap */
    uint32_t             max_cap;    /* the bound */
    uint32_t             head;       /* next to write; consumer-owned */
    uint32_t             tail;       /* next free slot; producer-owned */
    uint32_t             max_lag_ms;
    uint8_t              skipping;   /* refusing droppables until a sync */
    uint8_t              discard;    /* consumer must drop queued droppables */
    uint8_t              broken;     /* a KEEP item did not fit */
    uint64_t             dropped;    /* messages refused or discarded */
    uint64_t             skips;      /* times the queue skipped ahead */
    uint64_t             bytes;      /* bytes queued and not yet popped */
};

/* A queue bounded at cap entries (rounded up to a power of two); it
 * starts smaller and grows on demand.  0 or -ENOMEM. */
int sl_outq_init(struct sl_outq *q, uint32_t cap, uint32_t max_lag_ms);
/* Drops every remaining reference. */
void sl_outq_destroy(struct sl_outq *q);

/* Any thread.  Queues a new reference to buf.  Returns 1 when queued,
 * 0 when dropped by the policy, -EPIPE when the queue is broken. */
int sl_outq_push(struct sl_outq *q, struct sl_buf *buf, uint32_t ts,
                 uint32_t flags);

/* Any thread: start refusing droppables until the next sync point (a new
 * player that did not get a GOP cache waits for a keyframe). */
void sl_outq_wait_sync(struct sl_outq *q);

/* Consumer only.  Applies a pending discard, then fills up to max iovecs
 * from the head, the first starting off bytes into the head message.
 * Returns the count (0 when empty). */
int sl_outq_collect(struct sl_outq *q, struct iovec *iov, int max,
                    uint32_t off);

/* Consumer only.  Pops the messages fully covered by n bytes written
 * starting off bytes into the head; returns the new offset into the new
 * head. */
uint32_t sl_outq_consume(struct sl_outq *q, uint32_t off, size_t n);

/* Any thread: 1 when nothing is queued. */
int sl_outq_empty(struct sl_outq *q);
int sl_outq_broken(struct sl_outq *q);
/* Any thread: how many times the queue has skipped ahead so far. */
uint64_t sl_outq_skips(struct sl_outq *q);

/* Consumer: the broken flag and the skip count in one lock round trip,
 * for the per-run health check. */
int sl_outq_health(struct sl_outq *q, uint64_t *skips);

#endif

/*
 * The stream's ring and the cursors that read it.
 *
 * Write side (the publisher's thread, through hub_ingest.c): every
 * message is appended once, with the oldest entries evicted to stay
 * within the bounds (entries, bytes, age), and the marks a joiner or a
 * skipping player starts from move on: the GOP (the last video keyframe,
 * while the GOP fits the limits), the newest sync point and the newest
 * header.  Players are then woken, at most once per merge window.
 *
 * Read side (each player's own task): a cursor is the sequence number of
 * the next entry to send.  sl_sub_collect applies the drop policy and
 * hands out references to the entries from the cursor; the player
 * writes them outside every lock and gives back what it did not write
 * (sl_sub_rewind).  Both sides run under the stream lock.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "pool/buf.h"
#include "pool/sched.h"
#include "rtmp/chunk.h"
#include "rtmp/flv.h"
#include "server/hub.h"
#include "server/hub_int.h"
#include "server/outq.h"

/* Drops the oldest ring entry.  Stream lock held. */
static void
ring_evict(struct sl_stream *s)
{
    struct sl_ring_ent *e = &s->ring[s->ring_tail & s->ring_mask];

    s->ring_bytes -= e->wire->len;
    sl_buf_unref(e->wire);
    e->wire = NULL;
    if (e->flv != NULL) {
        s->ring_bytes -= e->flv->len;
        sl_buf_unref(e->flv);
        e->flv = NULL;
    }
    s->ring_tail++;
    if (s->gop_ok && s->gop_seq < s->ring_tail)
        s->gop_ok = 0; /* a GOP longer than the ring: not offered */
    if (s->have_sync && s->sync_seq < s->ring_tail)
        s->have_sync = 0;
}

void
sl_ring_clear(struct sl_stream *s)
{
    while (s->ring_tail != s->ring_head)
        ring_evict(s);
}

/* Evicts entries more than ring_max_ms behind the newest media, except
 * the cached GOP and the newest entry.  Nobody can need them: a player
 * that far behind skips anyway.  Unsigned differences: correct across
 * the 32-bit wrap; an entry slightly ahead of the newest media (audio
 * and video interleave) counts as new.  Stream lock held. */
static void
ring_trim_age(struct sl_stream *s)
{
    uint32_t ms =
        atomic_load_explicit(&s->hub->ring_max_ms, memory_order_relaxed);

    if (ms == 0 || !s->have_media)
        return;
    while (s->ring_head - s->ring_tail > 1) {
        struct sl_ring_ent *e = &s->ring[s->ring_tail & s->ring_mask];
        uint32_t            age = s->media_ts - e->ts;

        if ((s->gop_ok && s->ring_tail >= s->gop_seq) || age <= ms ||
            age >= 0x80000000u)
            break;
        ring_evict(s);
    }
}

/* Appends wire to the ring, evicting the oldest entries to stay within
 * the bound, and keeps the GOP, sync and header marks.  Stream lock
 * held. */
void
sl_ring_append(struct sl_stream *s, struct sl_buf *wire, uint32_t ts,
               uint32_t flags, int keyframe)
{
    const struct sl_hub_limits *lim = &s->hub->lim;
    uint64_t                    seq = s->ring_head;

    while (s->ring_head - s->ring_tail > s->ring_mask ||
           (s->ring_tail != s->ring_head &&
            s->ring_bytes + wire->len > lim->ring_max_bytes))
        ring_evict(s);
    s->ring[seq & s->ring_mask] =
        (struct sl_ring_ent){sl_buf_ref(wire), NULL, ts, flags};
    s->ring_head++;
    s->ring_bytes += wire->len;

    if (flags & SL_OUT_KEEP) {
        s->have_hdr = 1;
        s->hdr_seq = seq;
    }
    if (flags & SL_OUT_MEDIA) {
        s->have_media = 1;
        s->media_ts = ts;
        atomic_store_explicit(&s->head_ts, ts, memory_order_relaxed);
    }
    if (flags & SL_OUT_SYNC) {
        s->have_sync = 1;
        s->sync_seq = seq;
        s->sync_ts = ts;
    }
    if (keyframe) {
        /* A reload that turned the cache off takes effect here. */
        s->gop_ok =
            atomic_load_explicit(&s->hub->gop_cache, memory_order_relaxed) != 0;
        s->gop_seq = seq;
        s->gop_msgs = 1;
        s->gop_bytes = wire->len;
    } else if (s->gop_ok) {
        s->gop_msgs++;
        s->gop_bytes += wire->len;
        /* Too long to cache: late joiners wait for the next keyframe. */
        if (s->gop_msgs > lim->gop_max_msgs ||
            s->gop_bytes > lim->gop_max_bytes)
            s->gop_ok = 0;
    }
    ring_trim_age(s);
}

/* Forgets what late joiners and skips start from (the ring entries stay
 * for subscribers still reading them).  Stream lock held. */
void
sl_ring_caches_clear(struct sl_stream *s)
{
    s->gop_ok = 0;
    s->have_sync = 0;
    s->have_media = 0;
    s->have_hdr = 0;
    sl_buf_unref(s->meta);
    sl_buf_unref(s->vseq);
    sl_buf_unref(s->aseq);
    s->meta = s->vseq = s->aseq = NULL;
    sl_ring_flv_forget(&s->meta_flv);
    sl_ring_flv_forget(&s->vseq_flv);
    sl_ring_flv_forget(&s->aseq_flv);
    sl_buf_unref(s->meta_pl);
    sl_buf_unref(s->vseq_pl);
    sl_buf_unref(s->aseq_pl);
    s->meta_pl = s->vseq_pl = s->aseq_pl = NULL;
    s->has_video = 0;
}

/* Wakes every subscriber.  Stream lock held. */
void
sl_ring_wake_all(struct sl_stream *s, uint64_t now_ms)
{
    sl_task_wake_many(s->sub_tasks, s->nsubs);
    s->flush_pending = 0;
    s->last_flush_ms = now_ms;
}

/* Wakes subscribers for a new ring entry: at once with no merge window,
 * otherwise at most once per window.  Stream lock held. */
void
sl_ring_fan_out(struct sl_stream *s, uint64_t now_ms)
{
    uint32_t merge =
        atomic_load_explicit(&s->hub->merge_write_ms, memory_order_relaxed);

    if (merge == 0) {
        sl_task_wake_many(s->sub_tasks, s->nsubs);
        return;
    }
    s->flush_pending = 1;
    if (now_ms - s->last_flush_ms >= merge)
        sl_ring_wake_all(s, now_ms);
}

uint64_t
sl_hub_flush(struct sl_stream *s, uint64_t now_ms)
{
    uint64_t due = 0;
    uint32_t merge =
        atomic_load_explicit(&s->hub->merge_write_ms, memory_order_relaxed);

    pthread_mutex_lock(&s->lock);
    if (s->flush_pending) {
        if (now_ms - s->last_flush_ms >= merge)
            sl_ring_wake_all(s, now_ms);
        else
            due = s->last_flush_ms + merge;
    }
    pthread_mutex_unlock(&s->lock);
    return due;
}

void
sl_ring_flv_forget(struct sl_buf **flv)
{
    sl_buf_unref(*flv);
    *flv = NULL;
}

/* wire (one message as the hub encoded it) as an FLV tag: the body
 * unwrapped from its chunks, framed with the tag header and trailer.  A
 * new buffer, or NULL when out of memory. */
static struct sl_buf *
flv_tag(const struct sl_stream *s, const struct sl_buf *wire)
{
    struct sl_chunk_unwrapped m;
    struct sl_buf *b = sl_buf_new(wire->len + SL_FLV_TAG_HDR + SL_FLV_TAG_TAIL);
    int            len;

    if (b == NULL)
        return NULL;
    /* The body is never longer than the message that carries it. */
    len = sl_chunk_unwrap(wire->data, wire->len, s->hub->lim.chunk_size, &m,
                          b->data + SL_FLV_TAG_HDR, wire->len);
    if (len < 0) {
        sl_buf_unref(b);
        return NULL;
    }
    sl_flv_tag_header(b->data, m.type, (uint32_t) len, m.timestamp);
    sl_flv_tag_trailer(b->data + SL_FLV_TAG_HDR + len, (uint32_t) len);
    b->len = SL_FLV_TAG_HDR + (uint32_t) len + SL_FLV_TAG_TAIL;
    return b;
}

/* The form of a cached header sub writes: wire itself, or its FLV tag
 * (made once, kept in *flv).  NULL when there is none. */
static struct sl_buf *
header_for(const struct sl_stream *s, const struct sl_sub *sub,
           struct sl_buf *wire, struct sl_buf **flv)
{
    if (wire == NULL || !sub->flv)
        return wire;
    if (*flv == NULL)
        *flv = flv_tag(s, wire);
    return *flv;
}

/* Queues the metadata and codec headers into sub's private queue.
 * Stream lock held. */
static void
push_headers(struct sl_stream *s, struct sl_sub *sub)
{
    struct sl_buf *h;

    if ((h = header_for(s, sub, s->meta, &s->meta_flv)) != NULL)
        sl_outq_push(sub->q, h, 0, SL_OUT_KEEP);
    if ((h = header_for(s, sub, s->vseq, &s->vseq_flv)) != NULL)
        sl_outq_push(sub->q, h, 0, SL_OUT_KEEP);
    if ((h = header_for(s, sub, s->aseq, &s->aseq_flv)) != NULL)
        sl_outq_push(sub->q, h, 0, SL_OUT_KEEP);
}

/* The bytes of entry e that sub writes: the shared wire form, or the
 * shared FLV tag (made by the first FLV subscriber to need it, counted
 * in the ring's bytes).  A new reference, or NULL when out of memory. */
static inline struct sl_buf *
entry_for(struct sl_stream *s, const struct sl_sub *sub, struct sl_ring_ent *e)
{
    if (!sub->flv)
        return sl_buf_ref(e->wire);
    if (e->flv == NULL) {
        e->flv = flv_tag(s, e->wire);
        if (e->flv == NULL)
            return NULL;
        s->ring_bytes += e->flv->len;
    }
    return sl_buf_ref(e->flv);
}

/* Places a new subscriber's cursor: on the cached GOP's keyframe, after
 * the headers; without a GOP, at the head, waiting for a sync point
 * when the stream has video (or has no publisher yet).  Stream lock
 * held. */
void
sl_ring_place_cursor(struct sl_stream *s, struct sl_sub *sub)
{
    sub->next = s->ring_head;
    sub->synced_at = s->ring_head;
    sub->wait_sync = 0;
    sub->skip_wait = 0;
    if (s->publisher == NULL) {
        /* A player that arrives before any publisher starts at the first
         * keyframe the publisher sends. */
        sub->wait_sync = 1;
        return;
    }
    push_headers(s, sub);
    if (s->gop_ok)
        sub->next = s->gop_seq;
    else if (s->has_video)
        sub->wait_sync = 1;
}

/* Oldest unsent media at or after the cursor is more than max_lag behind
 * the newest.  Unsigned differences: correct across the 32-bit wrap.
 * Stream lock held. */
static int
lagging(struct sl_stream *s, struct sl_sub *sub)
{
    if (!s->have_media)
        return 0;
    for (uint64_t q = sub->next; q != s->ring_head; q++) {
        struct sl_ring_ent *e = &s->ring[q & s->ring_mask];
        uint32_t            d;

        if (!(e->flags & SL_OUT_MEDIA))
            continue;
        d = s->media_ts - e->ts;
        return d > sub->max_lag_ms && d < 0x80000000u;
    }
    return 0;
}

/* The subscriber fell behind: it goes to the newest sync point when that
 * one is itself within max_lag, otherwise to the head to wait for the
 * next.  Codec headers it passed over are re-queued privately (all of
 * them when the ring no longer tells which).  Stream lock held. */
static void
skip_ahead(struct sl_stream *s, struct sl_sub *sub)
{
    uint64_t to = s->ring_head;
    int      wait = 1;

    if (s->have_sync && s->sync_seq >= sub->next &&
        (uint32_t) (s->media_ts - s->sync_ts) <= sub->max_lag_ms) {
        to = s->sync_seq;
        wait = 0;
    }
    if (sub->next < s->ring_tail ||
        (s->have_hdr && s->hdr_seq >= sub->next && s->hdr_seq < to))
        push_headers(s, sub);
    /* Count the media passed over, for the API (at most the ring). */
    for (uint64_t q = sub->next < s->ring_tail ? s->ring_tail : sub->next;
         q < to; q++)
        if (s->ring[q & s->ring_mask].flags & SL_OUT_MEDIA)
            sub->dropped++;
    sub->next = to;
    sub->synced_at = to;
    sub->wait_sync = (uint8_t) wait;
    sub->skip_wait = (uint8_t) wait;
    sub->skips++;
}

int
sl_sub_collect(struct sl_sub *sub, struct sl_sub_msg *msgs, int max)
{
    struct sl_stream *s = sub->stream;
    int               n = 0;

    if (s == NULL)
        return 0;
    pthread_mutex_lock(&s->lock);
    if (sub->wait_sync) {
        /* Waiting for a sync point is not falling behind: no skip is
         * counted, the cursor just never points at evicted entries. */
        if (sub->next < s->ring_tail) {
            push_headers(s, sub);
            sub->next = s->ring_tail;
        }
    } else if (sub->next < s->ring_tail || lagging(s, sub)) {
        skip_ahead(s, sub);
    }
    while (sub->next != s->ring_head && n < max) {
        struct sl_ring_ent *e = &s->ring[sub->next & s->ring_mask];

        if (sub->wait_sync) {
            if (e->flags & SL_OUT_SYNC) {
                sub->wait_sync = 0;
                sub->skip_wait = 0;
                sub->synced_at = sub->next;
            } else if (!(e->flags & SL_OUT_KEEP)) {
                /* After a skip, what waits for the keyframe is lost
                 * too; a joiner's wait is not counted. */
                if (sub->skip_wait && (e->flags & SL_OUT_MEDIA))
                    sub->dropped++;
                sub->next++;
                continue;
            }
        }
        msgs[n].buf = entry_for(s, sub, e);
        if (msgs[n].buf == NULL)
            break; /* out of memory: the next collect tries again */
        msgs[n].seq = sub->next;
        msgs[n].ts = e->ts;
        msgs[n].flags = e->flags;
        n++;
        sub->next++;
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

void
sl_sub_rewind(struct sl_sub *sub, uint64_t seq)
{
    struct sl_stream *s = sub->stream;

    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    /* Back before the sync point that ended a wait: the dropped entries
     * before it must stay dropped. */
    if (seq < sub->synced_at)
        sub->wait_sync = 1;
    sub->next = seq;
    pthread_mutex_unlock(&s->lock);
}

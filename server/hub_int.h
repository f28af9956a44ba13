/*
 * The hub's body, shared by its own files and included by no other:
 * callers see only server/hub.h.  Which file holds what:
 *
 *   hub.c          the name table and stream lifetimes: publish,
 *                  unpublish, subscribe, taps, observers, the API's
 *                  queries and counters
 *   hub_ingest.c   one publisher message: classify it, turn metadata into
 *                  onMetaData, map its timestamp onto the timeline,
 *                  encode it once, cache headers, append it to the ring
 *                  and hand it to taps
 *   hub_ring.c     the ring: append and eviction, the GOP, sync and
 *                  header marks, waking players (the merge window), and
 *                  the cursors that read it (join, drop policy, collect,
 *                  rewind)
 *   hub_standby.c  the hot standby: what it keeps, and the takeover
 *
 * The per-message path (sl_hub_media -> ring append -> wake) crosses
 * from hub_ingest.c into hub_ring.c once per message, never per player;
 * the per-player path (sl_sub_collect and its drop policy) stays inside
 * hub_ring.c.
 */
#ifndef SL_HUB_INT_H
#define SL_HUB_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "pool/buf.h"
#include "pool/queue.h"
#include "rtmp/flv.h"
#include "rtmp/rtmp.h"
#include "server/hub.h"

/* One message in a stream's ring.  The ring holds a reference to wire
 * until the entry is evicted; a subscriber takes its own reference for
 * the time it writes it (sl_sub_collect), so eviction never frees bytes
 * a writev is reading.  flv is the same message as an FLV tag, made from
 * wire the first time an FLV subscriber (HTTP-FLV) collects it and then
 * shared by all of them; NULL until then, so a stream nobody watches over
 * HTTP costs nothing for it. */
struct sl_ring_ent {
    struct sl_buf *wire;
    struct sl_buf *flv;
    uint32_t       ts;
    uint32_t       flags;
};

/* A standby publisher's kept message: its own body and timestamp, as
 * it sent them (mapped onto the timeline only when it takes over). */
struct sl_standby_ent {
    struct sl_buf *pl;
    uint32_t       ts;
    uint8_t        type;
};

/* The standby (backup_publish): who it is and what a takeover starts
 * from.  Bounded like the GOP cache: a GOP longer than the GOP limits
 * is dropped until the next keyframe. */
struct sl_standby {
    const void            *who;    /* NULL: none */
    uint64_t               id;     /* for log lines */
    struct sl_standby_ent  hdr[3]; /* metadata, video and audio headers */
    struct sl_standby_ent *gop;    /* from its last video keyframe */
    uint32_t               n, cap;
    uint64_t               bytes;
    uint8_t                gop_ok; /* gop starts at a keyframe */
    uint8_t                has_video;
    uint8_t                have_ts;
    uint32_t               last_ts; /* its newest timestamp */
};

struct sl_stream {
    struct sl_list  link; /* in hub->streams; hub-locked */
    struct sl_hub  *hub;
    char            app[SL_NAME_MAX];
    char            name[SL_NAME_MAX];
    pthread_mutex_t lock;

    /* Everything below is guarded by lock. */
    const void *publisher; /* NULL while nobody publishes */
    /* Written under lock, read without it by every player on every run
     * (sl_hub_stream_state), so they are atomics: a player polling its
     * stream must not contend with the publisher's fan-out for the lock.
     * Relaxed: each is read on its own, a stale value only delays a
     * status message until the next run. */
    atomic_ullong  publish_gen;
    atomic_ullong  unpublished_ms;
    atomic_int     live;
    atomic_uint    head_ts; /* newest media timestamp, for the API */
    /* The subscribers, as two arrays the fan-out walks (a list would
     * cost a cache miss per player just to find the next one): their
     * tasks, which a window wakes, and the subscriptions, so a leaving
     * one's slot (sub->slot) can take the last one's place. */
    struct sl_task **sub_tasks;
    struct sl_sub  **subs;
    uint32_t         nsubs, subs_cap;
    struct sl_list taps;
    uint32_t       ntaps;
    uint8_t        derived; /* published by the server (a rendition) */

    struct sl_buf *meta; /* onMetaData, encoded */
    struct sl_buf *vseq; /* video sequence header, encoded */
    struct sl_buf *aseq; /* audio sequence header, encoded */
    /* The same three as FLV tags, made when an FLV subscriber first needs
     * them; dropped whenever their encoded form changes. */
    struct sl_buf *meta_flv, *vseq_flv, *aseq_flv;
    uint8_t        has_video; /* this publication has sent video */
    /* The same three as bodies, for taps that join late. */
    struct sl_buf *meta_pl, *vseq_pl, *aseq_pl;
    int64_t        meta_ts, vseq_ts, aseq_ts;

    /* The ring: entries with sequence numbers [ring_tail, ring_head)
     * live at ring[seq & ring_mask].  Sequence numbers never repeat for
     * the stream's life (they go on across publishers), so a cursor is
     * simply compared with them.  Bounded by ring_mask + 1 entries and
     * the hub's ring_max_bytes; the oldest entry is evicted to make
     * room. */
    struct sl_ring_ent *ring;
    uint32_t            ring_mask;
    uint64_t            ring_tail;
    uint64_t            ring_head;
    uint64_t            ring_bytes;

    /* The cached GOP is [gop_seq, ring_head) while gop_ok: it starts at
     * the last video keyframe and is dropped when it grows beyond the
     * GOP limits or its keyframe is evicted. */
    uint8_t  gop_ok;
    uint64_t gop_seq;
    uint32_t gop_msgs;
    uint64_t gop_bytes;

    /* Where a skipping subscriber goes: the newest sync point. */
    uint8_t  have_sync;
    uint64_t sync_seq;
    uint32_t sync_ts;
    /* The newest media timestamp, for the lag measure. */
    uint8_t  have_media;
    uint32_t media_ts;
    /* The newest KEEP entry (metadata, codec header), so a skip knows
     * whether it passed over one. */
    uint8_t  have_hdr;
    uint64_t hdr_seq;

    /* Timeline: ext = the publisher's timestamp extended to 64 bits;
     * out = ext + offset, what players see. */
    uint8_t  have_ts;
    uint8_t  have_out; /* last_out is meaningful (survives publishers) */
    uint32_t last_raw;
    int64_t  last_ext;
    int64_t  offset;
    int64_t  last_out;
    int64_t  last_track_out[2]; /* audio, video: each kept non-decreasing */
    uint64_t last_wall_ms;

    /* The merge window: flush_pending while a message waits for a
     * wake, last_flush_ms when the last wake went out. */
    uint8_t  flush_pending;
    uint64_t last_flush_ms;

    /* Hot standby.  backup: the primary came through
     * sl_hub_publish_backup, so a standby may join it. */
    uint8_t           backup;
    uint8_t           need_key;    /* after a takeover: inter frames wait */
    uint64_t          pub_id;      /* the primary's id, for log lines */
    uint64_t          pub_last_ms; /* the primary's newest message */
    uint32_t          ingest_ms;   /* a primary silent this long is replaced */
    struct sl_standby sb;
};

struct sl_hub {
    pthread_mutex_t      lock;
    struct sl_list       streams;
    struct sl_hub_limits lim;
    uint32_t             ring_cap; /* entries, a power of two */
    /* The limits a reload may change, read on the media path. */
    atomic_uint   merge_write_ms;
    atomic_int    gop_cache;
    atomic_uint   ring_max_ms; /* grows on reload, never shrinks */
    atomic_ullong nstreams, nsubs, msgs_in, bytes_in, ts_fixes;
    atomic_ullong takeovers;
    int           nobservers;
    struct {
        sl_hub_observer_fn fn;
        void              *ctx;
    } observers[SL_HUB_MAX_OBSERVERS];
};

/* One incoming message, classified before the stream lock is taken. */
struct sl_ingest_msg {
    uint8_t            type;
    uint32_t           csid;
    int                track;   /* 0 audio, 1 video, -1 data */
    int                is_meta; /* onMetaData (body holds it) */
    struct sl_flv_info info;
    struct sl_buf     *payload; /* as the publisher sent it */
    struct sl_buf     *body;    /* converted metadata, owned, or NULL */
    struct sl_buf     *msg;     /* what players and taps get */
};

/* hub_ingest.c.  Classifies payload into m.  1 when it is to be passed
 * on (the caller releases m->body afterwards), 0 when it is not (another
 * type, unreadable metadata).  No lock needed. */
int sl_ingest_prepare(uint8_t type, struct sl_buf *payload,
                      struct sl_ingest_msg *m);

/* hub_ingest.c.  The standby takes over (sl_standby_promote) and what
 * it kept is replayed through the normal path: players, taps and
 * observers see no end.  Stream lock held. */
void sl_ingest_take_over(struct sl_stream *s, uint64_t now_ms,
                         const void *demoted);

/* hub_ingest.c.  Puts one message of the primary on the timeline, into
 * the caches and the ring, wakes players and hands it to taps.  Stream
 * lock held.  0 or -ENOMEM. */
int sl_ingest_deliver(struct sl_stream *s, const struct sl_ingest_msg *m,
                      uint32_t ts, uint64_t now_ms);

/* hub_ring.c.  Appends wire (the ring takes its own reference) with its
 * timestamp on the players' timeline and its SL_OUT_* flags, evicting
 * the oldest entries to stay within the bounds, and moves the GOP, sync
 * and header marks.  keyframe: a video keyframe, where a GOP starts.
 * Stream lock held. */
void sl_ring_append(struct sl_stream *s, struct sl_buf *wire, uint32_t ts,
                    uint32_t flags, int keyframe);

/* hub_ring.c.  Drops the FLV form of a cached header that changed
 * (*flv, one of meta_flv, vseq_flv, aseq_flv).  Stream lock held. */
void sl_ring_flv_forget(struct sl_buf **flv);

/* hub_ring.c.  Evicts every entry.  Stream lock held (or the stream
 * private to the caller). */
void sl_ring_clear(struct sl_stream *s);

/* hub_ring.c.  Forgets what late joiners and skips start from: the GOP,
 * sync and header marks and the cached headers (the ring entries stay
 * for subscribers still reading them).  Stream lock held. */
void sl_ring_caches_clear(struct sl_stream *s);

/* hub_ring.c.  Wakes subscribers for a new ring entry: at once with no
 * merge window, otherwise at most once per window.  Stream lock held. */
void sl_ring_fan_out(struct sl_stream *s, uint64_t now_ms);

/* hub_ring.c.  Wakes every subscriber now and restarts the merge
 * window.  Stream lock held. */
void sl_ring_wake_all(struct sl_stream *s, uint64_t now_ms);

/* hub_ring.c.  Places a new subscriber's cursor (and queues the headers
 * a join needs into sub->q).  Stream lock held. */
void sl_ring_place_cursor(struct sl_stream *s, struct sl_sub *sub);

/* hub_standby.c.  Keeps one message of the standby.  Stream lock
 * held. */
void sl_standby_keep(struct sl_stream *s, const struct sl_ingest_msg *m,
                     uint32_t ts);

/* hub_standby.c.  The standby becomes the primary; demoted (the old
 * primary, which stalled) becomes the standby, or nobody when NULL.
 * What the standby kept moves to *kept, for the caller to replay
 * (sl_ingest_take_over) and then forget; the caches are cleared and the
 * timeline restarts.  Stream lock held. */
void sl_standby_promote(struct sl_stream *s, uint64_t now_ms,
                        const void *demoted, struct sl_standby *kept);

/* hub_standby.c.  Forgets the standby and everything it kept.  Stream
 * lock held (or the stream private to the caller). */
void sl_standby_forget(struct sl_standby *sb);

#endif

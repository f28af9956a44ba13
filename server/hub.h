/*
 * The stream hub: the one place live streams exist.  A stream is named
 * APP/NAME; it has at most one publisher (and, with backup_publish, one
 * standby publisher), any number of subscribers (players) and any
 * number of taps (the transcoder, relays and recordings take the
 * message bodies inside the server).  Observers hear every publish,
 * unpublish, subscribe and unsubscribe.  For late joiners it keeps the
 * metadata and the codec sequence headers and, when enabled, remembers
 * where the last GOP starts.
 *
 * Fan-out: each media message is serialised to the wire once (a format-0
 * header and format-3 continuations at the hub's chunk size, message
 * stream id 1) into an immutable sl_buf and appended ONCE to the stream's
 * bounded ring.  A subscriber is a cursor into that ring (the sequence
 * number of the next message it sends); the publisher never touches a
 * subscriber's queue.  Subscribers are woken at most once per merge window
 * and then write from their cursor, up to one writev's worth per round,
 * so per-player work happens once per window, not once per message.
 *
 * Timestamps: the publisher's 32-bit timestamps are extended to 64 bits
 * (wrap-aware) and corrected into one monotonic timeline that survives
 * publisher reconnects and encoder glitches; players see that timeline.
 *
 * Locking: the hub mutex guards the name table; each stream has its own
 * mutex guarding its publisher, standby, subscriber and tap lists,
 * caches and ring.  Order: hub, then stream, then a subscriber's private
 * send queue or a tap's own lock.  Any thread may call these functions
 * unless one says otherwise; none blocks on I/O.
 *
 * The body (the stream, the ring) is in server/hub_int.h, private to
 * hub.c (names, lifetimes, observers), hub_ingest.c (a message's way
 * in), hub_ring.c (the ring and the players' cursors) and hub_standby.c
 * (the hot standby).
 */
#ifndef SL_HUB_H
#define SL_HUB_H

#include <stdint.h>

#include "pool/buf.h"
#include "pool/queue.h"
#include "pool/sched.h"
#include "rtmp/rtmp.h"
#include "server/outq.h"

struct sl_hub;
struct sl_stream;

/* A subscription, embedded in its owner (a player session).  The owner
 * keeps it alive until sl_hub_unsubscribe() returns.
 *
 * The cursor fields are owned by the subscriber's task: only
 * sl_hub_subscribe (before the owner uses them) and the owner's calls to
 * sl_sub_collect / sl_sub_rewind change them, the latter under the
 * stream lock because they compare them with the ring. */
struct sl_sub {
    uint32_t        slot;         /* in the stream's arrays; stream-locked */
    struct sl_outq *q;            /* private queue: joins and skips put the
                                   * metadata and codec headers here */
    struct sl_task   *task;       /* woken when the ring has new messages */
    struct sl_stream *stream;     /* set by subscribe */
    uint32_t          max_lag_ms; /* set by the caller */
    uint8_t           flv;        /* set by the caller: it writes FLV tags
                                   * (HTTP-FLV), not RTMP chunks */
    uint8_t  wait_sync;           /* drop non-KEEP entries until a sync */
    uint64_t next;                /* ring sequence number to send next */
    uint64_t synced_at;           /* where the cursor last started
                                   * afresh (a join, a skip, a wait's
                                   * end): a rewind before it waits for
                                   * a sync again */
    uint64_t skips;               /* times this subscriber skipped ahead */
    uint64_t dropped;             /* media entries it skipped over */
    uint8_t  skip_wait;           /* waiting for a sync after a skip */
};

/* One ring entry handed to a subscriber by sl_sub_collect: buf (the
 * RTMP chunks every RTMP player shares, or for an flv subscriber the FLV
 * tag every HTTP-FLV player shares, made from them once) is a
 * reference of the caller's own, so the ring may evict the entry while
 * the caller writes it. */
struct sl_sub_msg {
    struct sl_buf *buf;
    uint64_t       seq;
    uint32_t       ts;    /* the players' timeline */
    uint32_t       flags; /* SL_OUT_* */
};

/* A tap: a subscriber inside the server (the transcoder, relays,
 * recordings) that takes the publisher's messages as message bodies, not
 * wire bytes.  The callbacks run on the publisher's thread with the stream
 * lock held: they must be quick, must not block and must not call into
 * the hub (take a reference to the payload and queue it).  The owner keeps
 * the tap alive until sl_hub_untap() returns. */
struct sl_tap {
    struct sl_list    link;   /* in the stream's tap list */
    struct sl_stream *stream; /* set by sl_hub_tap */
    /* type 8, 9 or 18 (metadata arrives as an onMetaData body); ts is on
     * the players' timeline, extended to 64 bits. */
    void (*on_media)(struct sl_tap *tap, uint8_t type, int64_t ts,
                     struct sl_buf *payload);
    /* The publisher left.  No on_media follows until a new publisher
     * starts, when the tap (still attached) gets its messages too. */
    void (*on_end)(struct sl_tap *tap);
};

/* Publish, unpublish, subscribe and unsubscribe events, for the parts
 * that start work per stream (transcoder, relays, edge pulls,
 * recordings).  derived: the stream was made by the server from another
 * one (a rendition), not by a client.  For (un)subscribe events: live
 * says whether a publisher is attached, subscribers is the count after
 * the change (both 0 in publish and unpublish events). */
enum sl_hub_event_kind {
    SL_HUB_PUBLISH,
    SL_HUB_UNPUBLISH,
    SL_HUB_SUBSCRIBE,
    SL_HUB_UNSUBSCRIBE
};
struct sl_hub_event {
    enum sl_hub_event_kind kind;
    const char            *app;
    const char            *name;
    int                    derived;
    int                    live;
    uint32_t               subscribers;
};
typedef void (*sl_hub_observer_fn)(void *ctx, const struct sl_hub_event *ev);
#define SL_HUB_MAX_OBSERVERS 4

struct sl_hub_limits {
    uint32_t chunk_size;     /* of the encoded messages players receive */
    uint32_t merge_write_ms; /* wake subscribers at most this often */
    int      gop_cache;      /* keep the last GOP for late joiners */
    uint32_t gop_max_msgs;   /* a GOP longer than this is not cached */
    uint64_t gop_max_bytes;
    /* The ring's bound (0: SL_RING_MSGS, and gop_max_bytes or 64 MiB);
     * the entry count is rounded up to a power of two.  It must hold
     * max_lag of media and the longest cached GOP; a GOP the ring
     * cannot hold is not offered to late joiners. */
    uint32_t ring_max_msgs;
    uint64_t ring_max_bytes;
    /* Entries older than this behind the newest media, and older than
     * the cached GOP, are evicted too (0: no age bound).  Players lag
     * out at max_lag, so max_lag plus a margin is all a ring needs to
     * keep; it bounds a stream's memory to a few seconds of media. */
    uint32_t ring_max_ms;
};

#define SL_RING_MSGS 4096

struct sl_hub *sl_hub_new(const struct sl_hub_limits *lim);
/* Every stream must be gone (all publishers and subscribers left). */
void sl_hub_free(struct sl_hub *hub);

/* A config reload: the new merge window and GOP cache setting apply from
 * the next message on (a GOP already cached stays until the next
 * keyframe).  ring_max_ms only ever grows (players started under an
 * older config keep their max_lag); 0 leaves it.  The other limits are
 * fixed for the hub's life. */
void sl_hub_reload(struct sl_hub *hub, uint32_t merge_write_ms, int gop_cache,
                   uint32_t ring_max_ms);

/* Starts publishing APP/NAME for publisher (an opaque owner token, used
 * to check that only the publisher feeds and ends the stream).  0 with
 * *out set (a stream reference the publisher holds until unpublish), or
 * -EBUSY when someone already publishes that name, -ENOMEM. */
int sl_hub_publish(struct sl_hub *hub, const char *app, const char *name,
                   const void *publisher, struct sl_stream **out);

/* As sl_hub_publish, for a stream the server derives from another one
 * (observers see derived = 1, so a transcoder does not transcode its
 * own renditions). */
int sl_hub_publish_derived(struct sl_hub *hub, const char *app,
                           const char *name, const void *publisher,
                           struct sl_stream **out);

/* Hot standby ([app] backup_publish).  As sl_hub_publish, except that
 * when a client already publishes APP/NAME (itself through this call)
 * and nobody stands by yet, publisher becomes the standby: its media
 * (fed with sl_hub_publisher_media) is kept, not delivered: the latest
 * metadata and codec headers and the current GOP, bounded by the GOP
 * limits.  It takes over when the primary unpublishes, or when the
 * standby feeds a message and the primary has sent nothing for
 * ingest_ms (0: never); the primary that stalled becomes the standby.
 * A takeover is no publish or unpublish: observers hear nothing, taps
 * get no on_end, players stay; all of them get the standby's headers
 * and its GOP from its last keyframe, on the same timeline.  id names
 * the publisher in log lines ("cID").  0: the primary; 1: the standby
 * (*out set either way; both hold it until sl_hub_unpublish); -EBUSY:
 * a primary and a standby already, or a primary that did not come
 * through this call (a rendition, a pull); -ENOMEM. */
int sl_hub_publish_backup(struct sl_hub *hub, const char *app, const char *name,
                          const void *publisher, uint64_t id,
                          uint32_t ingest_ms, struct sl_stream **out);

/* Registers an observer of the events above, before any thread
 * publishes or subscribes.  Observers run on the thread that made the
 * change, right after the hub changed, with no hub lock held: a PUBLISH
 * observer that taps the stream sees every message from the first.  0,
 * or -ENOSPC (SL_HUB_MAX_OBSERVERS already). */
int sl_hub_add_observer(struct sl_hub *hub, sl_hub_observer_fn fn, void *ctx);

/* Attaches tap to APP/NAME (creating the entry when nobody publishes
 * yet).  When live, the cached metadata and codec sequence headers are
 * replayed to it first, so a tap that joins late can still decode from
 * the next keyframe.  0 or -ENOMEM. */
int sl_hub_tap(struct sl_hub *hub, const char *app, const char *name,
               struct sl_tap *tap);

/* Detaches tap; after it returns no callback runs or will run. */
void sl_hub_untap(struct sl_tap *tap);

/* Ends the publication; drops the publisher's stream reference.  Players
 * stay subscribed, waiting for a new publisher.  Subscribers are woken
 * for what waited for the merge window, taps get on_end, observers an
 * UNPUBLISH event.  With a standby, the standby takes over instead (see
 * sl_hub_publish_backup); a standby that unpublishes is simply
 * forgotten; anyone else changes nothing. */
void sl_hub_unpublish(struct sl_stream *s, const void *publisher);

/* The publisher feeds one message: type 8 audio, 9 video, or 18 data
 * (payload is the AMF0 body; @setDataFrame/onMetaData is cached and
 * passed on as onMetaData; other data messages go to players as they
 * are); other types are ignored.  ts is the publisher's timestamp;
 * now_ms the caller's monotonic clock (sl_now_ms), for the timeline's
 * leap check and the merge window.  Takes no ownership of payload.  0,
 * or -ENOMEM. */
int sl_hub_media(struct sl_stream *s, uint8_t type, uint32_t ts,
                 struct sl_buf *payload, uint64_t now_ms);

/* As sl_hub_media, for a client that published with
 * sl_hub_publish_backup (or sl_hub_publish): the message is delivered
 * while publisher is the primary, kept while it stands by (and may
 * make it take over from a stalled primary first), and dropped with
 * -EPERM when it is neither (it was replaced and then dropped). */
int sl_hub_publisher_media(struct sl_stream *s, const void *publisher,
                           uint8_t type, uint32_t ts, struct sl_buf *payload,
                           uint64_t now_ms);

/* Wakes subscribers whose messages waited for the merge window when the
 * window has passed.  Returns the time the next flush is due, or 0 when
 * nothing waits.  Called by the publisher task after feeding, and when
 * its timer fires. */
uint64_t sl_hub_flush(struct sl_stream *s, uint64_t now_ms);

/* Subscribes sub (q, task and max_lag_ms set by the caller) to APP/NAME,
 * creating the stream entry when nobody publishes yet (the player waits
 * for the first sync point).  When live, queues metadata and sequence
 * headers into sub->q and puts the cursor on the last keyframe when the
 * GOP is cached (otherwise at the ring's head, waiting for the next
 * keyframe when the stream has video).  Observers get a SUBSCRIBE
 * event.  0 or -ENOMEM. */
int sl_hub_subscribe(struct sl_hub *hub, const char *app, const char *name,
                     struct sl_sub *sub);

/* Removes sub; after it returns the hub no longer touches sub.
 * Observers get an UNSUBSCRIBE event. */
void sl_hub_unsubscribe(struct sl_sub *sub);

/* The subscriber's task only.  Applies the drop policy (a cursor behind
 * the ring's oldest entry, or oldest unsent media more than max_lag
 * behind the newest, skips to the newest sync point when that is within
 * max_lag, otherwise to the head to wait for the next, re-queueing codec
 * headers into sub->q when ones were skipped, and counts a skip), then
 * hands out up to max entries from the cursor, each with a reference the
 * caller must drop, and moves the cursor past them.  Entries dropped
 * while waiting for a sync point are passed over.  Returns the count
 * (0: caught up). */
int sl_sub_collect(struct sl_sub *sub, struct sl_sub_msg *msgs, int max);

/* The subscriber's task only: puts the cursor back on seq, an entry
 * collected but not written (the caller drops its references). */
void sl_sub_rewind(struct sl_sub *sub, uint64_t seq);

/* What a subscriber needs to decide which status messages to send. */
struct sl_stream_state {
    int      live;           /* a publisher is attached */
    uint64_t publish_gen;    /* increments at every publish */
    uint64_t unpublished_ms; /* when the last publisher left */
};
void sl_hub_stream_state(struct sl_stream *s, struct sl_stream_state *st);

/* The newest media timestamp on the players' timeline (0 before any);
 * a holder of the stream (its publisher or a subscriber) only.  Relaxed:
 * for the API's lag figure. */
uint32_t sl_hub_stream_head_ts(struct sl_stream *s);

/* The client id (sl_hub_publish_backup's id) of APP/NAME's standby, 0
 * when it has none.  For the API. */
uint64_t sl_hub_standby_id(struct sl_hub *hub, const char *app,
                           const char *name);

/* Whether APP/NAME is being published (1) or not (0), and whether it
 * carries audio and video, as an FLV file header says: from its codec
 * headers and frames so far, both when nothing tells yet.  Any thread. */
int sl_hub_media_kinds(struct sl_hub *hub, const char *app, const char *name,
                       int *audio, int *video);

/* 1 when APP/NAME is being published. */
int sl_hub_is_live(struct sl_hub *hub, const char *app, const char *name);

/* A live stream, as sl_hub_live_streams copies it. */
struct sl_hub_name {
    char    app[SL_NAME_MAX];
    char    name[SL_NAME_MAX];
    uint8_t derived; /* published by the server (a rendition) */
};

/* Copies up to max of the streams being published into out (NULL when
 * max is 0), in no particular order, and returns how many there are,
 * which may be more than max: the caller asks again with room for them
 * (publishes in between may change the count again).  For the player
 * page's list.  Any thread; takes the hub lock, then each stream's. */
int sl_hub_live_streams(struct sl_hub *hub, struct sl_hub_name *out, int max);

/* Players subscribed to APP/NAME (0 when there is no such stream). */
uint32_t sl_hub_subscribers(struct sl_hub *hub, const char *app,
                            const char *name);

/* Counters for tests and the API. */
struct sl_hub_stats {
    uint64_t streams;
    uint64_t subscribers;
    uint64_t messages_in;
    uint64_t bytes_in;
    uint64_t timestamp_fixes; /* jumps corrected into the timeline */
    uint64_t takeovers;       /* standbys that took over */
};
void sl_hub_stats(struct sl_hub *hub, struct sl_hub_stats *out);

#endif

/*
 * The stream hub: the one place live streams exist.  A stream is named
 * APP/NAME; it has at most one publisher and any number of subscribers
 * (players now; the transcoder and relays later).  For late joiners it
 * keeps the metadata, the codec sequence headers and, when enabled, the
 * GOP cache (every message since the last video keyframe).
 *
 * Fan-out: each media message is serialised to the wire once (format-0
 * chunks at the hub's chunk size, message stream id 1) into an immutable
 * sl_buf, and every subscriber's send queue gets a reference to those
 * same bytes.  Subscribers are woken at most once per merge window so a
 * player gets everything queued in one writev.
 *
 * Timestamps: the publisher's 32-bit timestamps are extended to 64 bits
 * (wrap-aware) and corrected into one monotonic timeline that survives
 * publisher reconnects and encoder glitches; players see that timeline.
 *
 * Locking: the hub mutex guards the name table; each stream has its own
 * mutex guarding its publisher, subscribers and caches.  Order: hub, then
 * stream, then a subscriber's send queue.  Any thread may call these
 * functions; none blocks on I/O.
 */
#ifndef SL_HUB_H
#define SL_HUB_H

#include <stdint.h>

#include "pool/buf.h"
#include "pool/queue.h"
#include "pool/sched.h"
#include "server/outq.h"

struct sl_hub;
struct sl_stream;

/* A subscription, embedded in its owner (a player session).  The owner
 * keeps it alive until sl_hub_unsubscribe() returns. */
struct sl_sub {
    struct sl_list    link;     /* in the stream's list; stream-locked */
    struct sl_outq   *q;        /* where the stream's messages go */
    struct sl_task   *task;     /* woken when q has new messages */
    struct sl_stream *stream;   /* set by subscribe */
};

struct sl_hub_limits {
    uint32_t chunk_size;      /* of the encoded messages players receive */
    uint32_t merge_write_ms;  /* wake subscribers at most this often */
    int      gop_cache;       /* keep the last GOP for late joiners */
    uint32_t gop_max_msgs;    /* a GOP longer than this is not cached */
    uint64_t gop_max_bytes;
};

struct sl_hub *sl_hub_new(const struct sl_hub_limits *lim);
/* Every stream must be gone (all publishers and subscribers left). */
void sl_hub_free(struct sl_hub *hub);

/* A config reload: the new merge window and GOP cache setting apply from
 * the next message on (a GOP already cached stays until the next
 * keyframe).  The other limits are fixed for the hub's life. */
void sl_hub_reload(struct sl_hub *hub, uint32_t merge_write_ms,
                   int gop_cache);

/* Starts publishing APP/NAME for publisher (an opaque owner token, used
 * to check that only the publisher feeds and ends the stream).  0 with
 * *out set (a stream reference the publisher holds until unpublish), or
 * -EBUSY when someone already publishes that name, -ENOMEM. */
int sl_hub_publish(struct sl_hub *hub, const char *app, const char *name,
                   const void *publisher, struct sl_stream **out);

/* Ends the publication; drops the publisher's stream reference.  Players
 * stay subscribed, waiting for a new publisher.  Pending messages are
 * flushed to subscribers. */
void sl_hub_unpublish(struct sl_stream *s, const void *publisher);

/* The publisher feeds one message: type 8 audio, 9 video, or 18 data
 * (payload is the AMF0 body; @setDataFrame/onMetaData is cached and
 * passed on as onMetaData; other data messages go to players as they
 * are).  ts is the publisher's timestamp.  Takes no ownership of
 * payload.  0, or -ENOMEM. */
int sl_hub_media(struct sl_stream *s, uint8_t type, uint32_t ts,
                 const struct sl_buf *payload, uint64_t now_ms);

/* Wakes subscribers whose messages waited for the merge window when the
 * window has passed.  Returns the time the next flush is due, or 0 when
 * nothing waits.  Called by the publisher task after feeding, and when
 * its timer fires. */
uint64_t sl_hub_flush(struct sl_stream *s, uint64_t now_ms);

/* Subscribes sub (q and task set by the caller) to APP/NAME, creating
 * the stream entry when nobody publishes yet (the player waits).  When
 * live, queues metadata, sequence headers and the GOP cache into sub->q
 * (or, without a GOP cache, makes the queue wait for the next keyframe).
 * 0 or -ENOMEM. */
int sl_hub_subscribe(struct sl_hub *hub, const char *app, const char *name,
                     struct sl_sub *sub);

/* Removes sub; after it returns the hub no longer touches sub. */
void sl_hub_unsubscribe(struct sl_sub *sub);

/* What a subscriber needs to decide which status messages to send. */
struct sl_stream_state {
    int      live;             /* a publisher is attached */
    uint64_t publish_gen;      /* increments at every publish */
    uint64_t unpublished_ms;   /* when the last publisher left */
};
void sl_hub_stream_state(struct sl_stream *s, struct sl_stream_state *st);

/* 1 when APP/NAME is being published. */
int sl_hub_is_live(struct sl_hub *hub, const char *app, const char *name);

/* Counters for tests and the API. */
struct sl_hub_stats {
    uint64_t streams;
    uint64_t subscribers;
    uint64_t messages_in;
    uint64_t bytes_in;
    uint64_t timestamp_fixes;  /* jumps corrected into the timeline */
};
void sl_hub_stats(struct sl_hub *hub, struct sl_hub_stats *out);

#endif

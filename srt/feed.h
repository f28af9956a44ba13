/*
 * A stream as MPEG-TS for its SRT players: one per stream that has any,
 * shared by all of them.
 *
 * The feed taps the stream in the hub; the tap (the publisher's thread,
 * under the stream lock) hands each message to the feed's muxer
 * (media/ts_out.h) and appends the bytes to the feed's ring: the stream
 * is muxed once, whatever the number of players.  A player is a cursor
 * into the ring (struct sl_srt_reader), woken when an entry arrives,
 * and takes references to the entries from its cursor, as an RTMP
 * player does from the hub's ring.
 *
 * Bounded: at most SL_SRT_FEED_ENTRIES entries and SL_SRT_FEED_BYTES
 * bytes, and nothing older than the reader's max_lag + 1 s behind the
 * newest entry unless it belongs to the GOP from the newest keyframe (a
 * joiner starts there).  A reader whose cursor fell out of the ring, or
 * whose next entry is more than max_lag behind the newest, skips to the
 * newest keyframe (or waits for the next one); its skips are counted.
 *
 * Lock order: the hub's stream lock, then a feed's lock (the tap); the
 * feeds' list lock is taken alone.
 */
#ifndef SL_SRT_FEED_H
#define SL_SRT_FEED_H

#include <stdint.h>

#include "pool/buf.h"
#include "pool/queue.h"
#include "pool/sched.h"

#define SL_SRT_FEED_ENTRIES 4096
#define SL_SRT_FEED_BYTES (32u << 20)

struct sl_hub;
struct sl_srt_feeds;
struct sl_srt_feed;

/* One player's place in a feed.  The player's task fills task and
 * max_lag_ms; the rest is the feed's. */
struct sl_srt_reader {
    struct sl_task     *task; /* woken on new entries and the end */
    uint32_t            max_lag_ms;
    struct sl_srt_feed *feed;
    struct sl_list      link;   /* in the feed's readers; feed lock */
    uint64_t            cursor; /* the next entry to take */
    int                 waiting_key;
    uint64_t            skips;
};

/* The feeds of one SRT port. */
struct sl_srt_feeds *sl_srt_feeds_new(struct sl_hub *hub);
/* Every reader has left. */
void sl_srt_feeds_free(struct sl_srt_feeds *f);

/* Joins r to the feed of app/name (made, and the stream tapped, when it
 * is the first reader): the cursor on the newest keyframe, or waiting
 * for the next one.  0, or -ENOMEM. */
int sl_srt_feed_join(struct sl_srt_feeds *f, const char *app, const char *name,
                     struct sl_srt_reader *r);

/* r leaves; the last reader's leave untaps and frees the feed. */
void sl_srt_feed_leave(struct sl_srt_feeds *f, struct sl_srt_reader *r);

/* Up to max entries from r's cursor (new references in out), after the
 * skip rules above.  Returns the count.  *live says whether a publisher
 * feeds the stream, *ended_ms since when it does not (0 while live). */
int sl_srt_feed_collect(struct sl_srt_reader *r, struct sl_buf **out, int max,
                        int *live, uint64_t *ended_ms);

#endif

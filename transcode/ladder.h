/*
 * One transcoding ladder: a source stream APP/KEY decoded once, scaled
 * and encoded once per rung, each rung published back into the hub as
 * APP/KEY_RUNG (a derived stream).
 *
 * Threads: the ladder has one thread of its own (decode, scale, encode
 * calls; libx264 and the H.264 decoder add their own worker threads).
 * The source is fed through a bounded queue: feeding never blocks the
 * publisher (unless the caller asks to wait, as the benchmark does);
 * when the queue is full video is dropped up to the next keyframe and
 * counted.  When the queue holds more than a second of video the ladder
 * decodes but skips encoding (except forced keyframes), so a ladder that
 * cannot keep real time sheds frames instead of falling behind.
 *
 * Keyframes: every rung gets a keyframe on the first frame at or after
 * each multiple of keyframe_interval on the source timeline (counted
 * from the first frame), and none elsewhere, so keyframes carry the same
 * timestamps in every rung.
 */
#ifndef SL_TRANSCODE_LADDER_H
#define SL_TRANSCODE_LADDER_H

#include <stdint.h>

#include "pool/buf.h"
#include "server/config.h"
#include "server/hub.h"

struct sl_ladder;

struct sl_ladder_params {
    char                       app[SL_NAME_MAX];
    char                       name[SL_NAME_MAX];
    int                        nrungs;
    struct sl_rendition_config rungs[SL_APP_MAX_RENDITIONS];
    uint32_t                   keyframe_interval_ms;
    /* 1: tap APP/NAME in the hub and end with its publisher (the
     * server); 0: fed only through sl_ladder_feed (the benchmark). */
    int tap;
    /* 1: feeders wait (sl_ladder_feed with wait = 1) and the ladder
     * encodes every frame however far behind it is: file input, the
     * benchmark.  0: live, it sheds load as described above. */
    int offline;
    /* Queue bound in milliseconds of source media (0: 3000). */
    uint32_t queue_ms;
};

/* Starts the ladder's thread (and taps the source when p->tap).  NULL
 * when out of memory or the thread cannot start. */
struct sl_ladder *sl_ladder_start(struct sl_hub                 *hub,
                                  const struct sl_ladder_params *p);

/* Feeds one source message (type 8, 9 or 18; ts on the source timeline
 * in ms).  Takes a reference to b when it queues it.  wait = 0 drops by
 * the policy above when the queue is full; wait = 1 blocks until there
 * is room (offline use).  0 queued, 1 dropped. */
int sl_ladder_feed(struct sl_ladder *l, uint8_t type, int64_t ts,
                   struct sl_buf *b, int wait);

/* The source ended: the ladder works through its queue, flushes the
 * encoders, ends the rungs and its thread. */
void sl_ladder_finish(struct sl_ladder *l);

/* Stop now: the queue is discarded, the encoders are flushed, the rungs
 * end.  Does not wait. */
void sl_ladder_stop(struct sl_ladder *l);

/* 1 once the ladder's thread has finished. */
int sl_ladder_done(struct sl_ladder *l);

/* Waits for the thread and frees the ladder (untapping it). */
void sl_ladder_join(struct sl_ladder *l);

/* How the ladder for p threads its source decoder (ladder.c explains
 * why): the thread count (0: libavcodec's own), and *slice = 1 for
 * slice threads, 0 for frame threads.  Any thread; for the benchmark,
 * which gives the ffmpeg command line the same. */
int sl_ladder_decoder_threads(const struct sl_ladder_params *p, int *slice);

/* What the API and the benchmark show. */
struct sl_rung_stats {
    char     name[SL_NAME_MAX];
    int      live; /* published */
    int      width, height;
    uint64_t frames_out;
    uint64_t bytes_out;
};
struct sl_ladder_stats {
    char                 app[SL_NAME_MAX], name[SL_NAME_MAX];
    uint64_t             frames_in;      /* decoded source frames */
    uint64_t             dropped_frames; /* queue drops + skipped encodes */
    int64_t              media_ms;       /* source time processed */
    int64_t              media_start_ms; /* the first message's time */
    uint64_t             busy_us;        /* thread time spent working */
    uint64_t             uptime_ms;      /* since the ladder started */
    int                  nrungs;
    struct sl_rung_stats rungs[SL_APP_MAX_RENDITIONS];
};
void sl_ladder_stats(struct sl_ladder *l, struct sl_ladder_stats *out);

#endif

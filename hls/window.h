/*
 * The window of one HLS variant: its newest complete segments and the
 * one being written, each a list of parts (CMAF fragments, immutable
 * sl_bufs).  A whole segment is its parts one after another, so it is
 * served from them and never copied.  Bounded: at most `keep` complete
 * segments, each of at most SL_HLS_MAX_PARTS parts; the oldest segment
 * goes (its buffers are released) when a new one completes.
 *
 * Plain data: the caller (hls/hls.c) locks.  Media times are the hub's
 * timeline in ms; wall times Unix ms.
 */
#ifndef SL_HLS_WINDOW_H
#define SL_HLS_WINDOW_H

#include <stdint.h>

#include "hls/playlist.h"
#include "pool/buf.h"

#define SL_HLS_MAX_PARTS 64    /* per segment; see sl_hls_window_part_full */
#define SL_HLS_MAX_SEGMENTS 32 /* the most `keep` may be */

struct sl_hls_wpart {
    struct sl_buf *data;
    uint32_t       dur_ms;
    uint8_t        independent;
};

struct sl_hls_wseg {
    uint64_t           msn;
    int64_t            start_ms; /* media time of its first sample */
    int64_t            pdt_ms;
    uint32_t           dur_ms; /* complete segments only */
    uint8_t            discontinuity;
    uint32_t           init_id;
    uint64_t           bytes;
    uint32_t           frames; /* video frames, counted by the caller */
    uint32_t           nparts;
    struct sl_hls_wpart parts[SL_HLS_MAX_PARTS];
};

struct sl_hls_window {
    uint32_t keep; /* complete segments kept */
    /* Complete segments: ring of keep entries, nsegs of them, the oldest
     * at head. */
    struct sl_hls_wseg *segs;
    uint32_t            head, nsegs;
    uint32_t            disc_seq; /* discontinuities before the oldest */
    struct sl_hls_wseg  cur;      /* being written; open while cur_open */
    uint8_t             cur_open;
    uint64_t            next_msn;
    uint32_t            max_dur_ms; /* the longest segment so far */
    uint64_t            total_segments;
    /* Counts every change (a segment opened or closed, a part added):
     * a playlist made at one count is the same at that count. */
    uint64_t gen;
};

/* 0, or -ENOMEM.  first_msn: the first segment's number. */
int  sl_hls_window_init(struct sl_hls_window *w, uint32_t keep,
                        uint64_t first_msn);
void sl_hls_window_free(struct sl_hls_window *w);

/* Opens a new segment (the current one must be closed first). */
void sl_hls_window_open(struct sl_hls_window *w, int64_t start_ms,
                        int64_t pdt_ms, uint32_t init_id, int discontinuity);

/* Appends a part (the window takes the caller's reference) to the open
 * segment. */
void sl_hls_window_add_part(struct sl_hls_window *w, struct sl_buf *data,
                            uint32_t dur_ms, int independent);

/* Whether the open segment has room for only one more part (the caller
 * then stops cutting parts until the segment ends). */
int sl_hls_window_part_full(const struct sl_hls_window *w);

/* Closes the open segment at end_ms (an empty one is dropped). */
void sl_hls_window_close(struct sl_hls_window *w, int64_t end_ms);

/* The complete segment msn or the open one, or NULL. */
const struct sl_hls_wseg *sl_hls_window_find(const struct sl_hls_window *w,
                                             uint64_t msn);

/* Whether a blocking request for (msn, part) (part -1: the whole
 * segment) can be answered: the window holds that part or a later one.
 * 1 yes, 0 not yet, -1 never (too far ahead: more than two segments
 * past the open one, or a part index beyond SL_HLS_MAX_PARTS). */
int sl_hls_window_has(const struct sl_hls_window *w, int64_t msn,
                      int64_t part);

/* The newest part: its segment's msn and index; 0, or -1 when none. */
int sl_hls_window_last_part(const struct sl_hls_window *w, uint64_t *msn,
                            uint32_t *part);

/* Fills v's segment fields (segs, cur, disc_seq, target) from the
 * window; segs and parts point into scratch arrays the caller provides
 * (SL_HLS_MAX_SEGMENTS segments; (SL_HLS_MAX_SEGMENTS + 1) *
 * SL_HLS_MAX_PARTS parts).  Parts are listed for the segments that end
 * within three target durations of the live edge.  With no segment
 * open, cur is the next one: its number, no parts, the newest
 * segment's init. */
void sl_hls_window_view(const struct sl_hls_window *w,
                        struct sl_hls_media_view *v, struct sl_hls_seg *segs,
                        struct sl_hls_part *parts);

/* Bit rates over the complete segments: peak and average, bit/s (0
 * before the first). */
void sl_hls_window_rates(const struct sl_hls_window *w, uint32_t *peak,
                         uint32_t *avg);

/* Video frames a second over the complete segments (0: none). */
double sl_hls_window_fps(const struct sl_hls_window *w);

#endif

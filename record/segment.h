/*
 * When a recording starts a new file, and what the file is called.
 * Pure: no clock, no I/O; the recorder's writer thread owns the state.
 *
 * A stream with video starts a file at a video keyframe: the first one,
 * then the first at or after segment_ms past the file's start.  A stream
 * without video starts one at an audio frame and cuts on time.  Whether
 * a stream has video is known from its AVC (or other video) header,
 * which encoders send before any frame; audio that comes while no video
 * header is known is held back for up to SL_SEG_AUDIO_ONLY_MS, so an
 * audio-only stream loses nothing, and dropped when a video header shows
 * up in that time (the file then waits for a keyframe).
 */
#ifndef SL_RECORD_SEGMENT_H
#define SL_RECORD_SEGMENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SL_SEG_AUDIO_ONLY_MS 1000

enum sl_seg_kind {
    SL_SEG_VIDEO_KEY, /* a video frame a decoder can start at */
    SL_SEG_VIDEO,     /* any other video frame */
    SL_SEG_AUDIO      /* an audio frame (not a header) */
};

enum sl_seg_action {
    SL_SEG_SKIP,  /* no file can start here: drop the frame */
    SL_SEG_HOLD,  /* keep the frame until the audio-only decision */
    SL_SEG_WRITE, /* append it to the open file */
    SL_SEG_OPEN   /* close the open file (if any), start a new one with
                   * the held frames (if any), then this frame */
};

struct sl_seg {
    uint32_t segment_ms; /* set by the caller, >= 1 */
    int      open;       /* a file is open */
    int      file_video; /* the open file carries video */
    int      has_video;  /* a video header was seen: the stream has video */
    int      holding;    /* audio frames are held */
    int64_t  start_ts;   /* the open file's first media timestamp, which
                          * becomes 0 in the file */
    int64_t hold_ts;     /* the first held frame's timestamp */
};

/* Decides what to do with a frame of kind at ts (the stream's 64-bit
 * timeline) and updates s: after SL_SEG_OPEN a file is open and
 * start_ts is its base (the first held frame's ts when frames were
 * held). */
enum sl_seg_action sl_seg_next(struct sl_seg *s, enum sl_seg_kind kind,
                               int64_t ts);

/* A video header arrived: the stream has video.  Frames held for the
 * audio-only decision must be dropped by the caller (the file starts at
 * the next keyframe instead). */
void sl_seg_video_header(struct sl_seg *s);

/* The open file was closed (end of stream or a write error). */
void sl_seg_closed(struct sl_seg *s);

/* DIR/APP-NAME-YYYYMMDD-HHMMSS.flv for the UTC time t, with -N before
 * .flv when n > 0.  Characters of app and name other than letters,
 * digits, '_', '-' and '.' become '_', so a stream name can never leave
 * the folder.  The length, or -ENAMETOOLONG when it does not fit cap. */
int sl_seg_file_name(char *out, size_t cap, const char *dir, const char *app,
                     const char *name, time_t t, int n);

#endif

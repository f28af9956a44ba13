/*
 * MPEG-TS out: the hub's FLV bodies in, transport stream bytes out,
 * through libavformat's MPEG-TS muxer writing into memory.  One muxer
 * per stream, fed every message once; its bytes are shared by every
 * player that reads the stream as TS (srt/feed.c): encoded once, as
 * the RTMP chunks are.
 *
 * Carried: H.264 (AVCC in, Annex B out: the muxer's own
 * h264_mp4toannexb filter, which also puts the SPS and PPS before each
 * keyframe), HEVC (Enhanced RTMP "hvc1" in, media/flv_hevc.h; the same
 * with hevc_mp4toannexb) and AAC (raw in, ADTS out).  The muxer starts at the
 * first frame after the codec headers it has (so a stream with no audio header
 * by its first video frame is video only until one comes); a codec header of a
 * kind it started without, or one that differs from the one it started with,
 * restarts it (new PAT and PMT: a player sees a new program).  PAT and PMT are
 * written again before every video keyframe, so a player that starts at one
 * finds them at once.
 *
 * One thread at a time per object (the tap's, under the stream lock);
 * no I/O, no lock of its own.
 */
#ifndef SL_MEDIA_TS_OUT_H
#define SL_MEDIA_TS_OUT_H

#include <stdint.h>

#include "pool/buf.h"

struct sl_ts_out;

struct sl_ts_out *sl_ts_out_new(void);
void              sl_ts_out_free(struct sl_ts_out *o);

/* One hub message (type 8 audio, 9 video, 18 data; ts in ms on the
 * stream's timeline).  Returns the TS bytes it made (a new reference,
 * a whole number of 188-byte packets), or NULL when it made none (a
 * codec header or metadata, a body it cannot carry, a time that goes
 * back).  *key is set to 1 for a video keyframe, else 0. */
struct sl_buf *sl_ts_out_body(struct sl_ts_out *o, uint8_t type, int64_t ts,
                              const uint8_t *body, size_t len, int *key);

#endif

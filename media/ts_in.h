/*
 * MPEG-TS in: the bytes of a transport stream as they arrive (an SRT
 * publisher's datagrams) in, the hub's FLV bodies out.
 *
 * libavformat's MPEG-TS demuxer reads from this object's buffer through
 * a custom AVIOContext that never blocks: when the buffer runs dry the
 * read says EAGAIN, the demuxer keeps its state (a PES half assembled
 * stays so) and sl_ts_in_feed returns; the next feed goes on where it
 * stopped.  So one thread can demux any number of publishers, each fed
 * as its bytes come, with no thread of its own.
 *
 * Carried: H.264 video (Annex B in TS; AVCC in FLV, the sequence header
 * built from the SPS and PPS a keyframe carries, media/flv_av.h), HEVC
 * (Enhanced RTMP "hvc1" bodies, the hvcC from a keyframe's VPS, SPS and
 * PPS, media/flv_hevc.h) and
 * AAC audio (ADTS in TS; raw frames and an AudioSpecificConfig in FLV,
 * through libavcodec's aac_adtstoasc filter).  The first video and the
 * first audio stream are carried; any other stream is left out with one
 * WARN.  Timestamps are the stream's decode times in milliseconds, from
 * the first packet's (so the hub's timeline starts near 0); a frame's
 * composition offset is its pts - dts.  An AAC frame with no time of
 * its own (every one but the first of a PES: encoders put several in
 * one) starts where the one before it ended.  Video before the first keyframe
 * with an SPS and PPS is dropped (a player could not decode it).
 *
 * Bounded: at most SL_TS_IN_MAX bytes wait for the demuxer; a feed that
 * would go past it fails (the demuxer is stuck, the caller closes).
 * Corrupt input is the demuxer's to skip: it resynchronises on the next
 * sync byte; nothing here trusts a length from the stream.
 *
 * One thread at a time per object (the caller's); nothing global.
 */
#ifndef SL_MEDIA_TS_IN_H
#define SL_MEDIA_TS_IN_H

#include <stddef.h>
#include <stdint.h>

#include "pool/buf.h"

#define SL_TS_IN_MAX (4u << 20)

/* A body for the hub: type is SL_MSG_VIDEO, SL_MSG_AUDIO or
 * SL_MSG_DATA_AMF0 (onMetaData, once, before the first codec header),
 * ts in ms.  The body is lent: the callee takes its own reference to
 * keep it. */
typedef void (*sl_ts_in_emit_fn)(void *ctx, uint8_t type, uint32_t ts,
                                 struct sl_buf *body);

struct sl_ts_in;

/* What the owner should log (media/ has no log of its own): a stream
 * left out, a stream that is not MPEG-TS.  One line, no newline. */
typedef void (*sl_ts_in_note_fn)(void *ctx, const char *line);

/* emit and note get ctx.  NULL on no memory. */
struct sl_ts_in *sl_ts_in_new(sl_ts_in_emit_fn emit, sl_ts_in_note_fn note,
                              void *ctx);
void             sl_ts_in_free(struct sl_ts_in *in);

/* Takes n more bytes and emits every body they complete.  0, or -1 when
 * the stream cannot go on (the demuxer could not open on the first
 * SL_TS_IN_MAX bytes, or stopped consuming): noted once, with why. */
int sl_ts_in_feed(struct sl_ts_in *in, const uint8_t *p, size_t n);

/* The stream has ended (the publisher left): what the demuxer still
 * holds is emitted (the last video frame, whose PES has no length and
 * so ends only at the next one, and what the parsers keep back); later
 * feeds fail.  A no-op once the stream failed or ended. */
void sl_ts_in_end(struct sl_ts_in *in);

/* What the API shows of the stream so far. */
struct sl_ts_in_stats {
    uint64_t frames_video, frames_audio;
    uint64_t dropped; /* video before its first decodable keyframe */
    int      width, height;
    char     vcodec[16], acodec[16]; /* "" until seen */
};
void sl_ts_in_stats(const struct sl_ts_in *in, struct sl_ts_in_stats *out);

#endif

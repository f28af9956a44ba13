/*
 * One CMAF track set (H.264 and/or AAC) written by libavformat's MP4
 * muxer into memory: an initialization segment (ftyp + moov) when it
 * opens, then one fragment (moof + mdat) each time the caller cuts.
 * The packager (hls/packager.c) decides where fragments end; this file
 * only turns FLV bodies into samples and the muxer's bytes into sl_bufs.
 *
 * Video samples are held back one frame: a sample's duration is the
 * distance to the next one, which the MP4 fragment must carry and RTMP
 * does not say.  Audio durations are known (1024 or 2048 samples), so
 * audio goes in at once, its decode times counted in samples and
 * re-anchored to the RTMP clock only when they drift more than a frame
 * (an encoder gap).
 *
 * Timestamps are the hub's timeline in milliseconds; the fragments'
 * decode times are those same times (90 kHz for video, the sample rate
 * for audio), so every variant of a stream, cut at the same media
 * times, carries the same tfdt values and a player can switch between
 * them.  With B-frames, one exception: the cmaf flag writes signed
 * composition offsets and moves every video decode time later by the
 * first frame's offset (dts + cts of the first frame is its decode
 * time), so the tfdt of a part that starts at a keyframe is that
 * keyframe's presentation time where the GOPs are alike; presentation
 * times stay exactly the input's dts + cts.
 *
 * One thread at a time per mux; not thread-safe.
 */
#ifndef SL_HLS_MUX_H
#define SL_HLS_MUX_H

#include <stddef.h>
#include <stdint.h>

#include "pool/buf.h"

struct sl_hls_mux;

/* The tracks, from the stream's codec headers: avcc (an
 * AVCDecoderConfigurationRecord) and asc (an AudioSpecificConfig), each
 * NULL when the stream has no such track.  At least one. */
struct sl_hls_tracks {
    const uint8_t *avcc; /* or an hvcC, with hevc set */
    size_t         avcc_len;
    int            hevc;
    const uint8_t *asc;
    size_t         asc_len;
};

/* 1 when a and b are the same encoding: the same track set, codecs and
 * configuration records byte for byte (an encoder that sends its
 * sequence header again), 0 when anything differs (a new resolution,
 * profile, sample rate, a track added or gone), which a playlist marks
 * with EXT-X-DISCONTINUITY before the first segment of the new one
 * (RFC 8216 section 4.3.2.3).  Pure; any thread. */
int sl_hls_tracks_same(const struct sl_hls_tracks *a,
                       const struct sl_hls_tracks *b);

/* Opens a muxer and writes the initialization segment: the mux, with a
 * new reference to the init bytes in *init, and what a master playlist
 * says of it (codecs, e.g. "avc1.64001f,mp4a.40.2"; width, height, 0
 * without video).  NULL when a header does not parse or libav fails;
 * why says which, *init is NULL and codecs, width and height are left
 * as they were (they still describe the caller's previous init). */
struct sl_hls_mux *sl_hls_mux_open(const struct sl_hls_tracks *t,
                                   struct sl_buf **init, char *codecs,
                                   size_t codecs_cap, int *width, int *height,
                                   char *why, size_t why_cap);

void sl_hls_mux_free(struct sl_hls_mux *m);

/* One video frame: the length-prefixed NAL units of an FLV AVC body
 * (after its 5-byte header) or of an Enhanced RTMP HEVC one, its decode
 * time and composition offset (ms). */
int sl_hls_mux_video(struct sl_hls_mux *m, int64_t dts_ms, int32_t cts_ms,
                     int keyframe, const uint8_t *data, size_t len);

/* One raw AAC frame at ts_ms. */
int sl_hls_mux_audio(struct sl_hls_mux *m, int64_t ts_ms, const uint8_t *data,
                     size_t len);

/* Ends the current fragment at end_ms: the held video frame is written
 * with the duration up to end_ms, then the fragment.  *out gets the
 * fragment's bytes (a new reference), or NULL when it is empty.  0, or
 * a negative AVERROR. */
int sl_hls_mux_cut(struct sl_hls_mux *m, int64_t end_ms, struct sl_buf **out);

/* The next video keyframe carries the H.264 parameter sets of the init
 * in-band too (before its slices; after an access unit delimiter), so
 * that a player which keeps its first init's decoder across an
 * EXT-X-MAP change (ffmpeg's HLS reader does) finds the new ones in the
 * stream; they are the init's, so a player that follows the init sees
 * nothing new.  H.264 only: an hvc1 init declares its parameter sets
 * complete, and HEVC frames carry none. */
void sl_hls_mux_sets_inband(struct sl_hls_mux *m);

/* The decode time of the held video frame (the next fragment's first
 * video sample), or INT64_MIN when none is held. */
int64_t sl_hls_mux_held_ms(const struct sl_hls_mux *m);

#endif

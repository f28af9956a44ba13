/*
 * The libav glue that transcode/ and relay/ share: FLV tag bodies (what
 * an RTMP audio or video message carries) to and from what libavcodec
 * takes and gives, and RTMP milliseconds to and from codec time bases.
 *
 * H.264 in FLV is AVCC: a sequence header carries an
 * AVCDecoderConfigurationRecord ("avcC"), frames carry NAL units each
 * prefixed by a 4-byte big-endian length.  libx264 (with
 * AV_CODEC_FLAG_GLOBAL_HEADER) gives Annex B: SPS/PPS in extradata and
 * NAL units in packets separated by 00 00 01 / 00 00 00 01 start codes.
 * The builders below accept either form and always produce AVCC.
 *
 * AAC in FLV: one byte 0xAF (format 10, 44 kHz, 16-bit, stereo, as the
 * spec fixes for AAC), then 0 + AudioSpecificConfig or 1 + a raw frame.
 *
 * The codec configuration inside (the avcC's SPS, the
 * AudioSpecificConfig) is read by rtmp/codec.h.
 *
 * Parsers take untrusted bytes: any input is valid, and they never read
 * past len.  Builders return a new sl_buf (one reference for the caller)
 * or NULL on bad input or no memory.
 */
#ifndef SL_MEDIA_FLV_AV_H
#define SL_MEDIA_FLV_AV_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/rational.h>

#include "pool/buf.h"

/* An FLV video body, classic form (codec id in the low nibble). */
struct sl_media_video {
    uint8_t codec;       /* FLV codec id: 7 = AVC */
    uint8_t keyframe;    /* frame type 1 */
    uint8_t seq_header;  /* AVC: AVCPacketType 0 */
    uint8_t seq_end;     /* AVC: AVCPacketType 2 */
    int32_t cts;         /* AVC: composition time offset, ms,
                          * sign-extended from 24 bits */
    const uint8_t *data; /* AVC: after the 5-byte header (the avcC
                          * record or the length-prefixed NALUs);
                          * other codecs: after the first byte */
    size_t len;
};

/* 0, or -1 when the body is too short for its header (empty; AVC with
 * fewer than 5 bytes).  Enhanced RTMP bodies (bit 7 of the first byte
 * set) are reported with codec 0: this glue handles classic AVC only. */
int sl_media_parse_video(const uint8_t *body, size_t len,
                         struct sl_media_video *out);

/* An FLV audio body. */
struct sl_media_audio {
    uint8_t        format;     /* FLV sound format: 10 = AAC */
    uint8_t        seq_header; /* AAC: AACPacketType 0 (AudioSpecificConfig) */
    const uint8_t *data;       /* AAC: after the 2-byte header */
    size_t         len;
};

/* 0, or -1 when too short (empty; AAC with fewer than 2 bytes). */
int sl_media_parse_audio(const uint8_t *body, size_t len,
                         struct sl_media_audio *out);

/* The video sequence header body (0x17 0x00 00 00 00 + avcC) from an
 * encoder's extradata: an avcC record (first byte 1) is used as it is
 * when sl_avc_check_config (rtmp/codec.h) passes it;
 * Annex B is searched for its first SPS (type 7) and PPS (type 8),
 * which are required.  NULL when they are missing or malformed. */
struct sl_buf *sl_media_avc_seq_body(const uint8_t *extradata, size_t len);

/* A video frame body (0x17 or 0x27, 0x01, cts as 24 bits, then NAL
 * units each with a 4-byte length) from one encoded packet in Annex B
 * (or already length-prefixed: when the data does not start with a
 * start code, or is wholly a chain of length-prefixed units, as one
 * whose first unit is 256..511 bytes long and so starts 00 00 01, it
 * is copied as it is).  Access unit delimiters (type 9) and in-band
 * SPS/PPS are dropped; the sequence header carries those.  NULL when
 * no NAL unit remains or cts_ms does not fit in 24 bits. */
struct sl_buf *sl_media_avc_frame_body(const uint8_t *pkt, size_t len,
                                       int keyframe, int32_t cts_ms);

/* The AVC end-of-sequence body (0x17 0x02 00 00 00). */
struct sl_buf *sl_media_avc_eos_body(void);

/* AAC bodies: 0xAF 0x00 + AudioSpecificConfig, 0xAF 0x01 + raw frame. */
struct sl_buf *sl_media_aac_seq_body(const uint8_t *asc, size_t len);
struct sl_buf *sl_media_aac_frame_body(const uint8_t *frame, size_t len);

/* An onMetaData data message body (AMF0 "onMetaData" + ECMA array),
 * the fields players and probes read.  Zero fields are left out; a
 * stream without video (width 0) gets no video fields, one without
 * audio (audio_rate 0) no audio fields. */
struct sl_media_meta {
    int         width, height;
    double      fps;
    int         video_kbps;
    int         audio_rate, audio_channels;
    int         audio_kbps;
    const char *encoder; /* "sluice 0.1.0"; NULL leaves it out */
};
struct sl_buf *sl_media_metadata_body(const struct sl_media_meta *m);

/* A body written into b through w (rtmp/rd.h), finished: b with its
 * length set, or NULL (b freed) when the writer overflowed, which means
 * the caller sized b wrong.  For media/'s body builders. */
struct sl_wr;
struct sl_buf *sl_media_body_done(struct sl_buf *b, const struct sl_wr *w);

/* RTMP milliseconds <-> a codec time base, rounding to nearest. */
int64_t sl_media_ms_to_tb(int64_t ms, AVRational tb);
int64_t sl_media_tb_to_ms(int64_t t, AVRational tb);

/* Extends a 32-bit RTMP timestamp to 64 bits given the previous
 * extended value (the signed 32-bit difference crosses the wrap). */
static inline int64_t
sl_media_ts_extend(int64_t prev, uint32_t ts)
{
    return prev + (int32_t) (ts - (uint32_t) prev);
}

#endif

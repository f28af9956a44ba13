/*
 * HEVC in Enhanced RTMP video bodies (the FourCC form OBS and FFmpeg 6.1
 * send): the first byte has its high bit set, the frame type in bits
 * 4..6 and a packet type in the low nibble, then the FourCC "hvc1".
 * SequenceStart (0) carries an HEVCDecoderConfigurationRecord ("hvcC",
 * ISO 14496-15 8.3.3.1); CodedFrames (1) a 24-bit composition offset
 * then NAL units each behind a 4-byte length; CodedFramesX (3) the same
 * without the offset (it is 0).
 *
 * The builders take Annex B (what an MPEG-TS carries): the sequence
 * start is made from the first VPS, SPS and PPS found, its profile,
 * tier, level, chroma format and bit depths read from the SPS
 * (rtmp/codec.h); frames drop the parameter sets and access unit
 * delimiters (the sequence start carries the former).  They return a
 * new sl_buf (one reference) or NULL on bad input.  The parser takes
 * untrusted bytes and never reads past len.
 */
#ifndef SL_MEDIA_FLV_HEVC_H
#define SL_MEDIA_FLV_HEVC_H

#include <stddef.h>
#include <stdint.h>

#include "pool/buf.h"
#include "rtmp/codec.h"

/* The sequence start from the parameter sets in annexb[0..len); *info
 * (NULL: not wanted) gets what the SPS says. */
struct sl_buf *sl_media_hevc_seq_body(const uint8_t *annexb, size_t len,
                                      struct sl_hevc_info *info);

/* CodedFrames from one Annex B access unit. */
struct sl_buf *sl_media_hevc_frame_body(const uint8_t *annexb, size_t len,
                                        int keyframe, int32_t cts_ms);

/* The first SPS an hvcC lists (*sps, *len point into it): 0, or -1 when
 * the record is malformed or has none. */
int sl_media_hvcc_sps(const uint8_t *hvcc, size_t len, const uint8_t **sps,
                      size_t *sps_len);

/* The RFC 6381 / ISO 14496-15 E.3 codecs string of an HEVC stream
 * ("hvc1.1.6.L93.B0") from its SPS's profile, tier and level bytes. */
void sl_media_hevc_codecs(const struct sl_hevc_info *i, char *out, size_t cap);

/* An Enhanced RTMP "hvc1" body taken apart. */
struct sl_media_hevc {
    int            seq_header; /* SequenceStart: data is the hvcC */
    int            keyframe;
    int32_t        cts;
    const uint8_t *data; /* frames: the length-prefixed NAL units */
    size_t         len;
};

/* 0, or -1 when the body is not an hvc1 sequence start or frame (another
 * codec, another packet type, too short). */
int sl_media_parse_hevc(const uint8_t *body, size_t len,
                        struct sl_media_hevc *out);

#endif

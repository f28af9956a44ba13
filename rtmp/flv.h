/*
 * What the hub needs to know about an audio or video message body (the
 * FLV tag body that RTMP carries): is it a keyframe, a sequence header,
 * a disposable frame; which codec.  Covers the classic FLV codec ids and
 * Enhanced RTMP's FourCC headers (hvc1, av01, vp09, ... as sent by OBS
 * 29.1+ and FFmpeg 6.1+).  Pure; any byte string is valid input: an
 * empty or unknown body is "not a keyframe, not a header".
 */
#ifndef SL_FLV_H
#define SL_FLV_H

#include <stddef.h>
#include <stdint.h>

#define SL_FLV_VIDEO_AVC 7
#define SL_FLV_VIDEO_HEVC 12 /* a common pre-Enhanced-RTMP extension */
#define SL_FLV_AUDIO_AAC 10
#define SL_FLV_AUDIO_EX 9 /* Enhanced RTMP audio: FourCC follows */

struct sl_flv_info {
    uint8_t  video;      /* 1 for a video message */
    uint8_t  audio;      /* 1 for an audio message */
    uint8_t  keyframe;   /* video: a frame a decoder can start at */
    uint8_t  disposable; /* video: may be dropped without harm */
    uint8_t  seq_header; /* codec configuration (AVC/HEVC/AAC config) */
    uint8_t  seq_end;    /* end of sequence marker */
    uint8_t  enhanced;   /* FourCC form */
    uint8_t  command;    /* video command frame, not a picture */
    uint32_t codec;      /* FLV codec id, or the FourCC when enhanced */
};

/* Classifies a message of type 8 (audio) or 9 (video); other types give
 * an all-zero result. */
void sl_flv_inspect(uint8_t type, const uint8_t *p, size_t len,
                    struct sl_flv_info *out);

/* A printable codec name for logs ("h264", "aac", "hvc1", ...) into buf. */
const char *sl_flv_codec_name(const struct sl_flv_info *info, char *buf,
                              size_t cap);

/* FLV file framing (recordings, HTTP-FLV).  A file starts with a 9-byte
 * header ("FLV", version 1, flags 4 = audio, 1 = video, header size 9)
 * and a 4-byte PreviousTagSize0 of 0; then tags: type (8 audio, 9 video,
 * 18 script data), 24-bit body size, 24-bit timestamp in ms plus an
 * 8-bit extension holding bits 24..31, a 24-bit stream id of 0, the body
 * (exactly what an RTMP message of that type carries), and a 4-byte
 * PreviousTagSize (11 + body size).  FLV is append-only: a stream cut
 * anywhere reads up to its last complete tag. */
#define SL_FLV_FILE_HDR 13 /* header + PreviousTagSize0 */
#define SL_FLV_TAG_HDR 11
#define SL_FLV_TAG_TAIL 4
#define SL_FLV_MAX_BODY 0xffffffu /* 24-bit body size */

/* The 13 bytes a file starts with; audio and video set the flags. */
void sl_flv_file_header(uint8_t out[SL_FLV_FILE_HDR], int audio, int video);

/* The 11-byte tag header and 4-byte trailer around a body of len bytes
 * (len at most SL_FLV_MAX_BODY). */
void sl_flv_tag_header(uint8_t out[SL_FLV_TAG_HDR], uint8_t type, uint32_t len,
                       uint32_t ts);
void sl_flv_tag_trailer(uint8_t out[SL_FLV_TAG_TAIL], uint32_t len);

#endif

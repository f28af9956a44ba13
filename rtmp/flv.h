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

#define SL_FLV_VIDEO_AVC  7
#define SL_FLV_VIDEO_HEVC 12  /* a common pre-Enhanced-RTMP extension */
#define SL_FLV_AUDIO_AAC  10
#define SL_FLV_AUDIO_EX   9   /* Enhanced RTMP audio: FourCC follows */

struct sl_flv_info {
    uint8_t  video;       /* 1 for a video message */
    uint8_t  audio;       /* 1 for an audio message */
    uint8_t  keyframe;    /* video: a frame a decoder can start at */
    uint8_t  disposable;  /* video: may be dropped without harm */
    uint8_t  seq_header;  /* codec configuration (AVC/HEVC/AAC config) */
    uint8_t  seq_end;     /* end of sequence marker */
    uint8_t  enhanced;    /* FourCC form */
    uint8_t  command;     /* video command frame, not a picture */
    uint32_t codec;       /* FLV codec id, or the FourCC when enhanced */
};

/* Classifies a message of type 8 (audio) or 9 (video); other types give
 * an all-zero result. */
void sl_flv_inspect(uint8_t type, const uint8_t *p, size_t len,
                    struct sl_flv_info *out);

/* A printable codec name for logs ("h264", "aac", "hvc1", ...) into buf. */
const char *sl_flv_codec_name(const struct sl_flv_info *info, char *buf,
                              size_t cap);

#endif

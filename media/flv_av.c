#include "media/flv_av.h"
#include "media/annexb.h"

#include <string.h>

#include <libavutil/mathematics.h>

#include "rtmp/amf.h"
#include "rtmp/codec.h"
#include "rtmp/rd.h"

/* FLV codec ids and the AVC/AAC packet types this file writes. */
#define FLV_VIDEO_AVC 7
#define FLV_AUDIO_AAC 10
#define AVC_SEQ_HEADER 0
#define AVC_NALU 1
#define AVC_SEQ_END 2

/* H.264 NAL unit types (the low 5 bits of the NAL header byte). */
#define NAL_SPS 7
#define NAL_PPS 8
#define NAL_AUD 9

/* An AVC video body starts with frame type / codec, packet type and a
 * 24-bit composition time offset. */
#define AVC_HDR_LEN 5

int
sl_media_parse_video(const uint8_t *body, size_t len,
                     struct sl_media_video *out)
{
    struct sl_rd r;
    uint8_t      b0;

    memset(out, 0, sizeof(*out));
    if (len == 0)
        return -1;
    b0 = body[0];
    out->data = body + 1;
    out->len = len - 1;
    /* Enhanced RTMP puts a packet type where the codec id was and a
     * FourCC after it; codec 0 tells callers it is not classic AVC. */
    if (b0 & 0x80)
        return 0;
    out->codec = b0 & 0x0f;
    out->keyframe = (b0 >> 4) == 1;
    if (out->codec != FLV_VIDEO_AVC)
        return 0;
    if (len < AVC_HDR_LEN) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    sl_rd_init(&r, body + 1, AVC_HDR_LEN - 1);
    switch (sl_rd_u8(&r)) {
    case AVC_SEQ_HEADER:
        out->seq_header = 1;
        break;
    case AVC_SEQ_END:
        out->seq_end = 1;
        break;
    }
    /* Sign-extend the 24-bit offset by subtraction, not by shifting a
     * negative value (undefined behaviour). */
    {
        uint32_t cts = sl_rd_u24(&r);

        out->cts = cts & 0x800000 ? (int32_t) cts - 0x1000000 : (int32_t) cts;
    }
    out->data = body + AVC_HDR_LEN;
    out->len = len - AVC_HDR_LEN;
    return 0;
}

int
sl_media_parse_audio(const uint8_t *body, size_t len,
                     struct sl_media_audio *out)
{
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return -1;
    out->format = body[0] >> 4;
    if (out->format != FLV_AUDIO_AAC) {
        out->data = body + 1;
        out->len = len - 1;
        return 0;
    }
    if (len < 2) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    out->seq_header = body[1] == 0;
    out->data = body + 2;
    out->len = len - 2;
    return 0;
}

/* 1 when p[0..len) is entirely NAL units each behind a 4-byte length
 * (none empty), ending exactly at len.  An AVCC packet whose first unit
 * is 256..511 bytes long starts with 00 00 01 and so looks like Annex B
 * at first sight; Annex B read this way almost never chains exactly to
 * the end (after a 4-byte start code the "length" is 1 and the next
 * one would be the unit's first payload bytes, which are non-zero). */
static int
is_avcc_chain(const uint8_t *p, size_t len)
{
    struct sl_rd r;

    sl_rd_init(&r, p, len);
    while (sl_rd_left(&r) > 0) {
        uint32_t n = sl_rd_u32(&r);

        if (n == 0 || sl_rd_bytes(&r, n) == NULL)
            return 0;
    }
    return !r.err;
}

struct sl_buf *
sl_media_body_done(struct sl_buf *b, const struct sl_wr *w)
{
    if (w->err) {
        sl_buf_unref(b);
        return NULL;
    }
    b->len = (uint32_t) sl_wr_len(w);
    return b;
}

static void
put_avc_header(struct sl_wr *w, int keyframe, uint8_t packet_type, int32_t cts)
{
    sl_wr_u8(w, (keyframe ? 0x10 : 0x20) | FLV_VIDEO_AVC);
    sl_wr_u8(w, packet_type);
    /* Two's complement in 24 bits; the conversion to unsigned is
     * modular, so a negative offset needs no shift. */
    sl_wr_u24(w, (uint32_t) cts & 0xffffff);
}

struct sl_buf *
sl_media_avc_seq_body(const uint8_t *extradata, size_t len)
{
    struct sl_annexb a;
    const uint8_t   *nal, *sps = NULL, *pps = NULL;
    size_t           nal_len, sps_len = 0, pps_len = 0;
    struct sl_buf   *b;
    struct sl_wr     w;

    if (extradata == NULL || len == 0)
        return NULL;
    if (extradata[0] == 1) {
        if (sl_avc_check_config(extradata, len) < 0)
            return NULL;
        b = sl_buf_new(AVC_HDR_LEN + len);
        if (b == NULL)
            return NULL;
        sl_wr_init(&w, b->data, b->cap);
        put_avc_header(&w, 1, AVC_SEQ_HEADER, 0);
        sl_wr_bytes(&w, extradata, len);
        return sl_media_body_done(b, &w);
    }

    sl_annexb_init(&a, extradata, len);
    while ((sps == NULL || pps == NULL) && sl_annexb_next(&a, &nal, &nal_len)) {
        if ((nal[0] & 0x1f) == NAL_SPS && sps == NULL) {
            sps = nal;
            sps_len = nal_len;
        } else if ((nal[0] & 0x1f) == NAL_PPS && pps == NULL) {
            pps = nal;
            pps_len = nal_len;
        }
    }
    /* The record copies profile, compatibility and level from the SPS
     * (its bytes 1..3) and stores each set behind a 16-bit length. */
    if (sps == NULL || pps == NULL || sps_len < 4 || sps_len > UINT16_MAX ||
        pps_len > UINT16_MAX)
        return NULL;
    b = sl_buf_new(AVC_HDR_LEN + 11 + sps_len + pps_len);
    if (b == NULL)
        return NULL;
    sl_wr_init(&w, b->data, b->cap);
    put_avc_header(&w, 1, AVC_SEQ_HEADER, 0);
    sl_wr_u8(&w, 1); /* configurationVersion */
    sl_wr_bytes(&w, sps + 1, 3);
    sl_wr_u8(&w, 0xff); /* 6 reserved bits, lengthSizeMinusOne 3 */
    sl_wr_u8(&w, 0xe1); /* 3 reserved bits, one SPS */
    sl_wr_u16(&w, (uint16_t) sps_len);
    sl_wr_bytes(&w, sps, sps_len);
    sl_wr_u8(&w, 1); /* one PPS */
    sl_wr_u16(&w, (uint16_t) pps_len);
    sl_wr_bytes(&w, pps, pps_len);
    return sl_media_body_done(b, &w);
}

/* Parameter sets travel in the sequence header and delimiters carry
 * nothing a FLV reader needs. */
static int
keep_nal(const uint8_t *nal)
{
    uint8_t type = nal[0] & 0x1f;

    return type != NAL_AUD && type != NAL_SPS && type != NAL_PPS;
}

struct sl_buf *
sl_media_avc_frame_body(const uint8_t *pkt, size_t len, int keyframe,
                        int32_t cts_ms)
{
    struct sl_annexb a;
    const uint8_t   *nal;
    size_t           nal_len, size = AVC_HDR_LEN;
    struct sl_buf   *b;
    struct sl_wr     w;

    /* 24 bits hold about +-2.3 hours; beyond that the input is wrong. */
    if (pkt == NULL || len == 0 || cts_ms < -0x800000 || cts_ms > 0x7fffff)
        return NULL;
    if (!sl_annexb_starts(pkt, len) || is_avcc_chain(pkt, len)) {
        b = sl_buf_new(AVC_HDR_LEN + len);
        if (b == NULL)
            return NULL;
        sl_wr_init(&w, b->data, b->cap);
        put_avc_header(&w, keyframe, AVC_NALU, cts_ms);
        sl_wr_bytes(&w, pkt, len);
        return sl_media_body_done(b, &w);
    }

    /* Two passes: size the buffer, then write into it.  Each unit kept
     * costs at most one byte more than its start code did, so the size
     * cannot overflow a size_t; sl_buf_new rejects what exceeds 32 bits. */
    sl_annexb_init(&a, pkt, len);
    while (sl_annexb_next(&a, &nal, &nal_len)) {
        if (keep_nal(nal))
            size += 4 + nal_len;
    }
    if (size == AVC_HDR_LEN)
        return NULL;
    b = sl_buf_new(size);
    if (b == NULL)
        return NULL;
    sl_wr_init(&w, b->data, b->cap);
    put_avc_header(&w, keyframe, AVC_NALU, cts_ms);
    sl_annexb_init(&a, pkt, len);
    while (sl_annexb_next(&a, &nal, &nal_len)) {
        if (keep_nal(nal)) {
            sl_wr_u32(&w, (uint32_t) nal_len);
            sl_wr_bytes(&w, nal, nal_len);
        }
    }
    return sl_media_body_done(b, &w);
}

struct sl_buf *
sl_media_avc_eos_body(void)
{
    struct sl_buf *b = sl_buf_new(AVC_HDR_LEN);
    struct sl_wr   w;

    if (b == NULL)
        return NULL;
    sl_wr_init(&w, b->data, b->cap);
    put_avc_header(&w, 1, AVC_SEQ_END, 0);
    return sl_media_body_done(b, &w);
}

/* 0xAF: sound format 10 (AAC), 44 kHz, 16-bit, stereo; the FLV spec
 * fixes these for AAC and readers take the real values from the ASC. */
static struct sl_buf *
aac_body(uint8_t packet_type, const uint8_t *p, size_t len)
{
    struct sl_buf *b;
    struct sl_wr   w;

    b = sl_buf_new(2 + len);
    if (b == NULL)
        return NULL;
    sl_wr_init(&w, b->data, b->cap);
    sl_wr_u8(&w, 0xaf);
    sl_wr_u8(&w, packet_type);
    sl_wr_bytes(&w, p, len);
    return sl_media_body_done(b, &w);
}

struct sl_buf *
sl_media_aac_seq_body(const uint8_t *asc, size_t len)
{
    /* An AudioSpecificConfig has at least object type, rate and
     * channels: 13 bits. */
    if (asc == NULL || len < 2)
        return NULL;
    return aac_body(0, asc, len);
}

struct sl_buf *
sl_media_aac_frame_body(const uint8_t *frame, size_t len)
{
    if (frame == NULL || len == 0)
        return NULL;
    return aac_body(1, frame, len);
}

/* One ECMA array entry per field; count only sizes the array's hint. */
struct meta_wr {
    struct sl_wr *w; /* NULL: only count */
    uint32_t      count;
};

static void
meta_num(struct meta_wr *m, const char *key, double v)
{
    m->count++;
    if (m->w != NULL) {
        sl_amf_put_key(m->w, key);
        sl_amf_put_number(m->w, v);
    }
}

static void
meta_bool(struct meta_wr *m, const char *key, int v)
{
    m->count++;
    if (m->w != NULL) {
        sl_amf_put_key(m->w, key);
        sl_amf_put_bool(m->w, v);
    }
}

static void
meta_str(struct meta_wr *m, const char *key, const char *v)
{
    m->count++;
    if (m->w != NULL) {
        sl_amf_put_key(m->w, key);
        sl_amf_put_string(m->w, v);
    }
}

/* The fields in the order FFmpeg's FLV muxer writes them, without
 * duration and filesize, which a live stream does not have. */
static void
meta_fields(struct meta_wr *m, const struct sl_media_meta *x)
{
    if (x->width > 0) {
        meta_num(m, "width", x->width);
        if (x->height > 0)
            meta_num(m, "height", x->height);
        if (x->video_kbps > 0)
            meta_num(m, "videodatarate", x->video_kbps);
        if (x->fps > 0)
            meta_num(m, "framerate", x->fps);
        meta_num(m, "videocodecid", FLV_VIDEO_AVC);
    }
    if (x->audio_rate > 0) {
        if (x->audio_kbps > 0)
            meta_num(m, "audiodatarate", x->audio_kbps);
        meta_num(m, "audiosamplerate", x->audio_rate);
        meta_num(m, "audiosamplesize", 16);
        if (x->audio_channels > 0)
            meta_bool(m, "stereo", x->audio_channels == 2);
        meta_num(m, "audiocodecid", FLV_AUDIO_AAC);
    }
    if (x->encoder != NULL)
        meta_str(m, "encoder", x->encoder);
}

struct sl_buf *
sl_media_metadata_body(const struct sl_media_meta *m)
{
    struct meta_wr mw = {NULL, 0};
    struct sl_buf *b;
    struct sl_wr   w;
    size_t         enc = m->encoder != NULL ? strlen(m->encoder) : 0;

    /* "onMetaData" (13 bytes), the array header (5) and its end (3),
     * and every field with its key (at most 223 bytes, the encoder's
     * string counted with a long-string header) come to 244 bytes
     * besides the encoder's own; 512 leaves room to spare. */
    if (enc > UINT32_MAX - 512)
        return NULL;
    meta_fields(&mw, m);
    b = sl_buf_new(512 + enc);
    if (b == NULL)
        return NULL;
    sl_wr_init(&w, b->data, b->cap);
    sl_amf_put_string(&w, "onMetaData");
    sl_amf_put_ecma_start(&w, mw.count);
    mw.w = &w;
    meta_fields(&mw, m);
    sl_amf_put_object_end(&w);
    return sl_media_body_done(b, &w);
}

int64_t
sl_media_ms_to_tb(int64_t ms, AVRational tb)
{
    return av_rescale_q_rnd(ms, (AVRational){1, 1000}, tb,
                            AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX);
}

int64_t
sl_media_tb_to_ms(int64_t t, AVRational tb)
{
    return av_rescale_q_rnd(t, tb, (AVRational){1, 1000},
                            AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX);
}

#include "media/flv_av.h"

#include <string.h>

#include <libavutil/mathematics.h>

#include "server/amf.h"
#include "server/rd.h"

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

/* The fields of an AudioSpecificConfig (ISO 14496-3 1.6.2.1) are read
 * MSB first.  At most 19 bits are needed, so the first three bytes are
 * loaded (missing ones as zero) and each read checks it stays inside
 * the len bytes really given. */
struct bits {
    uint32_t v;     /* up to 24 bits, left-aligned at bit 23 */
    unsigned pos;   /* bits consumed */
    unsigned avail; /* bits given (len * 8, at most 24) */
};

static int
bits_get(struct bits *b, unsigned n, unsigned *out)
{
    if (b->pos + n > b->avail)
        return -1;
    *out = (b->v >> (24 - b->pos - n)) & ((1u << n) - 1);
    b->pos += n;
    return 0;
}

int
sl_media_parse_asc(const uint8_t *asc, size_t len,
                   struct sl_media_aac_config *out)
{
    /* samplingFrequencyIndex 0..12; 13 and 14 are reserved and 15 is
     * an explicit 24-bit rate, which this table does not cover. */
    static const int rates[13] = {96000, 88200, 64000, 48000, 44100,
                                  32000, 24000, 22050, 16000, 12000,
                                  11025, 8000,  7350};
    /* channelConfiguration: 0 means a program config element says;
     * 8..10 and 15 are reserved (-1); 11..14 come from later
     * amendments (6.1, 7.1 rear, 22.2, 7.1 top). */
    static const int chans[16] = {0,  1,  2,  3, 4, 5,  6, 8,
                                  -1, -1, -1, 7, 8, 24, 8, -1};
    struct bits      b = {0, 0, 0};
    unsigned         aot, freq, ch, ext;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < 3 && i < len; i++) {
        b.v |= (uint32_t) asc[i] << (16 - 8 * i);
        b.avail += 8;
    }
    if (bits_get(&b, 5, &aot) < 0)
        return -1;
    /* Object type 31 escapes to 32 + the next 6 bits. */
    if (aot == 31) {
        if (bits_get(&b, 6, &ext) < 0)
            return -1;
        aot = 32 + ext;
    }
    if (bits_get(&b, 4, &freq) < 0 || freq >= 13)
        return -1;
    if (bits_get(&b, 4, &ch) < 0 || chans[ch] < 0)
        return -1;
    out->object_type = (int) aot;
    out->sample_rate = rates[freq];
    out->channels = chans[ch];
    return 0;
}

/* Annex B: NAL units separated by 00 00 01 start codes (00 00 00 01 is
 * the same with one zero byte in front).  Zero bytes before a start
 * code belong to no NAL unit, so each unit's trailing zeros are
 * stripped; a legal NAL unit ends with the rbsp stop bit, never with a
 * zero byte.  Bytes before the first start code are skipped. */
struct annexb {
    const uint8_t *p;
    size_t         len;
    size_t         pos; /* where to look for the next start code */
};

/* The offset of the next 00 00 01 at or after from, or len when there
 * is none. */
static size_t
find_start_code(const uint8_t *p, size_t len, size_t from)
{
    for (size_t i = from; i + 3 <= len; i++) {
        /* p[i + 2] > 1 rules out a start code at i, i + 1 and i + 2. */
        if (p[i + 2] > 1) {
            i += 2;
            continue;
        }
        if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1)
            return i;
    }
    return len;
}

/* The next non-empty NAL unit: 1 and *nal / *nal_len set, or 0 at the
 * end.  Every round moves pos forward, so the loop ends. */
static int
annexb_next(struct annexb *a, const uint8_t **nal, size_t *nal_len)
{
    for (;;) {
        size_t sc = find_start_code(a->p, a->len, a->pos);
        size_t start, end;

        if (sc == a->len) {
            a->pos = a->len;
            return 0;
        }
        start = sc + 3;
        end = find_start_code(a->p, a->len, start);
        a->pos = end;
        while (end > start && a->p[end - 1] == 0)
            end--;
        if (end > start) {
            *nal = a->p + start;
            *nal_len = end - start;
            return 1;
        }
    }
}

static void
annexb_init(struct annexb *a, const uint8_t *p, size_t len)
{
    a->p = p;
    a->len = p == NULL ? 0 : len;
    a->pos = 0;
}

static int
starts_with_start_code(const uint8_t *p, size_t len)
{
    if (len >= 3 && p[0] == 0 && p[1] == 0 && p[2] == 1)
        return 1;
    return len >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 1;
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

/* Checks an avcC record: version 1, at least one SPS and one PPS, and
 * every length inside the record.  Bytes after the PPS list (the High
 * profile chroma/bit depth fields) are allowed. */
static int
avcc_valid(const uint8_t *p, size_t len)
{
    struct sl_rd r;
    unsigned     nsps, npps;

    sl_rd_init(&r, p, len);
    if (sl_rd_u8(&r) != 1)
        return 0;
    sl_rd_bytes(&r, 4); /* profile, compatibility, level, length size */
    nsps = sl_rd_u8(&r) & 0x1f;
    for (unsigned i = 0; i < nsps; i++)
        sl_rd_bytes(&r, sl_rd_u16(&r));
    npps = sl_rd_u8(&r);
    for (unsigned i = 0; i < npps; i++)
        sl_rd_bytes(&r, sl_rd_u16(&r));
    return !r.err && nsps > 0 && npps > 0;
}

/* Fills a new buffer's data through w and sets its length; NULL (and
 * the buffer freed) when the writer overflowed, which means our size
 * calculation was wrong. */
static struct sl_buf *
finish(struct sl_buf *b, const struct sl_wr *w)
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
    struct annexb  a;
    const uint8_t *nal, *sps = NULL, *pps = NULL;
    size_t         nal_len, sps_len = 0, pps_len = 0;
    struct sl_buf *b;
    struct sl_wr   w;

    if (extradata == NULL || len == 0)
        return NULL;
    if (extradata[0] == 1) {
        if (!avcc_valid(extradata, len))
            return NULL;
        b = sl_buf_new(AVC_HDR_LEN + len);
        if (b == NULL)
            return NULL;
        sl_wr_init(&w, b->data, b->cap);
        put_avc_header(&w, 1, AVC_SEQ_HEADER, 0);
        sl_wr_bytes(&w, extradata, len);
        return finish(b, &w);
    }

    annexb_init(&a, extradata, len);
    while ((sps == NULL || pps == NULL) && annexb_next(&a, &nal, &nal_len)) {
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
    return finish(b, &w);
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
    struct annexb  a;
    const uint8_t *nal;
    size_t         nal_len, size = AVC_HDR_LEN;
    struct sl_buf *b;
    struct sl_wr   w;

    /* 24 bits hold about +-2.3 hours; beyond that the input is wrong. */
    if (pkt == NULL || len == 0 || cts_ms < -0x800000 || cts_ms > 0x7fffff)
        return NULL;
    if (!starts_with_start_code(pkt, len) || is_avcc_chain(pkt, len)) {
        b = sl_buf_new(AVC_HDR_LEN + len);
        if (b == NULL)
            return NULL;
        sl_wr_init(&w, b->data, b->cap);
        put_avc_header(&w, keyframe, AVC_NALU, cts_ms);
        sl_wr_bytes(&w, pkt, len);
        return finish(b, &w);
    }

    /* Two passes: size the buffer, then write into it.  Each unit kept
     * costs at most one byte more than its start code did, so the size
     * cannot overflow a size_t; sl_buf_new rejects what exceeds 32 bits. */
    annexb_init(&a, pkt, len);
    while (annexb_next(&a, &nal, &nal_len)) {
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
    annexb_init(&a, pkt, len);
    while (annexb_next(&a, &nal, &nal_len)) {
        if (keep_nal(nal)) {
            sl_wr_u32(&w, (uint32_t) nal_len);
            sl_wr_bytes(&w, nal, nal_len);
        }
    }
    return finish(b, &w);
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
    return finish(b, &w);
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
    return finish(b, &w);
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
    return finish(b, &w);
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

/* H.264 SPS (ITU-T H.264 7.3.2.1.1).  A NAL unit is its RBSP with an
 * emulation prevention byte 03 inserted after every 00 00 that would
 * otherwise be followed by 00..03; those are removed into a local buffer
 * first.  SPS are a few dozen bytes (scaling matrices and VUI make them a
 * few hundred at most), so a unit over SPS_MAX bytes is rejected rather
 * than parsed. */
#define SPS_MAX 1024

/* The largest picture side accepted, in pixels: H.264 levels stop at
 * 8192x4320 and 16384 leaves room for what an encoder may still make. */
#define AVC_MAX_SIDE 16384

/* Reads an RBSP MSB first.  Like sl_rd, a read past the end returns zero,
 * latches err and reads nothing more, so the parser checks err once after
 * a group of fields (and before any value becomes a loop bound it has not
 * already capped). */
struct rbsp {
    const uint8_t *p;
    size_t         bits; /* bits given */
    size_t         pos;  /* bits consumed */
    int            err;
};

static unsigned
rbsp_bit(struct rbsp *b)
{
    unsigned v;

    if (b->err || b->pos >= b->bits) {
        b->err = 1;
        return 0;
    }
    v = (b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1;
    b->pos++;
    return v;
}

/* u(n), n <= 32. */
static uint32_t
rbsp_u(struct rbsp *b, unsigned n)
{
    uint32_t v = 0;

    while (n-- > 0)
        v = v << 1 | rbsp_bit(b);
    return b->err ? 0 : v;
}

/* ue(v) (9.1): n leading zeros, a one, then n bits; the value is
 * 2^n - 1 + those bits.  Every syntax element of an SPS fits in 32 bits,
 * which needs at most 31 leading zeros; more is an error, not a shift
 * past the width of the type. */
static uint32_t
rbsp_ue(struct rbsp *b)
{
    unsigned zeros = 0;

    while (rbsp_bit(b) == 0) {
        if (b->err || ++zeros > 31) {
            b->err = 1;
            return 0;
        }
    }
    return (uint32_t) ((UINT64_C(1) << zeros) - 1 + rbsp_u(b, zeros));
}

/* se(v) (9.1.1): ue values 1, 2, 3, 4 ... map to 1, -1, 2, -2 ...  The
 * largest ue value, 2^32 - 2, maps to -(2^31 - 1), so both halves fit in
 * an int32_t without overflow. */
static int32_t
rbsp_se(struct rbsp *b)
{
    uint32_t k = rbsp_ue(b);

    return k & 1 ? (int32_t) ((k >> 1) + 1) : -(int32_t) (k >> 1);
}

/* Copies a NAL unit's payload (after the header byte) to out without its
 * emulation prevention bytes: a 03 after two zero bytes is dropped and
 * the zero count starts again.  Returns the RBSP length; out must hold
 * len bytes, which is the most it can need. */
static size_t
unescape(const uint8_t *p, size_t len, uint8_t *out)
{
    size_t   n = 0;
    unsigned zeros = 0;

    for (size_t i = 0; i < len; i++) {
        if (zeros >= 2 && p[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = p[i] == 0 ? zeros + 1 : 0;
        out[n++] = p[i];
    }
    return n;
}

/* The profiles whose SPS carries chroma format, bit depths and scaling
 * matrices (the condition in front of chroma_format_idc in 7.3.2.1.1). */
static int
is_high_profile(unsigned profile)
{
    static const uint8_t high[] = {100, 110, 122, 244, 44,  83, 86,
                                   118, 128, 138, 139, 134, 135};

    for (size_t i = 0; i < sizeof(high); i++) {
        if (profile == high[i])
            return 1;
    }
    return 0;
}

/* scaling_list() (7.3.2.1.1.1), read only to be skipped.  delta_scale is
 * -128..127 (7.4.2.1.1); checking it keeps the sums below in range.  A
 * next scale of 0 means "use the default list" and ends the deltas. */
static int
skip_scaling_list(struct rbsp *b, unsigned size)
{
    int last = 8, next = 8;

    for (unsigned j = 0; j < size && next != 0; j++) {
        int32_t delta = rbsp_se(b);

        if (b->err || delta < -128 || delta > 127)
            return -1;
        next = (last + delta + 256) % 256;
        if (next != 0)
            last = next;
    }
    return 0;
}

/* The fields before pic_width_in_mbs_minus1 that only need skipping. */
static int
skip_frame_num_and_poc(struct rbsp *b)
{
    uint32_t poc_type, cycle;

    if (rbsp_ue(b) > 12) /* log2_max_frame_num_minus4 */
        return -1;
    poc_type = rbsp_ue(b);
    if (poc_type == 0) {
        if (rbsp_ue(b) > 12) /* log2_max_pic_order_cnt_lsb_minus4 */
            return -1;
    } else if (poc_type == 1) {
        rbsp_bit(b);        /* delta_pic_order_always_zero_flag */
        (void) rbsp_se(b);  /* offset_for_non_ref_pic */
        (void) rbsp_se(b);  /* offset_for_top_to_bottom_field */
        cycle = rbsp_ue(b); /* num_ref_frames_in_pic_order_cnt_cycle */
        if (cycle > 255)
            return -1;
        for (uint32_t i = 0; i < cycle && !b->err; i++)
            (void) rbsp_se(b); /* offset_for_ref_frame[i] */
    } else if (poc_type > 2) {
        return -1;
    }
    return b->err ? -1 : 0;
}

int
sl_media_avc_info(const uint8_t *avcc, size_t len,
                  struct sl_media_avc_info *out)
{
    uint8_t        buf[SPS_MAX];
    struct sl_rd   r;
    struct rbsp    b;
    const uint8_t *sps;
    size_t         sps_len;
    unsigned       profile, level, chroma = 1, separate = 0, frame_mbs_only;
    uint32_t       w_mbs, h_units, crop[4] = {0, 0, 0, 0};
    uint64_t       w, h, unit_x, unit_y;

    memset(out, 0, sizeof(*out));
    if (avcc == NULL || !avcc_valid(avcc, len))
        return -1;
    /* avcc_valid checked the framing: version, 4 bytes, the SPS count
     * (at least one) and the first SPS's length are all there. */
    sl_rd_init(&r, avcc, len);
    sl_rd_bytes(&r, 6);
    sps_len = sl_rd_u16(&r);
    sps = sl_rd_bytes(&r, sps_len);
    /* A NAL header with forbidden_zero_bit clear and type 7, then at
     * least profile, constraint flags and level. */
    if (sps == NULL || sps_len < 4 || sps_len > SPS_MAX ||
        (sps[0] & 0x80) != 0 || (sps[0] & 0x1f) != NAL_SPS)
        return -1;
    b.p = buf;
    b.bits = 8 * unescape(sps + 1, sps_len - 1, buf);
    b.pos = 0;
    b.err = 0;

    profile = rbsp_u(&b, 8);
    rbsp_u(&b, 8); /* constraint_set0..5_flag, reserved_zero_2bits */
    level = rbsp_u(&b, 8);
    if (rbsp_ue(&b) > 31) /* seq_parameter_set_id */
        return -1;
    if (is_high_profile(profile)) {
        chroma = rbsp_ue(&b); /* chroma_format_idc */
        if (chroma > 3)
            return -1;
        if (chroma == 3)
            separate = rbsp_bit(&b);
        /* bit_depth_luma_minus8, bit_depth_chroma_minus8: 0..6. */
        if (rbsp_ue(&b) > 6 || rbsp_ue(&b) > 6)
            return -1;
        rbsp_bit(&b);       /* qpprime_y_zero_transform_bypass_flag */
        if (rbsp_bit(&b)) { /* seq_scaling_matrix_present_flag */
            /* Six 4x4 lists, then two 8x8 (six with 4:4:4). */
            unsigned lists = chroma != 3 ? 8 : 12;

            for (unsigned i = 0; i < lists; i++) {
                if (rbsp_bit(&b) && skip_scaling_list(&b, i < 6 ? 16 : 64) < 0)
                    return -1;
            }
        }
    }
    if (b.err || skip_frame_num_and_poc(&b) < 0)
        return -1;
    /* max_num_ref_frames is at most MaxDpbFrames, which is 16. */
    if (rbsp_ue(&b) > 16)
        return -1;
    rbsp_bit(&b);          /* gaps_in_frame_num_value_allowed_flag */
    w_mbs = rbsp_ue(&b);   /* pic_width_in_mbs_minus1 */
    h_units = rbsp_ue(&b); /* pic_height_in_map_units_minus1 */
    frame_mbs_only = rbsp_bit(&b);
    if (!frame_mbs_only)
        rbsp_bit(&b);   /* mb_adaptive_frame_field_flag */
    rbsp_bit(&b);       /* direct_8x8_inference_flag */
    if (rbsp_bit(&b)) { /* frame_cropping_flag: left, right, top, bottom */
        for (int i = 0; i < 4; i++)
            crop[i] = rbsp_ue(&b);
    }
    rbsp_bit(&b); /* vui_parameters_present_flag: the last field we need */
    if (b.err)
        return -1;

    /* A map unit is a macroblock pair when fields may be coded (frame
     * height = 2 * map units), one macroblock otherwise.  Crop offsets
     * count chroma samples (7.4.2.1.1): without chroma (monochrome, or
     * 4:4:4 coded as separate planes) one luma sample across and one
     * line down; otherwise SubWidthC across and SubHeightC down (4:2:0:
     * 2 and 2, 4:2:2: 2 and 1, 4:4:4: 1 and 1).  The unit down doubles
     * when fields may be coded.  All in 64 bits: each factor is below
     * 2^33. */
    w = ((uint64_t) w_mbs + 1) * 16;
    h = ((uint64_t) h_units + 1) * 16 * (2 - frame_mbs_only);
    unit_x = 1;
    unit_y = 2 - frame_mbs_only;
    if (chroma != 0 && !separate) {
        unit_x = chroma == 3 ? 1 : 2;
        unit_y *= chroma == 1 ? 2 : 1;
    }
    if (unit_x * ((uint64_t) crop[0] + crop[1]) >= w ||
        unit_y * ((uint64_t) crop[2] + crop[3]) >= h)
        return -1;
    w -= unit_x * ((uint64_t) crop[0] + crop[1]);
    h -= unit_y * ((uint64_t) crop[2] + crop[3]);
    if (w > AVC_MAX_SIDE || h > AVC_MAX_SIDE)
        return -1;
    out->profile = (int) profile;
    out->level = (int) level;
    out->width = (int) w;
    out->height = (int) h;
    return 0;
}

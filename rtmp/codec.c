/*
 * AVC SPS and AAC AudioSpecificConfig readers (see codec.h).
 *
 * H.264 SPS: ITU-T H.264 7.3.2.1.1.  A NAL unit is its RBSP with an
 * emulation prevention byte 03 inserted after every 00 00 that would
 * otherwise be followed by 00..03; those are removed into a local buffer
 * first.  AudioSpecificConfig: ISO 14496-3 1.6.2.1, read in place.
 */
#include "rtmp/codec.h"

#include <errno.h>
#include <string.h>

#include "rtmp/rd.h"

/* H.264 NAL unit type of a sequence parameter set. */
#define NAL_SPS 7

/* Reads bits MSB first.  Like sl_rd, a read past the end returns zero,
 * latches err and reads nothing more, so a parser checks err once after
 * a group of fields (and before any value becomes a loop bound it has not
 * already capped). */
struct bits {
    const uint8_t *p;
    size_t         bits; /* bits given */
    size_t         pos;  /* bits consumed */
    int            err;
};

static void
bits_init(struct bits *b, const uint8_t *p, size_t len)
{
    b->p = p;
    b->bits = 8 * len;
    b->pos = 0;
    b->err = 0;
}

static unsigned
bits_bit(struct bits *b)
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
bits_u(struct bits *b, unsigned n)
{
    uint32_t v = 0;

    while (n-- > 0)
        v = v << 1 | bits_bit(b);
    return b->err ? 0 : v;
}

/* ue(v) (9.1): n leading zeros, a one, then n bits; the value is
 * 2^n - 1 + those bits.  Every syntax element of an SPS fits in 32 bits,
 * which needs at most 31 leading zeros; more is an error, not a shift
 * past the width of the type.  This also bounds every loop by the
 * input. */
static uint32_t
bits_ue(struct bits *b)
{
    unsigned zeros = 0;

    while (bits_bit(b) == 0) {
        if (b->err || ++zeros > 31) {
            b->err = 1;
            return 0;
        }
    }
    return (uint32_t) ((UINT64_C(1) << zeros) - 1 + bits_u(b, zeros));
}

/* se(v) (9.1.1): ue values 1, 2, 3, 4 ... map to 1, -1, 2, -2 ...  The
 * largest ue value, 2^32 - 2, maps to -(2^31 - 1), so both halves fit in
 * an int32_t without overflow. */
static int32_t
bits_se(struct bits *b)
{
    uint32_t k = bits_ue(b);

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

/* scaling_list() (7.3.2.1.1.1), read only to be skipped; its length
 * depends on the deltas.  delta_scale is -128..127 (7.4.2.1.1); checking
 * it keeps the sums below in range.  A next scale of 0 means "use the
 * default list" and ends the deltas. */
static int
skip_scaling_list(struct bits *b, unsigned size)
{
    int last = 8, next = 8;

    for (unsigned j = 0; j < size && next != 0; j++) {
        int32_t delta = bits_se(b);

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
skip_frame_num_and_poc(struct bits *b)
{
    uint32_t poc_type, cycle;

    if (bits_ue(b) > 12) /* log2_max_frame_num_minus4 */
        return -1;
    poc_type = bits_ue(b);
    if (poc_type == 0) {
        if (bits_ue(b) > 12) /* log2_max_pic_order_cnt_lsb_minus4 */
            return -1;
    } else if (poc_type == 1) {
        bits_bit(b);        /* delta_pic_order_always_zero_flag */
        (void) bits_se(b);  /* offset_for_non_ref_pic */
        (void) bits_se(b);  /* offset_for_top_to_bottom_field */
        cycle = bits_ue(b); /* num_ref_frames_in_pic_order_cnt_cycle */
        if (cycle > 255)
            return -1;
        for (uint32_t i = 0; i < cycle && !b->err; i++)
            (void) bits_se(b); /* offset_for_ref_frame[i] */
    } else if (poc_type > 2) {
        return -1;
    }
    return b->err ? -1 : 0;
}

/* vui_parameters() (E.1.1) up to the timing info, the only part read:
 * the frame rate is time_scale / (2 * num_units_in_tick) (E.2.1, one
 * tick per field).  A VUI cut short leaves fps at 0; the picture size
 * read before it stands. */
static double
vui_fps(struct bits *b)
{
    uint32_t units, scale;

    if (bits_bit(b)) {            /* aspect_ratio_info_present_flag */
        if (bits_u(b, 8) == 255)  /* aspect_ratio_idc: Extended_SAR */
            (void) bits_u(b, 32); /* sar_width, sar_height */
    }
    if (bits_bit(b))              /* overscan_info_present_flag */
        bits_bit(b);              /* overscan_appropriate_flag */
    if (bits_bit(b)) {            /* video_signal_type_present_flag */
        (void) bits_u(b, 4);      /* video_format, full_range_flag */
        if (bits_bit(b))          /* colour_description_present_flag */
            (void) bits_u(b, 24); /* primaries, transfer, matrix */
    }
    if (bits_bit(b)) { /* chroma_loc_info_present_flag */
        (void) bits_ue(b);
        (void) bits_ue(b);
    }
    if (!bits_bit(b)) /* timing_info_present_flag */
        return 0;
    units = bits_u(b, 32); /* num_units_in_tick */
    scale = bits_u(b, 32); /* time_scale */
    if (b->err || units == 0 || scale == 0)
        return 0;
    return (double) scale / (2.0 * units);
}

static int
parse_sps(const uint8_t *sps, size_t len, struct sl_avc_info *o)
{
    uint8_t     buf[SL_CODEC_SPS_MAX];
    struct bits b;
    unsigned    profile, level, chroma = 1, separate = 0, frame_mbs_only, vui;
    uint32_t    w_mbs, h_units, crop[4] = {0, 0, 0, 0};
    uint64_t    w, h, unit_x, unit_y;

    /* A NAL header with forbidden_zero_bit clear and type 7, then at
     * least profile, constraint flags and level. */
    if (sps == NULL || len < 4 || len > SL_CODEC_SPS_MAX ||
        (sps[0] & 0x80) != 0 || (sps[0] & 0x1f) != NAL_SPS)
        return -1;
    bits_init(&b, buf, unescape(sps + 1, len - 1, buf));

    profile = bits_u(&b, 8);
    (void) bits_u(&b, 8); /* constraint_set0..5_flag, reserved_zero_2bits */
    level = bits_u(&b, 8);
    if (bits_ue(&b) > 31) /* seq_parameter_set_id */
        return -1;
    if (is_high_profile(profile)) {
        chroma = bits_ue(&b); /* chroma_format_idc */
        if (chroma > 3)
            return -1;
        if (chroma == 3)
            separate = bits_bit(&b);
        /* bit_depth_luma_minus8, bit_depth_chroma_minus8: 0..6. */
        if (bits_ue(&b) > 6 || bits_ue(&b) > 6)
            return -1;
        bits_bit(&b);       /* qpprime_y_zero_transform_bypass_flag */
        if (bits_bit(&b)) { /* seq_scaling_matrix_present_flag */
            /* Six 4x4 lists, then two 8x8 (six with 4:4:4). */
            unsigned lists = chroma != 3 ? 8 : 12;

            for (unsigned i = 0; i < lists; i++) {
                if (bits_bit(&b) && skip_scaling_list(&b, i < 6 ? 16 : 64) < 0)
                    return -1;
            }
        }
    }
    if (b.err || skip_frame_num_and_poc(&b) < 0)
        return -1;
    /* max_num_ref_frames is at most MaxDpbFrames, which is 16. */
    if (bits_ue(&b) > 16)
        return -1;
    bits_bit(&b);          /* gaps_in_frame_num_value_allowed_flag */
    w_mbs = bits_ue(&b);   /* pic_width_in_mbs_minus1 */
    h_units = bits_ue(&b); /* pic_height_in_map_units_minus1 */
    frame_mbs_only = bits_bit(&b);
    if (!frame_mbs_only)
        bits_bit(&b);   /* mb_adaptive_frame_field_flag */
    bits_bit(&b);       /* direct_8x8_inference_flag */
    if (bits_bit(&b)) { /* frame_cropping_flag: left, right, top, bottom */
        for (int i = 0; i < 4; i++)
            crop[i] = bits_ue(&b);
    }
    /* vui_parameters_present_flag is part of every SPS: one that ends
     * before it is truncated. */
    vui = bits_bit(&b);
    if (b.err)
        return -1;
    if (vui)
        o->fps = vui_fps(&b);

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
    if (w > SL_CODEC_MAX_SIDE || h > SL_CODEC_MAX_SIDE)
        return -1;
    o->profile = (int) profile;
    o->level = (int) level;
    o->width = (int) w;
    o->height = (int) h;
    return 0;
}

int
sl_avc_parse_sps(const uint8_t *p, size_t len, struct sl_avc_info *o)
{
    memset(o, 0, sizeof(*o));
    if (parse_sps(p, len, o) < 0) {
        memset(o, 0, sizeof(*o));
        return -EPROTO;
    }
    return 0;
}

int
sl_avc_check_config(const uint8_t *p, size_t len)
{
    struct sl_rd r;
    unsigned     nsps, npps;

    if (p == NULL)
        return -EPROTO;
    sl_rd_init(&r, p, len);
    if (sl_rd_u8(&r) != 1) /* configurationVersion */
        return -EPROTO;
    sl_rd_bytes(&r, 4); /* profile, compatibility, level, length size */
    nsps = sl_rd_u8(&r) & 0x1f;
    for (unsigned i = 0; i < nsps; i++)
        sl_rd_bytes(&r, sl_rd_u16(&r));
    npps = sl_rd_u8(&r);
    for (unsigned i = 0; i < npps; i++)
        sl_rd_bytes(&r, sl_rd_u16(&r));
    return !r.err && nsps > 0 && npps > 0 ? 0 : -EPROTO;
}

int
sl_avc_parse_config(const uint8_t *p, size_t len, struct sl_avc_info *o)
{
    struct sl_rd   r;
    const uint8_t *sps;
    uint16_t       sps_len;

    memset(o, 0, sizeof(*o));
    if (sl_avc_check_config(p, len) < 0)
        return -EPROTO;
    /* The check above saw the framing: version, 4 bytes, the SPS count
     * (at least one) and the first SPS's length are all there. */
    sl_rd_init(&r, p, len);
    sl_rd_bytes(&r, 6);
    sps_len = sl_rd_u16(&r);
    sps = sl_rd_bytes(&r, sps_len);
    return sl_avc_parse_sps(sps, sps_len, o);
}

/* GetAudioObjectType() (1.6.2.1): 5 bits, 31 escaping to 32 + 6 more. */
static int
asc_object_type(struct bits *b)
{
    int aot = (int) bits_u(b, 5);

    return aot == 31 ? 32 + (int) bits_u(b, 6) : aot;
}

/* samplingFrequencyIndex 0..12, or 15 and an explicit 24-bit rate; 13
 * and 14 are reserved (0, rejected by the caller). */
static int
asc_rate(struct bits *b)
{
    static const int rates[13] = {96000, 88200, 64000, 48000, 44100,
                                  32000, 24000, 22050, 16000, 12000,
                                  11025, 8000,  7350};
    uint32_t         idx = bits_u(b, 4);

    if (idx == 15)
        return (int) bits_u(b, 24);
    return idx < 13 ? rates[idx] : 0;
}

static int
parse_asc(const uint8_t *p, size_t len, struct sl_aac_info *o)
{
    /* channelConfiguration: 0 means a program config element says;
     * 7 is 7.1 (eight channels); 8..10 and 15 are reserved (-1); 11..14
     * come from later amendments (6.1, 7.1 rear, 22.2, 7.1 top). */
    static const int chans[16] = {0,  1,  2,  3, 4, 5,  6, 8,
                                  -1, -1, -1, 7, 8, 24, 8, -1};
    struct bits      b;
    int              ch;

    bits_init(&b, p, len);
    o->object_type = asc_object_type(&b);
    o->sample_rate = asc_rate(&b);
    ch = chans[bits_u(&b, 4)];
    /* HE-AAC (SBR 5) and HE-AAC v2 (PS 29) carry the rate the decoder
     * outputs as an extension, then the core object type (usually 2);
     * both are part of the config, so one without them is cut short. */
    if (o->object_type == 5 || o->object_type == 29) {
        o->sample_rate = asc_rate(&b);
        (void) asc_object_type(&b);
    }
    if (b.err || o->object_type == 0 || o->sample_rate <= 0 || ch < 0)
        return -1;
    o->channels = ch;
    return 0;
}

int
sl_aac_parse_asc(const uint8_t *p, size_t len, struct sl_aac_info *o)
{
    memset(o, 0, sizeof(*o));
    if (parse_asc(p, len, o) < 0) {
        memset(o, 0, sizeof(*o));
        return -EPROTO;
    }
    return 0;
}

/* ---- HEVC ---- */

#define HEVC_NAL_SPS 33

/* profile_tier_level(1, max_sub_layers_minus1) (7.3.3): the general
 * part is copied (12 bytes), the sub-layers' parts skipped. */
static void
skip_hevc_ptl(struct bits *b, unsigned sub_layers_minus1, uint8_t ptl[12])
{
    unsigned profile_present[8] = {0}, level_present[8] = {0};

    for (int i = 0; i < 12; i++)
        ptl[i] = (uint8_t) bits_u(b, 8);
    for (unsigned i = 0; i < sub_layers_minus1; i++) {
        profile_present[i] = bits_bit(b);
        level_present[i] = bits_bit(b);
    }
    if (sub_layers_minus1 > 0)
        for (unsigned i = sub_layers_minus1; i < 8; i++)
            (void) bits_u(b, 2); /* reserved_zero_2bits */
    for (unsigned i = 0; i < sub_layers_minus1; i++) {
        if (profile_present[i]) {
            (void) bits_u(b, 32); /* 88 bits of sub-layer profile */
            (void) bits_u(b, 32);
            (void) bits_u(b, 24);
        }
        if (level_present[i])
            (void) bits_u(b, 8);
    }
}

static int
parse_hevc_sps(const uint8_t *sps, size_t len, struct sl_hevc_info *o)
{
    uint8_t     buf[SL_CODEC_SPS_MAX];
    struct bits b;
    unsigned    sub_layers_minus1, chroma, sub_w, sub_h;
    uint32_t    w, h, crop[4] = {0, 0, 0, 0}, depth_luma, depth_chroma;
    uint64_t    cw, ch;

    if (sps == NULL || len < 3 || len > SL_CODEC_SPS_MAX ||
        (sps[0] & 0x80) != 0 || ((sps[0] >> 1) & 0x3f) != HEVC_NAL_SPS)
        return -1;
    bits_init(&b, buf, unescape(sps + 2, len - 2, buf));
    (void) bits_u(&b, 4); /* sps_video_parameter_set_id */
    sub_layers_minus1 = bits_u(&b, 3);
    o->temporal_id_nesting = (int) bits_bit(&b);
    if (b.err || sub_layers_minus1 > 6)
        return -1;
    o->max_sub_layers = (int) sub_layers_minus1 + 1;
    skip_hevc_ptl(&b, sub_layers_minus1, o->ptl);
    if (bits_ue(&b) > 15) /* sps_seq_parameter_set_id */
        return -1;
    chroma = bits_ue(&b);
    if (chroma > 3)
        return -1;
    if (chroma == 3)
        bits_bit(&b); /* separate_colour_plane_flag */
    w = bits_ue(&b);
    h = bits_ue(&b);
    if (bits_bit(&b)) /* conformance_window_flag */
        for (int i = 0; i < 4; i++)
            crop[i] = bits_ue(&b);
    depth_luma = bits_ue(&b); /* bit_depth_luma_minus8: 0..8 */
    depth_chroma = bits_ue(&b);
    if (b.err || depth_luma > 8 || depth_chroma > 8)
        return -1;
    o->bit_depth_luma = (int) depth_luma + 8;
    o->bit_depth_chroma = (int) depth_chroma + 8;
    /* The window is in chroma samples: 2 luma columns (and rows, for
     * 4:2:0) each. */
    sub_w = chroma == 1 || chroma == 2 ? 2 : 1;
    sub_h = chroma == 1 ? 2 : 1;
    cw = (uint64_t) sub_w * ((uint64_t) crop[0] + crop[1]);
    ch = (uint64_t) sub_h * ((uint64_t) crop[2] + crop[3]);
    if (w == 0 || h == 0 || cw >= w || ch >= h || w - cw > SL_CODEC_MAX_SIDE ||
        h - ch > SL_CODEC_MAX_SIDE)
        return -1;
    o->width = (int) (w - cw);
    o->height = (int) (h - ch);
    o->chroma_format = (int) chroma;
    return 0;
}

int
sl_hevc_parse_sps(const uint8_t *p, size_t len, struct sl_hevc_info *o)
{
    memset(o, 0, sizeof(*o));
    if (parse_hevc_sps(p, len, o) < 0) {
        memset(o, 0, sizeof(*o));
        return -EPROTO;
    }
    return 0;
}

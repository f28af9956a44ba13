/*
 * AVC SPS and AAC AudioSpecificConfig readers (see codec.h).
 *
 * The bit reader saturates like sl_rd: reading past the end yields zeros
 * and latches err, so a parser checks once at the end.  Exp-Golomb codes
 * longer than 31 leading zeros are errors (no valid SPS field needs
 * them), which also bounds every loop by the input.
 */
#include "server/codec.h"

#include <errno.h>
#include <string.h>

#include "server/rd.h"

struct bits {
    const uint8_t *p;
    size_t         len; /* bytes */
    size_t         pos; /* bits consumed */
    int            err;
};

static unsigned
bit(struct bits *b)
{
    unsigned v;

    if (b->pos >= b->len * 8) {
        b->err = 1;
        return 0;
    }
    v = (b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1;
    b->pos++;
    return v;
}

static uint32_t
bits_u(struct bits *b, int n)
{
    uint32_t v = 0;

    while (n-- > 0)
        v = (v << 1) | bit(b);
    return v;
}

/* ue(v): unsigned Exp-Golomb. */
static uint32_t
bits_ue(struct bits *b)
{
    int zeros = 0;

    while (bit(b) == 0) {
        if (b->err || ++zeros > 31) {
            b->err = 1;
            return 0;
        }
    }
    return ((1u << zeros) - 1) + bits_u(b, zeros);
}

/* se(v): signed Exp-Golomb. */
static int32_t
bits_se(struct bits *b)
{
    uint32_t k = bits_ue(b);

    return (k & 1) ? (int32_t) ((k + 1) / 2) : -(int32_t) (k / 2);
}

/* scaling_list(): only skipped, but its length depends on the deltas. */
static void
skip_scaling_list(struct bits *b, int size)
{
    int last = 8, next = 8;

    for (int j = 0; j < size && !b->err; j++) {
        if (next != 0) {
            int32_t delta = bits_se(b);

            if (delta < -128 || delta > 127) {  /* out of the spec */
                b->err = 1;
                return;
            }
            next = (last + delta + 256) % 256;
        }
        last = next == 0 ? last : next;
    }
}

int
sl_avc_parse_sps(const uint8_t *p, size_t len, struct sl_avc_info *o)
{
    uint8_t     rbsp[SL_CODEC_SPS_MAX];
    size_t      n = 0;
    struct bits b;
    uint32_t    profile, chroma = 1, w_mbs, h_map_units, frame_mbs_only;
    uint32_t    crop_l = 0, crop_r = 0, crop_t = 0, crop_b = 0;
    uint32_t    poc_type, sub_w, sub_h;
    int         zeros = 0;

    memset(o, 0, sizeof(*o));
    if (len < 4 || (p[0] & 0x1f) != 7)
        return -EPROTO;
    /* Emulation prevention: 00 00 03 -> 00 00. */
    for (size_t i = 1; i < len && n < sizeof(rbsp); i++) {
        if (zeros >= 2 && p[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = p[i] == 0 ? zeros + 1 : 0;
        rbsp[n++] = p[i];
    }
    b = (struct bits){rbsp, n, 0, 0};
    profile = bits_u(&b, 8);
    bits_u(&b, 8); /* constraint flags, reserved */
    o->profile = (int) profile;
    o->level = (int) bits_u(&b, 8);
    bits_ue(&b); /* seq_parameter_set_id */
    if (profile == 100 || profile == 110 || profile == 122 || profile == 244 ||
        profile == 44 || profile == 83 || profile == 86 || profile == 118 ||
        profile == 128 || profile == 138 || profile == 139 || profile == 134 ||
        profile == 135) {
        chroma = bits_ue(&b);
        if (chroma > 3)
            return -EPROTO;
        if (chroma == 3)
            bit(&b);   /* separate_colour_plane_flag */
        bits_ue(&b);   /* bit_depth_luma_minus8 */
        bits_ue(&b);   /* bit_depth_chroma_minus8 */
        bit(&b);       /* qpprime_y_zero_transform_bypass_flag */
        if (bit(&b)) { /* seq_scaling_matrix_present_flag */
            int lists = chroma != 3 ? 8 : 12;

            for (int i = 0; i < lists && !b.err; i++)
                if (bit(&b))
                    skip_scaling_list(&b, i < 6 ? 16 : 64);
        }
    }
    bits_ue(&b); /* log2_max_frame_num_minus4 */
    poc_type = bits_ue(&b);
    if (poc_type == 0) {
        bits_ue(&b); /* log2_max_pic_order_cnt_lsb_minus4 */
    } else if (poc_type == 1) {
        uint32_t cycle;

        bit(&b); /* delta_pic_order_always_zero_flag */
        bits_se(&b);
        bits_se(&b);
        cycle = bits_ue(&b);
        if (cycle > 255)
            return -EPROTO;
        for (uint32_t i = 0; i < cycle && !b.err; i++)
            bits_se(&b);
    } else if (poc_type != 2) {
        return -EPROTO;
    }
    bits_ue(&b); /* max_num_ref_frames */
    bit(&b);     /* gaps_in_frame_num_value_allowed_flag */
    w_mbs = bits_ue(&b) + 1;
    h_map_units = bits_ue(&b) + 1;
    frame_mbs_only = bit(&b);
    if (!frame_mbs_only)
        bit(&b);   /* mb_adaptive_frame_field_flag */
    bit(&b);       /* direct_8x8_inference_flag */
    if (bit(&b)) { /* frame_cropping_flag */
        crop_l = bits_ue(&b);
        crop_r = bits_ue(&b);
        crop_t = bits_ue(&b);
        crop_b = bits_ue(&b);
    }
    if (b.err || w_mbs > 1024 || h_map_units > 1024)
        return -EPROTO;
    /* Crop units: chroma sample size horizontally; vertically also times
     * two for field coding. */
    sub_w = (chroma == 1 || chroma == 2) ? 2 : 1;
    sub_h = chroma == 1 ? 2 : 1;
    if (chroma == 0)
        sub_w = sub_h = 1;
    sub_h *= 2 - frame_mbs_only;
    {
        /* 64 bits: the crop offsets are peer-supplied 32-bit values. */
        uint64_t cw = (uint64_t) sub_w * ((uint64_t) crop_l + crop_r);
        uint64_t ch = (uint64_t) sub_h * ((uint64_t) crop_t + crop_b);
        uint64_t w = (uint64_t) w_mbs * 16;
        uint64_t h = (uint64_t) (2 - frame_mbs_only) * h_map_units * 16;

        if (cw >= w || ch >= h)
            return -EPROTO;
        o->width = (int) (w - cw);
        o->height = (int) (h - ch);
    }
    /* VUI: only the timing info matters here; a truncated VUI just means
     * no frame rate. */
    if (bit(&b)) {
        if (bit(&b)) { /* aspect_ratio_info_present_flag */
            if (bits_u(&b, 8) == 255)
                bits_u(&b, 32); /* sar_width, sar_height */
        }
        if (bit(&b)) /* overscan_info_present_flag */
            bit(&b);
        if (bit(&b)) { /* video_signal_type_present_flag */
            bits_u(&b, 4);
            if (bit(&b))
                bits_u(&b, 24);
        }
        if (bit(&b)) { /* chroma_loc_info_present_flag */
            bits_ue(&b);
            bits_ue(&b);
        }
        if (bit(&b)) { /* timing_info_present_flag */
            uint32_t units = bits_u(&b, 32), scale = bits_u(&b, 32);

            if (!b.err && units > 0 && scale > 0)
                o->fps = (double) scale / (2.0 * units);
        }
    }
    return 0;
}

int
sl_avc_parse_config(const uint8_t *p, size_t len, struct sl_avc_info *o)
{
    struct sl_rd   r;
    const uint8_t *sps;
    uint16_t       sps_len;

    memset(o, 0, sizeof(*o));
    sl_rd_init(&r, p, len);
    if (sl_rd_u8(&r) != 1) /* configurationVersion */
        return -EPROTO;
    sl_rd_bytes(&r, 4); /* profile, compat, level, lengthSizeMinusOne */
    if ((sl_rd_u8(&r) & 0x1f) == 0) /* numOfSequenceParameterSets */
        return -EPROTO;
    sps_len = sl_rd_u16(&r);
    sps = sl_rd_bytes(&r, sps_len);
    if (r.err || sps == NULL)
        return -EPROTO;
    return sl_avc_parse_sps(sps, sps_len, o);
}

int
sl_aac_parse_asc(const uint8_t *p, size_t len, struct sl_aac_info *o)
{
    static const int rates[13] = {96000, 88200, 64000, 48000, 44100,
                                  32000, 24000, 22050, 16000, 12000,
                                  11025, 8000,  7350};
    struct bits      b = {p, len, 0, 0};
    uint32_t         idx;

    memset(o, 0, sizeof(*o));
    o->object_type = (int) bits_u(&b, 5);
    if (o->object_type == 31)
        o->object_type = 32 + (int) bits_u(&b, 6);
    idx = bits_u(&b, 4);
    if (idx == 15)
        o->sample_rate = (int) bits_u(&b, 24);
    else if (idx < 13)
        o->sample_rate = rates[idx];
    o->channels = (int) bits_u(&b, 4);
    /* HE-AAC (SBR 5, PS 29) signals the output rate as an extension. */
    if (o->object_type == 5 || o->object_type == 29) {
        idx = bits_u(&b, 4);
        if (idx == 15)
            o->sample_rate = (int) bits_u(&b, 24);
        else if (idx < 13)
            o->sample_rate = rates[idx];
    }
    if (b.err || o->object_type == 0 || o->sample_rate <= 0)
        return -EPROTO;
    return 0;
}

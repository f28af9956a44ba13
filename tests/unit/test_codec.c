/*
 * The SPS, avcC and AudioSpecificConfig readers (rtmp/codec.h), which
 * the HTTP API, media/, relay/ and transcode/ share: real encoder output
 * (x264 baseline with cropping, x264 high profile; media's tests add
 * libx264 records at more sizes, profiles and chroma formats),
 * hand-written SPS that reach every branch and every limit, VUI timing,
 * hand-made AAC configs, and every truncation of each input (which must
 * fail cleanly or succeed, never read past the end: the SPS inputs are
 * placed right before an unreadable page, the rest runs under ASan).
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rtmp/codec.h"

/* A PPS to complete the records built here. */
#define PPS "\x68\xee\x3c\x80"

/* x264 ultrafast 1920x1080 25 fps: 1088 coded lines, cropped to 1080. */
static const uint8_t sps_1080[] = {0x67, 0x42, 0xc0, 0x28, 0xda, 0x01, 0xe0,
                                   0x08, 0x9f, 0x97, 0x01, 0x10, 0x00, 0x00,
                                   0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03,
                                   0x20, 0xf1, 0x83, 0x2a};
/* x264 ultrafast 320x240 25 fps. */
static const uint8_t sps_240[] = {
    0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00,
    0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0c, 0x83, 0xc5, 0x0a, 0xa8};
/* x264 high profile 1280x720 30 fps. */
static const uint8_t sps_720h[] = {0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40,
                                   0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00,
                                   0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03,
                                   0xc0, 0xf1, 0x83, 0x19, 0x60};

static void
test_sps(void)
{
    struct sl_avc_info i;

    CU_ASSERT_FATAL(sl_avc_parse_sps(sps_1080, sizeof(sps_1080), &i) == 0);
    CU_ASSERT_EQUAL(i.width, 1920);
    CU_ASSERT_EQUAL(i.height, 1080);
    CU_ASSERT_EQUAL(i.profile, 66);
    CU_ASSERT_EQUAL(i.level, 40);
    CU_ASSERT_DOUBLE_EQUAL(i.fps, 25.0, 0.001);

    CU_ASSERT_FATAL(sl_avc_parse_sps(sps_240, sizeof(sps_240), &i) == 0);
    CU_ASSERT_EQUAL(i.width, 320);
    CU_ASSERT_EQUAL(i.height, 240);

    CU_ASSERT_FATAL(sl_avc_parse_sps(sps_720h, sizeof(sps_720h), &i) == 0);
    CU_ASSERT_EQUAL(i.width, 1280);
    CU_ASSERT_EQUAL(i.height, 720);
    CU_ASSERT_EQUAL(i.profile, 100);
    CU_ASSERT_EQUAL(i.level, 31);
    CU_ASSERT_DOUBLE_EQUAL(i.fps, 30.0, 0.001);
}

static void
test_avc_config(void)
{
    uint8_t            rec[64];
    struct sl_avc_info i;
    size_t             n = 0;

    rec[n++] = 1; /* configurationVersion */
    rec[n++] = 0x64;
    rec[n++] = 0;
    rec[n++] = 0x1f;
    rec[n++] = 0xff; /* lengthSizeMinusOne = 3 */
    rec[n++] = 0xe1; /* one SPS */
    rec[n++] = 0;
    rec[n++] = sizeof(sps_720h);
    memcpy(rec + n, sps_720h, sizeof(sps_720h));
    n += sizeof(sps_720h);
    /* Without numOfPictureParameterSets the record is cut short
     * (ISO 14496-15 5.3.3.1); and a sequence header must carry a PPS. */
    CU_ASSERT(sl_avc_parse_config(rec, n, &i) == -EPROTO);
    CU_ASSERT(i.width == 0 && i.height == 0 && i.fps == 0);
    rec[n] = 0;
    CU_ASSERT(sl_avc_parse_config(rec, n + 1, &i) == -EPROTO);
    memcpy(rec + n, "\x01\x00\x04" PPS, 7);
    n += 7;
    CU_ASSERT_FATAL(sl_avc_parse_config(rec, n, &i) == 0);
    CU_ASSERT(i.width == 1280 && i.height == 720);
    CU_ASSERT_DOUBLE_EQUAL(i.fps, 30.0, 0.001);
    CU_ASSERT_EQUAL(sl_avc_check_config(rec, n), 0);

    /* Every truncation: clean failure, never an over-read.  Each copy
     * is exactly as long as the cut, so ASan sees any over-read. */
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *p = malloc(cut ? cut : 1);

        memcpy(p, rec, cut);
        sl_avc_parse_config(p, cut, &i);
        free(p);
    }
    for (size_t cut = 0; cut < sizeof(sps_1080); cut++) {
        uint8_t *p = malloc(cut ? cut : 1);

        memcpy(p, sps_1080, cut);
        sl_avc_parse_sps(p, cut, &i);
        free(p);
    }
    rec[0] = 2; /* unknown version */
    CU_ASSERT(sl_avc_parse_config(rec, n, &i) == -EPROTO);
    rec[0] = 1;
    rec[5] = 0xe0; /* no SPS */
    CU_ASSERT(sl_avc_parse_config(rec, n, &i) == -EPROTO);
    /* Not an SPS NAL. */
    CU_ASSERT(sl_avc_parse_sps((const uint8_t *) "\x68\x01\x02\x03", 4, &i) ==
              -EPROTO);
}

/* An unreadable page with a readable one before it: an input copied to
 * end right at the returned pointer faults on any over-read. */
static uint8_t *
guard_map(void)
{
    long     page = sysconf(_SC_PAGESIZE);
    uint8_t *map = mmap(NULL, (size_t) page * 2, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map + page, (size_t) page, PROT_NONE) != 0) {
        munmap(map, (size_t) page * 2);
        return NULL;
    }
    return map + page;
}

static void
guard_unmap(uint8_t *guard)
{
    long page = sysconf(_SC_PAGESIZE);

    munmap(guard - page, (size_t) page * 2);
}

/* sl_avc_parse_config on a copy of p[0..len) that ends at the guard. */
static int
avc_info_at(uint8_t *guard, const uint8_t *p, size_t len,
            struct sl_avc_info *out)
{
    memcpy(guard - len, p, len);
    return sl_avc_parse_config(guard - len, len, out);
}

/* An avcC record around one SPS NAL unit (and the PPS above); its
 * length. */
static size_t
avcc_of(const uint8_t *sps, size_t sps_len, uint8_t *out)
{
    size_t n = 0;

    out[n++] = 1;
    out[n++] = sps_len > 1 ? sps[1] : 0;
    out[n++] = sps_len > 2 ? sps[2] : 0;
    out[n++] = sps_len > 3 ? sps[3] : 0;
    out[n++] = 0xff;
    out[n++] = 0xe1;
    out[n++] = (uint8_t) (sps_len >> 8);
    out[n++] = (uint8_t) sps_len;
    memcpy(out + n, sps, sps_len);
    n += sps_len;
    memcpy(out + n, "\x01\x00\x04" PPS, 7);
    return n + 7;
}

/* Every truncation of a record that gives w x h, and of its first SPS
 * inside an otherwise whole record: each must fail or, having read only
 * bits that are still there, give the same picture. */
static void
check_truncations(uint8_t *guard, const uint8_t *avcc, size_t len, int w, int h)
{
    static uint8_t     rec[4096];
    struct sl_avc_info info;
    size_t             sps_len = (size_t) avcc[6] << 8 | avcc[7];

    for (size_t cut = 0; cut < len; cut++) {
        if (avc_info_at(guard, avcc, cut, &info) == 0) {
            CU_ASSERT(info.width == w && info.height == h);
        } else {
            CU_ASSERT(info.width == 0 && info.height == 0);
        }
    }
    CU_ASSERT_FATAL(8 + sps_len <= len && sps_len + 32 <= sizeof(rec));
    for (size_t cut = 0; cut < sps_len; cut++) {
        size_t n = avcc_of(avcc + 8, cut, rec);

        if (avc_info_at(guard, rec, n, &info) == 0) {
            CU_ASSERT(info.width == w && info.height == h);
        }
    }
}

/* A bit writer for hand-made SPS, MSB first; ue/se as H.264 9.1. */
struct bw {
    uint8_t b[2048];
    size_t  bits;
};

static void
bw_u(struct bw *w, unsigned n, uint64_t v)
{
    while (n-- > 0) {
        if (w->bits < 8 * sizeof(w->b) && ((v >> n) & 1))
            w->b[w->bits >> 3] |= (uint8_t) (0x80 >> (w->bits & 7));
        w->bits++;
    }
}

static void
bw_ue(struct bw *w, uint32_t v)
{
    uint64_t x = (uint64_t) v + 1;
    unsigned n = 0;

    while (x >> (n + 1))
        n++;
    bw_u(w, n, 0);
    bw_u(w, n + 1, x);
}

static void
bw_se(struct bw *w, int32_t v)
{
    bw_ue(w, v > 0 ? 2 * (uint32_t) v - 1 : (uint32_t) (-2 * (int64_t) v));
}

/* The fields of a hand-made SPS; sps_default gives a plain 1080p one. */
struct sps {
    unsigned profile, level, id;
    unsigned chroma, separate, depth; /* high profiles only */
    int      scaling; /* 1: every list present; 2: one delta of 128 */
    unsigned log2_frame_num, poc_type, log2_poc_lsb;
    unsigned cycle;      /* POC type 1: offset_for_ref_frame entries */
    int32_t  big_offset; /* POC type 1: offset_for_non_ref_pic */
    int      huge;       /* ... written as 32 zeros, 1, 32 zero bits */
    unsigned ref_frames;
    uint32_t w_mbs, h_units; /* minus 1 */
    unsigned frame_mbs_only;
    int      cropping;
    uint32_t crop[4]; /* left, right, top, bottom */
    unsigned pad;     /* VUI-like bytes of 0xff after the flags */
    /* A real VUI instead of the padding when units is not 0: every
     * field before the timing info present, sar: aspect_ratio_idc 255
     * and an explicit SAR. */
    uint32_t units, scale;
    int      sar;
};

static void
sps_default(struct sps *s)
{
    memset(s, 0, sizeof(*s));
    s->profile = 66;
    s->level = 40;
    s->chroma = 1;
    s->ref_frames = 1;
    s->w_mbs = 119;
    s->h_units = 67;
    s->frame_mbs_only = 1;
    s->cropping = 1;
    s->crop[3] = 4;
}

static int
sps_is_high(unsigned profile)
{
    return profile == 100 || profile == 110 || profile == 122 ||
           profile == 244 || profile == 44 || profile == 83 || profile == 86 ||
           profile == 118 || profile == 128 || profile == 138 ||
           profile == 139 || profile == 134 || profile == 135;
}

/* The scaling lists: even ones end at once (a next scale of 0: "use
 * the default"), odd ones run their full length. */
static void
put_scaling(struct bw *w, const struct sps *s)
{
    unsigned lists = s->chroma != 3 ? 8 : 12;

    for (unsigned i = 0; i < lists; i++) {
        unsigned size = i < 6 ? 16 : 64;

        bw_u(w, 1, 1);
        if (s->scaling == 2) {
            bw_se(w, 128);
            return;
        }
        if (i % 2 == 0) {
            bw_se(w, -8);
            continue;
        }
        for (unsigned j = 0; j < size; j++)
            bw_se(w, j % 2 ? -120 : 127);
    }
}

/* The SPS NAL unit (header byte, RBSP with emulation prevention, stop
 * bit); its length.  *escapes counts the 03 bytes inserted. */
static size_t
sps_nal(const struct sps *s, uint8_t *out, size_t cap, unsigned *escapes)
{
    static struct bw w;
    size_t           n = 0, len;
    unsigned         zeros = 0;

    memset(&w, 0, sizeof(w));
    bw_u(&w, 8, s->profile);
    bw_u(&w, 8, 0);
    bw_u(&w, 8, s->level);
    bw_ue(&w, s->id);
    if (sps_is_high(s->profile)) {
        bw_ue(&w, s->chroma);
        if (s->chroma == 3)
            bw_u(&w, 1, s->separate);
        bw_ue(&w, s->depth);
        bw_ue(&w, s->depth);
        bw_u(&w, 1, 0);
        bw_u(&w, 1, s->scaling != 0);
        if (s->scaling)
            put_scaling(&w, s);
    }
    bw_ue(&w, s->log2_frame_num);
    bw_ue(&w, s->poc_type);
    if (s->poc_type == 0) {
        bw_ue(&w, s->log2_poc_lsb);
    } else if (s->poc_type == 1) {
        bw_u(&w, 1, 0);
        if (s->huge) {
            bw_u(&w, 32, 0);
            bw_u(&w, 33, UINT64_C(1) << 32);
        } else {
            bw_se(&w, s->big_offset);
        }
        bw_se(&w, -2);
        bw_ue(&w, s->cycle);
        for (unsigned i = 0; i < s->cycle; i++)
            bw_se(&w, (int32_t) i - 100);
    }
    bw_ue(&w, s->ref_frames);
    bw_u(&w, 1, 0);
    bw_ue(&w, s->w_mbs);
    bw_ue(&w, s->h_units);
    bw_u(&w, 1, s->frame_mbs_only);
    if (!s->frame_mbs_only)
        bw_u(&w, 1, 1);
    bw_u(&w, 1, 1);
    bw_u(&w, 1, s->cropping != 0);
    if (s->cropping) {
        for (int i = 0; i < 4; i++)
            bw_ue(&w, s->crop[i]);
    }
    if (s->units != 0) {
        bw_u(&w, 1, 1);                /* vui_parameters_present_flag */
        bw_u(&w, 1, 1);                /* aspect_ratio_info_present_flag */
        bw_u(&w, 8, s->sar ? 255 : 1); /* aspect_ratio_idc */
        if (s->sar)
            bw_u(&w, 32, 0x00040003); /* sar_width, sar_height */
        bw_u(&w, 1, 1);               /* overscan_info_present_flag */
        bw_u(&w, 1, 0);
        bw_u(&w, 1, 1);         /* video_signal_type_present_flag */
        bw_u(&w, 4, 0xb);       /* video_format 5, full range */
        bw_u(&w, 1, 1);         /* colour_description_present */
        bw_u(&w, 24, 0x010101); /* BT.709 */
        bw_u(&w, 1, 1);         /* chroma_loc_info_present_flag */
        bw_ue(&w, 1);
        bw_ue(&w, 1);
        bw_u(&w, 1, 1); /* timing_info_present_flag */
        bw_u(&w, 32, s->units);
        bw_u(&w, 32, s->scale);
        bw_u(&w, 1, 1); /* fixed_frame_rate_flag */
        bw_u(&w, 5, 0); /* no HRD, pic_struct, restriction */
    } else {
        bw_u(&w, 1, s->pad > 0);
        for (unsigned i = 0; i < s->pad; i++)
            bw_u(&w, 8, 0xff);
    }
    bw_u(&w, 1, 1); /* rbsp_stop_one_bit */
    len = (w.bits + 7) / 8;
    CU_ASSERT_FATAL(len < sizeof(w.b));

    *escapes = 0;
    out[n++] = 0x67;
    for (size_t i = 0; i < len; i++) {
        if (zeros >= 2 && w.b[i] <= 3) {
            out[n++] = 3;
            ++*escapes;
            zeros = 0;
        }
        zeros = w.b[i] == 0 ? zeros + 1 : 0;
        out[n++] = w.b[i];
        CU_ASSERT_FATAL(n + 1 < cap);
    }
    return n;
}

/* sl_avc_parse_config on the record of a hand-made SPS: its result, with
 * *info filled. */
static int
sps_info(const struct sps *s, struct sl_avc_info *info)
{
    static uint8_t nal[4096], rec[4200];
    unsigned       esc;
    size_t         n = sps_nal(s, nal, sizeof(nal), &esc);

    return sl_avc_parse_config(rec, avcc_of(nal, n, rec), info);
}

static int
sps_gives(const struct sps *s, int w, int h)
{
    struct sl_avc_info info;

    return sps_info(s, &info) == 0 && info.width == w && info.height == h &&
           info.profile == (int) s->profile && info.level == (int) s->level;
}

static int
sps_fails(const struct sps *s)
{
    struct sl_avc_info info;

    return sps_info(s, &info) == -EPROTO && info.width == 0 && info.height == 0;
}

static void
test_avc_info_branches(void)
{
    struct sps s;

    sps_default(&s);
    CU_ASSERT(sps_gives(&s, 1920, 1080));
    s.cropping = 0;
    CU_ASSERT(sps_gives(&s, 1920, 1088));

    /* Field coding: map units are macroblock pairs, 4:2:0 crops in
     * units of 2 x 4. */
    sps_default(&s);
    s.frame_mbs_only = 0;
    s.h_units = 33;
    s.crop[3] = 2;
    CU_ASSERT(sps_gives(&s, 1920, 1080));
    s.crop[0] = 1;
    s.crop[2] = 1;
    CU_ASSERT(sps_gives(&s, 1918, 1076));

    /* High profile, each chroma format and its crop units. */
    sps_default(&s);
    s.profile = 100;
    s.crop[0] = 3;
    s.crop[1] = 2; /* 4:2:0: 2 across, 2 down */
    CU_ASSERT(sps_gives(&s, 1910, 1080));
    s.chroma = 2; /* 4:2:2: 2 across, 1 down */
    s.profile = 122;
    CU_ASSERT(sps_gives(&s, 1910, 1084));
    s.frame_mbs_only = 0; /* ... 2 down per frame */
    s.h_units = 33;
    CU_ASSERT(sps_gives(&s, 1910, 1080));
    s.chroma = 3; /* 4:4:4: 1 across, 1 (2 per frame) down */
    s.profile = 244;
    CU_ASSERT(sps_gives(&s, 1915, 1080));
    s.frame_mbs_only = 1;
    s.h_units = 67;
    CU_ASSERT(sps_gives(&s, 1915, 1084));
    s.separate = 1; /* separate planes: as monochrome */
    CU_ASSERT(sps_gives(&s, 1915, 1084));
    s.chroma = 0; /* monochrome */
    s.separate = 0;
    s.profile = 100;
    s.frame_mbs_only = 0;
    s.h_units = 33;
    CU_ASSERT(sps_gives(&s, 1915, 1080));
    s.depth = 6;
    s.id = 31;
    s.log2_frame_num = 12;
    s.log2_poc_lsb = 12;
    s.ref_frames = 16;
    CU_ASSERT(sps_gives(&s, 1915, 1080));

    /* Scaling matrices: 8 lists, or 12 with 4:4:4, some ended early;
     * each list is read to its end or the matrix would throw off every
     * later field. */
    sps_default(&s);
    s.profile = 100;
    s.scaling = 1;
    CU_ASSERT(sps_gives(&s, 1920, 1080));
    s.chroma = 3;
    s.profile = 244;
    s.crop[3] = 8;
    CU_ASSERT(sps_gives(&s, 1920, 1080));
    s.scaling = 2; /* a delta of 128 */
    CU_ASSERT(sps_fails(&s));
    /* Baseline has no chroma fields even with the scaling setting. */
    s.profile = 66;
    s.chroma = 1;
    s.crop[3] = 4;
    CU_ASSERT(sps_gives(&s, 1920, 1080));

    /* POC types 1 (with the longest cycle) and 2. */
    sps_default(&s);
    s.poc_type = 1;
    s.cycle = 255;
    CU_ASSERT(sps_gives(&s, 1920, 1080));
    s.cycle = 256;
    CU_ASSERT(sps_fails(&s));
    s.poc_type = 2;
    CU_ASSERT(sps_gives(&s, 1920, 1080));

    /* The largest picture, and one macroblock. */
    sps_default(&s);
    s.w_mbs = 1024; /* 16400 - 2 * 8 */
    s.crop[1] = 8;
    s.h_units = 1023;
    s.crop[3] = 0;
    CU_ASSERT(sps_gives(&s, 16384, 16384));
    s.crop[1] = 7;
    CU_ASSERT(sps_fails(&s));
    sps_default(&s);
    s.w_mbs = 0;
    s.h_units = 0;
    s.crop[3] = 0;
    CU_ASSERT(sps_gives(&s, 16, 16));
    s.crop[0] = 7;
    s.crop[2] = 7;
    CU_ASSERT(sps_gives(&s, 2, 2));
}

static void
test_avc_info_rejects(void)
{
    struct sps         s;
    struct sl_avc_info info;
    static uint8_t     nal[4096], rec[4200];
    unsigned           esc;
    size_t             n;

    /* Out of range values, one at a time. */
    sps_default(&s);
    s.id = 32;
    CU_ASSERT(sps_fails(&s));
    sps_default(&s);
    s.profile = 100;
    s.chroma = 4;
    CU_ASSERT(sps_fails(&s));
    sps_default(&s);
    s.profile = 100;
    s.depth = 7;
    CU_ASSERT(sps_fails(&s));
    sps_default(&s);
    s.log2_frame_num = 13;
    CU_ASSERT(sps_fails(&s));
    sps_default(&s);
    s.log2_poc_lsb = 13;
    CU_ASSERT(sps_fails(&s));
    sps_default(&s);
    s.poc_type = 3;
    CU_ASSERT(sps_fails(&s));
    sps_default(&s);
    s.ref_frames = 17;
    CU_ASSERT(sps_fails(&s));

    /* Crops that leave nothing, or more than the picture. */
    sps_default(&s);
    s.crop[0] = 480;
    s.crop[1] = 480;
    CU_ASSERT(sps_fails(&s));
    s.crop[1] = 479;
    CU_ASSERT(sps_gives(&s, 2, 1080));
    sps_default(&s);
    s.crop[3] = 544;
    CU_ASSERT(sps_fails(&s));
    s.crop[2] = 0xfffffffe;
    CU_ASSERT(sps_fails(&s));
    sps_default(&s);
    s.crop[0] = 0xfffffffe;
    s.crop[1] = 0xfffffffe;
    CU_ASSERT(sps_fails(&s));

    /* Pictures too large, down to the largest exp-Golomb code. */
    sps_default(&s);
    s.crop[3] = 0;
    s.w_mbs = 1024;
    CU_ASSERT(sps_fails(&s));
    s.w_mbs = 0xfffffffe;
    CU_ASSERT(sps_fails(&s));
    sps_default(&s);
    s.frame_mbs_only = 0;
    s.h_units = 512; /* 513 pairs: 16416 lines */
    CU_ASSERT(sps_fails(&s));
    s.h_units = 0xfffffffe;
    CU_ASSERT(sps_fails(&s));

    /* 32 leading zeros: no ue(v) in an SPS is that long.  Written by
     * hand after profile, flags and level: 1 + 32 zeros + 1 + 32 bits. */
    memcpy(nal, "\x67\x42\x00\x28\x80\x00\x00\x00\x00\x7f\xff\xff\xff\x80", 14);
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, avcc_of(nal, 14, rec), &info),
                    -EPROTO);
    /* Where any value is allowed (offset_for_non_ref_pic), 31 zeros
     * are the longest code taken and 32 are refused. */
    sps_default(&s);
    s.poc_type = 1;
    s.big_offset = -2147483647; /* ue 2^32 - 2: 31 zeros */
    CU_ASSERT(sps_gives(&s, 1920, 1080));
    s.huge = 1;
    CU_ASSERT(sps_fails(&s));
    /* An SPS of zero bits after the header: all zeros, no end. */
    memset(nal + 1, 0, 64);
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, avcc_of(nal, 65, rec), &info),
                    -EPROTO);

    /* Not an SPS: a PPS, forbidden_zero_bit set, fewer than 4 bytes. */
    sps_default(&s);
    n = sps_nal(&s, nal, sizeof(nal), &esc);
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, avcc_of(nal, n, rec), &info), 0);
    nal[0] = 0x68;
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, avcc_of(nal, n, rec), &info),
                    -EPROTO);
    nal[0] = 0xe7;
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, avcc_of(nal, n, rec), &info),
                    -EPROTO);
    nal[0] = 0x27; /* nal_ref_idc 1: still an SPS */
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, avcc_of(nal, n, rec), &info), 0);
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, avcc_of(nal, 3, rec), &info),
                    -EPROTO);

    /* 1 KiB is the most an SPS may take (here with VUI-like bytes after
     * the fields read); one byte more is rejected unread. */
    sps_default(&s);
    s.pad = 1000;
    while ((n = sps_nal(&s, nal, sizeof(nal), &esc)) < 1024)
        s.pad++;
    CU_ASSERT_EQUAL(n, 1024);
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, avcc_of(nal, n, rec), &info), 0);
    CU_ASSERT(info.width == 1920 && info.height == 1080);
    s.pad++;
    n = sps_nal(&s, nal, sizeof(nal), &esc);
    CU_ASSERT_EQUAL(n, 1025);
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, avcc_of(nal, n, rec), &info),
                    -EPROTO);

    /* Records that are not avcC or lie about their contents. */
    sps_default(&s);
    n = avcc_of(nal, sps_nal(&s, nal, sizeof(nal), &esc), rec);
    rec[0] = 0;
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, n, &info), -EPROTO);
    rec[0] = 1;
    rec[5] = 0xe0; /* no SPS */
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, n, &info), -EPROTO);
    rec[5] = 0xe1;
    rec[7] += 8; /* SPS runs past the end */
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, n, &info), -EPROTO);
    rec[7] -= 8;
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, n, &info), 0);
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, n - 1, &info),
                    -EPROTO); /* PPS cut */
    CU_ASSERT_EQUAL(sl_avc_parse_config(NULL, 0, &info), -EPROTO);
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, 0, &info), -EPROTO);
}

/* Emulation prevention: a large offset_for_non_ref_pic (a se(v) of
 * 2^30: 30 zero bits) and large crops put 00 00 0x in the RBSP, which the
 * NAL unit carries as 00 00 03 0x. */
static void
test_avc_info_emulation(void)
{
    static uint8_t     nal[4096], rec[4200];
    struct sps         s;
    struct sl_avc_info info;
    unsigned           esc;
    size_t             n;
    uint8_t           *guard = guard_map();

    CU_ASSERT_PTR_NOT_NULL_FATAL(guard);
    sps_default(&s);
    s.poc_type = 1;
    s.big_offset = -(1 << 30);
    s.cycle = 3;
    s.w_mbs = 1023;
    s.cropping = 1;
    s.crop[0] = 8000; /* 16384 - 2 * 8184 = 16 */
    s.crop[1] = 184;
    n = sps_nal(&s, nal, sizeof(nal), &esc);
    CU_ASSERT(esc >= 1);
    CU_ASSERT(memmem(nal, n, "\x00\x00\x03", 3) != NULL);
    n = avcc_of(nal, n, rec);
    CU_ASSERT_EQUAL(avc_info_at(guard, rec, n, &info), 0);
    CU_ASSERT(info.width == 16 && info.height == 1080 && info.profile == 66);
    check_truncations(guard, rec, n, 16, 1080);

    /* A 03 that is not after two zeros is data; and an SPS whose RBSP
     * read without removing the 03 would give another picture. */
    sps_default(&s);
    s.profile = 100;
    s.chroma = 3;
    s.level = 3;
    s.crop[3] = 8;
    s.w_mbs = 0;
    s.crop[1] = 3;
    n = sps_nal(&s, nal, sizeof(nal), &esc);
    CU_ASSERT(memchr(nal, 3, n) != NULL);
    CU_ASSERT_EQUAL(avc_info_at(guard, rec, avcc_of(nal, n, rec), &info), 0);
    CU_ASSERT(info.width == 13 && info.height == 1080 && info.level == 3);
    guard_unmap(guard);
}

/* The frame rate from the VUI timing info, behind every field that can
 * come before it; a VUI cut anywhere leaves the picture and no rate. */
static void
test_sps_vui(void)
{
    static uint8_t     nal[4096], rec[4200];
    struct sps         s;
    struct sl_avc_info info;
    unsigned           esc;
    size_t             n, full;

    sps_default(&s);
    s.units = 1001;
    s.scale = 60000;
    CU_ASSERT_FATAL(sps_info(&s, &info) == 0);
    CU_ASSERT(info.width == 1920 && info.height == 1080);
    CU_ASSERT_DOUBLE_EQUAL(info.fps, 29.97, 0.001);
    s.sar = 1;
    s.units = 1;
    s.scale = 50;
    CU_ASSERT_FATAL(sps_info(&s, &info) == 0);
    CU_ASSERT_DOUBLE_EQUAL(info.fps, 25.0, 0.001);
    /* A zero tick or scale says nothing. */
    s.scale = 0;
    CU_ASSERT_FATAL(sps_info(&s, &info) == 0);
    CU_ASSERT_EQUAL(info.fps, 0);
    CU_ASSERT(info.width == 1920 && info.height == 1080);
    /* No VUI, and the padding one of all ones: 0xffffffff both ways. */
    sps_default(&s);
    CU_ASSERT_FATAL(sps_info(&s, &info) == 0);
    CU_ASSERT_EQUAL(info.fps, 0);
    s.pad = 20;
    CU_ASSERT_FATAL(sps_info(&s, &info) == 0);
    CU_ASSERT_DOUBLE_EQUAL(info.fps, 0.5, 0.001);

    /* Every cut of the bare SPS: a failure while the fields before the
     * VUI are incomplete, then (a VUI cut short is no error) the same
     * picture at every longer cut, with a rate only once the timing
     * info is whole. */
    sps_default(&s);
    s.sar = 1;
    s.units = 1;
    s.scale = 60;
    full = sps_nal(&s, nal, sizeof(nal), &esc);
    n = 0; /* cuts accepted without a rate */
    for (size_t cut = 0, ok = 0; cut <= full; cut++) {
        if (sl_avc_parse_sps(nal, cut, &info) == 0) {
            ok = 1;
            CU_ASSERT(info.width == 1920 && info.height == 1080);
            CU_ASSERT(info.fps == 0 || (info.fps > 29.99 && info.fps < 30.01));
            n += info.fps == 0;
        } else {
            CU_ASSERT(!ok);
            CU_ASSERT(info.width == 0 && info.fps == 0);
        }
    }
    CU_ASSERT(n > 10);
    CU_ASSERT_EQUAL(sl_avc_parse_sps(nal, full, &info), 0);
    CU_ASSERT_DOUBLE_EQUAL(info.fps, 30.0, 0.001);
    CU_ASSERT_EQUAL(sl_avc_parse_config(rec, avcc_of(nal, full, rec), &info),
                    0);
    CU_ASSERT_DOUBLE_EQUAL(info.fps, 30.0, 0.001);
}

/* Garbage: seeded pseudo-random records, framed and unframed, and
 * random SPS bodies behind a valid header; none may crash and any
 * success must be a sane picture. */
static void
test_avc_info_garbage(void)
{
    static uint8_t     buf[600], rec[700];
    struct sl_avc_info info;
    uint32_t           x = 12345;
    uint8_t           *guard = guard_map();
    int                ok = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(guard);
    for (int round = 0; round < 20000; round++) {
        size_t len = 1 + round % 200, n;

        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245 + 12345;
            buf[i] = (uint8_t) (x >> 16);
        }
        /* Sparse bytes too: long zero runs make long codes. */
        if (round % 3 == 0) {
            for (size_t i = 0; i < len; i++)
                buf[i] &= buf[i] >> 3;
        }
        buf[0] = round % 2 ? 0x67 : buf[0];
        n = avcc_of(buf, len, rec);
        if (avc_info_at(guard, rec, n, &info) == 0) {
            ok++;
            CU_ASSERT(info.width >= 1 && info.width <= 16384);
            CU_ASSERT(info.height >= 1 && info.height <= 16384);
        }
        (void) avc_info_at(guard, buf, len, &info);
    }
    /* Random bits do parse now and then: the check above had work. */
    CU_ASSERT(ok > 0);
    guard_unmap(guard);
}

static void
test_aac(void)
{
    struct sl_aac_info a;
    /* LC, 44100 (index 4), mono; and stereo. */
    const uint8_t lc44[] = {0x12, 0x08};
    const uint8_t lc44s[] = {0x12, 0x10};
    /* LC, 48000 (index 3), stereo. */
    const uint8_t lc48[] = {0x11, 0x90};
    /* Channels from a program config element. */
    const uint8_t pce[] = {0x12, 0x00};
    /* HE-AAC: SBR (5), core 24000 (6), stereo, extension 48000 (3),
     * then a core object type. */
    const uint8_t he[] = {0x2b, 0x11, 0x80};
    /* SBR, core 24000, mono, extension 48000, core LC; and the same with
     * PS (29).  Two bytes of it end before the extension rate. */
    const uint8_t he24[] = {0x2b, 0x09, 0x88};
    const uint8_t ps[] = {0xeb, 0x09, 0x88};
    /* Explicit rate (index 15): 7350 * 2 = 14700 Hz, LC, mono; 44100 Hz
     * stereo; and 0 Hz. */
    const uint8_t expl[] = {0x17, 0x80, 0x1c, 0xb6, 0x08};
    const uint8_t expl44[] = {0x17, 0x80, 0x56, 0x22, 0x10};
    const uint8_t expl0[] = {0x17, 0x80, 0x00, 0x00, 0x10};
    /* Object type escape: 31, then 10 -> 42 (USAC), 44.1 kHz, stereo. */
    const uint8_t usac[] = {0xf9, 0x48, 0x40};
    /* 48 kHz, configuration 7 (7.1: eight channels), 8 (reserved). */
    const uint8_t ch71[] = {0x11, 0xb8};
    const uint8_t reserved_ch[] = {0x12, 0x40};
    /* Reserved rate index 13; object type 0 (null). */
    const uint8_t reserved_rate[] = {0x16, 0x90};
    const uint8_t null_aot[] = {0x02, 0x10};

    CU_ASSERT_FATAL(sl_aac_parse_asc(lc44, sizeof(lc44), &a) == 0);
    CU_ASSERT(a.object_type == 2 && a.sample_rate == 44100 && a.channels == 1);
    CU_ASSERT_FATAL(sl_aac_parse_asc(lc44s, sizeof(lc44s), &a) == 0);
    CU_ASSERT(a.object_type == 2 && a.sample_rate == 44100 && a.channels == 2);
    CU_ASSERT_FATAL(sl_aac_parse_asc(lc48, sizeof(lc48), &a) == 0);
    CU_ASSERT(a.object_type == 2 && a.sample_rate == 48000 && a.channels == 2);
    CU_ASSERT_FATAL(sl_aac_parse_asc(pce, sizeof(pce), &a) == 0);
    CU_ASSERT(a.sample_rate == 44100 && a.channels == 0);
    CU_ASSERT_FATAL(sl_aac_parse_asc(he, sizeof(he), &a) == 0);
    CU_ASSERT(a.object_type == 5 && a.sample_rate == 48000 && a.channels == 2);
    CU_ASSERT_FATAL(sl_aac_parse_asc(he24, sizeof(he24), &a) == 0);
    CU_ASSERT(a.object_type == 5 && a.sample_rate == 48000 && a.channels == 1);
    CU_ASSERT_FATAL(sl_aac_parse_asc(ps, sizeof(ps), &a) == 0);
    CU_ASSERT(a.object_type == 29 && a.sample_rate == 48000 && a.channels == 1);
    CU_ASSERT_FATAL(sl_aac_parse_asc(expl, sizeof(expl), &a) == 0);
    CU_ASSERT(a.sample_rate == 14700 && a.channels == 1);
    CU_ASSERT_FATAL(sl_aac_parse_asc(expl44, sizeof(expl44), &a) == 0);
    CU_ASSERT(a.object_type == 2 && a.sample_rate == 44100 && a.channels == 2);
    CU_ASSERT_FATAL(sl_aac_parse_asc(usac, sizeof(usac), &a) == 0);
    CU_ASSERT(a.object_type == 42 && a.sample_rate == 44100 && a.channels == 2);
    CU_ASSERT_FATAL(sl_aac_parse_asc(ch71, sizeof(ch71), &a) == 0);
    CU_ASSERT(a.sample_rate == 48000 && a.channels == 8);

    /* Too short: 13 bits need two bytes, the escape 19 bits three, an
     * explicit rate 37 bits five, SBR its extension rate and core
     * object type (ISO 14496-3 1.6.2.1) three. */
    CU_ASSERT(sl_aac_parse_asc(NULL, 0, &a) == -EPROTO);
    CU_ASSERT(sl_aac_parse_asc(lc44, 1, &a) == -EPROTO);
    CU_ASSERT(sl_aac_parse_asc(usac, 2, &a) == -EPROTO);
    CU_ASSERT(sl_aac_parse_asc(expl, 4, &a) == -EPROTO);
    CU_ASSERT(sl_aac_parse_asc(he24, 2, &a) == -EPROTO);
    CU_ASSERT(sl_aac_parse_asc(ps, 2, &a) == -EPROTO);
    CU_ASSERT(a.object_type == 0 && a.sample_rate == 0 && a.channels == 0);
    /* Reserved or meaningless values. */
    CU_ASSERT(sl_aac_parse_asc(reserved_rate, sizeof(reserved_rate), &a) ==
              -EPROTO);
    CU_ASSERT(sl_aac_parse_asc(reserved_ch, sizeof(reserved_ch), &a) ==
              -EPROTO);
    CU_ASSERT(sl_aac_parse_asc(expl0, sizeof(expl0), &a) == -EPROTO);
    CU_ASSERT(sl_aac_parse_asc(null_aot, sizeof(null_aot), &a) == -EPROTO);

    /* Every truncation of each, in a buffer exactly that long. */
    {
        const struct {
            const uint8_t *p;
            size_t         len;
        } in[] = {{lc44s, sizeof(lc44s)},
                  {he, sizeof(he)},
                  {expl44, sizeof(expl44)},
                  {usac, sizeof(usac)}};

        for (size_t k = 0; k < sizeof(in) / sizeof(in[0]); k++) {
            for (size_t cut = 0; cut < in[k].len; cut++) {
                uint8_t *p = malloc(cut ? cut : 1);

                memcpy(p, in[k].p, cut);
                CU_ASSERT(sl_aac_parse_asc(p, cut, &a) == -EPROTO);
                free(p);
            }
        }
    }
}

/* An HEVC SPS as libx265 wrote it (320x240, 4:4:4 from an RGB source:
 * the Range Extensions profile, level 2), with its emulation prevention
 * bytes. */
static const uint8_t hevc_sps[] = {
    0x42, 0x01, 0x01, 0x04, 0x08, 0x00, 0x00, 0x03, 0x00, 0x9e, 0x08,
    0x00, 0x00, 0x03, 0x00, 0x00, 0x3c, 0x90, 0x01, 0x41, 0x01, 0xe2,
    0xcb, 0x2b, 0x34, 0x92, 0x65, 0x78, 0x0b, 0x70, 0x20, 0x20, 0x00,
    0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x06, 0x42};

static void
test_hevc_sps(void)
{
    struct sl_hevc_info i;
    uint8_t             bad[sizeof(hevc_sps)];

    CU_ASSERT_EQUAL_FATAL(sl_hevc_parse_sps(hevc_sps, sizeof(hevc_sps), &i), 0);
    CU_ASSERT_EQUAL(i.width, 320);
    CU_ASSERT_EQUAL(i.height, 240);
    CU_ASSERT_EQUAL(i.chroma_format, 3);
    CU_ASSERT_EQUAL(i.bit_depth_luma, 8);
    CU_ASSERT_EQUAL(i.bit_depth_chroma, 8);
    CU_ASSERT_EQUAL(i.max_sub_layers, 1);
    CU_ASSERT_EQUAL(i.temporal_id_nesting, 1);
    CU_ASSERT_EQUAL(i.ptl[0], 0x04);  /* profile_idc 4 */
    CU_ASSERT_EQUAL(i.ptl[11], 0x3c); /* level 2 (60) */
    /* Cut before the bit depths (byte 20 of it): fails cleanly, zeroed. */
    for (size_t n = 0; n < 20; n++) {
        CU_ASSERT_EQUAL(sl_hevc_parse_sps(hevc_sps, n, &i), -EPROTO);
        CU_ASSERT_EQUAL(i.width, 0);
    }
    /* Not an SPS: an AVC SPS header, a VPS. */
    memcpy(bad, hevc_sps, sizeof(bad));
    bad[0] = 0x40;
    CU_ASSERT_EQUAL(sl_hevc_parse_sps(bad, sizeof(bad), &i), -EPROTO);
    bad[0] = 0x67;
    CU_ASSERT_EQUAL(sl_hevc_parse_sps(bad, sizeof(bad), &i), -EPROTO);
}

void
sl_test_suite_codec(void)
{
    CU_pSuite s = CU_add_suite("codec", NULL, NULL);

    CU_add_test(s, "SPS: size with cropping, profile, level, fps", test_sps);
    CU_add_test(s, "AVC config record and every truncation", test_avc_config);
    CU_add_test(s, "SPS branches", test_avc_info_branches);
    CU_add_test(s, "SPS and record rejects", test_avc_info_rejects);
    CU_add_test(s, "SPS emulation prevention", test_avc_info_emulation);
    CU_add_test(s, "SPS VUI timing", test_sps_vui);
    CU_add_test(s, "SPS garbage", test_avc_info_garbage);
    CU_add_test(s, "AudioSpecificConfig: LC, HE-AAC, escapes, explicit rate",
                test_aac);
    CU_add_test(s, "HEVC SPS: size, format, depths, profile/tier/level",
                test_hevc_sps);
}

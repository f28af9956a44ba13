#include "media/flv_hevc.h"

#include <stdio.h>
#include <string.h>

#include "media/annexb.h"
#include "media/flv_av.h"
#include "rtmp/rd.h"

#define NAL_VPS 32
#define NAL_SPS 33
#define NAL_PPS 34
#define NAL_AUD 35

#define EX_HEADER 0x80
#define PKT_SEQUENCE_START 0
#define PKT_CODED_FRAMES 1
#define PKT_CODED_FRAMES_X 3
#define HDR_LEN 5 /* the first byte and the FourCC */

static const uint8_t hvc1[4] = {'h', 'v', 'c', '1'};

static int
nal_type(const uint8_t *nal)
{
    return (nal[0] >> 1) & 0x3f;
}

static void
put_header(struct sl_wr *w, int keyframe, uint8_t packet_type)
{
    sl_wr_u8(w, EX_HEADER | (keyframe ? 0x10 : 0x20) | packet_type);
    sl_wr_bytes(w, hvc1, sizeof(hvc1));
}

struct sl_buf *
sl_media_hevc_seq_body(const uint8_t *annexb, size_t len,
                       struct sl_hevc_info *info)
{
    static const int    types[3] = {NAL_VPS, NAL_SPS, NAL_PPS};
    const uint8_t      *sets[3] = {NULL, NULL, NULL}, *nal;
    size_t              lens[3] = {0, 0, 0}, nal_len, size;
    struct sl_hevc_info sps;
    struct sl_annexb    a;
    struct sl_buf      *b;
    struct sl_wr        w;

    sl_annexb_init(&a, annexb, len);
    while (sl_annexb_next(&a, &nal, &nal_len)) {
        for (int i = 0; i < 3; i++)
            if (nal_len >= 2 && nal_type(nal) == types[i] && sets[i] == NULL) {
                sets[i] = nal;
                lens[i] = nal_len;
            }
    }
    if (sets[0] == NULL || sets[1] == NULL || sets[2] == NULL ||
        lens[0] > UINT16_MAX || lens[1] > UINT16_MAX || lens[2] > UINT16_MAX ||
        sl_hevc_parse_sps(sets[1], lens[1], &sps) < 0)
        return NULL;
    if (info != NULL)
        *info = sps;
    size = HDR_LEN + 23 + 3 * 5 + lens[0] + lens[1] + lens[2];
    b = sl_buf_new(size);
    if (b == NULL)
        return NULL;
    sl_wr_init(&w, b->data, b->cap);
    put_header(&w, 1, PKT_SEQUENCE_START);
    sl_wr_u8(&w, 1);              /* configurationVersion */
    sl_wr_bytes(&w, sps.ptl, 12); /* profile .. level, as the SPS has */
    sl_wr_u16(&w, 0xf000);        /* min_spatial_segmentation_idc 0 */
    sl_wr_u8(&w, 0xfc);           /* parallelismType 0: unknown */
    sl_wr_u8(&w, (uint8_t) (0xfc | sps.chroma_format));
    sl_wr_u8(&w, (uint8_t) (0xf8 | (sps.bit_depth_luma - 8)));
    sl_wr_u8(&w, (uint8_t) (0xf8 | (sps.bit_depth_chroma - 8)));
    sl_wr_u16(&w, 0); /* avgFrameRate: unknown */
    /* constantFrameRate 0, numTemporalLayers, temporalIdNested,
     * lengthSizeMinusOne 3. */
    sl_wr_u8(&w, (uint8_t) ((sps.max_sub_layers & 7) << 3 |
                            (sps.temporal_id_nesting & 1) << 2 | 3));
    sl_wr_u8(&w, 3); /* numOfArrays */
    for (int i = 0; i < 3; i++) {
        sl_wr_u8(&w, (uint8_t) (0x80 | types[i])); /* array_completeness */
        sl_wr_u16(&w, 1);
        sl_wr_u16(&w, (uint16_t) lens[i]);
        sl_wr_bytes(&w, sets[i], lens[i]);
    }
    return sl_media_body_done(b, &w);
}

static int
keep_nal(const uint8_t *nal, size_t len)
{
    int t = len >= 2 ? nal_type(nal) : -1;

    return t >= 0 && t != NAL_VPS && t != NAL_SPS && t != NAL_PPS &&
           t != NAL_AUD;
}

struct sl_buf *
sl_media_hevc_frame_body(const uint8_t *annexb, size_t len, int keyframe,
                         int32_t cts_ms)
{
    struct sl_annexb a;
    const uint8_t   *nal;
    size_t           nal_len, size = HDR_LEN + 3;
    struct sl_buf   *b;
    struct sl_wr     w;

    if (annexb == NULL || cts_ms < -0x800000 || cts_ms > 0x7fffff)
        return NULL;
    /* Two passes: size the buffer, then fill it. */
    sl_annexb_init(&a, annexb, len);
    while (sl_annexb_next(&a, &nal, &nal_len))
        if (keep_nal(nal, nal_len))
            size += 4 + nal_len;
    if (size == HDR_LEN + 3)
        return NULL;
    b = sl_buf_new(size);
    if (b == NULL)
        return NULL;
    sl_wr_init(&w, b->data, b->cap);
    put_header(&w, keyframe, PKT_CODED_FRAMES);
    sl_wr_u24(&w, (uint32_t) cts_ms & 0xffffff);
    sl_annexb_init(&a, annexb, len);
    while (sl_annexb_next(&a, &nal, &nal_len))
        if (keep_nal(nal, nal_len)) {
            sl_wr_u32(&w, (uint32_t) nal_len);
            sl_wr_bytes(&w, nal, nal_len);
        }
    return sl_media_body_done(b, &w);
}

int
sl_media_parse_hevc(const uint8_t *body, size_t len, struct sl_media_hevc *out)
{
    uint8_t b0, packet_type;

    memset(out, 0, sizeof(*out));
    if (len < HDR_LEN || !(body[0] & EX_HEADER) ||
        memcmp(body + 1, hvc1, sizeof(hvc1)) != 0)
        return -1;
    b0 = body[0];
    packet_type = b0 & 0x0f;
    out->keyframe = ((b0 >> 4) & 7) == 1;
    out->data = body + HDR_LEN;
    out->len = len - HDR_LEN;
    if (packet_type == PKT_SEQUENCE_START) {
        out->seq_header = 1;
        out->keyframe = 0;
        return 0;
    }
    if (packet_type == PKT_CODED_FRAMES_X)
        return 0;
    if (packet_type != PKT_CODED_FRAMES || out->len < 3) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    {
        uint32_t cts =
            (uint32_t) body[5] << 16 | (uint32_t) body[6] << 8 | body[7];

        out->cts = cts & 0x800000 ? (int32_t) cts - 0x1000000 : (int32_t) cts;
    }
    out->data += 3;
    out->len -= 3;
    return 0;
}

int
sl_media_hvcc_sps(const uint8_t *hvcc, size_t len, const uint8_t **sps,
                  size_t *sps_len)
{
    struct sl_rd r;
    uint8_t      arrays;

    sl_rd_init(&r, hvcc, len);
    (void) sl_rd_bytes(&r, 22); /* version .. lengthSizeMinusOne */
    arrays = sl_rd_u8(&r);
    for (unsigned a = 0; a < arrays && !r.err; a++) {
        uint8_t  type = sl_rd_u8(&r) & 0x3f;
        uint16_t n = sl_rd_u16(&r);

        for (unsigned i = 0; i < n && !r.err; i++) {
            uint16_t       nal_len = sl_rd_u16(&r);
            const uint8_t *nal = sl_rd_bytes(&r, nal_len);

            if (nal != NULL && type == NAL_SPS) {
                *sps = nal;
                *sps_len = nal_len;
                return 0;
            }
        }
    }
    return -1;
}

void
sl_media_hevc_codecs(const struct sl_hevc_info *i, char *out, size_t cap)
{
    static const char *space[4] = {"", "A", "B", "C"};
    uint32_t           compat = 0, rev = 0;
    int                last = 11; /* past the last non-zero byte */
    size_t             n;

    /* The compatibility flags, bit 0 first (reversed), in hex. */
    for (int b = 1; b <= 4; b++)
        compat = compat << 8 | i->ptl[b];
    for (int b = 0; b < 32; b++)
        rev |= ((compat >> b) & 1u) << (31 - b);
    n = (size_t) snprintf(out, cap, "hvc1.%s%d.%X.%c%d", space[i->ptl[0] >> 6],
                          i->ptl[0] & 0x1f, rev, (i->ptl[0] & 0x20) ? 'H' : 'L',
                          i->ptl[11]);
    /* The constraint bytes, trailing zero bytes left out. */
    for (int b = 10; b >= 5 && i->ptl[b] == 0; b--)
        last = b;
    for (int b = 5; b < last && b <= 10 && n < cap; b++)
        n += (size_t) snprintf(out + n, cap - n, ".%X", i->ptl[b]);
}

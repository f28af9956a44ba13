/*
 * FLV <-> libav glue tests: tag body parsing (every field, short and
 * enhanced bodies), the AVC builders from Annex B
 * and from AVCC checked byte by byte, AAC and metadata bodies (metadata
 * read back with the AMF decoder), time base rounding and the 32-bit
 * timestamp wrap, and the shared SPS reader (sl_avc_parse_config in
 * rtmp/codec.h, tested on its own in test_codec.c) on the records
 * libx264 makes here at several sizes, profiles and chroma formats.
 * Every parser and builder is also fed each prefix of real inputs
 * placed right before an unreadable page, so an over-read faults.
 */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/opt.h>

#include "media/flv_av.h"
#include "media/flv_hevc.h"
#include "media/ts_out.h"
#include "rtmp/amf.h"
#include "rtmp/codec.h"
#include "rtmp/rtmp.h"

/* A byte string literal without its terminating NUL. */
#define LIT(s) (const uint8_t *) (s), sizeof(s) - 1

/* A Main-profile-looking SPS (profile 0x4d, compat 0x40, level 0x1f),
 * a PPS, an SEI and an IDR / non-IDR slice, without start codes. */
#define SPS "\x67\x4d\x40\x1f\xe8\x80\x28\x02\xdd\x80"
#define PPS "\x68\xee\x3c\x80"
#define SEI "\x06\x05\x02\xaa\xbb\x80"
#define IDR "\x65\x88\x84\x00\x21\xff"
#define SLICE "\x41\x9a\x02\x04"
#define AUD "\x09\xf0"
#define SC4 "\x00\x00\x00\x01"
#define SC3 "\x00\x00\x01"

static int
bytes_eq(const struct sl_buf *b, const uint8_t *p, size_t len)
{
    return b != NULL && b->len == len && memcmp(b->data, p, len) == 0;
}

static void
test_parse_video(void)
{
    struct sl_media_video v;
    const uint8_t         seq[] = {0x17, 0x00, 0, 0, 0, 0x01, 0x4d, 0x40};
    const uint8_t key[] = {0x17, 0x01, 0x00, 0x00, 0x28, 0, 0, 0, 1, 0x65};
    const uint8_t inter[] = {0x27, 0x01, 0xff, 0xff, 0xd8, 0x41};
    const uint8_t eos[] = {0x17, 0x02, 0, 0, 0};
    const uint8_t min24[] = {0x27, 0x01, 0x80, 0x00, 0x00};
    const uint8_t max24[] = {0x27, 0x01, 0x7f, 0xff, 0xff};
    const uint8_t h263[] = {0x22, 0xab};

    CU_ASSERT_EQUAL(sl_media_parse_video(seq, sizeof(seq), &v), 0);
    CU_ASSERT(v.codec == 7 && v.keyframe && v.seq_header && !v.seq_end);
    CU_ASSERT_EQUAL(v.cts, 0);
    CU_ASSERT(v.data == seq + 5 && v.len == 3);

    CU_ASSERT_EQUAL(sl_media_parse_video(key, sizeof(key), &v), 0);
    CU_ASSERT(v.codec == 7 && v.keyframe && !v.seq_header && !v.seq_end);
    CU_ASSERT_EQUAL(v.cts, 40);
    CU_ASSERT(v.data == key + 5 && v.len == 5);

    CU_ASSERT_EQUAL(sl_media_parse_video(inter, sizeof(inter), &v), 0);
    CU_ASSERT(v.codec == 7 && !v.keyframe && !v.seq_header);
    CU_ASSERT_EQUAL(v.cts, -40);
    CU_ASSERT(v.data == inter + 5 && v.len == 1);

    CU_ASSERT_EQUAL(sl_media_parse_video(eos, sizeof(eos), &v), 0);
    CU_ASSERT(v.seq_end && !v.seq_header && v.len == 0);

    CU_ASSERT_EQUAL(sl_media_parse_video(min24, sizeof(min24), &v), 0);
    CU_ASSERT_EQUAL(v.cts, -8388608);
    CU_ASSERT_EQUAL(sl_media_parse_video(max24, sizeof(max24), &v), 0);
    CU_ASSERT_EQUAL(v.cts, 8388607);

    /* Other classic codecs: data after the first byte. */
    CU_ASSERT_EQUAL(sl_media_parse_video(h263, sizeof(h263), &v), 0);
    CU_ASSERT(v.codec == 2 && !v.keyframe && v.data == h263 + 1 && v.len == 1);
}

static void
test_parse_video_short_and_enhanced(void)
{
    struct sl_media_video v;
    const uint8_t         avc4[] = {0x17, 0x01, 0x00, 0x00};
    const uint8_t         avc1[] = {0x17};
    /* Enhanced RTMP: bit 7, frame type 1, packet type 1, "hvc1". */
    const uint8_t ex[] = {0x91, 'h', 'v', 'c', '1', 0, 0, 0, 1};
    const uint8_t ex1[] = {0x97};

    CU_ASSERT_EQUAL(sl_media_parse_video(NULL, 0, &v), -1);
    CU_ASSERT_EQUAL(sl_media_parse_video(avc1, 0, &v), -1);
    CU_ASSERT_EQUAL(sl_media_parse_video(avc1, sizeof(avc1), &v), -1);
    CU_ASSERT_EQUAL(sl_media_parse_video(avc4, sizeof(avc4), &v), -1);
    CU_ASSERT(v.codec == 0 && v.len == 0);

    /* 0x97 would be AVC in the low nibble; bit 7 makes it enhanced. */
    CU_ASSERT_EQUAL(sl_media_parse_video(ex, sizeof(ex), &v), 0);
    CU_ASSERT_EQUAL(v.codec, 0);
    CU_ASSERT(!v.seq_header && !v.seq_end);
    CU_ASSERT_EQUAL(sl_media_parse_video(ex1, sizeof(ex1), &v), 0);
    CU_ASSERT_EQUAL(v.codec, 0);
}

static void
test_parse_audio(void)
{
    struct sl_media_audio a;
    const uint8_t         seq[] = {0xaf, 0x00, 0x12, 0x10};
    const uint8_t         raw[] = {0xaf, 0x01, 0x21, 0x10, 0x04};
    const uint8_t         bare[] = {0xaf, 0x01};
    const uint8_t         mp3[] = {0x2f, 0xff, 0xfb};

    CU_ASSERT_EQUAL(sl_media_parse_audio(seq, sizeof(seq), &a), 0);
    CU_ASSERT(a.format == 10 && a.seq_header);
    CU_ASSERT(a.data == seq + 2 && a.len == 2);

    CU_ASSERT_EQUAL(sl_media_parse_audio(raw, sizeof(raw), &a), 0);
    CU_ASSERT(a.format == 10 && !a.seq_header);
    CU_ASSERT(a.data == raw + 2 && a.len == 3);

    CU_ASSERT_EQUAL(sl_media_parse_audio(bare, sizeof(bare), &a), 0);
    CU_ASSERT(a.format == 10 && a.len == 0);

    CU_ASSERT_EQUAL(sl_media_parse_audio(mp3, sizeof(mp3), &a), 0);
    CU_ASSERT(a.format == 2 && !a.seq_header && a.data == mp3 + 1 &&
              a.len == 2);

    CU_ASSERT_EQUAL(sl_media_parse_audio(NULL, 0, &a), -1);
    CU_ASSERT_EQUAL(sl_media_parse_audio(seq, 1, &a), -1);
    CU_ASSERT(a.format == 0 && a.len == 0);
    CU_ASSERT_EQUAL(sl_media_parse_audio(mp3, 1, &a), 0);
    CU_ASSERT(a.format == 2 && a.len == 0);
}

/* The sequence header body SPS and PPS above must give. */
static const uint8_t seq_want[] = {
    0x17, 0x00, 0x00, 0x00, 0x00, /* key, sequence header, cts 0 */
    0x01, 0x4d, 0x40, 0x1f,       /* version, profile, compat, level */
    0xff, 0xe1,                   /* 4-byte lengths, one SPS */
    0x00, 0x0a,                   /* SPS length */
    0x67, 0x4d, 0x40, 0x1f, 0xe8, 0x80, 0x28, 0x02, 0xdd, 0x80, /* SPS */
    0x01, 0x00, 0x04, /* one PPS, its length */
    0x68, 0xee, 0x3c, 0x80};

static void
check_seq(const uint8_t *p, size_t len)
{
    struct sl_buf *b = sl_media_avc_seq_body(p, len);

    CU_ASSERT_PTR_NOT_NULL(b);
    if (b != NULL) {
        CU_ASSERT_EQUAL(b->len, sizeof(seq_want));
        for (size_t i = 0; i < b->len && i < sizeof(seq_want); i++) {
            if (b->data[i] != seq_want[i])
                CU_FAIL("avcC byte differs");
        }
    }
    sl_buf_unref(b);
}

static void
test_avc_seq_body(void)
{
    long before = sl_buf_live_count();
    /* The same avcC as seq_want's, with High profile style trailing
     * bytes an encoder may add. */
    const uint8_t  avcc[] = {0x01, 0x4d, 0x40, 0x1f, 0xff, 0xe1, 0x00, 0x0a,
                             0x67, 0x4d, 0x40, 0x1f, 0xe8, 0x80, 0x28, 0x02,
                             0xdd, 0x80, 0x01, 0x00, 0x04, 0x68, 0xee, 0x3c,
                             0x80, 0xfd, 0xf8, 0xf8, 0x00};
    struct sl_buf *b;

    check_seq(LIT(SC4 SPS SC4 PPS));
    check_seq(LIT(SC3 SPS SC3 PPS));
    /* Zero bytes before a start code belong to no unit; other units,
     * repeats and leading garbage are skipped. */
    check_seq(LIT("\x00\xff" SC3 AUD "\x00\x00" SC4 SPS
                  "\x00\x00\x00" SC3 SEI SC4 PPS "\x00" SC3 "\x68\x11" SC4
                  "\x67\x00\x00\x00"));
    check_seq(LIT(SC4 PPS SC3 SPS "\x00\x00"));

    b = sl_media_avc_seq_body(avcc, sizeof(avcc));
    CU_ASSERT_PTR_NOT_NULL(b);
    if (b != NULL) {
        CU_ASSERT_EQUAL(b->len, 5 + sizeof(avcc));
        CU_ASSERT(memcmp(b->data, "\x17\x00\x00\x00\x00", 5) == 0);
        CU_ASSERT(memcmp(b->data + 5, avcc, sizeof(avcc)) == 0);
    }
    sl_buf_unref(b);

    CU_ASSERT_PTR_NULL(sl_media_avc_seq_body(NULL, 0));
    CU_ASSERT_PTR_NULL(sl_media_avc_seq_body(LIT(SC4 SPS)));
    CU_ASSERT_PTR_NULL(sl_media_avc_seq_body(LIT(SC4 PPS SC4 IDR)));
    CU_ASSERT_PTR_NULL(sl_media_avc_seq_body(LIT(SPS PPS)));
    /* An SPS too short to hold profile, compatibility and level. */
    CU_ASSERT_PTR_NULL(sl_media_avc_seq_body(LIT(SC4 "\x67\x4d\x40" SC4 PPS)));
    /* avcC records that lie about their contents. */
    CU_ASSERT_PTR_NULL(sl_media_avc_seq_body(avcc, 20));
    CU_ASSERT_PTR_NULL(sl_media_avc_seq_body(avcc, 6));
    CU_ASSERT_PTR_NULL(
        sl_media_avc_seq_body(LIT("\x01\x4d\x40\x1f\xff\xe0\x01\x00\x01\x68")));
    CU_ASSERT_PTR_NULL(sl_media_avc_seq_body(
        LIT("\x01\x4d\x40\x1f\xff\xe1\x00\x02\x67\x4d\x00")));
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_avc_frame_body(void)
{
    long before = sl_buf_live_count();
    /* What libx264 gives for an IDR with repeat headers: AUD, SPS, PPS,
     * SEI, slice; and an inter frame with 3-byte start codes. */
    const uint8_t key_want[] = {
        0x17, 0x01, 0xff, 0xff, 0xd8, /* key, NALUs, cts -40 */
        0x00, 0x00, 0x00, 0x06, 0x06, 0x05, 0x02, 0xaa, 0xbb, 0x80,
        0x00, 0x00, 0x00, 0x06, 0x65, 0x88, 0x84, 0x00, 0x21, 0xff};
    const uint8_t inter_want[] = {
        0x27, 0x01, 0x00, 0x00, 0x50, /* inter, NALUs, cts 80 */
        0x00, 0x00, 0x00, 0x04, 0x41, 0x9a, 0x02, 0x04,
        0x00, 0x00, 0x00, 0x04, 0x41, 0x9a, 0x02, 0x04};
    const uint8_t avcc[] = {0x00, 0x00, 0x00, 0x04, 0x41, 0x9a, 0x02,
                            0x04, 0x00, 0x00, 0x00, 0x02, 0x09, 0xf0};
    /* AVCC whose first unit is 300 bytes: it starts 00 00 01 2c. */
    uint8_t        big[4 + 300];
    struct sl_buf *b;

    b = sl_media_avc_frame_body(
        LIT(SC4 AUD SC4 SPS SC4 PPS SC3 SEI "\x00" SC4 IDR "\x00\x00"), 1, -40);
    CU_ASSERT(bytes_eq(b, key_want, sizeof(key_want)));
    sl_buf_unref(b);

    b = sl_media_avc_frame_body(LIT(SC3 SLICE SC3 AUD SC3 SLICE), 0, 80);
    CU_ASSERT(bytes_eq(b, inter_want, sizeof(inter_want)));
    sl_buf_unref(b);

    /* Already length-prefixed: copied as it is, AUD and all. */
    b = sl_media_avc_frame_body(avcc, sizeof(avcc), 0, 0x123456);
    CU_ASSERT_PTR_NOT_NULL(b);
    if (b != NULL) {
        CU_ASSERT_EQUAL(b->len, 5 + sizeof(avcc));
        CU_ASSERT(memcmp(b->data, "\x27\x01\x12\x34\x56", 5) == 0);
        CU_ASSERT(memcmp(b->data + 5, avcc, sizeof(avcc)) == 0);
    }
    sl_buf_unref(b);

    memset(big, 0xa5, sizeof(big));
    memcpy(big, "\x00\x00\x01\x2c\x41", 5);
    b = sl_media_avc_frame_body(big, sizeof(big), 1, 0);
    CU_ASSERT_PTR_NOT_NULL(b);
    if (b != NULL) {
        CU_ASSERT_EQUAL(b->len, 5 + sizeof(big));
        CU_ASSERT(memcmp(b->data, "\x17\x01\x00\x00\x00", 5) == 0);
        CU_ASSERT(memcmp(b->data + 5, big, sizeof(big)) == 0);
    }
    sl_buf_unref(b);

    /* Nothing left once delimiters and parameter sets are dropped. */
    CU_ASSERT_PTR_NULL(sl_media_avc_frame_body(LIT(SC4 AUD), 1, 0));
    CU_ASSERT_PTR_NULL(
        sl_media_avc_frame_body(LIT(SC4 AUD SC4 SPS SC3 PPS "\x00"), 1, 0));
    CU_ASSERT_PTR_NULL(sl_media_avc_frame_body(LIT(SC4 "\x00\x00" SC3), 1, 0));
    CU_ASSERT_PTR_NULL(sl_media_avc_frame_body(NULL, 0, 1, 0));
    /* A composition offset 24 bits cannot hold. */
    CU_ASSERT_PTR_NULL(sl_media_avc_frame_body(LIT(SC4 IDR), 1, 0x800000));
    CU_ASSERT_PTR_NULL(sl_media_avc_frame_body(LIT(SC4 IDR), 1, -0x800001));
    b = sl_media_avc_frame_body(LIT(SC4 IDR), 1, -0x800000);
    CU_ASSERT(b != NULL && memcmp(b->data, "\x17\x01\x80\x00\x00", 5) == 0);
    sl_buf_unref(b);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_eos_and_aac_bodies(void)
{
    long           before = sl_buf_live_count();
    const uint8_t  asc[] = {0x12, 0x10};
    const uint8_t  raw[] = {0x21, 0x10, 0x04, 0x60};
    struct sl_buf *b;

    b = sl_media_avc_eos_body();
    CU_ASSERT(bytes_eq(b, LIT("\x17\x02\x00\x00\x00")));
    sl_buf_unref(b);

    b = sl_media_aac_seq_body(asc, sizeof(asc));
    CU_ASSERT(bytes_eq(b, LIT("\xaf\x00\x12\x10")));
    sl_buf_unref(b);
    b = sl_media_aac_frame_body(raw, sizeof(raw));
    CU_ASSERT(bytes_eq(b, LIT("\xaf\x01\x21\x10\x04\x60")));
    sl_buf_unref(b);

    CU_ASSERT_PTR_NULL(sl_media_aac_seq_body(asc, 1));
    CU_ASSERT_PTR_NULL(sl_media_aac_seq_body(NULL, 0));
    CU_ASSERT_PTR_NULL(sl_media_aac_frame_body(raw, 0));
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

/* Decodes a metadata body into doc; the ECMA array, or NULL. */
static const struct sl_amf_node *
decode_meta(struct sl_amf_doc *doc, struct sl_amf_node *nodes, uint32_t cap,
            const struct sl_buf *b)
{
    const struct sl_amf_node *arr;

    sl_amf_doc_init(doc, nodes, cap);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_FATAL(sl_amf_decode(doc, b->data, b->len) == 0);
    CU_ASSERT_EQUAL(doc->count, 2);
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(doc, 0), "onMetaData"));
    arr = sl_amf_at(doc, 1);
    CU_ASSERT_FATAL(arr != NULL);
    CU_ASSERT_EQUAL(arr->type, SL_AMF_ECMA_ARRAY);
    /* The array's count hint (after "onMetaData" and its marker) is
     * the real number of fields. */
    CU_ASSERT_EQUAL((uint32_t) b->data[14] << 24 |
                        (uint32_t) b->data[15] << 16 |
                        (uint32_t) b->data[16] << 8 | b->data[17],
                    arr->count);
    return arr;
}

static int
num_is(const struct sl_amf_doc *doc, const struct sl_amf_node *arr,
       const char *key, double v)
{
    const struct sl_amf_node *n = sl_amf_prop(doc, arr, key);

    return n != NULL && n->type == SL_AMF_NUMBER && n->num == v;
}

static void
test_metadata_body(void)
{
    long                      before = sl_buf_live_count();
    struct sl_amf_node        nodes[64];
    struct sl_amf_doc         doc;
    const struct sl_amf_node *arr, *n;
    struct sl_media_meta      full = {1280,  720, 29.97, 2500,
                                      48000, 2,   128,   "sluice 0.1.0"};
    struct sl_media_meta      video = {640, 360, 0, 0, 0, 0, 0, NULL};
    struct sl_media_meta      audio = {0, 0, 0, 0, 44100, 1, 0, NULL};
    struct sl_media_meta      none = {0, 0, 0, 0, 0, 0, 0, NULL};
    struct sl_buf            *b;

    b = sl_media_metadata_body(&full);
    arr = decode_meta(&doc, nodes, 64, b);
    CU_ASSERT_EQUAL(arr->count, 11);
    CU_ASSERT(num_is(&doc, arr, "width", 1280));
    CU_ASSERT(num_is(&doc, arr, "height", 720));
    CU_ASSERT(num_is(&doc, arr, "framerate", 29.97));
    CU_ASSERT(num_is(&doc, arr, "videodatarate", 2500));
    CU_ASSERT(num_is(&doc, arr, "videocodecid", 7));
    CU_ASSERT(num_is(&doc, arr, "audiodatarate", 128));
    CU_ASSERT(num_is(&doc, arr, "audiosamplerate", 48000));
    CU_ASSERT(num_is(&doc, arr, "audiosamplesize", 16));
    CU_ASSERT(num_is(&doc, arr, "audiocodecid", 10));
    n = sl_amf_prop(&doc, arr, "stereo");
    CU_ASSERT(n != NULL && n->type == SL_AMF_BOOLEAN && n->boolean == 1);
    CU_ASSERT(sl_amf_str_eq(sl_amf_prop(&doc, arr, "encoder"), "sluice 0.1.0"));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, arr, "duration"));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, arr, "filesize"));
    sl_buf_unref(b);

    /* Video only, no rates: zero fields and all audio fields left out. */
    b = sl_media_metadata_body(&video);
    arr = decode_meta(&doc, nodes, 64, b);
    CU_ASSERT_EQUAL(arr->count, 3);
    CU_ASSERT(num_is(&doc, arr, "width", 640));
    CU_ASSERT(num_is(&doc, arr, "height", 360));
    CU_ASSERT(num_is(&doc, arr, "videocodecid", 7));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, arr, "framerate"));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, arr, "videodatarate"));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, arr, "audiocodecid"));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, arr, "encoder"));
    sl_buf_unref(b);

    /* Audio only, mono. */
    b = sl_media_metadata_body(&audio);
    arr = decode_meta(&doc, nodes, 64, b);
    CU_ASSERT_EQUAL(arr->count, 4);
    CU_ASSERT(num_is(&doc, arr, "audiosamplerate", 44100));
    CU_ASSERT(num_is(&doc, arr, "audiocodecid", 10));
    n = sl_amf_prop(&doc, arr, "stereo");
    CU_ASSERT(n != NULL && n->type == SL_AMF_BOOLEAN && n->boolean == 0);
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, arr, "width"));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, arr, "videocodecid"));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, arr, "audiodatarate"));
    sl_buf_unref(b);

    b = sl_media_metadata_body(&none);
    arr = decode_meta(&doc, nodes, 64, b);
    CU_ASSERT_EQUAL(arr->count, 0);
    sl_buf_unref(b);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_time_bases(void)
{
    const AVRational k90 = {1, 90000}, ms = {1, 1000}, k48 = {1, 48000};

    CU_ASSERT_EQUAL(sl_media_ms_to_tb(1000, k90), 90000);
    CU_ASSERT_EQUAL(sl_media_ms_to_tb(-33, k90), -2970);
    CU_ASSERT_EQUAL(sl_media_tb_to_ms(3003, k90), 33); /* 33.37 */
    CU_ASSERT_EQUAL(sl_media_tb_to_ms(3060, k90), 34); /* 34.0 */
    CU_ASSERT_EQUAL(sl_media_tb_to_ms(45, k90), 1);    /* 0.5: away */
    CU_ASSERT_EQUAL(sl_media_tb_to_ms(44, k90), 0);
    CU_ASSERT_EQUAL(sl_media_tb_to_ms(-45, k90), -1);

    CU_ASSERT_EQUAL(sl_media_ms_to_tb(123456789, ms), 123456789);
    CU_ASSERT_EQUAL(sl_media_tb_to_ms(-7, ms), -7);

    CU_ASSERT_EQUAL(sl_media_tb_to_ms(1024, k48), 21); /* 21.33 */
    CU_ASSERT_EQUAL(sl_media_tb_to_ms(2048, k48), 43); /* 42.67 */
    CU_ASSERT_EQUAL(sl_media_tb_to_ms(24, k48), 1);    /* 0.5 */
    CU_ASSERT_EQUAL(sl_media_ms_to_tb(21, k48), 1008);

    /* "No timestamp" passes through unchanged. */
    CU_ASSERT_EQUAL(sl_media_ms_to_tb(AV_NOPTS_VALUE, k90), AV_NOPTS_VALUE);
    CU_ASSERT_EQUAL(sl_media_tb_to_ms(AV_NOPTS_VALUE, k48), AV_NOPTS_VALUE);
}

static void
test_ts_extend(void)
{
    const int64_t wrap = INT64_C(1) << 32;

    CU_ASSERT_EQUAL(sl_media_ts_extend(0, 100), 100);
    CU_ASSERT_EQUAL(sl_media_ts_extend(100, 40), 40);
    /* Forward across the wrap, then a slightly late one from before. */
    CU_ASSERT_EQUAL(sl_media_ts_extend(0xffffff00, 0x10), wrap + 0x10);
    CU_ASSERT_EQUAL(sl_media_ts_extend(wrap + 0x10, 0xfffffff0), wrap - 0x10);
    CU_ASSERT_EQUAL(sl_media_ts_extend(2 * wrap + 5, 7), 2 * wrap + 7);
    CU_ASSERT_EQUAL(sl_media_ts_extend(3 * wrap - 1, 0), 3 * wrap);
}

/* What libx264 is asked for and the profile_idc it must write. */
struct x264_case {
    int                width, height;
    enum AVPixelFormat pix_fmt;
    const char        *preset;
    const char        *profile; /* NULL: the preset's */
    int                interlaced;
    int                want_profile;
    int                optional; /* a libx264 build may refuse it */
};

/* Opens libx264 with global headers as transcode/ does and returns the
 * sequence header body built from its extradata, or NULL when the
 * encoder would not open. */
static struct sl_buf *
x264_seq_body(const struct x264_case *k)
{
    const AVCodec  *codec = avcodec_find_encoder_by_name("libx264");
    AVCodecContext *c;
    struct sl_buf  *b = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(codec);
    c = avcodec_alloc_context3(codec);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    c->width = k->width;
    c->height = k->height;
    c->pix_fmt = k->pix_fmt;
    c->time_base = (AVRational){1, 25};
    c->framerate = (AVRational){25, 1};
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (k->interlaced) {
        c->flags |= AV_CODEC_FLAG_INTERLACED_DCT;
        /* libx264 turns weighted prediction off for fields, noisily. */
        av_opt_set(c->priv_data, "weightp", "none", 0);
    }
    c->thread_count = 1;
    av_opt_set(c->priv_data, "preset", k->preset, 0);
    av_opt_set(c->priv_data, "tune", "zerolatency", 0);
    if (k->profile != NULL)
        av_opt_set(c->priv_data, "profile", k->profile, 0);
    if (avcodec_open2(c, codec, NULL) == 0)
        b = sl_media_avc_seq_body(c->extradata, (size_t) c->extradata_size);
    avcodec_free_context(&c);
    return b;
}

static void
test_avc_info_x264(void)
{
    static const struct x264_case cases[] = {
        /* 1088 coded lines cropped to 1080. */
        {1920, 1080, AV_PIX_FMT_YUV420P, "superfast", "high", 0, 100, 0},
        {1280, 720, AV_PIX_FMT_YUV420P, "superfast", "main", 0, 77, 0},
        /* 368 cropped to 360. */
        {640, 360, AV_PIX_FMT_YUV420P, "ultrafast", "baseline", 0, 66, 0},
        /* 864 cropped to 854 (5 chroma samples) and 480 exact. */
        {854, 480, AV_PIX_FMT_YUV420P, "superfast", "high", 0, 100, 0},
        /* ultrafast turns off CABAC and 8x8 transforms: Baseline. */
        {176, 144, AV_PIX_FMT_YUV420P, "ultrafast", NULL, 0, 66, 0},
        /* Field coding: 34 map units of two macroblock rows, cropped
         * 8 lines in units of 4. */
        {1920, 1080, AV_PIX_FMT_YUV420P, "superfast", "high", 1, 100, 0},
        {854, 480, AV_PIX_FMT_YUV422P, "superfast", "high422", 0, 122, 1},
        {854, 480, AV_PIX_FMT_YUV444P, "superfast", "high444", 0, 244, 1},
        {850, 478, AV_PIX_FMT_YUV444P, "superfast", "high444", 1, 244, 1},
        {1280, 720, AV_PIX_FMT_YUV420P10, "superfast", "high10", 0, 110, 1},
    };
    long before = sl_buf_live_count();

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct x264_case *k = &cases[i];
        struct sl_buf          *b = x264_seq_body(k);
        struct sl_media_video   v;
        struct sl_avc_info      info;

        if (b == NULL) {
            if (!k->optional) {
                CU_FAIL("libx264 did not open");
            } else {
                fprintf(stderr, "\n  libx264 refused %dx%d %s: skipped ",
                        k->width, k->height, k->profile);
            }
            continue;
        }
        CU_ASSERT_FATAL(sl_media_parse_video(b->data, b->len, &v) == 0);
        CU_ASSERT(v.seq_header);
        CU_ASSERT_EQUAL(sl_avc_parse_config(v.data, v.len, &info), 0);
        CU_ASSERT_EQUAL(info.width, k->width);
        CU_ASSERT_EQUAL(info.height, k->height);
        CU_ASSERT_EQUAL(info.profile, k->want_profile);
        /* The record copies profile and level from the SPS. */
        CU_ASSERT_EQUAL(info.profile, v.data[1]);
        CU_ASSERT_EQUAL(info.level, v.data[3]);
        CU_ASSERT(info.level >= 9 && info.level <= 62);
        if (info.width != k->width || info.height != k->height ||
            info.profile != k->want_profile)
            fprintf(stderr, "\n  %dx%d %s: got %dx%d profile %d ", k->width,
                    k->height, k->profile, info.width, info.height,
                    info.profile);
        /* Every truncation of the record, each copy exactly as long as
         * the cut (ASan sees an over-read): a failure or, having read
         * only bits that are still there, the same picture. */
        for (size_t cut = 0; cut < v.len; cut++) {
            uint8_t *p = malloc(cut ? cut : 1);

            memcpy(p, v.data, cut);
            if (sl_avc_parse_config(p, cut, &info) == 0) {
                CU_ASSERT(info.width == k->width && info.height == k->height);
            } else {
                CU_ASSERT(info.width == 0 && info.height == 0);
            }
            free(p);
        }
        sl_buf_unref(b);
    }
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

/* Every prefix of each input, ending right before an unreadable page,
 * through every parser and builder: an over-read faults. */
static void
test_no_overread(void)
{
    static const struct {
        const char *p;
        size_t      len;
    } in[] = {
#define IN(s) {s, sizeof(s) - 1}
        IN("\x17\x01\xff\xff\xd8"
           "\x00\x00\x00\x02\x65\x88"),
        IN("\xaf\x00\x12\x10"),
        IN("\xf9\x48\x40"),
        IN(SC4 AUD SC4 SPS SC4 PPS SC3 SEI "\x00" SC4 IDR "\x00\x00"),
        IN("\x01\x4d\x40\x1f\xff\xe1\x00\x0a" SPS "\x01\x00\x04" PPS),
        IN("\x00\x00\x00\x04\x41\x9a\x02\x04"),
#undef IN
    };
    long     page = sysconf(_SC_PAGESIZE);
    uint8_t *map = mmap(NULL, (size_t) page * 2, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *guard;
    long     before = sl_buf_live_count();

    CU_ASSERT_FATAL(map != MAP_FAILED);
    guard = map + page;
    CU_ASSERT_FATAL(mprotect(guard, (size_t) page, PROT_NONE) == 0);
    for (size_t c = 0; c < sizeof(in) / sizeof(in[0]); c++) {
        for (size_t cut = 0; cut <= in[c].len; cut++) {
            uint8_t              *p = guard - cut;
            struct sl_media_video v;
            struct sl_media_audio a;
            struct sl_aac_info    ac;
            struct sl_avc_info    ai;

            memcpy(p, in[c].p, cut);
            (void) sl_media_parse_video(p, cut, &v);
            (void) sl_media_parse_audio(p, cut, &a);
            (void) sl_aac_parse_asc(p, cut, &ac);
            (void) sl_avc_parse_config(p, cut, &ai);
            sl_buf_unref(sl_media_avc_seq_body(p, cut));
            sl_buf_unref(sl_media_avc_frame_body(p, cut, 1, 0));
            sl_buf_unref(sl_media_aac_seq_body(p, cut));
            sl_buf_unref(sl_media_aac_frame_body(p, cut));
        }
    }
    munmap(map, (size_t) page * 2);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

/* HEVC: libx265's parameter sets (320x240, 4:4:4, Range Extensions,
 * level 2) in Annex B, a frame behind them. */
static const uint8_t hevc_au[] = {
    0,    0,    0,    1,    0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x04, 0x08,
    0x00, 0x00, 0x03, 0x00, 0x9e, 0x08, 0x00, 0x00, 0x03, 0x00, 0x00, 0x3c,
    0x95, 0x98, 0x09, 0,    0,    0,    1,    0x42, 0x01, 0x01, 0x04, 0x08,
    0x00, 0x00, 0x03, 0x00, 0x9e, 0x08, 0x00, 0x00, 0x03, 0x00, 0x00, 0x3c,
    0x90, 0x01, 0x41, 0x01, 0xe2, 0xcb, 0x2b, 0x34, 0x92, 0x65, 0x78, 0x0b,
    0x70, 0x20, 0x20, 0x00, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00,
    0x06, 0x42, 0,    0,    0,    1,    0x44, 0x01, 0xc1, 0x72, 0x86, 0x0c,
    0x46, 0x24, 0,    0,    1,    0x26, 0x01, 0xaf, 0x11, 0x22, 0x33};

static void
test_hevc(void)
{
    struct sl_hevc_info  info;
    struct sl_media_hevc h;
    const uint8_t       *sps;
    size_t               sps_len;
    char                 codecs[64];
    struct sl_buf       *seq =
        sl_media_hevc_seq_body(hevc_au, sizeof(hevc_au), &info);
    struct sl_buf *frame =
        sl_media_hevc_frame_body(hevc_au, sizeof(hevc_au), 1, -40);

    CU_ASSERT_PTR_NOT_NULL_FATAL(seq);
    CU_ASSERT_PTR_NOT_NULL_FATAL(frame);
    CU_ASSERT_EQUAL(info.width, 320);
    /* Sequence start: ex-header, key, packet type 0, "hvc1", an hvcC
     * whose SPS parses again. */
    CU_ASSERT_EQUAL(seq->data[0], 0x90);
    CU_ASSERT_EQUAL(memcmp(seq->data + 1, "hvc1", 4), 0);
    CU_ASSERT_EQUAL(sl_media_parse_hevc(seq->data, seq->len, &h), 0);
    CU_ASSERT_TRUE(h.seq_header);
    CU_ASSERT_EQUAL(h.data[0], 1);  /* configurationVersion */
    CU_ASSERT_EQUAL(h.data[22], 3); /* VPS, SPS and PPS arrays */
    CU_ASSERT_EQUAL_FATAL(sl_media_hvcc_sps(h.data, h.len, &sps, &sps_len), 0);
    CU_ASSERT_EQUAL(sl_hevc_parse_sps(sps, sps_len, &info), 0);
    CU_ASSERT_EQUAL(info.height, 240);
    /* The frame: the slice alone, behind its length, the offset kept. */
    CU_ASSERT_EQUAL(sl_media_parse_hevc(frame->data, frame->len, &h), 0);
    CU_ASSERT_FALSE(h.seq_header);
    CU_ASSERT_TRUE(h.keyframe);
    CU_ASSERT_EQUAL(h.cts, -40);
    CU_ASSERT_EQUAL(h.len, 4 + 6);
    CU_ASSERT_EQUAL(h.data[3], 6);
    CU_ASSERT_EQUAL(h.data[4], 0x26);
    /* ISO 14496-15 E.3: profile 4, compatibility flag 4, level 60, the
     * constraint bytes without their trailing zeros. */
    sl_media_hevc_codecs(&info, codecs, sizeof(codecs));
    CU_ASSERT_STRING_EQUAL(codecs, "hvc1.4.10.L60.9E.8");
    /* Not hvc1: an AVC body, a truncated one. */
    CU_ASSERT_EQUAL(
        sl_media_parse_hevc((const uint8_t *) "\x17\x01\0\0\0", 5, &h), -1);
    CU_ASSERT_EQUAL(sl_media_parse_hevc(frame->data, 6, &h), -1);
    CU_ASSERT_PTR_NULL(sl_media_hevc_seq_body(hevc_au + 74, 20, NULL));
    sl_buf_unref(seq);
    sl_buf_unref(frame);
}

/* The stream types the PMTs in TS bytes list (ffmpeg's PMT is on PID
 * 0x1000), as a bit set over types 0..31. */
static unsigned
pmt_stream_types(const struct sl_buf *b)
{
    unsigned types = 0;

    for (size_t at = 0; b != NULL && at + 188 <= b->len; at += 188) {
        const uint8_t *p = b->data + at, *sec, *end;
        size_t         slen, info;

        if (p[0] != 0x47 || !(p[1] & 0x40) ||
            (((p[1] & 0x1f) << 8) | p[2]) != 0x1000 || !(p[3] & 0x10))
            continue;
        sec = p + 4 + (p[3] & 0x20 ? 1 + p[4] : 0); /* adaptation field */
        sec += 1 + sec[0];                          /* pointer field */
        if (sec + 12 > p + 188 || sec[0] != 0x02)
            continue;
        slen = (size_t) ((sec[1] & 0x0f) << 8 | sec[2]);
        info = (size_t) ((sec[10] & 0x0f) << 8 | sec[11]);
        end = sec + 3 + slen - 4; /* before the CRC */
        if (end > p + 188)
            continue;
        for (const uint8_t *e = sec + 12 + info; e + 5 <= end;
             e += 5 + ((e[3] & 0x0f) << 8 | e[4]))
            if (e[0] < 32)
                types |= 1u << e[0];
    }
    return types;
}

/* ts_out: an audio header that comes after the muxer started with the
 * video alone (an SRT publisher's order) restarts it with both: the PMT
 * at the next keyframe lists AAC (0x0f) beside H.264 (0x1b). */
static void
test_ts_out_late_audio(void)
{
    long              before = sl_buf_live_count();
    struct sl_ts_out *o = sl_ts_out_new();
    const uint8_t     key[] = "\x17\x01\x00\x00\x00"
                              "\x00\x00\x00\x06" IDR;
    const uint8_t     aseq[] = {0xaf, 0x00, 0x12, 0x10};
    const uint8_t     aac[] = {0xaf, 0x01, 0x21, 0x10, 0x04, 0x60};
    struct sl_buf    *b;
    int               k = 0;
    unsigned          types;

    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_PTR_NULL(
        sl_ts_out_body(o, SL_MSG_VIDEO, 0, seq_want, sizeof(seq_want), &k));
    b = sl_ts_out_body(o, SL_MSG_VIDEO, 0, key, sizeof(key) - 1, &k);
    CU_ASSERT_PTR_NOT_NULL(b);
    CU_ASSERT_EQUAL(k, 1);
    types = pmt_stream_types(b);
    CU_ASSERT(types == 1u << 0x1b);
    sl_buf_unref(b);

    /* The audio header, a frame, the next keyframe. */
    CU_ASSERT_PTR_NULL(
        sl_ts_out_body(o, SL_MSG_AUDIO, 10, aseq, sizeof(aseq), &k));
    sl_buf_unref(sl_ts_out_body(o, SL_MSG_AUDIO, 10, aac, sizeof(aac), &k));
    b = sl_ts_out_body(o, SL_MSG_VIDEO, 1000, key, sizeof(key) - 1, &k);
    CU_ASSERT_PTR_NOT_NULL(b);
    types = pmt_stream_types(b);
    CU_ASSERT(types == (1u << 0x1b | 1u << 0x0f));
    if (types != (1u << 0x1b | 1u << 0x0f))
        fprintf(stderr, "  PMT stream types after the audio header: %#x\n",
                types);
    sl_buf_unref(b);
    sl_ts_out_free(o);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

void
sl_test_suite_media(void)
{
    CU_pSuite s = CU_add_suite("media", NULL, NULL);

    CU_add_test(s, "parse video", test_parse_video);
    CU_add_test(s, "parse video short and enhanced",
                test_parse_video_short_and_enhanced);
    CU_add_test(s, "parse audio", test_parse_audio);
    CU_add_test(s, "avc seq body", test_avc_seq_body);
    CU_add_test(s, "avc frame body", test_avc_frame_body);
    CU_add_test(s, "eos and aac bodies", test_eos_and_aac_bodies);
    CU_add_test(s, "metadata body", test_metadata_body);
    CU_add_test(s, "time bases", test_time_bases);
    CU_add_test(s, "ts extend", test_ts_extend);
    CU_add_test(s, "avc info from libx264", test_avc_info_x264);
    CU_add_test(s, "no over-read", test_no_overread);
    CU_add_test(s, "HEVC: hvc1 sequence start and frames, codecs", test_hevc);
    CU_add_test(s, "ts_out: an audio header after the first frame",
                test_ts_out_late_audio);
}

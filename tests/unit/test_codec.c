/*
 * The SPS and AudioSpecificConfig readers: real encoder output (x264
 * baseline with cropping, x264 high profile), hand-made AAC configs,
 * and every truncation of each input (which must fail cleanly or
 * succeed, never read past the end: run under ASan).
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/codec.h"

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
    CU_ASSERT_FATAL(sl_avc_parse_config(rec, n, &i) == 0);
    CU_ASSERT(i.width == 1280 && i.height == 720);

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

static void
test_aac(void)
{
    struct sl_aac_info a;
    /* LC, 44100 (index 4), mono. */
    const uint8_t lc44[] = {0x12, 0x08};
    /* LC, 48000 (index 3), stereo. */
    const uint8_t lc48[] = {0x11, 0x90};
    /* HE-AAC: SBR (5), core 24000 (6), stereo, extension 48000 (3). */
    const uint8_t he[] = {0x2b, 0x11, 0x80};
    /* Explicit rate (index 15): 7350 * 2 = 14700 Hz, LC, mono. */
    const uint8_t expl[] = {0x17, 0x80, 0x1c, 0xb6, 0x08};

    CU_ASSERT_FATAL(sl_aac_parse_asc(lc44, sizeof(lc44), &a) == 0);
    CU_ASSERT(a.object_type == 2 && a.sample_rate == 44100 && a.channels == 1);
    CU_ASSERT_FATAL(sl_aac_parse_asc(lc48, sizeof(lc48), &a) == 0);
    CU_ASSERT(a.sample_rate == 48000 && a.channels == 2);
    CU_ASSERT_FATAL(sl_aac_parse_asc(he, sizeof(he), &a) == 0);
    CU_ASSERT(a.object_type == 5 && a.sample_rate == 48000);
    CU_ASSERT_FATAL(sl_aac_parse_asc(expl, sizeof(expl), &a) == 0);
    CU_ASSERT_EQUAL(a.sample_rate, 14700);
    CU_ASSERT(sl_aac_parse_asc(lc44, 1, &a) == -EPROTO);
    CU_ASSERT(sl_aac_parse_asc(NULL, 0, &a) == -EPROTO);
    /* Reserved rate index 13. */
    CU_ASSERT(sl_aac_parse_asc((const uint8_t *) "\x16\x88", 2, &a) == -EPROTO);
}

void
sl_test_suite_codec(void)
{
    CU_pSuite s = CU_add_suite("codec", NULL, NULL);

    CU_add_test(s, "SPS: size with cropping, profile, level, fps", test_sps);
    CU_add_test(s, "AVC config record and every truncation", test_avc_config);
    CU_add_test(s, "AudioSpecificConfig: LC, HE-AAC, explicit rate", test_aac);
}

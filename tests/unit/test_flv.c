#include <CUnit/CUnit.h>
#include <string.h>

#include "rtmp/flv.h"

static void
test_avc(void)
{
    struct sl_flv_info i;
    const uint8_t      seq[] = {0x17, 0x00, 0, 0, 0, 1};
    const uint8_t      key[] = {0x17, 0x01, 0, 0, 0};
    const uint8_t      inter[] = {0x27, 0x01, 0, 0, 0};
    const uint8_t      disp[] = {0x37, 0x01, 0, 0, 0};
    char               name[16];

    sl_flv_inspect(9, seq, sizeof(seq), &i);
    CU_ASSERT(i.video && i.seq_header && !i.keyframe);
    CU_ASSERT_STRING_EQUAL(sl_flv_codec_name(&i, name, sizeof(name)), "h264");
    sl_flv_inspect(9, key, sizeof(key), &i);
    CU_ASSERT(i.keyframe && !i.seq_header && !i.disposable);
    sl_flv_inspect(9, inter, sizeof(inter), &i);
    CU_ASSERT(!i.keyframe && !i.disposable);
    sl_flv_inspect(9, disp, sizeof(disp), &i);
    CU_ASSERT(i.disposable);
}

static void
test_enhanced_video(void)
{
    struct sl_flv_info i;
    /* 0x80 | frame type 1 << 4 | packet type: 0 start, 1 frames. */
    const uint8_t      start[] = {0x90, 'h', 'v', 'c', '1', 1, 2};
    const uint8_t      frame[] = {0x91, 'h', 'v', 'c', '1', 0, 0, 0};
    const uint8_t      inter[] = {0xa3, 'a', 'v', '0', '1', 0};
    char               name[16];

    sl_flv_inspect(9, start, sizeof(start), &i);
    CU_ASSERT(i.enhanced && i.seq_header && !i.keyframe);
    CU_ASSERT_STRING_EQUAL(sl_flv_codec_name(&i, name, sizeof(name)), "hvc1");
    sl_flv_inspect(9, frame, sizeof(frame), &i);
    CU_ASSERT(i.enhanced && i.keyframe && !i.seq_header);
    sl_flv_inspect(9, inter, sizeof(inter), &i);
    CU_ASSERT(i.enhanced && !i.keyframe);
    CU_ASSERT_STRING_EQUAL(sl_flv_codec_name(&i, name, sizeof(name)), "av01");
}

static void
test_aac_and_others(void)
{
    struct sl_flv_info i;
    const uint8_t      aseq[] = {0xaf, 0x00, 0x12, 0x10};
    const uint8_t      araw[] = {0xaf, 0x01, 0x21};
    const uint8_t      mp3[] = {0x2f, 0xff};
    char               name[16];

    sl_flv_inspect(8, aseq, sizeof(aseq), &i);
    CU_ASSERT(i.audio && i.seq_header);
    CU_ASSERT_STRING_EQUAL(sl_flv_codec_name(&i, name, sizeof(name)), "aac");
    sl_flv_inspect(8, araw, sizeof(araw), &i);
    CU_ASSERT(i.audio && !i.seq_header);
    sl_flv_inspect(8, mp3, sizeof(mp3), &i);
    CU_ASSERT(i.audio && !i.seq_header && i.codec == 2);
}

static void
test_short_and_empty_bodies(void)
{
    struct sl_flv_info i;
    const uint8_t      one[] = {0x17};
    const uint8_t      ex[] = {0x90, 'h'};

    sl_flv_inspect(9, NULL, 0, &i);
    CU_ASSERT(!i.video && !i.keyframe);
    sl_flv_inspect(9, one, 1, &i);
    CU_ASSERT(i.video && !i.seq_header);
    sl_flv_inspect(9, ex, sizeof(ex), &i);
    CU_ASSERT(!i.seq_header || i.enhanced);
    sl_flv_inspect(20, one, 1, &i);
    CU_ASSERT(!i.video && !i.audio);
}

void
sl_test_suite_flv(void)
{
    CU_pSuite s = CU_add_suite("flv", NULL, NULL);

    CU_add_test(s, "avc", test_avc);
    CU_add_test(s, "enhanced video", test_enhanced_video);
    CU_add_test(s, "aac and others", test_aac_and_others);
    CU_add_test(s, "short and empty bodies", test_short_and_empty_bodies);
}

/*
 * libFuzzer target for the FLV <-> libav glue (media/flv_av.c).
 *
 * The same bytes go to every parser and builder, as an FLV body,
 * encoder extradata and an encoded packet.  None may read past the
 * input (ASan) or misbehave (UBSan); a parser that succeeds must point
 * inside the input; the shared SPS reader (rtmp/codec.h, fuzzed on its
 * own by fuzz_codec) runs on the record of a video sequence header body
 * and on the record built from the input as extradata (so Annex B SPS
 * reach it too), and must give a picture of 1..16384 on each side or
 * fail with *out zeroed; a frame body must start with the header it was asked
 * for and, when built from Annex B, hold only length-prefixed units that end
 * exactly at its end.  Anything else is reported by abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/flv_av.h"
#include "rtmp/codec.h"

/* sl_avc_parse_config on an avcC record p[0..len). */
static void
check_avc_info(const uint8_t *p, size_t len)
{
    struct sl_avc_info info;

    if (sl_avc_parse_config(p, len, &info) == 0) {
        if (info.width < 1 || info.width > 16384 || info.height < 1 ||
            info.height > 16384 || info.profile < 0 || info.profile > 255 ||
            info.level < 0 || info.level > 255)
            abort();
    } else if (info.width != 0 || info.height != 0 || info.profile != 0) {
        abort();
    }
}

static void
check_inside(const uint8_t *data, size_t size, const uint8_t *p, size_t len)
{
    if (len > 0 && (p < data || p + len > data + size))
        abort();
}

/* A frame body from Annex B must be a chain of 4-byte lengths; one
 * copied as it is (the input did not start with a start code) is the
 * header plus the input. */
static void
check_frame(const struct sl_buf *b, const uint8_t *data, size_t size)
{
    size_t pos = 5;

    if (b->len < 6 || b->data[0] != 0x17 || b->data[1] != 0x01 ||
        b->data[2] != 0xff || b->data[3] != 0xff || b->data[4] != 0xd8)
        abort();
    if (b->len == 5 + size && memcmp(b->data + 5, data, size) == 0)
        return;
    while (pos < b->len) {
        uint32_t n;

        if (b->len - pos < 4)
            abort();
        n = (uint32_t) b->data[pos] << 24 | (uint32_t) b->data[pos + 1] << 16 |
            (uint32_t) b->data[pos + 2] << 8 | b->data[pos + 3];
        pos += 4;
        if (n == 0 || n > b->len - pos)
            abort();
        /* Parameter sets and delimiters are dropped. */
        if ((b->data[pos] & 0x1f) == 7 || (b->data[pos] & 0x1f) == 8 ||
            (b->data[pos] & 0x1f) == 9)
            abort();
        pos += n;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_media_video v;
    struct sl_media_audio a;
    struct sl_buf        *b;

    if (sl_media_parse_video(data, size, &v) == 0) {
        check_inside(data, size, v.data, v.len);
        if (v.seq_header)
            check_avc_info(v.data, v.len);
    }
    if (sl_media_parse_audio(data, size, &a) == 0)
        check_inside(data, size, a.data, a.len);

    b = sl_media_avc_seq_body(data, size);
    if (b != NULL && (b->len < 5 + 7 || b->data[0] != 0x17 ||
                      b->data[1] != 0x00 || b->data[5] != 1))
        abort();
    if (b != NULL)
        check_avc_info(b->data + 5, b->len - 5);
    sl_buf_unref(b);

    b = sl_media_avc_frame_body(data, size, 1, -40);
    if (b != NULL)
        check_frame(b, data, size);
    sl_buf_unref(b);
    return 0;
}

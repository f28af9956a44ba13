#include "rtmp/flv.h"

#include <stdio.h>
#include <string.h>

#include "rtmp/rd.h"

/* Video tag header: frame type in the high nibble (1 key, 2 inter,
 * 3 disposable inter, 4 generated key, 5 command).  With the high bit
 * set (Enhanced RTMP) the low nibble is a packet type and a FourCC
 * follows; otherwise the low nibble is the codec id and AVC/HEVC put a
 * packet type (0 = sequence header, 2 = end of sequence) in byte 1. */
static void
inspect_video(struct sl_rd *r, struct sl_flv_info *o)
{
    uint8_t b0 = sl_rd_u8(r);
    uint8_t frame_type;

    if (r->err)
        return;
    o->video = 1;
    if (b0 & 0x80) {
        uint8_t packet_type = b0 & 0x0f;

        frame_type = (b0 >> 4) & 0x07;
        o->enhanced = 1;
        o->codec = sl_rd_u32(r);
        /* 0 SequenceStart, 2 SequenceEnd, 5 MPEG2TSSequenceStart. */
        o->seq_header = packet_type == 0 || packet_type == 5;
        o->seq_end = packet_type == 2;
        o->command = frame_type == 5;
        /* Metadata (4) and multitrack (6) packets are not frames. */
        if (packet_type == 4 || packet_type == 6)
            o->command = 1;
    } else {
        frame_type = b0 >> 4;
        o->codec = b0 & 0x0f;
        o->command = frame_type == 5;
        if (o->codec == SL_FLV_VIDEO_AVC || o->codec == SL_FLV_VIDEO_HEVC) {
            uint8_t packet_type = sl_rd_u8(r);

            if (!r->err) {
                o->seq_header = packet_type == 0;
                o->seq_end = packet_type == 2;
            }
        }
    }
    if (!o->seq_header && !o->seq_end && !o->command) {
        o->keyframe = frame_type == 1 || frame_type == 4;
        o->disposable = frame_type == 3;
    }
}

/* Audio tag header: sound format in the high nibble; AAC puts its packet
 * type (0 = AudioSpecificConfig) in byte 1; format 9 is Enhanced RTMP
 * with a packet type in the low nibble and a FourCC. */
static void
inspect_audio(struct sl_rd *r, struct sl_flv_info *o)
{
    uint8_t b0 = sl_rd_u8(r);

    if (r->err)
        return;
    o->audio = 1;
    o->codec = b0 >> 4;
    if (o->codec == SL_FLV_AUDIO_EX) {
        o->enhanced = 1;
        o->seq_header = (b0 & 0x0f) == 0;
        o->codec = sl_rd_u32(r);
    } else if (o->codec == SL_FLV_AUDIO_AAC) {
        uint8_t packet_type = sl_rd_u8(r);

        o->seq_header = !r->err && packet_type == 0;
    }
}

void
sl_flv_inspect(uint8_t type, const uint8_t *p, size_t len,
               struct sl_flv_info *out)
{
    struct sl_rd r;

    memset(out, 0, sizeof(*out));
    sl_rd_init(&r, p, len);
    if (type == 9)
        inspect_video(&r, out);
    else if (type == 8)
        inspect_audio(&r, out);
}

const char *
sl_flv_codec_name(const struct sl_flv_info *info, char *buf, size_t cap)
{
    static const char *const video[16] = {
        [2] = "h263",    [3] = "screen", [4] = "vp6",  [5] = "vp6a",
        [6] = "screen2", [7] = "h264",   [12] = "hevc"};
    static const char *const audio[16] = {
        [0] = "pcm",        [1] = "adpcm",        [2] = "mp3",
        [3] = "pcm_le",     [4] = "nellymoser16", [5] = "nellymoser8",
        [6] = "nellymoser", [7] = "g711a",        [8] = "g711u",
        [10] = "aac",       [11] = "speex",       [14] = "mp3_8k"};
    const char *name = NULL;

    if (info->enhanced) {
        char cc[5];

        for (int i = 0; i < 4; i++) {
            char c = (char) (info->codec >> (24 - 8 * i));

            cc[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
        }
        cc[4] = '\0';
        snprintf(buf, cap, "%s", cc);
        return buf;
    }
    if (info->codec < 16)
        name = info->video ? video[info->codec] : audio[info->codec];
    if (name == NULL)
        snprintf(buf, cap, "%s%u", info->video ? "video" : "audio",
                 info->codec);
    else
        snprintf(buf, cap, "%s", name);
    return buf;
}

void
sl_flv_file_header(uint8_t out[SL_FLV_FILE_HDR], int audio, int video)
{
    struct sl_wr w;

    sl_wr_init(&w, out, SL_FLV_FILE_HDR);
    sl_wr_bytes(&w, "FLV", 3);
    sl_wr_u8(&w, 1); /* version */
    sl_wr_u8(&w, (uint8_t) ((audio ? 4 : 0) | (video ? 1 : 0)));
    sl_wr_u32(&w, 9); /* header size */
    sl_wr_u32(&w, 0); /* PreviousTagSize0 */
}

void
sl_flv_tag_header(uint8_t out[SL_FLV_TAG_HDR], uint8_t type, uint32_t len,
                  uint32_t ts)
{
    struct sl_wr w;

    sl_wr_init(&w, out, SL_FLV_TAG_HDR);
    sl_wr_u8(&w, type);
    sl_wr_u24(&w, len);
    sl_wr_u24(&w, ts & 0xffffff);
    sl_wr_u8(&w, (uint8_t) (ts >> 24)); /* TimestampExtended */
    sl_wr_u24(&w, 0);                   /* StreamID */
}

void
sl_flv_tag_trailer(uint8_t out[SL_FLV_TAG_TAIL], uint32_t len)
{
    struct sl_wr w;

    sl_wr_init(&w, out, SL_FLV_TAG_TAIL);
    sl_wr_u32(&w, SL_FLV_TAG_HDR + len);
}

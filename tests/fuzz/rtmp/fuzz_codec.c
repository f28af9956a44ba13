/*
 * libFuzzer target for the codec configuration readers (rtmp/codec.h):
 * the AVC decoder configuration record (and the SPS inside it), a bare
 * SPS NAL unit and the AAC AudioSpecificConfig, all sent by publishers
 * and read by the HTTP API, relay/ and transcode/.  Any bytes must parse
 * or fail cleanly with the output zeroed; a parsed picture is 1..16384 on
 * each side with a byte-sized profile and level and a frame rate that is
 * 0 or positive; a parsed ASC has a non-zero object type, a positive
 * rate and a channel count from the table; a parsed HEVC SPS has a
 * picture of 1..16384 on each side, a chroma format of 0..3, bit depths
 * of 8..16 and 1..7 sub-layers.  Anything else is reported by abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/codec.h"

static void
check_avc(int rc, const struct sl_avc_info *i)
{
    if (rc == 0) {
        if (i->width < 1 || i->width > SL_CODEC_MAX_SIDE || i->height < 1 ||
            i->height > SL_CODEC_MAX_SIDE || i->profile < 0 ||
            i->profile > 255 || i->level < 0 || i->level > 255 ||
            !(i->fps >= 0))
            abort();
    } else if (i->width != 0 || i->height != 0 || i->profile != 0 ||
               i->level != 0 || i->fps != 0) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_avc_info  avc;
    struct sl_aac_info  aac;
    struct sl_hevc_info hevc;
    uint8_t            *copy = malloc(size ? size : 1);
    int                 rc;

    /* An exact-size copy: ASan reports any read past the end. */
    memcpy(copy, data, size);
    rc = sl_avc_parse_config(copy, size, &avc);
    check_avc(rc, &avc);
    if (rc == 0 && sl_avc_check_config(copy, size) != 0)
        abort();
    check_avc(sl_avc_parse_sps(copy, size, &avc), &avc);
    rc = sl_aac_parse_asc(copy, size, &aac);
    if (rc == 0 && (aac.object_type < 1 || aac.sample_rate <= 0 ||
                    aac.channels < 0 || aac.channels > 24))
        abort();
    if (rc != 0 && (aac.object_type || aac.sample_rate || aac.channels))
        abort();
    rc = sl_hevc_parse_sps(copy, size, &hevc);
    if (rc == 0 && (hevc.width < 1 || hevc.width > SL_CODEC_MAX_SIDE ||
                    hevc.height < 1 || hevc.height > SL_CODEC_MAX_SIDE ||
                    hevc.chroma_format < 0 || hevc.chroma_format > 3 ||
                    hevc.bit_depth_luma < 8 || hevc.bit_depth_luma > 16 ||
                    hevc.bit_depth_chroma < 8 || hevc.bit_depth_chroma > 16 ||
                    hevc.max_sub_layers < 1 || hevc.max_sub_layers > 7))
        abort();
    if (rc != 0 && (hevc.width || hevc.height || hevc.max_sub_layers))
        abort();
    free(copy);
    return 0;
}

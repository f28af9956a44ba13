/*
 * libFuzzer target for the codec configuration readers: the AVC decoder
 * configuration record (and the SPS inside it) and the AAC
 * AudioSpecificConfig, all sent by publishers.  Any bytes must parse or
 * fail cleanly; a parsed picture has a positive size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/codec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_avc_info avc;
    struct sl_aac_info aac;
    uint8_t           *copy = malloc(size ? size : 1);

    memcpy(copy, data, size);
    if (sl_avc_parse_config(copy, size, &avc) == 0 &&
        (avc.width <= 0 || avc.height <= 0))
        abort();
    if (sl_avc_parse_sps(copy, size, &avc) == 0 &&
        (avc.width <= 0 || avc.height <= 0))
        abort();
    if (sl_aac_parse_asc(copy, size, &aac) == 0 && aac.sample_rate <= 0)
        abort();
    free(copy);
    return 0;
}

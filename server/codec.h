/*
 * Facts the HTTP API reports about a published stream, read from the
 * codec configuration a publisher sends: the AVC decoder configuration
 * record (its first SPS gives the coded picture size after cropping,
 * profile, level and, when the VUI carries timing, the frame rate) and
 * the AAC AudioSpecificConfig (sample rate, channels).
 *
 * Pure parsers of untrusted bytes: no allocation, no globals; any input
 * is valid and yields -EPROTO when it is not what it should be.  An SPS
 * is at most SL_CODEC_SPS_MAX bytes after removing emulation prevention
 * bytes; longer ones are cut there (the fields we read come first).
 */
#ifndef SL_CODEC_H
#define SL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define SL_CODEC_SPS_MAX 512

struct sl_avc_info {
    int    width, height; /* displayed size (cropping applied) */
    int    profile;       /* profile_idc: 66 baseline, 77 main, 100 high */
    int    level;         /* level_idc: 30 = 3.0 */
    double fps;           /* from VUI timing; 0 when absent */
};

/* Reads an AVCDecoderConfigurationRecord (the body of an FLV AVC
 * sequence header after its 5-byte tag header).  0 or -EPROTO. */
int sl_avc_parse_config(const uint8_t *p, size_t len, struct sl_avc_info *o);

/* Reads one SPS NAL unit (starting at the NAL header byte).  0 or
 * -EPROTO. */
int sl_avc_parse_sps(const uint8_t *p, size_t len, struct sl_avc_info *o);

struct sl_aac_info {
    int object_type; /* 2 = AAC LC */
    int sample_rate; /* Hz */
    int channels;    /* 0 when the config defers to a program element */
};

/* Reads an AudioSpecificConfig (the body of an FLV AAC sequence header
 * after its 2-byte tag header).  0 or -EPROTO. */
int sl_aac_parse_asc(const uint8_t *p, size_t len, struct sl_aac_info *o);

#endif

/*
 * Facts about a stream read from the codec configuration a publisher
 * sends: the AVC decoder configuration record (its first SPS gives the
 * coded picture size after cropping, profile, level and, when the VUI
 * carries timing, the frame rate) and the AAC AudioSpecificConfig
 * (object type, sample rate, channels); an HEVC SPS (size, format,
 * the profile, tier and level an hvcC repeats).  The HTTP API reports them;
 * media/, relay/ and transcode/ use them to describe streams to libav.
 *
 * Pure parsers of untrusted bytes: no allocation, no globals, any
 * thread; any input is valid, they never read past len, and they return
 * 0 or -EPROTO with *o zeroed.
 */
#ifndef SL_CODEC_H
#define SL_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* The longest SPS NAL unit read (a few dozen bytes is usual; scaling
 * matrices and VUI make a few hundred); longer ones are rejected. */
#define SL_CODEC_SPS_MAX 1024

/* The largest picture side accepted, in pixels, after cropping. */
#define SL_CODEC_MAX_SIDE 16384

struct sl_avc_info {
    int    width, height; /* displayed size (cropping applied) */
    int    profile;       /* profile_idc: 66 baseline, 77 main, 100 high */
    int    level;         /* level_idc: 30 = 3.0 */
    double fps;           /* from VUI timing; 0 when absent or truncated */
};

/* Checks the framing of an AVCDecoderConfigurationRecord: version 1, at
 * least one SPS and one PPS, every length inside len.  Bytes after the
 * PPS list (the High profile chroma and bit depth fields) are allowed.
 * 0 or -EPROTO. */
int sl_avc_check_config(const uint8_t *p, size_t len);

/* Reads an AVCDecoderConfigurationRecord (the body of an FLV AVC
 * sequence header after its 5-byte tag header, or an encoder's avcC
 * extradata): the record must pass sl_avc_check_config and its first SPS
 * sl_avc_parse_sps.  0 or -EPROTO. */
int sl_avc_parse_config(const uint8_t *p, size_t len, struct sl_avc_info *o);

/* Reads one SPS NAL unit (starting at the NAL header byte, which must
 * have forbidden_zero_bit clear and type 7), at most SL_CODEC_SPS_MAX
 * bytes.  Rejected besides: values out of the ranges H.264 7.4.2.1.1
 * gives (ids, chroma format, bit depths, frame number and POC fields,
 * scaling deltas, more than 16 reference frames), exp-Golomb codes over
 * 32 bits, an SPS that ends before vui_parameters_present_flag, and a
 * cropped picture with a side of 0 or over SL_CODEC_MAX_SIDE.  A VUI
 * cut short only leaves fps at 0.  0 or -EPROTO. */
int sl_avc_parse_sps(const uint8_t *p, size_t len, struct sl_avc_info *o);

struct sl_aac_info {
    int object_type; /* as signalled: 2 = AAC LC, 5 = SBR, 29 = PS */
    int sample_rate; /* Hz; with SBR the extension (output) rate */
    int channels;    /* 0 when the config defers to a program element */
};

/* Reads an AudioSpecificConfig (ISO 14496-3 1.6.2.1; the body of an FLV
 * AAC sequence header after its 2-byte tag header) up to the channel
 * configuration, and for SBR and PS the extension rate and the core
 * object type.  Escaped object types and explicit 24-bit rates are
 * read.  Rejected: object type 0, reserved rate indexes (13, 14), a rate
 * of 0, reserved channel configurations (8..10, 15), fewer bytes than
 * those fields.  0 or -EPROTO. */
int sl_aac_parse_asc(const uint8_t *p, size_t len, struct sl_aac_info *o);

/* What an HEVC SPS says that an HEVCDecoderConfigurationRecord
 * ("hvcC") and a player need. */
struct sl_hevc_info {
    int     width, height;  /* displayed size (conformance window) */
    int     chroma_format;  /* chroma_format_idc 0..3 */
    int     bit_depth_luma; /* 8.. */
    int     bit_depth_chroma;
    int     max_sub_layers; /* sps_max_sub_layers_minus1 + 1 */
    int     temporal_id_nesting;
    uint8_t ptl[12]; /* general_profile_space .. general_level_idc as
                      * they stand in the SPS (what hvcC repeats) */
};

/* Reads one HEVC SPS NAL unit (starting at its 2-byte NAL header, which
 * must have forbidden_zero_bit clear and type 33), at most
 * SL_CODEC_SPS_MAX bytes, up to the bit depths.  Rejected: fields out
 * of H.265 7.4.3.2's ranges (ids, chroma format, bit depths over 16),
 * exp-Golomb codes over 32 bits, an SPS cut short, and a picture side
 * of 0 or over SL_CODEC_MAX_SIDE after the conformance window.  0 or
 * -EPROTO. */
int sl_hevc_parse_sps(const uint8_t *p, size_t len, struct sl_hevc_info *o);

#endif

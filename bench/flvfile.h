/*
 * An FLV file read whole into memory, as the list of tags the bench
 * publishes.  The file layout: a 9-byte header ("FLV", version, flags,
 * header size), a 4-byte previous tag size of 0, then tags: type (low 5
 * bits; bit 5 is the encryption filter, which we reject), 24-bit body
 * size, 24-bit timestamp plus an 8-bit extension holding bits 24-31,
 * 24-bit stream id (0), the body, and a 4-byte previous tag size.  A
 * truncated last tag is dropped, as players do with a file still being
 * written.
 */
#ifndef SL_BENCH_FLVFILE_H
#define SL_BENCH_FLVFILE_H

#include <stddef.h>
#include <stdint.h>

struct sl_flv_tag {
    uint8_t        type;       /* 8 audio, 9 video, 18 script */
    uint8_t        seq_header; /* codec configuration (AVC/AAC config) */
    uint8_t        keyframe;   /* video: a frame a decoder can start at */
    uint32_t       ts;         /* milliseconds, from the file */
    uint32_t       len;
    const uint8_t *body; /* points into the file's bytes */
};

struct sl_flv_file {
    uint8_t           *data;
    size_t             len;
    struct sl_flv_tag *tags;
    size_t             ntags;
    /* Length of one pass, for looping: the last timestamp plus one
     * video frame interval, so the first frame of the next pass does not
     * share a timestamp with the last of this one. */
    uint32_t duration_ms;
    size_t   nvideo; /* video frames, headers excluded */
};

/* Reads path.  0, or -errno (-EPROTO: not an FLV file, or no video).
 * Errors are also described on stderr. */
int  sl_flv_file_load(struct sl_flv_file *f, const char *path);
void sl_flv_file_free(struct sl_flv_file *f);

#endif

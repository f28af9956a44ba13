/*
 * Annex B (H.264 B.1, H.265 B.2): NAL units separated by 00 00 01 start
 * codes (00 00 00 01 is the same with one zero byte in front), as
 * encoders and MPEG-TS carry them.  Zero bytes before a start code
 * belong to no NAL unit, so each unit's trailing zeros are stripped; a
 * legal NAL unit ends with the rbsp stop bit, never with a zero byte.
 * Bytes before the first start code are skipped.
 *
 * Pure: untrusted bytes, never read past len, any thread.
 */
#ifndef SL_MEDIA_ANNEXB_H
#define SL_MEDIA_ANNEXB_H

#include <stddef.h>
#include <stdint.h>

struct sl_annexb {
    const uint8_t *p;
    size_t         len;
    size_t         pos; /* where to look for the next start code */
};

void sl_annexb_init(struct sl_annexb *a, const uint8_t *p, size_t len);

/* The next non-empty NAL unit: 1 and *nal / *nal_len set, or 0 at the
 * end.  Every call moves forward, so a loop over it ends. */
int sl_annexb_next(struct sl_annexb *a, const uint8_t **nal, size_t *nal_len);

/* Whether p starts with a start code (3 or 4 bytes). */
int sl_annexb_starts(const uint8_t *p, size_t len);

#endif

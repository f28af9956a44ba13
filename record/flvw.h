/*
 * FLV files for recordings: a writer that puts a whole tag into a file
 * descriptor with one writev(2).  The bytes of the file header and of a
 * tag's framing are rtmp/flv.h's, shared with HTTP-FLV.
 *
 * FLV is append-only: a file cut anywhere reads up to its last complete
 * tag.  Writing each tag straight to the fd (no user-space buffer) is
 * what keeps a recording playable when the process is killed: the page
 * cache holds every tag write() returned for.
 */
#ifndef SL_RECORD_FLVW_H
#define SL_RECORD_FLVW_H

#include <stddef.h>
#include <stdint.h>

#include "rtmp/flv.h"

/* Writes all n bytes to fd, going on after short writes and EINTR.
 * 0 or -errno (-ENOSPC when the disk is full). */
int sl_flvw_write_all(int fd, const void *p, size_t n);

/* Writes one tag (header, body, trailer) with one writev, going on
 * after a short write.  0, -EMSGSIZE for a body FLV cannot hold
 * (nothing written), or -errno (a part of the tag may be in the file:
 * the caller truncates back to the last whole tag). */
int sl_flvw_write_tag(int fd, uint8_t type, uint32_t ts, const uint8_t *body,
                      uint32_t len);

#endif

/*
 * FLV file bytes for recordings: the file header and the framing of one
 * tag, and a writer that puts a whole tag into a file descriptor with
 * one writev(2).
 *
 * Layout: a 9-byte header ("FLV", version 1, flags 4 = audio, 1 =
 * video, header size 9) and a 4-byte PreviousTagSize0 of 0, then tags:
 * type (8 audio, 9 video, 18 script data), 24-bit body size, 24-bit
 * timestamp in ms plus an 8-bit extension holding bits 24..31, a 24-bit
 * stream id of 0, the body (exactly what an RTMP message of that type
 * carries), and a 4-byte PreviousTagSize (11 + body size).
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

#define SL_FLVW_FILE_HDR 13 /* header + PreviousTagSize0 */
#define SL_FLVW_TAG_HDR 11
#define SL_FLVW_TAG_TAIL 4
#define SL_FLVW_MAX_BODY 0xffffffu /* 24-bit body size */

/* The 13 bytes a file starts with; audio and video set the flags. */
void sl_flvw_file_header(uint8_t out[SL_FLVW_FILE_HDR], int audio, int video);

/* The 11-byte tag header and 4-byte trailer around a body of len bytes
 * (len at most SL_FLVW_MAX_BODY). */
void sl_flvw_tag_header(uint8_t out[SL_FLVW_TAG_HDR], uint8_t type,
                        uint32_t len, uint32_t ts);
void sl_flvw_tag_trailer(uint8_t out[SL_FLVW_TAG_TAIL], uint32_t len);

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

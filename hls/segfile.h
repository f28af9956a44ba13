/*
 * A segment's media in a memory file (memfd), so plain HTTP can send
 * parts and segments with sendfile(2) from pages the kernel holds,
 * handing the socket page references as nginx's sendfile does from the
 * page cache, instead of writev copying every part into every socket.
 *
 * Each part is written once, when it is cut, at the next page boundary
 * of its segment's file, then mapped read-only and handed out as a
 * file-backed sl_buf (pool/buf.h): the mapping is the bytes everyone else
 * reads (TLS, ranges, hls_path, tests), the file is what sendfile sends.
 * So the bytes are in memory once, in the file's pages.
 *
 * Lifetime: the packager holds the segment's file while the segment is
 * open; every part's buffer holds it too.  When the window lets a
 * segment go and the last response that sends from one of its parts is
 * written, the last part's buffer unmaps its bytes and the file closes:
 * memory stays bounded by the window plus what sockets still send.
 *
 * Threads: new, add and unref on the packager's side (under its variant
 * lock); a part's release runs on whichever thread drops the last
 * reference, which the atomic count makes safe.
 */
#ifndef SL_HLS_SEGFILE_H
#define SL_HLS_SEGFILE_H

#include "pool/buf.h"

struct sl_hls_segfile;

/* A new, empty memory file (name shows in /proc/PID/fd), one reference
 * for the caller; NULL when the kernel refuses one (no memfd, out of
 * descriptors): the caller then keeps its parts in plain memory. */
struct sl_hls_segfile *sl_hls_segfile_new(const char *name);

/* Writes part's bytes to the end of f (from a page boundary) and returns
 * a file-backed buffer of the same bytes, one reference for the caller,
 * which also holds f.  NULL when that failed (an empty part, no memory,
 * the write or the mapping refused): part is still good to use. */
struct sl_buf *sl_hls_segfile_add(struct sl_hls_segfile *f,
                                  const struct sl_buf   *part);

/* Drops the caller's reference; NULL is ignored. */
void sl_hls_segfile_unref(struct sl_hls_segfile *f);

/* Memory files alive in the process (tests). */
long sl_hls_segfile_live(void);

#endif

/*
 * HLS objects written to a folder (`hls_path`), for a CDN or web server
 * that pulls files: DIR/APP/STREAM/{init<ID>.mp4, s<MSN>.m4s,
 * p<MSN>.<I>.m4s, media.m3u8} and DIR/APP/NAME.m3u8, the same names and
 * bytes the web port serves.  The packager only queues (references to
 * the parts it holds anyway, the playlist text); one writer thread does
 * the I/O, so a slow disk never stalls a publisher.  Each file is
 * written to a temporary name and renamed, so a reader never sees half
 * of one.  Bounded: at most SL_HLS_DISK_JOBS jobs wait; past that a job
 * is dropped, counted and logged once per 10 s.
 */
#ifndef SL_HLS_DISK_H
#define SL_HLS_DISK_H

#include <stddef.h>

#include "pool/buf.h"

#define SL_HLS_DISK_JOBS 4096
#define SL_HLS_DISK_MAX_BUFS 64

struct sl_hls_disk;

/* Starts the writer thread, which also calls tick(ctx) about once a
 * second, holding no lock (the packager writes the playlists of streams
 * that ended then: nothing else would).  NULL on failure. */
struct sl_hls_disk *sl_hls_disk_new(void (*tick)(void *ctx), void *ctx);

/* Writes what is queued, then stops the writer. */
void sl_hls_disk_free(struct sl_hls_disk *d);

/* Queues writing path (made of dir, then "/" and name) with the bytes
 * of bufs[0..n) one after another (references taken).  The folders on
 * the way are made. */
void sl_hls_disk_write(struct sl_hls_disk *d, const char *dir, const char *name,
                       struct sl_buf *const *bufs, int n);

/* Queues removing dir/name. */
void sl_hls_disk_remove(struct sl_hls_disk *d, const char *dir,
                        const char *name);

#endif

/*
 * LL-HLS packaging: every stream of an app with `hls = on`, the ladder's
 * rungs included, becomes a variant: CMAF parts cut from its hub tap
 * (hls/mux.h) into a bounded in-memory window (hls/window.h).  The
 * variants of one publish (the source NAME and its rungs NAME_<rung>)
 * form a group, which has the master playlist /APP/NAME.m3u8 and one
 * wall clock for their EXT-X-PROGRAM-DATE-TIME, so every variant dates
 * the same media time the same way.
 *
 * The packager is a hub observer and tap, as record/ is, but it muxes
 * on the tap's thread (the publisher's or the ladder's): a part is a
 * memory copy through libavformat, no I/O, so it needs no thread of its
 * own and a part is servable the moment it is cut.  Blocking playlist
 * reloads and preload-hinted parts wait with a waiter that the next
 * part fires.
 *
 * web/ asks for objects by the names the playlists give them (see
 * hls/playlist.h); this module knows nothing of HTTP.
 *
 * Lock order: a stream's lock (the tap), then the module's lock, then a
 * variant's lock.  The web side takes the module's lock, then a
 * variant's.  Any thread.
 */
#ifndef SL_HLS_HLS_H
#define SL_HLS_HLS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hls/playlist.h"
#include "hls/viewers.h"
#include "pool/buf.h"
#include "pool/queue.h"
#include "pool/sched.h"
#include "rtmp/rtmp.h"
#include "server/hub.h"

struct sl_hls;
struct sl_hls_variant;

/* Registers with the hub (before any thread publishes).  Packaging
 * follows the current config (sl_config_get) at each publish. */
struct sl_hls *sl_hls_new(struct sl_hub *hub);

/* Untaps and frees every variant.  Call after the publishers stopped
 * and no web connection waits. */
void sl_hls_free(struct sl_hls *h);

/* A request parked until its variant has more (a blocking reload, a
 * hinted part), embedded in the web connection.  When more arrives,
 * *ready is set (release) and task woken; the owner then asks again,
 * and calls sl_hls_unwait before it is freed. */
struct sl_hls_waiter {
    struct sl_list         link;
    struct sl_task        *task;
    atomic_int            *ready;
    struct sl_hls_variant *v; /* NULL: not waiting */
};

void sl_hls_unwait(struct sl_hls *h, struct sl_hls_waiter *wt);

/* The master playlist of APP/NAME, its URIs carrying carry, as a new
 * buffer in *out.  0; -ENOENT when no such stream is packaged; -EAGAIN
 * while its variants are still starting (no segment yet in one of
 * them; the caller asks again a little later, bounded).  The source
 * is left out where its app says hls_source = off. */
int sl_hls_master(struct sl_hls *h, const char *app, const char *name,
                  const char *carry, struct sl_buf **out);

/* The media playlist of APP/STREAM for query q.  0 with *out; -ENOENT;
 * -EINVAL when the request is too far ahead of the live edge (400);
 * -EAGAIN when it must wait: wt is registered (unless it was already). */
int sl_hls_media(struct sl_hls *h, const char *app, const char *stream,
                 const struct sl_hls_query *q, const char *carry,
                 struct sl_hls_waiter *wt, struct sl_buf **out);

/* An object of APP/STREAM by file name (init<ID>.mp4, s<MSN>.m4s,
 * p<MSN>.<I>.m4s): up to max buffers (new references) in bufs, their
 * count returned, their total size in *total.  -ENOENT when there is
 * no such object (gone, or never); -EAGAIN when it is the part the
 * playlist hints at next (or the segment being written): wt is
 * registered; -E2BIG when max is too small. */
int sl_hls_object(struct sl_hls *h, const char *app, const char *stream,
                  const char *file, struct sl_hls_waiter *wt,
                  struct sl_buf **bufs, int max, size_t *total);

/* The name a request for APP/STREAM is authorized as: the group's
 * source name (a rung's token is its source's).  0, or -ENOENT. */
int sl_hls_owner(struct sl_hls *h, const char *app, const char *stream,
                 char *name, size_t cap);

/* The target duration of APP/STREAM in ms (a blocking request is held
 * at most three of them), or 0 when unknown. */
uint32_t sl_hls_target_ms(struct sl_hls *h, const char *app,
                          const char *stream);

/* Viewers (hls/viewers.h): a request of the viewer whose URLs carry
 * sid, watching APP/NAME (the master's name); and how many watch
 * APP/NAME now (every stream: app NULL). */
void sl_hls_viewer_seen(struct sl_hls *h, uint64_t sid, const char *app,
                        const char *name);
int  sl_hls_viewer_count(struct sl_hls *h, const char *app, const char *name);

/* A viewer whose master playlist of APP/NAME was just served with sid
 * in its URLs: counted from now, and, with who (copied), handed out
 * once by sl_hls_viewers_ended when it ends.  0, or -ENOSPC / -ENOMEM
 * (then it never ends: the caller need not care). */
int sl_hls_viewer_start(struct sl_hls *h, uint64_t sid, const char *app,
                        const char *name, const struct sl_hls_viewer *who);

/* Viewers that ended: no request for idle_ms (which becomes the count's
 * timeout too), or their stream ended (every variant of its group past
 * publish_grace without a publisher: its playlists have
 * EXT-X-ENDLIST).  Up to max records into out, each the caller's to
 * free(); their count (max: ask again).  Takes the module's lock and
 * the table's one after the other, never together. */
int sl_hls_viewers_ended(struct sl_hls *h, uint32_t idle_ms,
                         struct sl_hls_viewer **out, int max);

/* For the API: the group of APP/NAME (a publish and its rungs). */
struct sl_hls_group_stats {
    int      nvariants;
    /* Whether the source's segments start where the rungs' do (its
     * keyframes on the ladder's keyframe times), so a player can switch
     * between it and them at any segment: 1, 0, or -1 while there is
     * nothing to compare (no rung, no segment yet). */
    int      source_aligned;
    uint64_t segments, parts; /* cut since they started, all variants */
    uint64_t bytes;           /* held in memory now */
};

/* 0 with *out, or -ENOENT when APP/NAME is not packaged.  The first
 * time the source is found out of line with its rungs, one WARN line. */
int sl_hls_group_stats(struct sl_hls *h, const char *app, const char *name,
                       struct sl_hls_group_stats *out);

/* For the API: variants packaged now. */
struct sl_hls_stats {
    char     app[SL_NAME_MAX];
    char     name[SL_NAME_MAX];
    uint64_t segments; /* completed since it started */
    uint64_t parts;
    uint64_t bytes; /* in the window now */
    uint32_t peak_bps, avg_bps;
    int      live;
};
int sl_hls_stats(struct sl_hls *h, struct sl_hls_stats *out, int max);

#endif

/*
 * HLS viewers: HTTP has no connection per viewer, so a viewer is the id
 * (sid) its master playlist put into every URL it lists; it counts as
 * watching while requests with that id keep coming (at least one a
 * target duration for any player, one a part for an LL one).
 *
 * A fixed table (SL_HLS_VIEWERS_MAX entries, open addressing): a viewer
 * idle for SL_HLS_VIEWER_IDLE_MS is forgotten, and when the table is
 * full of active viewers a new one is not counted (never refused: the
 * count is an operator's figure, not an admission).  Any thread.
 */
#ifndef SL_HLS_VIEWERS_H
#define SL_HLS_VIEWERS_H

#include <stdint.h>

#define SL_HLS_VIEWERS_MAX 16384
#define SL_HLS_VIEWER_IDLE_MS 15000

struct sl_hls_viewers;

struct sl_hls_viewers *sl_hls_viewers_new(void);
void                   sl_hls_viewers_free(struct sl_hls_viewers *t);

/* A request of viewer sid for APP/NAME (the publish it watches) at now_ms. */
void sl_hls_viewers_seen(struct sl_hls_viewers *t, uint64_t sid,
                         const char *app, const char *name, uint64_t now_ms);

/* Active viewers of APP/NAME; of every stream when app is NULL. */
int sl_hls_viewers_count(struct sl_hls_viewers *t, const char *app,
                         const char *name, uint64_t now_ms);

#endif

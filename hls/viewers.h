/*
 * HLS viewers: HTTP has no connection per viewer, so a viewer is the id
 * (sid) its master playlist put into every URL it lists; it counts as
 * watching while requests with that id keep coming (at least one a
 * target duration for any player, one a part for an LL one).
 *
 * A fixed table (SL_HLS_VIEWERS_MAX entries, open addressing): a viewer
 * idle for the table's timeout (SL_HLS_VIEWER_IDLE_MS unless set) is
 * forgotten, and when the table is full of active viewers a new one is
 * not counted (never refused: the count is an operator's figure, not an
 * admission).  Any thread.
 *
 * A viewer started by its master playlist (sl_hls_viewers_start) may
 * carry who it is (struct sl_hls_viewer), for the app's on_done: such a
 * viewer ends exactly once, handed out by sl_hls_viewers_expire when it
 * went idle or its stream ended; its slot is not given to another
 * viewer before that.
 */
#ifndef SL_HLS_VIEWERS_H
#define SL_HLS_VIEWERS_H

#include <stdint.h>

#include "rtmp/rtmp.h"

#define SL_HLS_VIEWERS_MAX 16384
#define SL_HLS_VIEWER_IDLE_MS 15000

struct sl_hls_viewers;

/* Who a viewer is, as its master playlist request said: what an
 * on_done needs once no connection of the viewer is left. */
struct sl_hls_viewer {
    char     app[SL_NAME_MAX];
    char     name[SL_NAME_MAX]; /* the master's NAME */
    char     addr[64];          /* the client's address, no port */
    uint64_t client_id;         /* the connection that asked the master */
    char     url[SL_URL_MAX];   /* the master's path, without a query */
};

struct sl_hls_viewers *sl_hls_viewers_new(void);
/* Frees the table and every viewer record it still holds. */
void sl_hls_viewers_free(struct sl_hls_viewers *t);

/* The idle timeout from now on (ms, at least 1). */
void sl_hls_viewers_set_idle(struct sl_hls_viewers *t, uint32_t idle_ms);

/* A request of viewer sid for APP/NAME (the publish it watches) at now_ms. */
void sl_hls_viewers_seen(struct sl_hls_viewers *t, uint64_t sid,
                         const char *app, const char *name, uint64_t now_ms);

/* A viewer that a master playlist for APP/NAME starts: seen, and, when
 * who is not NULL, given a copy of it to be handed out once when it
 * ends.  A sid the table holds already keeps its record.  0; -ENOSPC
 * when the table has no slot for it (not counted, never ended);
 * -ENOMEM. */
int sl_hls_viewers_start(struct sl_hls_viewers *t, uint64_t sid,
                         const char *app, const char *name, uint64_t now_ms,
                         const struct sl_hls_viewer *who);

/* The key a stream has in the table (for sl_hls_viewers_expire). */
uint64_t sl_hls_viewers_key(const char *app, const char *name);

/* Forgets the viewers idle at now_ms and those watching a stream whose
 * key is in ended[0..nended); the records of up to max of them go to
 * out (the caller frees each with free()), their count returned.  A
 * return of max may leave more for the next call. */
int sl_hls_viewers_expire(struct sl_hls_viewers *t, uint64_t now_ms,
                          const uint64_t *ended, int nended,
                          struct sl_hls_viewer **out, int max);

/* Active viewers of APP/NAME; of every stream when app is NULL. */
int sl_hls_viewers_count(struct sl_hls_viewers *t, const char *app,
                         const char *name, uint64_t now_ms);

#endif

/*
 * One edge pull: APP/NAME read from the first origin that serves it
 * (libavformat's RTMP client and FLV demuxer) and published into this
 * node's hub like a local publisher, so local players get it exactly as
 * they would a local publish (GOP cache included).
 *
 * Origins are tried in order; when the origin's stream ends or the
 * origin dies the stream is unpublished (players wait, as for any
 * publisher that leaves) and the list is tried again: at once after an
 * origin that served for 3 s, otherwise on the app's retry schedule
 * (pull_retry_min apart for pull_retry_fast_for, then doubling up to
 * pull_retry_max: relay/retry.h).  The pull ends idle_ms after the
 * stream's last player left.
 *
 * H.264 and AAC are carried; another codec's messages are dropped with
 * one log line.
 */
#ifndef SL_RELAY_PULL_H
#define SL_RELAY_PULL_H

#include "relay/relay.h"
#include "server/config.h"
#include "server/hub.h"

struct sl_pull;

/* Asked whether the pull may end: called by the pull's thread when its
 * stream has had no player for idle_ms; returns 1 to end (the manager
 * then starts a new pull for the next player), 0 to go on. */
typedef int (*sl_pull_idle_fn)(void *ctx, struct sl_pull *p);

struct sl_pull *sl_pull_start(struct sl_hub *hub, const char *app,
                              const char                 *name,
                              const struct sl_app_config *appcfg,
                              sl_pull_idle_fn may_end, void *ctx);
void            sl_pull_stop(struct sl_pull *p);
int             sl_pull_done(struct sl_pull *p);
void            sl_pull_join(struct sl_pull *p);
void            sl_pull_stats(struct sl_pull *p, struct sl_relay_stats *out);
const char     *sl_pull_app(const struct sl_pull *p);
const char     *sl_pull_name(const struct sl_pull *p);

#endif

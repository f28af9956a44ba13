/*
 * One push: a hub stream sent to a downstream RTMP server through
 * libavformat's FLV muxer over its RTMP/RTMPS protocol.
 *
 * The tap queues each message (a reference, no copy); the push's thread
 * connects, writes and reconnects.  While disconnected it keeps only the
 * current GOP (a keyframe drops everything before it), and the queue is
 * bounded by max_buffer bytes at all times (when full, video is dropped
 * up to the next keyframe); drops are counted.  Every connection starts
 * with the codec headers (the muxer writes them from the stream's
 * sequence headers) and a keyframe; timestamps are the hub's, so they
 * continue across reconnects.
 *
 * Retries (relay/retry.h): a connection that had carried media for 3 s
 * is tried again at once when it breaks; failed attempts are followed by
 * more, retry_min apart for the first retry_fast_for of the outage, then
 * doubling up to retry_max (each up to 20% longer at random).  An
 * attempt is bounded by the relay's timeout at first, then by 4 times
 * what the last successful one took (at least 2 s).  After
 * failover_after failures in a row the push moves to the next URL (url,
 * then each backup_url, then round again).  A connection that delivered
 * media for 3 s resets both.
 */
#ifndef SL_RELAY_PUSH_H
#define SL_RELAY_PUSH_H

#include "relay/relay.h"
#include "server/config.h"
#include "server/hub.h"

struct sl_push;

struct sl_push *sl_push_start(struct sl_hub *hub, const char *app,
                              const char                   *name,
                              const struct sl_relay_config *cfg);
void            sl_push_stop(struct sl_push *p);
int             sl_push_done(struct sl_push *p);
void            sl_push_join(struct sl_push *p);
void            sl_push_stats(struct sl_push *p, struct sl_relay_stats *out);

#endif

/*
 * The transcoder: watches the hub for publications and runs a ladder
 * for every source published to an app with renditions.  A ladder ends
 * with its publisher; a publisher that comes back gets a new one.  The
 * config in force at publish time decides the ladder (a reload changes
 * the next publications, not running ladders).
 */
#ifndef SL_TRANSCODE_TRANSCODER_H
#define SL_TRANSCODE_TRANSCODER_H

#include "server/hub.h"
#include "transcode/ladder.h"

struct sl_transcoder;

/* Registers with the hub (before any thread publishes).  NULL on
 * failure. */
struct sl_transcoder *sl_transcoder_new(struct sl_hub *hub);

/* Graceful stop: every ladder flushes its encoders and ends its rungs;
 * waits for all of them.  No new ladder starts after it. */
void sl_transcoder_stop(struct sl_transcoder *t);
void sl_transcoder_free(struct sl_transcoder *t);

/* Statistics of the running ladders: up to max into out; the count. */
int sl_transcoder_stats(struct sl_transcoder *t, struct sl_ladder_stats *out,
                        int max);

#endif

/*
 * The stages' figures for the HTTP API: stats providers (stats.h) that
 * read the transcoder, the relays and the recorder.  Part of main's
 * wiring: the one place besides main.c where server/ meets the stages
 * (transcode/, relay/, record/), so the stats code knows none of them.
 * The providers run on the HTTP and sampler threads; each stage copies
 * its figures under its own lock.
 */
#ifndef SL_STAGE_STATS_H
#define SL_STAGE_STATS_H

#include "server/stats.h"

struct sl_transcoder;
struct sl_relays;
struct sl_recorder;
struct sl_hls;

/* What the providers read; owned by main, alive while registered. */
struct sl_stage_stats {
    struct sl_transcoder *transcoder;
    struct sl_relays     *relays;
    struct sl_recorder   *recorder;
    struct sl_hls        *hls;
};

/* Fills p with the providers over ctx (p->ctx = ctx). */
void sl_stage_stats_providers(struct sl_stage_stats     *ctx,
                              struct sl_stats_providers *p);

#endif

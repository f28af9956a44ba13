/*
 * The stages' figures for the HTTP API (see stage_stats.h).
 */
#include "server/stage_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hls/hls.h"
#include "record/recorder.h"
#include "relay/relay.h"
#include "transcode/transcoder.h"

/* The relays' figures for the HTTP API (server/stats.h providers): a
 * copy of every running relay, filtered by stream.  Runs on the HTTP or
 * sampler thread; sl_relays_stats() copies under the relays' own lock. */
#define API_MAX_RELAYS 256

static int
api_relays(void *ctx, const char *app, const char *name,
           struct sl_stats_relay *out, int max)
{
    struct sl_relay_stats *v = malloc(API_MAX_RELAYS * sizeof(*v));
    int                    n, k = 0;

    if (v == NULL)
        return 0;
    n = sl_relays_stats(((struct sl_stage_stats *) ctx)->relays, v,
                        API_MAX_RELAYS);
    for (int i = 0; i < n && k < max; i++) {
        struct sl_stats_relay *o = &out[k];

        if (v[i].pull || strcmp(v[i].app, app) || strcmp(v[i].name, name))
            continue;
        memset(o, 0, sizeof(*o));
        snprintf(o->name, sizeof(o->name), "%s", v[i].relay);
        snprintf(o->state, sizeof(o->state), "%s",
                 sl_relay_state_name((enum sl_relay_state) v[i].state));
        snprintf(o->url, sizeof(o->url), "%s", v[i].url);
        o->reconnects = v[i].reconnects;
        o->bytes_sent = v[i].bytes;
        k++;
    }
    free(v);
    return k;
}

#define API_MAX_RECORDINGS 256

static int
api_recording(void *ctx, const char *app, const char *name,
              struct sl_stats_recording *out)
{
    static const char *const states[] = {"waiting", "recording", "failed",
                                         "done"};
    struct sl_rec_stats     *v = malloc(API_MAX_RECORDINGS * sizeof(*v));
    int                      n, found = 0;

    if (v == NULL)
        return 0;
    n = sl_recorder_stats(((struct sl_stage_stats *) ctx)->recorder, v,
                          API_MAX_RECORDINGS);
    for (int i = 0; i < n && !found; i++) {
        if (strcmp(v[i].app, app) || strcmp(v[i].name, name))
            continue;
        memset(out, 0, sizeof(*out));
        {
            /* A long path keeps its end: the file name matters most. */
            size_t      len = strlen(v[i].file), cap = sizeof(out->file) - 1;
            const char *from = len > cap ? v[i].file + (len - cap) : v[i].file;

            memcpy(out->file, from, strlen(from) + 1);
        }
        snprintf(out->state, sizeof(out->state), "%s",
                 v[i].state >= 0 && v[i].state < 4 ? states[v[i].state] : "?");
        out->bytes = v[i].bytes;
        out->files = v[i].files;
        out->dropped_frames = v[i].dropped;
        found = 1;
    }
    free(v);
    return found;
}

static int
api_relay_count(void *ctx)
{
    struct sl_relay_stats *v = malloc(API_MAX_RELAYS * sizeof(*v));
    int                    n;

    if (v == NULL)
        return 0;
    n = sl_relays_stats(((struct sl_stage_stats *) ctx)->relays, v,
                        API_MAX_RELAYS);
    free(v);
    return n;
}

/* The ladders' figures: the rungs of the ladder transcoding APP/NAME.
 * fps, speed and bit rate are averages since the ladder started. */
#define API_MAX_LADDERS 64

static int
api_renditions(void *ctx, const char *app, const char *name,
               struct sl_stats_rendition *out, int max)
{
    struct sl_ladder_stats *v = malloc(API_MAX_LADDERS * sizeof(*v));
    int                     n, k = 0;

    if (v == NULL)
        return 0;
    n = sl_transcoder_stats(((struct sl_stage_stats *) ctx)->transcoder, v,
                            API_MAX_LADDERS);
    for (int i = 0; i < n; i++) {
        const struct sl_ladder_stats *l = &v[i];
        double up_s = l->uptime_ms > 0 ? l->uptime_ms / 1000.0 : 1;

        if (strcmp(l->app, app) || strcmp(l->name, name))
            continue;
        for (int r = 0; r < l->nrungs && k < max; r++) {
            const struct sl_rung_stats *rs = &l->rungs[r];
            struct sl_stats_rendition  *o = &out[k];

            if (!rs->live)
                continue;
            memset(o, 0, sizeof(*o));
            snprintf(o->name, sizeof(o->name), "%s", rs->name);
            o->width = rs->width;
            o->height = rs->height;
            o->fps = rs->frames_out / up_s;
            o->speed = l->busy_us > 0
                           ? (double) (l->media_ms - l->media_start_ms) *
                                 1000.0 / (double) l->busy_us
                           : 0;
            o->dropped_frames = l->dropped_frames;
            o->bitrate = (uint64_t) (rs->bytes_out * 8 / up_s);
            k++;
        }
        break;
    }
    free(v);
    return k;
}

/* The streams the server publishes itself: every running rung and every
 * live edge pull. */
static int
api_served(void *ctx, struct sl_stats_served *out, int max)
{
    struct sl_stage_stats  *a = ctx;
    struct sl_ladder_stats *l = malloc(API_MAX_LADDERS * sizeof(*l));
    struct sl_relay_stats  *r = malloc(API_MAX_RELAYS * sizeof(*r));
    int                     nl, nr, k = 0;

    if (l == NULL || r == NULL) {
        free(l);
        free(r);
        return 0;
    }
    nl = sl_transcoder_stats(a->transcoder, l, API_MAX_LADDERS);
    for (int i = 0; i < nl; i++) {
        double up_s = l[i].uptime_ms > 0 ? l[i].uptime_ms / 1000.0 : 1;

        for (int j = 0; j < l[i].nrungs && k < max; j++) {
            const struct sl_rung_stats *rs = &l[i].rungs[j];
            struct sl_stats_served     *o = &out[k];

            if (!rs->live)
                continue;
            memset(o, 0, sizeof(*o));
            snprintf(o->app, sizeof(o->app), "%s", l[i].app);
            snprintf(o->name, sizeof(o->name), "%.*s_%s",
                     (int) (sizeof(o->name) - strlen(rs->name) - 2), l[i].name,
                     rs->name);
            snprintf(o->origin, sizeof(o->origin),
                     "rendition %.64s of %.64s/%.64s", rs->name, l[i].app,
                     l[i].name);
            snprintf(o->client, sizeof(o->client), "sluice transcoder");
            snprintf(o->vcodec, sizeof(o->vcodec), "h264");
            o->width = rs->width;
            o->height = rs->height;
            o->fps = rs->frames_out / up_s;
            o->bitrate = (uint64_t) (rs->bytes_out * 8 / up_s);
            o->uptime_s = up_s;
            k++;
        }
    }
    nr = sl_relays_stats(a->relays, r, API_MAX_RELAYS);
    for (int i = 0; i < nr && k < max; i++) {
        struct sl_stats_served *o = &out[k];

        if (!r[i].pull || r[i].state != SL_RELAY_LIVE)
            continue;
        memset(o, 0, sizeof(*o));
        snprintf(o->app, sizeof(o->app), "%s", r[i].app);
        snprintf(o->name, sizeof(o->name), "%s", r[i].name);
        snprintf(o->origin, sizeof(o->origin), "%.255s", r[i].url);
        snprintf(o->client, sizeof(o->client), "sluice edge pull");
        snprintf(o->vcodec, sizeof(o->vcodec), "h264");
        snprintf(o->acodec, sizeof(o->acodec), "aac");
        o->width = r[i].width;
        o->height = r[i].height;
        k++;
    }
    free(l);
    free(r);
    return k;
}

static int
api_hls_viewers(void *ctx, const char *app, const char *name)
{
    struct sl_hls *h = ((struct sl_stage_stats *) ctx)->hls;

    return h != NULL ? sl_hls_viewer_count(h, app, name) : 0;
}

static int
api_hls(void *ctx, const char *app, const char *name, struct sl_stats_hls *out)
{
    struct sl_hls            *h = ((struct sl_stage_stats *) ctx)->hls;
    struct sl_hls_group_stats g;

    if (h == NULL || sl_hls_group_stats(h, app, name, &g) < 0)
        return 0;
    *out = (struct sl_stats_hls){
        .variants = g.nvariants,
        .source_aligned = g.source_aligned,
        .segments = g.segments,
        .parts = g.parts,
        .bytes = g.bytes,
    };
    return 1;
}

void
sl_stage_stats_providers(struct sl_stage_stats     *ctx,
                         struct sl_stats_providers *p)
{
    *p = (struct sl_stats_providers){.ctx = ctx,
                                     .renditions = api_renditions,
                                     .relays = api_relays,
                                     .relay_count = api_relay_count,
                                     .served = api_served,
                                     .recording = api_recording,
                                     .hls_viewers = api_hls_viewers,
                                     .hls = api_hls};
}

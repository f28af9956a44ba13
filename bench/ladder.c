/*
 * The transcoding-ladder benchmark (see ladder.h).
 *
 * What is measured.  The ladder is built from the config exactly as the
 * transcoder builds it for a publisher (transcode/transcoder.c), except
 * that it is fed by us instead of tapping a source (.tap = 0) and never
 * sheds load (.offline = 1).  Its rungs are published into a hub made
 * with the server's limits, so the cost of chunk-encoding every rung
 * message for players is counted as it is in the server.  The FLV file
 * is read and every tag copied into a refcounted buffer first; the clock
 * and getrusage(RUSAGE_SELF) start right before the ladder does and
 * stop after it has been joined.  The ladder's thread and libav's
 * decoder and encoder threads all belong to this process, so the
 * rusage difference is the ladder's whole CPU, and this thread's own
 * share is only the feeding (a reference per tag) and a 2 ms poll at the
 * end.
 *
 * What each rung made is counted by a tap on APP/bench_RUNG, as a player
 * would see it: video frames, keyframes (and their timestamps, to show
 * they line up across rungs), the H.264 payload bytes (the 5-byte FLV
 * video header excluded, which is what ffprobe reports as a packet's
 * size in an FLV file) and audio messages.
 *
 * Output: one "ladder ..." line of key=value pairs, one "rung ..." line
 * per rung, and a "keyframes ..." line; bench/ladder.sh reads them.
 */
#include "bench/ladder.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <libavutil/log.h>

#include "bench/flvfile.h"
#include "media/flv_av.h"
#include "pool/buf.h"
#include "pool/clock.h"
#include "rtmp/rtmp.h"
#include "server/config.h"
#include "server/hub.h"
#include "server/log.h"
#include "transcode/ladder.h"
#include "transcode/rung.h"
#include "transcode/size.h"

/* The source stream's name: the rungs become APP/bench_RUNG. */
#define SOURCE_NAME "bench"
/* The hub limits server/main.c derives from the config. */
#define GOP_MAX_MSGS 4096
#define GOP_MAX_BYTES (64u * 1024 * 1024)
#define RING_MARGIN_MS 1000
/* Keyframe timestamps kept per rung for the alignment check. */
#define MAX_KEYS 512

struct rung_tap {
    struct sl_tap tap; /* first: the callbacks cast back to us */
    char          stream[SL_NAME_MAX];
    /* Written by the ladder's thread (the callbacks), read after
     * sl_ladder_join, which orders the two. */
    uint64_t frames, keyframes, video_bytes, audio_msgs;
    int      nkeys;
    int64_t  keys[MAX_KEYS];
};

static void
ladder_usage(void)
{
    fprintf(stderr,
            "usage: sluice-bench --ladder -i FILE.flv [-c CONFIG] [-a APP]\n"
            "       sluice-bench --ladder --print-rungs WxH[@FPS] [-c CONFIG] "
            "[-a APP]\n"
            "CONFIG defaults to conf/sluice.ini, APP to live.\n");
}

static void
tap_media(struct sl_tap *t, uint8_t type, int64_t ts, struct sl_buf *b)
{
    struct rung_tap      *r = (struct rung_tap *) t;
    struct sl_media_video v;
    struct sl_media_audio a;

    if (type == SL_MSG_VIDEO) {
        if (sl_media_parse_video(b->data, b->len, &v) < 0 || v.seq_header ||
            v.seq_end)
            return;
        r->frames++;
        r->video_bytes += v.len;
        if (v.keyframe) {
            if (r->nkeys < MAX_KEYS)
                r->keys[r->nkeys++] = ts;
            r->keyframes++;
        }
    } else if (type == SL_MSG_AUDIO) {
        if (sl_media_parse_audio(b->data, b->len, &a) == 0 && !a.seq_header)
            r->audio_msgs++;
    }
}

static void
tap_end(struct sl_tap *t)
{
}

static double
tv_s(struct timeval tv)
{
    return (double) tv.tv_sec + (double) tv.tv_usec / 1e6;
}

/* The ladder as the transcoder builds it for APP (transcoder.c,
 * start_ladder), fed by us.  0, or -1 with a message. */
static int
build_params(const struct sl_config *cfg, const char *app,
             struct sl_ladder_params *p)
{
    const struct sl_app_config *ac = sl_config_app(cfg, app);

    if (ac == NULL || ac->nrenditions == 0) {
        fprintf(stderr, "sluice-bench: %s: app %s has no renditions\n",
                cfg->path, app);
        return -1;
    }
    memset(p, 0, sizeof(*p));
    snprintf(p->app, sizeof(p->app), "%s", app);
    snprintf(p->name, sizeof(p->name), "%s", SOURCE_NAME);
    p->nrungs = ac->nrenditions;
    for (int i = 0; i < ac->nrenditions; i++)
        p->rungs[i] = cfg->renditions[ac->renditions[i]];
    p->keyframe_interval_ms = ac->keyframe_interval_ms;
    p->tap = 0;
    p->offline = 1;
    return 0;
}

/* One line per rung for a src_w x src_h source at fps (30 when not
 * given): what the ladder will make, with the decoder's and each
 * encoder's threads and x264's options, in the order bench/ladder.sh
 * reads it. */
static int
print_rungs(const struct sl_ladder_params *p, const char *size)
{
    int    src_w, src_h, n, slice, threads;
    double fps = 30;
    char   x264[256];

    n = sscanf(size, "%dx%d@%lf", &src_w, &src_h, &fps);
    if (n < 2 || src_w <= 0 || src_h <= 0 || fps <= 0 || fps > 240) {
        fprintf(stderr, "sluice-bench: --print-rungs wants WxH[@FPS], not %s\n",
                size);
        return 2;
    }
    printf("keyframe_interval_ms %u\n", p->keyframe_interval_ms);
    threads = sl_ladder_decoder_threads(p, &slice);
    printf("decoder %d %s\n", threads, slice ? "slice" : "frame");
    for (int i = 0; i < p->nrungs; i++) {
        const struct sl_rendition_config *r = &p->rungs[i];
        int                               w, h;

        if (sl_rung_size(src_w, src_h, r->width, r->height, &w, &h) < 0) {
            printf("skip %s\n", r->name);
            continue;
        }
        threads = sl_rung_encoder_options(r, r->fps > 0 ? r->fps : fps, x264,
                                          sizeof(x264));
        /* name w h bitrate maxrate bufsize preset profile encoder
         * audio_copy audio_bitrate fps latency threads x264-params; "-"
         * for an empty word. */
        printf("rung %s %d %d %u %u %u %s %s %s %d %u %d %s %d %s\n", r->name,
               w, h, r->video_bitrate, r->maxrate, r->bufsize,
               r->preset[0] ? r->preset : "-", r->profile[0] ? r->profile : "-",
               r->encoder[0] ? r->encoder : "-", r->audio_copy,
               r->audio_bitrate, r->fps,
               r->latency == SL_LATENCY_LOW ? "low" : "normal", threads,
               x264[0] ? x264 : "-");
    }
    return 0;
}

/* Every rung that made frames has its keyframes at the same timestamps:
 * 1 yes, 0 no. */
static int
keys_aligned(const struct rung_tap *taps, int n)
{
    const struct rung_tap *ref = NULL;

    for (int i = 0; i < n; i++) {
        if (taps[i].frames == 0)
            continue;
        if (ref == NULL) {
            ref = &taps[i];
            continue;
        }
        if (taps[i].keyframes != ref->keyframes ||
            memcmp(taps[i].keys, ref->keys,
                   sizeof(ref->keys[0]) * (size_t) ref->nkeys) != 0)
            return 0;
    }
    return 1;
}

static void
report(const char *input, const struct sl_ladder_params *p,
       const struct sl_ladder_stats *st, const struct rung_tap *taps,
       double media_s, double wall_s, double user_s, double sys_s,
       unsigned long feed_drops)
{
    double cpu_s = user_s + sys_s;

    printf("ladder input=%s app=%s rungs=%d media_s=%.3f wall_s=%.3f "
           "user_s=%.3f sys_s=%.3f cpu_s=%.3f speed=%.2f frames_in=%llu "
           "dropped=%llu feed_drops=%lu busy_s=%.3f\n",
           input, p->app, p->nrungs, media_s, wall_s, user_s, sys_s, cpu_s,
           wall_s > 0 ? media_s / wall_s : 0.0,
           (unsigned long long) st->frames_in,
           (unsigned long long) st->dropped_frames, feed_drops,
           (double) st->busy_us / 1e6);
    for (int i = 0; i < p->nrungs; i++) {
        const struct sl_rung_stats *rs = &st->rungs[i];
        const struct rung_tap      *t = &taps[i];

        printf("rung name=%s size=%dx%d frames=%llu keyframes=%llu "
               "video_bytes=%llu video_kbps=%.0f target_kbps=%u "
               "audio_msgs=%llu\n",
               p->rungs[i].name, rs->width, rs->height,
               (unsigned long long) t->frames,
               (unsigned long long) t->keyframes,
               (unsigned long long) t->video_bytes,
               media_s > 0 ? (double) t->video_bytes * 8 / media_s / 1000 : 0.0,
               p->rungs[i].video_bitrate / 1000,
               (unsigned long long) t->audio_msgs);
    }
    printf("keyframes aligned=%s first_ms=%lld count=%llu\n",
           keys_aligned(taps, p->nrungs) ? "yes" : "NO",
           taps[0].nkeys > 0 ? (long long) taps[0].keys[0] : -1LL,
           (unsigned long long) taps[0].keyframes);
}

/* Copies every tag into a buffer of its own, as the chunk reader hands
 * the hub a publisher's messages.  NULL when out of memory. */
static struct sl_buf **
make_bufs(const struct sl_flv_file *f)
{
    struct sl_buf **bufs = calloc(f->ntags ? f->ntags : 1, sizeof(*bufs));

    if (bufs == NULL)
        return NULL;
    for (size_t i = 0; i < f->ntags; i++) {
        bufs[i] = sl_buf_from(f->tags[i].body, f->tags[i].len);
        if (bufs[i] == NULL) {
            while (i-- > 0)
                sl_buf_unref(bufs[i]);
            free(bufs);
            return NULL;
        }
    }
    return bufs;
}

/* Taps every rung's stream in hub, so what a player would get is
 * counted.  Returns how many were tapped: fewer than p->nrungs when out
 * of memory. */
static int
tap_rungs(struct sl_hub *hub, const struct sl_ladder_params *p,
          struct rung_tap *taps)
{
    int n;

    for (n = 0; n < p->nrungs; n++) {
        struct rung_tap *t = &taps[n];

        snprintf(t->stream, sizeof(t->stream), "%s_%s", SOURCE_NAME,
                 p->rungs[n].name);
        t->tap.on_media = tap_media;
        t->tap.on_end = tap_end;
        if (sl_hub_tap(hub, p->app, t->stream, &t->tap) < 0)
            break;
    }
    return n;
}

/* The measured part: the ladder from its start to its join, fed every
 * tag as fast as it takes them; then the report.  0, or 1 when the
 * ladder did not start. */
static int
timed_run(const char *input, struct sl_hub *hub,
          const struct sl_ladder_params *p, const struct sl_flv_file *f,
          struct sl_buf **bufs, const struct rung_tap *taps)
{
    struct sl_ladder      *l;
    struct sl_ladder_stats st;
    struct rusage          ru0, ru1;
    struct timespec        pause = {0, 2 * 1000 * 1000};
    int64_t                t0, t1;
    unsigned long          feed_drops = 0;

    getrusage(RUSAGE_SELF, &ru0);
    t0 = sl_now_us();
    l = sl_ladder_start(hub, p);
    if (l == NULL) {
        fprintf(stderr, "sluice-bench: cannot start the ladder\n");
        return 1;
    }
    for (size_t i = 0; i < f->ntags; i++)
        feed_drops += (unsigned long) sl_ladder_feed(l, f->tags[i].type,
                                                     f->tags[i].ts, bufs[i], 1);
    sl_ladder_finish(l);
    while (!sl_ladder_done(l))
        nanosleep(&pause, NULL);
    sl_ladder_stats(l, &st);
    sl_ladder_join(l);
    t1 = sl_now_us();
    getrusage(RUSAGE_SELF, &ru1);

    report(input, p, &st, taps, f->duration_ms / 1000.0,
           (double) (t1 - t0) / 1e6, tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime),
           tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime), feed_drops);
    for (int i = 0; i < p->nrungs; i++)
        if (st.rungs[i].frames_out == 0 && taps[i].frames == 0)
            fprintf(stderr, "sluice-bench: rung %s made no video\n",
                    p->rungs[i].name);
    return 0;
}

static int
run(const char *input, const struct sl_config *cfg,
    const struct sl_ladder_params *p)
{
    struct sl_hub_limits lim = {
        .chunk_size = cfg->chunk_size,
        .merge_write_ms = cfg->merge_write_ms,
        .gop_cache = cfg->gop_cache,
        .gop_max_msgs = GOP_MAX_MSGS,
        .gop_max_bytes = GOP_MAX_BYTES,
        .ring_max_ms = cfg->max_lag_ms + RING_MARGIN_MS,
    };
    struct sl_flv_file f;
    struct sl_buf    **bufs = NULL;
    struct sl_hub     *hub = NULL;
    struct rung_tap   *taps = NULL;
    int                ntapped = 0, rc = 1;

    if (sl_flv_file_load(&f, input) < 0)
        return 1;
    bufs = make_bufs(&f);
    hub = sl_hub_new(&lim);
    taps = calloc((size_t) p->nrungs, sizeof(*taps));
    if (bufs == NULL || hub == NULL || taps == NULL) {
        fprintf(stderr, "sluice-bench: out of memory\n");
        goto out;
    }
    ntapped = tap_rungs(hub, p, taps);
    if (ntapped < p->nrungs) {
        fprintf(stderr, "sluice-bench: out of memory\n");
        goto out;
    }
    /* From here on everything counts. */
    rc = timed_run(input, hub, p, &f, bufs, taps);
out:
    for (int i = 0; i < ntapped; i++)
        sl_hub_untap(&taps[i].tap);
    free(taps);
    if (hub != NULL)
        sl_hub_free(hub);
    for (size_t i = 0; bufs != NULL && i < f.ntags; i++)
        sl_buf_unref(bufs[i]);
    free(bufs);
    sl_flv_file_free(&f);
    return rc;
}

int
sl_bench_ladder_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"print-rungs", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char             *input = NULL, *config = "conf/sluice.ini";
    const char             *app = "live", *print_size = NULL;
    struct sl_config       *cfg;
    struct sl_ladder_params p;
    char                    err[512];
    int                     c, rc;

    while ((c = getopt_long(argc, argv, "i:c:a:h", longs, NULL)) != -1) {
        switch (c) {
        case 'i':
            input = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'a':
            app = optarg;
            break;
        case 'P':
            print_size = optarg;
            break;
        default:
            ladder_usage();
            return 2;
        }
    }
    if ((input == NULL) == (print_size == NULL) || optind != argc) {
        ladder_usage();
        return 2;
    }
    cfg = sl_config_load(config, err, sizeof(err));
    if (cfg == NULL) {
        fprintf(stderr, "sluice-bench: %s\n", err);
        return 1;
    }
    if (build_params(cfg, app, &p) < 0) {
        sl_config_unref(cfg);
        return 1;
    }
    if (print_size != NULL) {
        rc = print_rungs(&p, print_size);
    } else {
        /* Only what goes wrong: the ladder's lifecycle lines and libav's
         * chatter (x264's summaries) would bury the result. */
        sl_log_set_level(SL_LOG_WARN);
        av_log_set_level(AV_LOG_WARNING);
        rc = run(input, cfg, &p);
    }
    sl_config_unref(cfg);
    return rc;
}

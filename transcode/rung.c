#include "transcode/rung.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/cpu.h>
#include <libavutil/opt.h>

#include "pool/clock.h"
#include "rtmp/rtmp.h"
#include "server/log.h"
#include "transcode/size.h"

/* Audio waiting for video: bounded in count and in time.  Beyond the
 * bound the oldest goes out anyway (or is dropped before the rung is
 * published: nobody can play it yet). */
#define APENDING_MAX_MSGS 512
#define APENDING_MAX_MS 3000

struct apending {
    struct sl_list link;
    int64_t        ts;
    struct sl_buf *buf;
};

void
sl_rung_init(struct sl_rung *r, const struct sl_rendition_config *cfg,
             const char *source_name)
{
    size_t a = strlen(source_name), b = strlen(cfg->name);

    memset(r, 0, sizeof(*r));
    r->cfg = *cfg;
    sl_list_init(&r->apending);
    /* A name that does not fit is not cut (two rungs could collide):
     * the rung does not run. */
    if (a + 1 + b + 1 > sizeof(r->stream_name)) {
        r->skipped = 1;
        return;
    }
    memcpy(r->stream_name, source_name, a);
    r->stream_name[a] = '_';
    memcpy(r->stream_name + a + 1, cfg->name, b + 1);
}

static void
emit(struct sl_rung *r, uint8_t type, int64_t ts, struct sl_buf *b)
{
    uint64_t now = sl_now_ms();

    if (r->stream == NULL || b == NULL)
        return;
    sl_hub_media(r->stream, type, (uint32_t) (ts < 0 ? 0 : ts), b, now);
    r->flush_due = sl_hub_flush(r->stream, now);
    atomic_fetch_add_explicit(&r->bytes_out, b->len, memory_order_relaxed);
}

static void
emit_metadata(struct sl_rung *r, int64_t ts)
{
    struct sl_media_meta m = {0};
    struct sl_buf       *b;

    if (r->venc != NULL) {
        m.width = r->w;
        m.height = r->h;
        m.fps = r->cfg.fps > 0 ? r->cfg.fps : r->fps;
        m.video_kbps = (int) (r->cfg.video_bitrate / 1000);
    }
    if (r->have_asc) {
        m.audio_rate = r->asc.sample_rate;
        m.audio_channels = r->asc.channels;
        if (!r->cfg.audio_copy)
            m.audio_kbps = (int) (r->cfg.audio_bitrate / 1000);
    }
    m.encoder = "sluice " SL_VERSION;
    b = sl_media_metadata_body(&m);
    emit(r, SL_MSG_DATA_AMF0, ts, b);
    sl_buf_unref(b);
}

static void
emit_video_header(struct sl_rung *r, int64_t ts)
{
    struct sl_buf *b;

    if (r->venc == NULL)
        return;
    b = sl_media_avc_seq_body(r->venc->extradata,
                              (size_t) r->venc->extradata_size);
    if (b == NULL) {
        sl_log_warn("rendition %s/%s: the encoder gave no usable H.264 "
                    "headers",
                    r->app, r->stream_name);
        return;
    }
    emit(r, SL_MSG_VIDEO, ts, b);
    sl_buf_unref(b);
}

/* Publishes the rung with its metadata and codec headers at ts.  A
 * ladder that ended a moment ago may still hold the name: wait for it,
 * up to the deadline. */
static int
publish(struct sl_rung *r, int64_t ts)
{
    struct timespec pause = {0, 50 * 1000 * 1000};
    int             rc;

    if (r->stream != NULL)
        return 0;
    for (;;) {
        rc = sl_hub_publish_derived(r->hub, r->app, r->stream_name, r,
                                    &r->stream);
        if (rc != -EBUSY || sl_now_ms() >= r->publish_deadline_ms)
            break;
        nanosleep(&pause, NULL);
    }
    if (rc < 0) {
        sl_log_warn("rendition %s/%s not started: %s", r->app, r->stream_name,
                    rc == -EBUSY ? "someone else publishes that name"
                                 : "out of memory");
        r->video_dead = r->audio_dead = 1;
        r->stream = NULL;
        return rc;
    }
    atomic_store(&r->live, 1);
    sl_log_info("rendition %s/%s started (%dx%d, %u kbit/s)", r->app,
                r->stream_name, r->w, r->h, r->cfg.video_bitrate / 1000);
    emit_metadata(r, ts);
    emit_video_header(r, ts);
    if (r->aseq != NULL)
        emit(r, SL_MSG_AUDIO, ts, r->aseq);
    return 0;
}

static void
pending_pop(struct sl_rung *r, int send)
{
    struct apending *a = sl_list_entry(r->apending.next, struct apending, link);

    sl_list_remove(&a->link);
    r->napending--;
    if (send)
        emit(r, SL_MSG_AUDIO, a->ts, a->buf);
    sl_buf_unref(a->buf);
    free(a);
}

/* Sends the waiting audio up to ts (all of it when all is set). */
static void
release_audio(struct sl_rung *r, int64_t upto, int all)
{
    while (r->napending > 0) {
        struct apending *a =
            sl_list_entry(r->apending.next, struct apending, link);

        if (!all && a->ts > upto)
            break;
        pending_pop(r, r->stream != NULL);
    }
}

static void
queue_audio(struct sl_rung *r, int64_t ts, struct sl_buf *b)
{
    struct apending *a, *first;

    if (r->audio_only || r->video_dead) {
        if (r->stream == NULL && publish(r, ts) < 0)
            return;
        emit(r, SL_MSG_AUDIO, ts, b);
        return;
    }
    a = malloc(sizeof(*a));
    if (a == NULL)
        return;
    a->ts = ts;
    a->buf = sl_buf_ref(b);
    sl_list_insert_tail(&r->apending, &a->link);
    r->napending++;
    for (;;) {
        first = sl_list_entry(r->apending.next, struct apending, link);
        if (r->napending <= APENDING_MAX_MSGS &&
            ts - first->ts <= APENDING_MAX_MS)
            break;
        pending_pop(r, r->stream != NULL);
    }
}

static void
out_video(struct sl_rung *r, AVPacket *pkt)
{
    int64_t        dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    int64_t        cts;
    struct sl_buf *b;

    /* B-frames put the first decode times before the first picture's;
     * a stream's timestamps cannot go below zero or back. */
    if (dts < 0)
        dts = 0;
    if (r->have_dts && dts < r->last_dts)
        dts = r->last_dts;
    r->have_dts = 1;
    r->last_dts = dts;
    cts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts - dts : 0;
    if (cts < 0)
        cts = 0;
    if (r->stream == NULL && publish(r, dts) < 0)
        return;
    b = sl_media_avc_frame_body(pkt->data, (size_t) pkt->size,
                                (pkt->flags & AV_PKT_FLAG_KEY) != 0,
                                (int32_t) cts);
    /* Audio up to this picture first: players get both in time order. */
    release_audio(r, dts, 0);
    if (b != NULL) {
        emit(r, SL_MSG_VIDEO, dts, b);
        sl_buf_unref(b);
        atomic_fetch_add_explicit(&r->frames_out, 1, memory_order_relaxed);
    }
}

static void
drain_video(struct sl_rung *r)
{
    while (avcodec_receive_packet(r->venc, r->pkt) == 0) {
        out_video(r, r->pkt);
        av_packet_unref(r->pkt);
    }
}

static void
set_priv(struct sl_rung *r, AVCodecContext *c, const char *key, const char *val)
{
    if (av_opt_set(c->priv_data, key, val, 0) < 0)
        sl_log_warn("rendition %s: encoder %s ignores %s=%s", r->cfg.name,
                    r->cfg.encoder, key, val);
}

/*
 * What a rung's encoder holds back, and why.  A picture leaves libx264
 * this many frames after it went in (x264's encoder.c, frames.i_delay):
 *
 *   max(bframes, rc-lookahead) + (frame threads - 1) + sync-lookahead
 *   + 1 for timestamps taken as variable frame rate (vfr-input)
 *
 * At veryfast with x264's own choices on two cores that is max(3, 10)
 * + 2 + 4 + 1 = 17 frames, 0.57 s at 30 fps, and more with more cores
 * (x264 runs 1.5 frame threads per core: 24 frames of threads alone on
 * 16 cores).  Measured with bench/ladder.sh, the whole ladder added
 * 0.70 s to a 1080p30 source's rungs.
 *
 * latency = normal keeps what buys quality and cuts what is only delay:
 * B-frames and the preset's analysis stay; the lookahead (which also
 * feeds mb-tree) is cut to NORMAL_LOOKAHEAD_MS of frames; the threaded
 * lookahead's buffer (sync-lookahead, pure delay) goes; frame threads
 * are capped at MAX_ENC_THREADS.  That is max(3, 5) + 2 + 0 + 1 = 8
 * frames at 30 fps on two cores, 9 from four cores up.  (Presets from
 * slow on choose B-frames with b-adapt 2, which holds 12 frames or more
 * whatever the lookahead: they are not for live ladders.)
 *
 * latency = low is x264's zerolatency tuning: no B-frames, no
 * lookahead (and so no mb-tree), constant frame rate timing, and slice
 * threads (every thread codes a part of the same picture) instead of
 * frame threads: no frame waits inside the encoder at all.  The price
 * is bits: without B-frames and mb-tree a rung needs more of them for
 * the same picture, and its rate control sees no frame ahead.
 */
#define NORMAL_LOOKAHEAD_MS 170
#define MAX_ENC_THREADS 4

/* The lookahead (rc-lookahead, frames) of each x264 preset, from
 * x264's common/base.c; -1 for a name x264 does not have.  The cap
 * never gives a preset more than its own. */
static int
preset_lookahead(const char *preset)
{
    static const struct {
        const char *name;
        int         frames;
    } presets[] = {{"ultrafast", 0}, {"superfast", 0}, {"veryfast", 10},
                   {"faster", 20},   {"fast", 30},     {"medium", 40},
                   {"slow", 50},     {"slower", 60},   {"veryslow", 60},
                   {"placebo", 60}};

    for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
        if (!strcmp(preset, presets[i].name))
            return presets[i].frames;
    return -1;
}

/* x264's own automatic thread count (1.5 per core), capped. */
static int
encoder_threads(void)
{
    int n = av_cpu_count() * 3 / 2;

    return n < 1 ? 1 : n > MAX_ENC_THREADS ? MAX_ENC_THREADS : n;
}

int
sl_rung_encoder_options(const struct sl_rendition_config *cfg, double fps,
                        char *x264, size_t cap)
{
    int own, la;

    if (strcmp(cfg->encoder, "libx264") != 0) {
        snprintf(x264, cap, "%s", "");
    } else if (cfg->latency == SL_LATENCY_LOW) {
        /* Keyframes only where the ladder forces them: scenecut=0. */
        snprintf(x264, cap, "%s",
                 "scenecut=0:bframes=0:rc-lookahead=0:sync-lookahead=0:"
                 "mbtree=0:force-cfr=1:sliced-threads=1");
    } else {
        own = preset_lookahead(cfg->preset);
        la = (int) (fps * NORMAL_LOOKAHEAD_MS / 1000.0 + 0.5);
        if (la < 1)
            la = 1;
        if (own >= 0 && own < la)
            la = own;
        snprintf(x264, cap, "scenecut=0:sync-lookahead=0:rc-lookahead=%d", la);
    }
    return encoder_threads();
}

/* The settings above on c, before it is opened. */
static void
set_latency(struct sl_rung *r, AVCodecContext *c, double fps)
{
    int  low = r->cfg.latency == SL_LATENCY_LOW;
    char x264[160];

    c->thread_count = sl_rung_encoder_options(&r->cfg, fps, x264, sizeof(x264));
    if (low) {
        /* Every encoder that knows these honours them; libx264 also
         * gets them in its own words. */
        c->max_b_frames = 0;
        c->thread_type = FF_THREAD_SLICE;
    }
    if (x264[0] != '\0') {
        set_priv(r, c, "x264-params", x264);
        return;
    }
    /* NVENC: its own words for no reordering and no output delay. */
    if (low && strstr(r->cfg.encoder, "nvenc") != NULL) {
        set_priv(r, c, "zerolatency", "1");
        set_priv(r, c, "delay", "0");
    }
    if (av_opt_find(c->priv_data, "forced-idr", NULL, 0, 0) != NULL)
        set_priv(r, c, "forced-idr", "1");
}

static int
open_video(struct sl_rung *r, int w, int h)
{
    const AVCodec  *codec = avcodec_find_encoder_by_name(r->cfg.encoder);
    AVCodecContext *c;
    double          fps = r->cfg.fps > 0 ? r->cfg.fps : r->fps;
    int             gop;

    if (codec == NULL || codec->type != AVMEDIA_TYPE_VIDEO) {
        sl_log_warn("rendition %s: no video encoder named %s", r->cfg.name,
                    r->cfg.encoder);
        return -1;
    }
    c = avcodec_alloc_context3(codec);
    if (c == NULL)
        return -1;
    c->width = w;
    c->height = h;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->time_base = (AVRational){1, 1000};
    c->framerate = av_d2q(fps, 1001000);
    c->bit_rate = r->cfg.video_bitrate;
    c->rc_max_rate = r->cfg.maxrate;
    c->rc_buffer_size = (int) r->cfg.bufsize;
    /* Keyframes are forced at the ladder's interval; the encoder's own
     * limit is set well beyond it so it never adds one in between. */
    gop = (int) (fps * r->keyframe_interval_ms / 1000.0 + 0.5);
    c->gop_size = gop * 2 + 1;
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    set_priv(r, c, "preset", r->cfg.preset);
    set_priv(r, c, "profile", r->cfg.profile);
    set_latency(r, c, fps);
    if (avcodec_open2(c, codec, NULL) < 0) {
        sl_log_warn("rendition %s: cannot open encoder %s for %dx%d",
                    r->cfg.name, r->cfg.encoder, w, h);
        avcodec_free_context(&c);
        return -1;
    }
    av_frame_free(&r->pic);
    r->pic = av_frame_alloc();
    if (r->pic == NULL) {
        avcodec_free_context(&c);
        return -1;
    }
    r->pic->format = AV_PIX_FMT_YUV420P;
    r->pic->width = w;
    r->pic->height = h;
    if (av_frame_get_buffer(r->pic, 0) < 0) {
        av_frame_free(&r->pic);
        avcodec_free_context(&c);
        return -1;
    }
    r->venc = c;
    r->w = w;
    r->h = h;
    atomic_store(&r->pub_w, w);
    atomic_store(&r->pub_h, h);
    return 0;
}

void
sl_rung_start(struct sl_rung *r, struct sl_hub *hub, const char *app, int w,
              int h, double fps, uint32_t keyframe_interval_ms,
              uint64_t deadline_ms)
{
    r->hub = hub;
    snprintf(r->app, sizeof(r->app), "%s", app);
    r->started = 1;
    r->fps = fps;
    r->src_w = w;
    r->src_h = h;
    r->keyframe_interval_ms = keyframe_interval_ms;
    r->publish_deadline_ms = deadline_ms;
    r->pkt = av_packet_alloc();
    if (r->pkt == NULL) {
        r->video_dead = r->audio_dead = 1;
        return;
    }
    if (w == 0) {
        r->audio_only = 1;
        return;
    }
    if (open_video(r, w, h) < 0)
        r->video_dead = 1;
}

void
sl_rung_source_size(struct sl_rung *r, int src_w, int src_h, double fps)
{
    int     w, h;
    int64_t ts = r->last_dts;

    if (!r->started || r->skipped || r->venc == NULL)
        return;
    r->src_w = src_w;
    r->src_h = src_h;
    if (sl_rung_size(src_w, src_h, r->cfg.width, r->cfg.height, &w, &h) < 0) {
        /* Ending a rung mid-stream would cut its players off: it keeps
         * its size and is scaled up until the source grows again. */
        sl_log_warn("rendition %s/%s: the source %dx%d is now smaller; "
                    "keeping %dx%d",
                    r->app, r->stream_name, src_w, src_h, r->w, r->h);
        return;
    }
    if (w == r->w && h == r->h)
        return; /* the scaler adapts by itself */
    avcodec_send_frame(r->venc, NULL);
    drain_video(r);
    avcodec_free_context(&r->venc);
    r->fps = fps;
    if (open_video(r, w, h) < 0) {
        r->video_dead = 1;
        return;
    }
    sl_log_info("rendition %s/%s is now %dx%d", r->app, r->stream_name, w, h);
    if (r->stream != NULL) {
        emit_metadata(r, ts);
        emit_video_header(r, ts);
    }
}

void
sl_rung_video(struct sl_rung *r, const AVFrame *src, int64_t pts, int force)
{
    int64_t period;

    if (!r->started || r->skipped || r->venc == NULL || r->video_dead)
        return;
    if (r->cfg.fps > 0 && !force) {
        /* At most fps pictures a second; half a period of slack keeps
         * a source at the same rate from losing every other frame. */
        period = 1000 / r->cfg.fps;
        if (r->have_in && pts < r->next_pts - period / 2)
            return;
    }
    r->sws = sws_getCachedContext(
        r->sws, src->width, src->height, (enum AVPixelFormat) src->format, r->w,
        r->h, AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
    if (r->sws == NULL || av_frame_make_writable(r->pic) < 0)
        return;
    sws_scale(r->sws, (const uint8_t *const *) src->data, src->linesize, 0,
              src->height, r->pic->data, r->pic->linesize);
    /* The encoder needs strictly increasing times. */
    if (r->have_in && pts <= r->last_in_pts)
        pts = r->last_in_pts + 1;
    if (r->cfg.fps > 0)
        r->next_pts = (r->have_in && r->next_pts + 1000 / r->cfg.fps > pts)
                          ? r->next_pts + 1000 / r->cfg.fps
                          : pts + 1000 / r->cfg.fps;
    r->have_in = 1;
    r->last_in_pts = pts;
    r->pic->pts = pts;
    r->pic->pict_type = force ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    if (avcodec_send_frame(r->venc, r->pic) < 0)
        return;
    drain_video(r);
}

/* Opened on the first decoded frame, which tells the rate and layout
 * for sure (a decoder may only know them once it has decoded). */
static int
open_audio(struct sl_rung *r, const AVFrame *f)
{
    const AVCodec  *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    AVCodecContext *c;

    if (codec == NULL || f->sample_rate <= 0 || f->ch_layout.nb_channels <= 0)
        return -1;
    c = avcodec_alloc_context3(codec);
    if (c == NULL)
        return -1;
    c->sample_rate = f->sample_rate;
    if (av_channel_layout_copy(&c->ch_layout, &f->ch_layout) < 0)
        goto fail;
    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    c->bit_rate = r->cfg.audio_bitrate;
    c->time_base = (AVRational){1, f->sample_rate};
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(c, codec, NULL) < 0 || c->frame_size <= 0)
        goto fail;
    r->fifo = av_audio_fifo_alloc(c->sample_fmt, c->ch_layout.nb_channels,
                                  c->frame_size * 2);
    r->aframe = av_frame_alloc();
    if (r->fifo == NULL || r->aframe == NULL)
        goto fail;
    r->aframe->nb_samples = c->frame_size;
    r->aframe->format = c->sample_fmt;
    r->aframe->sample_rate = c->sample_rate;
    if (av_channel_layout_copy(&r->aframe->ch_layout, &c->ch_layout) < 0 ||
        av_frame_get_buffer(r->aframe, 0) < 0)
        goto fail;
    r->aenc = c;
    sl_buf_unref(r->aseq);
    r->aseq = sl_media_aac_seq_body(c->extradata, (size_t) c->extradata_size);
    r->have_asc = sl_aac_parse_asc(c->extradata, (size_t) c->extradata_size,
                                   &r->asc) == 0;
    return 0;
fail:
    avcodec_free_context(&c);
    av_audio_fifo_free(r->fifo);
    r->fifo = NULL;
    av_frame_free(&r->aframe);
    return -1;
}

void
sl_rung_audio_config(struct sl_rung *r, struct sl_buf *aseq,
                     const struct sl_aac_info *asc, int have_asc,
                     const AVCodecContext *adec)
{
    if (!r->started || r->skipped || r->audio_dead)
        return;
    if (!r->cfg.audio_copy) {
        /* Our own encoder's header goes out when it opens. */
        if (adec == NULL) {
            sl_log_warn("rendition %s/%s: cannot decode the source audio "
                        "to re-encode it; the rung goes without",
                        r->app, r->stream_name);
            r->audio_dead = 1;
        }
        return;
    }
    sl_buf_unref(r->aseq);
    r->aseq = sl_buf_ref(aseq);
    r->have_asc = have_asc;
    if (have_asc)
        r->asc = *asc;
    if (r->stream != NULL)
        emit(r, SL_MSG_AUDIO, r->last_dts, r->aseq);
}

void
sl_rung_audio_copy(struct sl_rung *r, int64_t ts, struct sl_buf *b)
{
    if (!r->started || r->skipped || r->audio_dead || !r->cfg.audio_copy)
        return;
    queue_audio(r, ts, b);
}

static void
drain_audio(struct sl_rung *r)
{
    while (avcodec_receive_packet(r->aenc, r->pkt) == 0) {
        int64_t        ms = av_rescale(r->pkt->pts, 1000, r->aenc->sample_rate);
        struct sl_buf *b =
            sl_media_aac_frame_body(r->pkt->data, (size_t) r->pkt->size);

        if (b != NULL) {
            queue_audio(r, ms, b);
            sl_buf_unref(b);
        }
        av_packet_unref(r->pkt);
    }
}

void
sl_rung_audio_frame(struct sl_rung *r, const AVFrame *f, int64_t pts)
{
    if (!r->started || r->skipped || r->audio_dead || r->cfg.audio_copy)
        return;
    if (r->aenc == NULL) {
        if (open_audio(r, f) < 0) {
            sl_log_warn("rendition %s/%s: cannot re-encode this audio; "
                        "the rung goes without",
                        r->app, r->stream_name);
            r->audio_dead = 1;
            return;
        }
        if (r->stream != NULL)
            emit(r, SL_MSG_AUDIO, pts, r->aseq);
    }
    if (f->format != r->aenc->sample_fmt ||
        f->ch_layout.nb_channels != r->aenc->ch_layout.nb_channels ||
        f->sample_rate != r->aenc->sample_rate) {
        sl_log_warn("rendition %s/%s: the source audio changed format; "
                    "the rung goes without audio",
                    r->app, r->stream_name);
        r->audio_dead = 1;
        return;
    }
    if (!r->have_apts) {
        r->have_apts = 1;
        r->apts = av_rescale(pts, f->sample_rate, 1000);
    }
    if (av_audio_fifo_write(r->fifo, (void **) f->extended_data,
                            f->nb_samples) < f->nb_samples)
        return;
    while (av_audio_fifo_size(r->fifo) >= r->aenc->frame_size) {
        if (av_frame_make_writable(r->aframe) < 0 ||
            av_audio_fifo_read(r->fifo, (void **) r->aframe->data,
                               r->aenc->frame_size) < r->aenc->frame_size)
            return;
        r->aframe->pts = r->apts;
        r->apts += r->aenc->frame_size;
        if (avcodec_send_frame(r->aenc, r->aframe) < 0)
            return;
        drain_audio(r);
    }
}

void
sl_rung_flush_hub(struct sl_rung *r, uint64_t now_ms)
{
    if (r->stream != NULL && r->flush_due != 0 && now_ms >= r->flush_due)
        r->flush_due = sl_hub_flush(r->stream, now_ms);
}

void
sl_rung_end(struct sl_rung *r)
{
    if (!r->started)
        return;
    if (r->venc != NULL && !r->video_dead) {
        avcodec_send_frame(r->venc, NULL);
        drain_video(r);
    }
    if (r->aenc != NULL && !r->audio_dead) {
        avcodec_send_frame(r->aenc, NULL);
        drain_audio(r);
    }
    release_audio(r, 0, 1);
    if (r->stream != NULL) {
        sl_hub_flush(r->stream, sl_now_ms() + 60000);
        sl_hub_unpublish(r->stream, r);
        r->stream = NULL;
        sl_log_info("rendition %s/%s ended (%llu frames)", r->app,
                    r->stream_name,
                    (unsigned long long) atomic_load(&r->frames_out));
    }
    atomic_store(&r->live, 0);
    r->started = 0;
}

void
sl_rung_free(struct sl_rung *r)
{
    while (r->napending > 0)
        pending_pop(r, 0);
    avcodec_free_context(&r->venc);
    avcodec_free_context(&r->aenc);
    sws_freeContext(r->sws);
    r->sws = NULL;
    av_frame_free(&r->pic);
    av_frame_free(&r->aframe);
    av_audio_fifo_free(r->fifo);
    r->fifo = NULL;
    av_packet_free(&r->pkt);
    sl_buf_unref(r->aseq);
    r->aseq = NULL;
}

void
sl_rung_stats(struct sl_rung *r, struct sl_rung_stats *out)
{
    snprintf(out->name, sizeof(out->name), "%s", r->cfg.name);
    out->live = atomic_load(&r->live);
    out->width = atomic_load(&r->pub_w);
    out->height = atomic_load(&r->pub_h);
    out->frames_out =
        atomic_load_explicit(&r->frames_out, memory_order_relaxed);
    out->bytes_out = atomic_load_explicit(&r->bytes_out, memory_order_relaxed);
}

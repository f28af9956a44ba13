#include "transcode/ladder.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "media/flv_av.h"
#include "pool/clock.h"
#include "pool/queue.h"
#include "rtmp/amf.h"
#include "rtmp/rtmp.h"
#include "rtmp/codec.h"
#include "rtmp/flv.h"
#include "rtmp/meta.h"
#include "server/log.h"
#include "transcode/rung.h"
#include "transcode/size.h"

/* Queue bounds besides queue_ms: a flood of tiny messages or of huge
 * ones is bounded too.  Headers and metadata may exceed the soft bounds
 * (they are rare and small) up to the hard message bound. */
#define QUEUE_MAX_MSGS 2048
#define QUEUE_HARD_MSGS 4096
#define QUEUE_MAX_BYTES (64u << 20)
#define DEFAULT_QUEUE_MS 3000
/* A source without video starts audio-only rungs after this much audio. */
#define AUDIO_ONLY_AFTER_MS 1000
/* How often drops are reported. */
#define DROP_LOG_MS 10000
/* How long a new ladder waits for an old one to release a rung's name
 * (a publisher that came straight back). */
#define PUBLISH_RETRY_MS 5000

struct qitem {
    struct sl_list link;
    uint8_t        type;
    int64_t        ts;
    struct sl_buf *buf;
};

struct sl_ladder {
    struct sl_hub          *hub;
    struct sl_ladder_params p;
    struct sl_tap           tap;
    int                     tapped;
    pthread_t               thread;

    /* The queue and the flags, under lock. */
    pthread_mutex_t lock;
    pthread_cond_t  cond; /* items arrived, or room, or a flag */
    struct sl_list  q;
    uint32_t        qn;
    uint64_t        qbytes;
    int             ended;    /* no more input: drain, then finish */
    int             stopping; /* finish now */
    int             drop_until_key;
    uint64_t        drops_logged_ms;
    atomic_int      done;

    /* Counters read by sl_ladder_stats from any thread. */
    atomic_ullong frames_in, dropped, dropped_audio, busy_us;
    atomic_llong  media_ms, media_start_ms;
    atomic_int    have_media;
    uint64_t      start_ms;

    /* Everything below belongs to the ladder's thread. */
    AVCodecContext    *vdec;
    struct sl_buf     *vseq;       /* the source's AVC sequence header */
    int                video_dead; /* source video cannot be transcoded */
    int                saw_video;
    AVCodecContext    *adec; /* only when a rung re-encodes audio */
    struct sl_buf     *aseq; /* the source's AAC sequence header */
    struct sl_aac_info asc;
    int                have_asc;
    int64_t            first_audio_ts;
    int                have_audio;
    double             meta_fps;  /* the source's metadata framerate */
    int64_t            last_vpts; /* for the frame rate estimate */
    double             est_fps;
    int                src_w, src_h;
    int                started; /* rungs published */
    int64_t            kf_anchor, next_kf;
    int                have_anchor;
    AVPacket          *pkt;
    AVFrame           *frame;
    AVFrame           *aframe;
    uint64_t           dropped_reported;
    struct sl_rung     rungs[SL_APP_MAX_RENDITIONS];
};

static int64_t
span_ms(struct sl_ladder *l)
{
    struct qitem *first, *last;

    if (l->qn < 2)
        return 0;
    first = sl_list_entry(l->q.next, struct qitem, link);
    last = sl_list_entry(l->q.prev, struct qitem, link);
    return last->ts - first->ts;
}

/* Queue lock held. */
static int
queue_full(struct sl_ladder *l)
{
    return l->qn >= QUEUE_MAX_MSGS || l->qbytes >= QUEUE_MAX_BYTES ||
           span_ms(l) >= (int64_t) l->p.queue_ms;
}

static void
push_item(struct sl_ladder *l, uint8_t type, int64_t ts, struct sl_buf *b)
{
    struct qitem *it = malloc(sizeof(*it));

    if (it == NULL)
        return;
    it->type = type;
    it->ts = ts;
    it->buf = sl_buf_ref(b);
    sl_list_insert_tail(&l->q, &it->link);
    l->qn++;
    l->qbytes += b->len;
    pthread_cond_broadcast(&l->cond);
}

int
sl_ladder_feed(struct sl_ladder *l, uint8_t type, int64_t ts, struct sl_buf *b,
               int wait)
{
    struct sl_flv_info info;
    int                dropped = 1;

    sl_flv_inspect(type, b->data, b->len, &info);
    pthread_mutex_lock(&l->lock);
    if (l->ended || l->stopping) {
        pthread_mutex_unlock(&l->lock);
        return 1;
    }
    if (wait) {
        while (queue_full(l) && !l->stopping)
            pthread_cond_wait(&l->cond, &l->lock);
        push_item(l, type, ts, b);
        pthread_mutex_unlock(&l->lock);
        return 0;
    }
    if (type == SL_MSG_DATA_AMF0 || info.seq_header || info.seq_end) {
        /* Rare and small, and the decoder needs them. */
        if (l->qn < QUEUE_HARD_MSGS) {
            push_item(l, type, ts, b);
            dropped = 0;
        }
    } else if (info.video) {
        if (queue_full(l)) {
            l->drop_until_key = 1;
        } else if (l->drop_until_key && info.keyframe) {
            l->drop_until_key = 0;
        }
        if (!l->drop_until_key) {
            push_item(l, type, ts, b);
            dropped = 0;
        } else if (!info.command) {
            atomic_fetch_add_explicit(&l->dropped, 1, memory_order_relaxed);
        }
    } else if (!queue_full(l)) {
        push_item(l, type, ts, b);
        dropped = 0;
    } else {
        atomic_fetch_add_explicit(&l->dropped_audio, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&l->lock);
    return dropped;
}

static void
raise_flag(struct sl_ladder *l, int *flag)
{
    pthread_mutex_lock(&l->lock);
    *flag = 1;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

void
sl_ladder_finish(struct sl_ladder *l)
{
    raise_flag(l, &l->ended);
}

void
sl_ladder_stop(struct sl_ladder *l)
{
    raise_flag(l, &l->stopping);
}

int
sl_ladder_done(struct sl_ladder *l)
{
    return atomic_load(&l->done);
}

/* Tap callbacks: the publisher's thread, stream lock held. */
static void
tap_media(struct sl_tap *tap, uint8_t type, int64_t ts, struct sl_buf *b)
{
    struct sl_ladder *l =
        (struct sl_ladder *) ((char *) tap - offsetof(struct sl_ladder, tap));

    sl_ladder_feed(l, type, ts, b, 0);
}

static void
tap_end(struct sl_tap *tap)
{
    struct sl_ladder *l =
        (struct sl_ladder *) ((char *) tap - offsetof(struct sl_ladder, tap));

    sl_ladder_finish(l);
}

/* ---- the ladder's thread ---------------------------------------------- */

static double
source_fps(const struct sl_ladder *l)
{
    if (l->meta_fps > 0 && l->meta_fps <= 240)
        return l->meta_fps;
    if (l->est_fps > 0)
        return l->est_fps;
    return 30;
}

static void
read_metadata(struct sl_ladder *l, const struct sl_buf *b)
{
    struct sl_amf_node        nodes[128];
    struct sl_amf_doc         doc;
    const struct sl_amf_node *obj;
    double                    fps;

    sl_amf_doc_init(&doc, nodes, 128);
    if (!sl_meta_find(&doc, b->data, b->len, &obj))
        return;
    fps = sl_meta_number(&doc, obj, "framerate");
    if (fps == 0)
        fps = sl_meta_number(&doc, obj, "fps");
    if (fps > 0 && fps <= 240)
        l->meta_fps = fps;
}

static void
close_video_decoder(struct sl_ladder *l)
{
    avcodec_free_context(&l->vdec);
}

/* The decoder is shared by every rung, so its threading follows the
 * most demanding rung.  Frame threads each hold a picture back (one
 * frame of delay per thread beyond the first; libavcodec's automatic
 * count is a thread per core plus one, up to 16).  Quality-first
 * ladders keep DEC_FRAME_THREADS of them: decoding overlaps the
 * scaling and encoding on the ladder's thread for one frame of delay.
 * A ladder with a low-latency rung decodes with slice threads instead,
 * which hold nothing back (and run in parallel only for a source coded
 * in slices; otherwise decoding runs on the ladder's thread).  Either
 * way a source with B-frames still costs its reorder delay: a picture
 * comes out of the decoder only once the frames that precede it on
 * screen have arrived. */
#define DEC_FRAME_THREADS 2

int
sl_ladder_decoder_threads(const struct sl_ladder_params *p, int *slice)
{
    for (int i = 0; i < p->nrungs; i++)
        if (p->rungs[i].latency == SL_LATENCY_LOW) {
            *slice = 1;
            return 0; /* libavcodec's count: nothing waits on it */
        }
    *slice = 0;
    return DEC_FRAME_THREADS;
}

static int
open_video_decoder(struct sl_ladder *l, const uint8_t *avcc, size_t len)
{
    const AVCodec  *codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    AVCodecContext *c;
    int             slice;

    if (codec == NULL || len == 0)
        return -1;
    c = avcodec_alloc_context3(codec);
    if (c == NULL)
        return -1;
    c->extradata = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (c->extradata == NULL) {
        avcodec_free_context(&c);
        return -1;
    }
    memcpy(c->extradata, avcc, len);
    c->extradata_size = (int) len;
    c->time_base = (AVRational){1, 1000};
    c->pkt_timebase = (AVRational){1, 1000};
    c->thread_count = sl_ladder_decoder_threads(&l->p, &slice);
    c->thread_type = slice ? FF_THREAD_SLICE : FF_THREAD_FRAME;
    if (avcodec_open2(c, codec, NULL) < 0) {
        avcodec_free_context(&c);
        return -1;
    }
    l->vdec = c;
    return 0;
}

static void
rungs_flush_hub(struct sl_ladder *l, uint64_t now)
{
    for (int i = 0; i < l->p.nrungs; i++)
        sl_rung_flush_hub(&l->rungs[i], now);
}

/* Publishes every rung that fits the source (all of them for an
 * audio-only source: w = h = 0). */
static void
start_rungs(struct sl_ladder *l, int w, int h)
{
    uint64_t deadline = sl_now_ms() + PUBLISH_RETRY_MS;

    l->started = 1;
    l->src_w = w;
    l->src_h = h;
    for (int i = 0; i < l->p.nrungs; i++) {
        struct sl_rung *r = &l->rungs[i];
        int             rw = 0, rh = 0;

        if (r->skipped) {
            sl_log_warn("ladder %s/%s: rendition %s skipped: the stream "
                        "name would be too long",
                        l->p.app, l->p.name, r->cfg.name);
            continue;
        }
        if (w > 0 &&
            sl_rung_size(w, h, r->cfg.width, r->cfg.height, &rw, &rh) < 0) {
            char box[48];

            r->skipped = 1;
            if (r->cfg.width == 0)
                snprintf(box, sizeof(box), "height %d", r->cfg.height);
            else if (r->cfg.height == 0)
                snprintf(box, sizeof(box), "width %d", r->cfg.width);
            else
                snprintf(box, sizeof(box), "%dx%d", r->cfg.width,
                         r->cfg.height);
            sl_log_info("ladder %s/%s: rendition %s (%s) skipped: larger "
                        "than the source %dx%d",
                        l->p.app, l->p.name, r->cfg.name, box, w, h);
            continue;
        }
        sl_rung_start(r, l->hub, l->p.app, rw, rh, source_fps(l),
                      l->p.keyframe_interval_ms, deadline);
    }
    /* The audio configuration may have come first. */
    for (int i = 0; i < l->p.nrungs; i++)
        if (l->aseq != NULL)
            sl_rung_audio_config(&l->rungs[i], l->aseq, &l->asc, l->have_asc,
                                 l->adec);
}

/* The keyframe decision, the same for every rung. */
static int
force_keyframe(struct sl_ladder *l, int64_t pts)
{
    int64_t iv = l->p.keyframe_interval_ms;

    if (!l->have_anchor) {
        l->have_anchor = 1;
        l->kf_anchor = pts;
        l->next_kf = pts;
    }
    if (pts < l->next_kf)
        return 0;
    l->next_kf = l->kf_anchor + ((pts - l->kf_anchor) / iv + 1) * iv;
    return 1;
}

static void
on_frame(struct sl_ladder *l, AVFrame *f, int skip)
{
    int64_t pts = f->best_effort_timestamp != AV_NOPTS_VALUE
                      ? f->best_effort_timestamp
                      : f->pts;
    int     force;

    if (pts == AV_NOPTS_VALUE)
        return;
    atomic_fetch_add_explicit(&l->frames_in, 1, memory_order_relaxed);
    if (l->last_vpts != 0 && pts > l->last_vpts) {
        double inst = 1000.0 / (double) (pts - l->last_vpts);

        l->est_fps = l->est_fps > 0 ? l->est_fps * 0.9 + inst * 0.1 : inst;
    }
    l->last_vpts = pts;
    if (!l->started) {
        start_rungs(l, f->width, f->height);
    } else if (f->width != l->src_w || f->height != l->src_h) {
        sl_log_info("ladder %s/%s: source is now %dx%d (was %dx%d)", l->p.app,
                    l->p.name, f->width, f->height, l->src_w, l->src_h);
        l->src_w = f->width;
        l->src_h = f->height;
        for (int i = 0; i < l->p.nrungs; i++)
            sl_rung_source_size(&l->rungs[i], f->width, f->height,
                                source_fps(l));
    }
    force = force_keyframe(l, pts);
    if (skip && !force) {
        atomic_fetch_add_explicit(&l->dropped, 1, memory_order_relaxed);
        return;
    }
    /* Low-latency rungs first: a frame-threaded encoder may make the
     * call wait for one of its threads. */
    for (int i = 0; i < l->p.nrungs; i++)
        if (l->rungs[i].cfg.latency == SL_LATENCY_LOW)
            sl_rung_video(&l->rungs[i], f, pts, force);
    for (int i = 0; i < l->p.nrungs; i++)
        if (l->rungs[i].cfg.latency != SL_LATENCY_LOW)
            sl_rung_video(&l->rungs[i], f, pts, force);
}

static void
decode_video(struct sl_ladder *l, AVPacket *pkt, int skip)
{
    int rc = avcodec_send_packet(l->vdec, pkt);

    if (rc < 0 && rc != AVERROR(EAGAIN) && pkt != NULL)
        sl_log_debug("ladder %s/%s: decoder refused a frame", l->p.app,
                     l->p.name);
    for (;;) {
        rc = avcodec_receive_frame(l->vdec, l->frame);
        if (rc < 0)
            break;
        on_frame(l, l->frame, skip);
        av_frame_unref(l->frame);
    }
}

static void
on_video(struct sl_ladder *l, int64_t ts, const struct sl_buf *b, int skip)
{
    struct sl_media_video v;

    if (l->video_dead || sl_media_parse_video(b->data, b->len, &v) < 0)
        return;
    l->saw_video = 1;
    if (v.codec != SL_FLV_VIDEO_AVC) {
        struct sl_flv_info info;
        char               name[32];

        sl_flv_inspect(SL_MSG_VIDEO, b->data, b->len, &info);
        sl_log_warn("ladder %s/%s: source video is %s, not H.264: no "
                    "renditions (the source itself plays as usual)",
                    l->p.app, l->p.name,
                    sl_flv_codec_name(&info, name, sizeof(name)));
        l->video_dead = 1;
        return;
    }
    if (v.seq_end)
        return;
    if (v.seq_header) {
        if (l->vseq != NULL && l->vseq->len == b->len &&
            !memcmp(l->vseq->data, b->data, b->len))
            return; /* the same configuration again */
        if (l->vdec != NULL) {
            decode_video(l, NULL, 0); /* drain the old one */
            close_video_decoder(l);
        }
        sl_buf_unref(l->vseq);
        l->vseq = sl_buf_ref((struct sl_buf *) b);
        if (open_video_decoder(l, v.data, v.len) < 0)
            sl_log_warn("ladder %s/%s: cannot open an H.264 decoder for "
                        "this sequence header; waiting for another",
                        l->p.app, l->p.name);
        return;
    }
    if (l->vdec == NULL || v.len == 0)
        return;
    if (av_new_packet(l->pkt, (int) v.len) < 0)
        return;
    memcpy(l->pkt->data, v.data, v.len);
    l->pkt->dts = ts;
    l->pkt->pts = ts + v.cts;
    if (v.keyframe)
        l->pkt->flags |= AV_PKT_FLAG_KEY;
    decode_video(l, l->pkt, skip);
    av_packet_unref(l->pkt);
}

static int
needs_audio_decoder(const struct sl_ladder *l)
{
    for (int i = 0; i < l->p.nrungs; i++)
        if (!l->rungs[i].cfg.audio_copy)
            return 1;
    return 0;
}

static void
open_audio_decoder(struct sl_ladder *l, const uint8_t *asc, size_t len)
{
    const AVCodec  *codec = avcodec_find_decoder(AV_CODEC_ID_AAC);
    AVCodecContext *c;

    avcodec_free_context(&l->adec);
    if (codec == NULL || (c = avcodec_alloc_context3(codec)) == NULL)
        return;
    c->extradata = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (c->extradata != NULL) {
        memcpy(c->extradata, asc, len);
        c->extradata_size = (int) len;
    }
    c->pkt_timebase = (AVRational){1, 1000};
    if (c->extradata == NULL || avcodec_open2(c, codec, NULL) < 0) {
        sl_log_warn("ladder %s/%s: cannot open an AAC decoder", l->p.app,
                    l->p.name);
        avcodec_free_context(&c);
    }
    l->adec = c;
}

static void
on_audio(struct sl_ladder *l, int64_t ts, struct sl_buf *b)
{
    struct sl_media_audio a;

    if (sl_media_parse_audio(b->data, b->len, &a) < 0)
        return;
    if (a.format == SL_FLV_AUDIO_AAC && a.seq_header) {
        sl_buf_unref(l->aseq);
        l->aseq = sl_buf_ref(b);
        l->have_asc = sl_aac_parse_asc(a.data, a.len, &l->asc) == 0;
        if (needs_audio_decoder(l))
            open_audio_decoder(l, a.data, a.len);
        if (l->started)
            for (int i = 0; i < l->p.nrungs; i++)
                sl_rung_audio_config(&l->rungs[i], l->aseq, &l->asc,
                                     l->have_asc, l->adec);
        return;
    }
    if (!l->have_audio) {
        l->have_audio = 1;
        l->first_audio_ts = ts;
    }
    if (!l->started) {
        /* Audio before the first picture is not worth keeping; without
         * any video the rungs start audio-only. */
        if (!l->saw_video && ts - l->first_audio_ts >= AUDIO_ONLY_AFTER_MS)
            start_rungs(l, 0, 0);
        if (!l->started)
            return;
    }
    for (int i = 0; i < l->p.nrungs; i++)
        if (l->rungs[i].cfg.audio_copy)
            sl_rung_audio_copy(&l->rungs[i], ts, b);
    if (l->adec == NULL || a.format != SL_FLV_AUDIO_AAC || a.len == 0)
        return;
    if (av_new_packet(l->pkt, (int) a.len) < 0)
        return;
    memcpy(l->pkt->data, a.data, a.len);
    l->pkt->pts = l->pkt->dts = ts;
    if (avcodec_send_packet(l->adec, l->pkt) >= 0) {
        while (avcodec_receive_frame(l->adec, l->aframe) >= 0) {
            int64_t pts = l->aframe->best_effort_timestamp;

            if (pts == AV_NOPTS_VALUE)
                pts = ts;
            for (int i = 0; i < l->p.nrungs; i++)
                if (!l->rungs[i].cfg.audio_copy)
                    sl_rung_audio_frame(&l->rungs[i], l->aframe, pts);
            av_frame_unref(l->aframe);
        }
    }
    av_packet_unref(l->pkt);
}

static void
process(struct sl_ladder *l, struct qitem *it, int skip)
{
    if (it->type == SL_MSG_VIDEO)
        on_video(l, it->ts, it->buf, skip);
    else if (it->type == SL_MSG_AUDIO)
        on_audio(l, it->ts, it->buf);
    else if (it->type == SL_MSG_DATA_AMF0)
        read_metadata(l, it->buf);
    if (!atomic_load_explicit(&l->have_media, memory_order_relaxed)) {
        atomic_store_explicit(&l->media_start_ms, it->ts, memory_order_relaxed);
        atomic_store_explicit(&l->have_media, 1, memory_order_release);
    }
    atomic_store_explicit(&l->media_ms, it->ts, memory_order_relaxed);
}

static void
report_drops(struct sl_ladder *l, uint64_t now)
{
    uint64_t d = atomic_load_explicit(&l->dropped, memory_order_relaxed);

    if (now - l->drops_logged_ms < DROP_LOG_MS)
        return;
    l->drops_logged_ms = now;
    if (d != l->dropped_reported) {
        sl_log_warn("ladder %s/%s: %llu frames dropped in the last %d s "
                    "(%llu in all): the transcoder is behind real time",
                    l->p.app, l->p.name,
                    (unsigned long long) (d - l->dropped_reported),
                    DROP_LOG_MS / 1000, (unsigned long long) d);
        l->dropped_reported = d;
    }
}

static uint64_t
next_flush_due(struct sl_ladder *l)
{
    uint64_t due = 0;

    for (int i = 0; i < l->p.nrungs; i++) {
        uint64_t d = l->rungs[i].flush_due;

        if (d != 0 && (due == 0 || d < due))
            due = d;
    }
    return due;
}

static void
wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t due_ms)
{
    struct timespec ts;
    uint64_t        now = sl_now_ms(), wait = 1000;

    if (due_ms != 0)
        wait = due_ms > now ? due_ms - now : 0;
    if (wait == 0)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t) (wait / 1000);
    ts.tv_nsec += (long) (wait % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cond, lock, &ts);
}

/* The decoders, the encoders and their pictures: most of a ladder's
 * memory (about 20 MB for a 720p source and one 240p rung) and its
 * codec threads.  The ladder's thread frees them as it finishes, not
 * the transcoder's join: that comes only at the next publish, so a
 * source that left for good kept them, threads and all, for as long as
 * the server ran (issue 15's soak: 15 threads instead of 10 and 96 MB
 * resident once every client had gone).  What stays until the join is
 * the struct: the counters sl_ladder_stats reads and the queue the tap
 * may still touch. */
static void
release_codecs(struct sl_ladder *l)
{
    for (int i = 0; i < l->p.nrungs; i++)
        sl_rung_free(&l->rungs[i]);
    close_video_decoder(l);
    avcodec_free_context(&l->adec);
    sl_buf_unref(l->vseq);
    l->vseq = NULL;
    sl_buf_unref(l->aseq);
    l->aseq = NULL;
    av_packet_free(&l->pkt);
    av_frame_free(&l->frame);
    av_frame_free(&l->aframe);
}

/* What the ladder's threads freed goes back to the kernel.  Its codecs'
 * large blocks are mapped and unmapped by themselves (main.c fixes the
 * mmap threshold), but their many smaller ones were carved from the
 * heap arenas of the threads that made them, and glibc gives an arena
 * back only from its top: the rest stays resident until another
 * allocation reuses it.  The codec threads are gone, so little does,
 * and every arena a ladder touched kept its high-water mark.
 * malloc_trim walks every arena once and releases the free pages: a
 * few milliseconds once per ladder.  In issue 15's soak, 12 minutes
 * with a ladder ending every 100 s, the RSS slope from minute 5 was
 * 17 MB an hour without it and -0.8 with it (docs/performance.md). */
static void
give_back_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

static void *
ladder_main(void *arg)
{
    struct sl_ladder *l = arg;
    int               stopped;

    pthread_mutex_lock(&l->lock);
    for (;;) {
        struct qitem *it;
        int           skip;
        uint64_t      t0;

        while (l->qn == 0 && !l->ended && !l->stopping) {
            uint64_t due = next_flush_due(l);

            if (due != 0 && due <= sl_now_ms())
                break;
            wait_until(&l->cond, &l->lock, due);
        }
        if (l->stopping || (l->qn == 0 && l->ended))
            break;
        if (l->qn == 0) {
            pthread_mutex_unlock(&l->lock);
            rungs_flush_hub(l, sl_now_ms());
            pthread_mutex_lock(&l->lock);
            continue;
        }
        it = sl_list_entry(l->q.next, struct qitem, link);
        sl_list_remove(&it->link);
        l->qn--;
        l->qbytes -= it->buf->len;
        /* More than a third of the bound still queued behind this one:
         * decode it but spare the encoders. */
        skip = !l->p.offline && span_ms(l) > (int64_t) l->p.queue_ms / 3;
        pthread_cond_broadcast(&l->cond);
        pthread_mutex_unlock(&l->lock);

        t0 = sl_now_us();
        process(l, it, skip);
        sl_buf_unref(it->buf);
        free(it);
        rungs_flush_hub(l, sl_now_ms());
        report_drops(l, sl_now_ms());
        atomic_fetch_add_explicit(&l->busy_us, sl_now_us() - t0,
                                  memory_order_relaxed);
        pthread_mutex_lock(&l->lock);
    }
    stopped = l->stopping;
    pthread_mutex_unlock(&l->lock);

    /* Graceful end: what the decoder holds, then what the encoders
     * hold, goes out before the rungs end. */
    if (l->vdec != NULL && !stopped)
        decode_video(l, NULL, 0);
    for (int i = 0; i < l->p.nrungs; i++)
        sl_rung_end(&l->rungs[i]);
    release_codecs(l);
    give_back_memory();
    atomic_store(&l->done, 1);
    return NULL;
}

struct sl_ladder *
sl_ladder_start(struct sl_hub *hub, const struct sl_ladder_params *p)
{
    struct sl_ladder *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    l->hub = hub;
    l->p = *p;
    if (l->p.queue_ms == 0)
        l->p.queue_ms = DEFAULT_QUEUE_MS;
    if (l->p.keyframe_interval_ms == 0)
        l->p.keyframe_interval_ms = 2000;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    sl_list_init(&l->q);
    l->drops_logged_ms = sl_now_ms();
    l->start_ms = l->drops_logged_ms;
    l->pkt = av_packet_alloc();
    l->frame = av_frame_alloc();
    l->aframe = av_frame_alloc();
    for (int i = 0; i < l->p.nrungs; i++)
        sl_rung_init(&l->rungs[i], &l->p.rungs[i], l->p.name);
    if (l->pkt == NULL || l->frame == NULL || l->aframe == NULL)
        goto fail;
    if (p->tap) {
        l->tap.on_media = tap_media;
        l->tap.on_end = tap_end;
        if (sl_hub_tap(hub, p->app, p->name, &l->tap) < 0)
            goto fail;
        l->tapped = 1;
    }
    if (pthread_create(&l->thread, NULL, ladder_main, l) != 0) {
        if (l->tapped)
            sl_hub_untap(&l->tap);
        goto fail;
    }
    return l;
fail:
    av_packet_free(&l->pkt);
    av_frame_free(&l->frame);
    av_frame_free(&l->aframe);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    free(l);
    return NULL;
}

void
sl_ladder_join(struct sl_ladder *l)
{
    struct sl_list *pos, *tmp;

    if (l == NULL)
        return;
    pthread_join(l->thread, NULL);
    /* After the untap no callback can queue anything more. */
    if (l->tapped)
        sl_hub_untap(&l->tap);
    sl_list_foreach_safe(pos, tmp, &l->q)
    {
        struct qitem *it = sl_list_entry(pos, struct qitem, link);

        sl_buf_unref(it->buf);
        free(it);
    }
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    free(l);
}

void
sl_ladder_stats(struct sl_ladder *l, struct sl_ladder_stats *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->app, sizeof(out->app), "%s", l->p.app);
    snprintf(out->name, sizeof(out->name), "%s", l->p.name);
    out->frames_in = atomic_load_explicit(&l->frames_in, memory_order_relaxed);
    out->dropped_frames =
        atomic_load_explicit(&l->dropped, memory_order_relaxed);
    out->media_ms = atomic_load_explicit(&l->media_ms, memory_order_relaxed);
    out->media_start_ms =
        atomic_load_explicit(&l->have_media, memory_order_acquire)
            ? atomic_load_explicit(&l->media_start_ms, memory_order_relaxed)
            : out->media_ms;
    out->uptime_ms = sl_now_ms() - l->start_ms;
    out->busy_us = atomic_load_explicit(&l->busy_us, memory_order_relaxed);
    out->nrungs = l->p.nrungs;
    for (int i = 0; i < l->p.nrungs; i++)
        sl_rung_stats(&l->rungs[i], &out->rungs[i]);
}

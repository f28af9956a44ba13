#include "relay/push.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavformat/avformat.h>

#include "media/flv_av.h"
#include "pool/clock.h"
#include "pool/queue.h"
#include "relay/io.h"
#include "relay/retry.h"
#include "relay/url.h"
#include "rtmp/amf.h"
#include "rtmp/rtmp.h"
#include "rtmp/codec.h"
#include "rtmp/flv.h"
#include "rtmp/meta.h"
#include "server/log.h"

/* A stream without video starts its connection after this much audio. */
#define AUDIO_ONLY_AFTER_MS 1000
/* A connection that carried media this long counts as a success. */
#define HEALTHY_MS 3000

struct pitem {
    struct sl_list link;
    uint8_t        type;
    uint8_t        key; /* a video keyframe */
    int64_t        ts;
    struct sl_buf *buf;
};

struct sl_push {
    struct sl_hub         *hub;
    char                   app[SL_NAME_MAX], name[SL_NAME_MAX];
    struct sl_relay_config cfg;
    struct sl_tap          tap;
    int                    tapped;
    pthread_t              thread;
    struct sl_relay_io     io;

    pthread_mutex_t lock;
    pthread_cond_t  cond;
    struct sl_list  q;
    uint64_t        qbytes;
    int             connected; /* the thread is writing */
    int             drop_until_key;
    int             ended;
    int             config_changed; /* a new sequence header arrived */
    struct sl_buf  *vseq, *aseq;    /* the stream's codec headers */
    int64_t         first_audio_ts;
    int             have_audio_ts;
    int             meta_w, meta_h; /* from the stream's onMetaData */
    double          meta_fps;

    atomic_int      done, state;
    atomic_ullong   reconnects, bytes, dropped;
    pthread_mutex_t url_lock;
    char            url_public[SL_URL_MAX];
};

static void
drop_head(struct sl_push *p)
{
    struct pitem *it = sl_list_entry(p->q.next, struct pitem, link);

    sl_list_remove(&it->link);
    p->qbytes -= it->buf->len;
    if (it->type == SL_MSG_VIDEO)
        atomic_fetch_add_explicit(&p->dropped, 1, memory_order_relaxed);
    sl_buf_unref(it->buf);
    free(it);
}

/* Push lock held. */
static void
queue_item(struct sl_push *p, uint8_t type, int key, int64_t ts,
           struct sl_buf *b)
{
    struct pitem *it;

    if (type == SL_MSG_VIDEO) {
        if (key && !p->connected) {
            /* Disconnected: the new GOP replaces the old one. */
            while (!sl_list_empty(&p->q))
                drop_head(p);
        }
        if (p->qbytes + b->len > p->cfg.max_buffer)
            p->drop_until_key = 1;
        else if (key)
            p->drop_until_key = 0;
        if (p->drop_until_key) {
            atomic_fetch_add_explicit(&p->dropped, 1, memory_order_relaxed);
            return;
        }
    } else if (p->qbytes + b->len > p->cfg.max_buffer) {
        return; /* audio past the bound: nothing to do but drop it */
    }
    it = malloc(sizeof(*it));
    if (it == NULL)
        return;
    it->type = type;
    it->key = (uint8_t) key;
    it->ts = ts;
    it->buf = sl_buf_ref(b);
    sl_list_insert_tail(&p->q, &it->link);
    p->qbytes += b->len;
    pthread_cond_signal(&p->cond);
}

static int
same_buf(const struct sl_buf *a, const struct sl_buf *b)
{
    return a != NULL && a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/* Push lock held. */
static void
read_metadata(struct sl_push *p, const struct sl_buf *b)
{
    struct sl_amf_node        nodes[128];
    struct sl_amf_doc         doc;
    const struct sl_amf_node *obj;
    double                    w, h;

    sl_amf_doc_init(&doc, nodes, 128);
    if (!sl_meta_find(&doc, b->data, b->len, &obj))
        return;
    w = sl_meta_number(&doc, obj, "width");
    h = sl_meta_number(&doc, obj, "height");
    if (w >= 1 && w <= 16384 && h >= 1 && h <= 16384) {
        p->meta_w = (int) w;
        p->meta_h = (int) h;
    }
    p->meta_fps = sl_meta_number(&doc, obj, "framerate");
}

/* Tap callbacks: the publisher's thread, stream lock held. */
static void
tap_media(struct sl_tap *tap, uint8_t type, int64_t ts, struct sl_buf *b)
{
    struct sl_push *p =
        (struct sl_push *) ((char *) tap - offsetof(struct sl_push, tap));
    struct sl_flv_info info;

    sl_flv_inspect(type, b->data, b->len, &info);
    pthread_mutex_lock(&p->lock);
    if (p->ended) {
        pthread_mutex_unlock(&p->lock);
        return;
    }
    if (info.seq_header) {
        struct sl_buf **slot = info.video ? &p->vseq : &p->aseq;

        if (!same_buf(*slot, b)) {
            /* A new or first header the connection does not carry: the
             * muxer declares its tracks at connect, so reconnect. */
            p->config_changed = 1;
            sl_buf_unref(*slot);
            *slot = sl_buf_ref(b);
        }
        pthread_cond_signal(&p->cond);
    } else if (info.video || info.audio) {
        if (info.audio && !p->have_audio_ts) {
            p->have_audio_ts = 1;
            p->first_audio_ts = ts;
        }
        if (!info.command && !info.seq_end)
            queue_item(p, type, info.video && info.keyframe, ts, b);
    } else if (type == SL_MSG_DATA_AMF0) {
        /* The muxer writes its own metadata from the codec parameters,
         * which need the picture size. */
        read_metadata(p, b);
    }
    pthread_mutex_unlock(&p->lock);
}

static void
tap_end(struct sl_tap *tap)
{
    struct sl_push *p =
        (struct sl_push *) ((char *) tap - offsetof(struct sl_push, tap));

    pthread_mutex_lock(&p->lock);
    p->ended = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* ---- the push's thread ------------------------------------------------ */

struct conn {
    AVFormatContext *oc;
    int              vidx, aidx;  /* output stream indexes, -1: none */
    int              waiting_key; /* skip until a video keyframe */
    uint64_t         since_ms;
    int64_t          sent_media;
};

/* The trailer and the close flush buffered bytes and send RTMP's
 * closing messages: to a downstream that stopped reading that blocks
 * like any write, so they get the same deadline. */
static void
conn_close(struct sl_push *p, struct conn *c, int trailer)
{
    if (c->oc == NULL)
        return;
    sl_relay_io_deadline(&p->io, p->cfg.timeout_ms);
    if (trailer)
        av_write_trailer(c->oc);
    avio_closep(&c->oc->pb);
    sl_relay_io_deadline(&p->io, 0);
    avformat_free_context(c->oc);
    c->oc = NULL;
}

static int
add_video(AVFormatContext *oc, const struct sl_buf *vseq, int w, int h,
          double fps)
{
    struct sl_media_video v;
    AVStream             *st;

    if (sl_media_parse_video(vseq->data, vseq->len, &v) < 0 ||
        v.codec != SL_FLV_VIDEO_AVC || v.len == 0)
        return -1;
    st = avformat_new_stream(oc, NULL);
    if (st == NULL)
        return -1;
    st->time_base = (AVRational){1, 1000};
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    st->codecpar->codec_id = AV_CODEC_ID_H264;
    st->codecpar->width = w;
    st->codecpar->height = h;
    if (fps > 0 && fps <= 240)
        st->avg_frame_rate = av_d2q(fps, 1001000);
    st->codecpar->extradata = av_mallocz(v.len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (st->codecpar->extradata == NULL)
        return -1;
    memcpy(st->codecpar->extradata, v.data, v.len);
    st->codecpar->extradata_size = (int) v.len;
    return st->index;
}

static int
add_audio(AVFormatContext *oc, const struct sl_buf *aseq)
{
    struct sl_media_audio a;
    struct sl_aac_info    asc;
    AVStream             *st;

    if (sl_media_parse_audio(aseq->data, aseq->len, &a) < 0 ||
        a.format != SL_FLV_AUDIO_AAC || a.len == 0 ||
        sl_aac_parse_asc(a.data, a.len, &asc) < 0)
        return -1;
    st = avformat_new_stream(oc, NULL);
    if (st == NULL)
        return -1;
    st->time_base = (AVRational){1, 1000};
    st->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
    st->codecpar->codec_id = AV_CODEC_ID_AAC;
    st->codecpar->sample_rate = asc.sample_rate;
    av_channel_layout_default(&st->codecpar->ch_layout,
                              asc.channels > 0 ? asc.channels : 2);
    st->codecpar->extradata = av_mallocz(a.len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (st->codecpar->extradata == NULL)
        return -1;
    memcpy(st->codecpar->extradata, a.data, a.len);
    st->codecpar->extradata_size = (int) a.len;
    return st->index;
}

static void
set_state(struct sl_push *p, enum sl_relay_state s)
{
    atomic_store_explicit(&p->state, s, memory_order_relaxed);
}

/* Opens a connection to url with the headers we have, within bound_ms
 * (TCP, RTMP handshake, connect, publish and the FLV header).  0, or a
 * negative AVERROR with *timed_out set when the bound ran out. */
static int
conn_open(struct sl_push *p, struct conn *c, const char *url,
          struct sl_buf *vseq, struct sl_buf *aseq, int w, int h, double fps,
          uint32_t bound_ms, int *timed_out)
{
    AVDictionary *opts = NULL;
    int           rc, srt;

    *timed_out = 0;
    memset(c, 0, sizeof(*c));
    c->vidx = c->aidx = -1;
    /* SRT carries MPEG-TS (the muxer turns AVCC into Annex B itself). */
    srt = strncmp(url, "srt://", 6) == 0;
    rc = avformat_alloc_output_context2(&c->oc, NULL, srt ? "mpegts" : "flv",
                                        url);
    if (rc < 0)
        return rc;
    c->oc->interrupt_callback = sl_relay_io_cb(&p->io);
    if (vseq != NULL)
        c->vidx = add_video(c->oc, vseq, w, h, fps);
    if (aseq != NULL)
        c->aidx = add_audio(c->oc, aseq);
    if (c->vidx < 0 && c->aidx < 0) {
        conn_close(p, c, 0);
        return AVERROR(EINVAL);
    }
    /* Without TCP_NODELAY each step of the RTMP connect waits out
     * Nagle's delay: ~130 ms per (re)connect instead of ~3. */
    av_dict_set(&opts, "tcp_nodelay", "1", 0);
    sl_relay_io_deadline(&p->io, bound_ms);
    rc = avio_open2(&c->oc->pb, url, AVIO_FLAG_WRITE,
                    &c->oc->interrupt_callback, &opts);
    av_dict_free(&opts);
    if (rc >= 0) {
        /* Live: no duration or file size to patch in at the end. */
        if (!srt)
            av_dict_set(&opts, "flvflags", "no_duration_filesize", 0);
        rc = avformat_write_header(c->oc, &opts);
        av_dict_free(&opts);
    }
    /* libavformat's TCP connect gives up by itself after 5 s. */
    if (rc < 0 && !atomic_load(&p->io.stop))
        *timed_out = sl_relay_io_expired(&p->io) || rc == AVERROR(ETIMEDOUT);
    sl_relay_io_deadline(&p->io, 0);
    if (rc < 0) {
        conn_close(p, c, 0);
        return rc;
    }
    c->waiting_key = c->vidx >= 0;
    c->since_ms = sl_now_ms();
    return 0;
}

/* Writes one queued message.  0, or a negative AVERROR. */
static int
conn_write(struct sl_push *p, struct conn *c, struct pitem *it)
{
    AVPacket *pkt;
    int       idx, rc;
    int64_t   pts = it->ts;

    if (it->type == SL_MSG_VIDEO) {
        struct sl_media_video v;

        if (c->vidx < 0 ||
            sl_media_parse_video(it->buf->data, it->buf->len, &v) < 0 ||
            v.codec != SL_FLV_VIDEO_AVC || v.len == 0)
            return 0;
        if (c->waiting_key && !it->key)
            return 0;
        c->waiting_key = 0;
        idx = c->vidx;
        pts = it->ts + v.cts;
        pkt = av_packet_alloc();
        if (pkt == NULL || av_new_packet(pkt, (int) v.len) < 0) {
            av_packet_free(&pkt);
            return AVERROR(ENOMEM);
        }
        memcpy(pkt->data, v.data, v.len);
        if (it->key)
            pkt->flags |= AV_PKT_FLAG_KEY;
    } else {
        struct sl_media_audio a;

        if (c->aidx < 0 || c->waiting_key ||
            sl_media_parse_audio(it->buf->data, it->buf->len, &a) < 0 ||
            a.len == 0)
            return 0;
        idx = c->aidx;
        pkt = av_packet_alloc();
        if (pkt == NULL || av_new_packet(pkt, (int) a.len) < 0) {
            av_packet_free(&pkt);
            return AVERROR(ENOMEM);
        }
        memcpy(pkt->data, a.data, a.len);
    }
    pkt->stream_index = idx;
    pkt->dts = it->ts;
    pkt->pts = pts;
    av_packet_rescale_ts(pkt, (AVRational){1, 1000},
                         c->oc->streams[idx]->time_base);
    sl_relay_io_deadline(&p->io, p->cfg.timeout_ms);
    rc = av_write_frame(c->oc, pkt);
    sl_relay_io_deadline(&p->io, 0);
    if (rc >= 0) {
        atomic_fetch_add_explicit(&p->bytes, it->buf->len,
                                  memory_order_relaxed);
        c->sent_media++;
    }
    av_packet_free(&pkt);
    return rc < 0 ? rc : 0;
}

/* Push lock held. */
static int
key_queued(struct sl_push *p)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &p->q)
    {
        if (sl_list_entry(pos, struct pitem, link)->key)
            return 1;
    }
    return 0;
}

/* Waits until the stream can be sent: its video header known (and its
 * audio header, or a keyframe showing there is none), or, without
 * video, its audio header and a second of audio.  The
 * connection is made at once (a reconnect does not wait for the next
 * keyframe); what it sends starts at a keyframe (conn_write).  Takes
 * references to the headers.  0, or -1 when the push is over. */
static int
wait_ready(struct sl_push *p, struct sl_buf **vseq, struct sl_buf **aseq,
           int *w, int *h, double *fps)
{
    struct timespec ts;
    int             ready = 0;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (atomic_load(&p->io.stop) || p->ended)
            break;
        if (p->vseq != NULL) {
            /* The audio header normally follows the video one at once;
             * a keyframe queued without it means there is no audio. */
            ready = p->aseq != NULL || key_queued(p);
        } else if (p->aseq != NULL && p->have_audio_ts &&
                   !sl_list_empty(&p->q)) {
            struct pitem *last = sl_list_entry(p->q.prev, struct pitem, link);

            ready = last->ts - p->first_audio_ts >= AUDIO_ONLY_AFTER_MS;
        }
        if (ready)
            break;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    }
    if (ready) {
        *vseq = p->vseq ? sl_buf_ref(p->vseq) : NULL;
        *aseq = p->aseq ? sl_buf_ref(p->aseq) : NULL;
        *w = p->meta_w;
        *h = p->meta_h;
        *fps = p->meta_fps;
        p->config_changed = 0;
    }
    pthread_mutex_unlock(&p->lock);
    return ready ? 0 : -1;
}

/* Sends queued messages until the connection fails (negative AVERROR),
 * the codec headers change (1) or the stream ends (0). */
static int
send_loop(struct sl_push *p, struct conn *c)
{
    struct timespec ts;

    pthread_mutex_lock(&p->lock);
    p->connected = 1;
    for (;;) {
        struct pitem *it;
        int           rc;

        while (sl_list_empty(&p->q) && !p->ended && !p->config_changed &&
               !atomic_load(&p->io.stop)) {
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        }
        if (atomic_load(&p->io.stop)) {
            rc = AVERROR_EXIT;
        } else if (p->config_changed) {
            rc = 1;
        } else if (sl_list_empty(&p->q)) {
            rc = 0; /* ended, all sent */
        } else {
            it = sl_list_entry(p->q.next, struct pitem, link);
            sl_list_remove(&it->link);
            p->qbytes -= it->buf->len;
            pthread_mutex_unlock(&p->lock);
            rc = conn_write(p, c, it);
            sl_buf_unref(it->buf);
            free(it);
            pthread_mutex_lock(&p->lock);
            if (rc == 0)
                continue;
        }
        p->connected = 0;
        pthread_mutex_unlock(&p->lock);
        return rc;
    }
}

/* The picture size when the metadata did not give it: from the
 * sequence header's SPS.  The muxer needs one; 16x16 stands in when the
 * header cannot be read either. */
static void
picture_size(const struct sl_buf *vseq, int *w, int *h)
{
    struct sl_media_video v;
    struct sl_avc_info    info;

    *w = 16;
    *h = 16;
    if (sl_media_parse_video(vseq->data, vseq->len, &v) == 0 &&
        sl_avc_parse_config(v.data, v.len, &info) == 0) {
        *w = info.width;
        *h = info.height;
    }
}

static void
set_url(struct sl_push *p, const char *url)
{
    pthread_mutex_lock(&p->url_lock);
    sl_relay_url_public(url, p->url_public, sizeof(p->url_public));
    pthread_mutex_unlock(&p->url_lock);
}

/* Logs a failed connect: a warning for the first of an outage and then
 * one per SL_RETRY_WARN_EVERY_MS, the rest at debug level. */
static void
log_failure(struct sl_push *p, struct sl_retry *rt, const char *shown, int rc,
            int timed_out, uint32_t bound_ms)
{
    char     why[AV_ERROR_MAX_STRING_SIZE + 32];
    uint32_t quiet = 0;

    if (timed_out)
        snprintf(why, sizeof(why), "no answer within %u ms", bound_ms);
    else
        av_make_error_string(why, sizeof(why), rc);
    if (!sl_retry_warn(rt, sl_now_ms(), &quiet))
        sl_log_debug("relay %s: cannot push %s/%s to %s: %s", p->cfg.name,
                     p->app, p->name, shown, why);
    else if (quiet > 0)
        sl_log_warn("relay %s: cannot push %s/%s to %s: %s (and %u more "
                    "failed attempts since the last warning)",
                    p->cfg.name, p->app, p->name, shown, why, quiet);
    else
        sl_log_warn("relay %s: cannot push %s/%s to %s: %s", p->cfg.name,
                    p->app, p->name, shown, why);
}

static void *
push_main(void *arg)
{
    struct sl_push *p = arg;
    struct sl_retry rt;
    unsigned        seed = (unsigned) (sl_now_us() ^ (uintptr_t) p);
    int             url_idx = 0, failures = 0, connects = 0;
    char            url[SL_URL_MAX], shown[SL_URL_MAX];

    sl_retry_init(&rt, p->cfg.retry_min_ms, p->cfg.retry_max_ms,
                  p->cfg.retry_fast_ms);
    for (;;) {
        struct sl_buf *vseq = NULL, *aseq = NULL;
        struct conn    c;
        int            rc, w = 0, h = 0, timed_out = 0, healthy = 0;
        double         fps = 0;
        uint64_t       start, now;
        uint32_t       bound, interval;

        if (wait_ready(p, &vseq, &aseq, &w, &h, &fps) < 0)
            break;
        if (vseq != NULL && (w == 0 || h == 0))
            picture_size(vseq, &w, &h);
        if (sl_relay_url(p->cfg.urls[url_idx], p->name, url, sizeof(url)) < 0) {
            sl_log_warn("relay %s for %s/%s: URL too long", p->cfg.name, p->app,
                        p->name);
            sl_buf_unref(vseq);
            sl_buf_unref(aseq);
            break;
        }
        set_url(p, url);
        sl_relay_url_public(url, shown, sizeof(shown));
        set_state(p, SL_RELAY_CONNECTING);
        start = sl_now_ms();
        bound = sl_retry_bound(&rt, p->cfg.timeout_ms);
        rc = conn_open(p, &c, url, vseq, aseq, w, h, fps, bound, &timed_out);
        sl_buf_unref(vseq);
        sl_buf_unref(aseq);
        if (rc == 0) {
            sl_retry_connected(&rt, start, c.since_ms);
            if (connects++ > 0)
                atomic_fetch_add(&p->reconnects, 1);
            set_state(p, SL_RELAY_LIVE);
            sl_log_info("relay %s: pushing %s/%s to %s", p->cfg.name, p->app,
                        p->name, shown);
            rc = send_loop(p, &c);
            healthy =
                sl_now_ms() - c.since_ms >= HEALTHY_MS && c.sent_media > 0;
            if (healthy) {
                failures = 0;
                sl_retry_healthy(&rt);
            }
            conn_close(p, &c, rc == 0 || rc == 1);
            if (rc == 0 || atomic_load(&p->io.stop))
                break; /* the stream ended, or we stop */
            if (rc == 1) {
                sl_log_info("relay %s: %s/%s changed codec configuration; "
                            "reconnecting",
                            p->cfg.name, p->app, p->name);
                continue;
            }
            sl_log_warn("relay %s: connection to %s lost: %s", p->cfg.name,
                        shown, av_err2str(rc));
        } else {
            if (atomic_load(&p->io.stop))
                break;
            log_failure(p, &rt, shown, rc, timed_out, bound);
        }
        if (++failures >= p->cfg.failover_after && p->cfg.nurls > 1) {
            url_idx = (url_idx + 1) % p->cfg.nurls;
            failures = 0;
            sl_log_info("relay %s: switching to URL %d of %d", p->cfg.name,
                        url_idx + 1, p->cfg.nurls);
        }
        /* A healthy connection's loss: try again at once (the
         * downstream may only have dropped this connection). */
        if (healthy)
            continue;
        set_state(p, SL_RELAY_BACKOFF);
        now = sl_now_ms();
        interval = sl_retry_failed(&rt, start, now, timed_out);
        if (sl_relay_sleep(&p->io, sl_retry_wait(interval, start, now, &seed)))
            break;
    }
    set_state(p, SL_RELAY_DONE);
    atomic_store(&p->done, 1);
    return NULL;
}

struct sl_push *
sl_push_start(struct sl_hub *hub, const char *app, const char *name,
              const struct sl_relay_config *cfg)
{
    struct sl_push *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->hub = hub;
    snprintf(p->app, sizeof(p->app), "%s", app);
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->cfg = *cfg;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->url_lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    sl_list_init(&p->q);
    p->tap.on_media = tap_media;
    p->tap.on_end = tap_end;
    if (sl_hub_tap(hub, app, name, &p->tap) < 0)
        goto fail;
    p->tapped = 1;
    if (pthread_create(&p->thread, NULL, push_main, p) != 0) {
        sl_hub_untap(&p->tap);
        goto fail;
    }
    return p;
fail:
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->url_lock);
    pthread_cond_destroy(&p->cond);
    free(p);
    return NULL;
}

void
sl_push_stop(struct sl_push *p)
{
    atomic_store(&p->io.stop, 1);
    pthread_mutex_lock(&p->lock);
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

int
sl_push_done(struct sl_push *p)
{
    return atomic_load(&p->done);
}

void
sl_push_join(struct sl_push *p)
{
    pthread_join(p->thread, NULL);
    if (p->tapped)
        sl_hub_untap(&p->tap);
    while (!sl_list_empty(&p->q))
        drop_head(p);
    sl_buf_unref(p->vseq);
    sl_buf_unref(p->aseq);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->url_lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}

void
sl_push_stats(struct sl_push *p, struct sl_relay_stats *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->app, sizeof(out->app), "%s", p->app);
    snprintf(out->name, sizeof(out->name), "%s", p->name);
    snprintf(out->relay, sizeof(out->relay), "%s", p->cfg.name);
    pthread_mutex_lock(&p->url_lock);
    snprintf(out->url, sizeof(out->url), "%s", p->url_public);
    pthread_mutex_unlock(&p->url_lock);
    out->state = atomic_load(&p->state);
    out->reconnects = atomic_load(&p->reconnects);
    out->bytes = atomic_load(&p->bytes);
    out->dropped = atomic_load(&p->dropped);
}

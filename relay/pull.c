#include "relay/pull.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>

#include "media/flv_av.h"
#include "pool/clock.h"
#include "relay/io.h"
#include "relay/retry.h"
#include "relay/url.h"
#include "rtmp/rtmp.h"
#include "rtmp/codec.h"
#include "server/log.h"

#define READ_TIMEOUT_MS 5000 /* no packet this long: the origin is gone */
#define PUBLISH_WAIT_MS 5000 /* for a previous pull to let go */
/* An origin that served this long counts as healthy: when it fails the
 * pull tries again at once, and the retry schedule starts afresh. */
#define HEALTHY_MS 3000

struct sl_pull {
    struct sl_hub     *hub;
    char               app[SL_NAME_MAX], name[SL_NAME_MAX];
    int                norigins;
    char               origins[SL_APP_MAX_PULLS][SL_URL_MAX];
    uint32_t           idle_ms;
    sl_pull_idle_fn    may_end;
    void              *ctx;
    pthread_t          thread;
    struct sl_relay_io io;

    atomic_int      done, state, width, height;
    atomic_ullong   reconnects, bytes;
    pthread_mutex_t url_lock;
    char            url_public[SL_URL_MAX];

    /* The thread's own. */
    struct sl_stream *stream;
    uint64_t          idle_since;
    int               warned_codec;
    struct sl_retry   retry;
};

const char *
sl_pull_app(const struct sl_pull *p)
{
    return p->app;
}

const char *
sl_pull_name(const struct sl_pull *p)
{
    return p->name;
}

/* 1 when the pull should end: nobody has played the stream for idle_ms
 * and the manager agrees. */
static int
idle_over(struct sl_pull *p)
{
    uint64_t now = sl_now_ms();

    if (sl_hub_subscribers(p->hub, p->app, p->name) > 0) {
        p->idle_since = 0;
        return 0;
    }
    if (p->idle_since == 0)
        p->idle_since = now;
    if (now - p->idle_since < p->idle_ms)
        return 0;
    return p->may_end(p->ctx, p);
}

static void
feed(struct sl_pull *p, uint8_t type, int64_t ts, struct sl_buf *b)
{
    uint64_t now = sl_now_ms();

    if (b == NULL)
        return;
    sl_hub_media(p->stream, type, (uint32_t) (ts < 0 ? 0 : ts), b, now);
    sl_hub_flush(p->stream, now);
    atomic_fetch_add_explicit(&p->bytes, b->len, memory_order_relaxed);
    sl_buf_unref(b);
}

static int
publish(struct sl_pull *p)
{
    uint64_t end = sl_now_ms() + PUBLISH_WAIT_MS;
    int      rc;

    for (;;) {
        rc = sl_hub_publish(p->hub, p->app, p->name, p, &p->stream);
        if (rc != -EBUSY || sl_now_ms() >= end || sl_relay_sleep(&p->io, 50))
            break;
    }
    if (rc < 0)
        p->stream = NULL;
    return rc;
}

static void
unpublish(struct sl_pull *p)
{
    if (p->stream == NULL)
        return;
    sl_hub_unpublish(p->stream, p);
    p->stream = NULL;
}

/* Codec headers from a stream's extradata (sent again whenever it
 * changes). */
static void
send_header(struct sl_pull *p, const AVCodecParameters *par,
            const uint8_t *extra, size_t len, int64_t ts)
{
    if (extra == NULL || len == 0)
        return;
    if (par->codec_id == AV_CODEC_ID_H264)
        feed(p, SL_MSG_VIDEO, ts, sl_media_avc_seq_body(extra, len));
    else if (par->codec_id == AV_CODEC_ID_AAC)
        feed(p, SL_MSG_AUDIO, ts, sl_media_aac_seq_body(extra, len));
}

static void
send_metadata(struct sl_pull *p, AVFormatContext *ic, int64_t ts)
{
    struct sl_media_meta m = {0};

    for (unsigned i = 0; i < ic->nb_streams; i++) {
        const AVStream          *st = ic->streams[i];
        const AVCodecParameters *par = st->codecpar;

        if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
            struct sl_avc_info info;

            m.width = par->width;
            m.height = par->height;
            if ((m.width <= 0 || m.height <= 0) &&
                par->codec_id == AV_CODEC_ID_H264 && par->extradata &&
                sl_avc_parse_config(par->extradata,
                                    (size_t) par->extradata_size, &info) == 0) {
                m.width = info.width;
                m.height = info.height;
            }
            if (st->avg_frame_rate.den > 0)
                m.fps = av_q2d(st->avg_frame_rate);
            m.video_kbps = (int) (par->bit_rate / 1000);
        } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
            m.audio_rate = par->sample_rate;
            m.audio_channels = par->ch_layout.nb_channels;
            m.audio_kbps = (int) (par->bit_rate / 1000);
        }
    }
    m.encoder = "sluice " SL_VERSION " (edge)";
    atomic_store(&p->width, m.width);
    atomic_store(&p->height, m.height);
    feed(p, SL_MSG_DATA_AMF0, ts, sl_media_metadata_body(&m));
}

/* What a connection to one origin has sent on: the metadata, and each
 * stream's codec header (only the first 16 streams are tracked). */
struct origin {
    int headers_sent;
    int sent_extra[16];
};

/* Opens url with the pull's interrupt callback, within the bound the
 * retry schedule gives (the RTMP connect and play, and the origin's first
 * message: libavformat returns from the open with it).  0, or -1 (logged
 * unless the pull is stopping) with *ic freed and *timed_out set when the
 * bound ran out. */
static int
open_origin(struct sl_pull *p, AVFormatContext **ic, const char *url,
            const char *shown, int *timed_out)
{
    AVDictionary *opts = NULL;
    uint32_t      bound = sl_retry_bound(&p->retry, READ_TIMEOUT_MS);
    uint64_t      start = sl_now_ms();
    uint32_t      quiet = 0;
    char          why[AV_ERROR_MAX_STRING_SIZE + 32];
    int           rc;

    (*ic)->interrupt_callback = sl_relay_io_cb(&p->io);
    av_dict_set(&opts, "rtmp_live", "live", 0);
    av_dict_set(&opts, "tcp_nodelay", "1", 0); /* no Nagle wait per step */
    sl_relay_io_deadline(&p->io, bound);
    rc = avformat_open_input(ic, url, NULL, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        *timed_out = sl_relay_io_expired(&p->io) || rc == AVERROR(ETIMEDOUT);
        sl_relay_io_deadline(&p->io, 0);
        if (atomic_load(&p->io.stop))
            return -1;
        if (*timed_out)
            snprintf(why, sizeof(why), "no answer within %u ms", bound);
        else
            av_make_error_string(why, sizeof(why), rc);
        /* Tried every second while it is down: a warning per 10 s. */
        if (!sl_retry_warn(&p->retry, sl_now_ms(), &quiet))
            sl_log_debug("pull %s/%s: origin %s: %s", p->app, p->name, shown,
                         why);
        else if (quiet > 0)
            sl_log_warn("pull %s/%s: origin %s: %s (and %u more failed "
                        "attempts since the last warning)",
                        p->app, p->name, shown, why, quiet);
        else
            sl_log_warn("pull %s/%s: origin %s: %s", p->app, p->name, shown,
                        why);
        return -1;
    }
    sl_retry_connected(&p->retry, start, sl_now_ms());
    return 0;
}

/* 1 when the stream's codec is one we carry (H.264, AAC); otherwise 0,
 * and the first such stream of the pull is logged. */
static int
carried(struct sl_pull *p, const AVStream *st)
{
    if (st->codecpar->codec_id == AV_CODEC_ID_H264 ||
        st->codecpar->codec_id == AV_CODEC_ID_AAC)
        return 1;
    if (!p->warned_codec++)
        sl_log_warn("pull %s/%s: %s is not carried (H.264 and AAC only)",
                    p->app, p->name, avcodec_get_name(st->codecpar->codec_id));
    return 0;
}

/* Publishes the name here at the first packet worth carrying.  0, or -1
 * when another publisher holds it (logged). */
static int
go_live(struct sl_pull *p, const char *shown)
{
    if (publish(p) < 0) {
        sl_log_warn("pull %s/%s: the name is published here now; "
                    "pull ends",
                    p->app, p->name);
        return -1;
    }
    sl_log_info("pull %s/%s: from %s", p->app, p->name, shown);
    atomic_store(&p->state, SL_RELAY_LIVE);
    return 0;
}

/* Sends what players need before this packet: the metadata once, and the
 * packet's codec header the first time its stream is seen or when the
 * packet carries a new one. */
static void
send_headers(struct sl_pull *p, struct origin *o, AVFormatContext *ic,
             AVPacket *pkt, int64_t ts)
{
    AVCodecParameters *par = ic->streams[pkt->stream_index]->codecpar;
    size_t             nsd = 0;
    uint8_t           *sd;

    if (!o->headers_sent) {
        o->headers_sent = 1;
        send_metadata(p, ic, ts);
    }
    sd = av_packet_get_side_data(pkt, AV_PKT_DATA_NEW_EXTRADATA, &nsd);
    if (sd != NULL && nsd > 0) {
        send_header(p, par, sd, nsd, ts);
        if (pkt->stream_index < 16)
            o->sent_extra[pkt->stream_index] = 1;
    } else if (pkt->stream_index < 16 && !o->sent_extra[pkt->stream_index]) {
        send_header(p, par, par->extradata, (size_t) par->extradata_size, ts);
        o->sent_extra[pkt->stream_index] = 1;
    }
}

/* Feeds one H.264 or AAC packet into the stream as an FLV body. */
static void
send_packet(struct sl_pull *p, const AVStream *st, const AVPacket *pkt,
            int64_t ts)
{
    if (pkt->size <= 0)
        return;
    if (st->codecpar->codec_id == AV_CODEC_ID_H264) {
        int64_t pts =
            av_rescale_q(pkt->pts, st->time_base, (AVRational){1, 1000});

        feed(p, SL_MSG_VIDEO, ts,
             sl_media_avc_frame_body(
                 pkt->data, (size_t) pkt->size,
                 (pkt->flags & AV_PKT_FLAG_KEY) != 0,
                 (int32_t) (pkt->pts != AV_NOPTS_VALUE ? pts - ts : 0)));
    } else {
        feed(p, SL_MSG_AUDIO, ts,
             sl_media_aac_frame_body(pkt->data, (size_t) pkt->size));
    }
}

/* Reads from one origin until it fails or the pull ends.  2 when media
 * flowed for HEALTHY_MS or more, 1 when it flowed for less (the origin
 * served the stream), 0 when it did not (*timed_out: the open ran out of
 * time), -1 when the pull is over. */
static int
pull_from(struct sl_pull *p, const char *url, int *timed_out)
{
    AVFormatContext *ic = avformat_alloc_context();
    AVPacket        *pkt = av_packet_alloc();
    struct origin    o = {0};
    int              served = 0, rc;
    uint64_t         live_since = 0;
    char             shown[SL_URL_MAX];

    *timed_out = 0;
    sl_relay_url_public(url, shown, sizeof(shown));
    if (ic == NULL || pkt == NULL ||
        open_origin(p, &ic, url, shown, timed_out) < 0)
        goto out;
    for (;;) {
        AVStream *st;
        int64_t   ts;

        if (atomic_load(&p->io.stop) || idle_over(p)) {
            served = -1;
            break;
        }
        sl_relay_io_deadline(&p->io, READ_TIMEOUT_MS);
        rc = av_read_frame(ic, pkt);
        sl_relay_io_deadline(&p->io, 0);
        if (rc < 0) {
            if (!atomic_load(&p->io.stop))
                sl_log_info("pull %s/%s: origin %s ended: %s", p->app, p->name,
                            shown, av_err2str(rc));
            break;
        }
        st = ic->streams[pkt->stream_index];
        ts = av_rescale_q(pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts,
                          st->time_base, (AVRational){1, 1000});
        if (!carried(p, st)) {
            av_packet_unref(pkt);
            continue;
        }
        if (p->stream == NULL) {
            if (go_live(p, shown) < 0) {
                av_packet_unref(pkt);
                served = -1;
                break;
            }
            served = 1;
            live_since = sl_now_ms();
        }
        send_headers(p, &o, ic, pkt, ts);
        send_packet(p, st, pkt, ts);
        av_packet_unref(pkt);
    }
out:
    av_packet_free(&pkt);
    /* Closing sends RTMP messages: bounded like any write. */
    sl_relay_io_deadline(&p->io, READ_TIMEOUT_MS);
    avformat_close_input(&ic);
    sl_relay_io_deadline(&p->io, 0);
    if (served == 1 && sl_now_ms() - live_since >= HEALTHY_MS)
        served = 2;
    return served;
}

/* Rounds over the origins, in order, until the pull is over.  A round
 * ends at the first origin that served; one that served for HEALTHY_MS
 * is followed by a new round at once, any other by the retry
 * schedule's wait (counted from the round's start). */
static void *
pull_main(void *arg)
{
    struct sl_pull *p = arg;
    unsigned        seed = (unsigned) (sl_now_us() ^ (uintptr_t) p);
    int             attempts = 0;
    char            url[SL_URL_MAX];

    for (;;) {
        int      healthy = 0, over = 0, timed_out = 0;
        uint64_t start = sl_now_ms(), now;
        uint32_t interval;

        for (int i = 0; i < p->norigins && !over; i++) {
            int rc, late = 0;

            if (sl_relay_url(p->origins[i], p->name, url, sizeof(url)) < 0)
                continue;
            pthread_mutex_lock(&p->url_lock);
            sl_relay_url_public(url, p->url_public, sizeof(p->url_public));
            pthread_mutex_unlock(&p->url_lock);
            atomic_store(&p->state, SL_RELAY_CONNECTING);
            if (attempts++ > 0)
                atomic_fetch_add(&p->reconnects, 1);
            rc = pull_from(p, url, &late);
            timed_out |= late;
            if (rc < 0)
                over = 1;
            /* The origin's stream ended or the origin died: players
             * wait for the next publisher, as for any publisher. */
            unpublish(p);
            if (rc > 0) {
                healthy = rc == 2;
                break; /* start over from the first origin */
            }
        }
        if (over || atomic_load(&p->io.stop) || idle_over(p))
            break;
        if (healthy) {
            sl_retry_healthy(&p->retry);
            continue;
        }
        atomic_store(&p->state, SL_RELAY_BACKOFF);
        now = sl_now_ms();
        interval = sl_retry_failed(&p->retry, start, now, timed_out);
        if (sl_relay_sleep(&p->io, sl_retry_wait(interval, start, now, &seed)))
            break;
    }
    unpublish(p);
    atomic_store(&p->state, SL_RELAY_DONE);
    atomic_store(&p->done, 1);
    sl_log_info("pull %s/%s: ended", p->app, p->name);
    return NULL;
}

struct sl_pull *
sl_pull_start(struct sl_hub *hub, const char *app, const char *name,
              const struct sl_app_config *appcfg, sl_pull_idle_fn may_end,
              void *ctx)
{
    struct sl_pull *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->hub = hub;
    snprintf(p->app, sizeof(p->app), "%s", app);
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->norigins = appcfg->npulls;
    memcpy(p->origins, appcfg->pulls, sizeof(p->origins));
    p->idle_ms = appcfg->pull_idle_ms;
    sl_retry_init(&p->retry, appcfg->pull_retry_min_ms,
                  appcfg->pull_retry_max_ms, appcfg->pull_retry_fast_ms);
    p->may_end = may_end;
    p->ctx = ctx;
    pthread_mutex_init(&p->url_lock, NULL);
    if (pthread_create(&p->thread, NULL, pull_main, p) != 0) {
        pthread_mutex_destroy(&p->url_lock);
        free(p);
        return NULL;
    }
    return p;
}

void
sl_pull_stop(struct sl_pull *p)
{
    atomic_store(&p->io.stop, 1);
}

int
sl_pull_done(struct sl_pull *p)
{
    return atomic_load(&p->done);
}

void
sl_pull_join(struct sl_pull *p)
{
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->url_lock);
    free(p);
}

void
sl_pull_stats(struct sl_pull *p, struct sl_relay_stats *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->app, sizeof(out->app), "%s", p->app);
    snprintf(out->name, sizeof(out->name), "%s", p->name);
    snprintf(out->relay, sizeof(out->relay), "pull");
    pthread_mutex_lock(&p->url_lock);
    snprintf(out->url, sizeof(out->url), "%s", p->url_public);
    pthread_mutex_unlock(&p->url_lock);
    out->pull = 1;
    out->state = atomic_load(&p->state);
    out->reconnects = atomic_load(&p->reconnects);
    out->bytes = atomic_load(&p->bytes);
    out->width = atomic_load(&p->width);
    out->height = atomic_load(&p->height);
}

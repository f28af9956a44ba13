#include "media/ts_out.h"

#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "media/flv_av.h"
#include "media/flv_hevc.h"
#include "rtmp/codec.h"
#include "rtmp/rtmp.h"

#define AVIO_SIZE (188 * 64)
#define HEADER_MAX 4096

struct sl_ts_out {
    AVFormatContext *fmt;
    AVPacket        *pkt;
    int              video_index, audio_index; /* -1: none */
    int64_t          last_dts[2];

    /* The codec headers the muxer runs with, and the newest ones; the
     * video one is an avcC or an hvcC (hevc set). */
    uint8_t avcc[HEADER_MAX], asc[64];
    size_t  avcc_len, asc_len;
    int     hevc, started_hevc;
    int     started_avcc_len, started_asc_len; /* what it started with */
    uint8_t started_avcc[HEADER_MAX], started_asc[64];

    /* What the muxer wrote for the message being fed. */
    uint8_t *out;
    size_t   out_len, out_cap;
    int      failed;
};

static int
write_bytes(void *opaque, uint8_t *p, int n)
{
    struct sl_ts_out *o = opaque;

    if (o->out_len + (size_t) n > o->out_cap) {
        size_t   cap = o->out_cap ? o->out_cap : 16384;
        uint8_t *b;

        while (cap < o->out_len + (size_t) n)
            cap *= 2;
        b = realloc(o->out, cap);
        if (b == NULL) {
            o->failed = 1;
            return AVERROR(ENOMEM);
        }
        o->out = b;
        o->out_cap = cap;
    }
    memcpy(o->out + o->out_len, p, (size_t) n);
    o->out_len += (size_t) n;
    return n;
}

struct sl_ts_out *
sl_ts_out_new(void)
{
    struct sl_ts_out *o = calloc(1, sizeof(*o));

    if (o == NULL)
        return NULL;
    o->pkt = av_packet_alloc();
    if (o->pkt == NULL) {
        free(o);
        return NULL;
    }
    o->video_index = o->audio_index = -1;
    return o;
}

static void
close_muxer(struct sl_ts_out *o)
{
    if (o->fmt == NULL)
        return;
    if (o->fmt->pb != NULL) {
        av_freep(&o->fmt->pb->buffer);
        avio_context_free(&o->fmt->pb);
    }
    avformat_free_context(o->fmt);
    o->fmt = NULL;
    o->video_index = o->audio_index = -1;
}

void
sl_ts_out_free(struct sl_ts_out *o)
{
    if (o == NULL)
        return;
    close_muxer(o);
    av_packet_free(&o->pkt);
    free(o->out);
    free(o);
}

static AVStream *
add_stream(struct sl_ts_out *o, enum AVMediaType kind, enum AVCodecID id,
           const uint8_t *extra, size_t len)
{
    AVStream *st = avformat_new_stream(o->fmt, NULL);

    if (st == NULL)
        return NULL;
    st->codecpar->codec_type = kind;
    st->codecpar->codec_id = id;
    st->codecpar->extradata = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (st->codecpar->extradata == NULL)
        return NULL;
    memcpy(st->codecpar->extradata, extra, len);
    st->codecpar->extradata_size = (int) len;
    st->time_base = (AVRational){1, 90000};
    return st;
}

/* A muxer with the headers known now.  0, or -1 (nothing to mux yet, or
 * libavformat refused). */
static int
open_muxer(struct sl_ts_out *o)
{
    uint8_t  *iobuf;
    AVStream *st;

    if (o->avcc_len == 0 && o->asc_len == 0)
        return -1;
    if (avformat_alloc_output_context2(&o->fmt, NULL, "mpegts", NULL) < 0)
        return -1;
    iobuf = av_malloc(AVIO_SIZE);
    o->fmt->pb = iobuf != NULL ? avio_alloc_context(iobuf, AVIO_SIZE, 1, o,
                                                    NULL, write_bytes, NULL)
                               : NULL;
    if (o->fmt->pb == NULL) {
        av_free(iobuf);
        goto fail;
    }
    if (o->avcc_len > 0) {
        struct sl_avc_info info;

        st = add_stream(o, AVMEDIA_TYPE_VIDEO,
                        o->hevc ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264, o->avcc,
                        o->avcc_len);
        if (st == NULL)
            goto fail;
        if (!o->hevc && sl_avc_parse_config(o->avcc, o->avcc_len, &info) == 0) {
            st->codecpar->width = info.width;
            st->codecpar->height = info.height;
        }
        o->video_index = st->index;
        o->started_hevc = o->hevc;
    }
    if (o->asc_len > 0) {
        struct sl_aac_info info;

        st = add_stream(o, AVMEDIA_TYPE_AUDIO, AV_CODEC_ID_AAC, o->asc,
                        o->asc_len);
        if (st == NULL)
            goto fail;
        if (sl_aac_parse_asc(o->asc, o->asc_len, &info) == 0) {
            st->codecpar->sample_rate = info.sample_rate;
            av_channel_layout_default(&st->codecpar->ch_layout,
                                      info.channels > 0 ? info.channels : 2);
        }
        o->audio_index = st->index;
    }
    if (avformat_write_header(o->fmt, NULL) < 0)
        goto fail;
    o->started_avcc_len = (int) o->avcc_len;
    memcpy(o->started_avcc, o->avcc, o->avcc_len);
    o->started_asc_len = (int) o->asc_len;
    memcpy(o->started_asc, o->asc, o->asc_len);
    o->last_dts[0] = o->last_dts[1] = INT64_MIN;
    return 0;
fail:
    close_muxer(o);
    return -1;
}

/* A codec header: kept, and the muxer restarted when it runs with
 * another one or without this kind at all (an SRT publisher's audio
 * header comes with its first audio PES, often after the first video
 * frame: a muxer started then would leave the audio out for as long as
 * it runs). */
static void
take_header(struct sl_ts_out *o, uint8_t *dst, size_t *dst_len, size_t cap,
            const uint8_t *p, size_t n, const uint8_t *started, int started_len)
{
    if (n == 0 || n > cap)
        return;
    memcpy(dst, p, n);
    *dst_len = n;
    if (o->fmt != NULL &&
        ((size_t) started_len != n || memcmp(started, p, n) != 0))
        close_muxer(o);
}

struct sl_buf *
sl_ts_out_body(struct sl_ts_out *o, uint8_t type, int64_t ts,
               const uint8_t *body, size_t len, int *key)
{
    AVPacket *pkt = o->pkt;
    AVStream *st;
    int       index, slot;
    int64_t   cts = 0;

    *key = 0;
    if (type == SL_MSG_VIDEO && len > 0 && (body[0] & 0x80)) {
        struct sl_media_hevc v;

        /* Enhanced RTMP: HEVC only ("hvc1"). */
        if (sl_media_parse_hevc(body, len, &v) < 0)
            return NULL;
        if (v.seq_header) {
            if (o->fmt != NULL && !o->started_hevc)
                close_muxer(o); /* the codec changed */
            o->hevc = 1;
            take_header(o, o->avcc, &o->avcc_len, sizeof(o->avcc), v.data,
                        v.len, o->started_avcc, o->started_avcc_len);
            return NULL;
        }
        if (o->avcc_len == 0 || !o->hevc)
            return NULL;
        *key = v.keyframe;
        cts = v.cts;
        body = v.data;
        len = v.len;
        slot = 0;
    } else if (type == SL_MSG_VIDEO) {
        struct sl_media_video v;

        if (sl_media_parse_video(body, len, &v) < 0 || v.codec != 7 ||
            v.seq_end)
            return NULL;
        if (v.seq_header) {
            if (sl_avc_check_config(v.data, v.len) == 0) {
                if (o->fmt != NULL && o->started_hevc)
                    close_muxer(o); /* the codec changed */
                o->hevc = 0;
                take_header(o, o->avcc, &o->avcc_len, sizeof(o->avcc), v.data,
                            v.len, o->started_avcc, o->started_avcc_len);
            }
            return NULL;
        }
        if (o->avcc_len == 0 || o->hevc)
            return NULL; /* no decoder could start here */
        *key = v.keyframe;
        cts = v.cts;
        body = v.data;
        len = v.len;
        slot = 0;
    } else if (type == SL_MSG_AUDIO) {
        struct sl_media_audio a;

        if (sl_media_parse_audio(body, len, &a) < 0 || a.format != 10)
            return NULL;
        if (a.seq_header) {
            take_header(o, o->asc, &o->asc_len, sizeof(o->asc), a.data, a.len,
                        o->started_asc, o->started_asc_len);
            return NULL;
        }
        if (o->asc_len == 0)
            return NULL;
        body = a.data;
        len = a.len;
        slot = 1;
    } else {
        return NULL;
    }
    if (len == 0 || (o->fmt == NULL && open_muxer(o) < 0))
        return NULL;
    index = slot == 0 ? o->video_index : o->audio_index;
    if (index < 0)
        return NULL; /* started without this kind: until a header changes */
    st = o->fmt->streams[index];
    if (av_new_packet(pkt, (int) len) < 0)
        return NULL;
    memcpy(pkt->data, body, len);
    pkt->stream_index = index;
    pkt->dts = av_rescale_q(ts, (AVRational){1, 1000}, st->time_base);
    pkt->pts = av_rescale_q(ts + cts, (AVRational){1, 1000}, st->time_base);
    if (*key)
        pkt->flags |= AV_PKT_FLAG_KEY;
    if (pkt->dts <= o->last_dts[slot]) {
        av_packet_unref(pkt);
        return NULL; /* the muxer refuses time going back */
    }
    o->last_dts[slot] = pkt->dts;
    if (*key)
        av_opt_set(o->fmt->priv_data, "mpegts_flags", "+resend_headers", 0);
    o->out_len = 0;
    if (av_write_frame(o->fmt, pkt) < 0) {
        av_packet_unref(pkt);
        return NULL;
    }
    av_packet_unref(pkt);
    avio_flush(o->fmt->pb);
    if (o->out_len == 0 || o->failed)
        return NULL;
    return sl_buf_from(o->out, o->out_len);
}

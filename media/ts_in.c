#include "media/ts_in.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>

#include "media/flv_av.h"
#include "media/flv_hevc.h"
#include "pool/fiber.h"
#include "rtmp/codec.h"
#include "rtmp/rtmp.h"

#define TS_PACKET 188
#define AVIO_SIZE (TS_PACKET * 64)
/* The demuxer's stack: libavformat's read path is shallow; room for the
 * sanitizer builds' larger frames. */
#define FIBER_STACK (512u * 1024)
#define MAX_TRACKS 16

enum track_kind { TRACK_NEW = 0, TRACK_VIDEO, TRACK_AUDIO, TRACK_OFF };

struct track {
    enum track_kind kind;
    int             hevc;   /* video: HEVC (else H.264) */
    AVBSFContext   *bsf;    /* audio: ADTS to raw + AudioSpecificConfig */
    struct sl_buf  *header; /* the last codec header sent */
    /* Audio: where the next frame starts, in the stream's time base
     * (AV_NOPTS_VALUE until a frame with a time came).  Only the first
     * ADTS frame of a PES has a time of its own: the demuxer's parser
     * splits the rest off without one (it cannot know their length in
     * time without the stream info probe, which is not run), so they
     * follow the one before. */
    int64_t next_dts;
};

struct sl_ts_in {
    sl_ts_in_emit_fn emit;
    sl_ts_in_note_fn note;
    void            *ctx;

    /* Bytes not yet read by the demuxer: buf[off, off + len). */
    uint8_t *buf;
    size_t   off, len, cap;

    AVFormatContext *fmt;
    AVIOContext     *avio;
    AVPacket        *pkt, *out;
    struct sl_fiber *fiber;   /* the demuxer runs on it */
    int              failed;  /* it has ended: no more input is read */
    int              ended;   /* sl_ts_in_end: the read says end of stream */
    int              closing; /* the same, and nothing more is emitted */

    struct track tracks[MAX_TRACKS];
    int          have_video, have_audio; /* a track of the kind is carried */
    int          meta_sent;
    int64_t      origin_ms;
    int          have_origin;
    struct sl_aac_info aac;
    int                have_aac;

    struct sl_ts_in_stats st;
};

/* The demuxer's read, on its fiber: whatever is buffered, whole TS
 * packets where possible; when nothing is, the fiber yields to the feed
 * that resumed it and goes on with the next feed's bytes, so the
 * demuxer never sees a dry spell (it would take it for the end of the
 * stream and cut the packets it was assembling). */
static int
read_bytes(void *opaque, uint8_t *dst, int size)
{
    struct sl_ts_in *in = opaque;
    size_t           n;

    while (in->len == 0) {
        if (in->closing || in->ended)
            return AVERROR_EOF;
        sl_fiber_yield(in->fiber);
    }
    n = in->len < (size_t) size ? in->len : (size_t) size;
    if (n >= TS_PACKET)
        n -= n % TS_PACKET;
    memcpy(dst, in->buf + in->off, n);
    in->off += n;
    in->len -= n;
    if (in->len == 0)
        in->off = 0;
    return (int) n;
}

static void __attribute__((format(printf, 2, 3)))
note(struct sl_ts_in *in, const char *fmt, ...)
{
    char    line[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    in->note(in->ctx, line);
}

struct sl_ts_in *
sl_ts_in_new(sl_ts_in_emit_fn emit, sl_ts_in_note_fn note_fn, void *ctx)
{
    struct sl_ts_in *in = calloc(1, sizeof(*in));

    if (in == NULL)
        return NULL;
    in->emit = emit;
    in->note = note_fn;
    in->ctx = ctx;
    in->pkt = av_packet_alloc();
    in->out = av_packet_alloc();
    if (in->pkt == NULL || in->out == NULL) {
        sl_ts_in_free(in);
        return NULL;
    }
    return in;
}

void
sl_ts_in_free(struct sl_ts_in *in)
{
    if (in == NULL)
        return;
    /* The demuxer sits in a read on its fiber: the read now says end of
     * stream, so its frames unwind and the fiber returns. */
    in->closing = 1;
    if (in->fiber != NULL && !sl_fiber_done(in->fiber))
        sl_fiber_resume(in->fiber);
    sl_fiber_free(in->fiber);
    for (int i = 0; i < MAX_TRACKS; i++) {
        av_bsf_free(&in->tracks[i].bsf);
        sl_buf_unref(in->tracks[i].header);
    }
    avformat_close_input(&in->fmt);
    if (in->avio != NULL)
        av_freep(&in->avio->buffer);
    avio_context_free(&in->avio);
    av_packet_free(&in->pkt);
    av_packet_free(&in->out);
    free(in->buf);
    free(in);
}

void
sl_ts_in_stats(const struct sl_ts_in *in, struct sl_ts_in_stats *out)
{
    *out = in->st;
}

static void
emit(struct sl_ts_in *in, uint8_t type, int64_t ts, struct sl_buf *b)
{
    if (b == NULL)
        return;
    if (in->closing) {
        sl_buf_unref(b);
        return;
    }
    in->emit(in->ctx, type, (uint32_t) (ts < 0 ? 0 : ts), b);
    sl_buf_unref(b);
}

/* ---- the demuxer ---- */

static int
open_demuxer(struct sl_ts_in *in)
{
    const AVInputFormat *ts = av_find_input_format("mpegts");
    uint8_t             *iobuf = av_malloc(AVIO_SIZE);
    int                  rc;

    in->fmt = avformat_alloc_context();
    if (iobuf != NULL)
        in->avio =
            avio_alloc_context(iobuf, AVIO_SIZE, 0, in, read_bytes, NULL, NULL);
    if (ts == NULL || in->fmt == NULL || in->avio == NULL) {
        if (in->avio == NULL)
            av_free(iobuf);
        note(in, "cannot start the MPEG-TS demuxer");
        return -1;
    }
    in->fmt->pb = in->avio;
    in->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    rc = avformat_open_input(&in->fmt, NULL, ts, NULL);
    if (rc < 0) {
        char err[AV_ERROR_MAX_STRING_SIZE];

        /* A stream that ended (or an object freed) before the demuxer
         * saw its tables says nothing wrong about its bytes. */
        av_make_error_string(err, sizeof(err), rc);
        if (!in->ended && !in->closing)
            note(in, "not an MPEG-TS stream (%s)", err);
        return -1; /* avformat_open_input freed fmt */
    }
    return 0;
}

/* What a new stream of the demuxer becomes: the first H.264 and the
 * first AAC stream are carried, anything else is left out (one WARN). */
static void
track_start(struct sl_ts_in *in, struct track *t, const AVStream *s, int index)
{
    enum AVCodecID id = s->codecpar->codec_id;
    const char    *why = NULL;

    t->kind = TRACK_OFF;
    if ((id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC) && !in->have_video) {
        t->kind = TRACK_VIDEO;
        t->hevc = id == AV_CODEC_ID_HEVC;
        in->have_video = 1;
        snprintf(in->st.vcodec, sizeof(in->st.vcodec), "%s",
                 t->hevc ? "HEVC" : "H264");
    } else if (id == AV_CODEC_ID_AAC && !in->have_audio) {
        const AVBitStreamFilter *f = av_bsf_get_by_name("aac_adtstoasc");

        if (f == NULL || av_bsf_alloc(f, &t->bsf) < 0 ||
            avcodec_parameters_copy(t->bsf->par_in, s->codecpar) < 0 ||
            (t->bsf->time_base_in = s->time_base, av_bsf_init(t->bsf)) < 0) {
            av_bsf_free(&t->bsf);
            why = "cannot start the AAC filter";
        } else {
            t->kind = TRACK_AUDIO;
            t->next_dts = AV_NOPTS_VALUE;
            in->have_audio = 1;
            snprintf(in->st.acodec, sizeof(in->st.acodec), "AAC");
        }
    } else if (id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC ||
               id == AV_CODEC_ID_AAC) {
        why = "a second stream of its kind";
    } else {
        why = "not carried (H.264, HEVC and AAC only)";
    }
    if (why != NULL)
        note(in, "stream #%d (%s) left out: %s", index, avcodec_get_name(id),
             why);
}

/* ms on the stream's timeline, from the first packet. */
static int64_t
stream_ms(struct sl_ts_in *in, const AVStream *s, int64_t t)
{
    int64_t ms = av_rescale_q(t, s->time_base, (AVRational){1, 1000});

    if (!in->have_origin) {
        in->have_origin = 1;
        in->origin_ms = ms;
    }
    return ms - in->origin_ms;
}

static void
send_metadata(struct sl_ts_in *in, int64_t ts)
{
    struct sl_media_meta m = {0};

    if (in->meta_sent)
        return;
    in->meta_sent = 1;
    m.width = in->st.width;
    m.height = in->st.height;
    if (in->have_aac) {
        m.audio_rate = in->aac.sample_rate;
        m.audio_channels = in->aac.channels;
    }
    emit(in, SL_MSG_DATA_AMF0, ts, sl_media_metadata_body(&m));
}

/* A codec header, sent when it differs from the last one sent (an
 * encoder repeats its SPS and PPS on every keyframe). */
static void
send_header(struct sl_ts_in *in, struct track *t, uint8_t type, int64_t ts,
            struct sl_buf *h)
{
    if (h == NULL)
        return;
    if (t->header != NULL && t->header->len == h->len &&
        memcmp(t->header->data, h->data, h->len) == 0) {
        sl_buf_unref(h);
        return;
    }
    if (type == SL_MSG_VIDEO) {
        struct sl_avc_info info;

        /* An HEVC header's builder read the size already. */
        if (!t->hevc &&
            sl_avc_parse_config(h->data + 5, h->len - 5, &info) == 0) {
            in->st.width = info.width;
            in->st.height = info.height;
        }
        send_metadata(in, ts);
    } else {
        if (sl_aac_parse_asc(h->data + 2, h->len - 2, &in->aac) == 0)
            in->have_aac = 1;
        /* Before the first codec header of either kind, as the header
         * promises: an audio header that comes first (audio-only, or a
         * publisher that joined mid-GOP, its video waiting for a
         * keyframe) gets onMetaData without the picture's size rather
         * than after it. */
        send_metadata(in, ts);
    }
    sl_buf_unref(t->header);
    t->header = sl_buf_ref(h);
    emit(in, type, ts, h);
}

static void
video_packet(struct sl_ts_in *in, struct track *t, const AVStream *s,
             AVPacket *pkt)
{
    int     key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    int64_t dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    int64_t ts, cts = 0;

    if (dts == AV_NOPTS_VALUE || pkt->size <= 0)
        return;
    ts = stream_ms(in, s, dts);
    if (pkt->pts != AV_NOPTS_VALUE)
        cts = stream_ms(in, s, pkt->pts) - ts;
    if (key && t->hevc) {
        struct sl_hevc_info info;
        struct sl_buf      *h =
            sl_media_hevc_seq_body(pkt->data, (size_t) pkt->size, &info);

        if (h != NULL) {
            in->st.width = info.width;
            in->st.height = info.height;
        }
        send_header(in, t, SL_MSG_VIDEO, ts, h);
    } else if (key) {
        send_header(in, t, SL_MSG_VIDEO, ts,
                    sl_media_avc_seq_body(pkt->data, (size_t) pkt->size));
    }
    if (t->header == NULL) {
        in->st.dropped++;
        return;
    }
    in->st.frames_video++;
    emit(in, SL_MSG_VIDEO, ts,
         t->hevc ? sl_media_hevc_frame_body(pkt->data, (size_t) pkt->size, key,
                                            (int32_t) cts)
                 : sl_media_avc_frame_body(pkt->data, (size_t) pkt->size, key,
                                           (int32_t) cts));
}

/* One AAC frame's length in the stream's time base: 1024 samples at
 * the AudioSpecificConfig's rate (2048 at the output rate it gives for
 * SBR and PS, which is twice the core's); 0 while no config was read,
 * so a frame without a time then takes the last one's. */
static int64_t
aac_frame_duration(const struct sl_ts_in *in, const AVStream *s)
{
    int samples =
        in->aac.object_type == 5 || in->aac.object_type == 29 ? 2048 : 1024;

    if (!in->have_aac || in->aac.sample_rate <= 0)
        return 0;
    return av_rescale_q(samples, (AVRational){1, in->aac.sample_rate},
                        s->time_base);
}

static void
audio_packet(struct sl_ts_in *in, struct track *t, const AVStream *s,
             AVPacket *pkt)
{
    AVPacket *o = in->out;

    if (av_bsf_send_packet(t->bsf, pkt) < 0) {
        av_packet_unref(pkt); /* a frame the filter refused: skipped */
        return;
    }
    while (av_bsf_receive_packet(t->bsf, o) == 0) {
        int64_t  dts = o->dts != AV_NOPTS_VALUE ? o->dts : o->pts;
        size_t   n = 0;
        uint8_t *x = av_packet_get_side_data(o, AV_PKT_DATA_NEW_EXTRADATA, &n);

        if (dts == AV_NOPTS_VALUE)
            dts = t->next_dts; /* a frame the parser split off a PES */
        if (dts != AV_NOPTS_VALUE && o->size > 0) {
            int64_t ts = stream_ms(in, s, dts);

            if (x == NULL || n == 0) {
                x = t->bsf->par_out->extradata;
                n = (size_t) t->bsf->par_out->extradata_size;
            }
            if (x != NULL && n > 0)
                send_header(in, t, SL_MSG_AUDIO, ts,
                            sl_media_aac_seq_body(x, n));
            if (t->header != NULL) {
                in->st.frames_audio++;
                emit(in, SL_MSG_AUDIO, ts,
                     sl_media_aac_frame_body(o->data, (size_t) o->size));
            }
            t->next_dts = dts + aac_frame_duration(in, s);
        }
        av_packet_unref(o);
    }
}

static void
handle_packet(struct sl_ts_in *in, AVPacket *pkt)
{
    const AVStream *s;
    struct track   *t;

    if (pkt->stream_index < 0 || pkt->stream_index >= MAX_TRACKS ||
        (unsigned) pkt->stream_index >= in->fmt->nb_streams)
        return;
    s = in->fmt->streams[pkt->stream_index];
    t = &in->tracks[pkt->stream_index];
    if (t->kind == TRACK_NEW)
        track_start(in, t, s, pkt->stream_index);
    if (t->kind == TRACK_VIDEO)
        video_packet(in, t, s, pkt);
    else if (t->kind == TRACK_AUDIO)
        audio_packet(in, t, s, pkt);
}

/* The fiber: opens the demuxer (its probe reads the first packets) and
 * reads packets for as long as the stream lasts.  A read error is
 * corrupt input the demuxer resynchronises past; only the end the read
 * says at closing ends it. */
static void
demux_main(struct sl_fiber *f, void *arg)
{
    struct sl_ts_in *in = arg;

    (void) f;
    if (open_demuxer(in) < 0) {
        in->failed = 1;
        return;
    }
    while (!in->closing) {
        int rc = av_read_frame(in->fmt, in->pkt);

        if (rc >= 0) {
            handle_packet(in, in->pkt);
            av_packet_unref(in->pkt);
        } else if (rc == AVERROR_EOF || in->avio->eof_reached) {
            break;
        }
    }
    in->failed = 1;
}

/* Room for n more bytes: the unread ones moved to the front, the buffer
 * grown up to SL_TS_IN_MAX.  0, or -1 when that is not enough. */
static int
make_room(struct sl_ts_in *in, size_t n)
{
    size_t   want = in->len + n, cap = in->cap;
    uint8_t *b;

    if (want > SL_TS_IN_MAX)
        return -1;
    if (in->off > 0) {
        memmove(in->buf, in->buf + in->off, in->len);
        in->off = 0;
    }
    if (want <= in->cap)
        return 0;
    if (cap == 0)
        cap = 64 * 1024;
    while (cap < want)
        cap *= 2;
    if (cap > SL_TS_IN_MAX)
        cap = SL_TS_IN_MAX;
    b = realloc(in->buf, cap);
    if (b == NULL)
        return -1;
    in->buf = b;
    in->cap = cap;
    return 0;
}

int
sl_ts_in_feed(struct sl_ts_in *in, const uint8_t *p, size_t n)
{
    if (in->failed)
        return -1;
    if (make_room(in, n) < 0) {
        note(in,
             "the MPEG-TS demuxer stopped reading (%zu bytes "
             "waiting)",
             in->len);
        in->failed = 1;
        return -1;
    }
    memcpy(in->buf + in->len, p, n);
    in->len += n;
    if (in->fiber == NULL) {
        in->fiber = sl_fiber_new(FIBER_STACK, demux_main, in);
        if (in->fiber == NULL) {
            note(in, "out of memory");
            in->failed = 1;
            return -1;
        }
    }
    /* Runs the demuxer until it has read every byte (it yields) or the
     * stream cannot go on (it returns). */
    sl_fiber_resume(in->fiber);
    return in->failed ? -1 : 0;
}

void
sl_ts_in_end(struct sl_ts_in *in)
{
    if (in->failed || in->ended)
        return;
    in->ended = 1;
    /* The read now says end of stream once the buffer is empty: the
     * demuxer hands over the PES it was assembling and its parsers
     * what they held, and the fiber returns. */
    if (in->fiber != NULL && !sl_fiber_done(in->fiber))
        sl_fiber_resume(in->fiber);
    in->failed = 1;
}

/*
 * CMAF fragments through libavformat (hls/mux.h), judged by libavformat
 * and libavcodec reading them back and by their boxes read here.  A
 * couple of seconds of real H.264 (libx264, a keyframe every 15 frames,
 * with and without B-frames) and AAC (libavcodec's encoder) are made
 * into FLV bodies, fed to the muxer from 10 s on the hub's timeline and
 * cut into parts as the packager does (before a keyframe, and every
 * PART_MS); then:
 *   - the init segment alone opens as MP4 with the codecs and size;
 *   - init + all fragments demux to every frame fed, byte for byte,
 *     with its keyframe flag, and decode to as many pictures and audio
 *     frames;
 *   - in each fragment (boxes, and init + that fragment alone through
 *     libavformat): the frames fed while it was open; tfdt absolute
 *     (about 10 s, not 0); presentation times exactly dts + cts as fed;
 *     decode times as fed (with B-frames, moved by the first frame's
 *     composition offset, as mux.h says); the last frame lasting up to
 *     the cut and the next fragment starting there; a part cut at a
 *     keyframe starting with one; audio advancing by exactly 1024
 *     samples a frame.
 * Besides: the codecs string, malformed configurations (NULL, a reason,
 * the caller's fields left alone), audio alone, an empty cut, an audio
 * gap, and freeing with media still in the muxer (SAN=1 checks for
 * leaks).
 */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

#include "hls/mux.h"
#include "media/flv_av.h"
#include "pool/buf.h"

#define W 160
#define H 120
#define FPS 25
#define NFRAMES 60    /* 2.4 s */
#define GOP 15        /* a keyframe every 600 ms */
#define RATE 48000    /* AAC, one channel */
#define BASE_MS 10000 /* where the streams start on the timeline */
#define PART_MS 200
#define MAXV 128
#define MAXA 256
#define MAXF 64

/* ---- test media ------------------------------------------------------ */

struct vframe {
    struct sl_buf *body;     /* FLV video body */
    int64_t        dts, pts; /* ms on the timeline */
    int            key;
};

struct aframe {
    struct sl_buf *body; /* FLV audio body */
    int64_t        ts;
};

struct media {
    struct sl_buf *vseq, *aseq; /* FLV sequence header bodies */
    int            nv, na;
    struct vframe  v[MAXV];
    struct aframe  a[MAXA];
};

static struct media plain, bframes; /* made once, in the suite's init */

static AVCodecContext *
video_encoder(int nb_bframes)
{
    const AVCodec  *codec = avcodec_find_encoder_by_name("libx264");
    AVCodecContext *c;
    char            params[128];

    if (codec == NULL)
        return NULL;
    c = avcodec_alloc_context3(codec);
    if (c == NULL)
        return NULL;
    c->width = W;
    c->height = H;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = (AVRational){1, 1000};
    c->framerate = (AVRational){FPS, 1};
    c->gop_size = GOP;
    c->max_b_frames = nb_bframes;
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    c->thread_count = 1;
    av_opt_set(c->priv_data, "preset", "ultrafast", 0);
    /* Keyframes exactly every GOP frames; B-frames always where asked
     * (no adaptive placement). */
    snprintf(params, sizeof(params),
             "keyint=%d:min-keyint=%d:scenecut=0:b-adapt=0:bframes=%d", GOP,
             GOP, nb_bframes);
    av_opt_set(c->priv_data, "x264-params", params, 0);
    if (avcodec_open2(c, codec, NULL) < 0)
        avcodec_free_context(&c);
    return c;
}

/* Runs in the suite's init, so no CUnit assertions: -1 on failure. */
static int
take_video(struct media *m, AVCodecContext *enc, AVPacket *pkt)
{
    while (avcodec_receive_packet(enc, pkt) == 0) {
        struct vframe *f = &m->v[m->nv];

        if (m->nv == MAXV)
            return -1;
        f->key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
        f->dts = BASE_MS + pkt->dts;
        f->pts = BASE_MS + pkt->pts;
        f->body = sl_media_avc_frame_body(pkt->data, (size_t) pkt->size, f->key,
                                          (int32_t) (f->pts - f->dts));
        av_packet_unref(pkt);
        if (f->body == NULL)
            return -1;
        m->nv++;
    }
    return 0;
}

static int
make_video(struct media *m, int nb_bframes)
{
    AVCodecContext *enc = video_encoder(nb_bframes);
    AVFrame        *f = av_frame_alloc();
    AVPacket       *pkt = av_packet_alloc();

    if (enc == NULL || f == NULL || pkt == NULL)
        goto fail;
    m->vseq =
        sl_media_avc_seq_body(enc->extradata, (size_t) enc->extradata_size);
    if (m->vseq == NULL)
        goto fail;
    f->format = AV_PIX_FMT_YUV420P;
    f->width = W;
    f->height = H;
    if (av_frame_get_buffer(f, 0) < 0)
        goto fail;
    for (int i = 0; i < NFRAMES; i++) {
        if (av_frame_make_writable(f) < 0)
            goto fail;
        /* A moving gradient, so inter frames have something to say. */
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                f->data[0][y * f->linesize[0] + x] =
                    (uint8_t) (x + 2 * y + 5 * i);
        memset(f->data[1], 100 + i, (size_t) f->linesize[1] * H / 2);
        memset(f->data[2], 150 - i, (size_t) f->linesize[2] * H / 2);
        f->pts = i * (1000 / FPS);
        if (avcodec_send_frame(enc, f) < 0 || take_video(m, enc, pkt) < 0)
            goto fail;
    }
    if (avcodec_send_frame(enc, NULL) < 0 || take_video(m, enc, pkt) < 0)
        goto fail;
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    return 0;
fail:
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    return -1;
}

static int
take_audio(struct media *m, AVCodecContext *enc, AVPacket *pkt)
{
    while (avcodec_receive_packet(enc, pkt) == 0) {
        struct aframe *a = &m->a[m->na];

        if (m->na == MAXA)
            return -1;
        /* The nth frame's time in whole ms, as RTMP carries it: the
         * muxer must count samples, not these rounded times. */
        a->ts = BASE_MS + (m->na * 1024 * 1000 + RATE / 2) / RATE;
        a->body = sl_media_aac_frame_body(pkt->data, (size_t) pkt->size);
        av_packet_unref(pkt);
        if (a->body == NULL)
            return -1;
        m->na++;
    }
    return 0;
}

static int
make_audio(struct media *m)
{
    const AVCodec  *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    AVCodecContext *enc = codec ? avcodec_alloc_context3(codec) : NULL;
    AVFrame        *f = av_frame_alloc();
    AVPacket       *pkt = av_packet_alloc();
    int             n = 0;

    if (enc == NULL || f == NULL || pkt == NULL)
        goto fail;
    enc->sample_rate = RATE;
    enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&enc->ch_layout, 1);
    enc->bit_rate = 64000;
    enc->time_base = (AVRational){1, RATE};
    enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(enc, codec, NULL) < 0)
        goto fail;
    m->aseq =
        sl_media_aac_seq_body(enc->extradata, (size_t) enc->extradata_size);
    if (m->aseq == NULL)
        goto fail;
    f->format = AV_SAMPLE_FMT_FLTP;
    f->sample_rate = RATE;
    f->nb_samples = enc->frame_size;
    av_channel_layout_default(&f->ch_layout, 1);
    if (av_frame_get_buffer(f, 0) < 0)
        goto fail;
    /* As long as the video. */
    while (n < NFRAMES * RATE / FPS) {
        float *s;

        if (av_frame_make_writable(f) < 0)
            goto fail;
        s = (float *) f->data[0];
        for (int i = 0; i < f->nb_samples; i++, n++)
            s[i] = 0.3f * sinf((float) n * 440.0f * 6.2831853f / RATE);
        f->pts = n - f->nb_samples;
        if (avcodec_send_frame(enc, f) < 0 || take_audio(m, enc, pkt) < 0)
            goto fail;
    }
    if (avcodec_send_frame(enc, NULL) < 0 || take_audio(m, enc, pkt) < 0)
        goto fail;
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    return 0;
fail:
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    return -1;
}

static void
media_free(struct media *m)
{
    sl_buf_unref(m->vseq);
    sl_buf_unref(m->aseq);
    for (int i = 0; i < m->nv; i++)
        sl_buf_unref(m->v[i].body);
    for (int i = 0; i < m->na; i++)
        sl_buf_unref(m->a[i].body);
    memset(m, 0, sizeof(*m));
}

static int
suite_init(void)
{
    av_log_set_level(AV_LOG_ERROR); /* no encoder summaries */
    if (make_video(&plain, 0) < 0 || make_audio(&plain) < 0 ||
        make_video(&bframes, 2) < 0 || make_audio(&bframes) < 0)
        return -1;
    return 0;
}

static int
suite_clean(void)
{
    media_free(&plain);
    media_free(&bframes);
    return 0;
}

/* The payloads the muxer takes: the avcC after the FLV header's 5
 * bytes, the AudioSpecificConfig after 2, a frame's NAL units after 5,
 * a raw AAC frame after 2. */
static struct sl_hls_tracks
tracks_of(const struct media *m, int video, int audio)
{
    struct sl_hls_tracks t = {0};

    if (video) {
        t.avcc = m->vseq->data + 5;
        t.avcc_len = m->vseq->len - 5;
    }
    if (audio) {
        t.asc = m->aseq->data + 2;
        t.asc_len = m->aseq->len - 2;
    }
    return t;
}

/* ---- reading MP4 back from memory ------------------------------------ */

struct memio {
    const uint8_t *p;
    size_t         len, pos;
};

static int
mem_read(void *opaque, uint8_t *buf, int size)
{
    struct memio *io = opaque;
    size_t        n = io->len - io->pos;

    if (n == 0)
        return AVERROR_EOF;
    if (n > (size_t) size)
        n = (size_t) size;
    memcpy(buf, io->p + io->pos, n);
    io->pos += n;
    return (int) n;
}

static int64_t
mem_seek(void *opaque, int64_t off, int whence)
{
    struct memio *io = opaque;
    int64_t       to;

    if (whence & AVSEEK_SIZE)
        return (int64_t) io->len;
    whence &= ~AVSEEK_FORCE;
    if (whence == SEEK_SET)
        to = off;
    else if (whence == SEEK_CUR)
        to = (int64_t) io->pos + off;
    else if (whence == SEEK_END)
        to = (int64_t) io->len + off;
    else
        return AVERROR(EINVAL);
    if (to < 0 || to > (int64_t) io->len)
        return AVERROR(EINVAL);
    io->pos = (size_t) to;
    return to;
}

struct reader {
    struct memio     io;
    uint8_t         *bytes;
    AVFormatContext *fc;
    int              vidx, aidx;
};

/* Opens the concatenation of bufs as MP4 (rd->fc NULL when it does not
 * open). */
static void
reader_open(struct reader *rd, struct sl_buf *const *bufs, int n)
{
    size_t       len = 0;
    AVIOContext *pb;
    uint8_t     *iobuf;

    memset(rd, 0, sizeof(*rd));
    rd->vidx = rd->aidx = -1;
    for (int i = 0; i < n; i++)
        len += bufs[i]->len;
    rd->bytes = malloc(len ? len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rd->bytes);
    for (int i = 0; i < n; i++) {
        memcpy(rd->bytes + rd->io.len, bufs[i]->data, bufs[i]->len);
        rd->io.len += bufs[i]->len;
    }
    rd->io.p = rd->bytes;
    rd->fc = avformat_alloc_context();
    iobuf = av_malloc(4096);
    CU_ASSERT_FATAL(rd->fc != NULL && iobuf != NULL);
    pb = avio_alloc_context(iobuf, 4096, 0, &rd->io, mem_read, NULL, mem_seek);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pb);
    rd->fc->pb = pb;
    rd->fc->flags |= AVFMT_FLAG_CUSTOM_IO;
    if (avformat_open_input(&rd->fc, NULL, av_find_input_format("mp4"), NULL) <
        0) {
        /* avformat_open_input freed the context on failure. */
        av_freep(&pb->buffer);
        avio_context_free(&pb);
        rd->fc = NULL;
        return;
    }
    for (unsigned i = 0; i < rd->fc->nb_streams; i++) {
        enum AVMediaType t = rd->fc->streams[i]->codecpar->codec_type;

        if (t == AVMEDIA_TYPE_VIDEO && rd->vidx < 0)
            rd->vidx = (int) i;
        if (t == AVMEDIA_TYPE_AUDIO && rd->aidx < 0)
            rd->aidx = (int) i;
    }
}

static void
reader_close(struct reader *rd)
{
    if (rd->fc != NULL) {
        AVIOContext *pb = rd->fc->pb;

        avformat_close_input(&rd->fc);
        av_freep(&pb->buffer);
        avio_context_free(&pb);
    }
    free(rd->bytes);
    rd->bytes = NULL;
}

/* One demuxed sample, its times in ms on the timeline (and in its time
 * base, for audio). */
struct sample {
    int64_t  dts_ms, pts_ms, dur_ms;
    int64_t  dts, dur; /* time base units */
    int      key;
    uint8_t *data;
    int      size;
};

struct samples {
    int           nv, na;
    struct sample v[MAXV * 2];
    struct sample a[MAXA * 2];
};

static int64_t
to_ms(int64_t t, AVRational tb)
{
    return av_rescale_q(t, tb, (AVRational){1, 1000});
}

/* Every packet of an open reader. */
static void
read_all(struct reader *rd, struct samples *s)
{
    AVPacket *pkt = av_packet_alloc();

    CU_ASSERT_PTR_NOT_NULL_FATAL(pkt);
    s->nv = s->na = 0;
    while (av_read_frame(rd->fc, pkt) >= 0) {
        AVRational     tb = rd->fc->streams[pkt->stream_index]->time_base;
        struct sample *x = NULL;

        if (pkt->stream_index == rd->vidx && s->nv < MAXV * 2)
            x = &s->v[s->nv++];
        else if (pkt->stream_index == rd->aidx && s->na < MAXA * 2)
            x = &s->a[s->na++];
        if (x != NULL) {
            x->dts = pkt->dts;
            x->dur = pkt->duration;
            x->dts_ms = to_ms(pkt->dts, tb);
            x->pts_ms = to_ms(pkt->pts, tb);
            x->dur_ms = to_ms(pkt->duration, tb);
            x->key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
            x->size = pkt->size;
            x->data = malloc((size_t) pkt->size);
            CU_ASSERT_PTR_NOT_NULL_FATAL(x->data);
            memcpy(x->data, pkt->data, (size_t) pkt->size);
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
}

static void
samples_free(struct samples *s)
{
    for (int i = 0; i < s->nv; i++)
        free(s->v[i].data);
    for (int i = 0; i < s->na; i++)
        free(s->a[i].data);
    s->nv = s->na = 0;
}

/* Decodes every packet of stream idx; the number of frames out. */
static int
decode_count(struct reader *rd, int idx, int *w, int *h)
{
    const AVCodecParameters *par = rd->fc->streams[idx]->codecpar;
    const AVCodec           *codec = avcodec_find_decoder(par->codec_id);
    AVCodecContext          *c = avcodec_alloc_context3(codec);
    AVPacket                *pkt = av_packet_alloc();
    AVFrame                 *f = av_frame_alloc();
    int                      n = 0, errors = 0;

    CU_ASSERT_FATAL(codec != NULL && c != NULL && pkt != NULL && f != NULL);
    CU_ASSERT_FATAL(avcodec_parameters_to_context(c, par) >= 0);
    c->thread_count = 1;
    CU_ASSERT_FATAL(avcodec_open2(c, codec, NULL) == 0);
    for (int eof = 0; !eof;) {
        if (av_read_frame(rd->fc, pkt) < 0) {
            eof = 1;
            avcodec_send_packet(c, NULL);
        } else if (pkt->stream_index != idx) {
            av_packet_unref(pkt);
            continue;
        } else {
            if (avcodec_send_packet(c, pkt) < 0)
                errors++;
            av_packet_unref(pkt);
        }
        while (avcodec_receive_frame(c, f) == 0) {
            if (w != NULL) {
                *w = f->width;
                *h = f->height;
            }
            if (f->decode_error_flags != 0)
                errors++;
            n++;
            av_frame_unref(f);
        }
    }
    CU_ASSERT_EQUAL(errors, 0);
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&c);
    return n;
}

/* ---- feeding the muxer as the packager does --------------------------- */

struct frag {
    struct sl_buf *buf;
    int64_t        start_ms, end_ms;
    int            at_key; /* cut right before a keyframe */
    int            nv, na; /* frames fed while it was open */
};

struct run {
    struct sl_hls_mux *mux;
    struct sl_buf     *init;
    char               codecs[64];
    int                width, height;
    int                nf;
    struct frag        f[MAXF];
};

static void
cut(struct run *r, int64_t end_ms, int next_at_key)
{
    struct frag   *f = &r->f[r->nf];
    struct sl_buf *out = (struct sl_buf *) 1;

    CU_ASSERT_EQUAL(sl_hls_mux_cut(r->mux, end_ms, &out), 0);
    CU_ASSERT_EQUAL(sl_hls_mux_held_ms(r->mux), INT64_MIN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_FATAL(r->nf + 1 < MAXF);
    f->buf = out;
    f->end_ms = end_ms;
    r->nf++;
    r->f[r->nf] = (struct frag){.start_ms = end_ms, .at_key = next_at_key};
}

/* Feeds m's media in time order (video by decode time, audio first on a
 * tie), cutting before each keyframe but the first and when a part has
 * lasted PART_MS, as hls/hls.c does; then the last cut. */
static void
feed(struct run *r, const struct media *m, int video, int audio)
{
    int     iv = video ? 0 : m->nv, ia = audio ? 0 : m->na;
    int64_t last = 0;

    r->nf = 0;
    r->f[0] = (struct frag){.start_ms = video ? m->v[0].dts : m->a[0].ts,
                            .at_key = video};
    while (iv < m->nv || ia < m->na) {
        int use_audio =
            iv == m->nv || (ia < m->na && m->a[ia].ts <= m->v[iv].dts);
        struct frag *f = &r->f[r->nf];

        if (use_audio) {
            const struct aframe *a = &m->a[ia++];

            if (!video && a->ts - f->start_ms >= PART_MS)
                cut(r, a->ts, 1);
            CU_ASSERT_EQUAL(sl_hls_mux_audio(r->mux, a->ts, a->body->data + 2,
                                             a->body->len - 2),
                            0);
            r->f[r->nf].na++;
            last = a->ts + 21;
        } else {
            const struct vframe *v = &m->v[iv++];

            if (v->key && iv > 1)
                cut(r, v->dts, 1);
            else if (v->dts - f->start_ms >= PART_MS)
                cut(r, v->dts, 0);
            CU_ASSERT_EQUAL(
                sl_hls_mux_video(r->mux, v->dts, (int32_t) (v->pts - v->dts),
                                 v->key, v->body->data + 5, v->body->len - 5),
                0);
            CU_ASSERT_EQUAL(sl_hls_mux_held_ms(r->mux), v->dts);
            r->f[r->nf].nv++;
            last = v->dts + 1000 / FPS;
        }
    }
    cut(r, last, 0);
}

static void
run_open(struct run *r, const struct media *m, int video, int audio)
{
    struct sl_hls_tracks t = tracks_of(m, video, audio);
    char                 why[128];

    memset(r, 0, sizeof(*r));
    r->mux = sl_hls_mux_open(&t, &r->init, r->codecs, sizeof(r->codecs),
                             &r->width, &r->height, why, sizeof(why));
    if (r->mux == NULL)
        fprintf(stderr, "\n  sl_hls_mux_open: %s ", why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->mux);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->init);
    CU_ASSERT_STRING_EQUAL(why, "");
    CU_ASSERT_EQUAL(sl_hls_mux_held_ms(r->mux), INT64_MIN);
}

static void
run_free(struct run *r)
{
    sl_hls_mux_free(r->mux);
    sl_buf_unref(r->init);
    for (int i = 0; i < r->nf; i++)
        sl_buf_unref(r->f[i].buf);
    memset(r, 0, sizeof(*r));
}

/* ---- the checks ------------------------------------------------------- */

/* The init segment alone: MP4 with the tracks, codecs and size, and no
 * samples. */
static void
check_init(struct run *r, const struct media *m, int video, int audio)
{
    struct reader  rd;
    struct samples s;

    reader_open(&rd, &r->init, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rd.fc);
    CU_ASSERT_EQUAL(rd.fc->nb_streams, (unsigned) (video + audio));
    if (video) {
        const AVCodecParameters *p;

        CU_ASSERT_FATAL(rd.vidx >= 0);
        p = rd.fc->streams[rd.vidx]->codecpar;
        CU_ASSERT_EQUAL(p->codec_id, AV_CODEC_ID_H264);
        CU_ASSERT_EQUAL(p->width, W);
        CU_ASSERT_EQUAL(p->height, H);
        /* The avcC is the publisher's, as it is. */
        CU_ASSERT_EQUAL(p->extradata_size, (int) m->vseq->len - 5);
        CU_ASSERT(p->extradata_size == (int) m->vseq->len - 5 &&
                  memcmp(p->extradata, m->vseq->data + 5, m->vseq->len - 5) ==
                      0);
    }
    if (audio) {
        const AVCodecParameters *p;

        CU_ASSERT_FATAL(rd.aidx >= 0);
        p = rd.fc->streams[rd.aidx]->codecpar;
        CU_ASSERT_EQUAL(p->codec_id, AV_CODEC_ID_AAC);
        CU_ASSERT_EQUAL(p->sample_rate, RATE);
        CU_ASSERT_EQUAL(p->ch_layout.nb_channels, 1);
        CU_ASSERT(p->extradata_size == (int) m->aseq->len - 2 &&
                  memcmp(p->extradata, m->aseq->data + 2, m->aseq->len - 2) ==
                      0);
    }
    read_all(&rd, &s);
    CU_ASSERT_EQUAL(s.nv + s.na, 0);
    samples_free(&s);
    reader_close(&rd);
}

/* ---- the boxes, read here ------------------------------------------- */

/* libavformat's demuxer gives no sample durations for fragments, and
 * with the signed composition offsets CMAF writes for B-frames it moves
 * presentation times by the largest negative offset; so the exact times
 * are read from the boxes too (ISO 14496-12: a sample's decode time is
 * the traf's tfdt plus the durations before it, its composition time
 * the decode time plus its trun offset). */

struct box {
    char           type[5];
    const uint8_t *body, *end;
};

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
           (uint32_t) p[2] << 8 | p[3];
}

static uint64_t
be64(const uint8_t *p)
{
    return (uint64_t) be32(p) << 32 | be32(p + 4);
}

/* The box at *p (before end): 1 and *p past it, 0 at end, -1 when it
 * does not fit. */
static int
next_box(const uint8_t **p, const uint8_t *end, struct box *b)
{
    uint64_t size;
    size_t   hdr = 8;

    if (*p == end)
        return 0;
    if (end - *p < 8)
        return -1;
    size = be32(*p);
    memcpy(b->type, *p + 4, 4);
    b->type[4] = '\0';
    if (size == 1) {
        if (end - *p < 16)
            return -1;
        size = be64(*p + 8);
        hdr = 16;
    } else if (size == 0) {
        size = (uint64_t) (end - *p);
    }
    if (size < hdr || size > (uint64_t) (end - *p))
        return -1;
    b->body = *p + hdr;
    b->end = *p + size;
    *p = b->end;
    return 1;
}

/* The first child of parent named type: 0, or -1. */
static int
child(const struct box *parent, const char *type, struct box *out)
{
    const uint8_t *p = parent->body;

    while (next_box(&p, parent->end, out) == 1)
        if (strcmp(out->type, type) == 0)
            return 0;
    return -1;
}

struct init_info {
    uint32_t vid, aid;       /* track ids, 0: none */
    uint32_t vscale, ascale; /* their timescales */
};

static void
parse_init(const struct sl_buf *b, struct init_info *ii)
{
    const uint8_t *p = b->data, *end = b->data + b->len;
    struct box     top, trak, tkhd, mdia, mdhd, hdlr;
    int            rc, moov = 0;

    memset(ii, 0, sizeof(*ii));
    while ((rc = next_box(&p, end, &top)) == 1) {
        const uint8_t *q = top.body;

        if (strcmp(top.type, "moov") != 0)
            continue;
        moov = 1;
        while (next_box(&q, top.end, &trak) == 1) {
            uint32_t id, scale;

            if (strcmp(trak.type, "trak") != 0)
                continue;
            CU_ASSERT_FATAL(child(&trak, "tkhd", &tkhd) == 0 &&
                            child(&trak, "mdia", &mdia) == 0 &&
                            child(&mdia, "mdhd", &mdhd) == 0 &&
                            child(&mdia, "hdlr", &hdlr) == 0);
            CU_ASSERT_FATAL(tkhd.end - tkhd.body >= 24 &&
                            mdhd.end - mdhd.body >= 24 &&
                            hdlr.end - hdlr.body >= 12);
            id = be32(tkhd.body + (tkhd.body[0] == 1 ? 20 : 12));
            scale = be32(mdhd.body + (mdhd.body[0] == 1 ? 20 : 12));
            if (memcmp(hdlr.body + 8, "vide", 4) == 0) {
                ii->vid = id;
                ii->vscale = scale;
            } else if (memcmp(hdlr.body + 8, "soun", 4) == 0) {
                ii->aid = id;
                ii->ascale = scale;
            }
        }
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(moov);
}

struct isample {
    int64_t  dt, ct, dur; /* the track's timescale */
    uint32_t size;
    int      key; /* sample_is_non_sync_sample clear */
};

struct itrack {
    int64_t        tfdt; /* -1: the fragment has no such track */
    int            n;
    struct isample s[MAXA];
};

/* Reads one trun of a traf into t, decode times from *dt on. */
static int
parse_trun(const struct box *trun, uint32_t defdur, uint32_t defsize,
           uint32_t defflags, int64_t *dt, struct itrack *t)
{
    const uint8_t *q = trun->body, *end = trun->end;
    uint32_t       flags, count, first = 0;
    int            v, has_first = 0;

    if (end - q < 8)
        return -1;
    v = q[0];
    flags = be32(q) & 0xffffff;
    count = be32(q + 4);
    q += 8;
    if (flags & 0x1)
        q += 4; /* data offset */
    if (flags & 0x4) {
        if (end - q < 4)
            return -1;
        first = be32(q);
        has_first = 1;
        q += 4;
    }
    for (uint32_t i = 0; i < count; i++) {
        struct isample *x;
        uint32_t        sflags = i == 0 && has_first ? first : defflags;
        int64_t         cts = 0;

        if (t->n == MAXA)
            return -1;
        x = &t->s[t->n++];
        x->dur = defdur;
        x->size = defsize;
        if (end - q < 4 * (((flags >> 8) & 1) + ((flags >> 9) & 1) +
                           ((flags >> 10) & 1) + ((flags >> 11) & 1)))
            return -1;
        if (flags & 0x100) {
            x->dur = be32(q);
            q += 4;
        }
        if (flags & 0x200) {
            x->size = be32(q);
            q += 4;
        }
        if (flags & 0x400) {
            sflags = be32(q);
            q += 4;
        }
        if (flags & 0x800) {
            cts = v == 1 ? (int64_t) (int32_t) be32(q) : (int64_t) be32(q);
            q += 4;
        }
        x->dt = *dt;
        x->ct = *dt + cts;
        x->key = !(sflags & 0x10000);
        *dt += x->dur;
    }
    return 0;
}

/* The samples of track id in one fragment (moof + mdat): 0, or -1 when
 * the boxes do not parse. */
static int
parse_frag(const struct sl_buf *b, uint32_t id, struct itrack *t)
{
    const uint8_t *p = b->data, *end = b->data + b->len;
    struct box     top;
    int            rc;

    t->tfdt = -1;
    t->n = 0;
    while ((rc = next_box(&p, end, &top)) == 1) {
        const uint8_t *q = top.body;
        struct box     traf;

        if (strcmp(top.type, "moof") != 0)
            continue;
        while (next_box(&q, top.end, &traf) == 1) {
            const uint8_t *c = traf.body;
            struct box     x;
            uint32_t       flags, defdur = 0, defsize = 0, defflags = 0;
            const uint8_t *h;
            int64_t        dt;

            if (strcmp(traf.type, "traf") != 0)
                continue;
            if (child(&traf, "tfhd", &x) < 0 || x.end - x.body < 8)
                return -1;
            flags = be32(x.body) & 0xffffff;
            if (be32(x.body + 4) != id)
                continue;
            h = x.body + 8;
            if (flags & 0x1)
                h += 8;
            if (flags & 0x2)
                h += 4;
            if (x.end - h < 4 * (((flags >> 3) & 1) + ((flags >> 4) & 1) +
                                 ((flags >> 5) & 1)))
                return -1;
            if (flags & 0x8) {
                defdur = be32(h);
                h += 4;
            }
            if (flags & 0x10) {
                defsize = be32(h);
                h += 4;
            }
            if (flags & 0x20)
                defflags = be32(h);
            if (child(&traf, "tfdt", &x) < 0 || x.end - x.body < 8)
                return -1;
            t->tfdt =
                x.body[0] == 1
                    ? (x.end - x.body < 12 ? -1 : (int64_t) be64(x.body + 4))
                    : (int64_t) be32(x.body + 4);
            dt = t->tfdt;
            while (next_box(&c, traf.end, &x) == 1)
                if (strcmp(x.type, "trun") == 0 &&
                    parse_trun(&x, defdur, defsize, defflags, &dt, t) < 0)
                    return -1;
        }
    }
    return rc;
}

/* How far CMAF's signed composition offsets move decode times: by the
 * first frame's offset, so that it is presented at its decode time
 * (0 without B-frames). */
static int64_t
dts_shift(const struct media *m, int video)
{
    return video ? m->v[0].pts - m->v[0].dts : 0;
}

/* init + every fragment through libavformat: every frame as fed. */
static void
check_whole(struct run *r, const struct media *m, int video, int audio)
{
    struct sl_buf        *all[MAXF + 1];
    struct reader         rd;
    static struct samples s;
    int                   w = 0, h = 0;
    int64_t               shift = dts_shift(m, video);

    all[0] = r->init;
    for (int i = 0; i < r->nf; i++)
        all[i + 1] = r->f[i].buf;
    reader_open(&rd, all, r->nf + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rd.fc);
    read_all(&rd, &s);

    if (video) {
        /* libavformat moves presentation times by an offset of its own
         * when some are negative: the same for every frame, 0 without
         * B-frames. */
        int64_t poff = s.nv > 0 ? s.v[0].pts_ms - m->v[0].pts : 0;

        if (shift == 0)
            CU_ASSERT_EQUAL(poff, 0);
        CU_ASSERT_EQUAL(s.nv, m->nv);
        for (int i = 0; i < s.nv && i < m->nv; i++) {
            const struct vframe *v = &m->v[i];
            const struct sample *x = &s.v[i];

            CU_ASSERT(x->size == (int) v->body->len - 5 &&
                      memcmp(x->data, v->body->data + 5, v->body->len - 5) ==
                          0);
            CU_ASSERT_EQUAL(x->key, v->key);
            CU_ASSERT_EQUAL(x->dts_ms, v->dts + shift);
            CU_ASSERT_EQUAL(x->pts_ms - v->pts, poff);
        }
    }
    if (audio) {
        CU_ASSERT_EQUAL(s.na, m->na);
        for (int i = 0; i < s.na && i < m->na; i++) {
            const struct aframe *a = &m->a[i];
            const struct sample *x = &s.a[i];

            CU_ASSERT(x->size == (int) a->body->len - 2 &&
                      memcmp(x->data, a->body->data + 2, a->body->len - 2) ==
                          0);
            /* Sample-exact: 1024 samples a frame from where it began. */
            CU_ASSERT_EQUAL(x->dts, (int64_t) BASE_MS * (RATE / 1000) +
                                        (int64_t) i * 1024);
            CU_ASSERT_EQUAL(x->pts_ms, x->dts_ms);
            /* Within a ms of the time it came with. */
            CU_ASSERT(llabs(x->dts_ms - a->ts) <= 1);
        }
    }
    samples_free(&s);
    reader_close(&rd);

    /* And it decodes: every picture, every audio frame. */
    if (video) {
        reader_open(&rd, all, r->nf + 1);
        CU_ASSERT_EQUAL(decode_count(&rd, rd.vidx, &w, &h), m->nv);
        CU_ASSERT(w == W && h == H);
        reader_close(&rd);
    }
    if (audio) {
        int n;

        reader_open(&rd, all, r->nf + 1);
        n = decode_count(&rd, rd.aidx, NULL, NULL);
        /* The decoder may hold back its first frame (priming). */
        CU_ASSERT(n == m->na || n == m->na - 1);
        reader_close(&rd);
    }
}

/* Each fragment, from its boxes and through libavformat with the init
 * alone: what it holds, where it starts (tfdt: absolute, not from 0),
 * its exact decode and presentation times, that it ends where it was
 * cut and the next starts there, and that a part cut at a keyframe
 * starts with one. */
static void
check_each(struct run *r, const struct media *m, int video, int audio)
{
    static struct samples s;
    static struct itrack  vt, at;
    struct init_info      ii;
    int                   vseen = 0, aseen = 0;
    int64_t               shift = dts_shift(m, video), vnext = -1;

    parse_init(r->init, &ii);
    CU_ASSERT_EQUAL(ii.vid != 0, video);
    CU_ASSERT_EQUAL(ii.aid != 0, audio);
    if (video)
        CU_ASSERT_EQUAL(ii.vscale, 90000);
    if (audio)
        CU_ASSERT_EQUAL(ii.ascale, RATE);
    for (int i = 0; i < r->nf; i++) {
        const struct frag *f = &r->f[i];
        struct sl_buf     *two[2] = {r->init, f->buf};
        struct reader      rd;

        if (video) {
            CU_ASSERT_EQUAL_FATAL(parse_frag(f->buf, ii.vid, &vt), 0);
            CU_ASSERT_EQUAL_FATAL(vt.n, f->nv);
            CU_ASSERT_FATAL(vseen + vt.n <= m->nv);
        }
        for (int k = 0; video && k < vt.n; k++) {
            const struct vframe  *v = &m->v[vseen + k];
            const struct isample *x = &vt.s[k];

            /* Presented exactly when fed; decoded at the fed time
             * moved by the constant shift. */
            CU_ASSERT_EQUAL(x->ct, v->pts * 90);
            CU_ASSERT_EQUAL(x->dt, (v->dts + shift) * 90);
            CU_ASSERT_EQUAL(x->key, v->key);
            CU_ASSERT_EQUAL(x->size, v->body->len - 5);
            if (x->ct != v->pts * 90 || x->dt != (v->dts + shift) * 90) {
                fprintf(stderr, "\n  frame %d: dt %lld ct %lld, fed %lld %lld ",
                        vseen + k, (long long) x->dt, (long long) x->ct,
                        (long long) v->dts, (long long) v->pts);
                break;
            }
        }
        if (video && vt.n > 0) {
            /* Absolute: about where the stream started, not 0. */
            if (i == 0)
                CU_ASSERT(llabs(vt.tfdt / 90 - BASE_MS) <= 100);
            if (f->at_key) {
                CU_ASSERT(vt.s[0].key);
                CU_ASSERT_EQUAL(m->v[vseen].dts, f->start_ms);
            }
            /* Continuous, and the last frame lasts up to the cut. */
            if (vnext >= 0)
                CU_ASSERT_EQUAL(vt.tfdt, vnext);
            vnext = vt.s[vt.n - 1].dt + vt.s[vt.n - 1].dur;
            CU_ASSERT_EQUAL(vnext, (f->end_ms + shift) * 90);
        }
        if (audio) {
            CU_ASSERT_EQUAL_FATAL(parse_frag(f->buf, ii.aid, &at), 0);
            CU_ASSERT_EQUAL_FATAL(at.n, f->na);
            CU_ASSERT_FATAL(aseen + at.n <= m->na);
            if (at.n > 0)
                CU_ASSERT_EQUAL(at.tfdt, (int64_t) BASE_MS * (RATE / 1000) +
                                             (int64_t) aseen * 1024);
            for (int k = 0; k < at.n; k++) {
                CU_ASSERT_EQUAL(at.s[k].dur, 1024);
                CU_ASSERT_EQUAL(at.s[k].ct, at.s[k].dt);
                CU_ASSERT(at.s[k].key);
                CU_ASSERT_EQUAL(at.s[k].size, m->a[aseen + k].body->len - 2);
            }
        }

        /* The init and this part alone, as a player that joins here
         * reads them. */
        reader_open(&rd, two, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(rd.fc);
        read_all(&rd, &s);
        CU_ASSERT_EQUAL(s.nv, f->nv);
        CU_ASSERT_EQUAL(s.na, f->na);
        if (video && s.nv > 0) {
            CU_ASSERT_EQUAL(s.v[0].dts_ms, m->v[vseen].dts + shift);
            if (f->at_key)
                CU_ASSERT(s.v[0].key);
        }
        if (audio && s.na > 0)
            CU_ASSERT_EQUAL(s.a[0].dts, (int64_t) BASE_MS * (RATE / 1000) +
                                            (int64_t) aseen * 1024);
        vseen += f->nv;
        aseen += f->na;
        samples_free(&s);
        reader_close(&rd);
    }
    if (video)
        CU_ASSERT_EQUAL(vseen, m->nv);
    if (audio)
        CU_ASSERT_EQUAL(aseen, m->na);
}

static void
roundtrip(const struct media *m, int video, int audio)
{
    static struct run r;
    long              before = sl_buf_live_count();
    int               keys = 0;

    CU_ASSERT_FATAL(m->nv == NFRAMES && m->na > 0);
    run_open(&r, m, video, audio);
    CU_ASSERT_EQUAL(r.width, video ? W : 0);
    CU_ASSERT_EQUAL(r.height, video ? H : 0);
    feed(&r, m, video, audio);
    for (int i = 0; i < r.nf; i++)
        keys += r.f[i].at_key;
    /* A keyframe every GOP frames starts a part; PART_MS cuts others. */
    if (video)
        CU_ASSERT_EQUAL(keys, NFRAMES / GOP);
    CU_ASSERT(r.nf > NFRAMES / GOP + 4);
    check_init(&r, m, video, audio);
    check_whole(&r, m, video, audio);
    check_each(&r, m, video, audio);
    run_free(&r);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_video_audio(void)
{
    /* libx264 without B-frames: decode order is presentation order. */
    for (int i = 0; i < plain.nv; i++)
        CU_ASSERT_EQUAL(plain.v[i].pts, plain.v[i].dts);
    roundtrip(&plain, 1, 1);
}

static void
test_bframes(void)
{
    int reordered = 0;

    /* The stream really has B-frames: some presentation times are
     * ahead of their decode times, and decoding starts before 10 s. */
    for (int i = 0; i < bframes.nv; i++)
        reordered += bframes.v[i].pts != bframes.v[i].dts;
    CU_ASSERT(reordered > NFRAMES / 2);
    CU_ASSERT(bframes.v[0].dts < BASE_MS);
    CU_ASSERT_EQUAL(bframes.v[0].pts, BASE_MS);
    roundtrip(&bframes, 1, 1);
}

static void
test_video_only(void)
{
    roundtrip(&bframes, 1, 0);
}

static void
test_audio_only(void)
{
    roundtrip(&plain, 0, 1);
}

/* RFC 6381 from the avcC's profile, constraints and level bytes, then
 * the AAC object type. */
static void
test_codecs_string(void)
{
    struct run     r;
    char           want[64];
    const uint8_t *avcc = plain.vseq->data + 5;

    snprintf(want, sizeof(want), "avc1.%02x%02x%02x,mp4a.40.2", avcc[1],
             avcc[2], avcc[3]);
    run_open(&r, &plain, 1, 1);
    CU_ASSERT_STRING_EQUAL(r.codecs, want);
    CU_ASSERT(r.width == W && r.height == H);
    run_free(&r);

    run_open(&r, &plain, 1, 0);
    want[strlen("avc1.000000")] = '\0';
    CU_ASSERT_STRING_EQUAL(r.codecs, want);
    run_free(&r);

    run_open(&r, &plain, 0, 1);
    CU_ASSERT_STRING_EQUAL(r.codecs, "mp4a.40.2");
    CU_ASSERT(r.width == 0 && r.height == 0);
    run_free(&r);
}

/* Configurations that do not parse: NULL, nothing leaked, a reason. */
static void
test_bad_config(void)
{
    /* Version 1, High 3.1, one SPS of 0x50 bytes that is not there. */
    static const uint8_t cut_avcc[] = {0x01, 0x64, 0x00, 0x1f, 0xff,
                                       0xe1, 0x00, 0x50, 0x67, 0x64};
    static const uint8_t bad_version[] = {0x02, 0x64, 0x00, 0x1f,
                                          0xff, 0xe0, 0x00};
    /* Object type 0 is reserved; rate index 15 with no explicit rate. */
    static const uint8_t bad_asc[] = {0x01, 0x88};
    static const uint8_t short_asc[] = {0x12};
    struct sl_hls_tracks t;
    struct sl_buf       *init = (struct sl_buf *) 1;
    char                 codecs[64] = "x", why[128];
    int                  w = 7, h = 7;
    long                 before = sl_buf_live_count();

    t = tracks_of(&plain, 0, 1);
    t.avcc = cut_avcc;
    t.avcc_len = sizeof(cut_avcc);
    CU_ASSERT_PTR_NULL(sl_hls_mux_open(&t, &init, codecs, sizeof(codecs), &w,
                                       &h, why, sizeof(why)));
    CU_ASSERT_PTR_NULL(init);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "H.264"));
    /* What the caller had is left: it still describes their last init. */
    CU_ASSERT(w == 7 && h == 7);
    CU_ASSERT_STRING_EQUAL(codecs, "x");

    t.avcc = bad_version;
    t.avcc_len = sizeof(bad_version);
    why[0] = '\0';
    CU_ASSERT_PTR_NULL(sl_hls_mux_open(&t, &init, codecs, sizeof(codecs), &w,
                                       &h, why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "H.264"));

    /* Half a record: the real one cut short. */
    t.avcc = plain.vseq->data + 5;
    t.avcc_len = 6;
    why[0] = '\0';
    CU_ASSERT_PTR_NULL(sl_hls_mux_open(&t, &init, codecs, sizeof(codecs), &w,
                                       &h, why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "H.264"));

    t = tracks_of(&plain, 1, 0);
    t.asc = bad_asc;
    t.asc_len = sizeof(bad_asc);
    why[0] = '\0';
    CU_ASSERT_PTR_NULL(sl_hls_mux_open(&t, &init, codecs, sizeof(codecs), &w,
                                       &h, why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "AAC"));
    CU_ASSERT_PTR_NULL(init);
    /* Not even the video, which did parse. */
    CU_ASSERT(w == 7 && h == 7);
    CU_ASSERT_STRING_EQUAL(codecs, "x");

    t.asc = short_asc;
    t.asc_len = sizeof(short_asc);
    why[0] = '\0';
    CU_ASSERT_PTR_NULL(sl_hls_mux_open(&t, &init, codecs, sizeof(codecs), &w,
                                       &h, why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "AAC"));

    memset(&t, 0, sizeof(t));
    why[0] = '\0';
    CU_ASSERT_PTR_NULL(sl_hls_mux_open(&t, &init, codecs, sizeof(codecs), &w,
                                       &h, why, sizeof(why)));
    CU_ASSERT_STRING_NOT_EQUAL(why, "");
    CU_ASSERT_PTR_NULL(init);
    CU_ASSERT_STRING_EQUAL(codecs, "x");
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

/* A cut with nothing since the last: NULL, and no error; the muxer goes
 * on as before. */
static void
test_empty_cut(void)
{
    static const int cfg[3][2] = {{1, 1}, {1, 0}, {0, 1}};
    long             before = sl_buf_live_count();

    for (int c = 0; c < 3; c++) {
        struct run     r;
        struct sl_buf *out = (struct sl_buf *) 1;
        int            video = cfg[c][0], audio = cfg[c][1];

        run_open(&r, &plain, video, audio);
        CU_ASSERT_EQUAL(sl_hls_mux_cut(r.mux, BASE_MS, &out), 0);
        CU_ASSERT_PTR_NULL(out);
        out = (struct sl_buf *) 1;
        CU_ASSERT_EQUAL(sl_hls_mux_cut(r.mux, BASE_MS + 40, &out), 0);
        CU_ASSERT_PTR_NULL(out);
        /* Media now, a fragment; then empty again. */
        if (video)
            CU_ASSERT_EQUAL(sl_hls_mux_video(r.mux, plain.v[0].dts, 0, 1,
                                             plain.v[0].body->data + 5,
                                             plain.v[0].body->len - 5),
                            0);
        if (audio)
            CU_ASSERT_EQUAL(sl_hls_mux_audio(r.mux, plain.a[0].ts,
                                             plain.a[0].body->data + 2,
                                             plain.a[0].body->len - 2),
                            0);
        CU_ASSERT_EQUAL(sl_hls_mux_cut(r.mux, BASE_MS + 40, &out), 0);
        CU_ASSERT_PTR_NOT_NULL(out);
        sl_buf_unref(out);
        out = (struct sl_buf *) 1;
        CU_ASSERT_EQUAL(sl_hls_mux_cut(r.mux, BASE_MS + 80, &out), 0);
        CU_ASSERT_PTR_NULL(out);
        run_free(&r);
    }
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

/* What a track set does not have, or an empty frame, is ignored. */
static void
test_ignored_input(void)
{
    struct run     r;
    struct sl_buf *out = NULL;
    const uint8_t  b[4] = {0, 0, 0, 0};

    run_open(&r, &plain, 0, 1);
    CU_ASSERT_EQUAL(sl_hls_mux_video(r.mux, BASE_MS, 0, 1, b, sizeof(b)), 0);
    CU_ASSERT_EQUAL(sl_hls_mux_held_ms(r.mux), INT64_MIN);
    CU_ASSERT_EQUAL(sl_hls_mux_audio(r.mux, BASE_MS, b, 0), 0);
    CU_ASSERT_EQUAL(sl_hls_mux_cut(r.mux, BASE_MS + 40, &out), 0);
    CU_ASSERT_PTR_NULL(out);
    run_free(&r);

    run_open(&r, &plain, 1, 0);
    CU_ASSERT_EQUAL(sl_hls_mux_audio(r.mux, BASE_MS, b, sizeof(b)), 0);
    CU_ASSERT_EQUAL(sl_hls_mux_video(r.mux, BASE_MS, 0, 1, b, 0), 0);
    CU_ASSERT_EQUAL(sl_hls_mux_held_ms(r.mux), INT64_MIN);
    CU_ASSERT_EQUAL(sl_hls_mux_cut(r.mux, BASE_MS + 40, &out), 0);
    CU_ASSERT_PTR_NULL(out);
    run_free(&r);
}

/* An audio gap of half a second (an encoder that stalled) re-anchors
 * the sample count to the RTMP clock; a millisecond of rounding does
 * not. */
static void
test_audio_gap(void)
{
    struct run      r;
    struct reader   rd;
    struct samples *s = calloc(1, sizeof(*s));
    struct sl_buf  *all[2];
    const int       n = 40, gap_at = 20;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    run_open(&r, &plain, 0, 1);
    for (int i = 0; i < n; i++) {
        const struct aframe *a = &plain.a[i];
        int64_t ts = a->ts + (i >= gap_at ? 500 : 0) + (i % 3 == 1);

        CU_ASSERT_EQUAL(
            sl_hls_mux_audio(r.mux, ts, a->body->data + 2, a->body->len - 2),
            0);
    }
    all[0] = r.init;
    CU_ASSERT_EQUAL(sl_hls_mux_cut(r.mux, 0, &all[1]), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(all[1]);
    reader_open(&rd, all, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rd.fc);
    read_all(&rd, s);
    CU_ASSERT_EQUAL_FATAL(s->na, n);
    for (int i = 1; i < n; i++) {
        if (i == gap_at) {
            CU_ASSERT_EQUAL(s->a[i].dts, (plain.a[i].ts + 500) * (RATE / 1000) +
                                             (i % 3 == 1) * (RATE / 1000));
        } else {
            CU_ASSERT_EQUAL(s->a[i].dts - s->a[i - 1].dts, 1024);
        }
    }
    samples_free(s);
    free(s);
    reader_close(&rd);
    sl_buf_unref(all[1]);
    run_free(&r);
}

/* Freed with a held frame and samples in the muxer's fragment, never
 * cut: nothing leaks (SAN=1 runs LeakSanitizer over it). */
static void
test_free_without_cut(void)
{
    long before = sl_buf_live_count();

    for (int c = 0; c < 2; c++) {
        struct run r;

        run_open(&r, &bframes, 1, 1);
        for (int i = 0; i < 20; i++) {
            const struct vframe *v = &bframes.v[i];

            CU_ASSERT_EQUAL(
                sl_hls_mux_video(r.mux, v->dts, (int32_t) (v->pts - v->dts),
                                 v->key, v->body->data + 5, v->body->len - 5),
                0);
            CU_ASSERT_EQUAL(sl_hls_mux_audio(r.mux, bframes.a[i].ts,
                                             bframes.a[i].body->data + 2,
                                             bframes.a[i].body->len - 2),
                            0);
            /* The second time, one fragment out first. */
            if (c == 1 && i == 10) {
                struct sl_buf *out = NULL;

                CU_ASSERT_EQUAL(sl_hls_mux_cut(r.mux, v->dts + 40, &out), 0);
                CU_ASSERT_PTR_NOT_NULL(out);
                sl_buf_unref(out);
            }
        }
        run_free(&r);
    }
    sl_hls_mux_free(NULL);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

/* After sl_hls_mux_sets_inband, the next keyframe (and only it) is the
 * record's SPS and PPS, each after a 4-byte length (x264's length
 * size), then the frame as fed; every other sample is as fed. */
static void
test_sets_inband(void)
{
    const uint8_t  *avcc = plain.vseq->data + 5;
    uint8_t         want[512];
    size_t          wlen = 0, at = 6;
    struct run      r;
    struct reader   rd;
    struct samples *s = calloc(1, sizeof(*s));
    struct sl_buf  *bufs[MAXF + 1];
    int             second = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    /* One SPS and one PPS, as x264 writes the record. */
    CU_ASSERT_FATAL((avcc[4] & 3) == 3 && (avcc[5] & 0x1f) == 1);
    for (int list = 0; list < 2; list++) {
        size_t n = (size_t) avcc[at] << 8 | avcc[at + 1];

        CU_ASSERT_FATAL(wlen + 4 + n <= sizeof(want));
        want[wlen++] = 0;
        want[wlen++] = 0;
        want[wlen++] = (uint8_t) (n >> 8);
        want[wlen++] = (uint8_t) n;
        memcpy(want + wlen, avcc + at + 2, n);
        wlen += n;
        at += 2 + n + (list == 0 ? 1 : 0); /* then the PPS count */
    }
    CU_ASSERT_EQUAL_FATAL(want[4] & 0x1f, 7); /* an SPS first */

    run_open(&r, &plain, 1, 0);
    sl_hls_mux_sets_inband(r.mux);
    feed(&r, &plain, 1, 0);
    bufs[0] = r.init;
    for (int i = 0; i < r.nf; i++)
        bufs[i + 1] = r.f[i].buf;
    reader_open(&rd, bufs, r.nf + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rd.fc);
    read_all(&rd, s);
    CU_ASSERT_EQUAL_FATAL(s->nv, plain.nv);
    for (int i = 0; i < s->nv; i++) {
        const struct sl_buf *b = plain.v[i].body;
        size_t               flen = b->len - 5;

        if (i == 0) {
            CU_ASSERT_EQUAL(s->v[0].size, (int) (wlen + flen));
            CU_ASSERT(memcmp(s->v[0].data, want, wlen) == 0);
            CU_ASSERT(memcmp(s->v[0].data + wlen, b->data + 5, flen) == 0);
            continue;
        }
        if (plain.v[i].key && second < 0)
            second = i;
        CU_ASSERT_EQUAL(s->v[i].size, (int) flen);
        CU_ASSERT(s->v[i].size == (int) flen &&
                  memcmp(s->v[i].data, b->data + 5, flen) == 0);
    }
    CU_ASSERT(second > 0); /* a later keyframe was there, as fed */
    reader_close(&rd);
    samples_free(s);
    free(s);
    run_free(&r);
}

/* The same encoding or a new one (the packager marks a new one with
 * EXT-X-DISCONTINUITY): records compared byte for byte, the track set,
 * the codec. */
static void
test_tracks_same(void)
{
    static const uint8_t sps240[] = {1, 0x64, 0,    0x1f, 0xff, 0xe1,
                                     0, 4,    0x67, 0x64, 0x00, 0x1f};
    static const uint8_t sps480[] = {1, 0x64, 0,    0x1f, 0xff, 0xe1,
                                     0, 4,    0x67, 0x64, 0x00, 0x28};
    static const uint8_t aac44[] = {0x12, 0x10};
    static const uint8_t aac48[] = {0x11, 0x90};
    uint8_t              copy[sizeof(sps240)];
    struct sl_hls_tracks a = {sps240, sizeof(sps240), 0, aac44, sizeof(aac44)};
    struct sl_hls_tracks b = a;

    /* The same headers again, also from another buffer: the same. */
    memcpy(copy, sps240, sizeof(copy));
    b.avcc = copy;
    CU_ASSERT(sl_hls_tracks_same(&a, &b));
    CU_ASSERT(sl_hls_tracks_same(&a, &a));
    /* Another SPS (a new size or level), a record cut short. */
    b.avcc = sps480;
    CU_ASSERT(!sl_hls_tracks_same(&a, &b));
    b.avcc = sps240;
    b.avcc_len = sizeof(sps240) - 1;
    CU_ASSERT(!sl_hls_tracks_same(&a, &b));
    /* Another audio configuration. */
    b = a;
    b.asc = aac48;
    CU_ASSERT(!sl_hls_tracks_same(&a, &b));
    /* A track gone or added, either way. */
    b = a;
    b.asc = NULL;
    b.asc_len = 0;
    CU_ASSERT(!sl_hls_tracks_same(&a, &b));
    CU_ASSERT(!sl_hls_tracks_same(&b, &a));
    b = a;
    b.avcc = NULL;
    b.avcc_len = 0;
    CU_ASSERT(!sl_hls_tracks_same(&a, &b));
    CU_ASSERT(!sl_hls_tracks_same(&b, &a));
    /* Audio alone both times: the same; hevc means nothing there. */
    a.avcc = NULL;
    a.avcc_len = 0;
    b.hevc = 1;
    CU_ASSERT(sl_hls_tracks_same(&a, &b));
    /* The same bytes as HEVC are another codec. */
    a = (struct sl_hls_tracks){sps240, sizeof(sps240), 0, NULL, 0};
    b = a;
    b.hevc = 1;
    CU_ASSERT(!sl_hls_tracks_same(&a, &b));
}

void
sl_test_suite_hls_mux(void)
{
    CU_pSuite s = CU_add_suite("hls_mux", suite_init, suite_clean);

    CU_add_test(s, "H.264 + AAC read back", test_video_audio);
    CU_add_test(s, "B-frames: dts and pts as fed", test_bframes);
    CU_add_test(s, "video only", test_video_only);
    CU_add_test(s, "audio only", test_audio_only);
    CU_add_test(s, "codecs string", test_codecs_string);
    CU_add_test(s, "configurations that do not parse", test_bad_config);
    CU_add_test(s, "an empty cut", test_empty_cut);
    CU_add_test(s, "input a track set does not take", test_ignored_input);
    CU_add_test(s, "audio gap re-anchors", test_audio_gap);
    CU_add_test(s, "free without a cut", test_free_without_cut);
    CU_add_test(s, "the same encoding or a new one", test_tracks_same);
    CU_add_test(s, "parameter sets in-band at the next keyframe",
                test_sets_inband);
}

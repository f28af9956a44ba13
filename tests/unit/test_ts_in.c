/*
 * MPEG-TS in (media/ts_in.h), fed real transport streams made here:
 * H.264 (libx264, a keyframe every GOP frames, with B-frames) and AAC
 * (libavcodec's encoder) muxed by libavformat's MPEG-TS muxer into
 * memory, as an SRT publisher's encoder would send them.  The bytes go
 * to sl_ts_in in chunks of varying sizes (a datagram's 1316, single
 * bytes, 7, 188 * 3 + 5, all at once), then sl_ts_in_end; the bodies
 * emitted must be, for every chunking, the same and:
 *   - onMetaData first (with the picture's size when there is video);
 *   - an AVC sequence header before the first video frame, an AAC one
 *     before the first audio frame;
 *   - as many video and audio frames as were encoded, each video frame
 *     with its keyframe flag and composition offset as encoded;
 *   - timestamps from about 0, video's as encoded, audio's one AAC
 *     frame (1024 samples) apart: the muxer puts several ADTS frames in
 *     one PES and only the first has a time of its own.
 * Besides: audio alone, video alone, a stream sl_ts_in does not carry
 * (MPEG-2 video, MP2 audio) left out with one note, garbage and a
 * stream with corrupted packets (no crash, no bodies that break the
 * rules), feeding after the end, and sl_ts_in_free at every stage
 * (before any byte, while the demuxer probes, mid-stream with the
 * fiber suspended inside the demuxer, after the end): SAN=1 checks it
 * leaks nothing.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

#include "media/ts_in.h"
#include "pool/buf.h"
#include "rtmp/rtmp.h"

#define W 160
#define H 120
#define FPS 25
#define NFRAMES 50 /* 2 s */
#define GOP 25
#define RATE 48000
#define MAXV 128
#define MAXA 256

/* ---- making transport streams ---------------------------------------- */

enum vcodec { V_NONE, V_H264, V_MPEG2 };
enum acodec { A_NONE, A_AAC, A_MP2 };

/* What was encoded, in the order the encoders gave it. */
struct clip {
    uint8_t *ts;
    size_t   len, cap;
    int      nv, na;
    int      vkey[MAXV];
    int64_t  vdts[MAXV], vpts[MAXV]; /* ms */
};

static struct clip clip_av, clip_video, clip_audio, clip_mp2, clip_mpeg2;

static int
mem_write(void *opaque, uint8_t *buf, int size)
{
    struct clip *c = opaque;

    if (c->len + (size_t) size > c->cap) {
        size_t   cap = c->cap ? c->cap * 2 : 65536;
        uint8_t *p;

        while (cap < c->len + (size_t) size)
            cap *= 2;
        p = realloc(c->ts, cap);
        if (p == NULL)
            return AVERROR(ENOMEM);
        c->ts = p;
        c->cap = cap;
    }
    memcpy(c->ts + c->len, buf, (size_t) size);
    c->len += (size_t) size;
    return size;
}

static AVCodecContext *
video_encoder(enum vcodec v, int bframes)
{
    const AVCodec  *codec = v == V_H264
                                ? avcodec_find_encoder_by_name("libx264")
                                : avcodec_find_encoder(AV_CODEC_ID_MPEG2VIDEO);
    AVCodecContext *c = codec ? avcodec_alloc_context3(codec) : NULL;
    char            params[128];

    if (c == NULL)
        return NULL;
    c->width = W;
    c->height = H;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = (AVRational){1, FPS};
    c->framerate = (AVRational){FPS, 1};
    c->gop_size = GOP;
    c->max_b_frames = bframes;
    c->thread_count = 1;
    if (v == V_H264) {
        /* No global header: the SPS and PPS ride in band before each
         * keyframe, as a TS encoder sends them. */
        av_opt_set(c->priv_data, "preset", "ultrafast", 0);
        snprintf(params, sizeof(params),
                 "keyint=%d:min-keyint=%d:scenecut=0:b-adapt=0:bframes=%d", GOP,
                 GOP, bframes);
        av_opt_set(c->priv_data, "x264-params", params, 0);
    }
    if (avcodec_open2(c, codec, NULL) < 0)
        avcodec_free_context(&c);
    return c;
}

static AVCodecContext *
audio_encoder(enum acodec a)
{
    const AVCodec *codec =
        avcodec_find_encoder(a == A_AAC ? AV_CODEC_ID_AAC : AV_CODEC_ID_MP2);
    AVCodecContext *c = codec ? avcodec_alloc_context3(codec) : NULL;

    if (c == NULL)
        return NULL;
    c->sample_rate = RATE;
    c->sample_fmt = a == A_AAC ? AV_SAMPLE_FMT_FLTP : AV_SAMPLE_FMT_S16;
    av_channel_layout_default(&c->ch_layout, 1);
    c->bit_rate = 64000;
    c->time_base = (AVRational){1, RATE};
    /* The muxer writes ADTS from the AudioSpecificConfig. */
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(c, codec, NULL) < 0)
        avcodec_free_context(&c);
    return c;
}

/* Moves every packet enc has into the muxer's stream st, noting video
 * packets in c.  0 or -1. */
static int
drain(struct clip *c, AVFormatContext *oc, AVCodecContext *enc, AVStream *st,
      AVPacket *pkt, int video)
{
    while (avcodec_receive_packet(enc, pkt) == 0) {
        if (video) {
            if (c->nv == MAXV)
                return -1;
            c->vkey[c->nv] = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
            c->vdts[c->nv] = pkt->dts * 1000 / FPS;
            c->vpts[c->nv] = pkt->pts * 1000 / FPS;
            c->nv++;
        } else {
            if (c->na == MAXA)
                return -1;
            c->na++;
        }
        av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
        pkt->stream_index = st->index;
        if (av_interleaved_write_frame(oc, pkt) < 0)
            return -1;
    }
    return 0;
}

/* Encodes NFRAMES of video and as long of audio (either may be
 * absent) and muxes them as MPEG-TS into c.  0 or -1. */
static int
make_clip(struct clip *c, enum vcodec v, enum acodec a, int bframes)
{
    AVFormatContext *oc = NULL;
    AVCodecContext  *venc = NULL, *aenc = NULL;
    AVStream        *vst = NULL, *ast = NULL;
    AVFrame         *vf = av_frame_alloc(), *af = av_frame_alloc();
    AVPacket        *pkt = av_packet_alloc();
    uint8_t         *iobuf = av_malloc(4096);
    int              rc = -1, n = 0;

    memset(c, 0, sizeof(*c));
    if (vf == NULL || af == NULL || pkt == NULL || iobuf == NULL ||
        avformat_alloc_output_context2(&oc, NULL, "mpegts", NULL) < 0)
        goto out;
    /* ffmpeg's command line muxes with -muxdelay 0.7: the muxer then
     * gathers audio frames into PES packets of up to 0.7 s (with 0,
     * the library's default, each frame gets its own). */
    oc->max_delay = 700000;
    oc->pb = avio_alloc_context(iobuf, 4096, 1, c, NULL, mem_write, NULL);
    if (oc->pb == NULL)
        goto out;
    iobuf = NULL;
    if (v != V_NONE) {
        if ((venc = video_encoder(v, bframes)) == NULL ||
            (vst = avformat_new_stream(oc, NULL)) == NULL ||
            avcodec_parameters_from_context(vst->codecpar, venc) < 0)
            goto out;
        vst->time_base = venc->time_base;
        vf->format = AV_PIX_FMT_YUV420P;
        vf->width = W;
        vf->height = H;
        if (av_frame_get_buffer(vf, 0) < 0)
            goto out;
    }
    if (a != A_NONE) {
        if ((aenc = audio_encoder(a)) == NULL ||
            (ast = avformat_new_stream(oc, NULL)) == NULL ||
            avcodec_parameters_from_context(ast->codecpar, aenc) < 0)
            goto out;
        ast->time_base = aenc->time_base;
        af->format = aenc->sample_fmt;
        af->sample_rate = RATE;
        af->nb_samples = aenc->frame_size;
        av_channel_layout_default(&af->ch_layout, 1);
        if (av_frame_get_buffer(af, 0) < 0)
            goto out;
    }
    if (avformat_write_header(oc, NULL) < 0)
        goto out;
    for (int i = 0; i < NFRAMES; i++) {
        /* Audio up to this frame's time, then the frame. */
        while (aenc != NULL && (int64_t) n * FPS <= (int64_t) i * RATE) {
            if (av_frame_make_writable(af) < 0)
                goto out;
            for (int k = 0; k < af->nb_samples; k++) {
                int s = (n + k) % 100 < 50 ? 3000 : -3000;

                if (a == A_AAC)
                    ((float *) af->data[0])[k] = (float) s / 32768.0f;
                else
                    ((int16_t *) af->data[0])[k] = (int16_t) s;
            }
            af->pts = n;
            n += af->nb_samples;
            if (avcodec_send_frame(aenc, af) < 0 ||
                drain(c, oc, aenc, ast, pkt, 0) < 0)
                goto out;
        }
        if (venc != NULL) {
            if (av_frame_make_writable(vf) < 0)
                goto out;
            /* A moving gradient, so inter frames have something to say. */
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    vf->data[0][y * vf->linesize[0] + x] =
                        (uint8_t) (x + 2 * y + 5 * i);
            memset(vf->data[1], 100 + i, (size_t) vf->linesize[1] * H / 2);
            memset(vf->data[2], 150 - i, (size_t) vf->linesize[2] * H / 2);
            vf->pts = i;
            if (avcodec_send_frame(venc, vf) < 0 ||
                drain(c, oc, venc, vst, pkt, 1) < 0)
                goto out;
        }
    }
    if ((venc != NULL && (avcodec_send_frame(venc, NULL) < 0 ||
                          drain(c, oc, venc, vst, pkt, 1) < 0)) ||
        (aenc != NULL && (avcodec_send_frame(aenc, NULL) < 0 ||
                          drain(c, oc, aenc, ast, pkt, 0) < 0)))
        goto out;
    if (av_write_trailer(oc) < 0)
        goto out;
    avio_flush(oc->pb);
    rc = c->len > 0 ? 0 : -1;
out:
    if (oc != NULL && oc->pb != NULL) {
        av_freep(&oc->pb->buffer);
        avio_context_free(&oc->pb);
    }
    avformat_free_context(oc);
    avcodec_free_context(&venc);
    avcodec_free_context(&aenc);
    av_frame_free(&vf);
    av_frame_free(&af);
    av_packet_free(&pkt);
    av_free(iobuf);
    return rc;
}

static int
suite_init(void)
{
    av_log_set_level(AV_LOG_ERROR); /* no encoder summaries */
    if (make_clip(&clip_av, V_H264, A_AAC, 2) < 0 ||
        make_clip(&clip_video, V_H264, A_NONE, 0) < 0 ||
        make_clip(&clip_audio, V_NONE, A_AAC, 0) < 0 ||
        make_clip(&clip_mp2, V_H264, A_MP2, 0) < 0 ||
        make_clip(&clip_mpeg2, V_MPEG2, A_AAC, 0) < 0)
        return -1;
    return 0;
}

static int
suite_clean(void)
{
    free(clip_av.ts);
    free(clip_video.ts);
    free(clip_audio.ts);
    free(clip_mp2.ts);
    free(clip_mpeg2.ts);
    return 0;
}

/* ---- what sl_ts_in emits --------------------------------------------- */

struct body {
    uint8_t  type;
    uint32_t ts;
    size_t   len;
    uint8_t  head[8];   /* the first bytes (zero past len) */
    uint64_t hash;      /* FNV-1a of all of it */
    int      meta_size; /* onMetaData: width and height are there */
};

struct rec {
    struct body *b;
    size_t       n, cap;
    int          notes;
    char         note[256]; /* the first */
};

static uint64_t
fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int
has(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);

    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0)
            return 1;
    return 0;
}

static void
on_emit(void *ctx, uint8_t type, uint32_t ts, struct sl_buf *b)
{
    struct rec  *r = ctx;
    struct body *x;

    if (r->n == r->cap) {
        size_t       cap = r->cap ? r->cap * 2 : 256;
        struct body *p = realloc(r->b, cap * sizeof(*p));

        CU_ASSERT_FATAL(p != NULL);
        r->b = p;
        r->cap = cap;
    }
    x = &r->b[r->n++];
    memset(x, 0, sizeof(*x));
    x->type = type;
    x->ts = ts;
    x->len = b->len;
    memcpy(x->head, b->data, b->len < 8 ? b->len : 8);
    x->hash = fnv(b->data, b->len);
    x->meta_size = type == SL_MSG_DATA_AMF0 && has(b->data, b->len, "width") &&
                   has(b->data, b->len, "height");
}

static void
on_note(void *ctx, const char *line)
{
    struct rec *r = ctx;

    if (r->notes++ == 0)
        snprintf(r->note, sizeof(r->note), "%s", line);
}

static void
rec_free(struct rec *r)
{
    free(r->b);
    memset(r, 0, sizeof(*r));
}

/* Feeds p[0..len) in chunks whose sizes go round sizes[0..nsizes), then
 * ends the stream.  Returns how many feeds failed. */
static int
feed(struct rec *r, const uint8_t *p, size_t len, const size_t *sizes,
     size_t nsizes, struct sl_ts_in_stats *st)
{
    struct sl_ts_in *in = sl_ts_in_new(on_emit, on_note, r);
    size_t           off = 0, k = 0;
    int              failed = 0;

    CU_ASSERT_FATAL(in != NULL);
    while (off < len) {
        size_t n = sizes[k++ % nsizes];

        if (n > len - off)
            n = len - off;
        failed += sl_ts_in_feed(in, p + off, n) < 0;
        off += n;
    }
    sl_ts_in_end(in);
    if (st != NULL)
        sl_ts_in_stats(in, st);
    sl_ts_in_free(in);
    return failed;
}

static int
is_video_seq(const struct body *b)
{
    return b->type == SL_MSG_VIDEO && b->len > 5 && b->head[0] == 0x17 &&
           b->head[1] == 0;
}

static int
is_video_frame(const struct body *b)
{
    return b->type == SL_MSG_VIDEO && b->len > 5 &&
           (b->head[0] == 0x17 || b->head[0] == 0x27) && b->head[1] == 1;
}

static int
is_audio_seq(const struct body *b)
{
    return b->type == SL_MSG_AUDIO && b->len > 2 && b->head[0] == 0xaf &&
           b->head[1] == 0;
}

static int
is_audio_frame(const struct body *b)
{
    return b->type == SL_MSG_AUDIO && b->len > 2 && b->head[0] == 0xaf &&
           b->head[1] == 1;
}

static int32_t
cts_of(const struct body *b)
{
    int32_t v = (int32_t) ((uint32_t) b->head[2] << 16 |
                           (uint32_t) b->head[3] << 8 | b->head[4]);

    return v & 0x800000 ? v - 0x1000000 : v;
}

/* The rules every stream's bodies follow, against what c encoded
 * (video and audio say which it has). */
static void
check_bodies(const struct rec *r, const struct clip *c, int video, int audio)
{
    long first_vseq = -1, first_vframe = -1, first_aseq = -1, first_aframe = -1;
    int  nv = 0, na = 0, nmeta = 0, keys_ok = 1, cts_ok = 1, vts_ok = 1;
    int  ats_ok = 1;
    long a0 = -1, v0 = -1;

    CU_ASSERT_FATAL(r->n > 0);
    CU_ASSERT(r->b[0].type == SL_MSG_DATA_AMF0);
    CU_ASSERT(r->b[0].ts < 100); /* the timeline starts near 0 */
    if (video)
        CU_ASSERT(r->b[0].meta_size);
    for (size_t i = 0; i < r->n; i++) {
        const struct body *b = &r->b[i];

        CU_ASSERT(b->type == SL_MSG_DATA_AMF0 || b->type == SL_MSG_VIDEO ||
                  b->type == SL_MSG_AUDIO);
        nmeta += b->type == SL_MSG_DATA_AMF0;
        if (is_video_seq(b) && first_vseq < 0)
            first_vseq = (long) i;
        if (is_audio_seq(b) && first_aseq < 0)
            first_aseq = (long) i;
        if (is_video_frame(b)) {
            if (first_vframe < 0) {
                first_vframe = (long) i;
                v0 = b->ts;
            }
            if (nv < c->nv) {
                /* Flag, offset and time as encoded (ms, from the first
                 * frame's). */
                keys_ok &= (b->head[0] == 0x17) == (c->vkey[nv] != 0);
                cts_ok &= cts_of(b) == c->vpts[nv] - c->vdts[nv];
                vts_ok &= (long) b->ts - v0 == c->vdts[nv] - c->vdts[0];
            }
            nv++;
        }
        if (is_audio_frame(b)) {
            long want;

            if (first_aframe < 0) {
                first_aframe = (long) i;
                a0 = b->ts;
            }
            /* The nth frame n * 1024 samples after the first, within
             * the rounding to ms. */
            want = a0 + ((long) na * 1024 * 1000 + RATE / 2) / RATE;
            ats_ok &= labs((long) b->ts - want) <= 1;
            na++;
        }
    }
    CU_ASSERT(nmeta == 1);
    if (video) {
        CU_ASSERT(first_vseq > 0);
        CU_ASSERT(first_vframe > first_vseq);
        CU_ASSERT(nv == c->nv);
        CU_ASSERT(keys_ok);
        CU_ASSERT(cts_ok);
        CU_ASSERT(vts_ok);
        CU_ASSERT(v0 < 100);
        if (nv != c->nv || !keys_ok || !cts_ok || !vts_ok)
            fprintf(stderr,
                    "\n  video: %d frames of %d, keys %d, cts %d, "
                    "times %d\n",
                    nv, c->nv, keys_ok, cts_ok, vts_ok);
    } else {
        CU_ASSERT(first_vseq < 0 && nv == 0);
    }
    if (audio) {
        CU_ASSERT(first_aseq > 0);
        CU_ASSERT(first_aframe > first_aseq);
        CU_ASSERT(na == c->na);
        CU_ASSERT(ats_ok);
        CU_ASSERT(a0 < 100);
        if (na != c->na || !ats_ok)
            fprintf(stderr, "\n  audio: %d frames of %d, times %d\n", na, c->na,
                    ats_ok);
    } else {
        CU_ASSERT(first_aseq < 0 && na == 0);
    }
}

static const size_t WHOLE[] = {1u << 30};
static const size_t DGRAM[] = {1316};

/* ---- tests ------------------------------------------------------------ */

/* Video and audio, every chunking: the same bodies, by the rules. */
static void
test_chunks(void)
{
    static const size_t   ONE[] = {1}, SEVEN[] = {7}, ODD[] = {188 * 3 + 5};
    static const size_t   MIX[] = {1316, 1, 7, 188 * 3 + 5, 4096, 188, 13};
    const size_t *const   pattern[] = {WHOLE, DGRAM, ONE, SEVEN, ODD, MIX};
    const size_t          npattern[] = {1, 1, 1, 1, 1, 7};
    struct rec            ref = {0};
    struct sl_ts_in_stats st;

    CU_ASSERT(feed(&ref, clip_av.ts, clip_av.len, DGRAM, 1, &st) == 0);
    check_bodies(&ref, &clip_av, 1, 1);
    CU_ASSERT(ref.notes == 0);
    CU_ASSERT(st.width == W && st.height == H);
    CU_ASSERT(st.frames_video == (uint64_t) clip_av.nv);
    CU_ASSERT(st.frames_audio == (uint64_t) clip_av.na);
    CU_ASSERT(st.dropped == 0);
    CU_ASSERT_STRING_EQUAL(st.vcodec, "H264");
    CU_ASSERT_STRING_EQUAL(st.acodec, "AAC");
    for (size_t k = 0; k < sizeof(pattern) / sizeof(pattern[0]); k++) {
        struct rec r = {0};
        int        same;

        CU_ASSERT(feed(&r, clip_av.ts, clip_av.len, pattern[k], npattern[k],
                       NULL) == 0);
        same = r.n == ref.n;
        for (size_t i = 0; same && i < r.n; i++)
            same = r.b[i].type == ref.b[i].type && r.b[i].ts == ref.b[i].ts &&
                   r.b[i].len == ref.b[i].len && r.b[i].hash == ref.b[i].hash;
        CU_ASSERT(same);
        if (!same)
            fprintf(stderr, "\n  chunking %zu: %zu bodies, %zu in 1316s\n", k,
                    r.n, ref.n);
        rec_free(&r);
    }
    rec_free(&ref);
}

static void
test_video_only(void)
{
    struct rec            r = {0};
    struct sl_ts_in_stats st;

    CU_ASSERT(feed(&r, clip_video.ts, clip_video.len, DGRAM, 1, &st) == 0);
    check_bodies(&r, &clip_video, 1, 0);
    CU_ASSERT(r.notes == 0);
    CU_ASSERT(st.acodec[0] == '\0');
    rec_free(&r);
}

static void
test_audio_only(void)
{
    struct rec            r = {0};
    struct sl_ts_in_stats st;

    CU_ASSERT(feed(&r, clip_audio.ts, clip_audio.len, DGRAM, 1, &st) == 0);
    check_bodies(&r, &clip_audio, 0, 1);
    CU_ASSERT(r.notes == 0);
    CU_ASSERT(st.vcodec[0] == '\0' && st.width == 0);
    rec_free(&r);
}

/* MP2 audio beside H.264, MPEG-2 video beside AAC: the other stream is
 * carried whole, the one not carried is left out with one note. */
static void
test_left_out(void)
{
    struct rec r = {0};

    CU_ASSERT(feed(&r, clip_mp2.ts, clip_mp2.len, DGRAM, 1, NULL) == 0);
    check_bodies(&r, &clip_mp2, 1, 0);
    CU_ASSERT(r.notes == 1);
    CU_ASSERT(strstr(r.note, "left out") != NULL);
    /* The demuxer names MPEG audio layer 2 by the stream type: mp3. */
    CU_ASSERT(strstr(r.note, "mp2") != NULL || strstr(r.note, "mp3") != NULL);
    if (r.notes != 1 || strstr(r.note, "left out") == NULL)
        fprintf(stderr, "\n  %d notes: %s\n", r.notes, r.note);
    rec_free(&r);

    CU_ASSERT(feed(&r, clip_mpeg2.ts, clip_mpeg2.len, DGRAM, 1, NULL) == 0);
    check_bodies(&r, &clip_mpeg2, 0, 1);
    CU_ASSERT(r.notes == 1);
    CU_ASSERT(strstr(r.note, "left out") != NULL);
    CU_ASSERT(strstr(r.note, "mpeg2video") != NULL);
    rec_free(&r);
}

/* Bodies of a damaged stream still follow the rules that hold for any
 * input: known types, nothing empty, a header before frames of its
 * kind, one onMetaData first. */
static void
check_sane(const struct rec *r)
{
    int vseq = 0, aseq = 0;

    for (size_t i = 0; i < r->n; i++) {
        const struct body *b = &r->b[i];

        CU_ASSERT(b->len > 0);
        CU_ASSERT((b->type == SL_MSG_DATA_AMF0) == (i == 0));
        vseq |= is_video_seq(b);
        aseq |= is_audio_seq(b);
        if (is_video_frame(b))
            CU_ASSERT(vseq);
        if (is_audio_frame(b))
            CU_ASSERT(aseq);
    }
}

static void
test_garbage(void)
{
    static const size_t MIX[] = {1316, 100, 188, 3};
    uint8_t            *junk = malloc(256 * 1024);
    struct rec          r = {0};
    uint32_t            x = 12345;

    CU_ASSERT_FATAL(junk != NULL);
    av_log_set_level(AV_LOG_QUIET); /* the demuxer's complaints */
    for (size_t i = 0; i < 256 * 1024; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t) (x >> 16);
    }
    /* Random bytes, and random bytes with sync bytes where packets
     * would start. */
    feed(&r, junk, 256 * 1024, MIX, 4, NULL);
    CU_ASSERT(r.n == 0);
    rec_free(&r);
    for (size_t i = 0; i < 256 * 1024; i += 188)
        junk[i] = 0x47;
    feed(&r, junk, 256 * 1024, MIX, 4, NULL);
    check_sane(&r);
    rec_free(&r);
    free(junk);
    av_log_set_level(AV_LOG_ERROR);
}

/* 1 % of the packets with bytes flipped: no crash, most frames through,
 * the rules kept. */
static void
test_corrupted(void)
{
    size_t     npk = clip_av.len / 188;
    uint8_t   *ts = malloc(clip_av.len);
    struct rec r = {0};
    uint32_t   x = 777;
    int        nv = 0;

    CU_ASSERT_FATAL(ts != NULL);
    memcpy(ts, clip_av.ts, clip_av.len);
    for (size_t k = 0; k < npk; k++) {
        x = x * 1103515245u + 12345u;
        if ((x >> 16) % 100 != 0)
            continue;
        for (int j = 0; j < 4; j++) {
            x = x * 1103515245u + 12345u;
            ts[k * 188 + (x >> 16) % 188] ^= (uint8_t) (1u + (x >> 8) % 255);
        }
    }
    av_log_set_level(AV_LOG_QUIET);
    feed(&r, ts, clip_av.len, DGRAM, 1, NULL);
    av_log_set_level(AV_LOG_ERROR);
    check_sane(&r);
    for (size_t i = 0; i < r.n; i++)
        nv += is_video_frame(&r.b[i]);
    CU_ASSERT(nv >= clip_av.nv / 2);
    rec_free(&r);
    free(ts);
}

/* A publisher that joins mid-GOP (a relay of a running stream): the
 * video before the first keyframe is dropped, audio goes from the
 * start, and onMetaData still comes first, once, before either codec
 * header. */
static void
test_mid_gop(void)
{
    /* A third of the way in: past the first keyframe, before the
     * second (at 1 s of 2). */
    size_t                from = clip_av.len / 3 / 188 * 188;
    struct rec            r = {0};
    struct sl_ts_in_stats st;
    int                   nv = 0, na = 0;

    av_log_set_level(AV_LOG_QUIET); /* the cut PES */
    CU_ASSERT(feed(&r, clip_av.ts + from, clip_av.len - from, DGRAM, 1, &st) ==
              0);
    av_log_set_level(AV_LOG_ERROR);
    check_sane(&r);
    CU_ASSERT_FATAL(r.n > 0);
    CU_ASSERT(r.b[0].type == SL_MSG_DATA_AMF0);
    for (size_t i = 0; i < r.n; i++) {
        nv += is_video_frame(&r.b[i]);
        na += is_audio_frame(&r.b[i]);
        /* The first video frame is the keyframe. */
        if (nv == 1 && is_video_frame(&r.b[i]))
            CU_ASSERT(r.b[i].head[0] == 0x17);
    }
    CU_ASSERT(st.dropped > 0);
    CU_ASSERT(nv > 0 && nv < clip_av.nv);
    CU_ASSERT(na > 0);
    rec_free(&r);
}

/* After the end, feeds fail and nothing more is emitted; a second end
 * is a no-op. */
static void
test_after_end(void)
{
    struct rec       r = {0};
    struct sl_ts_in *in = sl_ts_in_new(on_emit, on_note, &r);
    size_t           n;

    CU_ASSERT_FATAL(in != NULL);
    CU_ASSERT(sl_ts_in_feed(in, clip_video.ts, clip_video.len) == 0);
    sl_ts_in_end(in);
    n = r.n;
    CU_ASSERT(sl_ts_in_feed(in, clip_video.ts, 1316) < 0);
    sl_ts_in_end(in);
    CU_ASSERT(r.n == n);
    sl_ts_in_free(in);
    rec_free(&r);

    /* An end before any byte, and one while the demuxer still looks
     * for the tables: nothing emitted, nothing noted. */
    in = sl_ts_in_new(on_emit, on_note, &r);
    CU_ASSERT_FATAL(in != NULL);
    sl_ts_in_end(in);
    sl_ts_in_free(in);
    in = sl_ts_in_new(on_emit, on_note, &r);
    CU_ASSERT_FATAL(in != NULL);
    CU_ASSERT(sl_ts_in_feed(in, clip_video.ts, 188) == 0);
    sl_ts_in_end(in);
    sl_ts_in_free(in);
    CU_ASSERT(r.n == 0 && r.notes == 0);
    rec_free(&r);
}

/* Freed at every stage; nothing is emitted or noted by the free (SAN=1:
 * nothing leaks, the fiber's frames unwound). */
static void
test_free_mid_stream(void)
{
    const size_t cuts[] = {
        0, 1, 188, 1316, clip_av.len / 3, clip_av.len / 2, clip_av.len - 1};

    for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
        struct rec       r = {0};
        struct sl_ts_in *in = sl_ts_in_new(on_emit, on_note, &r);
        size_t           n, notes;

        CU_ASSERT_FATAL(in != NULL);
        for (size_t off = 0; off < cuts[k]; off += 1316)
            CU_ASSERT(sl_ts_in_feed(in, clip_av.ts + off,
                                    cuts[k] - off < 1316 ? cuts[k] - off
                                                         : 1316) == 0);
        n = r.n;
        notes = (size_t) r.notes;
        av_log_set_level(AV_LOG_QUIET); /* the parser's cut frame */
        sl_ts_in_free(in);
        av_log_set_level(AV_LOG_ERROR);
        CU_ASSERT(r.n == n && (size_t) r.notes == notes);
        if (cuts[k] >= clip_av.len / 3)
            CU_ASSERT(n > 0);
        rec_free(&r);
    }
}

void
sl_test_suite_ts_in(void)
{
    CU_pSuite s = CU_add_suite("ts_in", suite_init, suite_clean);

    CU_add_test(s, "chunkings: the same bodies, headers first, every frame",
                test_chunks);
    CU_add_test(s, "video alone", test_video_only);
    CU_add_test(s, "audio alone: every ADTS frame, 1024 samples apart",
                test_audio_only);
    CU_add_test(s, "MP2 and MPEG-2 video left out with one note",
                test_left_out);
    CU_add_test(s, "joined mid-GOP: onMetaData still first", test_mid_gop);
    CU_add_test(s, "garbage", test_garbage);
    CU_add_test(s, "corrupted packets", test_corrupted);
    CU_add_test(s, "feeds after the end", test_after_end);
    CU_add_test(s, "freed mid-stream", test_free_mid_stream);
}

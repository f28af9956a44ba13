/*
 * The transcoder's parts with real libav: rung sizes, and a ladder fed a
 * small H.264 stream made by libx264 here, its rungs read back from the
 * hub through taps.
 */
#include <CUnit/CUnit.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>

#include "media/flv_av.h"
#include "pool/buf.h"
#include "rtmp/amf.h"
#include "rtmp/rtmp.h"
#include "server/hub.h"
#include "transcode/ladder.h"
#include "transcode/rung.h"
#include "transcode/size.h"

static void
test_rung_size(void)
{
    int w = 0, h = 0;

    CU_ASSERT_EQUAL(sl_rung_size(1920, 1080, 1280, 720, &w, &h), 0);
    CU_ASSERT(w == 1280 && h == 720);
    CU_ASSERT_EQUAL(sl_rung_size(1920, 1080, 854, 480, &w, &h), 0);
    CU_ASSERT(w == 854 && h == 480);
    CU_ASSERT_EQUAL(sl_rung_size(1920, 1080, 0, 360, &w, &h), 0);
    CU_ASSERT(w == 640 && h == 360);
    /* A 4:3 source in a 16:9 box keeps 4:3; both sides even. */
    CU_ASSERT_EQUAL(sl_rung_size(1440, 1080, 1280, 720, &w, &h), 0);
    CU_ASSERT(w == 960 && h == 720);
    CU_ASSERT_EQUAL(sl_rung_size(1000, 750, 0, 301 - 1, &w, &h), 0);
    CU_ASSERT(w == 400 && h == 300);
    CU_ASSERT_EQUAL(sl_rung_size(1366, 768, 640, 0, &w, &h), 0);
    CU_ASSERT(w == 640 && h % 2 == 0 && h >= 358 && h <= 362);
    /* No upscaling, no nonsense. */
    CU_ASSERT_EQUAL(sl_rung_size(640, 360, 1280, 720, &w, &h), -1);
    CU_ASSERT_EQUAL(sl_rung_size(640, 360, 854, 480, &w, &h), -1);
    CU_ASSERT_EQUAL(sl_rung_size(640, 360, 640, 360, &w, &h), 0);
    CU_ASSERT_EQUAL(sl_rung_size(640, 360, 0, 0, &w, &h), -1);
    CU_ASSERT_EQUAL(sl_rung_size(0, 360, 0, 120, &w, &h), -1);
}

/* What a tap on a rung saw. */
#define REC_MAX 512
struct rung_rec {
    struct sl_tap tap;
    int           n;
    uint8_t       type[REC_MAX];
    int64_t       ts[REC_MAX];
    uint8_t       key[REC_MAX];  /* a video keyframe (not a header) */
    uint8_t       vseq[REC_MAX]; /* a video sequence header */
    int           meta_w, meta_h;
};

static void
rec_media(struct sl_tap *t, uint8_t type, int64_t ts, struct sl_buf *b)
{
    struct rung_rec      *r = (struct rung_rec *) t;
    struct sl_media_video v;

    if (r->n == REC_MAX)
        return;
    r->type[r->n] = type;
    r->ts[r->n] = ts;
    if (type == SL_MSG_VIDEO &&
        sl_media_parse_video(b->data, b->len, &v) == 0) {
        r->key[r->n] = v.keyframe && !v.seq_header;
        r->vseq[r->n] = v.seq_header;
    }
    if (type == SL_MSG_DATA_AMF0) {
        struct sl_amf_node        nodes[64];
        struct sl_amf_doc         doc;
        const struct sl_amf_node *w, *h;

        sl_amf_doc_init(&doc, nodes, 64);
        if (sl_amf_decode(&doc, b->data, b->len) >= 0) {
            w = sl_amf_prop(&doc, sl_amf_at(&doc, 1), "width");
            h = sl_amf_prop(&doc, sl_amf_at(&doc, 1), "height");
            r->meta_w = w ? (int) w->num : -1;
            r->meta_h = h ? (int) h->num : -1;
        }
    }
    r->n++;
}

static void
rec_end(struct sl_tap *t)
{
}

static AVCodecContext *
source_encoder(int w, int h)
{
    const AVCodec  *codec = avcodec_find_encoder_by_name("libx264");
    AVCodecContext *c;

    if (codec == NULL)
        return NULL;
    c = avcodec_alloc_context3(codec);
    c->width = w;
    c->height = h;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = (AVRational){1, 1000};
    c->framerate = (AVRational){25, 1};
    c->gop_size = 25;
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    c->thread_count = 1;
    av_opt_set(c->priv_data, "preset", "ultrafast", 0);
    av_opt_set(c->priv_data, "tune", "zerolatency", 0);
    if (avcodec_open2(c, codec, NULL) < 0)
        avcodec_free_context(&c);
    return c;
}

static void
feed_body(struct sl_ladder *l, uint8_t type, int64_t ts, struct sl_buf *b)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(sl_ladder_feed(l, type, ts, b, 1), 0);
    sl_buf_unref(b);
}

static void
feed_packets(struct sl_ladder *l, AVCodecContext *enc, AVPacket *pkt)
{
    while (avcodec_receive_packet(enc, pkt) == 0) {
        feed_body(l, SL_MSG_VIDEO, pkt->dts,
                  sl_media_avc_frame_body(pkt->data, (size_t) pkt->size,
                                          (pkt->flags & AV_PKT_FLAG_KEY) != 0,
                                          (int32_t) (pkt->pts - pkt->dts)));
        av_packet_unref(pkt);
    }
}

#define FRAMES 60 /* 2.4 s at 25 fps */

static void
test_ladder_aligned_keyframes(void)
{
    static const uint8_t    asc[] = {0x12, 0x10};
    static const uint8_t    fake_aac[] = {0x21, 0x10, 0x04};
    struct sl_hub_limits    lim = {.chunk_size = 4096,
                                   .gop_cache = 1,
                                   .gop_max_msgs = 4096,
                                   .gop_max_bytes = 64 << 20};
    struct sl_hub          *hub = sl_hub_new(&lim);
    struct sl_ladder_params p = {.app = "live",
                                 .name = "k",
                                 .nrungs = 2,
                                 .keyframe_interval_ms = 500,
                                 .tap = 0,
                                 .offline = 1};
    static struct rung_rec  rec[2];
    AVCodecContext         *enc = source_encoder(320, 240);
    AVFrame                *f = av_frame_alloc();
    AVPacket               *pkt = av_packet_alloc();
    struct sl_ladder       *l;
    struct timespec         pause = {0, 10 * 1000 * 1000};
    int                     keys[2][16], nkeys[2] = {0, 0}, frames[2];

    CU_ASSERT_PTR_NOT_NULL_FATAL(hub);
    CU_ASSERT_PTR_NOT_NULL_FATAL(enc);
    memset(rec, 0, sizeof(rec));
    for (int i = 0; i < 2; i++) {
        struct sl_rendition_config *r = &p.rungs[i];

        memset(r, 0, sizeof(*r));
        snprintf(r->name, sizeof(r->name), i == 0 ? "small" : "tiny");
        r->height = i == 0 ? 120 : 60;
        r->video_bitrate = r->maxrate = r->bufsize = 100000;
        snprintf(r->preset, sizeof(r->preset), "ultrafast");
        snprintf(r->profile, sizeof(r->profile), "high");
        snprintf(r->encoder, sizeof(r->encoder), "libx264");
        r->audio_copy = 1;
        rec[i].tap.on_media = rec_media;
        rec[i].tap.on_end = rec_end;
    }
    CU_ASSERT_EQUAL(sl_hub_tap(hub, "live", "k_small", &rec[0].tap), 0);
    CU_ASSERT_EQUAL(sl_hub_tap(hub, "live", "k_tiny", &rec[1].tap), 0);
    l = sl_ladder_start(hub, &p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);

    feed_body(
        l, SL_MSG_VIDEO, 0,
        sl_media_avc_seq_body(enc->extradata, (size_t) enc->extradata_size));
    feed_body(l, SL_MSG_AUDIO, 0, sl_media_aac_seq_body(asc, sizeof(asc)));
    f->format = AV_PIX_FMT_YUV420P;
    f->width = 320;
    f->height = 240;
    CU_ASSERT_EQUAL_FATAL(av_frame_get_buffer(f, 0), 0);
    for (int i = 0; i < FRAMES; i++) {
        CU_ASSERT_EQUAL(av_frame_make_writable(f), 0);
        for (int y = 0; y < 240; y++)
            memset(f->data[0] + y * f->linesize[0], (y + i * 4) & 0xff, 320);
        memset(f->data[1], 128, (size_t) f->linesize[1] * 120);
        memset(f->data[2], 128, (size_t) f->linesize[2] * 120);
        f->pts = i * 40;
        CU_ASSERT_EQUAL(avcodec_send_frame(enc, f), 0);
        feed_packets(l, enc, pkt);
        /* An AAC frame every 23 ms or so: copied as it is. */
        for (int a = i * 40 / 23; a < (i + 1) * 40 / 23; a++)
            feed_body(l, SL_MSG_AUDIO, a * 23,
                      sl_media_aac_frame_body(fake_aac, sizeof(fake_aac)));
    }
    avcodec_send_frame(enc, NULL);
    feed_packets(l, enc, pkt);
    sl_ladder_finish(l);
    for (int i = 0; i < 3000 && !sl_ladder_done(l); i++)
        nanosleep(&pause, NULL);
    CU_ASSERT_FATAL(sl_ladder_done(l));
    sl_ladder_join(l);

    for (int r = 0; r < 2; r++) {
        int64_t last_video = -1;
        int     saw_vseq = 0, audio = 0;

        frames[r] = 0;
        CU_ASSERT_FATAL(rec[r].n > 0);
        /* Metadata first, with the rung's real size. */
        CU_ASSERT_EQUAL(rec[r].type[0], SL_MSG_DATA_AMF0);
        CU_ASSERT_EQUAL(rec[r].meta_w, r == 0 ? 160 : 80);
        CU_ASSERT_EQUAL(rec[r].meta_h, r == 0 ? 120 : 60);
        for (int i = 0; i < rec[r].n; i++) {
            if (rec[r].type[i] == SL_MSG_VIDEO) {
                saw_vseq |= rec[r].vseq[i];
                if (rec[r].vseq[i])
                    continue;
                CU_ASSERT(saw_vseq); /* the header comes before frames */
                frames[r]++;
                if (rec[r].key[i] && nkeys[r] < 16)
                    keys[r][nkeys[r]++] = (int) rec[r].ts[i];
                last_video = rec[r].ts[i];
            } else if (rec[r].type[i] == SL_MSG_AUDIO) {
                /* Interleaved: audio goes out after the video before
                 * it in time, not behind the encoder's delay. */
                if (audio++ > 0)
                    CU_ASSERT(rec[r].ts[i] >= last_video - 40);
            }
        }
        CU_ASSERT_EQUAL(frames[r], FRAMES);
        CU_ASSERT(audio > 90);
    }
    /* Keyframes on the first frame at or after every 500 ms, at the
     * same timestamps in both rungs, and nowhere else. */
    CU_ASSERT_EQUAL_FATAL(nkeys[0], 5);
    CU_ASSERT_EQUAL_FATAL(nkeys[1], 5);
    {
        static const int want[] = {0, 520, 1000, 1520, 2000};

        for (int i = 0; i < 5; i++) {
            CU_ASSERT_EQUAL(keys[0][i], want[i]);
            CU_ASSERT_EQUAL(keys[1][i], want[i]);
        }
    }
    sl_hub_untap(&rec[0].tap);
    sl_hub_untap(&rec[1].tap);
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    sl_hub_free(hub);
}

/* Opens a rung's encoder for 160x120 at 25 fps with the given latency,
 * veryfast (a preset with B-frames and a lookahead), and feeds it
 * pictures straight: how many went in before the first packet came
 * out, and whether any packet came out of order (a B-frame's decode
 * time is before its presentation time).  The rung is never
 * published. */
static void
rung_encoder(struct sl_hub *hub, int latency, int *has_b, int *held,
             int *reordered)
{
    static struct sl_rung      r;
    struct sl_rendition_config cfg = {.name = "r",
                                      .height = 120,
                                      .video_bitrate = 200000,
                                      .maxrate = 200000,
                                      .bufsize = 400000,
                                      .preset = "veryfast",
                                      .profile = "high",
                                      .encoder = "libx264",
                                      .audio_copy = 1,
                                      .latency = latency};
    AVFrame                   *f = av_frame_alloc();
    AVPacket                  *pkt = av_packet_alloc();
    int                        in = 0, out = 0;

    *has_b = *held = *reordered = -1;
    sl_rung_init(&r, &cfg, "k");
    sl_rung_start(&r, hub, "live", 160, 120, 25, 2000, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.venc);
    *has_b = r.venc->has_b_frames;
    *reordered = 0;
    f->format = AV_PIX_FMT_YUV420P;
    f->width = 160;
    f->height = 120;
    CU_ASSERT_EQUAL_FATAL(av_frame_get_buffer(f, 0), 0);
    for (int i = 0; i < 50; i++) {
        CU_ASSERT_EQUAL(av_frame_make_writable(f), 0);
        /* Moving stripes: worth predicting, so B-frames pay. */
        for (int y = 0; y < 120; y++)
            memset(f->data[0] + y * f->linesize[0], (y * 3 + i * 5) & 0xff,
                   160);
        memset(f->data[1], 128, (size_t) f->linesize[1] * 60);
        memset(f->data[2], 128, (size_t) f->linesize[2] * 60);
        f->pts = i * 40;
        CU_ASSERT_EQUAL(avcodec_send_frame(r.venc, f), 0);
        in++;
        while (avcodec_receive_packet(r.venc, pkt) == 0) {
            if (out++ == 0)
                *held = in - 1;
            if (pkt->dts != pkt->pts)
                *reordered = 1;
            av_packet_unref(pkt);
        }
    }
    av_frame_free(&f);
    av_packet_free(&pkt);
    sl_rung_free(&r);
}

/* latency = low opens the encoder without B-frames or anything else
 * that holds pictures back; the default keeps the preset's B-frames. */
static void
test_rung_latency(void)
{
    struct sl_hub_limits lim = {.chunk_size = 4096,
                                .gop_cache = 1,
                                .gop_max_msgs = 4096,
                                .gop_max_bytes = 64 << 20};
    struct sl_hub       *hub = sl_hub_new(&lim);
    int                  has_b, held, reordered;

    CU_ASSERT_PTR_NOT_NULL_FATAL(hub);
    rung_encoder(hub, SL_LATENCY_LOW, &has_b, &held, &reordered);
    CU_ASSERT_EQUAL(has_b, 0);
    CU_ASSERT_EQUAL(held, 0); /* each picture out as it goes in */
    CU_ASSERT_EQUAL(reordered, 0);
    rung_encoder(hub, SL_LATENCY_NORMAL, &has_b, &held, &reordered);
    CU_ASSERT(has_b > 0);
    CU_ASSERT(held > 0);
    CU_ASSERT_EQUAL(reordered, 1);
    sl_hub_free(hub);
}

void
sl_test_suite_transcode(void)
{
    CU_pSuite s = CU_add_suite("transcode", NULL, NULL);

    av_log_set_level(AV_LOG_WARNING); /* no encoder summaries */

    CU_add_test(s, "rung sizes keep the aspect ratio", test_rung_size);
    CU_add_test(s, "ladder: aligned keyframes, interleaved audio",
                test_ladder_aligned_keyframes);
    CU_add_test(s, "rung: latency = low, no B-frames, no frame held",
                test_rung_latency);
}

/*
 * One rung of a ladder: a scaler and a video encoder (and, when asked,
 * an AAC encoder), publishing APP/KEY_NAME into the hub.  Used only by
 * its ladder's thread, except the counters sl_rung_stats reads.
 *
 * Output order: the video encoder gives its first packet some frames
 * after its first picture (lookahead, B-frames, frame threads), so
 * audio waits in a small queue until video with the same timestamp is
 * out; the rung's stream then carries audio and video interleaved by
 * time, which the hub's timeline and every player expect.  The stream
 * is published with its metadata and codec headers when the first
 * video packet is out (at once for an audio-only source).
 */
#ifndef SL_TRANSCODE_RUNG_H
#define SL_TRANSCODE_RUNG_H

#include <stdatomic.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libswscale/swscale.h>

#include "media/flv_av.h"
#include "pool/buf.h"
#include "pool/queue.h"
#include "rtmp/codec.h"
#include "server/config.h"
#include "server/hub.h"
#include "transcode/ladder.h"

struct sl_rung {
    struct sl_rendition_config cfg;
    char                       stream_name[SL_NAME_MAX];
    char                       app[SL_NAME_MAX];
    struct sl_hub             *hub;
    struct sl_stream          *stream;  /* published */
    int                        skipped; /* larger than the source */
    int                        started;
    int                        audio_only;
    uint64_t                   publish_deadline_ms;
    uint32_t                   keyframe_interval_ms;

    AVCodecContext    *venc;
    struct SwsContext *sws;
    AVFrame           *pic;
    AVPacket          *pkt;
    int                w, h;
    double             fps;
    int                src_w, src_h;
    int64_t            next_pts; /* the fps cap */
    int64_t            last_in_pts;
    int64_t            last_dts;
    int                have_in, have_dts;
    int                video_dead;

    /* Audio: the source's AAC config, or our encoder's. */
    struct sl_buf     *aseq;
    struct sl_aac_info asc;
    int                have_asc;
    AVCodecContext    *aenc;
    AVAudioFifo       *fifo;
    AVFrame           *aframe;
    int64_t            apts; /* next sample's pts, in samples */
    int                have_apts;
    int                audio_dead;
    struct sl_list     apending; /* audio waiting for video */
    uint32_t           napending;

    uint64_t flush_due; /* when the hub wants sl_hub_flush again */

    atomic_ullong frames_out, bytes_out;
    atomic_int    pub_w, pub_h, live;
};

void sl_rung_init(struct sl_rung *r, const struct sl_rendition_config *cfg,
                  const char *source_name);

/* Opens the encoders for a w x h picture (w = 0: audio only, published
 * at once).  Publishing waits for a previous ladder to release the name
 * until deadline_ms. */
void sl_rung_start(struct sl_rung *r, struct sl_hub *hub, const char *app,
                   int w, int h, double fps, uint32_t keyframe_interval_ms,
                   uint64_t deadline_ms);

/* The source changed size: a rung whose size changes gets a new encoder
 * (new codec headers and metadata on the same stream). */
void sl_rung_source_size(struct sl_rung *r, int src_w, int src_h, double fps);

/* One decoded source picture at pts (ms); force: make it a keyframe. */
void sl_rung_video(struct sl_rung *r, const AVFrame *src, int64_t pts,
                   int force);

/* The source's AAC sequence header (adec: the shared AAC decoder, for a
 * rung that re-encodes). */
void sl_rung_audio_config(struct sl_rung *r, struct sl_buf *aseq,
                          const struct sl_aac_info *asc, int have_asc,
                          const AVCodecContext *adec);
/* One source audio message, for a rung that copies audio. */
void sl_rung_audio_copy(struct sl_rung *r, int64_t ts, struct sl_buf *b);
/* One decoded audio frame at pts (ms), for a rung that re-encodes. */
void sl_rung_audio_frame(struct sl_rung *r, const AVFrame *f, int64_t pts);

/* Calls sl_hub_flush when the hub asked for it. */
void sl_rung_flush_hub(struct sl_rung *r, uint64_t now_ms);

/* Flushes the encoders into the stream and unpublishes it. */
void sl_rung_end(struct sl_rung *r);
void sl_rung_free(struct sl_rung *r);

void sl_rung_stats(struct sl_rung *r, struct sl_rung_stats *out);

/* What a rung of cfg at fps frames a second gives its video encoder
 * besides the config's own words (rung.c explains each choice): for
 * libx264 its x264-params into x264 (cap bytes), for any other encoder
 * "".  Returns the encoder's thread count.  Any thread; for the
 * benchmark, which hands the ffmpeg command line the same options. */
int sl_rung_encoder_options(const struct sl_rendition_config *cfg, double fps,
                            char *x264, size_t cap);

#endif

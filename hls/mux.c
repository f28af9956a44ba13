/*
 * CMAF fragments through libavformat's MP4 muxer (see mux.h).
 */
#include "hls/mux.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>

#include "media/flv_av.h"
#include "media/flv_hevc.h"
#include "rtmp/codec.h"
#include "rtmp/rd.h"

#define IO_BUF 65536
/* A fragment is at most a part of media; more than this is a stream
 * that is not what it says (or a bug), and is refused, not buffered. */
#define OUT_MAX (64u * 1024 * 1024)

struct sl_hls_mux {
    AVFormatContext *fc;
    AVIOContext     *pb;
    /* What the muxer wrote since the last take. */
    uint8_t *out;
    size_t   out_len, out_cap;
    int      overflow;

    int        vidx, aidx; /* stream indexes, -1: no such track */
    AVRational vtb, atb;   /* as the muxer settled them */

    AVPacket *held; /* the video frame waiting for its duration */
    int       have_held;
    int64_t   held_ms;
    int64_t   v_last_dts; /* tb units, INT64_MIN before the first */

    int64_t a_next;  /* the next audio decode time, atb units */
    int     a_frame; /* samples per AAC frame at the output rate */

    /* H.264: the record's SPS and PPS as a sample carries NAL units
     * (NULL: none), and whether the next keyframe gets them in-band. */
    uint8_t *sets;
    size_t   sets_len;
    int      sets_due;
    unsigned nal_len_size; /* bytes before each NAL unit of a sample */
};

/* libavformat's write callback (5.1 passes a non-const buffer). */
static int
collect(void *opaque, uint8_t *buf, int size)
{
    struct sl_hls_mux *m = opaque;
    size_t             need = m->out_len + (size_t) size;

    if (need > OUT_MAX) {
        m->overflow = 1;
        return AVERROR(ENOMEM);
    }
    if (need > m->out_cap) {
        size_t   cap = m->out_cap ? m->out_cap : 65536;
        uint8_t *p;

        while (cap < need)
            cap *= 2;
        p = realloc(m->out, cap);
        if (p == NULL)
            return AVERROR(ENOMEM);
        m->out = p;
        m->out_cap = cap;
    }
    memcpy(m->out + m->out_len, buf, (size_t) size);
    m->out_len = need;
    return size;
}

/* What the muxer wrote since the last take, as a new buffer (NULL when
 * nothing, or out of memory: *rc says which). */
static struct sl_buf *
take(struct sl_hls_mux *m, int *rc)
{
    struct sl_buf *b = NULL;

    avio_flush(m->pb);
    *rc = m->overflow ? AVERROR(ENOMEM) : 0;
    if (*rc == 0 && m->out_len > 0) {
        b = sl_buf_from(m->out, m->out_len);
        if (b == NULL)
            *rc = AVERROR(ENOMEM);
    }
    m->out_len = 0;
    return b;
}

static int
set_extradata(AVCodecParameters *par, const uint8_t *p, size_t len)
{
    par->extradata = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (par->extradata == NULL)
        return -1;
    memcpy(par->extradata, p, len);
    par->extradata_size = (int) len;
    return 0;
}

/* The SPS and PPS of an AVCDecoderConfigurationRecord (already checked
 * by sl_avc_check_config) as a sample carries NAL units, each after a
 * length of the record's length size: into *out (malloc'd), or -1 when
 * it does not read or a set does not fit its length field. */
static int
avc_sets(const uint8_t *avcc, size_t len, uint8_t **out, size_t *out_len,
         unsigned *nal_len_size)
{
    struct sl_rd r;
    uint8_t     *buf;
    size_t       at = 0;
    unsigned     lsize;

    /* A record's 2-byte lengths become at most 4-byte ones: 2 more
     * bytes for each of at most 31 + 255 sets. */
    buf = malloc(len + 2 * (31 + 255));
    if (buf == NULL)
        return -1;
    sl_rd_init(&r, avcc, len);
    sl_rd_bytes(&r, 4); /* version, profile, compatibility, level */
    lsize = (sl_rd_u8(&r) & 3u) + 1;
    for (int list = 0; list < 2 && !r.err; list++) {
        unsigned n = list == 0 ? sl_rd_u8(&r) & 0x1fu : sl_rd_u8(&r);

        for (unsigned i = 0; i < n && !r.err; i++) {
            uint16_t       nl = sl_rd_u16(&r);
            const uint8_t *nal = sl_rd_bytes(&r, nl);

            if (nal == NULL || (lsize < 4 && nl >> (8 * lsize) != 0)) {
                r.err = 1;
                break;
            }
            for (unsigned k = 0; k < lsize; k++)
                buf[at++] = (uint8_t) (nl >> (8 * (lsize - 1 - k)));
            memcpy(buf + at, nal, nl);
            at += nl;
        }
    }
    if (r.err || at == 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = at;
    *nal_len_size = lsize;
    return 0;
}

static int
add_video(struct sl_hls_mux *m, const struct sl_hls_tracks *t, char *codecs,
          size_t cap, int *w, int *h, char *why, size_t why_cap)
{
    struct sl_avc_info  info;
    struct sl_hevc_info hinfo;
    const uint8_t      *sps;
    size_t              sps_len;
    AVStream           *st;

    if (t->hevc) {
        if (sl_media_hvcc_sps(t->avcc, t->avcc_len, &sps, &sps_len) < 0 ||
            sl_hevc_parse_sps(sps, sps_len, &hinfo) < 0) {
            snprintf(why, why_cap, "the HEVC configuration does not parse");
            return -1;
        }
        info.width = hinfo.width;
        info.height = hinfo.height;
    } else if (sl_avc_parse_config(t->avcc, t->avcc_len, &info) < 0) {
        snprintf(why, why_cap, "the H.264 configuration does not parse");
        return -1;
    }
    st = avformat_new_stream(m->fc, NULL);
    if (st == NULL || set_extradata(st->codecpar, t->avcc, t->avcc_len) < 0) {
        snprintf(why, why_cap, "out of memory");
        return -1;
    }
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    st->codecpar->codec_id = t->hevc ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
    /* hvc1: the parameter sets are in the record only (what Apple's
     * players ask for), as the packager's frames carry none. */
    if (t->hevc)
        st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
    st->codecpar->width = info.width;
    st->codecpar->height = info.height;
    st->time_base = (AVRational){1, 90000};
    m->vidx = st->index;
    *w = info.width;
    *h = info.height;
    /* RFC 6381: avc1.PPCCLL from the record's profile, constraint flags
     * and level bytes; hvc1.* from the SPS's profile, tier and level. */
    if (t->hevc)
        sl_media_hevc_codecs(&hinfo, codecs, cap);
    else
        snprintf(codecs, cap, "avc1.%02x%02x%02x", t->avcc[1], t->avcc[2],
                 t->avcc[3]);
    /* For sl_hls_mux_sets_inband; without them, none in-band. */
    if (!t->hevc && avc_sets(t->avcc, t->avcc_len, &m->sets, &m->sets_len,
                             &m->nal_len_size) < 0)
        m->sets = NULL;
    return 0;
}

static int
add_audio(struct sl_hls_mux *m, const struct sl_hls_tracks *t, char *codecs,
          size_t cap, char *why, size_t why_cap)
{
    struct sl_aac_info info;
    AVStream          *st;
    size_t             used = strlen(codecs);

    if (sl_aac_parse_asc(t->asc, t->asc_len, &info) < 0) {
        snprintf(why, why_cap, "the AAC configuration does not parse");
        return -1;
    }
    st = avformat_new_stream(m->fc, NULL);
    if (st == NULL || set_extradata(st->codecpar, t->asc, t->asc_len) < 0) {
        snprintf(why, why_cap, "out of memory");
        return -1;
    }
    st->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
    st->codecpar->codec_id = AV_CODEC_ID_AAC;
    st->codecpar->sample_rate = info.sample_rate;
    av_channel_layout_default(&st->codecpar->ch_layout,
                              info.channels > 0 ? info.channels : 2);
    /* SBR and PS double the output samples of each frame. */
    m->a_frame = info.object_type == 5 || info.object_type == 29 ? 2048 : 1024;
    st->codecpar->frame_size = m->a_frame;
    st->time_base = (AVRational){1, info.sample_rate};
    m->aidx = st->index;
    snprintf(codecs + used, cap - used, "%smp4a.40.%d", used ? "," : "",
             info.object_type);
    return 0;
}

struct sl_hls_mux *
sl_hls_mux_open(const struct sl_hls_tracks *t, struct sl_buf **init,
                char *codecs, size_t codecs_cap, int *width, int *height,
                char *why, size_t why_cap)
{
    struct sl_hls_mux *m = calloc(1, sizeof(*m));
    AVDictionary      *opt = NULL;
    uint8_t           *iobuf;
    int                rc;
    /* Written to the caller's only on success: on failure theirs still
     * describe the init segment they had. */
    char cs[64] = "";
    int  w = 0, h = 0;

    *init = NULL;
    snprintf(why, why_cap, "out of memory");
    if (m == NULL)
        return NULL;
    m->vidx = m->aidx = -1;
    m->v_last_dts = INT64_MIN;
    m->a_next = INT64_MIN;
    m->held = av_packet_alloc();
    if (m->held == NULL ||
        avformat_alloc_output_context2(&m->fc, NULL, "mp4", NULL) < 0)
        goto fail;
    iobuf = av_malloc(IO_BUF);
    if (iobuf == NULL)
        goto fail;
    m->pb = avio_alloc_context(iobuf, IO_BUF, 1, m, NULL, collect, NULL);
    if (m->pb == NULL) {
        av_free(iobuf);
        goto fail;
    }
    m->fc->pb = m->pb;
    m->fc->flags |= AVFMT_FLAG_CUSTOM_IO;
    if (t->avcc != NULL &&
        add_video(m, t, cs, sizeof(cs), &w, &h, why, why_cap) < 0)
        goto fail;
    if (t->asc != NULL && add_audio(m, t, cs, sizeof(cs), why, why_cap) < 0)
        goto fail;
    if (m->vidx < 0 && m->aidx < 0) {
        snprintf(why, why_cap, "no track");
        goto fail;
    }
    /* empty_moov: the init segment carries no samples; frag_custom: a
     * fragment ends only when we cut; default_base_moof and cmaf: what
     * CMAF players (hls.js, Safari) expect; no trailer, no sidx: the
     * stream never ends as a file. */
    av_dict_set(&opt, "movflags",
                "+frag_custom+empty_moov+default_base_moof+cmaf"
                "+skip_trailer+skip_sidx+frag_discont",
                0);
    rc = avformat_write_header(m->fc, &opt);
    av_dict_free(&opt);
    if (rc < 0) {
        snprintf(why, why_cap, "the MP4 muxer refused the tracks: %s",
                 av_err2str(rc));
        goto fail;
    }
    if (m->vidx >= 0)
        m->vtb = m->fc->streams[m->vidx]->time_base;
    if (m->aidx >= 0)
        m->atb = m->fc->streams[m->aidx]->time_base;
    *init = take(m, &rc);
    if (*init == NULL) {
        snprintf(why, why_cap, "no initialization segment");
        goto fail;
    }
    snprintf(codecs, codecs_cap, "%s", cs);
    *width = w;
    *height = h;
    why[0] = '\0';
    return m;
fail:
    sl_hls_mux_free(m);
    return NULL;
}

void
sl_hls_mux_free(struct sl_hls_mux *m)
{
    if (m == NULL)
        return;
    if (m->fc != NULL) {
        m->fc->pb = NULL;
        avformat_free_context(m->fc);
    }
    if (m->pb != NULL) {
        av_freep(&m->pb->buffer);
        avio_context_free(&m->pb);
    }
    av_packet_free(&m->held);
    free(m->sets);
    free(m->out);
    free(m);
}

/* Writes the held frame with its duration up to end (tb units). */
static int
write_held(struct sl_hls_mux *m, int64_t end)
{
    int rc;

    if (!m->have_held)
        return 0;
    m->held->duration = end > m->held->dts ? end - m->held->dts : 1;
    rc = av_write_frame(m->fc, m->held);
    av_packet_unref(m->held);
    m->have_held = 0;
    return rc;
}

int
sl_hls_mux_video(struct sl_hls_mux *m, int64_t dts_ms, int32_t cts_ms,
                 int keyframe, const uint8_t *data, size_t len)
{
    int64_t dts;
    int     rc;

    if (m->vidx < 0 || len == 0 || len > OUT_MAX)
        return 0;
    dts = sl_media_ms_to_tb(dts_ms, m->vtb);
    /* The muxer wants strictly rising decode times; the hub keeps them
     * non-decreasing. */
    if (m->v_last_dts != INT64_MIN && dts <= m->v_last_dts)
        dts = m->v_last_dts + 1;
    rc = write_held(m, dts);
    if (rc < 0)
        return rc;
    if (keyframe && m->sets_due && m->sets != NULL) {
        /* The parameter sets first: an access unit delimiter, if the
         * frame starts with one, must stay first (H.264 7.4.1.2.3). */
        size_t   aud = 0, ls = m->nal_len_size;
        uint32_t n = 0;

        for (size_t k = 0; k < ls && k < len; k++)
            n = n << 8 | data[k];
        if (len > ls && (data[ls] & 0x1f) == 9 && n <= len - ls)
            aud = ls + n;
        if (av_new_packet(m->held, (int) (len + m->sets_len)) < 0)
            return AVERROR(ENOMEM);
        memcpy(m->held->data, data, aud);
        memcpy(m->held->data + aud, m->sets, m->sets_len);
        memcpy(m->held->data + aud + m->sets_len, data + aud, len - aud);
        m->sets_due = 0;
    } else {
        if (av_new_packet(m->held, (int) len) < 0)
            return AVERROR(ENOMEM);
        memcpy(m->held->data, data, len);
    }
    m->held->stream_index = m->vidx;
    m->held->dts = dts;
    m->held->pts = dts + sl_media_ms_to_tb(cts_ms > 0 ? cts_ms : 0, m->vtb);
    m->held->flags = keyframe ? AV_PKT_FLAG_KEY : 0;
    m->have_held = 1;
    m->held_ms = dts_ms;
    m->v_last_dts = dts;
    return 0;
}

int
sl_hls_mux_audio(struct sl_hls_mux *m, int64_t ts_ms, const uint8_t *data,
                 size_t len)
{
    AVPacket *pkt;
    int64_t   want;
    int       rc;

    if (m->aidx < 0 || len == 0 || len > OUT_MAX)
        return 0;
    want = sl_media_ms_to_tb(ts_ms, m->atb);
    /* Sample-exact times, re-anchored on a jump of more than a frame
     * (forward only: the muxer wants rising times). */
    if (m->a_next == INT64_MIN || want > m->a_next + m->a_frame)
        m->a_next = want;
    pkt = av_packet_alloc();
    if (pkt == NULL || av_new_packet(pkt, (int) len) < 0) {
        av_packet_free(&pkt);
        return AVERROR(ENOMEM);
    }
    memcpy(pkt->data, data, len);
    pkt->stream_index = m->aidx;
    pkt->dts = pkt->pts = m->a_next;
    pkt->duration = m->a_frame;
    pkt->flags = AV_PKT_FLAG_KEY;
    m->a_next += m->a_frame;
    rc = av_write_frame(m->fc, pkt);
    av_packet_free(&pkt);
    return rc;
}

int
sl_hls_mux_cut(struct sl_hls_mux *m, int64_t end_ms, struct sl_buf **out)
{
    int rc;

    *out = NULL;
    if (m->vidx >= 0) {
        int64_t end = sl_media_ms_to_tb(end_ms, m->vtb);

        if (m->have_held && end <= m->held->dts)
            end = m->held->dts + 1;
        rc = write_held(m, end);
        if (rc < 0)
            return rc;
    }
    rc = av_write_frame(m->fc, NULL); /* frag_custom: end the fragment */
    if (rc < 0)
        return rc;
    *out = take(m, &rc);
    return rc;
}

void
sl_hls_mux_sets_inband(struct sl_hls_mux *m)
{
    m->sets_due = 1;
}

int64_t
sl_hls_mux_held_ms(const struct sl_hls_mux *m)
{
    return m->have_held ? m->held_ms : INT64_MIN;
}

static int
same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (a == NULL || b == NULL)
        return a == b;
    return alen == blen && memcmp(a, b, alen) == 0;
}

int
sl_hls_tracks_same(const struct sl_hls_tracks *a, const struct sl_hls_tracks *b)
{
    /* hevc only means something with a video track. */
    if (a->avcc != NULL && b->avcc != NULL && !a->hevc != !b->hevc)
        return 0;
    return same_bytes(a->avcc, a->avcc_len, b->avcc, b->avcc_len) &&
           same_bytes(a->asc, a->asc_len, b->asc, b->asc_len);
}

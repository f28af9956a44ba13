/*
 * One publisher message on its way into the stream.  Before the stream
 * lock: classify it (codec facts from the FLV tag body) and turn
 * @setDataFrame/onMetaData into the onMetaData body players expect.
 * Under the lock: the primary's message is mapped onto the players'
 * timeline, chunk-encoded ONCE into the wire bytes every player gets,
 * cached when it is a header, appended to the ring, and handed to the
 * taps as a body; a standby's message is kept instead (hub_standby.c),
 * or makes the standby take over from a stalled primary first.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "pool/buf.h"
#include "rtmp/amf.h"
#include "rtmp/chunk.h"
#include "rtmp/flv.h"
#include "rtmp/meta.h"
#include "server/hub.h"
#include "server/hub_int.h"
#include "server/log.h"
#include "server/outq.h"

/* Chunk stream ids of the shared media bytes.  Every outgoing message
 * uses a format-0 header, so the ids only need to differ by kind. */
#define CSID_DATA 5
#define CSID_AUDIO 6
#define CSID_VIDEO 7
#define PLAYER_MSID 1

/* Timeline correction thresholds.  Audio and video are interleaved by
 * the encoder a little out of order, so small steps back are normal;
 * more than a second back, or a leap far beyond the wall clock, is a
 * reconnect or a glitch. */
#define TS_MAX_BACKSTEP_MS 1000
#define TS_MAX_LEAP_MS 5000
#define TS_RESUME_STEP_MS 40

/* Maps the publisher's timestamp onto the players' timeline.  Stream
 * lock held.  track: 0 audio, 1 video, -1 data. */
static int64_t
timeline(struct sl_stream *s, uint32_t raw, int track, uint64_t now_ms)
{
    int64_t ext, out, step, wall;

    if (!s->have_ts) {
        /* First message of a publication: continue after the previous
         * publisher's timeline, if any, so players see no jump back. */
        s->have_ts = 1;
        s->last_raw = raw;
        s->last_ext = raw;
        s->offset = s->have_out ? s->last_out + TS_RESUME_STEP_MS - raw : 0;
        if (!s->have_out) {
            s->last_out = raw;
            s->last_track_out[0] = s->last_track_out[1] = raw;
            s->have_out = 1;
        }
        s->last_wall_ms = now_ms;
    } else {
        /* The signed 32-bit difference extends across the wrap. */
        s->last_ext += (int32_t) (raw - s->last_raw);
        s->last_raw = raw;
    }
    ext = s->last_ext;
    out = ext + s->offset;
    step = out - s->last_out;
    wall = (int64_t) (now_ms - s->last_wall_ms);
    if (step < -TS_MAX_BACKSTEP_MS || step > wall + TS_MAX_LEAP_MS) {
        s->offset = s->last_out + TS_RESUME_STEP_MS - ext;
        out = ext + s->offset;
        atomic_fetch_add(&s->hub->ts_fixes, 1);
        sl_log_warn("stream %s/%s: timestamp jump of %lld ms corrected", s->app,
                    s->name, (long long) step);
    }
    if (track >= 0) {
        if (out < s->last_track_out[track])
            out = s->last_track_out[track];
        s->last_track_out[track] = out;
    }
    if (out > s->last_out) {
        s->last_out = out;
        s->last_wall_ms = now_ms;
    }
    return out;
}

/* Turns @setDataFrame("onMetaData", obj) or onMetaData(obj) into the
 * onMetaData(obj) body players expect.  NULL when body is not metadata
 * (-ENOMEM is reported as NULL too: metadata is optional). */
static struct sl_buf *
metadata_body(const struct sl_buf *payload, int *is_meta)
{
    struct sl_amf_node        nodes[256];
    struct sl_amf_doc         doc;
    const struct sl_amf_node *obj;
    struct sl_buf            *out;
    struct sl_wr              w;

    sl_amf_doc_init(&doc, nodes, 256);
    *is_meta = sl_meta_find(&doc, payload->data, payload->len, &obj);
    if (!*is_meta)
        return NULL;
    out = sl_buf_new(payload->len + 32);
    if (out == NULL)
        return NULL;
    sl_wr_init(&w, out->data, out->cap);
    sl_amf_put_string(&w, "onMetaData");
    if (obj != NULL)
        sl_amf_put_node(&w, &doc, obj);
    if (w.err) {
        sl_buf_unref(out);
        return NULL;
    }
    out->len = (uint32_t) sl_wr_len(&w);
    return out;
}

/* Replaces a cached body and its timestamp.  Stream lock held. */
static void
cache_body(struct sl_buf **slot, int64_t *ts_slot, struct sl_buf *b, int64_t ts)
{
    sl_buf_unref(*slot);
    *slot = sl_buf_ref(b);
    *ts_slot = ts;
}

/* Hands one message to every tap.  Stream lock held. */
static void
feed_taps(struct sl_stream *s, uint8_t type, int64_t ts, struct sl_buf *b)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &s->taps)
    {
        struct sl_tap *t = sl_list_entry(pos, struct sl_tap, link);

        t->on_media(t, type, ts, b);
    }
}

/* Classifies payload.  1 when it is to be passed on (release m->body
 * afterwards), 0 when it is not (another type, unreadable metadata). */
int
sl_ingest_prepare(uint8_t type, struct sl_buf *payload, struct sl_ingest_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->track = -1;
    m->payload = payload;
    sl_flv_inspect(type, payload->data, payload->len, &m->info);
    if (type == SL_MSG_DATA_AMF0) {
        m->body = metadata_body(payload, &m->is_meta);
        if (m->is_meta && m->body == NULL)
            return 0; /* unreadable metadata: not worth ending anything */
        m->csid = CSID_DATA;
    } else if (type == SL_MSG_AUDIO) {
        m->csid = CSID_AUDIO;
        m->track = 0;
    } else if (type == SL_MSG_VIDEO) {
        m->csid = CSID_VIDEO;
        m->track = 1;
    } else {
        return 0;
    }
    /* Metadata as onMetaData, the rest as the publisher sent it. */
    m->msg = m->body != NULL ? m->body : payload;
    return 1;
}

/* Puts one message of the primary on the timeline, into the caches and
 * the ring (waking players), and hands it to taps.  Stream lock held.
 * 0 or -ENOMEM. */
int
sl_ingest_deliver(struct sl_stream *s, const struct sl_ingest_msg *m,
                  uint32_t ts, uint64_t now_ms)
{
    const struct sl_flv_info *info = &m->info;
    struct sl_buf            *wire, *msg = m->msg;
    uint32_t                  flags = 0;
    int64_t                   out;

    s->pub_last_ms = now_ms;
    if (s->need_key && info->video && !info->seq_header) {
        /* After a takeover without a kept keyframe, the new primary's
         * inter frames would reference pictures players never got. */
        if (!info->keyframe)
            return 0;
        s->need_key = 0;
    }
    out = timeline(s, ts, m->track, now_ms);
    wire = sl_chunk_encode(m->csid, m->type, PLAYER_MSID, (uint32_t) out,
                           msg->data, msg->len, s->hub->lim.chunk_size);
    if (wire == NULL)
        return -ENOMEM;

    if (m->is_meta) {
        flags = SL_OUT_KEEP;
        sl_buf_unref(s->meta);
        s->meta = sl_buf_ref(wire);
        sl_ring_flv_forget(&s->meta_flv);
        cache_body(&s->meta_pl, &s->meta_ts, msg, out);
    } else if (info->seq_header) {
        flags = SL_OUT_KEEP;
        if (info->video) {
            s->has_video = 1;
            sl_buf_unref(s->vseq);
            s->vseq = sl_buf_ref(wire);
            sl_ring_flv_forget(&s->vseq_flv);
            cache_body(&s->vseq_pl, &s->vseq_ts, msg, out);
        } else {
            sl_buf_unref(s->aseq);
            s->aseq = sl_buf_ref(wire);
            sl_ring_flv_forget(&s->aseq_flv);
            cache_body(&s->aseq_pl, &s->aseq_ts, msg, out);
        }
    } else if (info->video) {
        s->has_video = 1;
        flags = SL_OUT_MEDIA;
        if (info->keyframe)
            flags |= SL_OUT_SYNC;
    } else if (info->audio) {
        flags = SL_OUT_MEDIA;
        /* Without video every audio frame is a place to start. */
        if (!s->has_video)
            flags |= SL_OUT_SYNC;
    }
    /* Other data messages (cue points, text) pass through as they are. */
    sl_ring_append(s, wire, (uint32_t) out, flags,
                   info->video && !info->seq_header && info->keyframe);
    sl_ring_fan_out(s, now_ms);
    feed_taps(s, m->type, out, msg);
    sl_buf_unref(wire);
    return 0;
}

/* Delivers one kept message of a standby that took over.  Stream lock
 * held. */
static void
replay(struct sl_stream *s, const struct sl_standby_ent *e, uint32_t ts,
       uint64_t now_ms)
{
    struct sl_ingest_msg m;

    if (e->pl == NULL || !sl_ingest_prepare(e->type, e->pl, &m))
        return;
    sl_ingest_deliver(s, &m, ts, now_ms); /* -ENOMEM: that message is lost */
    sl_buf_unref(m.body);
}

void
sl_ingest_take_over(struct sl_stream *s, uint64_t now_ms, const void *demoted)
{
    struct sl_standby kept;
    uint32_t          base;

    sl_standby_promote(s, now_ms, demoted, &kept);
    /* The headers go out with the time of the frames that follow them,
     * so the new offset is taken from where the media starts. */
    base = kept.n > 0 ? kept.gop[0].ts : kept.last_ts;
    for (int i = 0; i < 3; i++)
        replay(s, &kept.hdr[i], base, now_ms);
    for (uint32_t i = 0; i < kept.n; i++)
        replay(s, &kept.gop[i], kept.gop[i].ts, now_ms);
    sl_ring_wake_all(s, now_ms);
    sl_standby_forget(&kept);
}

/* publisher NULL: the caller is the publisher (no check). */
static int
ingest(struct sl_stream *s, const void *publisher, uint8_t type, uint32_t ts,
       struct sl_buf *payload, uint64_t now_ms)
{
    struct sl_hub       *hub = s->hub;
    struct sl_ingest_msg m;
    int                  rc = 0;

    atomic_fetch_add_explicit(&hub->msgs_in, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hub->bytes_in, payload->len,
                              memory_order_relaxed);
    if (!sl_ingest_prepare(type, payload, &m))
        return 0;

    pthread_mutex_lock(&s->lock);
    if (publisher != NULL && s->publisher != publisher) {
        if (s->sb.who != publisher) {
            rc = -EPERM; /* replaced, then dropped: nobody's now */
        } else if (s->ingest_ms == 0 || now_ms <= s->pub_last_ms ||
                   now_ms - s->pub_last_ms < s->ingest_ms) {
            sl_standby_keep(s, &m, ts);
            publisher = NULL; /* kept, not delivered */
        } else {
            /* The primary is silent: judged here, where the standby's
             * own media proves the standby alive, on the stream's clock
             * of the primary's last message. */
            sl_ingest_take_over(s, now_ms, s->publisher);
        }
        if (rc < 0 || publisher == NULL) {
            pthread_mutex_unlock(&s->lock);
            sl_buf_unref(m.body);
            return rc;
        }
    }
    rc = sl_ingest_deliver(s, &m, ts, now_ms);
    pthread_mutex_unlock(&s->lock);
    sl_buf_unref(m.body);
    return rc;
}

int
sl_hub_media(struct sl_stream *s, uint8_t type, uint32_t ts,
             struct sl_buf *payload, uint64_t now_ms)
{
    return ingest(s, NULL, type, ts, payload, now_ms);
}

int
sl_hub_publisher_media(struct sl_stream *s, const void *publisher, uint8_t type,
                       uint32_t ts, struct sl_buf *payload, uint64_t now_ms)
{
    return ingest(s, publisher, type, ts, payload, now_ms);
}

#include "server/hub.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/clock.h"
#include "rtmp/amf.h"
#include "rtmp/chunk.h"
#include "rtmp/flv.h"
#include "rtmp/meta.h"
#include "server/log.h"

/* Chunk stream ids of the shared media bytes.  Every outgoing message
 * uses a format-0 header, so the ids only need to differ by kind. */
#define CSID_DATA  5
#define CSID_AUDIO 6
#define CSID_VIDEO 7
#define PLAYER_MSID 1

/* Timeline correction thresholds.  Audio and video are interleaved by
 * the encoder a little out of order, so small steps back are normal;
 * more than a second back, or a leap far beyond the wall clock, is a
 * reconnect or a glitch. */
#define TS_MAX_BACKSTEP_MS 1000
#define TS_MAX_LEAP_MS     5000
#define TS_RESUME_STEP_MS  40

/* One message in a stream's ring.  The ring holds a reference to wire
 * until the entry is evicted; a subscriber takes its own reference for
 * the time it writes it (sl_sub_collect), so eviction never frees bytes
 * a writev is reading. */
struct ring_ent {
    struct sl_buf *wire;
    uint32_t       ts;
    uint32_t       flags;
};

/* A standby publisher's kept message: its own body and timestamp, as
 * it sent them (mapped onto the timeline only when it takes over). */
struct sb_ent {
    struct sl_buf *pl;
    uint32_t       ts;
    uint8_t        type;
};

/* The standby (backup_publish): who it is and what a takeover starts
 * from.  Bounded like the GOP cache: a GOP longer than the GOP limits
 * is dropped until the next keyframe. */
struct standby {
    const void    *who;    /* NULL: none */
    uint64_t       id;     /* for log lines */
    struct sb_ent  hdr[3]; /* metadata, video and audio headers */
    struct sb_ent *gop;    /* from its last video keyframe */
    uint32_t       n, cap;
    uint64_t       bytes;
    uint8_t        gop_ok; /* gop starts at a keyframe */
    uint8_t        has_video;
    uint8_t        have_ts;
    uint32_t       last_ts; /* its newest timestamp */
};

struct sl_stream {
    struct sl_list  link;  /* in hub->streams; hub-locked */
    struct sl_hub  *hub;
    char            app[SL_NAME_MAX];
    char            name[SL_NAME_MAX];
    pthread_mutex_t lock;

    /* Everything below is guarded by lock. */
    const void    *publisher;  /* NULL while nobody publishes */
    /* Written under lock, read without it by every player on every run
     * (sl_hub_stream_state), so they are atomics: a player polling its
     * stream must not contend with the publisher's fan-out for the lock.
     * Relaxed: each is read on its own, a stale value only delays a
     * status message until the next run. */
    atomic_ullong  publish_gen;
    atomic_ullong  unpublished_ms;
    atomic_int     live;
    atomic_uint    head_ts;  /* newest media timestamp, for the API */
    struct sl_list subs;
    uint32_t       nsubs;
    struct sl_list taps;
    uint32_t       ntaps;
    uint8_t        derived;  /* published by the server (a rendition) */

    struct sl_buf *meta;   /* onMetaData, encoded */
    struct sl_buf *vseq;   /* video sequence header, encoded */
    struct sl_buf *aseq;   /* audio sequence header, encoded */
    uint8_t        has_video;  /* this publication has sent video */
    /* The same three as bodies, for taps that join late. */
    struct sl_buf *meta_pl, *vseq_pl, *aseq_pl;
    int64_t        meta_ts, vseq_ts, aseq_ts;

    /* The ring: entries with sequence numbers [ring_tail, ring_head)
     * live at ring[seq & ring_mask].  Sequence numbers never repeat for
     * the stream's life (they go on across publishers), so a cursor is
     * simply compared with them.  Bounded by ring_cap entries and
     * ring_max_bytes; the oldest entry is evicted to make room. */
    struct ring_ent *ring;
    uint32_t         ring_mask;
    uint64_t         ring_tail;
    uint64_t         ring_head;
    uint64_t         ring_bytes;

    /* The cached GOP is [gop_seq, ring_head) while gop_ok: it starts at
     * the last video keyframe and is dropped when it grows beyond the
     * GOP limits or its keyframe is evicted. */
    uint8_t          gop_ok;
    uint64_t         gop_seq;
    uint32_t         gop_msgs;
    uint64_t         gop_bytes;

    /* Where a skipping subscriber goes: the newest sync point. */
    uint8_t          have_sync;
    uint64_t         sync_seq;
    uint32_t         sync_ts;
    /* The newest media timestamp, for the lag measure. */
    uint8_t          have_media;
    uint32_t         media_ts;
    /* The newest KEEP entry (metadata, codec header), so a skip knows
     * whether it passed over one. */
    uint8_t          have_hdr;
    uint64_t         hdr_seq;

    /* Timeline: ext = the publisher's timestamp extended to 64 bits;
     * out = ext + offset, what players see. */
    uint8_t  have_ts;
    uint8_t  have_out;      /* last_out is meaningful (survives publishers) */
    uint32_t last_raw;
    int64_t  last_ext;
    int64_t  offset;
    int64_t  last_out;
    int64_t  last_track_out[2];  /* audio, video: each kept non-decreasing */
    uint64_t last_wall_ms;

    uint8_t  flush_pending;
    uint64_t last_flush_ms;

    /* Hot standby.  backup: the primary came through
     * sl_hub_publish_backup, so a standby may join it. */
    uint8_t        backup;
    uint8_t        need_key;    /* after a takeover: inter frames wait */
    uint64_t       pub_id;      /* the primary's id, for log lines */
    uint64_t       pub_last_ms; /* the primary's newest message */
    uint32_t       ingest_ms;   /* a primary silent this long is replaced */
    struct standby sb;
};

struct sl_hub {
    pthread_mutex_t      lock;
    struct sl_list       streams;
    struct sl_hub_limits lim;
    uint32_t             ring_cap;  /* entries, a power of two */
    /* The two limits a reload may change, read on the media path. */
    atomic_uint          merge_write_ms;
    atomic_int           gop_cache;
    atomic_uint          ring_max_ms;  /* grows on reload, never shrinks */
    atomic_ullong        nstreams, nsubs, msgs_in, bytes_in, ts_fixes;
    atomic_ullong        takeovers;
    int                  nobservers;
    struct {
        sl_hub_observer_fn fn;
        void              *ctx;
    } observers[SL_HUB_MAX_OBSERVERS];
};

struct sl_hub *
sl_hub_new(const struct sl_hub_limits *lim)
{
    struct sl_hub *hub = calloc(1, sizeof(*hub));

    if (hub == NULL)
        return NULL;
    pthread_mutex_init(&hub->lock, NULL);
    sl_list_init(&hub->streams);
    hub->lim = *lim;
    if (hub->lim.ring_max_msgs == 0)
        hub->lim.ring_max_msgs = SL_RING_MSGS;
    if (hub->lim.ring_max_bytes == 0)
        hub->lim.ring_max_bytes = lim->gop_max_bytes ? lim->gop_max_bytes
                                                     : 64u << 20;
    hub->ring_cap = 2;
    while (hub->ring_cap < hub->lim.ring_max_msgs)
        hub->ring_cap <<= 1;
    atomic_init(&hub->merge_write_ms, lim->merge_write_ms);
    atomic_init(&hub->gop_cache, lim->gop_cache);
    atomic_init(&hub->ring_max_ms, lim->ring_max_ms);
    return hub;
}

void
sl_hub_free(struct sl_hub *hub)
{
    if (hub == NULL)
        return;
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

/* Drops the oldest ring entry.  Stream lock held. */
static void
ring_evict(struct sl_stream *s)
{
    struct ring_ent *e = &s->ring[s->ring_tail & s->ring_mask];

    s->ring_bytes -= e->wire->len;
    sl_buf_unref(e->wire);
    e->wire = NULL;
    s->ring_tail++;
    if (s->gop_ok && s->gop_seq < s->ring_tail)
        s->gop_ok = 0;  /* a GOP longer than the ring: not offered */
    if (s->have_sync && s->sync_seq < s->ring_tail)
        s->have_sync = 0;
}

static void
ring_clear(struct sl_stream *s)
{
    while (s->ring_tail != s->ring_head)
        ring_evict(s);
}

/* Forgets what late joiners and skips start from (the ring entries stay
 * for subscribers still reading them).  Stream lock held. */
static void
caches_clear(struct sl_stream *s)
{
    s->gop_ok = 0;
    s->have_sync = 0;
    s->have_media = 0;
    s->have_hdr = 0;
    sl_buf_unref(s->meta);
    sl_buf_unref(s->vseq);
    sl_buf_unref(s->aseq);
    s->meta = s->vseq = s->aseq = NULL;
    sl_buf_unref(s->meta_pl);
    sl_buf_unref(s->vseq_pl);
    sl_buf_unref(s->aseq_pl);
    s->meta_pl = s->vseq_pl = s->aseq_pl = NULL;
    s->has_video = 0;
}

/* Drops the standby's kept GOP.  Stream lock held. */
static void
sb_gop_clear(struct standby *sb)
{
    for (uint32_t i = 0; i < sb->n; i++)
        sl_buf_unref(sb->gop[i].pl);
    sb->n = 0;
    sb->bytes = 0;
    sb->gop_ok = 0;
}

/* Forgets the standby and everything it kept.  Stream lock held (or
 * the stream private to the caller). */
static void
sb_forget(struct standby *sb)
{
    sb_gop_clear(sb);
    free(sb->gop);
    for (int i = 0; i < 3; i++)
        sl_buf_unref(sb->hdr[i].pl);
    memset(sb, 0, sizeof(*sb));
}

static struct sl_stream *
find_stream(struct sl_hub *hub, const char *app, const char *name)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &hub->streams)
    {
        struct sl_stream *s = sl_list_entry(pos, struct sl_stream, link);

        if (!strcmp(s->app, app) && !strcmp(s->name, name))
            return s;
    }
    return NULL;
}

/* Called with the hub lock held. */
static struct sl_stream *
get_stream(struct sl_hub *hub, const char *app, const char *name)
{
    struct sl_stream *s = find_stream(hub, app, name);

    if (s != NULL)
        return s;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->ring = calloc(hub->ring_cap, sizeof(*s->ring));
    if (s->ring == NULL) {
        free(s);
        return NULL;
    }
    s->ring_mask = hub->ring_cap - 1;
    s->hub = hub;
    snprintf(s->app, sizeof(s->app), "%s", app);
    snprintf(s->name, sizeof(s->name), "%s", name);
    pthread_mutex_init(&s->lock, NULL);
    sl_list_init(&s->subs);
    sl_list_init(&s->taps);
    sl_list_insert_tail(&hub->streams, &s->link);
    atomic_fetch_add(&hub->nstreams, 1);
    return s;
}

/* Frees s when nobody publishes or plays it.  Called with the hub lock
 * held and the stream lock released. */
static void
maybe_free_stream(struct sl_stream *s)
{
    if (s->publisher != NULL || s->nsubs > 0 || s->ntaps > 0)
        return;
    sl_list_remove(&s->link);
    atomic_fetch_sub(&s->hub->nstreams, 1);
    sb_forget(&s->sb);
    caches_clear(s);
    ring_clear(s);
    free(s->ring);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void
sl_hub_reload(struct sl_hub *hub, uint32_t merge_write_ms, int gop_cache,
              uint32_t ring_max_ms)
{
    /* Only the reloading thread writes it, so load-then-store is no
     * race with another writer. */
    if (ring_max_ms > atomic_load_explicit(&hub->ring_max_ms,
                                           memory_order_relaxed))
        atomic_store_explicit(&hub->ring_max_ms, ring_max_ms,
                              memory_order_relaxed);
    atomic_store_explicit(&hub->merge_write_ms, merge_write_ms,
                          memory_order_relaxed);
    atomic_store_explicit(&hub->gop_cache, gop_cache, memory_order_relaxed);
}

int
sl_hub_add_observer(struct sl_hub *hub, sl_hub_observer_fn fn, void *ctx)
{
    if (hub->nobservers == SL_HUB_MAX_OBSERVERS)
        return -ENOSPC;
    hub->observers[hub->nobservers].fn = fn;
    hub->observers[hub->nobservers].ctx = ctx;
    hub->nobservers++;
    return 0;
}

/* Observers are registered before any thread publishes, so the array is
 * read without a lock. */
static void
notify_ev(struct sl_hub *hub, const struct sl_hub_event *ev)
{
    for (int i = 0; i < hub->nobservers; i++)
        hub->observers[i].fn(hub->observers[i].ctx, ev);
}

static void
notify(struct sl_hub *hub, enum sl_hub_event_kind kind, const char *app,
       const char *name, int derived)
{
    struct sl_hub_event ev = {kind, app, name, derived, 0, 0};

    for (int i = 0; i < hub->nobservers; i++)
        hub->observers[i].fn(hub->observers[i].ctx, &ev);
}

/* backup: sl_hub_publish_backup (a standby may join, or this one may
 * become it).  0 primary, 1 standby, or -errno. */
static int
publish(struct sl_hub *hub, const char *app, const char *name,
        const void *publisher, int derived, int backup, uint64_t id,
        uint32_t ingest_ms, struct sl_stream **out)
{
    struct sl_stream *s;
    int               rc = 0;

    pthread_mutex_lock(&hub->lock);
    s = get_stream(hub, app, name);
    if (s == NULL) {
        pthread_mutex_unlock(&hub->lock);
        return -ENOMEM;
    }
    pthread_mutex_lock(&s->lock);
    if (s->publisher != NULL) {
        rc = -EBUSY;
        if (backup && s->backup && s->sb.who == NULL) {
            s->sb.who = publisher;
            s->sb.id = id;
            s->ingest_ms = ingest_ms;
            *out = s;
            rc = 1;
        }
    } else {
        s->publisher = publisher;
        s->backup = (uint8_t) backup;
        s->pub_id = id;
        s->ingest_ms = ingest_ms;
        s->pub_last_ms = sl_now_ms();
        s->need_key = 0;
        s->derived = (uint8_t) derived;
        atomic_store_explicit(&s->live, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->publish_gen, 1, memory_order_relaxed);
        s->have_ts = 0;
        caches_clear(s);
        *out = s;
    }
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_unlock(&hub->lock);
    /* s stays: the new publisher holds it. */
    if (rc == 0)
        notify(hub, SL_HUB_PUBLISH, app, name, derived);
    return rc;
}

int
sl_hub_publish(struct sl_hub *hub, const char *app, const char *name,
               const void *publisher, struct sl_stream **out)
{
    return publish(hub, app, name, publisher, 0, 0, 0, 0, out);
}

int
sl_hub_publish_backup(struct sl_hub *hub, const char *app, const char *name,
                      const void *publisher, uint64_t id, uint32_t ingest_ms,
                      struct sl_stream **out)
{
    return publish(hub, app, name, publisher, 0, 1, id, ingest_ms, out);
}

int
sl_hub_publish_derived(struct sl_hub *hub, const char *app,
                       const char *name, const void *publisher,
                       struct sl_stream **out)
{
    return publish(hub, app, name, publisher, 1, 0, 0, 0, out);
}

/* Wakes every subscriber.  Stream lock held. */
static void
wake_all(struct sl_stream *s, uint64_t now_ms)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &s->subs)
    {
        struct sl_sub *sub = sl_list_entry(pos, struct sl_sub, link);

        sl_task_wake(sub->task);
    }
    s->flush_pending = 0;
    s->last_flush_ms = now_ms;
}

static void take_over(struct sl_stream *s, uint64_t now_ms,
                      const void *demoted);

void
sl_hub_unpublish(struct sl_stream *s, const void *publisher)
{
    struct sl_hub  *hub = s->hub;
    struct sl_list *pos, *tmp;
    char            app[SL_NAME_MAX], name[SL_NAME_MAX];
    int             derived;
    uint64_t        now;

    pthread_mutex_lock(&hub->lock);
    pthread_mutex_lock(&s->lock);
    if (s->publisher != publisher || s->sb.who != NULL) {
        now = sl_now_ms();
        if (s->publisher == publisher) {
            /* The standby goes on where this one stopped: for players,
             * taps and observers the publication never ends. */
            take_over(s, now, NULL);
        } else if (s->sb.who == publisher) {
            sl_log_info("%s/%s: standby publisher c%llu left", s->app, s->name,
                        (unsigned long long) s->sb.id);
            sb_forget(&s->sb);
        }
        pthread_mutex_unlock(&s->lock);
        pthread_mutex_unlock(&hub->lock);
        return;
    }
    now = sl_now_ms();
    s->publisher = NULL;
    atomic_store_explicit(&s->unpublished_ms, now, memory_order_relaxed);
    atomic_store_explicit(&s->live, 0, memory_order_relaxed);
    caches_clear(s);
    wake_all(s, now);
    sl_list_foreach_safe(pos, tmp, &s->taps)
    {
        struct sl_tap *t = sl_list_entry(pos, struct sl_tap, link);

        if (t->on_end != NULL)
            t->on_end(t);
    }
    /* The stream may be freed below; the observers get copies. */
    memcpy(app, s->app, sizeof(app));
    memcpy(name, s->name, sizeof(name));
    derived = s->derived;
    pthread_mutex_unlock(&s->lock);
    maybe_free_stream(s);
    pthread_mutex_unlock(&hub->lock);
    notify(hub, SL_HUB_UNPUBLISH, app, name, derived);
}

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
        sl_log_warn("stream %s/%s: timestamp jump of %lld ms corrected",
                    s->app, s->name, (long long) step);
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

/* Evicts entries more than ring_max_ms behind the newest media, except
 * the cached GOP and the newest entry.  Nobody can need them: a player
 * that far behind skips anyway.  Unsigned differences: correct across
 * the 32-bit wrap; an entry slightly ahead of the newest media (audio
 * and video interleave) counts as new.  Stream lock held. */
static void
ring_trim_age(struct sl_stream *s)
{
    uint32_t ms = atomic_load_explicit(&s->hub->ring_max_ms,
                                       memory_order_relaxed);

    if (ms == 0 || !s->have_media)
        return;
    while (s->ring_head - s->ring_tail > 1) {
        struct ring_ent *e = &s->ring[s->ring_tail & s->ring_mask];
        uint32_t         age = s->media_ts - e->ts;

        if ((s->gop_ok && s->ring_tail >= s->gop_seq) || age <= ms ||
            age >= 0x80000000u)
            break;
        ring_evict(s);
    }
}

/* Appends wire to the ring, evicting the oldest entries to stay within
 * the bound, and keeps the GOP, sync and header marks.  Stream lock
 * held. */
static void
ring_append(struct sl_stream *s, struct sl_buf *wire, uint32_t ts,
            uint32_t flags, int keyframe)
{
    const struct sl_hub_limits *lim = &s->hub->lim;
    uint64_t                    seq = s->ring_head;

    while (s->ring_head - s->ring_tail > s->ring_mask ||
           (s->ring_tail != s->ring_head &&
            s->ring_bytes + wire->len > lim->ring_max_bytes))
        ring_evict(s);
    s->ring[seq & s->ring_mask] =
        (struct ring_ent){sl_buf_ref(wire), ts, flags};
    s->ring_head++;
    s->ring_bytes += wire->len;

    if (flags & SL_OUT_KEEP) {
        s->have_hdr = 1;
        s->hdr_seq = seq;
    }
    if (flags & SL_OUT_MEDIA) {
        s->have_media = 1;
        s->media_ts = ts;
        atomic_store_explicit(&s->head_ts, ts, memory_order_relaxed);
    }
    if (flags & SL_OUT_SYNC) {
        s->have_sync = 1;
        s->sync_seq = seq;
        s->sync_ts = ts;
    }
    if (keyframe) {
        /* A reload that turned the cache off takes effect here. */
        s->gop_ok = atomic_load_explicit(&s->hub->gop_cache,
                                         memory_order_relaxed) != 0;
        s->gop_seq = seq;
        s->gop_msgs = 1;
        s->gop_bytes = wire->len;
    } else if (s->gop_ok) {
        s->gop_msgs++;
        s->gop_bytes += wire->len;
        /* Too long to cache: late joiners wait for the next keyframe. */
        if (s->gop_msgs > lim->gop_max_msgs ||
            s->gop_bytes > lim->gop_max_bytes)
            s->gop_ok = 0;
    }
    ring_trim_age(s);
}

/* Wakes subscribers for a new ring entry: at once with no merge window,
 * otherwise at most once per window.  Stream lock held. */
static void
fan_out(struct sl_stream *s, uint64_t now_ms)
{
    struct sl_list *pos, *tmp;
    uint32_t        merge = atomic_load_explicit(&s->hub->merge_write_ms,
                                                 memory_order_relaxed);

    if (merge == 0) {
        sl_list_foreach_safe(pos, tmp, &s->subs)
        {
            struct sl_sub *sub = sl_list_entry(pos, struct sl_sub, link);

            sl_task_wake(sub->task);
        }
        return;
    }
    s->flush_pending = 1;
    if (now_ms - s->last_flush_ms >= merge)
        wake_all(s, now_ms);
}

/* Replaces a cached body and its timestamp.  Stream lock held. */
static void
cache_body(struct sl_buf **slot, int64_t *ts_slot, struct sl_buf *b,
           int64_t ts)
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

/* One incoming message, classified before the stream lock is taken. */
struct msg_in {
    uint8_t            type;
    uint32_t           csid;
    int                track;   /* 0 audio, 1 video, -1 data */
    int                is_meta; /* onMetaData (body holds it) */
    struct sl_flv_info info;
    struct sl_buf     *payload; /* as the publisher sent it */
    struct sl_buf     *body;    /* converted metadata, owned, or NULL */
    struct sl_buf     *msg;     /* what players and taps get */
};

/* Classifies payload.  1 when it is to be passed on (release m->body
 * afterwards), 0 when it is not (another type, unreadable metadata). */
static int
msg_prepare(uint8_t type, struct sl_buf *payload, struct msg_in *m)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->track = -1;
    m->payload = payload;
    sl_flv_inspect(type, payload->data, payload->len, &m->info);
    if (type == SL_MSG_DATA_AMF0) {
        m->body = metadata_body(payload, &m->is_meta);
        if (m->is_meta && m->body == NULL)
            return 0;  /* unreadable metadata: not worth ending anything */
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
 * the ring, and hands it to taps.  Stream lock held.  0 or -ENOMEM. */
static int
deliver(struct sl_stream *s, const struct msg_in *m, uint32_t ts,
        uint64_t now_ms)
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
        cache_body(&s->meta_pl, &s->meta_ts, msg, out);
    } else if (info->seq_header) {
        flags = SL_OUT_KEEP;
        if (info->video) {
            s->has_video = 1;
            sl_buf_unref(s->vseq);
            s->vseq = sl_buf_ref(wire);
            cache_body(&s->vseq_pl, &s->vseq_ts, msg, out);
        } else {
            sl_buf_unref(s->aseq);
            s->aseq = sl_buf_ref(wire);
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
    ring_append(s, wire, (uint32_t) out, flags,
                info->video && !info->seq_header && info->keyframe);
    fan_out(s, now_ms);
    feed_taps(s, m->type, out, msg);
    sl_buf_unref(wire);
    return 0;
}

/* Keeps one message of the standby: the newest metadata and headers,
 * and the GOP since its last video keyframe (audio and data only with
 * video: without it any audio frame is a place to start, so a takeover
 * needs none kept).  Stream lock held. */
static void
sb_keep(struct sl_stream *s, const struct msg_in *m, uint32_t ts)
{
    const struct sl_hub_limits *lim = &s->hub->lim;
    struct standby             *sb = &s->sb;
    struct sb_ent              *slot = NULL;

    sb->have_ts = 1;
    sb->last_ts = ts;
    if (m->is_meta)
        slot = &sb->hdr[0];
    else if (m->info.seq_header)
        slot = &sb->hdr[m->info.video ? 1 : 2];
    if (slot != NULL) {
        if (m->info.video)
            sb->has_video = 1;
        sl_buf_unref(slot->pl);
        *slot = (struct sb_ent){sl_buf_ref(m->payload), ts, m->type};
        return;
    }
    if (m->info.video && m->info.keyframe) {
        sb_gop_clear(sb);
        sb->gop_ok = 1;
        sb->has_video = 1;
    }
    if (!sb->gop_ok || !sb->has_video)
        return;
    if (sb->n >= lim->gop_max_msgs ||
        sb->bytes + m->payload->len > lim->gop_max_bytes) {
        sb_gop_clear(sb); /* too long: wait for the next keyframe */
        return;
    }
    if (sb->n == sb->cap) {
        uint32_t       ncap = sb->cap ? 2 * sb->cap : 64;
        struct sb_ent *nv;

        if (ncap > lim->gop_max_msgs)
            ncap = lim->gop_max_msgs;
        nv = realloc(sb->gop, (size_t) ncap * sizeof(*nv));
        if (nv == NULL) {
            sb_gop_clear(sb);
            return;
        }
        sb->gop = nv;
        sb->cap = ncap;
    }
    sb->gop[sb->n++] = (struct sb_ent){sl_buf_ref(m->payload), ts, m->type};
    sb->bytes += m->payload->len;
}

/* Delivers one kept message of a standby that took over.  Stream lock
 * held. */
static void
replay(struct sl_stream *s, const struct sb_ent *e, uint32_t ts,
       uint64_t now_ms)
{
    struct msg_in m;

    if (e->pl == NULL || !msg_prepare(e->type, e->pl, &m))
        return;
    deliver(s, &m, ts, now_ms); /* -ENOMEM: that message is lost */
    sl_buf_unref(m.body);
}

/* The standby becomes the primary; demoted (the old primary, which
 * stalled) becomes the standby, or nobody when NULL (the primary
 * left).  Players, taps and observers see no end: the ring goes on with
 * the standby's metadata and headers, then its GOP from its last
 * keyframe, on the same timeline (a new publication's first message
 * continues right after the last one out).  Stream lock held. */
static void
take_over(struct sl_stream *s, uint64_t now_ms, const void *demoted)
{
    struct standby sb = s->sb; /* moved out: the slot may be refilled */
    uint64_t       old_id = s->pub_id;
    uint64_t       gap = now_ms > s->pub_last_ms ? now_ms - s->pub_last_ms : 0;
    uint32_t       base;

    memset(&s->sb, 0, sizeof(s->sb));
    s->publisher = sb.who;
    s->pub_id = sb.id;
    if (demoted != NULL) {
        s->sb.who = demoted;
        s->sb.id = old_id;
    }
    /* Late joiners and skips must start from the new primary's headers
     * and keyframes; the ring entries stay for players reading them. */
    caches_clear(s);
    s->have_ts = 0;
    s->need_key = 1;
    /* The headers go out with the time of the frames that follow them,
     * so the new offset is taken from where the media starts. */
    base = sb.n > 0 ? sb.gop[0].ts : sb.last_ts;
    for (int i = 0; i < 3; i++)
        replay(s, &sb.hdr[i], base, now_ms);
    for (uint32_t i = 0; i < sb.n; i++)
        replay(s, &sb.gop[i], sb.gop[i].ts, now_ms);
    wake_all(s, now_ms);
    atomic_fetch_add(&s->hub->takeovers, 1);
    if (demoted != NULL)
        sl_log_info("%s/%s: standby c%llu took over after primary c%llu "
                    "sent no media for %llu ms (%u kept messages); c%llu "
                    "is the standby now",
                    s->app, s->name, (unsigned long long) sb.id,
                    (unsigned long long) old_id, (unsigned long long) gap, sb.n,
                    (unsigned long long) old_id);
    else
        sl_log_info("%s/%s: standby c%llu took over after primary c%llu "
                    "left (gap %llu ms, %u kept messages)",
                    s->app, s->name, (unsigned long long) sb.id,
                    (unsigned long long) old_id, (unsigned long long) gap,
                    sb.n);
    sb_forget(&sb);
}

/* publisher NULL: the caller is the publisher (no check). */
static int
ingest(struct sl_stream *s, const void *publisher, uint8_t type, uint32_t ts,
       struct sl_buf *payload, uint64_t now_ms)
{
    struct sl_hub *hub = s->hub;
    struct msg_in  m;
    int            rc = 0;

    atomic_fetch_add_explicit(&hub->msgs_in, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hub->bytes_in, payload->len,
                              memory_order_relaxed);
    if (!msg_prepare(type, payload, &m))
        return 0;

    pthread_mutex_lock(&s->lock);
    if (publisher != NULL && s->publisher != publisher) {
        if (s->sb.who != publisher) {
            rc = -EPERM; /* replaced, then dropped: nobody's now */
        } else if (s->ingest_ms == 0 || now_ms <= s->pub_last_ms ||
                   now_ms - s->pub_last_ms < s->ingest_ms) {
            sb_keep(s, &m, ts);
            publisher = NULL; /* kept, not delivered */
        } else {
            /* The primary is silent: judged here, where the standby's
             * own media proves the standby alive, on the stream's clock
             * of the primary's last message. */
            take_over(s, now_ms, s->publisher);
        }
        if (rc < 0 || publisher == NULL) {
            pthread_mutex_unlock(&s->lock);
            sl_buf_unref(m.body);
            return rc;
        }
    }
    rc = deliver(s, &m, ts, now_ms);
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

uint64_t
sl_hub_flush(struct sl_stream *s, uint64_t now_ms)
{
    uint64_t due = 0;
    uint32_t merge = atomic_load_explicit(&s->hub->merge_write_ms,
                                          memory_order_relaxed);

    pthread_mutex_lock(&s->lock);
    if (s->flush_pending) {
        if (now_ms - s->last_flush_ms >= merge)
            wake_all(s, now_ms);
        else
            due = s->last_flush_ms + merge;
    }
    pthread_mutex_unlock(&s->lock);
    return due;
}

/* Queues the metadata and codec headers into sub's private queue.
 * Stream lock held. */
static void
push_headers(struct sl_stream *s, struct sl_sub *sub)
{
    if (s->meta != NULL)
        sl_outq_push(sub->q, s->meta, 0, SL_OUT_KEEP);
    if (s->vseq != NULL)
        sl_outq_push(sub->q, s->vseq, 0, SL_OUT_KEEP);
    if (s->aseq != NULL)
        sl_outq_push(sub->q, s->aseq, 0, SL_OUT_KEEP);
}

/* Places a new subscriber's cursor: on the cached GOP's keyframe, after
 * the headers; without a GOP, at the head, waiting for a sync point
 * when the stream has video (or has no publisher yet).  Stream lock
 * held. */
static void
place_cursor(struct sl_stream *s, struct sl_sub *sub)
{
    sub->next = s->ring_head;
    sub->synced_at = s->ring_head;
    sub->wait_sync = 0;
    sub->skip_wait = 0;
    if (s->publisher == NULL) {
        /* A player that arrives before any publisher starts at the first
         * keyframe the publisher sends. */
        sub->wait_sync = 1;
        return;
    }
    push_headers(s, sub);
    if (s->gop_ok)
        sub->next = s->gop_seq;
    else if (s->has_video)
        sub->wait_sync = 1;
}

int
sl_hub_subscribe(struct sl_hub *hub, const char *app, const char *name,
                 struct sl_sub *sub)
{
    struct sl_stream   *s;
    struct sl_hub_event ev = {SL_HUB_SUBSCRIBE, app, name, 0, 0, 0};

    pthread_mutex_lock(&hub->lock);
    s = get_stream(hub, app, name);
    if (s == NULL) {
        pthread_mutex_unlock(&hub->lock);
        return -ENOMEM;
    }
    pthread_mutex_lock(&s->lock);
    sub->stream = s;
    sl_list_insert_tail(&s->subs, &sub->link);
    s->nsubs++;
    place_cursor(s, sub);
    ev.derived = s->derived;
    ev.live = s->publisher != NULL;
    ev.subscribers = s->nsubs;
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(&hub->nsubs, 1);
    pthread_mutex_unlock(&hub->lock);
    notify_ev(hub, &ev);
    return 0;
}

void
sl_hub_unsubscribe(struct sl_sub *sub)
{
    struct sl_stream   *s = sub->stream;
    struct sl_hub      *hub;
    struct sl_hub_event ev = {SL_HUB_UNSUBSCRIBE, NULL, NULL, 0, 0, 0};
    char                app[SL_NAME_MAX], name[SL_NAME_MAX];

    if (s == NULL)
        return;
    hub = s->hub;
    pthread_mutex_lock(&hub->lock);
    pthread_mutex_lock(&s->lock);
    sl_list_remove(&sub->link);
    s->nsubs--;
    memcpy(app, s->app, sizeof(app));
    memcpy(name, s->name, sizeof(name));
    ev.derived = s->derived;
    ev.live = s->publisher != NULL;
    ev.subscribers = s->nsubs;
    pthread_mutex_unlock(&s->lock);
    sub->stream = NULL;
    atomic_fetch_sub(&hub->nsubs, 1);
    maybe_free_stream(s);
    pthread_mutex_unlock(&hub->lock);
    ev.app = app;
    ev.name = name;
    notify_ev(hub, &ev);
}

int
sl_hub_tap(struct sl_hub *hub, const char *app, const char *name,
           struct sl_tap *tap)
{
    struct sl_stream *s;

    pthread_mutex_lock(&hub->lock);
    s = get_stream(hub, app, name);
    if (s == NULL) {
        pthread_mutex_unlock(&hub->lock);
        return -ENOMEM;
    }
    pthread_mutex_lock(&s->lock);
    tap->stream = s;
    sl_list_insert_tail(&s->taps, &tap->link);
    s->ntaps++;
    if (s->publisher != NULL) {
        if (s->meta_pl != NULL)
            tap->on_media(tap, SL_MSG_DATA_AMF0, s->meta_ts, s->meta_pl);
        if (s->vseq_pl != NULL)
            tap->on_media(tap, SL_MSG_VIDEO, s->vseq_ts, s->vseq_pl);
        if (s->aseq_pl != NULL)
            tap->on_media(tap, SL_MSG_AUDIO, s->aseq_ts, s->aseq_pl);
    }
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_unlock(&hub->lock);
    return 0;
}

void
sl_hub_untap(struct sl_tap *tap)
{
    struct sl_stream *s = tap->stream;
    struct sl_hub    *hub;

    if (s == NULL)
        return;
    hub = s->hub;
    pthread_mutex_lock(&hub->lock);
    pthread_mutex_lock(&s->lock);
    sl_list_remove(&tap->link);
    s->ntaps--;
    pthread_mutex_unlock(&s->lock);
    tap->stream = NULL;
    maybe_free_stream(s);
    pthread_mutex_unlock(&hub->lock);
}

/* Oldest unsent media at or after the cursor is more than max_lag behind
 * the newest.  Unsigned differences: correct across the 32-bit wrap.
 * Stream lock held. */
static int
lagging(struct sl_stream *s, struct sl_sub *sub)
{
    if (!s->have_media)
        return 0;
    for (uint64_t q = sub->next; q != s->ring_head; q++) {
        struct ring_ent *e = &s->ring[q & s->ring_mask];
        uint32_t         d;

        if (!(e->flags & SL_OUT_MEDIA))
            continue;
        d = s->media_ts - e->ts;
        return d > sub->max_lag_ms && d < 0x80000000u;
    }
    return 0;
}

/* The subscriber fell behind: it goes to the newest sync point when that
 * one is itself within max_lag, otherwise to the head to wait for the
 * next.  Codec headers it passed over are re-queued privately (all of
 * them when the ring no longer tells which).  Stream lock held. */
static void
skip_ahead(struct sl_stream *s, struct sl_sub *sub)
{
    uint64_t to = s->ring_head;
    int      wait = 1;

    if (s->have_sync && s->sync_seq >= sub->next &&
        (uint32_t) (s->media_ts - s->sync_ts) <= sub->max_lag_ms) {
        to = s->sync_seq;
        wait = 0;
    }
    if (sub->next < s->ring_tail ||
        (s->have_hdr && s->hdr_seq >= sub->next && s->hdr_seq < to))
        push_headers(s, sub);
    /* Count the media passed over, for the API (at most the ring). */
    for (uint64_t q = sub->next < s->ring_tail ? s->ring_tail : sub->next;
         q < to; q++)
        if (s->ring[q & s->ring_mask].flags & SL_OUT_MEDIA)
            sub->dropped++;
    sub->next = to;
    sub->synced_at = to;
    sub->wait_sync = (uint8_t) wait;
    sub->skip_wait = (uint8_t) wait;
    sub->skips++;
}

int
sl_sub_collect(struct sl_sub *sub, struct sl_sub_msg *msgs, int max)
{
    struct sl_stream *s = sub->stream;
    int               n = 0;

    if (s == NULL)
        return 0;
    pthread_mutex_lock(&s->lock);
    if (sub->wait_sync) {
        /* Waiting for a sync point is not falling behind: no skip is
         * counted, the cursor just never points at evicted entries. */
        if (sub->next < s->ring_tail) {
            push_headers(s, sub);
            sub->next = s->ring_tail;
        }
    } else if (sub->next < s->ring_tail || lagging(s, sub)) {
        skip_ahead(s, sub);
    }
    while (sub->next != s->ring_head && n < max) {
        struct ring_ent *e = &s->ring[sub->next & s->ring_mask];

        if (sub->wait_sync) {
            if (e->flags & SL_OUT_SYNC) {
                sub->wait_sync = 0;
                sub->skip_wait = 0;
                sub->synced_at = sub->next;
            } else if (!(e->flags & SL_OUT_KEEP)) {
                /* After a skip, what waits for the keyframe is lost
                 * too; a joiner's wait is not counted. */
                if (sub->skip_wait && (e->flags & SL_OUT_MEDIA))
                    sub->dropped++;
                sub->next++;
                continue;
            }
        }
        msgs[n++] = (struct sl_sub_msg){sl_buf_ref(e->wire), sub->next,
                                         e->ts, e->flags};
        sub->next++;
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

void
sl_sub_rewind(struct sl_sub *sub, uint64_t seq)
{
    struct sl_stream *s = sub->stream;

    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    /* Back before the sync point that ended a wait: the dropped entries
     * before it must stay dropped. */
    if (seq < sub->synced_at)
        sub->wait_sync = 1;
    sub->next = seq;
    pthread_mutex_unlock(&s->lock);
}

void
sl_hub_stream_state(struct sl_stream *s, struct sl_stream_state *st)
{
    st->live = atomic_load_explicit(&s->live, memory_order_relaxed);
    st->publish_gen =
        atomic_load_explicit(&s->publish_gen, memory_order_relaxed);
    st->unpublished_ms =
        atomic_load_explicit(&s->unpublished_ms, memory_order_relaxed);
}

uint32_t
sl_hub_stream_head_ts(struct sl_stream *s)
{
    return atomic_load_explicit(&s->head_ts, memory_order_relaxed);
}

/* Whether APP/NAME has a publisher, and how many players it has. */
static void
stream_facts(struct sl_hub *hub, const char *app, const char *name,
             int *live, uint32_t *subs)
{
    struct sl_stream *s;

    *live = 0;
    *subs = 0;
    pthread_mutex_lock(&hub->lock);
    s = find_stream(hub, app, name);
    if (s != NULL) {
        pthread_mutex_lock(&s->lock);
        *live = s->publisher != NULL;
        *subs = s->nsubs;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&hub->lock);
}

uint64_t
sl_hub_standby_id(struct sl_hub *hub, const char *app, const char *name)
{
    struct sl_stream *s;
    uint64_t          id = 0;

    pthread_mutex_lock(&hub->lock);
    s = find_stream(hub, app, name);
    if (s != NULL) {
        pthread_mutex_lock(&s->lock);
        id = s->sb.who != NULL ? s->sb.id : 0;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&hub->lock);
    return id;
}

int
sl_hub_is_live(struct sl_hub *hub, const char *app, const char *name)
{
    int      live;
    uint32_t subs;

    stream_facts(hub, app, name, &live, &subs);
    return live;
}

uint32_t
sl_hub_subscribers(struct sl_hub *hub, const char *app, const char *name)
{
    int      live;
    uint32_t subs;

    stream_facts(hub, app, name, &live, &subs);
    return subs;
}

void
sl_hub_stats(struct sl_hub *hub, struct sl_hub_stats *out)
{
    out->streams = atomic_load(&hub->nstreams);
    out->subscribers = atomic_load(&hub->nsubs);
    out->messages_in = atomic_load(&hub->msgs_in);
    out->bytes_in = atomic_load(&hub->bytes_in);
    out->timestamp_fixes = atomic_load(&hub->ts_fixes);
    out->takeovers = atomic_load(&hub->takeovers);
}

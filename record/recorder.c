/*
 * The recorder: hub observer, taps and the one writer thread (see
 * recorder.h).
 *
 * Why one writer thread for every recording rather than one each: a
 * tag write is an append into the page cache, microseconds, so one
 * thread keeps up with many streams, and the ladder's rungs (up to 8
 * per source) would otherwise add a mostly idle thread each.  A slow or
 * full disk shows up as each recording's own bounded queue filling and
 * dropping, never as a wait on the media path.  The cost: a write that
 * blocks for long (a hung network filesystem) holds up the recordings
 * on other disks too.
 *
 * A recording's life: the PUBLISH event creates it and taps the stream
 * (the hub replays the cached metadata and codec headers to a tap that
 * joins a live stream).  The writer opens a file at the first keyframe
 * (record/segment.h), writes the FLV header, onMetaData and the codec
 * headers, then every frame.  on_end (the publisher left) or the
 * recorder's stop marks it ended; the writer writes what is queued,
 * closes the file, untaps and frees it.  A write error closes the file
 * (cut back to its last whole tag) and marks the recording failed: the
 * tap then drops everything until the stream ends, and the next publish
 * of the stream starts a new recording.
 */
#include "record/recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pool/clock.h"
#include "pool/queue.h"
#include "record/flvw.h"
#include "record/recq.h"
#include "record/segment.h"
#include "rtmp/amf.h"
#include "rtmp/rtmp.h"
#include "server/log.h"
#include "rtmp/rd.h"

/* Audio held for the audio-only decision, at most (about 1 s of it). */
#define MAX_HELD 256
/* Drops are logged at most this often per recording. */
#define DROP_LOG_MS 10000
/* Names tried with -1, -2, ... when the file exists. */
#define MAX_NAME_TRIES 100

struct rec {
    struct sl_list      link; /* in r->recs (recorder lock) */
    struct sl_recorder *r;
    struct sl_tap       tap;
    char                app[SL_NAME_MAX], name[SL_NAME_MAX];
    char                dir[512];

    /* Recorder lock. */
    struct sl_recq q;
    int            ended;          /* no more messages will be queued */
    int            failed;         /* the writer gave up: drop everything */
    char           path[PATH_MAX]; /* current or last file (stats) */

    /* The writer thread's own. */
    int            fd;  /* -1: no file open */
    off_t          off; /* bytes in the file, whole tags only */
    struct sl_seg  seg;
    struct sl_buf *meta, *vseq, *aseq;    /* latest, for the next file */
    struct sl_buf *file_vseq, *file_aseq; /* what the open file carries */
    struct sl_list held;                  /* audio awaiting the decision */
    int            nheld;
    int            gave_up;
    uint64_t       drops_logged, drop_log_ms;

    /* Written by the writer, read by sl_recorder_stats. */
    atomic_int    state; /* enum sl_rec_state */
    atomic_ullong bytes, files;
};

struct sl_recorder {
    struct sl_hub  *hub;
    pthread_t       writer;
    pthread_mutex_t lock;
    pthread_cond_t  cond;
    struct sl_list  recs;
    int             idle;    /* the writer waits: a push wakes it */
    int             stopped; /* sl_recorder_free began */
};

static struct rec *
tap_rec(struct sl_tap *tap)
{
    return (struct rec *) ((char *) tap - offsetof(struct rec, tap));
}

/* ---- the publisher's side: tap callbacks, stream lock held ---------- */

static void
wake(struct sl_recorder *r)
{
    if (r->idle) {
        r->idle = 0;
        pthread_cond_signal(&r->cond);
    }
}

static void
tap_media(struct sl_tap *tap, uint8_t type, int64_t ts, struct sl_buf *b)
{
    struct rec         *w = tap_rec(tap);
    struct sl_recorder *r = w->r;

    pthread_mutex_lock(&r->lock);
    if (!w->ended && !w->failed && sl_recq_push(&w->q, type, ts, b) > 0)
        wake(r);
    pthread_mutex_unlock(&r->lock);
}

static void
tap_end(struct sl_tap *tap)
{
    struct rec         *w = tap_rec(tap);
    struct sl_recorder *r = w->r;

    pthread_mutex_lock(&r->lock);
    w->ended = 1;
    wake(r);
    pthread_mutex_unlock(&r->lock);
}

/* ---- the writer thread ---------------------------------------------- */

static void
set_ref(struct sl_buf **slot, struct sl_buf *b)
{
    struct sl_buf *old = *slot;

    *slot = b != NULL ? sl_buf_ref(b) : NULL;
    sl_buf_unref(old);
}

static int
same(const struct sl_buf *a, const struct sl_buf *b)
{
    return a != NULL && b != NULL && a->len == b->len &&
           !memcmp(a->data, b->data, a->len);
}

static void
close_file(struct rec *w)
{
    if (w->fd < 0)
        return;
    /* Tags go out without a sync (a killed process loses nothing the
     * kernel has); a finished segment is made durable once, so a power
     * loss cannot take a file that was already complete. */
    if (fdatasync(w->fd) < 0)
        sl_log_warn("recording %s/%s: cannot sync %s: %s", w->app, w->name,
                    w->path, strerror(errno));
    close(w->fd);
    w->fd = -1;
    sl_log_info("recording %s/%s: closed %s (%lld bytes)", w->app, w->name,
                w->path, (long long) w->off);
    set_ref(&w->file_vseq, NULL);
    set_ref(&w->file_aseq, NULL);
}

/* Stops the recording after an error: one log line, the file cut back
 * to its last whole tag and closed, and the tap told to drop. */
static void
give_up(struct rec *w, const char *what, int err)
{
    sl_log_error("recording %s/%s: %s %s: %s; recording stopped", w->app,
                 w->name, what, w->path, strerror(err));
    if (w->fd >= 0) {
        /* Best effort: a file ending on a whole tag is tidier, though
         * readers cope with a torn one too. */
        if (ftruncate(w->fd, w->off) < 0)
            sl_log_debug("recording %s/%s: cannot truncate %s", w->app, w->name,
                         w->path);
        close(w->fd);
        w->fd = -1;
    }
    sl_seg_closed(&w->seg);
    sl_recq_free_list(&w->held);
    w->nheld = 0;
    w->gave_up = 1;
    atomic_store(&w->state, SL_REC_FAILED);
    pthread_mutex_lock(&w->r->lock);
    w->failed = 1;
    sl_recq_clear(&w->q);
    pthread_mutex_unlock(&w->r->lock);
}

/* Writes one tag at ts (the stream's timeline) relative to the file's
 * start; earlier timestamps (audio a little ahead of the keyframe that
 * opened the file) become 0.  0, or -1 after giving up. */
static int
put_tag(struct rec *w, uint8_t type, int64_t ts, const struct sl_buf *b)
{
    int64_t rel = ts - w->seg.start_ts;
    int     rc;

    if (rel < 0)
        rel = 0;
    rc = sl_flvw_write_tag(w->fd, type, (uint32_t) rel, b->data, b->len);
    if (rc == -EMSGSIZE) {
        sl_log_debug("recording %s/%s: a %u-byte message does not fit an "
                     "FLV tag; left out",
                     w->app, w->name, b->len);
        return 0;
    }
    if (rc < 0) {
        give_up(w, "cannot write", -rc);
        return -1;
    }
    w->off += SL_FLV_TAG_HDR + b->len + SL_FLV_TAG_TAIL;
    atomic_fetch_add_explicit(&w->bytes,
                              SL_FLV_TAG_HDR + b->len + SL_FLV_TAG_TAIL,
                              memory_order_relaxed);
    return 0;
}

/* onMetaData with only the encoder's name, for a stream that sent no
 * metadata: every file starts with one. */
static struct sl_buf *
minimal_metadata(void)
{
    uint8_t      tmp[128];
    struct sl_wr wr;

    sl_wr_init(&wr, tmp, sizeof(tmp));
    sl_amf_put_string(&wr, "onMetaData");
    sl_amf_put_ecma_start(&wr, 1);
    sl_amf_put_key(&wr, "encoder");
    sl_amf_put_string(&wr, "sluice " SL_VERSION);
    sl_amf_put_object_end(&wr);
    return wr.err ? NULL : sl_buf_from(tmp, sl_wr_len(&wr));
}

/* Creates the next file: a free name for now, the FLV header, metadata
 * and codec headers at 0.  0, or -1 after giving up. */
static int
open_file(struct rec *w)
{
    uint8_t        hdr[SL_FLV_FILE_HDR];
    char           path[PATH_MAX] = "";
    time_t         now = time(NULL);
    int            fd = -1, rc;
    struct sl_buf *meta;

    close_file(w);
    for (int n = 0; n < MAX_NAME_TRIES && fd < 0; n++) {
        if (sl_seg_file_name(path, sizeof(path), w->dir, w->app, w->name, now,
                             n) < 0) {
            errno = ENAMETOOLONG;
            break;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    pthread_mutex_lock(&w->r->lock);
    snprintf(w->path, sizeof(w->path), "%s", path);
    pthread_mutex_unlock(&w->r->lock);
    if (fd < 0) {
        give_up(w, "cannot create", errno);
        return -1;
    }
    w->fd = fd;
    w->off = 0;
    sl_flv_file_header(hdr, w->aseq != NULL, w->seg.file_video);
    rc = sl_flvw_write_all(fd, hdr, sizeof(hdr));
    if (rc < 0) {
        give_up(w, "cannot write", -rc);
        return -1;
    }
    w->off = sizeof(hdr);
    atomic_fetch_add(&w->files, 1);
    atomic_fetch_add(&w->bytes, sizeof(hdr));
    atomic_store(&w->state, SL_REC_RECORDING);
    sl_log_info("recording %s/%s to %s", w->app, w->name, path);
    meta = w->meta != NULL ? sl_buf_ref(w->meta) : minimal_metadata();
    if (meta != NULL) {
        rc = put_tag(w, SL_MSG_DATA_AMF0, w->seg.start_ts, meta);
        sl_buf_unref(meta);
        if (rc < 0)
            return -1;
    }
    if (w->seg.file_video && w->vseq != NULL) {
        if (put_tag(w, SL_MSG_VIDEO, w->seg.start_ts, w->vseq) < 0)
            return -1;
        set_ref(&w->file_vseq, w->vseq);
    }
    if (w->aseq != NULL) {
        if (put_tag(w, SL_MSG_AUDIO, w->seg.start_ts, w->aseq) < 0)
            return -1;
        set_ref(&w->file_aseq, w->aseq);
    }
    return 0;
}

/* A codec header: remembered for the next file, and written into the
 * open one when it changes the codec configuration mid-file. */
static void
on_header(struct rec *w, struct sl_recq_item *it)
{
    int             video = it->kind == SL_RECQ_VSEQ;
    struct sl_buf **latest = video ? &w->vseq : &w->aseq;
    struct sl_buf **in_file = video ? &w->file_vseq : &w->file_aseq;

    if (video && !w->seg.has_video) {
        sl_seg_video_header(&w->seg);
        sl_recq_free_list(&w->held); /* the file starts at a keyframe */
        w->nheld = 0;
    }
    set_ref(latest, it->buf);
    if (w->fd >= 0 && (!video || w->seg.file_video) &&
        !same(*in_file, it->buf) && put_tag(w, it->type, it->ts, it->buf) == 0)
        set_ref(in_file, it->buf);
}

static void
hold(struct rec *w, struct sl_recq_item *it)
{
    if (w->nheld == MAX_HELD) {
        struct sl_recq_item *old =
            sl_list_entry(w->held.next, struct sl_recq_item, link);

        sl_list_remove(&old->link);
        sl_recq_item_free(old);
        w->nheld--;
    }
    sl_list_insert_tail(&w->held, &it->link);
    w->nheld++;
}

/* Handles one queued message; takes the item. */
static void
handle(struct rec *w, struct sl_recq_item *it)
{
    enum sl_seg_kind kind;

    if (w->gave_up)
        goto done;
    switch (it->kind) {
    case SL_RECQ_META:
        set_ref(&w->meta, it->buf); /* the next file's */
        goto done;
    case SL_RECQ_VSEQ:
    case SL_RECQ_ASEQ:
        on_header(w, it);
        goto done;
    case SL_RECQ_DATA:
        if (w->fd >= 0)
            put_tag(w, it->type, it->ts, it->buf);
        goto done;
    case SL_RECQ_VKEY:
        kind = SL_SEG_VIDEO_KEY;
        break;
    case SL_RECQ_VIDEO:
        kind = SL_SEG_VIDEO;
        break;
    default:
        kind = SL_SEG_AUDIO;
        break;
    }
    switch (sl_seg_next(&w->seg, kind, it->ts)) {
    case SL_SEG_HOLD:
        hold(w, it);
        return;
    case SL_SEG_OPEN:
        if (open_file(w) < 0)
            goto done;
        while (!sl_list_empty(&w->held) && !w->gave_up) {
            struct sl_recq_item *h =
                sl_list_entry(w->held.next, struct sl_recq_item, link);

            sl_list_remove(&h->link);
            put_tag(w, h->type, h->ts, h->buf);
            sl_recq_item_free(h);
        }
        w->nheld = 0;
        if (!w->gave_up)
            put_tag(w, it->type, it->ts, it->buf);
        break;
    case SL_SEG_WRITE:
        put_tag(w, it->type, it->ts, it->buf);
        break;
    default:
        break;
    }
done:
    sl_recq_item_free(it);
}

static void
log_drops(struct rec *w, uint64_t dropped)
{
    uint64_t now = sl_now_ms();

    if (dropped == w->drops_logged ||
        (w->drop_log_ms != 0 && now - w->drop_log_ms < DROP_LOG_MS))
        return;
    sl_log_warn("recording %s/%s: the disk is not keeping up: %llu frames "
                "dropped (%llu in all)",
                w->app, w->name,
                (unsigned long long) (dropped - w->drops_logged),
                (unsigned long long) dropped);
    w->drops_logged = dropped;
    w->drop_log_ms = now;
}

static void
rec_free(struct rec *w)
{
    sl_recq_clear(&w->q);
    sl_recq_free_list(&w->held);
    sl_buf_unref(w->meta);
    sl_buf_unref(w->vseq);
    sl_buf_unref(w->aseq);
    sl_buf_unref(w->file_vseq);
    sl_buf_unref(w->file_aseq);
    free(w);
}

/* The recording whose turn it is: one with queued messages, or one to
 * finish.  Recorder lock held. */
static struct rec *
next_busy(struct sl_recorder *r)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &r->recs)
    {
        struct rec *w = sl_list_entry(pos, struct rec, link);

        if (!sl_list_empty(&w->q.items) || w->ended || r->stopped)
            return w;
    }
    return NULL;
}

static void *
writer_main(void *arg)
{
    struct sl_recorder *r = arg;

    pthread_mutex_lock(&r->lock);
    for (;;) {
        struct sl_list batch;
        struct rec    *w = next_busy(r);
        uint64_t       dropped;
        int            closing;

        if (w == NULL) {
            if (r->stopped)
                break;
            r->idle = 1;
            pthread_cond_wait(&r->cond, &r->lock);
            r->idle = 0;
            continue;
        }
        /* Round robin: the others come first next time. */
        sl_list_remove(&w->link);
        sl_list_init(&batch);
        sl_recq_take(&w->q, &batch);
        dropped = w->q.dropped;
        /* Ending is decided with the last take under the same lock:
         * the tap queues nothing once ended is set, so the batch holds
         * everything that is left. */
        closing = w->ended || r->stopped;
        if (closing)
            w->ended = 1;
        else
            sl_list_insert_tail(&r->recs, &w->link);
        pthread_mutex_unlock(&r->lock);

        while (!sl_list_empty(&batch)) {
            struct sl_recq_item *it =
                sl_list_entry(batch.next, struct sl_recq_item, link);

            sl_list_remove(&it->link);
            handle(w, it);
        }
        log_drops(w, dropped);
        if (closing) {
            close_file(w);
            if (!w->gave_up)
                atomic_store(&w->state, SL_REC_DONE);
            /* No callback runs once this returns; the stream lock it
             * takes is never taken with the recorder's lock held. */
            sl_hub_untap(&w->tap);
            rec_free(w);
        }
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* ---- the observer ---------------------------------------------------- */

static void
start(struct sl_recorder *r, const struct sl_app_config *app,
      const struct sl_hub_event *ev)
{
    struct rec *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        sl_log_warn("recording %s/%s: out of memory", ev->app, ev->name);
        return;
    }
    w->r = r;
    snprintf(w->app, sizeof(w->app), "%s", ev->app);
    snprintf(w->name, sizeof(w->name), "%s", ev->name);
    snprintf(w->dir, sizeof(w->dir), "%s", app->record_dir);
    sl_recq_init(&w->q, SL_REC_QUEUE_MSGS, SL_REC_QUEUE_BYTES);
    w->fd = -1;
    w->seg.segment_ms =
        app->record_segment_ms > 0 ? app->record_segment_ms : 3600 * 1000;
    sl_list_init(&w->held);
    sl_list_init(&w->link);
    w->tap.on_media = tap_media;
    w->tap.on_end = tap_end;
    /* Tapped before it is listed: the replay of cached headers only
     * queues, and the writer finds the queue once it is listed. */
    if (sl_hub_tap(r->hub, ev->app, ev->name, &w->tap) < 0) {
        sl_log_warn("recording %s/%s: cannot start", ev->app, ev->name);
        rec_free(w);
        return;
    }
    pthread_mutex_lock(&r->lock);
    if (r->stopped) {
        pthread_mutex_unlock(&r->lock);
        sl_hub_untap(&w->tap);
        rec_free(w);
        return;
    }
    sl_list_insert_tail(&r->recs, &w->link);
    wake(r);
    pthread_mutex_unlock(&r->lock);
}

static void
on_event(void *ctx, const struct sl_hub_event *ev)
{
    struct sl_recorder         *r = ctx;
    struct sl_config           *cfg;
    const struct sl_app_config *app;

    /* Recordings hear the end of their stream through their tap. */
    if (ev->kind != SL_HUB_PUBLISH)
        return;
    cfg = sl_config_get();
    app = cfg != NULL ? sl_config_app(cfg, ev->app) : NULL;
    if (app != NULL && app->record_dir[0] != '\0' &&
        (!ev->derived || app->record_renditions))
        start(r, app, ev);
    sl_config_unref(cfg);
}

struct sl_recorder *
sl_recorder_new(struct sl_hub *hub)
{
    struct sl_recorder *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->hub = hub;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    sl_list_init(&r->recs);
    if (pthread_create(&r->writer, NULL, writer_main, r) != 0)
        goto fail;
    if (sl_hub_add_observer(hub, on_event, r) < 0) {
        pthread_mutex_lock(&r->lock);
        r->stopped = 1;
        wake(r);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->writer, NULL);
        goto fail;
    }
    return r;
fail:
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
    return NULL;
}

void
sl_recorder_free(struct sl_recorder *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopped = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->writer, NULL);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

int
sl_recorder_stats(struct sl_recorder *r, struct sl_rec_stats *out, int max)
{
    struct sl_list *pos, *tmp;
    int             n = 0;

    pthread_mutex_lock(&r->lock);
    sl_list_foreach_safe(pos, tmp, &r->recs)
    {
        struct rec          *w = sl_list_entry(pos, struct rec, link);
        struct sl_rec_stats *o = &out[n];

        if (n == max)
            break;
        memset(o, 0, sizeof(*o));
        snprintf(o->app, sizeof(o->app), "%s", w->app);
        snprintf(o->name, sizeof(o->name), "%s", w->name);
        snprintf(o->file, sizeof(o->file), "%s", w->path);
        o->state = atomic_load(&w->state);
        o->bytes = atomic_load(&w->bytes);
        o->files = atomic_load(&w->files);
        o->dropped = w->q.dropped;
        n++;
    }
    pthread_mutex_unlock(&r->lock);
    return n;
}

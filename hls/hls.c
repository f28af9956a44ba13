/*
 * LL-HLS packaging: variants, groups, cutting, and the objects web/
 * asks for (see hls.h).
 */
#include "hls/hls.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/error.h>

#include "hls/disk.h"
#include "hls/mux.h"
#include "hls/segfile.h"
#include "hls/viewers.h"
#include "hls/window.h"
#include "media/flv_av.h"
#include "media/flv_hevc.h"
#include "pool/clock.h"
#include "rtmp/rtmp.h"
#include "server/config.h"
#include "server/log.h"

/* A variant whose publisher has been gone this long is dropped. */
#define REAP_AFTER_MS 60000u
/* Audio-only streams have no keyframes to cut at: segments this long. */
#define AUDIO_SEGMENT_MS 2000
#define PLAYLIST_MAX (256 * 1024)
#define MAX_REPORTS 8

/* The variants of one publish: the source and its rungs. */
struct group {
    struct sl_list link;
    char           app[SL_NAME_MAX];
    char           name[SL_NAME_MAX];
    /* Wall clock minus media time, fixed by the first sample any of the
     * variants gets (0: not yet), so they date media alike. */
    int64_t anchor_ms;
    /* Segment numbers: the wall clock's seconds when the group began,
     * and the media time of the first segment any variant opened
     * (INT64_MIN: none yet).  A variant whose first segment starts
     * there numbers it base_msn, so sNNN names the same media in every
     * variant (the ladder starts its rungs at the source's first
     * keyframe); players such as ffmpeg's match variants by number. */
    uint64_t base_msn;
    int64_t  first_ms;
    int      nvariants;
    uint8_t  warned_align; /* the source's keyframes were found off */
};

/* Within this of the group's first segment, a variant's first segment
 * is the same one (a rung's keyframe carries its source frame's time;
 * segments are at least 100 ms apart). */
#define SAME_START_MS 50

struct sl_hls_variant {
    struct sl_list  link; /* in h->variants */
    struct sl_hls  *h;
    struct group   *g;
    struct sl_tap   tap;
    char            app[SL_NAME_MAX];
    char            name[SL_NAME_MAX];
    uint8_t         is_source;
    pthread_mutex_t lock;

    /* Fixed at creation, from the app's config. */
    uint32_t part_ms;
    uint32_t grace_ms;
    char     disk_dir[600]; /* hls_path/APP/STREAM, "" = memory only */
    struct sl_hls_disk *disk;

    /* Everything below is guarded by lock. */
    struct sl_hls_window win;
    struct sl_list       waiters;
    struct sl_buf       *avcc, *asc; /* the newest codec headers (bodies) */
    uint8_t              headers_changed;
    uint8_t              has_video;      /* the publication has sent video */
    int64_t              first_audio_ms; /* INT64_MIN: none yet */
    int64_t              first_video_ms; /* INT64_MIN: none yet */
    struct sl_hls_mux   *mux;
    uint32_t             init_id;
    struct sl_buf       *init; /* init<init_id>.mp4 */
    char                 codecs[64];
    int                  width, height;
    uint8_t              part_open;
    int64_t              part_start_ms;
    uint8_t              part_independent;
    int64_t              last_ms;     /* newest media time muxed */
    int64_t              last_end_ms; /* where the previous publication ended */
    uint8_t              had_media;
    uint8_t              resumed; /* the next segment follows a publisher gap */
    uint8_t              live;
    uint64_t             gone_ms; /* sl_now_ms when the publisher left */
    uint64_t             frames;
    uint64_t             parts;
    uint8_t              warned;
    uint8_t              disk_dirty; /* media.m3u8 to write again */
    uint8_t              disk_ended; /* media.m3u8 written with its end */
    uint8_t              hevc;       /* avcc holds an hvc1 sequence start */
    /* The open segment's memory file (its parts are written there and
     * sent from it with sendfile); NULL before a segment, or when the
     * kernel refused one (parts stay in plain memory). */
    struct sl_hls_segfile *segfile;
    uint8_t                segfile_warned;
    /* The last media playlist made, and what it was made from: viewers
     * asking with the same query while nothing changed share it. */
    struct sl_buf *pl;
    uint64_t       pl_gen;
    uint8_t        pl_skip, pl_ended;
    char           pl_carry[256];
    int            pl_nrep;
    uint64_t       pl_rep_msn[MAX_REPORTS];
    uint32_t       pl_rep_part[MAX_REPORTS];
    char           pl_rep_uri[MAX_REPORTS][SL_NAME_MAX + 24];
    uint8_t        master_due; /* a segment completed: the master */
    uint8_t        numbered;   /* its first segment has a number */
    /* Earlier init segments that segments in the window may still name
     * (EXT-X-MAP): oldest first, at most one per segment. */
    struct sl_buf *old_init[SL_HLS_MAX_SEGMENTS + 1];
    uint32_t       old_init_id[SL_HLS_MAX_SEGMENTS + 1];
    uint32_t       nold_init;
    /* The headers init was made from (NULL: no such track), so that a
     * new init can tell a new encoding from the same one made again
     * (after a reconnect, or a header sent twice). */
    struct sl_buf *init_avcc, *init_asc;
    uint8_t        init_hevc;
    /* The next segment starts a new encoding (its init's headers differ
     * from the previous init's): it carries EXT-X-DISCONTINUITY. */
    uint8_t new_encoding;
};

struct sl_hls {
    struct sl_hub         *hub;
    pthread_mutex_t        lock;
    struct sl_list         variants;
    struct sl_list         groups;
    uint64_t               last_reap_ms;
    int                    stopping; /* sl_hls_free began: no tick, no reap */
    struct sl_hls_viewers *viewers;
    struct sl_hls_disk    *disk; /* started with the first hls_path */
};

static int64_t
wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- waiters ---------------------------------------------------------- */

static void
fire_waiters(struct sl_hls_variant *v)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &v->waiters)
    {
        struct sl_hls_waiter *wt =
            sl_list_entry(pos, struct sl_hls_waiter, link);

        sl_list_remove(&wt->link);
        sl_list_init(&wt->link);
        __atomic_store_n(&wt->v, NULL, __ATOMIC_RELEASE);
        atomic_store_explicit(wt->ready, 1, memory_order_release);
        sl_task_wake(wt->task);
    }
}

/* -EAGAIN with wt registered, or -ENOENT when the caller may not wait
 * (wt NULL). */
static int
add_waiter(struct sl_hls_variant *v, struct sl_hls_waiter *wt)
{
    if (wt == NULL)
        return -ENOENT;
    if (wt->v != NULL)
        return -EAGAIN;
    __atomic_store_n(&wt->v, v, __ATOMIC_RELEASE);
    atomic_store(wt->ready, 0);
    sl_list_insert_tail(&v->waiters, &wt->link);
    return -EAGAIN;
}

void
sl_hls_unwait(struct sl_hls *h, struct sl_hls_waiter *wt)
{
    struct sl_hls_variant *v;

    /* Only its owner registers a waiter, so one seen unregistered stays
     * so: most connections close without ever waiting, and skip the
     * module's lock. */
    if (__atomic_load_n(&wt->v, __ATOMIC_ACQUIRE) == NULL)
        return;
    /* A registered waiter keeps its variant from being reaped, and the
     * reaper looks under h->lock, so taking it makes wt->v stable. */
    pthread_mutex_lock(&h->lock);
    v = __atomic_load_n(&wt->v, __ATOMIC_ACQUIRE);
    if (v != NULL) {
        pthread_mutex_lock(&v->lock);
        if (wt->v != NULL) {
            sl_list_remove(&wt->link);
            sl_list_init(&wt->link);
            __atomic_store_n(&wt->v, NULL, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&v->lock);
    }
    pthread_mutex_unlock(&h->lock);
}

/* ---- cutting (on the tap's thread, v->lock held) ---------------------- */

static void
set_buf(struct sl_buf **slot, struct sl_buf *b)
{
    if (*slot != NULL)
        sl_buf_unref(*slot);
    *slot = b != NULL ? sl_buf_ref(b) : NULL;
}

/* Whether two FLV codec header bodies carry the same configuration
 * record (the bytes after the FLV prefix of off bytes: 5 for video, 2
 * for audio); a prefix that differs only in its composition time is the
 * same header sent again. */
static int
same_config(const struct sl_buf *a, const struct sl_buf *b, uint32_t off)
{
    return a != NULL && b != NULL && a->len == b->len && a->len >= off &&
           memcmp(a->data + off, b->data + off, a->len - off) == 0;
}

/* The tracks a header pair describes (either may be NULL). */
static struct sl_hls_tracks
tracks_of(const struct sl_buf *avcc, int hevc, const struct sl_buf *asc)
{
    struct sl_hls_tracks t = {0};

    if (avcc != NULL) {
        t.avcc = avcc->data + 5;
        t.avcc_len = avcc->len - 5;
        t.hevc = hevc;
    }
    if (asc != NULL) {
        t.asc = asc->data + 2;
        t.asc_len = asc->len - 2;
    }
    return t;
}

static int64_t
pdt_of(struct sl_hls_variant *v, int64_t media_ms)
{
    int64_t a = __atomic_load_n(&v->g->anchor_ms, __ATOMIC_ACQUIRE);

    if (a == 0) {
        int64_t want = wall_ms() - media_ms;

        /* The first variant to get media fixes the group's clock. */
        if (!__atomic_compare_exchange_n(&v->g->anchor_ms, &a, want, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return a + media_ms;
        a = want;
    }
    return a + media_ms;
}

/* Ends the open part at end_ms. */
static void
cut_part(struct sl_hls_variant *v, int64_t end_ms)
{
    struct sl_buf *frag = NULL;
    int64_t        dur = end_ms - v->part_start_ms;
    int            rc;

    if (!v->part_open)
        return;
    v->part_open = 0;
    rc = sl_hls_mux_cut(v->mux, end_ms, &frag);
    if (rc < 0) {
        sl_log_warn("hls %s/%s: a part was lost: %s", v->app, v->name,
                    av_err2str(rc));
        return;
    }
    if (frag == NULL)
        return;
    if (v->segfile != NULL) {
        struct sl_buf *filed = sl_hls_segfile_add(v->segfile, frag);

        /* From now on the part lives in the file's pages only; should
         * that fail, it stays where it is and is sent with a copy. */
        if (filed != NULL) {
            sl_buf_unref(frag);
            frag = filed;
        }
    }
    if (v->disk != NULL) {
        char name[64];

        snprintf(name, sizeof(name), "p%llu.%u.m4s",
                 (unsigned long long) v->win.cur.msn, v->win.cur.nparts);
        sl_hls_disk_write(v->disk, v->disk_dir, name, &frag, 1);
        v->disk_dirty = 1;
    }
    sl_hls_window_add_part(&v->win, frag, dur > 0 ? (uint32_t) dur : 1,
                           v->part_independent);
    v->parts++;
    fire_waiters(v);
}

/* hls_path: the segment msn as one file, and the files of the one that
 * left the window (gone_msn, its gone_parts parts) removed. */
static void
disk_segment(struct sl_hls_variant *v, uint64_t msn, int gone,
             uint64_t gone_msn, uint32_t gone_parts)
{
    const struct sl_hls_wseg *s = sl_hls_window_find(&v->win, msn);
    struct sl_buf            *bufs[SL_HLS_MAX_PARTS];
    char                      name[64];

    if (s != NULL && s != &v->win.cur) {
        for (uint32_t i = 0; i < s->nparts; i++)
            bufs[i] = s->parts[i].data;
        snprintf(name, sizeof(name), "s%llu.m4s", (unsigned long long) msn);
        sl_hls_disk_write(v->disk, v->disk_dir, name, bufs, (int) s->nparts);
    }
    if (!gone)
        return;
    snprintf(name, sizeof(name), "s%llu.m4s", (unsigned long long) gone_msn);
    sl_hls_disk_remove(v->disk, v->disk_dir, name);
    for (uint32_t i = 0; i < gone_parts; i++) {
        snprintf(name, sizeof(name), "p%llu.%u.m4s",
                 (unsigned long long) gone_msn, i);
        sl_hls_disk_remove(v->disk, v->disk_dir, name);
    }
}

static void
end_segment(struct sl_hls_variant *v, int64_t end_ms)
{
    cut_part(v, end_ms);
    if (v->win.cur_open) {
        uint64_t msn = v->win.cur.msn, gone_msn = 0;
        uint32_t gone_parts = 0;
        int      gone = v->win.nsegs == v->win.keep;

        if (gone) {
            const struct sl_hls_wseg *old = &v->win.segs[v->win.head];

            gone_msn = old->msn;
            gone_parts = old->nparts;
        }
        sl_hls_window_close(&v->win, end_ms);
        /* Its parts hold the file now; no more are written to it. */
        sl_hls_segfile_unref(v->segfile);
        v->segfile = NULL;
        if (v->disk != NULL)
            disk_segment(v, msn, gone, gone_msn, gone_parts);
        v->master_due = 1;
        fire_waiters(v);
    }
}

static void
close_mux(struct sl_hls_variant *v)
{
    sl_hls_mux_free(v->mux);
    v->mux = NULL;
}

/* The init segment being replaced joins the old ones, which keep only
 * those that a segment of the window (or the one being written) still
 * names: a player that starts at the window's oldest segment fetches
 * the init its EXT-X-MAP gives (an SRT publisher's first init often
 * lacks the audio, whose header comes after the first video frame). */
static void
keep_old_init(struct sl_hls_variant *v)
{
    uint32_t oldest = v->init_id, k = 0;

    if (v->win.nsegs > 0)
        oldest = v->win.segs[v->win.head].init_id;
    else if (v->win.cur_open)
        oldest = v->win.cur.init_id;
    if (v->init != NULL && v->nold_init == SL_HLS_MAX_SEGMENTS + 1) {
        /* Headers that change more often than segments are cut: the
         * oldest goes. */
        sl_buf_unref(v->old_init[0]);
        memmove(v->old_init, v->old_init + 1,
                (v->nold_init - 1) * sizeof(v->old_init[0]));
        memmove(v->old_init_id, v->old_init_id + 1,
                (v->nold_init - 1) * sizeof(v->old_init_id[0]));
        v->nold_init--;
    }
    if (v->init != NULL) {
        v->old_init[v->nold_init] = v->init;
        v->old_init_id[v->nold_init++] = v->init_id;
        v->init = NULL;
    }
    for (uint32_t i = 0; i < v->nold_init; i++) {
        if (v->old_init_id[i] < oldest) {
            sl_buf_unref(v->old_init[i]);
            continue;
        }
        v->old_init[k] = v->old_init[i];
        v->old_init_id[k++] = v->old_init_id[i];
    }
    v->nold_init = k;
}

/* A new muxer (and init segment) from the current headers. */
static int
open_mux(struct sl_hls_variant *v, int with_video)
{
    struct sl_buf       *avcc = with_video ? v->avcc : NULL;
    struct sl_hls_tracks t = tracks_of(avcc, v->hevc, v->asc), before;
    char                 why[128];
    struct sl_buf       *init;

    close_mux(v);
    v->mux = sl_hls_mux_open(&t, &init, v->codecs, sizeof(v->codecs), &v->width,
                             &v->height, why, sizeof(why));
    v->headers_changed = 0;
    if (v->mux == NULL) {
        if (!v->warned)
            sl_log_warn("hls %s/%s: cannot package: %s", v->app, v->name, why);
        v->warned = 1;
        return -1;
    }
    /* The first init starts the playlist; a later one whose headers
     * differ (a new resolution, a new audio configuration, a track added
     * or gone, also across a reconnect) starts a new encoding, which
     * players must be told of (RFC 8216 section 4.3.2.3); the same
     * headers again (an init made anew after a reconnect) need nothing. */
    before = tracks_of(v->init_avcc, v->init_hevc, v->init_asc);
    if (v->init_id > 0 && !sl_hls_tracks_same(&before, &t))
        v->new_encoding = 1;
    set_buf(&v->init_avcc, avcc);
    set_buf(&v->init_asc, v->asc);
    v->init_hevc = v->hevc;
    if (v->new_encoding)
        sl_hls_mux_sets_inband(v->mux);
    keep_old_init(v);
    v->init = init;
    v->init_id++;
    if (v->disk != NULL) {
        char name[32];

        snprintf(name, sizeof(name), "init%u.mp4", v->init_id);
        sl_hls_disk_write(v->disk, v->disk_dir, name, &v->init, 1);
    }
    return 0;
}

/* Before a variant's first segment, which starts at ms: the group's
 * numbering when it starts where the group's first segment did (the
 * first to get here fixes that); else the variant keeps the wall
 * clock's seconds it began at, so it never reuses a name. */
static void
number_from(struct sl_hls_variant *v, int64_t ms)
{
    int64_t first = INT64_MIN;

    v->numbered = 1;
    if (!__atomic_compare_exchange_n(&v->g->first_ms, &first, ms, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) &&
        (ms - first > SAME_START_MS || first - ms > SAME_START_MS))
        return;
    v->win.next_msn = v->g->base_msn;
}

/* Starts a segment (and its first part) at ms. */
static void
start_segment(struct sl_hls_variant *v, int64_t ms)
{
    /* After a publisher came back: a discontinuity only where the
     * timeline really jumps (the hub keeps it continuous across a quick
     * reconnect); and wherever a new encoding starts. */
    int disc =
        (v->resumed && (ms < v->last_end_ms || ms - v->last_end_ms > 1000)) ||
        v->new_encoding;

    v->resumed = 0;
    v->new_encoding = 0;
    if (!v->numbered)
        number_from(v, ms);
    sl_hls_window_open(&v->win, ms, pdt_of(v, ms), v->init_id, disc);
    sl_hls_segfile_unref(v->segfile); /* a segment dropped while empty */
    v->segfile = sl_hls_segfile_new("sluice-hls-segment");
    if (v->segfile == NULL && !v->segfile_warned) {
        v->segfile_warned = 1;
        sl_log_warn("hls %s/%s: no memory file for segments (%s): parts "
                    "are sent with a copy",
                    v->app, v->name, strerror(errno));
    }
    v->part_open = 1;
    v->part_start_ms = ms;
    v->part_independent = 1;
}

static void
start_part(struct sl_hls_variant *v, int64_t ms, int independent)
{
    v->part_open = 1;
    v->part_start_ms = ms;
    v->part_independent = (uint8_t) independent;
}

/* A video body as the packager takes it: H.264 (classic FLV) or HEVC
 * (Enhanced RTMP "hvc1"); the configuration's offset in the body (5 for
 * both).  0, or -1 for another codec or a body that does not parse. */
static int
parse_video(const struct sl_buf *b, struct sl_media_video *f, int *hevc)
{
    struct sl_media_hevc h;

    if (b->len > 0 && (b->data[0] & 0x80)) {
        if (sl_media_parse_hevc(b->data, b->len, &h) < 0)
            return -1;
        memset(f, 0, sizeof(*f));
        f->codec = 7; /* as far as the packager goes: one of its two */
        f->seq_header = (uint8_t) h.seq_header;
        f->keyframe = (uint8_t) h.keyframe;
        f->cts = h.cts;
        f->data = h.data;
        f->len = h.len;
        *hevc = 1;
        return 0;
    }
    *hevc = 0;
    return sl_media_parse_video(b->data, b->len, f) < 0 || f->codec != 7 ? -1
                                                                         : 0;
}

/* Whether the open part ends before the frame at ms.  PART-TARGET is
 * a maximum (RFC 8216bis 4.4.4.9): a part ends before the frame that
 * would carry it past hls_part by the last frame interval (at 25 fps
 * and 500 ms: 12 frames, 480 ms, not 13 and 520), and at hls_part at
 * the latest.  A segment's last part may be shorter, as the spec
 * allows. */
static int
part_due(const struct sl_hls_variant *v, int64_t ms)
{
    int64_t into = ms - v->part_start_ms;
    int64_t step = 0;

    if (!v->part_open || into <= 0)
        return 0;
    if (v->last_ms >= v->part_start_ms && ms > v->last_ms)
        step = ms - v->last_ms;
    return into >= v->part_ms || into + step > v->part_ms;
}

static void
on_video(struct sl_hls_variant *v, int64_t ms, struct sl_buf *b)
{
    struct sl_media_video f;
    int                   hevc;

    if (parse_video(b, &f, &hevc) < 0) {
        if (!v->warned)
            sl_log_warn("hls %s/%s: video is neither H.264 nor HEVC: "
                        "not packaged",
                        v->app, v->name);
        v->warned = 1;
        return;
    }
    v->has_video = 1;
    if (f.seq_header) {
        if (!same_config(v->avcc, b, 5) || hevc != v->hevc) {
            set_buf(&v->avcc, b);
            v->hevc = (uint8_t) hevc;
            v->headers_changed = 1;
        }
        return;
    }
    if (hevc != v->hevc)
        return; /* a frame of another codec than the header's */
    if (f.seq_end || f.len == 0)
        return;
    if (v->first_video_ms == INT64_MIN)
        v->first_video_ms = ms;
    /* No audio header a second into the video: a stream without audio.
     * Until then the first segment waits (for the next keyframe): an
     * SRT publisher's audio header comes with its first audio PES,
     * after the first video frames, and an init without the audio
     * would change at the next keyframe, which players that keep one
     * init for a rendition cannot follow. */
    if (f.keyframe && v->mux == NULL && v->asc == NULL &&
        ms - v->first_video_ms < 1000)
        return;
    if (f.keyframe && (v->mux == NULL || v->headers_changed)) {
        end_segment(v, ms);
        if (open_mux(v, 1) < 0)
            return;
    }
    if (v->mux == NULL)
        return; /* waiting for a keyframe */
    if (f.keyframe && v->win.cur_open) {
        end_segment(v, ms);
    } else if (part_due(v, ms) && !sl_hls_window_part_full(&v->win)) {
        cut_part(v, ms);
        start_part(v, ms, 0);
    }
    if (!v->win.cur_open)
        start_segment(v, ms);
    if (sl_hls_mux_video(v->mux, ms, f.cts, f.keyframe, f.data, f.len) < 0)
        return;
    v->frames++;
    v->win.cur.frames++;
    v->last_ms = ms;
    v->had_media = 1;
}

/* Audio alone: segments and parts cut on audio time. */
static void
cut_audio_only(struct sl_hls_variant *v, int64_t ms)
{
    if (v->win.cur_open && ms - v->win.cur.start_ms >= AUDIO_SEGMENT_MS)
        end_segment(v, ms);
    else if (part_due(v, ms) && !sl_hls_window_part_full(&v->win)) {
        cut_part(v, ms);
        start_part(v, ms, 1);
    }
    if (!v->win.cur_open)
        start_segment(v, ms);
}

static void
on_audio(struct sl_hls_variant *v, int64_t ms, struct sl_buf *b)
{
    struct sl_media_audio a;

    if (sl_media_parse_audio(b->data, b->len, &a) < 0 || a.format != 10)
        return;
    if (a.seq_header) {
        if (!same_config(v->asc, b, 2)) {
            set_buf(&v->asc, b);
            v->headers_changed = 1;
        }
        return;
    }
    if (v->first_audio_ms == INT64_MIN)
        v->first_audio_ms = ms;
    /* No video a second into the audio: an audio-only stream. */
    if (v->mux == NULL && !v->has_video && v->asc != NULL &&
        ms - v->first_audio_ms >= 1000 && open_mux(v, 0) < 0)
        return;
    if (v->mux == NULL)
        return;
    if (v->headers_changed && v->has_video && v->avcc != NULL)
        return; /* the new init opens at the next keyframe: until then the
                 * open one may not describe this audio */
    if (v->headers_changed) {
        /* Audio alone: the new init starts with this frame. */
        end_segment(v, ms);
        if (open_mux(v, 0) < 0)
            return;
    }
    if (!v->has_video || v->avcc == NULL)
        cut_audio_only(v, ms);
    if (!v->win.cur_open)
        return; /* video streams start at a keyframe */
    if (sl_hls_mux_audio(v->mux, ms, a.data, a.len) < 0)
        return;
    if (!v->has_video) {
        v->last_ms = ms;
        v->had_media = 1;
    }
}

static struct sl_hls_variant *
tap_variant(struct sl_tap *tap)
{
    return (struct sl_hls_variant *) ((char *) tap -
                                      offsetof(struct sl_hls_variant, tap));
}

static struct sl_buf *render_playlist(struct sl_hls_variant    *v,
                                      struct sl_hls_media_view *view);
static int master_text(struct sl_hls *h, const char *app, const char *name,
                       const char *carry, struct sl_buf **out);

/* hls_path: media.m3u8 after a new part (v->lock held). */
static void
disk_playlist(struct sl_hls_variant *v)
{
    struct sl_hls_media_view view = {.query = ""};
    struct sl_buf           *b;

    v->disk_dirty = 0;
    b = render_playlist(v, &view);
    if (b == NULL)
        return;
    sl_hls_disk_write(v->disk, v->disk_dir, "media.m3u8", &b, 1);
    sl_buf_unref(b);
}

/* hls_path: the group's master playlist after a segment completed (no
 * variant lock held). */
static void
disk_master(struct sl_hls_variant *v)
{
    char           dir[sizeof(v->disk_dir)], name[SL_NAME_MAX + 8];
    struct sl_buf *b;
    char          *slash;

    if (master_text(v->h, v->app, v->g->name, "", &b) < 0)
        return;
    /* disk_dir is hls_path/APP/STREAM: the master goes in hls_path/APP. */
    snprintf(dir, sizeof(dir), "%s", v->disk_dir);
    slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    snprintf(name, sizeof(name), "%s.m3u8", v->g->name);
    sl_hls_disk_write(v->disk, dir, name, &b, 1);
    sl_buf_unref(b);
}

static void
tap_media(struct sl_tap *tap, uint8_t type, int64_t ts, struct sl_buf *b)
{
    struct sl_hls_variant *v = tap_variant(tap);
    int                    master = 0;

    pthread_mutex_lock(&v->lock);
    v->live = 1;
    v->gone_ms = 0;
    v->disk_ended = 0;

    if (type == SL_MSG_VIDEO)
        on_video(v, ts, b);
    else if (type == SL_MSG_AUDIO)
        on_audio(v, ts, b);
    if (v->disk != NULL && v->disk_dirty)
        disk_playlist(v);
    if (v->disk != NULL && v->master_due)
        master = 1;
    v->master_due = 0;
    pthread_mutex_unlock(&v->lock);
    if (master)
        disk_master(v); /* the stream lock, then the module's: in order */
}

/* The publisher left: the last part and segment end where its media
 * did; the playlist ends after publish_grace unless it returns. */
static void
tap_end(struct sl_tap *tap)
{
    struct sl_hls_variant *v = tap_variant(tap);

    pthread_mutex_lock(&v->lock);
    if (v->mux != NULL) {
        int64_t end = sl_hls_mux_held_ms(v->mux);

        /* The held frame gets the length of the part's average frame. */
        end = end != INT64_MIN && v->frames > 1 ? v->last_ms + 33 : v->last_ms;
        end_segment(v, end > v->last_ms ? end : v->last_ms + 1);
        v->last_end_ms = end;
        v->resumed = 1;
    }
    close_mux(v);
    v->live = 0;
    v->has_video = 0;
    v->first_audio_ms = INT64_MIN;
    v->first_video_ms = INT64_MIN;
    v->gone_ms = sl_now_ms();
    fire_waiters(v);
    pthread_mutex_unlock(&v->lock);
}

/* ---- registry --------------------------------------------------------- */

static struct sl_hls_variant *
find_variant(struct sl_hls *h, const char *app, const char *name)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &h->variants)
    {
        struct sl_hls_variant *v =
            sl_list_entry(pos, struct sl_hls_variant, link);

        if (strcmp(v->app, app) == 0 && strcmp(v->name, name) == 0)
            return v;
    }
    return NULL;
}

static struct group *
find_group(struct sl_hls *h, const char *app, const char *name)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &h->groups)
    {
        struct group *g = sl_list_entry(pos, struct group, link);

        if (strcmp(g->app, app) == 0 && strcmp(g->name, name) == 0)
            return g;
    }
    return NULL;
}

/* The group a rung's name belongs to: NAME_<rung> for a rendition of
 * the app whose source NAME has a group. */
static struct group *
rung_group(struct sl_hls *h, const struct sl_config *cfg,
           const struct sl_app_config *app, const char *name)
{
    size_t n = strlen(name);

    for (int i = 0; i < app->nrenditions; i++) {
        const char *r = cfg->renditions[app->renditions[i]].name;
        size_t      rl = strlen(r);
        char        src[SL_NAME_MAX];

        if (n <= rl + 1 || strcmp(name + n - rl, r) != 0 ||
            name[n - rl - 1] != '_')
            continue;
        snprintf(src, sizeof(src), "%.*s", (int) (n - rl - 1), name);
        struct group *g = find_group(h, app->name, src);

        if (g != NULL)
            return g;
    }
    return NULL;
}

static void
variant_free(struct sl_hls_variant *v)
{
    close_mux(v);
    sl_hls_window_free(&v->win);
    sl_hls_segfile_unref(v->segfile);
    set_buf(&v->avcc, NULL);
    set_buf(&v->asc, NULL);
    set_buf(&v->init, NULL);
    set_buf(&v->init_avcc, NULL);
    set_buf(&v->init_asc, NULL);
    set_buf(&v->pl, NULL);
    for (uint32_t i = 0; i < v->nold_init; i++)
        sl_buf_unref(v->old_init[i]);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

/* Drops the variants whose publisher has been gone REAP_AFTER_MS and
 * nobody waits on (h->lock held): they go to dead, and groups left
 * without a variant to dead_groups, to be untapped and freed outside
 * the lock (a tap callback may run until the untap returns, and reads
 * its group). */
static void
collect_dead(struct sl_hls *h, uint64_t now, struct sl_list *dead,
             struct sl_list *dead_groups)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &h->variants)
    {
        struct sl_hls_variant *v =
            sl_list_entry(pos, struct sl_hls_variant, link);
        int drop;

        pthread_mutex_lock(&v->lock);
        drop = !v->live && v->gone_ms != 0 &&
               now - v->gone_ms >= REAP_AFTER_MS && sl_list_empty(&v->waiters);
        pthread_mutex_unlock(&v->lock);
        if (!drop)
            continue;
        sl_list_remove(&v->link);
        sl_list_insert_tail(dead, &v->link);
        if (--v->g->nvariants == 0) {
            sl_list_remove(&v->g->link);
            sl_list_insert_tail(dead_groups, &v->g->link);
        }
    }
}

static void
free_dead(struct sl_list *dead, struct sl_list *dead_groups)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, dead)
    {
        sl_hub_untap(&sl_list_entry(pos, struct sl_hls_variant, link)->tap);
    }
    sl_list_foreach_safe(pos, tmp, dead)
    {
        variant_free(sl_list_entry(pos, struct sl_hls_variant, link));
    }
    sl_list_foreach_safe(pos, tmp, dead_groups)
    {
        free(sl_list_entry(pos, struct group, link));
    }
}

static void
reap(struct sl_hls *h)
{
    struct sl_list dead, dead_groups;
    uint64_t       now = sl_now_ms();

    sl_list_init(&dead);
    sl_list_init(&dead_groups);
    pthread_mutex_lock(&h->lock);
    if (!h->stopping && now - h->last_reap_ms >= 1000) {
        h->last_reap_ms = now;
        collect_dead(h, now, &dead, &dead_groups);
    }
    pthread_mutex_unlock(&h->lock);
    free_dead(&dead, &dead_groups);
}

static int ended(const struct sl_hls_variant *v);

/* hls_path's writer thread, once a second: the playlists of variants
 * whose publisher stayed away past publish_grace are written once more,
 * with EXT-X-ENDLIST (a request would end them on the web port; on disk
 * nothing else would), and the variants gone long enough are reaped. */
static void
disk_tick(void *ctx)
{
    struct sl_hls  *h = ctx;
    struct sl_list *pos, *tmp;

    pthread_mutex_lock(&h->lock);
    if (h->stopping) {
        pthread_mutex_unlock(&h->lock);
        return;
    }
    sl_list_foreach_safe(pos, tmp, &h->variants)
    {
        struct sl_hls_variant *v =
            sl_list_entry(pos, struct sl_hls_variant, link);

        pthread_mutex_lock(&v->lock);
        if (v->disk != NULL && !v->disk_ended && ended(v)) {
            v->disk_ended = 1;
            disk_playlist(v);
        }
        pthread_mutex_unlock(&v->lock);
    }
    pthread_mutex_unlock(&h->lock);
    reap(h);
}

static struct sl_hls_variant *
variant_new(struct sl_hls *h, const struct sl_config *cfg,
            const struct sl_app_config *app, const struct sl_hub_event *ev)
{
    struct sl_hls_variant *v = calloc(1, sizeof(*v));

    if (v == NULL)
        return NULL;
    /* Segment numbers start at the wall clock's seconds, so a stream
     * packaged again after a restart never reuses a cached name. */
    if (sl_hls_window_init(&v->win, app->hls_segments,
                           (uint64_t) (wall_ms() / 1000)) < 0) {
        free(v);
        return NULL;
    }
    v->h = h;
    snprintf(v->app, sizeof(v->app), "%s", ev->app);
    snprintf(v->name, sizeof(v->name), "%s", ev->name);
    v->is_source = !ev->derived;
    if (app->hls_dir[0] != '\0') {
        /* One writer for the process, started with the first use. */
        if (h->disk == NULL)
            h->disk = sl_hls_disk_new(disk_tick, h);
        v->disk = h->disk;
        snprintf(v->disk_dir, sizeof(v->disk_dir), "%s/%s/%s", app->hls_dir,
                 ev->app, ev->name);
    }
    v->part_ms = app->hls_part_ms;
    v->grace_ms = cfg->publish_grace_ms;
    v->first_audio_ms = INT64_MIN;
    v->first_video_ms = INT64_MIN;
    pthread_mutex_init(&v->lock, NULL);
    sl_list_init(&v->waiters);
    sl_list_init(&v->link);
    v->tap.on_media = tap_media;
    v->tap.on_end = tap_end;
    return v;
}

static void
start(struct sl_hls *h, const struct sl_config *cfg,
      const struct sl_app_config *app, const struct sl_hub_event *ev)
{
    struct sl_hls_variant *v;
    struct group          *g;

    pthread_mutex_lock(&h->lock);
    v = find_variant(h, ev->app, ev->name);
    if (v != NULL) {
        /* A returning publisher: the variant goes on, and is no longer
         * the reaper's before its first media arrives. */
        pthread_mutex_lock(&v->lock);
        v->gone_ms = 0;
        pthread_mutex_unlock(&v->lock);
        pthread_mutex_unlock(&h->lock);
        return;
    }
    v = variant_new(h, cfg, app, ev);
    g = ev->derived ? rung_group(h, cfg, app, ev->name)
                    : find_group(h, ev->app, ev->name);
    if (v != NULL && g == NULL) {
        g = calloc(1, sizeof(*g));
        if (g != NULL) {
            snprintf(g->app, sizeof(g->app), "%s", ev->app);
            snprintf(g->name, sizeof(g->name), "%s", ev->name);
            g->base_msn = (uint64_t) (wall_ms() / 1000);
            g->first_ms = INT64_MIN;
            sl_list_insert_tail(&h->groups, &g->link);
        }
    }
    if (v == NULL || g == NULL) {
        pthread_mutex_unlock(&h->lock);
        sl_log_warn("hls %s/%s: out of memory", ev->app, ev->name);
        if (v != NULL)
            variant_free(v);
        return;
    }
    v->g = g;
    g->nvariants++;
    sl_list_insert_tail(&h->variants, &v->link);
    pthread_mutex_unlock(&h->lock);
    /* Tapped outside the module's lock (the tap takes the stream lock
     * first); tap callbacks only touch v. */
    if (sl_hub_tap(h->hub, ev->app, ev->name, &v->tap) < 0)
        sl_log_warn("hls %s/%s: cannot start", ev->app, ev->name);
    else
        sl_log_info("hls %s/%s: packaging (parts of %u ms)", ev->app, ev->name,
                    v->part_ms);
}

static void
on_event(void *ctx, const struct sl_hub_event *ev)
{
    struct sl_hls              *h = ctx;
    struct sl_config           *cfg;
    const struct sl_app_config *app;

    if (ev->kind != SL_HUB_PUBLISH)
        return;
    cfg = sl_config_get();
    app = cfg != NULL ? sl_config_app(cfg, ev->app) : NULL;
    if (app != NULL && app->hls)
        start(h, cfg, app, ev);
    sl_config_unref(cfg);
    reap(h);
}

struct sl_hls *
sl_hls_new(struct sl_hub *hub)
{
    struct sl_hls *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->hub = hub;
    pthread_mutex_init(&h->lock, NULL);
    sl_list_init(&h->variants);
    sl_list_init(&h->groups);
    h->viewers = sl_hls_viewers_new();
    if (h->viewers == NULL || sl_hub_add_observer(hub, on_event, h) < 0) {
        sl_hls_viewers_free(h->viewers);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    return h;
}

void
sl_hls_free(struct sl_hls *h)
{
    struct sl_list *pos, *tmp;

    if (h == NULL)
        return;
    /* The writer thread's tick leaves the variants alone from now on;
     * the taps go (no tap writes after), then the writer (what is
     * queued gets written), then the variants. */
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    pthread_mutex_unlock(&h->lock);
    sl_list_foreach_safe(pos, tmp, &h->variants)
    {
        sl_hub_untap(&sl_list_entry(pos, struct sl_hls_variant, link)->tap);
    }
    sl_hls_disk_free(h->disk);
    h->disk = NULL;
    sl_list_foreach_safe(pos, tmp, &h->variants)
    {
        variant_free(sl_list_entry(pos, struct sl_hls_variant, link));
    }
    sl_list_foreach_safe(pos, tmp, &h->groups)
    {
        free(sl_list_entry(pos, struct group, link));
    }
    sl_hls_viewers_free(h->viewers);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* ---- what web/ asks for ----------------------------------------------- */

static int
ended(const struct sl_hls_variant *v)
{
    return !v->live && v->gone_ms != 0 &&
           sl_now_ms() >= v->gone_ms + v->grace_ms;
}

static struct sl_buf *
text_buf(const char *s, int len)
{
    return len < 0 ? NULL : sl_buf_from(s, (size_t) len);
}

/* Whether a variant may be listed: it has a complete segment. */
static int
listable(const struct sl_hls_variant *v)
{
    return v->win.nsegs > 0 && v->init != NULL;
}

/* Whether every variant of g passes ok, each looked at under its lock
 * (h->lock held). */
static int
every_variant(struct sl_hls *h, const struct group *g,
              int (*ok)(const struct sl_hls_variant *))
{
    struct sl_list *pos, *tmp;
    int             all = 1;

    sl_list_foreach_safe(pos, tmp, &h->variants)
    {
        struct sl_hls_variant *v =
            sl_list_entry(pos, struct sl_hls_variant, link);

        if (v->g != g)
            continue;
        pthread_mutex_lock(&v->lock);
        all = all && ok(v);
        pthread_mutex_unlock(&v->lock);
    }
    return all;
}

/* A variant the master playlist may wait no longer for.  The rungs
 * start a moment after the source: two segments of the source give
 * them time to have one each. */
static int
ready_for_master(const struct sl_hls_variant *v)
{
    return ended(v) || (listable(v) && !(v->is_source && v->win.nsegs < 2));
}

static int
master_ready(struct sl_hls *h, const struct group *g)
{
    return every_variant(h, g, ready_for_master);
}

/* The complete segments' start times of v (at most max), v->lock taken. */
static int
segment_starts(struct sl_hls_variant *v, int64_t *out, int max)
{
    int n = 0;

    pthread_mutex_lock(&v->lock);
    for (uint32_t i = 0; i < v->win.nsegs && n < max; i++)
        out[n++] = v->win.segs[(v->win.head + i) % v->win.keep].start_ms;
    pthread_mutex_unlock(&v->lock);
    return n;
}

/* 1 when every source segment that starts inside a rung's window starts
 * where one of that rung's does, 0 when one does not, -1 when nothing
 * overlaps (h->lock held). */
static int
source_aligned(struct sl_hls *h, const struct group *g)
{
    int64_t         src[SL_HLS_MAX_SEGMENTS], rung[SL_HLS_MAX_SEGMENTS];
    int             nsrc = 0, verdict = -1;
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &h->variants)
    {
        struct sl_hls_variant *v =
            sl_list_entry(pos, struct sl_hls_variant, link);

        if (v->g == g && v->is_source)
            nsrc = segment_starts(v, src, SL_HLS_MAX_SEGMENTS);
    }
    sl_list_foreach_safe(pos, tmp, &h->variants)
    {
        struct sl_hls_variant *v =
            sl_list_entry(pos, struct sl_hls_variant, link);
        int nr;

        if (v->g != g || v->is_source)
            continue;
        nr = segment_starts(v, rung, SL_HLS_MAX_SEGMENTS);
        for (int i = 0; i < nsrc && nr > 0; i++) {
            int hit = 0;

            if (src[i] < rung[0] || src[i] > rung[nr - 1])
                continue;
            for (int k = 0; k < nr && !hit; k++)
                hit = rung[k] == src[i];
            if (!hit)
                return 0;
            verdict = 1;
        }
    }
    return verdict;
}

/* One WARN line per group, the first time its source is found out of
 * line with its rungs (h->lock held). */
static void
note_alignment(struct sl_hls *h, struct group *g, int aligned)
{
    (void) h;
    if (aligned != 0 || g->warned_align)
        return;
    g->warned_align = 1;
    sl_log_warn("hls %s/%s: the source's keyframes are not on the ladder's "
                "keyframe times: players cannot switch between the source "
                "and the rungs cleanly (set the encoder's keyframe interval "
                "to the app's keyframe_interval, or hls_source = off)",
                g->app, g->name);
}

int
sl_hls_master(struct sl_hls *h, const char *app, const char *name,
              const char *carry, struct sl_buf **out)
{
    reap(h);
    return master_text(h, app, name, carry, out);
}

static int
master_text(struct sl_hls *h, const char *app, const char *name,
            const char *carry, struct sl_buf **out)
{
    struct sl_hls_variant_info info[1 + SL_APP_MAX_RENDITIONS];
    char              uris[1 + SL_APP_MAX_RENDITIONS][SL_NAME_MAX + 16];
    char              codecs[1 + SL_APP_MAX_RENDITIONS][64];
    char              text[8192];
    struct sl_config *cfg = sl_config_get();
    const struct sl_app_config *ac =
        cfg != NULL ? sl_config_app(cfg, app) : NULL;
    int             hide_source = ac != NULL && !ac->hls_source;
    struct sl_list *pos, *tmp;
    struct group   *g;
    int             n = 0, len;

    sl_config_unref(cfg);
    *out = NULL;
    pthread_mutex_lock(&h->lock);
    g = find_group(h, app, name);
    if (g == NULL) {
        pthread_mutex_unlock(&h->lock);
        return -ENOENT;
    }
    if (!master_ready(h, g)) {
        pthread_mutex_unlock(&h->lock);
        return -EAGAIN;
    }
    note_alignment(h, g, source_aligned(h, g));
    sl_list_foreach_safe(pos, tmp, &h->variants)
    {
        struct sl_hls_variant *v =
            sl_list_entry(pos, struct sl_hls_variant, link);

        if (v->g != g || n == 1 + SL_APP_MAX_RENDITIONS ||
            (v->is_source && hide_source))
            continue;
        pthread_mutex_lock(&v->lock);
        if (listable(v)) {
            snprintf(uris[n], sizeof(uris[n]), "%s/media.m3u8", v->name);
            snprintf(codecs[n], sizeof(codecs[n]), "%s", v->codecs);
            info[n] = (struct sl_hls_variant_info){
                .uri = uris[n],
                .width = v->width,
                .height = v->height,
                .codecs = codecs[n],
            };
            sl_hls_window_rates(&v->win, &info[n].bandwidth,
                                &info[n].avg_bandwidth);
            info[n].fps = sl_hls_window_fps(&v->win);
            n++;
        }
        pthread_mutex_unlock(&v->lock);
    }
    pthread_mutex_unlock(&h->lock);
    if (n == 0)
        return -EAGAIN;
    len = sl_hls_render_master(info, n, carry, text, sizeof(text));
    *out = text_buf(text, len);
    return *out != NULL ? 0 : -ENOMEM;
}

/* The rendition reports of v's siblings (h->lock held). */
static uint32_t
reports(struct sl_hls *h, const struct sl_hls_variant *v,
        struct sl_hls_report *r, char (*uris)[SL_NAME_MAX + 24])
{
    struct sl_list *pos, *tmp;
    uint32_t        n = 0;

    sl_list_foreach_safe(pos, tmp, &h->variants)
    {
        struct sl_hls_variant *o =
            sl_list_entry(pos, struct sl_hls_variant, link);

        if (o == v || o->g != v->g || n == MAX_REPORTS)
            continue;
        pthread_mutex_lock(&o->lock);
        if (sl_hls_window_last_part(&o->win, &r[n].last_msn, &r[n].last_part) ==
            0) {
            snprintf(uris[n], sizeof(uris[0]), "../%s/media.m3u8", o->name);
            r[n].uri = uris[n];
            n++;
        }
        pthread_mutex_unlock(&o->lock);
    }
    return n;
}

/* v's playlist as the view's query, skip and reports ask (v->lock held).
 * A playlist is a few KiB: it is made on the stack, and on the heap only
 * when it does not fit (a long window of short parts). */
#define PLAYLIST_STACK (24 * 1024)

static struct sl_buf *
render_playlist(struct sl_hls_variant *v, struct sl_hls_media_view *view)
{
    struct sl_hls_seg  segs[SL_HLS_MAX_SEGMENTS];
    struct sl_hls_part parts[(SL_HLS_MAX_SEGMENTS + 1) * SL_HLS_MAX_PARTS];
    char               small[PLAYLIST_STACK];
    struct sl_buf     *b;
    char              *text;
    int                len;

    sl_hls_window_view(&v->win, view, segs, parts);
    view->part_target_ms = v->part_ms;
    view->ended = (uint8_t) ended(v);
    len = sl_hls_render_media(view, small, sizeof(small));
    if (len >= 0)
        return text_buf(small, len);
    text = malloc(PLAYLIST_MAX);
    if (text == NULL)
        return NULL;
    b = text_buf(text, sl_hls_render_media(view, text, PLAYLIST_MAX));
    free(text);
    return b;
}

/* Whether v->pl is the playlist view would make now (v->lock held):
 * the same window, end, skip, query and rendition reports. */
static int
playlist_cached(const struct sl_hls_variant    *v,
                const struct sl_hls_media_view *view)
{
    if (v->pl == NULL || v->pl_gen != v->win.gen ||
        v->pl_skip != (uint8_t) (view->skip != 0) ||
        v->pl_ended != (uint8_t) ended(v) ||
        strcmp(v->pl_carry, view->query) != 0 ||
        v->pl_nrep != (int) view->nreports)
        return 0;
    for (int i = 0; i < v->pl_nrep; i++)
        if (v->pl_rep_msn[i] != view->reports[i].last_msn ||
            v->pl_rep_part[i] != view->reports[i].last_part ||
            strcmp(v->pl_rep_uri[i], view->reports[i].uri) != 0)
            return 0;
    return 1;
}

static void
playlist_keep(struct sl_hls_variant *v, const struct sl_hls_media_view *view,
              struct sl_buf *b)
{
    if (strlen(view->query) >= sizeof(v->pl_carry) ||
        view->nreports > MAX_REPORTS)
        return; /* not worth a bigger key: made again next time */
    set_buf(&v->pl, b);
    v->pl_gen = v->win.gen;
    v->pl_skip = (uint8_t) (view->skip != 0);
    v->pl_ended = (uint8_t) ended(v);
    snprintf(v->pl_carry, sizeof(v->pl_carry), "%s", view->query);
    v->pl_nrep = (int) view->nreports;
    for (int i = 0; i < v->pl_nrep; i++) {
        v->pl_rep_msn[i] = view->reports[i].last_msn;
        v->pl_rep_part[i] = view->reports[i].last_part;
        snprintf(v->pl_rep_uri[i], sizeof(v->pl_rep_uri[i]), "%s",
                 view->reports[i].uri);
    }
}

int
sl_hls_media(struct sl_hls *h, const char *app, const char *stream,
             const struct sl_hls_query *q, const char *carry,
             struct sl_hls_waiter *wt, struct sl_buf **out)
{
    struct sl_hls_report     rep[MAX_REPORTS];
    char                     rep_uris[MAX_REPORTS][SL_NAME_MAX + 24];
    struct sl_hls_media_view view = {0};
    struct sl_hls_variant   *v;
    int                      has;

    *out = NULL;
    pthread_mutex_lock(&h->lock);
    v = find_variant(h, app, stream);
    if (v == NULL) {
        pthread_mutex_unlock(&h->lock);
        return -ENOENT;
    }
    view.nreports = reports(h, v, rep, rep_uris);
    view.reports = rep;
    pthread_mutex_lock(&v->lock);
    pthread_mutex_unlock(&h->lock);
    has = sl_hls_window_has(&v->win, q->msn, q->part);
    if (has < 0 && !ended(v)) {
        pthread_mutex_unlock(&v->lock);
        return -EINVAL;
    }
    if (!ended(v) && (has == 0 || (!listable(v) && v->win.cur.nparts == 0))) {
        int rc = add_waiter(v, wt);

        pthread_mutex_unlock(&v->lock);
        return rc;
    }
    view.query = carry;
    view.skip = q->skip;
    if (playlist_cached(v, &view)) {
        *out = sl_buf_ref(v->pl);
    } else {
        *out = render_playlist(v, &view);
        if (*out != NULL)
            playlist_keep(v, &view, *out);
    }
    pthread_mutex_unlock(&v->lock);
    return *out != NULL ? 0 : -ENOMEM;
}

/* Parses "s<MSN>.m4s", "p<MSN>.<I>.m4s", "init<ID>.mp4". */
static int
parse_object(const char *f, char *kind, uint64_t *msn, uint32_t *part)
{
    char              *end;
    unsigned long long a;
    unsigned long      b = 0;

    if (strncmp(f, "init", 4) == 0) {
        *kind = 'i';
        f += 4;
    } else if (f[0] == 's' || f[0] == 'p') {
        *kind = f[0];
        f++;
    } else
        return -1;
    if (*f < '0' || *f > '9')
        return -1;
    a = strtoull(f, &end, 10);
    if (*kind == 'p') {
        if (*end != '.' || end[1] < '0' || end[1] > '9')
            return -1;
        b = strtoul(end + 1, &end, 10);
        if (b >= SL_HLS_MAX_PARTS)
            return -1;
    }
    if (strcmp(end, *kind == 'i' ? ".mp4" : ".m4s") != 0)
        return -1;
    *msn = a;
    *part = (uint32_t) b;
    return 0;
}

static int
give(struct sl_buf *b, struct sl_buf **bufs, int *n, int max, size_t *total)
{
    if (*n == max)
        return -E2BIG;
    bufs[(*n)++] = sl_buf_ref(b);
    *total += b->len;
    return 0;
}

/* v->lock held. */
static int
object_of(struct sl_hls_variant *v, char kind, uint64_t msn, uint32_t part,
          struct sl_hls_waiter *wt, struct sl_buf **bufs, int max,
          size_t *total)
{
    const struct sl_hls_wseg *s;
    int                       n = 0;

    if (kind == 'i') {
        struct sl_buf *init = msn == v->init_id ? v->init : NULL;

        for (uint32_t i = 0; init == NULL && i < v->nold_init; i++)
            if (v->old_init_id[i] == msn)
                init = v->old_init[i];
        if (init == NULL)
            return -ENOENT;
        return give(init, bufs, &n, max, total) < 0 ? -E2BIG : 1;
    }
    s = sl_hls_window_find(&v->win, msn);
    if (kind == 'p') {
        /* The hinted part (the next of the open segment, or the first
         * of the next one) is held until it is cut. */
        int next = v->win.cur_open && s == &v->win.cur
                       ? part == v->win.cur.nparts
                       : msn == v->win.next_msn + (v->win.cur_open ? 1 : 0) &&
                             part == 0;

        if (s != NULL && part < s->nparts)
            return give(s->parts[part].data, bufs, &n, max, total) < 0 ? -E2BIG
                                                                       : 1;
        if (next && !ended(v))
            return add_waiter(v, wt);
        return -ENOENT;
    }
    if (s == NULL)
        return -ENOENT;
    if (s == &v->win.cur) {
        if (ended(v))
            return -ENOENT;
        return add_waiter(v, wt); /* served once complete */
    }
    for (uint32_t i = 0; i < s->nparts; i++)
        if (give(s->parts[i].data, bufs, &n, max, total) < 0) {
            for (int j = 0; j < n; j++)
                sl_buf_unref(bufs[j]);
            return -E2BIG;
        }
    return n;
}

int
sl_hls_object(struct sl_hls *h, const char *app, const char *stream,
              const char *file, struct sl_hls_waiter *wt, struct sl_buf **bufs,
              int max, size_t *total)
{
    struct sl_hls_variant *v;
    char                   kind;
    uint64_t               msn;
    uint32_t               part;
    int                    rc;

    *total = 0;
    if (parse_object(file, &kind, &msn, &part) < 0)
        return -ENOENT;
    pthread_mutex_lock(&h->lock);
    v = find_variant(h, app, stream);
    if (v == NULL) {
        pthread_mutex_unlock(&h->lock);
        return -ENOENT;
    }
    pthread_mutex_lock(&v->lock);
    pthread_mutex_unlock(&h->lock);
    rc = object_of(v, kind, msn, part, wt, bufs, max, total);
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
sl_hls_owner(struct sl_hls *h, const char *app, const char *stream, char *name,
             size_t cap)
{
    struct sl_hls_variant *v;
    int                    rc = -ENOENT;

    pthread_mutex_lock(&h->lock);
    v = find_variant(h, app, stream);
    if (v != NULL) {
        snprintf(name, cap, "%s", v->g->name);
        rc = 0;
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

uint32_t
sl_hls_target_ms(struct sl_hls *h, const char *app, const char *stream)
{
    struct sl_hls_variant *v;
    uint32_t               ms = 0;

    pthread_mutex_lock(&h->lock);
    v = find_variant(h, app, stream);
    if (v != NULL) {
        pthread_mutex_lock(&v->lock);
        ms = v->win.max_dur_ms;
        pthread_mutex_unlock(&v->lock);
    }
    pthread_mutex_unlock(&h->lock);
    return ms;
}

int
sl_hls_stats(struct sl_hls *h, struct sl_hls_stats *out, int max)
{
    struct sl_list *pos, *tmp;
    int             n = 0;

    pthread_mutex_lock(&h->lock);
    sl_list_foreach_safe(pos, tmp, &h->variants)
    {
        struct sl_hls_variant *v =
            sl_list_entry(pos, struct sl_hls_variant, link);
        struct sl_hls_stats *o = &out[n];

        if (n == max)
            break;
        memset(o, 0, sizeof(*o));
        snprintf(o->app, sizeof(o->app), "%s", v->app);
        snprintf(o->name, sizeof(o->name), "%s", v->name);
        pthread_mutex_lock(&v->lock);
        o->segments = v->win.total_segments;
        o->parts = v->parts;
        for (uint32_t i = 0; i < v->win.nsegs; i++)
            o->bytes += v->win.segs[(v->win.head + i) % v->win.keep].bytes;
        o->bytes += v->win.cur_open ? v->win.cur.bytes : 0;
        sl_hls_window_rates(&v->win, &o->peak_bps, &o->avg_bps);
        o->live = v->live;
        pthread_mutex_unlock(&v->lock);
        n++;
    }
    pthread_mutex_unlock(&h->lock);
    return n;
}

void
sl_hls_viewer_seen(struct sl_hls *h, uint64_t sid, const char *app,
                   const char *name)
{
    sl_hls_viewers_seen(h->viewers, sid, app, name, sl_now_ms());
}

int
sl_hls_viewer_count(struct sl_hls *h, const char *app, const char *name)
{
    return sl_hls_viewers_count(h->viewers, app, name, sl_now_ms());
}

int
sl_hls_viewer_start(struct sl_hls *h, uint64_t sid, const char *app,
                    const char *name, const struct sl_hls_viewer *who)
{
    return sl_hls_viewers_start(h->viewers, sid, app, name, sl_now_ms(), who);
}

/* At most this many ended streams per call; more wait a second. */
#define ENDED_MAX 64

int
sl_hls_viewers_ended(struct sl_hls *h, uint32_t idle_ms,
                     struct sl_hls_viewer **out, int max)
{
    uint64_t        keys[ENDED_MAX];
    int             n = 0;
    struct sl_list *pos, *tmp;

    pthread_mutex_lock(&h->lock);
    sl_list_foreach_safe(pos, tmp, &h->groups)
    {
        struct group *g = sl_list_entry(pos, struct group, link);

        if (n < ENDED_MAX && every_variant(h, g, ended))
            keys[n++] = sl_hls_viewers_key(g->app, g->name);
    }
    pthread_mutex_unlock(&h->lock);
    sl_hls_viewers_set_idle(h->viewers, idle_ms);
    return sl_hls_viewers_expire(h->viewers, sl_now_ms(), keys, n, out, max);
}

int
sl_hls_group_stats(struct sl_hls *h, const char *app, const char *name,
                   struct sl_hls_group_stats *out)
{
    struct sl_list *pos, *tmp;
    struct group   *g;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&h->lock);
    g = find_group(h, app, name);
    if (g == NULL) {
        pthread_mutex_unlock(&h->lock);
        return -ENOENT;
    }
    sl_list_foreach_safe(pos, tmp, &h->variants)
    {
        struct sl_hls_variant *v =
            sl_list_entry(pos, struct sl_hls_variant, link);

        if (v->g != g)
            continue;
        out->nvariants++;
        pthread_mutex_lock(&v->lock);
        out->segments += v->win.total_segments;
        out->parts += v->parts;
        for (uint32_t i = 0; i < v->win.nsegs; i++)
            out->bytes += v->win.segs[(v->win.head + i) % v->win.keep].bytes;
        out->bytes += v->win.cur_open ? v->win.cur.bytes : 0;
        pthread_mutex_unlock(&v->lock);
    }
    out->source_aligned = source_aligned(h, g);
    note_alignment(h, g, out->source_aligned);
    pthread_mutex_unlock(&h->lock);
    return 0;
}

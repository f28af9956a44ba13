/*
 * The segment/part window of one variant (see window.h).
 */
#include "hls/window.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
sl_hls_window_init(struct sl_hls_window *w, uint32_t keep, uint64_t first_msn)
{
    memset(w, 0, sizeof(*w));
    if (keep < 1)
        keep = 1;
    if (keep > SL_HLS_MAX_SEGMENTS)
        keep = SL_HLS_MAX_SEGMENTS;
    w->keep = keep;
    w->next_msn = first_msn;
    w->segs = calloc(keep, sizeof(*w->segs));
    return w->segs != NULL ? 0 : -ENOMEM;
}

static void
seg_release(struct sl_hls_wseg *s)
{
    for (uint32_t i = 0; i < s->nparts; i++)
        sl_buf_unref(s->parts[i].data);
    s->nparts = 0;
}

void
sl_hls_window_free(struct sl_hls_window *w)
{
    if (w->segs == NULL)
        return;
    for (uint32_t i = 0; i < w->nsegs; i++)
        seg_release(&w->segs[(w->head + i) % w->keep]);
    if (w->cur_open)
        seg_release(&w->cur);
    free(w->segs);
    w->segs = NULL;
}

static struct sl_hls_wseg *
seg_at(const struct sl_hls_window *w, uint32_t i)
{
    return &w->segs[(w->head + i) % w->keep];
}

void
sl_hls_window_open(struct sl_hls_window *w, int64_t start_ms, int64_t pdt_ms,
                   uint32_t init_id, int discontinuity)
{
    struct sl_hls_wseg *s = &w->cur;

    s->msn = w->next_msn;
    s->start_ms = start_ms;
    s->pdt_ms = pdt_ms;
    s->dur_ms = 0;
    s->discontinuity = (uint8_t) (discontinuity != 0);
    s->init_id = init_id;
    s->bytes = 0;
    s->frames = 0;
    s->nparts = 0;
    w->cur_open = 1;
    w->gen++;
}

void
sl_hls_window_add_part(struct sl_hls_window *w, struct sl_buf *data,
                       uint32_t dur_ms, int independent)
{
    struct sl_hls_wseg *s = &w->cur;

    if (!w->cur_open || s->nparts == SL_HLS_MAX_PARTS) {
        sl_buf_unref(data); /* the caller's part_full check prevents it */
        return;
    }
    s->parts[s->nparts++] = (struct sl_hls_wpart){
        .data = data,
        .dur_ms = dur_ms,
        .independent = (uint8_t) (independent != 0),
    };
    s->bytes += data->len;
    w->gen++;
}

int
sl_hls_window_part_full(const struct sl_hls_window *w)
{
    return w->cur_open && w->cur.nparts >= SL_HLS_MAX_PARTS - 1;
}

void
sl_hls_window_close(struct sl_hls_window *w, int64_t end_ms)
{
    struct sl_hls_wseg *s = &w->cur;
    int64_t             dur = end_ms - s->start_ms;

    if (!w->cur_open)
        return;
    w->cur_open = 0;
    w->gen++;
    if (s->nparts == 0)
        return;
    s->dur_ms = 0;
    for (uint32_t i = 0; i < s->nparts; i++)
        s->dur_ms += s->parts[i].dur_ms;
    if (dur > 0 && dur < UINT32_MAX)
        s->dur_ms = (uint32_t) dur;
    if (s->dur_ms > w->max_dur_ms)
        w->max_dur_ms = s->dur_ms;
    if (w->nsegs == w->keep) {
        struct sl_hls_wseg *old = seg_at(w, 0);

        /* The sequence counts the discontinuity tags that left. */
        if (old->discontinuity)
            w->disc_seq++;
        seg_release(old);
        w->head = (w->head + 1) % w->keep;
        w->nsegs--;
    }
    *seg_at(w, w->nsegs) = *s;
    w->nsegs++;
    w->next_msn = s->msn + 1;
    w->total_segments++;
    s->nparts = 0;
}

const struct sl_hls_wseg *
sl_hls_window_find(const struct sl_hls_window *w, uint64_t msn)
{
    if (w->cur_open && w->cur.msn == msn)
        return &w->cur;
    if (w->nsegs == 0 || msn < seg_at(w, 0)->msn)
        return NULL;
    if (msn - seg_at(w, 0)->msn >= w->nsegs)
        return NULL;
    return seg_at(w, (uint32_t) (msn - seg_at(w, 0)->msn));
}

int
sl_hls_window_has(const struct sl_hls_window *w, int64_t msn, int64_t part)
{
    uint64_t open_msn = w->next_msn; /* cur's msn when open */
    uint64_t m = (uint64_t) msn;

    if (msn < 0)
        return 1;
    if (m > open_msn + 2 || part >= SL_HLS_MAX_PARTS)
        return -1;
    if (m < open_msn)
        return 1; /* complete (or gone: the playlist answers either way) */
    if (m > open_msn)
        return 0;
    /* The open segment. */
    if (part < 0)
        return 0;
    return w->cur_open && (int64_t) w->cur.nparts > part;
}

int
sl_hls_window_last_part(const struct sl_hls_window *w, uint64_t *msn,
                        uint32_t *part)
{
    const struct sl_hls_wseg *s = NULL;

    if (w->cur_open && w->cur.nparts > 0)
        s = &w->cur;
    else if (w->nsegs > 0)
        s = seg_at(w, w->nsegs - 1);
    if (s == NULL || s->nparts == 0)
        return -1;
    *msn = s->msn;
    *part = s->nparts - 1;
    return 0;
}

/* Copies s into o, its parts into *parts when list_parts. */
static void
view_seg(const struct sl_hls_wseg *s, struct sl_hls_seg *o,
         struct sl_hls_part **parts, int list_parts)
{
    *o = (struct sl_hls_seg){
        .msn = s->msn,
        .dur_ms = s->dur_ms,
        .pdt_ms = s->pdt_ms,
        .discontinuity = s->discontinuity,
        .init_id = s->init_id,
    };
    if (!list_parts)
        return;
    o->parts = *parts;
    o->nparts = s->nparts;
    for (uint32_t i = 0; i < s->nparts; i++)
        (*parts)[i] = (struct sl_hls_part){s->parts[i].dur_ms,
                                           s->parts[i].independent};
    *parts += s->nparts;
}

void
sl_hls_window_view(const struct sl_hls_window *w, struct sl_hls_media_view *v,
                   struct sl_hls_seg *segs, struct sl_hls_part *parts)
{
    uint32_t target_ms = w->max_dur_ms;
    int64_t  edge = 0;
    int64_t  from;

    if (target_ms == 0 && w->cur_open)
        for (uint32_t i = 0; i < w->cur.nparts; i++)
            target_ms += w->cur.parts[i].dur_ms;
    v->target_s = (target_ms + 999) / 1000;
    if (v->target_s < 1)
        v->target_s = 1;
    v->disc_seq = w->disc_seq;
    /* The live edge, as the sum of the listed durations. */
    for (uint32_t i = 0; i < w->nsegs; i++)
        edge += seg_at(w, i)->dur_ms;
    if (w->cur_open)
        for (uint32_t i = 0; i < w->cur.nparts; i++)
            edge += w->cur.parts[i].dur_ms;
    from = edge - 3 * (int64_t) v->target_s * 1000;
    v->nsegs = w->nsegs;
    v->segs = segs;
    edge = 0;
    for (uint32_t i = 0; i < w->nsegs; i++) {
        const struct sl_hls_wseg *s = seg_at(w, i);

        edge += s->dur_ms;
        view_seg(s, &segs[i], &parts, edge > from);
    }
    memset(&v->cur, 0, sizeof(v->cur));
    if (w->cur_open) {
        view_seg(&w->cur, &v->cur, &parts, 1);
    } else {
        /* The next segment (a publisher gone, within publish_grace):
         * its hinted part is read with the init in force, the newest
         * segment's; one that comes with another init is listed with
         * its own EXT-X-MAP then.  (Init 0 is never made.) */
        v->cur.msn = w->next_msn;
        if (w->nsegs > 0)
            v->cur.init_id = seg_at(w, w->nsegs - 1)->init_id;
    }
}

void
sl_hls_window_rates(const struct sl_hls_window *w, uint32_t *peak,
                    uint32_t *avg)
{
    uint64_t bytes = 0, ms = 0;

    *peak = *avg = 0;
    for (uint32_t i = 0; i < w->nsegs; i++) {
        const struct sl_hls_wseg *s = seg_at(w, i);
        uint64_t                  d = s->dur_ms > 0 ? s->dur_ms : 1;
        uint64_t                  r = s->bytes * 8000 / d;

        if (r > *peak)
            *peak = r > UINT32_MAX ? UINT32_MAX : (uint32_t) r;
        bytes += s->bytes;
        ms += d;
    }
    if (ms > 0) {
        uint64_t r = bytes * 8000 / ms;

        *avg = r > UINT32_MAX ? UINT32_MAX : (uint32_t) r;
    }
}

double
sl_hls_window_fps(const struct sl_hls_window *w)
{
    uint64_t frames = 0, ms = 0;

    for (uint32_t i = 0; i < w->nsegs; i++) {
        frames += seg_at(w, i)->frames;
        ms += seg_at(w, i)->dur_ms;
    }
    return ms > 0 && frames > 0 ? (double) frames * 1000.0 / (double) ms : 0;
}

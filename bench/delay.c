/*
 * The ladder's added delay (--rungs): how much later a rung's pictures
 * reach an RTMP player than the same pictures of the source reach
 * another player of the same server, playing at the same time.
 *
 * Player 0 plays the source, player k the k-th rung (STREAM_NAME).
 * Every video frame a player reads is kept as (presentation time, read
 * time).  The presentation time is the message's timestamp plus the
 * composition time offset of its AVC header: the ladder encodes each
 * picture with the source's presentation time, but a rung's decode
 * times differ from the source's wherever either has B-frames, so only
 * presentation times match picture for picture.
 *
 * At the end, for every source frame read inside the window, the rung
 * frame with the same presentation time is looked up; the difference of
 * the two read times is one sample.  A source frame the rung never
 * carried (dropped by the ladder, or not out before the drain ended) is
 * counted as missing.  Frames read before the window (the GOP caches
 * the players got at once when they joined) never count.
 *
 * The delay measured this way is everything between the source's
 * player and the rung's: the ladder's queue, decoding, scaling,
 * encoding and the hub's handling of the rung, both players' write
 * merging included.  What happens before the hub (the publisher, the
 * network) is common to both and cancels out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

/* One video frame as a player read it. */
struct arrival {
    int64_t pts;   /* ms */
    int64_t at_us; /* read time */
};

struct track {
    struct arrival *a;
    size_t          n, cap;
    int             oom; /* a frame could not be kept */
};

static struct {
    struct track t[1 + SL_BENCH_MAX_RUNGS];
    int64_t      win_start_us, win_end_us;
} D;

void
sl_bench_delay_window(int64_t start_us, int64_t end_us)
{
    D.win_start_us = start_us;
    D.win_end_us = end_us;
}

void
sl_bench_delay_video(const struct sl_bench_conn *c, uint32_t ts,
                     const uint8_t *body, uint32_t len, int64_t at)
{
    struct track *t;
    int32_t       cts;

    /* AVC frames only: codec id 7, packet type 1 (not a sequence
     * header or its end).  The composition time is a signed 24-bit
     * number. */
    if (c->stream_ix > sl_bench.opt.nrungs || len < 5 ||
        (body[0] & 0x0f) != 7 || body[1] != 1)
        return;
    cts = (int32_t) ((uint32_t) body[2] << 16 | (uint32_t) body[3] << 8 |
                     body[4]);
    if (cts & 0x800000)
        cts -= 0x1000000;
    t = &D.t[c->stream_ix];
    if (t->n == t->cap) {
        size_t          cap = t->cap ? t->cap * 2 : 1024;
        struct arrival *a = realloc(t->a, cap * sizeof(*a));

        if (a == NULL) {
            t->oom = 1;
            return;
        }
        t->a = a;
        t->cap = cap;
    }
    t->a[t->n].pts = (int64_t) ts + cts;
    t->a[t->n].at_us = at;
    t->n++;
}

static int
by_pts(const void *x, const void *y)
{
    const struct arrival *a = x, *b = y;

    return (a->pts > b->pts) - (a->pts < b->pts);
}

static int
by_value(const void *x, const void *y)
{
    int64_t a = *(const int64_t *) x, b = *(const int64_t *) y;

    return (a > b) - (a < b);
}

/* The first read of the frame at pts in a track sorted by pts, or
 * NULL. */
static const struct arrival *
find(const struct track *t, int64_t pts)
{
    size_t lo = 0, hi = t->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (t->a[mid].pts < pts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n && t->a[lo].pts == pts ? &t->a[lo] : NULL;
}

/* The q-quantile (0..1) of n sorted microsecond values, in ms: the
 * value at rank q * (n - 1), rounded. */
static double
quantile_ms(const int64_t *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    return (double) v[(size_t) (q * (double) (n - 1) + 0.5)] / 1000.0;
}

int
sl_bench_delay_report(void)
{
    const struct sl_bench_options *o = &sl_bench.opt;
    struct track                  *src = &D.t[0];
    int64_t                       *d;
    size_t                         expected = 0;
    int                            rc = 0;

    for (int i = 0; i <= o->nrungs; i++) {
        if (D.t[i].oom) {
            fprintf(stderr, "sluice-bench: out of memory\n");
            return -ENOMEM;
        }
        if (D.t[i].n > 0)
            qsort(D.t[i].a, D.t[i].n, sizeof(D.t[i].a[0]), by_pts);
    }
    for (size_t j = 0; j < src->n; j++)
        if (src->a[j].at_us >= D.win_start_us && src->a[j].at_us < D.win_end_us)
            expected++;
    d = malloc((expected ? expected : 1) * sizeof(*d));
    if (d == NULL) {
        fprintf(stderr, "sluice-bench: out of memory\n");
        return -ENOMEM;
    }
    printf("delay source=%s window_s=%.1f source_frames=%zu\n",
           sl_bench.play_at.stream,
           (double) (D.win_end_us - D.win_start_us) / 1e6, expected);
    for (int i = 1; i <= o->nrungs; i++) {
        size_t nd = 0, missing = 0;

        for (size_t j = 0; j < src->n; j++) {
            const struct arrival *s = &src->a[j], *r;

            if (s->at_us < D.win_start_us || s->at_us >= D.win_end_us)
                continue;
            r = find(&D.t[i], s->pts);
            if (r == NULL)
                missing++;
            else
                d[nd++] = r->at_us - s->at_us;
        }
        qsort(d, nd, sizeof(d[0]), by_value);
        printf("delay rung=%s frames=%zu missing=%zu median_ms=%.0f "
               "p90_ms=%.0f min_ms=%.0f max_ms=%.0f\n",
               o->rungs[i - 1], nd, missing, quantile_ms(d, nd, 0.5),
               quantile_ms(d, nd, 0.9), quantile_ms(d, nd, 0),
               quantile_ms(d, nd, 1));
        if (nd == 0)
            rc = -ENODATA;
    }
    free(d);
    return rc;
}

void
sl_bench_delay_free(void)
{
    for (int i = 0; i <= SL_BENCH_MAX_RUNGS; i++) {
        free(D.t[i].a);
        memset(&D.t[i], 0, sizeof(D.t[i]));
    }
}

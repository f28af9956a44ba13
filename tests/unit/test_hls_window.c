/*
 * The segment/part window of one HLS variant (hls/window.h): segments
 * opened, filled with parts and closed; the ring of `keep` complete
 * segments and the buffers of the ones that leave (the live buffer
 * count and each buffer's reference count say nothing leaks and
 * nothing is released twice); the discontinuity sequence; the lookups
 * a request makes (find, has, last_part) in every case their comments
 * name; the view a playlist is rendered from; rates and frame rate;
 * the part limit.
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "hls/window.h"
#include "pool/buf.h"

/* A part of len bytes (their value does not matter). */
static struct sl_buf *
part_buf(size_t len)
{
    struct sl_buf *b = sl_buf_new(len);

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    memset(b->data, 0xab, len);
    b->len = (uint32_t) len;
    return b;
}

/* Opens a segment at start_ms, adds nparts parts of part_ms each (the
 * first independent) of bytes bytes each, and closes it where its
 * parts end. */
static void
add_segment(struct sl_hls_window *w, int64_t start_ms, uint32_t nparts,
            uint32_t part_ms, size_t bytes, int disc)
{
    sl_hls_window_open(w, start_ms, 1000000 + start_ms, 1, disc);
    for (uint32_t i = 0; i < nparts; i++)
        sl_hls_window_add_part(w, part_buf(bytes), part_ms, i == 0);
    sl_hls_window_close(w, start_ms + (int64_t) nparts * part_ms);
}

static void
test_init_clamps_keep(void)
{
    struct sl_hls_window w;

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 0, 5), 0);
    CU_ASSERT_EQUAL(w.keep, 1);
    CU_ASSERT_EQUAL(w.nsegs, 0);
    CU_ASSERT_EQUAL(w.next_msn, 5);
    CU_ASSERT(!w.cur_open);
    sl_hls_window_free(&w);
    CU_ASSERT_PTR_NULL(w.segs);
    sl_hls_window_free(&w); /* twice is harmless */

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 1000, 0), 0);
    CU_ASSERT_EQUAL(w.keep, SL_HLS_MAX_SEGMENTS);
    sl_hls_window_free(&w);
}

/* Five segments through a window of three: the two oldest leave with
 * their buffers, each released exactly once. */
static void
test_keep_releases_oldest(void)
{
    struct sl_hls_window w;
    long                 before = sl_buf_live_count();
    struct sl_buf       *watched;

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 3, 100), 0);
    /* Segment 100's first part, with a reference of our own. */
    watched = part_buf(10);
    sl_buf_ref(watched);
    sl_hls_window_open(&w, 0, 1000000, 1, 0);
    CU_ASSERT(w.cur_open);
    CU_ASSERT_EQUAL(w.cur.msn, 100);
    sl_hls_window_add_part(&w, watched, 500, 1);
    for (int p = 1; p < 4; p++)
        sl_hls_window_add_part(&w, part_buf(10), 500, 0);
    CU_ASSERT_EQUAL(w.cur.nparts, 4);
    CU_ASSERT_EQUAL(w.cur.bytes, 40);
    CU_ASSERT_EQUAL(w.nsegs, 0); /* open is not complete */
    sl_hls_window_close(&w, 2000);
    CU_ASSERT(!w.cur_open);
    CU_ASSERT_EQUAL(w.nsegs, 1);
    CU_ASSERT_EQUAL(w.next_msn, 101);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before + 4);

    for (int i = 1; i < 5; i++) {
        add_segment(&w, i * 2000, 4, 500, 10, 0);
        CU_ASSERT_EQUAL(w.nsegs, i + 1 < 3 ? (uint32_t) i + 1 : 3);
        /* Our reference keeps segment 100's first part alive. */
        CU_ASSERT_EQUAL(sl_buf_live_count(),
                        before + 4 * (i + 1 < 3 ? i + 1 : 3) + (i >= 3));
        CU_ASSERT_EQUAL(w.total_segments, (uint64_t) i + 1);
        CU_ASSERT_EQUAL(w.next_msn, 101 + (uint64_t) i);
        /* Held by the window and by us until segment 100 leaves. */
        CU_ASSERT_EQUAL(atomic_load(&watched->refs), i < 3 ? 2u : 1u);
    }
    /* 102, 103, 104 remain, oldest first. */
    CU_ASSERT_PTR_NULL(sl_hls_window_find(&w, 100));
    CU_ASSERT_PTR_NULL(sl_hls_window_find(&w, 101));
    for (uint64_t m = 102; m <= 104; m++) {
        const struct sl_hls_wseg *s = sl_hls_window_find(&w, m);

        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(s->msn, m);
        CU_ASSERT_EQUAL(s->start_ms, (int64_t) (m - 100) * 2000);
        CU_ASSERT_EQUAL(s->dur_ms, 2000);
        CU_ASSERT_EQUAL(s->nparts, 4);
        CU_ASSERT(s->parts[0].independent && !s->parts[1].independent);
    }
    sl_buf_unref(watched);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before + 12);
    sl_hls_window_free(&w);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

/* The open segment's parts are released by free too; keep 1 works. */
static void
test_free_with_open_segment(void)
{
    struct sl_hls_window w;
    long                 before = sl_buf_live_count();

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 1, 0), 0);
    for (int i = 0; i < 4; i++) {
        add_segment(&w, i * 1000, 2, 500, 7, 0);
        CU_ASSERT_EQUAL(w.nsegs, 1);
        CU_ASSERT_EQUAL(sl_buf_live_count(), before + 2);
    }
    CU_ASSERT_PTR_NOT_NULL(sl_hls_window_find(&w, 3));
    CU_ASSERT_PTR_NULL(sl_hls_window_find(&w, 2));
    sl_hls_window_open(&w, 4000, 0, 1, 0);
    sl_hls_window_add_part(&w, part_buf(7), 500, 1);
    sl_hls_window_add_part(&w, part_buf(7), 500, 0);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before + 4);
    sl_hls_window_free(&w);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

/* A segment's duration: end - start when the caller gives it, else the
 * sum of its parts. */
static void
test_close_duration(void)
{
    struct sl_hls_window      w;
    const struct sl_hls_wseg *s;

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 4, 0), 0);
    sl_hls_window_open(&w, 1000, 0, 1, 0);
    sl_hls_window_add_part(&w, part_buf(1), 300, 1);
    sl_hls_window_add_part(&w, part_buf(1), 300, 0);
    sl_hls_window_close(&w, 1633);
    s = sl_hls_window_find(&w, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->dur_ms, 633);
    CU_ASSERT_EQUAL(w.max_dur_ms, 633);

    /* An end at (or before) the start: the parts' sum. */
    sl_hls_window_open(&w, 2000, 0, 1, 0);
    sl_hls_window_add_part(&w, part_buf(1), 300, 1);
    sl_hls_window_add_part(&w, part_buf(1), 450, 0);
    sl_hls_window_close(&w, 2000);
    s = sl_hls_window_find(&w, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->dur_ms, 750);
    CU_ASSERT_EQUAL(w.max_dur_ms, 750);

    /* Shorter segments leave the longest as it was. */
    add_segment(&w, 3000, 1, 100, 1, 0);
    CU_ASSERT_EQUAL(w.max_dur_ms, 750);
    sl_hls_window_free(&w);
}

/* The discontinuity sequence counts the discontinuities that left the
 * window, each once, when its segment leaves. */
static void
test_disc_seq(void)
{
    struct sl_hls_window w;
    /* Segments 0..7; 1, 2 and 5 carry a discontinuity. */
    static const int disc[8] = {0, 1, 1, 0, 0, 1, 0, 0};
    /* disc_seq after closing segment i, keep 3: segment i-3 leaves. */
    static const uint32_t want[8] = {0, 0, 0, 0, 1, 2, 2, 2};

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 3, 0), 0);
    for (int i = 0; i < 8; i++) {
        add_segment(&w, i * 1000, 1, 1000, 1, disc[i]);
        CU_ASSERT_EQUAL(w.disc_seq, want[i]);
    }
    /* 5, 6, 7 remain; 5 still carries its tag. */
    CU_ASSERT(sl_hls_window_find(&w, 5)->discontinuity);
    add_segment(&w, 8000, 1, 1000, 1, 0);
    add_segment(&w, 9000, 1, 1000, 1, 0);
    CU_ASSERT_EQUAL(w.disc_seq, 3);
    sl_hls_window_free(&w);
}

/* An encoding that changes mid-stream (packager: a new init whose
 * headers differ): the first segment of the new one carries the
 * discontinuity and names the new init, so the playlist has
 * EXT-X-DISCONTINUITY right before its EXT-X-MAP; when it leaves the
 * window the sequence counts it and the oldest segment listed names
 * the new init. */
static void
test_encoding_change(void)
{
    struct sl_hls_window     w;
    struct sl_hls_media_view v = {.query = ""};
    struct sl_hls_seg        segs[SL_HLS_MAX_SEGMENTS];
    static struct sl_hls_part
                parts[(SL_HLS_MAX_SEGMENTS + 1) * SL_HLS_MAX_PARTS];
    char        text[8192];
    const char *d, *m;

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 3, 100), 0);
    for (int i = 0; i < 4; i++) {
        /* 100, 101 of init 1; 102, 103 of init 2, 102 the first. */
        sl_hls_window_open(&w, i * 1000, 1000000 + i * 1000, i < 2 ? 1 : 2,
                           i == 2);
        sl_hls_window_add_part(&w, part_buf(8), 1000, 1);
        sl_hls_window_close(&w, (i + 1) * 1000);
    }
    sl_hls_window_view(&w, &v, segs, parts);
    CU_ASSERT_FATAL(sl_hls_render_media(&v, text, sizeof(text)) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"));
    d = strstr(text, "#EXT-X-DISCONTINUITY\n");
    m = strstr(text, "#EXT-X-MAP:URI=\"init2.mp4\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    /* The tag, then the new map, then segment 102's date and URI. */
    CU_ASSERT(m == d + strlen("#EXT-X-DISCONTINUITY\n"));
    CU_ASSERT(strstr(m, "s102.m4s") != NULL);
    CU_ASSERT(strstr(text, "s101.m4s") < d);
    /* Only one discontinuity. */
    CU_ASSERT_PTR_NULL(strstr(d + 1, "#EXT-X-DISCONTINUITY\n"));

    /* Two more segments of init 2: 102 leaves, the sequence counts it. */
    for (int i = 4; i < 6; i++) {
        sl_hls_window_open(&w, i * 1000, 1000000 + i * 1000, 2, 0);
        sl_hls_window_add_part(&w, part_buf(8), 1000, 1);
        sl_hls_window_close(&w, (i + 1) * 1000);
    }
    sl_hls_window_view(&w, &v, segs, parts);
    CU_ASSERT_FATAL(sl_hls_render_media(&v, text, sizeof(text)) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "#EXT-X-DISCONTINUITY-SEQUENCE:1\n"));
    CU_ASSERT_PTR_NULL(strstr(text, "#EXT-X-DISCONTINUITY\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "#EXT-X-MAP:URI=\"init2.mp4\""));
    CU_ASSERT_PTR_NULL(strstr(text, "init1.mp4"));
    sl_hls_window_free(&w);
}

/* A segment closed without parts is dropped: no entry, no number used,
 * nothing leaves the window for it. */
static void
test_empty_segment_dropped(void)
{
    struct sl_hls_window w;
    uint64_t             msn;
    uint32_t             part;

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 1, 7), 0);
    add_segment(&w, 0, 2, 500, 3, 0);
    CU_ASSERT_EQUAL(w.next_msn, 8);
    sl_hls_window_open(&w, 1000, 0, 1, 0);
    CU_ASSERT_EQUAL(w.cur.msn, 8);
    sl_hls_window_close(&w, 2000);
    CU_ASSERT(!w.cur_open);
    CU_ASSERT_EQUAL(w.nsegs, 1);
    CU_ASSERT_EQUAL(w.total_segments, 1);
    CU_ASSERT_EQUAL(w.next_msn, 8);
    CU_ASSERT_PTR_NULL(sl_hls_window_find(&w, 8));
    /* Segment 7 did not leave for it. */
    CU_ASSERT_PTR_NOT_NULL(sl_hls_window_find(&w, 7));
    CU_ASSERT_EQUAL(sl_hls_window_last_part(&w, &msn, &part), 0);
    CU_ASSERT(msn == 7 && part == 1);
    /* The next segment takes the number. */
    sl_hls_window_open(&w, 2000, 0, 1, 0);
    CU_ASSERT_EQUAL(w.cur.msn, 8);
    /* Closing twice, or with nothing open, changes nothing. */
    sl_hls_window_close(&w, 2000);
    sl_hls_window_close(&w, 2000);
    CU_ASSERT_EQUAL(w.nsegs, 1);
    CU_ASSERT_EQUAL(w.next_msn, 8);
    sl_hls_window_free(&w);
}

/* Complete (10..12 after 9 left), open (13), gone and future. */
static void
test_find(void)
{
    struct sl_hls_window      w;
    const struct sl_hls_wseg *s;

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 3, 9), 0);
    CU_ASSERT_PTR_NULL(sl_hls_window_find(&w, 9)); /* nothing yet */
    CU_ASSERT_PTR_NULL(sl_hls_window_find(&w, 0));
    for (int i = 0; i < 4; i++)
        add_segment(&w, i * 2000, 2, 1000, 5, 0);
    sl_hls_window_open(&w, 8000, 0, 2, 0);
    sl_hls_window_add_part(&w, part_buf(5), 1000, 1);

    for (uint64_t m = 10; m <= 12; m++) {
        s = sl_hls_window_find(&w, m);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(s->msn, m);
        CU_ASSERT_EQUAL(s->nparts, 2);
        CU_ASSERT(s != &w.cur);
    }
    s = sl_hls_window_find(&w, 13);
    CU_ASSERT_PTR_EQUAL(s, &w.cur);
    CU_ASSERT_EQUAL(s->nparts, 1);
    CU_ASSERT_EQUAL(s->init_id, 2);
    CU_ASSERT_PTR_NULL(sl_hls_window_find(&w, 9));  /* gone */
    CU_ASSERT_PTR_NULL(sl_hls_window_find(&w, 0));  /* long gone */
    CU_ASSERT_PTR_NULL(sl_hls_window_find(&w, 14)); /* future */
    CU_ASSERT_PTR_NULL(sl_hls_window_find(&w, UINT64_MAX));

    /* Closed: 13 is complete, the open slot answers no more. */
    sl_hls_window_close(&w, 9000);
    s = sl_hls_window_find(&w, 13);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT(s != &w.cur);
    CU_ASSERT_EQUAL(s->msn, 13);
    CU_ASSERT_PTR_NULL(sl_hls_window_find(&w, 10));
    CU_ASSERT_PTR_NULL(sl_hls_window_find(&w, 14));
    sl_hls_window_free(&w);
}

/* Every case of sl_hls_window_has's comment. */
static void
test_has(void)
{
    struct sl_hls_window w;

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 3, 10), 0);
    /* Nothing yet: segment 10 is the next, 12 the furthest answerable. */
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 10, -1), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 10, 0), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 12, 0), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 13, -1), -1);
    /* No blocking request at all. */
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, -1, -1), 1);

    /* Complete 11, 12, 13 (10 gone), open 14 with two parts. */
    for (int i = 0; i < 4; i++)
        add_segment(&w, i * 1500, 3, 500, 5, 0);
    sl_hls_window_open(&w, 6000, 0, 1, 0);
    sl_hls_window_add_part(&w, part_buf(5), 500, 1);
    sl_hls_window_add_part(&w, part_buf(5), 500, 0);

    /* Complete: the whole segment, any of its parts, or a part index
     * past its last (a later part exists). */
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 11, -1), 1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 13, -1), 1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 13, 0), 1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 13, 2), 1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 13, 5), 1);
    /* Gone: the playlist answers. */
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 10, -1), 1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 0, 0), 1);
    /* Open: the parts it has, not the next one, not the whole. */
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 14, 0), 1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 14, 1), 1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 14, 2), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 14, 30), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 14, -1), 0);
    /* One and two ahead: not yet. */
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 15, -1), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 15, 0), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 16, -1), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 16, 3), 0);
    /* More than two ahead: never. */
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 17, -1), -1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 17, 0), -1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, INT64_MAX, 0), -1);
    /* A part index no segment can have: never, wherever. */
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 14, SL_HLS_MAX_PARTS - 1), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 14, SL_HLS_MAX_PARTS), -1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 15, SL_HLS_MAX_PARTS), -1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 12, SL_HLS_MAX_PARTS), -1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 14, INT64_MAX), -1);

    /* Between segments (14 closed, 15 not open yet): 15 is "the open
     * one" to come, 17 two past it. */
    sl_hls_window_close(&w, 7000);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 14, -1), 1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 14, 1), 1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 15, -1), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 15, 0), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 17, 0), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 18, 0), -1);
    /* Open and still empty. */
    sl_hls_window_open(&w, 7000, 0, 1, 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 15, 0), 0);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 15, -1), 0);
    sl_hls_window_add_part(&w, part_buf(5), 500, 1);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 15, 0), 1);
    sl_hls_window_free(&w);
}

static void
test_last_part(void)
{
    struct sl_hls_window w;
    uint64_t             msn = 99;
    uint32_t             part = 99;

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 2, 4), 0);
    CU_ASSERT_EQUAL(sl_hls_window_last_part(&w, &msn, &part), -1);
    sl_hls_window_open(&w, 0, 0, 1, 0);
    CU_ASSERT_EQUAL(sl_hls_window_last_part(&w, &msn, &part), -1);
    CU_ASSERT(msn == 99 && part == 99); /* untouched */
    sl_hls_window_add_part(&w, part_buf(1), 500, 1);
    CU_ASSERT_EQUAL(sl_hls_window_last_part(&w, &msn, &part), 0);
    CU_ASSERT(msn == 4 && part == 0);
    sl_hls_window_add_part(&w, part_buf(1), 500, 0);
    sl_hls_window_add_part(&w, part_buf(1), 500, 0);
    CU_ASSERT_EQUAL(sl_hls_window_last_part(&w, &msn, &part), 0);
    CU_ASSERT(msn == 4 && part == 2);
    sl_hls_window_close(&w, 1500);
    CU_ASSERT_EQUAL(sl_hls_window_last_part(&w, &msn, &part), 0);
    CU_ASSERT(msn == 4 && part == 2);
    /* A new, empty segment: still the complete one's last part. */
    sl_hls_window_open(&w, 1500, 0, 1, 0);
    CU_ASSERT_EQUAL(sl_hls_window_last_part(&w, &msn, &part), 0);
    CU_ASSERT(msn == 4 && part == 2);
    sl_hls_window_add_part(&w, part_buf(1), 500, 1);
    CU_ASSERT_EQUAL(sl_hls_window_last_part(&w, &msn, &part), 0);
    CU_ASSERT(msn == 5 && part == 0);
    sl_hls_window_free(&w);
}

/* Six complete 2 s segments of four 500 ms parts (target 2 s, so
 * three target durations are 6 s) and an open one with two parts: the
 * live edge is at 13 s, and only the segments ending after 7 s (the
 * last three) list their parts. */
static void
test_view(void)
{
    static struct sl_hls_seg segs[SL_HLS_MAX_SEGMENTS];
    static struct sl_hls_part
                         parts[(SL_HLS_MAX_SEGMENTS + 1) * SL_HLS_MAX_PARTS];
    struct sl_hls_window w;
    struct sl_hls_media_view v;

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 6, 20), 0);
    /* Nothing at all: target 1, cur is the first segment to come. */
    memset(&v, 0xff, sizeof(v));
    sl_hls_window_view(&w, &v, segs, parts);
    CU_ASSERT_EQUAL(v.target_s, 1);
    CU_ASSERT_EQUAL(v.nsegs, 0);
    CU_ASSERT_EQUAL(v.disc_seq, 0);
    CU_ASSERT_EQUAL(v.cur.msn, 20);
    CU_ASSERT_EQUAL(v.cur.nparts, 0);

    /* Only an open segment: the target comes from its parts. */
    sl_hls_window_open(&w, 0, 5000000, 3, 0);
    for (int p = 0; p < 3; p++)
        sl_hls_window_add_part(&w, part_buf(4), 500, p == 0);
    sl_hls_window_view(&w, &v, segs, parts);
    CU_ASSERT_EQUAL(v.target_s, 2); /* 1.5 s, rounded up */
    CU_ASSERT_EQUAL(v.cur.msn, 20);
    CU_ASSERT_EQUAL(v.cur.nparts, 3);
    CU_ASSERT_EQUAL(v.cur.pdt_ms, 5000000);
    CU_ASSERT_EQUAL(v.cur.init_id, 3);
    sl_hls_window_close(&w, 1500);

    /* 20 left with 1.5 s; 21..26 of 2 s, 23 with a discontinuity. */
    for (int i = 0; i < 6; i++)
        add_segment(&w, 1500 + i * 2000, 4, 500, 100, i == 2);
    CU_ASSERT_EQUAL(w.nsegs, 6);
    sl_hls_window_open(&w, 13500, 7000, 4, 0);
    sl_hls_window_add_part(&w, part_buf(4), 500, 1);
    sl_hls_window_add_part(&w, part_buf(4), 500, 0);

    memset(&v, 0, sizeof(v));
    memset(segs, 0xff, sizeof(segs));
    sl_hls_window_view(&w, &v, segs, parts);
    CU_ASSERT_EQUAL(v.target_s, 2);
    CU_ASSERT_EQUAL(v.disc_seq, 0);
    CU_ASSERT_EQUAL_FATAL(v.nsegs, 6);
    CU_ASSERT_PTR_EQUAL(v.segs, segs);
    for (uint32_t i = 0; i < 6; i++) {
        const struct sl_hls_seg *s = &v.segs[i];

        CU_ASSERT_EQUAL(s->msn, 21 + i);
        CU_ASSERT_EQUAL(s->dur_ms, 2000);
        CU_ASSERT_EQUAL(s->pdt_ms, 1000000 + 1500 + (int64_t) i * 2000);
        CU_ASSERT_EQUAL(s->init_id, 1);
        CU_ASSERT_EQUAL(s->discontinuity, i == 2);
        if (i < 3) {
            CU_ASSERT_EQUAL(s->nparts, 0);
            CU_ASSERT_PTR_NULL(s->parts);
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(s->nparts, 4);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s->parts);
        for (uint32_t p = 0; p < 4; p++) {
            CU_ASSERT_EQUAL(s->parts[p].dur_ms, 500);
            CU_ASSERT_EQUAL(s->parts[p].independent, p == 0);
        }
    }
    /* The parts of different segments do not overlap in the scratch. */
    CU_ASSERT_PTR_EQUAL(v.segs[4].parts, v.segs[3].parts + 4);
    CU_ASSERT_PTR_EQUAL(v.segs[5].parts, v.segs[4].parts + 4);
    CU_ASSERT_EQUAL(v.cur.msn, 27);
    CU_ASSERT_EQUAL(v.cur.pdt_ms, 7000);
    CU_ASSERT_EQUAL(v.cur.init_id, 4);
    CU_ASSERT_EQUAL_FATAL(v.cur.nparts, 2);
    CU_ASSERT_PTR_EQUAL(v.cur.parts, v.segs[5].parts + 4);
    CU_ASSERT(v.cur.parts[0].independent && !v.cur.parts[1].independent);
    CU_ASSERT_EQUAL(v.cur.parts[1].dur_ms, 500);

    /* Closed, nothing open: cur is the next number, without parts; the
     * edge moved back to 14 s, so 24..27 list theirs. */
    sl_hls_window_close(&w, 14500);
    sl_hls_window_view(&w, &v, segs, parts);
    CU_ASSERT_EQUAL(v.nsegs, 6);
    CU_ASSERT_EQUAL(v.segs[0].msn, 22);
    CU_ASSERT_EQUAL(v.disc_seq, 0);
    CU_ASSERT_EQUAL(v.cur.msn, 28);
    CU_ASSERT_EQUAL(v.cur.nparts, 0);
    CU_ASSERT_PTR_NULL(v.cur.parts);
    /* Its hinted part is read with the init in force (27's), not an
     * init 0 that never exists. */
    CU_ASSERT_EQUAL(v.cur.init_id, 4);
    CU_ASSERT_EQUAL(v.segs[1].nparts, 0);
    CU_ASSERT_EQUAL(v.segs[2].nparts, 4);
    CU_ASSERT_EQUAL(v.segs[5].nparts, 2);
    CU_ASSERT_EQUAL(v.segs[5].dur_ms, 1000);

    /* The discontinuity leaves: the sequence says so. */
    add_segment(&w, 14500, 4, 500, 1, 0);
    add_segment(&w, 16500, 4, 500, 1, 0);
    sl_hls_window_view(&w, &v, segs, parts);
    CU_ASSERT_EQUAL(v.segs[0].msn, 24);
    CU_ASSERT_EQUAL(v.disc_seq, 1);
    sl_hls_window_free(&w);
}

/* The target is the longest segment so far, rounded up to whole
 * seconds. */
static void
test_view_target(void)
{
    static struct sl_hls_seg segs[SL_HLS_MAX_SEGMENTS];
    static struct sl_hls_part
                         parts[(SL_HLS_MAX_SEGMENTS + 1) * SL_HLS_MAX_PARTS];
    struct sl_hls_window w;
    struct sl_hls_media_view v;

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 2, 0), 0);
    add_segment(&w, 0, 1, 2001, 1, 0);
    sl_hls_window_view(&w, &v, segs, parts);
    CU_ASSERT_EQUAL(v.target_s, 3);
    /* It does not shrink when the long segment leaves. */
    add_segment(&w, 2001, 1, 1000, 1, 0);
    add_segment(&w, 3001, 1, 1000, 1, 0);
    sl_hls_window_view(&w, &v, segs, parts);
    CU_ASSERT_EQUAL(v.segs[0].msn, 1);
    CU_ASSERT_EQUAL(v.target_s, 3);
    /* With the target 3 s all parts of 2 s of segments are listed. */
    CU_ASSERT_EQUAL(v.segs[0].nparts, 1);
    CU_ASSERT_EQUAL(v.segs[1].nparts, 1);
    sl_hls_window_free(&w);
}

static void
test_rates_and_fps(void)
{
    struct sl_hls_window w;
    uint32_t             peak = 1, avg = 1;

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 3, 0), 0);
    sl_hls_window_rates(&w, &peak, &avg);
    CU_ASSERT(peak == 0 && avg == 0);
    CU_ASSERT_EQUAL(sl_hls_window_fps(&w), 0);

    /* The open segment does not count. */
    sl_hls_window_open(&w, 0, 0, 1, 0);
    sl_hls_window_add_part(&w, part_buf(125000), 1000, 1);
    sl_hls_window_add_part(&w, part_buf(125000), 1000, 0);
    w.cur.frames = 50;
    sl_hls_window_rates(&w, &peak, &avg);
    CU_ASSERT(peak == 0 && avg == 0);
    CU_ASSERT_EQUAL(sl_hls_window_fps(&w), 0);

    /* 250000 bytes in 2 s: 1 Mbit/s, 25 fps. */
    sl_hls_window_close(&w, 2000);
    sl_hls_window_rates(&w, &peak, &avg);
    CU_ASSERT_EQUAL(peak, 1000000);
    CU_ASSERT_EQUAL(avg, 1000000);
    CU_ASSERT_DOUBLE_EQUAL(sl_hls_window_fps(&w), 25.0, 1e-9);

    /* Then 250000 bytes in 1 s, 30 frames: peak 2 Mbit/s, average
     * 500000 bytes over 3 s, 80 frames over 3 s. */
    sl_hls_window_open(&w, 2000, 0, 1, 0);
    sl_hls_window_add_part(&w, part_buf(250000), 1000, 1);
    w.cur.frames = 30;
    sl_hls_window_close(&w, 3000);
    sl_hls_window_rates(&w, &peak, &avg);
    CU_ASSERT_EQUAL(peak, 2000000);
    CU_ASSERT_EQUAL(avg, 1333333);
    CU_ASSERT_DOUBLE_EQUAL(sl_hls_window_fps(&w), 80.0 / 3.0, 1e-9);

    /* Audio only: no frames, fps 0, rates still there. */
    sl_hls_window_free(&w);
    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 3, 0), 0);
    add_segment(&w, 0, 2, 1000, 16000, 0);
    sl_hls_window_rates(&w, &peak, &avg);
    CU_ASSERT(peak == 128000 && avg == 128000);
    CU_ASSERT_EQUAL(sl_hls_window_fps(&w), 0);
    sl_hls_window_free(&w);
}

/* part_full says when one part is left; the limit holds, and a part
 * past it is released, not leaked or stored. */
static void
test_part_full(void)
{
    struct sl_hls_window w;
    long                 before = sl_buf_live_count();
    uint64_t             msn;
    uint32_t             part;

    CU_ASSERT_EQUAL_FATAL(sl_hls_window_init(&w, 2, 0), 0);
    CU_ASSERT(!sl_hls_window_part_full(&w));
    sl_hls_window_open(&w, 0, 0, 1, 0);
    for (int i = 0; i < SL_HLS_MAX_PARTS - 2; i++)
        sl_hls_window_add_part(&w, part_buf(1), 10, i == 0);
    CU_ASSERT(!sl_hls_window_part_full(&w));
    sl_hls_window_add_part(&w, part_buf(1), 10, 0);
    CU_ASSERT(sl_hls_window_part_full(&w)); /* one more fits */
    CU_ASSERT_EQUAL(w.cur.nparts, SL_HLS_MAX_PARTS - 1);
    sl_hls_window_add_part(&w, part_buf(1), 10, 0);
    CU_ASSERT_EQUAL(w.cur.nparts, SL_HLS_MAX_PARTS);
    CU_ASSERT_EQUAL(sl_hls_window_has(&w, 0, SL_HLS_MAX_PARTS - 1), 1);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before + SL_HLS_MAX_PARTS);
    /* Past the limit: dropped, its reference released. */
    sl_hls_window_add_part(&w, part_buf(1), 10, 0);
    CU_ASSERT_EQUAL(w.cur.nparts, SL_HLS_MAX_PARTS);
    CU_ASSERT_EQUAL(w.cur.bytes, SL_HLS_MAX_PARTS);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before + SL_HLS_MAX_PARTS);
    CU_ASSERT_EQUAL(sl_hls_window_last_part(&w, &msn, &part), 0);
    CU_ASSERT(msn == 0 && part == SL_HLS_MAX_PARTS - 1);
    sl_hls_window_close(&w, 640);
    CU_ASSERT(!sl_hls_window_part_full(&w)); /* nothing open */
    CU_ASSERT_EQUAL(sl_hls_window_find(&w, 0)->nparts, SL_HLS_MAX_PARTS);
    /* With nothing open a part is released too. */
    sl_hls_window_add_part(&w, part_buf(1), 10, 0);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before + SL_HLS_MAX_PARTS);
    /* A new segment starts with room again. */
    sl_hls_window_open(&w, 640, 0, 1, 0);
    CU_ASSERT(!sl_hls_window_part_full(&w));
    sl_hls_window_free(&w);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

void
sl_test_suite_hls_window(void)
{
    CU_pSuite s = CU_add_suite("hls_window", NULL, NULL);

    CU_add_test(s, "init clamps keep", test_init_clamps_keep);
    CU_add_test(s, "keep: the oldest leaves with its buffers",
                test_keep_releases_oldest);
    CU_add_test(s, "free with an open segment", test_free_with_open_segment);
    CU_add_test(s, "segment duration on close", test_close_duration);
    CU_add_test(s, "discontinuity sequence", test_disc_seq);
    CU_add_test(s, "an encoding change mid-stream", test_encoding_change);
    CU_add_test(s, "an empty segment is dropped", test_empty_segment_dropped);
    CU_add_test(s, "find", test_find);
    CU_add_test(s, "has", test_has);
    CU_add_test(s, "last part", test_last_part);
    CU_add_test(s, "view lists recent parts", test_view);
    CU_add_test(s, "view target duration", test_view_target);
    CU_add_test(s, "rates and fps", test_rates_and_fps);
    CU_add_test(s, "part limit", test_part_full);
}

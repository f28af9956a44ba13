#include <CUnit/CUnit.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool/buf.h"
#include "pool/clock.h"
#include "pool/sched.h"
#include "rtmp/chunk.h"
#include "rtmp/flv.h"
#include "server/hub.h"
#include "server/outq.h"

/* A subscriber for tests: its task only counts runs. */
struct fake_player {
    struct sl_task task;
    struct sl_outq q;
    struct sl_sub  sub;
    atomic_int     runs;
};

static struct sl_sched *sched;

static void
count_run(struct sl_task *t)
{
    struct fake_player *p = (struct fake_player *) t;

    atomic_fetch_add(&p->runs, 1);
}

static void
no_destroy(struct sl_task *t)
{
}

static void
player_init(struct fake_player *p, uint32_t cap)
{
    memset(p, 0, sizeof(*p));
    sl_task_init(&p->task, sched, count_run, no_destroy);
    CU_ASSERT_EQUAL_FATAL(sl_outq_init(&p->q, cap), 0);
    p->sub.q = &p->q;
    p->sub.task = &p->task;
    p->sub.max_lag_ms = 5000;
}

/* The scheduler may still run the fake task after the test is done with
 * it; wait until it is idle before its stack memory goes away. */
static void
player_fini(struct fake_player *p)
{
    struct timespec ts = {0, 1000000};

    if (p->sub.stream != NULL)
        sl_hub_unsubscribe(&p->sub);
    /* A queued or running task holds a reference besides ours; the
     * worker's final unref is its last touch of the task. */
    for (int i = 0; i < 5000; i++) {
        if (atomic_load(&p->task.refs) == 1 &&
            atomic_load(&p->task.state) == SL_TASK_IDLE)
            break;
        nanosleep(&ts, NULL);
    }
    CU_ASSERT_EQUAL(atomic_load(&p->task.refs), 1);
    sl_outq_destroy(&p->q);
}

static int
suite_init(void)
{
    sched = sl_sched_new(1, 256);
    return sched == NULL || sl_sched_start(sched) < 0;
}

static int
suite_clean(void)
{
    sl_sched_stop(sched);
    sl_sched_free(sched);
    return 0;
}

static struct sl_hub *
new_hub_ring(uint32_t merge, int gop, uint32_t ring)
{
    struct sl_hub_limits lim = {.chunk_size = 4096,
                                .merge_write_ms = merge,
                                .gop_cache = gop,
                                .gop_max_msgs = 64,
                                .gop_max_bytes = 1 << 20,
                                .ring_max_msgs = ring};

    return sl_hub_new(&lim);
}

static struct sl_hub *
new_hub_aged(int gop, uint32_t ring_ms)
{
    struct sl_hub_limits lim = {.chunk_size = 4096,
                                .gop_cache = gop,
                                .gop_max_msgs = 512,
                                .gop_max_bytes = 1 << 20,
                                .ring_max_ms = ring_ms};

    return sl_hub_new(&lim);
}

static struct sl_hub *
new_hub(uint32_t merge, int gop)
{
    return new_hub_ring(merge, gop, 0);
}

static void
feed(struct sl_stream *s, uint8_t type, uint32_t ts, const uint8_t *body,
     size_t len, uint64_t now)
{
    struct sl_buf *b = sl_buf_from(body, len);

    CU_ASSERT_EQUAL(sl_hub_media(s, type, ts, b, now), 0);
    sl_buf_unref(b);
}

static const uint8_t AVC_SEQ[] = {0x17, 0, 0, 0, 0, 1, 0x64};
static const uint8_t AVC_KEY[] = {0x17, 1, 0, 0, 0, 0xaa};
static const uint8_t AVC_INTER[] = {0x27, 1, 0, 0, 0, 0xbb};
static const uint8_t AAC_SEQ[] = {0xaf, 0, 0x12, 0x10};
static const uint8_t AAC_RAW[] = {0xaf, 1, 0x21};
/* @setDataFrame("onMetaData", {width: 640}) */
static const uint8_t META[] = {
    2,    0,   13,  '@', 's', 'e', 't', 'D', 'a', 't', 'a', 'F', 'r',
    'a',  'm', 'e', 2,   0,   10,  'o', 'n', 'M', 'e', 't', 'a', 'D',
    'a',  't', 'a', 3,   0,   5,   'w', 'i', 'd', 't', 'h', 0,   0x40,
    0x84, 0,   0,   0,   0,   0,   0,   0,   0,   9};

/* What the player would write next, in order: its private queue, then
 * the ring from its cursor.  Ring entries are collected and given back
 * (the cursor returns), so this only looks; it does apply the drop
 * policy, as a real write would.  Every m[i].buf is a reference the
 * caller drops with release(). */
#define PEND_MAX 256
static int
pending(struct fake_player *p, struct sl_sub_msg *m)
{
    struct sl_sub_msg ring[PEND_MAX];
    int               n = 0, r;

    /* Collect first: a skip queues headers privately. */
    r = sl_sub_collect(&p->sub, ring, PEND_MAX / 2);
    if (r > 0)
        sl_sub_rewind(&p->sub, ring[0].seq);
    for (uint32_t i = p->q.head; i != p->q.tail && n < PEND_MAX / 2; i++, n++) {
        struct sl_outq_item *it = &p->q.items[i & (p->q.cap - 1)];

        m[n] = (struct sl_sub_msg){sl_buf_ref(it->buf), UINT64_MAX, it->ts,
                                   it->flags};
    }
    memcpy(m + n, ring, (size_t) r * sizeof(*ring));
    return n + r;
}

static void
release(struct sl_sub_msg *m, int n)
{
    for (int i = 0; i < n; i++)
        sl_buf_unref(m[i].buf);
}

/* Parses a queued wire message back with a chunk reader. */
static uint8_t
wire_type(struct sl_sub_msg *it, uint32_t *ts, struct sl_buf **payload)
{
    struct sl_chunk_reader *r = sl_chunk_reader_new(1 << 20, 8);
    struct sl_chunk_msg     m = {0};
    uint8_t                 type = 0;

    sl_chunk_reader_set_chunk_size(r, 4096);
    sl_chunk_read(r, it->buf->data, it->buf->len, &m);
    if (m.payload != NULL) {
        type = m.type;
        *ts = m.timestamp;
        CU_ASSERT_EQUAL(m.msid, 1);
        if (payload != NULL)
            *payload = m.payload;
        else
            sl_buf_unref(m.payload);
    }
    sl_chunk_reader_free(r);
    return type;
}

static void
test_late_joiner_gets_caches(void)
{
    long               bufs = sl_buf_live_count();
    struct sl_hub     *hub = new_hub(0, 1);
    struct sl_stream  *s;
    struct fake_player p;
    struct sl_buf     *meta = NULL;
    struct sl_sub_msg  m[PEND_MAX];
    uint32_t           ts;
    int                n;

    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &p, &s), 0);
    feed(s, 18, 0, META, sizeof(META), 1000);
    feed(s, 9, 0, AVC_SEQ, sizeof(AVC_SEQ), 1000);
    feed(s, 8, 0, AAC_SEQ, sizeof(AAC_SEQ), 1000);
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000);
    feed(s, 9, 33, AVC_INTER, sizeof(AVC_INTER), 1033);
    feed(s, 9, 66, AVC_KEY, sizeof(AVC_KEY), 1066);
    feed(s, 8, 70, AAC_RAW, sizeof(AAC_RAW), 1070);
    feed(s, 9, 100, AVC_INTER, sizeof(AVC_INTER), 1100);

    player_init(&p, 64);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    /* meta, video seq, audio seq, then the GOP from the last keyframe. */
    n = pending(&p, m);
    CU_ASSERT_EQUAL_FATAL(n, 6);
    CU_ASSERT_EQUAL(wire_type(&m[0], &ts, &meta), 18);
    CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
    /* @setDataFrame is gone: players get onMetaData first. */
    CU_ASSERT_EQUAL(meta->data[0], 2);
    CU_ASSERT_EQUAL(memcmp(meta->data + 3, "onMetaData", 10), 0);
    sl_buf_unref(meta);
    CU_ASSERT_EQUAL(wire_type(&m[1], &ts, NULL), 9);
    CU_ASSERT_EQUAL(wire_type(&m[2], &ts, NULL), 8);
    CU_ASSERT_EQUAL(wire_type(&m[3], &ts, NULL), 9);
    CU_ASSERT_EQUAL(ts, 66);
    CU_ASSERT(m[3].flags & SL_OUT_SYNC);
    CU_ASSERT_EQUAL(wire_type(&m[4], &ts, NULL), 8);
    CU_ASSERT_EQUAL(wire_type(&m[5], &ts, NULL), 9);
    CU_ASSERT_EQUAL(ts, 100);
    release(m, n);

    /* Live messages follow. */
    feed(s, 9, 133, AVC_INTER, sizeof(AVC_INTER), 1133);
    n = pending(&p, m);
    CU_ASSERT_EQUAL(n, 7);
    release(m, n);

    sl_hub_unpublish(s, &p);
    player_fini(&p);
    {
        struct sl_hub_stats st;

        sl_hub_stats(hub, &st);
        CU_ASSERT_EQUAL(st.streams, 0);
        CU_ASSERT_EQUAL(st.subscribers, 0);
    }
    sl_hub_free(hub);
    CU_ASSERT_EQUAL(sl_buf_live_count(), bufs);
}

/* sl_hub_live_streams: what is published, with derived marked; a
 * waiting player's stream is not live; max bounds the copy, not the
 * count. */
static void
test_live_streams(void)
{
    struct sl_hub     *hub = new_hub(0, 1);
    struct sl_stream  *s1, *s2;
    struct fake_player p;
    struct sl_hub_name out[4];
    int                a, b, n, derived = -1;

    player_init(&p, 64);
    CU_ASSERT_EQUAL(sl_hub_live_streams(hub, NULL, 0), 0);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "waiting", &p.sub), 0);
    CU_ASSERT_EQUAL(sl_hub_publish(hub, "live", "x", &a, &s1), 0);
    CU_ASSERT_EQUAL(sl_hub_publish_derived(hub, "live", "x_r1", &b, &s2), 0);
    CU_ASSERT_EQUAL(sl_hub_live_streams(hub, NULL, 0), 2);
    CU_ASSERT_EQUAL(sl_hub_live_streams(hub, out, 1), 2);
    n = sl_hub_live_streams(hub, out, 4);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    for (int i = 0; i < n; i++) {
        CU_ASSERT_STRING_EQUAL(out[i].app, "live");
        if (strcmp(out[i].name, "x_r1") == 0)
            derived = out[i].derived;
        else
            CU_ASSERT(strcmp(out[i].name, "x") == 0 && !out[i].derived);
    }
    CU_ASSERT_EQUAL(derived, 1);
    sl_hub_unpublish(s2, &b);
    sl_hub_unpublish(s1, &a);
    CU_ASSERT_EQUAL(sl_hub_live_streams(hub, out, 4), 0);
    player_fini(&p);
    sl_hub_free(hub);
}

static void
test_second_publisher_refused(void)
{
    struct sl_hub    *hub = new_hub(0, 1);
    struct sl_stream *s, *s2;
    int               a, b;

    CU_ASSERT_EQUAL(sl_hub_publish(hub, "live", "x", &a, &s), 0);
    CU_ASSERT_EQUAL(sl_hub_publish(hub, "live", "x", &b, &s2), -EBUSY);
    CU_ASSERT(sl_hub_is_live(hub, "live", "x"));
    /* Only the owner can unpublish. */
    sl_hub_unpublish(s, &b);
    CU_ASSERT(sl_hub_is_live(hub, "live", "x"));
    sl_hub_unpublish(s, &a);
    CU_ASSERT(!sl_hub_is_live(hub, "live", "x"));
    CU_ASSERT_EQUAL(sl_hub_publish(hub, "live", "x", &b, &s2), 0);
    sl_hub_unpublish(s2, &b);
    sl_hub_free(hub);
}

static void
test_without_gop_cache_waits_for_keyframe(void)
{
    struct sl_hub     *hub = new_hub(0, 0);
    struct sl_stream  *s;
    struct fake_player p;
    struct sl_sub_msg  m[PEND_MAX];
    uint32_t           ts;
    int                n;

    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &p, &s), 0);
    feed(s, 9, 0, AVC_SEQ, sizeof(AVC_SEQ), 1000);
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000);
    player_init(&p, 64);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    n = pending(&p, m);
    CU_ASSERT_EQUAL(n, 1); /* only the sequence header */
    release(m, n);
    feed(s, 9, 33, AVC_INTER, sizeof(AVC_INTER), 1033);
    feed(s, 8, 40, AAC_RAW, sizeof(AAC_RAW), 1040);
    n = pending(&p, m);
    CU_ASSERT_EQUAL(n, 1); /* dropped until a keyframe */
    release(m, n);
    feed(s, 9, 66, AVC_KEY, sizeof(AVC_KEY), 1066);
    n = pending(&p, m);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(wire_type(&m[1], &ts, NULL), 9);
    CU_ASSERT_EQUAL(ts, 66);
    release(m, n);
    player_fini(&p);
    sl_hub_unpublish(s, &p);
    sl_hub_free(hub);
}

static void
test_timeline_survives_reconnect_and_wrap(void)
{
    struct sl_hub     *hub = new_hub(0, 1);
    struct sl_stream  *s;
    struct fake_player p;
    int                pub1, pub2, n;
    uint32_t           prev = 0;
    struct sl_sub_msg  m[PEND_MAX];

    player_init(&p, 256);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &pub1, &s), 0);
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000);
    feed(s, 9, 1000, AVC_INTER, sizeof(AVC_INTER), 2000);
    sl_hub_unpublish(s, &pub1);
    /* A new publisher starts again at 0: players must not go back. */
    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &pub2, &s), 0);
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 2500);
    feed(s, 9, 40, AVC_INTER, sizeof(AVC_INTER), 2540);
    /* A step forward the wall clock allows, then a jump back of more
     * than a second in the middle of a publication. */
    feed(s, 9, 3000, AVC_INTER, sizeof(AVC_INTER), 2580);
    feed(s, 9, 100, AVC_INTER, sizeof(AVC_INTER), 2600);
    /* A leap far beyond the wall clock. */
    feed(s, 9, 900000, AVC_INTER, sizeof(AVC_INTER), 2620);
    n = pending(&p, m);
    CU_ASSERT_EQUAL_FATAL(n, 7);
    for (int i = 0; i < n; i++) {
        uint32_t ts = m[i].ts, wts = 0;

        CU_ASSERT(ts >= prev);
        CU_ASSERT(ts - prev <= 3000);
        /* The timestamp the bytes carry is the one the ring keeps. */
        CU_ASSERT_EQUAL(wire_type(&m[i], &wts, NULL), 9);
        CU_ASSERT_EQUAL(wts, ts);
        prev = ts;
    }
    release(m, n);
    sl_hub_unpublish(s, &pub2);

    /* The 32-bit wrap: raw 0xffffff00 -> 0x40 is +320 ms, not a jump. */
    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "y", &pub1, &s), 0);
    feed(s, 9, 0xffffff00u, AVC_KEY, sizeof(AVC_KEY), 5000);
    feed(s, 9, 0x40, AVC_INTER, sizeof(AVC_INTER), 5320);
    {
        struct sl_hub_stats st;

        sl_hub_stats(hub, &st);
        CU_ASSERT_EQUAL(st.timestamp_fixes, 2);
    }
    sl_hub_unpublish(s, &pub1);
    player_fini(&p);
    sl_hub_free(hub);
}

static void
test_slow_player_skips(void)
{
    long               bufs = sl_buf_live_count();
    struct sl_hub     *hub = new_hub(0, 1);
    struct sl_stream  *s;
    struct fake_player p;
    struct sl_sub_msg  m[PEND_MAX];
    uint32_t           ts;
    int                pub, n;

    player_init(&p, 8);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &pub, &s), 0);
    feed(s, 9, 0, AVC_SEQ, sizeof(AVC_SEQ), 1000);
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000);
    /* Caught up once: the player has written the first keyframe. */
    n = sl_sub_collect(&p.sub, m, PEND_MAX);
    CU_ASSERT_EQUAL(n, 2);
    release(m, n);
    /* Then it stalls while 6 s of frames arrive, with a keyframe at
     * 3 s that is within max_lag of the newest frame. */
    for (uint32_t i = 1; i <= 180; i++) {
        if (i == 90)
            feed(s, 9, i * 33, AVC_KEY, sizeof(AVC_KEY), 1000 + i * 33);
        else
            feed(s, 9, i * 33, AVC_INTER, sizeof(AVC_INTER), 1000 + i * 33);
    }
    n = pending(&p, m);
    CU_ASSERT_EQUAL(p.sub.skips, 1);
    /* It resumes at the newest keyframe; no header changed, so none is
     * queued again. */
    CU_ASSERT_EQUAL_FATAL(n, 91); /* frames 90 to 180 */
    CU_ASSERT(m[0].flags & SL_OUT_SYNC);
    CU_ASSERT_EQUAL(wire_type(&m[0], &ts, NULL), 9);
    CU_ASSERT_EQUAL(ts, 90 * 33);
    release(m, n);

    /* A new codec header, then a stall past every keyframe in reach:
     * the player waits for the next keyframe and gets the new header
     * first. */
    n = sl_sub_collect(&p.sub, m, PEND_MAX);
    release(m, n);
    n = sl_sub_collect(&p.sub, m, PEND_MAX);
    release(m, n);
    CU_ASSERT_EQUAL(n, 0);
    feed(s, 9, 6000, AVC_SEQ, sizeof(AVC_SEQ), 7000);
    for (uint32_t i = 1; i <= 170; i++)
        feed(s, 9, 6000 + i * 33, AVC_INTER, sizeof(AVC_INTER), 7000 + i * 33);
    n = pending(&p, m);
    CU_ASSERT_EQUAL(p.sub.skips, 2);
    CU_ASSERT_EQUAL(n, 1); /* the header, privately */
    release(m, n);
    feed(s, 9, 12000, AVC_KEY, sizeof(AVC_KEY), 13000);
    n = pending(&p, m);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(m[0].seq, UINT64_MAX);
    CU_ASSERT_EQUAL(wire_type(&m[1], &ts, NULL), 9);
    CU_ASSERT_EQUAL(ts, 12000);
    release(m, n);
    CU_ASSERT_EQUAL(p.sub.skips, 2);

    sl_hub_unpublish(s, &pub);
    player_fini(&p);
    sl_hub_free(hub);
    CU_ASSERT_EQUAL(sl_buf_live_count(), bufs);
}

static void
test_evicted_cursor_skips_and_rewind_keeps_wait(void)
{
    long               bufs = sl_buf_live_count();
    struct sl_hub     *hub = new_hub_ring(0, 1, 16);
    struct sl_stream  *s;
    struct fake_player p, late;
    struct sl_sub_msg  m[PEND_MAX];
    int                pub, n;

    player_init(&p, 8);
    player_init(&late, 8);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &pub, &s), 0);
    feed(s, 9, 0, AVC_SEQ, sizeof(AVC_SEQ), 1000);
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000);
    n = sl_sub_collect(&p.sub, m, PEND_MAX);
    CU_ASSERT_EQUAL(n, 2);
    release(m, n);
    /* 40 messages through a 16-entry ring: the keyframe is evicted, so
     * the GOP is not offered any more and the stalled cursor is behind
     * the ring's oldest entry. */
    for (uint32_t i = 1; i <= 40; i++)
        feed(s, 9, i * 10, AVC_INTER, sizeof(AVC_INTER), 1000 + i * 10);
    n = pending(&p, m);
    CU_ASSERT_EQUAL(p.sub.skips, 1);
    CU_ASSERT_EQUAL(n, 1); /* the header again, nothing from the ring */
    release(m, n);

    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &late.sub), 0);
    n = pending(&late, m);
    CU_ASSERT_EQUAL(n, 1); /* header only: it waits for a keyframe */
    release(m, n);

    /* The late joiner starts at the next keyframe; a cursor given back
     * to before that keyframe (a short write) waits for it again. */
    feed(s, 9, 500, AVC_INTER, sizeof(AVC_INTER), 1500);
    feed(s, 9, 510, AVC_KEY, sizeof(AVC_KEY), 1510);
    feed(s, 9, 520, AVC_INTER, sizeof(AVC_INTER), 1520);
    n = sl_sub_collect(&late.sub, m, PEND_MAX);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT(m[0].flags & SL_OUT_SYNC);
    sl_sub_rewind(&late.sub, m[0].seq - 1);
    release(m, n);
    n = sl_sub_collect(&late.sub, m, PEND_MAX);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT(m[0].flags & SL_OUT_SYNC);
    release(m, n);
    CU_ASSERT_EQUAL(late.sub.skips, 0);

    sl_hub_unpublish(s, &pub);
    player_fini(&late);
    player_fini(&p);
    sl_hub_free(hub);
    CU_ASSERT_EQUAL(sl_buf_live_count(), bufs);
}

static void
test_ring_age_bound_keeps_the_gop(void)
{
    long               bufs = sl_buf_live_count();
    struct sl_hub     *hub;
    struct sl_stream  *s;
    struct fake_player p;
    struct sl_sub_msg  m[PEND_MAX];
    uint32_t           ts;
    int                pub, n;

    /* With a GOP cache the GOP outlives the age bound: a joiner after
     * 3 s still starts at the keyframe. */
    hub = new_hub_aged(1, 1000);
    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &pub, &s), 0);
    feed(s, 9, 0, AVC_SEQ, sizeof(AVC_SEQ), 1000);
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000);
    for (uint32_t i = 1; i <= 90; i++)
        feed(s, 9, i * 33, AVC_INTER, sizeof(AVC_INTER), 1000 + i * 33);
    player_init(&p, 8);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    n = pending(&p, m);
    CU_ASSERT_EQUAL_FATAL(n, 92); /* header + keyframe + 90 frames */
    CU_ASSERT_EQUAL(wire_type(&m[1], &ts, NULL), 9);
    CU_ASSERT(m[1].flags & SL_OUT_SYNC);
    CU_ASSERT_EQUAL(ts, 0);
    release(m, n);
    player_fini(&p);
    sl_hub_unpublish(s, &pub);
    sl_hub_free(hub);

    /* Without one, only the last second (and a bit) stays: a cursor
     * left at the start falls out of the ring and skips. */
    hub = new_hub_aged(0, 1000);
    player_init(&p, 8);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &pub, &s), 0);
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000);
    n = sl_sub_collect(&p.sub, m, PEND_MAX);
    CU_ASSERT_EQUAL(n, 1);
    release(m, n);
    for (uint32_t i = 1; i <= 90; i++)
        feed(s, 9, i * 33, AVC_INTER, sizeof(AVC_INTER), 1000 + i * 33);
    p.sub.max_lag_ms = 60000; /* only the eviction can make it skip */
    n = pending(&p, m);
    CU_ASSERT_EQUAL(p.sub.skips, 1);
    CU_ASSERT_EQUAL(n, 0); /* waits for the next keyframe */
    release(m, n);
    player_fini(&p);
    sl_hub_unpublish(s, &pub);
    sl_hub_free(hub);
    CU_ASSERT_EQUAL(sl_buf_live_count(), bufs);
}

/* One thread publishes through a small ring while another collects and
 * writes nowhere: under TSan this checks the ring's locking, and the
 * buffer count checks that eviction and collection share references
 * correctly. */
struct stress_pub {
    struct sl_stream *s;
    int               n;
    int               failed;
};

static void *
stress_publisher(void *arg)
{
    struct stress_pub *sp = arg;

    /* No CU_ASSERT here: CUnit's counters are not thread-safe. */
    for (int i = 0; i < sp->n; i++) {
        struct sl_buf *b =
            sl_buf_from(i % 50 == 0 ? AVC_KEY : AVC_INTER, sizeof(AVC_KEY));

        if (b == NULL ||
            sl_hub_media(sp->s, 9, (uint32_t) i, b, 1000 + (uint64_t) i) < 0)
            sp->failed = 1;
        sl_buf_unref(b);
    }
    return NULL;
}

static void
test_ring_concurrent_publish_and_collect(void)
{
    long               bufs = sl_buf_live_count();
    struct sl_hub     *hub = new_hub_ring(1, 1, 32);
    struct sl_stream  *s;
    struct fake_player p;
    struct sl_sub_msg  m[16];
    struct stress_pub  sp;
    pthread_t          th;
    uint64_t           last = 0;
    int                pub, ok = 1;

    player_init(&p, 8);
    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &pub, &s), 0);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    sp = (struct stress_pub){s, 20000, 0};
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, stress_publisher, &sp), 0);
    for (int round = 0; round < 20000; round++) {
        int n = sl_sub_collect(&p.sub, m, 16);

        for (int i = 0; i < n; i++) {
            if (last != 0 && m[i].seq <= last)
                ok = 0;
            last = m[i].seq;
            /* Read the bytes, as writev would, while eviction goes on. */
            if (m[i].buf->data[0] != 0x07) /* fmt 0, csid 7 */
                ok = 0;
        }
        /* Now and then give back the tail, as a short write does. */
        if (n > 2 && round % 7 == 0) {
            sl_sub_rewind(&p.sub, m[n / 2].seq);
            last = m[n / 2].seq - 1;
        }
        release(m, n);
    }
    pthread_join(th, NULL);
    CU_ASSERT(ok);
    CU_ASSERT(!sp.failed);
    sl_hub_unpublish(s, &pub);
    player_fini(&p);
    sl_hub_free(hub);
    CU_ASSERT_EQUAL(sl_buf_live_count(), bufs);
}

static void
test_merge_window_batches_wakes(void)
{
    struct sl_hub     *hub = new_hub(50, 1);
    struct sl_stream  *s;
    struct fake_player p;
    int                pub;
    uint64_t           due;

    player_init(&p, 64);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &pub, &s), 0);
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000); /* wakes: window open */
    feed(s, 9, 10, AVC_INTER, sizeof(AVC_INTER), 1010);
    feed(s, 9, 20, AVC_INTER, sizeof(AVC_INTER), 1020);
    due = sl_hub_flush(s, 1020);
    CU_ASSERT_EQUAL(due, 1050);
    CU_ASSERT_EQUAL(sl_hub_flush(s, 1050), 0); /* flushed now */
    CU_ASSERT_EQUAL(sl_hub_flush(s, 1060), 0); /* nothing pending */
    /* A reload to merge 0: the next message is written at once, so no
     * flush is left pending. */
    feed(s, 9, 70, AVC_INTER, sizeof(AVC_INTER), 1070);
    CU_ASSERT_EQUAL(sl_hub_flush(s, 1071), 1100);
    sl_hub_reload(hub, 0, 1, 0);
    sl_hub_flush(s, 1100);
    feed(s, 9, 80, AVC_INTER, sizeof(AVC_INTER), 1125);
    CU_ASSERT_EQUAL(sl_hub_flush(s, 1126), 0);
    sl_hub_unpublish(s, &pub);
    player_fini(&p);
    sl_hub_free(hub);
}

/* The stream keeps its subscribers in arrays a leaving one's slot is
 * filled from the end of: with players leaving from the middle, every
 * remaining one is still woken by a message, and none that left is. */
static void
test_subscribers_leave_from_the_middle(void)
{
    enum { N = 40 };
    struct sl_hub      *hub = new_hub(0, 1);
    struct sl_stream   *s;
    struct fake_player *p = calloc(N, sizeof(*p));
    int                 pub, before[N], missed = 0, extra = 0;
    struct timespec     ts = {0, 1000000};

    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < N; i++) {
        player_init(&p[i], 64);
        CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p[i].sub), 0);
    }
    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &pub, &s), 0);
    for (int i = 0; i < N; i += 3)
        player_fini(&p[i]);
    for (int i = 0; i < N; i++) {
        for (int k = 0;
             k < 5000 && atomic_load(&p[i].task.state) != SL_TASK_IDLE; k++)
            nanosleep(&ts, NULL);
        before[i] = atomic_load(&p[i].runs);
    }
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000);
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0) {
            extra += atomic_load(&p[i].runs) != before[i];
            continue;
        }
        for (int k = 0; k < 5000 && atomic_load(&p[i].runs) == before[i]; k++)
            nanosleep(&ts, NULL);
        missed += atomic_load(&p[i].runs) == before[i];
    }
    CU_ASSERT_EQUAL(missed, 0);
    CU_ASSERT_EQUAL(extra, 0);
    sl_hub_unpublish(s, &pub);
    for (int i = 0; i < N; i++) {
        if (i % 3 != 0)
            player_fini(&p[i]);
    }
    sl_hub_free(hub);
    free(p);
}

/* A tap for tests: records what it is handed. */
struct rec_tap {
    struct sl_tap tap;
    int           n, ends;
    uint8_t       types[16];
    int64_t       ts[16];
    uint32_t      lens[16];
};

static void
rec_media(struct sl_tap *t, uint8_t type, int64_t ts, struct sl_buf *b)
{
    struct rec_tap *r = (struct rec_tap *) t;

    if (r->n < 16) {
        r->types[r->n] = type;
        r->ts[r->n] = ts;
        r->lens[r->n] = b->len;
    }
    r->n++;
}

static void
rec_end(struct sl_tap *t)
{
    ((struct rec_tap *) t)->ends++;
}

struct rec_events {
    int  n, derived[8], kinds[8];
    char names[8][32];
};

static void
rec_event(void *ctx, const struct sl_hub_event *ev)
{
    struct rec_events *e = ctx;

    if (e->n < 8) {
        e->kinds[e->n] = ev->kind;
        e->derived[e->n] = ev->derived;
        snprintf(e->names[e->n], sizeof(e->names[0]), "%s/%s", ev->app,
                 ev->name);
    }
    e->n++;
}

static void
test_taps_and_observers(void)
{
    struct sl_hub    *hub = new_hub(0, 1);
    struct sl_stream *s, *d;
    struct rec_tap    early = {0}, late = {0};
    struct rec_events ev = {0};
    int               pub;

    CU_ASSERT_EQUAL(sl_hub_add_observer(hub, rec_event, &ev), 0);
    early.tap.on_media = late.tap.on_media = rec_media;
    early.tap.on_end = late.tap.on_end = rec_end;
    /* A tap before the publisher sees everything, bodies not wire. */
    CU_ASSERT_EQUAL(sl_hub_tap(hub, "live", "a", &early.tap), 0);
    CU_ASSERT_EQUAL(early.n, 0);
    CU_ASSERT_EQUAL(sl_hub_publish(hub, "live", "a", &pub, &s), 0);
    CU_ASSERT_EQUAL(ev.n, 1);
    CU_ASSERT_EQUAL(ev.kinds[0], SL_HUB_PUBLISH);
    CU_ASSERT_EQUAL(ev.derived[0], 0);
    CU_ASSERT_STRING_EQUAL(ev.names[0], "live/a");
    feed(s, 18, 0, META, sizeof(META), 1);
    feed(s, 9, 0, AVC_SEQ, sizeof(AVC_SEQ), 1);
    feed(s, 8, 0, AAC_SEQ, sizeof(AAC_SEQ), 1);
    feed(s, 9, 40, AVC_KEY, sizeof(AVC_KEY), 1);
    feed(s, 8, 0xFFFFFFF0u, AAC_RAW, sizeof(AAC_RAW), 1);
    CU_ASSERT_EQUAL_FATAL(early.n, 5);
    CU_ASSERT_EQUAL(early.types[0], 18);
    /* @setDataFrame is gone: the body starts with "onMetaData". */
    CU_ASSERT_EQUAL(early.lens[0], sizeof(META) - 16);
    CU_ASSERT_EQUAL(early.lens[1], sizeof(AVC_SEQ));
    CU_ASSERT_EQUAL(early.ts[3], 40);
    /* A small step back across the 32-bit wrap stays on the timeline:
     * taps get it extended, and a track never goes back. */
    CU_ASSERT_EQUAL(early.ts[4], 0);
    /* A late tap gets the cached metadata and headers first. */
    CU_ASSERT_EQUAL(sl_hub_tap(hub, "live", "a", &late.tap), 0);
    CU_ASSERT_EQUAL_FATAL(late.n, 3);
    CU_ASSERT_EQUAL(late.types[0], 18);
    CU_ASSERT_EQUAL(late.types[1], 9);
    CU_ASSERT_EQUAL(late.types[2], 8);
    /* A derived stream is announced as such. */
    CU_ASSERT_EQUAL(sl_hub_publish_derived(hub, "live", "a_360p", &pub, &d), 0);
    CU_ASSERT_EQUAL(ev.n, 2);
    CU_ASSERT_EQUAL(ev.derived[1], 1);
    sl_hub_unpublish(d, &pub);
    CU_ASSERT_EQUAL(ev.kinds[2], SL_HUB_UNPUBLISH);
    CU_ASSERT_EQUAL(ev.derived[2], 1);
    /* The publisher leaves: taps hear it and stay attached, so the
     * stream entry stays too. */
    sl_hub_unpublish(s, &pub);
    CU_ASSERT_EQUAL(early.ends, 1);
    CU_ASSERT_EQUAL(late.ends, 1);
    CU_ASSERT_EQUAL(ev.n, 4);
    sl_hub_untap(&early.tap);
    sl_hub_untap(&late.tap);
    CU_ASSERT_PTR_NULL(early.tap.stream);
    sl_hub_free(hub);
}

/* Feeds as a publisher that may stand by; returns sl_hub's result. */
static int
feed_as(struct sl_stream *s, const void *who, uint8_t type, uint32_t ts,
        const uint8_t *body, size_t len, uint64_t now)
{
    struct sl_buf *b = sl_buf_from(body, len);
    int            rc = sl_hub_publisher_media(s, who, type, ts, b, now);

    sl_buf_unref(b);
    return rc;
}

/* Hot standby: a second publisher is held, its media kept and not
 * delivered; when the primary leaves, it takes over with its headers
 * and its GOP from the last keyframe, on the same timeline, with no
 * event for observers and no end for taps.  The old primary returning
 * is held as the standby; a standby that leaves is just dropped. */
static void
test_standby_takes_over_when_primary_leaves(void)
{
    long               bufs = sl_buf_live_count();
    struct sl_hub     *hub = new_hub(0, 1);
    struct sl_stream  *s, *s2, *s3;
    struct fake_player p;
    struct rec_tap     tap = {0};
    struct rec_events  ev = {0};
    struct sl_sub_msg  m[PEND_MAX];
    int                a, b, c, n;
    uint32_t           ts, prev = 0;
    uint64_t           t0 = sl_now_ms();

    CU_ASSERT_EQUAL(sl_hub_add_observer(hub, rec_event, &ev), 0);
    tap.tap.on_media = rec_media;
    tap.tap.on_end = rec_end;
    CU_ASSERT_EQUAL(sl_hub_tap(hub, "live", "x", &tap.tap), 0);
    player_init(&p, 256);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);

    CU_ASSERT_EQUAL_FATAL(
        sl_hub_publish_backup(hub, "live", "x", &a, 1, 60000, &s), 0);
    CU_ASSERT_EQUAL_FATAL(
        sl_hub_publish_backup(hub, "live", "x", &b, 2, 60000, &s2), 1);
    CU_ASSERT_PTR_EQUAL(s2, s);
    /* At most one standby; a plain publish is refused as ever. */
    CU_ASSERT_EQUAL(sl_hub_publish_backup(hub, "live", "x", &c, 3, 60000, &s3),
                    -EBUSY);
    CU_ASSERT_EQUAL(sl_hub_publish(hub, "live", "x", &c, &s3), -EBUSY);
    CU_ASSERT_EQUAL(sl_hub_standby_id(hub, "live", "x"), 2);
    CU_ASSERT_EQUAL(ev.n, 2); /* the primary's PUBLISH and SUBSCRIBE */

    CU_ASSERT_EQUAL(feed_as(s, &a, 18, 0, META, sizeof(META), t0), 0);
    CU_ASSERT_EQUAL(feed_as(s, &a, 9, 0, AVC_SEQ, sizeof(AVC_SEQ), t0), 0);
    CU_ASSERT_EQUAL(feed_as(s, &a, 8, 0, AAC_SEQ, sizeof(AAC_SEQ), t0), 0);
    CU_ASSERT_EQUAL(feed_as(s, &a, 9, 0, AVC_KEY, sizeof(AVC_KEY), t0), 0);
    CU_ASSERT_EQUAL(
        feed_as(s, &a, 9, 33, AVC_INTER, sizeof(AVC_INTER), t0 + 33), 0);
    /* The standby's clock is its own. */
    feed_as(s, &b, 18, 0, META, sizeof(META), t0);
    feed_as(s, &b, 9, 0, AVC_SEQ, sizeof(AVC_SEQ), t0);
    feed_as(s, &b, 8, 0, AAC_SEQ, sizeof(AAC_SEQ), t0);
    feed_as(s, &b, 9, 5000, AVC_KEY, sizeof(AVC_KEY), t0);
    feed_as(s, &b, 9, 5033, AVC_INTER, sizeof(AVC_INTER), t0 + 10);
    feed_as(s, &b, 8, 5040, AAC_RAW, sizeof(AAC_RAW), t0 + 10);
    feed_as(s, &b, 9, 5066, AVC_KEY, sizeof(AVC_KEY), t0 + 20);
    feed_as(s, &b, 8, 5070, AAC_RAW, sizeof(AAC_RAW), t0 + 20);
    CU_ASSERT_EQUAL(
        feed_as(s, &b, 9, 5100, AVC_INTER, sizeof(AVC_INTER), t0 + 30), 0);
    n = pending(&p, m);
    CU_ASSERT_EQUAL(n, 5); /* the primary's only */
    release(m, n);
    CU_ASSERT_EQUAL(tap.n, 5);

    sl_hub_unpublish(s, &a);
    CU_ASSERT(sl_hub_is_live(hub, "live", "x"));
    CU_ASSERT_EQUAL(sl_hub_standby_id(hub, "live", "x"), 0);
    CU_ASSERT_EQUAL(ev.n, 2); /* no UNPUBLISH, no PUBLISH */
    CU_ASSERT_EQUAL(tap.ends, 0);
    CU_ASSERT_EQUAL(tap.n, 11);
    /* The old primary feeds no more. */
    CU_ASSERT_EQUAL(feed_as(s, &a, 9, 66, AVC_INTER, sizeof(AVC_INTER), t0),
                    -EPERM);
    CU_ASSERT_EQUAL(
        feed_as(s, &b, 9, 5133, AVC_INTER, sizeof(AVC_INTER), t0 + 40), 0);
    n = pending(&p, m);
    CU_ASSERT_EQUAL_FATAL(n, 12);
    /* Headers again, then the kept GOP from its keyframe, then live;
     * the timeline goes on 40 ms after the old primary's last frame. */
    CU_ASSERT_EQUAL(wire_type(&m[5], &ts, NULL), 18);
    CU_ASSERT_EQUAL(wire_type(&m[6], &ts, NULL), 9);
    CU_ASSERT_EQUAL(wire_type(&m[7], &ts, NULL), 8);
    CU_ASSERT_EQUAL(wire_type(&m[8], &ts, NULL), 9);
    CU_ASSERT_EQUAL(ts, 73);
    CU_ASSERT(m[8].flags & SL_OUT_SYNC);
    CU_ASSERT_EQUAL(wire_type(&m[9], &ts, NULL), 8);
    CU_ASSERT_EQUAL(ts, 77);
    CU_ASSERT_EQUAL(wire_type(&m[10], &ts, NULL), 9);
    CU_ASSERT_EQUAL(ts, 107);
    CU_ASSERT_EQUAL(m[11].ts, 140);
    for (int i = 0; i < n; i++) {
        if (m[i].flags & SL_OUT_MEDIA) {
            CU_ASSERT(m[i].ts >= prev);
            prev = m[i].ts;
        }
    }
    release(m, n);

    /* A late joiner starts from the new primary's caches. */
    {
        struct fake_player late;

        player_init(&late, 64);
        CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &late.sub), 0);
        n = pending(&late, m);
        CU_ASSERT_EQUAL(n, 7); /* 3 headers, key, audio, 2 inter */
        release(m, n);
        player_fini(&late);
    }

    /* The old primary returns: it is the standby now; leaving, it is
     * just forgotten. */
    CU_ASSERT_EQUAL(sl_hub_publish_backup(hub, "live", "x", &a, 4, 60000, &s3),
                    1);
    CU_ASSERT_EQUAL(sl_hub_standby_id(hub, "live", "x"), 4);
    feed_as(s, &a, 9, 0, AVC_KEY, sizeof(AVC_KEY), t0 + 50);
    sl_hub_unpublish(s, &a);
    CU_ASSERT_EQUAL(sl_hub_standby_id(hub, "live", "x"), 0);
    CU_ASSERT(sl_hub_is_live(hub, "live", "x"));
    /* Events since: only the late joiner's SUBSCRIBE and UNSUBSCRIBE.
     * Then the last publisher ends it all. */
    CU_ASSERT_EQUAL(ev.n, 4);
    sl_hub_unpublish(s, &b);
    CU_ASSERT(!sl_hub_is_live(hub, "live", "x"));
    CU_ASSERT_EQUAL(tap.ends, 1);
    CU_ASSERT_EQUAL(ev.kinds[ev.n - 1], SL_HUB_UNPUBLISH);
    {
        struct sl_hub_stats st;

        sl_hub_stats(hub, &st);
        CU_ASSERT_EQUAL(st.takeovers, 1);
        CU_ASSERT_EQUAL(st.timestamp_fixes, 0);
    }
    sl_hub_untap(&tap.tap);
    player_fini(&p);
    sl_hub_free(hub);
    CU_ASSERT_EQUAL(sl_buf_live_count(), bufs);
}

/* A primary that sends nothing for ingest_ms is replaced when the
 * standby next feeds, and becomes the standby itself.  A standby with
 * no keyframe kept starts players at its next keyframe. */
static void
test_standby_replaces_stalled_primary(void)
{
    long               bufs = sl_buf_live_count();
    struct sl_hub     *hub = new_hub(0, 1);
    struct sl_stream  *s, *s2;
    struct fake_player p;
    struct sl_sub_msg  m[PEND_MAX];
    int                a, b, n;
    uint32_t           ts;
    uint64_t           t0 = sl_now_ms() + 10;

    player_init(&p, 256);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    CU_ASSERT_EQUAL_FATAL(
        sl_hub_publish_backup(hub, "live", "x", &a, 1, 500, &s), 0);
    CU_ASSERT_EQUAL_FATAL(
        sl_hub_publish_backup(hub, "live", "x", &b, 2, 500, &s2), 1);
    feed_as(s, &a, 9, 0, AVC_SEQ, sizeof(AVC_SEQ), t0);
    feed_as(s, &a, 9, 0, AVC_KEY, sizeof(AVC_KEY), t0);
    feed_as(s, &a, 9, 33, AVC_INTER, sizeof(AVC_INTER), t0 + 33);
    /* The standby has headers but its keyframe came before it was
     * held long enough... here: it sends inter frames only. */
    feed_as(s, &b, 9, 900, AVC_SEQ, sizeof(AVC_SEQ), t0 + 100);
    feed_as(s, &b, 9, 933, AVC_INTER, sizeof(AVC_INTER), t0 + 400);
    n = pending(&p, m);
    CU_ASSERT_EQUAL(n, 3);
    release(m, n);
    /* 567 ms without the primary: the standby takes over with this
     * frame, which waits for a keyframe like the rest. */
    CU_ASSERT_EQUAL(
        feed_as(s, &b, 9, 966, AVC_INTER, sizeof(AVC_INTER), t0 + 600), 0);
    CU_ASSERT_EQUAL(sl_hub_standby_id(hub, "live", "x"), 1);
    /* The stalled one resumes: kept, not delivered. */
    CU_ASSERT_EQUAL(
        feed_as(s, &a, 9, 66, AVC_INTER, sizeof(AVC_INTER), t0 + 610), 0);
    feed_as(s, &b, 9, 1000, AVC_KEY, sizeof(AVC_KEY), t0 + 620);
    feed_as(s, &b, 9, 1033, AVC_INTER, sizeof(AVC_INTER), t0 + 650);
    n = pending(&p, m);
    CU_ASSERT_EQUAL_FATAL(n, 6); /* + header, key, inter */
    CU_ASSERT_EQUAL(wire_type(&m[3], &ts, NULL), 9);
    CU_ASSERT(m[3].flags & SL_OUT_KEEP);
    CU_ASSERT(m[4].flags & SL_OUT_SYNC);
    CU_ASSERT(m[4].ts > m[2].ts);
    CU_ASSERT(m[4].ts - m[2].ts <= 1000);
    CU_ASSERT(m[5].ts > m[4].ts);
    release(m, n);
    sl_hub_unpublish(s, &b); /* a takes over again */
    CU_ASSERT(sl_hub_is_live(hub, "live", "x"));
    sl_hub_unpublish(s, &a);
    CU_ASSERT(!sl_hub_is_live(hub, "live", "x"));
    player_fini(&p);
    sl_hub_free(hub);
    CU_ASSERT_EQUAL(sl_buf_live_count(), bufs);
}

/* A publisher thread that may stand by: n frames, stalling for a while
 * at frame stall (so the standby replaces it), then unpublishes. */
struct standby_pub {
    struct sl_stream *s;
    int               n, stall;
    uint32_t          ts0;
    int               failed;
};

static void *
standby_publisher(void *arg)
{
    struct standby_pub *sp = arg;
    struct timespec     pause = {0, 2000000};

    for (int i = 0; i < sp->n; i++) {
        struct sl_buf *b =
            sl_buf_from(i % 30 == 0 ? AVC_KEY : AVC_INTER, sizeof(AVC_KEY));
        int rc;

        if (i == sp->stall)
            for (int k = 0; k < 30; k++)
                nanosleep(&pause, NULL);
        rc = b == NULL ? -ENOMEM
                       : sl_hub_publisher_media(sp->s, sp, 9,
                                                sp->ts0 + 33u * (uint32_t) i, b,
                                                sl_now_ms());
        if (rc < 0 && rc != -EPERM)
            sp->failed = 1;
        sl_buf_unref(b);
        if (i % 8 == 0)
            nanosleep(&pause, NULL);
    }
    sl_hub_unpublish(sp->s, sp);
    return NULL;
}

/* Primary and standby feed from their own threads while a player
 * collects: the primary stalls (replaced after ingest_ms) and resumes
 * as the standby, then whoever leaves first hands over.  Run under
 * TSan; the player's timeline never goes back. */
static void
test_standby_concurrent_takeovers(void)
{
    long               bufs = sl_buf_live_count();
    struct sl_hub     *hub = new_hub(0, 1);
    struct sl_stream  *s, *s2;
    struct fake_player p;
    struct sl_sub_msg  m[16];
    struct standby_pub a = {0}, b = {0};
    pthread_t          ta, tb;
    uint32_t           prev = 0;
    int                ok = 1, n;

    player_init(&p, 64);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    CU_ASSERT_EQUAL_FATAL(
        sl_hub_publish_backup(hub, "live", "x", &a, 1, 20, &s), 0);
    CU_ASSERT_EQUAL_FATAL(
        sl_hub_publish_backup(hub, "live", "x", &b, 2, 20, &s2), 1);
    a = (struct standby_pub){s, 400, 100, 0, 0};
    b = (struct standby_pub){s, 600, -1, 90000, 0};
    CU_ASSERT_EQUAL_FATAL(pthread_create(&ta, NULL, standby_publisher, &a), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&tb, NULL, standby_publisher, &b), 0);
    while (sl_hub_is_live(hub, "live", "x")) {
        n = sl_sub_collect(&p.sub, m, 16);
        for (int i = 0; i < n; i++) {
            if ((m[i].flags & SL_OUT_MEDIA) && m[i].ts < prev)
                ok = 0;
            if (m[i].flags & SL_OUT_MEDIA)
                prev = m[i].ts;
        }
        release(m, n);
    }
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CU_ASSERT(ok);
    CU_ASSERT(!a.failed && !b.failed);
    {
        struct sl_hub_stats st;

        sl_hub_stats(hub, &st);
        CU_ASSERT(st.takeovers >= 1);
    }
    player_fini(&p);
    sl_hub_free(hub);
    CU_ASSERT_EQUAL(sl_buf_live_count(), bufs);
}

/* An FLV tag's type, body and timestamp, checked against its framing. */
static int
flv_tag_ok(const struct sl_buf *b, uint8_t type, uint32_t ts,
           const uint8_t *body, size_t len)
{
    const uint8_t *p = b->data;
    uint32_t       tail;

    if (b->len != SL_FLV_TAG_HDR + len + SL_FLV_TAG_TAIL || p[0] != type ||
        (uint32_t) ((p[1] << 16) | (p[2] << 8) | p[3]) != len ||
        (uint32_t) ((p[7] << 24) | (p[4] << 16) | (p[5] << 8) | p[6]) != ts ||
        (body != NULL && memcmp(p + SL_FLV_TAG_HDR, body, len) != 0))
        return 0;
    p += SL_FLV_TAG_HDR + len;
    tail = ((uint32_t) p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    return tail == SL_FLV_TAG_HDR + len;
}

static void
test_flv_subscriber_gets_tags(void)
{
    long               bufs = sl_buf_live_count();
    struct sl_hub     *hub = new_hub(0, 1);
    struct sl_stream  *s;
    struct fake_player p, rtmp, p2;
    struct sl_sub_msg  m[PEND_MAX], m2[PEND_MAX];
    uint8_t            big[9000];
    int                n, n2;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t) (i * 7);
    big[0] = 0x27; /* an inter frame longer than a chunk */
    big[1] = 1;
    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &p, &s), 0);
    feed(s, 18, 0, META, sizeof(META), 1000);
    feed(s, 9, 0, AVC_SEQ, sizeof(AVC_SEQ), 1000);
    feed(s, 8, 0, AAC_SEQ, sizeof(AAC_SEQ), 1000);
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000);
    feed(s, 9, 33, big, sizeof(big), 1033);

    /* An FLV subscriber joins: headers, then the GOP, all as FLV tags
     * with the bodies and timestamps RTMP players get as chunks. */
    player_init(&p, 64);
    p.sub.flv = 1;
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    n = pending(&p, m);
    CU_ASSERT_EQUAL_FATAL(n, 5);
    CU_ASSERT(flv_tag_ok(m[0].buf, 18, 0, NULL, m[0].buf->len - 15));
    CU_ASSERT(memcmp(m[0].buf->data + SL_FLV_TAG_HDR + 3, "onMetaData", 10) ==
              0);
    CU_ASSERT(flv_tag_ok(m[1].buf, 9, 0, AVC_SEQ, sizeof(AVC_SEQ)));
    CU_ASSERT(flv_tag_ok(m[2].buf, 8, 0, AAC_SEQ, sizeof(AAC_SEQ)));
    CU_ASSERT(flv_tag_ok(m[3].buf, 9, 0, AVC_KEY, sizeof(AVC_KEY)));
    CU_ASSERT(flv_tag_ok(m[4].buf, 9, 33, big, sizeof(big)));

    /* A second FLV subscriber shares the same tags (made once); an RTMP
     * subscriber beside them still gets chunks. */
    player_init(&p2, 64);
    p2.sub.flv = 1;
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p2.sub), 0);
    n2 = pending(&p2, m2);
    CU_ASSERT_EQUAL_FATAL(n2, 5);
    for (int i = 0; i < n2; i++)
        CU_ASSERT(m2[i].buf == m[i].buf);
    release(m2, n2);
    player_init(&rtmp, 64);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &rtmp.sub), 0);
    n2 = pending(&rtmp, m2);
    CU_ASSERT_EQUAL_FATAL(n2, 5);
    {
        uint32_t ts;

        CU_ASSERT_EQUAL(wire_type(&m2[4], &ts, NULL), 9);
        CU_ASSERT_EQUAL(ts, 33);
    }
    release(m2, n2);
    release(m, n);

    /* A new codec header mid-stream reaches a joiner in its new form. */
    feed(s, 9, 66, AVC_SEQ, sizeof(AVC_SEQ) - 1, 1066);
    sl_hub_unsubscribe(&p2.sub);
    player_fini(&p2);
    player_init(&p2, 64);
    p2.sub.flv = 1;
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p2.sub), 0);
    n2 = pending(&p2, m2);
    CU_ASSERT(n2 >= 2);
    CU_ASSERT(flv_tag_ok(m2[1].buf, 9, 66, AVC_SEQ, sizeof(AVC_SEQ) - 1));
    release(m2, n2);

    sl_hub_unpublish(s, &p);
    player_fini(&p);
    player_fini(&p2);
    player_fini(&rtmp);
    sl_hub_free(hub);
    CU_ASSERT_EQUAL(sl_buf_live_count(), bufs);
}

void
sl_test_suite_hub(void)
{
    CU_pSuite s = CU_add_suite("hub", suite_init, suite_clean);

    CU_add_test(s, "late joiner gets caches", test_late_joiner_gets_caches);
    CU_add_test(s, "an FLV subscriber gets shared FLV tags",
                test_flv_subscriber_gets_tags);
    CU_add_test(s, "taps and observers", test_taps_and_observers);
    CU_add_test(s, "second publisher refused", test_second_publisher_refused);
    CU_add_test(s, "live streams are listed", test_live_streams);
    CU_add_test(s, "without GOP cache waits for keyframe",
                test_without_gop_cache_waits_for_keyframe);
    CU_add_test(s, "timeline survives reconnect and wrap",
                test_timeline_survives_reconnect_and_wrap);
    CU_add_test(s, "slow player skips", test_slow_player_skips);
    CU_add_test(s, "evicted cursor skips, rewind keeps the wait",
                test_evicted_cursor_skips_and_rewind_keeps_wait);
    CU_add_test(s, "ring age bound keeps the GOP",
                test_ring_age_bound_keeps_the_gop);
    CU_add_test(s, "ring: concurrent publish and collect",
                test_ring_concurrent_publish_and_collect);
    CU_add_test(s, "merge window batches wakes",
                test_merge_window_batches_wakes);
    CU_add_test(s, "subscribers leave from the middle",
                test_subscribers_leave_from_the_middle);
    CU_add_test(s, "standby takes over when the primary leaves",
                test_standby_takes_over_when_primary_leaves);
    CU_add_test(s, "standby replaces a stalled primary",
                test_standby_replaces_stalled_primary);
    CU_add_test(s, "standby: concurrent takeovers",
                test_standby_concurrent_takeovers);
}

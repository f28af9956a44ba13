#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "pool/buf.h"
#include "pool/sched.h"
#include "server/chunk.h"
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
    CU_ASSERT_EQUAL_FATAL(sl_outq_init(&p->q, cap, 5000), 0);
    p->sub.q = &p->q;
    p->sub.task = &p->task;
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
new_hub(uint32_t merge, int gop)
{
    struct sl_hub_limits lim = {.chunk_size = 4096, .merge_write_ms = merge,
                                .gop_cache = gop, .gop_max_msgs = 64,
                                .gop_max_bytes = 1 << 20};

    return sl_hub_new(&lim);
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
    2, 0, 13, '@', 's', 'e', 't', 'D', 'a', 't', 'a', 'F', 'r', 'a', 'm', 'e',
    2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a',
    3, 0, 5, 'w', 'i', 'd', 't', 'h', 0, 0x40, 0x84, 0, 0, 0, 0, 0, 0,
    0, 0, 9};

static uint32_t
queued(struct fake_player *p)
{
    return p->q.tail - p->q.head;
}

static struct sl_outq_item *
item(struct fake_player *p, uint32_t i)
{
    return &p->q.items[(p->q.head + i) & (p->q.cap - 1)];
}

/* Parses a queued wire message back with a chunk reader. */
static uint8_t
wire_type(struct sl_outq_item *it, uint32_t *ts, struct sl_buf **payload)
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
    uint32_t           ts;

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
    CU_ASSERT_EQUAL_FATAL(queued(&p), 6);
    CU_ASSERT_EQUAL(wire_type(item(&p, 0), &ts, &meta), 18);
    CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
    /* @setDataFrame is gone: players get onMetaData first. */
    CU_ASSERT_EQUAL(meta->data[0], 2);
    CU_ASSERT_EQUAL(memcmp(meta->data + 3, "onMetaData", 10), 0);
    sl_buf_unref(meta);
    CU_ASSERT_EQUAL(wire_type(item(&p, 1), &ts, NULL), 9);
    CU_ASSERT_EQUAL(wire_type(item(&p, 2), &ts, NULL), 8);
    CU_ASSERT_EQUAL(wire_type(item(&p, 3), &ts, NULL), 9);
    CU_ASSERT_EQUAL(ts, 66);
    CU_ASSERT(item(&p, 3)->flags & SL_OUT_SYNC);
    CU_ASSERT_EQUAL(wire_type(item(&p, 4), &ts, NULL), 8);
    CU_ASSERT_EQUAL(wire_type(item(&p, 5), &ts, NULL), 9);
    CU_ASSERT_EQUAL(ts, 100);

    /* Live messages follow. */
    feed(s, 9, 133, AVC_INTER, sizeof(AVC_INTER), 1133);
    CU_ASSERT_EQUAL(queued(&p), 7);

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
    uint32_t           ts;

    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &p, &s), 0);
    feed(s, 9, 0, AVC_SEQ, sizeof(AVC_SEQ), 1000);
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000);
    player_init(&p, 64);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    CU_ASSERT_EQUAL(queued(&p), 1);  /* only the sequence header */
    feed(s, 9, 33, AVC_INTER, sizeof(AVC_INTER), 1033);
    feed(s, 8, 40, AAC_RAW, sizeof(AAC_RAW), 1040);
    CU_ASSERT_EQUAL(queued(&p), 1);  /* dropped until a keyframe */
    feed(s, 9, 66, AVC_KEY, sizeof(AVC_KEY), 1066);
    CU_ASSERT_EQUAL_FATAL(queued(&p), 2);
    CU_ASSERT_EQUAL(wire_type(item(&p, 1), &ts, NULL), 9);
    CU_ASSERT_EQUAL(ts, 66);
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
    int                pub1, pub2;
    uint32_t           prev = 0;

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
    CU_ASSERT_EQUAL_FATAL(queued(&p), 7);
    for (uint32_t i = 0; i < queued(&p); i++) {
        uint32_t ts = item(&p, i)->ts;

        CU_ASSERT(ts >= prev);
        CU_ASSERT(ts - prev <= 3000);
        prev = ts;
    }
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
test_slow_player_skips_and_header_overflow_breaks(void)
{
    struct sl_hub     *hub = new_hub(0, 1);
    struct sl_stream  *s;
    struct fake_player p;
    struct iovec       iov[16];
    int                pub;

    player_init(&p, 8);
    CU_ASSERT_EQUAL(sl_hub_subscribe(hub, "live", "x", &p.sub), 0);
    CU_ASSERT_EQUAL_FATAL(sl_hub_publish(hub, "live", "x", &pub, &s), 0);
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000);
    for (uint32_t i = 1; i < 12; i++)
        feed(s, 9, i * 33, AVC_INTER, sizeof(AVC_INTER), 1000 + i * 33);
    CU_ASSERT(p.q.skips >= 1);
    /* The consumer applies the skip: nothing droppable is left. */
    CU_ASSERT_EQUAL(sl_outq_collect(&p.q, iov, 16, 0), 0);
    /* Now a keyframe resumes the flow. */
    feed(s, 9, 500, AVC_KEY, sizeof(AVC_KEY), 1500);
    CU_ASSERT_EQUAL(queued(&p), 1);
    /* Fill with keep-worthy headers until one cannot be queued. */
    for (int i = 0; i < 10; i++)
        feed(s, 9, 500, AVC_SEQ, sizeof(AVC_SEQ), 1500);
    CU_ASSERT(sl_outq_broken(&p.q));
    sl_hub_unpublish(s, &pub);
    player_fini(&p);
    sl_hub_free(hub);
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
    feed(s, 9, 0, AVC_KEY, sizeof(AVC_KEY), 1000);   /* wakes: window open */
    feed(s, 9, 10, AVC_INTER, sizeof(AVC_INTER), 1010);
    feed(s, 9, 20, AVC_INTER, sizeof(AVC_INTER), 1020);
    due = sl_hub_flush(s, 1020);
    CU_ASSERT_EQUAL(due, 1050);
    CU_ASSERT_EQUAL(sl_hub_flush(s, 1050), 0);  /* flushed now */
    CU_ASSERT_EQUAL(sl_hub_flush(s, 1060), 0);  /* nothing pending */
    /* A reload to merge 0: the next message is written at once, so no
     * flush is left pending. */
    feed(s, 9, 70, AVC_INTER, sizeof(AVC_INTER), 1070);
    CU_ASSERT_EQUAL(sl_hub_flush(s, 1071), 1100);
    sl_hub_reload(hub, 0, 1);
    sl_hub_flush(s, 1100);
    feed(s, 9, 80, AVC_INTER, sizeof(AVC_INTER), 1125);
    CU_ASSERT_EQUAL(sl_hub_flush(s, 1126), 0);
    sl_hub_unpublish(s, &pub);
    player_fini(&p);
    sl_hub_free(hub);
}

void
sl_test_suite_hub(void)
{
    CU_pSuite s = CU_add_suite("hub", suite_init, suite_clean);

    CU_add_test(s, "late joiner gets caches", test_late_joiner_gets_caches);
    CU_add_test(s, "second publisher refused", test_second_publisher_refused);
    CU_add_test(s, "without GOP cache waits for keyframe",
                test_without_gop_cache_waits_for_keyframe);
    CU_add_test(s, "timeline survives reconnect and wrap",
                test_timeline_survives_reconnect_and_wrap);
    CU_add_test(s, "slow player skips, header overflow breaks",
                test_slow_player_skips_and_header_overflow_breaks);
    CU_add_test(s, "merge window batches wakes",
                test_merge_window_batches_wakes);
}

/*
 * HLS viewers by id (hls/viewers.h): counted per stream and in total,
 * forgotten when idle (times passed explicitly), a viewer that switches
 * streams moves, sid 0 is no viewer, a full table leaves new viewers
 * uncounted without harm, and requests stamped a moment out of order by
 * different threads do not make an active viewer look idle.
 */
#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdint.h>

#include "hls/viewers.h"

#define T0 1700000000000ull /* Unix ms, as the server passes */

static void
test_count_per_stream(void)
{
    struct sl_hls_viewers *t = sl_hls_viewers_new();

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    /* Nothing seen: the table is not even allocated. */
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, T0), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0), 0);

    sl_hls_viewers_seen(t, 1, "live", "a", T0);
    sl_hls_viewers_seen(t, 2, "live", "a", T0 + 10);
    sl_hls_viewers_seen(t, 3, "live", "b", T0 + 20);
    sl_hls_viewers_seen(t, 4, "other", "a", T0 + 30);
    /* The same viewer again (every playlist and part it fetches). */
    for (int i = 0; i < 10; i++)
        sl_hls_viewers_seen(t, 1, "live", "a", T0 + 40 + (uint64_t) i);

    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 100), 2);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "b", T0 + 100), 1);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "other", "a", T0 + 100), 1);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "c", T0 + 100), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "other", "b", T0 + 100), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, T0 + 100), 4);
    /* APP/NAME is one key: "li"/"vea" is not "live"/"a", nor is "live"
     * with an empty name. */
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "li", "vea", T0 + 100), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "", T0 + 100), 0);
    /* Large ids are ids like any other. */
    sl_hls_viewers_seen(t, UINT64_MAX, "live", "b", T0 + 100);
    sl_hls_viewers_seen(t, UINT64_MAX - 1, "live", "b", T0 + 100);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "b", T0 + 100), 3);
    sl_hls_viewers_free(t);
    sl_hls_viewers_free(NULL);
}

static void
test_sid_zero_ignored(void)
{
    struct sl_hls_viewers *t = sl_hls_viewers_new();

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    sl_hls_viewers_seen(t, 0, "live", "a", T0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, T0), 0);
    sl_hls_viewers_seen(t, 7, "live", "a", T0);
    sl_hls_viewers_seen(t, 0, "live", "a", T0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, T0), 1);
    sl_hls_viewers_free(t);
}

static void
test_idle_expiry(void)
{
    struct sl_hls_viewers *t = sl_hls_viewers_new();
    const uint64_t         idle = SL_HLS_VIEWER_IDLE_MS;

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    sl_hls_viewers_seen(t, 1, "live", "a", T0);
    sl_hls_viewers_seen(t, 2, "live", "a", T0 + 5000);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + idle - 1), 2);
    /* Idle for exactly the limit: gone. */
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + idle), 1);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, T0 + idle), 1);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 5000 + idle), 0);
    /* A request brings it back: counted again, once. */
    sl_hls_viewers_seen(t, 1, "live", "a", T0 + 5000 + idle);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 5000 + idle), 1);
    /* Steady requests keep a viewer, however long it watches. */
    for (uint64_t now = T0 + 6000 + idle; now < T0 + 10 * idle; now += 2000)
        sl_hls_viewers_seen(t, 1, "live", "a", now);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 10 * idle), 1);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, T0 + 10 * idle), 1);
    sl_hls_viewers_free(t);
}

/* Requests carry their time from before the table's lock, so two
 * threads can record them a millisecond out of order, and the API
 * counts at a time read before a web thread's latest request was
 * recorded: a viewer seen "in the future" by a millisecond or two is
 * active, not idle for 2^64 ms. */
static void
test_clock_skew(void)
{
    struct sl_hls_viewers *t = sl_hls_viewers_new();

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    sl_hls_viewers_seen(t, 1, "live", "a", T0 + 2);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 1), 1);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, T0), 1);
    /* New viewers stamped before it, with ids whose first probe is its
     * slot (1 + k * SL_HLS_VIEWERS_MAX), never take that slot... */
    for (uint64_t k = 1; k <= 10; k++)
        sl_hls_viewers_seen(t, 1 + k * SL_HLS_VIEWERS_MAX, "live", "b", T0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 2), 1);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "b", T0 + 2), 10);
    /* ...and a late-stamped request of the same viewer does not move its
     * time back. */
    sl_hls_viewers_seen(t, 1, "live", "a", T0);
    CU_ASSERT_EQUAL(
        sl_hls_viewers_count(t, "live", "a", T0 + 1 + SL_HLS_VIEWER_IDLE_MS),
        1);
    sl_hls_viewers_free(t);
}

/* A player switching from one stream to another is one viewer, of the
 * stream it asked for last. */
static void
test_move(void)
{
    struct sl_hls_viewers *t = sl_hls_viewers_new();

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    sl_hls_viewers_seen(t, 42, "live", "a", T0);
    sl_hls_viewers_seen(t, 43, "live", "a", T0);
    sl_hls_viewers_seen(t, 42, "live", "b", T0 + 100);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 100), 1);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "b", T0 + 100), 1);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, T0 + 100), 2);
    sl_hls_viewers_seen(t, 42, "live", "a", T0 + 200);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 200), 2);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "b", T0 + 200), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, T0 + 200), 2);
    sl_hls_viewers_free(t);
}

/* SL_HLS_VIEWERS_MAX active viewers fill the table (ids 1..MAX take one
 * slot each); more are not counted, the counted ones stay, and a slot
 * that goes idle is taken again. */
static void
test_full_table(void)
{
    struct sl_hls_viewers *t = sl_hls_viewers_new();
    const int              max = SL_HLS_VIEWERS_MAX;
    const uint64_t         later = T0 + 1000;

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (uint64_t sid = 1; sid <= (uint64_t) max; sid++)
        sl_hls_viewers_seen(t, sid, "live", sid % 2 ? "odd" : "even", T0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, T0), max);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "odd", T0), max / 2);
    /* Newcomers, some with ids that land anywhere: not counted. */
    for (uint64_t sid = max + 1; sid <= (uint64_t) max + 1000; sid++)
        sl_hls_viewers_seen(t, sid, "live", "new", T0 + 1);
    sl_hls_viewers_seen(t, UINT64_MAX, "live", "new", T0 + 1);
    sl_hls_viewers_seen(t, 0x9e3779b97f4a7c15ull, "live", "new", T0 + 1);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "new", T0 + 1), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, T0 + 1), max);
    /* Those counted still are, and may still move. */
    sl_hls_viewers_seen(t, 1, "live", "even", later);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "even", later),
                    max / 2 + 1);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, later), max);
    /* All but viewer 1 go idle: a newcomer takes a slot. */
    sl_hls_viewers_seen(t, 1, "live", "even", T0 + SL_HLS_VIEWER_IDLE_MS);
    sl_hls_viewers_seen(t, max + 1, "live", "new", T0 + SL_HLS_VIEWER_IDLE_MS);
    CU_ASSERT_EQUAL(
        sl_hls_viewers_count(t, NULL, NULL, T0 + SL_HLS_VIEWER_IDLE_MS), 2);
    CU_ASSERT_EQUAL(
        sl_hls_viewers_count(t, "live", "new", T0 + SL_HLS_VIEWER_IDLE_MS), 1);
    sl_hls_viewers_free(t);
}

#define THREADS 4
#define PER_THREAD 500

struct worker {
    struct sl_hls_viewers *t;
    uint64_t               base;
};

static void *
see_many(void *arg)
{
    struct worker *w = arg;

    for (int round = 0; round < 3; round++)
        for (uint64_t i = 0; i < PER_THREAD; i++)
            sl_hls_viewers_seen(w->t, w->base + i, "live", "a",
                                T0 + (uint64_t) round);
    return NULL;
}

/* Any thread: distinct viewers from several threads are each counted
 * once. */
static void
test_threads(void)
{
    struct sl_hls_viewers *t = sl_hls_viewers_new();
    pthread_t              th[THREADS];
    struct worker          w[THREADS];

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){t, 1 + (uint64_t) i * 100000};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, see_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 3),
                    THREADS * PER_THREAD);
    sl_hls_viewers_free(t);
}

void
sl_test_suite_hls_viewers(void)
{
    CU_pSuite s = CU_add_suite("hls_viewers", NULL, NULL);

    CU_add_test(s, "count per stream and in total", test_count_per_stream);
    CU_add_test(s, "sid 0 is no viewer", test_sid_zero_ignored);
    CU_add_test(s, "idle viewers expire", test_idle_expiry);
    CU_add_test(s, "times a moment out of order", test_clock_skew);
    CU_add_test(s, "a viewer moves between streams", test_move);
    CU_add_test(s, "a full table", test_full_table);
    CU_add_test(s, "threads", test_threads);
}

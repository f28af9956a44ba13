/*
 * HLS viewers by id (hls/viewers.h): counted per stream and in total,
 * forgotten when idle (times passed explicitly), a viewer that switches
 * streams moves, sid 0 is no viewer, a full table leaves new viewers
 * uncounted without harm, and requests stamped a moment out of order by
 * different threads do not make an active viewer look idle.  Viewers
 * started with who they are end exactly once (idle, or their stream
 * ended), never lose their record to a newcomer, and are freed with
 * the table.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static struct sl_hls_viewer
who_of(const char *app, const char *name, uint64_t id)
{
    struct sl_hls_viewer w;

    memset(&w, 0, sizeof(w));
    snprintf(w.app, sizeof(w.app), "%s", app);
    snprintf(w.name, sizeof(w.name), "%s", name);
    snprintf(w.addr, sizeof(w.addr), "127.0.0.%d", (int) id);
    w.client_id = id;
    snprintf(w.url, sizeof(w.url), "/%s/%s.m3u8", app, name);
    return w;
}

/* Expires at now and frees what comes out: how many records, and the
 * client ids (up to 8) into ids. */
static int
expire(struct sl_hls_viewers *t, uint64_t now, const uint64_t *ended,
       int nended, uint64_t *ids)
{
    struct sl_hls_viewer *out[8];
    int n = sl_hls_viewers_expire(t, now, ended, nended, out, 8);

    for (int i = 0; i < n; i++) {
        if (ids != NULL)
            ids[i] = out[i]->client_id;
        free(out[i]);
    }
    return n;
}

/* A started viewer with a record ends once, after the idle timeout with
 * no request; requests put that off; one without a record is forgotten
 * with nothing handed out; the timeout follows set_idle. */
static void
test_end_once(void)
{
    struct sl_hls_viewers *t = sl_hls_viewers_new();
    struct sl_hls_viewer   a = who_of("live", "a", 7);
    uint64_t               ids[8] = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    sl_hls_viewers_set_idle(t, 3000);
    CU_ASSERT_EQUAL(sl_hls_viewers_start(t, 1, "live", "a", T0, &a), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_start(t, 2, "live", "a", T0, NULL), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_start(t, 0, "live", "a", T0, &a), -EINVAL);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0), 2);
    /* Its playlist requests keep it. */
    sl_hls_viewers_seen(t, 1, "live", "a", T0 + 2000);
    CU_ASSERT_EQUAL(expire(t, T0 + 2999, NULL, 0, ids), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 2999), 2);
    /* Viewer 2 went quiet at T0: forgotten, nothing to tell. */
    CU_ASSERT_EQUAL(expire(t, T0 + 3000, NULL, 0, ids), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 3000), 1);
    CU_ASSERT_EQUAL(expire(t, T0 + 4999, NULL, 0, ids), 0);
    /* Viewer 1's last request was at T0 + 2000: it ends at T0 + 5000,
     * with the record it started with, once. */
    CU_ASSERT_EQUAL(expire(t, T0 + 5000, NULL, 0, ids), 1);
    CU_ASSERT_EQUAL(ids[0], 7);
    CU_ASSERT_EQUAL(expire(t, T0 + 9000, NULL, 0, ids), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, NULL, NULL, T0 + 5000), 0);
    /* A request after its end counts it again, but it is not started
     * again: no second end. */
    sl_hls_viewers_seen(t, 1, "live", "a", T0 + 6000);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 6000), 1);
    CU_ASSERT_EQUAL(expire(t, T0 + 20000, NULL, 0, ids), 0);
    /* Starting a sid that has a record keeps the first one. */
    a.client_id = 8;
    CU_ASSERT_EQUAL(sl_hls_viewers_start(t, 3, "live", "a", T0 + 20000, &a), 0);
    a.client_id = 9;
    CU_ASSERT_EQUAL(sl_hls_viewers_start(t, 3, "live", "a", T0 + 20001, &a), 0);
    CU_ASSERT_EQUAL(expire(t, T0 + 30000, NULL, 0, ids), 1);
    CU_ASSERT_EQUAL(ids[0], 8);
    sl_hls_viewers_free(t);
}

/* The viewers of a stream that ended end at once, whatever their last
 * request; others stay. */
static void
test_end_with_stream(void)
{
    struct sl_hls_viewers *t = sl_hls_viewers_new();
    struct sl_hls_viewer a = who_of("live", "a", 1), b = who_of("live", "b", 2);
    uint64_t             ended = sl_hls_viewers_key("live", "a"), ids[8];

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(sl_hls_viewers_start(t, 10, "live", "a", T0, &a), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_start(t, 11, "live", "b", T0, &b), 0);
    CU_ASSERT_EQUAL(expire(t, T0 + 1, &ended, 1, ids), 1);
    CU_ASSERT_EQUAL(ids[0], 1);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0 + 1), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "b", T0 + 1), 1);
    CU_ASSERT_EQUAL(expire(t, T0 + 2, &ended, 1, ids), 0);
    /* "li"/"vea" is another stream. */
    CU_ASSERT(sl_hls_viewers_key("li", "vea") != ended);
    sl_hls_viewers_free(t);
}

/* An idle viewer whose end is not handed out yet keeps its slot: a
 * newcomer whose ids probe the same slots is not counted rather than
 * take it; once handed out, the slot is free again.  The table frees
 * the records it still holds (SAN=1 would see a leak). */
static void
test_record_kept_until_handed_out(void)
{
    struct sl_hls_viewers *t = sl_hls_viewers_new();
    struct sl_hls_viewer   a = who_of("live", "a", 5);
    const uint64_t         idle = SL_HLS_VIEWER_IDLE_MS;
    uint64_t               ids[8];

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    /* 16 viewers on the 16 slots that sid 1 + k * MAX probes first. */
    for (uint64_t k = 0; k < 16; k++)
        CU_ASSERT_EQUAL(sl_hls_viewers_start(t, 1 + k * SL_HLS_VIEWERS_MAX,
                                             "live", "a", T0, &a),
                        0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "a", T0), 16);
    /* All idle, none handed out: a newcomer there finds no slot. */
    CU_ASSERT_EQUAL(sl_hls_viewers_start(t, 1 + 16 * SL_HLS_VIEWERS_MAX, "live",
                                         "b", T0 + idle, &a),
                    -ENOSPC);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "b", T0 + idle), 0);
    CU_ASSERT_EQUAL(expire(t, T0 + idle, NULL, 0, ids), 8);
    CU_ASSERT_EQUAL(expire(t, T0 + idle, NULL, 0, ids), 8);
    CU_ASSERT_EQUAL(expire(t, T0 + idle, NULL, 0, ids), 0);
    CU_ASSERT_EQUAL(sl_hls_viewers_start(t, 1 + 16 * SL_HLS_VIEWERS_MAX, "live",
                                         "b", T0 + idle, &a),
                    0);
    CU_ASSERT_EQUAL(sl_hls_viewers_count(t, "live", "b", T0 + idle), 1);
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
    CU_add_test(s, "a started viewer ends once", test_end_once);
    CU_add_test(s, "viewers end with their stream", test_end_with_stream);
    CU_add_test(s, "a record keeps its slot until handed out",
                test_record_kept_until_handed_out);
}

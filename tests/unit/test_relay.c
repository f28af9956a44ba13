/* Relay URLs and the retry schedule (pure parts of relay/). */
#include <CUnit/CUnit.h>
#include <string.h>

#include "relay/retry.h"
#include "relay/url.h"

static void
test_target_url(void)
{
    char out[128];

    CU_ASSERT_EQUAL(sl_relay_url("rtmp://cdn/live", "demo", out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "rtmp://cdn/live/demo");
    CU_ASSERT_EQUAL(sl_relay_url("rtmp://cdn/live/", "demo", out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "rtmp://cdn/live/demo");
    CU_ASSERT_EQUAL(sl_relay_url("rtmps://cdn/app/{name}?key=s3cret",
                                 "demo_720p", out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "rtmps://cdn/app/demo_720p?key=s3cret");
    /* Without the placeholder the name ends the path, before the
     * query. */
    CU_ASSERT_EQUAL(
        sl_relay_url("rtmp://cdn/live?key=s3cret", "demo", out, sizeof(out)),
        0);
    CU_ASSERT_STRING_EQUAL(out, "rtmp://cdn/live/demo?key=s3cret");
    CU_ASSERT_EQUAL(
        sl_relay_url("rtmp://cdn/live/?k", "demo", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "rtmp://cdn/live/demo?k");
    CU_ASSERT_EQUAL(
        sl_relay_url("rtmp://{name}.x/{name}", "a", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "rtmp://a.x/a");
    /* Never cut: too long is an error. */
    CU_ASSERT_EQUAL(sl_relay_url("rtmp://cdn/live", "demo", out, 20), -1);
    CU_ASSERT_EQUAL(sl_relay_url("rtmp://cdn/{name}", "demo", out, 15), -1);
}

static void
test_public_url(void)
{
    char out[128];

    sl_relay_url_public("rtmp://user:pw@cdn.example:1935/live/demo?key=x", out,
                        sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "rtmp://cdn.example:1935/live/demo");
    sl_relay_url_public("rtmps://cdn/live/a@b", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "rtmps://cdn/live/a@b");
    sl_relay_url_public("rtmp://cdn/live", out, 8);
    CU_ASSERT_STRING_EQUAL(out, "rtmp://");
    sl_relay_url_public("rtmp://cdn/x#frag", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "rtmp://cdn/x");
}

/* Walks an outage of attempts that fail at once (a refused port), with
 * no jitter: the intervals the schedule gives, in order. */
static int
walk(struct sl_retry *r, uint64_t t0, uint32_t *out, int n)
{
    uint64_t t = t0;

    for (int i = 0; i < n; i++) {
        out[i] = sl_retry_failed(r, t, t, 0);
        t += out[i];
    }
    return n;
}

static void
test_schedule_default(void)
{
    struct sl_retry r;
    uint32_t        iv[70];
    uint32_t        after[] = {2000, 4000, 8000, 16000, 30000, 30000, 30000};

    /* The defaults: 1 s apart for the first minute, then doubling from
     * 2 s to 30 s. */
    sl_retry_init(&r, 1000, 30000, 60000);
    walk(&r, 5000, iv, 67);
    for (int i = 0; i < 60; i++)
        CU_ASSERT_EQUAL(iv[i], 1000);
    for (int i = 0; i < 7; i++)
        CU_ASSERT_EQUAL(iv[60 + i], after[i]);
}

static void
test_schedule_no_fast_part(void)
{
    struct sl_retry r;
    uint32_t        iv[8];
    uint32_t want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};

    /* retry_fast_for = 0: the plain doubling from retry_min. */
    sl_retry_init(&r, 1000, 30000, 0);
    walk(&r, 5000, iv, 8);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(iv[i], want[i]);
}

static void
test_schedule_other_values(void)
{
    struct sl_retry r;
    uint32_t        iv[8];

    /* 200 ms for 1 s (attempts at 0, 0.2, ... 0.8 s fail inside it),
     * then 400 ms, then the 500 ms cap. */
    sl_retry_init(&r, 200, 500, 1000);
    walk(&r, 5000, iv, 8);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(iv[i], 200);
    CU_ASSERT_EQUAL(iv[5], 400);
    CU_ASSERT_EQUAL(iv[6], 500);
    CU_ASSERT_EQUAL(iv[7], 500);
}

static void
test_schedule_edges(void)
{
    struct sl_retry r;

    sl_retry_init(&r, 1000, 30000, 60000);
    /* The fast part is judged when an attempt fails: one that started
     * inside the minute and failed after it (a slow connect) is
     * followed by the doubling, one that failed just inside by 1 s. */
    CU_ASSERT_EQUAL(sl_retry_failed(&r, 1000, 1000, 0), 1000);
    CU_ASSERT_EQUAL(sl_retry_failed(&r, 60000, 60999, 0), 1000);
    CU_ASSERT_EQUAL(sl_retry_failed(&r, 60500, 61000, 0), 2000);
    CU_ASSERT_EQUAL(sl_retry_failed(&r, 62500, 62600, 0), 4000);

    /* A healthy connection ends the outage: the next failure starts a
     * new one, fast again. */
    sl_retry_healthy(&r);
    CU_ASSERT_EQUAL(sl_retry_failed(&r, 900000, 900000, 0), 1000);
    CU_ASSERT_EQUAL(sl_retry_failed(&r, 959000, 959000, 0), 1000);
    CU_ASSERT_EQUAL(sl_retry_failed(&r, 960000, 960000, 0), 2000);

    /* A connection that breaks before it is healthy does not: the
     * outage goes on. */
    sl_retry_connected(&r, 962000, 962003);
    CU_ASSERT_EQUAL(sl_retry_failed(&r, 962000, 963000, 0), 4000);

    /* retry_max below 2 x retry_min caps the first doubled interval. */
    sl_retry_init(&r, 1000, 1500, 0);
    CU_ASSERT_EQUAL(sl_retry_failed(&r, 1, 1, 0), 1000);
    CU_ASSERT_EQUAL(sl_retry_failed(&r, 1001, 1001, 0), 1500);
}

static void
test_wait_and_jitter(void)
{
    unsigned seed = 7;
    int      longer = 0;

    for (int i = 0; i < 1000; i++) {
        uint32_t w = sl_retry_wait(1000, 5000, 5000, &seed);

        /* Never shorter than the interval, at most 20% longer. */
        CU_ASSERT(w >= 1000 && w <= 1200);
        longer += w > 1100;
        /* Counted from the attempt's start. */
        w = sl_retry_wait(1000, 5000, 5700, &seed);
        CU_ASSERT(w >= 300 && w <= 500);
    }
    CU_ASSERT(longer > 300 && longer < 700); /* spread, not fixed */
    /* An attempt that took longer than its interval: the next at once. */
    CU_ASSERT_EQUAL(sl_retry_wait(1000, 5000, 7000, &seed), 0);
    CU_ASSERT_EQUAL(sl_retry_wait(0, 5000, 5000, &seed), 0);
    CU_ASSERT_EQUAL(sl_retry_wait(30000, 5000, 4000, &seed) >= 30000, 1);
}

/* A dead endpoint (refused at once), jitter included, for an hour: at
 * most one attempt a second for the first minute, then few. */
static void
test_dead_endpoint_rate(void)
{
    struct sl_retry r;
    unsigned        seed = 11;
    uint64_t        t0 = 1000, t = t0;
    int             first_minute = 0, rest_of_hour = 0;

    sl_retry_init(&r, 1000, 30000, 60000);
    while (t - t0 < 3600 * 1000) {
        uint32_t iv = sl_retry_failed(&r, t, t, 0);

        if (t - t0 < 60000)
            first_minute++;
        else
            rest_of_hour++;
        t += sl_retry_wait(iv, t, t, &seed);
    }
    CU_ASSERT(first_minute <= 60 && first_minute >= 50);
    /* 59 minutes at 30-36 s apart, and the few doublings before. */
    CU_ASSERT(rest_of_hour <= 125 && rest_of_hour >= 95);
}

static void
test_bound(void)
{
    struct sl_retry r;

    sl_retry_init(&r, 1000, 30000, 60000);
    /* Nothing known yet: the whole timeout. */
    CU_ASSERT_EQUAL(sl_retry_bound(&r, 5000), 5000);
    /* A fast connect: 2 s (SYNs then go out every second to a host
     * that drops them), never more than the timeout. */
    sl_retry_connected(&r, 100, 103);
    CU_ASSERT_EQUAL(sl_retry_bound(&r, 5000), 2000);
    CU_ASSERT_EQUAL(sl_retry_bound(&r, 1000), 1000);
    /* A slow one: 4 times what it took, up to the timeout. */
    sl_retry_connected(&r, 100, 1600);
    CU_ASSERT_EQUAL(sl_retry_bound(&r, 10000), 6000);
    CU_ASSERT_EQUAL(sl_retry_bound(&r, 5000), 5000);
    /* Same millisecond: still "connected once". */
    sl_retry_connected(&r, 100, 100);
    CU_ASSERT_EQUAL(sl_retry_bound(&r, 5000), 2000);

    /* Attempts that run out of time: every 4th in a row gets the whole
     * timeout (the downstream may have become slower). */
    CU_ASSERT_EQUAL(sl_retry_failed(&r, 1000, 3000, 1), 1000);
    CU_ASSERT_EQUAL(sl_retry_bound(&r, 5000), 2000);
    sl_retry_failed(&r, 3000, 5000, 1);
    CU_ASSERT_EQUAL(sl_retry_bound(&r, 5000), 2000);
    sl_retry_failed(&r, 5000, 7000, 1);
    CU_ASSERT_EQUAL(sl_retry_bound(&r, 5000), 5000);
    sl_retry_failed(&r, 7000, 12000, 1);
    CU_ASSERT_EQUAL(sl_retry_bound(&r, 5000), 2000);
    /* A refusal breaks the row. */
    sl_retry_failed(&r, 12000, 14000, 1);
    sl_retry_failed(&r, 14000, 16000, 1);
    sl_retry_failed(&r, 16000, 16001, 0);
    CU_ASSERT_EQUAL(sl_retry_bound(&r, 5000), 2000);
    sl_retry_failed(&r, 17000, 19000, 1);
    CU_ASSERT_EQUAL(sl_retry_bound(&r, 5000), 2000);
}

static void
test_warn(void)
{
    struct sl_retry r;
    uint32_t        quiet = 99;
    int             warned = 0;

    sl_retry_init(&r, 1000, 30000, 60000);
    CU_ASSERT_EQUAL(sl_retry_warn(&r, 1000, &quiet), 1);
    CU_ASSERT_EQUAL(quiet, 0);
    for (uint64_t t = 2000; t < 11000; t += 1000)
        warned += sl_retry_warn(&r, t, &quiet);
    CU_ASSERT_EQUAL(warned, 0);
    CU_ASSERT_EQUAL(sl_retry_warn(&r, 11000, &quiet), 1);
    CU_ASSERT_EQUAL(quiet, 9);
    /* A new outage warns at once. */
    sl_retry_healthy(&r);
    CU_ASSERT_EQUAL(sl_retry_warn(&r, 12000, &quiet), 1);
    CU_ASSERT_EQUAL(quiet, 0);
}

void
sl_test_suite_relay(void)
{
    CU_pSuite s = CU_add_suite("relay", NULL, NULL);

    CU_add_test(s, "target URL: name appended or substituted", test_target_url);
    CU_add_test(s, "public URL: no credentials, no query", test_public_url);
    CU_add_test(s, "schedule: 1 s for the first minute, then doubling",
                test_schedule_default);
    CU_add_test(s, "schedule: retry_fast_for = 0 is plain doubling",
                test_schedule_no_fast_part);
    CU_add_test(s, "schedule: other values", test_schedule_other_values);
    CU_add_test(s, "schedule: judged at the failure; healthy resets",
                test_schedule_edges);
    CU_add_test(s, "wait: from the attempt's start, 0-20% longer",
                test_wait_and_jitter);
    CU_add_test(s, "a dead endpoint: <= 1 a second, then few",
                test_dead_endpoint_rate);
    CU_add_test(s, "attempt bound: 4x the last, 2 s up, timeout at times",
                test_bound);
    CU_add_test(s, "warnings: the first, then one per 10 s", test_warn);
}

/* Relay URLs and retry delays (pure parts of relay/). */
#include <CUnit/CUnit.h>
#include <string.h>

#include "relay/io.h"
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

static void
test_backoff(void)
{
    unsigned seed = 1;
    uint32_t d = 1000;
    uint32_t want[] = {2000, 4000, 8000, 16000, 30000, 30000};

    for (int i = 0; i < 6; i++) {
        d = sl_relay_backoff(d, 30000);
        CU_ASSERT_EQUAL(d, want[i]);
    }
    for (int i = 0; i < 1000; i++) {
        uint32_t j = sl_relay_jitter(1000, &seed);

        CU_ASSERT(j >= 800 && j <= 1200);
    }
    CU_ASSERT_EQUAL(sl_relay_jitter(0, &seed), 0);
}

void
sl_test_suite_relay(void)
{
    CU_pSuite s = CU_add_suite("relay", NULL, NULL);

    CU_add_test(s, "target URL: name appended or substituted", test_target_url);
    CU_add_test(s, "public URL: no credentials, no query", test_public_url);
    CU_add_test(s, "backoff doubles to the cap, jitter within 20%",
                test_backoff);
}

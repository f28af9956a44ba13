/*
 * The play command's start argument (docs/config.md, "Choices where
 * clients differ"): start 0 asks for a recording, and Sluice keeps none,
 * so a name that is not live gets NetStream.Play.StreamNotFound at once;
 * start -1 (live only) gets NetStream.Play.Start and waits for a
 * publisher, then receives the stream; start 0 on a live name plays it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/integration/itest.h"

static void
test_play_start(void)
{
    struct sl_av              av = {320, 240, 30, 3, 30, 0};
    struct sl_srv             srv;
    struct sl_proc            pub;
    struct sl_rc             *notfound, *waiter, *recorded;
    struct sl_itest_pump      pump;
    const struct sl_rc_stats *st;
    char                      url[256], log[PATH_MAX + 32];

    IT_START(&srv, NULL, NULL);

    notfound = sl_rc_player(srv.port, "live", "later", 0, 0, IT_S(5));
    CU_ASSERT_FATAL(notfound != NULL);
    CU_ASSERT(sl_rc_wait_status(notfound, "NetStream.Play.StreamNotFound",
                                IT_S(5)) == 0);
    sl_rc_close(notfound);

    waiter = sl_rc_player(srv.port, "live", "later", -1, 0, IT_S(5));
    CU_ASSERT_FATAL(waiter != NULL);
    CU_ASSERT(sl_rc_wait_status(waiter, "NetStream.Play.Start", IT_S(5)) == 0);
    /* It waits: a second later it is still connected, with no media. */
    CU_ASSERT(sl_rc_pump(waiter, 1, 0) == 0);
    CU_ASSERT(sl_rc_stats(waiter)->video == 0);
    sl_itest_pump_start(&pump, waiter, IT_S(20), 1);

    sl_srv_url(&srv, "live", "later", url, sizeof(url));
    sl_srv_path(&srv, "publish.log", log, sizeof(log));
    CU_ASSERT(sl_ffmpeg_publish(&pub, url, &av, log) == 0);
    CU_ASSERT(
        sl_wait_file_count(srv.log, "publishing live/later", 1, IT_S(10)) == 0);

    /* start 0 on a live name: the live stream. */
    recorded = sl_rc_player(srv.port, "live", "later", 0, 0, IT_S(5));
    CU_ASSERT(recorded != NULL);
    if (recorded != NULL) {
        CU_ASSERT(
            sl_rc_wait_status(recorded, "NetStream.Play.Start", IT_S(5)) == 0);
        sl_rc_pump(recorded, IT_S(10), 1);
        CU_ASSERT(sl_rc_stats(recorded)->video > 0);
        sl_rc_close(recorded);
    }

    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    sl_proc_kill(&pub);
    sl_itest_pump_join(&pump);
    st = sl_rc_stats(waiter);
    fprintf(stderr, "  waiting player: %lu video, first key %d\n", st->video,
            st->first_video_key);
    CU_ASSERT(
        sl_within_pct((long) st->video, (long) av.fps * av.seconds + 1, 2));
    CU_ASSERT(st->first_video_key);
    CU_ASSERT(st->unpublish_notify);
    sl_rc_close(waiter);
    IT_STOP(&srv);
}

void
sl_itest_suite_play_start(void)
{
    CU_pSuite s = sl_itest_suite("play_start");

    CU_add_test(s, "play start 0: StreamNotFound; start -1: waits and plays",
                test_play_start);
}

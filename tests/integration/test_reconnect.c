/*
 * A publisher that drops and comes back within publish_grace is
 * invisible to players: they stay connected, hear no UnpublishNotify in
 * between, and get the frames of both sessions with timestamps that keep
 * going forward (the server rebases the second session's clock).
 */
#include <stdio.h>
#include <string.h>

#include "tests/integration/itest.h"

static void
test_reconnect(void)
{
    struct sl_av              av = {320, 240, 30, 3, 30, 0};
    struct sl_srv             srv;
    struct sl_proc            pub, play;
    struct sl_probe           pr;
    struct sl_rc             *rc;
    struct sl_itest_pump      pump;
    const struct sl_rc_stats *st;
    char                      url[256], out[PATH_MAX + 32], log[PATH_MAX + 32];
    long                      sent = 2L * av.fps * av.seconds;

    IT_START(&srv, "publish_grace = 3s\n", NULL);
    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    sl_srv_path(&srv, "play.flv", out, sizeof(out));
    sl_srv_path(&srv, "play.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_play(&play, url, out, log) == 0);
    rc = sl_rc_player(srv.port, "live", "x", -2, 0, IT_S(5));
    CU_ASSERT_FATAL(rc != NULL);
    CU_ASSERT(sl_rc_wait_status(rc, "NetStream.Play.Start", IT_S(5)) == 0);
    CU_ASSERT(sl_wait_file_count(srv.log, "playing live/x", 2, IT_S(10)) == 0);
    sl_itest_pump_start(&pump, rc, IT_S(40), 1);

    for (int i = 0; i < 2; i++) {
        snprintf(log, sizeof(log), "%s/publish%d.log", srv.dir, i);
        CU_ASSERT(sl_ffmpeg_publish(&pub, url, &av, log) == 0);
        CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
        CU_ASSERT(sl_proc_exited_with(&pub, 0));
        sl_proc_kill(&pub);
        /* The gap: the server has seen the first publisher go, and the
         * second one comes about a second later, well inside grace. */
        if (i == 0) {
            CU_ASSERT(sl_wait_file_count(srv.log, "unpublished live/x", 1,
                                         IT_S(5)) == 0);
            sl_sleep(1);
        }
    }
    CU_ASSERT(sl_proc_wait(&play, IT_S(20)) == 0);
    CU_ASSERT(sl_proc_exited_with(&play, 0));
    sl_proc_kill(&play);
    sl_itest_pump_join(&pump);

    st = sl_rc_stats(rc);
    fprintf(stderr,
            "  client: %lu video, %lu audio, monotonic v %d a %d, "
            "unpublish %d\n",
            st->video, st->audio, st->video_ts_monotonic,
            st->audio_ts_monotonic, st->unpublish_notify);
    /* Both sessions' frames plus a sequence header each. */
    CU_ASSERT(sl_within_pct((long) st->video, sent + 2, 2));
    CU_ASSERT(st->video_ts_monotonic);
    CU_ASSERT(st->audio_ts_monotonic);
    CU_ASSERT(st->unpublish_notify);
    sl_rc_close(rc);

    CU_ASSERT_FATAL(sl_probe_file(out, &pr) == 0);
    sl_probe_print("ffmpeg player", &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT(sl_within_pct(pr.video_packets, sent, 2));
    CU_ASSERT(pr.video_dts_monotonic);
    CU_ASSERT(pr.audio_dts_monotonic);
    IT_STOP(&srv);
}

void
sl_itest_suite_reconnect(void)
{
    CU_pSuite s = sl_itest_suite("reconnect");

    CU_add_test(s, "players keep playing across a publisher reconnect",
                test_reconnect);
}

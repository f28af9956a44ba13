/*
 * The basic promise: ffmpeg publishes, ffmpeg plays.  The player starts
 * first and waits; it receives the whole stream (every video frame sent,
 * audio too, timestamps in order) and leaves by itself once the
 * publisher has gone and publish_grace has passed.
 */
#include <stdio.h>
#include <string.h>

#include "tests/integration/itest.h"

static void
test_publish_play(void)
{
    struct sl_av    av = {320, 240, 30, 5, 30, 0};
    struct sl_srv   srv;
    struct sl_proc  pub, play;
    struct sl_probe pr;
    char url[256], out[PATH_MAX + 32], plog[PATH_MAX + 32], flog[PATH_MAX + 32];
    long sent = (long) av.fps * av.seconds;

    IT_START(&srv, NULL, NULL);
    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    sl_srv_path(&srv, "play.flv", out, sizeof(out));
    sl_srv_path(&srv, "play.log", plog, sizeof(plog));
    sl_srv_path(&srv, "publish.log", flog, sizeof(flog));

    /* The player comes first: the server must hold it until a publisher
     * appears. */
    CU_ASSERT_FATAL(sl_ffmpeg_play(&play, url, out, plog) == 0);
    CU_ASSERT(sl_wait_file_count(srv.log, "playing live/x", 1, IT_S(10)) == 0);
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, flog) == 0);

    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    /* publish_grace is 1 s: then the player hears UnpublishNotify and
     * ffmpeg ends the recording by itself. */
    CU_ASSERT(sl_proc_wait(&play, IT_S(20)) == 0);
    CU_ASSERT(sl_proc_exited_with(&play, 0));
    sl_proc_kill(&play);
    sl_proc_kill(&pub);

    CU_ASSERT_FATAL(sl_probe_file(out, &pr) == 0);
    sl_probe_print("player", &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT(pr.width == av.width && pr.height == av.height);
    CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");
    CU_ASSERT(pr.audio_packets > 0);
    CU_ASSERT(sl_within_pct(pr.video_packets, sent, 2));
    CU_ASSERT(pr.first_video_key);
    CU_ASSERT(pr.video_dts_monotonic);
    CU_ASSERT(pr.audio_dts_monotonic);
    IT_STOP(&srv);
}

void
sl_itest_suite_publish_play(void)
{
    CU_pSuite s = sl_itest_suite("publish_play");

    CU_add_test(s, "ffmpeg player waits, gets the whole ffmpeg stream",
                test_publish_play);
}

/*
 * rtmpdump (librtmp, the digest handshake, the client OBS is built on)
 * records a live stream: the file it writes is an FLV that ffprobe reads
 * as H.264 + AAC with every frame the publisher sent.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/integration/itest.h"

static void
test_rtmpdump(void)
{
    struct sl_av    av = {320, 240, 30, 5, 30, 0};
    struct sl_srv   srv;
    struct sl_proc  pub, dump;
    struct sl_probe pr;
    char            url[256], out[PATH_MAX + 32], log[PATH_MAX + 32];

    IT_START(&srv, NULL, NULL);
    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    sl_srv_path(&srv, "publish.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, log) == 0);
    CU_ASSERT(sl_wait_file_count(srv.log, "publishing live/x", 1, IT_S(10)) ==
              0);

    sl_srv_path(&srv, "rtmpdump.flv", out, sizeof(out));
    sl_srv_path(&srv, "rtmpdump.log", log, sizeof(log));
    {
        char *argv[] = {"rtmpdump", "-q", "-v", "-r", url,
                        "-o",       out,  "-m", "10", NULL};

        CU_ASSERT_FATAL(sl_proc_spawn(&dump, argv, log, log) == 0);
    }
    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    /* rtmpdump ends by itself on UnpublishNotify; the bound is a SIGINT
     * (it closes the file cleanly) and then a SIGKILL. */
    CU_ASSERT(sl_proc_wait(&dump, IT_S(15)) == 0);
    sl_proc_stop(&dump, SIGINT, IT_S(3));
    sl_proc_kill(&pub);

    CU_ASSERT_FATAL(sl_probe_file(out, &pr) == 0);
    sl_probe_print("rtmpdump", &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT(pr.width == av.width && pr.height == av.height);
    CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");
    CU_ASSERT(pr.audio_packets > 0);
    CU_ASSERT(pr.first_video_key);
    CU_ASSERT(pr.video_packets > 0);
    CU_ASSERT(pr.video_packets <= (long) av.fps * av.seconds);
    CU_ASSERT(pr.video_dts_monotonic);
    IT_STOP(&srv);
}

void
sl_itest_suite_rtmpdump(void)
{
    CU_pSuite s = sl_itest_suite("rtmpdump");

    CU_add_test(s, "rtmpdump records a playable H.264+AAC FLV", test_rtmpdump);
}

/*
 * A player that stops reading cannot hold the stream hostage: with
 * max_lag = 1s the server disconnects it (and says why in a WARN line),
 * while an ffmpeg player that started at the same time receives every
 * frame.  The stream is large on purpose (720p at constant QP 10, about
 * 12 Mbit/s) so that it overflows the kernel's socket buffers towards
 * the stuck client, which can hold several megabytes on loopback.
 */
#include <stdio.h>
#include <string.h>

#include "tests/integration/itest.h"

static void
test_slow_player(void)
{
    struct sl_av    av = {1280, 720, 30, 6, 30, 10};
    struct sl_srv   srv;
    struct sl_proc  pub, play;
    struct sl_probe pr;
    struct sl_rc   *stuck;
    char            url[256], out[PATH_MAX + 32], log[PATH_MAX + 32];
    int             lport;

    IT_START(&srv, "max_lag = 1s\n", NULL);
    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    sl_srv_path(&srv, "play.flv", out, sizeof(out));
    sl_srv_path(&srv, "play.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_play(&play, url, out, log) == 0);
    /* A small receive window, and after Play.Start no more reads. */
    stuck = sl_rc_player(srv.port, "live", "x", -2, 4096, IT_S(5));
    CU_ASSERT_FATAL(stuck != NULL);
    CU_ASSERT(sl_rc_wait_status(stuck, "NetStream.Play.Start", IT_S(5)) == 0);
    lport = sl_rc_local_port(stuck);
    CU_ASSERT(sl_wait_file_count(srv.log, "playing live/x", 2, IT_S(10)) == 0);

    sl_srv_path(&srv, "publish.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, log) == 0);
    /* "closing: player too slow: ..." or "closing: player stopped
     * reading": either way the server gave up on it. */
    CU_ASSERT(sl_srv_wait_conn_log(&srv, lport, " WARN ", "closing: player",
                                   IT_S(20)) == 0);
    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    CU_ASSERT(sl_proc_wait(&play, IT_S(20)) == 0);
    CU_ASSERT(sl_proc_exited_with(&play, 0));
    sl_proc_kill(&pub);
    sl_proc_kill(&play);
    /* The server let go of it.  (Draining the client to see the end of
     * the stream is no test: with a tiny window the kernel trickles the
     * megabytes it still holds out with zero-window probes.) */
    CU_ASSERT(sl_srv_wait_conn_log(&srv, lport, NULL, "stopped playing",
                                   IT_S(5)) == 0);
    sl_rc_close(stuck);

    CU_ASSERT_FATAL(sl_probe_file(out, &pr) == 0);
    sl_probe_print("ffmpeg player", &pr);
    CU_ASSERT(sl_within_pct(pr.video_packets, (long) av.fps * av.seconds, 2));
    CU_ASSERT(pr.video_dts_monotonic);
    IT_STOP(&srv);
}

void
sl_itest_suite_slow_player(void)
{
    CU_pSuite s = sl_itest_suite("slow_player");

    CU_add_test(s, "a stuck player is dropped, a good one gets everything",
                test_slow_player);
}

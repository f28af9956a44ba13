/*
 * Signals as an operator uses them.
 *
 * SIGHUP re-reads the config: an app added to the file becomes usable
 * for new connections while a running player plays on undisturbed; a
 * broken file is refused with its FILE:LINE: in the log and the running
 * config stays; a changed start-only key is named in a WARN.  SIGTERM with a
 * publisher and players connected: the server exits 0 within a bound, and the
 * players are told the stream ended (UnpublishNotify), so ffmpeg finishes its
 * recording by itself.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/integration/itest.h"

/* A fresh connection to app: 0 when accepted, -ECONNREFUSED when the
 * server rejected the app. */
static int
try_connect(const struct sl_srv *srv, const char *app)
{
    struct sl_rc *c = sl_rc_open(srv->port, 0, IT_S(5));
    int           rc;

    if (c == NULL)
        return -ECONNABORTED;
    rc = sl_rc_handshake(c, IT_S(5));
    if (rc == 0)
        rc = sl_rc_connect(c, app, IT_S(5));
    sl_rc_close(c);
    return rc;
}

static void
test_sighup(void)
{
    struct sl_av    av = {320, 240, 30, 6, 30, 0};
    struct sl_srv   srv;
    struct sl_proc  pub, play;
    struct sl_probe pr;
    char url[256], out[PATH_MAX + 32], log[PATH_MAX + 32], want[PATH_MAX + 64];

    IT_START(&srv, NULL, NULL);
    srv.allow_error = 1; /* the broken reload is logged as an ERROR */
    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    sl_srv_path(&srv, "play.flv", out, sizeof(out));
    sl_srv_path(&srv, "play.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_play(&play, url, out, log) == 0);
    CU_ASSERT(sl_wait_file_count(srv.log, "playing live/x", 1, IT_S(10)) == 0);
    sl_srv_path(&srv, "publish.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, log) == 0);
    CU_ASSERT(sl_wait_file_count(srv.log, "publishing live/x", 1, IT_S(10)) ==
              0);

    /* Before: no app "other". */
    CU_ASSERT(try_connect(&srv, "other") == -ECONNREFUSED);

    /* Add it and reload. */
    CU_ASSERT(sl_srv_write_ini(&srv, NULL, "[app:other]\n") == 0);
    CU_ASSERT(sl_proc_signal(&srv.proc, SIGHUP) == 0);
    CU_ASSERT(sl_wait_file_count(srv.log, "config reloaded", 1, IT_S(5)) == 0);
    CU_ASSERT(try_connect(&srv, "other") == 0);
    CU_ASSERT(try_connect(&srv, "live") == 0);

    /* A broken file (unknown key on line 3) is refused, and says where;
     * the config that runs still has "other". */
    CU_ASSERT(sl_write_file(srv.ini, "[server]\n"
                                     "listen = 127.0.0.1:1\n"
                                     "frobnicate = yes\n"
                                     "[app:live]\n") == 0);
    CU_ASSERT(sl_proc_signal(&srv.proc, SIGHUP) == 0);
    CU_ASSERT(sl_wait_file_count(srv.log, "reload failed", 1, IT_S(5)) == 0);
    snprintf(want, sizeof(want), "%s:3:", srv.ini);
    CU_ASSERT(sl_file_count(srv.log, want) == 1);
    CU_ASSERT(try_connect(&srv, "other") == 0);

    /* A start-only key changed: the reload goes through, and the log
     * says the key waits for a restart. */
    CU_ASSERT(sl_srv_write_ini(&srv, "workers = 3\n", "[app:other]\n") == 0);
    CU_ASSERT(sl_proc_signal(&srv.proc, SIGHUP) == 0);
    CU_ASSERT(sl_wait_file_count(srv.log, "config reloaded", 2, IT_S(5)) == 0);
    CU_ASSERT(sl_file_count(srv.log, "WARN reload: [server] workers changed; "
                                     "read at start only") == 1);

    /* The player never noticed any reload. */
    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    CU_ASSERT(sl_proc_wait(&play, IT_S(20)) == 0);
    CU_ASSERT(sl_proc_exited_with(&play, 0));
    sl_proc_kill(&pub);
    sl_proc_kill(&play);
    CU_ASSERT_FATAL(sl_probe_file(out, &pr) == 0);
    sl_probe_print("player", &pr);
    CU_ASSERT(sl_within_pct(pr.video_packets, (long) av.fps * av.seconds, 2));
    CU_ASSERT(pr.video_dts_monotonic);
    /* Exactly the one ERROR line we caused. */
    CU_ASSERT(sl_file_count(srv.log, " ERROR ") == 1);
    IT_STOP(&srv);
}

static void
test_sigterm(void)
{
    /* Far longer than the test: the server ends it, not the source. */
    struct sl_av              av = {320, 240, 30, 60, 30, 0};
    struct sl_srv             srv;
    struct sl_proc            pub, play;
    struct sl_rc             *rc;
    const struct sl_rc_stats *st;
    double                    deadline;
    char                      url[256], out[PATH_MAX + 32], log[PATH_MAX + 32];

    IT_START(&srv, NULL, NULL);
    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    sl_srv_path(&srv, "play.flv", out, sizeof(out));
    sl_srv_path(&srv, "play.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_play(&play, url, out, log) == 0);
    rc = sl_rc_player(srv.port, "live", "x", -2, 0, IT_S(5));
    CU_ASSERT_FATAL(rc != NULL);
    CU_ASSERT(sl_rc_wait_status(rc, "NetStream.Play.Start", IT_S(5)) == 0);
    sl_srv_path(&srv, "publish.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, log) == 0);

    /* Let a second of video flow to our player, then stop the server. */
    deadline = sl_now() + IT_S(15);
    while (sl_rc_stats(rc)->video < 30 && sl_now() < deadline)
        sl_rc_pump(rc, 0.1, 0);
    CU_ASSERT(sl_rc_stats(rc)->video >= 30);
    CU_ASSERT(sl_proc_signal(&srv.proc, SIGTERM) == 0);
    CU_ASSERT(sl_proc_wait(&srv.proc, IT_S(8)) == 0);
    CU_ASSERT(sl_proc_exited_with(&srv.proc, 0));

    /* Our client heard the end of the stream, then the close. */
    CU_ASSERT(sl_rc_pump(rc, IT_S(5), 0) == -ECONNRESET);
    st = sl_rc_stats(rc);
    CU_ASSERT(st->unpublish_notify);
    sl_rc_close(rc);
    /* ffmpeg's player ends by itself; the publisher loses its server. */
    CU_ASSERT(sl_proc_wait(&play, IT_S(10)) == 0);
    CU_ASSERT(sl_proc_exited_with(&play, 0));
    CU_ASSERT(sl_proc_wait(&pub, IT_S(10)) == 0);
    sl_proc_kill(&play);
    sl_proc_kill(&pub);
    /* Exit status and a clean log (the process is already reaped). */
    IT_STOP(&srv);
}

void
sl_itest_suite_signals(void)
{
    CU_pSuite s = sl_itest_suite("signals");

    CU_add_test(s, "SIGHUP adds an app; a broken file keeps the old config",
                test_sighup);
    CU_add_test(s,
                "SIGTERM with a publisher and players: exit 0, players "
                "told",
                test_sigterm);
}

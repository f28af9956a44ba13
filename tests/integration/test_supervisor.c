/*
 * The master process: the serving process killed with SIGKILL comes back
 * by itself on the same ports (a player that connects while none runs is
 * served by the next one; the web port stays open too), a crash loop
 * backs off, SIGTERM to the master stops everything, and an edge pulling
 * from a restarted origin resumes for the player it kept.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/itest.h"
#include "tests/support/flood.h"

/* The pid in the n-th (1-based) "serving process PID started" line of
 * the log, or 0 when there is none yet. */
static int
serving_pid(const struct sl_srv *srv, int n)
{
    char       *log = sl_read_file(srv->log), *p;
    const char *key = "serving process ";
    int         pid = 0, seen = 0;

    for (p = log; p != NULL && (p = strstr(p, key)) != NULL; p += strlen(key)) {
        int  v = 0;
        char word[16] = "";

        if (sscanf(p + strlen(key), "%d %15s", &v, word) == 2 &&
            !strcmp(word, "started") && ++seen == n) {
            pid = v;
            break;
        }
    }
    free(log);
    return pid;
}

/* Waits for the n-th serving process; its pid or 0. */
static int
wait_serving(const struct sl_srv *srv, int n)
{
    for (double end = sl_now() + IT_S(15); sl_now() < end; sl_sleep(0.05)) {
        int pid = serving_pid(srv, n);

        if (pid > 0 && sl_file_count(srv->log, "listening on") >= n)
            return pid;
    }
    return 0;
}

static int
alive(int pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

static void
test_restart(void)
{
    struct sl_av    av = {320, 240, 25, 3, 25, 0};
    struct sl_srv   srv;
    struct sl_proc  pub, play;
    struct sl_probe pr;
    char url[256], out[PATH_MAX + 32], plog[PATH_MAX + 32], flog[PATH_MAX + 32];
    int  first, second;

    IT_START(&srv, NULL, NULL);
    srv.allow_error = 1; /* the death is logged as an ERROR */
    first = wait_serving(&srv, 1);
    CU_ASSERT_FATAL(first > 0 && first != srv.proc.pid);

    CU_ASSERT(kill(first, SIGKILL) == 0);
    /* Connected while no serving process runs: it waits in the master's
     * backlog and the next one serves it. */
    sl_srv_url(&srv, "live", "back", url, sizeof(url));
    sl_srv_path(&srv, "play.flv", out, sizeof(out));
    sl_srv_path(&srv, "play.log", plog, sizeof(plog));
    sl_srv_path(&srv, "pub.log", flog, sizeof(flog));
    CU_ASSERT_FATAL(sl_ffmpeg_play(&play, url, out, plog) == 0);

    second = wait_serving(&srv, 2);
    CU_ASSERT_FATAL(second > 0);
    CU_ASSERT(second != first);
    CU_ASSERT(!alive(first));
    CU_ASSERT(sl_file_count(srv.log, "was killed by signal 9") == 1);
    CU_ASSERT(sl_file_count(srv.log, "restarting in") == 1);

    CU_ASSERT(sl_wait_file_count(srv.log, "playing live/back", 1, IT_S(10)) ==
              0);
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, flog) == 0);
    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0 &&
              sl_proc_exited_with(&pub, 0));
    CU_ASSERT(sl_proc_wait(&play, IT_S(20)) == 0);
    sl_proc_kill(&pub);
    sl_proc_kill(&play);
    CU_ASSERT(sl_probe_file(out, &pr) == 0);
    sl_probe_print("after restart", &pr);
    CU_ASSERT(pr.video_packets >= (long) av.fps * av.seconds * 9 / 10);

    /* SIGTERM to the master stops the serving process too: exit 0. */
    IT_STOP(&srv);
    CU_ASSERT(!alive(second));
}

/* A connection to the web port with a request sent, or -errno. */
static int
web_request(const struct sl_srv *srv)
{
    static const char req[] = "GET / HTTP/1.0\r\n\r\n";
    int               fd = sl_connect_from(NULL, srv->web_port, IT_S(5));

    if (fd >= 0 &&
        write(fd, req, sizeof(req) - 1) != (ssize_t) sizeof(req) - 1) {
        close(fd);
        return -EIO;
    }
    return fd;
}

/* Whether a serving process took the connection and answered it: the
 * server closes it after the request (today: not an RTMP handshake; an
 * HTTP session answers and closes an HTTP/1.0 request), which a
 * connection left in a backlog nobody accepts from never sees. */
static int
served(int fd, double timeout_s)
{
    int rc = fd >= 0 ? sl_wait_peer_closed(fd, timeout_s) : fd;

    if (fd >= 0)
        close(fd);
    return rc == 0;
}

/* The master opens the web port ([web] listen, on loopback in tests) and
 * keeps it: connections are served before a restart, across it (one
 * made right after the kill waits in the backlog for the next serving
 * process) and after it. */
static void
test_web_port_survives_restart(void)
{
    struct sl_srv srv;
    char          line[64];
    int           first, second, gap;

    IT_START(&srv, NULL, NULL);
    srv.allow_error = 1; /* the death is logged as an ERROR */
    CU_ASSERT_FATAL(srv.web_port > 0);
    first = wait_serving(&srv, 1);
    CU_ASSERT_FATAL(first > 0);
    snprintf(line, sizeof(line), "web on 127.0.0.1:%d", srv.web_port);
    CU_ASSERT(sl_file_count(srv.log, line) == 1);
    CU_ASSERT(served(web_request(&srv), IT_S(5)));

    CU_ASSERT(kill(first, SIGKILL) == 0);
    gap = web_request(&srv);
    CU_ASSERT(gap >= 0);
    second = wait_serving(&srv, 2);
    CU_ASSERT_FATAL(second > 0 && second != first);
    CU_ASSERT(served(gap, IT_S(10)));
    CU_ASSERT(served(web_request(&srv), IT_S(5)));
    CU_ASSERT(sl_file_count(srv.log, line) == 2);
    IT_STOP(&srv);
    /* With the master gone, the port is closed. */
    gap = sl_connect_from(NULL, srv.web_port, IT_S(1));
    CU_ASSERT(gap == -ECONNREFUSED);
    if (gap >= 0)
        close(gap);
}

static void
test_crash_loop_backs_off(void)
{
    struct sl_srv srv;
    int           pid;

    IT_START(&srv, NULL, NULL);
    srv.allow_error = 1;
    /* Three deaths in a row, each right after the start: the waits grow. */
    for (int n = 1; n <= 3; n++) {
        pid = wait_serving(&srv, n);
        CU_ASSERT_FATAL(pid > 0);
        CU_ASSERT(kill(pid, SIGKILL) == 0);
        CU_ASSERT(sl_wait_file_count(srv.log, "restarting in", n, IT_S(10)) ==
                  0);
    }
    CU_ASSERT(sl_file_count(srv.log, "restarting in 250 ms") == 1);
    CU_ASSERT(sl_file_count(srv.log, "restarting in 500 ms") == 1);
    CU_ASSERT(sl_file_count(srv.log, "restarting in 1000 ms") == 1);
    pid = wait_serving(&srv, 4);
    CU_ASSERT(pid > 0);
    IT_STOP(&srv);
    if (pid > 0)
        CU_ASSERT(!alive(pid));
}

/* An edge keeps its player while the origin's serving process is killed
 * and comes back; once a publisher is on the origin again the edge pulls
 * it and the same player connection gets the new frames. */
static void
test_edge_resumes(void)
{
    struct sl_av         a = {320, 240, 25, 30, 25, 0};
    struct sl_av         b = {320, 240, 25, 4, 25, 0};
    struct sl_srv        origin, edge;
    struct sl_proc       pub;
    struct sl_rc        *rc;
    struct sl_itest_pump pump;
    char                 url[256], sec[512], flog[PATH_MAX + 32];
    unsigned long        before, after;
    int                  first;

    IT_START(&origin, NULL, NULL);
    origin.allow_error = 1;
    sl_srv_url(&origin, "live", "", url, sizeof(url));
    url[strlen(url) - 1] = '\0'; /* rtmp://127.0.0.1:PORT/live */
    snprintf(sec, sizeof(sec), "pull = %s\n", url);
    IT_START(&edge, "publish_grace = 60s\n", sec);

    sl_srv_url(&origin, "live", "cam", url, sizeof(url));
    sl_srv_path(&origin, "pub-a.log", flog, sizeof(flog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &a, flog) == 0);
    CU_ASSERT(sl_wait_file_count(origin.log, "publishing live/cam", 1,
                                 IT_S(10)) == 0);
    rc = sl_rc_player(edge.port, "live", "cam", -1, 0, IT_S(10));
    CU_ASSERT_FATAL(rc != NULL);
    /* Media flows origin -> edge -> player for a while. */
    CU_ASSERT_FATAL(sl_itest_pump_start(&pump, rc, IT_S(2), 0) == 0);
    sl_itest_pump_join(&pump);
    before = sl_rc_stats(rc)->video;
    CU_ASSERT(before > 0);

    first = wait_serving(&origin, 1);
    CU_ASSERT_FATAL(first > 0);
    CU_ASSERT(kill(first, SIGKILL) == 0);
    CU_ASSERT_FATAL(sl_itest_pump_start(&pump, rc, IT_S(60), 0) == 0);
    CU_ASSERT(sl_proc_wait(&pub, IT_S(15)) == 0); /* its server is gone */
    sl_proc_kill(&pub);
    CU_ASSERT_FATAL(wait_serving(&origin, 2) > 0);

    /* A publisher returns to the restarted origin; the edge pulls again. */
    sl_srv_path(&origin, "pub-b.log", flog, sizeof(flog));
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &b, flog) == 0);
    CU_ASSERT(sl_wait_file_count(origin.log, "playing live/cam", 2, IT_S(20)) ==
              0);
    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    sl_proc_kill(&pub);
    sl_sleep(IT_S(1));
    /* Stopping the edge ends the player's connection, and the pump. */
    IT_STOP(&edge);
    sl_itest_pump_join(&pump);
    after = sl_rc_stats(rc)->video;
    fprintf(stderr,
            "  edge player: %lu video messages before the kill, %lu after, "
            "on one connection\n",
            before, after - before);
    /* The second publisher's 4 s (100 frames) came over the same player
     * connection; without the resumed pull only a few of the first
     * publisher's last frames would. */
    CU_ASSERT(after - before >= 75);
    CU_ASSERT(sl_rc_stats(rc)->video_ts_monotonic);
    sl_rc_close(rc);
    IT_STOP(&origin);
}

void
sl_itest_suite_supervisor(void)
{
    CU_pSuite s = sl_itest_suite("supervisor");

    CU_add_test(s, "a killed serving process comes back on the same ports",
                test_restart);
    CU_add_test(s, "the web port stays open across a restart",
                test_web_port_survives_restart);
    CU_add_test(s, "a crash loop backs off", test_crash_loop_backs_off);
    CU_add_test(s, "an edge resumes pulling from a restarted origin",
                test_edge_resumes);
}

/*
 * Abuse limits under attack, with real clients.
 *
 * - A flood of 500 half-open connections from 127.0.0.2 (silent ones
 *   and ones that stall half way through the handshake, reopened as the
 *   server closes them) against max_pending_per_ip = 50, while
 *   ffmpeg publishes from 127.0.0.1 and an ffmpeg player, started during
 *   the flood, records the stream: the player gets at least 98% of the
 *   frames sent, the refusals are logged as a few rate-limited lines,
 *   and the server stops cleanly afterwards.
 * - connection_rate_per_ip: 100 connections at once from 127.0.0.3 are
 *   mostly reset before a byte of RTMP; one made after the bucket had
 *   time to refill works.
 * - max_pending: connections that neither publish nor play fill the
 *   cap and the next one is refused; once one of them plays, a new one
 *   gets in.
 *
 * Nothing here asserts a time: waits are bounds, and the 98% is a
 * count of frames.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/itest.h"
#include "tests/support/flood.h"
#include "tests/support/http_client.h"
#include "tests/support/prom.h"
#include "tests/support/tcp_proxy.h"

/* The refusal counter for reason from /metrics, or -1. */
static double
refused_metric(const struct sl_srv *srv, const char *reason)
{
    struct sl_http_resp r;
    struct sl_prom     *p;
    char                err[256], labels[64];
    double              v = -1;

    if (sl_http_get(srv->http_port, "/metrics", &r) != 200) {
        sl_http_resp_free(&r);
        return -1;
    }
    p = sl_prom_parse(r.body, err, sizeof(err));
    if (p == NULL)
        fprintf(stderr, "  metrics rejected: %s\n", err);
    snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
    if (p != NULL &&
        sl_prom_value(p, "sluice_connections_refused_total", labels, &v) < 0)
        v = -1;
    sl_prom_free(p);
    sl_http_resp_free(&r);
    return v;
}

static void
test_flood_one_address(void)
{
    struct sl_av        av = {320, 240, 25, 10, 25, 0};
    struct sl_srv       srv;
    struct sl_flood     fl;
    struct sl_proc      pub, play;
    struct sl_probe     pr;
    struct sl_http_resp r;
    char                url[256], out[PATH_MAX + 32], plog[PATH_MAX + 32];
    char                flog[PATH_MAX + 32];
    long                sent = (long) av.fps * av.seconds;
    double              per_ip, rate;
    int                 lines;

    IT_START(&srv, "max_pending_per_ip = 50\n", NULL);
    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    sl_srv_path(&srv, "play.flv", out, sizeof(out));
    sl_srv_path(&srv, "play.log", plog, sizeof(plog));
    sl_srv_path(&srv, "publish.log", flog, sizeof(flog));

    CU_ASSERT_FATAL(sl_flood_start(&fl, "127.0.0.2", srv.port, 500, 1000) == 0);
    /* The flood is on once the server refuses it. */
    IT_EXPECT_LOGS(sl_wait_file_count(srv.log,
                                      "refused 127.0.0.2: "
                                      "max_pending_per_ip (50) reached",
                                      1, IT_S(10)) == 0,
                   srv.log, NULL);

    /* A player from elsewhere starts during the flood and waits for
     * the publisher, so it should see every frame. */
    CU_ASSERT_FATAL(sl_ffmpeg_play(&play, url, out, plog) == 0);
    IT_EXPECT_LOGS(sl_wait_file_count(srv.log, "playing live/x", 1, IT_S(15)) ==
                       0,
                   srv.log, plog);
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, flog) == 0);
    CU_ASSERT(sl_proc_wait(&pub, IT_S(60)) == 0);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    CU_ASSERT(sl_proc_wait(&play, IT_S(30)) == 0);
    CU_ASSERT(sl_proc_exited_with(&play, 0));
    sl_proc_kill(&play);
    sl_proc_kill(&pub);
    /* Still flooding at the end. */
    CU_ASSERT(atomic_load(&fl.open_now) > 0);
    sl_flood_stop(&fl);
    fprintf(stderr,
            "  flood: %ld connects, %ld established, %ld closed by the "
            "server\n",
            atomic_load(&fl.attempts), atomic_load(&fl.connected),
            atomic_load(&fl.closed));

    CU_ASSERT_FATAL(sl_probe_file(out, &pr) == 0);
    sl_probe_print("player", &pr);
    IT_EXPECT_LOGS(pr.video_packets >= (long) (0.98 * (double) sent), plog,
                   flog);

    /* Refused many times, logged a few times. */
    per_ip = refused_metric(&srv, "per_ip");
    rate = refused_metric(&srv, "rate");
    lines = sl_file_count(srv.log, "refused 127.0.0.2:");
    fprintf(stderr, "  refused: %.0f per_ip, %.0f rate; %d log lines\n", per_ip,
            rate, lines);
    CU_ASSERT(per_ip > 0);
    CU_ASSERT(lines >= 1);
    CU_ASSERT((double) lines * 10 < per_ip + rate);
    /* Nobody from 127.0.0.1 was refused. */
    CU_ASSERT_EQUAL(sl_file_count(srv.log, "refused 127.0.0.1"), 0);

    CU_ASSERT_EQUAL(sl_http_get(srv.http_port, "/healthz", &r), 200);
    sl_http_resp_free(&r);
    IT_STOP(&srv);
}

#define RATE_CONNS 100

static void
test_rate_limit(void)
{
    struct sl_srv srv;
    struct sl_rc *c[RATE_CONNS], *later;
    int           ok = 0, reset = 0, lines;
    double        metric;

    /* A long handshake timeout: a connection the server admitted stays
     * open however long the test takes to get to it. */
    IT_START(&srv,
             "connection_rate_per_ip = 10\nconnection_burst_per_ip = 10\n"
             "handshake_timeout = 60s\n",
             NULL);
    /* TCP connects complete in the kernel before the server accepts,
     * so all of them succeed; the refused ones are reset right after. */
    for (int i = 0; i < RATE_CONNS; i++) {
        c[i] = sl_rc_open_from("127.0.0.3", srv.port, 0, IT_S(5));
        CU_ASSERT_FATAL(c[i] != NULL);
    }
    for (int i = 0; i < RATE_CONNS; i++) {
        if (sl_rc_handshake(c[i], IT_S(5)) == 0)
            ok++;
        else
            reset++;
        sl_rc_close(c[i]);
    }
    fprintf(stderr, "  %d of %d got a handshake, %d were refused\n", ok,
            RATE_CONNS, reset);
    /* Burst 10 and 10/s: everything beyond the first few is refused
     * unless opening 100 connections took seconds. */
    CU_ASSERT(ok >= 1);
    CU_ASSERT(reset >= RATE_CONNS / 2);
    metric = refused_metric(&srv, "rate");
    CU_ASSERT(metric >= reset);
    lines = sl_file_count(srv.log, "refused 127.0.0.3: "
                                   "connection_rate_per_ip (10/s, burst 10)");
    CU_ASSERT(lines >= 1 && lines <= 2);

    /* A second is ten tokens: the next connection gets in. */
    sl_sleep(1.0);
    later = sl_rc_open_from("127.0.0.3", srv.port, 0, IT_S(5));
    CU_ASSERT_FATAL(later != NULL);
    CU_ASSERT(sl_rc_handshake(later, IT_S(5)) == 0);
    CU_ASSERT(sl_rc_connect(later, "live", IT_S(5)) == 0);
    sl_rc_close(later);
    IT_STOP(&srv);
}

static void
test_max_pending(void)
{
    struct sl_srv srv;
    struct sl_rc *c[3], *over, *later;
    char          want[64];

    IT_START(&srv,
             "max_pending = 3\nhandshake_timeout = 60s\nidle_timeout = 60s\n",
             NULL);
    /* Three that neither publish nor play: one silent after the
     * handshake, one connected, one in the middle of the handshake. */
    for (int i = 0; i < 3; i++) {
        c[i] = sl_rc_open(srv.port, 0, IT_S(5));
        CU_ASSERT_FATAL(c[i] != NULL);
    }
    CU_ASSERT(sl_rc_handshake(c[0], IT_S(5)) == 0);
    CU_ASSERT(sl_rc_handshake(c[1], IT_S(5)) == 0);
    CU_ASSERT(sl_rc_connect(c[1], "live", IT_S(5)) == 0);
    CU_ASSERT(sl_rc_send_raw(c[2], "\3", 1) == 0);
    /* The fourth is closed at once. */
    over = sl_rc_open(srv.port, 0, IT_S(5));
    CU_ASSERT_FATAL(over != NULL);
    CU_ASSERT(sl_rc_wait_closed(over, IT_S(5)) == 0);
    sl_rc_close(over);
    snprintf(want, sizeof(want), "refused 127.0.0.1: max_pending (3)");
    CU_ASSERT(sl_wait_file_count(srv.log, want, 1, IT_S(5)) == 0);
    CU_ASSERT(refused_metric(&srv, "pending") >= 1);

    /* One of them plays: it is no longer pending, so there is room. */
    CU_ASSERT(sl_rc_create_stream(c[1], IT_S(5)) == 1);
    CU_ASSERT(sl_rc_send_play(c[1], "x", -2) == 0);
    CU_ASSERT(sl_rc_wait_status(c[1], "NetStream.Play.Start", IT_S(5)) == 0);
    later = sl_rc_open(srv.port, 0, IT_S(5));
    CU_ASSERT_FATAL(later != NULL);
    CU_ASSERT(sl_rc_handshake(later, IT_S(5)) == 0);
    CU_ASSERT(sl_rc_connect(later, "live", IT_S(5)) == 0);
    sl_rc_close(later);
    for (int i = 0; i < 3; i++)
        sl_rc_close(c[i]);
    IT_STOP(&srv);
}

/* The forwarder's source address: what lets a client without a
 * local-address option (ffmpeg) connect "from" another address. */
static void
test_proxy_source(void)
{
    struct sl_srv       srv;
    struct sl_tcp_proxy px;
    struct sl_rc       *c;

    IT_START(&srv, "max_pending_per_ip = 1\n", NULL);
    CU_ASSERT_FATAL(sl_tcp_proxy_start_from(&px, srv.port, 0, "127.0.0.4") ==
                    0);
    c = sl_rc_open(px.port, 0, IT_S(5));
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(sl_rc_handshake(c, IT_S(5)) == 0);
    CU_ASSERT(sl_rc_connect(c, "live", IT_S(5)) == 0);
    /* 127.0.0.4 holds its one connection; 127.0.0.1 is not counted. */
    {
        struct sl_rc *mine = sl_rc_open(srv.port, 0, IT_S(5));

        CU_ASSERT_FATAL(mine != NULL);
        CU_ASSERT(sl_rc_handshake(mine, IT_S(5)) == 0);
        sl_rc_close(mine);
    }
    sl_rc_close(c);
    CU_ASSERT(sl_wait_file_count(srv.log, " 127.0.0.4:", 1, IT_S(5)) == 0);
    sl_tcp_proxy_stop(&px);
    IT_STOP(&srv);
}

void
sl_itest_suite_flood(void)
{
    CU_pSuite s = sl_itest_suite("flood");

    CU_add_test(s, "a one-address flood does not starve a player elsewhere",
                test_flood_one_address);
    CU_add_test(s, "connection_rate_per_ip resets a burst, refills",
                test_rate_limit);
    CU_add_test(s, "max_pending refuses at accept until one takes a role",
                test_max_pending);
    CU_add_test(s, "the forwarder connects from a chosen address",
                test_proxy_source);
}

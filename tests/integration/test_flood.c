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
 * - Viewers behind one NAT: with the shipped limits, 300 players from
 *   127.0.0.1 all play (and get the stream) while a half-open flood from
 *   127.0.0.2 is held at its pending cap: max_pending_per_ip counts only
 *   connections that neither publish nor play.
 * - max_players_per_ip: the play past it is refused (RTMP
 *   NetStream.Play.Failed, HTTP-FLV 503), one line and one count each,
 *   other addresses are not affected, and a player that leaves frees
 *   its place.
 *
 * Nothing here asserts a time: waits are bounds, and the 98% is a
 * count of frames.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/itest.h"
#include "tests/support/flood.h"
#include "tests/support/http_client.h"
#include "tests/support/prom.h"
#include "tests/support/tcp_proxy.h"

/* The counter family{reason="reason"} from /metrics, or -1. */
static double
reason_metric(const struct sl_srv *srv, const char *family, const char *reason)
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
    if (p != NULL && sl_prom_value(p, family, labels, &v) < 0)
        v = -1;
    sl_prom_free(p);
    sl_http_resp_free(&r);
    return v;
}

/* Connections refused at accept, for reason. */
static double
refused_metric(const struct sl_srv *srv, const char *reason)
{
    return reason_metric(srv, "sluice_connections_refused_total", reason);
}

/* Plays refused, for reason. */
static double
plays_refused_metric(const struct sl_srv *srv, const char *reason)
{
    return reason_metric(srv, "sluice_plays_refused_total", reason);
}

static void
test_flood_one_address(void)
{
    struct sl_av        av = {320, 240, 25, 5, 25, 0};
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

    /* A short publish_grace: the player ends with the stream. */
    IT_START(&srv, "max_pending_per_ip = 50\npublish_grace = 250ms\n", NULL);
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

/* The number at a dotted path of the server's API answer, or -1. */
static long
api_number(const struct sl_srv *srv, const char *path)
{
    json_t *j = sl_itest_get_json(srv->http_port, "/api/v1/server", 200, NULL);
    json_t *v = j != NULL ? sl_itest_jpath(j, path) : NULL;
    long    n = v != NULL ? (long) json_number_value(v) : -1;

    json_decref(j);
    return n;
}

#define NAT_PLAYERS 300
#define NAT_FLOOD 300      /* half-open connections 127.0.0.2 tries to hold */
#define NAT_MIN_BYTES 2000 /* media bytes each player must get */

/* Reads every player's socket until each has had NAT_MIN_BYTES (raw
 * bytes: the clients' parsers are not used again) or timeout_s passed.
 * Returns how many got that much. */
static int
drain_players(struct sl_rc **rc, int n, double timeout_s)
{
    static struct pollfd pf[NAT_PLAYERS];
    static long          got[NAT_PLAYERS];
    double               deadline = sl_now() + timeout_s;
    char                 buf[16384];
    int                  done = 0;

    memset(got, 0, sizeof(got));
    while (done < n && sl_now() < deadline) {
        for (int i = 0; i < n; i++)
            pf[i] = (struct pollfd){sl_rc_fd(rc[i]),
                                    got[i] < NAT_MIN_BYTES ? POLLIN : 0, 0};
        if (poll(pf, (nfds_t) n, 100) <= 0)
            continue;
        for (int i = 0; i < n; i++) {
            ssize_t k;

            if (!(pf[i].revents & POLLIN))
                continue;
            k = recv(pf[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (k > 0 && (got[i] += k) >= NAT_MIN_BYTES)
                done++;
            else if (k == 0)
                got[i] = -1000000000L; /* closed: never counts */
        }
    }
    return done;
}

static void
test_nat_players(void)
{
    struct sl_av    av = {320, 240, 25, 1, 25, 0};
    struct sl_srv   srv;
    struct sl_flood fl;
    struct sl_proc  pub;
    struct sl_rc   *rc[NAT_PLAYERS];
    char            url[256], flog[PATH_MAX + 32];
    long            total, players;
    int             n, fed;
    double          t0;

    /* The shipped config's limits and timeouts: none of the abuse keys
     * is set (conf/sluice.ini carries the built-in values, as the unit
     * suite "config" checks), and the test harness's short timeouts are
     * put back to the shipped ones. */
    IT_START(&srv, "handshake_timeout = 10s\nidle_timeout = 30s\n", NULL);
    sl_srv_url(&srv, "live", "nat", url, sizeof(url));
    sl_srv_path(&srv, "publish.log", flog, sizeof(flog));

    /* The flood takes its 100 first: silent sockets and handshakes
     * stalled half way, reopened as the server closes them. */
    CU_ASSERT_FATAL(
        sl_flood_start(&fl, "127.0.0.2", srv.port, NAT_FLOOD, 200) == 0);
    IT_EXPECT_LOGS(sl_wait_file_count(srv.log,
                                      "refused 127.0.0.2: "
                                      "max_pending_per_ip (100) reached",
                                      1, IT_S(10)) == 0,
                   srv.log, NULL);

    /* 300 viewers behind one NAT, arriving as a crowd does within
     * seconds: each connects, plays and then just holds its connection.
     * The connection rate still applies to them (100 at once, then 20 a
     * second), so after the burst they come a little slower than that;
     * what is tested is that the pending cap never refuses them. */
    t0 = sl_now();
    for (n = 0; n < NAT_PLAYERS; n++) {
        if (n >= 90)
            sl_sleep(1.0 / 19);
        rc[n] = sl_rc_player(srv.port, "live", "nat", -2, 0, IT_S(5));
        if (rc[n] == NULL)
            break;
        if (sl_rc_wait_status(rc[n], "NetStream.Play.Start", IT_S(5)) < 0) {
            fprintf(stderr, "  player %d: no Play.Start (%s)\n", n,
                    sl_rc_last_status(rc[n]));
            sl_rc_close(rc[n]);
            break;
        }
    }
    fprintf(stderr, "  %d players from 127.0.0.1 in %.1f s\n", n,
            sl_now() - t0);
    CU_ASSERT(n == NAT_PLAYERS);

    /* The server holds them all as players, and at most 100 pending
     * connections of the flood beside them. */
    players = api_number(&srv, "connections.players");
    total = api_number(&srv, "connections.total");
    fprintf(stderr, "  server: %ld connections, %ld players\n", total, players);
    CU_ASSERT(players == n);
    CU_ASSERT(total >= players && total - players <= 100);
    CU_ASSERT(atomic_load(&fl.open_now) > 0);

    /* And they play: a publisher comes, every one of them gets media. */
    CU_ASSERT_FATAL(sl_ffmpeg_publish(&pub, url, &av, flog) == 0);
    fed = drain_players(rc, n, IT_S(15));
    fprintf(stderr, "  %d of %d players got %d bytes of the stream\n", fed, n,
            NAT_MIN_BYTES);
    CU_ASSERT(fed == n);
    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    sl_proc_kill(&pub);
    for (int i = 0; i < n; i++)
        sl_rc_close(rc[i]);

    sl_flood_stop(&fl);
    fprintf(stderr,
            "  flood: %ld connects, %ld established, %ld closed by the "
            "server\n",
            atomic_load(&fl.attempts), atomic_load(&fl.connected),
            atomic_load(&fl.closed));
    /* The flood was refused at its cap; nobody from 127.0.0.1 ever was,
     * by any limit. */
    CU_ASSERT(refused_metric(&srv, "per_ip") > 0);
    CU_ASSERT(atomic_load(&fl.closed) > 0);
    CU_ASSERT_EQUAL(sl_file_count(srv.log, "refused 127.0.0.1"), 0);
    CU_ASSERT_EQUAL(sl_file_count(srv.log, "max_players_per_ip"), 0);
    IT_STOP(&srv);
}

/* The client c, opened from src, plays live/name: 0 once Play.Start
 * came, or -1 (c closed). */
static int
play_from(const char *src, int port, const char *name, struct sl_rc **c)
{
    *c = sl_rc_open_from(src, port, 0, IT_S(5));
    if (*c == NULL)
        return -1;
    if (sl_rc_handshake(*c, IT_S(5)) < 0 ||
        sl_rc_connect(*c, "live", IT_S(5)) < 0 ||
        sl_rc_create_stream(*c, IT_S(5)) < 0 ||
        sl_rc_send_play(*c, name, -2) < 0)
        return -1;
    return sl_rc_wait_status(*c, "NetStream.Play.Start", IT_S(5)) == 0 ? 0 : -1;
}

static void
test_max_players(void)
{
    struct sl_srv       srv;
    struct sl_rc       *c[2], *over, *other, *later;
    struct sl_http_resp r;
    char                retry[32];
    int                 ok;
    double              deadline;

    IT_START(&srv, "max_players_per_ip = 2\n", NULL);
    CU_ASSERT_FATAL(play_from(NULL, srv.port, "x", &c[0]) == 0);
    CU_ASSERT_FATAL(play_from(NULL, srv.port, "x", &c[1]) == 0);

    /* The third RTMP play of 127.0.0.1: refused with the reason, then
     * closed. */
    over = sl_rc_player(srv.port, "live", "x", -2, 0, IT_S(5));
    CU_ASSERT_FATAL(over != NULL);
    CU_ASSERT(sl_rc_wait_status(over, "NetStream.Play.Failed", IT_S(5)) == 0);
    CU_ASSERT(sl_rc_wait_closed(over, IT_S(5)) == 0);
    sl_rc_close(over);

    /* Its HTTP-FLV play: 503, to be tried again later. */
    CU_ASSERT_EQUAL(sl_http_get(srv.web_port, "/live/x.flv", &r), 503);
    CU_ASSERT(r.body != NULL &&
              strstr(r.body, "max_players_per_ip (2) reached") != NULL);
    CU_ASSERT(sl_http_header(&r, "Retry-After", retry, sizeof(retry)) != NULL);
    sl_http_resp_free(&r);

    /* One line and one count for each. */
    CU_ASSERT(sl_wait_file_count(srv.log,
                                 "refused: max_players_per_ip (2) reached", 2,
                                 IT_S(5)) == 0);
    CU_ASSERT_EQUAL(
        sl_file_count(srv.log, "refused: max_players_per_ip (2) reached"), 2);
    CU_ASSERT(plays_refused_metric(&srv, "per_ip") == 2);
    CU_ASSERT(plays_refused_metric(&srv, "capacity") == 0);

    /* Another address has a cap of its own. */
    CU_ASSERT(play_from("127.0.0.3", srv.port, "x", &other) == 0);
    sl_rc_close(other);

    /* A player of 127.0.0.1 leaves: its place is free again (once the
     * server has seen it go). */
    sl_rc_close(c[0]);
    deadline = sl_now() + IT_S(5);
    do {
        ok = play_from(NULL, srv.port, "x", &later) == 0;
        if (!ok) {
            sl_rc_close(later);
            later = NULL;
            sl_sleep(0.1);
        }
    } while (!ok && sl_now() < deadline);
    CU_ASSERT(ok);
    sl_rc_close(later);
    sl_rc_close(c[1]);
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
    CU_add_test(s,
                "300 players from one address play with the shipped limits, "
                "a half-open flood from another is held off",
                test_nat_players);
    CU_add_test(s, "max_players_per_ip refuses a play, RTMP and HTTP-FLV",
                test_max_players);
    CU_add_test(s, "the forwarder connects from a chosen address",
                test_proxy_source);
}

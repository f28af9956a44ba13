/*
 * A cluster: an origin that takes the publisher, two edges that pull
 * from it, each with [cluster] limits and an agent-check port, and a
 * real HAProxy (Debian's) in front of the edges in TCP mode, weighting
 * them by what their agents say.
 *
 * Spread: 40 players through HAProxy land on both edges, each a fair
 * share, and HAProxy's weights follow the agents.  Drain: an edge with
 * max_players = 5 fills, its agent says "drain", HAProxy stops sending
 * it players (none is refused any more) and a direct play there gets
 * NetStream.Play.Failed "node full"; a reload raises the limit at once.
 * Failover: an edge killed with SIGKILL under its players; new plays
 * through HAProxy succeed on the other edge within 5 s.
 *
 * Players are our rtmp_client (cheap: one socket each, read on a
 * thread); a play counts when media arrives.  Every wait is bounded by
 * IT_S(); nothing asserts how fast anything happened.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/integration/itest.h"
#include "tests/support/haproxy.h"
#include "tests/support/http_client.h"
#include "tests/support/prom.h"

/* Behind HAProxy in TCP mode every player comes from 127.0.0.1 (the
 * balancer's address): the per-address limits would count them all as
 * one client. */
#define EDGE_KEYS "max_pending_per_ip = 0\nconnection_rate_per_ip = 0\n"
#define INTER_MS 500

struct node {
    struct sl_srv srv;
    int           agent_port;
};

struct cluster {
    struct sl_srv     orig;
    struct node       edge[2];
    struct sl_haproxy lb;
    struct sl_proc    pub;
    char              publog[PATH_MAX + 32];
};

/* [app:live] keys and [cluster] of an edge pulling from origin. */
static void
edge_sections(char *out, size_t cap, int origin_port, int max_players,
              int agent_port)
{
    snprintf(out, cap,
             "pull = rtmp://127.0.0.1:%d/live\npull_idle_timeout = 2s\n"
             "[cluster]\nmax_players = %d\nagent_listen = 127.0.0.1:%d\n",
             origin_port, max_players, agent_port);
}

static int
start_edge(struct node *e, int origin_port, int max_players)
{
    char sec[512];

    e->agent_port = sl_free_port();
    if (e->agent_port < 0)
        return -1;
    edge_sections(sec, sizeof(sec), origin_port, max_players, e->agent_port);
    return sl_srv_start(&e->srv, EDGE_KEYS, sec);
}

/* Origin, two edges (max_players each), HAProxy, and ffmpeg publishing
 * live/KEY on the origin for seconds. */
static int
cluster_start(struct cluster *c, const char *key, int max1, int max2,
              int seconds)
{
    struct sl_av             av = {320, 240, 30, seconds, 30, 0};
    struct sl_haproxy_server hs[2];
    char                     url[256], needle[128];

    memset(c, 0, sizeof(*c));
    if (!sl_haproxy_available()) {
        CU_FAIL("haproxy is not installed (make deps-test installs it)");
        return -1;
    }
    if (sl_srv_start(&c->orig, NULL, NULL) < 0 ||
        start_edge(&c->edge[0], c->orig.port, max1) < 0 ||
        start_edge(&c->edge[1], c->orig.port, max2) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        snprintf(hs[i].name, sizeof(hs[i].name), "edge%d", i + 1);
        hs[i].port = c->edge[i].srv.port;
        hs[i].agent_port = c->edge[i].agent_port;
    }
    if (sl_haproxy_start(&c->lb, hs, 2, "roundrobin", INTER_MS) < 0)
        return -1;
    sl_srv_url(&c->orig, "live", key, url, sizeof(url));
    sl_srv_path(&c->orig, "publish.log", c->publog, sizeof(c->publog));
    if (sl_ffmpeg_publish(&c->pub, url, &av, c->publog) < 0)
        return -1;
    snprintf(needle, sizeof(needle), "] publishing live/%s", key);
    if (sl_wait_file_count(c->orig.log, needle, 1, IT_S(10)) < 0) {
        sl_show_tail("origin", c->orig.log);
        sl_show_tail("publisher", c->publog);
        return -1;
    }
    /* Both edges UP in HAProxy, their agents heard. */
    if (sl_haproxy_wait_status(&c->lb, "edge1", "UP", IT_S(5)) < 0 ||
        sl_haproxy_wait_status(&c->lb, "edge2", "UP", IT_S(5)) < 0) {
        sl_haproxy_print_log(&c->lb);
        return -1;
    }
    return 0;
}

static void
cluster_stop(struct cluster *c, int edge1_alive)
{
    sl_proc_stop(&c->pub, SIGINT, IT_S(5));
    CU_ASSERT(sl_haproxy_stop(&c->lb) == 0);
    if (edge1_alive)
        IT_STOP(&c->edge[0].srv);
    IT_STOP(&c->edge[1].srv);
    IT_STOP(&c->orig);
}

/* A player through port: connected, playing (NetStream.Play.Start), or
 * NULL when it was refused or failed. */
static struct sl_rc *
try_play(int port, const char *key)
{
    struct sl_rc *rc = sl_rc_player(port, "live", key, -2, 0, IT_S(3));

    if (rc == NULL)
        return NULL;
    if (sl_rc_wait_status(rc, "NetStream.Play.Start", IT_S(3)) != 0) {
        sl_rc_close(rc);
        return NULL;
    }
    return rc;
}

/* try_play until one is playing, at most tries times (a full edge
 * refuses and the next try goes elsewhere); *attempts counts them. */
static struct sl_rc *
play_retry(int port, const char *key, int tries, int *attempts)
{
    struct sl_rc *rc = NULL;

    for (int i = 0; i < tries && rc == NULL; i++) {
        (*attempts)++;
        rc = try_play(port, key);
    }
    return rc;
}

/* A metric of a node's /metrics, or -1. */
static double
metric(const struct sl_srv *s, const char *name, const char *labels)
{
    struct sl_http_resp r = {0};
    struct sl_prom     *p = NULL;
    char                err[128];
    double              v = -1;

    if (sl_http_get(s->http_port, "/metrics", &r) == 200 && r.body != NULL)
        p = sl_prom_parse(r.body, err, sizeof(err));
    if (p == NULL || sl_prom_value(p, name, labels, &v) != 0)
        v = -1;
    sl_prom_free(p);
    sl_http_resp_free(&r);
    return v;
}

static int
players(const struct sl_srv *s)
{
    return (int) metric(s, "sluice_connections", "role=\"player\"");
}

static int
refused(const struct sl_srv *s)
{
    return (int) metric(s, "sluice_plays_refused_total", "reason=\"capacity\"");
}

/* The agent's line: connect, read until it closes.  0 or -1. */
static int
agent_line(int port, char *buf, size_t cap)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct timeval     tv = {2, 0};
    size_t             got = 0;
    ssize_t            n = -1;
    int                fd = socket(AF_INET, SOCK_STREAM, 0);

    buf[0] = '\0';
    if (fd < 0)
        return -1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *) &a, sizeof(a)) == 0)
        while (got + 1 < cap && (n = recv(fd, buf + got, cap - 1 - got, 0)) > 0)
            got += (size_t) n;
    buf[got] = '\0';
    close(fd);
    return n == 0 ? 0 : -1;
}

/* Each player reads for a while; how many got video. */
static int
pump_all(struct sl_rc **rc, int n, double seconds)
{
    struct sl_itest_pump *pump = calloc((size_t) n, sizeof(*pump));
    int                   fed = 0;

    CU_ASSERT_FATAL(pump != NULL);
    for (int i = 0; i < n; i++)
        sl_itest_pump_start(&pump[i], rc[i], seconds, 1);
    for (int i = 0; i < n; i++)
        sl_itest_pump_join(&pump[i]);
    for (int i = 0; i < n; i++) {
        if (sl_rc_stats(rc[i])->video > 0)
            fed++;
        else
            fprintf(stderr, "  player %d got no video\n", i);
    }
    free(pump);
    return fed;
}

/* Reads until the first video message arrives: 0, or -1 when the bound
 * passed or the connection ended first. */
static int
wait_video(struct sl_rc *rc, double bound_s)
{
    double end = sl_now() + bound_s;

    while (sl_rc_stats(rc)->video == 0 && sl_now() < end)
        if (sl_rc_pump(rc, 0.05, 1) != 0)
            return -1;
    return sl_rc_stats(rc)->video > 0 ? 0 : -1;
}

/* ---- spread ---- */

#define SPREAD_PLAYERS 40

static void
test_spread(void)
{
    struct cluster c;
    struct sl_rc  *rc[SPREAD_PLAYERS];
    int            n, p1, p2, w1 = 0, w2 = 0, attempts = 0;
    char           st[64];

    CU_ASSERT_FATAL(cluster_start(&c, "c1", 100, 100, 30) == 0);
    for (n = 0; n < SPREAD_PLAYERS; n++) {
        rc[n] = play_retry(c.lb.port, "c1", 3, &attempts);
        if (rc[n] == NULL)
            break;
    }
    CU_ASSERT(n == SPREAD_PLAYERS);
    CU_ASSERT(pump_all(rc, n, IT_S(4)) == n);

    p1 = players(&c.edge[0].srv);
    p2 = players(&c.edge[1].srv);
    fprintf(stderr, "  %d players through haproxy: edge1 %d, edge2 %d\n", n, p1,
            p2);
    CU_ASSERT(p1 + p2 == n);
    CU_ASSERT(p1 >= 10 && p2 >= 10);
    /* The agents report their load (about 20 of 100 players each), and
     * HAProxy's weights follow within a few agent intervals. */
    for (double end = sl_now() + IT_S(5); sl_now() < end; sl_sleep(0.2)) {
        sl_haproxy_server_status(&c.lb, "edge1", st, sizeof(st), &w1);
        sl_haproxy_server_status(&c.lb, "edge2", st, sizeof(st), &w2);
        if (w1 == 100 - p1 && w2 == 100 - p2)
            break;
    }
    fprintf(stderr, "  haproxy weights: edge1 %d, edge2 %d\n", w1, w2);
    CU_ASSERT(w1 == 100 - p1 && w2 == 100 - p2);
    for (int i = 0; i < n; i++)
        sl_rc_close(rc[i]);
    cluster_stop(&c, 1);
}

/* ---- drain ---- */

/* A play straight to port whose reply, read raw off the socket, holds
 * Play.Failed and want; then the server closes.  1 when so. */
static int
refused_with(int port, const char *key, const char *want)
{
    struct sl_rc *rc = sl_rc_player(port, "live", key, -2, 0, IT_S(3));
    char          buf[8192];
    size_t        got = 0;
    ssize_t       n = -1;
    int           ok;

    if (rc == NULL)
        return 0;
    while (got < sizeof(buf) - 1 &&
           (n = recv(sl_rc_fd(rc), buf + got, sizeof(buf) - 1 - got, 0)) > 0)
        got += (size_t) n;
    ok = n == 0 && memmem(buf, got, "NetStream.Play.Failed", 21) != NULL &&
         memmem(buf, got, want, strlen(want)) != NULL;
    if (!ok)
        fprintf(stderr, "  direct play: %zu bytes, end %zd, no '%s'\n", got, n,
                want);
    sl_rc_close(rc);
    return ok;
}

#define DRAIN_FIRST 12
#define DRAIN_MORE 5

static void
test_drain(void)
{
    struct cluster c;
    struct sl_rc  *rc[DRAIN_FIRST + DRAIN_MORE + 1];
    char           line[64], sec[512];
    int            n, attempts = 0, r1;
    struct node   *e1;

    CU_ASSERT_FATAL(cluster_start(&c, "c2", 5, 0, 30) == 0);
    e1 = &c.edge[0];
    CU_ASSERT(agent_line(e1->agent_port, line, sizeof(line)) == 0);
    CU_ASSERT_STRING_EQUAL(line, "up ready 100%\n");

    /* Round robin sends every other player to edge1 until it is full;
     * after that it refuses and the client tries again (HAProxy's next
     * pick), until the agent's "drain" takes it out of the rotation. */
    for (n = 0; n < DRAIN_FIRST; n++) {
        rc[n] = play_retry(c.lb.port, "c2", 4, &attempts);
        if (rc[n] == NULL)
            break;
    }
    CU_ASSERT_FATAL(n == DRAIN_FIRST);
    CU_ASSERT(players(&e1->srv) == 5);
    CU_ASSERT(players(&c.edge[1].srv) == DRAIN_FIRST - 5);
    CU_ASSERT(agent_line(e1->agent_port, line, sizeof(line)) == 0);
    CU_ASSERT_STRING_EQUAL(line, "drain\n");
    CU_ASSERT(sl_haproxy_wait_status(&c.lb, "edge1", "DRAIN", IT_S(5)) == 0);
    r1 = refused(&e1->srv);
    fprintf(stderr, "  %d players in %d attempts; edge1 refused %d\n", n,
            attempts, r1);
    CU_ASSERT(r1 == attempts - n);

    /* Drained: HAProxy sends every new player to edge2 at the first
     * try, and edge1 refuses nobody more. */
    attempts = 0;
    for (; n < DRAIN_FIRST + DRAIN_MORE; n++) {
        rc[n] = play_retry(c.lb.port, "c2", 4, &attempts);
        if (rc[n] == NULL)
            break;
    }
    CU_ASSERT(n == DRAIN_FIRST + DRAIN_MORE);
    CU_ASSERT(attempts == DRAIN_MORE);
    CU_ASSERT(refused(&e1->srv) == r1);
    CU_ASSERT(players(&e1->srv) == 5);
    CU_ASSERT(players(&c.edge[1].srv) == n - 5);
    CU_ASSERT(pump_all(rc, n, IT_S(3)) == n);

    /* A direct play on the full edge: Play.Failed, "node full", closed. */
    CU_ASSERT(refused_with(e1->srv.port, "c2", "node full: 5/5 players"));
    CU_ASSERT(refused(&e1->srv) == r1 + 1);
    IT_EXPECT_LOGS(
        sl_file_count(e1->srv.log, "refused: node full: 5/5 players") >= 1,
        e1->srv.log, NULL);

    /* A reload raises the limit at once: room for one more. */
    edge_sections(sec, sizeof(sec), c.orig.port, 6, e1->agent_port);
    CU_ASSERT_FATAL(sl_srv_write_ini(&e1->srv, EDGE_KEYS, sec) == 0);
    CU_ASSERT(sl_proc_signal(&e1->srv.proc, SIGHUP) == 0);
    CU_ASSERT(sl_wait_file_count(e1->srv.log, "config reloaded", 1, IT_S(5)) ==
              0);
    CU_ASSERT(agent_line(e1->agent_port, line, sizeof(line)) == 0);
    CU_ASSERT_STRING_EQUAL(line, "up ready 16%\n");
    rc[n] = try_play(e1->srv.port, "c2");
    CU_ASSERT(rc[n] != NULL);
    if (rc[n] != NULL)
        n++;
    CU_ASSERT(players(&e1->srv) == 6);

    for (int i = 0; i < n; i++)
        sl_rc_close(rc[i]);
    cluster_stop(&c, 1);
}

/* ---- failover ---- */

#define FAILOVER_PLAYERS 10

static void
test_failover(void)
{
    struct cluster       c;
    struct sl_rc        *rc[FAILOVER_PLAYERS], *late = NULL;
    struct sl_itest_pump pump[FAILOVER_PLAYERS];
    int                  n, attempts = 0, tries = 0;
    double               t0, took = -1;

    CU_ASSERT_FATAL(cluster_start(&c, "c3", 0, 0, 30) == 0);
    for (n = 0; n < FAILOVER_PLAYERS; n++) {
        rc[n] = play_retry(c.lb.port, "c3", 3, &attempts);
        if (rc[n] == NULL)
            break;
    }
    CU_ASSERT_FATAL(n == FAILOVER_PLAYERS);
    CU_ASSERT(players(&c.edge[0].srv) >= 1);
    for (int i = 0; i < n; i++)
        sl_itest_pump_start(&pump[i], rc[i], IT_S(4), 1);

    /* edge1 dies under its players. */
    t0 = sl_now();
    sl_proc_kill(&c.edge[0].srv.proc);
    /* New plays through HAProxy: one counts when it receives video. */
    while (sl_now() < t0 + IT_S(5) && late == NULL) {
        tries++;
        late = try_play(c.lb.port, "c3");
        if (late != NULL && wait_video(late, IT_S(2)) < 0) {
            sl_rc_close(late);
            late = NULL;
        }
        if (late == NULL)
            sl_sleep(0.05);
        else
            took = sl_now() - t0;
    }
    CU_ASSERT(late != NULL);
    CU_ASSERT(players(&c.edge[1].srv) >= 1);
    /* HAProxy's health check marks the dead edge DOWN. */
    CU_ASSERT(sl_haproxy_wait_status(&c.lb, "edge1", "DOWN", IT_S(5)) == 0);
    fprintf(stderr,
            "  after SIGKILL of edge1: a play via haproxy got media after "
            "%.3f s (%d tries); edge1 DOWN in haproxy after %.3f s\n",
            took, tries, sl_now() - t0);
    for (int i = 0; i < n; i++)
        sl_itest_pump_join(&pump[i]);
    for (int i = 0; i < n; i++)
        sl_rc_close(rc[i]);
    sl_rc_close(late);
    cluster_stop(&c, 0);
}

void
sl_itest_suite_cluster(void)
{
    CU_pSuite s = sl_itest_suite("cluster");

    CU_add_test(s, "40 players through haproxy spread over two edges",
                test_spread);
    CU_add_test(s, "a full edge drains, refuses direct plays, reloads",
                test_drain);
    CU_add_test(s, "new plays move to the other edge when one is killed",
                test_failover);
}

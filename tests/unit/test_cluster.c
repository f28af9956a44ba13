/*
 * The cluster module: load, weight, the agent's line, admission, the
 * [cluster] keys, and the agent thread answering a real connection.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "server/agent.h"
#include "server/cluster.h"
#include "server/config.h"
#include "server/server.h"
#include "tests/support/conf_text.h"

#define MBIT 1000000ull

static void
test_load(void)
{
    struct sl_cluster_limits none = {0, 0}, cap = {100, 0}, pl = {0, 40},
                             both = {100, 40};

    CU_ASSERT_DOUBLE_EQUAL(sl_cluster_load(&none, 500 * MBIT, 1000), 0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(sl_cluster_load(&cap, 25 * MBIT, 1000), 0.25, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(sl_cluster_load(&pl, 500 * MBIT, 10), 0.25, 1e-9);
    /* The larger term wins. */
    CU_ASSERT_DOUBLE_EQUAL(sl_cluster_load(&both, 50 * MBIT, 10), 0.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(sl_cluster_load(&both, 10 * MBIT, 30), 0.75, 1e-9);
    /* Over capacity reads above 1. */
    CU_ASSERT_DOUBLE_EQUAL(sl_cluster_load(&both, 150 * MBIT, 0), 1.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(sl_cluster_load(&both, 0, 0), 0, 1e-9);
}

static void
test_weight(void)
{
    CU_ASSERT_EQUAL(sl_cluster_weight(0), 100);
    CU_ASSERT_EQUAL(sl_cluster_weight(-1), 100);
    CU_ASSERT_EQUAL(sl_cluster_weight(0.25), 75);
    for (int p = 0; p < 100; p++) /* exact for every count of 100 */
        CU_ASSERT_EQUAL(sl_cluster_weight(p / 100.0), 100 - p);
    CU_ASSERT_EQUAL(sl_cluster_weight(5 / 6.0), 16);
    CU_ASSERT_EQUAL(sl_cluster_weight(0.999), 1); /* room: never 0 */
    CU_ASSERT_EQUAL(sl_cluster_weight(0.995), 1);
    CU_ASSERT_EQUAL(sl_cluster_weight(0.98), 2);
    CU_ASSERT_EQUAL(sl_cluster_weight(1.0), 0);
    CU_ASSERT_EQUAL(sl_cluster_weight(3.0), 0);
    CU_ASSERT_EQUAL(sl_cluster_weight(0.0 / 0.0), 0);
}

static void
test_agent_reply(void)
{
    char buf[64];

    CU_ASSERT_EQUAL(sl_cluster_agent_reply(buf, sizeof(buf), 0, 0), 14);
    CU_ASSERT_STRING_EQUAL(buf, "up ready 100%\n");
    sl_cluster_agent_reply(buf, sizeof(buf), 0.42, 0);
    CU_ASSERT_STRING_EQUAL(buf, "up ready 58%\n");
    sl_cluster_agent_reply(buf, sizeof(buf), 0.9999, 0);
    CU_ASSERT_STRING_EQUAL(buf, "up ready 1%\n");
    sl_cluster_agent_reply(buf, sizeof(buf), 1.0, 0);
    CU_ASSERT_STRING_EQUAL(buf, "drain\n");
    sl_cluster_agent_reply(buf, sizeof(buf), 7.0, 0);
    CU_ASSERT_STRING_EQUAL(buf, "drain\n");
    /* Stopping wins over everything. */
    sl_cluster_agent_reply(buf, sizeof(buf), 0.1, 1);
    CU_ASSERT_STRING_EQUAL(buf, "down #stopping\n");
    sl_cluster_agent_reply(buf, sizeof(buf), 2.0, 1);
    CU_ASSERT_STRING_EQUAL(buf, "down #stopping\n");
    CU_ASSERT_EQUAL(sl_cluster_agent_reply(buf, 5, 0, 0), -ENOSPC);
}

static void
test_admit(void)
{
    struct sl_cluster_limits none = {0, 0}, pl = {0, 40}, cap = {100, 0};
    char                     why[96] = "";

    CU_ASSERT_EQUAL(sl_cluster_admit(&none, 900 * MBIT, 100000, why, 96), 0);
    CU_ASSERT_EQUAL(sl_cluster_admit(&pl, 0, 39, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(sl_cluster_admit(&pl, 0, 40, why, sizeof(why)), -EBUSY);
    CU_ASSERT_STRING_EQUAL(why, "node full: 40/40 players");
    CU_ASSERT_EQUAL(sl_cluster_admit(&cap, 99 * MBIT, 5, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(
        sl_cluster_admit(&cap, 100 * MBIT + 400000, 5, why, sizeof(why)),
        -EBUSY);
    CU_ASSERT_STRING_EQUAL(why, "node full: 100 of 100 Mbit/s");
    CU_ASSERT_EQUAL(sl_cluster_admit(&cap, 250 * MBIT, 0, why, sizeof(why)),
                    -EBUSY);
    CU_ASSERT_STRING_EQUAL(why, "node full: 250 of 100 Mbit/s");
    /* A short buffer is cut, never overrun. */
    CU_ASSERT_EQUAL(sl_cluster_admit(&pl, 0, 41, why, 10), -EBUSY);
    CU_ASSERT_STRING_EQUAL(why, "node full");
}

static struct sl_config *
load_text(const char *text, char *err, size_t errlen)
{
    return sl_test_config_text(text, err, errlen);
}

static void
expect_error(const char *text, int line, const char *needle)
{
    char              err[256] = "", want[32];
    struct sl_config *c = load_text(text, err, sizeof(err));

    CU_ASSERT_PTR_NULL(c);
    sl_config_unref(c);
    snprintf(want, sizeof(want), ":%d: ", line);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
    if (strstr(err, want) == NULL || strstr(err, needle) == NULL)
        fprintf(stderr, "\n  got: %s (wanted line %d, '%s')\n", err, line,
                needle);
}

static void
test_config_keys(void)
{
    char              err[256] = "";
    struct sl_config *c = load_text("[app:live]\n", err, sizeof(err));

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->cluster_capacity_mbps, 0);
    CU_ASSERT_EQUAL(c->cluster_max_players, 0);
    CU_ASSERT_EQUAL(c->agent_enabled, 0);
    sl_config_unref(c);

    c = load_text("[cluster]\n"
                  "capacity_mbps = 100\n"
                  "max_players = 40\n"
                  "agent_listen = 127.0.0.1:9935\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->cluster_capacity_mbps, 100);
    CU_ASSERT_EQUAL(c->cluster_max_players, 40);
    CU_ASSERT_EQUAL(c->agent_enabled, 1);
    CU_ASSERT_STRING_EQUAL(c->agent_host, "127.0.0.1");
    CU_ASSERT_EQUAL(c->agent_port, 9935);
    sl_config_unref(c);

    c = load_text("[cluster]\nagent_listen = 9936\n", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->agent_host, "");
    CU_ASSERT_EQUAL(c->agent_port, 9936);
    sl_config_unref(c);

    c = load_text("[cluster]\nagent_listen = 9936\nagent_listen = off\n", err,
                  sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->agent_enabled, 0);
    sl_config_unref(c);

    expect_error("[app:live]\n[cluster]\n\ncapacity_mbps = lots\n", 4,
                 "capacity_mbps: 'lots' is not 0..10000000");
    expect_error("[cluster]\nmax_players = -1\n", 2, "max_players");
    expect_error("[cluster]\nmax_players = 10000001\n", 2, "max_players");
    expect_error("[cluster]\nagent_listen = 127.0.0.1:0\n", 2,
                 "agent_listen: '127.0.0.1:0' is not HOST:PORT, PORT or off");
    expect_error("[cluster]\nagent_listen = host:\n", 2, "agent_listen");
    expect_error("[cluster]\nweight = 3\n", 2,
                 "unknown key 'weight' in [cluster]");
}

/* The glue reads the current config: a new one (a reload) changes the
 * decision at once; refusals are counted. */
static void
test_admit_play_current_config(void)
{
    struct sl_server *srv = calloc(1, sizeof(*srv));
    struct sl_config *c = sl_config_defaults(), *old = sl_config_get();
    char              why[96];

    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    atomic_store(&srv->players, 5);
    atomic_store(&srv->out_bps, 20 * MBIT);
    sl_config_set(c); /* no limits */
    CU_ASSERT_EQUAL(sl_cluster_admit_play(srv, why, sizeof(why)), 0);
    CU_ASSERT_DOUBLE_EQUAL(sl_cluster_load_now(srv), 0, 1e-9);

    c = sl_config_defaults();
    c->cluster_max_players = 5;
    sl_config_set(c);
    CU_ASSERT_EQUAL(sl_cluster_admit_play(srv, why, sizeof(why)), -EBUSY);
    CU_ASSERT_STRING_EQUAL(why, "node full: 5/5 players");
    CU_ASSERT_EQUAL(atomic_load(&srv->plays_refused_capacity), 1);
    CU_ASSERT_DOUBLE_EQUAL(sl_cluster_load_now(srv), 1.0, 1e-9);

    c = sl_config_defaults();
    c->cluster_max_players = 10;
    c->cluster_capacity_mbps = 40;
    sl_config_set(c);
    CU_ASSERT_EQUAL(sl_cluster_admit_play(srv, why, sizeof(why)), 0);
    CU_ASSERT_DOUBLE_EQUAL(sl_cluster_load_now(srv), 0.5, 1e-9);
    CU_ASSERT_EQUAL(atomic_load(&srv->plays_refused_capacity), 1);

    sl_config_set(old);
    free(srv);
}

/* One line per connection, then the agent closes. */
static int
agent_line(int port, char *buf, size_t cap)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct timeval     tv = {2, 0};
    size_t             got = 0;
    ssize_t            n;
    int                fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    while (got + 1 < cap && (n = recv(fd, buf + got, cap - 1 - got, 0)) > 0)
        got += (size_t) n;
    buf[got] = '\0';
    close(fd);
    return n == 0 ? 0 : -1; /* 0: the agent closed after its line */
}

static int
free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t          len = sizeof(a);
    int                fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *) &a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void
test_agent_thread(void)
{
    struct sl_server *srv = calloc(1, sizeof(*srv));
    struct sl_config *c = sl_config_defaults(), *old = sl_config_get();
    struct sl_agent  *a;
    char              err[256] = "", line[128];
    int               port = free_port(), silent;

    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    CU_ASSERT_FATAL(port > 0);
    c->cluster_max_players = 4;
    sl_config_set(c);
    a = sl_agent_start(srv, -1, "127.0.0.1", (uint16_t) port, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);

    /* A client that connects and never reads does not hold the thread:
     * the next one is answered. */
    silent = socket(AF_INET, SOCK_STREAM, 0);
    {
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons(port)};

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CU_ASSERT(connect(silent, (struct sockaddr *) &sa, sizeof(sa)) == 0);
    }
    CU_ASSERT_EQUAL(agent_line(port, line, sizeof(line)), 0);
    CU_ASSERT_STRING_EQUAL(line, "up ready 100%\n");
    atomic_store(&srv->players, 1);
    CU_ASSERT_EQUAL(agent_line(port, line, sizeof(line)), 0);
    CU_ASSERT_STRING_EQUAL(line, "up ready 75%\n");
    atomic_store(&srv->players, 4);
    CU_ASSERT_EQUAL(agent_line(port, line, sizeof(line)), 0);
    CU_ASSERT_STRING_EQUAL(line, "drain\n");
    atomic_store(&srv->stopping, 1);
    CU_ASSERT_EQUAL(agent_line(port, line, sizeof(line)), 0);
    CU_ASSERT_STRING_EQUAL(line, "down #stopping\n");
    close(silent);

    /* The port is taken while it runs: a second agent cannot bind. */
    CU_ASSERT_PTR_NULL(sl_agent_start(srv, -1, "127.0.0.1", (uint16_t) port,
                                      err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "agent_listen"));

    sl_agent_stop(a);
    sl_agent_stop(NULL);
    sl_config_set(old);
    free(srv);
}

void
sl_test_suite_cluster(void)
{
    CU_pSuite s = CU_add_suite("cluster", NULL, NULL);

    CU_add_test(s, "load is the larger term", test_load);
    CU_add_test(s, "weight is free capacity, 1..100 while room", test_weight);
    CU_add_test(s, "agent replies: up ready W%, drain, down", test_agent_reply);
    CU_add_test(s, "admission: players and bandwidth", test_admit);
    CU_add_test(s, "[cluster] keys and their errors", test_config_keys);
    CU_add_test(s, "admission follows the current config",
                test_admit_play_current_config);
    CU_add_test(s, "the agent thread answers and closes", test_agent_thread);
}

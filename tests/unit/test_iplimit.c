/*
 * The per-address table (server/iplimit.c) and the session paths that
 * give its slots back: counts, the token bucket on an injected clock,
 * IPv6 /64 grouping, a full table, the log limiter, threads racing, and
 * every way a session ends releasing its slot exactly once.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool/clock.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/iplimit.h"
#include "server/log.h"
#include "server/server.h"
#include "server/rtmp_cmd.h"
#include "server/session.h"
#include "server/session_info.h"

/* No CUnit assertion in here: the racing threads use it too. */
static struct sl_ipkey
key4(const char *s)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in     *a = (struct sockaddr_in *) &ss;
    struct sl_ipkey         k;

    a->sin_family = AF_INET;
    inet_pton(AF_INET, s, &a->sin_addr);
    sl_ipkey_from_sockaddr(&ss, &k);
    return k;
}

static struct sl_ipkey
key6(const char *s)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in6    *a = (struct sockaddr_in6 *) &ss;
    struct sl_ipkey         k;

    a->sin6_family = AF_INET6;
    CU_ASSERT_EQUAL(inet_pton(AF_INET6, s, &a->sin6_addr), 1);
    CU_ASSERT_EQUAL(sl_ipkey_from_sockaddr(&ss, &k), 0);
    return k;
}

static int
same(struct sl_ipkey a, struct sl_ipkey b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

static void
test_keys(void)
{
    struct sockaddr_storage ss = {0};
    struct sl_ipkey         k;
    char                    buf[64];

    /* A /64 is one address; the next /64 is another. */
    CU_ASSERT(same(key6("2001:db8:1:2::1"), key6("2001:db8:1:2:ffff::9")));
    CU_ASSERT(!same(key6("2001:db8:1:2::1"), key6("2001:db8:1:3::1")));
    /* A dual-stack listener's mapped IPv4 is that IPv4 address, and
     * IPv4 addresses are never grouped. */
    CU_ASSERT(same(key6("::ffff:192.0.2.7"), key4("192.0.2.7")));
    CU_ASSERT(!same(key4("192.0.2.7"), key4("192.0.2.8")));
    /* ::/64 must not look like an IPv4 address. */
    CU_ASSERT(!same(key6("::1"), key4("0.0.0.1")));

    k = key4("127.0.0.2");
    sl_ipkey_format(&k, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "127.0.0.2");
    k = key6("2001:db8:1:2:3:4:5:6");
    sl_ipkey_format(&k, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "2001:db8:1:2::/64");

    ss.ss_family = AF_UNIX;
    CU_ASSERT_EQUAL(sl_ipkey_from_sockaddr(&ss, &k), -EAFNOSUPPORT);
    CU_ASSERT_STRING_EQUAL(sl_refuse_name(SL_REFUSE_PER_IP), "per_ip");
    CU_ASSERT_STRING_EQUAL(sl_refuse_name(SL_REFUSE_TABLE_FULL), "table_full");
    CU_ASSERT_EQUAL(sl_iplimit_reason(-EUSERS), SL_REFUSE_PER_IP);
    CU_ASSERT_EQUAL(sl_iplimit_reason(-EAGAIN), SL_REFUSE_RATE);
    CU_ASSERT_EQUAL(sl_iplimit_reason(-ENOSPC), SL_REFUSE_TABLE_FULL);
}

static void
test_per_ip_count(void)
{
    struct sl_iplimit     *t = sl_iplimit_new(0);
    struct sl_iplimit_conf c = {3, 0, 1, 0};
    struct sl_ipkey        a = key4("10.0.0.1"), b = key4("10.0.0.2");
    struct sl_ipticket     tk[4], other;

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &c, 1000, &tk[i]), 0);
    CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &c, 1000, &tk[3]), -EUSERS);
    CU_ASSERT_EQUAL(tk[3].held, 0);
    CU_ASSERT_EQUAL(sl_iplimit_live(t, &a), 3);
    /* Another address is not affected. */
    CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &b, &c, 1000, &other), 0);
    /* One leaves, one more gets in. */
    sl_iplimit_release(&tk[1]);
    CU_ASSERT_EQUAL(sl_iplimit_live(t, &a), 2);
    CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &c, 1000, &tk[1]), 0);
    /* A reload that lowers the cap refuses until enough have left. */
    c.max_pending = 2;
    CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &c, 1000, &tk[3]), -EUSERS);
    sl_iplimit_release(&tk[0]);
    sl_iplimit_release(&tk[1]);
    CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &c, 1000, &tk[0]), 0);
    sl_iplimit_release(&tk[0]);
    sl_iplimit_release(&tk[2]);
    sl_iplimit_release(&other);
    /* No rate limit: nothing worth keeping once they left. */
    CU_ASSERT_EQUAL(sl_iplimit_live(t, &a), 0);
    CU_ASSERT_EQUAL(sl_iplimit_used(t), 0);
    CU_ASSERT_EQUAL(sl_iplimit_underflows(t), 0);
    /* 0 = no limit. */
    c.max_pending = 0;
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &c, 1000, &tk[i]), 0);
    CU_ASSERT_EQUAL(sl_iplimit_live(t, &a), 4);
    for (int i = 0; i < 4; i++)
        sl_iplimit_release(&tk[i]);
    sl_iplimit_unref(t);
}

/* The pending count leaves out connections that publish or play, so an
 * address may hold any number of them; max_players is a cap of its
 * own; every state gives its count back at release. */
static void
test_pending_and_players(void)
{
    struct sl_iplimit     *t = sl_iplimit_new(0);
    struct sl_iplimit_conf c = {3, 0, 1, 0};
    struct sl_ipkey        a = key4("10.0.0.1");
    struct sl_ipticket     tk[300], x, none = {0};
    int                    n;

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    /* 300 viewers of one address, each playing before the next
     * connects: the pending cap of 3 never refuses one. */
    for (n = 0; n < 300; n++) {
        if (sl_iplimit_acquire(t, &a, &c, 1000, &tk[n]) != 0)
            break;
        CU_ASSERT_EQUAL(tk[n].state, SL_IPSTATE_PENDING);
        CU_ASSERT_EQUAL(sl_iplimit_may_play(&tk[n], 0), 0);
        CU_ASSERT_EQUAL(sl_iplimit_move(&tk[n], SL_IPSTATE_PLAYER, 0), 0);
    }
    CU_ASSERT_EQUAL(n, 300);
    CU_ASSERT_EQUAL(sl_iplimit_live(t, &a), 300);
    CU_ASSERT_EQUAL(sl_iplimit_players(t, &a), 300);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &a), 0);
    for (int i = 3; i < 300; i++)
        sl_iplimit_release(&tk[i]);
    CU_ASSERT_EQUAL(sl_iplimit_players(t, &a), 3);

    /* Pending ones fill the cap whatever plays. */
    for (int i = 3; i < 6; i++)
        CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &c, 1000, &tk[i]), 0);
    CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &c, 1000, &x), -EUSERS);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &a), 3);
    /* A publisher counts in neither: its place is free at once. */
    CU_ASSERT_EQUAL(sl_iplimit_move(&tk[3], SL_IPSTATE_OTHER, 0), 0);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &a), 2);
    CU_ASSERT_EQUAL(sl_iplimit_players(t, &a), 3);
    CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &c, 1000, &x), 0);
    /* Back to pending at the cap: refused, and nothing changed. */
    CU_ASSERT_EQUAL(sl_iplimit_move(&tk[0], SL_IPSTATE_PENDING, 3), -EUSERS);
    CU_ASSERT_EQUAL(tk[0].state, SL_IPSTATE_PLAYER);
    CU_ASSERT_EQUAL(sl_iplimit_players(t, &a), 3);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &a), 3);
    /* Without a cap (or under it) it goes back. */
    CU_ASSERT_EQUAL(sl_iplimit_move(&tk[0], SL_IPSTATE_PENDING, 0), 0);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &a), 4);
    CU_ASSERT_EQUAL(sl_iplimit_players(t, &a), 2);
    sl_iplimit_release(&x);
    sl_iplimit_release(&tk[0]);
    CU_ASSERT_EQUAL(sl_iplimit_move(&tk[3], SL_IPSTATE_PENDING, 3), 0);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &a), 3);
    /* Moving to where it is changes nothing. */
    CU_ASSERT_EQUAL(sl_iplimit_move(&tk[3], SL_IPSTATE_PENDING, 1), 0);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &a), 3);

    /* max_players: 2 play (tk[1], tk[2]); a third may not start, one
     * that plays already is never refused, 0 is no limit. */
    CU_ASSERT_EQUAL(sl_iplimit_may_play(&tk[4], 2), -EUSERS);
    CU_ASSERT_EQUAL(sl_iplimit_may_play(&tk[4], 3), 0);
    CU_ASSERT_EQUAL(sl_iplimit_may_play(&tk[4], 0), 0);
    CU_ASSERT_EQUAL(sl_iplimit_may_play(&tk[1], 2), 0);
    CU_ASSERT_EQUAL(sl_iplimit_move(&tk[1], SL_IPSTATE_OTHER, 0), 0);
    CU_ASSERT_EQUAL(sl_iplimit_may_play(&tk[4], 2), 0);
    /* Another address has counts of its own. */
    {
        struct sl_ipkey    b = key4("10.0.0.2");
        struct sl_ipticket y;

        CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &b, &c, 1000, &y), 0);
        CU_ASSERT_EQUAL(sl_iplimit_may_play(&y, 1), 0);
        sl_iplimit_release(&y);
    }
    /* A ticket not held counts nothing and refuses nothing. */
    CU_ASSERT_EQUAL(sl_iplimit_move(&none, SL_IPSTATE_PLAYER, 0), 0);
    CU_ASSERT_EQUAL(sl_iplimit_may_play(&none, 1), 0);

    /* Released from each state (pending 3..5, other 1, player 2): all
     * counts back to zero, and the entry goes. */
    for (int i = 1; i < 6; i++)
        sl_iplimit_release(&tk[i]);
    CU_ASSERT_EQUAL(sl_iplimit_live(t, &a), 0);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &a), 0);
    CU_ASSERT_EQUAL(sl_iplimit_players(t, &a), 0);
    CU_ASSERT_EQUAL(sl_iplimit_used(t), 0);
    CU_ASSERT_EQUAL(sl_iplimit_underflows(t), 0);
    sl_iplimit_unref(t);
}

/* Admits and at once releases: only the bucket matters. */
static int
try_at(struct sl_iplimit *t, const struct sl_ipkey *k,
       const struct sl_iplimit_conf *c, uint64_t now)
{
    struct sl_ipticket tk;
    int                rc = sl_iplimit_acquire(t, k, c, now, &tk);

    sl_iplimit_release(&tk);
    return rc;
}

static void
test_bucket_refill(void)
{
    struct sl_iplimit     *t = sl_iplimit_new(0);
    struct sl_iplimit_conf c = {0, 10, 5, 0}; /* 10/s, burst 5 */
    struct sl_ipkey        a = key4("10.0.0.1");
    uint64_t               now = 50000;

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(try_at(t, &a, &c, now), 0);
    CU_ASSERT_EQUAL(try_at(t, &a, &c, now), -EAGAIN);
    /* 10/s is one token per 100 ms: not yet at 99 ms... */
    CU_ASSERT_EQUAL(try_at(t, &a, &c, now + 99), -EAGAIN);
    /* ...and refused attempts took nothing, so at 100 ms one fits. */
    CU_ASSERT_EQUAL(try_at(t, &a, &c, now + 100), 0);
    CU_ASSERT_EQUAL(try_at(t, &a, &c, now + 100), -EAGAIN);
    /* A long pause refills to the burst, not beyond. */
    now += 3600 * 1000;
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(try_at(t, &a, &c, now), 0);
    CU_ASSERT_EQUAL(try_at(t, &a, &c, now), -EAGAIN);
    /* A clock that goes back refills nothing and breaks nothing. */
    CU_ASSERT_EQUAL(try_at(t, &a, &c, now - 5000), -EAGAIN);
    /* A sustained 10/s is admitted exactly. */
    for (int i = 1; i <= 50; i++)
        CU_ASSERT_EQUAL(try_at(t, &a, &c, now + 100u * (uint64_t) i), 0);
    /* The count goes first: at the cap nothing is taken from the
     * bucket. */
    {
        struct sl_iplimit_conf both = {1, 10, 5, 0};
        struct sl_ipticket     hold, x;
        uint64_t               later = now + 100000;

        CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &both, later, &hold), 0);
        for (int i = 0; i < 10; i++)
            CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &both, later, &x),
                            -EUSERS);
        sl_iplimit_release(&hold);
        for (int i = 0; i < 4; i++)
            CU_ASSERT_EQUAL(try_at(t, &a, &both, later), 0);
        CU_ASSERT_EQUAL(try_at(t, &a, &both, later), -EAGAIN);
    }
    /* Rate off: no bucket at all. */
    c.rate = 0;
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(try_at(t, &a, &c, now), 0);
    CU_ASSERT_EQUAL(sl_iplimit_underflows(t), 0);
    sl_iplimit_unref(t);
}

static struct sl_ipkey
nth_key(unsigned i)
{
    char s[32];

    snprintf(s, sizeof(s), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255,
             i & 255);
    return key4(s);
}

static void
test_table_full(void)
{
    enum { N = 4096 };
    static struct sl_ipticket tk[N];
    struct sl_iplimit        *t = sl_iplimit_new(1024);
    struct sl_iplimit_conf    c = {10, 20, 40, 0};
    int                       admitted = 0, full = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    /* Addresses that all hold a connection: the table fills up and
     * refuses rather than grow. */
    for (unsigned i = 0; i < N; i++) {
        struct sl_ipkey k = nth_key(i);
        int             rc = sl_iplimit_acquire(t, &k, &c, 1000, &tk[i]);

        if (rc == 0)
            admitted++;
        else if (rc == -ENOSPC)
            full++;
        else
            CU_FAIL("unexpected refusal");
    }
    CU_ASSERT(admitted <= 1024);
    CU_ASSERT(admitted >= 512); /* windows fill unevenly, not that badly */
    CU_ASSERT(full == N - admitted);
    CU_ASSERT(sl_iplimit_used(t) == (size_t) admitted);
    /* With the limits off a full table has nothing to enforce. */
    {
        struct sl_iplimit_conf off = {0, 0, 1, 0};
        struct sl_ipkey        k = nth_key(N);
        struct sl_ipticket     x;

        CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &k, &off, 1000, &x), 0);
        CU_ASSERT_EQUAL(x.held, 0);
        sl_iplimit_release(&x);
    }
    for (unsigned i = 0; i < N; i++)
        sl_iplimit_release(&tk[i]);
    /* Their buckets are not full (each took a token): they stay as
     * history, but idle history gives way to new addresses. */
    CU_ASSERT(sl_iplimit_used(t) == (size_t) admitted);
    for (unsigned i = N; i < 3 * N; i++) {
        struct sl_ipkey k = nth_key(i);

        CU_ASSERT_EQUAL(try_at(t, &k, &c, 1000), 0);
    }
    CU_ASSERT(sl_iplimit_used(t) <= 1024);
    CU_ASSERT_EQUAL(sl_iplimit_underflows(t), 0);
    sl_iplimit_unref(t);
}

static void
test_release_once(void)
{
    struct sl_iplimit     *t = sl_iplimit_new(0);
    struct sl_iplimit_conf c = {2, 0, 1, 0};
    struct sl_ipkey        a = key4("10.0.0.1");
    struct sl_ipticket     tk, copy, none = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &c, 0, &tk), 0);
    CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &c, 0, &copy), 0);
    sl_iplimit_release(&tk);
    sl_iplimit_release(&tk); /* no-op: the ticket is no longer held */
    sl_iplimit_release(&none);
    CU_ASSERT_EQUAL(sl_iplimit_live(t, &a), 1);
    CU_ASSERT_EQUAL(sl_iplimit_underflows(t), 0);
    /* A slot keeps the table alive after its creator let go. */
    sl_iplimit_unref(t);
    sl_iplimit_release(&copy);
}

static void
test_log_limit(void)
{
    struct sl_iplimit     *t = sl_iplimit_new(0);
    struct sl_iplimit_conf c = {1, 0, 1, 0};
    struct sl_ipkey        a = key4("10.0.0.1");
    struct sl_ipticket     tk;
    uint32_t               more = 99;
    uint64_t               now = 100000;
    int                    lines = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &a, &c, now, &tk), 0);
    CU_ASSERT(
        sl_iplimit_should_log(t, &a, SL_REFUSE_PER_IP, now, 10000, &more));
    CU_ASSERT_EQUAL(more, 0);
    for (int i = 0; i < 7; i++)
        CU_ASSERT(!sl_iplimit_should_log(t, &a, SL_REFUSE_PER_IP, now + 10,
                                         10000, &more));
    /* Another reason has its own line. */
    CU_ASSERT(
        sl_iplimit_should_log(t, &a, SL_REFUSE_PENDING, now, 10000, &more));
    CU_ASSERT(!sl_iplimit_should_log(t, &a, SL_REFUSE_PER_IP, now + 9999, 10000,
                                     &more));
    CU_ASSERT(sl_iplimit_should_log(t, &a, SL_REFUSE_PER_IP, now + 10000, 10000,
                                    &more));
    CU_ASSERT_EQUAL(more, 8);
    sl_iplimit_release(&tk);

    /* Many addresses at once: the shared budget holds the lines down
     * (about 20 a second, 2 s saved). */
    now += 60000;
    for (unsigned i = 0; i < 1000; i++) {
        struct sl_ipkey    k = nth_key(i);
        struct sl_ipticket x;

        CU_ASSERT_EQUAL(sl_iplimit_acquire(t, &k, &c, now, &x), 0);
        lines +=
            sl_iplimit_should_log(t, &k, SL_REFUSE_PER_IP, now, 10000, &more);
        sl_iplimit_release(&x);
    }
    CU_ASSERT(lines > 0 && lines <= 40);
    /* Refusals without an entry share one line per reason. */
    now += 60000;
    CU_ASSERT(sl_iplimit_should_log(t, NULL, SL_REFUSE_TABLE_FULL, now, 10000,
                                    &more));
    CU_ASSERT(!sl_iplimit_should_log(t, NULL, SL_REFUSE_TABLE_FULL, now + 1,
                                     10000, &more));
    CU_ASSERT(sl_iplimit_should_log(t, NULL, SL_REFUSE_TABLE_FULL, now + 10000,
                                    10000, &more));
    CU_ASSERT_EQUAL(more, 1);
    sl_iplimit_unref(t);
}

/* ---- threads ---- */

#define NTHREADS 4
#define ROUNDS 20000

struct racer {
    pthread_t          thread;
    struct sl_iplimit *t;
    unsigned           seed;
    int                refused;
    int                over; /* times an address held more than 6 pending */
};

static void *
racer_main(void *arg)
{
    struct racer          *r = arg;
    struct sl_iplimit_conf c = {6, 0, 1, 0};
    struct sl_ipticket     held[8];
    int                    nheld = 0;

    for (int i = 0; i < ROUNDS; i++) {
        struct sl_ipkey k;
        uint32_t        more;

        r->seed = r->seed * 1103515245u + 12345u;
        k = nth_key((r->seed >> 16) % 8);
        if (nheld < 8 &&
            sl_iplimit_acquire(r->t, &k, &c, sl_now_ms(), &held[nheld]) == 0)
            nheld++;
        else
            r->refused++;
        /* A session moves its slot while acceptors and other sessions
         * of the address count theirs. */
        if (nheld > 0 && (r->seed & 0x600) != 0)
            sl_iplimit_move(&held[(r->seed >> 4) % (unsigned) nheld],
                            (enum sl_ipstate)((r->seed >> 9) % 3), 6);
        if (nheld == 8 || (r->seed & 0x100)) {
            while (nheld > 0)
                sl_iplimit_release(&held[--nheld]);
        }
        if (sl_iplimit_pending(r->t, &k) > 6)
            r->over++;
        if ((i & 63) == 0)
            sl_iplimit_should_log(r->t, &k, SL_REFUSE_PER_IP, sl_now_ms(),
                                  10000, &more);
    }
    while (nheld > 0)
        sl_iplimit_release(&held[--nheld]);
    return NULL;
}

static void
test_threads(void)
{
    struct racer       r[NTHREADS];
    struct sl_iplimit *t = sl_iplimit_new(0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (int i = 0; i < NTHREADS; i++) {
        r[i] = (struct racer){.t = t, .seed = 77u * (unsigned) i + 1};
        CU_ASSERT_EQUAL_FATAL(
            pthread_create(&r[i].thread, NULL, racer_main, &r[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(r[i].thread, NULL);
        /* Acquires and moves back to pending both respect the cap. */
        CU_ASSERT_EQUAL(r[i].over, 0);
    }
    /* Every slot came back exactly once, from whatever it counted
     * in. */
    for (unsigned i = 0; i < 8; i++) {
        struct sl_ipkey k = nth_key(i);

        CU_ASSERT_EQUAL(sl_iplimit_live(t, &k), 0);
        CU_ASSERT_EQUAL(sl_iplimit_pending(t, &k), 0);
        CU_ASSERT_EQUAL(sl_iplimit_players(t, &k), 0);
    }
    CU_ASSERT_EQUAL(sl_iplimit_used(t), 0);
    CU_ASSERT_EQUAL(sl_iplimit_underflows(t), 0);
    sl_iplimit_unref(t);
}

/* ---- sessions give their slot back exactly once ---- */

struct env {
    struct sl_server   srv;
    struct sl_config  *cfg;
    struct sl_iplimit *t;
    struct sl_ipkey    key;
};

static void
env_up(struct env *e, uint32_t max_connections)
{
    memset(e, 0, sizeof(*e));
    sl_log_set_level(SL_LOG_ERROR);
    e->cfg = sl_config_defaults();
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->cfg);
    e->cfg->handshake_timeout_ms = 1000;
    e->cfg->max_connections = (int) max_connections;
    sl_config_set(e->cfg); /* the current config takes our reference */
    pthread_mutex_init(&e->srv.lock, NULL);
    sl_list_init(&e->srv.sessions);
    e->srv.chunk_size = 4096;
    e->srv.protos[SL_SESSION_RTMP] = &sl_rtmp_proto;
    e->srv.sched = sl_sched_new(2, 64);
    e->srv.loop = sl_loop_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->srv.sched);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->srv.loop);
    CU_ASSERT_EQUAL_FATAL(sl_loop_start(e->srv.loop), 0);
    CU_ASSERT_EQUAL_FATAL(sl_sched_start(e->srv.sched), 0);
    e->t = sl_iplimit_new(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->t);
    e->key = key4("192.0.2.1");
}

/* A session on one end of a socket pair, holding a slot of e->key as
 * the acceptor would hand it over.  Returns our end. */
static int
start_one(struct env *e)
{
    struct sl_iplimit_conf  c = {0, 0, 1, 0};
    struct sockaddr_storage peer = {0};
    struct sockaddr_in     *a = (struct sockaddr_in *) &peer;
    struct sl_ipticket      tk;
    int                     sv[2];

    CU_ASSERT_EQUAL_FATAL(
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
        0);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(0xc0000201);
    CU_ASSERT_EQUAL_FATAL(sl_iplimit_acquire(e->t, &e->key, &c, 0, &tk), 0);
    CU_ASSERT_EQUAL(
        sl_session_start(&e->srv, sv[0], &peer, &tk, SL_SESSION_RTMP), 0);
    CU_ASSERT_EQUAL(tk.held, 0); /* the session owns it now */
    return sv[1];
}

/* Waits (bounded) until every session is gone and its slot is back. */
static int
all_released(struct env *e)
{
    uint64_t deadline = sl_now_ms() + 10000;

    while (sl_now_ms() < deadline) {
        if (atomic_load(&e->srv.nsessions) == 0 &&
            sl_iplimit_live(e->t, &e->key) == 0 &&
            atomic_load(&e->srv.pending) == 0)
            return 1;
        usleep(2000);
    }
    return 0;
}

static void
env_down(struct env *e)
{
    CU_ASSERT(all_released(e));
    CU_ASSERT_EQUAL(sl_iplimit_underflows(e->t), 0);
    CU_ASSERT(atomic_load(&e->srv.pending) >= 0);
    sl_loop_stop(e->srv.loop);
    sl_sched_stop(e->srv.sched);
    sl_loop_free(e->srv.loop);
    sl_sched_free(e->srv.sched);
    sl_iplimit_unref(e->t);
    sl_config_set(NULL);
    pthread_mutex_destroy(&e->srv.lock);
    sl_log_set_level(SL_LOG_INFO);
}

static void
test_session_paths(void)
{
    struct env    e;
    int           fd[6];
    const uint8_t bad_c0 = 0x42;
    uint8_t       c0c1[1 + 1536] = {3};

    env_up(&e, 1000);
    for (int i = 0; i < 5; i++)
        fd[i] = start_one(&e);
    /* Each holds its slot until it ends (the handshake timeout is long
     * enough that none has ended yet, even under a sanitizer). */
    CU_ASSERT_EQUAL(sl_iplimit_live(e.t, &e.key), 5);
    /* 0: the peer hangs up before a byte. */
    close(fd[0]);
    /* 1: a bad handshake (peer-protocol error). */
    CU_ASSERT_EQUAL(write(fd[1], &bad_c0, 1), 1);
    /* 2: a handshake begun and never finished (handshake timeout). */
    CU_ASSERT_EQUAL(write(fd[2], c0c1, 100), 100);
    /* 3: a silent peer (handshake timeout). */
    /* 4: the peer goes away mid handshake. */
    CU_ASSERT_EQUAL(write(fd[4], c0c1, sizeof(c0c1)), (ssize_t) sizeof(c0c1));
    close(fd[4]);
    CU_ASSERT(all_released(&e));
    for (int i = 1; i < 4; i++)
        close(fd[i]);
    env_down(&e);
}

static void
test_session_refused_and_stop(void)
{
    struct env e;
    int        fd[3];

    /* max_connections 2: the third is refused by the session itself
     * (after the slot was taken) and must give it back too. */
    env_up(&e, 2);
    fd[0] = start_one(&e);
    fd[1] = start_one(&e);
    fd[2] = start_one(&e);
    {
        uint64_t deadline = sl_now_ms() + 10000;

        while (sl_iplimit_live(e.t, &e.key) != 2 && sl_now_ms() < deadline)
            usleep(2000);
    }
    CU_ASSERT_EQUAL(sl_iplimit_live(e.t, &e.key), 2);
    CU_ASSERT_EQUAL(atomic_load(&e.srv.refused[SL_REFUSE_MAX]), 1);
    CU_ASSERT_EQUAL(atomic_load(&e.srv.pending), 2);
    /* Server stop: the rest close and release. */
    atomic_store(&e.srv.stopping, 1);
    sl_session_stop_all(&e.srv);
    CU_ASSERT(all_released(&e));
    for (int i = 0; i < 3; i++)
        close(fd[i]);
    env_down(&e);
}

/* ---- a connection's slot follows its role (conn.c) ---- */

/* A connection as a session sets it up, with a transport that records
 * the close. */
struct fconn {
    struct sl_conn      c;
    struct sl_sess_info info;
    struct sl_task      task;
    struct sl_ipticket  tk;
    int                 closed;
    char                why[96];
};

static int
fconn_send(void *io, struct sl_buf *b)
{
    return 0;
}

static void
fconn_close(void *io, int level, const char *why)
{
    struct fconn *f = io;

    if (f->closed)
        return;
    f->closed = 1;
    snprintf(f->why, sizeof(f->why), "%s", why);
    sl_conn_closing(&f->c);
}

static const struct sl_conn_transport fconn_transport = {
    .send = fconn_send,
    .close = fconn_close,
};

static void
no_run(struct sl_task *t)
{
}

/* Admitted by the table as the acceptor would, then set up: 0, or the
 * acquire's refusal (f is then not set up). */
static int
fconn_open(struct fconn *f, struct sl_server *srv, struct sl_config *cfg,
           struct sl_iplimit *t, const struct sl_ipkey *k, uint64_t id)
{
    struct sl_iplimit_conf lc = {cfg->max_pending_per_ip, 0, 1,
                                 cfg->max_players_per_ip};
    int                    rc;

    memset(f, 0, sizeof(*f));
    rc = sl_iplimit_acquire(t, k, &lc, 1000, &f->tk);
    if (rc < 0)
        return rc;
    sl_task_init(&f->task, NULL, no_run, no_run);
    sl_session_info_init(&f->info, id, "192.0.2.9:1", &f->task);
    f->c.tp = &fconn_transport;
    f->c.io = f;
    f->c.srv = srv;
    f->c.cfg = cfg;
    f->c.task = &f->task;
    f->c.info = &f->info;
    f->c.id = id;
    f->c.peer = "192.0.2.9:1";
    f->c.peer_ip = "192.0.2.9";
    f->c.proto = SL_PROTO_RTMP;
    f->c.ipslot = &f->tk;
    sl_conn_init(&f->c, 1);
    return 0;
}

/* Ends it as its session would: close, free, then the slot goes. */
static void
fconn_end(struct fconn *f)
{
    sl_conn_closing(&f->c);
    sl_conn_free(&f->c);
    sl_iplimit_release(&f->tk);
    sl_session_info_destroy(&f->info);
}

static void
test_conn_roles(void)
{
    static struct sl_server srv; /* zero: no callbacks, no cluster */
    struct sl_config       *cfg = sl_config_defaults();
    struct sl_iplimit      *t = sl_iplimit_new(0);
    struct sl_ipkey         k = key4("192.0.2.9");
    struct fconn            f[4];
    char                    why[96] = "";

    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    cfg->max_pending_per_ip = 2;
    cfg->max_players_per_ip = 1;
    /* Two pending: the address is at its cap. */
    CU_ASSERT_EQUAL_FATAL(fconn_open(&f[0], &srv, cfg, t, &k, 1), 0);
    CU_ASSERT_EQUAL_FATAL(fconn_open(&f[1], &srv, cfg, t, &k, 2), 0);
    CU_ASSERT_EQUAL(fconn_open(&f[3], &srv, cfg, t, &k, 4), -EUSERS);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &k), 2);
    CU_ASSERT_EQUAL(atomic_load(&srv.pending), 2);

    /* f0 plays: it leaves both pending counts, and there is room. */
    CU_ASSERT_EQUAL(sl_conn_admit_play(&f[0].c, why, sizeof(why)), 0);
    sl_conn_set_role(&f[0].c, SL_ROLE_PLAYER);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &k), 1);
    CU_ASSERT_EQUAL(sl_iplimit_players(t, &k), 1);
    CU_ASSERT_EQUAL(atomic_load(&srv.pending), 1);
    CU_ASSERT_EQUAL_FATAL(fconn_open(&f[2], &srv, cfg, t, &k, 3), 0);

    /* max_players_per_ip 1: f1's play is refused, with the reason and
     * the count; a publish counts in neither cap. */
    CU_ASSERT_EQUAL(sl_conn_admit_play(&f[1].c, why, sizeof(why)), -EBUSY);
    CU_ASSERT_STRING_EQUAL(why, "max_players_per_ip (1) reached");
    CU_ASSERT_EQUAL(atomic_load(&srv.plays_refused_per_ip), 1);
    sl_conn_set_role(&f[1].c, SL_ROLE_PUBLISHER);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &k), 1);
    CU_ASSERT_EQUAL(sl_iplimit_players(t, &k), 1);
    CU_ASSERT_EQUAL(sl_iplimit_live(t, &k), 3);

    /* f1 stops publishing and stays: pending again, under the cap. */
    sl_conn_leave(&f[1].c);
    CU_ASSERT(!f[1].closed);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &k), 2);
    CU_ASSERT_EQUAL(atomic_load(&srv.pending), 2);
    /* f0 stops playing with its address at the cap: it is closed
     * rather than counted back, and counts as neither from then. */
    sl_conn_leave(&f[0].c);
    CU_ASSERT(f[0].closed);
    CU_ASSERT_STRING_EQUAL(f[0].why, "max_pending_per_ip (2) reached");
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &k), 2);
    CU_ASSERT_EQUAL(sl_iplimit_players(t, &k), 0);
    CU_ASSERT_EQUAL(atomic_load(&srv.pending), 2);
    fconn_end(&f[0]);

    /* A player that closes leaves the players' count at once, before
     * its session is gone. */
    CU_ASSERT_EQUAL(sl_conn_admit_play(&f[2].c, why, sizeof(why)), 0);
    sl_conn_set_role(&f[2].c, SL_ROLE_PLAYER);
    CU_ASSERT_EQUAL(sl_iplimit_players(t, &k), 1);
    sl_conn_close(&f[2].c, SL_LOG_INFO, "gone");
    CU_ASSERT_EQUAL(sl_iplimit_players(t, &k), 0);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &k), 1);

    fconn_end(&f[1]);
    fconn_end(&f[2]);
    CU_ASSERT_EQUAL(sl_iplimit_live(t, &k), 0);
    CU_ASSERT_EQUAL(sl_iplimit_pending(t, &k), 0);
    CU_ASSERT_EQUAL(atomic_load(&srv.pending), 0);
    CU_ASSERT_EQUAL(sl_iplimit_underflows(t), 0);
    sl_iplimit_unref(t);
    sl_config_unref(cfg);
}

void
sl_test_suite_iplimit(void)
{
    CU_pSuite s = CU_add_suite("iplimit", NULL, NULL);

    CU_add_test(s, "keys: IPv4, IPv6 /64, mapped", test_keys);
    CU_add_test(s, "per-address count", test_per_ip_count);
    CU_add_test(s, "pending and players counted apart",
                test_pending_and_players);
    CU_add_test(s, "token bucket on an injected clock", test_bucket_refill);
    CU_add_test(s, "a full table refuses, idle history gives way",
                test_table_full);
    CU_add_test(s, "release exactly once", test_release_once);
    CU_add_test(s, "refusal log lines are rate limited", test_log_limit);
    CU_add_test(s, "threads acquire, move and release concurrently",
                test_threads);
    CU_add_test(s, "every way a session ends releases its slot once",
                test_session_paths);
    CU_add_test(s, "a connection's slot follows its role", test_conn_roles);
    CU_add_test(s, "max_connections refusal and server stop release",
                test_session_refused_and_stop);
}

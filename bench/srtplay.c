/*
 * SRT players (see srtplay.h): one thread around one libsrt epoll set,
 * non-blocking sockets.
 *
 * Why one local port: a libsrt caller that is not bound gets a UDP
 * socket of its own and, with it, its own pair of libsrt threads (send
 * and receive queues).  A hundred of those would cost the generator
 * two hundred threads and make its CPU a poor witness of the load.
 * Callers bound to the same address share libsrt's multiplexer (one
 * UDP socket, one pair of threads); libsrt tells their packets apart by
 * the destination socket id in each header, and so does the server, so
 * the server's work per player is what it would be with players on
 * separate ports.
 *
 * What is counted, per player: bytes read, and the frames that begin in
 * them (a video PES start, bench/tsscan.c) while the window is open,
 * by the time they are read.  A player that keeps up reads about F
 * frames a second; one that falls behind or is skipped ahead by the
 * server reads fewer.  Continuity-counter skips say whether TS packets
 * were lost on the way (libsrt drops what is too late to play); libsrt's
 * own loss and drop counters are reported beside them.
 */
#include "bench/srtplay.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include <srt/srt.h>

#include "bench/bench.h"
#include "bench/tsscan.h"
#include "pool/clock.h"

/* An SRT live message is at most 1456 bytes (1316 as servers send). */
#define MSG_MAX 1500
#define WAIT_MS 20
/* Players not connected by then count as failed. */
#define SETUP_TIMEOUT_S 60
#define STREAMID_MAX 512
#define SATURATED_PCT 90.0

/* A player's progress. */
enum pstate {
    P_IDLE,       /* not opened yet */
    P_CONNECTING, /* srt_connect() made, the handshake in progress */
    P_LIVE,       /* connected: reading */
    P_DEAD        /* refused, failed or broken; socket closed */
};

struct player {
    SRTSOCKET          sock;
    uint8_t            state;
    uint8_t            in_window; /* was live when the window opened */
    uint8_t            was_live;  /* reached P_LIVE (a later death is a drop) */
    uint64_t           bytes;     /* since it connected */
    uint64_t           win_bytes; /* read while the window was open */
    uint64_t           win_frames; /* video frames begun in win_bytes */
    int64_t            srt_lost, srt_dropped; /* libsrt's totals, at its end */
    struct sl_bench_ts ts;
};

struct options {
    unsigned    n;
    const char *url;
    double      duration_s, warmup_s, fps;
    int         server_pid;
    unsigned    concurrency;
    int         csv;
    char        host[256], port[16];
    char        streamid[STREAMID_MAX];
};

/* The run's phases, in order. */
enum phase { PH_CONNECT, PH_WARMUP, PH_WINDOW, PH_DONE };

static struct {
    struct options          o;
    struct player          *p;
    unsigned               *map; /* socket -> player index + 1; 0 empty */
    unsigned                map_mask;
    int                     eid;
    struct sockaddr_storage peer, local;
    int                     peer_len, local_len, have_local;
    unsigned                opened, pending, live, failed, dropped;
    int                     reported; /* first failures said on stderr */
    enum phase              phase;
    int64_t                 phase_end, setup_deadline;
    int64_t                 win_start, win_end;
} S;

/* ---- options ---- */

static void
usage(void)
{
    fprintf(stderr,
            "usage: sluice-bench --srt-players N --srt-url URL\n"
            "         [-d seconds] [-w warmup_s] [-p server_pid]\n"
            "         [-c concurrent_connects] [--fps F] [--csv]\n"
            "  URL  srt://HOST:PORT?streamid=#!::r=APP/NAME,m=request\n"
            "       (the stream id may be %%XX-encoded; other parameters\n"
            "       are ignored)\n");
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* srt://HOST:PORT?...streamid=VALUE...: HOST a name, an IPv4 address or
 * an IPv6 one in brackets; VALUE up to the next '&', %XX decoded. */
static int
parse_url(const char *url, struct options *o)
{
    const char *p, *hend, *q, *v;
    size_t      n = 0;

    if (strncmp(url, "srt://", 6) != 0)
        return -1;
    p = url + 6;
    q = strchr(p, '?');
    if (q == NULL)
        return -1;
    if (*p == '[') {
        hend = memchr(p, ']', (size_t) (q - p));
        if (hend == NULL || hend[1] != ':')
            return -1;
        snprintf(o->host, sizeof(o->host), "%.*s", (int) (hend - p - 1), p + 1);
        hend++;
    } else {
        hend = memchr(p, ':', (size_t) (q - p));
        if (hend == NULL)
            return -1;
        snprintf(o->host, sizeof(o->host), "%.*s", (int) (hend - p), p);
    }
    snprintf(o->port, sizeof(o->port), "%.*s", (int) (q - hend - 1), hend + 1);
    if (o->host[0] == '\0' || o->port[0] == '\0')
        return -1;
    for (v = q + 1; v != NULL && strncmp(v, "streamid=", 9) != 0;
         v = strchr(v, '&') ? strchr(v, '&') + 1 : NULL)
        ;
    if (v == NULL)
        return -1;
    for (v += 9; *v != '\0' && *v != '&'; v++) {
        int c = (unsigned char) *v;

        if (c == '%') {
            int hi = hexval(v[1]), lo = hi < 0 ? -1 : hexval(v[2]);

            if (lo < 0)
                return -1;
            c = hi * 16 + lo;
            v += 2;
        }
        if (n + 1 >= sizeof(o->streamid) || c == 0)
            return -1;
        o->streamid[n++] = (char) c;
    }
    o->streamid[n] = '\0';
    return n > 0 ? 0 : -1;
}

static int
parse_options(int argc, char **argv)
{
    static const struct option longs[] = {
        {"srt-players", required_argument, NULL, 'N'},
        {"srt-url", required_argument, NULL, 'U'},
        {"fps", required_argument, NULL, 'F'},
        {"csv", no_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct options *o = &S.o;
    int             c;

    o->n = 100;
    o->duration_s = 15;
    o->warmup_s = 3;
    o->fps = 30;
    o->concurrency = 64;
    while ((c = getopt_long(argc, argv, "d:w:p:c:h", longs, NULL)) != -1) {
        switch (c) {
        case 'N':
            o->n = (unsigned) strtoul(optarg, NULL, 10);
            break;
        case 'U':
            o->url = optarg;
            break;
        case 'F':
            o->fps = atof(optarg);
            break;
        case 'C':
            o->csv = 1;
            break;
        case 'd':
            o->duration_s = atof(optarg);
            break;
        case 'w':
            o->warmup_s = atof(optarg);
            break;
        case 'p':
            o->server_pid = atoi(optarg);
            break;
        case 'c':
            o->concurrency = (unsigned) strtoul(optarg, NULL, 10);
            break;
        default:
            usage();
            return -1;
        }
    }
    if (o->url == NULL || o->n == 0 || o->duration_s <= 0 || o->warmup_s < 0 ||
        o->fps <= 0 || o->concurrency == 0 || optind != argc) {
        usage();
        return -1;
    }
    if (parse_url(o->url, o) < 0) {
        fprintf(stderr,
                "sluice-bench: bad URL %s (want "
                "srt://HOST:PORT?streamid=...)\n",
                o->url);
        return -1;
    }
    return 0;
}

static int
resolve(void)
{
    struct addrinfo hints = {0}, *res;
    int             rc;

    hints.ai_socktype = SOCK_DGRAM;
    rc = getaddrinfo(S.o.host, S.o.port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "sluice-bench: %s: %s\n", S.o.host, gai_strerror(rc));
        return -1;
    }
    memcpy(&S.peer, res->ai_addr, res->ai_addrlen);
    S.peer_len = (int) res->ai_addrlen;
    /* Every player's local address: the peer's family, any address, the
     * port the first player is given. */
    memset(&S.local, 0, sizeof(S.local));
    S.local.ss_family = res->ai_family;
    S.local_len = (int) res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* ---- players ---- */

/* libsrt numbers its sockets itself: an open-addressed table (twice the
 * players, a power of two) finds a socket's player.  Entries are never
 * removed; a dead player's events are ignored by its state. */
static size_t
slot_of(SRTSOCKET s)
{
    return ((uint32_t) s * 2654435761u) & S.map_mask;
}

static void
map_add(SRTSOCKET s, unsigned ix)
{
    size_t i = slot_of(s);

    while (S.map[i] != 0)
        i = (i + 1) & S.map_mask;
    S.map[i] = ix + 1;
}

static struct player *
map_find(SRTSOCKET s)
{
    for (size_t i = slot_of(s); S.map[i] != 0; i = (i + 1) & S.map_mask)
        if (S.p[S.map[i] - 1].sock == s)
            return &S.p[S.map[i] - 1];
    return NULL;
}

static void
player_close(struct player *pl)
{
    if (pl->state == P_CONNECTING || pl->state == P_LIVE) {
        SRT_TRACEBSTATS perf;

        if (srt_bstats(pl->sock, &perf, 0) == 0) {
            pl->srt_lost = perf.pktRcvLossTotal;
            pl->srt_dropped = perf.pktRcvDropTotal;
        }
        srt_epoll_remove_usock(S.eid, pl->sock);
        srt_close(pl->sock);
    }
    pl->state = P_DEAD;
}

/* Ends a player that failed to connect or broke later, saying why for
 * the first few. */
static void
player_fail(struct player *pl, const char *why)
{
    if (pl->state == P_CONNECTING) {
        S.pending--;
        S.failed++;
    } else if (pl->state == P_LIVE) {
        S.live--;
        S.dropped++;
    }
    if (S.reported++ < 5)
        fprintf(stderr, "sluice-bench: SRT player %ld %s: %s\n",
                (long) (pl - S.p), pl->was_live ? "dropped" : "failed", why);
    player_close(pl);
}

/* The local address every player binds, so that all share one UDP
 * socket (see the top).  Taken from the first player once libsrt has
 * bound it. */
static void
learn_local(SRTSOCKET s)
{
    struct sockaddr_storage ss;
    int                     len = sizeof(ss);

    if (S.have_local || srt_getsockname(s, (struct sockaddr *) &ss, &len) < 0)
        return;
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *) &S.local)->sin_port =
            ((struct sockaddr_in *) &ss)->sin_port;
    else
        ((struct sockaddr_in6 *) &S.local)->sin6_port =
            ((struct sockaddr_in6 *) &ss)->sin6_port;
    S.have_local = 1;
}

static int
player_open(struct player *pl)
{
    int       no = 0, events = SRT_EPOLL_OUT | SRT_EPOLL_ERR;
    SRTSOCKET s = srt_create_socket();

    if (s == SRT_INVALID_SOCK)
        return -1;
    if (srt_setsockflag(s, SRTO_RCVSYN, &no, sizeof(no)) < 0 ||
        srt_setsockflag(s, SRTO_SNDSYN, &no, sizeof(no)) < 0 ||
        srt_setsockflag(s, SRTO_STREAMID, S.o.streamid,
                        (int) strlen(S.o.streamid)) < 0 ||
        srt_bind(s, (struct sockaddr *) &S.local, S.local_len) < 0 ||
        srt_epoll_add_usock(S.eid, s, &events) < 0 ||
        srt_connect(s, (struct sockaddr *) &S.peer, S.peer_len) == SRT_ERROR) {
        fprintf(stderr, "sluice-bench: SRT player %ld: %s\n", (long) (pl - S.p),
                srt_getlasterror_str());
        srt_close(s);
        return -1;
    }
    learn_local(s);
    sl_bench_ts_init(&pl->ts);
    pl->sock = s;
    pl->state = P_CONNECTING;
    map_add(s, (unsigned) (pl - S.p));
    return 0;
}

/* Opens players while fewer than the concurrency are connecting. */
static void
open_players(void)
{
    while (S.opened < S.o.n && S.pending < S.o.concurrency) {
        struct player *pl = &S.p[S.opened++];

        if (player_open(pl) < 0) {
            pl->state = P_DEAD;
            S.failed++;
        } else {
            S.pending++;
        }
    }
}

/* Reads every message libsrt holds for pl. */
static void
player_read(struct player *pl, int64_t now)
{
    char buf[MSG_MAX];
    int  counted = pl->in_window && S.phase == PH_WINDOW && now >= S.win_start;

    for (;;) {
        int n = srt_recvmsg(pl->sock, buf, sizeof(buf)), frames;

        if (n < 0) {
            if (srt_getlasterror(NULL) != SRT_EASYNCRCV)
                player_fail(pl, srt_getlasterror_str());
            return;
        }
        if (n == 0)
            return;
        pl->bytes += (uint64_t) n;
        frames = sl_bench_ts_scan(&pl->ts, (const uint8_t *) buf, (size_t) n);
        if (frames < 0) {
            player_fail(pl, "not MPEG-TS (a packet without its sync byte)");
            return;
        }
        if (counted) {
            pl->win_bytes += (uint64_t) n;
            pl->win_frames += (uint64_t) frames;
        }
    }
}

static void
player_event(struct player *pl, int events, int64_t now)
{
    if (pl->state == P_CONNECTING) {
        SRT_SOCKSTATUS st = srt_getsockstate(pl->sock);

        if (st == SRTS_CONNECTED) {
            int ev = SRT_EPOLL_IN | SRT_EPOLL_ERR;

            /* A connected live socket is always writable: OUT would
             * wake the loop for nothing from now on. */
            srt_epoll_update_usock(S.eid, pl->sock, &ev);
            pl->state = P_LIVE;
            pl->was_live = 1;
            S.pending--;
            S.live++;
        } else if ((events & SRT_EPOLL_ERR) || st == SRTS_BROKEN ||
                   st == SRTS_CLOSED || st == SRTS_NONEXIST) {
            char why[160];

            snprintf(why, sizeof(why), "refused or unreachable (%s)",
                     srt_rejectreason_str(srt_getrejectreason(pl->sock)));
            player_fail(pl, why);
            return;
        }
    }
    if (pl->state == P_LIVE && (events & SRT_EPOLL_IN))
        player_read(pl, now);
    if (pl->state == P_LIVE && (events & SRT_EPOLL_ERR))
        player_fail(pl, "connection lost");
}

/* ---- the run ---- */

/* Moves the run on when its phase is over. */
static void
advance(int64_t now)
{
    switch (S.phase) {
    case PH_CONNECT:
        open_players();
        if (S.opened < S.o.n || S.pending > 0) {
            if (now <= S.setup_deadline)
                return;
            fprintf(stderr,
                    "sluice-bench: %u SRT players still not connected "
                    "after %d s\n",
                    S.o.n - S.opened + S.pending, SETUP_TIMEOUT_S);
            for (unsigned i = 0; i < S.o.n; i++)
                if (S.p[i].state == P_CONNECTING)
                    player_fail(&S.p[i], "connect timed out");
            S.failed += S.o.n - S.opened;
            S.opened = S.o.n;
        }
        S.phase = PH_WARMUP;
        S.phase_end = now + (int64_t) (S.o.warmup_s * 1e6);
        break;
    case PH_WARMUP:
        if (now < S.phase_end)
            break;
        for (unsigned i = 0; i < S.o.n; i++)
            S.p[i].in_window = S.p[i].state == P_LIVE;
        S.win_start = now;
        S.phase_end = sl_bench_window_open(now);
        S.phase = PH_WINDOW;
        break;
    case PH_WINDOW:
        if (now < S.phase_end)
            break;
        sl_bench_window_close(now);
        S.win_end = now;
        S.phase = PH_DONE;
        break;
    case PH_DONE:
        break;
    }
}

static int
run(SRT_EPOLL_EVENT *evs, int nevs)
{
    S.setup_deadline = sl_now_us() + SETUP_TIMEOUT_S * 1000000LL;
    while (!sl_bench_stop && S.phase != PH_DONE) {
        int     n = srt_epoll_uwait(S.eid, evs, nevs, WAIT_MS);
        int64_t now = sl_now_us();

        for (int i = 0; i < n; i++) {
            struct player *pl = map_find(evs[i].fd);

            if (pl != NULL &&
                (pl->state == P_CONNECTING || pl->state == P_LIVE))
                player_event(pl, evs[i].events, now);
        }
        advance(now);
    }
    if (S.phase != PH_DONE) {
        fprintf(stderr, "sluice-bench: stopped before the window ended\n");
        return -1;
    }
    return 0;
}

/* ---- the result ---- */

static void
report(void)
{
    struct sl_bench_loads l;
    double                window_s = (S.win_end - S.win_start) / 1e6;
    double                expected = S.o.fps * window_s;
    double   min_pct = 100, sum_pct = 0, min_mbps = -1, sum_mbps = 0;
    double   rss_pp = -1;
    unsigned below = 0;
    uint64_t cc = 0;
    int64_t  lost = 0, dropped = 0;

    sl_bench_window_loads(&l);
    for (unsigned i = 0; i < S.o.n; i++) {
        struct player *pl = &S.p[i];
        double         pct = pl->in_window && expected > 0
                                 ? 100.0 * (double) pl->win_frames / expected
                                 : 0;
        double         mbps =
            pl->in_window ? 8.0 * (double) pl->win_bytes / window_s / 1e6 : 0;

        /* Frames are counted by read time: a window may hold one more
         * than its length at F per second. */
        if (pct > 100)
            pct = 100;
        if (pct < min_pct)
            min_pct = pct;
        if (pct < 98)
            below++;
        sum_pct += pct;
        if (min_mbps < 0 || mbps < min_mbps)
            min_mbps = mbps;
        sum_mbps += mbps;
        cc += pl->ts.cc_errors;
        lost += pl->srt_lost;
        dropped += pl->srt_dropped;
    }
    if (l.rss_base >= 0 && l.rss_end >= 0)
        rss_pp = (double) (l.rss_end - l.rss_base) / S.o.n;
    if (S.o.csv) {
        /* players,playing,failed,dropped,window_s,expected_frames,
         * min%,avg%,below98,min_mbps,avg_mbps,cc_errors,srt_lost,
         * srt_dropped,srv_cpu%,srv_user%,srv_sys%,rss_base,rss_end,
         * rss/player,gen_cpu%,saturated,other_on_server_core%,
         * other_on_generator_core% */
        printf("%u,%u,%u,%u,%.1f,%.0f,%.2f,%.2f,%u,%.3f,%.3f,%llu,%lld,"
               "%lld,%.2f,%.2f,%.2f,%ld,%ld,%.2f,%.1f,%d,%.1f,%.1f\n",
               S.o.n, S.live, S.failed, S.dropped, window_s, expected, min_pct,
               sum_pct / S.o.n, below, min_mbps, sum_mbps / S.o.n,
               (unsigned long long) cc, (long long) lost, (long long) dropped,
               l.srv_cpu, l.srv_user, l.srv_sys, l.rss_base, l.rss_end, rss_pp,
               l.gen_cpu, l.saturated, l.other[0], l.other[1]);
        return;
    }
    printf("SRT players %u: playing %u, failed %u, dropped %u\n", S.o.n, S.live,
           S.failed, S.dropped);
    printf("delivered: %.0f frames expected per player in %.1f s; min %.2f%%, "
           "avg %.2f%%, %u players below 98%%\n",
           expected, window_s, min_pct, sum_pct / S.o.n, below);
    printf("rate per player: min %.3f, avg %.3f Mbit/s; TS packets lost "
           "(continuity) %llu; libsrt lost %lld, dropped %lld\n",
           min_mbps, sum_mbps / S.o.n, (unsigned long long) cc,
           (long long) lost, (long long) dropped);
    if (S.o.server_pid > 0)
        printf("server: cpu %.1f%% (user %.1f%%, sys %.1f%%), rss %ld KiB "
               "before players, %ld KiB at end, %.2f KiB per player\n",
               l.srv_cpu, l.srv_user, l.srv_sys, l.rss_base, l.rss_end, rss_pp);
    printf("generator: cpu %.1f%%%s\n", l.gen_cpu,
           l.saturated ? "  SATURATED: the numbers above are suspect" : "");
    if (l.other[0] >= 0 || l.other[1] >= 0)
        printf("other load: %.1f%% on the server's core, %.1f%% on ours\n",
               l.other[0], l.other[1]);
}

static void
on_signal(int sig)
{
    (void) sig;
    sl_bench_stop = 1;
}

int
sl_bench_srt_main(int argc, char **argv)
{
    SRT_EPOLL_EVENT *evs = NULL;
    int              nevs, rc = 1;

    if (parse_options(argc, argv) < 0)
        return 2;
    if (resolve() < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    /* measure.c reads the server and the window through sl_bench's
     * options; it has no RTMP players to look at here. */
    sl_bench.opt.server_pid = S.o.server_pid;
    sl_bench.opt.duration_s = S.o.duration_s;
    sl_bench.opt.players = 0;
    sl_bench_measure_init();
    S.p = calloc(S.o.n, sizeof(*S.p));
    for (S.map_mask = 1; S.map_mask < 2 * S.o.n; S.map_mask *= 2)
        ;
    S.map = calloc(S.map_mask, sizeof(*S.map));
    S.map_mask--;
    nevs = S.o.n < 64 ? 64 : (int) S.o.n;
    evs = calloc((size_t) nevs, sizeof(*evs));
    if (S.p == NULL || S.map == NULL || evs == NULL) {
        fprintf(stderr, "sluice-bench: out of memory\n");
        goto out;
    }
    srt_startup();
    srt_setloglevel(LOG_ERR);
    S.eid = srt_epoll_create();
    if (S.eid < 0) {
        fprintf(stderr, "sluice-bench: srt_epoll_create: %s\n",
                srt_getlasterror_str());
        goto out_srt;
    }
    /* With every player gone the wait still sleeps. */
    srt_epoll_set(S.eid, SRT_EPOLL_ENABLE_EMPTY);
    /* The server's memory with its publisher and no SRT player yet: the
     * first player makes it start the stream's MPEG-TS feed, and that
     * is part of what the players cost. */
    sl_bench_measure_baseline();
    if (run(evs, nevs) == 0) {
        for (unsigned i = 0; i < S.o.n; i++)
            player_close(&S.p[i]); /* takes libsrt's loss counters */
        report();
        rc = S.live == 0;
    }
    for (unsigned i = 0; i < S.o.n; i++)
        player_close(&S.p[i]);
    srt_epoll_release(S.eid);
out_srt:
    srt_cleanup();
out:
    free(S.p);
    free(S.map);
    free(evs);
    return rc;
}

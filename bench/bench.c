/*
 * sluice-bench: a live-streaming load generator for any RTMP server.
 *
 *   sluice-bench -u rtmp://127.0.0.1:1935/live/bench -i input.flv
 *                -n 1000 -d 15 -w 3 -p SERVER_PID [--csv]
 *                [--play-url rtmp://127.0.0.1:1936/live/bench |
 *                 --flv-url http://127.0.0.1:8088/live/bench.flv |
 *                 --hls-url http://127.0.0.1:8088/live/bench/media.m3u8
 *                 [--hls-poll]] [--also-pid PID]
 *
 * One publisher sends the FLV file at real-time pace (looping it, with
 * timestamps that keep increasing); then N players connect and play the
 * stream: the same URL, or --play-url's (another server that gets the
 * stream from the first, e.g. through a relay; frames are matched the
 * same way, so the latency is publish-write on -u to player-read on
 * --play-url).  With --flv-url the players are HTTP-FLV players instead
 * (GET of that URL, the FLV tags of the response; httpflv.c), scored the
 * same way while the publisher stays RTMP on -u.  With --hls-url the
 * players are LL-HLS viewers of that media playlist (hls.c): each follows
 * the protocol on one kept-alive connection, blocking reloads and the
 * parts they announce, or with --hls-poll a plain reload every part
 * duration (a server of static files); they are scored by parts and
 * bytes, and the result line is hls.c's.  After every player is
 * playing and a warm-up has passed, a measured window of -d seconds
 * begins.  At its end the tool prints one line: delivered ratio per
 * player (min and average), latency p50/p99 from publish-write to
 * player-read, connections per second, the server's CPU and memory from
 * /proc (when -p is given) and our own CPU.
 *
 * With --rungs A,B the players are one of the stream and one of each of
 * its renditions (STREAM_A, STREAM_B) instead, and the result is the
 * delay the transcoding ladder adds to each rung: for every source
 * frame read in the window, the rung's same picture read time minus the
 * source's (delay.c; bench/ladder.sh runs it).
 *
 * Everything runs on one thread around one epoll set with non-blocking
 * sockets and level-triggered events, so each ready socket gets one read
 * per loop turn and no player can starve the publisher's pacing.  This
 * file reads the options and runs the phases; the RTMP client is in
 * client.c, the HTTP-FLV player in httpflv.c, the LL-HLS viewer in
 * hls.c, the matching of frames and the result in measure.c (see
 * bench.h).
 *
 * With --floor-server as its first argument the binary is instead the
 * minimal fan-out server of bench/floor.c; with --ladder, the
 * transcoding-ladder benchmark of bench/ladder.c; with --srt-players,
 * SRT players of a stream someone else publishes (bench/srtplay.c).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "bench/bench.h"
#include "bench/floor.h"
#include "bench/flvfile.h"
#include "bench/ladder.h"
#include "bench/srtplay.h"
#include "pool/clock.h"

#define MAX_EVENTS 512
#define PUBLISH_TIMEOUT_S 10 /* the publisher must be live by then */
#define SETUP_TIMEOUT_S 120  /* players that are not playing by then fail */
#define MAX_WAIT_US 10000    /* the loop turns at least this often */

struct sl_bench       sl_bench;
volatile sig_atomic_t sl_bench_stop;

/* The run's phases, in order. */
enum phase {
    PH_PUBLISH, /* until the publisher is live */
    PH_SETTLE,  /* the server fills its GOP cache; then the RSS baseline */
    PH_CONNECT, /* until every player plays or failed */
    PH_WARMUP,
    PH_WINDOW, /* measured */
    PH_DRAIN,  /* late frames of the window still count */
    PH_DONE
};

struct run {
    enum phase phase;
    int64_t    phase_end;      /* when a timed phase ends */
    int64_t    setup_deadline; /* for PH_PUBLISH and PH_CONNECT */
};

/* ---- options and set-up ---------------------------------------------- */

static void
usage(void)
{
    fprintf(stderr,
            "usage: sluice-bench -u rtmp://HOST:PORT/APP/STREAM -i FILE.flv\n"
            "         [-n players] [-d seconds] [-w warmup_s] [-p pid]\n"
            "         [-c concurrent_connects] [--drain s] [--settle s]\n"
            "         [--play-url rtmp://HOST:PORT/APP/STREAM |\n"
            "          --flv-url http://HOST:PORT/APP/STREAM.flv |\n"
            "          --hls-url http://HOST:PORT/APP/STREAM/media.m3u8\n"
            "          [--hls-poll]] [--also-pid PID] [--csv]\n"
            "       sluice-bench --floor-server -l IPV4:PORT [-m merge_ms]\n"
            "       sluice-bench --ladder -i FILE.flv [-c CONFIG] [-a APP]\n"
            "       sluice-bench --srt-players N --srt-url URL [-d seconds]\n"
            "         [-w warmup_s] [-p pid] [--fps F] [--csv]\n"
            "       sluice-bench -u URL -i FILE.flv --rungs NAME[,NAME...]\n"
            "         [-d seconds] [-w warmup_s] [--drain s]\n"
            "The publisher is RTMP on -u; the players play, by default, -u.\n"
            "  --play-url URL  RTMP players of that URL (e.g. a relay's\n"
            "                  downstream)\n"
            "  --flv-url URL   HTTP-FLV players: a GET of URL, a 200 with\n"
            "                  video/x-flv read until the server closes,\n"
            "                  FLV tags scored as RTMP players' messages\n"
            "  --hls-url URL   LL-HLS viewers of that media playlist:\n"
            "                  blocking reloads, then each part\n"
            "  --hls-poll      viewers poll the playlist every part\n"
            "                  instead (a server that cannot block)\n"
            "  --also-pid PID  measure this process's CPU too (-p's other)\n"
            "  --rungs LIST    one player of -u's stream and one of each\n"
            "                  rendition STREAM_NAME; prints the delay\n"
            "                  each rung adds (ms, median and p90)\n");
}

static int
parse_url(const char *url, struct sl_bench_endpoint *e)
{
    const char *p, *slash, *colon, *last;

    if (strncmp(url, "rtmp://", 7) != 0)
        return -1;
    p = url + 7;
    slash = strchr(p, '/');
    last = strrchr(p, '/');
    if (slash == NULL || last == slash || last[1] == '\0')
        return -1;
    colon = memchr(p, ':', (size_t) (slash - p));
    if (colon != NULL) {
        snprintf(e->host, sizeof(e->host), "%.*s", (int) (colon - p), p);
        snprintf(e->port, sizeof(e->port), "%.*s", (int) (slash - colon - 1),
                 colon + 1);
    } else {
        snprintf(e->host, sizeof(e->host), "%.*s", (int) (slash - p), p);
        snprintf(e->port, sizeof(e->port), "1935");
    }
    snprintf(e->app, sizeof(e->app), "%.*s", (int) (last - slash - 1),
             slash + 1);
    snprintf(e->stream, sizeof(e->stream), "%s", last + 1);
    snprintf(e->tc_url, sizeof(e->tc_url), "rtmp://%s:%s/%s", e->host, e->port,
             e->app);
    return 0;
}

static int
resolve(struct sl_bench_endpoint *e)
{
    struct addrinfo hints = {0}, *res;
    int             rc;

    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(e->host, e->port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "sluice-bench: %s: %s\n", e->host, gai_strerror(rc));
        return -1;
    }
    memcpy(&e->addr, res->ai_addr, res->ai_addrlen);
    e->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void
raise_nofile(void)
{
    struct rlimit rl;

    /* Every player is a socket: take all the descriptors we may. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* An HTTP-FLV player's URL: http://HOST[:PORT]/PATH[?QUERY], HOST a
 * name, an IPv4 address or an IPv6 one in brackets, PORT 80 by default.
 * The path and query are sent as they are, so they must hold nothing a
 * request line cannot (spaces, controls). */
static int
parse_http_url(const char *url, struct sl_bench_endpoint *e)
{
    const char *p, *slash, *hend, *colon = NULL;

    if (strncmp(url, "http://", 7) != 0)
        return -1;
    p = url + 7;
    slash = strchr(p, '/');
    if (slash == NULL || slash == p || slash[1] == '\0' ||
        strlen(slash) >= sizeof(e->target))
        return -1;
    for (const char *t = slash; *t; t++)
        if ((unsigned char) *t <= 0x20 || *t == 0x7f)
            return -1;
    if (*p == '[') {
        hend = memchr(p, ']', (size_t) (slash - p));
        if (hend == NULL || (hend + 1 != slash && hend[1] != ':'))
            return -1;
        snprintf(e->host, sizeof(e->host), "%.*s", (int) (hend - p - 1), p + 1);
        colon = hend + 1 != slash ? hend + 1 : NULL;
    } else {
        colon = memchr(p, ':', (size_t) (slash - p));
        hend = colon != NULL ? colon : slash;
        snprintf(e->host, sizeof(e->host), "%.*s", (int) (hend - p), p);
    }
    if (colon != NULL)
        snprintf(e->port, sizeof(e->port), "%.*s", (int) (slash - colon - 1),
                 colon + 1);
    else
        snprintf(e->port, sizeof(e->port), "80");
    if (e->host[0] == '\0' || e->port[0] == '\0')
        return -1;
    snprintf(e->target, sizeof(e->target), "%s", slash);
    return 0;
}

/* The publisher's and the players' endpoints from their URLs. */
static int
parse_endpoints(const struct sl_bench_options *o)
{
    const char *http = o->flv_url != NULL ? o->flv_url : o->hls_url;

    if (http != NULL) {
        if (parse_http_url(http, &sl_bench.play_at) < 0) {
            fprintf(stderr,
                    "sluice-bench: bad URL %s (want "
                    "http://HOST[:PORT]/%s)\n",
                    http,
                    o->flv_url != NULL ? "APP/STREAM.flv"
                                       : "APP/STREAM/media.m3u8");
            return -1;
        }
        if (parse_url(o->url, &sl_bench.pub_at) == 0)
            return 0;
        fprintf(stderr,
                "sluice-bench: bad URL %s (want "
                "rtmp://HOST[:PORT]/APP/STREAM)\n",
                o->url);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        const char *url = i == 0 ? o->url : o->play_url;

        if (parse_url(url, i == 0 ? &sl_bench.pub_at : &sl_bench.play_at) < 0) {
            fprintf(stderr,
                    "sluice-bench: bad URL %s (want "
                    "rtmp://HOST[:PORT]/APP/STREAM)\n",
                    url);
            return -1;
        }
    }
    return 0;
}

/* --rungs A,B,...: rendition names (letters, digits, _ - .). */
static int
parse_rungs(const char *list, struct sl_bench_options *o)
{
    const char *p = list;

    o->nrungs = 0;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");

        if (n == 0 || n >= SL_BENCH_RUNG_NAME ||
            o->nrungs == SL_BENCH_MAX_RUNGS)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char) p[i]) && !strchr("_-.", p[i]))
                return -1;
        memcpy(o->rungs[o->nrungs], p, n);
        o->rungs[o->nrungs++][n] = '\0';
        p += n;
        if (*p == ',')
            p++;
    }
    return o->nrungs > 0 ? 0 : -1;
}

static int
parse_options(int argc, char **argv)
{
    static const struct option longs[] = {
        {"csv", no_argument, NULL, 'C'},
        {"play-url", required_argument, NULL, 'P'},
        {"flv-url", required_argument, NULL, 'F'},
        {"hls-url", required_argument, NULL, 'H'},
        {"hls-poll", no_argument, NULL, 'L'},
        {"also-pid", required_argument, NULL, 'A'},
        {"drain", required_argument, NULL, 'D'},
        {"settle", required_argument, NULL, 'S'},
        {"rungs", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct sl_bench_options *o = &sl_bench.opt;
    int                      c;

    o->players = 100;
    o->duration_s = 15;
    o->warmup_s = 3;
    o->drain_s = 3;
    o->settle_s = 2.5;
    o->concurrency = 100;
    while ((c = getopt_long(argc, argv, "u:i:n:d:w:p:c:h", longs, NULL)) !=
           -1) {
        switch (c) {
        case 'u':
            o->url = optarg;
            break;
        case 'i':
            o->input = optarg;
            break;
        case 'n':
            o->players = (unsigned) strtoul(optarg, NULL, 10);
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
        case 'C':
            o->csv = 1;
            break;
        case 'P':
            o->play_url = optarg;
            break;
        case 'F':
            o->flv_url = optarg;
            break;
        case 'H':
            o->hls_url = optarg;
            break;
        case 'L':
            o->hls_poll = 1;
            break;
        case 'A':
            o->also_pid = atoi(optarg);
            break;
        case 'D':
            o->drain_s = atof(optarg);
            break;
        case 'S':
            o->settle_s = atof(optarg);
            break;
        case 'R':
            if (parse_rungs(optarg, o) < 0) {
                fprintf(stderr,
                        "sluice-bench: --rungs wants 1 to %d comma-separated "
                        "rendition names\n",
                        SL_BENCH_MAX_RUNGS);
                return -1;
            }
            break;
        default:
            usage();
            return -1;
        }
    }
    if (o->url == NULL || o->input == NULL || o->duration_s <= 0 ||
        o->warmup_s < 0 || o->concurrency == 0 || optind != argc ||
        (o->play_url != NULL) + (o->flv_url != NULL) + (o->hls_url != NULL) >
            1 ||
        (o->hls_poll && o->hls_url == NULL) ||
        (o->nrungs > 0 && (o->flv_url != NULL || o->hls_url != NULL))) {
        usage();
        return -1;
    }
    if (o->nrungs > 0)
        o->players = 1 + (unsigned) o->nrungs;
    if (o->play_url == NULL)
        o->play_url = o->url;
    return parse_endpoints(o);
}

/* ---- the run ------------------------------------------------------------ */

static void
on_signal(int sig)
{
    (void) sig;
    sl_bench_stop = 1;
}

/* Ends PH_CONNECT once every player plays or failed, or at the set-up
 * deadline; the warm-up follows. */
static void
connect_step(struct run *r, int64_t now)
{
    unsigned n = sl_bench.opt.players;

    sl_bench_open_players(now);
    if (sl_bench.playing + sl_bench.failed < n && now <= r->setup_deadline)
        return;
    if (sl_bench.playing + sl_bench.failed < n)
        fprintf(stderr,
                "sluice-bench: %u players still not "
                "playing after %d s\n",
                n - sl_bench.playing - sl_bench.failed, SETUP_TIMEOUT_S);
    r->phase = PH_WARMUP;
    r->phase_end = now + (int64_t) (sl_bench.opt.warmup_s * 1e6);
}

/* Moves the run on when its phase is over.  -1 when the publisher did
 * not go live in time. */
static int
advance(struct run *r, int64_t now)
{
    const struct sl_bench_options *o = &sl_bench.opt;

    switch (r->phase) {
    case PH_PUBLISH:
        if (sl_bench.pub.state == ST_LIVE) {
            /* Let the server fill its GOP cache before measuring the
             * memory players add to it. */
            r->phase = PH_SETTLE;
            r->phase_end = now + (int64_t) (o->settle_s * 1e6);
        } else if (now > r->setup_deadline) {
            fprintf(stderr, "sluice-bench: publisher not live after "
                            "10 s\n");
            return -1;
        }
        break;
    case PH_SETTLE:
        if (now >= r->phase_end) {
            sl_bench_measure_baseline();
            r->phase = PH_CONNECT;
            r->setup_deadline = now + SETUP_TIMEOUT_S * 1000000LL;
        }
        break;
    case PH_CONNECT:
        connect_step(r, now);
        break;
    case PH_WARMUP:
        if (now >= r->phase_end) {
            r->phase = PH_WINDOW;
            r->phase_end = sl_bench_window_open(now);
            sl_bench_delay_window(now, r->phase_end);
        }
        break;
    case PH_WINDOW:
        if (now >= r->phase_end) {
            sl_bench_window_close(now);
            r->phase = PH_DRAIN;
            r->phase_end = now + (int64_t) (o->drain_s * 1e6);
        }
        break;
    case PH_DRAIN:
        if (now >= r->phase_end)
            r->phase = PH_DONE;
        break;
    case PH_DONE:
        break;
    }
    return 0;
}

/* How long epoll_wait may sleep: until the publisher's next tag, at once
 * while players wait to be opened, and never past MAX_WAIT_US. */
static int
wait_ms(const struct run *r, int64_t wait_us)
{
    if (r->phase == PH_CONNECT &&
        sl_bench.inflight < sl_bench.opt.concurrency &&
        sl_bench.opened < sl_bench.opt.players)
        wait_us = 0;
    if (wait_us > MAX_WAIT_US)
        wait_us = MAX_WAIT_US;
    return wait_us <= 0 ? 0 : (int) ((wait_us + 999) / 1000);
}

/* The loop: paces the publisher, moves the phases on and hands every
 * ready socket its events.  0 when the drain has ended, -1 when the run
 * failed or was stopped first. */
static int
run(struct epoll_event *evs)
{
    struct run r = {.phase = PH_PUBLISH};

    r.setup_deadline = sl_now_us() + PUBLISH_TIMEOUT_S * 1000000LL;
    while (!sl_bench_stop && r.phase != PH_DONE) {
        int64_t now = sl_now_us(), wait_us;
        int     n;

        wait_us = sl_bench_pub_pump(now);
        if (sl_bench.opt.hls_url != NULL) {
            int64_t hls_us = sl_bench_hls_tick(now);

            if (hls_us < wait_us)
                wait_us = hls_us;
        }
        if (advance(&r, now) < 0)
            return -1;
        if (r.phase == PH_DONE)
            break;
        n = epoll_wait(sl_bench.ep, evs, MAX_EVENTS, wait_ms(&r, wait_us));
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return -1;
        }
        for (int i = 0; i < n; i++)
            sl_bench_conn_event(evs[i].data.ptr, evs[i].events);
    }
    if (r.phase != PH_DONE) {
        fprintf(stderr, "sluice-bench: stopped before the window ended\n");
        return -1;
    }
    return 0;
}

/* The client's buffers, the players and the event array.  -1 (said on
 * stderr) when out of memory. */
static int
set_up(struct epoll_event **evs)
{
    unsigned n = sl_bench.opt.players;

    sl_bench.players = calloc(n ? n : 1, sizeof(*sl_bench.players));
    *evs = calloc(MAX_EVENTS, sizeof(**evs));
    if (sl_bench_client_init() < 0 || sl_bench.players == NULL ||
        *evs == NULL) {
        fprintf(stderr, "sluice-bench: out of memory\n");
        return -1;
    }
    for (unsigned i = 0; i < n; i++)
        sl_bench.players[i].fd = -1;
    return 0;
}

static void
tear_down(struct epoll_event *evs)
{
    for (unsigned i = 0; i < sl_bench.opt.players; i++)
        sl_bench_conn_close(&sl_bench.players[i]);
    sl_bench_conn_close(&sl_bench.pub);
    sl_bench_client_free();
    sl_bench_measure_free();
    sl_bench_delay_free();
    free(sl_bench.players);
    free(evs);
    sl_flv_file_free(&sl_bench.flv);
}

int
main(int argc, char **argv)
{
    struct epoll_event *evs = NULL;
    int                 rc = 1;

    /* The same binary is also the minimal fan-out server whose CPU is the
     * floor the servers are measured against (bench/floor.c). */
    if (argc > 1 && !strcmp(argv[1], "--floor-server"))
        return sl_floor_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "--ladder"))
        return sl_bench_ladder_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "--srt-players"))
        return sl_bench_srt_main(argc, argv);
    if (parse_options(argc, argv) < 0)
        return 2;
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (resolve(&sl_bench.pub_at) < 0 || resolve(&sl_bench.play_at) < 0 ||
        sl_flv_file_load(&sl_bench.flv, sl_bench.opt.input) < 0)
        return 1;
    sl_bench_measure_init();
    if (set_up(&evs) < 0)
        return 1;
    if (sl_bench_conn_open(&sl_bench.pub, ROLE_PUBLISHER) < 0) {
        fprintf(stderr, "sluice-bench: cannot connect to %s:%s\n",
                sl_bench.pub_at.host, sl_bench.pub_at.port);
        return 1;
    }
    if (run(evs) == 0) {
        if (sl_bench.opt.nrungs > 0) {
            rc = sl_bench_delay_report() < 0;
        } else if (sl_bench.opt.hls_url != NULL) {
            sl_bench_hls_report();
            rc = 0;
        } else {
            sl_bench_report();
            rc = 0;
        }
    }
    tear_down(evs);
    return rc;
}

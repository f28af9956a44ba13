/*
 * SRT publishers and players ([server] srt_listen, srt/), with real
 * clients: ffmpeg publishes MPEG-TS over SRT (libsrt) and plays it
 * back, RTMP players (ffmpeg, the tests' own client) and ffprobe look
 * at what comes out, and a caller of our own (libsrt, linked here) does
 * what ffmpeg does not: it reads the reject reason's code, binds
 * another loopback address, sends a crafted TS, stops reading.
 *
 * One server serves the suite: [app:live] with a ladder of one tiny rung
 * (r120: 160x120, ultrafast), LL-HLS and recording (the hub's taps run
 * on the publisher's thread: for SRT, on its demuxer's fiber stack),
 * [app:plain] without any of these, [app:enc] with srt_passphrase,
 * [app:keys] with publish_keys, [app:lossy] with srt_latency = 300ms,
 * [app:pkg] with LL-HLS alone; publish_grace 1 s, max_lag 2 s.  Clips
 * (4 s of 320x240 H.264 at 25 fps, a keyframe a second, and AAC; the
 * same in HEVC; AAC alone) are made once; plain/bg publishes the first
 * and pkg/hevc the second in a loop from the start to the end of the
 * suite (tests watch them with players of their own).  ffmpeg's SRT
 * URLs set linger, so a publisher that ends waits until its last
 * packets are acknowledged (without it libsrt drops the unsent tail at
 * the close: a few frames short).  The SRT players' ffmpegs probe for
 * a second (not -analyzeduration's 5 s) and the ones that count frames
 * ask for 1 s of SRT latency: a busy machine must not make them drop.
 *
 * - a publish (ffmpeg encoding live) reaches an RTMP player whole:
 *   >= 98 % of the frames, H.264 320x240 and AAC; its rung plays at
 *   160x120; the master playlist lists both; the recording has it all;
 * - the API lists the stream with its SRT publisher while published,
 *   bytes_in grows, players_by_protocol counts an RTMP player;
 *   /metrics too;
 * - through a lossy relay (5 % of the datagrams dropped each way, each
 *   delayed 40 ms; the clip's last second whole) with 300 ms of SRT
 *   latency: >= 99 % of the frames;
 * - encryption: the right passphrase publishes and plays, a wrong or
 *   missing one is refused by libsrt (reasons "bad secret" and
 *   "unsecure") and the stream never goes live; the server gives the
 *   half-done handshakes' slots back;
 * - refusals with their reject codes and WARN lines: unknown app (1404),
 *   a malformed id (1400), m=bidirectional (1405), a live name (1409,
 *   the first publisher unaffected), a wrong stream key (1403, never
 *   logged); ffmpeg fails fast on one;
 * - bad input: garbage datagrams at the port while publishes go on, an
 *   audio-only TS, a TS with corrupted packets, H.264 + MP2 and MPEG-2
 *   + AAC (the stream not carried left out with one WARN);
 * - a publisher killed with SIGKILL is noticed (the peer idle timeout)
 *   and the name can be published again;
 * - SRT players (m=request) of an RTMP publish: two ffmpegs at once
 *   decode >= 98 % of a 3 s window (their copies have no hole), H.264
 *   320x240 and AAC; the API counts them as srt (players_by_protocol,
 *   player_list entries with their "srt" link figures) and so do the
 *   metrics; a play of a stream that is not live is refused (1404);
 * - players that end: a publisher (our caller, its audio 1.5 s late)
 *   leaves and its SRT player is closed after publish_grace ("the
 *   stream ended"), its LL-HLS init segments all served; a caller that
 *   never reads (a 32-packet receive buffer) is closed as stalled
 *   (max_lag is 2 s here) while a reading player of the same stream
 *   goes on;
 * - HEVC (a libx265 clip, published from the start): the API says
 *   hvc1, an SRT player gets HEVC 320x240 and AAC back, the LL-HLS
 *   master says CODECS="hvc1." and ffmpeg decodes 2 s of it;
 * - a flood of 20 handshakes from 127.0.0.2 at a server of its own
 *   (connection_rate_per_ip 2, burst 3): most refused with 1402, while
 *   127.0.0.1 publishes over SRT and an RTMP player gets the frames;
 * - the server stops cleanly (exit 0, no ERROR line, no sanitizer
 *   report) with an SRT publisher still connected.
 *
 * Every wait is bounded by IT_S(); nothing asserts how fast anything
 * happened.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <srt/access_control.h>
#include <srt/srt.h>

#include "tests/integration/itest.h"
#include "tests/support/http_client.h"
#include "tests/support/prom.h"

#define PASS "sluice-srt-passphrase-42"
#define KEY "srt-k3y-5ec7e7-0d9f8a"
#define WRONGKEY "srt-k3y-guess-000000"
#define FPS 25
#define CLIP_S 4

/* [app:live]'s keys come first (with record = DIR). */
#define SECTIONS                                                               \
    "renditions = r120\nkeyframe_interval = 1s\nhls = on\n"                    \
    "[app:plain]\n"                                                            \
    "[app:enc]\nsrt_passphrase = " PASS "\n"                                   \
    "[app:lossy]\nsrt_latency = 300ms\n"                                       \
    "[app:pkg]\nhls = on\n"                                                    \
    "[rendition:r120]\nheight = 120\nvideo_bitrate = 150k\n"                   \
    "preset = ultrafast\n"

static struct {
    struct sl_srv  srv;
    int            srt_port;
    char           dir[PATH_MAX];        /* clips, keys, children's logs */
    char           rec[PATH_MAX + 32];   /* [app:live]'s recordings */
    char           clip[PATH_MAX + 32];  /* CLIP_S s, H.264 + AAC */
    char           aclip[PATH_MAX + 32]; /* CLIP_S s, AAC alone */
    char           hclip[PATH_MAX + 32]; /* CLIP_S s, HEVC + AAC */
    long           clip_v, clip_a;       /* their frames */
    long           aclip_a;
    struct sl_proc bg;   /* plain/bg, the whole suite */
    struct sl_proc hevc; /* pkg/hevc, the whole suite */
} S;

/* ---- helpers ---- */

static void
path(const char *file, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", S.dir, file);
}

/* ffmpeg's SRT URL publishing APP/NAME to port; extra ("&k=v...") may
 * be "".  ffmpeg hands streamid to libsrt as written. */
static void
srt_url(char *out, size_t cap, int port, const char *app, const char *name,
        const char *extra)
{
    snprintf(out, cap,
             "srt://127.0.0.1:%d?streamid=#!::r=%s/%s,m=publish"
             "&pkt_size=1316&linger=5%s",
             port, app, name, extra);
}

/* ffmpeg's SRT URL playing APP/NAME from port (m=request). */
static void
srt_play_url(char *out, size_t cap, int port, const char *app, const char *name)
{
    snprintf(out, cap, "srt://127.0.0.1:%d?streamid=#!::r=%s/%s,m=request",
             port, app, name);
}

/* The same with a latency of 1 s: the test's players count frames, and
 * a machine busy with other work must not make SRT drop late ones. */
static void
srt_play_url_slack(char *out, size_t cap, int port, const char *app,
                   const char *name)
{
    size_t n;

    srt_play_url(out, cap, port, app, name);
    n = strlen(out);
    snprintf(out + n, cap - n, "&latency=1000000");
}

/* ffmpeg playing app/name over SRT: it decodes the video to nothing,
 * with -progress into DIR/TAG.progress, for seconds of media (0: until
 * it is stopped or the server closes); with keep, it also writes the
 * stream as it came into DIR/TAG.ts.  Its output in DIR/TAG.log. */
static int
srt_player(struct sl_proc *p, const char *app, const char *name, int seconds,
           const char *tag, int keep)
{
    char        url[512], prog[PATH_MAX + 64], ts[PATH_MAX + 64];
    char        log[PATH_MAX + 64], t[16], f[48];
    const char *args[32];
    int         n = 0;

    srt_play_url_slack(url, sizeof(url), S.srt_port, app, name);
    snprintf(f, sizeof(f), "%s.progress", tag);
    path(f, prog, sizeof(prog));
    snprintf(f, sizeof(f), "%s.ts", tag);
    path(f, ts, sizeof(ts));
    snprintf(f, sizeof(f), "%s.log", tag);
    path(f, log, sizeof(log));
    snprintf(t, sizeof(t), "%d", seconds);
    /* ffmpeg reads a live MPEG-TS for all of -analyzeduration (5 s)
     * before it starts; a second shows it what there is. */
    args[n++] = "-analyzeduration";
    args[n++] = "1000000";
    args[n++] = "-i";
    args[n++] = url;
    args[n++] = "-progress";
    args[n++] = prog;
    args[n++] = "-map";
    args[n++] = "0:v:0";
    if (seconds > 0) {
        args[n++] = "-t";
        args[n++] = t;
    }
    args[n++] = "-f";
    args[n++] = "null";
    args[n++] = "-";
    if (keep) {
        args[n++] = "-map";
        args[n++] = "0";
        args[n++] = "-c";
        args[n++] = "copy";
        if (seconds > 0) {
            args[n++] = "-t";
            args[n++] = t;
        }
        args[n++] = "-f";
        args[n++] = "mpegts";
        args[n++] = ts;
    }
    args[n] = NULL;
    return sl_ffmpeg_spawn(p, args, log);
}

/* The frames an ffmpeg -progress file says were done last, or -1. */
static long
progress_frames(const char *file)
{
    char *text = sl_read_file(file);
    long  frames = -1;

    for (char *s = text; s != NULL && (s = strstr(s, "frame=")) != NULL; s += 6)
        if (s == text || s[-1] == '\n')
            frames = atol(s + 6);
    free(text);
    return frames;
}

/* `ffmpeg -re -i file -c copy -f mpegts url`: a file published in real
 * time, as is (loop: over and over). */
static int
publish_file(struct sl_proc *p, const char *file, const char *url, int loop,
             const char *log)
{
    const char *args[] = {
        "-re",  "-stream_loop", loop ? "-1" : "0", "-i", file, "-c",
        "copy", "-f",           "mpegts",          url,  NULL};

    return sl_ffmpeg_spawn(p, args, log);
}

/* Whether srv's API lists app/name (200 for its stream), -1 when the
 * API does not answer. */
static int
is_live_on(const struct sl_srv *srv, const char *app, const char *name)
{
    struct sl_http_resp r;
    char                p[256];
    int                 st;

    snprintf(p, sizeof(p), "/api/v1/streams/%s/%s", app, name);
    st = sl_http_get(srv->http_port, p, &r);
    sl_http_resp_free(&r);
    return st == 200 ? 1 : st == 404 ? 0 : -1;
}

static int
is_live(const char *app, const char *name)
{
    return is_live_on(&S.srv, app, name);
}

/* Waits up to timeout_s until app/name is live (want 1) or gone (0) on
 * srv. */
static int
wait_live_on(const struct sl_srv *srv, const char *app, const char *name,
             int want, double timeout_s)
{
    for (double end = sl_now() + timeout_s;; sl_sleep(0.1)) {
        if (is_live_on(srv, app, name) == want)
            return 1;
        if (sl_now() >= end) {
            fprintf(stderr, "  %s/%s: not %s within %.0f s\n", app, name,
                    want ? "live" : "gone", timeout_s);
            return 0;
        }
    }
}

static int
wait_live(const char *app, const char *name, int want, double timeout_s)
{
    return wait_live_on(&S.srv, app, name, want, timeout_s);
}

/* The stream's JSON from the API (caller json_decref()s), or NULL. */
static json_t *
stream_json(const char *app, const char *name)
{
    char p[256];

    snprintf(p, sizeof(p), "/api/v1/streams/%s/%s", app, name);
    return sl_itest_get_json(S.srv.http_port, p, 200, NULL);
}

/* An RTMP player of ours on app/name of srv, subscribed (Play.Start
 * seen), or NULL. */
static struct sl_rc *
player_on(const struct sl_srv *srv, const char *app, const char *name)
{
    struct sl_rc *c = sl_rc_player(srv->port, app, name, -2, 0, IT_S(5));

    if (c != NULL &&
        sl_rc_wait_status(c, "NetStream.Play.Start", IT_S(5)) != 0) {
        fprintf(stderr, "  %s/%s: no NetStream.Play.Start\n", app, name);
        sl_rc_close(c);
        c = NULL;
    }
    return c;
}

static struct sl_rc *
player(const char *app, const char *name)
{
    return player_on(&S.srv, app, name);
}

/* AVC frames (not sequence headers) a player got. */
static long
frames(const struct sl_rc *c)
{
    const struct sl_rc_stats *st = sl_rc_stats(c);

    return (long) (st->video - st->avc_headers);
}

/* AAC frames a player got: its audio messages but the first, the AAC
 * sequence header (one per player: the tests' streams never change
 * their audio configuration). */
static long
audio_frames(const struct sl_rc *c)
{
    unsigned long n = sl_rc_stats(c)->audio;

    return n > 0 ? (long) n - 1 : 0;
}

/* Reads on c until its last video timestamp has moved ms past where it
 * was (bounded).  1 when it did. */
static int
advances(struct sl_rc *c, uint32_t ms, double timeout_s)
{
    uint32_t from = sl_rc_stats(c)->last_video_ts;
    double   end = sl_now() + timeout_s;

    while (sl_now() < end) {
        if (sl_rc_pump(c, 0.2, 0) < 0)
            break;
        if (sl_rc_stats(c)->last_video_ts - from >= ms)
            return 1;
    }
    fprintf(stderr, "  the player's video went from %u to %u ms\n", from,
            sl_rc_stats(c)->last_video_ts);
    return 0;
}

/* ---- our own SRT caller (libsrt) ---- */

struct caller {
    SRTSOCKET s;
    int       lport;  /* its local port: the server's log names it */
    int       reason; /* srt_getrejectreason() after a refusal */
};

/* Connects from the address from (NULL: 127.0.0.1) to 127.0.0.1:port
 * with streamid (and passphrase when not NULL), bounded by SRT's
 * connect timeout.  rcvbuf > 0 makes the receive buffer that small (and
 * the flow window with it).  0 when connected (the caller closes with
 * caller_close), -1 when refused (reason set). */
static int
caller_open_at(struct caller *c, const char *from, int port,
               const char *streamid, const char *passphrase, int rcvbuf)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    int                len = sizeof(a), tt = SRTT_LIVE;
    int                timeo = (int) (IT_S(5) * 1000);
    /* A close waits (bounded) until what was sent is acknowledged. */
    struct linger lg = {1, 5};

    memset(c, 0, sizeof(*c));
    c->s = srt_create_socket();
    if (c->s == SRT_INVALID_SOCK)
        return -1;
    if (from == NULL || inet_pton(AF_INET, from, &a.sin_addr) != 1)
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (rcvbuf > 0) {
        /* The flow window is the buffer's bound in packets: libsrt
         * wants it no smaller than the buffer, so it goes first. */
        int fc = rcvbuf / 1316 > 32 ? rcvbuf / 1316 : 32;

        srt_setsockflag(c->s, SRTO_FC, &fc, sizeof(fc));
        srt_setsockflag(c->s, SRTO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    srt_setsockflag(c->s, SRTO_TRANSTYPE, &tt, sizeof(tt));
    srt_setsockflag(c->s, SRTO_CONNTIMEO, &timeo, sizeof(timeo));
    srt_setsockflag(c->s, SRTO_LINGER, &lg, sizeof(lg));
    srt_setsockflag(c->s, SRTO_STREAMID, streamid, (int) strlen(streamid));
    if (passphrase != NULL)
        srt_setsockflag(c->s, SRTO_PASSPHRASE, passphrase,
                        (int) strlen(passphrase));
    /* Bound first, so the local port is known even after a refusal. */
    if (srt_bind(c->s, (struct sockaddr *) &a, sizeof(a)) < 0 ||
        srt_getsockname(c->s, (struct sockaddr *) &a, &len) < 0) {
        srt_close(c->s);
        return -1;
    }
    c->lport = ntohs(a.sin_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t) port);
    if (srt_connect(c->s, (struct sockaddr *) &a, sizeof(a)) < 0) {
        c->reason = srt_getrejectreason(c->s);
        srt_close(c->s);
        c->s = SRT_INVALID_SOCK;
        return -1;
    }
    return 0;
}

static int
caller_open(struct caller *c, const char *streamid, const char *passphrase)
{
    return caller_open_at(c, NULL, S.srt_port, streamid, passphrase, 0);
}

static void
caller_close(struct caller *c)
{
    if (c->s != SRT_INVALID_SOCK)
        srt_close(c->s);
    c->s = SRT_INVALID_SOCK;
}

/* Sends p[0..len) in 1316-byte messages, paced to last about seconds.
 * 0, or -1 when a send failed. */
static int
caller_send(struct caller *c, const uint8_t *p, size_t len, double seconds)
{
    size_t n = (len + 1315) / 1316, sent = 0;
    double start = sl_now();

    for (size_t i = 0; i < n; i++) {
        size_t k = len - sent < 1316 ? len - sent : 1316;

        if (srt_sendmsg(c->s, (const char *) p + sent, (int) k, -1, 1) < 0) {
            fprintf(stderr, "  srt_sendmsg: %s\n", srt_getlasterror_str());
            return -1;
        }
        sent += k;
        /* Ahead of the pace: wait for it. */
        while (sl_now() - start < seconds * (double) (i + 1) / (double) n)
            sl_sleep(0.005);
    }
    return 0;
}

/* A refusal with the code want and the server's WARN line naming why,
 * found by the caller's port.  1 when all of that holds. */
static int
refused(const char *streamid, int want, const char *why)
{
    struct caller c;
    int           ok;

    if (caller_open(&c, streamid, NULL) == 0) {
        fprintf(stderr, "  %s: let in, expected %d\n", streamid, want);
        caller_close(&c);
        return 0;
    }
    ok = c.reason == want;
    if (!ok)
        fprintf(stderr, "  %s: reject reason %d, expected %d\n", streamid,
                c.reason, want);
    if (sl_srv_wait_conn_log(&S.srv, c.lport, " WARN ", why, IT_S(5)) != 0) {
        fprintf(stderr, "  %s: no WARN line with \"%s\"\n", streamid, why);
        ok = 0;
    }
    return ok;
}

/* A caller of ours that plays: a thread reads what it gets until the
 * server closes the connection or the test stops it. */
struct reader {
    struct caller k;
    pthread_t     thread;
    int           started;
    atomic_int    stop, closed;
    atomic_long   bytes;
};

static void *
reader_main(void *arg)
{
    struct reader *r = arg;
    char           buf[1500];

    while (!atomic_load(&r->stop)) {
        int n = srt_recvmsg(r->k.s, buf, sizeof(buf));
        int err;

        if (n > 0) {
            atomic_fetch_add(&r->bytes, n);
            continue;
        }
        err = srt_getlasterror(NULL);
        if (n == 0 || err == SRT_EASYNCRCV || err == SRT_ETIMEOUT)
            continue; /* SRTO_RCVTIMEO passed: look at stop */
        atomic_store(&r->closed, 1);
        break;
    }
    return NULL;
}

/* Connects with streamid and starts reading.  0, or -1 (refused, or no
 * thread). */
static int
reader_start(struct reader *r, const char *streamid)
{
    int timeo = 200;

    memset(r, 0, sizeof(*r));
    if (caller_open(&r->k, streamid, NULL) < 0)
        return -1;
    srt_setsockflag(r->k.s, SRTO_RCVTIMEO, &timeo, sizeof(timeo));
    r->started = pthread_create(&r->thread, NULL, reader_main, r) == 0;
    if (!r->started) {
        caller_close(&r->k);
        return -1;
    }
    return 0;
}

/* Waits up to timeout_s until the server closed r's connection.  1 when
 * it did. */
static int
reader_wait_closed(struct reader *r, double timeout_s)
{
    for (double end = sl_now() + timeout_s; sl_now() < end; sl_sleep(0.05))
        if (atomic_load(&r->closed))
            return 1;
    return atomic_load(&r->closed);
}

static void
reader_stop(struct reader *r)
{
    atomic_store(&r->stop, 1);
    if (r->started)
        pthread_join(r->thread, NULL);
    r->started = 0;
    caller_close(&r->k);
}

/* ---- a lossy UDP relay ---- */

#define RELAY_Q 4096
#define RELAY_DROP_PCT 5
#define RELAY_DELAY_S 0.040
/* Drops only in the first this many seconds after the caller's first
 * datagram.  SRT recovers a loss once a later packet shows the gap;
 * the clip's last packets have none after them when the publisher
 * closes (a tail a live stream never has), so the clip's last second
 * goes through whole. */
#define RELAY_LOSSY_S (CLIP_S - 1)

struct held {
    double   due;
    int      to_server;
    uint16_t len;
    uint8_t  data[1500];
};

/* Forwards datagrams between one caller and the server's SRT port,
 * dropping RELAY_DROP_PCT % each way (a seeded generator) and holding
 * each RELAY_DELAY_S: a queue in order of release (the delay is the
 * same for all, so arrival order is release order), and a poll that
 * wakes for the head's time. */
struct relay {
    pthread_t          thread;
    int                started;
    int                front, back; /* the caller's side, the server's */
    int                port;        /* where callers send */
    atomic_int         stop;
    uint32_t           rng;
    struct sockaddr_in caller;
    int                have_caller;
    double             lossy_until; /* see RELAY_LOSSY_S */
    struct held       *q;
    size_t             head, n;
    long               passed[2], dropped[2]; /* [to_server] */
};

static int
lose(struct relay *r)
{
    /* xorshift32 */
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 17;
    r->rng ^= r->rng << 5;
    return r->rng % 100 < RELAY_DROP_PCT;
}

static void
take(struct relay *r, int fd, int to_server)
{
    for (;;) {
        struct sockaddr_in from;
        socklen_t          flen = sizeof(from);
        uint8_t            buf[1500];
        ssize_t            n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
                                        (struct sockaddr *) &from, &flen);
        struct held       *h;

        if (n <= 0)
            return;
        if (to_server && !r->have_caller) {
            r->caller = from;
            r->have_caller = 1;
            r->lossy_until = sl_now() + RELAY_LOSSY_S;
        }
        if ((lose(r) && sl_now() < r->lossy_until) || r->n == RELAY_Q) {
            r->dropped[to_server]++;
            continue;
        }
        h = &r->q[(r->head + r->n++) % RELAY_Q];
        h->due = sl_now() + RELAY_DELAY_S;
        h->to_server = to_server;
        h->len = (uint16_t) n;
        memcpy(h->data, buf, (size_t) n);
    }
}

static void *
relay_main(void *arg)
{
    struct relay *r = arg;

    while (!atomic_load(&r->stop)) {
        struct pollfd pf[2] = {{r->front, POLLIN, 0}, {r->back, POLLIN, 0}};
        int           wait_ms = 50;
        double        now = sl_now();

        if (r->n > 0) {
            double d = (r->q[r->head].due - now) * 1000.0;

            wait_ms = d <= 0 ? 0 : d < 50 ? (int) d + 1 : 50;
        }
        if (poll(pf, 2, wait_ms) > 0) {
            if (pf[0].revents & POLLIN)
                take(r, r->front, 1);
            if (pf[1].revents & POLLIN)
                take(r, r->back, 0);
        }
        now = sl_now();
        while (r->n > 0 && r->q[r->head].due <= now) {
            struct held *h = &r->q[r->head];

            if (h->to_server)
                send(r->back, h->data, h->len, MSG_DONTWAIT);
            else if (r->have_caller)
                sendto(r->front, h->data, h->len, MSG_DONTWAIT,
                       (struct sockaddr *) &r->caller, sizeof(r->caller));
            r->passed[h->to_server]++;
            r->head = (r->head + 1) % RELAY_Q;
            r->n--;
        }
    }
    return NULL;
}

static int
relay_start(struct relay *r, int target, uint32_t seed)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t          len = sizeof(a);

    memset(r, 0, sizeof(*r));
    r->rng = seed;
    r->front = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    r->back = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    r->q = calloc(RELAY_Q, sizeof(*r->q));
    if (r->front < 0 || r->back < 0 || r->q == NULL)
        return -1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(r->front, (struct sockaddr *) &a, sizeof(a)) < 0 ||
        getsockname(r->front, (struct sockaddr *) &a, &len) < 0)
        return -1;
    r->port = ntohs(a.sin_port);
    a.sin_port = htons((uint16_t) target);
    if (connect(r->back, (struct sockaddr *) &a, sizeof(a)) < 0)
        return -1;
    r->started = pthread_create(&r->thread, NULL, relay_main, r) == 0;
    return r->started ? 0 : -1;
}

static void
relay_stop(struct relay *r)
{
    atomic_store(&r->stop, 1);
    if (r->started)
        pthread_join(r->thread, NULL);
    r->started = 0;
    if (r->front >= 0)
        close(r->front);
    if (r->back >= 0)
        close(r->back);
    free(r->q);
    r->q = NULL;
}

/* ---- the shared server ---- */

enum clip_kind { CLIP_AAC, CLIP_H264, CLIP_HEVC };

/* Starts ffmpeg making a clip of CLIP_S s into out (MPEG-TS): 320x240
 * at FPS, a keyframe a second, with AAC; or AAC alone.  HEVC is
 * libx265's (ultrafast, yuv420p).  0, or -1. */
static int
clip_start(struct sl_proc *p, enum clip_kind kind, const char *out,
           const char *log)
{
    char        vsrc[96], asrc[96];
    const char *h264[] = {
        "-y",       "-f",    "lavfi",       "-i",   vsrc,      "-f",
        "lavfi",    "-i",    asrc,          "-c:v", "libx264", "-preset",
        "veryfast", "-tune", "zerolatency", "-g",   "25",      "-pix_fmt",
        "yuv420p",  "-c:a",  "aac",         "-b:a", "64k",     "-f",
        "mpegts",   out,     NULL};
    const char *hevc[] = {"-y",
                          "-f",
                          "lavfi",
                          "-i",
                          vsrc,
                          "-f",
                          "lavfi",
                          "-i",
                          asrc,
                          "-c:v",
                          "libx265",
                          "-preset",
                          "ultrafast",
                          "-pix_fmt",
                          "yuv420p",
                          "-g",
                          "25",
                          "-x265-params",
                          "keyint=25:min-keyint=25:scenecut=0:log-level=error",
                          "-c:a",
                          "aac",
                          "-b:a",
                          "64k",
                          "-f",
                          "mpegts",
                          out,
                          NULL};
    const char *aac[] = {"-y",   "-f",  "lavfi", "-i",     asrc, "-c:a", "aac",
                         "-b:a", "64k", "-f",    "mpegts", out,  NULL};

    snprintf(vsrc, sizeof(vsrc), "testsrc=size=320x240:rate=%d:duration=%d",
             FPS, CLIP_S);
    snprintf(asrc, sizeof(asrc),
             "sine=frequency=440:sample_rate=44100:duration=%d", CLIP_S);
    return sl_ffmpeg_spawn(p,
                           kind == CLIP_H264   ? h264
                           : kind == CLIP_HEVC ? hevc
                                               : aac,
                           log) < 0
               ? -1
               : 0;
}

/* Waits for a clip_start; 0 when it made its clip. */
static int
clip_done(struct sl_proc *p, const char *log)
{
    if (sl_proc_wait(p, IT_S(30)) < 0 || !sl_proc_exited_with(p, 0)) {
        sl_proc_kill(p);
        sl_show_tail("ffmpeg", log);
        return -1;
    }
    return 0;
}

static int
suite_init(void)
{
    char            keys[PATH_MAX + 16], log[PATH_MAX + 32], url[512];
    char            alog[PATH_MAX + 32], hlog[PATH_MAX + 32];
    char            server_keys[256], sections[2 * PATH_MAX + 1024];
    struct sl_probe pr;
    struct sl_proc  mk[3];
    int             ok;

    memset(&S, 0, sizeof(S));
    if (srt_startup() < 0 || sl_tmpdir(S.dir) < 0)
        return -1;
    /* libsrt's warnings (a full receive buffer: the stalled caller's, on
     * purpose) stay out of the test's output; its errors do not. */
    srt_setloglevel(LOG_ERR);
    S.srt_port = sl_free_udp_port();
    if (S.srt_port < 0)
        return -1;
    path("keys", keys, sizeof(keys));
    path("rec", S.rec, sizeof(S.rec));
    if (sl_write_file(keys, KEY " cam1\n") < 0 || mkdir(S.rec, 0755) < 0)
        return -1;
    snprintf(server_keys, sizeof(server_keys),
             "srt_listen = 127.0.0.1:%d\npublish_grace = 1s\n"
             /* A stalled SRT player is closed after 4 s. */
             "max_lag = 2s\n"
             /* Many short connections from one address. */
             "connection_rate_per_ip = 0\nmax_pending_per_ip = 0\n",
             S.srt_port);
    snprintf(sections, sizeof(sections),
             "record = %s\n%s[app:keys]\npublish_keys = %s\n", S.rec, SECTIONS,
             keys);
    if (sl_srv_start(&S.srv, server_keys, sections) < 0)
        return -1;

    /* The three clips at once. */
    path("clip.ts", S.clip, sizeof(S.clip));
    path("audio.ts", S.aclip, sizeof(S.aclip));
    path("hevc.ts", S.hclip, sizeof(S.hclip));
    path("clip.log", log, sizeof(log));
    path("audio.log", alog, sizeof(alog));
    path("hevc.log", hlog, sizeof(hlog));
    ok = clip_start(&mk[0], CLIP_H264, S.clip, log) == 0;
    ok = clip_start(&mk[1], CLIP_AAC, S.aclip, alog) == 0 && ok;
    ok = clip_start(&mk[2], CLIP_HEVC, S.hclip, hlog) == 0 && ok;
    ok = clip_done(&mk[0], log) == 0 && ok;
    ok = clip_done(&mk[1], alog) == 0 && ok;
    ok = clip_done(&mk[2], hlog) == 0 && ok;
    if (!ok)
        return -1;
    if (sl_probe_file(S.clip, &pr) < 0 || pr.video_packets < FPS * CLIP_S)
        return -1;
    S.clip_v = pr.video_packets;
    S.clip_a = pr.audio_packets;
    if (sl_probe_file(S.aclip, &pr) < 0 || pr.audio_packets == 0)
        return -1;
    S.aclip_a = pr.audio_packets;

    srt_url(url, sizeof(url), S.srt_port, "plain", "bg", "");
    path("bg.log", log, sizeof(log));
    if (publish_file(&S.bg, S.clip, url, 1, log) < 0 ||
        !wait_live("plain", "bg", 1, IT_S(10))) {
        sl_show_tail("bg publisher", log);
        sl_show_tail("server", S.srv.log);
        return -1;
    }
    /* pkg/hevc too (test l looks at it). */
    srt_url(url, sizeof(url), S.srt_port, "pkg", "hevc", "");
    path("hevc-pub.log", log, sizeof(log));
    if (publish_file(&S.hevc, S.hclip, url, 1, log) < 0) {
        sl_show_tail("hevc publisher", log);
        return -1;
    }
    return 0;
}

static void
test_teardown(void)
{
    pid_t keep[3] = {S.srv.proc.pid, S.bg.pid, S.hevc.pid};

    sl_proc_kill_all_except(keep, 3);
}

/* ---- a. publish and play ---- */

/* Waits until the web port answers the master playlist of app/name,
 * listing the rung's variant.  1 when it did. */
static int
hls_master(const char *app, const char *name, const char *rung,
           double timeout_s)
{
    char p[256];

    snprintf(p, sizeof(p), "/%s/%s.m3u8", app, name);
    for (double end = sl_now() + timeout_s;; sl_sleep(0.2)) {
        struct sl_http_resp r;
        int                 st = sl_http_get(S.srv.web_port, p, &r);
        int ok = st == 200 && r.body != NULL && strstr(r.body, rung) != NULL;

        sl_http_resp_free(&r);
        if (ok)
            return 1;
        if (sl_now() >= end) {
            fprintf(stderr, "  %s: no master playlist with %s (status %d)\n", p,
                    rung, st);
            return 0;
        }
    }
}

/* The path of the recording in S.rec whose name starts with prefix. */
static int
recording(const char *prefix, char *out, size_t cap)
{
    DIR           *d = opendir(S.rec);
    struct dirent *e;
    int            rc = -ENOENT;

    while (d != NULL && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            snprintf(out, cap, "%s/%s", S.rec, e->d_name);
            rc = 0;
            break;
        }
    if (d != NULL)
        closedir(d);
    if (rc != 0)
        fprintf(stderr, "  no recording %s* in %s\n", prefix, S.rec);
    return rc;
}

static void
test_publish_play(void)
{
    char        url[512], vsrc[96], asrc[96], plog[PATH_MAX + 32];
    char        rlog[PATH_MAX + 32], publog[PATH_MAX + 32];
    char        flv[PATH_MAX + 32], rflv[PATH_MAX + 32], rtmp[256];
    char        recf[2 * PATH_MAX + 64];
    const char *args[] = {
        "-re",      "-f",        "lavfi", "-i",          vsrc,   "-re",
        "-f",       "lavfi",     "-i",    asrc,          "-c:v", "libx264",
        "-preset",  "ultrafast", "-tune", "zerolatency", "-g",   "25",
        "-pix_fmt", "yuv420p",   "-c:a",  "aac",         "-b:a", "64k",
        "-f",       "mpegts",    url,     NULL};
    struct sl_proc  pub, play, rplay;
    struct sl_probe pr, rpr;
    long            want_v = FPS * CLIP_S;
    /* AAC frames of CLIP_S s of 44.1 kHz. */
    long want_a = (long) CLIP_S * 44100 / 1024;

    snprintf(vsrc, sizeof(vsrc), "testsrc=size=320x240:rate=%d:duration=%d",
             FPS, CLIP_S);
    snprintf(asrc, sizeof(asrc),
             "sine=frequency=440:sample_rate=44100:duration=%d", CLIP_S);
    srt_url(url, sizeof(url), S.srt_port, "live", "cam", "");

    /* The players wait before anything is published. */
    path("a-play.flv", flv, sizeof(flv));
    path("a-play.log", plog, sizeof(plog));
    path("a-rung.flv", rflv, sizeof(rflv));
    path("a-rung.log", rlog, sizeof(rlog));
    path("a-pub.log", publog, sizeof(publog));
    sl_srv_url(&S.srv, "live", "cam", rtmp, sizeof(rtmp));
    CU_ASSERT_FATAL(sl_ffmpeg_play(&play, rtmp, flv, plog) == 0);
    sl_srv_url(&S.srv, "live", "cam_r120", rtmp, sizeof(rtmp));
    CU_ASSERT_FATAL(sl_ffmpeg_play(&rplay, rtmp, rflv, rlog) == 0);
    IT_EXPECT_LOGS(sl_wait_file_count(S.srv.log, "] playing live/cam ", 1,
                                      IT_S(10)) == 0 &&
                       sl_wait_file_count(S.srv.log, "] playing live/cam_r120",
                                          1, IT_S(10)) == 0,
                   S.srv.log, NULL);

    CU_ASSERT_FATAL(sl_ffmpeg_spawn(&pub, args, publog) == 0);
    /* LL-HLS packages it too: the master playlist, source and rung. */
    CU_ASSERT(hls_master("live", "cam", "cam_r120", IT_S(15)));
    sl_itest_expect_exit0(&pub, "publisher", publog, IT_S(30));
    /* publish_grace (1 s) after the publisher, the players end. */
    sl_itest_expect_exit0(&play, "player", plog, IT_S(20));
    sl_itest_expect_exit0(&rplay, "rung player", rlog, IT_S(20));

    CU_ASSERT_FATAL(sl_probe_file(flv, &pr) == 0);
    sl_probe_print("srt -> rtmp", &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");
    CU_ASSERT(pr.width == 320 && pr.height == 240);
    CU_ASSERT(pr.video_packets * 100 >= want_v * 98);
    CU_ASSERT(pr.audio_packets * 100 >= want_a * 98);
    CU_ASSERT(pr.first_video_key);
    CU_ASSERT(pr.video_dts_monotonic && pr.audio_dts_monotonic);

    CU_ASSERT_FATAL(sl_probe_file(rflv, &rpr) == 0);
    sl_probe_print("rung r120", &rpr);
    CU_ASSERT_STRING_EQUAL(rpr.vcodec, "h264");
    CU_ASSERT(rpr.width == 160 && rpr.height == 120);
    CU_ASSERT(rpr.video_packets > 0);
    CU_ASSERT(rpr.first_video_key);

    /* And the recording has it all. */
    CU_ASSERT(sl_wait_file_count(S.srv.log, "recording live/cam: closed", 1,
                                 IT_S(10)) == 0);
    CU_ASSERT_FATAL(recording("live-cam-", recf, sizeof(recf)) == 0);
    CU_ASSERT_FATAL(sl_probe_file(recf, &pr) == 0);
    sl_probe_print("recording", &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");
    CU_ASSERT(pr.width == 320 && pr.height == 240);
    CU_ASSERT(pr.video_packets * 100 >= want_v * 98);
    CU_ASSERT(pr.audio_packets * 100 >= want_a * 98);
}

/* ---- b. the API and the metrics ---- */

static void
test_api(void)
{
    json_t             *j, *proto;
    struct sl_rc       *c = player("plain", "bg");
    uint64_t            b1 = 0, b2 = 0;
    struct sl_http_resp r;
    struct sl_prom     *pm = NULL;
    char                err[256];
    double              v;

    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(advances(c, 200, IT_S(10)));
    j = stream_json("plain", "bg");
    CU_ASSERT_FATAL(j != NULL);
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(j, "publisher.client"), "srt");
    /* Newer servers name the protocol (and give an srt object). */
    proto = sl_itest_jpath(j, "publisher.protocol");
    if (proto != NULL)
        CU_ASSERT_STRING_EQUAL(json_string_value(proto), "srt");
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(j, "video.codec"), "h264");
    CU_ASSERT(json_integer_value(sl_itest_jpath(j, "video.width")) == 320);
    CU_ASSERT(json_integer_value(sl_itest_jpath(j, "video.height")) == 240);
    CU_ASSERT_STRING_EQUAL(sl_itest_jstr(j, "audio.codec"), "aac");
    /* This test's player. */
    CU_ASSERT(
        json_integer_value(sl_itest_jpath(j, "players_by_protocol.rtmp")) == 1);
    b1 = (uint64_t) json_integer_value(sl_itest_jpath(j, "bytes_in"));
    json_decref(j);
    CU_ASSERT(advances(c, 500, IT_S(10)));
    j = stream_json("plain", "bg");
    CU_ASSERT_FATAL(j != NULL);
    b2 = (uint64_t) json_integer_value(sl_itest_jpath(j, "bytes_in"));
    json_decref(j);
    CU_ASSERT(b2 > b1);
    if (b2 <= b1)
        fprintf(stderr, "  bytes_in %llu then %llu\n", (unsigned long long) b1,
                (unsigned long long) b2);

    j = sl_itest_get_json(S.srv.http_port, "/api/v1/server", 200, NULL);
    CU_ASSERT_FATAL(j != NULL);
    CU_ASSERT(json_integer_value(sl_itest_jpath(j, "connections.publishers")) >=
              1);
    json_decref(j);

    CU_ASSERT(sl_http_get(S.srv.http_port, "/metrics", &r) == 200);
    if (r.body != NULL)
        pm = sl_prom_parse(r.body, err, sizeof(err));
    CU_ASSERT_FATAL(pm != NULL);
    CU_ASSERT(sl_prom_value(pm, "sluice_connections", "role=\"publisher\"",
                            &v) == 0 &&
              v >= 1);
    CU_ASSERT(sl_prom_value(pm, "sluice_stream_bytes_received_total",
                            "app=\"plain\",name=\"bg\"", &v) == 0 &&
              v > 0);
    CU_ASSERT(sl_prom_value(pm, "sluice_stream_players_by_protocol",
                            "app=\"plain\",name=\"bg\",protocol=\"rtmp\"",
                            &v) == 0 &&
              v == 1);
    sl_prom_free(pm);
    sl_http_resp_free(&r);
    sl_rc_close(c);
}

/* ---- c. a lossy link ---- */

static void
test_lossy(void)
{
    struct relay         rl;
    struct sl_rc        *c;
    struct sl_itest_pump pump;
    struct sl_proc       pub;
    char                 url[512], log[PATH_MAX + 32];
    long                 got;

    CU_ASSERT_FATAL(relay_start(&rl, S.srt_port, 0x5eed1234u) == 0);
    /* The player waits first: it gets the stream from its start. */
    c = player("lossy", "cam");
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_FATAL(sl_itest_pump_start(&pump, c, IT_S(40), 1) == 0);
    srt_url(url, sizeof(url), rl.port, "lossy", "cam", "&latency=300000");
    path("c-pub.log", log, sizeof(log));
    CU_ASSERT_FATAL(publish_file(&pub, S.clip, url, 0, log) == 0);
    sl_itest_expect_exit0(&pub, "publisher", log, IT_S(30));
    /* Ends at UnpublishNotify, publish_grace after the stream ended. */
    sl_itest_pump_join(&pump);
    relay_stop(&rl);

    got = frames(c);
    fprintf(stderr,
            "  lossy: %ld of %ld frames, %ld of %ld audio; relay dropped "
            "%ld of %ld to the server, %ld of %ld back\n",
            got, S.clip_v, audio_frames(c), S.clip_a, rl.dropped[1],
            rl.dropped[1] + rl.passed[1], rl.dropped[0],
            rl.dropped[0] + rl.passed[0]);
    /* The relay did drop media (else this proves nothing); the fewer
     * datagrams back (ACKs, NAKs) may pass whole. */
    CU_ASSERT(rl.dropped[1] > 0);
    CU_ASSERT(got * 100 >= S.clip_v * 99);
    CU_ASSERT(audio_frames(c) * 100 >= S.clip_a * 99);
    CU_ASSERT(sl_rc_stats(c)->video_ts_monotonic);
    CU_ASSERT(sl_rc_stats(c)->first_frame_key == 1);
    sl_rc_close(c);
}

/* ---- d. encryption ---- */

static void
test_encryption(void)
{
    struct sl_rc        *c;
    struct sl_itest_pump pump;
    struct sl_proc       pub, bad;
    char                 url[512], log[PATH_MAX + 32], blog[PATH_MAX + 32];
    char                *text;
    struct caller        k;
    int                  rc;

    /* The right passphrase: published, played over RTMP. */
    c = player("enc", "cam");
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_FATAL(sl_itest_pump_start(&pump, c, IT_S(30), 1) == 0);
    srt_url(url, sizeof(url), S.srt_port, "enc", "cam", "&passphrase=" PASS);
    path("d-pub.log", log, sizeof(log));
    CU_ASSERT_FATAL(publish_file(&pub, S.clip, url, 0, log) == 0);

    /* Meanwhile a wrong one: ffmpeg fails at once, libsrt says why. */
    srt_url(url, sizeof(url), S.srt_port, "enc", "bad",
            "&passphrase=not-the-passphrase");
    path("d-bad.log", blog, sizeof(blog));
    CU_ASSERT_FATAL(publish_file(&bad, S.clip, url, 0, blog) == 0);
    CU_ASSERT(sl_proc_wait(&bad, IT_S(10)) == 0);
    CU_ASSERT(bad.pid == 0 && !sl_proc_exited_with(&bad, 0));
    text = sl_read_file(blog);
    CU_ASSERT(text != NULL && strstr(text, "REJECT") != NULL &&
              strstr(text, "passphrase") != NULL);
    if (text == NULL || strstr(text, "passphrase") == NULL)
        sl_show_tail("ffmpeg with a wrong passphrase", blog);
    free(text);
    sl_proc_kill(&bad);

    /* Wrong and missing, by our caller: libsrt's reasons say which. */
    rc = caller_open(&k, "#!::r=enc/bad,m=publish", "not-the-passphrase");
    CU_ASSERT(rc < 0 && k.reason == SRT_REJ_BADSECRET);
    if (rc == 0)
        caller_close(&k);
    rc = caller_open(&k, "#!::r=enc/bad,m=publish", NULL);
    CU_ASSERT(rc < 0 && k.reason == SRT_REJ_UNSECURE);
    if (rc == 0)
        caller_close(&k);
    else if (k.reason != SRT_REJ_UNSECURE)
        fprintf(stderr, "  no passphrase: reject reason %d\n", k.reason);

    sl_itest_expect_exit0(&pub, "publisher", log, IT_S(30));
    sl_itest_pump_join(&pump);
    CU_ASSERT(frames(c) * 100 >= S.clip_v * 98);
    CU_ASSERT(audio_frames(c) * 100 >= S.clip_a * 98);
    sl_rc_close(c);
    /* The refused name never went live. */
    CU_ASSERT(is_live("enc", "bad") == 0);
    CU_ASSERT(sl_file_count(S.srv.log, "publishing enc/bad") == 0);
}

/* ---- e. refusals ---- */

static void
test_refusals(void)
{
    json_t        *j;
    json_int_t     bg_id;
    struct caller  k;
    struct sl_proc p;
    struct sl_rc  *c;
    char           url[512], log[PATH_MAX + 32], *text;

    j = stream_json("plain", "bg");
    CU_ASSERT_FATAL(j != NULL);
    bg_id = json_integer_value(sl_itest_jpath(j, "publisher.id"));
    json_decref(j);

    CU_ASSERT(refused("#!::r=nope/cam,m=publish", SRT_REJX_NOTFOUND,
                      "nope/cam refused: unknown app"));
    CU_ASSERT(refused("#!::zzz", SRT_REJX_BAD_REQUEST, "refused: "));
    CU_ASSERT(refused("#!::r=plain/x,m=bidirectional", SRT_REJX_BAD_MODE,
                      "refused: mode bidirectional is not supported"));
    CU_ASSERT(refused("#!::r=plain/bg,m=publish", SRT_REJX_CONFLICT,
                      "plain/bg refused: the stream is already being "
                      "published"));
    CU_ASSERT(refused("#!::r=keys/" WRONGKEY ",m=publish", SRT_REJX_FORBIDDEN,
                      "refused: unknown stream key"));
    /* The same forms the SRS and MediaMTX ids take. */
    CU_ASSERT(refused("publish:plain/bg", SRT_REJX_CONFLICT,
                      "already being published"));
    CU_ASSERT(
        refused("#!::h=nope/cam,m=publish", SRT_REJX_NOTFOUND, "unknown app"));

    /* The right key publishes under its public name. */
    CU_ASSERT(caller_open(&k, "#!::r=keys/" KEY ",m=publish", NULL) == 0);
    CU_ASSERT(wait_live("keys", "cam1", 1, IT_S(10)));
    caller_close(&k);
    CU_ASSERT(wait_live("keys", "cam1", 0, IT_S(10)));
    /* No key, right or wrong, in the log. */
    CU_ASSERT(sl_file_count(S.srv.log, KEY) == 0);
    CU_ASSERT(sl_file_count(S.srv.log, WRONGKEY) == 0);

    /* ffmpeg refused: it fails at once; libsrt's line says REJECT (the
     * code itself is not printed); the server says why. */
    srt_url(url, sizeof(url), S.srt_port, "nope2", "cam", "");
    path("e-ffmpeg.log", log, sizeof(log));
    CU_ASSERT_FATAL(publish_file(&p, S.clip, url, 0, log) == 0);
    CU_ASSERT(sl_proc_wait(&p, IT_S(10)) == 0);
    CU_ASSERT(p.pid == 0 && !sl_proc_exited_with(&p, 0));
    sl_proc_kill(&p);
    text = sl_read_file(log);
    CU_ASSERT(text != NULL && strstr(text, "REJECT") != NULL);
    free(text);
    CU_ASSERT(sl_wait_file_count(S.srv.log, "nope2/cam refused: unknown app", 1,
                                 IT_S(5)) == 0);

    /* The first publisher of plain/bg never noticed. */
    c = player("plain", "bg");
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(advances(c, 500, IT_S(10)));
    sl_rc_close(c);
    j = stream_json("plain", "bg");
    CU_ASSERT_FATAL(j != NULL);
    CU_ASSERT(json_integer_value(sl_itest_jpath(j, "publisher.id")) == bg_id);
    json_decref(j);
}

/* ---- f. bad input ---- */

/* A file's bytes (the caller frees), or NULL. */
static uint8_t *
file_bytes(const char *file, size_t *len)
{
    FILE    *f = fopen(file, "rb");
    uint8_t *p = NULL;
    long     n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t) n)) != NULL &&
        fread(p, 1, (size_t) n, f) == (size_t) n) {
        *len = (size_t) n;
    } else {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

/* A TS file's bytes with 1 % of its 188-byte packets damaged (a few
 * bytes flipped each; seeded), or NULL. */
static uint8_t *
corrupted(const char *file, size_t *len)
{
    uint8_t *p = file_bytes(file, len);
    uint32_t x = 20240601u;

    for (size_t k = 0; p != NULL && k < *len / 188; k++) {
        x = x * 1103515245u + 12345u;
        if ((x >> 16) % 100 != 0)
            continue;
        for (int i = 0; i < 4; i++) {
            x = x * 1103515245u + 12345u;
            p[k * 188 + (x >> 16) % 188] ^= (uint8_t) (1 + (x >> 8) % 255);
        }
    }
    return p;
}

/* A few hundred datagrams of random bytes at the SRT port, from a
 * socket of their own: some bare noise, some shaped like SRT control
 * packets (a handshake to socket 0) with random contents. */
static void
garbage(int n)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    int                fd = socket(AF_INET, SOCK_DGRAM, 0);
    uint32_t           x = 99991u;

    CU_ASSERT_FATAL(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t) S.srt_port);
    for (int i = 0; i < n; i++) {
        uint8_t buf[1500];
        size_t  len;

        x = x * 1103515245u + 12345u;
        len = 1 + (x >> 8) % sizeof(buf);
        for (size_t k = 0; k < len; k++) {
            x = x * 1103515245u + 12345u;
            buf[k] = (uint8_t) (x >> 16);
        }
        if (i % 2 == 0 && len >= 16) {
            buf[0] = 0x80; /* control, type 0: handshake */
            buf[1] = 0;
            memset(buf + 12, 0, 4); /* to socket 0: the listener */
        }
        sendto(fd, buf, len, 0, (struct sockaddr *) &a, sizeof(a));
        if (i % 50 == 49)
            sl_sleep(0.02);
    }
    close(fd);
}

static void
test_bad_input(void)
{
    char        vsrc[96], asrc[96], u1[512], u2[512], u3[512];
    char        l1[PATH_MAX + 32], l2[PATH_MAX + 32], l3[PATH_MAX + 32];
    const char *h264_mp2[] = {"-re",  "-f",       "lavfi",   "-i",        vsrc,
                              "-re",  "-f",       "lavfi",   "-i",        asrc,
                              "-c:v", "libx264",  "-preset", "ultrafast", "-g",
                              "25",   "-pix_fmt", "yuv420p", "-c:a",      "mp2",
                              "-f",   "mpegts",   u2,        NULL};
    const char *mpeg2_aac[] = {"-re",    "-f",         "lavfi", "-i",  vsrc,
                               "-re",    "-f",         "lavfi", "-i",  asrc,
                               "-c:v",   "mpeg2video", "-c:a",  "aac", "-f",
                               "mpegts", u3,           NULL};
    struct sl_proc       aud, mp2, mpg2;
    struct sl_rc        *ca, *cb, *cc, *cd, *bg;
    struct sl_itest_pump pa, pb, pc, pd, pbg;
    struct caller        k;
    uint8_t             *bad;
    size_t               bad_len = 0;
    long                 span;

    snprintf(vsrc, sizeof(vsrc), "testsrc=size=320x240:rate=%d:duration=3",
             FPS);
    snprintf(asrc, sizeof(asrc),
             "sine=frequency=440:sample_rate=44100:"
             "duration=3");
    bad = corrupted(S.clip, &bad_len);
    CU_ASSERT_FATAL(bad != NULL);

    /* Players first, on every stream about to come. */
    ca = player("plain", "audio");
    cb = player("plain", "corrupt");
    cc = player("plain", "mp2");
    cd = player("plain", "mpeg2");
    bg = player("plain", "bg");
    CU_ASSERT_FATAL(ca != NULL && cb != NULL && cc != NULL && cd != NULL &&
                    bg != NULL);
    CU_ASSERT_FATAL(sl_itest_pump_start(&pa, ca, IT_S(30), 1) == 0);
    CU_ASSERT_FATAL(sl_itest_pump_start(&pb, cb, IT_S(30), 1) == 0);
    CU_ASSERT_FATAL(sl_itest_pump_start(&pc, cc, IT_S(30), 1) == 0);
    CU_ASSERT_FATAL(sl_itest_pump_start(&pd, cd, IT_S(30), 1) == 0);
    /* plain/bg's player reads through the garbage and the sending. */
    CU_ASSERT_FATAL(sl_itest_pump_start(&pbg, bg, IT_S(5), 0) == 0);

    srt_url(u1, sizeof(u1), S.srt_port, "plain", "audio", "");
    srt_url(u2, sizeof(u2), S.srt_port, "plain", "mp2", "");
    srt_url(u3, sizeof(u3), S.srt_port, "plain", "mpeg2", "");
    path("f-audio.log", l1, sizeof(l1));
    path("f-mp2.log", l2, sizeof(l2));
    path("f-mpeg2.log", l3, sizeof(l3));
    CU_ASSERT_FATAL(publish_file(&aud, S.aclip, u1, 0, l1) == 0);
    CU_ASSERT_FATAL(sl_ffmpeg_spawn(&mp2, h264_mp2, l2) == 0);
    CU_ASSERT_FATAL(sl_ffmpeg_spawn(&mpg2, mpeg2_aac, l3) == 0);

    /* The corrupted TS, sent as it is (ffmpeg would repair it) by our
     * caller, in real time; garbage at the port meanwhile. */
    CU_ASSERT_FATAL(caller_open(&k, "#!::r=plain/corrupt,m=publish", NULL) ==
                    0);
    CU_ASSERT(wait_live("plain", "corrupt", 1, IT_S(10)));
    garbage(200);
    CU_ASSERT(caller_send(&k, bad, bad_len, CLIP_S) == 0);
    garbage(200);
    sl_sleep(0.5); /* the last packets through SRT's latency */
    caller_close(&k);
    free(bad);

    sl_itest_expect_exit0(&aud, "audio publisher", l1, IT_S(30));
    sl_itest_expect_exit0(&mp2, "h264+mp2 publisher", l2, IT_S(30));
    sl_itest_expect_exit0(&mpg2, "mpeg2+aac publisher", l3, IT_S(30));
    sl_itest_pump_join(&pa);
    sl_itest_pump_join(&pb);
    sl_itest_pump_join(&pc);
    sl_itest_pump_join(&pd);
    sl_itest_pump_join(&pbg);

    /* Audio alone plays as audio. */
    fprintf(stderr, "  audio-only: %ld AAC frames of %ld, %lu video\n",
            audio_frames(ca), S.aclip_a, sl_rc_stats(ca)->video);
    CU_ASSERT(audio_frames(ca) * 100 >= S.aclip_a * 98);
    CU_ASSERT(sl_rc_stats(ca)->video == 0);
    CU_ASSERT(sl_rc_stats(ca)->audio_ts_monotonic);
    /* The damaged stream plays on. */
    fprintf(stderr, "  corrupted: %ld frames of %ld, %ld audio\n", frames(cb),
            S.clip_v, audio_frames(cb));
    CU_ASSERT(frames(cb) >= S.clip_v / 2);
    CU_ASSERT(sl_rc_stats(cb)->audio > 0);
    /* What is carried plays, what is not is left out with one line. */
    CU_ASSERT(frames(cc) * 100 >= 3 * FPS * 98);
    CU_ASSERT(sl_rc_stats(cc)->audio == 0);
    CU_ASSERT(frames(cd) == 0);
    CU_ASSERT(sl_rc_stats(cd)->audio > 0);
    CU_ASSERT(sl_file_count(S.srv.log, "plain/mp2: stream #") == 1);
    CU_ASSERT(sl_file_count(S.srv.log, "plain/mpeg2: stream #") == 1);
    CU_ASSERT(sl_file_count(S.srv.log, "(mpeg2video) left out") == 1);
    CU_ASSERT(sl_file_count(S.srv.log, "(mp3) left out") +
                  sl_file_count(S.srv.log, "(mp2) left out") ==
              1);
    sl_rc_close(ca);
    sl_rc_close(cb);
    sl_rc_close(cc);
    sl_rc_close(cd);

    /* plain/bg went on through all of it: as many frames as its
     * timeline covered (25 a second: no hole), its player still getting
     * frames after. */
    span = (long) (sl_rc_stats(bg)->last_video_ts -
                   sl_rc_stats(bg)->first_frame_ts);
    fprintf(stderr, "  plain/bg meanwhile: %ld frames over %ld ms\n",
            frames(bg), span);
    CU_ASSERT(span > 0);
    CU_ASSERT(frames(bg) * 100 >= (span * FPS / 1000 + 1) * 98);
    CU_ASSERT(sl_rc_stats(bg)->video_ts_monotonic);
    CU_ASSERT(advances(bg, 500, IT_S(10)));
    sl_rc_close(bg);
    CU_ASSERT(is_live("plain", "bg") == 1);
    CU_ASSERT(sl_proc_signal(&S.bg, 0) == 0);
}

/* ---- g. a publisher killed ---- */

static void
test_killed(void)
{
    struct sl_proc pub;
    struct caller  k;
    char           url[512], log[PATH_MAX + 32];
    json_t        *j;
    uint8_t       *ts;
    size_t         len = 0;

    srt_url(url, sizeof(url), S.srt_port, "plain", "killed", "");
    path("g-pub.log", log, sizeof(log));
    CU_ASSERT_FATAL(publish_file(&pub, S.clip, url, 1, log) == 0);
    CU_ASSERT_FATAL(wait_live("plain", "killed", 1, IT_S(10)));
    sl_proc_kill(&pub); /* SIGKILL: no goodbye reaches the server */
    /* SRT's peer idle timeout (5 s) ends it. */
    IT_EXPECT_LOGS(wait_live("plain", "killed", 0, IT_S(15)), S.srv.log, NULL);

    /* The name is free again: a new publisher's media gets through. */
    CU_ASSERT_FATAL(caller_open(&k, "#!::r=plain/killed,m=publish", NULL) == 0);
    CU_ASSERT(wait_live("plain", "killed", 1, IT_S(10)));
    ts = file_bytes(S.clip, &len);
    CU_ASSERT_FATAL(ts != NULL);
    /* The clip's first second, in a second. */
    CU_ASSERT(caller_send(&k, ts, len / CLIP_S, 1.0) == 0);
    free(ts);
    for (double end = sl_now() + IT_S(10); sl_now() < end; sl_sleep(0.2)) {
        j = stream_json("plain", "killed");
        if (j != NULL && strcmp(sl_itest_jstr(j, "video.codec"), "h264") == 0) {
            json_decref(j);
            break;
        }
        json_decref(j);
    }
    j = stream_json("plain", "killed");
    CU_ASSERT(j != NULL &&
              strcmp(sl_itest_jstr(j, "video.codec"), "h264") == 0);
    json_decref(j);
    caller_close(&k);
    CU_ASSERT(wait_live("plain", "killed", 0, IT_S(10)));
}

/* ---- i. SRT players ---- */

/* Whether the API and the metrics count n SRT players of app/name (and
 * n in all), each in player_list with protocol "srt" and an "srt"
 * object of link figures; what they said instead in why. */
static int
srt_players_counted(const char *app, const char *name, int n, char *why,
                    size_t cap)
{
    json_t             *j, *list, *e;
    struct sl_http_resp r;
    struct sl_prom     *pm = NULL;
    char                err[256], p[256], labels[256];
    double              all = -1, st = -1;
    long                by = -1, listed = 0;
    size_t              i;

    snprintf(p, sizeof(p), "/api/v1/streams/%s/%s?players=1", app, name);
    snprintf(labels, sizeof(labels), "app=\"%s\",name=\"%s\",protocol=\"srt\"",
             app, name);
    j = sl_itest_get_json(S.srv.http_port, p, 200, NULL);
    if (j == NULL) {
        snprintf(why, cap, "no stream");
        return 0;
    }
    by =
        (long) json_integer_value(sl_itest_jpath(j, "players_by_protocol.srt"));
    list = sl_itest_jpath(j, "player_list");
    json_array_foreach(list, i, e)
    {
        json_t *srt = json_object_get(e, "srt");

        if (strcmp(sl_itest_jstr(e, "protocol"), "srt") == 0 &&
            json_is_object(srt) &&
            json_is_number(json_object_get(srt, "rtt_ms")) &&
            json_is_integer(json_object_get(srt, "packets_dropped")))
            listed++;
    }
    json_decref(j);
    if (sl_http_get(S.srv.http_port, "/metrics", &r) == 200 && r.body != NULL)
        pm = sl_prom_parse(r.body, err, sizeof(err));
    if (pm != NULL) {
        sl_prom_value(pm, "sluice_players", "protocol=\"srt\"", &all);
        sl_prom_value(pm, "sluice_stream_players_by_protocol", labels, &st);
    }
    sl_prom_free(pm);
    sl_http_resp_free(&r);
    snprintf(why, cap,
             "players_by_protocol.srt %ld, %ld srt entries in player_list, "
             "sluice_players{srt} %.0f, the stream's %.0f",
             by, listed, all, st);
    return by == n && listed == n && all == n && st == n;
}

/* What an SRT player of test i got: the frames it decoded (its
 * -progress) against its 3 s at FPS, and the video its copy holds
 * (ffprobe's packets, pts in 90 kHz) against the time they span at FPS
 * (no hole).  1 when both are >= 98 %. */
static int
srt_player_whole(const char *tag)
{
    char           prog[PATH_MAX + 64], ts[PATH_MAX + 64], f[48];
    struct sl_pkts pk;
    long           first = 0, last = 0, span, want, decoded;
    size_t         n;

    snprintf(f, sizeof(f), "%s.progress", tag);
    path(f, prog, sizeof(prog));
    snprintf(f, sizeof(f), "%s.ts", tag);
    path(f, ts, sizeof(ts));
    decoded = progress_frames(prog);
    if (sl_probe_packets(ts, &pk) < 0)
        return 0;
    n = sl_pkts_span(&pk, 'v', &first, &last);
    sl_pkts_free(&pk);
    span = (last - first) / 90;
    want = span * FPS / 1000 + 1;
    fprintf(stderr,
            "  %s: %zu video frames over %ld ms (%ld at %d fps); %ld "
            "decoded of 3 s (%d)\n",
            tag, n, span, want, FPS, decoded, 3 * FPS);
    return span >= 2000 && (long) n * 100 >= want * 98 &&
           decoded * 100 >= 3 * FPS * 98;
}

static void
test_srt_play(void)
{
    struct sl_proc  pub, p1, p2;
    struct sl_probe pr;
    char            log1[PATH_MAX + 32], log2[PATH_MAX + 32];
    char            ts[PATH_MAX + 32], why[256] = "", rtmp[256];
    char            publog[PATH_MAX + 32];
    int             counted = 0;
    const char     *args[] = {"-re",  "-stream_loop", "-1",  "-i", S.clip, "-c",
                              "copy", "-f",           "flv", rtmp, NULL};

    /* The clip published over RTMP, over and over. */
    sl_srv_url(&S.srv, "plain", "rtmp", rtmp, sizeof(rtmp));
    path("i-pub.log", publog, sizeof(publog));
    CU_ASSERT_FATAL(sl_ffmpeg_spawn(&pub, args, publog) == 0);
    IT_EXPECT_LOGS(wait_live("plain", "rtmp", 1, IT_S(10)), S.srv.log, publog);

    /* Two SRT players at once, 3 s of it each. */
    CU_ASSERT_FATAL(srt_player(&p1, "plain", "rtmp", 3, "i-srt1", 1) == 0);
    CU_ASSERT_FATAL(srt_player(&p2, "plain", "rtmp", 3, "i-srt2", 1) == 0);
    path("i-srt1.log", log1, sizeof(log1));
    path("i-srt2.log", log2, sizeof(log2));
    path("i-srt1.ts", ts, sizeof(ts));
    for (double end = sl_now() + IT_S(10); !counted && sl_now() < end;
         sl_sleep(0.1))
        counted = srt_players_counted("plain", "rtmp", 2, why, sizeof(why));
    if (!counted)
        fprintf(stderr, "  two SRT players: %s\n", why);
    CU_ASSERT(counted);
    IT_EXPECT_LOGS(sl_file_count(S.srv.log, "] playing plain/rtmp (srt)") == 2,
                   S.srv.log, NULL);
    sl_itest_expect_exit0(&p1, "SRT player 1", log1, IT_S(20));
    sl_itest_expect_exit0(&p2, "SRT player 2", log2, IT_S(20));

    CU_ASSERT(srt_player_whole("i-srt1"));
    CU_ASSERT(srt_player_whole("i-srt2"));
    CU_ASSERT_FATAL(sl_probe_file(ts, &pr) == 0);
    sl_probe_print("srt player", &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");
    CU_ASSERT(pr.width == 320 && pr.height == 240);
    CU_ASSERT(pr.first_video_key);
    CU_ASSERT(pr.video_dts_monotonic);
    /* Both gone: none counted. */
    for (double end = sl_now() + IT_S(10); counted && sl_now() < end;
         sl_sleep(0.1))
        counted = !srt_players_counted("plain", "rtmp", 0, why, sizeof(why));
    if (counted)
        fprintf(stderr, "  after the SRT players: %s\n", why);
    CU_ASSERT(!counted);
    sl_proc_kill(&pub);
}

/* ---- j. a play of a stream that is not live ---- */

static void
test_play_not_live(void)
{
    struct sl_proc p;
    char           url[512], log[PATH_MAX + 32];

    CU_ASSERT(refused("#!::r=plain/nobody,m=request", SRT_REJX_NOTFOUND,
                      "plain/nobody refused: no live stream by that name"));
    CU_ASSERT(refused("read:plain/nobody", SRT_REJX_NOTFOUND,
                      "no live stream by that name"));
    CU_ASSERT(refused("plain/nobody", SRT_REJX_NOTFOUND,
                      "no live stream by that name"));
    /* ffmpeg is refused at once. */
    srt_play_url(url, sizeof(url), S.srt_port, "plain", "nobody");
    path("j-ffmpeg.log", log, sizeof(log));
    {
        const char *args[] = {"-i", url, "-f", "null", "-", NULL};

        CU_ASSERT_FATAL(sl_ffmpeg_spawn(&p, args, log) == 0);
    }
    CU_ASSERT(sl_proc_wait(&p, IT_S(10)) == 0);
    CU_ASSERT(p.pid == 0 && !sl_proc_exited_with(&p, 0));
    sl_proc_kill(&p);
}

/* ---- k. players that end: the publisher gone, a stalled caller ---- */

/* A receive buffer of 32 packets (libsrt's least): full after a few
 * tenths of a second of plain/bg. */
#define STALL_RCVBUF (32 * 1316)

/* Waits up to timeout_s for a WARN line about the caller on lport that
 * says it stalled or is too slow.  1 when there is one. */
static int
closed_as_slow(int lport, double timeout_s)
{
    for (double end = sl_now() + timeout_s;; sl_sleep(0.1)) {
        if (sl_srv_wait_conn_log(&S.srv, lport, " WARN ", "stalled", 0) == 0 ||
            sl_srv_wait_conn_log(&S.srv, lport, " WARN ", "too slow", 0) == 0)
            return 1;
        if (sl_now() >= end)
            return 0;
    }
}

/* The PTS (90 kHz) of the PES a TS packet starts, or -1. */
static int64_t
pes_pts(const uint8_t *k)
{
    const uint8_t *q = k + 4;

    if (!(k[1] & 0x40) || !(k[3] & 0x10))
        return -1;
    if (k[3] & 0x20)
        q += 1 + q[0]; /* the adaptation field */
    if (q + 14 > k + 188 || q[0] != 0 || q[1] != 0 || q[2] != 1 ||
        !(q[7] & 0x80))
        return -1;
    return ((int64_t) (q[9] & 0x0e) << 29) | ((int64_t) q[10] << 22) |
           ((int64_t) (q[11] & 0xfe) << 14) | ((int64_t) q[12] << 7) |
           (q[13] >> 1);
}

/* The clip's TS with its audio (PID 0x101: ffmpeg's second stream)
 * left out until from_ms into the video: a publisher whose first audio
 * PES comes late.  Compacts p[0..len); the new length. */
static size_t
late_audio(uint8_t *p, size_t len, int64_t from_ms)
{
    int64_t first = -1;
    int     dropping = 1;
    size_t  out = 0;

    for (size_t at = 0; at + 188 <= len; at += 188) {
        const uint8_t *k = p + at;
        int            pid = (k[1] & 0x1f) << 8 | k[2];
        int64_t        pts = pes_pts(k);

        if (pid == 0x100 && first < 0 && pts >= 0)
            first = pts;
        if (pid == 0x101 && pts >= 0 && first >= 0 &&
            (pts - first) / 90 >= from_ms)
            dropping = 0;
        if (pid == 0x101 && dropping)
            continue;
        memmove(p + out, k, 188);
        out += 188;
    }
    return out;
}

/* The EXT-X-MAP URIs of pkg/leave's playlist (at most 4, each at most
 * 31 characters) and whether the web port serves each as an init
 * segment (200, "ftyp" first).  How many it lists; -1 without a
 * playlist. */
static int
leave_inits(char uris[4][32], int served[4])
{
    struct sl_http_resp r;
    const char         *p;
    int                 n = 0;

    if (sl_http_get(S.srv.web_port, "/pkg/leave/media.m3u8", &r) != 200 ||
        r.body == NULL) {
        sl_http_resp_free(&r);
        return -1;
    }
    for (p = r.body; n < 4 && (p = strstr(p, "#EXT-X-MAP:URI=\"")) != NULL;
         p += 16) {
        struct sl_http_resp o;
        char                path[96];

        snprintf(uris[n], 32, "%.*s", (int) strcspn(p + 16, "\"?"), p + 16);
        snprintf(path, sizeof(path), "/pkg/leave/%.31s", uris[n]);
        served[n] = sl_http_get(S.srv.web_port, path, &o) == 200 &&
                    o.body_len > 8 && memcmp(o.body + 4, "ftyp", 4) == 0;
        sl_http_resp_free(&o);
        n++;
    }
    sl_http_resp_free(&r);
    return n;
}

static void
test_players_end(void)
{
    struct reader  rd;
    struct caller  pub, stall;
    struct sl_proc bgp;
    char           prog[PATH_MAX + 32], uris[4][32];
    uint8_t       *ts;
    size_t         len = 0;
    long           f0, f;
    json_t        *j;
    int            ok, st, n, served[4];

    /* A player of plain/bg that reads all along. */
    CU_ASSERT_FATAL(srt_player(&bgp, "plain", "bg", 0, "k-bg", 0) == 0);
    path("k-bg.progress", prog, sizeof(prog));

    /* One that never reads, with a small buffer: full at once. */
    CU_ASSERT_FATAL(caller_open_at(&stall, NULL, S.srt_port,
                                   "#!::r=plain/bg,m=request", NULL,
                                   STALL_RCVBUF) == 0);

    /* pkg/leave: our caller publishes 3 s of the clip whose audio
     * starts 1.5 s in, a caller of ours plays it; then the publisher
     * leaves. */
    ts = file_bytes(S.clip, &len);
    CU_ASSERT_FATAL(ts != NULL);
    len = late_audio(ts, len, 1500);
    CU_ASSERT_FATAL(caller_open(&pub, "#!::r=pkg/leave,m=publish", NULL) == 0);
    CU_ASSERT(wait_live("pkg", "leave", 1, IT_S(10)));
    CU_ASSERT_FATAL(reader_start(&rd, "#!::r=pkg/leave,m=request") == 0);
    CU_ASSERT(caller_send(&pub, ts, len * 3 / CLIP_S, 3.0) == 0);
    free(ts);
    caller_close(&pub);

    /* Its LL-HLS began with the video alone (no audio a second into
     * it), then had both: two init segments, each served while a
     * segment names it. */
    n = leave_inits(uris, served);
    fprintf(stderr, "  pkg/leave's playlist names %d init segments:", n);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " %s (%s)", uris[i], served[i] ? "served" : "NOT");
    fprintf(stderr, "\n");
    CU_ASSERT(n == 2);
    for (int i = 0; i < n; i++)
        CU_ASSERT(served[i]);
    if (n != 2) {
        struct sl_http_resp r;

        sl_http_get(S.srv.web_port, "/pkg/leave/media.m3u8", &r);
        fprintf(stderr, "%s\n", r.body != NULL ? r.body : "");
        sl_http_resp_free(&r);
    }
    /* publish_grace (1 s) after the stream ended, the player is
     * closed, with a line that says why. */
    IT_EXPECT_LOGS(reader_wait_closed(&rd, 1 + IT_S(10)), S.srv.log, NULL);
    IT_EXPECT_LOGS(sl_srv_wait_conn_log(&S.srv, rd.k.lport, " INFO ",
                                        "the stream ended", IT_S(5)) == 0,
                   S.srv.log, NULL);
    fprintf(stderr, "  pkg/leave's SRT player got %ld bytes\n",
            atomic_load(&rd.bytes));
    CU_ASSERT(atomic_load(&rd.bytes) > 0);
    reader_stop(&rd);

    /* The stalled caller is closed (2 x max_lag, 4 s, and the look that
     * sees it); libsrt tells it. */
    IT_EXPECT_LOGS(closed_as_slow(stall.lport, IT_S(20)), S.srv.log, NULL);
    ok = 0;
    for (double end = sl_now() + IT_S(10); !ok && sl_now() < end;
         sl_sleep(0.1)) {
        st = srt_getsockstate(stall.s);
        ok = st == SRTS_BROKEN || st == SRTS_CLOSED || st == SRTS_NONEXIST;
    }
    CU_ASSERT(ok);
    caller_close(&stall);

    /* The reading player of plain/bg went on through both: still
     * playing, its frames still coming, the only SRT player left. */
    CU_ASSERT(sl_proc_wait(&bgp, 0) == -ETIMEDOUT);
    f0 = progress_frames(prog);
    f = f0;
    for (double end = sl_now() + IT_S(10); f < f0 + FPS / 2 && sl_now() < end;
         sl_sleep(0.2))
        f = progress_frames(prog);
    fprintf(stderr, "  plain/bg's reading SRT player: %ld frames, then %ld\n",
            f0, f);
    CU_ASSERT(f0 > 0 && f >= f0 + FPS / 2);
    j = stream_json("plain", "bg");
    CU_ASSERT_FATAL(j != NULL);
    CU_ASSERT(
        json_integer_value(sl_itest_jpath(j, "players_by_protocol.srt")) == 1);
    json_decref(j);
    sl_proc_kill(&bgp);
}

/* ---- l. HEVC ---- */

static void
test_hevc(void)
{
    char  purl[512], hls[256], out[PATH_MAX + 32], err[PATH_MAX + 32];
    char  prog[PATH_MAX + 32], dlog[PATH_MAX + 32], *text;
    char *probe_argv[] = {"ffprobe",
                          "-v",
                          "error",
                          "-analyzeduration",
                          "1000000",
                          "-show_entries",
                          "stream=codec_type,codec_name,width,height",
                          "-of",
                          "compact=p=0",
                          purl,
                          NULL};
    /* 2 s of video. */
    const char    *dec_args[] = {"-i",        hls,    "-map",      "0:v:0",
                                 "-frames:v", "50",   "-progress", prog,
                                 "-f",        "null", "-",         NULL};
    struct sl_proc probe, dec;
    json_t        *j = NULL;
    long           frames;
    int            both = 0;

    /* libx265's clip and AAC, published over SRT since the suite began
     * (the clip is made at the start). */
    IT_EXPECT_LOGS(wait_live("pkg", "hevc", 1, IT_S(10)), S.srv.log, NULL);

    /* The API: Enhanced RTMP's FourCC, and AAC. */
    for (double end = sl_now() + IT_S(10); !both && sl_now() < end;
         sl_sleep(0.1)) {
        json_decref(j);
        j = stream_json("pkg", "hevc");
        both = j != NULL &&
               strcmp(sl_itest_jstr(j, "video.codec"), "hvc1") == 0 &&
               strcmp(sl_itest_jstr(j, "audio.codec"), "aac") == 0;
    }
    fprintf(stderr, "  pkg/hevc: video \"%s\" %lldx%lld, audio \"%s\"\n",
            sl_itest_jstr(j, "video.codec"),
            (long long) json_integer_value(sl_itest_jpath(j, "video.width")),
            (long long) json_integer_value(sl_itest_jpath(j, "video.height")),
            sl_itest_jstr(j, "audio.codec"));
    CU_ASSERT(both);
    CU_ASSERT(json_integer_value(sl_itest_jpath(j, "video.width")) == 320);
    CU_ASSERT(json_integer_value(sl_itest_jpath(j, "video.height")) == 240);
    json_decref(j);

    /* An SRT player gets HEVC back (ffprobe, while ffmpeg reads HLS). */
    srt_play_url(purl, sizeof(purl), S.srt_port, "pkg", "hevc");
    path("l-probe.txt", out, sizeof(out));
    path("l-probe.err", err, sizeof(err));
    CU_ASSERT_FATAL(sl_proc_spawn(&probe, probe_argv, out, err) == 0);

    /* LL-HLS packages it: the master says hvc1, ffmpeg decodes it. */
    CU_ASSERT(hls_master("pkg", "hevc", "CODECS=\"hvc1.", IT_S(15)));
    snprintf(hls, sizeof(hls), "http://127.0.0.1:%d/pkg/hevc.m3u8",
             S.srv.web_port);
    path("l-hls.progress", prog, sizeof(prog));
    path("l-hls.log", dlog, sizeof(dlog));
    CU_ASSERT_FATAL(sl_ffmpeg_spawn(&dec, dec_args, dlog) == 0);
    sl_itest_expect_exit0(&dec, "ffmpeg reading HEVC HLS", dlog, IT_S(30));
    frames = progress_frames(prog);
    fprintf(stderr, "  ffmpeg decoded %ld frames of HEVC HLS (2 s: %d)\n",
            frames, 2 * FPS);
    CU_ASSERT(frames == 2 * FPS);

    sl_itest_expect_exit0(&probe, "ffprobe over SRT", err, IT_S(20));
    text = sl_read_file(out);
    fprintf(stderr, "  ffprobe over SRT:\n%s", text != NULL ? text : "");
    CU_ASSERT(text != NULL &&
              strstr(text, "codec_name=hevc|codec_type=video|width=320|"
                           "height=240") != NULL);
    CU_ASSERT(text != NULL && strstr(text, "codec_name=aac") != NULL);
    free(text);
}

/* ---- m. a handshake flood ---- */

static void
test_flood(void)
{
    struct sl_srv  fs;
    struct sl_proc pub;
    struct sl_rc  *c;
    char           keys[256], url[512], log[PATH_MAX + 32];
    int            port = sl_free_udp_port(), n1402 = 0, other = 0;
    double         t0, took;

    /* A server of its own: these limits would refuse the suite's many
     * short connections. */
    CU_ASSERT_FATAL(port > 0);
    snprintf(keys, sizeof(keys),
             "srt_listen = 127.0.0.1:%d\nconnection_rate_per_ip = 2\n"
             "connection_burst_per_ip = 3\n",
             port);
    IT_START(&fs, keys, NULL);

    /* From 127.0.0.1: a player waits, a publisher starts. */
    c = player_on(&fs, "live", "cam");
    CU_ASSERT_FATAL(c != NULL);
    srt_url(url, sizeof(url), port, "live", "cam", "");
    path("m-pub.log", log, sizeof(log));
    CU_ASSERT_FATAL(publish_file(&pub, S.clip, url, 1, log) == 0);

    /* Meanwhile 20 handshakes from 127.0.0.2, one after another. */
    t0 = sl_now();
    for (int i = 0; i < 20; i++) {
        struct caller k;

        if (caller_open_at(&k, "127.0.0.2", port, "#!::r=live/nobody,m=request",
                           NULL, 0) == 0) {
            caller_close(&k);
            other++;
        } else if (k.reason == SRT_REJX_OVERLOAD) {
            n1402++;
        } else {
            other++;
            if (k.reason != SRT_REJX_NOTFOUND)
                fprintf(stderr, "  handshake %d: reject reason %d\n", i,
                        k.reason);
        }
    }
    took = sl_now() - t0;
    fprintf(stderr,
            "  20 handshakes from 127.0.0.2 in %.2f s: %d refused "
            "with 1402, %d otherwise\n",
            took, n1402, other);
    CU_ASSERT(n1402 > 10);
    CU_ASSERT(sl_wait_file_count(fs.log, "[srt 127.0.0.2:", 1, IT_S(5)) == 0);
    CU_ASSERT(sl_file_count(fs.log, "refused: rate") >= 1);

    /* 127.0.0.1's publish went live and its player gets it. */
    IT_EXPECT_LOGS(wait_live_on(&fs, "live", "cam", 1, IT_S(10)), fs.log, log);
    CU_ASSERT(advances(c, 1000, IT_S(10)));
    CU_ASSERT(frames(c) > 0);
    sl_rc_close(c);
    sl_proc_kill(&pub);
    IT_STOP(&fs);
}

/* ---- h. stop ---- */

static void
test_stop(void)
{
    /* The wrong passphrases' handshakes (test d) were given back. */
    CU_ASSERT(sl_wait_file_count(S.srv.log, "the handshake did not complete", 1,
                                 IT_S(15)) == 0);
    /* plain/bg is still publishing: the stop closes it. */
    CU_ASSERT(is_live("plain", "bg") == 1);
    IT_STOP(&S.srv);
    sl_proc_kill(&S.bg);
    sl_proc_kill(&S.hevc);
    srt_cleanup();
}

void
sl_itest_suite_srt(void)
{
    CU_pSuite s = sl_itest_suite_shared("srt", suite_init, test_teardown);

    CU_add_test(s, "a publish over SRT: RTMP, its rung, HLS, the recording",
                test_publish_play);
    CU_add_test(s, "the API and the metrics show the SRT publisher", test_api);
    CU_add_test(s, "a lossy link (5 % dropped, 40 ms) with 300 ms latency",
                test_lossy);
    CU_add_test(s, "encryption: the passphrase, right and wrong",
                test_encryption);
    CU_add_test(s, "refusals with their reject codes and reasons",
                test_refusals);
    CU_add_test(s, "garbage, audio alone, corrupted TS, codecs not carried",
                test_bad_input);
    CU_add_test(s, "a publisher killed is noticed; the name is free again",
                test_killed);
    CU_add_test(s, "two SRT players of an RTMP publish; the API counts them",
                test_srt_play);
    CU_add_test(s, "a play of a stream that is not live is refused (1404)",
                test_play_not_live);
    CU_add_test(s, "SRT players end: the publisher gone, a stalled caller",
                test_players_end);
    CU_add_test(s, "HEVC over SRT: SRT players, the API, LL-HLS", test_hevc);
    CU_add_test(s, "a handshake flood from one address (1402); others go on",
                test_flood);
    CU_add_test(s, "the server stops cleanly", test_stop);
}

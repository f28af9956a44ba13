/*
 * sluice-bench: a live-streaming load generator for any RTMP server.
 *
 *   sluice-bench -u rtmp://127.0.0.1:1935/live/bench -i input.flv
 *                -n 1000 -d 15 -w 3 -p SERVER_PID [--csv]
 *                [--play-url rtmp://127.0.0.1:1936/live/bench]
 *
 * One publisher sends the FLV file at real-time pace (looping it, with
 * timestamps that keep increasing); then N players connect and play the
 * stream: the same URL, or --play-url's (another server that gets the
 * stream from the first, e.g. through a relay; frames are matched the
 * same way, so the latency is publish-write on -u to player-read on
 * --play-url).  After every player is playing and a warm-up has passed,
 * a measured window of -d seconds begins.  At its end the tool prints one
 * line: delivered ratio per player (min and average), latency p50/p99
 * from publish-write to player-read, connections per second, the
 * server's CPU and memory from /proc (when -p is given) and our own CPU.
 *
 * Everything runs on one thread around one epoll set with non-blocking
 * sockets and level-triggered events, so each ready socket gets one read
 * per loop turn and no player can starve the publisher's pacing.
 *
 * How a received video message is matched to the one sent.  For every
 * video frame the publisher writes, we keep (timestamp, length, hash of
 * its first bytes, wall-clock write time) in an array ordered by
 * timestamp.  Servers pass the publisher's timestamps through, but may
 * shift them by a constant (nginx-rtmp and Sluice both may re-base a
 * player's stream).  So a player's first video frame is found by its
 * length and hash among the frames sent, newest first, which gives the
 * player's offset (sent timestamp minus received timestamp); every later
 * frame is looked up by received timestamp plus offset, and its length
 * and hash are checked.  A mismatch (the server re-based again) re-runs
 * the search; a frame found nowhere is counted as unmatched.
 *
 * Delivered ratio: the frames whose publish-write time falls inside the
 * window are the ones expected; a player's count is the number of those
 * it received, however late, until a drain period after the window ends.
 * Latency: read time minus publish-write time, for the same frames, into
 * one log-linear histogram shared by all players.  Audio is published
 * too (the load is realistic) but only video is scored.
 *
 * With --floor-server as its first argument the binary is instead the
 * minimal fan-out server of bench/floor.c; with --ladder, the
 * transcoding-ladder benchmark of bench/ladder.c.
 *
 * Memory: per player a small struct and a chunk reader; the handshake
 * buffer exists only while handshaking.  Nothing per message is kept
 * per player.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/floor.h"
#include "bench/flvfile.h"
#include "bench/hist.h"
#include "bench/ladder.h"
#include "pool/clock.h"
#include "rtmp/amf.h"
#include "rtmp/chunk.h"
#include "rtmp/flv.h"
#include "rtmp/handshake.h"
#include "rtmp/rd.h"
#include "rtmp/msg.h"

#define MAX_MESSAGE (16u << 20) /* chunk reader limit */
#define MAX_CSIDS 16            /* chunk streams a server may use */
#define PUB_CHUNK_SIZE 4096     /* our outgoing chunk size as publisher */
#define HASH_BYTES 64           /* bytes of a frame body hashed */
#define READ_BUF (256 * 1024)
#define MAX_EVENTS 512
#define AMF_NODES 64
#define SETUP_TIMEOUT_S 120 /* players that are not playing by then fail */
#define SATURATED_PCT 90.0

/* Chunk stream ids for what we send (any in 3..65599 would do). */
#define CSID_CMD 3
#define CSID_AUDIO 4
#define CSID_VIDEO 6
#define CSID_DATA 5

enum role { ROLE_PUBLISHER, ROLE_PLAYER };

/* A connection's progress.  Each state names what we wait for. */
enum state {
    ST_CONNECTING, /* TCP connect in progress */
    ST_HANDSHAKE,  /* S0+S1+S2 */
    ST_CONNECT,    /* _result of connect (transaction 1) */
    ST_CREATE,     /* _result of createStream (transaction 2) */
    ST_START,      /* onStatus Publish.Start / Play.Start */
    ST_LIVE,       /* publishing or playing */
    ST_DEAD        /* failed or dropped; socket closed */
};

struct conn {
    int                     fd;
    uint8_t                 role;
    uint8_t                 state;
    uint8_t                 synced;    /* offset below is known */
    uint8_t                 in_window; /* was live when the window began */
    uint32_t                hs_got;    /* handshake bytes received */
    uint8_t                *hs;        /* S0+S1 while handshaking */
    struct sl_chunk_reader *rd;
    uint32_t                stream_id;
    int32_t                 offset;    /* sent ts - received ts */
    uint32_t                got;       /* window frames received */
    uint32_t                unmatched; /* frames found nowhere */
};

/* A video frame as published. */
struct sent {
    uint32_t ts;
    uint32_t len;
    uint64_t hash;
    int64_t  at_us; /* when its bytes were handed to the socket */
};

/* Where a role connects: the publisher to -u, players to --play-url
 * (the same place unless given). */
struct endpoint {
    char                    host[256];
    char                    port[16];
    char                    app[256];
    char                    stream[256];
    char                    tc_url[600];
    struct sockaddr_storage addr;
    socklen_t               addr_len;
};

struct options {
    const char *url;
    const char *play_url; /* NULL: players play url */
    const char *input;
    unsigned    players;
    double      duration_s;
    double      warmup_s;
    double      drain_s;
    double      settle_s;
    int         server_pid;
    unsigned    concurrency;
    int         csv;
};

static struct {
    struct options     opt;
    struct endpoint    pub_at, play_at;
    int                ep;
    struct sl_flv_file flv;
    uint8_t            c0c1[1 + SL_HANDSHAKE_SIZE];
    uint8_t           *rbuf;

    /* Publisher. */
    struct conn             pub;
    struct sl_chunk_writer *pub_wr;
    uint8_t                *pub_out;
    size_t                  pub_out_len, pub_out_off, pub_out_cap;
    int                     pub_want_out;
    int64_t                 pub_start_us; /* wall time of ts 0 */
    size_t                  next_tag;
    uint32_t                pass;
    struct sent            *sent;
    size_t                  nsent, sent_cap;

    /* Players. */
    struct conn *players;
    unsigned     opened;   /* connect() calls made */
    unsigned     inflight; /* opened but not yet playing or dead */
    unsigned     playing;  /* reached Play.Start */
    unsigned     failed;   /* died before Play.Start */
    unsigned     dropped;  /* died after Play.Start */
    int64_t      first_connect_us, last_start_us;

    /* Window. */
    int64_t        win_start_us, win_end_us;
    struct sl_hist lat;
    uint64_t       mismatches;
} B;

static volatile sig_atomic_t stop_flag;

/* FNV-1a over the body's length and its first HASH_BYTES bytes: cheap,
 * and frames of one encode differ there (slice headers, sizes). */
static uint64_t
frame_hash(const uint8_t *p, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    size_t   n = len < HASH_BYTES ? len : HASH_BYTES;

    for (unsigned i = 0; i < 4; i++) {
        h ^= (uint8_t) (len >> (8 * i));
        h *= 1099511628211ull;
    }
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* ---- options and set-up ---------------------------------------------- */

static void
usage(void)
{
    fprintf(stderr,
            "usage: sluice-bench -u rtmp://HOST:PORT/APP/STREAM -i FILE.flv\n"
            "         [-n players] [-d seconds] [-w warmup_s] [-p pid]\n"
            "         [-c concurrent_connects] [--drain s] [--settle s]\n"
            "         [--play-url rtmp://HOST:PORT/APP/STREAM] [--csv]\n"
            "       sluice-bench --floor-server -l IPV4:PORT [-m merge_ms]\n"
            "       sluice-bench --ladder -i FILE.flv [-c CONFIG] [-a APP]\n");
}

static int
parse_url(const char *url, struct endpoint *e)
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
resolve(struct endpoint *e)
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

static int
parse_options(int argc, char **argv)
{
    static const struct option longs[] = {
        {"csv", no_argument, NULL, 'C'},
        {"play-url", required_argument, NULL, 'P'},
        {"drain", required_argument, NULL, 'D'},
        {"settle", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct options *o = &B.opt;
    int             c;

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
        case 'D':
            o->drain_s = atof(optarg);
            break;
        case 'S':
            o->settle_s = atof(optarg);
            break;
        default:
            usage();
            return -1;
        }
    }
    if (o->url == NULL || o->input == NULL || o->duration_s <= 0 ||
        o->warmup_s < 0 || o->concurrency == 0 || optind != argc) {
        usage();
        return -1;
    }
    if (o->play_url == NULL)
        o->play_url = o->url;
    for (int i = 0; i < 2; i++) {
        const char *url = i == 0 ? o->url : o->play_url;

        if (parse_url(url, i == 0 ? &B.pub_at : &B.play_at) < 0) {
            fprintf(stderr,
                    "sluice-bench: bad URL %s (want "
                    "rtmp://HOST[:PORT]/APP/STREAM)\n",
                    url);
            return -1;
        }
    }
    return 0;
}

/* ---- /proc ------------------------------------------------------------ */

/* utime + stime of every thread of pid, in clock ticks; -1 on error. */
static long long
proc_cpu_ticks(int pid)
{
    char      path[64], buf[1024], *p;
    FILE     *fp;
    size_t    n;
    long long ut, st;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields are
     * counted from the last ')'.  utime and stime are fields 14 and 15,
     * i.e. the 12th and 13th after it. */
    p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld",
               &ut, &st) != 2)
        return -1;
    return ut + st;
}

/* VmRSS of pid in KiB; -1 on error. */
static long
proc_rss_kb(int pid)
{
    char  path[64], line[256];
    FILE *fp;
    long  kb = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    while (fgets(line, sizeof(line), fp) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(fp);
    return kb;
}

/* Ticks one CPU spent running tasks (user, nice, system) or taken by
 * the hypervisor (steal), from /proc/stat; -1 on error.  Interrupt and
 * softirq ticks are left out: the kernel may charge that same time to
 * the task it interrupted, and counting it twice would make a quiet
 * machine look busy. */
static long long
cpu_busy_ticks(int cpu)
{
    char      line[512], name[16];
    FILE     *fp = fopen("/proc/stat", "r");
    long long busy = -1;

    if (fp == NULL)
        return -1;
    snprintf(name, sizeof(name), "cpu%d ", cpu);
    while (fgets(line, sizeof(line), fp) != NULL) {
        long long v[8] = {0};

        if (strncmp(line, name, strlen(name)) != 0)
            continue;
        if (sscanf(line + strlen(name),
                   "%lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
            busy = v[0] + v[1] + v[2] + v[7];
        break;
    }
    fclose(fp);
    return busy;
}

/* The one CPU pid is pinned to, or -1 when it may run on several. */
static int
pinned_cpu(pid_t pid)
{
    cpu_set_t set;
    int       cpu = -1;

    if (sched_getaffinity(pid, sizeof(set), &set) < 0 || CPU_COUNT(&set) != 1)
        return -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set))
            cpu = i;
    return cpu;
}

static int64_t
self_cpu_us(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (int64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
           ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* ---- connections -------------------------------------------------------- */

static void
conn_close(struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(B.ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    free(c->hs);
    c->hs = NULL;
    sl_chunk_reader_free(c->rd);
    c->rd = NULL;
}

static void
conn_fail(struct conn *c, const char *why)
{
    if (c->state == ST_DEAD)
        return;
    if (c->role == ROLE_PUBLISHER) {
        fprintf(stderr, "sluice-bench: publisher: %s\n", why);
        stop_flag = 1;
    } else if (c->state == ST_LIVE) {
        B.dropped++;
        if (B.dropped <= 5)
            fprintf(stderr, "sluice-bench: player %ld dropped: %s\n",
                    (long) (c - B.players), why);
    } else {
        B.failed++;
        B.inflight--;
        if (B.failed <= 5)
            fprintf(stderr, "sluice-bench: player %ld failed: %s\n",
                    (long) (c - B.players), why);
    }
    c->state = ST_DEAD;
    conn_close(c);
}

static int
conn_open(struct conn *c, enum role role)
{
    struct endpoint   *at = role == ROLE_PUBLISHER ? &B.pub_at : &B.play_at;
    struct epoll_event ev;
    int                one = 1;

    memset(c, 0, sizeof(*c));
    c->role = (uint8_t) role;
    c->state = ST_CONNECTING;
    c->fd = socket(at->addr.ss_family,
                   SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->rd = sl_chunk_reader_new(MAX_MESSAGE, MAX_CSIDS);
    if (c->rd == NULL) {
        close(c->fd);
        c->fd = -1;
        return -ENOMEM;
    }
    if (connect(c->fd, (struct sockaddr *) &at->addr, at->addr_len) < 0 &&
        errno != EINPROGRESS) {
        int e = -errno;

        conn_close(c);
        return e;
    }
    ev.events = EPOLLOUT;
    ev.data.ptr = c;
    if (epoll_ctl(B.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        int e = -errno;

        conn_close(c);
        return e;
    }
    return 0;
}

/* Sends a small control or command message whole.  Players send only a
 * few hundred bytes in all, into an empty socket buffer, so a short
 * write means the connection is broken. */
static int
send_small(struct conn *c, const uint8_t *p, size_t len)
{
    ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

    if (n != (ssize_t) len) {
        conn_fail(c, n < 0 ? strerror(errno) : "short write");
        return -1;
    }
    return 0;
}

/* The publisher's output: appended to a buffer that is flushed as the
 * socket accepts it, because media can outrun a slow server. */
static int
pub_flush(void)
{
    struct conn *c = &B.pub;

    while (B.pub_out_off < B.pub_out_len) {
        ssize_t n = send(c->fd, B.pub_out + B.pub_out_off,
                         B.pub_out_len - B.pub_out_off, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            conn_fail(c, strerror(errno));
            return -1;
        }
        B.pub_out_off += (size_t) n;
    }
    if (B.pub_out_off == B.pub_out_len)
        B.pub_out_off = B.pub_out_len = 0;
    if ((B.pub_out_len > 0) != B.pub_want_out) {
        struct epoll_event ev;

        B.pub_want_out = B.pub_out_len > 0;
        ev.events = EPOLLIN | (B.pub_want_out ? EPOLLOUT : 0);
        ev.data.ptr = c;
        epoll_ctl(B.ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
    return 0;
}

static int
pub_queue(uint32_t csid, uint8_t type, uint32_t msid, uint32_t ts,
          const uint8_t *p, size_t len)
{
    for (;;) {
        size_t room = B.pub_out_cap - B.pub_out_len;
        int    n;

        n = sl_chunk_write(B.pub_wr, B.pub_out + B.pub_out_len, room, csid,
                           type, msid, ts, p, len);
        if (n >= 0) {
            B.pub_out_len += (size_t) n;
            return 0;
        }
        if (n != -ENOSPC)
            return n;
        /* Compact first; grow only when the pending bytes need it. */
        if (B.pub_out_off > 0) {
            memmove(B.pub_out, B.pub_out + B.pub_out_off,
                    B.pub_out_len - B.pub_out_off);
            B.pub_out_len -= B.pub_out_off;
            B.pub_out_off = 0;
            continue;
        }
        {
            size_t   ncap = B.pub_out_cap * 2 + len + len / 64 + 64;
            uint8_t *nb = realloc(B.pub_out, ncap);

            if (nb == NULL)
                return -ENOMEM;
            B.pub_out = nb;
            B.pub_out_cap = ncap;
        }
    }
}

/* Encodes one command (AMF0, message type 20) and sends or queues it. */
/* Sends an encoded message (NULL: out of memory) and drops it. */
static int
send_encoded(struct conn *c, struct sl_buf *b)
{
    int rc;

    if (b == NULL)
        return -1;
    rc = send_small(c, b->data, b->len);
    sl_buf_unref(b);
    return rc;
}

static int
send_command(struct conn *c, uint32_t msid, struct sl_wr *w)
{
    if (w->err)
        return -1;
    if (c->role == ROLE_PUBLISHER) {
        if (pub_queue(CSID_CMD, SL_MSG_COMMAND_AMF0, msid, 0, w->start,
                      sl_wr_len(w)) < 0)
            return -1;
        return pub_flush();
    } else {
        return send_encoded(c, sl_chunk_encode(CSID_CMD, SL_MSG_COMMAND_AMF0,
                                               msid, 0, w->start, sl_wr_len(w),
                                               SL_CHUNK_DEFAULT_SIZE));
    }
}

static int
send_connect(struct conn *c)
{
    const struct endpoint *at =
        c->role == ROLE_PUBLISHER ? &B.pub_at : &B.play_at;
    uint8_t      buf[1024];
    struct sl_wr w;

    sl_wr_init(&w, buf, sizeof(buf));
    sl_rtmp_msg_connect(&w, 1, at->app, at->tc_url);
    return send_command(c, 0, &w);
}

static int
send_create_stream(struct conn *c)
{
    uint8_t      buf[64];
    struct sl_wr w;

    sl_wr_init(&w, buf, sizeof(buf));
    sl_rtmp_msg_create_stream(&w, 2);
    return send_command(c, 0, &w);
}

static int
send_start(struct conn *c)
{
    uint8_t      buf[600];
    struct sl_wr w;

    sl_wr_init(&w, buf, sizeof(buf));
    if (c->role == ROLE_PUBLISHER) {
        sl_rtmp_msg_publish(&w, B.pub_at.stream);
        return send_command(c, c->stream_id, &w);
    }
    sl_rtmp_msg_play(&w, B.play_at.stream, -2);
    if (send_command(c, c->stream_id, &w) < 0)
        return -1;
    /* A one-second buffer, as players announce before media. */
    return send_encoded(c, sl_chunk_user_control2(SL_UC_SET_BUFFER_LENGTH,
                                                  c->stream_id, 1000,
                                                  SL_CHUNK_DEFAULT_SIZE));
}

/* ---- the publisher's media --------------------------------------------- */

static int
record_sent(const struct sl_flv_tag *t, uint32_t ts, int64_t at)
{
    struct sent *s;

    if (B.nsent == B.sent_cap) {
        size_t       ncap = B.sent_cap ? B.sent_cap * 2 : 4096;
        struct sent *ns = realloc(B.sent, ncap * sizeof(*ns));

        if (ns == NULL)
            return -ENOMEM;
        B.sent = ns;
        B.sent_cap = ncap;
    }
    s = &B.sent[B.nsent++];
    s->ts = ts;
    s->len = t->len;
    s->hash = frame_hash(t->body, t->len);
    s->at_us = at;
    return 0;
}

static int
send_metadata(void)
{
    const struct sl_flv_tag *meta = NULL;
    uint8_t                 *buf;
    struct sl_wr             w;
    int                      rc;

    for (size_t i = 0; i < B.flv.ntags && meta == NULL; i++)
        if (B.flv.tags[i].type == 18)
            meta = &B.flv.tags[i];
    if (meta == NULL)
        return 0;
    /* The file's script tag is "onMetaData" + its object; a publisher
     * sends it as @setDataFrame so the server keeps it for players. */
    buf = malloc(meta->len + 32);
    if (buf == NULL)
        return -1;
    sl_wr_init(&w, buf, meta->len + 32);
    sl_amf_put_string(&w, "@setDataFrame");
    sl_wr_bytes(&w, meta->body, meta->len);
    rc = pub_queue(CSID_DATA, SL_MSG_DATA_AMF0, B.pub.stream_id, 0, buf,
                   sl_wr_len(&w));
    free(buf);
    return rc;
}

/* Queues every tag that is due; returns microseconds until the next. */
static int64_t
pub_pump(int64_t now)
{
    const struct sl_flv_file *f = &B.flv;
    int                       queued = 0;

    if (B.pub.state != ST_LIVE)
        return 100000;
    for (;;) {
        const struct sl_flv_tag *t = &f->tags[B.next_tag];
        uint32_t                 ts = t->ts + B.pass * f->duration_ms;
        int64_t                  due = B.pub_start_us + (int64_t) ts * 1000;
        uint32_t                 csid = t->type == 9 ? CSID_VIDEO : CSID_AUDIO;

        if (due > now)
            break;
        /* Script tags went out once as metadata; codec headers are sent
         * on the first pass only, as an encoder would. */
        if (t->type != 18 && !(t->seq_header && B.pass > 0)) {
            if (pub_queue(csid, t->type, B.pub.stream_id, ts, t->body, t->len) <
                0) {
                conn_fail(&B.pub, "out of memory");
                return 100000;
            }
            queued = 1;
            if (t->type == 9 && !t->seq_header && record_sent(t, ts, now) < 0) {
                conn_fail(&B.pub, "out of memory");
                return 100000;
            }
        }
        if (++B.next_tag == f->ntags) {
            B.next_tag = 0;
            B.pass++;
        }
    }
    if (queued && pub_flush() < 0)
        return 100000;
    {
        const struct sl_flv_tag *t = &f->tags[B.next_tag];
        uint32_t                 ts = t->ts + B.pass * f->duration_ms;

        return B.pub_start_us + (int64_t) ts * 1000 - now;
    }
}

/* ---- scoring a player's video ------------------------------------------ */

/* The sent frame with timestamp ts, or NULL.  Sent frames are ordered by
 * timestamp (the file's order, passes appended). */
static const struct sent *
find_sent_ts(uint32_t ts)
{
    size_t lo = 0, hi = B.nsent;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (B.sent[mid].ts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < B.nsent && B.sent[lo].ts == ts ? &B.sent[lo] : NULL;
}

/* The newest sent frame with this length and hash, or NULL. */
static const struct sent *
find_sent_hash(uint32_t len, uint64_t hash)
{
    for (size_t i = B.nsent; i-- > 0;)
        if (B.sent[i].len == len && B.sent[i].hash == hash)
            return &B.sent[i];
    return NULL;
}

static void
score_video(struct conn *c, const struct sl_chunk_msg *m, int64_t at)
{
    const struct sent *s = NULL;
    struct sl_flv_info info;
    uint32_t           len = m->payload->len;
    uint64_t           hash;

    sl_flv_inspect(SL_MSG_VIDEO, m->payload->data, len, &info);
    if (info.seq_header || info.command || info.seq_end)
        return;
    hash = frame_hash(m->payload->data, len);
    if (c->synced) {
        s = find_sent_ts(m->timestamp + (uint32_t) c->offset);
        if (s != NULL && (s->len != len || s->hash != hash)) {
            B.mismatches++;
            s = NULL;
        }
    }
    if (s == NULL) {
        s = find_sent_hash(len, hash);
        if (s == NULL) {
            c->unmatched++;
            return;
        }
        c->offset = (int32_t) (s->ts - m->timestamp);
        c->synced = 1;
    }
    if (c->in_window && s->at_us >= B.win_start_us && s->at_us < B.win_end_us) {
        c->got++;
        sl_hist_add(&B.lat, (uint64_t) (at > s->at_us ? at - s->at_us : 0));
    }
}

/* ---- incoming messages ----------------------------------------------- */

static void
on_status(struct conn *c, const struct sl_amf_doc *d)
{
    const struct sl_amf_node *info = sl_amf_at(d, 3);
    const struct sl_amf_node *code = sl_amf_prop(d, info, "code");
    const struct sl_amf_node *level = sl_amf_prop(d, info, "level");
    char                      text[128] = "";

    sl_amf_str_copy(code, text, sizeof(text));
    if (sl_amf_str_eq(level, "error")) {
        conn_fail(c, text[0] ? text : "error status");
        return;
    }
    if (c->state != ST_START)
        return;
    if ((c->role == ROLE_PUBLISHER &&
         !strcmp(text, "NetStream.Publish.Start")) ||
        (c->role == ROLE_PLAYER && !strcmp(text, "NetStream.Play.Start"))) {
        c->state = ST_LIVE;
        if (c->role == ROLE_PUBLISHER) {
            /* Media in bigger chunks, as encoders do.  The Set Chunk
             * Size itself still goes out in the old size. */
            uint8_t      v[4];
            struct sl_wr w;

            sl_wr_init(&w, v, sizeof(v));
            sl_wr_u32(&w, PUB_CHUNK_SIZE);
            if (pub_queue(2, SL_MSG_SET_CHUNK_SIZE, 0, 0, v, 4) < 0) {
                conn_fail(c, "out of memory");
                return;
            }
            sl_chunk_writer_set_chunk_size(B.pub_wr, PUB_CHUNK_SIZE);
            B.pub_start_us = sl_now_us();
            if (send_metadata() < 0 || pub_flush() < 0)
                conn_fail(c, "out of memory");
        } else {
            B.playing++;
            B.inflight--;
            B.last_start_us = sl_now_us();
        }
    }
}

static void
on_command(struct conn *c, const struct sl_chunk_msg *m)
{
    struct sl_amf_node        nodes[AMF_NODES];
    struct sl_amf_doc         d;
    double                    tid;
    const struct sl_amf_node *n;

    sl_amf_doc_init(&d, nodes, AMF_NODES);
    if (sl_amf_decode(&d, m->payload->data, m->payload->len) < 0)
        return; /* not ours to judge; nothing we wait for */
    n = sl_amf_at(&d, 1);
    tid = n != NULL && n->type == SL_AMF_NUMBER ? n->num : 0;
    n = sl_amf_at(&d, 0);
    if (sl_amf_str_eq(n, "onStatus")) {
        on_status(c, &d);
    } else if (sl_amf_str_eq(n, "_error")) {
        if (c->state == ST_CONNECT || c->state == ST_CREATE)
            conn_fail(c, c->state == ST_CONNECT ? "connect refused"
                                                : "createStream refused");
    } else if (sl_amf_str_eq(n, "_result")) {
        if (c->state == ST_CONNECT && tid == 1) {
            c->state = ST_CREATE;
            send_create_stream(c);
        } else if (c->state == ST_CREATE && tid == 2) {
            const struct sl_amf_node *id = sl_amf_at(&d, 3);

            c->stream_id = id != NULL && id->type == SL_AMF_NUMBER
                               ? (uint32_t) id->num
                               : 1;
            c->state = ST_START;
            send_start(c);
        }
    }
}

static void
on_message(struct conn *c, const struct sl_chunk_msg *m, int64_t at)
{
    struct sl_rd r;

    sl_rd_init(&r, m->payload->data, m->payload->len);
    switch (m->type) {
    case SL_MSG_VIDEO:
        if (c->role == ROLE_PLAYER && c->state == ST_LIVE)
            score_video(c, m, at);
        break;
    case SL_MSG_SET_CHUNK_SIZE: {
        uint32_t v = sl_rd_u32(&r) & 0x7fffffffu;

        if (r.err || sl_chunk_reader_set_chunk_size(c->rd, v) < 0)
            conn_fail(c, "bad Set Chunk Size");
        break;
    }
    case SL_MSG_ABORT:
        sl_chunk_reader_abort(c->rd, sl_rd_u32(&r));
        break;
    case SL_MSG_USER_CONTROL:
        /* Ping requests are answered so a server that checks liveness
         * keeps us; nothing else needs a reply. */
        if (sl_rd_u16(&r) == SL_UC_PING_REQUEST) {
            uint32_t v = sl_rd_u32(&r);

            if (r.err)
                break;
            if (c->role == ROLE_PUBLISHER) {
                uint8_t      body[6];
                struct sl_wr w;

                sl_wr_init(&w, body, sizeof(body));
                sl_wr_u16(&w, SL_UC_PING_RESPONSE);
                sl_wr_u32(&w, v);
                if (pub_queue(2, SL_MSG_USER_CONTROL, 0, 0, body, 6) == 0)
                    pub_flush();
            } else {
                send_encoded(c, sl_chunk_user_control(SL_UC_PING_RESPONSE, v,
                                                      SL_CHUNK_DEFAULT_SIZE));
            }
        }
        break;
    case SL_MSG_COMMAND_AMF0:
        on_command(c, m);
        break;
    default:
        break; /* audio, data, acks, bandwidth: nothing to do */
    }
}

/* Feeds received bytes through the handshake, then the chunk reader. */
static void
on_bytes(struct conn *c, const uint8_t *p, size_t len, int64_t at)
{
    if (c->state == ST_HANDSHAKE) {
        /* S0+S1 are kept (C2 echoes S1); S2 is only counted. */
        while (len > 0 && c->hs_got < 1 + 2 * SL_HANDSHAKE_SIZE) {
            if (c->hs_got < 1 + SL_HANDSHAKE_SIZE)
                c->hs[c->hs_got] = *p;
            c->hs_got++;
            p++;
            len--;
        }
        if (c->hs_got < 1 + 2 * SL_HANDSHAKE_SIZE)
            return;
        if (c->hs[0] != 3) {
            conn_fail(c, "server answered a version other than 3");
            return;
        }
        {
            uint8_t c2[SL_HANDSHAKE_SIZE];

            sl_handshake_client_c2(c->hs, c2);
            free(c->hs);
            c->hs = NULL;
            if (send_small(c, c2, sizeof(c2)) < 0)
                return;
        }
        c->state = ST_CONNECT;
        if (send_connect(c) < 0)
            return;
    }
    while (len > 0 && c->state != ST_DEAD) {
        struct sl_chunk_msg m;
        int                 n = sl_chunk_read(c->rd, p, len, &m);

        if (n < 0) {
            conn_fail(c, sl_chunk_reader_error(c->rd));
            return;
        }
        p += n;
        len -= (size_t) n;
        if (m.payload != NULL) {
            on_message(c, &m, at);
            sl_buf_unref(m.payload);
        }
    }
}

static void
on_event(struct conn *c, uint32_t events)
{
    if (c->state == ST_DEAD)
        return;
    if (c->state == ST_CONNECTING) {
        struct epoll_event ev;
        int                err = 0;
        socklen_t          elen = sizeof(err);

        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
        if (err != 0) {
            conn_fail(c, strerror(err));
            return;
        }
        c->hs = malloc(1 + SL_HANDSHAKE_SIZE);
        if (c->hs == NULL) {
            conn_fail(c, "out of memory");
            return;
        }
        c->state = ST_HANDSHAKE;
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        epoll_ctl(B.ep, EPOLL_CTL_MOD, c->fd, &ev);
        if (c->role == ROLE_PUBLISHER) {
            memcpy(B.pub_out, B.c0c1, sizeof(B.c0c1));
            B.pub_out_len = sizeof(B.c0c1);
            pub_flush();
        } else {
            send_small(c, B.c0c1, sizeof(B.c0c1));
        }
        return;
    }
    if (events & EPOLLIN) {
        ssize_t n = recv(c->fd, B.rbuf, READ_BUF, 0);
        int64_t at = sl_now_us();

        if (n > 0) {
            on_bytes(c, B.rbuf, (size_t) n, at);
        } else if (n == 0) {
            conn_fail(c, "closed by the server");
            return;
        } else if (errno != EAGAIN && errno != EINTR) {
            conn_fail(c, strerror(errno));
            return;
        }
    } else if (events & (EPOLLERR | EPOLLHUP)) {
        conn_fail(c, "connection error");
        return;
    }
    if (c->state != ST_DEAD && (events & EPOLLOUT) && c->role == ROLE_PUBLISHER)
        pub_flush();
}

/* ---- the run ------------------------------------------------------------ */

static void
on_signal(int sig)
{
    (void) sig;
    stop_flag = 1;
}

/* Opens new player connections while fewer than the concurrency limit
 * are still setting up.  This paces connects so the server's listen
 * backlog is never overrun (a dropped SYN costs a 1 s retransmit and
 * would measure the kernel, not the server). */
static void
open_players(int64_t now)
{
    unsigned burst = 0;

    while (B.opened < B.opt.players && B.inflight < B.opt.concurrency &&
           burst < 64) {
        struct conn *c = &B.players[B.opened++];
        int          rc;

        if (B.first_connect_us == 0)
            B.first_connect_us = now;
        rc = conn_open(c, ROLE_PLAYER);
        B.inflight++;
        burst++;
        if (rc < 0) {
            c->state = ST_CONNECTING;
            conn_fail(c, strerror(-rc));
        }
    }
}

/* The result, human-readable or as one CSV line (see run.sh). */
static void
report(double server_cpu_pct, long rss_base, long rss_end, double gen_cpu,
       double window_s, const double other[2])
{
    unsigned n = B.opt.players, below = 0;
    size_t   expected = 0;
    double   min_pct = 100.0, sum_pct = 0.0, conn_rate = 0.0;
    uint64_t unmatched = 0;
    double   p50, p99, p999, maxl, rss_pp = -1;
    int      saturated = gen_cpu > SATURATED_PCT;

    for (size_t i = 0; i < B.nsent; i++)
        if (B.sent[i].at_us >= B.win_start_us && B.sent[i].at_us < B.win_end_us)
            expected++;
    /* Every player counts, also those that never played or dropped: a
     * player that got nothing delivered 0%. */
    for (unsigned i = 0; i < n; i++) {
        struct conn *c = &B.players[i];
        double       pct = expected ? 100.0 * c->got / (double) expected : 0;

        if (pct > 100.0)
            pct = 100.0;
        if (pct < min_pct)
            min_pct = pct;
        if (pct < 98.0)
            below++;
        sum_pct += pct;
        unmatched += c->unmatched;
    }
    if (n == 0)
        min_pct = 0;
    if (B.playing > 0 && B.last_start_us > B.first_connect_us)
        conn_rate =
            B.playing * 1e6 / (double) (B.last_start_us - B.first_connect_us);
    p50 = sl_hist_quantile(&B.lat, 0.50) / 1000.0;
    p99 = sl_hist_quantile(&B.lat, 0.99) / 1000.0;
    p999 = sl_hist_quantile(&B.lat, 0.999) / 1000.0;
    maxl = B.lat.max / 1000.0;
    if (rss_base >= 0 && rss_end >= 0 && n > 0)
        rss_pp = (double) (rss_end - rss_base) / n;

    if (B.opt.csv) {
        /* players,playing,failed,dropped,expected,min%,avg%,below98,
         * p50,p99,p999,max,conn/s,srv_cpu%,rss_base,rss_end,rss/player,
         * gen_cpu%,saturated,unmatched,mismatches,window_s,
         * other_on_server_core%,other_on_generator_core% */
        printf("%u,%u,%u,%u,%zu,%.2f,%.2f,%u,%.1f,%.1f,%.1f,%.1f,%.0f,"
               "%.1f,%ld,%ld,%.2f,%.1f,%d,%llu,%llu,%.1f,%.1f,%.1f\n",
               n, B.playing, B.failed, B.dropped, expected, min_pct,
               n ? sum_pct / n : 0, below, p50, p99, p999, maxl, conn_rate,
               server_cpu_pct, rss_base, rss_end, rss_pp, gen_cpu, saturated,
               (unsigned long long) unmatched,
               (unsigned long long) B.mismatches, window_s, other[0], other[1]);
        return;
    }
    printf("players %u: playing %u, failed %u, dropped %u\n", n, B.playing,
           B.failed, B.dropped);
    printf("delivered: %zu frames expected per player in %.1f s; "
           "min %.2f%%, avg %.2f%%, %u players below 98%%\n",
           expected, window_s, min_pct, n ? sum_pct / n : 0, below);
    printf("latency: p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms "
           "(%llu frames)\n",
           p50, p99, p999, maxl, (unsigned long long) B.lat.count);
    printf("connections: %.0f per second\n", conn_rate);
    if (B.opt.server_pid > 0)
        printf("server: cpu %.1f%%, rss %ld KiB before players, %ld KiB at "
               "end, %.2f KiB per player\n",
               server_cpu_pct, rss_base, rss_end, rss_pp);
    printf("generator: cpu %.1f%%%s\n", gen_cpu,
           saturated ? "  SATURATED: the numbers above are suspect" : "");
    /* Time on the pinned cores beyond the server's and our own: other
     * processes (pinning keeps us off other cores, not others off ours)
     * and steal.  Much of it means latency and delivery are noisy. */
    if (other[0] >= 0 || other[1] >= 0)
        printf("other load: %.1f%% on the server's core, %.1f%% on ours\n",
               other[0], other[1]);
    if (unmatched || B.mismatches)
        printf("unmatched frames %llu, timestamp/content mismatches %llu\n",
               (unsigned long long) unmatched,
               (unsigned long long) B.mismatches);
}

int
main(int argc, char **argv)
{
    struct epoll_event *evs;
    enum {
        PH_PUBLISH,
        PH_SETTLE,
        PH_CONNECT,
        PH_WARMUP,
        PH_WINDOW,
        PH_DRAIN,
        PH_DONE
    } phase = PH_PUBLISH;
    int64_t   phase_end = 0, setup_deadline = 0, gen_cpu0 = 0, t_end;
    long long srv_ticks0 = -1, srv_ticks1 = -1;
    long long core0[2] = {-1, -1}, core1[2] = {-1, -1};
    int       cores[2];
    long      rss_base = -1, rss_end = -1;
    int       rc = 1;

    /* The same binary is also the minimal fan-out server whose CPU is the
     * floor the servers are measured against (bench/floor.c). */
    if (argc > 1 && !strcmp(argv[1], "--floor-server"))
        return sl_floor_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "--ladder"))
        return sl_bench_ladder_main(argc - 1, argv + 1);
    if (parse_options(argc, argv) < 0)
        return 2;
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (resolve(&B.pub_at) < 0 || resolve(&B.play_at) < 0 ||
        sl_flv_file_load(&B.flv, B.opt.input) < 0)
        return 1;
    sl_hist_init(&B.lat);
    sl_handshake_client_c0c1(B.c0c1);
    B.ep = epoll_create1(EPOLL_CLOEXEC);
    B.rbuf = malloc(READ_BUF);
    B.players = calloc(B.opt.players ? B.opt.players : 1, sizeof(*B.players));
    evs = calloc(MAX_EVENTS, sizeof(*evs));
    B.pub_out_cap = 64 * 1024;
    B.pub_out = malloc(B.pub_out_cap);
    B.pub_wr = sl_chunk_writer_new(SL_CHUNK_DEFAULT_SIZE);
    if (B.ep < 0 || B.rbuf == NULL || B.players == NULL || evs == NULL ||
        B.pub_out == NULL || B.pub_wr == NULL) {
        fprintf(stderr, "sluice-bench: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < B.opt.players; i++)
        B.players[i].fd = -1;
    if (conn_open(&B.pub, ROLE_PUBLISHER) < 0) {
        fprintf(stderr, "sluice-bench: cannot connect to %s:%s\n",
                B.pub_at.host, B.pub_at.port);
        return 1;
    }
    setup_deadline = sl_now_us() + 10 * 1000000LL;

    while (!stop_flag && phase != PH_DONE) {
        int64_t now = sl_now_us(), wait_us;
        int     n, timeout_ms;

        wait_us = pub_pump(now);
        switch (phase) {
        case PH_PUBLISH:
            if (B.pub.state == ST_LIVE) {
                /* Let the server fill its GOP cache before measuring the
                 * memory players add to it. */
                phase = PH_SETTLE;
                phase_end = now + (int64_t) (B.opt.settle_s * 1e6);
            } else if (now > setup_deadline) {
                fprintf(stderr, "sluice-bench: publisher not live after "
                                "10 s\n");
                goto out;
            }
            break;
        case PH_SETTLE:
            if (now >= phase_end) {
                if (B.opt.server_pid > 0)
                    rss_base = proc_rss_kb(B.opt.server_pid);
                phase = PH_CONNECT;
                setup_deadline = now + SETUP_TIMEOUT_S * 1000000LL;
            }
            break;
        case PH_CONNECT:
            open_players(now);
            if (B.playing + B.failed == B.opt.players || now > setup_deadline) {
                if (B.playing + B.failed < B.opt.players)
                    fprintf(stderr,
                            "sluice-bench: %u players still not "
                            "playing after %d s\n",
                            B.opt.players - B.playing - B.failed,
                            SETUP_TIMEOUT_S);
                phase = PH_WARMUP;
                phase_end = now + (int64_t) (B.opt.warmup_s * 1e6);
            }
            break;
        case PH_WARMUP:
            if (now >= phase_end) {
                /* Only players live at the start are scored; all others
                 * count as 0% delivered. */
                for (unsigned i = 0; i < B.opt.players; i++)
                    B.players[i].in_window = B.players[i].state == ST_LIVE;
                phase = PH_WINDOW;
                B.win_start_us = now;
                B.win_end_us = now + (int64_t) (B.opt.duration_s * 1e6);
                phase_end = B.win_end_us;
                if (B.opt.server_pid > 0)
                    srv_ticks0 = proc_cpu_ticks(B.opt.server_pid);
                gen_cpu0 = self_cpu_us();
                /* What else ran on the two pinned cores tells whether
                 * the machine was quiet (see report()). */
                cores[0] =
                    B.opt.server_pid > 0 ? pinned_cpu(B.opt.server_pid) : -1;
                cores[1] = pinned_cpu(0);
                for (int i = 0; i < 2; i++)
                    core0[i] = cores[i] >= 0 ? cpu_busy_ticks(cores[i]) : -1;
            }
            break;
        case PH_WINDOW:
            if (now >= phase_end) {
                t_end = now;
                if (B.opt.server_pid > 0) {
                    srv_ticks1 = proc_cpu_ticks(B.opt.server_pid);
                    rss_end = proc_rss_kb(B.opt.server_pid);
                }
                gen_cpu0 = self_cpu_us() - gen_cpu0;
                for (int i = 0; i < 2; i++)
                    core1[i] = cores[i] >= 0 ? cpu_busy_ticks(cores[i]) : -1;
                B.win_end_us = t_end;
                phase = PH_DRAIN;
                phase_end = now + (int64_t) (B.opt.drain_s * 1e6);
            }
            break;
        case PH_DRAIN:
            if (now >= phase_end)
                phase = PH_DONE;
            break;
        case PH_DONE:
            break;
        }
        if (phase == PH_DONE)
            break;
        if (phase == PH_CONNECT && B.inflight < B.opt.concurrency &&
            B.opened < B.opt.players)
            wait_us = 0;
        if (wait_us > 10000)
            wait_us = 10000;
        timeout_ms = wait_us <= 0 ? 0 : (int) ((wait_us + 999) / 1000);
        n = epoll_wait(B.ep, evs, MAX_EVENTS, timeout_ms);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            goto out;
        }
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr, evs[i].events);
    }
    if (phase != PH_DONE) {
        fprintf(stderr, "sluice-bench: stopped before the window ended\n");
        goto out;
    }
    {
        double window_s = (B.win_end_us - B.win_start_us) / 1e6;
        double srv_cpu = -1, gen_cpu, other[2];
        double hz = (double) sysconf(_SC_CLK_TCK);

        if (srv_ticks0 >= 0 && srv_ticks1 >= 0)
            srv_cpu =
                100.0 * (double) (srv_ticks1 - srv_ticks0) / hz / window_s;
        gen_cpu = 100.0 * (double) gen_cpu0 / 1e6 / window_s;
        for (int i = 0; i < 2; i++) {
            double own = i == 0 ? srv_cpu : gen_cpu;

            other[i] = -1; /* unknown: not pinned to one core */
            if (core0[i] >= 0 && core1[i] >= 0 && own >= 0) {
                other[i] =
                    100.0 * (double) (core1[i] - core0[i]) / hz / window_s -
                    own;
                if (other[i] < 0)
                    other[i] = 0; /* tick rounding */
            }
        }
        report(srv_cpu, rss_base, rss_end, gen_cpu, window_s, other);
    }
    rc = 0;
out:
    for (unsigned i = 0; i < B.opt.players; i++)
        conn_close(&B.players[i]);
    conn_close(&B.pub);
    sl_chunk_writer_free(B.pub_wr);
    free(B.pub_out);
    free(B.sent);
    free(B.players);
    free(B.rbuf);
    free(evs);
    sl_flv_file_free(&B.flv);
    close(B.ep);
    return rc;
}

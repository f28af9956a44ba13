/*
 * The fan-out floor server (see floor.h): one thread, one epoll set,
 * level-triggered, non-blocking sockets.
 *
 * Protocol: just enough for sluice-bench.  A connection gets the plain
 * handshake reply (rtmp/handshake.c), then its commands are read with
 * the chunk reader: connect gets Set Chunk Size 4096 and a _result,
 * createStream a _result with stream id 1, publish an onStatus
 * NetStream.Publish.Start, play a StreamBegin and an onStatus
 * NetStream.Play.Start.  Nothing is checked (app, stream name, a second
 * play): the bench sends one stream and the floor trusts it.
 *
 * The floor takes the same publisher as Sluice and nginx-rtmp rather than
 * reading the file itself, so sluice-bench runs unchanged against it and
 * its delivered and latency figures mean what they mean for the others.
 * Reading a 2 Mbit/s publisher costs next to nothing next to writing to
 * a thousand players.
 *
 * Fan-out: every audio or video message is chunk-encoded once
 * (sl_chunk_encode: chunk size 4096, message stream 1, a format-0 chunk
 * and format-3 continuations) into one buffer held in a ring indexed by
 * sequence number.  A player is a sequence number and a byte offset into
 * that message; nothing is queued or copied per player.  When a message
 * arrives and the last flush is at least the merge window old, every
 * player gets one writev of everything from its position to the ring's
 * head; otherwise a timer flushes at the end of the window.  With a
 * window of 0 this happens after every read from the publisher.  This
 * is the pacing Sluice's hub uses, so both make the same number of
 * writes per player per second.  A socket that takes less than offered
 * keeps its position and gets EPOLLOUT; it is written when it drains and
 * skipped by the flushes until then.  A joining player starts at the
 * newest keyframe, after the metadata and codec headers (kept outside
 * the ring, as encoders send them once).
 *
 * The ring keeps messages from the oldest position any player still
 * needs or the newest keyframe, whichever is older; the rest is freed
 * at every flush, so memory does not grow with time.  A player so far
 * behind that the ring is full is dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench/floor.h"
#include "pool/clock.h"
#include "rtmp/amf.h"
#include "rtmp/chunk.h"
#include "rtmp/flv.h"
#include "rtmp/handshake.h"
#include "rtmp/rd.h"
#include "rtmp/msg.h"

#define OUT_CHUNK_SIZE 4096
#define OUT_MSID 1 /* the stream id createStream returns */
#define CSID_CMD 3
#define CSID_AUDIO 4
#define CSID_DATA 5
#define CSID_VIDEO 6
#define RING_SLOTS 8192u /* a power of two: ~100 s of the bench's input */
#define MAX_MESSAGE (16u << 20)
#define MAX_CSIDS 16
#define READ_BUF (256 * 1024)
#define MAX_EVENTS 256
#define AMF_NODES 64
#define FLUSH_IOV 1024 /* IOV_MAX on Linux */

enum fstate { FS_HANDSHAKE, FS_COMMANDS, FS_PUBLISHING, FS_PLAYING };

struct fconn {
    int                     fd; /* -1 once closed */
    uint8_t                 state;
    uint8_t                 replied;  /* handshake reply sent */
    uint8_t                 want_out; /* socket was full: EPOLLOUT is on */
    uint32_t                live_idx; /* index in F.live while playing */
    uint32_t                off;      /* bytes of message next written */
    uint64_t                next;     /* ring sequence number to send */
    struct sl_handshake    *hs;
    struct sl_chunk_reader *rd;
    struct fconn           *next_dead;
};

static struct {
    int            ep;
    int            lfd;
    int64_t        merge_us;
    uint8_t       *rbuf;
    struct sl_buf *ring[RING_SLOTS];
    uint64_t       head;     /* sequence number of the next message */
    uint64_t       tail;     /* oldest message still held */
    uint64_t       last_key; /* newest video keyframe, when has_key */
    int            has_key;
    struct sl_buf *meta, *vseq, *aseq;
    struct fconn  *publisher;
    struct fconn **live; /* playing players */
    uint32_t       nlive, live_cap;
    int            flush_pending;
    int64_t        last_flush_us;
    struct fconn  *dead;         /* closed, freed after the event batch */
    unsigned long  players;      /* players that reached Play.Start */
    unsigned long  dropped;      /* players we dropped: write error, too slow */
    unsigned long  writes, full; /* writev calls; those the socket cut */
} F;

static volatile sig_atomic_t floor_stop;

static void
floor_on_signal(int sig)
{
    (void) sig;
    floor_stop = 1;
}

/* ---- connections -------------------------------------------------------- */

static void
set_want_out(struct fconn *c, int on)
{
    struct epoll_event ev;

    c->want_out = (uint8_t) on;
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
    ev.data.ptr = c;
    epoll_ctl(F.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Closes c now; its memory waits for the end of the event batch, since
 * a later event of the same batch may still point at it. */
static void
conn_close(struct fconn *c)
{
    if (c->fd < 0)
        return;
    epoll_ctl(F.ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    if (c->state == FS_PLAYING) {
        F.live[c->live_idx] = F.live[--F.nlive];
        F.live[c->live_idx]->live_idx = c->live_idx;
    }
    if (F.publisher == c)
        F.publisher = NULL;
    sl_handshake_free(c->hs);
    c->hs = NULL;
    sl_chunk_reader_free(c->rd);
    c->rd = NULL;
    c->next_dead = F.dead;
    F.dead = c;
}

/* Control and command replies are a few hundred bytes into an empty
 * socket buffer: a short write means the connection is broken. */
static int
send_bytes(struct fconn *c, const uint8_t *p, size_t len)
{
    ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

    if (n != (ssize_t) len) {
        conn_close(c);
        return -1;
    }
    return 0;
}

/* Sends b whole and drops the caller's reference; NULL (out of memory)
 * closes the connection. */
static int
send_buf(struct fconn *c, struct sl_buf *b)
{
    int rc;

    if (b == NULL) {
        conn_close(c);
        return -1;
    }
    rc = send_bytes(c, b->data, b->len);
    sl_buf_unref(b);
    return rc;
}

static int
send_cmd(struct fconn *c, uint32_t msid, const struct sl_wr *w)
{
    if (w->err) {
        conn_close(c);
        return -1;
    }
    return send_buf(c, sl_chunk_encode(CSID_CMD, SL_MSG_COMMAND_AMF0, msid, 0,
                                       w->start, sl_wr_len(w), OUT_CHUNK_SIZE));
}

static int
send_status(struct fconn *c, const char *code, const char *desc)
{
    uint8_t      buf[256];
    struct sl_wr w;

    sl_wr_init(&w, buf, sizeof(buf));
    sl_rtmp_msg_status(&w, "status", code, desc, NULL, 0);
    return send_cmd(c, OUT_MSID, &w);
}

/* ---- the ring ----------------------------------------------------------- */

static void
ring_trim(uint64_t keep)
{
    while (F.tail < keep) {
        sl_buf_unref(F.ring[F.tail % RING_SLOTS]);
        F.ring[F.tail % RING_SLOTS] = NULL;
        F.tail++;
    }
}

/* The oldest message anyone still needs: the newest keyframe for
 * joiners, and every player's position. */
static uint64_t
ring_keep(void)
{
    uint64_t keep = F.has_key ? F.last_key : F.head;

    for (uint32_t i = 0; i < F.nlive; i++)
        if (F.live[i]->next < keep)
            keep = F.live[i]->next;
    return keep;
}

static void
ring_push(struct sl_buf *wire, int keyframe)
{
    if (F.head - F.tail == RING_SLOTS) {
        /* Someone is a whole ring behind: the slowest go. */
        for (uint32_t i = F.nlive; i-- > 0;) {
            if (F.live[i]->next == F.tail) {
                F.dropped++;
                conn_close(F.live[i]);
            }
        }
        if (F.has_key && F.last_key == F.tail)
            F.has_key = 0;
        ring_trim(ring_keep());
    }
    F.ring[F.head % RING_SLOTS] = wire;
    if (keyframe) {
        F.last_key = F.head;
        F.has_key = 1;
    }
    F.head++;
    F.flush_pending = 1;
}

/* One writev of everything p has not received (more only when that is
 * over FLUSH_IOV messages, i.e. when it has just joined). */
static void
player_flush(struct fconn *p)
{
    struct iovec iov[FLUSH_IOV];

    while (p->next < F.head) {
        size_t   total = 0, left;
        int      cnt = 0;
        ssize_t  n;
        uint64_t s;

        for (s = p->next; s < F.head && cnt < FLUSH_IOV; s++, cnt++) {
            const struct sl_buf *b = F.ring[s % RING_SLOTS];
            size_t               skip = cnt == 0 ? p->off : 0;

            iov[cnt].iov_base = (void *) (b->data + skip);
            iov[cnt].iov_len = b->len - skip;
            total += b->len - skip;
        }
        n = writev(p->fd, iov, cnt);
        F.writes++;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                F.full++;
                if (!p->want_out)
                    set_want_out(p, 1);
                return;
            }
            F.dropped++;
            conn_close(p);
            return;
        }
        for (left = (size_t) n; left > 0;) {
            size_t rest = F.ring[p->next % RING_SLOTS]->len - p->off;

            if (left < rest) {
                p->off += (uint32_t) left;
                break;
            }
            left -= rest;
            p->next++;
            p->off = 0;
        }
        if ((size_t) n < total) {
            F.full++;
            if (!p->want_out)
                set_want_out(p, 1);
            return;
        }
    }
    if (p->want_out)
        set_want_out(p, 0);
}

static void
flush_all(int64_t now)
{
    uint64_t keep = F.has_key ? F.last_key : F.head;

    F.flush_pending = 0;
    F.last_flush_us = now;
    for (uint32_t i = 0; i < F.nlive;) {
        struct fconn *p = F.live[i];

        /* A full socket is written when EPOLLOUT says it drained. */
        if (!p->want_out && p->next < F.head)
            player_flush(p);
        if (p->fd < 0)
            continue; /* closed: live[i] is now another player */
        if (p->next < keep)
            keep = p->next;
        i++;
    }
    ring_trim(keep);
}

/* ---- messages ----------------------------------------------------------- */

static void
on_media(const struct sl_chunk_msg *m)
{
    /* AMF0 string "@setDataFrame": marker, 16-bit length, the text. */
    static const char  set_data_frame[] = "\x02\x00\x0d@setDataFrame";
    const size_t       sdf_len = sizeof(set_data_frame) - 1;
    const uint8_t     *p = m->payload->data;
    size_t             len = m->payload->len;
    struct sl_flv_info info;
    struct sl_buf     *wire;

    if (m->type == SL_MSG_DATA_AMF0) {
        /* Players get the metadata as the publisher's @setDataFrame
         * argument, once, when they join. */
        if (len > sdf_len && !memcmp(p, set_data_frame, sdf_len)) {
            p += sdf_len;
            len -= sdf_len;
        }
        wire = sl_chunk_encode(CSID_DATA, SL_MSG_DATA_AMF0, OUT_MSID, 0, p, len,
                               OUT_CHUNK_SIZE);
        if (wire != NULL) {
            sl_buf_unref(F.meta);
            F.meta = wire;
        }
        return;
    }
    if (m->type != SL_MSG_AUDIO && m->type != SL_MSG_VIDEO)
        return;
    sl_flv_inspect(m->type, p, len, &info);
    wire = sl_chunk_encode(m->type == SL_MSG_VIDEO ? CSID_VIDEO : CSID_AUDIO,
                           m->type, OUT_MSID, m->timestamp, p, len,
                           OUT_CHUNK_SIZE);
    if (wire == NULL) {
        fprintf(stderr, "floor: out of memory; message dropped\n");
        return;
    }
    if (info.seq_header) {
        struct sl_buf **slot = info.video ? &F.vseq : &F.aseq;

        sl_buf_unref(*slot);
        *slot = wire;
        return;
    }
    ring_push(wire, info.video && info.keyframe);
}

static void
start_playing(struct fconn *c)
{
    struct sl_buf *caches[3] = {F.meta, F.vseq, F.aseq};

    if (send_buf(c, sl_chunk_user_control(SL_UC_STREAM_BEGIN, OUT_MSID,
                                          OUT_CHUNK_SIZE)) < 0 ||
        send_status(c, "NetStream.Play.Start", "Started playing.") < 0)
        return;
    for (int i = 0; i < 3; i++)
        if (caches[i] != NULL &&
            send_bytes(c, caches[i]->data, caches[i]->len) < 0)
            return;
    if (F.nlive == F.live_cap) {
        uint32_t       ncap = F.live_cap ? F.live_cap * 2 : 1024;
        struct fconn **nl = realloc(F.live, ncap * sizeof(*nl));

        if (nl == NULL) {
            conn_close(c);
            return;
        }
        F.live = nl;
        F.live_cap = ncap;
    }
    c->state = FS_PLAYING;
    c->live_idx = F.nlive;
    F.live[F.nlive++] = c;
    c->next = F.has_key ? F.last_key : F.head;
    c->off = 0;
    F.players++;
    /* The cached GOP goes out at once, as a server answers a join. */
    player_flush(c);
}

static void
on_command(struct fconn *c, const struct sl_chunk_msg *m)
{
    struct sl_amf_node        nodes[AMF_NODES];
    struct sl_amf_doc         d;
    const struct sl_amf_node *name, *tidn;
    double                    tid;
    uint8_t                   buf[512];
    struct sl_wr              w;

    sl_amf_doc_init(&d, nodes, AMF_NODES);
    if (sl_amf_decode(&d, m->payload->data, m->payload->len) < 0)
        return;
    name = sl_amf_at(&d, 0);
    tidn = sl_amf_at(&d, 1);
    tid = tidn != NULL && tidn->type == SL_AMF_NUMBER ? tidn->num : 0;
    sl_wr_init(&w, buf, sizeof(buf));
    if (sl_amf_str_eq(name, "connect")) {
        /* Our own chunk size first, so every later reply and all media
         * use 4096-byte chunks. */
        if (send_buf(c, sl_chunk_ctrl(SL_MSG_SET_CHUNK_SIZE, OUT_CHUNK_SIZE,
                                      SL_CHUNK_DEFAULT_SIZE)) < 0)
            return;
        sl_rtmp_msg_connect_result(&w, tid, 0);
        send_cmd(c, 0, &w);
    } else if (sl_amf_str_eq(name, "createStream")) {
        sl_amf_put_string(&w, "_result");
        sl_amf_put_number(&w, tid);
        sl_amf_put_null(&w);
        sl_amf_put_number(&w, OUT_MSID);
        send_cmd(c, 0, &w);
    } else if (sl_amf_str_eq(name, "publish")) {
        if (F.publisher != NULL) {
            conn_close(c); /* one stream only */
            return;
        }
        F.publisher = c;
        c->state = FS_PUBLISHING;
        send_status(c, "NetStream.Publish.Start", "Started publishing.");
    } else if (sl_amf_str_eq(name, "play")) {
        start_playing(c);
    }
}

/* Feeds chunk-stream bytes until the connection is a player (whose
 * input is ignored from then on) or closed. */
static void
on_chunks(struct fconn *c, const uint8_t *p, size_t len)
{
    while (len > 0 && c->fd >= 0 && c->state != FS_PLAYING) {
        struct sl_chunk_msg m;
        int                 n = sl_chunk_read(c->rd, p, len, &m);

        if (n < 0) {
            fprintf(stderr, "floor: %s\n", sl_chunk_reader_error(c->rd));
            conn_close(c);
            return;
        }
        p += n;
        len -= (size_t) n;
        if (m.payload == NULL)
            continue;
        if (m.type == SL_MSG_SET_CHUNK_SIZE && m.payload->len >= 4) {
            struct sl_rd r;

            sl_rd_init(&r, m.payload->data, m.payload->len);
            if (sl_chunk_reader_set_chunk_size(c->rd,
                                               sl_rd_u32(&r) & 0x7fffffffu) < 0)
                conn_close(c);
        } else if (m.type == SL_MSG_COMMAND_AMF0) {
            on_command(c, &m);
        } else if (c->state == FS_PUBLISHING) {
            on_media(&m);
        }
        sl_buf_unref(m.payload);
    }
    if (c->state == FS_PLAYING && c->rd != NULL) {
        sl_chunk_reader_free(c->rd);
        c->rd = NULL;
    }
}

static void
on_handshake(struct fconn *c, const uint8_t *p, size_t len)
{
    int            n = sl_handshake_consume(c->hs, p, len);
    const uint8_t *reply;
    size_t         rlen;

    if (n < 0) {
        conn_close(c);
        return;
    }
    if (!c->replied && (reply = sl_handshake_reply(c->hs, &rlen)) != NULL) {
        if (send_bytes(c, reply, rlen) < 0)
            return;
        c->replied = 1;
    }
    if (!sl_handshake_done(c->hs))
        return;
    sl_handshake_free(c->hs);
    c->hs = NULL;
    c->state = FS_COMMANDS;
    on_chunks(c, p + n, len - (size_t) n);
}

/* ---- events ------------------------------------------------------------- */

static void
accept_all(void)
{
    for (;;) {
        int                fd, one = 1;
        uint8_t            seed[32];
        struct fconn      *c;
        struct epoll_event ev;

        fd = accept4(F.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                perror("floor: accept");
            return;
        }
        /* Writes are paced by the merge window, not by Nagle. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (getrandom(seed, sizeof(seed), 0) != (ssize_t) sizeof(seed))
            memset(seed, 0x5a, sizeof(seed));
        c = calloc(1, sizeof(*c));
        if (c != NULL) {
            c->fd = fd;
            c->hs = sl_handshake_new(seed);
            c->rd = sl_chunk_reader_new(MAX_MESSAGE, MAX_CSIDS);
        }
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        if (c == NULL || c->hs == NULL || c->rd == NULL ||
            epoll_ctl(F.ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            if (c != NULL) {
                sl_handshake_free(c->hs);
                sl_chunk_reader_free(c->rd);
                free(c);
            }
            close(fd);
        }
    }
}

static void
on_event(struct fconn *c, uint32_t events)
{
    if (c->fd < 0)
        return;
    if (events & EPOLLIN) {
        ssize_t n = recv(c->fd, F.rbuf, READ_BUF, 0);

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(c); /* the player left */
            return;
        }
        if (n > 0) {
            if (c->state == FS_HANDSHAKE)
                on_handshake(c, F.rbuf, (size_t) n);
            else if (c->state != FS_PLAYING)
                on_chunks(c, F.rbuf, (size_t) n);
            /* a player's own messages (SetBufferLength) need nothing */
        }
    } else if (events & (EPOLLERR | EPOLLHUP)) {
        conn_close(c);
        return;
    }
    if (c->fd >= 0 && (events & EPOLLOUT) && c->state == FS_PLAYING)
        player_flush(c);
}

/* ---- set-up ------------------------------------------------------------- */

static void
floor_usage(void)
{
    fprintf(stderr, "usage: sluice-bench --floor-server -l IPV4:PORT "
                    "[-m merge_ms]\n");
}

static int
listen_on(const char *spec)
{
    struct sockaddr_in sa = {0};
    char               host[64];
    const char        *colon = strrchr(spec, ':');
    long               port;
    int                one = 1;

    if (colon == NULL || (size_t) (colon - spec) >= sizeof(host))
        return -1;
    snprintf(host, sizeof(host), "%.*s", (int) (colon - spec), spec);
    port = strtol(colon + 1, NULL, 10);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);
    if (port <= 0 || port > 65535 ||
        inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    F.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (F.lfd < 0)
        return -1;
    /* No SO_REUSEPORT: a port another server holds must fail here. */
    setsockopt(F.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(F.lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
        listen(F.lfd, 1024) < 0) {
        perror("floor: bind/listen");
        close(F.lfd);
        return -1;
    }
    return 0;
}

/* Reads the options; -1 after printing the usage. */
static int
floor_options(int argc, char **argv, const char **listen_spec, long *merge_ms)
{
    static const struct option longs[] = {{"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int                        c;

    while ((c = getopt_long(argc, argv, "l:m:h", longs, NULL)) != -1) {
        switch (c) {
        case 'l':
            *listen_spec = optarg;
            break;
        case 'm':
            *merge_ms = strtol(optarg, NULL, 10);
            break;
        default:
            floor_usage();
            return -1;
        }
    }
    if (*listen_spec == NULL || *merge_ms < 0 || *merge_ms > 10000 ||
        optind != argc) {
        floor_usage();
        return -1;
    }
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

/* ---- the loop ----------------------------------------------------------- */

/* Frees the connections closed during the last event batch. */
static void
free_dead(void)
{
    while (F.dead != NULL) {
        struct fconn *d = F.dead;

        F.dead = d->next_dead;
        free(d);
    }
}

/* Serves until SIGINT or SIGTERM (or epoll_wait fails): accepts, reads,
 * and flushes every player once per merge window. */
static void
floor_loop(struct epoll_event *evs)
{
    while (!floor_stop) {
        int     timeout = -1, n;
        int64_t now;

        if (F.flush_pending) {
            int64_t wait = F.last_flush_us + F.merge_us - sl_now_us();

            timeout = wait <= 0 ? 0 : (int) ((wait + 999) / 1000);
        }
        n = epoll_wait(F.ep, evs, MAX_EVENTS, timeout);
        if (n < 0 && errno != EINTR) {
            perror("floor: epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                accept_all();
            else
                on_event(evs[i].data.ptr, evs[i].events);
        }
        now = sl_now_us();
        if (F.flush_pending && now - F.last_flush_us >= F.merge_us)
            flush_all(now);
        free_dead();
    }
}

/* Prints what the run did (run.sh keeps it in the floor's log) and
 * frees everything. */
static void
floor_finish(struct epoll_event *evs)
{
    fprintf(stderr,
            "floor: %lu players played, %lu dropped, %llu messages, "
            "%lu writev (%lu short or EAGAIN)\n",
            F.players, F.dropped, (unsigned long long) F.head, F.writes,
            F.full);
    close(F.lfd);
    close(F.ep);
    free(evs);
    free(F.rbuf);
    free(F.live);
    ring_trim(F.head);
    sl_buf_unref(F.meta);
    sl_buf_unref(F.vseq);
    sl_buf_unref(F.aseq);
}

int
sl_floor_main(int argc, char **argv)
{
    struct epoll_event ev, *evs;
    const char        *listen_spec = NULL;
    long               merge_ms = 50;

    if (floor_options(argc, argv, &listen_spec, &merge_ms) < 0)
        return 2;
    F.merge_us = merge_ms * 1000;
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, floor_on_signal);
    signal(SIGTERM, floor_on_signal);
    F.ep = epoll_create1(EPOLL_CLOEXEC);
    F.rbuf = malloc(READ_BUF);
    evs = calloc(MAX_EVENTS, sizeof(*evs));
    if (F.ep < 0 || F.rbuf == NULL || evs == NULL) {
        fprintf(stderr, "floor: out of memory\n");
        return 1;
    }
    if (listen_on(listen_spec) < 0) {
        fprintf(stderr, "floor: cannot listen on %s\n", listen_spec);
        return 1;
    }
    ev.events = EPOLLIN;
    ev.data.ptr = NULL; /* the listener */
    epoll_ctl(F.ep, EPOLL_CTL_ADD, F.lfd, &ev);
    fprintf(stderr, "floor: listening on %s, merge %ld ms\n", listen_spec,
            merge_ms);
    floor_loop(evs);
    floor_finish(evs);
    return 0;
}

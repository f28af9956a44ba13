/*
 * The generator's RTMP client: one publisher and N players, each a
 * struct sl_bench_conn moved through its states (bench.h) by the events
 * of the one epoll set.
 *
 * The publisher does the plain handshake, connect, createStream and
 * publish; after NetStream.Publish.Start it raises its chunk size, sends
 * the file's script tag as @setDataFrame and then every audio and video
 * tag when its timestamp falls due, looping the file with timestamps
 * that keep rising.  Its output goes through a buffer that is flushed as
 * the socket accepts it, because media can outrun a slow server.  A
 * player does the same handshake, connect, createStream and play, reads
 * with its own chunk reader, applies Set Chunk Size, answers pings and
 * hands every video message to measure.c.  HTTP-FLV players
 * (--flv-url) and LL-HLS viewers (--hls-url) share the connect, the
 * read and the failure paths here; what they send and parse is in
 * httpflv.c and hls.c.
 *
 * Memory: per player a small struct and a chunk reader; the handshake
 * buffer exists only while handshaking.  Nothing per message is kept
 * per player.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench.h"
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
#define READ_BUF (256 * 1024)
#define PUB_OUT_START (64 * 1024) /* the publisher's first output buffer */
#define AMF_NODES 64

/* Chunk stream ids for what we send (any in 3..65599 would do). */
#define CSID_CMD 3
#define CSID_AUDIO 4
#define CSID_VIDEO 6
#define CSID_DATA 5

/* The client's own state: C0+C1 (the same for every connection), one
 * read buffer for all sockets, and the publisher's output and pacing. */
static struct {
    uint8_t                 c0c1[1 + SL_HANDSHAKE_SIZE];
    uint8_t                *rbuf;
    struct sl_chunk_writer *pub_wr;
    uint8_t                *pub_out;
    size_t                  pub_out_len, pub_out_off, pub_out_cap;
    int                     pub_want_out;
    int64_t                 pub_start_us; /* wall time of ts 0 */
    size_t                  next_tag;
    uint32_t                pass;
} cl;

int
sl_bench_client_init(void)
{
    sl_handshake_client_c0c1(cl.c0c1);
    sl_bench.ep = epoll_create1(EPOLL_CLOEXEC);
    cl.rbuf = malloc(READ_BUF);
    cl.pub_out_cap = PUB_OUT_START;
    cl.pub_out = malloc(cl.pub_out_cap);
    cl.pub_wr = sl_chunk_writer_new(SL_CHUNK_DEFAULT_SIZE);
    if (sl_bench.ep < 0 || cl.rbuf == NULL || cl.pub_out == NULL ||
        cl.pub_wr == NULL)
        return -ENOMEM;
    return 0;
}

void
sl_bench_client_free(void)
{
    sl_chunk_writer_free(cl.pub_wr);
    free(cl.pub_out);
    free(cl.rbuf);
    if (sl_bench.ep >= 0)
        close(sl_bench.ep);
}

/* ---- connections -------------------------------------------------------- */

void
sl_bench_conn_close(struct sl_bench_conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(sl_bench.ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    free(c->hs);
    c->hs = NULL;
    if (c->role == ROLE_FLV_PLAYER) {
        free(c->fr);
        c->fr = NULL;
    } else if (c->role == ROLE_HLS_VIEWER) {
        sl_bench_hls_viewer_free(c->hv);
        c->hv = NULL;
    } else {
        sl_chunk_reader_free(c->rd);
        c->rd = NULL;
    }
}

static void
conn_fail(struct sl_bench_conn *c, const char *why)
{
    if (c->state == ST_DEAD)
        return;
    if (c->role == ROLE_PUBLISHER) {
        fprintf(stderr, "sluice-bench: publisher: %s\n", why);
        sl_bench_stop = 1;
    } else if (c->state == ST_LIVE) {
        sl_bench.dropped++;
        if (sl_bench.dropped <= 5)
            fprintf(stderr, "sluice-bench: player %ld dropped: %s\n",
                    (long) (c - sl_bench.players), why);
    } else {
        sl_bench.failed++;
        sl_bench.inflight--;
        if (sl_bench.failed <= 5)
            fprintf(stderr, "sluice-bench: player %ld failed: %s\n",
                    (long) (c - sl_bench.players), why);
    }
    c->state = ST_DEAD;
    sl_bench_conn_close(c);
}

void
sl_bench_conn_fail(struct sl_bench_conn *c, const char *why)
{
    conn_fail(c, why);
}

int
sl_bench_conn_open(struct sl_bench_conn *c, enum sl_bench_role role)
{
    struct sl_bench_endpoint *at =
        role == ROLE_PUBLISHER ? &sl_bench.pub_at : &sl_bench.play_at;
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
    if (role == ROLE_FLV_PLAYER)
        c->fr = sl_bench_flv_reader_new();
    else if (role == ROLE_HLS_VIEWER)
        c->hv = sl_bench_hls_viewer_new();
    else
        c->rd = sl_chunk_reader_new(MAX_MESSAGE, MAX_CSIDS);
    if (role == ROLE_FLV_PLAYER   ? c->fr == NULL
        : role == ROLE_HLS_VIEWER ? c->hv == NULL
                                  : c->rd == NULL) {
        close(c->fd);
        c->fd = -1;
        return -ENOMEM;
    }
    if (connect(c->fd, (struct sockaddr *) &at->addr, at->addr_len) < 0 &&
        errno != EINPROGRESS) {
        int e = -errno;

        sl_bench_conn_close(c);
        return e;
    }
    ev.events = EPOLLOUT;
    ev.data.ptr = c;
    if (epoll_ctl(sl_bench.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        int e = -errno;

        sl_bench_conn_close(c);
        return e;
    }
    return 0;
}

/* Sends a small control or command message whole.  Players send only a
 * few hundred bytes in all, into an empty socket buffer, so a short
 * write means the connection is broken. */
static int
send_small(struct sl_bench_conn *c, const uint8_t *p, size_t len)
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
    struct sl_bench_conn *c = &sl_bench.pub;

    while (cl.pub_out_off < cl.pub_out_len) {
        ssize_t n = send(c->fd, cl.pub_out + cl.pub_out_off,
                         cl.pub_out_len - cl.pub_out_off, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            conn_fail(c, strerror(errno));
            return -1;
        }
        cl.pub_out_off += (size_t) n;
    }
    if (cl.pub_out_off == cl.pub_out_len)
        cl.pub_out_off = cl.pub_out_len = 0;
    if ((cl.pub_out_len > 0) != cl.pub_want_out) {
        struct epoll_event ev;

        cl.pub_want_out = cl.pub_out_len > 0;
        ev.events = EPOLLIN | (cl.pub_want_out ? EPOLLOUT : 0);
        ev.data.ptr = c;
        epoll_ctl(sl_bench.ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
    return 0;
}

static int
pub_queue(uint32_t csid, uint8_t type, uint32_t msid, uint32_t ts,
          const uint8_t *p, size_t len)
{
    for (;;) {
        size_t room = cl.pub_out_cap - cl.pub_out_len;
        int    n;

        n = sl_chunk_write(cl.pub_wr, cl.pub_out + cl.pub_out_len, room, csid,
                           type, msid, ts, p, len);
        if (n >= 0) {
            cl.pub_out_len += (size_t) n;
            return 0;
        }
        if (n != -ENOSPC)
            return n;
        /* Compact first; grow only when the pending bytes need it. */
        if (cl.pub_out_off > 0) {
            memmove(cl.pub_out, cl.pub_out + cl.pub_out_off,
                    cl.pub_out_len - cl.pub_out_off);
            cl.pub_out_len -= cl.pub_out_off;
            cl.pub_out_off = 0;
            continue;
        }
        {
            size_t   ncap = cl.pub_out_cap * 2 + len + len / 64 + 64;
            uint8_t *nb = realloc(cl.pub_out, ncap);

            if (nb == NULL)
                return -ENOMEM;
            cl.pub_out = nb;
            cl.pub_out_cap = ncap;
        }
    }
}

/* Sends an encoded message (NULL: out of memory) and drops it. */
static int
send_encoded(struct sl_bench_conn *c, struct sl_buf *b)
{
    int rc;

    if (b == NULL)
        return -1;
    rc = send_small(c, b->data, b->len);
    sl_buf_unref(b);
    return rc;
}

/* Sends one encoded command (AMF0, message type 20), or queues it for
 * the publisher. */
static int
send_command(struct sl_bench_conn *c, uint32_t msid, struct sl_wr *w)
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
send_connect(struct sl_bench_conn *c)
{
    const struct sl_bench_endpoint *at =
        c->role == ROLE_PUBLISHER ? &sl_bench.pub_at : &sl_bench.play_at;
    uint8_t      buf[1024];
    struct sl_wr w;

    sl_wr_init(&w, buf, sizeof(buf));
    sl_rtmp_msg_connect(&w, 1, at->app, at->tc_url);
    return send_command(c, 0, &w);
}

static int
send_create_stream(struct sl_bench_conn *c)
{
    uint8_t      buf[64];
    struct sl_wr w;

    sl_wr_init(&w, buf, sizeof(buf));
    sl_rtmp_msg_create_stream(&w, 2);
    return send_command(c, 0, &w);
}

static int
send_start(struct sl_bench_conn *c)
{
    uint8_t      buf[600];
    struct sl_wr w;

    sl_wr_init(&w, buf, sizeof(buf));
    if (c->role == ROLE_PUBLISHER) {
        sl_rtmp_msg_publish(&w, sl_bench.pub_at.stream);
        return send_command(c, c->stream_id, &w);
    }
    if (c->stream_ix > 0) {
        /* --rungs: the rung of the played stream (STREAM_RUNG). */
        char name[sizeof(sl_bench.play_at.stream) + SL_BENCH_RUNG_NAME + 1];

        snprintf(name, sizeof(name), "%s_%s", sl_bench.play_at.stream,
                 sl_bench.opt.rungs[c->stream_ix - 1]);
        sl_rtmp_msg_play(&w, name, -2);
    } else {
        sl_rtmp_msg_play(&w, sl_bench.play_at.stream, -2);
    }
    if (send_command(c, c->stream_id, &w) < 0)
        return -1;
    /* A one-second buffer, as players announce before media. */
    return send_encoded(c, sl_chunk_user_control2(SL_UC_SET_BUFFER_LENGTH,
                                                  c->stream_id, 1000,
                                                  SL_CHUNK_DEFAULT_SIZE));
}

/* ---- the publisher's media --------------------------------------------- */

static int
send_metadata(void)
{
    const struct sl_flv_tag *meta = NULL;
    uint8_t                 *buf;
    struct sl_wr             w;
    int                      rc;

    for (size_t i = 0; i < sl_bench.flv.ntags && meta == NULL; i++)
        if (sl_bench.flv.tags[i].type == 18)
            meta = &sl_bench.flv.tags[i];
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
    rc = pub_queue(CSID_DATA, SL_MSG_DATA_AMF0, sl_bench.pub.stream_id, 0, buf,
                   sl_wr_len(&w));
    free(buf);
    return rc;
}

/* Queues every tag that is due; returns microseconds until the next. */
int64_t
sl_bench_pub_pump(int64_t now)
{
    const struct sl_flv_file *f = &sl_bench.flv;
    int                       queued = 0;

    if (sl_bench.pub.state != ST_LIVE)
        return 100000;
    for (;;) {
        const struct sl_flv_tag *t = &f->tags[cl.next_tag];
        uint32_t                 ts = t->ts + cl.pass * f->duration_ms;
        int64_t                  due = cl.pub_start_us + (int64_t) ts * 1000;
        uint32_t                 csid = t->type == 9 ? CSID_VIDEO : CSID_AUDIO;

        if (due > now)
            break;
        /* Script tags went out once as metadata; codec headers are sent
         * on the first pass only, as an encoder would. */
        if (t->type != 18 && !(t->seq_header && cl.pass > 0)) {
            if (pub_queue(csid, t->type, sl_bench.pub.stream_id, ts, t->body,
                          t->len) < 0) {
                conn_fail(&sl_bench.pub, "out of memory");
                return 100000;
            }
            queued = 1;
            if (t->type == 9 && !t->seq_header &&
                sl_bench_record_sent(t, ts, now) < 0) {
                conn_fail(&sl_bench.pub, "out of memory");
                return 100000;
            }
        }
        if (++cl.next_tag == f->ntags) {
            cl.next_tag = 0;
            cl.pass++;
        }
    }
    if (queued && pub_flush() < 0)
        return 100000;
    {
        const struct sl_flv_tag *t = &f->tags[cl.next_tag];
        uint32_t                 ts = t->ts + cl.pass * f->duration_ms;

        return cl.pub_start_us + (int64_t) ts * 1000 - now;
    }
}

/* ---- incoming messages ----------------------------------------------- */

static void
on_status(struct sl_bench_conn *c, const struct sl_amf_doc *d)
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
            sl_chunk_writer_set_chunk_size(cl.pub_wr, PUB_CHUNK_SIZE);
            cl.pub_start_us = sl_now_us();
            if (send_metadata() < 0 || pub_flush() < 0)
                conn_fail(c, "out of memory");
        } else {
            sl_bench.playing++;
            sl_bench.inflight--;
            sl_bench.last_start_us = sl_now_us();
        }
    }
}

static void
on_command(struct sl_bench_conn *c, const struct sl_chunk_msg *m)
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
on_message(struct sl_bench_conn *c, const struct sl_chunk_msg *m, int64_t at)
{
    struct sl_rd r;

    sl_rd_init(&r, m->payload->data, m->payload->len);
    switch (m->type) {
    case SL_MSG_VIDEO:
        if (c->role != ROLE_PLAYER || c->state != ST_LIVE)
            break;
        if (sl_bench.opt.nrungs > 0)
            sl_bench_delay_video(c, m->timestamp, m->payload->data,
                                 m->payload->len, at);
        else
            sl_bench_score_video(c, m->timestamp, m->payload->data,
                                 m->payload->len, at);
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
on_bytes(struct sl_bench_conn *c, const uint8_t *p, size_t len, int64_t at)
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

void
sl_bench_conn_event(struct sl_bench_conn *c, uint32_t events)
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
        if (c->role == ROLE_FLV_PLAYER) {
            sl_bench_flv_connected(c);
            return;
        }
        if (c->role == ROLE_HLS_VIEWER) {
            sl_bench_hls_connected(c);
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
        epoll_ctl(sl_bench.ep, EPOLL_CTL_MOD, c->fd, &ev);
        if (c->role == ROLE_PUBLISHER) {
            memcpy(cl.pub_out, cl.c0c1, sizeof(cl.c0c1));
            cl.pub_out_len = sizeof(cl.c0c1);
            pub_flush();
        } else {
            send_small(c, cl.c0c1, sizeof(cl.c0c1));
        }
        return;
    }
    if (events & EPOLLIN) {
        ssize_t n = recv(c->fd, cl.rbuf, READ_BUF, 0);
        int64_t at = sl_now_us();

        if (n > 0 && c->role == ROLE_FLV_PLAYER) {
            sl_bench_flv_bytes(c, cl.rbuf, (size_t) n, at);
        } else if (n > 0 && c->role == ROLE_HLS_VIEWER) {
            sl_bench_hls_bytes(c, cl.rbuf, (size_t) n, at);
        } else if (n > 0) {
            on_bytes(c, cl.rbuf, (size_t) n, at);
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

/* Opens new player connections while fewer than the concurrency limit
 * are still setting up.  This paces connects so the server's listen
 * backlog is never overrun (a dropped SYN costs a 1 s retransmit and
 * would measure the kernel, not the server). */
void
sl_bench_open_players(int64_t now)
{
    unsigned burst = 0;

    while (sl_bench.opened < sl_bench.opt.players &&
           sl_bench.inflight < sl_bench.opt.concurrency && burst < 64) {
        struct sl_bench_conn *c = &sl_bench.players[sl_bench.opened++];
        int                   rc;

        if (sl_bench.first_connect_us == 0)
            sl_bench.first_connect_us = now;
        rc = sl_bench_conn_open(c,
                                sl_bench.opt.hls_url != NULL   ? ROLE_HLS_VIEWER
                                : sl_bench.opt.flv_url != NULL ? ROLE_FLV_PLAYER
                                                               : ROLE_PLAYER);
        /* --rungs: player k plays rung k (player 0 the source). */
        if (sl_bench.opt.nrungs > 0)
            c->stream_ix = (uint8_t) (sl_bench.opened - 1);
        sl_bench.inflight++;
        burst++;
        if (rc < 0) {
            c->state = ST_CONNECTING;
            conn_fail(c, strerror(-rc));
        }
    }
}

/* The result, human-readable or as one CSV line (see run.sh). */

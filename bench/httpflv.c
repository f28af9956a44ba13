/*
 * The generator's HTTP-FLV player (--flv-url): what a browser's flv.js
 * or ffplay does with http://HOST:PORT/APP/NAME.flv.
 *
 * Once its TCP connect completes (client.c), a player sends one GET with
 * a Host header and reads the response head into a buffer of at most
 * SL_BENCH_HEAD_MAX bytes, freed as soon as the head is complete: a 200
 * with Content-Type video/x-flv and a body that lasts until the
 * connection ends (no Transfer-Encoding).  The bytes after the head go
 * to the player's FLV reader (flvread.c): the file header, which makes
 * the player "playing" (the counterpart of RTMP's NetStream.Play.Start
 * for the connection rate), then tags.  A video tag's body is exactly an
 * RTMP video message's body, so measure.c matches and scores it the same
 * way; audio and script tags are read and skipped.
 *
 * Memory per player: the 48-byte record and the reader (about 110
 * bytes; no tag body is kept), plus the head buffer while the head is
 * read.  The one read buffer is client.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "bench/bench.h"
#include "bench/flvread.h"
#include "pool/clock.h"

struct sl_bench_flvrd *
sl_bench_flv_reader_new(void)
{
    struct sl_bench_flvrd *r = malloc(sizeof(*r));

    if (r != NULL)
        sl_bench_flvrd_init(r);
    return r;
}

void
sl_bench_flv_connected(struct sl_bench_conn *c)
{
    const struct sl_bench_endpoint *at = &sl_bench.play_at;
    struct epoll_event              ev;
    char                            req[1600];
    int                             n;
    ssize_t                         sent;

    c->hs = malloc(SL_BENCH_HEAD_MAX);
    if (c->hs == NULL) {
        sl_bench_conn_fail(c, "out of memory");
        return;
    }
    c->hs_got = 0;
    c->state = ST_RESPONSE;
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(sl_bench.ep, EPOLL_CTL_MOD, c->fd, &ev);
    /* An IPv6 literal goes in brackets in Host, as in the URL. */
    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s%s%s:%s\r\n"
                 "User-Agent: sluice-bench\r\n"
                 "Accept: */*\r\n"
                 "\r\n",
                 at->target, strchr(at->host, ':') ? "[" : "", at->host,
                 strchr(at->host, ':') ? "]" : "", at->port);
    if (n < 0 || (size_t) n >= sizeof(req)) {
        sl_bench_conn_fail(c, "request too long");
        return;
    }
    /* A few hundred bytes into an empty socket buffer: a short write
     * means the connection is broken. */
    sent = send(c->fd, req, (size_t) n, MSG_NOSIGNAL);
    if (sent != n)
        sl_bench_conn_fail(c, sent < 0 ? strerror(errno) : "short write");
}

/* Collects the response head; once it is complete and a 200 for FLV,
 * frees its buffer.  Returns the bytes of p that belonged to the head,
 * -EAGAIN while it is incomplete, -EPROTO when c failed. */
static int
head_bytes(struct sl_bench_conn *c, const uint8_t *p, size_t len)
{
    size_t old = c->hs_got, n = SL_BENCH_HEAD_MAX - old;
    char   why[128];
    int    end;

    if (n > len)
        n = len;
    memcpy(c->hs + old, p, n);
    c->hs_got += (uint32_t) n;
    end = sl_bench_http_head_end(c->hs, c->hs_got, old > 3 ? old - 3 : 0);
    if (end == -EAGAIN) {
        if (c->hs_got < SL_BENCH_HEAD_MAX)
            return -EAGAIN;
        sl_bench_conn_fail(c, "response head too long");
        return -EPROTO;
    }
    if (sl_bench_http_head_check(c->hs, (size_t) end, why, sizeof(why)) < 0) {
        sl_bench_conn_fail(c, why);
        return -EPROTO;
    }
    free(c->hs);
    c->hs = NULL;
    return end - (int) old;
}

void
sl_bench_flv_bytes(struct sl_bench_conn *c, const uint8_t *p, size_t len,
                   int64_t at)
{
    if (c->hs != NULL) {
        int n = head_bytes(c, p, len);

        if (n < 0)
            return;
        p += n;
        len -= (size_t) n;
    }
    while (len > 0 && c->state != ST_DEAD) {
        struct sl_bench_flv_msg m;
        int                     n = sl_bench_flvrd_read(c->fr, p, len, &m);

        if (n < 0) {
            sl_bench_conn_fail(c, c->fr->err);
            return;
        }
        p += n;
        len -= (size_t) n;
        if (m.event == SL_BENCH_FLV_HEADER && c->state == ST_RESPONSE) {
            c->state = ST_LIVE;
            sl_bench.playing++;
            sl_bench.inflight--;
            sl_bench.last_start_us = sl_now_us();
        } else if (m.event == SL_BENCH_FLV_TAG && m.type == 9 &&
                   c->state == ST_LIVE) {
            sl_bench_score_video(c, m.ts, m.head, m.len, at);
        }
    }
}

/*
 * The generator's LL-HLS viewer (--hls-url): what hls.js does with one
 * variant's media playlist, minus the decoding.
 *
 * Each viewer is one kept-alive HTTP/1.1 connection on the generator's
 * epoll loop, one request at a time (no pipelining):
 *
 *   1. GET the playlist; the first 200 makes the viewer "playing" (a 404
 *      before it, the stream not packaged yet, is retried every
 *      RETRY_US).  The part to start with is the newest one listed.
 *   2. GET the part to fetch (its URI from the EXT-X-PART line,
 *      resolved against the playlist's path); count it and its bytes.
 *   3. If the playlist held lists a part after the one just fetched,
 *      GET it (step 2); a viewer never skips a part.  Otherwise ask for
 *      the next one: a blocking reload, ?_HLS_msn=M&_HLS_part=P for the
 *      place of EXT-X-PRELOAD-HINT (the part after the newest listed),
 *      which the server holds until that part exists; then step 2.
 *
 * With --hls-poll (a server of static files, which cannot hold a
 * request) step 3 is instead a plain GET of the playlist once every part
 * target (PART-TARGET) after the previous one was sent, and the hinted
 * part, which does not exist yet as a file, is never asked for.
 *
 * The delay of a part is its last byte's arrival (the wall clock) minus
 * its end on the playlist's clock: the segment's PROGRAM-DATE-TIME plus
 * the durations of its parts through this one.  Sluice dates a segment
 * by the wall clock at which its first media arrived, and the publisher
 * sends media in real time, so this is about the time from the part's
 * last frame being published to the part being in the viewer's hands:
 * the packager, the hold or the poll period, and the transfer.  It
 * assumes the server and the generator share a clock, as they do on one
 * machine.
 *
 * Only Content-Length bodies are read (hlsread.c); a response with
 * Connection: close ends the viewer (counted as dropped), as does any
 * other protocol surprise.  Memory per viewer: this struct (an 8 KiB
 * head buffer in it) and the newest playlist; a part's bytes are
 * counted and dropped from client.c's one read buffer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include "bench/bench.h"
#include "bench/hist.h"
#include "bench/hlsread.h"
#include "pool/clock.h"

#define RETRY_US 500000         /* a playlist not there yet, an error */
#define DEFAULT_PERIOD_MS 1000  /* a playlist without PART-TARGET */
#define MIN_PERIOD_MS 50        /* the fastest a viewer polls */
#define PLAYLIST_MAX (1u << 20) /* the longest playlist kept */
#define REQUEST_MAX 1600
#define NEVER INT64_MAX

/* What the request in flight asks for. */
enum want {
    W_PLAYLIST, /* the playlist, plain */
    W_RELOAD,   /* the playlist, held until want_pos exists */
    W_PART      /* the part at want_pos */
};

struct sl_bench_hlsv {
    uint8_t want;      /* enum want, of the request in flight or due */
    uint8_t idle;      /* none in flight: a W_PLAYLIST is sent at due */
    uint8_t in_body;   /* the head is read; body_left bytes follow */
    uint8_t keep;      /* the body is a playlist to keep in pl */
    uint8_t close;     /* the server said Connection: close */
    uint8_t have_last; /* last is set */
    int     status;    /* of the response being read */

    struct sl_bench_hls_pos last;     /* the newest part fetched */
    struct sl_bench_hls_pos want_pos; /* the part asked for */
    int64_t  part_end_ms; /* want_pos's end on the playlist's clock */
    int64_t  sent_at;     /* when the request in flight was sent */
    int64_t  poll_at;     /* when the last plain playlist GET was sent */
    int64_t  due;         /* while idle: when the next request goes */
    uint32_t period_ms;   /* PART-TARGET of the newest playlist */

    uint64_t body_left;
    uint64_t body_len;
    uint32_t head_got;
    uint32_t pl_len, pl_cap;
    uint8_t *pl; /* the newest playlist's body */

    uint8_t head[SL_BENCH_HLS_HEAD_MAX];
};

/* Every viewer's sums over the window (a viewer's own count of parts
 * is its conn's `got`, which outlives a viewer that dies), the newest
 * part target seen, and the timer's next due. */
static struct {
    struct sl_hist delay; /* microseconds */
    uint64_t       playlists, reloads, part_bytes, wire_bytes, errors, early;
    uint32_t       part_target_ms;
    int64_t        next_due;
    int            init;
} H;

static void
hls_init(void)
{
    if (H.init)
        return;
    sl_hist_init(&H.delay);
    H.next_due = NEVER;
    H.init = 1;
}

struct sl_bench_hlsv *
sl_bench_hls_viewer_new(void)
{
    struct sl_bench_hlsv *v = calloc(1, sizeof(*v));

    hls_init();
    return v;
}

void
sl_bench_hls_viewer_free(struct sl_bench_hlsv *v)
{
    if (v != NULL)
        free(v->pl);
    free(v);
}

static int64_t
wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- requests ----------------------------------------------------------- */

/* Sends one GET of path (which holds its query).  A request is a few
 * hundred bytes into a socket with nothing else in flight, so a short
 * write means the connection is broken.  0, or -1 with c failed. */
static int
send_get(struct sl_bench_conn *c, const char *path, int64_t now)
{
    const struct sl_bench_endpoint *at = &sl_bench.play_at;
    char                            req[REQUEST_MAX];
    int                             v6 = strchr(at->host, ':') != NULL, n;
    ssize_t                         sent;

    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s%s%s:%s\r\n"
                 "User-Agent: sluice-bench\r\n"
                 "Accept: */*\r\n"
                 "\r\n",
                 path, v6 ? "[" : "", at->host, v6 ? "]" : "", at->port);
    if (n < 0 || (size_t) n >= sizeof(req)) {
        sl_bench_conn_fail(c, "request too long");
        return -1;
    }
    sent = send(c->fd, req, (size_t) n, MSG_NOSIGNAL);
    if (sent != n) {
        sl_bench_conn_fail(c, sent < 0 ? strerror(errno) : "short write");
        return -1;
    }
    c->hv->idle = 0;
    c->hv->sent_at = now;
    return 0;
}

/* The playlist, plain (a poll, or the first request). */
static int
get_playlist(struct sl_bench_conn *c, int64_t now)
{
    c->hv->want = W_PLAYLIST;
    c->hv->poll_at = now;
    return send_get(c, sl_bench.play_at.target, now);
}

/* The playlist once the part at pos exists (a blocking reload). */
static int
get_reload(struct sl_bench_conn *c, const struct sl_bench_hls_pos *pos,
           int64_t now)
{
    const char *t = sl_bench.play_at.target;
    char        path[sizeof(sl_bench.play_at.target) + 64];

    snprintf(path, sizeof(path), "%s%c_HLS_msn=%" PRIu64 "&_HLS_part=%u", t,
             strchr(t, '?') != NULL ? '&' : '?', pos->msn, pos->part);
    c->hv->want = W_RELOAD;
    c->hv->want_pos = *pos;
    if (sl_bench_in_window(now))
        H.reloads++;
    return send_get(c, path, now);
}

/* The part the scan found next: its URI resolved against the
 * playlist's path (a path from the root is taken as it is; a URI with a
 * scheme is not followed). */
static int
get_part(struct sl_bench_conn *c, const struct sl_bench_hls_scan *s,
         int64_t now)
{
    const char *t = sl_bench.play_at.target, *q, *slash;
    char        path[sizeof(sl_bench.play_at.target) + SL_BENCH_HLS_URI_MAX];

    if (strstr(s->next_uri, "://") != NULL) {
        sl_bench_conn_fail(c, "a part URI with a scheme is not followed");
        return -1;
    }
    if (s->next_uri[0] == '/') {
        snprintf(path, sizeof(path), "%s", s->next_uri);
    } else {
        q = strchr(t, '?');
        slash = t;
        for (const char *p = t; *p && (q == NULL || p < q); p++)
            if (*p == '/')
                slash = p;
        snprintf(path, sizeof(path), "%.*s%s", (int) (slash - t + 1), t,
                 s->next_uri);
    }
    c->hv->want = W_PART;
    c->hv->want_pos = s->next;
    c->hv->part_end_ms = s->next_end_ms;
    return send_get(c, path, now);
}

/* No request in flight until `due`, when the playlist is asked for. */
static void
wait_until(struct sl_bench_conn *c, int64_t due)
{
    c->hv->idle = 1;
    c->hv->want = W_PLAYLIST;
    c->hv->due = due;
    if (due < H.next_due)
        H.next_due = due;
}

/* The next step after a playlist or a part: the next part listed, or
 * else a blocking reload for the hinted one, or a poll when its time
 * comes.  `early` says a blocking reload just came back without a new
 * part sooner than half a part target: the server does not hold, and
 * the viewer waits a part target rather than spin. */
static void
next_step(struct sl_bench_conn *c, const struct sl_bench_hls_scan *s,
          int64_t now, int early)
{
    struct sl_bench_hlsv *v = c->hv;
    int64_t               period = (int64_t) v->period_ms * 1000;

    if (s->have_next) {
        get_part(c, s, now);
    } else if (sl_bench.opt.hls_poll || s->ended || !s->have_hint) {
        wait_until(c, v->poll_at + period > now ? v->poll_at + period : now);
    } else if (early) {
        H.early++;
        wait_until(c, now + period);
    } else {
        get_reload(c, &s->hint, now);
    }
}

void
sl_bench_hls_connected(struct sl_bench_conn *c)
{
    struct epoll_event ev;

    c->state = ST_RESPONSE;
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(sl_bench.ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->hv->period_ms = DEFAULT_PERIOD_MS;
    get_playlist(c, sl_now_us());
}

int64_t
sl_bench_hls_tick(int64_t now)
{
    int64_t next = NEVER;

    if (!H.init || now < H.next_due)
        return H.init && H.next_due != NEVER ? H.next_due - now : 1000000;
    for (unsigned i = 0; i < sl_bench.opened; i++) {
        struct sl_bench_conn *c = &sl_bench.players[i];

        if (c->state == ST_DEAD || c->hv == NULL || !c->hv->idle)
            continue;
        if (c->hv->due <= now)
            get_playlist(c, now);
        else if (c->hv->due < next)
            next = c->hv->due;
    }
    H.next_due = next;
    return next != NEVER ? next - now : 1000000;
}

/* ---- responses ---------------------------------------------------------- */

/* A playlist (plain or held) came back whole. */
static void
on_playlist(struct sl_bench_conn *c, int64_t at)
{
    struct sl_bench_hlsv    *v = c->hv;
    struct sl_bench_hls_scan s;
    int                      early;

    if (v->status != 200) {
        /* Before the first 200 a 404 is the stream not packaged yet. */
        if (v->status != 404 || c->state == ST_LIVE)
            H.errors++;
        wait_until(c, at + RETRY_US);
        return;
    }
    if (sl_bench_hls_scan(v->pl, v->pl_len, v->have_last ? &v->last : NULL,
                          &s) < 0) {
        sl_bench_conn_fail(c, "malformed media playlist");
        return;
    }
    v->period_ms = s.part_target_ms ? s.part_target_ms : DEFAULT_PERIOD_MS;
    if (s.part_target_ms)
        H.part_target_ms = s.part_target_ms;
    if (v->period_ms < MIN_PERIOD_MS)
        v->period_ms = MIN_PERIOD_MS;
    if (c->state == ST_RESPONSE) {
        c->state = ST_LIVE;
        sl_bench.playing++;
        sl_bench.inflight--;
        sl_bench.last_start_us = at;
        /* Viewers opened together would poll in step, all just before
         * or all just after a part appears, and the delay would be the
         * luck of one phase.  Real players start at random times: each
         * viewer's polls are shifted by its own fraction of the period,
         * spread evenly by a multiplicative hash of its index. */
        if (sl_bench.opt.hls_poll) {
            uint32_t k = (uint32_t) (c - sl_bench.players) * 2654435761u;

            v->poll_at -= (int64_t) v->period_ms * (k >> 22) * 1000 / 1024;
        }
    }
    if (sl_bench_in_window(at))
        H.playlists++;
    early = v->want == W_RELOAD && !s.have_next &&
            at - v->sent_at < (int64_t) v->period_ms * 500;
    next_step(c, &s, at, early);
}

/* A part came back whole: counted, then the next step from the
 * playlist held. */
static void
on_part(struct sl_bench_conn *c, int64_t at)
{
    struct sl_bench_hlsv    *v = c->hv;
    struct sl_bench_hls_scan s;

    if (sl_bench_in_window(at)) {
        if (v->status == 200) {
            c->got++;
            H.part_bytes += v->body_len;
            if (v->part_end_ms >= 0) {
                int64_t d = wall_us() - v->part_end_ms * 1000;

                sl_hist_add(&H.delay, (uint64_t) (d > 0 ? d : 0));
            }
        } else {
            H.errors++;
        }
    }
    /* A part that failed is not asked for again: the viewer moves on,
     * as a player that skips a missing part would. */
    v->last = v->want_pos;
    v->have_last = 1;
    if (sl_bench_hls_scan(v->pl, v->pl_len, &v->last, &s) < 0) {
        sl_bench_conn_fail(c, "malformed media playlist");
        return;
    }
    next_step(c, &s, at, 0);
}

/* The head is complete: sets up the body's reading. */
static int
on_head(struct sl_bench_conn *c, const struct sl_bench_http_resp *r)
{
    struct sl_bench_hlsv *v = c->hv;

    v->status = r->status;
    v->close = r->close;
    v->body_left = v->body_len = r->content_length;
    v->in_body = 1;
    v->keep = v->want != W_PART && r->status == 200;
    if (!v->keep)
        return 0;
    if (r->content_length > PLAYLIST_MAX) {
        sl_bench_conn_fail(c, "playlist over 1 MiB");
        return -1;
    }
    if (r->content_length > v->pl_cap) {
        uint32_t cap = (uint32_t) r->content_length + 1024;
        uint8_t *pl = realloc(v->pl, cap);

        if (pl == NULL) {
            sl_bench_conn_fail(c, "out of memory");
            return -1;
        }
        v->pl = pl;
        v->pl_cap = cap;
    }
    v->pl_len = 0;
    return 0;
}

/* Consumes head bytes; returns how many of p were the head's, or -1
 * (c failed) or -EAGAIN (all consumed, the head goes on). */
static int
head_bytes(struct sl_bench_conn *c, const uint8_t *p, size_t len)
{
    struct sl_bench_hlsv     *v = c->hv;
    struct sl_bench_http_resp r;
    size_t                    old = v->head_got, n = sizeof(v->head) - old;
    char                      why[128];
    int                       end;

    if (n > len)
        n = len;
    memcpy(v->head + old, p, n);
    v->head_got += (uint32_t) n;
    end = sl_bench_http_resp_head(v->head, v->head_got, old, &r, why,
                                  sizeof(why));
    if (end == -EAGAIN)
        return -EAGAIN;
    if (end < 0) {
        sl_bench_conn_fail(c, why);
        return -1;
    }
    v->head_got = 0;
    if (on_head(c, &r) < 0)
        return -1;
    return end - (int) old;
}

void
sl_bench_hls_bytes(struct sl_bench_conn *c, const uint8_t *p, size_t len,
                   int64_t at)
{
    struct sl_bench_hlsv *v = c->hv;

    if (sl_bench_in_window(at))
        H.wire_bytes += len;
    while (len > 0 && c->state != ST_DEAD) {
        size_t n;

        if (v->idle) {
            sl_bench_conn_fail(c, "bytes with no request in flight");
            return;
        }
        if (!v->in_body) {
            int h = head_bytes(c, p, len);

            if (h < 0)
                return;
            p += h;
            len -= (size_t) h;
        }
        n = len < v->body_left ? len : (size_t) v->body_left;
        if (v->keep) {
            memcpy(v->pl + v->pl_len, p, n);
            v->pl_len += (uint32_t) n;
        }
        p += n;
        len -= n;
        v->body_left -= n;
        if (v->body_left > 0)
            return;
        v->in_body = 0;
        if (v->close) {
            sl_bench_conn_fail(c, "the server closes the connection");
            return;
        }
        if (v->want == W_PART)
            on_part(c, at);
        else
            on_playlist(c, at);
    }
}

/* ---- the result --------------------------------------------------------- */

/* Everything the result line shows. */
struct hls_result {
    unsigned n, starved;
    uint64_t parts, min_parts, max_parts;
    double   expected, avg_parts;
    double   p50, p99, maxd;
};

static void
sum_viewers(struct hls_result *r, double window_s)
{
    r->n = sl_bench.opt.players;
    r->min_parts = UINT64_MAX;
    for (unsigned i = 0; i < r->n; i++) {
        uint64_t parts = sl_bench.players[i].got;

        r->parts += parts;
        if (parts < r->min_parts)
            r->min_parts = parts;
        if (parts > r->max_parts)
            r->max_parts = parts;
        if (parts == 0)
            r->starved++;
    }
    if (r->n == 0)
        r->min_parts = 0;
    r->avg_parts = r->n ? (double) r->parts / r->n : 0;
    /* What one viewer should get: the window over the part target
     * (parts are cut at the first frame at or after it). */
    r->expected = H.part_target_ms ? window_s * 1000.0 / H.part_target_ms : 0;
    r->p50 = sl_hist_quantile(&H.delay, 0.50) / 1000.0;
    r->p99 = sl_hist_quantile(&H.delay, 0.99) / 1000.0;
    r->maxd = H.delay.max / 1000.0;
}

void
sl_bench_hls_report(void)
{
    struct sl_bench_loads l;
    struct hls_result     r = {0};
    double                w;

    hls_init();
    sl_bench_window_loads(&l);
    w = l.window_s > 0 ? l.window_s : 1;
    sum_viewers(&r, w);
    if (sl_bench.opt.csv) {
        /* viewers,playing,failed,dropped,window_s,mode,parts,parts/s,
         * part_bytes/s,wire_bytes/s,expected/viewer,min,avg,max parts
         * per viewer,viewers without parts,playlists/s,reloads/s,errors,
         * early reloads,delay p50,p99,max ms,srv cpu%,user%,sys%,
         * also cpu%,rss base,rss end,gen cpu%,saturated,other% server
         * core,other% generator core */
        printf("%u,%u,%u,%u,%.1f,%s,%" PRIu64 ",%.1f,%.0f,%.0f,%.1f,"
               "%" PRIu64 ",%.1f,%" PRIu64 ",%u,%.1f,%.1f,%" PRIu64 ",%" PRIu64
               ",%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%ld,%ld,"
               "%.1f,%d,%.1f,%.1f\n",
               r.n, sl_bench.playing, sl_bench.failed, sl_bench.dropped, w,
               sl_bench.opt.hls_poll ? "poll" : "block", r.parts, r.parts / w,
               H.part_bytes / w, H.wire_bytes / w, r.expected, r.min_parts,
               r.avg_parts, r.max_parts, r.starved, H.playlists / w,
               H.reloads / w, H.errors, H.early, r.p50, r.p99, r.maxd,
               l.srv_cpu, l.srv_user, l.srv_sys, l.also_cpu, l.rss_base,
               l.rss_end, l.gen_cpu, l.saturated, l.other[0], l.other[1]);
        return;
    }
    printf("viewers %u (%s): playing %u, failed %u, dropped %u\n", r.n,
           sl_bench.opt.hls_poll ? "polling" : "blocking reloads",
           sl_bench.playing, sl_bench.failed, sl_bench.dropped);
    printf("parts in %.1f s: %" PRIu64 " (%.1f/s, %.2f MB/s; %.2f MB/s on "
           "the wire); per viewer min %" PRIu64 ", avg %.1f, max %" PRIu64
           " of about %.0f; %u viewers got none\n",
           w, r.parts, r.parts / w, H.part_bytes / w / 1e6,
           H.wire_bytes / w / 1e6, r.min_parts, r.avg_parts, r.max_parts,
           r.expected, r.starved);
    printf("playlists %.1f/s (blocking reloads %.1f/s), errors %" PRIu64
           ", reloads answered early %" PRIu64 "\n",
           H.playlists / w, H.reloads / w, H.errors, H.early);
    printf("part delay (its end on the playlist's clock to its last byte): "
           "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%" PRIu64 " parts)\n",
           r.p50, r.p99, r.maxd, H.delay.count);
    if (sl_bench.opt.server_pid > 0)
        printf("server: cpu %.1f%% (user %.1f%%, sys %.1f%%), rss %ld KiB "
               "before viewers, %ld KiB at end\n",
               l.srv_cpu, l.srv_user, l.srv_sys, l.rss_base, l.rss_end);
    if (sl_bench.opt.also_pid > 0)
        printf("also-pid %d: cpu %.1f%%\n", sl_bench.opt.also_pid, l.also_cpu);
    printf("generator: cpu %.1f%%%s\n", l.gen_cpu,
           l.saturated ? "  SATURATED: the numbers above are suspect" : "");
    if (l.other[0] >= 0 || l.other[1] >= 0)
        printf("other load: %.1f%% on the server's core, %.1f%% on ours\n",
               l.other[0], l.other[1]);
}

/*
 * The public web port (web/http_conn.c) as viewers and operators see it.
 *
 * One server serves every test of the suite (they use streams of their
 * own and do not interfere): RTMP, the web port over HTTP and HTTPS (a
 * certificate made at test time), [web] request_timeout and
 * keepalive_timeout of 2 s, max_lag 1 s, publish_grace 500 ms, an app
 * with play_secret and an app whose on_play asks
 * tests/support/callback_server.py.  The last
 * test stops it: exit status 0, no ERROR line, no sanitizer report.
 *
 * - ffmpeg reads http://.../live/NAME.flv of what ffmpeg publishes, next
 *   to an RTMP player: H.264 of the published size and AAC, every frame
 *   of the overlap, a keyframe first, timestamps in order; the response
 *   ends by itself after the publisher left.
 * - HTTP as a raw client sees it: HEAD, 404, 405, the CORS preflight and
 *   headers (default and after a reload with cors_origins), pipelining,
 *   keep-alive and HTTP/1.0.
 * - Authorization like an RTMP play: signed URLs and the on_play
 *   callback; no secret in the log.
 * - Bad input beside a viewer that keeps all its frames: malformed
 *   requests, huge heads and path traversal get their status and a
 *   close, slowloris and idle keep-alive connections time out, a flood
 *   of idle connections from 127.0.0.2 is held off by the per-address
 *   limit.
 * - A viewer that stops reading is dropped; another one keeps every
 *   frame.
 * - The response ends publish_grace after the publisher left, not
 *   before.
 * - HTTPS: ffmpeg reads https://.../live/NAME.flv.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/itest.h"
#include "tests/support/flood.h"

#define PLAY_SECRET "web-play-s3cret-4-tests"
#define CN "sluice-web-test"
#define PER_IP 100      /* [server] max_pending_per_ip */
#define FLOOD_CONNS 300 /* idle connections 127.0.0.2 tries to hold */

/* The server every test shares, and what it needs. */
static struct {
    struct sl_srv      srv;
    int                tls_port;      /* [web] tls_listen */
    char               dir[PATH_MAX]; /* certificate, callback server files */
    char               cert[PATH_MAX + 16], key[PATH_MAX + 16];
    struct sl_itest_cb cb; /* tests/support/callback_server.py */
} W;

/* ---- the shared server ---- */

static int
make_cert(void)
{
    char log[PATH_MAX + 32];

    snprintf(W.cert, sizeof(W.cert), "%s/web.crt", W.dir);
    snprintf(W.key, sizeof(W.key), "%s/web.key", W.dir);
    snprintf(log, sizeof(log), "%s/openssl-req.log", W.dir);
    return sl_itest_make_cert(CN, W.cert, W.key, log);
}

/* The [server] keys and the sections after [app:live]; cors, when not
 * NULL, is [web] cors_origins. */
static void
server_config(const char *cors, char *keys, size_t kcap, char *sect,
              size_t scap)
{
    snprintf(keys, kcap,
             "max_lag = 1s\npublish_grace = 500ms\n"
             /* The tests open many connections from 127.0.0.1 in
              * bursts; the count limit below is what they test. */
             "connection_rate_per_ip = 0\n"
             "max_pending_per_ip = %d\n"
             "tls_cert = %s\ntls_key = %s\n",
             PER_IP, W.cert, W.key);
    snprintf(sect, scap,
             "[web]\ntls_listen = 127.0.0.1:%d\nrequest_timeout = 2s\n"
             "keepalive_timeout = 2s\n%s%s%s"
             "[app:signed]\nplay_secret = " PLAY_SECRET "\n"
             "[app:cb]\non_play = http://127.0.0.1:%d/rules\n"
             "on_done = http://127.0.0.1:%d/rules\n"
             "callback_timeout = 2s\n",
             W.tls_port, cors ? "cors_origins = " : "", cors ? cors : "",
             cors ? "\n" : "", W.cb.port, W.cb.port);
}

static int
suite_init(void)
{
    char keys[3 * PATH_MAX], sect[1024];

    memset(&W, 0, sizeof(W));
    if (sl_tmpdir(W.dir) < 0 || make_cert() != 0)
        return -1;
    if (sl_itest_cb_start(&W.cb, W.dir) != 0) {
        fprintf(stderr, "web: the callback server did not start\n");
        return -1;
    }
    W.tls_port = sl_free_port();
    if (W.tls_port < 0)
        return -1;
    server_config(NULL, keys, sizeof(keys), sect, sizeof(sect));
    if (sl_srv_start(&W.srv, keys, sect) < 0)
        return -1;
    if (sl_wait_port(W.tls_port, IT_S(5)) < 0) {
        fprintf(stderr, "web: no HTTPS port\n");
        return -1;
    }
    return 0;
}

/* After each test: whatever it left running goes, but for the server
 * and the callback server the next tests use. */
static void
test_teardown(void)
{
    pid_t keep[2] = {W.srv.proc.pid, W.cb.proc.pid};

    sl_proc_kill_all_except(keep, 2);
}

/* ---- small helpers ---- */

static void
srv_file(const char *name, char *out, size_t cap)
{
    sl_srv_path(&W.srv, name, out, cap);
}

/* Starts ffmpeg publishing av to rtmp://.../APP/NAME and waits until the
 * server says it publishes. */
static int
publish(struct sl_proc *p, const char *app, const char *name,
        const struct sl_av *av)
{
    char url[256], log[PATH_MAX + 32], f[96], line[128];
    int  before;

    sl_srv_url(&W.srv, app, name, url, sizeof(url));
    snprintf(f, sizeof(f), "pub-%s-%s.log", app, name);
    srv_file(f, log, sizeof(log));
    snprintf(line, sizeof(line), "publishing %s/%s\n", app, name);
    before = sl_file_count(W.srv.log, line);
    if (sl_ffmpeg_publish(p, url, av, log) < 0)
        return -1;
    if (sl_wait_file_count(W.srv.log, line, before + 1, IT_S(10)) < 0) {
        sl_show_tail("publisher", log);
        return -1;
    }
    return 0;
}

/* Starts ffmpeg reading url (http:// or https://) into DIR/TAG.flv with
 * the server's timestamps (-copyts), and waits until the server says it
 * plays. */
static int
flv_reader(struct sl_proc *p, const char *url, const char *tag, char *out,
           size_t cap)
{
    char        log[PATH_MAX + 32], f[96];
    int         before = sl_file_count(W.srv.log, "(http-flv)"), n = 0;
    const char *args[16];

    snprintf(f, sizeof(f), "%s.flv", tag);
    srv_file(f, out, cap);
    snprintf(f, sizeof(f), "%s.log", tag);
    srv_file(f, log, sizeof(log));
    args[n++] = "-y";
    if (!strncmp(url, "https:", 6)) {
        /* A self-signed certificate.  (Plain http has no TLS layer to
         * take the option, and ffmpeg refuses an option nobody took.) */
        args[n++] = "-tls_verify";
        args[n++] = "0";
    }
    args[n++] = "-copyts";
    args[n++] = "-i";
    args[n++] = url;
    args[n++] = "-c";
    args[n++] = "copy";
    args[n++] = "-f";
    args[n++] = "flv";
    args[n++] = out;
    args[n] = NULL;
    if (sl_ffmpeg_spawn(p, args, log) < 0)
        return -1;
    if (sl_wait_file_count(W.srv.log, "(http-flv)", before + 1, IT_S(10)) < 0) {
        sl_show_tail("reader", log);
        return -1;
    }
    return 0;
}

static void
flv_url(const char *scheme, int port, const char *app, const char *name,
        char *out, size_t cap)
{
    snprintf(out, cap, "%s://127.0.0.1:%d/%s/%s.flv", scheme, port, app, name);
}

/* Waits for a child that must end by itself with status 0; shows its
 * log when it did not. */
static int
ends_ok(struct sl_proc *p, const char *what, const char *tag, double bound)
{
    char log[PATH_MAX + 32], f[96];
    int  ok = sl_proc_wait(p, bound) == 0 && sl_proc_exited_with(p, 0);

    if (!ok) {
        snprintf(f, sizeof(f), "%s.log", tag);
        srv_file(f, log, sizeof(log));
        fprintf(stderr, "  %s did not end with status 0 within %.0f s\n", what,
                bound);
        sl_show_tail(what, log);
    }
    sl_proc_kill(p);
    return ok;
}

/* Video packets of pk with a pts at or after from. */
static long
video_from(const struct sl_pkts *pk, long from)
{
    long n = 0;

    for (size_t i = 0; i < pk->n; i++)
        if (pk->p[i].type == 'v' && pk->p[i].pts != LONG_MIN &&
            pk->p[i].pts >= from)
            n++;
    return n;
}

/* A viewer's recording: H.264 at av's size and AAC, a keyframe first,
 * timestamps in order, and at least 98 % of the video frames sent while
 * it watched.  Those are ref's frames from the viewer's first one on
 * when ref (a recording of a player that saw the whole stream, on the
 * same timeline) is given, else the frames its first and last
 * timestamps span, which must cover at least min_span_ms (so a viewer
 * cut short fails). */
static void
expect_viewer(const char *file, const struct sl_av *av,
              const struct sl_pkts *ref, long min_span_ms, const char *what)
{
    struct sl_probe pr;
    struct sl_pkts  pk;
    long            first = 0, last = 0, got, want, ref_first, ref_last;

    CU_ASSERT_FATAL(sl_probe_file(file, &pr) == 0);
    sl_probe_print(what, &pr);
    CU_ASSERT_STRING_EQUAL(pr.vcodec, "h264");
    CU_ASSERT(pr.width == av->width && pr.height == av->height);
    CU_ASSERT_STRING_EQUAL(pr.acodec, "aac");
    CU_ASSERT(pr.audio_packets > 0);
    CU_ASSERT(pr.first_video_key);
    CU_ASSERT(pr.video_dts_monotonic);
    CU_ASSERT(pr.audio_dts_monotonic);
    CU_ASSERT_FATAL(sl_probe_packets(file, &pk) == 0);
    got = (long) sl_pkts_span(&pk, 'v', &first, &last);
    if (ref != NULL && sl_pkts_span(ref, 'v', &ref_first, &ref_last) > 0) {
        want = video_from(ref, first);
        /* It saw the stream to its end. */
        CU_ASSERT(last >= ref_last - 1000 / av->fps);
    } else {
        want = (last - first) * av->fps / 1000 + 1;
        CU_ASSERT(last - first >= min_span_ms);
    }
    fprintf(stderr, "  %s: %ld video frames from %ld to %ld ms, %ld sent\n",
            what, got, first, last, want);
    CU_ASSERT(want > 0 && got * 100 >= want * 98);
    sl_pkts_free(&pk);
}

/* ---- a raw HTTP connection ---- */

struct hc {
    int    fd;
    int    lport; /* our port: the server's log names the connection by it */
    char   src[32];
    size_t len;
    char   buf[96 * 1024]; /* received, not yet consumed */
};

/* One response as hc_response() read it. */
struct resp {
    int    lport;  /* of the connection it came on */
    int    status; /* 0: no status line */
    char   head[4096];
    char   body[2048];
    size_t body_len;
};

/* A connection from src (NULL: any) to 127.0.0.1:port; rcvbuf > 0 sets
 * SO_RCVBUF first.  NULL on failure, with the reason on stderr. */
static struct hc *
hc_open(const char *src, int port, int rcvbuf)
{
    struct hc         *c = calloc(1, sizeof(*c));
    struct sockaddr_in a;
    socklen_t          alen = sizeof(a);
    double             bound = IT_S(5);
    struct timeval     tv = {(time_t) bound, 0};

    if (c == NULL)
        return NULL;
    c->fd = sl_socket_from(src, 0);
    if (c->fd < 0)
        goto fail;
    if (rcvbuf > 0)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* connect() on a blocking socket honours SO_SNDTIMEO (a full
     * backlog); every other call here polls with a bound. */
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
        getsockname(c->fd, (struct sockaddr *) &a, &alen) < 0)
        goto fail;
    c->lport = ntohs(a.sin_port);
    snprintf(c->src, sizeof(c->src), "%s", src ? src : "127.0.0.1");
    return c;
fail:
    fprintf(stderr, "  web client: connect to %d: %s\n", port, strerror(errno));
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    return NULL;
}

static void
hc_close(struct hc *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    free(c);
}

/* Sends all of p[0..n) (the socket may be closed by the server meanwhile:
 * the caller decides whether that matters).  0 or -errno. */
static int
hc_send(struct hc *c, const void *p, size_t n)
{
    const char *s = p;

    while (n > 0) {
        struct pollfd pf = {c->fd, POLLOUT, 0};
        ssize_t       w;

        if (poll(&pf, 1, (int) (IT_S(5) * 1000)) <= 0)
            return -ETIMEDOUT;
        w = send(c->fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w < 0)
            return -errno;
        s += w;
        n -= (size_t) w;
    }
    return 0;
}

static int
hc_sends(struct hc *c, const char *s)
{
    return hc_send(c, s, strlen(s));
}

/* Reads what arrives before deadline into the buffer: the bytes read,
 * -ECONNRESET at the end of the stream or a reset, -ETIMEDOUT, or
 * -ENOBUFS when the buffer is full. */
static int
hc_fill(struct hc *c, double deadline)
{
    for (;;) {
        struct pollfd pf = {c->fd, POLLIN, 0};
        ssize_t       n;
        double        left = deadline - sl_now();

        if (c->len == sizeof(c->buf))
            return -ENOBUFS;
        if (left <= 0)
            return -ETIMEDOUT;
        if (poll(&pf, 1, left > 0.1 ? 100 : (int) (left * 1000) + 1) <= 0)
            continue;
        n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
        if (n > 0) {
            c->len += (size_t) n;
            return (int) n;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return -ECONNRESET;
    }
}

static void
hc_consume(struct hc *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* The value of header name (any case) in a response head into out, or
 * NULL when there is none. */
static const char *
hdr(const struct resp *r, const char *name, char *out, size_t cap)
{
    size_t      nlen = strlen(name);
    const char *p = r->head;

    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;

            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int) strcspn(v, "\r\n"), v);
            return out;
        }
    }
    return NULL;
}

/* Reads the next response within timeout_s.  No body for HEAD (no_body),
 * 1xx, 204 and 304 (RFC 9112 6.3); else Content-Length bytes, or what
 * comes until the server closes.  What follows it stays in the buffer.
 * 0, or -errno (-ECONNRESET: the server closed first). */
static int
hc_response(struct hc *c, int no_body, struct resp *r, double timeout_s)
{
    double deadline = sl_now() + timeout_s;
    char   v[32], *end;
    size_t hlen, blen;
    int    rc;

    memset(r, 0, sizeof(*r));
    r->lport = c->lport;
    while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
        if ((rc = hc_fill(c, deadline)) < 0)
            return rc;
    hlen = (size_t) (end - c->buf) + 4;
    snprintf(r->head, sizeof(r->head), "%.*s", (int) hlen - 2, c->buf);
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        r->status = 0;
    if (no_body || r->status < 200 || r->status == 204 || r->status == 304) {
        blen = 0;
    } else if (hdr(r, "Content-Length", v, sizeof(v)) != NULL) {
        blen = (size_t) strtoul(v, NULL, 10);
        while (c->len < hlen + blen)
            if ((rc = hc_fill(c, deadline)) < 0)
                return rc;
    } else {
        while ((rc = hc_fill(c, deadline)) >= 0)
            ;
        if (rc != -ECONNRESET)
            return rc;
        blen = c->len - hlen;
    }
    r->body_len = blen;
    snprintf(r->body, sizeof(r->body), "%.*s", (int) blen, c->buf + hlen);
    hc_consume(c, hlen + blen);
    return 0;
}

/* 1 when the server closes c within timeout_s (EOF or a reset). */
static int
hc_closed(struct hc *c, double timeout_s)
{
    return sl_wait_peer_closed(c->fd, timeout_s) == 0;
}

/* What an FLV response carried, as hc_flv() parses it. */
struct flv_seen {
    int  header_ok;    /* "FLV", version 1, 9-byte header */
    int  flags;        /* its audio (4) and video (1) bits */
    long video, audio; /* tags, codec headers included */
    long frames;       /* AVC frames (not codec headers) */
    int  first_key;    /* the first AVC frame is a keyframe */
};

/* Parses the FLV body that follows a 200 head on c until want_frames
 * AVC frames arrived or timeout_s passed.  0, or -errno. */
static int
hc_flv(struct hc *c, long want_frames, struct flv_seen *s, double timeout_s)
{
    double deadline = sl_now() + timeout_s;
    size_t need = 13; /* file header and PreviousTagSize0 */
    int    rc;

    memset(s, 0, sizeof(*s));
    while (c->len < need)
        if ((rc = hc_fill(c, deadline)) < 0)
            return rc;
    s->header_ok = !memcmp(c->buf, "FLV\x01", 4) && c->buf[8] == 9;
    s->flags = c->buf[4];
    hc_consume(c, 13);
    while (s->frames < want_frames) {
        const uint8_t *t = (const uint8_t *) c->buf;
        size_t         size;

        while (c->len < 11)
            if ((rc = hc_fill(c, deadline)) < 0)
                return rc;
        size = (size_t) t[1] << 16 | (size_t) t[2] << 8 | t[3];
        if (size + 15 > sizeof(c->buf))
            return -EPROTO;
        while (c->len < 11 + size + 4)
            if ((rc = hc_fill(c, deadline)) < 0)
                return rc;
        if ((t[0] & 0x1f) == 8) {
            s->audio++;
        } else if ((t[0] & 0x1f) == 9) {
            s->video++;
            /* AVC: codec id 7, packet type 1 is a frame. */
            if (size >= 2 && (t[11] & 0x0f) == 7 && t[12] == 1) {
                if (s->frames++ == 0)
                    s->first_key = (t[11] >> 4) == 1;
            }
        }
        hc_consume(c, 11 + size + 4);
    }
    return 0;
}

/* ---- the server's log ---- */

/* The log's lines about the connection from src:lport, counted: its
 * latest client id is found first ("[c12 127.0.0.1:40660]"), so an
 * earlier connection that had the same port does not count.  Returns
 * how many of them are INFO or WARN lines; *found tells whether one has
 * level (NULL: any) and needle. */
static int
conn_lines(const char *src, int lport, const char *level, const char *needle,
           int *found)
{
    char addr[64], tag[96] = "", *text, *save = NULL;
    int  n = 0;

    *found = 0;
    snprintf(addr, sizeof(addr), " %s:%d]", src, lport);
    if ((text = sl_read_file(W.srv.log)) == NULL)
        return 0;
    for (char *p = strstr(text, addr); p != NULL; p = strstr(p + 1, addr)) {
        char *open = p;

        while (open > text && *open != '[' && *open != '\n')
            open--;
        if (*open == '[')
            snprintf(tag, sizeof(tag), "%.*s", (int) (p + strlen(addr) - open),
                     open);
    }
    for (char *l = strtok_r(text, "\n", &save); l != NULL && tag[0];
         l = strtok_r(NULL, "\n", &save)) {
        if (strstr(l, tag) == NULL)
            continue;
        if (strstr(l, " INFO ") != NULL || strstr(l, " WARN ") != NULL)
            n++;
        if (strstr(l, needle) != NULL &&
            (level == NULL || strstr(l, level) != NULL))
            *found = 1;
    }
    free(text);
    return n;
}

/* 1 when, within timeout_s, the log has a line at level with needle
 * about the connection from src:lport, and then exactly want INFO or
 * WARN lines about it in all. */
static int
lines_about(const char *src, int lport, const char *level, const char *needle,
            int want, double timeout_s)
{
    double end = sl_now() + timeout_s;
    int    found = 0, n = 0;

    for (;;) {
        n = conn_lines(src, lport, level, needle, &found);
        if (found || sl_now() >= end)
            break;
        sl_sleep(0.05);
    }
    if (!found || n != want)
        fprintf(stderr,
                "  %s:%d: %s line \"%s\" %s, %d INFO/WARN lines (want "
                "%d)\n",
                src, lport, level ? level : "any", needle,
                found ? "found" : "missing", n, want);
    return found && n == want;
}

static int
one_line(const struct hc *c, const char *level, const char *needle,
         double timeout_s)
{
    return lines_about(c->src, c->lport, level, needle, 1, timeout_s);
}

/* A request that must be refused: the status, a short text body,
 * the close, and one WARN line "bad request: STATUS". */
static int
refused(const char *what, const char *req, size_t len, int status)
{
    struct hc  *c = hc_open(NULL, W.srv.web_port, 0);
    struct resp r;
    char        line[64], v[64];
    int         ok;

    if (c == NULL)
        return 0;
    /* The server may close before it read everything: a failed send is
     * part of the expected outcome. */
    hc_send(c, req, len > 0 ? len : strlen(req));
    ok = hc_response(c, 0, &r, IT_S(5)) == 0 && r.status == status &&
         hdr(&r, "Content-Type", v, sizeof(v)) != NULL &&
         !strncmp(v, "text/plain", 10) && r.body_len > 0 && r.body_len < 100 &&
         hdr(&r, "Connection", v, sizeof(v)) != NULL && !strcmp(v, "close");
    if (!ok)
        fprintf(stderr, "  %s: got status %d, want %d: %s\n", what, r.status,
                status, r.head);
    ok = hc_closed(c, IT_S(5)) && ok;
    snprintf(line, sizeof(line), "bad request: %d", status);
    ok = one_line(c, " WARN ", line, IT_S(5)) && ok;
    if (!ok)
        fprintf(stderr, "  case \"%s\" failed\n", what);
    hc_close(c);
    return ok;
}

/* ---- 1: ffmpeg reads HTTP-FLV beside an RTMP player ---- */

static void
test_ffmpeg_reads_flv(void)
{
    struct sl_av   av = {320, 240, 25, 4, 25, 0};
    struct sl_proc pub, rtmp, http;
    struct sl_pkts ref = {0};
    char           url[256], rout[PATH_MAX + 32], hout[PATH_MAX + 32];
    char           log[PATH_MAX + 32];
    int ended = sl_file_count(W.srv.log, "closing: the stream ended");

    /* The RTMP player waits for the stream and sees all of it. */
    sl_srv_url(&W.srv, "live", "first", url, sizeof(url));
    srv_file("first-rtmp.flv", rout, sizeof(rout));
    srv_file("first-rtmp.log", log, sizeof(log));
    CU_ASSERT_FATAL(sl_ffmpeg_record(&rtmp, url, rout, log) == 0);
    CU_ASSERT(
        sl_wait_file_count(W.srv.log, "playing live/first", 1, IT_S(10)) == 0);
    CU_ASSERT_FATAL(publish(&pub, "live", "first", &av) == 0);
    /* The HTTP viewer comes a little later: it starts at the cached
     * GOP's keyframe. */
    sl_sleep(1.5);
    flv_url("http", W.srv.web_port, "live", "first", url, sizeof(url));
    CU_ASSERT_FATAL(flv_reader(&http, url, "first-http", hout, sizeof(hout)) ==
                    0);

    CU_ASSERT(ends_ok(&pub, "publisher", "pub-live-first", IT_S(30)));
    /* Both players end by themselves once publish_grace has passed. */
    CU_ASSERT(ends_ok(&http, "http-flv reader", "first-http", IT_S(15)));
    CU_ASSERT(ends_ok(&rtmp, "rtmp player", "first-rtmp", IT_S(15)));
    CU_ASSERT(sl_file_count(W.srv.log, "closing: the stream ended") ==
              ended + 1);

    CU_ASSERT_FATAL(sl_probe_packets(rout, &ref) == 0);
    expect_viewer(rout, &av, NULL, (av.seconds - 1) * 1000, "rtmp player");
    CU_ASSERT(sl_within_pct(video_from(&ref, LONG_MIN),
                            (long) av.fps * av.seconds, 2));
    expect_viewer(hout, &av, &ref, 0, "http-flv reader");
    sl_pkts_free(&ref);
}

/* ---- 2: HTTP as a raw client sees it ---- */

/* METHOD path with more header lines (or NULL) on a connection of its
 * own; the response in *r.  0 or -errno. */
static int
get_with(const char *method, const char *path, const char *extra,
         struct resp *r)
{
    struct hc *c = hc_open(NULL, W.srv.web_port, 0);
    char       req[1024];
    int        rc;

    memset(r, 0, sizeof(*r));
    r->lport = -1;
    if (c == NULL)
        return -ECONNREFUSED;
    r->lport = c->lport;
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n",
             method, path, extra ? extra : "");
    rc = hc_sends(c, req);
    if (rc == 0)
        rc = hc_response(c, !strcmp(method, "HEAD"), r, IT_S(5));
    hc_close(c);
    return rc;
}

/* A short text error: status, text/plain, a body of one short line that
 * starts with the status. */
static int
short_text(const struct resp *r, int status, const char *says)
{
    char v[64];
    int  ok = r->status == status &&
             hdr(r, "Content-Type", v, sizeof(v)) != NULL &&
             !strncmp(v, "text/plain", 10) && r->body_len < 100 &&
             atoi(r->body) == status && strstr(r->body, says) != NULL;

    if (!ok)
        fprintf(stderr, "  want %d \"%s\", got:\n%s\r\n\r\n%s\n", status, says,
                r->head, r->body);
    return ok;
}

static void
test_http_behaviour(void)
{
    struct sl_av   av = {320, 240, 25, 20, 25, 0};
    struct sl_proc pub;
    struct hc     *c;
    struct resp    r, r2, r3;
    char           v[256], keys[3 * PATH_MAX], sect[1024];
    int            reloads;

    CU_ASSERT_FATAL(publish(&pub, "live", "head", &av) == 0);

    /* HEAD of a live stream: what a GET starts with, and no body: the
     * next answer on the connection follows the head at once. */
    c = hc_open(NULL, W.srv.web_port, 0);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(hc_sends(c, "HEAD /live/head.flv HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /live/nosuch.flv HTTP/1.1\r\nHost: x\r\n\r\n") ==
              0);
    CU_ASSERT(hc_response(c, 1, &r, IT_S(5)) == 0);
    CU_ASSERT(r.status == 200);
    CU_ASSERT(hdr(&r, "Content-Type", v, sizeof(v)) != NULL &&
              !strcmp(v, "video/x-flv"));
    CU_ASSERT(hc_response(c, 0, &r2, IT_S(5)) == 0);
    CU_ASSERT(r2.status == 404);
    CU_ASSERT(c->len == 0);
    hc_close(c);
    /* The same HEAD on a connection of its own, closed after it. */
    CU_ASSERT(get_with("HEAD", "/live/head.flv", "Connection: close\r\n", &r) ==
              0);
    CU_ASSERT(r.status == 200);
    sl_proc_kill(&pub);

    /* 404s with a short text body: an unknown stream, an unknown app,
     * a path that is no stream. */
    CU_ASSERT(get_with("GET", "/live/nosuch.flv", NULL, &r) == 0);
    CU_ASSERT(short_text(&r, 404, "stream not live"));
    CU_ASSERT(get_with("GET", "/nosuchapp/x.flv", NULL, &r) == 0);
    CU_ASSERT(short_text(&r, 404, "no such application"));
    CU_ASSERT(get_with("GET", "/index.html", NULL, &r) == 0);
    CU_ASSERT(short_text(&r, 404, "Not Found"));

    /* 405 with Allow. */
    CU_ASSERT(get_with("POST", "/live/x.flv", "Content-Length: 0\r\n", &r) ==
              0);
    CU_ASSERT(short_text(&r, 405, "Method Not Allowed"));
    CU_ASSERT(hdr(&r, "Allow", v, sizeof(v)) != NULL &&
              strstr(v, "GET") != NULL && strstr(v, "HEAD") != NULL);

    /* CORS, by default for any page. */
    CU_ASSERT(get_with("GET", "/live/nosuch.flv",
                       "Origin: http://x.example\r\n", &r) == 0);
    CU_ASSERT(hdr(&r, "Access-Control-Allow-Origin", v, sizeof(v)) != NULL &&
              !strcmp(v, "*"));

    /* The preflight: 204 with the methods, and no body (RFC 9110 15.3.5),
     * so a request after it on the connection is answered cleanly. */
    c = hc_open(NULL, W.srv.web_port, 0);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(hc_sends(c, "OPTIONS /live/x.flv HTTP/1.1\r\nHost: x\r\n"
                          "Origin: http://x.example\r\n"
                          "Access-Control-Request-Method: GET\r\n\r\n"
                          "GET /live/nosuch.flv HTTP/1.1\r\nHost: x\r\n\r\n") ==
              0);
    CU_ASSERT(hc_response(c, 0, &r, IT_S(5)) == 0);
    CU_ASSERT(r.status == 204);
    CU_ASSERT(hdr(&r, "Access-Control-Allow-Methods", v, sizeof(v)) != NULL &&
              strstr(v, "GET") != NULL);
    CU_ASSERT(hdr(&r, "Access-Control-Allow-Origin", v, sizeof(v)) != NULL);
    /* RFC 9110 8.6: no Content-Length in a 204. */
    CU_ASSERT(hdr(&r, "Content-Length", v, sizeof(v)) == NULL);
    CU_ASSERT(hc_response(c, 0, &r2, IT_S(5)) == 0);
    CU_ASSERT(r2.status == 404);
    if (r2.status != 404)
        fprintf(stderr, "  after the 204: \"%.40s\"\n", r2.head);
    hc_close(c);

    /* Two requests in one write: two answers, in order, on one kept-alive
     * connection, which then serves a third request. */
    c = hc_open(NULL, W.srv.web_port, 0);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(hc_sends(c, "GET /live/nosuch.flv HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /nosuchapp/x.flv HTTP/1.1\r\nHost: x\r\n\r\n") ==
              0);
    CU_ASSERT(hc_response(c, 0, &r, IT_S(5)) == 0);
    CU_ASSERT(hc_response(c, 0, &r2, IT_S(5)) == 0);
    CU_ASSERT(short_text(&r, 404, "stream not live"));
    CU_ASSERT(short_text(&r2, 404, "no such application"));
    CU_ASSERT(hdr(&r, "Connection", v, sizeof(v)) != NULL &&
              !strcmp(v, "keep-alive"));
    CU_ASSERT(hdr(&r2, "Connection", v, sizeof(v)) != NULL &&
              !strcmp(v, "keep-alive"));
    CU_ASSERT(hc_sends(c, "GET /live/other.flv HTTP/1.1\r\nHost: x\r\n\r\n") ==
              0);
    CU_ASSERT(hc_response(c, 0, &r3, IT_S(5)) == 0);
    CU_ASSERT(short_text(&r3, 404, "stream not live"));
    hc_close(c);

    /* HTTP/1.0 without keep-alive: Connection: close, and the server
     * closes. */
    c = hc_open(NULL, W.srv.web_port, 0);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(hc_sends(c, "GET /live/nosuch.flv HTTP/1.0\r\n\r\n") == 0);
    CU_ASSERT(hc_response(c, 0, &r, IT_S(5)) == 0);
    CU_ASSERT(short_text(&r, 404, "stream not live"));
    CU_ASSERT(hdr(&r, "Connection", v, sizeof(v)) != NULL &&
              !strcmp(v, "close"));
    CU_ASSERT(hc_closed(c, IT_S(5)));
    hc_close(c);

    /* cors_origins lists one page (a reload applies it to new
     * connections): its Origin is echoed, another gets no CORS header. */
    reloads = sl_file_count(W.srv.log, "config reloaded");
    server_config("http://a.example", keys, sizeof(keys), sect, sizeof(sect));
    CU_ASSERT_FATAL(sl_srv_write_ini(&W.srv, keys, sect) == 0);
    CU_ASSERT(sl_proc_signal(&W.srv.proc, SIGHUP) == 0);
    CU_ASSERT(sl_wait_file_count(W.srv.log, "config reloaded", reloads + 1,
                                 IT_S(10)) == 0);
    CU_ASSERT(get_with("GET", "/live/nosuch.flv",
                       "Origin: http://a.example\r\n", &r) == 0);
    CU_ASSERT(hdr(&r, "Access-Control-Allow-Origin", v, sizeof(v)) != NULL &&
              !strcmp(v, "http://a.example"));
    CU_ASSERT(hdr(&r, "Vary", v, sizeof(v)) != NULL &&
              strstr(v, "Origin") != NULL);
    CU_ASSERT(get_with("GET", "/live/nosuch.flv",
                       "Origin: http://b.example\r\n", &r) == 0);
    CU_ASSERT(r.status == 404);
    CU_ASSERT(hdr(&r, "Access-Control-Allow-Origin", v, sizeof(v)) == NULL);
    CU_ASSERT(get_with("OPTIONS", "/live/x.flv",
                       "Origin: http://a.example\r\n"
                       "Access-Control-Request-Method: GET\r\n",
                       &r) == 0);
    CU_ASSERT(r.status == 204);
    CU_ASSERT(hdr(&r, "Access-Control-Allow-Origin", v, sizeof(v)) != NULL &&
              !strcmp(v, "http://a.example"));
}

/* ---- 3: authorization ---- */

/* GET /APP/NAME.flv[?query]: 1 when the answer is a stream (200,
 * video/x-flv, an FLV header, 5 AVC frames starting with a keyframe). */
static int
streams(const char *app, const char *name, const char *query)
{
    struct hc      *c = hc_open(NULL, W.srv.web_port, 0);
    struct resp     r;
    struct flv_seen s;
    char            req[1024], v[64];
    int             ok;

    if (c == NULL)
        return 0;
    snprintf(req, sizeof(req), "GET /%s/%s.flv%s%s HTTP/1.1\r\nHost: x\r\n\r\n",
             app, name, query ? "?" : "", query ? query : "");
    ok = hc_sends(c, req) == 0 && hc_response(c, 1, &r, IT_S(5)) == 0 &&
         r.status == 200 && hdr(&r, "Content-Type", v, sizeof(v)) != NULL &&
         !strcmp(v, "video/x-flv") && hc_flv(c, 5, &s, IT_S(10)) == 0 &&
         s.header_ok && s.flags == 5 && s.first_key && s.audio > 0;
    if (!ok)
        fprintf(stderr, "  %s/%s: status %d, no stream\n", app, name, r.status);
    hc_close(c);
    return ok;
}

/* GET that must be refused with 403 and one WARN line with why. */
static int
forbidden(const char *app, const char *name, const char *query, const char *why)
{
    struct resp r;
    char        path[512];

    snprintf(path, sizeof(path), "/%s/%s.flv%s%s", app, name, query ? "?" : "",
             query ? query : "");
    if (get_with("GET", path, NULL, &r) != 0)
        return 0;
    return short_text(&r, 403, "Forbidden") &&
           lines_about("127.0.0.1", r.lport, " WARN ", why, 1, IT_S(5));
}

static void
test_authorization(void)
{
    struct sl_av   av = {320, 240, 25, 20, 25, 0};
    struct sl_proc pub_signed, pub_cb;
    char           q[256], good[65], bad[65], *log;
    long long      later = (long long) time(NULL) + 3600;
    int            said_no = sl_file_count(W.srv.log, "callback said no");

    CU_ASSERT_FATAL(publish(&pub_signed, "signed", "s1", &av) == 0);
    CU_ASSERT_FATAL(publish(&pub_cb, "cb", "ok1", &av) == 0);

    /* play_secret: no signature, a tampered one, a good one. */
    CU_ASSERT(forbidden("signed", "s1", NULL,
                        "play signed/s1 refused: no signature"));
    sl_itest_sign(PLAY_SECRET, "signed", "s1", later, good);
    memcpy(bad, good, sizeof(bad));
    bad[7] = bad[7] == '0' ? '1' : '0';
    snprintf(q, sizeof(q), "expires=%lld&sign=%s", later, bad);
    CU_ASSERT(forbidden("signed", "s1", q,
                        "play signed/s1 refused: wrong signature"));
    snprintf(q, sizeof(q), "expires=%lld&sign=%s", later, good);
    CU_ASSERT(streams("signed", "s1", q));

    /* on_play: the callback allows names starting "ok", refuses "bad". */
    CU_ASSERT(streams("cb", "ok1", NULL));
    CU_ASSERT(forbidden("cb", "bad1", NULL,
                        "play cb/bad1 refused: callback said no (HTTP 403)"));
    CU_ASSERT(sl_file_count(W.srv.log, "callback said no") == said_no + 1);
    CU_ASSERT(sl_file_count(W.cb.log, "\"on_play\"") >= 2);
    CU_ASSERT(sl_file_count(W.cb.log, "\"bad1\"") >= 1);
    /* on_done: one for the HTTP-FLV play that ended (its reader
     * closed), with the play's fields; none for the refused one. */
    CU_ASSERT(sl_wait_file_count(W.cb.log, "\"on_play_done\"", 1, IT_S(10)) ==
              0);
    CU_ASSERT(sl_file_count(W.cb.log, "\"on_play_done\"") == 1);
    log = sl_read_file(W.cb.log);
    CU_ASSERT_FATAL(log != NULL);
    {
        const char *d = strstr(log, "\"on_play_done\"");
        size_t      n = d != NULL ? strcspn(d, "\n") : 0;
        char        line[2048];

        snprintf(line, sizeof(line), "%.*s", (int) n, d ? d : "");
        fprintf(stderr, "  on_done: %s\n", line);
        CU_ASSERT(strstr(line, "\"name\": \"ok1\"") != NULL);
        CU_ASSERT(strstr(line, "\"app\": \"cb\"") != NULL);
        CU_ASSERT(strstr(line, "\"addr\": \"127.0.0.1\"") != NULL);
        CU_ASSERT(strstr(line, "\"tc_url\": \"/cb/ok1.flv\"") != NULL);
    }
    free(log);

    sl_proc_kill(&pub_signed);
    sl_proc_kill(&pub_cb);
    /* Neither the secret nor a signature reaches the log. */
    log = sl_read_file(W.srv.log);
    CU_ASSERT_FATAL(log != NULL);
    CU_ASSERT(strstr(log, PLAY_SECRET) == NULL);
    CU_ASSERT(strstr(log, good) == NULL);
    CU_ASSERT(strstr(log, bad) == NULL);
    free(log);
}

/* ---- 4: bad input beside a viewer ---- */

/* A slowloris: a request head sent one byte a second on a thread of its
 * own, until the server closes the connection or the bound passes. */
struct drip {
    pthread_t  thread;
    struct hc *c;
    double     bound_s;
    int        sent;   /* bytes sent */
    int        closed; /* the server closed it */
};

static void *
drip_main(void *arg)
{
    static const char req[] = "GET /live/steady.flv HTTP/1.1\r\nHost: x\r\n"
                              "User-Agent: very-slow\r\n\r\n";
    struct drip      *d = arg;
    double            end = sl_now() + d->bound_s;

    while (sl_now() < end && d->sent < (int) sizeof(req) - 1) {
        if (send(d->c->fd, req + d->sent, 1, MSG_NOSIGNAL) != 1) {
            d->closed = 1;
            break;
        }
        d->sent++;
        if (sl_wait_peer_closed(d->c->fd, 1.0) == 0) {
            d->closed = 1;
            break;
        }
    }
    return NULL;
}

/* Holds FLOOD_CONNS idle connections from 127.0.0.2 for a moment: 1 when
 * the server kept PER_IP of them and closed the rest at once, and
 * served a request from 127.0.0.1 meanwhile. */
static int
flood_held_off(void)
{
    int         fd[FLOOD_CONNS], n = 0, open_now = 0, closed = 0, ok;
    struct resp r;
    double      end;

    for (int i = 0; i < FLOOD_CONNS; i++)
        if ((fd[n] = sl_connect_from("127.0.0.2", W.srv.web_port, IT_S(2))) >=
            0)
            n++;
    /* Wait until the refused ones are all closed (a reset, right after
     * accept), well before request_timeout ends the others. */
    end = sl_now() + 1.5;
    do {
        struct pollfd pf[FLOOD_CONNS];

        sl_sleep(0.1);
        for (int i = 0; i < n; i++)
            pf[i] = (struct pollfd){fd[i], POLLIN, 0};
        poll(pf, (nfds_t) n, 0);
        closed = 0;
        for (int i = 0; i < n; i++)
            closed += pf[i].revents != 0;
        open_now = n - closed;
    } while (open_now > PER_IP && sl_now() < end);
    /* 127.0.0.1 is served while 127.0.0.2 holds its share. */
    ok = get_with("GET", "/live/nosuch.flv", NULL, &r) == 0 && r.status == 404;
    for (int i = 0; i < n; i++)
        close(fd[i]);
    fprintf(stderr,
            "  flood from 127.0.0.2: %d connected, %d held, %d "
            "closed; 127.0.0.1 served: %d\n",
            n, open_now, closed, ok);
    return n == FLOOD_CONNS && open_now == PER_IP && ok;
}

static void
test_bad_input(void)
{
    /* Long enough to outlast every case below (about 2.5 s here: the
     * 2 s timeouts), which the end checks. */
    struct sl_av   av = {320, 240, 25, (int) (4 * sl_time_scale()), 25, 0};
    struct sl_proc pub, view;
    struct drip    drip = {0};
    struct hc     *idle;
    struct resp    r;
    char           url[256], out[PATH_MAX + 32], line[96], *big;
    size_t         blen = 0;
    int            dripping, found = 0;

    CU_ASSERT_FATAL(publish(&pub, "live", "steady", &av) == 0);
    flv_url("http", W.srv.web_port, "live", "steady", url, sizeof(url));
    CU_ASSERT_FATAL(flv_reader(&view, url, "steady", out, sizeof(out)) == 0);

    /* The slow ones run beside the rest: a slowloris, and a kept-alive
     * connection that goes quiet after its answer. */
    drip.c = hc_open(NULL, W.srv.web_port, 0);
    drip.bound_s = IT_S(10);
    CU_ASSERT_FATAL(drip.c != NULL);
    dripping = pthread_create(&drip.thread, NULL, drip_main, &drip) == 0;
    CU_ASSERT(dripping);
    idle = hc_open(NULL, W.srv.web_port, 0);
    CU_ASSERT_FATAL(idle != NULL);
    CU_ASSERT(
        hc_sends(idle, "GET /live/gone.flv HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    CU_ASSERT(hc_response(idle, 0, &r, IT_S(5)) == 0 && r.status == 404);

    /* Malformed request lines, a 64 KiB head, path traversal. */
    CU_ASSERT(refused("junk after the version",
                      "GET /live/steady.flv HTTP/1.1 junk\r\nHost: x\r\n\r\n",
                      0, 400));
    CU_ASSERT(refused("space in the target",
                      "GET /live/a b.flv HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400));
    big = malloc(70 * 1024);
    CU_ASSERT_FATAL(big != NULL);
    blen =
        (size_t) sprintf(big, "GET /live/steady.flv HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; blen < 64 * 1024; i++)
        blen += (size_t) sprintf(big + blen, "X-Pad-%d: %0*d\r\n", i, 1000, i);
    blen += (size_t) sprintf(big + blen, "\r\n");
    CU_ASSERT(refused("64 KiB of headers", big, blen, 431));
    free(big);
    CU_ASSERT(refused("/../etc/passwd",
                      "GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 0,
                      400));
    CU_ASSERT(refused("%2e%2e",
                      "GET /live/%2e%2e/x.flv HTTP/1.1\r\nHost: "
                      "x\r\n\r\n",
                      0, 400));
    CU_ASSERT(refused("..%2f",
                      "GET /live/..%2fx.flv HTTP/1.1\r\nHost: "
                      "x\r\n\r\n",
                      0, 400));

    /* Idle connections from one address are held off at its limit. */
    CU_ASSERT(flood_held_off());
    snprintf(line, sizeof(line),
             "refused 127.0.0.2: max_pending_per_ip (%d) reached", PER_IP);
    CU_ASSERT(sl_wait_file_count(W.srv.log, line, 1, IT_S(5)) == 0);
    /* One line for all of them (the next would come 10 s later). */
    CU_ASSERT(sl_file_count(W.srv.log, "refused 127.0.0.2:") == 1);

    /* The slowloris was closed at request_timeout (2 s) with its line,
     * and the quiet kept-alive connection at keepalive_timeout (2 s). */
    if (dripping)
        pthread_join(drip.thread, NULL);
    CU_ASSERT(drip.closed);
    CU_ASSERT(drip.sent >= 2); /* it was not cut off at once */
    CU_ASSERT(one_line(drip.c, " WARN ", "closing: request timeout", IT_S(5)));
    hc_close(drip.c);
    CU_ASSERT(hc_closed(idle, IT_S(5)));
    CU_ASSERT(conn_lines(idle->src, idle->lport, " WARN ",
                         "closing: keep-alive timeout", &found) == 2 &&
              found);
    hc_close(idle);

    /* The viewer streamed through all of that, and never noticed. */
    CU_ASSERT(sl_proc_wait(&pub, 0) == -ETIMEDOUT);
    CU_ASSERT(ends_ok(&pub, "publisher", "pub-live-steady", IT_S(30)));
    CU_ASSERT(ends_ok(&view, "http-flv viewer", "steady", IT_S(15)));
    expect_viewer(out, &av, NULL, (av.seconds - 2) * 1000, "viewer");
}

/* ---- 5: a viewer that stops reading ---- */

static void
test_stuck_viewer(void)
{
    /* 720p at QP 10, about 12 Mbit/s: enough to fill the kernel's
     * buffers towards the stuck viewer within the test. */
    struct sl_av   av = {1280, 720, 30, 6, 30, 10};
    struct sl_proc pub, view;
    struct hc     *stuck;
    char           url[256], out[PATH_MAX + 32];
    int            found = 0;

    CU_ASSERT_FATAL(publish(&pub, "live", "fast", &av) == 0);
    flv_url("http", W.srv.web_port, "live", "fast", url, sizeof(url));
    CU_ASSERT_FATAL(flv_reader(&view, url, "fast", out, sizeof(out)) == 0);
    /* A tiny receive window, a GET, and never a read. */
    stuck = hc_open(NULL, W.srv.web_port, 4096);
    CU_ASSERT_FATAL(stuck != NULL);
    CU_ASSERT(
        hc_sends(stuck, "GET /live/fast.flv HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    /* "player stopped reading" or "player too slow": either way the
     * server gave up on it. */
    for (double end = sl_now() + IT_S(20); !found && sl_now() < end;
         sl_sleep(0.1))
        conn_lines(stuck->src, stuck->lport, " WARN ", "closing: player",
                   &found);
    CU_ASSERT(found);
    CU_ASSERT(sl_srv_wait_conn_log(&W.srv, stuck->lport, NULL,
                                   "stopped playing live/fast", IT_S(5)) == 0);

    CU_ASSERT(ends_ok(&pub, "publisher", "pub-live-fast", IT_S(30)));
    CU_ASSERT(ends_ok(&view, "http-flv viewer", "fast", IT_S(20)));
    hc_close(stuck);
    expect_viewer(out, &av, NULL, (av.seconds - 2) * 1000, "good viewer");
}

/* ---- 6: the response ends publish_grace after the publisher left ---- */

/* The log's time of the first line holding needle, in ms of the day, or
 * -1.  Lines start with "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static long
log_time(const char *needle)
{
    char *text = sl_read_file(W.srv.log), *p, *line;
    int   h, m, s, ms;
    long  t = -1;

    if (text != NULL && (p = strstr(text, needle)) != NULL) {
        for (line = p; line > text && line[-1] != '\n'; line--)
            ;
        if (sscanf(line, "%*d-%*d-%*dT%d:%d:%d.%dZ", &h, &m, &s, &ms) == 4)
            t = ((h * 60L + m) * 60L + s) * 1000L + ms;
    }
    free(text);
    return t;
}

static void
test_publisher_leaves(void)
{
    struct sl_av    av = {320, 240, 25, 2, 25, 0};
    struct sl_proc  pub;
    struct hc      *c;
    struct resp     r;
    struct flv_seen s;
    char            tag[96], line[160];
    long            gone, ended;

    CU_ASSERT_FATAL(publish(&pub, "live", "brief", &av) == 0);
    c = hc_open(NULL, W.srv.web_port, 0);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(hc_sends(c, "GET /live/brief.flv HTTP/1.1\r\nHost: x\r\n\r\n") ==
              0);
    CU_ASSERT(hc_response(c, 1, &r, IT_S(5)) == 0 && r.status == 200);
    CU_ASSERT(hc_flv(c, 1, &s, IT_S(5)) == 0 && s.header_ok);
    CU_ASSERT(ends_ok(&pub, "publisher", "pub-live-brief", IT_S(30)));
    /* The response ends by itself: the server closes. */
    CU_ASSERT(hc_closed(c, IT_S(10)));

    /* Not before publish_grace (500 ms): the server's own clock says
     * so. */
    snprintf(tag, sizeof(tag), " 127.0.0.1:%d] ", c->lport);
    snprintf(line, sizeof(line), "%sclosing: the stream ended", tag);
    CU_ASSERT(sl_wait_file_count(W.srv.log, line, 1, IT_S(5)) == 0);
    gone = log_time("unpublished live/brief\n");
    ended = log_time(line);
    fprintf(stderr, "  stream gone at %ld, response ended at %ld\n", gone,
            ended);
    CU_ASSERT(gone >= 0 && ended >= 0);
    /* A day's wrap between the two would make it negative: allow. */
    CU_ASSERT(ended - gone >= 500 - 20 || ended < gone);
    hc_close(c);
}

/* ---- 7: HTTPS ---- */

static void
test_https(void)
{
    struct sl_av   av = {320, 240, 25, 3, 25, 0};
    struct sl_proc pub, view;
    char           url[256], out[PATH_MAX + 32];

    CU_ASSERT_FATAL(publish(&pub, "live", "secure", &av) == 0);
    flv_url("https", W.tls_port, "live", "secure", url, sizeof(url));
    CU_ASSERT_FATAL(flv_reader(&view, url, "secure", out, sizeof(out)) == 0);
    CU_ASSERT(ends_ok(&pub, "publisher", "pub-live-secure", IT_S(30)));
    CU_ASSERT(ends_ok(&view, "https reader", "secure", IT_S(15)));
    expect_viewer(out, &av, NULL, (av.seconds - 1) * 1000, "https reader");
}

/* ---- the end ---- */

static void
test_stop(void)
{
    IT_STOP(&W.srv);
    CU_ASSERT(sl_proc_stop(&W.cb.proc, SIGTERM, IT_S(5)) == 0);
}

void
sl_itest_suite_web(void)
{
    CU_pSuite s = sl_itest_suite_shared("web", suite_init, test_teardown);

    CU_add_test(s,
                "ffmpeg reads HTTP-FLV beside an RTMP player; it ends by "
                "itself",
                test_ffmpeg_reads_flv);
    CU_add_test(s,
                "HEAD, 404, 405, CORS, preflight, pipelining, keep-alive, "
                "HTTP/1.0",
                test_http_behaviour);
    CU_add_test(s, "signed URLs and on_play decide like an RTMP play",
                test_authorization);
    CU_add_test(s,
                "bad requests, slowloris, idle keep-alive, a flood: the "
                "viewer plays on",
                test_bad_input);
    CU_add_test(s, "a viewer that stops reading is dropped, another is not",
                test_stuck_viewer);
    CU_add_test(s, "the response ends publish_grace after the publisher left",
                test_publisher_leaves);
    CU_add_test(s, "HTTPS: ffmpeg reads https://.../NAME.flv", test_https);
    CU_add_test(s, "the server stops cleanly", test_stop);
}

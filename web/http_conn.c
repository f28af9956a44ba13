/*
 * The public web port's protocol (see http_conn.h).
 *
 * States: REQUEST (reading a request head; kept-alive connections come
 * back here after each answer), WAITING (a play waits for its HTTP
 * callback; the session holds the bytes after it), STREAMING (an
 * HTTP-FLV response: the subscription carries the media, input is
 * ignored), DONE (the last answer is queued; the session closes once it
 * is written).
 */
#include "web/http_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hls/hls.h"
#include "hls/playlist.h"
#include "pool/clock.h"
#include "rtmp/flv.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/server.h"
#include "web/page.h"
#include "web/request.h"
#include "web/response.h"

#define slog sl_log_conn

#define HEAD_MAX 2048 /* a response head of ours */
#define BODY_MAX 512  /* an error or status text */

enum web_state { W_REQUEST, W_WAITING, W_HOLDING, W_STREAMING, W_DONE };

/* What a request that passed authorization goes on to. */
enum web_what { WHAT_FLV, WHAT_HLS };

#define HLS_BUFS 72          /* a segment's parts, and then some */
#define MASTER_RETRY_MS 200  /* a master waiting for its variants */
#define MASTER_WAIT_MS 10000 /* ... at most this long */
#define HOLD_MIN_MS 3000     /* a blocking request's least hold */

struct sl_web_conn {
    struct sl_conn base; /* first: the session sees only this */
    /* The parser and the request being answered: freed once a response
     * streams (nothing more is read then), so an HTTP-FLV player holds
     * no more than an RTMP one. */
    struct sl_web_parser  *parser;
    struct sl_web_request *req;
    enum web_state         state;
    uint8_t                partial;    /* the next request has begun */
    uint8_t                answered;   /* a response went out already */
    uint64_t               since_ms;   /* accepted, or the last answer */
    uint64_t               begun_ms;   /* the next request's first bytes */
    enum web_what          what;       /* of the request being answered */
    uint8_t                authorized; /* it passed authorization */
    uint8_t                hls_master; /* it asks for a master playlist */
    /* A held HLS request (W_HOLDING): asked again when its variant has
     * more (the waiter), every MASTER_RETRY_MS for a master, and for the
     * last time at hold_until_ms. */
    struct sl_hls_waiter waiter;
    uint64_t             hold_until_ms;
    uint64_t             retry_ms;
    uint8_t              hold_expired;
};

/* The Access-Control-Allow-Origin a response gets: "*", the request's
 * Origin when [web] cors_origins lists it, or NULL (no CORS headers). */
static const char *
allow_origin(const struct sl_web_conn *w)
{
    const struct sl_config *cfg = w->base.cfg;

    if (cfg->web_cors_origins.any)
        return "*";
    if (w->req->origin[0] != '\0' &&
        sl_config_origin_allowed(cfg, w->req->origin, strlen(w->req->origin)))
        return w->req->origin;
    return NULL;
}

/* Queues a response head and body; when close is set, it is the
 * connection's last answer. */
static int
respond(struct sl_web_conn *w, const struct sl_web_response *r,
        const char *body, size_t blen)
{
    char           head[HEAD_MAX];
    int            hlen = sl_web_response_head(head, sizeof(head), r);
    struct sl_buf *b;
    int            rc;

    if (hlen < 0)
        return -ENOMEM;
    if (w->req->method == SL_WEB_HEAD)
        blen = 0;
    b = sl_buf_new((size_t) hlen + blen);
    if (b == NULL)
        return -ENOMEM;
    memcpy(b->data, head, (size_t) hlen);
    if (blen > 0)
        memcpy(b->data + hlen, body, blen);
    b->len = (uint32_t) ((size_t) hlen + blen);
    rc = w->base.tp->send(w->base.io, b);
    sl_buf_unref(b);
    return rc;
}

/* A short text answer (an error, a refusal); the connection stays when
 * keep_alive and the request allows it. */
static int
answer_text(struct sl_web_conn *w, int status, const char *what, int keep_alive,
            const char *extra)
{
    char body[BODY_MAX];
    /* A 204 has no content and no Content-Length (RFC 9110 15.3.5, 8.6). */
    int blen =
        status == 204 ? 0 : sl_web_error_body(body, sizeof(body), status, what);
    struct sl_web_response r = {
        .status = status,
        .content_type = "text/plain; charset=utf-8",
        .content_length = status == 204 ? -1
                          : blen > 0    ? blen
                                        : 0,
        .cache_control = "no-cache",
        .allow_origin = allow_origin(w),
        .keep_alive = keep_alive && w->req->keep_alive,
        .allow = status == 405 ? "GET, HEAD, OPTIONS" : NULL,
        .extra = extra,
    };

    if (respond(w, &r, body, blen > 0 ? (size_t) blen : 0) < 0 ||
        !r.keep_alive) {
        w->state = W_DONE;
        sl_conn_close(&w->base, SL_LOG_DEBUG, "answered");
        return -EPROTO;
    }
    w->state = W_REQUEST;
    w->answered = 1;
    w->since_ms = sl_now_ms();
    return 0;
}

/* ---- HTTP-FLV ---- */

/* The stream is live and the play allowed: the response head, the FLV
 * file header, then the subscription's tags. */
static int
flv_start(struct sl_web_conn *w, const char *name)
{
    struct sl_conn        *c = &w->base;
    char                   why[96];
    uint8_t                fh[SL_FLV_FILE_HDR];
    int                    audio, video;
    struct sl_buf         *b;
    struct sl_web_response r = {
        .status = 200,
        .content_type = "video/x-flv",
        .content_length = -1,
        .cache_control = "no-cache, no-store",
        .allow_origin = allow_origin(w),
        .keep_alive = 0, /* the response lasts until the stream ends */
    };

    if (sl_conn_admit_play(c, why, sizeof(why)) < 0) {
        slog(SL_LOG_INFO, c, "play %s/%s refused: %s", c->app, name, why);
        return answer_text(w, 503, why, 0, "Retry-After: 5\r\n");
    }
    if (!sl_hub_media_kinds(c->srv->hub, c->app, name, &audio, &video)) {
        slog(SL_LOG_INFO, c, "GET %s: 404, not live", w->req->path);
        return answer_text(w, 404, "stream not live", 1, NULL);
    }
    if (w->req->method == SL_WEB_HEAD) {
        /* What a GET would start with, without the stream. */
        r.keep_alive = w->req->keep_alive;
        if (respond(w, &r, NULL, 0) < 0 || !r.keep_alive) {
            w->state = W_DONE;
            sl_conn_close(c, SL_LOG_DEBUG, "answered");
            return -EPROTO;
        }
        w->answered = 1;
        w->since_ms = sl_now_ms();
        return 0;
    }
    if (respond(w, &r, NULL, 0) < 0)
        return -EPROTO;
    sl_flv_file_header(fh, audio, video);
    b = sl_buf_from(fh, sizeof(fh));
    if (b == NULL || c->tp->send(c->io, b) < 0) {
        sl_buf_unref(b);
        sl_conn_close(c, SL_LOG_ERROR, "out of memory");
        return -EPROTO;
    }
    sl_buf_unref(b);
    c->sub.flv = 1;
    c->sub.max_lag_ms = c->cfg->max_lag_ms;
    c->proto = SL_PROTO_HTTP_FLV; /* what the API counts it as */
    if (sl_conn_play(c, name) < 0) {
        sl_conn_close(c, SL_LOG_ERROR, "out of memory");
        return -EPROTO;
    }
    w->state = W_STREAMING;
    /* Nothing more is parsed on this connection: its memory goes now,
     * not with the player. */
    sl_web_parser_free(w->parser);
    w->parser = NULL;
    free(w->req);
    w->req = NULL;
    slog(SL_LOG_INFO, c, "playing %s/%s (http-flv)", c->app, name);
    return 0;
}

static int hls_serve(struct sl_web_conn *w);

/* Carries out the verdict on the play in base.wait.  0 when the
 * connection goes on, -EPROTO when it ends. */
static int
act_on(struct sl_web_conn *w, const struct sl_auth_verdict *v)
{
    struct sl_conn        *c = &w->base;
    struct sl_auth_verdict why_not;
    char                   loc[SL_URL_MAX + 16];

    if (v->outcome == SL_AUTH_ASK) {
        if (sl_conn_wait_submit(c, v->callback, &why_not) == 0) {
            w->state = W_WAITING;
            return 0;
        }
        v = &why_not;
    }
    c->wait.rq.kind = SL_AUTH_NONE;
    c->wait.rq.query = NULL; /* it lived in the request */
    if (v->outcome == SL_AUTH_REFUSE) {
        slog(SL_LOG_WARN, c, "play %s/%s refused: %s", c->app, c->wait.name,
             v->why);
        if (v->redirect[0] != '\0') {
            /* A callback sent the viewer elsewhere: HTTP can follow. */
            snprintf(loc, sizeof(loc), "Location: %s\r\n", v->redirect);
            return answer_text(w, 302, "redirected", 1, loc);
        }
        return answer_text(w, 403, v->why, 1, NULL);
    }
    if (v->redirected)
        slog(SL_LOG_INFO, c, "callback redirected play %s/%s to %s/%s", c->app,
             c->wait.name, c->app, v->name);
    w->authorized = 1;
    if (w->what == WHAT_HLS)
        return hls_serve(w);
    return flv_start(w, v->name);
}

/* Authorizes a play of APP/NAME as the request asks (address rules,
 * signature, the on_play callback) and goes on to what w->what says. */
static int
authorize_play(struct sl_web_conn *w, const char *app, const char *name)
{
    struct sl_conn        *c = &w->base;
    struct sl_auth_verdict v;

    snprintf(c->app, sizeof(c->app), "%s", app);
    snprintf(c->url, sizeof(c->url), "%.*s", (int) sizeof(c->url) - 1,
             w->req->path);
    snprintf(c->wait.name, sizeof(c->wait.name), "%s", name);
    c->wait.rq = (struct sl_auth_request){
        .kind = SL_AUTH_PLAY,
        .app = sl_config_app(c->cfg, app),
        .name = c->wait.name,
        .query = w->req->query,
        .addr = c->addr,
        .now = time(NULL),
    };
    sl_auth_decide(&c->wait.rq, &v);
    /* The on_play callback is asked for an HTTP-FLV play and for an HLS
     * master playlist; a variant's playlists and media, fetched many
     * times a second, pass on the address rules and the signature
     * (docs/security.md). */
    if (v.outcome == SL_AUTH_ASK && w->what == WHAT_HLS && !w->hls_master) {
        v.outcome = SL_AUTH_ALLOW;
        snprintf(v.name, sizeof(v.name), "%s", name);
    }
    return act_on(w, &v);
}

/* GET or HEAD /APP/NAME.flv. */
static int
flv_request(struct sl_web_conn *w, const char *app, const char *name)
{
    if (sl_config_app(w->base.cfg, app) == NULL) {
        slog(SL_LOG_INFO, &w->base, "GET %s: 404, no such application",
             w->req->path);
        return answer_text(w, 404, "no such application", 1, NULL);
    }
    w->what = WHAT_FLV;
    return authorize_play(w, app, name);
}

/* ---- LL-HLS ---- */

/* Parks the request until its variant has more (the waiter fires), the
 * next master retry, or the hold's end. */
static int
hls_hold(struct sl_web_conn *w, uint64_t hold_ms, int master)
{
    uint64_t now = sl_now_ms();

    if (w->base.held == 0) {
        w->hold_until_ms = now + hold_ms;
        w->hold_expired = 0;
    }
    w->retry_ms = master ? now + MASTER_RETRY_MS : 0;
    w->base.held = 1;
    w->state = W_HOLDING;
    return 0;
}

/* Queues a 200 (or, with extra's Content-Range, a 206) with the
 * buffers as its body (references taken). */
static int
hls_send_status(struct sl_web_conn *w, int status, const char *extra,
                const char *type, const char *cache, struct sl_buf **bufs,
                int n, size_t total)
{
    struct sl_conn        *c = &w->base;
    struct sl_web_response r = {
        .status = status,
        .content_type = type,
        .content_length = (int64_t) total,
        .cache_control = cache,
        .allow_origin = allow_origin(w),
        .keep_alive = w->req->keep_alive,
        .extra = extra,
    };
    int rc = respond(w, &r, NULL, 0);

    for (int i = 0; i < n; i++) {
        if (rc == 0 && w->req->method != SL_WEB_HEAD)
            rc = c->tp->send(c->io, bufs[i]);
        sl_buf_unref(bufs[i]);
    }
    if (rc < 0 || !r.keep_alive) {
        w->state = W_DONE;
        sl_conn_close(c, SL_LOG_DEBUG, "answered");
        return -EPROTO;
    }
    /* It serves a viewer now: no longer a pending connection. */
    sl_conn_settle(c);
    w->state = W_REQUEST;
    w->answered = 1;
    w->since_ms = sl_now_ms();
    return 0;
}

static int
hls_send(struct sl_web_conn *w, const char *type, const char *cache,
         struct sl_buf **bufs, int n, size_t total)
{
    return hls_send_status(w, 200, NULL, type, cache, bufs, n, total);
}

/* The bytes [first, last] of an object held as n buffers, copied into
 * one (a Range request is rare: a player probing, a CDN resuming).
 * NULL when out of memory. */
static struct sl_buf *
slice(struct sl_buf **bufs, int n, uint64_t first, uint64_t last)
{
    struct sl_buf *out = sl_buf_new((size_t) (last - first + 1));
    uint64_t       at = 0;
    size_t         put = 0;

    if (out == NULL)
        return NULL;
    for (int i = 0; i < n && at <= last; i++) {
        uint64_t from = first > at ? first - at : 0;
        uint64_t to = last - at < bufs[i]->len ? last - at + 1 : bufs[i]->len;

        if (from < to) {
            memcpy(out->data + put, bufs[i]->data + from, (size_t) (to - from));
            put += (size_t) (to - from);
        }
        at += bufs[i]->len;
    }
    out->len = (uint32_t) put;
    return out;
}

/* An object, whole or as the one byte range the request asks for. */
static int
hls_send_object(struct sl_web_conn *w, const char *type, const char *cache,
                struct sl_buf **bufs, int n, size_t total)
{
    char           extra[96];
    uint64_t       first = 0, last = 0;
    struct sl_buf *part;
    int            rg = sl_web_range(w->req->range, total, &first, &last);

    if (rg == 0) {
        return hls_send_status(w, 200, "Accept-Ranges: bytes\r\n", type, cache,
                               bufs, n, total);
    }
    part = rg > 0 ? slice(bufs, n, first, last) : NULL;
    for (int i = 0; i < n; i++)
        sl_buf_unref(bufs[i]);
    if (rg < 0) {
        snprintf(extra, sizeof(extra), "Content-Range: bytes */%zu\r\n", total);
        return answer_text(w, 416, "range not satisfiable", 1, extra);
    }
    if (part == NULL)
        return answer_text(w, 503, "out of memory", 0, NULL);
    snprintf(extra, sizeof(extra),
             "Accept-Ranges: bytes\r\nContent-Range: bytes %llu-%llu/%zu\r\n",
             (unsigned long long) first, (unsigned long long) last, total);
    return hls_send_status(w, 206, extra, type, cache, &part, 1, part->len);
}

/* The hold of a blocking request: three target durations, as the LL-HLS
 * spec allows a server to take. */
static uint64_t
hls_hold_ms(struct sl_web_conn *w, const char *app, const char *stream)
{
    uint64_t t = 3ull * sl_hls_target_ms(w->base.srv->hls, app, stream);

    return t > HOLD_MIN_MS ? t : HOLD_MIN_MS;
}

/* The viewer id in a carried query ("sid=" and 16 hex digits), or 0. */
static uint64_t
sid_of(const char *carry)
{
    const char *p = carry;
    uint64_t    sid = 0;

    while (p != NULL && strncmp(p, "sid=", 4) != 0) {
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
    if (p == NULL)
        return 0;
    p += 4;
    for (int i = 0; i < 16; i++, p++) {
        int d = *p >= '0' && *p <= '9'   ? *p - '0'
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                                         : -1;

        if (d < 0)
            return 0;
        sid = sid << 4 | (uint64_t) d;
    }
    return *p == '\0' || *p == '&' ? sid : 0;
}

/* Removes "sid=..." (and the '&' that joined it) from a carry. */
static void
drop_sid(char *carry)
{
    char  *p = carry;
    size_t n;

    while (p != NULL && strncmp(p, "sid=", 4) != 0) {
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
    if (p == NULL)
        return;
    n = strcspn(p, "&");
    if (p[n] == '&')
        n++; /* its own '&' after it */
    else if (p > carry)
        p--, n++; /* the last one: the '&' before it */
    memmove(p, p + n, strlen(p + n) + 1);
}

/* A master playlist names a new viewer: its id goes into every URL the
 * playlists list, so its later requests count as the same viewer. */
static void
add_sid(char *carry, size_t cap)
{
    uint64_t sid = 0;
    size_t   len = strlen(carry);

    static atomic_ullong fallback;

    /* An id a viewer cannot guess for another; the counter only where
     * the kernel has no entropy yet. */
    if (getrandom(&sid, sizeof(sid), GRND_NONBLOCK) != sizeof(sid) || sid == 0)
        sid = (sl_now_ms() << 20) ^ (atomic_fetch_add(&fallback, 1) + 1);
    snprintf(carry + len, cap - len, "%ssid=%016llx", len > 0 ? "&" : "",
             (unsigned long long) sid);
}

/* The viewer a master playlist just served starts: counted from now,
 * and, where its app has an on_done, told of when it ends (web/hls_ends.h)
 * as the connection that asked would be. */
static void
viewer_start(struct sl_web_conn *w, const char *app, const char *name,
             const char *carry)
{
    const struct sl_app_config *ac = sl_config_app(w->base.cfg, app);
    struct sl_hls_viewer        who;
    int                         tell = ac != NULL && ac->on_done[0] != '\0';

    if (tell) {
        memset(&who, 0, sizeof(who));
        snprintf(who.app, sizeof(who.app), "%s", app);
        snprintf(who.name, sizeof(who.name), "%s", name);
        snprintf(who.addr, sizeof(who.addr), "%s", w->base.peer_ip);
        who.client_id = w->base.id;
        snprintf(who.url, sizeof(who.url), "%.*s", (int) sizeof(who.url) - 1,
                 w->req->path);
    }
    sl_hls_viewer_start(w->base.srv->hls, sid_of(carry), app, name,
                        tell ? &who : NULL);
}

static int
hls_master(struct sl_web_conn *w, const char *app, const char *name,
           char *carry, size_t carry_cap)
{
    struct sl_buf *b;
    int            rc;

    char why[96];

    /* A master playlist starts a viewer: the node's capacity and the
     * address's player cap apply as to any play. */
    if (sl_conn_admit_play(&w->base, why, sizeof(why)) < 0) {
        slog(SL_LOG_INFO, &w->base, "hls %s/%s refused: %s", app, name, why);
        return answer_text(w, 503, why, 1, "Retry-After: 5\r\n");
    }
    if (sid_of(carry) == 0)
        add_sid(carry, carry_cap);
    rc = sl_hls_master(w->base.srv->hls, app, name, carry, &b);

    if (rc == -EAGAIN && !w->hold_expired)
        return hls_hold(w, MASTER_WAIT_MS, 1);
    if (rc < 0) {
        slog(SL_LOG_INFO, &w->base, "GET %s: 404, %s", w->req->path,
             rc == -EAGAIN ? "its variants did not start" : "not packaged");
        return answer_text(w, 404, "stream not live", 1, NULL);
    }
    if (w->req->method == SL_WEB_GET)
        viewer_start(w, app, name, carry);
    return hls_send(w, "application/vnd.apple.mpegurl", "no-cache", &b, 1,
                    b->len);
}

static int
hls_media(struct sl_web_conn *w, const char *app, const char *stream,
          const struct sl_hls_query *q, const char *carry)
{
    struct sl_hls_query now = *q;
    struct sl_buf      *b;
    int                 rc;

    /* At the hold's end the playlist goes out as it is. */
    if (w->hold_expired)
        now.msn = now.part = -1;
    rc = sl_hls_media(w->base.srv->hls, app, stream, &now, carry, &w->waiter,
                      &b);
    if (rc == -EAGAIN)
        return hls_hold(w, hls_hold_ms(w, app, stream), 0);
    if (rc == -EINVAL)
        return answer_text(w, 400, "that part is too far ahead", 1, NULL);
    if (rc < 0)
        return answer_text(w, 404, "not packaged", 1, NULL);
    /* Shorter than a part: a CDN in front may hold it that long. */
    return hls_send(w, "application/vnd.apple.mpegurl", "no-cache", &b, 1,
                    b->len);
}

static int
hls_object(struct sl_web_conn *w, const char *app, const char *stream,
           const char *file)
{
    struct sl_buf *bufs[HLS_BUFS];
    size_t         total;
    int            n;

    n = sl_hls_object(w->base.srv->hls, app, stream, file,
                      w->hold_expired ? NULL : &w->waiter, bufs, HLS_BUFS,
                      &total);
    if (n == -EAGAIN)
        return hls_hold(w, hls_hold_ms(w, app, stream), 0);
    if (n < 0)
        return answer_text(w, 404, NULL, 1, NULL);
    /* Names are never reused (segment numbers start at the wall clock),
     * so what is served under one never changes. */
    return hls_send_object(w, sl_web_mime(file),
                           "public, max-age=31536000, immutable", bufs, n,
                           total);
}

/* The request passed authorization: what it asks for. */
static int
hls_serve(struct sl_web_conn *w)
{
    char app[SL_NAME_MAX], stream[SL_NAME_MAX], file[SL_NAME_MAX];
    char carry[sizeof(w->req->query) + 24];
    char owner[SL_NAME_MAX];
    struct sl_hls_query q;
    uint64_t            sid;

    if (sl_hls_parse_query(w->req->query, strlen(w->req->query), &q, carry,
                           sizeof(carry)) < 0)
        return answer_text(w, 400, "bad _HLS_ directives", 1, NULL);
    if (sl_web_stream_path(w->req->path, ".m3u8", app, sizeof(app), stream,
                           sizeof(stream)) == 0)
        return hls_master(w, app, stream, carry, sizeof(carry));
    if (sl_web_object_path(w->req->path, app, sizeof(app), stream,
                           sizeof(stream), file, sizeof(file)) < 0)
        return answer_text(w, 404, NULL, 1, NULL);
    sid = sid_of(carry);
    if (sid != 0 &&
        sl_hls_owner(w->base.srv->hls, app, stream, owner, sizeof(owner)) == 0)
        sl_hls_viewer_seen(w->base.srv->hls, sid, app, owner);
    if (strcmp(file, "media.m3u8") == 0) {
        /* The viewer is counted by its playlist requests (a player
         * reloads its playlist at least once a segment), so the URIs
         * inside need no id: every viewer with the same query shares
         * one playlist, made once per part. */
        drop_sid(carry);
        return hls_media(w, app, stream, &q, carry);
    }
    return hls_object(w, app, stream, file);
}

/* GET or HEAD of a master playlist (/APP/NAME.m3u8; stream is NAME) or
 * of a variant's playlist or object (/APP/STREAM/FILE). */
static int
hls_request(struct sl_web_conn *w, const char *app, const char *stream)
{
    const struct sl_app_config *ac = sl_config_app(w->base.cfg, app);
    char                        owner[SL_NAME_MAX];

    w->base.proto = SL_PROTO_HLS; /* what its bytes count as */
    if (ac == NULL || !ac->hls || w->base.srv->hls == NULL) {
        slog(SL_LOG_INFO, &w->base, "GET %s: 404, no HLS application",
             w->req->path);
        return answer_text(w, 404, "no such application", 1, NULL);
    }
    w->what = WHAT_HLS;
    w->hls_master =
        sl_web_stream_path(w->req->path, ".m3u8", owner, sizeof(owner), owner,
                           sizeof(owner)) == 0;
    if (w->authorized)
        return hls_serve(w);
    /* A rung is authorized as its source: one token plays the ladder. */
    if (sl_hls_owner(w->base.srv->hls, app, stream, owner, sizeof(owner)) < 0)
        snprintf(owner, sizeof(owner), "%s", stream);
    return authorize_play(w, app, owner);
}

/* ---- the player page (web/page.h) ---- */

/* What a browser must not do with the page's answers: guess a type, or
 * run anything the page did not bring itself.  The libraries play
 * through MediaSource (blob: URLs) and start workers from blobs. */
#define PAGE_HEADERS                                                           \
    "X-Content-Type-Options: nosniff\r\n"                                      \
    "Content-Security-Policy: default-src 'self'; media-src 'self' blob:; "    \
    "worker-src 'self' blob:; img-src 'self' data:\r\n"

/* GET or HEAD of one of the page's paths: its files, the libraries, or
 * /streams.json. */
static int
page_request(struct sl_web_conn *w)
{
    struct sl_conn        *c = &w->base;
    struct sl_page_obj     o;
    struct sl_buf         *list = NULL;
    struct sl_web_response r = {
        .status = 200,
        .allow_origin = allow_origin(w),
        .keep_alive = w->req->keep_alive,
        .extra = PAGE_HEADERS,
    };
    const void *body;
    size_t      blen;

    if (sl_web_page_find(w->req->path, &o) < 0) {
        slog(SL_LOG_DEBUG, c, "GET %s: 404", w->req->path);
        return answer_text(w, 404, NULL, 1, NULL);
    }
    if (o.kind == SL_PAGE_STREAMS) {
        list = sl_web_page_streams(c->srv->hub, c->cfg, c->srv->hls != NULL,
                                   c->addr);
        if (list == NULL)
            return answer_text(w, 503, "out of memory", 1, NULL);
        r.content_type = "application/json";
        body = list->data;
        blen = list->len;
    } else {
        r.content_type = o.file->type;
        body = o.file->data;
        blen = o.file->len;
    }
    r.cache_control = o.cache;
    r.content_length = (long long) blen;
    if (respond(w, &r, body, blen) < 0 || !r.keep_alive) {
        sl_buf_unref(list);
        w->state = W_DONE;
        sl_conn_close(c, SL_LOG_DEBUG, "answered");
        return -EPROTO;
    }
    sl_buf_unref(list);
    w->state = W_REQUEST;
    w->answered = 1;
    w->since_ms = sl_now_ms();
    return 0;
}

/* One complete request head in w->req-> */
static int
handle_request(struct sl_web_conn *w)
{
    char app[SL_NAME_MAX], name[SL_NAME_MAX], file[SL_NAME_MAX];

    w->partial = 0;
    if (w->req->method == SL_WEB_OPTIONS)
        /* A CORS preflight: what a player may ask. */
        return answer_text(w, 204, NULL, 1,
                           "Access-Control-Allow-Methods: GET, HEAD, "
                           "OPTIONS\r\n"
                           "Access-Control-Allow-Headers: Range\r\n"
                           "Access-Control-Max-Age: 600\r\n");
    if (w->req->method != SL_WEB_GET && w->req->method != SL_WEB_HEAD)
        return answer_text(w, 405, NULL, 1, NULL);
    if (sl_web_page_owns(w->req->path))
        return page_request(w);
    if (sl_web_stream_path(w->req->path, ".flv", app, sizeof(app), name,
                           sizeof(name)) == 0)
        return flv_request(w, app, name);
    if (sl_web_stream_path(w->req->path, ".m3u8", app, sizeof(app), name,
                           sizeof(name)) == 0 ||
        sl_web_object_path(w->req->path, app, sizeof(app), name, sizeof(name),
                           file, sizeof(file)) == 0)
        return hls_request(w, app, name);
    slog(SL_LOG_DEBUG, &w->base, "GET %s: 404", w->req->path);
    return answer_text(w, 404, NULL, 1, NULL);
}

/* ---- the protocol (proto.h) ---- */

static int
web_init(struct sl_conn *base, int counted)
{
    struct sl_web_conn *w = (struct sl_web_conn *) base;

    sl_conn_init(base, counted);
    w->parser = sl_web_parser_new();
    w->req = calloc(1, sizeof(*w->req));
    if (w->parser == NULL || w->req == NULL)
        return -ENOMEM;
    w->state = W_REQUEST;
    w->since_ms = sl_now_ms();
    sl_list_init(&w->waiter.link);
    w->waiter.task = base->task;
    w->waiter.ready = &base->held_ready;
    return 0;
}

static int
web_feed(struct sl_conn *base, const uint8_t *p, size_t n)
{
    struct sl_web_conn *w = (struct sl_web_conn *) base;
    size_t              used = 0;

    while (used < n) {
        int rc, status = 0;

        if (w->state == W_STREAMING || w->state == W_DONE)
            return (int) n; /* nothing more is read from a stream */
        if (w->state == W_WAITING || w->state == W_HOLDING)
            return (int) used; /* held until the verdict or the media */
        if (!w->partial) {
            w->partial = 1;
            w->begun_ms = sl_now_ms();
        }
        rc = sl_web_parse(w->parser, p + used, n - used, w->req, &status);
        if (rc == -EAGAIN)
            return (int) n;
        if (rc < 0) {
            slog(SL_LOG_WARN, base, "bad request: %d %s (%s)", status,
                 sl_web_reason(status), sl_web_parse_why(w->parser));
            w->req->keep_alive = 0;
            answer_text(w, status, NULL, 0, NULL);
            return -EPROTO;
        }
        used += (size_t) rc;
        w->authorized = 0;
        w->hold_expired = 0;
        if (handle_request(w) < 0)
            return -EPROTO;
    }
    return (int) used;
}

static int
web_resume(struct sl_conn *base)
{
    struct sl_web_conn    *w = (struct sl_web_conn *) base;
    struct sl_auth_verdict v;

    if (w->state == W_HOLDING) {
        /* Its variant has more, or the hold ended: ask again. */
        sl_hls_unwait(base->srv->hls, &w->waiter);
        base->held = 0;
        atomic_store(&base->held_ready, 0);
        w->state = W_REQUEST;
        return handle_request(w) < 0 ? -EPROTO : 0;
    }
    sl_conn_wait_verdict(base, &v);
    w->state = W_REQUEST;
    return act_on(w, &v) < 0 ? -EPROTO : 0;
}

/* A held HLS request is asked again at its master retry or at the
 * hold's end (the waiter covers the rest). */
static uint64_t
hold_poll(struct sl_web_conn *w, uint64_t now_ms)
{
    uint64_t due = w->hold_until_ms;

    if (w->retry_ms != 0 && w->retry_ms < due)
        due = w->retry_ms;
    if (now_ms < due)
        return due;
    if (now_ms >= w->hold_until_ms)
        w->hold_expired = 1;
    atomic_store_explicit(&w->base.held_ready, 1, memory_order_release);
    sl_task_wake(w->base.task);
    return 0;
}

/* An HTTP-FLV response ends when its publisher has been gone for
 * publish_grace (a quick reconnect, or a standby taking over, goes on
 * in the same response); the viewer's player reconnects. */
static uint64_t
web_poll(struct sl_conn *base, uint64_t now_ms)
{
    struct sl_web_conn    *w = (struct sl_web_conn *) base;
    struct sl_stream_state st;
    uint64_t               due;

    if (w->state == W_HOLDING)
        return hold_poll(w, now_ms);
    if (w->state != W_STREAMING || !base->subscribed)
        return 0;
    sl_hub_stream_state(base->sub.stream, &st);
    if (st.live)
        return 0;
    due = st.unpublished_ms + base->cfg->publish_grace_ms;
    if (now_ms < due)
        return due;
    w->state = W_DONE;
    sl_conn_close(base, SL_LOG_INFO, "the stream ended");
    return 0;
}

static void
web_stopping(struct sl_conn *base)
{
    /* HTTP has no word for it: the session closes the connection. */
}

static uint64_t
web_deadline(struct sl_conn *base, const struct sl_proto_times *t,
             const char **why)
{
    struct sl_web_conn     *w = (struct sl_web_conn *) base;
    const struct sl_config *cfg = base->cfg;

    /* As nginx counts them: a request head must be complete within
     * request_timeout of the connection or of its first bytes; a
     * kept-alive connection may wait keepalive_timeout for them. */
    if (w->state != W_REQUEST)
        return 0;
    *why = "request timeout";
    if (w->partial)
        return w->begun_ms + cfg->web_request_timeout_ms;
    if (!w->answered)
        return t->created_ms + cfg->web_request_timeout_ms;
    *why = "keep-alive timeout";
    return w->since_ms + cfg->web_keepalive_timeout_ms;
}

static void
web_free(struct sl_conn *base)
{
    struct sl_web_conn *w = (struct sl_web_conn *) base;

    if (base->srv->hls != NULL)
        sl_hls_unwait(base->srv->hls, &w->waiter);
    sl_conn_free(base);
    sl_web_parser_free(w->parser);
    w->parser = NULL;
    free(w->req);
    w->req = NULL;
}

const struct sl_proto sl_web_proto = {
    .name = "http",
    .id = SL_PROTO_HTTP,
    .size = sizeof(struct sl_web_conn),
    .quiet_close = 1,
    .init = web_init,
    .feed = web_feed,
    .resume = web_resume,
    .poll = web_poll,
    .stopping = web_stopping,
    .deadline = web_deadline,
    .free = web_free,
};

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
#include <string.h>
#include <time.h>

#include "pool/clock.h"
#include "rtmp/flv.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/server.h"
#include "web/request.h"
#include "web/response.h"

#define slog sl_log_conn

#define HEAD_MAX 2048 /* a response head of ours */
#define BODY_MAX 512  /* an error or status text */

enum web_state { W_REQUEST, W_WAITING, W_STREAMING, W_DONE };

struct sl_web_conn {
    struct sl_conn base; /* first: the session sees only this */
    /* The parser and the request being answered: freed once a response
     * streams (nothing more is read then), so an HTTP-FLV player holds
     * no more than an RTMP one. */
    struct sl_web_parser  *parser;
    struct sl_web_request *req;
    enum web_state         state;
    uint8_t                partial;  /* the next request has begun */
    uint8_t                answered; /* a response went out already */
    uint64_t               since_ms; /* accepted, or the last answer */
    uint64_t               begun_ms; /* the next request's first bytes */
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
    return flv_start(w, v->name);
}

/* GET or HEAD /APP/NAME.flv. */
static int
flv_request(struct sl_web_conn *w, const char *app, const char *name)
{
    struct sl_conn        *c = &w->base;
    struct sl_auth_verdict v;

    if (sl_config_app(c->cfg, app) == NULL) {
        slog(SL_LOG_INFO, c, "GET %s: 404, no such application", w->req->path);
        return answer_text(w, 404, "no such application", 1, NULL);
    }
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
    return act_on(w, &v);
}

/* One complete request head in w->req-> */
static int
handle_request(struct sl_web_conn *w)
{
    char app[SL_NAME_MAX], name[SL_NAME_MAX];

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
    if (sl_web_stream_path(w->req->path, ".flv", app, sizeof(app), name,
                           sizeof(name)) == 0)
        return flv_request(w, app, name);
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
        if (w->state == W_WAITING)
            return (int) used; /* held until the verdict */
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

    sl_conn_wait_verdict(base, &v);
    w->state = W_REQUEST;
    return act_on(w, &v) < 0 ? -EPROTO : 0;
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

/*
 * Authorization of connect, publish and play (see auth.h).
 *
 * Order of the checks, cheapest and least revealing first: address
 * rules, stream key, signature, callback.  A refusal's log line names
 * the rule, never a key, a signature or a query string; a stream name
 * that may be a key (the app has publish_keys) is masked.
 */
#include "server/auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/access.h"
#include "server/callback.h"
#include "server/session_int.h"

/* Set by main before sessions start and cleared before it frees the
 * client, after the sessions are gone; atomic because workers read it. */
static _Atomic(struct sl_callbacks *) callbacks;

void
sl_auth_set_callbacks(struct sl_callbacks *cb)
{
    atomic_store(&callbacks, cb);
}

int
sl_auth_pending(const struct sl_session *s)
{
    return s->pend.kind != SL_AUTH_NONE;
}

static const struct sl_app_config *
app_of(const struct sl_session *s)
{
    return sl_config_app(s->cfg, s->app);
}

/* The name for the log: masked when it may be a stream key. */
static void
loggable_name(const struct sl_app_config *app, enum sl_auth_kind kind,
              const char *name, char *out, size_t cap)
{
    if (kind == SL_AUTH_PUBLISH && app->publish_keys != NULL)
        sl_mask(name, out, cap);
    else
        snprintf(out, cap, "%s", name);
}

static int
refuse(struct sl_session *s, enum sl_auth_kind kind, double tid,
       const char *name, const char *why, const char *redirect)
{
    const struct sl_app_config *app = app_of(s);
    static const char          *what[] = {"", "connect", "publish", "play"};
    char                        shown[SL_NAME_MAX + 32] = "";
    char                        desc[200];

    if (app != NULL && name != NULL)
        loggable_name(app, kind, name, shown, sizeof(shown));
    slog(SL_LOG_WARN, s, "%s %s%s%s refused: %s", what[kind], s->app,
         shown[0] ? "/" : "", shown, why);
    snprintf(desc, sizeof(desc), "%s: %s",
             redirect != NULL ? "redirected" : "unauthorized", why);
    return sl_rtmp_refuse(s, kind, tid, desc, redirect);
}

/* The callback thread: the verdict goes into the session, which is
 * woken to act on it.  The reference taken at submit keeps it alive. */
static void
on_verdict(void *arg, const struct sl_cb_result *r)
{
    struct sl_session *s = arg;

    s->pend.verdict = (int) r->verdict;
    s->pend.http_status = r->http_status;
    snprintf(s->pend.location, sizeof(s->pend.location), "%s", r->location);
    snprintf(s->pend.why, sizeof(s->pend.why), "%s", r->why);
    atomic_store_explicit(&s->pend.done, 1, memory_order_release);
    sl_task_wake(&s->task);
    sl_task_unref(&s->task);
}

static void
fill_request(struct sl_session *s, struct sl_cb_request *req,
             enum sl_cb_action action, const char *url, const char *name,
             const char *query)
{
    const struct sl_app_config *app = app_of(s);

    memset(req, 0, sizeof(*req));
    req->action = action;
    snprintf(req->url, sizeof(req->url), "%s", url);
    snprintf(req->app, sizeof(req->app), "%s", s->app);
    snprintf(req->name, sizeof(req->name), "%s", name != NULL ? name : "");
    snprintf(req->addr, sizeof(req->addr), "%s", s->peer_ip);
    req->client_id = s->id;
    snprintf(req->tc_url, sizeof(req->tc_url), "%s", s->tc_url);
    snprintf(req->query, sizeof(req->query), "%s", query != NULL ? query : "");
    req->timeout_ms = app != NULL ? app->callback_timeout_ms : 3000;
}

/* Sends the callback and parks the request.  SL_AUTH_PENDING, or a
 * refusal when the callback cannot be sent. */
static int
start_callback(struct sl_session *s, enum sl_auth_kind kind, double tid,
               const char *url, const char *name, const char *query,
               double start, int reset)
{
    static const enum sl_cb_action actions[] = {SL_CB_CONNECT, SL_CB_CONNECT,
                                                SL_CB_PUBLISH, SL_CB_PLAY};
    struct sl_callbacks           *cb = atomic_load(&callbacks);
    struct sl_cb_request           req;
    int                            rc;

    if (cb == NULL)
        return refuse(s, kind, tid, name, "callbacks are not available", NULL);
    fill_request(s, &req, actions[kind], url, name, query);
    s->pend.kind = kind;
    s->pend.tid = tid;
    snprintf(s->pend.name, sizeof(s->pend.name), "%s", name ? name : "");
    s->pend.start = start;
    s->pend.reset = reset;
    atomic_store_explicit(&s->pend.done, 0, memory_order_relaxed);
    sl_task_ref(&s->task);
    rc = sl_callbacks_submit(cb, &req, on_verdict, s);
    if (rc < 0) {
        sl_task_unref(&s->task);
        s->pend.kind = SL_AUTH_NONE;
        return refuse(s, kind, tid, name,
                      rc == -EAGAIN ? "too many callbacks in flight"
                                    : "cannot send the callback",
                      NULL);
    }
    slog(SL_LOG_DEBUG, s, "waiting for %s", sl_cb_action_name(actions[kind]));
    return SL_AUTH_PENDING;
}

int
sl_auth_connect(struct sl_session *s, double tid)
{
    const struct sl_app_config *app = app_of(s);

    if (!sl_cidr_allowed(&app->allow_publish, &app->deny_publish,
                         &s->peer_addr) &&
        !sl_cidr_allowed(&app->allow_play, &app->deny_play, &s->peer_addr))
        return refuse(s, SL_AUTH_CONNECT, tid, NULL,
                      "address may neither publish nor play", NULL);
    if (app->on_connect[0] != '\0')
        return start_callback(s, SL_AUTH_CONNECT, tid, app->on_connect, NULL,
                              s->connect_query, 0, 0);
    return SL_AUTH_OK;
}

/* The query a request is judged by: its own, or the connect's. */
static const char *
query_of(const struct sl_session *s, const char *query)
{
    return query != NULL && query[0] != '\0' ? query : s->connect_query;
}

int
sl_auth_publish(struct sl_session *s, double tid, const char *name,
                const char *query, char *out, size_t cap)
{
    const struct sl_app_config *app = app_of(s);
    const char                 *why;

    query = query_of(s, query);
    if (!sl_cidr_allowed(&app->allow_publish, &app->deny_publish,
                         &s->peer_addr))
        return refuse(s, SL_AUTH_PUBLISH, tid, name,
                      "address not allowed to publish", NULL);
    snprintf(out, cap, "%s", name);
    if (app->publish_keys != NULL) {
        const char *mapped = sl_keyset_lookup(app->publish_keys, name);

        if (mapped == NULL)
            return refuse(s, SL_AUTH_PUBLISH, tid, name, "unknown stream key",
                          NULL);
        snprintf(out, cap, "%s", mapped);
    }
    if (app->publish_secret[0] != '\0') {
        why =
            sl_sign_check(app->publish_secret, s->app, name, query, time(NULL));
        if (why != NULL)
            return refuse(s, SL_AUTH_PUBLISH, tid, name, why, NULL);
    }
    if (app->on_publish[0] != '\0')
        return start_callback(s, SL_AUTH_PUBLISH, tid, app->on_publish, name,
                              query, 0, 0);
    return SL_AUTH_OK;
}

int
sl_auth_play(struct sl_session *s, double tid, const char *name,
             const char *query, double start, int reset)
{
    const struct sl_app_config *app = app_of(s);
    const char                 *why;

    query = query_of(s, query);
    if (!sl_cidr_allowed(&app->allow_play, &app->deny_play, &s->peer_addr))
        return refuse(s, SL_AUTH_PLAY, tid, name, "address not allowed to play",
                      NULL);
    if (app->play_secret[0] != '\0') {
        why = sl_sign_check(app->play_secret, s->app, name, query, time(NULL));
        if (why != NULL)
            return refuse(s, SL_AUTH_PLAY, tid, name, why, NULL);
    }
    if (app->on_play[0] != '\0')
        return start_callback(s, SL_AUTH_PLAY, tid, app->on_play, name, query,
                              start, reset);
    return SL_AUTH_OK;
}

/* A Location naming another stream of this app ("name", "name?args")
 * into out; 0, or -1 when it is anything else (a URL). */
static int
location_name(const char *loc, char *out, size_t cap)
{
    size_t len = strcspn(loc, "?");

    if (len == 0 || len >= cap || strstr(loc, "://") != NULL)
        return -1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) loc[i] <= ' ' || (unsigned char) loc[i] >= 0x7f ||
            loc[i] == '/')
            return -1;
    memcpy(out, loc, len);
    out[len] = '\0';
    return 0;
}

int
sl_auth_resume(struct sl_session *s)
{
    struct sl_pending          *p = &s->pend;
    const struct sl_app_config *app = app_of(s);
    enum sl_auth_kind           kind = p->kind;
    char                        name[SL_NAME_MAX], why[200];

    p->kind = SL_AUTH_NONE;
    snprintf(name, sizeof(name), "%s", p->name);
    if (p->verdict == SL_CB_REFUSE) {
        snprintf(why, sizeof(why), "callback said no (%s)", p->why);
        return refuse(s, kind, p->tid, kind == SL_AUTH_CONNECT ? NULL : name,
                      why, NULL);
    }
    if (p->verdict == SL_CB_REDIRECT) {
        char target[SL_NAME_MAX];

        if (kind == SL_AUTH_CONNECT ||
            location_name(p->location, target, sizeof(target)) < 0)
            return refuse(s, kind, p->tid,
                          kind == SL_AUTH_CONNECT ? NULL : name,
                          "callback redirected elsewhere", p->location);
        slog(SL_LOG_INFO, s, "callback redirected %s %s/%s to %s/%s",
             kind == SL_AUTH_PUBLISH ? "publish" : "play", s->app,
             kind == SL_AUTH_PUBLISH && app->publish_keys ? "(key)" : name,
             s->app, target);
        snprintf(name, sizeof(name), "%s", target);
    } else if (kind == SL_AUTH_PUBLISH && app->publish_keys != NULL) {
        const char *mapped = sl_keyset_lookup(app->publish_keys, name);

        /* The key was checked before the callback went out. */
        snprintf(name, sizeof(name), "%s", mapped != NULL ? mapped : name);
    }
    switch (kind) {
    case SL_AUTH_CONNECT:
        return sl_rtmp_connect_accept(s, p->tid);
    case SL_AUTH_PUBLISH:
        return sl_rtmp_publish_start(s, name);
    case SL_AUTH_PLAY:
        return sl_rtmp_play_start(s, name, p->start, p->reset);
    default:
        return 0;
    }
}

void
sl_auth_ended(struct sl_session *s)
{
    const struct sl_app_config *app;
    struct sl_callbacks        *cb = atomic_load(&callbacks);
    struct sl_cb_request        req;

    if (!s->done_due)
        return;
    s->done_due = 0;
    app = app_of(s);
    if (app == NULL || app->on_done[0] == '\0' || cb == NULL)
        return;
    fill_request(s, &req,
                 s->role == SL_ROLE_PUBLISHER ? SL_CB_PUBLISH_DONE
                                              : SL_CB_PLAY_DONE,
                 app->on_done, s->stream_name, NULL);
    sl_callbacks_submit(cb, &req, NULL, NULL);
}

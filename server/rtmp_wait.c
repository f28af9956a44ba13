/*
 * HTTP callbacks of the command state machine (see rtmp_wait.h).
 *
 * A parked request holds a reference on its owner's task, so an owner
 * that closes meanwhile stays valid until the verdict arrives; the
 * callback thread stores the answer in c->wait, publishes it with a
 * release store of done, wakes the task and drops that reference.  The
 * task reads done with acquire (sl_rtmp_verdict_ready) before the
 * answer.  The query and the callback URL go to the callback client
 * only: never to a log line.
 */
#include "server/rtmp_wait.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/callback.h"
#include "server/config.h"
#include "server/log.h"
#include "server/server.h"

#define slog sl_log_conn

static void
fill_request(const struct sl_rtmp_conn *c, struct sl_cb_request *req,
             enum sl_cb_action action, const char *url, const char *name,
             const char *query)
{
    const struct sl_app_config *app = sl_config_app(c->cfg, c->app);

    memset(req, 0, sizeof(*req));
    req->action = action;
    snprintf(req->url, sizeof(req->url), "%s", url);
    snprintf(req->app, sizeof(req->app), "%s", c->app);
    snprintf(req->name, sizeof(req->name), "%s", name != NULL ? name : "");
    snprintf(req->addr, sizeof(req->addr), "%s", c->peer_ip);
    req->client_id = c->id;
    snprintf(req->tc_url, sizeof(req->tc_url), "%s", c->tc_url);
    snprintf(req->query, sizeof(req->query), "%s", query != NULL ? query : "");
    req->timeout_ms = app != NULL ? app->callback_timeout_ms : 3000;
}

/* The callback thread: the answer goes into the parked request, and the
 * owner is woken to act on it. */
static void
on_answer(void *arg, const struct sl_cb_result *r)
{
    struct sl_rtmp_conn *c = arg;
    struct sl_rtmp_wait *w = &c->wait;

    w->answer = *r;
    atomic_store_explicit(&w->done, 1, memory_order_release);
    sl_task_wake(c->task);
    sl_task_unref(c->task);
}

static enum sl_cb_action
action_of(enum sl_auth_kind kind)
{
    return kind == SL_AUTH_PUBLISH ? SL_CB_PUBLISH
           : kind == SL_AUTH_PLAY  ? SL_CB_PLAY
                                   : SL_CB_CONNECT;
}

int
sl_rtmp_wait_submit(struct sl_rtmp_conn *c, const char *url,
                    struct sl_auth_verdict *refusal)
{
    struct sl_rtmp_wait *w = &c->wait;
    struct sl_callbacks *cb = atomic_load(&c->srv->callbacks);
    struct sl_cb_request req;
    const char          *why = NULL;
    int                  rc;

    fill_request(c, &req, action_of(w->rq.kind), url, w->rq.name, w->rq.query);
    /* The query lived in the command's message: it is in req now, and
     * nothing after this may read it. */
    w->rq.query = NULL;
    atomic_store_explicit(&w->done, 0, memory_order_relaxed);
    if (cb == NULL) {
        why = "callbacks are not available";
    } else {
        sl_task_ref(c->task);
        rc = sl_callbacks_submit(cb, &req, on_answer, c);
        if (rc < 0) {
            sl_task_unref(c->task);
            why = rc == -EAGAIN ? "too many callbacks in flight"
                                : "cannot send the callback";
        }
    }
    if (why != NULL) {
        memset(refusal, 0, sizeof(*refusal));
        refusal->outcome = SL_AUTH_REFUSE;
        snprintf(refusal->why, sizeof(refusal->why), "%s", why);
        return -1;
    }
    slog(SL_LOG_DEBUG, c, "waiting for %s",
         sl_cb_action_name(action_of(w->rq.kind)));
    return 0;
}

void
sl_rtmp_wait_verdict(struct sl_rtmp_conn *c, struct sl_auth_verdict *v)
{
    sl_auth_apply_callback(&c->wait.rq, &c->wait.answer, v);
}

void
sl_rtmp_wait_notify_done(struct sl_rtmp_conn *c)
{
    const struct sl_app_config *app = sl_config_app(c->cfg, c->app);
    struct sl_callbacks        *cb = atomic_load(&c->srv->callbacks);
    struct sl_cb_request        req;

    if (app == NULL || app->on_done[0] == '\0' || cb == NULL)
        return;
    fill_request(c, &req,
                 c->role == SL_ROLE_PUBLISHER ? SL_CB_PUBLISH_DONE
                                              : SL_CB_PLAY_DONE,
                 app->on_done, c->stream_name, NULL);
    sl_callbacks_submit(cb, &req, NULL, NULL);
}

/*
 * The protocol-independent part of a connection (see conn.h).
 *
 * A parked request holds a reference on its session's task, so a session
 * that closes meanwhile stays valid until the answer arrives; the
 * callback thread stores the answer in c->wait, publishes it with a
 * release store of done, wakes the task and drops that reference.  The
 * task reads done with acquire (sl_conn_verdict_ready) before the
 * answer.  The query and the callback URL go to the callback client
 * only: never to a log line.
 */
#include "server/conn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/cluster.h"
#include "server/config.h"
#include "server/iplimit.h"
#include "server/log.h"
#include "server/proto.h"
#include "server/server.h"
#include "server/session_info.h"

#define slog sl_log_conn

_Static_assert(SL_SNAP_ROLE_PUBLISHER == SL_ROLE_PUBLISHER &&
                   SL_SNAP_ROLE_PLAYER == SL_ROLE_PLAYER,
               "the API's role numbers are the connection's");

static void
pending_enter(struct sl_conn *c)
{
    if (c->pending)
        return;
    c->pending = 1;
    atomic_fetch_add_explicit(&c->srv->pending, 1, memory_order_relaxed);
}

static void
pending_leave(struct sl_conn *c)
{
    if (!c->pending)
        return;
    c->pending = 0;
    atomic_fetch_sub_explicit(&c->srv->pending, 1, memory_order_relaxed);
}

void
sl_conn_init(struct sl_conn *c, int counted)
{
    c->role = SL_ROLE_NONE;
    c->wait.rq.kind = SL_AUTH_NONE;
    atomic_init(&c->wait.done, 0);
    if (counted)
        pending_enter(c);
}

void
sl_conn_free(struct sl_conn *c)
{
    pending_leave(c);
}

void
sl_conn_close(struct sl_conn *c, int level, const char *why)
{
    c->tp->close(c->io, level, why);
}

/* A role taken leaves the pending count; a role given up while staying
 * connected enters it again.  The address slot follows, except that an
 * address at its pending cap takes no connection back: that one closes
 * (otherwise playing and stopping would let one address hold any
 * number of pending connections).  A role that ends because the
 * connection closes leaves the slot in neither count. */
void
sl_conn_set_role(struct sl_conn *c, enum sl_role role)
{
    enum sl_ipstate to =
        role == SL_ROLE_PLAYER ? SL_IPSTATE_PLAYER : SL_IPSTATE_OTHER;
    uint32_t over = 0; /* the pending cap that refused it back, 0: none */

    c->role = role;
    if (role != SL_ROLE_NONE) {
        pending_leave(c);
    } else if (!c->closing) {
        to = SL_IPSTATE_PENDING;
        if (c->ipslot != NULL &&
            sl_iplimit_move(c->ipslot, to, c->cfg->max_pending_per_ip) < 0) {
            over = c->cfg->max_pending_per_ip;
            to = SL_IPSTATE_OTHER;
        } else {
            pending_enter(c);
        }
    }
    if (c->ipslot != NULL)
        sl_iplimit_move(c->ipslot, to, 0); /* nothing if it is there */
    sl_session_info_role(c->info, (int) role, c->app, c->stream_name,
                         sl_proto_id_name(c->proto));
    if (over != 0) {
        char why[64];

        snprintf(why, sizeof(why), "max_pending_per_ip (%u) reached", over);
        sl_conn_close(c, SL_LOG_WARN, why);
    }
}

/* ---- callbacks ---- */

/* One request's fields, for a connection and for a play without one
 * alike. */
static void
fill(struct sl_cb_request *req, const struct sl_config *cfg,
     enum sl_cb_action action, const char *url, const char *app,
     const char *name, const char *addr, uint64_t client_id, const char *tc_url,
     const char *query)
{
    const struct sl_app_config *ac = sl_config_app(cfg, app);

    memset(req, 0, sizeof(*req));
    req->action = action;
    snprintf(req->url, sizeof(req->url), "%s", url);
    snprintf(req->app, sizeof(req->app), "%s", app);
    snprintf(req->name, sizeof(req->name), "%s", name != NULL ? name : "");
    snprintf(req->addr, sizeof(req->addr), "%s", addr);
    req->client_id = client_id;
    snprintf(req->tc_url, sizeof(req->tc_url), "%s", tc_url);
    snprintf(req->query, sizeof(req->query), "%s", query != NULL ? query : "");
    req->timeout_ms = ac != NULL ? ac->callback_timeout_ms : 3000;
}

static void
fill_request(const struct sl_conn *c, struct sl_cb_request *req,
             enum sl_cb_action action, const char *url, const char *name,
             const char *query)
{
    fill(req, c->cfg, action, url, c->app, name, c->peer_ip, c->id, c->url,
         query);
}

/* The callback thread: the answer goes into the parked request, and the
 * session is woken to act on it. */
static void
on_answer(void *arg, const struct sl_cb_result *r)
{
    struct sl_conn *c = arg;

    c->wait.answer = *r;
    atomic_store_explicit(&c->wait.done, 1, memory_order_release);
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
sl_conn_wait_submit(struct sl_conn *c, const char *url,
                    struct sl_auth_verdict *refusal)
{
    struct sl_conn_wait *w = &c->wait;
    struct sl_callbacks *cb = atomic_load(&c->srv->callbacks);
    struct sl_cb_request req;
    const char          *why = NULL;
    int                  rc;

    fill_request(c, &req, action_of(w->rq.kind), url, w->rq.name, w->rq.query);
    /* The query lived in the request's message: it is in req now, and
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

int
sl_conn_waiting(const struct sl_conn *c)
{
    return c->wait.rq.kind != SL_AUTH_NONE || c->held;
}

int
sl_conn_verdict_ready(struct sl_conn *c)
{
    if (c->held)
        return atomic_load_explicit(&c->held_ready, memory_order_acquire);
    return sl_conn_waiting(c) &&
           atomic_load_explicit(&c->wait.done, memory_order_acquire);
}

void
sl_conn_wait_verdict(struct sl_conn *c, struct sl_auth_verdict *v)
{
    sl_auth_apply_callback(&c->wait.rq, &c->wait.answer, v);
}

/* A granted publish or play ended (c->role still says which): tells the
 * app's on_done, when it has one.  Fire and forget. */
static void
notify_done(struct sl_conn *c)
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

void
sl_conn_play_done(struct sl_server *srv, const struct sl_config *cfg,
                  const struct sl_play_done *d)
{
    const struct sl_app_config *app = sl_config_app(cfg, d->app);
    struct sl_callbacks        *cb = atomic_load(&srv->callbacks);
    struct sl_cb_request        req;

    if (app == NULL || app->on_done[0] == '\0' || cb == NULL)
        return;
    fill(&req, cfg, SL_CB_PLAY_DONE, app->on_done, d->app, d->name, d->addr,
         d->client_id, d->url, NULL);
    sl_callbacks_submit(cb, &req, NULL, NULL);
}

/* ---- roles ---- */

int
sl_conn_admit_play(struct sl_conn *c, char *why, size_t cap)
{
    uint32_t max = c->cfg->max_players_per_ip;

    if (c->ipslot != NULL && sl_iplimit_may_play(c->ipslot, max) < 0) {
        snprintf(why, cap, "max_players_per_ip (%u) reached", max);
        atomic_fetch_add_explicit(&c->srv->plays_refused_per_ip, 1,
                                  memory_order_relaxed);
        return -EBUSY;
    }
    return sl_cluster_admit_play(c->srv, why, cap) < 0 ? -EBUSY : 0;
}

void
sl_conn_settle(struct sl_conn *c)
{
    pending_leave(c);
    if (c->ipslot != NULL)
        sl_iplimit_move(c->ipslot, SL_IPSTATE_PLAYER, 0);
}

int
sl_conn_play(struct sl_conn *c, const char *name)
{
    snprintf(c->stream_name, sizeof(c->stream_name), "%s", name);
    c->sub.task = c->task;
    if (sl_hub_subscribe(c->srv->hub, c->app, name, &c->sub) < 0)
        return -ENOMEM;
    c->subscribed = 1;
    c->done_due = 1;
    atomic_fetch_add(&c->srv->players, 1);
    sl_conn_set_role(c, SL_ROLE_PLAYER);
    return 0;
}

void
sl_conn_leave(struct sl_conn *c)
{
    if (c->role == SL_ROLE_PUBLISHER && c->pub_stream != NULL) {
        sl_hub_unpublish(c->pub_stream, c);
        c->pub_stream = NULL;
        atomic_fetch_sub(&c->srv->publishers, 1);
        slog(SL_LOG_INFO, c, "unpublished %s/%s", c->app, c->stream_name);
    } else if (c->role == SL_ROLE_PLAYER && c->subscribed) {
        sl_hub_unsubscribe(&c->sub);
        c->subscribed = 0;
        atomic_fetch_sub(&c->srv->players, 1);
        slog(SL_LOG_INFO, c, "stopped playing %s/%s", c->app, c->stream_name);
    }
    if (c->role != SL_ROLE_NONE) {
        if (c->done_due)
            notify_done(c);
        c->done_due = 0;
        sl_conn_set_role(c, SL_ROLE_NONE);
    }
}

void
sl_conn_closing(struct sl_conn *c)
{
    c->closing = 1;
    sl_conn_leave(c);
}

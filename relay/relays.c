#include "relay/relay.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/queue.h"
#include "relay/pull.h"
#include "relay/push.h"
#include "server/log.h"

struct entry {
    struct sl_list  link;
    struct sl_push *push; /* one of the two */
    struct sl_pull *pull;
    int             ending; /* a pull that decided to end */
};

struct sl_relays {
    struct sl_hub  *hub;
    pthread_mutex_t lock;
    struct sl_list  list;
    int             stopped;
};

const char *
sl_relay_state_name(enum sl_relay_state s)
{
    switch (s) {
    case SL_RELAY_CONNECTING:
        return "connecting";
    case SL_RELAY_LIVE:
        return "live";
    case SL_RELAY_BACKOFF:
        return "backoff";
    default:
        return "done";
    }
}

static int
entry_done(const struct entry *e)
{
    return e->push ? sl_push_done(e->push) : sl_pull_done(e->pull);
}

static void
entry_join(struct entry *e)
{
    if (e->push != NULL)
        sl_push_join(e->push);
    else
        sl_pull_join(e->pull);
    free(e);
}

/* Joins finished relays.  Lock held. */
static void
reap(struct sl_relays *r)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &r->list)
    {
        struct entry *e = sl_list_entry(pos, struct entry, link);

        if (entry_done(e)) {
            sl_list_remove(&e->link);
            entry_join(e);
        }
    }
}

static void
add_entry(struct sl_relays *r, struct sl_push *push, struct sl_pull *pull)
{
    struct entry *e = calloc(1, sizeof(*e));

    if (e == NULL) {
        /* Cannot track it: stop it at once rather than leak a thread. */
        if (push != NULL) {
            sl_push_stop(push);
            sl_push_join(push);
        } else {
            sl_pull_stop(pull);
            sl_pull_join(pull);
        }
        return;
    }
    e->push = push;
    e->pull = pull;
    sl_list_insert_tail(&r->list, &e->link);
}

/* Does relay rc push stream name (derived: a rendition)? */
static int
selects(const struct sl_relay_config *rc, const char *name, int derived)
{
    size_t n = strlen(name);

    if (!derived)
        return rc->push_source;
    for (int i = 0; i < rc->nrungs; i++) {
        size_t k = strlen(rc->rungs[i]);

        if (n > k + 1 && name[n - k - 1] == '_' &&
            !strcmp(name + n - k, rc->rungs[i]))
            return 1;
    }
    return 0;
}

static void
on_publish(struct sl_relays *r, const struct sl_config *cfg,
           const struct sl_app_config *app, const struct sl_hub_event *ev)
{
    for (int i = 0; i < app->nrelays; i++) {
        const struct sl_relay_config *rc = &cfg->relays[app->relays[i]];
        struct sl_push               *p;

        if (!selects(rc, ev->name, ev->derived))
            continue;
        p = sl_push_start(r->hub, ev->app, ev->name, rc);
        if (p == NULL) {
            sl_log_warn("relay %s for %s/%s: cannot start", rc->name, ev->app,
                        ev->name);
            continue;
        }
        add_entry(r, p, NULL);
    }
}

static int
pull_may_end(void *ctx, struct sl_pull *p)
{
    struct sl_relays *r = ctx;
    struct sl_list   *pos, *tmp;
    int               end;

    /* Decided under the lock a new player's event takes too: either the
     * player is counted here, or its event sees this pull ending and
     * starts a new one. */
    pthread_mutex_lock(&r->lock);
    end = sl_hub_subscribers(r->hub, sl_pull_app(p), sl_pull_name(p)) == 0;
    if (end)
        sl_list_foreach_safe(pos, tmp, &r->list)
        {
            struct entry *e = sl_list_entry(pos, struct entry, link);

            if (e->pull == p)
                e->ending = 1;
        }
    pthread_mutex_unlock(&r->lock);
    return end;
}

static void
on_subscribe(struct sl_relays *r, const struct sl_app_config *app,
             const struct sl_hub_event *ev)
{
    struct sl_list *pos, *tmp;
    struct sl_pull *p;

    sl_list_foreach_safe(pos, tmp, &r->list)
    {
        struct entry *e = sl_list_entry(pos, struct entry, link);

        if (e->pull != NULL && !e->ending && !sl_pull_done(e->pull) &&
            !strcmp(sl_pull_app(e->pull), ev->app) &&
            !strcmp(sl_pull_name(e->pull), ev->name))
            return; /* one pull serves every player */
    }
    p = sl_pull_start(r->hub, ev->app, ev->name, app, pull_may_end, r);
    if (p == NULL) {
        sl_log_warn("pull %s/%s: cannot start", ev->app, ev->name);
        return;
    }
    add_entry(r, NULL, p);
}

static void
on_event(void *ctx, const struct sl_hub_event *ev)
{
    struct sl_relays           *r = ctx;
    struct sl_config           *cfg;
    const struct sl_app_config *app;

    if (ev->kind == SL_HUB_UNPUBLISH || ev->kind == SL_HUB_UNSUBSCRIBE)
        return; /* pushes hear the end through their tap; pulls count */
    if (ev->kind == SL_HUB_SUBSCRIBE && (ev->live || ev->derived))
        return;
    cfg = sl_config_get();
    app = cfg ? sl_config_app(cfg, ev->app) : NULL;
    if (app == NULL ||
        (ev->kind == SL_HUB_PUBLISH ? app->nrelays : app->npulls) == 0) {
        sl_config_unref(cfg);
        return;
    }
    pthread_mutex_lock(&r->lock);
    reap(r);
    if (!r->stopped) {
        if (ev->kind == SL_HUB_PUBLISH)
            on_publish(r, cfg, app, ev);
        else
            on_subscribe(r, app, ev);
    }
    pthread_mutex_unlock(&r->lock);
    sl_config_unref(cfg);
}

struct sl_relays *
sl_relays_new(struct sl_hub *hub)
{
    struct sl_relays *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->hub = hub;
    pthread_mutex_init(&r->lock, NULL);
    sl_list_init(&r->list);
    if (sl_hub_add_observer(hub, on_event, r) < 0) {
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
    }
    return r;
}

void
sl_relays_stop(struct sl_relays *r)
{
    struct sl_list *pos, *tmp;
    struct sl_list  all;

    pthread_mutex_lock(&r->lock);
    r->stopped = 1;
    sl_list_init(&all);
    sl_list_foreach_safe(pos, tmp, &r->list)
    {
        struct entry *e = sl_list_entry(pos, struct entry, link);

        if (e->push != NULL)
            sl_push_stop(e->push);
        else
            sl_pull_stop(e->pull);
        sl_list_remove(&e->link);
        sl_list_insert_tail(&all, &e->link);
    }
    pthread_mutex_unlock(&r->lock);
    /* Joined without the lock: a pull deciding to end takes it. */
    sl_list_foreach_safe(pos, tmp, &all)
    {
        struct entry *e = sl_list_entry(pos, struct entry, link);

        sl_list_remove(&e->link);
        entry_join(e);
    }
}

void
sl_relays_free(struct sl_relays *r)
{
    if (r == NULL)
        return;
    sl_relays_stop(r);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int
sl_relays_stats(struct sl_relays *r, struct sl_relay_stats *out, int max)
{
    struct sl_list *pos, *tmp;
    int             n = 0;

    pthread_mutex_lock(&r->lock);
    sl_list_foreach_safe(pos, tmp, &r->list)
    {
        struct entry *e = sl_list_entry(pos, struct entry, link);

        if (n == max)
            break;
        if (entry_done(e))
            continue;
        if (e->push != NULL)
            sl_push_stats(e->push, &out[n++]);
        else
            sl_pull_stats(e->pull, &out[n++]);
    }
    pthread_mutex_unlock(&r->lock);
    return n;
}

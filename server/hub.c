/*
 * The hub's name table and the lifetimes of its streams.  A stream
 * exists while it has a publisher, a subscriber or a tap; this file
 * creates and frees it, attaches and detaches each of them, tells the
 * observers, and answers the API's questions.  What a message does on
 * its way in is in hub_ingest.c, the ring and the players' cursors in
 * hub_ring.c, the hot standby in hub_standby.c; the stream itself is in
 * hub_int.h.
 */
#include "server/hub.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/clock.h"
#include "rtmp/rtmp.h"
#include "server/hub_int.h"
#include "server/log.h"

struct sl_hub *
sl_hub_new(const struct sl_hub_limits *lim)
{
    struct sl_hub *hub = calloc(1, sizeof(*hub));

    if (hub == NULL)
        return NULL;
    pthread_mutex_init(&hub->lock, NULL);
    sl_list_init(&hub->streams);
    hub->lim = *lim;
    if (hub->lim.ring_max_msgs == 0)
        hub->lim.ring_max_msgs = SL_RING_MSGS;
    if (hub->lim.ring_max_bytes == 0)
        hub->lim.ring_max_bytes =
            lim->gop_max_bytes ? lim->gop_max_bytes : 64u << 20;
    hub->ring_cap = 2;
    while (hub->ring_cap < hub->lim.ring_max_msgs)
        hub->ring_cap <<= 1;
    atomic_init(&hub->merge_write_ms, lim->merge_write_ms);
    atomic_init(&hub->gop_cache, lim->gop_cache);
    atomic_init(&hub->ring_max_ms, lim->ring_max_ms);
    return hub;
}

void
sl_hub_free(struct sl_hub *hub)
{
    if (hub == NULL)
        return;
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

static struct sl_stream *
find_stream(struct sl_hub *hub, const char *app, const char *name)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &hub->streams)
    {
        struct sl_stream *s = sl_list_entry(pos, struct sl_stream, link);

        if (!strcmp(s->app, app) && !strcmp(s->name, name))
            return s;
    }
    return NULL;
}

/* Called with the hub lock held. */
static struct sl_stream *
get_stream(struct sl_hub *hub, const char *app, const char *name)
{
    struct sl_stream *s = find_stream(hub, app, name);

    if (s != NULL)
        return s;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->ring = calloc(hub->ring_cap, sizeof(*s->ring));
    if (s->ring == NULL) {
        free(s);
        return NULL;
    }
    s->ring_mask = hub->ring_cap - 1;
    s->hub = hub;
    snprintf(s->app, sizeof(s->app), "%s", app);
    snprintf(s->name, sizeof(s->name), "%s", name);
    pthread_mutex_init(&s->lock, NULL);
    sl_list_init(&s->taps);
    sl_list_insert_tail(&hub->streams, &s->link);
    atomic_fetch_add(&hub->nstreams, 1);
    return s;
}

/* Frees s when nobody publishes, plays or taps it.  Called with the hub
 * lock held and the stream lock released. */
static void
maybe_free_stream(struct sl_stream *s)
{
    if (s->publisher != NULL || s->nsubs > 0 || s->ntaps > 0)
        return;
    sl_list_remove(&s->link);
    atomic_fetch_sub(&s->hub->nstreams, 1);
    sl_standby_forget(&s->sb);
    sl_ring_caches_clear(s);
    sl_ring_clear(s);
    free(s->ring);
    free(s->sub_tasks);
    free(s->subs);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void
sl_hub_reload(struct sl_hub *hub, uint32_t merge_write_ms, int gop_cache,
              uint32_t ring_max_ms)
{
    /* Only the reloading thread writes it, so load-then-store is no
     * race with another writer. */
    if (ring_max_ms >
        atomic_load_explicit(&hub->ring_max_ms, memory_order_relaxed))
        atomic_store_explicit(&hub->ring_max_ms, ring_max_ms,
                              memory_order_relaxed);
    atomic_store_explicit(&hub->merge_write_ms, merge_write_ms,
                          memory_order_relaxed);
    atomic_store_explicit(&hub->gop_cache, gop_cache, memory_order_relaxed);
}

int
sl_hub_add_observer(struct sl_hub *hub, sl_hub_observer_fn fn, void *ctx)
{
    if (hub->nobservers == SL_HUB_MAX_OBSERVERS)
        return -ENOSPC;
    hub->observers[hub->nobservers].fn = fn;
    hub->observers[hub->nobservers].ctx = ctx;
    hub->nobservers++;
    return 0;
}

/* Observers are registered before any thread publishes, so the array is
 * read without a lock. */
static void
notify_ev(struct sl_hub *hub, const struct sl_hub_event *ev)
{
    for (int i = 0; i < hub->nobservers; i++)
        hub->observers[i].fn(hub->observers[i].ctx, ev);
}

static void
notify(struct sl_hub *hub, enum sl_hub_event_kind kind, const char *app,
       const char *name, int derived)
{
    struct sl_hub_event ev = {kind, app, name, derived, 0, 0};

    notify_ev(hub, &ev);
}

/* backup: sl_hub_publish_backup (a standby may join, or this one may
 * become it).  0 primary, 1 standby, or -errno. */
static int
publish(struct sl_hub *hub, const char *app, const char *name,
        const void *publisher, int derived, int backup, uint64_t id,
        uint32_t ingest_ms, struct sl_stream **out)
{
    struct sl_stream *s;
    int               rc = 0;

    pthread_mutex_lock(&hub->lock);
    s = get_stream(hub, app, name);
    if (s == NULL) {
        pthread_mutex_unlock(&hub->lock);
        return -ENOMEM;
    }
    pthread_mutex_lock(&s->lock);
    if (s->publisher != NULL) {
        rc = -EBUSY;
        if (backup && s->backup && s->sb.who == NULL) {
            s->sb.who = publisher;
            s->sb.id = id;
            s->ingest_ms = ingest_ms;
            *out = s;
            rc = 1;
        }
    } else {
        s->publisher = publisher;
        s->backup = (uint8_t) backup;
        s->pub_id = id;
        s->ingest_ms = ingest_ms;
        s->pub_last_ms = sl_now_ms();
        s->need_key = 0;
        s->derived = (uint8_t) derived;
        atomic_store_explicit(&s->live, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->publish_gen, 1, memory_order_relaxed);
        s->have_ts = 0;
        sl_ring_caches_clear(s);
        *out = s;
    }
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_unlock(&hub->lock);
    /* s stays: the new publisher holds it. */
    if (rc == 0)
        notify(hub, SL_HUB_PUBLISH, app, name, derived);
    return rc;
}

int
sl_hub_publish(struct sl_hub *hub, const char *app, const char *name,
               const void *publisher, struct sl_stream **out)
{
    return publish(hub, app, name, publisher, 0, 0, 0, 0, out);
}

int
sl_hub_publish_backup(struct sl_hub *hub, const char *app, const char *name,
                      const void *publisher, uint64_t id, uint32_t ingest_ms,
                      struct sl_stream **out)
{
    return publish(hub, app, name, publisher, 0, 1, id, ingest_ms, out);
}

int
sl_hub_publish_derived(struct sl_hub *hub, const char *app, const char *name,
                       const void *publisher, struct sl_stream **out)
{
    return publish(hub, app, name, publisher, 1, 0, 0, 0, out);
}

void
sl_hub_unpublish(struct sl_stream *s, const void *publisher)
{
    struct sl_hub  *hub = s->hub;
    struct sl_list *pos, *tmp;
    char            app[SL_NAME_MAX], name[SL_NAME_MAX];
    int             derived;
    uint64_t        now;

    pthread_mutex_lock(&hub->lock);
    pthread_mutex_lock(&s->lock);
    if (s->publisher != publisher || s->sb.who != NULL) {
        now = sl_now_ms();
        if (s->publisher == publisher) {
            /* The standby goes on where this one stopped: for players,
             * taps and observers the publication never ends. */
            sl_ingest_take_over(s, now, NULL);
        } else if (s->sb.who == publisher) {
            sl_log_info("%s/%s: standby publisher c%llu left", s->app, s->name,
                        (unsigned long long) s->sb.id);
            sl_standby_forget(&s->sb);
        }
        pthread_mutex_unlock(&s->lock);
        pthread_mutex_unlock(&hub->lock);
        return;
    }
    now = sl_now_ms();
    s->publisher = NULL;
    atomic_store_explicit(&s->unpublished_ms, now, memory_order_relaxed);
    atomic_store_explicit(&s->live, 0, memory_order_relaxed);
    sl_ring_caches_clear(s);
    sl_ring_wake_all(s, now);
    sl_list_foreach_safe(pos, tmp, &s->taps)
    {
        struct sl_tap *t = sl_list_entry(pos, struct sl_tap, link);

        if (t->on_end != NULL)
            t->on_end(t);
    }
    /* The stream may be freed below; the observers get copies. */
    memcpy(app, s->app, sizeof(app));
    memcpy(name, s->name, sizeof(name));
    derived = s->derived;
    pthread_mutex_unlock(&s->lock);
    maybe_free_stream(s);
    pthread_mutex_unlock(&hub->lock);
    notify(hub, SL_HUB_UNPUBLISH, app, name, derived);
}

/* Room for more subscribers in s's arrays (doubled).  Stream lock
 * held.  0 or -ENOMEM. */
static int
grow_subs(struct sl_stream *s)
{
    uint32_t         cap = s->subs_cap ? 2 * s->subs_cap : 16;
    struct sl_task **tasks;
    struct sl_sub  **subs;

    tasks = realloc(s->sub_tasks, cap * sizeof(*tasks));
    if (tasks == NULL)
        return -ENOMEM;
    s->sub_tasks = tasks;
    subs = realloc(s->subs, cap * sizeof(*subs));
    if (subs == NULL)
        return -ENOMEM;
    s->subs = subs;
    s->subs_cap = cap;
    return 0;
}

int
sl_hub_subscribe(struct sl_hub *hub, const char *app, const char *name,
                 struct sl_sub *sub)
{
    struct sl_stream   *s;
    struct sl_hub_event ev = {SL_HUB_SUBSCRIBE, app, name, 0, 0, 0};

    pthread_mutex_lock(&hub->lock);
    s = get_stream(hub, app, name);
    if (s == NULL) {
        pthread_mutex_unlock(&hub->lock);
        return -ENOMEM;
    }
    pthread_mutex_lock(&s->lock);
    if (s->nsubs == s->subs_cap && grow_subs(s) != 0) {
        pthread_mutex_unlock(&s->lock);
        maybe_free_stream(s);
        pthread_mutex_unlock(&hub->lock);
        return -ENOMEM;
    }
    sub->stream = s;
    sub->slot = s->nsubs;
    s->subs[s->nsubs] = sub;
    s->sub_tasks[s->nsubs] = sub->task;
    s->nsubs++;
    sl_ring_place_cursor(s, sub);
    ev.derived = s->derived;
    ev.live = s->publisher != NULL;
    ev.subscribers = s->nsubs;
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(&hub->nsubs, 1);
    pthread_mutex_unlock(&hub->lock);
    notify_ev(hub, &ev);
    return 0;
}

void
sl_hub_unsubscribe(struct sl_sub *sub)
{
    struct sl_stream   *s = sub->stream;
    struct sl_hub      *hub;
    struct sl_hub_event ev = {SL_HUB_UNSUBSCRIBE, NULL, NULL, 0, 0, 0};
    char                app[SL_NAME_MAX], name[SL_NAME_MAX];

    if (s == NULL)
        return;
    hub = s->hub;
    pthread_mutex_lock(&hub->lock);
    pthread_mutex_lock(&s->lock);
    /* The last subscriber takes the leaving one's slot. */
    s->nsubs--;
    s->subs[sub->slot] = s->subs[s->nsubs];
    s->sub_tasks[sub->slot] = s->sub_tasks[s->nsubs];
    s->subs[sub->slot]->slot = sub->slot;
    memcpy(app, s->app, sizeof(app));
    memcpy(name, s->name, sizeof(name));
    ev.derived = s->derived;
    ev.live = s->publisher != NULL;
    ev.subscribers = s->nsubs;
    pthread_mutex_unlock(&s->lock);
    sub->stream = NULL;
    atomic_fetch_sub(&hub->nsubs, 1);
    maybe_free_stream(s);
    pthread_mutex_unlock(&hub->lock);
    ev.app = app;
    ev.name = name;
    notify_ev(hub, &ev);
}

int
sl_hub_tap(struct sl_hub *hub, const char *app, const char *name,
           struct sl_tap *tap)
{
    struct sl_stream *s;

    pthread_mutex_lock(&hub->lock);
    s = get_stream(hub, app, name);
    if (s == NULL) {
        pthread_mutex_unlock(&hub->lock);
        return -ENOMEM;
    }
    pthread_mutex_lock(&s->lock);
    tap->stream = s;
    sl_list_insert_tail(&s->taps, &tap->link);
    s->ntaps++;
    if (s->publisher != NULL) {
        if (s->meta_pl != NULL)
            tap->on_media(tap, SL_MSG_DATA_AMF0, s->meta_ts, s->meta_pl);
        if (s->vseq_pl != NULL)
            tap->on_media(tap, SL_MSG_VIDEO, s->vseq_ts, s->vseq_pl);
        if (s->aseq_pl != NULL)
            tap->on_media(tap, SL_MSG_AUDIO, s->aseq_ts, s->aseq_pl);
    }
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_unlock(&hub->lock);
    return 0;
}

void
sl_hub_untap(struct sl_tap *tap)
{
    struct sl_stream *s = tap->stream;
    struct sl_hub    *hub;

    if (s == NULL)
        return;
    hub = s->hub;
    pthread_mutex_lock(&hub->lock);
    pthread_mutex_lock(&s->lock);
    sl_list_remove(&tap->link);
    s->ntaps--;
    pthread_mutex_unlock(&s->lock);
    tap->stream = NULL;
    maybe_free_stream(s);
    pthread_mutex_unlock(&hub->lock);
}

void
sl_hub_stream_state(struct sl_stream *s, struct sl_stream_state *st)
{
    st->live = atomic_load_explicit(&s->live, memory_order_relaxed);
    st->publish_gen =
        atomic_load_explicit(&s->publish_gen, memory_order_relaxed);
    st->unpublished_ms =
        atomic_load_explicit(&s->unpublished_ms, memory_order_relaxed);
}

uint32_t
sl_hub_stream_head_ts(struct sl_stream *s)
{
    return atomic_load_explicit(&s->head_ts, memory_order_relaxed);
}

/* Whether APP/NAME has a publisher, and how many players it has. */
static void
stream_facts(struct sl_hub *hub, const char *app, const char *name, int *live,
             uint32_t *subs)
{
    struct sl_stream *s;

    *live = 0;
    *subs = 0;
    pthread_mutex_lock(&hub->lock);
    s = find_stream(hub, app, name);
    if (s != NULL) {
        pthread_mutex_lock(&s->lock);
        *live = s->publisher != NULL;
        *subs = s->nsubs;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&hub->lock);
}

uint64_t
sl_hub_standby_id(struct sl_hub *hub, const char *app, const char *name)
{
    struct sl_stream *s;
    uint64_t          id = 0;

    pthread_mutex_lock(&hub->lock);
    s = find_stream(hub, app, name);
    if (s != NULL) {
        pthread_mutex_lock(&s->lock);
        id = s->sb.who != NULL ? s->sb.id : 0;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&hub->lock);
    return id;
}

int
sl_hub_is_live(struct sl_hub *hub, const char *app, const char *name)
{
    int      live;
    uint32_t subs;

    stream_facts(hub, app, name, &live, &subs);
    return live;
}

int
sl_hub_media_kinds(struct sl_hub *hub, const char *app, const char *name,
                   int *audio, int *video)
{
    struct sl_stream *s;
    int               live = 0;

    *audio = *video = 1;
    pthread_mutex_lock(&hub->lock);
    s = find_stream(hub, app, name);
    if (s != NULL) {
        pthread_mutex_lock(&s->lock);
        live = s->publisher != NULL;
        /* Known once a codec header or a frame says so; until then,
         * both (what an FLV player expects from a camera). */
        if (live && (s->aseq != NULL || s->vseq != NULL || s->has_video)) {
            *audio = s->aseq != NULL;
            *video = s->vseq != NULL || s->has_video;
        }
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&hub->lock);
    return live;
}

int
sl_hub_live_streams(struct sl_hub *hub, struct sl_hub_name *out, int max)
{
    struct sl_list *pos, *tmp;
    int             n = 0;

    pthread_mutex_lock(&hub->lock);
    sl_list_foreach_safe(pos, tmp, &hub->streams)
    {
        struct sl_stream *s = sl_list_entry(pos, struct sl_stream, link);
        int               live;
        uint8_t           derived;

        pthread_mutex_lock(&s->lock);
        live = s->publisher != NULL;
        derived = s->derived;
        pthread_mutex_unlock(&s->lock);
        if (!live)
            continue;
        if (n < max) {
            memcpy(out[n].app, s->app, sizeof(out[n].app));
            memcpy(out[n].name, s->name, sizeof(out[n].name));
            out[n].derived = derived;
        }
        n++;
    }
    pthread_mutex_unlock(&hub->lock);
    return n;
}

uint32_t
sl_hub_subscribers(struct sl_hub *hub, const char *app, const char *name)
{
    int      live;
    uint32_t subs;

    stream_facts(hub, app, name, &live, &subs);
    return subs;
}

void
sl_hub_stats(struct sl_hub *hub, struct sl_hub_stats *out)
{
    out->streams = atomic_load(&hub->nstreams);
    out->subscribers = atomic_load(&hub->nsubs);
    out->messages_in = atomic_load(&hub->msgs_in);
    out->bytes_in = atomic_load(&hub->bytes_in);
    out->timestamp_fixes = atomic_load(&hub->ts_fixes);
    out->takeovers = atomic_load(&hub->takeovers);
}

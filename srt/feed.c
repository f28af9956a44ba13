#include "srt/feed.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/ts_out.h"
#include "pool/clock.h"
#include "rtmp/rtmp.h"
#include "server/hub.h"

/* Older than this behind the newest entry, and before the GOP: gone. */
#define KEEP_MS 6000

struct entry {
    struct sl_buf *b;
    int64_t        ts;
    uint8_t        key;
};

struct sl_srt_feed {
    struct sl_tap        tap; /* first: the callbacks get it */
    struct sl_srt_feeds *owner;
    struct sl_list       link; /* in owner->feeds; owner->lock */
    char                 app[SL_NAME_MAX], name[SL_NAME_MAX];
    int                  readers; /* owner->lock */

    pthread_mutex_t   lock; /* everything below */
    struct sl_ts_out *mux;
    struct entry      ring[SL_SRT_FEED_ENTRIES];
    uint64_t          first, next; /* the ring holds [first, next) */
    uint64_t          key_seq;     /* the newest keyframe, if have_key */
    int               have_key;
    size_t            bytes;
    int64_t           newest_ts;
    int               live;
    uint64_t          ended_ms;
    struct sl_list    waiting; /* readers */
};

struct sl_srt_feeds {
    struct sl_hub  *hub;
    pthread_mutex_t lock;
    struct sl_list  feeds;
};

static struct entry *
at(struct sl_srt_feed *fd, uint64_t seq)
{
    return &fd->ring[seq % SL_SRT_FEED_ENTRIES];
}

static void
evict_one(struct sl_srt_feed *fd)
{
    struct entry *e = at(fd, fd->first);

    fd->bytes -= e->b->len;
    sl_buf_unref(e->b);
    e->b = NULL;
    if (fd->have_key && fd->key_seq == fd->first)
        fd->have_key = 0;
    fd->first++;
}

static void
wake_all(struct sl_srt_feed *fd)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &fd->waiting)
    {
        sl_task_wake(sl_list_entry(pos, struct sl_srt_reader, link)->task);
    }
}

/* ---- the tap: the publisher's thread, under the stream lock ---- */

static void
tap_media(struct sl_tap *tap, uint8_t type, int64_t ts, struct sl_buf *body)
{
    struct sl_srt_feed *fd = (struct sl_srt_feed *) tap;
    struct sl_buf      *b;
    int                 key = 0;

    pthread_mutex_lock(&fd->lock);
    fd->live = 1;
    fd->ended_ms = 0;
    b = sl_ts_out_body(fd->mux, type, ts, body->data, body->len, &key);
    if (b != NULL) {
        while (fd->next - fd->first >= SL_SRT_FEED_ENTRIES ||
               (fd->next > fd->first && fd->bytes + b->len > SL_SRT_FEED_BYTES))
            evict_one(fd);
        /* Media too old to matter, unless the GOP a joiner starts from
         * still needs it. */
        while (fd->next > fd->first && fd->have_key &&
               fd->first < fd->key_seq && ts - at(fd, fd->first)->ts > KEEP_MS)
            evict_one(fd);
        *at(fd, fd->next) = (struct entry){b, ts, (uint8_t) key};
        if (key) {
            fd->key_seq = fd->next;
            fd->have_key = 1;
        }
        fd->next++;
        fd->bytes += b->len;
        fd->newest_ts = ts;
        wake_all(fd);
    }
    pthread_mutex_unlock(&fd->lock);
}

static void
tap_end(struct sl_tap *tap)
{
    struct sl_srt_feed *fd = (struct sl_srt_feed *) tap;

    pthread_mutex_lock(&fd->lock);
    fd->live = 0;
    fd->ended_ms = sl_now_ms();
    /* A returning publisher starts a new program. */
    sl_ts_out_free(fd->mux);
    fd->mux = sl_ts_out_new();
    wake_all(fd);
    pthread_mutex_unlock(&fd->lock);
}

/* ---- the feeds ---- */

struct sl_srt_feeds *
sl_srt_feeds_new(struct sl_hub *hub)
{
    struct sl_srt_feeds *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return NULL;
    f->hub = hub;
    pthread_mutex_init(&f->lock, NULL);
    sl_list_init(&f->feeds);
    return f;
}

void
sl_srt_feeds_free(struct sl_srt_feeds *f)
{
    if (f == NULL)
        return;
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static void
feed_free(struct sl_srt_feed *fd)
{
    while (fd->first < fd->next)
        evict_one(fd);
    sl_ts_out_free(fd->mux);
    pthread_mutex_destroy(&fd->lock);
    free(fd);
}

static struct sl_srt_feed *
feed_new(struct sl_srt_feeds *f, const char *app, const char *name)
{
    struct sl_srt_feed *fd = calloc(1, sizeof(*fd));

    if (fd == NULL)
        return NULL;
    fd->owner = f;
    snprintf(fd->app, sizeof(fd->app), "%s", app);
    snprintf(fd->name, sizeof(fd->name), "%s", name);
    pthread_mutex_init(&fd->lock, NULL);
    sl_list_init(&fd->waiting);
    fd->mux = sl_ts_out_new();
    fd->tap.on_media = tap_media;
    fd->tap.on_end = tap_end;
    if (fd->mux == NULL) {
        feed_free(fd);
        return NULL;
    }
    return fd;
}

int
sl_srt_feed_join(struct sl_srt_feeds *f, const char *app, const char *name,
                 struct sl_srt_reader *r)
{
    struct sl_srt_feed *fd = NULL;
    struct sl_list     *pos, *tmp;
    int                 fresh = 0;

    pthread_mutex_lock(&f->lock);
    sl_list_foreach_safe(pos, tmp, &f->feeds)
    {
        struct sl_srt_feed *x = sl_list_entry(pos, struct sl_srt_feed, link);

        if (!strcmp(x->app, app) && !strcmp(x->name, name)) {
            fd = x;
            break;
        }
    }
    if (fd == NULL) {
        fd = feed_new(f, app, name);
        if (fd == NULL) {
            pthread_mutex_unlock(&f->lock);
            return -ENOMEM;
        }
        sl_list_insert_tail(&f->feeds, &fd->link);
        fresh = 1;
    }
    fd->readers++;
    pthread_mutex_lock(&fd->lock);
    r->feed = fd;
    r->cursor = fd->have_key ? fd->key_seq : fd->next;
    r->waiting_key = !fd->have_key;
    sl_list_insert_tail(&fd->waiting, &r->link);
    pthread_mutex_unlock(&fd->lock);
    /* Tapped under the list lock, so a second joiner cannot find the
     * feed before it is attached (the tap's replay of the codec headers
     * takes the stream lock, then the feed's: no cycle with this one). */
    if (fresh && sl_hub_tap(f->hub, app, name, &fd->tap) < 0) {
        sl_list_remove(&fd->link);
        pthread_mutex_unlock(&f->lock);
        feed_free(fd);
        r->feed = NULL;
        return -ENOMEM;
    }
    pthread_mutex_unlock(&f->lock);
    return 0;
}

void
sl_srt_feed_leave(struct sl_srt_feeds *f, struct sl_srt_reader *r)
{
    struct sl_srt_feed *fd = r->feed;
    int                 last;

    if (fd == NULL)
        return;
    pthread_mutex_lock(&fd->lock);
    sl_list_remove(&r->link);
    pthread_mutex_unlock(&fd->lock);
    r->feed = NULL;
    pthread_mutex_lock(&f->lock);
    last = --fd->readers == 0;
    if (last)
        sl_list_remove(&fd->link);
    pthread_mutex_unlock(&f->lock);
    if (last) {
        sl_hub_untap(&fd->tap);
        feed_free(fd);
    }
}

int
sl_srt_feed_collect(struct sl_srt_reader *r, struct sl_buf **out, int max,
                    int *live, uint64_t *ended_ms)
{
    struct sl_srt_feed *fd = r->feed;
    int                 n = 0;

    pthread_mutex_lock(&fd->lock);
    *live = fd->live;
    *ended_ms = fd->ended_ms;
    if (r->cursor < fd->first ||
        (r->cursor < fd->next &&
         fd->newest_ts - at(fd, r->cursor)->ts > (int64_t) r->max_lag_ms)) {
        /* Behind: to the newest keyframe within max_lag, or the next. */
        r->skips++;
        if (fd->have_key && fd->newest_ts - at(fd, fd->key_seq)->ts <=
                                (int64_t) r->max_lag_ms) {
            r->cursor = fd->key_seq;
            r->waiting_key = 0;
        } else {
            r->cursor = fd->next;
            r->waiting_key = 1;
        }
    }
    while (r->cursor < fd->next && n < max) {
        struct entry *e = at(fd, r->cursor++);

        if (r->waiting_key && !e->key)
            continue;
        r->waiting_key = 0;
        out[n++] = sl_buf_ref(e->b);
    }
    pthread_mutex_unlock(&fd->lock);
    return n;
}

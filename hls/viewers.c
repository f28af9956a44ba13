/*
 * HLS viewers by the id in their URLs (see viewers.h).
 */
#include "hls/viewers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PROBES 16 /* slots looked at for one sid */

struct slot {
    uint64_t sid; /* 0: free */
    uint64_t stream; /* hash of "APP/NAME" */
    uint64_t last_ms;
    /* Who it is, for its on_done; NULL: counted only.  Owned by the
     * slot until sl_hls_viewers_expire hands it out. */
    struct sl_hls_viewer *who;
};

struct sl_hls_viewers {
    pthread_mutex_t lock;
    struct slot    *slots;   /* allocated with the first viewer */
    uint32_t        idle_ms; /* under lock */
};

/* FNV-1a over "APP/NAME". */
uint64_t
sl_hls_viewers_key(const char *app, const char *name)
{
    uint64_t h = 14695981039346656037ull;

    for (const char *p = app; *p; p++)
        h = (h ^ (uint8_t) *p) * 1099511628211ull;
    h = (h ^ '/') * 1099511628211ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t) *p) * 1099511628211ull;
    return h;
}

struct sl_hls_viewers *
sl_hls_viewers_new(void)
{
    struct sl_hls_viewers *t = calloc(1, sizeof(*t));

    if (t != NULL) {
        pthread_mutex_init(&t->lock, NULL);
        t->idle_ms = SL_HLS_VIEWER_IDLE_MS;
    }
    return t;
}

void
sl_hls_viewers_free(struct sl_hls_viewers *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->lock);
    for (uint32_t i = 0; t->slots != NULL && i < SL_HLS_VIEWERS_MAX; i++)
        free(t->slots[i].who);
    free(t->slots);
    free(t);
}

void
sl_hls_viewers_set_idle(struct sl_hls_viewers *t, uint32_t idle_ms)
{
    pthread_mutex_lock(&t->lock);
    t->idle_ms = idle_ms > 0 ? idle_ms : 1;
    pthread_mutex_unlock(&t->lock);
}

/* Each caller reads its clock before taking the lock, so a time can be
 * a little older than the slot's last one: that viewer is active (the
 * unsigned difference would make it idle for 2^64 ms). */
static int
idle(const struct sl_hls_viewers *t, const struct slot *s, uint64_t now_ms)
{
    return s->sid == 0 ||
           (now_ms > s->last_ms && now_ms - s->last_ms >= t->idle_ms);
}

/* Whether a slot may be given to another viewer: idle, and its on_done
 * (if any) handed out already. */
static int
reusable(const struct sl_hls_viewers *t, const struct slot *s, uint64_t now_ms)
{
    return idle(t, s, now_ms) && s->who == NULL;
}

/* The slot of sid, made when there is none and a slot is free (t->lock
 * held).  NULL when the table has no room (or no memory). */
static struct slot *
find_or_take(struct sl_hls_viewers *t, uint64_t sid, const char *app,
             const char *name, uint64_t now_ms)
{
    struct slot *free_slot = NULL;

    if (t->slots == NULL)
        t->slots = calloc(SL_HLS_VIEWERS_MAX, sizeof(*t->slots));
    for (uint32_t i = 0; t->slots != NULL && i < PROBES; i++) {
        struct slot *s =
            &t->slots[(sid + i * 0x9e3779b9u) % SL_HLS_VIEWERS_MAX];

        if (s->sid == sid) {
            if (now_ms > s->last_ms) /* never back (see idle) */
                s->last_ms = now_ms;
            s->stream = sl_hls_viewers_key(app, name);
            return s;
        }
        if (free_slot == NULL && reusable(t, s, now_ms))
            free_slot = s;
    }
    if (free_slot != NULL)
        *free_slot =
            (struct slot){sid, sl_hls_viewers_key(app, name), now_ms, NULL};
    return free_slot;
}

int
sl_hls_viewers_start(struct sl_hls_viewers *t, uint64_t sid, const char *app,
                     const char *name, uint64_t now_ms,
                     const struct sl_hls_viewer *who)
{
    struct sl_hls_viewer *copy = NULL;
    struct slot          *s;
    int                   rc = 0;

    if (sid == 0)
        return -EINVAL;
    /* Copied before the lock: the table's lock is held for lookups. */
    if (who != NULL && (copy = malloc(sizeof(*copy))) == NULL)
        return -ENOMEM;
    if (copy != NULL)
        *copy = *who;
    pthread_mutex_lock(&t->lock);
    s = find_or_take(t, sid, app, name, now_ms);
    if (s == NULL) {
        rc = -ENOSPC;
    } else if (s->who == NULL) {
        s->who = copy;
        copy = NULL;
    }
    pthread_mutex_unlock(&t->lock);
    free(copy);
    return rc;
}

int
sl_hls_viewers_expire(struct sl_hls_viewers *t, uint64_t now_ms,
                      const uint64_t *ended, int nended,
                      struct sl_hls_viewer **out, int max)
{
    int n = 0;

    pthread_mutex_lock(&t->lock);
    for (uint32_t i = 0; t->slots != NULL && i < SL_HLS_VIEWERS_MAX && n < max;
         i++) {
        struct slot *s = &t->slots[i];
        int          gone = s->sid != 0 && idle(t, s, now_ms);

        for (int k = 0; k < nended && s->sid != 0 && !gone; k++)
            gone = s->stream == ended[k];
        if (!gone)
            continue;
        if (s->who != NULL)
            out[n++] = s->who;
        *s = (struct slot){0};
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

void
sl_hls_viewers_seen(struct sl_hls_viewers *t, uint64_t sid, const char *app,
                    const char *name, uint64_t now_ms)
{
    if (sid == 0)
        return;
    pthread_mutex_lock(&t->lock);
    find_or_take(t, sid, app, name, now_ms);
    pthread_mutex_unlock(&t->lock);
}

int
sl_hls_viewers_count(struct sl_hls_viewers *t, const char *app,
                     const char *name, uint64_t now_ms)
{
    uint64_t key = app != NULL ? sl_hls_viewers_key(app, name) : 0;
    int      n = 0;

    pthread_mutex_lock(&t->lock);
    for (uint32_t i = 0; t->slots != NULL && i < SL_HLS_VIEWERS_MAX; i++) {
        const struct slot *s = &t->slots[i];

        if (!idle(t, s, now_ms) && (app == NULL || s->stream == key))
            n++;
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

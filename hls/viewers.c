/*
 * HLS viewers by the id in their URLs (see viewers.h).
 */
#include "hls/viewers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PROBES 16 /* slots looked at for one sid */

struct slot {
    uint64_t sid; /* 0: free */
    uint64_t stream; /* hash of "APP/NAME" */
    uint64_t last_ms;
};

struct sl_hls_viewers {
    pthread_mutex_t lock;
    struct slot    *slots; /* allocated with the first viewer */
};

/* FNV-1a over "APP/NAME". */
static uint64_t
stream_key(const char *app, const char *name)
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

    if (t != NULL)
        pthread_mutex_init(&t->lock, NULL);
    return t;
}

void
sl_hls_viewers_free(struct sl_hls_viewers *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->slots);
    free(t);
}

/* Each caller reads its clock before taking the lock, so a time can be
 * a little older than the slot's last one: that viewer is active (the
 * unsigned difference would make it idle for 2^64 ms). */
static int
idle(const struct slot *s, uint64_t now_ms)
{
    return s->sid == 0 || (now_ms > s->last_ms &&
                           now_ms - s->last_ms >= SL_HLS_VIEWER_IDLE_MS);
}

void
sl_hls_viewers_seen(struct sl_hls_viewers *t, uint64_t sid, const char *app,
                    const char *name, uint64_t now_ms)
{
    struct slot *free_slot = NULL;

    if (sid == 0)
        return;
    pthread_mutex_lock(&t->lock);
    if (t->slots == NULL)
        t->slots = calloc(SL_HLS_VIEWERS_MAX, sizeof(*t->slots));
    for (uint32_t i = 0; t->slots != NULL && i < PROBES; i++) {
        struct slot *s =
            &t->slots[(sid + i * 0x9e3779b9u) % SL_HLS_VIEWERS_MAX];

        if (s->sid == sid) {
            if (now_ms > s->last_ms) /* never back (see idle) */
                s->last_ms = now_ms;
            s->stream = stream_key(app, name);
            free_slot = NULL;
            goto out;
        }
        if (free_slot == NULL && idle(s, now_ms))
            free_slot = s;
    }
    if (free_slot != NULL)
        *free_slot = (struct slot){sid, stream_key(app, name), now_ms};
out:
    pthread_mutex_unlock(&t->lock);
}

int
sl_hls_viewers_count(struct sl_hls_viewers *t, const char *app,
                     const char *name, uint64_t now_ms)
{
    uint64_t key = app != NULL ? stream_key(app, name) : 0;
    int      n = 0;

    pthread_mutex_lock(&t->lock);
    for (uint32_t i = 0; t->slots != NULL && i < SL_HLS_VIEWERS_MAX; i++) {
        const struct slot *s = &t->slots[i];

        if (!idle(s, now_ms) && (app == NULL || s->stream == key))
            n++;
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

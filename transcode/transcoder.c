#include "transcode/transcoder.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/log.h>

#include "pool/clock.h"
#include "pool/queue.h"
#include "server/config.h"
#include "server/log.h"

/* libav's own messages, at most this many a second (a corrupt source
 * can make the decoder complain about every macroblock). */
#define AV_LOG_PER_SEC 20

struct entry {
    struct sl_list    link;
    struct sl_ladder *ladder;
};

struct sl_transcoder {
    struct sl_hub  *hub;
    pthread_mutex_t lock;
    struct sl_list  ladders;
    int             stopped;
};

static pthread_mutex_t av_log_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t        av_log_second;
static int             av_log_count;

/* libav warnings and errors become our warnings: bad input is the
 * source's problem, not a server error. */
static void
av_log_bridge(void *avcl, int level, const char *fmt, va_list vl)
{
    char     line[512];
    int      print_prefix = 1;
    uint64_t sec = sl_now_ms() / 1000;
    size_t   n;

    if (level > AV_LOG_WARNING)
        return;
    pthread_mutex_lock(&av_log_lock);
    if (sec != av_log_second) {
        av_log_second = sec;
        av_log_count = 0;
    }
    if (av_log_count++ >= AV_LOG_PER_SEC) {
        pthread_mutex_unlock(&av_log_lock);
        return;
    }
    pthread_mutex_unlock(&av_log_lock);
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line),
                        &print_prefix);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n > 0)
        sl_log_warn("libav: %s", line);
}

/* Joins ladders whose thread has finished.  Lock held. */
static void
reap(struct sl_transcoder *t, int all)
{
    struct sl_list *pos, *tmp;

    sl_list_foreach_safe(pos, tmp, &t->ladders)
    {
        struct entry *e = sl_list_entry(pos, struct entry, link);

        if (!all && !sl_ladder_done(e->ladder))
            continue;
        sl_list_remove(&e->link);
        sl_ladder_join(e->ladder);
        free(e);
    }
}

static void
start_ladder(struct sl_transcoder *t, const char *app, const char *name)
{
    struct sl_config           *cfg = sl_config_get();
    const struct sl_app_config *ac = cfg ? sl_config_app(cfg, app) : NULL;
    struct sl_ladder_params    *p;
    struct entry               *e;

    if (ac == NULL || ac->nrenditions == 0) {
        sl_config_unref(cfg);
        return;
    }
    p = calloc(1, sizeof(*p));
    e = calloc(1, sizeof(*e));
    if (p == NULL || e == NULL)
        goto out;
    snprintf(p->app, sizeof(p->app), "%s", app);
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->nrungs = ac->nrenditions;
    for (int i = 0; i < ac->nrenditions; i++)
        p->rungs[i] = cfg->renditions[ac->renditions[i]];
    p->keyframe_interval_ms = ac->keyframe_interval_ms;
    p->tap = 1;
    pthread_mutex_lock(&t->lock);
    reap(t, 0);
    if (!t->stopped) {
        e->ladder = sl_ladder_start(t->hub, p);
        if (e->ladder != NULL) {
            sl_list_insert_tail(&t->ladders, &e->link);
            e = NULL;
            sl_log_info("ladder %s/%s: %d renditions", app, name, p->nrungs);
        } else {
            sl_log_warn("ladder %s/%s: cannot start", app, name);
        }
    }
    pthread_mutex_unlock(&t->lock);
out:
    free(e);
    free(p);
    sl_config_unref(cfg);
}

static void
on_event(void *ctx, const struct sl_hub_event *ev)
{
    if (ev->kind == SL_HUB_PUBLISH && !ev->derived)
        start_ladder(ctx, ev->app, ev->name);
    /* The ladder learns of the end through its tap. */
}

struct sl_transcoder *
sl_transcoder_new(struct sl_hub *hub)
{
    struct sl_transcoder *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->hub = hub;
    pthread_mutex_init(&t->lock, NULL);
    sl_list_init(&t->ladders);
    av_log_set_callback(av_log_bridge);
    if (sl_hub_add_observer(hub, on_event, t) < 0) {
        pthread_mutex_destroy(&t->lock);
        free(t);
        return NULL;
    }
    return t;
}

void
sl_transcoder_stop(struct sl_transcoder *t)
{
    struct sl_list *pos, *tmp;

    pthread_mutex_lock(&t->lock);
    t->stopped = 1;
    sl_list_foreach_safe(pos, tmp, &t->ladders)
        sl_ladder_stop(sl_list_entry(pos, struct entry, link)->ladder);
    reap(t, 1);
    pthread_mutex_unlock(&t->lock);
}

void
sl_transcoder_free(struct sl_transcoder *t)
{
    if (t == NULL)
        return;
    sl_transcoder_stop(t);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

int
sl_transcoder_stats(struct sl_transcoder *t, struct sl_ladder_stats *out,
                    int max)
{
    struct sl_list *pos, *tmp;
    int             n = 0;

    pthread_mutex_lock(&t->lock);
    sl_list_foreach_safe(pos, tmp, &t->ladders)
    {
        struct entry *e = sl_list_entry(pos, struct entry, link);

        if (n == max)
            break;
        if (!sl_ladder_done(e->ladder))
            sl_ladder_stats(e->ladder, &out[n++]);
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

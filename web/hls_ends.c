/*
 * The end of HLS viewers (see hls_ends.h).
 */
#include "web/hls_ends.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hls/hls.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/log.h"
#include "server/server.h"

#define TICK_MS 1000
#define BATCH 64 /* viewers taken from the packager at once */

struct sl_hls_ends {
    struct sl_server *srv;
    pthread_t         thread;
    pthread_mutex_t   lock;
    pthread_cond_t    wake; /* on CLOCK_MONOTONIC */
    int               stop; /* under lock */
};

/* Ends the viewers the packager says ended: idle for idle_ms, or their
 * stream over.  On the thread, with no lock held. */
static void
end_viewers(struct sl_hls_ends *e, uint32_t idle_ms)
{
    struct sl_hls_viewer *out[BATCH];
    struct sl_config     *cfg = sl_config_get();
    int                   n;

    do {
        n = sl_hls_viewers_ended(e->srv->hls, idle_ms, out, BATCH);
        for (int i = 0; i < n; i++) {
            const struct sl_hls_viewer *v = out[i];
            struct sl_play_done         d = {
                        .app = v->app,
                        .name = v->name,
                        .addr = v->addr,
                        .url = v->url,
                        .client_id = v->client_id,
            };

            sl_log_info("hls viewer of %s/%s from %s (c%llu) ended", v->app,
                        v->name, v->addr, (unsigned long long) v->client_id);
            if (cfg != NULL)
                sl_conn_play_done(e->srv, cfg, &d);
            free(out[i]);
        }
    } while (n == BATCH);
    sl_config_unref(cfg);
}

static uint32_t
idle_ms_now(void)
{
    struct sl_config *cfg = sl_config_get();
    uint32_t          ms =
        cfg != NULL ? cfg->web_hls_viewer_timeout_ms : SL_HLS_VIEWER_IDLE_MS;

    sl_config_unref(cfg);
    return ms;
}

static void *
run(void *arg)
{
    struct sl_hls_ends *e = arg;
    struct timespec     at;

    pthread_mutex_lock(&e->lock);
    while (!e->stop) {
        pthread_mutex_unlock(&e->lock);
        end_viewers(e, idle_ms_now());
        clock_gettime(CLOCK_MONOTONIC, &at);
        at.tv_sec += TICK_MS / 1000;
        pthread_mutex_lock(&e->lock);
        while (!e->stop &&
               pthread_cond_timedwait(&e->wake, &e->lock, &at) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

struct sl_hls_ends *
sl_hls_ends_start(struct sl_server *srv)
{
    struct sl_hls_ends *e;
    pthread_condattr_t  ca;

    if (srv->hls == NULL)
        return NULL;
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        sl_log_error("hls viewers: out of memory");
        return NULL;
    }
    e->srv = srv;
    pthread_mutex_init(&e->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&e->thread, NULL, run, e) != 0) {
        sl_log_error("hls viewers: cannot start a thread");
        pthread_cond_destroy(&e->wake);
        pthread_mutex_destroy(&e->lock);
        free(e);
        return NULL;
    }
    return e;
}

void
sl_hls_ends_stop(struct sl_hls_ends *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&e->lock);
    e->stop = 1;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->thread, NULL);
    /* Every viewer still counted ends with the server: a timeout of 1 ms
     * takes all but those seen this very millisecond. */
    end_viewers(e, 1);
    pthread_cond_destroy(&e->wake);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/*
 * sluice: wires the parts together from the config and runs until a
 * signal says stop.  main() opens the listening sockets and hands them
 * to the master process (server/supervisor.c), which forks serve() and
 * restarts it when it dies; `-n` calls serve() directly.  Everything
 * below is about serve(), the serving process.
 *
 * Threads: the main thread only waits for signals (all of them are
 * blocked everywhere else); acceptor threads accept; the reactor thread
 * turns socket readiness and timers into task wakes; the pool's workers
 * run the sessions.
 *
 * Shutdown order (SIGINT/SIGTERM):
 *   1. stop accepting (acceptor threads joined, listening sockets closed;
 *      the RTMP port, then the RTMPS one);
 *   2. close the hub to new publishers and tell every session to wind
 *      down: players are sent NetStream.Play.UnpublishNotify and
 *      StreamEOF, publishers are closed, queued bytes are flushed;
 *   3. wait for the sessions to finish, bounded in time;
 *   4. stop the pool (close, then drain), then the reactor;
 *   5. free the hub and the config.
 * Transcoders are joined between steps 3 and 4 (their encoders flushed,
 * their renditions unpublished), then relays are stopped and joined,
 * then recordings are finalised (queues written, files closed): last,
 * because every publisher above (sessions, rungs, pulls) feeds them.
 *
 * SIGHUP reloads the config: new sessions use the new one, running
 * sessions keep theirs; the hub takes the new merge window and GOP cache
 * setting.  Listening addresses (tls_listen too), workers, acceptors and
 * chunk_size are read at start only.  The TLS certificate and key come
 * with the config (loaded and checked by sl_config_load), so new RTMPS
 * connections get the reloaded certificate and running ones keep theirs;
 * while the RTMPS port is open a reload must bring a certificate.  POST
 * /api/v1/reload runs the same reload() on the HTTP thread, under the same
 * mutex, so the caller gets its result (a signal could not say whether the new
 * file was good); reloads never overlap.
 *
 * The HTTP server (server/http.c) and the stats sampler start after the
 * RTMP listener and stop after the sessions are gone, before the pool:
 * /healthz answers 503 from the moment the stop begins, and no request
 * can wake a session after the pool stopped.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pool/clock.h"
#include "pool/loop.h"
#include "pool/sched.h"
#include "record/recorder.h"
#include "relay/relay.h"
#include "server/agent.h"
#include "server/callback.h"
#include "server/config.h"
#include "server/http.h"
#include "server/iplimit.h"
#include "server/hub.h"
#include "server/listener.h"
#include "server/log.h"
#include "server/server.h"
#include "server/session.h"
#include "server/stats.h"
#include "server/supervisor.h"
#include "server/tls.h"
#include "transcode/transcoder.h"

#define DEFAULT_CONFIG "conf/sluice.ini"
#define STOP_WAIT_MS 5000
#define DEQUE_CAPACITY 4096
#define GOP_MAX_MSGS 4096
#define GOP_MAX_BYTES (64u * 1024 * 1024)
/* The stream ring keeps max_lag plus this much media: a player lags out
 * (max_lag) a little before its cursor could be evicted by age. */
#define RING_MARGIN_MS 1000
/* Auth callbacks waiting for an answer, all apps together. */
#define MAX_CALLBACKS_IN_FLIGHT 1024

static void
usage(FILE *f)
{
    fprintf(f, "usage: sluice [-c FILE] [-n] [-t] [-V]\n"
               "  -c FILE  config file (default " DEFAULT_CONFIG ")\n"
               "  -n       one process, no master to restart it (for a\n"
               "           service manager that restarts it itself)\n"
               "  -t       check the config and exit\n"
               "  -V       print the version and exit\n");
}

struct reloader {
    pthread_mutex_t lock; /* one reload at a time: SIGHUP or the API */
    const char     *path;
    struct sl_hub  *hub;
    int             tls_open; /* the RTMPS port listens */
};

/* 0, or -1 with the reason in err (already logged). */
static int
reload(void *arg, char *err, size_t errlen)
{
    struct reloader  *r = arg;
    const char       *path = r->path;
    struct sl_hub    *hub = r->hub;
    struct sl_config *c;

    pthread_mutex_lock(&r->lock);
    c = sl_config_load(path, err, errlen);
    if (c == NULL) {
        sl_log_error("reload failed, keeping the running config: %s", err);
        pthread_mutex_unlock(&r->lock);
        return -1;
    }
    if (r->tls_open && c->tls == NULL) {
        snprintf(err, errlen,
                 "%s: tls_cert and tls_key are needed while the RTMPS port "
                 "is open (tls_listen is read at start only)",
                 path);
        sl_log_error("reload failed, keeping the running config: %s", err);
        sl_config_unref(c);
        pthread_mutex_unlock(&r->lock);
        return -1;
    }
    sl_log_set_level(c->log_level);
    sl_hub_reload(hub, c->merge_write_ms, c->gop_cache,
                  c->max_lag_ms + RING_MARGIN_MS);
    sl_config_set(c);
    sl_log_info("config reloaded from %s", path);
    if (c->tls != NULL)
        sl_log_info("new rtmps connections get the certificate %s",
                    sl_tls_ctx_subject(c->tls));
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* What the API providers below read. */
struct api_ctx {
    struct sl_relays     *relays;
    struct sl_transcoder *transcoder;
    struct sl_recorder   *recorder;
};

/* The relays' figures for the HTTP API (server/stats.h providers): a
 * copy of every running relay, filtered by stream.  Runs on the HTTP or
 * sampler thread; sl_relays_stats() copies under the relays' own lock. */
#define API_MAX_RELAYS 256

static int
api_relays(void *ctx, const char *app, const char *name,
           struct sl_stats_relay *out, int max)
{
    struct sl_relay_stats *v = malloc(API_MAX_RELAYS * sizeof(*v));
    int                    n, k = 0;

    if (v == NULL)
        return 0;
    n = sl_relays_stats(((struct api_ctx *) ctx)->relays, v, API_MAX_RELAYS);
    for (int i = 0; i < n && k < max; i++) {
        struct sl_stats_relay *o = &out[k];

        if (v[i].pull || strcmp(v[i].app, app) || strcmp(v[i].name, name))
            continue;
        memset(o, 0, sizeof(*o));
        snprintf(o->name, sizeof(o->name), "%s", v[i].relay);
        snprintf(o->state, sizeof(o->state), "%s",
                 sl_relay_state_name((enum sl_relay_state) v[i].state));
        snprintf(o->url, sizeof(o->url), "%s", v[i].url);
        o->reconnects = v[i].reconnects;
        o->bytes_sent = v[i].bytes;
        k++;
    }
    free(v);
    return k;
}

#define API_MAX_RECORDINGS 256

static int
api_recording(void *ctx, const char *app, const char *name,
              struct sl_stats_recording *out)
{
    static const char *const states[] = {"waiting", "recording", "failed",
                                         "done"};
    struct sl_rec_stats     *v = malloc(API_MAX_RECORDINGS * sizeof(*v));
    int                      n, found = 0;

    if (v == NULL)
        return 0;
    n = sl_recorder_stats(((struct api_ctx *) ctx)->recorder, v,
                          API_MAX_RECORDINGS);
    for (int i = 0; i < n && !found; i++) {
        if (strcmp(v[i].app, app) || strcmp(v[i].name, name))
            continue;
        memset(out, 0, sizeof(*out));
        {
            /* A long path keeps its end: the file name matters most. */
            size_t      len = strlen(v[i].file), cap = sizeof(out->file) - 1;
            const char *from = len > cap ? v[i].file + (len - cap) : v[i].file;

            memcpy(out->file, from, strlen(from) + 1);
        }
        snprintf(out->state, sizeof(out->state), "%s",
                 v[i].state >= 0 && v[i].state < 4 ? states[v[i].state] : "?");
        out->bytes = v[i].bytes;
        out->files = v[i].files;
        out->dropped_frames = v[i].dropped;
        found = 1;
    }
    free(v);
    return found;
}

static int
api_relay_count(void *ctx)
{
    struct sl_relay_stats *v = malloc(API_MAX_RELAYS * sizeof(*v));
    int                    n;

    if (v == NULL)
        return 0;
    n = sl_relays_stats(((struct api_ctx *) ctx)->relays, v, API_MAX_RELAYS);
    free(v);
    return n;
}

/* The ladders' figures: the rungs of the ladder transcoding APP/NAME.
 * fps, speed and bit rate are averages since the ladder started. */
#define API_MAX_LADDERS 64

static int
api_renditions(void *ctx, const char *app, const char *name,
               struct sl_stats_rendition *out, int max)
{
    struct sl_ladder_stats *v = malloc(API_MAX_LADDERS * sizeof(*v));
    int                     n, k = 0;

    if (v == NULL)
        return 0;
    n = sl_transcoder_stats(((struct api_ctx *) ctx)->transcoder, v,
                            API_MAX_LADDERS);
    for (int i = 0; i < n; i++) {
        const struct sl_ladder_stats *l = &v[i];
        double up_s = l->uptime_ms > 0 ? l->uptime_ms / 1000.0 : 1;

        if (strcmp(l->app, app) || strcmp(l->name, name))
            continue;
        for (int r = 0; r < l->nrungs && k < max; r++) {
            const struct sl_rung_stats *rs = &l->rungs[r];
            struct sl_stats_rendition  *o = &out[k];

            if (!rs->live)
                continue;
            memset(o, 0, sizeof(*o));
            snprintf(o->name, sizeof(o->name), "%s", rs->name);
            o->width = rs->width;
            o->height = rs->height;
            o->fps = rs->frames_out / up_s;
            o->speed = l->busy_us > 0
                           ? (double) (l->media_ms - l->media_start_ms) *
                                 1000.0 / (double) l->busy_us
                           : 0;
            o->dropped_frames = l->dropped_frames;
            o->bitrate = (uint64_t) (rs->bytes_out * 8 / up_s);
            k++;
        }
        break;
    }
    free(v);
    return k;
}

/* The streams the server publishes itself: every running rung and every
 * live edge pull. */
static int
api_served(void *ctx, struct sl_stats_served *out, int max)
{
    struct api_ctx         *a = ctx;
    struct sl_ladder_stats *l = malloc(API_MAX_LADDERS * sizeof(*l));
    struct sl_relay_stats  *r = malloc(API_MAX_RELAYS * sizeof(*r));
    int                     nl, nr, k = 0;

    if (l == NULL || r == NULL) {
        free(l);
        free(r);
        return 0;
    }
    nl = sl_transcoder_stats(a->transcoder, l, API_MAX_LADDERS);
    for (int i = 0; i < nl; i++) {
        double up_s = l[i].uptime_ms > 0 ? l[i].uptime_ms / 1000.0 : 1;

        for (int j = 0; j < l[i].nrungs && k < max; j++) {
            const struct sl_rung_stats *rs = &l[i].rungs[j];
            struct sl_stats_served     *o = &out[k];

            if (!rs->live)
                continue;
            memset(o, 0, sizeof(*o));
            snprintf(o->app, sizeof(o->app), "%s", l[i].app);
            snprintf(o->name, sizeof(o->name), "%.*s_%s",
                     (int) (sizeof(o->name) - strlen(rs->name) - 2), l[i].name,
                     rs->name);
            snprintf(o->origin, sizeof(o->origin),
                     "rendition %.64s of %.64s/%.64s", rs->name, l[i].app,
                     l[i].name);
            snprintf(o->client, sizeof(o->client), "sluice transcoder");
            snprintf(o->vcodec, sizeof(o->vcodec), "h264");
            o->width = rs->width;
            o->height = rs->height;
            o->fps = rs->frames_out / up_s;
            o->bitrate = (uint64_t) (rs->bytes_out * 8 / up_s);
            o->uptime_s = up_s;
            k++;
        }
    }
    nr = sl_relays_stats(a->relays, r, API_MAX_RELAYS);
    for (int i = 0; i < nr && k < max; i++) {
        struct sl_stats_served *o = &out[k];

        if (!r[i].pull || r[i].state != SL_RELAY_LIVE)
            continue;
        memset(o, 0, sizeof(*o));
        snprintf(o->app, sizeof(o->app), "%s", r[i].app);
        snprintf(o->name, sizeof(o->name), "%s", r[i].name);
        snprintf(o->origin, sizeof(o->origin), "%.255s", r[i].url);
        snprintf(o->client, sizeof(o->client), "sluice edge pull");
        snprintf(o->vcodec, sizeof(o->vcodec), "h264");
        snprintf(o->acodec, sizeof(o->acodec), "aac");
        o->width = r[i].width;
        o->height = r[i].height;
        k++;
    }
    free(l);
    free(r);
    return k;
}

static void
wait_sessions(struct sl_server *srv)
{
    uint64_t        deadline = sl_now_ms() + STOP_WAIT_MS;
    struct timespec ts = {0, 10 * 1000 * 1000};

    while (atomic_load(&srv->nsessions) > 0 && sl_now_ms() < deadline)
        nanosleep(&ts, NULL);
    if (atomic_load(&srv->nsessions) > 0)
        sl_log_warn("%d sessions still open at shutdown",
                    atomic_load(&srv->nsessions));
}

/* The serving process: everything but the listening sockets, which
 * come open from the master (or from main with -n). */
static int
serve(const char *path, struct sl_config *cfg, struct sl_sockets *socks,
      int restarts)
{
    int                   sig, workers;
    char                  err[512];
    struct sl_server      srv;
    struct sl_listener   *listener, *tls_listener = NULL;
    struct sl_iplimit    *ipl;
    struct sl_hub_limits  lim;
    struct sl_transcoder *transcoder;
    struct sl_relays     *relays;
    struct sl_recorder   *recorder;
    struct sl_callbacks  *callbacks;
    struct api_ctx        api;
    sigset_t              set;
    struct sl_stats      *stats;
    struct sl_http       *http = NULL;
    struct sl_agent      *agent = NULL;
    struct reloader       rl = {.lock = PTHREAD_MUTEX_INITIALIZER};

    sl_log_set_level(cfg->log_level);
    sl_config_ref(cfg);
    sl_config_set(cfg);

    /* Signals are taken synchronously by the main thread only; every
     * thread created below inherits this mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.lock, NULL);
    sl_list_init(&srv.sessions);
    srv.chunk_size = cfg->chunk_size;
    lim = (struct sl_hub_limits){
        .chunk_size = cfg->chunk_size,
        .merge_write_ms = cfg->merge_write_ms,
        .gop_cache = cfg->gop_cache,
        .gop_max_msgs = GOP_MAX_MSGS,
        .gop_max_bytes = GOP_MAX_BYTES,
        .ring_max_ms = cfg->max_lag_ms + RING_MARGIN_MS,
    };
    workers = cfg->workers > 0 ? cfg->workers : sl_sched_default_workers();
    srv.sched = sl_sched_new(workers, DEQUE_CAPACITY);
    srv.loop = sl_loop_new();
    srv.hub = sl_hub_new(&lim);
    if (srv.sched == NULL || srv.loop == NULL || srv.hub == NULL ||
        sl_loop_start(srv.loop) < 0 || sl_sched_start(srv.sched) < 0) {
        sl_log_error("cannot start the scheduler or reactor");
        return 1;
    }
    transcoder = sl_transcoder_new(srv.hub);
    relays = sl_relays_new(srv.hub);
    recorder = sl_recorder_new(srv.hub);
    callbacks = sl_callbacks_new(MAX_CALLBACKS_IN_FLIGHT);
    if (transcoder == NULL || relays == NULL || recorder == NULL ||
        callbacks == NULL) {
        sl_log_error("cannot start the transcoder, relays, recorder or "
                     "callbacks");
        return 1;
    }
    atomic_store(&srv.callbacks, callbacks);
    /* Room for twice max_connections addresses (fixed at start: a reload
     * does not resize it), so live connections alone never fill it. */
    ipl = sl_iplimit_new(2 * (size_t) cfg->max_connections);
    if (ipl == NULL) {
        sl_log_error("out of memory");
        return 1;
    }
    listener = sl_listener_start_fds(&srv, ipl, socks->rtmp, socks->nrtmp, 0,
                                     err, sizeof(err));
    if (listener == NULL) {
        sl_log_error("%s", err);
        sl_sched_stop(srv.sched);
        sl_loop_stop(srv.loop);
        return 1;
    }
    if (cfg->tls_enabled) {
        tls_listener = sl_listener_start_fds(&srv, ipl, socks->tls, socks->ntls,
                                             1, err, sizeof(err));
        if (tls_listener == NULL) {
            sl_log_error("rtmps: %s", err);
            sl_listener_stop(listener);
            sl_sched_stop(srv.sched);
            sl_loop_stop(srv.loop);
            return 1;
        }
    }
    rl.path = path;
    rl.hub = srv.hub;
    rl.tls_open = tls_listener != NULL;
    stats = sl_stats_new(&srv, path);
    if (stats == NULL || sl_stats_start(stats) < 0) {
        sl_log_error("cannot start the stats sampler");
        return 1;
    }
    {
        struct sl_stats_providers prov = {.ctx = &api,
                                          .renditions = api_renditions,
                                          .relays = api_relays,
                                          .relay_count = api_relay_count,
                                          .served = api_served,
                                          .recording = api_recording};

        api.relays = relays;
        api.transcoder = transcoder;
        api.recorder = recorder;
        sl_stats_set_providers(&prov);
    }
    /* HAProxy's agent-check ([cluster] agent_listen, read at start only):
     * its own thread, answering from the counters and current config. */
    if (cfg->agent_enabled &&
        (agent = sl_agent_start(&srv, socks->agent, cfg->agent_host,
                                cfg->agent_port, err, sizeof(err))) == NULL) {
        sl_log_error("%s", err);
        return 1;
    }
    if (cfg->http_enabled) {
        http = sl_http_start(&srv, stats, cfg, socks->http, reload, &rl, err,
                             sizeof(err));
        if (http == NULL) {
            sl_log_error("%s", err);
            sl_listener_stop(listener);
            sl_listener_stop(tls_listener);
            sl_stats_free(stats);
            sl_transcoder_free(transcoder);
            sl_relays_free(relays);
            sl_recorder_free(recorder);
            sl_callbacks_free(callbacks);
            sl_sched_stop(srv.sched);
            sl_loop_stop(srv.loop);
            return 1;
        }
        sl_log_info("http api on %s:%u",
                    cfg->http_host[0] ? cfg->http_host : "*", cfg->http_port);
    }
    sl_log_info("sluice %s listening on %s:%u (%d workers, %d acceptors, "
                "config %s%s)",
                SL_VERSION, cfg->listen_host[0] ? cfg->listen_host : "*",
                cfg->listen_port, workers, cfg->acceptors, path,
                restarts > 0 ? ", restarted" : "");
    if (tls_listener != NULL)
        sl_log_info("listening on %s:%u (rtmps, certificate %s)",
                    cfg->tls_host[0] ? cfg->tls_host : "*", cfg->tls_port,
                    sl_tls_ctx_subject(cfg->tls));

    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(&rl, err, sizeof(err));
            continue;
        }
        sl_log_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }

    sl_http_draining(http);
    sl_listener_stop(listener);
    sl_listener_stop(tls_listener);
    /* Sessions still open keep the table alive through their slots. */
    sl_iplimit_unref(ipl);
    atomic_store(&srv.stopping, 1);
    sl_session_stop_all(&srv);
    wait_sessions(&srv);
    /* Callbacks still in flight end as refusals; their sessions are
     * closed already and only drop their references. */
    atomic_store(&srv.callbacks, NULL);
    sl_callbacks_free(callbacks);
    sl_http_stop(http);
    sl_agent_stop(agent);
    sl_stats_free(stats);
    sl_stats_set_providers(NULL);
    /* Ladders publish into the hub and wake players through the pool:
     * they end (encoders flushed, rungs unpublished) while both run. */
    sl_transcoder_free(transcoder);
    /* Relays stop at once: a blocking connect or write is interrupted;
     * pulls unpublish what they brought in. */
    sl_relays_free(relays);
    /* Recordings last: sessions, rungs and pulls have all unpublished,
     * so every queue is written and every file closed. */
    sl_recorder_free(recorder);
    sl_sched_stop(srv.sched);
    sl_loop_stop(srv.loop);
    sl_sched_free(srv.sched);
    sl_loop_free(srv.loop);
    sl_hub_free(srv.hub);
    sl_config_set(NULL);
    sl_config_unref(cfg);
    pthread_mutex_destroy(&srv.lock);
    sl_log_info("stopped");
    return 0;
}

int
main(int argc, char **argv)
{
    const char       *path = DEFAULT_CONFIG;
    int               check_only = 0, no_master = 0, opt;
    char              err[512];
    struct sl_config *cfg;
    struct sl_sockets socks;

    while ((opt = getopt(argc, argv, "c:ntVh")) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'n':
            no_master = 1;
            break;
        case 't':
            check_only = 1;
            break;
        case 'V':
            printf("sluice %s\n", SL_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    cfg = sl_config_load(path, err, sizeof(err));
    if (cfg == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (check_only) {
        printf("%s: ok\n", path);
        sl_config_unref(cfg);
        return 0;
    }
    sl_log_set_level(cfg->log_level);
    /* Opened once, before any thread or child exists: a crash of the
     * serving process never closes them. */
    if (sl_sockets_open(cfg, &socks, err, sizeof(err)) < 0) {
        sl_log_error("%s", err);
        sl_config_unref(cfg);
        return 1;
    }
    if (no_master)
        return serve(path, cfg, &socks, 0);
    return sl_supervise(path, cfg, &socks, serve);
}

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
 * run the sessions; the stages, the callback client, the sampler, the
 * HTTP server and the agent have threads of their own.
 *
 * Start order: the pool, the reactor and the hub; the stages that
 * observe the hub (ladders, relays, recordings) and the callback
 * client; the RTMP and RTMPS acceptors, then the web port's (HTTP and
 * HTTPS); the stats sampler, the agent and the HTTP API.  A part that fails to
 * start stops what started before it, by the same path as a normal stop.
 *
 * Shutdown order (SIGINT/SIGTERM, stop_serving()):
 *   1. /healthz answers 503; stop accepting (acceptor threads joined,
 *      listening sockets closed: the RTMP port, the RTMPS one, the
 *      web port's HTTP and HTTPS ones, then the SRT port);
 *   2. mark the server stopping and wake every session: players are
 *      sent NetStream.Play.UnpublishNotify and StreamEOF, publishers are
 *      closed, queued bytes are flushed;
 *   3. wait for the sessions to finish, bounded in time (SRT
 *      connections are sessions too), then end the SRT thread;
 *   4. end the callbacks still in flight (as refusals), stop the HTTP
 *      server, the agent and the sampler;
 *   5. stop the ladders (encoders flushed, renditions unpublished, while
 *      the pool still delivers), then the relays (interrupted, joined;
 *      pulls unpublish), then the recordings (queues written, files
 *      closed): last, because every publisher above feeds them;
 *   6. stop the pool (close, then drain), then the reactor;
 *   7. free the hub and the config.
 *
 * SIGHUP reloads the config: new sessions use the new one, running
 * sessions keep theirs; the hub takes the new merge window and GOP cache
 * setting.  Listening addresses (tls_listen and [web] too), workers,
 * acceptors and chunk_size are read at start only.  The TLS certificate
 * and key come with the config (loaded and checked by sl_config_load), so
 * new RTMPS and HTTPS connections get the reloaded certificate and running
 * ones keep theirs; while a TLS port (RTMPS, or the web port's HTTPS) is
 * open a reload must bring a certificate.  POST
 * /api/v1/reload runs the same reload() on the HTTP thread, under the
 * same mutex, so the caller gets its result (a signal could not say
 * whether the new file was good); reloads never overlap.
 */
#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pool/clock.h"
#include "pool/loop.h"
#include "pool/sched.h"
#include "hls/hls.h"
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
#include "server/rtmp_cmd.h"
#include "server/server.h"
#include "server/session.h"
#include "server/stage_stats.h"
#include "server/stats.h"
#include "server/supervisor.h"
#include "server/tls.h"
#include "srt/port.h"
#include "transcode/transcoder.h"
#include "web/http_conn.h"
#include "web/hls_ends.h"

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

/* Every option the binary takes; docs/sluice.1 says the same at length. */
static void
usage(FILE *f)
{
    fprintf(f,
            "usage: sluice [-c FILE] [-n] [-t] [-k] [-V] [-h]\n"
            "  -c FILE  config file (default " DEFAULT_CONFIG ")\n"
            "  -n       one process, no master to restart it (for a\n"
            "           service manager that restarts it itself)\n"
            "  -t       check the config and exit\n"
            "  -k       list every config key with its default and exit\n"
            "  -V, --version\n"
            "           print the version and exit\n"
            "  -h, --help\n"
            "           print this help and exit\n"
            "SIGHUP reloads the config; SIGINT and SIGTERM stop gracefully.\n"
            "See sluice(1) and docs/config.md.\n");
}

struct reloader {
    pthread_mutex_t   lock; /* one reload at a time: SIGHUP or the API */
    const char       *path;
    struct sl_hub    *hub;
    int               tls_open; /* a TLS port (RTMPS, HTTPS) listens */
    struct sl_config *start;    /* the config the process started with */
};

/* 0, or -1 with the reason in err (already logged). */
static int
reload(void *arg, char *err, size_t errlen)
{
    struct reloader  *r = arg;
    const char       *path = r->path;
    struct sl_hub    *hub = r->hub;
    struct sl_config *c;
    char              what[256];

    pthread_mutex_lock(&r->lock);
    c = sl_config_load(path, err, errlen);
    if (c == NULL) {
        sl_log_error("reload failed, keeping the running config: %s", err);
        pthread_mutex_unlock(&r->lock);
        return -1;
    }
    if (r->tls_open && c->tls == NULL) {
        snprintf(err, errlen,
                 "%s: tls_cert and tls_key are needed while a TLS port "
                 "(RTMPS or the web port's HTTPS) is open (tls_listen is "
                 "read at start only)",
                 path);
        sl_log_error("reload failed, keeping the running config: %s", err);
        sl_config_unref(c);
        pthread_mutex_unlock(&r->lock);
        return -1;
    }
    /* Against the config the process started with, not the last
     * reload's: what still differs still waits for a restart. */
    if (sl_config_describe_start_only_changes(r->start, c, what, sizeof(what)) >
        0)
        sl_log_warn("reload: %s changed; read at start only, restart to "
                    "apply",
                    what);
    sl_log_set_level(c->log_level);
    sl_hub_reload(hub, c->merge_write_ms, c->gop_cache,
                  c->max_lag_ms + RING_MARGIN_MS);
    sl_config_set(c);
    sl_log_info("config reloaded from %s", path);
    if (c->tls != NULL)
        sl_log_info("new tls connections (rtmps, https) get the "
                    "certificate %s",
                    sl_tls_ctx_subject(c->tls));
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* Everything the serving process starts, so that one function stops
 * it, whatever got started: every part may be NULL. */
struct serving {
    struct sl_server      srv;
    struct sl_iplimit    *ipl;
    struct sl_listener   *listener, *tls_listener;
    struct sl_listener   *web_listener, *web_tls_listener;
    struct sl_srt        *srt;
    struct sl_transcoder *transcoder;
    struct sl_relays     *relays;
    struct sl_recorder   *recorder;
    struct sl_hls        *hls;
    struct sl_callbacks  *callbacks;
    struct sl_hls_ends   *hls_ends; /* HLS viewers' on_done */
    struct sl_stats      *stats;
    struct sl_http       *http;
    struct sl_agent      *agent;
    struct sl_stage_stats stages; /* what the API's providers read */
    struct reloader       rl;
    int                   workers;
};

/* The pool, the reactor and the hub. */
static int
start_core(struct serving *sv, const struct sl_config *cfg)
{
    struct sl_server    *srv = &sv->srv;
    struct sl_hub_limits lim = {
        .chunk_size = cfg->chunk_size,
        .merge_write_ms = cfg->merge_write_ms,
        .gop_cache = cfg->gop_cache,
        .gop_max_msgs = GOP_MAX_MSGS,
        .gop_max_bytes = GOP_MAX_BYTES,
        .ring_max_ms = cfg->max_lag_ms + RING_MARGIN_MS,
    };

    pthread_mutex_init(&srv->lock, NULL);
    sl_list_init(&srv->sessions);
    srv->chunk_size = cfg->chunk_size;
    srv->protos[SL_SESSION_RTMP] = &sl_rtmp_proto;
    srv->protos[SL_SESSION_RTMPS] = &sl_rtmp_proto;
    srv->protos[SL_SESSION_HTTP] = &sl_web_proto;
    srv->protos[SL_SESSION_HTTPS] = &sl_web_proto;
    sv->workers = cfg->workers > 0 ? cfg->workers : sl_sched_default_workers();
    srv->sched = sl_sched_new(sv->workers, DEQUE_CAPACITY);
    srv->loop = sl_loop_new();
    srv->hub = sl_hub_new(&lim);
    if (srv->sched == NULL || srv->loop == NULL || srv->hub == NULL ||
        sl_loop_start(srv->loop) < 0 || sl_sched_start(srv->sched) < 0) {
        sl_log_error("cannot start the scheduler or reactor");
        return -1;
    }
    return 0;
}

/* The hub's observers (ladders, relays, recordings) and the callback
 * client, before any session can publish. */
static int
start_stages(struct serving *sv)
{
    sv->transcoder = sl_transcoder_new(sv->srv.hub);
    sv->relays = sl_relays_new(sv->srv.hub);
    sv->recorder = sl_recorder_new(sv->srv.hub);
    sv->hls = sl_hls_new(sv->srv.hub);
    sv->srv.hls = sv->hls;
    sv->callbacks = sl_callbacks_new(MAX_CALLBACKS_IN_FLIGHT);
    if (sv->transcoder == NULL || sv->relays == NULL || sv->recorder == NULL ||
        sv->hls == NULL || sv->callbacks == NULL) {
        sl_log_error("cannot start the transcoder, relays, recorder, HLS "
                     "packager or callbacks");
        return -1;
    }
    atomic_store(&sv->srv.callbacks, sv->callbacks);
    sv->hls_ends = sl_hls_ends_start(&sv->srv);
    if (sv->hls_ends == NULL)
        return -1; /* logged */
    return 0;
}

/* The RTMP and RTMPS acceptors, then the web port's, over the sockets
 * the master opened.  The web port's start from its sockets, not from
 * cfg: a restarted serving process may have read a file whose [web]
 * changed since the master opened them, and a socket nobody accepts on
 * would hold its connections in the backlog. */
static int
start_listeners(struct serving *sv, const struct sl_config *cfg,
                struct sl_sockets *socks)
{
    char err[512];

    /* Room for twice max_connections addresses (fixed at start: a reload
     * does not resize it), so live connections alone never fill it. */
    sv->ipl = sl_iplimit_new(2 * (size_t) cfg->max_connections);
    if (sv->ipl == NULL) {
        sl_log_error("out of memory");
        return -1;
    }
    sv->listener =
        sl_listener_start_fds(&sv->srv, sv->ipl, socks->rtmp, socks->nrtmp,
                              SL_SESSION_RTMP, err, sizeof(err));
    if (sv->listener == NULL) {
        sl_log_error("%s", err);
        return -1;
    }
    if (cfg->tls_enabled) {
        sv->tls_listener =
            sl_listener_start_fds(&sv->srv, sv->ipl, socks->tls, socks->ntls,
                                  SL_SESSION_RTMPS, err, sizeof(err));
        if (sv->tls_listener == NULL) {
            sl_log_error("rtmps: %s", err);
            return -1;
        }
    }
    /* Sessions of the HTTP kinds share the per-address table with the
     * RTMP ports: an address's connections count once, whichever port. */
    if (socks->nweb > 0) {
        sv->web_listener =
            sl_listener_start_fds(&sv->srv, sv->ipl, socks->web, socks->nweb,
                                  SL_SESSION_HTTP, err, sizeof(err));
        if (sv->web_listener == NULL) {
            sl_log_error("[web] listen: %s", err);
            return -1;
        }
    }
    if (socks->nweb_tls > 0) {
        sv->web_tls_listener = sl_listener_start_fds(
            &sv->srv, sv->ipl, socks->web_tls, socks->nweb_tls,
            SL_SESSION_HTTPS, err, sizeof(err));
        if (sv->web_tls_listener == NULL) {
            sl_log_error("[web] tls_listen: %s", err);
            return -1;
        }
    }
    /* SRT is UDP through libsrt, which binds its own socket: opened here
     * (a restarted serving process binds it again), sharing the
     * per-address table. */
    if (cfg->srt_enabled) {
        sv->srt = sl_srt_start(&sv->srv, sv->ipl, cfg->srt_host,
                               cfg->srt_port, err, sizeof(err));
        if (sv->srt == NULL) {
            sl_log_error("%s", err);
            return -1;
        }
        sl_log_info("srt on %s:%u", cfg->srt_host[0] ? cfg->srt_host : "*",
                    cfg->srt_port);
    }
    return 0;
}

/* "HOST:PORT" a listening socket is bound to, for the log: the address
 * the master opened, whatever the config read since says. */
static void
bound_name(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t               len = sizeof(ss);
    char                    host[NI_MAXHOST], port[NI_MAXSERV];

    if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0 ||
        getnameinfo((struct sockaddr *) &ss, len, host, sizeof(host), port,
                    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(out, cap, "?");
    else if (ss.ss_family == AF_INET6)
        snprintf(out, cap, "[%s]:%s", host, port);
    else
        snprintf(out, cap, "%s:%s", host, port);
}

/* What watches from outside: the stats sampler and the API's providers,
 * HAProxy's agent-check ([cluster] agent_listen) and the HTTP API. */
static int
start_observers(struct serving *sv, const struct sl_config *cfg,
                struct sl_sockets *socks, const char *path)
{
    struct sl_stats_providers prov;
    char                      err[512];

    sv->stats = sl_stats_new(&sv->srv, path);
    if (sv->stats == NULL || sl_stats_start(sv->stats) < 0) {
        sl_log_error("cannot start the stats sampler");
        return -1;
    }
    sv->stages = (struct sl_stage_stats){.transcoder = sv->transcoder,
                                         .relays = sv->relays,
                                         .recorder = sv->recorder,
                                         .hls = sv->hls};
    sl_stage_stats_providers(&sv->stages, &prov);
    sl_stats_set_providers(&prov);
    if (cfg->agent_enabled) {
        sv->agent = sl_agent_start(&sv->srv, socks->agent, cfg->agent_host,
                                   cfg->agent_port, err, sizeof(err));
        if (sv->agent == NULL) {
            sl_log_error("%s", err);
            return -1;
        }
    }
    if (cfg->http_enabled) {
        sv->http = sl_http_start(&sv->srv, sv->stats, cfg, socks->http, reload,
                                 &sv->rl, err, sizeof(err));
        if (sv->http == NULL) {
            sl_log_error("%s", err);
            return -1;
        }
        sl_log_info("http api on %s:%u",
                    cfg->http_host[0] ? cfg->http_host : "*", cfg->http_port);
    }
    return 0;
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

/* The shutdown order (top of this file), for a full start and for one
 * that failed half way alike. */
static void
stop_serving(struct serving *sv)
{
    struct sl_server *srv = &sv->srv;

    sl_http_draining(sv->http);
    sl_listener_stop(sv->listener);
    sl_listener_stop(sv->tls_listener);
    sl_listener_stop(sv->web_listener);
    sl_listener_stop(sv->web_tls_listener);
    sl_srt_stop_accepting(sv->srt);
    /* Sessions still open keep the table alive through their slots. */
    sl_iplimit_unref(sv->ipl);
    atomic_store(&srv->stopping, 1);
    sl_session_stop_all(srv);
    wait_sessions(srv);
    /* SRT connections are sessions: gone now, so its thread can end. */
    sl_srt_free(sv->srt);
    /* HLS viewers end with the server (their on_done sent like the
     * closing sessions'), before the callback client goes. */
    sl_hls_ends_stop(sv->hls_ends);
    sv->hls_ends = NULL;
    /* Callbacks still in flight end as refusals; their sessions are
     * closed already and only drop their references. */
    atomic_store(&srv->callbacks, NULL);
    sl_callbacks_free(sv->callbacks);
    sl_http_stop(sv->http);
    sl_agent_stop(sv->agent);
    sl_stats_free(sv->stats);
    sl_stats_set_providers(NULL);
    /* Ladders publish into the hub and wake players through the pool:
     * they end (encoders flushed, rungs unpublished) while both run. */
    sl_transcoder_free(sv->transcoder);
    /* Relays stop at once: a blocking connect or write is interrupted;
     * pulls unpublish what they brought in. */
    sl_relays_free(sv->relays);
    /* Recordings last: sessions, rungs and pulls have all unpublished,
     * so every queue is written and every file closed. */
    sl_recorder_free(sv->recorder);
    /* The web sessions that waited on HLS variants are gone too. */
    srv->hls = NULL;
    sl_hls_free(sv->hls);
    if (srv->sched != NULL)
        sl_sched_stop(srv->sched);
    if (srv->loop != NULL)
        sl_loop_stop(srv->loop);
    sl_sched_free(srv->sched);
    sl_loop_free(srv->loop);
    sl_hub_free(srv->hub);
    pthread_mutex_destroy(&srv->lock);
}

/* The web port's lines at start ("web on HOST:PORT"), logged before
 * the "listening on" line that tests and scripts wait for, so they are
 * there once it is (and do not say "listening on" themselves: the tests
 * count that line to tell serving processes apart). */
static void
log_web(const struct sl_sockets *socks, const struct sl_config *cfg)
{
    char name[NI_MAXHOST + NI_MAXSERV + 4];

    if (socks->nweb > 0) {
        bound_name(socks->web[0], name, sizeof(name));
        sl_log_info("web on %s", name);
    }
    if (socks->nweb_tls > 0) {
        bound_name(socks->web_tls[0], name, sizeof(name));
        sl_log_info("web on %s (https, certificate %s)", name,
                    cfg->tls != NULL ? sl_tls_ctx_subject(cfg->tls) : "none");
    }
}

/* The main thread's life after the start: reload on SIGHUP until
 * SIGINT or SIGTERM. */
static void
wait_for_stop(struct serving *sv, const sigset_t *set)
{
    char err[512];
    int  sig;

    for (;;) {
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(&sv->rl, err, sizeof(err));
            continue;
        }
        sl_log_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        return;
    }
}

/* The serving process: everything but the listening sockets, which
 * come open from the master (or from main with -n). */
static int
serve(const char *path, struct sl_config *cfg, struct sl_sockets *socks,
      int restarts)
{
    struct serving sv;
    sigset_t       set;
    int            rc = 1;

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

    memset(&sv, 0, sizeof(sv));
    pthread_mutex_init(&sv.rl.lock, NULL);
    sv.rl.path = path;
    sv.rl.tls_open = socks->ntls > 0 || socks->nweb_tls > 0;
    sv.rl.start = cfg;
    if (start_core(&sv, cfg) == 0) {
        sv.rl.hub = sv.srv.hub;
        if (start_stages(&sv) == 0 && start_listeners(&sv, cfg, socks) == 0 &&
            start_observers(&sv, cfg, socks, path) == 0)
            rc = 0;
    }
    if (rc == 0) {
        log_web(socks, cfg);
        sl_log_info("sluice %s listening on %s:%u (%d workers, %d acceptors, "
                    "config %s%s)",
                    SL_VERSION, cfg->listen_host[0] ? cfg->listen_host : "*",
                    cfg->listen_port, sv.workers, cfg->acceptors, path,
                    restarts > 0 ? ", restarted" : "");
        if (sv.tls_listener != NULL)
            sl_log_info("listening on %s:%u (rtmps, certificate %s)",
                        cfg->tls_host[0] ? cfg->tls_host : "*", cfg->tls_port,
                        sl_tls_ctx_subject(cfg->tls));
        wait_for_stop(&sv, &set);
    }
    stop_serving(&sv);
    sl_config_set(NULL);
    sl_config_unref(cfg);
    if (rc == 0)
        sl_log_info("stopped");
    return rc;
}

/* Keeps glibc's mmap threshold where it starts (128 KiB) instead of
 * letting it follow the largest block freed so far.  glibc raises the
 * threshold to the size of every mmap'd block that is freed (up to 32
 * MiB), so once the first ladder ended its decoder's frames (a 720p
 * picture is about 1.4 MB) and its encoder's planes came from the heap
 * arenas of whichever short-lived thread (the ladder's, libavcodec's,
 * libx264's) made them.  Freed there, they stay mapped and resident as
 * holes no other thread fills: issue 15's soak (bench/soak.sh) saw 71
 * mapped blocks (35 MB) become 2 (3 MB) after the first ladder ended,
 * the memory in use stay at 48-50 MB while the arenas' free space went
 * from 5 to 19 MB, and the RSS climb 19 MB an hour.  With the threshold
 * fixed, those blocks are mapped and unmapped with their codecs; the
 * cost is a mmap and a munmap for each block of 128 KiB or more, which
 * outside codec set-up is a keyframe's payload now and then.  Setting
 * it also fixes the trim threshold (the heap top given back) at its
 * default.  docs/performance.md has the curves. */
static void
tune_malloc(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

int
main(int argc, char **argv)
{
    const char       *path = DEFAULT_CONFIG;
    int               check_only = 0, no_master = 0, opt;
    char              err[512];
    struct sl_config *cfg;
    struct sl_sockets socks;

    /* The long spellings are the two that people type without reading
     * any help first; every other option has its short form only. */
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };

    tune_malloc();
    while ((opt = getopt_long(argc, argv, "c:nktVh", longopts, NULL)) != -1) {
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
        case 'k':
            sl_config_print_keys(stdout);
            return 0;
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
